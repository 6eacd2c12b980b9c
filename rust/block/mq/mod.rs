// SPDX-License-Identifier: GPL-2.0-or-later

//! blk-mq: tag sets, requests and disks for request-based block drivers.
//!
//! C header: [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).
//!
//! A driver implements [`Operations`] (a `#[vtable]` trait) and builds, in this order:
//!
//! 1. optionally a [`Major`] (`register_blkdev`), kept for as long as its disks;
//! 2. an [`Arc`](kernel::sync::Arc)`<`[`TagSet`]`<T>>`: the hardware queues (default ones
//!    plus optional poll queues, mapped by the abstraction's own `map_queues`), the queue
//!    depth, and room behind every `struct request` for the driver's
//!    [`Operations::RequestData`] (the PDU, `cmd_size`);
//! 3. one [`GenDisk`] per device, from a [`GenDiskBuilder`] holding the queue limits, with
//!    the per-disk [`Operations::QueueData`] (a [`ForeignOwnable`](kernel::types::ForeignOwnable)
//!    stored as `queuedata` and `private_data`, so it reaches every callback, including the
//!    `block_device_operations` `open`, `release` and `getgeo`).
//!
//! Teardown is the reverse and is done by `Drop`: `del_gendisk`, `put_disk` (the queue data
//! is released when the disk itself is freed, `free_disk`), then the tag set when its last
//! [`Arc`](kernel::sync::Arc) goes, then the major.
//!
//! # Requests
//!
//! `queue_rq` hands the driver a [`Request`]: a unique, owning handle on a started request.
//! It is ended exactly once, by [`Request::end`] with a `Result`, or by
//! [`Request::complete`], which goes through `blk_mq_complete_request` to the driver's
//! [`Operations::complete`] (on the submitting CPU, in softirq context), which receives the
//! handle again. A handle dropped without either ends the request with `BLK_STS_IOERR`.
//! Only the owner sees the PDU and can map the data ([`Request::parts`] gives an
//! [`OwnedRef`] with `map_sg`); the timeout handler gets a [`RequestRef`], which has the
//! read-only accessors only.

//!
//! # Example
//!
//! The shape of a driver (doctests are not compiled out of tree; the compiled user is
//! `tools/testing/selftest/block_test.rs`):
//!
//! ```ignore
//! struct MyOps;
//!
//! #[vtable]
//! impl mq::Operations for MyOps {
//!     type RequestData = MyIu;          // what C `rnbd-clt` keeps in `struct rnbd_iu`
//!     type QueueData = Arc<MyDev>;      // `q->queuedata` and `disk->private_data`
//!
//!     fn init_request_data() -> Result<MyIu> {
//!         Ok(MyIu { sg: SgTable::new(MAX_SEGS, GFP_KERNEL)? })
//!     }
//!
//!     fn queue_rq(
//!         dev: ArcBorrow<'_, MyDev>,
//!         _hctx: &HwCtx,
//!         mut rq: Request<Self>,
//!         _last: bool,
//!     ) -> core::result::Result<(), Busy<Self>> {
//!         let Some(permit) = dev.try_get_permit() else {
//!             return Err(Busy { rq, dev_resource: true });
//!         };
//!         let (r, iu) = rq.parts();
//!         let mapped = match r.map_sg(&mut iu.sg) { ... };
//!         dev.send(permit, rq)                // ends `rq` from the transport completion
//!     }
//! }
//!
//! let set = Arc::pin_init(TagSet::<MyOps>::new(nr_cpus, nr_poll, depth, 0), GFP_KERNEL)?;
//! let disk = GenDiskBuilder::new()
//!     .block_sizes(lbs, pbs)
//!     .max_hw_sectors(max_sectors)
//!     .write_cache(true)
//!     .fua(true)
//!     .capacity_sectors(nsectors)
//!     .devt(major.major(), index * 64, 64)
//!     .build(module, name, set.clone(), dev)?;
//! ```

mod gen_disk;
mod major;
mod operations;
mod request;
mod sg;
mod tag_set;

pub(crate) use gen_disk::{GenDisk, GenDiskBuilder};
pub(crate) use major::Major;
pub(crate) use operations::{Busy, Geometry, HwCtx, Operations, TimeoutAction};
pub(crate) use request::{OwnedRef, ReqOp, Request, RequestRef};
pub(crate) use sg::{MappedSg, Segment, SgTable};
pub(crate) use tag_set::TagSet;
