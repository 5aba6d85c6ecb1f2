/* SPDX-License-Identifier: Apache-2.0 */
/*
 * objects.h — one parser/validator per API object (private to api/).
 * Used both by the config document (api/vmconfig.c) and by the REST
 * routes (api/route.c), so a field is checked the same way everywhere.
 * `prefix` names the object in error messages ("machine-config",
 * "drives[0]", ...). Each returns 0 or -EINVAL with the message in e.
 */
#ifndef WISP_API_OBJECTS_H
#define WISP_API_OBJECTS_H

#include "api.h"
#include "jfield.h"

/* Full machine config (PUT and the document): vcpu_count and mem_size_mib
 * required; absent optional fields get their defaults. */
int obj_machine(const struct jerr *e, const char *prefix, const json_t *o,
		struct machine_config *out);
/* PATCH: every field optional; checks each given field alone. */
int obj_machine_patch(const struct jerr *e, const char *prefix, const json_t *o,
		      struct api_machine_patch *out);
int obj_boot_source(const struct jerr *e, const char *prefix, const json_t *o,
		    struct boot_source_config *out);
int obj_drive(const struct jerr *e, const char *prefix, const json_t *o,
	      struct drive_config *out);
int obj_drive_patch(const struct jerr *e, const char *prefix, const json_t *o,
		    struct api_drive_patch *out);
int obj_net(const struct jerr *e, const char *prefix, const json_t *o, struct net_config *out);
int obj_net_patch(const struct jerr *e, const char *prefix, const json_t *o,
		  struct api_net_patch *out);
int obj_logger(const struct jerr *e, const char *prefix, const json_t *o, struct api_logger *out);
int obj_metrics(const struct jerr *e, const char *prefix, const json_t *o,
		struct metrics_config *out);
int obj_action(const struct jerr *e, const char *prefix, const json_t *o, enum api_action *out);
int obj_vm_state(const struct jerr *e, const char *prefix, const json_t *o,
		 enum api_vm_state *out);
/* PUT /snapshot/create: snapshot_path and mem_file_path required,
 * snapshot_type "Full" (default) or "Diff". */
int obj_snapshot_create(const struct jerr *e, const char *prefix, const json_t *o,
			struct api_snapshot_create *out);
/* PUT /snapshot/load: snapshot_path and exactly one of mem_backend and the
 * deprecated mem_file_path (Firecracker's sentences when both or neither
 * are given); enable_diff_snapshots is an alias of track_dirty_pages;
 * network_overrides as in the spec; vsock_override {uds_path} moves the vsock socket;
 * clock_realtime only false and huge_pages only "Snapshot" (the defaults). */
int obj_snapshot_load(const struct jerr *e, const char *prefix, const json_t *o,
		      struct api_snapshot_load *out);

/* Balloon (obj_balloon.c): PUT /balloon and the config document's
 * "balloon" (amount_mib and deflate_on_oom required); PATCH /balloon
 * {amount_mib}; PATCH /balloon/statistics {stats_polling_interval_s};
 * PATCH /balloon/hinting/start {acknowledge_on_stop?} (default true). */
int obj_balloon(const struct jerr *e, const char *prefix, const json_t *o,
		struct balloon_config *out);
int obj_balloon_patch(const struct jerr *e, const char *prefix, const json_t *o, uint32_t *out);
int obj_balloon_stats_patch(const struct jerr *e, const char *prefix, const json_t *o,
			    uint16_t *out);
int obj_balloon_hint_start(const struct jerr *e, const char *prefix, const json_t *o, bool *out);
json_t *obj_balloon_json(const struct balloon_config *b);
/* GET /balloon/statistics: val[tag] is given where bit tag of present is
 * set (Firecracker's names, each only when the guest reported it). */
#define API_BALLOON_NR_STATS 16
json_t *obj_balloon_stats_json(uint32_t target_pages, uint32_t actual_pages, uint32_t present,
			       const uint64_t val[API_BALLOON_NR_STATS]);

/* PUT /vsock and the document's "vsock" (api/obj_vsock.c): guest_cid in
 * [3, 2^32-1] and uds_path (non-empty, fits a Unix socket address)
 * required; vsock_id (deprecated) accepted. */
int obj_vsock(const struct jerr *e, const char *prefix, const json_t *o,
	      struct vsock_config *out);
json_t *obj_vsock_json(const struct vsock_config *v);

/* JSON values of the objects (new references). */
json_t *obj_machine_json(const struct machine_config *mc);
json_t *obj_boot_source_json(const struct boot_source_config *b);
json_t *obj_drive_json(const struct drive_config *d);
json_t *obj_net_json(const struct net_config *n);
json_t *obj_logger_json(const struct logger_config *l);
json_t *obj_metrics_json(const struct metrics_config *m);

/* Firecracker's RateLimiter object at o[key] (obj_ratelimit.c): absent or
 * null is no object (*present false); {} and null buckets are no limit.
 * Buckets given are `set` (as given, size 0 included: a PATCH removes them
 * then); obj_rate_limiter_normalize() keeps only limiting buckets (what a
 * configuration stores). */
int obj_rate_limiter(const struct jerr *e, const char *prefix, const json_t *o, const char *key,
		     struct rate_limiter_config *out, bool *present);
void obj_rate_limiter_normalize(struct rate_limiter_config *r);
/* null when nothing limits, else {"bandwidth":..,"ops":..} (Firecracker's shape). */
json_t *obj_rate_limiter_json(const struct rate_limiter_config *r);
/* PUT /entropy and the document's "entropy": {rate_limiter}. */
int obj_entropy(const struct jerr *e, const char *prefix, const json_t *o,
		struct entropy_config *out);
json_t *obj_entropy_json(const struct entropy_config *c);

/* PUT /serial and the document's "serial" (api/obj_serial.c):
 * {serial_out_path?, rate_limiter? (a TokenBucket)}; a non-limiting bucket
 * is stored as none. JSON: both keys, null where absent. */
int obj_serial(const struct jerr *e, const char *prefix, const json_t *o,
	       struct serial_config *out);
json_t *obj_serial_json(const struct serial_config *s);

/* PUT /cpu-config (api/obj_cpuconfig.c): Firecracker's x86_64 custom CPU
 * template {kvm_capabilities?, cpuid_modifiers?, msr_modifiers?}; the
 * document's "cpu-config" is that object or the path of a file holding
 * it. JSON: the template in Firecracker's notation. */
int obj_cpu_config(const struct jerr *e, const char *prefix, const json_t *o,
		   struct cpu_template *out);
int obj_cpu_config_doc(const struct jerr *e, const char *prefix, const json_t *v,
		       struct cpu_template *out);
json_t *obj_cpu_config_json(const struct cpu_template *t);

/* An id (drive_id, iface_id): 1..64 printable ASCII characters, no '/'. */
int obj_check_id(const struct jerr *e, const char *prefix, const char *key, const char *id);

#endif
