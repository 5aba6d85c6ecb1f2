/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_json.c — read and write a seccomp policy in Firecracker's
 * seccompiler JSON format:
 *
 *   { "vmm":  { "default_action": "kill_process", "filter_action": "allow",
 *               "filter": [ { "syscall": "read" },
 *                           { "syscall": "ioctl", "comment": "...",
 *                             "args": [ { "index": 1, "type": "dword", "op": "eq",
 *                                         "val": 44672, "comment": "KVM_RUN" } ] } ] },
 *     "api":  { ... }, "vcpu": { ... } }
 *
 * Actions: "allow", "kill_process", "kill_thread" ("kill" is read as
 * kill_process), "log", "trap", {"errno": N}, {"trace": N}. Operators: "eq",
 * "ne", "lt", "le", "gt", "ge", {"masked_eq": MASK}. Every role must be
 * present; unknown roles, fields and system calls are refused. An error
 * names the role, the entry and the field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "vmm_seccomp.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* Where in the document we are ("vmm.filter[3] (ioctl).args[0]"); long
 * paths are cut, never overflowed. */
#define SC_PATH_LEN 256
static void __attribute__((format(printf, 2, 3))) path_fmt(char *dst, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, SC_PATH_LEN, fmt, ap);
	va_end(ap);
}

static const struct {
	const char *name;
	enum sc_action_kind kind;
} action_names[] = {
	{ "allow", SC_ACT_ALLOW }, { "kill_process", SC_ACT_KILL_PROCESS },
	{ "kill_thread", SC_ACT_KILL_THREAD }, { "kill", SC_ACT_KILL_PROCESS },
	{ "log", SC_ACT_LOG }, { "trap", SC_ACT_TRAP },
};

static const char *const op_names[] = {
	[SC_OP_EQ] = "eq", [SC_OP_NE] = "ne", [SC_OP_LT] = "lt", [SC_OP_LE] = "le",
	[SC_OP_GT] = "gt", [SC_OP_GE] = "ge",
};

/* Refuse keys outside `allowed` (NULL-terminated). */
static int check_keys(json_t *obj, const char *const *allowed, const char *where, char *err,
		      size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;

		for (const char *const *a = allowed; *a && !ok; a++)
			ok = !strcmp(key, *a);
		if (!ok) {
			ERR("%s: unknown field \"%s\"", where, key);
			return -EINVAL;
		}
	}
	return 0;
}

static int get_u64(json_t *v, const char *where, uint64_t max, uint64_t *out, char *err,
		   size_t errlen)
{
	json_int_t i;

	if (!v) {
		ERR("%s: missing", where);
		return -EINVAL;
	}
	if (!json_is_integer(v)) {
		ERR("%s: must be an integer", where);
		return -EINVAL;
	}
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max) {
		ERR("%s: %lld is out of range (0 to %llu)", where, (long long)i,
		    (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint64_t)i;
	return 0;
}

static int dup_comment(json_t *v, const char *where, char **out, char *err, size_t errlen)
{
	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v)) {
		ERR("%s.comment: must be a string", where);
		return -EINVAL;
	}
	*out = strdup(json_string_value(v));
	if (!*out) {
		ERR("out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int parse_action(json_t *v, const char *where, struct sc_action *a, char *err,
			size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (!v) {
		ERR("%s: missing", where);
		return -EINVAL;
	}
	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(action_names) / sizeof(action_names[0]); i++) {
			if (!strcmp(json_string_value(v), action_names[i].name)) {
				a->kind = action_names[i].kind;
				return 0;
			}
		}
		ERR("%s: unknown action \"%s\" (allow, kill_process, kill_thread, log, trap, "
		    "{\"errno\": N}, {\"trace\": N})", where, json_string_value(v));
		return -EINVAL;
	}
	if (json_is_object(v) && json_object_size(v) == 1) {
		json_t *n = json_object_get(v, "errno");
		char sub[SC_PATH_LEN];
		uint64_t data;

		a->kind = SC_ACT_ERRNO;
		if (!n) {
			n = json_object_get(v, "trace");
			a->kind = SC_ACT_TRACE;
		}
		if (n) {
			path_fmt(sub, "%s.%s", where,
				 a->kind == SC_ACT_ERRNO ? "errno" : "trace");
			if (get_u64(n, sub, a->kind == SC_ACT_ERRNO ? 4095 : 65535, &data, err,
				    errlen) < 0)
				return -EINVAL;
			a->data = (uint16_t)data;
			return 0;
		}
	}
	ERR("%s: must be an action name or {\"errno\": N} / {\"trace\": N}", where);
	return -EINVAL;
}

static int parse_cond(json_t *v, const char *where, struct sc_cond *c, char *err, size_t errlen)
{
	static const char *const keys[] = { "index", "type", "op", "val", "comment", NULL };
	char sub[SC_PATH_LEN];
	json_t *type, *op;
	uint64_t idx;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(v)) {
		ERR("%s: must be an object with index, type, op and val", where);
		return -EINVAL;
	}
	if (check_keys(v, keys, where, err, errlen) < 0)
		return -EINVAL;
	path_fmt(sub, "%s.index", where);
	if (get_u64(json_object_get(v, "index"), sub, 5, &idx, err, errlen) < 0)
		return -EINVAL;
	c->index = (unsigned)idx;

	type = json_object_get(v, "type");
	if (!type) {
		ERR("%s.type: missing", where);
		return -EINVAL;
	}
	if (!json_is_string(type) || (strcmp(json_string_value(type), "dword") &&
				       strcmp(json_string_value(type), "qword"))) {
		ERR("%s.type: must be \"dword\" or \"qword\"", where);
		return -EINVAL;
	}
	c->qword = !strcmp(json_string_value(type), "qword");

	op = json_object_get(v, "op");
	if (!op) {
		ERR("%s.op: missing", where);
		return -EINVAL;
	}
	if (json_is_string(op)) {
		bool found = false;

		for (unsigned i = 0; i < sizeof(op_names) / sizeof(op_names[0]) && !found; i++) {
			if (op_names[i] && !strcmp(json_string_value(op), op_names[i])) {
				c->op = (enum sc_op)i;
				found = true;
			}
		}
		if (!found) {
			ERR("%s.op: unknown operator \"%s\" (eq, ne, lt, le, gt, ge, "
			    "{\"masked_eq\": MASK})", where, json_string_value(op));
			return -EINVAL;
		}
	} else if (json_is_object(op) && json_object_size(op) == 1 &&
		   json_object_get(op, "masked_eq")) {
		path_fmt(sub, "%s.op.masked_eq", where);
		c->op = SC_OP_MASKED_EQ;
		if (get_u64(json_object_get(op, "masked_eq"), sub,
			    c->qword ? UINT64_MAX : 0xffffffffu, &c->mask, err, errlen) < 0)
			return -EINVAL;
	} else {
		ERR("%s.op: must be an operator name or {\"masked_eq\": MASK}", where);
		return -EINVAL;
	}

	path_fmt(sub, "%s.val", where);
	if (get_u64(json_object_get(v, "val"), sub, c->qword ? UINT64_MAX : 0xffffffffu, &c->val,
		    err, errlen) < 0)
		return -EINVAL;
	return dup_comment(json_object_get(v, "comment"), where, &c->comment, err, errlen);
}

static int parse_rule(json_t *v, const char *where, struct sc_rule *r, char *err, size_t errlen)
{
	static const char *const keys[] = { "syscall", "args", "comment", NULL };
	json_t *sc, *args;
	char sub[SC_PATH_LEN];
	int nr;

	if (!json_is_object(v)) {
		ERR("%s: must be an object with a \"syscall\"", where);
		return -EINVAL;
	}
	if (check_keys(v, keys, where, err, errlen) < 0)
		return -EINVAL;
	sc = json_object_get(v, "syscall");
	if (!sc) {
		ERR("%s.syscall: missing", where);
		return -EINVAL;
	}
	if (!json_is_string(sc)) {
		ERR("%s.syscall: must be a string", where);
		return -EINVAL;
	}
	nr = sc_syscall_nr(json_string_value(sc));
	if (nr < 0) {
		ERR("%s.syscall: unknown system call \"%s\" (not an x86_64 system call)", where,
		    json_string_value(sc));
		return -EINVAL;
	}
	r->syscall = strdup(json_string_value(sc));
	if (!r->syscall) {
		ERR("out of memory");
		return -ENOMEM;
	}
	path_fmt(sub, "%s (%s)", where, r->syscall);
	if (dup_comment(json_object_get(v, "comment"), sub, &r->comment, err, errlen) < 0)
		return -EINVAL;
	args = json_object_get(v, "args");
	if (!args)
		return 0;
	if (!json_is_array(args) || json_array_size(args) > SC_MAX_CONDS) {
		ERR("%s.args: must be an array of at most %d conditions", sub, SC_MAX_CONDS);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_array_size(args); i++) {
		char csub[SC_PATH_LEN];

		path_fmt(csub, "%s.args[%zu]", sub, i);
		r->ncond = (unsigned)i + 1;   /* counted first: freed on error */
		if (parse_cond(json_array_get(args, i), csub, &r->cond[i], err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

static int parse_filter(json_t *v, const char *role, struct sc_filter *f, char *err,
			size_t errlen)
{
	static const char *const keys[] = { "default_action", "filter_action", "filter", NULL };
	char sub[SC_PATH_LEN];
	json_t *rules;

	if (!json_is_object(v)) {
		ERR("%s: must be an object with default_action, filter_action and filter", role);
		return -EINVAL;
	}
	if (check_keys(v, keys, role, err, errlen) < 0)
		return -EINVAL;
	path_fmt(sub, "%s.default_action", role);
	if (parse_action(json_object_get(v, "default_action"), sub, &f->default_action, err,
			 errlen) < 0)
		return -EINVAL;
	path_fmt(sub, "%s.filter_action", role);
	if (parse_action(json_object_get(v, "filter_action"), sub, &f->filter_action, err,
			 errlen) < 0)
		return -EINVAL;
	if (f->default_action.kind == f->filter_action.kind &&
	    f->default_action.data == f->filter_action.data) {
		ERR("%s.filter_action: the same as default_action: the filter would do nothing",
		    role);
		return -EINVAL;
	}
	rules = json_object_get(v, "filter");
	if (!rules) {
		ERR("%s.filter: missing", role);
		return -EINVAL;
	}
	if (!json_is_array(rules)) {
		ERR("%s.filter: must be an array of rules", role);
		return -EINVAL;
	}
	f->rules = calloc(json_array_size(rules) + 1, sizeof(*f->rules));
	if (!f->rules) {
		ERR("out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < json_array_size(rules); i++) {
		path_fmt(sub, "%s.filter[%zu]", role, i);
		f->nrules = (unsigned)i + 1;   /* counted first: freed on error */
		if (parse_rule(json_array_get(rules, i), sub, &f->rules[i], err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}

int sc_policy_from_json(const char *text, struct sc_policy *p, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	const char *key;
	json_t *v;
	int r = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (!doc) {
		ERR("line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(doc)) {
		ERR("the document must be an object mapping the thread roles (vmm, api, vcpu) to "
		    "filters");
		goto out;
	}
	json_object_foreach(doc, key, v) {
		bool known = false;

		for (unsigned role = 0; role < SC_NR_ROLES; role++)
			known |= !strcmp(key, sc_role_name((enum sc_role)role));
		if (!known) {
			ERR("unknown thread role \"%s\" (the roles are vmm, api, vcpu)", key);
			goto out;
		}
	}
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		const char *name = sc_role_name((enum sc_role)role);

		v = json_object_get(doc, name);
		if (!v) {
			ERR("%s: missing (every thread role needs a filter: vmm, api, vcpu)", name);
			r = -EINVAL;
			goto out;
		}
		r = parse_filter(v, name, &p->role[role], err, errlen);
		if (r < 0)
			goto out;
	}
	r = 0;
out:
	json_decref(doc);
	if (r < 0)
		sc_policy_free(p);
	return r < 0 ? r : 0;
}

int sc_policy_load_file(const char *path, struct sc_policy *p, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0, cap = 0;
	int r;

	memset(p, 0, sizeof(*p));
	if (!f) {
		r = -errno;
		ERR("cannot open: %s", strerror(errno));
		return r;
	}
	for (;;) {
		size_t n;

		if (len + 4096 + 1 > cap) {
			char *t;

			cap = (len + 4096 + 1) * 2;
			if (cap > (64u << 20)) {
				ERR("larger than 64 MiB");
				r = -EFBIG;
				goto out;
			}
			t = realloc(text, cap);
			if (!t) {
				ERR("out of memory");
				r = -ENOMEM;
				goto out;
			}
			text = t;
		}
		n = fread(text + len, 1, 4096, f);
		len += n;
		if (n < 4096)
			break;
	}
	if (ferror(f)) {
		ERR("cannot read: %s", strerror(errno));
		r = -EIO;
		goto out;
	}
	text[len] = 0;
	if (strlen(text) != len) {
		ERR("contains a NUL byte");
		r = -EINVAL;
		goto out;
	}
	r = sc_policy_from_json(text, p, err, errlen);
out:
	free(text);
	fclose(f);
	return r;
}

/* ---------------- writing ---------------- */

static json_t *action_json(struct sc_action a)
{
	switch (a.kind) {
	case SC_ACT_ALLOW: return json_string("allow");
	case SC_ACT_KILL_PROCESS: return json_string("kill_process");
	case SC_ACT_KILL_THREAD: return json_string("kill_thread");
	case SC_ACT_LOG: return json_string("log");
	case SC_ACT_TRAP: return json_string("trap");
	case SC_ACT_ERRNO: return json_pack("{sI}", "errno", (json_int_t)a.data);
	case SC_ACT_TRACE: return json_pack("{sI}", "trace", (json_int_t)a.data);
	}
	return NULL;
}

static json_t *cond_json(const struct sc_cond *c)
{
	json_t *o = json_object();

	if (json_object_set_new(o, "index", json_integer((json_int_t)c->index)) ||
	    json_object_set_new(o, "type", json_string(c->qword ? "qword" : "dword")) ||
	    json_object_set_new(o, "op", c->op == SC_OP_MASKED_EQ ?
				    json_pack("{sI}", "masked_eq", (json_int_t)c->mask) :
				    json_string(op_names[c->op])) ||
	    json_object_set_new(o, "val", json_integer((json_int_t)c->val)) ||
	    (c->comment && json_object_set_new(o, "comment", json_string(c->comment)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *rule_json(const struct sc_rule *r)
{
	json_t *o = json_object();

	if (!o || json_object_set_new(o, "syscall", json_string(r->syscall)))
		goto fail;
	if (r->ncond) {
		json_t *args = json_array();

		if (!args || json_object_set_new(o, "args", args))
			goto fail;
		for (unsigned i = 0; i < r->ncond; i++)
			if (json_array_append_new(args, cond_json(&r->cond[i])))
				goto fail;
	}
	if (r->comment && json_object_set_new(o, "comment", json_string(r->comment)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

char *sc_policy_to_json(const struct sc_policy *p)
{
	json_t *doc = json_object();
	char *text = NULL;

	if (!doc)
		return NULL;
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		const struct sc_filter *f = &p->role[role];
		json_t *fo = json_object(), *rules;

		/* json_object_set_new takes the value (NULL fails cleanly) */
		if (json_object_set_new(doc, sc_role_name((enum sc_role)role), fo) ||
		    json_object_set_new(fo, "default_action", action_json(f->default_action)) ||
		    json_object_set_new(fo, "filter_action", action_json(f->filter_action)))
			goto out;
		rules = json_array();
		if (json_object_set_new(fo, "filter", rules))
			goto out;
		for (unsigned i = 0; i < f->nrules; i++)
			if (json_array_append_new(rules, rule_json(&f->rules[i])))
				goto out;
	}
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
	json_decref(doc);
	return text;
}
