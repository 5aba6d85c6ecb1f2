/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_vmconfig.c — Firecracker's own expectations about the VM
 * configuration document, --config-file and the serial console, re-expressed
 * against build/wisp with the test guest standing in for Firecracker's
 * Linux guest (each case names the Firecracker test it comes from):
 *   - GET /vm/config: the whole document compared, pre-boot, post-boot and
 *     after a snapshot load (functional/test_api.py);
 *   - --config-file: Firecracker's framework documents load, the "one single
 *     json" log lines, the exit status (functional/test_cmd_line_start.py);
 *   - PUT /serial: output to a file, rate-limited (functional/test_serial_io.py).
 * What needs a Linux guest's user space (ssh, MMDS from the guest) is left
 * out; pmem, mmds-config and memory-hotplug are devices wisp refuses
 * (docs/api.md, "What wisp does not support"): the expected documents keep
 * Firecracker's [] / null for them.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_virtio_util.h"

#define START_MS 20000
#define GUEST_MS 60000

#define NOT_AFTER "The requested operation is not supported after starting the microVM."
#define SUCCESS_LINE "Successfully started microvm that was configured from one single json"
#define FAILED_LINE "Configuration for VMM from one single json failed"

struct wisp {
	struct proc p;
	char sock[200];
	struct api_client c;
	bool up;
};

static const char *tdir;
static char ns[64];

static void setup(void)
{
	tdir = tmpdir_make();
	ns[0] = '\0';
}

static void teardown(void)
{
	if (ns[0])
		netns_delete(ns);
	ns[0] = '\0';
	tmpdir_cleanup();
	tdir = NULL;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tdir, name);
}

/* build/wisp [--api-sock <tmp>/<sockname>] --id vm1 --level Info [extra...]
 * (inside ns when in_ns); with a socket, waits until it accepts. */
static void wisp_start(struct wisp *w, const char *sockname, bool in_ns,
		       const char *const *extra)
{
	const char *argv[40];
	int i = 0;

	memset(w, 0, sizeof(*w));
	if (in_ns)
		i = netns_exec_prefix(argv, ns);
	argv[i++] = build_path("wisp");
	if (sockname) {
		char *s = tmp_path(sockname);

		snprintf(w->sock, sizeof(w->sock), "%s", s);
		free(s);
		argv[i++] = "--api-sock";
		argv[i++] = w->sock;
	}
	argv[i++] = "--id";
	argv[i++] = "vm1";
	argv[i++] = "--level";
	argv[i++] = "Info";
	if (getenv("WISP_IT_NO_SECCOMP"))
		argv[i++] = "--no-seccomp";
	for (; extra && *extra && i < 38; extra++)
		argv[i++] = *extra;
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(&w->p, (char *const *)argv), 0);
	proc_close_stdin(&w->p);
	if (!sockname)
		return;
	if (!api_wait_socket(w->sock, START_MS)) {
		proc_finish(&w->p, 1000);
		ck_abort_msg("wisp did not open its socket\nstdout:\n%s\nstderr:\n%s", w->p.out.data,
			     w->p.err.data);
	}
	api_client_init(&w->c, w->sock);
	w->up = true;
}

static void wisp_kill(struct wisp *w)
{
	if (!w->p.exited) {
		proc_signal(&w->p, SIGKILL);
		proc_finish(&w->p, 10000);
	}
	if (w->up)
		api_client_free(&w->c);
	w->up = false;
	proc_free(&w->p);
}

/* The whole file, NUL-terminated (read_whole_file's buffer is not); NULL
 * if it cannot be read. */
static char *read_text(const char *path, size_t *len)
{
	size_t n = 0;
	char *data = read_whole_file(path, &n), *t;

	if (!data)
		return NULL;
	t = realloc(data, n + 1);
	if (!t) {
		free(data);
		return NULL;
	}
	t[n] = '\0';
	if (len)
		*len = n;
	return t;
}

static char *wait_file_contains(const char *path, const char *needle, int timeout_ms);

static json_t *parse_json(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	ck_assert_msg(j != NULL, "not JSON (%s): %s", e.text, text);
	return j;
}

/* GET /vm/config equals `want` (a JSON text), compared as JSON values the
 * way the Python tests compare dicts. */
static void assert_vm_config(struct wisp *w, const char *want, const char *when)
{
	json_t *a, *b;

	CALL(w, "GET", "/vm/config", NULL, 200);
	a = parse_json(w->c.body);
	b = parse_json(want);
	ck_assert_msg(json_equal(a, b), "%s: GET /vm/config\n  is   %s\n  want %s", when,
		      w->c.body, want);
	json_decref(a);
	json_decref(b);
}

static void assert_state(struct wisp *w, const char *state)
{
	char *want = xasprintf("\"state\":\"%s\"", state);

	CALL(w, "GET", "/", NULL, 200);
	ck_assert_msg(strstr(w->c.body, want), "GET / %s, want %s", w->c.body, want);
	free(want);
}

static char *make_image(const char *name)
{
	char *p = tmp_path(name);

	ck_assert_int_eq(image_create(p, 2048), 0);
	return p;
}

/* Firecracker's tests/framework/vm_config.json as its _configure_vm_from_json
 * writes it (kernel and rootfs replaced, is_read_only true); the boot
 * arguments pick a test-guest scenario. */
static char *fc_vm_config_json(const char *boot_args, const char *rootfs)
{
	return xasprintf(
		"{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\","
		" \"initrd_path\": null},"
		" \"drives\": [{\"drive_id\": \"rootfs\", \"partuuid\": null, \"is_root_device\": true,"
		" \"cache_type\": \"Unsafe\", \"is_read_only\": true, \"path_on_host\": \"%s\","
		" \"io_engine\": \"Sync\", \"rate_limiter\": null, \"socket\": null}],"
		" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": false,"
		" \"track_dirty_pages\": false, \"huge_pages\": \"None\"},"
		" \"cpu-config\": null, \"balloon\": null, \"network-interfaces\": [], \"vsock\": null,"
		" \"logger\": null, \"metrics\": null, \"mmds-config\": null, \"entropy\": null,"
		" \"pmem\": [], \"memory-hotplug\": null}",
		build_path("wisp-testguest"), boot_args, rootfs);
}

/* ------------------------------------------------------------------ */
/* --config-file                                                       */
/* ------------------------------------------------------------------ */

/* Firecracker: functional/test_cmd_line_start.py::test_config_start_with_api */
START_TEST(config_start_with_api)
{
	struct wisp w;
	char *img = make_image("rootfs.img");
	char *doc = fc_vm_config_json("wtest=ticker console=ttyS0 reboot=k panic=1", img);
	char *path = write_tmp_file("vm_config.json", doc);
	const char *extra[] = {"--config-file", path, NULL};

	wisp_start(&w, "api.sock", false, extra);
	ck_assert_msg(proc_wait_for(&w.p, SUCCESS_LINE, GUEST_MS), "no '%s' in:\n%s", SUCCESS_LINE,
		      w.p.err.data);
	assert_state(&w, "Running");
	/* Validate full vm configuration: the document itself. */
	assert_vm_config(&w, doc, "configured from the file");
	ck_assert_ptr_null(strstr(w.p.err.data, FAILED_LINE));
	wisp_kill(&w);
	free(path);
	free(doc);
	free(img);
}
END_TEST

/* Firecracker: functional/test_cmd_line_start.py::test_config_start_no_api
 * (the start line; the thread names are test_fc_cmdline's)
 * Firecracker: functional/test_cmd_line_start.py::test_config_start_no_api_exit
 * (the guest ends the VM: exit status 0) */
START_TEST(config_start_no_api)
{
	struct wisp w;
	char *img = make_image("rootfs.img");
	char *doc = fc_vm_config_json("wtest=hello", img);
	char *path = write_tmp_file("vm_config.json", doc);
	const char *extra[] = {"--no-api", "--config-file", path, NULL};

	wisp_start(&w, NULL, false, extra);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ck_assert_msg(w.p.status == 0 && strstr(w.p.out.data, "WTEST hello PASS"),
		      "status %d\nstdout:\n%s\nstderr:\n%s", w.p.status, w.p.out.data, w.p.err.data);
	ck_assert_msg(count_substr(w.p.err.data, SUCCESS_LINE) == 1, "stderr:\n%s", w.p.err.data);
	ASSERT_CLEAN(&w.p);
	wisp_kill(&w);
	free(path);
	free(doc);
	free(img);
}
END_TEST

/* Firecracker: functional/test_cmd_line_start.py::test_config_bad_machine_config
 * (vm_config_missing_vcpu_count.json, vm_config_missing_mem_size_mib.json) */
static const char *const bad_machine[] = {
	"{\"mem_size_mib\": 1024, \"smt\": false, \"track_dirty_pages\": false}",
	"{\"vcpu_count\": 2, \"smt\": false, \"track_dirty_pages\": false}",
};
static const char *const bad_machine_field[] = {"missing field `vcpu_count`",
						"missing field `mem_size_mib`"};

START_TEST(config_bad_machine_config)
{
	struct wisp w;
	char *img = make_image("rootfs.img");
	char *doc = xasprintf(
		"{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=hello\"},"
		" \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
		" \"is_root_device\": true, \"is_read_only\": false}],"
		" \"machine-config\": %s}", build_path("wisp-testguest"), img, bad_machine[_i]);
	char *path = write_tmp_file("vm_config.json", doc);
	const char *extra[] = {"--no-api", "--config-file", path, NULL};

	wisp_start(&w, NULL, false, extra);
	ck_assert(proc_finish(&w.p, START_MS));
	ck_assert_msg(strstr(w.p.err.data, FAILED_LINE) &&
		      strstr(w.p.err.data, "RunWithoutApiError error: Failed to build MicroVM "
					   "from Json: " FAILED_LINE),
		      "stderr:\n%s", w.p.err.data);
	ck_assert_msg(strstr(w.p.err.data, bad_machine_field[_i]), "no '%s' in:\n%s",
		      bad_machine_field[_i], w.p.err.data);
	/* Firecracker's main() ends with GenericError (1) here. */
	ck_assert_int_eq(w.p.status, 1);
	ck_assert_ptr_null(strstr(w.p.err.data, SUCCESS_LINE));
	ck_assert_ptr_null(strstr(w.p.out.data, "wisp-testguest"));
	ASSERT_CLEAN(&w.p);
	wisp_kill(&w);
	free(path);
	free(doc);
	free(img);
}
END_TEST

/* Firecracker: functional/test_cmd_line_start.py::test_config_machine_config_params
 * (vm_config_smt_true.json must start on x86; vm_config_cpu_template_C3.json
 * starts where the host takes C3, else fails with one of its two lines) */
static const char *const params_machine[] = {
	"{\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": true}",
	"{\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"cpu_template\": \"C3\"}",
};

START_TEST(config_machine_config_params)
{
	struct wisp w;
	char *img = make_image("rootfs.img");
	char *doc = xasprintf(
		"{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=hello\"},"
		" \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
		" \"is_root_device\": true, \"is_read_only\": true}],"
		" \"machine-config\": %s}", build_path("wisp-testguest"), img, params_machine[_i]);
	char *path = write_tmp_file("vm_config.json", doc);
	const char *extra[] = {"--no-api", "--config-file", path, NULL};
	bool ok, failed;

	wisp_start(&w, NULL, false, extra);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ok = strstr(w.p.err.data, SUCCESS_LINE) != NULL;
	failed = strstr(w.p.err.data, "Failed to build MicroVM from Json") != NULL ||
		 strstr(w.p.err.data, "Could not Start MicroVM from one single json") != NULL;
	if (_i == 0)
		ck_assert_msg(ok && !failed && w.p.status == 0, "status %d\nstderr:\n%s",
			      w.p.status, w.p.err.data);
	else
		ck_assert_msg(ok != failed && (ok ? w.p.status == 0 : w.p.status == 1),
			      "status %d\nstderr:\n%s", w.p.status, w.p.err.data);
	ASSERT_CLEAN(&w.p);
	wisp_kill(&w);
	free(path);
	free(doc);
	free(img);
}
END_TEST

/* wisp's "serial" key (PUT /serial's body; Firecracker skips the key): the
 * guest's output goes to the file, and GET /vm/config does not show it. */
START_TEST(config_serial_key)
{
	struct wisp w;
	char *serial = tmp_path("serial.log"), *text;
	char *doc = xasprintf("{\"boot-source\": {\"kernel_image_path\": \"%s\","
			      " \"boot_args\": \"wtest=ticker\"},"
			      " \"serial\": {\"serial_out_path\": \"%s\", \"rate_limiter\": null}}",
			      build_path("wisp-testguest"), serial);
	char *path = write_tmp_file("vm_config.json", doc);
	const char *extra[] = {"--config-file", path, NULL};

	wisp_start(&w, "api.sock", false, extra);
	text = wait_file_contains(serial, "TICK 1", GUEST_MS);
	ck_assert_msg(text != NULL, "no TICK in %s\nstderr:\n%s", serial, w.p.err.data);
	free(text);
	CALL(&w, "GET", "/vm/config", NULL, 200);
	ck_assert_msg(!strstr(w.c.body, "serial"), "%s", w.c.body);
	proc_wait_for(&w.p, "\x01never", 300);
	ck_assert_msg(!strstr(w.p.out.data, "TICK"), "stdout:\n%s", w.p.out.data);
	wisp_kill(&w);
	free(path);
	free(doc);
	free(serial);
}
END_TEST

/* wisp's rule for devices it does not have: null / [] are none (the
 * document above), anything else is refused clearly and nothing starts. */
START_TEST(config_unsupported_device_refused)
{
	static const char *const extras[] = {
		"\"pmem\": [{\"id\": \"pmem\", \"path_on_host\": \"/dev/null\", \"root_device\": false}]",
		"\"mmds-config\": {\"version\": \"V2\", \"network_interfaces\": [\"1\"]}",
		"\"memory-hotplug\": {\"total_size_mib\": 1024}",
	};
	static const char *const keys[] = {"pmem", "mmds-config", "memory-hotplug"};

	for (unsigned k = 0; k < 3; k++) {
		struct wisp w;
		char *doc = xasprintf("{\"boot-source\": {\"kernel_image_path\": \"%s\","
				      " \"boot_args\": \"wtest=hello\"}, %s}",
				      build_path("wisp-testguest"), extras[k]);
		char *path = write_tmp_file("vm_config.json", doc);
		char *want = xasprintf("%s: is not supported by wisp", keys[k]);
		const char *extra[] = {"--no-api", "--config-file", path, NULL};

		wisp_start(&w, NULL, false, extra);
		ck_assert(proc_finish(&w.p, START_MS));
		ck_assert_msg(w.p.status == 1 && strstr(w.p.err.data, FAILED_LINE) &&
			      strstr(w.p.err.data, want),
			      "%s: status %d\nstderr:\n%s", keys[k], w.p.status, w.p.err.data);
		ck_assert_ptr_null(strstr(w.p.out.data, "wisp-testguest"));
		wisp_kill(&w);
		free(want);
		free(path);
		free(doc);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* GET /vm/config                                                      */
/* ------------------------------------------------------------------ */

#define TX_RL "{\"bandwidth\": {\"size\": 1000000, \"refill_time\": 100, \"one_time_burst\": null}," \
	      " \"ops\": null}"

/* What Firecracker's test_get_full_config configures through the API,
 * wisp's way (devices wisp lacks are refused, they stay [] / null). */
static void configure_all(struct wisp *w, const char *img, const char *vsock, const char *tap)
{
	char *b;

	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(w, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", 204);
	b = xasprintf("{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true,"
		      " \"is_read_only\": true, \"io_engine\": \"Sync\"}", img);
	CALL(w, "PUT", "/drives/rootfs", b, 204);
	free(b);
	FAULT(w, "PUT", "/pmem/pmem",
	      "{\"id\": \"pmem\", \"path_on_host\": \"/dev/null\", \"root_device\": false,"
	      " \"read_only\": false}", "is not supported by wisp");
	CALL(w, "PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true}", 204);
	b = xasprintf("{\"guest_cid\": 15, \"uds_path\": \"%s\"}", vsock);
	CALL(w, "PUT", "/vsock", b, 204);
	free(b);
	FAULT(w, "PUT", "/hotplug/memory",
	      "{\"total_size_mib\": 1024, \"block_size_mib\": 128, \"slot_size_mib\": 1024}",
	      "is not supported by wisp");
	b = xasprintf("{\"iface_id\": \"1\", \"guest_mac\": \"06:00:00:00:00:01\","
		      " \"host_dev_name\": \"%s\", \"tx_rate_limiter\": " TX_RL "}", tap);
	CALL(w, "PUT", "/network-interfaces/1", b, 204);
	free(b);
	FAULT(w, "PUT", "/mmds/config",
	      "{\"version\": \"V2\", \"ipv4_address\": \"169.254.169.250\","
	      " \"network_interfaces\": [\"1\"], \"imds_compat\": true}", "is not supported by wisp");
}

static char *expected_all(const char *img, const char *vsock, const char *tap)
{
	return xasprintf(
		"{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": false,"
		"   \"track_dirty_pages\": false, \"huge_pages\": \"None\"},"
		" \"cpu-config\": null,"
		" \"boot-source\": {\"boot_args\": \"wtest=ticker\", \"kernel_image_path\": \"%s\","
		"   \"initrd_path\": null},"
		" \"drives\": [{\"drive_id\": \"rootfs\", \"partuuid\": null, \"is_root_device\": true,"
		"   \"cache_type\": \"Unsafe\", \"is_read_only\": true, \"path_on_host\": \"%s\","
		"   \"rate_limiter\": null, \"io_engine\": \"Sync\", \"socket\": null}],"
		" \"pmem\": [],"
		" \"balloon\": {\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 0,"
		"   \"free_page_reporting\": false, \"free_page_hinting\": false},"
		" \"vsock\": {\"guest_cid\": 15, \"uds_path\": \"%s\"},"
		" \"memory-hotplug\": null,"
		" \"network-interfaces\": [{\"iface_id\": \"1\", \"host_dev_name\": \"%s\","
		"   \"guest_mac\": \"06:00:00:00:00:01\", \"mtu\": null, \"rx_rate_limiter\": null,"
		"   \"tx_rate_limiter\": " TX_RL "}],"
		" \"logger\": null, \"metrics\": null, \"mmds-config\": null, \"entropy\": null}",
		build_path("wisp-testguest"), img, vsock, tap);
}

/* Firecracker: functional/test_api.py::test_get_full_config
 * (spawned as Firecracker's framework does: --log-path/--metrics-path on the
 * command line, PUT /serial; neither shows in the document) */
START_TEST(get_full_config)
{
	struct wisp w;
	char *img = make_image("rootfs.img"), *vsock = tmp_path("vsock.sock");
	char *log = tmp_path("fc.log"), *metrics = tmp_path("fc.ndjson");
	char *serial = tmp_path("serial.log"), *want, *b;
	const char *extra[] = {"--log-path", log, "--metrics-path", metrics, NULL};

	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
	ck_assert_int_eq(netns_add_tap(ns, "vmcfgtap1", NULL), 0);
	close(open(log, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	close(open(metrics, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	wisp_start(&w, "api.sock", true, extra);
	b = xasprintf("{\"serial_out_path\": \"%s\"}", serial);
	CALL(&w, "PUT", "/serial", b, 204);
	free(b);
	configure_all(&w, img, vsock, "vmcfgtap1");
	want = expected_all(img, vsock, "vmcfgtap1");
	/* Getting full vm configuration should be available pre-boot. */
	assert_vm_config(&w, want, "pre-boot");
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	/* Validate full vm configuration post-boot as well. */
	assert_vm_config(&w, want, "post-boot");
	wisp_kill(&w);
	free(want);
	free(serial);
	free(metrics);
	free(log);
	free(vsock);
	free(img);
}
END_TEST

/* Firecracker: functional/test_api.py::test_get_full_config_after_restoring_snapshot
 * (machine-config PATCHed, smt true, a tx rate limiter PATCHed after boot;
 * the restored VM's document equals the configured one) */
START_TEST(get_full_config_after_restoring_snapshot)
{
	struct wisp a, b;
	char *img = make_image("rootfs.img"), *vsock = tmp_path("vsock.sock");
	char *state = tmp_path("vm.state"), *mem = tmp_path("vm.mem");
	char *serial = tmp_path("serial.log"), *want, *body, *p;

	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
	ck_assert_int_eq(netns_add_tap(ns, "vmcfgtap1", NULL), 0);
	wisp_start(&a, "a.sock", true, NULL);
	configure_all(&a, img, vsock, "vmcfgtap1");
	CALL(&a, "PATCH", "/machine-config",
	     "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true, \"track_dirty_pages\": false,"
	     " \"huge_pages\": \"None\"}", 204);
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert_msg(proc_wait_for(&a.p, "TICK 1", GUEST_MS), "no TICK\n%s", a.p.err.data);
	CALL(&a, "PATCH", "/network-interfaces/1", "{\"iface_id\": \"1\", \"tx_rate_limiter\": " TX_RL "}",
	     204);
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	body = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\","
			 " \"mem_file_path\": \"%s\"}", state, mem);
	CALL(&a, "PUT", "/snapshot/create", body, 204);
	free(body);
	wisp_kill(&a);
	unlink(vsock);   /* Firecracker's framework restores in a fresh jail */

	/* The framework's spawn sends PUT /serial first: it must not keep the
	 * snapshot from loading, nor show in the document. */
	wisp_start(&b, "b.sock", true, NULL);
	body = xasprintf("{\"serial_out_path\": \"%s\"}", serial);
	CALL(&b, "PUT", "/serial", body, 204);
	free(body);
	body = xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\","
			 " \"backend_path\": \"%s\"}, \"resume_vm\": true}", state, mem);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	want = expected_all(img, vsock, "vmcfgtap1");
	p = strstr(want, "\"smt\": false");
	ck_assert_ptr_nonnull(p);
	memcpy(p, "\"smt\": true ", 12);
	/* Validate full vm configuration post-restore. */
	assert_vm_config(&b, want, "after the snapshot load");
	/* The restored guest writes to this process's serial file. */
	for (int t = 0; t < 100; t++) {
		size_t n = 0;
		char *text = read_text(serial, &n);
		bool tick = text && n && strstr(text, "TICK");

		free(text);
		if (tick)
			break;
		ck_assert_msg(t < 99, "the restored guest wrote no TICK to %s", serial);
		usleep(100000);
	}
	wisp_kill(&b);
	free(want);
	free(serial);
	free(mem);
	free(state);
	free(vsock);
	free(img);
}
END_TEST

/* Firecracker: functional/test_api.py::test_drive_io_engine
 * (GET /vm/config shows the io_engine that was asked for) */
START_TEST(drive_io_engine)
{
	static const char *const engines[] = {"Sync", "Async"};
	struct wisp w;
	char *img = make_image("rootfs.img"), *b, *want;
	json_t *j;

	wisp_start(&w, "api.sock", false, NULL);
	for (unsigned k = 0; k < 2; k++) {
		b = xasprintf("{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\","
			      " \"is_root_device\": true, \"is_read_only\": true, \"io_engine\": \"%s\"}",
			      img, engines[k]);
		CALL(&w, "PUT", "/drives/rootfs", b, 204);
		free(b);
		CALL(&w, "GET", "/vm/config", NULL, 200);
		j = parse_json(w.c.body);
		want = xasprintf("%s", engines[k]);
		ck_assert_str_eq(json_string_value(json_object_get(
			json_array_get(json_object_get(j, "drives"), 0), "io_engine")), want);
		free(want);
		json_decref(j);
	}
	wisp_kill(&w);
	free(img);
}
END_TEST

/* Firecracker: functional/test_api.py::test_api_machine_config
 * (the document after PATCH /machine-config and boot; the API errors are
 * test_fc_api's)
 * Firecracker: functional/test_api.py::test_drive_patch
 * (the drives of the document after PATCHes post-boot, a failed one
 * changing nothing; its vhost-user drive is refused by wisp) */
START_TEST(patched_machine_and_drives)
{
	struct wisp w;
	char *root = make_image("rootfs.img"), *scratch = make_image("scratch.img");
	char *scratch_new = make_image("scratch_new.img"), *b, *want;
	json_t *j, *m, *d, *e;

	wisp_start(&w, "api.sock", false, NULL);
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
	CALL(&w, "PATCH", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}", 204);
	b = xasprintf("{\"drive_id\": \"rootfs\", \"path_on_host\": \"%s\", \"is_root_device\": true,"
		      " \"is_read_only\": true, \"io_engine\": \"Sync\"}", root);
	CALL(&w, "PUT", "/drives/rootfs", b, 204);
	free(b);
	b = xasprintf("{\"drive_id\": \"scratch\", \"path_on_host\": \"%s\", \"is_root_device\": false,"
		      " \"is_read_only\": false, \"io_engine\": \"Async\"}", scratch);
	CALL(&w, "PUT", "/drives/scratch", b, 204);
	free(b);
	FAULT(&w, "PUT", "/drives/scratch_vub",
	      "{\"drive_id\": \"scratch_vub\", \"is_root_device\": false, \"socket\": \"/vub.sock\"}",
	      "socket");
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);

	/* Validate full vm configuration after patching machine config. */
	CALL(&w, "GET", "/vm/config", NULL, 200);
	j = parse_json(w.c.body);
	m = json_object_get(j, "machine-config");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "vcpu_count")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "mem_size_mib")), 256);
	ck_assert(json_is_false(json_object_get(m, "smt")));
	json_decref(j);

	/* Updates to valid path_on_host and rate_limiter are allowed. */
	b = xasprintf("{\"drive_id\": \"scratch\", \"path_on_host\": \"%s\", \"rate_limiter\":"
		      " {\"bandwidth\": {\"size\": 5000, \"refill_time\": 100},"
		      " \"ops\": {\"size\": 500, \"refill_time\": 100}}}", scratch_new);
	CALL(&w, "PATCH", "/drives/scratch", b, 204);
	free(b);
	/* Updates to rate_limiter and an invalid path fail, changing nothing. */
	FAULT(&w, "PATCH", "/drives/scratch",
	      "{\"drive_id\": \"scratch\", \"path_on_host\": \"foo.bar\", \"rate_limiter\":"
	      " {\"bandwidth\": {\"size\": 5000, \"refill_time\": 100},"
	      " \"ops\": {\"size\": 500, \"refill_time\": 100}}}", "No such file or directory");

	/* Validate full vm configuration after patching drives. */
	CALL(&w, "GET", "/vm/config", NULL, 200);
	j = parse_json(w.c.body);
	d = json_object_get(j, "drives");
	want = xasprintf(
		"[{\"drive_id\": \"rootfs\", \"partuuid\": null, \"is_root_device\": true,"
		"  \"cache_type\": \"Unsafe\", \"is_read_only\": true, \"path_on_host\": \"%s\","
		"  \"rate_limiter\": null, \"io_engine\": \"Sync\", \"socket\": null},"
		" {\"drive_id\": \"scratch\", \"partuuid\": null, \"is_root_device\": false,"
		"  \"cache_type\": \"Unsafe\", \"is_read_only\": false, \"path_on_host\": \"%s\","
		"  \"rate_limiter\": {\"bandwidth\": {\"size\": 5000, \"one_time_burst\": null,"
		"  \"refill_time\": 100}, \"ops\": {\"size\": 500, \"one_time_burst\": null,"
		"  \"refill_time\": 100}}, \"io_engine\": \"Async\", \"socket\": null}]",
		root, scratch_new);
	e = parse_json(want);
	ck_assert_msg(json_equal(d, e), "drives\n  are  %s\n  want %s", w.c.body, want);
	json_decref(e);
	json_decref(j);
	free(want);
	wisp_kill(&w);
	free(scratch_new);
	free(scratch);
	free(root);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PUT /serial                                                         */
/* ------------------------------------------------------------------ */

static char *wait_file_contains(const char *path, const char *needle, int timeout_ms)
{
	for (int t = 0; t <= timeout_ms / 100; t++) {
		size_t n = 0;
		char *text = read_text(path, &n);

		if (text && n && strstr(text, needle))
			return text;
		free(text);
		usleep(100000);
	}
	return NULL;
}

/* Firecracker: functional/test_serial_io.py::test_serial_file_output
 * (booted VM; the restored one is in get_full_config_after_restoring_snapshot) */
START_TEST(serial_file_output)
{
	struct wisp w;
	char *serial = tmp_path("serial.log"), *b, *text;

	wisp_start(&w, "api.sock", false, NULL);
	close(open(serial, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));   /* the framework's touch */
	b = xasprintf("{\"serial_out_path\": \"%s\"}", serial);
	CALL(&w, "PUT", "/serial", b, 204);
	free(b);
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	text = wait_file_contains(serial, "TICK 2", GUEST_MS);
	ck_assert_msg(text != NULL, "no TICK in %s\nstderr:\n%s", serial, w.p.err.data);
	ck_assert_ptr_nonnull(strstr(text, "wisp-testguest"));
	free(text);
	/* Not on stdout any more. */
	ck_assert_msg(!strstr(w.p.out.data, "TICK"), "stdout:\n%s", w.p.out.data);
	/* Pre-boot only. */
	FAULT(&w, "PUT", "/serial", "{\"serial_out_path\": \"/tmp/x\"}", NOT_AFTER);
	wisp_kill(&w);
	free(serial);
}
END_TEST

/* uart.rate_limiter_dropped_bytes of the last line of the metrics file
 * (-1 when absent). */
static long long dropped_bytes(const char *metrics)
{
	size_t n = 0;
	char *text = read_text(metrics, &n), *line;
	long long v = -1;
	json_t *j, *u;

	if (!text || !n) {
		free(text);
		return -1;
	}
	while (n && text[n - 1] == '\n')
		text[--n] = '\0';
	line = strrchr(text, '\n');
	line = line ? line + 1 : text;
	j = json_loads(line, 0, NULL);
	u = j ? json_object_get(json_object_get(j, "uart"), "rate_limiter_dropped_bytes") : NULL;
	if (json_is_integer(u))
		v = (long long)json_integer_value(u);
	json_decref(j);
	free(text);
	return v;
}

/* Firecracker: functional/test_serial_io.py::test_serial_rate_limiting
 * (a small bucket: the file stays under it, the rest is dropped and counted) */
START_TEST(serial_rate_limiting)
{
	struct wisp w;
	char *serial = tmp_path("serial.log"), *metrics = tmp_path("fc.ndjson"), *b;
	struct stat st;
	long long dropped = -1;

	wisp_start(&w, "api.sock", false, NULL);
	b = xasprintf("{\"serial_out_path\": \"%s\", \"rate_limiter\": {\"size\": 64,"
		      " \"one_time_burst\": 16, \"refill_time\": 1000000}}", serial);
	CALL(&w, "PUT", "/serial", b, 204);
	free(b);
	b = xasprintf("{\"metrics_path\": \"%s\"}", metrics);
	CALL(&w, "PUT", "/metrics", b, 204);
	free(b);
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	for (int t = 0; t < 100 && dropped <= 0; t++) {
		usleep(100000);
		CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
		dropped = dropped_bytes(metrics);
	}
	ck_assert_msg(dropped > 0, "uart.rate_limiter_dropped_bytes %lld", dropped);
	/* 64 bytes + the 16-byte one-time burst; the bucket refills one byte
	 * per ~16 s. */
	ck_assert_int_eq(stat(serial, &st), 0);
	ck_assert_msg(st.st_size > 0 && st.st_size <= 64 + 16 + 2, "serial output %lld bytes",
		      (long long)st.st_size);
	ck_assert_msg(!strstr(w.p.out.data, "TICK"), "stdout:\n%s", w.p.out.data);
	wisp_kill(&w);
	free(metrics);
	free(serial);
}
END_TEST

/* A rate limiter without serial_out_path limits the output on stdout
 * (the limit is on the guest's output, wherever it goes). */
START_TEST(serial_rate_limiting_stdout)
{
	struct wisp w;
	char *metrics = tmp_path("fc.ndjson"), *b;
	long long dropped = -1;

	wisp_start(&w, "api.sock", false, NULL);
	CALL(&w, "PUT", "/serial", "{\"rate_limiter\": {\"size\": 64, \"one_time_burst\": 16,"
	     " \"refill_time\": 1000000}}", 204);
	b = xasprintf("{\"metrics_path\": \"%s\"}", metrics);
	CALL(&w, "PUT", "/metrics", b, 204);
	free(b);
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", b, 204);
	free(b);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	for (int t = 0; t < 100 && dropped <= 0; t++) {
		usleep(100000);
		CALL(&w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
		dropped = dropped_bytes(metrics);
	}
	ck_assert_msg(dropped > 0, "uart.rate_limiter_dropped_bytes %lld", dropped);
	wisp_kill(&w);
	free(metrics);
}
END_TEST

/* PUT /serial's refusals (Firecracker: SerialConfig is deny_unknown_fields,
 * its path is opened at InstanceStart) */
START_TEST(serial_api_rules)
{
	struct wisp w;
	char *b, *good = tmp_path("serial.log");

	wisp_start(&w, "api.sock", false, NULL);
	FAULT(&w, "PUT", "/serial", "{\"serial_out_path\": \"/tmp/x\", \"foo\": 1}",
	      "unknown field `foo`");
	FAULT(&w, "PUT", "/serial", "{\"serial_out_path\": 7}", "serial_out_path");
	FAULT(&w, "PUT", "/serial", "{\"rate_limiter\": {\"size\": 1}}", "missing field `refill_time`");
	/* Accepted (as Firecracker), refused when the VM is built: nothing starts. */
	CALL(&w, "PUT", "/serial", "{\"serial_out_path\": \"/nonexistent/dir/serial.log\"}", 204);
	b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		      build_path("wisp-testguest"));
	CALL(&w, "PUT", "/boot-source", b, 204);
	free(b);
	FAULT(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	      "serial_out_path: cannot open /nonexistent/dir/serial.log: No such file or directory");
	assert_state(&w, "Not started");
	/* A later PUT replaces it; {} (no path) is stdout again. */
	CALL(&w, "PUT", "/serial", "{}", 204);
	b = xasprintf("{\"serial_out_path\": \"%s\", \"rate_limiter\": null}", good);
	CALL(&w, "PUT", "/serial", b, 204);
	free(b);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	b = wait_file_contains(good, "TICK 1", GUEST_MS);
	ck_assert_msg(b != NULL, "no TICK in %s", good);
	free(b);
	wisp_kill(&w);
	free(good);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fc_vmconfig");
	TCase *tc = tcase_create("config_file");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, config_start_with_api);
	tcase_add_test(tc, config_start_no_api);
	tcase_add_loop_test(tc, config_bad_machine_config, 0, 2);
	tcase_add_loop_test(tc, config_machine_config_params, 0, 2);
	tcase_add_test(tc, config_serial_key);
	tcase_add_test(tc, config_unsupported_device_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("vm_config");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, get_full_config);
	tcase_add_test(tc, get_full_config_after_restoring_snapshot);
	tcase_add_test(tc, drive_io_engine);
	tcase_add_test(tc, patched_machine_and_drives);
	suite_add_tcase(s, tc);

	tc = tcase_create("serial");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, serial_file_output);
	tcase_add_test(tc, serial_rate_limiting);
	tcase_add_test(tc, serial_rate_limiting_stdout);
	tcase_add_test(tc, serial_api_rules);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
