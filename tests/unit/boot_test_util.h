/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_test_util.h — helpers shared by tests/unit/test_boot_*.c: guest
 * memory over host buffers, and capture of the log to assert messages.
 */
#ifndef WISP_TEST_BOOT_UTIL_H
#define WISP_TEST_BOOT_UTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* A guest of `size` bytes split like the real VMM splits it (3 GiB gap);
 * backed by one anonymous MAP_NORESERVE mapping so that only the pages a test
 * touches cost memory. Filled with `fill` if fill != 0 (then keep it small). */
static inline void tm_init(struct guest_mem *mem, uint64_t size, uint8_t fill)
{
	struct guest_region r[2];
	unsigned n = guest_mem_layout(size, r);
	uint8_t *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	uint64_t off = 0;

	ck_assert_ptr_ne(base, MAP_FAILED);
	memset(mem, 0, sizeof(*mem));
	mem->nr_regions = n;
	for (unsigned i = 0; i < n; i++) {
		mem->regions[i] = r[i];
		mem->regions[i].hva = base + off;
		off += r[i].size;
	}
	if (fill)
		memset(base, fill, size);
}

static inline void tm_free(struct guest_mem *mem)
{
	uint64_t size = guest_mem_total(mem);

	if (mem->nr_regions)
		munmap(mem->regions[0].hva, size);
	memset(mem, 0, sizeof(*mem));
}

static inline uint8_t *tm_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint8_t *p = guest_mem_ptr(mem, gpa, len);

	ck_assert_msg(p != NULL, "gpa 0x%llx+0x%llx not in test RAM",
		      (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

static inline uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- log capture: send the log to a temporary file, read it back ---- */
static char tlog_path[64];

static inline void tlog_start(void)
{
	int fd;

	snprintf(tlog_path, sizeof(tlog_path), "/tmp/wisp-test-log-XXXXXX");
	fd = mkstemp(tlog_path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_set_path(tlog_path), 0);
}

typedef int (*kernel_loader)(const struct guest_mem *, const uint8_t *, size_t,
			     struct kernel_info *, char *, size_t);

/* Run a loader on a copy of image[0..len) in an exactly-sized heap buffer,
 * so that ASan catches any read past the end. */
static inline int load_exact(kernel_loader fn, const struct guest_mem *mem, const uint8_t *image,
			     size_t len, struct kernel_info *ki, char *err, size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, image, len);
	err[0] = '\0';
	ret = fn(mem, copy, len, ki, err, errlen);
	free(copy);
	return ret;
}

/* Everything logged since tlog_start (static buffer). */
static inline const char *tlog_read(void)
{
	static char buf[16384];
	FILE *f = fopen(tlog_path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static inline void tlog_stop(void)
{
	log_set_path(NULL);
	unlink(tlog_path);
}

#define ck_assert_logged(substr) \
	ck_assert_msg(strstr(tlog_read(), (substr)) != NULL, \
		      "log does not contain \"%s\"; log was: %s", (substr), tlog_read())

#define ck_assert_err(err, substr) \
	ck_assert_msg(strstr((err), (substr)) != NULL, \
		      "error \"%s\" does not contain \"%s\"", (err), (substr))

#endif /* WISP_TEST_BOOT_UTIL_H */
