/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_seccomp.c — the jailer's allow-list filter: its PFC export
 * (libseccomp's pseudo filter code) has default action KILL_PROCESS and an
 * ALLOW rule for every listed call and ioctl, none for the never-allowed
 * calls; it holds everything wisp's own per-thread filters allow (the
 * union); and once loaded (in a child) a call outside it kills the process
 * with SIGSYS while listed calls reach the kernel.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <seccomp.h>

#include "../check_main.h"
#include "jailer/jailer.h"
#include "vmm/seccomp/vmm_seccomp.h"

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

/* The PFC section of one system call (up to the next section), copied into
 * buf; NULL if the filter has no rule for it. */
static const char *section(const char *text, const char *name, char *buf, size_t len)
{
	char needle[96];
	const char *at, *end;
	int nr = seccomp_syscall_resolve_name(name);

	ck_assert_msg(nr >= 0, "libseccomp does not know %s", name);
	snprintf(needle, sizeof(needle), "# filter for syscall \"%s\" (%d)", name, nr);
	at = strstr(text, needle);
	if (!at)
		return NULL;
	end = strstr(at + 1, "# filter for syscall");
	if (!end)
		end = strstr(at, "# default action");
	ck_assert_ptr_nonnull(end);
	ck_assert_uint_lt((size_t)(end - at), len);
	memcpy(buf, at, (size_t)(end - at));
	buf[end - at] = '\0';
	return buf;
}

static bool allowed_name(const char *name)
{
	for (size_t i = 0; i < jailer_n_allowed_syscalls; i++)
		if (!strcmp(jailer_allowed_syscalls[i].name, name))
			return true;
	for (size_t i = 0; i < jailer_n_self_only_syscalls; i++)
		if (!strcmp(jailer_self_only_syscalls[i].name, name))
			return true;
	return !strcmp(name, "ioctl");
}

static bool allowed_ioctl(unsigned long req)
{
	for (size_t i = 0; i < jailer_n_allowed_ioctls; i++)
		if (jailer_allowed_ioctls[i].req == req)
			return true;
	return false;
}

START_TEST(pfc_allow_list)
{
	static char buf[1 << 16];
	const char *text = export_pfc();
	char needle[64];

	ck_assert_ptr_nonnull(strstr(text, "# default action\n  action KILL_PROCESS;"));
	ck_assert_ptr_nonnull(strstr(text, "# invalid architecture action\naction KILL_PROCESS;"));
	/* Every listed call has an ALLOW rule; every rule is documented. */
	for (size_t i = 0; i < jailer_n_allowed_syscalls; i++) {
		const struct jailer_allowed_syscall *a = &jailer_allowed_syscalls[i];
		const char *s = section(text, a->name, buf, sizeof(buf));

		ck_assert_msg(s, "no rule for %s", a->name);
		ck_assert_msg(strstr(s, "action ALLOW;"), "%s: not allowed:\n%s", a->name, s);
		ck_assert_msg(!strstr(s, "KILL"), "%s: %s", a->name, s);
		ck_assert_ptr_nonnull(a->why);
		ck_assert_ptr_nonnull(a->phase);
		ck_assert_msg(a->ncmp == 0 || a->cond, "%s: condition not described", a->name);
		ck_assert_msg(a->ncmp != 0 || !a->cond, "%s: described condition missing", a->name);
	}
	/* Every listed ioctl request, and nothing else, passes ioctl. */
	ck_assert_ptr_nonnull(section(text, "ioctl", buf, sizeof(buf)));
	for (size_t i = 0; i < jailer_n_allowed_ioctls; i++) {
		snprintf(needle, sizeof(needle), "== %lu)",
			 jailer_allowed_ioctls[i].req & 0xffffffffUL);
		ck_assert_msg(strstr(buf, needle), "ioctl %s not allowed",
			      jailer_allowed_ioctls[i].name);
	}
	ck_assert_ptr_null(strstr(buf, "if ($syscall == 16)\n        action ALLOW;"));
	/* The never-allowed calls have no rule: the default action kills. */
	for (size_t k = 0; k < jailer_n_denied_syscalls; k++) {
		if (seccomp_syscall_resolve_name(jailer_denied_syscalls[k].name) < 0)
			continue;
		ck_assert_ptr_nonnull(jailer_denied_syscalls[k].why);
		ck_assert_msg(!allowed_name(jailer_denied_syscalls[k].name), "%s listed as allowed",
			      jailer_denied_syscalls[k].name);
		ck_assert_msg(!section(text, jailer_denied_syscalls[k].name, buf, sizeof(buf)),
			      "%s has a rule", jailer_denied_syscalls[k].name);
	}
	/* Signals: only towards the building process's own pid. */
	snprintf(needle, sizeof(needle), "== %d)", (int)getpid());
	for (size_t k = 0; k < jailer_n_self_only_syscalls; k++) {
		const char *s = section(text, jailer_self_only_syscalls[k].name, buf, sizeof(buf));

		ck_assert_msg(s, "no rule for %s", jailer_self_only_syscalls[k].name);
		ck_assert_msg(strstr(s, needle), "%s: no comparison with pid %d:\n%s",
			      jailer_self_only_syscalls[k].name, (int)getpid(), s);
	}
	/* clone3 -> ENOSYS; a few calls wisp never makes stay out. */
	ck_assert_ptr_nonnull(strstr(section(text, "clone3", buf, sizeof(buf)), "action ERRNO(38);"));
	ck_assert_ptr_null(section(text, "tkill", buf, sizeof(buf)));
	ck_assert_ptr_null(section(text, "getuid", buf, sizeof(buf)));
	ck_assert_ptr_null(section(text, "capget", buf, sizeof(buf)));
	ck_assert_ptr_null(section(text, "open_by_handle_at", buf, sizeof(buf)));
}
END_TEST

/* Whatever wisp's own per-thread filters allow, the jailer's list allows
 * too (by name, and ioctl by request): they are stacked on the same
 * threads, so a call missing here would kill the VMM after boot. */
START_TEST(union_of_wisp_filters)
{
	struct sc_policy p;

	ck_assert_int_eq(sc_policy_default(&p), 0);
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		const struct sc_filter *f = &p.role[role];

		for (unsigned i = 0; i < f->nrules; i++) {
			const struct sc_rule *r = &f->rules[i];

			ck_assert_msg(allowed_name(r->syscall), "%s filter: %s not in the jailer's list",
				      sc_role_name(role), r->syscall);
			if (!strcmp(r->syscall, "ioctl")) {
				ck_assert_uint_eq(r->ncond, 1);
				ck_assert_uint_eq(r->cond[0].index, 1);
				ck_assert_msg(allowed_ioctl((unsigned long)r->cond[0].val),
					      "%s filter: ioctl %s (%#llx) not in the jailer's list",
					      sc_role_name(role), r->cond[0].comment ? r->cond[0].comment : "?",
					      (unsigned long long)r->cond[0].val);
			}
		}
	}
	sc_policy_free(&p);
}
END_TEST

/* The children end with a raw exit_group: a sanitizer runtime's _exit()
 * would make calls of its own, which the filter (made for the static,
 * uninstrumented wisp) kills. */
static void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	for (;;)
		;
}

/* Load the filter in a child, run one call, report how the child ended:
 * -signal, or the errno (0: success). */
static int run_filtered(long nr, long a0, long a1, long a2, long a3)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		scmp_filter_ctx ctx;
		long r;

		if (jailer_seccomp_build(&ctx) < 0 || seccomp_load(ctx) < 0)
			child_exit(99);
		r = syscall(nr, a0, a1, a2, a3, 0, 0);
		child_exit(r < 0 ? (errno & 0x7f) : 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}
#define RUN(nr, ...) run_filtered(nr, __VA_ARGS__)

START_TEST(outside_calls_kill)
{
	ck_assert_int_eq(RUN(SYS_unshare, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_setns, -1, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_ptrace, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_mount, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_bpf, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_keyctl, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_personality, 0xffffffff, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_getuid, 0, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_mknodat, AT_FDCWD, (long)"/nonexistent/x", 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_execveat, -1, (long)"", 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_chmod, (long)"/nonexistent", 0755, 0, 0), -SIGSYS);
	/* Argument conditions. */
	ck_assert_int_eq(RUN(SYS_socket, AF_INET, SOCK_STREAM, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_socket, AF_NETLINK, SOCK_RAW, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC,
			     MAP_PRIVATE | MAP_ANONYMOUS), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_mprotect, 0, 4096, PROT_READ | PROT_EXEC, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_openat, AT_FDCWD, (long)"/nonexistent/x", O_CREAT | O_WRONLY,
			     0755), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_clone, CLONE_NEWNET | CLONE_VM | CLONE_THREAD, 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_clone, SIGCHLD, 0, 0, 0), -SIGSYS);  /* fork */
	ck_assert_int_eq(RUN(SYS_ioctl, -1, FIONREAD, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_prctl, PR_SET_DUMPABLE, 1, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_kill, getppid(), 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_tgkill, getppid(), getppid(), 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_tkill, getppid(), 0, 0, 0), -SIGSYS);
	ck_assert_int_eq(RUN(SYS_clone3, 0, 0, 0, 0), ENOSYS);
}
END_TEST

START_TEST(listed_calls_pass)
{
	ck_assert_int_eq(RUN(SYS_getpid, 0, 0, 0, 0), 0);
	/* A bad fd: the call reaches the kernel (EBADF), it is not killed. */
	ck_assert_int_eq(RUN(SYS_ioctl, -1, KVM_GET_API_VERSION, 0, 0), EBADF);
	ck_assert_int_eq(RUN(SYS_ioctl, -1, KVM_RUN, 0, 0), EBADF);
	ck_assert_int_eq(RUN(SYS_userfaultfd, -1, 0, 0, 0), EINVAL);
	ck_assert_int_eq(RUN(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, 0), 0);
	ck_assert_int_eq(RUN(SYS_openat, AT_FDCWD, (long)"/nonexistent/x", O_CREAT | O_EXCL | O_RDWR,
			     0600), ENOENT);
	ck_assert_int_eq(RUN(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS), 0);
	ck_assert_int_eq(RUN(SYS_execve, (long)"/nonexistent", 0, 0, 0), ENOENT);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

#ifdef SANITIZED
/* A sanitizer's pthread_create sets up its own per-thread state (an
 * alternate signal stack...) with calls wisp never makes: make the thread
 * with glibc's clone() and the flags pthread_create passes, instead. */
static volatile int thread_ran;
static char thread_stack[64 * 1024] __attribute__((aligned(16)));

__attribute__((no_sanitize("address")))
static int thread_body(void *arg)
{
	__atomic_store_n(&thread_ran, (int)(long)arg, __ATOMIC_SEQ_CST);
	syscall(SYS_exit, 0);
	return 0;
}

static int make_thread(void)
{
	int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
		    CLONE_SYSVSEM;

	if (clone(thread_body, thread_stack + sizeof(thread_stack), flags, (void *)7L) < 0)
		return -1;
	for (long i = 0; i < 2000000000L && !__atomic_load_n(&thread_ran, __ATOMIC_SEQ_CST); i++)
		;
	return thread_ran == 7 ? 0 : -1;
}
#else
static void *thread_body(void *arg)
{
	return arg;
}

/* What wisp does: pthread_create (clone3 -> ENOSYS, then clone). */
static int make_thread(void)
{
	pthread_t t;
	void *ret = NULL;

	if (pthread_create(&t, NULL, thread_body, (void *)7) != 0)
		return -1;
	if (pthread_join(t, &ret) != 0 || ret != (void *)7)
		return -1;
	return 0;
}
#endif

/* Threads (what wisp makes) still work: clone with CLONE_VM|CLONE_THREAD;
 * signals to the process itself pass. */
START_TEST(threads_and_self_signals)
{
	pid_t pid = fork();
	int st;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		scmp_filter_ctx ctx;

		if (jailer_seccomp_build(&ctx) < 0 || seccomp_load(ctx) < 0)
			child_exit(99);
		if (make_thread() != 0)
			child_exit(1);
		if (syscall(SYS_kill, getpid(), 0) != 0)
			child_exit(3);
		if (syscall(SYS_tgkill, getpid(), getpid(), 0) != 0)
			child_exit(4);
		child_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_seccomp");
	TCase *tc = tcase_create("filter");

	tcase_add_test(tc, pfc_allow_list);
	tcase_add_test(tc, union_of_wisp_filters);
	tcase_add_test(tc, outside_calls_kill);
	tcase_add_test(tc, listed_calls_pass);
	tcase_add_test(tc, threads_and_self_signals);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
