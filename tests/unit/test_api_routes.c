/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_routes.c — routing and body validation of every endpoint. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "api/api.h"
#include "api/route.h"

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

START_TEST(gets)
{
	OK("GET", "/", NULL, API_REQ_GET_INSTANCE_INFO);
	OK("GET", "/machine-config", NULL, API_REQ_GET_MACHINE_CONFIG);
	OK("GET", "/vm/config", NULL, API_REQ_GET_VM_CONFIG);
	ck_assert_int_eq(route("GET", "/version", NULL), 0);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.body, "{\"firecracker_version\":\"" WISP_VERSION "\"}");
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
	FAULT("PUT", "/balloon", "{}", "/balloon is not supported by wisp");
	FAULT("GET", "/balloon/statistics", NULL, "is not supported by wisp");
	FAULT("PUT", "/snapshot/create", "{}", "/snapshot/create is not supported by wisp");
	FAULT("PUT", "/snapshot/load", "{}", "is not supported by wisp");
	FAULT("PUT", "/vsock", "{}", "is not supported by wisp");
	FAULT("PUT", "/mmds", "{}", "is not supported by wisp");
	FAULT("PUT", "/mmds/config", "{}", "is not supported by wisp");
	FAULT("PUT", "/entropy", "{}", "is not supported by wisp");
	FAULT("PUT", "/cpu-config", "{}", "is not supported by wisp");
	FAULT("PUT", "/pmem/p0", "{}", "/pmem/p0 is not supported by wisp");
	FAULT("PUT", "/serial", "{}", "is not supported by wisp");
	FAULT("PUT", "/hotplug/memory", "{}", "is not supported by wisp");
	FAULT("PATCH", "/balloon/hinting/start", "{}", "is not supported by wisp");
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
	OK("PATCH", "/machine-config", "{}", API_REQ_PATCH_MACHINE_CONFIG);
	ck_assert_uint_eq(req.u.machine_patch.present, 0);
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
	      "The id from the path [rootfs] does not match the id from the body [other]!");
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
	      "drives.rate_limiter: is not supported by wisp");
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
	FAULT("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {}}",
	      "network-interfaces.rx_rate_limiter: is not supported by wisp");
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
	FAULT("PUT", "/logger", "{\"module\": \"api\"}", "logger.module: is not supported by wisp");
	FAULT("PUT", "/logger", "{\"log_path\": \"\"}", "logger.log_path: must not be empty");
	OK("PUT", "/metrics", "{\"metrics_path\": \"/tmp/m\"}", API_REQ_PUT_METRICS);
	ck_assert_str_eq(req.u.metrics.metrics_path, "/tmp/m");
	FAULT("PUT", "/metrics", "{}", "metrics.metrics_path: missing required field");
	FAULT("PUT", "/metrics", "{\"metrics_path\": \"m\", \"emit_id\": true}",
	      "metrics.emit_id: true is not supported by wisp");
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
			 WISP_VERSION "\",\"app_name\":\"wisp\"}");
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
	tcase_add_test(tc, responses);
	suite_add_tcase(s, tc);
	int rc = check_run_suite(s);

	api_response_clear(&resp);
	return rc;
}
