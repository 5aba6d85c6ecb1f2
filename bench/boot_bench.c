/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_bench.c — wisp vs QEMU microvm: boot the same test guest (`hello`,
 * 1 vCPU, 128 MiB) N times each, measured from outside the process:
 *   - process start -> first guest console line ("wisp-testguest ..."),
 *     which the guest prints right after its boot-complete write;
 *   - process start -> process exit (whole life of a one-shot VM);
 *   - CPU time of the process (user + sys, from wait4);
 *   - wisp's own Guest-boot-time line (boot timer, process start -> 123);
 *   - VMM resident memory excluding guest RAM, read from /proc/<pid>/smaps
 *     while the `ticker` scenario runs.
 * Prints a table of medians and the QEMU/wisp ratio.
 *
 * Usage: wisp-bench-boot [-n RUNS] [-b BUILD_DIR] [--no-qemu]
 */
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"

#define GUEST_MARKER "wisp-testguest "
#define MEM_MIB 128

struct sample {
	double first_line_ms, exit_ms, cpu_ms, boot_timer_ms;
};

static char *wisp_config(const char *guest, const char *scenario)
{
	char *doc, name[64], *path;

	snprintf(name, sizeof(name), "bench-%s.json", scenario);
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		     "\"wtest=%s\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %d}}",
		     guest, scenario, MEM_MIB) < 0)
		abort();
	path = write_tmp_file(name, doc);
	free(doc);
	return path;
}

static void qemu_argv(char **argv, const char *guest, const char *append)
{
	int i = 0;

	argv[i++] = "/usr/bin/qemu-system-x86_64";
	argv[i++] = "-M";
	argv[i++] = "microvm,acpi=off";
	argv[i++] = "-enable-kvm";
	argv[i++] = "-m";
	argv[i++] = "128";
	argv[i++] = "-smp";
	argv[i++] = "1";
	argv[i++] = "-nodefaults";
	argv[i++] = "-no-user-config";
	argv[i++] = "-nographic";
	argv[i++] = "-serial";
	argv[i++] = "stdio";
	argv[i++] = "-no-reboot";
	argv[i++] = "-kernel";
	argv[i++] = (char *)guest;
	argv[i++] = "-append";
	argv[i++] = (char *)append;
	argv[i] = NULL;
}

static double cpu_ms(const struct proc *p)
{
	return (double)(p->ru.ru_utime.tv_sec + p->ru.ru_stime.tv_sec) * 1e3 +
	       (double)(p->ru.ru_utime.tv_usec + p->ru.ru_stime.tv_usec) / 1e3;
}

static int run_once(char **argv, bool is_wisp, struct sample *s)
{
	struct proc p;
	double t0 = now_us();
	const char *bt;

	if (proc_spawn(&p, argv) < 0)
		return -1;
	proc_close_stdin(&p);
	s->first_line_ms = proc_wait_for(&p, GUEST_MARKER, 60000) ? (now_us() - t0) / 1e3 : NAN;
	if (!proc_finish(&p, 60000) || !strstr(p.out.data, "WTEST hello PASS")) {
		fprintf(stderr, "run failed (status %d):\n%s\n%s\n", p.status, p.out.data, p.err.data);
		proc_free(&p);
		return -1;
	}
	s->exit_ms = (now_us() - t0) / 1e3;
	s->cpu_ms = cpu_ms(&p);
	s->boot_timer_ms = NAN;
	if (is_wisp && (bt = strstr(p.err.data, "Guest-boot-time = ")))
		s->boot_timer_ms = strtod(bt + strlen("Guest-boot-time = "), NULL) / 1e3;
	proc_free(&p);
	return 0;
}

static int rss_once(char **argv, double *total, double *excl)
{
	struct proc p;
	int r = -1;

	if (proc_spawn(&p, argv) < 0)
		return -1;
	proc_close_stdin(&p);
	if (proc_wait_for(&p, "TICK 2", 60000))
		r = rss_kib(p.pid, (uint64_t)MEM_MIB << 20, total, excl);
	else
		fprintf(stderr, "ticker did not tick:\n%s\n%s\n", p.out.data, p.err.data);
	proc_signal(&p, SIGKILL);
	proc_finish(&p, 10000);
	proc_free(&p);
	return r;
}

static void collect(const struct sample *s, int n, double out[4])
{
	double v[4][256];

	for (int i = 0; i < n; i++) {
		v[0][i] = s[i].first_line_ms;
		v[1][i] = s[i].exit_ms;
		v[2][i] = s[i].cpu_ms;
		v[3][i] = s[i].boot_timer_ms;
	}
	for (int k = 0; k < 4; k++)
		out[k] = median(v[k], n);
}

int main(int argc, char **argv)
{
	int runs = 10, c;
	bool qemu = access("/usr/bin/qemu-system-x86_64", X_OK) == 0;
	const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
	static struct sample ws[256], qs[256];
	double wm[4], qm[4] = { NAN, NAN, NAN, NAN };
	double w_rss[256], w_rss_ex[256], q_rss[256], q_rss_ex[256];
	int nw_rss = 0, nq_rss = 0;
	char guest[4096], wisp[4096];
	static const struct option opts[] = {
		{ "no-qemu", no_argument, NULL, 'Q' }, { NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "n:b:", opts, NULL)) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 'b')
			build = optarg;
		else if (c == 'Q')
			qemu = false;
		else {
			fprintf(stderr, "usage: %s [-n RUNS] [-b BUILD_DIR] [--no-qemu]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 256) {
		fprintf(stderr, "-n must be 1..256\n");
		return 2;
	}
	snprintf(guest, sizeof(guest), "%s/wisp-testguest", build);
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);

	char *cfg_hello = wisp_config(guest, "hello");
	char *cfg_ticker = wisp_config(guest, "ticker");
	char *w_argv[] = { wisp, "--no-api", "--boot-timer", "--config-file", cfg_hello, NULL };
	char *w_tick[] = { wisp, "--no-api", "--config-file", cfg_ticker, NULL };
	char *q_argv[24], *q_tick[24];

	qemu_argv(q_argv, guest, "wtest=hello");
	qemu_argv(q_tick, guest, "wtest=ticker");

	for (int i = 0; i < runs; i++) {
		if (run_once(w_argv, true, &ws[i]) < 0)
			return 1;
		if (qemu && run_once(q_argv, false, &qs[i]) < 0)
			return 1;
	}
	for (int i = 0; i < (runs < 5 ? runs : 5); i++) {
		if (rss_once(w_tick, &w_rss[nw_rss], &w_rss_ex[nw_rss]) == 0)
			nw_rss++;
		if (qemu && rss_once(q_tick, &q_rss[nq_rss], &q_rss_ex[nq_rss]) == 0)
			nq_rss++;
	}
	collect(ws, runs, wm);
	if (qemu)
		collect(qs, runs, qm);

	printf("boot benchmark: test guest 'hello', 1 vCPU, %d MiB, %d runs each (medians)\n",
	       MEM_MIB, runs);
	printf("%-44s %12s %14s %14s\n", "metric", "wisp", "qemu microvm", "qemu/wisp");
	printf("%-44s %12s %14s %14s\n", "start -> first guest console line (ms)",
	       fmt_num(wm[0], 1), fmt_num(qm[0], 1), fmt_ratio(qm[0], wm[0]));
	printf("%-44s %12s %14s %14s\n", "start -> process exit (ms)", fmt_num(wm[1], 1),
	       fmt_num(qm[1], 1), fmt_ratio(qm[1], wm[1]));
	printf("%-44s %12s %14s %14s\n", "CPU time user+sys (ms)", fmt_num(wm[2], 1),
	       fmt_num(qm[2], 1), fmt_ratio(qm[2], wm[2]));
	printf("%-44s %12s %14s %14s\n", "guest boot timer: start -> 123 write (ms)",
	       fmt_num(wm[3], 1), "n/a", "n/a");
	printf("%-44s %12s %14s %14s\n", "VMM RSS excluding guest RAM (KiB)",
	       fmt_num(median(w_rss_ex, nw_rss), 0), fmt_num(median(q_rss_ex, nq_rss), 0),
	       fmt_ratio(median(q_rss_ex, nq_rss), median(w_rss_ex, nw_rss)));
	printf("%-44s %12s %14s %14s\n", "VMM RSS total (KiB)", fmt_num(median(w_rss, nw_rss), 0),
	       fmt_num(median(q_rss, nq_rss), 0),
	       fmt_ratio(median(q_rss, nq_rss), median(w_rss, nw_rss)));
	free(cfg_hello);
	free(cfg_ticker);
	tmpdir_cleanup();
	return 0;
}
