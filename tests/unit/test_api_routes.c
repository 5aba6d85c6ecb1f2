/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_routes.c — routing and body validation of every endpoint. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "api/api.h"
#include "api/route.h"
#include "api/jfield.h"

static struct api_request req;
static struct api_response resp;

static int route(const char *method, const char *path, const char *body)
{
	api_response_clear(&resp);
	return api_route(method, path, body, body ? strlen(body) : 0, &req, &resp);
}

#define OK(m_, p_, b_, want)                                                              \
	do {                                                                                 \
		int rc_ = route(m_, p_, b_);                                                 \
		ck_assert_msg(rc_ == 1, "%s %s: %s", m_, p_, resp.body ? resp.body : "-");   \
		ck_assert_int_eq(req.kind, want);                                            \
	} while (0)

#define FAULT(m_, p_, b_, msg)                                                             \
	do {                                                                                 \
		ck_assert_int_eq(route(m_, p_, b_), 0);                                      \
		ck_assert_int_eq(resp.status, 400);                                          \
		ck_assert_ptr_nonnull(resp.body);                                            \
		ck_assert_msg(strstr(resp.body, "\"fault_message\"") == resp.body + 1,       \
			      "%s", resp.body);                                              \
		ck_assert_msg(strstr(resp.body, msg), "'%s' lacks '%s'", resp.body, msg);    \
	} while (0)

/* Firecracker's serde messages, with serde's position in the body, and
 * Firecracker's other texts for errors the api thread finds. */
START_TEST(fc_messages)
{
	/* Firecracker: functional/test_api.py::test_api_machine_config */
	FAULT("PUT", "/machine-config", "{\"mem_size_mib\": 128}",
	      "An error occurred when deserializing the json body of a request: missing field "
	      "`vcpu_count` at line 1 column 21.");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 2}",
	      "missing field `mem_size_mib` at line 1 column 17.");
	/* wisp's path and words follow Firecracker's */
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 2}",
	      "column 17. (machine-config.mem_size_mib: missing required field)");
	FAULT("PUT", "/machine-config", "{\"mem_size_mib\": 18446744073709551616}",
	      "error occurred when deserializing the json body of a request: invalid type");
	FAULT("PATCH", "/machine-config", "{\"mem_size_mib\": 0}",
	      "The memory size (MiB) is either 0, or not a multiple of the configured page size.");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 3, "
	      "\"huge_pages\": \"2M\"}",
	      "The memory size (MiB) is either 0, or not a multiple of the configured page size.");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 1}",
	      "Machine config error: The number of vCPUs must be greater than 0, less than 32 and "
	      "must be 1 or an even number if SMT is enabled.");
	/* serde's positions: the key's closing quote, the value's last character */
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"foo\": 1}",
	      "unknown field `foo`, expected one of `vcpu_count`, `mem_size_mib`");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"foo\": 1}",
	      "at line 1 column 42. (machine-config.foo: unknown field");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": \"yes\"}",
	      "invalid type: string \\\"yes\\\", expected a boolean at line 1 column 51. "
	      "(machine-config.smt: expected a boolean, got a string)");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": -2, \"mem_size_mib\": 128}",
	      "invalid value: integer `-2`, expected u32 at line 1 column 17.");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 2,\n \"mem_size_mib\": 128,\n \"x\": 1}",
	      "unknown field `x`");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 2,\n \"mem_size_mib\": 128,\n \"x\": 1}",
	      "at line 3 column 4.");
	/* Firecracker: its unit test of parse_put_snapshot (request/snapshot.rs) */
	FAULT("PUT", "/snapshot/load", "{\n            \"snapshot_path\": \"foo\",\n"
	      "            \"mem_backend\": {\n                \"backend_path\": \"bar\"\n"
	      "            }\n        }",
	      "An error occurred when deserializing the json body of a request: missing field "
	      "`backend_type` at line 5 column 13.");
	FAULT("PUT", "/snapshot/load", "{\n            \"mem_backend\": {\n"
	      "                \"backend_path\": \"bar\",\n                \"backend_type\": \"Uffd\"\n"
	      "            }\n        }",
	      "An error occurred when deserializing the json body of a request: missing field "
	      "`snapshot_path` at line 6 column 9.");
	FAULT("PUT", "/snapshot/load", "{\"snapshot_path\": \"foo\", \"huge_pages\": \"1M\", "
	      "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"bar\"}}",
	      "unknown variant `1M`, expected one of `Snapshot`, `None`, `Transparent`, `2M`");
	/* Firecracker: functional/test_api.py::test_negative_snapshot_load_api */
	FAULT("PUT", "/snapshot/load", "{\"snapshot_path\": \"foo\", \"mem_backend\": "
	      "{\"backend_type\": \"foo\", \"backend_path\": \"bar\"}}",
	      "unknown variant `foo`, expected `File` or `Uffd`");
	/* a nested object's value of the wrong type: the value's position */
	FAULT("PUT", "/drives/a", "{\"drive_id\": \"a\", \"path_on_host\": \"p\", "
	      "\"is_root_device\": false, \"rate_limiter\": 5}",
	      "invalid type: integer `5`, expected a map (JSON object) at line 1 column 81.");
	/* The quoted string in a type error is cut to fit: 44 escaped quotes then a
	 * control character (a 6-byte \u{10}) at the end of the room once wrote one
	 * byte past the buffer (ASan). A huge float is printed without converting
	 * it to an integer (UBSan). */
	{
		char body[512];
		int o = snprintf(body, sizeof(body), "{\"vcpu_count\": \"");
		for (int i = 0; i < 44; i++)
			o += snprintf(body + o, sizeof(body) - (size_t)o, "\\\"");
		snprintf(body + o, sizeof(body) - (size_t)o, "\\u0010\", \"mem_size_mib\": 1}");
		FAULT("PUT", "/machine-config", body, "invalid type: string \\\"\\\\\\\"");
	}
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1e300, \"mem_size_mib\": 1}",
	      "invalid type: floating point `1.0000000000000001e+300`");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"vcpu_count\": 2, \"mem_size_mib\": 1}",
	      "An error occurred when deserializing the json body of a request: duplicate field "
	      "`vcpu_count` at line 1 column 30.");
	/* Firecracker: parsed_request.rs's method_to_error() */
	FAULT("GET", "/machine-config", "{}", "GET request cannot have a body.");
	FAULT("GET", "/version", "{}", "GET request cannot have a body.");
	/* micro_http's sentences for a missing body; invalid JSON as serde's */
	FAULT("PUT", "/machine-config", NULL, "Empty PUT request.");
	FAULT("PATCH", "/machine-config", NULL, "Empty PATCH request.");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": ",
	      "An error occurred when deserializing the json body of a request: Invalid JSON");
	FAULT("PUT", "/machine-config", "[1]",
	      "An error occurred when deserializing the json body of a request: invalid type: "
	      "sequence, expected a JSON object.");
}
END_TEST

/* Firecracker's deprecated fields: the request works, the answer carries
 * "Deprecation: true" and the log Firecracker's warning. */
START_TEST(deprecations)
{
	/* Firecracker: functional/test_api.py::test_negative_machine_config_api */
	OK("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, "
	   "\"cpu_template\": \"None\"}", API_REQ_PUT_MACHINE_CONFIG);
	ck_assert_str_eq(req.deprecation, "PUT /machine-config: cpu_template field is deprecated.");
	OK("PATCH", "/machine-config", "{\"cpu_template\": \"None\"}", API_REQ_PATCH_MACHINE_CONFIG);
	ck_assert_str_eq(req.deprecation, "PATCH /machine-config: cpu_template field is deprecated.");
	OK("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, "
	   "\"cpu_template\": null}", API_REQ_PUT_MACHINE_CONFIG);
	ck_assert_ptr_null(req.deprecation);
	OK("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}",
	   API_REQ_PUT_MACHINE_CONFIG);
	ck_assert_ptr_null(req.deprecation);
	/* Firecracker: functional/test_api.py::test_api_vsock */
	OK("PUT", "/vsock", "{\"vsock_id\": \"v\", \"guest_cid\": 3, \"uds_path\": \"/v\"}",
	   API_REQ_PUT_VSOCK);
	ck_assert_str_eq(req.deprecation, "PUT /vsock: vsock_id field is deprecated.");
	OK("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}", API_REQ_PUT_VSOCK);
	ck_assert_ptr_null(req.deprecation);
	/* Firecracker: functional/test_api.py::test_negative_snapshot_load_api */
	OK("PUT", "/snapshot/load", "{\"snapshot_path\": \"foo\", \"mem_file_path\": \"bar\"}",
	   API_REQ_SNAPSHOT_LOAD);
	ck_assert_str_eq(req.deprecation, "PUT /snapshot/load: mem_file_path and "
			 "enable_diff_snapshots fields are deprecated.");
	OK("PUT", "/snapshot/load", "{\"snapshot_path\": \"foo\", \"enable_diff_snapshots\": true, "
	   "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"bar\"}}",
	   API_REQ_SNAPSHOT_LOAD);
	ck_assert_ptr_nonnull(req.deprecation);
	OK("PUT", "/snapshot/load", "{\"snapshot_path\": \"foo\", \"enable_diff_snapshots\": false, "
	   "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"bar\"}}",
	   API_REQ_SNAPSHOT_LOAD);
	ck_assert_ptr_null(req.deprecation);
	/* a refused body gets no deprecation (Firecracker: parse errors have none) */
	FAULT("PUT", "/vsock", "{\"vsock_id\": \"v\", \"guest_cid\": 1, \"uds_path\": \"/v\"}",
	      "guest_cid");
	ck_assert_ptr_null(req.deprecation);
	/* the answer: warning logged, header flag set */
	struct api_response r = {0};
	api_response_no_content(&r);
	req.deprecation = "PUT /vsock: vsock_id field is deprecated.";
	api_log_response(&req, &r);
	ck_assert(r.deprecation);
	req.deprecation = NULL;
	r.deprecation = false;
	api_log_response(&req, &r);
	ck_assert(!r.deprecation);
}
END_TEST

/* jlocate(): serde_json's line and column for each kind of position. */
START_TEST(serde_positions)
{
	unsigned line = 0, col = 0;
	const char *t = "{\"a\": {\"b\": [1, {\"c\": \"x\"}]},\n  \"d\": true }";
	ck_assert_int_eq(jlocate(t, strlen(t), "", "a", JERR_AT_KEY, &line, &col), 0);
	ck_assert_uint_eq(line, 1);
	ck_assert_uint_eq(col, 4);
	ck_assert_int_eq(jlocate(t, strlen(t), "a.b[1]", "c", JERR_AT_VALUE, &line, &col), 0);
	ck_assert_uint_eq(col, 25);
	ck_assert_int_eq(jlocate(t, strlen(t), "a.b[1]", "", JERR_AT_END, &line, &col), 0);
	ck_assert_uint_eq(col, 26);
	ck_assert_int_eq(jlocate(t, strlen(t), "a", "b", JERR_AT_VALUE, &line, &col), 0);
	ck_assert_uint_eq(col, 13);     /* the '[' of a compound value */
	ck_assert_int_eq(jlocate(t, strlen(t), "", "d", JERR_AT_VALUE, &line, &col), 0);
	ck_assert_uint_eq(line, 2);
	ck_assert_uint_eq(col, 11);
	ck_assert_int_eq(jlocate(t, strlen(t), "", NULL, JERR_AT_END, &line, &col), 0);
	ck_assert_uint_eq(line, 2);
	ck_assert_uint_eq(col, 13);
	ck_assert_int_eq(jlocate(t, strlen(t), "", "zz", JERR_AT_KEY, &line, &col), -1);
	ck_assert_int_eq(jlocate(t, strlen(t), "a.b[7]", "c", JERR_AT_KEY, &line, &col), -1);
	ck_assert_int_eq(jlocate(t, strlen(t), "", "a", JERR_AT_NONE, &line, &col), -1);
}
END_TEST

START_TEST(gets)
{
	OK("GET", "/", NULL, API_REQ_GET_INSTANCE_INFO);
	OK("GET", "/machine-config", NULL, API_REQ_GET_MACHINE_CONFIG);
	OK("GET", "/vm/config", NULL, API_REQ_GET_VM_CONFIG);
	ck_assert_int_eq(route("GET", "/version", NULL), 0);
	ck_assert_int_eq(resp.status, 200);
	/* Firecracker's key holds the Firecracker version wisp implements;
	 * wisp's own is beside it (docs/api.md, "Versions and names"). */
	ck_assert_str_eq(resp.body, "{\"firecracker_version\":\"" WISP_FC_VERSION
			 "\",\"wisp_version\":\"" WISP_VERSION "\"}");
	FAULT("PUT", "/version", "{}", "Invalid request method and/or path: PUT /version.");
	FAULT("PUT", "/", "{}", "Invalid request method and/or path: PUT /.");
	FAULT("DELETE", "/machine-config", NULL, "Invalid request method and/or path: DELETE /machine-config.");
	FAULT("POST", "/actions", "{}", "Invalid request method and/or path: POST /actions.");
	FAULT("GET", "/boot-source", NULL, "Invalid request method and/or path: GET /boot-source.");
	FAULT("GET", "/nothing", NULL, "Invalid request method and/or path: GET /nothing.");
	FAULT("GET", "/machine-config/", NULL, "Invalid request method");
	FAULT("PUT", "/drives", "{}", "Invalid request method");
	FAULT("PUT", "/drives/", "{}", "Invalid request method");
	FAULT("PUT", "/drives/a/b", "{}", "Invalid request method");
	FAULT("PATCH", "/vm/config", "{}", "Invalid request method");
}
END_TEST

START_TEST(unsupported_paths)
{
	/* /balloon is implemented (tests/unit/test_balloon.c, integration/test_balloon) */
	FAULT("PUT", "/balloon", "{}", "balloon.amount_mib: missing required field");
	OK("PUT", "/balloon", "{\"amount_mib\": 5, \"deflate_on_oom\": true, "
	   "\"stats_polling_interval_s\": 3, \"free_page_reporting\": true}", API_REQ_PUT_BALLOON);
	ck_assert(req.u.balloon.set && req.u.balloon.deflate_on_oom);
	ck_assert_uint_eq(req.u.balloon.amount_mib, 5);
	ck_assert_uint_eq(req.u.balloon.stats_polling_interval_s, 3);
	ck_assert(req.u.balloon.free_page_reporting && !req.u.balloon.free_page_hinting);
	FAULT("PUT", "/balloon", "{\"amount_mib\": 5, \"deflate_on_oom\": true, "
	      "\"stats_polling_interval_s\": 65536}", "balloon.stats_polling_interval_s");
	OK("PATCH", "/balloon", "{\"amount_mib\": 7}", API_REQ_PATCH_BALLOON);
	ck_assert_uint_eq(req.u.balloon_amount_mib, 7);
	FAULT("PATCH", "/balloon", "{\"amount_mib\": 7, \"deflate_on_oom\": true}",
	      "balloon.deflate_on_oom: unknown field");
	OK("GET", "/balloon/statistics", NULL, API_REQ_GET_BALLOON_STATS);
	OK("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 9}",
	   API_REQ_PATCH_BALLOON_STATS);
	ck_assert_uint_eq(req.u.balloon_stats_s, 9);
	OK("PATCH", "/balloon/hinting/start", NULL, API_REQ_BALLOON_HINT_START);
	ck_assert(req.u.hint_ack_on_stop);
	OK("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false}",
	   API_REQ_BALLOON_HINT_START);
	ck_assert(!req.u.hint_ack_on_stop);
	OK("GET", "/balloon/hinting/status", NULL, API_REQ_BALLOON_HINT_STATUS);
	OK("PATCH", "/balloon/hinting/stop", NULL, API_REQ_BALLOON_HINT_STOP);
	/* /vsock is implemented (tests/unit/test_vsock.c) */
	FAULT("PUT", "/vsock", "{}", "vsock.guest_cid: missing required field");
	FAULT("PUT", "/mmds", "{}", "is not supported by wisp");
	FAULT("PUT", "/mmds/config", "{}", "is not supported by wisp");
	/* /entropy is implemented (rate limiters) */
	OK("PUT", "/entropy", "{}", API_REQ_PUT_ENTROPY);
	ck_assert(req.u.entropy.set);
	ck_assert(!rate_limiter_limits(&req.u.entropy.rate_limiter));
	OK("PUT", "/entropy", "{\"rate_limiter\": {\"bandwidth\": {\"size\": 65536,"
	   " \"refill_time\": 1000}, \"ops\": null}}", API_REQ_PUT_ENTROPY);
	ck_assert(token_bucket_limits(&req.u.entropy.rate_limiter.bandwidth));
	ck_assert_uint_eq(req.u.entropy.rate_limiter.bandwidth.size, 65536);
	ck_assert(!req.u.entropy.rate_limiter.ops.set);
	FAULT("PUT", "/entropy", "{\"x\": 1}", "entropy.x: unknown field");
	FAULT("PUT", "/entropy", "{\"rate_limiter\": {\"bandwidth\": {\"size\": -1,"
	      " \"refill_time\": 1}}}", "entropy.rate_limiter.bandwidth.size: out of range");
	/* /cpu-config: helper "cputemplate"'s endpoint now (test_cpu_template*.c). */
	FAULT("PUT", "/pmem/p0", "{}", "/pmem/p0 is not supported by wisp");
	/* /serial: helper "vmconfig"'s endpoint now. */
	FAULT("PUT", "/hotplug/memory", "{}", "is not supported by wisp");
	OK("PATCH", "/balloon/hinting/start", "{}", API_REQ_BALLOON_HINT_START);
	ck_assert(req.u.hint_ack_on_stop);
}
END_TEST

START_TEST(bodies_required)
{
	FAULT("PUT", "/machine-config", NULL, "The request body is empty");
	FAULT("PUT", "/machine-config", "", "The request body is empty");
	FAULT("PUT", "/machine-config", "{", "Invalid JSON");
	FAULT("PUT", "/machine-config", "[1]", "expected a JSON object");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\":1,\"vcpu_count\":2,\"mem_size_mib\":1}",
	      "duplicate");
	FAULT("PUT", "/actions", "{\"action_type\": \"InstanceStart\"} x", "Invalid JSON");
}
END_TEST

START_TEST(machine_config)
{
	OK("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 1024}",
	   API_REQ_PUT_MACHINE_CONFIG);
	ck_assert_uint_eq(req.u.machine.vcpu_count, 2);
	ck_assert_uint_eq(req.u.machine.mem_size_mib, 1024);
	ck_assert(!req.u.machine.smt);
	OK("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": true,"
	   " \"track_dirty_pages\": true, \"huge_pages\": \"Transparent\", \"cpu_template\": \"None\"}",
	   API_REQ_PUT_MACHINE_CONFIG);
	ck_assert(req.u.machine.smt && req.u.machine.track_dirty_pages);
	ck_assert_int_eq(req.u.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 0, \"mem_size_mib\": 1}",
	      "machine-config.vcpu_count: The vCPU number is invalid");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 1}",
	      "machine-config.vcpu_count: The vCPU number is invalid");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 5, \"mem_size_mib\": 1, \"smt\": true}",
	      "can only be 1 or an even number when SMT is enabled");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 0}",
	      "machine-config.mem_size_mib: The memory size (MiB) is invalid");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1}",
	      "machine-config.mem_size_mib: missing required field");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": true, \"mem_size_mib\": 1}",
	      "machine-config.vcpu_count: expected an integer, got a boolean");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"foo\": 1}",
	      "machine-config.foo: unknown field");
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 1, \"huge_pages\": \"2m\"}",
	      "machine-config.huge_pages: invalid value \\\"2m\\\"");
	/* PATCH: any subset. */
	OK("PATCH", "/machine-config", "{\"mem_size_mib\": 512}", API_REQ_PATCH_MACHINE_CONFIG);
	ck_assert_uint_eq(req.u.machine_patch.present, API_MC_MEM_SIZE_MIB);
	ck_assert_uint_eq(req.u.machine_patch.mc.mem_size_mib, 512);
	/* Firecracker: a PATCH that changes nothing is "Empty PATCH request." */
	FAULT("PATCH", "/machine-config", "{}", "Empty PATCH request.");
	FAULT("PATCH", "/machine-config", "{\"smt\": null}", "Empty PATCH request.");
	OK("PATCH", "/machine-config", "{\"smt\": true, \"vcpu_count\": 2}", API_REQ_PATCH_MACHINE_CONFIG);
	ck_assert_uint_eq(req.u.machine_patch.present, API_MC_SMT | API_MC_VCPU_COUNT);
	FAULT("PATCH", "/machine-config", "{\"smt\": true, \"vcpu_count\": 3}",
	      "can only be 1 or an even number when SMT is enabled");
	FAULT("PATCH", "/machine-config", "{\"vcpu_count\": 64}", "The vCPU number is invalid");
	FAULT("PATCH", "/machine-config", "{\"mem_size_mib\": 0}", "The memory size (MiB) is invalid");
	FAULT("PATCH", "/machine-config", "{\"smt\": \"yes\"}", "machine-config.smt: expected a boolean");
}
END_TEST

START_TEST(boot_source)
{
	OK("PUT", "/boot-source", "{\"kernel_image_path\": \"vmlinux\", \"boot_args\": \"console=ttyS0\"}",
	   API_REQ_PUT_BOOT_SOURCE);
	ck_assert(req.u.boot.set);
	ck_assert_str_eq(req.u.boot.kernel_image_path, "vmlinux");
	ck_assert(req.u.boot.has_boot_args);
	ck_assert_str_eq(req.u.boot.initrd_path, "");
	FAULT("PUT", "/boot-source", "{\"boot_args\": \"x\"}",
	      "boot-source.kernel_image_path: missing required field");
	FAULT("PUT", "/boot-source", "{\"kernel_image_path\": \"k\", \"initrd\": \"x\"}",
	      "boot-source.initrd: unknown field");
	FAULT("PUT", "/boot-source", "{\"kernel_image_path\": [\"k\"]}",
	      "boot-source.kernel_image_path: expected a string, got an array");
}
END_TEST

START_TEST(drives)
{
	OK("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\","
	   " \"is_root_device\": true, \"is_read_only\": false}", API_REQ_PUT_DRIVE);
	ck_assert_str_eq(req.u.drive.drive_id, "rootfs");
	ck_assert_str_eq(req.u.drive.path_on_host, "/r");
	ck_assert(req.u.drive.is_root_device);
	FAULT("PUT", "/drives/rootfs", "{\"drive_id\": \"other\", \"path_on_host\": \"/r\","
	      " \"is_root_device\": true}",
	      "The id from the path does not match the id from the body! (the id from the path "
	      "[rootfs], from the body [other])");
	FAULT("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\"}",
	      "drives.is_root_device: missing required field");
	FAULT("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\","
	      " \"is_root_device\": true, \"cache_type\": \"None\"}", "drives.cache_type: invalid value");
	FAULT("PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\","
	      " \"is_root_device\": true, \"socket\": \"/s\"}", "drives.socket: is not supported by wisp");
	OK("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/new\"}",
	   API_REQ_PATCH_DRIVE);
	ck_assert(req.u.drive_patch.has_path_on_host);
	ck_assert_str_eq(req.u.drive_patch.path_on_host, "/new");
	OK("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}", API_REQ_PATCH_DRIVE);
	ck_assert(!req.u.drive_patch.has_path_on_host);
	FAULT("PATCH", "/drives/rootfs", "{\"drive_id\": \"x\", \"path_on_host\": \"/new\"}",
	      "does not match the id from the body");
	FAULT("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_read_only\": true}",
	      "drives.is_read_only: unknown field");
	FAULT("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"bandwidth\": {}}}",
	      "missing field `size` at line 1 column 55. (drives.rate_limiter.bandwidth.size: "
	      "missing required field)");
	FAULT("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"bw\": {}}}",
	      "unknown field `bw`, expected");
	FAULT("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"ops\":"
	      " {\"size\": 1, \"refill_time\": \"1\"}}}", "drives.rate_limiter.ops.refill_time: expected");
	/* PATCH keeps what a bucket given with size 0 means: remove it */
	OK("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": {\"ops\":"
	   " {\"size\": 0, \"refill_time\": 0}}}", API_REQ_PATCH_DRIVE);
	ck_assert(req.u.drive_patch.has_rate_limiter);
	ck_assert(req.u.drive_patch.rate_limiter.ops.set);
	ck_assert(!req.u.drive_patch.rate_limiter.bandwidth.set);
	OK("PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"rate_limiter\": null}",
	   API_REQ_PATCH_DRIVE);
	ck_assert(!req.u.drive_patch.has_rate_limiter);
}
END_TEST

START_TEST(network_interfaces)
{
	OK("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
	   " \"guest_mac\": \"06:00:AC:10:00:02\"}", API_REQ_PUT_NET);
	ck_assert_str_eq(req.u.net.host_dev_name, "tap0");
	ck_assert(req.u.net.has_mac);
	ck_assert_uint_eq(req.u.net.guest_mac[3], 0x10);
	FAULT("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap0\"}",
	      "The id from the path [eth0] does not match the id from the body [eth1]!");
	FAULT("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
	      " \"guest_mac\": \"06:00:AC:10:00\"}", "network-interfaces.guest_mac: invalid MAC address");
	FAULT("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
	      " \"mtu\": 10}", "network-interfaces.mtu: out of range");
	FAULT("PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
	      "network-interfaces.host_dev_name: missing required field");
	OK("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}", API_REQ_PATCH_NET);
	ck_assert_str_eq(req.u.net_patch.iface_id, "eth0");
	OK("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {},"
	   " \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"one_time_burst\": 5,"
	   " \"refill_time\": 100}}}", API_REQ_PATCH_NET);
	ck_assert(req.u.net_patch.has_rx_rate_limiter && req.u.net_patch.has_tx_rate_limiter);
	ck_assert(!req.u.net_patch.rx_rate_limiter.bandwidth.set);
	ck_assert_uint_eq(req.u.net_patch.tx_rate_limiter.bandwidth.one_time_burst, 5);
	FAULT("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": 3}",
	      "network-interfaces.rx_rate_limiter: expected");
	FAULT("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}",
	      "network-interfaces.host_dev_name: unknown field");
}
END_TEST

START_TEST(actions_vm)
{
	OK("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", API_REQ_ACTION);
	ck_assert_int_eq(req.u.action, API_ACTION_INSTANCE_START);
	OK("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", API_REQ_ACTION);
	ck_assert_int_eq(req.u.action, API_ACTION_SEND_CTRL_ALT_DEL);
	OK("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", API_REQ_ACTION);
	ck_assert_int_eq(req.u.action, API_ACTION_FLUSH_METRICS);
	FAULT("PUT", "/actions", "{\"action_type\": \"Reboot\"}",
	      "actions.action_type: invalid value \\\"Reboot\\\"");
	FAULT("PUT", "/actions", "{}", "actions.action_type: missing required field");
	FAULT("PUT", "/actions", "{\"action_type\": null}", "actions.action_type: missing required field");
	OK("PATCH", "/vm", "{\"state\": \"Paused\"}", API_REQ_PATCH_VM);
	ck_assert_int_eq(req.u.vm_state, API_VM_PAUSED);
	OK("PATCH", "/vm", "{\"state\": \"Resumed\"}", API_REQ_PATCH_VM);
	ck_assert_int_eq(req.u.vm_state, API_VM_RESUMED);
	FAULT("PATCH", "/vm", "{\"state\": \"paused\"}", "vm.state: invalid value");
	FAULT("PUT", "/vm", "{\"state\": \"Paused\"}", "Invalid request method and/or path: PUT /vm.");
}
END_TEST

START_TEST(logger_metrics)
{
	OK("PUT", "/logger", "{\"log_path\": \"/tmp/l\", \"level\": \"warn\", \"show_level\": true}",
	   API_REQ_PUT_LOGGER);
	ck_assert_int_eq(req.u.logger.cfg.level, LOG_WARN);
	ck_assert_uint_eq(req.u.logger.present, API_LOG_PATH | API_LOG_LEVEL | API_LOG_SHOW_LEVEL);
	OK("PUT", "/logger", "{\"level\": \"Warning\"}", API_REQ_PUT_LOGGER);
	ck_assert_int_eq(req.u.logger.cfg.level, LOG_WARN);
	OK("PUT", "/logger", "{\"level\": \"TRACE\"}", API_REQ_PUT_LOGGER);
	ck_assert_int_eq(req.u.logger.cfg.level, LOG_TRACE);
	FAULT("PUT", "/logger", "{\"level\": \"Verbose\"}", "logger.level: invalid value");
	FAULT("PUT", "/logger", "{\"level\": 3}", "logger.level: expected a string");
	/* `module` is the logger's filter now (helper "metrics"). */
	FAULT("PUT", "/logger", "{\"log_path\": \"\"}", "logger.log_path: must not be empty");
	OK("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\"}", API_REQ_PUT_METRICS);
	ck_assert_str_eq(req.u.metrics.metrics_path, "/tmp/m");
	FAULT("PUT", "/metrics", "{}", "metrics.metrics_path: missing required field");
	/* emit_id: supported now (helper "metrics"). */
}
END_TEST

/* Firecracker's (serde's) own words are in the messages too. */
START_TEST(serde_words)
{
	FAULT("PUT", "/machine-config", "{\"vcpu_count\": 1}",
	      "missing field `mem_size_mib` at line 1 column 17. (machine-config.mem_size_mib: "
	      "missing required field)");
	FAULT("PUT", "/actions", "{\"action_type\": \"Reboot\"}",
	      "unknown variant `Reboot`, expected one of `InstanceStart`, `SendCtrlAltDel`, "
	      "`FlushMetrics`");
	FAULT("PATCH", "/vm", "{\"state\": \"Stopped\"}",
	      "unknown variant `Stopped`, expected `Paused` or `Resumed` at line 1 column 19. "
	      "(vm.state: invalid value \\\"Stopped\\\")");
	FAULT("PATCH", "/vm", "{\"state\": \"Paused\", \"x\": 1}",
	      "unknown field `x`, expected `state`");
	FAULT("PUT", "/actions", "{\"action_type\": \"FlushMetrics\", \"x\": 1}",
	      "unknown field `x`, expected `action_type`");
	/* Unsupported fields are listed among the expected ones, as serde would. */
	FAULT("PUT", "/metrics", "{\"metrics_path\": \"m\", \"x\": 1}",
	      "unknown field `x`, expected one of `metrics_path`, `emit_id`, "
	      "`properties`");
}
END_TEST

#define CREATE_OK(b_) OK("PUT", "/snapshot/create", b_, API_REQ_SNAPSHOT_CREATE)
#define CREATE_FAULT(b_, msg_)                                                             \
	do {                                                                                 \
		FAULT("PUT", "/snapshot/create", b_, msg_);                                  \
		ck_assert_int_eq(req.kind, API_REQ_SNAPSHOT_CREATE);                         \
	} while (0)

START_TEST(snapshot_create)
{
	CREATE_OK("{\"snapshot_path\": \"/s/vm.state\", \"mem_file_path\": \"/s/vm.mem\"}");
	ck_assert_int_eq(req.u.snap_create.type, API_SNAPSHOT_FULL);   /* the default */
	ck_assert_str_eq(req.u.snap_create.snapshot_path, "/s/vm.state");
	ck_assert_str_eq(req.u.snap_create.mem_file_path, "/s/vm.mem");
	CREATE_OK("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}");
	ck_assert_int_eq(req.u.snap_create.type, API_SNAPSHOT_FULL);
	CREATE_OK("{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}");
	ck_assert_int_eq(req.u.snap_create.type, API_SNAPSHOT_DIFF);
	CREATE_OK("{\"snapshot_type\": null, \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}");
	ck_assert_int_eq(req.u.snap_create.type, API_SNAPSHOT_FULL);

	/* snapshot_type */
	CREATE_FAULT("{\"snapshot_type\": \"full\", \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}",
		     "unknown variant `full`, expected `Diff` or `Full` at line 1 column 24. "
		     "(snapshot/create.snapshot_type: invalid value \\\"full\\\")");
	CREATE_FAULT("{\"snapshot_type\": 1, \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}",
		     "snapshot/create.snapshot_type: expected a string, got an integer");
	/* snapshot_path */
	CREATE_FAULT("{\"mem_file_path\": \"m\"}",
		     "snapshot/create.snapshot_path: missing required field)");
	CREATE_FAULT("{\"snapshot_path\": null, \"mem_file_path\": \"m\"}",
		     "missing field `snapshot_path`");
	CREATE_FAULT("{\"snapshot_path\": \"\", \"mem_file_path\": \"m\"}",
		     "snapshot/create.snapshot_path: must not be empty");
	CREATE_FAULT("{\"snapshot_path\": [\"s\"], \"mem_file_path\": \"m\"}",
		     "snapshot/create.snapshot_path: expected a string, got an array");
	/* mem_file_path */
	CREATE_FAULT("{\"snapshot_path\": \"s\"}",
		     "snapshot/create.mem_file_path: missing required field)");
	CREATE_FAULT("{\"snapshot_path\": \"s\", \"mem_file_path\": \"\"}",
		     "snapshot/create.mem_file_path: must not be empty");
	CREATE_FAULT("{\"snapshot_path\": \"s\", \"mem_file_path\": false}",
		     "snapshot/create.mem_file_path: expected a string, got a boolean");
	/* Paths must fit VM_PATH_MAX. */
	char *body = malloc(VM_PATH_MAX + 64);
	ck_assert_ptr_nonnull(body);
	int n = snprintf(body, VM_PATH_MAX + 64, "{\"snapshot_path\": \"s\", \"mem_file_path\": \"");
	memset(body + n, 'm', VM_PATH_MAX - 1);
	strcpy(body + n + VM_PATH_MAX - 1, "\"}");
	CREATE_OK(body);
	ck_assert_uint_eq(strlen(req.u.snap_create.mem_file_path), VM_PATH_MAX - 1);
	strcpy(body + n + VM_PATH_MAX - 1, "m\"}");
	CREATE_FAULT(body, "snapshot/create.mem_file_path: too long (4096 bytes, at most 4095)");
	free(body);
	/* Unknown fields (older Firecracker versions had "version"). */
	CREATE_FAULT("{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", \"version\": \"1.0.0\"}",
		     "unknown field `version`, expected one of "
		     "`snapshot_type`, `snapshot_path`, `mem_file_path`");
	/* Bodies */
	CREATE_FAULT(NULL, "The request body is empty");
	CREATE_FAULT("[]", "expected a JSON object");
	CREATE_FAULT("{\"snapshot_path\": \"s\"", "Invalid JSON");
	/* Methods and paths */
	FAULT("GET", "/snapshot/create", NULL,
	      "Invalid request method and/or path: GET /snapshot/create.");
	FAULT("PATCH", "/snapshot/create", "{}",
	      "Invalid request method and/or path: PATCH /snapshot/create.");
	FAULT("POST", "/snapshot/create", "{}", "Invalid request method and/or path");
	FAULT("PUT", "/snapshot", "{}", "Invalid request method and/or path: PUT /snapshot.");
	FAULT("PUT", "/snapshot/", "{}", "Invalid request method and/or path");
	FAULT("PUT", "/snapshot/save", "{}", "Invalid request method and/or path: PUT /snapshot/save.");
	FAULT("PUT", "/snapshot/create/x", "{}", "Invalid request method and/or path");
	ck_assert_int_eq(req.kind, API_REQ__COUNT);
	ck_assert_str_eq(api_request_name(API_REQ_SNAPSHOT_CREATE), "PUT /snapshot/create");
}
END_TEST

#define LOAD_OK(b_) OK("PUT", "/snapshot/load", b_, API_REQ_SNAPSHOT_LOAD)
#define LOAD_FAULT(b_, msg_)                                                               \
	do {                                                                                 \
		FAULT("PUT", "/snapshot/load", b_, msg_);                                    \
		ck_assert_int_eq(req.kind, API_REQ_SNAPSHOT_LOAD);                           \
	} while (0)
#define FILE_BACKEND "\"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"/s/m\"}"

START_TEST(snapshot_load_memory)
{
	LOAD_OK("{\"snapshot_path\": \"/s/st\", " FILE_BACKEND "}");
	const struct api_snapshot_load *l = &req.u.snap_load;
	ck_assert_str_eq(l->snapshot_path, "/s/st");
	ck_assert_int_eq(l->backend, API_MEM_BACKEND_FILE);
	ck_assert_str_eq(l->backend_path, "/s/m");
	ck_assert(!l->track_dirty_pages);   /* defaults */
	ck_assert(!l->resume_vm);
	ck_assert_uint_eq(l->nr_net_overrides, 0);
	LOAD_OK("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_path\": \"/run/uffd.sock\","
		" \"backend_type\": \"Uffd\"}}");
	ck_assert_int_eq(l->backend, API_MEM_BACKEND_UFFD);
	ck_assert_str_eq(l->backend_path, "/run/uffd.sock");
	/* The deprecated mem_file_path: backend File with that path. */
	LOAD_OK("{\"snapshot_path\": \"st\", \"mem_file_path\": \"/s/mem\"}");
	ck_assert_int_eq(l->backend, API_MEM_BACKEND_FILE);
	ck_assert_str_eq(l->backend_path, "/s/mem");
	LOAD_OK("{\"snapshot_path\": \"st\", \"mem_file_path\": \"/s/mem\", \"mem_backend\": null}");
	ck_assert_str_eq(l->backend_path, "/s/mem");
	LOAD_OK("{\"snapshot_path\": \"st\", \"mem_file_path\": null, " FILE_BACKEND "}");
	ck_assert_str_eq(l->backend_path, "/s/m");

	/* Exactly one of mem_backend and mem_file_path (Firecracker's sentences). */
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_file_path\": \"/s/mem\", " FILE_BACKEND "}",
		   "snapshot/load: too many fields: either `mem_backend` or `mem_file_path` "
		   "exclusively is required.");
	LOAD_FAULT("{\"snapshot_path\": \"st\"}",
		   "snapshot/load: missing field: either `mem_backend` or `mem_file_path` is "
		   "required.");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": null, \"mem_file_path\": null}",
		   "missing field: either `mem_backend` or `mem_file_path` is required");
	/* Field errors come before the exclusivity check, as in Firecracker. */
	LOAD_FAULT("{\"mem_file_path\": \"/s/mem\", " FILE_BACKEND "}",
		   "missing field `snapshot_path` at line 1 column 92. (snapshot/load.snapshot_path: "
		   "missing required field)");
	LOAD_FAULT("{\"snapshot_path\": \"\", " FILE_BACKEND "}",
		   "snapshot/load.snapshot_path: must not be empty");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_file_path\": \"\"}",
		   "snapshot/load.mem_file_path: must not be empty");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_file_path\": 7}",
		   "snapshot/load.mem_file_path: expected a string, got an integer");

	/* mem_backend */
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_path\": \"m\"}}",
		   "snapshot/load.mem_backend.backend_type: missing required field)");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_type\": \"File\"}}",
		   "snapshot/load.mem_backend.backend_path: missing required field)");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_type\": \"foo\","
		   " \"backend_path\": \"m\"}}",
		   "unknown variant `foo`, expected `File` or `Uffd` at line 1 column 61. "
		   "(snapshot/load.mem_backend.backend_type: invalid value \\\"foo\\\")");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_type\": \"file\","
		   " \"backend_path\": \"m\"}}", "unknown variant `file`, expected `File` or `Uffd`");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_type\": \"File\","
		   " \"backend_path\": \"\"}}", "snapshot/load.mem_backend.backend_path: must not be empty");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {\"backend_type\": \"File\","
		   " \"backend_path\": \"m\", \"size\": 1}}",
		   "unknown field `size`, expected `backend_path` "
		   "or `backend_type`");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": \"File\"}",
		   "snapshot/load.mem_backend: expected an object, got a string");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"mem_backend\": {}}",
		   "missing field `backend_type`");
}
END_TEST

START_TEST(snapshot_load_flags)
{
	const struct api_snapshot_load *l = &req.u.snap_load;
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"track_dirty_pages\": true}");
	ck_assert(l->track_dirty_pages);
	/* enable_diff_snapshots is the deprecated alias: either one sets it. */
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"enable_diff_snapshots\": true}");
	ck_assert(l->track_dirty_pages);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"enable_diff_snapshots\": true,"
		" \"track_dirty_pages\": false}");
	ck_assert(l->track_dirty_pages);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"enable_diff_snapshots\": false,"
		" \"track_dirty_pages\": true}");
	ck_assert(l->track_dirty_pages);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"enable_diff_snapshots\": false,"
		" \"track_dirty_pages\": false, \"resume_vm\": false}");
	ck_assert(!l->track_dirty_pages && !l->resume_vm);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"resume_vm\": true}");
	ck_assert(l->resume_vm);
	ck_assert(!l->track_dirty_pages);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"resume_vm\": null,"
		" \"track_dirty_pages\": null, \"enable_diff_snapshots\": null}");
	ck_assert(!l->resume_vm && !l->track_dirty_pages);
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"enable_diff_snapshots\": 1}",
		   "snapshot/load.enable_diff_snapshots: expected a boolean, got an integer");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"track_dirty_pages\": \"true\"}",
		   "snapshot/load.track_dirty_pages: expected a boolean, got a string");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"resume_vm\": \"yes\"}",
		   "snapshot/load.resume_vm: expected a boolean, got a string");

	/* vsock_override: moves the vsock socket. */
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"vsock_override\": null}");
	ck_assert(!req.u.snap_load.has_vsock_override);
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"vsock_override\":"
		" {\"uds_path\": \"/v.sock\"}}");
	ck_assert(req.u.snap_load.has_vsock_override);
	ck_assert_str_eq(req.u.snap_load.vsock_uds_path, "/v.sock");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"vsock_override\": {}}",
		   "snapshot/load.vsock_override.uds_path: missing required field");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"vsock_override\":"
		   " {\"uds_path\": \"/v\", \"x\": 1}}",
		   "snapshot/load.vsock_override.x: unknown field");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"vsock_override\": \"/v\"}",
		   "snapshot/load.vsock_override: expected an object, got a string");
	/* The spec's clock_realtime and huge_pages: only their defaults. */
	LOAD_OK("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"clock_realtime\": false,"
		" \"huge_pages\": \"Snapshot\"}");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"clock_realtime\": true}",
		   "snapshot/load.clock_realtime: true is not supported by wisp");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"huge_pages\": \"2M\"}",
		   "snapshot/load.huge_pages: \\\"2M\\\" is not supported by wisp");
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"huge_pages\": \"1G\"}",
		   "unknown variant `1G`, expected one of `Snapshot`, `None`, `Transparent`, `2M`");

	/* Unknown fields, bodies, methods */
	LOAD_FAULT("{\"snapshot_path\": \"st\", " FILE_BACKEND ", \"resume\": true}",
		   "unknown field `resume`, expected one of `snapshot_path`, "
		   "`mem_file_path`, `mem_backend`, `enable_diff_snapshots`, `track_dirty_pages`, "
		   "`resume_vm`, `network_overrides`, `vsock_override`, `clock_realtime`, "
		   "`huge_pages`");
	LOAD_FAULT("", "The request body is empty");
	LOAD_FAULT("{\"snapshot_path\": \"st\", \"snapshot_path\": \"x\", " FILE_BACKEND "}",
		   "duplicate");
	FAULT("GET", "/snapshot/load", NULL, "Invalid request method and/or path: GET /snapshot/load.");
	FAULT("PATCH", "/snapshot/load", "{}",
	      "Invalid request method and/or path: PATCH /snapshot/load.");
	FAULT("DELETE", "/snapshot/load", NULL, "Invalid request method and/or path");
	FAULT("PUT", "/snapshot/load/", "{}", "Invalid request method and/or path");
	ck_assert_str_eq(api_request_name(API_REQ_SNAPSHOT_LOAD), "PUT /snapshot/load");
}
END_TEST

/* One network_overrides item: {"iface_id": ID, "host_dev_name": TAP}. */
static char *load_with_overrides(const char *items)
{
	static char body[8192];
	snprintf(body, sizeof(body), "{\"snapshot_path\": \"st\", " FILE_BACKEND
		 ", \"network_overrides\": %s}", items);
	return body;
}

START_TEST(snapshot_load_net_overrides)
{
	const struct api_snapshot_load *l = &req.u.snap_load;
	LOAD_OK(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"vmtap0\"},"
				    " {\"iface_id\": \"eth1\", \"host_dev_name\": \"vmtap1\"}]"));
	ck_assert_uint_eq(l->nr_net_overrides, 2);
	ck_assert_str_eq(l->net_overrides[0].iface_id, "eth0");
	ck_assert_str_eq(l->net_overrides[0].host_dev_name, "vmtap0");
	ck_assert_str_eq(l->net_overrides[1].iface_id, "eth1");
	ck_assert_str_eq(l->net_overrides[1].host_dev_name, "vmtap1");
	LOAD_OK(load_with_overrides("[]"));
	ck_assert_uint_eq(l->nr_net_overrides, 0);
	LOAD_OK(load_with_overrides("null"));
	ck_assert_uint_eq(l->nr_net_overrides, 0);
	/* Limits: iface_id 1..64 bytes, host_dev_name 1..15 (IFNAMSIZ - 1). */
	LOAD_OK(load_with_overrides("[{\"iface_id\": \"i234567890123456789012345678901234567890"
				    "123456789012345678901234\", \"host_dev_name\": \"t23456789012345\"}]"));
	ck_assert_uint_eq(strlen(l->net_overrides[0].iface_id), 64);
	ck_assert_str_eq(l->net_overrides[0].host_dev_name, "t23456789012345");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"i234567890123456789012345678901234567890"
				       "1234567890123456789012345\", \"host_dev_name\": \"t\"}]"),
		   "snapshot/load.network_overrides[0].iface_id: too long (65 bytes, at most 64)");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t234567890123456\"}]"),
		   "snapshot/load.network_overrides[0].host_dev_name: too long (16 bytes, at most 15)");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"\", \"host_dev_name\": \"t\"}]"),
		   "snapshot/load.network_overrides[0].iface_id: must not be empty");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth 0\", \"host_dev_name\": \"t\"}]"),
		   "snapshot/load.network_overrides[0].iface_id: invalid character 0x20");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"\"}]"),
		   "snapshot/load.network_overrides[0].host_dev_name: must not be empty");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"a/b\"}]"),
		   "snapshot/load.network_overrides[0].host_dev_name: must not contain '/'");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"},"
				       " {\"host_dev_name\": \"t1\"}]"),
		   "missing field `iface_id` at line 1 column 179. "
		   "(snapshot/load.network_overrides[1].iface_id: missing required field)");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\"}]"),
		   "snapshot/load.network_overrides[0].host_dev_name: missing required field)");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\","
				       " \"guest_mac\": \"06:00:00:00:00:01\"}]"),
		   "unknown field `guest_mac`, "
		   "expected `iface_id` or `host_dev_name`");
	LOAD_FAULT(load_with_overrides("[{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"},"
				       " {\"iface_id\": \"eth1\", \"host_dev_name\": \"t1\"},"
				       " {\"iface_id\": \"eth0\", \"host_dev_name\": \"t2\"}]"),
		   "snapshot/load.network_overrides[2].iface_id: duplicate interface id "
		   "\\\"eth0\\\" (also in network_overrides[0])");
	LOAD_FAULT(load_with_overrides("{\"iface_id\": \"eth0\", \"host_dev_name\": \"t0\"}"),
		   "snapshot/load.network_overrides: expected an array, got an object");
	LOAD_FAULT(load_with_overrides("[\"eth0\"]"),
		   "snapshot/load.network_overrides[0]: expected an object, got a string");
	LOAD_FAULT(load_with_overrides("[null]"),
		   "snapshot/load.network_overrides[0]: expected an object, got null");

	/* At most VM_MAX_NETS overrides. */
	char items[4096];
	size_t n = 0;
	for (int i = 0; i <= VM_MAX_NETS; i++)
		n += (size_t)snprintf(items + n, sizeof(items) - n,
				      "%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\"}",
				      i ? ", " : "[", i, i);
	char *last = strrchr(items, '{');
	strcpy(last - 2, "]");    /* VM_MAX_NETS items */
	LOAD_OK(load_with_overrides(items));
	ck_assert_uint_eq(l->nr_net_overrides, VM_MAX_NETS);
	ck_assert_str_eq(l->net_overrides[VM_MAX_NETS - 1].host_dev_name, "tap15");
	n = 0;
	for (int i = 0; i <= VM_MAX_NETS; i++)
		n += (size_t)snprintf(items + n, sizeof(items) - n,
				      "%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\"}",
				      i ? ", " : "[", i, i);
	snprintf(items + n, sizeof(items) - n, "]");
	LOAD_FAULT(load_with_overrides(items),
		   "snapshot/load.network_overrides: too many overrides (17, at most 16");
}
END_TEST

START_TEST(responses)
{
	struct api_response r = {0};
	api_response_no_content(&r);
	ck_assert_int_eq(r.status, 204);
	ck_assert_ptr_null(r.body);
	api_response_fault(&r, "bad %s \"q\"", "thing");
	ck_assert_int_eq(r.status, 400);
	ck_assert_str_eq(r.body, "{\"fault_message\":\"bad thing \\\"q\\\"\"}");
	api_response_json(&r, api_instance_info_json("vm1", API_STATE_NOT_STARTED));
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "{\"id\":\"vm1\",\"state\":\"Not started\",\"vmm_version\":\""
			 WISP_FC_VERSION "\",\"app_name\":\"wisp\"}");
	struct machine_config mc = {.vcpu_count = 2, .mem_size_mib = 256, .smt = true};
	api_response_json(&r, api_machine_config_json(&mc));
	ck_assert_str_eq(r.body, "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":true,"
			 "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	api_response_clear(&r);
	ck_assert_str_eq(api_instance_state_name(API_STATE_PAUSED), "Paused");
	ck_assert_str_eq(api_request_name(API_REQ_PUT_MACHINE_CONFIG), "PUT /machine-config");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_routes");
	TCase *tc = tcase_create("routes");
	tcase_add_test(tc, gets);
	tcase_add_test(tc, unsupported_paths);
	tcase_add_test(tc, bodies_required);
	tcase_add_test(tc, machine_config);
	tcase_add_test(tc, boot_source);
	tcase_add_test(tc, drives);
	tcase_add_test(tc, network_interfaces);
	tcase_add_test(tc, actions_vm);
	tcase_add_test(tc, logger_metrics);
	tcase_add_test(tc, serde_words);
	tcase_add_test(tc, snapshot_create);
	tcase_add_test(tc, snapshot_load_memory);
	tcase_add_test(tc, snapshot_load_flags);
	tcase_add_test(tc, snapshot_load_net_overrides);
	tcase_add_test(tc, responses);
	tcase_add_test(tc, fc_messages);
	tcase_add_test(tc, deprecations);
	tcase_add_test(tc, serde_positions);
	suite_add_tcase(s, tc);
	int rc = check_run_suite(s);

	api_response_clear(&resp);
	return rc;
}
