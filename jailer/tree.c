/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tree.c — the jail directory <base>/<exec name>/<id>/root and the copy of
 * the exec file inside it.
 *
 * The base directory was canonicalised while validating (the operator's
 * symlinks there are resolved on purpose); below it every component is made
 * and opened with *at() calls relative to its parent, never following a
 * symbolic link, so nobody can redirect the jail somewhere else. The exec
 * file is copied, not linked: two jailed processes never share its pages
 * (Firecracker's reasoning), and an existing destination that is a symlink,
 * a hard link or not a regular file is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

static int step_into(int dirfd, const char *parent, const char *name, int *out)
{
	char path[JAILER_PATH_MAX];
	struct stat st;
	int r, fd;

	if ((r = jailer_path_join(path, sizeof(path), parent, name)) < 0)
		return r;
	if (mkdirat(dirfd, name, 0755) == 0)
		undo_add(path, true);
	else if (errno != EEXIST)
		return jailer_set_error(errno, "Failed to create directory %s: %s", path,
					jailer_os_error(errno));
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return jailer_set_error(errno, "Cannot get metadata for a file: %s: %s", path,
					jailer_os_error(errno));
	if (S_ISLNK(st.st_mode))
		return jailer_set_error(ELOOP, "Failed to create directory %s: it is a symbolic "
					"link, refusing to build the jail through it", path);
	if (!S_ISDIR(st.st_mode))
		return jailer_set_error(ENOTDIR, "%s is not a directory", path);
	fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return jailer_set_error(errno, "Failed to open %s: %s", path,
					jailer_os_error(errno));
	*out = fd;
	return 0;
}

int jail_create_tree(const struct jailer_config *cfg, int *root_fd)
{
	const char *names[3] = { cfg->exec_name, cfg->id, "root" };
	char parent[JAILER_PATH_MAX], joined[JAILER_PATH_MAX];
	int cur, next = -1, r;

	cur = open(cfg->chroot_base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0)
		return jailer_set_error(errno, "Failed to open %s: %s", cfg->chroot_base,
					jailer_os_error(errno));
	strcpy(parent, cfg->chroot_base);
	for (int i = 0; i < 3; i++) {
		r = step_into(cur, parent, names[i], &next);
		close(cur);
		if (r < 0)
			return r;
		cur = next;
		if ((r = jailer_path_join(joined, sizeof(joined), parent, names[i])) < 0) {
			close(cur);
			return r;
		}
		strcpy(parent, joined);
	}
	*root_fd = cur;
	return 0;
}

static int copy_fd(int src, int dst)
{
	char buf[1 << 16];

	for (;;) {
		ssize_t n = copy_file_range(src, NULL, dst, NULL, 1 << 30, 0);

		if (n == 0)
			return 0;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			return -errno;
		break;  /* fall back to read/write */
	}
	for (;;) {
		ssize_t n = read(src, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		while (off < n) {
			ssize_t w = write(dst, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
}

int jail_copy_exec(const struct jailer_config *cfg, int root_fd)
{
	char dst_path[JAILER_PATH_MAX];
	struct stat st;
	int src, dst, r;

	if ((r = jailer_path_join(dst_path, sizeof(dst_path), cfg->chroot_dir, cfg->exec_name)) < 0)
		return r;
	src = open(cfg->exec_path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return jailer_set_error(errno, "Failed to open %s: %s", cfg->exec_path,
					jailer_os_error(errno));
	/* O_NOFOLLOW: a symlink is refused (ELOOP); O_NONBLOCK: a FIFO planted
	 * there fails (ENXIO) instead of blocking us. */
	dst = openat(root_fd, cfg->exec_name,
		     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0700);
	if (dst >= 0) {
		undo_add(dst_path, false);
	} else if (errno == EEXIST) {
		dst = openat(root_fd, cfg->exec_name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	}
	if (dst < 0) {
		r = jailer_set_error(errno, "Failed to open %s: %s", dst_path,
				     jailer_os_error(errno));
		close(src);
		return r;
	}
	if (fstat(dst, &st) < 0) {
		r = jailer_set_error(errno, "Cannot get metadata for a file: %s: %s", dst_path,
				     jailer_os_error(errno));
	} else if (!S_ISREG(st.st_mode)) {
		r = jailer_set_error(EINVAL, "Failed to open %s: not a regular file", dst_path);
	} else if (st.st_nlink > 1) {
		r = jailer_set_error(EMLINK, "Detected hard link at: %s", dst_path);
	} else if (ftruncate(dst, 0) < 0 || (r = copy_fd(src, dst)) < 0) {
		int err = r < 0 ? -r : errno;

		r = jailer_set_error(err, "Failed to copy %s to %s: %s", cfg->exec_path, dst_path,
				     jailer_os_error(err));
	} else if (fchown(dst, cfg->uid, cfg->gid) < 0) {
		r = jailer_set_error(errno, "Failed to change owner for %s: %s", dst_path,
				     jailer_os_error(errno));
	} else if (fchmod(dst, 0755) < 0) {
		r = jailer_set_error(errno, "Failed to change permissions on %s: %s", dst_path,
				     jailer_os_error(errno));
	} else {
		r = 0;
	}
	close(dst);
	close(src);
	return r;
}
