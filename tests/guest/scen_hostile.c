/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_hostile.c — `hostile`: malformed virtqueue requests on device 0
 * while device 1 (and device 0 itself, afterwards) must keep serving.
 *
 * Both devices are block devices holding the host pattern (byte j of
 * sector s = s*7 + j). Device 0's queue is QueueNumMax entries (256 under
 * wisp). One at a time, in slot 0 (descriptors 0..2):
 *   descriptor-loop   desc 0 -> 1 -> 0, both readable 16-byte headers
 *   out-of-ram        data descriptor [RAM top - 256, +512) (crosses the
 *                     end of RAM; wtest.oob=ADDR puts it at ADDR instead)
 *   oversized-chain   one indirect descriptor -> a 2048-entry table
 *                     (header, 2046 x 512-byte data, status): a chain
 *                     longer than any queue (wisp 256, QEMU's limit 1024)
 *   nested-indirect   indirect table whose second entry is INDIRECT again
 *   readonly-data     IN request whose data descriptor is device-readable
 * With wtest.extra=1 a sixth case follows: avail-jump (the avail index
 * moves size+1 past the device's position: a corrupt ring), always
 * followed by a reset and set-up of device 0.
 * Each waits up to 1 s for a used element or DEVICE_NEEDS_RESET and
 * prints `hostile: <case> -> used len L status S | needs-reset |
 * no completion` (S is the status byte, 255 = not written). After
 * needs-reset or no completion device 0 is reset and set up again. Around
 * every case a normal 8-sector read on device 1 and on device 0 must
 * return the pattern. FAIL if a good read fails, a hostile request
 * completes with status OK and data (used length > 1), or the
 * readonly-data buffer was written.
 */
#include "vio.h"

#define LONG_CHAIN 2048
#define STATUS_NONE VBLK_STATUS_NONE

static struct vblk dev0, dev1;
static uint8_t *goodbuf, *databuf;
static struct vring_desc *bigtable, *t1, *t2;
static unsigned good_reads;
static bool bad;

static void good_read(struct vblk *b, uint64_t sector)
{
	int st = vblk_rw(b, VBLK_T_IN, sector, goodbuf, 8 * SECTOR, false);
	int64_t off;

	if (st != VBLK_S_OK) {
		printk("hostile: good read on device %u at sector %lu: status %d\n", b->v.index,
		       (unsigned long)sector, st);
		bad = true;
		return;
	}
	off = pattern_check_host(goodbuf, sector, 8);
	if (off >= 0) {
		printk("hostile: good read on device %u at sector %lu: byte %ld is 0x%02x, expected 0x%02x\n",
		       b->v.index, (unsigned long)sector, (long)off, goodbuf[off],
		       pattern_host_byte(sector, (uint64_t)off));
		bad = true;
		return;
	}
	good_reads++;
}

static void good_reads_both(unsigned round)
{
	good_read(&dev1, 8 * round);
	good_read(&dev0, 8 * round);
}

static void open_dev0(void)
{
	if (vblk_open(&dev0, 0, VBLK_WANT, 256, 4) < 0)
		wtest_fail("device 0: %s", dev0.v.err);
	if (!vio_has(&dev0.v, VF_INDIRECT_DESC))
		wtest_fail("device 0 does not offer VIRTIO_F_INDIRECT_DESC");
}

static struct vring_desc desc(const volatile void *p, uint32_t len, uint16_t flags, uint16_t next)
{
	return (struct vring_desc){ (uint64_t)(uintptr_t)p, len, flags, next };
}

/* Post slot 0 (descriptors already written), wait, report. */
static void run_case(const char *name)
{
	struct vblk_slot *s = &dev0.slots[0];
	struct vq *q = &dev0.v.q[0];
	bool reinit = false;
	int r;

	vq_add(q, 0);
	vq_kick(q);
	r = vblk_wait(&dev0, 1000000);
	if (r == 0) {
		printk("hostile: %s -> used len %u status %u\n", name, dev0.used_len[0], s->status);
		/* OK with data is a device that served a malformed request. */
		if (s->status == VBLK_S_OK && dev0.used_len[0] > 1) {
			printk("hostile: %s completed with status OK and %u data bytes\n", name,
			       dev0.used_len[0] - 1);
			bad = true;
		}
	} else if (r == -2) {
		printk("hostile: %s -> needs-reset\n", name);
		reinit = true;
	} else if (r == -1) {
		printk("hostile: %s -> no completion\n", name);
		reinit = true;
	} else {
		printk("hostile: %s -> used element with a foreign id\n", name);
		bad = true;
		reinit = true;
	}
	if (reinit) {
		open_dev0();
		printk("hostile: device 0 reset and set up again\n");
	}
}

static void header(uint32_t type, uint64_t sector)
{
	struct vblk_slot *s = &dev0.slots[0];

	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = sector;
	s->status = STATUS_NONE;
}

void scen_hostile(void)
{
	struct vblk_slot *s;
	struct vring_desc *d;
	unsigned round = 0;
	uint64_t oob = param_u64("oob", ram_top() - 256);

	timer_calibrate();
	pattern_init();
	if (vblk_open(&dev1, 1, VBLK_WANT, 16, 1) < 0)
		wtest_fail("device 1: %s", dev1.v.err);
	open_dev0();
	goodbuf = ram_alloc(8 * SECTOR, 4096);
	databuf = ram_alloc(SECTOR, 4096);
	bigtable = ram_alloc(LONG_CHAIN * sizeof(struct vring_desc), 4096);
	t1 = ram_alloc(2 * sizeof(struct vring_desc), 64);
	t2 = ram_alloc(2 * sizeof(struct vring_desc), 64);
	if (!goodbuf || !databuf || !bigtable || !t1 || !t2)
		wtest_fail("out of memory");
	printk("hostile: device 0 queue %u, device 1 queue %u, RAM top 0x%lx, out-of-ram buffer 0x%lx\n",
	       dev0.v.q[0].size, dev1.v.q[0].size, (unsigned long)ram_top(), (unsigned long)oob);
	good_reads_both(round++);

	/* (a) descriptor loop */
	s = &dev0.slots[0];
	d = dev0.v.q[0].desc;
	header(VBLK_T_IN, 0);
	d[0] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 1);
	d[1] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 0);
	run_case("descriptor-loop");
	good_reads_both(round++);

	/* (b) data buffer crossing the end of RAM */
	s = &dev0.slots[0];
	d = dev0.v.q[0].desc;
	header(VBLK_T_IN, 0);
	d[0] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 1);
	d[1] = (struct vring_desc){ oob, SECTOR, VD_WRITE | VD_NEXT, 2 };
	d[2] = desc(&s->status, 1, VD_WRITE, 0);
	run_case("out-of-ram");
	good_reads_both(round++);

	/* (c) a chain longer than the queue, through one huge indirect table */
	s = &dev0.slots[0];
	d = dev0.v.q[0].desc;
	header(VBLK_T_IN, 0);
	bigtable[0] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 1);
	for (unsigned i = 1; i < LONG_CHAIN - 1; i++)
		bigtable[i] = desc(databuf, SECTOR, VD_WRITE | VD_NEXT, (uint16_t)(i + 1));
	bigtable[LONG_CHAIN - 1] = desc(&s->status, 1, VD_WRITE, 0);
	d[0] = desc(bigtable, LONG_CHAIN * sizeof(struct vring_desc), VD_INDIRECT, 0);
	run_case("oversized-chain");
	good_reads_both(round++);

	/* (d) an indirect descriptor inside an indirect table */
	s = &dev0.slots[0];
	d = dev0.v.q[0].desc;
	header(VBLK_T_IN, 0);
	t2[0] = desc(databuf, SECTOR, VD_WRITE | VD_NEXT, 1);
	t2[1] = desc(&s->status, 1, VD_WRITE, 0);
	t1[0] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 1);
	t1[1] = desc(t2, 2 * sizeof(struct vring_desc), VD_INDIRECT, 0);
	d[0] = desc(t1, 2 * sizeof(struct vring_desc), VD_INDIRECT, 0);
	run_case("nested-indirect");
	good_reads_both(round++);

	/* (e) IN request whose data buffer is device-readable */
	s = &dev0.slots[0];
	d = dev0.v.q[0].desc;
	header(VBLK_T_IN, 0);
	memset(databuf, 0xee, SECTOR);
	d[0] = desc(&s->hdr, sizeof(s->hdr), VD_NEXT, 1);
	d[1] = desc(databuf, SECTOR, VD_NEXT, 2);
	d[2] = desc(&s->status, 1, VD_WRITE, 0);
	run_case("readonly-data");
	for (unsigned i = 0; i < SECTOR; i++) {
		if (databuf[i] != 0xee) {
			printk("hostile: readonly-data: the device wrote into the readable buffer (byte %u = 0x%02x)\n",
			       i, databuf[i]);
			bad = true;
			break;
		}
	}
	good_reads_both(round++);

	/* (f, opt-in) the driver's avail index jumps past a whole ring */
	if (param_u64("extra", 0)) {
		struct vq *q = &dev0.v.q[0];

		q->avail[1] = (uint16_t)(q->avail_idx + q->size + 1);
		vio_mb();
		vio_write(&dev0.v, VIO_QUEUE_NOTIFY, 0);
		switch (vblk_wait(&dev0, 1000000)) {
		case -2:
			printk("hostile: avail-jump -> needs-reset\n");
			break;
		case -1:
			printk("hostile: avail-jump -> no completion\n");
			break;
		default:
			printk("hostile: avail-jump -> used element\n");
			break;
		}
		open_dev0();
		printk("hostile: device 0 reset and set up again\n");
		good_reads_both(round++);
	}

	if (bad)
		wtest_fail("see the hostile: lines above");
	printk("hostile: %u good reads ok\n", good_reads);
	wtest_pass();
}
