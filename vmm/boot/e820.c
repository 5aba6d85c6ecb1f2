/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_e820.c — the guest's memory map, derived from the RAM regions:
 * [0, EBDA_START) and [1 MiB, end of low RAM) for the region at 0 (the EBDA
 * and the legacy VGA/BIOS hole stay out of the map), every other region as is.
 */
#include <errno.h>

#include "boot.h"

static int add(struct e820_entry *out, unsigned max, unsigned *n,
	       uint64_t addr, uint64_t size)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -E2BIG;
	out[*n] = (struct e820_entry){ .addr = addr, .size = size, .type = E820_RAM };
	(*n)++;
	return 0;
}

int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t end = r->gpa + r->size;
		int ret = 0;

		if (r->size == 0)
			continue;
		if (r->gpa < HIMEM_START) {
			/* The low region: leave out [EBDA_START, 1 MiB). */
			if (r->gpa < EBDA_START)
				ret = add(out, max, &n, r->gpa,
					  (end < EBDA_START ? end : EBDA_START) - r->gpa);
			if (!ret && end > HIMEM_START)
				ret = add(out, max, &n, HIMEM_START, end - HIMEM_START);
		} else {
			ret = add(out, max, &n, r->gpa, r->size);
		}
		if (ret) {
			log_error("e820: more than %u entries needed for %u memory regions",
				  max, mem->nr_regions);
			return ret;
		}
	}
	return (int)n;
}
