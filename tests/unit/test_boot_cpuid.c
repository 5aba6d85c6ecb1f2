/* SPDX-License-Identifier: Apache-2.0 */
/* test_boot_cpuid.c — CPUID normalisation over a synthetic host table. */
#include "../check_main.h"
#include "boot_test_util.h"

static struct kvm_cpuid_entry2 ent[32];
static unsigned nent;

static void add(uint32_t fn, uint32_t idx, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	ent[nent++] = (struct kvm_cpuid_entry2){ .function = fn, .index = idx,
		.eax = a, .ebx = b, .ecx = c, .edx = d };
}

static void vendor(const char *v)
{
	memcpy(&ent[0].ebx, v, 4);
	memcpy(&ent[0].edx, v + 4, 4);
	memcpy(&ent[0].ecx, v + 8, 4);
}

/* What a host's KVM_GET_SUPPORTED_CPUID might report (values arbitrary). */
static void host_table(const char *v)
{
	nent = 0;
	add(0, 0, 0x1f, 0, 0, 0);
	vendor(v);
	add(1, 0, 0x000906ea, 0xab100800, 0x7ffafbff, 0xbfebfbff & ~(1u << 28));
	add(4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0);       /* L1d */
	add(4, 1, 0x1c004122, 0x01c0003f, 0x3f, 0);       /* L1i */
	add(4, 2, 0x1c004143, 0x00c0003f, 0x3ff, 0);      /* L2 */
	add(4, 3, 0x1c03c163, 0x03c0003f, 0x3fff, 6);     /* L3 */
	add(4, 4, 0, 0, 0, 0);                            /* no more caches */
	add(6, 0, 0x27f7, 2, 9, 0);
	add(0xa, 0, 0x07300404, 0, 0, 0x603);
	add(0xb, 0, 1, 2, 0x100, 7);
	add(0xb, 1, 4, 12, 0x201, 7);
	add(0xb, 2, 0, 0, 2, 7);
	add(0x1f, 0, 1, 2, 0x100, 7);
	add(0x1f, 1, 4, 12, 0x201, 7);
	add(0x40000000, 0, 0x40000001, 0, 0, 0);
	add(0x40000001, 0, 0x01007afb, 0, 0, 1);
	add(0x80000001, 0, 0, 0, 0x121, 0x2c100800);
	add(0x80000008, 0, 0x3027, 0, 0x7007, 0);
	add(0x8000001e, 0, 0x55, 0x1234, 0x303, 0);
}

static struct kvm_cpuid_entry2 *find(uint32_t fn, uint32_t idx)
{
	for (unsigned i = 0; i < nent; i++)
		if (ent[i].function == fn && ent[i].index == idx)
			return &ent[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

START_TEST(leaf1_apic_id_and_flags)
{
	struct kvm_cpuid_entry2 *e;

	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 3, 4, false);
	e = find(1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 3);
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, 4);
	ck_assert_uint_eq(e->ebx & 0xffff, 0x0800);   /* CLFLUSH size kept */
	ck_assert(e->ecx & (1u << 31));                /* hypervisor */
	ck_assert(e->edx & (1u << 28));                /* HTT */
	ck_assert_uint_eq(e->eax, 0x000906ea);         /* signature kept */
}
END_TEST

START_TEST(leaf1_single_vcpu)
{
	struct kvm_cpuid_entry2 *e;

	host_table("GenuineIntel");
	find(1, 0)->edx |= 1u << 28;
	cpuid_normalize(ent, nent, 0, 1, false);
	e = find(1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 0);
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, 1);
	ck_assert(!(e->edx & (1u << 28)));
	ck_assert(e->ecx & (1u << 31));
}
END_TEST

START_TEST(leaf1_rounds_logical_count)
{
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 2, 3, false);
	ck_assert_uint_eq((find(1, 0)->ebx >> 16) & 0xff, 4);
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 31, 32, true);
	ck_assert_uint_eq(find(1, 0)->ebx >> 24, 31);
	ck_assert_uint_eq((find(1, 0)->ebx >> 16) & 0xff, 32);
}
END_TEST

START_TEST(topology_no_smt)
{
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 3, 4, false);
	for (uint32_t leaf = 0xb; leaf <= 0x1f; leaf += 0x14) {
		struct kvm_cpuid_entry2 *l0 = find(leaf, 0), *l1 = find(leaf, 1);

		ck_assert_uint_eq(l0->eax, 0);
		ck_assert_uint_eq(l0->ebx, 1);
		ck_assert_uint_eq(l0->ecx, 0x100);    /* level 0, type SMT */
		ck_assert_uint_eq(l0->edx, 3);
		ck_assert_uint_eq(l1->eax, 2);
		ck_assert_uint_eq(l1->ebx, 4);
		ck_assert_uint_eq(l1->ecx, 0x201);    /* level 1, type core */
		ck_assert_uint_eq(l1->edx, 3);
	}
	ck_assert_uint_eq(find(0xb, 2)->ecx, 2);      /* type invalid */
	ck_assert_uint_eq(find(0xb, 2)->ebx, 0);
	ck_assert_uint_eq(find(0xb, 2)->edx, 3);
}
END_TEST

START_TEST(topology_smt)
{
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 5, 6, true);
	ck_assert_uint_eq(find(0xb, 0)->eax, 1);
	ck_assert_uint_eq(find(0xb, 0)->ebx, 2);
	ck_assert_uint_eq(find(0xb, 1)->eax, 3);
	ck_assert_uint_eq(find(0xb, 1)->ebx, 6);
	ck_assert_uint_eq(find(0xb, 1)->edx, 5);
	ck_assert_uint_eq(find(1, 0)->ebx >> 24, 5);
}
END_TEST

START_TEST(leaf4_cache_sharing)
{
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 0, 4, false);
	/* EAX[25:14] sharing - 1, EAX[31:26] cores - 1; low bits kept */
	ck_assert_uint_eq((find(4, 0)->eax >> 14) & 0xfff, 0);
	ck_assert_uint_eq(find(4, 0)->eax >> 26, 3);
	ck_assert_uint_eq(find(4, 0)->eax & 0x3fff, 0x0121);
	ck_assert_uint_eq((find(4, 3)->eax >> 14) & 0xfff, 3);
	ck_assert_uint_eq(find(4, 3)->eax & 0x3fff, 0x0163);
	ck_assert_uint_eq(find(4, 4)->eax, 0);

	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 0, 4, true);
	ck_assert_uint_eq((find(4, 0)->eax >> 14) & 0xfff, 1);
	ck_assert_uint_eq(find(4, 0)->eax >> 26, 1);
	ck_assert_uint_eq((find(4, 2)->eax >> 14) & 0xfff, 1);
	ck_assert_uint_eq((find(4, 3)->eax >> 14) & 0xfff, 3);
}
END_TEST

START_TEST(power_and_perfmon_cleared)
{
	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 0, 1, false);
	ck_assert_uint_eq(find(6, 0)->eax, 1u << 2);   /* only ARAT */
	ck_assert_uint_eq(find(6, 0)->ebx, 0);
	ck_assert_uint_eq(find(6, 0)->ecx, 0);
	ck_assert_uint_eq(find(0xa, 0)->eax, 0);
	ck_assert_uint_eq(find(0xa, 0)->edx, 0);
}
END_TEST

START_TEST(kvm_leaves)
{
	char sig[13];
	struct kvm_cpuid_entry2 *e;

	host_table("GenuineIntel");
	cpuid_normalize(ent, nent, 0, 1, false);
	e = find(0x40000000, 0);
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	sig[12] = '\0';
	ck_assert_str_eq(sig, "KVMKVMKVM");
	ck_assert_mem_eq(sig, "KVMKVMKVM\0\0\0", 12);
	ck_assert_uint_eq(e->eax, 0x40000001);
	e = find(0x40000001, 0);
	ck_assert_uint_eq(e->eax, 0x01007afb);         /* features kept */
	ck_assert_uint_eq(e->edx, 0);                  /* no hints */
}
END_TEST

START_TEST(amd_leaves)
{
	host_table("AuthenticAMD");
	cpuid_normalize(ent, nent, 3, 4, true);
	ck_assert_uint_eq(find(0x80000008, 0)->ecx & 0xff, 3);
	ck_assert_uint_eq((find(0x80000008, 0)->ecx >> 12) & 0xf, 2);
	ck_assert(find(0x80000001, 0)->ecx & 2);
	ck_assert_uint_eq(find(0x8000001e, 0)->eax, 3);
	ck_assert_uint_eq(find(0x8000001e, 0)->ebx & 0xff, 1);
	ck_assert_uint_eq((find(0x8000001e, 0)->ebx >> 8) & 0xff, 1);

	host_table("GenuineIntel");   /* AMD-only leaves untouched on Intel */
	cpuid_normalize(ent, nent, 3, 4, true);
	ck_assert_uint_eq(find(0x80000008, 0)->ecx, 0x7007);
	ck_assert_uint_eq(find(0x8000001e, 0)->eax, 0x55);
}
END_TEST

START_TEST(empty_table)
{
	cpuid_normalize(ent, 0, 0, 1, false);   /* nothing to do, no crash */
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("boot_cpuid");
	TCase *tc = tcase_create("cpuid");

	tcase_add_test(tc, leaf1_apic_id_and_flags);
	tcase_add_test(tc, leaf1_single_vcpu);
	tcase_add_test(tc, leaf1_rounds_logical_count);
	tcase_add_test(tc, topology_no_smt);
	tcase_add_test(tc, topology_smt);
	tcase_add_test(tc, leaf4_cache_sharing);
	tcase_add_test(tc, power_and_perfmon_cleared);
	tcase_add_test(tc, kvm_leaves);
	tcase_add_test(tc, amd_leaves);
	tcase_add_test(tc, empty_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
