/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jail_probe.c — a tiny static program the jailer integration tests exec
 * instead of wisp. It reports, one "key=value" per line on stdout, what it
 * sees from inside the jail (there is no /proc in there): pid, rlimits,
 * open fds, environment, its argv, whether /dev/kvm opens, whether an
 * fsize-limited write is stopped. Then, if asked, it makes one system call
 * the jailer's filter forbids (and is killed by SIGSYS), or waits until the
 * test creates /release inside the jail, so the host can look at
 * /proc/<pid>/ (ids, capabilities, no_new_privs, seccomp, namespaces, cwd)
 * and the cgroup files while it runs.
 *
 * The jailer's filter is an allow-list made for wisp (jailer/seccomp_filter.c),
 * and the probe runs under it like wisp would: it only makes calls that list
 * holds (glibc start-up, openat, read/write, fstat, prlimit64 read-only,
 * fcntl F_GETFL, epoll for its sleeps, kill towards itself...). What needs
 * other calls (getuid, capget, prctl PR_GET_*, getcwd) the test reads from
 * /proc/<pid>/ on the host instead.
 *
 *   jail-probe [--id X ...jailer's flags...] [--hold] [--fsize-test N]
 *              [--try CALL]   (one forbidden call: the process dies there)
 *              [--try-clone3] [--kill-self]
 * CALL: unshare mount ptrace clone-newuser fork socket-inet mknod mmap-exec
 *       chmod getuid capget kill:PID tgkill:PID shmctl:ID
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

extern char **environ;

static void report_limit(const char *name, int res)
{
	struct rlimit rl;

	/* glibc: prlimit64(0, res, NULL, &rl), a read-only call the filter allows */
	if (getrlimit(res, &rl) < 0) {
		printf("%s=error\n", name);
		return;
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		printf("%s_soft=unlimited\n", name);
	else
		printf("%s_soft=%llu\n", name, (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		printf("%s_hard=unlimited\n", name);
	else
		printf("%s_hard=%llu\n", name, (unsigned long long)rl.rlim_max);
}

/* Write n bytes to /run/fsize-test with SIGXFSZ ignored: the write stops at
 * the limit with EFBIG. Reports the size reached. */
static void fsize_test(long n)
{
	static char buf[4096];
	long done = 0;
	int fd, err = 0;

	signal(SIGXFSZ, SIG_IGN);
	fd = open("/run/fsize-test", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		printf("fsize_open_errno=%d\n", errno);
		return;
	}
	while (done < n) {
		size_t chunk = (size_t)(n - done) < sizeof(buf) ? (size_t)(n - done) : sizeof(buf);
		ssize_t w = write(fd, buf, chunk);

		if (w < 0) {
			err = errno;
			break;
		}
		done += w;
	}
	close(fd);
	printf("fsize_written=%ld\n", done);
	printf("fsize_errno=%d\n", err);
	unlink("/run/fsize-test");
}

/* One call outside the jailer's allow-list, made by the process itself:
 * the filter kills it (SIGSYS) before the call returns, so the test sees
 * "try=CALL" and no "done=1". If it returns, the result is reported. */
static void try_call(const char *what)
{
	const char *arg = strchr(what, ':');
	long v = arg ? atol(arg + 1) : 0, r = -1;

	printf("try=%s\n", what);
	fflush(stdout);
	if (!strcmp(what, "unshare"))
		r = unshare(0);
	else if (!strcmp(what, "mount"))
		r = mount("none", "/run", "tmpfs", 0, NULL);
	else if (!strcmp(what, "ptrace"))
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (!strcmp(what, "clone-newuser"))
		r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	else if (!strcmp(what, "fork"))
		r = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
	else if (!strcmp(what, "socket-inet"))
		r = socket(AF_INET, SOCK_STREAM, 0);
	else if (!strcmp(what, "mknod"))
		r = mknod("/run/node", S_IFCHR | 0600, makedev(1, 3));
	else if (!strcmp(what, "mmap-exec"))
		r = (long)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else if (!strcmp(what, "chmod"))
		r = chmod("/run", 0755);
	else if (!strcmp(what, "getuid"))
		r = syscall(SYS_getuid);
	else if (!strcmp(what, "capget")) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];

		r = syscall(SYS_capget, &h, d);
	} else if (!strncmp(what, "kill:", 5))
		r = kill((pid_t)v, 0);
	else if (!strncmp(what, "tgkill:", 7))
		r = syscall(SYS_tgkill, v, v, 0);
	else if (!strncmp(what, "shmctl:", 7)) {
		struct shmid_ds ds;

		r = shmctl((int)v, IPC_STAT, &ds);
	}
	printf("try_%s=ret:%ld errno:%d\n", what, r, r < 0 ? errno : 0);
}

static int count_env(void)
{
	int n = 0;

	while (environ && environ[n])
		n++;
	return n;
}

static int can_open(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Sleep about ms milliseconds: an epoll_wait on an empty set (nanosleep
 * is not in the allow-list; wisp sleeps in its event loops). */
static void sleep_ms(int ep, int ms)
{
	struct epoll_event ev;

	if (epoll_wait(ep, &ev, 1, ms) < 0 && errno != EINTR)
		_exit(3);
}

int main(int argc, char **argv)
{
	int open_fds = 0;
	bool hold = false;

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv%d=%s\n", i, argv[i]);
	printf("pid=%d\n", (int)getpid());
	report_limit("nofile", RLIMIT_NOFILE);
	report_limit("fsize", RLIMIT_FSIZE);
	for (int fd = 3; fd < 1024; fd++)
		open_fds += fcntl(fd, F_GETFL) >= 0;
	printf("open_fds_above_2=%d\n", open_fds);
	printf("env_count=%d\n", count_env());
	printf("kvm_open=%d\n", can_open("/dev/kvm", O_RDWR));
	printf("proc_visible=%d\n", can_open("/proc/self", O_RDONLY | O_DIRECTORY));
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold = true;
		else if (!strcmp(argv[i], "--fsize-test") && i + 1 < argc)
			fsize_test(atol(argv[++i]));
		else if (!strcmp(argv[i], "--try") && i + 1 < argc)
			try_call(argv[++i]);
		else if (!strcmp(argv[i], "--try-clone3"))
			/* Not allowed, but answered ENOSYS (glibc then uses clone). */
			printf("denied_clone3=%s\n",
			       syscall(435 /* clone3 */, NULL, 0) < 0 ? strerror(errno) : "ok");
		else if (!strcmp(argv[i], "--kill-self"))
			/* Its own pid is allowed (raise(), the VMM's vCPU kicks). */
			printf("kill_self=%d\n", kill(getpid(), 0) == 0 ? 0 : errno);
	}
	printf("done=1\n");
	fflush(stdout);
	if (hold) {
		int ep = epoll_create1(EPOLL_CLOEXEC);

		for (int i = 0; i < 3000 && !can_open("/release", O_RDONLY); i++)
			sleep_ms(ep, 10);
		close(ep);
	}
	return 0;
}
