/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_http.c — libFuzzer target for the API's HTTP parser and routing.
 * The input is fed to the parser in pieces whose sizes come from the first
 * byte, so split reads are explored too; every complete request is routed
 * (which runs the JSON validation of its endpoint). The first byte's top
 * two bits pick the body limit (--http-api-max-payload-size): the default,
 * 1, 64 or 1024 bytes; no request may carry more, the parser never buffers
 * more than the head and body limits allow, and it never stalls (takes no
 * byte and asks for more).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const size_t limits[4] = { 0, 1, 64, 1024 };
	size_t chunk = (size_t)data[0] % 64 + 1;
	size_t max_body = limits[data[0] >> 6];
	data++;
	size--;
	struct http_parser p;
	http_parser_init(&p);
	if (max_body)
		http_parser_set_max_body(&p, max_body);
	else
		max_body = API_MAX_BODY;
	size_t off = 0;
	bool done = false;
	while (!done) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t space = http_parser_space(&p);
		size_t took = http_parser_feed(&p, data + off, n);
		bool progress = took > 0;

		if (took > n || took > space || space > HTTP_MAX_HEAD + max_body)
			abort();
		off += took;
		for (;;) {
			struct http_request req;
			struct http_error err;
			enum http_result r = http_parser_next(&p, &req, &err);
			if (r == HTTP_NEED_MORE) {
				/* Full, and no request or error to take out. */
				if (!progress && n)
					abort();
				break;
			}
			progress = true;
			if (r == HTTP_CONTINUE)
				continue;
			if (r == HTTP_ERROR) {
				if (err.status != 400 || !memchr(err.message, '\0', sizeof(err.message)))
					abort();
				done = true;
				break;
			}
			if (req.body_len > max_body)
				abort();
			struct api_request areq;
			struct api_response resp;
			int to_vmm = api_route(req.method, req.path, req.body, req.body_len, &areq, &resp);
			if (!to_vmm && (resp.status != 200 && resp.status != 400))
				abort();
			if (to_vmm && resp.body)
				abort();
			size_t len;
			char *out = http_format_response(resp.status ? resp.status : 204, resp.body,
							 req.keep_alive, &len);
			free(out);
			api_response_clear(&resp);
			http_request_free(&req);
		}
		if (off >= size || n == 0)
			done = true;
	}
	http_parser_free(&p);
	return 0;
}
