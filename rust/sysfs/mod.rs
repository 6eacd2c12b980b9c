// SPDX-License-Identifier: GPL-2.0-or-later

//! Device classes, devices, attribute files, kobject directories and symlinks in sysfs.
//!
//! C headers: [include/linux/device/class.h](srctree/include/linux/device/class.h),
//! [include/linux/device.h](srctree/include/linux/device.h),
//! [include/linux/sysfs.h](srctree/include/linux/sysfs.h),
//! [include/linux/kobject.h](srctree/include/linux/kobject.h).
//!
//! # What a driver writes
//!
//! - A [`Class`] (`/sys/class/<name>`), created at module load and kept in an [`Arc`].
//! - For each directory, a payload type `T` (usually a small struct holding an `Arc` of the
//!   driver object it describes) that implements [`Attributes`]: a `const` list of
//!   [`Attribute`]s, each naming one `#[vtable] impl AttributeOperations<ID> for T` with a
//!   `show` (writes into a [`Page`]) and/or a `store` (gets the written bytes). This is the
//!   shape of upstream rnull's configfs attributes.
//! - A [`Device`] of the class (`/sys/class/<class>/<name>`) or a [`Kobject`] directory under a
//!   device or another kobject. Both carry an `Arc<T>`; their attribute files are created
//!   together with the directory, before any uevent announces it (udev never sees it bare).
//!   [`Kobject::new_dir`] makes a directory without files (`paths/`, `devices/`).
//! - [`Link`]s: symlinks from a directory to another one.
//! - Uevents: a device's `add` is sent when it is registered, or, with
//!   [`Device::new_uevent_suppressed`], only at [`Device::announce`] once its subdirectories
//!   exist; a kobject directory sends `add` only at [`Kobject::announce`]; `change`, `online`
//!   and `offline` through [`KobjectRef::uevent`].
//!
//! Every handle removes what it created when dropped.
//!
//! # Example
//!
//! A directory with a read-write `value` and a `delete` that removes the directory (the
//! self-test `tools/testing/selftest/sysfs_test.rs` is the complete version):
//!
//! ```ignore
//! struct Path { value: AtomicU32, owner: Arc<Owner> }
//!
//! #[vtable]
//! impl AttributeOperations<0> for Path {
//!     fn show(&self, page: &mut Page<'_>) -> Result {
//!         writeln!(page, "{}", self.value.load(Ordering::Relaxed))?;
//!         Ok(())
//!     }
//!     fn store(&self, _obj: &KobjectRef, input: &[u8]) -> Result {
//!         let v = core::str::from_utf8(trim(input)).ok().and_then(|s| s.parse().ok());
//!         self.value.store(v.ok_or(EINVAL)?, Ordering::Relaxed);
//!         Ok(())
//!     }
//! }
//!
//! #[vtable]
//! impl AttributeOperations<1> for Path {
//!     fn store(&self, _obj: &KobjectRef, _input: &[u8]) -> Result {
//!         // Take the handle out under the owner's lock, drop it after: removes this directory.
//!         let dir = self.owner.dir.lock().take();
//!         drop(dir.ok_or(ENODEV)?);
//!         Ok(())
//!     }
//! }
//!
//! impl Attributes for Path {
//!     const ATTRIBUTES: &'static [Attribute<Self>] = &[
//!         Attribute::new::<0>(c_str!("value"), 0o644),
//!         Attribute::new_self_removing::<1>(c_str!("delete"), 0o200),
//!     ];
//! }
//!
//! // Kept by the owner, next to (not inside) the parent's handle:
//! let dir = Kobject::new(parent.kobject(), fmt!("p{}", 0), Arc::new(path, GFP_KERNEL)?)?;
//! ```
//!
//! # Lifetime rules
//!
//! - A directory's C object (`struct device`, `struct kobject`) and the `Arc<T>` it holds are
//!   freed only by the C release callback, after the last reference is gone; the handle's
//!   `Drop` removes the directory and drops its own reference, and touches nothing after that.
//!   Failed creation is rolled back by the same release (never freed twice: R11, R29).
//! - While a `show` or `store` runs, its object is alive: the kernfs "active reference" of the
//!   file makes removal of the directory wait for the callback to return.
//! - Hence a **plain** `store` must never drop the handle of its own directory or of an
//!   ancestor: the removal would wait for the store that performs it (the deadlock of R5, N4).
//!   It may remove any other directory.
//! - A store that removes its own directory or an ancestor (`unmap_device`, `remove_path`,
//!   `disconnect`, …) is declared with [`Attribute::new_self_removing`]. It runs with the
//!   active protection of its file broken (`sysfs_break_active_protection`), holding a
//!   reference to its kobject, to its `Arc<T>` and to the module, so it may drop those handles:
//!   the removal does not wait for it, and nothing it uses is freed before it returns. It is
//!   refused with `ENODEV` if its directory is already being removed or the module is going.
//!   Two concurrent writers both run; the store must make the removal idempotent (e.g. take the
//!   handle out of an `Option`). After the store returns, the file is gone with its directory.
//! - A store may instead hand the handle to a work item that drops it later (C rtrs-srv's
//!   `disconnect` schedules the close): a plain attribute suffices for that, since the removal
//!   then waits for the store to return, not the other way round; the module must flush such
//!   work before it exits.
//! - A child directory holds a reference to its parent's kobject, and a [`Link`] to the
//!   directory it lives in. Therefore neither may be owned by the payload of that parent (a
//!   reference cycle that would leak): keep child handles next to the parent's handle and drop
//!   children (and links) first.
//! - Do not hold a lock that a `show` or `store` of a directory takes while dropping that
//!   directory's handle: the removal waits for callbacks in progress.
//! - A [`Class`] is destroyed when the last `Arc` to it goes, which is after its devices are
//!   released (each [`Device`] holds one).
//!
//! Attribute names and class names are `'static`: sysfs keeps the pointers.
//!
//! [`Arc`]: kernel::sync::Arc

mod attr;
mod class;
mod device;
mod kobject;
mod link;

#[allow(unused_imports)]
pub(crate) use attr::{trim, Attribute, AttributeOperations, Attributes, Page};
#[allow(unused_imports)]
pub(crate) use class::Class;
#[allow(unused_imports)]
pub(crate) use device::Device;
#[allow(unused_imports)]
pub(crate) use kobject::{Action, Kobject, KobjectRef};
#[allow(unused_imports)]
pub(crate) use link::Link;
