/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bootinfo.c — what the VMM handed over: the command line and the memory
 * map, from struct hvm_start_info (PVH) or struct boot_params (Linux 64-bit
 * boot protocol), copied into g_boot before anything else touches low
 * memory; then the command line is split into wtest=, wtest.KEY=VALUE and
 * virtio_mmio.device= entries.
 */
#include "guest.h"

#define HVM_START_MAGIC 0x336ec578u

/* struct hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) */
struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* struct boot_params offsets (Documentation/arch/x86/zero-page.rst) */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_CMD_LINE_PTR     0x228
#define BP_E820_TABLE       0x2d0
#define BP_E820_MAX         128
#define BP_E820_ENTRY_SIZE  20

struct bootinfo g_boot;
static char cmd_tokens[CMDLINE_MAX];   /* NUL-split copy of the command line */

static void problem(const char *what)
{
	if (!g_boot.problem[0])
		snprintf(g_boot.problem, sizeof(g_boot.problem), "%s", what);
}

static void copy_cmdline(uint64_t paddr)
{
	const volatile char *src = (const volatile char *)paddr;
	size_t i;

	if (!paddr)
		return;
	for (i = 0; i + 1 < CMDLINE_MAX && src[i]; i++)
		g_boot.cmdline[i] = src[i];
	g_boot.cmdline[i] = '\0';
}

static void add_range(uint64_t addr, uint64_t size, uint32_t type)
{
	if (!size)
		return;
	if (g_boot.nmap >= MAX_MEMMAP) {
		problem("memory map truncated");
		return;
	}
	g_boot.map[g_boot.nmap].addr = addr;
	g_boot.map[g_boot.nmap].size = size;
	g_boot.map[g_boot.nmap].type = type;
	g_boot.nmap++;
}

static void parse_pvh(const struct hvm_start_info *si)
{
	if (si->magic != HVM_START_MAGIC) {
		problem("hvm_start_info: bad magic");
		return;
	}
	copy_cmdline(si->cmdline_paddr);
	g_boot.rsdp = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_table_entry *e =
			(const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_range(e[i].addr, e[i].size, e[i].type);
	} else {
		problem("hvm_start_info: no memory map (version 0)");
	}
}

static void parse_boot_params(const uint8_t *bp)
{
	uint64_t cmd = *(const uint32_t *)(bp + BP_CMD_LINE_PTR) |
		       (uint64_t)*(const uint32_t *)(bp + BP_EXT_CMD_LINE_PTR) << 32;
	unsigned n = bp[BP_E820_ENTRIES];

	copy_cmdline(cmd);
	memcpy(&g_boot.rsdp, bp + BP_ACPI_RSDP_ADDR, 8);
	if (n > BP_E820_MAX) {
		problem("boot_params: e820_entries > 128");
		n = BP_E820_MAX;
	}
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = bp + BP_E820_TABLE + i * BP_E820_ENTRY_SIZE;
		uint64_t addr, size;
		uint32_t type;

		memcpy(&addr, e, 8);
		memcpy(&size, e + 8, 8);
		memcpy(&type, e + 16, 4);
		add_range(addr, size, type);
	}
}

/* "4K@0xd0000000:5" (also 4096@..., optional ":id" suffix ignored) */
static void parse_virtio(const char *v)
{
	struct virtio_mmio_desc d;
	const char *p;

	if (!parse_u64(v, &d.size, &p))
		goto bad;
	if (*p == 'K' || *p == 'k') {
		d.size <<= 10;
		p++;
	} else if (*p == 'M' || *p == 'm') {
		d.size <<= 20;
		p++;
	}
	if (*p++ != '@')
		goto bad;
	if (!parse_u64(p, &d.addr, &p) || *p++ != ':')
		goto bad;
	{
		uint64_t irq;

		if (!parse_u64(p, &irq, &p))
			goto bad;
		d.irq = (unsigned)irq;
	}
	if (g_boot.nvirtio >= MAX_VIRTIO) {
		problem("too many virtio_mmio.device entries");
		return;
	}
	g_boot.virtio[g_boot.nvirtio++] = d;
	return;
bad:
	problem("malformed virtio_mmio.device entry");
}

static void split_cmdline(void)
{
	char *s = cmd_tokens;

	memcpy(cmd_tokens, g_boot.cmdline, sizeof(cmd_tokens));
	while (*s) {
		char *w;

		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		w = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
		if (*s)
			*s++ = '\0';
		if (!strncmp(w, "wtest=", 6)) {
			g_boot.scenario = w + 6;
		} else if (!strncmp(w, "wtest.", 6)) {
			char *eq = w + 6;

			while (*eq && *eq != '=')
				eq++;
			if (g_boot.nparams >= MAX_PARAMS) {
				problem("too many wtest. parameters");
				continue;
			}
			g_boot.pkey[g_boot.nparams] = w + 6;
			g_boot.pval[g_boot.nparams] = *eq ? eq + 1 : "";
			*eq = '\0';
			g_boot.nparams++;
		} else if (!strncmp(w, "virtio_mmio.device=", 19)) {
			parse_virtio(w + 19);
		}
	}
}

void bootinfo_parse(void)
{
	g_boot.kind = boot_kind;
	if (boot_kind == BOOT_KIND_PVH)
		parse_pvh((const struct hvm_start_info *)(uintptr_t)boot_info_ptr);
	else if (boot_kind == BOOT_KIND_LINUX64)
		parse_boot_params((const uint8_t *)(uintptr_t)boot_info_ptr);
	else
		problem("unknown boot entry");
	split_cmdline();
}

const char *boot_kind_name(void)
{
	return g_boot.kind == BOOT_KIND_PVH ? "pvh" :
	       g_boot.kind == BOOT_KIND_LINUX64 ? "linux64" : "unknown";
}

const char *param_str(const char *key, const char *dflt)
{
	for (unsigned i = 0; i < g_boot.nparams; i++)
		if (!strcmp(g_boot.pkey[i], key))
			return g_boot.pval[i];
	return dflt;
}

uint64_t param_u64(const char *key, uint64_t dflt)
{
	const char *s = param_str(key, NULL);
	const char *end;
	uint64_t v;

	if (!s)
		return dflt;
	if (!parse_u64(s, &v, &end) || *end) {
		printk("wtest: parameter wtest.%s=%s is not a number, using %lu\n",
		       key, s, (unsigned long)dflt);
		return dflt;
	}
	return v;
}
