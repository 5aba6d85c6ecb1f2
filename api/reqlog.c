/* SPDX-License-Identifier: Apache-2.0 */
/*
 * reqlog.c — Firecracker's api_server log lines for each request and its
 * answer, and its deprecation warning (route.h: api_log_request(),
 * api_log_response()). Kept out of route.c so that route.c stays free of
 * the logger (the fuzz targets link it alone).
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "route.h"

/* Rust's {:?} of a string (Firecracker's log shows the body so), at most
 * `max` bytes of it; "..." marks a cut. */
static void debug_quote(const char *s, size_t n, char *buf, size_t size, size_t max)
{
	size_t o = 0;
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 12 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (i >= max) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		switch (c) {
		case '"': buf[o++] = '\\'; buf[o++] = '"'; break;
		case '\\': buf[o++] = '\\'; buf[o++] = '\\'; break;
		case '\n': buf[o++] = '\\'; buf[o++] = 'n'; break;
		case '\r': buf[o++] = '\\'; buf[o++] = 'r'; break;
		case '\t': buf[o++] = '\\'; buf[o++] = 't'; break;
		case '\0': buf[o++] = '\\'; buf[o++] = '0'; break;
		default:
			if (c < 0x20 || c == 0x7f)
				o += (size_t)snprintf(buf + o, size - o, "\\u{%x}", c);
			else
				buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* Firecracker logs these with its *_unrestricted macros, and clients wait
 * for them (test_logging.py, test_api.py), so they are not rate-limited:
 * only the API client, which the host trusts, can cause them, never a guest.
 * Like every log line they go to a non-blocking --log-path/PUT /logger
 * destination (a full pipe drops and counts); stderr is the caller's to drain. */
#define API_LOG(level, ...) log_msg(level, __FILE__, __LINE__, __VA_ARGS__)

void api_log_request(const char *method, const char *path, const char *body, size_t len)
{
	/* Firecracker prints the method as Rust's Debug of its enum. */
	const char *m = strcmp(method, "GET") == 0 ? "Get" : strcmp(method, "PUT") == 0 ? "Put" :
			strcmp(method, "PATCH") == 0 ? "Patch" : strcmp(method, "DELETE") == 0 ?
			"Delete" : method;
	char p[160];
	debug_quote(path, strlen(path), p, sizeof(p), 128);
	if (!body || len == 0 || strcmp(path, "/mmds") == 0) {
		API_LOG(LOG_INFO, "The API server received a %s request on %s.", m, p);
		return;
	}
	/* A CPU template is long: its body only at debug level (Firecracker). */
	if (strcmp(path, "/cpu-config") == 0 && log_get_level() < LOG_DEBUG) {
		API_LOG(LOG_INFO, "The API server received a %s request on %s. To view the CPU "
			"template received by the API, configure log-level to DEBUG.", m, p);
		return;
	}
	char b[1600];
	debug_quote(body, len, b, sizeof(b), 1400);
	API_LOG(LOG_INFO, "The API server received a %s request on %s with body %s.", m,
			 p, b);
}

void api_log_response(const struct api_request *req, struct api_response *resp)
{
	int status = resp->status ? resp->status : 400;
	if (status == 204)
		API_LOG(LOG_INFO, "The request was executed successfully. Status code: 204 "
				 "No Content.");
	else if (status == 200)
		API_LOG(LOG_INFO, "The request was executed successfully. Status code: 200 "
				 "OK.");
	else if (resp->body) {
		/* The fault_message, as Firecracker logs it. */
		json_t *o = json_loads(resp->body, 0, NULL);
		const char *fm = json_string_value(json_object_get(o, "fault_message"));
		API_LOG(LOG_ERROR, "Received Error. Status code: %d %s. Message: %.1500s",
				 status,
			  status == 400 ? "Bad Request" : status == 413 ? "Payload Too Large" :
			  status == 408 ? "Request Timeout" : status == 503 ? "Service Unavailable" :
			  "Error", fm ? fm : resp->body);
		json_decref(o);
	}
	if (req && req->deprecation) {
		API_LOG(LOG_WARN, "%s", req->deprecation);
		resp->deprecation = true;
	}
}
