/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_vmconfig.c — the config document: parse, round-trip, rejections. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "api/api.h"
#include "api/route.h"

#include <jansson.h>

static char err[1024];
static struct vm_config cfg;

static int parse(const char *doc)
{
	err[0] = '\0';
	vm_config_init(&cfg);
	return vmconfig_parse(doc, strlen(doc), &cfg, err, sizeof(err));
}

#define REJECT(doc, msg)                                                                    \
	do {                                                                                 \
		ck_assert_int_eq(parse(doc), -EINVAL);                                       \
		ck_assert_msg(strstr(err, msg), "error '%s' lacks '%s'", err, msg);          \
	} while (0)

static const char *full_doc =
	"{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\","
	" \"boot_args\": \"console=ttyS0\"},"
	" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true,"
	"   \"track_dirty_pages\": true, \"huge_pages\": \"2M\"},"
	" \"drives\": [{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r.ext4\","
	"   \"is_root_device\": true, \"is_read_only\": true, \"partuuid\": \"abc\","
	"   \"cache_type\": \"Writeback\", \"io_engine\": \"Async\"},"
	"   {\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": false}],"
	" \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
	"   \"guest_mac\": \"AA:FC:00:00:00:01\", \"mtu\": 1500}],"
	" \"logger\": {\"log_path\": \"/l\", \"level\": \"debug\", \"show_level\": true},"
	" \"metrics\": {\"metrics_path\": \"/m\"},"
	" \"balloon\": {\"amount_mib\": 64, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 5,"
	"   \"free_page_hinting\": false, \"free_page_reporting\": true}}";

START_TEST(full_document)
{
	ck_assert_int_eq(parse(full_doc), 0);
	ck_assert(cfg.boot.set);
	ck_assert_str_eq(cfg.boot.kernel_image_path, "/k");
	ck_assert_str_eq(cfg.boot.initrd_path, "/i");
	ck_assert(cfg.boot.has_boot_args);
	ck_assert_str_eq(cfg.boot.boot_args, "console=ttyS0");
	ck_assert_uint_eq(cfg.machine.vcpu_count, 2);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 256);
	ck_assert(cfg.machine.smt && cfg.machine.track_dirty_pages);
	ck_assert_int_eq(cfg.machine.huge_pages, HUGE_PAGES_2M);
	ck_assert_uint_eq(cfg.nr_drives, 2);
	ck_assert_str_eq(cfg.drives[0].drive_id, "rootfs");
	ck_assert(cfg.drives[0].is_root_device && cfg.drives[0].is_read_only);
	ck_assert_str_eq(cfg.drives[0].partuuid, "abc");
	ck_assert_int_eq(cfg.drives[0].cache_type, CACHE_WRITEBACK);
	ck_assert_int_eq(cfg.drives[0].io_engine, IO_ENGINE_ASYNC);
	ck_assert_int_eq(cfg.drives[1].cache_type, CACHE_UNSAFE);
	ck_assert(!cfg.drives[1].is_read_only);
	ck_assert_uint_eq(cfg.nr_nets, 1);
	ck_assert(cfg.nets[0].has_mac);
	ck_assert_uint_eq(cfg.nets[0].guest_mac[0], 0xaa);
	ck_assert_uint_eq(cfg.nets[0].guest_mac[5], 0x01);
	ck_assert_uint_eq(cfg.nets[0].mtu, 1500);
	ck_assert(cfg.logger.set);
	ck_assert_int_eq(cfg.logger.level, LOG_DEBUG);
	ck_assert(cfg.logger.show_level && !cfg.logger.show_log_origin);
	ck_assert(cfg.metrics.set);
	ck_assert_str_eq(cfg.metrics.metrics_path, "/m");
	ck_assert(cfg.balloon.set && cfg.balloon.deflate_on_oom && cfg.balloon.free_page_reporting);
	ck_assert_uint_eq(cfg.balloon.amount_mib, 64);
	ck_assert_uint_eq(cfg.balloon.stats_polling_interval_s, 5);
}
END_TEST

START_TEST(round_trip)
{
	ck_assert_int_eq(parse(full_doc), 0);
	struct vm_config *a = malloc(sizeof(*a));
	memcpy(a, &cfg, sizeof(cfg));
	char *json = vmconfig_to_json(a);
	ck_assert_ptr_nonnull(json);
	ck_assert_int_eq(parse(json), 0);
	ck_assert_int_eq(memcmp(a, &cfg, sizeof(cfg)), 0);
	/* And once more: the text is stable. */
	char *json2 = vmconfig_to_json(&cfg);
	ck_assert_str_eq(json, json2);
	free(json);
	free(json2);
	/* The default config round-trips too. */
	vm_config_init(a);
	json = vmconfig_to_json(a);
	ck_assert_int_eq(parse(json), 0);
	ck_assert_int_eq(memcmp(a, &cfg, sizeof(cfg)), 0);
	free(json);
	free(a);
}
END_TEST

START_TEST(minimal_and_nulls)
{
	ck_assert_int_eq(parse("{}"), 0);
	ck_assert(!cfg.boot.set);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 1);
	ck_assert_uint_eq(cfg.machine.mem_size_mib, 128);
	/* A Firecracker GET /vm/config document has nulls for absent parts. */
	ck_assert_int_eq(parse("{\"balloon\": null, \"vsock\": null, \"mmds-config\": null,"
			       " \"entropy\": null, \"cpu-config\": null, \"logger\": null,"
			       " \"boot-source\": {\"kernel_image_path\": \"k\", \"initrd_path\": null},"
			       " \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\","
			       " \"is_root_device\": false, \"rate_limiter\": null}]}"), 0);
	ck_assert(cfg.boot.set);
	ck_assert(!cfg.boot.has_boot_args);
	ck_assert_str_eq(cfg.boot.initrd_path, "");
	ck_assert(!cfg.logger.set);
}
END_TEST

START_TEST(rejections)
{
	REJECT("", "empty document");
	REJECT("{", "Invalid JSON");
	REJECT("[]", "expected a JSON object");
	REJECT("{\"a\":1, \"a\":2}", "duplicate");
	REJECT("{\"machine-confg\": {}}", "machine-confg: unknown field");
	REJECT("{\"balloon\": {\"amount_mib\": 1}}", "balloon.deflate_on_oom: missing required field");
	REJECT("{\"balloon\": {\"amount_mib\": 129, \"deflate_on_oom\": false}}",
	       "balloon.amount_mib: Amount of pages requested is too large.");
	REJECT("{\"vsock\": {}}", "vsock.guest_cid: missing required field");
	REJECT("{\"mmds-config\": {}}", "mmds-config: is not supported");
	REJECT("{\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": 1}}}}",
	       "entropy.rate_limiter.ops.refill_time: missing required field");
	/* "cpu-config": a custom CPU template (test_cpu_template.c) */
	REJECT("{\"cpu-config\": {\"foo\": 1}}", "cpu-config.foo: unknown field `foo`");
	/* Devices wisp lacks: [] / null are "none" (test_fc_document below);
	 * anything else is refused clearly. */
	REJECT("{\"pmem\": [{\"id\": \"p\"}]}", "pmem: is not supported by wisp");
	REJECT("{\"pmem\": {}}", "pmem: expected an array");
	REJECT("{\"memory-hotplug\": {}}", "memory-hotplug: is not supported");
	REJECT("{\"serial\": {\"out\": \"x\"}}", "serial.out: unknown field");
	REJECT("{\"serial\": {\"serial_out_path\": \"\"}}", "serial.serial_out_path: must not be empty");
	REJECT("{\"serial\": {\"serial_out_path\": 1}}", "serial.serial_out_path: expected a string");
	REJECT("{\"serial\": {\"rate_limiter\": {\"size\": 1}}}",
	       "missing field `refill_time`");
	REJECT("{\"serial\": {\"rate_limiter\": {\"size\": 1, \"refill_time\": 1, \"ops\": 1}}}",
	       "serial.rate_limiter.ops: unknown field");
	REJECT("{\"serial\": []}", "serial: ");
	/* machine-config */
	REJECT("{\"machine-config\": {\"vcpu_cont\": 1, \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_cont: unknown field");
	REJECT("{\"machine-config\": {\"vcpu_count\": \"1\", \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_count: expected an integer");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1.5, \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_count: expected an integer");
	REJECT("{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_count: The vCPU number is invalid");
	REJECT("{\"machine-config\": {\"vcpu_count\": 33, \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_count: The vCPU number is invalid");
	REJECT("{\"machine-config\": {\"vcpu_count\": -1, \"mem_size_mib\": 1}}",
	       "machine-config.vcpu_count: out of range");
	REJECT("{\"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 1, \"smt\": true}}",
	       "can only be 1 or an even number when SMT is enabled");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 0}}",
	       "machine-config.mem_size_mib: The memory size (MiB) is invalid");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 4294967296}}",
	       "machine-config.mem_size_mib: out of range");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 99999999999999999999999}}",
	       "Invalid JSON");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 3, \"huge_pages\": \"2M\"}}",
	       "machine-config.mem_size_mib: The memory size (MiB) must be a multiple of 2");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 4, \"huge_pages\": \"1G\"}}",
	       "machine-config.huge_pages: invalid value \"1G\"");
	REJECT("{\"machine-config\": {\"mem_size_mib\": 4}}",
	       "machine-config.vcpu_count: missing required field");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1}}",
	       "machine-config.mem_size_mib: missing required field");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 4, \"smt\": 1}}",
	       "machine-config.smt: expected a boolean");
	REJECT("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 4, \"cpu_template\": \"T3\"}}",
	       "unknown variant `T3`");
	REJECT("{\"machine-config\": 5}", "machine-config: expected an object");
	/* boot-source */
	REJECT("{\"boot-source\": {}}", "boot-source.kernel_image_path: missing required field");
	/* {"kernel_image_path": ""} alone is Firecracker's "no boot source yet"
	 * (see fc_unset_boot_source); with anything else it is an error. */
	REJECT("{\"boot-source\": {\"kernel_image_path\": \"\", \"boot_args\": \"x\"}}",
	       "boot-source.kernel_image_path: must not be empty");
	REJECT("{\"boot-source\": {\"kernel_image_path\": \"\", \"initrd_path\": \"/i\"}}",
	       "boot-source.kernel_image_path: must not be empty");
	REJECT("{\"boot-source\": {\"kernel_image_path\": 3}}",
	       "boot-source.kernel_image_path: expected a string");
	REJECT("{\"boot-source\": {\"kernel_image_path\": \"k\", \"bootargs\": \"\"}}",
	       "boot-source.bootargs: unknown field");
	/* drives */
	REJECT("{\"drives\": {}}", "drives: expected an array");
	REJECT("{\"drives\": [{\"path_on_host\": \"p\", \"is_root_device\": true}]}",
	       "drives[0].drive_id: missing required field");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\"}]}",
	       "drives[0].is_root_device: missing required field");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"is_root_device\": true}]}",
	       "drives[0].path_on_host: missing required field");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": true},"
	       "{\"drive_id\": \"b\", \"path_on_host\": \"p\", \"is_root_device\": true}]}",
	       "A root block device already exists");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": true},"
	       "{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": false}]}",
	       "drives[1].drive_id: duplicate drive id \"a\"");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": true,"
	       " \"cache_type\": \"unsafe\"}]}", "drives[0].cache_type: invalid value");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": true,"
	       " \"io_engine\": \"Uring\"}]}", "drives[0].io_engine: invalid value");
	REJECT("{\"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"p\", \"is_root_device\": true,"
	       " \"rate_limiter\": {\"bandwidth\": {\"size\": 1, \"refill_time\": 1, \"x\": 0}}}]}",
	       "drives[0].rate_limiter.bandwidth.x: unknown field");
	REJECT("{\"drives\": [{\"drive_id\": \"a/b\", \"path_on_host\": \"p\", \"is_root_device\": true}]}",
	       "drives[0].drive_id: invalid character");
	REJECT("{\"drives\": [{\"drive_id\": "
	       "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
	       " \"path_on_host\": \"p\", \"is_root_device\": true}]}",
	       "drives[0].drive_id: too long");
	/* network-interfaces */
	REJECT("{\"network-interfaces\": [{\"host_dev_name\": \"tap0\"}]}",
	       "network-interfaces[0].iface_id: missing required field");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\"}]}",
	       "network-interfaces[0].host_dev_name: missing required field");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"tap0123456789abcdef\"}]}",
	       "network-interfaces[0].host_dev_name: too long");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"guest_mac\": \"aa:bb\"}]}",
	       "network-interfaces[0].guest_mac: invalid MAC address");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\","
	       " \"guest_mac\": \"aa:bb:cc:dd:ee:fg\"}]}", "guest_mac: invalid MAC address");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 67}]}",
	       "network-interfaces[0].mtu: out of range");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\", \"mtu\": 65536}]}",
	       "network-interfaces[0].mtu: out of range");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\"},"
	       "{\"iface_id\": \"e\", \"host_dev_name\": \"u\"}]}",
	       "network-interfaces[1].iface_id: duplicate interface id");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\"},"
	       "{\"iface_id\": \"f\", \"host_dev_name\": \"t\"}]}",
	       "host device name \"t\" is already used");
	REJECT("{\"network-interfaces\": [{\"iface_id\": \"e\", \"host_dev_name\": \"t\","
	       " \"rx_rate_limiter\": []}]}", "network-interfaces[0].rx_rate_limiter: expected");
	/* logger / metrics */
	REJECT("{\"logger\": {\"level\": \"Loud\"}}", "logger.level: invalid value \"Loud\"");
	REJECT("{\"logger\": {\"module\": 5}}", "logger.module");
	REJECT("{\"metrics\": {}}", "metrics.metrics_path: missing required field");
	REJECT("{\"metrics\": {\"metrics_path\": \"m\", \"x\": 1}}", "metrics.x: unknown field");
}
END_TEST

/* Firecracker's tests/framework/vm_config.json (1.17), as its
 * test_cmd_line_start.py writes it: every key, nulls and [] included. */
static const char *fc_vm_config_json =
	"{\"boot-source\": {\"kernel_image_path\": \"vmlinux.bin\","
	"   \"boot_args\": \"console=ttyS0 reboot=k panic=1\", \"initrd_path\": null},"
	" \"drives\": [{\"drive_id\": \"rootfs\", \"partuuid\": null, \"is_root_device\": true,"
	"   \"cache_type\": \"Unsafe\", \"is_read_only\": true, \"path_on_host\": \"rootfs.ext4\","
	"   \"io_engine\": \"Sync\", \"rate_limiter\": null, \"socket\": null}],"
	" \"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 1024, \"smt\": false,"
	"   \"track_dirty_pages\": false, \"huge_pages\": \"None\"},"
	" \"cpu-config\": null, \"balloon\": null, \"network-interfaces\": [], \"vsock\": null,"
	" \"logger\": null, \"metrics\": null, \"mmds-config\": null, \"entropy\": null,"
	" \"pmem\": [], \"memory-hotplug\": null}";

/* The keys of Firecracker 1.17's FullVmConfiguration (VmmConfig in
 * src/vmm/src/resources.rs; "serial" is serde(skip) there). */
static const char *const fc_top_keys[] = {"balloon", "drives", "boot-source", "cpu-config",
					  "logger", "machine-config", "metrics", "mmds-config",
					  "network-interfaces", "vsock", "entropy", "pmem",
					  "memory-hotplug", NULL};

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	ck_assert_msg(v != NULL, "%s: %s", je.text, text);
	return v;
}

/* o has exactly the keys in `keys` (NULL-terminated). */
static void assert_keys(const json_t *o, const char *const *keys, const char *what)
{
	size_t n = 0;

	ck_assert_msg(json_is_object(o), "%s is not an object", what);
	for (const char *const *k = keys; *k; k++, n++)
		ck_assert_msg(json_object_get(o, *k) != NULL, "%s lacks \"%s\"", what, *k);
	ck_assert_msg(json_object_size(o) == n, "%s has %zu keys, expected %zu", what,
		      json_object_size(o), n);
}

/* Firecracker: functional/test_cmd_line_start.py::test_config_start_with_api
 * (the document loads, and GET /vm/config gives back the same document) */
START_TEST(fc_document)
{
	ck_assert_msg(parse(fc_vm_config_json) == 0, "%s", err);
	ck_assert(cfg.boot.set && cfg.boot.has_boot_args);
	ck_assert_str_eq(cfg.boot.initrd_path, "");
	ck_assert_uint_eq(cfg.nr_drives, 1);
	ck_assert_str_eq(cfg.drives[0].partuuid, "");
	ck_assert_uint_eq(cfg.nr_nets, 0);
	ck_assert(!cfg.balloon.set && !cfg.vsock.set && !cfg.entropy.set && !cfg.logger.set &&
		  !cfg.metrics.set && !cfg.serial.set);
	char *out = vmconfig_to_api_json(&cfg);
	json_t *a = load(out), *b = load(fc_vm_config_json);
	ck_assert_msg(json_equal(a, b), "GET /vm/config differs from the document:\n%s", out);
	json_decref(a);
	json_decref(b);
	free(out);
}
END_TEST

/* Firecracker: functional/test_api.py::test_get_full_config (the shape of
 * every part wisp has; pmem, mmds-config, memory-hotplug are refused by
 * wisp and show as [] / null) */
START_TEST(fc_api_shape)
{
	ck_assert_msg(parse(full_doc) == 0, "%s", err);
	/* A vsock, an entropy device and limiters too. */
	cfg.vsock.set = true;
	cfg.vsock.guest_cid = 15;
	strcpy(cfg.vsock.uds_path, "vsock.sock");
	cfg.entropy.set = true;
	/* Member by member: a compound literal may leave the padding after `set`
	 * undefined, and the memcmp below compares it. */
	cfg.nets[0].tx_rate_limiter.bandwidth.set = true;
	cfg.nets[0].tx_rate_limiter.bandwidth.size = 1000000;
	cfg.nets[0].tx_rate_limiter.bandwidth.refill_time = 100;
	cfg.serial.set = true;
	strcpy(cfg.serial.serial_out_path, "/s");
	char *out = vmconfig_to_api_json(&cfg);
	json_t *a = load(out);

	assert_keys(a, fc_top_keys, "document");
	static const char *const drive_keys[] = {"drive_id", "partuuid", "is_root_device",
						 "cache_type", "is_read_only", "path_on_host",
						 "rate_limiter", "io_engine", "socket", NULL};
	static const char *const net_keys[] = {"iface_id", "host_dev_name", "guest_mac", "mtu",
					       "rx_rate_limiter", "tx_rate_limiter", NULL};
	static const char *const boot_keys[] = {"kernel_image_path", "initrd_path", "boot_args",
						NULL};
	static const char *const machine_keys[] = {"vcpu_count", "mem_size_mib", "smt",
						   "track_dirty_pages", "huge_pages", NULL};
	static const char *const balloon_keys[] = {"amount_mib", "deflate_on_oom",
						   "stats_polling_interval_s", "free_page_hinting",
						   "free_page_reporting", NULL};
	static const char *const vsock_keys[] = {"guest_cid", "uds_path", NULL};
	static const char *const entropy_keys[] = {"rate_limiter", NULL};
	json_t *d1 = json_array_get(json_object_get(a, "drives"), 1);
	assert_keys(d1, drive_keys, "drives[1]");
	ck_assert(json_is_null(json_object_get(d1, "partuuid")));
	ck_assert(json_is_null(json_object_get(d1, "rate_limiter")));
	ck_assert(json_is_null(json_object_get(d1, "socket")));
	ck_assert_str_eq(json_string_value(json_object_get(d1, "io_engine")), "Sync");
	assert_keys(json_array_get(json_object_get(a, "drives"), 0), drive_keys, "drives[0]");
	json_t *n0 = json_array_get(json_object_get(a, "network-interfaces"), 0);
	assert_keys(n0, net_keys, "network-interfaces[0]");
	ck_assert(json_is_null(json_object_get(n0, "rx_rate_limiter")));
	json_t *tx = load("{\"bandwidth\": {\"size\": 1000000, \"refill_time\": 100,"
			  " \"one_time_burst\": null}, \"ops\": null}");
	ck_assert(json_equal(json_object_get(n0, "tx_rate_limiter"), tx));
	json_decref(tx);
	assert_keys(json_object_get(a, "boot-source"), boot_keys, "boot-source");
	assert_keys(json_object_get(a, "machine-config"), machine_keys, "machine-config");
	assert_keys(json_object_get(a, "balloon"), balloon_keys, "balloon");
	assert_keys(json_object_get(a, "vsock"), vsock_keys, "vsock");
	assert_keys(json_object_get(a, "entropy"), entropy_keys, "entropy");
	ck_assert(json_is_null(json_object_get(json_object_get(a, "entropy"), "rate_limiter")));
	/* Devices wisp lacks are null; serial is not in the document at all
	 * (Firecracker skips it); logger and metrics show what the document
	 * or the API configured (Firecracker: always null; docs/api.md). */
	static const char *const nulls[] = {"cpu-config", "mmds-config", "memory-hotplug", NULL};
	static const char *const logger_keys[] = {"level", "show_level", "show_log_origin",
						  "log_path", NULL};
	assert_keys(json_object_get(a, "logger"), logger_keys, "logger");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "metrics"),
							   "metrics_path")), "/m");
	for (const char *const *k = nulls; *k; k++)
		ck_assert_msg(json_is_null(json_object_get(a, *k)), "%s is not null", *k);
	ck_assert(json_is_array(json_object_get(a, "pmem")));
	ck_assert_uint_eq(json_array_size(json_object_get(a, "pmem")), 0);
	ck_assert_ptr_null(json_object_get(a, "serial"));
	json_decref(a);

	/* It parses back to the same VM (what a config file needs). */
	struct vm_config *want = malloc(sizeof(*want));
	memcpy(want, &cfg, sizeof(cfg));
	ck_assert_msg(parse(out) == 0, "%s", err);
	ck_assert(cfg.logger.set && cfg.metrics.set && !cfg.serial.set);
	want->serial = cfg.serial;
	ck_assert_int_eq(memcmp(want, &cfg, sizeof(cfg)), 0);
	free(want);
	free(out);
}
END_TEST

/* Firecracker's document before PUT /boot-source: boot-source with an
 * empty kernel path and nulls; and the default configuration's shape. */
START_TEST(fc_unset_boot_source)
{
	vm_config_init(&cfg);
	char *out = vmconfig_to_api_json(&cfg);
	json_t *a = load(out);
	json_t *want = load("{\"balloon\": null, \"drives\": [], \"boot-source\":"
			    " {\"kernel_image_path\": \"\", \"initrd_path\": null, \"boot_args\": null},"
			    " \"cpu-config\": null, \"logger\": null, \"machine-config\":"
			    " {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false,"
			    " \"track_dirty_pages\": false, \"huge_pages\": \"None\"},"
			    " \"metrics\": null, \"mmds-config\": null, \"network-interfaces\": [],"
			    " \"vsock\": null, \"entropy\": null, \"pmem\": [], \"memory-hotplug\": null}");
	ck_assert_msg(json_equal(a, want), "%s", out);
	json_decref(a);
	json_decref(want);
	ck_assert_msg(parse(out) == 0, "%s", err);
	ck_assert(!cfg.boot.set);
	free(out);
	ck_assert_int_eq(parse("{\"boot-source\": {\"kernel_image_path\": \"\"}}"), 0);
	ck_assert(!cfg.boot.set);
}
END_TEST

/* The document's "serial" (wisp's; Firecracker skips the key): parsed,
 * kept by the full form (snapshots, round trip), left out of GET. */
START_TEST(serial_in_document)
{
	ck_assert_msg(parse("{\"serial\": {\"serial_out_path\": \"/tmp/s.log\", \"rate_limiter\":"
			    " {\"size\": 1024, \"one_time_burst\": 65536, \"refill_time\": 1000}}}") == 0,
		      "%s", err);
	ck_assert(cfg.serial.set);
	ck_assert_str_eq(cfg.serial.serial_out_path, "/tmp/s.log");
	ck_assert(cfg.serial.rate_limiter.set);
	ck_assert_uint_eq(cfg.serial.rate_limiter.size, 1024);
	ck_assert_uint_eq(cfg.serial.rate_limiter.one_time_burst, 65536);
	ck_assert_uint_eq(cfg.serial.rate_limiter.refill_time, 1000);
	struct vm_config *a = malloc(sizeof(*a));
	memcpy(a, &cfg, sizeof(cfg));
	char *full = vmconfig_to_json(a);
	ck_assert_ptr_nonnull(strstr(full, "\"serial\""));
	ck_assert_msg(parse(full) == 0, "%s", err);
	ck_assert_int_eq(memcmp(a, &cfg, sizeof(cfg)), 0);
	free(full);
	/* A bucket that limits nothing (size or refill_time 0) is no limiter. */
	ck_assert_int_eq(parse("{\"serial\": {\"rate_limiter\": {\"size\": 0, \"refill_time\": 5}}}"), 0);
	ck_assert(cfg.serial.set && !cfg.serial.rate_limiter.set);
	ck_assert_str_eq(cfg.serial.serial_out_path, "");
	/* null: none. */
	ck_assert_int_eq(parse("{\"serial\": null}"), 0);
	ck_assert(!cfg.serial.set);
	free(a);
}
END_TEST

/* PUT /serial: Firecracker's SerialDevice body (1.14+; rate_limiter 1.16+). */
START_TEST(serial_route)
{
	static struct api_request req;
	struct api_response resp;
	const char *ok = "{\"serial_out_path\": \"serial.log\","
			 " \"rate_limiter\": {\"size\": 1024, \"refill_time\": 1000}}";

	ck_assert_int_eq(api_route("PUT", "/serial", ok, strlen(ok), &req, &resp), 1);
	ck_assert_int_eq(req.kind, API_REQ_PUT_SERIAL);
	ck_assert(req.u.serial.set);
	ck_assert_str_eq(req.u.serial.serial_out_path, "serial.log");
	ck_assert(req.u.serial.rate_limiter.set);
	ck_assert_uint_eq(req.u.serial.rate_limiter.size, 1024);
	ck_assert_uint_eq(req.u.serial.rate_limiter.one_time_burst, 0);
	ck_assert_uint_eq(req.u.serial.rate_limiter.refill_time, 1000);
	ck_assert_str_eq(api_request_name(API_REQ_PUT_SERIAL), "PUT /serial");
	/* Both fields are optional (Firecracker's Option<>): {} is stdout again. */
	ck_assert_int_eq(api_route("PUT", "/serial", "{}", 2, &req, &resp), 1);
	ck_assert(req.u.serial.set && !req.u.serial.serial_out_path[0] &&
		  !req.u.serial.rate_limiter.set);
	/* Refused: unknown fields (deny_unknown_fields), wrong types, an empty
	 * path, a bucket without its required fields, another verb. */
	static const char *const bad[][2] = {
		{"{\"serial_out_path\": \"s\", \"x\": 1}", "unknown field `x`"},
		{"{\"serial_out_path\": 1}", "serial_out_path"},
		{"{\"serial_out_path\": \"\"}", "serial.serial_out_path: must not be empty"},
		{"{\"rate_limiter\": {\"refill_time\": 1}}", "missing field `size`"},
		{"{\"rate_limiter\": 5}", "serial.rate_limiter"},
		{"[]", ""},
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(api_route("PUT", "/serial", bad[i][0], strlen(bad[i][0]), &req,
					   &resp), 0);
		ck_assert_int_eq(resp.status, 400);
		ck_assert_msg(strstr(resp.body, bad[i][1]), "%s: %s", bad[i][0], resp.body);
		ck_assert_int_eq(req.kind, API_REQ_PUT_SERIAL);   /* counted against it */
		api_response_clear(&resp);
	}
	ck_assert_int_eq(api_route("GET", "/serial", NULL, 0, &req, &resp), 0);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_null(strstr(resp.body, "not supported by wisp"));
	api_response_clear(&resp);
}
END_TEST

START_TEST(long_strings)
{
	size_t n = VM_PATH_MAX + 100;
	char *doc = malloc(n + 100);
	int off = sprintf(doc, "{\"boot-source\": {\"kernel_image_path\": \"");
	memset(doc + off, 'k', VM_PATH_MAX);
	strcpy(doc + off + VM_PATH_MAX, "\"}}");
	REJECT(doc, "boot-source.kernel_image_path: too long (4096 bytes, at most 4095)");
	/* The longest allowed fits. */
	doc[off + VM_PATH_MAX - 1] = '"';
	strcpy(doc + off + VM_PATH_MAX, "}}");
	ck_assert_int_eq(parse(doc), 0);
	ck_assert_uint_eq(strlen(cfg.boot.kernel_image_path), VM_PATH_MAX - 1);
	free(doc);
}
END_TEST

START_TEST(error_leaves_output_untouched)
{
	vm_config_init(&cfg);
	cfg.machine.vcpu_count = 7;
	const char *bad = "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 0}}";
	ck_assert_int_eq(vmconfig_parse(bad, strlen(bad), &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 7);
}
END_TEST

START_TEST(load_file)
{
	ck_assert_int_eq(vmconfig_load_file("/nonexistent/vm.json", &cfg, err, sizeof(err)), -ENOENT);
	ck_assert_str_eq(err, "/nonexistent/vm.json: No such file or directory");
	char path[] = "/tmp/wisp-test-vmconfig-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	const char *doc = "{\"machine-config\": {\"vcpu_count\": 4, \"mem_size_mib\": 64}}";
	ck_assert_int_eq(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(fd);
	ck_assert_int_eq(vmconfig_load_file(path, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.machine.vcpu_count, 4);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_eq(write(fd, "{\"x\": 1}", 8), 8);
	close(fd);
	ck_assert_int_eq(vmconfig_load_file(path, &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, path) && strstr(err, "x: unknown field"), "%s", err);
	unlink(path);
	ck_assert_int_eq(vmconfig_load_file("/tmp", &cfg, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "/tmp: not a regular file");
}
END_TEST

START_TEST(put_drive_and_net)
{
	vm_config_init(&cfg);
	struct drive_config d = {.drive_id = "root", .path_on_host = "/a", .is_root_device = true};
	ck_assert_int_eq(vmconfig_put_drive(&cfg, &d, err, sizeof(err)), 0);
	/* Updating the root device in place is fine. */
	strcpy(d.path_on_host, "/b");
	ck_assert_int_eq(vmconfig_put_drive(&cfg, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nr_drives, 1);
	ck_assert_str_eq(cfg.drives[0].path_on_host, "/b");
	struct drive_config d2 = d;
	strcpy(d2.drive_id, "root2");
	ck_assert_int_eq(vmconfig_put_drive(&cfg, &d2, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "A root block device already exists"));
	d2.is_root_device = false;
	for (int i = 0; i < VM_MAX_DRIVES - 1; i++) {
		snprintf(d2.drive_id, sizeof(d2.drive_id), "d%d", i);
		ck_assert_int_eq(vmconfig_put_drive(&cfg, &d2, err, sizeof(err)), 0);
	}
	strcpy(d2.drive_id, "one-too-many");
	ck_assert_int_eq(vmconfig_put_drive(&cfg, &d2, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "too many drives"));

	struct net_config n = {.iface_id = "eth0", .host_dev_name = "tap0", .has_mac = true,
			       .guest_mac = {1, 2, 3, 4, 5, 6}};
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n, err, sizeof(err)), 0);
	struct net_config n2 = n;
	strcpy(n2.iface_id, "eth1");
	strcpy(n2.host_dev_name, "tap1");
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n2, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "guest MAC address is already used by interface \"eth0\""));
	n2.has_mac = false;
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n2, err, sizeof(err)), 0);
	ck_assert_int_eq(vmconfig_find_net(&cfg, "eth1"), 1);
	/* 16 drives + 3 nets use IRQ 5..23; a 20th device would have no IOAPIC
	 * pin (KVM takes an irqfd on GSI 24 and delivers nothing) */
	strcpy(n2.iface_id, "eth2");
	strcpy(n2.host_dev_name, "tap2");
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n2, err, sizeof(err)), 0);
	strcpy(n2.iface_id, "eth3");
	strcpy(n2.host_dev_name, "tap3");
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n2, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "network-interfaces: too many devices"));
	ck_assert(strstr(err, "IRQ 5..23"));
	ck_assert_uint_eq(cfg.nr_nets, 3);
	/* replacing an existing one is still fine */
	strcpy(n2.iface_id, "eth2");
	ck_assert_int_eq(vmconfig_put_net(&cfg, &n2, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg.nr_nets, 3);
}
END_TEST

START_TEST(machine_patch)
{
	struct machine_config mc = {.vcpu_count = 3, .mem_size_mib = 128};
	struct api_machine_patch p = {.present = API_MC_SMT, .mc = {.smt = true}};
	ck_assert_int_eq(api_machine_patch_apply(&mc, &p, err, sizeof(err)), -EINVAL);
	ck_assert(strstr(err, "machine-config.vcpu_count: The vCPU number is invalid"));
	ck_assert(!mc.smt);
	p.present |= API_MC_VCPU_COUNT;
	p.mc.vcpu_count = 4;
	ck_assert_int_eq(api_machine_patch_apply(&mc, &p, err, sizeof(err)), 0);
	ck_assert(mc.smt);
	ck_assert_uint_eq(mc.vcpu_count, 4);
	ck_assert_uint_eq(mc.mem_size_mib, 128);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_vmconfig");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, full_document);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, minimal_and_nulls);
	tcase_add_test(tc, fc_document);
	tcase_add_test(tc, fc_api_shape);
	tcase_add_test(tc, fc_unset_boot_source);
	tcase_add_test(tc, serial_in_document);
	tcase_add_test(tc, serial_route);
	tcase_add_test(tc, rejections);
	tcase_add_test(tc, long_strings);
	tcase_add_test(tc, error_leaves_output_untouched);
	tcase_add_test(tc, load_file);
	tcase_add_test(tc, put_drive_and_net);
	tcase_add_test(tc, machine_patch);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
