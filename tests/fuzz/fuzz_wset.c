/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_wset.c — libFuzzer target for the working-set file parser
 * (vmm/kvm/wset_file.c: PUT /snapshot/load's working_set.path, versions 1
 * and 2, docs/snapshots.md).
 *
 * Input: 2 bytes choose the guest's size (1..65536 pages) and 4 how much
 * longer than the input the whole file claims to be (up to 4 GiB, so
 * that a list with page copies beyond the input is parsed as wset_read
 * does: header and list only); the rest is the file. A refusal must come
 * with a message and leave nothing allocated; an accepted file gives
 * sorted, disjoint, non-adjacent ranges inside guest memory whose page
 * count is nr_pages, copies (if any) matching that count and the file's
 * size, and readahead spans that cover every range in order.
 * Seeds: tests/fuzz/corpus/wset (tests/fuzz/make_seeds.py). */
#include <errno.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "kvm/wset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	struct wset w;
	struct wset_range *sp;
	uint64_t pages, extra, mem, sum = 0;
	char why[300];
	size_t n;
	int r;

	fz_init(&f, data, size);
	pages = fz_int(&f, 2) + 1;
	extra = fz_int(&f, 4);
	mem = pages * WSET_PAGE;
	why[0] = '\0';
	r = wset_parse(f.p, f.left, f.left + extra, mem, &w, why, sizeof(why));
	if (r < 0) {
		if ((r != -EINVAL && r != -ENOMEM) || !why[0] || w.ranges || w.fd != -1)
			abort();
		return 0;
	}
	if (w.fd != -1 || (w.version != 1 && w.version != 2) || (w.version == 1 && extra))
		abort();
	for (size_t k = 0; k < w.nr_ranges; k++) {
		const struct wset_range *g = &w.ranges[k];

		if (!g->count || g->first >= pages || g->count > pages - g->first)
			abort();
		if (k && g->first <= w.ranges[k - 1].first + w.ranges[k - 1].count)
			abort();   /* overlapping or adjacent (should have merged) */
		sum += g->count;
	}
	if (sum != w.nr_pages)
		abort();
	if (w.data_off &&
	    (w.data_off % WSET_PAGE || f.left + extra - w.data_off != w.nr_pages * WSET_PAGE))
		abort();
	sp = malloc((w.nr_ranges ? w.nr_ranges : 1) * sizeof(*sp));
	if (!sp)
		abort();
	n = wset_ra_spans(&w, WSET_RA_GAP, sp);
	for (size_t k = 0, i = 0; k < w.nr_ranges; k++) {
		const struct wset_range *g = &w.ranges[k];

		while (i < n && sp[i].first + sp[i].count <= g->first)
			i++;
		if (i == n || g->first < sp[i].first ||
		    g->first + g->count > sp[i].first + sp[i].count)
			abort();
	}
	free(sp);
	wset_free(&w);
	return 0;
}
