/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_jailer_paths.c — the paths wisp-jailer builds and the argv it gives
 * the jailed binary.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "jailer/jailer.h"

START_TEST(exec_name)
{
	char out[64];

	ck_assert_int_eq(jailer_exec_name("/usr/bin/wisp", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "wisp");
	ck_assert_int_eq(jailer_exec_name("wisp", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "wisp");
	ck_assert_int_lt(jailer_exec_name("/usr/bin/", out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(jailer_last_error(),
				     "Failed to extract filename from path /usr/bin/"));
	ck_assert_int_lt(jailer_exec_name("/", out, sizeof(out)), 0);
	ck_assert_int_lt(jailer_exec_name("/a/verylongname", out, 5), 0);
	ck_assert_ptr_nonnull(strstr(jailer_last_error(), "File name too long: verylongname"));
}
END_TEST

START_TEST(chroot_path)
{
	char out[128];

	ck_assert_int_eq(jailer_chroot_path("/srv/jailer", "wisp", "vm1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/srv/jailer/wisp/vm1/root");
	ck_assert_int_eq(jailer_chroot_path("/srv/jailer/", "wisp", "vm1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/srv/jailer/wisp/vm1/root");
	ck_assert_int_eq(jailer_chroot_path("/", "wisp", "vm1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/wisp/vm1/root");
	ck_assert_int_lt(jailer_chroot_path("/srv/jailer", "wisp", "vm1", out, 20), 0);
	ck_assert_ptr_nonnull(strstr(jailer_last_error(), "Path too long"));
}
END_TEST

START_TEST(path_join)
{
	char out[16];

	ck_assert_int_eq(jailer_path_join(out, sizeof(out), "/a//", "b"), 0);
	ck_assert_str_eq(out, "/a/b");
	ck_assert_int_eq(jailer_path_join(out, sizeof(out), "/", "b"), 0);
	ck_assert_str_eq(out, "/b");
	ck_assert_int_lt(jailer_path_join(out, sizeof(out), "/0123456789", "abcdef"), 0);
}
END_TEST

START_TEST(exec_argv)
{
	static struct jailer_config cfg;
	char *extra[] = { "--api-sock", "/run/api.sock", NULL };
	char buf[256], *argv[16];
	int n;

	strcpy(cfg.exec_name, "wisp");
	strcpy(cfg.id, "vm1");
	cfg.start_time_us = 1234;
	cfg.extra = extra;
	cfg.n_extra = 2;
	n = jailer_exec_argv(&cfg, 55, 66, buf, sizeof(buf), argv, 16);
	ck_assert_int_eq(n, 11);
	ck_assert_str_eq(argv[0], "/wisp");
	ck_assert_str_eq(argv[1], "--id");
	ck_assert_str_eq(argv[2], "vm1");
	ck_assert_str_eq(argv[3], "--start-time-us");
	ck_assert_str_eq(argv[4], "1234");
	ck_assert_str_eq(argv[5], "--start-time-cpu-us");
	ck_assert_str_eq(argv[6], "55");
	ck_assert_str_eq(argv[7], "--parent-cpu-time-us");
	ck_assert_str_eq(argv[8], "66");
	ck_assert_str_eq(argv[9], "--api-sock");
	ck_assert_str_eq(argv[10], "/run/api.sock");
	ck_assert_ptr_null(argv[11]);
	/* Too little room is an error, not an overflow. */
	ck_assert_int_lt(jailer_exec_argv(&cfg, 55, 66, buf, sizeof(buf), argv, 11), 0);
	ck_assert_int_lt(jailer_exec_argv(&cfg, 55, 66, buf, 8, argv, 16), 0);
	ck_assert_ptr_nonnull(strstr(jailer_last_error(), "Exec arguments too long"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("jailer_paths");
	TCase *tc = tcase_create("paths");

	tcase_add_test(tc, exec_name);
	tcase_add_test(tc, chroot_path);
	tcase_add_test(tc, path_join);
	tcase_add_test(tc, exec_argv);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
