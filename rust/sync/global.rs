// SPDX-License-Identifier: GPL-2.0-or-later

//! A module-wide slot for one `Arc`, set at module load and emptied at unload.
//!
//! For what C keeps in a `static` (a module's class, its workqueue) and entry points that
//! C callers reach without a context pointer need.

use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::sync::Arc;

/// A slot holding an `Arc<T>` or nothing.
///
/// # Invariants
///
/// `ptr` is NULL or comes from `Arc::into_raw` and owns that reference. `readers` counts
/// the [`Global::get`] calls between their increment and decrement; [`Global::take`] takes
/// the reference back only once no reader may still be turning the pointer into an `Arc`.
pub(crate) struct Global<T> {
    ptr: AtomicPtr<T>,
    readers: AtomicUsize,
}

impl<T: Send + Sync> Global<T> {
    /// An empty slot.
    pub(crate) const fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(core::ptr::null_mut()),
            readers: AtomicUsize::new(0),
        }
    }

    /// Puts `value` into the slot; returns it back if the slot is full.
    pub(crate) fn set(&self, value: Arc<T>) -> core::result::Result<(), Arc<T>> {
        let raw = Arc::into_raw(value).cast_mut();
        match self.ptr.compare_exchange(
            core::ptr::null_mut(),
            raw,
            Ordering::SeqCst,
            Ordering::SeqCst,
        ) {
            // INVARIANT: The slot owns the reference `into_raw` gave up.
            Ok(_) => Ok(()),
            // SAFETY: `raw` came from `into_raw` just above and was not stored.
            Err(_) => Err(unsafe { Arc::from_raw(raw) }),
        }
    }

    /// A new reference to the content, if any.
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        self.readers.fetch_add(1, Ordering::SeqCst);
        let raw = self.ptr.load(Ordering::SeqCst);
        let out = (!raw.is_null()).then(|| {
            // SAFETY: `raw` is the slot's reference, which `take` does not release while
            // `readers` is non-zero (it cleared the slot before waiting for readers).
            unsafe { kernel::sync::ArcBorrow::from_raw(raw) }.into()
        });
        self.readers.fetch_sub(1, Ordering::SeqCst);
        out
    }

    /// Empties the slot and returns its content. Spins while a `get` is in progress.
    pub(crate) fn take(&self) -> Option<Arc<T>> {
        let raw = self.ptr.swap(core::ptr::null_mut(), Ordering::SeqCst);
        if raw.is_null() {
            return None;
        }
        while self.readers.load(Ordering::SeqCst) != 0 {
            core::hint::spin_loop();
        }
        // SAFETY: `raw` came from `into_raw` (type invariant); the slot no longer has it
        // and no reader uses it any more.
        Some(unsafe { Arc::from_raw(raw) })
    }
}
