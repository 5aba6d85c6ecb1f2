/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_clients.c — the request sequences of the container engines that drive
 * Firecracker, replayed against wisp byte for byte as their source sends
 * them (read from kata-containers' src/runtime/virtcontainers/fc.go and
 * src/runtime-rs/crates/hypervisor/src/firecracker/fc_api.rs, and the
 * Go SDK's order that firecracker-containerd uses; summarised in
 * shared/notes/firecracker-clients.md):
 *
 *  - kata_go_config_file: Kata's Go runtime writes fcConfig.json (Go's
 *    json.MarshalIndent of its models: tabs, omitempty, `{}` rate limiters
 *    on every interface, a read-only rootfs drive plus 8 empty placeholder
 *    drives, vsock "kata.hvsock" with vsock_id "root", logger and metrics
 *    on FIFOs, "acpi=off" in the kernel command line), starts
 *    `--api-sock S --config-file F`, polls GET / until Running, swaps a
 *    placeholder with PATCH /drives, and talks to its agent over hybrid
 *    vsock (`CONNECT 1024`, `OK <port>`, then request/response).
 *  - kata_rs_api: runtime-rs sends PUT /boot-source, /machine-config,
 *    /drives/rootfs, /drives/drive1..5, /vsock, /network-interfaces/<id>
 *    (guest_mac null), InstanceStart, then PATCH /drives/<id> with a
 *    rate_limiter object whose buckets are null, and later a real one.
 *  - fc_containerd_sdk: the Go SDK's order (GET /machine-config until the
 *    socket answers, PUT /logger and /metrics on FIFOs, /machine-config read
 *    back, /boot-source, drives (a root drive and stub drives), network,
 *    /vsock, InstanceStart), then PATCH /drives to swap a stub in, and its
 *    agent over vsock.
 *
 * The guest is the project's test guest in its `vsock` scenario: it echoes
 * every connection on port 1024 (where Kata's agent listens).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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

#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "it_wisp.h"

static char ns[64];
static const char *tdir;

static void setup(void)
{
	tdir = tmpdir_make();
	netns_delete_stale();
	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
	ck_assert_int_eq(netns_add_tap(ns, "tap0_kata", NULL), 0);
}

static void teardown(void)
{
	netns_delete(ns);
	tmpdir_cleanup();
}

static char *tpath(const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", tdir, name), 0);
	return p;
}

/* An empty file (Kata's placeholder drives). */
static char *empty_file(const char *name)
{
	char *p = tpath(name);
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return p;
}

/* A FIFO opened for reading, non-blocking, as Kata and the SDK do before
 * they start the VMM (so that its open for writing does not block). */
static int fifo_open(const char *path)
{
	int fd;

	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Everything the FIFO holds within timeout_ms of the first byte. */
static char *fifo_drain(int fd, int timeout_ms)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	ck_assert_ptr_nonnull(buf);
	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t n;

		if (len + 4096 > cap)
			ck_assert_ptr_nonnull(buf = realloc(buf, cap *= 2));
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
		timeout_ms = 200;
	}
	buf[len] = 0;
	return buf;
}

/* ------------------------------------------------------------------ */
/* Hybrid vsock, as Kata's agent client uses it                         */
/* ------------------------------------------------------------------ */
static bool read_line(int fd, char *line, size_t len, int timeout_ms)
{
	size_t n = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n + 1 < len) {
		char c;

		if (poll(&p, 1, timeout_ms) <= 0 || read(fd, &c, 1) != 1)
			return false;
		line[n++] = c;
		if (c == '\n')
			break;
	}
	line[n] = 0;
	return n > 0 && line[n - 1] == '\n';
}

/* Connect to uds, ask for guest port `port`, check the "OK <n>" answer;
 * the connected socket. Retries for a while: the guest's listener comes
 * up some time after InstanceStart (Kata retries the same way). */
static int hv_connect(const char *uds, unsigned port)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char req[32], line[64];

	ck_assert_uint_lt(strlen(uds), sizeof(a.sun_path));
	memcpy(a.sun_path, uds, strlen(uds) + 1);
	snprintf(req, sizeof(req), "CONNECT %u\n", port);
	for (int attempt = 0; attempt < 100; attempt++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		unsigned long n;

		ck_assert_int_ge(fd, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    write(fd, req, strlen(req)) == (ssize_t)strlen(req) &&
		    read_line(fd, line, sizeof(line), 2000)) {
			ck_assert_msg(sscanf(line, "OK %lu", &n) == 1, "handshake answer: %s", line);
			return fd;
		}
		close(fd);
		usleep(100 * 1000);
	}
	ck_abort_msg("no hybrid vsock connection to guest port %u through %s", port, uds);
	return -1;
}

/* The agent's request/response pattern: a few messages of growing size,
 * each answered (echoed by the test guest) before the next is sent. */
static void agent_exchange(int fd)
{
	static char msg[65536], back[65536];

	for (size_t sz = 16; sz <= sizeof(msg); sz *= 4) {
		size_t got = 0;

		for (size_t i = 0; i < sz; i++)
			msg[i] = (char)(i * 31 + sz);
		ck_assert_int_eq(write(fd, msg, sz), (ssize_t)sz);
		while (got < sz) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			ssize_t n;

			ck_assert_msg(poll(&p, 1, 10000) == 1, "no answer from the guest agent (%zu/%zu)",
				      got, sz);
			n = read(fd, back + got, sz - got);
			ck_assert_int_gt(n, 0);
			got += (size_t)n;
		}
		ck_assert_msg(memcmp(msg, back, sz) == 0, "reply of %zu bytes differs", sz);
	}
}

/* GET / until the state is Running (Kata polls every 10 ms for 10 s). */
static void wait_running(struct api_client *c)
{
	for (int i = 0; i < 1000; i++) {
		if (api_call(c, "GET", "/", NULL) == 200 && strstr(c->body, "\"Running\""))
			return;
		usleep(10 * 1000);
	}
	ck_abort_msg("GET / never said Running: %s", c->body);
}

/* One metrics line (after FlushMetrics) parses as JSON with the sections a
 * Kata runtime reads. */
static void check_metrics_line(struct wisp *w, int metrics_fd)
{
	char *text, *line;
	json_t *m;
	json_error_t je;

	free(fifo_drain(metrics_fd, 100));
	CALL(w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	text = fifo_drain(metrics_fd, 3000);
	line = strrchr(text, '{') ? text : NULL;
	ck_assert_msg(line && *text, "no metrics line on the FIFO");
	/* The last complete line. */
	{
		char *end = text + strlen(text);

		while (end > text && end[-1] == '\n')
			*--end = 0;
		line = strrchr(text, '\n');
		line = line ? line + 1 : text;
	}
	m = json_loads(line, 0, &je);
	ck_assert_msg(m, "metrics line is not JSON (%s): %s", je.text, line);
	ck_assert_msg(json_object_get(m, "vsock") && json_object_get(m, "net") &&
			      json_object_get(m, "block") && json_object_get(m, "api_server"),
		      "metrics line lacks a section Kata reads: %s", line);
	json_decref(m);
	free(text);
}

static void stop(struct wisp *w)
{
	proc_signal(&w->p, SIGTERM);
	ck_assert_msg(proc_finish(&w->p, 10000), "wisp did not end on SIGTERM");
	ASSERT_CLEAN(&w->p);
}

/* ------------------------------------------------------------------ */
/* Kata Containers, Go runtime                                          */
/* ------------------------------------------------------------------ */
#define KATA_GO_ARGS                                                                        \
	"root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4 pci=off " \
	"reboot=k panic=1 iommu=off net.ifnames=0 random.trust_cpu=on acpi=off "              \
	"8250.nr_uarts=0 agent.log_vport=1025 wtest=vsock"

START_TEST(kata_go_config_file)
{
	char *cfg = NULL, *sock = tpath("firecracker.socket"), *hv = tpath("kata.hvsock");
	char *logf = tpath("logs.fifo"), *metf = tpath("metrics.fifo"), *rootfs;
	char drives[4096] = "";
	int log_fd = fifo_open(logf), met_fd = fifo_open(metf), fd;
	struct wisp w = { 0 };
	const char *argv[12];
	int i = 0;

	rootfs = write_tmp_data("rootfs", "rootfs image", 12);
	/* The rootfs drive, then the pool of 8 placeholders (fcDiskPoolSize). */
	snprintf(drives, sizeof(drives),
		 "\t\t{\n\t\t\t\"drive_id\": \"rootfs\",\n\t\t\t\"is_read_only\": true,\n"
		 "\t\t\t\"is_root_device\": false,\n\t\t\t\"path_on_host\": \"%s\"\n\t\t}",
		 rootfs);
	for (int k = 0; k < 8; k++) {
		char name[16], *p;
		size_t l = strlen(drives);

		snprintf(name, sizeof(name), "drive_%d", k);
		p = empty_file(name);
		snprintf(drives + l, sizeof(drives) - l,
			 ",\n\t\t{\n\t\t\t\"drive_id\": \"%s\",\n\t\t\t\"is_read_only\": false,\n"
			 "\t\t\t\"is_root_device\": false,\n\t\t\t\"path_on_host\": \"%s\"\n\t\t}",
			 name, p);
		free(p);
	}
	ck_assert_int_ge(
		asprintf(&cfg,
			 "{\n"
			 "\t\"boot-source\": {\n\t\t\"boot_args\": \"%s\",\n"
			 "\t\t\"kernel_image_path\": \"%s\"\n\t},\n"
			 "\t\"drives\": [\n%s\n\t],\n"
			 "\t\"logger\": {\n\t\t\"level\": \"Error\",\n\t\t\"log_path\": \"%s\"\n\t},\n"
			 "\t\"machine-config\": {\n\t\t\"mem_size_mib\": 128,\n"
			 "\t\t\"smt\": false,\n\t\t\"vcpu_count\": 1\n\t},\n"
			 "\t\"metrics\": {\n\t\t\"metrics_path\": \"%s\"\n\t},\n"
			 "\t\"network-interfaces\": [\n\t\t{\n"
			 "\t\t\t\"guest_mac\": \"02:42:ac:11:00:02\",\n"
			 "\t\t\t\"host_dev_name\": \"tap0_kata\",\n"
			 "\t\t\t\"iface_id\": \"eth0\",\n"
			 "\t\t\t\"rx_rate_limiter\": {},\n"
			 "\t\t\t\"tx_rate_limiter\": {}\n\t\t}\n\t],\n"
			 "\t\"vsock\": {\n\t\t\"guest_cid\": 3,\n\t\t\"uds_path\": \"%s\",\n"
			 "\t\t\"vsock_id\": \"root\"\n\t}\n"
			 "}",
			 KATA_GO_ARGS, build_path("wisp-testguest"), drives, logf, metf, hv),
		0);
	{
		char *doc = cfg;

		cfg = write_tmp_file("fcConfig.json", doc);
		free(doc);
	}

	i = netns_exec_prefix(argv, ns);
	argv[i++] = build_path("wisp");
	argv[i++] = "--api-sock";
	argv[i++] = sock;
	argv[i++] = "--config-file";
	argv[i++] = cfg;
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w.p, (char *const *)argv), 0);
	ck_assert_msg(api_wait_socket(sock, 20000), "no API socket\n%s", w.p.err.data);
	snprintf(w.sock, sizeof(w.sock), "%s", sock);
	api_client_init(&w.c, sock);
	w.up = true;

	wait_running(&w.c);
	/* The container's rootfs replaces a placeholder (hotplugBlockDevice). */
	{
		char *img = write_tmp_data("container-rootfs", "container", 9), bodybuf[1024], *body = bodybuf;

		snprintf(body, sizeof(bodybuf), "{\"drive_id\":\"drive_0\",\"path_on_host\":\"%s\"}", img);
		CALL(&w, "PATCH", "/drives/drive_0", body, 204);
		free(img);
	}
	fd = hv_connect(hv, 1024);
	agent_exchange(fd);
	close(fd);
	check_metrics_line(&w, met_fd);
	/* Log level Error: the FIFO holds no error line from a clean run. */
	{
		char *log = fifo_drain(log_fd, 100);

		ck_assert_msg(!strstr(log, ":ERROR"), "errors logged:\n%s", log);
		free(log);
	}
	stop(&w);
	wisp_free(&w);
	close(log_fd);
	close(met_fd);
	free(cfg);
	free(sock);
	free(hv);
	free(logf);
	free(metf);
	free(rootfs);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kata Containers, runtime-rs                                          */
/* ------------------------------------------------------------------ */
START_TEST(kata_rs_api)
{
	char *sock = tpath("fc.sock"), *hv = tpath("kata.hvsock"), bodybuf[1024], *body = bodybuf;
	char *rootfs = write_tmp_data("rootfs", "rootfs image", 12);
	struct wisp w;
	int fd;

	wisp_spawn(&w, sock, "kata-rs", ns);
	snprintf(body, sizeof(bodybuf),
		 "{\"boot_args\":\"console=hvc0 pci=off iommu=off root=/dev/vda1 ro "
		 "rootfstype=ext4 wtest=vsock\",\"kernel_image_path\":\"%s\"}",
		 build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", body, 204);
	CALL(&w, "PUT", "/machine-config", "{\"mem_size_mib\":128,\"vcpu_count\":1}", 204);
	snprintf(body, sizeof(bodybuf),
		 "{\"drive_id\":\"rootfs\",\"is_read_only\":true,\"is_root_device\":false,"
		 "\"path_on_host\":\"%s\"}",
		 rootfs);
	CALL(&w, "PUT", "/drives/rootfs", body, 204);
	/* DISK_POOL_SIZE 6: drive1..drive5. */
	for (int k = 1; k < 6; k++) {
		char name[16], path[64], *p;

		snprintf(name, sizeof(name), "drive%d", k);
		p = empty_file(name);
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"%s\",\"is_read_only\":false,\"is_root_device\":false,"
			 "\"path_on_host\":\"%s\"}",
			 name, p);
		snprintf(path, sizeof(path), "/drives/%s", name);
		CALL(&w, "PUT", path, body, 204);
		free(p);
	}
	snprintf(body, sizeof(bodybuf), "{\"guest_cid\":3,\"uds_path\":\"%s\",\"vsock_id\":\"root\"}", hv);
	CALL(&w, "PUT", "/vsock", body, 204);
	CALL(&w, "PUT", "/network-interfaces/eth0",
	     "{\"guest_mac\":null,\"host_dev_name\":\"tap0_kata\",\"iface_id\":\"eth0\"}", 204);
	CALL(&w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);

	fd = hv_connect(hv, 1024);
	agent_exchange(fd);
	/* patch_container_rootfs: no limits configured -> null buckets. */
	{
		char *img = write_tmp_data("ctr-rootfs", "container", 9);

		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"drive1\",\"path_on_host\":\"%s\","
			 "\"rate_limiter\":{\"bandwidth\":null,\"ops\":null}}",
			 img);
		CALL(&w, "PATCH", "/drives/drive1", body, 204);
		/* With limits configured (disk_rate_limiter_bw_max_rate and ops). */
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"drive2\",\"path_on_host\":\"%s\","
			 "\"rate_limiter\":{\"bandwidth\":{\"size\":10485760,\"one_time_burst\":0,"
			 "\"refill_time\":1000},\"ops\":{\"size\":1000,\"one_time_burst\":0,"
			 "\"refill_time\":1000}}}",
			 img);
		CALL(&w, "PATCH", "/drives/drive2", body, 204);
		free(img);
	}
	/* The agent connection survives the swaps. */
	agent_exchange(fd);
	close(fd);
	stop(&w);
	wisp_free(&w);
	free(sock);
	free(hv);
	free(rootfs);
}
END_TEST

/* ------------------------------------------------------------------ */
/* firecracker-containerd (through the Go SDK)                          */
/* ------------------------------------------------------------------ */
START_TEST(fc_containerd_sdk)
{
	char *sock = tpath("fc-ctrd.sock"), *hv = tpath("firecracker.vsock"), bodybuf[1024], *body = bodybuf;
	char *logf = tpath("fc-logs.fifo"), *metf = tpath("fc-metrics.fifo");
	char *root = write_tmp_data("root.img", "root image", 10);
	int log_fd = fifo_open(logf), met_fd = fifo_open(metf), fd;
	struct wisp w;

	wisp_spawn(&w, sock, "fc-ctrd", ns);
	CALL(&w, "GET", "/machine-config", NULL, 200);
	snprintf(body, sizeof(bodybuf),
		 "{\"log_path\":\"%s\",\"level\":\"Debug\",\"show_level\":true,"
		 "\"show_log_origin\":true}",
		 logf);
	CALL(&w, "PUT", "/logger", body, 204);
	snprintf(body, sizeof(bodybuf), "{\"metrics_path\":\"%s\"}", metf);
	CALL(&w, "PUT", "/metrics", body, 204);
	CALL(&w, "PUT", "/machine-config",
	     "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false,\"track_dirty_pages\":false}",
	     204);
	CALL(&w, "GET", "/machine-config", NULL, 200);
	ck_assert_msg(strstr(w.c.body, "\"vcpu_count\":2") || strstr(w.c.body, "\"vcpu_count\": 2"),
		      "%s", w.c.body);
	snprintf(body, sizeof(bodybuf),
		 "{\"kernel_image_path\":\"%s\",\"boot_args\":\"console=ttyS0 noapic reboot=k "
		 "panic=1 pci=off nomodules rw wtest=vsock\"}",
		 build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", body, 204);
	snprintf(body, sizeof(bodybuf),
		 "{\"drive_id\":\"root_drive\",\"path_on_host\":\"%s\",\"is_root_device\":true,"
		 "\"is_read_only\":false}",
		 root);
	CALL(&w, "PUT", "/drives/root_drive", body, 204);
	for (int k = 0; k < 3; k++) {
		char name[32], path[64], *p;

		snprintf(name, sizeof(name), "stub%d", k);
		p = empty_file(name);
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"%s\",\"path_on_host\":\"%s\",\"is_root_device\":false,"
			 "\"is_read_only\":false}",
			 name, p);
		snprintf(path, sizeof(path), "/drives/%s", name);
		CALL(&w, "PUT", path, body, 204);
		free(p);
	}
	CALL(&w, "PUT", "/network-interfaces/1",
	     "{\"iface_id\":\"1\",\"host_dev_name\":\"tap0_kata\",\"guest_mac\":\"AA:FC:00:00:00:01\"}",
	     204);
	snprintf(body, sizeof(bodybuf), "{\"guest_cid\":3,\"uds_path\":\"%s\"}", hv);
	CALL(&w, "PUT", "/vsock", body, 204);
	CALL(&w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);
	wait_running(&w.c);

	fd = hv_connect(hv, 1024);
	agent_exchange(fd);
	{
		char *img = write_tmp_data("ctr0.img", "container", 9);

		snprintf(body, sizeof(bodybuf), "{\"drive_id\":\"stub0\",\"path_on_host\":\"%s\"}", img);
		CALL(&w, "PATCH", "/drives/stub0", body, 204);
		free(img);
	}
	agent_exchange(fd);
	close(fd);
	check_metrics_line(&w, met_fd);
	/* The logger FIFO was written to (the VMM logs its start at Info). */
	{
		char *log = fifo_drain(log_fd, 200);

		ck_assert_msg(strstr(log, "[fc-ctrd:"), "nothing logged to the FIFO:\n%.4000s", log);
		free(log);
	}
	stop(&w);
	wisp_free(&w);
	close(log_fd);
	close(met_fd);
	free(sock);
	free(hv);
	free(logf);
	free(metf);
	free(root);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("clients");
	TCase *tc = tcase_create("sequences");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kata_go_config_file);
	tcase_add_test(tc, kata_rs_api);
	tcase_add_test(tc, fc_containerd_sdk);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (geteuid() != 0) {
		fprintf(stderr, "test_clients: needs root (network namespaces and taps)\n");
		return 77;
	}
	sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
