/* SPDX-License-Identifier: Apache-2.0 */
/*
 * filter_exec.c — test helper: install the jailer's seccomp filter (the
 * same jailer_seccomp_build() wisp-jailer uses) and exec the given
 * program, without a chroot, namespaces or a uid change. The integration
 * tests wrap wisp in it to run their scenarios (boot, snapshots, Uffd,
 * vsock, balloon...) under the jailer's allow-list: a system call missing
 * from the list kills wisp with SIGSYS and the scenario fails.
 *
 *   jail-filter-exec PROGRAM [ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <seccomp.h>

#include "jailer.h"

int main(int argc, char **argv)
{
	scmp_filter_ctx ctx;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: jail-filter-exec PROGRAM [ARGS...]\n");
		return 2;
	}
	if (jailer_seccomp_build(&ctx) < 0) {
		fprintf(stderr, "jail-filter-exec: %s\n", jailer_last_error());
		return 1;
	}
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0) {
		fprintf(stderr, "jail-filter-exec: seccomp_load: %s\n", strerror(-r));
		return 1;
	}
	execv(argv[1], argv + 1);
	/* Only write and exit_group are left to tell why. */
	fprintf(stderr, "jail-filter-exec: exec %s: %s\n", argv[1], strerror(errno));
	return 127;
}
