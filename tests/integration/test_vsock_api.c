/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vsock_api.c — the vsock device through wisp's API (the protocol
 * itself is tests/integration/test_vsock.c):
 *  - PUT /vsock: Firecracker's checks and messages, an existing uds_path
 *    refused, a second PUT replaces the first, GET /vm/config shows it,
 *    refused after boot; Kata's agent handshake (CONNECT 1024 / OK n) on
 *    a VM configured through the API; the "vsock" metrics section and
 *    put_api_requests.vsock_count; the socket is removed on exit;
 *  - snapshots: pause, create, kill; load into a fresh wisp with
 *    vsock_override: the guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET
 *    (its connections are gone, as in Firecracker), the socket is at the
 *    new path and a new connection echoes.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"

#define GUEST_MS 60000
#define IO_MS 20000
#define NOT_AFTER_BOOT "The requested operation is not supported after starting the microVM."

static const char *dir;

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	dir = tmpdir_make();
}

static void teardown(void)
{
	tmpdir_cleanup();
}

static char *path_in(const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* One line ending in \n, byte by byte; its length, or -1. */
static int read_line(int fd, char *buf, size_t size)
{
	long deadline = now_ms() + IO_MS;
	size_t n = 0;

	while (n + 1 < size) {
		struct pollfd p = { fd, POLLIN, 0 };
		long left = deadline - now_ms();
		char c;

		if (left <= 0 || poll(&p, 1, (int)left) != 1 || read(fd, &c, 1) != 1)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return (int)n;
		}
		buf[n++] = c;
	}
	return -1;
}

/* Kata's agent pattern: CONNECT 1024, OK <n>, then a request/response. */
static void handshake_and_echo(const char *uds, struct wisp *w)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char line[64];
	unsigned hp = 0;

	ck_assert_uint_lt(strlen(uds), sizeof(a.sun_path));
	memcpy(a.sun_path, uds, strlen(uds) + 1);
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect %s: %s", uds,
		      strerror(errno));
	ck_assert_int_eq(write(fd, "CONNECT 1024\n", 13), 13);
	if (read_line(fd, line, sizeof(line)) <= 0) {
		/* For the failure message: the guest's counters. */
		proc_send(&w->p, "stats\n", 6);
		proc_wait_for(&w->p, "device-errors", 5000);
		ck_abort_msg("no OK\nstdout:\n%s\nstderr:\n%s", w->p.out.data, w->p.err.data);
	}
	ck_assert_msg(sscanf(line, "OK %u", &hp) == 1 && hp >= (1u << 30), "'%s'", line);
	ck_assert_int_eq(write(fd, "ping-agent\n", 11), 11);
	ck_assert_int_eq(read_line(fd, line, sizeof(line)), 10);
	ck_assert_str_eq(line, "ping-agent");
	close(fd);
}

static void configure(struct wisp *w, const char *uds, const char *metrics)
{
	char *b;

	ck_assert_int_gt(asprintf(&b, "{\"kernel_image_path\": \"%s\", \"boot_args\": "
				  "\"wtest=vsock wtest.quiet=1\"}", build_path("wisp-testguest")), 0);
	CALL(w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
	if (metrics) {
		ck_assert_int_gt(asprintf(&b, "{\"metrics_path\": \"%s\"}", metrics), 0);
		CALL(w, "PUT", "/metrics", b, 204);
		free(b);
	}
	ck_assert_int_gt(asprintf(&b, "{\"vsock_id\": \"root\", \"guest_cid\": 3, \"uds_path\": "
				  "\"%s\"}", uds), 0);
	CALL(w, "PUT", "/vsock", b, 204);
	free(b);
}

/* The sum of the integers after every occurrence of key (a metrics file
 * holds one line per flush; its counters are deltas). */
static long long sum_field(const char *text, const char *key)
{
	long long sum = 0;

	for (const char *p = text; (p = strstr(p, key)); p += strlen(key))
		sum += strtoll(p + strlen(key), NULL, 10);
	return sum;
}

START_TEST(put_vsock_boot_metrics)
{
	char *sock = path_in("api.sock"), *uds = path_in("v.sock"), *other = path_in("old.sock");
	char *taken = path_in("taken"), *metrics = path_in("metrics.json"), *b;
	struct wisp w;
	int fd;

	fd = open(metrics, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = open(taken, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	wisp_spawn(&w, sock, NULL, NULL);
	FAULT(&w, "PUT", "/vsock", "{}", "vsock.guest_cid: missing required field");
	FAULT(&w, "PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/x\"}", "vsock.guest_cid");
	FAULT(&w, "PUT", "/vsock", "{\"guest_cid\": 3}", "vsock.uds_path: missing required field");
	FAULT(&w, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/x\", \"port\": 1}",
	      "vsock.port: unknown field");
	ck_assert_int_gt(asprintf(&b, "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", taken), 0);
	FAULT(&w, "PUT", "/vsock", b,
	      "Cannot create backend for vsock device: Error binding to the host-side Unix "
	      "socket: Address already in use (os error 98)");
	free(b);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_msg(strstr(w.c.body, "\"vsock\":null"), "%s", w.c.body);
	/* A first PUT, replaced by a second one. */
	ck_assert_int_gt(asprintf(&b, "{\"guest_cid\": 7, \"uds_path\": \"%s\"}", other), 0);
	CALL(&w, "PUT", "/vsock", b, 204);
	free(b);
	configure(&w, uds, metrics);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_int_gt(asprintf(&b, "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"%s\"}", uds), 0);
	ck_assert_msg(strstr(w.c.body, b), "%s", w.c.body);
	free(b);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert_msg(proc_wait_for(&w.p, "vsock: ready", GUEST_MS), "stdout:\n%s\nstderr:\n%s",
		      w.p.out.data, w.p.err.data);
	ck_assert_int_eq(access(other, F_OK), -1);   /* the replaced path was never bound */
	handshake_and_echo(uds, &w);
	FAULT(&w, "PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/x\"}", NOT_AFTER_BOOT);
	/* Metrics: Firecracker's "vsock" section and the PUT counters. */
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	{
		size_t len;
		char *m = read_whole_file(metrics, &len);

		ck_assert_ptr_nonnull(m);
		ck_assert_msg(strstr(m, "\"vsock\":{\"activate_fails\":0"), "%.2000s", m);
		/* Counters are deltas over the line written when the VM started
		 * and the FlushMetrics line: their sums. */
		ck_assert_int_eq(sum_field(m, "\"conns_added\":"), 1);
		ck_assert_int_eq(sum_field(m, "\"vsock_count\":"), 8);
		ck_assert_int_eq(sum_field(m, "\"vsock_fails\":"), 6);
		free(m);
	}
	/* The guest ends the VM: wisp exits and removes the socket. */
	ck_assert_int_eq(proc_send(&w.p, "quit\n", 5), 0);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ck_assert_int_eq(access(uds, F_OK), -1);
	wisp_free(&w);
	free(sock);
	free(uds);
	free(other);
	free(taken);
	free(metrics);
}
END_TEST

START_TEST(snapshot_restore_sends_transport_reset)
{
	char *sock_a = path_in("a.sock"), *sock_b = path_in("b.sock");
	char *uds_a = path_in("va.sock"), *uds_b = path_in("vb.sock");
	char *state = path_in("vm.state"), *mem = path_in("vm.mem"), *b;
	struct wisp a, w;

	wisp_spawn(&a, sock_a, NULL, NULL);
	configure(&a, uds_a, NULL);
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert_msg(proc_wait_for(&a.p, "vsock: ready", GUEST_MS), "stdout:\n%s\nstderr:\n%s",
		      a.p.out.data, a.p.err.data);
	handshake_and_echo(uds_a, &a);
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	ck_assert_int_gt(asprintf(&b, "{\"snapshot_path\": \"%s\", \"mem_file_path\": \"%s\"}",
				  state, mem), 0);
	CALL(&a, "PUT", "/snapshot/create", b, 204);
	free(b);
	wisp_free(&a);   /* SIGKILL: va.sock stays behind, as a crashed VMM leaves it */
	ck_assert_int_eq(access(uds_a, F_OK), 0);

	wisp_spawn(&w, sock_b, NULL, NULL);
	/* Without the override the old path is in the way. */
	ck_assert_int_gt(asprintf(&b, "{\"snapshot_path\": \"%s\", \"mem_backend\": "
				  "{\"backend_type\": \"File\", \"backend_path\": \"%s\"}, "
				  "\"resume_vm\": true}", state, mem), 0);
	FAULT(&w, "PUT", "/snapshot/load", b, "Address already in use");
	free(b);
	ck_assert_int_gt(asprintf(&b, "{\"snapshot_path\": \"%s\", \"mem_backend\": "
				  "{\"backend_type\": \"File\", \"backend_path\": \"%s\"}, "
				  "\"resume_vm\": true, \"vsock_override\": {\"uds_path\": \"%s\"}}",
				  state, mem, uds_b), 0);
	CALL(&w, "PUT", "/snapshot/load", b, 204);
	free(b);
	ck_assert_msg(proc_wait_for(&w.p, "vsock: transport reset event", GUEST_MS),
		      "no transport reset event\nstdout:\n%s\nstderr:\n%s", w.p.out.data,
		      w.p.err.data);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_msg(strstr(w.c.body, uds_b), "%s", w.c.body);
	handshake_and_echo(uds_b, &w);
	wisp_free(&w);
	free(sock_a);
	free(sock_b);
	free(uds_a);
	free(uds_b);
	free(state);
	free(mem);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vsock_api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, put_vsock_boot_metrics);
	tcase_add_test(tc, snapshot_restore_sends_transport_reset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("no /dev/kvm: skipped\n");
		return 77;
	}
	return check_run_suite(suite());
}
