// SPDX-License-Identifier: GPL-2.0-or-later

//! Block devices opened by path, bios, and blk-mq disks.
//!
//! C headers: [include/linux/blkdev.h](srctree/include/linux/blkdev.h),
//! [include/linux/bio.h](srctree/include/linux/bio.h),
//! [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).
//!
//! The RNBD server opens a block device by path ([`bdev::Bdev`]) and submits bios over the
//! RTRS chunk buffers ([`bio::Bio`]); the RNBD client is a blk-mq driver ([`mq`]). The 6.12
//! `kernel::block::mq` is too thin for that (no per-request data, no status other than OK,
//! no queue limits): this layer is the project's own, over the project's bindings.
//!
//! Glossary: *bdev* is a `struct block_device`, *bio* a block I/O, *hctx* a blk-mq hardware
//! queue context, *PDU* the driver's per-request data behind each `struct request`, *sector*
//! 512 bytes whatever the logical block size.

pub(crate) mod bdev;
pub(crate) mod bio;
pub(crate) mod mq;
mod status;

pub(crate) use status::{status_to_result, to_blk_status};

/// The shift from bytes to 512-byte sectors (`SECTOR_SHIFT`).
pub(crate) const SECTOR_SHIFT: u32 = crate::bindings::SECTOR_SHIFT;

/// The size of a sector in bytes (`SECTOR_SIZE`).
pub(crate) const SECTOR_SIZE: usize = 1 << SECTOR_SHIFT;
