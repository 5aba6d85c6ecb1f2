/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cputemplate.c — CPU templates: bitmap and number strings, the host
 * checks of the static templates, applying a template to CPUID entries and
 * MSR values (cputemplate.h). The static templates' data are in
 * cputemplate_static.c.
 */
#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/kvm.h>

#include "cputemplate.h"

static const char *const names[] = {
	[CPU_TEMPLATE_NONE] = "None", [CPU_TEMPLATE_C3] = "C3",     [CPU_TEMPLATE_T2] = "T2",
	[CPU_TEMPLATE_T2S] = "T2S",   [CPU_TEMPLATE_T2CL] = "T2CL", [CPU_TEMPLATE_T2A] = "T2A",
};

const char *cpu_template_name(enum cpu_template_kind k)
{
	return (unsigned)k <= CPU_TEMPLATE_T2A ? names[k] : "None";
}

int cpu_template_from_name(const char *name)
{
	for (unsigned i = 0; i <= CPU_TEMPLATE_T2A; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

int cpu_bitmap_parse(const char *s, unsigned bits, uint64_t *filter, uint64_t *value,
		     char *err, size_t errlen)
{
	const char *p = strncmp(s, "0b", 2) == 0 ? s + 2 : s;
	uint64_t f = 0, v = 0;
	unsigned i = 0;

	/* From the least significant (last) character, as Firecracker reads
	 * it: the length check comes before each character, '_' included. */
	for (size_t k = strlen(p); k-- > 0;) {
		unsigned char c = (unsigned char)p[k];

		if (i == bits) {
			snprintf(err, errlen, "Failed to parse string [%s] as a bitmap - string is "
				 "too long", s);
			return -EINVAL;
		}
		switch (c) {
		case '_':
			continue;
		case 'x':
			break;
		case '0':
			f |= 1ULL << i;
			break;
		case '1':
			f |= 1ULL << i;
			v |= 1ULL << i;
			break;
		default:
			snprintf(err, errlen, "Failed to parse string [%s] as a bitmap - unknown "
				 "character: %u", s, c);
			return -EINVAL;
		}
		i++;
	}
	*filter = f;
	*value = v;
	return 0;
}

void cpu_bitmap_format(uint64_t filter, uint64_t value, unsigned bits, char *out)
{
	*out++ = '0';
	*out++ = 'b';
	for (unsigned i = bits; i-- > 0;)
		*out++ = !(filter >> i & 1) ? 'x' : (value >> i & 1) ? '1' : '0';
	*out = '\0';
}

/* Rust's from_str_radix: an optional '+', then at least one digit. */
static const char *parse_radix(const char *p, unsigned radix, unsigned bits, uint64_t *out)
{
	uint64_t v = 0, max = bits >= 64 ? UINT64_MAX : (1ULL << bits) - 1;

	if (*p == '+')
		p++;
	if (!*p)
		return "Empty";
	for (; *p; p++) {
		unsigned d;

		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (*p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (*p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return "InvalidDigit";
		if (d >= radix)
			return "InvalidDigit";
		if (v > (max - d) / radix)
			return "PosOverflow";
		v = v * radix + d;
	}
	*out = v;
	return NULL;
}

int cpu_number_parse(const char *s, unsigned bits, uint64_t *out, char *err, size_t errlen)
{
	const char *why;

	if (strncmp(s, "0b", 2) == 0) {
		why = parse_radix(s + 2, 2, bits, out);
	} else if (strncmp(s, "0x", 2) == 0) {
		why = parse_radix(s + 2, 16, bits, out);
	} else {
		snprintf(err, errlen, "No supported number system prefix found in value [%s]. Make "
			 "sure to prefix the number with '0x' for hexadecimal numbers or '0b' for "
			 "binary numbers.", s);
		return -EINVAL;
	}
	if (why) {
		snprintf(err, errlen, "Failed to parse string [%s] as a number for CPU template - "
			 "ParseIntError { kind: %s }", s, why);
		return -EINVAL;
	}
	return 0;
}

int cpu_kvm_cap_parse(const char *s, struct cpu_kvm_cap *out, char *err, size_t errlen)
{
	bool remove = s[0] == '!';
	uint64_t v;
	const char *why = parse_radix(s + (remove ? 1 : 0), 10, 32, &v);

	if (why) {
		const char *text = strcmp(why, "Empty") == 0 ? "cannot parse integer from empty string"
				 : strcmp(why, "InvalidDigit") == 0 ? "invalid digit found in string"
				 : "number too large to fit in target type";

		snprintf(err, errlen, "Failed to parse string [%s] as a kvm capability - can not "
			 "convert to numeric: %s", s, text);
		return -EINVAL;
	}
	out->cap = (uint32_t)v;
	out->remove = remove;
	return 0;
}

/* Family, model and stepping of leaf 1 EAX (type and reserved bits out). */
#define FMS(eax) ((eax) & 0x0fff0fffu)
#define SKYLAKE_FMS      0x00050654u
#define CASCADE_LAKE_FMS 0x00050657u
#define ICE_LAKE_FMS     0x000606a6u
#define MILAN_FMS        0x00a00f11u

int cpu_template_check_host(enum cpu_template_kind k, const char vendor[12],
			    uint32_t leaf1_eax, char *err, size_t errlen)
{
	static const struct { const char *vendor; uint32_t fms[3]; } rules[] = {
		[CPU_TEMPLATE_C3] = {"GenuineIntel", {SKYLAKE_FMS, CASCADE_LAKE_FMS, ICE_LAKE_FMS}},
		[CPU_TEMPLATE_T2] = {"GenuineIntel", {SKYLAKE_FMS, CASCADE_LAKE_FMS, ICE_LAKE_FMS}},
		[CPU_TEMPLATE_T2S] = {"GenuineIntel", {SKYLAKE_FMS, CASCADE_LAKE_FMS, 0}},
		[CPU_TEMPLATE_T2CL] = {"GenuineIntel", {CASCADE_LAKE_FMS, ICE_LAKE_FMS, 0}},
		[CPU_TEMPLATE_T2A] = {"AuthenticAMD", {MILAN_FMS, 0, 0}},
	};

	if (k == CPU_TEMPLATE_NONE || k == CPU_TEMPLATE_CUSTOM)
		return 0;
	if ((unsigned)k > CPU_TEMPLATE_T2A) {
		snprintf(err, errlen, "Invalid static CPU template: %d", (int)k);
		return -EINVAL;
	}
	if (memcmp(vendor, rules[k].vendor, 12) != 0) {
		snprintf(err, errlen, "CPU vendor mismatched between actual CPU and CPU template.");
		return -EINVAL;
	}
	for (unsigned i = 0; i < 3; i++)
		if (rules[k].fms[i] && FMS(leaf1_eax) == rules[k].fms[i])
			return 0;
	snprintf(err, errlen, "The current CPU model is not permitted to apply the CPU template.");
	return -EINVAL;
}

void cpu_host_signature(char vendor[12], uint32_t *leaf1_eax)
{
	unsigned a, b, c, d;

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	__cpuid(1, a, b, c, d);
	*leaf1_eax = a;
}

static uint32_t apply32(uint32_t reg, uint32_t filter, uint32_t value)
{
	return (reg & ~filter) | (value & filter);
}

int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid_entry2 *entries,
			     unsigned n, char *err, size_t errlen)
{
	for (unsigned i = 0; i < t->ncpuid; i++) {
		const struct cpu_cpuid_modifier *m = &t->cpuid[i];
		struct kvm_cpuid_entry2 *e = NULL;

		for (unsigned j = 0; j < n && !e; j++)
			if (entries[j].function == m->leaf && entries[j].index == m->subleaf)
				e = &entries[j];
		if (!e) {
			snprintf(err, errlen, "Template changes a CPUID entry not supported by KVM: "
				 "Leaf: %x, Subleaf: %x", m->leaf, m->subleaf);
			return -EINVAL;
		}
		e->flags = m->flags;
		for (unsigned r = 0; r < m->nmods; r++) {
			const struct cpu_reg_modifier *rm = &m->mods[r];
			uint32_t *reg = rm->reg == CPU_REG_EAX ? &e->eax : rm->reg == CPU_REG_EBX ? &e->ebx
				      : rm->reg == CPU_REG_ECX ? &e->ecx : &e->edx;

			*reg = apply32(*reg, rm->filter, rm->value);
		}
	}
	return 0;
}

int cpu_template_apply_msrs(const struct cpu_template *t, uint64_t *values, unsigned have,
			    char *err, size_t errlen)
{
	for (unsigned i = 0; i < t->nmsr; i++) {
		const struct cpu_msr_modifier *m = &t->msr[i];

		if (i >= have) {
			snprintf(err, errlen, "Template changes an MSR entry not supported by KVM: "
				 "Register Address: %x", m->addr);
			return -EINVAL;
		}
	}
	/* Modifiers of one MSR apply in order to the value read once. */
	for (unsigned i = 0; i < t->nmsr; i++) {
		const struct cpu_msr_modifier *m = &t->msr[i];
		unsigned k = 0;

		while (t->msr[k].addr != m->addr)
			k++;
		values[k] = (values[k] & ~m->filter) | (m->value & m->filter);
	}
	for (unsigned i = 0; i < t->nmsr; i++) {
		unsigned k = 0;

		while (t->msr[k].addr != t->msr[i].addr)
			k++;
		values[i] = values[k];
	}
	return 0;
}

unsigned cpu_template_required_caps(const struct cpu_template *t, uint32_t *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->ncaps; i++) {
		unsigned j;

		for (j = 0; j < n && out[j] != t->caps[i].cap; j++)
			;
		if (!t->caps[i].remove && j == n && n < max) {
			out[n++] = t->caps[i].cap;
		} else if (t->caps[i].remove && j < n) {
			out[j] = out[n - 1];    /* order does not matter: swap-remove */
			n--;
		}
	}
	return n;
}
