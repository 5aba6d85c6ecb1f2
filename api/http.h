/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h — a small, strict, incremental HTTP/1.1 request parser and response
 * writer (private to api/). Pure: no sockets. See docs/api.md "HTTP layer".
 *
 * Feed bytes as they arrive (any split), then call http_parser_next() until
 * it says HTTP_NEED_MORE. Pipelined requests come out one at a time. After
 * HTTP_ERROR the parser is dead: answer the error and close the connection.
 */
#ifndef WISP_API_HTTP_H
#define WISP_API_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "api.h"

#define HTTP_MAX_HEAD    8192   /* request line + headers + blank line */
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_PATH    1024
#define HTTP_MAX_BODY_LIMIT (16u << 20)  /* largest --http-api-max-payload-size */

struct http_request {
	char method[16];
	char path[HTTP_MAX_PATH];
	bool keep_alive;
	char *body;                  /* malloc'd, NUL-terminated; NULL if empty */
	size_t body_len;
};

struct http_error {
	int status;                  /* 400 */
	char message[256];
};

struct http_parser {
	char *buf;
	size_t len, cap;
	size_t scan;                 /* where the search for the end of the head resumes */
	bool have_head;
	bool dead;
	bool continue_sent;
	size_t head_len;
	size_t content_length;
	size_t max_body;             /* body limit (API_MAX_BODY unless configured) */
	bool expect_continue;
	struct http_request cur;     /* fields of the head being completed */
};

enum http_result {
	HTTP_NEED_MORE = 0,
	HTTP_REQUEST,                /* *req filled; caller frees with http_request_free() */
	HTTP_CONTINUE,               /* send "100 Continue", then call again */
	HTTP_ERROR,                  /* *err filled; close after answering */
};

void http_parser_init(struct http_parser *p);
/* Body limit for this parser (1..HTTP_MAX_BODY_LIMIT); before feeding. */
void http_parser_set_max_body(struct http_parser *p, size_t max_body);
void http_parser_free(struct http_parser *p);
/* Bytes the parser accepts now (never more than HTTP_MAX_HEAD + max_body
 * buffered in total). */
size_t http_parser_space(const struct http_parser *p);
/* Append up to http_parser_space() bytes; returns the number taken. */
size_t http_parser_feed(struct http_parser *p, const void *data, size_t len);
enum http_result http_parser_next(struct http_parser *p, struct http_request *req,
				  struct http_error *err);
/* True if bytes of an unfinished request are buffered. */
bool http_parser_partial(const struct http_parser *p);
void http_request_free(struct http_request *req);

/* A complete response in a malloc'd buffer: status line, Server,
 * Connection, and for a body Content-Type and Content-Length. */
char *http_format_response(int status, const char *body, bool keep_alive, size_t *len);

#endif
