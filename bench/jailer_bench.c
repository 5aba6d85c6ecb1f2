/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jailer_bench.c — start -> API socket accepting, measured from outside:
 *   - wisp-jailer (--new-pid-ns, uid/gid 4242) exec'ing wisp in a new jail;
 *   - wisp alone (--api-sock), for the jailer's own share.
 * Median over N runs (default 20). Needs root.
 *
 * Usage: wisp-bench-jailer [-n RUNS] [-b BUILD_DIR]
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"

static bool can_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

/* Spawn argv, return ms until `sock` accepts (NAN on timeout). */
static double time_to_socket(char **argv, const char *sock, struct proc *p)
{
	double t0 = now_us();

	if (proc_spawn(p, argv) < 0)
		return NAN;
	proc_close_stdin(p);
	while (now_us() - t0 < 10e6) {
		if (can_connect(sock))
			return (now_us() - t0) / 1e3;
		usleep(100);
	}
	return NAN;
}

static void kill_pidfile(const char *path)
{
	FILE *f = fopen(path, "r");
	int pid;

	if (f && fscanf(f, "%d", &pid) == 1 && pid > 1)
		kill(pid, SIGKILL);
	if (f)
		fclose(f);
}

int main(int argc, char **argv)
{
	const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
	int runs = 20, c;
	double jail[256], plain[256];
	int nj = 0, np = 0;
	char wisp[4096], jailer[4096];

	while ((c = getopt(argc, argv, "n:b:")) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 'b')
			build = optarg;
		else
			return fprintf(stderr, "usage: %s [-n RUNS] [-b BUILD_DIR]\n", argv[0]), 2;
	}
	if (runs < 1 || runs > 256 || geteuid() != 0) {
		fprintf(stderr, "needs root and 1..256 runs\n");
		return 2;
	}
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);
	snprintf(jailer, sizeof(jailer), "%s/wisp-jailer", build);

	for (int i = 0; i < runs; i++) {
		const char *base = tmpdir_make();
		char id[32], sock[4200], pidfile[4200];
		struct proc p;
		double ms;

		snprintf(id, sizeof(id), "bench-%d", i);
		snprintf(sock, sizeof(sock), "%s/wisp/%s/root/run/api.sock", base, id);
		snprintf(pidfile, sizeof(pidfile), "%s/wisp/%s/root/wisp.pid", base, id);
		{
			char *a[] = { jailer, "--id", id, "--exec-file", wisp, "--uid", "4242", "--gid",
				      "4242", "--chroot-base-dir", (char *)base, "--new-pid-ns", "--",
				      "--api-sock", "/run/api.sock", NULL };

			ms = time_to_socket(a, sock, &p);
		}
		if (!isnan(ms))
			jail[nj++] = ms;
		else
			fprintf(stderr, "jailer run %d: no socket\n%s\n", i, p.err.data);
		kill_pidfile(pidfile);
		proc_signal(&p, SIGKILL);
		proc_finish(&p, 5000);
		proc_free(&p);
		tmpdir_cleanup();

		base = tmpdir_make();
		snprintf(sock, sizeof(sock), "%s/api.sock", base);
		{
			char *a[] = { wisp, "--api-sock", sock, NULL };

			ms = time_to_socket(a, sock, &p);
		}
		if (!isnan(ms))
			plain[np++] = ms;
		proc_signal(&p, SIGKILL);
		proc_finish(&p, 5000);
		proc_free(&p);
		tmpdir_cleanup();
	}
	printf("jailer benchmark: start -> API socket accepting, %d runs (medians, ms)\n", runs);
	printf("%-46s %10s %10s %10s\n", "", "median", "min", "max");
	{
		double jmin = 1e9, jmax = 0, pmin = 1e9, pmax = 0;

		for (int i = 0; i < nj; i++) {
			jmin = jail[i] < jmin ? jail[i] : jmin;
			jmax = jail[i] > jmax ? jail[i] : jmax;
		}
		for (int i = 0; i < np; i++) {
			pmin = plain[i] < pmin ? plain[i] : pmin;
			pmax = plain[i] > pmax ? plain[i] : pmax;
		}
		printf("%-46s %10s %10s %10s\n", "wisp-jailer --new-pid-ns -> wisp (jailed)",
		       fmt_num(median(jail, nj), 2), fmt_num(jmin, 2), fmt_num(jmax, 2));
		printf("%-46s %10s %10s %10s\n", "wisp --api-sock (no jailer)",
		       fmt_num(median(plain, np), 2), fmt_num(pmin, 2), fmt_num(pmax, 2));
	}
	return nj == runs && np == runs ? 0 : 1;
}
