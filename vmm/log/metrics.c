/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.c — Firecracker-format metrics: gather the counters the
 * subsystems keep (api thread, vCPUs, virtio devices, serial, logger),
 * turn them into one JSON line and write it without ever blocking.
 *
 * The line is driven by Firecracker's schema (fc_groups[] below, the
 * groups and fields of tests/host_tools/fcmetrics.py in Firecracker's
 * order): every field is written, a field wisp does not count is 0, and a
 * counter wisp keeps under a name the schema does not have never reaches
 * the line (it is served by GET /wisp/metrics, metrics_wisp_json()).
 *
 * Counters (Firecracker's SharedIncMetric) are reported as the difference
 * since the last line that was actually written; "store" values
 * (SharedStoreMetric: start-up times, latencies, seccomp/signal flags,
 * min_us/max_us of latency aggregates) as they are. The previous values
 * are kept by name, so a drive that appears after boot simply starts from
 * zero. A per-device kind (block, net) has a "<kind>_<id>" group per
 * device and a "<kind>" group that is the sum of their deltas (its
 * aggregates have min_us = max_us = 0, as Firecracker's). A line that
 * cannot be written is counted in logger.missed_metrics_count and its
 * deltas roll into the next line.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
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

/* ---------------- Firecracker's schema ----------------
 * Fields ending in "_agg" are latency aggregates {min_us, max_us, sum_us}. */
#define F(...) (const char *const[]) { __VA_ARGS__, NULL }

static const char *const block_fields[] = {
	"activate_fails", "cfg_fails", "no_avail_buffer", "event_fails", "execute_fails",
	"invalid_reqs_count", "flush_count", "queue_event_count", "rate_limiter_event_count",
	"update_count", "update_fails", "read_bytes", "write_bytes", "read_count", "write_count",
	"read_agg", "write_agg", "rate_limiter_throttled_events", "io_engine_throttled_events",
	"remaining_reqs_count", NULL,
};
static const char *const net_fields[] = {
	"activate_fails", "cfg_fails", "no_rx_avail_buffer", "no_tx_avail_buffer", "event_fails",
	"rx_queue_event_count", "rx_event_rate_limiter_count", "rx_rate_limiter_throttled",
	"rx_tap_event_count", "rx_bytes_count", "rx_packets_count", "rx_fails", "rx_count",
	"tap_read_fails", "tap_write_fails", "tap_write_agg", "tx_bytes_count",
	"tx_malformed_frames", "tx_fails", "tx_count", "tx_packets_count", "tx_queue_event_count",
	"tx_rate_limiter_event_count", "tx_rate_limiter_throttled", "tx_spoofed_mac_count",
	"tx_remaining_reqs_count", NULL,
};

/* Where a group's values come from. */
enum source {
	SRC_ZERO,        /* nothing wisp has: all 0 */
	SRC_API,         /* get/put/patch request counters */
	SRC_DEVICE,      /* one device kind without ids (sum over its devices) */
	SRC_PER_DEVICE,  /* "<g>_<id>" per device, "<g>" = their sum */
	SRC_STATE,       /* metrics.c's own values (collect_state) */
};

struct fc_group {
	const char *name;
	const char *const *fields;
	enum source src;
	const struct device_ops *kind;   /* SRC_DEVICE / SRC_PER_DEVICE */
	bool store;                      /* every field is a store value */
};

static const struct fc_group fc_groups[] = {
	{ "api_server", F("process_startup_time_us", "process_startup_time_cpu_us"),
	  SRC_STATE, NULL, true },
	{ "balloon", F("activate_fails", "inflate_count", "stats_updates_count",
		       "stats_update_fails", "deflate_count", "event_fails", "free_page_report_count",
		       "free_page_report_freed", "free_page_report_fails", "free_page_hint_count",
		       "free_page_hint_freed", "free_page_hint_fails"),
	  SRC_DEVICE, &virtio_device_ops_balloon, false },
	{ "block", block_fields, SRC_PER_DEVICE, &virtio_device_ops_blk, false },
	{ "deprecated_api", F("deprecated_http_api_calls"), SRC_STATE, NULL, false },
	{ "get_api_requests", F("instance_info_count", "machine_cfg_count", "mmds_count",
				"vmm_version_count", "hotplug_memory_count"),
	  SRC_API, NULL, false },
	{ "i8042", F("error_count", "missed_read_count", "missed_write_count", "read_count",
		     "reset_count", "write_count"),
	  SRC_DEVICE, &i8042_device_ops, false },
	{ "uart", F("error_count", "flush_count", "missed_read_count", "missed_write_count",
		    "read_count", "write_count", "rate_limiter_dropped_bytes"),
	  SRC_DEVICE, &serial_device_ops, false },
	{ "latencies_us", F("full_create_snapshot", "diff_create_snapshot", "load_snapshot",
			    "pause_vm", "resume_vm", "vmm_full_create_snapshot",
			    "vmm_diff_create_snapshot", "vmm_load_snapshot", "vmm_pause_vm",
			    "vmm_resume_vm"),
	  SRC_STATE, NULL, true },
	{ "logger", F("missed_metrics_count", "metrics_fails", "missed_log_count",
		      "rate_limited_log_count"),
	  SRC_STATE, NULL, false },
	{ "mmds", F("rx_accepted", "rx_accepted_err", "rx_accepted_unusual", "rx_bad_eth",
		    "rx_invalid_token", "rx_no_token", "rx_count", "tx_bytes", "tx_count",
		    "tx_errors", "tx_frames", "connections_created", "connections_destroyed"),
	  SRC_ZERO, NULL, false },
	{ "net", net_fields, SRC_PER_DEVICE, &virtio_device_ops_net, false },
	{ "patch_api_requests", F("drive_count", "drive_fails", "network_count", "network_fails",
				  "machine_cfg_count", "machine_cfg_fails", "mmds_count",
				  "mmds_fails", "hotplug_memory_count", "hotplug_memory_fails",
				  "pmem_count", "pmem_fails"),
	  SRC_API, NULL, false },
	{ "put_api_requests", F("actions_count", "actions_fails", "boot_source_count",
				"boot_source_fails", "drive_count", "drive_fails", "logger_count",
				"logger_fails", "machine_cfg_count", "machine_cfg_fails",
				"cpu_cfg_count", "cpu_cfg_fails", "metrics_count", "metrics_fails",
				"network_count", "network_fails", "mmds_count", "mmds_fails",
				"vsock_count", "vsock_fails", "pmem_count", "pmem_fails",
				"serial_count", "serial_fails", "hotplug_memory_count",
				"hotplug_memory_fails"),
	  SRC_API, NULL, false },
	{ "seccomp", F("num_faults"), SRC_STATE, NULL, true },
	{ "vcpu", F("exit_io_in", "exit_io_out", "exit_mmio_read", "exit_mmio_write", "failures",
		    "kvmclock_ctrl_fails", "exit_io_in_agg", "exit_io_out_agg",
		    "exit_mmio_read_agg", "exit_mmio_write_agg"),
	  SRC_STATE, NULL, false },
	{ "vmm", F("panic_count"), SRC_ZERO, NULL, true },
	{ "signals", F("sigbus", "sigsegv", "sigxfsz", "sigxcpu", "sigpipe", "sighup", "sigill"),
	  SRC_STATE, NULL, true /* but sigpipe: is_store() */ },
	{ "vsock", F("activate_fails", "cfg_fails", "rx_queue_event_fails", "tx_queue_event_fails",
		     "ev_queue_event_fails", "muxer_event_fails", "conn_event_fails",
		     "rx_queue_event_count", "tx_queue_event_count", "rx_bytes_count",
		     "tx_bytes_count", "rx_packets_count", "tx_packets_count", "conns_added",
		     "conns_killed", "conns_removed", "killq_resync", "tx_flush_fails",
		     "tx_write_fails", "rx_read_fails"),
	  SRC_DEVICE, &virtio_device_ops_vsock, false },
	{ "entropy", F("activate_fails", "entropy_event_fails", "entropy_event_count",
		       "entropy_bytes", "host_rng_fails", "entropy_rate_limiter_throttled",
		       "rate_limiter_event_count"),
	  SRC_DEVICE, &virtio_device_ops_rng, false },
	{ "pmem", F("activate_fails", "cfg_fails", "event_fails", "queue_event_count",
		    "rate_limiter_throttled_events", "rate_limiter_event_count"),
	  SRC_ZERO, NULL, false },
	{ "interrupts", F("triggers", "config_updates"), SRC_STATE, NULL, false },
	{ "memory_hotplug", F("activate_fails", "queue_event_fails", "queue_event_count",
			      "plug_count", "plug_bytes", "plug_fails", "plug_agg", "unplug_count",
			      "unplug_bytes", "unplug_fails", "unplug_discard_fails", "unplug_agg",
			      "state_count", "state_fails", "state_agg", "unplug_all_count",
			      "unplug_all_fails", "unplug_all_agg"),
	  SRC_ZERO, NULL, false },
};

#define NGROUPS (sizeof(fc_groups) / sizeof(fc_groups[0]))

/* The kinds GET /wisp/metrics reports (every kind with a metrics section). */
static const struct device_ops *const metric_kinds[] = {
	&serial_device_ops, &i8042_device_ops, &virtio_device_ops_blk, &virtio_device_ops_net,
	&virtio_device_ops_rng, &virtio_device_ops_balloon, &virtio_device_ops_vsock,
};

/* ---------------- state ---------------- */

struct prev_value {
	char key[KEY_MAX];
	uint64_t committed;   /* value at the last written line */
	uint64_t pending;     /* value in the line being written */
};

#define DRIVE_UPDATES_MAX 64

static struct {
	int fd;               /* destination, -1 when not configured */
	int timer_fd;
	bool started;         /* the microVM ran: the timer is armed */
	bool emit_id;
	char id[VM_ID_MAX + 1];
	char *properties;     /* compact JSON object text, or NULL */
	char *tail;           /* rest of a line a full pipe took only in part */
	size_t tail_len, tail_off;
	struct prev_value *prev;
	size_t nprev, capprev;
	uint64_t startup_us, startup_cpu_us;
	uint64_t pause_us, resume_us, vmm_pause_us, vmm_resume_us;
	uint64_t snap_full_us, snap_diff_us, snap_load_us;
	uint64_t missed_lines, write_fails;
	struct {
		char id[VM_ID_MAX + 1];
		uint64_t ok, fails;
	} drive_updates[DRIVE_UPDATES_MAX];
	unsigned ndrive_updates;
} M = { .fd = -1, .timer_fd = -1 };

/* Written by signal handlers and other threads. */
static _Atomic uint64_t g_deprecated_calls, g_num_faults, g_sigpipe;
static _Atomic uint64_t g_sig[6];   /* sigbus sigsegv sigxfsz sigxcpu sighup sigill */
static const int sig_numbers[6] = { SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGHUP, SIGILL };
static const char *const sig_names[6] = { "sigbus", "sigsegv", "sigxfsz", "sigxcpu",
					  "sighup", "sigill" };

/* ---------------- collected values ---------------- */

#define COLL_MAX 96

/* A group's values by name: what the sources report (names may be
 * Firecracker's, "<agg>.min_us" style, or wisp's own). */
struct coll {
	struct metric_sink sink;
	unsigned n;
	const char *names[COLL_MAX];
	uint64_t values[COLL_MAX];
};

static void coll_put(struct metric_sink *sink, const char *name, uint64_t value)
{
	struct coll *c = (struct coll *)sink;

	for (unsigned i = 0; i < c->n; i++) {
		if (strcmp(c->names[i], name) == 0) {
			c->values[i] += value;
			return;
		}
	}
	if (c->n < COLL_MAX) {
		c->names[c->n] = name;
		c->values[c->n++] = value;
	}
}

static void coll_init(struct coll *c)
{
	c->n = 0;
	c->sink.put = coll_put;
}

static bool coll_get(const struct coll *c, const char *name, uint64_t *v)
{
	for (unsigned i = 0; c && i < c->n; i++) {
		if (strcmp(c->names[i], name) == 0) {
			*v = c->values[i];
			return true;
		}
	}
	return false;
}

/* ---------------- API request names ----------------
 * Each request kind gets a group and a base name: Firecracker's where it
 * has one ("PUT /drives" -> put_api_requests.drive_*), else derived from
 * the path ("PATCH /vm" -> patch_api_requests.vm_*, "GET /vm/config" ->
 * get_api_requests.vm_config_count). */
static const struct { const char *req, *base; } fc_request_names[] = {
	{ "GET /", "instance_info" }, { "GET /machine-config", "machine_cfg" },
	{ "GET /version", "vmm_version" }, { "GET /mmds", "mmds" },
	{ "GET /hotplug/memory", "hotplug_memory" },
	{ "PUT /actions", "actions" }, { "PUT /boot-source", "boot_source" },
	{ "PUT /drives", "drive" }, { "PUT /logger", "logger" },
	{ "PUT /machine-config", "machine_cfg" }, { "PUT /cpu-config", "cpu_cfg" },
	{ "PUT /metrics", "metrics" }, { "PUT /network-interfaces", "network" },
	{ "PUT /mmds", "mmds" }, { "PUT /vsock", "vsock" }, { "PUT /pmem", "pmem" },
	{ "PUT /serial", "serial" }, { "PUT /hotplug/memory", "hotplug_memory" },
	{ "PATCH /drives", "drive" }, { "PATCH /network-interfaces", "network" },
	{ "PATCH /machine-config", "machine_cfg" }, { "PATCH /mmds", "mmds" },
	{ "PATCH /hotplug/memory", "hotplug_memory" }, { "PATCH /pmem", "pmem" },
};

static struct {
	bool done;
	const char *group[API_REQ__COUNT];
	char count[API_REQ__COUNT][64];
	char fails[API_REQ__COUNT][64];
} N;

static void request_names_init(void)
{
	if (N.done)
		return;
	for (int k = 0; k < API_REQ__COUNT; k++) {
		const char *name = api_request_name((enum api_request_kind)k), *path;
		char base[48] = "";
		size_t i;

		N.group[k] = NULL;
		path = name ? strchr(name, ' ') : NULL;
		if (!path)
			continue;
		if (!strncmp(name, "GET ", 4))
			N.group[k] = "get_api_requests";
		else if (!strncmp(name, "PUT ", 4))
			N.group[k] = "put_api_requests";
		else if (!strncmp(name, "PATCH ", 6))
			N.group[k] = "patch_api_requests";
		else
			continue;
		for (i = 0; i < sizeof(fc_request_names) / sizeof(fc_request_names[0]); i++)
			if (!strcmp(fc_request_names[i].req, name))
				snprintf(base, sizeof(base), "%s", fc_request_names[i].base);
		if (!base[0]) {
			size_t n = 0;

			for (const char *p = path + 2; *p && n < sizeof(base) - 1; p++)
				if (*p != '{' && *p != '}')
					base[n++] = (*p == '/' || *p == '-') ? '_' : *p;
			base[n] = 0;
			while (n && base[n - 1] == '_')
				base[--n] = 0;
		}
		snprintf(N.count[k], sizeof(N.count[k]), "%s_count", base[0] ? base : "root");
		snprintf(N.fails[k], sizeof(N.fails[k]), "%s_fails", base[0] ? base : "root");
	}
	N.done = true;
}

/* ---------------- collecting ---------------- */

static void collect_api(struct vmm *vmm, const char *group, struct coll *c)
{
	struct api_stats st;

	memset(&st, 0, sizeof(st));
	if (vmm && vmm->api)
		api_server_get_stats(vmm->api, &st);
	request_names_init();
	for (int k = 0; k < API_REQ__COUNT; k++) {
		if (!N.group[k] || strcmp(N.group[k], group))
			continue;
		coll_put(&c->sink, N.count[k], st.count[k]);
		if (strcmp(group, "get_api_requests"))
			coll_put(&c->sink, N.fails[k], st.fails[k]);
	}
}

/* A latency aggregate over the vCPUs: the smallest non-zero min, the
 * largest max, the sum of the sums (names: static "<agg>.min_us"...). */
static void put_agg(struct coll *c, const char *const names[3], const struct exit_agg *a[],
		    unsigned n)
{
	uint64_t mn = 0, mx = 0, sum = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t lo = a[i]->min_us, hi = a[i]->max_us;

		sum += a[i]->sum_us;
		if (lo && (!mn || lo < mn))
			mn = lo;
		if (hi > mx)
			mx = hi;
	}
	coll_put(&c->sink, names[0], mn);
	coll_put(&c->sink, names[1], mx);
	coll_put(&c->sink, names[2], sum);
}

#define AGG_NAMES(a) ((const char *const[3]) { a ".min_us", a ".max_us", a ".sum_us" })

static void collect_vcpu(struct vmm *vmm, struct coll *c)
{
	uint64_t in = 0, out = 0, rd = 0, wr = 0, hlt = 0, other = 0, fails = 0;
	const struct exit_agg *a_in[VM_MAX_VCPUS], *a_out[VM_MAX_VCPUS], *a_rd[VM_MAX_VCPUS],
		*a_wr[VM_MAX_VCPUS];
	unsigned n = 0;

	if (vmm && vmm->vm) {
		for (unsigned i = 0; i < vmm->vm->nr_vcpus && n < VM_MAX_VCPUS; i++, n++) {
			const struct vcpu *v = &vmm->vm->vcpus[i];

			in += v->exits_io_in;
			out += v->exits_io_out;
			rd += v->exits_mmio_read;
			wr += v->exits_mmio_write;
			hlt += v->exits_hlt;
			other += v->exits_other;
			fails += v->failures;
			a_in[n] = &v->agg_io_in;
			a_out[n] = &v->agg_io_out;
			a_rd[n] = &v->agg_mmio_read;
			a_wr[n] = &v->agg_mmio_write;
		}
	}
	coll_put(&c->sink, "exit_io_in", in);
	coll_put(&c->sink, "exit_io_out", out);
	coll_put(&c->sink, "exit_mmio_read", rd);
	coll_put(&c->sink, "exit_mmio_write", wr);
	coll_put(&c->sink, "failures", fails);
	coll_put(&c->sink, "kvmclock_ctrl_fails", 0);
	put_agg(c, AGG_NAMES("exit_io_in_agg"), a_in, n);
	put_agg(c, AGG_NAMES("exit_io_out_agg"), a_out, n);
	put_agg(c, AGG_NAMES("exit_mmio_read_agg"), a_rd, n);
	put_agg(c, AGG_NAMES("exit_mmio_write_agg"), a_wr, n);
	coll_put(&c->sink, "exit_hlt", hlt);
	coll_put(&c->sink, "exit_other", other);
}

static void collect_drive_updates(const char *id, struct coll *c)
{
	for (unsigned i = 0; i < M.ndrive_updates; i++) {
		if (!strcmp(M.drive_updates[i].id, id)) {
			coll_put(&c->sink, "update_count", M.drive_updates[i].ok);
			coll_put(&c->sink, "update_fails", M.drive_updates[i].fails);
		}
	}
}

/* One device's own values (a drive's update counters included). */
static void collect_device(const struct device *d, struct coll *c)
{
	coll_init(c);
	d->ops->metrics(d->dev, &c->sink);
	if (d->ops == &virtio_device_ops_blk)
		collect_drive_updates(d->id, c);
}

/* Everything the virtio transports raised (interrupts.triggers). */
static uint64_t interrupt_triggers(struct vmm *vmm)
{
	struct device_list *list = vmm && vmm->vm ? &vmm->vm->devices : NULL;
	uint64_t sum = 0, v;
	struct coll c;

	for (unsigned i = 0; list && i < list->nr; i++) {
		if (!list->devs[i].ops->metrics || !list->devs[i].ops->metrics_section)
			continue;
		collect_device(&list->devs[i], &c);
		if (coll_get(&c, "interrupt_triggers", &v))
			sum += v;
	}
	return sum;
}

/* metrics.c's own values and the process-wide ones. `full`: also the ones
 * that need the VM (not from a signal handler). */
static void collect_state(struct vmm *vmm, const char *group, struct coll *c, bool full)
{
	coll_init(c);
	if (!strcmp(group, "api_server")) {
		coll_put(&c->sink, "process_startup_time_us", M.startup_us);
		coll_put(&c->sink, "process_startup_time_cpu_us", M.startup_cpu_us);
	} else if (!strcmp(group, "deprecated_api")) {
		coll_put(&c->sink, "deprecated_http_api_calls", g_deprecated_calls);
	} else if (!strcmp(group, "latencies_us")) {
		coll_put(&c->sink, "full_create_snapshot", M.snap_full_us);
		coll_put(&c->sink, "diff_create_snapshot", M.snap_diff_us);
		coll_put(&c->sink, "load_snapshot", M.snap_load_us);
		coll_put(&c->sink, "pause_vm", M.pause_us);
		coll_put(&c->sink, "resume_vm", M.resume_us);
		coll_put(&c->sink, "vmm_full_create_snapshot", M.snap_full_us);
		coll_put(&c->sink, "vmm_diff_create_snapshot", M.snap_diff_us);
		coll_put(&c->sink, "vmm_load_snapshot", M.snap_load_us);
		coll_put(&c->sink, "vmm_pause_vm", M.vmm_pause_us);
		coll_put(&c->sink, "vmm_resume_vm", M.vmm_resume_us);
	} else if (!strcmp(group, "logger")) {
		coll_put(&c->sink, "missed_metrics_count", M.missed_lines);
		coll_put(&c->sink, "metrics_fails", M.write_fails);
		coll_put(&c->sink, "missed_log_count", log_missed_lines());
		coll_put(&c->sink, "rate_limited_log_count", log_suppressed_lines());
	} else if (!strcmp(group, "seccomp")) {
		coll_put(&c->sink, "num_faults", g_num_faults);
	} else if (!strcmp(group, "signals")) {
		for (unsigned i = 0; i < 6; i++)
			coll_put(&c->sink, sig_names[i], g_sig[i]);
		coll_put(&c->sink, "sigpipe", g_sigpipe);
	} else if (!strcmp(group, "vcpu") && full) {
		collect_vcpu(vmm, c);
	} else if (!strcmp(group, "interrupts") && full) {
		coll_put(&c->sink, "triggers", interrupt_triggers(vmm));
		coll_put(&c->sink, "config_updates", 0);
	}
}

/* ---------------- deltas ---------------- */

static struct prev_value *prev_find(const char *key)
{
	for (size_t i = 0; i < M.nprev; i++)
		if (strcmp(M.prev[i].key, key) == 0)
			return &M.prev[i];
	return NULL;
}

static struct prev_value *prev_slot(const char *key)
{
	struct prev_value *p = prev_find(key);

	if (p)
		return p;
	if (M.nprev == M.capprev) {
		size_t cap = M.capprev ? M.capprev * 2 : 256;
		struct prev_value *np = realloc(M.prev, cap * sizeof(*np));

		if (!np)
			return NULL;
		M.prev = np;
		M.capprev = cap;
	}
	memset(&M.prev[M.nprev], 0, sizeof(M.prev[0]));
	snprintf(M.prev[M.nprev].key, KEY_MAX, "%s", key);
	return &M.prev[M.nprev++];
}

/* cur - value at the last written line (keyed by group.field); the new
 * value becomes pending. */
static uint64_t delta(const char *group, const char *field, uint64_t cur)
{
	char key[KEY_MAX];
	struct prev_value *p;
	uint64_t d = cur;

	snprintf(key, sizeof(key), "%s.%s", group, field);
	p = prev_slot(key);
	if (p) {
		/* A counter that went backwards belongs to a new device. */
		d = cur >= p->committed ? cur - p->committed : cur;
		p->pending = cur;
	}
	return d;
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

/* ---------------- the line (no allocation while writing it) ---------------- */

struct out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void out_raw(struct out *o, const char *s, size_t n)
{
	if (o->overflow || o->len + n >= o->cap) {
		o->overflow = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void out_str(struct out *o, const char *s)
{
	out_raw(o, s, strlen(s));
}

static void out_u64(struct out *o, uint64_t v)
{
	char tmp[24];
	size_t n = sizeof(tmp);

	do {
		tmp[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_raw(o, tmp + n, sizeof(tmp) - n);
}

/* ,"key": (first: no comma) */
static void out_key(struct out *o, const char *key, bool *first)
{
	if (!*first)
		out_raw(o, ",", 1);
	*first = false;
	out_raw(o, "\"", 1);
	out_str(o, key);
	out_raw(o, "\":", 2);
}

static bool is_agg(const char *field)
{
	size_t n = strlen(field);

	return n > 4 && !strcmp(field + n - 4, "_agg");
}

static bool is_store(const struct fc_group *g, const char *field)
{
	return g->store && strcmp(field, "sigpipe") != 0;
}

/* One group's values, Firecracker's fields only: from `c` (NULL: all 0).
 * `deltas`: counters become deltas (else 0 from a signal handler, which
 * cannot keep the delta table). `sum`: add each value written to it (the
 * per-device groups make their kind's sum). */
static void emit_group(struct out *o, const struct fc_group *g, const char *name,
		       const struct coll *c, bool deltas, struct coll *sum)
{
	bool first = true;
	char sub[KEY_MAX];

	for (const char *const *f = g->fields; *f; f++) {
		uint64_t v = 0;

		out_key(o, *f, &first);
		if (is_agg(*f)) {
			static const char *const parts[] = { "min_us", "max_us", "sum_us" };
			bool pf = true;

			out_raw(o, "{", 1);
			for (unsigned i = 0; i < 3; i++) {
				v = 0;
				snprintf(sub, sizeof(sub), "%s.%s", *f, parts[i]);
				coll_get(c, sub, &v);
				if (i == 2)
					v = deltas ? delta(name, sub, v) : 0;
				if (sum && i == 2)
					coll_put(&sum->sink, *f, v);   /* sum_us under the agg's name */
				out_key(o, parts[i], &pf);
				out_u64(o, v);
			}
			out_raw(o, "}", 1);
			continue;
		}
		coll_get(c, *f, &v);
		if (!is_store(g, *f))
			v = deltas ? delta(name, *f, v) : 0;
		if (sum)
			coll_put(&sum->sink, *f, v);
		out_u64(o, v);
	}
}

/* The aggregate of a per-device kind: the per-device deltas summed; an
 * aggregate's min_us and max_us are 0 (as Firecracker's). */
static void emit_sum_group(struct out *o, const struct fc_group *g, const struct coll *sum)
{
	bool first = true;

	for (const char *const *f = g->fields; *f; f++) {
		uint64_t v = 0;

		out_key(o, *f, &first);
		coll_get(sum, *f, &v);
		if (is_agg(*f)) {
			bool pf = true;

			out_raw(o, "{", 1);
			out_key(o, "min_us", &pf);
			out_u64(o, 0);
			out_key(o, "max_us", &pf);
			out_u64(o, 0);
			out_key(o, "sum_us", &pf);
			out_u64(o, v);
			out_raw(o, "}", 1);
			continue;
		}
		out_u64(o, v);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Build the line into o. vmm NULL: from a signal handler (no device, API or
 * vCPU values, no delta table). */
static void build_line(struct out *o, struct vmm *vmm)
{
	struct device_list *list = vmm && vmm->vm ? &vmm->vm->devices : NULL;
	bool first = true, full = vmm != NULL;
	char sec[KEY_MAX];

	out_raw(o, "{", 1);
	out_key(o, "utc_timestamp_ms", &first);
	out_u64(o, now_ms());
	if (M.emit_id) {
		out_key(o, "id", &first);
		out_raw(o, "\"", 1);
		out_str(o, M.id);   /* an instance id: [A-Za-z0-9-]+ */
		out_raw(o, "\"", 1);
	}
	if (M.properties) {
		out_key(o, "properties", &first);
		out_str(o, M.properties);
	}
	for (size_t gi = 0; gi < NGROUPS; gi++) {
		const struct fc_group *g = &fc_groups[gi];
		struct coll c, sum;

		coll_init(&c);
		coll_init(&sum);
		switch (g->src) {
		case SRC_ZERO:
			break;
		case SRC_API:
			if (full)
				collect_api(vmm, g->name, &c);
			break;
		case SRC_STATE:
			collect_state(vmm, g->name, &c, full);
			break;
		case SRC_DEVICE:
			g->kind->metrics(NULL, &c.sink);
			for (unsigned i = 0; full && list && i < list->nr; i++) {
				struct coll one;

				if (list->devs[i].ops != g->kind)
					continue;
				collect_device(&list->devs[i], &one);
				for (unsigned j = 0; j < one.n; j++)
					coll_put(&c.sink, one.names[j], one.values[j]);
			}
			break;
		case SRC_PER_DEVICE:
			for (unsigned i = 0; full && list && i < list->nr; i++) {
				struct coll one;

				if (list->devs[i].ops != g->kind || !list->devs[i].id[0])
					continue;
				collect_device(&list->devs[i], &one);
				snprintf(sec, sizeof(sec), "%s_%s", g->name, list->devs[i].id);
				out_key(o, sec, &first);
				out_raw(o, "{", 1);
				emit_group(o, g, sec, &one, true, &sum);
				out_raw(o, "}", 1);
			}
			out_key(o, g->name, &first);
			out_raw(o, "{", 1);
			emit_sum_group(o, g, &sum);
			out_raw(o, "}", 1);
			continue;
		}
		out_key(o, g->name, &first);
		out_raw(o, "{", 1);
		emit_group(o, g, g->name, &c, full, NULL);
		out_raw(o, "}", 1);
	}
	out_raw(o, "}\n", 2);
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

/* The line as a malloc'd string (NULL: no memory). */
static char *line_text(struct vmm *vmm, size_t *len)
{
	struct out o = { .cap = 64 * 1024 };

	for (;;) {
		o.buf = malloc(o.cap);
		if (!o.buf)
			return NULL;
		o.len = 0;
		o.overflow = false;
		reset_pending();
		build_line(&o, vmm);
		if (!o.overflow)
			break;
		free(o.buf);
		o.cap *= 2;
	}
	o.buf[o.len] = 0;
	*len = o.len;
	return o.buf;
}

/* Set while metrics_flush builds and writes a line, so that a fatal
 * signal's last line (metrics_flush_from_signal, another thread) waits for
 * it instead of building its line from half-updated state beside it. */
static atomic_int g_flushing;

static int flush_locked(struct vmm *vmm);

int metrics_flush(struct vmm *vmm)
{
	int r;

	atomic_store(&g_flushing, 1);
	r = flush_locked(vmm);
	atomic_store(&g_flushing, 0);
	return r;
}

static int flush_locked(struct vmm *vmm)
{
	size_t len = 0;
	char *line;
	ssize_t n;

	if (M.fd < 0)
		return -ENODEV;
	n = finish_tail();
	if (n == 0) {
		line = line_text(vmm, &len);
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

void metrics_note_signal(int signo)
{
	if (signo == SIGSYS) {
		g_num_faults = 1;
		return;
	}
	if (signo == SIGPIPE) {
		g_sigpipe++;
		return;
	}
	for (unsigned i = 0; i < 6; i++)
		if (sig_numbers[i] == signo)
			g_sig[i] = 1;
}

int metrics_flush_from_signal(void)
{
	static char buf[32 * 1024];
	struct out o = { .buf = buf, .cap = sizeof(buf) };
	int fd = M.fd;
	size_t off = 0;

	if (fd < 0)
		return -ENODEV;
	/* Another thread's flush ends in well under 200 ms; if this thread was
	 * the one flushing (the signal interrupted it), go on after that. */
	{
		struct timespec t0, t;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		while (atomic_load(&g_flushing)) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) >
			    200000000L)
				break;
			__builtin_ia32_pause();
		}
	}
	build_line(&o, NULL);
	if (o.overflow)
		return -ENOSPC;
	/* A line left in part by a full pipe: end it first (a torn line is
	 * still better than none at exit). */
	if (M.tail)
		(void)!write(fd, "\n", 1);
	while (off < o.len) {
		ssize_t n = write(fd, buf + off, o.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		off += (size_t)n;
	}
	return 0;
}

/* ---------------- GET /wisp/metrics ---------------- */

static json_t *coll_json(const struct coll *c)
{
	json_t *o = json_object();

	for (unsigned i = 0; o && i < c->n; i++) {
		const char *dot = strchr(c->names[i], '.');

		if (dot) {   /* "read_agg.min_us" -> {"read_agg": {"min_us": ..}} */
			char agg[64];
			json_t *sub;

			snprintf(agg, sizeof(agg), "%.*s", (int)(dot - c->names[i]), c->names[i]);
			sub = json_object_get(o, agg);
			if (!sub) {
				sub = json_object();
				json_object_set_new(o, agg, sub);
			}
			json_object_set_new(sub, dot + 1, json_integer((json_int_t)c->values[i]));
			continue;
		}
		json_object_set_new(o, c->names[i], json_integer((json_int_t)c->values[i]));
	}
	return o;
}

char *metrics_wisp_json(struct vmm *vmm)
{
	struct device_list *list = vmm->vm ? &vmm->vm->devices : NULL;
	static const char *const state_groups[] = { "api_server", "deprecated_api", "latencies_us",
						    "logger", "seccomp", "signals", "vcpu",
						    "interrupts" };
	json_t *root = json_object();
	struct api_stats st;
	char sec[KEY_MAX];
	struct coll c;
	char *text;

	if (!root)
		return NULL;
	for (size_t i = 0; i < sizeof(state_groups) / sizeof(state_groups[0]); i++) {
		collect_state(vmm, state_groups[i], &c, true);
		if (!strcmp(state_groups[i], "api_server")) {
			memset(&st, 0, sizeof(st));
			if (vmm->api)
				api_server_get_stats(vmm->api, &st);
			coll_put(&c.sink, "connections", st.connections);
			coll_put(&c.sink, "refused_connections", st.refused_connections);
			coll_put(&c.sink, "bad_requests", st.bad_requests);
			coll_put(&c.sink, "unsupported_requests", st.unsupported);
		}
		json_object_set_new(root, state_groups[i], coll_json(&c));
	}
	coll_init(&c);
	collect_api(vmm, "get_api_requests", &c);
	json_object_set_new(root, "get_api_requests", coll_json(&c));
	coll_init(&c);
	collect_api(vmm, "put_api_requests", &c);
	json_object_set_new(root, "put_api_requests", coll_json(&c));
	coll_init(&c);
	collect_api(vmm, "patch_api_requests", &c);
	json_object_set_new(root, "patch_api_requests", coll_json(&c));
	for (size_t k = 0; k < sizeof(metric_kinds) / sizeof(metric_kinds[0]); k++) {
		const struct device_ops *ops = metric_kinds[k];
		struct coll sum;

		coll_init(&sum);
		ops->metrics(NULL, &sum.sink);   /* every key, even without a device */
		for (unsigned i = 0; list && i < list->nr; i++) {
			struct coll one;

			if (list->devs[i].ops != ops)
				continue;
			collect_device(&list->devs[i], &one);
			for (unsigned j = 0; j < one.n; j++) {
				/* An aggregate's min/max do not add up. */
				if (strstr(one.names[j], ".min_us") || strstr(one.names[j], ".max_us"))
					continue;
				coll_put(&sum.sink, one.names[j], one.values[j]);
			}
			if (list->devs[i].id[0]) {
				snprintf(sec, sizeof(sec), "%s_%s", ops->metrics_section,
					 list->devs[i].id);
				json_object_set_new(root, sec, coll_json(&one));
			}
		}
		json_object_set_new(root, ops->metrics_section, coll_json(&sum));
	}
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* ---------------- setup ---------------- */

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

int metrics_init(struct vmm *vmm, const struct metrics_config *cfg, char *err, size_t errlen)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };   /* armed when the VM runs */
	const char *path = cfg->metrics_path;
	char *props = NULL;
	struct stat st;
	int fd, r;

	if (M.fd >= 0) {
		snprintf(err, errlen, "Reinitialization of metrics not allowed.");
		return -EBUSY;
	}
	if (cfg->properties[0] && !(props = strdup(cfg->properties))) {
		snprintf(err, errlen, "metrics: out of memory");
		return -ENOMEM;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_NONBLOCK | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENXIO)   /* a FIFO nobody reads yet */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		/* Firecracker's io::Error text, then the path. */
		snprintf(err, errlen, "%s (os error %d) (metrics_path: cannot open %s)",
			 strerror(errno), errno, path);
		free(props);
		return r;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) ||
				    S_ISCHR(st.st_mode) || S_ISSOCK(st.st_mode))) {
		snprintf(err, errlen, "metrics_path: %s is not a file or a named pipe", path);
		close(fd);
		free(props);
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
		free(props);
		return r ? r : -EIO;
	}
	M.emit_id = cfg->emit_id;
	snprintf(M.id, sizeof(M.id), "%s",
		 vmm->args && vmm->args->id[0] ? vmm->args->id : "anonymous-instance");
	M.properties = props;
	M.fd = fd;
	log_info("metrics: writing to %s when the microVM starts, then every %d s", path,
		 METRICS_PERIOD_S);
	if (vmm->vm)   /* configured after the start (the document of a restore) */
		metrics_vm_started(vmm);
	return 0;
}

void metrics_vm_started(struct vmm *vmm)
{
	struct itimerspec its = { .it_interval = { METRICS_PERIOD_S, 0 },
				  .it_value = { METRICS_PERIOD_S, 0 } };

	if (M.fd < 0 || M.timer_fd < 0 || M.started)
		return;
	M.started = true;
	if (timerfd_settime(M.timer_fd, 0, &its, NULL) < 0)
		log_error("metrics: cannot arm the flush timer: %s", strerror(errno));
	(void)metrics_flush(vmm);
}

void metrics_set_startup(uint64_t wall_us, uint64_t cpu_us)
{
	M.startup_us = wall_us;
	M.startup_cpu_us = cpu_us;
}

void metrics_set_pause_us(uint64_t request_us, uint64_t vmm_us)
{
	M.pause_us = request_us;
	M.vmm_pause_us = vmm_us;
}

void metrics_set_resume_us(uint64_t request_us, uint64_t vmm_us)
{
	M.resume_us = request_us;
	M.vmm_resume_us = vmm_us;
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

void metrics_count_drive_update(const char *drive_id, bool ok)
{
	unsigned i;

	for (i = 0; i < M.ndrive_updates; i++)
		if (!strcmp(M.drive_updates[i].id, drive_id))
			break;
	if (i == M.ndrive_updates) {
		if (i == DRIVE_UPDATES_MAX)
			return;
		snprintf(M.drive_updates[i].id, sizeof(M.drive_updates[i].id), "%s", drive_id);
		M.ndrive_updates++;
	}
	if (ok)
		M.drive_updates[i].ok++;
	else
		M.drive_updates[i].fails++;
}

void metrics_count_deprecated_api_call(void)
{
	g_deprecated_calls++;
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
	free(M.properties);
	M.properties = NULL;
}
