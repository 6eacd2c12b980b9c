/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rtrs.h API of Linux 6.12, as the Rust RTRS modules export it: the same names,
 * signatures, structure layouts and enum values as drivers/infiniband/ulp/rtrs/rtrs.h, so a
 * C RNBD module built against the in-tree header works over the Rust RTRS and the other way
 * round. Written for this project; the static asserts at the end pin the layouts.
 */
#ifndef RNBD_RS_RTRS_H
#define RNBD_RS_RTRS_H

#include <linux/build_bug.h>
#include <linux/scatterlist.h>
#include <linux/socket.h>
#include <linux/types.h>
#include <linux/uio.h>

/* Opaque handles: defined by the implementation, never by the user. */
struct rtrs_permit;
struct rtrs_clt_sess;
struct rtrs_srv_ctx;
struct rtrs_srv_sess;
struct rtrs_srv_op;

/* ---- Client ---------------------------------------------------------------------------- */

/* Connectivity of a client session, reported through rtrs_clt_ops.link_ev. */
enum rtrs_clt_link_ev {
	RTRS_CLT_LINK_EV_RECONNECTED,
	RTRS_CLT_LINK_EV_DISCONNECTED,
};

/* One path: source (may point at an all-zero address) and destination. */
struct rtrs_addr {
	struct sockaddr_storage *src;
	struct sockaddr_storage *dst;
};

/* The user's private pointer and its link event callback. */
struct rtrs_clt_ops {
	void *priv;
	void (*link_ev)(void *priv, enum rtrs_clt_link_ev ev);
};

struct rtrs_clt_sess *rtrs_clt_open(struct rtrs_clt_ops *ops, const char *pathname,
				    const struct rtrs_addr *paths, size_t path_cnt, u16 port,
				    size_t pdu_sz, u8 reconnect_delay_sec,
				    s16 max_reconnect_attempts, u32 nr_poll_queues);
void rtrs_clt_close(struct rtrs_clt_sess *clt);

/* Whether rtrs_clt_get_permit may sleep until a permit is free. */
enum wait_type {
	RTRS_PERMIT_NOWAIT = 0,
	RTRS_PERMIT_WAIT = 1,
};

/* Which connection a permit's request goes on: the service one (cid 0) or a per-CPU one. */
enum rtrs_clt_con_type {
	RTRS_ADMIN_CON,
	RTRS_IO_CON,
};

struct rtrs_permit *rtrs_clt_get_permit(struct rtrs_clt_sess *sess,
					enum rtrs_clt_con_type con_type, enum wait_type wait);
void rtrs_clt_put_permit(struct rtrs_clt_sess *sess, struct rtrs_permit *permit);

/* The confirmation of one request: conf_fn(priv, errno) runs once it is done. */
struct rtrs_clt_req_ops {
	void *priv;
	void (*conf_fn)(void *priv, int errno);
};

int rtrs_clt_request(int dir, struct rtrs_clt_req_ops *ops, struct rtrs_clt_sess *sess,
		     struct rtrs_permit *permit, const struct kvec *vec, size_t nr, size_t len,
		     struct scatterlist *sg, unsigned int sg_cnt);
int rtrs_clt_rdma_cq_direct(struct rtrs_clt_sess *clt, unsigned int index);

/* What rtrs_clt_query reports about a session. */
struct rtrs_attrs {
	u32 queue_depth;
	u32 max_io_size;
	u32 max_segments;
};

int rtrs_clt_query(struct rtrs_clt_sess *sess, struct rtrs_attrs *attr);

/* ---- Server ---------------------------------------------------------------------------- */

/* Connectivity of a server session, reported through rtrs_srv_ops.link_ev. */
enum rtrs_srv_link_ev {
	RTRS_SRV_LINK_EV_CONNECTED,
	RTRS_SRV_LINK_EV_DISCONNECTED,
};

/*
 * The user's callbacks. rdma_ev: a request arrived (data: the chunk area for the data,
 * usr: the user message); non-zero makes RTRS answer with that error, zero obliges the user
 * to call rtrs_srv_resp_rdma(id, status) once. link_ev: non-zero on CONNECTED closes it.
 */
struct rtrs_srv_ops {
	int (*rdma_ev)(void *priv, struct rtrs_srv_op *id, void *data, size_t datalen,
		       const void *usr, size_t usrlen);
	int (*link_ev)(struct rtrs_srv_sess *sess, enum rtrs_srv_link_ev ev, void *priv);
};

struct rtrs_srv_ctx *rtrs_srv_open(struct rtrs_srv_ops *ops, u16 port);
void rtrs_srv_close(struct rtrs_srv_ctx *ctx);
bool rtrs_srv_resp_rdma(struct rtrs_srv_op *id, int errno);
void rtrs_srv_set_sess_priv(struct rtrs_srv_sess *sess, void *priv);
int rtrs_srv_get_path_name(struct rtrs_srv_sess *sess, char *pathname, size_t len);
int rtrs_srv_get_queue_depth(struct rtrs_srv_sess *sess);

/* The layouts the C users were compiled against (x86_64 and every LP64 target). */
static_assert(sizeof(struct rtrs_addr) == 2 * sizeof(void *));
static_assert(sizeof(struct rtrs_clt_ops) == 2 * sizeof(void *));
static_assert(sizeof(struct rtrs_clt_req_ops) == 2 * sizeof(void *));
static_assert(sizeof(struct rtrs_attrs) == 12);
static_assert(sizeof(struct rtrs_srv_ops) == 2 * sizeof(void *));
static_assert(RTRS_PERMIT_WAIT == 1 && RTRS_IO_CON == 1);
static_assert(RTRS_CLT_LINK_EV_DISCONNECTED == 1 && RTRS_SRV_LINK_EV_DISCONNECTED == 1);

#endif /* RNBD_RS_RTRS_H */
