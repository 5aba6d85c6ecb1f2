/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj_serial.c — Firecracker's SerialDevice object (PUT /serial, 1.14+):
 * {"serial_out_path": "...", "rate_limiter": TokenBucket}. Both fields are
 * optional; the guest's serial output goes to serial_out_path instead of
 * stdout, limited to rate_limiter's bytes (excess dropped, as Firecracker).
 * The same object is the config document's "serial" (a wisp extension:
 * Firecracker's VmmConfig skips that key).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "objects.h"

/* As obj_ratelimit.c: refill_time in ms must fit in ns. */
#define SERIAL_RL_MAX_REFILL_MS (UINT64_MAX / 1000000u)

static int serial_bucket(const struct jerr *e, const char *prefix, const json_t *o,
			 struct token_bucket_config *out)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	json_t *v = jget(o, "rate_limiter");
	char p[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.rate_limiter", prefix);
	rc = jexpect_object(e, p, v);
	if (!rc)
		rc = jcheck_keys(e, p, v, keys, NULL);
	if (!rc)
		rc = juint(e, p, v, "size", true, 0, INT64_MAX, &out->size, NULL);
	if (!rc)
		rc = juint(e, p, v, "one_time_burst", false, 0, INT64_MAX, &out->one_time_burst, NULL);
	if (!rc)
		rc = juint(e, p, v, "refill_time", true, 0, SERIAL_RL_MAX_REFILL_MS, &out->refill_time,
			   NULL);
	/* A bucket of size 0 or refill_time 0 limits nothing (Firecracker's
	 * TokenBucket::new gives None): stored as no limit. */
	if (!rc && token_bucket_limits(&(struct token_bucket_config){.set = true, .size = out->size,
								      .refill_time = out->refill_time}))
		out->set = true;
	else if (!rc)
		memset(out, 0, sizeof(*out));
	return rc;
}

int obj_serial(const struct jerr *e, const char *prefix, const json_t *o,
	       struct serial_config *out)
{
	static const char *const keys[] = {"serial_out_path", "rate_limiter", NULL};
	struct serial_config s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = jstring(e, prefix, o, "serial_out_path", false, s.serial_out_path,
			     sizeof(s.serial_out_path), NULL);
	if (!rc && jget(o, "serial_out_path") && !s.serial_out_path[0])
		rc = jfail(e, prefix, "serial_out_path", "must not be empty");
	if (!rc)
		rc = serial_bucket(e, prefix, o, &s.rate_limiter);
	if (!rc) {
		s.set = true;
		*out = s;
	}
	return rc;
}

json_t *obj_serial_json(const struct serial_config *s)
{
	json_t *o = json_object();
	json_t *rl;

	if (!o)
		return NULL;
	json_object_set_new(o, "serial_out_path",
			    s->serial_out_path[0] ? json_string(s->serial_out_path) : json_null());
	if (token_bucket_limits(&s->rate_limiter)) {
		rl = json_object();
		if (rl) {
			json_object_set_new(rl, "size", json_integer((json_int_t)s->rate_limiter.size));
			json_object_set_new(rl, "one_time_burst",
					    s->rate_limiter.one_time_burst
						    ? json_integer((json_int_t)s->rate_limiter.one_time_burst)
						    : json_null());
			json_object_set_new(rl, "refill_time",
					    json_integer((json_int_t)s->rate_limiter.refill_time));
		}
		json_object_set_new(o, "rate_limiter", rl ? rl : json_null());
	} else {
		json_object_set_new(o, "rate_limiter", json_null());
	}
	return o;
}
