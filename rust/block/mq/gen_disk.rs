// SPDX-License-Identifier: GPL-2.0-or-later

//! Disks of a blk-mq driver: queue limits, capacity, and the `block_device_operations`.
//!
//! C headers: [include/linux/blkdev.h](srctree/include/linux/blkdev.h),
//! [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).

use super::{operations::OperationsVTable, Operations, TagSet};
use crate::{bindings, block::SECTOR_SHIFT};
use core::ptr::NonNull;
use kernel::{
    error::{from_err_ptr, to_result},
    prelude::*,
    str::CStr,
    sync::Arc,
    types::{ForeignOwnable, ScopeGuard},
    ThisModule,
};

/// The queue limits and identity of a disk to build.
///
/// Unset limits keep the block layer's defaults (`blk_validate_limits`), e.g. 512-byte
/// blocks and no discard.
#[derive(Default)]
pub(crate) struct GenDiskBuilder {
    /// The C limits handed to `blk_mq_alloc_disk`.
    lim: bindings::queue_limits,
    /// The size in sectors.
    capacity: u64,
    /// Whether the disk is read-only (`set_disk_ro`).
    read_only: bool,
    /// The major and first minor, and the number of minors; `None`: a dynamic
    /// (extended) device number.
    devt: Option<(u32, u32, u32)>,
}

impl GenDiskBuilder {
    /// A builder with default limits, capacity 0 and a dynamic device number.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The logical and physical block sizes in bytes (powers of two, 512 to `PAGE_SIZE`).
    pub(crate) fn block_sizes(mut self, logical: u32, physical: u32) -> Self {
        self.lim.logical_block_size = logical;
        self.lim.physical_block_size = physical;
        self
    }

    /// The largest request in sectors (`max_hw_sectors`).
    pub(crate) fn max_hw_sectors(mut self, sectors: u32) -> Self {
        self.lim.max_hw_sectors = sectors;
        self
    }

    /// The most segments per request (`max_segments`).
    pub(crate) fn max_segments(mut self, segments: u16) -> Self {
        self.lim.max_segments = segments;
        self
    }

    /// The largest segment in bytes (`max_segment_size`).
    pub(crate) fn max_segment_size(mut self, bytes: u32) -> Self {
        self.lim.max_segment_size = bytes;
        self
    }

    /// The optimal request size in bytes (`io_opt`).
    pub(crate) fn io_opt(mut self, bytes: u32) -> Self {
        self.lim.io_opt = bytes;
        self
    }

    /// Segments must not cross this boundary within a request (`virt_boundary_mask`, a
    /// power of two minus one), as for RDMA memory registration of whole pages.
    pub(crate) fn virt_boundary_mask(mut self, mask: u64) -> Self {
        // CAST: `unsigned long` is 64 bits on the kernels this builds for.
        self.lim.virt_boundary_mask = mask as kernel::ffi::c_ulong;
        self
    }

    /// A read-only disk (`set_disk_ro`): opening it for writing fails.
    pub(crate) fn read_only(mut self, on: bool) -> Self {
        self.read_only = on;
        self
    }

    /// Discard support: the largest discard in sectors, the granularity and alignment in
    /// bytes.
    pub(crate) fn discard(mut self, max_sectors: u32, granularity: u32, alignment: u32) -> Self {
        self.lim.max_hw_discard_sectors = max_sectors;
        self.lim.discard_granularity = granularity;
        self.lim.discard_alignment = alignment;
        self
    }

    /// Write-zeroes support: the largest in sectors.
    pub(crate) fn max_write_zeroes_sectors(mut self, sectors: u32) -> Self {
        self.lim.max_write_zeroes_sectors = sectors;
        self
    }

    /// Secure erase support: the largest in sectors.
    pub(crate) fn max_secure_erase_sectors(mut self, sectors: u32) -> Self {
        self.lim.max_secure_erase_sectors = sectors;
        self
    }

    /// A volatile write cache (`BLK_FEAT_WRITE_CACHE`): flushes reach the driver.
    pub(crate) fn write_cache(mut self, on: bool) -> Self {
        self.set_feature(bindings::BLK_FEAT_WRITE_CACHE, on);
        self
    }

    /// Forced unit access (`BLK_FEAT_FUA`): `REQ_FUA` reaches the driver.
    pub(crate) fn fua(mut self, on: bool) -> Self {
        self.set_feature(bindings::BLK_FEAT_FUA, on);
        self
    }

    /// A rotational device (`BLK_FEAT_ROTATIONAL`).
    pub(crate) fn rotational(mut self, on: bool) -> Self {
        self.set_feature(bindings::BLK_FEAT_ROTATIONAL, on);
        self
    }

    /// Sets or clears a feature bit.
    fn set_feature(&mut self, bit: bindings::blk_features_t, on: bool) {
        if on {
            self.lim.features |= bit;
        } else {
            self.lim.features &= !bit;
        }
    }

    /// The size in 512-byte sectors.
    pub(crate) fn capacity_sectors(mut self, sectors: u64) -> Self {
        self.capacity = sectors;
        self
    }

    /// A device number from a registered major: `minors` minors from `first_minor`.
    pub(crate) fn devt(mut self, major: u32, first_minor: u32, minors: u32) -> Self {
        self.devt = Some((major, first_minor, minors));
        self
    }

    /// Builds the disk `name` on `tag_set`, with `queue_data`, and adds it (`add_disk`):
    /// from here it is visible to user space and receives I/O. May sleep.
    pub(crate) fn build<T: Operations>(
        mut self,
        module: &'static ThisModule,
        name: &CStr,
        tag_set: Arc<TagSet<T>>,
        queue_data: T::QueueData,
    ) -> Result<GenDisk<T>> {
        let name = name.as_bytes_with_nul();
        if name.len() > usize::try_from(bindings::DISK_NAME_LEN)? {
            return Err(EINVAL);
        }
        // The C fields are `int`; a disk with a major needs at least one minor.
        let devt = match self.devt {
            Some((major, first, minors)) if minors > 0 => Some((
                i32::try_from(major)?,
                i32::try_from(first)?,
                i32::try_from(minors)?,
            )),
            Some(_) => return Err(EINVAL),
            None => None,
        };
        // The operations table, per disk because `owner` is only known at run time; freed
        // with the queue data in `free_disk`, or below on failure.
        let mut fops = KBox::new(OperationsVTable::<T>::block_ops(), GFP_KERNEL)?;
        // CAST: The kernel crate's `struct module` and ours are the same C type.
        fops.owner = module.as_ptr().cast();
        let fops = KBox::into_raw(fops);
        let data = queue_data.into_foreign();
        let unwind_data = ScopeGuard::new(|| {
            // SAFETY: `data` and `fops` came from `into_foreign` / `into_raw` above and
            // no disk that could use them was added.
            unsafe {
                drop(T::QueueData::from_foreign(data));
                drop(KBox::from_raw(fops));
            }
        });

        // SAFETY: The tag set is allocated and pinned in its `Arc`; `lim` is a valid
        // limits struct; `data` stays valid until `free_disk` (or the unwinding above).
        let disk = unsafe {
            from_err_ptr(bindings::blk_mq_alloc_disk(
                tag_set.as_raw(),
                &mut self.lim,
                data.cast_mut(),
            ))
        }?;
        let put = ScopeGuard::new_with_data(disk, |disk| {
            // SAFETY: `disk` was allocated above and not added.
            unsafe { bindings::put_disk(disk) };
        });

        // SAFETY: The disk is allocated and not added yet: nothing else uses it.
        unsafe {
            let d = &mut *disk;
            if let Some((major, first_minor, minors)) = devt {
                d.major = major;
                d.first_minor = first_minor;
                d.minors = minors;
            }
            d.fops = fops;
            d.private_data = data.cast_mut();
            for (dst, src) in d.disk_name.iter_mut().zip(name) {
                // CAST: Bytes of a C string, `c_char` being `i8` or `u8` by architecture.
                *dst = *src as kernel::ffi::c_char;
            }
            bindings::set_capacity(disk, self.capacity);
            if self.read_only {
                bindings::set_disk_ro(disk, true);
            }
        }

        // SAFETY: The disk is fully set up; no parent device, no attribute groups.
        to_result(unsafe {
            bindings::device_add_disk(core::ptr::null_mut(), disk, core::ptr::null_mut())
        })?;
        // From here `put_disk` releases `data` and `fops` through `free_disk`.
        unwind_data.dismiss();
        let disk = put.dismiss();
        // INVARIANT: The disk was allocated and added above, with `data` and `fops`.
        Ok(GenDisk {
            // SAFETY: `from_err_ptr` let through a valid pointer.
            disk: unsafe { NonNull::new_unchecked(disk) },
            _tag_set: tag_set,
        })
    }
}

/// Releases the queue data and operations table of a disk built for `T`.
///
/// # Safety
///
/// `disk` was built by [`GenDiskBuilder::build::<T>`] and is being freed (`free_disk`):
/// no callback uses its queue data or table any more, and this is called once.
pub(crate) unsafe fn release_disk_data<T: Operations>(disk: *mut bindings::gendisk) {
    // SAFETY: Per the safety requirements, both pointers came from `build` and are
    // released once, here.
    unsafe {
        drop(T::QueueData::from_foreign((*disk).private_data));
        (*disk).private_data = core::ptr::null_mut();
        // The table is not read after `free_disk` returns (`disk_release`).
        drop(KBox::from_raw((*disk).fops.cast_mut()));
    }
}

/// An added disk of driver `T`.
///
/// Dropping it removes the disk (`del_gendisk`: no more I/O, requests drained), drops this
/// reference (`put_disk`; the queue data goes when the last one does), then the tag set
/// reference. Drop order is the field order.
///
/// # Invariants
///
/// `disk` was allocated on `_tag_set` by `blk_mq_alloc_disk` and added; this object holds
/// one reference to it.
pub(crate) struct GenDisk<T: Operations> {
    /// The disk.
    disk: NonNull<bindings::gendisk>,
    /// The tag set; freed after the disk.
    _tag_set: Arc<TagSet<T>>,
}

// SAFETY: A disk may be used and removed from any thread; C locks what it changes.
unsafe impl<T: Operations> Send for GenDisk<T> {}
// SAFETY: `&self` methods call C functions that take their own locks.
unsafe impl<T: Operations> Sync for GenDisk<T> {}

impl<T: Operations> GenDisk<T> {
    /// The request queue.
    fn queue(&self) -> *mut bindings::request_queue {
        // SAFETY: The disk is live (type invariant).
        unsafe { (*self.disk.as_ptr()).queue }
    }

    /// The disk's device directory (`/sys/block/<name>`), as the parent of a driver's own
    /// directory or the target of a symlink.
    pub(crate) fn kobject(&self) -> &crate::sysfs::KobjectRef {
        // SAFETY: The disk is live (type invariant), so is its whole-disk block device
        // `part0` and the kobject of its `struct device`, for as long as `self` is borrowed.
        unsafe {
            crate::sysfs::KobjectRef::from_raw(core::ptr::addr_of_mut!(
                (*(*self.disk.as_ptr()).part0).bd_device.kobj
            ))
        }
    }

    /// The size in sectors (`get_capacity`).
    pub(crate) fn capacity(&self) -> u64 {
        // SAFETY: The disk is live (type invariant).
        unsafe { bindings::get_capacity(self.disk.as_ptr()) }
    }

    /// The size in bytes.
    pub(crate) fn capacity_bytes(&self) -> u64 {
        self.capacity() << SECTOR_SHIFT
    }

    /// Changes the size and tells user space (`set_capacity_and_notify`: a `RESIZE=1`
    /// uevent and a "detected capacity change" line). May sleep.
    pub(crate) fn set_capacity_and_notify(&self, sectors: u64) {
        // SAFETY: The disk is live and added (type invariant).
        unsafe { bindings::set_capacity_and_notify(self.disk.as_ptr(), sectors) };
    }

    /// Stops all hardware queues (`blk_mq_stop_hw_queues`): no more `queue_rq` calls until
    /// they are started again.
    pub(crate) fn stop_hw_queues(&self) {
        // SAFETY: The queue is live while the disk is (type invariant).
        unsafe { bindings::blk_mq_stop_hw_queues(self.queue()) };
    }

    /// Starts the stopped hardware queues (`blk_mq_start_stopped_hw_queues`), running them
    /// from a work item if `run_async`.
    pub(crate) fn start_stopped_hw_queues(&self, run_async: bool) {
        // SAFETY: The queue is live while the disk is (type invariant).
        unsafe { bindings::blk_mq_start_stopped_hw_queues(self.queue(), run_async) };
    }

    /// Runs all hardware queues (`blk_mq_run_hw_queues`).
    pub(crate) fn run_hw_queues(&self, run_async: bool) {
        // SAFETY: The queue is live while the disk is (type invariant).
        unsafe { bindings::blk_mq_run_hw_queues(self.queue(), run_async) };
    }
}

impl<T: Operations> Drop for GenDisk<T> {
    fn drop(&mut self) {
        // SAFETY: The disk was added (type invariant) and is removed once, here.
        unsafe { bindings::del_gendisk(self.disk.as_ptr()) };
        // SAFETY: This object's reference is dropped once, here; `free_disk` releases the
        // queue data when it is the last one.
        unsafe { bindings::put_disk(self.disk.as_ptr()) };
    }
}
