/* SPDX-License-Identifier: Apache-2.0 */
/* objects.c — parse and validate each API object (shared by REST and document). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

static const char *const huge_pages_names[] = {"None", "Transparent", "2M", NULL};
static const char *const cache_type_names[] = {"Unsafe", "Writeback", NULL};
static const char *const io_engine_names[] = {"Sync", "Async", NULL};
/* Index = enum log_level; "Warn" accepted as an alias below. */
static const char *const log_level_names[] = {"Off", "Error", "Warning", "Info", "Debug",
					      "Trace", NULL};

const char *api_huge_pages_name(enum huge_pages hp)
{
	return (unsigned)hp < 3 ? huge_pages_names[hp] : "None";
}

const char *api_cache_type_name(enum cache_type ct)
{
	return (unsigned)ct < 2 ? cache_type_names[ct] : "Unsafe";
}

const char *api_io_engine_name(enum io_engine io)
{
	return (unsigned)io < 2 ? io_engine_names[io] : "Sync";
}

const char *api_log_level_name(enum log_level level)
{
	return (unsigned)level <= LOG_TRACE ? log_level_names[level] : "Info";
}

int obj_check_id(const struct jerr *e, const char *prefix, const char *key, const char *id)
{
	size_t len = strlen(id);
	if (len == 0)
		return jfail(e, prefix, key, "must not be empty");
	if (len > VM_ID_MAX)
		return jfail(e, prefix, key, "too long (%zu bytes, at most %d)", len, VM_ID_MAX);
	for (const unsigned char *p = (const unsigned char *)id; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '/')
			return jfail(e, prefix, key,
				     "invalid character 0x%02x (printable ASCII without '/' and spaces)",
				     *p);
	return 0;
}

/* ---------------- machine-config ---------------- */

/* Firecracker's MachineConfigError texts (VmmActionError::MachineConfig). */
#define MC_VCPU_ERR "Machine config error: The number of vCPUs must be greater than 0, less than " \
	"32 and must be 1 or an even number if SMT is enabled. "
#define MC_MEM_ERR "Machine config error: The memory size (MiB) is either 0, or not a multiple " \
	"of the configured page size. "

static const char *const machine_keys[] = {"vcpu_count", "mem_size_mib", "smt",
					   "track_dirty_pages", "huge_pages", "cpu_template",
					   NULL};

int vmconfig_check_machine(const struct machine_config *mc, const char *prefix,
			   char *err, size_t errlen)
{
	struct jerr e = {err, errlen, NULL};
	if (mc->vcpu_count < 1 || mc->vcpu_count > VM_MAX_VCPUS)
		return jfail(&e, NULL, NULL, MC_VCPU_ERR "(%s.vcpu_count: The vCPU number is invalid: "
			     "got %u, must be in [1, %d])", prefix, mc->vcpu_count, VM_MAX_VCPUS);
	if (mc->smt && mc->vcpu_count > 1 && (mc->vcpu_count & 1))
		return jfail(&e, NULL, NULL, MC_VCPU_ERR "(%s.vcpu_count: The vCPU number is invalid: "
			     "The vCPU number can only be 1 or an even number when SMT is enabled, "
			     "got %u)", prefix, mc->vcpu_count);
	if (mc->mem_size_mib == 0)
		return jfail(&e, NULL, NULL, MC_MEM_ERR "(%s.mem_size_mib: The memory size (MiB) is "
			     "invalid: it must be > 0)", prefix);
	if (mc->huge_pages == HUGE_PAGES_2M && (mc->mem_size_mib & 1))
		return jfail(&e, NULL, NULL, MC_MEM_ERR "(%s.mem_size_mib: The memory size (MiB) must "
			     "be a multiple of 2 with 2M huge pages, got %u)", prefix, mc->mem_size_mib);
	return 0;
}

/* Reads the fields present; sets bits in *present. */
static int machine_fields(const struct jerr *e, const char *prefix, const json_t *o,
			  bool required, struct machine_config *mc, unsigned *present)
{
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, machine_keys, NULL);
	if (rc)
		return rc;
	uint64_t v;
	bool p;
	/* Range checks here are for the integer type; the semantic ranges are
	 * vmconfig_check_machine()'s. */
	rc = juint(e, prefix, o, "vcpu_count", required, 0, UINT32_MAX, &v, &p);
	if (rc)
		return rc;
	if (p) {
		if (v < 1 || v > VM_MAX_VCPUS)
			return jfail(e, NULL, NULL, MC_VCPU_ERR "(%s.vcpu_count: The vCPU number is "
				     "invalid: got %llu, must be in [1, %d])", prefix,
				     (unsigned long long)v, VM_MAX_VCPUS);
		mc->vcpu_count = (unsigned)v;
		*present |= API_MC_VCPU_COUNT;
	}
	rc = juint(e, prefix, o, "mem_size_mib", required, 0, UINT32_MAX, &v, &p);
	if (rc)
		return rc;
	if (p) {
		if (v == 0)
			return jfail(e, NULL, NULL, MC_MEM_ERR "(%s.mem_size_mib: The memory size "
				     "(MiB) is invalid: it must be > 0)", prefix);
		mc->mem_size_mib = (unsigned)v;
		*present |= API_MC_MEM_SIZE_MIB;
	}
	rc = jbool(e, prefix, o, "smt", false, &mc->smt, &p);
	if (rc)
		return rc;
	if (p)
		*present |= API_MC_SMT;
	rc = jbool(e, prefix, o, "track_dirty_pages", false, &mc->track_dirty_pages, &p);
	if (rc)
		return rc;
	if (p)
		*present |= API_MC_TRACK_DIRTY_PAGES;
	int hp;
	rc = jenum(e, prefix, o, "huge_pages", false, huge_pages_names, false, &hp, &p);
	if (rc)
		return rc;
	if (p) {
		mc->huge_pages = (enum huge_pages)hp;
		*present |= API_MC_HUGE_PAGES;
	}
	/* Firecracker's StaticCpuTemplate values, in its order (serde lists
	 * them so); whether one fits the host is checked at InstanceStart, as
	 * there (docs/cpu-templates.md). */
	static const char *const tmpl_names[] = {"C3", "T2", "T2S", "None", "T2CL", "T2A", NULL};
	int tmpl;
	rc = jenum(e, prefix, o, "cpu_template", false, tmpl_names, false, &tmpl, &p);
	if (rc)
		return rc;
	if (p) {
		mc->cpu_template = (enum cpu_template_kind)cpu_template_from_name(tmpl_names[tmpl]);
		mc->cpu_template_given = true;
		*present |= API_MC_CPU_TEMPLATE;
	}
	return 0;
}

int obj_machine(const struct jerr *e, const char *prefix, const json_t *o,
		struct machine_config *out)
{
	struct machine_config mc = {.vcpu_count = 1, .mem_size_mib = 128};
	unsigned present = 0;
	int rc = machine_fields(e, prefix, o, true, &mc, &present);
	if (rc)
		return rc;
	rc = vmconfig_check_machine(&mc, prefix, e->buf, e->len);
	if (rc)
		return rc;
	*out = mc;
	return 0;
}

int obj_machine_patch(const struct jerr *e, const char *prefix, const json_t *o,
		      struct api_machine_patch *out)
{
	struct api_machine_patch p = {0};
	int rc = machine_fields(e, prefix, o, false, &p.mc, &p.present);
	if (rc)
		return rc;
	/* Firecracker refuses a PATCH that changes nothing (all fields absent). */
	bool any = false;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
		any = any || !json_is_null(v);
	if (!any)
		return jfail(e, NULL, NULL, "Empty PATCH request. (%s: no field to change)", prefix);
	/* Combinations that are wrong whatever the current config is. */
	if ((p.present & API_MC_SMT) && (p.present & API_MC_VCPU_COUNT) && p.mc.smt &&
	    p.mc.vcpu_count > 1 && (p.mc.vcpu_count & 1))
		return jfail(e, NULL, NULL, MC_VCPU_ERR "(%s.vcpu_count: The vCPU number is invalid: "
			     "The vCPU number can only be 1 or an even number when SMT is enabled, "
			     "got %u)", prefix, p.mc.vcpu_count);
	*out = p;
	return 0;
}

int api_machine_patch_apply(struct machine_config *cur, const struct api_machine_patch *p,
			    char *err, size_t errlen)
{
	struct machine_config mc = *cur;
	if (p->present & API_MC_VCPU_COUNT)
		mc.vcpu_count = p->mc.vcpu_count;
	if (p->present & API_MC_MEM_SIZE_MIB)
		mc.mem_size_mib = p->mc.mem_size_mib;
	if (p->present & API_MC_SMT)
		mc.smt = p->mc.smt;
	if (p->present & API_MC_TRACK_DIRTY_PAGES)
		mc.track_dirty_pages = p->mc.track_dirty_pages;
	if (p->present & API_MC_HUGE_PAGES)
		mc.huge_pages = p->mc.huge_pages;
	if (p->present & API_MC_CPU_TEMPLATE)
		mc.cpu_template = p->mc.cpu_template;
	int rc = vmconfig_check_machine(&mc, "machine-config", err, errlen);
	if (rc)
		return rc;
	*cur = mc;
	return 0;
}

json_t *obj_machine_json(const struct machine_config *mc)
{
	json_t *o = json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)mc->vcpu_count,
			      "mem_size_mib", (json_int_t)mc->mem_size_mib, "smt", mc->smt,
			      "track_dirty_pages", mc->track_dirty_pages, "huge_pages",
			      api_huge_pages_name(mc->huge_pages));
	/* As Firecracker: only a static template shows (not None, not custom). */
	if (o && mc->cpu_template != CPU_TEMPLATE_NONE && mc->cpu_template != CPU_TEMPLATE_CUSTOM)
		json_object_set_new(o, "cpu_template", json_string(cpu_template_name(mc->cpu_template)));
	return o;
}

/* ---------------- boot-source ---------------- */

int obj_boot_source(const struct jerr *e, const char *prefix, const json_t *o,
		    struct boot_source_config *out)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	struct boot_source_config *b = calloc(1, sizeof(*b));
	if (!b)
		return jfail(e, prefix, NULL, "out of memory");
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "kernel_image_path", true, b->kernel_image_path,
			     sizeof(b->kernel_image_path), NULL);
	if (!rc && !b->kernel_image_path[0])
		rc = jfail(e, prefix, "kernel_image_path", "must not be empty");
	if (!rc)
		rc = jstring(e, prefix, o, "initrd_path", false, b->initrd_path,
			     sizeof(b->initrd_path), NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "boot_args", false, b->boot_args, sizeof(b->boot_args),
			     &b->has_boot_args);
	if (!rc) {
		b->set = true;
		*out = *b;
	}
	free(b);
	return rc;
}

json_t *obj_boot_source_json(const struct boot_source_config *b)
{
	json_t *o = json_pack("{s:s}", "kernel_image_path", b->kernel_image_path);
	if (o && b->initrd_path[0])
		json_object_set_new(o, "initrd_path", json_string(b->initrd_path));
	if (o && b->has_boot_args)
		json_object_set_new(o, "boot_args", json_string(b->boot_args));
	return o;
}

/* ---------------- drives ---------------- */

int obj_drive(const struct jerr *e, const char *prefix, const json_t *o,
	      struct drive_config *out)
{
	static const char *const keys[] = {"drive_id", "path_on_host", "is_root_device",
					   "is_read_only", "partuuid", "cache_type", "io_engine",
					   "rate_limiter", NULL};
	static const char *const unsupported[] = {"socket", NULL};
	struct drive_config *d = calloc(1, sizeof(*d));
	if (!d)
		return jfail(e, prefix, NULL, "out of memory");
	int ct = CACHE_UNSAFE, io = IO_ENGINE_SYNC;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, unsupported);
	if (!rc)
		rc = jstring(e, prefix, o, "drive_id", true, d->drive_id, sizeof(d->drive_id), NULL);
	if (!rc)
		rc = obj_check_id(e, prefix, "drive_id", d->drive_id);
	if (!rc)
		rc = jstring(e, prefix, o, "path_on_host", true, d->path_on_host,
			     sizeof(d->path_on_host), NULL);
	if (!rc && !d->path_on_host[0])
		rc = jfail(e, prefix, "path_on_host", "must not be empty");
	if (!rc)
		rc = jbool(e, prefix, o, "is_root_device", true, &d->is_root_device, NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "is_read_only", false, &d->is_read_only, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "partuuid", false, d->partuuid, sizeof(d->partuuid), NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "cache_type", false, cache_type_names, false, &ct, NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "io_engine", false, io_engine_names, false, &io, NULL);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "rate_limiter", &d->rate_limiter, NULL);
	if (!rc) {
		obj_rate_limiter_normalize(&d->rate_limiter);
		d->cache_type = (enum cache_type)ct;
		d->io_engine = (enum io_engine)io;
		*out = *d;
	}
	free(d);
	return rc;
}

int obj_drive_patch(const struct jerr *e, const char *prefix, const json_t *o,
		    struct api_drive_patch *out)
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	struct api_drive_patch *p = calloc(1, sizeof(*p));
	if (!p)
		return jfail(e, prefix, NULL, "out of memory");
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "drive_id", true, p->drive_id, sizeof(p->drive_id), NULL);
	if (!rc)
		rc = obj_check_id(e, prefix, "drive_id", p->drive_id);
	if (!rc)
		rc = jstring(e, prefix, o, "path_on_host", false, p->path_on_host,
			     sizeof(p->path_on_host), &p->has_path_on_host);
	if (!rc && p->has_path_on_host && !p->path_on_host[0])
		rc = jfail(e, prefix, "path_on_host", "must not be empty");
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "rate_limiter", &p->rate_limiter,
				      &p->has_rate_limiter);
	if (!rc)
		*out = *p;
	free(p);
	return rc;
}

json_t *obj_drive_json(const struct drive_config *d)
{
	json_t *o = json_pack("{s:s, s:s, s:b, s:b, s:s, s:s}", "drive_id", d->drive_id,
			      "path_on_host", d->path_on_host, "is_root_device", d->is_root_device,
			      "is_read_only", d->is_read_only, "cache_type",
			      api_cache_type_name(d->cache_type), "io_engine",
			      api_io_engine_name(d->io_engine));
	if (o && d->partuuid[0])
		json_object_set_new(o, "partuuid", json_string(d->partuuid));
	if (o && rate_limiter_limits(&d->rate_limiter))
		json_object_set_new(o, "rate_limiter", obj_rate_limiter_json(&d->rate_limiter));
	return o;
}

int vmconfig_find_drive(const struct vm_config *cfg, const char *drive_id)
{
	for (unsigned i = 0; i < cfg->nr_drives; i++)
		if (strcmp(cfg->drives[i].drive_id, drive_id) == 0)
			return (int)i;
	return -1;
}

/* Every virtio device takes one IOAPIC pin from VIRTIO_IRQ_BASE on, and the
 * IOAPIC (and the MP table) stop at pin 23: a device beyond that would get
 * an irqfd KVM accepts but routes nowhere, and its driver would wait for
 * interrupts forever. */
#define API_IOAPIC_PINS 24
#define API_MAX_VIRTIO_DEVICES (API_IOAPIC_PINS - VIRTIO_IRQ_BASE)

static int check_device_room(const struct jerr *e, const char *prefix,
			     const struct vm_config *cfg)
{
	if (cfg->nr_drives + cfg->nr_nets >= API_MAX_VIRTIO_DEVICES)
		return jfail(e, NULL, NULL,
			     "Could not allocate GSI: The requested resource is not available. "
			     "(%s: too many devices: %u drives and %u network interfaces already use "
			     "the %d interrupt lines (IRQ %d..%d) virtio devices can have)",
			     prefix, cfg->nr_drives, cfg->nr_nets, API_MAX_VIRTIO_DEVICES,
			     VIRTIO_IRQ_BASE, API_IOAPIC_PINS - 1);
	return 0;
}

int vmconfig_put_drive(struct vm_config *cfg, const struct drive_config *d,
		       char *err, size_t errlen)
{
	struct jerr e = {err, errlen, NULL};
	int idx = vmconfig_find_drive(cfg, d->drive_id);
	if (d->is_root_device) {
		for (unsigned i = 0; i < cfg->nr_drives; i++)
			if ((int)i != idx && cfg->drives[i].is_root_device)
				return jfail(&e, NULL, NULL,
					     "Drive config error: A root block device already exists! "
					     "(drives: \"%s\" is the root device; \"%s\" cannot be a "
					     "second one)", cfg->drives[i].drive_id, d->drive_id);
	}
	if (idx < 0) {
		if (cfg->nr_drives >= VM_MAX_DRIVES)
			return jfail(&e, "drives", NULL, "too many drives (at most %d)",
				     VM_MAX_DRIVES);
		if (check_device_room(&e, "drives", cfg))
			return -EINVAL;
		idx = (int)cfg->nr_drives++;
	}
	cfg->drives[idx] = *d;
	return 0;
}

/* ---------------- network-interfaces ---------------- */

static int parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned v = 0;
		for (int j = 0; j < 2; j++) {
			char c = *s++;
			unsigned d;
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				return -EINVAL;
			v = v * 16 + d;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

int obj_net(const struct jerr *e, const char *prefix, const json_t *o, struct net_config *out)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", "guest_mac", "mtu",
					   "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct net_config n = {0};
	char mac[32];
	uint64_t mtu = 0;
	bool has_mtu = false;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "iface_id", true, n.iface_id, sizeof(n.iface_id), NULL);
	if (!rc)
		rc = obj_check_id(e, prefix, "iface_id", n.iface_id);
	if (!rc)
		rc = jstring(e, prefix, o, "host_dev_name", true, n.host_dev_name,
			     sizeof(n.host_dev_name), NULL);
	if (!rc && !n.host_dev_name[0])
		rc = jfail(e, prefix, "host_dev_name", "must not be empty");
	if (!rc && strchr(n.host_dev_name, '/'))
		rc = jfail(e, prefix, "host_dev_name", "must not contain '/'");
	if (!rc)
		rc = jstring(e, prefix, o, "guest_mac", false, mac, sizeof(mac), &n.has_mac);
	if (!rc && n.has_mac && parse_mac(mac, n.guest_mac))
		rc = jfail(e, prefix, "guest_mac",
			   "invalid MAC address \"%s\" (expected xx:xx:xx:xx:xx:xx)", mac);
	if (!rc)
		rc = juint(e, prefix, o, "mtu", false, 68, 65535, &mtu, &has_mtu);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "rx_rate_limiter", &n.rx_rate_limiter, NULL);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "tx_rate_limiter", &n.tx_rate_limiter, NULL);
	if (!rc) {
		obj_rate_limiter_normalize(&n.rx_rate_limiter);
		obj_rate_limiter_normalize(&n.tx_rate_limiter);
		n.mtu = has_mtu ? (uint16_t)mtu : 0;
		*out = n;
	}
	return rc;
}

int obj_net_patch(const struct jerr *e, const char *prefix, const json_t *o,
		  struct api_net_patch *out)
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	struct api_net_patch p;
	memset(&p, 0, sizeof(p));
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "iface_id", true, p.iface_id, sizeof(p.iface_id), NULL);
	if (!rc)
		rc = obj_check_id(e, prefix, "iface_id", p.iface_id);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "rx_rate_limiter", &p.rx_rate_limiter,
				      &p.has_rx_rate_limiter);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "tx_rate_limiter", &p.tx_rate_limiter,
				      &p.has_tx_rate_limiter);
	if (!rc)
		*out = p;
	return rc;
}

json_t *obj_net_json(const struct net_config *n)
{
	json_t *o = json_pack("{s:s, s:s}", "iface_id", n->iface_id, "host_dev_name",
			      n->host_dev_name);
	if (o && n->has_mac) {
		char mac[18];
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->guest_mac[0],
			 n->guest_mac[1], n->guest_mac[2], n->guest_mac[3], n->guest_mac[4],
			 n->guest_mac[5]);
		json_object_set_new(o, "guest_mac", json_string(mac));
	}
	if (o && n->mtu)
		json_object_set_new(o, "mtu", json_integer(n->mtu));
	if (o && rate_limiter_limits(&n->rx_rate_limiter))
		json_object_set_new(o, "rx_rate_limiter", obj_rate_limiter_json(&n->rx_rate_limiter));
	if (o && rate_limiter_limits(&n->tx_rate_limiter))
		json_object_set_new(o, "tx_rate_limiter", obj_rate_limiter_json(&n->tx_rate_limiter));
	return o;
}

int vmconfig_find_net(const struct vm_config *cfg, const char *iface_id)
{
	for (unsigned i = 0; i < cfg->nr_nets; i++)
		if (strcmp(cfg->nets[i].iface_id, iface_id) == 0)
			return (int)i;
	return -1;
}

int vmconfig_put_net(struct vm_config *cfg, const struct net_config *n,
		     char *err, size_t errlen)
{
	struct jerr e = {err, errlen, NULL};
	int idx = vmconfig_find_net(cfg, n->iface_id);
	for (unsigned i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];
		if ((int)i == idx)
			continue;
		if (strcmp(o->host_dev_name, n->host_dev_name) == 0)
			return jfail(&e, NULL, NULL,
				     "Network config error: Could not create the network device: Open "
				     "tap device failed: Resource busy (os error 16) (network-interfaces: "
				     "The host device name \"%s\" is already used by interface \"%s\")",
				     n->host_dev_name, o->iface_id);
		if (n->has_mac && o->has_mac && memcmp(o->guest_mac, n->guest_mac, 6) == 0)
			return jfail(&e, NULL, NULL,
				     "Network config error: The MAC address is already in use: "
				     "%02x:%02x:%02x:%02x:%02x:%02x (network-interfaces: The guest MAC "
				     "address is already used by interface \"%s\")",
				     n->guest_mac[0], n->guest_mac[1], n->guest_mac[2], n->guest_mac[3],
				     n->guest_mac[4], n->guest_mac[5], o->iface_id);
	}
	if (idx < 0) {
		if (cfg->nr_nets >= VM_MAX_NETS)
			return jfail(&e, "network-interfaces", NULL,
				     "too many network interfaces (at most %d)", VM_MAX_NETS);
		if (check_device_room(&e, "network-interfaces", cfg))
			return -EINVAL;
		idx = (int)cfg->nr_nets++;
	}
	cfg->nets[idx] = *n;
	return 0;
}

/* ---------------- logger / metrics ---------------- */

int obj_logger(const struct jerr *e, const char *prefix, const json_t *o, struct api_logger *out)
{
	static const char *const keys[] = {"log_path", "level", "show_level", "show_log_origin",
					   "module", NULL};
	static const char *const unsupported[] = {NULL};
	static const char *const levels_alias[] = {"Off", "Error", "Warn", "Info", "Debug",
						   "Trace", NULL};
	struct api_logger *l = calloc(1, sizeof(*l));
	if (!l)
		return jfail(e, prefix, NULL, "out of memory");
	l->cfg.set = true;
	l->cfg.level = LOG_INFO;
	bool p;
	int lvl;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, unsupported);
	if (!rc)
		rc = jstring(e, prefix, o, "log_path", false, l->cfg.log_path,
			     sizeof(l->cfg.log_path), &p);
	if (!rc && p) {
		l->present |= API_LOG_PATH;
		if (!l->cfg.log_path[0])
			rc = jfail(e, prefix, "log_path", "must not be empty");
	}
	if (!rc) {
		/* Case-insensitive, as Firecracker; "Warn" is an alias of "Warning". */
		json_t *v = jget(o, "level");
		if (v && json_is_string(v) &&
		    jenum(e, prefix, o, "level", false, levels_alias, true, &lvl, NULL) == 0)
			p = true;
		else
			rc = jenum(e, prefix, o, "level", false, log_level_names, true, &lvl, &p);
		if (!rc && p) {
			l->cfg.level = (enum log_level)lvl;
			l->present |= API_LOG_LEVEL;
		}
	}
	if (!rc)
		rc = jbool(e, prefix, o, "show_level", false, &l->cfg.show_level, &p);
	if (!rc && p)
		l->present |= API_LOG_SHOW_LEVEL;
	if (!rc)
		rc = jbool(e, prefix, o, "show_log_origin", false, &l->cfg.show_log_origin, &p);
	if (!rc && p)
		l->present |= API_LOG_SHOW_LOG_ORIGIN;
	if (!rc)   /* Firecracker's module filter (a prefix of the origin) */
		rc = jstring(e, prefix, o, "module", false, l->cfg.module, sizeof(l->cfg.module), &p);
	if (!rc && p)
		l->present |= API_LOG_MODULE;
	if (!rc)
		*out = *l;
	free(l);
	return rc;
}

json_t *obj_logger_json(const struct logger_config *l)
{
	json_t *o = json_pack("{s:s, s:b, s:b}", "level", api_log_level_name(l->level),
			      "show_level", l->show_level, "show_log_origin", l->show_log_origin);
	if (o && l->log_path[0])
		json_object_set_new(o, "log_path", json_string(l->log_path));
	if (o && l->module[0])
		json_object_set_new(o, "module", json_string(l->module));
	return o;
}

/* metrics.properties: an object of strings, kept as its compact text. */
static int metrics_properties(const struct jerr *e, const char *prefix, const json_t *o,
			      struct metrics_config *m)
{
	json_t *v = jget(o, "properties"), *val;
	const char *key;
	char *text;

	if (!v)
		return 0;
	if (!json_is_object(v))
		return jfail(e, prefix, "properties", "expected an object of strings");
	json_object_foreach(v, key, val)
		if (!json_is_string(val))
			return jfail(e, prefix, "properties", "%s: expected a string", key);
	text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);   /* BTreeMap order */
	if (!text)
		return jfail(e, prefix, "properties", "out of memory");
	if (strlen(text) >= sizeof(m->properties)) {
		free(text);
		return jfail(e, prefix, "properties", "longer than %zu bytes as JSON",
			     sizeof(m->properties) - 1);
	}
	memcpy(m->properties, text, strlen(text) + 1);
	free(text);
	return 0;
}

int obj_metrics(const struct jerr *e, const char *prefix, const json_t *o,
		struct metrics_config *out)
{
	static const char *const keys[] = {"metrics_path", "emit_id", "properties", NULL};
	static const char *const unsupported[] = {NULL};
	struct metrics_config *m = calloc(1, sizeof(*m));
	if (!m)
		return jfail(e, prefix, NULL, "out of memory");
	bool emit_id = false;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, unsupported);
	if (!rc)
		rc = jstring(e, prefix, o, "metrics_path", true, m->metrics_path,
			     sizeof(m->metrics_path), NULL);
	if (!rc && !m->metrics_path[0])
		rc = jfail(e, prefix, "metrics_path", "must not be empty");
	if (!rc)
		rc = jbool(e, prefix, o, "emit_id", false, &emit_id, NULL);
	if (!rc)
		m->emit_id = emit_id;
	if (!rc)
		rc = metrics_properties(e, prefix, o, m);
	if (!rc) {
		m->set = true;
		*out = *m;
	}
	free(m);
	return rc;
}

json_t *obj_metrics_json(const struct metrics_config *m)
{
	json_t *o = json_pack("{s:s}", "metrics_path", m->metrics_path);

	if (o && m->emit_id)
		json_object_set_new(o, "emit_id", json_true());
	if (o && m->properties[0])
		json_object_set_new(o, "properties", json_loads(m->properties, 0, NULL));
	return o;
}

/* ---------------- actions, vm ---------------- */

int obj_action(const struct jerr *e, const char *prefix, const json_t *o, enum api_action *out)
{
	static const char *const keys[] = {"action_type", NULL};
	static const char *const names[] = {"InstanceStart", "SendCtrlAltDel", "FlushMetrics", NULL};
	int a;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "action_type", true, names, false, &a, NULL);
	if (!rc)
		*out = (enum api_action)a;
	return rc;
}

int obj_vm_state(const struct jerr *e, const char *prefix, const json_t *o,
		 enum api_vm_state *out)
{
	static const char *const keys[] = {"state", NULL};
	static const char *const names[] = {"Paused", "Resumed", NULL};
	int s;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "state", true, names, false, &s, NULL);
	if (!rc)
		*out = (enum api_vm_state)s;
	return rc;
}

/* ---------------- snapshots ---------------- */

/* A path: a string that must not be empty when given. */
static int path_field(const struct jerr *e, const char *prefix, const json_t *o, const char *key,
		      bool required, char *dst, size_t size, bool *present)
{
	bool p;
	int rc = jstring(e, prefix, o, key, required, dst, size, &p);
	if (!rc && p && !dst[0])
		rc = jfail(e, prefix, key, "must not be empty");
	if (present)
		*present = p;
	return rc;
}

int obj_snapshot_create(const struct jerr *e, const char *prefix, const json_t *o,
			struct api_snapshot_create *out)
{
	static const char *const keys[] = {"snapshot_type", "snapshot_path", "mem_file_path",
					   NULL};
	/* Firecracker's order, so that "unknown variant" lists them as it does. */
	static const char *const types[] = {"Diff", "Full", NULL};
	struct api_snapshot_create *c = calloc(1, sizeof(*c));
	if (!c)
		return jfail(e, prefix, NULL, "out of memory");
	int type = 1;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "snapshot_type", false, types, false, &type, NULL);
	if (!rc)
		rc = path_field(e, prefix, o, "snapshot_path", true, c->snapshot_path,
				sizeof(c->snapshot_path), NULL);
	if (!rc)
		rc = path_field(e, prefix, o, "mem_file_path", true, c->mem_file_path,
				sizeof(c->mem_file_path), NULL);
	if (!rc) {
		c->type = type == 0 ? API_SNAPSHOT_DIFF : API_SNAPSHOT_FULL;
		*out = *c;
	}
	free(c);
	return rc;
}

/* snapshot/load.mem_backend: {"backend_type": "File"|"Uffd", "backend_path": ...}. */
static int mem_backend(const struct jerr *e, const char *prefix, const json_t *o,
		       struct api_snapshot_load *l)
{
	static const char *const keys[] = {"backend_path", "backend_type", NULL};
	static const char *const types[] = {"File", "Uffd", NULL};   /* = enum api_mem_backend */
	int type = 0;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jenum(e, prefix, o, "backend_type", true, types, false, &type, NULL);
	if (!rc)
		rc = path_field(e, prefix, o, "backend_path", true, l->backend_path,
				sizeof(l->backend_path), NULL);
	if (!rc)
		l->backend = (enum api_mem_backend)type;
	return rc;
}

/* snapshot/load.working_set (wisp's own): {"path", "record", "record_ms",
 * "copy"}. */
static int working_set(const struct jerr *e, const char *prefix, const json_t *o,
		       struct api_snapshot_load *l)
{
	static const char *const keys[] = {"path", "record", "record_ms", "copy", NULL};
	uint64_t ms = 2000;
	bool has_ms = false;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = path_field(e, prefix, o, "path", true, l->wset_path, sizeof(l->wset_path), NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "record", false, &l->wset_record, NULL);
	if (!rc)
		rc = juint(e, prefix, o, "record_ms", false, 1, 3600000, &ms, &has_ms);
	if (!rc && has_ms && !l->wset_record)
		rc = jfail(e, prefix, "record_ms", "is only meaningful with \"record\": true");
	if (!rc)
		rc = jbool(e, prefix, o, "copy", false, &l->wset_copy, NULL);
	if (!rc && l->wset_copy && l->wset_record)
		rc = jfail(e, prefix, "copy", "is only meaningful when replaying (\"record\": false)");
	if (!rc) {
		l->wset = true;
		l->wset_record_ms = (unsigned)ms;
	}
	return rc;
}

/* snapshot/load.network_overrides: [{"iface_id", "host_dev_name"}], at most
 * one per interface the VM can have, each interface once. */
static int net_overrides(const struct jerr *e, const char *prefix, const json_t *arr,
			 struct api_snapshot_load *l)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", NULL};
	size_t n = json_array_size(arr);
	if (n > VM_MAX_NETS)
		return jfail(e, prefix, "network_overrides",
			     "too many overrides (%zu, at most %d: one per network interface)", n,
			     VM_MAX_NETS);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		char item[64];
		snprintf(item, sizeof(item), "%s.network_overrides[%zu]", prefix, i);
		struct api_net_override *ov = &l->net_overrides[i];
		int rc = jexpect_object(e, item, v);
		if (!rc)
			rc = jcheck_keys(e, item, v, keys, NULL);
		if (!rc)
			rc = jstring(e, item, v, "iface_id", true, ov->iface_id, sizeof(ov->iface_id),
				     NULL);
		if (!rc)
			rc = obj_check_id(e, item, "iface_id", ov->iface_id);
		if (!rc)
			rc = path_field(e, item, v, "host_dev_name", true, ov->host_dev_name,
					sizeof(ov->host_dev_name), NULL);
		if (!rc && strchr(ov->host_dev_name, '/'))
			rc = jfail(e, item, "host_dev_name", "must not contain '/'");
		for (size_t k = 0; !rc && k < i; k++)
			if (strcmp(l->net_overrides[k].iface_id, ov->iface_id) == 0)
				rc = jfail(e, item, "iface_id",
					   "duplicate interface id \"%s\" (also in network_overrides[%zu])",
					   ov->iface_id, k);
		if (rc)
			return rc;
	}
	l->nr_net_overrides = (unsigned)n;
	return 0;
}

int obj_snapshot_load(const struct jerr *e, const char *prefix, const json_t *o,
		      struct api_snapshot_load *out)
{
	/* Firecracker's LoadSnapshotConfig, in its order. */
	static const char *const keys[] = {"snapshot_path", "mem_file_path", "mem_backend",
					   "enable_diff_snapshots", "track_dirty_pages",
					   "resume_vm", "network_overrides", "vsock_override",
					   "clock_realtime", "huge_pages", "working_set", NULL};
	static const char *const huge_pages[] = {"Snapshot", "None", "Transparent", "2M", NULL};
	struct api_snapshot_load *l = calloc(1, sizeof(*l));
	if (!l)
		return jfail(e, prefix, NULL, "out of memory");
	char sub[64];
	bool has_file = false, diff = false, track = false, clock_realtime = false;
	int hp = 0;
	json_t *backend = NULL, *overrides = NULL, *vsock = NULL, *ws = NULL;
	int rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = path_field(e, prefix, o, "snapshot_path", true, l->snapshot_path,
				sizeof(l->snapshot_path), NULL);
	/* The deprecated mem_file_path is backend File with that path. */
	if (!rc)
		rc = path_field(e, prefix, o, "mem_file_path", false, l->backend_path,
				sizeof(l->backend_path), &has_file);
	if (!rc && (backend = jget(o, "mem_backend"))) {
		snprintf(sub, sizeof(sub), "%s.mem_backend", prefix);
		rc = mem_backend(e, sub, backend, l);
	}
	/* enable_diff_snapshots is the deprecated name of track_dirty_pages. */
	if (!rc)
		rc = jbool(e, prefix, o, "enable_diff_snapshots", false, &diff, NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "track_dirty_pages", false, &track, NULL);
	if (!rc)
		rc = jbool(e, prefix, o, "resume_vm", false, &l->resume_vm, NULL);
	if (!rc)
		rc = jarray(e, prefix, o, "network_overrides", false, &overrides, NULL);
	if (!rc && overrides)
		rc = net_overrides(e, prefix, overrides, l);
	if (!rc && (vsock = jget(o, "vsock_override"))) {
		snprintf(sub, sizeof(sub), "%s.vsock_override", prefix);
		static const char *const vkeys[] = {"uds_path", NULL};
		rc = jexpect_object(e, sub, vsock);
		if (!rc)
			rc = jcheck_keys(e, sub, vsock, vkeys, NULL);
		if (!rc)
			rc = path_field(e, sub, vsock, "uds_path", true, l->vsock_uds_path,
					sizeof(l->vsock_uds_path), NULL);
		if (!rc)
			l->has_vsock_override = true;
	}
	if (!rc)
		rc = jbool(e, prefix, o, "clock_realtime", false, &clock_realtime, NULL);
	if (!rc && clock_realtime)
		rc = jfail(e, prefix, "clock_realtime", "true is not supported by wisp");
	if (!rc)
		rc = jenum(e, prefix, o, "huge_pages", false, huge_pages, false, &hp, NULL);
	if (!rc && hp != 0)
		rc = jfail(e, prefix, "huge_pages",
			   "\"%s\" is not supported by wisp (only \"Snapshot\": the VM is restored "
			   "with the huge pages setting it was created with)", huge_pages[hp]);
	if (!rc && (ws = jget(o, "working_set"))) {
		snprintf(sub, sizeof(sub), "%s.working_set", prefix);
		rc = working_set(e, sub, ws, l);
	}
	/* Checked after the fields, as Firecracker does; its sentences. */
	if (!rc && has_file && backend)
		rc = jfail(e, prefix, NULL,
			   "too many fields: either `mem_backend` or `mem_file_path` exclusively "
			   "is required.");
	if (!rc && !has_file && !backend)
		rc = jfail(e, prefix, NULL,
			   "missing field: either `mem_backend` or `mem_file_path` is required.");
	if (!rc && ws && !has_file && l->backend != API_MEM_BACKEND_FILE)
		rc = jfail(e, prefix, "working_set",
			   "needs the File memory backend (a Uffd handler serves memory itself)");
	if (!rc) {
		if (has_file)
			l->backend = API_MEM_BACKEND_FILE;
		l->track_dirty_pages = diff || track;
		*out = *l;
	}
	free(l);
	return rc;
}
