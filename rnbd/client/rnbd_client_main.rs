// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Network Block Device Client (`rnbd_client`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12: `map_device` in
//! `/sys/class/rnbd-client/ctl/` maps a device of an RNBD server as `/dev/rnbd<N>`, over an
//! RTRS client session (the C `rtrs_client` or ours, through the `rtrs.h` API). Sessions
//! are shared by the devices mapped with the same `sessname`.

use kernel::prelude::*;
use kernel::sync::Arc;

#[allow(dead_code)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;

#[allow(dead_code, unused_imports)]
#[path = "../../rust/block/mod.rs"]
mod block;

#[allow(dead_code)]
#[path = "../../rust/cpu.rs"]
mod cpu;

#[allow(dead_code)]
#[path = "../../rust/error.rs"]
mod error;

#[allow(dead_code)]
#[path = "../../rust/rdma/mod.rs"]
mod rdma;

#[allow(dead_code)]
#[path = "../../rust/rtrs"]
mod rtrs {
    //! The users' side of the `rtrs.h` C API (`rust/README.md`).
    pub(crate) mod clt;
}

#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../rust/sync/mod.rs"]
mod sync;

#[allow(dead_code)]
#[path = "../../rust/sysfs/mod.rs"]
mod sysfs;

#[allow(dead_code)]
#[path = "../../rtrs/common/addr.rs"]
mod addr;

#[path = "../../rtrs/common/addr_sock.rs"]
mod addr_sock;

#[allow(dead_code)]
#[path = "../common/proto.rs"]
mod proto;
#[path = "../../rtrs/common/wire.rs"]
mod wire;

mod ctl;
mod dev;
mod map_opts;
mod naming;
mod rq_flags;
mod sess;

pub(crate) use ctl::Client;

module! {
    type: RnbdClient,
    name: "rnbd_client",
    author: "rnbd-rs developers",
    description: "RDMA Network Block Device Client",
    license: "GPL",
}

/// The client: sessions, devices, the block major; reached from sysfs stores.
pub(crate) static CLIENT: sync::GlobalArc<Client> = sync::GlobalArc::new();

/// The module's workqueue (remaps after a reconnect); destroyed, after running what is
/// queued, at unload.
pub(crate) static WQ: sync::GlobalArc<sync::OwnedQueue> = sync::GlobalArc::new();

/// The loaded `rnbd_client` module: the `rnbd-client` class and its `ctl` device.
struct RnbdClient {
    /// `/sys/class/rnbd-client/ctl` (dropped before the class).
    ctl: Option<sysfs::Device<ctl::Ctl>>,
    /// `/sys/class/rnbd-client`.
    _class: Arc<sysfs::Class>,
}

impl kernel::Module for RnbdClient {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let wq = sync::OwnedQueue::new(kernel::c_str!("rnbd_clt_wq"), sync::WqFlags::default(), 0)?;
        WQ.set(Arc::new(wq, GFP_KERNEL)?)?;
        let res = Self::setup(module);
        if res.is_err() {
            drop(CLIENT.take());
            drop(WQ.take());
        }
        res
    }
}

impl RnbdClient {
    /// The client, the class, `ctl` and `ctl/devices/`.
    fn setup(module: &'static ThisModule) -> Result<Self> {
        let client = Client::new(module)?;
        CLIENT.set(client.clone())?;
        let class = sysfs::Class::new(kernel::c_str!("rnbd-client"))?;
        let ctl = sysfs::Device::new(&class, kernel::fmt!("ctl"), Arc::new(ctl::Ctl, GFP_KERNEL)?)?;
        let devices = sysfs::Kobject::new_dir(ctl.kobject(), kernel::fmt!("devices"))?;
        *client.devices.lock() = Some(devices);
        pr_info!("loaded\n");
        Ok(Self {
            ctl: Some(ctl),
            _class: class,
        })
    }
}

impl Drop for RnbdClient {
    fn drop(&mut self) {
        if let Some(client) = CLIENT.take() {
            client.destroy();
        }
        drop(self.ctl.take());
        drop(WQ.take());
        pr_info!("unloaded\n");
    }
}
