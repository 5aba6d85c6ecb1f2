/* SPDX-License-Identifier: Apache-2.0 */
/* response.c — typed responses and the JSON documents GETs return. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objects.h"

void api_response_clear(struct api_response *r)
{
	free(r->body);
	r->body = NULL;
	r->status = 0;
}

void api_response_no_content(struct api_response *r)
{
	api_response_clear(r);
	r->status = 204;
}

void api_response_fault(struct api_response *r, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_response_clear(r);
	r->status = 400;
	json_t *o = json_pack("{s:s}", "fault_message", msg);
	if (!o) /* invalid UTF-8 in the message: keep the fault, lose the detail */
		o = json_pack("{s:s}", "fault_message", "Invalid request (unprintable detail).");
	r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
}

void api_response_json(struct api_response *r, char *json)
{
	api_response_clear(r);
	if (!json) {
		api_response_fault(r, "Internal error: out of memory.");
		return;
	}
	r->status = 200;
	r->body = json;
}

void api_response_json_value(struct api_response *r, struct json_t *value)
{
	char *s = value ? json_dumps(value, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(value);
	api_response_json(r, s);
}

const char *api_instance_state_name(enum api_instance_state st)
{
	switch (st) {
	case API_STATE_RUNNING: return "Running";
	case API_STATE_PAUSED: return "Paused";
	case API_STATE_NOT_STARTED: break;
	}
	return "Not started";
}

char *api_instance_info_json(const char *id, enum api_instance_state st)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", id ? id : "anonymous-instance",
			      "state", api_instance_state_name(st), "vmm_version", WISP_FC_VERSION,
			      "app_name", WISP_APP_NAME);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}

char *api_machine_config_json(const struct machine_config *mc)
{
	json_t *o = obj_machine_json(mc);
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	return s;
}
