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
