/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_conn.c — pure logic of one hybrid-vsock connection: the state
 * machine driven by the guest's packets, credit accounting both ways
 * (virtio 1.2 §5.10.6.3), the TX buffer and the host's CONNECT line.
 *
 * Credit: the guest may have at most buf_alloc bytes of ours in flight
 * (what it sent minus our fwd_cnt); we may send it at most
 * peer_free = peer_buf_alloc - (rx_cnt - peer_fwd_cnt).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsock_internal.h"

/* ---- CONNECT line ---- */

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used)
{
	const char *nl = memchr(buf, '\n', len);
	const char *p, *end;
	uint64_t v = 0;
	size_t digits = 0;

	if (!nl)
		return len >= VSOCK_CONNECT_LINE_MAX ? -EINVAL : 0;
	if ((size_t)(nl - buf) + 1 > VSOCK_CONNECT_LINE_MAX)
		return -EINVAL;
	p = buf;
	end = nl;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (end - p < 7 || strncasecmp(p, "connect", 7) != 0)
		return -EINVAL;
	p += 7;
	if (p == end || !isspace((unsigned char)*p))
		return -EINVAL;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p++ - '0');
		if (v > UINT32_MAX)
			return -EINVAL;
		digits++;
	}
	if (!digits)
		return -EINVAL;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p != end)
		return -EINVAL;
	*port = (uint32_t)v;
	*used = (size_t)(nl - buf) + 1;
	return 1;
}

/* ---- TX buffer ---- */

int vsock_txbuf_push(struct vsock_txbuf *b, const uint8_t *src, uint32_t n)
{
	uint32_t tail, first;

	if (n > VSOCK_CONN_BUF - b->len)
		return -ENOSPC;
	if (!n)
		return 0;
	if (!b->data) {
		b->data = malloc(VSOCK_CONN_BUF);
		if (!b->data)
			return -ENOMEM;
		b->head = 0;
	}
	tail = (b->head + b->len) % VSOCK_CONN_BUF;
	first = VSOCK_CONN_BUF - tail < n ? VSOCK_CONN_BUF - tail : n;
	memcpy(b->data + tail, src, first);
	memcpy(b->data, src + first, n - first);
	b->len += n;
	return 0;
}

unsigned vsock_txbuf_peek(const struct vsock_txbuf *b, const uint8_t *p[2], uint32_t n[2])
{
	uint32_t first;

	if (!b->len)
		return 0;
	first = VSOCK_CONN_BUF - b->head < b->len ? VSOCK_CONN_BUF - b->head : b->len;
	p[0] = b->data + b->head;
	n[0] = first;
	if (first == b->len)
		return 1;
	p[1] = b->data;
	n[1] = b->len - first;
	return 2;
}

void vsock_txbuf_consume(struct vsock_txbuf *b, uint32_t n)
{
	if (n > b->len)
		n = b->len;
	b->head = (b->head + n) % VSOCK_CONN_BUF;
	b->len -= n;
	if (!b->len)
		b->head = 0;
}

void vsock_txbuf_free(struct vsock_txbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* ---- state machine ---- */

void vsock_sm_init(struct vsock_conn_sm *c, enum vsock_state st, uint32_t local_port,
		   uint32_t peer_port, uint32_t peer_buf_alloc, uint32_t peer_fwd_cnt)
{
	memset(c, 0, sizeof(*c));
	c->state = st;
	c->local_port = local_port;
	c->peer_port = peer_port;
	c->peer_buf_alloc = peer_buf_alloc;
	c->peer_fwd_cnt = peer_fwd_cnt;
}

uint32_t vsock_sm_peer_free(const struct vsock_conn_sm *c)
{
	uint32_t in_flight = c->rx_cnt - c->peer_fwd_cnt;   /* wraps as the spec's counters */

	/* A guest that shrank its buffer (or reports a fwd_cnt ahead of
	 * what we sent) gets nothing until the numbers make sense again. */
	if (in_flight > c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

void vsock_sm_reset(struct vsock_conn_sm *c)
{
	c->pending = VSOCK_P_RST;
	c->state = VSOCK_ST_DEAD;
}

enum vsock_action vsock_sm_recv(struct vsock_conn_sm *c, const struct vsock_hdr *h)
{
	if (c->state == VSOCK_ST_DEAD)
		return VSOCK_ACT_NONE;
	/* Every packet carries the guest's credit. */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;

	switch (h->op) {
	case VSOCK_OP_RST:
		c->pending = 0;
		c->state = VSOCK_ST_DEAD;
		return VSOCK_ACT_KILL;
	case VSOCK_OP_RESPONSE:
		if (c->state != VSOCK_ST_CONNECTING)
			break;
		c->state = VSOCK_ST_ESTABLISHED;
		c->pending |= VSOCK_P_OK_LINE;
		return VSOCK_ACT_ESTABLISHED;
	case VSOCK_OP_RW:
		if (c->state == VSOCK_ST_CONNECTING || c->peer_shut_send)
			break;
		if (c->state == VSOCK_ST_CLOSING)
			return VSOCK_ACT_NONE;   /* the host is gone: drop */
		/* The guest overran the credit we gave it. */
		if (h->len > VSOCK_CONN_BUF - c->held)
			break;
		c->held += h->len;
		return h->len ? VSOCK_ACT_WRITE : VSOCK_ACT_NONE;
	case VSOCK_OP_CREDIT_UPDATE:
		if (c->state == VSOCK_ST_CONNECTING)
			break;
		return VSOCK_ACT_NONE;
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == VSOCK_ST_CONNECTING)
			break;
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		return VSOCK_ACT_NONE;
	case VSOCK_OP_SHUTDOWN: {
		bool rcv = h->flags & VSOCK_FLAGS_SHUTDOWN_RCV;
		bool send = h->flags & VSOCK_FLAGS_SHUTDOWN_SEND;

		if (c->state == VSOCK_ST_CONNECTING)
			break;
		if (c->state == VSOCK_ST_CLOSING) {
			/* Both sides are done: the guest expects our RST. */
			vsock_sm_reset(c);
			return VSOCK_ACT_KILL;
		}
		c->peer_shut_rcv |= rcv;
		c->peer_shut_send |= send;
		if (c->peer_shut_rcv && c->peer_shut_send) {
			if (c->held == 0) {
				vsock_sm_reset(c);
				return VSOCK_ACT_KILL;
			}
			c->rst_after_flush = true;
			return VSOCK_ACT_NONE;
		}
		return send ? VSOCK_ACT_SHUT_HOST_WR : VSOCK_ACT_NONE;
	}
	case VSOCK_OP_REQUEST:
	default:
		break;
	}
	vsock_sm_reset(c);
	return VSOCK_ACT_RESET;
}

void vsock_sm_sent_data(struct vsock_conn_sm *c, uint32_t n)
{
	c->rx_cnt += n;
}

void vsock_sm_forwarded(struct vsock_conn_sm *c, uint32_t n)
{
	if (n > c->held)
		n = c->held;
	c->held -= n;
	c->fwd_cnt += n;
	if (vsock_sm_need_credit_update(c))
		c->pending |= VSOCK_P_CREDIT_UPDATE;
	if (c->rst_after_flush && c->held == 0)
		vsock_sm_reset(c);
}

bool vsock_sm_need_credit_update(const struct vsock_conn_sm *c)
{
	/* What the guest believes it may still send: buf_alloc minus what it
	 * sent and we have not reported forwarded. */
	uint32_t unreported = c->fwd_cnt - c->last_fwd_cnt_sent;

	return unreported >= VSOCK_CONN_BUF - VSOCK_CREDIT_THRESHOLD;
}

void vsock_sm_fill_hdr(struct vsock_conn_sm *c, uint64_t guest_cid, uint16_t op,
		       struct vsock_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = guest_cid;
	h->src_port = c->local_port;
	h->dst_port = c->peer_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = VSOCK_CONN_BUF;
	h->fwd_cnt = c->fwd_cnt;
	c->last_fwd_cnt_sent = c->fwd_cnt;
}

void vsock_sm_host_eof(struct vsock_conn_sm *c)
{
	if (c->host_eof || c->state != VSOCK_ST_ESTABLISHED)
		return;
	c->host_eof = true;
	c->shutdown_flags |= VSOCK_FLAGS_SHUTDOWN_SEND;
	c->pending |= VSOCK_P_SHUTDOWN;
}

void vsock_sm_host_closed(struct vsock_conn_sm *c)
{
	if (c->state == VSOCK_ST_DEAD || c->state == VSOCK_ST_CLOSING)
		return;
	if (c->state == VSOCK_ST_CONNECTING) {
		vsock_sm_reset(c);
		return;
	}
	c->host_eof = true;
	c->shutdown_flags = VSOCK_FLAGS_SHUTDOWN_RCV | VSOCK_FLAGS_SHUTDOWN_SEND;
	c->pending |= VSOCK_P_SHUTDOWN;
	c->pending &= ~VSOCK_P_OK_LINE;
	c->held = 0;
	c->state = VSOCK_ST_CLOSING;
}
