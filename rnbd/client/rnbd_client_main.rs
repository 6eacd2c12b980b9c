// SPDX-License-Identifier: GPL-2.0-or-later

//! RDMA Network Block Device Client (`rnbd_client`), in Rust.
//!
//! Drop-in for the C module of the same name in Linux 6.12. For now the module only
//! registers itself: the RNBD client block device is not implemented yet, so it offers
//! nothing a caller could mistake for a working block device.

use kernel::prelude::*;

module! {
    type: RnbdClient,
    name: "rnbd_client",
    author: "rnbd-rs developers",
    description: "RDMA Network Block Device Client",
    license: "GPL",
}

/// The loaded `rnbd_client` module.
struct RnbdClient;

impl kernel::Module for RnbdClient {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded; the RNBD client block device not implemented yet\n");
        Ok(Self)
    }
}

impl Drop for RnbdClient {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
