// SPDX-License-Identifier: GPL-2.0-or-later

//! Symlinks between sysfs directories (`ctl/devices/<id>@<sess>` → the disk,
//! `ctl/devices/<dev>/block_dev`).
//!
//! C header: [include/linux/sysfs.h](srctree/include/linux/sysfs.h).

use crate::bindings;
use core::ptr::NonNull;
use kernel::{error::to_result, prelude::*, str::CString};

use super::KobjectRef;

/// A symlink `name` in a directory, pointing to another directory; removed on drop.
///
/// The link holds a reference to the kobject of the directory it lives in, so it must not be
/// owned by that directory's payload (a cycle). Dropping it after its directory was removed is
/// harmless: the directory took the link with it.
///
/// # Invariants
///
/// `dir` is a kobject on which the link holds a reference; `name` is the name of a link
/// created in it, removed only in `Drop`.
pub(crate) struct Link {
    /// The directory the link lives in.
    dir: NonNull<bindings::kobject>,
    /// The link's name.
    name: CString,
}

// SAFETY: The link only holds a kobject reference and a string; sysfs locks internally.
unsafe impl Send for Link {}

// SAFETY: `&Link` gives access to nothing.
unsafe impl Sync for Link {}

impl Link {
    /// Creates the symlink `dir/name` pointing to `target`.
    ///
    /// Fails with `EEXIST` if `dir` has an entry `name`, and with an error (not a warning) if
    /// `dir` or `target` was already removed. Must not be called from an atomic context.
    pub(crate) fn new(dir: &KobjectRef, target: &KobjectRef, name: &CStr) -> Result<Self> {
        let name = CString::try_from_fmt(kernel::fmt!("{}", name))?;
        // SAFETY: Both kobjects are alive (`KobjectRef` invariant), `name` is NUL-terminated;
        // sysfs copies the name and takes its own reference to the target's node.
        to_result(unsafe {
            bindings::sysfs_create_link(dir.as_ptr(), target.as_ptr(), name.as_char_ptr())
        })?;
        // SAFETY: `dir` is alive; the reference keeps it allocated for `Drop`.
        unsafe { bindings::kobject_get(dir.as_ptr()) };
        // CAST: `KobjectRef` is a `repr(transparent)` wrapper around `bindings::kobject`.
        let dir = NonNull::from(dir).cast::<bindings::kobject>();
        // INVARIANT: The link exists and we hold a reference to `dir`.
        Ok(Self { dir, name })
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // SAFETY: Our reference keeps `dir` allocated; the helper skips the removal if the
        // directory is gone (and the link with it).
        unsafe { bindings::sysfs_remove_link_if_dir(self.dir.as_ptr(), self.name.as_char_ptr()) };
        // SAFETY: Drops the reference taken in `new`; `dir` is not used afterwards.
        unsafe { bindings::kobject_put(self.dir.as_ptr()) };
    }
}
