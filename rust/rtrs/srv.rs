// SPDX-License-Identifier: GPL-2.0-or-later

//! The user side of the RTRS server API: what a block server (RNBD) calls and implements.
//!
//! C header: [include/rtrs.h](../../include/rtrs.h) (wire protocol §15.3).
//!
//! # Shape
//!
//! The user implements [`SrvOps`] for a type of its own and opens a [`SrvCtx`] with it; the
//! context listens on a port and is closed when dropped. RTRS then calls back:
//!
//! - [`SrvOps::connected`] when the first path of a client session is up: the user makes its
//!   per-session object and returns it as an `Arc`, which this module stores as the C session
//!   priv (`rtrs_srv_set_sess_priv`), owning one reference;
//! - [`SrvOps::rdma_ev`] for every request, with the session object and a [`SrvOp`], the
//!   handle of the request: its user message, its data area, and the obligation to answer;
//! - [`SrvOps::disconnected`] when the last path is gone, after every request of the session
//!   was answered: the stored reference is handed back to the user.
//!
//! # Answers
//!
//! RTRS requires exactly one `rtrs_srv_resp_rdma` per request the user accepted. Here every
//! request is accepted (the C `rdma_ev` returns 0) and its [`SrvOp`] carries the obligation:
//! [`SrvOp::resp_rdma`] consumes it, and dropping an unanswered op answers `-EIO`. So no
//! request is ever left without an answer, nor answered twice.
//!
//! The op also owns the request's data area until it is answered: the user fills it for a READ
//! or reads it for a WRITE through [`SrvOp::data_mut`], or hands the whole op to a bio (it is a
//! [`Buffer`]) and answers from the bio's completion. The user message is borrowed from the op
//! too, so nothing of the chunk can be read once RTRS may reuse it.
//!
//! The callbacks carry no context pointer of their own (C's `link_ev` gets none before the
//! priv is set), so [`SrvOps`] has no `self`: module-wide state lives in a
//! `crate::sync::GlobalArc`.

use crate::{bindings, block::bio::Buffer};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    error::from_err_ptr,
    ffi::{c_int, c_void},
    prelude::*,
    str::{CStr, CString},
    sync::{Arc, ArcBorrow},
};

/// `NAME_MAX`: the size of the buffer C RNBD reads the session name into.
const NAME_MAX: usize = 255;

/// The callbacks of an RTRS server user (`struct rtrs_srv_ops`), as associated functions.
///
/// All of them run in process context (the server's completion workqueue) and may sleep.
pub(crate) trait SrvOps: 'static {
    /// The user's object of one client session (the C session priv).
    type Session: Send + Sync;

    /// The first path of the session `sess` is up (`RTRS_SRV_LINK_EV_CONNECTED`). Returns the
    /// user's session object; an error refuses the path.
    fn connected(sess: &SrvSess) -> Result<Arc<Self::Session>>;

    /// The last path of the session is gone (`RTRS_SRV_LINK_EV_DISCONNECTED`), and every
    /// request of it was answered. `sess` is the reference [`SrvOps::connected`] returned.
    fn disconnected(sess: Arc<Self::Session>);

    /// A request arrived on the session `sess`. The op must be answered, now or later from any
    /// context, with [`SrvOp::resp_rdma`] (dropping it answers `-EIO`).
    fn rdma_ev(sess: ArcBorrow<'_, Self::Session>, op: SrvOp);
}

/// An RTRS server session (`struct rtrs_srv_sess`), borrowed during [`SrvOps::connected`].
///
/// # Invariants
///
/// The wrapped pointer is a session handle RTRS passed to `link_ev`, valid while the callback
/// runs, which is as long as the borrow.
#[repr(transparent)]
pub(crate) struct SrvSess(bindings::rtrs_srv_sess);

impl SrvSess {
    /// Borrows the session handle of a `link_ev` call.
    ///
    /// # Safety
    ///
    /// `ptr` is the session handle of a `link_ev` call that is running for all of `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::rtrs_srv_sess) -> &'a Self {
        // CAST: `Self` is a `repr(transparent)` wrapper; the C type is opaque and never read.
        // SAFETY: Valid for `'a` by the caller's guarantee.
        // INVARIANT: Ditto.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The C handle.
    fn as_ptr(&self) -> *mut bindings::rtrs_srv_sess {
        // CAST: `repr(transparent)`; RTRS takes the handle as mutable but we only pass it on.
        core::ptr::from_ref(self).cast_mut().cast()
    }

    /// The session name the client chose (`rtrs_srv_get_path_name`), at most `NAME_MAX - 1`
    /// bytes as C RNBD reads it; `ENOTCONN` if no path is connected.
    pub(crate) fn path_name(&self) -> Result<CString> {
        // C RNBD: `char pathname[NAME_MAX]`.
        let mut buf = [0u8; NAME_MAX];
        // SAFETY: The handle is live (type invariant); `buf` is writable for its length.
        let ret = unsafe {
            bindings::rtrs_srv_get_path_name(self.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        kernel::error::to_result(ret)?;
        // Both implementations NUL-terminate within `len`; stay defensive about it anyway.
        let nul = buf.iter().position(|&b| b == 0).ok_or(EINVAL)?;
        let name = CStr::from_bytes_with_nul(&buf[..=nul]).map_err(|_| EINVAL)?;
        Ok(name.to_cstring()?)
    }

    /// The number of chunks (concurrent requests) of the session (`rtrs_srv_get_queue_depth`).
    pub(crate) fn queue_depth(&self) -> i32 {
        // SAFETY: The handle is live (type invariant).
        unsafe { bindings::rtrs_srv_get_queue_depth(self.as_ptr()) }
    }
}

/// One request given to [`SrvOps::rdma_ev`] (`struct rtrs_srv_op`): its user message, its data
/// area, and the duty to answer it exactly once.
///
/// # Invariants
///
/// - `id` is the handle of an `rdma_ev` call that returned 0 and was not answered yet; it is
///   answered exactly once, by [`SrvOp::resp_rdma`] or by `drop`.
/// - Until then, `data` points at `data_len` bytes and `usr` at `usr_len` bytes of the
///   request's chunk, which RTRS does not touch and does not reuse; the two areas do not
///   overlap. Both lie in the kernel direct map (both RTRS servers allocate chunks with the
///   page allocator or `kmalloc`, as C RNBD's `bio_add_virt_nofail` requires too). A zero
///   length comes with a dangling, aligned pointer.
pub(crate) struct SrvOp {
    /// The C handle.
    id: NonNull<bindings::rtrs_srv_op>,
    /// The data area: filled by the user for a READ, holding the client's data for a WRITE.
    data: NonNull<u8>,
    /// Its length.
    data_len: usize,
    /// The user message.
    usr: NonNull<u8>,
    /// Its length.
    usr_len: usize,
    /// The op owns the data area and answers from any thread.
    _p: PhantomData<&'static mut [u8]>,
}

// SAFETY: `rtrs_srv_resp_rdma` may be called from any context and thread (§15.3), and the
// areas the op points to are owned by it (type invariant).
unsafe impl Send for SrvOp {}

impl SrvOp {
    /// The user message (`usr`, `usrlen`).
    pub(crate) fn usr(&self) -> &[u8] {
        // SAFETY: `usr_len` bytes at `usr`, untouched by RTRS until the answer, which needs
        // `self` by value (type invariant).
        unsafe { core::slice::from_raw_parts(self.usr.as_ptr(), self.usr_len) }
    }

    /// The data area (`data`, `datalen`).
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        // SAFETY: `data_len` bytes at `data`, owned by the op (type invariant) and borrowed
        // mutably through it.
        unsafe { core::slice::from_raw_parts_mut(self.data.as_ptr(), self.data_len) }
    }

    /// The data area and the user message together (they do not overlap).
    pub(crate) fn data_and_usr(&mut self) -> (&mut [u8], &[u8]) {
        // SAFETY: As in `data_mut` and `usr`; the areas are disjoint (type invariant).
        unsafe {
            (
                core::slice::from_raw_parts_mut(self.data.as_ptr(), self.data_len),
                core::slice::from_raw_parts(self.usr.as_ptr(), self.usr_len),
            )
        }
    }

    /// The length of the data area.
    pub(crate) fn data_len(&self) -> usize {
        self.data_len
    }

    /// Answers the request: `Ok` sends the data area (for a READ) and status 0, an error
    /// sends its errno. Any context.
    pub(crate) fn resp_rdma(self, res: Result) {
        let errno = match res {
            Ok(()) => 0,
            Err(e) => e.to_errno(),
        };
        let this = core::mem::ManuallyDrop::new(self);
        this.answer(errno);
    }

    /// Calls `rtrs_srv_resp_rdma`; the caller does not answer again.
    fn answer(&self, errno: c_int) {
        // SAFETY: `id` is unanswered (type invariant) and this is its one answer: both callers
        // make sure `self` is not answered again (`ManuallyDrop`, or `drop` itself). Whether it
        // was posted or parked for send-queue space, RTRS sends it.
        unsafe { bindings::rtrs_srv_resp_rdma(self.id.as_ptr(), errno) };
    }
}

impl Drop for SrvOp {
    /// An op dropped unanswered (an error path that forgot it) is answered `-EIO`.
    fn drop(&mut self) {
        pr_warn!("RTRS request dropped without an answer: answering -EIO\n");
        self.answer(EIO.to_errno());
    }
}

// SAFETY: The data area lies in the direct map, is owned by the op until it is answered, which
// takes the op by value, and neither moves with the op nor changes length (type invariant).
unsafe impl Buffer for SrvOp {
    fn as_ptr(&self) -> *const u8 {
        self.data.as_ptr()
    }
    fn len(&self) -> usize {
        self.data_len
    }
}

/// A listening RTRS server (`struct rtrs_srv_ctx`) calling the callbacks of `T`; closed on
/// drop.
///
/// # Invariants
///
/// `ctx` came from `rtrs_srv_open` with `ops`, which holds the trampolines of `T`, and is
/// closed only in `drop`.
pub(crate) struct SrvCtx<T: SrvOps> {
    /// The C context.
    ctx: NonNull<bindings::rtrs_srv_ctx>,
    /// The callbacks given to RTRS; kept in place in case an implementation keeps the pointer
    /// (C copies them).
    _ops: KBox<bindings::rtrs_srv_ops>,
    /// The user type of the callbacks.
    _t: PhantomData<T>,
}

// SAFETY: The context is only closed, which C allows from any thread.
unsafe impl<T: SrvOps> Send for SrvCtx<T> {}
// SAFETY: `&SrvCtx` gives access to nothing.
unsafe impl<T: SrvOps> Sync for SrvCtx<T> {}

impl<T: SrvOps> SrvCtx<T> {
    /// Starts serving on `port` (`rtrs_srv_open`): listeners on every RDMA device, now and
    /// later. May sleep.
    pub(crate) fn open(port: u16) -> Result<Self> {
        let mut ops = KBox::new(
            bindings::rtrs_srv_ops {
                rdma_ev: Some(rdma_ev::<T>),
                link_ev: Some(link_ev::<T>),
            },
            GFP_KERNEL,
        )?;
        // SAFETY: `ops` holds valid callbacks that stay valid until `rtrs_srv_close` (they are
        // functions of this module, which closes the context before it unloads).
        let ctx = from_err_ptr(unsafe { bindings::rtrs_srv_open(&mut *ops, port) })?;
        let ctx = NonNull::new(ctx).ok_or(EINVAL)?;
        // INVARIANT: Opened with `ops` just above.
        Ok(Self {
            ctx,
            _ops: ops,
            _t: PhantomData,
        })
    }
}

impl<T: SrvOps> Drop for SrvCtx<T> {
    /// Stops listening and closes every session (`rtrs_srv_close`); each gets its
    /// [`SrvOps::disconnected`] before this returns. Sleeps.
    fn drop(&mut self) {
        // SAFETY: Opened in `open` and closed only here (type invariant).
        unsafe { bindings::rtrs_srv_close(self.ctx.as_ptr()) };
    }
}

/// A pointer usable for a slice of `len` bytes: `ptr`, or dangling when the length is 0.
fn area(ptr: *const c_void, len: usize) -> Option<NonNull<u8>> {
    if len == 0 {
        return Some(NonNull::dangling());
    }
    NonNull::new(ptr.cast_mut().cast())
}

/// The `rdma_ev` of [`SrvCtx::open`].
///
/// # Safety
///
/// Called by RTRS as `rdma_ev` (§15.3): `priv_` is the session priv set by [`link_ev`] (or
/// NULL), `id` a new request whose `data`/`usr` areas are as described on [`SrvOp`].
unsafe extern "C" fn rdma_ev<T: SrvOps>(
    priv_: *mut c_void,
    id: *mut bindings::rtrs_srv_op,
    data: *mut c_void,
    datalen: usize,
    usr: *const c_void,
    usrlen: usize,
) -> c_int {
    let (Some(id), Some(data), Some(usr)) =
        (NonNull::new(id), area(data, datalen), area(usr, usrlen))
    else {
        // Returning an error makes RTRS answer the request itself.
        pr_err!("rdma_ev without a request handle or area\n");
        return EINVAL.to_errno();
    };
    if priv_.is_null() {
        // C RNBD: `WARN_ON_ONCE(!srv_sess)` and -ENODEV.
        pr_err!("rdma_ev on a session that is not set up\n");
        return ENODEV.to_errno();
    }
    // INVARIANT: RTRS hands over an unanswered request with these areas (caller); from here
    // on the op answers it.
    let op = SrvOp {
        id,
        data,
        data_len: datalen,
        usr,
        usr_len: usrlen,
        _p: PhantomData,
    };
    // SAFETY: A non-NULL priv is an `Arc::into_raw` of `T::Session` set by `link_ev` on
    // CONNECTED, whose reference is held until DISCONNECTED, which RTRS delivers only after
    // every request of the session was answered; so it outlives this call.
    let sess = unsafe { ArcBorrow::from_raw(priv_.cast::<T::Session>()) };
    T::rdma_ev(sess, op);
    0
}

/// The `link_ev` of [`SrvCtx::open`].
///
/// # Safety
///
/// Called by RTRS as `link_ev` (§15.3) with a live session handle; for DISCONNECTED, `priv_`
/// is the priv this function set on CONNECTED (or NULL), and no request of the session is
/// unanswered or will arrive before the next CONNECTED.
unsafe extern "C" fn link_ev<T: SrvOps>(
    sess: *mut bindings::rtrs_srv_sess,
    ev: bindings::rtrs_srv_link_ev,
    priv_: *mut c_void,
) -> c_int {
    if sess.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: The handle is live during the call (caller).
    let s = unsafe { SrvSess::from_raw(sess) };
    match ev {
        bindings::rtrs_srv_link_ev_RTRS_SRV_LINK_EV_CONNECTED => match T::connected(s) {
            Ok(obj) => {
                // CAST: The C priv is untyped; `rdma_ev` and DISCONNECTED cast it back.
                let raw = Arc::into_raw(obj).cast_mut().cast::<c_void>();
                // SAFETY: The handle is live; the priv owns the reference given up just above.
                unsafe { bindings::rtrs_srv_set_sess_priv(sess, raw) };
                0
            }
            Err(e) => e.to_errno(),
        },
        bindings::rtrs_srv_link_ev_RTRS_SRV_LINK_EV_DISCONNECTED => {
            if priv_.is_null() {
                pr_err!("session disconnected that was never set up\n");
                return EINVAL.to_errno();
            }
            // SAFETY: The handle is live; the priv is cleared before its reference is taken
            // back, so a later CONNECTED of the same C session starts afresh.
            unsafe { bindings::rtrs_srv_set_sess_priv(sess, core::ptr::null_mut()) };
            // SAFETY: `priv_` is the `Arc::into_raw` stored on CONNECTED (caller), whose
            // reference is taken back exactly once, here; no request uses it any more.
            let obj = unsafe { Arc::from_raw(priv_.cast::<T::Session>()) };
            T::disconnected(obj);
            0
        }
        _ => {
            pr_warn!("unknown RTRS session event {}\n", ev);
            EINVAL.to_errno()
        }
    }
}
