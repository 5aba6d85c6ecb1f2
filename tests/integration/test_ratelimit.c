/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ratelimit.c — rate limiters and the entropy device on real VMs.
 *
 * Rates are measured on the host's clock (the guest's TSC calibration under
 * PVM is not trusted for this): from the end of the guest's line printed
 * just before its first request (the guest prints slowly) to the start of
 * its BENCH line (block, entropy), or from the tap's
 * counters sampled every 50 ms (network). The limiter's bucket starts full
 * when the device is created, and when it first runs dry the whole time
 * since then (the boot: more than refill_time) is credited, refilling it
 * (Firecracker's auto_replenish does the same): so 2 * size tokens come for
 * free; the rate is (done - 2 * size) / time and must be within ±10 % of
 * the limit (the network test measures past that start instead). Limits are low (64 KiB/s to 4 MiB/s, 250
 * to 500 ops/s) so the 2-core machine is never what limits.
 */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../check_main.h"
#include "it_virtio_util.h"
#include "it_metrics.h"
#include "it_wisp.h"

#define BOOT_MS 60000
#define TOL 0.10

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double field(const char *out, const char *line_tag, const char *key)
{
	const char *line = strstr(out, line_tag), *p;
	char k[40];

	if (!line)
		return NAN;
	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : NAN;
}

#define ASSERT_NEAR(got, want, what)                                                          \
	do {                                                                                   \
		fprintf(stderr, "%s: %.1f, limit %.1f (%+.1f %%)\n", what, (double)(got),        \
			(double)(want), 100.0 * ((got) - (want)) / (want));                    \
		ck_assert_msg(fabs((got) - (want)) <= TOL * (want),                            \
			      "%s: %.1f, limit %.1f (%+.1f %%)", what, (double)(got),          \
			      (double)(want), 100.0 * ((got) - (want)) / (want));              \
	} while (0)

/* Run a config-file VM; the seconds between `start` and `end` appearing
 * in its output (host clock). */
static double run_timed(struct proc *p, const char *doc, const char *start, const char *end)
{
	char *cfg = write_tmp_file("vm.json", doc);
	double t0, t1;

	ck_assert_int_eq(wisp_spawn_config(p, cfg), 0);
	free(cfg);
	ck_assert_msg(proc_wait_for(p, start, BOOT_MS), "no '%s'\nstdout:\n%s\nstderr:\n%s", start,
		      p->out.data, p->err.data);
	t0 = now_s();
	ck_assert_msg(proc_wait_for(p, end, BOOT_MS), "no '%s'\nstdout:\n%s\nstderr:\n%s", end,
		      p->out.data, p->err.data);
	t1 = now_s();
	ck_assert(proc_finish(p, BOOT_MS));
	return t1 - t0;
}

static void setup(void)
{
	tmpdir_make();
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		exit(77);
}

static void teardown(void)
{
	tmpdir_cleanup();
}

/* ---------------- entropy ---------------- */

START_TEST(rng_reads_random_bytes)
{
	/* {} and Kata's null-bucket rate limiter both mean "no limit" */
	static const char *const entropy[] = {
		"\"entropy\": {}",
		"\"entropy\": {\"rate_limiter\": {\"bandwidth\": null, \"ops\": null}}",
	};
	struct proc p;

	for (unsigned i = 0; i < 2; i++) {
		char *doc = guest_config("wtest=rng wtest.bytes=65536", NULL, entropy[i]);

		run_timed(&p, doc, " in flight", "BENCH rng");
		ASSERT_PASS(&p, "rng");
		ck_assert_double_eq(field(p.out.data, "BENCH rng", "bytes"), 65536);
		free(doc);
		proc_free(&p);
	}
}
END_TEST

START_TEST(rng_without_device_fails)
{
	char *doc = guest_config("wtest=rng", NULL, NULL);
	struct proc p;

	ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, BOOT_MS));
	ck_assert_ptr_nonnull(strstr(p.out.data, "WTEST rng FAIL no virtio-rng device"));
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(rng_bandwidth_limit)
{
	/* 64 KiB/s: 16 KiB every 250 ms; 256 KiB read in 4 KiB requests */
	char *doc = guest_config("wtest=rng wtest.bytes=262144", NULL,
				 "\"entropy\": {\"rate_limiter\": {\"bandwidth\": "
				 "{\"size\": 16384, \"refill_time\": 250}}}");
	struct proc p;
	double t = run_timed(&p, doc, " in flight", "BENCH rng");

	ASSERT_PASS(&p, "rng");
	ASSERT_NEAR((262144.0 - 2 * 16384) / t, 65536.0, "entropy bytes/s");
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(entropy_api)
{
	char body[8192], *sock = write_tmp_file("api.sock", "");
	struct wisp w;

	unlink(sock);
	wisp_spawn(&w, sock, "rng", NULL);
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=rng wtest.bytes=16384\"}",
		 build_path("wisp-testguest"));
	ck_assert_int_eq(api_call(&w.c, "PUT", "/boot-source", body), 204);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/entropy", "{\"rate_limiter\": {\"ops\": 5}}"), 400);
	ck_assert_msg(strstr(w.c.body, "entropy.rate_limiter.ops: expected an object"), "%s", w.c.body);
	ck_assert_int_eq(api_call(&w.c, "GET", "/vm/config", NULL), 200);
	ck_assert_msg(strstr(w.c.body, "\"entropy\":null"), "%s", w.c.body);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/entropy",
				  "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1048576, "
				  "\"one_time_burst\": 4096, \"refill_time\": 100}}}"), 204);
	ck_assert_int_eq(api_call(&w.c, "GET", "/vm/config", NULL), 200);
	ck_assert_msg(strstr(w.c.body, "\"entropy\":{\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,"
				       "\"one_time_burst\":4096,\"refill_time\":100},\"ops\":null}}"),
		      "%s", w.c.body);
	/* PATCH before boot is refused; there is no network interface */
	ck_assert_int_eq(api_call(&w.c, "PATCH", "/network-interfaces/eth0",
				  "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {}}"), 400);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/entropy", "{}"), 400);
	ck_assert_msg(strstr(w.c.body, "not supported after starting the microVM"), "%s", w.c.body);
	ck_assert_int_eq(api_call(&w.c, "PATCH", "/network-interfaces/eth0",
				  "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {}}"), 400);
	ck_assert_msg(strstr(w.c.body, "no network interface with id 'eth0'"), "%s", w.c.body);
	ck_assert(proc_wait_for(&w.p, "WTEST rng ", BOOT_MS));
	ck_assert(proc_finish(&w.p, BOOT_MS));
	ASSERT_PASS(&w.p, "rng");
	wisp_free(&w);
	free(sock);
}
END_TEST

/* ---------------- block ---------------- */

static char *blk_doc(const char *args, const char *limiter)
{
	char *img, *doc, drive[8192];

	img = write_tmp_file("disk.img", "");
	ck_assert_int_eq(image_create(img, 32768), 0);   /* 16 MiB */
	snprintf(drive, sizeof(drive),
		 "\"drives\": [{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", "
		 "\"is_root_device\": false, \"is_read_only\": true, \"rate_limiter\": %s}]",
		 img, limiter);
	doc = guest_config(args, NULL, drive);
	free(img);
	return doc;
}

START_TEST(blk_bandwidth_limit)
{
	/* 4 MiB/s: 1 MiB every 250 ms; 64 KiB sequential reads, 4 in flight */
	char *doc = blk_doc("wtest=blk-bench wtest.mode=seqread wtest.bs=65536 wtest.qd=4 wtest.secs=5",
			    "{\"bandwidth\": {\"size\": 1048576, \"refill_time\": 250}}");
	struct proc p;
	double t = run_timed(&p, doc, " blocks", "BENCH blk"), bytes;

	ASSERT_PASS(&p, "blk-bench");
	bytes = field(p.out.data, "BENCH blk", "bytes");
	ASSERT_NEAR((bytes - 2 * 1048576) / t, 4194304.0, "block bytes/s");
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(blk_ops_limit)
{
	/* 500 requests/s: 125 every 250 ms; 4 KiB random reads, 16 in flight */
	char *doc = blk_doc("wtest=blk-bench wtest.mode=randread wtest.bs=4096 wtest.qd=16 wtest.secs=5",
			    "{\"ops\": {\"size\": 125, \"refill_time\": 250}, \"bandwidth\": null}");
	struct proc p;
	double t = run_timed(&p, doc, " blocks", "BENCH blk"), ops;

	ASSERT_PASS(&p, "blk-bench");
	ops = field(p.out.data, "BENCH blk", "ops");
	ASSERT_NEAR((ops - 2 * 125) / t, 500.0, "block ops/s");
	free(doc);
	proc_free(&p);
}
END_TEST

/* The first metrics line's sec.key. */
/* A counter summed over the metrics lines (one when the VM started, one
 * per flush: counters are deltas). */
static long long metric(const char *path, const char *sec, const char *key)
{
	json_t *sum = it_metrics_summed(path, NULL);
	json_t *v = json_object_get(json_object_get(sum, sec), key);
	long long r;

	ck_assert_msg(json_is_integer(v), "metrics: %s.%s missing", sec, key);
	r = (long long)json_integer_value(v);
	json_decref(sum);
	return r;
}

START_TEST(blk_patch_after_boot)
{
	char *img = write_tmp_file("disk.img", ""), *mpath = write_tmp_file("metrics", "");
	char body[8192], *sock;
	struct wisp w;
	double t0, tp, t1, bytes, want;

	ck_assert_int_eq(image_create(img, 32768), 0);
	sock = write_tmp_file("api.sock", "");
	unlink(sock);
	wisp_spawn(&w, sock, "rl", NULL);
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=blk-bench "
		 "wtest.mode=seqread wtest.bs=65536 wtest.qd=4 wtest.secs=4\"}",
		 build_path("wisp-testguest"));
	ck_assert_int_eq(api_call(&w.c, "PUT", "/boot-source", body), 204);
	/* 512 KiB/s to start with */
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
		 "\"is_read_only\": true, \"rate_limiter\": {\"bandwidth\": {\"size\": 131072, "
		 "\"refill_time\": 250}}}", img);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/drives/d0", body), 204);
	snprintf(body, sizeof(body), "{\"metrics_path\": \"%s\"}", mpath);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/metrics", body), 204);
	/* not before boot (Firecracker's rule) */
	ck_assert_int_eq(api_call(&w.c, "PATCH", "/drives/d0",
				  "{\"drive_id\": \"d0\", \"rate_limiter\": {}}"), 400);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	ck_assert(proc_wait_for(&w.p, " blocks", BOOT_MS));
	t0 = now_s();
	usleep(1000000);
	/* a bad value changes nothing */
	ck_assert_int_eq(api_call(&w.c, "PATCH", "/drives/d0",
				  "{\"drive_id\": \"d0\", \"rate_limiter\": {\"ops\": {\"size\": 1}}}"), 400);
	/* now 4 MiB/s (the new bucket starts full) */
	ck_assert_int_eq(api_call(&w.c, "PATCH", "/drives/d0",
				  "{\"drive_id\": \"d0\", \"rate_limiter\": {\"bandwidth\": {\"size\": "
				  "1048576, \"refill_time\": 250}}}"), 204);
	tp = now_s();
	ck_assert_int_eq(api_call(&w.c, "GET", "/vm/config", NULL), 200);
	ck_assert_msg(strstr(w.c.body, "\"rate_limiter\":{\"bandwidth\":{\"size\":1048576,"
				       "\"one_time_burst\":null,\"refill_time\":250},\"ops\":null}"),
		      "%s", w.c.body);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"), 204);
	ck_assert(proc_wait_for(&w.p, "BENCH blk", BOOT_MS));
	t1 = now_s();
	ck_assert(proc_finish(&w.p, BOOT_MS));
	ASSERT_PASS(&w.p, "blk-bench");
	bytes = field(w.p.out.data, "BENCH blk", "bytes");
	/* the boot bucket twice (see the top), the PATCH's new full bucket once */
	want = 2 * 131072 + 524288 * (tp - t0) + 1048576 + 4194304 * (t1 - tp);
	fprintf(stderr, "block bytes with a PATCH after %.2f s: %.0f, expected %.0f (%+.1f %%)\n",
		tp - t0, bytes, want, 100.0 * (bytes - want) / want);
	ck_assert_msg(fabs(bytes - want) <= TOL * want,
		      "%.0f bytes, %.0f expected (512 KiB/s for %.2f s, then 4 MiB/s for %.2f s)",
		      bytes, want, tp - t0, t1 - tp);
	/* the throttled counter went up (Firecracker's names) */
	ck_assert_int_gt(metric(mpath, "block", "rate_limiter_throttled_events"), 0);
	ck_assert_int_gt(metric(mpath, "block_d0", "rate_limiter_event_count"), 0);
	wisp_free(&w);
	free(img);
	free(mpath);
	free(sock);
}
END_TEST

/* ---------------- network ---------------- */

/* Run net-bench with a tx limiter; sample the tap's counters every 50 ms
 * (host clock); the rate after the first `skip` units, in units/s. */
static double net_rate(const char *limiter, bool packets, double skip, unsigned size)
{
	char ns[64], args[128], nic[1024], *doc, *cfg;
	const char *argv[12];
	double t[2000], v[2000], rate;
	unsigned n = 0, i0 = 0, i1 = 0;
	uint64_t base_pk = 0, base_by = 0;
	struct proc p;
	int k;

	if (netns_create(ns, sizeof(ns)) < 0 || netns_add_tap(ns, "tap0", "10.200.7.1/24") < 0) {
		netns_delete(ns);
		ck_abort_msg("cannot create a network namespace with a tap");
	}
	snprintf(args, sizeof(args), "wtest=net-bench wtest.secs=4 wtest.size=%u", size);
	snprintf(nic, sizeof(nic),
		 "\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", "
		 "\"guest_mac\": \"06:00:0a:c8:07:02\", \"rx_rate_limiter\": {}, "
		 "\"tx_rate_limiter\": %s}]", limiter);
	doc = guest_config(args, NULL, nic);
	cfg = write_tmp_file("vm.json", doc);
	k = netns_exec_prefix(argv, ns);
	argv[k++] = build_path("wisp");
	argv[k++] = "--no-api";
	argv[k++] = "--config-file";
	argv[k++] = cfg;
	argv[k] = NULL;
	ck_assert_int_eq(netns_dev_stats(ns, "tap0", &base_pk, &base_by), 0);
	ck_assert_int_eq(proc_spawn(&p, (char *const *)argv), 0);
	while (n < 2000 && !strstr(p.out.data, "BENCH net")) {
		uint64_t pk, by;

		proc_wait_for(&p, "BENCH net", 50);
		if (p.exited || (p.out_fd < 0 && p.err_fd < 0))
			break;
		if (netns_dev_stats(ns, "tap0", &pk, &by) < 0)
			continue;
		t[n] = now_s();
		v[n] = packets ? (double)(pk - base_pk) : (double)(by - base_by);
		n++;
	}
	ck_assert(proc_finish(&p, BOOT_MS));
	ASSERT_PASS(&p, "net-bench");
	/* from the first sample past `skip` to the last one that grew */
	while (i0 < n && v[i0] < skip)
		i0++;
	for (unsigned i = i0; i < n; i++)
		if (i > 0 && v[i] > v[i - 1])
			i1 = i;
	ck_assert_msg(i0 < n && i1 > i0 && t[i1] - t[i0] > 1.5,
		      "too few samples: %u, from %u to %u\nstdout:\n%s", n, i0, i1, p.out.data);
	rate = (v[i1] - v[i0]) / (t[i1] - t[i0]);
	proc_free(&p);
	free(doc);
	free(cfg);
	netns_delete(ns);
	return rate;
}

START_TEST(net_tx_bandwidth_limit)
{
	/* 1 MiB/s of frames with their 12-byte virtio header (the tap counts
	 * the frames only); a quarter of what the guest sends unlimited on an
	 * idle machine, so a loaded one still keeps up */
	double r = net_rate("{\"bandwidth\": {\"size\": 262144, \"refill_time\": 250}}", false,
			    1.5 * 262144, 1514);

	ASSERT_NEAR(r, 1048576.0 * 1514 / 1526, "tap rx bytes/s");
}
END_TEST

START_TEST(net_tx_ops_limit)
{
	double r = net_rate("{\"ops\": {\"size\": 50, \"refill_time\": 200}}", true, 100, 1514);

	ASSERT_NEAR(r, 250.0, "tap rx packets/s");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, rng_reads_random_bytes);
	tcase_add_test(tc, rng_without_device_fails);
	tcase_add_test(tc, rng_bandwidth_limit);
	tcase_add_test(tc, entropy_api);
	tcase_add_test(tc, blk_bandwidth_limit);
	tcase_add_test(tc, blk_ops_limit);
	tcase_add_test(tc, blk_patch_after_boot);
	tcase_add_test(tc, net_tx_bandwidth_limit);
	tcase_add_test(tc, net_tx_ops_limit);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
