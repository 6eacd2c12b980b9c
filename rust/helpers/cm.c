// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rdma_cm helpers. rdma_create_id is a macro that passes KBUILD_MODNAME as the id's owner,
 * so every module compiles its own copy of this file.
 */

#include <linux/netdevice.h>
#include <net/net_namespace.h>
#include <rdma/rdma_cm.h>

struct rdma_cm_id *rnbd_rs_helper_rdma_create_id(rdma_cm_event_handler event_handler,
						 void *context, enum rdma_ucm_port_space ps,
						 enum ib_qp_type qp_type)
{
	return rdma_create_id(&init_net, event_handler, context, ps, qp_type);
}

/* The index of the interface named by the len bytes at name in the initial namespace, or 0. */
int rnbd_rs_helper_ifindex_by_name(const char *name, size_t len)
{
	char buf[IFNAMSIZ];
	struct net_device *dev;
	int ifindex;

	/* inet6_pton keeps at most 15 characters of a scope, as here. */
	len = min(len, sizeof(buf) - 1);
	memcpy(buf, name, len);
	buf[len] = '\0';
	dev = dev_get_by_name(&init_net, buf);
	if (!dev)
		return 0;
	ifindex = dev->ifindex;
	dev_put(dev);
	return ifindex;
}
