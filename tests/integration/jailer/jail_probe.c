/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jail_probe.c — a tiny static program the jailer integration tests exec
 * instead of wisp. It reports, one "key=value" per line on stdout, what it
 * sees of itself from inside the jail (there is no /proc in there): ids,
 * groups, capability sets, no_new_privs, seccomp mode, pid, rlimits, open
 * fds, environment, its argv, whether an fsize-limited write is stopped and
 * whether a denied system call kills it. Then, if asked, it waits until the
 * test creates /release inside the jail, so the host can look at
 * /proc/<pid>/ and the cgroup files while it runs.
 *
 *   jail-probe [--id X ...jailer's flags...] [--hold] [--fsize-test N]
 *              [--try-denied unshare|mount|ptrace|clone-newuser|clone3]
 *              [--try-kill HOST_PID] [--try-shm HOST_SHM_ID]
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
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void report_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2];
	int bnd = 0;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0) {
		printf("caps=error:%d\n", errno);
		return;
	}
	printf("cap_eff=%08x%08x\n", d[1].effective, d[0].effective);
	printf("cap_prm=%08x%08x\n", d[1].permitted, d[0].permitted);
	printf("cap_inh=%08x%08x\n", d[1].inheritable, d[0].inheritable);
	for (int c = 0; c < 64; c++)
		bnd += prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1;
	printf("cap_bnd_count=%d\n", bnd);
	printf("cap_amb_any=%d\n", prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, 0, 0, 0) == 1);
}

static void report_limit(const char *name, int res)
{
	struct rlimit rl;

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

/* Run one denied call in a child; report how the child ended. */
static void try_denied(const char *what)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		long r = -1;

		if (!strcmp(what, "unshare"))
			r = unshare(0);
		else if (!strcmp(what, "mount"))
			r = mount("none", "/run", "tmpfs", 0, NULL);
		else if (!strcmp(what, "ptrace"))
			r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		else if (!strcmp(what, "clone-newuser"))
			r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
		else if (!strcmp(what, "clone3"))
			r = syscall(435 /* clone3 */, NULL, 0);
		_exit(r < 0 ? (errno & 0x7f) : 100);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0) {
		printf("denied_%s=fork-error\n", what);
		return;
	}
	if (WIFSIGNALED(st))
		printf("denied_%s=signal:%d\n", what, WTERMSIG(st));
	else
		printf("denied_%s=exit:%d\n", what, WEXITSTATUS(st));
}

/* Signal 0 (existence and permission check) to a host process, from a
 * child; and tgkill to that process. Reports how each child ended. */
static void try_kill(int pid)
{
	static const char *const how[] = { "kill", "tgkill" };

	for (int k = 0; k < 2; k++) {
		pid_t c = fork();
		int st;

		if (c == 0) {
			long r = k == 0 ? kill(pid, 0) : syscall(SYS_tgkill, pid, pid, 0);

			_exit(r < 0 ? (errno & 0x7f) : 100);
		}
		if (c < 0 || waitpid(c, &st, 0) < 0)
			printf("%s_host=fork-error\n", how[k]);
		else if (WIFSIGNALED(st))
			printf("%s_host=signal:%d\n", how[k], WTERMSIG(st));
		else
			printf("%s_host=exit:%d\n", how[k], WEXITSTATUS(st));
	}
	/* Its own pid is still allowed (raise(), the VMM's vCPU kicks). */
	printf("kill_self=%d\n", kill(getpid(), 0) == 0 ? 0 : errno);
}

/* A host System V shared memory segment by id: visible only in the host's
 * IPC namespace. */
static void try_shm(int id)
{
	struct shmid_ds ds;

	printf("shm_host=%d\n", shmctl(id, IPC_STAT, &ds) == 0 ? 0 : errno);
}

static int count_env(void)
{
	int n = 0;

	while (environ && environ[n])
		n++;
	return n;
}

static int cwd_is_root(void)
{
	char b[64];

	return getcwd(b, sizeof(b)) && !strcmp(b, "/");
}

static int can_open(const char *path)
{
	int fd = open(path, O_RDWR);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

int main(int argc, char **argv)
{
	gid_t groups[64];
	int ngroups = getgroups(64, groups), open_fds = 0;
	bool hold = false;

	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv%d=%s\n", i, argv[i]);
	printf("uid=%d\n", (int)getuid());
	printf("euid=%d\n", (int)geteuid());
	printf("gid=%d\n", (int)getgid());
	printf("egid=%d\n", (int)getegid());
	printf("ngroups=%d\n", ngroups);
	printf("pid=%d\n", (int)getpid());
	printf("no_new_privs=%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	printf("seccomp=%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
	report_caps();
	report_limit("nofile", RLIMIT_NOFILE);
	report_limit("fsize", RLIMIT_FSIZE);
	for (int fd = 3; fd < 1024; fd++)
		open_fds += fcntl(fd, F_GETFD) >= 0;
	printf("open_fds_above_2=%d\n", open_fds);
	printf("env_count=%d\n", count_env());
	printf("cwd_is_root=%d\n", cwd_is_root());
	printf("kvm_open=%d\n", can_open("/dev/kvm"));
	printf("proc_visible=%d\n", access("/proc/self", F_OK) == 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold = true;
		else if (!strcmp(argv[i], "--fsize-test") && i + 1 < argc)
			fsize_test(atol(argv[++i]));
		else if (!strcmp(argv[i], "--try-denied") && i + 1 < argc)
			try_denied(argv[++i]);
		else if (!strcmp(argv[i], "--try-kill") && i + 1 < argc)
			try_kill(atoi(argv[++i]));
		else if (!strcmp(argv[i], "--try-shm") && i + 1 < argc)
			try_shm(atoi(argv[++i]));
	}
	printf("done=1\n");
	fflush(stdout);
	if (hold) {
		for (int i = 0; i < 3000 && access("/release", F_OK) != 0; i++) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}
