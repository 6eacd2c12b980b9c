/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel headers the project's own bindgen run covers: RDMA verbs and CM, block layer,
 * bios, scatterlists, sysfs/kobject/device classes, inet addresses, and the workqueue and
 * completion pieces the 6.12 kernel crate lacks, and the C tracepoints of the modules
 * (rnbd_rs_trace.h). Sorted alphabetically.
 */

#include <linux/bio.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/device/class.h>
#include <linux/dma-mapping.h>
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hdreg.h>
#include <linux/inet.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/jiffies.h>
#include <linux/kobject.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/workqueue.h>
#include <rdma/ib.h>
#include <rdma/ib_cm.h>
#include <rdma/ib_verbs.h>
#include <rdma/rdma_cm.h>
#include <rnbd_rs_trace.h>
#include <rtrs.h>

/* Constants bindgen cannot evaluate; renamed by the sed in Kbuild. */
const gfp_t RUST_CONST_HELPER_GFP_KERNEL = GFP_KERNEL;
const gfp_t RUST_CONST_HELPER_GFP_NOIO = GFP_NOIO;
const gfp_t RUST_CONST_HELPER_GFP_ATOMIC = GFP_ATOMIC;
const gfp_t RUST_CONST_HELPER___GFP_ZERO = __GFP_ZERO;
const size_t RUST_CONST_HELPER_PAGE_SIZE = PAGE_SIZE;
const blk_opf_t RUST_CONST_HELPER_REQ_FUA = REQ_FUA;
const blk_opf_t RUST_CONST_HELPER_REQ_PREFLUSH = REQ_PREFLUSH;
const blk_opf_t RUST_CONST_HELPER_REQ_SYNC = REQ_SYNC;
const blk_opf_t RUST_CONST_HELPER_REQ_OP_MASK = REQ_OP_MASK;
const blk_features_t RUST_CONST_HELPER_BLK_FEAT_WRITE_CACHE = BLK_FEAT_WRITE_CACHE;
const blk_features_t RUST_CONST_HELPER_BLK_FEAT_FUA = BLK_FEAT_FUA;
const blk_features_t RUST_CONST_HELPER_BLK_FEAT_ROTATIONAL = BLK_FEAT_ROTATIONAL;
const blk_mode_t RUST_CONST_HELPER_BLK_OPEN_READ = BLK_OPEN_READ;
const blk_mode_t RUST_CONST_HELPER_BLK_OPEN_WRITE = BLK_OPEN_WRITE;
const blk_mode_t RUST_CONST_HELPER_BLK_OPEN_EXCL = BLK_OPEN_EXCL;
const blk_status_t RUST_CONST_HELPER_BLK_STS_IOERR = BLK_STS_IOERR;
const blk_status_t RUST_CONST_HELPER_BLK_STS_RESOURCE = BLK_STS_RESOURCE;
const blk_status_t RUST_CONST_HELPER_BLK_STS_DEV_RESOURCE = BLK_STS_DEV_RESOURCE;
const blk_status_t RUST_CONST_HELPER_BLK_STS_NOTSUPP = BLK_STS_NOTSUPP;
const int RUST_CONST_HELPER_WORK_CPU_UNBOUND = WORK_CPU_UNBOUND;
const unsigned int RUST_CONST_HELPER_WQ_MEM_RECLAIM = WQ_MEM_RECLAIM;
const unsigned int RUST_CONST_HELPER_WQ_HIGHPRI = WQ_HIGHPRI;
const unsigned int RUST_CONST_HELPER_WQ_UNBOUND = WQ_UNBOUND;
