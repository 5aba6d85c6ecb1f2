/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_signals.c — Firecracker's functional/test_signals.py re-expressed
 * against build/wisp with the test guest (vmm/signals.c): every fatal signal
 * logs "Shutting down VM after intercepting signal N, code C.", sets
 * signals.<name> in a last metrics line and ends wisp with Firecracker's
 * exit status; SIGPIPE is counted and logged and wisp goes on. Also
 * security/test_jail.py::test_negative_file_size_limit without the jailer:
 * under RLIMIT_FSIZE below the guest's memory size the guest boots (guest
 * RAM is not a file limited by it), and a snapshot whose memory file
 * passes the limit ends wisp by SIGXFSZ (exit 151).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <jansson.h>

#include "../check_main.h"
#include "api_client.h"
#include "harness.h"

#define BOOT_TIMEOUT_MS 60000

static void teardown(void)
{
	tmpdir_cleanup();
}

struct vm {
	struct proc p;
	char sock[4200];
	char metrics[4200];
	char dir[4096];
	struct api_client c;
};

static void vm_spawn(struct vm *v)
{
	const char *dir = tmpdir_make();
	char *argv[8];
	int i = 0;

	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	snprintf(v->sock, sizeof(v->sock), "%s/api.sock", dir);
	snprintf(v->metrics, sizeof(v->metrics), "%s/metrics.json", dir);
	argv[i++] = (char *)build_path("wisp");
	argv[i++] = "--api-sock";
	argv[i++] = v->sock;
	argv[i++] = "--metrics-path";
	argv[i++] = v->metrics;
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&v->p, argv), 0);
	ck_assert_msg(api_wait_socket(v->sock, 20000), "no API socket\n%s", v->p.err.data);
	api_client_init(&v->c, v->sock);
}

/* Firecracker's basic_config() and start(): the ticker test guest, until
 * its first tick. */
static void vm_boot(struct vm *v, unsigned vcpus)
{
	char body[4400];

	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": "
		 "\"wtest=ticker console=ttyS0\"}", build_path("wisp-testguest"));
	ck_assert_int_eq(api_call(&v->c, "PUT", "/boot-source", body), 204);
	snprintf(body, sizeof(body), "{\"vcpu_count\": %u, \"mem_size_mib\": 128}", vcpus);
	ck_assert_int_eq(api_call(&v->c, "PUT", "/machine-config", body), 204);
	ck_assert_int_eq(api_call(&v->c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"),
			 204);
	ck_assert_msg(proc_wait_for(&v->p, "TICK 1", BOOT_TIMEOUT_MS), "no TICK\n%s\n%s",
		      v->p.out.data, v->p.err.data);
}

/* Firecracker writes a metrics line when the VM starts (PeriodicMetrics::
 * start), wisp only every 60 s: a FlushMetrics makes sure the file holds
 * the lines of a running VM before the signal. */
static void vm_flush_metrics(struct vm *v)
{
	ck_assert_int_eq(api_call(&v->c, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"),
			 204);
}

static void vm_free(struct vm *v)
{
	if (!v->p.exited) {
		proc_signal(&v->p, SIGKILL);
		proc_finish(&v->p, 10000);
	}
	api_client_free(&v->c);
	proc_free(&v->p);
}

/* Lines in the metrics file, and the last one parsed (NULL if none). */
static json_t *last_metrics(const char *path, int *lines)
{
	size_t len;
	char *raw = read_whole_file(path, &len), *text, *line, *save = NULL, *last = NULL;
	json_t *doc = NULL;

	*lines = 0;
	if (!raw)
		return NULL;
	text = strndup(raw, len);   /* read_whole_file does not end it with a NUL */
	free(raw);
	ck_assert_ptr_nonnull(text);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		(*lines)++;
		last = line;
	}
	if (last)
		doc = json_loads(last, 0, NULL);
	free(text);
	return doc;
}

static long long signal_metric(json_t *line, const char *name)
{
	json_t *v = json_object_get(json_object_get(line, "signals"), name);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* The tid of the thread of pid whose name is comm, or -1. */
static pid_t thread_named(pid_t pid, const char *comm)
{
	char path[400], name[64];
	struct dirent *e;
	pid_t found = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while (found < 0 && (e = readdir(d))) {
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = 0;
			if (!strcmp(name, comm))
				found = (pid_t)atoi(e->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static const struct {
	int signo;
	const char *name;
	int exit_code;   /* Firecracker's FcExitCode */
} fatal[] = {
	{ SIGBUS, "sigbus", 149 }, { SIGSEGV, "sigsegv", 150 }, { SIGXFSZ, "sigxfsz", 151 },
	{ SIGXCPU, "sigxcpu", 154 }, { SIGHUP, "sighup", 156 }, { SIGILL, "sigill", 157 },
};

/* Send fatal[i] to thread `comm` of a booted wisp (NULL: to the process;
 * "": to the main thread, the VMM thread)
 * and check what Firecracker's test checks, plus the exit status and the
 * other signals' counters (0). */
static void check_fatal(unsigned i, const char *comm)
{
	char want[128];
	struct vm v;
	json_t *line;
	int before, after;

	vm_spawn(&v);
	vm_boot(&v, 2);
	vm_flush_metrics(&v);
	json_decref(last_metrics(v.metrics, &before));
	if (comm) {
		pid_t tid = comm[0] ? thread_named(v.p.pid, comm) : v.p.pid;

		ck_assert_msg(tid > 0, "no thread %s in wisp", comm);
		ck_assert_int_eq(syscall(SYS_tgkill, v.p.pid, tid, fatal[i].signo), 0);
	} else {
		ck_assert_int_eq(kill(v.p.pid, fatal[i].signo), 0);
	}
	ck_assert_msg(proc_finish(&v.p, 20000), "wisp did not end on %s", fatal[i].name);
	ck_assert_msg(v.p.status == fatal[i].exit_code, "%s (%s): status %d, want %d\n%s",
		      fatal[i].name, comm ? (comm[0] ? comm : "main") : "process", v.p.status, fatal[i].exit_code,
		      v.p.err.data);
	/* kill(): SI_USER (0); tgkill(): SI_TKILL (-6) */
	snprintf(want, sizeof(want), "Shutting down VM after intercepting signal %d, code %d.",
		 fatal[i].signo, comm ? SI_TKILL : SI_USER);
	ck_assert_msg(strstr(v.p.err.data, want), "no \"%s\" in\n%s", want, v.p.err.data);
	ck_assert_int_eq(count_substr(v.p.err.data, "Shutting down VM after intercepting"), 1);
	line = last_metrics(v.metrics, &after);
	ck_assert_msg(line, "no metrics line");
	ck_assert_msg(after == before + 1, "%d metrics lines after %d", after, before);
	for (unsigned k = 0; k < sizeof(fatal) / sizeof(fatal[0]); k++)
		ck_assert_msg(signal_metric(line, fatal[k].name) == (k == i ? 1 : 0),
			      "signals.%s = %lld after %s", fatal[k].name,
			      signal_metric(line, fatal[k].name), fatal[i].name);
	ck_assert_int_eq(signal_metric(line, "sigpipe"), 0);
	json_decref(line);
	vm_free(&v);
}

/* Firecracker: functional/test_signals.py::test_generic_signal_handler
 * (SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGHUP, SIGILL sent to the process). */
START_TEST(generic_signal_handler)
{
	check_fatal((unsigned)_i, NULL);
}
END_TEST

/* Firecracker: functional/test_signals.py::test_generic_signal_handler
 * (SIGSYS sent to the process: no seccomp report, so Firecracker's handler
 * logs its line and exits 2, UnexpectedError; the test checks no metric).
 * Installed with or without filters (--no-seccomp, sanitizer builds). */
START_TEST(generic_signal_handler_sigsys)
{
	struct vm v;

	vm_spawn(&v);
	vm_boot(&v, 1);
	ck_assert_int_eq(kill(v.p.pid, SIGSYS), 0);
	ck_assert_msg(proc_finish(&v.p, 20000), "wisp did not end on SIGSYS");
	ck_assert_msg(v.p.status == 2, "status %d\n%s", v.p.status, v.p.err.data);
	ck_assert_msg(strstr(v.p.err.data, "Shutting down VM after intercepting signal 31, code 0."),
		      "%s", v.p.err.data);
	vm_free(&v);
}
END_TEST

/* Firecracker: functional/test_signals.py::test_generic_signal_handler,
 * with the signal sent to one thread (tgkill): the handler runs there,
 * under that thread's seccomp filter. SIGSEGV to a vCPU thread, SIGBUS to
 * the api thread, SIGXCPU to the other vCPU thread, SIGILL to the VMM
 * thread (the main thread; kill() above may land on any thread). */
START_TEST(signal_on_each_thread)
{
	static const struct {
		int signo;
		const char *comm;
	} cases[] = { { SIGSEGV, "fc_vcpu 1" }, { SIGBUS, "fc_api" }, { SIGXCPU, "fc_vcpu 0" },
		      { SIGILL, "" } };

	for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
		for (unsigned i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
			if (fatal[i].signo == cases[c].signo)
				check_fatal(i, cases[c].comm);
}
END_TEST

/* Firecracker: functional/test_signals.py::test_generic_signal_handler
 * (SIGPIPE): "Received signal 13", wisp goes on, FlushMetrics writes a line
 * with signals.sigpipe 1. */
START_TEST(sigpipe_counted)
{
	struct vm v;
	json_t *line;
	int n;

	vm_spawn(&v);
	vm_boot(&v, 1);
	ck_assert_int_eq(kill(v.p.pid, SIGPIPE), 0);
	ck_assert_msg(proc_wait_for(&v.p, "Received signal 13, code 0.", 10000), "%s",
		      v.p.err.data);
	ck_assert_int_eq(api_call(&v.c, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"),
			 204);
	line = last_metrics(v.metrics, &n);
	ck_assert_msg(line, "no metrics line");
	ck_assert_int_eq(signal_metric(line, "sigpipe"), 1);
	json_decref(line);
	ck_assert_msg(!v.p.exited, "wisp ended on SIGPIPE");
	proc_signal(&v.p, SIGTERM);
	ck_assert(proc_finish(&v.p, 20000));
	ck_assert_msg(v.p.status == 0, "status %d\n%s", v.p.status, v.p.err.data);
	vm_free(&v);
}
END_TEST

/* The number in the last "TICK n" the guest printed, or -1. */
static long last_tick(const struct proc *p)
{
	const char *s = p->out.data, *last = NULL;

	while (s && (s = strstr(s, "TICK ")))
		last = s++;
	return last ? strtol(last + 5, NULL, 10) : -1;
}

/* Firecracker: functional/test_signals.py::test_handled_signals (signal 35,
 * Firecracker's vCPU kick under musl, sent to the process of a VM with 2
 * vCPUs: the VM keeps running; here the guest keeps ticking, and wisp still
 * answers). */
START_TEST(handled_signals)
{
	char want[32];
	struct vm v;
	long t;

	vm_spawn(&v);
	vm_boot(&v, 2);
	for (int k = 0; k < 5; k++)
		ck_assert_int_eq(kill(v.p.pid, 35), 0);
	usleep(300 * 1000);
	ck_assert_msg(api_call(&v.c, "GET", "/", NULL) == 200, "wisp ended on signal 35\n%s",
		      v.p.err.data);
	t = last_tick(&v.p);
	ck_assert_int_gt(t, 0);
	snprintf(want, sizeof(want), "TICK %ld", t + 1);
	ck_assert_msg(proc_wait_for(&v.p, want, BOOT_TIMEOUT_MS), "the guest stopped at TICK %ld",
		      t);
	ck_assert_int_eq(api_call(&v.c, "GET", "/", NULL), 200);
	proc_signal(&v.p, SIGTERM);
	ck_assert(proc_finish(&v.p, 20000));
	ck_assert_msg(v.p.status == 0, "status %d\n%s", v.p.status, v.p.err.data);
	vm_free(&v);
}
END_TEST

static void snapshot_over_limit(struct vm *v)
{
	char body[9000];

	ck_assert_int_eq(api_call(&v->c, "PATCH", "/vm", "{\"state\": \"Paused\"}"), 204);
	snprintf(body, sizeof(body), "{\"snapshot_type\": \"Full\", \"snapshot_path\": "
		 "\"%s/vm.state\", \"mem_file_path\": \"%s/vm.mem\"}", v->dir, v->dir);
	/* wisp is gone before it answers */
	(void)api_call(&v->c, "PUT", "/snapshot/create", body);
	ck_assert_msg(proc_finish(&v->p, 20000), "wisp did not end");
	ck_assert_msg(v->p.status == 151, "status %d\n%s", v->p.status, v->p.err.data);
	ck_assert_msg(strstr(v->p.err.data,
			     "Shutting down VM after intercepting signal 25, code 0"), "%s",
		      v->p.err.data);
}

/* Firecracker: functional/test_signals.py::test_sigxfsz_handler
 * (RLIMIT_FSIZE set on the running VMM to 3 times the metrics file's size;
 * Firecracker's guest then writes its rootfs past it, here the memory file
 * of a Full snapshot passes it): exit 151, the log line, signals.sigxfsz 1
 * in the last metrics line. */
START_TEST(sigxfsz_handler)
{
	struct rlimit rl;
	struct stat st;
	struct vm v;
	json_t *line;
	int n;

	vm_spawn(&v);
	vm_boot(&v, 1);
	vm_flush_metrics(&v);
	ck_assert_int_eq(stat(v.metrics, &st), 0);
	ck_assert_int_gt(st.st_size, 0);
	rl.rlim_cur = (rlim_t)st.st_size * 3;
	rl.rlim_max = RLIM_INFINITY;
	ck_assert_int_eq(prlimit(v.p.pid, RLIMIT_FSIZE, &rl, NULL), 0);
	snapshot_over_limit(&v);
	line = last_metrics(v.metrics, &n);
	ck_assert_msg(line, "no metrics line");
	ck_assert_int_eq(signal_metric(line, "sigxfsz"), 1);
	json_decref(line);
	vm_free(&v);
}
END_TEST

/* Firecracker: security/test_jail.py::test_negative_file_size_limit
 * (there through the jailer's --resource-limit fsize=1048576; here
 * prlimit on the VMM before InstanceStart): a 128 MiB guest boots under a
 * 1 MiB file size limit, and the snapshot's memory file ends wisp by
 * SIGXFSZ. */
START_TEST(fsize_limit_below_guest_memory)
{
	struct rlimit rl = { .rlim_cur = 1 << 20, .rlim_max = 1 << 20 };
	struct vm v;

	vm_spawn(&v);
	ck_assert_int_eq(prlimit(v.p.pid, RLIMIT_FSIZE, &rl, NULL), 0);
	vm_boot(&v, 1);
	ck_assert_msg(strstr(v.p.err.data, "above RLIMIT_FSIZE"), "%s", v.p.err.data);
	ck_assert_int_eq(api_call(&v.c, "GET", "/", NULL), 200);
	snapshot_over_limit(&v);
	vm_free(&v);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fc_signals");
	TCase *tc = tcase_create("signals");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, generic_signal_handler, 0, (int)(sizeof(fatal) / sizeof(fatal[0])));
	tcase_add_test(tc, generic_signal_handler_sigsys);
	tcase_add_test(tc, signal_on_each_thread);
	tcase_add_test(tc, sigpipe_counted);
	tcase_add_test(tc, handled_signals);
	tcase_add_test(tc, sigxfsz_handler);
	tcase_add_test(tc, fsize_limit_below_guest_memory);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm not available\n");
		return 77;
	}
	return check_run_suite(suite());
}
