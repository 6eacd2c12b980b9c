// SPDX-License-Identifier: GPL-2.0-or-later

//! Devices of a class (`/sys/class/<class>/<name>`, e.g. `rnbd-client/ctl`,
//! `rtrs-client/<sessname>`).
//!
//! C header: [include/linux/device.h](srctree/include/linux/device.h).

use crate::bindings;
use core::{fmt, ptr, ptr::NonNull};
use kernel::{error::to_result, ffi::c_char, prelude::*, str::CString, sync::Arc, types::Opaque};

use super::{
    attr::{self, Attributes, DeviceCallbacks, Table},
    Class, KobjectRef,
};

/// The C object behind a [`Device`], freed only by [`Device::release_callback`].
///
/// # Invariants
///
/// `dev` is the first field (the callbacks cast a `struct device *` to `DevInner`). Once
/// initialised, `dev.groups` points into `table`.
#[repr(C)]
struct DevInner<T: Attributes> {
    /// The C device; its refcount decides when this allocation is freed.
    dev: Opaque<bindings::device>,
    /// Set (under the helpers' lock) before the device is removed.
    removing: Opaque<bool>,
    /// The attribute files.
    table: Table<T>,
    /// The class, kept until the device is released.
    class: Arc<Class>,
    /// The payload the callbacks get.
    data: Arc<T>,
}

/// A device of a [`Class`] without a parent, `/sys/devices/virtual/<class>/<name>`, with the
/// attribute files of `T` (like `device_create_with_groups`, with Rust data freed by the
/// release).
///
/// Dropping the handle unregisters the device; the payload is freed when the last reference
/// goes (see the module documentation for the rules).
///
/// # Invariants
///
/// `inner` points to an initialised [`DevInner<T>`] whose device is registered, and on which
/// the handle owns one reference.
pub(crate) struct Device<T: Attributes> {
    /// The device.
    inner: NonNull<DevInner<T>>,
}

// SAFETY: The handle only unregisters the device and reads immutable fields; the driver core
// is thread-safe, and the payload is shared as an `Arc<T>` with `T: Send + Sync`.
unsafe impl<T: Attributes> Send for Device<T> {}

// SAFETY: `&Device` only gives access to the payload (`T: Sync`) and to `&KobjectRef`.
unsafe impl<T: Attributes> Sync for Device<T> {}

impl<T: Attributes> Device<T> {
    /// Registers the device `name` in `class`, with the attribute files of `T` and the payload
    /// `data`. The files exist before the `add` uevent is sent.
    ///
    /// Fails with `EEXIST` if the class has a device of that name. Must not be called from an
    /// atomic context.
    pub(crate) fn new(class: &Arc<Class>, name: fmt::Arguments<'_>, data: Arc<T>) -> Result<Self> {
        Self::register(class, name, data, false)
    }

    /// Like [`Device::new`], but the `add` uevent is held back until [`Device::announce`], so
    /// that directories and links created under the device in between are there when udev
    /// looks (as the C RTRS does for `paths/`). If the device is dropped unannounced, no
    /// uevent is sent at all.
    pub(crate) fn new_uevent_suppressed(
        class: &Arc<Class>,
        name: fmt::Arguments<'_>,
        data: Arc<T>,
    ) -> Result<Self> {
        Self::register(class, name, data, true)
    }

    /// Sends the `add` uevent held back by [`Device::new_uevent_suppressed`].
    ///
    /// Takes `&mut self` because it writes kobject state bits that the handle's other
    /// operations (sending `add` and `remove`) write too; callbacks cannot send `add`.
    pub(crate) fn announce(&mut self) -> Result {
        let dev = self.dev();
        // SAFETY: The device is registered (type invariant); the exclusive borrow keeps the
        // handle's other writers of the kobject bits away.
        unsafe { bindings::dev_set_uevent_suppress(dev, 0) };
        // SAFETY: As above; `kobj` is a field of the live device.
        to_result(unsafe {
            bindings::kobject_uevent(
                ptr::addr_of_mut!((*dev).kobj),
                bindings::kobject_action_KOBJ_ADD,
            )
        })
    }

    /// Creates and adds the device; `suppress` holds back its uevents.
    fn register(
        class: &Arc<Class>,
        name: fmt::Arguments<'_>,
        data: Arc<T>,
        suppress: bool,
    ) -> Result<Self> {
        let name = CString::try_from_fmt(name)?;
        let table = Table::new(Some(DeviceCallbacks {
            show: Self::show_callback,
            store: Self::store_callback,
        }))?;
        let inner = KBox::new(
            DevInner {
                dev: Opaque::uninit(),
                removing: Opaque::new(false),
                table,
                class: class.clone(),
                data,
            },
            GFP_KERNEL,
        )?;
        let inner = KBox::into_raw(inner);
        // SAFETY: `inner` is a fresh allocation that does not move until it is freed.
        let groups = unsafe { Table::link(ptr::addr_of_mut!((*inner).table)) };
        // SAFETY: `inner` is valid; no reference to it exists.
        let dev = unsafe { Opaque::raw_get(ptr::addr_of!((*inner).dev)) };
        // SAFETY: `device_initialize` needs a zeroed device; `dev` is ours.
        unsafe { ptr::write_bytes(dev, 0, 1) };
        // SAFETY: `dev` is zeroed and ours. From here on, `inner` is freed by the release only.
        unsafe { bindings::device_initialize(dev) };
        // SAFETY: `dev` is initialised and not yet added, so nothing else reads these fields;
        // the class and the groups live as long as the device (they are in `inner`).
        unsafe {
            (*dev).class = class.as_ptr();
            (*dev).groups = groups;
            (*dev).release = Some(Self::release_callback);
        }
        if suppress {
            // SAFETY: `dev` is initialised and not yet visible to anyone else.
            unsafe { bindings::dev_set_uevent_suppress(dev, 1) };
        }
        // SAFETY: `"%s"` consumes the one NUL-terminated string argument; the name is copied.
        let ret = unsafe {
            bindings::dev_set_name(dev, kernel::c_str!("%s").as_char_ptr(), name.as_char_ptr())
        };
        let ret = to_result(ret).and_then(|()| {
            // SAFETY: `dev` is initialised and named; its groups and class are set.
            to_result(unsafe { bindings::device_add(dev) })
        });
        if let Err(e) = ret {
            // SAFETY: After `device_initialize` the device is freed by its release, through
            // this put, and nothing else may free it (R11).
            unsafe { bindings::put_device(dev) };
            return Err(e);
        }
        // INVARIANT: Registered; the reference of `device_initialize` is ours.
        // SAFETY: `KBox::into_raw` never returns NULL.
        let inner = unsafe { NonNull::new_unchecked(inner) };
        Ok(Self { inner })
    }

    /// The device's directory, as the parent of others or the place or target of a symlink.
    pub(crate) fn kobject(&self) -> &KobjectRef {
        // SAFETY: The device is initialised and our reference keeps it allocated while `self`
        // is borrowed; `kobj` is a field of it.
        unsafe { KobjectRef::from_raw(ptr::addr_of_mut!((*self.dev()).kobj)) }
    }

    /// The payload.
    pub(crate) fn data(&self) -> &Arc<T> {
        // SAFETY: Our reference keeps `inner` alive; `data` is never changed after creation.
        unsafe { &(*self.inner.as_ptr()).data }
    }

    /// The C device.
    fn dev(&self) -> *mut bindings::device {
        // SAFETY: `inner` is alive (type invariant); no reference is created.
        unsafe { Opaque::raw_get(ptr::addr_of!((*self.inner.as_ptr()).dev)) }
    }

    /// Frees the device's allocation when the last reference is gone.
    ///
    /// # Safety
    ///
    /// Called by the driver core once, for a device created by [`Device::new`].
    unsafe extern "C" fn release_callback(dev: *mut bindings::device) {
        // CAST: `dev` is the first field of the `#[repr(C)]` `DevInner<T>` (`Opaque` is
        // transparent).
        let inner = dev.cast::<DevInner<T>>();
        // SAFETY: `inner` came from `KBox::into_raw` in `new`; the last reference is gone, so
        // nothing else uses it.
        drop(unsafe { KBox::from_raw(inner) });
    }

    /// The `show` of the device attributes.
    ///
    /// # Safety
    ///
    /// Called by the device core for an attribute of a device created by [`Device::new`], with
    /// the file's active reference held and a page-sized buffer.
    unsafe extern "C" fn show_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *mut c_char,
    ) -> isize {
        // CAST: `dev` is the first field of the `#[repr(C)]` `DevInner<T>`.
        let inner = dev.cast::<DevInner<T>>();
        // SAFETY: The active reference keeps the device, its slots and payload alive; `attr`
        // is the first field of its slot.
        let (desc, data) = unsafe {
            (
                attr::desc_of::<T>(ptr::addr_of!((*attr).attr)),
                &*(*inner).data,
            )
        };
        // SAFETY: sysfs passes a page-sized buffer that is ours during the call.
        unsafe { attr::show(desc, data, buf) }
    }

    /// The `store` of the device attributes.
    ///
    /// # Safety
    ///
    /// Called by the device core for an attribute of a device created by [`Device::new`], with
    /// the file's active reference held and `count` bytes at `buf`.
    unsafe extern "C" fn store_callback(
        dev: *mut bindings::device,
        attr: *mut bindings::device_attribute,
        buf: *const c_char,
        count: usize,
    ) -> isize {
        // CAST: `dev` is the first field of the `#[repr(C)]` `DevInner<T>`.
        let inner = dev.cast::<DevInner<T>>();
        // SAFETY: As required by `attr::store`: the active reference is held, the pointers
        // are computed without creating references.
        unsafe {
            attr::store::<T>(
                ptr::addr_of_mut!((*dev).kobj),
                ptr::addr_of_mut!((*attr).attr),
                ptr::addr_of!((*inner).data),
                Opaque::raw_get(ptr::addr_of!((*inner).removing)),
                buf,
                count,
            )
        }
    }
}

impl<T: Attributes> Drop for Device<T> {
    fn drop(&mut self) {
        let dev = self.dev();
        // SAFETY: Our reference keeps `inner` alive until the unregister below.
        let removing = unsafe { Opaque::raw_get(ptr::addr_of!((*self.inner.as_ptr()).removing)) };
        // SAFETY: `removing` is valid; from now on no self-removing store breaks its
        // protection, so none can race with `device_del` clearing `kobj.sd`.
        unsafe { bindings::sysfs_mark_removing(removing) };
        // SAFETY: Registered in `new` and unregistered only here. `device_del` waits for
        // callbacks in progress, except self-removing stores, which hold their own reference;
        // the put drops the handle's reference, after which `inner` is not used.
        unsafe { bindings::device_unregister(dev) };
    }
}
