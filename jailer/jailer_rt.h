/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jailer_rt.h — the steps of wisp-jailer that change the system, in the
 * order run.c calls them. Private to the wisp-jailer binary.
 */
#ifndef WISP_JAILER_RT_H
#define WISP_JAILER_RT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "jailer.h"

/* What was created before the jail was entered, removed again (newest
 * first) if a later step fails, so a failed start leaves nothing behind. */
void undo_add(const char *path, bool is_dir);
/* The process moved out of the cgroup directory orig_dir: the undo writes
 * its pid back there (before removing the cgroups it made). */
void undo_add_cgroup_move(const char *orig_dir);
/* Remember RLIMIT_NOFILE before the jailer lowers it: the undo restores it. */
void undo_save_nofile(void);
void undo_run(void);
void undo_forget(void);

/* sanitize.c: close every fd above 2, empty the environment. */
int jail_sanitize_process(void);

/* tree.c: mkdir -p <base>/<exec>/<id>/root refusing symlinked components;
 * copy the exec file in (O_NOFOLLOW, not a hard link, 0755, uid:gid).
 * Returns an O_PATH fd of the jail root in *root_fd. */
int jail_create_tree(const struct jailer_config *cfg, int *root_fd);
int jail_copy_exec(const struct jailer_config *cfg, int root_fd);

/* rlimit_apply.c */
int jail_apply_rlimits(const struct jailer_rlimits *rl);

/* cgroup_apply.c: create the cgroups, write the values, then write our pid
 * to each distinct cgroup's cgroup.procs once. */
int jail_setup_cgroups(const struct jailer_config *cfg);

/* devices.c */
struct jail_dev {
	const char *path;     /* inside the jail */
	bool present;         /* the host has it */
	bool required;        /* failure to create is fatal */
	unsigned major, minor;
};
#define JAIL_N_DEVS 4
/* Host major/minor of /dev/kvm, /dev/net/tun, /dev/urandom, /dev/userfaultfd
 * (before the jail hides the host's /dev). */
void jail_probe_devices(struct jail_dev devs[JAIL_N_DEVS]);
/* Inside the jail: /, /dev, /dev/net, /run (0700, uid:gid), then the nodes
 * (char, 0600, uid:gid). */
int jail_setup_folders(uid_t uid, gid_t gid);
int jail_make_devices(const struct jail_dev devs[JAIL_N_DEVS], uid_t uid, gid_t gid);

/* pivot.c: new mount namespace, pivot_root into the jail, old root gone. */
int jail_enter(const char *chroot_dir, int root_fd);

/* privs.c: groups, gid, uid, capabilities (incl. bounding set, ambient),
 * securebits, no_new_privs, then the coarse seccomp filter. */
int jail_drop_privileges(uid_t uid, gid_t gid);
int jail_install_seccomp(void);

/* run.c */
int jail_run(struct jailer_config *cfg);

uint64_t jail_now_us(int clock);

#endif
