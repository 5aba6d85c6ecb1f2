/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup_parse.c — the pure half of cgroup handling: "<file>=<value>"
 * arguments, the cgroup mounts listed in /proc/mounts, and word lists such as
 * cgroup.controllers.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "jailer.h"

static bool file_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

int jailer_parse_cgroup_arg(const char *arg, struct jailer_cgroup_prop *out)
{
	const char *eq = strchr(arg, '=');
	const char *value, *dot;
	size_t flen;

	memset(out, 0, sizeof(*out));
	if (!eq || strchr(eq + 1, '=') || !eq[1] || strchr(eq + 1, '\n'))
		return jailer_set_error(EINVAL, "Invalid format for cgroups: %s", arg);
	value = eq + 1;
	flen = (size_t)(eq - arg);
	if (strlen(value) >= sizeof(out->value))
		return jailer_set_error(EINVAL, "Invalid format for cgroups: %s (value longer than "
					"%zu bytes)", arg, sizeof(out->value) - 1);
	if (flen == 0 || flen >= sizeof(out->file))
		return jailer_set_error(EINVAL, "Cgroup invalid file: %.*s", (int)flen, arg);
	/* A path (Firecracker refuses "/", "." and ".." components while
	 * reading the argument, naming the whole "<file>=<value>"). */
	if (memchr(arg, '/', flen))
		return jailer_set_error(EINVAL, "Cgroup invalid file: %s", arg);
	for (size_t i = 0; i < flen; i++) {
		if (!file_char_ok(arg[i]))
			return jailer_set_error(EINVAL, "Cgroup invalid file: %.*s", (int)flen, arg);
	}
	/* <controller>.<property>: both parts non-empty. */
	dot = memchr(arg, '.', flen);
	if (!dot || dot == arg || dot == eq - 1)
		return jailer_set_error(EINVAL, "Cgroup invalid file: %.*s", (int)flen, arg);
	memcpy(out->file, arg, flen);
	memcpy(out->controller, arg, (size_t)(dot - arg));
	strcpy(out->value, value);
	return 0;
}

/* Copy one whitespace-delimited field of a /proc/mounts line, decoding the
 * kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 '\'). */
static const char *mounts_field(const char *p, char *out, size_t len, bool *truncated)
{
	size_t n = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	while (*p && *p != ' ' && *p != '\t' && *p != '\n') {
		char c = *p;

		if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			c = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		}
		if (n + 1 < len)
			out[n++] = c;
		else
			*truncated = true;
		p++;
	}
	out[n] = '\0';
	return p;
}

int jailer_cgroup_mounts_parse(const char *text, struct jailer_cgroup_mounts *out)
{
	const char *line = text;

	memset(out, 0, sizeof(*out));
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		char src[256], dir[JAILER_PATH_MAX], type[64], opts[1024];
		bool trunc = false;
		const char *p = line;

		p = mounts_field(p, src, sizeof(src), &trunc);
		trunc = false;  /* the source name does not matter */
		p = mounts_field(p, dir, sizeof(dir), &trunc);
		p = mounts_field(p, type, sizeof(type), &trunc);
		mounts_field(p, opts, sizeof(opts), &trunc);
		if (!trunc && dir[0] == '/' && out->n < JAILER_CG_MOUNTS_MAX &&
		    (!strcmp(type, "cgroup") || !strcmp(type, "cgroup2"))) {
			struct jailer_cgroup_mount *m = &out->m[out->n++];

			strcpy(m->dir, dir);
			strcpy(m->options, opts);
			m->version = type[6] == '2' ? 2 : 1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return (int)out->n;
}

bool jailer_word_in_list(const char *list, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = list;

	if (!nlen)
		return false;
	while (*p) {
		size_t wlen;

		while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t')
			p++;
		wlen = strcspn(p, " ,\n\t");
		if (wlen == nlen && !strncmp(p, name, nlen))
			return true;
		p += wlen;
	}
	return false;
}

const char *jailer_cgroup_v1_dir(const struct jailer_cgroup_mounts *m, const char *controller)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (m->m[i].version == 1 && jailer_word_in_list(m->m[i].options, controller))
			return m->m[i].dir;
	}
	return NULL;
}

const char *jailer_cgroup_v2_dir(const struct jailer_cgroup_mounts *m)
{
	for (unsigned i = 0; i < m->n; i++) {
		if (m->m[i].version == 2)
			return m->m[i].dir;
	}
	return NULL;
}

/* Is word one of the comma-separated items of list[0..len)? */
static bool word_in_commas(const char *list, size_t len, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *c = memchr(p, ',', (size_t)(end - p));
		size_t n = c ? (size_t)(c - p) : (size_t)(end - p);

		if (n == wl && !memcmp(p, word, wl))
			return true;
		p += n + 1;
	}
	return false;
}

int jailer_cgroup_self_path(const char *text, int version, const char *controller,
			    char *out, size_t len)
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t ll = nl ? (size_t)(nl - line) : strlen(line);
		const char *c1 = memchr(line, ':', ll);
		const char *c2 = c1 ? memchr(c1 + 1, ':', ll - (size_t)(c1 + 1 - line)) : NULL;

		if (c2) {
			const char *path = c2 + 1;
			size_t plen = ll - (size_t)(path - line);
			bool v2_line = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			bool match = version == 2 ? v2_line
				   : !v2_line && word_in_commas(c1 + 1, (size_t)(c2 - c1 - 1),
								controller);

			if (match) {
				if (plen == 0 || path[0] != '/' || plen >= len)
					return -EINVAL;
				memcpy(out, path, plen);
				out[plen] = '\0';
				return 0;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}
