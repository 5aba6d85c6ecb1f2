/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rlimit_parse.c — "--resource-limit <resource>=<value>" (fsize, no-file),
 * with Firecracker's default of no-file=2048.
 */
#include <errno.h>
#include <string.h>

#include "jailer.h"
#include "jailer_int.h"

void jailer_rlimits_init(struct jailer_rlimits *rl)
{
	rl->has_fsize = false;
	rl->fsize = 0;
	rl->no_file = JAILER_DEFAULT_NO_FILE;
}

int jailer_parse_rlimit(const char *arg, struct jailer_rlimits *rl)
{
	const char *eq = strchr(arg, '=');
	const char *why;
	uint64_t v;
	size_t nlen;

	if (!eq)
		return jailer_set_error(EINVAL, "Invalid format for resources limits: %s", arg);
	nlen = (size_t)(eq - arg);
	if (jailer_parse_u64(eq + 1, &v, &why) < 0)
		return jailer_set_error(EINVAL, "Invalid limit value for resource: %s: %s",
					eq + 1, why);
	if (nlen == 5 && !strncmp(arg, "fsize", 5)) {
		rl->has_fsize = true;
		rl->fsize = v;
	} else if (nlen == 7 && !strncmp(arg, "no-file", 7)) {
		rl->no_file = v;
	} else {
		return jailer_set_error(EINVAL, "Invalid resource argument: %.*s", (int)nlen, arg);
	}
	return 0;
}
