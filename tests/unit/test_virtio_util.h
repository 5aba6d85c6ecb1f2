/* SPDX-License-Identifier: Apache-2.0 */
/* test_virtio_util.h — a fake guest RAM (malloc'd regions) and helpers to
 * lay out split virtqueues in it, shared by the virtio unit tests. */
#ifndef TEST_VIRTIO_UTIL_H
#define TEST_VIRTIO_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/virtio.h"

#define T_RAM_SIZE   (1u << 20)      /* 1 MiB at gpa 0 */
#define T_HIGH_GPA   0x100000000ULL  /* optional second region */
#define T_HIGH_SIZE  (64u << 10)
#define T_DESC       0x1000ULL
#define T_AVAIL      0x3000ULL
#define T_USED       0x4000ULL
#define T_DATA       0x10000ULL

struct tmem {
	struct guest_mem mem;
};

static inline void tmem_init(struct tmem *m, bool two_regions)
{
	memset(m, 0, sizeof(*m));
	m->mem.nr_regions = 1;
	m->mem.regions[0].gpa = 0;
	m->mem.regions[0].size = T_RAM_SIZE;
	m->mem.regions[0].hva = aligned_alloc(4096, T_RAM_SIZE);
	memset(m->mem.regions[0].hva, 0, T_RAM_SIZE);
	if (two_regions) {
		m->mem.nr_regions = 2;
		m->mem.regions[1].gpa = T_HIGH_GPA;
		m->mem.regions[1].size = T_HIGH_SIZE;
		m->mem.regions[1].hva = aligned_alloc(4096, T_HIGH_SIZE);
		memset(m->mem.regions[1].hva, 0, T_HIGH_SIZE);
	}
}

static inline void tmem_free(struct tmem *m)
{
	for (unsigned i = 0; i < m->mem.nr_regions; i++)
		free(m->mem.regions[i].hva);
}

static inline uint8_t *gp(struct tmem *m, uint64_t gpa)
{
	return guest_mem_ptr(&m->mem, gpa, 1);
}

static inline void put16(struct tmem *m, uint64_t gpa, uint16_t v) { memcpy(gp(m, gpa), &v, 2); }
static inline void put32(struct tmem *m, uint64_t gpa, uint32_t v) { memcpy(gp(m, gpa), &v, 4); }
static inline uint16_t get16(struct tmem *m, uint64_t gpa) { uint16_t v; memcpy(&v, gp(m, gpa), 2); return v; }
static inline uint32_t get32(struct tmem *m, uint64_t gpa) { uint32_t v; memcpy(&v, gp(m, gpa), 4); return v; }

/* Write descriptor idx of the table at `table`. */
static inline void set_desc_at(struct tmem *m, uint64_t table, uint16_t idx, uint64_t addr,
			       uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = gp(m, table + 16ULL * idx);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static inline void set_desc(struct tmem *m, uint16_t idx, uint64_t addr, uint32_t len,
			    uint16_t flags, uint16_t next)
{
	set_desc_at(m, T_DESC, idx, addr, len, flags, next);
}

/* Make `head` available in a ring of `size` entries. */
static inline void avail_add(struct tmem *m, uint16_t size, uint16_t head)
{
	uint16_t idx = get16(m, T_AVAIL + 2);

	put16(m, T_AVAIL + 4 + 2 * (idx % size), head);
	put16(m, T_AVAIL + 2, (uint16_t)(idx + 1));
}

static inline uint16_t used_idx(struct tmem *m) { return get16(m, T_USED + 2); }
static inline uint32_t used_id(struct tmem *m, uint16_t i, uint16_t size) { return get32(m, T_USED + 4 + 8 * (i % size)); }
static inline uint32_t used_len(struct tmem *m, uint16_t i, uint16_t size) { return get32(m, T_USED + 8 + 8 * (i % size)); }

/* A ready queue of `size` over the fixed ring addresses. */
static inline void tq_init(struct virtq *q, struct tmem *m, uint16_t size, bool indirect,
			   bool event_idx)
{
	char err[160];

	memset(q, 0, sizeof(*q));
	q->max_size = VIRTQ_MAX_SIZE;
	virtq_reset(q);
	q->size = size;
	q->desc_addr = T_DESC;
	q->avail_addr = T_AVAIL;
	q->used_addr = T_USED;
	q->indirect = indirect;
	q->event_idx = event_idx;
	if (virtq_check(q, &m->mem, err, sizeof(err)) == 0)
		q->ready = true;
}

/* Capture log output into a file to assert messages. */
static inline char *tlog_start(void)
{
	static char path[64];

	snprintf(path, sizeof(path), "/tmp/wisp-virtio-log-%d", (int)getpid());
	unlink(path);
	log_set_level(LOG_DEBUG);
	log_set_path(path);
	return path;
}

static inline bool tlog_contains(const char *path, const char *needle)
{
	static char buf[1 << 16];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

#endif
