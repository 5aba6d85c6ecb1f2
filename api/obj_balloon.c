/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj_balloon.c — the balloon's API objects (Firecracker's Balloon,
 * BalloonUpdate, BalloonStatsUpdate, BalloonStartCmd, BalloonStats,
 * BalloonHintingStatus).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

int obj_balloon(const struct jerr *e, const char *prefix, const json_t *o,
		struct balloon_config *out)
{
	static const char *const keys[] = {"amount_mib", "deflate_on_oom",
					   "stats_polling_interval_s", "free_page_hinting",
					   "free_page_reporting", NULL};
	struct balloon_config b;
	uint64_t v = 0;
	int rc = jexpect_object(e, prefix, o);

	memset(&b, 0, sizeof(b));   /* padding too: configs are compared with memcmp */
	b.set = true;
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = juint(e, prefix, o, "amount_mib", true, 0, UINT32_MAX, &v, NULL);
	b.amount_mib = (uint32_t)v;
	if (!rc)
		rc = jbool(e, prefix, o, "deflate_on_oom", true, &b.deflate_on_oom, NULL);
	v = 0;
	if (!rc)
		rc = juint(e, prefix, o, "stats_polling_interval_s", false, 0, UINT16_MAX, &v, NULL);
	b.stats_polling_interval_s = (uint16_t)v;
	if (!rc)
		rc = jbool(e, prefix, o, "free_page_hinting", false, &b.free_page_hinting, NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "free_page_reporting", false, &b.free_page_reporting, NULL);
	if (!rc)
		*out = b;
	return rc;
}

int obj_balloon_patch(const struct jerr *e, const char *prefix, const json_t *o, uint32_t *out)
{
	static const char *const keys[] = {"amount_mib", NULL};
	uint64_t v = 0;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = juint(e, prefix, o, "amount_mib", true, 0, UINT32_MAX, &v, NULL);
	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

int obj_balloon_stats_patch(const struct jerr *e, const char *prefix, const json_t *o,
			    uint16_t *out)
{
	static const char *const keys[] = {"stats_polling_interval_s", NULL};
	uint64_t v = 0;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = juint(e, prefix, o, "stats_polling_interval_s", true, 0, UINT16_MAX, &v, NULL);
	if (!rc)
		*out = (uint16_t)v;
	return rc;
}

int obj_balloon_hint_start(const struct jerr *e, const char *prefix, const json_t *o, bool *out)
{
	static const char *const keys[] = {"acknowledge_on_stop", NULL};
	bool ack = true;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "acknowledge_on_stop", false, &ack, NULL);
	if (!rc)
		*out = ack;
	return rc;
}

json_t *obj_balloon_json(const struct balloon_config *b)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->amount_mib,
			 "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)b->stats_polling_interval_s, "free_page_hinting",
			 b->free_page_hinting, "free_page_reporting", b->free_page_reporting);
}

/* Firecracker's names of the statistics tags 0..15 (VIRTIO_BALLOON_S_*). */
static const char *const stat_names[API_BALLOON_NR_STATS] = {
	"swap_in", "swap_out", "major_faults", "minor_faults", "free_memory", "total_memory",
	"available_memory", "disk_caches", "hugetlb_allocations", "hugetlb_failures",
	"oom_kill", "alloc_stall", "async_scan", "direct_scan", "async_reclaim",
	"direct_reclaim",
};

json_t *obj_balloon_stats_json(uint32_t target_pages, uint32_t actual_pages, uint32_t present,
			       const uint64_t val[API_BALLOON_NR_STATS])
{
	json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)target_pages,
			      "actual_pages", (json_int_t)actual_pages, "target_mib",
			      (json_int_t)(target_pages / 256), "actual_mib",
			      (json_int_t)(actual_pages / 256));

	for (unsigned tag = 0; o && tag < API_BALLOON_NR_STATS; tag++) {
		json_t *v;

		if (!(present & (1u << tag)))
			continue;
		/* u64 in Firecracker; jansson holds a signed 64-bit integer. */
		v = val[tag] > (uint64_t)INT64_MAX ? json_real((double)val[tag])
						   : json_integer((json_int_t)val[tag]);
		json_object_set_new(o, stat_names[tag], v);
	}
	return o;
}

static char *dump(json_t *v)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(v);
	return s;
}

char *api_balloon_json(const struct balloon_config *b)
{
	return dump(obj_balloon_json(b));
}

char *api_balloon_stats_json(uint32_t target_pages, uint32_t actual_pages, uint32_t present,
			     const uint64_t val[16])
{
	return dump(obj_balloon_stats_json(target_pages, actual_pages, present, val));
}

char *api_balloon_hint_status_json(uint32_t host_cmd, bool has_guest_cmd, uint32_t guest_cmd)
{
	/* Firecracker serialises the Option: null until the guest sent one. */
	json_t *o = json_pack("{s:I, s:o}", "host_cmd", (json_int_t)host_cmd, "guest_cmd",
			      has_guest_cmd ? json_integer((json_int_t)guest_cmd) : json_null());

	return dump(o);
}
