/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_initrd.c — where the initrd goes (Linux boot protocol): page-aligned,
 * as high as possible in RAM below the MMIO gap and the kernel's
 * initrd_addr_max, and above everything the kernel needs (load_end).
 */
#include <errno.h>
#include <inttypes.h>

#include "boot.h"
#include "boot_structs.h"

#define PAGE_SIZE_4K 0x1000ULL

int initrd_place(const struct guest_mem *mem, const struct kernel_info *ki,
		 uint64_t initrd_size, uint64_t *addr, char *err, size_t errlen)
{
	/* initrd_addr_max is inclusive: the last byte may sit at that address. */
	uint64_t limit = MMIO_GAP_START;
	uint64_t floor = (ki->load_end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	uint64_t best = 0;
	bool found = false;

	if (initrd_size == 0) {
		BOOT_ERR(err, errlen, "initrd is empty");
		return -EINVAL;
	}
	/* Rounding up must not wrap to 0 (found by fuzz_boot_loaders; the
	 * loaders never report such an end, this keeps the function safe). */
	if (floor < ki->load_end) {
		BOOT_ERR(err, errlen, "kernel end 0x%" PRIx64 " is past the address space",
			 ki->load_end);
		return -EINVAL;
	}
	if (ki->kind == KERNEL_BZIMAGE && (uint64_t)ki->initrd_addr_max + 1 < limit)
		limit = (uint64_t)ki->initrd_addr_max + 1;
	if (floor < HIMEM_START)
		floor = HIMEM_START;

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t top = r->gpa + r->size, a;

		if (r->gpa >= limit)
			continue;
		if (top > limit)
			top = limit;
		if (initrd_size > top)
			continue;
		a = (top - initrd_size) & ~(PAGE_SIZE_4K - 1);
		if (a < r->gpa || a < floor)
			continue;
		if (!found || a > best) {
			best = a;
			found = true;
		}
	}
	if (!found) {
		BOOT_ERR(err, errlen, "initrd of %" PRIu64 " bytes does not fit in guest RAM between "
			 "the kernel's end 0x%" PRIx64 " and 0x%" PRIx64, initrd_size, floor, limit);
		return -ENOMEM;
	}
	*addr = best;
	return 0;
}
