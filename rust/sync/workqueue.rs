// SPDX-License-Identifier: GPL-2.0-or-later

//! Workqueues a module allocates for itself.
//!
//! C header: [include/linux/workqueue.h](srctree/include/linux/workqueue.h).

use crate::bindings;
use core::{ops::BitOr, ptr::NonNull};
use kernel::{error::code::ENOMEM, prelude::*, workqueue::Queue};

/// Flags of a new workqueue (`WQ_*`).
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct WqFlags(u32);

impl WqFlags {
    /// Guarantees forward progress under memory pressure (a rescuer thread).
    pub(crate) const MEM_RECLAIM: Self = Self(bindings::WQ_MEM_RECLAIM);
    /// Work runs on high-priority workers.
    pub(crate) const HIGHPRI: Self = Self(bindings::WQ_HIGHPRI);
    /// Work is not bound to the CPU that queued it.
    pub(crate) const UNBOUND: Self = Self(bindings::WQ_UNBOUND);
}

impl BitOr for WqFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A workqueue allocated by this module, destroyed (after running what is queued) on drop.
///
/// Derefs to the `kernel` crate's [`Queue`], so both its work items and
/// [`DelayedWork`](super::DelayedWork) can be queued on it.
///
/// # Invariants
///
/// `ptr` came from `alloc_workqueue` and is destroyed only in `drop`.
pub(crate) struct OwnedQueue {
    ptr: NonNull<bindings::workqueue_struct>,
}

// SAFETY: A workqueue is used from any thread; the C code synchronises itself.
unsafe impl Send for OwnedQueue {}
// SAFETY: As above.
unsafe impl Sync for OwnedQueue {}

impl OwnedQueue {
    /// Allocates a workqueue called `name`; `max_active` 0 means the default.
    pub(crate) fn new(name: &CStr, flags: WqFlags, max_active: i32) -> Result<Self> {
        // SAFETY: `name` is a valid C string; the helper passes it as a `%s` argument, and
        // the workqueue copies the result into its own name.
        let ptr = unsafe { bindings::alloc_workqueue(name.as_char_ptr(), flags.0, max_active) };
        // INVARIANT: `ptr` came from `alloc_workqueue`.
        Ok(Self {
            ptr: NonNull::new(ptr).ok_or(ENOMEM)?,
        })
    }

    /// Waits until everything queued so far has run. Must not be called from an atomic
    /// context.
    pub(crate) fn flush(&self) {
        // SAFETY: By the type invariant `ptr` is a live workqueue.
        unsafe { bindings::__flush_workqueue(self.ptr.as_ptr()) }
    }
}

impl core::ops::Deref for OwnedQueue {
    type Target = Queue;

    fn deref(&self) -> &Queue {
        // CAST: the `kernel` crate's bindings and ours describe the same C struct.
        let ptr = self.ptr.as_ptr().cast_const().cast();
        // SAFETY: `ptr` is a live workqueue (type invariant) until `self` is dropped, which
        // the borrow prevents.
        unsafe { Queue::from_raw(ptr) }
    }
}

impl Drop for OwnedQueue {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `ptr` is live and destroyed only here. Pending work
        // runs first; items hold references to what they touch, so nothing dangles.
        unsafe { bindings::destroy_workqueue(self.ptr.as_ptr()) }
    }
}
