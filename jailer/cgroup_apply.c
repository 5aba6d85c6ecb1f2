/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup_apply.c — create the jail's cgroups, write every value, and only
 * then move the process in (one write of our pid to each distinct cgroup's
 * cgroup.procs), as Firecracker does.
 *
 * v1: a new cgroup's file that starts empty (cpuset.cpus, cpuset.mems) is
 * first filled from the nearest non-empty ancestor, or the kernel refuses the
 * value (and the move). v2: the controller is enabled in cgroup.subtree_control
 * of every ancestor from the hierarchy root down to the new cgroup's parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

static int write_value(const char *dir, const char *file, const char *value)
{
	char path[JAILER_PATH_MAX], line[JAILER_CG_VALUE_MAX + 2];
	int fd, n, r;
	ssize_t w;

	if ((r = jailer_path_join(path, sizeof(path), dir, file)) < 0)
		return r;
	n = snprintf(line, sizeof(line), "%s\n", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jailer_set_error(errno, "Failed to write to %s: %s", path,
					jailer_os_error(errno));
	w = write(fd, line, (size_t)n);  /* one write: cgroup files take one value per write */
	r = w < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return jailer_set_error(-r, "Failed to write to %s: %s", path, jailer_os_error(r));
	return 0;
}

/* First line of dir/file; "" if empty. -errno if unreadable. */
static int read_line(const char *dir, const char *file, char *buf, size_t len)
{
	char path[JAILER_PATH_MAX];
	ssize_t n;
	int fd, r;

	if ((r = jailer_path_join(path, sizeof(path), dir, file)) < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return r;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* mkdir -p of path, whose prefix mount exists. */
static int make_dirs(const char *path, const char *mount)
{
	char cur[JAILER_PATH_MAX];
	size_t mlen = strlen(mount);

	strcpy(cur, path);
	for (char *p = cur + mlen + 1; ; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(cur, 0755) == 0)
			undo_add(cur, true);
		else if (errno != EEXIST)
			return jailer_set_error(errno, "Failed to create directory %s: %s", cur,
						jailer_os_error(errno));
		*p = c;
		if (!c)
			return 0;
	}
}

static void parent_of(const char *path, char *out)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash && slash != path ? (size_t)(slash - path) : 1;

	memcpy(out, path, n);
	out[n] = '\0';
}

/* v1: make dir/file non-empty by copying it down from the nearest ancestor
 * that has a value (cpuset.cpus, cpuset.mems start empty). */
static int v1_inherit(const char *dir, const char *file, const char *mount)
{
	char line[JAILER_CG_VALUE_MAX], parent[JAILER_PATH_MAX];
	int r;

	if (read_line(dir, file, line, sizeof(line)) < 0 || line[0])
		return 0;  /* unreadable (write-only) or already set */
	if (!strcmp(dir, mount))
		return jailer_set_error(ENOENT, "Failed to inherit cgroups configurations from "
					"file %s in path %s", file, dir);
	parent_of(dir, parent);
	if ((r = v1_inherit(parent, file, mount)) < 0)
		return r;
	if ((r = read_line(parent, file, line, sizeof(line))) < 0 || !line[0])
		return jailer_set_error(ENOENT, "Failed to inherit cgroups configurations from "
					"file %s in path %s", file, parent);
	return write_value(dir, file, line);
}

/* v2: "+controller" in cgroup.subtree_control of mount .. parent(leaf). */
static int v2_enable(const char *leaf, const char *mount, const char *controller)
{
	char cur[JAILER_PATH_MAX], line[4096], val[JAILER_CG_FILE_MAX + 2];
	char parent[JAILER_PATH_MAX];
	size_t mlen = strlen(mount);
	int r;

	parent_of(leaf, parent);
	snprintf(val, sizeof(val), "+%s", controller);
	strcpy(cur, parent);
	/* Walk down from the mount: cut cur at each '/' past the mount. */
	for (size_t end = mlen; ; ) {
		char save = cur[end];

		cur[end] = '\0';
		if (read_line(cur, "cgroup.subtree_control", line, sizeof(line)) < 0 ||
		    !jailer_word_in_list(line, controller)) {
			if ((r = write_value(cur, "cgroup.subtree_control", val)) < 0)
				return r;
		}
		cur[end] = save;
		if (!save)
			return 0;
		end++;
		while (cur[end] && cur[end] != '/')
			end++;
	}
}

/* The text of /proc/self/cgroup, read before the first move. */
static char g_self_cgroup[8192];

static void read_self_cgroup(void)
{
	int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	g_self_cgroup[0] = '\0';
	if (fd < 0)
		return;
	while (n + 1 < sizeof(g_self_cgroup)) {
		ssize_t r = read(fd, g_self_cgroup + n, sizeof(g_self_cgroup) - 1 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	g_self_cgroup[n] = '\0';
	close(fd);
}

/* <mount><path of our cgroup in that hierarchy>, or "" if unknown. */
static void origin_of(const char *mount, int version, const char *controller, char *out,
		      size_t len)
{
	char rel[JAILER_PATH_MAX];
	struct stat st;

	out[0] = '\0';
	if (jailer_cgroup_self_path(g_self_cgroup, version, controller, rel, sizeof(rel)) < 0)
		return;
	if (!strcmp(rel, "/"))
		snprintf(out, len, "%s", mount);
	else if ((size_t)snprintf(out, len, "%s%s", mount, rel) >= len)
		out[0] = '\0';
	if (out[0] && (stat(out, &st) < 0 || !S_ISDIR(st.st_mode)))
		out[0] = '\0';
}

/* Move the process into dir; on success remember where it came from (orig,
 * may be "") so a later failure moves it back before removing dir. */
static int move_into(const char *dir, const char *orig, bool hint)
{
	char pid[32];
	int r;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if ((r = write_value(dir, "cgroup.procs", pid)) < 0 && hint)
		return jailer_set_error(-r, "Failed to move process to cgroup (%s): %s.\nHint: If "
					"you intended to create a child cgroup under %s, pass any "
					"--cgroup parameters.", dir, jailer_os_error(r), dir);
	if (r == 0 && orig[0] && strcmp(orig, dir))
		undo_add_cgroup_move(orig);
	return r;
}

/* The controller a cgroup directory was made for (its first property). */
static const char *controller_of(const struct jailer_config *cfg, unsigned dir)
{
	for (unsigned i = 0; i < cfg->n_props; i++) {
		if (cfg->prop_dir[i] == dir)
			return cfg->props[i].controller;
	}
	return "";
}

int jail_setup_cgroups(const struct jailer_config *cfg)
{
	char enabled[JAILER_MAX_MULTI][JAILER_CG_FILE_MAX];
	char orig[JAILER_PATH_MAX];
	unsigned n_enabled = 0;
	int r;

	read_self_cgroup();
	if (cfg->cg_move_to[0]) {
		origin_of(cfg->cg_move_mount, 2, "", orig, sizeof(orig));
		return move_into(cfg->cg_move_to, orig, true);
	}

	for (unsigned i = 0; i < cfg->n_cg_dirs; i++) {
		if ((r = make_dirs(cfg->cg_dirs[i].path, cfg->cg_dirs[i].mount)) < 0)
			return r;
	}
	for (unsigned i = 0; i < cfg->n_props; i++) {
		const struct jailer_cgroup_prop *p = &cfg->props[i];
		const struct jailer_cgroup_dir *d = &cfg->cg_dirs[cfg->prop_dir[i]];

		if (cfg->cgroup_version == 1) {
			if ((r = v1_inherit(d->path, p->file, d->mount)) < 0)
				return r;
		} else {
			bool done = false;

			for (unsigned k = 0; k < n_enabled; k++)
				done |= !strcmp(enabled[k], p->controller);
			if (!done) {
				if ((r = v2_enable(d->path, d->mount, p->controller)) < 0)
					return r;
				strcpy(enabled[n_enabled++], p->controller);
			}
		}
		if ((r = write_value(d->path, p->file, p->value)) < 0)
			return r;
	}
	for (unsigned i = 0; i < cfg->n_cg_dirs; i++) {
		origin_of(cfg->cg_dirs[i].mount, cfg->cgroup_version, controller_of(cfg, i), orig,
			  sizeof(orig));
		if ((r = move_into(cfg->cg_dirs[i].path, orig, false)) < 0)
			return r;
	}
	return 0;
}
