/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec_argv.c — the command line the jailed binary gets, as Firecracker's
 * jailer builds it: --id and the start-time flags first, then everything
 * given after "--".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jailer.h"

static char *put(char **pos, size_t *left, const char *fmt, const char *s, uint64_t v)
{
	char *start = *pos;
	int n = s ? snprintf(*pos, *left, fmt, s) : snprintf(*pos, *left, fmt, v);

	if (n < 0 || (size_t)n >= *left)
		return NULL;
	*pos += n + 1;
	*left -= (size_t)n + 1;
	return start;
}

int jailer_exec_argv(const struct jailer_config *cfg, uint64_t start_cpu_us,
		     uint64_t parent_cpu_us, char *buf, size_t buflen,
		     char **out, size_t out_len)
{
	char *pos = buf;
	size_t left = buflen;
	size_t n = 0;

	if (out_len < 10 + (size_t)cfg->n_extra)
		return jailer_set_error(E2BIG, "Too many arguments for the exec file");
	if (!(out[n++] = put(&pos, &left, "/%s", cfg->exec_name, 0)))
		goto too_long;
	out[n++] = "--id";
	out[n++] = (char *)cfg->id;
	out[n++] = "--start-time-us";
	if (!(out[n++] = put(&pos, &left, "%" PRIu64, NULL, cfg->start_time_us)))
		goto too_long;
	out[n++] = "--start-time-cpu-us";
	if (!(out[n++] = put(&pos, &left, "%" PRIu64, NULL, start_cpu_us)))
		goto too_long;
	out[n++] = "--parent-cpu-time-us";
	if (!(out[n++] = put(&pos, &left, "%" PRIu64, NULL, parent_cpu_us)))
		goto too_long;
	for (int i = 0; i < cfg->n_extra; i++)
		out[n++] = cfg->extra[i];
	out[n] = NULL;
	return (int)n;
too_long:
	return jailer_set_error(E2BIG, "Exec arguments too long");
}
