/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_wset.c — PUT /snapshot/load's working_set (docs/snapshots.md),
 * end to end: boot the test guest's `snap` scenario, snapshot it, SIGKILL;
 * then
 *  - record: load with {"record": true} in a new process and let the
 *    restored guest run its `V` self-check (it reads every page of its
 *    pattern); the guest passes, and the working-set file written when the
 *    VM ends (version 2) lists every pattern page, no page twice, none
 *    beyond RAM, is bound to the state file (its CRC-64) and holds each
 *    listed page's contents, equal to the memory file's;
 *  - replay on a cold page cache (both files evicted) in another process:
 *    the listed ranges are mapped from the page copies, `T` reads its
 *    scattered pages right and the guest passes; the same list as a
 *    version-1 file (no copies) replays from the memory file and passes;
 *  - replay with "copy" (cold): the copies placed in anonymous memory, the
 *    rest served by wisp; `T`, a Full snapshot of that VM, `V`; the new
 *    snapshot loads in another process and passes;
 *  - a record that ends on its timer (record_ms 100, the file written by
 *    the recording thread under seccomp) while the guest idles: the file
 *    is there and the guest, still served, passes;
 *  - refusals: a corrupt file, a missing one, a page beyond RAM, copies
 *    recorded against another snapshot, a copy count that does not match,
 *    "copy" with a version-1 file or with "record",
 *    a Uffd backend, an unknown key: 400 naming the cause, and the same process
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

/* A new wisp (named name) that loads the snapshot, with the working_set
 * object ws_obj (JSON) or without one (NULL). */
static void start_and_load(struct wisp *w, const char *name, const char *state,
			   const char *mem, const char *ws_obj)
{
	char *more = ws_obj ? xasprintf("\"working_set\": %s", ws_obj) : NULL;
	char *body = load_body(state, mem, more);

	wisp_start(w, name);
	CALL(w, "PUT", "/snapshot/load", body, 204);
	free(body);
	free(more);
}

/* `T`: the guest reads its scattered pages. */
static void touch(struct wisp *w)
{
	ck_assert_int_eq(proc_send(&w->p, "T", 1), 0);
	WAIT_FOR(w, "SNAP touched 1024 pages in ");
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

/* Evict a file from the page cache (a cold load). */
static void evict(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

START_TEST(record_then_replay_then_refusals)
{
	char *state, *mem, *ws, *body, *more;
	unsigned long start, end;
	struct wisp b, c, d, e;
	uint8_t *buf, *seen;
	uint64_t n, pages = (uint64_t)GUEST_MIB * 1024 * 1024 / PAGE, v64, data_off, *sorted;
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
	ck_assert_uint_eq(v32, 2);
	memcpy(&v32, buf + 12, 4);
	ck_assert_uint_eq(v32, PAGE);
	memcpy(&v64, buf + 16, 8);
	ck_assert_uint_eq(v64, pages * PAGE);
	memcpy(&n, buf + 24, 8);
	/* Bound to the state file: the CRC-64 it ends with. */
	{
		size_t slen;
		uint8_t *sb = read_whole_file(state, &slen);

		ck_assert_ptr_nonnull(sb);
		ck_assert_int_eq(memcmp(buf + 32, sb + slen - 8, 8), 0);
		free(sb);
	}
	memcpy(&data_off, buf + 40, 8);
	ck_assert_uint_eq(data_off, (64 + 8 * n + PAGE - 1) / PAGE * PAGE);
	memcpy(&v64, buf + 48, 8);
	ck_assert_uint_eq(v64, n);
	memcpy(&v64, buf + 56, 8);
	ck_assert_uint_eq(v64, 0);
	ck_assert_uint_eq(len, data_off + n * PAGE);
	seen = calloc(pages, 1);
	sorted = malloc(n * 8);
	for (uint64_t i = 0; i < n; i++) {
		memcpy(&v64, buf + 64 + 8 * i, 8);
		ck_assert_msg(v64 < pages, "entry %llu: page %llu beyond RAM",
			      (unsigned long long)i, (unsigned long long)v64);
		ck_assert_msg(!seen[v64], "page %llu listed twice", (unsigned long long)v64);
		seen[v64] = 1;
		sorted[i] = v64;
	}
	for (unsigned long x = start; x < end; x += PAGE)
		ck_assert_msg(seen[x / PAGE], "pattern page 0x%lx not in the working set", x);
	/* Copy i is the i-th listed page in ascending order, as in the memory file. */
	qsort(sorted, n, 8, cmp_u64);
	{
		size_t mlen;
		uint8_t *mb = read_whole_file(mem, &mlen);

		ck_assert_ptr_nonnull(mb);
		for (uint64_t i = 0; i < n; i++) {
			const uint8_t *want = sorted[i] * PAGE + PAGE <= mlen ? mb + sorted[i] * PAGE
									      : NULL;
			static const uint8_t zero[PAGE];

			ck_assert_msg(memcmp(buf + data_off + i * PAGE, want ? want : zero, PAGE) == 0,
				      "copy %llu (page %llu) differs from the memory file",
				      (unsigned long long)i, (unsigned long long)sorted[i]);
		}
		free(mb);
	}
	printf("working set: %llu pages (%llu KiB); pattern [0x%lx-0x%lx) %lu pages\n",
	       (unsigned long long)n, (unsigned long long)n * 4, start, end, (end - start) / PAGE);
	free(seen);
	wisp_free(&b);

	/* Replay in a new process, on a cold page cache: mapped from the
	 * copies; `T` (scattered pattern pages) reads right, then `V`. */
	evict(mem);
	evict(ws);
	more = xasprintf("{\"path\": \"%s\"}", ws);
	start_and_load(&c, "c", state, mem, more);
	free(more);
	touch(&c);
	verify(&c);
	ck_assert_msg(strstr(c.p.err.data, "made present") &&
			      strstr(c.p.err.data, "mapped from its page copies"), "%s", c.p.err.data);
	wisp_free(&c);

	/* The same list as a version-1 file (no copies): read ahead from the
	 * memory file. */
	{
		char *v1 = xasprintf("%s/v1.wset", tdir);
		uint8_t *b1 = malloc(32 + 8 * n);

		memcpy(b1, buf, 32);
		v32 = 1;
		memcpy(b1 + 8, &v32, 4);
		memcpy(b1 + 32, buf + 64, 8 * n);
		write_file(v1, b1, 32 + 8 * n);
		evict(mem);
		more = xasprintf("{\"path\": \"%s\"}", v1);
		start_and_load(&c, "c1", state, mem, more);
		free(more);
		verify(&c);
		ck_assert_msg(strstr(c.p.err.data, "made present") &&
				      strstr(c.p.err.data, "from the memory file"), "%s", c.p.err.data);
		wisp_free(&c);
		free(b1);
		free(v1);
	}

	/* Replay with "copy" on a cold page cache: guest RAM anonymous, the
	 * listed pages copied in, the rest served by wisp; T and a snapshot of
	 * the running copy (every page read through wisp's server), then V;
	 * that snapshot loads in another process and passes too. */
	evict(mem);
	evict(ws);
	more = xasprintf("{\"path\": \"%s\", \"copy\": true}", ws);
	start_and_load(&c, "cp", state, mem, more);
	free(more);
	touch(&c);
	ck_assert_msg(strstr(c.p.err.data, "wisp serves guest memory from the memory file") &&
			      strstr(c.p.err.data, "copied in from its page copies"), "%s",
		      c.p.err.data);
	CALL(&c, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	{
		char *state2 = xasprintf("%s/vm2.state", tdir), *mem2 = xasprintf("%s/vm2.mem", tdir);

		body = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
				 "\"mem_file_path\": \"%s\"}", state2, mem2);
		CALL(&c, "PUT", "/snapshot/create", body, 204);
		free(body);
		CALL(&c, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
		verify(&c);
		wisp_free(&c);
		start_and_load(&c, "cp2", state2, mem2, NULL);
		verify(&c);
		wisp_free(&c);
		free(state2);
		free(mem2);
	}

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
		/* One page, beyond RAM (version 1). */
		memcpy(beyond, buf, 32);
		v32 = 1;
		memcpy(beyond + 8, &v32, 4);
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
		/* copy needs page copies (version 2), and is for replays only. */
		{
			char *v1 = xasprintf("%s/v1.wset", tdir);

			more = xasprintf("\"working_set\": {\"path\": \"%s\", \"copy\": true}", v1);
			body = load_body(state, mem, more);
			FAULT(&d, "PUT", "/snapshot/load", body, "has no page copies");
			free(body);
			free(more);
			free(v1);
		}
		more = xasprintf("\"working_set\": {\"path\": \"%s\", \"record\": true, "
				 "\"copy\": true}", ws);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "is only meaningful when replaying");
		free(body);
		free(more);
		/* Copies recorded against another snapshot: refused, never mapped. */
		buf[32] ^= 1;
		write_file(bad, buf, len);
		buf[32] ^= 1;
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", bad);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "recorded against another snapshot");
		free(body);
		free(more);
		/* One copy announced less than pages listed (and the file one page
		 * shorter to match). */
		memcpy(&v64, buf + 48, 8);
		v64--;
		memcpy(buf + 48, &v64, 8);
		write_file(bad, buf, len - PAGE);
		v64++;
		memcpy(buf + 48, &v64, 8);
		more = xasprintf("\"working_set\": {\"path\": \"%s\"}", bad);
		body = load_body(state, mem, more);
		FAULT(&d, "PUT", "/snapshot/load", body, "page copies for");
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
	free(sorted);
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
