// SPDX-License-Identifier: GPL-2.0-or-later

//! The server context of `rtrs_srv_open`: the user's callbacks, the port, and the
//! listening rdma_cm ids (wire protocol §4.1), which exist while at least one RDMA device
//! does.
//!
//! C version: `rtrs_srv_open`, `rtrs_srv_add_one`, `rtrs_srv_remove_one`,
//! `rtrs_srv_rdma_init` in `drivers/infiniband/ulp/rtrs/rtrs-srv.c`.

use crate::ffi_api::Ops;
use crate::rdma::cm::{CmId, CmIdRef, ConnRequest, Event, EventKind, Handler, PortSpace, SockAddr};
use crate::rdma::cq::Cqe;
use crate::rdma::device::{Client, ClientSlot, Device, Registration};
use crate::sess::{Con, Sess};
use crate::sync::GlobalArc;
use kernel::prelude::*;
use kernel::sync::{Arc, Mutex};

/// Backlog of the listeners.
const BACKLOG: i32 = 64;

/// The open server context (one at a time, as in C, whose `ib_client` is a global).
static CTX: GlobalArc<Ctx> = GlobalArc::new();

/// The listening ids, present while RDMA devices are.
struct Listen {
    /// Registered devices.
    devs: u32,
    /// The listeners: see [`Listeners`].
    ids: Option<Listeners>,
}

/// The wildcard listeners. C listens on `[::]` alone (with IPv4 as `::ffff:a.b.c.d`);
/// for iWARP rdma_cm cannot map such an address to a netdev (`rdma_translate_ip`), so
/// an IPv4 client never got in over siw. Here IPv6 is IPv6 only, and IPv4 has its own.
struct Listeners {
    /// `[::]:port` over `RDMA_PS_TCP`, IPv6 only.
    _ipv6: CmId<CmHandler>,
    /// `0.0.0.0:port` over `RDMA_PS_TCP`.
    _ipv4: CmId<CmHandler>,
    /// The service id of the port over `RDMA_PS_IB` (`AF_IB`).
    _ib: CmId<CmHandler>,
}

/// The server context.
#[pin_data]
pub(crate) struct Ctx {
    /// The user's callbacks.
    pub(crate) ops: Ops,
    /// The port listened on.
    port: u16,
    /// The listeners.
    #[pin]
    listen: Mutex<Listen>,
    /// The sessions (lock order: before a session's own lock).
    #[pin]
    pub(crate) sessions: Mutex<KVec<Arc<Sess>>>,
}

impl Ctx {
    /// Drops `sess` from the list if it has no path left: its chunks go with the last
    /// reference.
    pub(crate) fn forget_sess_if_empty(&self, sess: &Arc<Sess>) {
        let mut sessions = self.sessions.lock();
        if !sess.inner.lock().paths.is_empty() {
            return;
        }
        crate::sess::remove_arc(&mut sessions, sess);
    }

    /// Closes every path of every session (`rtrs_srv_close`).
    fn close_all(&self) {
        let sessions = self.sessions.lock();
        for s in sessions.iter() {
            for p in s.inner.lock().paths.iter() {
                p.schedule_close();
            }
        }
    }
}

/// What the rdma_cm ids of this module are for.
pub(crate) enum CmHandler {
    /// One of the listeners of the context.
    Listener,
    /// A connection of a path.
    Con(Arc<Cqe<Con>>),
}

impl Handler for CmHandler {
    fn event(&self, _id: &CmIdRef, event: &Event<'_>) {
        match self {
            Self::Listener => pr_debug!("listener event {:?}\n", event.kind),
            Self::Con(con) => match event.kind {
                EventKind::Established => {}
                EventKind::Disconnected
                | EventKind::ConnectError
                | EventKind::Unreachable
                | EventKind::Rejected
                | EventKind::AddrChange
                | EventKind::TimewaitExit
                | EventKind::DeviceRemoval => con.path.schedule_close(),
                k => {
                    pr_err!("cid {}: unexpected event {:?}\n", con.cid, k);
                    con.path.schedule_close();
                }
            },
        }
    }

    fn connect_request(&self, req: ConnRequest<'_, Self>) {
        if let Some(ctx) = CTX.get() {
            crate::sess::connect_request(&ctx, req);
        }
    }
}

/// Creates one listener; `afonly` for an `AF_INET6` one that takes no IPv4.
fn listener(addr: &SockAddr, ps: PortSpace, afonly: bool) -> Result<CmId<CmHandler>> {
    let id = CmId::new_in(CmHandler::Listener, ps)?;
    if afonly {
        id.set_afonly(true)?;
    }
    id.bind_addr(addr)?;
    id.listen(BACKLOG)?;
    Ok(id)
}

/// The `ib_client` "rtrs_server": listens from the first device on, stops with the last.
pub(crate) struct SrvClient;

/// The registration slot of [`SrvClient`].
static SLOT: ClientSlot = ClientSlot::new();

impl Client for SrvClient {
    type Data = ();

    fn slot() -> &'static ClientSlot {
        &SLOT
    }

    fn add(_dev: &Device) -> Result<()> {
        let ctx = CTX.get().ok_or(ENODEV)?;
        let mut l = ctx.listen.lock();
        if l.devs == 0 {
            // The ids are not bound to a device: created once, for all of them.
            let ipv6 = listener(&SockAddr::ipv6([0; 16], ctx.port), PortSpace::Tcp, true);
            let ipv4 = listener(&SockAddr::ipv4([0; 4], ctx.port), PortSpace::Tcp, false);
            let ib = listener(&SockAddr::ib_service(ctx.port), PortSpace::Ib, false);
            match (ipv6, ipv4, ib) {
                (Ok(_ipv6), Ok(_ipv4), Ok(_ib)) => l.ids = Some(Listeners { _ipv6, _ipv4, _ib }),
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
                    pr_err!("Failed to initialize RDMA connection\n");
                    return Err(e);
                }
            }
        }
        l.devs += 1;
        Ok(())
    }

    fn remove(_dev: &Device, _data: ()) {
        let Some(ctx) = CTX.get() else {
            return;
        };
        let ids = {
            let mut l = ctx.listen.lock();
            l.devs = l.devs.saturating_sub(1);
            if l.devs != 0 {
                return;
            }
            l.ids.take()
        };
        // Destroyed outside the lock: destroying a listener waits for its handlers.
        drop(ids);
    }
}

/// An open server: what `rtrs_srv_open` returns and `rtrs_srv_close` drops.
pub(crate) struct Server {
    /// The `ib_client` registration; `None` only in `drop`.
    reg: Option<Registration<SrvClient>>,
    /// The context.
    ctx: Arc<Ctx>,
}

impl Server {
    /// Opens a server listening on `port` with the user's `ops`.
    pub(crate) fn open(ops: Ops, port: u16) -> Result<Self> {
        let ctx = Arc::pin_init(
            pin_init!(Ctx {
                ops,
                port,
                listen <- kernel::new_mutex!(Listen { devs: 0, ids: None }),
                sessions <- kernel::new_mutex!(KVec::new()),
            }),
            GFP_KERNEL,
        )?;
        CTX.set(ctx.clone())?;
        let reg = match Registration::new(kernel::c_str!("rtrs_server")) {
            Ok(reg) => reg,
            Err(e) => {
                drop(CTX.take());
                return Err(e);
            }
        };
        Ok(Self {
            reg: Some(reg),
            ctx,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Unregistering removes the listeners (the device callbacks find the context in the
        // slot); then the slot is emptied.
        drop(self.reg.take());
        drop(CTX.take());
        self.ctx.close_all();
        if let Ok(g) = crate::globals() {
            g.wq.flush();
        }
    }
}
