// SPDX-License-Identifier: GPL-2.0-or-later

//! Requests: the owning handle a driver ends, and the read-only view.
//!
//! C header: [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).

use super::{operations::Operations, MappedSg, SgTable};
use crate::{bindings, block::to_blk_status};
use core::{marker::PhantomData, ops::Deref, ptr::NonNull};
use kernel::{prelude::*, types::Opaque};

/// The operation of a request (`req_op(rq)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReqOp {
    /// `REQ_OP_READ`.
    Read,
    /// `REQ_OP_WRITE`.
    Write,
    /// `REQ_OP_FLUSH`.
    Flush,
    /// `REQ_OP_DISCARD`.
    Discard,
    /// `REQ_OP_SECURE_ERASE`.
    SecureErase,
    /// `REQ_OP_WRITE_ZEROES`.
    WriteZeroes,
    /// Any other op (zoned, driver-private), with its raw value.
    Other(u32),
}

/// A read-only view of a `struct request`: what the block layer filled in.
///
/// Reached through [`Request`] (by `Deref`) or handed to
/// [`Operations::timeout`](super::Operations::timeout).
///
/// # Invariants
///
/// The request is allocated by a tag set that outlives the reference and has been handed
/// to the driver (it is started).
#[repr(transparent)]
pub(crate) struct RequestRef(Opaque<bindings::request>);

impl RequestRef {
    /// Creates a reference from a raw request.
    ///
    /// # Safety
    ///
    /// `ptr` is a started request of a live tag set, for the lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::request) -> &'a Self {
        // CAST: `RequestRef` is a transparent wrapper of `Opaque<request>`, which is a
        // transparent wrapper of `request`.
        // SAFETY: Valid for `'a` per the safety requirements.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The raw request.
    pub(crate) fn as_raw(&self) -> *mut bindings::request {
        self.0.get()
    }

    /// The first sector (`blk_rq_pos`).
    pub(crate) fn sector(&self) -> u64 {
        // SAFETY: The request is valid (type invariant).
        unsafe { bindings::blk_rq_pos(self.as_raw()) }
    }

    /// The number of bytes (`blk_rq_bytes`); 0 for a flush.
    pub(crate) fn bytes(&self) -> u32 {
        // SAFETY: The request is valid (type invariant).
        unsafe { bindings::blk_rq_bytes(self.as_raw()) }
    }

    /// The raw op and flags (`cmd_flags`).
    pub(crate) fn cmd_flags(&self) -> bindings::blk_opf_t {
        // SAFETY: The request is valid (type invariant); `cmd_flags` is set before the
        // request reaches the driver and not changed while it is there.
        unsafe { (*self.as_raw()).cmd_flags }
    }

    /// The op (`req_op`).
    pub(crate) fn op(&self) -> ReqOp {
        let op = self.cmd_flags() & bindings::REQ_OP_MASK;
        match op {
            bindings::req_op_REQ_OP_READ => ReqOp::Read,
            bindings::req_op_REQ_OP_WRITE => ReqOp::Write,
            bindings::req_op_REQ_OP_FLUSH => ReqOp::Flush,
            bindings::req_op_REQ_OP_DISCARD => ReqOp::Discard,
            bindings::req_op_REQ_OP_SECURE_ERASE => ReqOp::SecureErase,
            bindings::req_op_REQ_OP_WRITE_ZEROES => ReqOp::WriteZeroes,
            other => ReqOp::Other(other),
        }
    }

    /// Whether `REQ_FUA` is set.
    pub(crate) fn is_fua(&self) -> bool {
        self.cmd_flags() & bindings::REQ_FUA != 0
    }

    /// Whether `REQ_SYNC` is set.
    pub(crate) fn is_sync(&self) -> bool {
        self.cmd_flags() & bindings::REQ_SYNC != 0
    }

    /// The I/O priority of the request's first bio (`req_get_ioprio`); 0 without one.
    pub(crate) fn ioprio(&self) -> u16 {
        // SAFETY: The request is valid (type invariant); its bios stay while it is started.
        unsafe { bindings::req_get_ioprio(self.as_raw()) }
    }

    /// Whether `REQ_PREFLUSH` is set.
    pub(crate) fn is_preflush(&self) -> bool {
        self.cmd_flags() & bindings::REQ_PREFLUSH != 0
    }

    /// The tag, unique among the in-flight requests of the hardware queue.
    pub(crate) fn tag(&self) -> i32 {
        // SAFETY: The request is valid (type invariant); the tag is set before dispatch.
        unsafe { (*self.as_raw()).tag }
    }

    /// The number of physical segments (`blk_rq_nr_phys_segments`).
    pub(crate) fn nr_phys_segments(&self) -> u16 {
        // SAFETY: The request is valid (type invariant).
        unsafe { bindings::blk_rq_nr_phys_segments(self.as_raw()) }
    }

    /// The index of the hardware queue the request was dispatched on.
    pub(crate) fn hctx_index(&self) -> u32 {
        // SAFETY: The request is valid (type invariant); a started request has `mq_hctx`.
        unsafe { (*(*self.as_raw()).mq_hctx).queue_num }
    }
}

/// A request owned by the driver, from `queue_rq` until it is ended.
///
/// # Invariants
///
/// - `ptr` is a started request of a live `TagSet<T>`; this handle is the only one that
///   can end it, and it is ended exactly once (by `end`, `complete`, or `drop`).
/// - Its PDU holds an initialised `T::RequestData`.
pub(crate) struct Request<T: Operations> {
    /// The request.
    ptr: NonNull<bindings::request>,
    /// The driver.
    _p: PhantomData<T>,
}

// SAFETY: A request may be ended on any CPU; the PDU is `Send`.
unsafe impl<T: Operations> Send for Request<T> {}
// SAFETY: `&self` only reads the request and gives `&T::RequestData`, which is `Sync`.
unsafe impl<T: Operations> Sync for Request<T> {}

impl<T: Operations> Request<T> {
    /// Takes ownership of a request.
    ///
    /// # Safety
    ///
    /// `ptr` is a started request of a live `TagSet<T>` whose PDU was initialised by
    /// `init_request`, and ownership is transferred: nobody else ends it.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::request) -> Self {
        // INVARIANT: Guaranteed by the caller.
        Self {
            // SAFETY: The caller passes a valid, hence non-null, request.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _p: PhantomData,
        }
    }

    /// Gives up ownership without ending the request.
    pub(crate) fn into_raw(self) -> *mut bindings::request {
        let ptr = self.ptr.as_ptr();
        core::mem::forget(self);
        ptr
    }

    /// The driver's per-request data.
    pub(crate) fn data(&self) -> &T::RequestData {
        // SAFETY: The PDU holds an initialised `T::RequestData` (type invariant), and only
        // the owner reaches it.
        unsafe { &*bindings::blk_mq_rq_to_pdu(self.ptr.as_ptr()).cast::<T::RequestData>() }
    }

    /// The request and its data, borrowed apart, e.g. to map the request into an
    /// [`SgTable`] kept in the data.
    pub(crate) fn parts(&mut self) -> (OwnedRef<'_>, &mut T::RequestData) {
        let rq = self.ptr.as_ptr();
        // SAFETY: The PDU holds an initialised `T::RequestData` and `&mut self` makes this
        // the only reference to it (type invariant: only the owner reaches the PDU).
        let data = unsafe { &mut *bindings::blk_mq_rq_to_pdu(rq).cast::<T::RequestData>() };
        // INVARIANT: The request is owned for as long as `self` is borrowed.
        // SAFETY: The request is started and owned (type invariant).
        (OwnedRef(unsafe { RequestRef::from_raw(rq) }), data)
    }

    /// Ends the request with `res` (`blk_mq_end_request`). Any context.
    pub(crate) fn end(self, res: Result) {
        let rq = self.into_raw();
        // SAFETY: The request is owned and ended once: `into_raw` gave up the handle.
        unsafe { bindings::blk_mq_end_request(rq, to_blk_status(res)) };
    }

    /// Completes the request through `blk_mq_complete_request`: the driver's
    /// [`Operations::complete`] gets it back, on the CPU that submitted it when that helps.
    /// Any context. The driver must implement `complete`.
    pub(crate) fn complete(self) {
        kernel::build_assert!(T::HAS_COMPLETE, "complete() needs Operations::complete");
        let rq = self.into_raw();
        // SAFETY: The request is owned and handed over once; the `complete` callback
        // takes ownership again.
        unsafe { bindings::blk_mq_complete_request(rq) };
    }
}

/// A request borrowed from its owning [`Request`]: what may be done only while the request
/// is owned, such as mapping its data, which is gone once the request ends.
///
/// # Invariants
///
/// The request is owned by a [`Request`] handle for the lifetime `'a`.
pub(crate) struct OwnedRef<'a>(&'a RequestRef);

impl OwnedRef<'_> {
    /// Maps the request's data into `sg` (`blk_rq_map_sg`). The mapping can be used for
    /// as long as both stay borrowed. Fails with `EINVAL` if the table is too small.
    pub(crate) fn map_sg<'b>(&'b self, sg: &'b mut SgTable) -> Result<MappedSg<'b>> {
        if usize::from(self.nr_phys_segments()) > sg.capacity() {
            return Err(EINVAL);
        }
        let rq = self.as_raw();
        // SAFETY: The request is owned (type invariant), so its bios stay; `sg` has room
        // for its segments (checked).
        let n = unsafe { bindings::blk_rq_map_sg((*rq).q, rq, sg.as_mut_ptr()) };
        let n = usize::try_from(n)?;
        // SAFETY: The first `n` entries were just filled for this request, which stays
        // owned for `'b`.
        Ok(unsafe { MappedSg::new(sg, n) })
    }
}

impl Deref for OwnedRef<'_> {
    type Target = RequestRef;
    fn deref(&self) -> &RequestRef {
        self.0
    }
}

impl<T: Operations> Deref for Request<T> {
    type Target = RequestRef;
    fn deref(&self) -> &RequestRef {
        // SAFETY: The request is started and owned (type invariant).
        unsafe { RequestRef::from_raw(self.ptr.as_ptr()) }
    }
}

impl<T: Operations> Drop for Request<T> {
    /// A request dropped without being ended fails with `BLK_STS_IOERR`.
    fn drop(&mut self) {
        // SAFETY: The request is owned and not ended yet (type invariant).
        unsafe { bindings::blk_mq_end_request(self.ptr.as_ptr(), to_blk_status(Err(EIO))) };
    }
}
