/* SPDX-License-Identifier: Apache-2.0 */
/*
 * it_wisp.h — a build/wisp process driven through its API socket, for the
 * integration tests of snapshots (test_snapshot, test_uffd, test_wset).
 * The test includes <check.h>; failures are Check assertions.
 */
#ifndef WISP_TEST_IT_WISP_H
#define WISP_TEST_IT_WISP_H

#include <stdbool.h>

#include "api_client.h"
#include "harness.h"

struct wisp {
	struct proc p;          /* stdin open: the guest's serial input */
	char sock[200];
	struct api_client c;
	bool up;
};

/* Start build/wisp --api-sock sock [--id id] --level Info (and
 * --no-seccomp when WISP_IT_NO_SECCOMP is set), inside network namespace
 * in_ns unless NULL, and wait (up to 20 s) until the socket accepts. */
void wisp_spawn(struct wisp *w, const char *sock, const char *id, const char *in_ns);
/* SIGKILL if still running, then release everything. */
void wisp_free(struct wisp *w);

#endif
