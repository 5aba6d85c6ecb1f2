/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sanitize.c — the first thing the jailer does: nothing inherited from the
 * caller but stdin/stdout/stderr and no environment reaches the jail.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "jailer_rt.h"
#include "jailer_int.h"

int jail_sanitize_process(void)
{
	if (close_range(3, ~0U, 0) < 0) {
		long max = sysconf(_SC_OPEN_MAX);

		if (errno != ENOSYS && errno != EINVAL)
			return jailer_set_error(errno, "Failed to call close range syscall: %s",
						jailer_os_error(errno));
		for (long fd = 3; fd < (max > 0 ? max : 65536); fd++)
			close((int)fd);
	}
	if (clearenv() != 0)
		return jailer_set_error(ENOMEM, "Failed to clear the environment");
	return 0;
}
