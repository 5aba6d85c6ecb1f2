/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio_vsock.h — the test guest's virtio-vsock driver (virtio 1.2 §5.10):
 * stream sockets with credit-based flow control over rx/tx/event queues,
 * a connection table, listeners with a built-in application per port
 * (echo, sink, source) and outbound client connections. Private to
 * tests/guest; used by scen_vsock.c. Everything is polled.
 */
#ifndef WTEST_VIO_VSOCK_H
#define WTEST_VIO_VSOCK_H

#include "vio.h"

#define VIRTIO_ID_VSOCK 19
#define VSOCK_HOST_CID 2
#define VSOCK_TYPE_STREAM 1

#define VSOCK_OP_INVALID 0
#define VSOCK_OP_REQUEST 1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST 3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW 5
#define VSOCK_OP_CREDIT_UPDATE 6
#define VSOCK_OP_CREDIT_REQUEST 7

#define VSOCK_SHUT_RCV 1
#define VSOCK_SHUT_SEND 2
#define VSOCK_EVENT_TRANSPORT_RESET 0

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));
_Static_assert(sizeof(struct vsock_hdr) == 44, "virtio_vsock_hdr is 44 bytes");

/* What a connection does with its bytes. */
enum vsock_app {
	VAPP_ECHO,      /* send every byte back */
	VAPP_SINK,      /* discard (counted); RST once the peer shuts down */
	VAPP_SOURCE,    /* send the pattern as fast as credit allows, ignore input */
	VAPP_CLIENT,    /* outbound: send len pattern bytes, expect them echoed back */
};

/* Malformed packets the guest can send on a connection. */
enum vsock_bad {
	VBAD_TYPE,      /* type 2 (SEQPACKET) instead of STREAM */
	VBAD_CID,       /* src_cid is not our CID */
	VBAD_LEN,       /* len 1 MiB, beyond the 64 KiB maximum and the chain */
	VBAD_OP,        /* op 99 */
	VBAD_SHORT,     /* len 4096 with a 16-byte data descriptor */
};

/* The stream pattern of source and client connections: byte i of the
 * stream is (uint8_t)(i % 251). */
#define VSOCK_PATTERN_MOD 251

struct vsock_stats {
	uint64_t accepted, connected, refused, closed, resets_rx, resets_tx;
	uint64_t bytes_rx, bytes_tx, pkts_rx, pkts_tx, credit_updates, credit_requests;
	uint64_t dev_errors, transport_resets, spilled;
	unsigned open, max_open;
};

/* Probe virtio entry dev, require a vsock device, negotiate, post the rx
 * and event buffers (rxbuf payload bytes per rx buffer, split: header and
 * payload in two descriptors). Fails the test on error. */
void vsock_open(unsigned dev, uint32_t rxbuf, bool split);
uint64_t vsock_guest_cid(void);
/* Accept host connections to port with the given application. */
void vsock_listen(uint32_t port, enum vsock_app app);
/* One polling pass over the queues, the connections and their timers. */
void vsock_poll(void);
/* Outbound client connection to host port: connection id or -1 (table full). */
int vsock_connect(uint32_t port, uint64_t len);
/* The open connection with local port lport and peer port pport, or -1. */
int vsock_find(uint32_t lport, uint32_t pport);
/* Close connection id gracefully (SHUTDOWN, then wait for the peer's RST). */
bool vsock_close(int id);
/* Send a malformed packet of kind bad on connection id. */
bool vsock_send_bad(int id, enum vsock_bad bad);
const char *vsock_bad_name(enum vsock_bad bad);
/* Print per-connection close lines (default on). */
void vsock_set_verbose(bool on);
const struct vsock_stats *vsock_stats(void);
/* Connections currently in the table (any state). */
unsigned vsock_open_count(void);

#endif
