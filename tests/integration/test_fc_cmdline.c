/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_cmdline.c — Firecracker's command-line-level tests re-expressed
 * for wisp (functional/test_cmd_line_start.py, test_cmd_line_parameters.py,
 * test_api_server.py, and what tests/framework/microvm.py relies on when it
 * spawns a VMM), run against wisp installed under Firecracker's names: a
 * real copy of build/wisp named `firecracker` (and of build/wisp-jailer
 * named `jailer`), made by scripts/install-firecracker-names.sh or
 * `cmake --install --component firecracker-names`.
 *
 * The test guest stands in for Firecracker's guest kernel: `hello` ends with
 * a reset (the guest's `reboot`), `ticker` runs until stopped,
 * `triple-fault` crashes. Left out, because they need a Linux guest's user
 * space or a device wisp does not have:
 *  - test_cmd_line_start.py: test_start_with_metadata*,
 *    test_start_with_missing_metadata, test_start_with_invalid_metadata,
 *    test_config_start_and_mmds_with_api, test_with_config_and_metadata_no_api
 *    (MMDS and --metadata: not supported, docs/api.md "What wisp does not
 *    support"); test_config_with_default_limit and test_config_start_with_limit
 *    (the payload-limit answer byte for byte: test_fc_seccomp.c, helper
 *    "seccomp"); the GET /vm/config comparison of test_config_start_with_api
 *    and the "one single json" log lines (test_fc_vmconfig.c); the C3 half of
 *    test_config_machine_config_params (test_fc_cputemplate.c).
 *  - test_cmd_line_parameters.py::test_cli_metrics_path: the metrics line's
 *    schema is checked by test_fc_metrics.c; here only that a line is written.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"

#include "../../vmm/vmm.h"   /* WISP_VERSION, WISP_FC_VERSION */

static const char *tdir;
static char fc_bin[512], jailer_bin[512];

static char *tpath(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", tdir, name), 0);
	return p;
}

/* Install wisp under Firecracker's names into <tmp>/inst/lib/wisp with the
 * project's script (a copy, as a package would ship it). */
static void setup(void)
{
	char *cmd;
	struct stat st;

	tdir = tmpdir_make();
	ck_assert_int_ge(asprintf(&cmd, "'%s/scripts/install-firecracker-names.sh' --build '%s' "
				  "'%s/inst' >/dev/null",
				  getenv("WISP_SOURCE_DIR") ? getenv("WISP_SOURCE_DIR") : ".",
				  build_path(""), tdir), 0);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
	snprintf(fc_bin, sizeof(fc_bin), "%s/inst/lib/wisp/firecracker", tdir);
	snprintf(jailer_bin, sizeof(jailer_bin), "%s/inst/lib/wisp/jailer", tdir);
	ck_assert_int_eq(lstat(fc_bin, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
}

static void teardown(void)
{
	tmpdir_cleanup();
}

/* The whole file as a NUL-terminated string ("" if missing). */
static char *slurp(const char *path)
{
	size_t len = 0;
	char *d = read_whole_file(path, &len), *s = malloc(len + 1);

	ck_assert_ptr_nonnull(s);
	if (d)
		memcpy(s, d, len);
	s[len] = 0;
	free(d);
	return s;
}

/* A small /proc file (its size reads as 0) as a string. */
static char *slurp_proc(const char *path)
{
	char *s = calloc(1, 4096);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, s, 4095) : -1;

	ck_assert_ptr_nonnull(s);
	if (fd >= 0)
		close(fd);
	s[n > 0 ? n : 0] = 0;
	return s;
}

/* Wait (up to timeout_ms) until the file at path contains needle. */
static bool file_wait_for(const char *path, const char *needle, int timeout_ms)
{
	for (int t = 0; t <= timeout_ms; t += 50) {
		char *s = slurp(path);
		bool found = strstr(s, needle) != NULL;

		free(s);
		if (found)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

/* Firecracker's framework (microvm.py::get_exit_code) reads the status from
 * r"Firecracker exiting (with error|successfully). exit_code=(\d+)". */
static int logged_exit_code(const char *log)
{
	const char *ok = strstr(log, "Firecracker exiting successfully. exit_code=");
	const char *bad = strstr(log, "Firecracker exiting with error. exit_code=");
	const char *p = ok ? ok : bad;

	if (!p || (ok && bad))
		return -1;
	return atoi(strstr(p, "exit_code=") + strlen("exit_code="));
}

/* ------------------------------------------------------------------ */
/* Versions                                                             */
/* ------------------------------------------------------------------ */

/* Kata's Go runtime (virtcontainers/fc.go parseVersion + checkVersion):
 * line 1 split on ' ', word 2, spaces trimmed, leading 'v' removed, parsed
 * as semver (blang/semver: MAJOR.MINOR.PATCH, numbers without leading
 * zeros, optional -pre / +build) and compared with 0.21.1. Returns
 * major*1e6+minor*1e3+patch, or -1 where Kata would refuse the text. */
static long kata_go_version(const char *out)
{
	char line[256], *w, *sp;
	long part[3];
	const char *s;
	size_t n = strcspn(out, "\n");

	if (n >= sizeof(line))
		return -1;
	memcpy(line, out, n);
	line[n] = 0;
	sp = strchr(line, ' ');
	if (!sp)
		return -1;
	w = sp + 1;
	if ((sp = strchr(w, ' ')))
		*sp = 0;
	while (*w == '\t' || *w == '\r')
		w++;
	if (*w == 'v')
		w++;
	s = w;
	for (int i = 0; i < 3; i++) {
		char *end;

		if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
			return -1;
		part[i] = strtol(s, &end, 10);
		s = end;
		if (i < 2 && *s++ != '.')
			return -1;
	}
	if (*s && *s != '-' && *s != '+')
		return -1;
	return part[0] * 1000000 + part[1] * 1000 + part[2];
}

/* Firecracker: framework/microvm.py::firecracker_version
 * (re.match(r"^Firecracker v(.+)", first line)), functional/test_api.py::
 * test_api_version (the binary's version as semver); Kata's version check. */
START_TEST(version_shape)
{
	const char *bins[] = { fc_bin, build_path("wisp") };

	for (unsigned i = 0; i < 2; i++) {
		char *argv[] = { (char *)bins[i], "--version", NULL };
		char *help[] = { (char *)bins[i], "--help", NULL };
		struct proc p;

		ck_assert(proc_run(&p, argv, 5000));
		ck_assert_int_eq(p.status, 0);
		ck_assert_str_eq(p.out.data, "Firecracker v" WISP_FC_VERSION "\n\nwisp v" WISP_VERSION
				 ", implementing the Firecracker v" WISP_FC_VERSION " API\n");
		/* A person sees it is wisp. */
		ck_assert_ptr_nonnull(strstr(p.out.data, "wisp v" WISP_VERSION));
		ck_assert_str_eq(p.err.data, "");
		/* Kata Go: needs >= 0.21.1. */
		ck_assert_int_ge(kata_go_version(p.out.data), 21001);
		ck_assert_int_eq(kata_go_version(p.out.data),
				 kata_go_version("Firecracker v" WISP_FC_VERSION));
		proc_free(&p);

		ck_assert(proc_run(&p, help, 5000));
		ck_assert_int_eq(p.status, 0);
		ck_assert_msg(!strncmp(p.out.data, "Firecracker v" WISP_FC_VERSION "\n\nwisp v",
				       strlen("Firecracker v" WISP_FC_VERSION "\n\nwisp v")),
			      "%s", p.out.data);
		ck_assert_ptr_nonnull(strstr(p.out.data, "/run/firecracker.socket"));
		ck_assert_ptr_nonnull(strstr(p.out.data, "--snapshot-version"));
		proc_free(&p);
	}
	/* The parser itself refuses what Kata refuses (so the checks above can
	 * fail): wisp's old line, a non-semver word, an old version. */
	ck_assert_int_eq(kata_go_version("wisp 0.1\n"), -1);
	ck_assert_int_eq(kata_go_version("Firecracker\n"), -1);
	ck_assert_int_lt(kata_go_version("Firecracker v0.21.0\n"), 21001);
	ck_assert_int_eq(kata_go_version("Firecracker v1.17.0-dev\n"), 1017000);
}
END_TEST

/* The jailer installed as `jailer` prints Firecracker's jailer line first
 * (Firecracker: framework/jailer.py runs `jailer --version`, Kata checks
 * jailer_path exists; security/test_jail.py owns the rest, test_fc_jail). */
START_TEST(installed_names)
{
	char *argv[] = { jailer_bin, "--version", NULL };
	char *cmd, *inst2 = tpath("inst2");
	struct proc p;
	struct stat st;

	/* Real files, not symlinks (the jailer canonicalises --exec-file). */
	ck_assert_int_eq(lstat(jailer_bin, &st), 0);
	ck_assert(S_ISREG(st.st_mode) && (st.st_mode & 0111));
	ck_assert(proc_run(&p, argv, 5000));
	ck_assert_int_eq(p.status, 0);
	ck_assert_msg(!strncmp(p.out.data, "Jailer v" WISP_FC_VERSION "\n\n",
			       strlen("Jailer v" WISP_FC_VERSION "\n\n")), "%s", p.out.data);
	ck_assert_ptr_nonnull(strstr(p.out.data, "wisp-jailer v" WISP_VERSION));
	proc_free(&p);

	/* cmake --install, component firecracker-names, gives the same two
	 * files (default directory lib/wisp) with the same content. */
	ck_assert_int_ge(asprintf(&cmd, "cmake --install '%s' --prefix '%s' --component "
				  "firecracker-names >/dev/null", build_path(""), inst2), 0);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
	{
		const char *names[] = { "firecracker", "jailer" };
		const char *orig[] = { "wisp", "wisp-jailer" };

		for (int i = 0; i < 2; i++) {
			char *path, *a, *b;
			size_t la = 0, lb = 0;

			ck_assert_int_ge(asprintf(&path, "%s/lib/wisp/%s", inst2, names[i]), 0);
			ck_assert_int_eq(lstat(path, &st), 0);
			ck_assert_msg(S_ISREG(st.st_mode) && (st.st_mode & 0111), "%s", path);
			a = read_whole_file(path, &la);
			b = read_whole_file(build_path(orig[i]), &lb);
			ck_assert(a && b && la == lb && memcmp(a, b, la) == 0);
			free(a);
			free(b);
			free(path);
		}
	}
	/* The script refuses a tree without the binaries, and leaves nothing. */
	ck_assert_int_ge(asprintf(&cmd, "'%s/scripts/install-firecracker-names.sh' --build '%s' "
				  "'%s/inst3' 2>/dev/null",
				  getenv("WISP_SOURCE_DIR") ? getenv("WISP_SOURCE_DIR") : ".", tdir,
				  tdir), 0);
	ck_assert_int_ne(system(cmd), 0);
	free(cmd);
	{
		char *p3 = tpath("inst3");

		ck_assert_int_ne(access(p3, F_OK), 0);
		free(p3);
	}
	free(inst2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A VMM spawned the way Firecracker's framework spawns it              */
/* ------------------------------------------------------------------ */
struct fc {
	struct wisp w;       /* p, sock, c */
	char log[512];
};

/* Start bin with --api-sock <tmp>/<sockname> --id <id> --log-path <tmp>/<id>.log
 * --level Debug [extra...] (microvm.py::spawn's defaults), then wait as the
 * framework does: for "API server started." in the log. */
static void fc_spawn(struct fc *f, const char *bin, const char *id, const char *const *extra)
{
	const char *argv[32];
	int i = 0;
	char *sock, *log, name[64];

	memset(f, 0, sizeof(*f));
	snprintf(name, sizeof(name), "%s.sock", id);
	sock = tpath(name);
	snprintf(name, sizeof(name), "%s.log", id);
	log = tpath(name);
	snprintf(f->w.sock, sizeof(f->w.sock), "%s", sock);
	snprintf(f->log, sizeof(f->log), "%s", log);
	close(open(log, O_CREAT | O_WRONLY | O_TRUNC, 0644));   /* the framework touches it */
	argv[i++] = bin;
	argv[i++] = "--api-sock";
	argv[i++] = f->w.sock;
	argv[i++] = "--id";
	argv[i++] = id;
	argv[i++] = "--log-path";
	argv[i++] = f->log;
	argv[i++] = "--level";
	argv[i++] = "Debug";
	for (; extra && *extra; extra++)
		argv[i++] = *extra;
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&f->w.p, (char *const *)argv), 0);
	if (!file_wait_for(f->log, "API server started.", 20000)) {
		char *l = slurp(f->log);

		proc_signal(&f->w.p, SIGKILL);
		proc_finish(&f->w.p, 5000);
		ck_abort_msg("no \"API server started.\" in the log:\n%s\nstderr:\n%s", l,
			     f->w.p.err.data);
	}
	ck_assert(api_wait_socket(f->w.sock, 5000));
	api_client_init(&f->w.c, f->w.sock);
	f->w.up = true;
	free(sock);
	free(log);
}

static void put_boot(struct fc *f, const char *args)
{
	char buf[1024], *body = buf;

	snprintf(body, sizeof(buf), "{\"kernel_image_path\":\"%s\",\"boot_args\":\"%s\"}",
		 build_path("wisp-testguest"), args);
	CALL(&f->w, "PUT", "/boot-source", body, 204);
}

/* Firecracker: framework/microvm.py::spawn (waits for "API server started."
 * at Debug/Info, for "Running Firecracker" with --no-api), main.rs and
 * api_server_adapter.rs (the order of the start lines), and
 * functional/test_api.py::test_api_version (GET /version == --version,
 * pre- and post-boot). */
START_TEST(start_lines_and_api_version)
{
	struct fc f;
	char *log, *vpre;
	const char *a, *b, *c;
	json_t *j;

	fc_spawn(&f, fc_bin, "fc-start", NULL);
	log = slurp(f.log);
	a = strstr(log, "Running Firecracker v" WISP_FC_VERSION);
	b = strstr(log, "Listening on API socket (\"");
	c = strstr(log, "API server started.");
	ck_assert_msg(a && b && c && a < b && b < c, "start lines missing or out of order:\n%s", log);
	ck_assert_ptr_nonnull(strstr(log, "[fc-start:main] Running Firecracker v" WISP_FC_VERSION));
	ck_assert_ptr_nonnull(strstr(log, "[fc-start:fc_api] API server started."));
	{
		char want[700];

		snprintf(want, sizeof(want), "Listening on API socket (\"%s\").", f.w.sock);
		ck_assert_msg(strstr(log, want), "no '%s' in\n%s", want, log);
	}
	free(log);

	CALL(&f.w, "GET", "/version", NULL, 200);
	vpre = strdup(f.w.c.body);
	j = json_loads(vpre, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "firecracker_version")), WISP_FC_VERSION);
	ck_assert_str_eq(json_string_value(json_object_get(j, "wisp_version")), WISP_VERSION);
	json_decref(j);
	CALL(&f.w, "GET", "/", NULL, 200);
	j = json_loads(f.w.c.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "vmm_version")), WISP_FC_VERSION);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "fc-start");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "Not started");
	json_decref(j);

	put_boot(&f, "wtest=ticker");
	CALL(&f.w, "PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":128}", 204);
	CALL(&f.w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&f.w.p, "TICK 1", 20000));
	CALL(&f.w, "GET", "/version", NULL, 200);
	ck_assert_str_eq(f.w.c.body, vpre);
	free(vpre);

	/* SIGTERM: wisp ends the VM and exits 0 with Firecracker's last line. */
	proc_signal(&f.w.p, SIGTERM);
	ck_assert(proc_finish(&f.w.p, 10000));
	ck_assert_int_eq(f.w.p.status, 0);
	log = slurp(f.log);
	ck_assert_int_eq(logged_exit_code(log), 0);
	free(log);
	ASSERT_CLEAN(&f.w.p);
	wisp_free(&f.w);
}
END_TEST

/* Run bin --no-api --config-file <doc> --log-path L --level <level> to the
 * end; the log's text in *log. */
static void run_no_api(struct proc *p, const char *bin, const char *name, const char *doc,
		       const char *level, char **log)
{
	char *cfg = write_tmp_file(name, doc), *logp, lname[80];
	char *argv[12];
	int i = 0;

	snprintf(lname, sizeof(lname), "%s.log", name);
	logp = tpath(lname);
	argv[i++] = (char *)bin;
	argv[i++] = "--no-api";
	argv[i++] = "--config-file";
	argv[i++] = cfg;
	argv[i++] = "--log-path";
	argv[i++] = logp;
	argv[i++] = "--level";
	argv[i++] = (char *)level;
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert(proc_run(p, argv, 30000));
	*log = slurp(logp);
	free(cfg);
	free(logp);
}

/* Firecracker: functional/test_cmd_line_start.py::test_config_start_no_api_exit
 * (the guest reboots: "Firecracker exiting successfully", exit code 0 from
 * the log), ::test_config_bad_machine_config (missing vcpu_count /
 * mem_size_mib: the VMM ends with an error; the "one single json" text is
 * test_fc_vmconfig's), and main.rs's error exit line. */
START_TEST(exit_lines)
{
	struct proc p;
	char *doc, *log;

	doc = guest_config("wtest=hello", NULL, NULL);
	run_no_api(&p, fc_bin, "hello.json", doc, "Info", &log);
	ck_assert_msg(p.status == 0 && strstr(p.out.data, "WTEST hello PASS"), "status %d\n%s\n%s",
		      p.status, p.out.data, log);
	ck_assert_ptr_nonnull(strstr(log, "Running Firecracker v" WISP_FC_VERSION));
	ck_assert_ptr_nonnull(strstr(log, "Firecracker exiting successfully"));
	ck_assert_int_eq(logged_exit_code(log), 0);
	/* No API: no API lines. */
	ck_assert_ptr_null(strstr(log, "API server started."));
	ck_assert_ptr_null(strstr(log, "Listening on API socket"));
	ASSERT_CLEAN(&p);
	proc_free(&p);
	free(log);
	free(doc);

	/* A guest crash: status 1, logged as Firecracker logs it. */
	doc = guest_config("wtest=triple-fault", NULL, NULL);
	run_no_api(&p, fc_bin, "tf.json", doc, "Info", &log);
	ck_assert_int_eq(p.status, 1);
	ck_assert_ptr_nonnull(strstr(log, "Firecracker exiting with error. exit_code=1"));
	ck_assert_int_eq(logged_exit_code(log), 1);
	proc_free(&p);
	free(log);
	free(doc);

	/* framework/vm_config_missing_vcpu_count.json and ..._mem_size_mib.json. */
	{
		const char *machine[] = { "{\"mem_size_mib\": 128}", "{\"vcpu_count\": 1}" };

		for (int i = 0; i < 2; i++) {
			doc = guest_config("wtest=hello", machine[i], NULL);
			run_no_api(&p, fc_bin, "bad.json", doc, "Info", &log);
			ck_assert_int_ne(p.status, 0);
			ck_assert_ptr_null(strstr(p.out.data, "WTEST"));
			ck_assert_msg(logged_exit_code(log) == p.status, "status %d, log:\n%s", p.status,
				      log);
			ck_assert_ptr_nonnull(strstr(log, "Firecracker exiting with error."));
			ASSERT_CLEAN(&p);
			proc_free(&p);
			free(log);
			free(doc);
		}
	}

	/* "Running Firecracker" is an info line (Firecracker's info_unrestricted!
	 * bypasses the rate limit, not the level): at Warning it is not there,
	 * the error exit line is. */
	doc = guest_config("wtest=triple-fault", NULL, NULL);
	run_no_api(&p, fc_bin, "tf2.json", doc, "Warning", &log);
	ck_assert_int_eq(p.status, 1);
	ck_assert_ptr_null(strstr(log, "Running Firecracker"));
	ck_assert_int_eq(logged_exit_code(log), 1);
	proc_free(&p);
	free(log);
	free(doc);

	/* Bad arguments: status 153 and Firecracker's exit line (on stderr:
	 * the logger is not configured yet). */
	{
		char *argv[] = { fc_bin, "--no-such-flag", NULL };

		ck_assert(proc_run(&p, argv, 5000));
		ck_assert_int_eq(p.status, 153);
		ck_assert_ptr_nonnull(strstr(p.err.data, "--no-such-flag"));
		ck_assert_ptr_nonnull(strstr(p.err.data, "Firecracker exiting with error. exit_code=153"));
		proc_free(&p);
	}
}
END_TEST

/* The names of a process's threads (/proc/<pid>/task/<tid>/comm), joined
 * with '\n'. */
static char *thread_names(pid_t pid)
{
	char dir[64], *all = calloc(1, 1);
	size_t len = 0;
	DIR *d;
	struct dirent *e;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[400], *c;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		c = slurp_proc(path);
		all = realloc(all, len + strlen(c) + 2);
		memcpy(all + len, c, strlen(c) + 1);
		len += strlen(c);
		free(c);
	}
	closedir(d);
	return all;
}

/* Firecracker: functional/test_cmd_line_start.py::test_config_start_no_api
 * (ps -T: a thread named firecracker and none named fc_api) and
 * ::test_config_start_with_api (started from the file, the API answers
 * Running; its GET /vm/config comparison is test_fc_vmconfig's). */
START_TEST(config_file_with_and_without_api)
{
	char *doc = guest_config("wtest=ticker", NULL, NULL), *cfg = write_tmp_file("tick.json", doc);
	char *logp = tpath("noapi.log"), *names, *log;
	char *argv[12];
	struct proc p;
	struct fc f;
	int i = 0;

	argv[i++] = fc_bin;
	argv[i++] = "--no-api";
	argv[i++] = "--config-file";
	argv[i++] = cfg;
	argv[i++] = "--log-path";
	argv[i++] = logp;
	argv[i++] = "--level";
	argv[i++] = "Info";
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&p, argv), 0);
	ck_assert(file_wait_for(logp, "Running Firecracker", 20000));
	ck_assert(proc_wait_for(&p, "TICK 1", 20000));
	names = thread_names(p.pid);
	ck_assert_msg(strstr(names, "firecracker\n") && !strstr(names, "fc_api"), "threads:\n%s",
		      names);
	ck_assert_ptr_nonnull(strstr(names, "fc_vcpu 0"));
	free(names);
	proc_signal(&p, SIGTERM);
	ck_assert(proc_finish(&p, 10000));
	ck_assert_int_eq(p.status, 0);
	log = slurp(logp);
	ck_assert_int_eq(logged_exit_code(log), 0);
	free(log);
	ASSERT_CLEAN(&p);
	proc_free(&p);

	/* The same file with the API: Running at once, and an fc_api thread
	 * (so the check above can fail). */
	{
		const char *extra[] = { "--config-file", cfg, NULL };

		fc_spawn(&f, fc_bin, "fc-cfg", extra);
	}
	for (int t = 0; t < 200; t++) {
		CALL(&f.w, "GET", "/", NULL, 200);
		if (strstr(f.w.c.body, "\"Running\""))
			break;
		usleep(50 * 1000);
	}
	ck_assert_msg(strstr(f.w.c.body, "\"Running\""), "%s", f.w.c.body);
	names = thread_names(f.w.p.pid);
	ck_assert_msg(strstr(names, "firecracker\n") && strstr(names, "fc_api\n"), "threads:\n%s",
		      names);
	free(names);
	proc_signal(&f.w.p, SIGTERM);
	ck_assert(proc_finish(&f.w.p, 10000));
	ck_assert_int_eq(f.w.p.status, 0);
	ASSERT_CLEAN(&f.w.p);
	wisp_free(&f.w);
	free(doc);
	free(cfg);
	free(logp);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The default socket and a socket in use                               */
/* ------------------------------------------------------------------ */

/* bin [args...] in a private mount namespace where `dir` is mounted on
 * /run, so that /run/firecracker.socket is <dir>/firecracker.socket here
 * and the host's /run is never touched. */
static void spawn_in_run_ns(struct proc *p, const char *dir, const char *const *args)
{
	const char *argv[24];
	int i = 0;

	argv[i++] = "/usr/bin/unshare";
	argv[i++] = "--mount";
	argv[i++] = "--propagation";
	argv[i++] = "private";
	argv[i++] = "/bin/sh";
	argv[i++] = "-c";
	argv[i++] = "mount --bind \"$0\" /run && exec \"$@\"";
	argv[i++] = dir;
	for (; *args; args++)
		argv[i++] = *args;
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(p, (char *const *)argv), 0);
}

static bool have_unshare(void)
{
	return access("/usr/bin/unshare", X_OK) == 0 &&
	       system("/usr/bin/unshare --mount --propagation private true 2>/dev/null") == 0;
}

/* Firecracker: functional/test_cmd_line_parameters.py::test_cli_no_params
 * (no parameters: it keeps running) and main.rs's DEFAULT_API_SOCK_PATH:
 * without --api-sock the socket is /run/firecracker.socket, whatever the
 * binary is called. */
START_TEST(default_socket)
{
	const char *bins[] = { fc_bin, build_path("wisp") };

	if (!have_unshare()) {
		fprintf(stderr, "default_socket: no mount namespaces (unshare): skipped\n");
		return;
	}
	for (int i = 0; i < 2; i++) {
		char *run = tpath(i ? "run-wisp" : "run-fc"), *sock;
		const char *args[] = { bins[i], NULL };
		struct proc p;
		struct api_client c;

		ck_assert_int_eq(mkdir(run, 0755), 0);
		ck_assert_int_ge(asprintf(&sock, "%s/firecracker.socket", run), 0);
		spawn_in_run_ns(&p, run, args);
		ck_assert_msg(api_wait_socket(sock, 20000), "no %s\n%s", sock, p.err.data);
		api_client_init(&c, sock);
		ck_assert_int_eq(api_call(&c, "GET", "/", NULL), 200);
		ck_assert_ptr_nonnull(strstr(c.body, "\"id\":\"anonymous-instance\""));
		/* Still running a while later (Firecracker's test waits 3 s). */
		ck_assert(!proc_wait_for(&p, "\x01never", 1000));
		ck_assert_int_eq(api_call(&c, "GET", "/", NULL), 200);
		api_client_free(&c);
		ck_assert_ptr_nonnull(strstr(p.err.data,
					     "Listening on API socket (\"/run/firecracker.socket\")."));
		proc_signal(&p, SIGTERM);
		ck_assert(proc_finish(&p, 10000));
		ck_assert_int_eq(p.status, 0);
		ASSERT_CLEAN(&p);
		proc_free(&p);
		free(sock);
		free(run);
	}
}
END_TEST

/* A Unix socket bound (and kept) at path, as the Firecracker test does. */
static int bind_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	strcpy(a.sun_path, path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Firecracker: functional/test_api_server.py::test_api_socket_in_use
 * (a socket already bound at the API path: the fixed message naming the
 * path, at log level warn; status 1 per main.rs). */
START_TEST(socket_in_use)
{
	char *sock = tpath("inuse.sock"), *logp = tpath("inuse.log"), *log, want[1200];
	const char *argv[12];
	struct stat before, after;
	struct proc p;
	int fd = bind_unix(sock), i = 0;

	ck_assert_int_eq(stat(sock, &before), 0);
	close(open(logp, O_CREAT | O_WRONLY | O_TRUNC, 0644));
	argv[i++] = fc_bin;
	argv[i++] = "--api-sock";
	argv[i++] = sock;
	argv[i++] = "--log-path";
	argv[i++] = logp;
	argv[i++] = "--level";
	argv[i++] = "Warning";
	argv[i] = NULL;
	ck_assert(proc_run(&p, (char *const *)argv, 10000));
	ck_assert_int_eq(p.status, 1);
	log = slurp(logp);
	snprintf(want, sizeof(want),
		 "Failed to open the API socket at: %s. Check that it is not already used.", sock);
	ck_assert_msg(strstr(log, want), "no '%s' in the log:\n%s", want, log);
	ck_assert_int_eq(logged_exit_code(log), 1);
	/* Nothing changed: the other socket is still there, the same file. */
	ck_assert_int_eq(stat(sock, &after), 0);
	ck_assert(before.st_ino == after.st_ino && S_ISSOCK(after.st_mode));
	ASSERT_CLEAN(&p);
	proc_free(&p);
	free(log);

	/* A stale file there is refused the same way (bind says EADDRINUSE
	 * for Firecracker too). */
	{
		char *stale = write_tmp_file("stale.sock", "");

		argv[2] = stale;
		ck_assert(proc_run(&p, (char *const *)argv, 10000));
		ck_assert_int_eq(p.status, 1);
		log = slurp(logp);
		snprintf(want, sizeof(want), "Failed to open the API socket at: %s.", stale);
		ck_assert_msg(strstr(log, want), "no '%s' in the log:\n%s", want, log);
		ck_assert_int_eq(access(stale, F_OK), 0);
		proc_free(&p);
		free(log);
		free(stale);
	}
	close(fd);

	/* The default path, as in Firecracker's test (a jail's /run). */
	if (have_unshare()) {
		char *run = tpath("run-inuse"), *dsock;
		const char *args[] = { fc_bin, "--level", "Warning", NULL };

		ck_assert_int_eq(mkdir(run, 0755), 0);
		ck_assert_int_ge(asprintf(&dsock, "%s/firecracker.socket", run), 0);
		fd = bind_unix(dsock);
		spawn_in_run_ns(&p, run, args);
		ck_assert(proc_finish(&p, 10000));
		ck_assert_int_eq(p.status, 1);
		ck_assert_msg(strstr(p.err.data, "Failed to open the API socket at: "
					  "/run/firecracker.socket. Check that it is not already used."),
			      "%s", p.err.data);
		proc_free(&p);
		close(fd);
		free(dsock);
		free(run);
	}
	free(sock);
	free(logp);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Snapshots and metrics on the command line                            */
/* ------------------------------------------------------------------ */

/* Firecracker: functional/test_cmd_line_parameters.py::test_describe_snapshot
 * (--snapshot-version's first line is contained in --describe-snapshot's
 * output for a Diff snapshot, stderr empty) and
 * ::test_cli_metrics_if_resume_no_metrics (the --metrics-path
 * configuration is not part of the snapshot: the restored process writes
 * no metrics to the first process's file). */
START_TEST(snapshot_version_and_describe)
{
	char *vm = tpath("vm.state"), *mem = tpath("vm.mem"), *met = tpath("metrics.ndjson");
	char buf[1200], *body = buf, ver[64];
	struct stat st1, st2;
	const char *extra[] = { "--metrics-path", met, NULL };
	struct proc p;
	struct fc f;

	{
		char *argv[] = { fc_bin, "--snapshot-version", NULL };

		ck_assert(proc_run(&p, argv, 5000));
		ck_assert_int_eq(p.status, 0);
		ck_assert_str_eq(p.err.data, "");
		ck_assert_msg(p.out.data[0] == 'v' && strchr(p.out.data, '.'), "%s", p.out.data);
		snprintf(ver, sizeof(ver), "%.*s", (int)strcspn(p.out.data, "\n"), p.out.data);
		proc_free(&p);
	}
	close(open(met, O_CREAT | O_WRONLY | O_TRUNC, 0644));
	fc_spawn(&f, fc_bin, "fc-snap", extra);
	put_boot(&f, "wtest=ticker");
	CALL(&f.w, "PUT", "/machine-config",
	     "{\"vcpu_count\":1,\"mem_size_mib\":128,\"track_dirty_pages\":true}", 204);
	CALL(&f.w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&f.w.p, "TICK 1", 20000));
	CALL(&f.w, "PATCH", "/vm", "{\"state\":\"Paused\"}", 204);
	snprintf(body, sizeof(buf),
		 "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", vm,
		 mem);
	CALL(&f.w, "PUT", "/snapshot/create", body, 204);
	CALL(&f.w, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204);
	proc_signal(&f.w.p, SIGKILL);
	proc_finish(&f.w.p, 10000);
	wisp_free(&f.w);
	ck_assert_int_eq(stat(met, &st1), 0);
	ck_assert_int_gt(st1.st_size, 0);

	{
		char *argv[] = { fc_bin, "--describe-snapshot", vm, NULL };

		ck_assert(proc_run(&p, argv, 5000));
		ck_assert_int_eq(p.status, 0);
		ck_assert_str_eq(p.err.data, "");
		ck_assert_msg(strstr(p.out.data, ver), "'%s' not in:\n%s", ver, p.out.data);
		/* Firecracker's output is that one word: wisp's first line is it. */
		ck_assert_int_eq(strncmp(p.out.data, ver, strlen(ver)), 0);
		ck_assert_int_eq(p.out.data[strlen(ver)], '\n');
		proc_free(&p);
	}
	{
		char *argv[] = { fc_bin, "--describe-snapshot", mem, NULL };

		/* Not a state file: an error, status 1. */
		ck_assert(proc_run(&p, argv, 5000));
		ck_assert_int_eq(p.status, 1);
		ck_assert_str_eq(p.out.data, "");
		proc_free(&p);
	}

	/* Restored without --metrics-path: metrics are not configured. */
	fc_spawn(&f, fc_bin, "fc-rest", NULL);
	snprintf(body, sizeof(buf),
		 "{\"snapshot_path\":\"%s\",\"mem_backend\":{\"backend_type\":\"File\","
		 "\"backend_path\":\"%s\"},\"resume_vm\":true}",
		 vm, mem);
	CALL(&f.w, "PUT", "/snapshot/load", body, 204);
	api_call(&f.w.c, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}");
	proc_signal(&f.w.p, SIGTERM);
	ck_assert(proc_finish(&f.w.p, 10000));
	ck_assert_int_eq(f.w.p.status, 0);
	ASSERT_CLEAN(&f.w.p);
	wisp_free(&f.w);
	ck_assert_int_eq(stat(met, &st2), 0);
	ck_assert_int_eq(st2.st_size, st1.st_size);
	free(vm);
	free(mem);
	free(met);
}
END_TEST

/* Firecracker: functional/test_cmd_line_parameters.py::
 * test_cli_metrics_path_if_metrics_initialized_twice_fail and
 * ::test_cli_metrics_path (a metrics line is written to the --metrics-path
 * file; its schema: test_fc_metrics.c). */
START_TEST(metrics_path_flag)
{
	char *met = tpath("m.ndjson"), *met2 = tpath("m2.ndjson"), buf[700], *body = buf, *text;
	const char *extra[] = { "--metrics-path", met, NULL };
	struct fc f;
	json_t *j;

	close(open(met, O_CREAT | O_WRONLY | O_TRUNC, 0644));
	close(open(met2, O_CREAT | O_WRONLY | O_TRUNC, 0644));
	fc_spawn(&f, fc_bin, "fc-met", extra);
	snprintf(body, sizeof(buf), "{\"metrics_path\":\"%s\"}", met2);
	FAULT(&f.w, "PUT", "/metrics", body, "Reinitialization of metrics not allowed.");
	put_boot(&f, "wtest=ticker");
	CALL(&f.w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&f.w.p, "TICK 1", 20000));
	CALL(&f.w, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}", 204);
	ck_assert(file_wait_for(met, "\n", 5000));
	text = slurp(met);
	text[strcspn(text, "\n")] = 0;
	j = json_loads(text, 0, NULL);
	ck_assert_msg(j && json_object_get(j, "utc_timestamp_ms") && json_object_get(j, "api_server"),
		      "%s", text);
	json_decref(j);
	free(text);
	/* Nothing went to the refused path. */
	text = slurp(met2);
	ck_assert_str_eq(text, "");
	free(text);
	proc_signal(&f.w.p, SIGTERM);
	ck_assert(proc_finish(&f.w.p, 10000));
	ASSERT_CLEAN(&f.w.p);
	wisp_free(&f.w);
	free(met);
	free(met2);
}
END_TEST

/* Firecracker: functional/test_cmd_line_start.py::
 * test_config_machine_config_params, the smt case (x86: smt true is
 * accepted and the VM starts; the C3 case is test_fc_cputemplate's). */
START_TEST(config_smt_true)
{
	char *doc = guest_config("wtest=smp", "{\"vcpu_count\": 2, \"mem_size_mib\": "
				 "128, \"smt\": true}", NULL), *log;
	struct proc p;

	run_no_api(&p, fc_bin, "smt.json", doc, "Info", &log);
	ck_assert_msg(p.status == 0 && strstr(p.out.data, "WTEST smp PASS"), "status %d\n%s\n%s",
		      p.status, p.out.data, log);
	ck_assert_int_eq(logged_exit_code(log), 0);
	ASSERT_CLEAN(&p);
	proc_free(&p);
	free(log);
	free(doc);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fc_cmdline");
	TCase *tc = tcase_create("cmdline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, version_shape);
	tcase_add_test(tc, installed_names);
	tcase_add_test(tc, start_lines_and_api_version);
	tcase_add_test(tc, exit_lines);
	tcase_add_test(tc, config_file_with_and_without_api);
	tcase_add_test(tc, default_socket);
	tcase_add_test(tc, socket_in_use);
	tcase_add_test(tc, snapshot_version_and_describe);
	tcase_add_test(tc, metrics_path_flag);
	tcase_add_test(tc, config_smt_true);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_fc_cmdline: needs root (mount namespaces, /dev/kvm)\n");
		return 77;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
