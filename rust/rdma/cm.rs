// SPDX-License-Identifier: GPL-2.0-or-later

//! The RDMA connection manager (rdma_cm).
//!
//! C header: [include/rdma/rdma_cm.h](srctree/include/rdma/rdma_cm.h).
//!
//! # Ownership and event delivery
//!
//! A [`CmId<T>`] owns one `rdma_cm_id` and the driver's event handler `T: Handler`, boxed
//! together with some bookkeeping as the id's `context`. Events arrive through one
//! trampoline per `T` and reach [`Handler::event`] as `&T` plus a borrowed [`CmIdRef`],
//! which is also what the owner derefs to. Dropping the `CmId` destroys the id with
//! `rdma_destroy_id`, which waits for a running handler and guarantees that no event
//! arrives afterwards; only then is the handler freed. Use after destroy is thus
//! impossible from safe code.
//!
//! The C rules and how they are handled:
//!
//! * **A non-zero return from the event handler makes rdma_cm destroy the id.** The
//!   trampoline returns non-zero in exactly two cases: a CONNECT_REQUEST that the handler
//!   did not take ([`ConnRequest::adopt`]): the new id is destroyed, as C drivers do on
//!   reject; and an id whose `CmId` was dropped *inside its own handler*.
//! * **`rdma_destroy_id` from the id's own handler deadlocks** (it takes the handler mutex
//!   the handler runs under). `CmId::drop` detects this case (the bookkeeping records which
//!   task runs the handler), tears down the QP and frees the handler after the handler
//!   returned, and lets rdma_cm destroy the id by returning non-zero.
//! * **`rdma_accept` and `rdma_connect_locked` need the handler mutex.** [`CmIdRef::accept`]
//!   and [`CmIdRef::connect`] use the locked variant when called from the id's own handler
//!   and take the mutex (`rdma_lock_handler`, `rdma_connect`) otherwise.
//! * Dropping a `CmId` from the handler of *another* id (or the listener from its own
//!   CONNECT_REQUEST) nests handler mutexes and is not allowed, as in C. Drop needs process
//!   context: it sleeps.
//!
//! A [`super::qp::Qp`] created on the id is owned by it: on drop the id is destroyed first
//! (no event can use the QP any more), then the QP is drained and destroyed.

use super::cq::Cq;
use super::device::Device;
use super::pd::Pd;
use super::qp::{Qp, QpCaps};
use crate::bindings;
use core::cell::Cell;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use kernel::error::{code::*, from_err_ptr, to_result};
use kernel::prelude::*;
use kernel::sync::Arc;
use kernel::task::Task;
use kernel::types::Opaque;

/// The kind of an rdma_cm event (`enum rdma_cm_event_type`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EventKind {
    /// `RDMA_CM_EVENT_ADDR_RESOLVED`.
    AddrResolved,
    /// `RDMA_CM_EVENT_ADDR_ERROR`.
    AddrError,
    /// `RDMA_CM_EVENT_ROUTE_RESOLVED`.
    RouteResolved,
    /// `RDMA_CM_EVENT_ROUTE_ERROR`.
    RouteError,
    /// `RDMA_CM_EVENT_CONNECT_ERROR`.
    ConnectError,
    /// `RDMA_CM_EVENT_UNREACHABLE`.
    Unreachable,
    /// `RDMA_CM_EVENT_REJECTED`; the private data is the consumer's reject data, if any.
    Rejected,
    /// `RDMA_CM_EVENT_ESTABLISHED`; on the active side it carries the accept's private data.
    Established,
    /// `RDMA_CM_EVENT_DISCONNECTED`.
    Disconnected,
    /// `RDMA_CM_EVENT_DEVICE_REMOVAL`: drop everything built on the device, then the id.
    DeviceRemoval,
    /// `RDMA_CM_EVENT_ADDR_CHANGE`.
    AddrChange,
    /// `RDMA_CM_EVENT_TIMEWAIT_EXIT`.
    TimewaitExit,
    /// Any other event (CONNECT_REQUEST goes to [`Handler::connect_request`]).
    Other(u32),
}

impl EventKind {
    /// Converts the C value.
    fn from_raw(e: bindings::rdma_cm_event_type) -> Self {
        match e {
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ADDR_RESOLVED => Self::AddrResolved,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ADDR_ERROR => Self::AddrError,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ROUTE_RESOLVED => Self::RouteResolved,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ROUTE_ERROR => Self::RouteError,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_CONNECT_ERROR => Self::ConnectError,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_UNREACHABLE => Self::Unreachable,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_REJECTED => Self::Rejected,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ESTABLISHED => Self::Established,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_DISCONNECTED => Self::Disconnected,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_DEVICE_REMOVAL => Self::DeviceRemoval,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_ADDR_CHANGE => Self::AddrChange,
            bindings::rdma_cm_event_type_RDMA_CM_EVENT_TIMEWAIT_EXIT => Self::TimewaitExit,
            e => Self::Other(e),
        }
    }
}

/// An rdma_cm event as seen by [`Handler::event`].
pub(crate) struct Event<'a> {
    /// What happened.
    pub(crate) kind: EventKind,
    /// The event's status: 0, a negative errno, or for `Rejected` the reject reason.
    pub(crate) status: i32,
    /// The peer's private data (rdma_cm pads it to the protocol's field size).
    pub(crate) private_data: &'a [u8],
}

/// What a [`CmId`] tells its owner.
///
/// Handlers run in process context (rdma_cm work items), one at a time per id, with the
/// id's handler mutex held: they may sleep, but must not drop a `CmId` other than the one
/// they are called for (see the module docs).
pub(crate) trait Handler: Send + Sync + Sized + 'static {
    /// An event on `id`.
    fn event(&self, id: &CmIdRef, event: &Event<'_>);

    /// A connection request arrived at a listening id. Take it with
    /// [`ConnRequest::adopt`] (and accept it), or reject it with [`ConnRequest::reject`];
    /// a request that is neither taken nor rejected is refused. The default refuses.
    fn connect_request(&self, req: ConnRequest<'_, Self>) {
        let _ = req;
    }
}

/// The bookkeeping at the start of every id's context.
///
/// # Invariants
///
/// * `in_handler` is the task running the id's handler, or NULL.
/// * `qp` is NULL or a `KBox<Qp>` created on the id and owned here; once set it stays
///   until the teardown.
#[repr(C)]
struct Hdr {
    in_handler: AtomicPtr<Task>,
    destroy_on_return: AtomicBool,
    qp_claimed: AtomicBool,
    qp: AtomicPtr<Qp>,
}

/// The context of an id owned by a `CmId<T>`.
///
/// # Invariants
///
/// `hdr` comes first (`repr(C)`), so the context pointer is also a `Hdr` pointer whatever
/// `T` is; [`CmIdRef`] relies on it.
#[repr(C)]
struct Inner<T> {
    hdr: Hdr,
    handler: T,
}

/// The current task, as a pointer for identity comparisons only.
fn current_task() -> *mut Task {
    let task: &Task = kernel::current!();
    core::ptr::from_ref(task).cast_mut()
}

/// A borrowed rdma_cm id with a Rust owner: what handlers get and what [`CmId`] derefs to.
///
/// # Invariants
///
/// The id is valid for the borrow, and its `context` is the `Inner<T>` of its owning
/// `CmId<T>` (hence starts with a [`Hdr`]).
#[repr(transparent)]
pub(crate) struct CmIdRef(Opaque<bindings::rdma_cm_id>);

// SAFETY: rdma_cm ids are used from any thread; the C functions lock internally.
unsafe impl Send for CmIdRef {}
// SAFETY: All methods take `&self` and are thread-safe in C; the bookkeeping is atomic.
unsafe impl Sync for CmIdRef {}

impl CmIdRef {
    /// Borrows `id`.
    ///
    /// # Safety
    ///
    /// `id` must be valid for `'a` and its context an `Inner<T>` of a `CmId<T>`.
    unsafe fn from_raw<'a>(id: *mut bindings::rdma_cm_id) -> &'a Self {
        // CAST: `CmIdRef` is a `repr(transparent)` wrapper of `rdma_cm_id`.
        // SAFETY: The caller guarantees validity for `'a`.
        unsafe { &*id.cast::<Self>() }
    }

    /// The raw id.
    fn as_raw(&self) -> *mut bindings::rdma_cm_id {
        self.0.get()
    }

    /// The bookkeeping of the owner.
    fn hdr(&self) -> &Hdr {
        // CAST: By the type invariant the context is an `Inner<T>`, which starts with `Hdr`.
        // SAFETY: The context lives as long as the id (freed after `rdma_destroy_id`).
        unsafe { &*(*self.as_raw()).context.cast::<Hdr>() }
    }

    /// Whether the caller runs inside this id's event handler (holding its handler mutex).
    fn in_own_handler(&self) -> bool {
        self.hdr().in_handler.load(Ordering::Relaxed) == current_task()
    }

    /// The device the id is bound to (after address resolution, bind or a connect request).
    pub(crate) fn device(&self) -> Option<&Device> {
        // SAFETY: The id is valid; `device` is set once the id is bound and stays valid
        // while the id exists (rdma_cm holds the device).
        let dev = unsafe { (*self.as_raw()).device };
        // SAFETY: See above: valid for the borrow of `self`.
        (!dev.is_null()).then(|| unsafe { Device::from_raw(dev) })
    }

    /// The port number on [`CmIdRef::device`].
    pub(crate) fn port_num(&self) -> u32 {
        // SAFETY: The id is valid; the field is plain data.
        unsafe { (*self.as_raw()).port_num }
    }

    /// The local address of the id (`route.addr.src_addr`).
    pub(crate) fn src_addr(&self) -> SockAddr {
        // SAFETY: The id is valid; the address is plain data written by rdma_cm when the id
        // is bound, and read here as a copy.
        SockAddr(unsafe { (*self.as_raw()).route.addr.src_addr })
    }

    /// The peer's address of the id (`route.addr.dst_addr`).
    pub(crate) fn dst_addr(&self) -> SockAddr {
        // SAFETY: As for `src_addr`.
        SockAddr(unsafe { (*self.as_raw()).route.addr.dst_addr })
    }

    /// The QP created with [`CmIdRef::create_qp`], if any.
    pub(crate) fn qp(&self) -> Option<&Qp> {
        let qp = self.hdr().qp.load(Ordering::Acquire);
        // SAFETY: By the `Hdr` invariant a non-NULL `qp` is owned by the id and freed only
        // in the teardown, which needs the owner gone and no handler running.
        (!qp.is_null()).then(|| unsafe { &*qp })
    }

    /// Creates the id's RC queue pair (`rdma_create_qp`) on `pd` with the given CQs.
    /// `EBUSY` if the id has one already.
    pub(crate) fn create_qp(
        &self,
        pd: &Arc<Pd>,
        send_cq: &Arc<Cq>,
        recv_cq: &Arc<Cq>,
        caps: QpCaps,
    ) -> Result<&Qp> {
        let hdr = self.hdr();
        if hdr.qp_claimed.swap(true, Ordering::AcqRel) {
            return Err(EBUSY);
        }
        // SAFETY: The id is valid and has no QP (claimed just above); the teardown calls
        // `Qp::destroy_unlinked` (see `teardown`).
        let qp = match unsafe { Qp::create(self.as_raw(), pd, send_cq, recv_cq, caps) }
            .and_then(|qp| Ok(KBox::new(qp, GFP_KERNEL)?))
        {
            Ok(qp) => qp,
            Err(e) => {
                hdr.qp_claimed.store(false, Ordering::Release);
                return Err(e);
            }
        };
        let qp = KBox::into_raw(qp);
        // INVARIANT: A QP created on this id, owned from now on by the context.
        hdr.qp.store(qp, Ordering::Release);
        // SAFETY: Just stored; lives until the teardown (see `qp`).
        Ok(unsafe { &*qp })
    }

    /// Makes an `AF_INET6` id take IPv6 only, not IPv4 as `::ffff:a.b.c.d` too
    /// (`rdma_set_afonly`); before [`CmIdRef::bind_addr`].
    pub(crate) fn set_afonly(&self, afonly: bool) -> Result {
        // SAFETY: The id is valid.
        to_result(unsafe { bindings::rdma_set_afonly(self.as_raw(), i32::from(afonly)) })
    }

    /// Binds the id to a local address (`rdma_bind_addr`), e.g. before [`CmIdRef::listen`].
    pub(crate) fn bind_addr(&self, addr: &SockAddr) -> Result {
        let mut addr = *addr;
        // SAFETY: The id is valid; `addr` is a valid socket address for the call.
        to_result(unsafe { bindings::rdma_bind_addr(self.as_raw(), addr.as_mut_ptr()) })
    }

    /// Listens for connection requests (`rdma_listen`); they go to
    /// [`Handler::connect_request`].
    pub(crate) fn listen(&self, backlog: i32) -> Result {
        // SAFETY: The id is valid.
        to_result(unsafe { bindings::rdma_listen(self.as_raw(), backlog) })
    }

    /// Starts resolving `dst` (and binds to `src` if given); completes with
    /// `AddrResolved` or `AddrError` (`rdma_resolve_addr`).
    pub(crate) fn resolve_addr(
        &self,
        src: Option<&SockAddr>,
        dst: &SockAddr,
        timeout_ms: u32,
    ) -> Result {
        let mut src = src.copied();
        let mut dst = *dst;
        let src_ptr = src
            .as_mut()
            .map_or(core::ptr::null_mut(), |s| s.as_mut_ptr());
        let timeout = kernel::ffi::c_ulong::try_from(timeout_ms).map_err(|_| EINVAL)?;
        // SAFETY: The id is valid; the addresses are valid for the call (copied by C).
        to_result(unsafe {
            bindings::rdma_resolve_addr(self.as_raw(), src_ptr, dst.as_mut_ptr(), timeout)
        })
    }

    /// Starts resolving the route; completes with `RouteResolved` or `RouteError`
    /// (`rdma_resolve_route`).
    pub(crate) fn resolve_route(&self, timeout_ms: u32) -> Result {
        let timeout = kernel::ffi::c_ulong::try_from(timeout_ms).map_err(|_| EINVAL)?;
        // SAFETY: The id is valid.
        to_result(unsafe { bindings::rdma_resolve_route(self.as_raw(), timeout) })
    }

    /// Connects with `param` (`rdma_connect_locked` from the id's own handler, e.g. on
    /// `RouteResolved`, `rdma_connect` elsewhere). Completes with `Established`,
    /// `Rejected`, `Unreachable` or `ConnectError`.
    pub(crate) fn connect(&self, param: &ConnParam<'_>) -> Result {
        let mut raw = param.c_param()?;
        let ret = if self.in_own_handler() {
            // SAFETY: The id is valid and we hold its handler mutex (we run its handler).
            unsafe { bindings::rdma_connect_locked(self.as_raw(), &mut raw) }
        } else {
            // SAFETY: The id is valid; `rdma_connect` takes the handler mutex itself.
            unsafe { bindings::rdma_connect(self.as_raw(), &mut raw) }
        };
        to_result(ret)
    }

    /// Accepts the connection request this id was created for (`rdma_accept`), with the
    /// private data of `param`.
    pub(crate) fn accept(&self, param: &ConnParam<'_>) -> Result {
        let mut raw = param.c_param()?;
        if self.in_own_handler() {
            // SAFETY: The id is valid and we hold its handler mutex.
            return to_result(unsafe { bindings::rdma_accept(self.as_raw(), &mut raw) });
        }
        // SAFETY: The id is valid; the handler mutex is taken around the call, as
        // `rdma_accept` requires, and released below.
        let ret = unsafe {
            bindings::rdma_lock_handler(self.as_raw());
            let ret = bindings::rdma_accept(self.as_raw(), &mut raw);
            bindings::rdma_unlock_handler(self.as_raw());
            ret
        };
        to_result(ret)
    }

    /// Rejects the connection request this id was created for, with consumer-defined
    /// private data (`rdma_reject`, reason `IB_CM_REJ_CONSUMER_DEFINED`).
    pub(crate) fn reject(&self, private_data: &[u8]) -> Result {
        reject_raw(self.as_raw(), private_data)
    }

    /// Disconnects (`rdma_disconnect`): both sides get `Disconnected`.
    pub(crate) fn disconnect(&self) -> Result {
        // SAFETY: The id is valid.
        to_result(unsafe { bindings::rdma_disconnect(self.as_raw()) })
    }
}

/// `rdma_reject` with consumer-defined private data.
fn reject_raw(id: *mut bindings::rdma_cm_id, private_data: &[u8]) -> Result {
    let len = u8::try_from(private_data.len()).map_err(|_| EINVAL)?;
    // CAST: The reject reason is a small C enum value that fits in `u8`.
    let reason = bindings::ib_cm_rej_reason_IB_CM_REJ_CONSUMER_DEFINED as u8;
    // SAFETY: The callers pass a valid id; the data is valid for the call (copied by C).
    to_result(unsafe { bindings::rdma_reject(id, private_data.as_ptr().cast(), len, reason) })
}

/// Connection parameters for [`CmIdRef::connect`] and [`CmIdRef::accept`]
/// (`struct rdma_conn_param`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ConnParam<'a> {
    /// Private data sent to the peer (at most 56 bytes in a connect, 196 in an accept
    /// over IB/RoCE).
    pub(crate) private_data: &'a [u8],
    /// Outstanding RDMA READs the peer may issue to us.
    pub(crate) responder_resources: u8,
    /// Outstanding RDMA READs we may issue.
    pub(crate) initiator_depth: u8,
    /// Transport retries (connect only).
    pub(crate) retry_count: u8,
    /// RNR retries (7: forever).
    pub(crate) rnr_retry_count: u8,
    /// Whether hardware flow control is used.
    pub(crate) flow_control: u8,
}

impl ConnParam<'_> {
    /// The C structure; `EINVAL` if the private data is longer than 255 bytes.
    fn c_param(&self) -> Result<bindings::rdma_conn_param> {
        let mut raw = bindings::rdma_conn_param::default();
        if !self.private_data.is_empty() {
            raw.private_data = self.private_data.as_ptr().cast();
            raw.private_data_len = u8::try_from(self.private_data.len()).map_err(|_| EINVAL)?;
        }
        raw.responder_resources = self.responder_resources;
        raw.initiator_depth = self.initiator_depth;
        raw.retry_count = self.retry_count;
        raw.rnr_retry_count = self.rnr_retry_count;
        raw.flow_control = self.flow_control;
        Ok(raw)
    }
}

/// An IPv4, IPv6 or IB socket address with a port or service id (`struct
/// sockaddr_storage`).
///
/// # Invariants
///
/// The storage holds a `sockaddr_in` (`AF_INET`), a `sockaddr_in6` (`AF_INET6`) or a
/// `sockaddr_ib` (`AF_IB`), as rdma_cm expects behind a `struct sockaddr *`, or is all
/// zero (an unbound address copied from an id).
#[derive(Clone, Copy)]
pub(crate) struct SockAddr(bindings::__kernel_sockaddr_storage);

// SAFETY: Plain data; the pointer-typed union member only forces the alignment.
unsafe impl Send for SockAddr {}
// SAFETY: As above.
unsafe impl Sync for SockAddr {}

impl SockAddr {
    /// `a.b.c.d:port`.
    pub(crate) fn ipv4(addr: [u8; 4], port: u16) -> Self {
        let mut ss = bindings::__kernel_sockaddr_storage::default();
        let sin = bindings::sockaddr_in {
            // CAST: `AF_INET` is 2.
            sin_family: bindings::AF_INET as u16,
            sin_port: port.to_be(),
            sin_addr: bindings::in_addr {
                s_addr: u32::from_ne_bytes(addr),
            },
            ..Default::default()
        };
        // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in`.
        unsafe {
            core::ptr::addr_of_mut!(ss)
                .cast::<bindings::sockaddr_in>()
                .write(sin)
        };
        Self(ss)
    }

    /// `[addr]:port`.
    pub(crate) fn ipv6(addr: [u8; 16], port: u16) -> Self {
        let mut ss = bindings::__kernel_sockaddr_storage::default();
        let sin6 = bindings::sockaddr_in6 {
            // CAST: `AF_INET6` is 10.
            sin6_family: bindings::AF_INET6 as u16,
            sin6_port: port.to_be(),
            sin6_addr: bindings::in6_addr {
                in6_u: bindings::in6_addr__bindgen_ty_1 { u6_addr8: addr },
            },
            ..Default::default()
        };
        // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_in6`.
        unsafe {
            core::ptr::addr_of_mut!(ss)
                .cast::<bindings::sockaddr_in6>()
                .write(sin6)
        };
        Self(ss)
    }

    /// `[addr%scope]:port`: a link-local IPv6 address with its scope, an interface name or
    /// number, as `inet_pton_with_scope` resolves it (a name first; the scope of an address
    /// that is not link-local is ignored). `EINVAL` for a scope that is neither.
    pub(crate) fn ipv6_scoped(addr: [u8; 16], scope: &[u8], port: u16) -> Result<Self> {
        let mut sa = Self::ipv6(addr, port);
        if addr[0] != 0xfe || addr[1] & 0xc0 != 0x80 {
            return Ok(sa);
        }
        // SAFETY: `scope` is valid for reading `scope.len()` bytes; the helper copies at most
        // 15 of them.
        let ifindex = unsafe { bindings::ifindex_by_name(scope.as_ptr().cast(), scope.len()) };
        let id = match u32::try_from(ifindex) {
            Ok(id) if id > 0 => id,
            _ => parse_uint(&scope[..scope.len().min(15)]).ok_or(EINVAL)?,
        };
        // SAFETY: `ipv6` wrote a `sockaddr_in6` into the storage.
        unsafe {
            (*core::ptr::addr_of_mut!(sa.0).cast::<bindings::sockaddr_in6>()).sin6_scope_id = id
        };
        Ok(sa)
    }

    /// `gid:port`: an IB address over the IB port space, service id
    /// `RDMA_IB_IP_PS_IB | port`, mask all ones, pkey 0xffff (`rtrs_str_gid_to_sockaddr`).
    pub(crate) fn ib(gid: [u8; 16], port: u16) -> Self {
        let mut ss = bindings::__kernel_sockaddr_storage::default();
        let sib = bindings::sockaddr_ib {
            // CAST: `AF_IB` is 27.
            sib_family: bindings::AF_IB as u16,
            sib_pkey: 0xffffu16.to_be(),
            sib_addr: bindings::ib_addr {
                ib_u: bindings::ib_addr__bindgen_ty_1 { uib_addr8: gid },
            },
            sib_sid: (u64::from(bindings::RDMA_IB_IP_PS_IB) | u64::from(port)).to_be(),
            sib_sid_mask: u64::MAX.to_be(),
            ..Default::default()
        };
        // SAFETY: `sockaddr_storage` is larger than and aligned for `sockaddr_ib`.
        unsafe {
            core::ptr::addr_of_mut!(ss)
                .cast::<bindings::sockaddr_ib>()
                .write(sib)
        };
        Self(ss)
    }

    /// The `AF_IB` service address of an RTRS-style listener over the IB port space: any GID.
    pub(crate) fn ib_service(port: u16) -> Self {
        Self::ib([0; 16], port)
    }

    /// The address family (`AF_INET`, `AF_INET6`, `AF_IB`).
    pub(crate) fn family(&self) -> u16 {
        // SAFETY: Both union members are plain data; the family is the first field of every
        // socket address.
        unsafe { self.0.__bindgen_anon_1.__bindgen_anon_1.ss_family }
    }

    /// The address without its port: 4 bytes for IPv4, 16 for IPv6 and for the GID of
    /// `AF_IB`; empty for other families.
    pub(crate) fn addr_bytes(&self) -> ([u8; 16], usize) {
        let mut out = [0u8; 16];
        let p = core::ptr::addr_of!(self.0);
        // CAST: `AF_*` values fit in `u16`.
        match u32::from(self.family()) {
            bindings::AF_INET => {
                // SAFETY: The family says the storage holds a `sockaddr_in`.
                let sin = unsafe { p.cast::<bindings::sockaddr_in>().read() };
                out[..4].copy_from_slice(&sin.sin_addr.s_addr.to_ne_bytes());
                (out, 4)
            }
            bindings::AF_INET6 => {
                // SAFETY: The family says the storage holds a `sockaddr_in6`.
                let sin6 = unsafe { p.cast::<bindings::sockaddr_in6>().read() };
                // SAFETY: Every member of the address union is plain bytes.
                out.copy_from_slice(unsafe { &sin6.sin6_addr.in6_u.u6_addr8 });
                (out, 16)
            }
            bindings::AF_IB => {
                // SAFETY: The family says the storage holds a `sockaddr_ib`.
                let sib = unsafe { p.cast::<bindings::sockaddr_ib>().read() };
                // SAFETY: The GID union is plain bytes.
                out.copy_from_slice(unsafe { &sib.sib_addr.ib_u.uib_addr8 });
                (out, 16)
            }
            _ => (out, 0),
        }
    }

    /// Parses a textual IPv4 or IPv6 address (`in4_pton`, `in6_pton`); `EINVAL` otherwise.
    pub(crate) fn parse(s: &str, port: u16) -> Result<Self> {
        let len = i32::try_from(s.len()).map_err(|_| EINVAL)?;
        let mut end: *const kernel::ffi::c_char = core::ptr::null();
        let mut v4 = [0u8; 4];
        // SAFETY: `s` is valid for `len` bytes; `v4` has room for 4 bytes; delimiter -1
        // means none, so the whole string must be the address.
        if unsafe { bindings::in4_pton(s.as_ptr().cast(), len, v4.as_mut_ptr(), -1, &mut end) } == 1
        {
            return Ok(Self::ipv4(v4, port));
        }
        let mut v6 = [0u8; 16];
        // SAFETY: As above, with room for 16 bytes.
        if unsafe { bindings::in6_pton(s.as_ptr().cast(), len, v6.as_mut_ptr(), -1, &mut end) } == 1
        {
            return Ok(Self::ipv6(v6, port));
        }
        Err(EINVAL)
    }

    /// A copy of a caller's `sockaddr_storage`: `Ok(None)` for an all-zero (unspecified)
    /// address, `EINVAL` for a family other than `AF_INET`, `AF_INET6` and `AF_IB`.
    pub(crate) fn from_storage(raw: &bindings::__kernel_sockaddr_storage) -> Result<Option<Self>> {
        // SAFETY: Every bit pattern is a valid `ss_family`; the union is plain data.
        let family = u32::from(unsafe { raw.__bindgen_anon_1.__bindgen_anon_1.ss_family });
        match family {
            0 => Ok(None),
            // INVARIANT: The family says which of the three structures the storage holds.
            bindings::AF_INET | bindings::AF_INET6 | bindings::AF_IB => Ok(Some(Self(*raw))),
            _ => Err(EINVAL),
        }
    }

    /// The storage, for C APIs that take a `struct sockaddr_storage *` (`struct rtrs_addr`).
    pub(crate) fn as_storage_ptr(&mut self) -> *mut bindings::__kernel_sockaddr_storage {
        core::ptr::addr_of_mut!(self.0)
    }

    /// The address as a `struct sockaddr *`.
    fn as_mut_ptr(&mut self) -> *mut bindings::sockaddr {
        core::ptr::addr_of_mut!(self.0).cast()
    }
}

/// An unsigned number as `kstrtouint(s, 0)` reads it: `0x` hexadecimal, `0` octal, else
/// decimal.
fn parse_uint(s: &[u8]) -> Option<u32> {
    let text = core::str::from_utf8(s).ok()?;
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x").or(text.strip_prefix("0X")) {
        (hex, 16)
    } else if let Some(octal) = text.strip_prefix('0').filter(|o| !o.is_empty()) {
        (octal, 8)
    } else {
        (text, 10)
    };
    u32::from_str_radix(digits, radix).ok()
}

/// An rdma_cm id with its event handler `T`, destroyed on drop (see the module docs).
///
/// # Invariants
///
/// * `id` is a valid id whose `context` is `inner`, a leaked `KBox<Inner<T>>`, and whose
///   event handler is `handler_cb::<T>`.
/// * The id, the box and the QP in it are freed only by [`teardown`], from `drop` or from
///   the trampoline.
pub(crate) struct CmId<T: Handler> {
    id: NonNull<bindings::rdma_cm_id>,
    inner: NonNull<Inner<T>>,
}

// SAFETY: The id and the handler may be used and dropped from any thread (`T: Send + Sync`).
unsafe impl<T: Handler> Send for CmId<T> {}
// SAFETY: `&CmId` gives `&CmIdRef` (Sync) and `&T` (Sync).
unsafe impl<T: Handler> Sync for CmId<T> {}

/// An rdma_cm port space (`enum rdma_ucm_port_space`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PortSpace {
    /// `RDMA_PS_TCP`: IP addressing (IPv4 and IPv6).
    Tcp,
    /// `RDMA_PS_IB`: native IB addressing (`AF_IB`).
    Ib,
}

impl<T: Handler> CmId<T> {
    /// Creates an RC id over the TCP port space in the initial network namespace, whose
    /// events go to `handler` (`rdma_create_id`).
    pub(crate) fn new(handler: T) -> Result<Self> {
        Self::new_in(handler, PortSpace::Tcp)
    }

    /// Creates an RC id over the port space `ps` in the initial network namespace, whose
    /// events go to `handler` (`rdma_create_id`).
    pub(crate) fn new_in(handler: T, ps: PortSpace) -> Result<Self> {
        let ps = match ps {
            PortSpace::Tcp => bindings::rdma_ucm_port_space_RDMA_PS_TCP,
            PortSpace::Ib => bindings::rdma_ucm_port_space_RDMA_PS_IB,
        };
        let inner = KBox::into_raw(KBox::new(
            Inner::new(handler, core::ptr::null_mut()),
            GFP_KERNEL,
        )?);
        // SAFETY: The trampoline matches `T` and `inner` is a valid `Inner<T>` that lives
        // until the id is destroyed (see `drop`).
        let id = from_err_ptr(unsafe {
            bindings::rdma_create_id(
                Some(handler_cb::<T>),
                inner.cast(),
                ps,
                bindings::ib_qp_type_IB_QPT_RC,
            )
        });
        match id {
            // INVARIANT: Created with `inner` as context and the trampoline for `T`.
            Ok(id) => Ok(Self {
                // SAFETY: `rdma_create_id` returns a valid pointer or an `ERR_PTR`, never NULL.
                id: unsafe { NonNull::new_unchecked(id) },
                // SAFETY: `KBox::into_raw` never returns NULL.
                inner: unsafe { NonNull::new_unchecked(inner) },
            }),
            Err(e) => {
                // SAFETY: No id refers to `inner`; it came from `KBox::into_raw` above.
                drop(unsafe { KBox::from_raw(inner) });
                Err(e)
            }
        }
    }

    /// The event handler.
    pub(crate) fn handler(&self) -> &T {
        // SAFETY: By the type invariant `inner` is valid while `self` exists.
        unsafe { &self.inner.as_ref().handler }
    }
}

impl<T: Handler> core::ops::Deref for CmId<T> {
    type Target = CmIdRef;

    fn deref(&self) -> &CmIdRef {
        // SAFETY: By the type invariant the id is valid with an `Inner<T>` context while
        // `self` exists.
        unsafe { CmIdRef::from_raw(self.id.as_ptr()) }
    }
}

impl<T: Handler> Drop for CmId<T> {
    fn drop(&mut self) {
        // SAFETY: `inner` is valid until the teardown below.
        let hdr = unsafe { &self.inner.as_ref().hdr };
        if hdr.in_handler.load(Ordering::Relaxed) == current_task() {
            // Dropped inside the id's own handler: `rdma_destroy_id` would deadlock. The
            // trampoline tears down after the handler returns and lets rdma_cm destroy the id.
            hdr.destroy_on_return.store(true, Ordering::Relaxed);
            return;
        }
        // SAFETY: We own the id (type invariant), no handler of it runs on this task, and
        // nobody else can reach it (`&mut self`).
        unsafe { teardown::<T>(self.id.as_ptr(), self.inner.as_ptr(), true) };
    }
}

impl<T> Inner<T> {
    /// The context of a new id, `in_handler` set to `task`.
    fn new(handler: T, task: *mut Task) -> Self {
        Self {
            hdr: Hdr {
                in_handler: AtomicPtr::new(task),
                destroy_on_return: AtomicBool::new(false),
                qp_claimed: AtomicBool::new(false),
                qp: AtomicPtr::new(core::ptr::null_mut()),
            },
            handler,
        }
    }
}

/// Destroys the id (if `destroy_id`; otherwise rdma_cm does it when the trampoline returns
/// non-zero), then its QP, then its context.
///
/// # Safety
///
/// `id` and `inner` must be a live pair whose `CmId<T>` owner is gone, and neither may be
/// used afterwards. With `destroy_id`, the caller must not run a handler of the id
/// (`rdma_destroy_id` waits for handlers running on other tasks); without it, the caller
/// must be the id's running handler, about to return non-zero.
unsafe fn teardown<T: Handler>(
    id: *mut bindings::rdma_cm_id,
    inner: *mut Inner<T>,
    destroy_id: bool,
) {
    if destroy_id {
        // SAFETY: The id is valid and not used afterwards. This waits for a running handler;
        // no event arrives after it returns.
        unsafe { bindings::rdma_destroy_id(id) };
    }
    // Only now: a handler that ran until the id was destroyed may have created the QP.
    // SAFETY: `inner` is valid (caller).
    let qp = unsafe {
        (*inner)
            .hdr
            .qp
            .swap(core::ptr::null_mut(), Ordering::AcqRel)
    };
    if !qp.is_null() {
        // SAFETY: `qp` is the `KBox<Qp>` created on the id (`Hdr` invariant), taken out above.
        let qp = unsafe { KBox::from_raw(qp) };
        if destroy_id {
            // The id is gone and rdma_cm with it: no one else refers to the QP.
            // SAFETY: Created on this id; the id no longer exists, so `id->qp` is never used.
            unsafe { KBox::into_inner(qp).destroy_unlinked() };
        } else {
            // SAFETY: We run the id's handler, so the id is valid; the QP is unused now.
            unsafe { KBox::into_inner(qp).destroy(id) };
        }
    }
    // SAFETY: The context came from `KBox::into_raw` and nothing refers to it any more.
    drop(unsafe { KBox::from_raw(inner) });
}

/// A connection request delivered to [`Handler::connect_request`]: a new id, not owned yet.
///
/// # Invariants
///
/// `id` is the new id of a CONNECT_REQUEST whose delivery is in progress (its handler
/// mutex is held); its context is still the listener's until [`ConnRequest::adopt`].
pub(crate) struct ConnRequest<'a, T: Handler> {
    id: *mut bindings::rdma_cm_id,
    private_data: &'a [u8],
    taken: &'a Cell<bool>,
    _t: PhantomData<T>,
}

impl<T: Handler> ConnRequest<'_, T> {
    /// The private data of the request (rdma_cm pads it to 56 bytes over IB/RoCE).
    pub(crate) fn private_data(&self) -> &[u8] {
        self.private_data
    }

    /// The device the request arrived on.
    pub(crate) fn device(&self) -> Option<&Device> {
        // SAFETY: The id is valid during the delivery (type invariant); its device is set for
        // a connection request and held by rdma_cm while the id exists.
        let dev = unsafe { (*self.id).device };
        // SAFETY: See above: valid for the borrow of `self`.
        (!dev.is_null()).then(|| unsafe { Device::from_raw(dev) })
    }

    /// The port number on [`ConnRequest::device`].
    pub(crate) fn port_num(&self) -> u32 {
        // SAFETY: The id is valid during the delivery (type invariant); plain data.
        unsafe { (*self.id).port_num }
    }

    /// The local address the request arrived at.
    pub(crate) fn src_addr(&self) -> SockAddr {
        // SAFETY: The id is valid; the address is plain data, copied.
        SockAddr(unsafe { (*self.id).route.addr.src_addr })
    }

    /// The peer's address.
    pub(crate) fn dst_addr(&self) -> SockAddr {
        // SAFETY: As for `src_addr`.
        SockAddr(unsafe { (*self.id).route.addr.dst_addr })
    }

    /// Takes ownership of the new id with its own handler. Create its QP and
    /// [`CmIdRef::accept`] (or reject) before returning from the handler.
    pub(crate) fn adopt(self, handler: T) -> Result<CmId<T>> {
        let inner = KBox::new(Inner::new(handler, current_task()), GFP_KERNEL)?;
        let inner = KBox::into_raw(inner);
        // SAFETY: The id is valid and its handler mutex is held (type invariant), so no
        // event reads `context` concurrently. The id keeps the trampoline for `T`.
        unsafe { (*self.id).context = inner.cast() };
        self.taken.set(true);
        // INVARIANT: The id now has `inner` as context and the trampoline for `T`; the
        // trampoline clears `in_handler` when the request's handler returns.
        Ok(CmId {
            // SAFETY: rdma_cm never passes a NULL id.
            id: unsafe { NonNull::new_unchecked(self.id) },
            // SAFETY: `KBox::into_raw` never returns NULL.
            inner: unsafe { NonNull::new_unchecked(inner) },
        })
    }

    /// Rejects the request with consumer-defined private data; the new id is destroyed
    /// when the handler returns.
    pub(crate) fn reject(self, private_data: &[u8]) -> Result {
        reject_raw(self.id, private_data)
    }
}

/// The private data of `ev` as a slice.
///
/// # Safety
///
/// `id` and `ev` must be the valid arguments of an event handler call.
unsafe fn private_data<'a>(
    id: *mut bindings::rdma_cm_id,
    ev: *mut bindings::rdma_cm_event,
) -> &'a [u8] {
    let (ptr, len): (*const core::ffi::c_void, usize) =
        // SAFETY: `ev` is valid for the call (caller).
        if unsafe { (*ev).event } == bindings::rdma_cm_event_type_RDMA_CM_EVENT_REJECTED {
            let mut len = 0u8;
            // SAFETY: `id` and `ev` are valid; returns NULL unless the reject is the
            // consumer's, else its data and length.
            let p = unsafe { bindings::rdma_consumer_reject_data(id, ev, &mut len) };
            (p, len.into())
        } else {
            // SAFETY: `ev` is valid; for the other events `param.conn` is the active member
            // (or zeroed).
            let conn = unsafe { &(*ev).param.conn };
            (conn.private_data, conn.private_data_len.into())
        };
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: rdma_cm passes `len` readable bytes at `ptr` for the duration of the call.
    unsafe { core::slice::from_raw_parts(ptr.cast(), len) }
}

/// The rdma_cm event handler of every `CmId<T>`.
///
/// # Safety
///
/// Called by rdma_cm with a valid id whose context is an `Inner<T>` (the id's own, or the
/// listener's for a CONNECT_REQUEST) and a valid event, with the id's handler mutex held.
unsafe extern "C" fn handler_cb<T: Handler>(
    id: *mut bindings::rdma_cm_id,
    ev: *mut bindings::rdma_cm_event,
) -> kernel::ffi::c_int {
    // SAFETY: Valid arguments (caller).
    let data = unsafe { private_data(id, ev) };
    // SAFETY: `ev` is valid (caller).
    let (kind, status) = unsafe { ((*ev).event, (*ev).status) };
    // SAFETY: The context is an `Inner<T>` (caller).
    let ctx = unsafe { (*id).context.cast::<Inner<T>>() };
    if kind == bindings::rdma_cm_event_type_RDMA_CM_EVENT_CONNECT_REQUEST {
        let taken = Cell::new(false);
        // INVARIANT: The new id's handler mutex is held during this call.
        let req = ConnRequest {
            id,
            private_data: data,
            taken: &taken,
            _t: PhantomData,
        };
        // SAFETY: `ctx` is the listener's context, alive while the listener exists, which
        // rdma_cm guarantees during the callback.
        unsafe { (*ctx).handler.connect_request(req) };
        if !taken.get() {
            // Refused or rejected: rdma_cm destroys the new id.
            return 1;
        }
        // SAFETY: `adopt` replaced the context with the new id's own `Inner<T>`.
        let own = unsafe { (*id).context.cast::<Inner<T>>() };
        // SAFETY: As above.
        return unsafe { after_handler(id, own) };
    }
    // SAFETY: `ctx` is the id's own context (only CONNECT_REQUEST uses the listener's).
    let hdr = unsafe { &(*ctx).hdr };
    hdr.in_handler.store(current_task(), Ordering::Relaxed);
    let event = Event {
        kind: EventKind::from_raw(kind),
        status,
        private_data: data,
    };
    // SAFETY: `id` is valid for the call, with its owner's context.
    let idref = unsafe { CmIdRef::from_raw(id) };
    // SAFETY: The handler lives as long as the context.
    unsafe { (*ctx).handler.event(idref, &event) };
    // SAFETY: `ctx` is still the id's context: only `teardown` frees it, which cannot
    // have run (a drop in the handler only set `destroy_on_return`).
    unsafe { after_handler(id, ctx) }
}

/// Ends a handler call on `id`: clears `in_handler` and, if the owner was dropped in the
/// handler, tears down and tells rdma_cm to destroy the id.
///
/// # Safety
///
/// `id` must be valid with its own context `inner`, its handler mutex held by the caller.
unsafe fn after_handler<T: Handler>(
    id: *mut bindings::rdma_cm_id,
    inner: *mut Inner<T>,
) -> kernel::ffi::c_int {
    // SAFETY: `inner` is valid (caller).
    let hdr = unsafe { &(*inner).hdr };
    hdr.in_handler
        .store(core::ptr::null_mut(), Ordering::Relaxed);
    if hdr.destroy_on_return.load(Ordering::Relaxed) {
        // SAFETY: The owner is gone (dropped in the handler), we run the id's handler, and
        // rdma_cm destroys the id when we return non-zero.
        unsafe { teardown::<T>(id, inner, false) };
        return 1;
    }
    0
}
