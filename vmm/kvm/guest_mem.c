/* SPDX-License-Identifier: Apache-2.0 */
/* guest_mem.c — bounds-checked views of guest RAM (pure, no KVM). */
#include <errno.h>
#include <string.h>

#include "vmm.h"

unsigned guest_mem_layout(uint64_t mem_size, struct guest_region out[2])
{
	uint64_t low = mem_size < MMIO_GAP_START ? mem_size : MMIO_GAP_START;

	out[0] = (struct guest_region){ .gpa = 0, .size = low, .hva = NULL };
	if (mem_size <= MMIO_GAP_START)
		return 1;
	out[1] = (struct guest_region){ .gpa = MMIO_GAP_END, .size = mem_size - low, .hva = NULL };
	return 2;
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		if (gpa < r->gpa || gpa - r->gpa > r->size)
			continue;
		/* gpa is inside [r->gpa, r->gpa + size]; no overflow below. */
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

uint64_t guest_mem_total(const struct guest_mem *mem)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++)
		total += mem->regions[i].size;
	return total;
}

uint64_t guest_mem_end(const struct guest_mem *mem)
{
	uint64_t end = 0;

	for (unsigned i = 0; i < mem->nr_regions; i++) {
		uint64_t e = mem->regions[i].gpa + mem->regions[i].size;

		if (e > end)
			end = e;
	}
	return end;
}

void guest_mem_mark_dirty(const struct guest_mem *mem, const void *hva, uint64_t len)
{
	const uint8_t *p = hva;

	if (!len)
		return;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t off, first, last;

		if (!r->dirty || p < r->hva || (uint64_t)(p - r->hva) >= r->size)
			continue;
		off = (uint64_t)(p - r->hva);
		if (len > r->size - off)
			len = r->size - off;
		first = off >> 12;
		last = (off + len - 1) >> 12;
		for (uint64_t pg = first; pg <= last; pg++)
			__atomic_fetch_or(&r->dirty[pg / 64], 1ull << (pg % 64), __ATOMIC_RELAXED);
		return;
	}
}
