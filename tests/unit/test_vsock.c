/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests: virtio-vsock (virtio/vsock*.c) — the packet header and its
 * checks, the CONNECT line, the TX buffer, the connection state machine
 * and credit accounting; then the device over fake guest RAM with real
 * Unix sockets on the host side; then the API object (PUT /vsock, the
 * config document).
 */
#include <check.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "../check_main.h"
#include "test_virtio_util.h"
#include "api/api.h"
#include "api/route.h"
#include "virtio/vsock_internal.h"

/* ================= pure logic ================= */

static struct vsock_hdr good_hdr(uint16_t op, uint32_t len)
{
	struct vsock_hdr h = { .src_cid = 3, .dst_cid = VSOCK_HOST_CID, .src_port = 1000,
			       .dst_port = 52, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
			       .buf_alloc = 65536, .fwd_cnt = 0 };
	return h;
}

START_TEST(hdr_codec)
{
	struct vsock_hdr h = { 0x1122334455667788ULL, 2, 0xaabbccdd, 7, 99, 1, 5, 3, 4096, 17 };
	struct vsock_hdr g;
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(&h, raw);
	ck_assert_uint_eq(raw[0], 0x88);      /* little-endian */
	ck_assert_uint_eq(raw[7], 0x11);
	ck_assert_uint_eq(raw[28], 1);        /* type at 28 */
	ck_assert_uint_eq(raw[30], 5);        /* op at 30 */
	ck_assert_uint_eq(raw[40], 17);       /* fwd_cnt at 40 */
	vsock_hdr_decode(raw, &g);
	ck_assert(g.src_cid == h.src_cid && g.dst_cid == h.dst_cid && g.src_port == h.src_port &&
		  g.dst_port == h.dst_port && g.len == h.len && g.type == h.type && g.op == h.op &&
		  g.flags == h.flags && g.buf_alloc == h.buf_alloc && g.fwd_cnt == h.fwd_cnt);
}
END_TEST

START_TEST(tx_check_every_malformed_kind)
{
	struct vsock_hdr h = good_hdr(VSOCK_OP_RW, 100);

	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_OK);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 200), VSOCK_OK);
	h.type = 2;   /* SEQPACKET */
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_TYPE);
	h = good_hdr(VSOCK_OP_RW, 100);
	h.src_cid = 4;
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_SRC_CID);
	h.src_cid = 2;
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_SRC_CID);
	h = good_hdr(VSOCK_OP_RW, 100);
	h.dst_cid = 3;
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_DST_CID);
	h = good_hdr(VSOCK_OP_RW, VSOCK_MAX_PKT_BUF + 1);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 1u << 20), VSOCK_BAD_OVERSIZED);
	h = good_hdr(VSOCK_OP_RW, VSOCK_MAX_PKT_BUF);
	ck_assert_int_eq(vsock_tx_check(&h, 3, VSOCK_MAX_PKT_BUF), VSOCK_OK);
	h = good_hdr(VSOCK_OP_RW, 101);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_TRUNCATED);
	h = good_hdr(VSOCK_OP_RW, UINT32_MAX);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 100), VSOCK_BAD_OVERSIZED);
	h = good_hdr(0, 0);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 0), VSOCK_BAD_OP);
	h = good_hdr(8, 0);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 0), VSOCK_BAD_OP);
	h = good_hdr(0xffff, 0);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 0), VSOCK_BAD_OP);
	for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
		h = good_hdr(op, 0);
		ck_assert_int_eq(vsock_tx_check(&h, 3, 0), VSOCK_OK);
	}
	/* A length on a control op must still be within the chain. */
	h = good_hdr(VSOCK_OP_REQUEST, 10);
	ck_assert_int_eq(vsock_tx_check(&h, 3, 0), VSOCK_BAD_TRUNCATED);
	for (int b = 0; b < VSOCK_BAD__COUNT; b++)
		ck_assert_str_ne(vsock_bad_name(b), "?");
}
END_TEST

START_TEST(connect_line)
{
	uint32_t port = 0;
	size_t used = 0;

#define PC(s) vsock_parse_connect(s, strlen(s), &port, &used)
	ck_assert_int_eq(PC("CONNECT 1024\n"), 1);
	ck_assert_uint_eq(port, 1024);
	ck_assert_uint_eq(used, 13);
	ck_assert_int_eq(PC("connect 52\nextra"), 1);
	ck_assert_uint_eq(port, 52);
	ck_assert_uint_eq(used, 11);
	ck_assert_int_eq(PC("Connect  4294967295 \n"), 1);
	ck_assert_uint_eq(port, 4294967295u);
	ck_assert_int_eq(PC("CONNECT 0\n"), 1);
	ck_assert_uint_eq(port, 0);
	ck_assert_int_eq(PC("CONNECT 10"), 0);          /* no newline yet */
	ck_assert_int_eq(PC(""), 0);
	ck_assert_int_eq(PC("CONNECT 4294967296\n"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT\n"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT x\n"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT 12 13\n"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT12\n"), -EINVAL);
	ck_assert_int_eq(PC("OPEN 12\n"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT -1\n"), -EINVAL);
	/* 32 bytes without a newline: refused (Firecracker's buffer). */
	ck_assert_int_eq(PC("CONNECT 00000000000000000000000000"), -EINVAL);
	ck_assert_int_eq(PC("CONNECT 0000000000000000000000001\n"), -EINVAL);
#undef PC
}
END_TEST

START_TEST(txbuf_wraps)
{
	struct vsock_txbuf b = { 0 };
	static uint8_t src[VSOCK_CONN_BUF], out[VSOCK_CONN_BUF];
	const uint8_t *p[2];
	uint32_t n[2];
	unsigned k;

	for (unsigned i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(vsock_txbuf_peek(&b, p, n), 0);
	ck_assert_int_eq(vsock_txbuf_push(&b, src, 60000), 0);
	vsock_txbuf_consume(&b, 50000);
	ck_assert_uint_eq(b.len, 10000);
	/* 60000 more: wraps around the end. */
	ck_assert_int_eq(vsock_txbuf_push(&b, src + 60000, 5536), 0);
	ck_assert_int_eq(vsock_txbuf_push(&b, src, 50000), 0);
	ck_assert_uint_eq(b.len, VSOCK_CONN_BUF);
	ck_assert_int_eq(vsock_txbuf_push(&b, src, 1), -ENOSPC);   /* full */
	k = vsock_txbuf_peek(&b, p, n);
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(n[0] + n[1], VSOCK_CONN_BUF);
	memcpy(out, p[0], n[0]);
	memcpy(out + n[0], p[1], n[1]);
	ck_assert(memcmp(out, src + 50000, 15536) == 0);
	ck_assert(memcmp(out + 15536, src, 50000) == 0);
	vsock_txbuf_consume(&b, VSOCK_CONN_BUF);
	ck_assert_uint_eq(b.len, 0);
	vsock_txbuf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(sm_credit_host_to_guest)
{
	struct vsock_conn_sm c;
	struct vsock_hdr h = good_hdr(VSOCK_OP_CREDIT_UPDATE, 0);

	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 4096, 0);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 4096);
	vsock_sm_sent_data(&c, 4000);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 96);
	vsock_sm_sent_data(&c, 96);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 0);
	/* The guest read 1000 bytes and says so. */
	h.buf_alloc = 4096;
	h.fwd_cnt = 1000;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 1000);
	/* It shrinks its buffer below what is in flight: no credit, no wrap. */
	h.buf_alloc = 1000;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 0);
	/* A fwd_cnt ahead of what we sent (hostile): no credit either. */
	h.buf_alloc = 4096;
	h.fwd_cnt = 9000;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 0);
	/* Counters wrap at 2^32 as the spec's do. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 4096, UINT32_MAX - 10);
	c.rx_cnt = UINT32_MAX - 10;
	vsock_sm_sent_data(&c, 100);
	ck_assert_uint_eq(vsock_sm_peer_free(&c), 3996);
}
END_TEST

START_TEST(sm_credit_guest_to_host)
{
	struct vsock_conn_sm c;
	struct vsock_hdr h = good_hdr(VSOCK_OP_RW, 40000);
	struct vsock_hdr f;

	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 65536, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_WRITE);
	ck_assert_uint_eq(c.held, 40000);
	h.len = 25536;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_WRITE);
	ck_assert_uint_eq(c.held, VSOCK_CONN_BUF);
	ck_assert(!vsock_sm_need_credit_update(&c));
	/* The host took 30000: not yet worth a CREDIT_UPDATE ... */
	vsock_sm_forwarded(&c, 30000);
	ck_assert_uint_eq(c.fwd_cnt, 30000);
	ck_assert(!(c.pending & VSOCK_P_CREDIT_UPDATE));
	/* ... 61440 is (the guest would see <= 4 KiB free). */
	vsock_sm_forwarded(&c, 31440);
	ck_assert(c.pending & VSOCK_P_CREDIT_UPDATE);
	vsock_sm_fill_hdr(&c, 3, VSOCK_OP_CREDIT_UPDATE, &f);
	ck_assert_uint_eq(f.fwd_cnt, 61440);
	ck_assert_uint_eq(f.buf_alloc, VSOCK_CONN_BUF);
	ck_assert_uint_eq(f.src_cid, VSOCK_HOST_CID);
	ck_assert_uint_eq(f.dst_cid, 3);
	ck_assert_uint_eq(f.src_port, 52);
	ck_assert_uint_eq(f.dst_port, 1000);
	ck_assert_uint_eq(f.type, VSOCK_TYPE_STREAM);
	ck_assert(!vsock_sm_need_credit_update(&c));
	/* 4096 held: the guest may send 61440 more, not one byte beyond. */
	h.len = 61441;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_RESET);
	ck_assert_int_eq(c.state, VSOCK_ST_DEAD);
	ck_assert(c.pending & VSOCK_P_RST);

	/* CREDIT_REQUEST: answered with our credit. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 65536, 0);
	h = good_hdr(VSOCK_OP_CREDIT_REQUEST, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);
	ck_assert(c.pending & VSOCK_P_CREDIT_UPDATE);
}
END_TEST

START_TEST(sm_transitions)
{
	struct vsock_conn_sm c;
	struct vsock_hdr h;

	/* Host-initiated: RESPONSE establishes, OK line owed. */
	vsock_sm_init(&c, VSOCK_ST_CONNECTING, VSOCK_LOCAL_PORT_BASE, 1024, 0, 0);
	h = good_hdr(VSOCK_OP_RW, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_RESET);   /* data before RESPONSE */
	vsock_sm_init(&c, VSOCK_ST_CONNECTING, VSOCK_LOCAL_PORT_BASE, 1024, 0, 0);
	h = good_hdr(VSOCK_OP_RESPONSE, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_ESTABLISHED);
	ck_assert_int_eq(c.state, VSOCK_ST_ESTABLISHED);
	ck_assert_uint_eq(c.peer_buf_alloc, 65536);
	ck_assert(c.pending & VSOCK_P_OK_LINE);
	/* A second RESPONSE, or a REQUEST, on a live connection: reset. */
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_RESET);
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	h = good_hdr(VSOCK_OP_REQUEST, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_RESET);
	/* RST: closed, nothing owed. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	c.pending = VSOCK_P_CREDIT_UPDATE;
	h = good_hdr(VSOCK_OP_RST, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_KILL);
	ck_assert_int_eq(c.state, VSOCK_ST_DEAD);
	ck_assert_uint_eq(c.pending, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);    /* dead stays dead */

	/* Guest SHUTDOWN(SEND): half close of the host socket. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	h = good_hdr(VSOCK_OP_SHUTDOWN, 0);
	h.flags = VSOCK_FLAGS_SHUTDOWN_SEND;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_SHUT_HOST_WR);
	h = good_hdr(VSOCK_OP_RW, 10);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_RESET);   /* data after SHUTDOWN(SEND) */
	/* Guest SHUTDOWN(both) with bytes still held: RST once flushed. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	h = good_hdr(VSOCK_OP_RW, 10);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_WRITE);
	h = good_hdr(VSOCK_OP_SHUTDOWN, 0);
	h.flags = VSOCK_FLAGS_SHUTDOWN_SEND | VSOCK_FLAGS_SHUTDOWN_RCV;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);
	ck_assert(c.rst_after_flush);
	vsock_sm_forwarded(&c, 4);
	ck_assert_int_eq(c.state, VSOCK_ST_ESTABLISHED);
	vsock_sm_forwarded(&c, 6);
	ck_assert_int_eq(c.state, VSOCK_ST_DEAD);
	ck_assert(c.pending & VSOCK_P_RST);
	/* ... or at once when nothing is held. */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_KILL);
	ck_assert(c.pending & VSOCK_P_RST);

	/* Host EOF: SHUTDOWN(SEND) owed once; host close: SHUTDOWN(both),
	 * CLOSING until the guest's RST (or its SHUTDOWN: then our RST). */
	vsock_sm_init(&c, VSOCK_ST_ESTABLISHED, 52, 1000, 0, 0);
	vsock_sm_host_eof(&c);
	ck_assert(c.pending & VSOCK_P_SHUTDOWN);
	ck_assert_uint_eq(c.shutdown_flags, VSOCK_FLAGS_SHUTDOWN_SEND);
	vsock_sm_host_closed(&c);
	ck_assert_int_eq(c.state, VSOCK_ST_CLOSING);
	ck_assert_uint_eq(c.shutdown_flags, VSOCK_FLAGS_SHUTDOWN_SEND | VSOCK_FLAGS_SHUTDOWN_RCV);
	h = good_hdr(VSOCK_OP_RW, 10);
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_NONE);    /* dropped */
	h = good_hdr(VSOCK_OP_SHUTDOWN, 0);
	h.flags = 3;
	ck_assert_int_eq(vsock_sm_recv(&c, &h), VSOCK_ACT_KILL);
	ck_assert(c.pending & VSOCK_P_RST);
	/* A host that leaves before the guest answered: RST. */
	vsock_sm_init(&c, VSOCK_ST_CONNECTING, VSOCK_LOCAL_PORT_BASE, 1024, 0, 0);
	vsock_sm_host_closed(&c);
	ck_assert_int_eq(c.state, VSOCK_ST_DEAD);
	ck_assert(c.pending & VSOCK_P_RST);
}
END_TEST

/* ================= the device ================= */

#define QSZ 16
#define NQ 3
static const uint64_t QBASE[NQ] = { 0x1000, 0x6000, 0x9000 };  /* desc; avail +0x1000; used +0x2000 */
#define RX_BUF(i)  (0x20000ULL + (uint64_t)(i) * 0x1000)  /* 4 KiB RX buffers */
#define RX_BUF_LEN 0x1000
#define TX_BUF     0x40000ULL                              /* one TX packet at a time */
#define EV_BUF     0x70000ULL
#define GUEST_CID  3

static struct tmem M;
static struct virtio_vsock *V;
static struct virtio_mmio *TR;
static char UDS[108];
static char *LOG;
static uint16_t rx_seen;       /* used entries of RXQ consumed */
static uint16_t rx_next_buf;
static uint16_t tx_used_seen;

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(TR, off, (uint8_t *)&v, 4);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(TR, off, (uint8_t *)&v, 4);
	return v;
}

static uint64_t qdesc(unsigned q) { return QBASE[q]; }
static uint64_t qavail(unsigned q) { return QBASE[q] + 0x1000; }
static uint64_t qused(unsigned q) { return QBASE[q] + 0x2000; }

static void post(unsigned q, uint16_t idx, uint64_t gpa, uint32_t len, bool writable)
{
	uint16_t a = get16(&M, qavail(q) + 2);

	set_desc_at(&M, qdesc(q), idx, gpa, len, writable ? VIRTQ_DESC_F_WRITE : 0, 0);
	put16(&M, qavail(q) + 4 + 2 * (a % QSZ), idx);
	put16(&M, qavail(q) + 2, (uint16_t)(a + 1));
}

static void notify(unsigned q)
{
	wr(VMMIO_QUEUE_NOTIFY, q);
}

/* Keep RXQ full of 4 KiB buffers. */
static void rx_fill(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = rx_next_buf++ % QSZ;

		post(0, idx, RX_BUF(idx), RX_BUF_LEN, true);
	}
	notify(0);
}

static void start_device(const char *path)
{
	struct vsock_config c = { .set = true, .guest_cid = GUEST_CID };
	char err[300];

	snprintf(c.uds_path, sizeof(c.uds_path), "%s", path);
	ck_assert_msg(virtio_vsock_create(&c, &M.mem, NULL, &V, err, sizeof(err)) == 0, "%s", err);
	TR = virtio_vsock_transport(V);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(VMMIO_DRIVER_FEATURES, 1);   /* VERSION_1 */
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < NQ; q++) {
		wr(VMMIO_QUEUE_SEL, q);
		wr(VMMIO_QUEUE_NUM, QSZ);
		wr(VMMIO_QUEUE_DESC_LOW, (uint32_t)qdesc(q));
		wr(VMMIO_QUEUE_DRIVER_LOW, (uint32_t)qavail(q));
		wr(VMMIO_QUEUE_DEVICE_LOW, (uint32_t)qused(q));
		wr(VMMIO_QUEUE_READY, 1);
	}
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(virtio_mmio_driver_ok(TR));
	rx_seen = 0;
	rx_next_buf = 0;
	tx_used_seen = 0;
	rx_fill(QSZ);
}

static void dev_setup(void)
{
	tmem_init(&M, false);
	LOG = tlog_start();
	snprintf(UDS, sizeof(UDS), "/tmp/wisp-vsock-unit-%d.sock", (int)getpid());
	unlink(UDS);
	V = NULL;
}

static void dev_teardown(void)
{
	if (V)
		virtio_vsock_destroy(V);
	ck_assert_int_eq(access(UDS, F_OK), -1);   /* the socket is gone */
	log_set_path(NULL);
	unlink(LOG);
	tmem_free(&M);
}

static void poll_dev(void)
{
	for (int i = 0; i < 4; i++)
		virtio_vsock_poll(V);
}

static uint16_t used_idx_q(unsigned q)
{
	return get16(&M, qused(q) + 2);
}

/* The next packet the device put on RXQ; false if none. */
static bool guest_rx(struct vsock_hdr *h, uint8_t *payload, size_t cap)
{
	uint16_t id;
	uint32_t len;
	uint8_t *buf;

	if (used_idx_q(0) == rx_seen)
		return false;
	id = (uint16_t)get32(&M, qused(0) + 4 + 8 * (rx_seen % QSZ));
	len = get32(&M, qused(0) + 8 + 8 * (rx_seen % QSZ));
	rx_seen++;
	buf = gp(&M, RX_BUF(id));
	ck_assert_uint_ge(len, VSOCK_HDR_LEN);
	vsock_hdr_decode(buf, h);
	ck_assert_uint_eq(h->len, len - VSOCK_HDR_LEN);
	ck_assert_uint_le(h->len, cap);
	if (payload)
		memcpy(payload, buf + VSOCK_HDR_LEN, h->len);
	/* give the buffer back */
	post(0, id, RX_BUF(id), RX_BUF_LEN, true);
	return true;
}

/* The guest sends one packet (header + payload in one descriptor). */
static void guest_tx(const struct vsock_hdr *h, const void *payload, uint32_t len)
{
	uint8_t *buf = gp(&M, TX_BUF);

	vsock_hdr_encode(h, buf);
	if (len)
		memcpy(buf + VSOCK_HDR_LEN, payload, len);
	post(1, 0, TX_BUF, VSOCK_HDR_LEN + len, false);
	notify(1);
	ck_assert_uint_eq(used_idx_q(1), (uint16_t)(tx_used_seen + 1));   /* consumed at once */
	tx_used_seen++;
}

static struct vsock_hdr ghdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	struct vsock_hdr h = { .src_cid = GUEST_CID, .dst_cid = VSOCK_HOST_CID,
			       .src_port = src_port, .dst_port = dst_port, .len = len,
			       .type = VSOCK_TYPE_STREAM, .op = op, .buf_alloc = 65536 };
	return h;
}

static int host_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int host_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	unlink(path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* Read exactly n bytes with a generous bound on the wait. */
static void host_read(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		r = read(fd, (uint8_t *)buf + got, n - got);
		ck_assert_int_gt(r, 0);
		got += (size_t)r;
	}
}

/* Host -> guest handshake on guest port `port`; returns the host fd and
 * the local (host-side) port wisp assigned. */
static int host_handshake(uint32_t port, uint32_t guest_port_src, uint32_t *local)
{
	char line[64], want[64];
	struct vsock_hdr h;
	int fd = host_connect(UDS);
	int n;

	n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	ck_assert_int_eq(write(fd, line, (size_t)n), n);
	poll_dev();
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.src_cid, VSOCK_HOST_CID);
	ck_assert_uint_eq(h.dst_cid, GUEST_CID);
	ck_assert_uint_eq(h.dst_port, port);
	ck_assert_uint_ge(h.src_port, VSOCK_LOCAL_PORT_BASE);
	ck_assert_uint_eq(h.buf_alloc, VSOCK_CONN_BUF);
	*local = h.src_port;
	(void)guest_port_src;
	{
		struct vsock_hdr r = ghdr(VSOCK_OP_RESPONSE, port, h.src_port, 0);

		guest_tx(&r, NULL, 0);
	}
	n = snprintf(want, sizeof(want), "OK %u\n", *local);
	host_read(fd, line, (size_t)n);
	ck_assert(memcmp(line, want, (size_t)n) == 0);
	return fd;
}

START_TEST(config_space_and_features)
{
	uint8_t cfg[8];

	start_device(UDS);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_ID), 19);
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG, cfg, 8);
	ck_assert_uint_eq(ld_le64(cfg), GUEST_CID);
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG + 4, cfg, 4);
	ck_assert_uint_eq(ld_le32(cfg), 0);
	wr(VMMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_FEATURES), (1u << 0) | (1u << 3));   /* VERSION_1, IN_ORDER */
	wr(VMMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM_MAX), 256);
	/* The guest cannot change its CID. */
	st_le64(cfg, 77);
	virtio_mmio_write(TR, VIRTIO_MMIO_CONFIG, cfg, 4);
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG, cfg, 8);
	ck_assert_uint_eq(ld_le64(cfg), GUEST_CID);
	/* The socket exists and is a socket. */
	struct stat st;
	ck_assert_int_eq(stat(UDS, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
}
END_TEST

START_TEST(existing_path_refused)
{
	struct vsock_config c = { .set = true, .guest_cid = 3 };
	struct virtio_vsock *v = NULL;
	char err[300];
	int fd = open(UDS, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	close(fd);
	snprintf(c.uds_path, sizeof(c.uds_path), "%s", UDS);
	ck_assert_int_eq(virtio_vsock_create(&c, &M.mem, NULL, &v, err, sizeof(err)), -EADDRINUSE);
	ck_assert_msg(strstr(err, "Cannot create backend for vsock device") &&
		      strstr(err, "Address already in use"), "%s", err);
	/* ... and left alone. */
	ck_assert_int_eq(access(UDS, F_OK), 0);
	unlink(UDS);
	/* A directory that does not exist: bind fails, named. */
	snprintf(c.uds_path, sizeof(c.uds_path), "/nonexistent-dir/v.sock");
	ck_assert_int_lt(virtio_vsock_create(&c, &M.mem, NULL, &v, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "/nonexistent-dir/v.sock"), "%s", err);
}
END_TEST

START_TEST(host_initiated_echo_and_credit)
{
	uint8_t buf[8192], got[8192];
	struct vsock_hdr h;
	uint32_t local;
	int fd;

	start_device(UDS);
	fd = host_handshake(1024, 0, &local);
	/* host -> guest */
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	ck_assert_int_eq(write(fd, buf, 3000), 3000);
	poll_dev();
	ck_assert(guest_rx(&h, got, sizeof(got)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.len, 3000);
	ck_assert_uint_eq(h.src_port, local);
	ck_assert_uint_eq(h.dst_port, 1024);
	ck_assert(memcmp(got, buf, 3000) == 0);
	/* guest -> host */
	h = ghdr(VSOCK_OP_RW, 1024, local, 2000);
	guest_tx(&h, buf + 100, 2000);
	host_read(fd, got, 2000);
	ck_assert(memcmp(got, buf + 100, 2000) == 0);
	/* The guest's credit bounds what we send: a 5000-byte buffer. */
	h = ghdr(VSOCK_OP_CREDIT_UPDATE, 1024, local, 0);
	h.buf_alloc = 5000;
	h.fwd_cnt = 3000;   /* it read the first 3000: 5000 free */
	guest_tx(&h, NULL, 0);
	ck_assert_int_eq(write(fd, buf, 8000), 8000);
	poll_dev();
	{
		uint32_t total = 0;

		while (guest_rx(&h, got, sizeof(got))) {
			ck_assert_uint_eq(h.op, VSOCK_OP_RW);
			ck_assert(memcmp(got, buf + total, h.len) == 0);
			total += h.len;
		}
		ck_assert_uint_eq(total, 5000);   /* no more than its credit */
		/* It reads everything: the rest follows. */
		h = ghdr(VSOCK_OP_CREDIT_UPDATE, 1024, local, 0);
		h.buf_alloc = 5000;
		h.fwd_cnt = 8000;
		guest_tx(&h, NULL, 0);
		poll_dev();
		while (guest_rx(&h, got, sizeof(got))) {
			ck_assert_uint_eq(h.op, VSOCK_OP_RW);
			ck_assert(memcmp(got, buf + total, h.len) == 0);
			total += h.len;
		}
		ck_assert_uint_eq(total, 8000);
	}
	/* CREDIT_REQUEST is answered with a CREDIT_UPDATE carrying fwd_cnt. */
	h = ghdr(VSOCK_OP_CREDIT_REQUEST, 1024, local, 0);
	h.buf_alloc = 65536;
	h.fwd_cnt = 11000;
	guest_tx(&h, NULL, 0);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_CREDIT_UPDATE);
	ck_assert_uint_eq(h.fwd_cnt, 2000);
	ck_assert_uint_eq(h.buf_alloc, VSOCK_CONN_BUF);
	/* Host closes: the guest gets SHUTDOWN(both), answers RST, done. */
	close(fd);
	poll_dev();
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_FLAGS_SHUTDOWN_RCV | VSOCK_FLAGS_SHUTDOWN_SEND);
	h = ghdr(VSOCK_OP_RST, 1024, local, 0);
	guest_tx(&h, NULL, 0);
	/* The port is free: a packet on it now gets an RST back. */
	h = ghdr(VSOCK_OP_RW, 1024, local, 1);
	guest_tx(&h, "x", 1);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.dst_port, 1024);
	ck_assert_uint_eq(h.src_port, local);
}
END_TEST

START_TEST(host_stops_reading_stalls_only_its_connection)
{
	static uint8_t buf[4096], got[65536];
	struct vsock_hdr h;
	uint32_t l1, l2, fwd = 0, sent = 0, total = 0;
	int f1, f2;

	start_device(UDS);
	f1 = host_handshake(1024, 0, &l1);
	f2 = host_handshake(1025, 0, &l2);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	/* The guest sends to f1's host, which does not read, as long as it
	 * has credit; CREDIT_UPDATEs come only as the socket takes bytes. */
	for (int guard = 0; guard < 100000; guard++) {
		uint32_t credit = VSOCK_CONN_BUF - (sent - fwd);
		uint32_t n = credit < sizeof(buf) ? credit : sizeof(buf);

		while (guest_rx(&h, NULL, 0)) {
			ck_assert_uint_ne(h.op, VSOCK_OP_RST);
			if (h.dst_port == 1024)
				fwd = h.fwd_cnt;
		}
		if (VSOCK_CONN_BUF - (sent - fwd) == 0)
			break;
		if (!n)
			continue;
		h = ghdr(VSOCK_OP_RW, 1024, l1, n);
		guest_tx(&h, buf, n);
		sent += n;
	}
	ck_assert_uint_eq(sent - fwd, VSOCK_CONN_BUF);   /* stalled at the credit */
	ck_assert_uint_gt(sent, VSOCK_CONN_BUF);         /* after the socket filled */
	/* The other connection still echoes both ways. */
	h = ghdr(VSOCK_OP_RW, 1025, l2, 5);
	guest_tx(&h, "hello", 5);
	host_read(f2, got, 5);
	ck_assert(memcmp(got, "hello", 5) == 0);
	ck_assert_int_eq(write(f2, "world", 5), 5);
	poll_dev();
	ck_assert(guest_rx(&h, got, sizeof(got)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.dst_port, 1025);
	ck_assert(memcmp(got, "world", 5) == 0);
	/* The host reads again: every byte arrives, in order. */
	while (total < sent) {
		ssize_t r;

		poll_dev();
		r = recv(f1, got, sizeof(got), MSG_DONTWAIT);
		if (r < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			continue;
		}
		ck_assert_int_gt(r, 0);
		for (ssize_t i = 0; i < r; i++)
			ck_assert_uint_eq(got[i], (uint8_t)((total + (uint32_t)i) % sizeof(buf)));
		total += (uint32_t)r;
	}
	ck_assert_uint_eq(total, sent);
	/* Meanwhile the guest was given its credit back. */
	poll_dev();
	while (guest_rx(&h, NULL, 0))
		if (h.dst_port == 1024)
			fwd = h.fwd_cnt;
	ck_assert_uint_ge(fwd, sent - (VSOCK_CONN_BUF - VSOCK_CREDIT_THRESHOLD));
	close(f1);
	close(f2);
}
END_TEST

/* A guest that sends beyond the credit it was given: that connection is
 * reset. */
START_TEST(credit_overrun_resets)
{
	static uint8_t buf[VSOCK_MAX_PKT_BUF];
	struct vsock_hdr h;
	uint32_t l1;
	int f1, sz = 4096;
	bool rst = false;

	start_device(UDS);
	f1 = host_handshake(1024, 0, &l1);
	setsockopt(f1, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* 64 KiB at once, twice, ... until the socket and our buffer are full. */
	for (int i = 0; i < 64 && !rst; i++) {
		h = ghdr(VSOCK_OP_RW, 1024, l1, sizeof(buf));
		guest_tx(&h, buf, sizeof(buf));
		while (guest_rx(&h, NULL, 0))
			rst |= h.op == VSOCK_OP_RST && h.dst_port == 1024;
	}
	ck_assert(rst);
	close(f1);
}
END_TEST

/* Host half-close: SHUTDOWN(SEND) to the guest, which can still answer;
 * a host that closes with bytes the guest has no credit for yet: they
 * are delivered as credit comes, then SHUTDOWN(both). */
START_TEST(host_half_close_and_close_with_pending_data)
{
	static const char digits[] = "0123456789";
	uint8_t got[64];
	struct vsock_hdr h;
	uint32_t local, total = 0;
	int fd;

	start_device(UDS);
	fd = host_handshake(1024, 0, &local);
	ck_assert_int_eq(write(fd, "abc", 3), 3);
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	poll_dev();
	ck_assert(guest_rx(&h, got, sizeof(got)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert(memcmp(got, "abc", 3) == 0);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_FLAGS_SHUTDOWN_SEND);
	h = ghdr(VSOCK_OP_RW, 1024, local, 3);
	guest_tx(&h, "xyz", 3);
	host_read(fd, got, 3);
	ck_assert(memcmp(got, "xyz", 3) == 0);
	/* Now the host closes: SHUTDOWN(both); the guest's RST ends it. */
	close(fd);
	poll_dev();
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_FLAGS_SHUTDOWN_RCV | VSOCK_FLAGS_SHUTDOWN_SEND);
	h = ghdr(VSOCK_OP_RST, 1024, local, 0);
	guest_tx(&h, NULL, 0);
	ck_assert(!guest_rx(&h, NULL, 0));

	/* Credit for 4 bytes only; the host sends 10 and closes. */
	fd = host_handshake(1025, 0, &local);
	h = ghdr(VSOCK_OP_CREDIT_UPDATE, 1025, local, 0);
	h.buf_alloc = 4;
	guest_tx(&h, NULL, 0);
	ck_assert_int_eq(write(fd, digits, 10), 10);
	close(fd);
	poll_dev();
	for (bool shut = false; !shut;) {
		uint32_t before = total;

		while (!shut && guest_rx(&h, got, sizeof(got))) {
			if (h.op == VSOCK_OP_SHUTDOWN) {
				/* only after every byte */
				ck_assert_uint_eq(total, 10);
				ck_assert_uint_eq(h.flags, VSOCK_FLAGS_SHUTDOWN_RCV |
						  VSOCK_FLAGS_SHUTDOWN_SEND);
				shut = true;
				break;
			}
			ck_assert_uint_eq(h.op, VSOCK_OP_RW);
			ck_assert_uint_le(h.len, 4);
			ck_assert_uint_le(total + h.len, 10);
			ck_assert(memcmp(got, &digits[total], h.len) == 0);
			total += h.len;
		}
		if (shut)
			break;
		ck_assert_uint_gt(total, before);
		h = ghdr(VSOCK_OP_CREDIT_UPDATE, 1025, local, 0);
		h.buf_alloc = 4;
		h.fwd_cnt = total;
		guest_tx(&h, NULL, 0);
		poll_dev();
	}
	ck_assert_uint_eq(total, 10);
}
END_TEST

START_TEST(guest_initiated_connect_and_refused)
{
	char path[128], r[16];
	struct vsock_hdr h;
	int lfd, cfd;

	start_device(UDS);
	snprintf(path, sizeof(path), "%s_5000", UDS);
	lfd = host_listen(path);
	h = ghdr(VSOCK_OP_REQUEST, 40000, 5000, 0);
	guest_tx(&h, NULL, 0);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	ck_assert_uint_eq(h.src_port, 5000);
	ck_assert_uint_eq(h.dst_port, 40000);
	cfd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(cfd, 0);
	h = ghdr(VSOCK_OP_RW, 40000, 5000, 4);
	guest_tx(&h, "ping", 4);
	host_read(cfd, r, 4);
	ck_assert(memcmp(r, "ping", 4) == 0);
	ck_assert_int_eq(write(cfd, "pong", 4), 4);
	poll_dev();
	ck_assert(guest_rx(&h, (uint8_t *)r, sizeof(r)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert(memcmp(r, "pong", 4) == 0);
	/* Guest SHUTDOWN(SEND): the host reads EOF. */
	h = ghdr(VSOCK_OP_SHUTDOWN, 40000, 5000, 0);
	h.flags = VSOCK_FLAGS_SHUTDOWN_SEND;
	guest_tx(&h, NULL, 0);
	{
		struct pollfd p = { .fd = cfd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(cfd, r, sizeof(r)), 0);
	}
	/* ... and the host can still answer. */
	ck_assert_int_eq(write(cfd, "bye", 3), 3);
	poll_dev();
	ck_assert(guest_rx(&h, (uint8_t *)r, sizeof(r)));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_uint_eq(h.len, 3);
	/* Guest closes both ways: RST back, host socket closed. */
	h = ghdr(VSOCK_OP_SHUTDOWN, 40000, 5000, 0);
	h.flags = 3;
	guest_tx(&h, NULL, 0);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	{
		struct pollfd p = { .fd = cfd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(cfd, r, sizeof(r)), 0);
	}
	close(cfd);
	close(lfd);
	unlink(path);
	/* No listener on port 5001: RST. */
	h = ghdr(VSOCK_OP_REQUEST, 40001, 5001, 0);
	guest_tx(&h, NULL, 0);
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.src_port, 5001);
	ck_assert_uint_eq(h.dst_port, 40001);
	ck_assert_uint_eq(h.dst_cid, GUEST_CID);
}
END_TEST

/* Each malformed header resets its connection only; the device, the
 * other connection and the VMM carry on; each kind is logged once. */
START_TEST(malformed_headers_reset_one_connection)
{
	static const struct { const char *what; int field; uint64_t value; } bad[] = {
		{ "type is not STREAM", 0, 2 },
		{ "src_cid is not the guest's CID", 1, 4 },
		{ "dst_cid is not the host", 2, 7 },
		{ "len is over 64 KiB", 3, VSOCK_MAX_PKT_BUF + 1 },
		{ "len is beyond the descriptor chain", 3, 100 },
		{ "unknown op", 4, 42 },
	};
	struct vsock_hdr h;
	uint32_t lgood;
	int good;

	start_device(UDS);
	good = host_handshake(2000, 0, &lgood);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t lbad;
		int fd = host_handshake(1024, 0, &lbad);
		bool rst = false;
		char c;

		for (int rep = 0; rep < 3; rep++) {   /* repeated: logged once */
			h = ghdr(VSOCK_OP_RW, 1024, lbad, 4);
			switch (bad[i].field) {
			case 0: h.type = (uint16_t)bad[i].value; break;
			case 1: h.src_cid = bad[i].value; break;
			case 2: h.dst_cid = bad[i].value; break;
			case 3: h.len = (uint32_t)bad[i].value; break;
			case 4: h.op = (uint16_t)bad[i].value; break;
			}
			guest_tx(&h, "abcd", 4);
		}
		while (guest_rx(&h, NULL, 0))
			if (h.op == VSOCK_OP_RST && h.dst_port == 1024 && h.src_port == lbad)
				rst = true;
		ck_assert_msg(rst, "%s: no RST", bad[i].what);
		/* The host end of that connection is closed. */
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };

			ck_assert_int_eq(poll(&p, 1, 5000), 1);
			ck_assert_int_eq(read(fd, &c, 1), 0);
		}
		close(fd);
		ck_assert_msg(tlog_contains(LOG, bad[i].what), "%s not logged", bad[i].what);
		/* The good connection still works. */
		h = ghdr(VSOCK_OP_RW, 2000, lgood, 1);
		guest_tx(&h, "z", 1);
		host_read(good, &c, 1);
		ck_assert_int_eq(c, 'z');
	}
	/* A chain shorter than the header: dropped, nothing else happens. */
	post(1, 0, TX_BUF, 20, false);
	notify(1);
	tx_used_seen++;
	ck_assert(!guest_rx(&h, NULL, 0));
	ck_assert(tlog_contains(LOG, "shorter than the 44-byte header"));
	/* Logged once per kind, not per packet. */
	{
		FILE *f = fopen(LOG, "r");
		char line[512];
		int n = 0;

		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f))
			n += strstr(line, "type is not STREAM") != NULL;
		fclose(f);
		ck_assert_int_eq(n, 1);
	}
	close(good);
}
END_TEST

START_TEST(bad_connect_lines_and_unknown_guest_port)
{
	struct vsock_hdr h;
	char c;
	int fd;

	start_device(UDS);
	/* Garbage instead of CONNECT: closed. */
	fd = host_connect(UDS);
	ck_assert_int_eq(write(fd, "HELLO 1\n", 8), 8);
	poll_dev();
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(fd, &c, 1), 0);
	}
	close(fd);
	ck_assert(!guest_rx(&h, NULL, 0));
	/* CONNECT to a port the guest does not listen on: it answers RST,
	 * the host socket is closed. */
	fd = host_connect(UDS);
	ck_assert_int_eq(write(fd, "CONNECT 9\n", 10), 10);
	poll_dev();
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	{
		struct vsock_hdr r = ghdr(VSOCK_OP_RST, 9, h.src_port, 0);

		guest_tx(&r, NULL, 0);
	}
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(fd, &c, 1), 0);
	}
	close(fd);
	ck_assert(!guest_rx(&h, NULL, 0));
}
END_TEST

/* Loose timing (the task's timeouts are 2 s): a guest that never answers
 * a REQUEST, and a host client that never sends its CONNECT line. */
START_TEST(timeouts)
{
	struct vsock_hdr h;
	int silent, waiting;
	char c;

	start_device(UDS);
	silent = host_connect(UDS);
	waiting = host_connect(UDS);
	ck_assert_int_eq(write(waiting, "CONNECT 77\n", 11), 11);
	poll_dev();
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	/* Poll the muxer for up to 10 s: both are closed (after ~2 s). */
	for (int i = 0; i < 200; i++) {
		struct pollfd p[2] = { { .fd = silent, .events = POLLIN },
				       { .fd = waiting, .events = POLLIN } };

		virtio_vsock_poll(V);
		if (poll(p, 2, 50) == 2)
			break;
	}
	ck_assert_int_eq(read(silent, &c, 1), 0);
	ck_assert_int_eq(read(waiting, &c, 1), 0);
	/* The guest was told (RST for the REQUEST it never answered). */
	ck_assert(guest_rx(&h, NULL, 0));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.dst_port, 77);
	close(silent);
	close(waiting);

	/* A guest that never answers our SHUTDOWN: RST after ~2 s. */
	{
		uint32_t local;
		int fd = host_handshake(1024, 0, &local);
		bool rst = false;

		close(fd);
		poll_dev();
		ck_assert(guest_rx(&h, NULL, 0));
		ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
		for (int i = 0; i < 200 && !rst; i++) {
			virtio_vsock_poll(V);
			rst = guest_rx(&h, NULL, 0);
			if (!rst)
				usleep(50 * 1000);
		}
		ck_assert(rst);
		ck_assert_uint_eq(h.op, VSOCK_OP_RST);
		ck_assert_uint_eq(h.src_port, local);
		ck_assert_uint_eq(h.dst_port, 1024);
	}
}
END_TEST

/* A guest that posts RX buffers with room for a header only: control
 * packets still flow, data waits, nothing spins. */
START_TEST(tiny_rx_buffers)
{
	struct vsock_hdr h;
	uint32_t local;
	uint16_t before;
	int fd;

	start_device(UDS);
	fd = host_handshake(1024, 0, &local);
	/* Swap every posted buffer for a 44-byte one (same descriptors). */
	for (uint16_t i = 0; i < QSZ; i++)
		set_desc_at(&M, qdesc(0), i, RX_BUF(i), VSOCK_HDR_LEN, VIRTQ_DESC_F_WRITE, 0);
	ck_assert_int_eq(write(fd, "data", 4), 4);
	before = used_idx_q(0);
	poll_dev();
	ck_assert_uint_eq(used_idx_q(0), before);   /* nothing delivered, no hang */
	h = ghdr(VSOCK_OP_CREDIT_REQUEST, 1024, local, 0);
	guest_tx(&h, NULL, 0);
	ck_assert_uint_eq(used_idx_q(0), (uint16_t)(before + 1));   /* the CREDIT_UPDATE */
	close(fd);
}
END_TEST

START_TEST(many_connections)
{
	enum { N = 150 };
	static int fds[N];
	static uint32_t local[N];
	struct vsock_hdr h;

	start_device(UDS);
	for (int i = 0; i < N; i++)
		fds[i] = host_handshake(1024, 0, &local[i]);
	for (int i = 0; i < N; i++) {
		uint8_t b = (uint8_t)i;

		h = ghdr(VSOCK_OP_RW, 1024, local[i], 1);
		guest_tx(&h, &b, 1);
	}
	for (int i = 0; i < N; i++) {
		uint8_t b;

		host_read(fds[i], &b, 1);
		ck_assert_uint_eq(b, (uint8_t)i);
		close(fds[i]);
	}
}
END_TEST

START_TEST(transport_reset_event_and_device_reset)
{
	struct vsock_hdr h;
	uint32_t local;
	int fd;
	char c;

	start_device(UDS);
	fd = host_handshake(1024, 0, &local);
	/* No event buffer: counted, not fatal. */
	virtio_mmio_lock(TR);
	ck_assert_int_eq(virtio_vsock_transport_reset(V), -ENOBUFS);
	virtio_mmio_unlock(TR);
	post(2, 0, EV_BUF, 8, true);
	notify(2);
	put32(&M, EV_BUF, 0xdeadbeef);
	virtio_mmio_lock(TR);
	ck_assert_int_eq(virtio_vsock_transport_reset(V), 0);
	virtio_mmio_unlock(TR);
	ck_assert_uint_eq(used_idx_q(2), 1);
	ck_assert_uint_eq(get32(&M, qused(2) + 8), 4);          /* used len */
	ck_assert_uint_eq(get32(&M, EV_BUF), VSOCK_EVENT_TRANSPORT_RESET);
	/* A driver reset drops every connection (closed on the VMM thread). */
	wr(VMMIO_STATUS, 0);
	virtio_vsock_poll(V);
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		ck_assert_int_eq(poll(&p, 1, 5000), 1);
		ck_assert_int_eq(read(fd, &c, 1), 0);
	}
	close(fd);
	(void)h;
}
END_TEST

struct sink_names {
	struct metric_sink sink;
	char names[2048];
};

static void put_name(struct metric_sink *s, const char *name, uint64_t v)
{
	struct sink_names *n = (struct sink_names *)s;

	(void)v;
	strcat(n->names, name);
	strcat(n->names, ",");
}

START_TEST(metrics_names)
{
	static const char *const fc[] = {
		"activate_fails", "cfg_fails", "rx_queue_event_fails", "tx_queue_event_fails",
		"ev_queue_event_fails", "muxer_event_fails", "conn_event_fails",
		"rx_queue_event_count", "tx_queue_event_count", "rx_bytes_count",
		"tx_bytes_count", "rx_packets_count", "tx_packets_count", "conns_added",
		"conns_killed", "conns_removed", "killq_resync", "tx_flush_fails",
		"tx_write_fails", "rx_read_fails", NULL };
	struct sink_names n = { .sink.put = put_name };

	ck_assert_str_eq(virtio_device_ops_vsock.metrics_section, "vsock");
	virtio_device_ops_vsock.metrics(NULL, &n.sink);
	for (int i = 0; fc[i]; i++) {
		char key[64];

		snprintf(key, sizeof(key), "%s,", fc[i]);
		ck_assert_msg(strstr(n.names, key), "%s missing", fc[i]);
	}
}
END_TEST

/* ================= the API object ================= */

static struct api_request req;
static struct api_response resp;

static int put_vsock(const char *body)
{
	api_response_clear(&resp);
	return api_route("PUT", "/vsock", body, strlen(body), &req, &resp);
}

#define VS_FAULT(b_, msg_)                                                               \
	do {                                                                             \
		ck_assert_int_eq(put_vsock(b_), 0);                                      \
		ck_assert_int_eq(resp.status, 400);                                      \
		ck_assert_msg(resp.body && strstr(resp.body, msg_), "%s: got %s", b_,    \
			      resp.body ? resp.body : "(none)");                         \
	} while (0)

START_TEST(api_put_vsock)
{
	ck_assert_int_eq(put_vsock("{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"), 1);
	ck_assert_int_eq(req.kind, API_REQ_PUT_VSOCK);
	ck_assert(req.u.vsock.set);
	ck_assert_uint_eq(req.u.vsock.guest_cid, 3);
	ck_assert_str_eq(req.u.vsock.uds_path, "/tmp/v.sock");
	ck_assert_str_eq(req.u.vsock.vsock_id, "");
	/* Kata's body: the deprecated vsock_id, a relative path. */
	ck_assert_int_eq(put_vsock("{\"vsock_id\": \"root\", \"guest_cid\": 4294967295,"
				   " \"uds_path\": \"kata.hvsock\"}"), 1);
	ck_assert_str_eq(req.u.vsock.vsock_id, "root");
	ck_assert_uint_eq(req.u.vsock.guest_cid, 4294967295u);
	ck_assert_str_eq(req.u.vsock.uds_path, "kata.hvsock");
	VS_FAULT("{\"uds_path\": \"/v\"}", "vsock.guest_cid: missing required field");
	VS_FAULT("{\"guest_cid\": 3}", "vsock.uds_path: missing required field");
	VS_FAULT("{\"guest_cid\": 2, \"uds_path\": \"/v\"}", "vsock.guest_cid");
	VS_FAULT("{\"guest_cid\": 0, \"uds_path\": \"/v\"}", "vsock.guest_cid");
	VS_FAULT("{\"guest_cid\": 4294967296, \"uds_path\": \"/v\"}", "vsock.guest_cid");
	VS_FAULT("{\"guest_cid\": -3, \"uds_path\": \"/v\"}", "vsock.guest_cid");
	VS_FAULT("{\"guest_cid\": \"3\", \"uds_path\": \"/v\"}", "vsock.guest_cid");
	VS_FAULT("{\"guest_cid\": 3, \"uds_path\": \"\"}", "vsock.uds_path: must not be empty");
	VS_FAULT("{\"guest_cid\": 3, \"uds_path\": 5}", "vsock.uds_path");
	VS_FAULT("{\"guest_cid\": 3, \"uds_path\": \"/v\", \"cid\": 1}", "vsock.cid: unknown field");
	VS_FAULT("{\"guest_cid\": 3, \"uds_path\": \"/v\", \"vsock_id\": 1}", "vsock.vsock_id");
	VS_FAULT("[]", "");
	{
		char body[400], path[200];

		memset(path, 'a', 108);
		path[0] = '/';
		path[108] = '\0';
		snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
		VS_FAULT(body, "a Unix socket path holds at most 107");
		path[107] = '\0';
		snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", path);
		ck_assert_int_eq(put_vsock(body), 1);
	}
	/* GET is not a route. */
	api_response_clear(&resp);
	ck_assert_int_eq(api_route("GET", "/vsock", NULL, 0, &req, &resp), 0);
	ck_assert_int_eq(resp.status, 400);
	api_response_clear(&resp);
}
END_TEST

START_TEST(config_document_round_trip)
{
	static struct vm_config cfg, back;
	char err[512];
	char *json;

	vm_config_init(&cfg);
	{
		const char *doc = "{\"vsock\": {\"guest_cid\": 52, \"uds_path\": \"/run/v.sock\","
				  " \"vsock_id\": \"root\"}}";

		ck_assert_int_eq(vmconfig_parse(doc, strlen(doc), &cfg, err, sizeof(err)), 0);
	}
	ck_assert(cfg.vsock.set);
	ck_assert_uint_eq(cfg.vsock.guest_cid, 52);
	ck_assert_str_eq(cfg.vsock.uds_path, "/run/v.sock");
	json = vmconfig_to_json(&cfg);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(strstr(json, "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"/run/v.sock\"}"), "%s",
		      json);
	vm_config_init(&back);
	ck_assert_int_eq(vmconfig_parse(json, strlen(json), &back, err, sizeof(err)), 0);
	ck_assert(back.vsock.set);
	ck_assert_uint_eq(back.vsock.guest_cid, 52);
	ck_assert_str_eq(back.vsock.uds_path, "/run/v.sock");
	free(json);
	/* No vsock: null (Firecracker's shape). */
	vm_config_init(&cfg);
	json = vmconfig_to_json(&cfg);
	ck_assert_ptr_nonnull(strstr(json, "\"vsock\":null"));
	free(json);
	ck_assert_int_ne(vmconfig_parse("{\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/v\"}}",
					strlen("{\"vsock\": {\"guest_cid\": 1, \"uds_path\": \"/v\"}}"),
					&cfg, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "vsock.guest_cid"), "%s", err);
	ck_assert_int_eq(vmconfig_parse("{\"vsock\": null}", strlen("{\"vsock\": null}"), &cfg, err, sizeof(err)), 0);
	ck_assert(!cfg.vsock.set);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vsock");
	TCase *pure = tcase_create("logic");
	TCase *dev = tcase_create("device");
	TCase *api = tcase_create("api");

	tcase_add_test(pure, hdr_codec);
	tcase_add_test(pure, tx_check_every_malformed_kind);
	tcase_add_test(pure, connect_line);
	tcase_add_test(pure, txbuf_wraps);
	tcase_add_test(pure, sm_credit_host_to_guest);
	tcase_add_test(pure, sm_credit_guest_to_host);
	tcase_add_test(pure, sm_transitions);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(dev, dev_setup, dev_teardown);
	tcase_set_timeout(dev, 30);
	tcase_add_test(dev, config_space_and_features);
	tcase_add_test(dev, existing_path_refused);
	tcase_add_test(dev, host_initiated_echo_and_credit);
	tcase_add_test(dev, host_stops_reading_stalls_only_its_connection);
	tcase_add_test(dev, credit_overrun_resets);
	tcase_add_test(dev, host_half_close_and_close_with_pending_data);
	tcase_add_test(dev, guest_initiated_connect_and_refused);
	tcase_add_test(dev, malformed_headers_reset_one_connection);
	tcase_add_test(dev, bad_connect_lines_and_unknown_guest_port);
	tcase_add_test(dev, timeouts);
	tcase_add_test(dev, many_connections);
	tcase_add_test(dev, tiny_rx_buffers);
	tcase_add_test(dev, transport_reset_event_and_device_reset);
	tcase_add_test(dev, metrics_names);
	suite_add_tcase(s, dev);

	tcase_add_test(api, api_put_vsock);
	tcase_add_test(api, config_document_round_trip);
	suite_add_tcase(s, api);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
