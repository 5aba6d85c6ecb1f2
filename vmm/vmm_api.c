/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm_api.c — apply typed API requests on the VMM thread, with Firecracker's
 * pre-boot / post-boot rules. A refused request leaves everything as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "metrics.h"
#include "persist.h"
#include "vm.h"
#include "vmm_ctl.h"
#include "virtio.h"
#include "ratelimit.h"

#define NOT_AFTER_BOOT "The requested operation is not supported after starting the microVM."
#define NOT_BEFORE_BOOT "The requested operation is not supported before starting the microVM."

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static enum api_instance_state instance_state(const struct vmm *vmm)
{
	if (!vmm->vm)
		return API_STATE_NOT_STARTED;
	return vmm->vm->state == VM_PAUSED ? API_STATE_PAUSED : API_STATE_RUNNING;
}

/* A file the VMM will need must be a readable (or writable) regular file. */
static int check_file(const char *field, const char *path, bool writable, char *err, size_t errlen)
{
	struct stat st;
	/* O_NONBLOCK: opening a FIFO must not hang the VMM thread (it is
	 * refused below as not a regular file). */
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		/* Rust's io::Error, as Firecracker's messages show it, then wisp's. */
		snprintf(err, errlen, "%s (os error %d) (%s: cannot open %s: %s)", strerror(e), e, field,
			 path, strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file (%s: %s is not a regular file)", field, path);
		close(fd);
		return -EINVAL;
	}
	close(fd);
	return 0;
}

static void put_boot_source(struct vmm *vmm, const struct boot_source_config *b,
			    struct api_response *resp)
{
	char err[1024];

	/* Firecracker's BootSourceConfigError texts. */
	if (check_file("kernel_image_path", b->kernel_image_path, false, err, sizeof(err)) < 0) {
		api_response_fault(resp, "Boot source error: The kernel file cannot be opened: %s", err);
		return;
	}
	if (b->initrd_path[0] &&
	    check_file("initrd_path", b->initrd_path, false, err, sizeof(err)) < 0) {
		api_response_fault(resp, "Boot source error: The initrd file cannot be opened due to "
				   "invalid path or invalid permissions. %s", err);
		return;
	}
	vmm->cfg.boot = *b;
	vmm->cfg.boot.set = true;
	api_response_no_content(resp);
}

static void put_drive(struct vmm *vmm, const struct drive_config *d, struct api_response *resp)
{
	char err[1024];

	/* Firecracker's DriveError texts. */
	if (check_file("path_on_host", d->path_on_host, !d->is_read_only, err, sizeof(err)) < 0) {
		api_response_fault(resp, "Drive config error: Unable to create the virtio block "
				   "device: Virtio backend error: Error manipulating the backing file: "
				   "%s", err);
		return;
	}
	if (vmconfig_put_drive(&vmm->cfg, d, err, sizeof(err)) < 0) {
		api_response_fault(resp, "%s", err);
		return;
	}
	api_response_no_content(resp);
}

/* Firecracker's DriveError::DeviceUpdate. */
#define DRIVE_PATCH_ERR "Drive config error: Unable to patch the block device: "

static void patch_drive(struct vmm *vmm, const struct api_drive_patch *p, struct api_response *resp)
{
	int idx = vmconfig_find_drive(&vmm->cfg, p->drive_id);
	int vidx = vmconfig_find_drive(&vmm->vm->cfg, p->drive_id);
	struct virtio_blk *b;
	char err[1024];

	if (idx < 0) {
		api_response_fault(resp, DRIVE_PATCH_ERR "Failed perform action on device: Device not "
				   "found Please verify the request arguments. (drive_id: no drive with "
				   "id '%s')", p->drive_id);
		return;
	}
	if (!p->has_path_on_host && !p->has_rate_limiter) {
		/* Firecracker: such a PATCH is a vhost-user drive's config
		 * update, which a virtio-blk drive refuses. */
		api_response_fault(resp, DRIVE_PATCH_ERR "Block: Running method expected different "
				   "backend. Please verify the request arguments. (drives: a PATCH needs "
				   "path_on_host or rate_limiter)");
		return;
	}
	b = virtio_devices_blk(&vmm->vm->devices, p->drive_id);
	if (!b) {
		api_response_fault(resp, DRIVE_PATCH_ERR "Failed perform action on device: Device not "
				   "found Please verify the request arguments. (drive_id: drive '%s' "
				   "has no device)", p->drive_id);
		return;
	}
	if (p->has_path_on_host) {
		int r = virtio_blk_update_path(b, p->path_on_host, err, sizeof(err));

		if (r < 0) {
			metrics_count_drive_update(p->drive_id, false);
			api_response_fault(resp, DRIVE_PATCH_ERR "Block: Virtio backend error: Error "
					   "manipulating the backing file: %s (os error %d) %s Please "
					   "verify the request arguments. (path_on_host: %s)", strerror(-r),
					   -r, p->path_on_host, err);
			return;
		}
		metrics_count_drive_update(p->drive_id, true);
		snprintf(vmm->cfg.drives[idx].path_on_host, sizeof(vmm->cfg.drives[idx].path_on_host),
			 "%s", p->path_on_host);
		if (vidx >= 0)
			snprintf(vmm->vm->cfg.drives[vidx].path_on_host,
				 sizeof(vmm->vm->cfg.drives[vidx].path_on_host), "%s", p->path_on_host);
	}
	if (p->has_rate_limiter) {
		/* Firecracker's PATCH: buckets given replace (or remove), others stay. */
		virtio_blk_update_rate_limiter(b, &p->rate_limiter);
		rate_limiter_config_merge(&vmm->cfg.drives[idx].rate_limiter, &p->rate_limiter);
		if (vidx >= 0)
			rate_limiter_config_merge(&vmm->vm->cfg.drives[vidx].rate_limiter,
						  &p->rate_limiter);
	}
	api_response_no_content(resp);
}

static void patch_net(struct vmm *vmm, const struct api_net_patch *p, struct api_response *resp)
{
	int idx = vmconfig_find_net(&vmm->cfg, p->iface_id);
	int vidx = vmconfig_find_net(&vmm->vm->cfg, p->iface_id);
	struct virtio_net *n;

	/* Firecracker's NetworkInterfaceError::DeviceUpdate. */
	if (idx < 0) {
		api_response_fault(resp, "Network config error: Unable to update the net device: "
				   "Failed perform action on device: Device not found (iface_id: no "
				   "network interface with id '%s')", p->iface_id);
		return;
	}
	n = virtio_devices_net(&vmm->vm->devices, p->iface_id);
	if (!n) {
		api_response_fault(resp, "Network config error: Unable to update the net device: "
				   "Failed perform action on device: Device not found (iface_id: "
				   "network interface '%s' has no device)", p->iface_id);
		return;
	}
	/* Firecracker's PATCH: buckets given replace (or remove), others stay. */
	virtio_net_update_rate_limiters(n, p->has_rx_rate_limiter ? &p->rx_rate_limiter : NULL,
					p->has_tx_rate_limiter ? &p->tx_rate_limiter : NULL);
	if (p->has_rx_rate_limiter) {
		rate_limiter_config_merge(&vmm->cfg.nets[idx].rx_rate_limiter, &p->rx_rate_limiter);
		if (vidx >= 0)
			rate_limiter_config_merge(&vmm->vm->cfg.nets[vidx].rx_rate_limiter,
						  &p->rx_rate_limiter);
	}
	if (p->has_tx_rate_limiter) {
		rate_limiter_config_merge(&vmm->cfg.nets[idx].tx_rate_limiter, &p->tx_rate_limiter);
		if (vidx >= 0)
			rate_limiter_config_merge(&vmm->vm->cfg.nets[vidx].tx_rate_limiter,
						  &p->tx_rate_limiter);
	}
	api_response_no_content(resp);
}

static void action(struct vmm *vmm, enum api_action a, struct api_response *resp)
{
	char err[1024];

	switch (a) {
	case API_ACTION_INSTANCE_START:
		if (vmm->vm) {
			api_response_fault(resp, NOT_AFTER_BOOT);
			return;
		}
		if (!vmm->cfg.boot.set) {
			api_response_fault(resp, "Start microvm error: Cannot start microvm without "
					   "kernel configuration. (InstanceStart: cannot start the microVM "
					   "without a boot source: PUT /boot-source first)");
			return;
		}
		if (vmm_start_vm(vmm, err, sizeof(err)) < 0) {
			api_response_fault(resp, "Start microvm error: %s (InstanceStart)", err);
			return;
		}
		api_response_no_content(resp);
		return;
	case API_ACTION_SEND_CTRL_ALT_DEL:
		if (!vmm->vm) {
			api_response_fault(resp, NOT_BEFORE_BOOT);
			return;
		}
		if (i8042_send_ctrl_alt_del(device_list_find(&vmm->vm->devices, "i8042", NULL)->dev) < 0) {
			api_response_fault(resp, "SendCtrlAltDel: the i8042 buffer is full");
			return;
		}
		api_response_no_content(resp);
		return;
	case API_ACTION_FLUSH_METRICS: {
		int r;

		if (!vmm->vm) {
			api_response_fault(resp, NOT_BEFORE_BOOT);
			return;
		}
		r = metrics_flush(vmm);
		if (r == -ENODEV)
			api_response_fault(resp, "FlushMetrics: metrics are not configured "
					   "(PUT /metrics or --metrics-path first)");
		else if (r == -EAGAIN)
			api_response_fault(resp, "FlushMetrics: the metrics destination is full; the "
					   "line was dropped (counted in logger.missed_metrics_count)");
		else if (r < 0)
			api_response_fault(resp, "FlushMetrics: cannot write metrics: %s", strerror(-r));
		else
			api_response_no_content(resp);
		return;
	}
	}
	api_response_fault(resp, "action_type: unknown action");
}

static void patch_vm(struct vmm *vmm, enum api_vm_state st, struct api_response *resp)
{
	uint64_t t0 = mono_us(), t1, t2;
	int r;

	if (!vmm->vm) {
		api_response_fault(resp, NOT_BEFORE_BOOT);
		return;
	}
	t1 = mono_us();
	r = st == API_VM_PAUSED ? vm_pause(vmm->vm) : vm_resume(vmm->vm);
	t2 = mono_us();
	/* latencies_us: pause_vm the request, vmm_pause_vm the VM's part. */
	if (r == 0 && st == API_VM_PAUSED)
		metrics_set_pause_us(t2 - t0, t2 - t1);
	else if (r == 0)
		metrics_set_resume_us(t2 - t0, t2 - t1);
	if (r < 0) {
		api_response_fault(resp, "state: cannot %s the microVM: %s",
				   st == API_VM_PAUSED ? "pause" : "resume", strerror(-r));
		return;
	}
	log_info("VM %s", st == API_VM_PAUSED ? "paused" : "resumed");
	api_response_no_content(resp);
}

static void snapshot_create(struct vmm *vmm, const struct api_snapshot_create *c,
			    struct api_response *resp)
{
	struct snapshot_times t;
	char err[1200];

	if (!vmm->vm) {
		api_response_fault(resp, NOT_BEFORE_BOOT);
		return;
	}
	if (vm_snapshot_create(vmm->vm, c->type == API_SNAPSHOT_DIFF, c->snapshot_path,
			       c->mem_file_path, &t, err, sizeof(err)) < 0) {
		log_error("snapshot create: %s", err);
		api_response_fault(resp, "Create snapshot error: %s", err);
		return;
	}
	metrics_set_snapshot_create_us(c->type == API_SNAPSHOT_DIFF, t.total_us);
	api_response_no_content(resp);
}

static void snapshot_load(struct vmm *vmm, const struct api_snapshot_load *p,
			  struct api_response *resp)
{
	struct snapshot_times t;
	char err[1200];

	if (vmm->configured) {
		api_response_fault(resp, "Load snapshot error: Loading a microVM snapshot not "
				   "allowed after configuring boot-specific resources.");
		return;
	}
	if (vmm_load_snapshot(vmm, p, &t, err, sizeof(err)) < 0) {
		log_error("snapshot load: %s", err);
		api_response_fault(resp, "Load snapshot error: %s", err);
		return;
	}
	metrics_set_snapshot_load_us(t.total_us);
	log_info("snapshot load: files %llu us, VM create %llu us (KVM VM %llu, memory %llu, "
		 "devices %llu, vCPUs %llu), devices %llu us, KVM state %llu us",
		 (unsigned long long)t.files_us, (unsigned long long)t.create_us,
		 (unsigned long long)vmm->vm->create_times.kvm_us,
		 (unsigned long long)vmm->vm->create_times.memory_us,
		 (unsigned long long)vmm->vm->create_times.devices_us,
		 (unsigned long long)vmm->vm->create_times.vcpus_us,
		 (unsigned long long)t.devices_us, (unsigned long long)t.state_us);
	api_response_no_content(resp);
}

static void put_logger(struct vmm *vmm, const struct api_logger *l, struct api_response *resp)
{
	struct logger_config lc = vmm->cfg.logger;
	int r;

	if ((l->present & API_LOG_PATH) && (r = log_set_path(l->cfg.log_path)) < 0) {
		api_response_fault(resp, "Logger error: Failed to open target file: %s (os error %d) "
				   "(log_path: cannot open %s: %s)", strerror(-r), -r, l->cfg.log_path,
				   strerror(-r));
		return;
	}
	if (l->present & API_LOG_PATH)
		snprintf(lc.log_path, sizeof(lc.log_path), "%s", l->cfg.log_path);
	/* As Firecracker: absent show_* keep what is in force (command line
	 * included); a PUT without `level` sets the default (Info). */
	log_get_format(&lc.show_level, &lc.show_log_origin);
	lc.level = (l->present & API_LOG_LEVEL) ? l->cfg.level : LOG_INFO;
	if (l->present & API_LOG_MODULE)
		snprintf(lc.module, sizeof(lc.module), "%s", l->cfg.module);
	if (l->present & API_LOG_SHOW_LEVEL)
		lc.show_level = l->cfg.show_level;
	if (l->present & API_LOG_SHOW_LOG_ORIGIN)
		lc.show_log_origin = l->cfg.show_log_origin;
	lc.set = true;
	log_set_level(lc.level);
	log_set_format(lc.show_level, lc.show_log_origin);
	if (l->present & API_LOG_MODULE)
		log_set_module(lc.module);
	vmm->cfg.logger = lc;
	api_response_no_content(resp);
}

/* The balloon's endpoints, with Firecracker's rules and texts (PUT only
 * before boot; PATCH, statistics and hinting only after). */
#define BALLOON_NO_DEVICE "Failed perform action on device: Device not found"

static void balloon_request(struct vmm *vmm, const struct api_request *req,
			    struct api_response *resp)
{
	struct virtio_balloon *b = vmm->vm ? virtio_devices_balloon(&vmm->vm->devices) : NULL;
	const char *upd = "Balloon update error: ";
	char err[256];
	int r = 0;

	if (req->kind == API_REQ_GET_BALLOON) {
		struct balloon_config bc;

		if (!vmm->vm && !vmm->cfg.balloon.set) {
			api_response_fault(resp, "Balloon config error: No balloon device found.");
		} else if (vmm->vm && !b) {
			api_response_fault(resp, "Internal VMM error: " BALLOON_NO_DEVICE);
		} else {
			if (b)
				virtio_balloon_get_config(b, &bc);
			else
				bc = vmm->cfg.balloon;
			api_response_json(resp, api_balloon_json(&bc));
		}
		return;
	}
	if (req->kind == API_REQ_PUT_BALLOON) {
		if (vmm->vm)
			api_response_fault(resp, NOT_AFTER_BOOT);
		else if (req->u.balloon.amount_mib > vmm->cfg.machine.mem_size_mib)
			api_response_fault(resp, "Balloon config error: Amount of pages requested is "
					   "too large.");
		else {
			vmm->cfg.balloon = req->u.balloon;
			vmm->cfg.balloon.set = true;
			api_response_no_content(resp);
		}
		return;
	}
	if (!vmm->vm) {
		api_response_fault(resp, NOT_BEFORE_BOOT);
		return;
	}
	if (!b) {
		api_response_fault(resp, "%s" BALLOON_NO_DEVICE,
				   req->kind == API_REQ_GET_BALLOON_STATS ? "Internal VMM error: " : upd);
		return;
	}
	switch (req->kind) {
	case API_REQ_PATCH_BALLOON:
		r = virtio_balloon_set_target(b, req->u.balloon_amount_mib, err, sizeof(err));
		if (r == 0) {
			vmm->cfg.balloon.amount_mib = req->u.balloon_amount_mib;
			vmm->vm->cfg.balloon.amount_mib = req->u.balloon_amount_mib;
		}
		break;
	case API_REQ_PATCH_BALLOON_STATS:
		r = virtio_balloon_set_stats_interval(b, req->u.balloon_stats_s, err, sizeof(err));
		if (r == 0) {
			vmm->cfg.balloon.stats_polling_interval_s = req->u.balloon_stats_s;
			vmm->vm->cfg.balloon.stats_polling_interval_s = req->u.balloon_stats_s;
		}
		break;
	case API_REQ_GET_BALLOON_STATS: {
		struct balloon_stats st;

		if (virtio_balloon_get_stats(b, &st) < 0) {
			api_response_fault(resp, "Internal VMM error: Balloon: Received stats query "
					   "when stats are disabled.");
			return;
		}
		api_response_json(resp, api_balloon_stats_json(st.target_pages, st.actual_pages,
							       st.present, st.val));
		return;
	}
	case API_REQ_BALLOON_HINT_START:
		r = virtio_balloon_hint_start(b, req->u.hint_ack_on_stop, err, sizeof(err));
		break;
	case API_REQ_BALLOON_HINT_STOP:
		r = virtio_balloon_hint_stop(b, err, sizeof(err));
		break;
	case API_REQ_BALLOON_HINT_STATUS: {
		uint32_t host_cmd, guest_cmd;
		bool has_guest;

		r = virtio_balloon_hint_status(b, &host_cmd, &has_guest, &guest_cmd, err,
					       sizeof(err));
		if (r == 0) {
			api_response_json(resp, api_balloon_hint_status_json(host_cmd, has_guest,
									     guest_cmd));
			return;
		}
		break;
	}
	default:
		api_response_fault(resp, "unsupported request");
		return;
	}
	if (r < 0)
		api_response_fault(resp, "%sBalloon: %s", upd, err);
	else
		api_response_no_content(resp);
}

static bool balloon_kind(enum api_request_kind k)
{
	return k == API_REQ_GET_BALLOON || k == API_REQ_PUT_BALLOON || k == API_REQ_PATCH_BALLOON ||
	       k == API_REQ_GET_BALLOON_STATS || k == API_REQ_PATCH_BALLOON_STATS ||
	       k == API_REQ_BALLOON_HINT_START || k == API_REQ_BALLOON_HINT_STATUS ||
	       k == API_REQ_BALLOON_HINT_STOP;
}

/* Firecracker's MachineConfigError::IncompatibleBalloonSize. */
static bool balloon_fits(const struct vmm *vmm, unsigned mem_size_mib, struct api_response *resp)
{
	if (vmm->cfg.balloon.set && mem_size_mib < vmm->cfg.balloon.amount_mib) {
		api_response_fault(resp, "Machine config error: The memory size (MiB) is smaller "
				   "than the previously set balloon device target size.");
		return false;
	}
	return true;
}

static void handle(struct vmm *vmm, const struct api_request *req, struct api_response *resp);

/* Requests that configure what a boot builds (a snapshot load is refused
 * once one of them succeeded, as in Firecracker; logger and metrics are
 * not among them). */
static bool boot_specific(enum api_request_kind k)
{
	return k == API_REQ_PUT_MACHINE_CONFIG || k == API_REQ_PATCH_MACHINE_CONFIG ||
	       k == API_REQ_PUT_BOOT_SOURCE || k == API_REQ_PUT_DRIVE || k == API_REQ_PUT_NET ||
	       k == API_REQ_PUT_ENTROPY || k == API_REQ_PUT_BALLOON || k == API_REQ_PUT_VSOCK;
}

void vmm_api_handle(void *ctx, const struct api_request *req, struct api_response *resp)
{
	struct vmm *vmm = ctx;

	if (req->deprecation)   /* metrics deprecated_api.deprecated_http_api_calls */
		metrics_count_deprecated_api_call();
	handle(vmm, req, resp);
	if (boot_specific(req->kind) && resp->status == 204)
		vmm->configured = true;
}

static void handle(struct vmm *vmm, const struct api_request *req, struct api_response *resp)
{	char err[1024];
	bool booted = vmm->vm != NULL;

	if (balloon_kind(req->kind)) {
		balloon_request(vmm, req, resp);
		return;
	}
	switch (req->kind) {
	case API_REQ_GET_INSTANCE_INFO:
		api_response_json(resp, api_instance_info_json(vmm->args->id, instance_state(vmm)));
		return;
	case API_REQ_GET_MACHINE_CONFIG:
		api_response_json(resp, api_machine_config_json(&vmm->cfg.machine));
		return;
	case API_REQ_GET_WISP_METRICS:   /* wisp's counters: docs/api.md "Metrics" */
		api_response_json(resp, metrics_wisp_json(vmm));
		return;
	case API_REQ_GET_VM_CONFIG:
		api_response_json(resp, vmconfig_to_api_json(&vmm->cfg));
		return;
	case API_REQ_ACTION:
		action(vmm, req->u.action, resp);
		return;
	case API_REQ_PATCH_VM:
		patch_vm(vmm, req->u.vm_state, resp);
		return;
	case API_REQ_SNAPSHOT_CREATE:
		snapshot_create(vmm, &req->u.snap_create, resp);
		return;
	case API_REQ_PATCH_DRIVE:
		if (!booted) {
			api_response_fault(resp, NOT_BEFORE_BOOT);
			return;
		}
		patch_drive(vmm, &req->u.drive_patch, resp);
		return;
	case API_REQ_PATCH_NET:
		if (!booted) {
			api_response_fault(resp, NOT_BEFORE_BOOT);
			return;
		}
		patch_net(vmm, &req->u.net_patch, resp);
		return;
	default:
		break;
	}

	/* Everything below configures the VM and is refused after boot. */
	if (booted) {
		api_response_fault(resp, NOT_AFTER_BOOT);
		return;
	}
	switch (req->kind) {
	case API_REQ_SNAPSHOT_LOAD:
		snapshot_load(vmm, &req->u.snap_load, resp);
		return;
	case API_REQ_PUT_MACHINE_CONFIG:
		if (!balloon_fits(vmm, req->u.machine.mem_size_mib, resp))
			return;
		{
			/* Without cpu_template the template stays (Firecracker). */
			enum cpu_template_kind t = vmm->cfg.machine.cpu_template;

			vmm->cfg.machine = req->u.machine;
			vmm->cfg.machine.cpu_template_given = false;
			if (!req->u.machine.cpu_template_given)
				vmm->cfg.machine.cpu_template = t;
		}
		api_response_no_content(resp);
		return;
	case API_REQ_PUT_CPU_CONFIG:
		/* Replaces a static template too (docs/cpu-templates.md). */
		vmm->cfg.cpu_config = req->u.cpu_config;
		vmm->cfg.machine.cpu_template = CPU_TEMPLATE_CUSTOM;
		api_response_no_content(resp);
		return;
	case API_REQ_PATCH_MACHINE_CONFIG: {
		struct machine_config mc = vmm->cfg.machine;

		if (api_machine_patch_apply(&mc, &req->u.machine_patch, err, sizeof(err)) < 0) {
			api_response_fault(resp, "%s", err);
			return;
		}
		if (!balloon_fits(vmm, mc.mem_size_mib, resp))
			return;
		vmm->cfg.machine = mc;
		api_response_no_content(resp);
		return;
	}
	case API_REQ_PUT_BOOT_SOURCE:
		put_boot_source(vmm, &req->u.boot, resp);
		return;
	case API_REQ_PUT_DRIVE:
		put_drive(vmm, &req->u.drive, resp);
		return;
	case API_REQ_PUT_NET:
		if (vmconfig_put_net(&vmm->cfg, &req->u.net, err, sizeof(err)) < 0) {
			api_response_fault(resp, "%s", err);
			return;
		}
		api_response_no_content(resp);
		return;
	case API_REQ_PUT_LOGGER:
		put_logger(vmm, &req->u.logger, resp);
		return;
	case API_REQ_PUT_VSOCK: {
		struct stat st;

		/* Firecracker binds the socket here: an existing path fails now
		 * (wisp binds it at InstanceStart and checks again then). */
		if (lstat(req->u.vsock.uds_path, &st) == 0) {
			api_response_fault(resp, "Cannot create backend for vsock device: Error binding "
					   "to the host-side Unix socket: %s (os error %d)",
					   strerror(EADDRINUSE), EADDRINUSE);
			return;
		}
		vmm->cfg.vsock = req->u.vsock;
		api_response_no_content(resp);
		return;
	}
	case API_REQ_PUT_ENTROPY:
		vmm->cfg.entropy = req->u.entropy;
		api_response_no_content(resp);
		return;
	case API_REQ_PUT_SERIAL:
		/* Firecracker stores it; the file is opened at InstanceStart or
		 * snapshot load. Not boot-specific: a snapshot may still load. */
		vmm->cfg.serial = req->u.serial;
		api_response_no_content(resp);
		return;
	case API_REQ_PUT_METRICS:
		if (metrics_init(vmm, &req->u.metrics, err, sizeof(err)) < 0) {
			/* Firecracker's MetricsConfigError, then wisp's words. */
			api_response_fault(resp, "Metrics error: Cannot initialize the metrics system due "
					   "to bad user input: %s", err);
			return;
		}
		vmm->cfg.metrics = req->u.metrics;
		vmm->cfg.metrics.set = true;
		api_response_no_content(resp);
		return;
	default:
		api_response_fault(resp, "unsupported request");
		return;
	}
}
