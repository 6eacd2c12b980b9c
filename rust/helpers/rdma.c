// SPDX-License-Identifier: GPL-2.0-or-later

#include <rdma/ib_verbs.h>

struct ib_pd *rnbd_rs_helper_ib_alloc_pd(struct ib_device *device, unsigned int flags)
{
	return ib_alloc_pd(device, flags);
}
