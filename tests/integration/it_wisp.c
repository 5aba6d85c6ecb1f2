/* SPDX-License-Identifier: Apache-2.0 */
/* it_wisp.c — see it_wisp.h. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_virtio_util.h"
#include "it_wisp.h"

#define START_MS 20000

void wisp_spawn(struct wisp *w, const char *sock, const char *id, const char *in_ns)
{
	const char *argv[20];
	int i = 0;

	memset(w, 0, sizeof(*w));
	snprintf(w->sock, sizeof(w->sock), "%s", sock);
	if (in_ns)
		i = netns_exec_prefix(argv, in_ns);
	argv[i++] = build_path("wisp");
	argv[i++] = "--api-sock";
	argv[i++] = w->sock;
	if (id) {
		argv[i++] = "--id";
		argv[i++] = id;
	}
	argv[i++] = "--level";
	argv[i++] = "Info";
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w->p, (char *const *)argv), 0);
	/* Wait for the socket, or for the process to end (its pipes close). */
	for (int t = 0; t < START_MS / 150; t++) {
		if (api_wait_socket(w->sock, 100))
			break;
		proc_wait_for(&w->p, "\x01never", 50);
		if (w->p.out_fd < 0 && w->p.err_fd < 0)
			break;
	}
	if (access(w->sock, F_OK) != 0) {
		proc_finish(&w->p, 1000);
		ck_abort_msg("wisp did not open its socket\nstdout:\n%s\nstderr:\n%s", w->p.out.data,
			     w->p.err.data);
	}
	api_client_init(&w->c, w->sock);
	w->up = true;
}

void wisp_free(struct wisp *w)
{
	if (!w->p.exited) {
		proc_signal(&w->p, SIGKILL);
		proc_finish(&w->p, 10000);
	}
	if (w->up)
		api_client_free(&w->c);
	w->up = false;
	proc_free(&w->p);
}
