// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rnbd_srv tracepoints of the Rust server (see rnbd-srv-trace.h), and the functions
 * through which Rust fires them (include/rnbd_rs_trace.h). The only file of rnbd_server
 * with CREATE_TRACE_POINTS.
 */

#include "rnbd_rs_trace.h"

#define CREATE_TRACE_POINTS
#include "rnbd-srv-trace.h"

/* <event>_enabled() and <event>() for Rust, as declared in rnbd_rs_trace.h. */
#define RNBD_RS_TRACE_FNS(name, type)					\
bool rnbd_rs_trace_##name##_enabled(void)				\
{									\
	return trace_##name##_enabled();				\
}									\
									\
void rnbd_rs_trace_##name(const struct type *arg)			\
{									\
	trace_##name(arg);						\
}

RNBD_RS_TRACE_FNS(create_sess, rnbd_rs_trace_srv_link)
RNBD_RS_TRACE_FNS(destroy_sess, rnbd_rs_trace_srv_link)
RNBD_RS_TRACE_FNS(process_rdma, rnbd_rs_trace_process_rdma)
RNBD_RS_TRACE_FNS(process_msg_sess_info, rnbd_rs_trace_sess_info)
RNBD_RS_TRACE_FNS(process_msg_open, rnbd_rs_trace_msg_open)
RNBD_RS_TRACE_FNS(process_msg_close, rnbd_rs_trace_msg_close)
