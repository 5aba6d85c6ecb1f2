/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c — Firecracker-format metrics: gather the counters the
 * subsystems keep (api thread, vCPUs, virtio devices, serial, logger),
 * turn them into one JSON line and write it without ever blocking.
 *
 * Counters ("..._count", "..._fails", bytes, exits) are reported as the
 * difference since the last line that was actually written, as Firecracker's
 * SharedIncMetric does; values that are not counters (start-up time,
 * latencies, seccomp num_faults) are reported as they are. The previous
 * values are kept by name, so a drive that appears after boot simply starts
 * from zero. A line that cannot be written is counted in
 * logger.missed_metrics_count and its deltas roll into the next line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "metrics.h"
#include "vm.h"
#include "vmm_ctl.h"
#include "virtio.h"

#define KEY_MAX 160

struct prev_value {
	char key[KEY_MAX];
	uint64_t committed;   /* value at the last written line */
	uint64_t pending;     /* value in the line being written */
};

static struct {
	int fd;               /* destination, -1 when not configured */
	int timer_fd;
	char *tail;           /* rest of a line a full pipe took only in part */
	size_t tail_len, tail_off;
	struct prev_value *prev;
	size_t nprev, capprev;
	uint64_t startup_us, startup_cpu_us;
	uint64_t pause_us, resume_us, snap_full_us, snap_diff_us, snap_load_us;
	uint64_t missed_lines, write_fails;
	uint64_t drive_updates, drive_update_fails;
} M = { .fd = -1, .timer_fd = -1 };

/* ---------------- deltas ---------------- */

static struct prev_value *prev_slot(const char *key)
{
	for (size_t i = 0; i < M.nprev; i++)
		if (strcmp(M.prev[i].key, key) == 0)
			return &M.prev[i];
	if (M.nprev == M.capprev) {
		size_t cap = M.capprev ? M.capprev * 2 : 128;
		struct prev_value *p = realloc(M.prev, cap * sizeof(*p));

		if (!p)
			return NULL;
		M.prev = p;
		M.capprev = cap;
	}
	memset(&M.prev[M.nprev], 0, sizeof(M.prev[0]));
	snprintf(M.prev[M.nprev].key, KEY_MAX, "%s", key);
	return &M.prev[M.nprev++];
}

/* obj[name] = cur - value at the last written line (keyed by section.name). */
static void put_delta(json_t *obj, const char *section, const char *name, uint64_t cur)
{
	char key[KEY_MAX];
	struct prev_value *p;
	uint64_t d = cur;

	snprintf(key, sizeof(key), "%s.%s", section, name);
	p = prev_slot(key);
	if (p) {
		/* A counter that went backwards belongs to a new device. */
		d = cur >= p->committed ? cur - p->committed : cur;
		p->pending = cur;
	}
	json_object_set_new(obj, name, json_integer((json_int_t)d));
}

static void put_abs(json_t *obj, const char *name, uint64_t v)
{
	json_object_set_new(obj, name, json_integer((json_int_t)v));
}

/* The line was written: its values become the base of the next deltas. */
static void commit_deltas(void)
{
	for (size_t i = 0; i < M.nprev; i++)
		M.prev[i].committed = M.prev[i].pending;
}

/* Before a line is built, pending = committed (keys absent from this line
 * keep their base). */
static void reset_pending(void)
{
	for (size_t i = 0; i < M.nprev; i++)
		M.prev[i].pending = M.prev[i].committed;
}

/* ---------------- sections ---------------- */

static void api_sections(json_t *root, struct vmm *vmm)
{
	struct api_stats st;
	json_t *srv = json_object(), *get = json_object(), *put = json_object(),
	       *patch = json_object();

	memset(&st, 0, sizeof(st));
	if (vmm->api)
		api_server_get_stats(vmm->api, &st);

	put_abs(srv, "process_startup_time_us", M.startup_us);
	put_abs(srv, "process_startup_time_cpu_us", M.startup_cpu_us);
	put_delta(srv, "api_server", "connections", st.connections);
	put_delta(srv, "api_server", "refused_connections", st.refused_connections);
	put_delta(srv, "api_server", "bad_requests", st.bad_requests);
	put_delta(srv, "api_server", "unsupported_requests", st.unsupported);
	json_object_set_new(root, "api_server", srv);

	put_delta(get, "get", "instance_info_count", st.count[API_REQ_GET_INSTANCE_INFO]);
	put_delta(get, "get", "machine_cfg_count", st.count[API_REQ_GET_MACHINE_CONFIG]);
	put_delta(get, "get", "vm_config_count", st.count[API_REQ_GET_VM_CONFIG]);
	put_delta(get, "get", "vmm_version_count", st.count[API_REQ_GET_VERSION]);
	put_abs(get, "mmds_count", 0);
	json_object_set_new(root, "get_api_requests", get);

	static const struct { const char *name; enum api_request_kind k; } puts[] = {
		{ "actions", API_REQ_ACTION }, { "boot_source", API_REQ_PUT_BOOT_SOURCE },
		{ "drive", API_REQ_PUT_DRIVE }, { "logger", API_REQ_PUT_LOGGER },
		{ "machine_cfg", API_REQ_PUT_MACHINE_CONFIG }, { "metrics", API_REQ_PUT_METRICS },
		{ "network", API_REQ_PUT_NET }, { "vsock", API_REQ_PUT_VSOCK },
	}, patches[] = {
		{ "drive", API_REQ_PATCH_DRIVE }, { "network", API_REQ_PATCH_NET },
		{ "machine_cfg", API_REQ_PATCH_MACHINE_CONFIG }, { "vm", API_REQ_PATCH_VM },
	};
	char n[64];

	for (size_t i = 0; i < sizeof(puts) / sizeof(puts[0]); i++) {
		snprintf(n, sizeof(n), "%s_count", puts[i].name);
		put_delta(put, "put", n, st.count[puts[i].k]);
		snprintf(n, sizeof(n), "%s_fails", puts[i].name);
		put_delta(put, "put", n, st.fails[puts[i].k]);
	}
	json_object_set_new(root, "put_api_requests", put);
	for (size_t i = 0; i < sizeof(patches) / sizeof(patches[0]); i++) {
		snprintf(n, sizeof(n), "%s_count", patches[i].name);
		put_delta(patch, "patch", n, st.count[patches[i].k]);
		snprintf(n, sizeof(n), "%s_fails", patches[i].name);
		put_delta(patch, "patch", n, st.fails[patches[i].k]);
	}
	json_object_set_new(root, "patch_api_requests", patch);
}

/* ---------------- devices ----------------
 * Each device reports named counters through a metric_sink; a device with
 * an id (a drive, a NIC) gets its own section "<section>_<id>", and every
 * kind's counters are summed into "<section>", which is always present. */

#define SINK_MAX 48

struct collect {
	struct metric_sink sink;
	unsigned n;
	const char *names[SINK_MAX];
	uint64_t values[SINK_MAX];
};

static void collect_put(struct metric_sink *sink, const char *name, uint64_t value)
{
	struct collect *c = (struct collect *)sink;

	for (unsigned i = 0; i < c->n; i++) {
		if (strcmp(c->names[i], name) == 0) {
			c->values[i] += value;
			return;
		}
	}
	if (c->n < SINK_MAX) {
		c->names[c->n] = name;
		c->values[c->n++] = value;
	}
}

static void put_collected(json_t *root, const char *sec, const struct collect *c)
{
	json_t *o = json_object();

	for (unsigned i = 0; i < c->n; i++)
		put_delta(o, sec, c->names[i], c->values[i]);
	json_object_set_new(root, sec, o);
}

/* The device kinds that have metrics sections. */
static const struct device_ops *const metric_kinds[] = {
	&serial_device_ops, &i8042_device_ops, &virtio_device_ops_blk, &virtio_device_ops_net,
	&virtio_device_ops_rng,
	&virtio_device_ops_balloon,
	&virtio_device_ops_vsock,
};

static void device_sections(json_t *root, struct vmm *vmm)
{
	struct device_list *list = vmm->vm ? &vmm->vm->devices : NULL;
	char sec[KEY_MAX];

	for (size_t k = 0; k < sizeof(metric_kinds) / sizeof(metric_kinds[0]); k++) {
		const struct device_ops *ops = metric_kinds[k];
		struct collect sum = { .sink.put = collect_put };

		ops->metrics(NULL, &sum.sink);   /* every key, even without a device */
		for (unsigned i = 0; list && i < list->nr; i++) {
			const struct device *d = &list->devs[i];
			struct collect one = { .sink.put = collect_put };

			if (d->ops != ops)
				continue;
			ops->metrics(d->dev, &one.sink);
			for (unsigned j = 0; j < one.n; j++)
				collect_put(&sum.sink, one.names[j], one.values[j]);
			if (d->id[0]) {
				snprintf(sec, sizeof(sec), "%s_%s", ops->metrics_section, d->id);
				put_collected(root, sec, &one);
			}
		}
		if (ops == &virtio_device_ops_blk) {
			collect_put(&sum.sink, "update_count", M.drive_updates);
			collect_put(&sum.sink, "update_fails", M.drive_update_fails);
		}
		put_collected(root, ops->metrics_section, &sum);
	}
}

static void vm_sections(json_t *root, struct vmm *vmm)
{
	uint64_t io = 0, mmio = 0, hlt = 0, other = 0;
	json_t *vcpu = json_object();

	if (vmm->vm) {
		for (unsigned i = 0; i < vmm->vm->nr_vcpus; i++) {
			io += vmm->vm->vcpus[i].exits_io;
			mmio += vmm->vm->vcpus[i].exits_mmio;
			hlt += vmm->vm->vcpus[i].exits_hlt;
			other += vmm->vm->vcpus[i].exits_other;
		}
	}
	put_delta(vcpu, "vcpu", "exit_io", io);
	put_delta(vcpu, "vcpu", "exit_mmio", mmio);
	put_delta(vcpu, "vcpu", "exit_hlt", hlt);
	put_delta(vcpu, "vcpu", "exit_other", other);
	put_abs(vcpu, "failures", 0);
	json_object_set_new(root, "vcpu", vcpu);
}

static void misc_sections(json_t *root)
{
	json_t *lg = json_object(), *sc = json_object(), *lat = json_object();

	put_delta(lg, "logger", "missed_metrics_count", M.missed_lines);
	put_delta(lg, "logger", "metrics_fails", M.write_fails);
	put_delta(lg, "logger", "missed_log_count", log_dropped_lines());
	json_object_set_new(root, "logger", lg);

	/* A seccomp violation kills the process (SECCOMP_RET_KILL_PROCESS),
	 * so a running wisp has seen none. */
	put_abs(sc, "num_faults", 0);
	json_object_set_new(root, "seccomp", sc);

	put_abs(lat, "vmm_pause_vm", M.pause_us);
	put_abs(lat, "vmm_resume_vm", M.resume_us);
	put_abs(lat, "full_create_snapshot", M.snap_full_us);
	put_abs(lat, "vmm_full_create_snapshot", M.snap_full_us);
	put_abs(lat, "diff_create_snapshot", M.snap_diff_us);
	put_abs(lat, "vmm_diff_create_snapshot", M.snap_diff_us);
	put_abs(lat, "load_snapshot", M.snap_load_us);
	put_abs(lat, "vmm_load_snapshot", M.snap_load_us);
	json_object_set_new(root, "latencies_us", lat);
}

static char *build_line(struct vmm *vmm, size_t *len)
{
	struct timespec ts;
	json_t *root = json_object();
	char *text, *line;

	reset_pending();
	clock_gettime(CLOCK_REALTIME, &ts);
	put_abs(root, "utc_timestamp_ms",
		(uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
	api_sections(root, vmm);
	device_sections(root, vmm);
	vm_sections(root, vmm);
	misc_sections(root);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return NULL;
	*len = strlen(text) + 1;
	line = realloc(text, *len + 1);
	if (!line) {
		free(text);
		return NULL;
	}
	line[*len - 1] = '\n';
	line[*len] = 0;
	return line;
}

/* ---------------- writing ---------------- */

/* write() without retrying on a full destination: bytes written or -errno. */
static ssize_t write_some(const char *buf, size_t len)
{
	ssize_t n;

	do
		n = write(M.fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Finish a line that was written in part (a pipe larger lines than PIPE_BUF
 * may be split), so the stream never holds a torn line. 0 when nothing is
 * pending any more. */
static ssize_t finish_tail(void)
{
	ssize_t n;

	if (!M.tail)
		return 0;
	n = write_some(M.tail + M.tail_off, M.tail_len - M.tail_off);
	if (n < 0)
		return n;
	M.tail_off += (size_t)n;
	if (M.tail_off < M.tail_len)
		return -EAGAIN;
	free(M.tail);
	M.tail = NULL;
	return 0;
}

int metrics_flush(struct vmm *vmm)
{
	size_t len = 0;
	char *line;
	ssize_t n;

	if (M.fd < 0)
		return -ENODEV;
	n = finish_tail();
	if (n == 0) {
		line = build_line(vmm, &len);
		if (!line) {
			M.write_fails++;
			return -ENOMEM;
		}
		n = write_some(line, len);
		if (n >= 0 && (size_t)n < len) {
			/* Part of it is out: the rest goes first next time. */
			M.tail = line;
			M.tail_len = len;
			M.tail_off = (size_t)n;
			line = NULL;
		}
		free(line);
		if (n >= 0) {
			commit_deltas();
			return 0;
		}
	}
	/* The line is lost; its deltas roll into the next one. */
	M.missed_lines++;
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return -EAGAIN;
	M.write_fails++;
	log_warn("metrics: cannot write a metrics line: %s", strerror((int)-n));
	return (int)n;
}

static void on_timer(int fd, uint32_t events, void *opaque)
{
	uint64_t ticks;

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return;
	metrics_flush(opaque);
}

bool metrics_enabled(void)
{
	return M.fd >= 0;
}

int metrics_init(struct vmm *vmm, const char *path, char *err, size_t errlen)
{
	struct itimerspec its = { .it_interval = { METRICS_PERIOD_S, 0 },
				  .it_value = { METRICS_PERIOD_S, 0 } };
	struct stat st;
	int fd, r;

	if (M.fd >= 0) {
		snprintf(err, errlen, "Reinitialization of metrics not allowed.");
		return -EBUSY;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENXIO)   /* a FIFO nobody reads yet */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "metrics_path: cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
				    S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))) {
		snprintf(err, errlen, "metrics_path: %s is not a file or a named pipe", path);
		close(fd);
		return -EINVAL;
	}
	M.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (M.timer_fd < 0 || timerfd_settime(M.timer_fd, 0, &its, NULL) < 0 ||
	    evloop_add(vmm->loop, M.timer_fd, EPOLLIN, on_timer, vmm) < 0) {
		r = -errno;
		snprintf(err, errlen, "metrics: cannot start the flush timer: %s", strerror(errno));
		if (M.timer_fd >= 0)
			close(M.timer_fd);
		M.timer_fd = -1;
		close(fd);
		return r ? r : -EIO;
	}
	M.fd = fd;
	log_info("metrics: writing to %s every %d s", path, METRICS_PERIOD_S);
	return 0;
}

void metrics_set_startup(uint64_t wall_us, uint64_t cpu_us)
{
	M.startup_us = wall_us;
	M.startup_cpu_us = cpu_us;
}

void metrics_set_pause_us(uint64_t us)
{
	M.pause_us = us;
}

void metrics_set_resume_us(uint64_t us)
{
	M.resume_us = us;
}

void metrics_set_snapshot_create_us(bool diff, uint64_t us)
{
	if (diff)
		M.snap_diff_us = us;
	else
		M.snap_full_us = us;
}

void metrics_set_snapshot_load_us(uint64_t us)
{
	M.snap_load_us = us;
}

void metrics_count_drive_update(bool ok)
{
	if (ok)
		M.drive_updates++;
	else
		M.drive_update_fails++;
}

void metrics_shutdown(struct vmm *vmm)
{
	if (M.fd >= 0)
		metrics_flush(vmm);
	if (M.timer_fd >= 0) {
		evloop_del(vmm->loop, M.timer_fd);
		close(M.timer_fd);
		M.timer_fd = -1;
	}
	if (M.fd >= 0)
		close(M.fd);
	M.fd = -1;
	free(M.tail);
	M.tail = NULL;
	free(M.prev);
	M.prev = NULL;
	M.nprev = M.capprev = 0;
}
