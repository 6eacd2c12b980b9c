// SPDX-License-Identifier: GPL-2.0-or-later

//! Device classes (`/sys/class/<name>`).
//!
//! C header: [include/linux/device/class.h](srctree/include/linux/device/class.h).

use crate::bindings;
use core::ptr::NonNull;
use kernel::{error::from_err_ptr, prelude::*, sync::Arc};

/// A registered device class, `/sys/class/<name>` (`rtrs-client`, `rnbd-server`, …).
///
/// Shared as an `Arc`: every [`super::Device`] of the class holds one, so the class is
/// destroyed after its last device is released.
///
/// # Invariants
///
/// `ptr` is a class returned by `class_create` and not yet destroyed; it is destroyed exactly
/// once, in `Drop`.
pub(crate) struct Class {
    /// The C class.
    ptr: NonNull<bindings::class>,
}

// SAFETY: The class is only created, used as the class of new devices, and destroyed; the
// driver core serialises all of that itself.
unsafe impl Send for Class {}

// SAFETY: `&Class` only hands out the pointer to the driver core, which locks internally.
unsafe impl Sync for Class {}

impl Class {
    /// Registers the class `name`.
    ///
    /// Must not be called from an atomic context.
    pub(crate) fn new(name: &'static CStr) -> Result<Arc<Self>> {
        // SAFETY: `name` is a NUL-terminated string that outlives the class (`'static`).
        let ptr = from_err_ptr(unsafe { bindings::class_create(name.as_char_ptr()) })?;
        // INVARIANT: Just created; `from_err_ptr` rejected error pointers and
        // `class_create` never returns NULL otherwise.
        let ptr = NonNull::new(ptr).ok_or(ENOMEM)?;
        Ok(Arc::new(Self { ptr }, GFP_KERNEL)?)
    }

    /// The C class, for the devices of this module.
    pub(super) fn as_ptr(&self) -> *const bindings::class {
        self.ptr.as_ptr()
    }
}

impl Drop for Class {
    fn drop(&mut self) {
        // SAFETY: Created by `class_create` and destroyed only here (type invariant). Every
        // device of the class held an `Arc` to `self`, so none is left.
        unsafe { bindings::class_destroy(self.ptr.as_ptr()) };
    }
}
