// SPDX-License-Identifier: GPL-2.0-or-later

//! Rate-limited error messages: [`pr_err_ratelimited!`], as C's `pr_err_ratelimited`.
//!
//! C header: [include/linux/ratelimit_types.h](srctree/include/linux/ratelimit_types.h).
//!
//! The 6.12 `kernel` crate has no rate-limited printing, and a C `struct ratelimit_state`
//! needs a spinlock initialised at run time. [`RateLimit`] is the same policy in atomics, so
//! that each call site can own one in a plain `static`: at most [`BURST`] messages per
//! [`INTERVAL_MS`], the rest dropped and counted in the first message of the next interval.

use core::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use kernel::time::Ktime;

/// `DEFAULT_RATELIMIT_INTERVAL`: 5 s.
pub(crate) const INTERVAL_MS: i64 = 5000;
/// `DEFAULT_RATELIMIT_BURST`: messages per interval.
pub(crate) const BURST: u32 = 10;

/// The message budget of one call site.
///
/// Races between CPUs may let a message more or less through around an interval's start;
/// the budget is a guide for log volume, not a guarantee.
pub(crate) struct RateLimit {
    /// Start of the current interval in ms of `ktime_get`; 0 before the first message.
    start_ms: AtomicI64,
    /// Messages asked for in the current interval.
    asked: AtomicU32,
    /// Messages dropped in earlier intervals, not reported yet.
    missed: AtomicU32,
}

impl RateLimit {
    /// A fresh budget, for a `static`.
    pub(crate) const fn new() -> Self {
        Self {
            start_ms: AtomicI64::new(0),
            asked: AtomicU32::new(0),
            missed: AtomicU32::new(0),
        }
    }

    /// Whether one more message may go out now. `Some(n)`: yes, and `n` messages were
    /// dropped since the last one that went out.
    pub(crate) fn check(&self) -> Option<u32> {
        let now = Ktime::ktime_get().to_ms().max(1);
        let start = self.start_ms.load(Ordering::Relaxed);
        if start == 0 || now - start >= INTERVAL_MS {
            if self
                .start_ms
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                let over = self.asked.swap(0, Ordering::Relaxed).saturating_sub(BURST);
                self.missed.fetch_add(over, Ordering::Relaxed);
            }
        }
        if self.asked.fetch_add(1, Ordering::Relaxed) < BURST {
            Some(self.missed.swap(0, Ordering::Relaxed))
        } else {
            None
        }
    }
}

/// `pr_err!` with a budget of its own call site ([`RateLimit`]).
macro_rules! pr_err_ratelimited {
    ($($arg:tt)*) => {{
        static LIMIT: $crate::ratelimit::RateLimit = $crate::ratelimit::RateLimit::new();
        if let Some(missed) = LIMIT.check() {
            if missed != 0 {
                ::kernel::pr_warn!("{} messages suppressed\n", missed);
            }
            ::kernel::pr_err!($($arg)*);
        }
    }};
}
pub(crate) use pr_err_ratelimited;
