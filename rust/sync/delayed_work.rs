// SPDX-License-Identifier: GPL-2.0-or-later

//! Delayed work: a work item that runs on a workqueue after a delay.
//!
//! C header: [include/linux/workqueue.h](srctree/include/linux/workqueue.h).
//!
//! A [`DelayedWork`] is a field of a type `T` that lives in an [`Arc`]. While the work is
//! pending, the workqueue owns one reference to the `Arc<T>`: queueing takes it, the run
//! callback gets it back as the `Arc<T>` it passes to [`DelayedWorkItem::run`], and a cancel
//! that stops a pending work drops it. So `T` cannot be freed while its work is pending or
//! running, and an owner that wants `T` gone cancels the work first.
//!
//! ```ignore
//! #[pin_data]
//! struct Path {
//!     #[pin]
//!     hb: DelayedWork<Path>,
//! }
//! impl_has_delayed_work! { impl HasDelayedWork<0> for Path { self.hb } }
//! impl DelayedWorkItem for Path {
//!     fn run(this: Arc<Self>) { /* send a heartbeat, requeue */ }
//! }
//! // In the constructor: `hb <- new_delayed_work!("rtrs_hb")`.
//! DelayedWork::queue(&path, workqueue::system(), 1000);
//! ```

use crate::{bindings, sync::LockClassKey};
use core::marker::PhantomData;
use kernel::{prelude::*, sync::Arc, types::Opaque, workqueue::Queue};

/// What a delayed work item does when it runs, for the field with identifier `ID`.
pub(crate) trait DelayedWorkItem<const ID: u64 = 0>:
    HasDelayedWork<ID> + Send + Sync
{
    /// Runs in process context on the workqueue, with the reference the queueing took.
    fn run(this: Arc<Self>);
}

/// Says that `Self` has a [`DelayedWork<Self, ID>`] field. Implement it with
/// [`impl_has_delayed_work!`].
///
/// # Safety
///
/// `OFFSET` is the offset in bytes of a field of type `DelayedWork<Self, ID>` in `Self`.
pub(crate) unsafe trait HasDelayedWork<const ID: u64 = 0>: Sized {
    /// The offset of the `DelayedWork<Self, ID>` field.
    const OFFSET: usize;

    /// The `DelayedWork` field of `self`.
    fn delayed_work(&self) -> &DelayedWork<Self, ID> {
        let this: *const Self = self;
        // SAFETY: By the trait's safety requirement, `OFFSET` bytes into `*self` is a
        // `DelayedWork<Self, ID>`, which lives as long as `self`.
        unsafe {
            &*this
                .cast::<u8>()
                .add(Self::OFFSET)
                .cast::<DelayedWork<Self, ID>>()
        }
    }
}

/// Implements [`HasDelayedWork`] for a type and one of its `DelayedWork` fields.
macro_rules! impl_has_delayed_work {
    (impl HasDelayedWork<$id:literal> for $t:ty { self.$field:ident }) => {
        // SAFETY: `offset_of!` gives the offset of `$field`, and the function below only
        // compiles if that field is a `DelayedWork<$t, $id>`.
        unsafe impl $crate::sync::HasDelayedWork<$id> for $t {
            const OFFSET: usize = ::core::mem::offset_of!(Self, $field);
        }
        const _: fn(&$t) -> &$crate::sync::DelayedWork<$t, $id> = |t| &t.$field;
    };
}
pub(crate) use impl_has_delayed_work;

/// A new [`DelayedWork`] with its own lockdep classes, named `$name` for lockdep.
macro_rules! new_delayed_work {
    ($name:literal) => {
        $crate::sync::DelayedWork::new(
            ::kernel::c_str!($name),
            $crate::sync::static_lock_class!(),
            $crate::sync::static_lock_class!(),
        )
    };
}
pub(crate) use new_delayed_work;

/// A `struct delayed_work` embedded in a `T` that lives in an [`Arc`].
///
/// # Invariants
///
/// `dwork` was initialised with [`DelayedWork::run_callback`] as its function, and is a field
/// of a `T` at `<T as HasDelayedWork<ID>>::OFFSET`. While it is pending, the workqueue owns one
/// `Arc<T>` reference, made with `Arc::into_raw`.
#[pin_data]
#[repr(transparent)]
pub(crate) struct DelayedWork<T, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    _t: PhantomData<T>,
}

// SAFETY: Work items are queued, cancelled and run from any thread; the workqueue code does
// its own synchronisation. The `T` is only reached through an `Arc<T>` with `T: Send + Sync`.
unsafe impl<T, const ID: u64> Send for DelayedWork<T, ID> {}
// SAFETY: As above.
unsafe impl<T, const ID: u64> Sync for DelayedWork<T, ID> {}

impl<T: DelayedWorkItem<ID>, const ID: u64> DelayedWork<T, ID> {
    /// A delayed work item that calls `T::run`. Use [`new_delayed_work!`] to get fresh keys.
    pub(crate) fn new(
        name: &'static CStr,
        work_key: &'static LockClassKey,
        timer_key: &'static LockClassKey,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            // SAFETY: `slot` is valid for writes and pinned; the helper initialises the work and
            // its timer. `name` and the keys are static, as lockdep requires.
            dwork <- Opaque::ffi_init(|slot| unsafe {
                bindings::init_delayed_work(
                    slot,
                    Some(Self::run_callback),
                    name.as_char_ptr(),
                    work_key.as_ptr(),
                    timer_key.as_ptr(),
                )
            }),
            _t: PhantomData,
        })
    }

    fn raw(this: &T) -> *mut bindings::delayed_work {
        this.delayed_work().dwork.get()
    }

    /// Queues the work to run after `delay_ms` milliseconds on `wq`. Returns `false`, and
    /// changes nothing, if it was already pending.
    pub(crate) fn queue(this: &Arc<T>, wq: &Queue, delay_ms: u32) -> bool {
        let reference = Arc::into_raw(this.clone());
        // SAFETY: `msecs_to_jiffies` is a pure conversion.
        let delay = unsafe { bindings::msecs_to_jiffies(delay_ms) };
        // SAFETY: `raw` is an initialised delayed work (type invariant) that lives as long as
        // the `Arc<T>`, which the queued work keeps alive. `wq` is a valid workqueue.
        let queued = unsafe {
            bindings::queue_delayed_work_on(
                bindings::WORK_CPU_UNBOUND,
                queue_ptr(wq),
                Self::raw(this),
                delay,
            )
        };
        if !queued {
            // SAFETY: The work was already pending and owns its own reference; `reference`
            // came from `Arc::into_raw` above and nobody else has it.
            drop(unsafe { Arc::from_raw(reference) });
        }
        queued
    }

    /// Queues the work to run after `delay_ms`, or moves its timer if it was pending.
    pub(crate) fn modify(this: &Arc<T>, wq: &Queue, delay_ms: u32) {
        let reference = Arc::into_raw(this.clone());
        // SAFETY: `msecs_to_jiffies` is a pure conversion.
        let delay = unsafe { bindings::msecs_to_jiffies(delay_ms) };
        // SAFETY: As in `queue`.
        let was_pending = unsafe {
            bindings::mod_delayed_work_on(
                bindings::WORK_CPU_UNBOUND,
                queue_ptr(wq),
                Self::raw(this),
                delay,
            )
        };
        if was_pending {
            // SAFETY: The pending work already owned a reference; `reference` is ours alone.
            drop(unsafe { Arc::from_raw(reference) });
        }
    }

    /// Cancels the work if it is pending and waits for a running one to finish. Returns
    /// whether a pending work was cancelled. Must not be called from an atomic context, nor
    /// from the work itself.
    pub(crate) fn cancel_sync(this: &Arc<T>) -> bool {
        // SAFETY: `raw` is an initialised delayed work that lives as long as `this`.
        let cancelled = unsafe { bindings::cancel_delayed_work_sync(Self::raw(this)) };
        if cancelled {
            // SAFETY: The cancelled work owned one reference made by `Arc::into_raw` of an
            // `Arc` to this same `T`; it will never run, so that reference is dropped here.
            drop(unsafe { Arc::from_raw(&**this) });
        }
        cancelled
    }

    /// Cancels the work if it is pending, without waiting for a running one. Returns whether a
    /// pending work was cancelled. Callable in any context.
    pub(crate) fn cancel(this: &Arc<T>) -> bool {
        // SAFETY: `raw` is an initialised delayed work that lives as long as `this`.
        let cancelled = unsafe { bindings::cancel_delayed_work(Self::raw(this)) };
        if cancelled {
            // SAFETY: As in `cancel_sync`.
            drop(unsafe { Arc::from_raw(&**this) });
        }
        cancelled
    }

    /// Runs a pending work at once and waits until it has finished (also a running one).
    /// Returns whether it waited for something. Must not be called from an atomic context,
    /// nor from the work itself.
    pub(crate) fn flush(this: &Arc<T>) -> bool {
        // SAFETY: `raw` is an initialised delayed work that lives as long as `this`. A pending
        // work keeps its own reference and runs (dropping it) as usual.
        unsafe { bindings::flush_delayed_work(Self::raw(this)) }
    }

    /// Whether the work is pending (its timer or the work item is queued).
    pub(crate) fn is_pending(this: &Arc<T>) -> bool {
        // SAFETY: `raw` is an initialised delayed work.
        unsafe { bindings::delayed_work_pending(Self::raw(this)) }
    }

    /// The C work function: turns the work pointer back into the queued `Arc<T>`.
    ///
    /// # Safety
    ///
    /// Called by the workqueue for a work initialised by `new`, which was queued by `queue`
    /// or `modify` and so owns an `Arc<T>` reference.
    unsafe extern "C" fn run_callback(work: *mut bindings::work_struct) {
        let offset = core::mem::offset_of!(bindings::delayed_work, work);
        // CAST: `work` is the `work` field of a `delayed_work`, which is the only field of the
        // `#[repr(transparent)]` `DelayedWork<T, ID>`, which is `T::OFFSET` bytes into a `T`.
        // SAFETY: All these objects are parts of one live `T` (type invariant), so the pointer
        // arithmetic stays inside it.
        let this = unsafe { work.cast::<u8>().sub(offset).sub(T::OFFSET).cast::<T>() };
        // SAFETY: The queued work owned a reference made by `Arc::into_raw` (type invariant);
        // it is handed to `run`.
        let this = unsafe { Arc::from_raw(this) };
        T::run(this);
    }
}

/// The C pointer of a `kernel` crate workqueue.
fn queue_ptr(wq: &Queue) -> *mut bindings::workqueue_struct {
    let wq: *const Queue = wq;
    // CAST: `Queue` is a `#[repr(transparent)]` wrapper of `Opaque<workqueue_struct>`; the
    // `kernel` crate's bindings and ours describe the same C struct.
    wq.cast_mut().cast()
}
