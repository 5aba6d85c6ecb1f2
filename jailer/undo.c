/* SPDX-License-Identifier: Apache-2.0 */
/*
 * undo.c — remembers what the jailer created before entering the jail, so a
 * failure on the way removes it again (newest first): files, directories
 * (the jail tree, the cgroups), and the process's moves into cgroups, which
 * are reversed (the pid written back to the cgroup it came from) before the
 * cgroup directories are removed: a cgroup that still holds the jailer
 * cannot be removed. The file-descriptor limit the jailer set on itself is
 * lifted first, so the undo can open what it needs. Directories that are
 * still not empty (someone else's process in a cgroup) stay.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "jailer_rt.h"

#define UNDO_MAX 64

enum undo_kind { UNDO_FILE, UNDO_DIR, UNDO_CG_MOVE };

static struct {
	char path[JAILER_PATH_MAX];
	enum undo_kind kind;
} g_undo[UNDO_MAX];
static unsigned g_n;
static struct rlimit g_nofile;
static bool g_nofile_saved;

static void add(const char *path, enum undo_kind kind)
{
	if (g_n >= UNDO_MAX || strlen(path) >= JAILER_PATH_MAX)
		return;
	strcpy(g_undo[g_n].path, path);
	g_undo[g_n].kind = kind;
	g_n++;
}

void undo_add(const char *path, bool is_dir) { add(path, is_dir ? UNDO_DIR : UNDO_FILE); }

void undo_add_cgroup_move(const char *orig_dir) { add(orig_dir, UNDO_CG_MOVE); }

void undo_save_nofile(void)
{
	g_nofile_saved = getrlimit(RLIMIT_NOFILE, &g_nofile) == 0;
}

/* Write our pid to <dir>/cgroup.procs (best effort). */
static void move_back(const char *dir)
{
	char path[JAILER_PATH_MAX + 16], pid[32];
	int fd, n;

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= (int)sizeof(path))
		return;
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, pid, (size_t)n) != n) {
		/* nothing more to do: the rmdir below fails and says nothing */
	}
	close(fd);
}

void undo_run(void)
{
	if (g_nofile_saved)
		setrlimit(RLIMIT_NOFILE, &g_nofile);
	while (g_n > 0) {
		g_n--;
		switch (g_undo[g_n].kind) {
		case UNDO_DIR:
			rmdir(g_undo[g_n].path);
			break;
		case UNDO_FILE:
			unlink(g_undo[g_n].path);
			break;
		case UNDO_CG_MOVE:
			move_back(g_undo[g_n].path);
			break;
		}
	}
}

void undo_forget(void) { g_n = 0; }
