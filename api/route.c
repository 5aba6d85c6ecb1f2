/* SPDX-License-Identifier: Apache-2.0 */
/* route.c — routing and body validation of every endpoint. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "route.h"

const char *const api_unsupported_paths[] = {
	"/pmem/{id}",
	"/mmds",
	"/mmds/config",
	"/hotplug/memory",
	NULL,
};

static const char *const request_names[API_REQ__COUNT] = {
	[API_REQ_GET_INSTANCE_INFO] = "GET /",
	[API_REQ_GET_MACHINE_CONFIG] = "GET /machine-config",
	[API_REQ_GET_VM_CONFIG] = "GET /vm/config",
	[API_REQ_PUT_MACHINE_CONFIG] = "PUT /machine-config",
	[API_REQ_PATCH_MACHINE_CONFIG] = "PATCH /machine-config",
	[API_REQ_PUT_BOOT_SOURCE] = "PUT /boot-source",
	[API_REQ_PUT_DRIVE] = "PUT /drives",
	[API_REQ_PATCH_DRIVE] = "PATCH /drives",
	[API_REQ_PUT_NET] = "PUT /network-interfaces",
	[API_REQ_PATCH_NET] = "PATCH /network-interfaces",
	[API_REQ_ACTION] = "PUT /actions",
	[API_REQ_PATCH_VM] = "PATCH /vm",
	[API_REQ_PUT_LOGGER] = "PUT /logger",
	[API_REQ_PUT_METRICS] = "PUT /metrics",
	[API_REQ_SNAPSHOT_CREATE] = "PUT /snapshot/create",
	[API_REQ_SNAPSHOT_LOAD] = "PUT /snapshot/load",
	[API_REQ_PUT_ENTROPY] = "PUT /entropy",
	[API_REQ_GET_BALLOON] = "GET /balloon",
	[API_REQ_PUT_BALLOON] = "PUT /balloon",
	[API_REQ_PATCH_BALLOON] = "PATCH /balloon",
	[API_REQ_GET_BALLOON_STATS] = "GET /balloon/statistics",
	[API_REQ_PATCH_BALLOON_STATS] = "PATCH /balloon/statistics",
	[API_REQ_BALLOON_HINT_START] = "PATCH /balloon/hinting/start",
	[API_REQ_BALLOON_HINT_STATUS] = "GET /balloon/hinting/status",
	[API_REQ_BALLOON_HINT_STOP] = "PATCH /balloon/hinting/stop",
	[API_REQ_PUT_VSOCK] = "PUT /vsock",
	[API_REQ_PUT_SERIAL] = "PUT /serial",
	[API_REQ_PUT_CPU_CONFIG] = "PUT /cpu-config",
	[API_REQ_GET_VERSION] = "GET /version",
	[API_REQ_GET_WISP_METRICS] = "GET /wisp/metrics",
};

const char *api_request_name(enum api_request_kind kind)
{
	return (unsigned)kind < API_REQ__COUNT ? request_names[kind] : "?";
}

/* Does `path` match `pattern` where "{id}" matches one non-empty segment? */
static bool path_match(const char *pattern, const char *path, const char **id, size_t *idlen)
{
	const char *brace = strstr(pattern, "{id}");
	if (!brace)
		return strcmp(pattern, path) == 0;
	size_t pre = (size_t)(brace - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return false;
	const char *seg = path + pre;
	size_t n = strcspn(seg, "/");
	if (n == 0 || seg[n] != '\0')   /* "{id}" is always last in our patterns */
		return false;
	if (id) {
		*id = seg;
		*idlen = n;
	}
	return true;
}

bool api_path_unsupported(const char *path)
{
	for (const char *const *u = api_unsupported_paths; *u; u++)
		if (path_match(*u, path, NULL, NULL))
			return true;
	return false;
}

static int bad_method(struct api_response *resp, const char *method, const char *path)
{
	api_response_fault(resp, "Invalid request method and/or path: %s %s.", method, path);
	return 0;
}

/* Firecracker's words for a body serde could not deserialise. */
#define SERDE_PREFIX "An error occurred when deserializing the json body of a request: "

/* Parse the body into a JSON object; 0 with *root, or answers the fault. */
static int load_body(const char *method, const char *body, size_t len, struct api_response *resp,
		     json_t **root)
{
	if (!body || len == 0) {
		/* Firecracker's sentence (micro_http sees no body), then wisp's. */
		api_response_fault(resp, "Empty %s request. The request body is empty: expected a JSON "
				   "object.", strcmp(method, "PATCH") == 0 ? "PATCH" : "PUT");
		return -1;
	}
	json_error_t je;
	*root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!*root) {
		/* jansson refuses integers beyond 64 bits, where serde would
		 * read a float and refuse its type. */
		const char *dup = strstr(je.text, "duplicate object key near '\"");
		if (dup) {   /* serde's words; jansson's position is serde's too */
			dup += strlen("duplicate object key near '\"");
			int n = (int)strcspn(dup, "\"");
			api_response_fault(resp, SERDE_PREFIX "duplicate field `%.*s` at line %d column "
					   "%d.", n > 64 ? 64 : n, dup, je.line, je.column);
		} else if (strstr(je.text, "too big"))
			api_response_fault(resp, SERDE_PREFIX "invalid type: a number too large for a "
					   "64-bit integer, expected an integer at line %d column %d.",
					   je.line, je.column);
		else
			api_response_fault(resp, SERDE_PREFIX "Invalid JSON: %s at line %d column %d.",
					   je.text, je.line, je.column);
		return -1;
	}
	if (!json_is_object(*root)) {
		char unexp[128];
		jserde_unexpected(*root, unexp, sizeof(unexp));
		api_response_fault(resp, SERDE_PREFIX "invalid type: %s, expected a JSON object.", unexp);
		json_decref(*root);
		*root = NULL;
		return -1;
	}
	return 0;
}

/* A body's field error: serde-class errors in Firecracker's shape (with
 * serde's position in the body), then wisp's path and words; others as
 * wisp wrote them. */
static void body_fault(struct api_response *resp, const char *object, const char *body,
		       size_t len, const char *msg, const struct jerr_info *in)
{
	if (!in->serde) {
		api_response_fault(resp, "%s", msg);
		return;
	}
	char where[48] = "";
	unsigned line, col;
	const char *rel = in->path;
	size_t olen = object ? strlen(object) : 0;
	if (olen && strncmp(rel, object, olen) == 0 && (rel[olen] == '\0' || rel[olen] == '.' ||
							rel[olen] == '['))
		rel += olen;
	if (jlocate(body, len, rel, in->key, in->at, &line, &col) == 0)
		snprintf(where, sizeof(where), " at line %u column %u", line, col);
	/* wisp's path and words after Firecracker's. */
	char path[272];
	if (in->key[0])
		snprintf(path, sizeof(path), "%s.%s", in->path, in->key);
	else
		snprintf(path, sizeof(path), "%s", in->path);
	if (in->detail[0])
		api_response_fault(resp, SERDE_PREFIX "%s%s. (%s: %s)", in->serde_msg, where, path,
				   in->detail);
	else
		api_response_fault(resp, SERDE_PREFIX "%s%s. (%s)", in->serde_msg, where, msg);
}

/* Body parsers with one signature: obj_X(e, object, body, &req->u.member). */
typedef int (*body_parser)(const struct jerr *e, const char *object, const json_t *body,
			   struct api_request *req);
#define BODY_PARSER(obj, member)                                                       \
	static int obj##_req(const struct jerr *e, const char *object, const json_t *body, \
			     struct api_request *req)                                      \
	{                                                                              \
		return obj(e, object, body, &req->u.member);                           \
	}
BODY_PARSER(obj_machine, machine)
BODY_PARSER(obj_machine_patch, machine_patch)
BODY_PARSER(obj_boot_source, boot)
BODY_PARSER(obj_drive, drive)
BODY_PARSER(obj_drive_patch, drive_patch)
BODY_PARSER(obj_net, net)
BODY_PARSER(obj_net_patch, net_patch)
BODY_PARSER(obj_action, action)
BODY_PARSER(obj_vm_state, vm_state)
BODY_PARSER(obj_logger, logger)
BODY_PARSER(obj_metrics, metrics)
BODY_PARSER(obj_snapshot_create, snap_create)
BODY_PARSER(obj_snapshot_load, snap_load)
BODY_PARSER(obj_vsock, vsock)
BODY_PARSER(obj_balloon, balloon)
BODY_PARSER(obj_balloon_patch, balloon_amount_mib)
BODY_PARSER(obj_balloon_stats_patch, balloon_stats_s)
BODY_PARSER(obj_balloon_hint_start, hint_ack_on_stop)
BODY_PARSER(obj_entropy, entropy)
BODY_PARSER(obj_serial, serial)
BODY_PARSER(obj_cpu_config, cpu_config)

/* Where the body's id is in the parsed request (0: no id to match). */
#define BODY_ID(member) offsetof(struct api_request, u.member)
#define NO_ID 0

/*
 * Every endpoint wisp implements, one line per method and path. A route
 * without a parser takes no body. "{id}" in a path matches one segment,
 * which must equal the body's id (as in Firecracker).
 */
static const struct route {
	const char *method;
	const char *path;
	enum api_request_kind kind;
	body_parser parse;
	const char *object;    /* names the body in messages: "drives.is_root_device: ..." */
	size_t body_id;        /* BODY_ID(...) for the paths with "{id}" */
} routes[] = {
	{"GET",   "/",                        API_REQ_GET_INSTANCE_INFO,    NULL, NULL, NO_ID},
	{"GET",   "/version",                 API_REQ_GET_VERSION,          NULL, NULL, NO_ID},
	{"GET",   "/vm/config",               API_REQ_GET_VM_CONFIG,        NULL, NULL, NO_ID},
	{"GET",   "/wisp/metrics",            API_REQ_GET_WISP_METRICS,     NULL, NULL, NO_ID},
	{"GET",   "/machine-config",          API_REQ_GET_MACHINE_CONFIG,   NULL, NULL, NO_ID},
	{"PUT",   "/machine-config",          API_REQ_PUT_MACHINE_CONFIG,   obj_machine_req,
	 "machine-config", NO_ID},
	{"PATCH", "/machine-config",          API_REQ_PATCH_MACHINE_CONFIG, obj_machine_patch_req,
	 "machine-config", NO_ID},
	{"PUT",   "/boot-source",             API_REQ_PUT_BOOT_SOURCE,      obj_boot_source_req,
	 "boot-source", NO_ID},
	{"PUT",   "/drives/{id}",             API_REQ_PUT_DRIVE,            obj_drive_req,
	 "drives", BODY_ID(drive.drive_id)},
	{"PATCH", "/drives/{id}",             API_REQ_PATCH_DRIVE,          obj_drive_patch_req,
	 "drives", BODY_ID(drive_patch.drive_id)},
	{"PUT",   "/network-interfaces/{id}", API_REQ_PUT_NET,              obj_net_req,
	 "network-interfaces", BODY_ID(net.iface_id)},
	{"PATCH", "/network-interfaces/{id}", API_REQ_PATCH_NET,            obj_net_patch_req,
	 "network-interfaces", BODY_ID(net_patch.iface_id)},
	{"PUT",   "/actions",                 API_REQ_ACTION,               obj_action_req,
	 "actions", NO_ID},
	{"PATCH", "/vm",                      API_REQ_PATCH_VM,             obj_vm_state_req,
	 "vm", NO_ID},
	{"PUT",   "/logger",                  API_REQ_PUT_LOGGER,           obj_logger_req,
	 "logger", NO_ID},
	{"PUT",   "/metrics",                 API_REQ_PUT_METRICS,          obj_metrics_req,
	 "metrics", NO_ID},
	{"PUT",   "/snapshot/create",         API_REQ_SNAPSHOT_CREATE,      obj_snapshot_create_req,
	 "snapshot/create", NO_ID},
	{"PUT",   "/snapshot/load",           API_REQ_SNAPSHOT_LOAD,        obj_snapshot_load_req,
	 "snapshot/load", NO_ID},
	{"PUT",   "/vsock",                   API_REQ_PUT_VSOCK,            obj_vsock_req,
	 "vsock", NO_ID},
	{"GET",   "/balloon",                 API_REQ_GET_BALLOON,          NULL, NULL, NO_ID},
	{"PUT",   "/balloon",                 API_REQ_PUT_BALLOON,          obj_balloon_req,
	 "balloon", NO_ID},
	{"PATCH", "/balloon",                 API_REQ_PATCH_BALLOON,        obj_balloon_patch_req,
	 "balloon", NO_ID},
	{"GET",   "/balloon/statistics",      API_REQ_GET_BALLOON_STATS,    NULL, NULL, NO_ID},
	{"PATCH", "/balloon/statistics",      API_REQ_PATCH_BALLOON_STATS,  obj_balloon_stats_patch_req,
	 "balloon/statistics", NO_ID},
	{"PATCH", "/balloon/hinting/start",   API_REQ_BALLOON_HINT_START,   obj_balloon_hint_start_req,
	 "balloon/hinting/start", NO_ID},
	{"GET",   "/balloon/hinting/status",  API_REQ_BALLOON_HINT_STATUS,  NULL, NULL, NO_ID},
	{"PATCH", "/balloon/hinting/stop",    API_REQ_BALLOON_HINT_STOP,    NULL, NULL, NO_ID},
	{"PUT",   "/entropy",                 API_REQ_PUT_ENTROPY,          obj_entropy_req,
	 "entropy", NO_ID},
	{"PUT",   "/serial",                  API_REQ_PUT_SERIAL,           obj_serial_req,
	 "serial", NO_ID},
	{"PUT",   "/cpu-config",              API_REQ_PUT_CPU_CONFIG,       obj_cpu_config_req,
	 "cpu-config", NO_ID},
};

static const char *deprecation(enum api_request_kind kind, const char *body, size_t len);

static int id_matches(const char *path_id, size_t idlen, const char *body_id,
		      enum api_request_kind kind, struct api_response *resp)
{
	if (strlen(body_id) != idlen || memcmp(path_id, body_id, idlen) != 0) {
		int n = (int)(idlen > 64 ? 64 : idlen);
		/* Firecracker's sentences: its drive routes name no ids. */
		if (kind == API_REQ_PUT_DRIVE || kind == API_REQ_PATCH_DRIVE)
			api_response_fault(resp, "The id from the path does not match the id from the "
					   "body! (the id from the path [%.*s], from the body [%s])",
					   n, path_id, body_id);
		else
			api_response_fault(resp, "The id from the path [%.*s] does not match the id "
					   "from the body [%s]!", n, path_id, body_id);
		return -1;
	}
	return 0;
}

int api_route(const char *method, const char *path, const char *body, size_t body_len,
	      struct api_request *req, struct api_response *resp)
{
	memset(req, 0, sizeof(*req));
	memset(resp, 0, sizeof(*resp));
	req->kind = API_REQ__COUNT;      /* no route (yet): for the counters */

	const struct route *r = NULL;
	const char *path_id = NULL;
	size_t idlen = 0;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]) && !r; i++)
		if (strcmp(routes[i].method, method) == 0 &&
		    path_match(routes[i].path, path, &path_id, &idlen))
			r = &routes[i];
	if (!r) {
		if (api_path_unsupported(path)) {
			api_response_fault(resp, "%s is not supported by wisp.", path);
			return 0;
		}
		return bad_method(resp, method, path);
	}
	/* The kind is known before the body is read, so a refused body is
	 * still counted against its endpoint. */
	req->kind = r->kind;
	if (strcmp(method, "GET") == 0 && body && body_len) {   /* Firecracker's rule */
		api_response_fault(resp, "GET request cannot have a body.");
		return 0;
	}
	if (r->kind == API_REQ_GET_VERSION) {    /* the api thread answers it */
		api_response_json_value(resp, json_pack("{s:s, s:s}", "firecracker_version",
							WISP_FC_VERSION, "wisp_version", WISP_VERSION));
		return 0;
	}
	if (!r->parse)
		return 1;
	/* The spec makes this body optional (BalloonStartCmd defaults). */
	if (r->kind == API_REQ_BALLOON_HINT_START && (!body || body_len == 0)) {
		req->u.hint_ack_on_stop = true;
		return 1;
	}

	json_t *root;
	if (load_body(method, body, body_len, resp, &root))
		return 0;
	char msg[600];
	struct jerr_info info;
	memset(&info, 0, sizeof(info));
	struct jerr e = {msg, sizeof(msg), &info};
	int rc = r->parse(&e, r->object, root, req);
	json_decref(root);
	if (rc) {
		body_fault(resp, r->object, body, body_len, msg, &info);
		return 0;
	}
	if (r->body_id &&
	    id_matches(path_id, idlen, (const char *)req + r->body_id, r->kind, resp))
		return 0;
	req->deprecation = deprecation(r->kind, body, body_len);
	return 1;
}

/* Firecracker's deprecated fields (its api_server/request/ files): given (and
 * not null), the request still works, with a warning and a header. */
static const char *deprecation(enum api_request_kind kind, const char *body, size_t len)
{
	const char *msg = NULL;
	if (kind != API_REQ_PUT_MACHINE_CONFIG && kind != API_REQ_PATCH_MACHINE_CONFIG &&
	    kind != API_REQ_PUT_VSOCK && kind != API_REQ_SNAPSHOT_LOAD)
		return NULL;   /* no deprecated field: no second parse */
	json_t *root = json_loadb(body, len, 0, NULL);
	if (!root)
		return NULL;
	switch (kind) {
	case API_REQ_PUT_MACHINE_CONFIG:
		if (jget(root, "cpu_template"))
			msg = "PUT /machine-config: cpu_template field is deprecated.";
		break;
	case API_REQ_PATCH_MACHINE_CONFIG:
		if (jget(root, "cpu_template"))
			msg = "PATCH /machine-config: cpu_template field is deprecated.";
		break;
	case API_REQ_PUT_VSOCK:
		if (jget(root, "vsock_id"))
			msg = "PUT /vsock: vsock_id field is deprecated.";
		break;
	case API_REQ_SNAPSHOT_LOAD:
		if (jget(root, "mem_file_path") || json_is_true(jget(root, "enable_diff_snapshots")))
			msg = "PUT /snapshot/load: mem_file_path and enable_diff_snapshots fields are "
			      "deprecated.";
		break;
	default:
		break;
	}
	json_decref(root);
	return msg;
}
