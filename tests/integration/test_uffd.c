/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_uffd.c — PUT /snapshot/load with the Uffd memory backend, end to end
 * (docs/uffd.md): a snapshot of the test guest's `snap` scenario is taken
 * through the API, then restored by a new wisp whose guest memory is served
 * by build/wisp-uffd-handler (or by this test playing the handler).
 *
 * What is proven (each test can fail):
 *  - a restore through the handler runs the guest: echo, `V`, the guest's
 *    own RAM check, PASS, exit 0; the handler served faults and exits 0
 *    once wisp is gone (with and without --batch-2m); the time from the load
 *    to PASS is printed next to the File backend's for the same files;
 *  - the handler killed while the guest runs: wisp exits with status 1 and
 *    an error naming the handler's socket, well within 2 s (the time is
 *    printed); the same when the handler closes its connection;
 *  - the handler dying during the load, while the VMM thread itself waits
 *    on guest memory (virtio-blk's queue after the restore): wisp still ends
 *    (status 1), through the watcher's fallback;
 *  - nobody listening at backend_path (no such file, a file that is not a
 *    socket): a 400 naming the path, and the process takes a File load next;
 *  - the handshake is Firecracker's: one message, a JSON array whose one
 *    region (128 MiB guest) has exactly the fields base_host_virt_addr,
 *    size, offset, page_size, page_size_kib in that order, size 128 MiB,
 *    offset 0, page sizes 4096, the address of wisp's guest RAM mapping
 *    (/proc/PID/maps), and a userfaultfd attached;
 *  - the handler alone (this test is the VMM): pages that are data in the
 *    memory file arrive with the file's bytes, holes (also a trailing one)
 *    arrive as zeros, two regions at their offsets, a remove
 *    event (MADV_DONTNEED) is handled (the range reads as zeros after it),
 *    and the handler exits 0 when the connection closes.
 *
 * WISP_IT_NO_SECCOMP=1 runs wisp with --no-seccomp (by default the
 * built-in filters are on, as in production).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"
#include "it_virtio_util.h"

#define START_MS 20000
#define GUEST_MS 60000
#define GUEST_MIB 128
#define MIB (1024ull * 1024ull)

static const char *tdir;

static void setup(void)
{
	tdir = tmpdir_make();
}

static void teardown(void)
{
	tmpdir_cleanup();
	tdir = NULL;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tdir, name);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---------------- processes ---------------- */

static void drain(struct proc *p, int ms)
{
	proc_wait_for(p, "\x01never", ms);
}

static void wisp_start(struct wisp *w, const char *sockname)
{
	char *sock = tmp_path(sockname);

	wisp_spawn(w, sock, NULL, NULL);
	free(sock);
}

/* Wait (1 ms steps) until p exits; returns the milliseconds waited, or -1
 * after timeout_ms (then p is killed). Output is read afterwards. */
static double wait_exit(struct proc *p, int timeout_ms)
{
	double t0 = now_ms();
	int st;

	while (now_ms() - t0 < timeout_ms) {
		pid_t r = wait4(p->pid, &st, WNOHANG, &p->ru);

		if (r == p->pid) {
			double dt = now_ms() - t0;

			p->exited = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			proc_finish(p, 1000);   /* the rest of its output */
			return dt;
		}
		usleep(1000);
	}
	proc_finish(p, 0);
	return -1;
}

#define WAIT_FOR(p, needle)                                                                   \
	ck_assert_msg(proc_wait_for(p, needle, GUEST_MS), "no \"%s\"\nstdout:\n%s\nstderr:\n%s",  \
		      needle, (p)->out.data, (p)->err.data)

/* build/wisp-uffd-handler [opt] SOCK MEM, listening once it says so. */
static void handler_start(struct proc *h, const char *sock, const char *mem, const char *opt)
{
	const char *argv[6];
	int i = 0;

	argv[i++] = build_path("wisp-uffd-handler");
	if (opt)
		argv[i++] = opt;
	argv[i++] = sock;
	argv[i++] = mem;
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(h, (char *const *)argv), 0);
	WAIT_FOR(h, "listening on");
}

/* ---------------- snapshots ---------------- */

struct snap {
	char *state, *mem, *old_out;
};

static void snap_free(struct snap *s)
{
	free(s->state);
	free(s->mem);
	free(s->old_out);
}

/* Boot `wtest=snap wtest.mib=8 <extra>` (with a 1 MiB drive when
 * with_drive), wait until it runs, pause, snapshot, SIGKILL. */
static void make_snapshot(struct snap *s, const char *extra, bool with_drive)
{
	struct wisp a;
	char *b;

	s->state = tmp_path("vm.state");
	s->mem = tmp_path("vm.mem");
	wisp_start(&a, "a.sock");
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=snap wtest.mib=8%s%s\"}",
		      build_path("wisp-testguest"), extra ? " " : "", extra ? extra : "");
	CALL(&a, "PUT", "/boot-source", b, 204);
	free(b);
	b = xasprintf("{\"vcpu_count\": 1, \"mem_size_mib\": %d}", GUEST_MIB);
	CALL(&a, "PUT", "/machine-config", b, 204);
	free(b);
	if (with_drive) {
		char *img = tmp_path("d0.img");

		ck_assert_int_eq(image_create(img, 2048), 0);
		b = xasprintf("{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", \"is_root_device\": "
			      "false, \"is_read_only\": false}", img);
		CALL(&a, "PUT", "/drives/d0", b, 204);
		free(b);
		free(img);
	}
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	WAIT_FOR(&a.p, "SNAP 2\r");
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	drain(&a.p, 200);
	b = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", \"mem_file_path\": "
		      "\"%s\"}", s->state, s->mem);
	CALL(&a, "PUT", "/snapshot/create", b, 204);
	free(b);
	proc_signal(&a.p, SIGKILL);
	ck_assert(proc_finish(&a.p, 10000));
	s->old_out = strdup(a.p.out.data);
	wisp_free(&a);
}

static char *load_body(const char *state, const char *type, const char *path, bool resume)
{
	return xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"%s\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": %s}", state, type, path,
			 resume ? "true" : "false");
}

/* Echo, `V`, PASS, exit 0: the restored guest is the snapshot's. Returns
 * the milliseconds from `t_load` to the exit. */
static double verify_guest(struct wisp *w, const struct snap *s, double t_load)
{
	double t;

	ck_assert_int_eq(proc_send(&w->p, "x", 1), 0);
	WAIT_FOR(&w->p, "Ex\r");
	ck_assert_int_eq(proc_send(&w->p, "V", 1), 0);
	WAIT_FOR(&w->p, "WTEST snap ");
	ck_assert_msg(proc_finish(&w->p, GUEST_MS), "wisp did not exit after the check");
	t = now_ms() - t_load;
	ck_assert_msg(strstr(w->p.out.data, "WTEST snap PASS") && w->p.status == 0,
		      "status %d\nold console:\n%s\nnew console:\n%s\nstderr:\n%s", w->p.status,
		      s->old_out, w->p.out.data, w->p.err.data);
	ck_assert_msg(!strstr(w->p.out.data, "SNAP boot"), "the guest booted again:\n%s",
		      w->p.out.data);
	ck_assert_ptr_nonnull(strstr(w->p.out.data, "SNAP check memory ok"));
	ASSERT_CLEAN(&w->p);
	return t;
}

/* ---------------- 1. a restore through the handler ---------------- */

/* _i = 0: page by page; 1: --batch-2m. The same files are then restored
 * with the File backend, for the time comparison. */
START_TEST(restore_through_the_handler_passes)
{
	struct snap s;
	struct wisp b, c;
	struct proc h;
	char *hsock = tmp_path("uffd.sock"), *body;
	double t0, t_uffd, t_file, t_load_uffd, t_load_file;
	unsigned long long faults = 0;
	const char *served;

	make_snapshot(&s, NULL, false);
	handler_start(&h, hsock, s.mem, _i ? "--batch-2m" : NULL);
	wisp_start(&b, "b.sock");
	body = load_body(s.state, "Uffd", hsock, true);
	t0 = now_ms();
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	t_load_uffd = now_ms() - t0;
	free(body);
	t_uffd = verify_guest(&b, &s, t0);
	ck_assert_msg(strstr(b.p.err.data, "handed to the page-fault handler at"), "%s",
		      b.p.err.data);
	/* wisp is gone: the handler notices and exits 0, with its counts. */
	ck_assert_msg(proc_finish(&h, 5000), "the handler did not exit after wisp");
	ck_assert_msg(h.status == 0 && strstr(h.err.data, "the VMM is gone"),
		      "handler status %d:\n%s", h.status, h.err.data);
	served = strstr(h.err.data, "served ");
	ck_assert_ptr_nonnull(served);
	ck_assert_int_eq(sscanf(served, "served %llu", &faults), 1);
	ck_assert_msg(faults > 0, "%s", h.err.data);
	ASSERT_CLEAN(&h);

	wisp_start(&c, "c.sock");
	body = load_body(s.state, "File", s.mem, true);
	t0 = now_ms();
	CALL(&c, "PUT", "/snapshot/load", body, 204);
	t_load_file = now_ms() - t0;
	free(body);
	t_file = verify_guest(&c, &s, t0);
	printf("uffd%s: load %.1f ms, load->exit after PASS %.0f ms (File backend: load %.1f ms, "
	       "%.0f ms); handler: %s", _i ? " --batch-2m" : "", t_load_uffd, t_uffd, t_load_file,
	       t_file, strstr(h.err.data, "served "));
	fflush(stdout);
	wisp_free(&b);
	wisp_free(&c);
	proc_free(&h);
	snap_free(&s);
	free(hsock);
}
END_TEST

/* ---------------- 2. the handler dies ---------------- */

START_TEST(handler_killed_while_the_guest_runs_ends_the_vm)
{
	struct snap s;
	struct wisp b;
	struct proc h;
	char *hsock = tmp_path("uffd.sock"), *body, *want;
	double dt;

	make_snapshot(&s, NULL, false);
	handler_start(&h, hsock, s.mem, NULL);
	wisp_start(&b, "b.sock");
	body = load_body(s.state, "Uffd", hsock, true);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	ck_assert_int_eq(proc_send(&b.p, "x", 1), 0);
	WAIT_FOR(&b.p, "Ex\r");
	/* The guest runs (the SNAP lines keep coming); its handler dies. */
	proc_signal(&h, SIGKILL);
	dt = wait_exit(&b.p, 10000);
	ck_assert_msg(dt >= 0, "wisp still runs 10 s after its handler died\nstderr:\n%s",
		      b.p.err.data);
	want = xasprintf("page-fault handler at %s closed its connection", hsock);
	ck_assert_msg(b.p.status == 1 && strstr(b.p.err.data, want),
		      "status %d, want 1 and \"%s\"\nstderr:\n%s", b.p.status, want, b.p.err.data);
	ck_assert_msg(dt < 2000, "wisp took %.0f ms to end after its handler died", dt);
	ck_assert_msg(!strstr(b.p.out.data, "WTEST snap "), "%s", b.p.out.data);
	ASSERT_CLEAN(&b.p);
	printf("handler SIGKILLed -> wisp exited (status 1) in %.1f ms (measured with 1 ms polls)\n",
	       dt);
	fflush(stdout);
	free(want);
	wisp_free(&b);
	proc_finish(&h, 1000);
	proc_free(&h);
	snap_free(&s);
	free(hsock);
}
END_TEST

/* ---------------- 3. this test is the handler ---------------- */

static int listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 1), 0);
	return fd;
}

/* One recvmsg: the text (NUL-terminated in buf) and the fd that came with it. */
static ssize_t recv_with_fd(int sock, char *buf, size_t len, int *fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = buf, .iov_len = len - 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	*fd = -1;
	if (n >= 0)
		buf[n] = 0;
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return n;
}

/* Does /proc/PID/maps have a mapping [start, start+size)? */
static bool has_mapping(pid_t pid, uint64_t start, uint64_t size)
{
	char path[64], line[512];
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;

		if (sscanf(line, "%llx-%llx", &a, &b) == 2 && a == start && b - a == size)
			found = true;
	}
	fclose(f);
	return found;
}

START_TEST(handshake_is_firecrackers)
{
	struct snap s;
	struct wisp b;
	char *hsock = tmp_path("uffd.sock"), *body, *want, buf[4096], link[128], fdpath[64];
	int lfd, conn, ufd;
	ssize_t n, k;
	json_t *a, *r;
	const char *key;
	json_t *v;
	static const char *const fields[] = { "base_host_virt_addr", "size", "offset", "page_size",
					      "page_size_kib" };
	unsigned idx = 0;
	uint64_t base;
	double dt;

	/* acpi=off: no VMGenID device, whose restore writes the clone's new ID
	 * into guest memory during the load (as Firecracker's does), a fault
	 * only a serving handler answers; this one only reads the handshake. */
	make_snapshot(&s, "acpi=off", false);
	lfd = listen_unix(hsock);
	wisp_start(&b, "b.sock");
	/* connect() completes on the listen backlog and the message waits in
	 * the socket: the load finishes before this test accepts. */
	body = load_body(s.state, "Uffd", hsock, false);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(conn, 0);
	n = recv_with_fd(conn, buf, sizeof(buf), &ufd);
	ck_assert_msg(n > 0 && ufd >= 0, "recvmsg: %zd, fd %d", n, ufd);
	/* All of it came in that one message. */
	k = recv(conn, link, sizeof(link), MSG_DONTWAIT);
	ck_assert_msg(k < 0 && errno == EAGAIN, "more bytes after the first message: %zd", k);
	printf("handshake: %s\n", buf);
	fflush(stdout);
	/* Firecracker's serde_json output: compact, no spaces. */
	ck_assert_msg(!strchr(buf, ' ') && !strchr(buf, '\n'), "%s", buf);
	a = json_loads(buf, JSON_PRESERVE_ORDER, NULL);
	ck_assert_msg(json_is_array(a) && json_array_size(a) == 1, "%s", buf);
	r = json_array_get(a, 0);
	ck_assert_int_eq(json_object_size(r), 5);
	json_object_foreach(r, key, v) {
		ck_assert_str_eq(key, fields[idx++]);
		ck_assert_msg(json_is_integer(v), "%s: %s", key, buf);
	}
	base = (uint64_t)json_integer_value(json_object_get(r, "base_host_virt_addr"));
	ck_assert_uint_eq(json_integer_value(json_object_get(r, "size")), GUEST_MIB * MIB);
	ck_assert_uint_eq(json_integer_value(json_object_get(r, "offset")), 0);
	ck_assert_uint_eq(json_integer_value(json_object_get(r, "page_size")), 4096);
	ck_assert_uint_eq(json_integer_value(json_object_get(r, "page_size_kib")), 4096);
	json_decref(a);
	ck_assert_msg(base && base % 4096 == 0 && has_mapping(b.p.pid, base, GUEST_MIB * MIB),
		      "0x%" PRIx64 " is not wisp's 128 MiB guest RAM mapping", base);
	/* The same text is in wisp's log. */
	ck_assert_msg(strstr(b.p.err.data, buf) || (drain(&b.p, 200), strstr(b.p.err.data, buf)),
		      "%s", b.p.err.data);
	/* What came is a userfaultfd. */
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", ufd);
	n = readlink(fdpath, link, sizeof(link) - 1);
	ck_assert_int_gt(n, 0);
	link[n] = 0;
	ck_assert_str_eq(link, "anon_inode:[userfaultfd]");
	/* The "handler" closes its end (it keeps running): wisp ends. */
	close(ufd);
	close(conn);
	dt = wait_exit(&b.p, 10000);
	want = xasprintf("page-fault handler at %s closed its connection", hsock);
	ck_assert_msg(dt >= 0 && b.p.status == 1 && strstr(b.p.err.data, want),
		      "%.0f ms, status %d\nstderr:\n%s", dt, b.p.status, b.p.err.data);
	ck_assert_msg(dt < 2000, "%.0f ms", dt);
	ASSERT_CLEAN(&b.p);
	free(want);
	close(lfd);
	wisp_free(&b);
	snap_free(&s);
	free(hsock);
}
END_TEST

/* The handler accepts, takes the handshake and dies before serving a
 * page, while wisp is still loading: the restored virtio-blk device looks
 * at its queue at once (guest memory), so the VMM thread waits on a fault
 * nobody will serve. The watcher must still end the process. */
struct dying_handler {
	int lfd;
};

static void *dying_handler_main(void *arg)
{
	struct dying_handler *d = arg;
	char buf[4096];
	int conn = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC), ufd = -1;

	if (conn >= 0 && recv_with_fd(conn, buf, sizeof(buf), &ufd) > 0) {
		usleep(50000);
		if (ufd >= 0)
			close(ufd);
	}
	if (conn >= 0)
		close(conn);
	return NULL;
}

START_TEST(handler_dying_during_the_load_still_ends_the_vm)
{
	struct snap s;
	struct wisp b;
	struct dying_handler d;
	pthread_t t;
	char *hsock = tmp_path("uffd.sock"), *body;
	long st;
	double t0, dt;

	make_snapshot(&s, NULL, true);
	d.lfd = listen_unix(hsock);
	ck_assert_int_eq(pthread_create(&t, NULL, dying_handler_main, &d), 0);
	wisp_start(&b, "b.sock");
	body = load_body(s.state, "Uffd", hsock, true);
	t0 = now_ms();
	/* No answer comes when the VMM thread is stuck: the transport fails. */
	st = api_call(&b.c, "PUT", "/snapshot/load", body);
	free(body);
	ck_assert_msg(wait_exit(&b.p, 10000) >= 0, "wisp still runs after its handler died "
		      "during the load\nstderr:\n%s", b.p.err.data);
	dt = now_ms() - t0;   /* from the load request (exit seen within ~1 ms) */
	ck_assert_msg(b.p.status == 1 && strstr(b.p.err.data, "closed its connection"),
		      "load status %ld, exit status %d\nstderr:\n%s", st, b.p.status, b.p.err.data);
	printf("handler died during the load (API status %ld): wisp exited 1, %.0f ms after the "
	       "load request; fallback used: %s\n", st, dt,
	       strstr(b.p.err.data, "did not stop the microVM") ? "yes" : "no");
	fflush(stdout);
	ck_assert_msg(dt < 3000, "%.0f ms", dt);
	/* The VMM thread was the one waiting: the watcher ended the process. */
	ck_assert_msg(strstr(b.p.err.data, "did not stop the microVM within 100 ms"), "%s",
		      b.p.err.data);
	pthread_join(t, NULL);
	close(d.lfd);
	wisp_free(&b);
	snap_free(&s);
	free(hsock);
}
END_TEST

/* ---------------- 4. nobody listening ---------------- */

START_TEST(no_handler_is_a_400_and_the_process_stays_loadable)
{
	struct snap s;
	struct wisp b;
	char *none = tmp_path("nobody.sock"), *plain = tmp_path("plain-file"), *body, *want;

	make_snapshot(&s, NULL, false);
	wisp_start(&b, "b.sock");
	body = load_body(s.state, "Uffd", none, true);
	want = xasprintf("cannot connect to the page-fault handler at %s: No such file or directory",
			 none);
	FAULT(&b, "PUT", "/snapshot/load", body, want);
	free(body);
	free(want);
	/* A file that is not a listening socket (Firecracker's "unbound socket"). */
	free(write_tmp_file("plain-file", ""));
	body = load_body(s.state, "Uffd", plain, true);
	want = xasprintf("cannot connect to the page-fault handler at %s: Connection refused",
			 plain);
	FAULT(&b, "PUT", "/snapshot/load", body, want);
	free(body);
	free(want);
	CALL(&b, "GET", "/", NULL, 200);
	ck_assert_msg(strstr(b.c.body, "\"state\":\"Not started\""), "%s", b.c.body);
	/* Nothing was left behind: a File load works. */
	body = load_body(s.state, "File", s.mem, true);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	verify_guest(&b, &s, now_ms());
	wisp_free(&b);
	snap_free(&s);
	free(none);
	free(plain);
}
END_TEST

/* ---------------- 5. the handler alone ---------------- */

#define R0 (4 * MIB)         /* region 0 at offset 0 */
#define R1 (2 * MIB)         /* region 1 at offset R0 */
#define FILE_LEN (R0 + R1)

static uint8_t file_byte(uint64_t off)
{
	return (uint8_t)((off >> 12) * 31 + (off & 0xfff) + 1);   /* never all zero per page */
}

/* Data except the holes [1 MiB, 2 MiB), [3.5 MiB, 4 MiB) (the end of region
 * 0) and [5 MiB, 6 MiB) (the file's end: a trailing hole, as a sparse memory
 * file of a guest whose top RAM was never written). */
static bool file_is_data(uint64_t off)
{
	return !(off >= MIB && off < 2 * MIB) && !(off >= 3 * MIB + MIB / 2 && off < 4 * MIB) &&
	       !(off >= 5 * MIB);
}

static char *make_mem_file(void)
{
	char *path = tmp_path("mem");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static uint8_t page[4096];

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)FILE_LEN), 0);
	for (uint64_t off = 0; off < FILE_LEN; off += 4096) {
		if (!file_is_data(off))
			continue;
		for (unsigned j = 0; j < 4096; j++)
			page[j] = file_byte(off + j);
		ck_assert_int_eq(pwrite(fd, page, 4096, (off_t)off), 4096);
	}
	close(fd);
	return path;
}

/*
 * Signals at a thread while it faults: a signal wakes the thread out of its
 * wait on the handler, it takes the signal and faults again on the same page,
 * so the handler may read two faults for one page (the second finds the
 * page there). What the handler counts is pages it served, not messages.
 */
struct nudger {
	pthread_t target, thread;
	_Atomic bool stop;
	unsigned long sent;
};

static volatile sig_atomic_t nudges_taken;

static void on_nudge(int sig)
{
	(void)sig;
	nudges_taken++;
}

static void *nudge_loop(void *arg)
{
	struct nudger *n = arg;

	while (!n->stop) {
		if (pthread_kill(n->target, SIGUSR2) == 0)
			n->sent++;
		usleep(20);
	}
	return NULL;
}

static void nudger_start(struct nudger *n)
{
	struct sigaction sa = { .sa_handler = on_nudge, .sa_flags = SA_RESTART };

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, NULL), 0);
	n->target = pthread_self();
	n->stop = false;
	n->sent = 0;
	ck_assert_int_eq(pthread_create(&n->thread, NULL, nudge_loop, n), 0);
}

static void nudger_stop(struct nudger *n)
{
	n->stop = true;
	ck_assert_int_eq(pthread_join(n->thread, NULL), 0);
	signal(SIGUSR2, SIG_IGN);
}

static void check_pages(const uint8_t *p, uint64_t len, uint64_t file_off, const char *what)
{
	for (uint64_t o = 0; o < len; o += 4096) {
		bool data = file_is_data(file_off + o);

		for (unsigned j = 0; j < 4096; j += 511) {
			uint8_t want = data ? file_byte(file_off + o + j) : 0;

			ck_assert_msg(p[o + j] == want, "%s: byte 0x%" PRIx64 ": 0x%02x, want 0x%02x "
				      "(%s)", what, o + j, p[o + j], want, data ? "data" : "hole");
		}
	}
}

START_TEST(handler_serves_data_holes_and_removes)
{
	char *mem = make_mem_file(), *hsock = tmp_path("h.sock"), *json;
	struct proc h;
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t *r0, *r1;
	int ufd, sock;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			      .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c;
	unsigned long long faults = 0, removes = 0;
	const char *served;
	struct nudger nudger;

	ufd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (ufd < 0) {
		printf("handler_serves_data_holes_and_removes: no userfaultfd here (%s): skipped\n",
		       strerror(errno));
		return;
	}
	ck_assert_int_eq(ioctl(ufd, UFFDIO_API, &api), 0);
	r0 = mmap(NULL, R0, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		  0);
	r1 = mmap(NULL, R1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		  0);
	ck_assert(r0 != MAP_FAILED && r1 != MAP_FAILED);
	for (int i = 0; i < 2; i++) {
		struct uffdio_register reg = {
			.range = { .start = (uint64_t)(uintptr_t)(i ? r1 : r0), .len = i ? R1 : R0 },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		ck_assert_int_eq(ioctl(ufd, UFFDIO_REGISTER, &reg), 0);
	}
	handler_start(&h, hsock, mem, _i ? "--batch-2m" : NULL);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hsock);
	ck_assert_int_eq(connect(sock, (struct sockaddr *)&sa, sizeof(sa)), 0);
	json = xasprintf("[{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%llu,\"offset\":0,"
			 "\"page_size\":4096,\"page_size_kib\":4096},{\"base_host_virt_addr\":%"
			 PRIu64 ",\"size\":%llu,\"offset\":%llu,\"page_size\":4096,"
			 "\"page_size_kib\":4096}]", (uint64_t)(uintptr_t)r0, R0,
			 (uint64_t)(uintptr_t)r1, R1, R0);
	iov.iov_base = json;
	iov.iov_len = strlen(json);
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &ufd, sizeof(int));
	ck_assert_int_eq(sendmsg(sock, &msg, 0), (ssize_t)strlen(json));
	WAIT_FOR(&h, "serving 2 region(s)");

	/* Every page: the file's bytes where it has data, zeros elsewhere;
	 * region 0 read under a storm of signals. */
	nudger_start(&nudger);
	check_pages(r0, R0, 0, "region 0");
	nudger_stop(&nudger);
	/* A balloon gives back region 1's first page before it was ever read:
	 * a remove event, the page reads as zeros; the handler unregistered it,
	 * so a batch around the next fault spans a page that is no longer
	 * registered (UFFDIO_COPY over it fails whole with ENOENT: the handler
	 * then fills page by page instead of waking the fault for ever). */
	ck_assert_int_eq(madvise(r1, 4096, MADV_DONTNEED), 0);
	ck_assert_msg(r1[0] == 0 && r1[4095] == 0, "region 1's removed first page: 0x%02x", r1[0]);
	check_pages(r1 + 4096, R1 - 4096, R0 + 4096, "region 1");
	/* A balloon gives 64 KiB back: a remove event; then it reads as zeros. */
	ck_assert_int_eq(madvise(r0 + 64 * 1024, 64 * 1024, MADV_DONTNEED), 0);
	for (unsigned o = 64 * 1024; o < 128 * 1024; o += 4096)
		ck_assert_msg(r0[o] == 0 && r0[o + 4095] == 0, "removed page at 0x%x: 0x%02x", o,
			      r0[o]);
	/* The rest did not move. */
	check_pages(r0, 64 * 1024, 0, "region 0 after the remove");
	check_pages(r0 + 128 * 1024, R0 - 128 * 1024, 128 * 1024, "region 0 after the remove");
	/* A page read right after its remove, page by page over region 1: the
	 * read may fault before the handler has unregistered the page (the
	 * kernel lets madvise return once the event is read); the kernel then
	 * gives the zero page itself, and the handler does not count that
	 * fault as one it served. */
	for (unsigned o = 4096; o < R1; o += 4096) {
		ck_assert_int_eq(madvise(r1 + o, 4096, MADV_DONTNEED), 0);
		ck_assert_msg(r1[o] == 0 && r1[o + 4095] == 0, "region 1 page at 0x%x after its "
			      "remove: 0x%02x", o, r1[o]);
	}

	/* The "VMM" goes away: the handler exits 0 and says what it did. */
	close(sock);
	close(ufd);
	ck_assert_msg(proc_finish(&h, 5000), "the handler did not exit\n%s", h.err.data);
	ck_assert_msg(h.status == 0 && strstr(h.err.data, "the VMM is gone"), "status %d\n%s",
		      h.status, h.err.data);
	served = strstr(h.err.data, "served ");
	ck_assert_ptr_nonnull(served);
	ck_assert_int_eq(sscanf(served, "served %llu fault(s) (%*u KiB copied, %*u KiB zero pages), "
				"%llu remove", &faults, &removes), 2);
	ck_assert_int_eq(removes, 1 + R1 / 4096);
	/* Page by page: one fault a page but region 1's first (the removed
	 * pages came back as the kernel's zero pages, without a fault);
	 * batches: far fewer. */
	if (_i)
		ck_assert_msg(faults <= 8, "%llu faults with --batch-2m\n%s", faults, h.err.data);
	else
		ck_assert_msg(faults == (R0 + R1) / 4096 - 1, "%llu faults\n%s", faults, h.err.data);
	/* The storm did reach the faulting thread. */
	ck_assert_int_gt(nudges_taken, 0);
	printf("handler%s alone (%lu signals sent, %d taken, while region 0 faulted): %s",
	       _i ? " --batch-2m" : "", nudger.sent, (int)nudges_taken, served);
	fflush(stdout);
	ASSERT_CLEAN(&h);
	munmap(r0, R0);
	munmap(r1, R1);
	proc_free(&h);
	free(json);
	free(mem);
	free(hsock);
}
END_TEST

static Suite *uffd_suite(void)
{
	Suite *s = suite_create("uffd");
	TCase *tc = tcase_create("uffd");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, handler_serves_data_holes_and_removes, 0, 2);
	tcase_add_test(tc, handshake_is_firecrackers);
	tcase_add_loop_test(tc, restore_through_the_handler_passes, 0, 2);
	tcase_add_test(tc, handler_killed_while_the_guest_runs_ends_the_vm);
	tcase_add_test(tc, handler_dying_during_the_load_still_ends_the_vm);
	tcase_add_test(tc, no_handler_is_a_400_and_the_process_stays_loadable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("no usable /dev/kvm: skipped\n");
		return 77;
	}
	return check_run_suite(uffd_suite());
}
