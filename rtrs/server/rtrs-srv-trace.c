// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rtrs_srv tracepoint of the Rust server (see rtrs-srv-trace.h), and the functions
 * through which Rust fires it (include/rnbd_rs_trace.h). The only file of rtrs_server with
 * CREATE_TRACE_POINTS.
 */

#include "rnbd_rs_trace.h"

#define CREATE_TRACE_POINTS
#include "rtrs-srv-trace.h"

bool rnbd_rs_trace_send_io_resp_imm_enabled(void)
{
	return trace_send_io_resp_imm_enabled();
}

void rnbd_rs_trace_send_io_resp_imm(const struct rnbd_rs_trace_srv_resp *r)
{
	trace_send_io_resp_imm(r);
}
