/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_internal.h — private to virtio/vsock*.c and tests/unit/test_vsock.c:
 * the virtio-vsock packet header (vsock_packet.c), the pure per-connection
 * state machine with its credit accounting and the host's CONNECT line
 * (vsock_conn.c). No fds, no guest memory: everything here is plain logic.
 */
#ifndef WISP_VSOCK_INTERNAL_H
#define WISP_VSOCK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* virtio 1.2 §5.10 */
#define VSOCK_HDR_LEN              44
#define VSOCK_TYPE_STREAM          1
#define VSOCK_HOST_CID             2
#define VSOCK_OP_REQUEST           1
#define VSOCK_OP_RESPONSE          2
#define VSOCK_OP_RST               3
#define VSOCK_OP_SHUTDOWN          4
#define VSOCK_OP_RW                5
#define VSOCK_OP_CREDIT_UPDATE     6
#define VSOCK_OP_CREDIT_REQUEST    7
#define VSOCK_FLAGS_SHUTDOWN_RCV   1
#define VSOCK_FLAGS_SHUTDOWN_SEND  2
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* Firecracker's limits (src/vmm/src/devices/virtio/vsock/). */
#define VSOCK_MAX_PKT_BUF          (64u * 1024)  /* payload of one packet */
#define VSOCK_CONN_BUF             (64u * 1024)  /* buf_alloc we advertise */
#define VSOCK_CREDIT_THRESHOLD     (4u * 1024)   /* tell the guest before it runs dry */
#define VSOCK_REQUEST_TIMEOUT_MS   2000
#define VSOCK_SHUTDOWN_TIMEOUT_MS  2000
#define VSOCK_CONNECT_TIMEOUT_MS   2000          /* host's "CONNECT <port>\n" */
#define VSOCK_CONNECT_LINE_MAX     32
#define VSOCK_MAX_CONNECTIONS      1023
#define VSOCK_LOCAL_PORT_BASE      (1u << 30)

/* ---- packet header (vsock_packet.c) ---- */
struct vsock_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port;
	uint32_t len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

void vsock_hdr_decode(const uint8_t raw[VSOCK_HDR_LEN], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VSOCK_HDR_LEN]);

/* Why a packet from the guest was refused; each kind is counted and
 * logged once. */
enum vsock_bad {
	VSOCK_OK = 0,
	VSOCK_BAD_SHORT,      /* chain shorter than the header: dropped */
	VSOCK_BAD_TYPE,       /* type != STREAM */
	VSOCK_BAD_SRC_CID,    /* src_cid != the guest's CID */
	VSOCK_BAD_DST_CID,    /* dst_cid != the host (2) */
	VSOCK_BAD_OVERSIZED,  /* len > 64 KiB */
	VSOCK_BAD_TRUNCATED,  /* len > the payload the chain carries */
	VSOCK_BAD_OP,         /* unknown op */
	VSOCK_BAD__COUNT
};
const char *vsock_bad_name(enum vsock_bad b);

/* Check a guest TX packet: the header (already decoded) and the bytes the
 * chain has after it (readable_len - 44). */
enum vsock_bad vsock_tx_check(const struct vsock_hdr *h, uint64_t guest_cid,
			      uint64_t payload_avail);

/* ---- the host's "CONNECT <port>\n" line (vsock_conn.c) ---- */
/* 1: a complete valid line (*port set, *used = bytes of the line); 0: no
 * newline yet and still room (read more); -EINVAL: malformed or too long.
 * As Firecracker: the word is case-insensitive, whitespace-separated. */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port, size_t *used);

/* ---- TX buffer: guest bytes the host socket has not taken yet ---- */
struct vsock_txbuf {
	uint8_t *data;        /* VSOCK_CONN_BUF bytes, allocated on first use */
	uint32_t head;        /* index of the first byte */
	uint32_t len;
};
/* Append n bytes; -ENOSPC (nothing appended) if they do not fit,
 * -ENOMEM if the buffer cannot be allocated. */
int vsock_txbuf_push(struct vsock_txbuf *b, const uint8_t *src, uint32_t n);
/* The buffered bytes as at most two pieces; returns the count (0..2). */
unsigned vsock_txbuf_peek(const struct vsock_txbuf *b, const uint8_t *p[2], uint32_t n[2]);
void vsock_txbuf_consume(struct vsock_txbuf *b, uint32_t n);
void vsock_txbuf_free(struct vsock_txbuf *b);

/* ---- per-connection state machine (vsock_conn.c) ---- */
enum vsock_state {
	VSOCK_ST_CONNECTING,   /* host-initiated: REQUEST sent, waiting for RESPONSE */
	VSOCK_ST_ESTABLISHED,
	VSOCK_ST_CLOSING,      /* we sent SHUTDOWN (both): waiting for the guest's RST */
	VSOCK_ST_DEAD,         /* to be removed (after the RST in `pending`, if any) */
};

/* Packets owed to the guest. */
#define VSOCK_P_REQUEST        (1u << 0)
#define VSOCK_P_RESPONSE       (1u << 1)
#define VSOCK_P_RST            (1u << 2)
#define VSOCK_P_SHUTDOWN       (1u << 3)
#define VSOCK_P_CREDIT_UPDATE  (1u << 4)
#define VSOCK_P_CREDIT_REQUEST (1u << 5)
#define VSOCK_P_OK_LINE        (1u << 6)  /* host side: "OK <port>\n" still to write */

struct vsock_conn_sm {
	enum vsock_state state;
	uint32_t local_port;      /* the host's end */
	uint32_t peer_port;       /* the guest's end */
	uint32_t pending;         /* VSOCK_P_* */
	uint32_t shutdown_flags;  /* of the SHUTDOWN we owe / sent */
	/* host -> guest: the guest's buffer */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint32_t rx_cnt;          /* bytes sent to the guest */
	/* guest -> host: our buffer */
	uint32_t fwd_cnt;         /* bytes written to the host socket */
	uint32_t last_fwd_cnt_sent;
	uint32_t held;            /* bytes received from the guest, not yet written */
	bool peer_shut_rcv;       /* the guest will receive nothing more */
	bool peer_shut_send;      /* the guest will send nothing more */
	bool host_eof;            /* the host will send nothing more */
	bool rst_after_flush;     /* guest shut both ways: RST once `held` is 0 */
};

/* What the device must do after a guest packet. */
enum vsock_action {
	VSOCK_ACT_NONE,
	VSOCK_ACT_WRITE,          /* RW accepted: write the payload to the host */
	VSOCK_ACT_ESTABLISHED,    /* RESPONSE to our REQUEST: tell the host "OK" */
	VSOCK_ACT_SHUT_HOST_WR,   /* the guest sends no more: shutdown(SHUT_WR) after flush */
	VSOCK_ACT_KILL,           /* close the host socket; state is DEAD */
	VSOCK_ACT_RESET,          /* protocol error: RST to the guest, close, DEAD */
};

void vsock_sm_init(struct vsock_conn_sm *c, enum vsock_state st, uint32_t local_port,
		   uint32_t peer_port, uint32_t peer_buf_alloc, uint32_t peer_fwd_cnt);
/* How many bytes the guest can take now (its credit). */
uint32_t vsock_sm_peer_free(const struct vsock_conn_sm *c);
/* Apply a guest packet (already checked by vsock_tx_check and addressed
 * to this connection). */
enum vsock_action vsock_sm_recv(struct vsock_conn_sm *c, const struct vsock_hdr *h);
/* Bookkeeping for what the device did. */
void vsock_sm_sent_data(struct vsock_conn_sm *c, uint32_t n);   /* RW to the guest */
void vsock_sm_forwarded(struct vsock_conn_sm *c, uint32_t n);   /* written to the host */
/* Whether the guest should hear about our credit now (it would otherwise
 * see less than VSOCK_CREDIT_THRESHOLD free). */
bool vsock_sm_need_credit_update(const struct vsock_conn_sm *c);
/* Fill the common fields of a packet to the guest (CIDs, ports, credit)
 * and note that the guest now knows our fwd_cnt. */
void vsock_sm_fill_hdr(struct vsock_conn_sm *c, uint64_t guest_cid, uint16_t op,
		       struct vsock_hdr *h);
/* The host end closed (both ways): SHUTDOWN to the guest, CLOSING. */
void vsock_sm_host_closed(struct vsock_conn_sm *c);
/* The host end sends no more (EOF on read): SHUTDOWN(SEND) to the guest. */
void vsock_sm_host_eof(struct vsock_conn_sm *c);
/* Reset: owe an RST, DEAD. */
void vsock_sm_reset(struct vsock_conn_sm *c);

#endif
