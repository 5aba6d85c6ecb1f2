/* SPDX-License-Identifier: Apache-2.0 */
/*
 * obj_cpuconfig.c — Firecracker's custom CPU template (PUT /cpu-config and
 * the config document's "cpu-config"): kvm_capabilities, cpuid_modifiers,
 * msr_modifiers, with Firecracker's messages for its own checks
 * (docs/cpu-templates.md). The strings are parsed by vmm/boot/cputemplate.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objects.h"

/* A "cpu-config" file larger than this is refused. */
#define CPU_CONFIG_MAX_FILE (1024 * 1024)

static int string_field(const struct jerr *e, const char *prefix, const json_t *o,
			const char *key, const char **out)
{
	json_t *v = json_object_get(o, key);
	char got[96];

	if (!v)
		return jserde(e, prefix, key, JERR_AT_END, "missing required field",
			      "missing field `%s`", key);
	if (!json_is_string(v)) {
		jserde_unexpected(v, got, sizeof(got));
		return jserde(e, prefix, key, JERR_AT_VALUE, NULL,
			      "invalid type: %s, expected a string", got);
	}
	*out = json_string_value(v);
	return 0;
}

/* An array field (absent or null: empty, as Firecracker's serde(default)). */
static int array_field(const struct jerr *e, const char *prefix, const json_t *o,
		       const char *key, bool required, json_t **out)
{
	json_t *v = json_object_get(o, key);
	char got[96];

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return jserde(e, prefix, key, JERR_AT_END, "missing required field",
				      "missing field `%s`", key);
		return 0;
	}
	if (!json_is_array(v)) {
		jserde_unexpected(v, got, sizeof(got));
		return jserde(e, prefix, key, JERR_AT_VALUE, NULL,
			      "invalid type: %s, expected a sequence", got);
	}
	*out = v;
	return 0;
}

static int number_field(const struct jerr *e, const char *prefix, const json_t *o,
			const char *key, unsigned bits, uint64_t *out)
{
	const char *s;
	char msg[400];
	int rc = string_field(e, prefix, o, key, &s);

	if (rc)
		return rc;
	if (cpu_number_parse(s, bits, out, msg, sizeof(msg)) < 0)
		return jserde(e, prefix, key, JERR_AT_VALUE, NULL, "%s", msg);
	return 0;
}

static int bitmap_field(const struct jerr *e, const char *prefix, const json_t *o,
			unsigned bits, uint64_t *filter, uint64_t *value)
{
	const char *s;
	char msg[400];
	int rc = string_field(e, prefix, o, "bitmap", &s);

	if (rc)
		return rc;
	if (cpu_bitmap_parse(s, bits, filter, value, msg, sizeof(msg)) < 0)
		return jserde(e, prefix, "bitmap", JERR_AT_VALUE, NULL, "%s", msg);
	return 0;
}

static int reg_modifier(const struct jerr *e, const char *prefix, const json_t *o,
			struct cpu_reg_modifier *out)
{
	static const char *const keys[] = {"register", "bitmap", NULL};
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	const char *r;
	uint64_t f, v;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = string_field(e, prefix, o, "register", &r);
	if (rc)
		return rc;
	out->reg = 0xff;
	for (uint8_t i = 0; i < 4; i++)
		if (strcmp(r, regs[i]) == 0)
			out->reg = i;
	if (out->reg == 0xff)
		return jserde(e, prefix, "register", JERR_AT_VALUE, NULL,
			      "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]");
	rc = bitmap_field(e, prefix, o, 32, &f, &v);
	if (rc)
		return rc;
	out->filter = (uint32_t)f;
	out->value = (uint32_t)v;
	return 0;
}

static int cpuid_modifier(const struct jerr *e, const char *prefix, const json_t *o,
			  struct cpu_cpuid_modifier *out)
{
	static const char *const keys[] = {"leaf", "subleaf", "flags", "modifiers", NULL};
	uint64_t leaf, subleaf, flags;
	json_t *mods;
	size_t i;
	json_t *m;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = number_field(e, prefix, o, "leaf", 32, &leaf);
	if (!rc)
		rc = number_field(e, prefix, o, "subleaf", 32, &subleaf);
	if (!rc)
		rc = juint(e, prefix, o, "flags", true, 0, UINT32_MAX, &flags, NULL);
	if (!rc)
		rc = array_field(e, prefix, o, "modifiers", true, &mods);
	if (rc)
		return rc;
	if (json_array_size(mods) > CPU_TMPL_MAX_REG_MODS)
		return jfail(e, prefix, "modifiers", "at most %d register modifiers per leaf (got %zu)",
			     CPU_TMPL_MAX_REG_MODS, json_array_size(mods));
	memset(out, 0, sizeof(*out));
	out->leaf = (uint32_t)leaf;
	out->subleaf = (uint32_t)subleaf;
	out->flags = (uint32_t)flags;
	json_array_foreach(mods, i, m) {
		char p[160];

		if (snprintf(p, sizeof(p), "%s.modifiers[%zu]", prefix, i) >= (int)sizeof(p))
			p[sizeof(p) - 2] = '~';   /* a cut path still names the place */
		rc = reg_modifier(e, p, m, &out->mods[out->nmods]);
		if (rc)
			return rc;
		out->nmods++;
	}
	return 0;
}

static int msr_modifier(const struct jerr *e, const char *prefix, const json_t *o,
			struct cpu_msr_modifier *out)
{
	static const char *const keys[] = {"addr", "bitmap", NULL};
	uint64_t addr;
	int rc = jexpect_object(e, prefix, o);

	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = number_field(e, prefix, o, "addr", 32, &addr);
	if (!rc)
		rc = bitmap_field(e, prefix, o, 64, &out->filter, &out->value);
	if (!rc)
		out->addr = (uint32_t)addr;
	return rc;
}

int obj_cpu_config(const struct jerr *e, const char *prefix, const json_t *o,
		   struct cpu_template *out)
{
	/* Firecracker's x86_64 CustomCpuTemplate (deny_unknown_fields): the
	 * aarch64 "vcpu_features" and "reg_modifiers" are unknown fields here. */
	static const char *const keys[] = {"kvm_capabilities", "cpuid_modifiers", "msr_modifiers",
					   NULL};
	struct cpu_template *t = calloc(1, sizeof(*t));
	json_t *caps, *cpuid, *msrs, *v;
	size_t i;
	int rc;

	if (!t)
		return jfail(e, prefix, NULL, "out of memory");
	rc = jexpect_object(e, prefix, o);
	if (!rc)
		rc = jcheck_keys(e, prefix, o, keys, NULL);
	if (!rc)
		rc = array_field(e, prefix, o, "kvm_capabilities", false, &caps);
	if (!rc)
		rc = array_field(e, prefix, o, "cpuid_modifiers", false, &cpuid);
	if (!rc)
		rc = array_field(e, prefix, o, "msr_modifiers", false, &msrs);
	if (rc)
		goto out;
	if (json_array_size(caps) > CPU_TMPL_MAX_CAPS ||
	    json_array_size(cpuid) > CPU_TMPL_MAX_LEAVES ||
	    json_array_size(msrs) > CPU_TMPL_MAX_MSRS) {
		rc = jfail(e, prefix, NULL, "too many modifiers: wisp takes at most %d "
			   "kvm_capabilities, %d cpuid_modifiers and %d msr_modifiers (got %zu, %zu, "
			   "%zu)", CPU_TMPL_MAX_CAPS, CPU_TMPL_MAX_LEAVES, CPU_TMPL_MAX_MSRS,
			   json_array_size(caps), json_array_size(cpuid), json_array_size(msrs));
		goto out;
	}
	json_array_foreach(caps, i, v) {
		char p[160], got[96], msg[300];

		if (snprintf(p, sizeof(p), "%s.kvm_capabilities[%zu]", prefix, i) >= (int)sizeof(p))
			p[sizeof(p) - 2] = '~';   /* a cut path still names the place */
		if (!json_is_string(v)) {
			jserde_unexpected(v, got, sizeof(got));
			rc = jserde(e, p, NULL, JERR_AT_VALUE, NULL,
				    "invalid type: %s, expected a string", got);
			goto out;
		}
		if (cpu_kvm_cap_parse(json_string_value(v), &t->caps[t->ncaps], msg,
				      sizeof(msg)) < 0) {
			rc = jserde(e, p, NULL, JERR_AT_VALUE, NULL, "%s", msg);
			goto out;
		}
		t->ncaps++;
	}
	json_array_foreach(cpuid, i, v) {
		char p[160];

		if (snprintf(p, sizeof(p), "%s.cpuid_modifiers[%zu]", prefix, i) >= (int)sizeof(p))
			p[sizeof(p) - 2] = '~';   /* a cut path still names the place */
		rc = cpuid_modifier(e, p, v, &t->cpuid[t->ncpuid]);
		if (rc)
			goto out;
		t->ncpuid++;
	}
	json_array_foreach(msrs, i, v) {
		char p[160];

		if (snprintf(p, sizeof(p), "%s.msr_modifiers[%zu]", prefix, i) >= (int)sizeof(p))
			p[sizeof(p) - 2] = '~';   /* a cut path still names the place */
		rc = msr_modifier(e, p, v, &t->msr[t->nmsr]);
		if (rc)
			goto out;
		t->nmsr++;
	}
	*out = *t;
out:
	free(t);
	return rc;
}

/* Firecracker's CustomCpuTemplateOrPath: the template, or a file holding it. */
int obj_cpu_config_doc(const struct jerr *e, const char *prefix, const json_t *v,
		       struct cpu_template *out)
{
	const char *path;
	struct stat st;
	char *text = NULL;
	json_t *root;
	ssize_t got = 0;
	int fd, rc;

	if (!json_is_string(v))
		return obj_cpu_config(e, prefix, v, out);
	path = json_string_value(v);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int err = errno;

		return jfail(e, prefix, NULL, "File operation error: %s (os error %d) (%s)",
			     strerror(err), err, path);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CPU_CONFIG_MAX_FILE) {
		close(fd);
		return jfail(e, prefix, NULL, "%s: not a regular file of at most %d bytes", path,
			     CPU_CONFIG_MAX_FILE);
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return jfail(e, prefix, NULL, "out of memory");
	}
	while (got < st.st_size) {
		ssize_t r = read(fd, text + got, (size_t)(st.st_size - got));

		if (r <= 0)
			break;
		got += r;
	}
	close(fd);
	text[got] = '\0';
	root = jload_object(e, prefix, text, (size_t)got);
	free(text);
	if (!root)
		return -EINVAL;
	rc = obj_cpu_config(e, prefix, root, out);
	json_decref(root);
	return rc;
}

json_t *obj_cpu_config_json(const struct cpu_template *t)
{
	static const char *const regs[] = {"eax", "ebx", "ecx", "edx"};
	json_t *o = json_object(), *caps = json_array(), *cpuid = json_array(),
	       *msrs = json_array();
	char buf[80];

	if (!o || !caps || !cpuid || !msrs) {
		json_decref(o);
		json_decref(caps);
		json_decref(cpuid);
		json_decref(msrs);
		return NULL;
	}
	for (unsigned i = 0; i < t->ncaps && i < CPU_TMPL_MAX_CAPS; i++) {
		snprintf(buf, sizeof(buf), "%s%u", t->caps[i].remove ? "!" : "", t->caps[i].cap);
		json_array_append_new(caps, json_string(buf));
	}
	for (unsigned i = 0; i < t->ncpuid && i < CPU_TMPL_MAX_LEAVES; i++) {
		const struct cpu_cpuid_modifier *m = &t->cpuid[i];
		json_t *mods = json_array();
		char leaf[16], subleaf[16];

		for (unsigned r = 0; r < m->nmods && r < CPU_TMPL_MAX_REG_MODS; r++) {
			cpu_bitmap_format(m->mods[r].filter, m->mods[r].value, 32, buf);
			json_array_append_new(mods, json_pack("{s:s, s:s}", "register",
							      regs[m->mods[r].reg & 3], "bitmap", buf));
		}
		snprintf(leaf, sizeof(leaf), "0x%x", m->leaf);
		snprintf(subleaf, sizeof(subleaf), "0x%x", m->subleaf);
		json_array_append_new(cpuid, json_pack("{s:s, s:s, s:I, s:o}", "leaf", leaf,
						       "subleaf", subleaf, "flags",
						       (json_int_t)m->flags, "modifiers", mods));
	}
	for (unsigned i = 0; i < t->nmsr && i < CPU_TMPL_MAX_MSRS; i++) {
		char addr[16];

		cpu_bitmap_format(t->msr[i].filter, t->msr[i].value, 64, buf);
		snprintf(addr, sizeof(addr), "0x%x", t->msr[i].addr);
		json_array_append_new(msrs, json_pack("{s:s, s:s}", "addr", addr, "bitmap", buf));
	}
	json_object_set_new(o, "kvm_capabilities", caps);
	json_object_set_new(o, "cpuid_modifiers", cpuid);
	json_object_set_new(o, "msr_modifiers", msrs);
	return o;
}
