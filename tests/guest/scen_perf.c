/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_perf.c — `perf`: times a few primitive operations (plain loop,
 * pause, port read, LAPIC MMIO read, page-touching writes) so the cost of
 * exits and of PVM's emulation can be read off a console log.
 * Parameters: wtest.n=ITERATIONS (default 100000).
 */
#include "guest.h"

static uint64_t ns_per(uint64_t t0, uint64_t t1, uint64_t n)
{
	return (t1 - t0) * 1000000 / tsc_per_ms() / n;
}

void scen_perf(void)
{
	uint64_t n = param_u64("n", 100000), t0, t1;
	uint64_t sink = 0;

	timer_calibrate();
	lapic_init();
	if (param_u64("sti", 0))
		sti();

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		__asm__ volatile("add %1, %0" : "+r"(sink) : "r"((uint64_t)i));
	t1 = rdtsc();
	printk("perf: loop        %lu ns/iter\n", (unsigned long)ns_per(t0, t1, n));

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpu_relax();
	t1 = rdtsc();
	printk("perf: pause       %lu ns/iter\n", (unsigned long)ns_per(t0, t1, n));

	t0 = rdtsc();
	for (uint64_t i = 0; i < n / 10 + 1; i++)
		sink += inb(COM1 + 5);
	__asm__ volatile("" : : "r"(sink));
	t1 = rdtsc();
	printk("perf: inb 0x3fd   %lu ns/iter\n", (unsigned long)ns_per(t0, t1, n / 10 + 1));

	t0 = rdtsc();
	for (uint64_t i = 0; i < n / 10 + 1; i++)
		sink += mmio_read32(LAPIC_BASE + 0x30);
	__asm__ volatile("" : : "r"(sink));
	t1 = rdtsc();
	printk("perf: lapic read  %lu ns/iter\n", (unsigned long)ns_per(t0, t1, n / 10 + 1));

	t0 = rdtsc();
	for (uint64_t i = 0; i < 256; i++)
		*(volatile uint64_t *)phys_ptr(0x4000000 + i * 4096) = i;
	t1 = rdtsc();
	printk("perf: first touch %lu ns/page\n", (unsigned long)ns_per(t0, t1, 256));
	wtest_pass();
}
