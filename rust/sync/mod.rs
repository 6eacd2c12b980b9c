// SPDX-License-Identifier: GPL-2.0-or-later

//! Completions, waiting with a timeout, and delayed work: what the 6.12 `kernel` crate lacks.
//!
//! C headers: [include/linux/completion.h](srctree/include/linux/completion.h),
//! [include/linux/workqueue.h](srctree/include/linux/workqueue.h).
