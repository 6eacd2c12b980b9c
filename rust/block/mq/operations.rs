// SPDX-License-Identifier: GPL-2.0-or-later

//! The driver's side of blk-mq and of `block_device_operations`, and the C tables.
//!
//! C header: [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).
//!
//! A driver implements [`Operations`]; `OperationsVTable<T>` turns it into a
//! `struct blk_mq_ops` and the callbacks of a `struct block_device_operations`. Every
//! callback borrows the disk's [`Operations::QueueData`] from `queuedata` (blk-mq) or
//! `private_data` (block device operations), which hold the same pointer.

use super::{gen_disk, Request, RequestRef};
use crate::bindings;
use core::marker::PhantomData;
use kernel::{
    error::{from_result, VTABLE_DEFAULT_ERROR},
    prelude::*,
    types::{ForeignOwnable, Opaque},
};

/// The borrowed form of a driver's queue data.
pub(crate) type QueueDataRef<'a, T> =
    <<T as Operations>::QueueData as ForeignOwnable>::Borrowed<'a>;

/// What `queue_rq` gives back when it cannot take a request now.
///
/// The request is handed back to blk-mq (`BLK_STS_RESOURCE`), which requeues it and runs
/// the queue again later; `dev_resource` says that the driver itself will rerun the queue
/// (`BLK_STS_DEV_RESOURCE`, e.g. when a permit is freed).
pub(crate) struct Busy<T: Operations> {
    /// The request, given back.
    pub(crate) rq: Request<T>,
    /// Whether the driver reruns the queue itself.
    pub(crate) dev_resource: bool,
}

/// The answer of a timeout handler (`enum blk_eh_timer_return`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeoutAction {
    /// `BLK_EH_RESET_TIMER`: the request stays with the driver; the timer is restarted.
    ResetTimer,
    /// `BLK_EH_DONE`: the driver has ended the request (through its [`Request`] handle) or
    /// will do so.
    Done,
}

/// A disk geometry for `HDIO_GETGEO` (`struct hd_geometry` without `start`, which the
/// block layer fills in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// Heads.
    pub(crate) heads: u8,
    /// Sectors per track.
    pub(crate) sectors: u8,
    /// Cylinders.
    pub(crate) cylinders: u16,
}

/// A hardware queue context (`struct blk_mq_hw_ctx`).
///
/// # Invariants
///
/// The context belongs to a live request queue for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct HwCtx(Opaque<bindings::blk_mq_hw_ctx>);

impl HwCtx {
    /// Creates a reference from a raw context.
    ///
    /// # Safety
    ///
    /// `ptr` is a context of a live queue for `'a`.
    unsafe fn from_raw<'a>(ptr: *mut bindings::blk_mq_hw_ctx) -> &'a Self {
        // CAST: `HwCtx` is a transparent wrapper of `blk_mq_hw_ctx`.
        // SAFETY: Valid for `'a` per the safety requirements.
        unsafe { &*ptr.cast::<Self>() }
    }

    /// The index of the queue in the tag set (`queue_num`): default queues first, then
    /// poll queues.
    pub(crate) fn index(&self) -> u32 {
        // SAFETY: The context is valid (type invariant); `queue_num` is set at init.
        unsafe { (*self.0.get()).queue_num }
    }

    /// Whether this is a poll queue (`HCTX_TYPE_POLL`): its requests are completed by
    /// [`Operations::poll`], not by an interrupt.
    pub(crate) fn is_poll(&self) -> bool {
        // SAFETY: The context is valid (type invariant); `type` is set at init.
        u32::from(unsafe { (*self.0.get()).type_ }) == bindings::hctx_type_HCTX_TYPE_POLL
    }
}

/// A blk-mq driver.
///
/// Mandatory: `init_request_data` and `queue_rq`; the others are optional (`#[vtable]`)
/// and left to the block layer's defaults when not implemented.
#[vtable]
pub(crate) trait Operations: Sized + 'static {
    /// The per-request data (PDU) behind every `struct request`, created once per request
    /// when the tag set is allocated and dropped when it is freed.
    type RequestData: Send + Sync;

    /// The per-disk data, reachable from every callback of the disk; released when the
    /// disk is freed.
    type QueueData: ForeignOwnable + Send + Sync;

    /// Creates the data of one request (`init_request`). May sleep.
    fn init_request_data() -> Result<Self::RequestData>;

    /// Takes a started request (`queue_rq`). Called in atomic context. `is_last` is false
    /// when more requests follow at once. Ending the request with an error is done through
    /// [`Request::end`]; [`Busy`] hands it back to be retried.
    fn queue_rq(
        queue_data: QueueDataRef<'_, Self>,
        hctx: &HwCtx,
        rq: Request<Self>,
        is_last: bool,
    ) -> core::result::Result<(), Busy<Self>>;

    /// Gets back a request passed to [`Request::complete`] (`complete`), in softirq or
    /// interrupt context.
    fn complete(_queue_data: QueueDataRef<'_, Self>, _rq: Request<Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// Polls a poll queue (`poll`) and returns the number of requests it ended.
    fn poll(_queue_data: QueueDataRef<'_, Self>, _hctx: &HwCtx) -> u32 {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// A request has been in flight for longer than the tag set's timeout (`timeout`).
    fn timeout(_queue_data: QueueDataRef<'_, Self>, _rq: &RequestRef) -> TimeoutAction {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// The disk is opened (`block_device_operations.open`); `write` tells whether for
    /// writing. An error refuses the open. May sleep.
    fn open(_queue_data: QueueDataRef<'_, Self>, _write: bool) -> Result {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// The disk is closed (`release`). May sleep.
    fn release(_queue_data: QueueDataRef<'_, Self>) {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }

    /// The geometry for `HDIO_GETGEO` of a disk of `capacity` sectors (`getgeo`).
    fn getgeo(_queue_data: QueueDataRef<'_, Self>, _capacity: u64) -> Result<Geometry> {
        kernel::build_error(VTABLE_DEFAULT_ERROR)
    }
}

/// The C tables and trampolines of an [`Operations`] implementation.
pub(crate) struct OperationsVTable<T: Operations>(PhantomData<T>);

impl<T: Operations> OperationsVTable<T> {
    /// Borrows the queue data of a request queue.
    ///
    /// # Safety
    ///
    /// `q` is the live queue of a disk built by `GenDiskBuilder::build::<T>`, whose
    /// `queuedata` came from `T::QueueData::into_foreign` and is released only when the
    /// disk is freed, after the last callback.
    unsafe fn queue_data<'a>(q: *mut bindings::request_queue) -> QueueDataRef<'a, T> {
        // SAFETY: Per the safety requirements, `queuedata` is a live foreign `QueueData`.
        unsafe { T::QueueData::borrow((*q).queuedata) }
    }

    /// Borrows the queue data of a disk through `private_data`.
    ///
    /// # Safety
    ///
    /// `disk` was built by `GenDiskBuilder::build::<T>` and is not freed yet.
    unsafe fn disk_data<'a>(disk: *mut bindings::gendisk) -> QueueDataRef<'a, T> {
        // SAFETY: `private_data` holds the same foreign `QueueData` as `queuedata`,
        // released only in `free_disk`.
        unsafe { T::QueueData::borrow((*disk).private_data) }
    }

    /// `queue_rq`.
    ///
    /// # Safety
    ///
    /// Called by blk-mq with a live context and a request of the tag set, not started,
    /// owned by the driver until it is ended or handed back.
    unsafe extern "C" fn queue_rq_callback(
        hctx: *mut bindings::blk_mq_hw_ctx,
        bd: *const bindings::blk_mq_queue_data,
    ) -> bindings::blk_status_t {
        // SAFETY: `bd` is valid for the call.
        let (rq, last) = unsafe { ((*bd).rq, (*bd).last) };
        // SAFETY: `rq` is a request of this tag set, handed to the driver.
        unsafe { bindings::blk_mq_start_request(rq) };
        // SAFETY: The request is started and its PDU initialised by `init_request`;
        // ownership goes to the driver.
        let rq = unsafe { Request::<T>::from_raw(rq) };
        // SAFETY: `hctx` is live for the call.
        let hctx = unsafe { HwCtx::from_raw(hctx) };
        // SAFETY: The queue belongs to a disk of `T` (see `GenDiskBuilder::build`).
        let qd = unsafe { Self::queue_data((*hctx.0.get()).queue) };
        match T::queue_rq(qd, hctx, rq, last) {
            // CAST: `BLK_STS_OK` is 0.
            Ok(()) => bindings::BLK_STS_OK as bindings::blk_status_t,
            Err(busy) => {
                // Ownership goes back to blk-mq, which requeues the request.
                let _ = busy.rq.into_raw();
                if busy.dev_resource {
                    bindings::BLK_STS_DEV_RESOURCE
                } else {
                    bindings::BLK_STS_RESOURCE
                }
            }
        }
    }

    /// `complete`.
    ///
    /// # Safety
    ///
    /// Called by blk-mq for a request passed to `blk_mq_complete_request` by
    /// [`Request::complete`], which gave up ownership.
    unsafe extern "C" fn complete_callback(rq: *mut bindings::request) {
        // SAFETY: The request was handed over by `Request::complete`; ownership returns.
        let rq = unsafe { Request::<T>::from_raw(rq) };
        // SAFETY: The request's queue belongs to a disk of `T`.
        let qd = unsafe { Self::queue_data((*rq.as_raw()).q) };
        T::complete(qd, rq);
    }

    /// `poll`.
    ///
    /// # Safety
    ///
    /// Called by blk-mq with a live poll context.
    unsafe extern "C" fn poll_callback(
        hctx: *mut bindings::blk_mq_hw_ctx,
        _iob: *mut bindings::io_comp_batch,
    ) -> kernel::ffi::c_int {
        // SAFETY: `hctx` is live for the call.
        let hctx = unsafe { HwCtx::from_raw(hctx) };
        // SAFETY: The queue belongs to a disk of `T`.
        let qd = unsafe { Self::queue_data((*hctx.0.get()).queue) };
        // CAST: At most the queue depth, far below `i32::MAX`; saturate anyway.
        i32::try_from(T::poll(qd, hctx)).unwrap_or(i32::MAX)
    }

    /// `timeout`.
    ///
    /// # Safety
    ///
    /// Called by blk-mq with a started request that holds a reference for the call.
    unsafe extern "C" fn timeout_callback(
        rq: *mut bindings::request,
    ) -> bindings::blk_eh_timer_return {
        // SAFETY: The request is started and referenced for the call.
        let rqref = unsafe { RequestRef::from_raw(rq) };
        // SAFETY: The request's queue belongs to a disk of `T`.
        let qd = unsafe { Self::queue_data((*rq).q) };
        match T::timeout(qd, rqref) {
            TimeoutAction::ResetTimer => bindings::blk_eh_timer_return_BLK_EH_RESET_TIMER,
            TimeoutAction::Done => bindings::blk_eh_timer_return_BLK_EH_DONE,
        }
    }

    /// `map_queues`: default queues first, then poll queues, as null_blk does.
    ///
    /// # Safety
    ///
    /// Called by blk-mq with a tag set of `T` being set up or updated.
    unsafe extern "C" fn map_queues_callback(set: *mut bindings::blk_mq_tag_set) {
        // SAFETY: The set is valid; `driver_data` holds the number of poll queues
        // (see `TagSet::new`).
        // CAST: The pointer-sized value came from a `u32`.
        let (nr_maps, nr_hw, nr_poll) = unsafe {
            (
                (*set).nr_maps,
                (*set).nr_hw_queues,
                (*set).driver_data as usize as u32,
            )
        };
        let mut offset = 0;
        for i in 0..nr_maps.min(bindings::hctx_type_HCTX_MAX_TYPES) {
            let nr = match i {
                bindings::hctx_type_HCTX_TYPE_DEFAULT => nr_hw - nr_poll,
                bindings::hctx_type_HCTX_TYPE_POLL => nr_poll,
                _ => 0,
            };
            // CAST: `i < nr_maps <= HCTX_MAX_TYPES` (3).
            let i = i as usize;
            // SAFETY: `map` has `HCTX_MAX_TYPES` entries, `i` is below `nr_maps`.
            let map = unsafe { &mut (*set).map[i] };
            map.nr_queues = nr;
            if nr == 0 {
                // The read map shares the default queues; blk-mq copies the default map.
                continue;
            }
            map.queue_offset = offset;
            offset += nr;
            // SAFETY: `map` is a queue map of the set with `nr_queues` and `queue_offset`
            // set; `blk_mq_map_queues` fills `mq_map`.
            unsafe { bindings::blk_mq_map_queues(map) };
        }
    }

    /// `init_request`: writes a new `T::RequestData` into the PDU.
    ///
    /// # Safety
    ///
    /// Called by blk-mq once per request of a tag set whose `cmd_size` is the size of
    /// `T::RequestData`, before the request is used.
    unsafe extern "C" fn init_request_callback(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: kernel::ffi::c_uint,
        _numa_node: kernel::ffi::c_uint,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            let data = T::init_request_data()?;
            // SAFETY: The PDU is `cmd_size` bytes, suitably aligned (blk-mq aligns it to
            // the request, whose alignment is at least a pointer's; `TagSet::new` checks
            // that `T::RequestData` needs no more), and uninitialised.
            unsafe {
                bindings::blk_mq_rq_to_pdu(rq)
                    .cast::<T::RequestData>()
                    .write(data)
            };
            Ok(0)
        })
    }

    /// `exit_request`: drops the `T::RequestData` in the PDU.
    ///
    /// # Safety
    ///
    /// Called by blk-mq once per request whose `init_request` succeeded, when the request
    /// is freed.
    unsafe extern "C" fn exit_request_callback(
        _set: *mut bindings::blk_mq_tag_set,
        rq: *mut bindings::request,
        _hctx_idx: kernel::ffi::c_uint,
    ) {
        // SAFETY: The PDU holds the data written by `init_request`, dropped once here.
        unsafe {
            core::ptr::drop_in_place(bindings::blk_mq_rq_to_pdu(rq).cast::<T::RequestData>())
        };
    }

    /// `block_device_operations.open`.
    ///
    /// # Safety
    ///
    /// Called by the block layer with a live disk of `T`.
    unsafe extern "C" fn open_callback(
        disk: *mut bindings::gendisk,
        mode: bindings::blk_mode_t,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: The disk is a live disk of `T`.
            let qd = unsafe { Self::disk_data(disk) };
            T::open(qd, mode & bindings::BLK_OPEN_WRITE != 0)?;
            Ok(0)
        })
    }

    /// `block_device_operations.release`.
    ///
    /// # Safety
    ///
    /// Called by the block layer with a live disk of `T`.
    unsafe extern "C" fn release_callback(disk: *mut bindings::gendisk) {
        // SAFETY: The disk is a live disk of `T`.
        T::release(unsafe { Self::disk_data(disk) });
    }

    /// `block_device_operations.getgeo`.
    ///
    /// # Safety
    ///
    /// Called by the block layer with an open block device of a disk of `T` and a zeroed
    /// geometry whose `start` is set.
    unsafe extern "C" fn getgeo_callback(
        bdev: *mut bindings::block_device,
        geo: *mut bindings::hd_geometry,
    ) -> kernel::ffi::c_int {
        from_result(|| {
            // SAFETY: `bdev` is open, so its disk is live.
            let disk = unsafe { (*bdev).bd_disk };
            // SAFETY: The disk is a live disk of `T`.
            let qd = unsafe { Self::disk_data(disk) };
            // SAFETY: The disk is live.
            let capacity = unsafe { bindings::get_capacity(disk) };
            let g = T::getgeo(qd, capacity)?;
            // SAFETY: `geo` is valid for writes for the call.
            unsafe {
                (*geo).heads = g.heads;
                (*geo).sectors = g.sectors;
                (*geo).cylinders = g.cylinders;
            }
            Ok(0)
        })
    }

    /// `block_device_operations.free_disk`: the disk is gone; release the queue data and
    /// the operations table.
    ///
    /// # Safety
    ///
    /// Called by the block layer once, when the last reference to an added disk of `T` is
    /// dropped.
    unsafe extern "C" fn free_disk_callback(disk: *mut bindings::gendisk) {
        // SAFETY: The disk was built by `GenDiskBuilder::build::<T>` and is being freed;
        // nothing uses its queue data or table after this call.
        unsafe { gen_disk::release_disk_data::<T>(disk) };
    }

    /// The `blk_mq_ops` of `T`.
    pub(crate) const MQ_OPS: bindings::blk_mq_ops = bindings::blk_mq_ops {
        queue_rq: Some(Self::queue_rq_callback),
        complete: if T::HAS_COMPLETE {
            Some(Self::complete_callback)
        } else {
            None
        },
        poll: if T::HAS_POLL {
            Some(Self::poll_callback)
        } else {
            None
        },
        timeout: if T::HAS_TIMEOUT {
            Some(Self::timeout_callback)
        } else {
            None
        },
        map_queues: Some(Self::map_queues_callback),
        init_request: Some(Self::init_request_callback),
        exit_request: Some(Self::exit_request_callback),
        commit_rqs: None,
        queue_rqs: None,
        get_budget: None,
        put_budget: None,
        set_rq_budget_token: None,
        get_rq_budget_token: None,
        init_hctx: None,
        exit_hctx: None,
        cleanup_rq: None,
        busy: None,
    };

    /// The `block_device_operations` of `T`, without `owner`, which
    /// `GenDiskBuilder::build` sets in its per-disk copy.
    pub(crate) fn block_ops() -> bindings::block_device_operations {
        bindings::block_device_operations {
            open: if T::HAS_OPEN {
                Some(Self::open_callback)
            } else {
                None
            },
            release: if T::HAS_RELEASE {
                Some(Self::release_callback)
            } else {
                None
            },
            getgeo: if T::HAS_GETGEO {
                Some(Self::getgeo_callback)
            } else {
                None
            },
            free_disk: Some(Self::free_disk_callback),
            ..Default::default()
        }
    }
}
