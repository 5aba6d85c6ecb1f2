/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit_bench.c — what a rate limiter costs when it does not limit.
 *
 * 1. The guest's `blk-bench` (4 KiB random reads, qd 1 and 32, Sync engine)
 *    and `rng` scenarios on one drive / the entropy device, three ways,
 *    interleaved run by run: no rate_limiter key, `rate_limiter: {}` (what
 *    Kata sends: no limit), and a limiter that never binds (10 GiB/s and
 *    10 M ops/s: every request goes through both token buckets). Median,
 *    min and max of -n runs of the guest's own rate (IOPS, MB/s).
 * 2. rate_limiter_consume() itself, in ns of thread CPU time per request
 *    (one ops and one bandwidth call; no bucket / buckets that never run
 *    dry), over 10^7 requests.
 *
 * Usage: wisp-bench-ratelimit [-n RUNS] [-b BUILD_DIR] [-s SECS] [-m]
 * (-m: only part 2)
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "ratelimit/ratelimit.h"

#define MAX_RUNS 64

static const char *build = "build";
static int runs = 5, secs = 2;

static double field(const char *out, const char *tag, const char *key)
{
	const char *line = strstr(out, tag), *p;
	char k[32];

	if (!line)
		return NAN;
	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : NAN;
}

/* One VM run: the guest's rate from its BENCH line (ops/s or MB/s). */
static double run_once(const char *args, const char *extra, const char *tag, bool mbps)
{
	char guest[4096], wisp[4096], *doc, *cfg;
	struct proc p;
	double v = NAN;

	snprintf(guest, sizeof(guest), "%s/wisp-testguest", build);
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}, "
		     "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 256}, %s}",
		     guest, args, extra) < 0)
		abort();
	cfg = write_tmp_file("bench.json", doc);
	{
		char *argv[] = { wisp, "--no-api", "--config-file", cfg, NULL };

		if (proc_run(&p, argv, (secs + 120) * 1000) && strstr(p.out.data, " PASS")) {
			double usecs = field(p.out.data, tag, "usecs");

			v = mbps ? field(p.out.data, tag, "bytes") / usecs
				 : field(p.out.data, tag, "ops") * 1e6 / usecs;
		} else {
			fprintf(stderr, "run failed (status %d)\nstdout:\n%s\nstderr:\n%s\n", p.status,
				p.out.data, p.err.data);
		}
		proc_free(&p);
	}
	free(cfg);
	free(doc);
	return v;
}

#define NEVER_BINDS ", \"rate_limiter\": {\"bandwidth\": {\"size\": 10737418240, " \
	"\"refill_time\": 1000}, \"ops\": {\"size\": 10000000, \"refill_time\": 1000}}"
static const char *const variants[3] = { "", ", \"rate_limiter\": {}", NEVER_BINDS };
static const char *const variant_names[3] = { "no rate_limiter", "rate_limiter {}",
					      "limiter that never binds" };

static void vm_cases(const char *img)
{
	static const struct { const char *label, *args, *tag; bool mbps, rng; } cases[] = {
		{ "blk 4 KiB random read, qd 1 (IOPS)",
		  "wtest=blk-bench wtest.mode=randread wtest.bs=4096 wtest.qd=1", "BENCH blk", false, false },
		{ "blk 4 KiB random read, qd 32 (IOPS)",
		  "wtest=blk-bench wtest.mode=randread wtest.bs=4096 wtest.qd=32", "BENCH blk", false, false },
		{ "rng 4 KiB requests, 16 MiB (MB/s)",
		  "wtest=rng wtest.bytes=16777216 wtest.qd=4", "BENCH rng", true, true },
	};

	printf("| %-40s | %21s | %21s | %24s |\n", "metric: median (min-max)", variant_names[0],
	       variant_names[1], variant_names[2]);
	printf("|------------------------------------------|-----------------------|-----------------------|--------------------------|\n");
	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		double v[3][MAX_RUNS];
		char args[512], extra[8192];

		for (int i = 0; i < runs; i++) {
			for (int k = 0; k < 3; k++) {
				if (cases[c].rng) {
					snprintf(args, sizeof(args), "%s", cases[c].args);
					snprintf(extra, sizeof(extra), "\"entropy\": {%s}",
						 variants[k][0] ? variants[k] + 2 : "");
				} else {
					snprintf(args, sizeof(args), "%s wtest.secs=%d", cases[c].args, secs);
					snprintf(extra, sizeof(extra),
						 "\"drives\": [{\"drive_id\": \"bench\", \"path_on_host\": \"%s\", "
						 "\"is_root_device\": false, \"is_read_only\": true%s}]",
						 img, variants[k]);
				}
				v[k][i] = run_once(args, extra, cases[c].tag, cases[c].mbps);
			}
		}
		{
			char cell[3][64];

			for (int k = 0; k < 3; k++) {
				double lo = v[k][0], hi = v[k][0];
				int d = cases[c].mbps ? 1 : 0;

				for (int i = 1; i < runs; i++) {
					lo = v[k][i] < lo ? v[k][i] : lo;
					hi = v[k][i] > hi ? v[k][i] : hi;
				}
				snprintf(cell[k], sizeof(cell[k]), "%.*f (%.*f-%.*f)", d,
					 median(v[k], runs), d, lo, d, hi);
			}
			printf("| %-40s | %21s | %21s | %24s |\n", cases[c].label, cell[0], cell[1],
			       cell[2]);
		}
		fflush(stdout);
	}
}

static double ns_per_consume(const struct rate_limiter_config *cfg)
{
	struct rate_limiter rl;
	struct timespec a, b;
	const long n = 10000000;
	unsigned ok = 0;

	rate_limiter_init(&rl, cfg, NULL, NULL);
	/* thread CPU time: the machine is shared, wall time would count others */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	for (long i = 0; i < n; i++)
		ok += (unsigned)rate_limiter_consume(&rl, 1, RL_OPS) &
		      (unsigned)rate_limiter_consume(&rl, 4096, RL_BYTES);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	if (ok != (unsigned)n)
		fprintf(stderr, "unexpected: %u of %ld admitted\n", ok, n);
	return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / n;
}

int main(int argc, char **argv)
{
	struct rate_limiter_config none = { { 0 }, { 0 } }, huge = {
		.bandwidth = { true, 1ull << 50, 0, 1000 }, .ops = { true, 1ull << 40, 0, 1000 } };
	char *img;
	bool micro_only = false;
	int c;

	if (getenv("WISP_BUILD_DIR"))
		build = getenv("WISP_BUILD_DIR");
	while ((c = getopt(argc, argv, "n:b:s:m")) != -1) {
		switch (c) {
		case 'm': micro_only = true; break;
		case 'n': runs = atoi(optarg); break;
		case 'b': build = optarg; break;
		case 's': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-n RUNS] [-b BUILD_DIR] [-s SECS] [-m]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || secs < 1 || secs > 60) {
		fprintf(stderr, "-n must be 1..%d, -s 1..60\n", MAX_RUNS);
		return 2;
	}
	printf("rate_limiter_consume() per request (one op + 4096 bytes), CPU time: %.1f ns "
	       "without a bucket, %.1f ns through two buckets that never run dry\n",
	       ns_per_consume(&none), ns_per_consume(&huge));
	if (micro_only)
		return 0;
	img = write_tmp_file("bench.img", "");
	if (image_create(img, 64 << 11) < 0) {
		fprintf(stderr, "cannot create %s\n", img);
		return 1;
	}
	printf("VM runs: test guest, 1 vCPU, 256 MiB, %d s per blk run, median of %d runs, "
	       "variants interleaved\n", secs, runs);
	vm_cases(img);
	free(img);
	tmpdir_cleanup();
	return 0;
}
