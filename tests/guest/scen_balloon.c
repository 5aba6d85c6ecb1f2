/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_balloon.c — wtest=balloon: a virtio-balloon driver.
 *
 * First every free page above the guest image is written (so the host
 * holds the guest's RAM resident), then the driver polls the device's
 * config space: it inflates to num_pages with page numbers of those pages
 * (256 per buffer), updates `actual`, deflates when the target drops (and
 * counts how many returned pages read back as zero: the host really threw
 * them away), and answers each statistics request with its numbers.
 *
 * Serial commands: 'h' sends hostile page numbers (the MMIO gap, the
 * IOAPIC page, past the end of RAM, 0xffffffff) in one inflate buffer and
 * checks the device still answers; 'r' reports a free run of 2 MiB on the
 * reporting queue (when offered); 'q' ends the scenario (PASS). When the
 * host writes a new free_page_hint_cmd_id (>= 2) the driver hints a free
 * 2 MiB run under that id and then sends STOP. Given runs are checked to
 * read back as zero (printed).
 * wtest.hostile=1 sends the hostile buffer right after setup too.
 */
#include "vio.h"

#define VB_F_STATS_VQ       1
#define VB_F_DEFLATE_ON_OOM 2
#define VB_F_FREE_PAGE_HINT 3
#define VB_F_REPORTING      5
#define VB_RUN_PAGES        512   /* a hinted / reported run: 2 MiB */
#define VB_PFNS_PER_BUF     256
#define VB_NR_STATS         6
#define VB_RESERVE          (2ULL << 20)   /* heap left for the rings and buffers */

struct vb_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

static struct vdev vb;
static uint32_t *pool;          /* free page numbers (a stack) */
static uint64_t pool_n;
static uint32_t *held;          /* page numbers in the balloon (a stack) */
static uint64_t held_n;
static uint64_t total_pages;
static uint32_t *pfnbuf;
static struct vb_stat *stats;
static int stats_q = -1, hint_q = -1, report_q = -1;
static uint64_t stats_updates;

static void fill_desc(struct vq *q, void *buf, uint32_t len)
{
	q->desc[0].addr = (uint64_t)(uintptr_t)buf;
	q->desc[0].len = len;
	q->desc[0].flags = 0;
	q->desc[0].next = 0;
	vq_add(q, 0);
	vq_kick(q);
}

/* Wait (5 s) for the one buffer in flight on q. */
static void wait_used(struct vq *q, const char *what)
{
	uint64_t t0 = now_us();
	uint32_t id, len;

	while (!vq_used(q, &id, &len)) {
		if (vio_status(&vb) & VS_NEEDS_RESET)
			wtest_fail("balloon: %s: the device needs a reset", what);
		if (now_us() - t0 > 5000000)
			wtest_fail("balloon: %s: no answer within 5 s", what);
		cpu_relax();
	}
}

static void post_stats(void)
{
	uint64_t free_b = pool_n * 4096ULL;
	static const uint16_t tags[VB_NR_STATS] = { 1, 2, 3, 4, 5, 6 };
	uint64_t vals[VB_NR_STATS] = { 0, stats_updates, 7, free_b, total_pages * 4096ULL,
				       free_b };

	/* swap_out 0, major_faults = updates so far, minor_faults 7,
	 * free_memory, total_memory, available_memory */
	for (unsigned i = 0; i < VB_NR_STATS; i++) {
		stats[i].tag = tags[i];
		stats[i].val = vals[i];
	}
	fill_desc(&vb.q[stats_q], stats, sizeof(*stats) * VB_NR_STATS);
}

static void set_actual(void)
{
	mmio_write32(vb.base + VIO_CONFIG + 4, (uint32_t)held_n);
}

static void inflate_some(uint32_t target)
{
	uint64_t n = target - held_n;

	if (n > VB_PFNS_PER_BUF)
		n = VB_PFNS_PER_BUF;
	if (n > pool_n)
		n = pool_n;
	if (!n)
		return;
	for (uint64_t i = 0; i < n; i++) {
		pfnbuf[i] = pool[--pool_n];
		held[held_n + i] = pfnbuf[i];
	}
	fill_desc(&vb.q[0], pfnbuf, (uint32_t)(n * 4));
	wait_used(&vb.q[0], "inflate");
	held_n += n;
	set_actual();
}

static uint64_t deflated_zero, deflated_total;

static void deflate_some(uint32_t target)
{
	uint64_t n = held_n - target;

	if (n > VB_PFNS_PER_BUF)
		n = VB_PFNS_PER_BUF;
	for (uint64_t i = 0; i < n; i++)
		pfnbuf[i] = held[held_n - 1 - i];
	fill_desc(&vb.q[1], pfnbuf, (uint32_t)(n * 4));
	wait_used(&vb.q[1], "deflate");
	held_n -= n;
	set_actual();
	for (uint64_t i = 0; i < n; i++) {
		volatile uint64_t *p = phys_ptr((uint64_t)pfnbuf[i] << 12);

		deflated_total++;
		if (*p == 0)
			deflated_zero++;
		else if (deflated_total - deflated_zero <= 3)
			printk("balloon: deflated page 0x%x reads 0x%lx, not zero\n", pfnbuf[i],
			       (unsigned long)*p);
		*p = (uint64_t)pfnbuf[i] + 1;   /* ours again: in use */
		pool[pool_n++] = pfnbuf[i];
	}
}

/* Hand the bottom VB_RUN_PAGES pages of the pool (free, contiguous) to
 * queue q as one device-writable buffer, then count how many read back as
 * zero and take them into use again. */
static void give_free_run(struct vq *q, const char *what)
{
	uint64_t zero = 0, first = pool[0];

	if (pool_n < VB_RUN_PAGES || pool[VB_RUN_PAGES - 1] != first + VB_RUN_PAGES - 1)
		wtest_fail("balloon: no free run of %u pages for %s", VB_RUN_PAGES, what);
	q->desc[0].addr = first << 12;
	q->desc[0].len = VB_RUN_PAGES * 4096;
	q->desc[0].flags = VD_WRITE;
	q->desc[0].next = 0;
	vq_add(q, 0);
	vq_kick(q);
	wait_used(q, what);
	for (uint64_t i = 0; i < VB_RUN_PAGES; i++) {
		volatile uint64_t *p = phys_ptr((first + i) << 12);

		if (*p == 0)
			zero++;
		*p = first + i + 1;
	}
	printk("balloon: %s: %u free pages given, %lu read back as zero\n", what, VB_RUN_PAGES,
	       (unsigned long)zero);
}

/* A free page hinting run as Linux's driver does it: the command id, the
 * free pages, then STOP. */
static void hint_run(uint32_t cmd)
{
	static uint32_t cmdbuf;

	cmdbuf = cmd;
	fill_desc(&vb.q[hint_q], &cmdbuf, 4);
	wait_used(&vb.q[hint_q], "hint command id");
	give_free_run(&vb.q[hint_q], "hinting");
	cmdbuf = 0;   /* STOP */
	fill_desc(&vb.q[hint_q], &cmdbuf, 4);
	wait_used(&vb.q[hint_q], "hint stop");
}

static void send_hostile(void)
{
	uint64_t top = ram_top();

	pfnbuf[0] = 0xc0000;                           /* MMIO gap: 3 GiB */
	pfnbuf[1] = 0xfec00;                           /* the IOAPIC's page */
	pfnbuf[2] = (uint32_t)((top >> 12) + 16);      /* past the end of RAM */
	pfnbuf[3] = 0xffffffffu;
	fill_desc(&vb.q[0], pfnbuf, 16);
	wait_used(&vb.q[0], "hostile inflate");
	printk("balloon: hostile page numbers sent (4), the device answered\n");
}

void scen_balloon(void)
{
	uint64_t offered, want, left, base, cap;
	unsigned nq = 2, i;
	uint32_t last_target = 0xffffffffu, last_actual_printed = 0xffffffffu, last_hint_cmd = 0;
	bool settled = true;

	timer_calibrate();
	for (i = 0; i < g_boot.nvirtio; i++)
		if (vio_probe(&vb, i) == 0 && vb.device_id == 5)
			break;
	if (i == g_boot.nvirtio)
		wtest_fail("balloon: no virtio-balloon device (%u virtio entries)", g_boot.nvirtio);
	vio_reset(&vb);
	vio_write(&vb, VIO_DEV_FEAT_SEL, 0);
	offered = vio_read(&vb, VIO_DEV_FEATURES);
	want = VBIT(VB_F_STATS_VQ) | VBIT(VB_F_DEFLATE_ON_OOM) | VBIT(VF_EVENT_IDX) |
	       VBIT(VB_F_FREE_PAGE_HINT) | VBIT(VB_F_REPORTING);
	if (offered & VBIT(VB_F_STATS_VQ))
		stats_q = (int)nq++;
	if (offered & VBIT(VB_F_FREE_PAGE_HINT))
		hint_q = (int)nq++;
	if (offered & VBIT(VB_F_REPORTING))
		report_q = (int)nq++;
	if (vio_setup(&vb, want, nq, 64) < 0)
		wtest_fail("balloon: setup: %s", vb.err);
	printk("balloon: device %u, features 0x%lx, %u queues, target %u pages\n", i,
	       (unsigned long)vb.features, nq, vio_cfg32(&vb, 0));

	/* Every free page: written once so the host holds it. */
	left = ram_alloc_left();
	if (left < VB_RESERVE + (8ULL << 20))
		wtest_fail("balloon: only %lu bytes of free RAM", (unsigned long)left);
	cap = left / 4096;                  /* more than the pool can hold */
	pool = ram_alloc(cap * 4, 4096);
	held = ram_alloc(cap * 4, 4096);
	pfnbuf = ram_alloc(VB_PFNS_PER_BUF * 4, 4096);
	stats = ram_alloc(sizeof(*stats) * VB_NR_STATS, 64);
	left = ram_alloc_left();
	total_pages = (left - VB_RESERVE) / 4096;
	if (total_pages > cap)
		wtest_fail("balloon: page pool sizing");
	base = (uint64_t)(uintptr_t)ram_alloc(total_pages * 4096, 4096);
	if (!pool || !held || !pfnbuf || !stats || !base)
		wtest_fail("balloon: out of memory for the page pool");
	for (uint64_t p = 0; p < total_pages; p++) {
		uint32_t pfn = (uint32_t)((base >> 12) + p);

		*(volatile uint64_t *)phys_ptr((uint64_t)pfn << 12) = (uint64_t)pfn + 1;
		pool[pool_n++] = pfn;
	}
	printk("balloon: wrote %lu MiB of free RAM (%lu pages)\n",
	       (unsigned long)(total_pages >> 8), (unsigned long)total_pages);

	if (stats_q >= 0)
		post_stats();
	if (param_u64("hostile", 0))
		send_hostile();

	for (;;) {
		uint32_t target = vio_cfg32(&vb, 0), id, len;

		if (hint_q >= 0) {
			uint32_t cmd = vio_cfg32(&vb, 8);

			if (cmd != last_hint_cmd) {
				printk("balloon: free_page_hint_cmd_id %u\n", cmd);
				last_hint_cmd = cmd;
				if (cmd >= 2)
					hint_run(cmd);
			}
		}

		if (vio_status(&vb) & VS_NEEDS_RESET)
			wtest_fail("balloon: the device needs a reset");
		if (stats_q >= 0 && vq_used(&vb.q[stats_q], &id, &len)) {
			stats_updates++;
			if (stats_updates <= 3 || !(stats_updates & (stats_updates - 1)))
				printk("balloon: statistics request %lu answered\n",
				       (unsigned long)stats_updates);
			post_stats();
		}
		if (target != last_target) {
			printk("balloon: target %u pages (%u MiB)\n", target, target >> 8);
			last_target = target;
			settled = false;
		}
		if (target > held_n && pool_n) {
			inflate_some(target);
			continue;
		}
		if (target < held_n) {
			deflate_some(target);
			continue;
		}
		if (!settled) {
			settled = true;
			if (held_n != last_actual_printed) {
				printk("balloon: actual %lu pages (%lu MiB)%s\n", (unsigned long)held_n,
				       (unsigned long)(held_n >> 8),
				       target > held_n ? ", out of free pages" : "");
				last_actual_printed = (uint32_t)held_n;
			}
			if (deflated_total)
				printk("balloon: deflated pages read back as zero: %lu of %lu\n",
				       (unsigned long)deflated_zero, (unsigned long)deflated_total);
		}
		while (uart_rx_ready()) {
			uint8_t c = uart_getc();

			if (c == 'h')
				send_hostile();
			else if (c == 'r' && report_q >= 0)
				give_free_run(&vb.q[report_q], "reporting");
			else if (c == 'q') {
				printk("balloon: done, %lu pages in the balloon, %lu statistics "
				       "requests\n", (unsigned long)held_n,
				       (unsigned long)stats_updates);
				wtest_pass();
			}
		}
		delay_us(2000);
	}
}
