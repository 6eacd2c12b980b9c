/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The events of C's drivers/block/rnbd/rnbd-srv-trace.h (Linux 6.12), fired by the Rust
 * server: the same system, event names, fields (names, types, order) and print formats, so
 * that perf and bpftrace scripts written for the C module work unchanged. Only the
 * prototypes differ: the values come from Rust in the structs of include/rnbd_rs_trace.h
 * instead of struct rnbd_srv_session and the wire messages; strings come with their length
 * (__string_len, which makes the same "__data_loc char[]" field as C's __string).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rnbd_srv

#ifndef RNBD_RS_RNBD_SRV_ENUMS
#define RNBD_RS_RNBD_SRV_ENUMS
/* C's enums of rnbd-proto.h, same names and values, for the print formats. */
enum rnbd_io_flags {
	RNBD_OP_READ		= 0,
	RNBD_OP_WRITE		= 1,
	RNBD_OP_FLUSH		= 2,
	RNBD_OP_DISCARD		= 3,
	RNBD_OP_SECURE_ERASE	= 4,
	RNBD_OP_WRITE_ZEROES	= 5,
	RNBD_F_SYNC		= 1 << (8 + 0),
	RNBD_F_FUA		= 1 << (8 + 1),
};

enum rnbd_access_mode {
	RNBD_ACCESS_RO,
	RNBD_ACCESS_RW,
	RNBD_ACCESS_MIGRATION,
};
#endif

#if !defined(_TRACE_RNBD_SRV_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_RNBD_SRV_H

#include <linux/kernel.h>
#include <linux/tracepoint.h>
#include "rnbd_rs_trace.h"

DECLARE_EVENT_CLASS(rnbd_srv_link_class,
	TP_PROTO(const struct rnbd_rs_trace_srv_link *l),

	TP_ARGS(l),

	TP_STRUCT__entry(
		__field(int, qdepth)
		__string_len(sessname, l->sessname, l->sessname_len)
	),

	TP_fast_assign(
		__entry->qdepth = l->qdepth;
		__assign_str(sessname);
	),

	TP_printk("sessname: %s qdepth: %d",
		   __get_str(sessname),
		   __entry->qdepth
	)
);

#define DEFINE_LINK_EVENT(name) \
DEFINE_EVENT(rnbd_srv_link_class, name, \
	TP_PROTO(const struct rnbd_rs_trace_srv_link *l), \
	TP_ARGS(l))

DEFINE_LINK_EVENT(create_sess);
DEFINE_LINK_EVENT(destroy_sess);

TRACE_DEFINE_ENUM(RNBD_OP_READ);
TRACE_DEFINE_ENUM(RNBD_OP_WRITE);
TRACE_DEFINE_ENUM(RNBD_OP_FLUSH);
TRACE_DEFINE_ENUM(RNBD_OP_DISCARD);
TRACE_DEFINE_ENUM(RNBD_OP_SECURE_ERASE);
TRACE_DEFINE_ENUM(RNBD_F_SYNC);
TRACE_DEFINE_ENUM(RNBD_F_FUA);

#define show_rnbd_rw_flags(x) \
	__print_flags(x, "|", \
		{ RNBD_OP_READ,		"READ" }, \
		{ RNBD_OP_WRITE,	"WRITE" }, \
		{ RNBD_OP_FLUSH,	"FLUSH" }, \
		{ RNBD_OP_DISCARD,	"DISCARD" }, \
		{ RNBD_OP_SECURE_ERASE,	"SECURE_ERASE" }, \
		{ RNBD_F_SYNC,		"SYNC" }, \
		{ RNBD_F_FUA,		"FUA" })

TRACE_EVENT(process_rdma,
	TP_PROTO(const struct rnbd_rs_trace_process_rdma *p),

	TP_ARGS(p),

	TP_STRUCT__entry(
		__string_len(sessname, p->sessname, p->sessname_len)
		__field(u8, dir)
		__field(u8, ver)
		__field(u32, device_id)
		__field(u64, sector)
		__field(u32, flags)
		__field(u32, bi_size)
		__field(u16, ioprio)
		__field(u32, datalen)
		__field(size_t, usrlen)
	),

	TP_fast_assign(
		__assign_str(sessname);
		__entry->dir = p->dir;
		__entry->ver = p->ver;
		__entry->device_id = p->device_id;
		__entry->sector = p->sector;
		__entry->bi_size = p->bi_size;
		__entry->flags = p->flags;
		__entry->ioprio = p->ioprio;
		__entry->datalen = p->datalen;
		__entry->usrlen = p->usrlen;
	),

	TP_printk("I/O req: sess: %s, type: %s, ver: %d, devid: %u, sector: %llu, bsize: %u, flags: %s, ioprio: %d, datalen: %u, usrlen: %zu",
		   __get_str(sessname),
		   __print_symbolic(__entry->dir,
			 { READ,  "READ" },
			 { WRITE, "WRITE" }),
		   __entry->ver,
		   __entry->device_id,
		   __entry->sector,
		   __entry->bi_size,
		   show_rnbd_rw_flags(__entry->flags),
		   __entry->ioprio,
		   __entry->datalen,
		   __entry->usrlen
	)
);

TRACE_EVENT(process_msg_sess_info,
	TP_PROTO(const struct rnbd_rs_trace_sess_info *s),

	TP_ARGS(s),

	TP_STRUCT__entry(
		__field(u8, proto_ver)
		__field(u8, clt_ver)
		__field(u8, srv_ver)
		__string_len(sessname, s->sessname, s->sessname_len)
	),

	TP_fast_assign(
		__entry->proto_ver = s->proto_ver;
		__entry->clt_ver = s->clt_ver;
		__entry->srv_ver = s->srv_ver;
		__assign_str(sessname);
	),

	TP_printk("Session %s using proto-ver %d (clt-ver: %d, srv-ver: %d)",
		   __get_str(sessname),
		   __entry->proto_ver,
		   __entry->clt_ver,
		   __entry->srv_ver
	)
);

TRACE_DEFINE_ENUM(RNBD_ACCESS_RO);
TRACE_DEFINE_ENUM(RNBD_ACCESS_RW);
TRACE_DEFINE_ENUM(RNBD_ACCESS_MIGRATION);

#define show_rnbd_access_mode(x) \
	__print_symbolic(x, \
		{ RNBD_ACCESS_RO,		"RO" }, \
		{ RNBD_ACCESS_RW,		"RW" }, \
		{ RNBD_ACCESS_MIGRATION,	"MIGRATION" })

TRACE_EVENT(process_msg_open,
	TP_PROTO(const struct rnbd_rs_trace_msg_open *o),

	TP_ARGS(o),

	TP_STRUCT__entry(
		__field(u8, access_mode)
		__string_len(sessname, o->sessname, o->sessname_len)
		__string_len(dev_name, o->dev_name, o->dev_name_len)
	),

	TP_fast_assign(
		__entry->access_mode = o->access_mode;
		__assign_str(sessname);
		__assign_str(dev_name);
	),

	TP_printk("Open message received: session='%s' path='%s' access_mode=%s",
		   __get_str(sessname),
		   __get_str(dev_name),
		   show_rnbd_access_mode(__entry->access_mode)
	)
);

TRACE_EVENT(process_msg_close,
	TP_PROTO(const struct rnbd_rs_trace_msg_close *c),

	TP_ARGS(c),

	TP_STRUCT__entry(
		__field(u32, device_id)
		__string_len(sessname, c->sessname, c->sessname_len)
	),

	TP_fast_assign(
		__entry->device_id = c->device_id;
		__assign_str(sessname);
	),

	TP_printk("Close message received: session='%s' device id='%d'",
		   __get_str(sessname),
		   __entry->device_id
	)
);

#endif /* _TRACE_RNBD_SRV_H */

/* Found through -I$(src)/rnbd/server (Kbuild), as in-tree trace headers are. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#define TRACE_INCLUDE_FILE rnbd-srv-trace
#include <trace/define_trace.h>
