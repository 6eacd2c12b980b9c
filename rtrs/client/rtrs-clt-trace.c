// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rtrs_clt tracepoints of the Rust client (see rtrs-clt-trace.h), and the functions
 * through which Rust fires them (include/rnbd_rs_trace.h). The only file of rtrs_client
 * with CREATE_TRACE_POINTS.
 */

#include "rnbd_rs_trace.h"

#define CREATE_TRACE_POINTS
#include "rtrs-clt-trace.h"

bool rnbd_rs_trace_rtrs_clt_reconnect_work_enabled(void)
{
	return trace_rtrs_clt_reconnect_work_enabled();
}

void rnbd_rs_trace_rtrs_clt_reconnect_work(const struct rnbd_rs_trace_clt_conn *c)
{
	trace_rtrs_clt_reconnect_work(c);
}

bool rnbd_rs_trace_rtrs_clt_close_conns_enabled(void)
{
	return trace_rtrs_clt_close_conns_enabled();
}

void rnbd_rs_trace_rtrs_clt_close_conns(const struct rnbd_rs_trace_clt_conn *c)
{
	trace_rtrs_clt_close_conns(c);
}

bool rnbd_rs_trace_rtrs_rdma_error_recovery_enabled(void)
{
	return trace_rtrs_rdma_error_recovery_enabled();
}

void rnbd_rs_trace_rtrs_rdma_error_recovery(const struct rnbd_rs_trace_clt_conn *c)
{
	trace_rtrs_rdma_error_recovery(c);
}
