/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_blk_bench.c — `blk-bench`: keeps wtest.qd requests of wtest.bs
 * bytes in flight on device 0 for wtest.secs seconds of guest (TSC) time
 * and prints
 *   BENCH blk mode=M bs=B qd=Q ops=N bytes=X usecs=T
 * Modes: randread (LCG over the capacity in bs-aligned blocks), seqread,
 * seqwrite (wraps at the end of the disk). Each request is a 3-descriptor
 * chain with one data descriptor over its own contiguous bs-byte buffer.
 * Completions are polled (no interrupts).
 */
#include "vio.h"

#define MAX_QD 32

static struct vblk disk;

void scen_blk_bench(void)
{
	const char *mode = param_str("mode", "randread");
	uint64_t bs = param_u64("bs", 4096), qd = param_u64("qd", 1);
	uint64_t secs = param_u64("secs", 2);
	uint64_t nblocks, next = 0, lcg = 0x9e3779b97f4a7c15ULL, ops = 0;
	uint64_t t0, t_end, t1, last_progress, khz;
	uint32_t type;
	bool rnd = false;
	void *bufs[MAX_QD];
	struct vq *q;

	if (!strcmp(mode, "randread")) {
		type = VBLK_T_IN;
		rnd = true;
	} else if (!strcmp(mode, "seqread")) {
		type = VBLK_T_IN;
	} else if (!strcmp(mode, "seqwrite")) {
		type = VBLK_T_OUT;
	} else {
		wtest_fail("wtest.mode=%s: expected randread, seqread or seqwrite", mode);
	}
	if (bs < SECTOR || bs > (1u << 20) || bs % SECTOR)
		wtest_fail("wtest.bs=%lu: expected a multiple of 512 in 512..1048576",
			   (unsigned long)bs);
	if (qd < 1 || qd > MAX_QD)
		wtest_fail("wtest.qd=%lu: expected 1..%u", (unsigned long)qd, MAX_QD);
	if (secs < 1 || secs > 3600)
		wtest_fail("wtest.secs=%lu: expected 1..3600", (unsigned long)secs);
	khz = tsc_per_ms();
	if (vblk_open(&disk, 0, VBLK_WANT, 256, (unsigned)qd) < 0)
		wtest_fail("device 0: %s", disk.v.err);
	if (type == VBLK_T_OUT && disk.ro)
		wtest_fail("seqwrite on a read-only device");
	q = &disk.v.q[0];
	nblocks = disk.capacity * SECTOR / bs;
	if (!nblocks)
		wtest_fail("disk of %lu sectors is smaller than one %lu-byte block",
			   (unsigned long)disk.capacity, (unsigned long)bs);
	if (qd > disk.nslots)
		qd = disk.nslots;
	for (unsigned i = 0; i < qd; i++) {
		bufs[i] = ram_alloc(bs, 4096);
		if (!bufs[i]) {
			if (!i)
				wtest_fail("out of memory for a %lu-byte buffer", (unsigned long)bs);
			printk("blk-bench: memory for %u buffers only; qd %u\n", i, i);
			qd = i;
			break;
		}
	}
	printk("blk-bench: mode %s bs %lu qd %lu for %lu s on %lu blocks\n", mode,
	       (unsigned long)bs, (unsigned long)qd, (unsigned long)secs, (unsigned long)nblocks);

	t0 = rdtsc();
	t_end = t0 + secs * 1000 * khz;
	last_progress = t0;
	for (unsigned i = 0; i < qd; i++) {
		uint64_t blk;

		if (rnd) {
			lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
			blk = (lcg >> 33) % nblocks;
		} else {
			blk = next++;
			if (next == nblocks)
				next = 0;
		}
		vblk_queue(&disk, i, type, blk * (bs / SECTOR), bufs[i], (uint32_t)bs, false);
	}
	vq_kick(q);
	for (;;) {
		uint32_t id, len;
		uint64_t now = rdtsc();
		bool more = now < t_end, any = false;

		while (vq_used(q, &id, &len)) {
			unsigned slot = id / 3;
			uint64_t blk;

			if (id % 3 || slot >= qd)
				wtest_fail("used element with id %u", id);
			if (disk.slots[slot].status != VBLK_S_OK)
				wtest_fail("request at sector %lu: status %u",
					   (unsigned long)disk.slots[slot].hdr.sector,
					   disk.slots[slot].status);
			ops++;
			any = true;
			if (!more)
				continue;
			if (rnd) {
				lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
				blk = (lcg >> 33) % nblocks;
			} else {
				blk = next++;
				if (next == nblocks)
					next = 0;
			}
			vblk_requeue(&disk, slot, blk * (bs / SECTOR));
		}
		if (any) {
			last_progress = now;
			vq_kick(q);
		}
		if (!vq_in_flight(q))
			break;
		if (now - last_progress > 10000 * khz)
			wtest_fail("no completion for 10 s (%u in flight, status 0x%x)",
				   vq_in_flight(q), vio_status(&disk.v));
		cpu_relax();
	}
	t1 = rdtsc();
	printk("BENCH blk mode=%s bs=%lu qd=%lu ops=%lu bytes=%lu usecs=%lu\n", mode,
	       (unsigned long)bs, (unsigned long)qd, (unsigned long)ops,
	       (unsigned long)(ops * bs), (unsigned long)((t1 - t0) * 1000 / khz));
	wtest_pass();
}
