/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jfield.h — strict field extraction from a jansson object (private to api/).
 *
 * Every error message names the field by its path: "<prefix>.<key>: <problem>"
 * (or "<key>: <problem>" when the prefix is empty). Optional fields given as
 * JSON null are treated as absent, as Firecracker's serde Option<T> does.
 * Where Firecracker (serde) has its own words for an error, the message
 * contains them, since clients match substrings of Firecracker's messages:
 * "missing field `x`", "unknown field `x`, expected one of `a`, `b`",
 * "unknown variant `x`, expected `A` or `B`".
 */
#ifndef WISP_API_JFIELD_H
#define WISP_API_JFIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct jerr {
	char *buf;
	size_t len;
};

/* Write "<prefix>.<key>: <msg>" into e; always returns -EINVAL. */
int jfail(const struct jerr *e, const char *prefix, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The object at `v` must be a JSON object; names the path otherwise. */
int jexpect_object(const struct jerr *e, const char *prefix, const json_t *v);

/* Reject keys not in `known` (NULL-terminated) with "<key>: unknown field
 * `<key>`, expected ..." (known then unsupported names, as serde lists a
 * struct's fields). Keys in `unsupported` (NULL-terminated, may be NULL) are
 * refused as "not supported by wisp" unless their value is null. */
int jcheck_keys(const struct jerr *e, const char *prefix, const json_t *obj,
		const char *const *known, const char *const *unsupported);

/* Look up `key`; null counts as absent. Returns NULL when absent. */
json_t *jget(const json_t *obj, const char *key);

/* Each returns 0 and sets *present (when non-NULL) on success; a missing
 * required field is an error ("missing required field (missing field
 * `<key>`)"). Strings must fit in `size` bytes with NUL. */
int jstring(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	    bool required, char *dst, size_t size, bool *present);
int jbool(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, bool *dst, bool *present);
/* An array (borrowed reference in *dst; NULL when absent or null). */
int jarray(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	   bool required, json_t **dst, bool *present);
/* Integer in [min, max]. */
int juint(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, uint64_t min, uint64_t max, uint64_t *dst, bool *present);
/* String that must be one of names[] (NULL-terminated); *dst = index.
 * Comparison is case-sensitive unless nocase. Refused with 'invalid value
 * "<v>" (unknown variant `<v>`, expected ...)'. */
int jenum(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, const char *const *names, bool nocase, int *dst, bool *present);

/* Parse text as one JSON object (duplicate keys rejected). On error writes
 * "Invalid JSON: ..." to e and returns NULL. */
json_t *jload_object(const struct jerr *e, const char *what, const char *text, size_t len);

#endif
