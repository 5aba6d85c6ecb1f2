/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h — the public interface of wisp's API subsystem.
 *
 * Two parts:
 *  1. The VM configuration document (Firecracker's FullVmConfiguration):
 *     what --config-file reads and GET /vm/config returns, plus the
 *     validators shared by the document and the REST endpoints.
 *  2. The REST server: an HTTP/1.1 server on a Unix socket running on its own
 *     thread (the "api thread"). It parses and validates requests and hands
 *     typed requests to the VMM thread through a queue and an eventfd; the VMM
 *     thread answers with a typed response. The api thread never touches KVM.
 *
 * Error strings name the field path and the problem, e.g.
 * "machine-config.vcpu_count: expected an integer, got a string".
 */
#ifndef WISP_API_H
#define WISP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

/* Firecracker's limit on a request body. */
#define API_MAX_BODY 51200

/* ------------------------------------------------------------------ */
/* The VM configuration document (api/vmconfig.c)                      */
/* ------------------------------------------------------------------ */

/* Parse and validate a document into *out (initialised with
 * vm_config_init() first). Returns 0, or -EINVAL with a message in err.
 * Only parses and validates: file existence is the VMM's business. */
int vmconfig_parse(const char *text, size_t len, struct vm_config *out, char *err, size_t errlen);
/* Same, reading the document from a file. A missing or unreadable file is
 * reported as "<path>: <strerror>". Returns 0 or a negative errno. */
int vmconfig_load_file(const char *path, struct vm_config *out, char *err, size_t errlen);
/* The document as JSON (malloc'd, NUL-terminated; NULL on allocation
 * failure). vmconfig_parse() of the result gives back the same config. */
char *vmconfig_to_json(const struct vm_config *cfg);
/* GET /vm/config: Firecracker's FullVmConfiguration (every key, null or []
 * where absent; no serial, as Firecracker). Parses back to the same
 * configuration but for PUT /serial's. */
char *vmconfig_to_api_json(const struct vm_config *cfg);

/* Validators shared by the document and the REST endpoints. */
/* vcpu_count in [1, 32] and 1 or even with smt; mem_size_mib > 0 (and even
 * with 2M huge pages). `prefix` names the object in the message ("" ok). */
int vmconfig_check_machine(const struct machine_config *mc, const char *prefix,
			   char *err, size_t errlen);
/* Insert a drive, or replace the one with the same drive_id. Refuses a
 * second root device and a full table. cfg is unchanged on error. */
int vmconfig_put_drive(struct vm_config *cfg, const struct drive_config *d,
		       char *err, size_t errlen);
/* Insert a network interface, or replace the one with the same iface_id.
 * Refuses a host_dev_name or guest_mac already used by another interface
 * and a full table. cfg is unchanged on error. */
int vmconfig_put_net(struct vm_config *cfg, const struct net_config *n,
		     char *err, size_t errlen);
/* Index of the drive / interface with that id, or -1. */
int vmconfig_find_drive(const struct vm_config *cfg, const char *drive_id);
int vmconfig_find_net(const struct vm_config *cfg, const char *iface_id);

/* Names used in the JSON documents. */
const char *api_log_level_name(enum log_level level);      /* "Info", ... */
const char *api_huge_pages_name(enum huge_pages hp);       /* "None", ... */
const char *api_cache_type_name(enum cache_type ct);       /* "Unsafe", ... */
const char *api_io_engine_name(enum io_engine io);         /* "Sync", ... */

/* ------------------------------------------------------------------ */
/* Typed requests (what the VMM thread receives)                       */
/* ------------------------------------------------------------------ */
enum api_request_kind {
	API_REQ_GET_INSTANCE_INFO,    /* GET /                      (no payload) */
	API_REQ_GET_MACHINE_CONFIG,   /* GET /machine-config        (no payload) */
	API_REQ_GET_VM_CONFIG,        /* GET /vm/config             (no payload) */
	API_REQ_PUT_MACHINE_CONFIG,   /* PUT /machine-config        u.machine */
	API_REQ_PATCH_MACHINE_CONFIG, /* PATCH /machine-config      u.machine_patch */
	API_REQ_PUT_BOOT_SOURCE,      /* PUT /boot-source           u.boot */
	API_REQ_PUT_DRIVE,            /* PUT /drives/{id}           u.drive */
	API_REQ_PATCH_DRIVE,          /* PATCH /drives/{id}         u.drive_patch */
	API_REQ_PUT_NET,              /* PUT /network-interfaces/{id}   u.net */
	API_REQ_PATCH_NET,            /* PATCH /network-interfaces/{id} u.net_patch */
	API_REQ_ACTION,               /* PUT /actions               u.action */
	API_REQ_PATCH_VM,             /* PATCH /vm                  u.vm_state */
	API_REQ_PUT_LOGGER,           /* PUT /logger                u.logger */
	API_REQ_PUT_METRICS,          /* PUT /metrics               u.metrics */
	API_REQ_SNAPSHOT_CREATE,      /* PUT /snapshot/create       u.snap_create */
	API_REQ_SNAPSHOT_LOAD,        /* PUT /snapshot/load         u.snap_load */
	API_REQ_PUT_ENTROPY,          /* PUT /entropy               u.entropy */
	API_REQ_GET_BALLOON,          /* GET /balloon               (no payload) */
	API_REQ_PUT_BALLOON,          /* PUT /balloon               u.balloon */
	API_REQ_PATCH_BALLOON,        /* PATCH /balloon             u.balloon_amount_mib */
	API_REQ_GET_BALLOON_STATS,    /* GET /balloon/statistics    (no payload) */
	API_REQ_PATCH_BALLOON_STATS,  /* PATCH /balloon/statistics  u.balloon_stats_s */
	API_REQ_BALLOON_HINT_START,   /* PATCH /balloon/hinting/start  u.hint_ack_on_stop */
	API_REQ_BALLOON_HINT_STATUS,  /* GET /balloon/hinting/status   (no payload) */
	API_REQ_BALLOON_HINT_STOP,    /* PATCH /balloon/hinting/stop   (no payload) */
	API_REQ_PUT_VSOCK,            /* PUT /vsock                 u.vsock */
	API_REQ_PUT_SERIAL,           /* PUT /serial                u.serial */
	API_REQ_PUT_CPU_CONFIG,       /* PUT /cpu-config            u.cpu_config */
	API_REQ_GET_VERSION,          /* GET /version: answered by the api thread,
	                               * never sent to the VMM (counted in stats) */
	API_REQ_GET_WISP_METRICS,     /* GET /wisp/metrics (wisp's counters, no payload) */
	API_REQ__COUNT
};

/* "GET /", "PUT /machine-config", ... (for logs and metrics). */
const char *api_request_name(enum api_request_kind kind);

/* PATCH /machine-config: which fields were given. */
#define API_MC_VCPU_COUNT        (1u << 0)
#define API_MC_MEM_SIZE_MIB      (1u << 1)
#define API_MC_SMT               (1u << 2)
#define API_MC_TRACK_DIRTY_PAGES (1u << 3)
#define API_MC_HUGE_PAGES        (1u << 4)
#define API_MC_CPU_TEMPLATE      (1u << 5)

struct api_machine_patch {
	unsigned present;            /* API_MC_* */
	struct machine_config mc;    /* only the present fields are meaningful */
};

/* Merge a patch into *cur and validate the result with
 * vmconfig_check_machine(); *cur is unchanged on error. */
int api_machine_patch_apply(struct machine_config *cur, const struct api_machine_patch *p,
			    char *err, size_t errlen);

struct api_drive_patch {
	char drive_id[VM_ID_MAX + 1];
	bool has_path_on_host;
	char path_on_host[VM_PATH_MAX];
	bool has_rate_limiter;       /* buckets given are `set` (see vmm.h) */
	struct rate_limiter_config rate_limiter;
};

struct api_net_patch {
	char iface_id[VM_ID_MAX + 1];
	/* The spec's patchable fields; buckets given are `set` (see vmm.h). */
	bool has_rx_rate_limiter, has_tx_rate_limiter;
	struct rate_limiter_config rx_rate_limiter, tx_rate_limiter;
};

enum api_action {
	API_ACTION_INSTANCE_START,
	API_ACTION_SEND_CTRL_ALT_DEL,
	API_ACTION_FLUSH_METRICS,
};

enum api_vm_state { API_VM_PAUSED, API_VM_RESUMED };

/* PUT /logger: Firecracker applies only the fields given. */
#define API_LOG_PATH            (1u << 0)
#define API_LOG_LEVEL           (1u << 1)
#define API_LOG_SHOW_LEVEL      (1u << 2)
#define API_LOG_SHOW_LOG_ORIGIN (1u << 3)
#define API_LOG_MODULE          (1u << 4)

struct api_logger {
	unsigned present;            /* API_LOG_* */
	struct logger_config cfg;    /* set = true; absent fields hold defaults */
};

/* PUT /snapshot/create. The parser accepts both types; the VMM refuses
 * Diff until diff snapshots exist. */
enum api_snapshot_type { API_SNAPSHOT_FULL, API_SNAPSHOT_DIFF };

struct api_snapshot_create {
	enum api_snapshot_type type;          /* snapshot_type, default Full */
	char snapshot_path[VM_PATH_MAX];
	char mem_file_path[VM_PATH_MAX];
};

/* PUT /snapshot/load. The parser accepts both backends; the VMM refuses
 * Uffd until the Uffd backend exists. The deprecated mem_file_path is
 * turned into backend File with that path (both given: refused). */
enum api_mem_backend { API_MEM_BACKEND_FILE, API_MEM_BACKEND_UFFD };

struct api_net_override {
	char iface_id[VM_ID_MAX + 1];
	char host_dev_name[16];
};

struct api_snapshot_load {
	char snapshot_path[VM_PATH_MAX];
	enum api_mem_backend backend;         /* mem_backend.backend_type */
	char backend_path[VM_PATH_MAX];       /* mem_backend.backend_path */
	bool track_dirty_pages;               /* or its alias enable_diff_snapshots */
	bool resume_vm;
	unsigned nr_net_overrides;
	struct api_net_override net_overrides[VM_MAX_NETS];
	/* working_set (wisp's, File backend only): docs/snapshots.md */
	bool wset;                            /* the object was given */
	bool wset_record;                     /* working_set.record */
	bool wset_copy;                       /* working_set.copy */
	unsigned wset_record_ms;              /* working_set.record_ms (default 2000) */
	char wset_path[VM_PATH_MAX];          /* working_set.path */
	/* vsock_override.uds_path: the restored vsock device's socket */
	bool has_vsock_override;
	char vsock_uds_path[VSOCK_UDS_PATH_MAX + 1];
};

struct api_request {
	enum api_request_kind kind;
	/* Firecracker's deprecation sentence when the body used a deprecated
	 * field (logged as a warning, and the answer carries "Deprecation:
	 * true"); NULL otherwise. A static string. */
	const char *deprecation;
	union {
		struct machine_config machine;
		struct api_machine_patch machine_patch;
		struct boot_source_config boot;
		struct drive_config drive;
		struct api_drive_patch drive_patch;
		struct net_config net;
		struct api_net_patch net_patch;
		enum api_action action;
		enum api_vm_state vm_state;
		struct api_logger logger;
		struct metrics_config metrics;
		struct api_snapshot_create snap_create;
		struct api_snapshot_load snap_load;
		struct balloon_config balloon;
		uint32_t balloon_amount_mib;
		uint16_t balloon_stats_s;
		bool hint_ack_on_stop;       /* absent body or field: true */
		struct entropy_config entropy;
		struct vsock_config vsock;
		struct serial_config serial;
		struct cpu_template cpu_config;
	} u;
};

/* ------------------------------------------------------------------ */
/* Responses                                                            */
/* ------------------------------------------------------------------ */
struct api_response {
	int status;      /* 200, 204 or 400 */
	char *body;      /* malloc'd JSON or NULL (204) */
	bool deprecation; /* add "Deprecation: true" (set by the api thread) */
};

struct json_t;       /* jansson's value type */

/* 204, no body. */
void api_response_no_content(struct api_response *r);
/* 400 {"fault_message": "<formatted>"}. */
void api_response_fault(struct api_response *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* 200 with `json` as the body; takes ownership of the malloc'd string. */
void api_response_json(struct api_response *r, char *json);
/* 200 with the serialised value; steals the reference. */
void api_response_json_value(struct api_response *r, struct json_t *value);
/* Free the body and reset. */
void api_response_clear(struct api_response *r);

enum api_instance_state {
	API_STATE_NOT_STARTED,
	API_STATE_RUNNING,
	API_STATE_PAUSED,
};
const char *api_instance_state_name(enum api_instance_state st); /* "Not started" ... */

/* {"id":..,"state":..,"vmm_version":WISP_FC_VERSION,"app_name":WISP_APP_NAME} */
char *api_instance_info_json(const char *id, enum api_instance_state st);
/* {"vcpu_count":..,"mem_size_mib":..,"smt":..,"track_dirty_pages":..,"huge_pages":..} */
char *api_machine_config_json(const struct machine_config *mc);
/* Balloon answers (api/obj_balloon.c), malloc'd JSON: GET /balloon;
 * GET /balloon/statistics (val[tag] given where bit tag of present is set;
 * 16 tags); GET /balloon/hinting/status (guest_cmd null until has_guest_cmd). */
char *api_balloon_json(const struct balloon_config *b);
char *api_balloon_stats_json(uint32_t target_pages, uint32_t actual_pages, uint32_t present,
			     const uint64_t val[16]);
char *api_balloon_hint_status_json(uint32_t host_cmd, bool has_guest_cmd, uint32_t guest_cmd);

/* ------------------------------------------------------------------ */
/* The server (api/server.c)                                           */
/* ------------------------------------------------------------------ */
struct api_server;

/* Called by the VMM thread for each typed request; must fill *resp (it is
 * zeroed; an unfilled response becomes a 400 "internal error"). */
typedef void (*api_handler)(void *ctx, const struct api_request *req, struct api_response *resp);

/* Create the socket: fails if sock_path exists (as Firecracker does; errno
 * is then EADDRINUSE) or is too long; binds and listens. No thread yet. */
struct api_server *api_server_create(const char *sock_path, char *err, size_t errlen);
/* Called on the api thread before it handles any connection (e.g. to
 * install the api thread's seccomp filter). Set before api_server_run(). */
void api_server_set_thread_init(struct api_server *s, void (*fn)(void *arg), void *arg);
/* Largest request body (--http-api-max-payload-size; default API_MAX_BODY,
 * at most 16 MiB). Set before api_server_run(). Returns 0 or -EINVAL. */
int api_server_set_max_body(struct api_server *s, size_t max_body);
/* Connection deadlines in ms (tests shorten them; 0 keeps a value): a whole
 * request within `request_ms` of its first byte (else 408 and close), a
 * response taken within `write_ms`, and at most `idle_ms` without traffic.
 * Defaults 15 s, 30 s, 300 s. Set before api_server_run(). */
void api_server_set_timeouts(struct api_server *s, unsigned request_ms, unsigned write_ms,
			     unsigned idle_ms);
/* Start the api thread. Returns 0 or -errno. */
int api_server_run(struct api_server *s, char *err, size_t errlen);
/* create + run. */
struct api_server *api_server_start(const char *sock_path, char *err, size_t errlen);

/* Readable (EPOLLIN) when typed requests wait for api_server_process(). */
int api_server_eventfd(const struct api_server *s);
/* On the VMM thread: drain pending requests, call fn for each, and hand the
 * responses back to the api thread, which writes them. Non-blocking. */
void api_server_process(struct api_server *s, api_handler fn, void *ctx);
/* Request counters since the server was created (for metrics). A request
 * is counted in count[kind] once routed, and in fails[kind] if its answer
 * was a 400 (from the api thread's validation or from the VMM). */
struct api_stats {
	uint64_t count[API_REQ__COUNT];
	uint64_t fails[API_REQ__COUNT];
	uint64_t unsupported;    /* spec paths wisp does not implement */
	uint64_t bad_requests;   /* malformed HTTP, unknown path or method */
	uint64_t connections;    /* accepted */
	uint64_t refused_connections; /* over the connection limit */
};
/* A consistent-enough copy (each counter is read atomically). Any thread. */
void api_server_get_stats(const struct api_server *s, struct api_stats *out);

/* Stop the api thread, close every connection, unlink the socket, free.
 * Requests still queued are dropped. NULL is ignored. Call it from the VMM
 * thread (or once nothing calls api_server_process() any more): it must
 * not run concurrently with api_server_process(). */
void api_server_stop(struct api_server *s);

#endif /* WISP_API_H */
