/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"

static long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int unix_connect(const char *sock)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

bool api_wait_socket(const char *sock, int timeout_ms)
{
	long deadline = ms_now() + timeout_ms;

	do {
		int fd = unix_connect(sock);

		if (fd >= 0) {
			close(fd);
			return true;
		}
		usleep(2000);
	} while (ms_now() < deadline);
	return false;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *opaque)
{
	struct api_client *c = opaque;
	size_t n = size * nmemb;

	if (c->len + n + 1 > c->cap) {
		c->cap = (c->len + n + 1) * 2;
		c->body = realloc(c->body, c->cap);
		if (!c->body)
			abort();
	}
	memcpy(c->body + c->len, ptr, n);
	c->len += n;
	c->body[c->len] = 0;
	return n;
}

void api_client_init(struct api_client *c, const char *sock)
{
	static bool global_done;

	if (!global_done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		global_done = true;
	}
	memset(c, 0, sizeof(*c));
	snprintf(c->sock, sizeof(c->sock), "%s", sock);
	c->curl = curl_easy_init();
	c->cap = 256;
	c->body = calloc(1, c->cap);
	if (!c->curl || !c->body)
		abort();
}

void api_client_free(struct api_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->body);
	memset(c, 0, sizeof(*c));
}

long api_call(struct api_client *c, const char *method, const char *path, const char *body)
{
	CURL *h = c->curl;
	struct curl_slist *hdrs = NULL;
	char url[2048];
	long status = -1, nc = 0;
	CURLcode rc;

	c->len = 0;
	c->body[0] = 0;
	curl_easy_reset(h);
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 20000L);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (strcmp(method, "GET") == 0 && !body) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(body ? strlen(body) : 0));
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nc);
		c->connects += nc;
	} else {
		snprintf(c->body, c->cap, "%s", curl_easy_strerror(rc));
	}
	curl_slist_free_all(hdrs);
	return status;
}

long api_call_once(const char *sock, const char *method, const char *path, const char *body,
		   char **resp_body)
{
	struct api_client c;
	long st;

	api_client_init(&c, sock);
	st = api_call(&c, method, path, body);
	if (resp_body)
		*resp_body = strdup(c.body);
	api_client_free(&c);
	return st;
}

/* Has a whole response (headers + Content-Length body) arrived? */
static bool response_complete(const char *buf, size_t len)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	const char *cl;
	size_t hdr, body = 0;

	if (!end)
		return false;
	hdr = (size_t)(end - buf) + 4;
	cl = strcasestr(buf, "Content-Length:");
	if (cl && cl < end)
		body = strtoul(cl + 15, NULL, 10);
	if (strncmp(buf, "HTTP/1.1 100", 12) == 0)
		return false;
	return len >= hdr + body;
}

char *api_raw(const char *sock, const void *req, size_t len, int timeout_ms)
{
	int fd = unix_connect(sock);
	size_t cap = 4096, got = 0, off = 0;
	char *buf = calloc(1, cap);
	long deadline = ms_now() + timeout_ms;

	if (!buf)
		abort();
	if (fd < 0)
		return buf;
	while (off < len) {
		ssize_t n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);

		if (n <= 0)
			break;   /* the server may answer and close early */
		off += (size_t)n;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - ms_now();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (got + 4096 + 1 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		n = recv(fd, buf + got, cap - got - 1, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = 0;
		if (response_complete(buf, got))
			break;
	}
	close(fd);
	return buf;
}

int api_raw_status(const char *resp)
{
	int st;

	if (sscanf(resp, "HTTP/1.%*d %d", &st) != 1)
		return -1;
	return st;
}
