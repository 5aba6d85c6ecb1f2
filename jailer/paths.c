/* SPDX-License-Identifier: Apache-2.0 */
/*
 * paths.c — every path the jailer builds, length-checked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jailer.h"
#include "jailer_int.h"

int jailer_path_join(char *out, size_t len, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	int n;

	while (dl > 1 && dir[dl - 1] == '/')
		dl--;
	if (dl == 1 && dir[0] == '/')
		n = snprintf(out, len, "/%s", name);
	else
		n = snprintf(out, len, "%.*s/%s", (int)dl, dir, name);
	if (n < 0 || (size_t)n >= len)
		return jailer_set_error(ENAMETOOLONG, "Path too long: %.*s/%s", (int)dl, dir, name);
	return 0;
}

int jailer_exec_name(const char *canon_path, char *out, size_t len)
{
	const char *slash = strrchr(canon_path, '/');
	const char *name = slash ? slash + 1 : canon_path;

	if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return jailer_set_error(EINVAL, "Failed to extract filename from path %s",
					canon_path);
	if (strlen(name) >= len)
		return jailer_set_error(ENAMETOOLONG, "File name too long: %s", name);
	strcpy(out, name);
	return 0;
}

int jailer_chroot_path(const char *base, const char *exec_name, const char *id,
		       char *out, size_t len)
{
	char a[JAILER_PATH_MAX], b[JAILER_PATH_MAX];
	int r;

	if ((r = jailer_path_join(a, sizeof(a), base, exec_name)) < 0 ||
	    (r = jailer_path_join(b, sizeof(b), a, id)) < 0 ||
	    (r = jailer_path_join(out, len, b, "root")) < 0)
		return r;
	return 0;
}
