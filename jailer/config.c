/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c — turn the raw arguments into a validated jailer_config. It reads
 * the filesystem (canonical paths, /proc/mounts, cgroup.controllers) and opens
 * the netns handle, but creates nothing: every error here leaves the host as
 * it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer.h"
#include "jailer_int.h"

/* Read a small text file whole (NUL-terminated). Returns length or -errno. */
static ssize_t read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	close(fd);
	return (ssize_t)n;
}

static int canonical(const char *path, char *out)
{
	char tmp[PATH_MAX];

	if (!realpath(path, tmp))
		return jailer_set_error(errno, "Failed to canonicalize path %s: %s", path,
					jailer_os_error(errno));
	if (strlen(tmp) >= JAILER_PATH_MAX)
		return jailer_set_error(ENAMETOOLONG, "Path too long: %s", tmp);
	strcpy(out, tmp);
	return 0;
}

static int check_exec_file(const char *arg, struct jailer_config *cfg)
{
	struct stat st;
	int r;

	if ((r = canonical(arg, cfg->exec_path)) < 0)
		return r;
	if (stat(cfg->exec_path, &st) < 0 || !S_ISREG(st.st_mode))
		return jailer_set_error(EINVAL, "%s is not a file", cfg->exec_path);
	return jailer_exec_name(cfg->exec_path, cfg->exec_name, sizeof(cfg->exec_name));
}

static int check_chroot_base(const char *arg, struct jailer_config *cfg)
{
	struct stat st;
	int r;

	if ((r = canonical(arg, cfg->chroot_base)) < 0)
		return r;
	if (stat(cfg->chroot_base, &st) < 0 || !S_ISDIR(st.st_mode))
		return jailer_set_error(ENOTDIR, "%s is not a directory", cfg->chroot_base);
	return jailer_chroot_path(cfg->chroot_base, cfg->exec_name, cfg->id, cfg->chroot_dir,
				  sizeof(cfg->chroot_dir));
}

static int open_netns(const char *path, struct jailer_config *cfg)
{
	int fd, type;

	if (strlen(path) >= sizeof(cfg->netns))
		return jailer_set_error(ENAMETOOLONG, "Path too long: %s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return jailer_set_error(errno, "Failed to open file %s: %s", path,
					jailer_os_error(errno));
	/* Refuse anything but a network namespace now rather than after the
	 * jail was built (setns would fail with EINVAL there). */
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		int err = type < 0 ? errno : EINVAL;

		close(fd);
		if (type < 0 && err != ENOTTY)
			return jailer_set_error(err, "Failed to join network namespace: netns: %s",
						jailer_os_error(err));
		return jailer_set_error(EINVAL, "Failed to join network namespace: netns: %s is "
					"not a network namespace: %s", path,
					jailer_os_error(EINVAL));
	}
	strcpy(cfg->netns, path);
	cfg->netns_fd = fd;
	return 0;
}

static int add_cg_dir(struct jailer_config *cfg, const char *mount, unsigned *idx)
{
	char a[JAILER_PATH_MAX], b[JAILER_PATH_MAX];
	int r;

	if ((r = jailer_path_join(a, sizeof(a), mount, cfg->parent_cgroup)) < 0 ||
	    (r = jailer_path_join(b, sizeof(b), a, cfg->id)) < 0)
		return r;
	for (unsigned i = 0; i < cfg->n_cg_dirs; i++) {
		if (!strcmp(cfg->cg_dirs[i].path, b)) {
			*idx = i;
			return 0;
		}
	}
	*idx = cfg->n_cg_dirs++;
	strcpy(cfg->cg_dirs[*idx].path, b);
	strcpy(cfg->cg_dirs[*idx].mount, mount);
	return 0;
}

static int check_cgroups(const struct jailer_args *args, const char *proc_mounts,
			 struct jailer_config *cfg)
{
	static struct jailer_cgroup_mounts mounts;
	static char text[1 << 20];
	char controllers[4096] = "";
	const char *v2 = NULL;
	ssize_t n;
	int r;

	if (args->n_cgroups == 0 && cfg->cgroup_version == 1)
		return 0;  /* Firecracker touches no v1 hierarchy without --cgroup */

	n = read_text(proc_mounts, text, sizeof(text));
	if (n < 0)
		return jailer_set_error((int)-n, "Failed to open file %s: %s", proc_mounts,
					jailer_os_error((int)-n));
	jailer_cgroup_mounts_parse(text, &mounts);
	if (cfg->cgroup_version == 2) {
		char path[JAILER_PATH_MAX];

		v2 = jailer_cgroup_v2_dir(&mounts);
		if (!v2)
			return jailer_set_error(ENOENT, "Hierarchy not found: No hierarchy found for "
						"this cgroup version.");
		if ((r = jailer_path_join(path, sizeof(path), v2, "cgroup.controllers")) < 0)
			return r;
		if (read_text(path, controllers, sizeof(controllers)) < 0)
			controllers[0] = '\0';
		if (args->n_cgroups == 0) {
			struct stat st;

			/* Firecracker: with no --cgroup, an existing --parent-cgroup is
			 * where the process moves (done while running, not here). */
			if ((r = jailer_path_join(path, sizeof(path), v2, cfg->parent_cgroup)) < 0)
				return r;
			if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
				strcpy(cfg->cg_move_to, path);
				snprintf(cfg->cg_move_mount, sizeof(cfg->cg_move_mount), "%s", v2);
			}
			return 0;
		}
	} else {
		bool any = false;

		for (unsigned i = 0; i < mounts.n; i++)
			any |= mounts.m[i].version == 1;
		if (!any)
			return jailer_set_error(ENOENT, "Hierarchy not found: No hierarchy found for "
						"this cgroup version.");
	}

	for (unsigned i = 0; i < args->n_cgroups; i++) {
		struct jailer_cgroup_prop *p = &cfg->props[i];
		const char *mount;

		if ((r = jailer_parse_cgroup_arg(args->cgroups[i], p)) < 0)
			return r;
		if (cfg->cgroup_version == 1) {
			mount = jailer_cgroup_v1_dir(&mounts, p->controller);
		} else {
			mount = jailer_word_in_list(controllers, p->controller) ? v2 : NULL;
		}
		if (!mount)
			return jailer_set_error(ENOENT, "Controller %s is unavailable", p->controller);
		if ((r = add_cg_dir(cfg, mount, &cfg->prop_dir[i])) < 0)
			return r;
		cfg->n_props = i + 1;
	}
	return 0;
}

int jailer_config_build(const struct jailer_args *args, const char *proc_mounts,
			struct jailer_config *cfg)
{
	uint32_t v;
	int r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->netns_fd = -1;
	jailer_clear_error();

	if ((r = jailer_validate_id(args->id)) < 0)
		goto fail;
	strcpy(cfg->id, args->id);
	if ((r = check_exec_file(args->exec_file, cfg)) < 0)
		goto fail;
	if ((r = check_chroot_base(args->chroot_base, cfg)) < 0)
		goto fail;
	if ((r = jailer_parse_id_number("uid", args->uid, &v)) < 0)
		goto fail;
	cfg->uid = v;
	if ((r = jailer_parse_id_number("gid", args->gid, &v)) < 0)
		goto fail;
	cfg->gid = v;
	cfg->daemonize = args->daemonize;
	cfg->new_pid_ns = args->new_pid_ns;

	if (args->parent_cgroup) {
		if (strlen(args->parent_cgroup) >= sizeof(cfg->parent_cgroup)) {
			r = jailer_set_error(ENAMETOOLONG, "Path too long: %s", args->parent_cgroup);
			goto fail;
		}
		strcpy(cfg->parent_cgroup, args->parent_cgroup);
	} else {
		strcpy(cfg->parent_cgroup, cfg->exec_name);
	}
	if ((r = jailer_validate_parent_cgroup(cfg->parent_cgroup)) < 0)
		goto fail;
	if ((r = jailer_parse_cgroup_version(args->cgroup_version, &cfg->cgroup_version)) < 0)
		goto fail;
	if ((r = check_cgroups(args, proc_mounts, cfg)) < 0)
		goto fail;

	jailer_rlimits_init(&cfg->rlimits);
	for (unsigned i = 0; i < args->n_rlimits; i++) {
		if ((r = jailer_parse_rlimit(args->rlimits[i], &cfg->rlimits)) < 0)
			goto fail;
	}
	/* Last: the only check that holds a resource (the netns fd). */
	if (args->netns && (r = open_netns(args->netns, cfg)) < 0)
		goto fail;

	cfg->extra = args->extra;
	cfg->n_extra = args->n_extra;
	return 0;
fail:
	jailer_config_release(cfg);
	return r;
}

void jailer_config_release(struct jailer_config *cfg)
{
	if (cfg->netns_fd >= 0)
		close(cfg->netns_fd);
	cfg->netns_fd = -1;
}
