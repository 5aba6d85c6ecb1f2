/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c — the guest's C entry: read the boot information, announce boot
 * completion, run the scenario named by wtest=, print exactly one result
 * line and reset.
 */
#include "guest.h"

#define BOOT_COMPLETE_ADDR  0xc0000000ULL
#define BOOT_COMPLETE_VALUE 123
#define GUEST_VERSION       "0.1"

const char *g_scenario = "none";
static volatile uint32_t result_printed;

struct scenario {
	const char *name;
	void (*run)(void);
};

static const struct scenario scenarios[] = {
	{ "hello", scen_hello },
	{ "memory", scen_memory },
	{ "smp", scen_smp },
	{ "irq", scen_irq },
	{ "reset", scen_reset },
	{ "triple-fault", scen_triple_fault },
	{ "ticker", scen_ticker },
	{ "perf", scen_perf },
	{ "blk", scen_blk },
	{ "blk-bench", scen_blk_bench },
	{ "blk-reset", scen_blk_reset },
	{ "rng", scen_rng },
	{ "hostile", scen_hostile },
	{ "flood", scen_flood },
	{ "net", scen_net },
	{ "net-burst", scen_net_burst },
	{ "net-bench", scen_net_bench },
	{ "snap", scen_snap },
	{ "balloon", scen_balloon },
	{ "vsock", scen_vsock },
	{ "acpi", scen_acpi },
	{ "cpuid", scen_cpuid },
};

void machine_reset(void)
{
	/* i8042 "pulse reset line"; a VMM without one (QEMU microvm) ignores it. */
	uint64_t t0;

	outb(0x64, 0xfe);
	/* Give an asynchronous reset ~50-100 ms (TSC cycles, uncalibrated). */
	t0 = rdtsc();
	while (rdtsc() - t0 < 200000000ULL)
		cpu_relax();
	force_triple_fault();
}

static NORETURN void finish(const char *verdict, const char *reason)
{
	/* First caller wins: exactly one WTEST line, even from an exception. */
	if (__atomic_exchange_n(&result_printed, 1, __ATOMIC_ACQ_REL) == 0) {
		if (reason)
			printk_unlocked("WTEST %s %s %s\n", g_scenario, verdict, reason);
		else
			printk_unlocked("WTEST %s %s\n", g_scenario, verdict);
	}
	machine_reset();
}

void wtest_pass(void)
{
	finish("PASS", NULL);
}

void wtest_fail(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	finish("FAIL", reason);
}

void guest_main(void)
{
	uart_init();
	bootinfo_parse();
	mmio_write8(BOOT_COMPLETE_ADDR, BOOT_COMPLETE_VALUE);
	pic_mask_all();
	idt_init();
	{
		uint64_t ram_end = 0;

		for (unsigned i = 0; i < g_boot.nmap; i++)
			if (g_boot.map[i].type == E820_RAM &&
			    g_boot.map[i].addr + g_boot.map[i].size > ram_end)
				ram_end = g_boot.map[i].addr + g_boot.map[i].size;
		paging_map_upto(ram_end);
	}

	if (g_boot.scenario)
		g_scenario = g_boot.scenario[0] ? g_boot.scenario : "none";
	printk("wisp-testguest %s: entry=%s scenario=%s\n", GUEST_VERSION,
	       boot_kind_name(), g_scenario);
	if (g_boot.problem[0])
		printk("wtest: boot information: %s\n", g_boot.problem);
	/* No virtio_mmio.device words: take the devices from the DSDT (acpi_find.c);
	 * the acpi scenario judges the tables itself. */
	if (!g_boot.nvirtio && strcmp(g_scenario, "acpi")) {
		unsigned n = acpi_virtio_from_dsdt();

		if (n)
			printk("wtest: %u virtio devices from the ACPI DSDT (no virtio_mmio.device words)\n",
			       n);
	}

	for (size_t i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(g_scenario, scenarios[i].name))
			scenarios[i].run();
	/* Show what the VMM passed, so a missing wtest= can be diagnosed. */
	printk("cmdline: %s\n", g_boot.cmdline);
	wtest_fail("unknown scenario");
}

/* ---------------- simple scenarios ---------------- */
void scen_hello(void)
{
	printk("Hello from the wisp test guest\n");
	printk("cmdline: %s\n", g_boot.cmdline);
	wtest_pass();
}

void scen_reset(void)
{
	printk("reset: resetting through the i8042\n");
	wtest_pass();
}

void scen_triple_fault(void)
{
	printk("triple-fault: loading an empty IDT and raising #UD\n");
	printk_unlocked("WTEST %s PASS\n", g_scenario);
	result_printed = 1;
	force_triple_fault();
}
