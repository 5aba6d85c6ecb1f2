/* SPDX-License-Identifier: Apache-2.0 */
/* jfield.c — strict field extraction from jansson objects. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jfield.h"

int jfail(const struct jerr *e, const char *prefix, const char *key, const char *fmt, ...)
{
	if (!e || !e->buf || !e->len)
		return -EINVAL;
	size_t n = 0;
	int w;
	if (prefix && *prefix && key && *key)
		w = snprintf(e->buf, e->len, "%s.%s: ", prefix, key);
	else if ((prefix && *prefix) || (key && *key))
		w = snprintf(e->buf, e->len, "%s: ", (prefix && *prefix) ? prefix : key);
	else
		w = 0, e->buf[0] = '\0';
	if (w > 0)
		n = (size_t)w < e->len ? (size_t)w : e->len - 1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->buf + n, e->len - n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *jtype_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

int jexpect_object(const struct jerr *e, const char *prefix, const json_t *v)
{
	if (!json_is_object(v))
		return jfail(e, prefix, NULL, "expected an object, got %s", jtype_name(v));
	return 0;
}

static bool in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/* serde's list of what was expected: "`a`", "`a` or `b`", "one of `a`, `b`,
 * `c`", "there are no fields"; the names of `a` then those of `b`. */
static void serde_expected(char *buf, size_t size, const char *const *a, const char *const *b)
{
	size_t total = 0, n = 0, i = 0;
	for (const char *const *l = a; l && *l; l++)
		total++;
	for (const char *const *l = b; l && *l; l++)
		total++;
	if (total == 0) {
		snprintf(buf, size, "there are no fields");
		return;
	}
	buf[0] = '\0';
	if (total > 2)
		n = (size_t)snprintf(buf, size, "one of ");
	for (int pass = 0; pass < 2; pass++) {
		for (const char *const *l = pass ? b : a; l && *l && n < size; l++, i++) {
			const char *sep = i == 0 ? "" : total == 2 ? " or " : ", ";
			int w = snprintf(buf + n, size - n, "%s`%s`", sep, *l);
			if (w < 0)
				return;
			n += (size_t)w;
		}
	}
}

int jcheck_keys(const struct jerr *e, const char *prefix, const json_t *obj,
		const char *const *known, const char *const *unsupported)
{
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)obj, key, val) {
		if (in_list(known, key))
			continue;
		if (in_list(unsupported, key)) {
			if (json_is_null(val))
				continue;
			return jfail(e, prefix, key, "is not supported by wisp");
		}
		char expected[512];
		serde_expected(expected, sizeof(expected), known, unsupported);
		return jfail(e, prefix, key, "unknown field `%.64s`, expected %s", key, expected);
	}
	return 0;
}

json_t *jget(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

/* The value of key in *v (NULL if absent or null): "missing required
 * field" if required and absent; a present value must be of type `want`
 * (in jtype_name's words: "a string", "a boolean", "an integer"). */
static int jpresent_as(const struct jerr *e, const char *prefix, const json_t *obj,
		       const char *key, bool required, const char *want, json_t **v,
		       bool *present)
{
	*v = jget(obj, key);
	if (present)
		*present = *v != NULL;
	if (!*v && required)
		return jfail(e, prefix, key, "missing required field (missing field `%s`)", key);
	if (*v && strcmp(jtype_name(*v), want) != 0)
		return jfail(e, prefix, key, "expected %s, got %s", want, jtype_name(*v));
	return 0;
}

int jstring(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	    bool required, char *dst, size_t size, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "a string", &v, present);
	if (rc || !v)
		return rc;
	size_t len = json_string_length(v);
	const char *s = json_string_value(v);
	if (len >= size)
		return jfail(e, prefix, key, "too long (%zu bytes, at most %zu)", len, size - 1);
	if (memchr(s, '\0', len))
		return jfail(e, prefix, key, "contains a NUL character");
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int jbool(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, bool *dst, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "a boolean", &v, present);
	if (rc || !v)
		return rc;
	*dst = json_is_true(v);
	return 0;
}

int jarray(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	   bool required, json_t **dst, bool *present)
{
	return jpresent_as(e, prefix, obj, key, required, "an array", dst, present);
}

int juint(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, uint64_t min, uint64_t max, uint64_t *dst, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "an integer", &v, present);
	if (rc || !v)
		return rc;
	json_int_t i = json_integer_value(v);
	if (i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return jfail(e, prefix, key, "out of range: %lld (must be in [%llu, %llu])",
			     (long long)i, (unsigned long long)min, (unsigned long long)max);
	*dst = (uint64_t)i;
	return 0;
}

int jenum(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, const char *const *names, bool nocase, int *dst, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "a string", &v, present);
	if (rc || !v)
		return rc;
	const char *s = json_string_value(v);
	for (int i = 0; names[i]; i++) {
		if (nocase ? strcasecmp(s, names[i]) == 0 : strcmp(s, names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	char expected[256];
	serde_expected(expected, sizeof(expected), names, NULL);
	return jfail(e, prefix, key, "invalid value \"%.64s\" (unknown variant `%.64s`, expected %s)",
		     s, s, expected);
}

json_t *jload_object(const struct jerr *e, const char *what, const char *text, size_t len)
{
	json_error_t je;
	if (len == 0) {
		jfail(e, what, NULL, "empty document: expected a JSON object");
		return NULL;
	}
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		jfail(e, what, NULL, "Invalid JSON: %s (line %d, column %d)", je.text, je.line,
		      je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		jfail(e, what, NULL, "expected a JSON object, got %s", jtype_name(root));
		json_decref(root);
		return NULL;
	}
	return root;
}
