// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * rtrs-hostile: a hostile RTRS/RNBD peer in user space (librdmacm + libibverbs): a client
 * against the server, and with --serve a server against the kernel client (B7, see the
 * "Server role" part below).
 *
 * It speaks enough RTRS to establish a legitimate session with an RTRS server
 * (CON_REQ on every connection, INFO_REQ/INFO_RSP on cid 0, IO requests as RDMA
 * WRITE with immediate data into the server chunks) and enough RNBD to send
 * SESS_INFO, OPEN, CLOSE and IO messages, then performs one named attack from the
 * reliability plan (notes/reliability.md §5.3, table B: B1, B3, B4, B5, B6) and prints
 * one result line:
 *
 *   hostile <attack>: PASS|FAIL|SKIP: <what the server did> [(expected ...)]
 *
 * Exit status: 0 when the server behaved as the plan requires (or SKIP), 1 when it did
 * not, 2 when the tool could not set up what the attack needs. Every wait has a time
 * limit. Layouts: shared/spec/wire-protocol.md (§4.3, §4.5, §5, §7, §9, §14).
 *
 * Usage: rtrs-hostile [--port N] [--dev PATH] [--name SESSNAME] --attack NAME ADDR
 *        rtrs-hostile --serve [--port N] [--time SECONDS] --attack srv_NAME ADDR
 *        rtrs-hostile --list
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <infiniband/verbs.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <rdma/rdma_cma.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- Wire format (little endian, x86_64 host: le fields are plain integers) ---- */

#define RTRS_MAGIC 0x1BBD
#define RTRS_PROTO_VER 0x0200

enum { RTRS_MSG_INFO_REQ = 0, RTRS_MSG_INFO_RSP = 1, RTRS_MSG_WRITE = 2,
       RTRS_MSG_READ = 3, RTRS_MSG_RKEY_RSP = 4 };
enum { IMM_IO_REQ = 0, IMM_IO_RSP = 1, IMM_IO_RSP_W_INV = 2, IMM_HB_MSG = 8,
       IMM_HB_ACK = 9 };
#define RTRS_MSG_NEW_RKEY_F 0x2

struct rtrs_msg_conn_req {
	uint8_t cma_version;
	uint8_t ip_version;
	uint16_t magic;
	uint16_t version;
	uint16_t cid;
	uint16_t cid_num;
	uint16_t recon_cnt;
	uint8_t sess_uuid[16];
	uint8_t paths_uuid[16];
	uint8_t first_conn; /* bit 0 */
	uint8_t reserved[11];
} __attribute__((packed));

struct rtrs_msg_conn_rsp {
	uint16_t magic;
	uint16_t version;
	int16_t errno_;
	uint16_t queue_depth;
	uint32_t max_io_size;
	uint32_t max_hdr_size;
	uint32_t flags;
	uint8_t reserved[36];
} __attribute__((packed));

struct rtrs_msg_info_req {
	uint16_t type;
	char pathname[255];
	uint8_t reserved[15];
} __attribute__((packed));

struct rtrs_sg_desc {
	uint64_t addr;
	uint32_t key;
	uint32_t len;
} __attribute__((packed));

struct rtrs_msg_info_rsp {
	uint16_t type;
	uint16_t sg_cnt;
	uint8_t reserved[4];
	struct rtrs_sg_desc desc[];
} __attribute__((packed));

struct rtrs_msg_rdma_write {
	uint16_t type;
	uint16_t usr_len;
} __attribute__((packed));

struct rtrs_msg_rdma_read {
	uint16_t type;
	uint16_t usr_len;
	uint16_t flags;
	uint16_t sg_cnt;
	struct rtrs_sg_desc desc[1];
} __attribute__((packed));

struct rtrs_msg_rkey_rsp {
	uint16_t type;
	uint16_t buf_id;
	uint32_t rkey;
} __attribute__((packed));

enum { RNBD_MSG_SESS_INFO = 0, RNBD_MSG_SESS_INFO_RSP = 1, RNBD_MSG_OPEN = 2,
       RNBD_MSG_OPEN_RSP = 3, RNBD_MSG_IO = 4, RNBD_MSG_CLOSE = 5 };
enum { RNBD_ACCESS_RO = 0, RNBD_ACCESS_RW = 1 };
enum { RNBD_OP_READ = 0, RNBD_OP_WRITE = 1 };

struct rnbd_msg_hdr {
	uint16_t type;
	uint16_t pad;
} __attribute__((packed));

struct rnbd_msg_sess_info {
	struct rnbd_msg_hdr hdr;
	uint8_t ver;
	uint8_t reserved[31];
} __attribute__((packed));

struct rnbd_msg_open {
	struct rnbd_msg_hdr hdr;
	uint8_t access_mode;
	uint8_t resv1;
	char dev_name[255];
	uint8_t reserved[3];
} __attribute__((packed));

struct rnbd_msg_open_rsp {
	struct rnbd_msg_hdr hdr;
	uint32_t device_id;
	uint64_t nsectors;
	uint32_t max_hw_sectors;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_discard_sectors;
	uint32_t discard_granularity;
	uint32_t discard_alignment;
	uint16_t physical_block_size;
	uint16_t logical_block_size;
	uint16_t max_segments;
	uint16_t secure_discard;
	uint8_t obsolete_rotational;
	uint8_t cache_policy;
	uint8_t reserved[10];
} __attribute__((packed));

struct rnbd_msg_close {
	struct rnbd_msg_hdr hdr;
	uint32_t device_id;
} __attribute__((packed));

struct rnbd_msg_io {
	struct rnbd_msg_hdr hdr;
	uint32_t device_id;
	uint64_t sector;
	uint32_t rw;
	uint32_t bi_size;
	uint16_t prio;
	uint8_t pad[6];
} __attribute__((packed));

_Static_assert(sizeof(struct rtrs_msg_conn_req) == 56, "conn_req");
_Static_assert(sizeof(struct rtrs_msg_conn_rsp) == 56, "conn_rsp");
_Static_assert(sizeof(struct rtrs_msg_info_req) == 272, "info_req");
_Static_assert(sizeof(struct rtrs_msg_rdma_read) == 24, "rdma_read");
_Static_assert(sizeof(struct rnbd_msg_sess_info) == 36, "sess_info");
_Static_assert(sizeof(struct rnbd_msg_open) == 264, "open");
_Static_assert(sizeof(struct rnbd_msg_open_rsp) == 56, "open_rsp");
_Static_assert(sizeof(struct rnbd_msg_close) == 8, "close");
_Static_assert(sizeof(struct rnbd_msg_io) == 32, "io");

/* ---- Local resources ---- */

#define MAX_CONNS 4
#define NRECV 128
#define RECV_SLOT 64
/* Per-connection buffer: receive slots, INFO_RSP, message to send, read-data target. */
#define OFF_RECV 0
#define OFF_INFO (64 << 10)
#define OFF_SEND (2 << 20)
#define OFF_DATA (3 << 20)
#define DATA_AREA (512 << 10)
#define BUF_SIZE (4 << 20)
#define CANARY 0xA5

#define T_CM 15000     /* ms for one rdma_cm step */
#define T_RESP 8000    /* ms for an IO response */
#define T_CLOSE 15000  /* ms for the server to close a path */
#define T_QUIET 4000   /* ms of silence that count as 'no response' */

struct conn {
	struct sess *s;
	int cid;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	uint8_t *buf;
	/* rdma_cm outcome */
	bool resolved_addr, resolved_route, established, rejected, disconnected, cm_error;
	int rej_status, rej_errno, cm_event_err;
	struct rtrs_msg_conn_rsp rsp;
	/* verbs outcome */
	bool info_rsp;
	uint32_t info_len;
	int wc_error;          /* first failed work completion status, 0 if none */
	int wc_error_opcode;
	unsigned int sends_done;
};

struct rbuf {
	uint64_t addr;
	uint32_t key;
};

struct sess {
	struct rdma_event_channel *ch;
	struct sockaddr_storage dst;
	int cid_num;
	struct conn c[MAX_CONNS];
	uint8_t sess_uuid[16], paths_uuid[16];
	char name[256];
	/* from CON_RSP and INFO_RSP */
	unsigned int queue_depth, max_io_size, max_hdr_size, flags, chunk_size;
	unsigned int mem_bits, chunk_bits;
	struct rbuf *rbuf;
	unsigned int next_chunk;
	/* IO responses, per msg_id */
	int *resp_errno; /* INT32_MIN: none yet */
	unsigned int hb_msgs, hb_acks, unknown_imm, rkey_rsps;
};

static const char *g_attack;
static const char *g_addr;
/* Sessions of the attack, disconnected before the verdict is printed. */
static struct sess *g_sess[8];
static void teardown_all(void);
static int g_port = 1234;
static const char *g_dev = "/dev/ram1";
static const char *g_name;

/* ---- Result reporting ---- */

static void __attribute__((noreturn, format(printf, 2, 3))) result(int code, const char *fmt, ...)
{
	va_list ap;
	const char *v = code == 0 ? "PASS" : code == 1 ? "FAIL" : code == 3 ? "SKIP" : "ERROR";

	teardown_all();
	printf("hostile %s: %s: ", g_attack, v);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(code == 3 ? 0 : code);
}
#define PASS(...) result(0, __VA_ARGS__)
#define FAIL(...) result(1, __VA_ARGS__)
#define SETUP_ERR(...) result(2, __VA_ARGS__)
#define SKIP(...) result(3, __VA_ARGS__)

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  [%s] ", g_attack);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ---- Event pumps: rdma_cm events and completions of every connection ---- */

static void post_recv(struct conn *c, unsigned int slot)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->buf + OFF_RECV + slot * RECV_SLOT),
		.length = RECV_SLOT,
		.lkey = c->mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = slot, .sg_list = &sge, .num_sge = 1 }, *bad;

	if (ibv_post_recv(c->id->qp, &wr, &bad))
		note("cid %d: ibv_post_recv failed: %s", c->cid, strerror(errno));
}

/* Posts the chain wr (every WR signaled) on qp of connection cid; both roles use it. */
static int qp_post_send(struct ibv_qp *qp, int cid, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad, *w;
	int err;

	for (w = wr; w; w = w->next)
		w->send_flags |= IBV_SEND_SIGNALED;
	err = ibv_post_send(qp, wr, &bad);
	if (err)
		note("cid %d: ibv_post_send failed: %s", cid, strerror(err));
	return err;
}

static int post_send_wr(struct conn *c, struct ibv_send_wr *wr)
{
	return qp_post_send(c->id->qp, c->cid, wr);
}

/* RDMA WRITE WITH IMM of len bytes at OFF_SEND of c's buffer (len 0: no SGE). */
static int post_write_imm(struct conn *c, uint64_t raddr, uint32_t rkey, uint32_t len,
			  uint32_t imm, bool with_imm)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->buf + OFF_SEND), .length = len, .lkey = c->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 1,
		.sg_list = len ? &sge : NULL,
		.num_sge = len ? 1 : 0,
		.opcode = with_imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE,
		.imm_data = htobe32(imm),
		.wr.rdma = { .remote_addr = raddr, .rkey = rkey },
	};

	return post_send_wr(c, &wr);
}

static void send_hb_ack(struct sess *s)
{
	post_write_imm(&s->c[0], 0, 0, 0, (uint32_t)IMM_HB_ACK << 28, true);
}

static void handle_recv(struct sess *s, struct conn *c, struct ibv_wc *wc)
{
	uint8_t *slot = c->buf + OFF_RECV + wc->wr_id * RECV_SLOT;

	if (wc->wr_id == NRECV) { /* the INFO_RSP buffer of cid 0 */
		c->info_rsp = true;
		c->info_len = wc->byte_len;
		return;
	}
	if (wc->wc_flags & IBV_WC_WITH_IMM) {
		uint32_t imm = be32toh(wc->imm_data), type = imm >> 28, payl = imm & 0x0fffffff;

		if (wc->opcode == IBV_WC_RECV && wc->byte_len >= sizeof(struct rtrs_msg_rkey_rsp)) {
			struct rtrs_msg_rkey_rsp *r = (void *)slot;

			if (r->type == RTRS_MSG_RKEY_RSP && s->rbuf && r->buf_id < s->queue_depth) {
				s->rbuf[r->buf_id].key = r->rkey;
				s->rkey_rsps++;
			}
		}
		switch (type) {
		case IMM_IO_RSP:
		case IMM_IO_RSP_W_INV: {
			unsigned int msg_id = payl & 0x7ffff;
			int err = -(int)((payl >> 19) & 0x1ff);

			if (s->resp_errno && msg_id < s->queue_depth)
				s->resp_errno[msg_id] = err;
			else
				note("cid %d: IO response for msg_id %u out of range", c->cid, msg_id);
			break;
		}
		case IMM_HB_MSG:
			s->hb_msgs++;
			send_hb_ack(s);
			break;
		case IMM_HB_ACK:
			s->hb_acks++;
			break;
		default:
			s->unknown_imm++;
			note("cid %d: unknown IMM 0x%08x from the server", c->cid, imm);
		}
	}
	post_recv(c, wc->wr_id);
}

static void poll_cqs(struct sess *s)
{
	struct ibv_wc wc[16];
	int i, n, k;

	for (i = 0; i < s->cid_num; i++) {
		struct conn *c = &s->c[i];

		if (!c->cq)
			continue;
		while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0) {
			for (k = 0; k < n; k++) {
				if (wc[k].status != IBV_WC_SUCCESS) {
					if (!c->wc_error) {
						c->wc_error = wc[k].status;
						c->wc_error_opcode = wc[k].opcode;
						note("cid %d: work completion error: %s", c->cid,
						     ibv_wc_status_str(wc[k].status));
					}
					continue;
				}
				if (wc[k].opcode & IBV_WC_RECV)
					handle_recv(s, c, &wc[k]);
				else
					c->sends_done++;
			}
		}
	}
}

static void pump_cm(struct sess *s)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(s->ch, &ev) == 0) {
		struct conn *c = ev->id->context;

		switch (ev->event) {
		case RDMA_CM_EVENT_ADDR_RESOLVED:
			c->resolved_addr = true;
			break;
		case RDMA_CM_EVENT_ROUTE_RESOLVED:
			c->resolved_route = true;
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			c->established = true;
			if (ev->param.conn.private_data_len >= sizeof(c->rsp))
				memcpy(&c->rsp, ev->param.conn.private_data, sizeof(c->rsp));
			break;
		case RDMA_CM_EVENT_REJECTED:
			c->rejected = true;
			c->rej_status = ev->status;
			c->rej_errno = 0;
			if (ev->param.conn.private_data &&
			    ev->param.conn.private_data_len >= sizeof(struct rtrs_msg_conn_rsp)) {
				const struct rtrs_msg_conn_rsp *r = ev->param.conn.private_data;

				if (r->magic == RTRS_MAGIC)
					c->rej_errno = r->errno_;
			}
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			c->disconnected = true;
			break;
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
			break;
		default:
			c->cm_error = true;
			c->cm_event_err = ev->event;
			note("cid %d: rdma_cm event %s (status %d)", c->cid,
			     rdma_event_str(ev->event), ev->status);
		}
		rdma_ack_cm_event(ev);
	}
}

/* Pumps until cond(s, arg) holds or timeout_ms passed; returns cond's last value. */
static bool wait_for(struct sess *s, long long timeout_ms, bool (*cond)(struct sess *, void *),
		     void *arg)
{
	long long end = now_ms() + timeout_ms;

	for (;;) {
		pump_cm(s);
		poll_cqs(s);
		if (cond(s, arg))
			return true;
		if (now_ms() >= end)
			return false;
		usleep(1000);
	}
}

static bool never(struct sess *s, void *arg)
{
	(void)s;
	(void)arg;
	return false;
}

/* Keeps the session serviced (heartbeats answered) for ms milliseconds. */
static void idle(struct sess *s, long long ms)
{
	wait_for(s, ms, never, NULL);
}

static bool conn_cm_done(struct sess *s, void *arg)
{
	struct conn *c = arg;

	(void)s;
	return c->established || c->rejected || c->disconnected || c->cm_error;
}

static bool addr_done(struct sess *s, void *arg)
{
	struct conn *c = arg;

	(void)s;
	return c->resolved_addr || c->cm_error;
}

static bool route_done(struct sess *s, void *arg)
{
	struct conn *c = arg;

	(void)s;
	return c->resolved_route || c->cm_error;
}

/* The server closed the path: a DISCONNECTED event or a failed completion on any connection. */
static bool path_closed(struct sess *s, void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < s->cid_num; i++) {
		if (s->c[i].disconnected || s->c[i].wc_error || s->c[i].rejected ||
		    (s->c[i].cm_error && s->c[i].established))
			return true;
	}
	return false;
}

static const char *closed_how(struct sess *s)
{
	static char how[160];
	int i;

	for (i = 0; i < s->cid_num; i++) {
		struct conn *c = &s->c[i];

		if (c->disconnected) {
			snprintf(how, sizeof(how), "path closed (DISCONNECTED on cid %d)", i);
			return how;
		}
	}
	for (i = 0; i < s->cid_num; i++) {
		struct conn *c = &s->c[i];

		if (c->wc_error) {
			snprintf(how, sizeof(how), "path closed (cid %d: %s)", i,
				 ibv_wc_status_str(c->wc_error));
			return how;
		}
		if (c->cm_error) {
			snprintf(how, sizeof(how), "path closed (cid %d: %s)", i,
				 rdma_event_str(c->cm_event_err));
			return how;
		}
	}
	return "path still up";
}

/* ---- Connection set-up ---- */

/* A non-blocking rdma_cm event channel (both roles). */
static struct rdma_event_channel *event_channel_open(void)
{
	struct rdma_event_channel *ch = rdma_create_event_channel();

	if (!ch)
		SETUP_ERR("rdma_create_event_channel: %s (rdma_ucm loaded?)", strerror(errno));
	if (fcntl(ch->fd, F_SETFL, fcntl(ch->fd, F_GETFL) | O_NONBLOCK))
		SETUP_ERR("fcntl O_NONBLOCK: %s", strerror(errno));
	return ch;
}

/* g_addr and g_port as a socket address: the server's (client role) or our own (server). */
static void addr_parse(struct sockaddr_storage *ss)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC }, *res;
	char port[16];

	snprintf(port, sizeof(port), "%d", g_port);
	if (getaddrinfo(g_addr, port, &hints, &res))
		SETUP_ERR("cannot parse address %s", g_addr);
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
}

static void sess_init(struct sess *s, int cid_num, const char *name)
{
	int i;

	memset(s, 0, sizeof(*s));
	s->cid_num = cid_num;
	s->ch = event_channel_open();
	if (getrandom(s->sess_uuid, 16, 0) != 16 || getrandom(s->paths_uuid, 16, 0) != 16)
		SETUP_ERR("getrandom failed");
	snprintf(s->name, sizeof(s->name), "%s", name);
	for (i = 0; i < (int)(sizeof(g_sess) / sizeof(g_sess[0])); i++)
		if (!g_sess[i]) {
			g_sess[i] = s;
			break;
		}
	for (i = 0; i < MAX_CONNS; i++) {
		s->c[i].s = s;
		s->c[i].cid = i;
	}
	addr_parse(&s->dst);
}

/* A CON_REQ as the C client sends it for connection cid of the session. */
static void con_req_init(struct sess *s, struct rtrs_msg_conn_req *req, int cid, int cid_num)
{
	memset(req, 0, sizeof(*req));
	req->magic = RTRS_MAGIC;
	req->version = RTRS_PROTO_VER;
	req->cid = cid;
	req->cid_num = cid_num;
	req->recon_cnt = 1;
	memcpy(req->sess_uuid, s->sess_uuid, 16);
	memcpy(req->paths_uuid, s->paths_uuid, 16);
	req->first_conn = 1;
}

/*
 * Resolves, creates the QP of slot c and connects with private data (req, len). Returns
 * 0 when ESTABLISHED, 1 when REJECTED (c->rej_*), 2 on other errors.
 */
static int conn_connect(struct sess *s, struct conn *c, const void *req, size_t len)
{
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 64, .max_recv_wr = NRECV + 1, .max_send_sge = 2,
			 .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct rdma_conn_param cp = {
		.private_data = req, .private_data_len = len,
		.responder_resources = 0, .initiator_depth = 0,
		.retry_count = 7, .rnr_retry_count = 7,
	};

	c->resolved_addr = c->resolved_route = c->established = c->rejected = false;
	c->disconnected = c->cm_error = false;
	if (rdma_create_id(s->ch, &c->id, c, RDMA_PS_TCP))
		SETUP_ERR("rdma_create_id: %s", strerror(errno));
	if (rdma_resolve_addr(c->id, NULL, (struct sockaddr *)&s->dst, T_CM))
		SETUP_ERR("rdma_resolve_addr: %s", strerror(errno));
	wait_for(s, T_CM, addr_done, c);
	if (!c->resolved_addr)
		SETUP_ERR("cid %d: address %s not resolved", c->cid, g_addr);
	if (rdma_resolve_route(c->id, T_CM))
		SETUP_ERR("rdma_resolve_route: %s", strerror(errno));
	wait_for(s, T_CM, route_done, c);
	if (!c->resolved_route)
		SETUP_ERR("cid %d: route to %s not resolved", c->cid, g_addr);
	c->pd = ibv_alloc_pd(c->id->verbs);
	c->cq = c->pd ? ibv_create_cq(c->id->verbs, 2 * NRECV + 64, NULL, NULL, 0) : NULL;
	if (!c->cq)
		SETUP_ERR("ibv_alloc_pd/ibv_create_cq: %s", strerror(errno));
	c->buf = aligned_alloc(4096, BUF_SIZE);
	if (!c->buf)
		SETUP_ERR("out of memory");
	memset(c->buf, 0, BUF_SIZE);
	c->mr = ibv_reg_mr(c->pd, c->buf, BUF_SIZE,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!c->mr)
		SETUP_ERR("ibv_reg_mr: %s", strerror(errno));
	qa.send_cq = qa.recv_cq = c->cq;
	if (rdma_create_qp(c->id, c->pd, &qa))
		SETUP_ERR("rdma_create_qp: %s", strerror(errno));
	if (rdma_connect(c->id, &cp))
		SETUP_ERR("rdma_connect: %s", strerror(errno));
	wait_for(s, T_CM, conn_cm_done, c);
	if (c->established)
		return 0;
	if (c->rejected)
		return 1;
	if (c->cm_error)
		note("cid %d: connect ended with %s", c->cid, rdma_event_str(c->cm_event_err));
	else
		note("cid %d: no answer to the CONNECT within %d ms", c->cid, T_CM);
	return 2;
}

/* Connects cid with a valid CON_REQ; stores the server's parameters from cid 0. */
static void conn_legit(struct sess *s, int cid)
{
	struct rtrs_msg_conn_req req;
	struct conn *c = &s->c[cid];
	int r;

	con_req_init(s, &req, cid, s->cid_num);
	r = conn_connect(s, c, &req, sizeof(req));
	if (r == 1)
		SETUP_ERR("cid %d: a valid CON_REQ was rejected (status %d, errno %d)", cid,
			  c->rej_status, c->rej_errno);
	if (r)
		SETUP_ERR("cid %d: a valid CON_REQ did not connect", cid);
	if (c->rsp.magic != RTRS_MAGIC || c->rsp.errno_)
		SETUP_ERR("cid %d: bad CON_RSP (magic 0x%x errno %d)", cid, c->rsp.magic,
			  c->rsp.errno_);
	if (cid == 0) {
		s->queue_depth = c->rsp.queue_depth;
		s->max_io_size = c->rsp.max_io_size;
		s->max_hdr_size = c->rsp.max_hdr_size;
		s->flags = c->rsp.flags;
		s->chunk_size = s->max_io_size + s->max_hdr_size;
		if (!s->queue_depth || s->chunk_size < 8192)
			SETUP_ERR("CON_RSP: queue_depth %u, chunk size %u", s->queue_depth,
				  s->chunk_size);
		s->chunk_bits = 0;
		while ((1u << s->chunk_bits) < s->queue_depth)
			s->chunk_bits++;
		s->mem_bits = 28 - s->chunk_bits;
		/* The INFO_RSP receive, before INFO_REQ is sent. */
		{
			struct ibv_sge sge = {
				.addr = (uintptr_t)(c->buf + OFF_INFO),
				.length = sizeof(struct rtrs_msg_info_rsp) + 16 * s->queue_depth,
				.lkey = c->mr->lkey,
			};
			struct ibv_recv_wr wr = { .wr_id = NRECV, .sg_list = &sge, .num_sge = 1 },
					   *bad;

			if (ibv_post_recv(c->id->qp, &wr, &bad))
				SETUP_ERR("post INFO_RSP receive failed");
		}
	}
}

/* Sends an INFO_REQ (len bytes at OFF_SEND of cid 0's buffer) with IBV_WR_SEND. */
static void send_info_req(struct sess *s, const struct rtrs_msg_info_req *req, size_t len)
{
	struct conn *c = &s->c[0];
	struct ibv_sge sge = {
		.addr = (uintptr_t)(c->buf + OFF_SEND), .length = len, .lkey = c->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 2, .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND,
	};

	memcpy(c->buf + OFF_SEND, req, len);
	if (post_send_wr(c, &wr))
		SETUP_ERR("posting INFO_REQ failed");
}

static void info_req_init(struct rtrs_msg_info_req *req, const char *name)
{
	memset(req, 0, sizeof(*req));
	req->type = RTRS_MSG_INFO_REQ;
	snprintf(req->pathname, sizeof(req->pathname), "%s", name);
}

static bool info_done(struct sess *s, void *arg)
{
	(void)arg;
	return s->c[0].info_rsp || path_closed(s, NULL);
}

/* Parses INFO_RSP into rbuf and posts the steady-state receives. false if malformed. */
static bool info_rsp_parse(struct sess *s)
{
	struct conn *c = &s->c[0];
	struct rtrs_msg_info_rsp *rsp = (void *)(c->buf + OFF_INFO);
	unsigned int i, k, n = 0;

	if (c->info_len < 8 || rsp->type != RTRS_MSG_INFO_RSP || !rsp->sg_cnt ||
	    c->info_len < 8 + 16u * rsp->sg_cnt) {
		note("INFO_RSP malformed: len %u type %u sg_cnt %u", c->info_len, rsp->type,
		     rsp->sg_cnt);
		return false;
	}
	s->rbuf = calloc(s->queue_depth, sizeof(*s->rbuf));
	s->resp_errno = calloc(s->queue_depth, sizeof(int));
	if (!s->rbuf || !s->resp_errno)
		SETUP_ERR("out of memory");
	for (i = 0; i < s->queue_depth; i++)
		s->resp_errno[i] = INT32_MIN;
	for (i = 0; i < rsp->sg_cnt; i++) {
		unsigned int chunks = rsp->desc[i].len / s->chunk_size;

		if (!rsp->desc[i].len || rsp->desc[i].len % s->chunk_size)
			return false;
		for (k = 0; k < chunks && n < s->queue_depth; k++, n++) {
			s->rbuf[n].addr = rsp->desc[i].addr + (uint64_t)k * s->chunk_size;
			s->rbuf[n].key = rsp->desc[i].key;
		}
	}
	if (n != s->queue_depth) {
		note("INFO_RSP maps %u chunks, queue depth %u", n, s->queue_depth);
		return false;
	}
	for (i = 0; i < (unsigned int)s->cid_num; i++)
		for (k = 0; k < NRECV; k++)
			post_recv(&s->c[i], k);
	return true;
}

/* A whole legitimate session: cid_num connections, INFO exchange. */
static void sess_legit(struct sess *s, int cid_num, const char *name)
{
	struct rtrs_msg_info_req req;
	int i;

	sess_init(s, cid_num, name);
	for (i = 0; i < cid_num; i++)
		conn_legit(s, i);
	info_req_init(&req, name);
	send_info_req(s, &req, sizeof(req));
	wait_for(s, T_RESP, info_done, NULL);
	if (!s->c[0].info_rsp)
		SETUP_ERR("no INFO_RSP for a valid INFO_REQ (%s)", closed_how(s));
	if (!info_rsp_parse(s))
		SETUP_ERR("INFO_RSP rejected by the client checks");
	note("session '%s': queue_depth %u chunk %u max_io %u flags 0x%x", name,
	     s->queue_depth, s->chunk_size, s->max_io_size, s->flags);
}

/* Disconnects every connection of every session (the process exit frees the rest). */
static void teardown_all(void)
{
	size_t k;
	int i;

	for (k = 0; k < sizeof(g_sess) / sizeof(g_sess[0]) && g_sess[k]; k++) {
		struct sess *s = g_sess[k];

		for (i = 0; i < MAX_CONNS; i++)
			if (s->c[i].id && s->c[i].established && !s->c[i].disconnected)
				rdma_disconnect(s->c[i].id);
	}
	for (k = 0; k < sizeof(g_sess) / sizeof(g_sess[0]) && g_sess[k]; k++) {
		struct sess *s = g_sess[k];
		long long end = now_ms() + 300;

		while (now_ms() < end) {
			pump_cm(s);
			usleep(1000);
		}
	}
}

/* ---- RTRS IO requests ---- */

/* An RTRS request, built into the sending connection's OFF_SEND area. */
struct io {
	int cid;
	bool read;
	const void *usr;
	size_t usr_len;        /* bytes of usr sent */
	unsigned int usr_len_field;  /* usr_len in the RTRS header */
	size_t data_len;       /* D: WRITE data bytes (from wdata) / READ data area */
	const void *wdata;
	/* READ header */
	uint16_t sg_cnt, flags, type;
	struct rtrs_sg_desc desc;
	/* IMM overrides */
	bool raw_off;
	uint32_t off;
	unsigned int buf_id;
};

static void io_init(struct sess *s, struct io *io, bool read, int cid, const void *usr,
		    size_t usr_len, size_t data_len)
{
	struct conn *c = &s->c[cid];

	memset(io, 0, sizeof(*io));
	io->cid = cid;
	io->read = read;
	io->usr = usr;
	io->usr_len = usr_len;
	io->usr_len_field = usr_len;
	io->data_len = data_len;
	io->type = read ? RTRS_MSG_READ : RTRS_MSG_WRITE;
	io->sg_cnt = read && data_len ? 1 : 0;
	io->desc.addr = (uintptr_t)(c->buf + OFF_DATA);
	io->desc.key = c->mr->rkey;
	io->desc.len = data_len;
	if (s->next_chunk >= s->queue_depth)
		SETUP_ERR("out of server chunks");
	io->buf_id = s->next_chunk++;
}

/* Posts the request; the read-data area is filled with CANARY first. */
static void io_post(struct sess *s, struct io *io)
{
	struct conn *c = &s->c[io->cid];
	uint8_t *p = c->buf + OFF_SEND;
	size_t hdr_len, len = 0;
	uint64_t raddr = s->rbuf[io->buf_id].addr;
	uint32_t off;

	memset(c->buf + OFF_DATA, CANARY, DATA_AREA);
	if (!io->read && io->data_len) {
		memcpy(p, io->wdata, io->data_len);
		len = io->data_len;
	}
	memcpy(p + len, io->usr, io->usr_len);
	len += io->usr_len;
	if (io->read) {
		struct rtrs_msg_rdma_read h = {
			.type = io->type, .usr_len = io->usr_len_field, .flags = io->flags,
			.sg_cnt = io->sg_cnt, .desc = { io->desc },
		};

		hdr_len = sizeof(h);
		memcpy(p + len, &h, hdr_len);
		raddr += io->data_len;
	} else {
		struct rtrs_msg_rdma_write h = { .type = io->type, .usr_len = io->usr_len_field };

		hdr_len = sizeof(h);
		memcpy(p + len, &h, hdr_len);
	}
	off = io->raw_off ? io->off : io->data_len + io->usr_len;
	post_write_imm(c, raddr, s->rbuf[io->buf_id].key, len + hdr_len,
		       (IMM_IO_REQ << 28) | (io->buf_id << s->mem_bits) | off, true);
}

enum outcome { OUT_RESP, OUT_CLOSED, OUT_NONE };

static bool resp_or_closed(struct sess *s, void *arg)
{
	unsigned int id = *(unsigned int *)arg;

	return s->resp_errno[id] != INT32_MIN || path_closed(s, NULL);
}

/* Waits for the response to buf_id; *err gets its errno. */
static enum outcome wait_resp(struct sess *s, unsigned int buf_id, long long ms, int *err)
{
	*err = 0;
	wait_for(s, ms, resp_or_closed, &buf_id);
	if (s->resp_errno[buf_id] != INT32_MIN) {
		*err = s->resp_errno[buf_id];
		return OUT_RESP;
	}
	return path_closed(s, NULL) ? OUT_CLOSED : OUT_NONE;
}

static enum outcome io_run(struct sess *s, struct io *io, long long ms, int *err)
{
	io_post(s, io);
	return wait_resp(s, io->buf_id, ms, err);
}

static const char *outcome_str(struct sess *s, enum outcome o, int err)
{
	static char str[200];

	switch (o) {
	case OUT_RESP:
		snprintf(str, sizeof(str), "IO response errno %d (%s)", err,
			 err ? strerror(-err) : "success");
		break;
	case OUT_CLOSED:
		snprintf(str, sizeof(str), "%s", closed_how(s));
		break;
	default:
		snprintf(str, sizeof(str), "no response, path still up");
	}
	return str;
}

/* ---- RNBD messages ---- */

static enum outcome rnbd_sess_info(struct sess *s, int *err)
{
	struct rnbd_msg_sess_info m = { .hdr.type = RNBD_MSG_SESS_INFO, .ver = 2 };
	struct io io;

	io_init(s, &io, true, 0, &m, sizeof(m), sizeof(struct rnbd_msg_sess_info));
	return io_run(s, &io, T_RESP, err);
}

/* The session still answers a SESS_INFO: true when it does. */
static bool still_works(struct sess *s)
{
	int err;

	return rnbd_sess_info(s, &err) == OUT_RESP && err == 0;
}

static void open_init(struct rnbd_msg_open *m, const char *name, int mode)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = RNBD_MSG_OPEN;
	m->access_mode = mode;
	snprintf(m->dev_name, sizeof(m->dev_name), "%s", name);
}

/* OPEN; *rsp gets the OPEN_RSP (read back from the data area). */
static enum outcome rnbd_open_msg(struct sess *s, const struct rnbd_msg_open *m, size_t usr_len,
				  int *err, struct rnbd_msg_open_rsp *rsp)
{
	struct io io;
	enum outcome o;

	io_init(s, &io, true, 0, m, usr_len, sizeof(*rsp));
	o = io_run(s, &io, T_RESP, err);
	memcpy(rsp, s->c[0].buf + OFF_DATA, sizeof(*rsp));
	return o;
}

static enum outcome rnbd_open(struct sess *s, const char *name, int mode, int *err,
			      struct rnbd_msg_open_rsp *rsp)
{
	struct rnbd_msg_open m;

	open_init(&m, name, mode);
	return rnbd_open_msg(s, &m, sizeof(m), err, rsp);
}

static enum outcome rnbd_close(struct sess *s, uint32_t dev_id, int *err)
{
	struct rnbd_msg_close m = { .hdr.type = RNBD_MSG_CLOSE, .device_id = dev_id };
	struct io io;

	io_init(s, &io, false, 0, &m, sizeof(m), 0);
	return io_run(s, &io, T_RESP, err);
}

static uint8_t g_wdata[4096];

/* One block IO of len bytes at sector on cid 1 (or 0 with a single connection). */
static enum outcome rnbd_io(struct sess *s, bool write, uint32_t dev_id, uint64_t sector,
			    uint32_t len, uint32_t bi_size, int *err)
{
	struct rnbd_msg_io m = {
		.hdr.type = RNBD_MSG_IO, .device_id = dev_id, .sector = sector,
		.rw = write ? RNBD_OP_WRITE : RNBD_OP_READ | 0x100, .bi_size = bi_size,
	};
	struct io io;

	io_init(s, &io, !write, s->cid_num > 1 ? 1 : 0, &m, sizeof(m), len);
	io.wdata = g_wdata;
	return io_run(s, &io, T_RESP, err);
}

/* A legitimate session on which SESS_INFO works (the base of the IO-level attacks). */
static void sess_rnbd(struct sess *s, const char *name)
{
	int err;
	enum outcome o;

	sess_legit(s, 2, name);
	o = rnbd_sess_info(s, &err);
	if (o != OUT_RESP || err)
		SETUP_ERR("SESS_INFO on a fresh session: %s", outcome_str(s, o, err));
}

static char g_sessname[200];

/* ---- B1: CON_REQ private data ---- */

/* Connects one connection of a fresh session with (req, len); must be rejected. */
static void expect_reject(struct sess *s, struct conn *c, const void *req, size_t len,
			  int want_errno)
{
	int r = conn_connect(s, c, req, len);

	if (r == 0)
		FAIL("ACCEPTED (ESTABLISHED), expected a reject with errno %d", want_errno);
	if (r == 2)
		FAIL("no REJECT: %s, expected a reject with errno %d",
		     c->cm_error ? rdma_event_str(c->cm_event_err) : "no answer", want_errno);
	if (c->rej_errno != want_errno)
		FAIL("REJECTED status=%d errno=%d, expected errno %d", c->rej_status,
		     c->rej_errno, want_errno);
	PASS("REJECTED status=%d errno=%d", c->rej_status, c->rej_errno);
}

static void a_con_short(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	/* Everything up to, not including, first_conn: the CM pads the rest with zeros. */
	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	expect_reject(&s, &s.c[0], &req, offsetof(struct rtrs_msg_conn_req, first_conn), -ENXIO);
}

static void a_con_tiny(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	/* magic and version only: cid_num reads as 0. */
	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	expect_reject(&s, &s.c[0], &req, 6, -ECONNRESET);
}

static void a_con_bad_magic(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	req.magic = RTRS_MAGIC ^ 0x0101;
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_bad_version(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	req.version = 0x0300;
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_old_version(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	req.version = 0x0100;
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_cid_num_0(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 0);
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_cid_num_4097(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 4097);
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_cid_ge_num(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 2, 2);
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ECONNRESET);
}

static void a_con_no_first_conn(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 1, g_sessname);
	con_req_init(&s, &req, 0, 1);
	req.first_conn = 0;
	expect_reject(&s, &s.c[0], &req, sizeof(req), -ENXIO);
}

/* cid 0 of a 2-connection path accepted, then cid 0 again (same path UUID): rejected. */
static void a_con_dup_cid(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0);
	con_req_init(&s, &req, 0, 2); /* slot 1 carries the duplicate */
	expect_reject(&s, &s.c[1], &req, sizeof(req), -ECONNRESET);
}

/* cid 0 with cid_num 2 accepted, then cid 1 with cid_num 3: rejected. */
static void a_con_cid_num_change(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0);
	con_req_init(&s, &req, 1, 3);
	expect_reject(&s, &s.c[1], &req, sizeof(req), -ECONNRESET);
}

/* A connected path (after INFO) gets another CON_REQ for its cid 1: rejected. */
static void a_con_after_connected(void)
{
	struct sess s;
	struct rtrs_msg_conn_req req;

	sess_legit(&s, 2, g_sessname);
	s.cid_num = 3;
	con_req_init(&s, &req, 1, 2);
	expect_reject(&s, &s.c[2], &req, sizeof(req), -ECONNRESET);
}

/* ---- B2: half-open paths ---- */

#define HALF_OPEN_PATHS 4
#define T_ZOMBIE 45000 /* ms: the 30 s connecting time-out, and margin */

/*
 * HALF_OPEN_PATHS paths (each its own session: the server refuses a second path of one
 * session between the same addresses) connect every connection and never send INFO_REQ.
 * The server must close each within T_ZOMBIE; then the client of the first reconnects with
 * the same session and path UUIDs, which must work (a zombie refuses it).
 */
static void a_half_open(void)
{
	static struct sess hs[HALF_OPEN_PATHS];
	struct sess s;
	long long t0 = now_ms(), t_all = -1;
	int i, open;

	for (i = 0; i < HALF_OPEN_PATHS; i++) {
		sess_init(&hs[i], 2, g_sessname);
		conn_legit(&hs[i], 0);
		conn_legit(&hs[i], 1);
	}
	note("%d half-open paths up after %lld ms", HALF_OPEN_PATHS, now_ms() - t0);
	while (now_ms() - t0 < T_ZOMBIE) {
		for (open = 0, i = 0; i < HALF_OPEN_PATHS; i++) {
			poll_cqs(&hs[i]);
			pump_cm(&hs[i]);
			open += !path_closed(&hs[i], NULL);
		}
		if (!open) {
			t_all = now_ms() - t0;
			break;
		}
		usleep(10000);
	}
	if (t_all < 0) {
		for (open = 0, i = 0; i < HALF_OPEN_PATHS; i++)
			open += !path_closed(&hs[i], NULL);
		FAIL("%d of %d half-open paths still open after %d s (zombies)", open,
		     HALF_OPEN_PATHS, T_ZOMBIE / 1000);
	}
	sess_init(&s, 2, g_sessname);
	memcpy(s.sess_uuid, hs[0].sess_uuid, 16);
	memcpy(s.paths_uuid, hs[0].paths_uuid, 16);
	for (i = 0; i < 2; i++) {
		struct rtrs_msg_conn_req req;

		con_req_init(&s, &req, i, 2);
		if (conn_connect(&s, &s.c[i], &req, sizeof(req)))
			FAIL("%d half-open paths closed after %lld s, but the reconnect of cid %d "
			     "was refused (status %d, errno %d)", HALF_OPEN_PATHS, t_all / 1000, i,
			     s.c[i].rej_status, s.c[i].rej_errno);
	}
	PASS("%d half-open paths closed after %lld s; the reconnect with the same UUIDs "
	     "connected", HALF_OPEN_PATHS, t_all / 1000);
}

/* ---- B3: INFO_REQ ---- */

/* Sends req on cid 0 of a path whose connections are up; the path must close, no INFO_RSP. */
static void expect_info_closed(struct sess *s, const struct rtrs_msg_info_req *req, size_t len)
{
	send_info_req(s, req, len);
	wait_for(s, T_CLOSE, path_closed, NULL);
	if (s->c[0].info_rsp)
		FAIL("INFO_RSP received (path accepted), expected the path closed");
	if (!path_closed(s, NULL))
		FAIL("no INFO_RSP and the path stays open for %d s, expected it closed",
		     T_CLOSE / 1000);
	PASS("%s, no INFO_RSP", closed_how(s));
}

static void a_info_early(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0); /* cid 1 of 2 never connects */
	info_req_init(&req, g_sessname);
	expect_info_closed(&s, &req, sizeof(req));
}

static void a_info_slash(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;
	char name[256];

	snprintf(name, sizeof(name), "%s/x", g_sessname);
	sess_init(&s, 2, name);
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, name);
	expect_info_closed(&s, &req, sizeof(req));
}

static void a_info_dot(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;
	char name[256];

	snprintf(name, sizeof(name), "%s.x", g_sessname);
	sess_init(&s, 2, name);
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, name);
	expect_info_closed(&s, &req, sizeof(req));
}

static void a_info_dotdot(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, "..");
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, "..");
	expect_info_closed(&s, &req, sizeof(req));
}

static void a_info_empty(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, "");
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, "");
	expect_info_closed(&s, &req, sizeof(req));
}

/*
 * pathname of 255 non-NUL bytes and the reserved bytes non-NUL too: a server that treats
 * pathname as a C string reads past the 272-byte message. It must close the path (a
 * name that long is not valid: sessname must be shorter than 255 bytes).
 */
static void a_info_no_nul(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	memset(&req, 'h', sizeof(req));
	req.type = RTRS_MSG_INFO_REQ;
	expect_info_closed(&s, &req, sizeof(req));
}

/* INFO_REQ shorter than 272 bytes. */
static void a_info_short(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, g_sessname);
	expect_info_closed(&s, &req, 100);
}

static void a_info_bad_type(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_init(&s, 2, g_sessname);
	conn_legit(&s, 0);
	conn_legit(&s, 1);
	info_req_init(&req, g_sessname);
	req.type = RTRS_MSG_INFO_RSP;
	expect_info_closed(&s, &req, sizeof(req));
}

/* A second INFO_REQ on a connected path: the path closes (or the message is ignored). */
static void a_info_twice(void)
{
	struct sess s;
	struct rtrs_msg_info_req req;

	sess_rnbd(&s, g_sessname);
	info_req_init(&req, g_sessname);
	send_info_req(&s, &req, sizeof(req));
	wait_for(&s, T_QUIET, path_closed, NULL);
	if (path_closed(&s, NULL))
		PASS("%s", closed_how(&s));
	if (still_works(&s))
		PASS("ignored, the session still answers");
	FAIL("neither closed nor working: %s", closed_how(&s));
}

/* Two sessions with the same name: the second path is closed, the first keeps working. */
static void a_info_dup_name(void)
{
	struct sess a, b;
	struct rtrs_msg_info_req req;

	sess_rnbd(&a, g_sessname);
	sess_init(&b, 2, g_sessname);
	conn_legit(&b, 0);
	conn_legit(&b, 1);
	info_req_init(&req, g_sessname);
	send_info_req(&b, &req, sizeof(req));
	wait_for(&b, T_CLOSE, path_closed, NULL);
	idle(&a, 10);
	if (b.c[0].info_rsp)
		FAIL("the second session with the name got an INFO_RSP (accepted)");
	if (!path_closed(&b, NULL))
		FAIL("the second session with the name stays open without INFO_RSP");
	if (path_closed(&a, NULL) || !still_works(&a))
		FAIL("second session %s, but the first one broke: %s", closed_how(&b),
		     closed_how(&a));
	PASS("second session %s; the first still works", closed_how(&b));
}

/* ---- B4: immediate data ---- */

/* A raw IMM (zero-length RDMA WRITE WITH IMM) on cid. */
static void send_raw_imm(struct sess *s, int cid, uint32_t imm)
{
	post_write_imm(&s->c[cid], 0, 0, 0, imm, true);
}

/* The path must close within T_CLOSE. */
static void expect_closed(struct sess *s, const char *what)
{
	wait_for(s, T_CLOSE, path_closed, NULL);
	if (!path_closed(s, NULL)) {
		if (still_works(s))
			FAIL("%s: ignored, the session still works; expected the path closed", what);
		FAIL("%s: path neither closed nor working", what);
	}
	PASS("%s: %s", what, closed_how(s));
}

/* Closed, or an error response for buf_id, pass; a success or silence fail. */
static void expect_closed_or_error(struct sess *s, unsigned int buf_id, const char *what)
{
	int err;
	enum outcome o = wait_resp(s, buf_id, T_CLOSE, &err);

	if (o == OUT_CLOSED || (o == OUT_RESP && err))
		PASS("%s: %s", what, outcome_str(s, o, err));
	FAIL("%s: %s, expected the path closed or an error response", what,
	     outcome_str(s, o, err));
}

static void a_imm_msg_id_qd(void)
{
	struct sess s;
	char what[80];

	sess_rnbd(&s, g_sessname);
	if (s.queue_depth == 1u << s.chunk_bits)
		SKIP("msg_id = queue_depth (%u) does not fit the %u IMM bits: load the server with a queue depth that is no power of 2",
		     s.queue_depth, s.chunk_bits);
	snprintf(what, sizeof(what), "msg_id %u = queue_depth", s.queue_depth);
	send_raw_imm(&s, 1, (IMM_IO_REQ << 28) | (s.queue_depth << s.mem_bits));
	expect_closed(&s, what);
}

static void a_imm_msg_id_max(void)
{
	struct sess s;
	char what[80];
	unsigned int max;

	sess_rnbd(&s, g_sessname);
	max = (1u << s.chunk_bits) - 1;
	if (max < s.queue_depth)
		SKIP("the largest msg_id %u is valid with queue_depth %u", max, s.queue_depth);
	snprintf(what, sizeof(what), "msg_id %u (max, queue_depth %u)", max, s.queue_depth);
	send_raw_imm(&s, 1, (IMM_IO_REQ << 28) | (max << s.mem_bits));
	expect_closed(&s, what);
}

static void a_imm_off_chunk(void)
{
	struct sess s;
	char what[80];

	sess_rnbd(&s, g_sessname);
	if (s.chunk_size >= 1u << s.mem_bits)
		SKIP("off %u does not fit %u bits", s.chunk_size, s.mem_bits);
	snprintf(what, sizeof(what), "off = chunk size %u", s.chunk_size);
	send_raw_imm(&s, 1, (IMM_IO_REQ << 28) | (s.next_chunk++ << s.mem_bits) | s.chunk_size);
	expect_closed(&s, what);
}

/*
 * off = chunk size - 1 with the last byte of the chunk 0x02 (the low byte of WRITE):
 * the 4-byte RTRS header straddles the end of the chunk.
 */
static void a_imm_off_chunk_m1(void)
{
	struct sess s;
	struct conn *c;
	char what[80];
	unsigned int id;

	sess_rnbd(&s, g_sessname);
	c = &s.c[1];
	/* The last chunk: what follows it is not one of the session's chunks. */
	id = s.queue_depth - 1;
	c->buf[OFF_SEND] = RTRS_MSG_WRITE;
	post_write_imm(c, s.rbuf[id].addr + s.chunk_size - 1, s.rbuf[id].key, 1, 0, false);
	idle(&s, 200);
	snprintf(what, sizeof(what), "off = chunk size - 1 (%u), header past the chunk end",
		 s.chunk_size - 1);
	send_raw_imm(&s, 1, (IMM_IO_REQ << 28) | (id << s.mem_bits) | (s.chunk_size - 1));
	expect_closed_or_error(&s, id, what);
}

/* An unknown IMM type is ignored (or closes the path); the session keeps working. */
static void imm_ignored_or_closed(struct sess *s, int cid, uint32_t imm, const char *what)
{
	send_raw_imm(s, cid, imm);
	idle(s, 500);
	if (path_closed(s, NULL))
		PASS("%s: %s", what, closed_how(s));
	if (still_works(s))
		PASS("%s: ignored, the session still works", what);
	FAIL("%s: the session stopped answering but the path is not closed (%s)", what,
	     closed_how(s));
}

static void a_imm_unknown_type(void)
{
	struct sess s;

	sess_rnbd(&s, g_sessname);
	imm_ignored_or_closed(&s, 1, 5u << 28 | 0x123, "IMM type 5 on cid 1");
}

static void a_imm_type_15(void)
{
	struct sess s;

	sess_rnbd(&s, g_sessname);
	imm_ignored_or_closed(&s, 0, 15u << 28 | 0xfffffff, "IMM type 15 on cid 0");
}

static void a_imm_hb_ack_cid1(void)
{
	struct sess s;

	sess_rnbd(&s, g_sessname);
	imm_ignored_or_closed(&s, 1, (uint32_t)IMM_HB_ACK << 28, "HB_ACK on cid 1");
}

static void a_imm_hb_msg_cid1(void)
{
	struct sess s;

	sess_rnbd(&s, g_sessname);
	imm_ignored_or_closed(&s, 1, (uint32_t)IMM_HB_MSG << 28, "HB_MSG on cid 1");
}

/* IO_RSP IMM sent to the server (a client-to-server type it never expects). */
static void a_imm_io_rsp(void)
{
	struct sess s;

	sess_rnbd(&s, g_sessname);
	imm_ignored_or_closed(&s, 1, (uint32_t)IMM_IO_RSP << 28 | 3, "IO_RSP IMM to the server");
}

/* ---- B5: READ/WRITE headers ---- */

/* A SESS_INFO READ whose RTRS header the attack changes. */
static void sess_info_io(struct sess *s, struct io *io, struct rnbd_msg_sess_info *m)
{
	memset(m, 0, sizeof(*m));
	m->hdr.type = RNBD_MSG_SESS_INFO;
	m->ver = 2;
	io_init(s, io, true, 0, m, sizeof(*m), sizeof(*m));
}

/* Error response, closed path, or a documented drop (no response, path up and working). */
static void expect_rejected_or_dropped(struct sess *s, struct io *io, const char *what)
{
	int err;
	enum outcome o = io_run(s, io, T_QUIET, &err);

	if (o == OUT_CLOSED || (o == OUT_RESP && err))
		PASS("%s: %s", what, outcome_str(s, o, err));
	if (o == OUT_RESP)
		FAIL("%s: accepted (%s)", what, outcome_str(s, o, err));
	if (still_works(s))
		PASS("%s: dropped without a response, the session still works", what);
	FAIL("%s: no response and the session stopped answering (%s)", what, closed_how(s));
}

static void a_rw_usr_len_gt_off(void)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;

	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.usr_len_field = io.data_len + io.usr_len + 1;
	expect_rejected_or_dropped(&s, &io, "READ usr_len = off + 1");
}

static void a_rw_write_usr_len_gt_off(void)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_close m = { .hdr.type = RNBD_MSG_CLOSE, .device_id = 0x7fff };

	sess_rnbd(&s, g_sessname);
	io_init(&s, &io, false, 0, &m, sizeof(m), 0);
	io.usr_len_field = 0xffff;
	expect_rejected_or_dropped(&s, &io, "WRITE usr_len 0xffff > off");
}

static void a_rw_sg_cnt_0(void)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;
	int err;
	enum outcome o;

	/* Legal (a flush is a READ without descriptor): a response without data. */
	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.sg_cnt = 0;
	o = io_run(&s, &io, T_RESP, &err);
	if (o != OUT_RESP)
		FAIL("READ sg_cnt 0: %s, expected a response", outcome_str(&s, o, err));
	if (s.c[0].buf[OFF_DATA] != CANARY)
		FAIL("READ sg_cnt 0: %s, but data was written to the client", outcome_str(&s, o, err));
	if (!still_works(&s))
		FAIL("READ sg_cnt 0: the session stopped working afterwards");
	PASS("READ sg_cnt 0: %s, no data written", outcome_str(&s, o, err));
}

static void rw_sg_cnt(uint16_t n)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;
	char what[40];

	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.sg_cnt = n;
	snprintf(what, sizeof(what), "READ sg_cnt %u", n);
	expect_rejected_or_dropped(&s, &io, what);
}

static void a_rw_sg_cnt_2(void) { rw_sg_cnt(2); }
static void a_rw_sg_cnt_ffff(void) { rw_sg_cnt(0xffff); }

/* A READ descriptor the server must refuse: the path closes or an error comes back. */
static void rw_bad_desc(const char *what, uint64_t addr_xor, uint32_t key_xor, int64_t len)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.desc.addr ^= addr_xor;
	io.desc.key ^= key_xor;
	if (len == -2)
		io.desc.len = s.chunk_size + 1;
	else if (len >= 0)
		io.desc.len = len;
	o = io_run(&s, &io, T_CLOSE, &err);
	if (o == OUT_RESP && err == 0 && !path_closed(&s, NULL))
		wait_for(&s, 2000, path_closed, NULL);
	if (o == OUT_CLOSED || (o == OUT_RESP && err) || path_closed(&s, NULL))
		PASS("%s: %s", what, o == OUT_RESP && !err ? closed_how(&s) : outcome_str(&s, o, err));
	FAIL("%s: %s, expected the path closed or an error", what, outcome_str(&s, o, err));
}

static void a_rw_desc_len_0(void) { rw_bad_desc("READ desc len 0", 0, 0, 0); }

static void a_rw_desc_len_big(void)
{
	rw_bad_desc("READ desc len max_chunk_size + 1", 0, 0, -2);
}

static void a_rw_bad_rkey(void) { rw_bad_desc("READ desc with a bogus rkey", 0, 0x5a5a00, -1); }

static void a_rw_bad_addr(void)
{
	rw_bad_desc("READ desc with a bogus address", 0x40000000000ULL, 0, -1);
}

/*
 * READ whose descriptor is longer than the data area it asks for (SESS_INFO: 36 bytes,
 * descriptor 4096): nothing beyond the requested data may reach the client. The bytes
 * written past the data are counted, and among them those that are neither zero nor
 * what this client itself put into the chunk (the RNBD and RTRS headers of the request,
 * right after the data) are reported as foreign.
 */
static void a_rw_desc_len_gt_data(void)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;
	int err, written = 0, foreign = 0, i;
	size_t own = sizeof(m) + sizeof(m) + sizeof(struct rtrs_msg_rdma_read);
	enum outcome o;
	uint8_t *d;

	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.desc.len = 4096;
	o = io_run(&s, &io, T_RESP, &err);
	d = s.c[0].buf + OFF_DATA;
	for (i = sizeof(m); i < 4096; i++) {
		written += d[i] != CANARY;
		foreign += (size_t)i >= own && d[i] != CANARY && d[i] != 0;
	}
	if (o == OUT_RESP && written)
		FAIL("READ of 36 bytes with desc len 4096: %s, and %d bytes beyond the 36 requested were written to the client (%d of them non-zero and not this client's own request)",
		     outcome_str(&s, o, err), written, foreign);
	PASS("READ of 36 bytes with desc len 4096: %s, nothing beyond the data written",
	     outcome_str(&s, o, err));
}

static void a_rw_unknown_type(void)
{
	struct sess s;
	struct io io;
	struct rnbd_msg_sess_info m;

	sess_rnbd(&s, g_sessname);
	sess_info_io(&s, &io, &m);
	io.type = 7;
	io_post(&s, &io);
	expect_closed(&s, "RTRS message type 7");
}

/* ---- B6: RNBD messages ---- */

static void expect_error(struct sess *s, enum outcome o, int err, const char *what)
{
	if (o == OUT_RESP && err)
		PASS("%s: %s", what, outcome_str(s, o, err));
	if (o == OUT_CLOSED)
		PASS("%s: %s", what, outcome_str(s, o, err));
	FAIL("%s: %s, expected an error response", what, outcome_str(s, o, err));
}

static void a_rnbd_unknown_type(void)
{
	struct sess s;
	struct rnbd_msg_sess_info m = { .hdr.type = 9 };
	struct io io;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	io_init(&s, &io, true, 0, &m, sizeof(m), sizeof(m));
	o = io_run(&s, &io, T_RESP, &err);
	expect_error(&s, o, err, "RNBD type 9");
}

static void a_rnbd_short_usr(void)
{
	struct sess s;
	struct rnbd_msg_open m;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	/* OPEN of the device, but only 4 bytes of the 264 sent as user message. */
	sess_rnbd(&s, g_sessname);
	open_init(&m, g_dev, RNBD_ACCESS_RO);
	o = rnbd_open_msg(&s, &m, sizeof(m.hdr), &err, &rsp);
	expect_error(&s, o, err, "OPEN with usr_len 4");
}

static void a_rnbd_short_io(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	struct rnbd_msg_io m = { .hdr.type = RNBD_MSG_IO, .rw = RNBD_OP_READ, .bi_size = 4096 };
	struct io io;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &err, &rsp);
	if (o != OUT_RESP || err)
		SETUP_ERR("OPEN %s: %s", g_dev, outcome_str(&s, o, err));
	m.device_id = rsp.device_id;
	io_init(&s, &io, true, 1, &m, 8, 4096);
	o = io_run(&s, &io, T_RESP, &err);
	expect_error(&s, o, err, "IO with usr_len 8");
}

static void open_expect_error(const char *name, int mode, const char *what)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_open(&s, name, mode, &err, &rsp);
	expect_error(&s, o, err, what);
}

static void a_rnbd_open_dotdot(void)
{
	char name[300];

	snprintf(name, sizeof(name), "/dev/../dev/%s", g_dev + (strncmp(g_dev, "/dev/", 5) ? 0 : 5));
	open_expect_error(name, RNBD_ACCESS_RO, "OPEN with '..'");
}

static void a_rnbd_open_too_long(void)
{
	char name[255];

	memset(name, 'a', sizeof(name) - 1);
	name[0] = '/';
	name[sizeof(name) - 1] = 0;
	open_expect_error(name, RNBD_ACCESS_RO, "OPEN of a 254-character name");
}

static void a_rnbd_open_no_nul(void)
{
	struct sess s;
	struct rnbd_msg_open m;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	open_init(&m, "", RNBD_ACCESS_RO);
	memset(m.dev_name, 'a', sizeof(m.dev_name));
	memset(m.reserved, 'a', sizeof(m.reserved));
	o = rnbd_open_msg(&s, &m, sizeof(m), &err, &rsp);
	expect_error(&s, o, err, "OPEN dev_name without NUL");
}

static void a_rnbd_open_bad_mode(void)
{
	open_expect_error(g_dev, 7, "OPEN with access_mode 7");
}

static void a_rnbd_open_twice(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp r1, r2;
	int e1, e2;
	enum outcome o1, o2;

	sess_rnbd(&s, g_sessname);
	o1 = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &e1, &r1);
	o2 = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &e2, &r2);
	if (o1 != OUT_RESP || e1)
		SETUP_ERR("first OPEN %s: %s", g_dev, outcome_str(&s, o1, e1));
	if (o2 == OUT_RESP && e2 == 0 && r2.device_id == r1.device_id)
		PASS("second OPEN: same device_id %u (idempotent)", r2.device_id);
	if (o2 == OUT_RESP && e2)
		PASS("second OPEN: %s", outcome_str(&s, o2, e2));
	FAIL("second OPEN: %s, device_id %u then %u", outcome_str(&s, o2, e2), r1.device_id,
	     r2.device_id);
}

static void a_rnbd_close_unknown(void)
{
	struct sess s;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_close(&s, 0x12345, &err);
	if (o == OUT_RESP && still_works(&s))
		PASS("CLOSE of unknown device_id: %s, the session still works",
		     outcome_str(&s, o, err));
	FAIL("CLOSE of unknown device_id: %s", outcome_str(&s, o, err));
}

static void a_rnbd_io_unknown_dev(void)
{
	struct sess s;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_io(&s, false, 0x12345, 0, 4096, 4096, &err);
	expect_error(&s, o, err, "READ for unknown device_id");
}

static void a_rnbd_io_past_end(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &err, &rsp);
	if (o != OUT_RESP || err)
		SETUP_ERR("OPEN %s: %s", g_dev, outcome_str(&s, o, err));
	o = rnbd_io(&s, false, rsp.device_id, rsp.nsectors, 4096, 4096, &err);
	expect_error(&s, o, err, "READ at sector nsectors (past the end)");
}

static void a_rnbd_io_bi_size(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &err, &rsp);
	if (o != OUT_RESP || err)
		SETUP_ERR("OPEN %s: %s", g_dev, outcome_str(&s, o, err));
	o = rnbd_io(&s, false, rsp.device_id, 0, 4096, 8192, &err);
	expect_error(&s, o, err, "READ of 4096 bytes with bi_size 8192");
}

static void a_rnbd_write_ro(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	o = rnbd_open(&s, g_dev, RNBD_ACCESS_RO, &err, &rsp);
	if (o != OUT_RESP || err)
		SETUP_ERR("OPEN %s: %s", g_dev, outcome_str(&s, o, err));
	memset(g_wdata, 0xee, sizeof(g_wdata));
	o = rnbd_io(&s, true, rsp.device_id, 0, 4096, 4096, &err);
	expect_error(&s, o, err, "WRITE to a device opened RO");
}

/* ---- B8: a stale rkey (always_invalidate=Y) ---- */

/* The stale write completed (any send completion after the mark) or failed. */
static unsigned int g_sends_mark;

static bool send_done_or_failed(struct sess *s, void *arg)
{
	struct conn *c = arg;

	(void)s;
	return c->sends_done > g_sends_mark || c->wc_error;
}

/*
 * After the response to a WRITE, which with NEW_RKEY_F carries a new rkey for its chunk,
 * an RDMA WRITE (no immediate data) into that chunk with the old rkey. The server
 * invalidated it: the HCA must refuse the write (remote access error, which also ends
 * the connection). Without NEW_RKEY_F the server does not invalidate (always_invalidate=N)
 * and a stale rkey stays valid: the accepted risk of that mode (SKIP).
 */
static void a_stale_rkey(void)
{
	struct sess s;
	struct rnbd_msg_open_rsp rsp;
	struct conn *c;
	unsigned int k, sends;
	uint32_t old;
	int err;
	enum outcome o;

	sess_rnbd(&s, g_sessname);
	if (!(s.flags & RTRS_MSG_NEW_RKEY_F))
		SKIP("the server does not invalidate its chunks (no NEW_RKEY_F: always_invalidate=N), so an old rkey stays valid, the accepted risk of that mode");
	o = rnbd_open(&s, g_dev, RNBD_ACCESS_RW, &err, &rsp);
	if (o != OUT_RESP || err)
		SETUP_ERR("OPEN %s: %s", g_dev, outcome_str(&s, o, err));
	k = s.next_chunk;
	old = s.rbuf[k].key;
	memset(g_wdata, 0x11, sizeof(g_wdata));
	o = rnbd_io(&s, true, rsp.device_id, 0, 4096, 4096, &err);
	if (o != OUT_RESP || err)
		SETUP_ERR("WRITE through chunk %u: %s", k, outcome_str(&s, o, err));
	if (s.rbuf[k].key == old)
		FAIL("the response to the WRITE through chunk %u kept rkey 0x%x although the server announced NEW_RKEY_F",
		     k, old);
	c = &s.c[s.cid_num > 1 ? 1 : 0];
	sends = g_sends_mark = c->sends_done;
	memset(c->buf + OFF_SEND, 0xee, 4096);
	if (post_write_imm(c, s.rbuf[k].addr, old, 4096, 0, false))
		SETUP_ERR("posting the RDMA WRITE failed");
	/* Its completion comes even when the server closes the path first (a flush). */
	wait_for(&s, T_CLOSE, send_done_or_failed, c);
	if (c->sends_done > sends)
		FAIL("RDMA WRITE into chunk %u with its old rkey 0x%x (new 0x%x) completed: the server's memory took it",
		     k, old, s.rbuf[k].key);
	if (c->wc_error)
		PASS("RDMA WRITE into chunk %u with its old rkey 0x%x (new 0x%x): refused, %s; %s", k,
		     old, s.rbuf[k].key, ibv_wc_status_str(c->wc_error),
		     path_closed(&s, NULL) ? closed_how(&s) : "the path stays up");
	FAIL("RDMA WRITE into chunk %u with its old rkey: no completion in %d s, %s", k,
	     T_CLOSE / 1000, path_closed(&s, NULL) ? closed_how(&s) : "the path is up");
}

/* ==== Server role (B7): a hostile RTRS/RNBD server against the kernel client ====
 *
 * rtrs-hostile --serve --attack NAME [--port N] [--time S] ADDR listens on ADDR:N with
 * rdma_cm, accepts the client's connections with a valid CON_RSP, answers INFO_REQ with
 * real registered chunks, answers SESS_INFO, OPEN, CLOSE and IO (an 8 MiB disk in memory),
 * acknowledges heartbeats, and makes exactly one answer of the attack malformed. It runs
 * until SIGTERM/SIGINT or --time seconds, then prints one line: PASS when the malformed
 * answer went out (with what the client did afterwards), ERROR when the client never got
 * as far as the attack needs. What the kernel did (map result, leftovers, dmesg) is judged
 * by the VM case (65-hostile.sh).
 */

enum srv_attack {
	SA_NONE = 1,          /* a well-behaved server (baseline) */
	SA_OPEN_DEVID,        /* OPEN_RSP device_id 0xffffffff */
	SA_OPEN_NSECT_0,      /* OPEN_RSP nsectors 0 */
	SA_OPEN_NSECT_HUGE,   /* OPEN_RSP nsectors 2^64 - 1 */
	SA_OPEN_LBS_0,        /* OPEN_RSP logical_block_size 0 */
	SA_OPEN_LBS_NPOT,     /* OPEN_RSP logical_block_size 1000 */
	SA_OPEN_MAXHW_0,      /* OPEN_RSP max_hw_sectors 0 */
	SA_OPEN_MAXSEG_0,     /* OPEN_RSP max_segments 0 */
	SA_SESS_VER_0,        /* SESS_INFO_RSP ver 0 */
	SA_INFO_SG_CNT,       /* INFO_RSP sg_cnt = QD / 2, one chunk per descriptor */
	SA_INFO_DESC_LEN_0,   /* INFO_RSP one descriptor with len 0 */
	SA_IO_RSP_IDLE,       /* an extra IO_RSP for a msg_id not in flight */
	SA_IO_RSP_DUP,        /* the IO_RSP of one request twice */
	SA_IO_RSP_ID_QD,      /* an extra IO_RSP for msg_id = queue_depth */
	SA_RKEY_NO_FLAG,      /* an RKEY_RSP (SEND_WITH_IMM, 8 bytes) without NEW_RKEY_F */
	SA_RKEY_IDLE,         /* NEW_RKEY_F: an extra RKEY_RSP for a buf_id not in flight */
	SA_RKEY_BUF_ID_QD,    /* NEW_RKEY_F: an extra RKEY_RSP for buf_id = queue_depth */
	SA_RKEY_MISMATCH,     /* NEW_RKEY_F: an extra RKEY_RSP whose buf_id is not the IMM's msg_id */
};

#define SRV_QD 64
#define SRV_CHUNK (128 << 10)
#define SRV_HDR 4096
#define SRV_CONNS 64          /* connection slots, reused after a disconnect */
#define SRV_NRECV 160
#define SRV_SLOT 512
#define SRV_DISK (8 << 20)
/* The one registered buffer: chunks, receive slots, per-msg_id send slots, INFO_RSP, disk. */
#define S_OFF_RECV ((size_t)SRV_QD * SRV_CHUNK)
#define S_OFF_SEND (S_OFF_RECV + (size_t)SRV_CONNS * SRV_NRECV * SRV_SLOT)
#define S_SEND_SLOT 128
#define S_OFF_INFO (S_OFF_SEND + (size_t)(SRV_QD + 1) * S_SEND_SLOT)
#define S_OFF_DISK (S_OFF_INFO + 4096 + 16 * SRV_QD)
#define S_MEM_SIZE (S_OFF_DISK + SRV_DISK)

struct sconn {
	struct rdma_cm_id *id;
	struct ibv_cq *cq;
	int slot, cid, cid_num;
	bool established, gone;
};

struct srv {
	struct rdma_event_channel *ch;
	struct rdma_cm_id *lid;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	uint8_t *mem;
	struct sconn c[SRV_CONNS];
	unsigned int mem_bits, flags;
	bool inflight[SRV_QD];
	enum srv_attack attack;
	bool injected;
	long long t0, t_inject;
	char what[200];
	/* what the client did, in all and after the injection */
	unsigned int conns, info_reqs, sess_infos, opens, closes, ios, hbs, bad_imms, wc_errs;
	unsigned int disc, disc_after, conns_after, closes_after, ios_after, err_rsps;
};

static volatile sig_atomic_t g_stop;
static int g_time = 300;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void srv_inject(struct srv *S, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void srv_inject(struct srv *S, const char *fmt, ...)
{
	va_list ap;

	S->injected = true;
	S->t_inject = now_ms();
	va_start(ap, fmt);
	vsnprintf(S->what, sizeof(S->what), fmt, ap);
	va_end(ap);
	note("injected: %s", S->what);
}

/* The attack of this run, once: true the first time the hook point is reached. */
static bool srv_attack_now(struct srv *S, enum srv_attack a)
{
	return S->attack == a && !S->injected;
}

static void srv_post_recv(struct srv *S, struct sconn *c, unsigned int k)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(S->mem + S_OFF_RECV +
				    ((size_t)c->slot * SRV_NRECV + k) * SRV_SLOT),
		.length = SRV_SLOT,
		.lkey = S->mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = k, .sg_list = &sge, .num_sge = 1 }, *bad;

	if (ibv_post_recv(c->id->qp, &wr, &bad))
		note("cid %d: ibv_post_recv failed: %s", c->cid, strerror(errno));
}

/* A zero-length RDMA WRITE WITH IMM (IO_RSP, HB_ACK), after the chain first (may be NULL). */
static void srv_post_imm(struct sconn *c, struct ibv_send_wr *first, uint32_t imm)
{
	struct ibv_send_wr wr = {
		.wr_id = 1, .opcode = IBV_WR_RDMA_WRITE_WITH_IMM, .imm_data = htobe32(imm),
	};

	if (first)
		first->next = &wr;
	qp_post_send(c->id->qp, c->cid, first ? first : &wr);
}

static uint32_t io_rsp_imm(unsigned int msg_id, int err)
{
	return (uint32_t)IMM_IO_RSP << 28 | ((uint32_t)(err < 0 ? -err : err) & 0x1ff) << 19 |
	       (msg_id & 0x7ffff);
}

/* An RKEY_RSP (8 bytes, SEND_WITH_IMM) for buf_id carrying imm; the chunk keys never change. */
static void srv_post_rkey_rsp(struct srv *S, struct sconn *c, struct ibv_send_wr *first,
			      unsigned int buf_id, uint32_t imm)
{
	struct rtrs_msg_rkey_rsp *r = (void *)(S->mem + S_OFF_SEND +
					       (size_t)(buf_id % SRV_QD) * S_SEND_SLOT + 64);
	struct ibv_sge sge = { .addr = (uintptr_t)r, .length = sizeof(*r), .lkey = S->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND_WITH_IMM,
		.imm_data = htobe32(imm),
	};

	r->type = RTRS_MSG_RKEY_RSP;
	r->buf_id = buf_id;
	r->rkey = S->mr->rkey;
	if (first)
		first->next = &wr;
	qp_post_send(c->id->qp, c->cid, first ? first : &wr);
}

/* The IO response of msg_id; with data, src (len bytes, in the MR) is RDMA-written first. */
static void srv_respond(struct srv *S, struct sconn *c, unsigned int msg_id,
			const struct rtrs_sg_desc *desc, const void *src, uint32_t len, int err)
{
	struct ibv_sge sge = { .addr = (uintptr_t)src, .lkey = S->mr->lkey };
	struct ibv_send_wr w = { .wr_id = 1, .sg_list = &sge, .num_sge = 1,
				 .opcode = IBV_WR_RDMA_WRITE };
	struct ibv_send_wr *first = NULL;
	uint32_t imm = io_rsp_imm(msg_id, err);

	if (!err && desc && desc->len && src) {
		sge.length = len < desc->len ? len : desc->len;
		w.wr.rdma.remote_addr = desc->addr;
		w.wr.rdma.rkey = desc->key;
		first = &w;
	}
	S->err_rsps += err != 0;
	S->inflight[msg_id] = false;
	if (srv_attack_now(S, SA_RKEY_NO_FLAG)) {
		srv_inject(S, "IO_RSP of msg_id %u as an 8-byte RKEY_RSP (SEND_WITH_IMM) although CON_RSP had no NEW_RKEY_F",
			   msg_id);
		srv_post_rkey_rsp(S, c, first, msg_id, imm);
		return;
	}
	if (S->flags & RTRS_MSG_NEW_RKEY_F)
		srv_post_rkey_rsp(S, c, first, msg_id, imm);
	else
		srv_post_imm(c, first, imm);
}

/* The extra answers of the IO attacks, after the response of the first block IO (msg_id). */
static void srv_io_attack(struct srv *S, struct sconn *c, unsigned int msg_id)
{
	unsigned int idle = SRV_QD - 1;

	while (idle > 0 && (S->inflight[idle] || idle == msg_id))
		idle--;
	if (srv_attack_now(S, SA_IO_RSP_IDLE)) {
		srv_inject(S, "IO_RSP for msg_id %u, not in flight (after the response of msg_id %u)",
			   idle, msg_id);
		srv_post_imm(c, NULL, io_rsp_imm(idle, 0));
	} else if (srv_attack_now(S, SA_IO_RSP_DUP)) {
		srv_inject(S, "the IO_RSP of msg_id %u twice", msg_id);
		srv_post_imm(c, NULL, io_rsp_imm(msg_id, 0));
	} else if (srv_attack_now(S, SA_IO_RSP_ID_QD)) {
		srv_inject(S, "IO_RSP for msg_id %u = queue_depth", SRV_QD);
		srv_post_imm(c, NULL, io_rsp_imm(SRV_QD, 0));
	} else if (srv_attack_now(S, SA_RKEY_IDLE)) {
		srv_inject(S, "RKEY_RSP and IO_RSP for buf_id %u, not in flight (after the response of msg_id %u)",
			   idle, msg_id);
		srv_post_rkey_rsp(S, c, NULL, idle, io_rsp_imm(idle, 0));
	} else if (srv_attack_now(S, SA_RKEY_BUF_ID_QD)) {
		srv_inject(S, "RKEY_RSP for buf_id %u = queue_depth (IMM: IO_RSP of idle msg_id %u)",
			   SRV_QD, idle);
		srv_post_rkey_rsp(S, c, NULL, SRV_QD, io_rsp_imm(idle, 0));
	} else if (srv_attack_now(S, SA_RKEY_MISMATCH)) {
		srv_inject(S, "RKEY_RSP for buf_id %u with the IMM of msg_id %u (both idle)", idle,
			   idle - 1);
		srv_post_rkey_rsp(S, c, NULL, idle, io_rsp_imm(idle - 1, 0));
	}
}

static void srv_open_rsp(struct srv *S, struct rnbd_msg_open_rsp *r)
{
	memset(r, 0, sizeof(*r));
	r->hdr.type = RNBD_MSG_OPEN_RSP;
	r->nsectors = SRV_DISK / 512;
	r->max_hw_sectors = 256;
	r->physical_block_size = 512;
	r->logical_block_size = 512;
	r->max_segments = 128;
	if (srv_attack_now(S, SA_OPEN_DEVID)) {
		r->device_id = 0xffffffff;
		srv_inject(S, "OPEN_RSP with device_id 0xffffffff");
	} else if (srv_attack_now(S, SA_OPEN_NSECT_0)) {
		r->nsectors = 0;
		srv_inject(S, "OPEN_RSP with nsectors 0");
	} else if (srv_attack_now(S, SA_OPEN_NSECT_HUGE)) {
		r->nsectors = UINT64_MAX;
		srv_inject(S, "OPEN_RSP with nsectors 2^64-1");
	} else if (srv_attack_now(S, SA_OPEN_LBS_0)) {
		r->logical_block_size = 0;
		srv_inject(S, "OPEN_RSP with logical_block_size 0");
	} else if (srv_attack_now(S, SA_OPEN_LBS_NPOT)) {
		r->logical_block_size = 1000;
		r->physical_block_size = 1000;
		srv_inject(S, "OPEN_RSP with logical (and physical) block size 1000");
	} else if (srv_attack_now(S, SA_OPEN_MAXHW_0)) {
		r->max_hw_sectors = 0;
		srv_inject(S, "OPEN_RSP with max_hw_sectors 0");
	} else if (srv_attack_now(S, SA_OPEN_MAXSEG_0)) {
		r->max_segments = 0;
		srv_inject(S, "OPEN_RSP with max_segments 0");
	}
}

/* An RNBD message (usr, U bytes) of request msg_id; data/dlen the chunk's data area. */
static void srv_rnbd(struct srv *S, struct sconn *c, unsigned int msg_id, const uint8_t *usr,
		     unsigned int U, uint8_t *data, unsigned int dlen,
		     const struct rtrs_sg_desc *desc)
{
	uint8_t *slot = S->mem + S_OFF_SEND + (size_t)msg_id * S_SEND_SLOT;
	const struct rnbd_msg_hdr *h = (const void *)usr;

	if (U < sizeof(*h)) {
		srv_respond(S, c, msg_id, NULL, NULL, 0, -EINVAL);
		return;
	}
	switch (h->type) {
	case RNBD_MSG_SESS_INFO: {
		struct rnbd_msg_sess_info *r = (void *)slot;

		S->sess_infos++;
		memset(r, 0, sizeof(*r));
		r->hdr.type = RNBD_MSG_SESS_INFO_RSP;
		r->ver = 2;
		if (srv_attack_now(S, SA_SESS_VER_0)) {
			r->ver = 0;
			srv_inject(S, "SESS_INFO_RSP with ver 0");
		}
		srv_respond(S, c, msg_id, desc, r, sizeof(*r), 0);
		return;
	}
	case RNBD_MSG_OPEN:
		S->opens++;
		srv_open_rsp(S, (void *)slot);
		srv_respond(S, c, msg_id, desc, slot, sizeof(struct rnbd_msg_open_rsp), 0);
		return;
	case RNBD_MSG_CLOSE:
		S->closes++;
		S->closes_after += S->injected;
		srv_respond(S, c, msg_id, NULL, NULL, 0, 0);
		return;
	case RNBD_MSG_IO: {
		const struct rnbd_msg_io *m = (const void *)usr;
		uint64_t off;
		uint32_t len;
		int err = 0;

		if (U < offsetof(struct rnbd_msg_io, prio)) {
			srv_respond(S, c, msg_id, NULL, NULL, 0, -EINVAL);
			return;
		}
		S->ios++;
		S->ios_after += S->injected;
		off = m->sector * 512;
		len = dlen ? dlen : desc ? desc->len : m->bi_size;
		if (m->sector > SRV_DISK / 512 || off + len > SRV_DISK)
			err = -EIO;
		switch (m->rw & 0xff) {
		case RNBD_OP_READ:
			srv_respond(S, c, msg_id, desc, S->mem + S_OFF_DISK + off, len, err);
			break;
		case RNBD_OP_WRITE:
			if (!err)
				memcpy(S->mem + S_OFF_DISK + off, data, dlen);
			srv_respond(S, c, msg_id, NULL, NULL, 0, err);
			break;
		case 2: /* flush */
			srv_respond(S, c, msg_id, NULL, NULL, 0, 0);
			break;
		case 3: case 5: /* discard, write zeroes */
			if (!err)
				memset(S->mem + S_OFF_DISK + off, 0, m->bi_size <= SRV_DISK - off ?
				       m->bi_size : 0);
			srv_respond(S, c, msg_id, NULL, NULL, 0, err);
			break;
		default:
			srv_respond(S, c, msg_id, NULL, NULL, 0, -EOPNOTSUPP);
		}
		srv_io_attack(S, c, msg_id);
		return;
	}
	default:
		srv_respond(S, c, msg_id, NULL, NULL, 0, -EINVAL);
	}
}

/* An IO_REQ IMM: the request in chunk msg_id ends at off with its RTRS header. */
static void srv_io_req(struct srv *S, struct sconn *c, uint32_t payl)
{
	unsigned int msg_id = payl >> S->mem_bits, off = payl & ((1u << S->mem_bits) - 1), U;
	uint8_t *chunk = S->mem + (size_t)msg_id * SRV_CHUNK;
	const struct rtrs_msg_rdma_read *rd = (const void *)(chunk + off);

	if (msg_id >= SRV_QD || off + sizeof(*rd) > SRV_CHUNK) {
		note("cid %d: IO_REQ with msg_id %u off %u ignored", c->cid, msg_id, off);
		return;
	}
	S->inflight[msg_id] = true;
	U = rd->usr_len;
	if (U > off) {
		note("cid %d: usr_len %u > off %u ignored", c->cid, U, off);
		return;
	}
	if (rd->type == RTRS_MSG_WRITE)
		srv_rnbd(S, c, msg_id, chunk + off - U, U, chunk, off - U, NULL);
	else if (rd->type == RTRS_MSG_READ)
		srv_rnbd(S, c, msg_id, chunk + off - U, U, chunk, 0, rd->sg_cnt ? rd->desc : NULL);
	else
		note("cid %d: RTRS message type %u ignored", c->cid, rd->type);
}

/* INFO_RSP on cid 0: one descriptor per chunk (as with always_invalidate). */
static void srv_info_rsp(struct srv *S, struct sconn *c)
{
	struct rtrs_msg_info_rsp *r = (void *)(S->mem + S_OFF_INFO);
	unsigned int i, sg_cnt = SRV_QD;
	struct ibv_sge sge = { .addr = (uintptr_t)r, .lkey = S->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 2, .sg_list = &sge, .num_sge = 1,
				  .opcode = IBV_WR_SEND };

	S->info_reqs++;
	memset(r, 0, 8 + 16 * SRV_QD);
	r->type = RTRS_MSG_INFO_RSP;
	for (i = 0; i < SRV_QD; i++) {
		r->desc[i].addr = (uintptr_t)(S->mem + (size_t)i * SRV_CHUNK);
		r->desc[i].key = S->mr->rkey;
		r->desc[i].len = SRV_CHUNK;
	}
	if (srv_attack_now(S, SA_INFO_SG_CNT)) {
		sg_cnt = SRV_QD / 2;
		srv_inject(S, "INFO_RSP with sg_cnt %u (queue_depth %u), one chunk per descriptor",
			   sg_cnt, SRV_QD);
	} else if (srv_attack_now(S, SA_INFO_DESC_LEN_0)) {
		r->desc[SRV_QD / 2].len = 0;
		srv_inject(S, "INFO_RSP with desc[%u].len 0", SRV_QD / 2);
	}
	r->sg_cnt = sg_cnt;
	sge.length = 8 + 16 * sg_cnt;
	qp_post_send(c->id->qp, c->cid, &wr);
}

static void srv_recv(struct srv *S, struct sconn *c, struct ibv_wc *wc)
{
	const uint8_t *buf = S->mem + S_OFF_RECV + ((size_t)c->slot * SRV_NRECV + wc->wr_id) *
			     SRV_SLOT;

	if (!(wc->wc_flags & IBV_WC_WITH_IMM)) {
		const struct rtrs_msg_info_req *r = (const void *)buf;

		if (c->cid == 0 && wc->byte_len >= sizeof(*r) && r->type == RTRS_MSG_INFO_REQ)
			srv_info_rsp(S, c);
		else
			note("cid %d: unexpected SEND of %u bytes", c->cid, wc->byte_len);
	} else {
		uint32_t imm = be32toh(wc->imm_data), payl = imm & 0x0fffffff;

		switch (imm >> 28) {
		case IMM_IO_REQ:
			srv_io_req(S, c, payl);
			break;
		case IMM_HB_MSG:
			S->hbs++;
			srv_post_imm(c, NULL, (uint32_t)IMM_HB_ACK << 28);
			break;
		case IMM_HB_ACK:
			break;
		default:
			S->bad_imms++;
			note("cid %d: unknown IMM 0x%08x from the client", c->cid, imm);
		}
	}
	srv_post_recv(S, c, wc->wr_id);
}

static void srv_poll(struct srv *S)
{
	struct ibv_wc wc[16];
	int i, n, k;

	for (i = 0; i < SRV_CONNS; i++) {
		struct sconn *c = &S->c[i];

		if (!c->cq)
			continue;
		while ((n = ibv_poll_cq(c->cq, 16, wc)) > 0)
			for (k = 0; k < n; k++) {
				if (wc[k].status != IBV_WC_SUCCESS) {
					if (wc[k].status != IBV_WC_WR_FLUSH_ERR && !c->gone) {
						S->wc_errs++;
						note("cid %d: work completion error: %s", c->cid,
						     ibv_wc_status_str(wc[k].status));
					}
					continue;
				}
				if (wc[k].opcode & IBV_WC_RECV)
					srv_recv(S, c, &wc[k]);
			}
	}
}

/* The chunk MR and the PD, on the device of the first connection. */
static void srv_mem_init(struct srv *S, struct ibv_context *verbs)
{
	unsigned int chunk_bits = 0;

	S->pd = ibv_alloc_pd(verbs);
	S->mem = aligned_alloc(4096, S_MEM_SIZE);
	if (!S->pd || !S->mem)
		SETUP_ERR("ibv_alloc_pd or memory: %s", strerror(errno));
	memset(S->mem, 0, S_MEM_SIZE);
	S->mr = ibv_reg_mr(S->pd, S->mem, S_MEM_SIZE,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	if (!S->mr)
		SETUP_ERR("ibv_reg_mr: %s", strerror(errno));
	while ((1u << chunk_bits) < SRV_QD)
		chunk_bits++;
	S->mem_bits = 28 - chunk_bits;
}

static void srv_reject(struct rdma_cm_id *id, int err)
{
	struct rtrs_msg_conn_rsp rsp = { .magic = RTRS_MAGIC, .version = RTRS_PROTO_VER,
					 .errno_ = err };

	rdma_reject(id, &rsp, sizeof(rsp));
}

static void srv_connect_request(struct srv *S, struct rdma_cm_event *ev)
{
	const struct rtrs_msg_conn_req *req = ev->param.conn.private_data;
	struct rtrs_msg_conn_rsp rsp = {
		.magic = RTRS_MAGIC, .version = RTRS_PROTO_VER, .queue_depth = SRV_QD,
		.max_io_size = SRV_CHUNK - SRV_HDR, .max_hdr_size = SRV_HDR, .flags = S->flags,
	};
	struct rdma_conn_param cp = {
		.private_data = &rsp, .private_data_len = sizeof(rsp), .rnr_retry_count = 7,
	};
	struct ibv_qp_init_attr qa = {
		.cap = { .max_send_wr = 4 * SRV_QD + 64, .max_recv_wr = SRV_NRECV,
			 .max_send_sge = 1, .max_recv_sge = 1 },
		.qp_type = IBV_QPT_RC,
	};
	struct rdma_cm_id *id = ev->id;
	struct sconn *c = NULL;
	unsigned int k;
	int i;

	if (ev->param.conn.private_data_len < sizeof(*req) || req->magic != RTRS_MAGIC) {
		note("CONNECT_REQUEST with bad private data refused");
		srv_reject(id, -ECONNRESET);
		return;
	}
	for (i = 0; i < SRV_CONNS && !c; i++)
		if (!S->c[i].id)
			c = &S->c[i];
	if (!c) {
		note("out of connection slots");
		srv_reject(id, -ENOMEM);
		return;
	}
	if (!S->pd)
		srv_mem_init(S, id->verbs);
	memset(c, 0, sizeof(*c));
	c->slot = c - S->c;
	c->cid = req->cid;
	c->cid_num = req->cid_num;
	c->cq = ibv_create_cq(id->verbs, SRV_NRECV + 4 * SRV_QD + 64, NULL, NULL, 0);
	qa.send_cq = qa.recv_cq = c->cq;
	if (!c->cq || rdma_create_qp(id, S->pd, &qa)) {
		note("cid %d: CQ/QP creation failed: %s", c->cid, strerror(errno));
		if (c->cq)
			ibv_destroy_cq(c->cq);
		c->cq = NULL;
		srv_reject(id, -ENOMEM);
		return;
	}
	c->id = id;
	id->context = c;
	for (k = 0; k < SRV_NRECV; k++)
		srv_post_recv(S, c, k);
	S->conns++;
	S->conns_after += S->injected;
	if (rdma_accept(id, &cp))
		note("cid %d: rdma_accept: %s", c->cid, strerror(errno));
}

/* Frees the slot of a connection the client closed. */
static void srv_conn_free(struct sconn *c)
{
	if (c->id->qp)
		rdma_destroy_qp(c->id);
	rdma_destroy_id(c->id);
	ibv_destroy_cq(c->cq);
	memset(c, 0, sizeof(*c));
}

static void srv_pump_cm(struct srv *S)
{
	struct rdma_cm_event *ev;

	while (rdma_get_cm_event(S->ch, &ev) == 0) {
		struct sconn *c = ev->id->context;
		enum rdma_cm_event_type type = ev->event;

		switch (type) {
		case RDMA_CM_EVENT_CONNECT_REQUEST:
			srv_connect_request(S, ev);
			break;
		case RDMA_CM_EVENT_ESTABLISHED:
			if (c)
				c->established = true;
			break;
		case RDMA_CM_EVENT_DISCONNECTED:
			if (c && !c->gone) {
				c->gone = true;
				S->disc++;
				S->disc_after += S->injected;
				rdma_disconnect(c->id);
			}
			break;
		case RDMA_CM_EVENT_TIMEWAIT_EXIT:
			break;
		default:
			note("rdma_cm event %s (status %d)", rdma_event_str(type), ev->status);
			if (c && !c->gone) {
				c->gone = true;
				S->disc_after += S->injected;
			}
		}
		rdma_ack_cm_event(ev);
		if (c && c->gone && type != RDMA_CM_EVENT_TIMEWAIT_EXIT) {
			srv_poll(S);
			srv_conn_free(c);
		}
	}
}

static void __attribute__((noreturn)) srv_run(enum srv_attack attack)
{
	static struct srv S;
	struct sockaddr_storage ss;
	struct sigaction sa = { .sa_handler = on_signal };
	long long end;
	int i;

	S.attack = attack;
	if (attack == SA_RKEY_IDLE || attack == SA_RKEY_BUF_ID_QD || attack == SA_RKEY_MISMATCH)
		S.flags = RTRS_MSG_NEW_RKEY_F;
	S.t0 = now_ms();
	end = S.t0 + g_time * 1000LL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	S.ch = event_channel_open();
	addr_parse(&ss);
	if (rdma_create_id(S.ch, &S.lid, NULL, RDMA_PS_TCP))
		SETUP_ERR("rdma_create_id: %s", strerror(errno));
	if (rdma_bind_addr(S.lid, (struct sockaddr *)&ss))
		SETUP_ERR("rdma_bind_addr %s port %d: %s", g_addr, g_port, strerror(errno));
	if (rdma_listen(S.lid, 64))
		SETUP_ERR("rdma_listen: %s", strerror(errno));
	note("listening on %s port %d", g_addr, g_port);
	while (!g_stop && now_ms() < end) {
		srv_pump_cm(&S);
		srv_poll(&S);
		usleep(500);
	}
	for (i = 0; i < SRV_CONNS; i++)
		if (S.c[i].id && S.c[i].established && !S.c[i].gone)
			rdma_disconnect(S.c[i].id);
	end = now_ms() + 300;
	while (now_ms() < end) {
		srv_pump_cm(&S);
		usleep(1000);
	}
	if (attack == SA_NONE)
		PASS("served %u connections, %u SESS_INFO, %u OPEN, %u IO, %u CLOSE, %u heartbeats; %u disconnects",
		     S.conns, S.sess_infos, S.opens, S.ios, S.closes, S.hbs, S.disc);
	if (!S.injected)
		SETUP_ERR("not injected: the client never got that far (%u connections, %u INFO_REQ, %u SESS_INFO, %u OPEN, %u IO)",
			  S.conns, S.info_reqs, S.sess_infos, S.opens, S.ios);
	PASS("%s at %.1f s; afterwards the client: %u disconnects, %u new connections, %u CLOSE, %u IO%s",
	     S.what, (S.t_inject - S.t0) / 1000.0, S.disc_after, S.conns_after, S.closes_after,
	     S.ios_after, S.wc_errs ? ", work completion errors" : "");
}

/* The server attacks, each a run of the server. */
static void s_none(void) { srv_run(SA_NONE); }
static void s_open_devid_max(void) { srv_run(SA_OPEN_DEVID); }
static void s_open_nsectors_0(void) { srv_run(SA_OPEN_NSECT_0); }
static void s_open_nsectors_huge(void) { srv_run(SA_OPEN_NSECT_HUGE); }
static void s_open_lbs_0(void) { srv_run(SA_OPEN_LBS_0); }
static void s_open_lbs_npot(void) { srv_run(SA_OPEN_LBS_NPOT); }
static void s_open_max_hw_0(void) { srv_run(SA_OPEN_MAXHW_0); }
static void s_open_max_seg_0(void) { srv_run(SA_OPEN_MAXSEG_0); }
static void s_sess_info_ver_0(void) { srv_run(SA_SESS_VER_0); }
static void s_info_sg_cnt(void) { srv_run(SA_INFO_SG_CNT); }
static void s_info_desc_len_0(void) { srv_run(SA_INFO_DESC_LEN_0); }
static void s_io_rsp_idle(void) { srv_run(SA_IO_RSP_IDLE); }
static void s_io_rsp_dup(void) { srv_run(SA_IO_RSP_DUP); }
static void s_io_rsp_id_qd(void) { srv_run(SA_IO_RSP_ID_QD); }
static void s_rkey_no_flag(void) { srv_run(SA_RKEY_NO_FLAG); }
static void s_rkey_idle(void) { srv_run(SA_RKEY_IDLE); }
static void s_rkey_buf_id_qd(void) { srv_run(SA_RKEY_BUF_ID_QD); }
static void s_rkey_mismatch(void) { srv_run(SA_RKEY_MISMATCH); }

/* ---- Table of attacks ---- */

struct attack {
	const char *name;
	const char *group;
	void (*fn)(void);
	const char *what;
};

/* A server attack (--serve): its group starts with "srv". */
static bool is_srv(const struct attack *a)
{
	return !strncmp(a->group, "srv", 3);
}

static const struct attack attacks[] = {
	{ "con_short", "con_req", a_con_short, "CON_REQ of 44 bytes (no first_conn byte)" },
	{ "con_tiny", "con_req", a_con_tiny, "CON_REQ of 6 bytes (cid_num reads 0)" },
	{ "con_bad_magic", "con_req", a_con_bad_magic, "magic 0x1ABC" },
	{ "con_bad_version", "con_req", a_con_bad_version, "version 3.0" },
	{ "con_old_version", "con_req", a_con_old_version, "version 1.0" },
	{ "con_cid_num_0", "con_req", a_con_cid_num_0, "cid_num 0" },
	{ "con_cid_num_4097", "con_req", a_con_cid_num_4097, "cid_num 4097" },
	{ "con_cid_ge_num", "con_req", a_con_cid_ge_num, "cid 2 of cid_num 2" },
	{ "con_no_first_conn", "con_req", a_con_no_first_conn, "first_conn 0, unknown paths_uuid" },
	{ "con_dup_cid", "con_req", a_con_dup_cid, "cid 0 twice on one path" },
	{ "con_cid_num_change", "con_req", a_con_cid_num_change, "cid_num differs within a path" },
	{ "con_after_connected", "con_req", a_con_after_connected, "CON_REQ on a CONNECTED path" },
	{ "half_open", "half_open", a_half_open, "paths connected without INFO_REQ" },
	{ "info_early", "info_req", a_info_early, "INFO_REQ before all connections" },
	{ "info_slash", "info_req", a_info_slash, "pathname with '/'" },
	{ "info_dot", "info_req", a_info_dot, "pathname with '.'" },
	{ "info_dotdot", "info_req", a_info_dotdot, "pathname '..'" },
	{ "info_empty", "info_req", a_info_empty, "empty pathname" },
	{ "info_no_nul", "info_req", a_info_no_nul, "pathname and reserved without NUL" },
	{ "info_short", "info_req", a_info_short, "INFO_REQ of 100 bytes" },
	{ "info_bad_type", "info_req", a_info_bad_type, "INFO_REQ with type INFO_RSP" },
	{ "info_twice", "info_req", a_info_twice, "second INFO_REQ on a connected path" },
	{ "info_dup_name", "info_req", a_info_dup_name, "two sessions with the same name" },
	{ "imm_msg_id_qd", "imm", a_imm_msg_id_qd, "IO_REQ msg_id = queue_depth" },
	{ "imm_msg_id_max", "imm", a_imm_msg_id_max, "IO_REQ msg_id = largest encodable" },
	{ "imm_off_chunk", "imm", a_imm_off_chunk, "IO_REQ off = max_chunk_size" },
	{ "imm_off_chunk_m1", "imm", a_imm_off_chunk_m1, "IO_REQ off = max_chunk_size - 1" },
	{ "imm_unknown_type", "imm", a_imm_unknown_type, "IMM type 5" },
	{ "imm_type_15", "imm", a_imm_type_15, "IMM type 15, all payload bits" },
	{ "imm_hb_ack_cid1", "imm", a_imm_hb_ack_cid1, "HB_ACK on cid 1" },
	{ "imm_hb_msg_cid1", "imm", a_imm_hb_msg_cid1, "HB_MSG on cid 1" },
	{ "imm_io_rsp", "imm", a_imm_io_rsp, "IO_RSP IMM sent to the server" },
	{ "rw_usr_len_gt_off", "rw", a_rw_usr_len_gt_off, "READ usr_len > off" },
	{ "rw_write_usr_len_gt_off", "rw", a_rw_write_usr_len_gt_off, "WRITE usr_len > off" },
	{ "rw_sg_cnt_0", "rw", a_rw_sg_cnt_0, "READ sg_cnt 0" },
	{ "rw_sg_cnt_2", "rw", a_rw_sg_cnt_2, "READ sg_cnt 2" },
	{ "rw_sg_cnt_ffff", "rw", a_rw_sg_cnt_ffff, "READ sg_cnt 0xffff" },
	{ "rw_desc_len_0", "rw", a_rw_desc_len_0, "READ desc len 0" },
	{ "rw_desc_len_big", "rw", a_rw_desc_len_big, "READ desc len > max_chunk_size" },
	{ "rw_desc_len_gt_data", "rw", a_rw_desc_len_gt_data, "READ desc len > data area" },
	{ "rw_bad_rkey", "rw", a_rw_bad_rkey, "READ desc with a bogus rkey" },
	{ "rw_bad_addr", "rw", a_rw_bad_addr, "READ desc with a bogus address" },
	{ "rw_unknown_type", "rw", a_rw_unknown_type, "RTRS message type 7" },
	{ "rnbd_unknown_type", "rnbd", a_rnbd_unknown_type, "RNBD message type 9" },
	{ "rnbd_short_usr", "rnbd", a_rnbd_short_usr, "OPEN with usr_len 4" },
	{ "rnbd_short_io", "rnbd", a_rnbd_short_io, "IO with usr_len 8" },
	{ "rnbd_open_dotdot", "rnbd", a_rnbd_open_dotdot, "OPEN /dev/../dev/<dev>" },
	{ "rnbd_open_too_long", "rnbd", a_rnbd_open_too_long, "OPEN of a 254-character name" },
	{ "rnbd_open_no_nul", "rnbd", a_rnbd_open_no_nul, "OPEN dev_name without NUL" },
	{ "rnbd_open_bad_mode", "rnbd", a_rnbd_open_bad_mode, "OPEN access_mode 7" },
	{ "rnbd_open_twice", "rnbd", a_rnbd_open_twice, "OPEN of the same name twice" },
	{ "rnbd_close_unknown", "rnbd", a_rnbd_close_unknown, "CLOSE of an unknown device_id" },
	{ "rnbd_io_unknown_dev", "rnbd", a_rnbd_io_unknown_dev, "IO for an unknown device_id" },
	{ "rnbd_io_past_end", "rnbd", a_rnbd_io_past_end, "READ past the end of the device" },
	{ "rnbd_io_bi_size", "rnbd", a_rnbd_io_bi_size, "bi_size differs from the data length" },
	{ "rnbd_write_ro", "rnbd", a_rnbd_write_ro, "WRITE to a device opened RO" },
	{ "stale_rkey", "rkey", a_stale_rkey, "RDMA WRITE into a chunk with its invalidated rkey" },
	/* B7: the server against the kernel client (--serve) */
	{ "srv_none", "srv", s_none, "a well-behaved server (baseline)" },
	{ "srv_open_devid_max", "srv_open_rsp", s_open_devid_max, "OPEN_RSP device_id 0xffffffff" },
	{ "srv_open_nsectors_0", "srv_open_rsp", s_open_nsectors_0, "OPEN_RSP nsectors 0" },
	{ "srv_open_nsectors_huge", "srv_open_rsp", s_open_nsectors_huge, "OPEN_RSP nsectors 2^64-1" },
	{ "srv_open_lbs_0", "srv_open_rsp", s_open_lbs_0, "OPEN_RSP logical_block_size 0" },
	{ "srv_open_lbs_npot", "srv_open_rsp", s_open_lbs_npot, "OPEN_RSP logical_block_size 1000" },
	{ "srv_open_max_hw_0", "srv_open_rsp", s_open_max_hw_0, "OPEN_RSP max_hw_sectors 0" },
	{ "srv_open_max_seg_0", "srv_open_rsp", s_open_max_seg_0, "OPEN_RSP max_segments 0" },
	{ "srv_sess_info_ver_0", "srv_open_rsp", s_sess_info_ver_0, "SESS_INFO_RSP ver 0" },
	{ "srv_info_sg_cnt", "srv_rtrs", s_info_sg_cnt, "INFO_RSP sg_cnt = queue_depth / 2" },
	{ "srv_info_desc_len_0", "srv_rtrs", s_info_desc_len_0, "INFO_RSP with a descriptor len 0" },
	{ "srv_io_rsp_idle", "srv_rtrs", s_io_rsp_idle, "IO_RSP for a msg_id not in flight" },
	{ "srv_io_rsp_dup", "srv_rtrs", s_io_rsp_dup, "the IO_RSP of a request twice" },
	{ "srv_io_rsp_id_qd", "srv_rtrs", s_io_rsp_id_qd, "IO_RSP for msg_id = queue_depth" },
	{ "srv_rkey_no_flag", "srv_rtrs", s_rkey_no_flag, "RKEY_RSP without NEW_RKEY_F" },
	{ "srv_rkey_idle", "srv_rtrs", s_rkey_idle, "NEW_RKEY_F: RKEY_RSP for a buf_id not in flight" },
	{ "srv_rkey_buf_id_qd", "srv_rtrs", s_rkey_buf_id_qd, "NEW_RKEY_F: RKEY_RSP for buf_id = queue_depth" },
	{ "srv_rkey_mismatch", "srv_rtrs", s_rkey_mismatch, "NEW_RKEY_F: RKEY_RSP buf_id differs from the IMM msg_id" },
};

static void usage(void)
{
	fprintf(stderr,
		"usage: rtrs-hostile [--port N] [--dev PATH] [--name SESSNAME] --attack NAME ADDR\n"
		"       rtrs-hostile --serve [--port N] [--time SECONDS] --attack srv_NAME ADDR\n"
		"       rtrs-hostile --list [GROUP]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "attack", required_argument, NULL, 'a' },
		{ "port", required_argument, NULL, 'p' },
		{ "dev", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "list", no_argument, NULL, 'l' },
		{ "serve", no_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const struct attack *a = NULL;
	bool list = false, serve = false;
	size_t i;
	int o;

	while ((o = getopt_long(argc, argv, "a:p:d:n:lst:", opts, NULL)) != -1) {
		switch (o) {
		case 'a': g_attack = optarg; break;
		case 'p': g_port = atoi(optarg); break;
		case 'd': g_dev = optarg; break;
		case 'n': g_name = optarg; break;
		case 'l': list = true; break;
		case 's': serve = true; break;
		case 't': g_time = atoi(optarg); break;
		default: usage();
		}
	}
	if (list) {
		for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
			if (optind >= argc || !strcmp(argv[optind], attacks[i].group))
				printf("%-24s %-9s %s\n", attacks[i].name, attacks[i].group,
				       attacks[i].what);
		return 0;
	}
	if (!g_attack || optind != argc - 1)
		usage();
	g_addr = argv[optind];
	for (i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		if (!strcmp(attacks[i].name, g_attack))
			a = &attacks[i];
	if (!a) {
		fprintf(stderr, "rtrs-hostile: unknown attack '%s' (see --list)\n", g_attack);
		return 2;
	}
	if (serve != is_srv(a)) {
		fprintf(stderr, "rtrs-hostile: attack '%s' is a %s attack\n", g_attack,
			is_srv(a) ? "server (--serve)" : "client");
		return 2;
	}
	snprintf(g_sessname, sizeof(g_sessname), "%s", g_name ? g_name : "hostile");
	setvbuf(stdout, NULL, _IOLBF, 0);
	a->fn();
	fprintf(stderr, "rtrs-hostile: attack %s returned without a verdict\n", g_attack);
	return 2;
}
