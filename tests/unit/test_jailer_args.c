/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_args.c — wisp-jailer's command line and argument validation:
 * every rejection asserts its message (Firecracker's text where it has one),
 * and a rejected configuration creates nothing.
 */
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "jailer/jailer.h"

#define ARGV(...) ((char *[]){ "wisp-jailer", __VA_ARGS__, NULL })
#define ARGC(v) ((int)(sizeof(v) / sizeof(v[0])) - 1)

static int parse(char **argv, int argc, struct jailer_args *a)
{
	return jailer_parse_args(argc, argv, a);
}

#define PARSE_OK(a, ...) do { char **v_ = ARGV(__VA_ARGS__); \
	ck_assert_int_eq(parse(v_, ARGC(ARGV(__VA_ARGS__)), a), 0); } while (0)
#define PARSE_ERR(msg, ...) do { struct jailer_args a_; char **v_ = ARGV(__VA_ARGS__); \
	ck_assert_int_lt(parse(v_, ARGC(ARGV(__VA_ARGS__)), &a_), 0); \
	ck_assert_msg(strstr(jailer_last_error(), msg), "got '%s', want '%s'", \
		      jailer_last_error(), msg); } while (0)
#define ERR_HAS(msg) ck_assert_msg(strstr(jailer_last_error(), msg), \
	"got '%s', want '%s'", jailer_last_error(), msg)

START_TEST(parse_full_and_defaults)
{
	struct jailer_args a;

	PARSE_OK(&a, "--id", "vm1", "--exec-file", "/bin/true", "--uid", "1", "--gid", "2");
	ck_assert_str_eq(a.id, "vm1");
	ck_assert_str_eq(a.exec_file, "/bin/true");
	ck_assert_str_eq(a.uid, "1");
	ck_assert_str_eq(a.gid, "2");
	ck_assert_str_eq(a.chroot_base, "/srv/jailer");
	ck_assert_str_eq(a.cgroup_version, "1");
	ck_assert_ptr_null(a.netns);
	ck_assert_ptr_null(a.parent_cgroup);
	ck_assert(!a.daemonize && !a.new_pid_ns && !a.help && !a.version);
	ck_assert_int_eq(a.n_extra, 0);

	PARSE_OK(&a, "--id", "vm1", "--exec-file", "/bin/true", "--uid", "1", "--gid", "2",
		 "--chroot-base-dir", "/tmp", "--netns", "/var/run/netns/x", "--daemonize",
		 "--new-pid-ns", "--cgroup", "cpu.shares=2", "--cgroup=cpuset.mems=0",
		 "--cgroup-version", "2", "--parent-cgroup", "a/b", "--resource-limit",
		 "fsize=10", "--resource-limit", "no-file=5", "--", "--api-sock", "/run/a.sock");
	ck_assert_str_eq(a.chroot_base, "/tmp");
	ck_assert_str_eq(a.netns, "/var/run/netns/x");
	ck_assert(a.daemonize && a.new_pid_ns);
	ck_assert_uint_eq(a.n_cgroups, 2);
	ck_assert_str_eq(a.cgroups[0], "cpu.shares=2");
	ck_assert_str_eq(a.cgroups[1], "cpuset.mems=0");
	ck_assert_str_eq(a.cgroup_version, "2");
	ck_assert_str_eq(a.parent_cgroup, "a/b");
	ck_assert_uint_eq(a.n_rlimits, 2);
	ck_assert_str_eq(a.rlimits[1], "no-file=5");
	ck_assert_int_eq(a.n_extra, 2);
	ck_assert_str_eq(a.extra[0], "--api-sock");
	ck_assert_str_eq(a.extra[1], "/run/a.sock");
}
END_TEST

START_TEST(parse_help_version)
{
	struct jailer_args a;

	PARSE_OK(&a, "--help");
	ck_assert(a.help);
	PARSE_OK(&a, "--bogus", "-h");
	ck_assert(a.help);
	PARSE_OK(&a, "--version");
	ck_assert(a.version);
	/* After "--" they belong to the exec file. */
	PARSE_ERR("Argument 'id' required, but not found.", "--", "--help");
	ck_assert_ptr_nonnull(strstr(jailer_usage(), "--resource-limit"));
}
END_TEST

START_TEST(parse_rejections)
{
	PARSE_ERR("Failed to parse arguments: Argument 'id' required, but not found.",
		  "--exec-file", "x", "--uid", "1", "--gid", "1");
	PARSE_ERR("Argument 'exec-file' required, but not found.",
		  "--id", "x", "--uid", "1", "--gid", "1");
	PARSE_ERR("Argument 'uid' required, but not found.",
		  "--id", "x", "--exec-file", "x", "--gid", "1");
	PARSE_ERR("Argument 'gid' required, but not found.",
		  "--id", "x", "--exec-file", "x", "--uid", "1");
	PARSE_ERR("Found argument 'foo' which wasn't expected, or isn't valid in this context.",
		  "--foo", "--id", "x");
	PARSE_ERR("Found argument 'stray' which wasn't expected, or isn't valid in this context.",
		  "stray");
	PARSE_ERR("The argument 'id' requires a value, but none was supplied.", "--id");
	PARSE_ERR("The argument 'id' requires a value, but none was supplied.", "--id", "--uid", "1");
	PARSE_ERR("The argument 'id' was provided more than once.", "--id", "a", "--id", "b");
	PARSE_ERR("The argument 'daemonize' was provided more than once.",
		  "--daemonize", "--daemonize");
	PARSE_ERR("The argument 'daemonize' does not take a value.", "--daemonize=yes");
}
END_TEST

START_TEST(validate_id)
{
	char longid[70];

	ck_assert_int_eq(jailer_validate_id("551e7604-e35c-42b3-b825-416853441234"), 0);
	ck_assert_int_eq(jailer_validate_id("a"), 0);
	ck_assert_int_lt(jailer_validate_id(""), 0);
	ERR_HAS("Invalid instance ID: Invalid len (0);  the length must be between 1 and 64");
	memset(longid, 'a', 65);
	longid[65] = '\0';
	ck_assert_int_lt(jailer_validate_id(longid), 0);
	ERR_HAS("Invalid instance ID: Invalid len (65);  the length must be between 1 and 64");
	longid[64] = '\0';
	ck_assert_int_eq(jailer_validate_id(longid), 0);
	ck_assert_int_lt(jailer_validate_id("12_3aa"), 0);
	ERR_HAS("Invalid instance ID: Invalid char (_) at position 2");
	ck_assert_int_lt(jailer_validate_id("a/b"), 0);
	ERR_HAS("Invalid char (/) at position 1");
	ck_assert_int_lt(jailer_validate_id(".."), 0);
	ERR_HAS("Invalid char (.) at position 0");
}
END_TEST

START_TEST(validate_uid_gid_version_parent)
{
	uint32_t v;
	int ver;

	ck_assert_int_eq(jailer_parse_id_number("uid", "0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(jailer_parse_id_number("uid", "4294967294", &v), 0);
	ck_assert_uint_eq(v, 4294967294u);
	ck_assert_int_lt(jailer_parse_id_number("uid", "abc", &v), 0);
	ERR_HAS("Invalid uid: abc");
	ck_assert_int_lt(jailer_parse_id_number("uid", "-1", &v), 0);
	ERR_HAS("Invalid uid: -1");
	ck_assert_int_lt(jailer_parse_id_number("uid", "4294967295", &v), 0);
	ERR_HAS("Invalid uid: 4294967295");
	ck_assert_int_lt(jailer_parse_id_number("gid", "", &v), 0);
	ERR_HAS("Invalid gid: ");
	ck_assert_int_lt(jailer_parse_id_number("gid", "1 2", &v), 0);
	ERR_HAS("Invalid gid: 1 2");

	ck_assert_int_eq(jailer_parse_cgroup_version("1", &ver), 0);
	ck_assert_int_eq(ver, 1);
	ck_assert_int_eq(jailer_parse_cgroup_version("2", &ver), 0);
	ck_assert_int_eq(ver, 2);
	ck_assert_int_lt(jailer_parse_cgroup_version("3", &ver), 0);
	ERR_HAS("3 is an invalid cgroup version specifier");
	ck_assert_int_lt(jailer_parse_cgroup_version("v2", &ver), 0);
	ERR_HAS("v2 is an invalid cgroup version specifier");

	ck_assert_int_eq(jailer_validate_parent_cgroup("wisp"), 0);
	ck_assert_int_eq(jailer_validate_parent_cgroup("all_uvms/external_uvms"), 0);
	ck_assert_int_eq(jailer_validate_parent_cgroup("a..b/c.d"), 0);
	const char *bad[] = { "/abs", "../up", "a/../b", "./a", "a/.", "", "a//b", "a/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(jailer_validate_parent_cgroup(bad[i]) < 0, "accepted '%s'", bad[i]);
		ERR_HAS("Parent cgroup path is invalid. Path should not be absolute or contain '..' "
			"or '.'");
	}
}
END_TEST

/* ---- jailer_config_build: filesystem-facing validation ---- */

static char g_tmp[256], g_exec[300], g_base[300], g_mounts[300], g_v2[300];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	char buf[700];

	strcpy(g_tmp, "/tmp/wisp-jailer-ut.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(g_tmp));
	snprintf(g_exec, sizeof(g_exec), "%s/wisp", g_tmp);
	write_file(g_exec, "binary");
	snprintf(g_base, sizeof(g_base), "%s/base", g_tmp);
	ck_assert_int_eq(mkdir(g_base, 0755), 0);
	snprintf(g_v2, sizeof(g_v2), "%s/unified", g_tmp);
	ck_assert_int_eq(mkdir(g_v2, 0755), 0);
	snprintf(buf, sizeof(buf), "%s/cgroup.controllers", g_v2);
	write_file(buf, "cpuset cpu memory pids\n");
	snprintf(g_mounts, sizeof(g_mounts), "%s/mounts", g_tmp);
	snprintf(buf, sizeof(buf),
		 "proc /proc proc rw 0 0\n"
		 "cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,cpu,cpuacct 0 0\n"
		 "cgroup /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n"
		 "cgroup2 %s cgroup2 rw,nsdelegate 0 0\n", g_v2);
	write_file(g_mounts, buf);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* The base dir is still empty: a rejected configuration created nothing. */
static void assert_base_empty(void)
{
	DIR *d = opendir(g_base);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	ck_assert_int_eq(n, 0);
}

static int build(struct jailer_config *cfg, char **extra_argv)
{
	char *argv[64] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_exec, "--uid", "123",
			   "--gid", "100", "--chroot-base-dir", g_base };
	struct jailer_args a;
	int argc = 11, r;

	for (int i = 0; extra_argv && extra_argv[i]; i++)
		argv[argc++] = extra_argv[i];
	argv[argc] = NULL;
	ck_assert_int_eq(jailer_parse_args(argc, argv, &a), 0);
	r = jailer_config_build(&a, g_mounts, cfg);
	if (r < 0)
		assert_base_empty();
	return r;
}

#define XARGS(...) ((char *[]){ __VA_ARGS__, NULL })

START_TEST(config_ok)
{
	static struct jailer_config cfg;
	char want[600];

	ck_assert_int_eq(build(&cfg, NULL), 0);
	ck_assert_str_eq(cfg.id, "vm1");
	ck_assert_str_eq(cfg.exec_name, "wisp");
	ck_assert_str_eq(cfg.exec_path, g_exec);
	snprintf(want, sizeof(want), "%s/wisp/vm1/root", g_base);
	ck_assert_str_eq(cfg.chroot_dir, want);
	ck_assert_uint_eq(cfg.uid, 123);
	ck_assert_uint_eq(cfg.gid, 100);
	ck_assert_int_eq(cfg.netns_fd, -1);
	ck_assert_int_eq(cfg.cgroup_version, 1);
	ck_assert_str_eq(cfg.parent_cgroup, "wisp");
	ck_assert_uint_eq(cfg.n_cg_dirs, 0);
	ck_assert_uint_eq(cfg.rlimits.no_file, 2048);
	ck_assert(!cfg.rlimits.has_fsize);
	jailer_config_release(&cfg);
	assert_base_empty();  /* validation creates nothing, even on success */
}
END_TEST

START_TEST(config_cgroups_v1)
{
	static struct jailer_config cfg;

	ck_assert_int_eq(build(&cfg, XARGS("--cgroup", "cpu.shares=2", "--cgroup",
					   "cpuacct.foo=1", "--cgroup", "cpuset.mems=0",
					   "--cgroup", "cpuset.cpus=0-1", "--parent-cgroup",
					   "a/b")), 0);
	ck_assert_uint_eq(cfg.n_props, 4);
	/* cpu and cpuacct share one hierarchy: one directory, joined once. */
	ck_assert_uint_eq(cfg.n_cg_dirs, 2);
	ck_assert_str_eq(cfg.cg_dirs[0].path, "/sys/fs/cgroup/cpu,cpuacct/a/b/vm1");
	ck_assert_str_eq(cfg.cg_dirs[0].mount, "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_str_eq(cfg.cg_dirs[1].path, "/sys/fs/cgroup/cpuset/a/b/vm1");
	ck_assert_uint_eq(cfg.prop_dir[0], 0);
	ck_assert_uint_eq(cfg.prop_dir[1], 0);
	ck_assert_uint_eq(cfg.prop_dir[2], 1);
	ck_assert_uint_eq(cfg.prop_dir[3], 1);
	ck_assert_str_eq(cfg.props[3].value, "0-1");
	jailer_config_release(&cfg);
}
END_TEST

START_TEST(config_cgroups_v2)
{
	static struct jailer_config cfg;
	char want[600], parent[600];

	ck_assert_int_eq(build(&cfg, XARGS("--cgroup-version", "2", "--cgroup", "cpu.max=50000 100000",
					   "--cgroup", "memory.max=1000000")), 0);
	ck_assert_uint_eq(cfg.n_cg_dirs, 1);
	snprintf(want, sizeof(want), "%s/wisp/vm1", g_v2);
	ck_assert_str_eq(cfg.cg_dirs[0].path, want);
	ck_assert_str_eq(cfg.props[0].value, "50000 100000");
	ck_assert_str_eq(cfg.cg_move_to, "");
	jailer_config_release(&cfg);

	/* v2 without --cgroup: move into an existing parent, as Firecracker. */
	ck_assert_int_eq(build(&cfg, XARGS("--cgroup-version", "2")), 0);
	ck_assert_str_eq(cfg.cg_move_to, "");
	snprintf(parent, sizeof(parent), "%s/wisp", g_v2);
	ck_assert_int_eq(mkdir(parent, 0755), 0);
	ck_assert_int_eq(build(&cfg, XARGS("--cgroup-version", "2")), 0);
	ck_assert_str_eq(cfg.cg_move_to, parent);
}
END_TEST

START_TEST(config_rejections)
{
	static struct jailer_config cfg;
	char path[600], base_file[1024];
	struct jailer_args a;

	/* id */
	char *bad_id[] = { "wisp-jailer", "--id", "bad_id", "--exec-file", g_exec, "--uid", "1",
			   "--gid", "1", "--chroot-base-dir", g_base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, bad_id, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	ERR_HAS("Invalid instance ID: Invalid char (_) at position 3");

	/* exec file missing / not a file */
	snprintf(path, sizeof(path), "%s/missing", g_tmp);
	char *no_exec[] = { "wisp-jailer", "--id", "vm1", "--exec-file", path, "--uid", "1",
			    "--gid", "1", "--chroot-base-dir", g_base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, no_exec, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	snprintf(base_file, sizeof(base_file), "Failed to canonicalize path %s: No such file or "
		 "directory (os error 2)", path);
	ERR_HAS(base_file);
	assert_base_empty();
	char *dir_exec[] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_base, "--uid", "1",
			     "--gid", "1", "--chroot-base-dir", g_base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, dir_exec, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	snprintf(base_file, sizeof(base_file), "%s is not a file", g_base);
	ERR_HAS(base_file);

	/* chroot base missing / not a directory */
	char *no_base[] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_exec, "--uid", "1",
			    "--gid", "1", "--chroot-base-dir", path, NULL };
	ck_assert_int_eq(jailer_parse_args(11, no_base, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	ERR_HAS("Failed to canonicalize path");
	ck_assert_int_eq(access(path, F_OK), -1);
	char *file_base[] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_exec, "--uid", "1",
			      "--gid", "1", "--chroot-base-dir", g_exec, NULL };
	ck_assert_int_eq(jailer_parse_args(11, file_base, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	snprintf(base_file, sizeof(base_file), "%s is not a directory", g_exec);
	ERR_HAS(base_file);

	/* uid / gid */
	char *bad_uid[] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_exec, "--uid", "root",
			    "--gid", "1", "--chroot-base-dir", g_base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, bad_uid, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	ERR_HAS("Invalid uid: root");
	assert_base_empty();
	char *bad_gid[] = { "wisp-jailer", "--id", "vm1", "--exec-file", g_exec, "--uid", "1",
			    "--gid", "-5", "--chroot-base-dir", g_base, NULL };
	ck_assert_int_eq(jailer_parse_args(11, bad_gid, &a), 0);
	ck_assert_int_lt(jailer_config_build(&a, g_mounts, &cfg), 0);
	ERR_HAS("Invalid gid: -5");

	/* netns */
	ck_assert_int_lt(build(&cfg, XARGS("--netns", path)), 0);
	snprintf(base_file, sizeof(base_file), "Failed to open file %s: No such file or directory "
		 "(os error 2)", path);
	ERR_HAS(base_file);
	ck_assert_int_lt(build(&cfg, XARGS("--netns", g_exec)), 0);
	ERR_HAS("Failed to join network namespace: netns:");
	ERR_HAS("is not a network namespace");

	/* parent cgroup, cgroup version */
	ck_assert_int_lt(build(&cfg, XARGS("--parent-cgroup", "../x")), 0);
	ERR_HAS("Parent cgroup path is invalid.");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup-version", "3")), 0);
	ERR_HAS("3 is an invalid cgroup version specifier");

	/* cgroups */
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "cpu.shares")), 0);
	ERR_HAS("Invalid format for cgroups: cpu.shares");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "cpuset.cpus=")), 0);
	ERR_HAS("Invalid format for cgroups: cpuset.cpus=");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "cpusetcpus=2")), 0);
	ERR_HAS("Cgroup invalid file: cpusetcpus");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "../cpu.shares=2")), 0);
	ERR_HAS("Cgroup invalid file: ../cpu.shares");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "memory.max=5")), 0);
	ERR_HAS("Controller memory is unavailable");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup-version", "2", "--cgroup", "hugetlb.2MB.max=0")), 0);
	ERR_HAS("Controller hugetlb is unavailable");

	/* resource limits */
	ck_assert_int_lt(build(&cfg, XARGS("--resource-limit", "fsize")), 0);
	ERR_HAS("Invalid format for resources limits: fsize");
	ck_assert_int_lt(build(&cfg, XARGS("--resource-limit", "cpu=5")), 0);
	ERR_HAS("Invalid resource argument: cpu");
	ck_assert_int_lt(build(&cfg, XARGS("--resource-limit", "no-file=lots")), 0);
	ERR_HAS("Invalid limit value for resource: lots: invalid digit found in string");
}
END_TEST

START_TEST(config_hierarchy_missing)
{
	static struct jailer_config cfg;

	write_file(g_mounts, "proc /proc proc rw 0 0\n");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup", "cpu.shares=2")), 0);
	ERR_HAS("Hierarchy not found: No hierarchy found for this cgroup version.");
	ck_assert_int_lt(build(&cfg, XARGS("--cgroup-version", "2")), 0);
	ERR_HAS("Hierarchy not found: No hierarchy found for this cgroup version.");
	/* v1 without --cgroup needs no hierarchy at all. */
	ck_assert_int_eq(build(&cfg, NULL), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_args");
	TCase *tc = tcase_create("parse");
	TCase *tf = tcase_create("config");

	tcase_add_test(tc, parse_full_and_defaults);
	tcase_add_test(tc, parse_help_version);
	tcase_add_test(tc, parse_rejections);
	tcase_add_test(tc, validate_id);
	tcase_add_test(tc, validate_uid_gid_version_parent);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tf, setup, teardown);
	tcase_add_test(tf, config_ok);
	tcase_add_test(tf, config_cgroups_v1);
	tcase_add_test(tf, config_cgroups_v2);
	tcase_add_test(tf, config_rejections);
	tcase_add_test(tf, config_hierarchy_missing);
	suite_add_tcase(s, tf);
	return check_run_suite(s);
}
