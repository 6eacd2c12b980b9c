// SPDX-License-Identifier: GPL-2.0-or-later

//! A user of an RTRS client session: open and close, permits, requests, query, polling.
//!
//! C header: [include/rtrs.h](../../include/rtrs.h).
//!
//! Only the exported `rtrs_clt_*` functions are called, so the session may come from the
//! C `rtrs_client` or from ours. What `rtrs.h` promises and this wrapper builds on:
//!
//! - `link_ev(priv, ev)` may run (process context) until `rtrs_clt_close` returns, never
//!   after; [`Session`] keeps its [`LinkEvents`] handler until then.
//! - `rtrs_clt_close` waits until every permit has been put back, so a [`Permit`] may hold
//!   the raw session pointer: the session outlives it.
//! - After `rtrs_clt_request` returned 0, `conf_fn(priv, errno)` runs exactly once, from any
//!   context; the data scatterlist and the permit must stay until then. A request that
//!   failed to post never calls it.
//!
//! Two kinds of requests: [`Session::request_rq`] sends a blk-mq request, whose PDU keeps
//! the permit and the scatterlist while it is in flight, and whose [`RqIo::confirm`] gets it
//! back; [`Session::request_msg`] / [`Session::request_msg_wait`] send a small control
//! message with a reply buffer owned by the wrapper.

use crate::bindings;
use crate::block::mq::{Operations, Request, SgTable};
use crate::rdma::cm::SockAddr;
use crate::sync::Completion;
use core::cell::UnsafeCell;
use core::ptr::NonNull;
use kernel::error::to_result;
use kernel::ffi::{c_int, c_void};
use kernel::prelude::*;
use kernel::str::CStr;
use kernel::sync::Arc;

/// A change of the session's connectivity (`enum rtrs_clt_link_ev`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkEv {
    /// A path is connected again after all were down.
    Reconnected,
    /// The last connected path went down.
    Disconnected,
}

/// What a session's user does on link events. Called in process context, possibly while
/// the session is being closed, never after [`Session`] is dropped.
pub(crate) trait LinkEvents: Send + Sync + 'static {
    /// The session's connectivity changed.
    fn link_ev(&self, ev: LinkEv);
}

/// The connection a permit is for (`enum rtrs_clt_con_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConType {
    /// The admin connection (cid 0): control messages.
    Admin,
    /// An IO connection chosen by the submitting CPU.
    Io,
}

/// The direction of a request, as RTRS sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    /// The server writes data (and the reply) into the client's buffer.
    Read,
    /// The client's data goes to the server.
    Write,
}

impl Dir {
    /// The C `READ` (0) / `WRITE` (1).
    fn raw(self) -> c_int {
        match self {
            Dir::Read => 0,
            Dir::Write => 1,
        }
    }
}

/// The limits of a connected session (`struct rtrs_attrs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    /// Permits, i.e. requests in flight at most.
    pub(crate) queue_depth: u32,
    /// The largest data of one request, in bytes.
    pub(crate) max_io_size: u32,
    /// The most scatterlist entries of one request.
    pub(crate) max_segments: u32,
}

/// One path to connect: optional source and destination.
pub(crate) struct PathAddrs {
    /// The local address to bind to.
    pub(crate) src: Option<SockAddr>,
    /// The server.
    pub(crate) dst: SockAddr,
}

/// How to open a session (the arguments of `rtrs_clt_open` besides the paths).
pub(crate) struct OpenArgs<'a> {
    /// The session name (`/sys/class/rtrs-client/<name>`).
    pub(crate) name: &'a CStr,
    /// The server port, also for paths added later.
    pub(crate) port: u16,
    /// Seconds between reconnect attempts.
    pub(crate) reconnect_delay_sec: u8,
    /// Reconnect attempts: -1 forever, 0 never.
    pub(crate) max_reconnect_attempts: i16,
    /// Extra poll-mode connections per path.
    pub(crate) nr_poll_queues: u32,
}

/// An open RTRS client session; dropping it closes it (`rtrs_clt_close`, which sleeps).
///
/// # Invariants
///
/// `ptr` came from a successful `rtrs_clt_open` whose `link_ev` priv is the address of
/// `*handler`, and is closed only in `drop`, before `handler` is freed.
pub(crate) struct Session<H: LinkEvents> {
    /// The C session.
    ptr: NonNull<bindings::rtrs_clt_sess>,
    /// The link event handler, at a fixed address until the session is closed.
    handler: KBox<H>,
}

// SAFETY: The C session may be used from any thread and closed from any process context;
// `H` is `Send + Sync`.
unsafe impl<H: LinkEvents> Send for Session<H> {}
// SAFETY: Every `&self` method calls an `rtrs.h` function that may run concurrently.
unsafe impl<H: LinkEvents> Sync for Session<H> {}

/// The `link_ev` trampoline.
///
/// # Safety
///
/// `priv_` is the handler of an open [`Session<H>`], which stays until close returns.
unsafe extern "C" fn link_ev_cb<H: LinkEvents>(priv_: *mut c_void, ev: bindings::rtrs_clt_link_ev) {
    // SAFETY: Per the safety requirements.
    let h = unsafe { &*priv_.cast::<H>() };
    let ev = if ev == bindings::rtrs_clt_link_ev_RTRS_CLT_LINK_EV_RECONNECTED {
        LinkEv::Reconnected
    } else {
        LinkEv::Disconnected
    };
    h.link_ev(ev);
}

impl<H: LinkEvents> Session<H> {
    /// Connects every path of a new session (`rtrs_clt_open`; blocks until all are up or
    /// one failed). No link event is delivered before it returns.
    pub(crate) fn open(handler: H, args: &OpenArgs<'_>, paths: &mut [PathAddrs]) -> Result<Self> {
        let handler = KBox::new(handler, GFP_KERNEL)?;
        let mut raw = KVec::with_capacity(paths.len(), GFP_KERNEL)?;
        for p in paths.iter_mut() {
            raw.push(
                bindings::rtrs_addr {
                    src: p
                        .src
                        .as_mut()
                        .map_or(core::ptr::null_mut(), |s| s.as_storage_ptr()),
                    dst: p.dst.as_storage_ptr(),
                },
                GFP_KERNEL,
            )?;
        }
        let mut ops = bindings::rtrs_clt_ops {
            priv_: (&*handler as *const H).cast_mut().cast(),
            link_ev: Some(link_ev_cb::<H>),
        };
        // SAFETY: `ops` is read during the call (RTRS copies it); the name is a C string;
        // `raw` has `raw.len()` entries pointing at socket addresses that live for the call;
        // the handler stays at its address until `drop` closed the session.
        let ptr = unsafe {
            bindings::rtrs_clt_open(
                &mut ops,
                args.name.as_char_ptr(),
                raw.as_ptr(),
                raw.len(),
                args.port,
                0,
                args.reconnect_delay_sec,
                args.max_reconnect_attempts,
                args.nr_poll_queues,
            )
        };
        let ptr = kernel::error::from_err_ptr(ptr)?;
        // INVARIANT: Opened above with the handler as priv.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(EINVAL)?,
            handler,
        })
    }

    /// The link event handler.
    pub(crate) fn handler(&self) -> &H {
        &self.handler
    }

    /// The session's limits (`rtrs_clt_query`); `ECOMM` while no path is connected.
    pub(crate) fn query(&self) -> Result<Attrs> {
        let mut a = bindings::rtrs_attrs::default();
        // SAFETY: The session is open (type invariant); `a` is writable.
        to_result(unsafe { bindings::rtrs_clt_query(self.ptr.as_ptr(), &mut a) })?;
        Ok(Attrs {
            queue_depth: a.queue_depth,
            max_io_size: a.max_io_size,
            max_segments: a.max_segments,
        })
    }

    /// Takes a permit (`rtrs_clt_get_permit`). With `wait` it sleeps until one is free;
    /// without, it may be called in atomic context and gives `None` when none is free.
    pub(crate) fn get_permit(&self, con: ConType, wait: bool) -> Option<Permit> {
        let con = match con {
            ConType::Admin => bindings::rtrs_clt_con_type_RTRS_ADMIN_CON,
            ConType::Io => bindings::rtrs_clt_con_type_RTRS_IO_CON,
        };
        let wait = if wait {
            bindings::wait_type_RTRS_PERMIT_WAIT
        } else {
            bindings::wait_type_RTRS_PERMIT_NOWAIT
        };
        // SAFETY: The session is open (type invariant).
        let p = unsafe { bindings::rtrs_clt_get_permit(self.ptr.as_ptr(), con, wait) };
        // INVARIANT: A permit of this session, held by the new guard.
        Some(Permit {
            sess: self.ptr,
            permit: NonNull::new(p)?,
        })
    }

    /// Polls the completion queue of poll queue `index` (`rtrs_clt_rdma_cq_direct`): the
    /// number of completions, 0 when no path is connected.
    pub(crate) fn rdma_cq_direct(&self, index: u32) -> u32 {
        // SAFETY: The session is open (type invariant).
        let n = unsafe { bindings::rtrs_clt_rdma_cq_direct(self.ptr.as_ptr(), index) };
        u32::try_from(n).unwrap_or(0)
    }

    /// `rtrs_clt_request`: sends `usr` (copied during the call) with `permit`, and `len`
    /// bytes of data in the `nents` entries at `sg`; on success RTRS owns `priv_` until it
    /// calls `conf_fn(priv_, errno)`, exactly once.
    ///
    /// # Safety
    ///
    /// `permit` is a permit of this session; `priv_` is what `conf_fn` expects; `permit`,
    /// `priv_` and the `nents` entries at `sg` (null when `nents` is 0) stay valid until
    /// `conf_fn` runs, and are the caller's again if this fails.
    #[allow(clippy::too_many_arguments)]
    unsafe fn post(
        &self,
        dir: Dir,
        priv_: *mut c_void,
        conf_fn: unsafe extern "C" fn(*mut c_void, c_int),
        permit: *mut bindings::rtrs_permit,
        usr: &[u8],
        len: usize,
        sg: *mut bindings::scatterlist,
        nents: u32,
    ) -> Result {
        let mut ops = bindings::rtrs_clt_req_ops {
            priv_,
            conf_fn: Some(conf_fn),
        };
        let vec = bindings::kvec {
            iov_base: usr.as_ptr().cast_mut().cast(),
            iov_len: usr.len(),
        };
        // SAFETY: The session is open for as long as `self` lives; the caller guarantees
        // the permit, `priv_` and the scatterlist; `ops` and `vec` are read during the call
        // only (RTRS copies `usr`).
        to_result(unsafe {
            bindings::rtrs_clt_request(
                dir.raw(),
                &mut ops,
                self.ptr.as_ptr(),
                permit,
                &vec,
                1,
                len,
                sg,
                nents,
            )
        })
    }

    /// Sends the blk-mq request `rq` with the user message `usr`, and its data if
    /// `with_data` (mapped into the PDU's scatterlist here). The PDU's permit is used;
    /// `T::confirm` gets the request back when RTRS is done. On error the request is
    /// handed back, with the permit still in its PDU.
    pub(crate) fn request_rq<T: RqIo>(
        &self,
        dir: Dir,
        usr: &[u8],
        mut rq: Request<T>,
        with_data: bool,
    ) -> core::result::Result<(), (Error, Request<T>)> {
        let prepared = {
            let (r, pdu) = rq.parts();
            let (permit, sgt) = T::io_parts(pdu);
            match permit {
                None => Err(EINVAL),
                Some(p) if !with_data => Ok((p.permit.as_ptr(), core::ptr::null_mut(), 0, 0)),
                Some(p) => r
                    .map_sg(sgt)
                    .map(|mut m| (p.permit.as_ptr(), m.as_mut_ptr(), m.nents(), r.bytes())),
            }
        };
        let (permit, sg, nents, len) = match prepared {
            Ok(v) => v,
            Err(e) => return Err((e, rq)),
        };
        let Ok(nents) = u32::try_from(nents) else {
            return Err((EINVAL, rq));
        };
        let rq_ptr = rq.into_raw();
        // SAFETY: `permit` is one of the session's permits, held by the PDU of the request,
        // which RTRS owns (through `priv`) until `conf_rq` gives it back, so the permit and
        // the `nents` mapped entries (in the PDU, over the request's pages) stay valid until
        // then.
        // CAST: `u32` to `usize` is lossless.
        let ret = unsafe {
            self.post(
                dir,
                rq_ptr.cast(),
                conf_rq::<T>,
                permit,
                usr,
                len as usize,
                sg,
                nents,
            )
        };
        if let Err(e) = ret {
            // SAFETY: The request was not taken by RTRS (no confirmation will come), so the
            // ownership given up above comes back here.
            return Err((e, unsafe { Request::from_raw(rq_ptr) }));
        }
        Ok(())
    }

    /// Sends a control message `usr` with `permit` and a reply buffer of `reply_len` bytes
    /// (none if 0); `done` gets the buffer, or the error, when RTRS is done, in any context.
    /// If sending fails, `done` is not called and the error is returned.
    pub(crate) fn request_msg<F>(
        &self,
        dir: Dir,
        permit: Permit,
        usr: &[u8],
        reply_len: usize,
        done: F,
    ) -> Result
    where
        F: FnOnce(Result<KVec<u8>>) + Send + 'static,
    {
        let buf = KVec::from_elem(0u8, reply_len, GFP_KERNEL)?;
        let len = u32::try_from(reply_len)?;
        let msg = KBox::new(
            Msg {
                permit,
                buf,
                sg: bindings::scatterlist::default(),
                done,
            },
            GFP_KERNEL,
        )?;
        let msg = KBox::into_raw(msg);
        // SAFETY: `msg` is a valid, exclusively owned allocation until it is handed over.
        let (permit, sg, nents) = unsafe {
            let m = &mut *msg;
            if len == 0 {
                (m.permit.permit.as_ptr(), core::ptr::null_mut(), 0)
            } else {
                bindings::sg_init_table(&mut m.sg, 1);
                bindings::sg_set_buf(&mut m.sg, m.buf.as_ptr().cast(), len);
                (m.permit.permit.as_ptr(), core::ptr::addr_of_mut!(m.sg), 1)
            }
        };
        // SAFETY: The permit is one of the session's permits, kept with the scatterlist
        // entry and the kmalloc'ed reply buffer it describes in `msg`, which RTRS owns until
        // `conf_msg`.
        let ret = unsafe {
            self.post(
                dir,
                msg.cast(),
                conf_msg::<F>,
                permit,
                usr,
                reply_len,
                sg,
                nents,
            )
        };
        if let Err(e) = ret {
            // SAFETY: Not taken by RTRS, so ownership comes back (the permit is put back).
            drop(unsafe { KBox::from_raw(msg) });
            return Err(e);
        }
        Ok(())
    }

    /// As [`Session::request_msg`], waiting (uninterruptibly, as C) for the reply.
    pub(crate) fn request_msg_wait(
        &self,
        dir: Dir,
        permit: Permit,
        usr: &[u8],
        reply_len: usize,
    ) -> Result<KVec<u8>> {
        let w = Arc::pin_init(
            pin_init!(Waiter {
                done <- Completion::new(),
                res: UnsafeCell::new(None),
            }),
            GFP_KERNEL,
        )?;
        let w2 = w.clone();
        self.request_msg(dir, permit, usr, reply_len, move |r| {
            // SAFETY: The confirmation runs once and is the only writer; the waiter reads
            // only after `done` completed, which orders this write before the read.
            unsafe { *w2.res.get() = Some(r) };
            w2.done.complete();
        })?;
        w.done.wait();
        // SAFETY: `done` completed: the one write happened before, and no other access
        // follows it.
        let res = unsafe { (*w.res.get()).take() };
        res.unwrap_or(Err(EIO))
    }
}

impl<H: LinkEvents> Drop for Session<H> {
    fn drop(&mut self) {
        // SAFETY: Open (type invariant) and closed once, here; it waits for the permits and
        // the link events, after which `handler` is dropped.
        unsafe { bindings::rtrs_clt_close(self.ptr.as_ptr()) };
    }
}

/// Where [`Session::request_msg_wait`] waits for the reply.
///
/// # Invariants
///
/// `res` is written once, by the confirmation (softirq or process context), before `done`
/// is completed, and read only by the waiter after `done` completed: no lock is needed (a
/// spinlock would be taken in both softirq and process context).
#[pin_data]
struct Waiter {
    /// Completed by the confirmation.
    #[pin]
    done: Completion,
    /// The reply or error.
    res: UnsafeCell<Option<Result<KVec<u8>>>>,
}

// SAFETY: `res` is accessed by one side at a time, ordered by `done` (type invariant); the
// reply is plain bytes.
unsafe impl Sync for Waiter {}
// SAFETY: As above.
unsafe impl Send for Waiter {}

/// A control message in flight: what RTRS uses until the confirmation.
struct Msg<F> {
    /// The permit, put back when the message is confirmed.
    permit: Permit,
    /// The reply buffer.
    buf: KVec<u8>,
    /// The one scatterlist entry describing `buf`.
    sg: bindings::scatterlist,
    /// The user's continuation.
    done: F,
}

/// The confirmation of a control message.
///
/// # Safety
///
/// `priv_` is a `Msg<F>` handed over by `request_msg`, confirmed once.
unsafe extern "C" fn conf_msg<F: FnOnce(Result<KVec<u8>>)>(priv_: *mut c_void, errno: c_int) {
    // SAFETY: Per the safety requirements, ownership comes back once.
    let m = unsafe { KBox::from_raw(priv_.cast::<Msg<F>>()) };
    let Msg {
        permit, buf, done, ..
    } = KBox::into_inner(m);
    drop(permit);
    done(to_result(errno).map(|()| buf));
}

/// A blk-mq driver whose requests go over RTRS.
pub(crate) trait RqIo: Operations {
    /// The permit (if taken) and the scatterlist of a request's PDU.
    fn io_parts(pdu: &mut Self::RequestData) -> (Option<&Permit>, &mut SgTable);

    /// RTRS is done with the request (any context): put the permit back and end it.
    fn confirm(rq: Request<Self>, res: Result);
}

/// The confirmation of a blk-mq request.
///
/// # Safety
///
/// `priv_` is a request given up by `request_rq`, confirmed once.
unsafe extern "C" fn conf_rq<T: RqIo>(priv_: *mut c_void, errno: c_int) {
    // SAFETY: Per the safety requirements, the request's ownership comes back once.
    let rq = unsafe { Request::<T>::from_raw(priv_.cast()) };
    T::confirm(rq, to_result(errno));
}

/// A permit of a session, put back (`rtrs_clt_put_permit`) when dropped, in any context.
///
/// # Invariants
///
/// `permit` was taken from the open session `sess` and is held by this guard only; the
/// session is not freed before it is put back (`rtrs_clt_close` waits for all permits).
pub(crate) struct Permit {
    /// The session.
    sess: NonNull<bindings::rtrs_clt_sess>,
    /// The permit.
    permit: NonNull<bindings::rtrs_permit>,
}

// SAFETY: A permit may be put back from any context and CPU.
unsafe impl Send for Permit {}
// SAFETY: `&Permit` gives nothing but its address to RTRS.
unsafe impl Sync for Permit {}

impl Drop for Permit {
    fn drop(&mut self) {
        // SAFETY: Held by this guard, of a session still open (type invariant); once.
        unsafe { bindings::rtrs_clt_put_permit(self.sess.as_ptr(), self.permit.as_ptr()) };
    }
}
