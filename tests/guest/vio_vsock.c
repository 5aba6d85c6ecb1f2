/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio_vsock.c — virtio-vsock for the test guest (virtio 1.2 §5.10).
 *
 * Queues: 0 rx, 1 tx, 2 event. Features: VERSION_1 only (EVENT_IDX if
 * offered). Config space: le64 guest_cid.
 *
 * rx: NRX buffers of 44 + rxbuf bytes, one descriptor each (or header and
 * payload in two with `split`). A received RW packet is not copied: its
 * buffer joins the connection's pending list and an echo sends the bytes
 * back with a data descriptor that points into the rx buffer (zero copy,
 * since the guest may run under an instruction emulator); the buffer is
 * reposted when nothing references it any more. A connection that already
 * holds HOLD_MAX rx buffers (a peer that stops reading while its partner
 * keeps writing small packets) copies further data into its own spill ring
 * of BUF_ALLOC bytes instead, so one stalled connection can never take
 * every rx buffer from the others.
 *
 * tx: slot i owns descriptors 2i (its 44-byte header) and 2i+1 (data).
 * Control packets that find no free slot are remembered per connection
 * (want_* flags) and sent on a later pass.
 *
 * Credit (§5.10.6.3): we advertise buf_alloc = BUF_ALLOC and fwd_cnt =
 * bytes consumed (echo: once the echoed packet completed; sink: on
 * receipt); a CREDIT_UPDATE goes out when fwd_cnt moved CREDIT_THRESH
 * beyond what the peer last heard, and on CREDIT_REQUEST. We send at most
 * peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes, and ask with
 * CREDIT_REQUEST (at most every 100 ms) when that is 0 and data waits.
 */
#include "vio_vsock.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define NRX 128
#define NEV 8
#define MAX_TX_SLOTS 128
#define MAX_CONN 256
#define HASH_SIZE 512
#define BUF_ALLOC (128u * 1024)
#define CREDIT_THRESH (BUF_ALLOC / 4)
#define MAX_PKT 65536u
#define HOLD_MAX 4
#define PEND_MAX (HOLD_MAX + 8)
#define MAX_INFLIGHT 8          /* tx slots one connection may hold */
#define MAX_LISTEN 8
#define NRST 64
#define EPHEMERAL_BASE 0x40000000u
#define CLOSE_TIMEOUT_MS 2000
#define CONNECT_TIMEOUT_MS 5000
#define HOSTILE_TIMEOUT_MS 3000

enum { VC_FREE, VC_CONNECTING, VC_OPEN, VC_CLOSING };

struct seg {
	int16_t rxbuf;          /* -1: spill ring */
	uint32_t off, len;
};

struct vconn {
	uint8_t state;
	uint8_t app;
	uint8_t peer_shut;
	bool in_runq;
	bool want_response, want_credit, want_credit_req, want_shutdown, want_rst;
	int8_t hostile;         /* enum vsock_bad sent, -1 none */
	uint16_t gen;
	int16_t hnext;          /* hash chain */
	uint32_t lport, pport;
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t tx_cnt, fwd_cnt, adv_fwd, rx_cnt;
	unsigned inflight;
	struct seg pend[PEND_MAX];
	unsigned pend_head, pend_n, held;
	uint8_t *spill;
	uint32_t spill_wr, spill_used;
	uint64_t t_state, t_credit_req;
	uint64_t client_len, client_got;
	bool client_bad;
};

struct txslot {
	struct vsock_hdr hdr;
	uint16_t conn, gen;
	int16_t rxbuf;          /* rx buffer the data points into, -1 none */
	bool spill;
	uint32_t len;           /* data bytes */
};

static struct vdev vd;
static uint64_t guest_cid;
static uint32_t rxpay;
static bool rxsplit;
static uint8_t *rxmem[NRX];
static uint8_t rxref[NRX];      /* references: pending segments + tx slots; 0 = posted */
static uint32_t *evbuf;
static struct txslot *slots;
static unsigned nslots;
static uint16_t slot_free[MAX_TX_SLOTS];
static unsigned nslot_free;
static uint8_t *pattern;        /* MAX_PKT + VSOCK_PATTERN_MOD bytes */
static uint8_t *badbuf;         /* 64 bytes for malformed packets */

static struct vconn conns[MAX_CONN];
static int16_t hash_head[HASH_SIZE];
static uint16_t runq[MAX_CONN];
static unsigned runq_head, runq_n;
static struct {
	uint32_t port;
	uint8_t app;
} listeners[MAX_LISTEN];
static unsigned nlisten;
static struct {
	uint32_t lport, pport;
} rstq[NRST];
static unsigned rst_head, rst_n;
static uint32_t next_ephemeral = EPHEMERAL_BASE;
static struct vsock_stats st;
static bool verbose = true;
static bool rx_dirty;
static uint64_t khz, next_scan;
static uint32_t dev_err_seen;   /* bit per kind: print each once */

static const char *const bad_names[] = { "bad-type", "bad-cid", "bad-len", "bad-op",
						"bad-short" };

const char *vsock_bad_name(enum vsock_bad bad)
{
	return (unsigned)bad < ARRAY_SIZE(bad_names) ? bad_names[bad] : "?";
}

void vsock_set_verbose(bool on)
{
	verbose = on;
}

const struct vsock_stats *vsock_stats(void)
{
	return &st;
}

unsigned vsock_open_count(void)
{
	return st.open;
}

uint64_t vsock_guest_cid(void)
{
	return guest_cid;
}

static void dev_error(unsigned kind, const char *fmt, ...) PRINTF(2, 3);
static void dev_error(unsigned kind, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	st.dev_errors++;
	if (dev_err_seen & (1u << kind))
		return;
	dev_err_seen |= 1u << kind;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printk("vsock: device error: %s\n", msg);
}

/* repe cmpsb: the emulator runs it without a trap per byte. 0 if equal. */
static bool bytes_equal(const void *a, const void *b, size_t n)
{
	bool ne;

	if (!n)
		return true;
	__asm__ volatile("repe cmpsb" : "+D"(a), "+S"(b), "+c"(n), "=@ccne"(ne) : : "memory");
	return !ne;
}

/* ---------------- connection table ---------------- */
static unsigned hash_of(uint32_t lport, uint32_t pport)
{
	return (pport * 2654435761u ^ lport * 40503u) % HASH_SIZE;
}

int vsock_find(uint32_t lport, uint32_t pport)
{
	for (int i = hash_head[hash_of(lport, pport)]; i >= 0; i = conns[i].hnext)
		if (conns[i].lport == lport && conns[i].pport == pport)
			return i;
	return -1;
}

static int conn_alloc(uint32_t lport, uint32_t pport, enum vsock_app app, uint8_t state)
{
	for (int i = 0; i < MAX_CONN; i++) {
		struct vconn *c = &conns[i];
		unsigned h;

		if (c->state != VC_FREE)
			continue;
		{
			uint8_t *spill = c->spill;
			uint16_t gen = (uint16_t)(c->gen + 1);

			memset(c, 0, sizeof(*c));
			c->spill = spill;
			c->gen = gen;
		}
		c->state = state;
		c->app = (uint8_t)app;
		c->lport = lport;
		c->pport = pport;
		c->hostile = -1;
		c->t_state = rdtsc();
		h = hash_of(lport, pport);
		c->hnext = hash_head[h];
		hash_head[h] = (int16_t)i;
		if (++st.open > st.max_open)
			st.max_open = st.open;
		return i;
	}
	return -1;
}

static void rx_release(int b);

static void pend_clear(struct vconn *c)
{
	while (c->pend_n) {
		struct seg *s = &c->pend[c->pend_head];

		if (s->rxbuf >= 0)
			rx_release(s->rxbuf);
		else
			c->spill_used -= s->len;
		c->pend_head = (c->pend_head + 1) % PEND_MAX;
		c->pend_n--;
	}
	c->held = 0;
}

static void conn_free(int id)
{
	struct vconn *c = &conns[id];
	int16_t *pp = &hash_head[hash_of(c->lport, c->pport)];

	if (c->state == VC_FREE)
		return;
	while (*pp >= 0 && *pp != id)
		pp = &conns[*pp].hnext;
	if (*pp == id)
		*pp = c->hnext;
	pend_clear(c);
	/* In-flight tx slots keep their rx references; the generation bump
	 * makes their completions skip the connection. */
	c->gen++;
	c->state = VC_FREE;
	st.open--;
}

static void runq_add(int id)
{
	struct vconn *c = &conns[id];

	if (c->in_runq || c->state == VC_FREE)
		return;
	c->in_runq = true;
	runq[(runq_head + runq_n) % MAX_CONN] = (uint16_t)id;
	runq_n++;
}

/* ---------------- rx buffers ---------------- */
static void rx_post(int b)
{
	struct vq *q = &vd.q[RXQ];

	rxref[b] = 0;
	if (rxsplit) {
		q->desc[2 * b] = (struct vring_desc){ (uint64_t)(uintptr_t)rxmem[b],
						      sizeof(struct vsock_hdr), VD_WRITE | VD_NEXT,
						      (uint16_t)(2 * b + 1) };
		q->desc[2 * b + 1] = (struct vring_desc){
			(uint64_t)(uintptr_t)rxmem[b] + sizeof(struct vsock_hdr), rxpay, VD_WRITE, 0
		};
		vq_add(q, (uint16_t)(2 * b));
	} else {
		q->desc[b] = (struct vring_desc){ (uint64_t)(uintptr_t)rxmem[b],
						  (uint32_t)sizeof(struct vsock_hdr) + rxpay, VD_WRITE, 0 };
		vq_add(q, (uint16_t)b);
	}
	rx_dirty = true;
}

static void rx_release(int b)
{
	if (rxref[b] && --rxref[b] == 0)
		rx_post(b);
}

/* ---------------- tx ---------------- */
static struct txslot *slot_get(unsigned *idx)
{
	if (!nslot_free)
		return NULL;
	*idx = slot_free[--nslot_free];
	return &slots[*idx];
}

static void hdr_fill(struct vsock_hdr *h, struct vconn *c, uint16_t op, uint32_t len,
		     uint32_t flags)
{
	h->src_cid = guest_cid;
	h->dst_cid = VSOCK_HOST_CID;
	h->src_port = c ? c->lport : 0;
	h->dst_port = c ? c->pport : 0;
	h->len = len;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = BUF_ALLOC;
	h->fwd_cnt = c ? c->fwd_cnt : 0;
	if (c)
		c->adv_fwd = c->fwd_cnt;
}

/* Queue slot idx with its header and, if data, one data descriptor. */
static void slot_queue(unsigned idx, const void *data, uint32_t len)
{
	struct vq *q = &vd.q[TXQ];
	struct txslot *s = &slots[idx];

	if (data && len) {
		q->desc[2 * idx] = (struct vring_desc){ (uint64_t)(uintptr_t)&s->hdr,
							sizeof(s->hdr), VD_NEXT,
							(uint16_t)(2 * idx + 1) };
		q->desc[2 * idx + 1] = (struct vring_desc){ (uint64_t)(uintptr_t)data, len, 0, 0 };
	} else {
		q->desc[2 * idx] = (struct vring_desc){ (uint64_t)(uintptr_t)&s->hdr,
							sizeof(s->hdr), 0, 0 };
	}
	vq_add(q, (uint16_t)(2 * idx));
	st.pkts_tx++;
}

/* A control packet (no data) on connection id; false when no slot. */
static bool send_ctl(int id, uint16_t op, uint32_t flags)
{
	struct vconn *c = &conns[id];
	unsigned idx;
	struct txslot *s = slot_get(&idx);

	if (!s)
		return false;
	hdr_fill(&s->hdr, c, op, 0, flags);
	s->conn = (uint16_t)id;
	s->gen = c->gen;
	s->rxbuf = -1;
	s->spill = false;
	s->len = 0;
	c->inflight++;
	slot_queue(idx, NULL, 0);
	if (op == VSOCK_OP_RST)
		st.resets_tx++;
	if (op == VSOCK_OP_CREDIT_UPDATE)
		st.credit_updates++;
	if (op == VSOCK_OP_CREDIT_REQUEST)
		st.credit_requests++;
	return true;
}

/* RST for a packet that belongs to no connection (queued if no slot). */
static void send_rst_ports(uint32_t lport, uint32_t pport)
{
	unsigned idx;
	struct txslot *s = slot_get(&idx);

	if (!s) {
		if (rst_n < NRST) {
			rstq[(rst_head + rst_n) % NRST].lport = lport;
			rstq[(rst_head + rst_n) % NRST].pport = pport;
			rst_n++;
		}
		return;
	}
	hdr_fill(&s->hdr, NULL, VSOCK_OP_RST, 0, 0);
	s->hdr.src_port = lport;
	s->hdr.dst_port = pport;
	s->conn = 0xffff;
	s->gen = 0;
	s->rxbuf = -1;
	s->spill = false;
	s->len = 0;
	slot_queue(idx, NULL, 0);
	st.resets_tx++;
}

static uint32_t peer_credit(const struct vconn *c)
{
	uint32_t used = c->tx_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static const char *app_name(uint8_t app)
{
	switch (app) {
	case VAPP_ECHO:
		return "echo";
	case VAPP_SINK:
		return "sink";
	case VAPP_SOURCE:
		return "source";
	default:
		return "client";
	}
}

/* Drop connection id (RST sent when send_rst), printing why. */
static void conn_end(int id, bool send_rst, const char *why)
{
	struct vconn *c = &conns[id];

	if (send_rst && !send_ctl(id, VSOCK_OP_RST, 0))
		send_rst_ports(c->lport, c->pport);
	if (verbose || c->app == VAPP_CLIENT || c->hostile >= 0)
		printk("vsock: %u<-%u %s closed: %s (rx %u bytes, tx %u bytes)\n",
		       (unsigned)c->lport, (unsigned)c->pport, app_name(c->app), why,
		       (unsigned)c->rx_cnt, (unsigned)c->tx_cnt);
	st.closed++;
	conn_free(id);
}

/* ---------------- per-connection work ---------------- */
/* Send what the connection has to send; true if it should run again. */
static bool conn_pump(int id)
{
	struct vconn *c = &conns[id];
	unsigned idx;
	struct txslot *s;

	if (c->want_rst) {
		if (!send_ctl(id, VSOCK_OP_RST, 0))
			return true;
		c->want_rst = false;
		conn_end(id, false, "reset by guest");
		return false;
	}
	if (c->want_response) {
		if (!send_ctl(id, VSOCK_OP_RESPONSE, 0))
			return true;
		c->want_response = false;
	}
	if (c->want_shutdown) {
		if (!send_ctl(id, VSOCK_OP_SHUTDOWN, VSOCK_SHUT_RCV | VSOCK_SHUT_SEND))
			return true;
		c->want_shutdown = false;
	}
	if (c->want_credit_req) {
		if (!send_ctl(id, VSOCK_OP_CREDIT_REQUEST, 0))
			return true;
		c->want_credit_req = false;
	}
	if (c->state != VC_OPEN)
		return false;

	/* Data out: echo the pending segments, or the pattern. */
	for (;;) {
		uint32_t credit = peer_credit(c), n;
		const uint8_t *data;
		struct seg *sg = NULL;

		if (c->peer_shut & VSOCK_SHUT_RCV)
			break;
		if (c->app == VAPP_ECHO) {
			if (!c->pend_n)
				break;
			sg = &c->pend[c->pend_head];
			n = sg->len;
			data = sg->rxbuf >= 0 ? rxmem[sg->rxbuf] + sg->off : c->spill + sg->off;
		} else if (c->app == VAPP_SOURCE ||
			   (c->app == VAPP_CLIENT && c->tx_cnt < c->client_len)) {
			n = MAX_PKT;
			if (c->app == VAPP_CLIENT && c->client_len - c->tx_cnt < n)
				n = (uint32_t)(c->client_len - c->tx_cnt);
			data = pattern + c->tx_cnt % VSOCK_PATTERN_MOD;
		} else {
			break;
		}
		if (!credit) {
			uint64_t now = rdtsc();

			if (now - c->t_credit_req > 100 * khz) {
				c->t_credit_req = now;
				if (!send_ctl(id, VSOCK_OP_CREDIT_REQUEST, 0))
					c->want_credit_req = true;
			}
			return false;          /* the peer's credit update requeues us */
		}
		if (c->inflight >= MAX_INFLIGHT)
			return false;          /* a completion requeues us */
		if (n > credit)
			n = credit;
		if (n > MAX_PKT)
			n = MAX_PKT;
		s = slot_get(&idx);
		if (!s)
			return true;
		hdr_fill(&s->hdr, c, VSOCK_OP_RW, n, 0);
		s->conn = (uint16_t)id;
		s->gen = c->gen;
		s->rxbuf = -1;
		s->spill = false;
		s->len = n;
		if (sg) {
			if (sg->rxbuf >= 0) {
				s->rxbuf = sg->rxbuf;
				rxref[sg->rxbuf]++;
			} else {
				s->spill = true;
			}
			sg->off += n;
			sg->len -= n;
			if (!sg->len) {
				if (sg->rxbuf >= 0) {
					rx_release(sg->rxbuf);   /* the pending reference */
					c->held--;
				}
				c->pend_head = (c->pend_head + 1) % PEND_MAX;
				c->pend_n--;
			}
		}
		c->tx_cnt += n;
		c->inflight++;
		st.bytes_tx += n;
		slot_queue(idx, data, n);
	}
	/* Peer shut down its sending side and we have echoed everything. */
	if ((c->peer_shut & VSOCK_SHUT_SEND) && !c->pend_n && c->app != VAPP_CLIENT) {
		conn_end(id, true, "peer shut down");
		return false;
	}
	if (c->fwd_cnt - c->adv_fwd >= CREDIT_THRESH || c->want_credit) {
		if (!send_ctl(id, VSOCK_OP_CREDIT_UPDATE, 0)) {
			c->want_credit = true;
			return true;
		}
		c->want_credit = false;
	}
	return false;
}

static void tx_reap(void)
{
	uint32_t id, len;

	while (vq_used(&vd.q[TXQ], &id, &len)) {
		unsigned idx = id / 2;
		struct txslot *s;

		if (id % 2 || idx >= nslots) {
			dev_error(0, "tx used element with id %u", (unsigned)id);
			continue;
		}
		s = &slots[idx];
		if (s->rxbuf >= 0)
			rx_release(s->rxbuf);
		if (s->conn < MAX_CONN && conns[s->conn].gen == s->gen &&
		    conns[s->conn].state != VC_FREE) {
			struct vconn *c = &conns[s->conn];

			c->inflight--;
			if (s->len && c->app == VAPP_ECHO) {
				c->fwd_cnt += s->len;    /* consumed: our buffer space is free */
				if (s->spill)
					c->spill_used -= s->len;
			}
			runq_add(s->conn);
		}
		s->rxbuf = -1;
		slot_free[nslot_free++] = (uint16_t)idx;
	}
}

/* ---------------- rx ---------------- */
static void rx_data(int id, int b, const struct vsock_hdr *h)
{
	struct vconn *c = &conns[id];
	uint8_t *payload = rxmem[b] + sizeof(*h);
	uint32_t n = h->len;

	c->rx_cnt += n;
	st.bytes_rx += n;
	if (c->rx_cnt - c->fwd_cnt > BUF_ALLOC)
		dev_error(1, "%u<-%u: peer sent %u bytes beyond our credit", (unsigned)c->lport,
			  (unsigned)c->pport, (unsigned)(c->rx_cnt - c->fwd_cnt - BUF_ALLOC));
	if (c->state != VC_OPEN || (c->peer_shut & VSOCK_SHUT_RCV) || c->app != VAPP_ECHO) {
		if (c->app == VAPP_CLIENT && !c->client_bad) {
			uint64_t off = c->client_got;

			if (off + n > c->client_len ||
			    !bytes_equal(payload, pattern + off % VSOCK_PATTERN_MOD, n)) {
				c->client_bad = true;
				printk("vsock: connect %u: echoed bytes at offset %lu..%lu differ from what was sent\n",
				       (unsigned)c->pport, (unsigned long)off,
				       (unsigned long)(off + n));
			}
			c->client_got += n;
			if (c->client_got == c->client_len && !c->client_bad) {
				printk("vsock: connect %u: sent %lu bytes, %lu echoed back intact\n",
				       (unsigned)c->pport, (unsigned long)c->client_len,
				       (unsigned long)c->client_got);
				vsock_close(id);
			}
		}
		c->fwd_cnt += n;
		rx_post(b);
		runq_add(id);
		return;
	}
	/* echo */
	if (c->pend_n && c->pend[(c->pend_head + c->pend_n - 1) % PEND_MAX].rxbuf < 0)
		goto spill;               /* keep the order: spill while spilling */
	if (c->held >= HOLD_MAX || c->pend_n >= PEND_MAX - 2)
		goto spill;
	c->pend[(c->pend_head + c->pend_n) % PEND_MAX] = (struct seg){ (int16_t)b,
								      sizeof(*h), n };
	c->pend_n++;
	c->held++;
	rxref[b] = 1;
	runq_add(id);
	return;
spill:
	if (!c->spill) {
		c->spill = ram_alloc(BUF_ALLOC, 64);
		if (!c->spill) {
			printk("vsock: out of memory for a spill ring; resetting %u<-%u\n",
			       (unsigned)c->lport, (unsigned)c->pport);
			rx_post(b);
			c->want_rst = true;
			runq_add(id);
			return;
		}
	}
	if (c->spill_used + n > BUF_ALLOC || c->pend_n + 2 > PEND_MAX) {
		dev_error(2, "%u<-%u: more data than our credit allows; resetting it",
			  (unsigned)c->lport, (unsigned)c->pport);
		rx_post(b);
		c->want_rst = true;
		runq_add(id);
		return;
	}
	st.spilled += n;
	{
		uint32_t done = 0;

		while (done < n) {
			uint32_t room = BUF_ALLOC - c->spill_wr, k = n - done < room ? n - done : room;
			struct seg *last = c->pend_n ?
				&c->pend[(c->pend_head + c->pend_n - 1) % PEND_MAX] : NULL;

			memcpy(c->spill + c->spill_wr, payload + done, k);
			if (last && last->rxbuf < 0 && last->off + last->len == c->spill_wr) {
				last->len += k;
			} else {
				c->pend[(c->pend_head + c->pend_n) % PEND_MAX] =
					(struct seg){ -1, c->spill_wr, k };
				c->pend_n++;
			}
			c->spill_wr = (c->spill_wr + k) % BUF_ALLOC;
			c->spill_used += k;
			done += k;
		}
	}
	rx_post(b);
	runq_add(id);
}

static enum vsock_app listener_app(uint32_t port, bool *found)
{
	for (unsigned i = 0; i < nlisten; i++)
		if (listeners[i].port == port) {
			*found = true;
			return (enum vsock_app)listeners[i].app;
		}
	*found = false;
	return VAPP_ECHO;
}

static void rx_packet(int b, uint32_t used_len)
{
	struct vsock_hdr h;
	int id;

	memcpy(&h, rxmem[b], sizeof(h));
	st.pkts_rx++;
	if (used_len < sizeof(h) || h.len > used_len - sizeof(h) || h.len > rxpay) {
		dev_error(3, "rx packet len %u in a used buffer of %u bytes (payload room %u)",
			  (unsigned)h.len, (unsigned)used_len, (unsigned)rxpay);
		rx_post(b);
		return;
	}
	if (h.src_cid != VSOCK_HOST_CID || h.dst_cid != guest_cid || h.type != VSOCK_TYPE_STREAM) {
		dev_error(4, "rx packet src_cid %lu dst_cid %lu type %u (we are cid %lu)",
			  (unsigned long)h.src_cid, (unsigned long)h.dst_cid, (unsigned)h.type,
			  (unsigned long)guest_cid);
		rx_post(b);
		return;
	}
	id = vsock_find(h.dst_port, h.src_port);
	if (id < 0) {
		bool found;
		enum vsock_app app;

		if (h.op == VSOCK_OP_REQUEST) {
			app = listener_app(h.dst_port, &found);
			if (found)
				id = conn_alloc(h.dst_port, h.src_port, app, VC_OPEN);
			if (id >= 0) {
				conns[id].peer_buf_alloc = h.buf_alloc;
				conns[id].peer_fwd_cnt = h.fwd_cnt;
				conns[id].want_response = true;
				st.accepted++;
				runq_add(id);
			} else {
				send_rst_ports(h.dst_port, h.src_port);
				st.refused++;
			}
		} else if (h.op != VSOCK_OP_RST) {
			send_rst_ports(h.dst_port, h.src_port);
		}
		rx_post(b);
		return;
	}
	{
		struct vconn *c = &conns[id];

		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		switch (h.op) {
		case VSOCK_OP_RW:
			if (c->state == VC_OPEN || c->state == VC_CLOSING) {
				rx_data(id, b, &h);
				return;
			}
			c->want_rst = true;
			break;
		case VSOCK_OP_RESPONSE:
			if (c->state == VC_CONNECTING) {
				c->state = VC_OPEN;
				c->t_state = rdtsc();
				st.connected++;
				printk("vsock: connect %u: connected (local port %u)\n",
				       (unsigned)c->pport, (unsigned)c->lport);
				if (!c->client_len) {
					vsock_close(id);
					rx_post(b);
					return;
				}
			} else {
				c->want_rst = true;
			}
			break;
		case VSOCK_OP_RST:
			st.resets_rx++;
			if (c->state == VC_CONNECTING) {
				printk("vsock: connect %u: refused (RST)\n", (unsigned)c->pport);
				st.closed++;
				conn_free(id);
			} else if (c->hostile >= 0) {
				printk("vsock: %s on %u<-%u: reset by the device\n",
				       vsock_bad_name((enum vsock_bad)c->hostile), (unsigned)c->lport,
				       (unsigned)c->pport);
				conn_end(id, false, "reset by peer");
			} else {
				conn_end(id, false, c->state == VC_CLOSING ?
					 "closed by guest, peer answered RST" : "reset by peer");
			}
			rx_post(b);
			return;
		case VSOCK_OP_SHUTDOWN:
			c->peer_shut |= (uint8_t)(h.flags & (VSOCK_SHUT_RCV | VSOCK_SHUT_SEND));
			if (verbose || c->app == VAPP_CLIENT)
				printk("vsock: %u<-%u: peer shutdown flags %u\n", (unsigned)c->lport,
				       (unsigned)c->pport, (unsigned)h.flags);
			if (c->state == VC_CLOSING) {
				conn_end(id, true, "closed by guest, peer shut down");
				rx_post(b);
				return;
			}
			if (c->peer_shut & VSOCK_SHUT_RCV)
				pend_clear(c);
			if (c->app == VAPP_CLIENT) {
				if (c->client_got >= c->client_len && !c->client_bad)
					conn_end(id, true, "peer shut down after the echo");
				else
					conn_end(id, true, "peer shut down early");
				rx_post(b);
				return;
			}
			break;
		case VSOCK_OP_CREDIT_UPDATE:
			break;
		case VSOCK_OP_CREDIT_REQUEST:
			c->want_credit = true;
			break;
		case VSOCK_OP_REQUEST:
			/* A second REQUEST on an open connection: reset it. */
			c->want_rst = true;
			break;
		default:
			dev_error(5, "rx packet with op %u", (unsigned)h.op);
			break;
		}
		runq_add(id);
	}
	rx_post(b);
}

static void rx_reap(void)
{
	uint32_t id, len;

	while (vq_used(&vd.q[RXQ], &id, &len)) {
		unsigned b = rxsplit ? id / 2 : id;

		if ((rxsplit && id % 2) || b >= NRX || rxref[b]) {
			dev_error(6, "rx used element with id %u", (unsigned)id);
			continue;
		}
		rxref[b] = 0xff;   /* taken: not posted, no reference yet */
		rx_packet((int)b, len);
		if (rxref[b] == 0xff)
			rx_post((int)b);   /* neither reposted nor referenced: cannot happen */
	}
}

/* ---------------- events ---------------- */
static void ev_post(unsigned i)
{
	struct vq *q = &vd.q[EVQ];

	evbuf[i] = 0xffffffffu;
	q->desc[i] = (struct vring_desc){ (uint64_t)(uintptr_t)&evbuf[i], 4, VD_WRITE, 0 };
	vq_add(q, (uint16_t)i);
}

static void ev_reap(void)
{
	uint32_t id, len;
	bool any = false;

	while (vq_used(&vd.q[EVQ], &id, &len)) {
		if (id >= NEV) {
			dev_error(7, "event used element with id %u", (unsigned)id);
			continue;
		}
		if (evbuf[id] == VSOCK_EVENT_TRANSPORT_RESET) {
			unsigned n = 0;

			for (int i = 0; i < MAX_CONN; i++)
				if (conns[i].state != VC_FREE) {
					conn_free(i);
					n++;
				}
			runq_n = 0;
			rst_n = 0;
			guest_cid = vio_cfg64(&vd, 0);
			st.transport_resets++;
			printk("vsock: transport reset event: dropped %u connections, guest cid %lu\n",
			       n, (unsigned long)guest_cid);
		} else {
			printk("vsock: event id %u ignored\n", (unsigned)evbuf[id]);
		}
		ev_post(id);
		any = true;
	}
	if (any)
		vq_kick(&vd.q[EVQ]);
}

/* ---------------- timers ---------------- */
static void scan_timers(uint64_t now)
{
	for (int i = 0; i < MAX_CONN; i++) {
		struct vconn *c = &conns[i];
		uint64_t age = (now - c->t_state) / khz;

		if (c->state == VC_CONNECTING && age > CONNECT_TIMEOUT_MS) {
			printk("vsock: connect %u: no answer within %u ms\n", (unsigned)c->pport,
			       CONNECT_TIMEOUT_MS);
			conn_end(i, true, "connect timeout");
		} else if (c->state == VC_CLOSING && age > CLOSE_TIMEOUT_MS) {
			conn_end(i, true, "closed by guest, no RST from the peer within 2 s; sent RST");
		} else if (c->state == VC_OPEN && c->hostile >= 0 && age > HOSTILE_TIMEOUT_MS) {
			printk("vsock: %s on %u<-%u: no reset within %u ms\n",
			       vsock_bad_name((enum vsock_bad)c->hostile), (unsigned)c->lport,
			       (unsigned)c->pport, HOSTILE_TIMEOUT_MS);
			c->hostile = -1;
		} else if (c->state == VC_OPEN && peer_credit(c) == 0 &&
			   (c->pend_n || c->app == VAPP_SOURCE)) {
			runq_add(i);       /* retry the credit request */
		}
	}
}

/* ---------------- public ---------------- */
void vsock_open(unsigned dev, uint32_t rxbuf, bool split)
{
	uint64_t want = VBIT(VF_VERSION_1) | VBIT(VF_EVENT_IDX);

	khz = tsc_per_ms();
	if (rxbuf < 256 || rxbuf > 1024 * 1024)
		wtest_fail("wtest.rxbuf=%u: expected 256..1048576", (unsigned)rxbuf);
	rxpay = rxbuf;
	rxsplit = split;
	if (vio_probe(&vd, dev) < 0)
		wtest_fail("device %u: %s", dev, vd.err);
	if (vd.device_id != VIRTIO_ID_VSOCK)
		wtest_fail("device %u at 0x%lx is device id %u, not vsock", dev,
			   (unsigned long)vd.base, vd.device_id);
	if (vio_setup(&vd, want, 3, 256) < 0)
		wtest_fail("device %u: %s", dev, vd.err);
	guest_cid = vio_cfg64(&vd, 0);
	if (vd.q[RXQ].size < (split ? 2 * NRX : NRX) || vd.q[EVQ].size < NEV ||
	    vd.q[TXQ].size < 4)
		wtest_fail("vsock queues too small: rx %u tx %u event %u", vd.q[RXQ].size,
			   vd.q[TXQ].size, vd.q[EVQ].size);
	nslots = vd.q[TXQ].size / 2 < MAX_TX_SLOTS ? vd.q[TXQ].size / 2 : MAX_TX_SLOTS;
	slots = ram_alloc(sizeof(*slots) * nslots, 64);
	pattern = ram_alloc(MAX_PKT + VSOCK_PATTERN_MOD, 64);
	badbuf = ram_alloc(64, 64);
	evbuf = ram_alloc(4 * NEV, 64);
	if (!slots || !pattern || !badbuf || !evbuf)
		wtest_fail("out of memory");
	for (unsigned i = 0; i < MAX_PKT + VSOCK_PATTERN_MOD; i++)
		pattern[i] = (uint8_t)(i % VSOCK_PATTERN_MOD);
	memset(badbuf, 0x5a, 64);
	for (unsigned i = 0; i < nslots; i++) {
		slots[i].rxbuf = -1;
		slot_free[nslot_free++] = (uint16_t)(nslots - 1 - i);
	}
	for (unsigned i = 0; i < HASH_SIZE; i++)
		hash_head[i] = -1;
	for (unsigned i = 0; i < NRX; i++) {
		rxmem[i] = ram_alloc(sizeof(struct vsock_hdr) + rxpay, 64);
		if (!rxmem[i])
			wtest_fail("out of memory for rx buffer %u of %u bytes", i,
				   (unsigned)(sizeof(struct vsock_hdr) + rxpay));
		rx_post((int)i);
	}
	vq_kick(&vd.q[RXQ]);
	for (unsigned i = 0; i < NEV; i++)
		ev_post(i);
	vq_kick(&vd.q[EVQ]);
	rx_dirty = false;
	next_scan = rdtsc() + 100 * khz;
	printk("vsock: device %u at 0x%lx irq %u, guest cid %lu, features 0x%lx of 0x%lx, queues %u/%u/%u, %u rx buffers of %u+%u bytes%s, %u tx slots\n",
	       dev, (unsigned long)vd.base, vd.irq, (unsigned long)guest_cid,
	       (unsigned long)vd.features, (unsigned long)vd.offered, vd.q[RXQ].size,
	       vd.q[TXQ].size, vd.q[EVQ].size, NRX, (unsigned)sizeof(struct vsock_hdr),
	       (unsigned)rxpay, split ? " (split)" : "", nslots);
}

void vsock_listen(uint32_t port, enum vsock_app app)
{
	if (nlisten >= MAX_LISTEN)
		wtest_fail("too many listeners");
	listeners[nlisten].port = port;
	listeners[nlisten].app = (uint8_t)app;
	nlisten++;
}

int vsock_connect(uint32_t port, uint64_t len)
{
	int id = conn_alloc(next_ephemeral++, port, VAPP_CLIENT, VC_CONNECTING);

	if (id < 0)
		return -1;
	conns[id].client_len = len;
	if (!send_ctl(id, VSOCK_OP_REQUEST, 0)) {
		conn_free(id);
		return -1;
	}
	vq_kick(&vd.q[TXQ]);
	return id;
}

bool vsock_close(int id)
{
	struct vconn *c;

	if (id < 0 || id >= MAX_CONN || conns[id].state != VC_OPEN)
		return false;
	c = &conns[id];
	pend_clear(c);
	c->state = VC_CLOSING;
	c->t_state = rdtsc();
	c->want_shutdown = true;
	runq_add(id);
	return true;
}

bool vsock_send_bad(int id, enum vsock_bad bad)
{
	struct vconn *c;
	unsigned idx;
	struct txslot *s;

	if (id < 0 || id >= MAX_CONN || conns[id].state != VC_OPEN)
		return false;
	c = &conns[id];
	s = slot_get(&idx);
	if (!s)
		return false;
	hdr_fill(&s->hdr, c, VSOCK_OP_RW, 16, 0);
	switch (bad) {
	case VBAD_TYPE:
		s->hdr.type = 2;
		break;
	case VBAD_CID:
		s->hdr.src_cid = guest_cid + 1000;
		break;
	case VBAD_LEN:
		s->hdr.len = 1024 * 1024;
		break;
	case VBAD_OP:
		s->hdr.op = 99;
		s->hdr.len = 0;
		break;
	case VBAD_SHORT:
		s->hdr.len = 4096;
		break;
	}
	s->conn = (uint16_t)id;
	s->gen = c->gen;
	s->rxbuf = -1;
	s->spill = false;
	s->len = 0;              /* not counted as stream data */
	c->inflight++;
	c->hostile = (int8_t)bad;
	c->t_state = rdtsc();
	slot_queue(idx, bad == VBAD_OP ? NULL : badbuf, 16);
	vq_kick(&vd.q[TXQ]);
	return true;
}

static inline bool vq_idle(const struct vq *q)
{
	return *(volatile uint16_t *)(q->used + 2) == q->last_used;
}

void vsock_poll(void)
{
	unsigned n;
	uint64_t now;

	/* Fast path (every instruction may be emulated): nothing arrived,
	 * nothing to send, no timer due. */
	if (!runq_n && !rst_n && vq_idle(&vd.q[RXQ]) && vq_idle(&vd.q[TXQ]) &&
	    vq_idle(&vd.q[EVQ]) && rdtsc() < next_scan)
		return;
	ev_reap();
	tx_reap();
	rx_reap();
	while (rst_n && nslot_free) {
		send_rst_ports(rstq[rst_head].lport, rstq[rst_head].pport);
		rst_head = (rst_head + 1) % NRST;
		rst_n--;
	}
	n = runq_n;
	while (n--) {
		int id = runq[runq_head];

		runq_head = (runq_head + 1) % MAX_CONN;
		runq_n--;
		conns[id].in_runq = false;
		if (conns[id].state != VC_FREE && conn_pump(id))
			runq_add(id);
	}
	vq_kick(&vd.q[TXQ]);
	if (rx_dirty) {
		rx_dirty = false;
		vq_kick(&vd.q[RXQ]);
	}
	now = rdtsc();
	if (now > next_scan) {
		next_scan = now + 100 * khz;
		scan_timers(now);
	}
}
