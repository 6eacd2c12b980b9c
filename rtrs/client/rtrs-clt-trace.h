/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The events of C's drivers/infiniband/ulp/rtrs/rtrs-clt-trace.h (Linux 6.12), fired by the
 * Rust client: the same system, event names, fields (names, types, order) and print format,
 * so that perf and bpftrace scripts written for the C module work unchanged. Only the
 * prototype differs: the values come from Rust in a struct rnbd_rs_trace_clt_conn
 * (include/rnbd_rs_trace.h) instead of a struct rtrs_clt_path.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rtrs_clt

#ifndef RNBD_RS_RTRS_CLT_STATES
#define RNBD_RS_RTRS_CLT_STATES
/* C's enum rtrs_clt_state (rtrs-clt.h), same names and values, for the print format. */
enum rtrs_clt_state {
	RTRS_CLT_CONNECTING,
	RTRS_CLT_CONNECTING_ERR,
	RTRS_CLT_RECONNECTING,
	RTRS_CLT_CONNECTED,
	RTRS_CLT_CLOSING,
	RTRS_CLT_CLOSED,
	RTRS_CLT_DEAD,
};
#endif

#if !defined(_TRACE_RTRS_CLT_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_RTRS_CLT_H

#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "rnbd_rs_trace.h"

TRACE_DEFINE_ENUM(RTRS_CLT_CONNECTING);
TRACE_DEFINE_ENUM(RTRS_CLT_CONNECTING_ERR);
TRACE_DEFINE_ENUM(RTRS_CLT_RECONNECTING);
TRACE_DEFINE_ENUM(RTRS_CLT_CONNECTED);
TRACE_DEFINE_ENUM(RTRS_CLT_CLOSING);
TRACE_DEFINE_ENUM(RTRS_CLT_CLOSED);
TRACE_DEFINE_ENUM(RTRS_CLT_DEAD);

#define show_rtrs_clt_state(x) \
	__print_symbolic(x, \
		{ RTRS_CLT_CONNECTING,		"CONNECTING" }, \
		{ RTRS_CLT_CONNECTING_ERR,	"CONNECTING_ERR" }, \
		{ RTRS_CLT_RECONNECTING,	"RECONNECTING" }, \
		{ RTRS_CLT_CONNECTED,		"CONNECTED" }, \
		{ RTRS_CLT_CLOSING,		"CLOSING" }, \
		{ RTRS_CLT_CLOSED,		"CLOSED" }, \
		{ RTRS_CLT_DEAD,		"DEAD" })

DECLARE_EVENT_CLASS(rtrs_clt_conn_class,
	TP_PROTO(const struct rnbd_rs_trace_clt_conn *c),

	TP_ARGS(c),

	TP_STRUCT__entry(
		__field(int, state)
		__field(int, reconnect_attempts)
		__field(int, max_reconnect_attempts)
		__field(int, fail_cnt)
		__field(int, success_cnt)
		__array(char, sessname, NAME_MAX)
	),

	TP_fast_assign(
		__entry->state = c->state;
		__entry->reconnect_attempts = c->reconnect_attempts;
		__entry->max_reconnect_attempts = c->max_reconnect_attempts;
		__entry->fail_cnt = c->fail_cnt;
		__entry->success_cnt = c->success_cnt;
		/* NUL-padded; C copies NAME_MAX bytes from the kobject's name. */
		memset(__entry->sessname, 0, NAME_MAX);
		memcpy(__entry->sessname, c->sessname,
		       min_t(size_t, c->sessname_len, NAME_MAX - 1));
	),

	TP_printk("RTRS-CLT: sess='%s' state=%s attempts='%d' max-attempts='%d' fail='%d' success='%d'",
		   __entry->sessname,
		   show_rtrs_clt_state(__entry->state),
		   __entry->reconnect_attempts,
		   __entry->max_reconnect_attempts,
		   __entry->fail_cnt,
		   __entry->success_cnt
	)
);

#define DEFINE_CLT_CONN_EVENT(name) \
DEFINE_EVENT(rtrs_clt_conn_class, rtrs_##name, \
	TP_PROTO(const struct rnbd_rs_trace_clt_conn *c), \
	TP_ARGS(c))

DEFINE_CLT_CONN_EVENT(clt_reconnect_work);
DEFINE_CLT_CONN_EVENT(clt_close_conns);
DEFINE_CLT_CONN_EVENT(rdma_error_recovery);

#endif /* _TRACE_RTRS_CLT_H */

/* Found through -I$(src)/rtrs/client (Kbuild), as in-tree trace headers are. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE rtrs-clt-trace
#include <trace/define_trace.h>
