/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock.c — virtio-vsock (virtio 1.2 §5.10, device id 19) with
 * Firecracker's hybrid vsock backend: guest stream sockets become Unix
 * stream sockets on the host (docs/vsock.md).
 *
 *   - Host -> guest: a host client connects to the listening socket at
 *     uds_path and writes "CONNECT <port>\n"; we send the guest a REQUEST
 *     from a local port of ours (from 2^30 up), and on its RESPONSE write
 *     "OK <local port>\n" to the client, then relay bytes.
 *   - Guest -> host: a REQUEST to host port P connects to "<uds_path>_P";
 *     refused or unreachable: RST.
 *
 * Every host socket is non-blocking and lives in the device's own epoll
 * set (the "muxer"), whose fd is the only one the device puts on the VMM
 * event loop (as Firecracker's muxer). A connection reads its host socket
 * only while the guest has credit for it and RX buffers; it takes guest
 * bytes only up to the credit it gave (64 KiB buffered at most), so a side
 * that stops reading stalls its own connection and nothing else.
 *
 * Threads: queue notifies and muxer events run on the VMM thread under the
 * transport lock; reset/activate come from vCPU threads (lock held) and
 * only set flags: the VMM thread closes the sockets (it alone may).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio.h"
#include "vsock_internal.h"

#define VSOCK_QUEUE_SIZE 256
#define RXQ 0
#define TXQ 1
#define EVQ 2
#define HASH_BUCKETS 256
#define RST_RING 1024
#define TIMER_TICK_MS 100

enum ep_kind { EP_LISTEN = 1, EP_TIMER, EP_WAKE, EP_PEND, EP_CONN };

struct ep_tag {
	uint8_t kind;
};

struct vsock_conn {
	struct ep_tag tag;            /* first: epoll data.ptr points here */
	struct vsock_conn_sm sm;
	int fd;
	uint32_t ev;                  /* interest in the muxer (0: none) */
	bool in_epoll;
	bool host_readable;           /* the socket may have bytes (or EOF) for the guest */
	bool host_hup;                /* the host closed (EPOLLHUP/ERR seen) */
	bool want_shut_wr, shut_wr_done;
	char ok[24];                  /* "OK <port>\n" */
	uint8_t ok_len, ok_off;
	struct vsock_txbuf txb;
	uint64_t deadline_ms;         /* 0: none */
	struct vsock_conn *hnext;                 /* hash chain */
	struct vsock_conn *aprev, *anext;         /* all connections */
	struct vsock_conn *qprev, *qnext;         /* RX queue (packets owed) */
	bool in_rxq;
	struct vsock_conn *dnext;                 /* dead, freed after the batch */
};

/* A host client that has not sent its CONNECT line yet. */
struct vsock_pend {
	struct ep_tag tag;
	int fd;
	char line[VSOCK_CONNECT_LINE_MAX];
	size_t len;
	uint64_t deadline_ms;
	struct vsock_pend *prev, *next;
	struct vsock_pend *dnext;
};

struct vsock_stats {
	uint64_t activate_fails, cfg_fails, rx_queue_event_fails, tx_queue_event_fails;
	uint64_t ev_queue_event_fails, muxer_event_fails, conn_event_fails;
	uint64_t rx_queue_event_count, tx_queue_event_count;
	uint64_t rx_bytes_count, tx_bytes_count, rx_packets_count, tx_packets_count;
	uint64_t conns_added, conns_killed, conns_removed, killq_resync;
	uint64_t tx_flush_fails, tx_write_fails, rx_read_fails;
	uint64_t tx_malformed[VSOCK_BAD__COUNT];
	uint64_t host_connect_refused, host_connect_timeouts;
};

struct virtio_vsock {
	struct virtio_mmio t;
	struct vsock_config cfg;
	struct vm_services host;
	int epfd, listen_fd, timer_fd, wake_fd;
	bool on_loop, timer_armed, bound;
	struct ep_tag listen_tag, timer_tag, wake_tag;
	bool purge;                   /* a device reset: drop every connection */
	unsigned nr_conns, nr_pend;
	struct vsock_conn *buckets[HASH_BUCKETS];
	struct vsock_conn *all;
	struct vsock_conn *rxq_head, *rxq_tail;
	struct vsock_conn *dead;
	struct vsock_pend *pend, *pend_dead;
	struct { uint32_t local_port, peer_port; } rst[RST_RING];
	unsigned rst_head, rst_len;
	uint32_t local_port_last;
	uint32_t logged;              /* bit per vsock_bad / event already logged */
	struct vsock_stats stats;
	struct virtq_chain chain;     /* scratch */
};

#define LOGGED_BAD(b)        (1u << (b))
#define LOGGED_NO_EVQ        (1u << 16)
#define LOGGED_BAD_RX        (1u << 17)
#define LOGGED_FULL          (1u << 18)
#define LOGGED_OVERRUN       (1u << 19)

static void rx_process(struct virtio_vsock *v);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool log_first(struct virtio_vsock *v, uint32_t bit)
{
	if (v->logged & bit)
		return false;
	v->logged |= bit;
	return true;
}

/* ---------------- connection table ---------------- */

static unsigned hash(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % HASH_BUCKETS;
}

static struct vsock_conn *conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = v->buckets[hash(local, peer)]; c; c = c->hnext)
		if (c->sm.local_port == local && c->sm.peer_port == peer)
			return c;
	return NULL;
}

static void rxq_add(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (c->in_rxq)
		return;
	c->in_rxq = true;
	c->qnext = NULL;
	c->qprev = v->rxq_tail;
	if (v->rxq_tail)
		v->rxq_tail->qnext = c;
	else
		v->rxq_head = c;
	v->rxq_tail = c;
}

static void rxq_del(struct virtio_vsock *v, struct vsock_conn *c)
{
	if (!c->in_rxq)
		return;
	if (c->qprev)
		c->qprev->qnext = c->qnext;
	else
		v->rxq_head = c->qnext;
	if (c->qnext)
		c->qnext->qprev = c->qprev;
	else
		v->rxq_tail = c->qprev;
	c->in_rxq = false;
	c->qprev = c->qnext = NULL;
}

static int ep_set(struct virtio_vsock *v, int fd, bool *in, uint32_t ev, void *tag)
{
	struct epoll_event e = { .events = ev, .data.ptr = tag };

	if (!*in) {
		if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
			return -errno;
		*in = true;
		return 0;
	}
	return epoll_ctl(v->epfd, EPOLL_CTL_MOD, fd, &e) < 0 ? -errno : 0;
}

static bool conn_can_send_data(const struct vsock_conn *c)
{
	return c->sm.state == VSOCK_ST_ESTABLISHED && !c->sm.peer_shut_rcv && !c->sm.host_eof &&
	       vsock_sm_peer_free(&c->sm) > 0;
}

/* Packets the guest is owed now (the RX queue holds exactly these). */
static bool conn_has_rx(const struct vsock_conn *c)
{
	return (c->sm.pending & ~(uint32_t)VSOCK_P_OK_LINE) ||
	       (c->host_readable && conn_can_send_data(c));
}

/* Bring the muxer interest and the RX queue in line with the state. */
static void conn_sync(struct virtio_vsock *v, struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->sm.state == VSOCK_ST_DEAD || c->fd < 0)
		return;
	/* The host closed and the guest takes nothing more from it (it
	 * already had our EOF, or shut its receiving side): close now. */
	if (c->host_hup && c->sm.state == VSOCK_ST_ESTABLISHED &&
	    (c->sm.host_eof || c->sm.peer_shut_rcv)) {
		c->host_readable = false;
		vsock_sm_host_closed(&c->sm);
	}
	if (!c->host_readable && conn_can_send_data(c))
		ev |= EPOLLIN;
	if (c->ok_off < c->ok_len || c->txb.len)
		ev |= EPOLLOUT;
	if (c->host_hup) {
		/* HUP is reported whatever the interest: out of the set. */
		if (c->in_epoll) {
			epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->in_epoll = false;
		}
	} else if (!c->in_epoll || ev != c->ev) {
		if (ep_set(v, c->fd, &c->in_epoll, ev, &c->tag) < 0)
			v->stats.muxer_event_fails++;
		c->ev = ev;
	}
	if (conn_has_rx(c))
		rxq_add(v, c);
	else
		rxq_del(v, c);
}

static void rst_enqueue(struct virtio_vsock *v, uint32_t local_port, uint32_t peer_port)
{
	if (v->rst_len == RST_RING) {
		v->stats.killq_resync++;   /* dropped: the guest's connection times out */
		return;
	}
	v->rst[(v->rst_head + v->rst_len) % RST_RING].local_port = local_port;
	v->rst[(v->rst_head + v->rst_len) % RST_RING].peer_port = peer_port;
	v->rst_len++;
}

/* Remove a connection: close the host socket, RST the guest if owed. The
 * memory is freed after the current batch of muxer events. */
static void conn_remove(struct virtio_vsock *v, struct vsock_conn *c, bool killed)
{
	struct vsock_conn **pp = &v->buckets[hash(c->sm.local_port, c->sm.peer_port)];

	if (c->sm.pending & VSOCK_P_RST)
		rst_enqueue(v, c->sm.local_port, c->sm.peer_port);
	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	if (c->aprev)
		c->aprev->anext = c->anext;
	else
		v->all = c->anext;
	if (c->anext)
		c->anext->aprev = c->aprev;
	rxq_del(v, c);
	if (c->fd >= 0) {
		if (c->in_epoll)
			epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	vsock_txbuf_free(&c->txb);
	c->sm.state = VSOCK_ST_DEAD;
	c->dnext = v->dead;
	v->dead = c;
	v->nr_conns--;
	v->stats.conns_removed++;
	if (killed)
		v->stats.conns_killed++;
}

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum vsock_state st,
				   uint32_t local, uint32_t peer, const struct vsock_hdr *req)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));
	unsigned b;

	if (!c)
		return NULL;
	c->tag.kind = EP_CONN;
	c->fd = fd;
	vsock_sm_init(&c->sm, st, local, peer, req ? req->buf_alloc : 0, req ? req->fwd_cnt : 0);
	b = hash(local, peer);
	c->hnext = v->buckets[b];
	v->buckets[b] = c;
	c->anext = v->all;
	if (v->all)
		v->all->aprev = c;
	v->all = c;
	v->nr_conns++;
	v->stats.conns_added++;
	return c;
}

static uint32_t alloc_local_port(struct virtio_vsock *v)
{
	for (;;) {
		bool used = false;

		v->local_port_last = ((v->local_port_last + 1) & ~(1u << 31)) | VSOCK_LOCAL_PORT_BASE;
		for (struct vsock_conn *c = v->all; c && !used; c = c->anext)
			used = c->sm.local_port == v->local_port_last;
		if (!used)
			return v->local_port_last;
	}
}

/* ---------------- host side: writing ---------------- */

/* Write what the host socket will take: the OK line first, then buffered
 * guest bytes. A write error means the host is gone. */
static void conn_flush(struct virtio_vsock *v, struct vsock_conn *c)
{
	while (c->fd >= 0 && c->ok_off < c->ok_len) {
		ssize_t w = write(c->fd, c->ok + c->ok_off, c->ok_len - c->ok_off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				v->stats.tx_flush_fails++;
				c->host_hup = true;
				c->host_readable = true;
			}
			return;
		}
		c->ok_off += (uint8_t)w;
	}
	while (c->fd >= 0 && c->txb.len) {
		const uint8_t *p[2];
		uint32_t n[2];
		struct iovec iov[2];
		unsigned k = vsock_txbuf_peek(&c->txb, p, n);
		ssize_t w;

		for (unsigned i = 0; i < k; i++)
			iov[i] = (struct iovec){ .iov_base = (void *)p[i], .iov_len = n[i] };
		w = writev(c->fd, iov, (int)k);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				v->stats.tx_flush_fails++;
				c->host_hup = true;
				c->host_readable = true;
			}
			return;
		}
		vsock_txbuf_consume(&c->txb, (uint32_t)w);
		vsock_sm_forwarded(&c->sm, (uint32_t)w);
	}
	if (c->fd >= 0 && !c->txb.len && c->want_shut_wr && !c->shut_wr_done) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_done = true;
	}
}

struct write_ctx {
	struct virtio_vsock *v;
	struct vsock_conn *c;
	bool stop;
};

/* One readable piece of a guest RW payload: straight to the socket while
 * it takes bytes, the rest into the TX buffer (within the credit). */
static int write_piece(uint8_t *hva, uint64_t n, void *opaque)
{
	struct write_ctx *w = opaque;
	struct vsock_conn *c = w->c;

	while (n && !w->stop && !c->txb.len && c->ok_off == c->ok_len && !c->host_hup) {
		ssize_t r = write(c->fd, hva, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				w->v->stats.tx_write_fails++;
				c->host_hup = true;
				c->host_readable = true;
			}
			break;
		}
		vsock_sm_forwarded(&c->sm, (uint32_t)r);
		hva += r;
		n -= (uint64_t)r;
	}
	if (n && c->host_hup) {
		/* The host is gone: the bytes go nowhere, the credit comes back. */
		vsock_sm_forwarded(&c->sm, (uint32_t)n);
		return 0;
	}
	if (n && vsock_txbuf_push(&c->txb, hva, (uint32_t)n) < 0) {
		/* Cannot happen within the credit; out of memory: give up. */
		w->v->stats.tx_write_fails++;
		w->stop = true;
		return -ENOMEM;
	}
	return 0;
}

/* ---------------- guest side: packets to the guest ---------------- */

static void hdr_write(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(h, raw);
	virtq_chain_write(&v->chain, 0, raw, sizeof(raw));
}

/* Fill iov with the chain's writable bytes [off, off + max). */
static unsigned writable_iov(const struct virtq_chain *ch, uint64_t off, uint64_t max,
			     struct iovec *iov, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = ch->nr_readable; i < ch->nr && max && n < cap; i++) {
		uint64_t len = ch->segs[i].len;

		if (off >= len) {
			off -= len;
			continue;
		}
		len -= off;
		if (len > max)
			len = max;
		iov[n++] = (struct iovec){ .iov_base = ch->segs[i].hva + off, .iov_len = len };
		max -= len;
		off = 0;
	}
	return n;
}

/* Build the next packet of connection c into v->chain. Returns the bytes
 * written (header included), or 0 if c had nothing to send after all. */
static uint32_t conn_build_rx(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct vsock_hdr h;
	struct vsock_conn_sm *s = &c->sm;

	for (;;) {
		uint16_t op = 0;

		if (s->pending & VSOCK_P_REQUEST) {
			op = VSOCK_OP_REQUEST;
			s->pending &= ~VSOCK_P_REQUEST;
		} else if (s->pending & VSOCK_P_RESPONSE) {
			op = VSOCK_OP_RESPONSE;
			s->pending &= ~VSOCK_P_RESPONSE;
		} else if (c->host_readable && conn_can_send_data(c) &&
			   v->chain.writable_len > VSOCK_HDR_LEN) {
			struct iovec iov[VIRTQ_MAX_SIZE];
			uint64_t room = v->chain.writable_len - VSOCK_HDR_LEN;
			uint32_t credit = vsock_sm_peer_free(s);
			unsigned n;
			ssize_t r;

			if (room > VSOCK_MAX_PKT_BUF)
				room = VSOCK_MAX_PKT_BUF;
			if (room > credit)
				room = credit;
			n = writable_iov(&v->chain, VSOCK_HDR_LEN, room, iov, VIRTQ_MAX_SIZE);
			do
				r = readv(c->fd, iov, (int)n);
			while (r < 0 && errno == EINTR);
			if (r > 0) {
				vsock_sm_fill_hdr(s, v->cfg.guest_cid, VSOCK_OP_RW, &h);
				h.len = (uint32_t)r;
				hdr_write(v, &h);
				vsock_sm_sent_data(s, (uint32_t)r);
				s->pending &= ~VSOCK_P_CREDIT_UPDATE;
				v->stats.rx_bytes_count += (uint64_t)r;
				return VSOCK_HDR_LEN + (uint32_t)r;
			}
			c->host_readable = false;
			if (r < 0 && errno == EAGAIN) {
				if (c->host_hup)   /* EAGAIN after HUP: nothing left */
					vsock_sm_host_closed(s);
				continue;
			}
			if (r < 0)
				v->stats.rx_read_fails++;
			/* EOF (or an error): the host sends no more. */
			if (c->host_hup || r < 0)
				vsock_sm_host_closed(s);
			else
				vsock_sm_host_eof(s);
			continue;
		} else if (s->pending & VSOCK_P_SHUTDOWN) {
			op = VSOCK_OP_SHUTDOWN;
			s->pending &= ~VSOCK_P_SHUTDOWN;
			if (s->state == VSOCK_ST_CLOSING)
				c->deadline_ms = now_ms() + VSOCK_SHUTDOWN_TIMEOUT_MS;
		} else if (s->pending & VSOCK_P_CREDIT_UPDATE) {
			op = VSOCK_OP_CREDIT_UPDATE;
		} else if (s->pending & VSOCK_P_CREDIT_REQUEST) {
			op = VSOCK_OP_CREDIT_REQUEST;
			s->pending &= ~VSOCK_P_CREDIT_REQUEST;
		} else {
			return 0;
		}
		vsock_sm_fill_hdr(s, v->cfg.guest_cid, op, &h);
		if (op == VSOCK_OP_SHUTDOWN)
			h.flags = s->shutdown_flags;
		hdr_write(v, &h);
		s->pending &= ~VSOCK_P_CREDIT_UPDATE;   /* every packet carries our credit */
		return VSOCK_HDR_LEN;
	}
}

static void rx_process(struct virtio_vsock *v)
{
	struct virtq *q = &v->t.state.queues[RXQ];
	bool pushed = false;
	unsigned budget;

	if (!virtio_mmio_driver_ok(&v->t) || !q->ready || q->broken)
		return;
	budget = q->size;
	while (v->rst_len || v->rxq_head) {
		uint32_t len = 0;
		int r;

		if (!budget--) {
			if (v->t.kick)   /* come back after the other fds were served */
				v->t.kick(v->t.irq_opaque, RXQ);
			break;
		}
		r = virtq_pop(q, v->t.mem, &v->chain);
		if (r == 0) {
			/* No buffers: wait for the guest's notify. */
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		if (r == -EIO) {
			v->stats.rx_queue_event_fails++;
			virtio_mmio_needs_reset(&v->t, "RX ring is corrupt");
			break;
		}
		if (r < 0 || v->chain.nr_readable || v->chain.writable_len < VSOCK_HDR_LEN) {
			if (r == -EINVAL)
				virtq_log_rejected(q, v->t.name, RXQ, v->chain.head);
			else if (log_first(v, LOGGED_BAD_RX))
				log_warn("%s: RX buffer of %llu writable bytes (needs %d, no readable ones): "
					 "returned unused", v->t.name,
					 (unsigned long long)v->chain.writable_len, VSOCK_HDR_LEN);
			v->stats.rx_queue_event_fails++;
			virtq_push(q, v->chain.head, 0);
			pushed = true;
			continue;
		}
		if (v->rst_len) {
			struct vsock_hdr h = { .src_cid = VSOCK_HOST_CID, .dst_cid = v->cfg.guest_cid,
					       .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST };

			h.src_port = v->rst[v->rst_head].local_port;
			h.dst_port = v->rst[v->rst_head].peer_port;
			v->rst_head = (v->rst_head + 1) % RST_RING;
			v->rst_len--;
			hdr_write(v, &h);
			len = VSOCK_HDR_LEN;
		}
		/* Each connection at most once per buffer: one that cannot use
		 * it (a buffer too small for data) goes back to the tail. */
		for (unsigned tries = v->nr_conns; !len && v->rxq_head && tries; tries--) {
			struct vsock_conn *c = v->rxq_head;

			rxq_del(v, c);
			len = conn_build_rx(v, c);
			if (c->sm.state == VSOCK_ST_DEAD)
				conn_remove(v, c, false);
			else
				conn_sync(v, c);   /* back in the queue (at the tail) if it owes more */
		}
		if (!len) {
			virtq_unpop(q, 1);
			break;
		}
		virtq_push(q, v->chain.head, len);
		v->stats.rx_packets_count++;
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(&v->t, RXQ);
}

/* ---------------- guest side: packets from the guest ---------------- */

static void refuse(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	if (h->op != VSOCK_OP_RST)
		rst_enqueue(v, h->dst_port, h->src_port);
}

/* A REQUEST to host port P: connect to "<uds_path>_P". */
static void guest_connect(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd, n;

	if (v->nr_conns + v->nr_pend >= VSOCK_MAX_CONNECTIONS) {
		if (log_first(v, LOGGED_FULL))
			log_warn("%s: %d connections: refusing more", v->t.name,
				 VSOCK_MAX_CONNECTIONS);
		refuse(v, h);
		return;
	}
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->cfg.uds_path, h->dst_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		v->stats.host_connect_refused++;
		refuse(v, h);
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		v->stats.conn_event_fails++;
		refuse(v, h);
		return;
	}
	/* A Unix socket connects at once or not at all (EAGAIN: the
	 * listener's backlog is full; treated as refused). */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("%s: guest port %u -> %s: %s", v->t.name, h->src_port, sa.sun_path,
			  strerror(errno));
		close(fd);
		v->stats.host_connect_refused++;
		refuse(v, h);
		return;
	}
	c = conn_new(v, fd, VSOCK_ST_ESTABLISHED, h->dst_port, h->src_port, h);
	if (!c) {
		close(fd);
		refuse(v, h);
		return;
	}
	c->sm.pending |= VSOCK_P_RESPONSE;
	conn_sync(v, c);
}

static void tx_packet(struct virtio_vsock *v, const struct vsock_hdr *h)
{
	struct vsock_conn *c = conn_find(v, h->dst_port, h->src_port);
	enum vsock_action a;

	if (h->op == VSOCK_OP_REQUEST) {
		if (c) {   /* a second REQUEST on a live connection */
			vsock_sm_reset(&c->sm);
			conn_remove(v, c, true);
			return;
		}
		guest_connect(v, h);
		return;
	}
	if (!c) {
		refuse(v, h);
		return;
	}
	a = vsock_sm_recv(&c->sm, h);
	switch (a) {
	case VSOCK_ACT_WRITE: {
		struct write_ctx w = { v, c, false };

		virtq_chain_walk(&v->chain, false, VSOCK_HDR_LEN, h->len, write_piece, &w);
		v->stats.tx_bytes_count += h->len;
		break;
	}
	case VSOCK_ACT_ESTABLISHED:
		c->deadline_ms = 0;
		c->ok_len = (uint8_t)snprintf(c->ok, sizeof(c->ok), "OK %u\n", c->sm.local_port);
		c->ok_off = 0;
		c->sm.pending &= ~VSOCK_P_OK_LINE;
		conn_flush(v, c);
		break;
	case VSOCK_ACT_SHUT_HOST_WR:
		c->want_shut_wr = true;
		conn_flush(v, c);
		break;
	case VSOCK_ACT_KILL:
	case VSOCK_ACT_RESET:
		conn_remove(v, c, a == VSOCK_ACT_RESET);
		return;
	case VSOCK_ACT_NONE:
		break;
	}
	if (c->sm.state == VSOCK_ST_DEAD)
		conn_remove(v, c, false);
	else
		conn_sync(v, c);
}

static void tx_process(struct virtio_vsock *v)
{
	struct virtq *q = &v->t.state.queues[TXQ];
	bool pushed = false;
	unsigned popped = 0;

	if (!virtio_mmio_driver_ok(&v->t) || !q->ready)
		return;
	for (;;) {
		uint8_t raw[VSOCK_HDR_LEN];
		struct vsock_hdr h;
		enum vsock_bad bad;
		int r;

		if (popped == q->size) {
			if (v->t.kick)
				v->t.kick(v->t.irq_opaque, TXQ);
			break;
		}
		r = virtq_pop(q, v->t.mem, &v->chain);
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		popped++;
		if (r == -EIO) {
			v->stats.tx_queue_event_fails++;
			virtio_mmio_needs_reset(&v->t, "TX ring is corrupt");
			break;
		}
		pushed = true;
		if (r < 0) {
			v->stats.tx_queue_event_fails++;
			virtq_log_rejected(q, v->t.name, TXQ, v->chain.head);
			virtq_push(q, v->chain.head, 0);
			continue;
		}
		if (v->chain.readable_len < VSOCK_HDR_LEN) {
			bad = VSOCK_BAD_SHORT;
		} else {
			virtq_chain_read(&v->chain, 0, raw, sizeof(raw));
			vsock_hdr_decode(raw, &h);
			bad = vsock_tx_check(&h, v->cfg.guest_cid,
					     v->chain.readable_len - VSOCK_HDR_LEN);
		}
		if (bad != VSOCK_OK) {
			v->stats.tx_malformed[bad]++;
			if (log_first(v, LOGGED_BAD(bad)))
				log_warn("%s: malformed TX packet (%s): %s (logged once)", v->t.name,
					 vsock_bad_name(bad),
					 bad == VSOCK_BAD_SHORT ? "dropped" : "connection reset");
			if (bad != VSOCK_BAD_SHORT) {
				/* That connection (by its ports) only. */
				struct vsock_conn *c = conn_find(v, h.dst_port, h.src_port);

				if (c) {
					vsock_sm_reset(&c->sm);
					conn_remove(v, c, true);
				} else if (h.op != VSOCK_OP_RST) {
					rst_enqueue(v, h.dst_port, h.src_port);
				}
			}
		} else {
			v->stats.tx_packets_count++;
			tx_packet(v, &h);
		}
		virtq_push(q, v->chain.head, 0);
	}
	if (pushed)
		virtio_mmio_signal_used(&v->t, TXQ);
}

/* ---------------- the muxer ---------------- */

static void pend_remove(struct virtio_vsock *v, struct vsock_pend *p, bool close_fd)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		v->pend = p->next;
	if (p->next)
		p->next->prev = p->prev;
	if (close_fd && p->fd >= 0) {
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
	p->dnext = v->pend_dead;
	v->pend_dead = p;
	v->nr_pend--;
}

static void on_listen(struct virtio_vsock *v)
{
	for (unsigned i = 0; i < 64; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_pend *p;
		struct epoll_event e;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				v->stats.muxer_event_fails++;
			return;
		}
		if (v->nr_conns + v->nr_pend >= VSOCK_MAX_CONNECTIONS ||
		    !(p = calloc(1, sizeof(*p)))) {
			if (log_first(v, LOGGED_FULL))
				log_warn("%s: %d connections: refusing more", v->t.name,
					 VSOCK_MAX_CONNECTIONS);
			close(fd);
			continue;
		}
		p->tag.kind = EP_PEND;
		p->fd = fd;
		p->deadline_ms = now_ms() + VSOCK_CONNECT_TIMEOUT_MS;
		e = (struct epoll_event){ .events = EPOLLIN, .data.ptr = &p->tag };
		if (epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			v->stats.muxer_event_fails++;
			close(fd);
			free(p);
			continue;
		}
		p->next = v->pend;
		if (v->pend)
			v->pend->prev = p;
		v->pend = p;
		v->nr_pend++;
	}
}

/* Read the CONNECT line one byte at a time, as Firecracker does: bytes
 * after the newline stay in the socket for the guest. */
static void on_pend(struct virtio_vsock *v, struct vsock_pend *p)
{
	uint32_t port;
	size_t used;
	int r = 0;

	while (r == 0) {
		ssize_t n = read(p->fd, p->line + p->len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {   /* EOF or error before a full line */
			pend_remove(v, p, true);
			return;
		}
		p->len++;
		r = vsock_parse_connect(p->line, p->len, &port, &used);
	}
	if (r < 0) {
		log_debug("%s: host connection without a valid CONNECT line: closed", v->t.name);
		pend_remove(v, p, true);
		return;
	}
	{
		int fd = p->fd;
		uint32_t local = alloc_local_port(v);
		struct vsock_conn *c;

		epoll_ctl(v->epfd, EPOLL_CTL_DEL, fd, NULL);
		pend_remove(v, p, false);
		c = conn_new(v, fd, VSOCK_ST_CONNECTING, local, port, NULL);
		if (!c) {
			close(fd);
			return;
		}
		c->sm.pending |= VSOCK_P_REQUEST;
		c->deadline_ms = now_ms() + VSOCK_REQUEST_TIMEOUT_MS;
		conn_sync(v, c);
	}
}

static void on_conn(struct virtio_vsock *v, struct vsock_conn *c, uint32_t ev)
{
	if (c->sm.state == VSOCK_ST_DEAD)
		return;
	if (ev & (EPOLLHUP | EPOLLERR)) {
		c->host_hup = true;
		c->host_readable = true;
		if (c->sm.state == VSOCK_ST_CONNECTING) {
			/* The client left before the guest answered. */
			vsock_sm_reset(&c->sm);
			conn_remove(v, c, true);
			return;
		}
	}
	if (ev & EPOLLIN)
		c->host_readable = true;
	if (ev & EPOLLOUT)
		conn_flush(v, c);
	if (c->sm.state == VSOCK_ST_DEAD)
		conn_remove(v, c, false);
	else
		conn_sync(v, c);
}

static void timer_update(struct virtio_vsock *v)
{
	bool need = v->pend != NULL;
	struct itimerspec its = { 0 };

	for (struct vsock_conn *c = v->all; c && !need; c = c->anext)
		need = c->deadline_ms != 0;
	if (need == v->timer_armed || v->timer_fd < 0)
		return;
	if (need) {
		its.it_value.tv_nsec = TIMER_TICK_MS * 1000000L;
		its.it_interval.tv_nsec = TIMER_TICK_MS * 1000000L;
	}
	if (timerfd_settime(v->timer_fd, 0, &its, NULL) == 0)
		v->timer_armed = need;
}

static void on_timer(struct virtio_vsock *v)
{
	uint64_t t = now_ms(), ticks;
	struct vsock_conn *c, *next;
	struct vsock_pend *p, *pnext;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		v->stats.muxer_event_fails++;
	for (p = v->pend; p; p = pnext) {
		pnext = p->next;
		if (t >= p->deadline_ms) {
			log_debug("%s: host connection sent no CONNECT line in %d ms: closed",
				  v->t.name, VSOCK_CONNECT_TIMEOUT_MS);
			pend_remove(v, p, true);
		}
	}
	for (c = v->all; c; c = next) {
		next = c->anext;
		if (!c->deadline_ms || t < c->deadline_ms)
			continue;
		/* The guest never answered our REQUEST, or never closed after
		 * our SHUTDOWN: RST. */
		if (c->sm.state == VSOCK_ST_CONNECTING)
			v->stats.host_connect_timeouts++;
		vsock_sm_reset(&c->sm);
		conn_remove(v, c, true);
	}
}

static void purge(struct virtio_vsock *v)
{
	struct vsock_conn *c;

	while ((c = v->all)) {
		c->sm.pending = 0;
		conn_remove(v, c, false);
	}
	while (v->pend)
		pend_remove(v, v->pend, true);
	v->rst_len = 0;
	v->rst_head = 0;
	v->purge = false;
}

static void free_dead(struct virtio_vsock *v)
{
	while (v->dead) {
		struct vsock_conn *c = v->dead;

		v->dead = c->dnext;
		free(c);
	}
	while (v->pend_dead) {
		struct vsock_pend *p = v->pend_dead;

		v->pend_dead = p->dnext;
		free(p);
	}
}

/* Serve the muxer's ready fds, then deliver what became ready. Lock held. */
static void muxer_run(struct virtio_vsock *v)
{
	struct epoll_event evs[64];
	int n;

	if (v->purge)
		purge(v);
	n = epoll_wait(v->epfd, evs, 64, 0);
	if (n < 0 && errno != EINTR)
		v->stats.muxer_event_fails++;
	for (int i = 0; i < n; i++) {
		struct ep_tag *tag = evs[i].data.ptr;

		switch (tag->kind) {
		case EP_LISTEN:
			on_listen(v);
			break;
		case EP_TIMER:
			on_timer(v);
			break;
		case EP_WAKE: {
			uint64_t cnt;

			if (read(v->wake_fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
				v->stats.muxer_event_fails++;
			break;
		}
		case EP_PEND: {
			struct vsock_pend *p = (struct vsock_pend *)tag;

			if (p->fd >= 0)
				on_pend(v, p);
			break;
		}
		case EP_CONN:
			on_conn(v, (struct vsock_conn *)tag, evs[i].events);
			break;
		}
	}
	rx_process(v);
	timer_update(v);
	free_dead(v);
}

static void on_muxer(int fd, uint32_t events, void *opaque)
{
	struct virtio_vsock *v = opaque;

	(void)fd;
	(void)events;
	virtio_mmio_lock(&v->t);
	muxer_run(v);
	virtio_mmio_unlock(&v->t);
}

void virtio_vsock_poll(struct virtio_vsock *v)
{
	on_muxer(v->epfd, EPOLLIN, v);
}

/* ---------------- transport callbacks (lock held) ---------------- */

static size_t vsock_config_len(void *dev)
{
	(void)dev;
	return 8;
}

static void vsock_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	struct virtio_vsock *v = dev;
	uint8_t cfg[8];

	st_le64(cfg, v->cfg.guest_cid);
	memcpy(data, cfg + off, len);
}

static void vsock_config_write(void *dev, uint32_t off, const uint8_t *data, unsigned len)
{
	struct virtio_vsock *v = dev;

	(void)off;
	(void)data;
	(void)len;
	v->stats.cfg_fails++;   /* guest_cid is read-only */
}

static int vsock_activate(void *dev)
{
	(void)dev;   /* RX starts with the guest's first RX notify */
	return 0;
}

/* From a vCPU thread: the VMM thread drops the connections. */
static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;
	uint64_t one = 1;

	v->purge = true;
	if (v->wake_fd >= 0 && write(v->wake_fd, &one, sizeof(one)) < 0)
		v->stats.muxer_event_fails++;
}

static void vsock_notify(void *dev, unsigned q)
{
	struct virtio_vsock *v = dev;

	if (v->purge)
		purge(v);
	if (q == RXQ) {
		v->stats.rx_queue_event_count++;
		rx_process(v);
	} else if (q == TXQ) {
		v->stats.tx_queue_event_count++;
		tx_process(v);
		rx_process(v);
	}
	/* EVQ: the guest gave event buffers back; nothing to do. */
	timer_update(v);
	free_dead(v);
}

/* ---- the device interface (lock held) ---- */

struct vsock_saved {
	uint64_t guest_cid;
};

static void vsock_save(void *dev, void *buf)
{
	struct virtio_vsock *v = dev;
	struct vsock_saved s = { .guest_cid = v->cfg.guest_cid };

	memcpy(buf, &s, sizeof(s));
}

static int vsock_restore(void *dev, const void *buf, char *err, size_t errlen)
{
	struct virtio_vsock *v = dev;
	struct vsock_saved s;

	memcpy(&s, buf, sizeof(s));
	if (s.guest_cid != v->cfg.guest_cid) {
		snprintf(err, errlen, "%s: saved guest_cid %llu, configured %llu", v->t.name,
			 (unsigned long long)s.guest_cid, (unsigned long long)v->cfg.guest_cid);
		return -EINVAL;
	}
	return 0;
}

static int vsock_quiesce(void *dev)
{
	(void)dev;   /* connections are not saved (as in Firecracker) */
	return 0;
}

static void vsock_metrics(void *dev, struct metric_sink *sink)
{
	static const struct vsock_stats none;
	struct virtio_vsock *v = dev;
	const struct vsock_stats *s = v ? &v->stats : &none;
	uint64_t bad = 0;

	sink->put(sink, "activate_fails", s->activate_fails);
	sink->put(sink, "cfg_fails", s->cfg_fails);
	sink->put(sink, "rx_queue_event_fails", s->rx_queue_event_fails);
	sink->put(sink, "tx_queue_event_fails", s->tx_queue_event_fails);
	sink->put(sink, "ev_queue_event_fails", s->ev_queue_event_fails);
	sink->put(sink, "muxer_event_fails", s->muxer_event_fails);
	sink->put(sink, "conn_event_fails", s->conn_event_fails);
	sink->put(sink, "rx_queue_event_count", s->rx_queue_event_count);
	sink->put(sink, "tx_queue_event_count", s->tx_queue_event_count);
	sink->put(sink, "rx_bytes_count", s->rx_bytes_count);
	sink->put(sink, "tx_bytes_count", s->tx_bytes_count);
	sink->put(sink, "rx_packets_count", s->rx_packets_count);
	sink->put(sink, "tx_packets_count", s->tx_packets_count);
	sink->put(sink, "conns_added", s->conns_added);
	sink->put(sink, "conns_killed", s->conns_killed);
	sink->put(sink, "conns_removed", s->conns_removed);
	sink->put(sink, "killq_resync", s->killq_resync);
	sink->put(sink, "tx_flush_fails", s->tx_flush_fails);
	sink->put(sink, "tx_write_fails", s->tx_write_fails);
	sink->put(sink, "rx_read_fails", s->rx_read_fails);
	/* wisp's own */
	for (unsigned i = 1; i < VSOCK_BAD__COUNT; i++)
		bad += s->tx_malformed[i];
	sink->put(sink, "tx_malformed_packets", bad);
	sink->put(sink, "host_connect_refused", s->host_connect_refused);
	sink->put(sink, "host_connect_timeouts", s->host_connect_timeouts);
}

static void vsock_destroy_cb(void *dev)
{
	virtio_vsock_destroy(dev);
}

static const struct virtio_dev_ops vsock_ops = {
	.name = "virtio-vsock",
	.device_id = VIRTIO_ID_VSOCK,
	.nr_queues = 3,
	.queue_max_size = VSOCK_QUEUE_SIZE,
	.config_len = vsock_config_len,
	.config_read = vsock_config_read,
	.config_write = vsock_config_write,
	.activate = vsock_activate,
	.reset = vsock_reset,
	.notify = vsock_notify,
	.quiesce = vsock_quiesce,
	.state_size = sizeof(struct vsock_saved),
	.save = vsock_save,
	.restore = vsock_restore,
	.metrics = vsock_metrics,
	.destroy = vsock_destroy_cb,
};

int virtio_vsock_transport_reset(struct virtio_vsock *v)
{
	struct virtq *q = &v->t.state.queues[EVQ];
	uint8_t ev[4];
	int r;

	if (!virtio_mmio_driver_ok(&v->t) || !q->ready)
		return 0;
	r = virtq_pop(q, v->t.mem, &v->chain);
	if (r <= 0 || v->chain.writable_len < sizeof(ev)) {
		v->stats.ev_queue_event_fails++;
		if (r == -EINVAL || (r > 0 && v->chain.writable_len < sizeof(ev)))
			virtq_push(q, v->chain.head, 0);
		if (log_first(v, LOGGED_NO_EVQ))
			log_warn("%s: no event buffer for the transport reset event", v->t.name);
		return -ENOBUFS;
	}
	st_le32(ev, VSOCK_EVENT_TRANSPORT_RESET);
	virtq_chain_write(&v->chain, 0, ev, sizeof(ev));
	virtq_push(q, v->chain.head, sizeof(ev));
	virtio_mmio_signal_used(&v->t, EVQ);
	return 0;
}

/* After a restore: the guest's connections are gone (none were saved);
 * tell it, as Firecracker does, with VIRTIO_VSOCK_EVENT_TRANSPORT_RESET. */
static void vsock_device_restored(void *transport)
{
	struct virtio_mmio *t = transport;
	struct virtio_vsock *v = t->dev;

	virtio_device_restored(transport);
	virtio_mmio_lock(t);
	virtio_vsock_transport_reset(v);
	virtio_mmio_unlock(t);
}

static void vsock_device_metrics(void *transport, struct metric_sink *sink)
{
	virtio_device_metrics(&vsock_ops, transport, sink);
}

const struct device_ops virtio_device_ops_vsock = {
	.kind = "virtio-vsock",
	.metrics_section = "vsock",
	.metrics = vsock_device_metrics,
	.reset = virtio_device_reset,
	.quiesce = virtio_device_quiesce,
	.state_size = virtio_device_state_size,
	.save = virtio_device_save,
	.restore = virtio_device_restore,
	.restored = vsock_device_restored,
	.destroy = virtio_device_destroy,
};

struct virtio_mmio *virtio_vsock_transport(struct virtio_vsock *v)
{
	return &v->t;
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (!v)
		return;
	purge(v);
	free_dead(v);
	if (v->on_loop)
		v->host.fd_del(v->host.loop, v->epfd);
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->bound)
		unlink(v->cfg.uds_path);
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->wake_fd >= 0)
		close(v->wake_fd);
	if (v->epfd >= 0)
		close(v->epfd);
	virtio_mmio_destroy(&v->t);
	free(v);
}

static int add_tag(struct virtio_vsock *v, int fd, struct ep_tag *tag, enum ep_kind kind)
{
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = tag };

	tag->kind = (uint8_t)kind;
	return epoll_ctl(v->epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

int virtio_vsock_create(const struct vsock_config *cfg, const struct guest_mem *mem,
			const struct vm_services *host, struct virtio_vsock **out, char *err,
			size_t errlen)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	uint32_t rnd = 0;
	int r = 0;

	if (!v) {
		snprintf(err, errlen, "vsock: out of memory");
		return -ENOMEM;
	}
	v->cfg = *cfg;
	v->epfd = v->listen_fd = v->timer_fd = v->wake_fd = -1;
	/* Host-side ports come from [2^30, 2^31) as in Firecracker, but from
	 * a random point: after a restore the guest may still send packets
	 * of connections the previous process had (e.g. an RST it queued
	 * before the snapshot), which must not hit a new connection. */
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)now_ms();
	v->local_port_last = VSOCK_LOCAL_PORT_BASE | (rnd & (VSOCK_LOCAL_PORT_BASE - 1));
	if (host)
		v->host = *host;
	virtio_mmio_init(&v->t, &vsock_ops, v, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
			 VIRTIO_BIT(VIRTIO_F_IN_ORDER), mem);
	if (strlen(cfg->uds_path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "vsock: uds_path '%s' is longer than %zu bytes", cfg->uds_path,
			 sizeof(sa.sun_path) - 1);
		r = -ENAMETOOLONG;
		goto fail;
	}
	/* As Firecracker: an existing path is refused, not replaced. */
	if (lstat(cfg->uds_path, &st) == 0) {
		snprintf(err, errlen, "Cannot create backend for vsock device: Error binding to the "
			 "host-side Unix socket: %s (os error %d) (uds_path '%s' exists)",
			 strerror(EADDRINUSE), EADDRINUSE, cfg->uds_path);
		r = -EADDRINUSE;
		goto fail;
	}
	memcpy(sa.sun_path, cfg->uds_path, strlen(cfg->uds_path) + 1);
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0 || bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		snprintf(err, errlen, "Cannot create backend for vsock device: Error binding to the "
			 "host-side Unix socket: %s (os error %d) (uds_path '%s')", strerror(-r), -r,
			 cfg->uds_path);
		goto fail;
	}
	v->bound = true;
	if (listen(v->listen_fd, 128) < 0) {
		r = -errno;
		snprintf(err, errlen, "vsock: listen on '%s': %s", cfg->uds_path, strerror(errno));
		goto fail;
	}
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->epfd < 0 || v->timer_fd < 0 || v->wake_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "vsock: cannot create its event fds: %s", strerror(errno));
		goto fail;
	}
	if ((r = add_tag(v, v->listen_fd, &v->listen_tag, EP_LISTEN)) < 0 ||
	    (r = add_tag(v, v->timer_fd, &v->timer_tag, EP_TIMER)) < 0 ||
	    (r = add_tag(v, v->wake_fd, &v->wake_tag, EP_WAKE)) < 0) {
		snprintf(err, errlen, "vsock: epoll_ctl: %s", strerror(-r));
		goto fail;
	}
	if (v->host.fd_add) {
		r = v->host.fd_add(v->host.loop, v->epfd, EPOLLIN, on_muxer, v);
		if (r < 0) {
			snprintf(err, errlen, "vsock: cannot watch its sockets: %s", strerror(-r));
			goto fail;
		}
		v->on_loop = true;
	}
	*out = v;
	return 0;
fail:
	virtio_vsock_destroy(v);
	return r;
}
