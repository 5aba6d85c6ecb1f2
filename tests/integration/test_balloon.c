/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_balloon.c — the virtio-balloon device end to end: build/wisp driven
 * through its API socket, the test guest's `balloon` driver on the other
 * side (tests/guest/scen_balloon.c).
 *
 * What is proven (each test can fail):
 *  - with 256 MiB of guest RAM written by the guest, PATCH /balloon
 *    amount_mib=128 makes the guest inflate and the wisp process's resident
 *    memory (VmRSS) drops by 128 MiB ±10 %; GET /balloon/statistics shows
 *    the target, the actual size and the numbers the guest reported (only
 *    those: an unreported statistic is absent); PATCH back to 0 deflates
 *    (actual 0) and every returned page reads back as zero in the guest;
 *  - hostile page numbers (the MMIO gap, the IOAPIC page, past the end of
 *    RAM, 0xffffffff) are refused and counted (GET /wisp/metrics balloon.invalid_pfns)
 *    and the device keeps working afterwards; the balloon metrics section
 *    has Firecracker's field names;
 *  - free page hinting (Firecracker's start/status/stop, the guest hints a
 *    free 2 MiB run under the command id and stops, DONE with and without
 *    acknowledge_on_stop) and free page reporting give the ranges back
 *    (they read back as zero) and are counted;
 *  - Firecracker's refusals and texts before and after boot;
 *  - a snapshot of an inflated balloon restores with its target, actual
 *    size and statistics, and the restored device still deflates and
 *    inflates.
 *
 * WISP_IT_NO_SECCOMP=1 in the environment runs wisp with --no-seccomp.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"

#define GUEST_MS 90000
#define NOT_BEFORE "The requested operation is not supported before starting the microVM."
#define NOT_AFTER "The requested operation is not supported after starting the microVM."

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/wisp-balloon-XXXXXX");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static char *path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static void start(struct wisp *w, const char *sock)
{
	char *s = path(sock);

	wisp_spawn(w, s, NULL, NULL);
	free(s);
}

/* machine-config, boot-source with `args`, optional balloon and metrics. */
static void configure(struct wisp *w, unsigned mib, const char *args, const char *balloon,
		      bool metrics)
{
	char *b;

	if (asprintf(&b, "{\"vcpu_count\": 1, \"mem_size_mib\": %u}", mib) < 0)
		abort();
	CALL(w, "PUT", "/machine-config", b, 204);
	free(b);
	if (asprintf(&b, "{\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0 %s\"}",
		     build_path("wisp-testguest"), args) < 0)
		abort();
	CALL(w, "PUT", "/boot-source", b, 204);
	free(b);
	if (balloon)
		CALL(w, "PUT", "/balloon", balloon, 204);
	if (metrics) {
		char *m = path("metrics.json");

		if (asprintf(&b, "{\"metrics_path\": \"%s\"}", m) < 0)
			abort();
		CALL(w, "PUT", "/metrics", b, 204);
		free(b);
		free(m);
	}
}

static void boot(struct wisp *w)
{
	CALL(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
}

static void wait_line(struct wisp *w, const char *line)
{
	ck_assert_msg(proc_wait_for(&w->p, line, GUEST_MS), "no \"%s\"\nstdout:\n%s\nstderr:\n%s",
		      line, w->p.out.data, w->p.err.data);
}

/* The wisp process's resident memory in KiB. */
static long rss_kib(const struct wisp *w)
{
	char p[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)w->p.pid);
	f = fopen(p, "r");
	ck_assert_msg(f != NULL, "%s: %s", p, strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A field of the last API answer (a JSON object), or -1 when absent. */
static long long body_int(struct wisp *w, const char *key)
{
	json_error_t e;
	json_t *o = json_loads(w->c.body, 0, &e), *v;
	long long r = -1;

	ck_assert_msg(o != NULL, "not JSON: %s", w->c.body);
	v = json_object_get(o, key);
	if (json_is_integer(v))
		r = (long long)json_integer_value(v);
	json_decref(o);
	return r;
}

/* Flush the metrics and return the "balloon" section's `key` summed over
 * every line written so far (each line holds what a counter counted since
 * the previous one; the 60 s timer may write lines too): the total. With
 * key2, *v2 gets that one's total. */
static long long balloon_metric2(struct wisp *w, const char *key, const char *key2,
				 long long *v2)
{
	char *m = path("metrics.json"), *data, *line, *save = NULL;
	size_t len;
	long long r = 0, r2 = 0;
	int lines = 0;

	CALL(w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	data = read_whole_file(m, &len);
	ck_assert_msg(data != NULL, "cannot read %s", m);
	data = realloc(data, len + 1);   /* NUL-terminated for strtok_r */
	ck_assert_ptr_nonnull(data);
	data[len] = 0;
	for (line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *j = json_loads(line, 0, &e), *sec, *v;

		ck_assert_msg(j != NULL, "metrics line is not JSON: %s", line);
		sec = json_object_get(j, "balloon");
		v = json_object_get(sec, key);
		ck_assert_msg(json_is_integer(v), "metrics: balloon.%s missing in %s", key, line);
		r += (long long)json_integer_value(v);
		if (key2) {
			v = json_object_get(sec, key2);
			ck_assert_msg(json_is_integer(v), "metrics: balloon.%s missing in %s", key2,
				      line);
			r2 += (long long)json_integer_value(v);
		}
		json_decref(j);
		lines++;
	}
	ck_assert_int_gt(lines, 0);
	if (v2)
		*v2 = r2;
	free(data);
	free(m);
	return r;
}

static long long balloon_metric(struct wisp *w, const char *key)
{
	return balloon_metric2(w, key, NULL, NULL);
}

/* One of wisp's own balloon counters (not in Firecracker's metrics line):
 * its total since start, from GET /wisp/metrics. */
static long long balloon_wisp_metric(struct wisp *w, const char *key)
{
	json_error_t e;
	json_t *j, *v;
	long long r;

	CALL(w, "GET", "/wisp/metrics", NULL, 200);
	j = json_loads(w->c.body, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %s", w->c.body);
	v = json_object_get(json_object_get(j, "balloon"), key);
	ck_assert_msg(json_is_integer(v), "/wisp/metrics: balloon.%s missing in %s", key,
		      w->c.body);
	r = (long long)json_integer_value(v);
	json_decref(j);
	return r;
}

/* ================================================================== */

START_TEST(inflate_gives_memory_back_and_deflate_returns_it)
{
	struct wisp w;
	long before, after = 0, back = 0, drop = 0;
	long long fails;

	start(&w, "a.sock");
	configure(&w, 256, "wtest=balloon wtest.hostile=1",
		  "{\"amount_mib\": 0, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1}",
		  true);
	boot(&w);
	wait_line(&w, "balloon: hostile page numbers sent (4), the device answered");
	wait_line(&w, "balloon: actual 0 pages");
	before = rss_kib(&w);
	/* The guest wrote its free RAM: the host holds most of 256 MiB. */
	ck_assert_msg(before > 240 * 1024, "VmRSS %ld KiB after the guest wrote its RAM", before);

	CALL(&w, "PATCH", "/balloon", "{\"amount_mib\": 128}", 204);
	wait_line(&w, "balloon: actual 32768 pages (128 MiB)");
	for (int i = 0; i < 50; i++) {
		after = rss_kib(&w);
		drop = before - after;
		if (drop >= 128 * 1024 * 9 / 10)
			break;
		sleep_ms(100);
	}
	printf("VmRSS %ld KiB -> %ld KiB after inflating 128 MiB (%ld KiB less)\n", before, after,
	       drop);
	ck_assert_msg(drop >= 128 * 1024 * 9 / 10 && drop <= 128 * 1024 * 11 / 10,
		      "VmRSS %ld -> %ld KiB: dropped %ld KiB, want 128 MiB +-10%%", before, after,
		      drop);

	CALL(&w, "GET", "/balloon", NULL, 200);
	ck_assert_int_eq(body_int(&w, "amount_mib"), 128);
	ck_assert_int_eq(body_int(&w, "stats_polling_interval_s"), 1);
	ck_assert_msg(strstr(w.c.body, "\"deflate_on_oom\":true"), "%s", w.c.body);
	CALL(&w, "GET", "/balloon/statistics", NULL, 200);
	ck_assert_int_eq(body_int(&w, "target_pages"), 32768);
	ck_assert_int_eq(body_int(&w, "actual_pages"), 32768);
	ck_assert_int_eq(body_int(&w, "target_mib"), 128);
	ck_assert_int_eq(body_int(&w, "actual_mib"), 128);
	/* The guest's numbers: minor_faults is always 7, total_memory its
	 * pool; swap_in it never reports. */
	ck_assert_int_eq(body_int(&w, "minor_faults"), 7);
	ck_assert_msg(body_int(&w, "total_memory") > 200ll << 20, "%s", w.c.body);
	ck_assert_msg(body_int(&w, "free_memory") >= 0, "%s", w.c.body);
	ck_assert_msg(!strstr(w.c.body, "swap_in"), "unreported statistic present: %s", w.c.body);
	/* The statistics keep coming (major_faults counts the guest's answers). */
	{
		long long n0 = body_int(&w, "major_faults"), n1 = n0;

		for (int i = 0; i < 100 && n1 <= n0; i++) {
			sleep_ms(100);
			CALL(&w, "GET", "/balloon/statistics", NULL, 200);
			n1 = body_int(&w, "major_faults");
		}
		ck_assert_msg(n1 > n0, "no fresh statistics within 10 s: %s", w.c.body);
	}

	CALL(&w, "PATCH", "/balloon", "{\"amount_mib\": 0}", 204);
	/* Every page came back empty: the host really dropped them. */
	wait_line(&w, "balloon: deflated pages read back as zero: 32768 of 32768");
	wait_line(&w, "balloon: actual 0 pages");
	CALL(&w, "GET", "/balloon/statistics", NULL, 200);
	ck_assert_int_eq(body_int(&w, "actual_pages"), 0);
	ck_assert_int_eq(body_int(&w, "target_mib"), 0);
	/* The guest uses the pages again: the host holds them again. */
	back = rss_kib(&w);
	ck_assert_msg(back > after + 100 * 1024, "VmRSS %ld KiB after the deflate (was %ld)", back,
		      after);

	/* Interval changes, on/off does not. */
	CALL(&w, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 2}", 204);
	FAULT(&w, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}",
	      "Balloon update error: Balloon: Statistics cannot be enabled/disabled after "
	      "activation.");
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_msg(strstr(w.c.body, "\"balloon\":{\"amount_mib\":0,\"deflate_on_oom\":true,"
				       "\"stats_polling_interval_s\":2"), "%s", w.c.body);

	/* Hostile page numbers again, while running: refused, counted, and
	 * the device still works. */
	ck_assert_int_eq(proc_send(&w.p, "h", 1), 0);
	for (int i = 0; i < 300 && count_substr(w.p.out.data, "hostile page numbers sent") < 2; i++)
		proc_wait_for(&w.p, "\x01never", 100);
	ck_assert_int_eq(count_substr(w.p.out.data, "hostile page numbers sent"), 2);
	ck_assert_int_eq(balloon_wisp_metric(&w, "invalid_pfns"), 8);
	ck_assert_msg(strstr(w.p.err.data, "page frame 0xc0000 (address 0xc0000000) is not guest "
					   "RAM: refused"), "%s", w.p.err.data);
	CALL(&w, "PATCH", "/balloon", "{\"amount_mib\": 16}", 204);
	wait_line(&w, "balloon: actual 4096 pages (16 MiB)");
	/* Firecracker's balloon metrics. */
	ck_assert_msg(balloon_metric(&w, "inflate_count") > 0, "inflate_count");
	fails = balloon_wisp_metric(&w, "discard_fails");
	ck_assert_int_eq(fails, 0);
	{
		static const char *const names[] = {
			"activate_fails", "inflate_count", "stats_updates_count", "stats_update_fails",
			"deflate_count", "event_fails", "free_page_report_count",
			"free_page_report_freed", "free_page_report_fails", "free_page_hint_count",
			"free_page_hint_freed", "free_page_hint_fails",
		};
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			balloon_metric(&w, names[i]);
	}

	ck_assert_int_eq(proc_send(&w.p, "q", 1), 0);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ASSERT_PASS(&w.p, "balloon");
	wisp_free(&w);
}
END_TEST

START_TEST(firecracker_refusals_and_texts)
{
	struct wisp w;

	start(&w, "a.sock");
	FAULT(&w, "GET", "/balloon", NULL, "Balloon config error: No balloon device found.");
	FAULT(&w, "PATCH", "/balloon", "{\"amount_mib\": 1}", NOT_BEFORE);
	FAULT(&w, "GET", "/balloon/statistics", NULL, NOT_BEFORE);
	FAULT(&w, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}", NOT_BEFORE);
	FAULT(&w, "PATCH", "/balloon/hinting/start", NULL, NOT_BEFORE);
	FAULT(&w, "GET", "/balloon/hinting/status", NULL, NOT_BEFORE);
	FAULT(&w, "PATCH", "/balloon/hinting/stop", NULL, NOT_BEFORE);
	configure(&w, 128, "wtest=ticker", NULL, false);
	FAULT(&w, "PUT", "/balloon", "{\"amount_mib\": 129, \"deflate_on_oom\": false}",
	      "Balloon config error: Amount of pages requested is too large.");
	FAULT(&w, "PUT", "/balloon", "{\"amount_mib\": 1}", "missing field `deflate_on_oom`");
	FAULT(&w, "PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": false, \"x\": 1}",
	      "unknown field `x`");
	FAULT(&w, "PUT", "/balloon", "{\"amount_mib\": -1, \"deflate_on_oom\": false}",
	      "balloon.amount_mib");
	FAULT(&w, "PUT", "/balloon",
	      "{\"amount_mib\": 1, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 65536}",
	      "balloon.stats_polling_interval_s");
	FAULT(&w, "GET", "/balloon", NULL, "No balloon device found.");   /* nothing was set */
	CALL(&w, "PUT", "/balloon", "{\"amount_mib\": 64, \"deflate_on_oom\": false}", 204);
	CALL(&w, "GET", "/balloon", NULL, 200);
	ck_assert_str_eq(w.c.body, "{\"amount_mib\":64,\"deflate_on_oom\":false,"
				   "\"stats_polling_interval_s\":0,\"free_page_hinting\":false,"
				   "\"free_page_reporting\":false}");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 32}",
	      "Machine config error: The memory size (MiB) is smaller than the previously set "
	      "balloon device target size.");
	FAULT(&w, "PATCH", "/machine-config", "{\"mem_size_mib\": 63}",
	      "The memory size (MiB) is smaller than the previously set balloon device target");
	CALL(&w, "PATCH", "/machine-config", "{\"mem_size_mib\": 128}", 204);
	boot(&w);
	wait_line(&w, "TICK 1");
	/* The ticker has no balloon driver: the device is not active. */
	FAULT(&w, "PATCH", "/balloon", "{\"amount_mib\": 1}",
	      "Balloon update error: Balloon: Device not activated yet.");
	FAULT(&w, "PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": false}", NOT_AFTER);
	CALL(&w, "GET", "/balloon", NULL, 200);
	ck_assert_int_eq(body_int(&w, "amount_mib"), 64);
	FAULT(&w, "GET", "/balloon/statistics", NULL,
	      "Internal VMM error: Balloon: Received stats query when stats are disabled.");
	FAULT(&w, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}",
	      "Balloon update error: Balloon: Statistics cannot be enabled/disabled after "
	      "activation.");
	FAULT(&w, "PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": true}",
	      "Balloon update error: Balloon: Attempting to use hinting when not enabled");
	FAULT(&w, "GET", "/balloon/hinting/status", NULL,
	      "Balloon update error: Balloon: Attempting to use hinting when not enabled");
	wisp_free(&w);

	/* A VM without a balloon. */
	start(&w, "b.sock");
	configure(&w, 128, "wtest=ticker", NULL, false);
	boot(&w);
	wait_line(&w, "TICK 1");
	FAULT(&w, "PATCH", "/balloon", "{\"amount_mib\": 1}",
	      "Balloon update error: Failed perform action on device: Device not found");
	FAULT(&w, "GET", "/balloon", NULL,
	      "Internal VMM error: Failed perform action on device: Device not found");
	FAULT(&w, "GET", "/balloon/statistics", NULL,
	      "Internal VMM error: Failed perform action on device: Device not found");
	wisp_free(&w);
}
END_TEST

START_TEST(hinting_reporting_and_active_refusals)
{
	struct wisp w;
	long long freed = 0;

	start(&w, "a.sock");
	configure(&w, 128, "wtest=balloon",
		  "{\"amount_mib\": 0, \"deflate_on_oom\": false, \"free_page_hinting\": true,"
		  " \"free_page_reporting\": true}", true);
	boot(&w);
	wait_line(&w, "balloon: actual 0 pages");
	FAULT(&w, "PATCH", "/balloon", "{\"amount_mib\": 129}",
	      "Balloon update error: Balloon: Requested memory should be less than 129MiB");
	FAULT(&w, "GET", "/balloon/statistics", NULL,
	      "Internal VMM error: Balloon: Received stats query when stats are disabled.");

	/* Free page hinting, Firecracker's commands: the guest hints a free
	 * 2 MiB run under the new id and stops; the device acknowledges
	 * (DONE) by default. */
	CALL(&w, "GET", "/balloon/hinting/status", NULL, 200);
	ck_assert_str_eq(w.c.body, "{\"host_cmd\":0,\"guest_cmd\":null}");
	CALL(&w, "PATCH", "/balloon/hinting/start", NULL, 204);
	wait_line(&w, "balloon: free_page_hint_cmd_id 2");
	wait_line(&w, "balloon: hinting: 512 free pages given, 512 read back as zero");
	wait_line(&w, "balloon: free_page_hint_cmd_id 1");
	CALL(&w, "GET", "/balloon/hinting/status", NULL, 200);
	ck_assert_str_eq(w.c.body, "{\"host_cmd\":1,\"guest_cmd\":0}");
	/* Without the acknowledgement the id stays until PATCH stop. */
	CALL(&w, "PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false}", 204);
	wait_line(&w, "balloon: free_page_hint_cmd_id 3");
	for (int i = 0; i < 100 && count_substr(w.p.out.data, "hinting: 512 free pages") < 2; i++)
		proc_wait_for(&w.p, "\x01never", 100);
	ck_assert_int_eq(count_substr(w.p.out.data, "hinting: 512 free pages given, 512 read "
						      "back as zero"), 2);
	sleep_ms(300);
	CALL(&w, "GET", "/balloon/hinting/status", NULL, 200);
	ck_assert_str_eq(w.c.body, "{\"host_cmd\":3,\"guest_cmd\":0}");
	CALL(&w, "PATCH", "/balloon/hinting/stop", NULL, 204);
	CALL(&w, "GET", "/balloon/hinting/status", NULL, 200);
	ck_assert_str_eq(w.c.body, "{\"host_cmd\":1,\"guest_cmd\":0}");
	FAULT(&w, "PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": 1}",
	      "acknowledge_on_stop");
	ck_assert_int_eq(balloon_metric2(&w, "free_page_hint_count", "free_page_hint_freed", &freed),
			 2);
	ck_assert_int_eq(freed, 2 * (2 << 20));

	/* Free page reporting: a reported free run is given back. */
	ck_assert_int_eq(proc_send(&w.p, "r", 1), 0);
	wait_line(&w, "balloon: reporting: 512 free pages given, 512 read back as zero");
	ck_assert_int_eq(balloon_metric2(&w, "free_page_report_count", "free_page_report_freed",
					 &freed), 1);
	ck_assert_int_eq(freed, 2 << 20);

	CALL(&w, "PATCH", "/balloon", "{\"amount_mib\": 8}", 204);
	wait_line(&w, "balloon: actual 2048 pages (8 MiB)");
	ck_assert_int_eq(proc_send(&w.p, "q", 1), 0);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ASSERT_PASS(&w.p, "balloon");
	wisp_free(&w);
}
END_TEST

START_TEST(inflated_balloon_survives_a_snapshot)
{
	struct wisp a, b;
	char *snap = path("vm.snap"), *mem = path("vm.mem"), *body;

	start(&a, "a.sock");
	configure(&a, 128, "wtest=balloon",
		  "{\"amount_mib\": 0, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 1}",
		  false);
	boot(&a);
	wait_line(&a, "balloon: actual 0 pages");
	CALL(&a, "PATCH", "/balloon", "{\"amount_mib\": 64}", 204);
	wait_line(&a, "balloon: actual 16384 pages (64 MiB)");
	CALL(&a, "PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 2}", 204);
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	if (asprintf(&body, "{\"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}", snap, mem) < 0)
		abort();
	CALL(&a, "PUT", "/snapshot/create", body, 204);
	free(body);
	wisp_free(&a);

	start(&b, "b.sock");
	if (asprintf(&body, "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": "
			    "\"File\", \"backend_path\": \"%s\"}, \"resume_vm\": true}", snap, mem) < 0)
		abort();
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	CALL(&b, "GET", "/balloon", NULL, 200);
	ck_assert_int_eq(body_int(&b, "amount_mib"), 64);
	ck_assert_int_eq(body_int(&b, "stats_polling_interval_s"), 2);
	CALL(&b, "GET", "/balloon/statistics", NULL, 200);
	ck_assert_int_eq(body_int(&b, "actual_pages"), 16384);
	ck_assert_int_eq(body_int(&b, "minor_faults"), 7);
	{
		long long n0 = body_int(&b, "major_faults"), n1 = n0;

		for (int i = 0; i < 100 && n1 <= n0; i++) {
			sleep_ms(100);
			CALL(&b, "GET", "/balloon/statistics", NULL, 200);
			n1 = body_int(&b, "major_faults");
		}
		ck_assert_msg(n1 > n0, "no statistics after the restore: %s", b.c.body);
	}
	CALL(&b, "PATCH", "/balloon", "{\"amount_mib\": 0}", 204);
	/* Holes in the memory file: the pages read as zero after the restore. */
	wait_line(&b, "balloon: deflated pages read back as zero: 16384 of 16384");
	wait_line(&b, "balloon: actual 0 pages");
	CALL(&b, "PATCH", "/balloon", "{\"amount_mib\": 32}", 204);
	wait_line(&b, "balloon: actual 8192 pages (32 MiB)");
	ck_assert_int_eq(proc_send(&b.p, "q", 1), 0);
	ck_assert(proc_finish(&b.p, GUEST_MS));
	ASSERT_PASS(&b.p, "balloon");
	ck_assert_msg(!strstr(b.p.err.data, "cannot give back"), "%s", b.p.err.data);
	wisp_free(&b);
	free(snap);
	free(mem);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("balloon");
	TCase *tc = tcase_create("balloon");

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("no usable /dev/kvm: skipped\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, firecracker_refusals_and_texts);
	tcase_add_test(tc, hinting_reporting_and_active_refusals);
	tcase_add_test(tc, inflate_gives_memory_back_and_deflate_returns_it);
	tcase_add_test(tc, inflated_balloon_survives_a_snapshot);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
