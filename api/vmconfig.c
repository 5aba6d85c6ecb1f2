/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmconfig.c — the VM configuration document (Firecracker's
 * FullVmConfiguration): what --config-file reads and GET /vm/config returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objects.h"

/* A config file larger than this is refused (the REST body limit is 50 KiB;
 * a document with 16 drives and nets of maximal paths stays below this). */
#define VMCONFIG_MAX_FILE (1024 * 1024)

/* Firecracker 1.17's VmmConfig keys (src/vmm/src/resources.rs), and
 * "serial" (wisp's: Firecracker skips it, so a document can redirect the
 * serial output too). */
static const char *const doc_keys[] = {"boot-source", "machine-config", "drives",
				       "network-interfaces", "logger", "metrics", "balloon", "entropy",
				       "vsock", "pmem", "serial", "cpu-config", NULL};
/* Devices wisp does not have: null (and "pmem": []) mean none, as in the
 * document GET /vm/config returns; anything else is refused. */
static const char *const doc_unsupported[] = {"mmds-config", "memory-hotplug", NULL};

/* "pmem": a list of virtio-pmem devices, which wisp does not have: only the
 * empty list (Firecracker's "none") is accepted. */
static int parse_pmem(const struct jerr *e, const json_t *v)
{
	if (!json_is_array(v))
		return jfail(e, "pmem", NULL, "expected an array");
	if (json_array_size(v) != 0)
		return jfail(e, "pmem", NULL, "is not supported by wisp (only [] is accepted)");
	return 0;
}

/* Firecracker's document for "no boot source yet": kernel_image_path ""
 * and nothing else (what GET /vm/config shows before PUT /boot-source). */
static bool boot_source_unset(const json_t *v)
{
	const json_t *k = json_object_get(v, "kernel_image_path");
	const char *key;
	json_t *val;

	if (!json_is_object(v) || !json_is_string(k) || json_string_length(k) != 0)
		return false;
	json_object_foreach((json_t *)v, key, val) {
		if (strcmp(key, "kernel_image_path") == 0)
			continue;
		if ((strcmp(key, "initrd_path") != 0 && strcmp(key, "boot_args") != 0) ||
		    !json_is_null(val))
			return false;
	}
	return true;
}

static int parse_drives(const struct jerr *e, const json_t *arr, struct vm_config *cfg)
{
	if (!json_is_array(arr))
		return jfail(e, "drives", NULL, "expected an array");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char prefix[48];
		snprintf(prefix, sizeof(prefix), "drives[%zu]", i);
		struct drive_config *d = malloc(sizeof(*d));
		if (!d)
			return jfail(e, prefix, NULL, "out of memory");
		int rc = obj_drive(e, prefix, v, d);
		if (!rc && vmconfig_find_drive(cfg, d->drive_id) >= 0)
			rc = jfail(e, prefix, "drive_id", "duplicate drive id \"%s\"", d->drive_id);
		if (!rc)
			rc = vmconfig_put_drive(cfg, d, e->buf, e->len);
		free(d);
		if (rc)
			return rc;
	}
	return 0;
}

static int parse_nets(const struct jerr *e, const json_t *arr, struct vm_config *cfg)
{
	if (!json_is_array(arr))
		return jfail(e, "network-interfaces", NULL, "expected an array");
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char prefix[48];
		snprintf(prefix, sizeof(prefix), "network-interfaces[%zu]", i);
		struct net_config n;
		int rc = obj_net(e, prefix, v, &n);
		if (!rc && vmconfig_find_net(cfg, n.iface_id) >= 0)
			rc = jfail(e, prefix, "iface_id", "duplicate interface id \"%s\"", n.iface_id);
		if (!rc)
			rc = vmconfig_put_net(cfg, &n, e->buf, e->len);
		if (rc)
			return rc;
	}
	return 0;
}

/* from_file: the document is an operator's --config-file, where "cpu-config"
 * may name a file to read; documents from elsewhere (a snapshot's embedded
 * configuration, fuzz input) never make wisp open a path. */
static int parse_doc(const struct jerr *e, const json_t *root, struct vm_config *cfg,
		     bool from_file)
{
	int rc = jcheck_keys(e, "", root, doc_keys, doc_unsupported);
	if (rc)
		return rc;
	json_t *v;
	if ((v = jget(root, "boot-source")) && !boot_source_unset(v) &&
	    (rc = obj_boot_source(e, "boot-source", v, &cfg->boot)))
		return rc;
	if ((v = jget(root, "machine-config")) &&
	    (rc = obj_machine(e, "machine-config", v, &cfg->machine)))
		return rc;
	cfg->machine.cpu_template_given = false;   /* only PUT /machine-config needs it */
	/* A custom CPU template (or its file): after machine-config, as in
	 * Firecracker, so it replaces a static cpu_template. */
	if ((v = jget(root, "cpu-config"))) {
		if (json_is_string(v) && !from_file)
			return jfail(e, "cpu-config", NULL, "a file path is only accepted in "
				     "--config-file; give the template object");
		if ((rc = obj_cpu_config_doc(e, "cpu-config", v, &cfg->cpu_config)))
			return rc;
		cfg->machine.cpu_template = CPU_TEMPLATE_CUSTOM;
	}
	if ((v = jget(root, "drives")) && (rc = parse_drives(e, v, cfg)))
		return rc;
	if ((v = jget(root, "network-interfaces")) && (rc = parse_nets(e, v, cfg)))
		return rc;
	if ((v = jget(root, "logger"))) {
		struct api_logger *l = malloc(sizeof(*l));
		if (!l)
			return jfail(e, "logger", NULL, "out of memory");
		rc = obj_logger(e, "logger", v, l);
		if (!rc)
			cfg->logger = l->cfg;
		free(l);
		if (rc)
			return rc;
	}
	if ((v = jget(root, "metrics")) && (rc = obj_metrics(e, "metrics", v, &cfg->metrics)))
		return rc;
	if ((v = jget(root, "balloon")) && (rc = obj_balloon(e, "balloon", v, &cfg->balloon)))
		return rc;
	/* Firecracker: the target cannot exceed guest RAM. */
	if (cfg->balloon.set && cfg->balloon.amount_mib > cfg->machine.mem_size_mib)
		return jfail(e, "balloon", "amount_mib", "Amount of pages requested is too large.");
	if ((v = jget(root, "vsock")) && (rc = obj_vsock(e, "vsock", v, &cfg->vsock)))
		return rc;
	if ((v = jget(root, "entropy")) && (rc = obj_entropy(e, "entropy", v, &cfg->entropy)))
		return rc;
	if ((v = jget(root, "pmem")) && (rc = parse_pmem(e, v)))
		return rc;
	if ((v = jget(root, "serial")) && (rc = obj_serial(e, "serial", v, &cfg->serial)))
		return rc;
	return 0;
}

static int parse_text(const char *text, size_t len, struct vm_config *out, char *err,
		      size_t errlen, bool from_file)
{
	struct jerr e = {err, errlen, NULL};
	if (errlen)
		err[0] = '\0';
	json_t *root = jload_object(&e, "config", text, len);
	if (!root)
		return -EINVAL;
	struct vm_config *cfg = malloc(sizeof(*cfg));
	if (!cfg) {
		json_decref(root);
		return jfail(&e, "config", NULL, "out of memory");
	}
	vm_config_init(cfg);
	int rc = parse_doc(&e, root, cfg, from_file);
	json_decref(root);
	if (!rc)
		memcpy(out, cfg, sizeof(*cfg));
	free(cfg);
	return rc;
}

int vmconfig_parse(const char *text, size_t len, struct vm_config *out, char *err, size_t errlen)
{
	return parse_text(text, len, out, err, errlen, false);
}

int vmconfig_load_file(const char *path, struct vm_config *out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > VMCONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s: file too large (%lld bytes, at most %d)", path,
			 (long long)st.st_size, VMCONFIG_MAX_FILE);
		close(fd);
		return -EFBIG;
	}
	char *buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	char msg[512];
	int rc = parse_text(buf, got, out, msg, sizeof(msg), true);
	free(buf);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}

/* An object member, or null when absent (Firecracker's Option<T>). */
static void set_or_null(json_t *o, const char *key, bool present, json_t *(*fn)(const void *),
			const void *arg)
{
	json_object_set_new(o, key, present ? fn(arg) : json_null());
}

static json_t *boot_json(const void *p)
{
	const struct boot_source_config *b = p;

	return json_pack("{s:s, s:o, s:o}", "kernel_image_path", b->set ? b->kernel_image_path : "",
			 "initrd_path", b->set && b->initrd_path[0] ? json_string(b->initrd_path)
								    : json_null(),
			 "boot_args", b->set && b->has_boot_args ? json_string(b->boot_args)
								 : json_null());
}

static json_t *drive_json(const struct drive_config *d)
{
	/* Firecracker's BlockDeviceConfig, every field (null where absent). */
	json_t *o = obj_drive_json(d);

	if (!o)
		return NULL;
	if (!json_object_get(o, "partuuid"))
		json_object_set_new(o, "partuuid", json_null());
	if (!json_object_get(o, "rate_limiter"))
		json_object_set_new(o, "rate_limiter", json_null());
	json_object_set_new(o, "socket", json_null());
	return o;
}

static json_t *net_json(const struct net_config *n)
{
	/* Firecracker's NetworkInterfaceConfig, every field (null where absent). */
	json_t *o = obj_net_json(n);
	static const char *const keys[] = {"guest_mac", "mtu", "rx_rate_limiter",
					   "tx_rate_limiter", NULL};

	if (!o)
		return NULL;
	for (const char *const *k = keys; *k; k++)
		if (!json_object_get(o, *k))
			json_object_set_new(o, *k, json_null());
	return o;
}

static json_t *logger_json(const void *p) { return obj_logger_json(p); }
static json_t *metrics_json(const void *p) { return obj_metrics_json(p); }
static json_t *balloon_json(const void *p) { return obj_balloon_json(p); }
static json_t *vsock_json(const void *p) { return obj_vsock_json(p); }
static json_t *entropy_json(const void *p) { return obj_entropy_json(p); }

/* Firecracker's VmmConfig, serialised in its field order. logger and
 * metrics: as configured through the API or the document, else null
 * (Firecracker shows null always; docs/api.md "Differences"); the command
 * line's --log-path/--metrics-path are not part of the configuration.
 * `full`: also "serial", which Firecracker skips, so the document
 * round-trips (snapshots, fuzz_vmconfig). */
static char *to_json(const struct vm_config *cfg, bool full)
{
	json_t *root = json_object();
	json_t *drives = json_array();
	json_t *nets = json_array();
	json_t *pmem = json_array();
	char *s;

	if (!root || !drives || !nets || !pmem) {
		json_decref(root);
		json_decref(drives);
		json_decref(nets);
		json_decref(pmem);
		return NULL;
	}
	for (unsigned i = 0; i < cfg->nr_drives && i < VM_MAX_DRIVES; i++)
		json_array_append_new(drives, drive_json(&cfg->drives[i]));
	for (unsigned i = 0; i < cfg->nr_nets && i < VM_MAX_NETS; i++)
		json_array_append_new(nets, net_json(&cfg->nets[i]));
	set_or_null(root, "balloon", cfg->balloon.set, balloon_json, &cfg->balloon);
	json_object_set_new(root, "drives", drives);
	json_object_set_new(root, "boot-source", boot_json(&cfg->boot));
	/* Firecracker shows null; the full document keeps a custom template. */
	json_object_set_new(root, "cpu-config", full && cfg->machine.cpu_template == CPU_TEMPLATE_CUSTOM
				? obj_cpu_config_json(&cfg->cpu_config) : json_null());
	set_or_null(root, "logger", cfg->logger.set, logger_json, &cfg->logger);
	json_object_set_new(root, "machine-config", obj_machine_json(&cfg->machine));
	set_or_null(root, "metrics", cfg->metrics.set, metrics_json, &cfg->metrics);
	json_object_set_new(root, "mmds-config", json_null());
	json_object_set_new(root, "network-interfaces", nets);
	set_or_null(root, "vsock", cfg->vsock.set, vsock_json, &cfg->vsock);
	set_or_null(root, "entropy", cfg->entropy.set, entropy_json, &cfg->entropy);
	json_object_set_new(root, "pmem", pmem);
	json_object_set_new(root, "memory-hotplug", json_null());
	if (full && cfg->serial.set)
		json_object_set_new(root, "serial", obj_serial_json(&cfg->serial));
	s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}

char *vmconfig_to_json(const struct vm_config *cfg)
{
	return to_json(cfg, true);
}

char *vmconfig_to_api_json(const struct vm_config *cfg)
{
	return to_json(cfg, false);
}
