// SPDX-License-Identifier: GPL-2.0-or-later

//! Queue pairs created on an rdma_cm id.
//!
//! C headers: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h),
//! [include/rdma/rdma_cm.h](srctree/include/rdma/rdma_cm.h).
//!
//! A [`Qp`] is created with [`super::cm::CmIdRef::create_qp`] (`rdma_create_qp`) and is
//! owned by its cm id, which drains and destroys it before destroying itself: the order is
//! drain (every outstanding work request completes, flushed if need be, so every completion
//! reference comes back), `rdma_destroy_qp`, then the id, then the CQs and the PD (the QP's
//! `Arc`s), then the device reference.

use super::cq::Cq;
use super::pd::Pd;
use super::wr::{ChainWr, RecvWr, SendWr};
use crate::bindings;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::error::{code::*, to_result};
use kernel::prelude::*;
use kernel::sync::Arc;

/// Sizes of a new queue pair (`struct ib_qp_cap`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct QpCaps {
    /// Send queue depth.
    pub(crate) max_send_wr: u32,
    /// Receive queue depth.
    pub(crate) max_recv_wr: u32,
    /// SGEs per send work request.
    pub(crate) max_send_sge: u32,
    /// SGEs per receive work request.
    pub(crate) max_recv_sge: u32,
}

/// A reliable-connected queue pair (`struct ib_qp`), owned by a cm id.
///
/// Created with `sq_sig_type = IB_SIGNAL_REQ_WR`, so only work requests carrying a
/// completion target complete on success (see [`super::cq`]).
///
/// # Invariants
///
/// `qp` was created by `rdma_create_qp` on the owning cm id with `pd`, `send_cq` and
/// `recv_cq`, and stays valid until the id calls [`Qp::destroy`].
pub(crate) struct Qp {
    qp: NonNull<bindings::ib_qp>,
    used: AtomicBool,
    // Released after `rdma_destroy_qp`, in this order.
    send_cq: Arc<Cq>,
    recv_cq: Arc<Cq>,
    pd: Arc<Pd>,
}

// SAFETY: Posting and draining may happen from any thread; drivers lock their queues.
unsafe impl Send for Qp {}
// SAFETY: As above: `ib_post_send`/`ib_post_recv` are safe to call concurrently.
unsafe impl Sync for Qp {}

impl Qp {
    /// Creates a QP on `id` (`rdma_create_qp`).
    ///
    /// # Safety
    ///
    /// `id` must be a valid cm id without a QP, and the caller must call [`Qp::destroy`]
    /// with the same id before destroying it.
    pub(super) unsafe fn create(
        id: *mut bindings::rdma_cm_id,
        pd: &Arc<Pd>,
        send_cq: &Arc<Cq>,
        recv_cq: &Arc<Cq>,
        caps: QpCaps,
    ) -> Result<Self> {
        let mut attr = bindings::ib_qp_init_attr {
            send_cq: send_cq.as_raw(),
            recv_cq: recv_cq.as_raw(),
            cap: bindings::ib_qp_cap {
                max_send_wr: caps.max_send_wr,
                max_recv_wr: caps.max_recv_wr,
                max_send_sge: caps.max_send_sge,
                max_recv_sge: caps.max_recv_sge,
                ..Default::default()
            },
            sq_sig_type: bindings::ib_sig_type_IB_SIGNAL_REQ_WR,
            qp_type: bindings::ib_qp_type_IB_QPT_RC,
            ..Default::default()
        };
        // SAFETY: The caller guarantees `id`; the PD and CQs are valid while their `Arc`s
        // are held, which the QP keeps until it is destroyed.
        to_result(unsafe { bindings::rdma_create_qp(id, pd.as_raw(), &mut attr) })?;
        // SAFETY: `rdma_create_qp` succeeded, so `id->qp` is the new QP.
        let qp = NonNull::new(unsafe { (*id).qp }).ok_or(EINVAL)?;
        // INVARIANT: Created on `id` with these PD and CQs.
        Ok(Self {
            qp,
            used: AtomicBool::new(false),
            send_cq: send_cq.clone(),
            recv_cq: recv_cq.clone(),
            pd: pd.clone(),
        })
    }

    /// The QP number.
    pub(crate) fn qp_num(&self) -> u32 {
        // SAFETY: By the type invariant the QP is valid; `qp_num` is set at creation.
        unsafe { (*self.qp.as_ptr()).qp_num }
    }

    /// The protection domain of the QP.
    pub(crate) fn pd(&self) -> &Arc<Pd> {
        &self.pd
    }

    /// Posts `wrs` to the send queue as one chain, in slice order (`ib_post_send`).
    ///
    /// On error the driver accepted the work requests before the failing one (they will
    /// complete); the rest keep their completion references and release them when dropped.
    /// `EINVAL` without posting anything if one of them was posted before.
    pub(crate) fn post_send(&self, wrs: &mut [SendWr<'_>]) -> Result {
        let qp = self.qp.as_ptr();
        // SAFETY: The QP is valid (type invariant); `post_chain` passes the head of a chain
        // of initialised work requests whose SGEs are borrowed by `wrs` and whose completion
        // targets are owned by them, and a valid place for the failing one.
        self.post_chain(wrs, |head, bad| unsafe {
            bindings::ib_post_send(qp, head, bad)
        })
    }

    /// Posts `wrs` to the receive queue as one chain (`ib_post_recv`); errors as for
    /// [`Qp::post_send`].
    pub(crate) fn post_recv(&self, wrs: &mut [RecvWr<'_>]) -> Result {
        let qp = self.qp.as_ptr();
        // SAFETY: As in `post_send`.
        self.post_chain(wrs, |head, bad| unsafe {
            bindings::ib_post_recv(qp, head, bad)
        })
    }

    /// Links `wrs` into one chain in slice order, posts it with `post`, and records which
    /// work requests the driver accepted.
    fn post_chain<W: ChainWr>(
        &self,
        wrs: &mut [W],
        post: impl FnOnce(*mut W::Raw, *mut *const W::Raw) -> kernel::ffi::c_int,
    ) -> Result {
        if wrs.is_empty() {
            return Ok(());
        }
        if wrs.iter().any(|wr| wr.is_posted()) {
            return Err(EINVAL);
        }
        // Chain in slice order; the slice does not move until the call returns.
        let mut next: *mut W::Raw = core::ptr::null_mut();
        for wr in wrs.iter_mut().rev() {
            wr.set_next(next);
            next = wr.wr_mut();
        }
        self.used.store(true, Ordering::Relaxed);
        let mut bad: *const W::Raw = core::ptr::null();
        let ret = post(next, &mut bad);
        let mut accepted = true;
        for wr in wrs.iter_mut() {
            let raw: *const W::Raw = wr.wr_mut();
            // The driver points `bad` at the first request it did not take. Without it, count
            // all as posted: a leaked reference is safe, a double release is not.
            if ret != 0 && raw == bad {
                accepted = false;
            }
            if accepted {
                wr.set_posted();
            }
            wr.set_next(core::ptr::null_mut());
        }
        to_result(ret)
    }

    /// Moves the QP to the error state and waits until every posted work request completed
    /// (`ib_drain_qp`). Afterwards posted work requests complete with a flush error.
    ///
    /// Sleeps. A QP nothing was ever posted to has nothing to drain; this returns at once.
    pub(crate) fn drain(&self) {
        if self.used.load(Ordering::Relaxed) {
            // SAFETY: The QP is valid; its CQs are alive (held by `self`).
            unsafe { bindings::ib_drain_qp(self.qp.as_ptr()) };
        }
    }

    /// Drains and destroys the QP (`rdma_destroy_qp`).
    ///
    /// # Safety
    ///
    /// `id` must be the cm id the QP was created on, and nobody may use the QP afterwards.
    pub(super) unsafe fn destroy(self, id: *mut bindings::rdma_cm_id) {
        self.drain();
        // SAFETY: The caller guarantees `id` is the QP's id; the QP is drained and unused.
        unsafe { bindings::rdma_destroy_qp(id) };
        // The CQ and PD references go when `self` is dropped here, after the QP.
    }

    /// Drains and destroys a QP whose cm id is already destroyed (`ib_destroy_qp`).
    ///
    /// # Safety
    ///
    /// The QP's cm id must have been destroyed (so rdma_cm no longer refers to the QP), and
    /// nobody may use the QP afterwards.
    pub(super) unsafe fn destroy_unlinked(self) {
        self.drain();
        // SAFETY: The QP is valid and unused (caller); `ib_destroy_qp` is
        // `ib_destroy_qp_user` without user data.
        unsafe { bindings::ib_destroy_qp_user(self.qp.as_ptr(), core::ptr::null_mut()) };
    }

    /// The send CQ.
    pub(crate) fn send_cq(&self) -> &Arc<Cq> {
        &self.send_cq
    }

    /// The receive CQ.
    pub(crate) fn recv_cq(&self) -> &Arc<Cq> {
        &self.recv_cq
    }
}
