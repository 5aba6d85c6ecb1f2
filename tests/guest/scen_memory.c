/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_memory.c — `memory`: print the memory map, then write an
 * address-dependent pattern (addr ^ constant, 8-byte stores) over every
 * usable RAM byte above 1 MiB that the guest image does not occupy, and
 * read it all back after the whole write pass (so aliasing between the two
 * sides of the MMIO gap is caught too).
 *
 * Parameters: wtest.stride=BYTES (a multiple of 8). Default: 8 (every
 * word) when the CPU runs this guest natively; when it is emulated (PVM
 * emulates every instruction of this guest: ~1 us per loop iteration) the
 * default becomes max(4 KiB, RAM/64Ki rounded up to a power of two), i.e.
 * one word per page or sparser, so the run stays within seconds.
 */
#include "guest.h"

#define PATTERN   0x5a5ac3c3a5a53c3cULL
#define LOW_SKIP  0x100000ULL                   /* boot structures below 1 MiB */
#define GIB4      (4ULL << 30)
#define MAX_SPANS (MAX_MEMMAP * 2)

extern char _image_start[], _image_end[];

struct span {
	uint64_t a, b;
};

static struct span spans[MAX_SPANS];
static unsigned nspans;

static void add_span(uint64_t a, uint64_t b)
{
	a = (a + 7) & ~7ULL;
	b &= ~7ULL;
	if (a < b && nspans < MAX_SPANS) {
		spans[nspans].a = a;
		spans[nspans].b = b;
		nspans++;
	}
}

static const char *type_name(uint32_t t)
{
	switch (t) {
	case 1: return "ram";
	case 2: return "reserved";
	case 3: return "acpi";
	case 4: return "nvs";
	case 5: return "unusable";
	default: return "other";
	}
}

static __attribute__((noinline)) void fill(uint64_t a, uint64_t b, uint64_t stride)
{
	for (uint64_t p = a; p < b; p += stride)
		*(uint64_t *)p = p ^ PATTERN;
}

static __attribute__((noinline)) uint64_t check(uint64_t a, uint64_t b, uint64_t stride)
{
	for (uint64_t p = a; p < b; p += stride)
		if (*(uint64_t *)p != (p ^ PATTERN))
			return p;
	return 0;
}

/* ns per iteration of a trivial loop: ~0.3 native, ~1000+ emulated */
static uint64_t loop_ns(void)
{
	uint64_t sink = 0;
	uint64_t t0 = rdtsc(), t1;

	for (unsigned i = 0; i < 10000; i++)
		__asm__ volatile("add %1, %0" : "+r"(sink) : "r"((uint64_t)i));
	t1 = rdtsc();
	return (t1 - t0) * 1000000 / tsc_per_ms() / 10000;
}

static uint64_t default_stride(uint64_t bytes)
{
	uint64_t ns = loop_ns(), stride = 4096;

	if (ns < 50) {
		printk("memory: native speed (%lu ns/loop), checking every word\n",
		       (unsigned long)ns);
		return 8;
	}
	while (bytes / stride > 65536)
		stride <<= 1;
	printk("memory: emulated CPU (%lu ns/loop), default stride %lu bytes\n",
	       (unsigned long)ns, (unsigned long)stride);
	return stride;
}

void scen_memory(void)
{
	uint64_t img_a = (uint64_t)(uintptr_t)_image_start & ~0xfffULL;
	uint64_t img_b = ((uint64_t)(uintptr_t)_image_end + 0xfff) & ~0xfffULL;
	uint64_t map_limit = paging_mapped_end();
	uint64_t stride = param_u64("stride", 0);
	uint64_t total = 0, low = 0, high = 0, t0, t1, t2;

	if (param_str("stride", NULL) && (stride < 8 || stride % 8))
		wtest_fail("wtest.stride=%lu must be a multiple of 8", (unsigned long)stride);
	if (!g_boot.nmap)
		wtest_fail("no memory map from the VMM");

	for (unsigned i = 0; i < g_boot.nmap; i++) {
		const struct mem_range *m = &g_boot.map[i];
		uint64_t a = m->addr, b = m->addr + m->size;

		printk("e820: [0x%016lx-0x%016lx) %s\n", (unsigned long)a,
		       (unsigned long)b, type_name(m->type));
		if (m->type != E820_RAM)
			continue;
		total += m->size;
		if (a < LOW_SKIP)
			a = LOW_SKIP;
		if (b > map_limit) {
			printk("memory: RAM above %lu GiB is not mapped, skipped\n",
			       (unsigned long)(map_limit >> 30));
			b = map_limit;
		}
		if (a >= b)
			continue;
		/* cut out the guest image (code, data, stacks, page tables) */
		if (img_b <= a || img_a >= b) {
			add_span(a, b);
		} else {
			add_span(a, img_a);
			add_span(img_b, b);
		}
	}
	printk("memory: %lu MiB of RAM in the map\n", (unsigned long)(total >> 20));

	for (unsigned i = 0; i < nspans; i++) {
		uint64_t n = spans[i].b - spans[i].a;

		if (spans[i].a < GIB4)
			low += n;
		else
			high += n;
	}
	timer_calibrate();
	if (!stride)
		stride = default_stride(low + high);
	printk("memory: testing %lu MiB (stride %lu) in %u ranges\n",
	       (unsigned long)((low + high) >> 20), (unsigned long)stride, nspans);

	t0 = now_us();
	for (unsigned i = 0; i < nspans; i++) {
		uint64_t ts = now_us();

		fill(spans[i].a, spans[i].b, stride);
		printk("memory: wrote [0x%lx-0x%lx) in %lu ms\n", (unsigned long)spans[i].a,
		       (unsigned long)spans[i].b, (unsigned long)((now_us() - ts) / 1000));
	}
	barrier();
	t1 = now_us();
	for (unsigned i = 0; i < nspans; i++) {
		uint64_t bad = check(spans[i].a, spans[i].b, stride);

		if (bad)
			wtest_fail("mismatch at 0x%lx: read 0x%016lx expected 0x%016lx",
				   (unsigned long)bad, (unsigned long)*(uint64_t *)bad,
				   (unsigned long)(bad ^ PATTERN));
	}
	t2 = now_us();
	printk("memory: tested %lu MiB below 4 GiB, %lu MiB above 4 GiB\n",
	       (unsigned long)(low >> 20), (unsigned long)(high >> 20));
	printk("memory: write %lu ms, verify %lu ms\n",
	       (unsigned long)((t1 - t0) / 1000), (unsigned long)((t2 - t1) / 1000));
	wtest_pass();
}
