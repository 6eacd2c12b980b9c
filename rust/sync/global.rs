// SPDX-License-Identifier: GPL-2.0-or-later

//! A module-global slot holding at most one `Arc<T>`.
//!
//! Some C callbacks get no context pointer at all (the `add` of an `ib_client` gets only the
//! device), so the object they need must be reachable from a `static`, as in C. The 6.12
//! `kernel` crate has no statically initialised lock; the slot therefore uses one spinlock
//! per module, defined in `rust/helpers/sync.c`, held (interrupts off) only while a reference
//! count is taken: the slot may be read from any context.

use crate::bindings;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::error::code::*;
use kernel::prelude::*;
use kernel::sync::Arc;

/// A `static` slot for one `Arc<T>`: [`GlobalArc::set`], [`GlobalArc::get`],
/// [`GlobalArc::take`].
///
/// # Invariants
///
/// `ptr` is NULL or comes from `Arc::into_raw` and owns that reference. It is changed and
/// turned into a new reference only under the module's global slot lock.
pub(crate) struct GlobalArc<T: Send + Sync + 'static> {
    ptr: AtomicPtr<T>,
}

// SAFETY: The slot hands out `Arc<T>` clones across threads; `T: Send + Sync`.
unsafe impl<T: Send + Sync + 'static> Sync for GlobalArc<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync + 'static> Send for GlobalArc<T> {}

/// Runs `f` under the module's global slot lock.
fn locked<R>(f: impl FnOnce() -> R) -> R {
    // SAFETY: Plain spinlock of this module (interrupts off while held); `f` below does not
    // sleep nor take it again (it only moves or clones references; dropping an `Arc` is
    // done outside).
    let flags = unsafe { bindings::global_slot_lock() };
    let r = f();
    // SAFETY: Taken just above by this task, with these saved flags.
    unsafe { bindings::global_slot_unlock(flags) };
    r
}

impl<T: Send + Sync + 'static> GlobalArc<T> {
    /// An empty slot, for a `static`.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
        }
    }

    /// Puts `value` into the slot; `EBUSY` (and `value` dropped) if it holds one already.
    pub(crate) fn set(&self, value: Arc<T>) -> Result {
        let raw = value.into_raw().cast_mut();
        let ok = locked(|| {
            if self.ptr.load(Ordering::Relaxed).is_null() {
                // INVARIANT: `raw` owns the reference `into_raw` gave up.
                self.ptr.store(raw, Ordering::Relaxed);
                true
            } else {
                false
            }
        });
        if !ok {
            // SAFETY: `raw` came from `into_raw` above and was not stored.
            drop(unsafe { Arc::from_raw(raw) });
            return Err(EBUSY);
        }
        Ok(())
    }

    /// A new reference on the object in the slot, if any.
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        locked(|| {
            let raw = self.ptr.load(Ordering::Relaxed);
            if raw.is_null() {
                return None;
            }
            // SAFETY: Under the lock the slot's reference cannot go away; `raw` came from
            // `into_raw` (type invariant).
            let borrowed = unsafe { kernel::sync::ArcBorrow::from_raw(raw) };
            Some(Arc::from(borrowed))
        })
    }

    /// Empties the slot and returns what it held.
    pub(crate) fn take(&self) -> Option<Arc<T>> {
        let raw = locked(|| self.ptr.swap(core::ptr::null_mut(), Ordering::Relaxed));
        // SAFETY: `raw` owned the slot's reference (type invariant), now ours.
        (!raw.is_null()).then(|| unsafe { Arc::from_raw(raw) })
    }
}
