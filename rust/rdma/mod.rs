// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA verbs and the RDMA connection manager.
//!
//! C headers: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h),
//! [include/rdma/rdma_cm.h](srctree/include/rdma/rdma_cm.h).
//!
//! One file per concept, each with its C header and its ownership rules:
//!
//! * [`device`]: devices, counted device references and `ib_client` registration;
//! * [`pd`]: protection domains;
//! * [`cq`]: completion queues and typed completion dispatch (the hot path);
//! * [`qp`]: queue pairs, posting and draining;
//! * [`wr`]: scatter/gather entries and work-request builders;
//! * [`dma`]: DMA-mapped kernel buffers and scatterlists;
//! * [`mr`]: fast-registration memory regions;
//! * [`cm`]: the connection manager, which owns the QP of each id.
//!
//! # How a transport uses it
//!
//! The shape of an RTRS connection, client side (the server adopts the id it gets in
//! [`cm::Handler::connect_request`], creates the QP there and calls
//! [`cm::CmIdRef::accept`]):
//!
//! ```ignore
//! // The handler of the id: connection events, with private data.
//! impl cm::Handler for Con {
//!     fn event(&self, id: &cm::CmIdRef, ev: &cm::Event<'_>) {
//!         match ev.kind {
//!             cm::EventKind::AddrResolved => { /* create PD, CQ, QP on id.device() */ }
//!             // From the handler: `connect` uses rdma_connect_locked.
//!             cm::EventKind::RouteResolved => { let _ = id.connect(&self.param()); }
//!             cm::EventKind::Established => { /* ev.private_data: the server's reply */ }
//!             _ => {}
//!         }
//!     }
//! }
//!
//! // A completion target per I/O unit: the buffer and what to do on completion.
//! impl cq::CqeHandler for Iu {
//!     fn done(this: Arc<cq::Cqe<Self>>, wc: &cq::Wc) {
//!         // `this` is the reference the work request held: repost it or drop it.
//!     }
//! }
//!
//! let id = cm::CmId::new(con)?;
//! id.resolve_addr(None, &dst, 2000)?;
//! // ... later, on the I/O path:
//! let sge = [iu.buf.sge(0, len, pd.local_dma_lkey())?];
//! qp.post_send(&mut [
//!     wr::SendWr::reg_mr(&mr, access),                  // always signalled to the MR
//!     wr::SendWr::rdma_write(&sge, raddr, rkey),        // unsignalled: no completion target
//!     wr::SendWr::send_with_imm(&hdr, imm).signaled(iu), // completes to `Iu::done`
//! ])?;
//! ```
//!
//! Teardown order, enforced by ownership: drain the QP, destroy it (with or after its cm
//! id), then its CQs and PD (the QP holds `Arc`s on them; memory regions hold the PD),
//! then the device reference.

pub(crate) mod cm;
pub(crate) mod cq;
pub(crate) mod device;
pub(crate) mod dma;
pub(crate) mod mr;
pub(crate) mod pd;
pub(crate) mod qp;
pub(crate) mod wr;
