// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of the project's abstractions in `rust/`, driven by the VM suite.
//!
//! Each area has its own test file; the VM cases `tools/testing/cases/05-selftest-*.sh` load
//! this module and trigger the tests through its sysfs control directory.

use kernel::prelude::*;

#[allow(dead_code)]
#[path = "../../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code)]
#[path = "../../../rust/block/mod.rs"]
mod block;
#[allow(dead_code)]
#[path = "../../../rust/rdma/mod.rs"]
mod rdma;
#[allow(dead_code)]
#[path = "../../../rust/sync/mod.rs"]
mod sync;
#[allow(dead_code)]
#[path = "../../../rust/sysfs/mod.rs"]
mod sysfs;

mod block_test;
mod rdma_test;
mod sysfs_test;

module! {
    type: Selftest,
    name: "rnbd_rs_selftest",
    author: "rnbd-rs developers",
    description: "Self-test of the rnbd-rs abstractions",
    license: "GPL",
}

/// The loaded self-test module.
struct Selftest {
    /// The memory-backed blk-mq disk of the block test, removed on unload.
    _disk: block_test::MemDisk,
}

impl kernel::Module for Selftest {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let disk = block_test::MemDisk::new(module)?;
        Ok(Self { _disk: disk })
    }
}
