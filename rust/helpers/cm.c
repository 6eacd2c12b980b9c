// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rdma_cm helpers. rdma_create_id is a macro that passes KBUILD_MODNAME as the id's owner,
 * so every module compiles its own copy of this file.
 */

#include <net/net_namespace.h>
#include <rdma/rdma_cm.h>

struct rdma_cm_id *rnbd_rs_helper_rdma_create_id(rdma_cm_event_handler event_handler,
						 void *context, enum rdma_ucm_port_space ps,
						 enum ib_qp_type qp_type)
{
	return rdma_create_id(&init_net, event_handler, context, ps, qp_type);
}
