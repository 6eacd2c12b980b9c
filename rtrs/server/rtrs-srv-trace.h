/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event of C's drivers/infiniband/ulp/rtrs/rtrs-srv-trace.h (Linux 6.12), fired by the
 * Rust server: the same system, event name, fields (names, types, order) and print format,
 * so that perf and bpftrace scripts written for the C module work unchanged. Only the
 * prototype differs: the values come from Rust in a struct rnbd_rs_trace_srv_resp
 * (include/rnbd_rs_trace.h) instead of a struct rtrs_srv_op and the response's flags.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rtrs_srv

#ifndef RNBD_RS_RTRS_SRV_STATES
#define RNBD_RS_RTRS_SRV_STATES
/* C's enum rtrs_srv_state (rtrs-srv.h), same names and values, for the print format. */
enum rtrs_srv_state {
	RTRS_SRV_CONNECTING,
	RTRS_SRV_CONNECTED,
	RTRS_SRV_CLOSING,
	RTRS_SRV_CLOSED,
};
#endif

#if !defined(_TRACE_RTRS_SRV_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_RTRS_SRV_H

#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include "rnbd_rs_trace.h"

TRACE_DEFINE_ENUM(RTRS_SRV_CONNECTING);
TRACE_DEFINE_ENUM(RTRS_SRV_CONNECTED);
TRACE_DEFINE_ENUM(RTRS_SRV_CLOSING);
TRACE_DEFINE_ENUM(RTRS_SRV_CLOSED);

#define show_rtrs_srv_state(x) \
	__print_symbolic(x, \
		{ RTRS_SRV_CONNECTING,	"CONNECTING" }, \
		{ RTRS_SRV_CONNECTED,	"CONNECTED" }, \
		{ RTRS_SRV_CLOSING,	"CLOSING" }, \
		{ RTRS_SRV_CLOSED,	"CLOSED" })

TRACE_EVENT(send_io_resp_imm,
	TP_PROTO(const struct rnbd_rs_trace_srv_resp *r),

	TP_ARGS(r),

	TP_STRUCT__entry(
		__field(u8, dir)
		__field(bool, need_inval)
		__field(bool, always_invalidate)
		__field(u32, msg_id)
		__field(int, wr_cnt)
		__field(u32, signal_interval)
		__field(int, state)
		__field(int, errno)
		__array(char, sessname, NAME_MAX)
	),

	TP_fast_assign(
		__entry->dir = r->dir;
		__entry->state = r->state;
		__entry->errno = r->errno;
		__entry->need_inval = r->need_inval;
		__entry->always_invalidate = r->always_invalidate;
		__entry->msg_id = r->msg_id;
		__entry->wr_cnt = r->wr_cnt;
		__entry->signal_interval = r->signal_interval;
		/* NUL-padded; C copies NAME_MAX bytes from the kobject's name. */
		memset(__entry->sessname, 0, NAME_MAX);
		memcpy(__entry->sessname, r->sessname,
		       min_t(size_t, r->sessname_len, NAME_MAX - 1));
	),

	TP_printk("sess='%s' state='%s' dir=%s err='%d' inval='%d' glob-inval='%d' msgid='%u' wrcnt='%d' sig-interval='%u'",
		   __entry->sessname,
		   show_rtrs_srv_state(__entry->state),
		   __print_symbolic(__entry->dir,
			 { READ,  "READ" },
			 { WRITE, "WRITE" }),
		   __entry->errno,
		   __entry->need_inval,
		   __entry->always_invalidate,
		   __entry->msg_id,
		   __entry->wr_cnt,
		   __entry->signal_interval
	)
);

#endif /* _TRACE_RTRS_SRV_H */

/* Found through -I$(src)/rtrs/server (Kbuild), as in-tree trace headers are. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE rtrs-srv-trace
#include <trace/define_trace.h>
