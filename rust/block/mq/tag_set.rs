// SPDX-License-Identifier: GPL-2.0-or-later

//! Tag sets: the hardware queues and requests shared by the disks of a driver.
//!
//! C header: [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).

use super::operations::{Operations, OperationsVTable};
use crate::bindings;
use core::{marker::PhantomData, pin::Pin};
use kernel::{error::to_result, prelude::*, types::Opaque};

/// A blk-mq tag set (`struct blk_mq_tag_set`) for driver `T`.
///
/// Built with [`TagSet::new`] into an [`Arc`](kernel::sync::Arc) (`Arc::pin_init`), which
/// every [`GenDisk`](super::GenDisk) of the set holds, so it is freed after its disks.
///
/// # Invariants
///
/// `inner` was initialised by `blk_mq_alloc_tag_set` with `T`'s operations, `cmd_size`
/// equal to the size of `T::RequestData` and `driver_data` holding the number of poll
/// queues; it is freed in `drop`.
#[pin_data(PinnedDrop)]
pub(crate) struct TagSet<T: Operations> {
    /// The C tag set; blk-mq keeps pointers to it, hence pinned.
    #[pin]
    inner: Opaque<bindings::blk_mq_tag_set>,
    /// The driver.
    _p: PhantomData<T>,
}

// SAFETY: The tag set is used by blk-mq from any CPU under its own locks; `&self` gives
// only its address.
unsafe impl<T: Operations> Send for TagSet<T> {}
// SAFETY: As above.
unsafe impl<T: Operations> Sync for TagSet<T> {}

impl<T: Operations> TagSet<T> {
    /// A tag set with `nr_hw_queues` default queues plus `nr_poll_queues` poll queues
    /// (`HCTX_TYPE_POLL`), `queue_depth` tags per queue and a request timeout of
    /// `timeout_jiffies` (0: the block layer's default of 30 s).
    ///
    /// With poll queues, the set has all three queue maps and disks of it get
    /// `BLK_FEAT_POLL`. May sleep.
    pub(crate) fn new(
        nr_hw_queues: u32,
        nr_poll_queues: u32,
        queue_depth: u32,
        timeout_jiffies: u32,
    ) -> impl PinInit<Self, Error> {
        let raw = Self::raw(nr_hw_queues, nr_poll_queues, queue_depth, timeout_jiffies);
        try_pin_init!(TagSet {
            inner <- PinInit::<_, Error>::pin_chain(Opaque::new(raw?), |tag_set| {
                // SAFETY: The closure does not move out of `tag_set`.
                let tag_set = unsafe { Pin::get_unchecked_mut(tag_set) };
                // SAFETY: `tag_set` is pinned and holds a filled-in `blk_mq_tag_set`.
                to_result(unsafe { bindings::blk_mq_alloc_tag_set(tag_set.get()) })
            }),
            _p: PhantomData,
        })
    }

    /// The C tag set before `blk_mq_alloc_tag_set`.
    fn raw(nr_hw: u32, nr_poll: u32, depth: u32, timeout: u32) -> Result<bindings::blk_mq_tag_set> {
        if nr_hw == 0 || depth == 0 {
            return Err(EINVAL);
        }
        // The PDU follows the request at its alignment; more would need padding here.
        if core::mem::align_of::<T::RequestData>() > core::mem::align_of::<bindings::request>() {
            return Err(EINVAL);
        }
        let cmd_size = u32::try_from(core::mem::size_of::<T::RequestData>())?;
        let nr_maps = if nr_poll > 0 {
            bindings::hctx_type_HCTX_MAX_TYPES
        } else {
            1
        };
        Ok(bindings::blk_mq_tag_set {
            ops: &OperationsVTable::<T>::MQ_OPS,
            nr_hw_queues: nr_hw.checked_add(nr_poll).ok_or(EINVAL)?,
            nr_maps,
            queue_depth: depth,
            cmd_size,
            numa_node: kernel::bindings::NUMA_NO_NODE,
            timeout,
            flags: bindings::BLK_MQ_F_SHOULD_MERGE,
            // CAST: `map_queues_callback` reads the number of poll queues back from here.
            driver_data: nr_poll as usize as *mut kernel::ffi::c_void,
            ..Default::default()
        })
    }

    /// The raw tag set, for building disks.
    pub(crate) fn as_raw(&self) -> *mut bindings::blk_mq_tag_set {
        self.inner.get()
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for TagSet<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The set was allocated (type invariant); its disks, which hold an `Arc` on
        // it, are gone, so no queue uses it any more.
        unsafe { bindings::blk_mq_free_tag_set(self.inner.get()) };
    }
}
