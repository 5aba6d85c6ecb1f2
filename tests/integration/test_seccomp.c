/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_seccomp.c — wisp's per-thread seccomp filters on a running VM:
 * every thread of a running wisp shows `Seccomp: 2` (0 with --no-seccomp);
 * a system call outside a role's list kills the process with SIGSYS at the
 * moment that role first needs it (test-only filter files made from the
 * shipped default by removing one system call, passed with
 * --seccomp-filter); a "trap" filter reports the call; a malformed filter
 * file is refused with exit status 152 and a message naming the field.
 */
#include <check.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "../check_main.h"
#include "harness.h"

#define BOOT_TIMEOUT_MS 60000
#define STATUS_SIGSYS (128 + SIGSYS)

static void teardown(void)
{
	tmpdir_cleanup();
}

/* The shipped default policy with the rules for `syscall` removed from
 * `role` (only those whose arg1 equals `arg1` when arg1 >= 0), and the
 * role's default_action replaced when `default_action` is given. Returns the
 * path of the written file. */
static char *filter_without(const char *role, const char *syscall, long long arg1,
			    const char *default_action)
{
	char path[4096];
	const char *src = getenv("WISP_SOURCE_DIR");
	json_error_t jerr;
	json_t *doc, *rules;
	size_t removed = 0;
	char *text, *out;

	snprintf(path, sizeof(path), "%s/resources/seccomp/x86_64.json", src ? src : ".");
	doc = json_load_file(path, 0, &jerr);
	ck_assert_msg(doc != NULL, "%s: %s", path, jerr.text);
	rules = json_object_get(json_object_get(doc, role), "filter");
	ck_assert_ptr_nonnull(rules);
	for (size_t i = 0; i < json_array_size(rules);) {
		json_t *r = json_array_get(rules, i), *args = json_object_get(r, "args");
		bool match = !strcmp(json_string_value(json_object_get(r, "syscall")), syscall);

		if (match && arg1 >= 0) {
			json_t *a0 = json_array_get(args, 0);

			match = a0 && json_integer_value(json_object_get(a0, "index")) == 1 &&
				json_integer_value(json_object_get(a0, "val")) == arg1;
		}
		if (match) {
			json_array_remove(rules, i);
			removed++;
		} else {
			i++;
		}
	}
	ck_assert_msg(removed > 0, "%s has no rule for %s", role, syscall);
	/* kill_process unless told: these cases test the kill (the built-in
	 * default is trap, as Firecracker's; test_fc_seccomp.c covers it) */
	json_object_set_new(json_object_get(doc, role), "default_action",
			    json_string(default_action ? default_action : "kill_process"));
	text = json_dumps(doc, JSON_INDENT(2));
	out = write_tmp_file("filter.json", text);
	free(text);
	json_decref(doc);
	return out;
}

static char *ticker_config(void)
{
	char *doc = guest_config("wtest=ticker console=ttyS0",
				 "{\"vcpu_count\": 2, \"mem_size_mib\": 128}", NULL);
	char *cfg = write_tmp_file("vm.json", doc);

	free(doc);
	return cfg;
}

/* Seccomp mode of every thread: returns how many threads there are and
 * whether all show `want`; lists them in `desc`. */
static int check_threads(pid_t pid, int want, bool *all, char *desc, size_t len)
{
	char dir[64], path[512], line[256], comm[64];
	struct dirent *de;
	size_t n = 0;
	int count = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	*all = true;
	desc[0] = 0;
	while ((de = readdir(d))) {
		FILE *f;
		int mode = -1, nnp = -1;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/status", dir, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		comm[0] = 0;
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "Name:\t%63[^\n]", comm);
			sscanf(line, "Seccomp:\t%d", &mode);
			sscanf(line, "NoNewPrivs:\t%d", &nnp);
		}
		fclose(f);
		count++;
		if (mode != want || (want == 2 && nnp != 1))
			*all = false;
		n += (size_t)snprintf(desc + n, n < len ? len - n : 0, "  %s: Seccomp %d NoNewPrivs %d\n",
				      comm, mode, nnp);
	}
	closedir(d);
	return count;
}

static void run_and_check_threads(const char *flag, int want)
{
	char *cfg, sock[4200], desc[2048];
	struct proc p;
	bool all;
	int n;

	snprintf(sock, sizeof(sock), "%s/api.sock", tmpdir_make());
	cfg = ticker_config();
	{
		char *argv[] = { (char *)build_path("wisp"), "--api-sock", sock, "--config-file",
				 cfg, (char *)flag, NULL };

		ck_assert_int_eq(proc_spawn(&p, argv), 0);
	}
	ck_assert_msg(proc_wait_for(&p, "TICK 2", BOOT_TIMEOUT_MS), "no TICK\n%s\n%s", p.out.data,
		      p.err.data);
	n = check_threads(p.pid, want, &all, desc, sizeof(desc));
	/* the VMM thread, the api thread and two vCPUs at least */
	ck_assert_msg(n >= 4 && all, "want Seccomp %d on every thread:\n%s", want, desc);
	ck_assert_ptr_nonnull(strstr(desc, "fc_vcpu 1"));
	proc_signal(&p, SIGTERM);
	ck_assert(proc_finish(&p, 20000));
	ck_assert_msg(p.status == 0, "status %d\n%s", p.status, p.err.data);
	if (want == 0)
		ck_assert_ptr_nonnull(strstr(p.err.data, "--no-seccomp: no seccomp filter is installed"));
	proc_free(&p);
	free(cfg);
}

START_TEST(every_thread_is_filtered)
{
	run_and_check_threads(NULL, 2);
}
END_TEST

START_TEST(no_seccomp_filters_nothing)
{
	run_and_check_threads("--no-seccomp", 0);
}
END_TEST

/* The api thread without accept4: wisp runs until the first connection. */
START_TEST(api_thread_dies_on_its_first_accept_without_accept4)
{
	char *filter, sock[4200];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct proc p;
	struct stat st;
	int fd;

	snprintf(sock, sizeof(sock), "%s/api.sock", tmpdir_make());
	filter = filter_without("api", "accept4", -1, NULL);
	{
		char *argv[] = { (char *)build_path("wisp"), "--api-sock", sock, "--seccomp-filter",
				 filter, NULL };

		ck_assert_int_eq(proc_spawn(&p, argv), 0);
	}
	for (int i = 0; i < 200 && stat(sock, &st) < 0; i++)
		usleep(10000);
	ck_assert_msg(stat(sock, &st) == 0, "no socket\n%s", p.err.data);
	usleep(200000);
	ck_assert_msg(kill(p.pid, 0) == 0, "wisp died before any connection");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_uint_lt(strlen(sock), sizeof(sa.sun_path));
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert(proc_finish(&p, 10000));
	ck_assert_msg(p.status == STATUS_SIGSYS, "status %d\n%s", p.status, p.err.data);
	close(fd);
	proc_free(&p);
	free(filter);
}
END_TEST

/* The vCPU threads without KVM_RUN (44672): dead before the guest's first
 * instruction, nothing on the console. */
START_TEST(vcpu_dies_on_kvm_run_without_its_rule)
{
	char *filter = filter_without("vcpu", "ioctl", 44672, NULL), *cfg = ticker_config();
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg,
			 "--seccomp-filter", filter, NULL };
	struct proc p;

	ck_assert(proc_run(&p, argv, BOOT_TIMEOUT_MS));
	ck_assert_msg(p.status == STATUS_SIGSYS, "status %d\n%s", p.status, p.err.data);
	ck_assert_msg(!strstr(p.out.data, "wisp-testguest"), "the guest ran:\n%s", p.out.data);
	proc_free(&p);
	free(filter);
	free(cfg);
}
END_TEST

/* The VMM thread without read: the guest runs (the VMM thread has nothing
 * to read) until SIGTERM makes the signalfd readable. */
START_TEST(vmm_dies_on_its_first_read_without_read)
{
	char *filter = filter_without("vmm", "read", -1, NULL), *cfg = ticker_config();
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg,
			 "--seccomp-filter", filter, NULL };
	struct proc p;

	/* stdin stays an open, silent pipe: the console has nothing to read */
	ck_assert_int_eq(proc_spawn(&p, argv), 0);
	ck_assert_msg(proc_wait_for(&p, "TICK 3", BOOT_TIMEOUT_MS), "no TICK\n%s\n%s", p.out.data,
		      p.err.data);
	ck_assert_msg(kill(p.pid, 0) == 0, "wisp died early");
	proc_signal(&p, SIGTERM);
	ck_assert(proc_finish(&p, 10000));
	ck_assert_msg(p.status == STATUS_SIGSYS, "status %d\n%s", p.status, p.err.data);
	ck_assert_ptr_null(strstr(p.err.data, "received Terminated"));
	proc_free(&p);
	free(filter);
	free(cfg);
}
END_TEST

/* default_action "trap": wisp logs Firecracker's line, names the thread
 * and the call, exits 148. */
START_TEST(trap_names_the_forbidden_call)
{
	char *filter = filter_without("vcpu", "ioctl", 44672, "trap"), *cfg = ticker_config();
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg,
			 "--seccomp-filter", filter, NULL };
	struct proc p;

	ck_assert(proc_run(&p, argv, BOOT_TIMEOUT_MS));
	ck_assert_msg(p.status == 148, "status %d\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "Shutting down VM after intercepting a bad syscall (16)."),
		      "stderr:\n%s", p.err.data);
	ck_assert_msg(strstr(p.err.data, "the vcpu thread's filter trapped system call 16 (ioctl)"),
		      "stderr:\n%s", p.err.data);
	proc_free(&p);
	free(filter);
	free(cfg);
}
END_TEST

/* "trap" on the api thread (no accept4) and on the VMM thread (no read):
 * the SIGSYS reaches those threads too; Firecracker's line names the call,
 * status 148. */
START_TEST(trap_on_the_api_and_vmm_threads)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *filter, sock[4200], *cfg;
	struct proc p;
	struct stat st;
	int fd;

	snprintf(sock, sizeof(sock), "%s/api.sock", tmpdir_make());
	filter = filter_without("api", "accept4", -1, "trap");
	{
		char *argv[] = { (char *)build_path("wisp"), "--api-sock", sock, "--seccomp-filter",
				 filter, NULL };

		ck_assert_int_eq(proc_spawn(&p, argv), 0);
	}
	for (int i = 0; i < 200 && stat(sock, &st) < 0; i++)
		usleep(10000);
	ck_assert_msg(stat(sock, &st) == 0, "no socket\n%s", p.err.data);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert(proc_finish(&p, 10000));
	ck_assert_msg(p.status == 148, "status %d\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "Shutting down VM after intercepting a bad syscall (288)."),
		      "%s", p.err.data);
	ck_assert_msg(strstr(p.err.data, "the api thread's filter trapped system call 288 (accept4)"),
		      "%s", p.err.data);
	close(fd);
	proc_free(&p);
	free(filter);

	filter = filter_without("vmm", "read", -1, "trap");
	cfg = ticker_config();
	{
		char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg,
				 "--seccomp-filter", filter, NULL };

		ck_assert_int_eq(proc_spawn(&p, argv), 0);
	}
	ck_assert_msg(proc_wait_for(&p, "TICK 2", BOOT_TIMEOUT_MS), "no TICK\n%s", p.err.data);
	proc_signal(&p, SIGTERM);
	ck_assert(proc_finish(&p, 10000));
	ck_assert_msg(p.status == 148, "status %d\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "the vmm thread's filter trapped system call 0 (read)"),
		      "%s", p.err.data);
	proc_free(&p);
	free(filter);
	free(cfg);
}
END_TEST

static void refused(const char *text, const char *msg)
{
	char *filter = write_tmp_file("bad.json", text), *cfg = ticker_config();
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", cfg,
			 "--seccomp-filter", filter, NULL };
	struct proc p;

	ck_assert(proc_run(&p, argv, 20000));
	ck_assert_msg(p.status == 152, "status %d\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, msg), "stderr:\n%s\nwant: %s", p.err.data, msg);
	ck_assert_msg(!strstr(p.out.data, "wisp-testguest"), "the guest ran");
	proc_free(&p);
	free(filter);
	free(cfg);
}

START_TEST(malformed_filter_files_exit_152)
{
	static const char ok[] = "{\"default_action\": \"kill_process\", \"filter_action\": "
				 "\"allow\", \"filter\": [{\"syscall\": \"read\"}]}";
	char doc[1024];

	refused("{\"vmm\": {", "--seccomp-filter");
	snprintf(doc, sizeof(doc), "{\"vmm\": %s, \"vcpu\": %s}", ok, ok);
	refused(doc, "api: missing");
	snprintf(doc, sizeof(doc),
		 "{\"vmm\": %s, \"api\": {\"default_action\": \"kill_process\", \"filter_action\": "
		 "\"allow\", \"filter\": [{\"syscall\": \"read\"}, {\"syscall\": \"sys_frob\"}]}, "
		 "\"vcpu\": %s}", ok, ok);
	refused(doc, "api.filter[1].syscall: unknown system call \"sys_frob\"");
	snprintf(doc, sizeof(doc),
		 "{\"vmm\": %s, \"api\": %s, \"vcpu\": {\"default_action\": \"kill_process\", "
		 "\"filter_action\": \"allow\", \"filter\": [{\"syscall\": \"ioctl\", \"args\": "
		 "[{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\"}]}]}}", ok, ok);
	refused(doc, "vcpu.filter[0] (ioctl).args[0].val: missing");
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

#if defined(__SANITIZE_ADDRESS__)
	printf("SKIPPED: sanitizer build: wisp builds its filters but does not install them\n");
	return 77;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	printf("SKIPPED: sanitizer build: wisp builds its filters but does not install them\n");
	return 77;
#endif
#endif
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIPPED: /dev/kvm is not usable\n");
		return 77;
	}
	s = suite_create("seccomp");
	tc = tcase_create("seccomp");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, every_thread_is_filtered);
	tcase_add_test(tc, no_seccomp_filters_nothing);
	tcase_add_test(tc, api_thread_dies_on_its_first_accept_without_accept4);
	tcase_add_test(tc, vcpu_dies_on_kvm_run_without_its_rule);
	tcase_add_test(tc, vmm_dies_on_its_first_read_without_read);
	tcase_add_test(tc, trap_names_the_forbidden_call);
	tcase_add_test(tc, trap_on_the_api_and_vmm_threads);
	tcase_add_test(tc, malformed_filter_files_exit_152);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
