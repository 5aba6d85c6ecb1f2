/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_conformance.c — every path and verb of Firecracker's OpenAPI
 * spec, asked of a real build/wisp before and after boot: each is either
 * answered as the spec lists (a status among its responses; errors are 400
 * with a fault_message; never 404/500/a hang), or it is in docs/api.md's
 * list of unsupported paths and answers 400 "<path> is not supported by
 * wisp.".
 *
 * The spec is read from ${WISP_SOURCE_DIR}/../shared/reference/ when it is
 * there, else from the copy in tests/integration/data/ (Apache-2.0, from
 * Firecracker). A small line-based reader of the `paths:` section is enough:
 * paths are indented 2 spaces, verbs 4, response codes 8.
 */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_client.h"
#include "harness.h"

#define MAX_OPS 128
#define MAX_CODES 8

struct op {
	char path[128];      /* as in the spec: /drives/{drive_id} */
	char verb[8];        /* GET, PUT, PATCH ... */
	int codes[MAX_CODES];
	int ncodes;
	bool has_default;
};

static struct op ops[MAX_OPS];
static int nops;
static char unsupported[64][128];
static int nunsupported;
static char spec_used[4096];

static const char *source_dir(void)
{
	const char *d = getenv("WISP_SOURCE_DIR");

	return d ? d : ".";
}

static FILE *open_spec(void)
{
	FILE *f;

	snprintf(spec_used, sizeof(spec_used), "%s/../shared/reference/firecracker-api.yaml",
		 source_dir());
	f = fopen(spec_used, "r");
	if (f)
		return f;
	snprintf(spec_used, sizeof(spec_used), "%s/tests/integration/data/firecracker-api.yaml",
		 source_dir());
	return fopen(spec_used, "r");
}

static int indent_of(const char *l)
{
	int n = 0;

	while (l[n] == ' ')
		n++;
	return n;
}

static void load_spec(void)
{
	FILE *f = open_spec();
	char line[1024];
	bool in_paths = false, in_responses = false;
	char cur_path[128] = "";
	struct op *cur = NULL;

	ck_assert_msg(f != NULL, "cannot open the spec (%s)", spec_used);
	nops = 0;
	while (fgets(line, sizeof(line), f)) {
		int ind = indent_of(line);
		char *s = line + ind;

		s[strcspn(s, "\r\n")] = 0;
		if (ind == 0 && *s) {
			in_paths = strcmp(s, "paths:") == 0;
			continue;
		}
		if (!in_paths || !*s || *s == '#')
			continue;
		if (ind == 2 && s[0] == '/') {
			snprintf(cur_path, sizeof(cur_path), "%.*s", (int)strcspn(s, ":"), s);
			cur = NULL;
			continue;
		}
		if (ind == 4) {
			static const char *const verbs[] = { "get", "put", "patch", "post", "delete",
							     "head", "options" };

			cur = NULL;
			in_responses = false;
			for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
				size_t n = strlen(verbs[i]);

				if (strncmp(s, verbs[i], n) == 0 && s[n] == ':' && nops < MAX_OPS) {
					cur = &ops[nops++];
					memset(cur, 0, sizeof(*cur));
					snprintf(cur->path, sizeof(cur->path), "%s", cur_path);
					for (size_t k = 0; k <= n; k++)
						cur->verb[k] = (char)toupper((unsigned char)verbs[i][k]);
				}
			}
			continue;
		}
		if (!cur)
			continue;
		if (ind == 6)
			in_responses = strcmp(s, "responses:") == 0;
		else if (ind == 8 && in_responses) {
			if (strncmp(s, "default:", 8) == 0)
				cur->has_default = true;
			else if (isdigit((unsigned char)s[0]) && cur->ncodes < MAX_CODES)
				cur->codes[cur->ncodes++] = atoi(s);
		}
	}
	fclose(f);
}

/* The backticked paths of docs/api.md's "does not support" section. */
static void load_unsupported(void)
{
	char path[4096], line[1024];
	FILE *f;
	bool in = false;

	snprintf(path, sizeof(path), "%s/docs/api.md", source_dir());
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	nunsupported = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "## ", 3) == 0) {
			in = strstr(line, "does not support") != NULL;
			continue;
		}
		if (!in)
			continue;
		for (char *p = line; (p = strstr(p, "`/")); ) {
			char *end = strchr(p + 1, '`');

			if (!end || nunsupported >= 64)
				break;
			if (end - p < 3) {   /* "`/`" between two backticked words */
				p = end;
				continue;
			}
			snprintf(unsupported[nunsupported++], sizeof(unsupported[0]), "%.*s",
				 (int)(end - p - 1), p + 1);
			p = end + 1;
		}
	}
	fclose(f);
}

static bool is_unsupported(const char *spec_path)
{
	for (int i = 0; i < nunsupported; i++)
		if (strcmp(unsupported[i], spec_path) == 0)
			return true;
	return false;
}

/* /drives/{drive_id} -> /drives/<id> */
static void concrete_path(const char *spec_path, const char *id, char *out, size_t len)
{
	const char *b = strchr(spec_path, '{'), *e = b ? strchr(b, '}') : NULL;

	if (!b || !e) {
		size_t n = strlen(spec_path);

		ck_assert_uint_lt(n, len);
		memcpy(out, spec_path, n + 1);
	} else {
		snprintf(out, len, "%.*s%s%s", (int)(b - spec_path), spec_path, id, e + 1);
	}
}

static bool listed(const struct op *o, int status)
{
	for (int i = 0; i < o->ncodes; i++)
		if (o->codes[i] == status)
			return true;
	return false;
}

/* ------------------------------------------------------------------ */

struct wisp {
	struct proc p;
	char sock[100];
	struct api_client c;
};

static const char *tdir;

static void setup(void)
{
	tdir = tmpdir_make();
	load_spec();
	load_unsupported();
}

static void teardown(void)
{
	tmpdir_cleanup();
}

static void wisp_start(struct wisp *w)
{
	char *argv[] = { (char *)build_path("wisp"), "--api-sock", w->sock, "--id", "conf", NULL };

	snprintf(w->sock, sizeof(w->sock), "%s/api.sock", tdir);
	ck_assert_int_eq(proc_spawn(&w->p, argv), 0);
	proc_close_stdin(&w->p);
	ck_assert_msg(api_wait_socket(w->sock, 20000), "no socket: %s", w->p.err.data);
	api_client_init(&w->c, w->sock);
}

static void wisp_stop(struct wisp *w)
{
	if (!w->p.exited) {
		proc_signal(&w->p, SIGTERM);
		proc_finish(&w->p, 20000);
	}
	api_client_free(&w->c);
	proc_free(&w->p);
}

/* A body the endpoint accepts as valid JSON for its schema (the VM state
 * may still refuse it), or NULL when the verb takes none. */
static char *valid_body(const struct op *o, const char *id)
{
	char *b = NULL;
	const char *p = o->path, *v = o->verb;
	int r = 0;

	if (!strcmp(v, "GET"))
		return NULL;
	if (!strcmp(p, "/actions"))
		r = asprintf(&b, "{\"action_type\": \"FlushMetrics\"}");
	else if (!strcmp(p, "/boot-source"))
		r = asprintf(&b, "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
			     build_path("wisp-testguest"));
	else if (!strcmp(p, "/drives/{drive_id}") && !strcmp(v, "PUT"))
		r = asprintf(&b, "{\"drive_id\": \"%s\", \"path_on_host\": \"%s/disk.img\", "
			     "\"is_root_device\": false}", id, tdir);
	else if (!strcmp(p, "/drives/{drive_id}"))
		r = asprintf(&b, "{\"drive_id\": \"%s\", \"path_on_host\": \"%s/disk.img\"}", id, tdir);
	else if (!strcmp(p, "/logger"))
		r = asprintf(&b, "{\"level\": \"Info\"}");
	else if (!strcmp(p, "/machine-config") && !strcmp(v, "PUT"))
		r = asprintf(&b, "{\"vcpu_count\": 1, \"mem_size_mib\": 128}");
	else if (!strcmp(p, "/machine-config"))
		r = asprintf(&b, "{\"mem_size_mib\": 128}");
	else if (!strcmp(p, "/metrics"))
		r = asprintf(&b, "{\"metrics_path\": \"%s/metrics.json\"}", tdir);
	else if (!strcmp(p, "/network-interfaces/{iface_id}") && !strcmp(v, "PUT"))
		r = asprintf(&b, "{\"iface_id\": \"%s\", \"host_dev_name\": \"wisp-conf0\"}", id);
	else if (!strcmp(p, "/network-interfaces/{iface_id}"))
		r = asprintf(&b, "{\"iface_id\": \"%s\"}", id);
	else if (!strcmp(p, "/vm"))
		r = asprintf(&b, "{\"state\": \"Resumed\"}");
	else
		r = asprintf(&b, "{}");
	if (r < 0)
		abort();
	return b;
}

/* Ask every operation with an empty body and a valid one; check answers. */
static void check_all(struct wisp *w, const char *phase)
{
	for (int i = 0; i < nops; i++) {
		const struct op *o = &ops[i];
		char path[256], *bodies[2];
		const char *id = "d0";

		/* Drives and interfaces exist only if a PUT made them: the PATCH
		 * of an unknown id is still a well-formed refusal. */
		concrete_path(o->path, id, path, sizeof(path));
		bodies[0] = strcmp(o->verb, "GET") ? strdup("") : NULL;
		bodies[1] = valid_body(o, id);
		for (int k = 0; k < 2; k++) {
			long st;

			if (k == 0 && !bodies[0] && strcmp(o->verb, "GET"))
				continue;
			if (k == 1 && !bodies[1] && strcmp(o->verb, "GET"))
				continue;
			st = api_call(&w->c, o->verb, path, k == 0 ? (bodies[0] && *bodies[0] ?
								     bodies[0] : NULL) : bodies[1]);
			ck_assert_msg(st > 0, "[%s] %s %s: no answer (%s)", phase, o->verb, path,
				      w->c.body);
			if (is_unsupported(o->path)) {
				char want[320];

				snprintf(want, sizeof(want), "%s is not supported by wisp.", path);
				ck_assert_msg(st == 400 && strstr(w->c.body, want),
					      "[%s] %s %s (documented as unsupported): %ld %s", phase,
					      o->verb, path, st, w->c.body);
				continue;
			}
			ck_assert_msg(!strstr(w->c.body, "is not supported by wisp") &&
				      !strstr(w->c.body, "Invalid request method and/or path"),
				      "[%s] %s %s is in the spec but neither implemented nor listed "
				      "in docs/api.md: %s", phase, o->verb, path, w->c.body);
			if (st == 400) {
				ck_assert_msg(listed(o, 400) || o->has_default,
					      "[%s] %s %s: 400 not in the spec's responses", phase,
					      o->verb, path);
				ck_assert_msg(strstr(w->c.body, "\"fault_message\""),
					      "[%s] %s %s: 400 without fault_message: %s", phase,
					      o->verb, path, w->c.body);
			} else {
				ck_assert_msg(listed(o, (int)st),
					      "[%s] %s %s: status %ld is not among the spec's "
					      "responses (%s)", phase, o->verb, path, st, w->c.body);
				if (st == 200)
					ck_assert_msg(w->c.body[0] == '{', "[%s] %s %s: 200 body %s",
						      phase, o->verb, path, w->c.body);
				else
					ck_assert_msg(w->c.body[0] == 0, "[%s] %s %s: 204 with a body",
						      phase, o->verb, path);
			}
		}
		free(bodies[0]);
		free(bodies[1]);
	}
}

START_TEST(spec_is_read)
{
	bool actions = false, drives_patch = false;

	ck_assert_msg(nops >= 25, "only %d operations read from %s", nops, spec_used);
	for (int i = 0; i < nops; i++) {
		if (!strcmp(ops[i].path, "/actions") && !strcmp(ops[i].verb, "PUT"))
			actions = listed(&ops[i], 204) && listed(&ops[i], 400);
		if (!strcmp(ops[i].path, "/drives/{drive_id}") && !strcmp(ops[i].verb, "PATCH"))
			drives_patch = true;
	}
	ck_assert(actions && drives_patch);
	/* a sanity check that the list was read (it shrinks as paths get implemented) */
	ck_assert_msg(nunsupported >= 4, "docs/api.md lists %d unsupported paths", nunsupported);
}
END_TEST

START_TEST(documented_unsupported_paths_are_spec_paths)
{
	for (int i = 0; i < nunsupported; i++) {
		bool found = false;

		for (int k = 0; k < nops && !found; k++)
			found = strcmp(ops[k].path, unsupported[i]) == 0;
		ck_assert_msg(found, "docs/api.md lists %s, which is not in the spec", unsupported[i]);
	}
}
END_TEST

START_TEST(every_operation_answers_per_spec_before_and_after_boot)
{
	struct wisp w;
	char *img;
	int fd;

	if (asprintf(&img, "%s/disk.img", tdir) < 0)
		abort();
	fd = open(img, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);

	wisp_start(&w);
	check_all(&w, "pre-boot");
	/* check_all configured a boot source, machine, a drive and a tap that
	 * does not exist; drop the tap by starting from a clean instance. */
	wisp_stop(&w);
	unlink(w.sock);

	wisp_start(&w);
	{
		char *b = valid_body(&(struct op){ .path = "/boot-source", .verb = "PUT" }, "d0");

		long st = api_call(&w.c, "PUT", "/boot-source", b);

		if (st != 204)
			proc_finish(&w.p, 2000);
		ck_assert_msg(st == 204, "PUT /boot-source: %ld %s\n%s\nstatus %d", st, w.c.body, w.p.err.data, w.p.status);
		free(b);
		b = valid_body(&(struct op){ .path = "/drives/{drive_id}", .verb = "PUT" }, "d0");
		ck_assert_int_eq(api_call(&w.c, "PUT", "/drives/d0", b), 204);
		free(b);
	}
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
			 204);
	ck_assert(proc_wait_for(&w.p, "TICK 1", 60000));
	check_all(&w, "post-boot");
	/* Still alive and ticking after all of it. */
	ck_assert_int_eq(api_call(&w.c, "GET", "/", NULL), 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Running"));
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"),
			 204);
	ck_assert(proc_finish(&w.p, 60000));
	ck_assert_msg(w.p.status == 0 && strstr(w.p.out.data, "WTEST ticker PASS"),
		      "status %d\n%s\n%s", w.p.status, w.p.out.data, w.p.err.data);
	free(img);
	wisp_stop(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_conformance");
	TCase *tc = tcase_create("spec");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, spec_is_read);
	tcase_add_test(tc, documented_unsupported_paths_are_spec_paths);
	tcase_add_test(tc, every_operation_answers_per_spec_before_and_after_boot);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
