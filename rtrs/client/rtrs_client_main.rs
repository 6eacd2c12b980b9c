// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Transport Client (`rtrs_client`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12: exports the `rtrs.h` client
//! API (`ffi_api.rs`, exported by `glue.c`) and registers the class `rtrs-client`.
//!
//! Files: `clt.rs` the session and its permits, `path.rs` a path (connections, INFO
//! exchange, receives, IO submission), `con.rs` one connection, `req.rs` request slots,
//! `clt_sysfs.rs` the session directory; the pure protocol logic is in `../common` and in
//! `mp_policy.rs`, `permit.rs`, `recon.rs`, `state.rs`.

// `pin_init!` of a path, with its many fields, nests macros deeply.
#![recursion_limit = "256"]

use kernel::prelude::*;
use kernel::sync::Arc;

#[allow(dead_code)]
#[path = "../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code)]
#[path = "../../rust/cpu.rs"]
mod cpu;
#[allow(unused_imports, unused_macros)]
#[path = "../../rust/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../rust/rdma/mod.rs"]
mod rdma;
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
#[path = "../common/addr.rs"]
mod addr;
#[path = "../common/addr_sock.rs"]
mod addr_sock;

#[allow(dead_code)]
#[path = "../common/addr_fmt.rs"]
mod addr_fmt;
#[allow(dead_code)]
#[path = "../common/hb.rs"]
mod hb;
#[allow(dead_code)]
#[path = "../common/imm.rs"]
mod imm;
#[allow(dead_code)]
mod mp_policy;
#[allow(dead_code)]
#[path = "../common/msg.rs"]
mod msg;
#[allow(dead_code)]
mod permit;
mod recon;
#[allow(dead_code)]
mod state;
#[path = "../common/wire.rs"]
mod wire;

mod clt;
mod clt_sysfs;
mod con;
mod ffi_api;
mod path;
mod req;
mod stats;

use error::errno;

module! {
    type: RtrsClient,
    name: "rtrs_client",
    author: "rnbd-rs developers",
    description: "RDMA Transport Client",
    license: "GPL",
}

/// The loaded `rtrs_client` module: owns the class, published in [`clt_sysfs::CLASS`].
struct RtrsClient;

impl kernel::Module for RtrsClient {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let wq = sync::OwnedQueue::new(
            kernel::c_str!("rtrs_client_wq"),
            sync::WqFlags::default(),
            0,
        )?;
        if clt_sysfs::WQ.set(Arc::new(wq, GFP_KERNEL)?).is_err() {
            return Err(EBUSY);
        }
        let class = match sysfs::Class::new(kernel::c_str!("rtrs-client")) {
            Ok(c) => c,
            Err(e) => {
                drop(clt_sysfs::WQ.take());
                return Err(e);
            }
        };
        if clt_sysfs::CLASS.set(class).is_err() {
            drop(clt_sysfs::WQ.take());
            return Err(EBUSY);
        }
        pr_info!("loaded\n");
        Ok(Self)
    }
}

impl Drop for RtrsClient {
    fn drop(&mut self) {
        drop(clt_sysfs::CLASS.take());
        drop(clt_sysfs::WQ.take());
        pr_info!("unloaded\n");
    }
}
