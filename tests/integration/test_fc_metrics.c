/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_metrics.c — Firecracker's functional/test_metrics.py and
 * functional/test_pause_resume.py, re-expressed against build/wisp with the
 * test guest: each metrics line validates against Firecracker's schema
 * (a C re-implementation of tests/host_tools/fcmetrics.py's
 * validate_fc_metrics and FcDeviceMetrics, against the list of groups and
 * fields below), per-device groups add up to their aggregate, `emit_id`
 * and `properties`, PATCH /vm before boot and twice, the pause latencies;
 * and wisp's own counters, which are not in the line, at GET /wisp/metrics.
 */
#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_metrics.h"
#include "it_virtio_util.h"
#include "it_wisp.h"

#define GUEST_MS 60000
#define NOT_BEFORE "The requested operation is not supported before starting the microVM."

/* ------------------------------------------------------------------ */
/* Firecracker 1.17's metrics schema (fcmetrics.py), x86_64: "group:field
 * field ...", a field ending in "_agg" is {min_us, max_us, sum_us}.       */
/* ------------------------------------------------------------------ */
#define BLOCK_FIELDS                                                                       \
	"activate_fails cfg_fails no_avail_buffer event_fails execute_fails "              \
	"invalid_reqs_count flush_count queue_event_count rate_limiter_event_count "       \
	"update_count update_fails read_bytes write_bytes read_count write_count "         \
	"rate_limiter_throttled_events io_engine_throttled_events remaining_reqs_count "   \
	"read_agg write_agg"
#define NET_FIELDS                                                                         \
	"activate_fails cfg_fails no_rx_avail_buffer no_tx_avail_buffer event_fails "      \
	"rx_queue_event_count rx_event_rate_limiter_count rx_rate_limiter_throttled "      \
	"rx_tap_event_count rx_bytes_count rx_packets_count rx_fails rx_count "            \
	"tap_read_fails tap_write_fails tx_bytes_count tx_malformed_frames tx_fails "      \
	"tx_count tx_packets_count tx_queue_event_count tx_rate_limiter_event_count "      \
	"tx_rate_limiter_throttled tx_spoofed_mac_count tx_remaining_reqs_count "          \
	"tap_write_agg"

static const char *const schema[] = {
	"api_server:process_startup_time_us process_startup_time_cpu_us",
	"balloon:activate_fails inflate_count stats_updates_count stats_update_fails "
	"deflate_count event_fails free_page_report_count free_page_report_freed "
	"free_page_report_fails free_page_hint_count free_page_hint_freed free_page_hint_fails",
	"block:" BLOCK_FIELDS,
	"deprecated_api:deprecated_http_api_calls",
	"get_api_requests:instance_info_count machine_cfg_count mmds_count vmm_version_count "
	"hotplug_memory_count",
	"i8042:error_count missed_read_count missed_write_count read_count reset_count write_count",
	"latencies_us:full_create_snapshot diff_create_snapshot load_snapshot pause_vm resume_vm "
	"vmm_full_create_snapshot vmm_diff_create_snapshot vmm_load_snapshot vmm_pause_vm "
	"vmm_resume_vm",
	"logger:missed_metrics_count metrics_fails missed_log_count rate_limited_log_count",
	"mmds:rx_accepted rx_accepted_err rx_accepted_unusual rx_bad_eth rx_invalid_token "
	"rx_no_token rx_count tx_bytes tx_count tx_errors tx_frames connections_created "
	"connections_destroyed",
	"net:" NET_FIELDS,
	"patch_api_requests:drive_count drive_fails network_count network_fails machine_cfg_count "
	"machine_cfg_fails mmds_count mmds_fails hotplug_memory_count hotplug_memory_fails "
	"pmem_count pmem_fails",
	"put_api_requests:actions_count actions_fails boot_source_count boot_source_fails "
	"drive_count drive_fails logger_count logger_fails machine_cfg_count machine_cfg_fails "
	"cpu_cfg_count cpu_cfg_fails metrics_count metrics_fails network_count network_fails "
	"mmds_count mmds_fails vsock_count vsock_fails pmem_count pmem_fails serial_count "
	"serial_fails hotplug_memory_count hotplug_memory_fails",
	"seccomp:num_faults",
	"vcpu:exit_io_in exit_io_out exit_mmio_read exit_mmio_write failures kvmclock_ctrl_fails "
	"exit_io_in_agg exit_io_out_agg exit_mmio_read_agg exit_mmio_write_agg",
	"vmm:panic_count",
	"uart:error_count flush_count missed_read_count missed_write_count read_count write_count "
	"rate_limiter_dropped_bytes",
	"signals:sigbus sigsegv sigxfsz sigxcpu sigpipe sighup sigill",
	"vsock:activate_fails cfg_fails rx_queue_event_fails tx_queue_event_fails "
	"ev_queue_event_fails muxer_event_fails conn_event_fails rx_queue_event_count "
	"tx_queue_event_count rx_bytes_count tx_bytes_count rx_packets_count tx_packets_count "
	"conns_added conns_killed conns_removed killq_resync tx_flush_fails tx_write_fails "
	"rx_read_fails",
	"entropy:activate_fails entropy_event_fails entropy_event_count entropy_bytes "
	"host_rng_fails entropy_rate_limiter_throttled rate_limiter_event_count",
	"interrupts:triggers config_updates",
	"pmem:activate_fails cfg_fails event_fails queue_event_count "
	"rate_limiter_throttled_events rate_limiter_event_count",
	"memory_hotplug:activate_fails queue_event_fails queue_event_count plug_count plug_bytes "
	"plug_fails plug_agg unplug_count unplug_bytes unplug_fails unplug_discard_fails "
	"unplug_agg state_count state_fails state_agg unplug_all_count unplug_all_fails "
	"unplug_all_agg",
	/* Only when such a device exists (FcDeviceMetrics' dynamic entries). */
	"block_*:" BLOCK_FIELDS,
	"net_*:" NET_FIELDS,
	"vhost_user_*:activate_fails cfg_fails init_time_us activate_time_us config_change_time_us",
	NULL,
};

/* The schema's fields of `group` (a space-separated list), or NULL. */
static const char *schema_fields(const char *group, bool *dynamic)
{
	for (const char *const *s = schema; *s; s++) {
		const char *colon = strchr(*s, ':');
		size_t n = (size_t)(colon - *s);

		if (n > 2 && !strncmp(*s + n - 2, "_*", 2)) {
			if (!strncmp(group, *s, n - 1) && strlen(group) > n - 1) {
				*dynamic = true;
				return colon + 1;
			}
			continue;
		}
		if (strlen(group) == n && !strncmp(group, *s, n)) {
			*dynamic = false;
			return colon + 1;
		}
	}
	return NULL;
}

static bool is_agg(const char *f)
{
	size_t n = strlen(f);

	return n > 4 && !strcmp(f + n - 4, "_agg");
}

/* One group against its field list: every field a number (an aggregate an
 * object of exactly min_us/max_us/sum_us), none extra. 0 or -1 with err. */
static int check_group(const char *gname, json_t *g, const char *fields, char *err, size_t len)
{
	char copy[4096], *save = NULL;
	size_t nfields = 0;

	if (!json_is_object(g)) {
		snprintf(err, len, "'%s' is not an object", gname);
		return -1;
	}
	snprintf(copy, sizeof(copy), "%s", fields);
	for (char *f = strtok_r(copy, " ", &save); f; f = strtok_r(NULL, " ", &save)) {
		json_t *v = json_object_get(g, f);

		nfields++;
		if (!v) {
			snprintf(err, len, "'%s' is a required property (in %s)", f, gname);
			return -1;
		}
		if (is_agg(f)) {
			static const char *const parts[] = { "min_us", "max_us", "sum_us" };

			if (!json_is_object(v) || json_object_size(v) != 3) {
				snprintf(err, len, "%s.%s is not {min_us,max_us,sum_us}", gname, f);
				return -1;
			}
			for (int i = 0; i < 3; i++)
				if (!json_is_number(json_object_get(v, parts[i]))) {
					snprintf(err, len, "%s.%s.%s missing", gname, f, parts[i]);
					return -1;
				}
		} else if (!json_is_number(v)) {
			snprintf(err, len, "%s.%s is not a number", gname, f);
			return -1;
		}
	}
	if (json_object_size(g) != nfields) {
		const char *k;
		json_t *v;

		json_object_foreach(g, k, v) {
			char pad[80];

			snprintf(pad, sizeof(pad), " %s ", k);
			snprintf(copy, sizeof(copy), " %s ", fields);
			if (!strstr(copy, pad)) {
				snprintf(err, len, "Additional properties are not allowed ('%s' was "
					 "unexpected in %s)", k, gname);
				return -1;
			}
		}
	}
	return 0;
}

/* validate_fc_metrics(): 0, or -1 and why. */
static int validate_fc_metrics(json_t *m, char *err, size_t len)
{
	struct timespec ts;
	long long now, stamp;
	const char *k;
	json_t *v;

	if (!json_is_object(m)) {
		snprintf(err, len, "not an object");
		return -1;
	}
	v = json_object_get(m, "utc_timestamp_ms");
	if (!json_is_integer(v)) {
		snprintf(err, len, "'utc_timestamp_ms' is a required property");
		return -1;
	}
	/* "the reported utc_timestamp_ms is actually a UTC timestamp" (< 1 s). */
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	stamp = (long long)json_integer_value(v);
	if (llabs(now - stamp) >= 1000) {
		snprintf(err, len, "utc_timestamp_ms %lld is %lld ms from now", stamp, now - stamp);
		return -1;
	}
	for (const char *const *s = schema; *s; s++) {
		char g[64];
		size_t n = (size_t)(strchr(*s, ':') - *s);

		snprintf(g, sizeof(g), "%.*s", (int)n, *s);
		if (strchr(g, '*'))
			continue;
		if (!json_object_get(m, g)) {
			snprintf(err, len, "'%s' is a required property", g);
			return -1;
		}
	}
	json_object_foreach(m, k, v) {
		bool dynamic = false;
		const char *fields;

		if (!strcmp(k, "utc_timestamp_ms"))
			continue;
		if (!strcmp(k, "id")) {   /* MetricsConfig.emit_id */
			if (!json_is_string(v)) {
				snprintf(err, len, "id is not a string");
				return -1;
			}
			continue;
		}
		if (!strcmp(k, "properties")) {   /* MetricsConfig.properties */
			const char *pk;
			json_t *pv;

			if (!json_is_object(v)) {
				snprintf(err, len, "properties is not an object");
				return -1;
			}
			json_object_foreach(v, pk, pv)
				if (!json_is_string(pv)) {
					snprintf(err, len, "properties.%s is not a string", pk);
					return -1;
				}
			continue;
		}
		fields = schema_fields(k, &dynamic);
		if (!fields) {
			snprintf(err, len, "Additional properties are not allowed ('%s' was unexpected)",
				 k);
			return -1;
		}
		if (check_group(k, v, fields, err, len) < 0)
			return -1;
	}
	return 0;
}

/* FcDeviceMetrics.validate_per_device_metrics(): num_dev "<dev>_*" groups,
 * and "<dev>" equal to their sum (aggregates: sum_us summed, min_us and
 * max_us 0). */
static int validate_per_device(json_t *m, const char *dev, int num_dev, char *err, size_t len)
{
	json_t *calc = json_object(), *v;
	size_t dl = strlen(dev);
	const char *k;
	int n = 0, ok;

	json_object_foreach(m, k, v) {
		const char *fk;
		json_t *fv;

		if (strncmp(k, dev, dl) || k[dl] != '_')
			continue;
		n++;
		json_object_foreach(v, fk, fv) {
			json_t *c = json_object_get(calc, fk);

			if (json_is_integer(fv)) {
				json_object_set_new(calc, fk,
						    json_integer(json_integer_value(fv) +
								 (c ? json_integer_value(c) : 0)));
			} else if (json_is_object(fv)) {
				json_int_t sum = json_integer_value(json_object_get(fv, "sum_us"));

				if (c)
					sum += json_integer_value(json_object_get(c, "sum_us"));
				json_object_set_new(calc, fk, json_pack("{s:i,s:i,s:I}", "min_us", 0,
									"max_us", 0, "sum_us",
									(json_int_t)sum));
			}
		}
	}
	if (n != num_dev) {
		snprintf(err, len, "%d %s_* groups, want %d", n, dev, num_dev);
		json_decref(calc);
		return -1;
	}
	ok = json_equal(calc, json_object_get(m, dev));
	if (!ok) {
		char *a = json_dumps(json_object_get(m, dev), JSON_COMPACT | JSON_SORT_KEYS);
		char *b = json_dumps(calc, JSON_COMPACT | JSON_SORT_KEYS);

		snprintf(err, len, "%s is not the sum of %s_*:\n%s\n%s", dev, dev, a, b);
		free(a);
		free(b);
	}
	json_decref(calc);
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Driving wisp                                                        */
/* ------------------------------------------------------------------ */

static char *path(const char *name)
{
	char *p;

	ck_assert_int_gt(asprintf(&p, "%s/%s", tmpdir_make(), name), 0);
	return p;
}

static void put_fmt(struct wisp *w, const char *method, const char *url, int want,
		    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void put_fmt(struct wisp *w, const char *method, const char *url, int want,
		    const char *fmt, ...)
{
	va_list ap;
	char *b;

	va_start(ap, fmt);
	ck_assert_int_gt(vasprintf(&b, fmt, ap), 0);
	va_end(ap);
	CALL(w, method, url, b, want);
	free(b);
}

/* basic_config(): the test guest's ticker, 1 vCPU, 128 MiB. */
static void basic_config(struct wisp *w)
{
	put_fmt(w, "PUT", "/boot-source", 204,
		"{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=ticker\"}",
		build_path("wisp-testguest"));
	CALL(w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
}

static void start(struct wisp *w)
{
	CALL(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert_msg(proc_wait_for(&w->p, "TICK 1", GUEST_MS), "no TICK\n%s\n%s", w->p.out.data,
		      w->p.err.data);
}

/* microvm.flush_metrics(): FlushMetrics, then the last line of the file. */
static json_t *flush_metrics(struct wisp *w, const char *file)
{
	char *text, *raw, *last = NULL, *save = NULL;
	json_error_t e;
	json_t *j;
	size_t len;

	CALL(w, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	raw = read_whole_file(file, &len);
	ck_assert_ptr_nonnull(raw);
	text = strndup(raw, len);
	free(raw);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		last = l;
	ck_assert_ptr_nonnull(last);
	j = json_loads(last, 0, &e);
	ck_assert_msg(j != NULL, "metrics line is not JSON: %s (%s)", last, e.text);
	free(text);
	return j;
}

static void assert_valid(json_t *m)
{
	char err[1024];

	if (validate_fc_metrics(m, err, sizeof(err)) < 0) {
		char *t = json_dumps(m, JSON_COMPACT);

		ck_abort_msg("metrics line fails Firecracker's schema: %s\n%s", err, t);
	}
}

static json_int_t mget(json_t *m, const char *g, const char *f)
{
	json_t *v = json_object_get(json_object_get(m, g), f);

	ck_assert_msg(json_is_integer(v), "%s.%s missing", g, f);
	return json_integer_value(v);
}

/* Spawn with metrics configured through the API (metrics_body: the rest
 * of the PUT /metrics object after metrics_path, may be ""). */
static char *spawn_with_metrics(struct wisp *w, const char *id, const char *ns,
				const char *metrics_body)
{
	char *sock = path("api.sock"), *m = path("metrics.ndjson");

	wisp_spawn(w, sock, id, ns);
	put_fmt(w, "PUT", "/metrics", 204, "{\"metrics_path\": \"%s\"%s}", m, metrics_body);
	free(sock);
	return m;
}

/* ------------------------------------------------------------------ */
/* The validator itself can fail                                       */
/* ------------------------------------------------------------------ */

/* Firecracker: host_tools/fcmetrics.py::validate_fc_metrics (validate_missing_metrics) */
START_TEST(schema_check_catches_missing_and_extra_fields)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m0", NULL, ""), err[1024];
	json_t *j, *g;

	basic_config(&w);
	start(&w);
	j = flush_metrics(&w, m);
	assert_valid(j);

	g = json_object_get(j, "api_server");
	json_object_del(g, "process_startup_time_us");
	ck_assert_int_eq(validate_fc_metrics(j, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'process_startup_time_us' is a required property"), "%s", err);
	json_object_set_new(g, "process_startup_time_us", json_integer(1));
	assert_valid(j);

	json_object_set_new(json_object_get(j, "net"), "rx_drops", json_integer(0));
	ck_assert_int_eq(validate_fc_metrics(j, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "'rx_drops' was unexpected"), "%s", err);
	json_object_del(json_object_get(j, "net"), "rx_drops");

	json_object_set_new(j, "wisp", json_object());
	ck_assert_int_eq(validate_fc_metrics(j, err, sizeof(err)), -1);
	json_object_del(j, "wisp");

	json_object_del(json_object_get(j, "vcpu"), "exit_io_in_agg");
	ck_assert_int_eq(validate_fc_metrics(j, err, sizeof(err)), -1);
	json_decref(j);
	free(m);
	wisp_free(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* functional/test_metrics.py                                          */
/* ------------------------------------------------------------------ */

/* Firecracker: functional/test_metrics.py::test_flush_metrics */
START_TEST(flush_metrics_action)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m1", NULL, "");
	json_t *j;

	basic_config(&w);
	start(&w);
	/* Firecracker: functional/test_signals.py::test_generic_signal_handler
	 * (one line as soon as the microVM runs, before any flush) */
	{
		size_t len = 0, lines = 0;
		char *raw = read_whole_file(m, &len);

		ck_assert_ptr_nonnull(raw);
		for (size_t k = 0; k < len; k++)
			lines += raw[k] == '\n';
		ck_assert_msg(lines == 1, "%zu lines after InstanceStart", lines);
		free(raw);
	}
	j = flush_metrics(&w, m);
	assert_valid(j);
	/* What wisp counts with Firecracker's meaning, over the line written
	 * when the microVM started and this one. */
	{
		json_t *t = it_metrics_summed(m, NULL);

		ck_assert_int_gt(mget(t, "api_server", "process_startup_time_us"), 0);
		ck_assert_int_eq(mget(t, "put_api_requests", "metrics_count"), 1);
		ck_assert_int_eq(mget(t, "put_api_requests", "boot_source_count"), 1);
		ck_assert_int_eq(mget(t, "put_api_requests", "machine_cfg_count"), 1);
		ck_assert_int_eq(mget(t, "put_api_requests", "actions_count"), 2);
		ck_assert_int_gt(mget(t, "vcpu", "exit_io_out"), 0);      /* the serial port */
		ck_assert_int_gt(mget(t, "vcpu", "exit_mmio_write"), 0);  /* the boot timer */
		ck_assert_int_gt(mget(t, "uart", "write_count"), 0);
		json_decref(t);
	}
	ck_assert_int_ge(json_integer_value(json_object_get(
				 json_object_get(json_object_get(j, "vcpu"), "exit_io_out_agg"),
				 "sum_us")),
			 0);
	ck_assert_int_eq(mget(j, "seccomp", "num_faults"), 0);
	ck_assert_int_eq(mget(j, "vcpu", "failures"), 0);
	json_decref(j);

	/* Counters are deltas: the next line sees only what happened since. */
	CALL(&w, "GET", "/machine-config", NULL, 200);
	j = flush_metrics(&w, m);
	assert_valid(j);
	ck_assert_int_eq(mget(j, "get_api_requests", "machine_cfg_count"), 1);
	ck_assert_int_eq(mget(j, "put_api_requests", "boot_source_count"), 0);
	ck_assert_int_eq(mget(j, "put_api_requests", "actions_count"), 1);
	ck_assert_int_gt(mget(j, "api_server", "process_startup_time_us"), 0);   /* a store */
	json_decref(j);
	free(m);
	wisp_free(&w);
}
END_TEST

/* Firecracker: functional/test_metrics.py::test_metrics_default_shape */
START_TEST(metrics_default_shape)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m2", NULL, "");
	json_t *j;

	basic_config(&w);
	start(&w);
	j = flush_metrics(&w, m);
	assert_valid(j);
	ck_assert_ptr_null(json_object_get(j, "id"));
	ck_assert_ptr_null(json_object_get(j, "properties"));
	json_decref(j);
	free(m);
	wisp_free(&w);
}
END_TEST

/* Firecracker: functional/test_metrics.py::test_metrics_emit_id
 * Firecracker: functional/test_metrics.py::test_metrics_with_properties
 * Firecracker: functional/test_metrics.py::test_metrics_emit_id_and_properties */
START_TEST(metrics_emit_id_and_properties)
{
	static const char *const bodies[] = {
		", \"emit_id\": true",
		", \"properties\": {\"customer_id\": \"1234\", \"bundle_id\": \"fn-abc\"}",
		(", \"emit_id\": true, \"properties\": {\"customer_id\": \"1234\", "
		 "\"bundle_id\": \"fn-abc\"}"),
	};
	bool want_id = _i != 1, want_props = _i != 0;
	struct wisp w;
	char *m = spawn_with_metrics(&w, "vm-emit-7", NULL, bodies[_i]);
	json_t *j, *props;

	basic_config(&w);
	start(&w);
	j = flush_metrics(&w, m);
	assert_valid(j);
	if (want_id)
		ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "vm-emit-7");
	else
		ck_assert_ptr_null(json_object_get(j, "id"));
	props = json_object_get(j, "properties");
	if (want_props) {
		json_t *exp = json_pack("{s:s,s:s}", "customer_id", "1234", "bundle_id", "fn-abc");

		ck_assert(json_equal(props, exp));
		json_decref(exp);
	} else {
		ck_assert_ptr_null(props);
	}
	json_decref(j);
	/* Shown back by GET /vm/config as they were given. */
	CALL(&w, "GET", "/vm/config", NULL, 200);
	if (want_id)
		ck_assert_ptr_nonnull(strstr(w.c.body, "\"emit_id\":true"));
	if (want_props)
		ck_assert_ptr_nonnull(strstr(w.c.body, "\"customer_id\":\"1234\""));
	free(m);
	wisp_free(&w);
}
END_TEST

/* Bad properties are refused and change nothing (wisp's rule for bad input;
 * Firecracker's serde refuses the same). */
START_TEST(metrics_properties_must_be_strings)
{
	struct wisp w;
	char *sock = path("api.sock"), *m = path("metrics.ndjson");

	wisp_spawn(&w, sock, "m3", NULL);
	put_fmt(&w, "PUT", "/metrics", 400, "{\"metrics_path\": \"%s\", \"properties\": {\"a\": 1}}",
		m);
	ck_assert_ptr_nonnull(strstr(w.c.body, "properties"));
	put_fmt(&w, "PUT", "/metrics", 400, "{\"metrics_path\": \"%s\", \"properties\": [\"a\"]}",
		m);
	put_fmt(&w, "PUT", "/metrics", 400, "{\"metrics_path\": \"%s\", \"emit_id\": \"yes\"}", m);
	/* Nothing was configured: a good one still works. */
	put_fmt(&w, "PUT", "/metrics", 204, "{\"metrics_path\": \"%s\"}", m);
	free(sock);
	free(m);
	wisp_free(&w);
}
END_TEST

/* Firecracker: functional/test_metrics.py::test_block_metrics */
START_TEST(block_metrics)
{
	static const char *const ids[] = { "scratch1", "rootfs", "scratch2" };
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m4", NULL, ""), err[4096], url[64];
	json_t *j;

	/* The first drive is added before basic_config, the third after. */
	for (int i = 0; i < 3; i++) {
		char name[32], *img;

		if (i == 1)
			basic_config(&w);
		snprintf(name, sizeof(name), "%s.img", ids[i]);
		img = write_tmp_file(name, "");
		ck_assert_int_eq(truncate(img, (off_t)(i + 1) << 20), 0);
		snprintf(url, sizeof(url), "/drives/%s", ids[i]);
		put_fmt(&w, "PUT", url, 204,
			"{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": %s, "
			"\"is_read_only\": false}", ids[i], img, i == 1 ? "true" : "false");
		free(img);
	}
	start(&w);
	j = flush_metrics(&w, m);
	assert_valid(j);
	if (validate_per_device(j, "block", 3, err, sizeof(err)) < 0)
		ck_abort_msg("%s", err);
	json_decref(j);
	/* A drive update is counted in its own group and in the aggregate. */
	CALL(&w, "PATCH", "/drives/scratch2", "{\"drive_id\": \"scratch2\", "
	     "\"path_on_host\": \"/nonexistent/x.img\"}", 400);
	j = flush_metrics(&w, m);
	assert_valid(j);
	if (validate_per_device(j, "block", 3, err, sizeof(err)) < 0)
		ck_abort_msg("%s", err);
	ck_assert_int_eq(mget(j, "block_scratch2", "update_fails"), 1);
	ck_assert_int_eq(mget(j, "block", "update_fails"), 1);
	ck_assert_int_eq(mget(j, "patch_api_requests", "drive_fails"), 1);
	json_decref(j);
	free(m);
	wisp_free(&w);
}
END_TEST

/* A guest that drives its disk: the exit line counts it in block_<id> and
 * block alike (queue events, reads, writes, bytes) and the interrupts. */
START_TEST(block_io_is_counted)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m8", NULL, ""), *img = write_tmp_file("io.img", "");
	char *text, *raw, *save = NULL, *last = NULL, err[4096];
	json_error_t e;
	size_t len = 0;
	json_t *j;

	ck_assert_int_eq(truncate(img, 1 << 20), 0);
	put_fmt(&w, "PUT", "/boot-source", 204,
		"{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=blk-bench wtest.mode=seqwrite wtest.secs=1\"}",
		build_path("wisp-testguest"));
	put_fmt(&w, "PUT", "/drives/io", 204, "{\"drive_id\": \"io\", \"path_on_host\": \"%s\", "
		"\"is_root_device\": false, \"is_read_only\": false}", img);
	CALL(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	ck_assert(proc_finish(&w.p, GUEST_MS));   /* the guest ends the VM when done */
	ck_assert_msg(w.p.status == 0 && strstr(w.p.out.data, "BENCH blk"), "status %d\n%s\n%s",
		      w.p.status, w.p.out.data, w.p.err.data);
	raw = read_whole_file(m, &len);
	ck_assert_ptr_nonnull(raw);
	text = strndup(raw, len);
	free(raw);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		last = l;
	ck_assert_ptr_nonnull(last);
	j = json_loads(last, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %s", last);
	assert_valid(j);
	if (validate_per_device(j, "block", 1, err, sizeof(err)) < 0)
		ck_abort_msg("%s", err);
	ck_assert_int_gt(mget(j, "block_io", "queue_event_count"), 0);
	ck_assert_int_gt(mget(j, "block_io", "write_count"), 0);
	ck_assert_int_ge(mget(j, "block_io", "write_bytes"), 4096);
	ck_assert_int_eq(mget(j, "block", "write_bytes"), mget(j, "block_io", "write_bytes"));
	ck_assert_int_gt(mget(j, "interrupts", "triggers"), 0);
	ck_assert_int_gt(mget(j, "vcpu", "exit_mmio_write"), 0);   /* QueueNotify & co. */
	ck_assert_int_gt(mget(j, "vcpu", "exit_mmio_read"), 0);
	json_decref(j);
	free(text);
	free(img);
	free(m);
	wisp_free(&w);
}
END_TEST

#define NUM_NET_DEVICES 10

/* Firecracker: functional/test_metrics.py::test_net_metrics (the guest's
 * `sync` over ssh on each interface needs a Linux guest: left out) */
START_TEST(net_metrics)
{
	struct wisp w;
	char ns[64], *m, err[4096];
	json_t *j;

	if (netns_create(ns, sizeof(ns)) < 0)
		ck_abort_msg("cannot create a network namespace");
	for (int i = 0; i < NUM_NET_DEVICES; i++) {
		char tap[16];

		snprintf(tap, sizeof(tap), "tap%d", i);
		if (netns_add_tap(ns, tap, NULL) < 0) {
			netns_delete(ns);
			ck_abort_msg("cannot add %s", tap);
		}
	}
	m = spawn_with_metrics(&w, "m5", ns, "");
	basic_config(&w);
	for (int i = 0; i < NUM_NET_DEVICES; i++) {
		char url[64];

		snprintf(url, sizeof(url), "/network-interfaces/eth%d", i);
		put_fmt(&w, "PUT", url, 204,
			"{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\", "
			"\"guest_mac\": \"06:00:ac:10:00:%02x\"}", i, i, i + 2);
	}
	start(&w);
	/* "net" and NUM_NET_DEVICES "net_" groups, the aggregate their sum. */
	for (int round = 0; round < 3; round++) {
		j = flush_metrics(&w, m);
		assert_valid(j);
		if (validate_per_device(j, "net", NUM_NET_DEVICES, err, sizeof(err)) < 0)
			ck_abort_msg("%s", err);
		json_decref(j);
	}
	free(m);
	wisp_free(&w);
	netns_delete(ns);
}
END_TEST

/* ------------------------------------------------------------------ */
/* functional/test_pause_resume.py                                     */
/* ------------------------------------------------------------------ */

/* Firecracker: functional/test_pause_resume.py::test_pause_resume_preboot */
START_TEST(pause_resume_preboot)
{
	struct wisp w;
	char *sock = path("api.sock");

	wisp_spawn(&w, sock, "p0", NULL);
	basic_config(&w);
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", "not supported before starting the microVM");
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", "not supported before starting the microVM");
	/* Nothing changed: the VM still boots. */
	start(&w);
	free(sock);
	wisp_free(&w);
}
END_TEST

static int ticks(struct wisp *w)
{
	proc_wait_for(&w->p, "\x01never", 10);   /* take what the guest printed */
	return count_substr(w->p.out.data, "TICK ");
}

/* The net groups' rx/tx counters of a line are all 0. */
static void verify_net_emulation_paused(json_t *m)
{
	static const char *const zero[] = {
		"rx_queue_event_count", "rx_tap_event_count", "rx_bytes_count", "rx_packets_count",
		"rx_fails", "rx_count", "tap_read_fails", "tap_write_fails", "tx_bytes_count",
		"tx_fails", "tx_count", "tx_packets_count", "tx_queue_event_count", NULL,
	};

	for (const char *const *f = zero; *f; f++)
		ck_assert_msg(mget(m, "net", *f) == 0, "net.%s = %lld while paused", *f,
			      (long long)mget(m, "net", *f));
}

/* Firecracker: functional/test_pause_resume.py::test_pause_resume (the
 * guest's liveness is its TICK lines instead of ssh) */
START_TEST(pause_resume)
{
	struct wisp w;
	char ns[64], *m;
	json_t *j;
	int n0, n1;

	if (netns_create(ns, sizeof(ns)) < 0 || netns_add_tap(ns, "tap0", "10.200.9.1/24") < 0) {
		netns_delete(ns);
		ck_abort_msg("cannot create a network namespace with a tap");
	}
	m = spawn_with_metrics(&w, "p1", ns, "");
	basic_config(&w);
	CALL(&w, "PUT", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\", \"host_dev_name\": "
	     "\"tap0\", \"guest_mac\": \"06:00:0a:c8:09:02\"}", 204);
	/* Pausing or resuming before the start is not allowed. */
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", NOT_BEFORE);
	FAULT(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", NOT_BEFORE);
	start(&w);

	CALL(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	/* Flush and reset metrics as they contain pre-pause data. */
	j = flush_metrics(&w, m);
	assert_valid(j);
	/* The pause took time, the VM's part of it no more than the request. */
	ck_assert_int_gt(mget(j, "latencies_us", "pause_vm"), 0);
	ck_assert_int_gt(mget(j, "latencies_us", "vmm_pause_vm"), 0);
	ck_assert_int_ge(mget(j, "latencies_us", "pause_vm"), mget(j, "latencies_us", "vmm_pause_vm"));
	ck_assert_int_eq(mget(j, "latencies_us", "resume_vm"), 0);
	json_decref(j);

	/* The guest is no longer running. */
	n0 = ticks(&w);
	usleep(600 * 1000);
	n1 = ticks(&w);
	ck_assert_msg(n1 == n0, "%d ticks while paused", n1 - n0);
	/* Host-side traffic towards the paused guest's tap (the ticker guest
	 * never drives its NIC, so this shows only that nothing moves). */
	netns_ping(ns, "10.200.9.2", 0, 2, 50, 200);
	/* Emulation was indeed paused: nothing handled on either side; no
	 * vCPU exit either (the guest writes TICK lines through port I/O). */
	j = flush_metrics(&w, m);
	assert_valid(j);
	verify_net_emulation_paused(j);
	ck_assert_int_eq(mget(j, "vcpu", "exit_io_out"), 0);
	json_decref(j);

	/* Pausing a paused microVM is allowed (it stays paused). */
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "\"Paused\""));
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	/* The guest runs again. */
	for (int t = 0; t < 100 && ticks(&w) <= n1; t++)
		usleep(50 * 1000);
	ck_assert_int_gt(ticks(&w), n1);
	j = flush_metrics(&w, m);
	assert_valid(j);
	ck_assert_int_gt(mget(j, "latencies_us", "resume_vm"), 0);
	ck_assert_int_gt(mget(j, "latencies_us", "vmm_resume_vm"), 0);
	json_decref(j);
	/* Resuming a running microVM is allowed (it keeps running). */
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	n1 = ticks(&w);
	for (int t = 0; t < 100 && ticks(&w) <= n1; t++)
		usleep(50 * 1000);
	ck_assert_int_gt(ticks(&w), n1);
	free(m);
	wisp_free(&w);
	netns_delete(ns);
}
END_TEST

/* Firecracker: functional/test_pause_resume.py::test_describe_instance */
START_TEST(describe_instance)
{
	struct wisp w;
	char *sock = path("api.sock");

	wisp_spawn(&w, sock, "p2", NULL);
	basic_config(&w);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Not started"));
	start(&w);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Running"));
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Paused"));
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	CALL(&w, "GET", "/", NULL, 200);
	ck_assert_ptr_nonnull(strstr(w.c.body, "Running"));
	free(sock);
	wisp_free(&w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* wisp's own counters: GET /wisp/metrics                              */
/* ------------------------------------------------------------------ */

START_TEST(wisp_counters_are_served_apart)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m6", NULL, ""), *img = write_tmp_file("d.img", "");
	json_error_t e;
	json_t *j, *a;

	ck_assert_int_eq(truncate(img, 1 << 20), 0);
	basic_config(&w);
	put_fmt(&w, "PUT", "/drives/d0", 204, "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", "
		"\"is_root_device\": false, \"is_read_only\": true}", img);
	CALL(&w, "GET", "/nonexistent", NULL, 400);             /* bad_requests */
	CALL(&w, "GET", "/vm/config", NULL, 200);               /* vm_config_count */
	start(&w);
	CALL(&w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204); /* patch vm_count */
	j = flush_metrics(&w, m);
	assert_valid(j);   /* none of them is in the line */
	json_decref(j);

	CALL(&w, "GET", "/wisp/metrics", NULL, 200);
	a = json_loads(w.c.body, 0, &e);
	ck_assert_msg(a != NULL, "not JSON: %s", w.c.body);
	ck_assert_int_ge(mget(a, "api_server", "connections"), 1);
	ck_assert_int_eq(mget(a, "api_server", "bad_requests"), 1);
	mget(a, "api_server", "refused_connections");
	mget(a, "api_server", "unsupported_requests");
	ck_assert_int_eq(mget(a, "get_api_requests", "vm_config_count"), 1);
	ck_assert_int_eq(mget(a, "patch_api_requests", "vm_count"), 1);
	ck_assert_int_eq(mget(a, "patch_api_requests", "vm_fails"), 0);
	mget(a, "block", "get_id_count");
	mget(a, "block_d0", "queue_bad_desc");
	mget(a, "net", "rx_drops");
	mget(a, "net", "tx_drops");
	mget(a, "balloon", "invalid_pfns");
	mget(a, "vsock", "host_connect_refused");
	mget(a, "vcpu", "exit_hlt");
	/* Absolute totals: Firecracker's counters too, and they do not reset. */
	ck_assert_int_eq(mget(a, "put_api_requests", "boot_source_count"), 1);
	ck_assert_int_gt(mget(a, "vcpu", "exit_io_out"), 0);
	json_decref(a);
	CALL(&w, "GET", "/wisp/metrics", NULL, 200);
	a = json_loads(w.c.body, 0, &e);
	ck_assert_int_eq(mget(a, "put_api_requests", "boot_source_count"), 1);
	/* counted when it arrives: this one is the second */
	ck_assert_int_eq(mget(a, "get_api_requests", "wisp_metrics_count"), 2);
	json_decref(a);
	free(img);
	free(m);
	wisp_free(&w);
}
END_TEST

/* deprecated_api.deprecated_http_api_calls counts the requests that used
 * a deprecated field (Firecracker's api_server/request/vsock.rs & co.). */
START_TEST(deprecated_api_calls_are_counted)
{
	struct wisp w;
	char *m = spawn_with_metrics(&w, "m7", NULL, ""), *uds = path("v.sock");
	json_t *j;

	basic_config(&w);
	put_fmt(&w, "PUT", "/vsock", 204, "{\"vsock_id\": \"root\", \"guest_cid\": 3, "
		"\"uds_path\": \"%s\"}", uds);
	put_fmt(&w, "PUT", "/vsock", 204, "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", uds);
	start(&w);
	j = flush_metrics(&w, m);
	assert_valid(j);
	json_decref(j);
	j = it_metrics_summed(m, NULL);   /* the requests came before the start's line */
	ck_assert_int_eq(mget(j, "deprecated_api", "deprecated_http_api_calls"), 1);
	ck_assert_int_eq(mget(j, "put_api_requests", "vsock_count"), 2);
	json_decref(j);
	free(uds);
	free(m);
	wisp_free(&w);
}
END_TEST

static bool sanitizer_build(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
	return true;
#endif
#endif
	return false;
}

/* The last line, written from the SIGSYS handler of a trapping filter
 * (Firecracker's signal_handler.rs writes one too): it validates against
 * the schema, with seccomp.num_faults 1 (security/test_custom_seccomp.py
 * sums num_faults over the lines). */
START_TEST(line_written_from_the_sigsys_handler_validates)
{
	static const char filter[] =
		"{\"vmm\": {\"default_action\": \"allow\", \"filter_action\": \"trap\", \"filter\": []},"
		" \"api\": {\"default_action\": \"allow\", \"filter_action\": \"trap\", \"filter\": []},"
		" \"vcpu\": {\"default_action\": \"allow\", \"filter_action\": \"trap\","
		" \"filter\": [{\"syscall\": \"ioctl\"}]}}";
	char *f = write_tmp_file("trap.json", filter), *m = path("m.ndjson"), *text, *raw;
	char *sock = path("api.sock"), *save = NULL, *last = NULL;
	const char *argv[] = { build_path("wisp"), "--api-sock", sock, "--id", "sys1",
			       "--metrics-path", m, "--seccomp-filter", f, NULL };
	struct wisp w;
	json_error_t e;
	size_t len = 0;
	json_t *j;

	if (sanitizer_build()) {   /* those builds install no filter */
		printf("line_written_from_the_sigsys_handler_validates: SKIPPED (sanitizer build)\n");
		free(f);
		free(m);
		free(sock);
		return;
	}
	memset(&w, 0, sizeof(w));
	ck_assert_int_eq(proc_spawn(&w.p, (char *const *)argv), 0);
	ck_assert_msg(api_wait_socket(sock, 20000), "%s", w.p.err.data);
	api_client_init(&w.c, sock);
	w.up = true;
	basic_config(&w);
	api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	ck_assert(proc_finish(&w.p, 20000));
	ck_assert_msg(w.p.status == 148, "status %d\n%s", w.p.status, w.p.err.data);
	raw = read_whole_file(m, &len);
	ck_assert_ptr_nonnull(raw);
	text = strndup(raw, len);
	free(raw);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		last = l;
	ck_assert_ptr_nonnull(last);
	j = json_loads(last, 0, &e);
	ck_assert_msg(j != NULL, "not JSON: %s", last);
	/* utc_timestamp_ms is checked against now: read the line at once. */
	assert_valid(j);
	ck_assert_int_eq(mget(j, "seccomp", "num_faults"), 1);
	ck_assert_int_gt(mget(j, "api_server", "process_startup_time_us"), 0);
	json_decref(j);
	free(text);
	free(f);
	free(m);
	free(sock);
	wisp_free(&w);
}
END_TEST

static void setup(void)
{
	tmpdir_make();
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		exit(77);
}

static void teardown(void)
{
	tmpdir_cleanup();
}

int main(void)
{
	Suite *s = suite_create("fc_metrics");
	TCase *tc = tcase_create("metrics");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, schema_check_catches_missing_and_extra_fields);
	tcase_add_test(tc, flush_metrics_action);
	tcase_add_test(tc, metrics_default_shape);
	tcase_add_loop_test(tc, metrics_emit_id_and_properties, 0, 3);
	tcase_add_test(tc, metrics_properties_must_be_strings);
	tcase_add_test(tc, block_metrics);
	tcase_add_test(tc, block_io_is_counted);
	tcase_add_test(tc, net_metrics);
	tcase_add_test(tc, pause_resume_preboot);
	tcase_add_test(tc, pause_resume);
	tcase_add_test(tc, describe_instance);
	tcase_add_test(tc, wisp_counters_are_served_apart);
	tcase_add_test(tc, deprecated_api_calls_are_counted);
	tcase_add_test(tc, line_written_from_the_sigsys_handler_validates);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
