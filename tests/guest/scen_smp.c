/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_smp.c — `smp`: find the processors in the MP table, start each AP
 * with INIT-SIPI-SIPI into the real-mode trampoline (entry.S, copied to
 * TRAMP_BASE), and wait for every AP to print "cpu N up".
 *
 * APs are started one at a time (each gets the stack in ap_stack_top).
 * Parameters: wtest.timeout=MS per AP (default 2000).
 * smp_start_aps() is shared with `snap`, whose APs run a counter loop.
 */
#include "guest.h"


struct mp_proc {
	uint8_t apic_id;
	uint8_t flags;       /* bit 0 enabled, bit 1 BSP */
};

extern char tramp_start[], tramp_end[];
extern uint64_t ap_stack_top;      /* entry.S: stack for the next AP */

extern uint8_t ap_stacks[MAX_CPUS][AP_STACK_SIZE];   /* entry.S, not cleared */
static volatile uint32_t cpus_up;

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static const uint8_t *mp_scan(uint64_t a, uint64_t b)
{
	for (; a + 16 <= b; a += 16) {
		const uint8_t *p = (const uint8_t *)(uintptr_t)a;

		if (!memcmp(p, "_MP_", 4) && p[8] == 1 && sum8(p, 16) == 0)
			return p;
	}
	return NULL;
}

/* Processor entries of the MP configuration table; -1 if none is found. */
static int mp_processors(struct mp_proc *out, unsigned max, char *why, size_t whylen)
{
	const uint8_t *fp, *ct, *e;
	uint32_t ct_addr;
	uint16_t len, count;
	unsigned n = 0;
	uint16_t ebda = *(const volatile uint16_t *)phys_ptr(0x40e);

	fp = mp_scan(0x9fc00, 0xa0000);
	if (!fp && ebda)
		fp = mp_scan((uint64_t)ebda << 4, ((uint64_t)ebda << 4) + 1024);
	if (!fp)
		fp = mp_scan(0xf0000, 0x100000);
	if (!fp) {
		snprintf(why, whylen, "no MP floating pointer");
		return -1;
	}
	memcpy(&ct_addr, fp + 4, 4);
	ct = (const uint8_t *)(uintptr_t)ct_addr;
	if (!ct_addr || memcmp(ct, "PCMP", 4)) {
		snprintf(why, whylen, "no PCMP table at 0x%x", ct_addr);
		return -1;
	}
	memcpy(&len, ct + 4, 2);
	memcpy(&count, ct + 34, 2);
	if (sum8(ct, len) != 0) {
		snprintf(why, whylen, "MP table checksum wrong");
		return -1;
	}
	printk("smp: MP table at 0x%lx, config table at 0x%x, %u entries, %u bytes\n",
	       (unsigned long)(uintptr_t)fp, ct_addr, count, len);
	e = ct + 44;
	/* Walk by the table length, as Linux does (QEMU's qboot leaves the
	 * entry count at 0). */
	while (e + 8 <= ct + len) {
		if (e[0] == 0) {             /* processor, 20 bytes */
			if (n < max && (e[3] & 1)) {
				out[n].apic_id = e[1];
				out[n].flags = e[3];
				n++;
			}
			e += 20;
		} else {
			e += 8;
		}
	}
	return (int)n;
}

/* What an AP runs after reporting (smp_start_aps); NULL: halt. */
static void (*volatile ap_work)(void);

void ap_main(void)
{
	uint32_t id = lapic_id();
	void (*work)(void) = ap_work;

	printk("cpu %u up\n", id);
	__atomic_fetch_add(&cpus_up, 1, __ATOMIC_SEQ_CST);
	if (work)
		work();
	for (;;)
		__asm__ volatile("hlt");
}

int smp_start_aps(void (*work)(void), uint64_t timeout_ms, unsigned *up)
{
	struct mp_proc cpus[MAX_CPUS];
	char why[96];
	int n = mp_processors(cpus, MAX_CPUS, why, sizeof(why));
	uint32_t self;
	unsigned started = 0;

	if (n < 0)
		wtest_fail("%s", why);
	if (n == 0)
		wtest_fail("MP table lists no enabled processor");
	lapic_init();
	timer_calibrate();
	self = lapic_id();
	printk("smp: %d cpus in the MP table, BSP apic id %u\n", n, self);
	printk("cpu %u up\n", self);
	cpus_up = 1;
	ap_work = work;

	memcpy((void *)(uintptr_t)TRAMP_BASE, tramp_start,
	       (size_t)(tramp_end - tramp_start));
	for (int i = 0; i < n; i++) {
		uint32_t id = cpus[i].apic_id;
		uint32_t want = cpus_up + 1;
		uint64_t deadline;

		if (id == self)
			continue;
		if (started >= MAX_CPUS)
			break;
		ap_stack_top = (uint64_t)(uintptr_t)(ap_stacks[started] + AP_STACK_SIZE);
		started++;
		mb();
		printk("smp: starting apic id %u\n", id);
		if (lapic_send_ipi(id, 0x4500))             /* INIT, assert */
			printk("smp: INIT to %u not delivered\n", id);
		delay_us(10000);
		lapic_send_ipi(id, 0x4600 | TRAMP_VECTOR);  /* SIPI */
		delay_us(200);
		if (cpus_up < want)
			lapic_send_ipi(id, 0x4600 | TRAMP_VECTOR);
		deadline = now_us() + timeout_ms * 1000;
		while (cpus_up < want && now_us() < deadline)
			cpu_relax();
		if (cpus_up < want)
			printk("smp: apic id %u did not report within %lu ms\n", id,
			       (unsigned long)timeout_ms);
	}
	*up = cpus_up;
	return n;
}

void scen_smp(void)
{
	unsigned up;
	int n = smp_start_aps(NULL, param_u64("timeout", 2000), &up);

	if (up != (uint32_t)n)
		wtest_fail("only %u of %d cpus", up, n);
	wtest_pass();
}
