// SPDX-License-Identifier: GPL-2.0-or-later

//! Sleeping for a while.
//!
//! C header: [include/linux/delay.h](srctree/include/linux/delay.h).

use crate::bindings;

/// Sleeps at least `ms` milliseconds (`msleep`). Process context only.
pub(crate) fn msleep(ms: u32) {
    // SAFETY: Plain sleep; callers are in process context (documented requirement).
    unsafe { bindings::msleep(ms) }
}
