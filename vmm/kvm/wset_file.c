/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wset_file.c — the working-set file (wset.h): parse, read, readahead
 * spans. Pure logic and plain file reads, no KVM: unit-tested
 * (tests/unit/test_wset.c) and fuzzed (tests/fuzz/fuzz_wset.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"
#include "wset.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)
#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;   /* x86_64: little-endian */
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Page indices at buf (n of them, each < pages) into sorted, merged
 * ranges in out (a page listed twice counts once). */
static int parse_indices(const uint8_t *buf, uint64_t n, uint64_t pages, struct wset *out,
			 char *why, size_t whylen)
{
	uint64_t *idx;
	size_t nr = 0;

	idx = malloc((size_t)(n ? n : 1) * sizeof(*idx));
	out->ranges = malloc((size_t)(n ? n : 1) * sizeof(*out->ranges));
	if (!idx || !out->ranges) {
		free(idx);
		WHY("out of memory");
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		idx[i] = get64(buf + 8 * i);
		if (idx[i] >= pages) {
			WHY("page %" PRIu64 " (entry %" PRIu64 ") is beyond guest memory (%" PRIu64
			    " pages)", idx[i], i, pages);
			free(idx);
			return -EINVAL;
		}
	}
	qsort(idx, (size_t)n, sizeof(*idx), cmp_u64);
	for (uint64_t i = 0; i < n; i++) {
		if (i && idx[i] == idx[i - 1])
			continue;
		out->nr_pages++;
		if (nr && out->ranges[nr - 1].first + out->ranges[nr - 1].count == idx[i])
			out->ranges[nr - 1].count++;
		else
			out->ranges[nr++] = (struct wset_range){ idx[i], 1 };
	}
	out->nr_ranges = nr;
	free(idx);
	return 0;
}

int wset_parse(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t mem_size,
	       struct wset *out, char *why, size_t whylen)
{
	uint64_t n, pages = mem_size / WSET_PAGE, idx_end, copies = 0;
	uint32_t version;
	int r;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (len < WSET_HDR1_LEN || len > file_size || memcmp(buf, WSET_MAGIC, 8) != 0) {
		WHY("not a working-set file (no \"%s\" header)", WSET_MAGIC);
		return -EINVAL;
	}
	version = get32(buf + 8);
	if ((version != 1 && version != 2) || get32(buf + 12) != WSET_PAGE) {
		WHY("version %" PRIu32 " with %" PRIu32 "-byte pages, wisp reads versions 1 and 2 "
		    "with %u-byte pages", version, get32(buf + 12), WSET_PAGE);
		return -EINVAL;
	}
	if (get64(buf + 16) != mem_size) {
		WHY("recorded for %" PRIu64 " bytes of guest memory, the snapshot's guest has %"
		    PRIu64, get64(buf + 16), mem_size);
		return -EINVAL;
	}
	n = get64(buf + 24);
	out->version = version;
	if (version == 1) {
		/* The list and nothing else. */
		if (n > pages || len != file_size || (len - WSET_HDR1_LEN) / 8 != n ||
		    (len - WSET_HDR1_LEN) % 8) {
			WHY("%" PRIu64 " bytes do not hold the %" PRIu64 " page indices the header "
			    "announces", file_size, n);
			return -EINVAL;
		}
		r = parse_indices(buf + WSET_HDR1_LEN, n, pages, out, why, whylen);
		if (r < 0)
			wset_free(out);
		return r;
	}
	if (len < WSET_HDR_LEN) {
		WHY("%" PRIu64 " bytes: shorter than the %u-byte version-2 header", file_size,
		    WSET_HDR_LEN);
		return -EINVAL;
	}
	out->snap_id = get64(buf + 32);
	out->data_off = get64(buf + 40);
	copies = get64(buf + 48);
	if (get64(buf + 56) != 0) {
		WHY("reserved header field at offset 56 is not 0");
		return -EINVAL;
	}
	idx_end = n > pages ? 0 : WSET_HDR_LEN + 8 * n;
	if (!idx_end || len < idx_end) {
		WHY("%" PRIu64 " bytes do not hold the %" PRIu64 " page indices the header announces",
		    file_size, n);
		return -EINVAL;
	}
	if (out->data_off == 0) {
		if (copies || file_size != idx_end) {
			WHY("no page copies (data offset 0), yet %" PRIu64 " copies announced and %"
			    PRIu64 " bytes where the index list ends at %" PRIu64, copies, file_size,
			    idx_end);
			return -EINVAL;
		}
	} else if (out->data_off != (idx_end + WSET_PAGE - 1) / WSET_PAGE * WSET_PAGE ||
		   copies > pages || file_size - out->data_off != copies * WSET_PAGE ||
		   file_size < out->data_off) {
		WHY("page copies: data offset %" PRIu64 " (expected %" PRIu64 "), %" PRIu64
		    " copies of %u bytes, file of %" PRIu64 " bytes do not match", out->data_off,
		    (idx_end + WSET_PAGE - 1) / WSET_PAGE * WSET_PAGE, copies, WSET_PAGE,
		    file_size);
		out->data_off = 0;
		return -EINVAL;
	}
	r = parse_indices(buf + WSET_HDR_LEN, n, pages, out, why, whylen);
	if (r == 0 && out->data_off && copies != out->nr_pages) {
		WHY("%" PRIu64 " page copies for %" PRIu64 " listed pages", copies, out->nr_pages);
		r = -EINVAL;
	}
	if (r < 0)
		wset_free(out);
	return r;
}

int wset_read(const char *path, uint64_t mem_size, uint64_t snap_id, struct wset *out,
	      char *err, size_t errlen)
{
	uint8_t hdr[WSET_HDR_LEN], *buf = NULL;
	uint64_t pages = mem_size / WSET_PAGE, want;
	char why[300];
	struct stat st;
	size_t got = 0;
	ssize_t k;
	int fd, r;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	/* O_NONBLOCK: a FIFO must not hang the load (refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		ERR("working_set.path: cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ERR("working_set.path: %s is not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	/* The header says how much to read: the list (version 1: the whole
	 * file), never the page copies; bounded by the guest's page count. */
	k = pread(fd, hdr, sizeof(hdr), 0);
	want = (uint64_t)st.st_size;
	if (k >= (ssize_t)WSET_HDR1_LEN && get32(hdr + 8) == 2) {
		want = k == (ssize_t)WSET_HDR_LEN && get64(hdr + 40) ? get64(hdr + 40)
								   : (uint64_t)st.st_size;
		if (want > WSET_HDR_LEN + 8 * pages + WSET_PAGE)
			want = WSET_HDR_LEN + 8 * pages + WSET_PAGE;
	} else if (want > WSET_HDR1_LEN + 8 * pages) {
		want = WSET_HDR1_LEN + 8 * pages + 8;   /* too long: the parser says so */
	}
	if (want > (uint64_t)st.st_size)
		want = (uint64_t)st.st_size;
	buf = malloc((size_t)(want ? want : 1));
	if (!buf) {
		close(fd);
		ERR("working_set.path: %s: out of memory", path);
		return -ENOMEM;
	}
	while (got < want) {
		k = pread(fd, buf + got, (size_t)(want - got), (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	r = wset_parse(buf, got, (uint64_t)st.st_size, mem_size, out, why, sizeof(why));
	free(buf);
	if (r == 0 && out->version == 2 && out->snap_id != snap_id) {
		snprintf(why, sizeof(why), "recorded against another snapshot (state file CRC-64 "
			 "0x%016" PRIx64 ", this snapshot's 0x%016" PRIx64 ")", out->snap_id,
			 snap_id);
		wset_free(out);
		r = -EINVAL;
	}
	if (r < 0) {
		ERR("working_set.path: %s: %s", path, why);
		close(fd);
		return r;
	}
	if (out->data_off)
		out->fd = fd;
	else
		close(fd);
	return 0;
}

void wset_free(struct wset *w)
{
	free(w->ranges);
	if (w->fd >= 0)
		close(w->fd);
	memset(w, 0, sizeof(*w));
	w->fd = -1;
}

/* ---------------- readahead spans ---------------- */
size_t wset_ra_spans(const struct wset *w, uint64_t gap, struct wset_range *out)
{
	size_t n = 0;

	for (size_t k = 0; k < w->nr_ranges; k++) {
		const struct wset_range *r = &w->ranges[k];

		if (n && r->first - (out[n - 1].first + out[n - 1].count) <= gap)
			out[n - 1].count = r->first + r->count - out[n - 1].first;
		else
			out[n++] = *r;
	}
	return n;
}

/* ---------------- pieces ---------------- */
int wset_each_piece(const struct guest_mem *mem, const struct wset *w, wset_piece_fn fn,
		    void *ctx)
{
	uint64_t rank = 0;

	for (size_t k = 0; k < w->nr_ranges; k++) {
		uint64_t start = w->ranges[k].first * WSET_PAGE;
		uint64_t end = start + w->ranges[k].count * WSET_PAGE, off = 0;

		for (unsigned i = 0; i < mem->nr_regions; i++) {
			const struct guest_region *g = &mem->regions[i];
			uint64_t a = start > off ? start : off;
			uint64_t b = end < off + g->size ? end : off + g->size;
			int r;

			if (a < b &&
			    (r = fn(ctx, (uint8_t *)g->hva + (a - off), b - a,
				    rank + (a - start) / WSET_PAGE)) < 0)
				return r;
			off += g->size;
		}
		rank += w->ranges[k].count;
	}
	return 0;
}
