// SPDX-License-Identifier: GPL-2.0-or-later

//! A value published once, read without locks by holders of a pass, and taken back by its
//! owner once every pass has been returned.
//!
//! For objects that must be reachable from any context (hardirq included) on a hot path,
//! but that only one owner may tear down, in process context: the owner [`Gate::open`]s the
//! gate with the value; users [`Gate::enter`] and read it through the [`Pass`] they get (an
//! atomic increment, no lock, no allocation); the owner [`Gate::shut`]s the gate (no new
//! passes), [`Gate::wait_drained_ms`] until the last pass is dropped, and [`Gate::take`]s the
//! value back to drop it where dropping may sleep. A pass is not tied to a borrow: it may be
//! stored and dropped later, in another context, as a reference count is.
//!
//! The value may refer back to the object that holds the gate (a reference cycle): taking it
//! out breaks the cycle.

use super::Completion;
use core::cell::UnsafeCell;
use core::mem::MaybeUninit;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, Ordering};
use kernel::prelude::*;

/// `open` is storing the value.
const OPENING: u32 = 1 << 31;
/// The value is there (until taken).
const OPEN: u32 = 1 << 30;
/// No new passes.
const SHUT: u32 = 1 << 29;
/// Shut with no pass left, and known to be so by the owner.
const DRAINED: u32 = 1 << 28;
/// The value was taken out.
const TAKEN: u32 = 1 << 27;
/// Passes out.
const COUNT: u32 = TAKEN - 1;

/// A once-published value with counted lock-free readers.
///
/// # Invariants
///
/// * `value` is written only by [`Gate::open`] while `OPENING` is set (no pass exists then),
///   and moved out only by [`Gate::take`] after setting `TAKEN`, when `DRAINED` says no pass
///   exists and none can be created, or dropped by `drop`; otherwise it is only read,
///   through passes.
/// * `value` is initialised exactly while `OPEN` is set and `TAKEN` is not.
/// * The `COUNT` bits of `state` are the number of live [`Pass`]es, each of which holds a
///   pointer to this gate; the gate never moves (it is only initialised in place, pinned)
///   and is not freed while passes exist (`drop` waits for them).
/// * `drained` is completed (for everyone) by the pass that brings the count to zero after
///   `SHUT` was set while passes existed.
#[pin_data(PinnedDrop)]
pub(crate) struct Gate<T: Send + Sync> {
    state: AtomicU32,
    value: UnsafeCell<MaybeUninit<T>>,
    #[pin]
    drained: Completion,
}

// SAFETY: Passes hand out `&T` to other threads (`T: Sync`), and the value may be taken out
// on another thread than the one that put it in (`T: Send`).
unsafe impl<T: Send + Sync> Send for Gate<T> {}
// SAFETY: As above; all shared-state changes are atomic and the value is only read while it
// may be shared (type invariant).
unsafe impl<T: Send + Sync> Sync for Gate<T> {}

impl<T: Send + Sync> Gate<T> {
    /// An empty gate: [`Gate::enter`] fails until [`Gate::open`].
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            state: AtomicU32::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            drained <- Completion::new(),
        })
    }

    /// Publishes `value`. Gives it back if the gate was opened or shut before.
    pub(crate) fn open(&self, value: T) -> core::result::Result<(), T> {
        if self
            .state
            .compare_exchange(0, OPENING, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return Err(value);
        }
        // SAFETY: We set `OPENING` from the initial state: no pass exists or can be created
        // (`OPEN` is clear), and nobody else writes the cell (type invariant).
        unsafe { (*self.value.get()).write(value) };
        // INVARIANT: `OPENING` off and `OPEN` on together (a `shut` meanwhile only added
        // `SHUT`); the value is initialised.
        self.state.fetch_xor(OPENING | OPEN, Ordering::Release);
        Ok(())
    }

    /// A pass to the value, if the gate is open and not shut. Any context.
    pub(crate) fn enter(&self) -> Option<Pass<T>> {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & (OPEN | SHUT | TAKEN) != OPEN || s & COUNT == COUNT {
                return None;
            }
            match self
                .state
                .compare_exchange_weak(s, s + 1, Ordering::Acquire, Ordering::Relaxed)
            {
                // INVARIANT: Counted above; the gate does not move (type invariant).
                Ok(_) => {
                    return Some(Pass {
                        gate: NonNull::from(self),
                    })
                }
                Err(now) => s = now,
            }
        }
    }

    /// Whether the gate was shut.
    pub(crate) fn is_shut(&self) -> bool {
        self.state.load(Ordering::Acquire) & SHUT != 0
    }

    /// Stops handing out passes; those out stay valid. Any context.
    pub(crate) fn shut(&self) {
        let prev = self.state.fetch_or(SHUT, Ordering::AcqRel);
        if prev & SHUT == 0 && prev & COUNT == 0 {
            // No pass can complete `drained`: the owner may go on at once.
            self.state.fetch_or(DRAINED, Ordering::AcqRel);
        }
    }

    /// Waits at most `ms` milliseconds until every pass is back; `EINVAL` if the gate is not
    /// shut, `ETIMEDOUT` if passes remain. Sleeps.
    pub(crate) fn wait_drained_ms(&self, ms: u32) -> Result {
        let s = self.state.load(Ordering::Acquire);
        if s & SHUT == 0 {
            return Err(EINVAL);
        }
        if s & DRAINED != 0 {
            return Ok(());
        }
        // Completed only after the count reached zero; the completing pass touches nothing
        // after `complete_all` returns, which is before this wait can return.
        self.drained.wait_timeout_ms(ms)?;
        self.state.fetch_or(DRAINED, Ordering::AcqRel);
        Ok(())
    }

    /// The value, once the gate is shut and drained ([`Gate::wait_drained_ms`]); `None` if
    /// not yet drained, never opened, being opened, or already taken.
    pub(crate) fn take(&self) -> Option<T> {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & (OPEN | DRAINED | TAKEN | OPENING) != (OPEN | DRAINED) {
                return None;
            }
            match self.state.compare_exchange_weak(
                s,
                s | TAKEN,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(now) => s = now,
            }
        }
        // SAFETY: `OPEN` without `TAKEN` before our exchange: initialised. Drained and shut:
        // no pass exists or can be created; we set `TAKEN`, so nobody else reads or drops it
        // again (type invariant).
        Some(unsafe { (*self.value.get()).assume_init_read() })
    }
}

#[pinned_drop]
impl<T: Send + Sync> PinnedDrop for Gate<T> {
    fn drop(self: Pin<&mut Self>) {
        // Passes point here: wait for them (only a misuse leaves any; this then sleeps).
        self.shut();
        while self.wait_drained_ms(1000).is_err() {
            pr_warn!("gate dropped with passes out: waiting\n");
        }
        let s = self.state.load(Ordering::Acquire);
        if s & (OPEN | TAKEN) == OPEN {
            // SAFETY: Initialised (`OPEN` without `TAKEN`), no pass left, and the gate is going
            // (`&mut`): dropped once, here.
            unsafe { (*self.value.get()).assume_init_drop() };
        }
    }
}

/// A counted right to read the value of a [`Gate`]; dropping it gives it back.
///
/// # Invariants
///
/// `gate` points at a gate whose count includes this pass, hence whose value is initialised.
pub(crate) struct Pass<T: Send + Sync> {
    gate: NonNull<Gate<T>>,
}

// SAFETY: A pass only gives `&T` (`T: Sync`) and its drop is an atomic decrement plus a
// `complete_all`, both fine from any thread.
unsafe impl<T: Send + Sync> Send for Pass<T> {}
// SAFETY: `&Pass<T>` gives only `&T`.
unsafe impl<T: Send + Sync> Sync for Pass<T> {}

impl<T: Send + Sync> Pass<T> {
    /// The gate.
    fn gate(&self) -> &Gate<T> {
        // SAFETY: The gate outlives its passes and does not move (type invariants).
        unsafe { self.gate.as_ref() }
    }
}

impl<T: Send + Sync> core::ops::Deref for Pass<T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: While this pass exists the value is initialised and only read (`Gate`
        // invariants).
        unsafe { (*self.gate().value.get()).assume_init_ref() }
    }
}

impl<T: Send + Sync> Drop for Pass<T> {
    fn drop(&mut self) {
        let gate = self.gate();
        let prev = gate.state.fetch_sub(1, Ordering::AcqRel);
        if prev & SHUT != 0 && prev & COUNT == 1 {
            // The last pass after `shut`: the owner waits for this. Nothing of the gate is
            // touched after it.
            gate.drained.complete_all();
        }
    }
}
