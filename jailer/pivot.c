/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pivot.c — enter the jail: a new mount namespace whose mounts receive no
 * propagation back to the host, the jail root bind-mounted on itself (so it
 * is a mount point), pivot_root into it, the old root detached and removed.
 *
 * Propagation is set to MS_SLAVE (recursive), as Firecracker does today,
 * rather than MS_PRIVATE: nothing done inside the jail reaches the host, but
 * a bind mount the platform adds under the jail root later (a drive, a
 * kernel) still shows up inside. The recursive bind keeps mounts that were
 * already under the jail root.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

#define OLD_ROOT "old_root"

int jail_enter(const char *chroot_dir, int root_fd)
{
	struct stat a, b;

	/* Mount namespace for the jail's root; IPC and UTS namespaces too, for
	 * every jail: a VMM run as root (Kata passes --uid 0 --gid 0) must not
	 * reach the host's System V IPC objects or POSIX message queues. */
	if (unshare(CLONE_NEWNS) < 0)
		return jailer_set_error(errno, "Failed to unshare into new mount namespace: %s",
					jailer_os_error(errno));
	if (unshare(CLONE_NEWIPC | CLONE_NEWUTS) < 0)
		return jailer_set_error(errno, "Failed to unshare into new IPC and UTS namespaces: %s",
					jailer_os_error(errno));
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return jailer_set_error(errno, "Failed to change the propagation type to slave: %s",
					jailer_os_error(errno));
	if (mount(chroot_dir, chroot_dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return jailer_set_error(errno, "Failed to bind mount the jail root directory: %s",
					jailer_os_error(errno));
	if (chdir(chroot_dir) < 0)
		return jailer_set_error(errno, "Failed to change current directory: %s",
					jailer_os_error(errno));
	/* The directory we built (root_fd, opened without following links) must
	 * be the one we are now in. */
	if (stat(".", &a) < 0 || fstat(root_fd, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		return jailer_set_error(EXDEV, "Jail root %s changed while the jail was being "
					"built", chroot_dir);
	if (mkdir(OLD_ROOT, S_IRUSR | S_IWUSR) < 0)
		return jailer_set_error(errno, "Failed to create the jail root directory before "
					"pivoting root: %s", jailer_os_error(errno));
	if (syscall(SYS_pivot_root, ".", OLD_ROOT) < 0)
		return jailer_set_error(errno, "Failed to pivot root: %s", jailer_os_error(errno));
	if (chdir("/") < 0)
		return jailer_set_error(errno, "Failed to chdir into chroot directory: %s",
					jailer_os_error(errno));
	if (umount2(OLD_ROOT, MNT_DETACH) < 0)
		return jailer_set_error(errno, "Failed to unmount the old jail root: %s",
					jailer_os_error(errno));
	if (rmdir(OLD_ROOT) < 0)
		return jailer_set_error(errno, "Failed to remove old jail root directory: %s",
					jailer_os_error(errno));
	/* For good measure (Firecracker's docs): root and cwd are both "/". */
	if (chroot(".") < 0)
		return jailer_set_error(errno, "Failed to chroot into the jail: %s",
					jailer_os_error(errno));
	return 0;
}
