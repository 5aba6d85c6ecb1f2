/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_boot_loaders.c — libFuzzer target for the kernel loaders
 * (vmm/boot/kernel.c: ELF vmlinux in elf.c, bzImage in bzimage.c) and the
 * initrd placement (initrd.c).
 *
 * Input: a 16-byte header, then the kernel image.
 *   byte 0      flags: 1 the tight RAM layout (1 MiB + 8 KiB at 0 only)
 *               instead of 2 MiB at 0 plus 64 KiB at 4 GiB
 *   bytes 1-7   reserved
 *   bytes 8-15  initrd size for initrd_place()
 * The image is loaded from an exactly sized copy and RAM regions are
 * exactly sized allocations, so ASan sees any over-read or write outside.
 * A refused image must come with a message and leave RAM untouched; an
 * accepted one must describe a kernel inside RAM. initrd_place() then runs
 * on the loaded kernel's info and, when the load failed, on an info made
 * from the header, over the real VMM's layout of a 4 GiB + 1 GiB guest
 * (regions without memory: placement never touches RAM). */
#include <errno.h>
#include <stdio.h>

#include "boot.h"
#include "fuzz_util.h"

#define LOW_SIZE   (2ULL << 20)
#define HIGH_GPA   0x100000000ULL
#define HIGH_SIZE  0x10000ULL
#define TIGHT_SIZE ((1ULL << 20) + 0x2000)

static struct guest_mem wide, tight;
static uint8_t *zeros;

static void setup_once(void)
{
	static const struct fz_region_spec w[] = { { 0, LOW_SIZE }, { HIGH_GPA, HIGH_SIZE } };
	static const struct fz_region_spec t[] = { { 0, TIGHT_SIZE } };

	fz_mem_init(&wide, w, 2);
	fz_mem_init(&tight, t, 1);
	zeros = calloc(1, LOW_SIZE);
	if (!zeros)
		abort();
	log_set_level(LOG_DEBUG);
	if (log_set_path("/dev/null"))
		abort();
}

static bool ram_is_clear(const struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++)
		if (memcmp(m->regions[i].hva, zeros, m->regions[i].size))
			return false;
	return true;
}

static void check_initrd(const struct kernel_info *ki, uint64_t size)
{
	struct guest_region r[2];
	struct guest_mem big;
	uint64_t addr = 0, limit = MMIO_GAP_START, floor;
	char err[256] = "";
	int ret;

	memset(&big, 0, sizeof(big));
	big.nr_regions = guest_mem_layout(5ULL << 30, r);
	memcpy(big.regions, r, sizeof(r));
	ret = initrd_place(&big, ki, size, &addr, err, sizeof(err));
	if (ret < 0) {
		if ((ret != -EINVAL && ret != -ENOMEM) || !err[0])
			abort();
		return;
	}
	if (ret || !size || addr % 4096)
		abort();
	if (ki->kind == KERNEL_BZIMAGE && (uint64_t)ki->initrd_addr_max + 1 < limit)
		limit = (uint64_t)ki->initrd_addr_max + 1;
	floor = ki->load_end < HIMEM_START ? HIMEM_START : ki->load_end;
	if (addr < floor || addr + size < addr || addr + size > limit)
		abort();
	/* Wholly inside one RAM region. */
	for (unsigned i = 0; i < big.nr_regions; i++)
		if (addr >= r[i].gpa && addr + size <= r[i].gpa + r[i].size)
			return;
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem *mem;
	struct kernel_info ki;
	struct fz in;
	uint8_t flags, *image;
	uint64_t initrd_size;
	size_t len;
	const uint8_t *p;
	char err[256];
	int ret;

	if (!zeros)
		setup_once();
	fz_init(&in, data, size);
	flags = fz_u8(&in);
	fz_int(&in, 7);
	initrd_size = fz_u64(&in);
	p = fz_bytes(&in, in.left, &len);
	image = malloc(len ? len : 1);
	if (!image)
		abort();
	memcpy(image, p, len);
	mem = (flags & 1) ? &tight : &wide;

	memset(&ki, 0x5a, sizeof(ki));
	err[0] = '\0';
	ret = kernel_load(mem, image, len, &ki, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))   /* for writing seeds */
		fprintf(stderr, "kernel_load: %d %s\n", ret, ret ? err : "");
	if (ret < 0) {
		if ((ret != -EINVAL && ret != -ENOMEM) || !err[0] || !memchr(err, '\0', sizeof(err)))
			abort();
		if (!ram_is_clear(mem))
			abort();
		/* initrd placement on a made-up kernel: its end and limit
		 * from the header bytes 1-7 (already consumed: use the
		 * image's first bytes instead). */
		memset(&ki, 0, sizeof(ki));
		ki.kind = (flags & 2) ? KERNEL_BZIMAGE : KERNEL_ELF;
		if (len >= 12) {
			memcpy(&ki.load_end, image, 8);
			memcpy(&ki.initrd_addr_max, image + 8, 4);
		}
		check_initrd(&ki, initrd_size);
		free(image);
		return 0;
	}
	if (ret != 0)
		abort();
	if (ki.kind != KERNEL_ELF && ki.kind != KERNEL_BZIMAGE)
		abort();
	/* (An ELF's segments may sit in both regions: check the ends.) */
	if (ki.load_start < HIMEM_START || ki.load_end <= ki.load_start ||
	    !guest_mem_ptr(mem, ki.load_start, 1) || !guest_mem_ptr(mem, ki.load_end - 1, 1))
		abort();
	if (!guest_mem_ptr(mem, ki.entry64, 1) || ki.setup_header_len > sizeof(ki.setup_header))
		abort();
	if (ki.has_pvh && (ki.pvh_entry >= (1ULL << 32) || !guest_mem_ptr(mem, ki.pvh_entry, 1)))
		abort();
	if (ki.kind == KERNEL_BZIMAGE &&
	    (ki.entry64 != ki.load_start + 0x200 || ki.setup_header_len == 0))
		abort();
	check_initrd(&ki, initrd_size);
	fz_mem_clear(mem);
	free(image);
	return 0;
}
