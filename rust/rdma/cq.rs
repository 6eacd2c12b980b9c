// SPDX-License-Identifier: GPL-2.0-or-later

//! Completion queues and typed completion dispatch.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h).
//!
//! # Completion dispatch
//!
//! The C CQ API (`ib_alloc_cq`) calls `wc->wr_cqe->done(cq, wc)` for every completion; the
//! `ib_cqe` is embedded in the object the work request was posted for. Here that object is
//! a [`Cqe<T>`]: an `ib_cqe` followed by the driver's `T: CqeHandler`, always allocated in
//! an [`Arc`]. Posting a signalled work request moves one `Arc` reference into the work
//! request (see [`super::wr`]); its completion hands that reference back to
//! [`CqeHandler::done`]. So the object lives exactly as long as it is needed, drivers never
//! see a raw `ib_cqe` or `wr_id`, and the hot path costs one atomic increment and one
//! decrement per signalled work request, no allocation.
//!
//! Every posted signalled work request completes exactly once, with an error status if the
//! QP is flushed; [`super::qp::Qp`] drains itself before it is destroyed, so no reference
//! is lost. Unsignalled work requests carry no `Cqe` (a NULL `wr_cqe`): if they fail, the
//! CQ code skips them and the QP moves to the error state, which flushes the signalled ones.

use super::device::{Device, DeviceRef};
use crate::bindings;
use core::ptr::NonNull;
use kernel::error::{code::*, from_err_ptr};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// How completions of a [`Cq`] are processed (`enum ib_poll_context`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PollCtx {
    /// Only by [`Cq::process_direct`], in the caller's context.
    Direct,
    /// In softirq context: handlers must not sleep.
    Softirq,
    /// On the `ib_comp_wq` workqueue: handlers may sleep.
    Workqueue,
}

impl PollCtx {
    /// The C value.
    fn as_raw(self) -> bindings::ib_poll_context {
        match self {
            Self::Direct => bindings::ib_poll_context_IB_POLL_DIRECT,
            Self::Softirq => bindings::ib_poll_context_IB_POLL_SOFTIRQ,
            Self::Workqueue => bindings::ib_poll_context_IB_POLL_WORKQUEUE,
        }
    }
}

/// A completion queue: allocated with `ib_alloc_cq` ([`Cq::new`]), or a share of one of the
/// device's pooled CQs taken with `ib_cq_pool_get` ([`Cq::from_pool`]), as C RTRS does for
/// every connection that is not polled directly.
///
/// Queue pairs hold an `Arc<Cq>`, so the CQ is freed (or its share put back) only after
/// its QPs are destroyed.
///
/// # Invariants
///
/// `cq` was returned with `ctx` on the device `dev` holds: by `ib_alloc_cq` if `pooled` is
/// 0, else by `ib_cq_pool_get` for `pooled` entries. It is freed or put back only in `drop`.
pub(crate) struct Cq {
    cq: NonNull<bindings::ib_cq>,
    ctx: PollCtx,
    pooled: u32,
    // Dropped after the CQ is freed.
    dev: DeviceRef,
}

// SAFETY: CQ verbs may be used from any thread.
unsafe impl Send for Cq {}
// SAFETY: `ib_process_cq_direct` and the handlers it calls are safe to run concurrently
// (the driver's `poll_cq` locks the CQ; handlers are `Sync`).
unsafe impl Sync for Cq {}

impl Cq {
    /// Allocates a CQ of `nr_cqe` entries on `dev`, with interrupt vector `comp_vector`.
    pub(crate) fn new(
        dev: &Device,
        nr_cqe: u32,
        comp_vector: u32,
        ctx: PollCtx,
    ) -> Result<Arc<Self>> {
        let dev = dev.get()?;
        let nr_cqe = i32::try_from(nr_cqe).map_err(|_| EINVAL)?;
        let comp_vector = i32::try_from(comp_vector).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid (reference held). No private data: completions are
        // dispatched through `wr_cqe`.
        let cq = from_err_ptr(unsafe {
            bindings::ib_alloc_cq(
                dev.as_raw(),
                core::ptr::null_mut(),
                nr_cqe,
                comp_vector,
                ctx.as_raw(),
            )
        })?;
        // INVARIANT: Just allocated with `ctx` on `dev`.
        let cq = Self {
            // SAFETY: `ib_alloc_cq` returns a valid pointer or an `ERR_PTR`, never NULL.
            cq: unsafe { NonNull::new_unchecked(cq) },
            ctx,
            pooled: 0,
            dev,
        };
        Ok(Arc::new(cq, GFP_KERNEL)?)
    }

    /// Takes `nr_cqe` entries of a pooled CQ of `dev` (`ib_cq_pool_get`), preferably on
    /// completion vector `comp_vector_hint`. The CQ may be shared with other users: handlers
    /// of several QPs run from it. [`PollCtx::Direct`] CQs are never pooled (`EINVAL`).
    pub(crate) fn from_pool(
        dev: &Device,
        nr_cqe: u32,
        comp_vector_hint: u32,
        ctx: PollCtx,
    ) -> Result<Arc<Self>> {
        if ctx == PollCtx::Direct || nr_cqe == 0 {
            return Err(EINVAL);
        }
        let dev = dev.get()?;
        let hint = i32::try_from(comp_vector_hint).map_err(|_| EINVAL)?;
        // SAFETY: The device is valid (reference held); `ctx` is a pool type (checked above).
        let cq = from_err_ptr(unsafe {
            bindings::ib_cq_pool_get(dev.as_raw(), nr_cqe, hint, ctx.as_raw())
        })?;
        // INVARIANT: `nr_cqe` entries of a pooled CQ with `ctx` on `dev`.
        let cq = Self {
            // SAFETY: `ib_cq_pool_get` returns a valid pointer or an `ERR_PTR`, never NULL.
            cq: unsafe { NonNull::new_unchecked(cq) },
            ctx,
            pooled: nr_cqe,
            dev,
        };
        Ok(Arc::new(cq, GFP_KERNEL)?)
    }

    /// The raw `ib_cq`, for the other abstractions of this module.
    pub(super) fn as_raw(&self) -> *mut bindings::ib_cq {
        self.cq.as_ptr()
    }

    /// The device of this CQ.
    pub(crate) fn device(&self) -> &Device {
        &self.dev
    }

    /// Polls up to `budget` completions and runs their handlers in the caller's context
    /// (`ib_process_cq_direct`); returns how many were processed. Only for
    /// [`PollCtx::Direct`] CQs (`EINVAL` otherwise).
    pub(crate) fn process_direct(&self, budget: u32) -> Result<u32> {
        if self.ctx != PollCtx::Direct {
            return Err(EINVAL);
        }
        let budget = i32::try_from(budget).map_err(|_| EINVAL)?;
        // SAFETY: The CQ is valid (type invariant) and was allocated with IB_POLL_DIRECT.
        let n = unsafe { bindings::ib_process_cq_direct(self.as_raw(), budget) };
        // CAST: `n` is a count of completions, between 0 and `budget`.
        Ok(n as u32)
    }
}

impl Drop for Cq {
    fn drop(&mut self) {
        if self.pooled != 0 {
            // SAFETY: By the type invariant we hold `pooled` entries of this pooled CQ, put
            // back only here; every QP of ours using it holds an `Arc<Cq>`, so none is left.
            unsafe { bindings::ib_cq_pool_put(self.as_raw(), self.pooled) };
            return;
        }
        // SAFETY: By the type invariant the CQ is valid and freed only here; every QP using it
        // holds an `Arc<Cq>`, so none is left. `ib_free_cq` stops the softirq/work polling
        // and waits for it.
        unsafe { bindings::ib_free_cq(self.as_raw()) };
    }
}

/// A work completion (`struct ib_wc`), as passed to [`CqeHandler::done`].
///
/// # Invariants
///
/// Only ever seen as `&Wc`, borrowed from an `ib_wc` that the CQ code filled in and keeps
/// valid during the `done` call.
#[repr(transparent)]
pub(crate) struct Wc(bindings::ib_wc);

/// The status of a [`Wc`] (`enum ib_wc_status`), with the values RTRS looks at by name.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WcStatus {
    /// `IB_WC_SUCCESS`.
    Success,
    /// `IB_WC_WR_FLUSH_ERR`: flushed because the QP is in the error state.
    FlushErr,
    /// `IB_WC_REM_ACCESS_ERR`: the remote side refused the access (bad rkey, range, rights).
    RemAccessErr,
    /// Any other status, with its C value.
    Other(u32),
}

/// The opcode of a [`Wc`] (`enum ib_wc_opcode`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum WcOpcode {
    /// `IB_WC_SEND`.
    Send,
    /// `IB_WC_RDMA_WRITE`.
    RdmaWrite,
    /// `IB_WC_RDMA_READ`.
    RdmaRead,
    /// `IB_WC_LOCAL_INV`.
    LocalInv,
    /// `IB_WC_REG_MR`.
    RegMr,
    /// `IB_WC_RECV`.
    Recv,
    /// `IB_WC_RECV_RDMA_WITH_IMM`: an RDMA write with immediate consumed a receive.
    RecvRdmaWithImm,
    /// Any other opcode, with its C value.
    Other(u32),
}

impl Wc {
    /// The completion status.
    pub(crate) fn status(&self) -> WcStatus {
        match self.0.status {
            bindings::ib_wc_status_IB_WC_SUCCESS => WcStatus::Success,
            bindings::ib_wc_status_IB_WC_WR_FLUSH_ERR => WcStatus::FlushErr,
            bindings::ib_wc_status_IB_WC_REM_ACCESS_ERR => WcStatus::RemAccessErr,
            s => WcStatus::Other(s),
        }
    }

    /// The opcode. Only meaningful for successful completions (C leaves it undefined for
    /// errors).
    pub(crate) fn opcode(&self) -> WcOpcode {
        match self.0.opcode {
            bindings::ib_wc_opcode_IB_WC_SEND => WcOpcode::Send,
            bindings::ib_wc_opcode_IB_WC_RDMA_WRITE => WcOpcode::RdmaWrite,
            bindings::ib_wc_opcode_IB_WC_RDMA_READ => WcOpcode::RdmaRead,
            bindings::ib_wc_opcode_IB_WC_LOCAL_INV => WcOpcode::LocalInv,
            bindings::ib_wc_opcode_IB_WC_REG_MR => WcOpcode::RegMr,
            bindings::ib_wc_opcode_IB_WC_RECV => WcOpcode::Recv,
            bindings::ib_wc_opcode_IB_WC_RECV_RDMA_WITH_IMM => WcOpcode::RecvRdmaWithImm,
            o => WcOpcode::Other(o),
        }
    }

    /// Bytes received, for receive completions.
    pub(crate) fn byte_len(&self) -> u32 {
        self.0.byte_len
    }

    /// The immediate data in host order, if the completion carries one (`IB_WC_WITH_IMM`).
    pub(crate) fn imm_data(&self) -> Option<u32> {
        // CAST: The flag values fit in `int`, the type of `wc_flags`.
        if self.0.wc_flags & (bindings::ib_wc_flags_IB_WC_WITH_IMM as i32) != 0 {
            // SAFETY: With `IB_WC_WITH_IMM` set, the `ex` union holds `imm_data`.
            Some(u32::from_be(unsafe { self.0.ex.imm_data }))
        } else {
            None
        }
    }

    /// The rkey the peer invalidated with SEND_WITH_INV, if it did
    /// (`IB_WC_WITH_INVALIDATE`).
    pub(crate) fn invalidated_rkey(&self) -> Option<u32> {
        // CAST: The flag values fit in `int`, the type of `wc_flags`.
        if self.0.wc_flags & (bindings::ib_wc_flags_IB_WC_WITH_INVALIDATE as i32) != 0 {
            // SAFETY: With `IB_WC_WITH_INVALIDATE` set, the `ex` union holds `invalidate_rkey`.
            Some(unsafe { self.0.ex.invalidate_rkey })
        } else {
            None
        }
    }

    /// The vendor error code, for error completions.
    pub(crate) fn vendor_err(&self) -> u32 {
        self.0.vendor_err
    }
}

/// What a driver does with the completion of a work request posted for a [`Cqe<Self>`].
///
/// `done` runs in the context of the CQ's [`PollCtx`]: softirq (must not sleep), workqueue,
/// or the caller of [`Cq::process_direct`].
pub(crate) trait CqeHandler: Send + Sync + Sized + 'static {
    /// A work request posted with `this` completed. `this` is the reference the work request
    /// held; drop it, or post it again.
    fn done(this: Arc<Cqe<Self>>, wc: &Wc);
}

/// A completion target: an `ib_cqe` followed by the driver's handler object.
///
/// # Invariants
///
/// * Always allocated in an [`Arc`] (by [`Cqe::new`]); never moves.
/// * `cqe.done` is `done_callback::<T>` and `release` is `release_ref::<T>`.
/// * A work request whose `wr_cqe` points at `cqe` owns one `Arc` reference on `self`.
#[repr(C)]
pub(crate) struct Cqe<T: CqeHandler> {
    cqe: Opaque<bindings::ib_cqe>,
    release: unsafe fn(*mut bindings::ib_cqe),
    data: T,
}

// SAFETY: The `ib_cqe` is only read by the CQ code; `T` is `Send`.
unsafe impl<T: CqeHandler> Send for Cqe<T> {}
// SAFETY: `&Cqe<T>` exposes only `&T`, and `T` is `Sync`; the `ib_cqe` is never written
// after `new`.
unsafe impl<T: CqeHandler> Sync for Cqe<T> {}

impl<T: CqeHandler> Cqe<T> {
    /// Allocates a completion target around `data`.
    pub(crate) fn new(data: T) -> Result<Arc<Self>> {
        let cqe = bindings::ib_cqe {
            done: Some(Self::done_callback),
        };
        // INVARIANT: Allocated in an `Arc`; `done` and `release` are set for `T`.
        Ok(Arc::new(
            Self {
                cqe: Opaque::new(cqe),
                release: Self::release_ref,
                data,
            },
            GFP_KERNEL,
        )?)
    }

    /// Moves one reference into a raw `ib_cqe` pointer for a work request (`wr_cqe`).
    pub(super) fn into_raw_cqe(this: Arc<Self>) -> CqeRef {
        let ptr = this.into_raw();
        // CAST: `cqe` is the first field of a `repr(C)` struct, so both share the address.
        // INVARIANT: `ptr` owns the reference `into_raw` gave up.
        // SAFETY: `ptr` comes from `Arc::into_raw`, hence is not NULL.
        CqeRef(unsafe { NonNull::new_unchecked(ptr.cast_mut().cast::<bindings::ib_cqe>()) })
    }

    /// The C `done` callback: gives the reference back to the handler.
    ///
    /// # Safety
    ///
    /// Called by the CQ code with a completion whose `wr_cqe` points at the `cqe` of a
    /// `Cqe<T>` and owns one reference (type invariant).
    unsafe extern "C" fn done_callback(_cq: *mut bindings::ib_cq, wc: *mut bindings::ib_wc) {
        // SAFETY: The CQ code passes a valid `ib_wc` for the duration of the call.
        let wc_ref = unsafe { &*wc.cast::<Wc>() };
        // SAFETY: `wc` is valid; `wr_cqe` is the union member set by `post_send`/`post_recv`.
        let cqe = unsafe { (*wc).__bindgen_anon_1.wr_cqe };
        // CAST: `cqe` is the first field of the `repr(C)` `Cqe<T>`.
        // SAFETY: The reference owned by the work request is taken back exactly once here.
        let this = unsafe { Arc::from_raw(cqe.cast::<Self>()) };
        T::done(this, wc_ref);
    }

    /// Drops the reference a never-posted work request owned.
    ///
    /// # Safety
    ///
    /// `cqe` must point at the `cqe` field of a `Cqe<T>` and own one reference on it.
    unsafe fn release_ref(cqe: *mut bindings::ib_cqe) {
        // CAST: See `done_callback`.
        // SAFETY: The caller gives up its owned reference.
        drop(unsafe { Arc::from_raw(cqe.cast::<Self>()) });
    }
}

impl<T: CqeHandler> core::ops::Deref for Cqe<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.data
    }
}

/// One `Arc` reference on some `Cqe<T>`, type-erased to its `ib_cqe`: what a work request
/// that is not posted yet owns. Dropping it releases the reference; posting forgets it.
///
/// # Invariants
///
/// The pointer is the `cqe` field of a live `Cqe<T>`, on which this object owns one
/// reference.
pub(crate) struct CqeRef(NonNull<bindings::ib_cqe>);

// SAFETY: It only owns an `Arc` reference on a `Send + Sync` object.
unsafe impl Send for CqeRef {}
// SAFETY: `&CqeRef` gives nothing but the pointer value.
unsafe impl Sync for CqeRef {}

impl CqeRef {
    /// The `ib_cqe` pointer for `wr_cqe`.
    pub(super) fn as_raw(&self) -> *mut bindings::ib_cqe {
        self.0.as_ptr()
    }

    /// Hands the reference over to a posted work request: its completion releases it.
    pub(super) fn posted(self) {
        core::mem::forget(self);
    }
}

impl Drop for CqeRef {
    fn drop(&mut self) {
        // The `release` field follows the `ib_cqe` in every `Cqe<T>` (repr(C)).
        // CAST: `Cqe<T>` is `repr(C)` with `cqe` first and `release` second, and the layout
        // of these two fields does not depend on `T`.
        let this = self.0.as_ptr().cast::<Cqe<NoHandler>>();
        // SAFETY: By the type invariant `this` points at a live `Cqe<T>`, whose `release`
        // field is at the same offset as in `Cqe<NoHandler>` (see the CAST above).
        let release = unsafe { core::ptr::addr_of!((*this).release).read() };
        // SAFETY: `release` is `release_ref::<T>` for the right `T`, and we own a reference.
        unsafe { release(self.0.as_ptr()) };
    }
}

/// A handler type used only to compute the field layout of `Cqe<T>` in [`CqeRef::drop`].
struct NoHandler;

impl CqeHandler for NoHandler {
    fn done(_this: Arc<Cqe<Self>>, _wc: &Wc) {}
}
