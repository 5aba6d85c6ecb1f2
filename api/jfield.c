/* SPDX-License-Identifier: Apache-2.0 */
/* jfield.c — strict field extraction from jansson objects. */
#include <errno.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "jfield.h"

int jfail(const struct jerr *e, const char *prefix, const char *key, const char *fmt, ...)
{
	if (e && e->info)
		e->info->serde = false;    /* jserde() sets it again after this */
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

int jserde(const struct jerr *e, const char *prefix, const char *key, enum jerr_at at,
	   const char *detail, const char *fmt, ...)
{
	char serde[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(serde, sizeof(serde), fmt, ap);
	va_end(ap);
	/* The document's form: wisp's words first, serde's in parentheses
	 * (or serde's alone when they already say it). */
	if (detail && strncmp(serde, detail, strlen(detail)) != 0)
		jfail(e, prefix, key, "%s (%s)", detail, serde);
	else
		jfail(e, prefix, key, "%s", serde);
	if (e && e->info) {
		struct jerr_info *in = e->info;
		in->serde = true;
		in->at = at;
		snprintf(in->path, sizeof(in->path), "%s", prefix ? prefix : "");
		snprintf(in->key, sizeof(in->key), "%s", key ? key : "");
		snprintf(in->serde_msg, sizeof(in->serde_msg), "%s", serde);
		snprintf(in->detail, sizeof(in->detail), "%s", detail ? detail : "");
	}
	return -EINVAL;
}

/* Rust's Debug of a string, as serde prints it: "..." with \" \\ \n \t \r escaped. */
static void debug_str(const char *s, size_t n, char *buf, size_t size)
{
	size_t o = 0;
	if (size < 8)
		return;
	buf[o++] = '"';
	/* Room for the widest escape (\u{1f}: 6 bytes), the closing quote and the NUL. */
	for (size_t i = 0; i < n && o + 8 <= size; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" :
				  c == '\t' ? "\\t" : c == '\r' ? "\\r" : NULL;
		if (esc) {
			buf[o++] = esc[0];
			buf[o++] = esc[1];
		} else if (c < 0x20) {
			o += (size_t)snprintf(buf + o, size - o, "\\u{%x}", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

void jserde_unexpected(const json_t *v, char *buf, size_t size)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: snprintf(buf, size, "map"); return;
	case JSON_ARRAY: snprintf(buf, size, "sequence"); return;
	case JSON_STRING: {
		char q[96];
		size_t n = json_string_length(v);
		debug_str(json_string_value(v), n > 64 ? 64 : n, q, sizeof(q));
		snprintf(buf, size, "string %s", q);
		return;
	}
	case JSON_INTEGER:
		snprintf(buf, size, "integer `%lld`", (long long)json_integer_value(v));
		return;
	case JSON_REAL: {
		double d = json_real_value(v);
		/* Range first: converting an out-of-range double to an integer is undefined. */
		if (d < 1e16 && d > -1e16 && d == (double)(long long)d)
			snprintf(buf, size, "floating point `%.1f`", d);
		else
			snprintf(buf, size, "floating point `%.17g`", d);
		return;
	}
	case JSON_TRUE: snprintf(buf, size, "boolean `true`"); return;
	case JSON_FALSE: snprintf(buf, size, "boolean `false`"); return;
	case JSON_NULL: snprintf(buf, size, "null"); return;
	}
	snprintf(buf, size, "a value");
}

/* ---- locating serde's position in the text (already valid JSON) ---- */

struct jscan {
	const char *t;
	size_t n;
};

static size_t sk_ws(const struct jscan *s, size_t i)
{
	while (i < s->n && (s->t[i] == ' ' || s->t[i] == '\t' || s->t[i] == '\n' ||
			    s->t[i] == '\r'))
		i++;
	return i;
}

/* i at the opening quote: returns the index of the closing quote. */
static size_t sk_string(const struct jscan *s, size_t i)
{
	for (i++; i < s->n && s->t[i] != '"'; i++)
		if (s->t[i] == '\\')
			i++;
	return i;
}

/* i at a value's first character: returns the index of its last character. */
static size_t sk_value(const struct jscan *s, size_t i)
{
	if (i >= s->n)
		return s->n;
	char c = s->t[i];
	if (c == '"')
		return sk_string(s, i);
	if (c == '{' || c == '[') {
		char close = c == '{' ? '}' : ']';
		i = sk_ws(s, i + 1);
		if (i < s->n && s->t[i] == close)
			return i;
		for (;;) {
			if (c == '{') {
				i = sk_string(s, i);
				i = sk_ws(s, i + 1);   /* ':' */
				i = sk_ws(s, i + 1);
			}
			i = sk_value(s, i);
			i = sk_ws(s, i + 1);
			if (i >= s->n || s->t[i] == close)
				return i;
			i = sk_ws(s, i + 1);   /* after ',' */
		}
	}
	while (i + 1 < s->n && !strchr(",}] \t\r\n", s->t[i + 1]))
		i++;
	return i;
}

/* Does the JSON string at [q0, q1] (quotes included) equal key? Simple
 * escapes only (keys wisp knows are plain ASCII). */
static bool key_eq(const struct jscan *s, size_t q0, size_t q1, const char *key, size_t klen)
{
	size_t k = 0;
	for (size_t i = q0 + 1; i < q1; i++, k++) {
		char c = s->t[i];
		if (c == '\\' && i + 1 < q1) {
			c = s->t[++i];
			if (c == 'u' || !strchr("\"\\/", c))
				return false;
		}
		if (k >= klen || key[k] != c)
			return false;
	}
	return k == klen;
}

/* In the object starting at i ('{'): the key's quotes and its value's
 * first character; or, with key NULL, the index of the closing '}'. */
static int find_member(const struct jscan *s, size_t i, const char *key, size_t klen,
		       size_t *kq1, size_t *val)
{
	if (i >= s->n || s->t[i] != '{')
		return -1;
	i = sk_ws(s, i + 1);
	while (i < s->n && s->t[i] == '"') {
		size_t q1 = sk_string(s, i);
		size_t v = sk_ws(s, sk_ws(s, q1 + 1) + 1);
		if (key && key_eq(s, i, q1, key, klen)) {
			*kq1 = q1;
			*val = v;
			return 0;
		}
		i = sk_ws(s, sk_value(s, v) + 1);
		if (i < s->n && s->t[i] == ',')
			i = sk_ws(s, i + 1);
	}
	if (!key && i < s->n && s->t[i] == '}') {
		*val = i;
		return 0;
	}
	return -1;
}

/* The array item idx of the array at i ('['): its first character. */
static int find_item(const struct jscan *s, size_t i, unsigned long idx, size_t *val)
{
	if (i >= s->n || s->t[i] != '[')
		return -1;
	i = sk_ws(s, i + 1);
	for (unsigned long k = 0; i < s->n && s->t[i] != ']'; k++) {
		if (k == idx) {
			*val = i;
			return 0;
		}
		i = sk_ws(s, sk_value(s, i) + 1);
		if (i < s->n && s->t[i] == ',')
			i = sk_ws(s, i + 1);
	}
	return -1;
}

int jlocate(const char *text, size_t len, const char *path, const char *key, enum jerr_at at,
	    unsigned *line, unsigned *col)
{
	struct jscan s = {text, len};
	size_t i = sk_ws(&s, 0), kq1 = 0, val = 0, pos;
	const char *p = path ? path : "";

	if (at == JERR_AT_NONE || !text)
		return -1;
	/* Walk the path: "a.b[2].c". */
	while (*p) {
		if (*p == '.')
			p++;
		if (*p == '[') {
			char *end;
			unsigned long idx = strtoul(p + 1, &end, 10);
			if (*end != ']' || find_item(&s, i, idx, &val))
				return -1;
			i = val;
			p = end + 1;
			continue;
		}
		size_t n = strcspn(p, ".[");
		if (find_member(&s, i, p, n, &kq1, &val))
			return -1;
		i = val;
		p += n;
	}
	if (key && *key && at != JERR_AT_END) {
		if (find_member(&s, i, key, strlen(key), &kq1, &val))
			return -1;
		if (at == JERR_AT_KEY)
			pos = kq1;
		else if (at == JERR_AT_VALUE)
			pos = (text[val] == '{' || text[val] == '[') ? val : sk_value(&s, val);
		else
			return -1;
	} else if (at == JERR_AT_END) {
		if (find_member(&s, i, NULL, 0, &kq1, &val))
			return -1;
		pos = val;
	} else if (at == JERR_AT_VALUE) {
		pos = i;    /* the value itself, given where an object was expected */
		if (pos < len && text[pos] != '{' && text[pos] != '[')
			pos = sk_value(&s, pos);
	} else {
		return -1;
	}
	if (pos >= len)
		return -1;
	/* serde_json: the index after the last consumed character, counted
	 * from the start of its line. */
	size_t after = pos + 1, sol = 0;
	unsigned ln = 1;
	for (size_t k = 0; k < after; k++)
		if (text[k] == '\n') {
			ln++;
			sol = k + 1;
		}
	*line = ln;
	*col = (unsigned)(after - sol);
	return 0;
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
	if (!json_is_object(v)) {
		char unexp[128];
		jserde_unexpected(v, unexp, sizeof(unexp));
		char detail[64];
		snprintf(detail, sizeof(detail), "expected an object, got %s", jtype_name(v));
		return jserde(e, prefix, NULL, JERR_AT_VALUE, detail,
			      "invalid type: %s, expected a map (JSON object)", unexp);
	}
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
		return jserde(e, prefix, key, JERR_AT_KEY, "unknown field",
			      "unknown field `%.64s`, expected %s", key, expected);
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
		       const char *key, bool required, const char *want, const char *serde_want,
		       json_t **v, bool *present)
{
	*v = jget(obj, key);
	if (present)
		*present = *v != NULL;
	if (!*v && required)
		return jserde(e, prefix, key, JERR_AT_END, "missing required field",
			      "missing field `%s`", key);
	if (*v && strcmp(jtype_name(*v), want) != 0) {
		char detail[128], unexp[128];
		snprintf(detail, sizeof(detail), "expected %s, got %s", want, jtype_name(*v));
		jserde_unexpected(*v, unexp, sizeof(unexp));
		return jserde(e, prefix, key, JERR_AT_VALUE, detail, "invalid type: %s, expected %s",
			      unexp, serde_want);
	}
	return 0;
}

/* serde's name of the unsigned type a range fits (Firecracker's field types). */
static const char *serde_uint_name(uint64_t max)
{
	if (max <= UINT8_MAX)
		return "u8";
	if (max <= UINT16_MAX)
		return "u16";
	if (max <= UINT32_MAX)
		return "u32";
	return "u64";
}

int jstring(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	    bool required, char *dst, size_t size, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "a string", "a string", &v, present);
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
	int rc = jpresent_as(e, prefix, obj, key, required, "a boolean", "a boolean", &v, present);
	if (rc || !v)
		return rc;
	*dst = json_is_true(v);
	return 0;
}

int jarray(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	   bool required, json_t **dst, bool *present)
{
	return jpresent_as(e, prefix, obj, key, required, "an array", "a sequence", dst, present);
}

int juint(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, uint64_t min, uint64_t max, uint64_t *dst, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "an integer", serde_uint_name(max), &v,
			     present);
	if (rc || !v)
		return rc;
	json_int_t i = json_integer_value(v);
	if (i < 0) { /* serde: a negative number for an unsigned field */
		char detail[96];
		snprintf(detail, sizeof(detail), "out of range: %lld (must be in [%llu, %llu])",
			 (long long)i, (unsigned long long)min, (unsigned long long)max);
		return jserde(e, prefix, key, JERR_AT_VALUE, detail,
			      "invalid value: integer `%lld`, expected %s", (long long)i,
			      serde_uint_name(max));
	}
	if ((uint64_t)i < min || (uint64_t)i > max)
		return jfail(e, prefix, key, "out of range: %lld (must be in [%llu, %llu])",
			     (long long)i, (unsigned long long)min, (unsigned long long)max);
	*dst = (uint64_t)i;
	return 0;
}

int jenum(const struct jerr *e, const char *prefix, const json_t *obj, const char *key,
	  bool required, const char *const *names, bool nocase, int *dst, bool *present)
{
	json_t *v;
	int rc = jpresent_as(e, prefix, obj, key, required, "a string", "a string", &v, present);
	if (rc || !v)
		return rc;
	const char *s = json_string_value(v);
	for (int i = 0; names[i]; i++) {
		if (nocase ? strcasecmp(s, names[i]) == 0 : strcmp(s, names[i]) == 0) {
			*dst = i;
			return 0;
		}
	}
	char expected[256], detail[96];
	serde_expected(expected, sizeof(expected), names, NULL);
	snprintf(detail, sizeof(detail), "invalid value \"%.64s\"", s);
	return jserde(e, prefix, key, JERR_AT_VALUE, detail, "unknown variant `%.64s`, expected %s",
		      s, expected);
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
