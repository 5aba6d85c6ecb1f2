/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_logging.c — Firecracker's functional/test_logging.py re-expressed
 * against build/wisp with the test guest: the API request lines and the
 * "Received Error" line in the file PUT /logger names, the line format
 * `<time> [<id>:<thread>(:<LEVEL>)(:<dir/file>:<line>)] <message>` for each
 * level and show_level/show_log_origin, "Running Firecracker" first; and
 * the logger's other rules: the `module` filter, a PUT without `level`
 * going back to Info, bad input refused without changing anything.
 */
#include <check.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"

#define GUEST_MS 60000
#define START_MS 20000

/* Firecracker's LOG_LEVELS, in this order. */
static const char *const log_levels[] = { "ERROR", "WARN", "INFO", "DEBUG", NULL };

static char *path(const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", tmpdir_make(), name), 0);
	return p;
}

static char *file_text(const char *file)
{
	size_t len = 0;
	char *raw = read_whole_file(file, &len), *t;

	t = raw ? strndup(raw, len) : strdup("");
	free(raw);
	return t;
}

/* microvm.check_log_message(): the log file holds `msg` (within 2 s). */
static void check_log_message(struct wisp *w, const char *file, const char *msg)
{
	char *t = NULL;

	for (int i = 0; i < 40; i++) {
		free(t);
		t = file_text(file);
		if (strstr(t, msg))
			break;
		usleep(50 * 1000);
	}
	ck_assert_msg(strstr(t, msg), "'%s' not in the log %s:\n%s\nstderr:\n%s", msg, file, t,
		      w->p.err.data);
	free(t);
}

static void call_fmt(struct wisp *w, const char *method, const char *url, int want,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void call_fmt(struct wisp *w, const char *method, const char *url, int want,
		     const char *fmt, ...)
{
	va_list ap;
	char *b;

	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&b, fmt, ap), 0);
	va_end(ap);
	CALL(w, method, url, b, want);
	free(b);
}

static void basic_config(struct wisp *w)
{
	call_fmt(w, "PUT", "/boot-source", 204,
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		 build_path("wisp-testguest"));
	CALL(w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
}

/* Firecracker: functional/test_logging.py::test_api_requests_logs
 * (/mmds: wisp has no MMDS and refuses the requests, but logs them as
 * Firecracker does; docs/api.md lists /mmds as not supported) */
START_TEST(api_requests_logs)
{
	static const char *const fault_msg =
		"Boot source error: The kernel file cannot be opened: No such file or directory "
		"(os error 2)";
	struct wisp w;
	char *sock = path("api.sock"), *log = path("log"), *new_log = path("new_log");
	char want[512];

	wisp_spawn(&w, sock, "logs1", NULL);
	basic_config(&w);
	call_fmt(&w, "PUT", "/logger", 204, "{\"log_path\": \"%s\", \"level\": \"Info\", "
		 "\"show_level\": true, \"show_log_origin\": true}", log);

	/* A Patch request on /machine-config is logged with its body. */
	CALL(&w, "PATCH", "/machine-config", "{\"vcpu_count\": 4}", 204);
	check_log_message(&w, log, "The API server received a Patch request on \"/machine-config\" "
			  "with body");
	/* A Put request on /machine-config. */
	CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 4, \"mem_size_mib\": 128}", 204);
	check_log_message(&w, log, "The API server received a Put request on \"/machine-config\" "
			  "with body");
	/* A Get request on /machine-config, without a body. */
	CALL(&w, "GET", "/machine-config", NULL, 200);
	check_log_message(&w, log, "The API server received a Get request on \"/machine-config\".");

	/* Re-configure logging. */
	call_fmt(&w, "PUT", "/logger", 204, "{\"log_path\": \"%s\", \"level\": \"Info\", "
		 "\"show_level\": true, \"show_log_origin\": true}", new_log);
	api_call(&w.c, "PUT", "/mmds", "{\"latest\": {\"meta-data\": {\"ami-id\": \"dummy\"}}}");
	check_log_message(&w, new_log, "The API server received a Put request on \"/mmds\".");
	api_call(&w.c, "PATCH", "/mmds", "{\"latest\": {\"meta-data\": {\"ami-id\": \"dummy\"}}}");
	check_log_message(&w, new_log, "The API server received a Patch request on \"/mmds\".");
	api_call(&w.c, "GET", "/mmds", NULL);
	check_log_message(&w, new_log, "The API server received a Get request on \"/mmds\".");

	/* The fault message the client gets is also in the log. */
	FAULT(&w, "PUT", "/boot-source", "{\"kernel_image_path\": \"inexistent_path\"}", fault_msg);
	snprintf(want, sizeof(want), "Received Error. Status code: 400 Bad Request. Message: %s",
		 fault_msg);
	check_log_message(&w, new_log, want);
	free(sock);
	free(log);
	free(new_log);
	wisp_free(&w);
}
END_TEST

/* Start build/wisp with Firecracker's logger flags and --log-path. */
static void spawn_logged(struct wisp *w, const char *id, const char *level, bool show_level,
			 bool show_origin, const char *log, const char *module)
{
	const char *argv[20];
	int i = 0;

	memset(w, 0, sizeof(*w));
	snprintf(w->sock, sizeof(w->sock), "%s/%s.sock", tmpdir_make(), id);
	argv[i++] = build_path("wisp");
	argv[i++] = "--api-sock";
	argv[i++] = w->sock;
	argv[i++] = "--id";
	argv[i++] = id;
	argv[i++] = "--level";
	argv[i++] = level;
	argv[i++] = "--log-path";
	argv[i++] = log;
	if (show_level)
		argv[i++] = "--show-level";
	if (show_origin)
		argv[i++] = "--show-log-origin";
	if (module) {
		argv[i++] = "--module";
		argv[i++] = module;
	}
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w->p, (char *const *)argv), 0);
	if (!api_wait_socket(w->sock, START_MS)) {
		proc_finish(&w->p, 1000);
		ck_abort_msg("wisp did not open its socket\n%s\n%s", w->p.out.data, w->p.err.data);
	}
	api_client_init(&w->c, w->sock);
	w->up = true;
}

static int level_no(const char *name)
{
	for (int i = 0; log_levels[i]; i++)
		if (!strcmp(log_levels[i], name))
			return i;
	return -1;
}

/* check_log_message_format(): one line against Firecracker's pattern. */
static void check_log_message_format(const char *line, const char *id, const char *level,
				     bool show_level, bool show_origin)
{
	char pattern[512];
	regmatch_t mt[8];
	regex_t re;
	int n;

	/* YYYY-MM-DDTHH:MM:SS.NNNNNNNNN, then the tag. */
	n = snprintf(pattern, sizeof(pattern),
		     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9} \\[(%s):(.*)",
		     id);
	if (show_level)
		n += snprintf(pattern + n, sizeof(pattern) - n, ":(ERROR|WARN|INFO|DEBUG)");
	if (show_origin)
		n += snprintf(pattern + n, sizeof(pattern) - n, ":([^:]+/[^:]+):([0-9]+)");
	snprintf(pattern + n, sizeof(pattern) - n, "\\].*");
	ck_assert_int_eq(regcomp(&re, pattern, REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, line, 8, mt, 0) == 0,
		      "Log message (%s) does not match pattern (%s).", line, pattern);
	if (show_level) {
		char tag[8];
		int len = (int)(mt[3].rm_eo - mt[3].rm_so);

		snprintf(tag, sizeof(tag), "%.*s", len, line + mt[3].rm_so);
		ck_assert_msg(level_no(tag) <= level_no(level), "%s line at level %s: %s", tag,
			      level, line);
	}
	regfree(&re);
}

/* Firecracker: functional/test_logging.py::test_log_config (its six
 * parameter sets) */
START_TEST(log_config)
{
	static const struct { const char *level, *formal; bool show_level, show_origin; } p[] = {
		{ "Info", "INFO", true, true }, { "Info", "INFO", false, true },
		{ "Info", "INFO", true, false }, { "Info", "INFO", false, false },
		{ "Error", "ERROR", false, false }, { "Warning", "WARN", false, false },
	};
	struct wisp w;
	char *log = path("fc.log"), *text, *save = NULL, *first = NULL;
	int lines = 0;

	spawn_logged(&w, "logcfg", p[_i].level, p[_i].show_level, p[_i].show_origin, log, NULL);
	basic_config(&w);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&w.p, "TICK 1", GUEST_MS));
	text = file_text(log);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!first)
			first = l;
		check_log_message_format(l, "logcfg", p[_i].formal, p[_i].show_level,
					 p[_i].show_origin);
		lines++;
	}
	/* The `Running Firecracker` message first, at Info. */
	if (level_no("INFO") <= level_no(p[_i].formal)) {
		ck_assert_msg(first && strstr(first, "Running Firecracker"), "first line: %s",
			      first ? first : "(none)");
		ck_assert_int_gt(lines, 3);
	}
	/* The origin is a path from the source root ("vmm/main.c:N"), not
	 * a bare file name and not an absolute path. */
	if (p[_i].show_origin && lines) {
		ck_assert_msg(strstr(text, ":vmm/main.c:"), "%s", text);
		ck_assert_msg(!strstr(text, ":/"), "%s", text);
	}
	free(text);
	free(log);
	wisp_free(&w);
}
END_TEST

/* Firecracker's LoggerConfig.module (and --module): only lines whose origin
 * starts with it. wisp's origins are source paths; a Rust-style "::" reads
 * as "/". */
START_TEST(module_filter)
{
	struct wisp w;
	char *log = path("mod.log"), *log2 = path("mod2.log"), *text, *save = NULL;
	int lines = 0;

	spawn_logged(&w, "mod1", "Info", true, true, log, NULL);
	call_fmt(&w, "PUT", "/logger", 204, "{\"log_path\": \"%s\", \"module\": \"api::\"}", log2);
	basic_config(&w);
	CALL(&w, "GET", "/machine-config", NULL, 200);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&w.p, "TICK 1", GUEST_MS));
	CALL(&w, "GET", "/", NULL, 200);
	check_log_message(&w, log2, "The API server received a Get request on \"/\".");
	text = file_text(log2);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(strstr(l, ":INFO:api/") || strstr(l, ":ERROR:api/") ||
				      strstr(l, ":WARN:api/"),
			      "a line from outside api/: %s", l);
		lines++;
	}
	ck_assert_int_gt(lines, 2);
	free(text);
	wisp_free(&w);

	/* --module on the command line: nothing but vmm/kvm lines. */
	spawn_logged(&w, "mod2", "Info", false, true, log, "vmm/kvm");
	basic_config(&w);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&w.p, "TICK 1", GUEST_MS));
	text = file_text(log);
	save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strstr(l, "[mod2:"))
			ck_assert_msg(strstr(l, ":vmm/kvm/"), "a line from outside vmm/kvm: %s", l);
	free(text);
	free(log);
	free(log2);
	wisp_free(&w);
}
END_TEST

/* Firecracker's Logger::update(): a PUT /logger without `level` sets the
 * default level (Info); show_level and show_log_origin keep their value. */
START_TEST(put_logger_without_level_is_info)
{
	struct wisp w;
	char *log = path("lvl.log"), *text;

	spawn_logged(&w, "lvl1", "Info", true, false, log, NULL);
	call_fmt(&w, "PUT", "/logger", 204, "{\"log_path\": \"%s\", \"level\": \"Error\"}", log);
	CALL(&w, "GET", "/machine-config", NULL, 200);
	CALL(&w, "PUT", "/logger", "{\"show_log_origin\": true}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	check_log_message(&w, log, ":INFO:api/");   /* Info again, level still shown */
	text = file_text(log);
	ck_assert_msg(!strstr(text, "Get request on \"/machine-config\""),
		      "an Info line while the level was Error:\n%s", text);
	free(text);
	free(log);
	wisp_free(&w);
}
END_TEST

/* Bad logger input is refused with Firecracker's words and changes
 * nothing. */
START_TEST(bad_logger_input_changes_nothing)
{
	struct wisp w;
	char *log = path("bad.log"), *text;

	spawn_logged(&w, "bad1", "Info", false, false, log, NULL);
	FAULT(&w, "PUT", "/logger", "{\"log_path\": \"/nonexistent/dir/x.log\", \"level\": \"Error\"}",
	      "Logger error: Failed to open target file: No such file or directory (os error 2)");
	FAULT(&w, "PUT", "/logger", "{\"level\": \"Loud\"}", "level");
	FAULT(&w, "PUT", "/logger", "{\"module\": 7}", "module");
	FAULT(&w, "PUT", "/logger", "{\"show_level\": \"yes\"}", "show_level");
	/* Still Info, still the same file, no level shown. */
	CALL(&w, "GET", "/machine-config", NULL, 200);
	check_log_message(&w, log, "] The API server received a Get request on \"/machine-config\".");
	text = file_text(log);
	ck_assert_ptr_null(strstr(text, ":INFO"));
	free(text);
	free(log);
	wisp_free(&w);
}
END_TEST

static void setup(void)
{
	tmpdir_make();
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		exit(77);
}

static void teardown(void)
{
	tmpdir_cleanup();
}

int main(void)
{
	Suite *s = suite_create("fc_logging");
	TCase *tc = tcase_create("logging");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, api_requests_logs);
	tcase_add_loop_test(tc, log_config, 0, 6);
	tcase_add_test(tc, module_filter);
	tcase_add_test(tc, put_logger_without_level_is_info);
	tcase_add_test(tc, bad_logger_input_changes_nothing);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
