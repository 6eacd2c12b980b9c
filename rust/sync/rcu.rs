// SPDX-License-Identifier: GPL-2.0-or-later

//! An RCU-protected slot holding at most one `Arc<T>`: read on hot paths without a lock or a
//! reference count, replaced rarely from process context.
//!
//! C header: [include/linux/rcupdate.h](srctree/include/linux/rcupdate.h).
//!
//! Readers run a closure inside `rcu_read_lock()`/`rcu_read_unlock()` and see either the old
//! or the new object; a writer swaps the pointer and waits for a grace period
//! (`synchronize_rcu`) before it gives the old `Arc` back, so no reader still uses it then.
//! This is how C RTRS protects its path list (`list_for_each_entry_rcu`) and how it makes
//! sure "all IO paths observe !CONNECTED" before a path's connections go.

use crate::bindings;
use core::mem::ManuallyDrop;
use core::sync::atomic::{AtomicPtr, Ordering};
use kernel::sync::Arc;

/// A slot for one `Arc<T>` under RCU: [`RcuArc::read`], [`RcuArc::get`],
/// [`RcuArc::replace`].
///
/// # Invariants
///
/// `ptr` is NULL or comes from `Arc::into_raw` and owns that reference. A pointer taken out
/// of the slot is turned back into an `Arc` (and possibly freed) only after a grace period,
/// so a reader inside an RCU read-side section may use the pointer it loaded.
pub(crate) struct RcuArc<T: Send + Sync> {
    ptr: AtomicPtr<T>,
}

// SAFETY: The slot hands out references to `T` across threads; `T: Send + Sync`.
unsafe impl<T: Send + Sync> Sync for RcuArc<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Send for RcuArc<T> {}

/// An RCU read-side critical section, left when dropped.
struct ReadGuard;

impl ReadGuard {
    fn new() -> Self {
        // SAFETY: Enters a read-side section; any context. Left by `drop`.
        unsafe { bindings::rcu_read_lock() };
        Self
    }
}

impl Drop for ReadGuard {
    fn drop(&mut self) {
        // SAFETY: Entered by `new` on this task/CPU.
        unsafe { bindings::rcu_read_unlock() };
    }
}

impl<T: Send + Sync> RcuArc<T> {
    /// A slot holding `value`.
    pub(crate) fn new(value: Option<Arc<T>>) -> Self {
        // INVARIANT: The pointer owns the reference `into_raw` gave up.
        Self {
            ptr: AtomicPtr::new(value.map_or(core::ptr::null_mut(), |v| v.into_raw().cast_mut())),
        }
    }

    /// Runs `f` on the object in the slot (or `None`) inside an RCU read-side section: `f`
    /// must not sleep. Callable in any context; takes no lock and no reference.
    pub(crate) fn read<R>(&self, f: impl FnOnce(Option<&Arc<T>>) -> R) -> R {
        let _g = ReadGuard::new();
        let raw = self.ptr.load(Ordering::Acquire);
        if raw.is_null() {
            return f(None);
        }
        // SAFETY: `raw` came from `into_raw` (type invariant) and is not freed before a grace
        // period, which cannot end while `_g` lives. `ManuallyDrop` keeps the slot's count.
        let arc = ManuallyDrop::new(unsafe { Arc::from_raw(raw) });
        f(Some(&arc))
    }

    /// A new reference on the object in the slot, if any. Any context.
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        self.read(|a| a.cloned())
    }

    /// Puts `value` into the slot and returns what it held once no reader can still see
    /// it. Sleeps (`synchronize_rcu`): process context only.
    pub(crate) fn replace(&self, value: Option<Arc<T>>) -> Option<Arc<T>> {
        let new = value.map_or(core::ptr::null_mut(), |v| v.into_raw().cast_mut());
        // INVARIANT: `new` owns the reference `into_raw` gave up.
        let old = self.ptr.swap(new, Ordering::AcqRel);
        if old.is_null() {
            return None;
        }
        // SAFETY: Waits for every read-side section that may have loaded `old`.
        unsafe { bindings::synchronize_rcu() };
        // SAFETY: `old` owned the slot's reference (type invariant), now ours; no reader
        // uses it any more.
        Some(unsafe { Arc::from_raw(old) })
    }
}

impl<T: Send + Sync> Drop for RcuArc<T> {
    fn drop(&mut self) {
        let raw = *self.ptr.get_mut();
        if !raw.is_null() {
            // SAFETY: With `&mut self` no reader of this slot exists; `raw` owns the slot's
            // reference (type invariant).
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}
