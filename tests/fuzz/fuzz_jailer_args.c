/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_jailer_args.c — libFuzzer target for wisp-jailer's pure parsers:
 * the command line (jailer/args.c), the field checks (validate.c), paths
 * (paths.c), --cgroup and /proc/mounts (cgroup_parse.c), --resource-limit
 * (rlimit_parse.c) and the exec argv (exec_argv.c). Nothing here touches
 * the filesystem: the mounts parser gets the text, the configuration is
 * filled from the parsed arguments, not built by config.c.
 *
 * Input: byte 0 selects, the rest is split at NUL bytes into words.
 *   even  the words are argv (argv[0] = "wisp-jailer" is prepended); when
 *         they parse, every value goes through its validator and parser
 *         as jailer_config_build() would, and the exec argv is built
 *   odd   the rest is /proc/mounts text; the words after the first NUL
 *         are controller names looked up in it
 * Every refusal must leave a message (jailer_last_error). */
#include <errno.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "jailer.h"
#include "jailer_int.h"

#define MAX_WORDS 256

static void expect_error(int r)
{
	if (r >= 0)
		return;
	if (!jailer_last_error()[0])
		abort();
	jailer_clear_error();
}

/* In buf or at its terminator: the value of a last word such as
 * "--exec-file=" is the empty string at buf[len]. */
static bool within(const char *p, const char *buf, size_t len)
{
	return p >= buf && p <= buf + len;
}

static void args_mode(char *buf, size_t len)
{
	static char *argv[MAX_WORDS + 2];
	static struct jailer_config cfg;
	static char argbuf[8192];
	static char *out[MAX_WORDS + 12];
	struct jailer_args a;
	struct jailer_rlimits rl;
	struct jailer_cgroup_prop prop;
	uint32_t id32;
	int argc = 1, r, cgv;

	argv[0] = "wisp-jailer";
	for (size_t i = 0; i < len && argc <= MAX_WORDS; i += strlen(buf + i) + 1)
		argv[argc++] = buf + i;
	argv[argc] = NULL;

	memset(&a, 0x5a, sizeof(a));
	r = jailer_parse_args(argc, argv, &a);
	expect_error(r);
	if (r < 0 || a.help || a.version)
		return;
	if (!a.id || !a.exec_file || !a.uid || !a.gid || !a.chroot_base || !a.cgroup_version ||
	    a.n_cgroups > JAILER_MAX_MULTI || a.n_rlimits > JAILER_MAX_MULTI || a.n_extra < 0 ||
	    a.n_extra > argc)
		abort();
	if (!within(a.id, buf, len) || !within(a.exec_file, buf, len))
		abort();
	for (int i = 0; i < a.n_extra; i++)
		if (!a.extra[i] || !within(a.extra[i], buf, len))
			abort();

	memset(&cfg, 0, sizeof(cfg));
	expect_error(jailer_validate_id(a.id));
	expect_error(jailer_parse_id_number("uid", a.uid, &id32));
	expect_error(jailer_parse_id_number("gid", a.gid, &id32));
	expect_error(r = jailer_parse_cgroup_version(a.cgroup_version, &cgv));
	if (r == 0 && cgv != 1 && cgv != 2)
		abort();
	if (a.parent_cgroup)
		expect_error(jailer_validate_parent_cgroup(a.parent_cgroup));
	for (unsigned i = 0; i < a.n_cgroups; i++) {
		r = jailer_parse_cgroup_arg(a.cgroups[i], &prop);
		expect_error(r);
		if (r == 0 && (!memchr(prop.file, '\0', sizeof(prop.file)) ||
			       !memchr(prop.controller, '\0', sizeof(prop.controller)) ||
			       !memchr(prop.value, '\0', sizeof(prop.value)) || !prop.value[0] ||
			       strchr(prop.file, '/')))
			abort();
	}
	jailer_rlimits_init(&rl);
	for (unsigned i = 0; i < a.n_rlimits; i++)
		expect_error(jailer_parse_rlimit(a.rlimits[i], &rl));

	/* The paths and the exec argv, as config.c and run.c build them. */
	expect_error(jailer_exec_name(a.exec_file, cfg.exec_name, sizeof(cfg.exec_name)));
	expect_error(jailer_chroot_path(a.chroot_base, cfg.exec_name, a.id, cfg.chroot_dir,
					sizeof(cfg.chroot_dir)));
	expect_error(jailer_path_join(cfg.chroot_base, sizeof(cfg.chroot_base), a.chroot_base,
				      a.id));
	if (!memchr(cfg.exec_name, '\0', sizeof(cfg.exec_name)) ||
	    !memchr(cfg.chroot_dir, '\0', sizeof(cfg.chroot_dir)))
		abort();
	snprintf(cfg.id, sizeof(cfg.id), "%s", a.id);
	cfg.extra = a.extra;
	cfg.n_extra = a.n_extra;
	cfg.start_time_us = len * 1000003ULL;
	r = jailer_exec_argv(&cfg, UINT64_MAX, 0, argbuf, sizeof(argbuf), out,
			     sizeof(out) / sizeof(out[0]));
	expect_error(r);
	if (r >= 0) {
		if (r != 9 + a.n_extra || out[r] != NULL)
			abort();
		for (int i = 0; i < r; i++)
			if (!out[i])
				abort();
	}
}

static void mounts_mode(char *buf, size_t len)
{
	static struct jailer_cgroup_mounts m;
	const char *text = buf;
	size_t tl = strlen(buf);
	int n = jailer_cgroup_mounts_parse(text, &m);

	if (n < 0 || (unsigned)n != m.n || m.n > JAILER_CG_MOUNTS_MAX)
		abort();
	for (unsigned i = 0; i < m.n; i++)
		if (m.m[i].dir[0] != '/' || (m.m[i].version != 1 && m.m[i].version != 2) ||
		    !memchr(m.m[i].dir, '\0', sizeof(m.m[i].dir)) ||
		    !memchr(m.m[i].options, '\0', sizeof(m.m[i].options)))
			abort();
	jailer_cgroup_v2_dir(&m);
	for (size_t i = tl + 1; i < len; i += strlen(buf + i) + 1) {
		const char *d = jailer_cgroup_v1_dir(&m, buf + i);

		if (d && d[0] != '/')
			abort();
		jailer_word_in_list(text, buf + i);
	}
	/* The same text as /proc/self/cgroup (the undo path's parser): a path
	 * found is absolute and fits. */
	for (int v = 1; v <= 2; v++) {
		char path[64];
		const char *ctrl = tl + 1 < len ? buf + tl + 1 : "cpu";

		if (jailer_cgroup_self_path(text, v, ctrl, path, sizeof(path)) == 0 &&
		    (path[0] != '/' || strlen(path) >= sizeof(path)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	uint8_t mode;

	if (!size)
		return 0;
	mode = data[0];
	/* An exactly sized, NUL-terminated copy: ASan sees reads past it. */
	buf = malloc(size);
	if (!buf)
		abort();
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	jailer_clear_error();
	if (mode % 2 == 0)
		args_mode(buf, size - 1);
	else
		mounts_mode(buf, size - 1);
	free(buf);
	return 0;
}
