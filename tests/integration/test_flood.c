/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_flood.c — a guest that tries to flood the host log (the security
 * review's finding: 100,000 invalid virtio Status writes gave 100,000 log
 * lines, 12.8 MB in 1.5 s). The `flood` scenario makes 2 x 100,000
 * refused register writes on a virtio-blk device; wisp's per-call-site
 * limits (vmm.h: LOG_SITE_BURST lines, then one per LOG_SITE_INTERVAL_MS)
 * must bound the lines each warning site writes, the last line of a site
 * says how many it suppressed, and the device must still work.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "harness.h"
#include "it_virtio_util.h"

#define BURST 10          /* LOG_SITE_BURST */
#define INTERVAL_MS 500   /* LOG_SITE_INTERVAL_MS */

static void teardown(void)
{
	tmpdir_cleanup();
}

START_TEST(guest_cannot_flood_the_log)
{
	struct proc p;
	char *img = write_tmp_file("d.img", ""), *drives, *doc, *cfg;
	unsigned long long writes = 0, ms = 0;
	const char *at;
	int clear_lines, ready_lines, bound;

	ck_assert_int_eq(image_create(img, 2048), 0);
	ck_assert_int_ge(asprintf(&drives,
				  "\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"%s\", "
				  "\"is_root_device\": false, \"is_read_only\": false}]",
				  img),
			 0);
	doc = guest_config("wtest=flood", NULL, drives);
	cfg = write_tmp_file("vm.json", doc);
	ck_assert_msg(wisp_run_config(&p, cfg, NULL, 120000), "wisp did not exit in time\n%s",
		      p.err.data);
	ASSERT_PASS(&p, "flood");
	at = strstr(p.out.data, "flood: ");
	ck_assert_ptr_nonnull(at);
	ck_assert_int_eq(sscanf(at, "flood: %llu writes in %llu ms", &writes, &ms), 2);
	ck_assert_int_eq(writes, 200000);
	clear_lines = count_substr(p.err.data, "would clear bits");
	ready_lines = count_substr(p.err.data, "QueueReady before FEATURES_OK ignored");
	/* The burst, one more line per interval while the flood lasted, and
	 * one spare for the interval boundaries. */
	bound = BURST + (int)(ms / INTERVAL_MS) + 2;
	ck_assert_msg(clear_lines >= 1 && clear_lines <= bound,
		      "%d Status lines for 100000 writes in %llu ms (bound %d)", clear_lines, ms,
		      bound);
	ck_assert_msg(ready_lines >= 1 && ready_lines <= bound,
		      "%d QueueReady lines for 100000 writes in %llu ms (bound %d)", ready_lines, ms,
		      bound);
	ck_assert_msg(strstr(p.err.data, "similar lines suppressed]"),
		      "no line says how many were suppressed:\n%.3000s", p.err.data);
	ck_assert_msg(p.err.len < 64 * 1024, "%zu bytes of log", p.err.len);
	proc_free(&p);
	free(drives);
	free(doc);
	free(cfg);
	free(img);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("flood");
	TCase *tc = tcase_create("flood");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, guest_cannot_flood_the_log);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
