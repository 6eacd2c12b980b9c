// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Network Block Device Server (`rnbd_server`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12. For now the module only
//! registers itself: the RNBD server is not implemented yet, so it offers
//! nothing a caller could mistake for a working block device server.

use kernel::prelude::*;

module! {
    type: RnbdServer,
    name: "rnbd_server",
    author: "rnbd-rs developers",
    description: "RDMA Network Block Device Server",
    license: "GPL",
}

/// The loaded `rnbd_server` module.
struct RnbdServer;

impl kernel::Module for RnbdServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded; the RNBD server not implemented yet\n");
        Ok(Self)
    }
}

impl Drop for RnbdServer {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
