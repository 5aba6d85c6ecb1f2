/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c — wisp-jailer: sanitise, parse, validate, then run the jail steps
 * (run.c). On failure the cause is printed once on stderr and the exit
 * status is 1, as Firecracker's jailer does.
 */
#include <stdio.h>
#include <time.h>

#include "jailer.h"
#include "jailer_rt.h"
#include "../vmm/vmm.h"  /* WISP_VERSION, WISP_FC_VERSION (self-contained header) */

/* Firecracker's first line ("Jailer v<version>", then a blank line: tools
 * parse it), then a line saying what this really is. */
#define BANNER "Jailer v" WISP_FC_VERSION "\n\nwisp-jailer v" WISP_VERSION \
	", implementing the jailer of Firecracker v" WISP_FC_VERSION "\n"

int main(int argc, char *argv[])
{
	uint64_t start_us = jail_now_us(CLOCK_MONOTONIC);
	uint64_t start_cpu_us = jail_now_us(CLOCK_PROCESS_CPUTIME_ID);
	static struct jailer_config cfg;
	struct jailer_args args;

	/* First, before reading anything: drop inherited fds and environment. */
	if (jail_sanitize_process() < 0) {
		fprintf(stderr, "Failed to sanitize the Jailer process: %s\n", jailer_last_error());
		return 1;
	}
	if (jailer_parse_args(argc, argv, &args) < 0)
		goto fail;
	if (args.help) {
		printf(BANNER "\n%s\n"
		       "Any arguments after the -- separator will be supplied to the jailed "
		       "binary.\n\n", jailer_usage());
		return 0;
	}
	if (args.version) {
		printf(BANNER);
		return 0;
	}
	if (jailer_config_build(&args, JAILER_PROC_MOUNTS, &cfg) < 0)
		goto fail;
	cfg.start_time_us = start_us;
	cfg.start_time_cpu_us = start_cpu_us;
	jail_run(&cfg);  /* returns only on failure */
	jailer_config_release(&cfg);
fail:
	fprintf(stderr, "%s\n", jailer_last_error());
	return 1;
}
