// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verbs helpers: static inline functions and macros of ib_verbs.h and scatterlist.h that
 * rust/rdma/ calls. ib_alloc_pd and ib_alloc_cq expand KBUILD_MODNAME (the owner name shown
 * in rdma restrack), which is why every module compiles its own copy of this file.
 */

#include <linux/scatterlist.h>
#include <rdma/ib_verbs.h>

struct ib_pd *rnbd_rs_helper_ib_alloc_pd(struct ib_device *device, unsigned int flags)
{
	return ib_alloc_pd(device, flags);
}

void rnbd_rs_helper_ib_dealloc_pd(struct ib_pd *pd)
{
	ib_dealloc_pd(pd);
}

struct ib_cq *rnbd_rs_helper_ib_alloc_cq(struct ib_device *dev, void *private, int nr_cqe,
					 int comp_vector, enum ib_poll_context poll_ctx)
{
	return ib_alloc_cq(dev, private, nr_cqe, comp_vector, poll_ctx);
}

bool rnbd_rs_helper_ib_device_try_get(struct ib_device *dev)
{
	return ib_device_try_get(dev);
}

int rnbd_rs_helper_ib_post_send(struct ib_qp *qp, const struct ib_send_wr *send_wr,
				const struct ib_send_wr **bad_send_wr)
{
	return ib_post_send(qp, send_wr, bad_send_wr);
}

int rnbd_rs_helper_ib_post_recv(struct ib_qp *qp, const struct ib_recv_wr *recv_wr,
				const struct ib_recv_wr **bad_recv_wr)
{
	return ib_post_recv(qp, recv_wr, bad_recv_wr);
}

int rnbd_rs_helper_ib_dereg_mr(struct ib_mr *mr)
{
	return ib_dereg_mr(mr);
}

u32 rnbd_rs_helper_ib_inc_rkey(u32 rkey)
{
	return ib_inc_rkey(rkey);
}

void rnbd_rs_helper_ib_update_fast_reg_key(struct ib_mr *mr, u8 newkey)
{
	ib_update_fast_reg_key(mr, newkey);
}

u64 rnbd_rs_helper_ib_dma_map_single(struct ib_device *dev, void *cpu_addr, size_t size,
				     enum dma_data_direction direction)
{
	return ib_dma_map_single(dev, cpu_addr, size, direction);
}

void rnbd_rs_helper_ib_dma_unmap_single(struct ib_device *dev, u64 addr, size_t size,
					enum dma_data_direction direction)
{
	ib_dma_unmap_single(dev, addr, size, direction);
}

int rnbd_rs_helper_ib_dma_mapping_error(struct ib_device *dev, u64 dma_addr)
{
	return ib_dma_mapping_error(dev, dma_addr);
}

void rnbd_rs_helper_ib_dma_sync_single_for_cpu(struct ib_device *dev, u64 addr, size_t size,
					       enum dma_data_direction dir)
{
	ib_dma_sync_single_for_cpu(dev, addr, size, dir);
}

void rnbd_rs_helper_ib_dma_sync_single_for_device(struct ib_device *dev, u64 addr, size_t size,
						  enum dma_data_direction dir)
{
	ib_dma_sync_single_for_device(dev, addr, size, dir);
}

int rnbd_rs_helper_ib_dma_map_sg(struct ib_device *dev, struct scatterlist *sg, int nents,
				 enum dma_data_direction direction)
{
	return ib_dma_map_sg(dev, sg, nents, direction);
}

/* DMA address and length of a mapped scatterlist entry (the ib_sg_dma_* accessors). */
u64 rnbd_rs_helper_ib_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

unsigned int rnbd_rs_helper_ib_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

void rnbd_rs_helper_ib_dma_unmap_sg(struct ib_device *dev, struct scatterlist *sg, int nents,
				    enum dma_data_direction direction)
{
	ib_dma_unmap_sg(dev, sg, nents, direction);
}

void rnbd_rs_helper_sg_set_buf(struct scatterlist *sg, const void *buf, unsigned int buflen)
{
	sg_set_buf(sg, buf, buflen);
}

u64 rnbd_rs_helper_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

unsigned int rnbd_rs_helper_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

/*
 * Describes an already DMA-mapped range in a scatterlist entry, for ib_map_mr_sg, which
 * reads only the DMA address and length (rust/rdma/mr.rs: registering DMA mappings).
 */
void rnbd_rs_helper_sg_set_dma(struct scatterlist *sg, dma_addr_t addr, unsigned int len)
{
	sg_dma_address(sg) = addr;
	sg_dma_len(sg) = len;
}
