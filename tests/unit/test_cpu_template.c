/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cpu_template.c — CPU templates: bitmap and number strings, the
 * static templates, the host checks, applying a template to CPUID entries
 * and MSR values, the custom template's JSON (PUT /cpu-config) and
 * machine-config's cpu_template values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/kvm.h>

#include "../check_main.h"
#include "api/objects.h"
#include "api/route.h"

static char err[512];

/* Firecracker: cpu_config/templates.rs::test_register_value_filter_serde */
START_TEST(bitmap_parse_and_format)
{
	uint64_t f, v;
	char s[80];

	ck_assert_int_eq(cpu_bitmap_parse("0b0101xxxx", 8, &f, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(f, 0xf0);
	ck_assert_uint_eq(v, 0x50);
	/* '_' is ignored; the "0b" prefix is optional */
	ck_assert_int_eq(cpu_bitmap_parse("0b0_101_xx_xx", 8, &f, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(f, 0xf0);
	ck_assert_uint_eq(v, 0x50);
	ck_assert_int_eq(cpu_bitmap_parse("1x0", 32, &f, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(f, 0x5);
	ck_assert_uint_eq(v, 0x4);
	/* too long for the register */
	ck_assert_int_eq(cpu_bitmap_parse("0b0000_0000_0", 8, &f, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Failed to parse string [0b0000_0000_0] as a bitmap - string is too long");
	/* 64 bits fit an MSR, 33 do not fit a CPUID register */
	memset(s, 0, sizeof(s));
	strcpy(s, "0b");
	memset(s + 2, '1', 64);
	ck_assert_int_eq(cpu_bitmap_parse(s, 64, &f, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(f, UINT64_MAX);
	ck_assert_uint_eq(v, UINT64_MAX);
	s[2 + 33] = '\0';
	ck_assert_int_eq(cpu_bitmap_parse(s, 32, &f, &v, err, sizeof(err)), -EINVAL);

	cpu_bitmap_format(0xf0, 0x50, 8, s);
	ck_assert_str_eq(s, "0b0101xxxx");
	cpu_bitmap_format(0x5, 0x4, 32, s);
	ck_assert_uint_eq(strlen(s), 34);   /* test_bitmap_width: "0b" + 32 */
	ck_assert_str_eq(s + 29, "xx1x0");
}
END_TEST

/* Firecracker: cpu_config/x86_64/custom_cpu_template.rs::test_malformed_json (bitmaps) */
START_TEST(bitmap_bad_characters)
{
	uint64_t f, v;

	ck_assert_int_eq(cpu_bitmap_parse("0bx0?1_0_0x_?x1xxxx00xxx1xxxxxxxxxxx1", 64, &f, &v, err,
					  sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "Failed to parse string "
				     "[0bx0?1_0_0x_?x1xxxx00xxx1xxxxxxxxxxx1] as a bitmap"));
	ck_assert_ptr_nonnull(strstr(err, "unknown character: 63"));   /* '?' */
	ck_assert_int_eq(cpu_bitmap_parse("0bx00100x0x1xxxx05xxx1xxxxxxxxxxx1", 64, &f, &v, err,
					  sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "Failed to parse string "
				     "[0bx00100x0x1xxxx05xxx1xxxxxxxxxxx1] as a bitmap"));
}
END_TEST

/* Firecracker: cpu_config/templates_serde.rs::test_deserialize_from_str */
START_TEST(number_strings)
{
	uint64_t v;

	ck_assert_int_eq(cpu_number_parse("0b1000101", 32, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 69);
	ck_assert_int_eq(cpu_number_parse("0x0045", 32, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 69);
	ck_assert_int_eq(cpu_number_parse("0xFFFFFFFF", 32, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 0xffffffffu);
	ck_assert_int_eq(cpu_number_parse("0x100000000", 32, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Failed to parse string [0x100000000] as a number for CPU template - "
			 "ParseIntError { kind: PosOverflow }");
	ck_assert_int_eq(cpu_number_parse("0b102", 32, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "InvalidDigit"));
	ck_assert_int_eq(cpu_number_parse("0x", 32, &v, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "Empty"));
	ck_assert_int_eq(cpu_number_parse("69", 32, &v, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "No supported number system prefix found in value [69]. Make sure to "
			 "prefix the number with '0x' for hexadecimal numbers or '0b' for binary "
			 "numbers.");
	ck_assert_int_eq(cpu_number_parse("x\xcf\xbd" "69", 32, &v, err, sizeof(err)), -EINVAL);
}
END_TEST

/* Firecracker: cpu_config/templates.rs::test_kvm_capability_serde */
START_TEST(kvm_capability_strings)
{
	struct cpu_kvm_cap c;

	ck_assert_int_eq(cpu_kvm_cap_parse("69", &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.cap, 69);
	ck_assert(!c.remove);
	ck_assert_int_eq(cpu_kvm_cap_parse("!69", &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.cap, 69);
	ck_assert(c.remove);
	ck_assert_int_eq(cpu_kvm_cap_parse("0x45", &c, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Failed to parse string [0x45] as a kvm capability - can not convert to "
			 "numeric: invalid digit found in string");
	ck_assert_int_eq(cpu_kvm_cap_parse("!", &c, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(cpu_kvm_cap_parse("4294967296", &c, err, sizeof(err)), -EINVAL);
}
END_TEST

/* Firecracker: vstate/kvm.rs::test_combine_capabilities */
START_TEST(required_capabilities)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	uint32_t caps[8];
	unsigned n;

	t->caps[t->ncaps++] = (struct cpu_kvm_cap){8, false};
	t->caps[t->ncaps++] = (struct cpu_kvm_cap){36, false};
	t->caps[t->ncaps++] = (struct cpu_kvm_cap){8, false};    /* once */
	t->caps[t->ncaps++] = (struct cpu_kvm_cap){36, true};    /* taken out again */
	t->caps[t->ncaps++] = (struct cpu_kvm_cap){99, true};    /* not there: nothing */
	n = cpu_template_required_caps(t, caps, 8);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(caps[0], 8);
	free(t);
}
END_TEST

static struct kvm_cpuid_entry2 ent[8];

/* Firecracker: cpu_config/x86_64/mod.rs::test_apply_template_to_cpuid */
START_TEST(apply_to_cpuid)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	struct cpu_cpuid_modifier *m = &t->cpuid[t->ncpuid++];

	m->leaf = 3;
	m->subleaf = 0;
	m->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	m->mods[m->nmods++] = (struct cpu_reg_modifier){CPU_REG_EAX, 0x7, 0x5};
	m->mods[m->nmods++] = (struct cpu_reg_modifier){CPU_REG_EBX, 0x7, 0x4};
	m->mods[m->nmods++] = (struct cpu_reg_modifier){CPU_REG_ECX, 0x7, 0x7};
	m->mods[m->nmods++] = (struct cpu_reg_modifier){CPU_REG_EDX, 0x7, 0x1};
	memset(ent, 0, sizeof(ent));
	ent[0].function = 1;
	ent[0].eax = 0xffffffff;
	ent[1].function = 3;
	ent[1].eax = 0xfffffff8;    /* bits outside the filter are kept */
	ent[1].ebx = 0x2;
	ck_assert_int_eq(cpu_template_apply_cpuid(t, ent, 2, err, sizeof(err)), 0);
	ck_assert_uint_eq(ent[1].flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	ck_assert_uint_eq(ent[1].eax, 0xfffffffd);
	ck_assert_uint_eq(ent[1].ebx, 0x4);
	ck_assert_uint_eq(ent[1].ecx, 0x7);
	ck_assert_uint_eq(ent[1].edx, 0x1);
	ck_assert_uint_eq(ent[0].eax, 0xffffffff);   /* other leaves untouched */
	/* a leaf KVM does not report (same leaf, other subleaf) */
	m->subleaf = 1;
	ck_assert_int_eq(cpu_template_apply_cpuid(t, ent, 2, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Template changes a CPUID entry not supported by KVM: Leaf: 3, Subleaf: 1");
	m->leaf = 0x80000021;
	m->subleaf = 0;
	ck_assert_int_eq(cpu_template_apply_cpuid(t, ent, 2, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Template changes a CPUID entry not supported by KVM: Leaf: 80000021, "
			 "Subleaf: 0");
	free(t);
}
END_TEST

/* Firecracker: cpu_config/x86_64/mod.rs::test_apply_template_to_msrs */
START_TEST(apply_to_msrs)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	uint64_t val[3] = {0xa, 0x8, 0xff};

	t->msr[t->nmsr++] = (struct cpu_msr_modifier){0x9999, 0, 0};
	t->msr[t->nmsr++] = (struct cpu_msr_modifier){0x8000, 0x7, 0x5};
	ck_assert_int_eq(cpu_template_apply_msrs(t, val, 2, err, sizeof(err)), 0);
	ck_assert_uint_eq(val[0], 0xa);
	ck_assert_uint_eq(val[1], 0xd);
	/* KVM read only the first one */
	ck_assert_int_eq(cpu_template_apply_msrs(t, val, 1, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Template changes an MSR entry not supported by KVM: Register Address: 8000");
	/* two modifiers of one MSR apply in order to one value */
	t->msr[t->nmsr++] = (struct cpu_msr_modifier){0x8000, 0x10, 0x10};
	val[0] = 0xa;
	val[1] = 0x8;
	val[2] = 0x8;
	ck_assert_int_eq(cpu_template_apply_msrs(t, val, 3, err, sizeof(err)), 0);
	ck_assert_uint_eq(val[1], 0x1d);
	ck_assert_uint_eq(val[2], 0x1d);
	free(t);
}
END_TEST

/* Firecracker: static_cpu_templates/mod.rs::verify_consistency_with_json_templates
 * (the shape of each static template: leaves, registers, MSRs) */
START_TEST(static_templates)
{
	static const struct { enum cpu_template_kind k; unsigned leaves, regs, msrs; } want[] = {
		{CPU_TEMPLATE_C3, 5, 10, 0},  {CPU_TEMPLATE_T2, 6, 11, 0},
		{CPU_TEMPLATE_T2S, 6, 11, 1}, {CPU_TEMPLATE_T2CL, 6, 11, 1},
		{CPU_TEMPLATE_T2A, 6, 11, 0},
	};
	struct cpu_template *t = calloc(1, sizeof(*t));

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		unsigned regs = 0;

		cpu_template_static(want[i].k, t);
		ck_assert_uint_eq(t->ncpuid, want[i].leaves);
		for (unsigned j = 0; j < t->ncpuid; j++)
			regs += t->cpuid[j].nmods;
		ck_assert_uint_eq(regs, want[i].regs);
		ck_assert_uint_eq(t->nmsr, want[i].msrs);
		ck_assert_uint_eq(t->ncaps, 0);
		/* every template sets leaf 1's family/model/stepping */
		ck_assert_uint_eq(t->cpuid[0].leaf, 1);
		ck_assert_uint_eq(t->cpuid[0].mods[0].reg, CPU_REG_EAX);
		ck_assert_uint_eq(t->cpuid[0].mods[0].filter & 0x0fff0fff, 0x0fff0fff);
	}
	/* T2: AVX-512F (leaf 7 EBX[16]) off, ERMS (EBX[9]) on; the T2 guest
	 * is family 6 model 0x3f stepping 2 */
	cpu_template_static(CPU_TEMPLATE_T2, t);
	ck_assert_uint_eq(t->cpuid[1].leaf, 7);
	ck_assert_uint_eq(t->cpuid[1].flags, 1);
	ck_assert_uint_eq(t->cpuid[1].mods[0].reg, CPU_REG_EBX);
	ck_assert_uint_eq(t->cpuid[1].mods[0].filter >> 16 & 1, 1);
	ck_assert_uint_eq(t->cpuid[1].mods[0].value >> 16 & 1, 0);
	ck_assert_uint_eq(t->cpuid[1].mods[0].value >> 9 & 1, 1);
	ck_assert_uint_eq(t->cpuid[0].mods[0].value & 0x0fff0fff, 0x000306f2);
	/* T2S and T2CL change IA32_ARCH_CAPABILITIES */
	cpu_template_static(CPU_TEMPLATE_T2S, t);
	ck_assert_uint_eq(t->msr[0].addr, 0x10a);
	ck_assert_uint_eq(t->msr[0].filter, UINT64_MAX);
	ck_assert_uint_eq(t->msr[0].value, 0x0c0a0c4c);
	cpu_template_static(CPU_TEMPLATE_NONE, t);
	ck_assert_uint_eq(t->ncpuid + t->nmsr + t->ncaps, 0);
	free(t);
}
END_TEST

/* A template applied to a table with its leaves: T2A's leaf 1 EAX. */
START_TEST(static_template_applied)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	uint32_t leaves[][2] = {{1, 0}, {7, 0}, {0xd, 0}, {0xd, 1}, {0x80000001, 0}, {0x80000008, 0}};

	memset(ent, 0, sizeof(ent));
	for (unsigned i = 0; i < 6; i++) {
		ent[i].function = leaves[i][0];
		ent[i].index = leaves[i][1];
		ent[i].eax = ent[i].ebx = ent[i].ecx = ent[i].edx = 0xffffffff;
	}
	ent[0].eax = 0x00a00f11;    /* Milan */
	cpu_template_static(CPU_TEMPLATE_T2A, t);
	ck_assert_int_eq(cpu_template_apply_cpuid(t, ent, 6, err, sizeof(err)), 0);
	ck_assert_uint_eq(ent[0].eax, 0x000306f2);
	ck_assert_uint_eq(ent[1].flags, 1);
	ck_assert_uint_eq(ent[1].ebx >> 16 & 1, 0);       /* AVX-512F off */
	/* without leaf 0xd subleaf 1 the template does not fit */
	ck_assert_int_eq(cpu_template_apply_cpuid(t, ent, 3, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Template changes a CPUID entry not supported by KVM: Leaf: d, Subleaf: 1");
	free(t);
}
END_TEST

/* Firecracker: custom_cpu_template.rs::test_get_cpu_template_with_{c3,t2,t2s,t2cl,t2a}_static_template,
 * cpu_model.rs::cpu_model_from */
START_TEST(host_checks)
{
	const char *intel = "GenuineIntel", *amd = "AuthenticAMD";
	const char *vendor_msg = "CPU vendor mismatched between actual CPU and CPU template.";
	const char *model_msg = "The current CPU model is not permitted to apply the CPU template.";
	const uint32_t skl = 0x00050654, clx = 0x00050657, icx = 0x000606a6, milan = 0x00a00f11;

	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2A, amd, milan, err, sizeof(err)), 0);
	/* processor type bits (13:12) do not count */
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2A, amd, milan | 0x3000, err,
						 sizeof(err)), 0);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2A, amd, 0x00a00f10, err,
						 sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, model_msg);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2A, intel, milan, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, vendor_msg);
	for (enum cpu_template_kind k = CPU_TEMPLATE_C3; k <= CPU_TEMPLATE_T2CL; k++) {
		ck_assert_int_eq(cpu_template_check_host(k, amd, milan, err, sizeof(err)), -EINVAL);
		ck_assert_str_eq(err, vendor_msg);
		ck_assert_int_eq(cpu_template_check_host(k, intel, clx, err, sizeof(err)), 0);
		ck_assert_int_eq(cpu_template_check_host(k, intel, 0x000806f8, err, sizeof(err)),
				 -EINVAL);    /* Sapphire Rapids */
		ck_assert_str_eq(err, model_msg);
	}
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2S, intel, icx, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2CL, intel, skl, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_T2, intel, skl, err, sizeof(err)), 0);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_C3, intel, icx, err, sizeof(err)), 0);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_NONE, amd, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(cpu_template_check_host(CPU_TEMPLATE_CUSTOM, amd, 0, err, sizeof(err)), 0);
}
END_TEST

START_TEST(template_names)
{
	static const char *const n[] = {"None", "C3", "T2", "T2S", "T2CL", "T2A"};

	for (int i = 0; i < 6; i++) {
		ck_assert_int_eq(cpu_template_from_name(n[i]), i);
		ck_assert_str_eq(cpu_template_name((enum cpu_template_kind)i), n[i]);
	}
	ck_assert_int_eq(cpu_template_from_name("t2"), -1);
	ck_assert_int_eq(cpu_template_from_name("V1N1"), -1);   /* aarch64's */
	ck_assert_str_eq(cpu_template_name(CPU_TEMPLATE_CUSTOM), "None");
}
END_TEST

/* ---------------- the custom template's JSON ---------------- */

/* Five CPUID leaves and four MSRs, with short bitmaps and a binary address
 * (the shape of Firecracker's x86_64 TEST_TEMPLATE_JSON). */
static const char *const test_template =
	"{\"cpuid_modifiers\": ["
	" {\"leaf\": \"0x80000001\", \"subleaf\": \"0x0007\", \"flags\": 0, \"modifiers\": ["
	"   {\"register\": \"eax\", \"bitmap\": \"0bx00100xxx1xxxxxxxxxxxxxxxxxxxxx1\"}]},"
	" {\"leaf\": \"0x80000002\", \"subleaf\": \"0x0004\", \"flags\": 0, \"modifiers\": ["
	"   {\"register\": \"ebx\", \"bitmap\": \"0bxxx1xxxxxxxxxxxxxxxxxxxxx1\"},"
	"   {\"register\": \"ecx\", \"bitmap\": \"0bx00100xxx1xxxxxxxxxxx0xxxxx0xxx1\"}]},"
	" {\"leaf\": \"0x80000003\", \"subleaf\": \"0x0004\", \"flags\": 1, \"modifiers\": ["
	"   {\"register\": \"edx\", \"bitmap\": \"0bx00100xxx1xxxxxxxxxxx0xxxxx0xxx1\"}]},"
	" {\"leaf\": \"0x80000004\", \"subleaf\": \"0b100\", \"flags\": 0, \"modifiers\": ["
	"   {\"register\": \"edx\", \"bitmap\": \"0b00100xxx1xxxxxx1xxxxxxxxxxxxxx1\"},"
	"   {\"register\": \"ecx\", \"bitmap\": \"0bx00100xxx1xxxxxxxxxxxxx111xxxxx1\"}]},"
	" {\"leaf\": \"0x80000005\", \"subleaf\": \"0x0004\", \"flags\": 0, \"modifiers\": []}],"
	" \"msr_modifiers\": ["
	" {\"addr\": \"0x0\", \"bitmap\": \"0bx00100xxx1xxxx00xxx1xxxxxxxxxxx1\"},"
	" {\"addr\": \"0x1\", \"bitmap\": \"0bx00111xxx1xxxx111xxxxx101xxxxxx1\"},"
	" {\"addr\": \"0b11\", \"bitmap\": \"0bx00100xxx1xxxxxx0000000xxxxxxxx1\"},"
	" {\"addr\": \"0xbbca\", \"bitmap\": \"0b1111111111111111111111111111111111111111111111111111111111111110\"}],"
	" \"kvm_capabilities\": [\"171\", \"!172\"]}";

static int parse(const char *text, struct cpu_template *t)
{
	struct jerr e = {err, sizeof(err), NULL};
	json_error_t je;
	json_t *o = json_loads(text, 0, &je);
	int rc;

	ck_assert_msg(o != NULL, "bad test JSON: %s", je.text);
	rc = obj_cpu_config(&e, "cpu-config", o, t);
	json_decref(o);
	return rc;
}

/* Firecracker: custom_cpu_template.rs::test_deserialization_lifecycle,
 * test_serialization_lifecycle */
START_TEST(custom_template_json)
{
	struct cpu_template *t = calloc(1, sizeof(*t)), *t2 = calloc(1, sizeof(*t2));
	json_t *j;
	char *s;

	ck_assert_int_eq(parse(test_template, t), 0);
	ck_assert_uint_eq(t->ncpuid, 5);
	ck_assert_uint_eq(t->nmsr, 4);
	ck_assert_uint_eq(t->ncaps, 2);
	ck_assert_uint_eq(t->cpuid[1].nmods, 2);
	ck_assert_uint_eq(t->cpuid[1].mods[1].reg, CPU_REG_ECX);
	ck_assert_uint_eq(t->cpuid[2].flags, 1);
	ck_assert_uint_eq(t->cpuid[3].subleaf, 4);
	ck_assert_uint_eq(t->cpuid[4].nmods, 0);
	ck_assert_uint_eq(t->msr[2].addr, 3);
	ck_assert_uint_eq(t->msr[3].addr, 0xbbca);
	ck_assert_uint_eq(t->msr[3].filter, UINT64_MAX);
	ck_assert_uint_eq(t->msr[3].value, UINT64_MAX - 1);
	ck_assert(t->caps[1].remove);
	ck_assert_uint_eq(t->caps[1].cap, 172);
	/* back to JSON and parsed again: the same template */
	j = obj_cpu_config_json(t);
	s = json_dumps(j, 0);
	ck_assert_ptr_nonnull(strstr(s, "\"leaf\": \"0x80000002\", \"subleaf\": \"0x4\""));
	ck_assert_ptr_nonnull(strstr(s, "\"0bxxxxxxxxx1xxxxxxxxxxxxxxxxxxxxx1\""));
	ck_assert_int_eq(parse(s, t2), 0);
	ck_assert_int_eq(memcmp(t, t2, sizeof(*t)), 0);
	free(s);
	json_decref(j);
	/* {} is the empty template (test_parse_put_cpu_config_request) */
	ck_assert_int_eq(parse("{}", t), 0);
	ck_assert_uint_eq(t->ncpuid + t->nmsr + t->ncaps, 0);
	free(t);
	free(t2);
}
END_TEST

/* Firecracker: custom_cpu_template.rs::test_malformed_json; functional/test_api.py::test_api_cpu_config
 * (an unknown field); aarch64's fields are refused on x86_64 */
START_TEST(custom_template_errors)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	static const struct { const char *json, *want; } bad[] = {
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x80000001\", \"subleaf\": \"0b000111\", "
		 "\"flags\": 0, \"modifiers\": [{\"register\": \"ekx\", \"bitmap\": "
		 "\"0bx00100xxx1xxxxxxxxxxxxxxxxxxxxx1\"}]}]}",
		 "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]"},
		{"{\"msr_modifiers\": [{\"addr\": \"0jj0\", \"bitmap\": "
		 "\"0bx00100xxx1xxxx00xxx1xxxxxxxxxxx1\"}]}",
		 "No supported number system prefix found in value"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"k\", \"subleaf\": \"0b000111\", \"flags\": 0, "
		 "\"modifiers\": [{\"register\": \"eax\", \"bitmap\": \"0bx\"}]}]}",
		 "No supported number system prefix found in value"},
		{"{\"msr_modifiers\": [{\"addr\": \"0x200\", \"bitmap\": "
		 "\"0bx0?1_0_0x_?x1xxxx00xxx1xxxxxxxxxxx1\"}]}",
		 "Failed to parse string [0bx0?1_0_0x_?x1xxxx00xxx1xxxxxxxxxxx1] as a bitmap"},
		{"{\"msr_modifiers\": [{\"addr\": \"0x200\", \"bitmap\": "
		 "\"0bx00100x0x1xxxx05xxx1xxxxxxxxxxx1\"}]}",
		 "Failed to parse string [0bx00100x0x1xxxx05xxx1xxxxxxxxxxx1] as a bitmap"},
		{"{\"foo\": false}", "unknown field `foo`"},
		{"{\"vcpu_features\": [{\"index\": 0, \"bitmap\": \"0b1\"}]}",
		 "unknown field `vcpu_features`"},
		{"{\"reg_modifiers\": []}", "unknown field `reg_modifiers`"},
		{"{\"kvm_capabilities\": [\"a1\"]}",
		 "Failed to parse string [a1] as a kvm capability - can not convert to numeric"},
		{"{\"kvm_capabilities\": [1]}", "invalid type: integer `1`, expected a string"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"flags\": 0, \"modifiers\": []}]}",
		 "missing field `subleaf`"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"modifiers\": []}]}",
		 "missing field `flags`"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0}]}",
		 "missing field `modifiers`"},
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", \"flags\": 0, "
		 "\"modifiers\": [{\"register\": \"eax\", \"bitmap\": "
		 "\"0b100000000000000000000000000000000\"}]}]}",
		 "as a bitmap - string is too long"},
		{"{\"cpuid_modifiers\": {}}", "expected a sequence"},
		{"{\"msr_modifiers\": [{\"addr\": \"0x1\"}]}", "missing field `bitmap`"},
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(t, 0x5a, sizeof(*t));
		ck_assert_int_eq(parse(bad[i].json, t), -EINVAL);
		ck_assert_msg(strstr(err, bad[i].want) != NULL, "case %u: got \"%s\"", i, err);
		ck_assert_uint_eq(t->ncpuid, 0x5a5a5a5a);   /* nothing written */
	}
	free(t);
}
END_TEST

/* Too many modifiers for wisp's fixed tables: a clear refusal. */
START_TEST(custom_template_limits)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	size_t cap = 64 * 1024;
	char *s = malloc(cap);
	size_t o = 0;

	o += (size_t)snprintf(s + o, cap - o, "{\"msr_modifiers\": [");
	for (int i = 0; i <= CPU_TMPL_MAX_MSRS; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s{\"addr\": \"0x%x\", \"bitmap\": \"0b1\"}",
				      i ? "," : "", i);
	snprintf(s + o, cap - o, "]}");
	ck_assert_int_eq(parse(s, t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "too many modifiers"));
	free(s);
	free(t);
}
END_TEST

/* The document's "cpu-config": the template, or a file holding it
 * (Firecracker: resources.rs::test_cpu_config_from_invalid_json, test_cpu_config_inline) */
START_TEST(document_cpu_config)
{
	struct cpu_template *t = calloc(1, sizeof(*t));
	struct jerr e = {err, sizeof(err), NULL};
	char path[] = "/tmp/wisp-cpu-template-XXXXXX";
	int fd = mkstemp(path);
	json_t *v;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, test_template, strlen(test_template)),
			 (ssize_t)strlen(test_template));
	close(fd);
	v = json_string(path);
	ck_assert_int_eq(obj_cpu_config_doc(&e, "cpu-config", v, t), 0);
	ck_assert_uint_eq(t->ncpuid, 5);
	json_decref(v);
	/* Only an operator's --config-file may name a file; a document from a
	 * snapshot (vmconfig_parse) never makes wisp open a path. */
	{
		struct vm_config *cfg = malloc(sizeof(*cfg));
		char doc[256], cpath[] = "/tmp/wisp-cpu-doc-XXXXXX";
		int dfd = mkstemp(cpath);
		int n = snprintf(doc, sizeof(doc), "{\"cpu-config\": \"%s\"}", path);

		ck_assert_int_eq(vmconfig_parse(doc, (size_t)n, cfg, err, sizeof(err)), -EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "only accepted in --config-file"));
		ck_assert_int_ge(dfd, 0);
		ck_assert_int_eq(write(dfd, doc, (size_t)n), n);
		close(dfd);
		ck_assert_msg(vmconfig_load_file(cpath, cfg, err, sizeof(err)) == 0, "%s", err);
		ck_assert_uint_eq(cfg->cpu_config.ncpuid, 5);
		unlink(cpath);
		free(cfg);
	}
	unlink(path);
	v = json_string("/invalid/path");
	ck_assert_int_eq(obj_cpu_config_doc(&e, "cpu-config", v, t), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "File operation error: No such file or directory (os error 2)"));
	json_decref(v);
	v = json_loads("{\"msr_modifiers\": []}", 0, NULL);
	ck_assert_int_eq(obj_cpu_config_doc(&e, "cpu-config", v, t), 0);
	ck_assert_uint_eq(t->ncpuid + t->nmsr, 0);
	json_decref(v);
	free(t);
}
END_TEST

/* The document: "cpu-config" inline makes the template custom and replaces
 * machine-config's static one; GET /vm/config shows "cpu-config": null
 * (Firecracker: resources.rs::test_cpu_config_inline; functional/test_api.py::
 * test_get_full_config's expected "cpu-config": None) while the full document
 * keeps the template so that it parses back to the same VM. */
START_TEST(document_round_trip)
{
	struct vm_config *cfg = malloc(sizeof(*cfg)), *back = malloc(sizeof(*back));
	char doc[4096];
	char *full, *api;

	snprintf(doc, sizeof(doc), "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, "
		 "\"cpu_template\": \"T2\"}, \"cpu-config\": %s}", test_template);
	vm_config_init(cfg);
	ck_assert_msg(vmconfig_parse(doc, strlen(doc), cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg->machine.cpu_template, CPU_TEMPLATE_CUSTOM);
	ck_assert_uint_eq(cfg->cpu_config.ncpuid, 5);
	full = vmconfig_to_json(cfg);
	api = vmconfig_to_api_json(cfg);
	ck_assert_ptr_nonnull(strstr(api, "\"cpu-config\":null"));
	ck_assert_ptr_null(strstr(api, "cpu_template"));
	vm_config_init(back);
	ck_assert_msg(vmconfig_parse(full, strlen(full), back, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(back->machine.cpu_template, CPU_TEMPLATE_CUSTOM);
	ck_assert_int_eq(memcmp(&back->cpu_config, &cfg->cpu_config, sizeof(cfg->cpu_config)), 0);
	free(full);
	free(api);

	/* what the fuzz target checks: the full document gives back the same
	 * bytes, with "None" given too */
	for (int i = 0; i < 3; i++) {
		static const char *const mc[] = {"\"cpu_template\": \"None\"", "\"cpu_template\": \"T2\"",
						 "\"smt\": false"};

		snprintf(doc, sizeof(doc), "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": "
			 "256, %s}%s%s}", mc[i], i == 1 ? ", \"cpu-config\": " : "",
			 i == 1 ? test_template : "");
		vm_config_init(cfg);
		ck_assert_msg(vmconfig_parse(doc, strlen(doc), cfg, err, sizeof(err)) == 0, "%s", err);
		full = vmconfig_to_json(cfg);
		vm_config_init(back);
		ck_assert_msg(vmconfig_parse(full, strlen(full), back, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(memcmp(cfg, back, sizeof(*cfg)) == 0, "case %d: %s", i, full);
		free(full);
	}

	/* a static template alone: shown in machine-config, parses back */
	snprintf(doc, sizeof(doc), "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 256, "
		 "\"cpu_template\": \"T2A\"}, \"cpu-config\": null}");
	vm_config_init(cfg);
	ck_assert_msg(vmconfig_parse(doc, strlen(doc), cfg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(cfg->machine.cpu_template, CPU_TEMPLATE_T2A);
	api = vmconfig_to_api_json(cfg);
	ck_assert_ptr_nonnull(strstr(api, "\"cpu_template\":\"T2A\""));
	vm_config_init(back);
	ck_assert_msg(vmconfig_parse(api, strlen(api), back, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(back->machine.cpu_template, CPU_TEMPLATE_T2A);
	free(api);
	free(cfg);
	free(back);
}
END_TEST

/* ---------------- REST routes ---------------- */

static int route(const char *method, const char *path, const char *body,
		 struct api_request *req, struct api_response *resp)
{
	return api_route(method, path, body, body ? strlen(body) : 0, req, resp);
}

/* Firecracker: functional/test_api.py::test_api_cpu_config */
START_TEST(route_put_cpu_config)
{
	struct api_request *req = calloc(1, sizeof(*req));
	struct api_response resp;

	ck_assert_int_eq(route("PUT", "/cpu-config", "{\"foo\": false}", req, &resp), 0);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.body, "unknown field `foo`"));
	api_response_clear(&resp);
	ck_assert_int_eq(route("PUT", "/cpu-config", test_template, req, &resp), 1);
	ck_assert_int_eq(req->kind, API_REQ_PUT_CPU_CONFIG);
	ck_assert_uint_eq(req->u.cpu_config.ncpuid, 5);
	api_response_clear(&resp);
	ck_assert_int_eq(route("GET", "/cpu-config", NULL, req, &resp), 0);
	ck_assert_int_eq(resp.status, 400);
	api_response_clear(&resp);
	free(req);
}
END_TEST

/* Firecracker: functional/test_api.py::test_api_put_machine_config (cpu_template values,
 * "random_string" refused), test_api_put_update_pre_boot (GET shows a static template) */
START_TEST(route_machine_cpu_template)
{
	struct api_request *req = calloc(1, sizeof(*req));
	struct api_response resp;
	static const char *const ok[] = {"None", "C3", "T2", "T2S", "T2CL", "T2A"};
	char body[160];
	char *json;

	for (int i = 0; i < 6; i++) {
		snprintf(body, sizeof(body), "{\"vcpu_count\": 2, \"mem_size_mib\": 256, "
			 "\"cpu_template\": \"%s\"}", ok[i]);
		ck_assert_int_eq(route("PUT", "/machine-config", body, req, &resp), 1);
		ck_assert_int_eq((int)req->u.machine.cpu_template, i);
		ck_assert(req->u.machine.cpu_template_given);
		api_response_clear(&resp);
		snprintf(body, sizeof(body), "{\"cpu_template\": \"%s\"}", ok[i]);
		ck_assert_int_eq(route("PATCH", "/machine-config", body, req, &resp), 1);
		ck_assert(req->u.machine_patch.present & API_MC_CPU_TEMPLATE);
		ck_assert_int_eq((int)req->u.machine_patch.mc.cpu_template, i);
		api_response_clear(&resp);
	}
	ck_assert_int_eq(route("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}",
			       req, &resp), 1);
	ck_assert(!req->u.machine.cpu_template_given);
	api_response_clear(&resp);
	ck_assert_int_eq(route("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256, "
			       "\"cpu_template\": \"random_string\"}", req, &resp), 0);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_msg(strstr(resp.body, "unknown variant `random_string`, expected one of `C3`, `T2`, "
			     "`T2S`, `None`, `T2CL`, `T2A`"), "%s", resp.body);
	api_response_clear(&resp);
	ck_assert_int_eq(route("PATCH", "/machine-config", "{\"cpu_template\": \"V1N1\"}", req,
			       &resp), 0);
	api_response_clear(&resp);

	/* GET /machine-config: a static template shows, None and custom do not */
	struct machine_config mc = {.vcpu_count = 1, .mem_size_mib = 128};
	mc.cpu_template = CPU_TEMPLATE_T2CL;
	json = api_machine_config_json(&mc);
	ck_assert_ptr_nonnull(strstr(json, "\"cpu_template\":\"T2CL\""));
	free(json);
	mc.cpu_template = CPU_TEMPLATE_CUSTOM;
	json = api_machine_config_json(&mc);
	ck_assert_ptr_null(strstr(json, "cpu_template"));
	free(json);
	mc.cpu_template = CPU_TEMPLATE_NONE;
	json = api_machine_config_json(&mc);
	ck_assert_ptr_null(strstr(json, "cpu_template"));
	free(json);

	/* PATCH: only a given cpu_template changes it */
	struct api_machine_patch p = {0};
	mc.cpu_template = CPU_TEMPLATE_T2A;
	p.present = API_MC_MEM_SIZE_MIB;
	p.mc.mem_size_mib = 256;
	ck_assert_int_eq(api_machine_patch_apply(&mc, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(mc.cpu_template, CPU_TEMPLATE_T2A);
	p.present = API_MC_CPU_TEMPLATE;
	p.mc.cpu_template = CPU_TEMPLATE_NONE;
	ck_assert_int_eq(api_machine_patch_apply(&mc, &p, err, sizeof(err)), 0);
	ck_assert_int_eq(mc.cpu_template, CPU_TEMPLATE_NONE);
	free(req);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("cpu_template");
	TCase *tc = tcase_create("strings");

	tcase_add_test(tc, bitmap_parse_and_format);
	tcase_add_test(tc, bitmap_bad_characters);
	tcase_add_test(tc, number_strings);
	tcase_add_test(tc, kvm_capability_strings);
	tcase_add_test(tc, template_names);
	suite_add_tcase(s, tc);
	tc = tcase_create("apply");
	tcase_add_test(tc, required_capabilities);
	tcase_add_test(tc, apply_to_cpuid);
	tcase_add_test(tc, apply_to_msrs);
	tcase_add_test(tc, static_templates);
	tcase_add_test(tc, static_template_applied);
	tcase_add_test(tc, host_checks);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, custom_template_json);
	tcase_add_test(tc, custom_template_errors);
	tcase_add_test(tc, custom_template_limits);
	tcase_add_test(tc, document_cpu_config);
	tcase_add_test(tc, document_round_trip);
	tcase_add_test(tc, route_put_cpu_config);
	tcase_add_test(tc, route_machine_cpu_template);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
