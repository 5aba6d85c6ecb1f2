/* SPDX-License-Identifier: Apache-2.0 */
/*
 * undo.c — remembers what the jailer created before entering the jail, so a
 * failure on the way removes it again (newest first). Directories that are
 * not empty (for example a cgroup still holding a process) stay.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jailer_rt.h"

#define UNDO_MAX 64

static struct {
	char path[JAILER_PATH_MAX];
	bool is_dir;
} g_undo[UNDO_MAX];
static unsigned g_n;

void undo_add(const char *path, bool is_dir)
{
	if (g_n >= UNDO_MAX || strlen(path) >= JAILER_PATH_MAX)
		return;
	strcpy(g_undo[g_n].path, path);
	g_undo[g_n].is_dir = is_dir;
	g_n++;
}

void undo_run(void)
{
	while (g_n > 0) {
		g_n--;
		if (g_undo[g_n].is_dir)
			rmdir(g_undo[g_n].path);
		else
			unlink(g_undo[g_n].path);
	}
}

void undo_forget(void) { g_n = 0; }
