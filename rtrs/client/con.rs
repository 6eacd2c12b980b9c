// SPDX-License-Identifier: GPL-2.0-or-later

//! One RTRS connection of a path: an rdma_cm id with its CQ and QP (`struct rtrs_clt_con`).
//!
//! C version: [drivers/infiniband/ulp/rtrs/rtrs-clt.c](srctree/drivers/infiniband/ulp/rtrs/rtrs-clt.c)
//! (`create_cm`, `create_con_cq_qp`, `rtrs_clt_rdma_cm_handler`).
//!
//! The connecting thread drives the steps (resolve address, create CQ and QP, resolve
//! route, connect) and waits for each event; the rdma_cm handler only records what arrived
//! and, once the connection is up, reports its loss to the path.
//!
//! Glossary: cid: connection index in the path; QD: queue depth (chunks on the server).

use crate::path::Path;
use crate::rdma::cm::{CmId, CmIdRef, ConnParam, Event, EventKind, Handler, PortSpace, SockAddr};
use crate::rdma::cq::{Cq, PollCtx};
use crate::rdma::pd::Pd;
use crate::rdma::qp::{Qp, QpCaps};
use crate::sync::{Completion, GlobalArc};
use crate::{bindings, errno, msg};
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use kernel::prelude::*;
use kernel::sync::{Arc, SpinLock};
use kernel::{new_spinlock, pin_init};

/// Timeout of every connection step, in milliseconds (`RTRS_CONNECT_TIMEOUT_MS`).
pub(crate) const CONNECT_TIMEOUT_MS: u32 = 30000;

/// Receive depth basis of the service connection (`SERVICE_CON_QUEUE_DEPTH`).
pub(crate) const SERVICE_CON_QUEUE_DEPTH: u32 = 512;

/// What the handler saw last, for the connecting thread.
#[derive(Clone, Copy)]
struct Seen {
    kind: EventKind,
    status: i32,
    data: [u8; msg::CONN_PRIV_LEN],
    len: usize,
}

/// Shared between a connection's rdma_cm handler and its owner.
#[pin_data]
pub(crate) struct ConEvents {
    /// The last event not taken by the connecting thread yet.
    #[pin]
    seen: SpinLock<Option<Seen>>,
    /// Completed on every recorded event.
    #[pin]
    arrived: Completion,
    /// Set once the connection is established: later events mean it is lost.
    up: AtomicBool,
    /// Set when an established connection is lost (disconnect, error, device removal).
    lost: AtomicBool,
    /// The path to tell about a loss, while it is up.
    path: GlobalArc<Path>,
}

impl ConEvents {
    /// Fresh state.
    fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                seen <- new_spinlock!(None),
                arrived <- Completion::new(),
                up: AtomicBool::new(false),
                lost: AtomicBool::new(false),
                path: GlobalArc::new(),
            }),
            GFP_KERNEL,
        )
    }
}

/// The rdma_cm handler of a client connection.
pub(crate) struct ConCm {
    ev: Arc<ConEvents>,
    cid: u16,
}

impl Handler for ConCm {
    fn event(&self, _id: &CmIdRef, event: &Event<'_>) {
        if self.ev.up.load(Ordering::Acquire) {
            // Reported by the path when it next uses the connection (also our own
            // disconnect at close ends here).
            if !matches!(event.kind, EventKind::Established | EventKind::TimewaitExit) {
                pr_debug!(
                    "cid {}: connection lost: event {:?}, status {}\n",
                    self.cid,
                    event.kind,
                    event.status
                );
                self.ev.lost.store(true, Ordering::Release);
                // No message for disconnecting, as C.
                if event.kind != EventKind::Disconnected {
                    pr_warn!(
                        "cid {}: CM error (CM event: {:?}, err: {})\n",
                        self.cid,
                        event.kind,
                        event.status
                    );
                }
                if let Some(path) = self.ev.path.get() {
                    Path::error(
                        &path,
                        &kernel::fmt!("connection {} lost: {:?}", self.cid, event.kind),
                    );
                }
            }
            return;
        }
        let mut seen = Seen {
            kind: event.kind,
            status: event.status,
            data: [0; msg::CONN_PRIV_LEN],
            len: event.private_data.len().min(msg::CONN_PRIV_LEN),
        };
        seen.data[..seen.len].copy_from_slice(&event.private_data[..seen.len]);
        *self.ev.seen.lock() = Some(seen);
        self.ev.arrived.complete();
    }
}

/// What the server said when it accepted cid 0.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Accepted {
    /// Chunks of the session.
    pub(crate) queue_depth: u16,
    /// Largest data size of one request.
    pub(crate) max_io_size: u32,
    /// Largest header (user message plus RTRS message).
    pub(crate) max_hdr_size: u32,
    /// `RTRS_MSG_NEW_RKEY_F` or 0.
    pub(crate) flags: u32,
}

/// Most data entries of a write sent without a memory registration: their DMA addresses go
/// into the RDMA WRITE under the PD's local key, which saves the REG_MR before the write and
/// the LOCAL_INV after the response (a 4 KiB write is one entry). Larger or more scattered
/// writes are registered as C does. The server sees the same message either way.
pub(crate) const DIRECT_SGES: u8 = 3;

/// One connected RTRS connection.
pub(crate) struct Con {
    /// Connection index.
    pub(crate) cid: u16,
    /// Posted IO work requests, for signalling every `signal_interval`-th (§9.8).
    pub(crate) wr_cnt: AtomicU32,
    /// The CPU the connection is bound to (its completion vector's).
    pub(crate) cpu: u32,
    /// Data SGEs a write may carry besides its header without a memory registration.
    pub(crate) direct_sges: u8,
    /// Shared with the rdma_cm handler.
    ev: Arc<ConEvents>,
    // Field order is drop order: the id (with its QP) goes before the CQ reference.
    cm: CmId<ConCm>,
    cq: Arc<Cq>,
}

/// How a connection is set up.
pub(crate) struct ConSetup<'a> {
    /// Connection index.
    pub(crate) cid: u16,
    /// The CONNECT private data.
    pub(crate) req: msg::ConnReq,
    /// Local address, if the user gave one.
    pub(crate) src: Option<&'a SockAddr>,
    /// Server address.
    pub(crate) dst: &'a SockAddr,
    /// QD of the path (0 while cid 0 connects).
    pub(crate) queue_depth: u32,
    /// Whether the CQ is polled by `rtrs_clt_rdma_cq_direct` (poll queue).
    pub(crate) direct: bool,
    /// Bound CPU of the connection, for the completion vector.
    pub(crate) cpu: u32,
}

impl Con {
    /// Waits for the next event.
    fn wait(ev: &ConEvents) -> Result<Seen> {
        if ev.arrived.wait_timeout_ms(CONNECT_TIMEOUT_MS).is_err() {
            return Err(errno!(ETIMEDOUT));
        }
        (*ev.seen.lock()).take().ok_or(EINVAL)
    }

    /// Waits for `want`; maps the other events to the C errnos.
    fn expect(ev: &ConEvents, want: EventKind) -> Result<Seen> {
        let seen = Self::wait(ev)?;
        if seen.kind == want {
            return Ok(seen);
        }
        Err(match seen.kind {
            EventKind::AddrError | EventKind::RouteError => errno!(EHOSTUNREACH),
            EventKind::Rejected => {
                let data = &seen.data[..seen.len];
                match msg::ConnRsp::decode(data) {
                    Ok(rsp) if rsp.errno < 0 => {
                        if i32::from(rsp.errno) == -(crate::bindings::EBUSY as i32) {
                            pr_err!("previous session is still exists on the server, please reconnect later\n");
                        } else {
                            pr_err!(
                                "connect rejected: status {}, errno {}\n",
                                seen.status,
                                rsp.errno
                            );
                        }
                        Error::from_errno(rsp.errno.into())
                    }
                    _ => {
                        pr_err!("connect rejected: status {}\n", seen.status);
                        errno!(ECONNRESET)
                    }
                }
            }
            EventKind::DeviceRemoval => ENODEV,
            k => {
                pr_err!("connection error: event {:?}, status {}\n", k, seen.status);
                errno!(ECONNRESET)
            }
        })
    }

    /// Connects one connection (§4.2 step 2). `pd` is the path's protection domain: `None`
    /// for cid 0, which creates it on the device its address resolves to.
    pub(crate) fn connect(
        setup: &ConSetup<'_>,
        pd: &mut Option<Arc<Pd>>,
    ) -> Result<(Self, Option<Accepted>)> {
        let ev = ConEvents::new()?;
        // `AF_IB` destinations go over the IB port space, IP ones over TCP, as C.
        let ps = if u32::from(setup.dst.family()) == bindings::AF_IB {
            PortSpace::Ib
        } else {
            PortSpace::Tcp
        };
        let cm = CmId::new_in(
            ConCm {
                ev: ev.clone(),
                cid: setup.cid,
            },
            ps,
        )?;
        cm.resolve_addr(setup.src, setup.dst, CONNECT_TIMEOUT_MS)?;
        Self::expect(&ev, EventKind::AddrResolved)?;
        let dev = cm.device().ok_or(ENODEV)?;
        let attrs = dev.attrs();
        if !attrs.fast_reg {
            pr_err!("memory registrations not supported by {}\n", dev.name());
            return Err(ENOTSUPP);
        }
        if attrs.iwarp {
            // siw posts no IB_WR_RDMA_WRITE_WITH_IMM (EINVAL): every IO would fail.
            pr_err!(
                "{} is iWARP: RTRS needs RDMA WRITE with immediate data, which iWARP lacks\n",
                dev.name()
            );
            return Err(errno!(EOPNOTSUPP));
        }
        let pd = match pd {
            Some(pd) => pd.clone(),
            None => {
                let new = Pd::new(dev)?;
                *pd = Some(new.clone());
                new
            }
        };
        let wr_limit = attrs.max_qp_wr;
        let caps = if setup.cid == 0 {
            let n = wr_limit.min(SERVICE_CON_QUEUE_DEPTH * 2 + 2);
            QpCaps {
                max_send_wr: n,
                max_recv_wr: n,
                max_send_sge: 1,
                max_recv_sge: 1,
            }
        } else {
            QpCaps {
                max_send_wr: wr_limit.min(setup.queue_depth * 4 + 1),
                max_recv_wr: wr_limit.min(setup.queue_depth * 3 + 1),
                // A direct write (no REG_MR): its data entries, then the header.
                max_send_sge: attrs.max_send_sge.clamp(2, 1 + u32::from(DIRECT_SGES)),
                max_recv_sge: 1,
            }
        };
        let nr_cqe = caps.max_send_wr + caps.max_recv_wr;
        let vector = setup.cpu % attrs.num_comp_vectors.max(1);
        let cq = if setup.direct {
            Cq::new(dev, nr_cqe, vector, PollCtx::Direct)?
        } else {
            Cq::from_pool(dev, nr_cqe, vector, PollCtx::Softirq)?
        };
        cm.create_qp(&pd, &cq, &cq, caps)?;
        cm.resolve_route(CONNECT_TIMEOUT_MS)?;
        Self::expect(&ev, EventKind::RouteResolved)?;
        let priv_data = setup.req.encode();
        cm.connect(&ConnParam {
            private_data: &priv_data,
            responder_resources: 0,
            initiator_depth: 0,
            retry_count: 7,
            rnr_retry_count: 7,
            flow_control: 0,
        })?;
        let seen = Self::expect(&ev, EventKind::Established)?;
        let rsp = msg::ConnRsp::decode(&seen.data[..seen.len]).map_err(|e| {
            pr_err!("invalid RTRS connection response: {:?}\n", e);
            errno!(ECONNRESET)
        })?;
        if rsp.errno != 0 {
            pr_err!("invalid RTRS message: errno {}\n", rsp.errno);
            return Err(errno!(ECONNRESET));
        }
        ev.up.store(true, Ordering::Release);
        let accepted = (setup.cid == 0).then_some(Accepted {
            queue_depth: rsp.queue_depth,
            max_io_size: rsp.max_io_size,
            max_hdr_size: rsp.max_hdr_size,
            flags: rsp.flags,
        });
        Ok((
            Self {
                cid: setup.cid,
                wr_cnt: AtomicU32::new(1),
                cpu: setup.cpu,
                // CAST: At most `1 + DIRECT_SGES` (above).
                direct_sges: caps.max_send_sge.saturating_sub(1) as u8,
                ev,
                cm,
                cq,
            },
            accepted,
        ))
    }

    /// The connection's QP.
    pub(crate) fn qp(&self) -> Result<&Qp> {
        self.cm.qp().ok_or(errno!(ENOTCONN))
    }

    /// The id, for the device and port.
    pub(crate) fn cm(&self) -> &CmIdRef {
        &self.cm
    }

    /// Reports a later loss of the connection to `path` (until [`Con::detach`]).
    pub(crate) fn attach(&self, path: &Arc<Path>) {
        let _ = self.ev.path.set(path.clone());
    }

    /// Stops reporting to the path (breaks the reference from the handler to the path).
    pub(crate) fn detach(&self) {
        drop(self.ev.path.take());
    }

    /// Whether the connection was lost after it was established.
    pub(crate) fn lost(&self) -> bool {
        self.ev.lost.load(Ordering::Acquire)
    }

    /// Polls a direct CQ (`ib_process_cq_direct`); `EINVAL` for other CQs.
    pub(crate) fn poll_direct(&self, budget: u32) -> Result<u32> {
        self.cq.process_direct(budget)
    }

    /// Disconnects and flushes every outstanding work request (their completions run,
    /// with a flush error).
    pub(crate) fn stop(&self) {
        let _ = self.cm.disconnect();
        if let Some(qp) = self.cm.qp() {
            qp.drain();
        }
    }
}
