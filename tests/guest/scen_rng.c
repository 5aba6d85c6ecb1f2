/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_rng.c — `rng`: reads wtest.bytes (65536) bytes of entropy from the
 * first virtio-rng device (device id 4) in wtest.chunk-byte (4096)
 * requests, wtest.qd (4) of them in flight, completions polled, into a
 * buffer of at most 256 KiB used round and round. Prints "rng: <bytes>
 * bytes in ..." just before the first request and, as soon as the last
 * answer is in,
 *   BENCH rng bytes=X reqs=N usecs=T
 * (guest TSC time). Then checks that every request was answered in full
 * and that the first 8 KiB of the buffer (zeroed before) are not all zero,
 * not one repeated value, and hold most of the 256 byte values.
 */
#include "vio.h"

#define RNG_MAX_QD 16
/* Requests land in a buffer of at most this size, used round and round;
 * the checks look at its first RNG_CHECK_MAX bytes (guest instructions are
 * slow under PVM's emulation). */
#define RNG_BUF_MAX (256 * 1024)
#define RNG_CHECK_MAX (8 * 1024)
#define VIRTIO_ID_RNG 4

static struct vdev rng;

static int find_rng(void)
{
	for (unsigned i = 0; i < MAX_VIRTIO; i++) {
		if (vio_probe(&rng, i) < 0)
			return -1;
		if (rng.device_id == VIRTIO_ID_RNG)
			return (int)i;
	}
	return -1;
}

void scen_rng(void)
{
	uint64_t total = param_u64("bytes", 65536), chunk = param_u64("chunk", 4096);
	uint64_t qd = param_u64("qd", 4), khz, t0, t1, last, queued = 0, got = 0, reqs = 0;
	uint64_t bufsz, check;
	static unsigned counts[256];
	unsigned distinct = 0, maxcount = 0;
	uint8_t *buf;
	struct vq *q;
	bool nonzero = false;

	if (chunk < 1 || chunk > 65536)
		wtest_fail("wtest.chunk=%lu: expected 1..65536", (unsigned long)chunk);
	if (total < chunk || total > (1ull << 40))
		wtest_fail("wtest.bytes=%lu: expected chunk..1 TiB", (unsigned long)total);
	if (qd < 1 || qd > RNG_MAX_QD)
		wtest_fail("wtest.qd=%lu: expected 1..%u", (unsigned long)qd, RNG_MAX_QD);
	if (find_rng() < 0)
		wtest_fail("no virtio-rng device");
	if (vio_setup(&rng, VBIT(VF_VERSION_1) | VBIT(VF_EVENT_IDX), 1, 256) < 0)
		wtest_fail("virtio-rng: %s", rng.err);
	q = &rng.q[0];
	/* a whole number of chunks, one per slot at least */
	bufsz = total < RNG_BUF_MAX ? total : RNG_BUF_MAX / chunk * chunk;
	if (bufsz < qd * chunk && total > bufsz)
		bufsz = qd * chunk;
	buf = ram_alloc(bufsz, 4096);
	if (!buf)
		wtest_fail("out of memory for %lu bytes", (unsigned long)bufsz);
	for (uint64_t i = 0; i < bufsz; i++)
		buf[i] = 0;
	khz = tsc_per_ms();
	printk("rng: %lu bytes in %lu-byte requests, %lu in flight\n", (unsigned long)total,
	       (unsigned long)chunk, (unsigned long)qd);
	t0 = rdtsc();
	last = t0;
	while (got < total) {
		uint32_t id, len;
		bool add = false;

		/* descriptor i serves the request at buffer offset i * chunk
		 * modulo qd; slots are reused once answered */
		while (vq_in_flight(q) < qd && queued < total) {
			uint16_t slot = (uint16_t)((queued / chunk) % qd);
			uint64_t n = total - queued < chunk ? total - queued : chunk;

			q->desc[slot].addr = (uint64_t)(uintptr_t)(buf + queued % bufsz);
			q->desc[slot].len = (uint32_t)n;
			q->desc[slot].flags = VD_WRITE;
			q->desc[slot].next = 0;
			vq_add(q, slot);
			queued += n;
			add = true;
		}
		if (add)
			vq_kick(q);
		while (vq_used(q, &id, &len)) {
			if (id >= qd)
				wtest_fail("used element with id %u", id);
			if (len != q->desc[id].len)
				wtest_fail("request of %u bytes answered with %u", q->desc[id].len, len);
			got += len;
			reqs++;
			last = rdtsc();
		}
		if (vio_status(&rng) & VS_NEEDS_RESET)
			wtest_fail("device needs reset");
		if (rdtsc() - last > 20000 * khz)
			wtest_fail("no answer for 20 s (%lu of %lu bytes)", (unsigned long)got,
				   (unsigned long)total);
		cpu_relax();
	}
	t1 = rdtsc();
	/* printed at once: the host times the run from the line above to this one */
	printk("BENCH rng bytes=%lu reqs=%lu usecs=%lu\n", (unsigned long)got, (unsigned long)reqs,
	       (unsigned long)((t1 - t0) * 1000 / khz));
	for (unsigned v = 0; v < 256; v++)
		counts[v] = 0;
	check = bufsz < RNG_CHECK_MAX ? bufsz : RNG_CHECK_MAX;
	for (uint64_t i = 0; i < check; i++) {
		counts[buf[i]]++;
		if (buf[i])
			nonzero = true;
	}
	for (unsigned v = 0; v < 256; v++) {
		if (counts[v])
			distinct++;
		if (counts[v] > maxcount)
			maxcount = counts[v];
	}
	if (!nonzero)
		wtest_fail("all %lu bytes are zero", (unsigned long)check);
	if (distinct == 1)
		wtest_fail("all %lu bytes are 0x%02x", (unsigned long)check, buf[0]);
	/* 4 KiB or more of random bytes hit (nearly) every value */
	if (check >= 4096 && distinct < 200)
		wtest_fail("only %u distinct byte values in %lu bytes", distinct,
			   (unsigned long)check);
	printk("rng: %u distinct byte values, most frequent %u times\n", distinct, maxcount);
	wtest_pass();
}
