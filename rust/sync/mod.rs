// SPDX-License-Identifier: GPL-2.0-or-later

//! Completions, waiting with a timeout, delayed work, module-owned workqueues and gates
//! (lock-free counted readers of a value its owner takes back): what the 6.12 `kernel` crate
//! lacks.
//!
//! C headers: [include/linux/completion.h](srctree/include/linux/completion.h),
//! [include/linux/workqueue.h](srctree/include/linux/workqueue.h).

mod completion;
mod delayed_work;
mod gate;
mod global;
mod lock_class;
mod rcu;
mod sleep;
mod trylock;
mod workqueue;

pub(crate) use completion::Completion;
pub(crate) use delayed_work::{impl_has_delayed_work, new_delayed_work};
pub(crate) use delayed_work::{DelayedWork, DelayedWorkItem, HasDelayedWork};
pub(crate) use gate::{Gate, Pass};
pub(crate) use global::GlobalArc;
pub(crate) use lock_class::static_lock_class;
pub(crate) use lock_class::LockClassKey;
pub(crate) use rcu::RcuArc;
pub(crate) use sleep::msleep;
pub(crate) use trylock::{TryLock, TryLockGuard};
pub(crate) use workqueue::{OwnedQueue, WqFlags};
