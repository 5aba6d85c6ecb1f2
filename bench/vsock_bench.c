/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vsock_bench.c — vsock throughput and round-trip latency between the host
 * and the test guest's `vsock` scenario (tests/guest/scen_vsock.c), 1 vCPU,
 * 256 MiB.
 *
 * wisp: Firecracker's hybrid vsock (connect to uds_path, `CONNECT <port>\n`,
 * `OK <n>\n`). QEMU microvm: vhost-vsock-device (the host connects with
 * AF_VSOCK to the guest's CID); needs /dev/vhost-vsock, otherwise QEMU's
 * column says why it is missing.
 *
 * Per run (one VM each):
 *   host -> guest  MiB/s: -m MiB written to the guest's sink (port 1025),
 *                  then shutdown(SHUT_WR); the clock stops at EOF (the
 *                  guest resets the connection once it consumed everything).
 *   guest -> host  MiB/s: -m MiB read from the guest's source (port 1026).
 *   round trip     us: median of -r 64-byte ping-pongs on the echo port
 *                  (1024), after 100 warm-up rounds.
 * Each number is the median over -n runs.
 *
 * Usage: wisp-bench-vsock [-n RUNS] [-b BUILD_DIR] [-m MIB] [-r ROUNDS] [--no-qemu] [-v]
 */
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
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "bench_util.h"
#include "harness.h"

#define MEM_MIB 256
#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define GUEST_CID 3
#define MAX_RUNS 64
#define TIMEOUT_MS 120000

static const char *build = "build";
static char guest[4096], wisp_bin[4096], uds[100];
static int runs = 5, mib = 64, rounds = 2000;
static bool verbose;

struct result {
	double h2g, g2h, rtt;   /* MiB/s, MiB/s, us */
};

static bool wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd p = { fd, ev, 0 };

	return poll(&p, 1, timeout_ms) > 0;
}

/* A connected stream to guest port `port`, or -1. */
static int open_conn(bool qemu, unsigned port)
{
	int fd;

	if (qemu) {
		struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = GUEST_CID,
					 .svm_port = port };

		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("AF_VSOCK connect");
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	} else {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		char line[64];
		size_t n = 0;
		int len;

		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		memcpy(a.sun_path, uds, strlen(uds) + 1);
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			perror("connect uds_path");
			if (fd >= 0)
				close(fd);
			return -1;
		}
		len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
		if (write(fd, line, (size_t)len) != len)
			goto fail;
		while (n + 1 < sizeof(line)) {
			if (!wait_fd(fd, POLLIN, TIMEOUT_MS) || read(fd, line + n, 1) != 1)
				goto fail;
			if (line[n] == '\n')
				break;
			n++;
		}
		line[n] = 0;
		if (strncmp(line, "OK ", 3))
			goto fail;
		return fd;
fail:
		fprintf(stderr, "CONNECT %u: no OK\n", port);
		close(fd);
		return -1;
	}
}

static int bench_h2g(bool qemu, double *mibs)
{
	static char buf[1 << 16];
	size_t total = (size_t)mib << 20, sent = 0;
	double t0;
	int fd = open_conn(qemu, 1025);

	if (fd < 0)
		return -1;
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_us();
	while (sent < total) {
		ssize_t w = write(fd, buf, total - sent < sizeof(buf) ? total - sent : sizeof(buf));

		if (w <= 0) {
			perror("write");
			close(fd);
			return -1;
		}
		sent += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	while (wait_fd(fd, POLLIN, TIMEOUT_MS) && read(fd, buf, sizeof(buf)) > 0)
		;
	*mibs = (double)mib / ((now_us() - t0) / 1e6);
	close(fd);
	return 0;
}

static int bench_g2h(bool qemu, double *mibs)
{
	static char buf[1 << 16];
	size_t total = (size_t)mib << 20, got = 0;
	double t0;
	int fd = open_conn(qemu, 1026);

	if (fd < 0)
		return -1;
	t0 = now_us();
	while (got < total) {
		ssize_t r;

		if (!wait_fd(fd, POLLIN, TIMEOUT_MS) || (r = read(fd, buf, sizeof(buf))) <= 0) {
			fprintf(stderr, "source stopped after %zu bytes\n", got);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	*mibs = (double)mib / ((now_us() - t0) / 1e6);
	close(fd);
	return 0;
}

static int bench_rtt(bool qemu, double *us)
{
	char out[64], in[64];
	double *v = calloc((size_t)rounds, sizeof(double));
	int fd = open_conn(qemu, 1024);

	if (fd < 0 || !v) {
		free(v);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memset(out, 'p', sizeof(out));
	for (int i = -100; i < rounds; i++) {
		double t0 = now_us();
		size_t got = 0;

		if (write(fd, out, sizeof(out)) != (ssize_t)sizeof(out))
			goto fail;
		while (got < sizeof(in)) {
			ssize_t r;

			if (!wait_fd(fd, POLLIN, TIMEOUT_MS) ||
			    (r = read(fd, in + got, sizeof(in) - got)) <= 0)
				goto fail;
			got += (size_t)r;
		}
		if (i >= 0)
			v[i] = now_us() - t0;
	}
	*us = median(v, rounds);
	free(v);
	close(fd);
	return 0;
fail:
	fprintf(stderr, "ping-pong failed\n");
	free(v);
	close(fd);
	return -1;
}

/* One VM: boot, the three measurements, quit. */
static int one_run(bool qemu, struct result *r)
{
	struct proc p;
	int rc = -1;
	const char *args = "wtest=vsock wtest.quiet=1";

	unlink(uds);
	if (qemu) {
		char dev[64];
		const char *argv[] = {
			QEMU_BIN, "-M", "microvm,acpi=off", "-enable-kvm", "-cpu", "host,-arch-capabilities",
			"-m", "256", "-smp", "1", "-nodefaults", "-no-user-config", "-nographic",
			"-serial", "stdio", "-no-reboot", "-global", "virtio-mmio.force-legacy=false",
			"-kernel", guest, "-append", args, "-device", dev, NULL,
		};

		snprintf(dev, sizeof(dev), "vhost-vsock-device,guest-cid=%d", GUEST_CID);
		if (proc_spawn(&p, (char *const *)argv) < 0)
			return -1;
	} else {
		char *doc, *cfg;

		if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}, "
			     "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %d}, "
			     "\"vsock\": {\"guest_cid\": %d, \"uds_path\": \"%s\"}}",
			     guest, args, MEM_MIB, GUEST_CID, uds) < 0)
			abort();
		cfg = write_tmp_file("vsock-bench.json", doc);
		free(doc);
		if (wisp_spawn_config(&p, cfg) < 0) {
			free(cfg);
			return -1;
		}
		free(cfg);
	}
	if (!proc_wait_for(&p, "vsock: ready", TIMEOUT_MS)) {
		fprintf(stderr, "guest not ready\nstdout:\n%s\nstderr:\n%s\n", p.out.data, p.err.data);
		goto out;
	}
	if (bench_h2g(qemu, &r->h2g) < 0 || bench_g2h(qemu, &r->g2h) < 0 ||
	    bench_rtt(qemu, &r->rtt) < 0)
		goto out;
	proc_send(&p, "quit\n", 5);
	if (proc_finish(&p, TIMEOUT_MS) && strstr(p.out.data, "WTEST vsock PASS"))
		rc = 0;
	if (verbose || rc < 0)
		fprintf(stderr, "%s run: h2g %.1f MiB/s, g2h %.1f MiB/s, rtt %.1f us\n%s",
			qemu ? "qemu" : "wisp", r->h2g, r->g2h, r->rtt, rc < 0 ? p.out.data : "");
out:
	proc_signal(&p, SIGKILL);
	proc_finish(&p, 5000);
	proc_free(&p);
	return rc;
}

static int bench(bool qemu, struct result *med)
{
	double h2g[MAX_RUNS], g2h[MAX_RUNS], rtt[MAX_RUNS];

	for (int i = 0; i < runs; i++) {
		struct result r;

		if (one_run(qemu, &r) < 0)
			return -1;
		h2g[i] = r.h2g;
		g2h[i] = r.g2h;
		rtt[i] = r.rtt;
	}
	med->h2g = median(h2g, runs);
	med->g2h = median(g2h, runs);
	med->rtt = median(rtt, runs);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-qemu", no_argument, NULL, 'Q' }, { NULL, 0, NULL, 0 },
	};
	bool qemu = true;
	const char *why = NULL;
	struct result w, q = { NAN, NAN, NAN };
	int c;

	while ((c = getopt_long(argc, argv, "n:b:m:r:v", opts, NULL)) != -1) {
		switch (c) {
		case 'n': runs = atoi(optarg); break;
		case 'b': build = optarg; break;
		case 'm': mib = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'v': verbose = true; break;
		case 'Q': qemu = false; break;
		default:
			fprintf(stderr, "usage: %s [-n RUNS] [-b BUILD_DIR] [-m MIB] [-r ROUNDS] [--no-qemu] [-v]\n",
				argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || mib < 1 || rounds < 1) {
		fprintf(stderr, "bad -n/-m/-r\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(guest, sizeof(guest), "%s/wisp-testguest", build);
	snprintf(wisp_bin, sizeof(wisp_bin), "%s/wisp", build);
	setenv("WISP_BUILD_DIR", build, 0);
	snprintf(uds, sizeof(uds), "%s/v.sock", tmpdir_make());

	if (bench(false, &w) < 0) {
		fprintf(stderr, "wisp runs failed\n");
		tmpdir_cleanup();
		return 1;
	}
	if (!qemu)
		why = "--no-qemu";
	else if (access(QEMU_BIN, X_OK) != 0)
		why = "no " QEMU_BIN;
	else if (access("/dev/vhost-vsock", R_OK | W_OK) != 0)
		why = "no /dev/vhost-vsock (vhost_vsock module not loaded)";
	if (!why && bench(true, &q) < 0)
		why = "QEMU runs failed (see above)";

	printf("vsock, test guest, 1 vCPU, %d MiB per transfer, %d runs (median)%s%s\n", mib, runs,
	       why ? "; qemu: " : "", why ? why : "");
	printf("| %-34s | %10s | %10s | %9s |\n", "metric", "wisp", "qemu", "wisp/qemu");
	printf("|%s|%s|%s|%s|\n", "------------------------------------", "------------",
	       "------------", "-----------");
	printf("| %-34s | %10s | %10s | %9s |\n", "host -> guest (MiB/s)", fmt_num(w.h2g, 1),
	       fmt_num(q.h2g, 1), fmt_ratio(w.h2g, q.h2g));
	printf("| %-34s | %10s | %10s | %9s |\n", "guest -> host (MiB/s)", fmt_num(w.g2h, 1),
	       fmt_num(q.g2h, 1), fmt_ratio(w.g2h, q.g2h));
	printf("| %-34s | %10s | %10s | %9s |\n", "64-byte round trip, median (us)", fmt_num(w.rtt, 1),
	       fmt_num(q.rtt, 1), fmt_ratio(w.rtt, q.rtt));
	tmpdir_cleanup();
	return 0;
}
