// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The C side of the Rust rnbd_server module: its module parameters (same names, types,
 * modes, descriptions and parsing as drivers/block/rnbd/rnbd-srv.c, read from Rust through
 * rust/params.rs), and this module's own compiled copy of the project's C helpers (see
 * rust/helpers/helpers.c).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/limits.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/stringify.h>

#include "../../rust/helpers/helpers.c"

#define RTRS_PORT 1234
#define DEFAULT_DEV_SEARCH_PATH "/"

/* Read by Rust (rnbd_server_main.rs); 0444, so they never change after loading. */
extern unsigned short rnbd_srv_param_port_nr;
extern char rnbd_srv_param_dev_search_path[PATH_MAX];

unsigned short rnbd_srv_param_port_nr = RTRS_PORT;
module_param_named(port_nr, rnbd_srv_param_port_nr, ushort, 0444);
MODULE_PARM_DESC(port_nr,
		 "The port number the server is listening on (default: "
		 __stringify(RTRS_PORT)")");

char rnbd_srv_param_dev_search_path[PATH_MAX] = DEFAULT_DEV_SEARCH_PATH;

/* As C: refused from PATH_MAX bytes on, stored up to the last newline. */
static int dev_search_path_set(const char *val, const struct kernel_param *kp)
{
	const char *p = strrchr(val, '\n') ? : val + strlen(val);

	if (strlen(val) >= sizeof(rnbd_srv_param_dev_search_path))
		return -EINVAL;

	snprintf(rnbd_srv_param_dev_search_path, sizeof(rnbd_srv_param_dev_search_path),
		 "%.*s", (int)(p - val), val);

	pr_info("dev_search_path changed to '%s'\n", rnbd_srv_param_dev_search_path);

	return 0;
}

static struct kparam_string dev_search_path_kparam_str = {
	.maxlen	= sizeof(rnbd_srv_param_dev_search_path),
	.string	= rnbd_srv_param_dev_search_path
};

static const struct kernel_param_ops dev_search_path_ops = {
	.set	= dev_search_path_set,
	.get	= param_get_string,
};

module_param_cb(dev_search_path, &dev_search_path_ops,
		&dev_search_path_kparam_str, 0444);
MODULE_PARM_DESC(dev_search_path,
		 "Sets the dev_search_path. When a device is mapped this path is prepended to the device path from the map device operation.  If %SESSNAME% is specified in a path, then device will be searched in a session namespace. (default: "
		 DEFAULT_DEV_SEARCH_PATH ")");
