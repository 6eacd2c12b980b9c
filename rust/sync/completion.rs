// SPDX-License-Identifier: GPL-2.0-or-later

//! Completions: one side waits, possibly with a timeout, until the other signals.
//!
//! C header: [include/linux/completion.h](srctree/include/linux/completion.h).

use crate::{bindings, error::errno};
use kernel::{prelude::*, types::Opaque};

/// A `struct completion`.
///
/// # Invariants
///
/// `inner` was initialised by `init_completion` and, being pinned, never moves.
#[pin_data]
pub(crate) struct Completion {
    #[pin]
    inner: Opaque<bindings::completion>,
}

// SAFETY: A completion is meant to be signalled and waited on from any thread; its state is
// protected by its own wait-queue lock.
unsafe impl Send for Completion {}
// SAFETY: As above: every operation takes the completion's internal lock.
unsafe impl Sync for Completion {}

impl Completion {
    /// A completion that is not done yet.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes and pinned; `init_completion` initialises all
            // of it.
            inner <- Opaque::ffi_init(|slot| unsafe { bindings::init_completion(slot) }),
        })
    }

    /// Wakes one waiter, or lets the next wait return at once. Callable in any context.
    pub(crate) fn complete(&self) {
        // SAFETY: By the type invariant `inner` is an initialised completion.
        unsafe { bindings::complete(self.inner.get()) }
    }

    /// Wakes every waiter, now and in the future, until [`Self::reinit`].
    pub(crate) fn complete_all(&self) {
        // SAFETY: By the type invariant `inner` is an initialised completion.
        unsafe { bindings::complete_all(self.inner.get()) }
    }

    /// Makes the completion not done again. The caller ensures no one is waiting on it.
    pub(crate) fn reinit(&self) {
        // SAFETY: By the type invariant `inner` is an initialised completion; resetting the
        // count while nobody waits is what `reinit_completion` is for.
        unsafe { bindings::reinit_completion(self.inner.get()) }
    }

    /// Whether the completion is done (a wait would not block).
    pub(crate) fn is_done(&self) -> bool {
        // SAFETY: By the type invariant `inner` is an initialised completion.
        unsafe { bindings::completion_done(self.inner.get()) }
    }

    /// Waits, uninterruptibly, until the completion is done. Must not be called from an
    /// atomic context.
    pub(crate) fn wait(&self) {
        // SAFETY: By the type invariant `inner` is an initialised completion.
        unsafe { bindings::wait_for_completion(self.inner.get()) }
    }

    /// Waits at most `ms` milliseconds; `ETIMEDOUT` if the completion was not done by then.
    /// Must not be called from an atomic context.
    pub(crate) fn wait_timeout_ms(&self, ms: u32) -> Result {
        // SAFETY: `msecs_to_jiffies` is a pure conversion.
        let timeout = unsafe { bindings::msecs_to_jiffies(ms) };
        // SAFETY: By the type invariant `inner` is an initialised completion.
        let left = unsafe { bindings::wait_for_completion_timeout(self.inner.get(), timeout) };
        if left == 0 {
            Err(errno!(ETIMEDOUT))
        } else {
            Ok(())
        }
    }
}
