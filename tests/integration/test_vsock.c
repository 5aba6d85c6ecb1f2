/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vsock.c — wisp's hybrid vsock end to end (Firecracker's protocol),
 * with the test guest's `vsock` scenario (tests/guest/scen_vsock.c) at the
 * other end: the host connects to uds_path, writes `CONNECT <port>\n` and
 * reads `OK <host_port>\n`; the guest's outbound connections to port P
 * arrive at `<uds_path>_P`. The guest echoes on 1024, discards on 1025 and
 * streams the pattern (byte i = i % 251) on 1026; it takes commands on its
 * serial input (close, malformed packets, connect, quit).
 *
 * Timing is only bounded loosely (seconds), never asserted.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"
#include "it_wisp.h"

#define BOOT_TIMEOUT_MS 60000
#define IO_TIMEOUT_MS 20000
#define GUEST_CID 3

static struct proc g;
static bool g_started;
static struct proc *cur = &g;   /* the console failure messages show */
static char uds[200];

static void setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(uds, sizeof(uds), "%s/v.sock", tmpdir_make());
	g_started = false;
}

static void teardown(void)
{
	if (g_started) {
		proc_signal(&g, SIGKILL);
		proc_finish(&g, 5000);
		proc_free(&g);
		g_started = false;
	}
	tmpdir_cleanup();
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Read whatever wisp printed so far (its pipes must not fill up while
 * the test is busy with sockets). */
static void drain(void)
{
	proc_wait_for(cur, "\x01\x02never", 0);
}

/* Boot the guest with wtest=vsock plus args and a vsock device. */
static void start_guest(const char *args)
{
	char boot[512], extra[512];
	char *doc, *cfg;

	snprintf(boot, sizeof(boot), "wtest=vsock %s", args ? args : "");
	snprintf(extra, sizeof(extra), "\"vsock\": {\"guest_cid\": %d, \"uds_path\": \"%s\"}",
		 GUEST_CID, uds);
	doc = guest_config(boot, "{\"vcpu_count\": 1, \"mem_size_mib\": 256}", extra);
	cfg = write_tmp_file("vm.json", doc);
	ck_assert_int_eq(wisp_spawn_config(&g, cfg), 0);
	g_started = true;
	free(doc);
	free(cfg);
	ck_assert_msg(proc_wait_for(&g, "vsock: ready", BOOT_TIMEOUT_MS),
		      "guest not ready\nstdout:\n%s\nstderr:\n%s", cur->out.data, cur->err.data);
}

/* Send a serial command and wait for its acknowledgement line. */
static void guest_cmd(const char *cmd)
{
	char line[160], ack[200];

	snprintf(line, sizeof(line), "%s\n", cmd);
	ck_assert_int_eq(proc_send(&g, line, strlen(line)), 0);
	snprintf(ack, sizeof(ack), "vsock: cmd '%s' ok", cmd);
	ck_assert_msg(proc_wait_for(&g, ack, IO_TIMEOUT_MS), "no '%s'\nstdout:\n%s\nstderr:\n%s",
		      ack, cur->out.data, cur->err.data);
}

static void wait_guest(const char *needle)
{
	ck_assert_msg(proc_wait_for(&g, needle, IO_TIMEOUT_MS), "no '%s'\nstdout:\n%s\nstderr:\n%s",
		      needle, cur->out.data, cur->err.data);
}

/* `quit`, then PASS with exactly one result line and a clean exit. */
static void guest_quit(void)
{
	guest_cmd("quit");
	ck_assert(proc_finish(&g, IO_TIMEOUT_MS));
	ASSERT_PASS(&g, "vsock");
}

/* Wait until fd is readable (or writable): true, false on timeout. */
static bool wait_fd(int fd, short ev, int timeout_ms)
{
	struct pollfd pfd = { fd, ev, 0 };

	return poll(&pfd, 1, timeout_ms) > 0;
}

/* Read one line ending in \n (byte by byte: nothing after it is taken).
 * Length without the \n, or -1 on EOF/error/timeout. */
static int read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t n = 0;
	long deadline = now_ms() + timeout_ms;

	while (n + 1 < size) {
		char c;
		ssize_t r;

		if (!wait_fd(fd, POLLIN, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)))
			return -1;
		r = read(fd, &c, 1);
		if (r <= 0)
			return -1;
		if (c == '\n') {
			buf[n] = 0;
			return (int)n;
		}
		buf[n++] = c;
	}
	return -1;
}

static int uds_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Kata's agent handshake: CONNECT port, then OK <host_port>. The socket,
 * or -1 when wisp closed it instead of answering OK. */
static int vs_connect(unsigned port, unsigned *host_port)
{
	char line[64];
	int fd = uds_connect(uds), n;
	unsigned hp;

	ck_assert_msg(fd >= 0, "connect %s: %s", uds, strerror(-fd));
	n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	ck_assert_int_eq(write(fd, line, (size_t)n), n);
	if (read_line(fd, line, sizeof(line), IO_TIMEOUT_MS) < 0) {
		close(fd);
		return -1;
	}
	ck_assert_msg(sscanf(line, "OK %u", &hp) == 1, "answer to CONNECT %u: '%s'", port, line);
	if (host_port)
		*host_port = hp;
	return fd;
}

static int vs_connect_ok(unsigned port, unsigned *host_port)
{
	int fd = vs_connect(port, host_port);

	ck_assert_msg(fd >= 0, "CONNECT %u: closed without OK\nstdout:\n%s\nstderr:\n%s", port,
		      cur->out.data, cur->err.data);
	return fd;
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	long deadline = now_ms() + IO_TIMEOUT_MS;

	while (len) {
		ssize_t n;

		ck_assert_msg(wait_fd(fd, POLLOUT, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)),
			      "write timed out with %zu bytes left", len);
		n = write(fd, p, len);
		ck_assert_msg(n > 0 || errno == EAGAIN, "write: %s", strerror(errno));
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
}

static void read_exact(int fd, void *buf, size_t len)
{
	char *p = buf;
	long deadline = now_ms() + IO_TIMEOUT_MS;

	while (len) {
		ssize_t n;

		ck_assert_msg(wait_fd(fd, POLLIN, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)),
			      "read timed out with %zu bytes missing\nstdout:\n%s", len, cur->out.data);
		n = read(fd, p, len);
		ck_assert_msg(n > 0, "read: %s", n == 0 ? "EOF" : strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Round trip of len bytes (filled with seed) on an echo connection. */
static void echo_check(int fd, size_t len, unsigned seed)
{
	char *out = malloc(len), *in = malloc(len);

	for (size_t i = 0; i < len; i++)
		out[i] = (char)(i * 13 + seed);
	write_all(fd, out, len);
	read_exact(fd, in, len);
	ck_assert_msg(!memcmp(out, in, len), "echo of %zu bytes differs", len);
	free(out);
	free(in);
}

/* EOF (or a reset) within timeout_ms, discarding data: true; false if the
 * socket stayed open. */
static bool wait_eof(int fd, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	char buf[65536];

	for (;;) {
		ssize_t n;

		if (!wait_fd(fd, POLLIN, (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)))
			return false;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return true;
	}
}

/* xorshift64* byte stream: the bulk test's data, regenerated to check. */
struct gen {
	uint64_t s;
	uint64_t word;
	unsigned left;
};

static uint8_t gen_byte(struct gen *r)
{
	if (!r->left) {
		r->s ^= r->s >> 12;
		r->s ^= r->s << 25;
		r->s ^= r->s >> 27;
		r->word = r->s * 0x2545f4914f6cdd1dULL;
		r->left = 8;
	}
	r->left--;
	return (uint8_t)(r->word >> (8 * r->left));
}

/* ---------------- tests ---------------- */

/* Kata's agent pattern: CONNECT 1024, OK <n>, then request/response.
 * Loop 0: one 64 KiB rx buffer per descriptor; 1: header and payload in
 * two descriptors; 2: Linux's layout, 4 KiB rx buffers in two descriptors
 * (wisp cuts the host's stream into small packets). */
START_TEST(connect_1024_handshake_and_echo)
{
	static const char *const layouts[] = { "", "wtest.split=1", "wtest.split=1 wtest.rxbuf=4096" };
	unsigned hp = 0;
	int fd;

	start_guest(layouts[_i]);
	fd = vs_connect_ok(1024, &hp);
	ck_assert_uint_gt(hp, 0);
	for (unsigned i = 0; i < 50; i++) {
		char req[128], resp[128];
		int n = snprintf(req, sizeof(req), "{\"request\": %u, \"method\": \"CheckRequest\"}\n", i);

		write_all(fd, req, (size_t)n);
		read_exact(fd, resp, (size_t)n);
		ck_assert(!memcmp(req, resp, (size_t)n));
	}
	echo_check(fd, 200000, 7);
	close(fd);
	guest_quit();
}
END_TEST

/* 100 connections at once, each echoing its own data. */
START_TEST(hundred_concurrent_connections)
{
	enum { N = 100, LEN = 4096 };
	int fds[N];
	char *out = malloc(LEN), *in = malloc(LEN);

	start_guest("wtest.quiet=1");
	for (int i = 0; i < N; i++)
		fds[i] = vs_connect_ok(1024, NULL);
	for (int round = 0; round < 3; round++) {
		/* Every connection has data in flight at the same time. */
		for (int i = 0; i < N; i++) {
			memset(out, 'a' + (i + round) % 26, LEN);
			snprintf(out, 32, "conn %d round %d ", i, round);
			write_all(fds[i], out, LEN);
		}
		for (int i = 0; i < N; i++) {
			memset(out, 'a' + (i + round) % 26, LEN);
			snprintf(out, 32, "conn %d round %d ", i, round);
			read_exact(fds[i], in, LEN);
			ck_assert_msg(!memcmp(in, out, LEN), "connection %d round %d: wrong echo", i,
				      round);
		}
		drain();
	}
	guest_cmd("stats");
	wait_guest("open 100 max-open 100");
	for (int i = 0; i < N; i++)
		close(fds[i]);
	free(out);
	free(in);
	guest_quit();
}
END_TEST

/* 64 MiB through the guest's echo (both directions at once, non-blocking
 * so neither side waits for the other), checked byte by byte; then 64 MiB
 * from the guest's source with its pattern. */
START_TEST(bulk_64mib_each_way)
{
	const size_t total = 64u << 20;
	struct gen wr = { 0x9e3779b97f4a7c15ULL, 0, 0 }, rd = wr;
	static char buf[1 << 16];
	size_t sent = 0, got = 0;
	long t0, deadline;
	int fd;

	start_guest("wtest.quiet=1");
	fd = vs_connect_ok(1024, NULL);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	t0 = now_ms();
	deadline = t0 + 240000;
	while (got < total) {
		struct pollfd pfd = { fd, POLLIN | (sent < total ? POLLOUT : 0), 0 };

		ck_assert_msg(now_ms() < deadline, "64 MiB echo: sent %zu, got %zu after 240 s",
			      sent, got);
		if (poll(&pfd, 1, 1000) < 0)
			continue;
		if ((pfd.revents & POLLOUT) && sent < total) {
			size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			struct gen save = wr;
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				buf[i] = (char)gen_byte(&wr);
			w = write(fd, buf, n);
			if (w < 0) {
				ck_assert_msg(errno == EAGAIN, "write: %s", strerror(errno));
				w = 0;
			}
			/* Rewind the generator over what was not taken. */
			wr = save;
			for (ssize_t i = 0; i < w; i++)
				gen_byte(&wr);
			sent += (size_t)w;
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, buf, sizeof(buf));

			if (r < 0) {
				ck_assert_msg(errno == EAGAIN, "read: %s", strerror(errno));
				continue;
			}
			ck_assert_msg(r > 0, "EOF after %zu of %zu bytes echoed", got, total);
			/* One assertion per chunk: Check records every passing one. */
			for (ssize_t i = 0; i < r; i++)
				if ((uint8_t)buf[i] != gen_byte(&rd))
					ck_abort_msg("echoed byte %zu differs", got + (size_t)i);
			got += (size_t)r;
		}
		drain();
	}
	printf("vsock: 64 MiB echoed (each way) in %ld ms\n", now_ms() - t0);
	close(fd);

	/* Guest -> host: the source's pattern. */
	fd = vs_connect_ok(1026, NULL);
	got = 0;
	t0 = now_ms();
	while (got < total) {
		ssize_t r;

		ck_assert_msg(wait_fd(fd, POLLIN, IO_TIMEOUT_MS), "source stalled at %zu", got);
		r = read(fd, buf, total - got < sizeof(buf) ? total - got : sizeof(buf));
		ck_assert_msg(r > 0, "source: EOF/error after %zu bytes", got);
		for (ssize_t i = 0; i < r; i++)
			if ((uint8_t)buf[i] != (uint8_t)((got + (size_t)i) % 251))
				ck_abort_msg("source byte %zu is %u", got + (size_t)i, (uint8_t)buf[i]);
		got += (size_t)r;
		drain();
	}
	printf("vsock: 64 MiB from the guest in %ld ms\n", now_ms() - t0);
	close(fd);
	guest_quit();
}
END_TEST

/* The host closes one connection in the middle of a stream: the guest
 * sees the shutdown, the other connection keeps echoing. */
START_TEST(host_closes_mid_stream)
{
	unsigned ha, hb;
	int a, b;
	char *junk = calloc(1, 1 << 20), want[80];

	start_guest(NULL);
	a = vs_connect_ok(1024, &ha);
	b = vs_connect_ok(1024, &hb);
	echo_check(b, 1000, 1);
	ck_assert_int_eq(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 4; i++)
		(void)!write(a, junk, 1 << 18);    /* as much as goes, unread */
	close(a);
	snprintf(want, sizeof(want), "vsock: 1024<-%u echo closed:", ha);
	wait_guest(want);
	echo_check(b, 100000, 2);
	close(b);
	free(junk);
	guest_quit();
}
END_TEST

/* The guest closes a connection: the host reads EOF, others go on. */
START_TEST(guest_closes)
{
	unsigned ha, hb;
	int a, b;
	char cmd[64], want[96];

	start_guest(NULL);
	a = vs_connect_ok(1024, &ha);
	b = vs_connect_ok(1024, &hb);
	echo_check(a, 1000, 3);
	snprintf(cmd, sizeof(cmd), "close %u", ha);
	guest_cmd(cmd);
	ck_assert_msg(wait_eof(a, IO_TIMEOUT_MS), "no EOF on the closed connection\nstdout:\n%s",
		      cur->out.data);
	snprintf(want, sizeof(want), "vsock: 1024<-%u echo closed: closed by guest", ha);
	wait_guest(want);
	echo_check(b, 100000, 4);
	close(a);
	close(b);
	guest_quit();
}
END_TEST

/* A host that writes but stops reading stalls only its own connection.
 * Loop 0 writes 64 KiB at a time (full packets, the guest holds them in
 * its rx buffers); loop 1 writes 700 bytes at a time (small packets, the
 * guest moves them to the connection's spill ring instead of holding more
 * rx buffers). */
START_TEST(stalled_reader_stalls_only_itself)
{
	const size_t chunk = _i == 0 ? 65536 : 700;
	struct gen wr = { 12345, 0, 0 }, rd = wr;
	static char buf[1 << 16];
	size_t sent = 0, got = 0;
	long idle_since;
	int a, b;

	start_guest(NULL);
	a = vs_connect_ok(1024, NULL);
	b = vs_connect_ok(1024, NULL);
	ck_assert_int_eq(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	/* Write into a until nothing more is taken for 1 s: every buffer on
	 * the way (host sockets, wisp, the guest's credit) is full. */
	idle_since = now_ms();
	while (now_ms() - idle_since < 1000) {
		struct gen save = wr;
		ssize_t w;

		for (size_t i = 0; i < chunk; i++)
			buf[i] = (char)gen_byte(&wr);
		w = write(a, buf, chunk);
		wr = save;
		if (w > 0) {
			for (ssize_t i = 0; i < w; i++)
				gen_byte(&wr);
			sent += (size_t)w;
			idle_since = now_ms();
		} else {
			ck_assert_msg(errno == EAGAIN, "write: %s", strerror(errno));
			usleep(20000);
		}
		ck_assert_msg(sent < (512u << 20), "512 MiB taken without anyone reading");
		drain();
	}
	printf("vsock: stalled connection (%zu-byte writes) took %zu bytes before blocking\n", chunk,
	       sent);
	/* Meanwhile b echoes as usual. */
	for (unsigned i = 0; i < 20; i++)
		echo_check(b, 4096 * (i + 1), i);
	/* a resumes: everything comes back, in order. */
	while (got < sent) {
		ssize_t r;

		ck_assert_msg(wait_fd(a, POLLIN, IO_TIMEOUT_MS), "stalled connection: %zu of %zu back",
			      got, sent);
		r = read(a, buf, sizeof(buf));
		if (r < 0 && errno == EAGAIN)
			continue;
		ck_assert_msg(r > 0, "read: EOF/error after %zu", got);
		for (ssize_t i = 0; i < r; i++)
			if ((uint8_t)buf[i] != gen_byte(&rd))
				ck_abort_msg("byte %zu differs", got + (size_t)i);
		got += (size_t)r;
	}
	ck_assert_int_eq(fcntl(a, F_SETFL, 0), 0);
	echo_check(a, 1000, 9);
	guest_cmd("stats");
	if (_i == 1)     /* the small packets went through the spill ring */
		ck_assert_msg(!strstr(cur->out.data, " spilled 0 "), "nothing spilled:\n%s",
			      cur->out.data);
	close(a);
	close(b);
	guest_quit();
}
END_TEST

static int uds_listen(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/* The guest connects out: wisp connects to <uds_path>_<port>; a port
 * without a listener resets the guest's connection. */
START_TEST(guest_connects_to_host)
{
	enum { LEN = 200000 };
	char path[256];
	char *buf = malloc(LEN);
	int l, c;

	snprintf(path, sizeof(path), "%s_5000", uds);
	l = uds_listen(path);
	start_guest("wtest.connect=5000 wtest.len=200000");
	ck_assert_msg(wait_fd(l, POLLIN, IO_TIMEOUT_MS), "no connection from the guest\nstdout:\n%s\nstderr:\n%s",
		      cur->out.data, cur->err.data);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(c, 0);
	read_exact(c, buf, LEN);
	for (size_t i = 0; i < LEN; i++)
		if ((uint8_t)buf[i] != i % 251)
			ck_abort_msg("guest byte %zu is %u", i, (uint8_t)buf[i]);
	write_all(c, buf, LEN);
	wait_guest("vsock: connect 5000: sent 200000 bytes, 200000 echoed back intact");
	/* The guest closes after the echo. */
	ck_assert_msg(wait_eof(c, IO_TIMEOUT_MS), "no EOF after the guest closed");
	close(c);

	/* A second connection to the same listener, from a command. */
	guest_cmd("connect 5000 0");
	ck_assert(wait_fd(l, POLLIN, IO_TIMEOUT_MS));
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(c, 0);
	ck_assert(wait_eof(c, IO_TIMEOUT_MS));
	close(c);

	/* Nobody listens on 5001. */
	guest_cmd("connect 5001 100");
	wait_guest("vsock: connect 5001: refused (RST)");
	close(l);
	free(buf);
	guest_quit();
}
END_TEST

/* A malformed packet from the guest resets that connection only. */
START_TEST(malformed_headers_reset_one_connection)
{
	static const char *const kinds[] = { "bad-type", "bad-cid", "bad-len", "bad-short" };
	enum { K = 4 };
	unsigned hp[K], hctl;
	int fds[K], ctl;

	start_guest(NULL);
	for (int i = 0; i < K; i++)
		fds[i] = vs_connect_ok(1024, &hp[i]);
	ctl = vs_connect_ok(1024, &hctl);
	for (int i = 0; i < K; i++) {
		char cmd[64], want[128];

		echo_check(fds[i], 100, (unsigned)i);
		snprintf(cmd, sizeof(cmd), "%s %u", kinds[i], hp[i]);
		guest_cmd(cmd);
		snprintf(want, sizeof(want), "vsock: %s on 1024<-%u: reset by the device", kinds[i],
			 hp[i]);
		wait_guest(want);
		ck_assert_msg(wait_eof(fds[i], IO_TIMEOUT_MS),
			      "%s: the host socket stayed open\nstdout:\n%s\nstderr:\n%s", kinds[i],
			      cur->out.data, cur->err.data);
		/* The others are untouched. */
		for (int j = i + 1; j < K; j++)
			echo_check(fds[j], 1000, (unsigned)j);
		echo_check(ctl, 10000, (unsigned)i);
	}
	for (int i = 0; i < K; i++)
		close(fds[i]);
	/* An unknown op: reset or dropped, but nothing else is hurt. */
	{
		unsigned hx;
		int x = vs_connect_ok(1024, &hx);
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "bad-op %u", hx);
		guest_cmd(cmd);
		echo_check(ctl, 10000, 42);
		close(x);
	}
	/* More of the same kind: still one log line (no flood). */
	for (int i = 0; i < 5; i++) {
		unsigned hx;
		int x = vs_connect_ok(1024, &hx);
		char cmd[64], want[128];

		snprintf(cmd, sizeof(cmd), "bad-type %u", hx);
		guest_cmd(cmd);
		snprintf(want, sizeof(want), "vsock: bad-type on 1024<-%u: reset by the device", hx);
		wait_guest(want);
		close(x);
	}
	echo_check(ctl, 1000, 43);
	close(ctl);
	guest_quit();
	ck_assert_msg(count_substr(g.err.data, "malformed") <= 5,
		      "malformed packets logged more than once per kind:\n%s", g.err.data);
}
END_TEST

/* CONNECT to a port nobody listens on in the guest: the socket closes. */
START_TEST(connect_to_closed_guest_port)
{
	int fd, ok;

	start_guest(NULL);
	fd = vs_connect(4444, NULL);
	ck_assert_msg(fd < 0, "CONNECT 4444 answered OK");
	ok = vs_connect_ok(1024, NULL);
	echo_check(ok, 1000, 5);
	close(ok);
	guest_quit();
}
END_TEST

/* ---------------- snapshot and restore ---------------- */

static void api_ok(struct wisp *w, const char *method, const char *path, const char *body)
{
	long st = api_call(&w->c, method, path, body);

	ck_assert_msg(st == 204, "%s %s %s: %ld %s\nstdout:\n%s\nstderr:\n%s", method, path,
		      body ? body : "", st, w->c.body, w->p.out.data, w->p.err.data);
}

/* After a restore the guest gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET (its
 * connections are gone) and a new host connection, on the socket moved by
 * vsock_override, works. */
START_TEST(snapshot_restore_sends_transport_reset)
{
	struct wisp a, b;
	char sock_a[256], sock_b[256], uds2[200], body[1024], st[256], mem[256];
	const char *dir = tmpdir_make();
	int fd, old;

	snprintf(sock_a, sizeof(sock_a), "%s/a.sock", dir);
	snprintf(sock_b, sizeof(sock_b), "%s/b.sock", dir);
	snprintf(uds2, sizeof(uds2), "%s/v2.sock", dir);
	snprintf(st, sizeof(st), "%s/vm.state", dir);
	snprintf(mem, sizeof(mem), "%s/vm.mem", dir);

	wisp_spawn(&a, sock_a, "vs-a", NULL);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=vsock\"}",
		 build_path("wisp-testguest"));
	api_ok(&a, "PUT", "/boot-source", body);
	api_ok(&a, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 256}");
	snprintf(body, sizeof(body), "{\"guest_cid\": %d, \"uds_path\": \"%s\"}", GUEST_CID, uds);
	api_ok(&a, "PUT", "/vsock", body);
	api_ok(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	ck_assert_msg(proc_wait_for(&a.p, "vsock: ready", BOOT_TIMEOUT_MS), "stdout:\n%s\nstderr:\n%s",
		      a.p.out.data, a.p.err.data);
	cur = &a.p;
	old = vs_connect_ok(1024, NULL);
	echo_check(old, 10000, 1);

	api_ok(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}");
	snprintf(body, sizeof(body), "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
		 "\"mem_file_path\": \"%s\"}", st, mem);
	api_ok(&a, "PUT", "/snapshot/create", body);
	proc_signal(&a.p, SIGKILL);
	proc_finish(&a.p, 10000);
	/* The old process is gone: so is its end of the connection. */
	ck_assert(wait_eof(old, IO_TIMEOUT_MS));
	close(old);

	wisp_spawn(&b, sock_b, "vs-b", NULL);
	snprintf(body, sizeof(body), "{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": "
		 "\"File\", \"backend_path\": \"%s\"}, \"resume_vm\": true, "
		 "\"vsock_override\": {\"uds_path\": \"%s\"}}", st, mem, uds2);
	api_ok(&b, "PUT", "/snapshot/load", body);
	ck_assert_msg(proc_wait_for(&b.p, "vsock: transport reset event: dropped 1 connections",
				    IO_TIMEOUT_MS),
		      "no transport reset\nstdout:\n%s\nstderr:\n%s", b.p.out.data, b.p.err.data);
	snprintf(uds, sizeof(uds), "%s", uds2);
	cur = &b.p;
	fd = vs_connect_ok(1024, NULL);
	echo_check(fd, 100000, 2);
	close(fd);
	ck_assert_int_eq(proc_send(&b.p, "quit\n", 5), 0);
	ck_assert(proc_finish(&b.p, IO_TIMEOUT_MS));
	ck_assert_msg(strstr(b.p.out.data, "WTEST vsock PASS"), "stdout:\n%s\nstderr:\n%s",
		      b.p.out.data, b.p.err.data);
	ASSERT_CLEAN(&b.p);
	/* The restored guest did not boot again. */
	ck_assert_int_eq(count_substr(b.p.out.data, "vsock: ready"), 0);
	cur = &g;
	wisp_free(&a);
	wisp_free(&b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vsock");
	TCase *tc = tcase_create("vsock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, connect_1024_handshake_and_echo, 0, 3);
	tcase_add_test(tc, hundred_concurrent_connections);
	tcase_add_test(tc, bulk_64mib_each_way);
	tcase_add_test(tc, host_closes_mid_stream);
	tcase_add_test(tc, guest_closes);
	tcase_add_loop_test(tc, stalled_reader_stalls_only_itself, 0, 2);
	tcase_add_test(tc, guest_connects_to_host);
	tcase_add_test(tc, malformed_headers_reset_one_connection);
	tcase_add_test(tc, connect_to_closed_guest_port);
	tcase_add_test(tc, snapshot_restore_sends_transport_reset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("skip: /dev/kvm is not usable\n");
		return 77;
	}
	return check_run_suite(suite());
}
