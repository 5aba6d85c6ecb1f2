/* SPDX-License-Identifier: Apache-2.0 */
/* route.h — map a method, path and body to a typed request (private to api/). */
#ifndef WISP_API_ROUTE_H
#define WISP_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

/* Returns 1 when *req must go to the VMM thread, 0 when *resp already holds
 * the answer (an error, or GET /version which the api thread answers). */
int api_route(const char *method, const char *path, const char *body, size_t body_len,
	      struct api_request *req, struct api_response *resp);

/* Log Firecracker's line for a request the api thread received ("The API
 * server received a Put request on \"/x\" with body \"...\"."), at info. */
void api_log_request(const char *method, const char *path, const char *body, size_t len);
/* Before an answer is written: log Firecracker's outcome line ("The request
 * was executed successfully. Status code: 204 No Content." or "Received
 * Error. Status code: 400 Bad Request. Message: ..."), and for a request
 * that used a deprecated field its warning, marking resp->deprecation. */
void api_log_response(const struct api_request *req, struct api_response *resp);

/* The spec's paths that wisp does not implement (NULL-terminated; "{id}"
 * stands for one path segment). Listed in docs/api.md too. */
extern const char *const api_unsupported_paths[];
/* Is `path` one of them? */
bool api_path_unsupported(const char *path);

#endif
