// SPDX-License-Identifier: GPL-2.0-or-later

//! A registered block major number.
//!
//! C header: [include/linux/blkdev.h](srctree/include/linux/blkdev.h).

use crate::bindings;
use kernel::{error::to_result, prelude::*, str::CStr};

/// A block major registered with `register_blkdev`, listed in `/proc/devices`.
///
/// Disks using the major must be dropped before it.
///
/// # Invariants
///
/// `major` was registered under `name` by this object and is unregistered in `drop`.
pub(crate) struct Major {
    /// The major number.
    major: u32,
    /// The name it was registered under; C keeps the pointer.
    name: &'static CStr,
}

impl Major {
    /// Registers `name` with a dynamically chosen major (`register_blkdev(0, name)`).
    pub(crate) fn new(name: &'static CStr) -> Result<Self> {
        // SAFETY: `name` is NUL-terminated and `'static`, as C keeps the pointer.
        let ret = unsafe { bindings::register_blkdev(0, name.as_char_ptr()) };
        to_result(ret)?;
        // INVARIANT: With major 0, a positive return value is the registered major.
        // CAST: `to_result` let through only `ret >= 0`.
        Ok(Self {
            major: ret as u32,
            name,
        })
    }

    /// The major number.
    pub(crate) fn major(&self) -> u32 {
        self.major
    }
}

impl Drop for Major {
    fn drop(&mut self) {
        // SAFETY: `major` was registered under `name` by `new` (type invariant).
        unsafe { bindings::unregister_blkdev(self.major, self.name.as_char_ptr()) };
    }
}
