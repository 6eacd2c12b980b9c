// SPDX-License-Identifier: GPL-2.0-or-later

//! Self-test of `rust/sysfs`, driven through `ctl/sysfs`.
//!
//! `create` builds the class `rnbd-rs-selftest-tmp` with one device and everything the RTRS
//! and RNBD modules need from the abstraction:
//!
//! ```text
//! /sys/class/rnbd-rs-selftest-tmp/dev0/
//!     value          0644  u32, "%u\n"; a store sends a `change` uevent
//!     info           0444  fixed text
//!     delete         0200  self-removing: removes dev0 and everything under it
//!     overflow       0400  writes more than a page: reading fails with EFBIG
//!     peer           ->    /sys/class/rnbd-rs-selftest/ctl
//!     paths/p0/      kobject directories
//!         name       0444  "p0\n"
//!         delete     0200  self-removing: removes p0
//! ```
//!
//! `remove` removes the class with whatever is left; unloading the module does too.

use crate::sysfs::{
    trim, Action, Attribute, AttributeOperations, Attributes, Class, Device, Kobject, KobjectRef,
    Link, Page,
};
use core::{
    fmt::Write,
    sync::atomic::{AtomicU32, Ordering},
};
use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};

/// What the test keeps between writes to `ctl/sysfs`.
#[pin_data]
pub(crate) struct State {
    /// The temporary class, while it exists.
    #[pin]
    tmp: Mutex<Option<Tmp>>,
}

impl State {
    /// No temporary class yet.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            tmp <- new_mutex!(None),
        })
    }
}

/// Runs the command `arg` (`create` or `remove`); `ctl` is the control device, the target of
/// the `peer` link.
pub(crate) fn run(state: &State, ctl: &KobjectRef, arg: &str) -> Result {
    match arg {
        "create" => {
            let mut tmp = state.tmp.lock();
            if tmp.is_some() {
                return Err(EEXIST);
            }
            *tmp = Some(Tmp::create(ctl)?);
            Ok(())
        }
        "remove" => {
            // Taken out under the lock, removed after it is released.
            let tmp = state.tmp.lock().take();
            drop(tmp.ok_or(ENOENT)?);
            Ok(())
        }
        _ => Err(EINVAL),
    }
}

/// The temporary class and its content; dropping it removes what is left of them.
struct Tmp {
    /// The handles, shared with the self-removing attributes.
    shared: Arc<Shared>,
}

/// The handles of the temporary objects.
#[pin_data]
struct Shared {
    /// Taken out (under the lock) by whoever removes them.
    #[pin]
    objs: Mutex<Objects>,
}

/// The temporary objects. Field order is drop order: the link and the children before their
/// parents, the class last.
#[derive(Default)]
struct Objects {
    /// `dev0/peer`.
    peer: Option<Link>,
    /// `dev0/paths/p0/`.
    p0: Option<Kobject<PathData>>,
    /// `dev0/paths/`.
    paths: Option<Kobject<()>>,
    /// `dev0`.
    dev0: Option<Device<DevData>>,
    /// `rnbd-rs-selftest-tmp`.
    _class: Option<Arc<Class>>,
}

impl Tmp {
    /// Creates the class and its content.
    fn create(ctl: &KobjectRef) -> Result<Self> {
        let shared = Arc::pin_init(
            pin_init!(Shared {
                objs <- new_mutex!(Objects::default()),
            }),
            GFP_KERNEL,
        )?;
        // On an error below, the locals are dropped in reverse order: children first.
        let class = Class::new(kernel::c_str!("rnbd-rs-selftest-tmp"))?;
        let dev_data = DevData {
            shared: shared.clone(),
            value: AtomicU32::new(0),
        };
        // Announced once `paths/p0` and `peer` exist.
        let mut dev0 = Device::new_uevent_suppressed(
            &class,
            kernel::fmt!("dev0"),
            Arc::new(dev_data, GFP_KERNEL)?,
        )?;
        let paths = Kobject::new_dir(dev0.kobject(), kernel::fmt!("paths"))?;
        let path_data = PathData {
            shared: shared.clone(),
        };
        let p0 = Kobject::new(
            paths.kobject(),
            kernel::fmt!("p0"),
            Arc::new(path_data, GFP_KERNEL)?,
        )?;
        let peer = Link::new(dev0.kobject(), ctl, kernel::c_str!("peer"))?;
        dev0.announce()?;
        *shared.objs.lock() = Objects {
            peer: Some(peer),
            p0: Some(p0),
            paths: Some(paths),
            dev0: Some(dev0),
            _class: Some(class),
        };
        Ok(Self { shared })
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        // Taken out under the lock, removed after it is released: removal waits for
        // callbacks, which take the lock.
        let objs = core::mem::take(&mut *self.shared.objs.lock());
        drop(objs);
    }
}

/// The payload of `dev0`.
struct DevData {
    /// The handles, for `delete`.
    shared: Arc<Shared>,
    /// The content of `value`.
    value: AtomicU32,
}

/// `dev0/value`.
const VALUE: u64 = 0;
/// `dev0/info`.
const INFO: u64 = 1;
/// `dev0/delete`.
const DEV_DELETE: u64 = 2;
/// `dev0/overflow`.
const OVERFLOW: u64 = 3;

#[vtable]
impl AttributeOperations<VALUE> for DevData {
    fn show(&self, page: &mut Page<'_>) -> Result {
        writeln!(page, "{}", self.value.load(Ordering::Relaxed))?;
        Ok(())
    }

    fn store(&self, obj: &KobjectRef, input: &[u8]) -> Result {
        let text = core::str::from_utf8(trim(input)).map_err(|_| EINVAL)?;
        let value = text.parse::<u32>().map_err(|_| EINVAL)?;
        self.value.store(value, Ordering::Relaxed);
        obj.uevent(Action::Change)
    }
}

#[vtable]
impl AttributeOperations<INFO> for DevData {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"rnbd-rs sysfs self-test device\n")
    }
}

#[vtable]
impl AttributeOperations<DEV_DELETE> for DevData {
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if trim(input) != b"1" {
            return Err(EINVAL);
        }
        // Everything but the class, taken out under the lock and removed after it.
        let (peer, p0, paths, dev0) = {
            let mut objs = self.shared.objs.lock();
            (
                objs.peer.take(),
                objs.p0.take(),
                objs.paths.take(),
                objs.dev0.take(),
            )
        };
        let found = dev0.is_some();
        drop((peer, p0, paths, dev0));
        if found {
            Ok(())
        } else {
            Err(ENODEV)
        }
    }
}

#[vtable]
impl AttributeOperations<OVERFLOW> for DevData {
    fn show(&self, page: &mut Page<'_>) -> Result {
        // More than a page: the last write must fail (`EFBIG`), none may overrun the buffer.
        for _ in 0..100 {
            page.write_bytes(&[b'x'; 63])?;
            page.write_bytes(b"\n")?;
        }
        Ok(())
    }
}

impl Attributes for DevData {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<VALUE>(kernel::c_str!("value"), 0o644),
        Attribute::new::<INFO>(kernel::c_str!("info"), 0o444),
        Attribute::new_self_removing::<DEV_DELETE>(kernel::c_str!("delete"), 0o200),
        Attribute::new::<OVERFLOW>(kernel::c_str!("overflow"), 0o400),
    ];
}

/// The payload of `p0`.
struct PathData {
    /// The handles, for `delete`.
    shared: Arc<Shared>,
}

/// `p0/name`.
const NAME: u64 = 0;
/// `p0/delete`.
const PATH_DELETE: u64 = 1;

#[vtable]
impl AttributeOperations<NAME> for PathData {
    fn show(&self, page: &mut Page<'_>) -> Result {
        page.write_bytes(b"p0\n")
    }
}

#[vtable]
impl AttributeOperations<PATH_DELETE> for PathData {
    fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
        if trim(input) != b"1" {
            return Err(EINVAL);
        }
        let p0 = self.shared.objs.lock().take_p0();
        drop(p0.ok_or(ENODEV)?);
        Ok(())
    }
}

impl Attributes for PathData {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[
        Attribute::new::<NAME>(kernel::c_str!("name"), 0o444),
        Attribute::new_self_removing::<PATH_DELETE>(kernel::c_str!("delete"), 0o200),
    ];
}

impl Objects {
    /// Takes `p0` out.
    fn take_p0(&mut self) -> Option<Kobject<PathData>> {
        self.p0.take()
    }
}
