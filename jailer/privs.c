/* SPDX-License-Identifier: Apache-2.0 */
/*
 * privs.c — the last steps before exec: become uid:gid with no
 * supplementary groups and no capabilities at all (effective, permitted,
 * inheritable, ambient and the bounding set), lock the securebits so root
 * regains nothing on exec, set no_new_privs, install the coarse seccomp
 * filter.
 */
#include <errno.h>
#include <grp.h>
#include <linux/securebits.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "jailer_rt.h"
#include "jailer_int.h"

int jail_drop_privileges(uid_t uid, gid_t gid)
{
	cap_value_t last = cap_max_bits();
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	cap_t none;

	/* While we still hold CAP_SETPCAP: root gets no capabilities from exec
	 * or from uid 0, and nobody can undo that or keep caps over setuid. */
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
		  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED, 0, 0, 0) < 0)
		return jailer_set_error(errno, "Failed to set securebits: %s",
					jailer_os_error(errno));
	for (cap_value_t c = 0; c < last; c++) {
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return jailer_set_error(errno, "Failed to drop capability %d from the "
						"bounding set: %s", c, jailer_os_error(errno));
	}
	if (cap_reset_ambient() < 0 && errno != EINVAL)
		return jailer_set_error(errno, "Failed to clear ambient capabilities: %s",
					jailer_os_error(errno));
	if (setgroups(0, NULL) < 0)
		return jailer_set_error(errno, "Failed to clear supplementary groups: %s",
					jailer_os_error(errno));
	if (setresgid(gid, gid, gid) < 0)
		return jailer_set_error(errno, "Failed to set gid %u: %s", gid,
					jailer_os_error(errno));
	if (setresuid(uid, uid, uid) < 0)
		return jailer_set_error(errno, "Failed to set uid %u: %s", uid,
					jailer_os_error(errno));
	none = cap_init();
	if (!none || cap_set_proc(none) < 0) {
		int err = errno;

		cap_free(none);
		return jailer_set_error(err, "Failed to drop capabilities: %s",
					jailer_os_error(err));
	}
	cap_free(none);

	/* Trust, but verify. */
	if (getresuid(&ru, &eu, &su) < 0 || ru != uid || eu != uid || su != uid ||
	    getresgid(&rg, &eg, &sg) < 0 || rg != gid || eg != gid || sg != gid)
		return jailer_set_error(EPERM, "Failed to drop privileges: ids did not change");
	for (cap_value_t c = 0; c < last; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			return jailer_set_error(EPERM, "Failed to drop privileges: capability %d "
						"still in the bounding set", c);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return jailer_set_error(errno, "Failed to set no_new_privs: %s",
					jailer_os_error(errno));
	return 0;
}

int jail_install_seccomp(void)
{
	scmp_filter_ctx ctx;
	int r = jailer_seccomp_build(&ctx);

	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return jailer_set_error(-r, "Failed to install the seccomp filter: %s",
					jailer_os_error(r));
	return 0;
}
