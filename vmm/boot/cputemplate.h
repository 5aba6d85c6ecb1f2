/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cputemplate.h — Firecracker's CPU templates (docs/cpu-templates.md).
 *
 * A template is a list of changes to what a vCPU sees: CPUID register
 * bits (by leaf and subleaf), MSR bits, and KVM capabilities that must (or
 * need no longer) be present. The static templates (C3, T2, T2S, T2CL, T2A,
 * chosen with machine-config's `cpu_template`) are fixed such lists that
 * only fit some host CPUs; a custom template is given with PUT /cpu-config
 * or the config document's "cpu-config".
 *
 * Bits are given as Firecracker's bitmap strings: "0b" then one character
 * per bit, most significant first: '0' or '1' set the bit, 'x' keeps it,
 * '_' is ignored; bits the string does not reach are kept.
 *
 * Pure functions (no KVM): the VMM applies a template to the CPUID KVM
 * supports before the per-vCPU normalisation (cpuid_normalize), and to the
 * MSR values KVM reports once that CPUID is set, as Firecracker does.
 * Included by vmm.h (the configuration types).
 */
#ifndef WISP_CPUTEMPLATE_H
#define WISP_CPUTEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What machine-config's cpu_template names; CUSTOM: the PUT /cpu-config one. */
enum cpu_template_kind {
	CPU_TEMPLATE_NONE = 0,
	CPU_TEMPLATE_C3,
	CPU_TEMPLATE_T2,
	CPU_TEMPLATE_T2S,
	CPU_TEMPLATE_T2CL,
	CPU_TEMPLATE_T2A,
	CPU_TEMPLATE_CUSTOM,
};

enum cpu_tmpl_reg { CPU_REG_EAX = 0, CPU_REG_EBX, CPU_REG_ECX, CPU_REG_EDX };

/* Limits of a custom template (Firecracker has none; its largest shipped
 * template changes 13 leaves and 34 registers). */
#define CPU_TMPL_MAX_LEAVES   64
#define CPU_TMPL_MAX_REG_MODS 8     /* register modifiers per leaf */
#define CPU_TMPL_MAX_MSRS     64
#define CPU_TMPL_MAX_CAPS     32

/* Bits set in `filter` take their value from `value`; others are kept. */
struct cpu_reg_modifier {
	uint8_t reg;                  /* enum cpu_tmpl_reg */
	uint32_t filter, value;
};

struct cpu_cpuid_modifier {
	uint32_t leaf, subleaf;
	uint32_t flags;               /* KVM_CPUID_FLAG_*: replaces the entry's flags */
	unsigned nmods;
	struct cpu_reg_modifier mods[CPU_TMPL_MAX_REG_MODS];
};

struct cpu_msr_modifier {
	uint32_t addr;
	uint64_t filter, value;
};

struct cpu_kvm_cap {
	uint32_t cap;                 /* KVM_CAP_* number */
	bool remove;                  /* "!N": no longer required */
};

struct cpu_template {
	unsigned ncpuid, nmsr, ncaps;
	struct cpu_cpuid_modifier cpuid[CPU_TMPL_MAX_LEAVES];
	struct cpu_msr_modifier msr[CPU_TMPL_MAX_MSRS];
	struct cpu_kvm_cap caps[CPU_TMPL_MAX_CAPS];
};

/* "None", "C3", "T2", "T2S", "T2CL", "T2A" ("None" for CUSTOM too: that is
 * what Firecracker reports for a custom template in machine-config). */
const char *cpu_template_name(enum cpu_template_kind k);
/* A static template's name (exact, case-sensitive, "None" included) or -1. */
int cpu_template_from_name(const char *name);

/* Firecracker's bitmap string for a register of `bits` (32 or 64) bits.
 * Returns 0, or -EINVAL with Firecracker's message in err:
 * "Failed to parse string [S] as a bitmap - string is too long" /
 * "... - unknown character: C" (C as a byte value, as Firecracker prints). */
int cpu_bitmap_parse(const char *s, unsigned bits, uint64_t *filter, uint64_t *value,
		     char *err, size_t errlen);
/* The bitmap string of (filter, value): "0b" and `bits` characters. out
 * holds bits + 3 bytes. */
void cpu_bitmap_format(uint64_t filter, uint64_t value, unsigned bits, char *out);
/* Firecracker's leaf/subleaf/addr strings: "0x..." (hex) or "0b..."
 * (binary), at most `bits` bits. Returns 0 or -EINVAL with its message. */
int cpu_number_parse(const char *s, unsigned bits, uint64_t *out, char *err, size_t errlen);
/* Firecracker's kvm_capabilities entry: "N" (required) or "!N" (no longer
 * required), N a decimal u32. Returns 0 or -EINVAL with its message. */
int cpu_kvm_cap_parse(const char *s, struct cpu_kvm_cap *out, char *err, size_t errlen);

/* The static template's changes into *out (C3..T2A; others: empty). */
void cpu_template_static(enum cpu_template_kind k, struct cpu_template *out);

/* Does static template k fit a host with this CPUID vendor (leaf 0
 * EBX-EDX-ECX, 12 bytes) and leaf 1 EAX? Firecracker's rules: C3/T2/T2S/
 * T2CL on Intel, T2A on AMD, each for listed family/model/stepping
 * values. Returns 0, or -EINVAL with Firecracker's sentence in err. */
int cpu_template_check_host(enum cpu_template_kind k, const char vendor[12],
			    uint32_t leaf1_eax, char *err, size_t errlen);
/* The host's vendor string and leaf 1 EAX (the cpuid instruction). */
void cpu_host_signature(char vendor[12], uint32_t *leaf1_eax);

struct kvm_cpuid_entry2;   /* <linux/kvm.h> */
/* Apply the CPUID modifiers to KVM's entries. A modified leaf
 * missing from entries refuses the template (entries may be partly
 * changed then): -EINVAL and "Template changes a CPUID entry not supported
 * by KVM: Leaf: L, Subleaf: S" (hex, as Firecracker prints). */
int cpu_template_apply_cpuid(const struct cpu_template *t, struct kvm_cpuid_entry2 *entries,
			     unsigned n, char *err, size_t errlen);
/* Apply the MSR modifiers to values[i] of MSR t->msr[i].addr; `have` of
 * them were readable (KVM_GET_MSRS stops at the first it refuses): the
 * first missing one refuses with "Template changes an MSR entry not
 * supported by KVM: Register Address: A". */
int cpu_template_apply_msrs(const struct cpu_template *t, uint64_t *values, unsigned have,
			    char *err, size_t errlen);
/* The capabilities the template requires, in order (an "N" adds N once,
 * a later "!N" takes it out again). Returns how many were written. */
unsigned cpu_template_required_caps(const struct cpu_template *t, uint32_t *out, unsigned max);

#endif
