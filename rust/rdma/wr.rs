// SPDX-License-Identifier: GPL-2.0-or-later

//! Work requests: scatter/gather entries and the send and receive work-request builders.
//!
//! C header: [include/rdma/ib_verbs.h](srctree/include/rdma/ib_verbs.h).
//!
//! A [`SendWr`] or [`RecvWr`] is built on the stack, borrowing its SGE array, and posted
//! in a slice with [`super::qp::Qp::post_send`] / [`super::qp::Qp::post_recv`], which chain
//! the slice in order (`next` pointers) and hand it to the driver in one call. The driver
//! copies the work requests into its queue, so the Rust values may go as soon as the call
//! returns.
//!
//! A work request is *signalled* if it carries a completion target ([`SendWr::signaled`];
//! receive work requests always do): it owns one reference on that [`Cqe`], which its
//! completion hands to the handler (see [`super::cq`]). A work request that was not
//! posted (the post failed at or before it) still owns its reference and releases it when
//! dropped. Each work request can be posted once.
//!
//! An unsignalled send work request completes only if it fails; [`SendWr::errors_to`]
//! names the static [`ErrorSink`] that then reports it (without, the failure is only seen
//! through the flush of what follows it).

use super::cq::{Cqe, CqeHandler, CqeRef, Wc};
use super::mr::Mr;
use crate::bindings;
use core::marker::PhantomData;
use kernel::sync::Arc;
use kernel::types::Opaque;

/// A scatter/gather entry (`struct ib_sge`): a DMA address range and the key covering it.
#[repr(transparent)]
#[derive(Clone, Copy, Default)]
pub(crate) struct Sge(bindings::ib_sge);

impl Sge {
    /// An SGE of `length` bytes at DMA address `addr`, under local key `lkey`.
    pub(crate) fn new(addr: u64, length: u32, lkey: u32) -> Self {
        Self(bindings::ib_sge { addr, length, lkey })
    }

    /// The DMA address.
    pub(crate) fn addr(&self) -> u64 {
        self.0.addr
    }

    /// The length in bytes.
    pub(crate) fn length(&self) -> u32 {
        self.0.length
    }
}

/// Access rights granted by a memory registration (`enum ib_access_flags`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Access(u32);

impl Access {
    /// `IB_ACCESS_LOCAL_WRITE`: the local device may write (needed for remote write).
    pub(crate) const LOCAL_WRITE: Self = Self(bindings::ib_access_flags_IB_ACCESS_LOCAL_WRITE);
    /// `IB_ACCESS_REMOTE_READ`.
    pub(crate) const REMOTE_READ: Self = Self(bindings::ib_access_flags_IB_ACCESS_REMOTE_READ);
    /// `IB_ACCESS_REMOTE_WRITE`.
    pub(crate) const REMOTE_WRITE: Self = Self(bindings::ib_access_flags_IB_ACCESS_REMOTE_WRITE);
}

impl core::ops::BitOr for Access {
    type Output = Self;

    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// The C structure behind a [`SendWr`]: every kind starts with an `ib_send_wr`.
enum SendRaw {
    /// SEND, SEND_WITH_IMM, SEND_WITH_INV, LOCAL_INV, and the RDMA kinds.
    Rdma(bindings::ib_rdma_wr),
    /// REG_MR.
    Reg(bindings::ib_reg_wr),
}

/// A send-queue work request.
///
/// # Invariants
///
/// * `raw.wr.sg_list` points at `num_sge` SGEs borrowed for `'a` (or is NULL with 0).
/// * If `cqe` is `Some`, `raw.wr.wr_cqe` is its pointer and `IB_SEND_SIGNALED` is set;
///   otherwise `wr_cqe` is NULL or the `ib_cqe` of a `'static` [`ErrorSink`], and the flag
///   is clear.
/// * A REG_MR work request always carries the region's own completion target, which keeps
///   the region (`raw.mr`) alive until the registration completed.
pub(crate) struct SendWr<'a> {
    raw: SendRaw,
    cqe: Option<CqeRef>,
    posted: bool,
    _sges: PhantomData<&'a [Sge]>,
}

impl<'a> SendWr<'a> {
    /// A work request of `opcode` over `sges`.
    fn rdma(opcode: bindings::ib_wr_opcode, sges: &'a [Sge], remote_addr: u64, rkey: u32) -> Self {
        let mut raw = bindings::ib_rdma_wr::default();
        raw.wr.opcode = opcode;
        if !sges.is_empty() {
            // CAST: `Sge` is `repr(transparent)` over `ib_sge`; the driver only reads it.
            raw.wr.sg_list = sges.as_ptr().cast_mut().cast();
            // CAST: SGE counts are bounded by the QP's `max_send_sge` (checked by the
            // driver); a slice longer than `i32::MAX` is rejected there as well.
            raw.wr.num_sge = sges.len() as i32;
        }
        raw.remote_addr = remote_addr;
        raw.rkey = rkey;
        // INVARIANT: SGEs borrowed for `'a`, unsignalled.
        Self {
            raw: SendRaw::Rdma(raw),
            cqe: None,
            posted: false,
            _sges: PhantomData,
        }
    }

    /// SEND of the bytes in `sges`.
    pub(crate) fn send(sges: &'a [Sge]) -> Self {
        Self::rdma(bindings::ib_wr_opcode_IB_WR_SEND, sges, 0, 0)
    }

    /// SEND with immediate data `imm` (host order; sent big-endian).
    pub(crate) fn send_with_imm(sges: &'a [Sge], imm: u32) -> Self {
        let mut wr = Self::rdma(bindings::ib_wr_opcode_IB_WR_SEND_WITH_IMM, sges, 0, 0);
        wr.wr_mut().ex.imm_data = imm.to_be();
        wr
    }

    /// SEND that also invalidates the peer's `rkey` (`IB_WR_SEND_WITH_INV`).
    pub(crate) fn send_with_inv(sges: &'a [Sge], rkey: u32) -> Self {
        let mut wr = Self::rdma(bindings::ib_wr_opcode_IB_WR_SEND_WITH_INV, sges, 0, 0);
        wr.wr_mut().ex.invalidate_rkey = rkey;
        wr
    }

    /// RDMA WRITE of `sges` to `remote_addr` under the peer's `rkey`.
    pub(crate) fn rdma_write(sges: &'a [Sge], remote_addr: u64, rkey: u32) -> Self {
        Self::rdma(
            bindings::ib_wr_opcode_IB_WR_RDMA_WRITE,
            sges,
            remote_addr,
            rkey,
        )
    }

    /// RDMA WRITE with immediate data `imm`: also consumes a receive on the peer.
    pub(crate) fn rdma_write_with_imm(
        sges: &'a [Sge],
        remote_addr: u64,
        rkey: u32,
        imm: u32,
    ) -> Self {
        let mut wr = Self::rdma(
            bindings::ib_wr_opcode_IB_WR_RDMA_WRITE_WITH_IMM,
            sges,
            remote_addr,
            rkey,
        );
        wr.wr_mut().ex.imm_data = imm.to_be();
        wr
    }

    /// RDMA READ from `remote_addr` under the peer's `rkey` into `sges`.
    pub(crate) fn rdma_read(sges: &'a [Sge], remote_addr: u64, rkey: u32) -> Self {
        Self::rdma(
            bindings::ib_wr_opcode_IB_WR_RDMA_READ,
            sges,
            remote_addr,
            rkey,
        )
    }

    /// LOCAL_INV of the local key `rkey`: remote accesses with it fail from then on.
    pub(crate) fn local_inv(rkey: u32) -> Self {
        let mut wr = Self::rdma(bindings::ib_wr_opcode_IB_WR_LOCAL_INV, &[], 0, 0);
        wr.wr_mut().ex.invalidate_rkey = rkey;
        wr
    }

    /// REG_MR: registers what [`Mr::map_sg`] mapped, under the region's current key, with
    /// `access` rights.
    ///
    /// Always signalled, to the region itself: the completion releases the reference that
    /// keeps the region alive while the driver uses it, and records the status
    /// ([`Mr::last_reg_status`]). [`SendWr::signaled`] therefore has no effect on it.
    pub(crate) fn reg_mr(mr: &Mr, access: Access) -> Self {
        let (cqe, raw_mr, key) = mr.reg_parts();
        let mut raw = bindings::ib_reg_wr::default();
        raw.wr.opcode = bindings::ib_wr_opcode_IB_WR_REG_MR;
        raw.wr.__bindgen_anon_1.wr_cqe = cqe.as_raw();
        raw.wr.send_flags = bindings::ib_send_flags_IB_SEND_SIGNALED;
        raw.mr = raw_mr;
        raw.key = key;
        // CAST: The access flags fit in `int`.
        raw.access = access.0 as i32;
        // INVARIANT: Signalled with the region's own target, which keeps `raw_mr` alive.
        Self {
            raw: SendRaw::Reg(raw),
            cqe: Some(cqe),
            posted: false,
            _sges: PhantomData,
        }
    }

    /// Makes the work request signalled: its completion goes to `cqe`'s handler.
    pub(crate) fn signaled<T: CqeHandler>(mut self, cqe: Arc<Cqe<T>>) -> Self {
        if matches!(self.raw, SendRaw::Reg(_)) {
            return self;
        }
        let cqe = Cqe::into_raw_cqe(cqe);
        let wr = self.wr_mut();
        wr.__bindgen_anon_1.wr_cqe = cqe.as_raw();
        wr.send_flags |= bindings::ib_send_flags_IB_SEND_SIGNALED;
        // INVARIANT: Pointer and flag set together; a previous target is released by the
        // assignment.
        self.cqe = Some(cqe);
        self
    }

    /// Reports a failure of this work request to `sink` if it is not signalled (a signalled
    /// one reports to its target; [`SendWr::signaled`] later overrides this).
    pub(crate) fn errors_to(mut self, sink: &'static ErrorSink) -> Self {
        if self.cqe.is_none() {
            // INVARIANT: Unsignalled, with the `ib_cqe` of a static sink.
            self.wr_mut().__bindgen_anon_1.wr_cqe = sink.cqe.get();
        }
        self
    }

    /// Sets `IB_SEND_FENCE`: waits for earlier RDMA READs to complete first.
    pub(crate) fn fence(mut self) -> Self {
        self.wr_mut().send_flags |= bindings::ib_send_flags_IB_SEND_FENCE;
        self
    }
}

/// Where the failures of unsignalled send work requests go (C: a static `ib_cqe` such as
/// `io_comp_cqe`). A `static`: the failed completion owns no reference, and the object must
/// outlive every QP it is used on.
///
/// # Invariants
///
/// `cqe.done` is [`ErrorSink::done_callback`], and `cqe` is the first field (`repr(C)`).
#[repr(C)]
pub(crate) struct ErrorSink {
    cqe: Opaque<bindings::ib_cqe>,
    report: fn(&Wc),
}

// SAFETY: The `ib_cqe` is only read (by the CQ code) and `report` is a plain function.
unsafe impl Sync for ErrorSink {}

impl ErrorSink {
    /// A sink calling `report` for every failed unsignalled work request that names it.
    pub(crate) const fn new(report: fn(&Wc)) -> Self {
        // INVARIANT: `done` is the trampoline below.
        Self {
            cqe: Opaque::new(bindings::ib_cqe {
                done: Some(Self::done_callback),
            }),
            report,
        }
    }

    /// The C `done` callback: a failed unsignalled work request.
    ///
    /// # Safety
    ///
    /// Called by the CQ code with a valid completion whose `wr_cqe` is the `cqe` of an
    /// `ErrorSink` (set only by [`SendWr::errors_to`], for a `'static` sink).
    unsafe extern "C" fn done_callback(_cq: *mut bindings::ib_cq, wc: *mut bindings::ib_wc) {
        // CAST: `Wc` is a `repr(transparent)` wrapper of `ib_wc`.
        // SAFETY: The CQ code passes a valid `ib_wc` for the duration of the call.
        let wc_ref = unsafe { &*wc.cast::<Wc>() };
        // CAST: `cqe` is the first field of the `repr(C)` `ErrorSink`.
        // SAFETY: `wr_cqe` is the `cqe` of a static sink (caller), valid forever.
        let sink = unsafe { &*(*wc).__bindgen_anon_1.wr_cqe.cast::<Self>() };
        (sink.report)(wc_ref);
    }
}

/// A work request `Qp` posts as part of a chain; both queues' kinds implement it.
pub(super) trait ChainWr {
    /// The C work request (`ib_send_wr` or `ib_recv_wr`).
    type Raw;

    /// The C work request, as the driver sees it.
    fn wr_mut(&mut self) -> &mut Self::Raw;

    /// Links the next work request of the chain (NULL ends it).
    fn set_next(&mut self, next: *mut Self::Raw);

    /// Whether this work request was posted already.
    fn is_posted(&self) -> bool;

    /// Records that the driver accepted this work request: its completion reference now
    /// belongs to the completion.
    fn set_posted(&mut self);
}

impl ChainWr for SendWr<'_> {
    type Raw = bindings::ib_send_wr;

    fn wr_mut(&mut self) -> &mut bindings::ib_send_wr {
        match &mut self.raw {
            SendRaw::Rdma(r) => &mut r.wr,
            SendRaw::Reg(r) => &mut r.wr,
        }
    }

    fn set_next(&mut self, next: *mut bindings::ib_send_wr) {
        self.wr_mut().next = next;
    }

    fn is_posted(&self) -> bool {
        self.posted
    }

    fn set_posted(&mut self) {
        self.posted = true;
        if let Some(cqe) = self.cqe.take() {
            cqe.posted();
        }
    }
}

/// A receive work request; always signalled.
///
/// # Invariants
///
/// `raw.sg_list` points at `num_sge` SGEs borrowed for `'a` (or is NULL with 0), and
/// `raw.wr_cqe` is the pointer of `cqe` until the request is posted.
pub(crate) struct RecvWr<'a> {
    raw: bindings::ib_recv_wr,
    cqe: Option<CqeRef>,
    posted: bool,
    _sges: PhantomData<&'a [Sge]>,
}

impl<'a> RecvWr<'a> {
    /// A receive into `sges` (may be empty, for RDMA WRITE with immediate); its completion
    /// goes to `cqe`'s handler.
    pub(crate) fn new<T: CqeHandler>(sges: &'a [Sge], cqe: Arc<Cqe<T>>) -> Self {
        let cqe = Cqe::into_raw_cqe(cqe);
        let mut raw = bindings::ib_recv_wr::default();
        raw.__bindgen_anon_1.wr_cqe = cqe.as_raw();
        if !sges.is_empty() {
            // CAST: As in `SendWr::rdma`.
            raw.sg_list = sges.as_ptr().cast_mut().cast();
            // CAST: As in `SendWr::rdma`.
            raw.num_sge = sges.len() as i32;
        }
        // INVARIANT: SGEs borrowed for `'a`; `wr_cqe` set from `cqe`.
        Self {
            raw,
            cqe: Some(cqe),
            posted: false,
            _sges: PhantomData,
        }
    }
}

impl ChainWr for RecvWr<'_> {
    type Raw = bindings::ib_recv_wr;

    fn wr_mut(&mut self) -> &mut bindings::ib_recv_wr {
        &mut self.raw
    }

    fn set_next(&mut self, next: *mut bindings::ib_recv_wr) {
        self.raw.next = next;
    }

    fn is_posted(&self) -> bool {
        self.posted
    }

    fn set_posted(&mut self) {
        self.posted = true;
        if let Some(cqe) = self.cqe.take() {
            cqe.posted();
        }
    }
}
