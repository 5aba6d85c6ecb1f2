/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api_server.c — the api thread over a real Unix socket, with a fake
 * VMM thread answering typed requests; clients are libcurl and raw sockets.
 */
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../check_main.h"
#include "api/api.h"

static char dir[64];
static char sock[128];
static struct api_server *srv;
static pthread_t vmm_thread;
static int vmm_stop_fd;
static struct machine_config machine = {.vcpu_count = 1, .mem_size_mib = 128};
static unsigned handled;
static int init_called;
static pthread_t init_thread;

static void fake_handler(void *ctx, const struct api_request *req, struct api_response *resp)
{
	(void)ctx;
	handled++;
	switch (req->kind) {
	case API_REQ_GET_INSTANCE_INFO:
		api_response_json(resp, api_instance_info_json("test-vm", API_STATE_NOT_STARTED));
		break;
	case API_REQ_GET_MACHINE_CONFIG:
		api_response_json(resp, api_machine_config_json(&machine));
		break;
	case API_REQ_PUT_MACHINE_CONFIG:
		machine = req->u.machine;
		api_response_no_content(resp);
		break;
	case API_REQ_PATCH_MACHINE_CONFIG: {
		char err[256];
		if (api_machine_patch_apply(&machine, &req->u.machine_patch, err, sizeof(err)))
			api_response_fault(resp, "%s", err);
		else
			api_response_no_content(resp);
		break;
	}
	case API_REQ_ACTION:
		if (req->u.action == API_ACTION_INSTANCE_START)
			api_response_fault(resp, "Cannot start microvm without kernel configuration.");
		else
			api_response_no_content(resp);
		break;
	case API_REQ_GET_VM_CONFIG:
		break; /* leaves resp unfilled: the server must answer an internal error */
	default:
		api_response_no_content(resp);
		break;
	}
}

static void *vmm_main(void *arg)
{
	(void)arg;
	struct pollfd p[2] = {{.fd = api_server_eventfd(srv), .events = POLLIN},
			      {.fd = vmm_stop_fd, .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			return NULL;
		if (p[0].revents)
			api_server_process(srv, fake_handler, NULL);
	}
}

static void on_thread_init(void *arg)
{
	init_called = *(int *)arg;
	init_thread = pthread_self();
}

/* The "limits" cases run with short deadlines and a 16 MiB body limit. */
static bool limits;

static void setup(void)
{
	machine = (struct machine_config){.vcpu_count = 1, .mem_size_mib = 128};
	handled = 0;
	init_called = 0;
	strcpy(dir, "/tmp/wisp-api-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	char err[256];
	srv = api_server_create(sock, err, sizeof(err));
	ck_assert_msg(srv != NULL, "%s", err);
	static int magic = 42;
	api_server_set_thread_init(srv, on_thread_init, &magic);
	if (limits) {
		api_server_set_timeouts(srv, 400, 1000, 800);
		ck_assert_int_eq(api_server_set_max_body(srv, 16u << 20), 0);
	}
	ck_assert_int_eq(api_server_run(srv, err, sizeof(err)), 0);
	vmm_stop_fd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(pthread_create(&vmm_thread, NULL, vmm_main, NULL), 0);
	curl_global_init(CURL_GLOBAL_ALL);
}

static void teardown(void)
{
	uint64_t one = 1;
	ck_assert_int_eq(write(vmm_stop_fd, &one, sizeof(one)), 8);
	pthread_join(vmm_thread, NULL);
	close(vmm_stop_fd);
	api_server_stop(srv);
	srv = NULL;
	struct stat st;
	ck_assert_int_ne(stat(sock, &st), 0); /* socket unlinked */
	rmdir(dir);
	curl_global_cleanup();
}

/* ---------------- curl helpers ---------------- */

struct buf {
	char data[8192];
	size_t len;
};

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
	struct buf *b = ud;
	size_t len = sz * n;
	size_t room = sizeof(b->data) - 1 - b->len;
	memcpy(b->data + b->len, p, len < room ? len : room);
	b->len += len < room ? len : room;
	b->data[b->len] = '\0';
	return len;
}

static CURL *new_handle(void)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	return c;
}

static struct curl_slist *json_headers(void)
{
	return curl_slist_append(NULL, "Content-Type: application/json");
}

/* One request on handle c; returns the HTTP status, body in *out. */
static long do_req(CURL *c, const char *method, const char *path, const char *body,
		   struct buf *out)
{
	char url[256];
	snprintf(url, sizeof(url), "http://localhost%s", path);
	out->len = 0;
	out->data[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	struct curl_slist *h = NULL;
	if (body) {
		h = json_headers();
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	ck_assert_msg(rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* ---------------- raw socket helpers ---------------- */

static int raw_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, sock);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	struct timeval tv = {.tv_sec = 10};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void raw_send(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL), (ssize_t)strlen(s));
}

/* Read until `count` complete responses arrived (or EOF); returns bytes. */
static size_t raw_read_responses(int fd, char *out, size_t cap, int count, bool *eof)
{
	size_t len = 0;
	*eof = false;
	for (;;) {
		out[len] = '\0';
		/* Count complete responses: head + Content-Length body. */
		int seen = 0;
		const char *p = out;
		for (;;) {
			const char *end = strstr(p, "\r\n\r\n");
			if (!end)
				break;
			size_t cl = 0;
			const char *h = strstr(p, "Content-Length: ");
			if (h && h < end)
				cl = strtoul(h + 16, NULL, 10);
			if ((size_t)(end + 4 - out) + cl > len)
				break;
			p = end + 4 + cl;
			seen++;
		}
		if (seen >= count)
			return len;
		ssize_t n = recv(fd, out + len, cap - 1 - len, 0);
		if (n <= 0) {
			*eof = n == 0;
			return len;
		}
		len += (size_t)n;
	}
}

/* ---------------- tests ---------------- */

START_TEST(basic_requests)
{
	CURL *c = new_handle();
	struct buf b;
	ck_assert_int_eq(do_req(c, "GET", "/", NULL, &b), 200);
	ck_assert_str_eq(b.data, "{\"id\":\"test-vm\",\"state\":\"Not started\",\"vmm_version\":\""
			 WISP_FC_VERSION "\",\"app_name\":\"wisp\"}");
	ck_assert_int_eq(do_req(c, "GET", "/version", NULL, &b), 200);
	ck_assert(strstr(b.data, "firecracker_version"));
	ck_assert_int_eq(do_req(c, "PUT", "/machine-config",
				"{\"vcpu_count\": 2, \"mem_size_mib\": 256}", &b), 204);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(do_req(c, "GET", "/machine-config", NULL, &b), 200);
	ck_assert(strstr(b.data, "\"vcpu_count\":2,\"mem_size_mib\":256"));
	ck_assert_int_eq(do_req(c, "PATCH", "/machine-config", "{\"smt\": true}", &b), 204);
	ck_assert_int_eq(do_req(c, "PATCH", "/machine-config", "{\"vcpu_count\": 3}", &b), 400);
	ck_assert(strstr(b.data, "when SMT is enabled"));
	ck_assert_int_eq(do_req(c, "PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 1}", &b), 400);
	ck_assert(strstr(b.data, "{\"fault_message\":\"Machine config error: The number of vCPUs must be"));
	ck_assert_int_eq(do_req(c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", &b), 400);
	ck_assert(strstr(b.data, "Cannot start microvm without kernel configuration."));
	ck_assert_int_eq(do_req(c, "PUT", "/mmds", "{}", &b), 400);
	ck_assert(strstr(b.data, "/mmds is not supported by wisp"));
	ck_assert_int_eq(do_req(c, "DELETE", "/", NULL, &b), 400);
	ck_assert(strstr(b.data, "Invalid request method and/or path: DELETE /."));
	ck_assert_int_eq(do_req(c, "GET", "/vm/config", NULL, &b), 400);
	ck_assert(strstr(b.data, "Internal error: GET /vm/config was not handled."));
	long conns = -1;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns);
	ck_assert_int_eq(conns, 0); /* the last request reused the connection */
	curl_easy_cleanup(c);
	ck_assert_int_eq(init_called, 42);
	ck_assert(!pthread_equal(init_thread, pthread_self()));
}
END_TEST

/* The snapshot endpoints reach the VMM once their body is valid; a refused
 * body is answered by the api thread and counted against its endpoint. */
START_TEST(snapshot_requests)
{
	CURL *c = new_handle();
	struct buf b;
	ck_assert_int_eq(do_req(c, "PUT", "/snapshot/create",
				"{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}", &b), 204);
	ck_assert_int_eq(do_req(c, "PUT", "/snapshot/load",
				"{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": "
				"\"File\", \"backend_path\": \"m\"}, \"resume_vm\": true}", &b), 204);
	ck_assert_uint_eq(handled, 2);
	ck_assert_int_eq(do_req(c, "PUT", "/snapshot/load", "{\"snapshot_path\": \"s\"}", &b), 400);
	ck_assert(strstr(b.data, "missing field: either `mem_backend` or `mem_file_path` is required"));
	ck_assert_int_eq(do_req(c, "PUT", "/snapshot/create", "{}", &b), 400);
	ck_assert(strstr(b.data, "missing field `snapshot_path`"));
	ck_assert_int_eq(do_req(c, "GET", "/snapshot/create", NULL, &b), 400);
	ck_assert(strstr(b.data, "Invalid request method and/or path: GET /snapshot/create."));
	ck_assert_uint_eq(handled, 2);
	curl_easy_cleanup(c);
	struct api_stats st;
	api_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.count[API_REQ_SNAPSHOT_CREATE], 2);
	ck_assert_uint_eq(st.fails[API_REQ_SNAPSHOT_CREATE], 1);
	ck_assert_uint_eq(st.count[API_REQ_SNAPSHOT_LOAD], 2);
	ck_assert_uint_eq(st.fails[API_REQ_SNAPSHOT_LOAD], 1);
	ck_assert_uint_eq(st.bad_requests, 1);
	ck_assert_uint_eq(st.unsupported, 0);
}
END_TEST

START_TEST(keep_alive_1000)
{
	CURL *c = new_handle();
	struct buf b;
	long total_connects = 0;
	for (int i = 0; i < 1000; i++) {
		char body[128];
		snprintf(body, sizeof(body), "{\"vcpu_count\": %d, \"mem_size_mib\": %d}",
			 i % 32 + 1, 128 + i);
		if (i % 2)
			ck_assert_int_eq(do_req(c, "PUT", "/machine-config", body, &b), 204);
		else
			ck_assert_int_eq(do_req(c, "GET", "/", NULL, &b), 200);
		long n = 0;
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &n);
		total_connects += n;
	}
	ck_assert_int_eq(total_connects, 1);
	ck_assert_uint_eq(machine.mem_size_mib, 128 + 999);
	curl_easy_cleanup(c);
}
END_TEST

START_TEST(concurrent_100_raw)
{
	enum { N = 100 };
	int fds[N];
	for (int i = 0; i < N; i++)
		fds[i] = raw_connect();
	/* All are open at once; each sends a request, then all are answered. */
	for (int i = 0; i < N; i++)
		raw_send(fds[i], "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
	for (int i = 0; i < N; i++) {
		char out[2048];
		bool eof;
		raw_read_responses(fds[i], out, sizeof(out), 1, &eof);
		ck_assert_msg(strstr(out, "HTTP/1.1 200 OK\r\n") == out, "conn %d: %s", i, out);
		ck_assert(strstr(out, "\"state\":\"Not started\""));
	}
	for (int i = 0; i < N; i++)
		close(fds[i]);
}
END_TEST

START_TEST(concurrent_100_curl_multi)
{
	enum { N = 100 };
	CURLM *m = curl_multi_init();
	CURL *hs[N];
	static struct buf bufs[N];
	for (int i = 0; i < N; i++) {
		hs[i] = new_handle();
		curl_easy_setopt(hs[i], CURLOPT_URL, "http://localhost/machine-config");
		curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &bufs[i]);
		curl_easy_setopt(hs[i], CURLOPT_FRESH_CONNECT, 1L);
		curl_multi_add_handle(m, hs[i]);
	}
	int running = 1;
	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	CURLMsg *msg;
	int left, done = 0;
	while ((msg = curl_multi_info_read(m, &left))) {
		ck_assert_int_eq(msg->data.result, CURLE_OK);
		long status;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		ck_assert_int_eq(status, 200);
		done++;
	}
	ck_assert_int_eq(done, N);
	for (int i = 0; i < N; i++) {
		ck_assert(strstr(bufs[i].data, "\"vcpu_count\":1"));
		curl_multi_remove_handle(m, hs[i]);
		curl_easy_cleanup(hs[i]);
	}
	curl_multi_cleanup(m);
}
END_TEST

START_TEST(stalled_client_blocks_nobody)
{
	int stalled = raw_connect();
	raw_send(stalled, "PUT /machine-config HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"vcpu");
	int stalled2 = raw_connect();
	raw_send(stalled2, "GET /machine-con");
	CURL *c = new_handle();
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 3L);
	struct buf b;
	for (int i = 0; i < 20; i++)
		ck_assert_int_eq(do_req(c, "GET", "/", NULL, &b), 200);
	curl_easy_cleanup(c);
	/* The stalled clients can still finish their requests. */
	raw_send(stalled2, "fig HTTP/1.1\r\n\r\n");
	char out[2048];
	bool eof;
	raw_read_responses(stalled2, out, sizeof(out), 1, &eof);
	ck_assert(strstr(out, "HTTP/1.1 200 OK") == out);
	close(stalled);
	close(stalled2);
}
END_TEST

START_TEST(pipelining_and_expect)
{
	int fd = raw_connect();
	raw_send(fd, "GET /version HTTP/1.1\r\n\r\n"
		     "PUT /machine-config HTTP/1.1\r\nContent-Length: 37\r\n\r\n"
		     "{\"vcpu_count\": 4, \"mem_size_mib\": 64}"
		     "GET /machine-config HTTP/1.1\r\n\r\n");
	char out[4096];
	bool eof;
	raw_read_responses(fd, out, sizeof(out), 3, &eof);
	const char *r1 = strstr(out, "HTTP/1.1 200 OK");
	const char *r2 = strstr(out, "HTTP/1.1 204 No Content");
	const char *r3 = r2 ? strstr(r2, "HTTP/1.1 200 OK") : NULL;
	ck_assert_msg(r1 == out && r2 && r3, "%s", out);
	ck_assert(strstr(r3, "\"vcpu_count\":4,\"mem_size_mib\":64"));
	/* Expect: 100-continue gets its interim response before the body. */
	raw_send(fd, "PUT /actions HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 32\r\n\r\n");
	char cont[64] = {0};
	ssize_t n = recv(fd, cont, sizeof(cont) - 1, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(cont, "HTTP/1.1 100 Continue\r\n\r\n");
	raw_send(fd, "{\"action_type\": \"FlushMetrics\"}\n");
	raw_read_responses(fd, out, sizeof(out), 1, &eof);
	ck_assert_msg(strstr(out, "HTTP/1.1 204 No Content") == out, "%s", out);
	/* Connection: close is honoured. */
	raw_send(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	size_t len = raw_read_responses(fd, out, sizeof(out), 2, &eof);
	ck_assert(len > 0 && eof);
	ck_assert(strstr(out, "Connection: close"));
	close(fd);
}
END_TEST

START_TEST(errors_close_connection)
{
	const char *bad[] = {
		"GARBAGE\r\n\r\n",
		"PUT /machine-config HTTP/1.1\r\nContent-Length: 51201\r\n\r\n",
		"PUT /machine-config HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
	};
	const char *msgs[] = {
		"Malformed request line",
		"Request payload with size 51201 is larger than the limit of 51200 allowed by server.",
		"Transfer-Encoding (\\\"chunked\\\") is not supported",
		"Malformed header",
	};
	for (unsigned i = 0; i < 4; i++) {
		int fd = raw_connect();
		raw_send(fd, bad[i]);
		char out[2048];
		bool eof;
		raw_read_responses(fd, out, sizeof(out), 2, &eof);
		/* the payload limit's answer is Firecracker's: no reason phrase */
		ck_assert_msg(strstr(out, i == 1 ? "HTTP/1.1 400 \r\n" : "HTTP/1.1 400 Bad Request") == out,
			      "%s", out);
		ck_assert_msg(strstr(out, msgs[i]), "'%s' lacks '%s'", out, msgs[i]);
		ck_assert(eof);
		close(fd);
	}
	/* A JSON error keeps the connection. */
	int fd = raw_connect();
	raw_send(fd, "PUT /actions HTTP/1.1\r\nContent-Length: 1\r\n\r\n{"
		     "GET / HTTP/1.1\r\n\r\n");
	char out[4096];
	bool eof;
	raw_read_responses(fd, out, sizeof(out), 2, &eof);
	ck_assert(strstr(out, "Invalid JSON"));
	ck_assert(strstr(out, "\"state\":\"Not started\""));
	close(fd);
}
END_TEST

/* A body over the limit: the answer is byte for byte Firecracker's.
 * Firecracker: functional/test_cmd_line_start.py::test_config_with_default_limit
 * (curl -i -X PUT http://localhost/mmds/config -H "Content-Length: 51201"
 * -H "Accept: application/json" -d "some body"), and micro_http's
 * server.rs test for the same limit. */
START_TEST(payload_limit_answer_is_firecrackers)
{
	static const char want[] =
		"HTTP/1.1 400 \r\n"
		"Server: Firecracker API\r\n"
		"Connection: keep-alive\r\n"
		"Content-Type: application/json\r\n"
		"Content-Length: 149\r\n\r\n"
		"{ \"error\": \"Request payload with size 51201 is larger than the limit of 51200 "
		"allowed by server.\nAll previous unanswered requests will be dropped.\" }";
	char out[2048];
	bool eof;
	int fd = raw_connect();

	raw_send(fd, "PUT /mmds/config HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/8.5.0\r\n"
		     "Content-Length: 51201\r\nAccept: application/json\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\n\r\nsome body");
	size_t len = raw_read_responses(fd, out, sizeof(out), 1, &eof);
	ck_assert_uint_eq(len, sizeof(want) - 1);
	ck_assert_msg(!memcmp(out, want, sizeof(want) - 1), "got:\n%.*s\nwant:\n%s", (int)len, out,
		      want);
	/* and nothing after it: wisp closes that connection */
	len = raw_read_responses(fd, out, sizeof(out), 2, &eof);
	ck_assert_uint_eq(len, 0);
	ck_assert(eof);
	close(fd);
}
END_TEST

START_TEST(client_gone_while_busy)
{
	/* Close right after sending: the response has nowhere to go; the
	 * server must drop it and carry on. */
	for (int i = 0; i < 50; i++) {
		int fd = raw_connect();
		raw_send(fd, "GET / HTTP/1.1\r\n\r\n");
		close(fd);
	}
	CURL *c = new_handle();
	struct buf b;
	ck_assert_int_eq(do_req(c, "GET", "/", NULL, &b), 200);
	curl_easy_cleanup(c);
}
END_TEST

START_TEST(socket_path_rules)
{
	char err[256];
	ck_assert_ptr_null(api_server_create(sock, err, sizeof(err)));
	ck_assert_msg(strstr(err, "API socket path already exists"), "%s", err);
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_ptr_null(api_server_create(longp, err, sizeof(err)));
	ck_assert_msg(strstr(err, "too long"), "%s", err);
	ck_assert_ptr_null(api_server_start("/nonexistent-dir/x.sock", err, sizeof(err)));
	ck_assert_msg(strstr(err, "bind: No such file or directory"), "%s", err);
}
END_TEST

/* ---------------- limits (issue: hostile API clients) ---------------- */

static void setup_limits(void)
{
	limits = true;
	setup();
}

static void teardown_limits(void)
{
	teardown();
	limits = false;
}

/* Milliseconds until the peer closes fd (reading and keeping what comes),
 * or -1 after timeout_ms. */
static int ms_until_eof(int fd, char *out, size_t cap, int timeout_ms)
{
	struct timespec t0, t1;
	size_t len = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		n = recv(fd, out + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			out[len] = '\0';
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		out[len] = '\0';
		return (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
}

/* A client sending its head one byte at a time gets 408 and is closed
 * once the request deadline passes; other clients are served meanwhile. */
START_TEST(slow_request_times_out)
{
	static const char head[] = "PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n";
	int fd = raw_connect();
	char out[2048];
	bool eof;

	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(send(fd, head + i, 1, MSG_NOSIGNAL), 1);
		usleep(100 * 1000);
	}
	int other = raw_connect();
	raw_send(other, "GET / HTTP/1.1\r\n\r\n");
	raw_read_responses(other, out, sizeof(out), 1, &eof);
	ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") == out, "%s", out);
	close(other);
	ck_assert_int_ge(ms_until_eof(fd, out, sizeof(out), 3000), 0);
	ck_assert_msg(strstr(out, "HTTP/1.1 408 Request Timeout") == out, "%s", out);
	ck_assert_msg(strstr(out, "Request timed out"), "%s", out);
	close(fd);
}
END_TEST

/* Silent connections, and keep-alive ones after their last request, are
 * closed after the idle deadline. */
START_TEST(idle_connections_closed)
{
	int silent = raw_connect(), kept = raw_connect();
	char out[2048];
	bool eof;
	int ms;

	raw_send(kept, "GET / HTTP/1.1\r\n\r\n");
	raw_read_responses(kept, out, sizeof(out), 1, &eof);
	ck_assert(strstr(out, "HTTP/1.1 200 OK") == out);
	ms = ms_until_eof(silent, out, sizeof(out), 5000);
	ck_assert_msg(ms >= 0, "a silent connection stayed open");
	ck_assert_str_eq(out, "");
	ck_assert_int_ge(ms_until_eof(kept, out, sizeof(out), 5000), 0);
	close(silent);
	close(kept);
}
END_TEST

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Out of descriptors, accept4 fails with EMFILE while connections wait in
 * the backlog: the api thread must not spin (it did: 88 % of a core), must
 * still answer its open connections, and must take the waiting ones once
 * descriptors are back. */
START_TEST(emfile_does_not_spin)
{
	struct rlimit old, low;
	int fds[64], n = 0, served = raw_connect();
	char out[2048];
	bool eof;
	double c0, c1;

	/* `served` is accepted (it has been answered) before the limit drops. */
	raw_send(served, "GET / HTTP/1.1\r\n\r\n");
	raw_read_responses(served, out, sizeof(out), 1, &eof);
	ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") == out, "%s", out);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Leave room for a few more descriptors, then use them all up with
	 * client sockets whose server side cannot be accepted. */
	low = old;
	low.rlim_cur = (rlim_t)dup(0) + 1;
	close((int)low.rlim_cur - 1);
	low.rlim_cur += 8;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (n < 64) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_un a = {.sun_family = AF_UNIX};

		if (fd < 0)
			break;
		strcpy(a.sun_path, sock);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
			close(fd);
			break;
		}
		fds[n++] = fd;
	}
	ck_assert_int_gt(n, 0);
	usleep(300 * 1000);
	c0 = cpu_seconds();
	usleep(1000 * 1000);
	c1 = cpu_seconds();
	ck_assert_msg(c1 - c0 < 0.25, "%.2f s of CPU in 1 s while out of descriptors", c1 - c0);
	/* Open connections are still served. */
	raw_send(served, "GET / HTTP/1.1\r\n\r\n");
	raw_read_responses(served, out, sizeof(out), 1, &eof);
	ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") == out, "%s", out);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* Descriptors are back: every waiting connection is accepted. */
	for (int i = 0; i < n; i++) {
		struct timeval tv = {.tv_sec = 10};

		setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		raw_send(fds[i], "GET / HTTP/1.1\r\n\r\n");
		raw_read_responses(fds[i], out, sizeof(out), 1, &eof);
		ck_assert_msg(strstr(out, "HTTP/1.1 200 OK") == out, "connection %d: %s", i, out);
		close(fds[i]);
	}
	close(served);
}
END_TEST

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Eight clients each send most of a 16 MiB body and stop: without a budget
 * the server would hold ~120 MiB; it holds at most twice the largest
 * request, and still times the stalled requests out. */
START_TEST(incomplete_bodies_are_bounded)
{
	enum { CONNS = 8, BODY = 16000000, SENT = 15000000 };
	static char chunk[1 << 16];
	int fds[CONNS];
	long before = rss_kib(), peak = before;
	char head[128], out[2048];

	memset(chunk, 'x', sizeof(chunk));
	snprintf(head, sizeof(head), "PUT /machine-config HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
		 BODY);
	for (int i = 0; i < CONNS; i++) {
		int one = 1 << 20;

		fds[i] = raw_connect();
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
		raw_send(fds[i], head);
	}
	/* Push as much as the server takes within the request deadline. */
	size_t sent[CONNS] = {0};
	for (int round = 0; round < 40; round++) {
		for (int i = 0; i < CONNS; i++) {
			while (sent[i] < SENT) {
				size_t want = SENT - sent[i] < sizeof(chunk) ? SENT - sent[i] : sizeof(chunk);
				ssize_t w = send(fds[i], chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w <= 0)
					break;
				sent[i] += (size_t)w;
			}
		}
		long r = rss_kib();
		if (r > peak)
			peak = r;
		usleep(5 * 1000);
	}
	/* ASan's allocator keeps freed blocks in quarantine and shadows
	 * every byte: RSS says nothing there; the gcc build checks it. */
	if (!UNDER_ASAN)
		ck_assert_msg(peak - before < 48 * 1024, "RSS grew by %ld KiB", peak - before);
	for (int i = 0; i < CONNS; i++) {
		ck_assert_int_ge(ms_until_eof(fds[i], out, sizeof(out), 5000), 0);
		ck_assert_msg(strstr(out, "HTTP/1.1 408") == out, "connection %d: %s", i, out);
		close(fds[i]);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_server");
	TCase *tc = tcase_create("server");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, basic_requests);
	tcase_add_test(tc, snapshot_requests);
	tcase_add_test(tc, keep_alive_1000);
	tcase_add_test(tc, concurrent_100_raw);
	tcase_add_test(tc, concurrent_100_curl_multi);
	tcase_add_test(tc, stalled_client_blocks_nobody);
	tcase_add_test(tc, pipelining_and_expect);
	tcase_add_test(tc, errors_close_connection);
	tcase_add_test(tc, payload_limit_answer_is_firecrackers);
	tcase_add_test(tc, client_gone_while_busy);
	tcase_add_test(tc, socket_path_rules);
	tcase_add_test(tc, emfile_does_not_spin);
	suite_add_tcase(s, tc);
	TCase *tl = tcase_create("limits");
	tcase_set_timeout(tl, 60);
	tcase_add_checked_fixture(tl, setup_limits, teardown_limits);
	tcase_add_test(tl, slow_request_times_out);
	tcase_add_test(tl, idle_connections_closed);
	tcase_add_test(tl, incomplete_bodies_are_bounded);
	suite_add_tcase(s, tl);
	return check_run_suite(s);
}
