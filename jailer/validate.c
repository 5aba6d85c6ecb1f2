/* SPDX-License-Identifier: Apache-2.0 */
/*
 * validate.c — checks of single argument values that need nothing but the
 * value: instance id, uid/gid, cgroup version, parent cgroup path.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "jailer.h"
#include "jailer_int.h"

int jailer_validate_id(const char *id)
{
	size_t len = strlen(id);

	if (len < JAILER_ID_MIN || len > JAILER_ID_MAX)
		return jailer_set_error(EINVAL, "Invalid instance ID: Invalid len (%zu);  the length "
					"must be between %d and %d", len, JAILER_ID_MIN,
					JAILER_ID_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = id[i];
		bool ok = c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9');

		if (!ok)
			return jailer_set_error(EINVAL, "Invalid instance ID: Invalid char (%c) at "
						"position %zu", c, i);
	}
	return 0;
}

/* Rust's u64 parsing errors, which Firecracker prints verbatim. */
int jailer_parse_u64(const char *s, uint64_t *out, const char **why)
{
	uint64_t v = 0;

	if (!*s) {
		*why = "cannot parse integer from empty string";
		return -EINVAL;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9') {
			*why = "invalid digit found in string";
			return -EINVAL;
		}
	}
	for (const char *p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*why = "number too large to fit in target type";
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int jailer_parse_id_number(const char *what, const char *s, uint32_t *out)
{
	const char *why;
	uint64_t v;

	/* (uint32_t)-1 is "leave unchanged" to setresuid/setresgid: refusing it
	 * keeps the jailed process from silently staying root. */
	if (jailer_parse_u64(s, &v, &why) < 0 || v >= UINT32_MAX)
		return jailer_set_error(EINVAL, "Invalid %s: %s", what, s);
	*out = (uint32_t)v;
	return 0;
}

int jailer_parse_cgroup_version(const char *s, int *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "2")) {
		*out = s[0] - '0';
		return 0;
	}
	return jailer_set_error(EINVAL, "%s is an invalid cgroup version specifier", s);
}

/* A relative path whose components are non-empty and neither "." nor "..". */
bool jailer_is_plain_relative(const char *path)
{
	const char *p = path;

	if (!*p || *p == '/')
		return false;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += len;
		if (*p == '/')
			p++;
		if (slash && !*p)  /* trailing '/' */
			return false;
	}
	return true;
}

int jailer_validate_parent_cgroup(const char *path)
{
	if (!jailer_is_plain_relative(path))
		return jailer_set_error(EINVAL, "Parent cgroup path is invalid. Path should not be "
					"absolute or contain '..' or '.'");
	return 0;
}
