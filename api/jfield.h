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

/* Where in the JSON text serde would report an error (serde_json's
 * "at line L column C": the last character it had consumed). */
enum jerr_at {
	JERR_AT_NONE,      /* no position (a custom serde error) */
	JERR_AT_KEY,       /* the closing quote of the key (unknown field) */
	JERR_AT_VALUE,     /* the key's value: its last character, or the bracket
			    * opening an object or array (invalid type/value) */
	JERR_AT_END,       /* the '}' closing the object (missing field) */
};

/* Filled (when a struct jerr has one) by errors Firecracker reports as
 * serde deserialisation errors, so that the REST layer can answer with
 * Firecracker's "An error occurred when deserializing the json body of a
 * request: <serde> at line L column C." followed by wisp's path. */
struct jerr_info {
	bool serde;                /* the last error was a serde-class one */
	enum jerr_at at;
	char path[192];            /* the object's path ("machine-config", "snapshot/load.mem_backend") */
	char key[72];              /* the field within it ("" for the object itself) */
	char serde_msg[512];       /* serde's words, without the position */
	char detail[160];          /* wisp's short words ("missing required field") */
};

struct jerr {
	char *buf;
	size_t len;
	struct jerr_info *info;    /* optional */
};

/* Write "<prefix>.<key>: <msg>" into e; always returns -EINVAL. */
int jfail(const struct jerr *e, const char *prefix, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* A serde-class error: writes "<prefix>.<key>: <detail> (<serde>)" (or
 * "<prefix>.<key>: <serde>" without detail) into e and fills e->info.
 * Always returns -EINVAL. */
int jserde(const struct jerr *e, const char *prefix, const char *key, enum jerr_at at,
	   const char *detail, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* serde's words for a JSON value's type, as in "invalid type: <this>,
 * expected ...": `string "x"`, "integer `5`", "boolean `true`", "map", ... */
void jserde_unexpected(const json_t *v, char *buf, size_t size);

/* Find, in the JSON text, the position serde reports for an error at
 * `path` (object keys separated by '.', array items as "[i]", relative
 * to the top-level object; "" for it) and `key` (see enum jerr_at).
 * Returns 0 with the 1-based line and serde's column, or -1. */
int jlocate(const char *text, size_t len, const char *path, const char *key, enum jerr_at at,
	    unsigned *line, unsigned *col);

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
