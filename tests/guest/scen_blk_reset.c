/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_blk_reset.c — `blk-reset`: device resets with requests in flight.
 *
 * Device 0 is a raw disk with the host pattern. Each round queues reads in
 * every slot (64 KiB each), kicks, and at once writes status 0; it then
 * waits (up to 5 s) for Status to read 0, as virtio 1.2 §2.4 asks of the
 * driver — the device may take a while to retire what was in flight — and
 * sets the device up again on the same rings. No used element may appear
 * for the requests of before the reset. After the rounds, every slot reads
 * its sectors again and checks them against the pattern.
 * Prints "blk-reset: R rounds, S saw Status non-zero after the reset (at
 * most N reads)". Parameters: wtest.rounds=R (20).
 */
#include "vio.h"

#define NSLOTS 16
#define SLOT_SECTORS 128          /* 64 KiB per request */

static struct vblk disk;

static uint16_t used_idx(const struct vq *q)
{
	return *(volatile const uint16_t *)(q->used + 2);
}

static uint16_t avail_event(const struct vq *q)
{
	return *(volatile const uint16_t *)(q->used + 4 + 8 * (unsigned)q->size);
}

static void open_disk(void)
{
	if (vblk_open(&disk, 0, VBLK_WANT, 256, NSLOTS) < 0)
		wtest_fail("device 0: %s", disk.v.err);
	if (disk.nslots < NSLOTS)
		wtest_fail("device 0: only %u slots", disk.nslots);
	if (disk.capacity < NSLOTS * SLOT_SECTORS)
		wtest_fail("device 0: %lu sectors, need %u", (unsigned long)disk.capacity,
			   NSLOTS * SLOT_SECTORS);
	vq_poll_mode(&disk.v.q[0]);
}

void scen_blk_reset(void)
{
	unsigned rounds = (unsigned)param_u64("rounds", 20);
	unsigned saw_busy = 0, max_reads = 0;
	uint8_t *buf;

	pattern_init();
	open_disk();
	buf = ram_alloc((uint64_t)NSLOTS * SLOT_SECTORS * SECTOR, 4096);
	if (!buf)
		wtest_fail("out of memory for buffers");
	for (unsigned r = 0; r < rounds; r++) {
		struct vq *q = &disk.v.q[0];
		unsigned reads = 0;
		uint64_t deadline;

		for (unsigned s = 0; s < NSLOTS; s++)
			vblk_queue(&disk, s, VBLK_T_IN, (uint64_t)((s + r) % NSLOTS) * SLOT_SECTORS,
				   buf + (uint64_t)s * SLOT_SECTORS * SECTOR, SLOT_SECTORS * SECTOR,
				   false);
		vq_kick(q);
		/* Reset once the device has taken them all (it writes
		 * avail_event when it re-arms notifications): they are then in
		 * flight, or already done but not yet retired. */
		deadline = now_us() + 1000000;
		while (q->event_idx && avail_event(q) != q->avail_idx && now_us() < deadline)
			cpu_relax();
		vio_write(&disk.v, VIO_STATUS, 0);
		deadline = now_us() + 5000000;
		while (vio_read(&disk.v, VIO_STATUS) != 0) {
			reads++;
			if (now_us() > deadline)
				wtest_fail("round %u: Status still 0x%x 5 s after the reset", r,
					   vio_read(&disk.v, VIO_STATUS));
			cpu_relax();
		}
		if (reads) {
			saw_busy++;
			if (reads > max_reads)
				max_reads = reads;
		}
		open_disk();
		/* Whatever the device still had of the old requests must not
		 * reach the new rings. */
		delay_us(2000);
		if (used_idx(q) != 0)
			wtest_fail("round %u: %u used elements in the new ring before any request",
				   r, used_idx(q));
	}
	/* The device serves reads after all that. */
	memset(buf, 0, (uint64_t)NSLOTS * SLOT_SECTORS * SECTOR);
	for (unsigned s = 0; s < NSLOTS; s++)
		vblk_queue(&disk, s, VBLK_T_IN, (uint64_t)s * SLOT_SECTORS,
			   buf + (uint64_t)s * SLOT_SECTORS * SECTOR, SLOT_SECTORS * SECTOR, false);
	vq_kick(&disk.v.q[0]);
	for (unsigned n = 0; n < NSLOTS; n++) {
		int slot = vblk_wait(&disk, 5000000);

		if (slot < 0)
			wtest_fail("read after the resets: %d", slot);
		if (disk.slots[slot].status != VBLK_S_OK)
			wtest_fail("read after the resets: slot %d status %u", slot,
				   disk.slots[slot].status);
	}
	for (unsigned s = 0; s < NSLOTS; s++) {
		int64_t off = pattern_check_host(buf + (uint64_t)s * SLOT_SECTORS * SECTOR,
						 (uint64_t)s * SLOT_SECTORS, SLOT_SECTORS);

		if (off >= 0)
			wtest_fail("slot %u: byte %ld differs from the host pattern", s, (long)off);
	}
	printk("blk-reset: %u rounds, %u saw Status non-zero after the reset (at most %u reads)\n",
	       rounds, saw_busy, max_reads);
	wtest_pass();
}
