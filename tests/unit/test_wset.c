/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wset.c — the working-set file (vmm/kvm/wset_file.c): versions 1
 * and 2, page copies, every refusal, readahead spans. Files are built
 * here byte by byte from the layout in vmm/kvm/wset.h.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "vmm/vmm.h"
#include "vmm/kvm/wset.h"

#define MEM (64u * WSET_PAGE)   /* a 64-page guest */

struct file {
	uint8_t *b;
	size_t len;
};

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/* A zeroed file of len bytes with the fields both versions share and the n
 * indices at hdr (the header's length). */
static struct file common(uint32_t version, size_t len, size_t hdr, const uint64_t *idx, size_t n)
{
	struct file f = { calloc(1, len), len };
	uint32_t ps = WSET_PAGE;

	memcpy(f.b, WSET_MAGIC, 8);
	memcpy(f.b + 8, &version, 4);
	memcpy(f.b + 12, &ps, 4);
	put64(f.b + 16, MEM);
	put64(f.b + 24, n);
	for (size_t i = 0; i < n; i++)
		put64(f.b + hdr + 8 * i, idx[i]);
	return f;
}

/* Version 2 with n indices; copies: one per distinct page (data offset the
 * first page boundary after the list), or none. */
static struct file v2(const uint64_t *idx, size_t n, size_t distinct, bool copies,
		      uint64_t snap_id)
{
	uint64_t idx_end = WSET_HDR_LEN + 8 * n;
	uint64_t data = copies ? (idx_end + WSET_PAGE - 1) / WSET_PAGE * WSET_PAGE : 0;
	struct file f = common(2, copies ? data + distinct * WSET_PAGE : idx_end, WSET_HDR_LEN,
			       idx, n);

	put64(f.b + 32, snap_id);
	put64(f.b + 40, data);
	put64(f.b + 48, copies ? distinct : 0);
	return f;
}

static struct file v1(const uint64_t *idx, size_t n)
{
	return common(1, WSET_HDR1_LEN + 8 * n, WSET_HDR1_LEN, idx, n);
}

static int parse(const struct file *f, struct wset *w, char *why)
{
	return wset_parse(f->b, f->len, f->len, MEM, w, why, 300);
}

static void refused(const struct file *f, const char *needle)
{
	struct wset w;
	char why[300] = "";

	ck_assert_int_eq(parse(f, &w, why), -EINVAL);
	ck_assert_msg(strstr(why, needle), "\"%s\" not in \"%s\"", needle, why);
	ck_assert_ptr_null(w.ranges);
	ck_assert_int_eq(w.fd, -1);
}

/* Accepted, with this version, page count and range count. */
static void accepted(const struct file *f, uint32_t version, uint64_t pages, size_t ranges)
{
	struct wset w;
	char why[300];

	ck_assert_msg(parse(f, &w, why) == 0, "%s", why);
	ck_assert_uint_eq(w.version, version);
	ck_assert_uint_eq(w.nr_pages, pages);
	ck_assert_uint_eq(w.nr_ranges, ranges);
	wset_free(&w);
}

static const uint64_t IDX[] = { 9, 3, 4, 5, 20, 63, 10 };   /* first-touch order */
#define N (sizeof(IDX) / sizeof(IDX[0]))

START_TEST(v2_with_copies)
{
	struct file f = v2(IDX, N, N, true, 0x1234);
	struct wset w;
	char why[300];

	ck_assert_int_eq(parse(&f, &w, why), 0);
	ck_assert_uint_eq(w.version, 2);
	ck_assert_uint_eq(w.snap_id, 0x1234);
	ck_assert_uint_eq(w.data_off, WSET_PAGE);
	ck_assert_uint_eq(w.nr_pages, N);
	/* Sorted, merged: 3-5, 9-10, 20, 63. */
	ck_assert_uint_eq(w.nr_ranges, 4);
	ck_assert_uint_eq(w.ranges[0].first, 3);
	ck_assert_uint_eq(w.ranges[0].count, 3);
	ck_assert_uint_eq(w.ranges[1].first, 9);
	ck_assert_uint_eq(w.ranges[1].count, 2);
	ck_assert_uint_eq(w.ranges[2].first, 20);
	ck_assert_uint_eq(w.ranges[3].first, 63);
	ck_assert_int_eq(w.fd, -1);   /* only wset_read opens the file */
	wset_free(&w);
	free(f.b);
}
END_TEST

START_TEST(v2_without_copies_and_v1)
{
	struct file f = v2(IDX, N, N, false, 7), g = v1(IDX, N);
	struct wset w;
	char why[300];

	ck_assert_int_eq(parse(&f, &w, why), 0);
	ck_assert_uint_eq(w.data_off, 0);
	wset_free(&w);
	accepted(&f, 2, N, 4);
	accepted(&g, 1, N, 4);
	free(f.b);
	free(g.b);
}
END_TEST

START_TEST(duplicates_count_once)
{
	static const uint64_t dup[] = { 5, 5, 6 };
	struct file f = v1(dup, 3), g = v2(dup, 3, 2, true, 0), h = v2(dup, 3, 3, true, 0);

	accepted(&f, 1, 2, 1);
	accepted(&g, 2, 2, 1);   /* copies: one per distinct page */
	refused(&h, "3 page copies for 2 listed pages");
	free(f.b);
	free(g.b);
	free(h.b);
}
END_TEST

START_TEST(refusals)
{
	struct file f = v2(IDX, N, N, true, 0);
	uint64_t beyond = 64;
	struct wset w;
	char why[300];

	refused(&(struct file){ (uint8_t *)"WISPWSE", 7 }, "not a working-set file");
	f.b[0] = 'X';
	refused(&f, "not a working-set file");
	f.b[0] = 'W';
	f.b[8] = 3;
	refused(&f, "version 3");
	f.b[8] = 2;
	f.b[12] = 1;
	refused(&f, "version 2 with 4097-byte pages");
	f.b[12] = 0;
	put64(f.b + 16, MEM * 2);
	refused(&f, "recorded for 524288 bytes of guest memory, the snapshot's guest has 262144");
	put64(f.b + 16, MEM);
	put64(f.b + 56, 1);
	refused(&f, "reserved");
	put64(f.b + 56, 0);
	put64(f.b + 24, 65);   /* more entries than the guest has pages */
	refused(&f, "page indices the header announces");
	put64(f.b + 24, 64);   /* 57 more entries: the padding's zeros, page 0 */
	refused(&f, "7 page copies for 8 listed pages");
	put64(f.b + 24, N);
	put64(f.b + WSET_HDR_LEN, beyond);
	refused(&f, "page 64 (entry 0) is beyond guest memory (64 pages)");
	put64(f.b + WSET_HDR_LEN, 9);
	put64(f.b + 40, 2 * WSET_PAGE);   /* not right after the list */
	refused(&f, "data offset 8192 (expected 4096)");
	put64(f.b + 40, WSET_PAGE);
	/* The file one byte short, or one byte long. */
	ck_assert_int_eq(wset_parse(f.b, f.len, f.len - 1, MEM, &w, why, sizeof(why)), -EINVAL);
	ck_assert_int_eq(wset_parse(f.b, f.len, f.len + 1, MEM, &w, why, sizeof(why)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "do not match"));
	/* Only the header and list are needed (what wset_read passes). */
	ck_assert_int_eq(wset_parse(f.b, WSET_PAGE, f.len, MEM, &w, why, sizeof(why)), 0);
	wset_free(&w);
	ck_assert_int_eq(wset_parse(f.b, 100, f.len, MEM, &w, why, sizeof(why)), -EINVAL);
	/* No copies, yet some announced; trailing bytes after the list. */
	free(f.b);
	f = v2(IDX, N, N, false, 0);
	put64(f.b + 48, 1);
	refused(&f, "no page copies");
	put64(f.b + 48, 0);
	ck_assert_int_eq(wset_parse(f.b, f.len, f.len + 8, MEM, &w, why, sizeof(why)), -EINVAL);
	free(f.b);
	/* Version 1: a truncated list, trailing bytes, a version-2-sized
	 * header claimed by a version-1 file. */
	f = v1(IDX, N);
	refused(&(struct file){ f.b, f.len - 8 }, "page indices the header announces");
	ck_assert_int_eq(wset_parse(f.b, f.len, f.len + 8, MEM, &w, why, sizeof(why)), -EINVAL);
	f.b[8] = 2;   /* read as version 2: index bytes land in the reserved field */
	refused(&f, "reserved header field at offset 56 is not 0");
	free(f.b);
}
END_TEST

START_TEST(read_checks_snapshot_id)
{
	struct file f = v2(IDX, N, N, true, 0xabcdef);
	char path[] = "/tmp/wisp-unit-wset-XXXXXX", err[600];
	struct wset w;
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, f.b, f.len), (ssize_t)f.len);
	close(fd);
	ck_assert_int_eq(wset_read(path, MEM, 0xabcdef, &w, err, sizeof(err)), 0);
	ck_assert_int_ge(w.fd, 0);   /* kept open: the copies are mapped from it */
	wset_free(&w);
	ck_assert_int_eq(w.fd, -1);
	ck_assert_int_eq(wset_read(path, MEM, 0xabcdee, &w, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, path) && strstr(err, "recorded against another snapshot") &&
			      strstr(err, "0x0000000000abcdef") && strstr(err, "0x0000000000abcdee"),
		      "%s", err);
	ck_assert_int_eq(w.fd, -1);
	unlink(path);
	ck_assert_int_eq(wset_read(path, MEM, 0, &w, err, sizeof(err)), -ENOENT);
	ck_assert_msg(strstr(err, path), "%s", err);
	ck_assert_int_eq(wset_read("/tmp", MEM, 0, &w, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "not a regular file"), "%s", err);
	free(f.b);
}
END_TEST

START_TEST(readahead_spans)
{
	struct wset_range r[] = { { 3, 3 }, { 9, 2 }, { 20, 1 }, { 25, 1 }, { 63, 1 } }, out[5];
	struct wset w = { .ranges = r, .nr_ranges = 5 };

	/* gap 4: 3-5 and 9-10 (3 pages between) merge; 20 and 25 (4 between)
	 * merge; 63 alone. */
	ck_assert_uint_eq(wset_ra_spans(&w, 4, out), 3);
	ck_assert_uint_eq(out[0].first, 3);
	ck_assert_uint_eq(out[0].count, 8);
	ck_assert_uint_eq(out[1].first, 20);
	ck_assert_uint_eq(out[1].count, 6);
	ck_assert_uint_eq(out[2].first, 63);
	ck_assert_uint_eq(out[2].count, 1);
	ck_assert_uint_eq(wset_ra_spans(&w, 0, out), 5);
	ck_assert_uint_eq(wset_ra_spans(&w, 100, out), 1);
	ck_assert_uint_eq(out[0].count, 61);
	w.nr_ranges = 0;
	ck_assert_uint_eq(wset_ra_spans(&w, 4, out), 0);
}
END_TEST

/* Pieces across the MMIO gap: a range that spans the end of the low
 * region continues at the start of the high one, the rank (copy index)
 * counting on. The addresses are never dereferenced. */
struct piece {
	uint8_t *hva;
	uint64_t len, rank;
};

static int note_piece(void *ctx, uint8_t *hva, uint64_t len, uint64_t rank)
{
	struct piece *p = ctx;

	while (p->len)
		p++;
	*p = (struct piece){ hva, len, rank };
	return rank >= 1000 ? -E2BIG : 0;
}

START_TEST(pieces_across_the_gap)
{
	struct guest_mem mem = { 0 };
	struct piece got[8];
	uint8_t *lo = (uint8_t *)(uintptr_t)0x100000000000ULL, *hi;
	uint64_t low_pages;
	struct wset_range r[3];
	struct wset w = { .ranges = r, .nr_ranges = 3 };

	mem.nr_regions = guest_mem_layout(4ULL << 30, mem.regions);
	ck_assert_uint_eq(mem.nr_regions, 2);
	hi = (uint8_t *)(uintptr_t)0x200000000000ULL;
	mem.regions[0].hva = lo;
	mem.regions[1].hva = hi;
	low_pages = mem.regions[0].size / WSET_PAGE;
	r[0] = (struct wset_range){ 5, 1 };                  /* low: rank 0 */
	r[1] = (struct wset_range){ low_pages - 2, 4 };      /* 2 low + 2 high: ranks 1, 3 */
	r[2] = (struct wset_range){ low_pages + 10, 3 };     /* high: rank 5 */
	memset(got, 0, sizeof(got));
	ck_assert_int_eq(wset_each_piece(&mem, &w, note_piece, got), 0);
	ck_assert_ptr_eq(got[0].hva, lo + 5 * WSET_PAGE);
	ck_assert_uint_eq(got[0].len, WSET_PAGE);
	ck_assert_uint_eq(got[0].rank, 0);
	ck_assert_ptr_eq(got[1].hva, lo + (low_pages - 2) * WSET_PAGE);
	ck_assert_uint_eq(got[1].len, 2 * WSET_PAGE);
	ck_assert_uint_eq(got[1].rank, 1);
	ck_assert_ptr_eq(got[2].hva, hi);
	ck_assert_uint_eq(got[2].len, 2 * WSET_PAGE);
	ck_assert_uint_eq(got[2].rank, 3);
	ck_assert_ptr_eq(got[3].hva, hi + 10 * WSET_PAGE);
	ck_assert_uint_eq(got[3].len, 3 * WSET_PAGE);
	ck_assert_uint_eq(got[3].rank, 5);
	ck_assert_uint_eq(got[4].len, 0);
	/* The first error stops the walk and is returned: the callback
	 * refuses rank 1000, the second range; nothing after it is seen. */
	{
		struct wset_range big[3] = { { 0, 1000 }, { 2000, 1 }, { 3000, 1 } };
		struct piece g2[4];

		memset(g2, 0, sizeof(g2));
		ck_assert_int_eq(wset_each_piece(&mem, &(struct wset){ .ranges = big, .nr_ranges = 3 },
						 note_piece, g2), -E2BIG);
		ck_assert_uint_eq(g2[1].rank, 1000);
		ck_assert_uint_eq(g2[2].len, 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wset");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, v2_with_copies);
	tcase_add_test(tc, v2_without_copies_and_v1);
	tcase_add_test(tc, duplicates_count_once);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, read_checks_snapshot_id);
	tcase_add_test(tc, readahead_spans);
	tcase_add_test(tc, pieces_across_the_gap);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
