/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio_bench.c — wisp vs QEMU microvm, virtio-blk and virtio-net, the same
 * test guest on 1 vCPU with 256 MiB, the same image file and the same tap.
 *
 * Block: the guest's `blk-bench` scenario (requests kept in flight for
 * wtest.secs seconds of guest TSC time, completions polled) prints
 *   BENCH blk mode=M bs=B qd=Q ops=N bytes=X usecs=T
 * measured for 4 KiB random reads (IOPS) and 1 MiB sequential reads
 * (MB/s) at queue depth 1 and 32, with both engines: wisp io_engine Sync
 * beside QEMU aio=threads, wisp Async (io_uring) beside QEMU aio=io_uring.
 * Both use the host page cache (wisp cache_type Unsafe, QEMU
 * cache=writeback), on a warm image.
 *
 * Net: the guest's `net-bench` scenario sends broadcast frames for
 * wtest.secs seconds and prints
 *   BENCH net frames=N bytes=X usecs=T
 * Guest-side frames/s and MB/s come from that line; the host side counts
 * the tap's rx_packets delta inside a network namespace made for the run.
 *
 * Each number is the median of -n runs (>= 5 by default), wisp and QEMU
 * interleaved. Prints metric | wisp | qemu | wisp/qemu.
 *
 * Usage: wisp-bench-virtio [-n RUNS] [-b BUILD_DIR] [-s SECS] [--no-qemu]
 *                          [--no-blk] [--no-net] [--img-mib N]
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"
#include "it_virtio_util.h"

#define MEM_MIB 256
#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define GUEST_MAC "06:00:0a:c8:01:02"
#define MAX_RUNS 64

static const char *build = "build";
static char guest[4096], wisp[4096];
static int runs = 5, secs = 2;
static bool verbose;

struct bench_out {
	double ops, bytes, usecs;         /* from the BENCH line */
	double host_frames;               /* net: tap rx_packets delta */
};

/* Parse "key=<number>" after `line`. */
static double field(const char *line, const char *key)
{
	char k[32];
	const char *p;

	snprintf(k, sizeof(k), " %s=", key);
	p = strstr(line, k);
	return p ? strtod(p + strlen(k), NULL) : NAN;
}

/* Run argv to completion; parse the BENCH line starting with `tag`. */
static int run_guest(char *const argv[], const char *tag, const char *nsname, const char *tap,
		     struct bench_out *o)
{
	struct proc p;
	uint64_t rx0 = 0, rx1 = 0;
	const char *line;
	int r = -1;

	if (nsname && netns_dev_stats(nsname, tap, &rx0, NULL) < 0)
		return -1;
	if (proc_run(&p, argv, (secs + 120) * 1000) && (line = strstr(p.out.data, tag)) &&
	    strstr(p.out.data, " PASS")) {
		if (strncmp(tag, "BENCH blk", 9) == 0) {
			o->ops = field(line, "ops");
		} else {
			o->ops = field(line, "frames");
		}
		o->bytes = field(line, "bytes");
		o->usecs = field(line, "usecs");
		o->host_frames = NAN;
		if (nsname && netns_dev_stats(nsname, tap, &rx1, NULL) == 0)
			o->host_frames = (double)(rx1 - rx0);
		r = 0;
		if (verbose)
			fprintf(stderr, "%.*s\n", (int)strcspn(line, "\r\n"), line);
	}
	if (r < 0) {
		fprintf(stderr, "run failed (status %d):", p.status);
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\nstdout:\n%s\nstderr:\n%s\n", p.out.data, p.err.data);
	}
	proc_free(&p);
	return r;
}

/* ---------------- command lines ---------------- */

static char *wisp_config(const char *args, const char *extra)
{
	char *doc, *path;

	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}, "
		     "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %d}, %s}",
		     guest, args, MEM_MIB, extra) < 0)
		abort();
	path = write_tmp_file("bench.json", doc);
	free(doc);
	return path;
}

/* argv for QEMU; `dev` are the extra device arguments (NULL-terminated). */
static int qemu_argv(const char **argv, int i, const char *append, const char *const *dev)
{
	static const char *const fixed[] = {
		QEMU_BIN, "-M", "microvm,acpi=off", "-enable-kvm", "-cpu", "host,-arch-capabilities", "-m", "256",
		"-smp", "1", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
		"-no-reboot", "-global", "virtio-mmio.force-legacy=false", NULL,
	};

	for (int k = 0; fixed[k]; k++)
		argv[i++] = fixed[k];
	argv[i++] = "-kernel";
	argv[i++] = guest;
	argv[i++] = "-append";
	argv[i++] = append;
	for (int k = 0; dev[k]; k++)
		argv[i++] = dev[k];
	argv[i] = NULL;
	return i;
}

/* ---------------- block ---------------- */

struct blk_case {
	const char *label;
	const char *mode;
	unsigned bs, qd;
	bool mbps;                        /* report MB/s, else IOPS */
};

static const struct blk_case blk_cases[] = {
	{ "4 KiB random read, qd 1 (IOPS)", "randread", 4096, 1, false },
	{ "4 KiB random read, qd 32 (IOPS)", "randread", 4096, 32, false },
	{ "1 MiB sequential read, qd 1 (MB/s)", "seqread", 1 << 20, 1, true },
	{ "1 MiB sequential read, qd 32 (MB/s)", "seqread", 1 << 20, 32, true },
};

struct row {
	char label[96];
	double wisp, qemu;
};

static struct row rows[64];
static int nrows;

static double metric(const struct bench_out *o, bool mbps)
{
	if (!(o->usecs > 0))
		return NAN;
	return mbps ? o->bytes / o->usecs : o->ops * 1e6 / o->usecs;
}

static int bench_blk(const char *img, bool qemu)
{
	static const char *const engines[] = { "Sync", "Async" };
	static const char *const aio[] = { "threads", "io_uring" };

	for (unsigned e = 0; e < 2; e++) {
		for (unsigned c = 0; c < sizeof(blk_cases) / sizeof(blk_cases[0]); c++) {
			const struct blk_case *bc = &blk_cases[c];
			double w[MAX_RUNS], q[MAX_RUNS];
			char args[256], drive[512], qdrive[512], *cfg;
			struct row *rw = &rows[nrows++];

			snprintf(args, sizeof(args),
				 "wtest=blk-bench wtest.mode=%s wtest.bs=%u wtest.qd=%u wtest.secs=%d",
				 bc->mode, bc->bs, bc->qd, secs);
			snprintf(drive, sizeof(drive),
				 "\"drives\": [{\"drive_id\": \"bench\", \"path_on_host\": \"%s\", "
				 "\"is_root_device\": false, \"is_read_only\": false, "
				 "\"cache_type\": \"Unsafe\", \"io_engine\": \"%s\"}]", img, engines[e]);
			snprintf(qdrive, sizeof(qdrive),
				 "id=d0,file=%s,format=raw,if=none,cache=writeback,aio=%s", img, aio[e]);
			cfg = wisp_config(args, drive);
			snprintf(rw->label, sizeof(rw->label), "blk %s, %s", bc->label,
				 e ? "Async / aio=io_uring" : "Sync / aio=threads");
			for (int i = 0; i < runs; i++) {
				char *wargv[] = { wisp, "--no-api", "--config-file", cfg, NULL };
				const char *dev[] = { "-drive", qdrive, "-device",
						      "virtio-blk-device,drive=d0", NULL };
				const char *qargv[40];
				struct bench_out o;

				if (run_guest(wargv, "BENCH blk", NULL, NULL, &o) < 0)
					return -1;
				w[i] = metric(&o, bc->mbps);
				q[i] = NAN;
				if (qemu) {
					qemu_argv(qargv, 0, args, dev);
					if (run_guest((char *const *)qargv, "BENCH blk", NULL, NULL, &o) < 0)
						return -1;
					q[i] = metric(&o, bc->mbps);
				}
			}
			rw->wisp = median(w, runs);
			rw->qemu = qemu ? median(q, runs) : NAN;
			fprintf(stderr, "%s: wisp %.1f qemu %.1f\n", rw->label, rw->wisp, rw->qemu);
			free(cfg);
		}
	}
	return 0;
}

/* ---------------- net ---------------- */

static int bench_net(bool qemu, int size)
{
	char ns[64], args[256], *cfg;
	const char *nic = "\"network-interfaces\": [{\"iface_id\": \"eth0\", "
			  "\"host_dev_name\": \"tap0\", \"guest_mac\": \"" GUEST_MAC "\"}]";
	double wf[MAX_RUNS], wb[MAX_RUNS], wh[MAX_RUNS], whn[MAX_RUNS];
	double qf[MAX_RUNS], qb[MAX_RUNS], qh[MAX_RUNS], qhn[MAX_RUNS];
	int r = -1;

	if (netns_create(ns, sizeof(ns)) < 0 || netns_add_tap(ns, "tap0", "10.200.1.1/24") < 0) {
		fprintf(stderr, "cannot create a network namespace with a tap\n");
		netns_delete(ns);
		return -1;
	}
	snprintf(args, sizeof(args), "wtest=net-bench wtest.secs=%d wtest.size=%d", secs, size);
	cfg = wisp_config(args, nic);
	for (int i = 0; i < runs; i++) {
		const char *wargv[12], *qargv[48];
		const char *dev[] = { "-netdev",
				      "tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=off",
				      "-device", "virtio-net-device,netdev=n0,mac=" GUEST_MAC, NULL };
		struct bench_out o;
		int k = netns_exec_prefix(wargv, ns);

		wargv[k++] = wisp;
		wargv[k++] = "--no-api";
		wargv[k++] = "--config-file";
		wargv[k++] = cfg;
		wargv[k] = NULL;
		if (run_guest((char *const *)wargv, "BENCH net", ns, "tap0", &o) < 0)
			goto out;
		wf[i] = o.ops * 1e6 / o.usecs;
		wb[i] = o.bytes / o.usecs;
		wh[i] = o.host_frames * 1e6 / o.usecs;
		whn[i] = o.host_frames;
		qf[i] = qb[i] = qh[i] = qhn[i] = NAN;
		if (qemu) {
			k = netns_exec_prefix(qargv, ns);
			qemu_argv(qargv, k, args, dev);
			if (run_guest((char *const *)qargv, "BENCH net", ns, "tap0", &o) < 0)
				goto out;
			qf[i] = o.ops * 1e6 / o.usecs;
			qb[i] = o.bytes / o.usecs;
			qh[i] = o.host_frames * 1e6 / o.usecs;
			qhn[i] = o.host_frames;
		}
	}
	{
		struct { const char *what; double *w, *q; } m[] = {
			{ "frames/s (guest-counted)", wf, qf },
			{ "MB/s (guest-counted)", wb, qb },
			{ "frames/s (host tap rx_packets)", wh, qh },
			{ "frames per run (host tap rx_packets)", whn, qhn },
		};

		for (unsigned j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
			struct row *rw = &rows[nrows++];

			snprintf(rw->label, sizeof(rw->label), "net guest->host %d-byte frames, %s",
				 size, m[j].what);
			rw->wisp = median(m[j].w, runs);
			rw->qemu = qemu ? median(m[j].q, runs) : NAN;
			fprintf(stderr, "%s: wisp %.1f qemu %.1f\n", rw->label, rw->wisp, rw->qemu);
		}
	}
	r = 0;
out:
	free(cfg);
	netns_delete(ns);
	return r;
}

int main(int argc, char **argv)
{
	bool qemu = access(QEMU_BIN, X_OK) == 0, do_blk = true, do_net = true;
	int img_mib = 64, c;
	char *img;
	static const struct option opts[] = {
		{ "no-qemu", no_argument, NULL, 'Q' }, { "no-blk", no_argument, NULL, 'B' },
		{ "no-net", no_argument, NULL, 'N' }, { "img-mib", required_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' }, { NULL, 0, NULL, 0 },
	};

	if (getenv("WISP_BUILD_DIR"))
		build = getenv("WISP_BUILD_DIR");
	while ((c = getopt_long(argc, argv, "n:b:s:v", opts, NULL)) != -1) {
		switch (c) {
		case 'n': runs = atoi(optarg); break;
		case 'b': build = optarg; break;
		case 's': secs = atoi(optarg); break;
		case 'Q': qemu = false; break;
		case 'B': do_blk = false; break;
		case 'N': do_net = false; break;
		case 'I': img_mib = atoi(optarg); break;
		case 'v': verbose = true; break;
		default:
			fprintf(stderr, "usage: %s [-n RUNS] [-b BUILD_DIR] [-s SECS] [--no-qemu] "
				"[--no-blk] [--no-net] [--img-mib N] [-v]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > MAX_RUNS || secs < 1 || secs > 60 || img_mib < 2 || img_mib > 4096) {
		fprintf(stderr, "-n must be 1..%d, -s 1..60, --img-mib 2..4096\n", MAX_RUNS);
		return 2;
	}
	if (do_net && geteuid() != 0) {
		fprintf(stderr, "net benchmark needs root (network namespace, tap); use --no-net\n");
		return 2;
	}
	snprintf(guest, sizeof(guest), "%s/wisp-testguest", build);
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);

	img = write_tmp_file("bench.img", "");
	if (do_blk && image_create(img, (uint64_t)img_mib << 11) < 0) {
		fprintf(stderr, "cannot create %s\n", img);
		return 1;
	}
	if (do_blk && bench_blk(img, qemu) < 0)
		goto fail;
	if (do_net && (bench_net(qemu, 60) < 0 || bench_net(qemu, 1514) < 0))
		goto fail;

	printf("virtio benchmark: test guest, 1 vCPU, %d MiB, %d s of guest time per run, "
	       "median of %d runs each; blk image %d MiB (page cache, warm)\n",
	       MEM_MIB, secs, runs, img_mib);
	printf("| %-72s | %10s | %10s | %9s |\n", "metric", "wisp", "qemu", "wisp/qemu");
	printf("|%.74s|%.12s|%.12s|%.11s|\n",
	       "------------------------------------------------------------------------------",
	       "------------", "------------", "-----------");
	for (int i = 0; i < nrows; i++)
		printf("| %-72s | %10s | %10s | %9s |\n", rows[i].label,
		       fmt_num(rows[i].wisp, rows[i].wisp >= 100 ? 0 : 1),
		       fmt_num(rows[i].qemu, rows[i].qemu >= 100 ? 0 : 1),
		       fmt_ratio(rows[i].wisp, rows[i].qemu));
	free(img);
	tmpdir_cleanup();
	return 0;
fail:
	free(img);
	tmpdir_cleanup();
	return 1;
}
