/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_check.h — Check assertions on API calls, for integration tests whose
 * VMM handle `w` has an api_client `c` and a struct proc `p` (the test
 * includes <check.h>, <string.h>, api_client.h and harness.h).
 */
#ifndef WISP_TEST_API_CHECK_H
#define WISP_TEST_API_CHECK_H

/* The call answers with status `want`. */
#define CALL(w, method, path, bdy, want)                                                      \
	do {                                                                                   \
		long st_ = api_call(&(w)->c, method, path, bdy);                               \
		ck_assert_msg(st_ == (want), "%s %s %s: status %ld, want %d; body: %s\nstderr:\n%s", \
			      method, path, (const char *)(bdy) ? (const char *)(bdy) : "", st_,  \
			      want, (w)->c.body, (w)->p.err.data);                              \
	} while (0)

/* A 400 whose fault_message contains `msg`. */
#define FAULT(w, method, path, bdy, msg)                                                      \
	do {                                                                                   \
		long st_ = api_call(&(w)->c, method, path, bdy);                               \
		ck_assert_msg(st_ == 400 && strstr((w)->c.body, "\"fault_message\"") &&         \
				      strstr((w)->c.body, msg),                                 \
			      "%s %s: status %ld body %s; want 400 with \"%s\"\nstderr:\n%s",     \
			      method, path, st_, (w)->c.body, msg, (w)->p.err.data);            \
	} while (0)

#endif
