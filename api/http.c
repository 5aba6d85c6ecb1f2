/* SPDX-License-Identifier: Apache-2.0 */
/* http.c — strict incremental HTTP/1.1 request parser (pure). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

void http_parser_init(struct http_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->max_body = API_MAX_BODY;
}

void http_parser_set_max_body(struct http_parser *p, size_t max_body)
{
	if (max_body >= 1 && max_body <= HTTP_MAX_BODY_LIMIT)
		p->max_body = max_body;
}

static size_t buf_cap(const struct http_parser *p)
{
	return HTTP_MAX_HEAD + p->max_body;
}

void http_parser_free(struct http_parser *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

size_t http_parser_space(const struct http_parser *p)
{
	return p->dead ? 0 : buf_cap(p) - p->len;
}

size_t http_parser_feed(struct http_parser *p, const void *data, size_t len)
{
	size_t space = http_parser_space(p);
	if (len > space)
		len = space;
	if (!len)
		return 0;
	if (p->len + len > p->cap) {
		size_t cap = p->cap ? p->cap : 1024;
		while (cap < p->len + len)
			cap *= 2;
		if (cap > buf_cap(p))
			cap = buf_cap(p);
		char *nb = realloc(p->buf, cap);
		if (!nb)
			return 0;
		p->buf = nb;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, data, len);
	p->len += len;
	return len;
}

bool http_parser_partial(const struct http_parser *p)
{
	return p->len > 0;
}

void http_request_free(struct http_request *req)
{
	free(req->body);
	req->body = NULL;
	req->body_len = 0;
}

static enum http_result fail(struct http_parser *p, struct http_error *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum http_result fail(struct http_parser *p, struct http_error *err, const char *fmt, ...)
{
	p->dead = true;
	err->status = 400;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return HTTP_ERROR;
}

static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Does the comma-separated token list `v` (length n) contain `tok`? */
static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	size_t i = 0;
	while (i < n) {
		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < n && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

/* Parse the head [0, head_len): request line and headers. */
static enum http_result parse_head(struct http_parser *p, struct http_error *err)
{
	const char *b = p->buf;
	size_t end = p->head_len - 2;    /* index of the final CRLF (blank line) */
	size_t i = 0;
	struct http_request *r = &p->cur;
	memset(r, 0, sizeof(*r));

	/* A bare LF or CR anywhere in the head is malformed (we require CRLF). */
	for (size_t k = 0; k < p->head_len; k++) {
		if (b[k] == '\n' && (k == 0 || b[k - 1] != '\r'))
			return fail(p, err, "Malformed request: line not terminated by CRLF");
		if (b[k] == '\r' && (k + 1 >= p->head_len || b[k + 1] != '\n'))
			return fail(p, err, "Malformed request: bare CR");
	}

	/* Request line: method SP request-target SP HTTP-version CRLF */
	size_t s = i;
	while (i < end && is_tchar((unsigned char)b[i]))
		i++;
	if (i == s || i >= end || b[i] != ' ')
		return fail(p, err, "Malformed request line: invalid method");
	if (i - s >= sizeof(r->method))
		return fail(p, err, "Malformed request line: method too long");
	memcpy(r->method, b + s, i - s);
	i++;
	s = i;
	while (i < end && b[i] != ' ' && b[i] != '\r') {
		unsigned char c = (unsigned char)b[i];
		if (c <= 0x20 || c >= 0x7f)
			return fail(p, err, "Malformed request line: invalid character in the target");
		i++;
	}
	if (i == s || i >= end || b[i] != ' ')
		return fail(p, err, "Malformed request line: missing request target or version");
	if (b[s] != '/')
		return fail(p, err, "Malformed request line: the target must be an absolute path");
	if (i - s >= sizeof(r->path))
		return fail(p, err, "Request target too long (at most %d bytes)", HTTP_MAX_PATH - 1);
	memcpy(r->path, b + s, i - s);
	i++;
	s = i;
	while (i < end && b[i] != '\r')
		i++;
	bool http10;
	if (i - s == 8 && memcmp(b + s, "HTTP/1.1", 8) == 0)
		http10 = false;
	else if (i - s == 8 && memcmp(b + s, "HTTP/1.0", 8) == 0)
		http10 = true;
	else if (i - s >= 5 && memcmp(b + s, "HTTP/", 5) == 0)
		return fail(p, err, "Unsupported HTTP version (HTTP/1.1 or HTTP/1.0 only)");
	else
		return fail(p, err, "Malformed request line: invalid HTTP version");
	r->keep_alive = !http10;
	i += 2;     /* CRLF */

	/* Header fields. */
	bool have_cl = false;
	unsigned nheaders = 0;
	while (i < end) {
		if (++nheaders > HTTP_MAX_HEADERS)
			return fail(p, err, "Too many header fields (at most %d)", HTTP_MAX_HEADERS);
		size_t ls = i;
		if (b[i] == ' ' || b[i] == '\t')
			return fail(p, err, "Malformed header: line folding is not allowed");
		while (i < end && is_tchar((unsigned char)b[i]))
			i++;
		if (i == ls || b[i] != ':')
			return fail(p, err, "Malformed header: invalid field name");
		size_t nlen = i - ls;
		const char *name = b + ls;
		i++;
		while (i < end && (b[i] == ' ' || b[i] == '\t'))
			i++;
		size_t vs = i;
		while (b[i] != '\r') {
			unsigned char c = (unsigned char)b[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return fail(p, err, "Malformed header: invalid character in a field value");
			i++;
		}
		size_t ve = i;
		while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
			ve--;
		const char *v = b + vs;
		size_t vlen = ve - vs;
		i += 2;

#define IS(hname) (nlen == sizeof(hname) - 1 && strncasecmp(name, hname, nlen) == 0)
		if (IS("Content-Length")) {
			if (vlen == 0 || vlen > 10)
				return fail(p, err, "Invalid Content-Length header");
			size_t cl = 0;
			for (size_t k = 0; k < vlen; k++) {
				if (v[k] < '0' || v[k] > '9')
					return fail(p, err, "Invalid Content-Length header");
				cl = cl * 10 + (size_t)(v[k] - '0');
			}
			if (have_cl && cl != p->content_length)
				return fail(p, err, "Conflicting Content-Length headers");
			have_cl = true;
			p->content_length = cl;
		} else if (IS("Transfer-Encoding")) {
			return fail(p, err, "Transfer-Encoding (\"%.*s\") is not supported: send the "
				    "body with a Content-Length", (int)(vlen > 32 ? 32 : vlen), v);
		} else if (IS("Expect")) {
			if (vlen == 12 && strncasecmp(v, "100-continue", 12) == 0)
				p->expect_continue = true;
			else
				return fail(p, err, "Unsupported Expect header (only 100-continue)");
		} else if (IS("Connection")) {
			if (has_token(v, vlen, "close"))
				r->keep_alive = false;
			else if (has_token(v, vlen, "keep-alive"))
				r->keep_alive = true;
		}
#undef IS
	}
	if (!have_cl)
		p->content_length = 0;
	if (p->content_length > p->max_body)
		return fail(p, err, "Request payload with size %zu is larger than the limit of %zu "
			    "allowed by server.", p->content_length, p->max_body);
	return HTTP_NEED_MORE;
}

static void consume(struct http_parser *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	p->scan = 0;
	p->have_head = false;
	p->continue_sent = false;
	p->expect_continue = false;
	p->content_length = 0;
	p->head_len = 0;
}

enum http_result http_parser_next(struct http_parser *p, struct http_request *req,
				  struct http_error *err)
{
	if (p->dead)
		return fail(p, err, "Connection is closed after an error");
	if (!p->have_head) {
		/* Empty lines before a request line are ignored (RFC 9112 2.2). */
		size_t skip = 0;
		while (skip + 1 < p->len && p->buf[skip] == '\r' && p->buf[skip + 1] == '\n')
			skip += 2;
		if (skip)
			consume(p, skip);
		size_t from = p->scan;
		const char *hit = NULL;
		if (p->len >= 4) {
			size_t lim = p->len > HTTP_MAX_HEAD ? HTTP_MAX_HEAD : p->len;
			if (lim >= 4 && from <= lim - 4)
				hit = memmem(p->buf + from, lim - from, "\r\n\r\n", 4);
		}
		if (!hit) {
			if (p->len >= HTTP_MAX_HEAD)
				return fail(p, err, "Request header section too large (at most %d bytes)",
					    HTTP_MAX_HEAD);
			/* An early, cheap sanity check so garbage is refused at once. */
			for (size_t k = p->scan; k < p->len; k++) {
				unsigned char c = (unsigned char)p->buf[k];
				if (c == 0 || (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
					return fail(p, err, "Malformed request: control character");
			}
			p->scan = p->len >= 3 ? p->len - 3 : 0;
			return HTTP_NEED_MORE;
		}
		p->head_len = (size_t)(hit - p->buf) + 4;
		enum http_result r = parse_head(p, err);
		if (r != HTTP_NEED_MORE)
			return r;
		p->have_head = true;
	}
	size_t total = p->head_len + p->content_length;
	if (p->len < total) {
		if (p->expect_continue && !p->continue_sent && p->content_length) {
			p->continue_sent = true;
			return HTTP_CONTINUE;
		}
		return HTTP_NEED_MORE;
	}
	*req = p->cur;
	req->body = NULL;
	req->body_len = p->content_length;
	if (p->content_length) {
		req->body = malloc(p->content_length + 1);
		if (!req->body)
			return fail(p, err, "Out of memory");
		memcpy(req->body, p->buf + p->head_len, p->content_length);
		req->body[p->content_length] = '\0';
	}
	consume(p, total);
	return HTTP_REQUEST;
}

static const char *reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 408: return "Request Timeout";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

char *http_format_response(int status, const char *body, bool keep_alive, size_t *len)
{
	size_t blen = body ? strlen(body) : 0;
	size_t cap = 256 + blen;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	int n;
	if (body)
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\nServer: wisp API\r\nConnection: %s\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			     status, reason(status), keep_alive ? "keep-alive" : "close", blen);
	else
		n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nServer: wisp API\r\nConnection: %s\r\n\r\n",
			     status, reason(status), keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= cap - blen) {
		free(out);
		return NULL;
	}
	if (blen)
		memcpy(out + n, body, blen);
	*len = (size_t)n + blen;
	return out;
}
