// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Block layer: the static inline functions and macros of linux/blkdev.h, linux/bio.h,
 * linux/blk-mq.h, linux/scatterlist.h and linux/highmem.h that rust/block/ calls.
 * Sorted alphabetically.
 */

#include <linux/bio.h>
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/scatterlist.h>

struct bio *rnbd_rs_helper_bio_alloc(struct block_device *bdev, unsigned short nr_vecs,
				     blk_opf_t opf, gfp_t gfp_mask)
{
	return bio_alloc(bdev, nr_vecs, opf, gfp_mask);
}

unsigned int rnbd_rs_helper_bdev_discard_granularity(struct block_device *bdev)
{
	return bdev_discard_granularity(bdev);
}

/* The sysfs directory of the whole disk holding bdev (a partition's parent disk). */
struct kobject *rnbd_rs_helper_bdev_disk_kobj(struct block_device *bdev)
{
	return &disk_to_dev(bdev->bd_disk)->kobj;
}

bool rnbd_rs_helper_bdev_fua(struct block_device *bdev)
{
	return bdev_fua(bdev);
}

unsigned int rnbd_rs_helper_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

/* The kernel name of bdev ("%pg": ram0, sda1, dm-0) into buf; the snprintf() result. */
int rnbd_rs_helper_bdev_name(struct block_device *bdev, char *buf, size_t len)
{
	return snprintf(buf, len, "%pg", bdev);
}

unsigned int rnbd_rs_helper_bdev_max_discard_sectors(struct block_device *bdev)
{
	return bdev_max_discard_sectors(bdev);
}

/* queue_max_hw_sectors() of the device's queue: rnbd-srv reports it to the client. */
unsigned int rnbd_rs_helper_bdev_max_hw_sectors(struct block_device *bdev)
{
	return queue_max_hw_sectors(bdev_get_queue(bdev));
}

unsigned int rnbd_rs_helper_bdev_max_secure_erase_sectors(struct block_device *bdev)
{
	return bdev_max_secure_erase_sectors(bdev);
}

unsigned short rnbd_rs_helper_bdev_max_segments(struct block_device *bdev)
{
	return queue_max_segments(bdev_get_queue(bdev));
}

sector_t rnbd_rs_helper_bdev_nr_sectors(struct block_device *bdev)
{
	return bdev_nr_sectors(bdev);
}

unsigned int rnbd_rs_helper_bdev_physical_block_size(struct block_device *bdev)
{
	return bdev_physical_block_size(bdev);
}

int rnbd_rs_helper_bdev_read_only(struct block_device *bdev)
{
	return bdev_read_only(bdev);
}

bool rnbd_rs_helper_bdev_write_cache(struct block_device *bdev)
{
	return bdev_write_cache(bdev);
}

unsigned int rnbd_rs_helper_bdev_write_zeroes_sectors(struct block_device *bdev)
{
	return bdev_write_zeroes_sectors(bdev);
}

/*
 * blk_mq_alloc_disk() is a macro with a static lock class key per call site: this helper
 * is that one call site, so every disk of a module shares one key, as in null_blk.
 */
struct gendisk *rnbd_rs_helper_blk_mq_alloc_disk(struct blk_mq_tag_set *set,
						 struct queue_limits *lim, void *queuedata)
{
	return blk_mq_alloc_disk(set, lim, queuedata);
}

void *rnbd_rs_helper_blk_mq_rq_to_pdu(struct request *rq)
{
	return blk_mq_rq_to_pdu(rq);
}

unsigned int rnbd_rs_helper_blk_rq_bytes(const struct request *rq)
{
	return blk_rq_bytes(rq);
}

int rnbd_rs_helper_blk_rq_map_sg(struct request_queue *q, struct request *rq,
				 struct scatterlist *sglist)
{
	return blk_rq_map_sg(q, rq, sglist);
}

unsigned short rnbd_rs_helper_blk_rq_nr_phys_segments(struct request *rq)
{
	return blk_rq_nr_phys_segments(rq);
}

unsigned short rnbd_rs_helper_req_get_ioprio(struct request *rq)
{
	return req_get_ioprio(rq);
}

sector_t rnbd_rs_helper_blk_rq_pos(const struct request *rq)
{
	return blk_rq_pos(rq);
}

sector_t rnbd_rs_helper_get_capacity(struct gendisk *disk)
{
	return get_capacity(disk);
}

void *rnbd_rs_helper_kmap_local_page(struct page *page)
{
	return kmap_local_page(page);
}

void rnbd_rs_helper_kunmap_local(const void *addr)
{
	kunmap_local(addr);
}

struct page *rnbd_rs_helper_nth_page(struct page *page, unsigned long n)
{
	return nth_page(page, n);
}

int rnbd_rs_helper_register_blkdev(unsigned int major, const char *name)
{
	return register_blkdev(major, name);
}

struct scatterlist *rnbd_rs_helper_sg_next(struct scatterlist *sg)
{
	return sg_next(sg);
}

struct page *rnbd_rs_helper_sg_page(struct scatterlist *sg)
{
	return sg_page(sg);
}

struct page *rnbd_rs_helper_virt_to_page(const void *addr)
{
	return virt_to_page(addr);
}
