/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wset.c — PUT /snapshot/load's working_set (docs/snapshots.md),
 * end to end: boot the test guest's `snap` scenario, snapshot it, SIGKILL;
 * then
 *  - record: load with {"record": true} in a new process and let the
 *    restored guest run its `V` self-check (it reads every page of its
 *    pattern); the guest passes, and the working-set file written when the
 *    VM ends lists every pattern page, no page twice, none beyond RAM;
 *  - replay: load with that file in another process: the guest passes;
 *  - a record that ends on its timer (record_ms 100, the file written by
 *    the recording thread under seccomp) while the guest idles: the file
 *    is there and the guest, still served, passes;
 *  - refusals: a corrupt file, a missing one, a page beyond RAM, a Uffd
 *    backend, an unknown key: 400 naming the cause, and the same process
 *    then loads normally and passes.
 * No timing is asserted. WISP_IT_NO_SECCOMP=1 runs wisp with --no-seccomp.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"
#include "it_virtio_util.h"

#define START_MS 20000
#define GUEST_MS 60000
#define GUEST_MIB 128
#define PAGE 4096u

static char tdir[64];

static void setup(void)
{
	snprintf(tdir, sizeof(tdir), "/tmp/wisp-it-wset-XXXXXX");
	ck_assert_msg(mkdtemp(tdir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void teardown(void)
{
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", tdir, NULL };

	if (tdir[0])
		it_run(argv);
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

static void drain(struct wisp *w, int ms)
{
	proc_wait_for(&w->p, "\x01never", ms);
}

static void wisp_start(struct wisp *w, const char *name)
{
	char sock[200];

	snprintf(sock, sizeof(sock), "%s/%s.sock", tdir, name);
	wisp_spawn(w, sock, name, NULL);
}

#define WAIT_FOR(w, needle)                                                                   \
	ck_assert_msg(proc_wait_for(&(w)->p, needle, GUEST_MS),                               \
		      "no \"%s\"\nstdout:\n%s\nstderr:\n%s", needle, (w)->p.out.data,           \
		      (w)->p.err.data)

/* Boot `snap` with 8 MiB of pattern, pause, snapshot, SIGKILL. Returns the
 * pattern's guest-physical range. */
static void make_snapshot(const char *state, const char *mem, unsigned long *start,
			  unsigned long *end)
{
	struct wisp a;
	char *b;
	const char *line;

	wisp_start(&a, "a");
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=snap wtest.mib=8\"}",
		      build_path("wisp-testguest"));
	CALL(&a, "PUT", "/boot-source", b, 204);
	free(b);
	b = xasprintf("{\"vcpu_count\": 1, \"mem_size_mib\": %d}", GUEST_MIB);
	CALL(&a, "PUT", "/machine-config", b, 204);
	free(b);
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	WAIT_FOR(&a, "SNAP 2\r");
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	drain(&a, 200);
	b = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
		      "\"mem_file_path\": \"%s\"}", state, mem);
	CALL(&a, "PUT", "/snapshot/create", b, 204);
	free(b);
	line = strstr(a.p.out.data, "snap: memory [");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, "snap: memory [0x%lx-0x%lx)", start, end), 2);
	proc_signal(&a.p, SIGKILL);
	ck_assert(proc_finish(&a.p, 10000));
	wisp_free(&a);
}

static char *load_body(const char *state, const char *mem, const char *more)
{
	return xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": true%s%s}", state, mem,
			 more ? ", " : "", more ? more : "");
}

/* `V`: the guest checks itself, prints PASS and wisp exits 0. */
static void verify(struct wisp *w)
{
	ck_assert_int_eq(proc_send(&w->p, "V", 1), 0);
	WAIT_FOR(w, "WTEST snap ");
	ck_assert_msg(proc_finish(&w->p, GUEST_MS), "wisp did not exit after the check");
	ck_assert_msg(strstr(w->p.out.data, "WTEST snap PASS") && w->p.status == 0,
		      "status %d\nstdout:\n%s\nstderr:\n%s", w->p.status, w->p.out.data,
		      w->p.err.data);
	ck_assert_ptr_nonnull(strstr(w->p.out.data, "SNAP check memory ok"));
	ASSERT_CLEAN(&w->p);
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

START_TEST(record_then_replay_then_refusals)
{
	char *state, *mem, *ws, *body, *more;
	unsigned long start, end;
	struct wisp b, c, d, e;
	uint8_t *buf, *seen;
	uint64_t n, pages = (uint64_t)GUEST_MIB * 1024 * 1024 / PAGE, v64;
	uint32_t v32;
	size_t len, blen;

	state = xasprintf("%s/vm.state", tdir);
	mem = xasprintf("%s/vm.mem", tdir);
	ws = xasprintf("%s/vm.wset", tdir);
	make_snapshot(state, mem, &start, &end);

	/* Record: record_ms far away, so the file is written when the VM ends. */
	wisp_start(&b, "b");
	more = xasprintf("\"working_set\": {\"path\": \"%s\", \"record\": true, \"record_ms\": "
			 "600000}", ws);
	body = load_body(state, mem, more);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	free(more);
	verify(&b);
	ck_assert_msg(strstr(b.p.err.data, "working set: recording"), "%s", b.p.err.data);
	buf = read_whole_file(ws, &len);
	ck_assert_msg(buf != NULL, "no working-set file %s\nstderr:\n%s", ws, b.p.err.data);
	ck_assert_uint_ge(len, 32);
	ck_assert_int_eq(memcmp(buf, "WISPWSET", 8), 0);
	memcpy(&v32, buf + 8, 4);
	ck_assert_uint_eq(v32, 1);
	memcpy(&v32, buf + 12, 4);
	ck_assert_uint_eq(v32, PAGE);
	memcpy(&v64, buf + 16, 8);
	ck_assert_uint_eq(v64, pages * PAGE);
	memcpy(&n, buf + 24, 8);
	ck_assert_uint_eq(len, 32 + 8 * n);
	seen = calloc(pages, 1);
	for (uint64_t i = 0; i < n; i++) {
		memcpy(&v64, buf + 32 + 8 * i, 8);
		ck_assert_msg(v64 < pages, "entry %llu: page %llu beyond RAM",
			      (unsigned long long)i, (unsigned long long)v64);
		ck_assert_msg(!seen[v64], "page %llu listed twice", (unsigned long long)v64);
		seen[v64] = 1;
	}
	for (unsigned long x = start; x < end; x += PAGE)
		ck_assert_msg(seen[x / PAGE], "pattern page 0x%lx not in the working set", x);
	printf("working set: %llu pages (%llu KiB); pattern [0x%lx-0x%lx) %lu pages\n",
	       (unsigned long long)n, (unsigned long long)n * 4, start, end, (end - start) / PAGE);
	free(seen);
	wisp_free(&b);

	/* Replay in a new process. */
	wisp_start(&c, "c");
	more = xasprintf("\"working_set\": {\"path\": \"%s\"}", ws);
	body = load_body(state, mem, more);
	CALL(&c, "PUT", "/snapshot/load", body, 204);
	free(body);
	free(more);
	verify(&c);
	ck_assert_msg(strstr(c.p.err.data, "working set: ") &&
			      strstr(c.p.err.data, "made present"), "%s", c.p.err.data);
	wisp_free(&c);

	/* Record that ends on its timer (the recording thread writes the file
	 * under the seccomp filter) while the guest idles; the guest keeps
	 * being served afterwards and passes. */
	wisp_start(&e, "e");
	more = xasprintf("\"working_set\": {\"path\": \"%s.short\", \"record\": true, "
			 "\"record_ms\": 100}", ws);
	body = load_body(state, mem, more);
	CALL(&e, "PUT", "/snapshot/load", body, 204);
	free(body);
	free(more);
	WAIT_FOR(&e, "recorded in");
	verify(&e);
	{
		char *shortp = xasprintf("%s.short", ws);
		uint8_t *sb = read_whole_file(shortp, &blen);

		ck_assert_ptr_nonnull(sb);
		ck_assert_uint_ge(blen, 32);
		ck_assert_int_eq(memcmp(sb, "WISPWSET", 8), 0);
		free(sb);
		free(shortp);
	}
	wisp_free(&e);

	/* Record that ends when the guest signals readiness (its
	 * boot-complete write, command byte R), long before record_ms; the
	 * file exists while the VM still runs, and the guest passes. */
	wisp_start(&e, "r");
	more = xasprintf("\"working_set\": {\"path\": \"%s.ready\", \"record\": true, "
			 "\"record_ms\": 600000}", ws);
	body = load_body(state, mem, more);
	CALL(&e, "PUT", "/snapshot/load", body, 204);
	free(body);
	free(more);
	ck_assert_int_eq(proc_send(&e.p, "R", 1), 0);
	WAIT_FOR(&e, "SNAP ready");
	WAIT_FOR(&e, "recorded in");
	ck_assert_ptr_nonnull(strstr(e.p.err.data, "the guest signalled readiness"));
	{
		char *readyp = xasprintf("%s.ready", ws);
		uint8_t *rb = read_whole_file(readyp, &blen);

		ck_assert_ptr_nonnull(rb);
		ck_assert_uint_ge(blen, 32);
		ck_assert_int_eq(memcmp(rb, "WISPWSET", 8), 0);
		free(rb);
		free(readyp);
	}
	verify(&e);
	wisp_free(&e);

	/* Refusals, then a normal load in the same process. */
	wisp_start(&d, "d");
	{
		char *bad = xasprintf("%s/bad.wset", tdir), *missing = xasprintf("%s/none", tdir);
		uint8_t beyond[40];

		write_file(bad, "garbage, not a working set", 26);
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", bad);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, bad);
		FAULT(&d, "PUT", "/snapshot/load", body, "not a working-set file");
		free(body);
		free(more);
		/* Truncated: the header says more pages than follow. */
		write_file(bad, buf, len - 8);
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", bad);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "working_set.path");
		free(body);
		free(more);
		/* One page, beyond RAM. */
		memcpy(beyond, buf, 32);
		v64 = 1;
		memcpy(beyond + 24, &v64, 8);
		v64 = pages;
		memcpy(beyond + 32, &v64, 8);
		write_file(bad, beyond, sizeof(beyond));
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", bad);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "beyond guest memory");
		free(body);
		free(more);
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", missing);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, missing);
		free(body);
		free(more);
		more = xasprintf("\"working_set\": {\"path\": \"%s\", \"prefetch\": true}", ws);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "prefetch");
		free(body);
		free(more);
		more = xasprintf("\"working_set\": {\"path\": \"%s\", \"record_ms\": 5}", ws);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "record_ms");
		free(body);
		free(more);
		body = xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": "
				 "\"Uffd\", \"backend_path\": \"%s/uffd.sock\"}, \"working_set\": "
				 "{\"path\": \"%s\"}}", state, tdir, ws);
		FAULT(&d, "PUT", "/snapshot/load", body, "File memory backend");
		free(body);
		free(bad);
		free(missing);
	}
	CALL(&d, "GET", "/", NULL, 200);
	ck_assert_msg(strstr(d.c.body, "Not started"), "%s", d.c.body);
	body = load_body(state, mem, NULL);
	CALL(&d, "PUT", "/snapshot/load", body, 204);
	free(body);
	verify(&d);
	wisp_free(&d);
	free(buf);
	free(state);
	free(mem);
	free(ws);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wset");
	TCase *tc = tcase_create("wset");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, record_then_replay_then_refusals);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
