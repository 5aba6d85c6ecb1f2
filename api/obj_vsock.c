/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj_vsock.c — the vsock object (PUT /vsock, config document "vsock"):
 * Firecracker's VsockDeviceConfig {vsock_id (deprecated), guest_cid,
 * uds_path}.
 */
#include <stdio.h>
#include <string.h>

#include "objects.h"

int obj_vsock(const struct jerr *e, const char *prefix, const json_t *o,
	      struct vsock_config *out)
{
	static const char *const keys[] = {"vsock_id", "guest_cid", "uds_path", NULL};
	struct vsock_config v = {0};
	char path[VM_PATH_MAX];
	bool has_id = false;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "vsock_id", false, v.vsock_id, sizeof(v.vsock_id), &has_id);
	/* A u32 in Firecracker; the spec's minimum is 3 (0-2 are reserved:
	 * hypervisor, local, host). */
	if (!rc)
		rc = juint(e, prefix, o, "guest_cid", true, 3, UINT32_MAX, &v.guest_cid, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "uds_path", true, path, sizeof(path), NULL);
	if (!rc && !path[0])
		rc = jfail(e, prefix, "uds_path", "must not be empty");
	if (!rc && strlen(path) > VSOCK_UDS_PATH_MAX)
		rc = jfail(e, prefix, "uds_path",
			   "is %zu bytes long; a Unix socket path holds at most %d", strlen(path),
			   VSOCK_UDS_PATH_MAX);
	if (!rc) {
		memcpy(v.uds_path, path, strlen(path) + 1);
		v.set = true;
		*out = v;
	}
	return rc;
}

json_t *obj_vsock_json(const struct vsock_config *v)
{
	/* As Firecracker: vsock_id (deprecated) is not written back. */
	return json_pack("{s:I,s:s}", "guest_cid", (json_int_t)v->guest_cid, "uds_path",
			 v->uds_path);
}
