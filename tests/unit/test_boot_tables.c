/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_boot_tables.c — e820, initrd placement, boot_params, PVH start info,
 * MP table, page tables, GDT and boot registers. Structures are checked at
 * the raw byte offsets the specifications give, independently of the
 * implementation's struct definitions.
 */
#include <errno.h>

#include "../check_main.h"
#include "boot_test_util.h"

static struct guest_mem mem;

static void teardown(void)
{
	tm_free(&mem);
	tlog_stop();
}

static void setup_128m(void)
{
	tm_init(&mem, 128 * MiB, 0);
	tlog_start();
}

static void check_e820(const uint8_t *p, uint64_t addr, uint64_t size, uint32_t type)
{
	ck_assert_uint_eq(get64(p), addr);
	ck_assert_uint_eq(get64(p + 8), size);
	ck_assert_uint_eq(get32(p + 16), type);
}

/* ---------------- e820 ---------------- */
START_TEST(e820_small_guest)
{
	struct e820_entry e[E820_MAX];
	int n = e820_build(&mem, e, E820_MAX);

	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(e[0].addr, 0);
	ck_assert_uint_eq(e[0].size, EBDA_START);
	ck_assert_uint_eq(e[0].type, E820_RAM);
	ck_assert_uint_eq(e[1].addr, HIMEM_START);
	ck_assert_uint_eq(e[1].size, 128 * MiB - HIMEM_START);
	ck_assert_uint_eq(e[1].type, E820_RAM);
}
END_TEST

START_TEST(e820_above_the_gap)
{
	struct e820_entry e[E820_MAX];
	int n;

	tm_free(&mem);
	tm_init(&mem, 5 * GiB, 0);
	n = e820_build(&mem, e, E820_MAX);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(e[1].addr, HIMEM_START);
	ck_assert_uint_eq(e[1].addr + e[1].size, MMIO_GAP_START);
	ck_assert_uint_eq(e[2].addr, MMIO_GAP_END);
	ck_assert_uint_eq(e[2].size, 2 * GiB);
	ck_assert_uint_eq(e[2].type, E820_RAM);
}
END_TEST

START_TEST(e820_exactly_3g)
{
	struct e820_entry e[E820_MAX];

	tm_free(&mem);
	tm_init(&mem, 3 * GiB, 0);
	ck_assert_int_eq(e820_build(&mem, e, E820_MAX), 2);
	ck_assert_uint_eq(e[1].addr + e[1].size, MMIO_GAP_START);
}
END_TEST

START_TEST(e820_too_many)
{
	struct e820_entry e[1];

	ck_assert_int_eq(e820_build(&mem, e, 1), -E2BIG);
	ck_assert_logged("e820: more than 1 entries");
}
END_TEST

/* ---------------- initrd placement ---------------- */
static struct kernel_info elf_ki(uint64_t load_end)
{
	struct kernel_info ki;

	memset(&ki, 0, sizeof(ki));
	ki.kind = KERNEL_ELF;
	ki.entry64 = 0x1000000;
	ki.load_start = 0x1000000;
	ki.load_end = load_end;
	ki.initrd_addr_max = (uint32_t)(MMIO_GAP_START - 1);
	ki.cmdline_size = CMDLINE_CAPACITY - 1;
	return ki;
}

START_TEST(initrd_top_of_ram)
{
	struct kernel_info ki = elf_ki(0x2000000);
	uint64_t addr = 0;
	char err[200] = "";

	ck_assert_int_eq(initrd_place(&mem, &ki, MiB + 5, &addr, err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, 128 * MiB - MiB - 4096);
	ck_assert_uint_eq(addr % 4096, 0);
	ck_assert_int_eq(initrd_place(&mem, &ki, 8192, &addr, err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, 128 * MiB - 8192);
}
END_TEST

START_TEST(initrd_below_gap)
{
	struct kernel_info ki = elf_ki(0x2000000);
	uint64_t addr = 0;
	char err[200] = "";

	tm_free(&mem);
	tm_init(&mem, 5 * GiB, 0);
	ck_assert_int_eq(initrd_place(&mem, &ki, 10 * MiB, &addr, err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, MMIO_GAP_START - 10 * MiB);
}
END_TEST

START_TEST(initrd_respects_addr_max)
{
	struct kernel_info ki = elf_ki(0x2000000);
	uint64_t addr = 0;
	char err[200] = "";

	tm_free(&mem);
	tm_init(&mem, 1 * GiB, 0);
	ki.kind = KERNEL_BZIMAGE;
	ki.initrd_addr_max = 0x1fffffff;
	ck_assert_int_eq(initrd_place(&mem, &ki, 3 * MiB + 100, &addr, err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, (0x20000000 - (3 * MiB + 100)) & ~0xfffULL);
	ck_assert_uint_le(addr + 3 * MiB + 100 - 1, 0x1fffffff);
}
END_TEST

START_TEST(initrd_too_big)
{
	struct kernel_info ki = elf_ki(0x2000000);
	uint64_t addr = 0x1234;
	char err[200] = "";

	ck_assert_int_eq(initrd_place(&mem, &ki, 200 * MiB, &addr, err, sizeof(err)), -ENOMEM);
	ck_assert_err(err, "initrd of 209715200 bytes does not fit in guest RAM");
	ck_assert_uint_eq(addr, 0x1234);
	/* fits in RAM, but not above the kernel */
	ki.load_end = 120 * MiB;
	ck_assert_int_eq(initrd_place(&mem, &ki, 10 * MiB, &addr, err, sizeof(err)), -ENOMEM);
	ck_assert_err(err, "between the kernel's end 0x7800000");
	/* initrd_addr_max below the kernel */
	ki = elf_ki(0x2000000);
	ki.kind = KERNEL_BZIMAGE;
	ki.initrd_addr_max = 0x1000000;
	ck_assert_int_eq(initrd_place(&mem, &ki, MiB, &addr, err, sizeof(err)), -ENOMEM);
	ck_assert_err(err, "does not fit");
}
END_TEST

/* Found by fuzz_boot_loaders (corpus/boot_loaders/initrd_kernel_end_wraps):
 * a kernel end within a page of 2^64 rounded up to 0, and the initrd was
 * placed over the kernel. */
START_TEST(initrd_kernel_end_wraps)
{
	struct kernel_info ki = elf_ki(UINT64_MAX);
	uint64_t addr = 0x1234;
	char err[200] = "";

	ck_assert_int_eq(initrd_place(&mem, &ki, 4096, &addr, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "is past the address space");
	ck_assert_uint_eq(addr, 0x1234);
	ki.load_end = UINT64_MAX - 4094;
	ck_assert_int_eq(initrd_place(&mem, &ki, 4096, &addr, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(addr, 0x1234);
}
END_TEST

START_TEST(initrd_empty)
{
	struct kernel_info ki = elf_ki(0x2000000);
	uint64_t addr;
	char err[200] = "";

	ck_assert_int_eq(initrd_place(&mem, &ki, 0, &addr, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "initrd is empty");
}
END_TEST

/* ---------------- boot_params ---------------- */
static const char *CMD = "console=ttyS0 reboot=k panic=1 pci=off";

START_TEST(bootparams_elf)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR, .cmdline_len = strlen(CMD),
				  .initrd_addr = 0x7000000, .initrd_size = 0x1234 };
	const uint8_t *zp;

	memset(tm_ptr(&mem, ZERO_PAGE_ADDR, 4096), 0xee, 4096);
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, CMD), 0);
	zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);
	ck_assert_uint_eq(get16(zp + 0x1fe), 0xaa55);
	ck_assert_mem_eq(zp + 0x202, "HdrS", 4);
	ck_assert_uint_eq(get16(zp + 0x206), 0x020c);
	ck_assert_uint_eq(zp[0x210], 0xff);
	ck_assert_uint_eq(zp[0x211] & 0x81, 0x81);
	ck_assert_uint_eq(get16(zp + 0x224), 0xfe00);
	ck_assert_uint_eq(get32(zp + 0x228), CMDLINE_ADDR);
	ck_assert_uint_eq(get32(zp + 0x230), 0x1000000);
	ck_assert_uint_eq(get32(zp + 0x238), strlen(CMD));
	ck_assert_uint_eq(get32(zp + 0x218), 0x7000000);
	ck_assert_uint_eq(get32(zp + 0x21c), 0x1234);
	ck_assert_uint_eq(get32(zp + 0x0c0), 0);
	ck_assert_uint_eq(get32(zp + 0x0c4), 0);
	ck_assert_uint_eq(get32(zp + 0x0c8), 0);
	ck_assert_uint_eq(zp[0x1e8], 2);
	check_e820(zp + 0x2d0, 0, EBDA_START, 1);
	check_e820(zp + 0x2d0 + 20, HIMEM_START, 128 * MiB - HIMEM_START, 1);
	ck_assert_uint_eq(zp[0x2d0 + 40], 0);
	for (unsigned i = 0; i < 0x1e8; i++)   /* everything before is cleared */
		ck_assert_uint_eq(zp[i], 0);
	ck_assert_str_eq((const char *)tm_ptr(&mem, CMDLINE_ADDR, strlen(CMD) + 1), CMD);
}
END_TEST

START_TEST(bootparams_no_initrd)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR, .cmdline_len = 0 };
	const uint8_t *zp;

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, ""), 0);
	zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);
	ck_assert_uint_eq(get32(zp + 0x218), 0);
	ck_assert_uint_eq(get32(zp + 0x21c), 0);
	ck_assert_uint_eq(*tm_ptr(&mem, CMDLINE_ADDR, 1), 0);
}
END_TEST

/* Header byte at zero-page offset `off`. */
#define H(off) (ki.setup_header + ((off) - 0x1f1))

static struct kernel_info bz_ki(uint32_t cmdline_size)
{
	struct kernel_info ki;

	memset(&ki, 0, sizeof(ki));
	ki.kind = KERNEL_BZIMAGE;
	ki.entry64 = 0x1000200;
	ki.load_start = 0x1000000;
	ki.load_end = 0x1400000;
	ki.initrd_addr_max = 0x7fffffff;
	ki.cmdline_size = cmdline_size;
	ki.setup_header_len = 0x26c - 0x1f1;
	*H(0x1f1) = 27;
	put16(H(0x1fe), 0xaa55);
	*H(0x200) = 0xeb;
	*H(0x201) = 0x6a;
	memcpy(H(0x202), "HdrS", 4);
	put16(H(0x206), 0x020f);
	put16(H(0x20e), 0x3ab0);   /* kernel_version pointer */
	*H(0x211) = 0x01;
	put32(H(0x22c), 0x7fffffff);
	put32(H(0x230), 0x200000);
	put16(H(0x236), 0x0003);
	put32(H(0x238), cmdline_size);
	put64(H(0x258), 0x1000000);
	put32(H(0x260), 0x400000);
	return ki;
}
#undef H

START_TEST(bootparams_bzimage)
{
	struct kernel_info ki = bz_ki(100);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR, .cmdline_len = strlen(CMD),
				  .initrd_addr = 0x7000000, .initrd_size = 0x1000 };
	const uint8_t *zp;

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, CMD), 0);
	zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);
	ck_assert_uint_eq(zp[0x1f1], 27);
	ck_assert_uint_eq(get16(zp + 0x20e), 0x3ab0);
	ck_assert_uint_eq(get16(zp + 0x206), 0x020f);
	ck_assert_uint_eq(get16(zp + 0x236), 0x0003);
	ck_assert_uint_eq(get32(zp + 0x238), 100);      /* the kernel's limit, kept */
	ck_assert_uint_eq(get32(zp + 0x260), 0x400000);
	ck_assert_uint_eq(zp[0x210], 0xff);
	ck_assert_uint_eq(zp[0x211], 0x81);
	ck_assert_uint_eq(get16(zp + 0x224), 0xfe00);
	ck_assert_uint_eq(get32(zp + 0x228), CMDLINE_ADDR);
	ck_assert_uint_eq(get32(zp + 0x218), 0x7000000);
	ck_assert_uint_eq(get32(zp + 0x21c), 0x1000);
	ck_assert_uint_eq(zp[0x1e8], 2);
	ck_assert_str_eq((const char *)tm_ptr(&mem, CMDLINE_ADDR, strlen(CMD) + 1), CMD);
}
END_TEST

START_TEST(bootparams_bzimage_cmdline_limit)
{
	struct kernel_info ki = bz_ki(10);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR };
	const uint8_t *zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "0123456789"), 0);
	memset(tm_ptr(&mem, ZERO_PAGE_ADDR, 4096), 0, 4096);
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "0123456789a"), -E2BIG);
	ck_assert_logged("longer than the kernel's cmdline_size 10");
	ck_assert_uint_eq(get16(zp + 0x1fe), 0);   /* nothing written */
}
END_TEST

START_TEST(bootparams_cmdline_capacity)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR };
	char *big = malloc(CMDLINE_CAPACITY + 1);

	memset(big, 'x', CMDLINE_CAPACITY - 1);
	big[CMDLINE_CAPACITY - 1] = '\0';
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, big), 0);
	big[CMDLINE_CAPACITY - 1] = 'y';
	big[CMDLINE_CAPACITY] = '\0';
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, big), -E2BIG);
	ck_assert_logged("is 4096 bytes, longer than the 4095 reserved");
	ck_assert_int_eq(pvh_write(&mem, &bl, big), -E2BIG);
	free(big);
}
END_TEST

START_TEST(bootparams_cmdline_outside_ram)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = 128 * MiB - 4 };
	const uint8_t *zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "1234"), -EFAULT);
	ck_assert_logged("kernel command line at 0x7fffffc (5 bytes) is outside guest RAM");
	ck_assert_uint_eq(get16(zp + 0x1fe), 0);
	ck_assert_int_eq(pvh_write(&mem, &bl, "1234"), -EFAULT);
	ck_assert_uint_eq(get32(tm_ptr(&mem, PVH_INFO_ADDR, 4)), 0);
}
END_TEST

START_TEST(bootparams_initrd_outside_ram)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR,
				  .initrd_addr = 127 * MiB, .initrd_size = 2 * MiB };

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "x"), -EFAULT);
	ck_assert_logged("initrd [0x7f00000, +0x200000) is outside guest RAM");
	bl.initrd_addr = UINT64_MAX - 10;
	ck_assert_int_eq(pvh_write(&mem, &bl, "x"), -EFAULT);
}
END_TEST

START_TEST(bootparams_high_initrd_uses_ext_fields)
{
	struct kernel_info ki = elf_ki(0x2000000);
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR,
				  .initrd_addr = MMIO_GAP_END + 0x1000, .initrd_size = 0x2000 };
	const uint8_t *zp;

	tm_free(&mem);
	tm_init(&mem, 5 * GiB, 0);
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "x"), 0);
	zp = tm_ptr(&mem, ZERO_PAGE_ADDR, 4096);
	ck_assert_uint_eq(get32(zp + 0x218), 0x1000);
	ck_assert_uint_eq(get32(zp + 0x0c0), 1);
	ck_assert_uint_eq(get32(zp + 0x21c), 0x2000);
	ck_assert_uint_eq(get32(zp + 0x0c4), 0);
	ck_assert_uint_eq(zp[0x1e8], 3);
	check_e820(zp + 0x2d0 + 40, MMIO_GAP_END, 2 * GiB, 1);
}
END_TEST

/* ---------------- PVH ---------------- */
START_TEST(pvh_with_initrd)
{
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR, .cmdline_len = strlen(CMD),
				  .initrd_addr = 0x7000000, .initrd_size = 0x4321 };
	const uint8_t *si, *mod, *map;

	ck_assert_int_eq(pvh_write(&mem, &bl, CMD), 0);
	si = tm_ptr(&mem, PVH_INFO_ADDR, 56);
	ck_assert_uint_eq(get32(si + 0), 0x336ec578);
	ck_assert_uint_eq(get32(si + 4), 1);
	ck_assert_uint_eq(get32(si + 8), 0);
	ck_assert_uint_eq(get32(si + 12), 1);
	ck_assert_uint_eq(get64(si + 16), PVH_MODLIST_ADDR);
	ck_assert_uint_eq(get64(si + 24), CMDLINE_ADDR);
	ck_assert_uint_eq(get64(si + 32), 0);
	ck_assert_uint_eq(get64(si + 40), PVH_MEMMAP_ADDR);
	ck_assert_uint_eq(get32(si + 48), 2);
	mod = tm_ptr(&mem, PVH_MODLIST_ADDR, 32);
	ck_assert_uint_eq(get64(mod), 0x7000000);
	ck_assert_uint_eq(get64(mod + 8), 0x4321);
	ck_assert_uint_eq(get64(mod + 16), 0);
	map = tm_ptr(&mem, PVH_MEMMAP_ADDR, 48);
	ck_assert_uint_eq(get64(map), 0);
	ck_assert_uint_eq(get64(map + 8), EBDA_START);
	ck_assert_uint_eq(get32(map + 16), 1);
	ck_assert_uint_eq(get64(map + 24), HIMEM_START);
	ck_assert_uint_eq(get64(map + 32), 128 * MiB - HIMEM_START);
	ck_assert_uint_eq(get32(map + 40), 1);
	ck_assert_str_eq((const char *)tm_ptr(&mem, CMDLINE_ADDR, strlen(CMD) + 1), CMD);
}
END_TEST

START_TEST(pvh_without_initrd_big_guest)
{
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR };
	const uint8_t *si, *map;

	tm_free(&mem);
	tm_init(&mem, 5 * GiB, 0);
	ck_assert_int_eq(pvh_write(&mem, &bl, "wtest=memory"), 0);
	si = tm_ptr(&mem, PVH_INFO_ADDR, 56);
	ck_assert_uint_eq(get32(si + 12), 0);
	ck_assert_uint_eq(get64(si + 16), 0);
	ck_assert_uint_eq(get32(si + 48), 3);
	map = tm_ptr(&mem, PVH_MEMMAP_ADDR, 72);
	ck_assert_uint_eq(get64(map + 48), MMIO_GAP_END);
	ck_assert_uint_eq(get64(map + 56), 2 * GiB);
	ck_assert_uint_eq(get32(map + 64), 1);
}
END_TEST

/* ---------------- MP table ---------------- */
static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void check_mptable(unsigned n)
{
	const uint8_t *mpf, *mpc, *e, *end;
	unsigned cpus = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0, count = 0;
	uint32_t irq_seen = 0;
	uint16_t len;

	ck_assert_int_eq(mptable_write(&mem, n), 0);
	mpf = tm_ptr(&mem, 0x9fc00, 16);
	ck_assert_mem_eq(mpf, "_MP_", 4);
	ck_assert_uint_eq(get32(mpf + 4), 0x9fc10);
	ck_assert_uint_eq(mpf[8], 1);
	ck_assert_uint_eq(mpf[9], 4);
	ck_assert_uint_eq(sum8(mpf, 16), 0);
	ck_assert_uint_eq(mpf[11], 0);   /* feature1: configuration table present */

	mpc = tm_ptr(&mem, get32(mpf + 4), 44);
	len = get16(mpc + 4);
	ck_assert_mem_eq(mpc, "PCMP", 4);
	ck_assert_uint_eq(mpc[6], 4);
	ck_assert_uint_le(0x9fc10 + len, 0xa0000);
	ck_assert_uint_eq(sum8(tm_ptr(&mem, 0x9fc10, len), len), 0);
	ck_assert_uint_eq(get32(mpc + 36), 0xfee00000);
	ck_assert_uint_eq(get16(mpc + 40), 0);   /* no extended table */

	e = mpc + 44;
	end = mpc + len;
	while (e < end) {
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[1], cpus);
			ck_assert_uint_eq(e[2], 0x14);
			ck_assert_uint_eq(e[3], cpus == 0 ? 3 : 1);
			cpus++;
			e += 20;
			break;
		case 1:
			ck_assert_uint_eq(e[1], 0);
			ck_assert_mem_eq(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2:
			ck_assert_uint_eq(e[1], n);
			ck_assert_uint_eq(e[2], 0x11);
			ck_assert_uint_eq(e[3], 1);
			ck_assert_uint_eq(get32(e + 4), 0xfec00000);
			ioapics++;
			e += 8;
			break;
		case 3:
			ck_assert_uint_eq(e[1], 0);           /* INT */
			ck_assert_uint_eq(get16(e + 2), 0);   /* conforming */
			ck_assert_uint_eq(e[4], 0);           /* ISA bus */
			ck_assert_uint_eq(e[6], n);           /* the IOAPIC */
			ck_assert_uint_eq(e[7], e[5]);        /* pin == IRQ */
			ck_assert_uint_lt(e[5], 24);
			irq_seen |= 1u << e[5];
			ioints++;
			e += 8;
			break;
		case 4:
			ck_assert_uint_eq(e[1], lints == 0 ? 3 : 1);   /* ExtINT, NMI */
			ck_assert_uint_eq(e[6], 0xff);
			ck_assert_uint_eq(e[7], lints);
			lints++;
			e += 8;
			break;
		default:
			ck_abort_msg("unknown MP entry type %u", e[0]);
		}
		count++;
	}
	ck_assert_ptr_eq(e, end);
	ck_assert_uint_eq(cpus, n);
	ck_assert_uint_eq(buses, 1);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(ioints, 24);
	ck_assert_uint_eq(irq_seen, 0xffffff);
	ck_assert_uint_eq(lints, 2);
	ck_assert_uint_eq(get16(mpc + 34), count);
}

START_TEST(mptable_1) { check_mptable(1); }
END_TEST
START_TEST(mptable_2) { check_mptable(2); }
END_TEST
START_TEST(mptable_32) { check_mptable(32); }
END_TEST

START_TEST(mptable_bad_counts)
{
	ck_assert_int_eq(mptable_write(&mem, 0), -EINVAL);
	ck_assert_logged("MP table: 0 vCPUs is out of range");
	ck_assert_int_eq(mptable_write(&mem, 40), -E2BIG);
	ck_assert_logged("MP table for 40 vCPUs needs 1084 bytes");
	ck_assert_uint_eq(get32(tm_ptr(&mem, 0x9fc00, 4)), 0);
}
END_TEST

START_TEST(tables_outside_tiny_ram)
{
	tm_free(&mem);
	tm_init(&mem, 0x9000, 0);
	ck_assert_int_eq(mptable_write(&mem, 1), -EFAULT);
	ck_assert_logged("MP table area");
	ck_assert_int_eq(pagetables_write(&mem), -EFAULT);
	ck_assert_logged("page tables at 0x9000");
}
END_TEST

/* ---------------- page tables ---------------- */
START_TEST(pagetables_identity_1g)
{
	const uint8_t *pml4, *pdpt, *pd;

	memset(tm_ptr(&mem, PML4_ADDR, 0x3000), 0xee, 0x3000);
	ck_assert_int_eq(pagetables_write(&mem), 0);
	pml4 = tm_ptr(&mem, 0x9000, 4096);
	pdpt = tm_ptr(&mem, 0xa000, 4096);
	pd = tm_ptr(&mem, 0xb000, 4096);
	ck_assert_uint_eq(get64(pml4), 0xa003);
	ck_assert_uint_eq(get64(pdpt), 0xb003);
	for (unsigned i = 1; i < 512; i++) {
		ck_assert_uint_eq(get64(pml4 + 8 * i), 0);
		ck_assert_uint_eq(get64(pdpt + 8 * i), 0);
	}
	for (uint64_t i = 0; i < 512; i++)
		ck_assert_uint_eq(get64(pd + 8 * i), (i << 21) | 0x83);
}
END_TEST

/* ---------------- GDT and segments ---------------- */
START_TEST(gdt_linux64)
{
	uint64_t gdt[4];
	struct kvm_segment s;

	gdt_build(gdt, false);
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert_uint_eq(gdt[1], 0x00af9b000000ffffULL);
	ck_assert_uint_eq(gdt[2], 0x00cf93000000ffffULL);
	ck_assert_uint_eq(gdt[3], 0x008f8b000000ffffULL);

	gdt_to_segment(gdt[1], 1, &s);
	ck_assert_uint_eq(s.selector, 8);
	ck_assert_uint_eq(s.base, 0);
	ck_assert_uint_eq(s.limit, 0xffffffff);
	ck_assert_uint_eq(s.type, 0xb);
	ck_assert_uint_eq(s.present, 1);
	ck_assert_uint_eq(s.dpl, 0);
	ck_assert_uint_eq(s.db, 0);
	ck_assert_uint_eq(s.s, 1);
	ck_assert_uint_eq(s.l, 1);
	ck_assert_uint_eq(s.g, 1);
	ck_assert_uint_eq(s.avl, 0);
	ck_assert_uint_eq(s.unusable, 0);

	gdt_to_segment(gdt[2], 2, &s);
	ck_assert_uint_eq(s.selector, 0x10);
	ck_assert_uint_eq(s.type, 3);
	ck_assert_uint_eq(s.db, 1);
	ck_assert_uint_eq(s.l, 0);

	gdt_to_segment(gdt[3], 3, &s);
	ck_assert_uint_eq(s.selector, 0x18);
	ck_assert_uint_eq(s.type, 0xb);
	ck_assert_uint_eq(s.s, 0);
	ck_assert_uint_eq(s.present, 1);
}
END_TEST

START_TEST(gdt_pvh)
{
	uint64_t gdt[4];
	struct kvm_segment s;

	gdt_build(gdt, true);
	ck_assert_uint_eq(gdt[1], 0x00cf9b000000ffffULL);
	ck_assert_uint_eq(gdt[2], 0x00cf93000000ffffULL);
	ck_assert_uint_eq(gdt[3], 0x00008b0000000067ULL);
	gdt_to_segment(gdt[1], 1, &s);
	ck_assert_uint_eq(s.db, 1);
	ck_assert_uint_eq(s.l, 0);
	ck_assert_uint_eq(s.limit, 0xffffffff);
	gdt_to_segment(gdt[3], 3, &s);
	ck_assert_uint_eq(s.g, 0);
	ck_assert_uint_eq(s.limit, 0x67);
}
END_TEST

START_TEST(gdt_decode_base_and_flags)
{
	/* base 0x12345678, limit 0xabcde, DPL 3, AVL, byte granularity */
	struct kvm_segment s;
	uint64_t e = (0x12ULL << 56) | (0x1ULL << 52) | (0xaULL << 48) | (0xf2ULL << 40) |
	    (0x345678ULL << 16) | 0xbcdeULL;
	gdt_to_segment(e, 5, &s);
	ck_assert_uint_eq(s.base, 0x12345678);
	ck_assert_uint_eq(s.limit, 0xabcde);
	ck_assert_uint_eq(s.dpl, 3);
	ck_assert_uint_eq(s.avl, 1);
	ck_assert_uint_eq(s.g, 0);
	ck_assert_uint_eq(s.type, 2);
	ck_assert_uint_eq(s.selector, 40);
	gdt_to_segment(0, 0, &s);
	ck_assert_uint_eq(s.present, 0);
	ck_assert_uint_eq(s.unusable, 1);
}
END_TEST

START_TEST(gdt_write_to_guest)
{
	uint64_t gdt[4];

	gdt_build(gdt, false);
	ck_assert_int_eq(gdt_write(&mem, gdt), 0);
	ck_assert_mem_eq(tm_ptr(&mem, BOOT_GDT_ADDR, 32), gdt, 32);
}
END_TEST

/* ---------------- registers ---------------- */
START_TEST(regs_linux64)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(&r, 0xaa, sizeof(r));
	memset(&s, 0, sizeof(s));
	s.apic_base = 0xfee00900;   /* from KVM_GET_SREGS: must survive */
	s.cr8 = 0;
	boot_regs_linux64(0x1000000, &r, &s);
	ck_assert_uint_eq(r.rip, 0x1000000);
	ck_assert_uint_eq(r.rsi, ZERO_PAGE_ADDR);
	ck_assert_uint_eq(r.rsp, BOOT_STACK_ADDR);
	ck_assert_uint_eq(r.rbp, BOOT_STACK_ADDR);
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(r.rax, 0);
	ck_assert_uint_eq(r.rbx, 0);
	ck_assert_uint_eq(s.cr0, 0x80000011);
	ck_assert_uint_eq(s.cr3, PML4_ADDR);
	ck_assert_uint_eq(s.cr4, 0x20);
	ck_assert_uint_eq(s.efer, 0x500);
	ck_assert_uint_eq(s.cs.selector, 8);
	ck_assert_uint_eq(s.cs.l, 1);
	ck_assert_uint_eq(s.cs.db, 0);
	ck_assert_uint_eq(s.ds.selector, 0x10);
	ck_assert_uint_eq(s.es.selector, 0x10);
	ck_assert_uint_eq(s.fs.selector, 0x10);
	ck_assert_uint_eq(s.gs.selector, 0x10);
	ck_assert_uint_eq(s.ss.selector, 0x10);
	ck_assert_uint_eq(s.ss.type, 3);
	ck_assert_uint_eq(s.tr.selector, 0x18);
	ck_assert_uint_eq(s.tr.type, 0xb);
	ck_assert_uint_eq(s.gdt.base, BOOT_GDT_ADDR);
	ck_assert_uint_eq(s.gdt.limit, 31);
	ck_assert_uint_eq(s.idt.base, BOOT_IDT_ADDR);
	ck_assert_uint_eq(s.idt.limit, 7);
	ck_assert_uint_eq(s.apic_base, 0xfee00900);
}
END_TEST

START_TEST(regs_pvh)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.apic_base = 0xfee00900;
	s.efer = 0x500;
	s.cr4 = 0x20;
	boot_regs_pvh(0x1000020, &r, &s);
	ck_assert_uint_eq(r.rip, 0x1000020);
	ck_assert_uint_eq(r.rbx, PVH_INFO_ADDR);
	ck_assert_uint_eq(r.rsi, 0);
	ck_assert_uint_eq(r.rflags, 2);
	ck_assert_uint_eq(s.cr0, 0x11);
	ck_assert_uint_eq(s.cr3, 0);
	ck_assert_uint_eq(s.cr4, 0);
	ck_assert_uint_eq(s.efer, 0);
	ck_assert_uint_eq(s.cs.selector, 8);
	ck_assert_uint_eq(s.cs.db, 1);
	ck_assert_uint_eq(s.cs.l, 0);
	ck_assert_uint_eq(s.cs.limit, 0xffffffff);
	ck_assert_uint_eq(s.ds.selector, 0x10);
	ck_assert_uint_eq(s.tr.selector, 0x18);
	ck_assert_uint_eq(s.gdt.limit, 31);
	ck_assert_uint_eq(s.apic_base, 0xfee00900);
}
END_TEST

START_TEST(boot_msr_list)
{
	struct kvm_msr_entry m[32];
	unsigned n = boot_msrs(m, 32);
	bool misc = false, mtrr = false;

	ck_assert_uint_eq(n, 11);
	for (unsigned i = 0; i < n; i++) {
		if (m[i].index == 0x1a0) {
			ck_assert_uint_eq(m[i].data, 1);
			misc = true;
		} else if (m[i].index == 0x2ff) {
			ck_assert_uint_eq(m[i].data, 0x806);
			mtrr = true;
		} else {
			ck_assert_uint_eq(m[i].data, 0);
		}
	}
	ck_assert(misc && mtrr);
	ck_assert_uint_eq(boot_msrs(m, 3), 3);
	ck_assert_uint_eq(boot_msrs(m, 0), 0);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("boot_tables");
	TCase *tc = tcase_create("tables");

	tcase_add_checked_fixture(tc, setup_128m, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, e820_small_guest);
	tcase_add_test(tc, e820_above_the_gap);
	tcase_add_test(tc, e820_exactly_3g);
	tcase_add_test(tc, e820_too_many);
	tcase_add_test(tc, initrd_top_of_ram);
	tcase_add_test(tc, initrd_kernel_end_wraps);
	tcase_add_test(tc, initrd_below_gap);
	tcase_add_test(tc, initrd_respects_addr_max);
	tcase_add_test(tc, initrd_too_big);
	tcase_add_test(tc, initrd_empty);
	tcase_add_test(tc, bootparams_elf);
	tcase_add_test(tc, bootparams_no_initrd);
	tcase_add_test(tc, bootparams_bzimage);
	tcase_add_test(tc, bootparams_bzimage_cmdline_limit);
	tcase_add_test(tc, bootparams_cmdline_capacity);
	tcase_add_test(tc, bootparams_cmdline_outside_ram);
	tcase_add_test(tc, bootparams_initrd_outside_ram);
	tcase_add_test(tc, bootparams_high_initrd_uses_ext_fields);
	tcase_add_test(tc, pvh_with_initrd);
	tcase_add_test(tc, pvh_without_initrd_big_guest);
	tcase_add_test(tc, mptable_1);
	tcase_add_test(tc, mptable_2);
	tcase_add_test(tc, mptable_32);
	tcase_add_test(tc, mptable_bad_counts);
	tcase_add_test(tc, tables_outside_tiny_ram);
	tcase_add_test(tc, pagetables_identity_1g);
	tcase_add_test(tc, gdt_linux64);
	tcase_add_test(tc, gdt_pvh);
	tcase_add_test(tc, gdt_decode_base_and_flags);
	tcase_add_test(tc, gdt_write_to_guest);
	tcase_add_test(tc, regs_linux64);
	tcase_add_test(tc, regs_pvh);
	tcase_add_test(tc, boot_msr_list);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
