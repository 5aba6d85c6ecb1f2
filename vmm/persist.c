/* SPDX-License-Identifier: Apache-2.0 */
/*
 * persist.c — snapshots of a VM: create (a paused VM's state file and
 * memory file) and load (a new VM built from them). The file format and the
 * file writing live in snapshot/; the KVM state in kvm_state.c; every device
 * saves and restores itself through the device interface.
 *
 * A load validates everything it can before it touches KVM state (files,
 * format, CRC, versions, sizes, every KVM record, the configuration, the
 * drives and taps, every device's state): a failure there leaves nothing
 * behind and the process can take another load. A failure while KVM state
 * is being applied is fatal (the caller ends the process).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "kvm_state.h"
#include "persist.h"
#include "snapshot.h"
#include "vm.h"
#include "wset.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* ---------------- create ---------------- */

static int add_vcpus(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		uint8_t *buf;
		size_t len;
		int r = kvm_vcpu_state_save(vm->kvm.fd, vm->vcpus[i].fd, i, &buf, &len, err, errlen);

		if (r < 0)
			return r;
		r = snap_add(w, SNAP_SEC_VCPU, i, buf, len);
		free(buf);
		if (r < 0) {
			ERR("vCPU %u: cannot add its state to the snapshot: %s", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int add_devices(struct vm *vm, struct snap_writer *w, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->devices.nr; i++) {
		const struct device *d = &vm->devices.devs[i];
		struct snap_device_hdr hdr;
		size_t len = d->ops->state_size(d->dev);
		void *st = malloc(len ? len : 1);
		int r;

		if (!st) {
			ERR("out of memory");
			return -ENOMEM;
		}
		memset(&hdr, 0, sizeof(hdr));
		snprintf(hdr.kind, sizeof(hdr.kind), "%s", d->ops->kind);
		snprintf(hdr.id, sizeof(hdr.id), "%s", d->id);
		hdr.mmio_base = d->mmio_base;
		hdr.irq = d->irq;
		r = d->ops->save(d->dev, st, len);
		if (r < 0)
			ERR("%s %s: cannot save its state: %s", d->ops->kind, d->id, strerror(-r));
		else if ((r = snap_add_device(w, i, &hdr, st, len)) < 0)
			ERR("%s %s: cannot add its state to the snapshot: %s", d->ops->kind, d->id,
			    strerror(-r));
		free(st);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The state file's contents (malloc'd in *buf). */
static int encode_state(struct vm *vm, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_machine m;
	struct timespec now;
	char *cfg = vmconfig_to_json(&vm->cfg);
	uint8_t *kvm = NULL;
	size_t kvm_len = 0;
	int r;

	if (!w || !cfg) {
		ERR("out of memory");
		r = -ENOMEM;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	clock_gettime(CLOCK_REALTIME, &now);
	m.mem_size = guest_mem_total(&vm->mem);
	m.nr_vcpus = vm->nr_vcpus;
	m.nr_devices = vm->devices.nr;
	m.created_unix_ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
	snprintf(m.vmm_version, sizeof(m.vmm_version), "%s", WISP_VERSION);
	r = snap_add(w, SNAP_SEC_MACHINE, 0, &m, sizeof(m));
	if (r == 0)
		r = snap_add(w, SNAP_SEC_VM_CONFIG, 0, cfg, strlen(cfg));
	if (r < 0) {
		ERR("cannot encode the snapshot: %s", strerror(-r));
		goto out;
	}
	r = add_vcpus(vm, w, err, errlen);
	if (r == 0)
		r = kvm_vm_state_save(vm->fd, &kvm, &kvm_len, err, errlen);
	if (r == 0 && (r = snap_add(w, SNAP_SEC_VM_KVM, 0, kvm, kvm_len)) < 0)
		ERR("cannot add the VM's KVM state to the snapshot: %s", strerror(-r));
	if (r == 0)
		r = add_devices(vm, w, err, errlen);
	if (r == 0 && (r = snap_finish(w, buf, len)) < 0)
		ERR("cannot encode the snapshot: %s", strerror(-r));
out:
	free(kvm);
	free(cfg);
	snap_writer_free(w);
	return r;
}

/* A failed snapshot must not lose the pages dirtied in its interval: they
 * go back into the regions' bitmaps, for the next snapshot. */
static void dirty_give_back(struct vm *vm, uint64_t *bitmaps[GUEST_MEM_MAX_REGIONS])
{
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		struct guest_region *g = &vm->mem.regions[i];
		uint64_t n = ((g->size >> 12) + 63) / 64;

		for (uint64_t w = 0; bitmaps[i] && g->dirty && w < n; w++)
			__atomic_fetch_or(&g->dirty[w], bitmaps[i][w], __ATOMIC_RELAXED);
	}
}

int vm_snapshot_create(struct vm *vm, bool diff, const char *state_path, const char *mem_path,
		       struct snapshot_times *t, char *err, size_t errlen)
{
	struct snap_out st = { .fd = -1 }, mem = { .fd = -1 };
	uint64_t *dirty[GUEST_MEM_MAX_REGIONS] = { NULL };
	bool tracking = vm->cfg.machine.track_dirty_pages;
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t t0 = mono_us();
	int r;

	if (vm->state != VM_PAUSED) {
		ERR("Cannot save the microVM state: Operation not allowed: save/restore "
		    "unavailable while running (pause the microVM first)");
		return -EINVAL;
	}
	/* In-flight device work completes into guest memory first. */
	for (unsigned i = 0; i < vm->devices.nr; i++) {
		const struct device *d = &vm->devices.devs[i];

		r = d->ops->quiesce ? d->ops->quiesce(d->dev) : 0;
		if (r < 0) {
			ERR("%s %s: cannot finish its in-flight work: %s", d->ops->kind, d->id,
			    strerror(-r));
			return r;
		}
	}
	if (diff && !tracking) {
		ERR("Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
		return -EINVAL;
	}
	r = encode_state(vm, &buf, &len, err, errlen);
	if (r < 0)
		return r;
	/* Every snapshot of a tracked VM starts a new dirty interval: a Diff
	 * holds the pages written since the previous snapshot. */
	if (tracking && (r = dirty_collect(vm, dirty, err, errlen)) < 0) {
		free(buf);
		return r;
	}
	t->state_us = mono_us() - t0;
	r = snap_out_open(&st, state_path, err, errlen);
	if (r == 0)
		r = snap_out_open(&mem, mem_path, err, errlen);
	if (r == 0)
		r = snap_out_write(&st, buf, len, err, errlen);
	if (r == 0 && diff)
		r = snap_mem_write_dirty(&mem, &vm->mem, dirty, err, errlen);
	else if (r == 0)
		r = snap_mem_write(&mem, &vm->mem, vm->ram_fd, err, errlen);
	if (r == 0)
		r = snap_out_sync(&st, err, errlen);
	if (r == 0)
		r = snap_out_sync(&mem, err, errlen);
	/* Both files are complete on disk: now they take their names. */
	if (r == 0)
		r = snap_out_commit(&mem, err, errlen);
	if (r == 0) {
		r = snap_out_commit(&st, err, errlen);
		if (r < 0)
			unlink(mem_path);
	}
	snap_out_abort(&st);
	snap_out_abort(&mem);
	if (r < 0 && tracking)
		dirty_give_back(vm, dirty);
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(dirty[i]);
	free(buf);
	t->total_us = mono_us() - t0;
	if (r == 0)
		log_info("snapshot (%s): state %s (%zu bytes), memory %s (%llu MiB) in %llu us",
			 diff ? "Diff" : "Full", state_path, len, mem_path,
			 (unsigned long long)(guest_mem_total(&vm->mem) >> 20),
			 (unsigned long long)t->total_us);
	return r;
}

/* ---------------- load ---------------- */

/* Everything a load needs, checked, before any KVM state is touched. */
struct loaded {
	uint8_t *buf;
	size_t len;
	struct snap_file f;
	struct snap_machine m;
	struct vm_config cfg;
	int mem_fd;
};

/* The state file's identity: the CRC-64 its last 8 bytes hold (checked by
 * the parser), which working-set page copies are bound to. */
static uint64_t state_id(const struct loaded *l)
{
	uint64_t id;

	memcpy(&id, l->buf + l->len - 8, 8);
	return id;
}

static void loaded_free(struct loaded *l)
{
	snap_file_free(&l->f);
	free(l->buf);
	if (l->mem_fd >= 0)
		close(l->mem_fd);
}

static int check_config(struct loaded *l, const struct api_snapshot_load *p, char *err,
			size_t errlen)
{
	const struct snap_section *s = snap_find(&l->f, SNAP_SEC_VM_CONFIG, 0);
	char why[512];

	if (!s) {
		ERR("%s: the snapshot has no VM configuration section", p->snapshot_path);
		return -EINVAL;
	}
	vm_config_init(&l->cfg);
	if (vmconfig_parse((const char *)s->data, s->len, &l->cfg, why, sizeof(why)) < 0) {
		ERR("%s: the snapshot's VM configuration is invalid: %s", p->snapshot_path, why);
		return -EINVAL;
	}
	if (l->cfg.machine.vcpu_count != l->m.nr_vcpus ||
	    ((uint64_t)l->cfg.machine.mem_size_mib << 20) != l->m.mem_size) {
		ERR("%s: the snapshot's configuration (%u vCPUs, %u MiB) does not match its state "
		    "(%u vCPUs, %llu MiB)", p->snapshot_path, l->cfg.machine.vcpu_count,
		    l->cfg.machine.mem_size_mib, l->m.nr_vcpus,
		    (unsigned long long)(l->m.mem_size >> 20));
		return -EINVAL;
	}
	if (l->cfg.machine.huge_pages != HUGE_PAGES_NONE) {
		ERR("mem_backend: the snapshot's guest memory uses huge pages, which the File "
		    "backend cannot map");
		return -EINVAL;
	}
	for (unsigned i = 0; i < p->nr_net_overrides; i++) {
		const struct api_net_override *o = &p->net_overrides[i];
		int k = vmconfig_find_net(&l->cfg, o->iface_id);

		if (k < 0) {
			ERR("network_overrides: the snapshot has no network interface '%s'",
			    o->iface_id);
			return -EINVAL;
		}
		snprintf(l->cfg.nets[k].host_dev_name, sizeof(l->cfg.nets[k].host_dev_name), "%s",
			 o->host_dev_name);
	}
	if (p->has_vsock_override) {
		if (!l->cfg.vsock.set) {
			/* Firecracker's words (functional/test_vsock.py), then wisp's. */
			ERR("Unknown Vsock Device (vsock_override: the snapshot has no vsock device)");
			return -EINVAL;
		}
		snprintf(l->cfg.vsock.uds_path, sizeof(l->cfg.vsock.uds_path), "%s",
			 p->vsock_uds_path);
	}
	l->cfg.machine.track_dirty_pages = p->track_dirty_pages;
	return 0;
}

static int check_kvm_records(struct loaded *l, const char *path, char *err, size_t errlen)
{
	const struct snap_section *s;
	char why[300];

	for (unsigned i = 0; i < l->m.nr_vcpus; i++) {
		s = snap_find(&l->f, SNAP_SEC_VCPU, i);
		if (kvm_vcpu_state_check(s->data, s->len, why, sizeof(why)) < 0) {
			ERR("%s: vCPU %u: %s", path, i, why);
			return -EINVAL;
		}
	}
	s = snap_find(&l->f, SNAP_SEC_VM_KVM, 0);
	if (!s) {
		ERR("%s: the snapshot has no VM (interrupt controller, PIT, clock) section", path);
		return -EINVAL;
	}
	if (kvm_vm_state_check(s->data, s->len, why, sizeof(why)) < 0) {
		ERR("%s: VM state: %s", path, why);
		return -EINVAL;
	}
	return 0;
}

static int open_mem_file(struct loaded *l, const char *path, char *err, size_t errlen)
{
	struct stat st;

	l->mem_fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (l->mem_fd < 0) {
		int e = errno;

		/* Firecracker's words first (functional/test_snapshot_basic.py), then wisp's. */
		ERR("Failed to restore from snapshot: Failed to load guest memory: Error creating "
		    "guest memory from file: Failed to load guest memory: %s (os error %d) "
		    "(mem_backend.backend_path: cannot open %s: %s)", strerror(e), e, path,
		    strerror(e));
		return -e;
	}
	if (fstat(l->mem_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ERR("mem_backend.backend_path: %s is not a regular file", path);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size < l->m.mem_size) {
		ERR("mem_backend.backend_path: %s is %llu bytes, the snapshot's guest has %llu bytes "
		    "of memory", path, (unsigned long long)st.st_size,
		    (unsigned long long)l->m.mem_size);
		return -EINVAL;
	}
	return 0;
}

/* Read, parse and check the files (no KVM). */
static int load_files(struct loaded *l, const struct api_snapshot_load *p, char *err,
		      size_t errlen)
{
	char why[600];
	int r;

	r = snap_read_file(p->snapshot_path, &l->buf, &l->len, why, sizeof(why));
	if (r < 0) {
		/* Firecracker's words for a file it cannot open, then wisp's. */
		if (strncmp(why, "cannot open", 11) == 0)
			ERR("Failed to restore from snapshot: Failed to get snapshot state from file: "
			    "Failed to open snapshot file: %s (os error %d) (snapshot_path: %s)",
			    strerror(-r), -r, why);
		else
			ERR("snapshot_path: %s", why);
		return r;
	}
	r = snap_parse(l->buf, l->len, &l->f, why, sizeof(why));
	if (r == 0)
		r = snap_machine_get(&l->f, &l->m, why, sizeof(why));
	if (r < 0) {
		ERR("snapshot_path: %s: %s", p->snapshot_path, why);
		return r;
	}
	if (l->m.nr_devices > DEVICE_MAX) {
		ERR("snapshot_path: %s: %u devices, at most %d", p->snapshot_path, l->m.nr_devices,
		    DEVICE_MAX);
		return -EINVAL;
	}
	r = check_config(l, p, err, errlen);
	if (r == 0)
		r = check_kvm_records(l, p->snapshot_path, err, errlen);
	/* Uffd: the handler serves the memory file, wisp never opens it. */
	if (r == 0 && p->backend == API_MEM_BACKEND_FILE)
		r = open_mem_file(l, p->backend_path, err, errlen);
	return r;
}

/* Give every device of the new VM its saved state. The VM was built from
 * the snapshot's configuration, so the devices are the same list; each is
 * matched by kind and id (the boot timer comes and goes with --boot-timer
 * and has no state). A format 1.0 snapshot predates the VMGenID: its guest
 * has no ACPI table naming one, so the VM's vmgenid device is left as
 * created (its ID in a page that guest never reads) and raises nothing. */
static int restore_devices(struct vm *vm, struct loaded *l, char *err, size_t errlen)
{
	bool used[DEVICE_MAX] = { false };
	char why[400];

	for (unsigned i = 0; i < vm->devices.nr; i++) {
		struct device *d = &vm->devices.devs[i];
		bool found = false;

		for (unsigned k = 0; k < l->m.nr_devices && !found; k++) {
			const struct snap_section *s = snap_find(&l->f, SNAP_SEC_DEVICE, k);
			struct snap_device_hdr h;
			const uint8_t *st;
			size_t len;

			if (used[k] || snap_device_split(s, &h, &st, &len, why, sizeof(why)) < 0)
				continue;
			if (strcmp(h.kind, d->ops->kind) != 0 || strcmp(h.id, d->id) != 0)
				continue;
			if (h.mmio_base != d->mmio_base || h.irq != d->irq) {
				ERR("%s %s: saved at 0x%llx IRQ %u, placed at 0x%llx IRQ %u",
				    d->ops->kind, d->id, (unsigned long long)h.mmio_base, h.irq,
				    (unsigned long long)d->mmio_base, d->irq);
				return -EINVAL;
			}
			if (d->ops->restore(d->dev, st, len, why, sizeof(why)) < 0) {
				ERR("snapshot_path: %s", why);
				return -EINVAL;
			}
			used[k] = found = true;
		}
		if (!found && d->ops != &boot_timer_device_ops &&
		    !(d->ops == &vmgenid_device_ops && l->f.major == 1 && l->f.minor == 0)) {
			ERR("snapshot_path: the snapshot has no state for %s %s", d->ops->kind, d->id);
			return -EINVAL;
		}
	}
	for (unsigned k = 0; k < l->m.nr_devices; k++) {
		const struct snap_section *s = snap_find(&l->f, SNAP_SEC_DEVICE, k);
		struct snap_device_hdr h;
		const uint8_t *st;
		size_t len;

		if (used[k])
			continue;
		if (snap_device_split(s, &h, &st, &len, why, sizeof(why)) < 0) {
			ERR("snapshot_path: %s", why);
			return -EINVAL;
		}
		if (strcmp(h.kind, boot_timer_device_ops.kind) != 0) {
			ERR("snapshot_path: the snapshot's %s %s has no device in this VM", h.kind,
			    h.id);
			return -EINVAL;
		}
	}
	return 0;
}

/* KVM state, in a safe order: each vCPU, then the VM (PIT, PICs, IOAPIC,
 * kvmclock last). Failures here are fatal. */
static int restore_kvm(struct vm *vm, struct loaded *l, char *err, size_t errlen)
{
	const struct snap_section *s;
	char why[400];

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		s = snap_find(&l->f, SNAP_SEC_VCPU, i);
		if (kvm_vcpu_state_restore(vm->kvm.fd, vm->vcpus[i].fd, i, s->data, s->len, why,
					   sizeof(why)) < 0) {
			ERR("restoring vCPU %u: %s", i, why);
			return -EIO;
		}
	}
	s = snap_find(&l->f, SNAP_SEC_VM_KVM, 0);
	if (kvm_vm_state_restore(vm->fd, s->data, s->len, why, sizeof(why)) < 0) {
		ERR("restoring the VM's interrupt controllers, PIT and clock: %s", why);
		return -EIO;
	}
	return 0;
}

int vm_snapshot_load(const struct api_snapshot_load *p, struct vm_options *opts,
		     struct evloop *loop, struct vm **out, struct snapshot_times *t, bool *fatal,
		     char *err, size_t errlen)
{
	struct loaded l = { .mem_fd = -1 };
	struct vm *vm = NULL;
	struct wset ws = { .fd = -1 };
	uint64_t t0 = mono_us(), t1;
	int r;

	*fatal = false;
	memset(t, 0, sizeof(*t));
	r = load_files(&l, p, err, errlen);
	if (r < 0)
		goto fail;
	/* working_set replay: the file is checked before anything is built. */
	if (p->wset && !p->wset_record) {
		r = wset_read(p->wset_path, l.m.mem_size, state_id(&l), &ws, err, errlen);
		if (r < 0)
			goto fail;
		if (p->wset_copy && !ws.data_off) {
			ERR("working_set.copy: %s has no page copies: record it again",
			    p->wset_path);
			r = -EINVAL;
			goto fail;
		}
	}
	t->files_us = mono_us() - t0;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		ERR("out of memory");
		r = -ENOMEM;
		goto fail;
	}
	opts->mem_fd = l.mem_fd;
	opts->uffd_socket = p->backend == API_MEM_BACKEND_UFFD ? p->backend_path : NULL;
	opts->wset_record_path = p->wset && p->wset_record ? p->wset_path : NULL;
	opts->wset_record_ms = p->wset_record_ms;
	opts->wset_snap_id = state_id(&l);
	opts->wset_serve = p->wset && p->wset_copy;
	t1 = mono_us();
	r = vm_create(vm, &l.cfg, opts, loop, err, errlen);
	opts->mem_fd = -1;
	opts->uffd_socket = NULL;
	opts->wset_record_path = NULL;
	opts->wset_serve = false;
	if (r < 0) {
		free(vm);
		vm = NULL;
		goto fail;
	}
	if (ws.nr_ranges) {
		/* Replay: the recorded pages present before any vCPU runs. */
		struct wset_prefetch_stats st;
		uint64_t tp = mono_us();

		r = p->wset_copy ? wset_copy_in(vm, &ws, &st, err, errlen)
				 : wset_prefetch(&vm->mem, &ws, l.mem_fd, &st, err, errlen);
		if (r < 0)
			goto fail;
		log_info("working set: %" PRIu64 " pages from %s made present in %" PRIu64
			 " call(s)%s, %s, %" PRIu64 " readahead request(s), %" PRIu64 " us",
			 st.pages, p->wset_path, st.calls,
			 st.touched ? " (page by page: no MADV_POPULATE_READ)" : "",
			 st.copied ? "copied in from its page copies"
			 : st.mapped ? "mapped from its page copies" : "from the memory file",
			 st.ra_calls, mono_us() - tp);
	}
	t->create_us = mono_us() - t1;
	t1 = mono_us();
	r = restore_devices(vm, &l, err, errlen);
	if (r < 0)
		goto fail;
	t->devices_us = mono_us() - t1;
	t1 = mono_us();
	r = restore_kvm(vm, &l, err, errlen);
	if (r < 0) {
		*fatal = true;
		goto fail;
	}
	if (vm->cfg.machine.track_dirty_pages) {
		/* A Diff after this load holds what changed since the load. */
		uint64_t *dirty[GUEST_MEM_MAX_REGIONS];

		if (dirty_collect(vm, dirty, err, errlen) < 0) {
			*fatal = true;
			r = -EIO;
			goto fail;
		}
		for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
			free(dirty[i]);
	}
	for (unsigned i = 0; i < vm->devices.nr; i++) {
		struct device *d = &vm->devices.devs[i];

		if (d->ops->restored)
			d->ops->restored(d->dev);
	}
	t->state_us = mono_us() - t1;
	loaded_free(&l);
	wset_free(&ws);
	t->total_us = mono_us() - t0;
	*out = vm;
	return 0;
fail:
	if (vm) {
		vm_destroy(vm);
		free(vm);
	}
	loaded_free(&l);
	wset_free(&ws);
	return r;
}
