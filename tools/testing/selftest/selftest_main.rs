// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of the project's abstractions in `rust/`, driven by the VM suite.
//!
//! Each area has its own test file; the VM cases `tools/testing/cases/05-selftest-*.sh` load
//! this module and trigger the tests through its sysfs control device
//! `/sys/class/rnbd-rs-selftest/ctl`: writing `ARG` to `ctl/<area>` runs `<area>_test::run`
//! with `ARG` (whitespace-trimmed), and the write fails with the test's errno.

use kernel::prelude::*;
use kernel::sync::Arc;

#[allow(dead_code)]
#[path = "../../../rust/bindings/mod.rs"]
mod bindings;
#[allow(dead_code)]
#[path = "../../../rust/block/mod.rs"]
mod block;
#[allow(unused_imports, unused_macros)]
#[path = "../../../rust/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../../rust/rdma/mod.rs"]
mod rdma;
#[allow(dead_code, unused_imports, unused_macros)]
#[path = "../../../rust/sync/mod.rs"]
mod sync;
#[allow(dead_code)]
#[path = "../../../rust/sysfs/mod.rs"]
mod sysfs;

mod block_test;
mod rdma_test;
mod sync_test;
mod sysfs_test;

use sysfs::{Attribute, AttributeOperations, Attributes, Class, Device, KobjectRef};

module! {
    type: Selftest,
    name: "rnbd_rs_selftest",
    author: "rnbd-rs developers",
    description: "Self-test of the rnbd-rs abstractions",
    license: "GPL",
}

/// The loaded self-test module.
struct Selftest {
    // Field order is drop order: the control device goes first, so that no test runs while
    // the state of the tests is torn down; then the class, then the test disk.
    /// `/sys/class/rnbd-rs-selftest/ctl`.
    _ctl: Device<Ctl>,
    /// The state of the tests, also held by the control device until it is released.
    _state: Arc<Ctl>,
    /// `/sys/class/rnbd-rs-selftest`.
    _class: Arc<Class>,
    /// The memory-backed blk-mq disk of the block test, removed on unload.
    _disk: block_test::MemDisk,
}

impl kernel::Module for Selftest {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let disk = block_test::MemDisk::new(module)?;
        let class = Class::new(kernel::c_str!("rnbd-rs-selftest"))?;
        let state = Arc::pin_init(
            pin_init!(Ctl {
                sysfs <- sysfs_test::State::new(),
            }),
            GFP_KERNEL,
        )?;
        let ctl = Device::new(&class, kernel::fmt!("ctl"), state.clone())?;
        Ok(Self {
            _ctl: ctl,
            _state: state,
            _class: class,
            _disk: disk,
        })
    }
}

/// The payload of `ctl`: what the tests keep between writes.
#[pin_data]
struct Ctl {
    /// State of the `sysfs` test (the temporary class it creates).
    #[pin]
    sysfs: sysfs_test::State,
}

/// The argument of a test: the written text, trimmed.
fn arg(input: &[u8]) -> Result<&str> {
    core::str::from_utf8(sysfs::trim(input)).map_err(|_| EINVAL)
}

/// `ctl/rdma`: runs `rdma_test::run`.
const RDMA: u64 = 0;
/// `ctl/block`: runs `block_test::run`.
const BLOCK: u64 = 1;
/// `ctl/sysfs`: runs `sysfs_test::run`.
const SYSFS: u64 = 2;
/// `ctl/sync`: runs `sync_test::run`.
const SYNC: u64 = 3;

#[vtable]
impl AttributeOperations<RDMA> for Ctl {
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        rdma_test::run(arg(input)?)
    }
}

#[vtable]
impl AttributeOperations<BLOCK> for Ctl {
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        let path = kernel::str::CString::try_from_fmt(kernel::fmt!("{}", arg(input)?))?;
        block_test::run(&path)
    }
}

#[vtable]
impl AttributeOperations<SYSFS> for Ctl {
    fn store(&self, obj: &KobjectRef, input: &[u8]) -> Result {
        sysfs_test::run(&self.sysfs, obj, arg(input)?)
    }
}

#[vtable]
impl AttributeOperations<SYNC> for Ctl {
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        sync_test::run(arg(input)?)
    }
}

impl Attributes for Ctl {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<RDMA>(kernel::c_str!("rdma"), 0o200),
        Attribute::new::<BLOCK>(kernel::c_str!("block"), 0o200),
        Attribute::new::<SYSFS>(kernel::c_str!("sysfs"), 0o200),
        Attribute::new::<SYNC>(kernel::c_str!("sync"), 0o200),
    ];
}
