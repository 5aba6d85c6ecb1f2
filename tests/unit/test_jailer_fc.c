/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_fc.c — what makes wisp-jailer a drop-in for Firecracker's
 * jailer, as far as pure code decides it: the version banner, the os-error
 * texts of Firecracker's musl-linked jailer (its tests match them), names
 * derived from an exec file called "firecracker", and the parsing of
 * /proc/self/cgroup the undo path uses to move a failed jailer back out of
 * the cgroups it made.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "jailer/jailer.h"
#include "jailer/jailer_int.h"
#include "vmm/vmm.h"

/* Firecracker's security/test_jail.py matches these texts of its jailer
 * (Rust io::Error over musl): "Resource busy (os error 16)" in
 * test_cgroups_parent_cgroup_but_no_cgroup, "No file descriptors available
 * (os error 24)" in test_negative_no_file_limit, "No such file or directory
 * (os error 2)" in test_exec_file_not_exist. glibc's strerror differs for the
 * first two. */
START_TEST(os_error_texts_are_musls)
{
	ck_assert_str_eq(jailer_os_error(EBUSY), "Resource busy (os error 16)");
	ck_assert_str_eq(jailer_os_error(EMFILE), "No file descriptors available (os error 24)");
	ck_assert_str_eq(jailer_os_error(ENOENT), "No such file or directory (os error 2)");
	ck_assert_str_eq(jailer_os_error(-ENOSPC), "No space left on device (os error 28)");
	ck_assert_str_eq(jailer_os_error(EEXIST), "File exists (os error 17)");
	ck_assert_str_eq(jailer_os_error(ELOOP), "Symbolic link loop (os error 40)");
	ck_assert_str_eq(jailer_os_error(EPERM), "Operation not permitted (os error 1)");
	ck_assert_str_eq(jailer_os_error(EINVAL), "Invalid argument (os error 22)");
	ck_assert_str_eq(jailer_strerror(ENFILE), "Too many open files in system");
	/* A number musl has no text for: glibc's, still with the number. */
	ck_assert_str_eq(jailer_strerror(ERFKILL), strerror(ERFKILL));
	/* Every errno up to 133 has a non-empty text. */
	for (int e = 1; e <= 133; e++)
		ck_assert_msg(jailer_strerror(e)[0], "no text for %d", e);
}
END_TEST

/* Firecracker: security/test_jail.py (every spawn): the jail and pid file
 * names come from the exec file's name; "firecracker" gives
 * <base>/firecracker/<id>/root and its argv[0] /firecracker. */
START_TEST(names_from_firecracker_exec_file)
{
	char name[256], path[512];

	ck_assert_int_eq(jailer_exec_name("/opt/wisp/lib/firecracker", name, sizeof(name)), 0);
	ck_assert_str_eq(name, "firecracker");
	ck_assert_int_eq(jailer_chroot_path("/srv/jailer", name, "vm-1", path, sizeof(path)), 0);
	ck_assert_str_eq(path, "/srv/jailer/firecracker/vm-1/root");
	ck_assert_str_eq(JAILER_FC_EXEC_NAME, "firecracker");
}
END_TEST

static char g_tmp[64];

static void setup(void)
{
	strcpy(g_tmp, "/tmp/wisp-jailer-fc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* Firecracker: security/test_jail.py::test_exec_file_not_exist (and every
 * spawn): with --exec-file .../firecracker the configuration derives
 * <base>/firecracker/<id>/root and the default parent cgroup "firecracker". */
START_TEST(config_with_firecracker_exec_file)
{
	static struct jailer_config cfg;
	char exec[128], base[128], want[256];
	struct jailer_args a;
	FILE *f;

	snprintf(exec, sizeof(exec), "%s/firecracker", g_tmp);
	snprintf(base, sizeof(base), "%s/base", g_tmp);
	f = fopen(exec, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(mkdir(base, 0755), 0);
	char *argv[] = { "jailer", "--id", "vm1", "--exec-file", exec, "--uid", "1234", "--gid",
			 "1234", "--chroot-base-dir", base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, argv, &a), 0);
	ck_assert_int_eq(jailer_config_build(&a, "/proc/mounts", &cfg), 0);
	ck_assert_str_eq(cfg.exec_name, "firecracker");
	snprintf(want, sizeof(want), "%s/firecracker/vm1/root", base);
	ck_assert_str_eq(cfg.chroot_dir, want);
	ck_assert_str_eq(cfg.parent_cgroup, "firecracker");
	jailer_config_release(&cfg);
}
END_TEST

START_TEST(self_cgroup_v1_v2)
{
	static const char text[] =
		"12:hugetlb:/\n"
		"4:cpu,cpuacct:/process_api/abc\n"
		"3:cpuset:/\n"
		"9:name=systemd:/user.slice\n"
		"0::/init.scope\n";
	char out[256];

	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "cpu", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/process_api/abc");
	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "cpuacct", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/process_api/abc");
	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "cpuset", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/");
	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "name=systemd", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/user.slice");
	ck_assert_int_eq(jailer_cgroup_self_path(text, 2, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/init.scope");
	/* "cpu" is not a prefix match of "cpuset", nor "cpuacc" of "cpuacct". */
	ck_assert_int_eq(jailer_cgroup_self_path("3:cpuset:/x\n", 1, "cpu", out, sizeof(out)),
			 -ENOENT);
	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "cpuacc", out, sizeof(out)), -ENOENT);
	ck_assert_int_eq(jailer_cgroup_self_path(text, 1, "memory", out, sizeof(out)), -ENOENT);
	/* The v2 line is not a v1 hierarchy, and v1 lines are not v2. */
	ck_assert_int_eq(jailer_cgroup_self_path("0::/a\n", 1, "", out, sizeof(out)), -ENOENT);
	ck_assert_int_eq(jailer_cgroup_self_path("3:cpuset:/\n", 2, "", out, sizeof(out)),
			 -ENOENT);
	/* Last line without a newline; malformed lines skipped or refused. */
	ck_assert_int_eq(jailer_cgroup_self_path("junk\n0::/b", 2, "", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/b");
	ck_assert_int_eq(jailer_cgroup_self_path("0::\n", 2, "", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(jailer_cgroup_self_path("0::relative\n", 2, "", out, sizeof(out)),
			 -EINVAL);
	ck_assert_int_eq(jailer_cgroup_self_path("0::/longer\n", 2, "", out, 4), -EINVAL);
	ck_assert_int_eq(jailer_cgroup_self_path("", 2, "", out, sizeof(out)), -ENOENT);
}
END_TEST

/* Runs the built wisp-jailer with one argument; returns its stdout. */
static char *run_jailer(const char *arg)
{
	const char *bd = getenv("WISP_BUILD_DIR");
	static char out[8192];
	char cmd[1024];
	size_t n;
	FILE *p;

	ck_assert_ptr_nonnull(bd);
	snprintf(cmd, sizeof(cmd), "'%s/wisp-jailer' %s", bd, arg);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	return out;
}

/* Firecracker's jailer prints "Jailer v<version>" and a blank line; wisp's
 * says what it is on the next line (docs/api.md "Versions and names"). */
START_TEST(version_banner)
{
	char *out = run_jailer("--version");

	ck_assert_str_eq(out, "Jailer v" WISP_FC_VERSION "\n\nwisp-jailer v" WISP_VERSION
			 ", implementing the jailer of Firecracker v" WISP_FC_VERSION "\n");
	/* --version wins over every other argument, as in Firecracker. */
	out = run_jailer("--id '' --version");
	ck_assert(!strncmp(out, "Jailer v" WISP_FC_VERSION "\n\n", strlen(WISP_FC_VERSION) + 10));
	out = run_jailer("--help");
	ck_assert(!strncmp(out, "Jailer v" WISP_FC_VERSION "\n\nwisp-jailer v" WISP_VERSION,
			   strlen(WISP_FC_VERSION) + strlen(WISP_VERSION) + 23));
	ck_assert_ptr_nonnull(strstr(out, "Any arguments after the -- separator will be supplied "
				     "to the jailed binary.\n"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_fc");
	TCase *tc = tcase_create("fc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, os_error_texts_are_musls);
	tcase_add_test(tc, names_from_firecracker_exec_file);
	tcase_add_test(tc, config_with_firecracker_exec_file);
	tcase_add_test(tc, self_cgroup_v1_v2);
	tcase_add_test(tc, version_banner);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
