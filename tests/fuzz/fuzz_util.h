/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_util.h — what the libFuzzer targets share: a reader that takes
 * fields from the front of the input (zeros once it runs out, so every
 * input is usable), and a fake guest RAM of exactly sized malloc'd regions
 * (ASan reports any access past a region's end). */
#ifndef WISP_FUZZ_UTIL_H
#define WISP_FUZZ_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	const uint8_t *p;
	size_t left;
};

static inline void fz_init(struct fz *f, const uint8_t *data, size_t size)
{
	f->p = data;
	f->left = size;
}

/* n bytes (little-endian integers); missing bytes read as zero. */
static inline uint64_t fz_int(struct fz *f, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t b = 0;

		if (f->left) {
			b = *f->p++;
			f->left--;
		}
		v |= b << (8 * i);
	}
	return v;
}

static inline uint8_t fz_u8(struct fz *f) { return (uint8_t)fz_int(f, 1); }
static inline uint16_t fz_u16(struct fz *f) { return (uint16_t)fz_int(f, 2); }
static inline uint32_t fz_u32(struct fz *f) { return (uint32_t)fz_int(f, 4); }
static inline uint64_t fz_u64(struct fz *f) { return fz_int(f, 8); }

/* Up to n bytes, by pointer (may be fewer; *got says how many). */
static inline const uint8_t *fz_bytes(struct fz *f, size_t n, size_t *got)
{
	const uint8_t *p = f->p;

	if (n > f->left)
		n = f->left;
	f->p += n;
	f->left -= n;
	*got = n;
	return p;
}

/* A NUL-terminated malloc'd copy of the next string: the bytes up to the
 * next '\0' of the input (or its end); at most max bytes. */
static inline char *fz_str(struct fz *f, size_t max)
{
	size_t n = 0;
	char *s;

	while (n < f->left && n < max && f->p[n])
		n++;
	s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, f->p, n);
	s[n] = '\0';
	f->p += n;
	f->left -= n;
	if (f->left && n < max) {   /* skip the terminator */
		f->p++;
		f->left--;
	}
	return s;
}

/* ---- fake guest RAM ---- */
struct fz_region_spec {
	uint64_t gpa, size;
};

/* Regions malloc'd at their exact size (no rounding: ASan's redzone starts
 * right after the last byte). */
static inline void fz_mem_init(struct guest_mem *m, const struct fz_region_spec *spec,
			       unsigned n)
{
	memset(m, 0, sizeof(*m));
	m->nr_regions = n;
	for (unsigned i = 0; i < n; i++) {
		m->regions[i].gpa = spec[i].gpa;
		m->regions[i].size = spec[i].size;
		m->regions[i].hva = calloc(1, spec[i].size);
		if (!m->regions[i].hva)
			abort();
	}
}

static inline void fz_mem_clear(struct guest_mem *m)
{
	for (unsigned i = 0; i < m->nr_regions; i++)
		memset(m->regions[i].hva, 0, m->regions[i].size);
}

/* Does [p, p + len) lie inside one region of m? */
static inline bool fz_in_ram(const struct guest_mem *m, const void *p, uint64_t len)
{
	const uint8_t *b = p;

	for (unsigned i = 0; i < m->nr_regions; i++) {
		const uint8_t *lo = m->regions[i].hva;

		if (b >= lo && b <= lo + m->regions[i].size &&
		    len <= m->regions[i].size - (uint64_t)(b - lo))
			return true;
	}
	return false;
}

/* Copy up to len bytes of the input into RAM at gpa (clipped to RAM). */
static inline void fz_mem_fill(struct guest_mem *m, uint64_t gpa, const uint8_t *src, size_t len)
{
	for (unsigned i = 0; i < m->nr_regions && len; i++) {
		struct guest_region *r = &m->regions[i];
		uint64_t off;
		size_t n;

		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		off = gpa - r->gpa;
		n = r->size - off < len ? (size_t)(r->size - off) : len;
		memcpy(r->hva + off, src, n);
		return;
	}
}

/* Touch every byte of a segment the parser handed out (ASan checks the
 * access), reading it or writing it. Returns a checksum of what was read so
 * the reads cannot be optimised away. */
static inline unsigned fz_touch(uint8_t *p, uint64_t len, bool write)
{
	volatile unsigned sum = 0;

	if (write) {
		memset(p, 0xa5, len);
		return 0;
	}
	for (uint64_t i = 0; i < len; i++)
		sum += p[i];
	return sum;
}

#endif /* WISP_FUZZ_UTIL_H */
