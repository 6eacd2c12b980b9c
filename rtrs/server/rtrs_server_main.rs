// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Transport Server (`rtrs_server`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12. For now the module only
//! registers itself: the RTRS server transport is not implemented yet, so it offers
//! nothing a caller could mistake for a working transport.

use kernel::prelude::*;

module! {
    type: RtrsServer,
    name: "rtrs_server",
    author: "rnbd-rs developers",
    description: "RDMA Transport Server",
    license: "GPL",
}

/// The loaded `rtrs_server` module.
struct RtrsServer;

impl kernel::Module for RtrsServer {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded; the RTRS server transport not implemented yet\n");
        Ok(Self)
    }
}

impl Drop for RtrsServer {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
