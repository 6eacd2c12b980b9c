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
//! Only the owner sees the PDU; the timeout handler gets a [`RequestRef`], which has the
//! read-only accessors but no PDU.

mod gen_disk;
mod major;
mod operations;
mod request;
mod sg;
mod tag_set;

pub(crate) use gen_disk::{GenDisk, GenDiskBuilder};
pub(crate) use major::Major;
pub(crate) use operations::{Busy, Geometry, HwCtx, Operations, TimeoutAction};
pub(crate) use request::{ReqOp, Request, RequestRef};
pub(crate) use sg::{Segment, SgTable};
pub(crate) use tag_set::TagSet;
