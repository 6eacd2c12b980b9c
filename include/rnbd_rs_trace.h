/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tracepoints of the C modules of Linux 6.12 (rtrs-clt-trace.h, rtrs-srv-trace.h,
 * rnbd-srv-trace.h), as the Rust modules fire them: what Rust passes for each event, and the
 * C functions that fire them. The events themselves (same systems, names, fields, field
 * types and order, and print formats as C's) are defined in each module's own trace
 * header: rtrs/client/rtrs-clt-trace.h, rtrs/server/rtrs-srv-trace.h and
 * rnbd/server/rnbd-srv-trace.h; the functions below live in the .c file next to it, the
 * only file of its module with CREATE_TRACE_POINTS.
 *
 * C's events take the modules' own structs (struct rtrs_clt_path, ...), which the Rust
 * modules do not have; here every event takes a struct of plain values instead. Strings
 * are a pointer and a length (no NUL needed), pointing into memory the caller keeps alive
 * during the call. Each event has a <name>_enabled() function, so that Rust gathers the
 * values only when the event is on; without CONFIG_TRACEPOINTS it returns false and the
 * event function does nothing.
 *
 * Only the rust/trace/ abstraction calls these (through the project's bindgen run).
 */

#ifndef RNBD_RS_TRACE_H
#define RNBD_RS_TRACE_H

#include <linux/types.h>

/* rtrs_clt: rtrs_clt_reconnect_work, rtrs_clt_close_conns, rtrs_rdma_error_recovery. */

/* The fields of C's rtrs_clt_conn_class, taken from a client path. */
struct rnbd_rs_trace_clt_conn {
	/* The path's sysfs directory name (C: kobject_name(&clt_path->kobj)). */
	const char *sessname;
	size_t sessname_len;
	/* enum rtrs_clt_state numbering. */
	int state;
	int reconnect_attempts;
	int max_reconnect_attempts;
	int fail_cnt;
	int success_cnt;
};

bool rnbd_rs_trace_rtrs_clt_reconnect_work_enabled(void);
void rnbd_rs_trace_rtrs_clt_reconnect_work(const struct rnbd_rs_trace_clt_conn *c);
bool rnbd_rs_trace_rtrs_clt_close_conns_enabled(void);
void rnbd_rs_trace_rtrs_clt_close_conns(const struct rnbd_rs_trace_clt_conn *c);
bool rnbd_rs_trace_rtrs_rdma_error_recovery_enabled(void);
void rnbd_rs_trace_rtrs_rdma_error_recovery(const struct rnbd_rs_trace_clt_conn *c);

/* rtrs_srv: send_io_resp_imm. */

/* The fields of C's send_io_resp_imm. */
struct rnbd_rs_trace_srv_resp {
	/* The path's sysfs directory name (C: kobject_name(&srv_path->kobj)). */
	const char *sessname;
	size_t sessname_len;
	/* READ (0) or WRITE (1). */
	u8 dir;
	bool need_inval;
	bool always_invalidate;
	u32 msg_id;
	int wr_cnt;
	u32 signal_interval;
	/* enum rtrs_srv_state numbering. */
	int state;
	int errno;
};

bool rnbd_rs_trace_send_io_resp_imm_enabled(void);
void rnbd_rs_trace_send_io_resp_imm(const struct rnbd_rs_trace_srv_resp *r);

/* rnbd_srv: create_sess, destroy_sess, process_rdma, process_msg_{sess_info,open,close}. */

/* The fields of C's rnbd_srv_link_class. */
struct rnbd_rs_trace_srv_link {
	const char *sessname;
	size_t sessname_len;
	int qdepth;
};

/* The fields of C's process_rdma. */
struct rnbd_rs_trace_process_rdma {
	const char *sessname;
	size_t sessname_len;
	/* READ (0) or WRITE (1): the RTRS direction of the request. */
	u8 dir;
	u8 ver;
	u32 device_id;
	u64 sector;
	/* The message's rw word: enum rnbd_io_flags operation and flags. */
	u32 flags;
	u32 bi_size;
	u16 ioprio;
	u32 datalen;
	size_t usrlen;
};

/* The fields of C's process_msg_sess_info. */
struct rnbd_rs_trace_sess_info {
	const char *sessname;
	size_t sessname_len;
	u8 proto_ver;
	u8 clt_ver;
	u8 srv_ver;
};

/* The fields of C's process_msg_open. */
struct rnbd_rs_trace_msg_open {
	const char *sessname;
	size_t sessname_len;
	const char *dev_name;
	size_t dev_name_len;
	/* enum rnbd_access_mode numbering. */
	u8 access_mode;
};

/* The fields of C's process_msg_close. */
struct rnbd_rs_trace_msg_close {
	const char *sessname;
	size_t sessname_len;
	u32 device_id;
};

bool rnbd_rs_trace_create_sess_enabled(void);
void rnbd_rs_trace_create_sess(const struct rnbd_rs_trace_srv_link *l);
bool rnbd_rs_trace_destroy_sess_enabled(void);
void rnbd_rs_trace_destroy_sess(const struct rnbd_rs_trace_srv_link *l);
bool rnbd_rs_trace_process_rdma_enabled(void);
void rnbd_rs_trace_process_rdma(const struct rnbd_rs_trace_process_rdma *p);
bool rnbd_rs_trace_process_msg_sess_info_enabled(void);
void rnbd_rs_trace_process_msg_sess_info(const struct rnbd_rs_trace_sess_info *s);
bool rnbd_rs_trace_process_msg_open_enabled(void);
void rnbd_rs_trace_process_msg_open(const struct rnbd_rs_trace_msg_open *o);
bool rnbd_rs_trace_process_msg_close_enabled(void);
void rnbd_rs_trace_process_msg_close(const struct rnbd_rs_trace_msg_close *c);

#endif /* RNBD_RS_TRACE_H */
