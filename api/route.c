/* SPDX-License-Identifier: Apache-2.0 */
/* route.c — routing and body validation of every endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"
#include "route.h"

const char *const api_unsupported_paths[] = {
	"/balloon",
	"/balloon/statistics",
	"/balloon/hinting/start",
	"/balloon/hinting/status",
	"/balloon/hinting/stop",
	"/cpu-config",
	"/pmem/{id}",
	"/mmds",
	"/mmds/config",
	"/entropy",
	"/serial",
	"/hotplug/memory",
	"/snapshot/create",
	"/snapshot/load",
	"/vsock",
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
	[API_REQ_GET_VERSION] = "GET /version",
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

/* Parse the body into a JSON object; 0 with *root, or answers the fault. */
static int load_body(const char *body, size_t len, struct api_response *resp, json_t **root)
{
	if (!body || len == 0) {
		api_response_fault(resp, "The request body is empty: expected a JSON object.");
		return -1;
	}
	char msg[300];
	struct jerr e = {msg, sizeof(msg)};
	*root = jload_object(&e, "", body, len);
	if (!*root) {
		api_response_fault(resp, "%s", msg);
		return -1;
	}
	return 0;
}

static int id_matches(const char *path_id, size_t idlen, const char *body_id,
		      struct api_response *resp)
{
	if (strlen(body_id) != idlen || memcmp(path_id, body_id, idlen) != 0) {
		api_response_fault(resp,
				   "The id from the path [%.*s] does not match the id from the body [%s]!",
				   (int)(idlen > 64 ? 64 : idlen), path_id, body_id);
		return -1;
	}
	return 0;
}

int api_route(const char *method, const char *path, const char *body, size_t body_len,
	      struct api_request *req, struct api_response *resp)
{
	bool get = strcmp(method, "GET") == 0;
	bool put = strcmp(method, "PUT") == 0;
	bool patch = strcmp(method, "PATCH") == 0;
	memset(req, 0, sizeof(*req));
	memset(resp, 0, sizeof(*resp));
	req->kind = API_REQ__COUNT;      /* no route (yet): for the counters */

	if (strcmp(path, "/version") == 0) {
		if (!get)
			return bad_method(resp, method, path);
		req->kind = API_REQ_GET_VERSION;
		api_response_json_value(resp, json_pack("{s:s}", "firecracker_version", WISP_VERSION));
		return 0;
	}
	if (strcmp(path, "/") == 0) {
		if (!get)
			return bad_method(resp, method, path);
		req->kind = API_REQ_GET_INSTANCE_INFO;
		return 1;
	}
	if (strcmp(path, "/vm/config") == 0) {
		if (!get)
			return bad_method(resp, method, path);
		req->kind = API_REQ_GET_VM_CONFIG;
		return 1;
	}
	if (strcmp(path, "/machine-config") == 0 && get) {
		req->kind = API_REQ_GET_MACHINE_CONFIG;
		return 1;
	}

	/* Everything else takes a body and a PUT or PATCH. */
	const char *id = NULL;
	size_t idlen = 0;
	enum { R_MACHINE, R_BOOT, R_DRIVE, R_NET, R_ACTIONS, R_VM, R_LOGGER, R_METRICS } route;
	if (strcmp(path, "/machine-config") == 0 && (put || patch))
		route = R_MACHINE;
	else if (strcmp(path, "/boot-source") == 0 && put)
		route = R_BOOT;
	else if (path_match("/drives/{id}", path, &id, &idlen) && (put || patch))
		route = R_DRIVE;
	else if (path_match("/network-interfaces/{id}", path, &id, &idlen) && (put || patch))
		route = R_NET;
	else if (strcmp(path, "/actions") == 0 && put)
		route = R_ACTIONS;
	else if (strcmp(path, "/vm") == 0 && patch)
		route = R_VM;
	else if (strcmp(path, "/logger") == 0 && put)
		route = R_LOGGER;
	else if (strcmp(path, "/metrics") == 0 && put)
		route = R_METRICS;
	else {
		for (const char *const *u = api_unsupported_paths; *u; u++) {
			if (path_match(*u, path, NULL, NULL)) {
				api_response_fault(resp, "%s is not supported by wisp.", path);
				return 0;
			}
		}
		return bad_method(resp, method, path);
	}
	/* The kind is known before the body is read, so a refused body is
	 * still counted against its endpoint. */
	switch (route) {
	case R_MACHINE:
		req->kind = put ? API_REQ_PUT_MACHINE_CONFIG : API_REQ_PATCH_MACHINE_CONFIG;
		break;
	case R_BOOT:
		req->kind = API_REQ_PUT_BOOT_SOURCE;
		break;
	case R_DRIVE:
		req->kind = put ? API_REQ_PUT_DRIVE : API_REQ_PATCH_DRIVE;
		break;
	case R_NET:
		req->kind = put ? API_REQ_PUT_NET : API_REQ_PATCH_NET;
		break;
	case R_ACTIONS:
		req->kind = API_REQ_ACTION;
		break;
	case R_VM:
		req->kind = API_REQ_PATCH_VM;
		break;
	case R_LOGGER:
		req->kind = API_REQ_PUT_LOGGER;
		break;
	case R_METRICS:
		req->kind = API_REQ_PUT_METRICS;
		break;
	}

	json_t *root;
	if (load_body(body, body_len, resp, &root))
		return 0;
	char msg[600];
	struct jerr e = {msg, sizeof(msg)};
	int rc = 0;
	switch (route) {
	case R_MACHINE:
		if (put) {
			req->kind = API_REQ_PUT_MACHINE_CONFIG;
			rc = obj_machine(&e, "machine-config", root, &req->u.machine);
		} else {
			req->kind = API_REQ_PATCH_MACHINE_CONFIG;
			rc = obj_machine_patch(&e, "machine-config", root, &req->u.machine_patch);
		}
		break;
	case R_BOOT:
		req->kind = API_REQ_PUT_BOOT_SOURCE;
		rc = obj_boot_source(&e, "boot-source", root, &req->u.boot);
		break;
	case R_DRIVE:
		if (put) {
			req->kind = API_REQ_PUT_DRIVE;
			rc = obj_drive(&e, "drives", root, &req->u.drive);
			if (!rc && id_matches(id, idlen, req->u.drive.drive_id, resp))
				goto answered;
		} else {
			req->kind = API_REQ_PATCH_DRIVE;
			rc = obj_drive_patch(&e, "drives", root, &req->u.drive_patch);
			if (!rc && id_matches(id, idlen, req->u.drive_patch.drive_id, resp))
				goto answered;
		}
		break;
	case R_NET:
		if (put) {
			req->kind = API_REQ_PUT_NET;
			rc = obj_net(&e, "network-interfaces", root, &req->u.net);
			if (!rc && id_matches(id, idlen, req->u.net.iface_id, resp))
				goto answered;
		} else {
			req->kind = API_REQ_PATCH_NET;
			rc = obj_net_patch(&e, "network-interfaces", root, &req->u.net_patch);
			if (!rc && id_matches(id, idlen, req->u.net_patch.iface_id, resp))
				goto answered;
		}
		break;
	case R_ACTIONS:
		req->kind = API_REQ_ACTION;
		rc = obj_action(&e, "actions", root, &req->u.action);
		break;
	case R_VM:
		req->kind = API_REQ_PATCH_VM;
		rc = obj_vm_state(&e, "vm", root, &req->u.vm_state);
		break;
	case R_LOGGER:
		req->kind = API_REQ_PUT_LOGGER;
		rc = obj_logger(&e, "logger", root, &req->u.logger);
		break;
	case R_METRICS:
		req->kind = API_REQ_PUT_METRICS;
		rc = obj_metrics(&e, "metrics", root, &req->u.metrics);
		break;
	}
	json_decref(root);
	if (rc) {
		api_response_fault(resp, "%s", msg);
		return 0;
	}
	return 1;
answered:
	json_decref(root);
	return 0;
}
