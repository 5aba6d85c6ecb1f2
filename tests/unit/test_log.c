/* SPDX-License-Identifier: Apache-2.0 */
/* test_log.c — Firecracker-style log lines: timestamp, [id:thread:LEVEL:origin], levels. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

static char path[] = "/tmp/wisp-test-log-XXXXXX";

static char *read_all(void)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void setup(void)
{
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(log_set_path(path), 0);
}

static void teardown(void)
{
	log_set_path(NULL);
	unlink(path);
	strcpy(path, "/tmp/wisp-test-log-XXXXXX");
}

START_TEST(line_format)
{
	struct timespec ts;
	struct tm tm;
	char want[64], *out;

	log_set_id("vm-7");
	log_set_thread_name("fc_api");
	log_set_level(LOG_INFO);
	log_set_format(true, true);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(want, sizeof(want), "%Y-%m-%dT%H:", &tm);
	log_info("hello %d", 42);
	out = read_all();
	/* date and hour agree with the C library's UTC (the test does not run
	 * across an hour boundary in practice; minutes and seconds may tick) */
	ck_assert_msg(!strncmp(out, want, strlen(want)), "got '%s', want prefix '%s'", out, want);
	ck_assert_msg(out[19] == '.' && strspn(out + 20, "0123456789") == 9, "got '%s'", out);
	/* The origin is the path from the source root (Firecracker prints
	 * "src/vmm/src/lib.rs:123"). */
	ck_assert_msg(strstr(out, " [vm-7:fc_api:INFO:tests/unit/test_log.c:") &&
			      strstr(out, "] hello 42\n"),
		      "got '%s'", out);
}
END_TEST

/* Firecracker's `module` filter: a prefix of the origin; "::" is "/". */
START_TEST(module_filters_by_origin_prefix)
{
	log_set_format(false, true);
	log_set_level(LOG_INFO);
	log_set_module("virtio/");
	log_info("filtered out");
	log_set_module("tests::unit");
	log_info("kept");
	log_set_module(NULL);
	log_info("no filter");
	ck_assert_ptr_null(strstr(read_all(), "filtered out"));
	ck_assert_ptr_nonnull(strstr(read_all(), ":tests/unit/test_log.c:"));
	ck_assert_ptr_nonnull(strstr(read_all(), "] kept\n"));
	ck_assert_ptr_nonnull(strstr(read_all(), "] no filter\n"));
}
END_TEST

/* A line the destination does not take is counted as missed (metrics
 * logger.missed_log_count); a rate-limited one is not. */
START_TEST(missed_lines_are_counted)
{
	uint64_t m0 = log_missed_lines();

	ck_assert_int_eq(log_set_path("/dev/full"), 0);
	log_info("lost");
	ck_assert_uint_eq(log_missed_lines() - m0, 1);
	ck_assert_int_eq(log_set_path(path), 0);
	log_info("taken");
	ck_assert_uint_eq(log_missed_lines() - m0, 1);
}
END_TEST

START_TEST(levels_filter_lines)
{
	log_set_format(false, false);
	log_set_level(LOG_WARN);
	log_info("not shown");
	log_warn("shown");
	log_set_level(LOG_OFF);
	log_error("not shown either");
	log_set_level(LOG_INFO);
	ck_assert_ptr_null(strstr(read_all(), "not shown"));
	ck_assert_ptr_nonnull(strstr(read_all(), "] shown\n"));
}
END_TEST

START_TEST(level_names)
{
	enum log_level l;

	ck_assert_int_eq(log_level_parse("Warning", &l), 0);
	ck_assert_int_eq(l, LOG_WARN);
	ck_assert_int_eq(log_level_parse("TRACE", &l), 0);
	ck_assert_int_eq(l, LOG_TRACE);
	ck_assert_int_eq(log_level_parse("off", &l), 0);
	ck_assert_int_eq(l, LOG_OFF);
	ck_assert_int_lt(log_level_parse("Loud", &l), 0);
}
END_TEST

START_TEST(unwritable_path_is_refused)
{
	ck_assert_int_lt(log_set_path("/nonexistent-dir/log"), 0);
	/* the previous destination is kept */
	log_info("still here");
	ck_assert_ptr_nonnull(strstr(read_all(), "still here"));
}
END_TEST

/* A flood from one call site (what a hostile guest can cause): the burst,
 * then nothing until the interval passes, then one line that says how many
 * were suppressed; other sites are unaffected; the drops are counted. */
static void flood(int i)
{
	log_warn("flood %d", i);
}

START_TEST(one_site_is_rate_limited)
{
	uint64_t sup0 = log_suppressed_lines(), drop0 = log_dropped_lines();
	const char *text;

	log_set_level(LOG_INFO);
	for (int i = 0; i < 100000; i++)
		flood(i);
	log_info("other site");
	text = read_all();
	ck_assert_int_eq(count(text, "flood "), LOG_SITE_BURST);
	ck_assert_ptr_nonnull(strstr(text, "other site"));
	ck_assert_int_eq(log_suppressed_lines() - sup0, 100000 - LOG_SITE_BURST);
	ck_assert_int_ge(log_dropped_lines() - drop0, 100000 - LOG_SITE_BURST);
	usleep((LOG_SITE_INTERVAL_MS + 50) * 1000);
	for (int i = 0; i < 3; i++)
		flood(i);
	text = read_all();
	ck_assert_int_eq(count(text, "flood "), LOG_SITE_BURST + 1);
	ck_assert_msg(strstr(text, "[99990 similar lines suppressed]"), "%s", text);
}
END_TEST

/* Lines of a level that is off use no tokens. */
START_TEST(filtered_levels_use_no_tokens)
{
	log_set_level(LOG_WARN);
	for (int i = 0; i < 1000; i++)
		log_debug("quiet %d", i);
	ck_assert_int_eq(count(read_all(), "quiet "), 0);
	log_set_level(LOG_INFO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, line_format);
	tcase_add_test(tc, levels_filter_lines);
	tcase_add_test(tc, module_filters_by_origin_prefix);
	tcase_add_test(tc, missed_lines_are_counted);
	tcase_add_test(tc, level_names);
	tcase_add_test(tc, unwritable_path_is_refused);
	tcase_add_test(tc, one_site_is_rate_limited);
	tcase_add_test(tc, filtered_levels_use_no_tokens);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
