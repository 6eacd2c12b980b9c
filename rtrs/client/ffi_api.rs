// SPDX-License-Identifier: GPL-2.0-or-later

//! The `rtrs.h` client API for C users (`rnbd_client`): the seven `rtrs_clt_*` functions,
//! exported by `glue.c`, adapting C pointers to the session types of this module.
//!
//! C header: [include/rtrs.h](../../include/rtrs.h).
//!
//! A `struct rtrs_clt_sess *` handed out is a leaked `KBox<Handle>`, taken back by
//! `rtrs_clt_close`; a `struct rtrs_permit *` points at a [`Permit`] of that session.

use crate::bindings;
use crate::clt::{ConType, OpenArgs, Permit, Sess};
use crate::clt_sysfs::SessDev;
use crate::rdma::cm::SockAddr;
use crate::rdma::dma::ForeignSg;
use crate::req::{Dir, Req};
use kernel::ffi::{c_char, c_int, c_uint, c_void};
use kernel::prelude::*;
use kernel::sync::Arc;

/// What a session pointer of the C API stands for.
///
/// Field order is drop order: the sysfs directory goes before the session.
struct Handle {
    _dev: SessDev,
    sess: Arc<Sess>,
}

/// The user's confirmation of one request (`struct rtrs_clt_req_ops`).
///
/// # Invariants
///
/// `conf_fn(priv_, errno)` may be called once, from any context, as `rtrs.h` promises.
pub(crate) struct Conf {
    priv_: *mut c_void,
    conf_fn: unsafe extern "C" fn(*mut c_void, c_int),
}

// SAFETY: The C API lets the confirmation run on any CPU.
unsafe impl Send for Conf {}

impl Conf {
    /// Calls the confirmation with `errno` (0 or negative).
    pub(crate) fn confirm(self, errno: i32) {
        // SAFETY: Called once (consumes `self`), as the type invariant allows.
        unsafe { (self.conf_fn)(self.priv_, errno) }
    }
}

/// The user's session event callback (`rtrs_clt_ops.link_ev`).
///
/// # Invariants
///
/// `link_ev(priv_, ev)` may be called from process context until `rtrs_clt_close` returns,
/// as `rtrs.h` promises.
pub(crate) struct LinkEv {
    priv_: *mut c_void,
    link_ev: unsafe extern "C" fn(*mut c_void, bindings::rtrs_clt_link_ev),
}

// SAFETY: The C API lets the callback run on any thread (process context).
unsafe impl Send for LinkEv {}
// SAFETY: As above; `&LinkEv` only allows calling the callback.
unsafe impl Sync for LinkEv {}

impl LinkEv {
    /// Tells the user that the session lost its last connected path (`reconnected` false)
    /// or got one again. Process context, before `rtrs_clt_close` returned.
    pub(crate) fn notify(&self, reconnected: bool) {
        let ev = if reconnected {
            bindings::rtrs_clt_link_ev_RTRS_CLT_LINK_EV_RECONNECTED
        } else {
            bindings::rtrs_clt_link_ev_RTRS_CLT_LINK_EV_DISCONNECTED
        };
        // SAFETY: Allowed by the type invariant.
        unsafe { (self.link_ev)(self.priv_, ev) }
    }
}

/// The session behind a C session pointer.
///
/// # Safety
///
/// `sess` must be a pointer returned by `rtrs_clt_open` and not closed yet.
unsafe fn handle<'a>(sess: *mut bindings::rtrs_clt_sess) -> &'a Handle {
    // SAFETY: The caller guarantees a live `KBox<Handle>` pointer.
    unsafe { &*sess.cast::<Handle>() }
}

/// `rtrs_clt_open`: connects the paths and creates the session's sysfs directory.
///
/// # Safety
///
/// As in C: `ops` valid, `pathname` a NUL-terminated string, `paths` an array of
/// `path_cnt` entries whose `dst` (and non-NULL `src`) point at socket addresses.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_open(
    ops: *mut bindings::rtrs_clt_ops,
    pathname: *const c_char,
    paths: *const bindings::rtrs_addr,
    path_cnt: usize,
    port: u16,
    _pdu_sz: usize,
    reconnect_delay_sec: u8,
    max_reconnect_attempts: i16,
    nr_poll_queues: u32,
) -> *mut bindings::rtrs_clt_sess {
    if ops.is_null() || pathname.is_null() || paths.is_null() || path_cnt == 0 {
        return EINVAL.to_ptr();
    }
    // SAFETY: `ops` is valid (caller).
    let ops = unsafe { &*ops };
    // INVARIANT: `rtrs.h` lets RTRS call `link_ev` until `rtrs_clt_close` returns.
    let link_ev = ops.link_ev.map(|f| LinkEv {
        priv_: ops.priv_,
        link_ev: f,
    });
    // SAFETY: The caller passes a NUL-terminated string.
    let name = unsafe { CStr::from_char_ptr(pathname) };
    // SAFETY: The caller passes `path_cnt` entries.
    let raw = unsafe { core::slice::from_raw_parts(paths, path_cnt) };
    let mut addrs = KVec::new();
    for p in raw {
        let dst = if p.dst.is_null() {
            None
        } else {
            // SAFETY: A non-NULL `dst` points at a socket address (caller).
            SockAddr::from_storage(unsafe { &*p.dst }).ok().flatten()
        };
        let src = if p.src.is_null() {
            None
        } else {
            // SAFETY: A non-NULL `src` points at a socket address (caller).
            SockAddr::from_storage(unsafe { &*p.src }).ok().flatten()
        };
        let Some(dst) = dst else {
            return EINVAL.to_ptr();
        };
        if let Err(e) = addrs.push((src, dst), GFP_KERNEL) {
            return Error::from(e).to_ptr();
        }
    }
    let Some(wq) = crate::clt_sysfs::WQ.get() else {
        return ENODEV.to_ptr();
    };
    let mut args = OpenArgs {
        sessname: name.as_bytes(),
        paths: &addrs,
        port,
        reconnect_delay_sec,
        max_reconnect_attempts,
        nr_poll_queues,
        wq,
        link_ev,
    };
    let res = Sess::open(&mut args).and_then(|sess| {
        let dev = match SessDev::new(&sess) {
            Ok(d) => d,
            Err(e) => {
                sess.close();
                return Err(e);
            }
        };
        Ok(KBox::new(Handle { _dev: dev, sess }, GFP_KERNEL)?)
    });
    match res {
        Ok(h) => KBox::into_raw(h).cast(),
        Err(e) => e.to_ptr(),
    }
}

/// `rtrs_clt_close`: stops the paths (requests in flight complete with an error), waits
/// until the user put every permit back (as C's `free_permits`) and frees the session.
///
/// # Safety
///
/// `sess` comes from `rtrs_clt_open` and is not used afterwards.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_close(sess: *mut bindings::rtrs_clt_sess) {
    if sess.is_null() {
        return;
    }
    // SAFETY: Not closed yet (caller). The handle stays allocated while the paths close:
    // the confirmations of the requests they fail put their permits back through it.
    let h = unsafe { handle(sess) };
    h.sess.close();
    h.sess.wait_permits();
    // SAFETY: The caller gives the `KBox<Handle>` back; no request is in flight and no
    // permit is out any more, so nobody else uses the pointer.
    drop(unsafe { KBox::from_raw(sess.cast::<Handle>()) });
}

/// `rtrs_clt_get_permit`: a permit, or NULL if none is free and `wait` is NOWAIT.
///
/// # Safety
///
/// `sess` is an open session. With `RTRS_PERMIT_WAIT` the caller may sleep.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_get_permit(
    sess: *mut bindings::rtrs_clt_sess,
    con_type: bindings::rtrs_clt_con_type,
    wait: bindings::wait_type,
) -> *mut bindings::rtrs_permit {
    // SAFETY: An open session (caller).
    let h = unsafe { handle(sess) };
    let con_type = if con_type == bindings::rtrs_clt_con_type_RTRS_IO_CON {
        ConType::Io
    } else {
        ConType::Admin
    };
    let wait = wait == bindings::wait_type_RTRS_PERMIT_WAIT;
    match h.sess.get_permit(con_type, wait) {
        Some(p) => core::ptr::from_ref(p).cast_mut().cast(),
        None => core::ptr::null_mut(),
    }
}

/// The permit behind a C permit pointer, checked against the session.
///
/// # Safety
///
/// `permit` is NULL or was returned by `rtrs_clt_get_permit` of `h`.
unsafe fn permit<'a>(h: &'a Handle, permit: *mut bindings::rtrs_permit) -> Option<&'a Permit> {
    if permit.is_null() {
        return None;
    }
    // SAFETY: A permit of this session (caller): it lives as long as the session.
    let p = unsafe { &*permit.cast::<Permit>() };
    h.sess
        .permit(p.mem_id as usize)
        .filter(|q| core::ptr::eq(*q, p))
}

/// `rtrs_clt_put_permit`.
///
/// # Safety
///
/// `sess` is an open session and `permit` one of its permits.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_put_permit(
    sess: *mut bindings::rtrs_clt_sess,
    p: *mut bindings::rtrs_permit,
) {
    // SAFETY: An open session (caller).
    let h = unsafe { handle(sess) };
    // SAFETY: A permit of this session (caller).
    match unsafe { permit(h, p) } {
        Some(p) => h.sess.put_permit(p),
        None => pr_warn!("put of a foreign permit\n"),
    }
}

/// `rtrs_clt_request`: sends a READ (`dir` 0) or WRITE request; `conf_fn` runs once when
/// it is done, unless this returns an error.
///
/// # Safety
///
/// `sess` is an open session, `permit` one of its permits held by the caller, `ops` valid,
/// `vec` `nr` valid kvecs, and `sg` a scatterlist of `sg_cnt` entries valid until `conf_fn`
/// ran.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_request(
    dir: c_int,
    ops: *mut bindings::rtrs_clt_req_ops,
    sess: *mut bindings::rtrs_clt_sess,
    permit_ptr: *mut bindings::rtrs_permit,
    vec: *const bindings::kvec,
    nr: usize,
    len: usize,
    sg: *mut bindings::scatterlist,
    sg_cnt: c_uint,
) -> c_int {
    // SAFETY: An open session (caller).
    let h = unsafe { handle(sess) };
    // SAFETY: A permit of this session (caller).
    let Some(p) = (unsafe { permit(h, permit_ptr) }) else {
        return EINVAL.to_errno();
    };
    if ops.is_null() {
        return EINVAL.to_errno();
    }
    // SAFETY: `ops` is valid (caller).
    let ops = unsafe { &*ops };
    let Some(conf_fn) = ops.conf_fn else {
        return EINVAL.to_errno();
    };
    // INVARIANT: `rtrs.h` lets RTRS call the confirmation once, from any context.
    let conf = Conf {
        priv_: ops.priv_,
        conf_fn,
    };
    // The user message: C copies the first kvec only (the lengths of all are summed).
    let usr: &[u8] = if nr == 0 || vec.is_null() {
        &[]
    } else {
        // SAFETY: `vec` has `nr` >= 1 valid kvecs (caller).
        let v = unsafe { &*vec };
        if v.iov_base.is_null() {
            &[]
        } else {
            // SAFETY: A kvec describes `iov_len` readable bytes (caller).
            unsafe { core::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len) }
        }
    };
    // SAFETY: `sg` has `sg_cnt` entries valid until the confirmation (caller).
    let sg = unsafe { ForeignSg::from_raw(sg, sg_cnt) };
    let req = Req {
        dir: if dir == 0 { Dir::Read } else { Dir::Write },
        conf,
        usr,
        data_len: len,
        sg,
    };
    match h.sess.request(p, req) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// `rtrs_clt_rdma_cq_direct`: polls the CQ of poll queue `index`; the number of completions
/// or a negative errno.
///
/// # Safety
///
/// `clt` is an open session.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_rdma_cq_direct(
    clt: *mut bindings::rtrs_clt_sess,
    index: c_uint,
) -> c_int {
    // SAFETY: An open session (caller).
    let h = unsafe { handle(clt) };
    h.sess.core.poll(index)
}

/// `rtrs_clt_query`: queue depth, IO size and segment limits of the session.
///
/// # Safety
///
/// `sess` is an open session and `attr` valid for writes.
#[no_mangle]
unsafe extern "C" fn rtrs_clt_query(
    sess: *mut bindings::rtrs_clt_sess,
    attr: *mut bindings::rtrs_attrs,
) -> c_int {
    // SAFETY: An open session (caller).
    let h = unsafe { handle(sess) };
    if attr.is_null() {
        return EINVAL.to_errno();
    }
    if !h.sess.core.any_connected() {
        return crate::errno!(ECOMM).to_errno();
    }
    let s = &h.sess;
    let out = bindings::rtrs_attrs {
        queue_depth: s.queue_depth,
        max_io_size: s.max_io_size.min(s.max_segments * 4096),
        max_segments: s.max_segments,
    };
    // SAFETY: `attr` is valid for writes (caller).
    unsafe { attr.write(out) };
    0
}
