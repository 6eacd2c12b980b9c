// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The C side of the Rust rtrs_server module: its module parameters (same names, types,
 * modes and descriptions as drivers/infiniband/ulp/rtrs/rtrs-srv.c, read from Rust through
 * rust/params.rs), the exports of the rtrs.h server API implemented in ffi_api.rs, and this
 * module's own compiled copy of the project's C helpers (see rust/helpers/helpers.c).
 */

#include <linux/export.h>
#include <linux/moduleparam.h>
#include <linux/stringify.h>
#include "rtrs.h"

#include "../../rust/helpers/helpers.c"

#define DEFAULT_MAX_CHUNK_SIZE (128 << 10)
#define DEFAULT_SESS_QUEUE_DEPTH 512
#define MAX_SESS_QUEUE_DEPTH 65535

/* Read by Rust (rtrs_server_main.rs); 0444, so they never change after loading. */
extern bool rtrs_srv_param_always_invalidate;
extern int rtrs_srv_param_max_chunk_size;
extern int rtrs_srv_param_sess_queue_depth;

bool rtrs_srv_param_always_invalidate = true;
module_param_named(always_invalidate, rtrs_srv_param_always_invalidate, bool, 0444);
MODULE_PARM_DESC(always_invalidate,
		 "Invalidate memory registration for contiguous memory regions before accessing.");

int rtrs_srv_param_max_chunk_size = DEFAULT_MAX_CHUNK_SIZE;
module_param_named(max_chunk_size, rtrs_srv_param_max_chunk_size, int, 0444);
MODULE_PARM_DESC(max_chunk_size,
		 "Max size for each IO request, when change the unit is in byte (default: "
		 __stringify(DEFAULT_MAX_CHUNK_SIZE) "KB)");

int rtrs_srv_param_sess_queue_depth = DEFAULT_SESS_QUEUE_DEPTH;
module_param_named(sess_queue_depth, rtrs_srv_param_sess_queue_depth, int, 0444);
MODULE_PARM_DESC(sess_queue_depth,
		 "Number of buffers for pending I/O requests to allocate per session. Maximum: "
		 __stringify(MAX_SESS_QUEUE_DEPTH) " (default: "
		 __stringify(DEFAULT_SESS_QUEUE_DEPTH) ")");

/* The rtrs.h server API, implemented in ffi_api.rs; plain exports, as C rtrs-srv.c does. */
EXPORT_SYMBOL(rtrs_srv_open);
EXPORT_SYMBOL(rtrs_srv_close);
EXPORT_SYMBOL(rtrs_srv_resp_rdma);
EXPORT_SYMBOL(rtrs_srv_set_sess_priv);
EXPORT_SYMBOL(rtrs_srv_get_path_name);
EXPORT_SYMBOL(rtrs_srv_get_queue_depth);
