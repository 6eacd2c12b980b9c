// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Transport Client (`rtrs_client`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12. For now the module only
//! registers itself: the RTRS client transport is not implemented yet, so it offers
//! nothing a caller could mistake for a working transport.

use kernel::prelude::*;

module! {
    type: RtrsClient,
    name: "rtrs_client",
    author: "rnbd-rs developers",
    description: "RDMA Transport Client",
    license: "GPL",
}

/// The loaded `rtrs_client` module.
struct RtrsClient;

impl kernel::Module for RtrsClient {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded; the RTRS client transport not implemented yet\n");
        Ok(Self)
    }
}

impl Drop for RtrsClient {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
