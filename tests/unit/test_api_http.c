/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_http.c — the incremental HTTP/1.1 request parser. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "api/http.h"

struct result {
	int nreq;
	int ncontinue;
	bool error;
	char errmsg[256];
	struct http_request reqs[8];
};

static void results_free(struct result *r)
{
	for (int i = 0; i < r->nreq && i < 8; i++)
		http_request_free(&r->reqs[i]);
}

/* Feed `in` in pieces of `chunk` bytes (or split once at `split` if chunk 0),
 * draining the parser after each piece. */
static void run(const char *in, size_t len, size_t split, size_t chunk, struct result *r)
{
	struct http_parser p;
	http_parser_init(&p);
	memset(r, 0, sizeof(*r));
	size_t off = 0;
	while (off < len && !r->error) {
		size_t n = chunk ? chunk : (off == 0 ? split : len - off);
		if (n > len - off)
			n = len - off;
		size_t took = http_parser_feed(&p, in + off, n);
		off += took;
		for (;;) {
			struct http_request req;
			struct http_error err;
			enum http_result res = http_parser_next(&p, &req, &err);
			if (res == HTTP_NEED_MORE)
				break;
			if (res == HTTP_CONTINUE) {
				r->ncontinue++;
				continue;
			}
			if (res == HTTP_ERROR) {
				r->error = true;
				ck_assert_int_eq(err.status, 400);
				snprintf(r->errmsg, sizeof(r->errmsg), "%s", err.message);
				break;
			}
			if (r->nreq < 8)
				r->reqs[r->nreq] = req;
			else
				http_request_free(&req);
			r->nreq++;
		}
		if (took == 0 && !r->error)
			break;
	}
	http_parser_free(&p);
}

static void run_str(const char *in, struct result *r)
{
	run(in, strlen(in), strlen(in), 0, r);
}

#define EXPECT_ERROR(in, msg)                                                              \
	do {                                                                                \
		struct result r_;                                                           \
		run_str(in, &r_);                                                           \
		ck_assert_msg(r_.error, "no error for %s", in);                              \
		ck_assert_msg(strstr(r_.errmsg, msg), "error '%s' lacks '%s'", r_.errmsg, msg); \
		results_free(&r_);                                                          \
	} while (0)

static const char put_req[] =
	"PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
	"Content-Length: 38\r\n\r\n{\"vcpu_count\": 2, \"mem_size_mib\": 256}";

START_TEST(simple_get)
{
	struct result r;
	run_str("GET / HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n", &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.nreq, 1);
	ck_assert_str_eq(r.reqs[0].method, "GET");
	ck_assert_str_eq(r.reqs[0].path, "/");
	ck_assert(r.reqs[0].keep_alive);
	ck_assert_ptr_null(r.reqs[0].body);
	results_free(&r);
}
END_TEST

START_TEST(put_with_body)
{
	struct result r;
	run_str(put_req, &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.nreq, 1);
	ck_assert_str_eq(r.reqs[0].method, "PUT");
	ck_assert_str_eq(r.reqs[0].path, "/machine-config");
	ck_assert_uint_eq(r.reqs[0].body_len, 38);
	ck_assert_str_eq(r.reqs[0].body, "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");
	results_free(&r);
}
END_TEST

/* Every split position, and byte-by-byte, gives the same single request. */
START_TEST(split_everywhere)
{
	size_t len = strlen(put_req);
	for (size_t split = 1; split < len; split++) {
		struct result r;
		run(put_req, len, split, 0, &r);
		ck_assert_msg(!r.error && r.nreq == 1, "split at %zu: %s", split, r.errmsg);
		ck_assert_str_eq(r.reqs[0].body, "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");
		results_free(&r);
	}
	struct result r;
	run(put_req, len, 0, 1, &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.nreq, 1);
	results_free(&r);
}
END_TEST

START_TEST(pipelining)
{
	char in[4096];
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		n += (size_t)sprintf(in + n, "%s", put_req);
	n += (size_t)sprintf(in + n, "GET /version HTTP/1.1\r\n\r\n");
	n += (size_t)sprintf(in + n, "PATCH /vm HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}");
	for (size_t chunk = 1; chunk <= n; chunk = chunk * 3 + 1) {
		struct result r;
		run(in, n, 0, chunk, &r);
		ck_assert_msg(!r.error, "chunk %zu: %s", chunk, r.errmsg);
		ck_assert_int_eq(r.nreq, 5);
		ck_assert_str_eq(r.reqs[2].body, "{\"vcpu_count\": 2, \"mem_size_mib\": 256}");
		ck_assert_str_eq(r.reqs[3].path, "/version");
		ck_assert_str_eq(r.reqs[4].method, "PATCH");
		ck_assert_str_eq(r.reqs[4].body, "{}");
		ck_assert(!r.reqs[4].keep_alive);
		results_free(&r);
	}
}
END_TEST

START_TEST(keep_alive_rules)
{
	struct result r;
	run_str("GET / HTTP/1.0\r\n\r\n", &r);
	ck_assert_int_eq(r.nreq, 1);
	ck_assert(!r.reqs[0].keep_alive);
	results_free(&r);
	run_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r);
	ck_assert(r.reqs[0].keep_alive);
	results_free(&r);
	run_str("GET / HTTP/1.1\r\nconnection: foo, close\r\n\r\n", &r);
	ck_assert(!r.reqs[0].keep_alive);
	results_free(&r);
	/* Leading empty lines are ignored. */
	run_str("\r\n\r\nGET / HTTP/1.1\r\n\r\n", &r);
	ck_assert_int_eq(r.nreq, 1);
	results_free(&r);
}
END_TEST

START_TEST(expect_continue)
{
	const char *head = "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
	struct result r;
	run_str(head, &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.ncontinue, 1);
	ck_assert_int_eq(r.nreq, 0);
	char full[256];
	snprintf(full, sizeof(full), "%sabcde", head);
	run(full, strlen(full), strlen(head), 0, &r);
	ck_assert_int_eq(r.ncontinue, 1);
	ck_assert_int_eq(r.nreq, 1);
	ck_assert_str_eq(r.reqs[0].body, "abcde");
	results_free(&r);
	/* Body already there: no 100 needed. */
	run_str(full, &r);
	ck_assert_int_eq(r.ncontinue, 0);
	ck_assert_int_eq(r.nreq, 1);
	results_free(&r);
	EXPECT_ERROR("PUT / HTTP/1.1\r\nExpect: something\r\n\r\n", "Unsupported Expect");
}
END_TEST

/* --http-api-max-payload-size: the limit is per parser. */
START_TEST(configured_body_limit)
{
	static const char small[] = "PUT /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
	static const char fits[] = "PUT /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n";
	struct http_parser p;
	struct http_request req;
	struct http_error err;
	char body[100];

	http_parser_init(&p);
	http_parser_set_max_body(&p, 100);
	ck_assert_uint_eq(http_parser_space(&p), HTTP_MAX_HEAD + 100);
	http_parser_feed(&p, small, sizeof(small) - 1);
	ck_assert_int_eq(http_parser_next(&p, &req, &err), HTTP_ERROR);
	ck_assert_str_eq(err.message, "Request payload with size 101 is larger than the limit of 100 "
				      "allowed by server.");
	http_parser_free(&p);

	http_parser_init(&p);
	http_parser_set_max_body(&p, 100);
	memset(body, 'b', sizeof(body));
	http_parser_feed(&p, fits, sizeof(fits) - 1);
	http_parser_feed(&p, body, sizeof(body));
	ck_assert_int_eq(http_parser_next(&p, &req, &err), HTTP_REQUEST);
	ck_assert_uint_eq(req.body_len, 100);
	http_request_free(&req);
	http_parser_free(&p);

	/* out-of-range limits are ignored: the default stays */
	http_parser_init(&p);
	http_parser_set_max_body(&p, 0);
	http_parser_set_max_body(&p, HTTP_MAX_BODY_LIMIT + 1);
	ck_assert_uint_eq(p.max_body, API_MAX_BODY);
	http_parser_free(&p);
}
END_TEST

START_TEST(oversize)
{
	EXPECT_ERROR("PUT /drives/a HTTP/1.1\r\nContent-Length: 51201\r\n\r\n",
		     "Request payload with size 51201 is larger than the limit of 51200 allowed by server.");
	EXPECT_ERROR("PUT /drives/a HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
		     "Invalid Content-Length");
	/* Exactly the limit is fine. */
	size_t n = API_MAX_BODY;
	char *in = malloc(n + 128);
	int h = sprintf(in, "PUT /x HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
	memset(in + h, 'a', n);
	struct result r;
	run(in, (size_t)h + n, 0, 7000, &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.nreq, 1);
	ck_assert_uint_eq(r.reqs[0].body_len, n);
	results_free(&r);
	free(in);
	/* Header section over the limit, with or without its end. */
	char *big = malloc(HTTP_MAX_HEAD + 200);
	h = sprintf(big, "GET / HTTP/1.1\r\nX-Big: ");
	memset(big + h, 'x', HTTP_MAX_HEAD);
	big[h + HTTP_MAX_HEAD] = '\0';
	EXPECT_ERROR(big, "Request header section too large");
	strcpy(big + h + HTTP_MAX_HEAD - 100, "\r\n\r\n");
	struct result r2;
	run_str(big, &r2);
	ck_assert(!r2.error);  /* fits: about 8 KiB - 70 */
	results_free(&r2);
	free(big);
	/* Too many headers. */
	char many[4096];
	int m = sprintf(many, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		m += sprintf(many + m, "X%d: y\r\n", i);
	sprintf(many + m, "\r\n");
	EXPECT_ERROR(many, "Too many header fields");
	char path[HTTP_MAX_PATH + 64];
	m = sprintf(path, "GET /");
	memset(path + m, 'p', HTTP_MAX_PATH);
	strcpy(path + m + HTTP_MAX_PATH, " HTTP/1.1\r\n\r\n");
	EXPECT_ERROR(path, "Request target too long");
}
END_TEST

START_TEST(garbage)
{
	EXPECT_ERROR("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "control character");
	EXPECT_ERROR("GET\r\n\r\n", "invalid method");
	EXPECT_ERROR("GET /\r\n\r\n", "missing request target or version");
	EXPECT_ERROR("GET  / HTTP/1.1\r\n\r\n", "missing request target or version");
	EXPECT_ERROR("GET / HTTP/1.1 \r\n\r\n", "HTTP version");
	EXPECT_ERROR("GET / HTTP/2.0\r\n\r\n", "Unsupported HTTP version");
	EXPECT_ERROR("GET / FTP/1.1\r\n\r\n", "invalid HTTP version");
	EXPECT_ERROR("GET http://localhost/ HTTP/1.1\r\n\r\n", "absolute path");
	EXPECT_ERROR("G(T / HTTP/1.1\r\n\r\n", "invalid method");
	EXPECT_ERROR("GET / HTTP/1.1\nHost: x\n\n\r\n\r\n", "CRLF");
	EXPECT_ERROR("GET / HTTP/1.1\r\nHost x\r\n\r\n", "invalid field name");
	EXPECT_ERROR("GET / HTTP/1.1\r\nHost : x\r\n\r\n", "invalid field name");
	EXPECT_ERROR("GET / HTTP/1.1\r\n: x\r\n\r\n", "invalid field name");
	EXPECT_ERROR("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "line folding");
	EXPECT_ERROR("GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "invalid character");
	EXPECT_ERROR("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", "bare CR");
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "Invalid Content-Length");
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "Invalid Content-Length");
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", "Invalid Content-Length");
	EXPECT_ERROR("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
		     "Conflicting Content-Length");
	EXPECT_ERROR("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		     "Transfer-Encoding (\"chunked\") is not supported");
	/* Identical duplicate Content-Length is tolerated (RFC 9110 8.6). */
	struct result r;
	run_str("PUT / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}", &r);
	ck_assert(!r.error);
	ck_assert_int_eq(r.nreq, 1);
	results_free(&r);
	/* An error poisons the parser: nothing after it is parsed. */
	run_str("BAD\r\n\r\nGET / HTTP/1.1\r\n\r\n", &r);
	ck_assert(r.error);
	ck_assert_int_eq(r.nreq, 0);
}
END_TEST

START_TEST(feed_limits)
{
	struct http_parser p;
	http_parser_init(&p);
	ck_assert_uint_eq(http_parser_space(&p), (HTTP_MAX_HEAD + API_MAX_BODY));
	char *junk = calloc(1, (HTTP_MAX_HEAD + API_MAX_BODY) + 10);
	memset(junk, 'a', (HTTP_MAX_HEAD + API_MAX_BODY) + 10);
	ck_assert_uint_eq(http_parser_feed(&p, junk, (HTTP_MAX_HEAD + API_MAX_BODY) + 10), (HTTP_MAX_HEAD + API_MAX_BODY));
	ck_assert_uint_eq(http_parser_space(&p), 0);
	struct http_request req;
	struct http_error err;
	ck_assert_int_eq(http_parser_next(&p, &req, &err), HTTP_ERROR);
	ck_assert_uint_eq(http_parser_feed(&p, junk, 1), 0);
	free(junk);
	http_parser_free(&p);
}
END_TEST

START_TEST(format_response)
{
	size_t len;
	char *s = http_format_response(204, NULL, true, &len);
	ck_assert_str_eq(s, "HTTP/1.1 204 No Content\r\nServer: wisp API\r\nConnection: keep-alive\r\n\r\n");
	ck_assert_uint_eq(len, strlen(s));
	free(s);
	s = http_format_response(400, "{\"fault_message\":\"x\"}", false, &len);
	ck_assert(strstr(s, "HTTP/1.1 400 Bad Request\r\n") == s);
	ck_assert(strstr(s, "Connection: close\r\n"));
	ck_assert(strstr(s, "Content-Length: 21\r\n\r\n{\"fault_message\":\"x\"}"));
	free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_http");
	TCase *tc = tcase_create("parser");
	tcase_add_test(tc, simple_get);
	tcase_add_test(tc, configured_body_limit);
	tcase_add_test(tc, put_with_body);
	tcase_add_test(tc, split_everywhere);
	tcase_add_test(tc, pipelining);
	tcase_add_test(tc, keep_alive_rules);
	tcase_add_test(tc, expect_continue);
	tcase_add_test(tc, oversize);
	tcase_add_test(tc, garbage);
	tcase_add_test(tc, feed_limits);
	tcase_add_test(tc, format_response);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
