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

static const char *const doc_keys[] = {"boot-source", "machine-config", "drives",
				       "network-interfaces", "logger", "metrics", "balloon", "entropy",
				       "vsock", NULL};
static const char *const doc_unsupported[] = {"mmds-config",
					      "cpu-config", "pmem", "memory-hotplug", "serial",
					      NULL};

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

static int parse_doc(const struct jerr *e, const json_t *root, struct vm_config *cfg)
{
	int rc = jcheck_keys(e, "", root, doc_keys, doc_unsupported);
	if (rc)
		return rc;
	json_t *v;
	if ((v = jget(root, "boot-source")) && (rc = obj_boot_source(e, "boot-source", v, &cfg->boot)))
		return rc;
	if ((v = jget(root, "machine-config")) &&
	    (rc = obj_machine(e, "machine-config", v, &cfg->machine)))
		return rc;
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
	return 0;
}

int vmconfig_parse(const char *text, size_t len, struct vm_config *out, char *err, size_t errlen)
{
	struct jerr e = {err, errlen};
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
	int rc = parse_doc(&e, root, cfg);
	json_decref(root);
	if (!rc)
		memcpy(out, cfg, sizeof(*cfg));
	free(cfg);
	return rc;
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
	int rc = vmconfig_parse(buf, got, out, msg, sizeof(msg));
	free(buf);
	if (rc)
		snprintf(err, errlen, "%s: %s", path, msg);
	return rc;
}

char *vmconfig_to_json(const struct vm_config *cfg)
{
	json_t *root = json_object();
	json_t *drives = json_array();
	json_t *nets = json_array();
	if (!root || !drives || !nets) {
		json_decref(root);
		json_decref(drives);
		json_decref(nets);
		return NULL;
	}
	if (cfg->boot.set)
		json_object_set_new(root, "boot-source", obj_boot_source_json(&cfg->boot));
	json_object_set_new(root, "machine-config", obj_machine_json(&cfg->machine));
	for (unsigned i = 0; i < cfg->nr_drives && i < VM_MAX_DRIVES; i++)
		json_array_append_new(drives, obj_drive_json(&cfg->drives[i]));
	json_object_set_new(root, "drives", drives);
	for (unsigned i = 0; i < cfg->nr_nets && i < VM_MAX_NETS; i++)
		json_array_append_new(nets, obj_net_json(&cfg->nets[i]));
	json_object_set_new(root, "network-interfaces", nets);
	if (cfg->logger.set)
		json_object_set_new(root, "logger", obj_logger_json(&cfg->logger));
	if (cfg->metrics.set)
		json_object_set_new(root, "metrics", obj_metrics_json(&cfg->metrics));
	if (cfg->balloon.set)
		json_object_set_new(root, "balloon", obj_balloon_json(&cfg->balloon));
	if (cfg->vsock.set)
		json_object_set_new(root, "vsock", obj_vsock_json(&cfg->vsock));
	if (cfg->entropy.set)
		json_object_set_new(root, "entropy", obj_entropy_json(&cfg->entropy));
	char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	return s;
}
