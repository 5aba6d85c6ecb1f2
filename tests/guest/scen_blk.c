/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_blk.c — `blk`: the virtio-blk functional scenario.
 *
 * Device 0 is a read-write raw disk the host filled with byte j of sector s
 * = (uint8_t)(s*7 + j). The guest reads sectors 0..N-1 (8 per request; the
 * first request completes by interrupt), writes N..2N-1 with
 * (uint8_t)((s*13 + j + 1) ^ 0x5a), flushes, reads them back through
 * indirect descriptors, asks GET_ID, reads one sector past the end (IOERR
 * expected) and, when device 1 is a read-only block device, checks that a
 * write to it fails with IOERR and leaves it unchanged.
 * Parameters: wtest.sectors=N (64), wtest.id=STRING (no check).
 */
#include "vio.h"

#define CHUNK 8   /* sectors per request */

static struct vblk disk, rodisk;

static void check_read(const void *buf, uint64_t first, unsigned n, bool ours)
{
	int64_t off = ours ? pattern_check_ours(buf, first, n) : pattern_check_host(buf, first, n);

	if (off >= 0) {
		uint64_t s = first + (uint64_t)off / SECTOR;

		wtest_fail("sector %lu byte %lu: read 0x%02x, expected 0x%02x",
			   (unsigned long)s, (unsigned long)(off % SECTOR),
			   ((const uint8_t *)buf)[off],
			   ours ? pattern_ours_byte(first, (uint64_t)off)
				: pattern_host_byte(first, (uint64_t)off));
	}
}

static void expect_ok(int st, const char *what, uint64_t sector)
{
	if (st != VBLK_S_OK)
		wtest_fail("%s at sector %lu: status %d", what, (unsigned long)sector, st);
}

/* The first read completes by interrupt: IOAPIC pin = the device's IRQ,
 * vector VEC_VIRTIO + 0; the handler acks InterruptStatus. */
static void first_read_by_irq(struct vblk *b, void *buf, unsigned n)
{
	struct vq *q = &b->v.q[0];
	uint64_t deadline;
	uint32_t isr;
	int r;

	isr = vio_read(&b->v, VIO_INT_STATUS);
	if (isr)
		vio_write(&b->v, VIO_INT_ACK, isr);
	vio_irq_route(&b->v);
	vq_irq_mode(q);
	sti();
	/* An edge the device raised for an earlier (polled) request may be
	 * latched in the IOAPIC while the pin was unrouted, and arrives now
	 * with InterruptStatus already acked (0): a legitimate spurious
	 * interrupt (Linux's handler returns IRQ_NONE). Wait for the one that
	 * carries the used-buffer bit. */
	b->v.last_isr = 0;
	vblk_queue(b, 0, VBLK_T_IN, 0, buf, n * SECTOR, false);
	vq_kick(q);
	deadline = now_us() + 2000000;
	while (!(b->v.last_isr & 1) && now_us() < deadline)
		cpu_relax();
	cli();
	vq_poll_mode(q);
	vio_irq_unroute(&b->v);
	if (!b->v.irqs)
		wtest_fail("no used-buffer interrupt on IRQ %u within 2 s (InterruptStatus 0x%x)",
			   b->v.irq, vio_read(&b->v, VIO_INT_STATUS));
	if (!(b->v.last_isr & 1))
		wtest_fail("interrupt on IRQ %u without the used-buffer bit (InterruptStatus 0x%x)",
			   b->v.irq, b->v.last_isr);
	printk("blk: used-buffer interrupt on IRQ %u (vector 0x%x), InterruptStatus 0x%x acked\n",
	       b->v.irq, VEC_VIRTIO + b->v.index, b->v.last_isr);
	r = vblk_wait(b, 2000000);
	if (r != 0)
		wtest_fail("interrupt came but no used element (%d)", r);
	expect_ok(b->slots[0].status, "read", 0);
}

static void ro_check(char *sum, size_t len, uint8_t *buf)
{
	int st;

	if (g_boot.nvirtio < 2 || vio_probe(&rodisk.v, 1) < 0 ||
	    rodisk.v.device_id != VIRTIO_ID_BLOCK)
		return;
	if (vblk_open(&rodisk, 1, VBLK_WANT, 16, 1) < 0)
		wtest_fail("device 1: %s", rodisk.v.err);
	if (!rodisk.ro) {
		printk("blk: device 1 is writable (no VIRTIO_BLK_F_RO), no read-only check\n");
		return;
	}
	pattern_fill_ours(buf, 0, 1);
	st = vblk_rw(&rodisk, VBLK_T_OUT, 0, buf, SECTOR, false);
	if (st != VBLK_S_IOERR)
		wtest_fail("write to read-only device 1 returned status %d, expected IOERR (1)", st);
	st = vblk_rw(&rodisk, VBLK_T_IN, 0, buf, SECTOR, false);
	expect_ok(st, "read of read-only device 1", 0);
	check_read(buf, 0, 1, false);
	snprintf(sum + strlen(sum), len - strlen(sum), ", ro write IOERR");
}

void scen_blk(void)
{
	uint64_t n = param_u64("sectors", 64);
	const char *want_id = param_str("id", NULL);
	struct vblk *b = &disk;
	char sum[256], id[VBLK_ID_BYTES + 1];
	uint8_t *buf;
	int st;

	timer_calibrate();
	pattern_init();
	if (n == 0 || n > 1u << 20)
		wtest_fail("wtest.sectors=%lu out of range 1..1048576", (unsigned long)n);
	if (vblk_open(b, 0, VBLK_WANT, 256, 4) < 0)
		wtest_fail("device 0: %s", b->v.err);
	printk("blk: device 0 at 0x%lx irq %u: capacity %lu sectors, features 0x%lx of 0x%lx, queue %u\n",
	       (unsigned long)b->v.base, b->v.irq, (unsigned long)b->capacity,
	       (unsigned long)b->v.features, (unsigned long)b->v.offered, b->v.q[0].size);
	if (b->ro)
		wtest_fail("device 0 is read-only (VIRTIO_BLK_F_RO offered)");
	if (b->capacity < 2 * n + 1)
		wtest_fail("capacity %lu sectors < 2*%lu+1", (unsigned long)b->capacity,
			   (unsigned long)n);
	buf = ram_alloc(CHUNK * SECTOR, 4096);
	if (!buf)
		wtest_fail("out of memory");

	/* read 0..n-1 (first request by interrupt) */
	for (uint64_t s = 0; s < n; s += CHUNK) {
		unsigned k = n - s < CHUNK ? (unsigned)(n - s) : CHUNK;

		if (s == 0) {
			first_read_by_irq(b, buf, k);
		} else {
			st = vblk_rw(b, VBLK_T_IN, s, buf, k * SECTOR, false);
			expect_ok(st, "read", s);
		}
		check_read(buf, s, k, false);
	}
	/* write n..2n-1 */
	for (uint64_t s = n; s < 2 * n; s += CHUNK) {
		unsigned k = 2 * n - s < CHUNK ? (unsigned)(2 * n - s) : CHUNK;

		pattern_fill_ours(buf, s, k);
		st = vblk_rw(b, VBLK_T_OUT, s, buf, k * SECTOR, false);
		expect_ok(st, "write", s);
	}
	snprintf(sum, sizeof(sum), "blk: capacity %lu sectors, read %lu ok, wrote %lu ok",
		 (unsigned long)b->capacity, (unsigned long)n, (unsigned long)n);
	if (vio_has(&b->v, VBLK_F_FLUSH)) {
		st = vblk_rw(b, VBLK_T_FLUSH, 0, NULL, 0, false);
		expect_ok(st, "flush", 0);
		snprintf(sum + strlen(sum), sizeof(sum) - strlen(sum), ", flush ok");
	}
	/* read back through indirect descriptors */
	for (uint64_t s = n; s < 2 * n; s += CHUNK) {
		unsigned k = 2 * n - s < CHUNK ? (unsigned)(2 * n - s) : CHUNK;

		memset(buf, 0, k * SECTOR);
		st = vblk_rw(b, VBLK_T_IN, s, buf, k * SECTOR, true);
		expect_ok(st, "read-back", s);
		check_read(buf, s, k, true);
	}
	/* GET_ID */
	memset(buf, 0, VBLK_ID_BYTES);
	st = vblk_rw(b, VBLK_T_GET_ID, 0, buf, VBLK_ID_BYTES, false);
	expect_ok(st, "GET_ID", 0);
	for (unsigned i = 0; i <= VBLK_ID_BYTES; i++) {
		uint8_t c = i < VBLK_ID_BYTES ? buf[i] : 0;

		id[i] = (char)(c == 0 ? 0 : (c < 0x20 || c > 0x7e) ? '?' : c);
		if (!c)
			break;
	}
	id[VBLK_ID_BYTES] = 0;
	if (want_id) {
		uint8_t exp[VBLK_ID_BYTES];
		size_t l = strlen(want_id);

		memset(exp, 0, sizeof(exp));
		memcpy(exp, want_id, l < VBLK_ID_BYTES ? l : VBLK_ID_BYTES);
		if (memcmp(exp, buf, VBLK_ID_BYTES))
			wtest_fail("GET_ID returned '%s', expected '%s'", id, want_id);
	}
	snprintf(sum + strlen(sum), sizeof(sum) - strlen(sum), ", id '%s'", id);
	/* one sector past the end */
	st = vblk_rw(b, VBLK_T_IN, b->capacity, buf, SECTOR, false);
	if (st != VBLK_S_IOERR)
		wtest_fail("read of sector %lu (past the end) returned status %d, expected IOERR (1)",
			   (unsigned long)b->capacity, st);
	snprintf(sum + strlen(sum), sizeof(sum) - strlen(sum), ", past-end IOERR");
	ro_check(sum, sizeof(sum), buf);
	printk("%s\n", sum);
	wtest_pass();
}
