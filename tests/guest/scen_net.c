/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_net.c — virtio-net scenarios on device 0 (queue 0 RX, queue 1 TX).
 *
 *   net        wtest.ip=A.B.C.D [wtest.count=5] [wtest.timeout=30]: answers
 *              ARP requests for the address and ICMP echo requests to it;
 *              `net: echo reply K` per reply, PASS after count replies.
 *   net-burst  [wtest.count=1000] [wtest.size=1000]: count broadcast frames
 *              of size bytes (Ethernet header included), ethertype 0x88b5,
 *              payload = 4-byte big-endian sequence number (0, 1, ...) then
 *              filler byte (uint8_t)k at frame offset k.
 *   net-bench  [wtest.secs=2] [wtest.size=1514]: the same frames for secs
 *              seconds; `BENCH net frames=N bytes=X usecs=T`.
 *
 * Features: VERSION_1, EVENT_IDX, MAC, MRG_RXBUF (RX buffers of 2 KiB, so
 * a frame from a 1500-byte-MTU tap always fits one buffer). Every header
 * is 12 bytes (virtio_net_hdr_v1) and zero on TX (no offloads).
 * TX slot i owns descriptors 2i (its own 2 KiB buffer: virtio header +
 * frame, or header + first 18 frame bytes) and 2i+1 (for burst/bench: the
 * shared read-only filler). Everything is polled.
 * vnet_open/vnet_serve/vnet_tx_frame/vnet_tx_wait are shared with `snap`.
 */
#include "vio.h"

#define VNET_F_MAC       5
#define VNET_F_MRG_RXBUF 15
#define VNET_HDR         12
#define BUF_SIZE         2048
#define RXQ              0
#define TXQ              1
#define MAX_RX           64
#define MAX_TX           128
#define ETH_HLEN         14
#define ETH_P_BURST      0x88b5

static struct vdev nd;
static uint8_t mac[6];
static uint8_t *rxbuf[MAX_RX], *txbuf[MAX_TX];
static unsigned nrx, ntx;
static uint16_t tx_free[MAX_TX];
static unsigned ntx_free;

struct vdev *vnet_open(unsigned dev, bool rx)
{
	uint64_t want = VBIT(VF_VERSION_1) | VBIT(VF_EVENT_IDX) | VBIT(VNET_F_MAC) |
			VBIT(VNET_F_MRG_RXBUF);

	if (vio_probe(&nd, dev) < 0)
		wtest_fail("device %u: %s", dev, nd.err);
	if (nd.device_id != VIRTIO_ID_NET)
		wtest_fail("device %u at 0x%lx is device id %u, not network", dev,
			   (unsigned long)nd.base, nd.device_id);
	if (vio_setup(&nd, want, 2, 256) < 0)
		wtest_fail("device %u: %s", dev, nd.err);
	if (vio_has(&nd, VNET_F_MAC)) {
		for (unsigned i = 0; i < 6; i++)
			mac[i] = vio_cfg8(&nd, i);
	} else {
		static const uint8_t dflt[6] = { 0x06, 0x00, 0x00, 0x00, 0x00, 0x01 };

		memcpy(mac, dflt, 6);
		printk("net: device offers no MAC, using 06:00:00:00:00:01\n");
	}
	printk("net: device %u at 0x%lx irq %u, mac %02x:%02x:%02x:%02x:%02x:%02x, features 0x%lx of 0x%lx, queues %u/%u\n",
	       dev, (unsigned long)nd.base, nd.irq, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
	       (unsigned long)nd.features, (unsigned long)nd.offered, nd.q[RXQ].size,
	       nd.q[TXQ].size);

	ntx = nd.q[TXQ].size / 2 < MAX_TX ? nd.q[TXQ].size / 2 : MAX_TX;
	for (unsigned i = 0; i < ntx; i++) {
		txbuf[i] = ram_alloc(BUF_SIZE, 64);
		if (!txbuf[i])
			wtest_fail("out of memory");
		memset(txbuf[i], 0, VNET_HDR);
		tx_free[ntx_free++] = (uint16_t)i;
	}
	if (!rx)
		return &nd;
	nrx = nd.q[RXQ].size < MAX_RX ? nd.q[RXQ].size : MAX_RX;
	for (unsigned i = 0; i < nrx; i++) {
		rxbuf[i] = ram_alloc(BUF_SIZE, 64);
		if (!rxbuf[i])
			wtest_fail("out of memory");
		nd.q[RXQ].desc[i] = (struct vring_desc){ (uint64_t)(uintptr_t)rxbuf[i], BUF_SIZE,
							 VD_WRITE, 0 };
		vq_add(&nd.q[RXQ], (uint16_t)i);
	}
	vq_kick(&nd.q[RXQ]);
	return &nd;
}

static void net_open(bool rx)
{
	/* wtest.dev=N picks the virtio device (default 0, the first). */
	vnet_open((unsigned)param_u64("dev", 0), rx);
}

/* Take back finished TX slots; returns how many. */
static unsigned tx_reap(void)
{
	uint32_t id, len;
	unsigned n = 0;

	while (vq_used(&nd.q[TXQ], &id, &len)) {
		if (id % 2 || id / 2 >= ntx)
			wtest_fail("TX used element with id %u", id);
		tx_free[ntx_free++] = (uint16_t)(id / 2);
		n++;
	}
	return n;
}

/* ---------------- net: ARP and ICMP echo ---------------- */
static uint16_t csum(const uint8_t *p, unsigned len)
{
	uint32_t sum = 0;

	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

bool vnet_parse_ip(const char *s, uint8_t ip[4])
{
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v;
		const char *e;

		if (!parse_u64(s, &v, &e) || v > 255 || (i < 3 && *e != '.') || (i == 3 && *e))
			return false;
		ip[i] = (uint8_t)v;
		s = e + 1;
	}
	return true;
}

/* Send len bytes of frame (copied after a zero virtio header). */
bool vnet_tx_frame(const uint8_t *frame, unsigned len)
{
	unsigned slot;
	uint8_t *b;

	tx_reap();
	if (!ntx_free)
		return false;
	slot = tx_free[--ntx_free];
	b = txbuf[slot];
	memset(b, 0, VNET_HDR);
	memcpy(b + VNET_HDR, frame, len);
	if (len < 60) {
		memset(b + VNET_HDR + len, 0, 60 - len);
		len = 60;
	}
	nd.q[TXQ].desc[2 * slot] = (struct vring_desc){ (uint64_t)(uintptr_t)b, VNET_HDR + len, 0, 0 };
	vq_add(&nd.q[TXQ], (uint16_t)(2 * slot));
	vq_kick(&nd.q[TXQ]);
	return true;
}

static unsigned replies;

static void handle_frame(uint8_t *f, unsigned len, const uint8_t ip[4])
{
	static uint8_t out[1514];
	uint16_t type;

	if (len < ETH_HLEN)
		return;
	type = (uint16_t)(f[12] << 8 | f[13]);
	if (type == 0x0806 && len >= ETH_HLEN + 28) {
		uint8_t *a = f + ETH_HLEN;

		/* Ethernet/IPv4 ARP request for our address */
		if (a[0] != 0 || a[1] != 1 || a[2] != 8 || a[3] != 0 || a[4] != 6 || a[5] != 4 ||
		    a[6] != 0 || a[7] != 1 || memcmp(a + 24, ip, 4))
			return;
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		out[12] = 0x08;
		out[13] = 0x06;
		memcpy(out + 14, a, 6);
		out[20] = 0;
		out[21] = 2;                       /* reply */
		memcpy(out + 22, mac, 6);          /* sender: us */
		memcpy(out + 28, ip, 4);
		memcpy(out + 32, a + 8, 6);        /* target: the asker */
		memcpy(out + 38, a + 14, 4);
		if (!vnet_tx_frame(out, 42))
			printk("net: TX ring full, ARP reply dropped\n");
		return;
	}
	if (type == 0x0800 && len >= ETH_HLEN + 20) {
		uint8_t *h = f + ETH_HLEN, *icmp;
		unsigned ihl = (h[0] & 0xf) * 4u, tot = (unsigned)(h[2] << 8 | h[3]), ilen;

		if ((h[0] >> 4) != 4 || ihl < 20 || tot < ihl + 8 || ETH_HLEN + tot > len ||
		    h[9] != 1 || memcmp(h + 16, ip, 4) || (h[6] & 0x3f) || h[7])
			return;                    /* not an unfragmented ICMP to us */
		icmp = h + ihl;
		ilen = tot - ihl;
		if (icmp[0] != 8 || icmp[1] != 0)
			return;
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		memcpy(out + 12, f + 12, 2);
		memcpy(out + ETH_HLEN, h, tot);
		h = out + ETH_HLEN;
		memcpy(h + 12, ip, 4);             /* src: us */
		memcpy(h + 16, f + ETH_HLEN + 12, 4); /* dst: the pinger */
		h[8] = 64;                         /* TTL */
		h[10] = h[11] = 0;
		{
			uint16_t c = csum(h, ihl);

			h[10] = (uint8_t)(c >> 8);
			h[11] = (uint8_t)c;
		}
		icmp = h + ihl;
		icmp[0] = 0;                       /* echo reply */
		icmp[2] = icmp[3] = 0;
		{
			uint16_t c = csum(icmp, ilen);

			icmp[2] = (uint8_t)(c >> 8);
			icmp[3] = (uint8_t)c;
		}
		if (!vnet_tx_frame(out, ETH_HLEN + tot)) {
			printk("net: TX ring full, echo reply dropped\n");
			return;
		}
		printk("net: echo reply %u\n", ++replies);
	}
}

unsigned vnet_serve(const uint8_t *ip)
{
	struct vq *rq = &nd.q[RXQ];
	uint32_t id, len;
	bool reposted = false;

	while (vq_used(rq, &id, &len)) {
		uint8_t *b;
		uint16_t nbufs;

		if (id >= nrx)
			wtest_fail("RX used element with id %u", id);
		b = rxbuf[id];
		nbufs = (uint16_t)(b[10] | b[11] << 8);
		if (ip && len >= VNET_HDR && len <= BUF_SIZE && nbufs <= 1)
			handle_frame(b + VNET_HDR, len - VNET_HDR, ip);
		vq_add(rq, (uint16_t)id);
		reposted = true;
		/* A frame spread over several buffers (never from a
		 * 1500-MTU tap): drop it, recycling its buffers. */
		for (uint16_t k = 1; k < nbufs && vio_has(&nd, VNET_F_MRG_RXBUF); k++) {
			while (!vq_used(rq, &id, &len))
				cpu_relax();
			if (id >= nrx)
				wtest_fail("RX used element with id %u", id);
			vq_add(rq, (uint16_t)id);
		}
	}
	if (reposted)
		vq_kick(rq);
	tx_reap();
	return replies;
}

bool vnet_tx_wait(uint64_t timeout_ms)
{
	uint64_t deadline = rdtsc() + timeout_ms * tsc_per_ms();

	while (vq_in_flight(&nd.q[TXQ]) && rdtsc() < deadline) {
		tx_reap();
		cpu_relax();
	}
	return !vq_in_flight(&nd.q[TXQ]);
}

const uint8_t *vnet_mac(void)
{
	return mac;
}

void scen_net(void)
{
	const char *ips = param_str("ip", NULL);
	uint64_t count = param_u64("count", 5), timeout = param_u64("timeout", 30);
	uint64_t deadline, khz;
	uint8_t ip[4];

	if (!ips || !vnet_parse_ip(ips, ip))
		wtest_fail("wtest.ip=A.B.C.D is required (got '%s')", ips ? ips : "");
	khz = tsc_per_ms();
	net_open(true);
	printk("net: answering ARP and ICMP echo for %u.%u.%u.%u\n", ip[0], ip[1], ip[2], ip[3]);
	deadline = rdtsc() + timeout * 1000 * khz;
	while (vnet_serve(ip) < count) {
		if (rdtsc() > deadline) {
			printk("net: timeout after %u replies\n", replies);
			wtest_fail("timeout after %u replies", replies);
		}
		cpu_relax();
	}
	/* Let the last reply leave before the reset. */
	vnet_tx_wait(1000);
	wtest_pass();
}

/* ---------------- net-burst / net-bench ---------------- */
static uint8_t *filler;

static unsigned frame_size(uint64_t dflt)
{
	uint64_t size = param_u64("size", dflt);

	if (size < 60 || size > 1514)
		wtest_fail("wtest.size=%lu: expected 60..1514", (unsigned long)size);
	return (unsigned)size;
}

/* Pre-build every TX slot: header + Ethernet header + sequence number in
 * descriptor 2i, the shared filler in 2i+1. */
static void burst_prepare(unsigned size)
{
	unsigned flen = size - ETH_HLEN - 4;

	filler = ram_alloc(flen, 64);
	if (!filler)
		wtest_fail("out of memory");
	for (unsigned k = 0; k < flen; k++)
		filler[k] = (uint8_t)(ETH_HLEN + 4 + k);
	for (unsigned i = 0; i < ntx; i++) {
		uint8_t *b = txbuf[i];

		memset(b, 0, VNET_HDR);
		memset(b + VNET_HDR, 0xff, 6);
		memcpy(b + VNET_HDR + 6, mac, 6);
		b[VNET_HDR + 12] = ETH_P_BURST >> 8;
		b[VNET_HDR + 13] = ETH_P_BURST & 0xff;
		nd.q[TXQ].desc[2 * i] = (struct vring_desc){ (uint64_t)(uintptr_t)b,
							     VNET_HDR + ETH_HLEN + 4, VD_NEXT,
							     (uint16_t)(2 * i + 1) };
		nd.q[TXQ].desc[2 * i + 1] = (struct vring_desc){ (uint64_t)(uintptr_t)filler, flen,
								 0, 0 };
	}
}

/* Send frames until `count` are sent or the TSC passes t_end; returns the
 * frames sent (all completed). */
static uint64_t burst(uint64_t count, uint64_t t_end)
{
	struct vq *q = &nd.q[TXQ];
	uint64_t sent = 0, khz = tsc_per_ms(), last = rdtsc();

	for (;;) {
		uint64_t now = rdtsc();
		bool added = false;

		if (tx_reap())
			last = now;
		while (ntx_free && sent < count && now < t_end) {
			unsigned slot = tx_free[--ntx_free];
			uint8_t *seq = txbuf[slot] + VNET_HDR + ETH_HLEN;

			seq[0] = (uint8_t)(sent >> 24);
			seq[1] = (uint8_t)(sent >> 16);
			seq[2] = (uint8_t)(sent >> 8);
			seq[3] = (uint8_t)sent;
			vq_add(q, (uint16_t)(2 * slot));
			sent++;
			added = true;
		}
		if (added)
			vq_kick(q);
		if ((sent == count || now >= t_end) && !vq_in_flight(q))
			return sent;
		if (now - last > 10000 * khz)
			wtest_fail("no TX completion for 10 s (%lu sent, %u in flight, status 0x%x)",
				   (unsigned long)sent, vq_in_flight(q), vio_status(&nd));
		cpu_relax();
	}
}

void scen_net_burst(void)
{
	uint64_t count = param_u64("count", 1000), t0, t1, khz;
	unsigned size = frame_size(1000);

	khz = tsc_per_ms();
	net_open(false);
	burst_prepare(size);
	t0 = rdtsc();
	burst(count, ~0ULL);
	t1 = rdtsc();
	printk("net-burst: sent %lu frames of %u bytes in %lu us\n", (unsigned long)count, size,
	       (unsigned long)((t1 - t0) * 1000 / khz));
	wtest_pass();
}

void scen_net_bench(void)
{
	uint64_t secs = param_u64("secs", 2), t0, t1, n, khz;
	unsigned size = frame_size(1514);

	if (secs < 1 || secs > 3600)
		wtest_fail("wtest.secs=%lu: expected 1..3600", (unsigned long)secs);
	khz = tsc_per_ms();
	net_open(false);
	burst_prepare(size);
	t0 = rdtsc();
	n = burst(~0ULL, t0 + secs * 1000 * khz);
	t1 = rdtsc();
	printk("BENCH net frames=%lu bytes=%lu usecs=%lu\n", (unsigned long)n,
	       (unsigned long)(n * size), (unsigned long)((t1 - t0) * 1000 / khz));
	wtest_pass();
}
