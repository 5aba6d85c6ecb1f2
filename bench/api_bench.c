/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_bench.c — wisp's API socket vs QEMU's QMP socket, measured from
 * outside the process, N runs each (medians):
 *   - process start -> socket accepting (connect() succeeds), wall time;
 *   - process start -> first answer (wisp: GET /version answered; QEMU: the
 *     QMP greeting read), wall time;
 *   - CPU time the process used up to the first answer: utime+stime from
 *     /proc/<pid>/stat (10 ms ticks) and the sum of its threads'
 *     /proc/<pid>/task/<tid>/schedstat run time (ns);
 *   - request latency on one connection, REQS requests per run, all runs
 *     pooled: wisp PUT /machine-config and GET / (before boot), QEMU
 *     query-status (with -S); median and p99.
 * Both clients are raw Unix sockets (no HTTP library overhead).
 *
 * Usage: wisp-bench-api [-n RUNS] [-r REQS] [-b BUILD_DIR] [--no-qemu]
 */
#include <dirent.h>
#include <stddef.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
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

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define MAX_RUNS 256

struct start_sample {
	double accept_ms, answer_ms, cpu_stat_ms, cpu_sched_ms;
};

static int try_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read until `done(buf)` says a whole answer is there; -1 on EOF/timeout. */
static int read_answer(int fd, char *buf, size_t cap, bool (*done)(const char *, size_t))
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0)
			return -1;
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = 0;
		if (done(buf, got))
			return (int)got;
		if (got + 1 >= cap)
			return -1;
	}
}

static bool http_done(const char *buf, size_t len)
{
	const char *end = strstr(buf, "\r\n\r\n"), *cl;
	size_t body = 0;

	if (!end)
		return false;
	cl = strcasestr(buf, "Content-Length:");
	if (cl && cl < end)
		body = strtoul(cl + 15, NULL, 10);
	return len >= (size_t)(end - buf) + 4 + body;
}

static bool qmp_done(const char *buf, size_t len)
{
	return len >= 2 && buf[len - 1] == '\n';
}

/* utime+stime of pid in ms (10 ms resolution). */
static double cpu_stat_ms(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return NAN;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return NAN;
	}
	fclose(f);
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* Run time of all of pid's threads in ms (ns resolution). */
static double cpu_sched_ms(pid_t pid)
{
	char path[300];
	struct dirent *de;
	double total = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return NAN;
	while ((de = readdir(d))) {
		unsigned long long ns;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "r");
		if (f && fscanf(f, "%llu", &ns) == 1)
			total += (double)ns / 1e6;
		if (f)
			fclose(f);
	}
	closedir(d);
	return total;
}

static int http_request(int fd, const char *req, char *buf, size_t cap)
{
	size_t len = strlen(req);

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	if (read_answer(fd, buf, cap, http_done) < 0)
		return -1;
	return strncmp(buf, "HTTP/1.1 2", 10) == 0 ? 0 : -1;
}

static int qmp_request(int fd, const char *req, char *buf, size_t cap)
{
	size_t len = strlen(req);

	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	if (read_answer(fd, buf, cap, qmp_done) < 0)
		return -1;
	return strstr(buf, "\"return\"") ? 0 : -1;
}

/* Start the process and wait for its socket; fill the start-up sample and
 * leave fd connected and past the greeting (QMP: capabilities negotiated). */
static int start_one(char **argv, const char *sock, bool qmp, struct proc *p,
		     struct start_sample *s, int *fd_out)
{
	char buf[4096];
	double t0;
	int fd = -1;

	unlink(sock);
	t0 = now_us();
	if (proc_spawn(p, argv) < 0)
		return -1;
	proc_close_stdin(p);
	while ((fd = try_connect(sock)) < 0) {
		if (now_us() - t0 > 20e6 || waitpid(p->pid, NULL, WNOHANG) != 0) {
			fprintf(stderr, "no socket from %s\n", argv[0]);
			return -1;
		}
		usleep(50);
	}
	s->accept_ms = (now_us() - t0) / 1e3;
	if (qmp) {
		if (read_answer(fd, buf, sizeof(buf), qmp_done) < 0 || !strstr(buf, "\"QMP\""))
			goto fail;
	} else if (http_request(fd, "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n", buf,
				sizeof(buf)) < 0) {
		goto fail;
	}
	s->answer_ms = (now_us() - t0) / 1e3;
	s->cpu_stat_ms = cpu_stat_ms(p->pid);
	s->cpu_sched_ms = cpu_sched_ms(p->pid);
	if (qmp && qmp_request(fd, "{\"execute\": \"qmp_capabilities\"}\n", buf, sizeof(buf)) < 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:
	fprintf(stderr, "no answer from %s: %s\n", argv[0], buf);
	close(fd);
	return -1;
}

static void stop_one(struct proc *p)
{
	proc_signal(p, SIGTERM);
	if (!proc_finish(p, 10000))
		fprintf(stderr, "pid %d needed SIGKILL\n", (int)p->pid);
	proc_free(p);
}

/* reqs round trips of `req`; appends latencies (us) to lat. */
static int latency(int fd, bool qmp, const char *req, int reqs, double *lat, int *nlat)
{
	char buf[4096];

	for (int i = 0; i < reqs; i++) {
		double t = now_us();
		int r = qmp ? qmp_request(fd, req, buf, sizeof(buf))
			    : http_request(fd, req, buf, sizeof(buf));

		if (r < 0) {
			fprintf(stderr, "request failed: %s\n", buf);
			return -1;
		}
		lat[(*nlat)++] = now_us() - t;
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double q)
{
	if (n <= 0)
		return NAN;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return v[(int)((n - 1) * q + 0.5)];
}

static void row(const char *name, double w, double q, int dec)
{
	printf("| %-55s | %10s | %10s | %9s |\n", name, fmt_num(w, dec), fmt_num(q, dec),
	       fmt_ratio(q, w));
}

static double med_field(const struct start_sample *s, int n, size_t off)
{
	double v[MAX_RUNS];

	for (int i = 0; i < n; i++)
		v[i] = *(const double *)((const char *)&s[i] + off);
	return median(v, n);
}

int main(int argc, char **argv)
{
	int runs = 20, reqs = 1000, c;
	bool qemu = access(QEMU_BIN, X_OK) == 0;
	const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
	static struct start_sample ws[MAX_RUNS], qs[MAX_RUNS];
	double *w_put, *w_get, *q_status;
	int n_put = 0, n_get = 0, n_status = 0;
	char wisp[4096], wsock[512], qsock[512], qmp_arg[600];
	const char *dir;
	static const struct option opts[] = {
		{ "no-qemu", no_argument, NULL, 'Q' }, { NULL, 0, NULL, 0 },
	};
	static const char put_req[] =
		"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
		"Content-Length: 38\r\n\r\n{\"vcpu_count\": 1, \"mem_size_mib\": 128}";

	while ((c = getopt_long(argc, argv, "n:r:b:", opts, NULL)) != -1) {
		if (c == 'n')
			runs = atoi(optarg);
		else if (c == 'r')
			reqs = atoi(optarg);
		else if (c == 'b')
			build = optarg;
		else if (c == 'Q')
			qemu = false;
		else {
			fprintf(stderr, "usage: %s [-n RUNS] [-r REQS] [-b BUILD_DIR] [--no-qemu]\n",
				argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || reqs < 1 || reqs > 100000) {
		fprintf(stderr, "-n must be 1..%d, -r 1..100000\n", MAX_RUNS);
		return 2;
	}
	if (strlen(put_req) - (strstr(put_req, "\r\n\r\n") + 4 - put_req) != 38) {
		fprintf(stderr, "internal: bad Content-Length\n");
		return 2;
	}
	w_put = calloc((size_t)runs * (size_t)reqs, sizeof(double));
	w_get = calloc((size_t)runs * (size_t)reqs, sizeof(double));
	q_status = calloc((size_t)runs * (size_t)reqs, sizeof(double));
	if (!w_put || !w_get || !q_status)
		return 1;
	dir = tmpdir_make();
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);
	snprintf(wsock, sizeof(wsock), "%s/api.sock", dir);
	snprintf(qsock, sizeof(qsock), "%s/qmp.sock", dir);
	snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server,nowait", qsock);

	char *w_argv[] = { wisp, "--api-sock", wsock, "--id", "bench", NULL };
	char *q_argv[] = { QEMU_BIN, "-M", "microvm,acpi=off", "-enable-kvm", "-nodefaults",
			   "-no-user-config", "-nographic", "-S", "-qmp", qmp_arg, NULL };

	for (int i = 0; i < runs; i++) {
		struct proc p;
		int fd;

		if (start_one(w_argv, wsock, false, &p, &ws[i], &fd) < 0)
			return 1;
		if (latency(fd, false, put_req, reqs, w_put, &n_put) < 0 ||
		    latency(fd, false, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", reqs, w_get,
			    &n_get) < 0)
			return 1;
		close(fd);
		stop_one(&p);
		if (!qemu)
			continue;
		if (start_one(q_argv, qsock, true, &p, &qs[i], &fd) < 0)
			return 1;
		if (latency(fd, true, "{\"execute\": \"query-status\"}\n", reqs, q_status,
			    &n_status) < 0)
			return 1;
		close(fd);
		stop_one(&p);
	}

	printf("API benchmark: %d runs each (medians), %d requests per run on one connection\n",
	       runs, reqs);
	printf("| %-55s | %10s | %10s | %9s |\n", "metric", "wisp", "qemu", "qemu/wisp");
	printf("|---|---:|---:|---:|\n");
#define MED(arr, f) med_field(arr, runs, offsetof(struct start_sample, f))
	row("start -> socket accepting, wall (ms)", MED(ws, accept_ms),
	    qemu ? MED(qs, accept_ms) : NAN, 2);
	row("start -> first answer (GET /version; QMP greeting) (ms)", MED(ws, answer_ms),
	    qemu ? MED(qs, answer_ms) : NAN, 2);
	row("CPU at first answer, schedstat, all threads (ms)", MED(ws, cpu_sched_ms),
	    qemu ? MED(qs, cpu_sched_ms) : NAN, 2);
	row("CPU at first answer, /proc/pid/stat utime+stime (ms)", MED(ws, cpu_stat_ms),
	    qemu ? MED(qs, cpu_stat_ms) : NAN, 0);
	{
		double wp50, wp99, wg50, wg99, q50 = NAN, q99 = NAN;

		wp50 = pct(w_put, n_put, 0.5);
		wp99 = pct(w_put, n_put, 0.99);
		wg50 = pct(w_get, n_get, 0.5);
		wg99 = pct(w_get, n_get, 0.99);
		if (qemu) {
			q50 = pct(q_status, n_status, 0.5);
			q99 = pct(q_status, n_status, 0.99);
		}
		row("PUT /machine-config latency, median (us)", wp50, q50, 1);
		row("PUT /machine-config latency, p99 (us)", wp99, q99, 1);
		row("GET / latency, median (us)", wg50, q50, 1);
		row("GET / latency, p99 (us)", wg99, q99, 1);
	}
	printf("(qemu column of the latency rows: QMP query-status round trip)\n");
	free(w_put);
	free(w_get);
	free(q_status);
	tmpdir_cleanup();
	return 0;
}
