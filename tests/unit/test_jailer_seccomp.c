/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_seccomp.c — the jailer's coarse deny-list filter: it holds a
 * kill rule for every listed syscall (read back from libseccomp's PFC
 * export), and once loaded (in a child) a denied call kills the process with
 * SIGSYS while ordinary calls keep working.
 */
#include <check.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "../check_main.h"
#include "jailer/jailer.h"

/* The filter as libseccomp's pseudo filter code text. */
static char *export_pfc(void)
{
	static char text[1 << 18];
	scmp_filter_ctx ctx;
	int fd = memfd_create("pfc", 0);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(jailer_seccomp_build(&ctx), 0);
	ck_assert_int_eq(seccomp_export_pfc(ctx, fd), 0);
	seccomp_release(ctx);
	n = pread(fd, text, sizeof(text) - 1, 0);
	ck_assert_int_gt(n, 0);
	text[n] = '\0';
	close(fd);
	return text;
}

START_TEST(deny_list_complete)
{
	static const char *const must[] = {
		"mount", "umount2", "pivot_root", "ptrace", "process_vm_readv",
		"process_vm_writev", "kexec_load", "kexec_file_load", "init_module",
		"finit_module", "delete_module", "bpf", "perf_event_open", "keyctl", "add_key",
		"request_key", "unshare", "setns", "swapon", "swapoff", "reboot", "acct",
		"settimeofday", "clock_settime", "open_by_handle_at", "personality",
	};
	const char *text = export_pfc();

	/* The brief's list is all there... */
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		bool listed = false;

		for (size_t k = 0; k < jailer_n_denied_syscalls; k++)
			listed |= !strcmp(jailer_denied_syscalls[k].name, must[i]);
		ck_assert_msg(listed, "%s not in the deny list", must[i]);
	}
	/* ...and every listed syscall this host knows has a kill rule. */
	for (size_t k = 0; k < jailer_n_denied_syscalls; k++) {
		char needle[96];
		const char *at;
		int nr = seccomp_syscall_resolve_name(jailer_denied_syscalls[k].name);

		ck_assert_ptr_nonnull(jailer_denied_syscalls[k].why);
		if (nr < 0)
			continue;
		snprintf(needle, sizeof(needle), "# filter for syscall \"%s\" (%d)",
			 jailer_denied_syscalls[k].name, nr);
		at = strstr(text, needle);
		ck_assert_msg(at, "no rule for %s", jailer_denied_syscalls[k].name);
		at = strstr(at, "action ");
		ck_assert_ptr_nonnull(at);
		ck_assert_msg(!strncmp(at, "action KILL_PROCESS;", 20), "%s: %.30s",
			      jailer_denied_syscalls[k].name, at);
	}
	/* Signals: only towards the building process's own pid (SCMP_CMP_NE
	 * rules: "if ($a0 != pid) action KILL_PROCESS"). */
	for (size_t k = 0; k < jailer_n_self_only_syscalls; k++) {
		char needle[96];
		const char *at;
		int nr = seccomp_syscall_resolve_name(jailer_self_only_syscalls[k].name);

		if (nr < 0)
			continue;
		snprintf(needle, sizeof(needle), "# filter for syscall \"%s\" (%d)",
			 jailer_self_only_syscalls[k].name, nr);
		at = strstr(text, needle);
		ck_assert_msg(at, "no rule for %s", jailer_self_only_syscalls[k].name);
		snprintf(needle, sizeof(needle), "%d", (int)getpid());
		ck_assert_msg(strstr(at, needle), "%s: no comparison with pid %s",
			      jailer_self_only_syscalls[k].name, needle);
	}
	/* Things a VMM needs are not denied. */
	ck_assert_ptr_null(strstr(text, "syscall \"userfaultfd\""));
	ck_assert_ptr_null(strstr(text, "syscall \"ioctl\""));
	ck_assert_ptr_null(strstr(text, "syscall \"execve\""));
	ck_assert_ptr_null(strstr(text, "syscall \"seccomp\""));
	/* clone with namespace flags, clone3 -> ENOSYS, default allow. */
	ck_assert_ptr_nonnull(strstr(text, "# filter for syscall \"clone\""));
	ck_assert_ptr_nonnull(strstr(text, "# filter for syscall \"clone3\""));
	ck_assert_ptr_nonnull(strstr(text, "action ERRNO(38);"));
	ck_assert_ptr_nonnull(strstr(text, "# default action\n  action ALLOW;"));
	ck_assert_ptr_nonnull(strstr(text, "# invalid architecture action\naction KILL_PROCESS;"));
}
END_TEST

/* Load the filter in a child, run one call, report how the child ended. */
static int run_filtered(long nr, long a0, long a1)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		scmp_filter_ctx ctx;
		long r;

		if (jailer_seccomp_build(&ctx) < 0 || seccomp_load(ctx) < 0)
			_exit(99);
		r = syscall(nr, a0, a1, 0, 0, 0);
		_exit(r < 0 ? (errno & 0x7f) : 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

START_TEST(denied_calls_kill)
{
	ck_assert_int_eq(run_filtered(SYS_unshare, 0, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_setns, -1, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_ptrace, 0, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_mount, 0, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_bpf, 0, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_keyctl, 0, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_personality, 0xffffffff, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_clone, CLONE_NEWNET | SIGCHLD, 0), -SIGSYS);
	ck_assert_int_eq(run_filtered(SYS_clone3, 0, 0), ENOSYS);
}
END_TEST

START_TEST(allowed_calls_pass)
{
	ck_assert_int_eq(run_filtered(SYS_getpid, 0, 0), 0);
	/* A bad fd: the call reaches the kernel (EBADF), it is not killed. */
	ck_assert_int_eq(run_filtered(SYS_ioctl, -1, 0), EBADF);
	ck_assert_int_eq(run_filtered(SYS_userfaultfd, -1, 0), EINVAL);
}
END_TEST

START_TEST(fork_still_works)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		scmp_filter_ctx ctx;
		pid_t c;

		if (jailer_seccomp_build(&ctx) < 0 || seccomp_load(ctx) < 0)
			_exit(99);
		c = fork();  /* plain clone without namespace flags */
		if (c == 0)
			_exit(7);
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			_exit(1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_seccomp");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, deny_list_complete);
	tcase_add_test(tc, denied_calls_kill);
	tcase_add_test(tc, allowed_calls_pass);
	tcase_add_test(tc, fork_still_works);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
