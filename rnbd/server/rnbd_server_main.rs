// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Network Block Device Server (`rnbd_server`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12: the same module parameters
//! (`port_nr`, `dev_search_path`), the class `rnbd-server` with `ctl/devices/`, and the
//! server side of the RNBD protocol (wire protocol §14) over any RTRS server that exports the
//! `rtrs.h` API. Sessions follow RTRS sessions ([`session`]); devices are opened by path
//! under `dev_search_path` ([`dev_path`]) and shared by the sessions that open them
//! ([`dev`]); each session's use of a device is a [`sess_dev`].
//!
//! Differences from 6.12, on purpose: writes, discards, write-zeroes and secure erases on a
//! device the session opened read-only are refused with `EPERM` (what the block layer answers
//! a write to a read-only disk), where C submits them; and a `device_path` naming a regular
//! file is served from that file (opened for direct IO, or through the page cache where the
//! file system has no direct IO; flushes and FUA writes synced; `ctl/devices/<path with !
//! for />` without `block_dev`), where C fails with `ENOTBLK`.

use kernel::prelude::*;
use kernel::sync::{Arc, ArcBorrow};

#[allow(dead_code)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code, unused_imports)]
#[path = "../../rust/block/mod.rs"]
mod block;
#[allow(unused_imports, unused_macros)]
#[path = "../../rust/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../rust/file.rs"]
mod file;
#[allow(unused_imports, unused_macros)]
#[path = "../../rust/params.rs"]
mod params;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../rust/ratelimit.rs"]
mod ratelimit;
#[allow(dead_code)]
#[path = "../../rust/rtrs"]
mod rtrs {
    //! The users' side of the `rtrs.h` C API (`rust/README.md`).
    pub(crate) mod srv;
}
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../rust/sync/mod.rs"]
mod sync;
#[allow(dead_code)]
#[path = "../../rust/sysfs/mod.rs"]
mod sysfs;
#[allow(dead_code)]
#[path = "../../rust/trace/mod.rs"]
mod trace;

#[allow(dead_code)]
#[path = "../common/proto.rs"]
mod proto;
#[path = "../../rtrs/common/wire.rs"]
mod wire;

mod dev;
mod dev_path;
mod sess_dev;
mod session;

use dev::Server;
use rtrs::srv::{SrvCtx, SrvOp, SrvOps, SrvSess};
use session::Session;
use sync::GlobalArc;
use sysfs::{Class, Device, Kobject};

module! {
    type: RnbdServer,
    name: "rnbd_server",
    author: "rnbd-rs developers",
    description: "RDMA Network Block Device Server",
    license: "GPL",
}

params::module_params! {
    /// `port_nr` (ushort, 0444): the port RTRS listens on.
    fn port_nr() -> u16 = rnbd_srv_param_port_nr;
}

params::module_param_string! {
    /// `dev_search_path` (string, 0444): the prefix of the paths clients open.
    fn dev_search_path() -> &'static CStr = rnbd_srv_param_dev_search_path[dev_path::PATH_MAX];
}

/// The device registry, for the RTRS callbacks (which get no context of their own).
static SERVER: GlobalArc<Server> = GlobalArc::new();

/// The RTRS server user: one [`Session`] per RTRS session.
struct Rnbd;

impl SrvOps for Rnbd {
    type Session = Session;

    fn connected(sess: &SrvSess) -> Result<Arc<Session>> {
        Session::new(SERVER.get().ok_or(ENODEV)?, sess)
    }

    fn disconnected(sess: Arc<Session>) {
        sess.destroy();
    }

    fn rdma_ev(sess: ArcBorrow<'_, Session>, op: SrvOp) {
        Arc::from(sess).process(op);
    }
}

/// The loaded `rnbd_server` module. Fields are dropped in order: RTRS first (every session
/// ends, closing its devices), then the registry and the sysfs tree.
struct RnbdServer {
    /// The RTRS server; `None` only while the module goes.
    rtrs: Option<SrvCtx<Rnbd>>,
    /// `ctl/devices/` and the devices.
    _server: Arc<Server>,
    /// `/sys/class/rnbd-server/ctl`.
    _ctl: Device<()>,
    /// `/sys/class/rnbd-server`.
    _class: Arc<Class>,
}

impl kernel::Module for RnbdServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let class = Class::new(kernel::c_str!("rnbd-server"))?;
        let ctl = Device::new(&class, kernel::fmt!("ctl"), Arc::new((), GFP_KERNEL)?)?;
        let devices = Kobject::new_dir(ctl.kobject(), kernel::fmt!("devices"))?;
        let server = Server::new(devices)?;
        SERVER.set(server.clone())?;
        let rtrs = SrvCtx::open(port_nr()).inspect_err(|e| {
            pr_err!("rtrs_srv_open(), err: {:?}\n", e);
            SERVER.take();
        })?;
        pr_info!(
            "loaded (port {}, dev_search_path {})\n",
            port_nr(),
            dev_search_path()
        );
        Ok(Self {
            rtrs: Some(rtrs),
            _server: server,
            _ctl: ctl,
            _class: class,
        })
    }
}

impl Drop for RnbdServer {
    fn drop(&mut self) {
        // Every session ends before `rtrs_srv_close` returns.
        drop(self.rtrs.take());
        drop(SERVER.take());
        pr_info!("unloaded\n");
    }
}
