/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api_client.h — a small client of wisp's API socket for integration tests
 * and benchmarks: libcurl over a Unix socket (one handle = one keep-alive
 * connection), plus raw-socket helpers for what libcurl will not send.
 */
#ifndef WISP_TEST_API_CLIENT_H
#define WISP_TEST_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct api_client {
	void *curl;            /* CURL * */
	char sock[256];
	char *body;            /* last response body (NUL-terminated, "" if none) */
	size_t len, cap;
	long connects;         /* new connections libcurl made so far */
};

/* Wait until `sock` accepts connections (or timeout). */
bool api_wait_socket(const char *sock, int timeout_ms);

void api_client_init(struct api_client *c, const char *sock);
void api_client_free(struct api_client *c);
/* One request; `body` NULL sends none (GET) or an empty one (PUT/PATCH).
 * Returns the HTTP status, or -1 on a transport error (c->body says why).
 * The response body is in c->body. */
long api_call(struct api_client *c, const char *method, const char *path, const char *body);
/* Same, on a fresh connection. */
long api_call_once(const char *sock, const char *method, const char *path, const char *body,
		   char **resp_body);

/* Raw bytes over a new connection; reads until the peer closes, one full
 * response has arrived, or timeout_ms. Returns the bytes read (malloc'd). */
char *api_raw(const char *sock, const void *req, size_t len, int timeout_ms);
/* Status code of a raw "HTTP/1.1 NNN" response, or -1. */
int api_raw_status(const char *resp);

#endif
