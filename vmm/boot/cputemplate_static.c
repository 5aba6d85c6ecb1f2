/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cputemplate_static.c — the changes of Firecracker's static CPU templates
 * (C3, T2, T2S, T2CL, T2A), in Firecracker's bitmap notation. These are
 * interface data: the same bits as Firecracker's
 * tests/data/custom_cpu_templates/<NAME>.json (docs/cpu-templates.md).
 */
#include <string.h>

#include "cputemplate.h"

#define TMPL_MSR 0xff   /* a row for an MSR (leaf = address) */

struct tmpl_row {
	uint32_t leaf, subleaf, flags;
	uint8_t reg;                 /* enum cpu_tmpl_reg or TMPL_MSR */
	const char *bitmap;
};

static const struct tmpl_row c3_rows[] = {
	{0x1, 0x0, 0, CPU_REG_EAX, "0bxxxx000000000011xx00011011100100"},
	{0x1, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxx0xxxxxx00x000x0xx0000xx"},
	{0x1, 0x0, 0, CPU_REG_EDX, "0b0x0x0xxxx00xx0xxxxx1xxxx1xxxxxxx"},
	{0x7, 0x0, 1, CPU_REG_EBX, "0b000000000x0x000000x000x0xx0000xx"},
	{0x7, 0x0, 1, CPU_REG_ECX, "0bx0xxxxxxx0xxxxx0x0xx0xxxxxx0000x"},
	{0x7, 0x0, 1, CPU_REG_EDX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx00xx"},
	{0xd, 0x0, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxx0x00000xxx"},
	{0xd, 0x1, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx000x"},
	{0x80000001, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxxxxxxxxxxxxxxxx0xx0xxxxx"},
	{0x80000001, 0x0, 0, CPU_REG_EDX, "0bxxxxx0xxxxxxxxxxxxxxxxxxxxxxxxxx"},
};

static const struct tmpl_row t2_rows[] = {
	{0x1, 0x0, 0, CPU_REG_EAX, "0bxxxx000000000011xx00011011110010"},
	{0x1, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxxxxxx0xx00xx00x0000000xx"},
	{0x1, 0x0, 0, CPU_REG_EDX, "0b000x0xxxx00xx0xxxxx1xxxx1xxxxxxx"},
	{0x7, 0x0, 1, CPU_REG_EBX, "0b00000000000x000000x00x1xxxx0x0xx"},
	{0x7, 0x0, 1, CPU_REG_ECX, "0bx0xxxxxxx0xxxxx0x0x00000x0x0000x"},
	{0x7, 0x0, 1, CPU_REG_EDX, "0bxxxxxxxxxxxxxxxxxxxxxxx0xxx000xx"},
	{0xd, 0x0, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxx0x00000xxx"},
	{0xd, 0x1, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx000x"},
	{0x80000001, 0x0, 0, CPU_REG_ECX, "0bxx0xxxxxxxxxxxxxxxxxxxx0xxxxxxxx"},
	{0x80000001, 0x0, 0, CPU_REG_EDX, "0bxxxxx0xxxxxxxxxxxxxxxxxxxxxxxxxx"},
	{0x80000008, 0x0, 0, CPU_REG_EBX, "0bxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxxx"},
};

static const struct tmpl_row t2s_rows[] = {
	{0x1, 0x0, 0, CPU_REG_EAX, "0bxxxx000000000011xx00011011110010"},
	{0x1, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxxxxxx0xx00xx00x0000000xx"},
	{0x1, 0x0, 0, CPU_REG_EDX, "0b000x0xxxx00xx0xxxxx1xxxx1xxxxxxx"},
	{0x7, 0x0, 1, CPU_REG_EBX, "0b00000000000x000000x00x1xxxx0x0xx"},
	{0x7, 0x0, 1, CPU_REG_ECX, "0bx0xxxxxxx0xxxxx0x0x00000x0x0000x"},
	{0x7, 0x0, 1, CPU_REG_EDX, "0bxxxxxxxxxxxxxxxxxxxxxxx0xxx000xx"},
	{0xd, 0x0, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxx0x00000xxx"},
	{0xd, 0x1, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx000x"},
	{0x80000001, 0x0, 0, CPU_REG_ECX, "0bxx0xxxxxxxxxxxxxxxxxxxx0xxxxxxxx"},
	{0x80000001, 0x0, 0, CPU_REG_EDX, "0bxxxxx0xxxxxxxxxxxxxxxxxxxxxxxxxx"},
	{0x80000008, 0x0, 0, CPU_REG_EBX, "0bxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxxx"},
	{0x10a, 0, 0, TMPL_MSR, "0b0000000000000000000000000000000000001100000010100000110001001100"},
};

static const struct tmpl_row t2cl_rows[] = {
	{0x1, 0x0, 0, CPU_REG_EAX, "0bxxxx000000000011xx00011011110010"},
	{0x1, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxxxxxx0xx00xx00x0000000xx"},
	{0x1, 0x0, 0, CPU_REG_EDX, "0b000x0xxxx00xx0xxxxx1xxxx1xxxxxxx"},
	{0x7, 0x0, 1, CPU_REG_EBX, "0b00000000000x000000x00x1xxxx0x0xx"},
	{0x7, 0x0, 1, CPU_REG_ECX, "0bx0xxxxxxx0xxxxx0x0x00000x0x0000x"},
	{0x7, 0x0, 1, CPU_REG_EDX, "0bxxxxxxxxxxxxxxxxxxxxxxx0xxx000xx"},
	{0xd, 0x0, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxx0x00000xxx"},
	{0xd, 0x1, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx000x"},
	{0x80000001, 0x0, 0, CPU_REG_ECX, "0bxx0xxxxxxxxxxxxxxxxxxxx000xxxxxx"},
	{0x80000001, 0x0, 0, CPU_REG_EDX, "0bxxxxx00000xxxxxxxxxxxxxxxxxxxxxx"},
	{0x80000008, 0x0, 0, CPU_REG_EBX, "0bxxxxxxxxxxxxxxxxxxxxxx0xxxxxxxxx"},
	{0x10a, 0, 0, TMPL_MSR, "0b00000000000000000000000000000000000xxx0x0000x0x0xxx0000xxxxxxxxx"},
};

static const struct tmpl_row t2a_rows[] = {
	{0x1, 0x0, 0, CPU_REG_EAX, "0bxxxx000000000011xx00011011110010"},
	{0x1, 0x0, 0, CPU_REG_ECX, "0bxxxxxxxxxxxxx0xx00xx00x0000000xx"},
	{0x1, 0x0, 0, CPU_REG_EDX, "0b000x0xxxx00xx0xxxxx1xxxx1xxxxxxx"},
	{0x7, 0x0, 1, CPU_REG_EBX, "0b00000000000x000000x00x1xxxx0x0xx"},
	{0x7, 0x0, 1, CPU_REG_ECX, "0bx0xxxxxxx0xxxxx0x0x00000x0x0000x"},
	{0x7, 0x0, 1, CPU_REG_EDX, "0bxxxxxxxxxxxxxxxxxxxxxxx0xxx000xx"},
	{0xd, 0x0, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxx0x00000xxx"},
	{0xd, 0x1, 1, CPU_REG_EAX, "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxx000x"},
	{0x80000001, 0x0, 0, CPU_REG_ECX, "0bxx0xxxxxxxxxxxxxxxxxxxx000xxx0xx"},
	{0x80000001, 0x0, 0, CPU_REG_EDX, "0bxxxxx00xx0xxxxxxxxxxxxxxxxxxxxxx"},
	{0x80000008, 0x0, 0, CPU_REG_EBX, "0bxxxxxxxxxxx111xxxxxxxx0xxxxxx1x0"},
};
#define ROWS(a) a, sizeof(a) / sizeof(a[0])

static const struct { const struct tmpl_row *rows; unsigned n; } tables[] = {
	[CPU_TEMPLATE_C3] = {ROWS(c3_rows)},
	[CPU_TEMPLATE_T2] = {ROWS(t2_rows)},
	[CPU_TEMPLATE_T2S] = {ROWS(t2s_rows)},
	[CPU_TEMPLATE_T2CL] = {ROWS(t2cl_rows)},
	[CPU_TEMPLATE_T2A] = {ROWS(t2a_rows)},
};

void cpu_template_static(enum cpu_template_kind k, struct cpu_template *out)
{
	memset(out, 0, sizeof(*out));
	if (k < CPU_TEMPLATE_C3 || k > CPU_TEMPLATE_T2A)
		return;
	for (unsigned i = 0; i < tables[k].n; i++) {
		const struct tmpl_row *r = &tables[k].rows[i];
		uint64_t f, v;
		char err[8];

		/* The strings are constants checked by the unit tests. */
		if (cpu_bitmap_parse(r->bitmap, r->reg == TMPL_MSR ? 64 : 32, &f, &v, err,
				     sizeof(err)) < 0)
			continue;
		if (r->reg == TMPL_MSR) {
			out->msr[out->nmsr++] = (struct cpu_msr_modifier){r->leaf, f, v};
			continue;
		}
		if (!out->ncpuid || out->cpuid[out->ncpuid - 1].leaf != r->leaf ||
		    out->cpuid[out->ncpuid - 1].subleaf != r->subleaf) {
			out->cpuid[out->ncpuid].leaf = r->leaf;
			out->cpuid[out->ncpuid].subleaf = r->subleaf;
			out->cpuid[out->ncpuid].flags = r->flags;
			out->ncpuid++;
		}
		struct cpu_cpuid_modifier *m = &out->cpuid[out->ncpuid - 1];

		m->mods[m->nmods++] = (struct cpu_reg_modifier){r->reg, (uint32_t)f, (uint32_t)v};
	}
}
