/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paging.c — extends the identity map that entry.S built for the first
 * 4 GiB to cover RAM above 4 GiB (up to NPD GiB), in 2 MiB pages.
 */
#include "guest.h"

extern uint64_t pdpt[512];             /* entry.S */
extern uint64_t pd[NPD * 512];         /* entry.S */

static unsigned mapped_gib = 4;

uint64_t paging_map_upto(uint64_t end)
{
	unsigned want = (unsigned)((end + (1ULL << 30) - 1) >> 30);
	uint64_t cr3;

	if (want > NPD)
		want = NPD;
	if (want <= mapped_gib)
		return (uint64_t)mapped_gib << 30;
	for (unsigned g = mapped_gib; g < want; g++) {
		for (unsigned i = 0; i < 512; i++)
			pd[g * 512 + i] = ((uint64_t)g << 30) + ((uint64_t)i << 21) + 0x83;
		pdpt[g] = (uint64_t)(uintptr_t)&pd[g * 512] | 3;
	}
	mapped_gib = want;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	return (uint64_t)mapped_gib << 30;
}

uint64_t paging_mapped_end(void)
{
	return (uint64_t)mapped_gib << 30;
}
