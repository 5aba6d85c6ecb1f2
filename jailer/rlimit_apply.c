/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rlimit_apply.c — set soft and hard limits (inherited by the exec'd binary).
 */
#include <errno.h>
#include <sys/resource.h>

#include "jailer_rt.h"
#include "jailer_int.h"

static int set_limit(int resource, const char *what, uint64_t value)
{
	struct rlimit rl = { .rlim_cur = value, .rlim_max = value };

	if (setrlimit(resource, &rl) < 0)
		return jailer_set_error(errno, "Failed to set limit for resource: %s: %s", what,
					jailer_os_error(errno));
	return 0;
}

int jail_apply_rlimits(const struct jailer_rlimits *rl)
{
	int r;

	undo_save_nofile();
	if (rl->has_fsize && (r = set_limit(RLIMIT_FSIZE, "size of file", rl->fsize)) < 0)
		return r;
	return set_limit(RLIMIT_NOFILE, "number of file descriptors", rl->no_file);
}
