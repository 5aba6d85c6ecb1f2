/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static char tmpdir[256];

const char *build_path(const char *name)
{
	static char buf[8][4096];
	static int idx;
	const char *dir = getenv("WISP_BUILD_DIR");
	char *b = buf[idx++ % 8];

	snprintf(b, 4096, "%s/%s", dir ? dir : "build", name);
	return b;
}

const char *tmpdir_make(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/wisp-it-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	return tmpdir;
}

void tmpdir_cleanup(void)
{
	char cmd[300];

	if (!tmpdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	tmpdir[0] = 0;
}

char *write_tmp_file(const char *name, const char *text)
{
	return write_tmp_data(name, text, strlen(text));
}

char *write_tmp_data(const char *name, const void *data, size_t len)
{
	char *path;
	FILE *f;

	if (!tmpdir[0])
		tmpdir_make();
	if (asprintf(&path, "%s/%s", tmpdir, name) < 0)
		abort();
	f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		abort();
	}
	return path;
}

void *read_whole_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	void *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		/* One byte more, a NUL after the data: callers use it as a string. */
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			((char *)buf)[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static void sb_add(struct strbuf *b, const char *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (!b->data)
			abort();
	}
	memcpy(b->data + b->len, d, n);
	b->len += n;
	b->data[b->len] = 0;
}

int proc_spawn(struct proc *p, char *const argv[])
{
	int in[2], out[2], err[2];
	pid_t parent;

	memset(p, 0, sizeof(*p));
	sb_add(&p->out, "", 0);
	sb_add(&p->err, "", 0);
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	parent = getpid();
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		setpgid(0, 0);
		/* A test that fails an assertion exits without reaping: the
		 * VMM it started must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	p->in_fd = in[1];
	p->out_fd = out[0];
	p->err_fd = err[0];
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One round of reading; returns false when both pipes are closed. */
static bool pump(struct proc *p, int timeout_ms)
{
	struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 }, { p->err_fd, POLLIN, 0 } };
	char buf[4096];

	if (p->out_fd < 0 && p->err_fd < 0)
		return false;
	if (poll(fds, 2, timeout_ms) <= 0)
		return true;
	for (int i = 0; i < 2; i++) {
		int *fd = i == 0 ? &p->out_fd : &p->err_fd;
		ssize_t n;

		if (*fd < 0 || !fds[i].revents)
			continue;
		n = read(*fd, buf, sizeof(buf));
		if (n > 0) {
			sb_add(i == 0 ? &p->out : &p->err, buf, (size_t)n);
		} else {
			close(*fd);
			*fd = -1;
		}
	}
	return true;
}

bool proc_wait_for(struct proc *p, const char *needle, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	for (;;) {
		if (strstr(p->out.data, needle) || strstr(p->err.data, needle))
			return true;
		if (now_ms() >= deadline)
			return false;
		if (!pump(p, (int)(deadline - now_ms())))
			return strstr(p->out.data, needle) || strstr(p->err.data, needle);
	}
}

int proc_send(struct proc *p, const void *data, size_t len)
{
	return write(p->in_fd, data, len) == (ssize_t)len ? 0 : -1;
}

void proc_close_stdin(struct proc *p)
{
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
}

void proc_signal(struct proc *p, int sig)
{
	if (!p->exited)
		kill(p->pid, sig);
}

bool proc_finish(struct proc *p, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	int st;

	while (!p->exited) {
		pid_t r = wait4(p->pid, &st, WNOHANG, &p->ru);

		if (r == p->pid) {
			p->exited = true;
			p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			break;
		}
		if (now_ms() >= deadline) {
			kill(-p->pid, SIGKILL);
			kill(p->pid, SIGKILL);
			wait4(p->pid, &st, 0, &p->ru);
			p->exited = true;
			p->status = 128 + SIGKILL;
			while (pump(p, 0) && (p->out_fd >= 0 || p->err_fd >= 0))
				;
			return false;
		}
		if (!pump(p, 20))
			usleep(10000);
	}
	while (pump(p, 100))
		;
	return true;
}

void proc_free(struct proc *p)
{
	if (!p->exited)
		proc_finish(p, 0);
	proc_close_stdin(p);
	if (p->out_fd >= 0)
		close(p->out_fd);
	if (p->err_fd >= 0)
		close(p->err_fd);
	free(p->out.data);
	free(p->err.data);
	memset(p, 0, sizeof(*p));
}

bool proc_run(struct proc *p, char *const argv[], int timeout_ms)
{
	if (proc_spawn(p, argv) < 0)
		return false;
	proc_close_stdin(p);
	return proc_finish(p, timeout_ms);
}

bool wisp_run_config(struct proc *p, const char *cfg, const char *flag, int timeout_ms)
{
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", (char *)cfg,
			 (char *)flag, NULL };

	return proc_run(p, argv, timeout_ms);
}

bool wisp_run_doc(struct proc *p, const char *name, const char *doc, const char *flag,
		  int timeout_ms)
{
	char *cfg = write_tmp_file(name, doc);
	bool done = wisp_run_config(p, cfg, flag, timeout_ms);

	free(cfg);
	return done;
}

int wisp_spawn_config(struct proc *p, const char *cfg)
{
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file", (char *)cfg,
			 NULL };

	return proc_spawn(p, argv);
}

char *guest_config(const char *boot_args, const char *machine_json, const char *extra_json)
{
	char *doc;

	if (asprintf(&doc,
		     "{\n  \"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"},\n"
		     "  \"machine-config\": %s%s%s\n}\n",
		     build_path("wisp-testguest"), boot_args,
		     machine_json ? machine_json : "{\"vcpu_count\": 1, \"mem_size_mib\": 128}",
		     extra_json ? ",\n  " : "", extra_json ? extra_json : "") < 0)
		abort();
	return doc;
}

int count_substr(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *s = hay; (s = strstr(s, needle)); s += strlen(needle))
		n++;
	return n;
}
