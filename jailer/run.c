/* SPDX-License-Identifier: Apache-2.0 */
/*
 * run.c — wisp-jailer's steps, in Firecracker's order (docs/jailer.md):
 *
 *   build the jail tree and copy the exec file in; join --netns; set the
 *   resource limits; create and join the cgroups; (open /dev/null for
 *   --daemonize); enter the jail (mount namespace, pivot_root); create
 *   /, /dev, /dev/net, /run and the device nodes; daemonize; fork into a new
 *   PID namespace or write the pid file; drop privileges; seccomp; exec.
 *
 * Anything created before entering the jail is removed again if a step
 * fails before that point.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

uint64_t jail_now_us(int clock)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Jailer CPU time handed to the exec'd binary (--parent-cpu-time-us). */
static uint64_t g_jailer_cpu_us;

/* Write pid to "/<name>.pid" inside the jail (O_EXCL, no symlink). */
static int write_one_pid_file(const char *name, pid_t pid)
{
	char path[JAILER_PATH_MAX], buf[32];
	int fd, n, r = 0;

	if (snprintf(path, sizeof(path), "/%s.pid", name) >= (int)sizeof(path))
		return jailer_set_error(ENAMETOOLONG, "Path too long: /%s.pid", name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return jailer_set_error(errno, "Failed to open file %s: %s", path,
					jailer_os_error(errno));
	n = snprintf(buf, sizeof(buf), "%d", (int)pid);
	if (write(fd, buf, (size_t)n) != n)
		r = jailer_set_error(errno ? errno : EIO, "Failed to write to %s: %s", path,
				     jailer_os_error(errno ? errno : EIO));
	close(fd);
	return r;
}

/* "/<exec name>.pid" inside the jail: the pid of the process running the
 * exec file, for the platform (Firecracker writes it in every mode). When
 * the exec file is not named "firecracker", the same pid also goes to
 * "/firecracker.pid": Kata's Go runtime reads <root>/firecracker.pid
 * whatever its configured binary is called (docs/jailer.md "Names"). */
static int write_pid_file(const struct jailer_config *cfg, pid_t pid)
{
	int r = write_one_pid_file(cfg->exec_name, pid);

	if (r == 0 && strcmp(cfg->exec_name, JAILER_FC_EXEC_NAME) != 0)
		r = write_one_pid_file(JAILER_FC_EXEC_NAME, pid);
	return r;
}

static int daemonize(int dev_null)
{
	pid_t pid;

	/* Double fork: the daemon is neither a process group nor a session
	 * leader, so it can never acquire a controlling terminal. */
	pid = fork();
	if (pid < 0)
		return jailer_set_error(errno, "Failed to daemonize: %s", jailer_os_error(errno));
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return jailer_set_error(errno, "Failed to daemonize: setsid: %s",
					jailer_os_error(errno));
	g_jailer_cpu_us += jail_now_us(CLOCK_PROCESS_CPUTIME_ID);
	pid = fork();
	if (pid < 0)
		return jailer_set_error(errno, "Failed to daemonize: %s", jailer_os_error(errno));
	if (pid > 0)
		_exit(0);
	if (dup2(dev_null, STDIN_FILENO) < 0 || dup2(dev_null, STDOUT_FILENO) < 0 ||
	    dup2(dev_null, STDERR_FILENO) < 0)
		return jailer_set_error(errno, "Failed to duplicate fd: %s", jailer_os_error(errno));
	close(dev_null);
	g_jailer_cpu_us += jail_now_us(CLOCK_PROCESS_CPUTIME_ID);
	return 0;
}

/* Drop privileges, filter, exec. Returns only on failure. */
static int exec_jailed(const struct jailer_config *cfg)
{
	char buf[256], *argv[10 + JAILER_MAX_MULTI * 2 + 256];
	char *const envp[] = { NULL };
	char **av = argv;
	size_t cap = sizeof(argv) / sizeof(argv[0]);
	int r;

	if (cfg->n_extra + 11 > (int)cap) {
		av = calloc((size_t)cfg->n_extra + 11, sizeof(char *));
		if (!av)
			return jailer_set_error(ENOMEM, "Out of memory");
		cap = (size_t)cfg->n_extra + 11;
	}
	if ((r = jail_drop_privileges(cfg->uid, cfg->gid)) < 0)
		return r;
	if ((r = jail_install_seccomp()) < 0)
		return r;
	r = jailer_exec_argv(cfg, jail_now_us(CLOCK_PROCESS_CPUTIME_ID), g_jailer_cpu_us, buf,
			     sizeof(buf), av, cap);
	if (r < 0)
		return r;
	execve(av[0], av, envp);
	return jailer_set_error(errno, "Failed to exec into %s: %s", av[0],
				jailer_os_error(errno));
}

static int exec_in_new_pid_ns(const struct jailer_config *cfg)
{
	bool session_leader = false;
	long pid;

	/* A session leader's exit sends SIGHUP to its session: if we are one,
	 * the child (init of the new namespace) starts a session of its own
	 * (Firecracker does the same). After --daemonize we never are. */
	if (!cfg->daemonize)
		session_leader = getsid(0) == getpid();

	/* fork() semantics (no CLONE_VM, no new stack) plus CLONE_NEWPID: the
	 * child is PID 1 of the new namespace. */
	pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return jailer_set_error(errno, "Failed cloning into a new child process: %s",
					jailer_os_error(errno));
	if (pid == 0) {
		if (session_leader && setsid() < 0)
			return jailer_set_error(errno, "Failed to daemonize: setsid: %s",
						jailer_os_error(errno));
		return exec_jailed(cfg);
	}
	/* Parent: record the child's pid (as seen from our namespace), exit. */
	if (write_pid_file(cfg, (pid_t)pid) < 0) {
		fprintf(stderr, "%s\n", jailer_last_error());
		_exit(1);
	}
	_exit(0);
}

int jail_run(struct jailer_config *cfg)
{
	struct jail_dev devs[JAIL_N_DEVS];
	int root_fd = -1, dev_null = -1, r;

	/* Accepted (Kata's runtimes pass exactly this), but worth a line: see
	 * docs/jailer.md "Running the VMM as root". */
	if (cfg->uid == 0 || cfg->gid == 0)
		fprintf(stderr, "Warning! The VMM will run with uid %u and gid %u: as root without "
			"capabilities it still owns root's files it can reach; use a dedicated "
			"uid and gid.\n", (unsigned)cfg->uid, (unsigned)cfg->gid);
	if ((r = jail_create_tree(cfg, &root_fd)) < 0)
		goto undo;
	if ((r = jail_copy_exec(cfg, root_fd)) < 0)
		goto undo;
	if (cfg->netns_fd >= 0) {
		if (setns(cfg->netns_fd, CLONE_NEWNET) < 0) {
			r = jailer_set_error(errno, "Failed to join network namespace: netns: %s",
					     jailer_os_error(errno));
			goto undo;
		}
		close(cfg->netns_fd);
		cfg->netns_fd = -1;
	}
	if ((r = jail_apply_rlimits(&cfg->rlimits)) < 0)
		goto undo;
	/* Cgroups now: their hierarchies are out of reach once jailed. */
	if ((r = jail_setup_cgroups(cfg)) < 0)
		goto undo;
	jail_probe_devices(devs);
	if (cfg->daemonize) {
		dev_null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (dev_null < 0) {
			r = jailer_set_error(errno, "Failed to open /dev/null: %s",
					     jailer_os_error(errno));
			goto undo;
		}
	}
	if ((r = jail_enter(cfg->chroot_dir, root_fd)) < 0)
		goto undo;
	/* Jailed: the host paths are gone, nothing left to undo from here. */
	undo_forget();
	close(root_fd);
	root_fd = -1;

	if ((r = jail_setup_folders(cfg->uid, cfg->gid)) < 0)
		goto out;
	if ((r = jail_make_devices(devs, cfg->uid, cfg->gid)) < 0)
		goto out;

	g_jailer_cpu_us = jail_now_us(CLOCK_PROCESS_CPUTIME_ID) - cfg->start_time_cpu_us;
	if (cfg->daemonize) {
		if ((r = daemonize(dev_null)) < 0)
			goto out;
		dev_null = -1;
	}
	if (cfg->new_pid_ns)
		return exec_in_new_pid_ns(cfg);
	if ((r = write_pid_file(cfg, getpid())) < 0)
		goto out;
	return exec_jailed(cfg);

undo:
	undo_run();
out:
	if (root_fd >= 0)
		close(root_fd);
	if (dev_null >= 0)
		close(dev_null);
	return r;
}
