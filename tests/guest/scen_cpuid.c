/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_cpuid.c — `cpuid`: prints what the boot vCPU's CPUID reports for the
 * leaves Firecracker's CPU templates change, one line each:
 *   CPUID 0x00000007.0: eax=... ebx=... ecx=... edx=...
 * and, with wtest.msr=<address>, that MSR's value:
 *   MSR 0x00000277: 0x0007040600070406
 * so that a host test can check that a CPU template was applied
 * (tests/integration/test_fc_cputemplate.c). With wtest.wait=1 it then
 * prints "cpuid: waiting" and polls the serial port: `C` prints the lines
 * again (after a snapshot restore), `Q` ends. Always passes.
 */
#include "guest.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void report(uint64_t msr)
{
	static const uint32_t leaves[][2] = {
		{0, 0}, {1, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x80000000, 0}, {0x80000001, 0},
		{0x80000008, 0},
	};
	uint32_t r[4];

	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		cpuid(leaves[i][0], leaves[i][1], r);
		printk("CPUID 0x%08x.%u: eax=%08x ebx=%08x ecx=%08x edx=%08x\n", leaves[i][0],
		       leaves[i][1], r[0], r[1], r[2], r[3]);
	}
	if (msr)
		printk("MSR 0x%08x: 0x%016lx\n", (uint32_t)msr, (unsigned long)rdmsr((uint32_t)msr));
}

void scen_cpuid(void)
{
	uint64_t msr = param_u64("msr", 0);

	report(msr);
	if (param_u64("wait", 0)) {
		printk("cpuid: waiting\n");
		for (;;) {
			uint8_t c;

			while (!uart_rx_ready())
				cpu_relax();
			c = uart_getc();
			if (c == 'C')
				report(msr);
			else if (c == 'Q')
				break;
		}
	}
	wtest_pass();
}
