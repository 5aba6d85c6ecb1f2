/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot_bench.c — wisp vs QEMU microvm: snapshot a running test guest
 * (`wtest=snap wtest.mib=F`, 1 vCPU, M MiB of RAM) and restore it in a new
 * process, measured from outside the processes, for each RAM size:
 *
 *   create   wisp: the PUT /snapshot/create round trip on a paused VM
 *            (PATCH /vm Paused first); QEMU: `stop`, then the QMP `migrate`
 *            command to "exec:cat > F && sync F && touch F.done" until the
 *            MIGRATION event says completed, and until F.done exists (file
 *            written and fsynced: wisp fsyncs its files before create
 *            returns, QEMU's exec target does not). max-bandwidth is raised
 *            from QEMU's default 32 MiB/s. RUNS creates of one VM per VMM:
 *            before each but the first it is resumed, prints one more
 *            `SNAP n` line and is paused again (QEMU refuses a second
 *            migrate from "postmigrate"); files are removed before each.
 *            File sizes: apparent (st_size) and allocated (st_blocks * 512);
 *            QEMU writes one file.
 *   restore  RUNS times each, interleaved: fork/exec of the VMM, then
 *            wisp: connect() to the API socket (retried every 50 us), PUT
 *            /snapshot/load with the File backend and resume_vm true;
 *            QEMU: the same command line with -incoming defer, QMP
 *            connected (retried every 50 us), migrate-set-capabilities
 *            events, migrate-incoming "exec:cat FILE", the MIGRATION event
 *            "completed", then `cont` (a snapshot of a stopped VM comes back
 *            paused; without -S QEMU restores the saved run state). Right
 *            when the load call / `cont` returns the host writes one byte
 *            ('x') to the serial console (the VMM's stdin) and waits for the
 *            guest's echo "Ex\r\n" on its stdout. Reported: start -> socket
 *            accepting, the load (wisp: the PUT; QEMU: migrate-incoming to
 *            cont returned), start -> guest running, byte -> echo, start ->
 *            first echo, the echo of a second byte once the guest printed
 *            one more `SNAP n`, CPU time of all the VMM's threads until the
 *            first echo (schedstat), wisp's own "snapshot load: files N us,
 *            VM create N us, devices N us, KVM state N us" log line, and the
 *            resident set after that `SNAP n` line: without mappings of
 *            guest-RAM size (bench_util's rss_kib) and the guest mapping's.
 *            One untimed restore of each VMM first sends `V` and needs
 *            `WTEST snap PASS` (the restored guest's RAM and timer checked).
 *   strace   (--strace) up to 10 more wisp restores under `strace -f -T
 *            --seccomp-bpf -e trace=ioctl,mmap,openat`: time inside
 *            KVM_CREATE_VM, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_VCPU and
 *            the guest-RAM mmap, to hold against the log's parts (-v lists
 *            each run and its longest other call). On a busy 2-core host
 *            strace's timings of short calls are mostly scheduling noise.
 *   density  K VMs restored one after another from the same snapshot and
 *            all left running; 300 ms after the last echoed, Pss of each
 *            process (/proc/PID/smaps_rollup) and its guest-RAM mapping's
 *            Pss (/proc/PID/smaps): per VM (median) and summed over the K.
 *   diff     (--diff, instead of all of the above; wisp only: QEMU's migrate
 *            has no diff, it always writes all RAM) per RAM size (default
 *            128 and 1024 MiB, wtest.mib=8) and share of RAM P (--diff-pct,
 *            default 1 and 10 %): one VM booted with "track_dirty_pages":
 *            true and `wtest=snap wtest.mib=8 wtest.dpages=N`, N = P % of
 *            RAM in 4 KiB pages; at `SNAP 2` paused, the base Full, resumed;
 *            then RUNS rounds of: `D` sent (timed to the `SNAP dirtied N
 *            pages ... gen g` line), `D` again (the same pages once more in
 *            the same interval, timed), pause, a Diff (the PUT round trip),
 *            its memory file checked (pages with data by SEEK_DATA: all N
 *            known pages with generation g, and how many others; sizes), a
 *            Full at the same moment (timed; it also starts the next
 *            interval), an empty Diff right after it (timed: the fixed
 *            cost, dirty log read and cleared over all of RAM, no page),
 *            resume. In the last min(5, RUNS) rounds the Diff is rebased
 *            with `wisp-snapshot-editor edit-memory rebase` onto a sparse,
 *            fsynced copy of the previous round's Full (the run of the
 *            editor timed); in the last round the result must equal this
 *            round's Full byte for byte, else the benchmark stops with
 *            "DIFF SNAPSHOT CHECK FAILED" and the differing pages.
 *   clones   (--clones, instead of all of the above; wisp only) one Full
 *            snapshot (first -s entry, default 128:16), checked once (V ->
 *            PASS), then: (1) K = 10 and 50 clones restored one after
 *            another (File backend, each its own wisp) and all left
 *            running; 300 ms after the last echoed, Pss of each (whole,
 *            guest-RAM mapping, the rest) and MemAvailable against before
 *            the first. (2) 100 restores with M = 1, 2, 4, 8 in flight: M
 *            forked workers, each restoring one after another (spawn, load
 *            with resume_vm true, byte -> first echo, SIGKILL, reaped);
 *            restores/s over the wall time, and per CPU-second: wisp's
 *            user+sys (the workers' RUSAGE_CHILDREN, from wait4), with the
 *            workers' own CPU added, and the host's busy time (/proc/stat,
 *            everything running). (3) RUNS rounds, interleaved, of File,
 *            Uffd with wisp-uffd-handler page by page and with --batch-2m,
 *            each once up to the first echo and once more with `V` after
 *            it (the guest reads back its pattern, to PASS): load, start
 *            -> echo, V -> PASS; the handler's faults and KiB placed from
 *            its exit line ("served N fault(s) ..."; it exits when wisp is
 *            killed), its CPU from wait4. Its cost per fault is the
 *            difference of the medians of handler CPU with V and without,
 *            over the difference of the faults (the handler's fixed
 *            start-up cost drops out).
 *
 * wisp runs with its default seccomp filter; if a process dies of SIGSYS the
 * step is redone with --no-seccomp and the table says so. Every child is
 * killed on exit (PR_SET_PDEATHSIG in the harness, SIGKILL to its process
 * group here, also on SIGINT/SIGTERM); files live in one temporary
 * directory, removed at the end.
 *
 * Usage: wisp-bench-snapshot [-n RUNS] [-k VMS] [-b BUILD_DIR]
 *            [-s MIB:FILL[,MIB:FILL...]] [--quick] [--no-qemu] [--strace] [-v]
 *        wisp-bench-snapshot --diff [-n RUNS] [-b BUILD_DIR]
 *            [-s MIB:FILL[,...]] [--diff-pct P[,P...]] [--quick] [-v]
 *        wisp-bench-snapshot --clones [-n RUNS] [-b BUILD_DIR] [-s MIB:FILL]
 *            [--quick] [-v]
 *   defaults: -n 20 -k 10 -s 128:16,1024:64; --quick = -n 3 -k 3.
 *   --diff: -n 20 -s 128:8,1024:8 --diff-pct 1,10 (about 2 minutes);
 *   --quick = -n 3.
 *   --clones: -n 20 -s 128:16 (about 1 minute); --quick = -n 3, 3 and 6
 *   clones, 20 restores per M.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_util.h"
#include "harness.h"

#define QEMU_BIN "/usr/bin/qemu-system-x86_64"
#define MAX_RUNS 256
#define MAX_VMS 32
#define MAX_SIZES 8
#define MAX_CLONES 64        /* --clones: VMs running at once */
#define ECHO "Ex\r\n"

#define STRACE_BIN "/usr/bin/strace"

static const char *g_dir, *g_guest, *g_wisp;
static const char *g_strace_out;   /* set: wisp restores run under strace */
static bool g_verbose;
static bool g_create_noseccomp, g_load_noseccomp;
static const char *g_uffd_sock;   /* set: restores load with the Uffd backend there */

/* ---- child tracking: everything is killed on exit and on SIGINT/TERM ---- */

static pid_t g_kids[MAX_CLONES * 2 + 8];

static void track(pid_t pid, bool on)
{
	for (size_t i = 0; i < sizeof(g_kids) / sizeof(g_kids[0]); i++) {
		if (on && !g_kids[i]) {
			g_kids[i] = pid;
			return;
		}
		if (!on && g_kids[i] == pid) {
			g_kids[i] = 0;
			return;
		}
	}
}

static void kill_all(void)
{
	for (size_t i = 0; i < sizeof(g_kids) / sizeof(g_kids[0]); i++)
		if (g_kids[i] > 0) {
			kill(-g_kids[i], SIGKILL);
			kill(g_kids[i], SIGKILL);
		}
}

static void on_signal(int sig)
{
	kill_all();
	for (size_t i = 0; i < sizeof(g_kids) / sizeof(g_kids[0]); i++)
		if (g_kids[i] > 0)
			waitpid(g_kids[i], NULL, 0);
	tmpdir_cleanup();
	_exit(128 + sig);
}

static int spawn(struct proc *p, char **argv)
{
	if (proc_spawn(p, argv) < 0) {
		fprintf(stderr, "cannot start %s\n", argv[0]);
		return -1;
	}
	track(p->pid, true);
	return 0;
}

static void reap(struct proc *p)
{
	if (!p->pid)
		return;
	kill(-p->pid, SIGKILL);
	proc_signal(p, SIGKILL);
	proc_finish(p, 10000);
	track(p->pid, false);
	proc_free(p);
}

/* Died of SIGSYS (seccomp) by now? */
static bool died_of_sigsys(struct proc *p)
{
	if (!p->exited)
		proc_finish(p, 500);
	return p->exited && p->status == 128 + SIGSYS;
}

static void sb_append(struct strbuf *b, const char *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, d, n);
	b->len += n;
	b->data[b->len] = 0;
}

/* Read what p's stdout/stderr have, waiting up to timeout_ms for the first
 * bytes (returns as soon as something arrived); false once both are closed. */
static bool pump_once(struct proc *p, int timeout_ms)
{
	struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 }, { p->err_fd, POLLIN, 0 } };
	char buf[65536];

	if (p->out_fd < 0 && p->err_fd < 0)
		return false;
	if (poll(fds, 2, timeout_ms) <= 0)
		return true;
	for (int i = 0; i < 2; i++) {
		int *fd = i == 0 ? &p->out_fd : &p->err_fd;
		ssize_t n;

		if (*fd < 0 || !fds[i].revents)
			continue;
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			sb_append(i == 0 ? &p->out : &p->err, buf, (size_t)n);
		} else {
			close(*fd);
			*fd = -1;
		}
	}
	return true;
}

/* Wait until `needle` appears in p's stdout at or after offset `from`;
 * the output is checked as soon as it arrives. */
static bool wait_after(struct proc *p, size_t from, const char *needle, int timeout_ms)
{
	double end = now_us() + timeout_ms * 1e3;

	for (;;) {
		double left;

		if (p->out.len > from && strstr(p->out.data + from, needle))
			return true;
		left = (end - now_us()) / 1e3;
		if (left <= 0 || !pump_once(p, (int)left + 1))
			return p->out.len > from && strstr(p->out.data + from, needle);
	}
}

/* ---- sockets: raw HTTP/1.1 to wisp, QMP to QEMU ---- */

static int unix_connect(const char *path)
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

/* connect() every 50 us until it succeeds, the process dies or timeout. */
static int connect_retry(struct proc *p, const char *path, int timeout_ms)
{
	double end = now_us() + timeout_ms * 1e3;
	int fd, st;

	while ((fd = unix_connect(path)) < 0) {
		if (now_us() > end)
			return -1;
		if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
			p->exited = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return -1;
		}
		usleep(50);
	}
	return fd;
}

static bool wait_readable(int fd, int timeout_ms)
{
	struct pollfd pf = { fd, POLLIN, 0 };

	return poll(&pf, 1, timeout_ms) > 0;
}

/* One request on a kept-alive connection; the HTTP status or -1. */
static int http_req(int fd, const char *method, const char *path, const char *body,
		    char *resp, size_t cap, int timeout_ms)
{
	char req[8192];
	size_t got = 0;
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");

	if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	resp[0] = 0;
	for (;;) {
		const char *end, *cl;
		size_t blen = 0;
		ssize_t r;

		if (!wait_readable(fd, timeout_ms))
			return -1;
		r = recv(fd, resp + got, cap - got - 1, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = 0;
		end = strstr(resp, "\r\n\r\n");
		if (!end)
			continue;
		cl = strcasestr(resp, "Content-Length:");
		if (cl && cl < end)
			blen = strtoul(cl + 15, NULL, 10);
		if (got >= (size_t)(end - resp) + 4 + blen)
			break;
		if (got + 1 >= cap)
			return -1;
	}
	return strncmp(resp, "HTTP/1.1 ", 9) == 0 ? atoi(resp + 9) : -1;
}

struct qmp {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool resumed;
	char mig[32];   /* last MIGRATION event's status */
};

/* The next line from QMP into `line` (events are noted on the way):
 * 1, or 0 on timeout, -1 on EOF. */
static int qmp_line(struct qmp *q, int timeout_ms, char *line, size_t cap)
{
	double end = now_us() + timeout_ms * 1e3;

	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);

		if (nl) {
			size_t n = (size_t)(nl - q->buf) + 1;

			snprintf(line, cap, "%.*s", (int)n, q->buf);
			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (strstr(line, "\"event\"")) {
				const char *s;

				if (strstr(line, "\"RESUME\""))
					q->resumed = true;
				if (strstr(line, "\"MIGRATION\"") && (s = strstr(line, "\"status\": \"")))
					sscanf(s + 11, "%31[a-z-]", q->mig);
			}
			return 1;
		}
		int left = (int)((end - now_us()) / 1e3);
		ssize_t r;

		if (left < 0 || !wait_readable(q->fd, left))
			return 0;
		r = recv(q->fd, q->buf + q->len, sizeof(q->buf) - q->len - 1, 0);
		if (r <= 0)
			return -1;
		q->len += (size_t)r;
	}
}

/* Send a command, read until its answer; 0 on "return", -1 otherwise. */
static int qmp_cmd(struct qmp *q, const char *cmd, char *ret, size_t cap)
{
	char line[8192];
	size_t n = strlen(cmd);

	if (send(q->fd, cmd, n, MSG_NOSIGNAL) != (ssize_t)n)
		return -1;
	for (;;) {
		if (qmp_line(q, 30000, line, sizeof(line)) != 1)
			return -1;
		if (strstr(line, "\"return\"") || strstr(line, "\"error\"")) {
			if (ret)
				snprintf(ret, cap, "%s", line);
			if (strstr(line, "\"error\"")) {
				fprintf(stderr, "QMP %s -> %s", cmd, line);
				return -1;
			}
			return 0;
		}
	}
}

/* Connect (retrying), read the greeting, leave capabilities negotiation. */
static int qmp_open(struct qmp *q, struct proc *p, const char *path, double *t_accept)
{
	char line[8192];

	memset(q, 0, sizeof(*q));
	q->fd = connect_retry(p, path, 30000);
	if (q->fd < 0)
		return -1;
	if (t_accept)
		*t_accept = now_us();
	if (qmp_line(q, 30000, line, sizeof(line)) != 1 || !strstr(line, "\"QMP\""))
		return -1;
	return qmp_cmd(q, "{\"execute\": \"qmp_capabilities\"}\n", NULL, 0);
}

static void qmp_close(struct qmp *q)
{
	if (q->fd > 0)
		close(q->fd);
	q->fd = -1;
}

/* ---- /proc readings ---- */

/* Run time of all of pid's threads in ms (schedstat, ns resolution). */
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
		if (!f)
			continue;
		if (fscanf(f, "%llu", &ns) == 1)
			total += (double)ns / 1e6;
		fclose(f);
	}
	closedir(d);
	return total;
}

/* Pss of the whole process (smaps_rollup) and of its mappings of at least
 * guest_bytes (smaps), and Rss of those mappings, in KiB. */
static int pss_kib(pid_t pid, uint64_t guest_bytes, double *pss, double *pss_guest,
		   double *rss_guest)
{
	char path[64], line[512];
	unsigned long long start, end, kb;
	bool in_guest = false;
	FILE *f;

	*pss = *pss_guest = *rss_guest = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pss: %llu kB", &kb) == 1)
			*pss = (double)kb;
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in_guest = end - start >= guest_bytes;
			continue;
		}
		if (in_guest && sscanf(line, "Pss: %llu kB", &kb) == 1)
			*pss_guest += (double)kb;
		if (in_guest && sscanf(line, "Rss: %llu kB", &kb) == 1)
			*rss_guest += (double)kb;
	}
	fclose(f);
	return 0;
}

static void file_sizes(const char *path, double *apparent_kib, double *alloc_kib)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		*apparent_kib = *alloc_kib = NAN;
		return;
	}
	*apparent_kib = (double)st.st_size / 1024;
	*alloc_kib = (double)st.st_blocks * 512 / 1024;
}

/* ---- one size's set-up ---- */

struct size_cfg {
	unsigned mib, fill;
	char cfg[4096];      /* wisp config file */
	char append[128];    /* guest command line */
	char mem_arg[16];    /* QEMU -m */
	char w_state[4096], w_mem[4096], q_file[4096];
};

static void qemu_argv(char **argv, struct size_cfg *s, const char *qmp_arg, const char *incoming)
{
	int i = 0;

	argv[i++] = QEMU_BIN;
	argv[i++] = "-M";
	argv[i++] = "microvm,acpi=off";
	argv[i++] = "-enable-kvm";
	argv[i++] = "-m";
	argv[i++] = s->mem_arg;
	argv[i++] = "-smp";
	argv[i++] = "1";
	argv[i++] = "-nodefaults";
	argv[i++] = "-no-user-config";
	argv[i++] = "-nographic";
	argv[i++] = "-no-reboot";
	argv[i++] = "-serial";
	argv[i++] = "stdio";
	argv[i++] = "-qmp";
	argv[i++] = (char *)qmp_arg;
	argv[i++] = "-kernel";
	argv[i++] = (char *)g_guest;
	argv[i++] = "-append";
	argv[i++] = s->append;
	if (incoming) {
		argv[i++] = "-incoming";
		argv[i++] = (char *)incoming;
	}
	argv[i] = NULL;
}

struct create_res {
	double ms[MAX_RUNS], ms_durable[MAX_RUNS];
	int n;
	double state_app, state_alloc, mem_app, mem_alloc;
	double rss_before, rss_after;   /* the source VMM's whole RSS (KiB) */
};

/* Boot wisp with the API up, pause, create `runs` snapshots. 0, -1 on
 * error, -2 when wisp died of SIGSYS. */
static int wisp_create(struct size_cfg *s, int runs, const char *secflag, struct create_res *r)
{
	char sock[4200], resp[8192], body[9000];
	char *argv[] = { (char *)g_wisp, "--api-sock", sock, "--config-file", s->cfg,
			 (char *)secflag, NULL };
	struct proc p;
	double ex;
	int fd = -1, st, ret = -1;

	snprintf(sock, sizeof(sock), "%s/wc.sock", g_dir);
	unlink(sock);
	if (spawn(&p, argv) < 0)
		return -1;
	if (!wait_after(&p, 0, "SNAP 1\r\n", 120000)) {
		fprintf(stderr, "wisp: the guest did not reach SNAP 1:\n%s\n%s\n", p.out.data,
			p.err.data);
		goto out;
	}
	fd = connect_retry(&p, sock, 5000);
	if (fd < 0 || http_req(fd, "PATCH", "/vm", "{\"state\": \"Paused\"}", resp, sizeof(resp),
			       10000) != 204) {
		fprintf(stderr, "wisp: pause failed: %s\n", resp);
		goto out;
	}
	snprintf(body, sizeof(body),
		 "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}",
		 s->w_state, s->w_mem);
	if (rss_kib(p.pid, (uint64_t)s->mib << 20, &r->rss_before, &ex) < 0)
		r->rss_before = NAN;
	for (int i = 0; i < runs; i++) {
		double t0;

		/* From the second on: resume, one more SNAP line, pause again. */
		if (i > 0) {
			size_t off = p.out.len;

			if (http_req(fd, "PATCH", "/vm", "{\"state\": \"Resumed\"}", resp,
				     sizeof(resp), 10000) != 204 ||
			    !wait_after(&p, off, "SNAP ", 5000) ||
			    http_req(fd, "PATCH", "/vm", "{\"state\": \"Paused\"}", resp,
				     sizeof(resp), 10000) != 204) {
				fprintf(stderr, "wisp: resume/pause failed: %s\n", resp);
				goto out;
			}
		}
		unlink(s->w_state);
		unlink(s->w_mem);
		t0 = now_us();
		st = http_req(fd, "PUT", "/snapshot/create", body, resp, sizeof(resp), 120000);
		r->ms[i] = (now_us() - t0) / 1e3;
		r->ms_durable[i] = r->ms[i];
		if (st != 204) {
			if (died_of_sigsys(&p)) {
				ret = -2;
				goto out;
			}
			fprintf(stderr, "wisp: snapshot create: %d %s\n%s\n", st, resp, p.err.data);
			goto out;
		}
		if (g_verbose)
			fprintf(stderr, "wisp create %d: %.1f ms\n", i, r->ms[i]);
	}
	r->n = runs;
	if (rss_kib(p.pid, (uint64_t)s->mib << 20, &r->rss_after, &ex) < 0)
		r->rss_after = NAN;
	file_sizes(s->w_state, &r->state_app, &r->state_alloc);
	file_sizes(s->w_mem, &r->mem_app, &r->mem_alloc);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	reap(&p);
	return ret;
}

static int qemu_create(struct size_cfg *s, int runs, struct create_res *r)
{
	char qsock[4200], qarg[4300], done[4200], cmd[13000], ret[8192];
	char *argv[32];
	struct proc p;
	struct qmp q = { .fd = -1 };
	double ex;
	int rc = -1;

	snprintf(qsock, sizeof(qsock), "%s/qc.sock", g_dir);
	snprintf(qarg, sizeof(qarg), "unix:%s,server=on,wait=off", qsock);
	snprintf(done, sizeof(done), "%s.done", s->q_file);
	unlink(qsock);
	qemu_argv(argv, s, qarg, NULL);
	if (spawn(&p, argv) < 0)
		return -1;
	if (qmp_open(&q, &p, qsock, NULL) < 0) {
		fprintf(stderr, "qemu: no QMP:\n%s\n", p.err.data);
		goto out;
	}
	if (!wait_after(&p, 0, "SNAP 1\r\n", 120000)) {
		fprintf(stderr, "qemu: the guest did not reach SNAP 1:\n%s\n%s\n", p.out.data,
			p.err.data);
		goto out;
	}
	/* Events on; no bandwidth limit (the default is 32 MiB/s). */
	if (qmp_cmd(&q, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
		    "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}}\n",
		    NULL, 0) < 0 ||
	    qmp_cmd(&q, "{\"execute\": \"migrate-set-parameters\", \"arguments\": "
		    "{\"max-bandwidth\": 1099511627776}}\n", NULL, 0) < 0 ||
	    qmp_cmd(&q, "{\"execute\": \"stop\"}\n", NULL, 0) < 0)
		goto out;
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate\", \"arguments\": {\"uri\": "
		 "\"exec:cat > %s && sync %s && touch %s\"}}\n", s->q_file, s->q_file, done);
	if (rss_kib(p.pid, (uint64_t)s->mib << 20, &r->rss_before, &ex) < 0)
		r->rss_before = NAN;
	for (int i = 0; i < runs; i++) {
		double t0, end;
		char line[8192];
		struct stat stb;

		/* QEMU refuses a second migrate from "postmigrate": cont, one more
		 * SNAP line, stop (wisp does the same). */
		if (i > 0) {
			size_t off = p.out.len;

			if (qmp_cmd(&q, "{\"execute\": \"cont\"}\n", NULL, 0) < 0 ||
			    !wait_after(&p, off, "SNAP ", 5000) ||
			    qmp_cmd(&q, "{\"execute\": \"stop\"}\n", NULL, 0) < 0) {
				fprintf(stderr, "qemu: cont/stop failed\n");
				goto out;
			}
		}
		unlink(s->q_file);
		unlink(done);
		q.mig[0] = 0;
		t0 = now_us();
		if (qmp_cmd(&q, cmd, ret, sizeof(ret)) < 0)
			goto out;
		while (strcmp(q.mig, "completed") && strcmp(q.mig, "failed") &&
		       strcmp(q.mig, "cancelled"))
			if (qmp_line(&q, 120000, line, sizeof(line)) != 1) {
				fprintf(stderr, "qemu: no MIGRATION completed event\n");
				goto out;
			}
		r->ms[i] = (now_us() - t0) / 1e3;
		if (strcmp(q.mig, "completed")) {
			fprintf(stderr, "qemu: migration %s\n", q.mig);
			goto out;
		}
		end = now_us() + 120e6;
		while (stat(done, &stb) < 0) {
			if (now_us() > end) {
				fprintf(stderr, "qemu: %s never appeared\n", done);
				goto out;
			}
			usleep(100);
		}
		r->ms_durable[i] = (now_us() - t0) / 1e3;
		if (g_verbose)
			fprintf(stderr, "qemu create %d: %.1f ms (durable %.1f ms)\n", i, r->ms[i],
				r->ms_durable[i]);
	}
	r->n = runs;
	if (rss_kib(p.pid, (uint64_t)s->mib << 20, &r->rss_after, &ex) < 0)
		r->rss_after = NAN;
	file_sizes(s->q_file, &r->mem_app, &r->mem_alloc);
	r->state_app = r->state_alloc = NAN;
	rc = 0;
out:
	qmp_close(&q);
	reap(&p);
	return rc;
}

/* ---- restore ---- */

struct restore_sample {
	double sock_ms, load_ms, running_ms, echo_lat_ms, echo_ms, cpu_ms, echo2_lat_ms;
	double files_us, create_us, devices_us, state_us;
	double kvm_vm_us, memory_us, dev_create_us, vcpus_us;   /* parts of create_us */
	double rss_ex, rss_guest;
};

struct vm_slot {
	struct proc p;
	struct qmp q;
	char sock[4200];
};

/* Start one VMM restoring the snapshot, resumed, up to the first echo.
 * The process is left running in slot (reap() it). 0, -1, or -2 on SIGSYS. */
static int restore_one(bool wisp, struct size_cfg *s, int idx, struct vm_slot *v,
		       struct restore_sample *o)
{
	char resp[8192], body[9000], qarg[4300], cmd[4400];
	char *argv[32];
	double t0, t_sock, t_run, t_write, t_load;
	size_t off;

	memset(o, 0, sizeof(*o));
	v->q.fd = -1;
	if (wisp) {
		int fd, st;
		char *w_plain[] = { (char *)g_wisp, "--api-sock", v->sock, "--id", "bench",
				    g_load_noseccomp ? "--no-seccomp" : NULL, NULL };
		char *w_traced[] = { STRACE_BIN, "-f", "-T", "--seccomp-bpf", "-e",
				     "trace=ioctl,mmap,openat", "-o", (char *)g_strace_out, (char *)g_wisp,
				     "--api-sock", v->sock, "--id", "bench",
				     g_load_noseccomp ? "--no-seccomp" : NULL, NULL };
		char **w_argv = g_strace_out ? w_traced : w_plain;

		snprintf(v->sock, sizeof(v->sock), "%s/w%d.sock", g_dir, idx);
		unlink(v->sock);
		snprintf(body, sizeof(body),
			 "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"%s\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": true}", s->w_state,
			 g_uffd_sock ? "Uffd" : "File", g_uffd_sock ? g_uffd_sock : s->w_mem);
		t0 = now_us();
		if (spawn(&v->p, w_argv) < 0)
			return -1;
		fd = connect_retry(&v->p, v->sock, 10000);
		if (fd < 0) {
			fprintf(stderr, "wisp: no API socket (status %d)\n%s\n", v->p.status,
				v->p.err.data);
			return -1;
		}
		t_sock = now_us();
		st = http_req(fd, "PUT", "/snapshot/load", body, resp, sizeof(resp), 30000);
		t_run = now_us();
		close(fd);
		if (st != 204) {
			if (died_of_sigsys(&v->p))
				return -2;
			fprintf(stderr, "wisp: snapshot load: %d %s\n%s\n", st, resp, v->p.err.data);
			return -1;
		}
		o->load_ms = (t_run - t_sock) / 1e3;
	} else {
		snprintf(v->sock, sizeof(v->sock), "%s/q%d.sock", g_dir, idx);
		snprintf(qarg, sizeof(qarg), "unix:%s,server=on,wait=off", v->sock);
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\": \"migrate-incoming\", \"arguments\": {\"uri\": "
			 "\"exec:cat %s\"}}\n", s->q_file);
		unlink(v->sock);
		qemu_argv(argv, s, qarg, "defer");
		t0 = now_us();
		if (spawn(&v->p, argv) < 0)
			return -1;
		if (qmp_open(&v->q, &v->p, v->sock, &t_sock) < 0) {
			fprintf(stderr, "qemu: no QMP\n%s\n", v->p.err.data);
			return -1;
		}
		if (qmp_cmd(&v->q, "{\"execute\": \"migrate-set-capabilities\", \"arguments\": "
			    "{\"capabilities\": [{\"capability\": \"events\", \"state\": true}]}}\n",
			    NULL, 0) < 0)
			return -1;
		t_load = now_us();
		if (qmp_cmd(&v->q, cmd, NULL, 0) < 0)
			return -1;
		while (strcmp(v->q.mig, "completed")) {
			char line[8192];

			if (!strcmp(v->q.mig, "failed") ||
			    qmp_line(&v->q, 60000, line, sizeof(line)) != 1) {
				fprintf(stderr, "qemu: incoming migration did not complete (%s)\n%s\n",
					v->q.mig, v->p.err.data);
				return -1;
			}
		}
		/* The source was stopped, so the destination stays paused. */
		if (qmp_cmd(&v->q, "{\"execute\": \"cont\"}\n", NULL, 0) < 0)
			return -1;
		t_run = now_us();
		o->load_ms = (t_run - t_load) / 1e3;
	}
	off = v->p.out.len;
	t_write = now_us();
	if (proc_send(&v->p, "x", 1) < 0 || !wait_after(&v->p, off, ECHO, 30000)) {
		fprintf(stderr, "%s: no echo\n%s\n%s\n", wisp ? "wisp" : "qemu", v->p.out.data,
			v->p.err.data);
		return -1;
	}
	o->echo_ms = (now_us() - t0) / 1e3;
	o->echo_lat_ms = (now_us() - t_write) / 1e3;
	o->cpu_ms = cpu_sched_ms(v->p.pid);
	o->sock_ms = (t_sock - t0) / 1e3;
	o->running_ms = (t_run - t0) / 1e3;
	o->files_us = o->create_us = o->devices_us = o->state_us = NAN;
	o->kvm_vm_us = o->memory_us = o->dev_create_us = o->vcpus_us = NAN;
	if (wisp) {
		const char *l;
		unsigned long long a, b, c, d, e, f, g, h;

		proc_wait_for(&v->p, "KVM state ", 2000);
		l = strstr(v->p.err.data, "snapshot load: files ");
		if (l && sscanf(l, "snapshot load: files %llu us, VM create %llu us (KVM VM %llu, "
				"memory %llu, devices %llu, vCPUs %llu), devices %llu us, KVM state "
				"%llu us", &a, &b, &e, &f, &g, &h, &c, &d) == 8) {
			o->kvm_vm_us = (double)e;
			o->memory_us = (double)f;
			o->dev_create_us = (double)g;
			o->vcpus_us = (double)h;
		} else if (!l || sscanf(l, "snapshot load: files %llu us, VM create %llu us, devices "
					"%llu us, KVM state %llu us", &a, &b, &c, &d) != 4) {
			return 0;
		}
		o->files_us = (double)a;
		o->create_us = (double)b;
		o->devices_us = (double)c;
		o->state_us = (double)d;
	}
	return 0;
}

/* After the echo: let the guest print its next SNAP line, then read RSS. */
static void restore_rss(struct vm_slot *v, struct size_cfg *s, struct restore_sample *o)
{
	double tot, pss, pssg, t0;
	size_t off = v->p.out.len;

	wait_after(&v->p, off, "SNAP ", 2000);
	/* A second byte, once the restored guest has run a while. */
	off = v->p.out.len;
	t0 = now_us();
	if (proc_send(&v->p, "y", 1) == 0 && wait_after(&v->p, off, "Ey\r\n", 5000))
		o->echo2_lat_ms = (now_us() - t0) / 1e3;
	else
		o->echo2_lat_ms = NAN;
	if (rss_kib(v->p.pid, (uint64_t)s->mib << 20, &tot, &o->rss_ex) < 0 ||
	    pss_kib(v->p.pid, (uint64_t)s->mib << 20, &pss, &pssg, &o->rss_guest) < 0)
		o->rss_ex = o->rss_guest = NAN;
}

static void slot_free(struct vm_slot *v)
{
	qmp_close(&v->q);
	reap(&v->p);
	unlink(v->sock);
}

/* An untimed restore that checks the guest: `V` -> WTEST snap PASS. */
static int verify_restore(bool wisp, struct size_cfg *s)
{
	struct vm_slot v;
	struct restore_sample o;
	int r;

	memset(&v, 0, sizeof(v));
	r = restore_one(wisp, s, 99, &v, &o);
	if (r == -2 && wisp) {
		slot_free(&v);
		fprintf(stderr, "wisp died of SIGSYS in snapshot load: restoring with --no-seccomp\n");
		g_load_noseccomp = true;
		memset(&v, 0, sizeof(v));
		r = restore_one(wisp, s, 99, &v, &o);
	}
	if (r == 0) {
		proc_send(&v.p, "V", 1);
		const char *res;

		if (!proc_wait_for(&v.p, "WTEST snap ", 60000) ||
		    !(res = strstr(v.p.out.data, "WTEST snap ")) ||
		    !wait_after(&v.p, (size_t)(res - v.p.out.data), "\n", 5000) ||
		    !strstr(v.p.out.data, "WTEST snap PASS")) {
			fprintf(stderr, "%s: restored guest failed its check:\n%s\n%s\n",
				wisp ? "wisp" : "qemu", v.p.out.data, v.p.err.data);
			r = -1;
		}
	}
	slot_free(&v);
	return r;
}

/* ---- output ---- */

static void row(const char *name, double w, double q, int dec)
{
	printf("| %-62s | %10s | %10s | %9s |\n", name, fmt_num(w, dec), fmt_num(q, dec),
	       fmt_ratio(w, q));
}

#define MED(arr, field, n)                                                                     \
	({                                                                                     \
		double _v[MAX_VMS > MAX_RUNS ? MAX_VMS : MAX_RUNS];                            \
		for (int _i = 0; _i < (n); _i++)                                                \
			_v[_i] = (arr)[_i].field;                                              \
		median(_v, (n));                                                               \
	})

static double sum(const double *v, int n)
{
	double t = 0;

	for (int i = 0; i < n; i++)
		t += v[i];
	return n ? t : NAN;
}

struct density {
	int k;
	double pss[MAX_VMS], pss_guest[MAX_VMS], pss_ex[MAX_VMS];
};

static int density_run(bool wisp, struct size_cfg *s, int k, struct density *d)
{
	static struct vm_slot v[MAX_VMS];
	struct restore_sample o;
	double rssg;
	int rc = 0, started = 0;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < k && rc == 0; i++) {
		started = i + 1;
		if (restore_one(wisp, s, 200 + i, &v[i], &o) < 0)
			rc = -1;
	}
	if (rc == 0) {
		usleep(300000);
		for (int i = 0; i < k; i++) {
			if (pss_kib(v[i].p.pid, (uint64_t)s->mib << 20, &d->pss[i], &d->pss_guest[i],
				    &rssg) < 0) {
				rc = -1;
				break;
			}
			d->pss_ex[i] = d->pss[i] - d->pss_guest[i];
		}
		d->k = k;
	}
	for (int i = 0; i < started; i++)
		slot_free(&v[i]);
	return rc;
}

/* Where wisp's load spends its time in the kernel: `runs` restores under
 * strace -T (ioctl and mmap only, --seccomp-bpf), medians per run of the
 * time in KVM_CREATE_VM, the guest-RAM mmap, KVM_SET_USER_MEMORY_REGION and
 * KVM_CREATE_VCPU, and of the load log's parts in those same runs. */
struct traced {
	int n;
	double create_vm[MAX_RUNS], mmap_ram[MAX_RUNS], memslot[MAX_RUNS], vcpu[MAX_RUNS];
	double log_create[MAX_RUNS], other[MAX_RUNS], calls[MAX_RUNS];
};

static double strace_secs(const char *line)
{
	const char *lt = strrchr(line, '<');

	return lt && !strstr(lt, "unfinished") ? strtod(lt + 1, NULL) * 1e6 : 0;
}

static int strace_run(struct size_cfg *s, int runs, struct traced *t)
{
	char out[4200], line[4096], ram[64];

	snprintf(out, sizeof(out), "%s/strace.txt", g_dir);
	snprintf(ram, sizeof(ram), "mmap(NULL, %llu,", (unsigned long long)s->mib << 20);
	g_strace_out = out;
	t->n = 0;
	for (int i = 0; i < runs; i++) {
		struct vm_slot v;
		struct restore_sample o;
		FILE *f;
		int r;

		memset(&v, 0, sizeof(v));
		unlink(out);
		r = restore_one(true, s, 300 + i, &v, &o);
		slot_free(&v);
		if (r < 0)
			break;
		f = fopen(out, "r");
		if (!f)
			break;
		t->create_vm[i] = t->mmap_ram[i] = t->memslot[i] = t->vcpu[i] = 0;
		t->other[i] = t->calls[i] = 0;
		/* The load: from opening the state file to KVM_SET_CLOCK (the
		 * last restore ioctl), all on the VMM thread. */
		bool in = false;
		double top_us = 0;
		char top[64] = "";

		while (fgets(line, sizeof(line), f)) {
			if (!in && strstr(line, "openat(") && strstr(line, s->w_state))
				in = true;
			if (!in)
				continue;
			t->calls[i]++;
			if (strstr(line, "KVM_CREATE_VM"))
				t->create_vm[i] += strace_secs(line);
			else if (strstr(line, "KVM_SET_USER_MEMORY_REGION"))
				t->memslot[i] += strace_secs(line);
			else {
				double us = strace_secs(line);

				t->other[i] += us;
				if (us > top_us) {
					top_us = us;
					snprintf(top, sizeof(top), "%.60s", line);
				}
			}
			if (strstr(line, "KVM_CREATE_VCPU"))
				t->vcpu[i] += strace_secs(line);
			else if (strstr(line, ram))
				t->mmap_ram[i] += strace_secs(line);
			if (strstr(line, "KVM_SET_CLOCK"))
				in = false;
		}
		fclose(f);
		t->log_create[i] = o.create_us;
		if (g_verbose)
			fprintf(stderr, "strace %d: KVM_CREATE_VM %.0f us, memslot %.0f us, other %.0f "
				"us in %.0f calls (longest %.0f us: %s); log VM create %.0f us\n", i,
				t->create_vm[i], t->memslot[i], t->other[i], t->calls[i], top_us, top,
				o.create_us);
		t->n++;
	}
	g_strace_out = NULL;
	unlink(out);
	return t->n == runs ? 0 : -1;
}

/* ---- Diff snapshots (--diff) ---- */

#define DIFF_FILL 8          /* wtest.mib of the --diff guest */
#define MAX_REBASES 5
#define MAX_PCTS 4

static const char *g_editor;

struct diff_res {
	unsigned mib, fill, pct;
	unsigned long dpages, area;   /* wtest.dpages; where the guest put them */
	int n, nrb;
	bool noseccomp;
	double base_ms;               /* the base Full, first create after boot */
	double d_ms[MAX_RUNS];        /* 'D' sent -> "SNAP dirtied" read */
	double d2_ms[MAX_RUNS];       /* a second 'D' in the same interval */
	double diff_ms[MAX_RUNS], full_ms[MAX_RUNS], empty_ms[MAX_RUNS];
	double diff_app[MAX_RUNS], diff_alloc[MAX_RUNS], diff_pages[MAX_RUNS];
	double other_pages[MAX_RUNS], empty_pages[MAX_RUNS];
	double state_kib, full_alloc;
	double rebase_ms[MAX_REBASES];
	char cpu[48];                 /* the guest's probe: "emulated (N ns/loop)" */
};

/* The 1-minute load average now. */
static double loadavg(void)
{
	double l = NAN;
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = NAN;
		fclose(f);
	}
	return l;
}

static int set_state(int fd, const char *state)
{
	char body[64], resp[8192];

	snprintf(body, sizeof(body), "{\"state\": \"%s\"}", state);
	if (http_req(fd, "PATCH", "/vm", body, resp, sizeof(resp), 10000) != 204) {
		fprintf(stderr, "wisp: PATCH /vm %s: %s\n", state, resp);
		return -1;
	}
	return 0;
}

/* Timed PUT /snapshot/create of the paused VM (files removed first). 0, -1,
 * or -2 when wisp died of SIGSYS. */
static int diff_create(struct proc *p, int fd, const char *type, const char *state,
		       const char *mem, double *ms)
{
	char body[9000], resp[8192];
	double t0;
	int st;

	unlink(state);
	unlink(mem);
	snprintf(body, sizeof(body),
		 "{\"snapshot_type\": \"%s\", \"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}",
		 type, state, mem);
	t0 = now_us();
	st = http_req(fd, "PUT", "/snapshot/create", body, resp, sizeof(resp), 120000);
	*ms = (now_us() - t0) / 1e3;
	if (st == 204)
		return 0;
	if (died_of_sigsys(p))
		return -2;
	fprintf(stderr, "wisp: %s snapshot create: %d %s\n%s\n", type, st, resp, p->err.data);
	return -1;
}

/* Send 'D', wait for "SNAP dirtied N pages at 0xA gen g" (g = gen). */
static int send_d(struct proc *p, unsigned long gen, unsigned long *n, unsigned long *area,
		  double *ms)
{
	char want[64];
	size_t off = p->out.len;
	const char *l;
	double t0;

	snprintf(want, sizeof(want), " gen %lu\r\n", gen);
	t0 = now_us();
	if (proc_send(p, "D", 1) < 0 || !wait_after(p, off, want, 120000)) {
		fprintf(stderr, "wisp: no 'SNAP dirtied ...%s' after D:\n%s\n%s\n", want,
			p->out.data + off, p->err.data);
		return -1;
	}
	*ms = (now_us() - t0) / 1e3;
	l = strstr(p->out.data + off, "SNAP dirtied ");
	if (!l || sscanf(l, "SNAP dirtied %lu pages at 0x%lx gen", n, area) != 2) {
		fprintf(stderr, "wisp: cannot parse the D line:\n%s\n", p->out.data + off);
		return -1;
	}
	return 0;
}

/* 4 KiB pages holding data (SEEK_DATA/SEEK_HOLE) in a memory file, and how
 * many of them lie outside [lo, hi). */
static int data_pages(const char *path, uint64_t lo, uint64_t hi, double *all, double *outside)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t pos = 0, d, h;
	uint64_t n = 0, out = 0;

	if (fd < 0)
		return -1;
	while ((d = lseek(fd, pos, SEEK_DATA)) >= 0) {
		h = lseek(fd, d, SEEK_HOLE);
		if (h < 0)
			break;
		for (uint64_t pg = (uint64_t)d / 4096; pg < ((uint64_t)h + 4095) / 4096; pg++) {
			n++;
			if (pg * 4096 < lo || pg * 4096 >= hi)
				out++;
		}
		pos = h;
	}
	close(fd);
	*all = (double)n;
	*outside = (double)out;
	return 0;
}

/* The known pages in a memory file hold generation gen: word 0 of page i is
 * gen << 32 | i. */
static int check_known(const char *path, uint64_t area, unsigned long n, unsigned long gen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -1;
	for (unsigned long i = 0; i < n; i++) {
		uint64_t v = 0, want = (uint64_t)gen << 32 | i;

		if (pread(fd, &v, 8, (off_t)(area + i * 4096ull)) != 8 || v != want) {
			fprintf(stderr, "%s: known page %lu (0x%llx) holds 0x%llx, expected 0x%llx\n",
				path, i, (unsigned long long)(area + i * 4096ull),
				(unsigned long long)v, (unsigned long long)want);
			rc = -1;
			break;
		}
	}
	close(fd);
	return rc;
}

/* Copy src to dst keeping holes, then fsync dst (so that the rebase's own
 * fsync only flushes what the rebase wrote). */
static int copy_sparse(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static char buf[1 << 20];
	struct stat st;
	off_t pos = 0, d, h;
	int rc = -1;

	if (in < 0 || out < 0 || fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0)
		goto out;
	while ((d = lseek(in, pos, SEEK_DATA)) >= 0) {
		h = lseek(in, d, SEEK_HOLE);
		if (h < 0)
			goto out;
		for (off_t o = d; o < h;) {
			size_t len = (size_t)(h - o) < sizeof(buf) ? (size_t)(h - o) : sizeof(buf);
			ssize_t r = pread(in, buf, len, o);

			if (r <= 0 || pwrite(out, buf, (size_t)r, o) != r)
				goto out;
			o += r;
		}
		pos = h;
	}
	rc = fsync(out);
out:
	if (rc < 0)
		fprintf(stderr, "cannot copy %s to %s: %s\n", src, dst, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* wisp-snapshot-editor edit-memory rebase --memory-path base --diff-path diff,
 * fork to exit. */
static int rebase_once(const char *base, const char *diff, double *ms)
{
	char *argv[] = { (char *)g_editor, "edit-memory", "rebase", "--memory-path", (char *)base,
			 "--diff-path", (char *)diff, NULL };
	struct proc p;
	double t0 = now_us();
	bool done = proc_run(&p, argv, 120000);

	*ms = (now_us() - t0) / 1e3;
	if (!done || p.status != 0) {
		fprintf(stderr, "%s edit-memory rebase --memory-path %s --diff-path %s: status %d\n%s",
			g_editor, base, diff, p.status, p.err.data);
		proc_free(&p);
		return -1;
	}
	proc_free(&p);
	return 0;
}

/* Does the page at off hold data in fd's file? */
static bool has_data(int fd, uint64_t off)
{
	off_t d = lseek(fd, (off_t)off, SEEK_DATA);

	return d >= 0 && (uint64_t)d < off + 4096;
}

/* rebased == full byte for byte (what cmp(1) checks)? If not: loudly, how
 * many pages differ and the first few, with whether the diff, the previous
 * Full (the rebase's base) and the known pages have them. */
static int compare_mem(const char *rebased, const char *full, const char *diff,
		       const char *prev, const struct diff_res *r)
{
	int fa = open(rebased, O_RDONLY | O_CLOEXEC), fb = open(full, O_RDONLY | O_CLOEXEC);
	int fd = open(diff, O_RDONLY | O_CLOEXEC), fp = open(prev, O_RDONLY | O_CLOEXEC);
	struct stat sa, sb;
	const uint8_t *a = MAP_FAILED, *b = MAP_FAILED;
	uint64_t bad = 0, pages;
	int rc = -1;

	if (fa < 0 || fb < 0 || fd < 0 || fp < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0) {
		fprintf(stderr, "compare: cannot open %s / %s: %s\n", rebased, full, strerror(errno));
		goto out;
	}
	if (sa.st_size != sb.st_size) {
		fprintf(stderr, "DIFF SNAPSHOT CHECK FAILED: %s is %lld bytes, the Full %s %lld\n",
			rebased, (long long)sa.st_size, full, (long long)sb.st_size);
		goto out;
	}
	a = mmap(NULL, (size_t)sa.st_size, PROT_READ, MAP_PRIVATE, fa, 0);
	b = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fb, 0);
	if (a == MAP_FAILED || b == MAP_FAILED) {
		fprintf(stderr, "compare: mmap: %s\n", strerror(errno));
		goto out;
	}
	pages = (uint64_t)sa.st_size / 4096;
	for (uint64_t pg = 0; pg < pages; pg++) {
		const uint64_t *wa = (const uint64_t *)(a + pg * 4096);
		const uint64_t *wb = (const uint64_t *)(b + pg * 4096);
		uint64_t off = pg * 4096;
		int w = 0;

		if (!memcmp(wa, wb, 4096))
			continue;
		if (bad++ >= 8)
			continue;
		while (w < 511 && wa[w] == wb[w])
			w++;
		fprintf(stderr, "  page 0x%llx%s: word %d rebased 0x%016llx, Full 0x%016llx; in the "
			"diff: %s, in the previous Full: %s\n", (unsigned long long)off,
			off >= r->area && off < r->area + r->dpages * 4096 ? " (a known page)" : "", w,
			(unsigned long long)wa[w], (unsigned long long)wb[w],
			has_data(fd, off) ? "yes" : "no", has_data(fp, off) ? "yes" : "no");
	}
	if (bad) {
		fprintf(stderr, "DIFF SNAPSHOT CHECK FAILED (%u MiB, %lu pages dirtied): the previous "
			"Full %s + the Diff %s rebased differs from the Full taken right after that "
			"Diff (%s) in %llu of %llu pages (first ones above)\n", r->mib, r->dpages, prev,
			diff, full, (unsigned long long)bad, (unsigned long long)pages);
		goto out;
	}
	rc = 0;
out:
	if (a != MAP_FAILED)
		munmap((void *)a, (size_t)sa.st_size);
	if (b != MAP_FAILED)
		munmap((void *)b, (size_t)sb.st_size);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	if (fd >= 0)
		close(fd);
	if (fp >= 0)
		close(fp);
	return rc;
}

/*
 * One VM with track_dirty_pages: SNAP 2, pause, the base Full, resume; then
 * `runs` times: D (and D again, timed apart), pause, Diff (timed; its file
 * checked), a Full (timed), an empty Diff (timed), and for the last nrebase
 * rounds a rebase of the Diff onto a copy of the previous Full (timed; the
 * last one compared with this round's Full), resume. 0, -1, -2 on SIGSYS.
 */
static int diff_run(struct diff_res *r, int runs, int nrebase, const char *secflag)
{
	char sock[4200], cfgname[64], *doc, *cfg;
	char base[4200], full[2][4200], dmem[4200], emem[4200], copy[4200];
	char dst[4200], fst[4200], est[4200];
	char *argv[] = { (char *)g_wisp, "--api-sock", sock, "--config-file", NULL,
			 (char *)secflag, NULL };
	const char *prev = base;
	unsigned long gen = 0, n = 0, area = 0;
	struct proc p;
	double dummy;
	int fd = -1, ret = -1, c;

	snprintf(sock, sizeof(sock), "%s/wd.sock", g_dir);
	snprintf(base, sizeof(base), "%s/base.mem", g_dir);
	snprintf(full[0], sizeof(full[0]), "%s/full0.mem", g_dir);
	snprintf(full[1], sizeof(full[1]), "%s/full1.mem", g_dir);
	snprintf(dmem, sizeof(dmem), "%s/diff.mem", g_dir);
	snprintf(emem, sizeof(emem), "%s/empty.mem", g_dir);
	snprintf(copy, sizeof(copy), "%s/rebased.mem", g_dir);
	snprintf(dst, sizeof(dst), "%s/diff.state", g_dir);
	snprintf(fst, sizeof(fst), "%s/full.state", g_dir);
	snprintf(est, sizeof(est), "%s/empty.state", g_dir);
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		     "\"wtest=snap wtest.mib=%u wtest.dpages=%lu\"}, \"machine-config\": "
		     "{\"vcpu_count\": 1, \"mem_size_mib\": %u, \"track_dirty_pages\": true}}",
		     g_guest, r->fill, r->dpages, r->mib) < 0)
		abort();
	snprintf(cfgname, sizeof(cfgname), "diff%u_%u.json", r->mib, r->pct);
	cfg = write_tmp_file(cfgname, doc);
	free(doc);
	argv[4] = cfg;
	unlink(sock);
	if (spawn(&p, argv) < 0) {
		free(cfg);
		return -1;
	}
	if (!wait_after(&p, 0, "SNAP 2\r\n", 120000)) {
		fprintf(stderr, "wisp: the guest did not reach SNAP 2:\n%s\n%s\n", p.out.data,
			p.err.data);
		goto out;
	}
	{
		const char *l = strstr(p.out.data, "snap: emulated CPU (");
		unsigned long ns;

		if (!l)
			l = strstr(p.out.data, "snap: native CPU (");
		if (l && sscanf(strchr(l, '(') + 1, "%lu", &ns) == 1)
			snprintf(r->cpu, sizeof(r->cpu), "%s, %lu ns/loop",
				 l[6] == 'e' ? "emulated" : "native", ns);
		else
			snprintf(r->cpu, sizeof(r->cpu), "?");
	}
	fd = connect_retry(&p, sock, 5000);
	if (fd < 0 || set_state(fd, "Paused") < 0)
		goto out;
	if ((c = diff_create(&p, fd, "Full", fst, base, &r->base_ms)) < 0) {
		ret = c;
		goto out;
	}
	for (int i = 0; i < runs; i++) {
		const char *fmem = full[i % 2];

		if (set_state(fd, "Resumed") < 0 || send_d(&p, ++gen, &n, &area, &r->d_ms[i]) < 0 ||
		    send_d(&p, ++gen, &n, &area, &r->d2_ms[i]) < 0 || set_state(fd, "Paused") < 0)
			goto out;
		if (n != r->dpages) {
			fprintf(stderr, "the guest dirtied %lu pages, asked for %lu\n", n, r->dpages);
			goto out;
		}
		r->area = area;
		if ((c = diff_create(&p, fd, "Diff", dst, dmem, &r->diff_ms[i])) < 0) {
			ret = c;
			goto out;
		}
		file_sizes(dmem, &r->diff_app[i], &r->diff_alloc[i]);
		if (data_pages(dmem, area, area + n * 4096ull, &r->diff_pages[i],
			       &r->other_pages[i]) < 0 || check_known(dmem, area, n, gen) < 0)
			goto out;
		if (r->diff_pages[i] - r->other_pages[i] != (double)n) {
			fprintf(stderr, "DIFF SNAPSHOT CHECK FAILED: %s has %.0f of the %lu known pages "
				"as data\n", dmem, r->diff_pages[i] - r->other_pages[i], n);
			goto out;
		}
		/* A Full at the same moment; it also starts the next interval. */
		if ((c = diff_create(&p, fd, "Full", fst, fmem, &r->full_ms[i])) < 0 ||
		    (c = diff_create(&p, fd, "Diff", est, emem, &r->empty_ms[i])) < 0) {
			ret = c;
			goto out;
		}
		if (data_pages(emem, 0, 0, &r->empty_pages[i], &dummy) < 0)
			goto out;
		if (i >= runs - nrebase) {
			if (copy_sparse(prev, copy) < 0 || rebase_once(copy, dmem, &r->rebase_ms[r->nrb]) < 0)
				goto out;
			r->nrb++;
			if (i == runs - 1 && compare_mem(copy, fmem, dmem, prev, r) < 0)
				goto out;
			unlink(copy);
		}
		if (g_verbose)
			fprintf(stderr, "diff %u MiB %u%% #%d: D %.1f / %.1f ms, Diff %.1f ms (%.0f pages, "
				"%.0f other), Full %.1f ms, empty Diff %.1f ms\n", r->mib, r->pct, i,
				r->d_ms[i], r->d2_ms[i], r->diff_ms[i], r->diff_pages[i],
				r->other_pages[i], r->full_ms[i], r->empty_ms[i]);
		if (i == runs - 1) {
			double app;

			file_sizes(fst, &r->state_kib, &app);
			file_sizes(fmem, &app, &r->full_alloc);
		}
		prev = fmem;
		r->n = i + 1;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	reap(&p);
	unlink(cfg);
	free(cfg);
	unlink(base);
	unlink(full[0]);
	unlink(full[1]);
	unlink(dmem);
	unlink(emem);
	unlink(copy);
	unlink(dst);
	unlink(fst);
	unlink(est);
	return ret;
}

/* "12.3 (11.0-15.2)": median and range of n samples. */
static const char *fmt_mm(const double *v, int n, int dec)
{
	static char buf[8][64];
	static int k;
	char *b = buf[k++ % 8];
	double lo = INFINITY, hi = -INFINITY;

	if (n <= 0)
		return "n/a";
	for (int i = 0; i < n; i++) {
		lo = v[i] < lo ? v[i] : lo;
		hi = v[i] > hi ? v[i] : hi;
	}
	if (n == 1 || lo == hi)
		snprintf(b, 64, "%.*f", dec, median(v, n));
	else
		snprintf(b, 64, "%.*f (%.*f-%.*f)", dec, median(v, n), dec, lo, dec, hi);
	return b;
}

static void diff_row(const char *name, int nr, const char **cells)
{
	printf("| %-58s |", name);
	for (int i = 0; i < nr; i++)
		printf(" %22s |", cells[i]);
	printf("\n");
}

static void diff_table(struct diff_res *r, int nr, double load0, double load1)
{
	const char *c[MAX_SIZES * MAX_PCTS];
	char hdr[MAX_SIZES * MAX_PCTS][48];

	printf("\nDiff snapshots: test guest 'snap' (wtest.mib=%u, wtest.dpages = the share of RAM "
	       "below), 1 vCPU, track_dirty_pages; medians (min-max)%s; load average %.2f at the "
	       "start, %.2f at the end\n", r[0].fill,
	       g_create_noseccomp ? "; wisp with --no-seccomp" : "", load0, load1);
	printf("| %-58s |", "metric");
	for (int i = 0; i < nr; i++) {
		if (r[i].mib % 1024 == 0)
			snprintf(hdr[i], sizeof(hdr[i]), "%u GiB, %u %%", r[i].mib / 1024, r[i].pct);
		else
			snprintf(hdr[i], sizeof(hdr[i]), "%u MiB, %u %%", r[i].mib, r[i].pct);
		printf(" %22s |", hdr[i]);
	}
	printf("\n|---|");
	for (int i = 0; i < nr; i++)
		printf("---:|");
	printf("\n");
#define CELLS(expr)                                                                            \
	do {                                                                                   \
		for (int i = 0; i < nr; i++) {                                                 \
			struct diff_res *x = &r[i];                                            \
			(void)x;                                                               \
			c[i] = (expr);                                                         \
		}                                                                              \
	} while (0)
	CELLS(fmt_num((double)x->dpages, 0));
	diff_row("pages dirtied per round (wtest.dpages)", nr, c);
	CELLS(fmt_num((double)x->n, 0));
	diff_row("rounds (Diffs taken in one VM)", nr, c);
	CELLS(fmt_mm(x->diff_ms, x->n, 1));
	diff_row("Diff create: PUT /snapshot/create round trip (ms)", nr, c);
	CELLS(fmt_mm(x->full_ms, x->n, 1));
	diff_row("Full create at the same moment (ms)", nr, c);
	CELLS(fmt_mm(x->empty_ms, x->n, 1));
	diff_row("empty Diff right after that Full (ms)", nr, c);
	CELLS(fmt_num((median(x->diff_ms, x->n) - median(x->empty_ms, x->n)) * 1e3 /
		      (double)x->dpages, 2));
	diff_row("(Diff - empty Diff) per dirtied page (us)", nr, c);
	CELLS(fmt_num(x->base_ms, 1));
	diff_row("base Full, first create after boot (ms)", nr, c);
	CELLS(fmt_mm(x->diff_pages, x->n, 0));
	diff_row("Diff memory file: pages with data (SEEK_DATA)", nr, c);
	CELLS(fmt_mm(x->other_pages, x->n, 0));
	diff_row("  of which not the guest's dirtied pages", nr, c);
	CELLS(fmt_mm(x->empty_pages, x->n, 0));
	diff_row("empty Diff: pages with data", nr, c);
	CELLS(fmt_mm(x->diff_alloc, x->n, 0));
	diff_row("Diff memory file, allocated (KiB)", nr, c);
	CELLS(fmt_mm(x->diff_app, x->n, 0));
	diff_row("Diff memory file, apparent size (KiB)", nr, c);
	CELLS(fmt_num(x->state_kib, 1));
	diff_row("state file (KiB)", nr, c);
	CELLS(fmt_num(x->full_alloc, 0));
	diff_row("Full memory file at the last round, allocated (KiB)", nr, c);
	CELLS(fmt_mm(x->rebase_ms, x->nrb, 1));
	diff_row("rebase one Diff onto a copy of its base (ms, editor run)", nr, c);
	CELLS(fmt_num((double)x->nrb, 0));
	diff_row("  rebases timed", nr, c);
	CELLS("equal");
	diff_row("base + last Diff rebased vs the Full taken right after", nr, c);
	CELLS(fmt_mm(x->d_ms, x->n, 1));
	diff_row("guest 'D': byte sent -> SNAP dirtied read (ms)", nr, c);
	CELLS(fmt_mm(x->d2_ms, x->n, 1));
	diff_row("a second 'D' in the same interval (ms)", nr, c);
	CELLS(x->cpu);
	diff_row("guest CPU (the snap guest's own loop probe)", nr, c);
	CELLS("n/a");
	diff_row("QEMU: no diff snapshot (migrate writes all RAM)", nr, c);
#undef CELLS
	fflush(stdout);
}

/* ---- Clones (--clones) ---- */

#define MAX_RATE 512         /* restores per worker in the rate measurement */
#define MAX_M 4              /* M values: 1, 2, 4, 8 */

static const int g_rate_m[MAX_M] = { 1, 2, 4, 8 };

/* MemAvailable in KiB, NaN if unreadable. */
static double mem_available_kib(void)
{
	char line[256];
	unsigned long long kb;
	double v = NAN;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return NAN;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			v = (double)kb;
	fclose(f);
	return v;
}

/* CPU time (s) all of the host's CPUs spent busy (/proc/stat: all but idle
 * and iowait), whoever used it. */
static double host_busy_s(void)
{
	unsigned long long v[10] = { 0 };
	double busy = NAN;
	FILE *f = fopen("/proc/stat", "r");

	if (!f)
		return NAN;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) == 8)
		busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
		       (double)sysconf(_SC_CLK_TCK);
	fclose(f);
	return busy;
}

static double tv_s(const struct timeval *t)
{
	return (double)t->tv_sec + (double)t->tv_usec / 1e6;
}

struct clone_pss {
	int k;
	double pss[MAX_CLONES], pss_guest[MAX_CLONES], pss_ex[MAX_CLONES];
	double avail_before, avail_after;   /* MemAvailable, KiB */
	double all_ms;                      /* the k restores, one after another */
};

/* k clones of one snapshot (File backend), each its own wisp, restored one
 * after another and all left running; 300 ms after the last echoed, Pss of
 * each and MemAvailable. */
static int clones_pss(struct size_cfg *s, int k, struct clone_pss *c)
{
	static struct vm_slot v[MAX_CLONES];
	struct restore_sample o;
	double rssg, t0;
	int rc = 0, started = 0;

	memset(v, 0, sizeof(v));
	memset(c, 0, sizeof(*c));
	c->avail_before = mem_available_kib();
	t0 = now_us();
	for (int i = 0; i < k && rc == 0; i++) {
		started = i + 1;
		if (restore_one(true, s, 400 + i, &v[i], &o) < 0)
			rc = -1;
	}
	c->all_ms = (now_us() - t0) / 1e3;
	if (rc == 0) {
		usleep(300000);
		for (int i = 0; i < k; i++) {
			if (pss_kib(v[i].p.pid, (uint64_t)s->mib << 20, &c->pss[i], &c->pss_guest[i],
				    &rssg) < 0) {
				fprintf(stderr, "clone %d: no smaps\n", i);
				rc = -1;
				break;
			}
			c->pss_ex[i] = c->pss[i] - c->pss_guest[i];
		}
		c->avail_after = mem_available_kib();
		c->k = k;
	}
	for (int i = 0; i < started; i++)
		slot_free(&v[i]);
	return rc;
}

struct rate_msg {
	int n, fails;
	double child_cpu_s, self_cpu_s;
	double echo_ms[MAX_RATE];
};

struct rate_res {
	int m, n, fails;
	double wall_s, child_cpu_s, self_cpu_s, host_busy_s;
	double echo_ms[MAX_RATE * 8];
};

/* One worker: `count` restores one after another (spawn wisp, load with
 * resume_vm true, first echo, SIGKILL, reaped), then its report on fd. */
static void rate_worker(struct size_cfg *s, int w, int count, int fd)
{
	static struct rate_msg msg;
	struct rusage ch, self;

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	memset(g_kids, 0, sizeof(g_kids));
	memset(&msg, 0, sizeof(msg));
	for (int i = 0; i < count && msg.fails < 3; i++) {
		struct vm_slot v;
		struct restore_sample o;

		memset(&v, 0, sizeof(v));
		if (restore_one(true, s, 600 + w, &v, &o) < 0)
			msg.fails++;
		else
			msg.echo_ms[msg.n++] = o.echo_ms;
		slot_free(&v);
	}
	getrusage(RUSAGE_CHILDREN, &ch);
	getrusage(RUSAGE_SELF, &self);
	msg.child_cpu_s = tv_s(&ch.ru_utime) + tv_s(&ch.ru_stime);
	msg.self_cpu_s = tv_s(&self.ru_utime) + tv_s(&self.ru_stime);
	if (write(fd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		_exit(1);
	_exit(0);
}

/* `total` restores with m of them in flight (m workers, each restoring one
 * after another). */
static int rate_run(struct size_cfg *s, int m, int total, struct rate_res *r)
{
	static struct rate_msg msg;
	pid_t pids[8];
	int fds[8], rc = 0;
	double t0, b0;

	memset(r, 0, sizeof(*r));
	r->m = m;
	b0 = host_busy_s();
	t0 = now_us();
	for (int w = 0; w < m; w++) {
		int pfd[2], cnt = total / m + (w < total % m);

		if (pipe2(pfd, O_CLOEXEC) < 0)
			return -1;
		pids[w] = fork();
		if (pids[w] < 0)
			return -1;
		if (pids[w] == 0) {
			close(pfd[0]);
			rate_worker(s, w, cnt > MAX_RATE ? MAX_RATE : cnt, pfd[1]);
		}
		close(pfd[1]);
		fds[w] = pfd[0];
		track(pids[w], true);
	}
	for (int w = 0; w < m; w++) {
		size_t got = 0;

		while (got < sizeof(msg)) {
			ssize_t n = read(fds[w], (char *)&msg + got, sizeof(msg) - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(fds[w]);
		waitpid(pids[w], NULL, 0);
		track(pids[w], false);
		if (got < sizeof(msg)) {
			fprintf(stderr, "rate worker %d: no report\n", w);
			rc = -1;
			continue;
		}
		for (int i = 0; i < msg.n; i++)
			r->echo_ms[r->n + i] = msg.echo_ms[i];
		r->n += msg.n;
		r->fails += msg.fails;
		r->child_cpu_s += msg.child_cpu_s;
		r->self_cpu_s += msg.self_cpu_s;
	}
	r->wall_s = (now_us() - t0) / 1e6;
	r->host_busy_s = host_busy_s() - b0;
	return r->fails ? -1 : rc;
}

#define UF_MODES 3   /* File, Uffd page by page, Uffd --batch-2m */

struct uffd_res {
	int n;
	double load_ms[MAX_RUNS], echo_ms[MAX_RUNS], vmm_cpu_ms[MAX_RUNS];
	double faults[MAX_RUNS], copied_kib[MAX_RUNS], zero_kib[MAX_RUNS];
	double h_cpu_ms[MAX_RUNS], h_span_ms[MAX_RUNS], h_us_per_fault[MAX_RUNS];
	double v_ms[MAX_RUNS];   /* with V: byte -> WTEST snap PASS */
};

static const char *g_handler;

/* One restore in mode (0 File, 1 Uffd, 2 Uffd --batch-2m) up to the first
 * echo; then wisp is killed and the handler, seeing the VMM gone, prints
 * what it served and exits (its own CPU time from wait4). */
static int uffd_one(struct size_cfg *s, int mode, int i, bool check, struct uffd_res *u)
{
	char hsock[4200];
	char *hargv[] = { (char *)g_handler, mode == 2 ? "--batch-2m" : hsock,
			  mode == 2 ? hsock : s->w_mem, mode == 2 ? s->w_mem : NULL, NULL };
	struct proc h = { .pid = 0 };
	struct vm_slot v;
	struct restore_sample o;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	u->faults[i] = u->copied_kib[i] = u->zero_kib[i] = NAN;
	u->h_cpu_ms[i] = u->h_span_ms[i] = u->h_us_per_fault[i] = NAN;
	if (mode > 0) {
		snprintf(hsock, sizeof(hsock), "%s/uffd.sock", g_dir);
		unlink(hsock);
		if (spawn(&h, hargv) < 0)
			return -1;
		if (!proc_wait_for(&h, "listening on", 10000)) {
			fprintf(stderr, "uffd handler did not start:\n%s\n", h.err.data);
			reap(&h);
			return -1;
		}
		g_uffd_sock = hsock;
	}
	rc = restore_one(true, s, 700, &v, &o);
	g_uffd_sock = NULL;
	if (rc == 0 && check) {
		/* The guest reads back its whole pattern (wtest.mib MiB). */
		size_t off = v.p.out.len;
		double t0 = now_us();
		const char *res;

		proc_send(&v.p, "V", 1);
		if (!wait_after(&v.p, off, "WTEST snap ", 60000) ||
		    !(res = strstr(v.p.out.data + off, "WTEST snap ")) ||
		    !wait_after(&v.p, (size_t)(res - v.p.out.data), "\n", 5000) ||
		    strncmp(res, "WTEST snap PASS", 15)) {
			fprintf(stderr, "restored guest failed its check:\n%s\n", v.p.out.data);
			rc = -1;
		}
		u->v_ms[i] = (now_us() - t0) / 1e3;
	}
	slot_free(&v);
	if (rc < 0) {
		if (h.pid)
			fprintf(stderr, "handler: %s\n", h.err.data);
		reap(&h);
		return -1;
	}
	u->load_ms[i] = o.load_ms;
	u->echo_ms[i] = o.echo_ms;
	u->vmm_cpu_ms[i] = o.cpu_ms;
	if (mode > 0) {
		const char *l;
		unsigned long long f, c, z;
		double span;

		if (!proc_finish(&h, 10000))
			fprintf(stderr, "uffd handler did not exit by itself\n");
		l = strstr(h.err.data, "served ");
		if (l && sscanf(l, "served %llu fault(s) (%llu KiB copied, %llu KiB zero pages)",
				&f, &c, &z) == 3) {
			u->faults[i] = (double)f;
			u->copied_kib[i] = (double)c;
			u->zero_kib[i] = (double)z;
		}
		l = strstr(h.err.data, "faults over ");
		if (l && sscanf(l, "faults over %lf s", &span) == 1)
			u->h_span_ms[i] = span * 1e3;
		u->h_cpu_ms[i] = (tv_s(&h.ru.ru_utime) + tv_s(&h.ru.ru_stime)) * 1e3;
		u->h_us_per_fault[i] = u->h_cpu_ms[i] * 1e3 / u->faults[i];
		if (g_verbose)
			fprintf(stderr, "%s", h.err.data);
		track(h.pid, false);
		proc_free(&h);
	}
	return 0;
}

static void hdr_row(const char *title, int n, char (*h)[48])
{
	printf("| %-58s |", title);
	for (int i = 0; i < n; i++)
		printf(" %22s |", h[i]);
	printf("\n|---|");
	for (int i = 0; i < n; i++)
		printf("---:|");
	printf("\n");
}

static int clones_main(struct size_cfg *s, int runs, int nrate, const int *ks, int nk)
{
	static struct clone_pss cp[2];
	static struct rate_res rr[MAX_M];
	static struct uffd_res ur[UF_MODES * 2];   /* echo only; then with V */
	char hdr[8][48];
	const char *c[8];
	double load0 = loadavg(), ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
	char *doc;

	snprintf(s->append, sizeof(s->append), "wtest=snap wtest.mib=%u", s->fill);
	snprintf(s->w_state, sizeof(s->w_state), "%s/w%u.state", g_dir, s->mib);
	snprintf(s->w_mem, sizeof(s->w_mem), "%s/w%u.mem", g_dir, s->mib);
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		     "\"%s\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %u}}",
		     g_guest, s->append, s->mib) < 0)
		abort();
	char *cfgpath = write_tmp_file("clones.json", doc);
	snprintf(s->cfg, sizeof(s->cfg), "%s", cfgpath);
	free(cfgpath);
	free(doc);
	{
		static struct create_res wc;
		int r;

		fprintf(stderr, "[clones] creating the %u MiB snapshot...\n", s->mib);
		r = wisp_create(s, 1, NULL, &wc);
		if (r == -2) {
			g_create_noseccomp = true;
			r = wisp_create(s, 1, "--no-seccomp", &wc);
		}
		if (r < 0 || verify_restore(true, s) < 0)
			return -1;
	}
	for (int i = 0; i < nk; i++) {
		fprintf(stderr, "[clones] %d clones at once...\n", ks[i]);
		if (clones_pss(s, ks[i], &cp[i]) < 0)
			return -1;
	}
	for (int i = 0; i < MAX_M; i++) {
		fprintf(stderr, "[clones] %d restores, %d in flight...\n", nrate, g_rate_m[i]);
		if (rate_run(s, g_rate_m[i], nrate, &rr[i]) < 0)
			return -1;
	}
	fprintf(stderr, "[clones] File vs Uffd vs Uffd --batch-2m, %d each, interleaved...\n", runs);
	for (int i = 0; i < runs; i++)
		for (int m = 0; m < UF_MODES * 2; m++) {
			if (uffd_one(s, m % UF_MODES, i, m >= UF_MODES, &ur[m]) < 0) {
				fprintf(stderr, "uffd comparison FAILED (mode %d, run %d)\n", m, i);
				return -1;
			}
			ur[m].n = i + 1;
		}
	double load1 = loadavg();

	printf("\nClones of one snapshot: test guest 'snap' (wtest.mib=%u), 1 vCPU, %u MiB RAM, File "
	       "backend, each clone its own wisp%s; medians (min-max); %d online CPUs; load "
	       "average %.2f at the start, %.2f at the end\n", s->fill, s->mib,
	       g_load_noseccomp ? " (--no-seccomp)" : "", (int)ncpu, load0, load1);
	for (int i = 0; i < nk; i++)
		snprintf(hdr[i], sizeof(hdr[i]), "%d clones", cp[i].k);
	hdr_row("clones running at once", nk, hdr);
#define CELLS(n, expr)                                                                         \
	do {                                                                                   \
		for (int i = 0; i < (n); i++) {                                                \
			c[i] = (expr);                                                         \
		}                                                                              \
	} while (0)
	CELLS(nk, fmt_mm(cp[i].pss, cp[i].k, 0));
	diff_row("Pss per clone (KiB)", nk, c);
	CELLS(nk, fmt_mm(cp[i].pss_guest, cp[i].k, 0));
	diff_row("  of which guest RAM mapping (KiB)", nk, c);
	CELLS(nk, fmt_mm(cp[i].pss_ex, cp[i].k, 0));
	diff_row("  of which the rest: VMM, its heap and stacks (KiB)", nk, c);
	CELLS(nk, fmt_num(sum(cp[i].pss, cp[i].k) / 1024, 1));
	diff_row("Pss summed over the clones (MiB)", nk, c);
	CELLS(nk, fmt_num((cp[i].avail_before - cp[i].avail_after) / 1024, 1));
	diff_row("MemAvailable drop, before the first to all running (MiB)", nk, c);
	CELLS(nk, fmt_num((cp[i].avail_before - cp[i].avail_after) / cp[i].k, 0));
	diff_row("  per clone (KiB)", nk, c);
	CELLS(nk, fmt_num(cp[i].all_ms / cp[i].k, 1));
	diff_row("restoring them one after another: ms per clone", nk, c);

	printf("\nRestores per second: %d restores, M in flight (M workers, each: fork/exec wisp, "
	       "PUT /snapshot/load resume_vm true, byte -> first echo, SIGKILL, reaped); CPU from "
	       "getrusage\n", nrate);
	for (int i = 0; i < MAX_M; i++)
		snprintf(hdr[i], sizeof(hdr[i]), "M = %d", rr[i].m);
	hdr_row("restores in flight", MAX_M, hdr);
	CELLS(MAX_M, fmt_num(rr[i].n, 0));
	diff_row("restores completed", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].wall_s, 2));
	diff_row("wall time (s)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].n / rr[i].wall_s, 1));
	diff_row("restores/s (wall)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].n / rr[i].wall_s / ncpu, 1));
	diff_row("restores/s / online CPUs", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].child_cpu_s * 1e3 / rr[i].n, 1));
	diff_row("wisp CPU per restore, user+sys, wait4 (ms)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].n / rr[i].child_cpu_s, 1));
	diff_row("restores per CPU-second of wisp (per core)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].self_cpu_s * 1e3 / rr[i].n, 1));
	diff_row("bench harness CPU per restore (ms)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].n / (rr[i].child_cpu_s + rr[i].self_cpu_s), 1));
	diff_row("restores per CPU-second, wisp + harness", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].host_busy_s * 1e3 / rr[i].n, 1));
	diff_row("host busy CPU per restore, all processes (ms)", MAX_M, c);
	CELLS(MAX_M, fmt_num(rr[i].n / rr[i].host_busy_s, 1));
	diff_row("restores per busy host CPU-second", MAX_M, c);
	CELLS(MAX_M, fmt_mm(rr[i].echo_ms, rr[i].n, 1));
	diff_row("start -> first echo (ms)", MAX_M, c);

	printf("\nUffd vs File: %d restores each, interleaved; start -> first echo, then wisp "
	       "killed; the handler's counts from its exit line, its CPU from wait4\n", runs);
	snprintf(hdr[0], sizeof(hdr[0]), "File");
	snprintf(hdr[1], sizeof(hdr[1]), "Uffd, page by page");
	snprintf(hdr[2], sizeof(hdr[2]), "Uffd, --batch-2m");
	hdr_row("backend", UF_MODES, hdr);
	CELLS(UF_MODES, fmt_mm(ur[i].load_ms, ur[i].n, 2));
	diff_row("load: PUT /snapshot/load (ms)", UF_MODES, c);
	CELLS(UF_MODES, fmt_mm(ur[i].echo_ms, ur[i].n, 2));
	diff_row("start -> first echo (ms)", UF_MODES, c);
	CELLS(UF_MODES, fmt_mm(ur[i].vmm_cpu_ms, ur[i].n, 2));
	diff_row("wisp CPU, all threads, start -> echo (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].faults, ur[i].n, 0) : "(minor faults)");
	diff_row("faults served by the handler", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].copied_kib, ur[i].n, 0) : "n/a");
	diff_row("  KiB copied (UFFDIO_COPY)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].zero_kib, ur[i].n, 0) : "n/a");
	diff_row("  KiB zero pages (UFFDIO_ZEROPAGE)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].h_cpu_ms, ur[i].n, 2) : "n/a");
	diff_row("handler CPU, user+sys, whole life (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].h_us_per_fault, ur[i].n, 1) : "n/a");
	diff_row("  / faults served (us; fixed start-up cost included)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(ur[i].h_span_ms, ur[i].n, 1) : "n/a");
	diff_row("first to last fault served (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_num((median(ur[i].echo_ms, ur[i].n) -
				     median(ur[0].echo_ms, ur[0].n)) * 1e3 /
				    median(ur[i].faults, ur[i].n), 1) : "n/a");
	diff_row("(echo - File's echo) per fault, medians (us)", UF_MODES, c);
	/* The same again, with V sent after the echo (the guest reads its
	 * whole pattern): many more faults, so the handler's fixed cost (exec,
	 * mapping and scanning the memory file, the handshake) drops out of
	 * the difference. */
	struct uffd_res *uv = &ur[UF_MODES];

	CELLS(UF_MODES, fmt_mm(uv[i].v_ms, uv[i].n, 1));
	diff_row("with V: byte -> WTEST snap PASS (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(uv[i].faults, uv[i].n, 0) : "(minor faults)");
	diff_row("with V: faults served, echo and V", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(uv[i].h_cpu_ms, uv[i].n, 1) : "n/a");
	diff_row("with V: handler CPU, whole life (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_mm(uv[i].h_span_ms, uv[i].n, 1) : "n/a");
	diff_row("with V: first to last fault served (ms)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_num((median(uv[i].h_cpu_ms, uv[i].n) -
				     median(ur[i].h_cpu_ms, ur[i].n)) * 1e3 /
				    (median(uv[i].faults, uv[i].n) - median(ur[i].faults, ur[i].n)), 2)
			  : "n/a");
	diff_row("handler CPU per extra fault, (V - echo only) medians (us)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_num((median(uv[i].v_ms, uv[i].n) - median(uv[0].v_ms, uv[0].n)) *
				    1e3 / (median(uv[i].faults, uv[i].n) -
					   median(ur[i].faults, ur[i].n)), 1)
			  : "n/a");
	diff_row("(V->PASS - File's) per extra fault, medians (us)", UF_MODES, c);
	CELLS(UF_MODES, i ? fmt_num((median(uv[i].h_cpu_ms, uv[i].n) -
				     median(ur[i].h_cpu_ms, ur[i].n)) * 1e3 * 4 /
				    (median(uv[i].copied_kib, uv[i].n) + median(uv[i].zero_kib, uv[i].n) -
				     median(ur[i].copied_kib, ur[i].n) - median(ur[i].zero_kib, ur[i].n)),
				    2)
			  : "n/a");
	diff_row("handler CPU per extra 4 KiB page placed, medians (us)", UF_MODES, c);
#undef CELLS
	fflush(stdout);
	unlink(s->w_state);
	unlink(s->w_mem);
	return 0;
}

static void usage(const char *me)
{
	fprintf(stderr,
		"usage: %s [-n RUNS] [-k VMS] [-b BUILD_DIR] [-s MIB:FILL[,MIB:FILL...]] [--quick] "
		"[--no-qemu] [--strace] [-v] [-h|--help]\n"
		"       %s --diff [-n RUNS] [-b BUILD_DIR] [-s MIB:FILL[,...]] [--diff-pct P[,P...]] "
		"[--quick] [-v]\n"
		"       %s --clones [-n RUNS] [-b BUILD_DIR] [-s MIB:FILL] [--quick] [-v]\n"
		"  defaults: -n 20 -k 10 -s 128:16,1024:64; --quick: -n 3 -k 3\n"
		"  --diff: only the Diff snapshot measurement (track_dirty_pages; wisp alone, QEMU\n"
		"          has no equivalent): -n 20 -s 128:8,1024:8 --diff-pct 1,10, each\n"
		"          percentage of RAM dirtied (4 KiB pages) per round; --quick: -n 3\n"
		"  --clones: 10 and 50 clones at once (Pss), 100 restores with 1, 2, 4, 8 in\n"
		"          flight (restores/s, CPU), File vs Uffd vs Uffd --batch-2m (-n each);\n"
		"          -s 128:16 (first entry used); --quick: 3 and 6 clones, 20 restores, -n 3\n",
		me, me, me);
}

int main(int argc, char **argv)
{
	int runs = 20, k = 10, c, nsizes = 0, npcts = 0;
	bool diff = false, clones = false;
	const char *pcts = "1,10";
	unsigned pct[MAX_PCTS];
	char editor[4096];
	bool qemu = access(QEMU_BIN, X_OK) == 0, quick = false;
	bool use_strace = false;
	const char *build = getenv("WISP_BUILD_DIR") ? getenv("WISP_BUILD_DIR") : "build";
	const char *sizes = NULL;
	static struct size_cfg sz[MAX_SIZES];
	char guest[4096], wisp[4096];
	static const struct option opts[] = {
		{ "no-qemu", no_argument, NULL, 'Q' },
		{ "quick", no_argument, NULL, 'q' },
		{ "strace", no_argument, NULL, 'T' },
		{ "diff", no_argument, NULL, 'D' },
		{ "clones", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "diff-pct", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "n:k:b:s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'n': runs = atoi(optarg); break;
		case 'k': k = atoi(optarg); break;
		case 'b': build = optarg; break;
		case 's': sizes = optarg; break;
		case 'v': g_verbose = true; break;
		case 'Q': qemu = false; break;
		case 'q': quick = true; break;
		case 'T': use_strace = true; break;
		case 'D': diff = true; break;
		case 'C': clones = true; break;
		case 'h': usage(argv[0]); return 0;
		case 'P': pcts = optarg; break;
		default: usage(argv[0]); return 2;
		}
	}
	if (use_strace && access(STRACE_BIN, X_OK) < 0) {
		fprintf(stderr, "--strace needs %s\n", STRACE_BIN);
		return 2;
	}
	if (quick) {
		runs = 3;
		k = 3;
	}
	if (runs < 1 || runs > MAX_RUNS || k < 0 || k > MAX_VMS) {
		fprintf(stderr, "-n must be 1..%d, -k 0..%d\n", MAX_RUNS, MAX_VMS);
		return 2;
	}
	if (!sizes)
		sizes = diff ? "128:8,1024:8" : clones ? "128:16" : "128:16,1024:64";
	for (const char *p = pcts; *p && npcts < MAX_PCTS;) {
		unsigned v;
		int used;

		if (sscanf(p, "%u%n", &v, &used) != 1 || v < 1 || v > 50) {
			fprintf(stderr, "bad --diff-pct entry at '%s' (1..50)\n", p);
			return 2;
		}
		pct[npcts++] = v;
		p += used;
		if (*p == ',')
			p++;
	}
	for (const char *p = sizes; *p && nsizes < MAX_SIZES;) {
		unsigned m, f;
		int used;

		if (sscanf(p, "%u:%u%n", &m, &f, &used) != 2 || m < 16 || f == 0 || f + 8 > m) {
			fprintf(stderr, "bad -s entry at '%s' (MIB:FILL, FILL + 8 <= MIB)\n", p);
			return 2;
		}
		sz[nsizes].mib = m;
		sz[nsizes++].fill = f;
		p += used;
		if (*p == ',')
			p++;
	}
	snprintf(guest, sizeof(guest), "%s/wisp-testguest", build);
	snprintf(wisp, sizeof(wisp), "%s/wisp", build);
	g_guest = guest;
	g_wisp = wisp;
	if (access(guest, R_OK) < 0 || access(wisp, X_OK) < 0) {
		fprintf(stderr, "%s or %s missing (-b BUILD_DIR)\n", guest, wisp);
		return 2;
	}
	g_dir = tmpdir_make();
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if (clones) {
		static const int ks_full[] = { 10, 50 }, ks_quick[] = { 3, 6 };
		char handler[4096];
		int rc;

		snprintf(handler, sizeof(handler), "%s/wisp-uffd-handler", build);
		g_handler = handler;
		if (access(handler, X_OK) < 0) {
			fprintf(stderr, "%s missing (-b BUILD_DIR)\n", handler);
			tmpdir_cleanup();
			return 2;
		}
		rc = clones_main(&sz[0], runs, quick ? 20 : 100, quick ? ks_quick : ks_full, 2);
		if (rc < 0)
			fprintf(stderr, "clones benchmark FAILED\n");
		kill_all();
		tmpdir_cleanup();
		return rc < 0 ? 1 : 0;
	}
	if (diff) {
		static struct diff_res dr[MAX_SIZES * MAX_PCTS];
		int nr = 0, nrebase = runs < MAX_REBASES ? runs : MAX_REBASES;
		double load0 = loadavg();

		snprintf(editor, sizeof(editor), "%s/wisp-snapshot-editor", build);
		g_editor = editor;
		if (access(editor, X_OK) < 0) {
			fprintf(stderr, "%s missing (-b BUILD_DIR)\n", editor);
			tmpdir_cleanup();
			return 2;
		}
		for (int si = 0; si < nsizes; si++)
			for (int pi = 0; pi < npcts; pi++) {
				struct diff_res *r = &dr[nr++];
				int rc;

				r->mib = sz[si].mib;
				r->fill = sz[si].fill;
				r->pct = pct[pi];
				r->dpages = (unsigned long)(((uint64_t)r->mib << 8) * r->pct + 50) / 100;
				fprintf(stderr, "[%u MiB, %u %% = %lu pages] %d rounds of D, Diff, Full...\n",
					r->mib, r->pct, r->dpages, runs);
				rc = diff_run(r, runs, nrebase, g_create_noseccomp ? "--no-seccomp" : NULL);
				if (rc == -2) {
					fprintf(stderr, "wisp died of SIGSYS in snapshot create with its "
						"default seccomp filter: again with --no-seccomp\n");
					g_create_noseccomp = true;
					memset(r, 0, sizeof(*r));
					r->mib = sz[si].mib;
					r->fill = sz[si].fill;
					r->pct = pct[pi];
					r->dpages = (unsigned long)(((uint64_t)r->mib << 8) * r->pct + 50) / 100;
					rc = diff_run(r, runs, nrebase, "--no-seccomp");
				}
				if (rc < 0) {
					fprintf(stderr, "diff snapshot benchmark FAILED at %u MiB, %u %%\n",
						r->mib, r->pct);
					goto fail;
				}
			}
		diff_table(dr, nr, load0, loadavg());
		kill_all();
		tmpdir_cleanup();
		return 0;
	}

	for (int si = 0; si < nsizes; si++) {
		struct size_cfg *s = &sz[si];
		static struct create_res wc, qc;
		static struct restore_sample ws[MAX_RUNS], qs[MAX_RUNS];
		static struct density wd, qd;
		static struct traced tr;
		char *doc, name[64];
		int r;

		memset(&wc, 0, sizeof(wc));
		memset(&qc, 0, sizeof(qc));
		memset(&wd, 0, sizeof(wd));
		memset(&tr, 0, sizeof(tr));
		memset(&qd, 0, sizeof(qd));
		snprintf(s->append, sizeof(s->append), "wtest=snap wtest.mib=%u", s->fill);
		snprintf(s->mem_arg, sizeof(s->mem_arg), "%u", s->mib);
		snprintf(s->w_state, sizeof(s->w_state), "%s/w%u.state", g_dir, s->mib);
		snprintf(s->w_mem, sizeof(s->w_mem), "%s/w%u.mem", g_dir, s->mib);
		snprintf(s->q_file, sizeof(s->q_file), "%s/q%u.mig", g_dir, s->mib);
		if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
			     "\"%s\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %u}}",
			     guest, s->append, s->mib) < 0)
			abort();
		snprintf(name, sizeof(name), "vm%u.json", s->mib);
		char *cfgpath = write_tmp_file(name, doc);
		snprintf(s->cfg, sizeof(s->cfg), "%s", cfgpath);
		free(cfgpath);
		free(doc);

		fprintf(stderr, "[%u MiB] creating snapshots...\n", s->mib);
		r = wisp_create(s, runs, g_create_noseccomp ? "--no-seccomp" : NULL, &wc);
		if (r == -2) {
			fprintf(stderr, "wisp died of SIGSYS in snapshot create with its default "
					"seccomp filter: creating with --no-seccomp\n");
			g_create_noseccomp = true;
			memset(&wc, 0, sizeof(wc));
			r = wisp_create(s, runs, "--no-seccomp", &wc);
		}
		if (r < 0)
			goto fail;
		if (qemu && qemu_create(s, runs, &qc) < 0)
			goto fail;

		fprintf(stderr, "[%u MiB] checking one restore of each (V -> PASS)...\n", s->mib);
		if (verify_restore(true, s) < 0 || (qemu && verify_restore(false, s) < 0))
			goto fail;

		fprintf(stderr, "[%u MiB] %d restores each...\n", s->mib, runs);
		for (int i = 0; i < runs; i++) {
			struct vm_slot v;

			memset(&v, 0, sizeof(v));
			if (restore_one(true, s, i, &v, &ws[i]) < 0) {
				slot_free(&v);
				goto fail;
			}
			restore_rss(&v, s, &ws[i]);
			slot_free(&v);
			if (g_verbose)
				fprintf(stderr, "wisp restore %d: echo %.2f ms (load %.2f)\n", i,
					ws[i].echo_ms, ws[i].load_ms);
			if (!qemu)
				continue;
			memset(&v, 0, sizeof(v));
			if (restore_one(false, s, i, &v, &qs[i]) < 0) {
				slot_free(&v);
				goto fail;
			}
			restore_rss(&v, s, &qs[i]);
			slot_free(&v);
			if (g_verbose)
				fprintf(stderr, "qemu restore %d: echo %.2f ms\n", i, qs[i].echo_ms);
		}
		if (use_strace) {
			int tn = runs < 10 ? runs : 10;

			fprintf(stderr, "[%u MiB] %d wisp restores under strace...\n", s->mib, tn);
			if (strace_run(s, tn, &tr) < 0)
				goto fail;
		}
		if (k > 0) {
			fprintf(stderr, "[%u MiB] %d VMs at once...\n", s->mib, k);
			if (density_run(true, s, k, &wd) < 0 || (qemu && density_run(false, s, k, &qd) < 0))
				goto fail;
		}

		int qn = qemu ? runs : 0;
		double nan = NAN;

		printf("\nsnapshot benchmark: test guest 'snap' (wtest.mib=%u), 1 vCPU, %u MiB RAM, "
		       "%d runs each (medians)%s%s\n", s->fill, s->mib, runs,
		       g_create_noseccomp ? "; wisp create with --no-seccomp" : "",
		       g_load_noseccomp ? "; wisp load with --no-seccomp" : "");
		printf("| %-62s | %10s | %10s | %9s |\n", "metric", "wisp", "qemu", "wisp/qemu");
		printf("|---|---:|---:|---:|\n");
		row("create: call until done (ms)", median(wc.ms, wc.n), median(qc.ms, qc.n), 1);
		row("create: until files fsynced (ms; wisp: the same call)", median(wc.ms, wc.n),
		    median(qc.ms_durable, qc.n), 1);
		row("create: first call after boot (ms)", wc.n ? wc.ms[0] : nan,
		    qc.n ? qc.ms[0] : nan, 1);
		row("source VMM RSS, paused, before the first create (KiB)", wc.rss_before,
		    qc.n ? qc.rss_before : nan, 0);
		row("source VMM RSS after the creates (KiB)", wc.rss_after,
		    qc.n ? qc.rss_after : nan, 0);
		row("state file (KiB)", wc.state_app, nan, 0);
		row("memory file, apparent size (KiB)", wc.mem_app, nan, 0);
		row("memory file, allocated (KiB)", wc.mem_alloc, nan, 0);
		row("all snapshot files, apparent size (KiB)", wc.state_app + wc.mem_app,
		    qemu ? qc.mem_app : nan, 0);
		row("all snapshot files, allocated (KiB)", wc.state_alloc + wc.mem_alloc,
		    qemu ? qc.mem_alloc : nan, 0);
		row("restore: start -> API / QMP socket accepting (ms)", MED(ws, sock_ms, runs),
		    MED(qs, sock_ms, qn), 2);
		row("restore: load (wisp: PUT /snapshot/load; QEMU: migrate-incoming..cont) (ms)",
		    MED(ws, load_ms, runs), MED(qs, load_ms, qn), 2);
		row("restore: start -> guest running (ms)", MED(ws, running_ms, runs),
		    MED(qs, running_ms, qn), 2);
		row("restore: byte written -> echo read (ms)", MED(ws, echo_lat_ms, runs),
		    MED(qs, echo_lat_ms, qn), 2);
		row("restore: start -> first echo (ms)", MED(ws, echo_ms, runs), MED(qs, echo_ms, qn),
		    2);
		row("later: byte written -> echo read, after a SNAP line (ms)",
		    MED(ws, echo2_lat_ms, runs), MED(qs, echo2_lat_ms, qn), 2);
		row("restore: VMM CPU time, all threads, start -> echo (ms)", MED(ws, cpu_ms, runs),
		    MED(qs, cpu_ms, qn), 2);
		row("wisp load log: files (us)", MED(ws, files_us, runs), nan, 0);
		row("wisp load log: VM create (us)", MED(ws, create_us, runs), nan, 0);
		row("  of which KVM VM (us)", MED(ws, kvm_vm_us, runs), nan, 0);
		row("  of which memory: mapping + KVM memory slots (us)", MED(ws, memory_us, runs),
		    nan, 0);
		row("  of which devices created (us)", MED(ws, dev_create_us, runs), nan, 0);
		row("  of which vCPUs created (us)", MED(ws, vcpus_us, runs), nan, 0);
		row("wisp load log: devices (us)", MED(ws, devices_us, runs), nan, 0);
		row("wisp load log: KVM state (us)", MED(ws, state_us, runs), nan, 0);
		{
			double tot[MAX_RUNS];

			for (int i = 0; i < runs; i++)
				tot[i] = ws[i].files_us + ws[i].create_us + ws[i].devices_us +
					 ws[i].state_us;
			row("wisp load log: sum of the four (us)", median(tot, runs), nan, 0);
			{
				double own[MAX_RUNS];

				for (int i = 0; i < runs; i++)
					own[i] = tot[i] - ws[i].kvm_vm_us - ws[i].memory_us;
				row("load log sum - KVM VM - memory (us)", median(own, runs), nan, 0);
			}
			{
				double gap[MAX_RUNS];

				for (int i = 0; i < runs; i++)
					gap[i] = ws[i].load_ms * 1e3 - tot[i];
				row("load round trip - log sum: API hops, vCPU start, reply (us)",
				    median(gap, runs), nan, 0);
			}
			if (tr.n) {
				row("strace: KVM_CREATE_VM (us)", median(tr.create_vm, tr.n), nan, 0);
				row("strace: KVM_SET_USER_MEMORY_REGION (us)", median(tr.memslot, tr.n),
				    nan, 0);
				row("strace: guest RAM mmap (us)", median(tr.mmap_ram, tr.n), nan, 0);
				row("strace: KVM_CREATE_VCPU (us)", median(tr.vcpu, tr.n), nan, 0);
			}
		}
		row("VMM RSS excluding guest RAM, after restore (KiB)", MED(ws, rss_ex, runs),
		    MED(qs, rss_ex, qn), 0);
		row("guest RAM mapping RSS, after restore (KiB)", MED(ws, rss_guest, runs),
		    MED(qs, rss_guest, qn), 0);
		if (k > 0) {
			char n1[96], n2[96], n3[96], n4[96];

			snprintf(n1, sizeof(n1), "%d VMs at once: Pss per VM, median (KiB)", k);
			snprintf(n2, sizeof(n2), "%d VMs at once: guest RAM Pss per VM, median (KiB)", k);
			snprintf(n3, sizeof(n3), "%d VMs at once: Pss without guest RAM, median (KiB)", k);
			snprintf(n4, sizeof(n4), "%d VMs at once: Pss summed over the %d (MiB)", k, k);
			row(n1, median(wd.pss, wd.k), median(qd.pss, qd.k), 0);
			row(n2, median(wd.pss_guest, wd.k), median(qd.pss_guest, qd.k), 0);
			row(n3, median(wd.pss_ex, wd.k), median(qd.pss_ex, qd.k), 0);
			row(n4, sum(wd.pss, wd.k) / 1024, qd.k ? sum(qd.pss, qd.k) / 1024 : nan, 1);
		}
		fflush(stdout);
		unlink(s->w_state);
		unlink(s->w_mem);
		unlink(s->q_file);
	}
	kill_all();
	tmpdir_cleanup();
	return 0;
fail:
	kill_all();
	tmpdir_cleanup();
	return 1;
}
