/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_api.c — build/wisp driven through its API socket with libcurl, the
 * way a Firecracker client drives Firecracker: the getting-started sequence,
 * every endpoint's happy path and refusals (pre-/post-boot rules, bad
 * bodies, ids, sizes, paths), pause/resume on the ticker, Ctrl-Alt-Del, the
 * configuration document round trip, drive swaps, logger, metrics, load
 * (1,000 requests on one connection, 100 connections at once) and
 * --config-file together with --api-sock.
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
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_metrics.h"

#define START_TIMEOUT_MS 20000
#define GUEST_TIMEOUT_MS 60000

#define NOT_AFTER "The requested operation is not supported after starting the microVM."
#define NOT_BEFORE "The requested operation is not supported before starting the microVM."

struct wisp {
	struct proc p;
	char sock[100];
	struct api_client c;
};

static const char *tdir;

static const char *tmpdir_make_once(void)
{
	if (!tdir)
		tdir = tmpdir_make();
	return tdir;
}

static void teardown(void)
{
	tmpdir_cleanup();
	tdir = NULL;
}

static char *tmp_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir_make_once(), name) < 0)
		abort();
	return p;
}

/* Start build/wisp --api-sock <tmp>/<sockname> --id vm1 [extra...]. */
static void wisp_start(struct wisp *w, const char *sockname, const char *const *extra)
{
	char *argv[32];
	int i = 0;
	char *sock = tmp_path(sockname);

	snprintf(w->sock, sizeof(w->sock), "%s", sock);
	free(sock);
	argv[i++] = (char *)build_path("wisp");
	argv[i++] = "--api-sock";
	argv[i++] = w->sock;
	argv[i++] = "--id";
	argv[i++] = "vm1";
	for (; extra && *extra && i < 30; extra++)
		argv[i++] = (char *)*extra;
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w->p, argv), 0);
	proc_close_stdin(&w->p);
	if (!api_wait_socket(w->sock, START_TIMEOUT_MS)) {
		proc_finish(&w->p, 1000);
		ck_abort_msg("wisp did not open its socket\nstdout:\n%s\nstderr:\n%s", w->p.out.data,
			     w->p.err.data);
	}
	api_client_init(&w->c, w->sock);
}

static void wisp_stop(struct wisp *w)
{
	if (!w->p.exited) {
		proc_signal(&w->p, SIGTERM);
		proc_finish(&w->p, 20000);
	}
	api_client_free(&w->c);
	proc_free(&w->p);
}

static char *boot_source_json(const char *args)
{
	char *b;

	if (asprintf(&b, "{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}",
		     build_path("wisp-testguest"), args) < 0)
		abort();
	return b;
}

/* Configure and start the ticker; wait for its first tick. */
static void boot_ticker(struct wisp *w)
{
	char *bs = boot_source_json("wtest=ticker");

	CALL(w, "PUT", "/boot-source", bs, 204);
	CALL(w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
	CALL(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert_msg(proc_wait_for(&w->p, "TICK 1", GUEST_TIMEOUT_MS), "no TICK\n%s\n%s",
		      w->p.out.data, w->p.err.data);
	free(bs);
}

static json_t *body_json(struct wisp *w)
{
	json_error_t e;
	json_t *j = json_loads(w->c.body, 0, &e);

	ck_assert_msg(j != NULL, "not JSON: %s (%s)", w->c.body, e.text);
	return j;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!f)
		return strdup("");
	n = getdelim(&buf, &cap, 0, f);
	fclose(f);
	if (n < 0) {
		free(buf);
		return strdup("");
	}
	return buf;
}

/* ------------------------------------------------------------------ */

START_TEST(getting_started_sequence)
{
	struct wisp w;
	json_t *j;

	wisp_start(&w, "api.sock", NULL);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"state\":\"Not started\""));
	boot_ticker(&w);
	CALL(&w, "GET", "/", NULL, 200);
	j = body_json(&w);
	ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "vm1");
	ck_assert_str_eq(json_string_value(json_object_get(j, "state")), "Running");
	ck_assert_str_eq(json_string_value(json_object_get(j, "app_name")), "wisp");
	ck_assert_ptr_nonnull(json_string_value(json_object_get(j, "vmm_version")));
	json_decref(j);
	CALL(&w, "GET", "/version", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "firecracker_version"));
	CALL(&w, "GET", "/machine-config", NULL, 200);
	j = body_json(&w);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "vcpu_count")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "mem_size_mib")), 128);
	json_decref(j);
	/* One curl handle, one connection for all of it. */
	ck_assert_int_eq(w.c.connects, 1);
	wisp_stop(&w);
}
END_TEST

START_TEST(preboot_happy_paths_and_refusals)
{
	struct wisp w;
	char *drive = tmp_path("d.img"), *body;
	int fd = open(drive, O_CREAT | O_WRONLY, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	wisp_start(&w, "api.sock", NULL);

	/* Operations that need a running VM. */
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", NOT_BEFORE);
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", NOT_BEFORE);
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", NOT_BEFORE);
	FAULT(&w, "PATCH", "/drives/d", "{\"drive_id\": \"d\", \"path_on_host\": \"x\"}", NOT_BEFORE);
	FAULT(&w, "PATCH", "/network-interfaces/e", "{\"iface_id\": \"e\"}", NOT_BEFORE);
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	      "without a boot source");

	/* Happy paths of every pre-boot PUT/PATCH. */
	CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": false}",
	     204);
	CALL(&w, "PATCH", "/machine-config", "{\"mem_size_mib\": 96}", 204);
	CALL(&w, "GET", "/machine-config", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"vcpu_count\":2"));
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"mem_size_mib\":96"));
	if (asprintf(&body, "{\"drive_id\": \"d\", \"path_on_host\": \"%s\", \"is_root_device\": "
		     "false, \"is_read_only\": true}", drive) < 0)
		abort();
	CALL(&w, "PUT", "/drives/d", body, 204);
	free(body);
	CALL(&w, "PUT", "/network-interfaces/eth0",
	     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"wisp-no-tap0\", \"guest_mac\": "
	     "\"06:00:ac:10:00:02\"}", 204);
	CALL(&w, "PUT", "/logger", "{\"level\": \"Info\", \"show_level\": false}", 204);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"drive_id\":\"d\""));
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"iface_id\":\"eth0\""));
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"mem_size_mib\":96"));

	/* Refusals that change nothing. */
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 64}",
	      "The vCPU number is invalid");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 64}",
	      "The vCPU number is invalid");
	FAULT(&w, "PUT", "/machine-config",
	      "{\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true}", "The vCPU number is invalid");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}",
	      "The memory size (MiB) is invalid");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": \"1\", \"mem_size_mib\": 64}",
	      "machine-config.vcpu_count: expected an integer");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"x\": 1}",
	      "machine-config.x: unknown field");
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1,", "");
	FAULT(&w, "PUT", "/machine-config", NULL, "The request body is empty");
	FAULT(&w, "PATCH", "/machine-config", "{\"vcpu_count\": 40}", "The vCPU number is invalid");
	CALL(&w, "GET", "/machine-config", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"vcpu_count\":2"));
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"mem_size_mib\":96"));

	FAULT(&w, "PUT", "/boot-source", "{\"kernel_image_path\": \"/nonexistent/vmlinux\"}",
	      "kernel_image_path: cannot open /nonexistent/vmlinux");
	/* A FIFO (nobody writes to it) is refused at once, not waited on. */
	{
		char fifo[300], fbody[512];

		snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir_make_once());
		ck_assert_int_eq(mkfifo(fifo, 0600), 0);
		snprintf(fbody, sizeof(fbody), "{\"kernel_image_path\": \"%s\"}", fifo);
		FAULT(&w, "PUT", "/boot-source", fbody, "is not a regular file");
		snprintf(fbody, sizeof(fbody),
			 "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\"}",
			 build_path("wisp-testguest"), fifo);
		FAULT(&w, "PUT", "/boot-source", fbody, "initrd_path");
		snprintf(fbody, sizeof(fbody),
			 "{\"drive_id\": \"f\", \"path_on_host\": \"%s\", \"is_root_device\": false}",
			 fifo);
		FAULT(&w, "PUT", "/drives/f", fbody, "is not a regular file");
	}
	FAULT(&w, "PUT", "/boot-source", "{\"boot_args\": \"x\"}",
	      "boot-source.kernel_image_path: missing required field");
	FAULT(&w, "PUT", "/drives/a", "{\"drive_id\": \"b\", \"path_on_host\": \"/x\", "
	      "\"is_root_device\": false}",
	      "The id from the path does not match the id from the body! (the id from the path "
	      "[a], from the body [b])");
	FAULT(&w, "PUT", "/network-interfaces/a", "{\"iface_id\": \"b\", \"host_dev_name\": \"t\"}",
	      "does not match the id from the body");
	FAULT(&w, "PUT", "/drives/z", "{\"drive_id\": \"z\", \"path_on_host\": \"/nonexistent\", "
	      "\"is_root_device\": false}", "path_on_host: cannot open /nonexistent");
	FAULT(&w, "PUT", "/network-interfaces/e2",
	      "{\"iface_id\": \"e2\", \"host_dev_name\": \"t2\", \"guest_mac\": \"aa:bb\"}",
	      "network-interfaces.guest_mac: invalid MAC address");
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"Reboot\"}", "action_type");
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Sleeping\"}", "state");
	FAULT(&w, "PUT", "/logger", "{\"level\": \"Loud\"}", "level");
	FAULT(&w, "PUT", "/logger", "{\"log_path\": \"/nonexistent/dir/w.log\"}",
	      "log_path: cannot open /nonexistent/dir/w.log: No such file or directory");
	FAULT(&w, "PUT", "/metrics", "{}", "metrics.metrics_path: missing required field");
	FAULT(&w, "PUT", "/metrics", "{\"metrics_path\": \"/nonexistent/dir/m\"}",
	      "metrics_path: cannot open /nonexistent/dir/m");
	/* Paths and methods. */
	FAULT(&w, "GET", "/no-such-path", NULL, "Invalid request method and/or path: GET /no-such-path.");
	FAULT(&w, "POST", "/actions", "{\"action_type\": \"InstanceStart\"}",
	      "Invalid request method and/or path: POST /actions.");
	FAULT(&w, "DELETE", "/machine-config", NULL, "Invalid request method and/or path");
	FAULT(&w, "PUT", "/vsock", "{}", "vsock.guest_cid: missing required field");
	FAULT(&w, "GET", "/balloon", NULL, "Balloon config error: No balloon device found.");
	FAULT(&w, "PUT", "/snapshot/create", "{}", "missing field `snapshot_path`");
	FAULT(&w, "PUT", "/mmds", "{}", "/mmds is not supported by wisp.");
	FAULT(&w, "PUT", "/entropy", "{\"a\": 1}", "entropy.a: unknown field");

	/* Still not started, still answering. */
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Not started"));
	free(drive);
	wisp_stop(&w);
}
END_TEST

START_TEST(oversized_and_malformed_requests)
{
	struct wisp w;
	size_t n = 60000;
	char *req = malloc(n + 256), *resp;
	int hl;

	wisp_start(&w, "api.sock", NULL);
	hl = sprintf(req, "PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
	memset(req + hl, ' ', n);
	resp = api_raw(w.sock, req, (size_t)hl + n, 10000);
	ck_assert_int_eq(api_raw_status(resp), 400);
	ck_assert_msg(strstr(resp, "Request payload with size 60000 is larger than the limit of 51200 "
			     "allowed by server."), "%s", resp);
	free(resp);
	free(req);

	resp = api_raw(w.sock, "GARBAGE\r\n\r\n", 11, 5000);
	ck_assert_int_eq(api_raw_status(resp), 400);
	ck_assert_ptr_nonnull(strstr(resp, "fault_message"));
	free(resp);
	resp = api_raw(w.sock, "PUT /actions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 53, 5000);
	ck_assert_int_eq(api_raw_status(resp), 400);
	free(resp);
	/* The server still answers. */
	CALL(&w, "GET", "/", NULL, 200);
	wisp_stop(&w);

	/* --http-api-max-payload-size moves the limit, both ways. */
	{
		static const char *const small[] = { "--http-api-max-payload-size", "64", NULL };
		static const char *const big[] = { "--http-api-max-payload-size", "70000", NULL };

		wisp_start(&w, "api2.sock", small);
		/* Firecracker's answer: { "error": "..." } (not fault_message) */
		ck_assert_int_eq(api_call(&w.c, "PUT", "/machine-config",
					  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, "
					  "\"track_dirty_pages\": false}"), 400);
		ck_assert_msg(strstr(w.c.body, "{ \"error\": \"Request payload with size 80 is larger "
				     "than the limit of 64 allowed by server.\n"), "%s", w.c.body);
		CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
		wisp_stop(&w);

		req = malloc(n + 256);
		wisp_start(&w, "api3.sock", big);
		hl = sprintf(req, "PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n"
			     "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", n);
		memset(req + hl, ' ', n - 38);
		resp = api_raw(w.sock, req, (size_t)hl + n - 38, 10000);
		ck_assert_msg(api_raw_status(resp) == 204, "%s", resp);
		free(resp);
		free(req);
		wisp_stop(&w);
	}
}
END_TEST

START_TEST(postboot_rules)
{
	struct wisp w;
	char *bs = boot_source_json("wtest=ticker");

	wisp_start(&w, "api.sock", NULL);
	boot_ticker(&w);
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", NOT_AFTER);
	FAULT(&w, "PUT", "/boot-source", bs, NOT_AFTER);
	FAULT(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", NOT_AFTER);
	FAULT(&w, "PATCH", "/machine-config", "{\"mem_size_mib\": 64}", NOT_AFTER);
	FAULT(&w, "PUT", "/drives/x", "{\"drive_id\": \"x\", \"path_on_host\": \"/etc/hostname\", "
	      "\"is_root_device\": false}", NOT_AFTER);
	FAULT(&w, "PUT", "/network-interfaces/x", "{\"iface_id\": \"x\", \"host_dev_name\": \"t\"}",
	      NOT_AFTER);
	FAULT(&w, "PUT", "/logger", "{\"level\": \"Debug\"}", NOT_AFTER);
	FAULT(&w, "PUT", "/metrics", "{\"metrics_path\": \"/tmp/x\"}", NOT_AFTER);
	FAULT(&w, "PATCH", "/drives/nope", "{\"drive_id\": \"nope\", \"path_on_host\": \"/x\"}",
	      "no drive with id 'nope'");
	FAULT(&w, "PATCH", "/network-interfaces/nope", "{\"iface_id\": \"nope\"}",
	      "no network interface with id 'nope'");
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}",
	      "metrics are not configured");
	/* A bad body is still refused by validation first. */
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"paused\"}", "state");
	CALL(&w, "GET", "/machine-config", NULL, 200);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"Running\""));
	/* The guest kept running through all of it. */
	ck_assert(proc_wait_for(&w.p, "TICK 3", GUEST_TIMEOUT_MS));
	free(bs);
	wisp_stop(&w);
}
END_TEST

START_TEST(pause_and_resume_stop_and_continue_the_ticker)
{
	struct wisp w;
	int before, after;
	char want[32];

	wisp_start(&w, "api.sock", NULL);
	boot_ticker(&w);
	ck_assert(proc_wait_for(&w.p, "TICK 3", GUEST_TIMEOUT_MS));
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"state\":\"Paused\""));
	/* Pausing twice is fine (as in Firecracker). */
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	proc_wait_for(&w.p, "\x01never", 300);     /* drain what was printed before */
	before = count_substr(w.p.out.data, "TICK ");
	proc_wait_for(&w.p, "\x01never", 1200);
	after = count_substr(w.p.out.data, "TICK ");
	ck_assert_msg(after == before, "ticks while paused: %d -> %d", before, after);

	CALL(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"state\":\"Running\""));
	snprintf(want, sizeof(want), "TICK %d", before + 2);
	ck_assert_msg(proc_wait_for(&w.p, want, GUEST_TIMEOUT_MS), "no %s after resume:\n%s", want,
		      w.p.out.data);
	wisp_stop(&w);
}
END_TEST

START_TEST(ctrl_alt_del_ends_the_ticker_and_wisp)
{
	struct wisp w;

	wisp_start(&w, "api.sock", NULL);
	boot_ticker(&w);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204);
	ck_assert(proc_finish(&w.p, GUEST_TIMEOUT_MS));
	ck_assert_msg(strstr(w.p.out.data, "WTEST ticker PASS"), "%s", w.p.out.data);
	ck_assert_int_eq(w.p.status, 0);
	ck_assert_msg(access(w.sock, F_OK) != 0, "socket left behind");
	wisp_stop(&w);
}
END_TEST

START_TEST(vm_config_document_boots_the_same_vm)
{
	struct wisp w, w2;
	char *drive = tmp_path("data.img"), *body, *doc1, *cfg;
	const char *extra[] = { "--config-file", NULL, NULL };
	int fd = open(drive, O_CREAT | O_WRONLY, 0600);
	json_t *a, *b;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	wisp_start(&w, "api.sock", NULL);
	if (asprintf(&body, "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", \"is_root_device\": "
		     "false}", drive) < 0)
		abort();
	CALL(&w, "PUT", "/drives/data", body, 204);
	free(body);
	body = boot_source_json("wtest=ticker");
	CALL(&w, "PUT", "/boot-source", body, 204);
	free(body);
	CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}", 204);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert(proc_wait_for(&w.p, "TICK 1", GUEST_TIMEOUT_MS));
	CALL(&w, "GET", "/vm/config", NULL, 200);
	doc1 = strdup(w.c.body);
	a = body_json(&w);
	ck_assert_ptr_nonnull(json_object_get(a, "boot-source"));
	ck_assert_int_eq(json_array_size(json_object_get(a, "drives")), 1);

	/* The document, fed back through --config-file with --api-sock. */
	cfg = write_tmp_file("vm.json", doc1);
	extra[1] = cfg;
	wisp_start(&w2, "api2.sock", extra);
	ck_assert_msg(proc_wait_for(&w2.p, "TICK 1", GUEST_TIMEOUT_MS), "%s\n%s", w2.p.out.data,
		      w2.p.err.data);
	CALL(&w2, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w2.c.body, "\"state\":\"Running\""));
	CALL(&w2, "GET", "/vm/config", NULL, 200);
	b = body_json(&w2);
	ck_assert_msg(json_equal(a, b), "documents differ:\n%s\n%s", doc1, w2.c.body);
	/* The API stays up and applies post-boot rules. */
	body = boot_source_json("wtest=hello");
	FAULT(&w2, "PUT", "/boot-source", body, NOT_AFTER);
	free(body);
	CALL(&w2, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204);
	ck_assert(proc_finish(&w2.p, GUEST_TIMEOUT_MS));
	ck_assert_int_eq(w2.p.status, 0);
	ck_assert_ptr_nonnull(strstr(w2.p.out.data, "WTEST ticker PASS"));
	json_decref(a);
	json_decref(b);
	free(doc1);
	free(cfg);
	free(drive);
	wisp_stop(&w2);
	wisp_stop(&w);
}
END_TEST

static char *make_image(const char *name, off_t size)
{
	char *p = tmp_path(name);
	int fd = open(p, O_CREAT | O_RDWR, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, size), 0);
	close(fd);
	return p;
}

START_TEST(patch_drive_swaps_the_backing_file_after_boot)
{
	struct wisp w;
	char *a = make_image("a.img", 1 << 20), *b = make_image("b.img", 2 << 20), *body;

	wisp_start(&w, "api.sock", NULL);
	if (asprintf(&body, "{\"drive_id\": \"data\", \"path_on_host\": \"%s\", "
		     "\"is_root_device\": false}", a) < 0)
		abort();
	CALL(&w, "PUT", "/drives/data", body, 204);
	free(body);
	boot_ticker(&w);
	if (asprintf(&body, "{\"drive_id\": \"data\", \"path_on_host\": \"%s\"}", b) < 0)
		abort();
	CALL(&w, "PATCH", "/drives/data", body, 204);
	free(body);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_msg(strstr(w.c.body, b) && !strstr(w.c.body, a), "%s", w.c.body);
	ck_assert(proc_wait_for(&w.p, "now backed by", 5000));

	/* A file that cannot be opened: refused, nothing changes. */
	FAULT(&w, "PATCH", "/drives/data",
	      "{\"drive_id\": \"data\", \"path_on_host\": \"/nonexistent/c.img\"}", "path_on_host");
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, b));
	FAULT(&w, "PATCH", "/drives/other", "{\"drive_id\": \"data\"}",
	      "does not match the id from the body");
	/* Only the id: refused as Firecracker does (a virtio-blk drive has no
	 * vhost-user config to update). */
	FAULT(&w, "PATCH", "/drives/data", "{\"drive_id\": \"data\"}",
	      "Running method expected different backend.");
	free(a);
	free(b);
	wisp_stop(&w);
}
END_TEST

START_TEST(logger_writes_lines_with_level_to_log_path)
{
	struct wisp w;
	char *log = tmp_path("wisp.log"), *body, *text;

	wisp_start(&w, "api.sock", NULL);
	if (asprintf(&body, "{\"log_path\": \"%s\", \"level\": \"Info\", \"show_level\": true, "
		     "\"show_log_origin\": true}", log) < 0)
		abort();
	CALL(&w, "PUT", "/logger", body, 204);
	free(body);
	boot_ticker(&w);
	text = read_file(log);
	ck_assert_msg(strstr(text, "[vm1:main:INFO:") && strstr(text, "VM started"),
		      "log file:\n%s", text);
	ck_assert_msg(strstr(text, ".c:"), "no origin in:\n%s", text);
	free(text);
	/* The document records the logger. */
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"show_level\":true"));
	free(log);
	wisp_stop(&w);
}
END_TEST

static json_t *last_metrics_line(const char *path, int *nlines)
{
	char *text = read_file(path), *last = NULL, *save = NULL;
	json_t *j = NULL;
	json_error_t e;
	int n = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *k = json_loads(l, 0, &e);

		ck_assert_msg(k != NULL, "metrics line is not JSON: %s (%s)", l, e.text);
		json_decref(k);
		last = l;
		n++;
	}
	if (last)
		j = json_loads(last, 0, &e);
	free(text);
	if (nlines)
		*nlines = n;
	return j;
}

static json_int_t jget(json_t *root, const char *sec, const char *key)
{
	json_t *s = json_object_get(root, sec), *v = s ? json_object_get(s, key) : NULL;

	ck_assert_msg(json_is_integer(v), "metrics: %s.%s missing", sec, key);
	return json_integer_value(v);
}

START_TEST(metrics_flush_writes_firecracker_lines)
{
	struct wisp w;
	char *m = tmp_path("metrics.json"), *body;
	json_t *j;
	int n;

	wisp_start(&w, "api.sock", NULL);
	if (asprintf(&body, "{\"metrics_path\": \"%s\"}", m) < 0)
		abort();
	CALL(&w, "PUT", "/metrics", body, 204);
	FAULT(&w, "PUT", "/metrics", body, "Reinitialization of metrics not allowed.");
	free(body);
	boot_ticker(&w);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	/* One line when the microVM started (as Firecracker), one for FlushMetrics. */
	j = last_metrics_line(m, &n);
	ck_assert_int_eq(n, 2);
	ck_assert(json_is_integer(json_object_get(j, "utc_timestamp_ms")));
	json_decref(j);
	j = it_metrics_summed(m, &n);
	ck_assert_int_gt(jget(j, "api_server", "process_startup_time_us"), 0);
	ck_assert_int_eq(jget(j, "put_api_requests", "metrics_count"), 2);
	ck_assert_int_eq(jget(j, "put_api_requests", "metrics_fails"), 1);
	ck_assert_int_eq(jget(j, "put_api_requests", "boot_source_count"), 1);
	/* InstanceStart and this FlushMetrics: requests count when they arrive */
	ck_assert_int_eq(jget(j, "put_api_requests", "actions_count"), 2);
	ck_assert_int_gt(jget(j, "vcpu", "exit_io_out"), 0);
	ck_assert_int_gt(jget(j, "uart", "write_count"), 0);
	ck_assert_int_eq(jget(j, "seccomp", "num_faults"), 0);
	jget(j, "block", "read_bytes");
	jget(j, "net", "tx_bytes_count");
	jget(j, "logger", "missed_metrics_count");
	jget(j, "logger", "missed_log_count");
	jget(j, "get_api_requests", "instance_info_count");
	jget(j, "patch_api_requests", "drive_count");
	json_decref(j);

	/* Counters are deltas: the second line only sees this flush. */
	CALL(&w, "GET", "/", NULL, 200);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	j = last_metrics_line(m, &n);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(jget(j, "put_api_requests", "actions_count"), 1);
	ck_assert_int_eq(jget(j, "put_api_requests", "boot_source_count"), 0);
	ck_assert_int_eq(jget(j, "get_api_requests", "instance_info_count"), 1);
	ck_assert_int_gt(jget(j, "api_server", "process_startup_time_us"), 0); /* absolute */
	json_decref(j);

	/* At exit: one more line. */
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204);
	ck_assert(proc_finish(&w.p, GUEST_TIMEOUT_MS));
	ck_assert_int_eq(w.p.status, 0);
	j = last_metrics_line(m, &n);
	ck_assert_int_eq(n, 4);
	/* SendCtrlAltDel, counted even though wisp exits right after it */
	ck_assert_int_eq(jget(j, "put_api_requests", "actions_count"), 1);
	json_decref(j);
	free(m);
	wisp_stop(&w);
}
END_TEST

START_TEST(metrics_to_a_full_fifo_lose_lines_but_never_block)
{
	struct wisp w;
	char *fifo = tmp_path("metrics.fifo"), *body, *buf;
	int ok = 0, full = 0, rfd, lines = 0;
	size_t cap = 1 << 22, got = 0;
	json_t *j = NULL;

	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	wisp_start(&w, "api.sock", NULL);
	if (asprintf(&body, "{\"metrics_path\": \"%s\"}", fifo) < 0)
		abort();
	CALL(&w, "PUT", "/metrics", body, 204);   /* nobody reads the FIFO yet */
	free(body);
	boot_ticker(&w);
	for (int i = 0; i < 400 && !full; i++) {
		long st = api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}");

		if (st == 204) {
			ok++;
		} else {
			ck_assert_int_eq(st, 400);
			ck_assert_msg(strstr(w.c.body, "the metrics destination is full"), "%s",
				      w.c.body);
			full = 1;
		}
	}
	ck_assert_msg(full && ok > 0, "ok %d full %d", ok, full);
	/* The VMM is not blocked. */
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Running"));

	/* Drain the pipe, then flush once more: a line the full pipe took only
	 * in part is completed first, so the stream holds whole lines only,
	 * one per successful flush, and the last one counts what was lost. */
	rfd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rfd, 0);
	buf = malloc(cap);
	for (;;) {
		ssize_t n = read(rfd, buf + got, cap - got - 1);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ck_assert_msg(got > 0, "nothing in the pipe");
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	for (size_t before = got, tries = 0;
	     tries < 200 && (got == before || buf[got - 1] != '\n'); tries++) {
		ssize_t n = read(rfd, buf + got, cap - got - 1);

		if (n > 0)
			got += (size_t)n;
		else
			usleep(10000);
	}
	buf[got] = 0;
	ck_assert_msg(buf[got - 1] == '\n', "torn stream (%zu bytes)", got);
	for (char *s = buf, *nl; (nl = strchr(s, '\n')); s = nl + 1) {
		json_error_t e;

		*nl = 0;
		json_decref(j);
		j = json_loads(s, 0, &e);
		ck_assert_msg(j != NULL, "bad line %d: %.200s", lines, s);
		lines++;
	}
	/* + the line written when the microVM started + the last flush */
	ck_assert_int_eq(lines, ok + 2);
	ck_assert_int_ge(jget(j, "logger", "missed_metrics_count"), 1);
	json_decref(j);
	close(rfd);
	free(buf);
	free(fifo);
	wisp_stop(&w);
}
END_TEST

START_TEST(metrics_path_flag_writes_a_line_at_exit)
{
	struct wisp w;
	char *m = tmp_path("m.json"), *doc = guest_config("wtest=ticker", NULL, NULL);
	char *cfg = write_tmp_file("vm.json", doc);
	const char *extra[] = { "--metrics-path", m, "--config-file", cfg, NULL };
	json_t *j;
	int n;

	wisp_start(&w, "api.sock", extra);
	ck_assert(proc_wait_for(&w.p, "TICK 2", GUEST_TIMEOUT_MS));
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Running"));
	FAULT(&w, "PUT", "/metrics", "{\"metrics_path\": \"/tmp/other\"}", NOT_AFTER);
	proc_signal(&w.p, SIGTERM);
	ck_assert(proc_finish(&w.p, GUEST_TIMEOUT_MS));
	ck_assert_int_eq(w.p.status, 0);
	/* the line when the microVM started, and the one at exit */
	j = last_metrics_line(m, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_int_gt(jget(j, "vcpu", "exit_io_out"), 0);
	ck_assert_int_eq(jget(j, "get_api_requests", "instance_info_count"), 1);
	json_decref(j);
	free(m);
	free(doc);
	free(cfg);
	wisp_stop(&w);
}
END_TEST

START_TEST(thousand_requests_on_one_connection_while_running)
{
	/* Warning: 2000 request/answer lines at Info would fill the stderr pipe
	 * this test drains only at the end. */
	static const char *const quiet[] = { "--level", "Warning", NULL };
	struct wisp w;

	wisp_start(&w, "api.sock", quiet);
	boot_ticker(&w);
	for (int i = 0; i < 1000; i++) {
		long st;

		if (i % 2) {
			st = api_call(&w.c, "GET", "/", NULL);
			ck_assert_msg(st == 200 && strstr(w.c.body, "\"Running\""), "#%d: %ld %s", i,
				      st, w.c.body);
		} else {
			st = api_call(&w.c, "GET", "/machine-config", NULL);
			ck_assert_msg(st == 200 && strstr(w.c.body, "\"vcpu_count\":1"), "#%d: %ld %s",
				      i, st, w.c.body);
		}
	}
	ck_assert_int_eq(w.c.connects, 1);
	ck_assert(proc_wait_for(&w.p, "TICK 3", GUEST_TIMEOUT_MS));
	wisp_stop(&w);
}
END_TEST

START_TEST(hundred_connections_at_once_while_running)
{
	enum { N = 100 };
	static const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct wisp w;
	int fds[N], answered = 0;
	char *bufs[N];
	size_t lens[N];

	wisp_start(&w, "api.sock", NULL);
	boot_ticker(&w);
	for (int i = 0; i < N; i++) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fds[i], 0);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", w.sock);
		ck_assert_int_eq(connect(fds[i], (struct sockaddr *)&a, sizeof(a)), 0);
		bufs[i] = calloc(1, 4096);
		lens[i] = 0;
	}
	/* All connected before any request; then all requests at once. */
	for (int i = 0; i < N; i++)
		ck_assert_int_eq(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL), sizeof(req) - 1);
	for (int round = 0; round < 2000 && answered < N; round++) {
		struct pollfd p[N];

		for (int i = 0; i < N; i++)
			p[i] = (struct pollfd){ fds[i], POLLIN, 0 };
		if (poll(p, N, 10) <= 0)
			continue;
		for (int i = 0; i < N; i++) {
			ssize_t n;

			if (!(p[i].revents & POLLIN) || fds[i] < 0)
				continue;
			n = recv(fds[i], bufs[i] + lens[i], 4095 - lens[i], 0);
			if (n <= 0)
				continue;
			lens[i] += (size_t)n;
			bufs[i][lens[i]] = 0;
			if (strstr(bufs[i], "\"Running\"") || strstr(bufs[i], "fault_message")) {
				close(fds[i]);
				fds[i] = -1;
				answered++;
			}
		}
	}
	ck_assert_int_eq(answered, N);
	for (int i = 0; i < N; i++) {
		ck_assert_msg(api_raw_status(bufs[i]) == 200 && strstr(bufs[i], "\"id\":\"vm1\""),
			      "connection %d: %s", i, bufs[i]);
		free(bufs[i]);
	}
	CALL(&w, "GET", "/", NULL, 200);
	wisp_stop(&w);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, getting_started_sequence);
	tcase_add_test(tc, preboot_happy_paths_and_refusals);
	tcase_add_test(tc, oversized_and_malformed_requests);
	tcase_add_test(tc, postboot_rules);
	tcase_add_test(tc, pause_and_resume_stop_and_continue_the_ticker);
	tcase_add_test(tc, ctrl_alt_del_ends_the_ticker_and_wisp);
	tcase_add_test(tc, vm_config_document_boots_the_same_vm);
	tcase_add_test(tc, patch_drive_swaps_the_backing_file_after_boot);
	tcase_add_test(tc, logger_writes_lines_with_level_to_log_path);
	tcase_add_test(tc, metrics_flush_writes_firecracker_lines);
	tcase_add_test(tc, metrics_to_a_full_fifo_lose_lines_but_never_block);
	tcase_add_test(tc, metrics_path_flag_writes_a_line_at_exit);
	tcase_add_test(tc, thousand_requests_on_one_connection_while_running);
	tcase_add_test(tc, hundred_connections_at_once_while_running);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
