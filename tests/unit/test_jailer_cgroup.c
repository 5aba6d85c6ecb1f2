/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_cgroup.c — cgroup "<file>=<value>" parsing, /proc/mounts
 * parsing and hierarchy lookup, cgroup.controllers lists, and resource
 * limit parsing.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "jailer/jailer.h"

#define ERR_HAS(msg) ck_assert_msg(strstr(jailer_last_error(), msg), \
	"got '%s', want '%s'", jailer_last_error(), msg)

START_TEST(cgroup_arg_ok)
{
	struct jailer_cgroup_prop p;

	ck_assert_int_eq(jailer_parse_cgroup_arg("cpuset.cpus=2-4,5.3", &p), 0);
	ck_assert_str_eq(p.file, "cpuset.cpus");
	ck_assert_str_eq(p.controller, "cpuset");
	ck_assert_str_eq(p.value, "2-4,5.3");
	ck_assert_int_eq(jailer_parse_cgroup_arg("memory.swap.high=2", &p), 0);
	ck_assert_str_eq(p.controller, "memory");
	ck_assert_str_eq(p.file, "memory.swap.high");
	ck_assert_int_eq(jailer_parse_cgroup_arg("cpu.max=50000 100000", &p), 0);
	ck_assert_str_eq(p.value, "50000 100000");
	ck_assert_int_eq(jailer_parse_cgroup_arg("hugetlb.2MB.max=0", &p), 0);
	ck_assert_str_eq(p.controller, "hugetlb");
}
END_TEST

START_TEST(cgroup_arg_rejections)
{
	static const struct { const char *arg, *msg; } bad[] = {
		{ "", "Invalid format for cgroups: " },
		{ "cpuset.cpus", "Invalid format for cgroups: cpuset.cpus" },
		{ "cpuset.cpus=", "Invalid format for cgroups: cpuset.cpus=" },
		{ "cpu.shares=1=2", "Invalid format for cgroups: cpu.shares=1=2" },
		{ "cpu.shares=1\n2", "Invalid format for cgroups: cpu.shares=1" },
		{ "=5", "Cgroup invalid file: " },
		{ "cpusetcpus=2", "Cgroup invalid file: cpusetcpus" },
		{ ".cpus=2", "Cgroup invalid file: .cpus" },
		{ "cpuset.=2", "Cgroup invalid file: cpuset." },
		{ "../cpu.shares=2", "Cgroup invalid file: ../cpu.shares=2" },
		{ "cpu/../tasks.x=1", "Cgroup invalid file: cpu/../tasks.x=1" },
		{ "/etc/passwd.x=1", "Cgroup invalid file: /etc/passwd.x=1" },
		{ "cpu shares.x=1", "Cgroup invalid file: cpu shares.x" },
	};
	struct jailer_cgroup_prop p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(jailer_parse_cgroup_arg(bad[i].arg, &p) < 0, "accepted '%s'",
			      bad[i].arg);
		ERR_HAS(bad[i].msg);
	}
}
END_TEST

static const char *MOUNTS =
	"sysfs /sys sysfs rw,nosuid 0 0\n"
	"tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
	"cgroup /sys/fs/cgroup/cpu,cpuacct cgroup rw,nosuid,nodev,noexec,relatime,cpu,cpuacct 0 0\n"
	"cgroup /sys/fs/cgroup/cpuset cgroup rw,relatime,cpuset 0 0\n"
	"cgroup /sys/fs/cgroup/systemd cgroup rw,relatime,name=systemd 0 0\n"
	"cgroup2 /sys/fs/cgroup/unified cgroup2 rw,nosuid,nodev,noexec,relatime,nsdelegate 0 0\n"
	"cgroup /mnt/with\\040space cgroup rw,memory 0 0\n"
	"cgroup2 /second cgroup2 rw 0 0";  /* no trailing newline */

START_TEST(mounts_parse)
{
	static struct jailer_cgroup_mounts m;

	ck_assert_int_eq(jailer_cgroup_mounts_parse(MOUNTS, &m), 6);
	ck_assert_str_eq(m.m[0].dir, "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_int_eq(m.m[0].version, 1);
	ck_assert_int_eq(m.m[3].version, 2);
	ck_assert_str_eq(m.m[4].dir, "/mnt/with space");
	ck_assert_str_eq(jailer_cgroup_v1_dir(&m, "cpu"), "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_str_eq(jailer_cgroup_v1_dir(&m, "cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
	ck_assert_str_eq(jailer_cgroup_v1_dir(&m, "cpuset"), "/sys/fs/cgroup/cpuset");
	ck_assert_str_eq(jailer_cgroup_v1_dir(&m, "memory"), "/mnt/with space");
	/* Option words are matched whole: "relatime" is no controller "time". */
	ck_assert_ptr_null(jailer_cgroup_v1_dir(&m, "time"));
	ck_assert_ptr_null(jailer_cgroup_v1_dir(&m, "pids"));
	ck_assert_ptr_null(jailer_cgroup_v1_dir(&m, ""));
	ck_assert_str_eq(jailer_cgroup_v2_dir(&m), "/sys/fs/cgroup/unified");

	ck_assert_int_eq(jailer_cgroup_mounts_parse("", &m), 0);
	ck_assert_ptr_null(jailer_cgroup_v2_dir(&m));
	ck_assert_ptr_null(jailer_cgroup_v1_dir(&m, "cpu"));
	/* Garbage lines are skipped, never crash. */
	ck_assert_int_eq(jailer_cgroup_mounts_parse("cgroup\n\n   \ncgroup2 relative cgroup2 rw 0 0\n"
						    "x /ok cgroup2\n", &m), 1);
	ck_assert_str_eq(jailer_cgroup_v2_dir(&m), "/ok");
}
END_TEST

START_TEST(word_list)
{
	ck_assert(jailer_word_in_list("cpuset cpu io memory hugetlb pids\n", "cpu"));
	ck_assert(jailer_word_in_list("cpuset cpu io memory hugetlb pids\n", "pids"));
	ck_assert(!jailer_word_in_list("cpuset cpu io memory\n", "cpus"));
	ck_assert(!jailer_word_in_list("cpuset io\n", "cpu"));
	ck_assert(!jailer_word_in_list("", "cpu"));
	ck_assert(!jailer_word_in_list("cpu", ""));
}
END_TEST

START_TEST(rlimits)
{
	struct jailer_rlimits rl;

	jailer_rlimits_init(&rl);
	ck_assert_uint_eq(rl.no_file, 2048);
	ck_assert(!rl.has_fsize);
	ck_assert_int_eq(jailer_parse_rlimit("fsize=250000000", &rl), 0);
	ck_assert(rl.has_fsize);
	ck_assert_uint_eq(rl.fsize, 250000000);
	ck_assert_int_eq(jailer_parse_rlimit("no-file=1024", &rl), 0);
	ck_assert_uint_eq(rl.no_file, 1024);
	ck_assert_int_eq(jailer_parse_rlimit("fsize=18446744073709551615", &rl), 0);
	ck_assert_uint_eq(rl.fsize, UINT64_MAX);

	static const struct { const char *arg, *msg; } bad[] = {
		{ "", "Invalid format for resources limits: " },
		{ "foo", "Invalid format for resources limits: foo" },
		{ "foo=2", "Invalid resource argument: foo" },
		{ "=2", "Invalid resource argument: " },
		{ " =2", "Invalid resource argument:  " },
		{ "fsize=foo", "Invalid limit value for resource: foo: invalid digit found in string" },
		{ "fsize=2.3", "Invalid limit value for resource: 2.3: invalid digit found in string" },
		{ "fsize=2-3", "Invalid limit value for resource: 2-3: invalid digit found in string" },
		{ "fsize= ", "Invalid limit value for resource:  : invalid digit found in string" },
		{ "fsize=-1", "Invalid limit value for resource: -1: invalid digit found in string" },
		{ "fsize=", "Invalid limit value for resource: : cannot parse integer from empty string" },
		{ "no-file=18446744073709551616",
		  "number too large to fit in target type" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(jailer_parse_rlimit(bad[i].arg, &rl) < 0, "accepted '%s'", bad[i].arg);
		ERR_HAS(bad[i].msg);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_cgroup");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, cgroup_arg_ok);
	tcase_add_test(tc, cgroup_arg_rejections);
	tcase_add_test(tc, mounts_parse);
	tcase_add_test(tc, word_list);
	tcase_add_test(tc, rlimits);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
