/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj_ratelimit.c — Firecracker's RateLimiter object ({bandwidth, ops}, each
 * a TokenBucket {size, one_time_burst, refill_time}) on drives, network
 * interfaces and /entropy, and the /entropy object itself.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "objects.h"

/* refill_time is in ms; Firecracker works in ns, so larger values would
 * overflow (Firecracker then silently drops the bucket; wisp refuses). */
#define RL_MAX_REFILL_MS (UINT64_MAX / 1000000u)

static int token_bucket(const struct jerr *e, const char *prefix, const json_t *o,
			const char *key, struct token_bucket_config *out)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	json_t *v = jget(o, key);
	char p[160];
	int rc;

	memset(out, 0, sizeof(*out));
	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", prefix, key);
	rc = jexpect_object(e, p, v);
	if (!rc)
		rc = jcheck_keys(e, p, v, keys, NULL);
	if (!rc)
		rc = juint(e, p, v, "size", true, 0, INT64_MAX, &out->size, NULL);
	if (!rc)
		rc = juint(e, p, v, "one_time_burst", false, 0, INT64_MAX, &out->one_time_burst, NULL);
	if (!rc)
		rc = juint(e, p, v, "refill_time", true, 0, RL_MAX_REFILL_MS, &out->refill_time, NULL);
	if (!rc)
		out->set = true;
	return rc;
}

int obj_rate_limiter(const struct jerr *e, const char *prefix, const json_t *o, const char *key,
		     struct rate_limiter_config *out, bool *present)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	json_t *v = jget(o, key);
	char p[128];
	int rc;

	memset(out, 0, sizeof(*out));
	if (present)
		*present = v != NULL;
	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", prefix, key);
	rc = jexpect_object(e, p, v);
	if (!rc)
		rc = jcheck_keys(e, p, v, keys, NULL);
	if (!rc)
		rc = token_bucket(e, p, v, "bandwidth", &out->bandwidth);
	if (!rc)
		rc = token_bucket(e, p, v, "ops", &out->ops);
	return rc;
}

void obj_rate_limiter_normalize(struct rate_limiter_config *r)
{
	if (!token_bucket_limits(&r->bandwidth))
		memset(&r->bandwidth, 0, sizeof(r->bandwidth));
	if (!token_bucket_limits(&r->ops))
		memset(&r->ops, 0, sizeof(r->ops));
}

static json_t *bucket_json(const struct token_bucket_config *b)
{
	json_t *o;

	if (!token_bucket_limits(b))
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "size", json_integer((json_int_t)b->size));
	json_object_set_new(o, "one_time_burst",
			    b->one_time_burst ? json_integer((json_int_t)b->one_time_burst)
					      : json_null());
	json_object_set_new(o, "refill_time", json_integer((json_int_t)b->refill_time));
	return o;
}

json_t *obj_rate_limiter_json(const struct rate_limiter_config *r)
{
	json_t *o;

	if (!rate_limiter_limits(r))
		return json_null();
	o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "bandwidth", bucket_json(&r->bandwidth));
	json_object_set_new(o, "ops", bucket_json(&r->ops));
	return o;
}

/* ---------------- entropy ---------------- */

int obj_entropy(const struct jerr *e, const char *prefix, const json_t *o,
		struct entropy_config *out)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	struct entropy_config c;
	int rc = jexpect_object(e, prefix, o);

	memset(&c, 0, sizeof(c));
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = obj_rate_limiter(e, prefix, o, "rate_limiter", &c.rate_limiter, NULL);
	if (!rc) {
		obj_rate_limiter_normalize(&c.rate_limiter);
		c.set = true;
		*out = c;
	}
	return rc;
}

json_t *obj_entropy_json(const struct entropy_config *c)
{
	json_t *o = json_object();

	if (o)
		json_object_set_new(o, "rate_limiter", obj_rate_limiter_json(&c->rate_limiter));
	return o;
}
