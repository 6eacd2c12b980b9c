// SPDX-License-Identifier: GPL-2.0-or-later

//! Attribute files: the driver's `show`/`store` operations, their descriptors, and the C
//! tables and trampolines built from them.
//!
//! C header: [include/linux/sysfs.h](srctree/include/linux/sysfs.h).
//!
//! Each directory ([`super::Device`] or [`super::Kobject`]) allocates its own attribute table
//! ([`Table`]) from the `const` descriptor list of its payload type ([`Attributes`]); the C
//! callbacks find the descriptor through the `struct attribute` they are given, and the payload
//! through the object that contains the `struct device` or `struct kobject`.

use crate::bindings;
use core::{fmt, marker::PhantomData, ptr};
use kernel::{
    error::{from_result, VTABLE_DEFAULT_ERROR},
    ffi::c_char,
    prelude::*,
    sync::Arc,
};

use super::KobjectRef;

// The buffer a `show` writes into is one page, as sysfs allocates it.
use kernel::page::PAGE_SIZE;

/// The page-sized buffer a `show` writes its text into.
///
/// At most `PAGE_SIZE - 1` bytes fit. A write (for `write!`, each formatted piece) that does
/// not fit is refused whole:
/// [`Page::write_bytes`] fails with `EFBIG`, `write!` with [`fmt::Error`] (which `?` turns into
/// `EINVAL`), so an over-long value fails the read instead of being silently truncated.
///
/// # Invariants
///
/// `buf` points to `PAGE_SIZE` writable bytes that nothing else accesses during `'a`, and
/// `len < PAGE_SIZE`.
pub(crate) struct Page<'a> {
    /// The buffer sysfs handed to the `show` callback.
    buf: *mut u8,
    /// Bytes written so far.
    len: usize,
    /// The buffer is borrowed mutably for `'a`.
    _p: PhantomData<&'a mut [u8]>,
}

impl Page<'_> {
    /// Wraps the buffer of a `show` callback.
    ///
    /// # Safety
    ///
    /// `buf` points to `PAGE_SIZE` writable bytes that nothing else accesses while the returned
    /// value exists.
    unsafe fn new(buf: *mut u8) -> Self {
        // INVARIANT: The caller provides the buffer; nothing is written yet.
        Self {
            buf,
            len: 0,
            _p: PhantomData,
        }
    }

    /// Appends `bytes`; fails with `EFBIG` (writing nothing) if they do not fit.
    pub(crate) fn write_bytes(&mut self, bytes: &[u8]) -> Result {
        // Keep one byte free, as `sysfs_emit` does: `dev_attr_show` complains about a count of
        // `PAGE_SIZE`.
        if bytes.len() > PAGE_SIZE - 1 - self.len {
            return Err(EFBIG);
        }
        // SAFETY: By the type invariant `buf` has `PAGE_SIZE` bytes and `len` are used; the
        // check above keeps the copy inside, and `bytes` cannot overlap the sysfs buffer we
        // hold exclusively.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf.add(self.len), bytes.len()) };
        // INVARIANT: Still below `PAGE_SIZE` by the check above.
        self.len += bytes.len();
        Ok(())
    }

    /// The number of bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written yet.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes()).map_err(|_| fmt::Error)
    }
}

/// Strips ASCII whitespace (including the newline `echo` adds) from both ends of a write.
pub(crate) fn trim(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &input[start..end]
}

/// The operations of one attribute file of a directory whose payload is `Self`.
///
/// One `impl` per attribute, told apart by `ID` (any number unique per payload type); the
/// attribute is then listed in [`Attributes::ATTRIBUTES`] with [`Attribute::new`]. Implement
/// `show` for a readable file, `store` for a writable one; the mode given to
/// [`Attribute::new`] must match.
#[vtable]
pub(crate) trait AttributeOperations<const ID: u64 = 0> {
    /// Writes the file's text (conventionally ending in `\n`) into `page`.
    ///
    /// Called in process context, possibly concurrently with any other callback of the same
    /// object.
    fn show(&self, _page: &mut Page<'_>) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }

    /// Handles a write of `input` (the bytes written, at most a page, usually with a trailing
    /// newline: see [`trim`]) to the file of the object `obj`.
    ///
    /// On success the write reports all bytes as written; an error becomes the write's errno.
    /// See the module documentation for what a store may remove.
    fn store(&self, _obj: &KobjectRef, _input: &[u8]) -> Result {
        kernel::build_error!(VTABLE_DEFAULT_ERROR)
    }
}

/// A `show` operation, as a plain function pointer.
type ShowFn<T> = fn(&T, &mut Page<'_>) -> Result;

/// A `store` operation, as a plain function pointer.
type StoreFn<T> = fn(&T, &KobjectRef, &[u8]) -> Result;

/// The description of one attribute file of a directory whose payload is `T`.
///
/// Built in a `const` context by [`Attribute::new`] or [`Attribute::new_self_removing`], which
/// check the mode against the implemented operations at compile time.
///
/// # Invariants
///
/// `show` is `Some` exactly if `mode` has a read bit, `store` exactly if it has a write bit;
/// `mode` has no bits beyond `0o775`; `self_removing` implies `store`.
pub(crate) struct Attribute<T: 'static> {
    /// File name.
    name: &'static CStr,
    /// File mode (permission bits only).
    mode: u16,
    /// Whether `store` runs with the file's active protection broken (module documentation).
    self_removing: bool,
    /// The `show` of the `AttributeOperations` impl, if readable.
    show: Option<ShowFn<T>>,
    /// The `store` of the `AttributeOperations` impl, if writable.
    store: Option<StoreFn<T>>,
    /// The lockdep class of the file's kernfs active reference. Lives in the `const` list, i.e.
    /// in the module's static memory, like the key inside a C `DEVICE_ATTR`: one class per
    /// attribute, so removing a directory from another attribute's store is not mistaken for
    /// recursive locking.
    key: bindings::lock_class_key,
}

impl<T> Attribute<T> {
    /// Describes the attribute `name` with permission bits `mode`, whose operations are
    /// `<T as AttributeOperations<ID>>`.
    ///
    /// Use it in the `const` [`Attributes::ATTRIBUTES`], where a mode that does not match the
    /// implemented operations (or is world-writable) fails the build.
    pub(crate) const fn new<const ID: u64>(name: &'static CStr, mode: u16) -> Self
    where
        T: AttributeOperations<ID>,
    {
        Self::build::<ID>(name, mode, false)
    }

    /// Like [`Attribute::new`], for a writable attribute whose `store` may drop the handle of
    /// its own directory or of an ancestor (see the module documentation).
    pub(crate) const fn new_self_removing<const ID: u64>(name: &'static CStr, mode: u16) -> Self
    where
        T: AttributeOperations<ID>,
    {
        Self::build::<ID>(name, mode, true)
    }

    /// Checks the mode and takes the operations `T` implements.
    const fn build<const ID: u64>(name: &'static CStr, mode: u16, self_removing: bool) -> Self
    where
        T: AttributeOperations<ID>,
    {
        let has_show = <T as AttributeOperations<ID>>::HAS_SHOW;
        let has_store = <T as AttributeOperations<ID>>::HAS_STORE;
        assert!(
            mode & !0o775 == 0,
            "sysfs attribute: only permission bits, not o+w"
        );
        assert!(
            (mode & 0o444 != 0) == has_show,
            "sysfs attribute: readable exactly if `show` is implemented"
        );
        assert!(
            (mode & 0o222 != 0) == has_store,
            "sysfs attribute: writable exactly if `store` is implemented"
        );
        assert!(
            !self_removing || has_store,
            "sysfs attribute: self-removing needs `store`"
        );
        // INVARIANT: Checked just above.
        Self {
            name,
            mode,
            self_removing,
            show: if has_show {
                Some(<T as AttributeOperations<ID>>::show)
            } else {
                None
            },
            store: if has_store {
                Some(<T as AttributeOperations<ID>>::store)
            } else {
                None
            },
            // SAFETY: `lock_class_key` is plain data (pointers and bytes) for which all-zero is
            // the value a C `static struct lock_class_key` starts with.
            key: unsafe { core::mem::zeroed() },
        }
    }

    /// The file name.
    pub(crate) fn name(&self) -> &'static CStr {
        self.name
    }
}

/// A payload type of sysfs directories, with the attribute files each such directory has.
pub(crate) trait Attributes: Send + Sync + Sized + 'static {
    /// The files, in creation order. Names must be unique.
    const ATTRIBUTES: &'static [Attribute<Self>];
}

/// Directories without attribute files (e.g. `paths/`, `devices/`).
impl Attributes for () {
    const ATTRIBUTES: &'static [Attribute<Self>] = &[];
}

/// One attribute of a directory as C sees it, with its descriptor.
///
/// `attr` is the first field, so a pointer to `attr` or `attr.attr` (what the C callbacks get)
/// is a pointer to the `Slot`. Directories made of a `struct kobject` use only `attr.attr`.
#[repr(C)]
pub(super) struct Slot<T: 'static> {
    /// The C attribute; `show`/`store` are only used by the device core.
    attr: bindings::device_attribute,
    /// The descriptor it was built from.
    desc: &'static Attribute<T>,
}

/// The C device-attribute callbacks of a [`Table`] (device directories only).
pub(super) struct DeviceCallbacks {
    /// The `show` trampoline, for readable attributes.
    pub(super) show: unsafe extern "C" fn(
        *mut bindings::device,
        *mut bindings::device_attribute,
        *mut c_char,
    ) -> isize,
    /// The `store` trampoline, for writable attributes.
    pub(super) store: unsafe extern "C" fn(
        *mut bindings::device,
        *mut bindings::device_attribute,
        *const c_char,
        usize,
    ) -> isize,
}

/// The attribute group of one directory, built from `T::ATTRIBUTES`.
///
/// # Invariants
///
/// `slots` and `ptrs` are never resized, so the pointers into them stay valid; `ptrs` holds a
/// pointer to each slot's `attr.attr`, then NULL. Once [`Table::link`] ran on the table at its
/// final address, `group.attrs` points to `ptrs` and `groups` holds `&group` (if there are
/// attributes) and NULL.
pub(super) struct Table<T: 'static> {
    /// One slot per attribute.
    slots: KVec<Slot<T>>,
    /// The NULL-terminated attribute array of the group.
    ptrs: KVec<*mut bindings::attribute>,
    /// The unnamed group holding all attributes.
    group: bindings::attribute_group,
    /// The NULL-terminated group list given to the device or kobject type.
    groups: [*const bindings::attribute_group; 2],
}

impl<T: Attributes> Table<T> {
    /// Allocates the attribute table; `dev` gives the callbacks of a device directory.
    pub(super) fn new(dev: Option<DeviceCallbacks>) -> Result<Self> {
        let n = T::ATTRIBUTES.len();
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for desc in T::ATTRIBUTES {
            let mut attr = bindings::device_attribute::default();
            attr.attr.name = desc.name.as_char_ptr();
            attr.attr.mode = desc.mode;
            // CAST: lockdep never writes to a static key; C takes it as non-const. The field
            // exists with lockdep only (`sysfs_attr_init` is empty without it).
            #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
            {
                attr.attr.key = ptr::addr_of!(desc.key).cast_mut();
            }
            if let Some(cb) = &dev {
                attr.show = desc.show.map(|_| cb.show);
                attr.store = desc.store.map(|_| cb.store);
            }
            slots.push(Slot { attr, desc }, GFP_KERNEL)?;
        }
        let mut ptrs = KVec::with_capacity(n + 1, GFP_KERNEL)?;
        for slot in slots.iter_mut() {
            ptrs.push(ptr::addr_of_mut!(slot.attr.attr), GFP_KERNEL)?;
        }
        ptrs.push(ptr::null_mut(), GFP_KERNEL)?;
        // INVARIANT: Filled once, never resized below; `link` sets the group pointers.
        Ok(Self {
            slots,
            ptrs,
            group: bindings::attribute_group::default(),
            groups: [ptr::null(); 2],
        })
    }

    /// Points the group at the attributes and returns the group list for the C object
    /// (NULL when there are no attributes).
    ///
    /// # Safety
    ///
    /// `this` points to a valid table that does not move afterwards.
    pub(super) unsafe fn link(this: *mut Self) -> *mut *const bindings::attribute_group {
        // SAFETY: The caller guarantees `this` is valid; nothing else uses it yet.
        let table = unsafe { &mut *this };
        if table.slots.is_empty() {
            return ptr::null_mut();
        }
        table.group.attrs = table.ptrs.as_mut_ptr();
        // INVARIANT: The table stays at this address (caller), so these pointers stay valid.
        table.groups[0] = ptr::addr_of!(table.group);
        table.groups.as_mut_ptr()
    }
}

/// Finds the descriptor of the attribute `attr` passed to a C callback.
///
/// # Safety
///
/// `attr` is the `attr.attr` of a live [`Slot<T>`].
pub(super) unsafe fn desc_of<T>(attr: *const bindings::attribute) -> &'static Attribute<T> {
    // CAST: `attr.attr` is the first field of `device_attribute`, itself the first field of the
    // `#[repr(C)]` `Slot<T>`, so the addresses coincide.
    let slot = attr.cast::<Slot<T>>();
    // SAFETY: The caller guarantees the slot is alive; `desc` is `'static`.
    unsafe { (*slot).desc }
}

/// The common body of the `show` callbacks.
///
/// # Safety
///
/// `buf` is the page-sized buffer sysfs passes to a `show`, exclusively ours during the call.
pub(super) unsafe fn show<T>(desc: &Attribute<T>, data: &T, buf: *mut c_char) -> isize {
    from_result(|| {
        let show = desc.show.ok_or(EIO)?;
        // SAFETY: Guaranteed by the caller; `c_char` and `u8` have the same layout.
        let mut page = unsafe { Page::new(buf.cast::<u8>()) };
        show(data, &mut page)?;
        // CAST: `len < PAGE_SIZE` (type invariant of `Page`) fits in `isize`.
        Ok(page.len() as isize)
    })
}

/// The common body of the `store` callbacks.
///
/// A plain store runs under the protection of the file's active reference. A self-removing
/// one first breaks it through `rnbd_rs_helper_sysfs_break_self` (see `rust/helpers/sysfs.c`),
/// which also takes a reference to `kobj` and to the module, and keeps its own reference to the
/// payload; after the store nothing of the object is touched but through those references,
/// which are dropped last.
///
/// # Safety
///
/// Called from a sysfs `store` with the file's active reference held: `kobj` is the kobject of
/// the directory, `attr` the `attr.attr` of one of its [`Slot<T>`]s, `data` points to the
/// payload held by the directory and `removing` to its "removing" flag (both valid while the
/// active reference is held), `buf` to `count` readable bytes for the whole call.
pub(super) unsafe fn store<T: 'static>(
    kobj: *mut bindings::kobject,
    attr: *mut bindings::attribute,
    data: *const Arc<T>,
    removing: *const bool,
    buf: *const c_char,
    count: usize,
) -> isize {
    from_result(|| {
        // SAFETY: `attr` belongs to a live slot of this directory (caller).
        let desc = unsafe { desc_of::<T>(attr) };
        let store = desc.store.ok_or(EIO)?;
        // SAFETY: sysfs passes `count` initialised bytes (caller); `c_char` is `u8`-sized.
        let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), count) };
        // CAST: A write is at most a page long, which fits in `isize`.
        let written = count as isize;
        if !desc.self_removing {
            // SAFETY: The active reference keeps the directory, hence `kobj` and the payload,
            // alive for the whole call (caller), and nothing in it is removed by this store.
            let (obj, data) = unsafe { (KobjectRef::from_raw(kobj), &**data) };
            store(data, obj, input)?;
            return Ok(written);
        }
        // SAFETY: Still under the active reference (caller): the payload is alive.
        let data = unsafe { (*data).clone() };
        // SAFETY: `kobj`, `attr` and `removing` are valid under the active reference (caller).
        let kn = unsafe { bindings::sysfs_break_self(kobj, attr, removing) };
        if kn.is_null() {
            // The directory is being removed, or the module is going away.
            return Err(ENODEV);
        }
        // SAFETY: `sysfs_break_self` took a reference to `kobj`, held until `sysfs_unbreak_self`
        // below, after the last use of `obj`.
        let obj = unsafe { KobjectRef::from_raw(kobj) };
        let res = store(&data, obj, input);
        // SAFETY: `kn` came from `sysfs_break_self` above and is released exactly once. This
        // may release the kobject; neither it nor the slot (`attr`, `desc`) is used afterwards.
        unsafe { bindings::sysfs_unbreak_self(kn) };
        // Our payload reference goes last: the payload may be dropped here.
        drop(data);
        res.map(|()| written)
    })
}
