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
 *
 * Each sequence runs twice: with build/wisp, and with wisp installed under
 * Firecracker's name (scripts/install-firecracker-names.sh: a real file
 * named `firecracker`), which is what the runtimes' configurations point
 * at. Kata's Go runtime first runs `<binary> --version` and refuses it
 * unless word 2 of line 1, without its `v`, is a semver >= 0.21.1
 * (virtcontainers/fc.go parseVersion/checkVersion): checked for both names.
 * Both Kata runtimes also run jailed by the installed `jailer` with
 * `--exec-file .../firecracker`, exactly as they jail Firecracker (static
 * builds only: a sanitizer build's wisp needs shared libraries the empty
 * jail does not have); they hard-code paths under
 * <base>/firecracker/<id>/root (Kata Go: run/firecracker.socket and
 * firecracker.pid; runtime-rs: run/fc.sock), which only hold when the
 * binary is named firecracker.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "it_wisp.h"

static char ns[64];
static const char *tdir;
static char fc_bin[512], jailer_bin[512];

/* The VMM binary of loop iteration i: build/wisp, then the installed
 * `firecracker`. */
static const char *vmm_bin(int i)
{
	return i ? fc_bin : build_path("wisp");
}

static void setup(void)
{
	char *cmd;

	tdir = tmpdir_make();
	ck_assert_int_ge(asprintf(&cmd, "'%s/scripts/install-firecracker-names.sh' --build '%s' "
				  "'%s/inst' >/dev/null",
				  getenv("WISP_SOURCE_DIR") ? getenv("WISP_SOURCE_DIR") : ".",
				  build_path(""), tdir), 0);
	ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
	free(cmd);
	snprintf(fc_bin, sizeof(fc_bin), "%s/inst/lib/wisp/firecracker", tdir);
	snprintf(jailer_bin, sizeof(jailer_bin), "%s/inst/lib/wisp/jailer", tdir);
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

/* <dir>/<name>, malloc'd. */
static char *jpath(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
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

/* Kata Go's check before it starts the VMM: `<bin> --version`, line 1,
 * second space-separated word, TrimSpace, TrimPrefix "v", semver.Make,
 * not below 0.21.1. */
static void kata_go_version_check(const char *bin)
{
	char *argv[] = { (char *)bin, "--version", NULL }, line[128], *w, *end;
	unsigned long v[3];
	struct proc p;
	size_t n;

	ck_assert(proc_run(&p, argv, 5000));
	ck_assert_int_eq(p.status, 0);
	n = strcspn(p.out.data, "\n");
	ck_assert_uint_lt(n, sizeof(line));
	memcpy(line, p.out.data, n);
	line[n] = 0;
	w = strchr(line, ' ');
	ck_assert_msg(w, "%s --version: no second word in '%s'", bin, line);
	w++;
	w[strcspn(w, " ")] = 0;
	if (*w == 'v')
		w++;
	for (int i = 0; i < 3; i++) {
		ck_assert_msg(*w >= '0' && *w <= '9' && !(w[0] == '0' && w[1] >= '0' && w[1] <= '9'),
			      "%s --version: '%s' is not a semver", bin, line);
		v[i] = strtoul(w, &end, 10);
		w = end;
		ck_assert_msg(i == 2 ? (*w == 0 || *w == '-' || *w == '+') : *w++ == '.',
			      "%s --version: '%s' is not a semver", bin, line);
	}
	ck_assert_msg(v[0] > 0 || v[1] > 21 || (v[1] == 21 && v[2] >= 1),
		      "%s --version: %lu.%lu.%lu < 0.21.1", bin, v[0], v[1], v[2]);
	proc_free(&p);
}

/* it_wisp.c's wisp_spawn with another binary: bin --api-sock sock --id id
 * --level Info inside netns in_ns; waits for the socket. */
static void spawn_bin(struct wisp *w, const char *bin, const char *sock, const char *id,
		      const char *in_ns)
{
	const char *argv[20];
	int i = netns_exec_prefix(argv, in_ns);

	memset(w, 0, sizeof(*w));
	snprintf(w->sock, sizeof(w->sock), "%s", sock);
	argv[i++] = bin;
	argv[i++] = "--api-sock";
	argv[i++] = w->sock;
	argv[i++] = "--id";
	argv[i++] = id;
	argv[i++] = "--level";
	argv[i++] = "Info";
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w->p, (char *const *)argv), 0);
	ck_assert_msg(api_wait_socket(w->sock, 20000), "%s did not open its socket\n%s", bin,
		      w->p.err.data);
	api_client_init(&w->c, w->sock);
	w->up = true;
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

/* Is path an executable without an ELF interpreter (static or static-pie)?
 * Only those run in an empty jail. */
static bool is_static_exe(const char *path)
{
	size_t len = 0;
	unsigned char *b = read_whole_file(path, &len);
	bool interp = false;

	if (!b || len < 64 || memcmp(b, "\177ELF", 4) != 0 || b[4] != 2) {
		free(b);
		return false;
	}
	{
		uint64_t phoff;
		uint16_t phentsize, phnum;

		memcpy(&phoff, b + 32, 8);
		memcpy(&phentsize, b + 54, 2);
		memcpy(&phnum, b + 56, 2);
		for (unsigned k = 0; k < phnum; k++) {
			uint32_t type;

			if (phoff + (uint64_t)(k + 1) * phentsize > len)
				break;
			memcpy(&type, b + phoff + (uint64_t)k * phentsize, 4);
			interp |= type == 3;   /* PT_INTERP */
		}
	}
	free(b);
	return !interp;
}

/* Kills the jailed VMM (pid in pidfile) if the test process dies without
 * stopping it (a failed assertion exits the test at once): a child that
 * waits for EOF on a pipe only the test holds. */
static pid_t watchdog_start(const char *pidfile, int *hold_fd)
{
	int pfd[2];
	pid_t pid;

	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[32] = "";
		FILE *f;

		close(pfd[1]);
		while (read(pfd[0], buf, 1) > 0)
			;
		f = fopen(pidfile, "r");
		if (f && fgets(buf, sizeof(buf), f) && atoi(buf) > 1)
			kill(atoi(buf), SIGKILL);
		_exit(0);
	}
	close(pfd[0]);
	*hold_fd = pfd[1];
	return pid;
}

/* _i: 0 build/wisp, 1 installed as firecracker, 2 the same jailed by the
 * installed `jailer` exactly as Kata's Go runtime jails it (fc.go fcInit:
 * `--id --exec-file <firecracker> --uid 0 --gid 0 --chroot-base-dir D
 * --daemonize --netns N -- --config-file fcConfig.json`, every resource
 * placed in the jail's root under a relative name by fcJailResource, no
 * --api-sock: it then uses <D>/firecracker/<id>/root/run/firecracker.socket,
 * and <root>/firecracker.pid for the pid). */
START_TEST(kata_go_config_file)
{
	const bool jailed = _i == 2;
	char *jroot = NULL, *cfg = NULL, *sock, *hv, *logf, *metf, *rootfs, *kernel;
	char drives[4096] = "";
	int log_fd, met_fd, fd, hold_fd = -1;
	struct wisp w = { 0 };
	const char *argv[24];
	pid_t vmm_pid = -1, dog = -1;
	int i = 0;

	if (jailed) {
		if (!is_static_exe(fc_bin) || !is_static_exe(build_path("wisp-jailer"))) {
			fprintf(stderr, "kata_go_config_file jailed: wisp is not static "
					"(sanitizer build): skipped\n");
			return;
		}
		jroot = tpath("jail/firecracker/kata-go/root");
		{
			char *cmd;

			ck_assert_int_ge(asprintf(&cmd, "mkdir -p '%s'", jroot), 0);
			ck_assert_int_eq(system(cmd), 0);
			free(cmd);
		}
	}
	/* Host path of a resource; *vmm_path: how the document names it. */
#define RES(name) (jailed ? jpath(jroot, name) : tpath(name))
	sock = jailed ? jpath(jroot, "run/firecracker.socket") : tpath("firecracker.socket");
	hv = RES("kata.hvsock");
	logf = RES("logs.fifo");
	metf = RES("metrics.fifo");
	log_fd = fifo_open(logf);
	met_fd = fifo_open(metf);
	kata_go_version_check(vmm_bin(_i ? 1 : 0));
	rootfs = RES("rootfs");
	{
		FILE *f = fopen(rootfs, "w");

		ck_assert_ptr_nonnull(f);
		fputs("rootfs image", f);
		fclose(f);
	}
	if (jailed) {
		size_t len = 0;
		void *img = read_whole_file(build_path("wisp-testguest"), &len);
		FILE *f;

		kernel = jpath(jroot, "vmlinux");
		ck_assert_ptr_nonnull(img);
		ck_assert_ptr_nonnull(f = fopen(kernel, "w"));
		ck_assert_uint_eq(fwrite(img, 1, len, f), len);
		fclose(f);
		free(img);
	} else {
		kernel = strdup(build_path("wisp-testguest"));
	}
	/* The rootfs drive, then the pool of 8 placeholders (fcDiskPoolSize). */
	snprintf(drives, sizeof(drives),
		 "\t\t{\n\t\t\t\"drive_id\": \"rootfs\",\n\t\t\t\"is_read_only\": true,\n"
		 "\t\t\t\"is_root_device\": false,\n\t\t\t\"path_on_host\": \"%s\"\n\t\t}",
		 jailed ? "rootfs" : rootfs);
	for (int k = 0; k < 8; k++) {
		char name[16], *p;
		size_t l = strlen(drives);

		snprintf(name, sizeof(name), "drive_%d", k);
		p = RES(name);
		close(open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644));
		snprintf(drives + l, sizeof(drives) - l,
			 ",\n\t\t{\n\t\t\t\"drive_id\": \"%s\",\n\t\t\t\"is_read_only\": false,\n"
			 "\t\t\t\"is_root_device\": false,\n\t\t\t\"path_on_host\": \"%s\"\n\t\t}",
			 name, jailed ? name : p);
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
			 KATA_GO_ARGS, jailed ? "vmlinux" : kernel, drives,
			 jailed ? "logs.fifo" : logf, jailed ? "metrics.fifo" : metf,
			 jailed ? "kata.hvsock" : hv),
		0);
	{
		char *doc = cfg;
		FILE *f;

		cfg = RES("fcConfig.json");
		ck_assert_ptr_nonnull(f = fopen(cfg, "w"));
		fputs(doc, f);
		fclose(f);
		free(doc);
	}

	if (jailed) {
		char *base = tpath("jail"), *netns_path, *pidf = jpath(jroot, "firecracker.pid");
		struct proc jp;

		ck_assert_int_ge(asprintf(&netns_path, "/var/run/netns/%s", ns), 0);
		dog = watchdog_start(pidf, &hold_fd);
		argv[i++] = jailer_bin;
		argv[i++] = "--id";
		argv[i++] = "kata-go";
		argv[i++] = "--exec-file";
		argv[i++] = fc_bin;
		argv[i++] = "--uid";
		argv[i++] = "0";
		argv[i++] = "--gid";
		argv[i++] = "0";
		argv[i++] = "--chroot-base-dir";
		argv[i++] = base;
		argv[i++] = "--daemonize";
		argv[i++] = "--netns";
		argv[i++] = netns_path;
		argv[i++] = "--";
		argv[i++] = "--config-file";
		argv[i++] = "fcConfig.json";
		argv[i] = NULL;
		ck_assert(proc_run(&jp, (char *const *)argv, 10000));
		ck_assert_msg(jp.status == 0, "jailer: status %d\n%s", jp.status, jp.err.data);
		proc_free(&jp);
		ck_assert_msg(api_wait_socket(sock, 20000), "no API socket at %s", sock);
		/* Kata reads the VMM's pid from <root>/firecracker.pid. */
		{
			char *t = (char *)read_whole_file(pidf, &(size_t){ 0 });

			ck_assert_msg(t, "no %s", pidf);
			vmm_pid = atoi(t);
			free(t);
		}
		ck_assert_int_gt(vmm_pid, 1);
		ck_assert_int_eq(kill(vmm_pid, 0), 0);
		free(base);
		free(netns_path);
		free(pidf);
	} else {
		i = netns_exec_prefix(argv, ns);
		argv[i++] = vmm_bin(_i);
		argv[i++] = "--api-sock";
		argv[i++] = sock;
		argv[i++] = "--config-file";
		argv[i++] = cfg;
		if (getenv("WISP_IT_NO_SECCOMP"))
			argv[i++] = "--no-seccomp";
		argv[i] = NULL;
		ck_assert_int_eq(proc_spawn(&w.p, (char *const *)argv), 0);
		ck_assert_msg(api_wait_socket(sock, 20000), "no API socket\n%s", w.p.err.data);
	}
	snprintf(w.sock, sizeof(w.sock), "%s", sock);
	api_client_init(&w.c, sock);
	w.up = true;

	wait_running(&w.c);
	/* The container's rootfs replaces a placeholder (hotplugBlockDevice). */
	{
		char *img = RES("container-rootfs"), bodybuf[1024], *body = bodybuf;
		FILE *f = fopen(img, "w");

		ck_assert_ptr_nonnull(f);
		fputs("container", f);
		fclose(f);
		snprintf(body, sizeof(bodybuf), "{\"drive_id\":\"drive_0\",\"path_on_host\":\"%s\"}",
			 jailed ? "container-rootfs" : img);
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
	if (jailed) {
		/* Not our child (daemonized): SIGTERM, then wait until it is gone. */
		ck_assert_int_eq(kill(vmm_pid, SIGTERM), 0);
		for (int t = 0; t < 200 && kill(vmm_pid, 0) == 0; t++)
			usleep(50 * 1000);
		ck_assert_msg(kill(vmm_pid, 0) < 0, "jailed VMM %d did not end on SIGTERM", vmm_pid);
		kill(dog, SIGKILL);
		waitpid(dog, NULL, 0);
		close(hold_fd);
		api_client_free(&w.c);
		w.up = false;
	} else {
		stop(&w);
		wisp_free(&w);
	}
#undef RES
	close(log_fd);
	close(met_fd);
	free(kernel);
	free(jroot);
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
/* Copy a file (what Kata bind-mounts into the jail). */
static void copy_file(const char *src, const char *dst)
{
	size_t len = 0;
	void *d = read_whole_file(src, &len);
	FILE *f = fopen(dst, "w");

	ck_assert_msg(d && f, "copy %s -> %s", src, dst);
	ck_assert_uint_eq(fwrite(d, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
	free(d);
}

/* _i: 0 build/wisp, 1 installed as firecracker, 2 the same jailed as
 * runtime-rs jails it (firecracker/inner.rs prepare_vmm and
 * inner_hypervisor.rs prepare_vm: vm_path <base>/firecracker/<id> is
 * hard-coded whatever the binary is called, <vm_path>/root/run made
 * first, the jailer run in the netns without --daemonize: `--id --gid 0
 * --uid 0 --exec-file <firecracker> --chroot-base-dir <base> -- --api-sock
 * /run//fc.sock`; fc_api.rs: resources bind-mounted into the root and named
 * "/vmlinux", "/rootfs", placeholders "//drive<N>" (its "/" + "/drive<N>"),
 * uds_path "kata.hvsock" relative to the root). */
START_TEST(kata_rs_api)
{
	const bool jailed = _i == 2;
	char *sock, *hv, bodybuf[1024], *body = bodybuf, *rootfs, *jroot = NULL, *kernel;
	struct wisp w;
	int fd;

	if (jailed) {
		char *cmd;

		if (!is_static_exe(fc_bin) || !is_static_exe(build_path("wisp-jailer"))) {
			fprintf(stderr, "kata_rs_api jailed: wisp is not static (sanitizer build): "
					"skipped\n");
			return;
		}
		jroot = tpath("kata/firecracker/kata-rs/root");
		ck_assert_int_ge(asprintf(&cmd, "mkdir -p '%s/run'", jroot), 0);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
		sock = jpath(jroot, "run/fc.sock");
		hv = jpath(jroot, "kata.hvsock");
		rootfs = jpath(jroot, "rootfs");
		kernel = jpath(jroot, "vmlinux");
		copy_file(build_path("wisp-testguest"), kernel);
		{
			FILE *f = fopen(rootfs, "w");

			ck_assert_ptr_nonnull(f);
			fputs("rootfs image", f);
			fclose(f);
		}
		{
			char *base = tpath("kata");
			const char *argv[24];
			int i = netns_exec_prefix(argv, ns);

			memset(&w, 0, sizeof(w));
			argv[i++] = jailer_bin;
			argv[i++] = "--id";
			argv[i++] = "kata-rs";
			argv[i++] = "--gid";
			argv[i++] = "0";
			argv[i++] = "--uid";
			argv[i++] = "0";
			argv[i++] = "--exec-file";
			argv[i++] = fc_bin;
			argv[i++] = "--chroot-base-dir";
			argv[i++] = base;
			argv[i++] = "--";
			argv[i++] = "--api-sock";
			argv[i++] = "/run//fc.sock";
			argv[i] = NULL;
			ck_assert_int_eq(proc_spawn(&w.p, (char *const *)argv), 0);
			ck_assert_msg(api_wait_socket(sock, 20000), "no API socket at %s\n%s", sock,
				      w.p.err.data);
			snprintf(w.sock, sizeof(w.sock), "%s", sock);
			api_client_init(&w.c, sock);
			w.up = true;
			free(base);
		}
	} else {
		sock = tpath("fc.sock");
		hv = tpath("kata.hvsock");
		rootfs = write_tmp_data("rootfs", "rootfs image", 12);
		kernel = strdup(build_path("wisp-testguest"));
		spawn_bin(&w, vmm_bin(_i), sock, "kata-rs", ns);
	}
	snprintf(body, sizeof(bodybuf),
		 "{\"boot_args\":\"console=hvc0 pci=off iommu=off root=/dev/vda1 ro "
		 "rootfstype=ext4 wtest=vsock\",\"kernel_image_path\":\"%s\"}",
		 jailed ? "/vmlinux" : kernel);
	CALL(&w, "PUT", "/boot-source", body, 204);
	CALL(&w, "PUT", "/machine-config", "{\"mem_size_mib\":128,\"vcpu_count\":1}", 204);
	snprintf(body, sizeof(bodybuf),
		 "{\"drive_id\":\"rootfs\",\"is_read_only\":true,\"is_root_device\":false,"
		 "\"path_on_host\":\"%s\"}",
		 jailed ? "/rootfs" : rootfs);
	CALL(&w, "PUT", "/drives/rootfs", body, 204);
	/* DISK_POOL_SIZE 6: drive1..drive5. */
	for (int k = 1; k < 6; k++) {
		char name[16], path[64], vpath[64], *p;

		snprintf(name, sizeof(name), "drive%d", k);
		p = jailed ? jpath(jroot, name) : tpath(name);
		close(open(p, O_CREAT | O_TRUNC | O_WRONLY, 0644));
		snprintf(vpath, sizeof(vpath), "//%s", name);
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"%s\",\"is_read_only\":false,\"is_root_device\":false,"
			 "\"path_on_host\":\"%s\"}",
			 name, jailed ? vpath : p);
		snprintf(path, sizeof(path), "/drives/%s", name);
		CALL(&w, "PUT", path, body, 204);
		free(p);
	}
	snprintf(body, sizeof(bodybuf), "{\"guest_cid\":3,\"uds_path\":\"%s\",\"vsock_id\":\"root\"}",
		 jailed ? "kata.hvsock" : hv);
	CALL(&w, "PUT", "/vsock", body, 204);
	CALL(&w, "PUT", "/network-interfaces/eth0",
	     "{\"guest_mac\":null,\"host_dev_name\":\"tap0_kata\",\"iface_id\":\"eth0\"}", 204);
	CALL(&w, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", 204);

	fd = hv_connect(hv, 1024);
	agent_exchange(fd);
	/* patch_container_rootfs: no limits configured -> null buckets. Jailed,
	 * the container's device is bind-mounted over <root>/drive<N> and
	 * named "/drive<N>". */
	{
		char *img = write_tmp_data("ctr-rootfs", "container", 9);

		if (jailed) {
			char *d1 = jpath(jroot, "drive1");

			copy_file(img, d1);
			free(d1);
		}
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"drive1\",\"path_on_host\":\"%s\","
			 "\"rate_limiter\":{\"bandwidth\":null,\"ops\":null}}",
			 jailed ? "/drive1" : img);
		CALL(&w, "PATCH", "/drives/drive1", body, 204);
		/* With limits configured (disk_rate_limiter_bw_max_rate and ops). */
		snprintf(body, sizeof(bodybuf),
			 "{\"drive_id\":\"drive2\",\"path_on_host\":\"%s\","
			 "\"rate_limiter\":{\"bandwidth\":{\"size\":10485760,\"one_time_burst\":0,"
			 "\"refill_time\":1000},\"ops\":{\"size\":1000,\"one_time_burst\":0,"
			 "\"refill_time\":1000}}}",
			 jailed ? "/drive1" : img);
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
	free(kernel);
	free(jroot);
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

	spawn_bin(&w, vmm_bin(_i), sock, "fc-ctrd", ns);
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
	/* _i 0: build/wisp; 1: installed as firecracker. */
	/* kata_go_config_file also _i 2: jailed. */
	tcase_add_loop_test(tc, kata_go_config_file, 0, 3);
	tcase_add_loop_test(tc, kata_rs_api, 0, 3);   /* also _i 2: jailed */
	tcase_add_loop_test(tc, fc_containerd_sdk, 0, 2);
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
