// SPDX-License-Identifier: GPL-2.0-or-later

//! A cell whose content one owner at a time may use, taken without ever waiting.
//!
//! For state that changes hands between a submitter (process context) and a completion
//! (softirq): by protocol only one of them touches it at a time, so a real lock is never
//! contended, and a spinlock taken in both contexts would need the bottom halves disabled.
//! [`TryLock::try_lock`] either gets the content or reports that someone else has it.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value behind an atomic ownership flag.
///
/// # Invariants
///
/// `data` is accessed only through a [`TryLockGuard`], and at most one guard exists at a
/// time: the one that set `locked`.
pub(crate) struct TryLock<T> {
    locked: AtomicBool,
    data: UnsafeCell<T>,
}

// SAFETY: The content moves between threads with the guard; `T: Send` suffices.
unsafe impl<T: Send> Send for TryLock<T> {}
// SAFETY: Only one guard at a time gives access (type invariant), so sharing `&TryLock<T>`
// hands `T` from thread to thread, which `T: Send` allows.
unsafe impl<T: Send> Sync for TryLock<T> {}

impl<T> TryLock<T> {
    /// A free cell holding `data`.
    pub(crate) const fn new(data: T) -> Self {
        Self {
            locked: AtomicBool::new(false),
            data: UnsafeCell::new(data),
        }
    }

    /// The content, or `None` if another owner holds it now.
    pub(crate) fn try_lock(&self) -> Option<TryLockGuard<'_, T>> {
        if self.locked.swap(true, Ordering::Acquire) {
            return None;
        }
        // INVARIANT: We set `locked`; the guard clears it.
        Some(TryLockGuard { lock: self })
    }
}

/// Access to the content of a [`TryLock`]; gives it back when dropped.
///
/// # Invariants
///
/// This guard set `lock.locked` and is the only one.
pub(crate) struct TryLockGuard<'a, T> {
    lock: &'a TryLock<T>,
}

impl<T> core::ops::Deref for TryLockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: The only guard (type invariant) gives shared access for its borrow.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T> core::ops::DerefMut for TryLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: The only guard (type invariant) gives exclusive access for its borrow.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T> Drop for TryLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
