/* SPDX-License-Identifier: Apache-2.0 */
/*
 * check_main.h — the end of every Check test program's main() (tests/unit,
 * tests/integration): run a suite with srunner in CK_NORMAL mode and turn
 * the number of failed tests into the exit code.
 */
#ifndef WISP_TEST_CHECK_MAIN_H
#define WISP_TEST_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Run every test of s (the runner takes s and frees it): EXIT_SUCCESS when
 * none failed, EXIT_FAILURE otherwise. */
static inline int check_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
