/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices.c — the few directories and device nodes wisp needs inside the
 * jail. Major/minor numbers come from the host's own nodes (looked at before
 * the jail hides them), with the well-known numbers as fallback; the
 * userfaultfd misc device only exists where the host has it (its minor is
 * dynamic: the host node or /proc/misc tells it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

#define MISC_MAJOR 10

static bool host_chr(const char *path, unsigned *major, unsigned *minor)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISCHR(st.st_mode))
		return false;
	*major = major(st.st_rdev);
	*minor = minor(st.st_rdev);
	return true;
}

/* "<minor> userfaultfd" in /proc/misc. */
static bool misc_minor(const char *name, unsigned *minor)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/misc", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char n[64];
		unsigned m;

		if (sscanf(line, "%u %63s", &m, n) == 2 && !strcmp(n, name)) {
			*minor = m;
			found = true;
		}
	}
	fclose(f);
	return found;
}

void jail_probe_devices(struct jail_dev devs[JAIL_N_DEVS])
{
	static const struct { const char *path; unsigned major, minor; bool required; } known[] = {
		{ "/dev/net/tun", 10, 200, true },
		{ "/dev/kvm", 10, 232, true },
		{ "/dev/urandom", 1, 9, false },
	};

	for (int i = 0; i < 3; i++) {
		devs[i].path = known[i].path;
		devs[i].required = known[i].required;
		devs[i].present = true;
		if (!host_chr(known[i].path, &devs[i].major, &devs[i].minor)) {
			devs[i].major = known[i].major;
			devs[i].minor = known[i].minor;
		}
	}
	devs[3].path = "/dev/userfaultfd";
	devs[3].required = true;
	devs[3].present = host_chr("/dev/userfaultfd", &devs[3].major, &devs[3].minor);
	if (!devs[3].present && misc_minor("userfaultfd", &devs[3].minor)) {
		devs[3].major = MISC_MAJOR;
		devs[3].present = true;
	}
}

int jail_setup_folders(uid_t uid, gid_t gid)
{
	static const char *const folders[] = { "/", "/dev", "/dev/net", "/run" };

	for (size_t i = 0; i < sizeof(folders) / sizeof(folders[0]); i++) {
		const char *f = folders[i];
		struct stat st;

		if (mkdir(f, 0700) < 0 && errno != EEXIST)
			return jailer_set_error(errno, "Failed to create directory %s: %s", f,
						jailer_os_error(errno));
		if (lstat(f, &st) < 0)
			return jailer_set_error(errno, "Cannot get metadata for a file: %s: %s", f,
						jailer_os_error(errno));
		if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode))
			return jailer_set_error(ENOTDIR, "%s is not a directory", f);
		if (chmod(f, 0700) < 0)
			return jailer_set_error(errno, "Failed to change permissions on %s: %s", f,
						jailer_os_error(errno));
		if (lchown(f, uid, gid) < 0)
			return jailer_set_error(errno, "Failed to change owner for %s: %s", f,
						jailer_os_error(errno));
	}
	return 0;
}

static int make_node(const struct jail_dev *d, uid_t uid, gid_t gid)
{
	if (mknod(d->path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(d->major, d->minor)) < 0)
		return jailer_set_error(errno, "Failed to create %s via mknod inside the jail: %s",
					d->path, jailer_os_error(errno));
	/* mknod's mode is subject to the umask; make it exactly 0600. */
	if (chmod(d->path, S_IRUSR | S_IWUSR) < 0)
		return jailer_set_error(errno, "Failed to change permissions on %s: %s", d->path,
					jailer_os_error(errno));
	if (lchown(d->path, uid, gid) < 0)
		return jailer_set_error(errno, "Failed to change owner for %s: %s", d->path,
					jailer_os_error(errno));
	return 0;
}

int jail_make_devices(const struct jail_dev devs[JAIL_N_DEVS], uid_t uid, gid_t gid)
{
	for (int i = 0; i < JAIL_N_DEVS; i++) {
		int r;

		if (!devs[i].present)
			continue;
		r = make_node(&devs[i], uid, gid);
		if (r < 0 && devs[i].required)
			return r;
		if (r < 0)
			fprintf(stderr, "Warning! Could not create %s device inside jailer: %s\n",
				devs[i].path, jailer_last_error());
	}
	return 0;
}
