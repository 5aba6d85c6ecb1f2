/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_virtio_net.c — libFuzzer target for virtio-net's frame paths
 * (virtio/net.c): TX frame assembly from guest chains and RX placement of
 * host frames into guest buffers (mergeable or not), over a datagram
 * socketpair standing in for the tap, as tests/unit/test_virtio_net.c does.
 *
 * Input: a 12-byte header, then operations until the input ends.
 *   header  driver features u64 (negotiated through the registers; refused
 *           sets leave the device unusable, as for a real driver), MTU u16,
 *           log2 of the RX and TX queue sizes (mod 9)
 *   op byte k, then by k % 9:
 *     0  a host frame: length u16 (+ 0x10000 if k & 8), that many bytes
 *        from the input (zeros past its end) sent to the device's tap
 *     1  guest RAM write: gpa u16, length u8, bytes
 *     2  RX notify       3  TX notify
 *     4  read what the device sent to the tap (each frame checked)
 *     5  device reset (status 0) and bring-up again
 *     6  config space read (write if k & 32): offset u8 % 16, 1/2/4/8
 *        bytes by (k >> 3) & 3, value u64
 *     7  snapshot round trip: quiesce, save, restore (must succeed),
 *        restored (activate, serve the queues), metrics
 *     8  restore the device state from the input (k & 8: offered
 *        features, queue shape and ring addresses fixed up first so the
 *        checks behind them are reached); a refusal changes nothing
 * Rings: RX desc 0x0 avail 0x1000 used 0x1400, TX desc 0x2000 avail
 * 0x3000 used 0x3400; buffers anywhere in the 64 KiB of RAM (exactly
 * sized: ASan sees any access outside). */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "virtio.h"

#define RAM_SIZE 0x10000ULL

static struct guest_mem mem;
static uint8_t frame[VIRTIO_NET_MAX_FRAME + 0x20000];

struct run {
	struct virtio_net *net;
	struct virtio_mmio *t;
	int peer;
	uint64_t features;
	uint16_t mtu;
	uint16_t size[2];
};

static void wr(struct run *r, uint64_t off, uint32_t v)
{
	virtio_mmio_write(r->t, off, (const uint8_t *)&v, 4);
}

static void bring_up(struct run *r)
{
	static const uint64_t rings[2][3] = { { 0x0, 0x1000, 0x1400 }, { 0x2000, 0x3000, 0x3400 } };

	wr(r, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(r, VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(r, VMMIO_DRIVER_FEATURES, (uint32_t)r->features);
	wr(r, VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(r, VMMIO_DRIVER_FEATURES, (uint32_t)(r->features >> 32));
	wr(r, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 2; q++) {
		wr(r, VMMIO_QUEUE_SEL, q);
		wr(r, VMMIO_QUEUE_NUM, r->size[q]);
		wr(r, VMMIO_QUEUE_DESC_LOW, (uint32_t)rings[q][0]);
		wr(r, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)rings[q][1]);
		wr(r, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)rings[q][2]);
		wr(r, VMMIO_QUEUE_READY, 1);
	}
	wr(r, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

static uint64_t max_tx_frame(const struct run *r)
{
	uint64_t tso = VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |
		       VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO);

	if (r->t->state.driver_features & tso)
		return VIRTIO_NET_MAX_FRAME - VIRTIO_NET_HDR_LEN;
	return 18 + (r->mtu ? r->mtu : 1500);
}

static void drain(struct run *r)
{
	for (;;) {
		ssize_t n = recv(r->peer, frame, sizeof(frame), MSG_DONTWAIT);

		if (n < 0)
			return;
		if ((uint64_t)n < VIRTIO_NET_HDR_LEN || (uint64_t)n - VIRTIO_NET_HDR_LEN > max_tx_frame(r))
			abort();
	}
}

static void check_used_rings(const struct run *r)
{
	for (unsigned q = 0; q < 2; q++) {
		const struct virtq *vq = &r->t->state.queues[q];

		if (vq->ready && (!fz_in_ram(&mem, vq->used_hva, 6 + 8ULL * vq->size) ||
				  vq->size > 256))
			abort();
	}
}

static void sink_put(struct metric_sink *sink, const char *name, uint64_t value)
{
	(void)sink;
	(void)value;
	if (!name || !name[0])
		abort();
}

static void op(struct run *r, struct fz *in)
{
	uint8_t k = fz_u8(in);

	switch (k % 9) {
	case 0: {
		size_t len = fz_u16(in) + ((k & 8) ? 0x10000u : 0), got;
		const uint8_t *p;

		if (len > sizeof(frame))
			len = sizeof(frame);
		p = fz_bytes(in, len, &got);
		memcpy(frame, p, got);
		memset(frame + got, 0, len - got);
		/* A full socket (the device is not reading) drops it. */
		(void)send(r->peer, frame, len, MSG_DONTWAIT);
		break;
	}
	case 1: {
		uint16_t gpa = fz_u16(in);
		size_t len = fz_u8(in), got;
		const uint8_t *p = fz_bytes(in, len, &got);

		fz_mem_fill(&mem, gpa, p, got);
		break;
	}
	case 2: wr(r, VMMIO_QUEUE_NOTIFY, 0); break;
	case 3: wr(r, VMMIO_QUEUE_NOTIFY, 1); break;
	case 4: drain(r); break;
	case 5:
		drain(r);   /* frames sent under the old features are checked against them */
		wr(r, VMMIO_STATUS, 0);
		bring_up(r);
		break;
	case 6: {   /* config space: mac, status, pairs, mtu (and past it) */
		uint8_t b[8];
		uint64_t off = VIRTIO_MMIO_CONFIG + fz_u8(in) % 16;
		unsigned len = 1u << ((k >> 3) & 3);

		if (k & 32) {
			uint64_t v = fz_u64(in);

			memcpy(b, &v, 8);
			virtio_mmio_write(r->t, off, b, len);
		} else {
			virtio_mmio_read(r->t, off, b, len);
		}
		break;
	}
	case 7: {   /* snapshot: quiesce, save, restore what was saved */
		static uint8_t buf[4096];
		size_t n = virtio_device_state_size(r->t);
		struct metric_sink sink = { .put = sink_put };
		char err[256] = "";

		if (n > sizeof(buf) || virtio_device_quiesce(r->t) ||
		    virtio_device_save(r->t, buf, n))
			abort();
		if (virtio_device_restore(r->t, buf, n, err, sizeof(err))) {
			fprintf(stderr, "saved state refused: %s\n", err);
			abort();
		}
		virtio_device_restored(r->t);
		virtio_device_ops_net.metrics(r->t, &sink);
		break;
	}
	default: {  /* restore a state from the input (k & 8: shape fixed up) */
		static uint8_t buf[4096];

		drain(r);   /* a restore may change the negotiated features */
		struct virtio_mmio_saved sv;
		size_t n = virtio_device_state_size(r->t), got;
		const uint8_t *p = fz_bytes(in, n, &got);
		static struct virtio_mmio_state before;
		char err[256] = "";

		if (n > sizeof(buf))
			abort();
		memset(buf, 0, n);
		memcpy(buf, p, got);
		if (k & 8) {
			memcpy(&sv, buf, sizeof(sv));
			sv.device_features = r->t->device_features;
			sv.driver_features &= r->t->device_features;
			sv.nr_queues = 2;
			sv.status &= 0xff;
			for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
				sv.queues[i].max_size = r->t->state.queues[i].max_size;
				sv.queues[i].ready &= 1;
				sv.queues[i].event_idx &= 1;
				sv.queues[i].indirect &= 1;
				sv.queues[i].broken &= 1;
				sv.queues[i].signalled_used_valid &= 1;
				sv.queues[i].desc_addr &= 0xfff0;
				sv.queues[i].avail_addr &= 0xfffe;
				sv.queues[i].used_addr &= 0xfffc;
			}
			memcpy(buf, &sv, sizeof(sv));
		}
		before = r->t->state;
		if (virtio_device_restore(r->t, buf, n, err, sizeof(err)) == 0)
			virtio_device_restored(r->t);
		else if (!err[0] || memcmp(&before, &r->t->state, sizeof(before)))
			abort();
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct net_config c;
	struct run r;
	struct fz in;
	char err[256];
	unsigned nops = 0;
	int sv[2];

	if (!init) {
		static const struct fz_region_spec spec[] = { { 0, RAM_SIZE } };

		fz_mem_init(&mem, spec, 1);
		log_set_level(LOG_DEBUG);
		if (log_set_path("/dev/null"))
			abort();
		init = true;
	}
	fz_init(&in, data, size);
	memset(&r, 0, sizeof(r));
	r.features = fz_u64(&in);
	r.mtu = fz_u16(&in);
	r.size[0] = (uint16_t)(1u << (fz_u8(&in) % 9));
	r.size[1] = (uint16_t)(1u << (fz_u8(&in) % 9));
	fz_mem_clear(&mem);

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	r.peer = sv[1];
	memset(&c, 0, sizeof(c));
	snprintf(c.iface_id, sizeof(c.iface_id), "eth0");
	snprintf(c.host_dev_name, sizeof(c.host_dev_name), "tap-fuzz");
	c.has_mac = true;
	memcpy(c.guest_mac, "\x02\x00\x00\x00\x00\x01", 6);
	c.mtu = r.mtu;
	if (virtio_net_create_fd(&c, sv[0], &mem, NULL, &r.net, err, sizeof(err)) < 0)
		abort();
	r.t = virtio_net_transport(r.net);
	bring_up(&r);
	while (in.left && nops++ < 1024) {
		op(&r, &in);
		check_used_rings(&r);
	}
	/* Whatever is still queued goes out now. */
	wr(&r, VMMIO_QUEUE_NOTIFY, 1);
	wr(&r, VMMIO_QUEUE_NOTIFY, 0);
	drain(&r);
	if (getenv("FUZZ_VERBOSE")) {   /* for writing seeds */
		struct virtio_net_stats st;

		virtio_net_get_stats(r.net, &st);
		fprintf(stderr, "status 0x%x rx %llu pkts %llu drops %llu errs %llu wait; "
			"tx %llu pkts %llu drops %llu errs %llu oversized\n", r.t->state.status,
			(unsigned long long)st.rx_packets, (unsigned long long)st.rx_drops,
			(unsigned long long)st.rx_errors, (unsigned long long)st.rx_wait_buffers,
			(unsigned long long)st.tx_packets, (unsigned long long)st.tx_drops,
			(unsigned long long)st.tx_errors, (unsigned long long)st.tx_oversized);
	}
	virtio_net_destroy(r.net);
	close(r.peer);
	return 0;
}
