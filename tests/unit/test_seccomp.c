/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_seccomp.c — wisp's per-thread seccomp filters  (vmm/seccomp/seccomp.c,
 * vmm/seccomp/json.c): the built-in lists of every role build and hold what
 * they must (and nothing they must not); every rule is exercised in a
 * forked child with the compiled filter installed, as Firecracker's
 * test_seccomp_validate does (allowed arguments pass, a changed argument
 * kills with SIGSYS); forbidden calls kill; the JSON reader refuses each
 * malformed document with a message naming the role, entry and field; the
 * shipped resources/seccomp/x86_64.json is the built-in policy.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check_main.h"
#include "vmm_seccomp.h"

/* Distinct system calls per role: docs/seccomp.md quotes these. */
#define VMM_SYSCALLS  43
#define API_SYSCALLS  23
#define VCPU_SYSCALLS 18

static struct sc_policy pol;
static struct sc_bpf bpf[SC_NR_ROLES];

static void setup(void)
{
	char err[512];

	ck_assert_int_eq(sc_policy_default(&pol), 0);
	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		ck_assert_msg(sc_filter_compile(&pol.role[r], &bpf[r], err, sizeof(err)) == 0,
			      "%s: %s", sc_role_name(r), err);
}

static void teardown(void)
{
	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		sc_bpf_free(&bpf[r]);
	sc_policy_free(&pol);
}

/* Fork; the child installs `role`'s filter and makes one raw system call,
 * then exits 0. Returns the wait status. */
static int run_filtered(enum sc_role role, long nr, const long a[6])
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		/* fd 0 is /dev/null: reads and writes of 0 bytes return at once */
		dup2(null, 0);
		alarm(10);
		if (sc_bpf_apply(&bpf[role]) < 0)
			_exit(99);
		syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		/* raw exit_group: a sanitizer's _exit() makes calls of its own */
		syscall(SYS_exit_group, 0);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static bool killed_by_sigsys(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS;
}

static bool exited_0(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

START_TEST(every_role_builds_within_the_kernel_limit)
{
	for (unsigned r = 0; r < SC_NR_ROLES; r++) {
		ck_assert_uint_gt(bpf[r].len, 10);
		ck_assert_uint_le(bpf[r].len, BPF_MAXINSNS);
		/* trap, as Firecracker's default filters (the SIGSYS handler
		 * reports the call and exits 148) */
		ck_assert(pol.role[r].default_action.kind == SC_ACT_TRAP);
		ck_assert(pol.role[r].filter_action.kind == SC_ACT_ALLOW);
	}
}
END_TEST

START_TEST(counts_per_role)
{
	ck_assert_uint_eq(sc_filter_syscall_count(&pol.role[SC_ROLE_VMM]), VMM_SYSCALLS);
	ck_assert_uint_eq(sc_filter_syscall_count(&pol.role[SC_ROLE_API]), API_SYSCALLS);
	ck_assert_uint_eq(sc_filter_syscall_count(&pol.role[SC_ROLE_VCPU]), VCPU_SYSCALLS);
	printf("seccomp: vmm %u, api %u, vcpu %u system calls (Firecracker x86_64: 50, 31, 27)\n",
	       sc_filter_syscall_count(&pol.role[SC_ROLE_VMM]),
	       sc_filter_syscall_count(&pol.role[SC_ROLE_API]),
	       sc_filter_syscall_count(&pol.role[SC_ROLE_VCPU]));
}
END_TEST

START_TEST(forbidden_calls_are_absent)
{
	static const char *const never[] = {
		"execve", "execveat", "fork", "vfork", "clone", "clone3", "ptrace", "mprotect",
		"pkey_mprotect", "bind", "listen", "setns", "unshare", "mount",
		"kill", "process_vm_writev", "memfd_create", "userfaultfd", "bpf", "seccomp",
		"prctl", "open", "creat", "chmod", "io_uring_setup",
	};
	/* The VMM thread's vsock may create AF_UNIX sockets and connect them
	 * (socket(AF_INET) is killed: below), and swap the Async ring's file;
	 * the other threads never. */
	static const char *const vmm_only[] = { "socket", "connect", "io_uring_register" };

	for (size_t i = 0; i < sizeof(vmm_only) / sizeof(vmm_only[0]); i++) {
		ck_assert(!sc_filter_has(&pol.role[SC_ROLE_API], vmm_only[i]));
		ck_assert(!sc_filter_has(&pol.role[SC_ROLE_VCPU], vmm_only[i]));
	}

	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
			ck_assert_msg(!sc_filter_has(&pol.role[r], never[i]), "%s allows %s",
				      sc_role_name(r), never[i]);
	/* Per role: the api thread touches no device, the vCPU no file. */
	ck_assert(!sc_filter_has(&pol.role[SC_ROLE_API], "ioctl"));
	ck_assert(!sc_filter_has(&pol.role[SC_ROLE_API], "openat"));
	ck_assert(!sc_filter_has(&pol.role[SC_ROLE_VCPU], "openat"));
	ck_assert(!sc_filter_has(&pol.role[SC_ROLE_VCPU], "read"));
	ck_assert(!sc_filter_has(&pol.role[SC_ROLE_VCPU], "accept4"));
}
END_TEST

/* ioctl only with a request number, mmap only without PROT_EXEC, openat
 * never creating: every such rule carries its condition. */
START_TEST(argument_conditions_are_on_every_sensitive_rule)
{
	for (unsigned r = 0; r < SC_NR_ROLES; r++) {
		const struct sc_filter *f = &pol.role[r];

		for (unsigned i = 0; i < f->nrules; i++) {
			const struct sc_rule *rule = &f->rules[i];

			if (!strcmp(rule->syscall, "ioctl")) {
				ck_assert_uint_eq(rule->ncond, 1);
				ck_assert_uint_eq(rule->cond[0].index, 1);
				ck_assert(rule->cond[0].op == SC_OP_EQ);
			} else if (!strcmp(rule->syscall, "mmap")) {
				ck_assert_uint_eq(rule->ncond, 1);
				ck_assert_uint_eq(rule->cond[0].index, 2);
				ck_assert(rule->cond[0].op == SC_OP_MASKED_EQ);
				ck_assert_uint_eq(rule->cond[0].mask & PROT_EXEC, PROT_EXEC);
				ck_assert_uint_eq(rule->cond[0].val, 0);
			} else if (!strcmp(rule->syscall, "futex") ||
				   !strcmp(rule->syscall, "tgkill") ||
				   !strcmp(rule->syscall, "accept4") ||
				   !strcmp(rule->syscall, "openat")) {
				ck_assert_uint_ge(rule->ncond, 1);
			}
		}
	}
	/* The ioctls each role may make. */
	ck_assert(sc_filter_has(&pol.role[SC_ROLE_VCPU], "ioctl"));
	ck_assert(sc_filter_has(&pol.role[SC_ROLE_VMM], "ioctl"));
}
END_TEST

/* Firecracker's test_seccomp_validate: each rule, allowed args pass, each
 * argument changed kills. */
static void validate_role(enum sc_role role)
{
	const struct sc_filter *f = &pol.role[role];

	for (unsigned i = 0; i < f->nrules; i++) {
		const struct sc_rule *rule = &f->rules[i];
		long nr = sc_syscall_nr(rule->syscall), a[6] = { 0 };
		int st;

		if (!strcmp(rule->syscall, "rt_sigreturn"))
			continue;   /* cannot be called outside a handler */
		for (unsigned c = 0; c < rule->ncond; c++)
			a[rule->cond[c].index] = (long)rule->cond[c].val;
		st = run_filtered(role, nr, a);
		ck_assert_msg(exited_0(st), "%s: %s with allowed args: status 0x%x",
			      sc_role_name(role), rule->syscall, st);
		for (unsigned c = 0; c < rule->ncond; c++) {
			const struct sc_cond *cd = &rule->cond[c];
			long bad[6];

			memcpy(bad, a, sizeof(bad));
			bad[cd->index] = cd->op == SC_OP_MASKED_EQ ? (long)(cd->val ^ cd->mask)
								  : (long)cd->val + 1000000;
			st = run_filtered(role, nr, bad);
			ck_assert_msg(killed_by_sigsys(st), "%s: %s with arg%u = %ld: status 0x%x",
				      sc_role_name(role), rule->syscall, cd->index, bad[cd->index],
				      st);
		}
	}
}

START_TEST(every_vmm_rule_allows_its_args_and_only_them)
{
	validate_role(SC_ROLE_VMM);
}
END_TEST

START_TEST(every_api_rule_allows_its_args_and_only_them)
{
	validate_role(SC_ROLE_API);
}
END_TEST

START_TEST(every_vcpu_rule_allows_its_args_and_only_them)
{
	validate_role(SC_ROLE_VCPU);
}
END_TEST

START_TEST(forbidden_calls_kill_with_sigsys)
{
	struct {
		enum sc_role role;
		long nr;
		long a[6];
	} cases[] = {
		{ SC_ROLE_VMM, SYS_socket, { AF_INET, SOCK_STREAM } },
		{ SC_ROLE_VMM, SYS_ioctl, { 0, KVM_CREATE_VM } },
		{ SC_ROLE_VMM, SYS_ioctl, { 0, KVM_RUN } },
		{ SC_ROLE_VMM, SYS_execve, { 0 } },
		{ SC_ROLE_VMM, SYS_clone, { 0 } },
		{ SC_ROLE_VMM, SYS_openat, { AT_FDCWD, 0, O_WRONLY | O_CREAT } },
		{ SC_ROLE_API, SYS_socket, { AF_UNIX, SOCK_STREAM } },
		{ SC_ROLE_API, SYS_ioctl, { 0, KVM_RUN } },
		{ SC_ROLE_API, SYS_openat, { AT_FDCWD, 0, O_RDONLY } },
		{ SC_ROLE_API, SYS_accept4, { 0, 0, 0, 0 } },
		{ SC_ROLE_VCPU, SYS_ioctl, { 0, KVM_CREATE_VCPU } },
		{ SC_ROLE_VCPU, SYS_ioctl, { 0, KVM_SET_USER_MEMORY_REGION } },
		{ SC_ROLE_VCPU, SYS_openat, { AT_FDCWD, 0, O_RDONLY } },
		{ SC_ROLE_VCPU, SYS_read, { 0 } },
		{ SC_ROLE_VCPU, SYS_mprotect, { 0, 0, PROT_READ } },
		{ SC_ROLE_VCPU, SYS_mmap, { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS } },
		{ SC_ROLE_API, SYS_mmap, { 0, 4096, PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS } },
		{ SC_ROLE_VMM, SYS_mprotect, { 0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC } },
		/* the kick signal is for the VMM thread only */
		{ SC_ROLE_VCPU, SYS_tgkill, { 0, 0, 34 } },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int st = run_filtered(cases[i].role, cases[i].nr, cases[i].a);

		ck_assert_msg(killed_by_sigsys(st), "case %zu (%s, nr %ld): status 0x%x", i,
			      sc_role_name(cases[i].role), cases[i].nr, st);
	}
}
END_TEST

/* An ioctl request compared as a dword: garbage in the upper half of the
 * register does not change what the kernel runs, nor the verdict. */
START_TEST(ioctl_request_is_compared_on_32_bits)
{
	long a[6] = { 0, (long)(0xdead00000000ULL | KVM_RUN) };

	ck_assert(exited_0(run_filtered(SC_ROLE_VCPU, SYS_ioctl, a)));
}
END_TEST

/* System calls through the i386 ABI never pass. */
START_TEST(int80_kills)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		long ret;

		if (sc_bpf_apply(&bpf[SC_ROLE_VMM]) < 0)
			_exit(99);
		/* i386 getpid (20) */
		__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
		syscall(SYS_exit_group, 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(killed_by_sigsys(st), "status 0x%x", st);
}
END_TEST

/* ---------------- JSON ---------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

START_TEST(json_round_trip)
{
	char *text = sc_policy_to_json(&pol), *again;
	struct sc_policy p2;
	char err[512];

	ck_assert_ptr_nonnull(text);
	ck_assert_msg(sc_policy_from_json(text, &p2, err, sizeof(err)) == 0, "%s", err);
	again = sc_policy_to_json(&p2);
	ck_assert_str_eq(text, again);
	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		ck_assert_uint_eq(p2.role[r].nrules, pol.role[r].nrules);
	sc_policy_free(&p2);
	free(text);
	free(again);
}
END_TEST

/* resources/seccomp/x86_64.json is the built-in policy (rewrite it with
 * WISP_UPDATE_SECCOMP_JSON=1). */
START_TEST(shipped_json_is_the_builtin_policy)
{
	const char *src = getenv("WISP_SOURCE_DIR");
	char path[4096], *text = sc_policy_to_json(&pol), *file;
	size_t len = strlen(text);

	snprintf(path, sizeof(path), "%s/resources/seccomp/x86_64.json", src ? src : ".");
	if (getenv("WISP_UPDATE_SECCOMP_JSON")) {
		FILE *f = fopen(path, "w");

		ck_assert_ptr_nonnull(f);
		fprintf(f, "%s\n", text);
		fclose(f);
	}
	file = read_file(path);
	ck_assert_msg(file != NULL, "cannot read %s", path);
	ck_assert_msg(strlen(file) == len + 1 && !strncmp(file, text, len),
		      "%s differs from the built-in policy: run this test with "
		      "WISP_UPDATE_SECCOMP_JSON=1 and review the diff", path);
	free(file);
	free(text);
}
END_TEST

/* A minimal valid document with `vmm` replaced. */
static char *doc_with_vmm(const char *vmm)
{
	char *d;
	const char *ok = "{\"default_action\": \"kill_process\", \"filter_action\": \"allow\", "
			 "\"filter\": [{\"syscall\": \"read\"}]}";

	if (asprintf(&d, "{\"vmm\": %s, \"api\": %s, \"vcpu\": %s}", vmm, ok, ok) < 0)
		abort();
	return d;
}

static char *doc_with_rule(const char *rule)
{
	char *v, *d;

	if (asprintf(&v, "{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			 "\"filter\": [%s]}", rule) < 0)
		abort();
	d = doc_with_vmm(v);
	free(v);
	return d;
}

static char *doc_with_arg(const char *arg)
{
	char *r, *d;

	if (asprintf(&r, "{\"syscall\": \"ioctl\", \"args\": [%s]}", arg) < 0)
		abort();
	d = doc_with_rule(r);
	free(r);
	return d;
}

static void refuse(char *doc, const char *msg)
{
	struct sc_policy p;
	char err[512] = "";

	ck_assert_msg(sc_policy_from_json(doc, &p, err, sizeof(err)) == -EINVAL,
		      "accepted: %s", doc);
	ck_assert_msg(strstr(err, msg), "document %s\nerror '%s', want '%s'", doc, err, msg);
	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		ck_assert_ptr_null(p.role[r].rules);
	free(doc);
}

START_TEST(json_refusals_name_role_entry_and_field)
{
	refuse(strdup("{"), "line 1 column");
	refuse(strdup("[]"), "must be an object mapping the thread roles");
	refuse(strdup("{\"vmm\": {}, \"api\": {}, \"vcpu\": {}, \"main\": {}}"),
	       "unknown thread role \"main\"");
	refuse(strdup("{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", "
		      "\"filter\": []}, \"api\": {\"default_action\": \"trap\", \"filter_action\": "
		      "\"allow\", \"filter\": []}}"), "vcpu: missing");
	refuse(strdup("{\"vmm\": 1, \"api\": 1, \"vcpu\": 1, \"vmm\": 2}"), "duplicate");
	refuse(doc_with_vmm("[]"), "vmm: must be an object with default_action");
	refuse(doc_with_vmm("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			    "\"filters\": []}"), "vmm: unknown field \"filters\"");
	refuse(doc_with_vmm("{\"filter_action\": \"allow\", \"filter\": []}"),
	       "vmm.default_action: missing");
	refuse(doc_with_vmm("{\"default_action\": \"deny\", \"filter_action\": \"allow\", "
			    "\"filter\": []}"), "vmm.default_action: unknown action \"deny\"");
	refuse(doc_with_vmm("{\"default_action\": {\"errno\": 70000}, \"filter_action\": "
			    "\"allow\", \"filter\": []}"),
	       "vmm.default_action.errno: 70000 is out of range");
	refuse(doc_with_vmm("{\"default_action\": {\"errno\": -1}, \"filter_action\": "
			    "\"allow\", \"filter\": []}"), "vmm.default_action.errno: -1 is out of range");
	refuse(doc_with_vmm("{\"default_action\": {\"kill\": 1}, \"filter_action\": "
			    "\"allow\", \"filter\": []}"), "vmm.default_action: must be an action name");
	refuse(doc_with_vmm("{\"default_action\": \"trap\", \"filter\": []}"),
	       "vmm.filter_action: missing");
	refuse(doc_with_vmm("{\"default_action\": \"allow\", \"filter_action\": \"allow\", "
			    "\"filter\": []}"), "vmm.filter_action: the same as default_action");
	refuse(doc_with_vmm("{\"default_action\": \"trap\", \"filter_action\": \"allow\"}"),
	       "vmm.filter: missing");
	refuse(doc_with_vmm("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
			    "\"filter\": {}}"), "vmm.filter: must be an array of rules");
	refuse(doc_with_rule("\"read\""), "vmm.filter[0]: must be an object with a \"syscall\"");
	refuse(doc_with_rule("{\"syscall\": \"read\"}, {\"comment\": \"x\"}"),
	       "vmm.filter[1].syscall: missing");
	refuse(doc_with_rule("{\"syscall\": 0}"), "vmm.filter[0].syscall: must be a string");
	refuse(doc_with_rule("{\"syscall\": \"frobnicate\"}"),
	       "vmm.filter[0].syscall: unknown system call \"frobnicate\"");
	refuse(doc_with_rule("{\"syscall\": \"socketcall\"}"),
	       "vmm.filter[0].syscall: unknown system call \"socketcall\"");
	refuse(doc_with_rule("{\"syscall\": \"read\", \"arg\": []}"),
	       "vmm.filter[0]: unknown field \"arg\"");
	refuse(doc_with_rule("{\"syscall\": \"read\", \"comment\": 3}"),
	       "vmm.filter[0] (read).comment: must be a string");
	refuse(doc_with_rule("{\"syscall\": \"ioctl\", \"args\": {}}"),
	       "vmm.filter[0] (ioctl).args: must be an array of at most 6 conditions");
	refuse(doc_with_arg("1"), "vmm.filter[0] (ioctl).args[0]: must be an object");
	refuse(doc_with_arg("{\"type\": \"dword\", \"op\": \"eq\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].index: missing");
	refuse(doc_with_arg("{\"index\": 6, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].index: 6 is out of range");
	refuse(doc_with_arg("{\"index\": \"1\", \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].index: must be an integer");
	refuse(doc_with_arg("{\"index\": 1, \"op\": \"eq\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].type: missing");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"word\", \"op\": \"eq\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].type: must be \"dword\" or \"qword\"");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].op: missing");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"gte\", \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].op: unknown operator \"gte\"");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": {\"masked\": 4}, \"val\": 1}"),
	       "vmm.filter[0] (ioctl).args[0].op: must be an operator name or {\"masked_eq\": MASK}");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": {\"masked_eq\": 4294967296}, "
			    "\"val\": 0}"),
	       "vmm.filter[0] (ioctl).args[0].op.masked_eq: 4294967296 is out of range");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\"}"),
	       "vmm.filter[0] (ioctl).args[0].val: missing");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": -1}"),
	       "vmm.filter[0] (ioctl).args[0].val: -1 is out of range");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 4294967296}"),
	       "vmm.filter[0] (ioctl).args[0].val: 4294967296 is out of range");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1.5}"),
	       "vmm.filter[0] (ioctl).args[0].val: must be an integer");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1, "
			    "\"comment\": []}"), "vmm.filter[0] (ioctl).args[0].comment: must be a string");
	refuse(doc_with_arg("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1, "
			    "\"size\": 4}"), "vmm.filter[0] (ioctl).args[0]: unknown field \"size\"");
	refuse(doc_with_arg("{\"index\": 0, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 2, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 3, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 4, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 5, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}, "
			    "{\"index\": 5, \"type\": \"qword\", \"op\": \"eq\", \"val\": 0}"),
	       "vmm.filter[0] (ioctl).args: must be an array of at most 6 conditions");
}
END_TEST

/* Firecracker's own file shape parses: every action and operator form. */
START_TEST(json_accepts_firecracker_shapes)
{
	static const char doc[] =
		"{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": ["
		"  {\"syscall\": \"read\", \"comment\": \"c\"},"
		"  {\"syscall\": \"mmap\", \"args\": [{\"index\": 2, \"type\": \"dword\", "
		"   \"op\": {\"masked_eq\": 4}, \"val\": 0, \"comment\": \"no exec\"}]},"
		"  {\"syscall\": \"ioctl\", \"args\": [{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", "
		"   \"val\": 44672}]},"
		"  {\"syscall\": \"lseek\", \"args\": [{\"index\": 2, \"type\": \"qword\", \"op\": \"le\", \"val\": 2}]}]},"
		" \"api\": {\"default_action\": {\"errno\": 1}, \"filter_action\": \"log\", \"filter\": []},"
		" \"vcpu\": {\"default_action\": \"kill\", \"filter_action\": {\"trace\": 7}, \"filter\": []}}";
	struct sc_policy p;
	struct sc_bpf b;
	char err[512];

	ck_assert_msg(sc_policy_from_json(doc, &p, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(p.role[SC_ROLE_VMM].nrules, 4);
	ck_assert(p.role[SC_ROLE_VMM].rules[1].cond[0].op == SC_OP_MASKED_EQ);
	ck_assert_uint_eq(p.role[SC_ROLE_VMM].rules[1].cond[0].mask, 4);
	ck_assert(p.role[SC_ROLE_API].default_action.kind == SC_ACT_ERRNO);
	ck_assert_uint_eq(p.role[SC_ROLE_API].default_action.data, 1);
	ck_assert(p.role[SC_ROLE_VCPU].default_action.kind == SC_ACT_KILL_PROCESS);
	ck_assert(p.role[SC_ROLE_VCPU].filter_action.kind == SC_ACT_TRACE);
	for (unsigned r = 0; r < SC_NR_ROLES; r++) {
		ck_assert_msg(sc_filter_compile(&p.role[r], &b, err, sizeof(err)) == 0, "%s", err);
		sc_bpf_free(&b);
	}
	sc_policy_free(&p);
}
END_TEST

START_TEST(json_file_errors)
{
	struct sc_policy p;
	char err[512];

	ck_assert_int_eq(sc_policy_load_file("/nonexistent/filter.json", &p, err, sizeof(err)),
			 -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "cannot open"));
}
END_TEST

/* A "trap" filter: the SIGSYS report names the thread role and the call,
 * and wisp exits 148 (Firecracker's bad-syscall status). */
START_TEST(trap_reports_the_call)
{
	char path[] = "/tmp/wisp-sc-XXXXXX";
	int fd = mkstemp(path), pipefd[2], st;
	const char *doc =
		"{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": [{\"syscall\": \"write\"}]},"
		" \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": [{\"syscall\": \"write\"}]},"
		" \"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
		"  [{\"syscall\": \"write\"}, {\"syscall\": \"exit_group\"}, {\"syscall\": \"rt_sigreturn\"}]}}";
	char out[2048] = "";
	pid_t pid;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		if (wisp_seccomp_setup(false, path) < 0)
			_exit(98);
		if (!wisp_seccomp_enabled())
			_exit(77);   /* sanitizer build: nothing is installed */
		wisp_seccomp_enter(SC_ROLE_VCPU);
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		_exit(0);
	}
	close(pipefd[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_ge(read(pipefd[0], out, sizeof(out) - 1), 0);
	close(pipefd[0]);
	unlink(path);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		printf("trap_reports_the_call: SKIPPED (sanitizer build installs no filter)\n");
		return;
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 148, "status 0x%x, stderr %s", st, out);
	/* Firecracker's lines (signal_handler.rs), then wisp's with the name */
	ck_assert_msg(strstr(out, "Shutting down VM after intercepting a bad syscall (41)."),
		      "stderr: %s", out);
	ck_assert_msg(strstr(out, "the vcpu thread's filter trapped system call 41 (socket)"),
		      "stderr: %s", out);
}
END_TEST

START_TEST(setup_refuses_a_bad_file)
{
	/* cannot be read: Firecracker's "Filter file open error" (exit 1) */
	ck_assert_int_eq(wisp_seccomp_setup(false, "/nonexistent/filter.json"), -EBADMSG);
	ck_assert(!wisp_seccomp_enabled());
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seccomp");
	TCase *tc = tcase_create("filters");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_role_builds_within_the_kernel_limit);
	tcase_add_test(tc, counts_per_role);
	tcase_add_test(tc, forbidden_calls_are_absent);
	tcase_add_test(tc, argument_conditions_are_on_every_sensitive_rule);
	tcase_add_test(tc, every_vmm_rule_allows_its_args_and_only_them);
	tcase_add_test(tc, every_api_rule_allows_its_args_and_only_them);
	tcase_add_test(tc, every_vcpu_rule_allows_its_args_and_only_them);
	tcase_add_test(tc, forbidden_calls_kill_with_sigsys);
	tcase_add_test(tc, ioctl_request_is_compared_on_32_bits);
	tcase_add_test(tc, int80_kills);
	tcase_add_test(tc, json_round_trip);
	tcase_add_test(tc, shipped_json_is_the_builtin_policy);
	tcase_add_test(tc, json_refusals_name_role_entry_and_field);
	tcase_add_test(tc, json_accepts_firecracker_shapes);
	tcase_add_test(tc, json_file_errors);
	tcase_add_test(tc, trap_reports_the_call);
	tcase_add_test(tc, setup_refuses_a_bad_file);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
