// SPDX-License-Identifier: GPL-2.0-or-later

//! Kobject directories: a borrowed [`KobjectRef`] for any directory, and [`Kobject`], a
//! directory owned by Rust under a device or another kobject.
//!
//! C header: [include/linux/kobject.h](srctree/include/linux/kobject.h).

use crate::bindings;
use core::{fmt, ptr, ptr::NonNull};
use kernel::{error::to_result, ffi::c_char, prelude::*, str::CString, sync::Arc, types::Opaque};

use super::attr::{self, Attributes, Table};

/// A kobject (a sysfs directory) borrowed from its owner.
///
/// The parent of new directories, the place and target of symlinks, the object whose uevents
/// are sent. Obtained from [`Kobject::kobject`], [`super::Device::kobject`], in a `store`, or
/// from another abstraction through [`KobjectRef::from_raw`].
///
/// # Invariants
///
/// The wrapped `struct kobject` is initialised and stays allocated while the reference is
/// used.
#[repr(transparent)]
pub(crate) struct KobjectRef(Opaque<bindings::kobject>);

impl KobjectRef {
    /// Borrows a C kobject.
    ///
    /// # Safety
    ///
    /// `ptr` points to an initialised `struct kobject` that stays allocated for `'a` (e.g.
    /// because the caller holds a reference to it or to the object embedding it).
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut bindings::kobject) -> &'a Self {
        // CAST: `Self` is a `repr(transparent)` wrapper around `bindings::kobject`.
        // SAFETY: Valid for `'a` by the caller's guarantee.
        // INVARIANT: Ditto.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The C kobject, for other abstractions of the crate.
    pub(crate) fn as_ptr(&self) -> *mut bindings::kobject {
        self.0.get()
    }

    /// Sends the uevent `action` for this directory (`KOBJ_ONLINE` on an RNBD disk, …).
    pub(crate) fn uevent(&self, action: Action) -> Result {
        // CAST: `Action` is `repr(u32)` with the C enum's values.
        let action = action as bindings::kobject_action;
        // SAFETY: The kobject is initialised and alive (type invariant); `kobject_uevent`
        // copes with a directory that is not (or no longer) in sysfs.
        to_result(unsafe { bindings::kobject_uevent(self.as_ptr(), action) })
    }
}

/// The uevent actions a driver sends by itself (`add` and `remove` come with the directory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum Action {
    /// `KOBJ_CHANGE`: something about the object changed.
    Change = bindings::kobject_action_KOBJ_CHANGE,
    /// `KOBJ_ONLINE`: the object became usable.
    Online = bindings::kobject_action_KOBJ_ONLINE,
    /// `KOBJ_OFFLINE`: the object stopped being usable.
    Offline = bindings::kobject_action_KOBJ_OFFLINE,
}

/// The C object behind a [`Kobject`], freed only by [`Kobject::release_callback`].
///
/// # Invariants
///
/// `kobj` is the first field (the callbacks cast a `struct kobject *` to `KobjInner`). Once
/// initialised, `kobj.ktype` points to `ktype`, whose groups point into `table`.
#[repr(C)]
struct KobjInner<T: Attributes> {
    /// The C kobject; its refcount decides when this allocation is freed.
    kobj: Opaque<bindings::kobject>,
    /// This directory's type: the release, the sysfs operations and its attribute group.
    ktype: bindings::kobj_type,
    /// Set (under the helpers' lock) before the directory is removed.
    removing: Opaque<bool>,
    /// The attribute files.
    table: Table<T>,
    /// The payload the callbacks get.
    data: Arc<T>,
}

/// A sysfs directory backed by a `struct kobject`, with the attribute files of `T`, under a
/// device or another directory (e.g. `paths/<src>@<dst>/`, `/sys/block/rnbd0/rnbd/`).
///
/// Dropping the handle removes the directory and drops the handle's reference; the payload is
/// freed when the last reference goes (see the module documentation for the rules).
///
/// # Invariants
///
/// `inner` points to an initialised [`KobjInner<T>`] in sysfs, on which the handle owns one
/// reference.
pub(crate) struct Kobject<T: Attributes> {
    /// The directory.
    inner: NonNull<KobjInner<T>>,
}

// SAFETY: The handle only removes the directory and reads immutable fields; the C side is
// thread-safe, and the payload is shared as an `Arc<T>` with `T: Send + Sync`.
unsafe impl<T: Attributes> Send for Kobject<T> {}

// SAFETY: `&Kobject` only gives access to the payload (`T: Sync`) and to `&KobjectRef`.
unsafe impl<T: Attributes> Sync for Kobject<T> {}

impl<T: Attributes> Kobject<T> {
    /// The sysfs operations of every directory of this payload type.
    const SYSFS_OPS: bindings::sysfs_ops = bindings::sysfs_ops {
        show: Some(Self::show_callback),
        store: Some(Self::store_callback),
    };

    /// Creates the directory `name` under `parent`, with the attribute files of `T` and the
    /// payload `data`. The files are created with the directory, before any uevent for it.
    ///
    /// Must not be called from an atomic context.
    pub(crate) fn new(parent: &KobjectRef, name: fmt::Arguments<'_>, data: Arc<T>) -> Result<Self> {
        let name = CString::try_from_fmt(name)?;
        let inner = KBox::new(
            KobjInner {
                kobj: Opaque::uninit(),
                ktype: bindings::kobj_type::default(),
                removing: Opaque::new(false),
                table: Table::new(None)?,
                data,
            },
            GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is a fresh allocation that does not move until it is freed.
        let groups = unsafe { Table::link(ptr::addr_of_mut!((*inner).table)) };
        // SAFETY: Nothing else knows `inner` yet.
        unsafe {
            (*inner).ktype.release = Some(Self::release_callback);
            (*inner).ktype.sysfs_ops = &Self::SYSFS_OPS;
            (*inner).ktype.default_groups = groups;
        }
        // SAFETY: `inner` is valid; no reference to it is created.
        let kobj = unsafe { Opaque::raw_get(ptr::addr_of!((*inner).kobj)) };
        // SAFETY: `kobject_init` needs a zeroed kobject; `kobj` is ours.
        unsafe { ptr::write_bytes(kobj, 0, 1) };
        // SAFETY: `kobj` is zeroed, `ktype` lives as long as it, `parent` is alive (it gets a
        // reference from the add), and `"%s"` consumes the one string argument.
        let ret = unsafe {
            bindings::kobject_init_and_add(
                kobj,
                ptr::addr_of!((*inner).ktype),
                parent.as_ptr(),
                kernel::c_str!("%s").as_char_ptr(),
                name.as_char_ptr(),
            )
        };
        if let Err(e) = to_result(ret) {
            // SAFETY: The kobject is initialised even when the add failed; this put frees
            // `inner` through `release_callback` (and nothing else may: R29).
            unsafe { bindings::kobject_put(kobj) };
            return Err(e);
        }
        // INVARIANT: Initialised and in sysfs; the reference of `kobject_init` is ours.
        // SAFETY: `KBox::into_raw` never returns NULL.
        let inner = unsafe { NonNull::new_unchecked(inner) };
        Ok(Self { inner })
    }

    /// Sends the `add` uevent for the directory (a kobject directory sends none by itself).
    ///
    /// Takes `&mut self` because it writes kobject state bits that the handle's removal
    /// writes too; callbacks cannot send `add`.
    pub(crate) fn announce(&mut self) -> Result {
        // SAFETY: The kobject is in sysfs (type invariant); the exclusive borrow keeps the
        // handle's other writers of the kobject bits away.
        to_result(unsafe {
            bindings::kobject_uevent(self.kobject().as_ptr(), bindings::kobject_action_KOBJ_ADD)
        })
    }

    /// The directory, as the parent of others or the place or target of a symlink.
    pub(crate) fn kobject(&self) -> &KobjectRef {
        // SAFETY: By the type invariant the kobject is initialised and our reference keeps it
        // allocated while `self` is borrowed.
        unsafe { KobjectRef::from_raw(Opaque::raw_get(ptr::addr_of!((*self.inner.as_ptr()).kobj))) }
    }

    /// The payload.
    pub(crate) fn data(&self) -> &Arc<T> {
        // SAFETY: Our reference keeps `inner` alive; `data` is never changed after creation.
        unsafe { &(*self.inner.as_ptr()).data }
    }

    /// Frees the directory's allocation when the last reference is gone.
    ///
    /// # Safety
    ///
    /// Called by the kobject core once, for a kobject created by [`Kobject::new`].
    unsafe extern "C" fn release_callback(kobj: *mut bindings::kobject) {
        // CAST: `kobj` is the first field of the `#[repr(C)]` `KobjInner<T>`.
        let inner = kobj.cast::<KobjInner<T>>();
        // SAFETY: `inner` came from `KBox::into_raw` in `new`; the last reference is gone, so
        // nothing else uses it.
        drop(unsafe { KBox::from_raw(inner) });
    }

    /// The `show` of [`Kobject::SYSFS_OPS`].
    ///
    /// # Safety
    ///
    /// Called by sysfs for an attribute of a directory created by [`Kobject::new`], with the
    /// file's active reference held and a page-sized buffer.
    unsafe extern "C" fn show_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *mut c_char,
    ) -> isize {
        // CAST: `kobj` is the first field of the `#[repr(C)]` `KobjInner<T>`.
        let inner = kobj.cast::<KobjInner<T>>();
        // SAFETY: The active reference keeps the directory, its slots and payload alive.
        let (desc, data) = unsafe { (attr::desc_of::<T>(attr), &*(*inner).data) };
        // SAFETY: sysfs passes a page-sized buffer that is ours during the call.
        unsafe { attr::show(desc, data, buf) }
    }

    /// The `store` of [`Kobject::SYSFS_OPS`].
    ///
    /// # Safety
    ///
    /// Called by sysfs for an attribute of a directory created by [`Kobject::new`], with the
    /// file's active reference held and `count` bytes at `buf`.
    unsafe extern "C" fn store_callback(
        kobj: *mut bindings::kobject,
        attr: *mut bindings::attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // CAST: `kobj` is the first field of the `#[repr(C)]` `KobjInner<T>`.
        let inner = kobj.cast::<KobjInner<T>>();
        // SAFETY: As required by `attr::store`: the active reference is held, the pointers
        // are computed without creating references.
        unsafe {
            attr::store::<T>(
                kobj,
                attr,
                ptr::addr_of!((*inner).data),
                Opaque::raw_get(ptr::addr_of!((*inner).removing)),
                buf,
                count,
            )
        }
    }
}

impl Kobject<()> {
    /// Creates the directory `name` under `parent`, without attribute files (`paths/`,
    /// `devices/`, `sessions/`).
    pub(crate) fn new_dir(parent: &KobjectRef, name: fmt::Arguments<'_>) -> Result<Self> {
        Self::new(parent, name, Arc::new((), GFP_KERNEL)?)
    }
}

impl<T: Attributes> Drop for Kobject<T> {
    fn drop(&mut self) {
        let inner = self.inner.as_ptr();
        // SAFETY: Our reference keeps `inner` alive until the put below.
        let (kobj, removing) = unsafe {
            (
                Opaque::raw_get(ptr::addr_of!((*inner).kobj)),
                Opaque::raw_get(ptr::addr_of!((*inner).removing)),
            )
        };
        // SAFETY: `removing` is valid (above); from now on no self-removing store breaks its
        // protection, so none can race with `kobject_del` clearing `kobj->sd`.
        unsafe { bindings::sysfs_mark_removing(removing) };
        // SAFETY: The kobject is in sysfs and deleted only here (once: R14). It waits for
        // callbacks in progress, except self-removing stores, which hold their own reference.
        unsafe { bindings::kobject_del(kobj) };
        // SAFETY: Drops the reference the handle owns; `inner` may be freed now and is not used
        // again.
        unsafe { bindings::kobject_put(kobj) };
    }
}
