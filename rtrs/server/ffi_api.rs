// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs.h` server API for C users (`rnbd_server`): the six `rtrs_srv_*` functions,
//! exported by `glue.c`, and [`Ops`], the user's callbacks made callable from safe code.
//!
//! This is the module's only unsafe code outside `rust/`: it turns the C handles into the
//! Rust objects behind them and back.

use crate::bindings;
use crate::ctx::Server;
use crate::io::OpSlot;
use crate::sess::Sess;
use core::sync::atomic::Ordering;
use kernel::prelude::*;
use kernel::sync::Arc;

/// The user's callbacks (`struct rtrs_srv_ops`).
///
/// # Invariants
///
/// Both function pointers are set and stay callable until `rtrs_srv_close` returned: the
/// user is a module that depends on this one and closes the server before it unloads.
pub(crate) struct Ops(bindings::rtrs_srv_ops);

/// A link event of a session (`enum rtrs_srv_link_ev`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LinkEv {
    /// The session's first path is up.
    Connected,
    /// The session's last path went.
    Disconnected,
}

impl Ops {
    /// Calls the user's `link_ev` for `sess`; the user's return value (non-zero on
    /// CONNECTED refuses the session).
    pub(crate) fn link_ev(&self, sess: &Arc<Sess>, ev: LinkEv) -> i32 {
        let ev = match ev {
            LinkEv::Connected => bindings::rtrs_srv_link_ev_RTRS_SRV_LINK_EV_CONNECTED,
            LinkEv::Disconnected => bindings::rtrs_srv_link_ev_RTRS_SRV_LINK_EV_DISCONNECTED,
        };
        let Some(f) = self.0.link_ev else {
            return 0;
        };
        // CAST: The user's private pointer, stored as an address by `rtrs_srv_set_sess_priv`.
        let priv_ = sess.user_priv.load(Ordering::Acquire) as *mut kernel::ffi::c_void;
        // CAST: `rtrs_srv_sess` is opaque to C; the handle is the address of the `Sess`.
        let handle = core::ptr::from_ref::<Sess>(sess)
            .cast_mut()
            .cast::<bindings::rtrs_srv_sess>();
        // SAFETY: `f` is the user's callback (type invariant); the handle stays valid during
        // the call (`sess` is borrowed) and until the DISCONNECTED event returned (the
        // paths hold the session until then).
        unsafe { f(handle, ev, priv_) }
    }
}

impl Ops {
    /// Calls the user's `rdma_ev` for the request held in `slot` of `sess`, with the data
    /// area and the user message inside the request's chunk. A non-zero return means the
    /// user did not take the request: RTRS answers it with that status.
    pub(crate) fn rdma_ev(
        &self,
        sess: &Sess,
        slot: &OpSlot,
        data: *mut u8,
        data_len: usize,
        usr: *mut u8,
        usr_len: usize,
    ) -> core::result::Result<(), i32> {
        let Some(f) = self.0.rdma_ev else {
            return Err(-(bindings::EINVAL as i32));
        };
        // CAST: The user's private pointer, stored as an address.
        let priv_ = sess.user_priv.load(Ordering::Acquire) as *mut kernel::ffi::c_void;
        // CAST: `rtrs_srv_op` is opaque to C; the handle is the address of the chunk's slot,
        // which holds the request (and its pass, keeping the path and the slot) until
        // `rtrs_srv_resp_rdma`.
        let handle = core::ptr::from_ref(slot)
            .cast_mut()
            .cast::<bindings::rtrs_srv_op>();
        // SAFETY: `f` is the user's callback (type invariant). `data` and `usr` point into the
        // request's chunk, which lives as long as the session and is not reused before the
        // response; `handle` is valid until `rtrs_srv_resp_rdma`.
        let ret = unsafe { f(priv_, handle, data.cast(), data_len, usr.cast(), usr_len) };
        if ret == 0 {
            Ok(())
        } else {
            Err(ret)
        }
    }
}

/// Answers request `id` with `errno` (0 or negative): the chain of wire protocol §9.5,
/// posted at once, in any context. False if it was parked for send-queue space (it goes out
/// with a later send completion).
///
/// # Safety
///
/// `id` must be the handle of an `rdma_ev` call that returned 0, answered only once.
#[no_mangle]
unsafe extern "C" fn rtrs_srv_resp_rdma(
    id: *mut bindings::rtrs_srv_op,
    errno: kernel::ffi::c_int,
) -> bool {
    if id.is_null() {
        return false;
    }
    let reply = {
        // CAST: The handle is the address of an `OpSlot` (see `Ops::rdma_ev`).
        // SAFETY: The slot holds the unanswered request (caller), whose pass keeps the path
        // that owns the slot alive until `finish` below; the borrow ends before.
        let slot = unsafe { &*id.cast::<OpSlot>() };
        crate::io::respond(slot, errno)
    };
    reply.finish()
}

/// The session behind a handle given to the user by `link_ev`.
///
/// # Safety
///
/// `sess` must be a handle from [`Ops::link_ev`] whose DISCONNECTED event has not returned.
unsafe fn sess_ref<'a>(sess: *mut bindings::rtrs_srv_sess) -> &'a Sess {
    // CAST: The handle is the address of a `Sess` (see `Ops::link_ev`).
    // SAFETY: Alive while the user may use the handle (caller).
    unsafe { &*sess.cast::<Sess>() }
}

/// Stores the user's private pointer of a session, passed back in `link_ev`.
///
/// # Safety
///
/// `sess` must be a live session handle (see [`sess_ref`]).
#[no_mangle]
unsafe extern "C" fn rtrs_srv_set_sess_priv(
    sess: *mut bindings::rtrs_srv_sess,
    priv_: *mut kernel::ffi::c_void,
) {
    // SAFETY: A live handle (caller).
    let s = unsafe { sess_ref(sess) };
    // CAST: Stored as an address; only given back to the user.
    s.user_priv.store(priv_ as usize, Ordering::Release);
}

/// Copies the session name into `pathname` (at most `len` bytes with the NUL).
///
/// # Safety
///
/// `sess` must be a live session handle; `pathname` must be writable for `len` bytes.
#[no_mangle]
unsafe extern "C" fn rtrs_srv_get_path_name(
    sess: *mut bindings::rtrs_srv_sess,
    pathname: *mut kernel::ffi::c_char,
    len: usize,
) -> kernel::ffi::c_int {
    // SAFETY: A live handle (caller).
    let s = unsafe { sess_ref(sess) };
    if len == 0 || pathname.is_null() {
        return -(bindings::EINVAL as i32);
    }
    let inner = s.inner.lock();
    let n = inner.name.len().min(len - 1);
    // SAFETY: `pathname` is writable for `len` bytes (caller) and `n < len`; the name is
    // a distinct Rust buffer.
    unsafe {
        core::ptr::copy_nonoverlapping(inner.name.as_ptr(), pathname.cast::<u8>(), n);
        pathname.add(n).write(0);
    }
    0
}

/// The queue depth (number of chunks) of a session.
///
/// # Safety
///
/// `sess` must be a live session handle.
#[no_mangle]
unsafe extern "C" fn rtrs_srv_get_queue_depth(
    sess: *mut bindings::rtrs_srv_sess,
) -> kernel::ffi::c_int {
    // SAFETY: A live handle (caller).
    let s = unsafe { sess_ref(sess) };
    s.queue_depth.into()
}

// SAFETY: The callbacks are plain functions of the user, callable from any thread.
unsafe impl Send for Ops {}
// SAFETY: As above; `&Ops` only reads the function pointers.
unsafe impl Sync for Ops {}

/// Opens a server context listening on `port` (from the first RDMA device on).
///
/// # Safety
///
/// `ops` must point at a valid `rtrs_srv_ops`, whose callbacks stay valid until
/// `rtrs_srv_close`.
#[no_mangle]
unsafe extern "C" fn rtrs_srv_open(
    ops: *mut bindings::rtrs_srv_ops,
    port: u16,
) -> *mut bindings::rtrs_srv_ctx {
    if ops.is_null() {
        return EINVAL.to_ptr();
    }
    // SAFETY: `ops` is valid for reads (caller); the structure is copied, as C does.
    let raw = unsafe { ops.read() };
    if raw.rdma_ev.is_none() || raw.link_ev.is_none() {
        return EINVAL.to_ptr();
    }
    // INVARIANT: Both callbacks set; the caller keeps them valid until `rtrs_srv_close`.
    let server = Server::open(Ops(raw), port).and_then(|s| Ok(KBox::new(s, GFP_KERNEL)?));
    match server {
        // CAST: `rtrs_srv_ctx` is opaque to C; the pointer is a `KBox<Server>`.
        Ok(s) => KBox::into_raw(s).cast(),
        Err(e) => e.to_ptr(),
    }
}

/// Closes a server context: stops listening, closes every session, frees the context.
///
/// # Safety
///
/// `ctx` must come from `rtrs_srv_open` and not be used afterwards.
#[no_mangle]
unsafe extern "C" fn rtrs_srv_close(ctx: *mut bindings::rtrs_srv_ctx) {
    // CAST: The pointer came from `KBox::into_raw` of a `KBox<Server>` in `rtrs_srv_open`.
    // SAFETY: Ownership comes back exactly once (caller).
    drop(unsafe { KBox::from_raw(ctx.cast::<Server>()) });
}
