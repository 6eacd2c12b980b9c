// SPDX-License-Identifier: GPL-2.0-or-later

//! Lockdep class keys for the C objects initialised through `rust/helpers/`.
//!
//! The `kernel` crate's `LockClassKey` cannot hand its pointer to out-of-tree code in 6.12, so
//! the project has its own, with the same rules.

use crate::bindings;
use kernel::types::Opaque;

/// A lockdep class key: one per call site that initialises a lock-like C object.
///
/// # Invariants
///
/// A `LockClassKey` only exists in static storage (see [`static_lock_class!`]), as lockdep
/// requires of a key it was not given by `lockdep_register_key`.
#[repr(transparent)]
pub(crate) struct LockClassKey(Opaque<bindings::lock_class_key>);

// SAFETY: `lock_class_key` is used concurrently by lockdep, which does its own synchronisation.
unsafe impl Sync for LockClassKey {}

impl LockClassKey {
    /// Creates a key. Only for [`static_lock_class!`], which places it in static storage.
    #[doc(hidden)]
    pub(crate) const fn new_static() -> Self {
        // INVARIANT: the only caller, `static_lock_class!`, assigns the result to a `static`.
        Self(Opaque::uninit())
    }

    /// The C pointer, for the helpers that take a key.
    pub(crate) fn as_ptr(&self) -> *mut bindings::lock_class_key {
        self.0.get()
    }
}

/// A new lockdep class key in static storage, one per macro call site.
macro_rules! static_lock_class {
    () => {{
        static CLASS: $crate::sync::LockClassKey = $crate::sync::LockClassKey::new_static();
        &CLASS
    }};
}
pub(crate) use static_lock_class;
