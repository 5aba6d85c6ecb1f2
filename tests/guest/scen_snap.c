/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_snap.c — `snap`: a guest that proves a snapshot/restore kept it
 * whole. At boot it sets everything up (virtio devices negotiated, queues
 * live, a first block write/read, RX buffers posted, APs counting, RAM
 * filled with a pattern, LAPIC timer and serial RX interrupts on), then
 * ticks: `SNAP n` every 100 ms and `E<byte>` for every byte received. The
 * host pauses, snapshots, kills and restores it somewhere in there; on the
 * command byte `V` the guest checks itself and prints PASS or FAIL.
 *
 * Parameters: wtest.mib=N (16), wtest.seed=S (1), wtest.blk=N (first block
 * device), wtest.sector=S (8), wtest.net=N (first network device),
 * wtest.ip=A.B.C.D (none), wtest.pings=N (3), wtest.timeout=S (30),
 * wtest.stride=B (8 native, 512 emulated), wtest.ap=spin|tick (spin),
 * wtest.dpages=N (32: pages the command byte `D` writes, for diff snapshots),
 * wtest.tpages=N (1024: pages the command byte `T` reads, for working-set
 * prefetch), wtest.twords=K (1: words `T` checks per page).
 * Output and protocol: tests/guest/README.md, "Snapshot scenario".
 *
 * RAM pattern (8-byte word at guest-physical address x, base = S *
 * 0x9e3779b97f4a7c15, mix64 = the splitmix64 finaliser):
 *   x % 4096 == 0:  mix64(base + 1024 + x)                  (page tag)
 *   otherwise:      mix64(base + (x >> 12) % 512 + (x >> 3) % 512)
 * so every page but its tag is a window of a 1024-word template: written
 * with `rep movsq` and checked with `repe cmpsq`, which KVM's instruction
 * emulator (PVM) runs without a trap per word.
 */
#include "vio.h"

#define TIMER_HZ       100
#define TICKS_PER_LINE (TIMER_HZ / 10)      /* SNAP n every 100 ms */
#define PAGE           4096u
#define PAGE_WORDS     (PAGE / 8)
#define TPL_WORDS      1024
#define BLK_SECTORS    4
#define RX_RING        64
#define ETH_P_SNAP     0x88b5
#define VEC_AP_TIMER   0x22                 /* the APs' own LAPIC timers */

/* ---------------- state (all of it in guest RAM, hence in the snapshot) ---------------- */
static uint64_t seed_base;
static uint64_t tpl[TPL_WORDS];
static uint64_t mem_start, mem_pages, mem_stride;
/* 'D': a known set of pages the guest writes on request (diff snapshots). */
static volatile uint64_t *dirty_area;
static uint64_t dirty_pages, dirty_gen;
/* 'T': a fixed, scattered set of pattern pages read in a fixed order. */
static uint64_t touch_pages, touch_words;

static volatile uint64_t ticks;
static uint64_t last_ticks, next_line, lines;

static volatile uint8_t rx_ring[RX_RING];
static volatile uint32_t rx_head, rx_tail, rx_dropped;
static bool v_requested;

static bool ap_tick;                        /* wtest.ap=tick */
static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) bsp_idtr;         /* the APs load the BSP's IDT */
static volatile uint32_t ap_slots;
static volatile uint8_t ap_slot_of[256];   /* APIC id -> slot */
static volatile uint64_t ap_count[MAX_CPUS];
static uint64_t ap_last[MAX_CPUS];

static struct vblk disk;
static bool have_blk;
static uint64_t blk_sector;
static uint8_t *blk_buf;

static struct vdev *net;
static bool have_ip;
static uint8_t my_ip[4];

/* ---------------- pattern ---------------- */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t page_tag(uint64_t addr)
{
	return mix64(seed_base + TPL_WORDS + addr);
}

static uint64_t word_at(uint64_t x)
{
	if (!(x % PAGE))
		return page_tag(x);
	return mix64(seed_base + (x >> 12) % 512 + (x >> 3) % 512);
}

static void copy_words(void *dst, const void *src, size_t n)
{
	__asm__ volatile("cld; rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory", "cc");
}

/* Index of the first of n words that differ, or n. */
static size_t cmp_words(const void *a, const void *b, size_t n)
{
	size_t left = n;
	bool ne;

	if (!n)
		return 0;
	__asm__ volatile("cld; repe cmpsq" : "+S"(a), "+D"(b), "+c"(left), "=@ccne"(ne)
			 : : "memory");
	return ne ? n - left - 1 : n;
}

/* stride 8: every word; larger: the tag and every (stride/8)-th word. */
static void fill_page(uint64_t addr)
{
	uint64_t *p = phys_ptr(addr);
	const uint64_t *t = &tpl[(addr >> 12) % 512];
	unsigned step = (unsigned)(mem_stride / 8);

	if (step == 1)
		copy_words(p, t, PAGE_WORDS);
	else
		for (unsigned w = step; w < PAGE_WORDS; w += step)
			p[w] = t[w];
	p[0] = page_tag(addr);
}

/* Word index of the first difference in the page, or PAGE_WORDS. */
static size_t check_page(uint64_t addr)
{
	const uint64_t *p = phys_ptr(addr);
	const uint64_t *t = &tpl[(addr >> 12) % 512];
	unsigned step = (unsigned)(mem_stride / 8);

	if (p[0] != page_tag(addr))
		return 0;
	if (step == 1)
		return 1 + cmp_words(p + 1, t + 1, PAGE_WORDS - 1);
	for (unsigned w = step; w < PAGE_WORDS; w += step)
		if (p[w] != t[w])
			return w;
	return PAGE_WORDS;
}

/* ns per iteration of a trivial loop: ~0.3 native, ~1000+ emulated (PVM);
 * the same probe as `memory`. */
static uint64_t loop_ns(void)
{
	uint64_t sink = 0;
	uint64_t t0 = rdtsc(), t1;

	for (unsigned i = 0; i < 10000; i++)
		__asm__ volatile("add %1, %0" : "+r"(sink) : "r"((uint64_t)i));
	t1 = rdtsc();
	return (t1 - t0) * 1000000 / tsc_per_ms() / 10000;
}

/* ---------------- block pattern ---------------- */
/* Word w (0..63) of sector s, generation g (0 at boot, 1 after V). */
static uint64_t blk_word(unsigned g, uint64_t s, unsigned w)
{
	return mix64(seed_base + ((uint64_t)(g + 1) << 40) + s * 64 + w);
}

static void blk_fill(unsigned g)
{
	uint64_t *p = (uint64_t *)blk_buf;

	for (unsigned i = 0; i < BLK_SECTORS * SECTOR / 8; i++)
		p[i] = blk_word(g, blk_sector + i / 64, i % 64);
}

/* Write generation g, flush, read back, compare. NULL or what failed. */
static const char *blk_cycle(unsigned g, char *why, size_t len)
{
	uint32_t bytes = BLK_SECTORS * SECTOR;
	const uint64_t *p = (const uint64_t *)blk_buf;
	int st;

	blk_fill(g);
	st = vblk_rw(&disk, VBLK_T_OUT, blk_sector, blk_buf, bytes, false);
	if (st != VBLK_S_OK) {
		snprintf(why, len, "blk write at sector %lu: status %d", (unsigned long)blk_sector, st);
		return why;
	}
	if (vio_has(&disk.v, VBLK_F_FLUSH)) {
		st = vblk_rw(&disk, VBLK_T_FLUSH, 0, NULL, 0, false);
		if (st != VBLK_S_OK) {
			snprintf(why, len, "blk flush: status %d", st);
			return why;
		}
	}
	memset(blk_buf, 0, bytes);
	st = vblk_rw(&disk, VBLK_T_IN, blk_sector, blk_buf, bytes, false);
	if (st != VBLK_S_OK) {
		snprintf(why, len, "blk read at sector %lu: status %d", (unsigned long)blk_sector, st);
		return why;
	}
	for (unsigned i = 0; i < bytes / 8; i++) {
		uint64_t want = blk_word(g, blk_sector + i / 64, i % 64);

		if (p[i] != want) {
			snprintf(why, len, "blk sector %lu word %u: read 0x%lx, expected 0x%lx",
				 (unsigned long)(blk_sector + i / 64), i % 64, (unsigned long)p[i],
				 (unsigned long)want);
			return why;
		}
	}
	return NULL;
}

/* ---------------- interrupts ---------------- */
static void on_tick(struct intr_frame *f)
{
	(void)f;
	ticks++;
}

static void on_serial(struct intr_frame *f)
{
	(void)f;
	for (unsigned i = 0; i < 64 && uart_rx_ready(); i++) {
		uint8_t b = uart_getc();

		if (rx_head - rx_tail < RX_RING) {
			rx_ring[rx_head % RX_RING] = b;
			rx_head++;
		} else {
			rx_dropped++;
		}
	}
}

/* ---------------- application processors ---------------- */
/* wtest.ap=tick: the AP's own LAPIC timer (100 Hz, vector 0x22). */
static void on_ap_tick(struct intr_frame *f)
{
	(void)f;
	ap_count[ap_slot_of[lapic_id() & 0xff]]++;
}

/* Each AP counts in its own slot: spinning (pause between increments)
 * or, with wtest.ap=tick, once per tick of its LAPIC timer, halted in
 * between. */
static void ap_loop(void)
{
	unsigned slot = __atomic_fetch_add(&ap_slots, 1, __ATOMIC_SEQ_CST) % MAX_CPUS;
	volatile uint64_t *c = &ap_count[slot];

	__asm__ volatile("lidt %0" : : "m"(bsp_idtr));
	if (ap_tick) {
		ap_slot_of[lapic_id() & 0xff] = (uint8_t)slot;
		lapic_init();
		lapic_timer_periodic(TIMER_HZ, VEC_AP_TIMER);
		for (;;)
			sti_hlt();
	}
	for (;;) {
		*c = *c + 1;
		cpu_relax();
	}
}

/* ---------------- known dirty pages ---------------- */
/* wtest.dpages=N (32) pages set aside at boot; each 'D' writes the qword
 * (gen << 32 | page) at the start of every one of them, gen = 1, 2, ...,
 * and prints where, so a host can find exactly these pages in a Diff
 * snapshot's memory file. */
static void setup_dirty_area(void)
{
	dirty_pages = param_u64("dpages", 32);
	if (dirty_pages == 0 || dirty_pages > 262144)
		wtest_fail("wtest.dpages=%lu: expected 1..262144 (1 GiB)", (unsigned long)dirty_pages);
	dirty_area = ram_alloc(dirty_pages * PAGE, PAGE);
	if (!dirty_area)
		wtest_fail("wtest.dpages=%lu: out of memory", (unsigned long)dirty_pages);
}

static void dirty_known_pages(void)
{
	dirty_gen++;
	for (uint64_t i = 0; i < dirty_pages; i++)
		dirty_area[i * (PAGE / 8)] = dirty_gen << 32 | i;
	printk("SNAP dirtied %lu pages at 0x%lx gen %lu\n", (unsigned long)dirty_pages,
	       (unsigned long)(uintptr_t)dirty_area, (unsigned long)dirty_gen);
	/* With a disk, the device writes a page too: the sectors of the boot
	 * cycle read again into their buffer (same bytes; only the device
	 * writes that page, so only wisp's own tracking can see it). */
	if (blk_buf) {
		int st = vblk_rw(&disk, VBLK_T_IN, blk_sector, blk_buf, BLK_SECTORS * SECTOR, false);

		if (st != VBLK_S_OK)
			wtest_fail("blk read for D at sector %lu: status %d",
				   (unsigned long)blk_sector, st);
		printk("SNAP device read into 0x%lx\n", (unsigned long)(uintptr_t)blk_buf);
	}
}

/* ---------------- a fixed piece of work on scattered pages ---------------- */
/* 'T': read wtest.tpages pattern pages, page i of the run being
 * mix64(base + 0x7a11 + i) % pages: the same scattered set, in the same
 * order, on every run of one snapshot, like the pages a function touches
 * (a set may name a page twice). In each page wtest.twords words are
 * checked, the tag first, the others PAGE / twords bytes apart (more
 * words: more work per page, the same pages). Any word that differs
 * fails. */
static void touch_known_pages(void)
{
	uint64_t t0 = rdtsc(), bad = 0;

	if (!mem_pages)
		wtest_fail("T: no pattern pages (wtest.mib=0)");
	for (uint64_t i = 0; i < touch_pages; i++) {
		uint64_t page = mem_start + mix64(seed_base + 0x7a11 + i) % mem_pages * PAGE;

		for (uint64_t k = 0; k < touch_words; k++) {
			uint64_t a = page + k * (PAGE / touch_words / 8) * 8;

			if (*(const volatile uint64_t *)phys_ptr(a) != word_at(a) && !bad++)
				printk("snap: T: word at 0x%lx: 0x%lx, expected 0x%lx\n",
				       (unsigned long)a,
				       (unsigned long)*(const volatile uint64_t *)phys_ptr(a),
				       (unsigned long)word_at(a));
		}
	}
	if (bad)
		wtest_fail("T: %lu of %lu words differ", (unsigned long)bad,
			   (unsigned long)(touch_pages * touch_words));
	printk("SNAP touched %lu pages in %lu us\n", (unsigned long)touch_pages,
	       (unsigned long)((rdtsc() - t0) * 1000 / tsc_per_ms()));
}

/* ---------------- the running loop ---------------- */
/* Echo received bytes, print SNAP n when due, watch the counters. Called
 * from the main loop and from every wait of the check. */
static void service(void)
{
	uint64_t t;

	while (rx_tail != rx_head) {
		uint8_t b = rx_ring[rx_tail % RX_RING];
		char e[4] = { 'E', (char)b, '\r', '\n' };

		rx_tail++;
		console_write_raw(e, sizeof(e));
		if (b == 'V')
			v_requested = true;
		if (b == 'D')
			dirty_known_pages();
		if (b == 'T')
			touch_known_pages();
		if (b == 'R') {
			/* "ready": the boot-complete write again (ends a
			 * working-set recording in wisp) */
			mmio_write8(0xc0000000ULL, 123);
			printk("SNAP ready\n");
		}
	}
	t = ticks;
	if (t < last_ticks)
		wtest_fail("tick counter went backwards (%lu after %lu)", (unsigned long)t,
			   (unsigned long)last_ticks);
	last_ticks = t;
	if (t >= next_line) {
		printk("SNAP %lu\n", (unsigned long)++lines);
		next_line += TICKS_PER_LINE;
		if (next_line <= t)              /* fell behind (a long pause): no burst */
			next_line = t + TICKS_PER_LINE;
	}
	for (unsigned i = 0; i < ap_slots && i < MAX_CPUS; i++) {
		uint64_t c = ap_count[i];

		if (c < ap_last[i])
			wtest_fail("AP %u counter went backwards (%lu after %lu)", i,
				   (unsigned long)c, (unsigned long)ap_last[i]);
		ap_last[i] = c;
	}
}

/* Serve for up to ms milliseconds or until done() says so. Timed by TSC
 * differences only, so a TSC that a restore moved does not matter. */
static bool serve_until(bool (*done)(void), uint64_t ms)
{
	uint64_t t0 = rdtsc(), span = ms * tsc_per_ms();

	while (!done()) {
		if (rdtsc() - t0 > span)
			return false;
		service();
		cpu_relax();
	}
	return true;
}

/* ---------------- the check (after V) ---------------- */
static uint64_t tick_goal;
static uint64_t ap_goal[MAX_CPUS];
static unsigned net_goal;

static bool ticks_reached(void)
{
	return ticks >= tick_goal;
}

static bool aps_advanced(void)
{
	for (unsigned i = 0; i < ap_slots && i < MAX_CPUS; i++)
		if (ap_count[i] < ap_goal[i])
			return false;
	return true;
}

static bool pings_answered(void)
{
	return vnet_serve(my_ip) >= net_goal;
}

static void check_memory(void)
{
	uint64_t bad = 0, first = 0, t0 = rdtsc();
	size_t w = 0;

	for (uint64_t i = 0; i < mem_pages; i++) {
		uint64_t a = mem_start + i * PAGE;
		size_t k = check_page(a);

		if (k < PAGE_WORDS) {
			if (!bad++) {
				first = a;
				w = k;
			}
		}
		if (i % 256 == 255)
			service();
	}
	if (bad) {
		uint64_t x = first + w * 8;

		printk("snap: memory: %lu of %lu pages differ\n", (unsigned long)bad,
		       (unsigned long)mem_pages);
		wtest_fail("memory at 0x%lx: read 0x%lx, expected 0x%lx (%lu of %lu pages differ)",
			   (unsigned long)x, (unsigned long)*(const uint64_t *)phys_ptr(x),
			   (unsigned long)word_at(x), (unsigned long)bad, (unsigned long)mem_pages);
	}
	printk("SNAP check memory ok %lu MiB in %lu ms\n", (unsigned long)(mem_pages >> 8),
	       (unsigned long)((rdtsc() - t0) / tsc_per_ms()));
}

static NORETURN void check(void)
{
	uint64_t t0;
	char why[160];

	printk("snap: checking\n");
	if (rx_dropped)
		printk("snap: %u input bytes dropped (echo ring full)\n", rx_dropped);
	check_memory();

	t0 = ticks;
	tick_goal = t0 + 2;
	if (!serve_until(ticks_reached, 2000))
		wtest_fail("timer: %lu ticks in 2 s, expected 2", (unsigned long)(ticks - t0));
	printk("SNAP check timer ok\n");

	if (ap_slots) {
		for (unsigned i = 0; i < ap_slots && i < MAX_CPUS; i++)
			ap_goal[i] = ap_count[i] + 2;
		if (!serve_until(aps_advanced, 2000))
			wtest_fail("AP counter stuck for 2 s");
		printk("SNAP check ap ok %u\n", ap_slots);
	}

	if (have_blk) {
		if (blk_cycle(1, why, sizeof(why)))
			wtest_fail("%s", why);
		service();
		printk("SNAP check blk ok\n");
	}

	if (net && have_ip) {
		uint64_t timeout = param_u64("timeout", 30);

		net_goal = (unsigned)param_u64("pings", 3);
		printk("snap: answering ARP and ICMP echo for %u.%u.%u.%u\n", my_ip[0], my_ip[1],
		       my_ip[2], my_ip[3]);
		if (!serve_until(pings_answered, timeout * 1000)) {
			printk("net: timeout after %u replies\n", vnet_serve(my_ip));
			wtest_fail("net: timeout after %u replies", vnet_serve(my_ip));
		}
		vnet_tx_wait(1000);
		printk("SNAP check net ok\n");
	} else if (net) {
		/* No address to answer for: send one broadcast frame and wait
		 * for its TX completion. */
		static const char payload[] = "wisp-testguest snap";
		uint8_t f[14 + sizeof(payload)];

		memset(f, 0xff, 6);
		memcpy(f + 6, vnet_mac(), 6);
		f[12] = ETH_P_SNAP >> 8;
		f[13] = ETH_P_SNAP & 0xff;
		memcpy(f + 14, payload, sizeof(payload));
		vnet_serve(NULL);
		if (!vnet_tx_frame(f, sizeof(f)) || !vnet_tx_wait(2000))
			wtest_fail("net: TX frame not completed within 2 s");
		printk("SNAP check net ok\n");
	}
	service();
	wtest_pass();
}

/* ---------------- set-up ---------------- */
static int find_device(uint32_t id)
{
	struct vdev d;

	memset(&d, 0, sizeof(d));
	for (unsigned i = 0; i < g_boot.nvirtio; i++)
		if (vio_probe(&d, i) == 0 && d.device_id == id)
			return (int)i;
	return -1;
}

static void setup_blk(void)
{
	const char *p = param_str("blk", NULL);
	int idx = p ? (int)param_u64("blk", 0) : find_device(VIRTIO_ID_BLOCK);
	char why[160];

	blk_sector = param_u64("sector", 8);
	if (idx < 0)
		return;
	if (vblk_open(&disk, (unsigned)idx, VBLK_WANT, 256, 1) < 0)
		wtest_fail("device %d: %s", idx, disk.v.err);
	if (disk.ro)
		wtest_fail("device %d is read-only (VIRTIO_BLK_F_RO)", idx);
	if (blk_sector + BLK_SECTORS > disk.capacity)
		wtest_fail("wtest.sector=%lu: device %d has %lu sectors", (unsigned long)blk_sector,
			   idx, (unsigned long)disk.capacity);
	blk_buf = ram_alloc(BLK_SECTORS * SECTOR, PAGE);
	if (!blk_buf)
		wtest_fail("out of memory");
	if (blk_cycle(0, why, sizeof(why)))
		wtest_fail("%s", why);
	have_blk = true;
	printk("snap: blk device %d at 0x%lx: capacity %lu, features 0x%lx, wrote and read sectors %lu-%lu\n",
	       idx, (unsigned long)disk.v.base, (unsigned long)disk.capacity,
	       (unsigned long)disk.v.features, (unsigned long)blk_sector,
	       (unsigned long)(blk_sector + BLK_SECTORS - 1));
}

static void setup_net(void)
{
	const char *ips = param_str("ip", NULL);
	const char *p = param_str("net", NULL);
	int idx = p ? (int)param_u64("net", 0) : find_device(VIRTIO_ID_NET);

	if (ips) {
		if (!vnet_parse_ip(ips, my_ip))
			wtest_fail("wtest.ip=%s: expected A.B.C.D", ips);
		have_ip = true;
	}
	if (idx < 0) {
		if (have_ip)
			wtest_fail("wtest.ip given but there is no virtio-net device");
		return;
	}
	net = vnet_open((unsigned)idx, true);   /* RX buffers posted now */
}

static void setup_memory(uint64_t mib)
{
	uint64_t t0;
	void *m;

	mem_stride = param_u64("stride", 0);
	if (param_str("stride", NULL) &&
	    (mem_stride < 8 || mem_stride > PAGE || (mem_stride & (mem_stride - 1))))
		wtest_fail("wtest.stride=%lu: expected a power of two in 8..4096",
			   (unsigned long)mem_stride);
	if (!mem_stride) {
		uint64_t ns = loop_ns();

		mem_stride = ns < 50 ? 8 : 512;
		printk("snap: %s CPU (%lu ns/loop), stride %lu\n", ns < 50 ? "native" : "emulated",
		       (unsigned long)ns, (unsigned long)mem_stride);
	}

	for (unsigned k = 0; k < TPL_WORDS; k++)
		tpl[k] = mix64(seed_base + k);
	if (mib > (ram_alloc_left() >> 20))
		wtest_fail("wtest.mib=%lu: only %lu MiB free", (unsigned long)mib,
			   (unsigned long)(ram_alloc_left() >> 20));
	m = ram_alloc(mib << 20, PAGE);
	if (!m && mib)
		wtest_fail("wtest.mib=%lu: out of memory", (unsigned long)mib);
	mem_start = (uint64_t)(uintptr_t)m;
	mem_pages = mib << 8;
	t0 = now_us();
	for (uint64_t i = 0; i < mem_pages; i++)
		fill_page(mem_start + i * PAGE);
	printk("snap: memory [0x%lx-0x%lx) seed %lu stride %lu, filled in %lu ms\n",
	       (unsigned long)mem_start, (unsigned long)(mem_start + (mib << 20)),
	       (unsigned long)param_u64("seed", 1), (unsigned long)mem_stride,
	       (unsigned long)((now_us() - t0) / 1000));
	printk("SNAP filled %lu MiB\n", (unsigned long)mib);
}

static void setup_interrupts(void)
{
	uint64_t deadline;

	idt_set_handler(VEC_TIMER, on_tick);
	idt_set_handler(VEC_SERIAL, on_serial);
	ioapic_route(4, VEC_SERIAL, lapic_id());
	uart_enable_rx_irq();
	on_serial(NULL);                /* bytes that came before (IF is still 0) */
	lapic_timer_periodic(TIMER_HZ, VEC_TIMER);
	sti();
	deadline = now_us() + 2000000;
	while (ticks < 2 && now_us() < deadline)
		cpu_relax();
	if (ticks < 2)
		wtest_fail("no LAPIC timer interrupt within 2 s");
	last_ticks = ticks;
	next_line = ticks + TICKS_PER_LINE;
}

void scen_snap(void)
{
	uint64_t mib = param_u64("mib", 16);
	unsigned up = 1;
	int ncpu;

	printk("SNAP boot\n");
	seed_base = param_u64("seed", 1) * 0x9e3779b97f4a7c15ULL;
	lapic_init();
	timer_calibrate();
	pattern_init();
	setup_blk();
	setup_net();
	{
		const char *ap = param_str("ap", "spin");

		if (strcmp(ap, "spin") && strcmp(ap, "tick"))
			wtest_fail("wtest.ap=%s: expected spin or tick", ap);
		ap_tick = !strcmp(ap, "tick");
		idt_set_handler(VEC_AP_TIMER, on_ap_tick);
		__asm__ volatile("sidt %0" : "=m"(bsp_idtr));
	}
	ncpu = smp_start_aps(ap_loop, 2000, &up);
	if (up != (unsigned)ncpu)
		wtest_fail("only %u of %d cpus", up, ncpu);
	setup_dirty_area();
	touch_pages = param_u64("tpages", 1024);
	if (touch_pages == 0 || touch_pages > 1048576)
		wtest_fail("wtest.tpages=%lu: expected 1..1048576", (unsigned long)touch_pages);
	touch_words = param_u64("twords", 1);
	if (touch_words == 0 || touch_words > PAGE_WORDS)
		wtest_fail("wtest.twords=%lu: expected 1..%u", (unsigned long)touch_words, PAGE_WORDS);
	setup_memory(mib);
	setup_interrupts();

	for (;;) {
		/* cli: a byte that arrives between the test and hlt still wakes us. */
		cli();
		if (rx_tail == rx_head && ticks < next_line)
			sti_hlt();
		else
			sti();
		service();
		if (v_requested)
			check();
	}
}
