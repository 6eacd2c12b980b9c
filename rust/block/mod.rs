// SPDX-License-Identifier: GPL-2.0-or-later

//! Block devices opened by path, bios, and blk-mq disks.
//!
//! C headers: [include/linux/blkdev.h](srctree/include/linux/blkdev.h),
//! [include/linux/bio.h](srctree/include/linux/bio.h),
//! [include/linux/blk-mq.h](srctree/include/linux/blk-mq.h).
