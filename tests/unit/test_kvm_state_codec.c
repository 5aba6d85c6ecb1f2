/* SPDX-License-Identifier: Apache-2.0 */
/* test_kvm_state_codec.c — the record format of vCPU and VM KVM state
 * buffers (vmm/kvm/kvm_state.h): round trip, and every malformed buffer
 * refused with a message that names the record. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "kvm_state.h"

#define XSAVE_LEN 4160u   /* longer than struct kvm_xsave: XSAVE2 sizes vary */

static char err[512];

static void fill(void *p, size_t n, uint8_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7);
}

/* A count-prefixed array record (MSRS, CPUID) of n entries of esize. */
static void put_array(struct kvm_state_buf *b, uint32_t tag, uint32_t n, size_t esize,
		      uint8_t seed)
{
	uint8_t *p = kvm_state_put_begin(b, tag, (uint32_t)(8 + n * esize));

	ck_assert_ptr_nonnull(p);
	memcpy(p, &n, 4);
	fill(p + 8, n * esize, seed);
	if (tag == KVM_STATE_VCPU_MSRS) {
		for (uint32_t i = 0; i < n; i++) {
			struct kvm_msr_entry e = { .index = 0x4b564d00 + i, .data = 0x1111ULL * i };

			memcpy(p + 8 + i * esize, &e, sizeof(e));
		}
	}
}

/* Every vCPU record but `skip` (0: none), distinctive contents. */
static void build_vcpu(struct kvm_state_buf *b, uint32_t skip)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dr;
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct kvm_vcpu_events ev;
	struct kvm_state_tsc_khz tsc = { .khz = 2445430 };
	uint8_t *x;

	fill(&regs, sizeof(regs), 1);
	fill(&sregs, sizeof(sregs), 2);
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].value = 7;
	memset(&dr, 0, sizeof(dr));
	dr.dr7 = 0x400;
	fill(&lapic, sizeof(lapic), 3);
	fill(&ev, sizeof(ev), 4);

	if (skip != KVM_STATE_VCPU_TSC_KHZ)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_TSC_KHZ, &tsc, sizeof(tsc)), 0);
	if (skip != KVM_STATE_VCPU_CPUID)
		put_array(b, KVM_STATE_VCPU_CPUID, 3, sizeof(struct kvm_cpuid_entry2), 5);
	if (skip != KVM_STATE_VCPU_MP_STATE)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_MP_STATE, &mp, sizeof(mp)), 0);
	if (skip != KVM_STATE_VCPU_REGS)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_REGS, &regs, sizeof(regs)), 0);
	if (skip != KVM_STATE_VCPU_SREGS)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_SREGS, &sregs, sizeof(sregs)), 0);
	if (skip != KVM_STATE_VCPU_XSAVE) {
		x = kvm_state_put_begin(b, KVM_STATE_VCPU_XSAVE, XSAVE_LEN);
		ck_assert_ptr_nonnull(x);
		fill(x, XSAVE_LEN, 6);
	}
	if (skip != KVM_STATE_VCPU_XCRS)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_XCRS, &xcrs, sizeof(xcrs)), 0);
	if (skip != KVM_STATE_VCPU_DEBUGREGS)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_DEBUGREGS, &dr, sizeof(dr)), 0);
	if (skip != KVM_STATE_VCPU_LAPIC)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_LAPIC, &lapic, sizeof(lapic)), 0);
	if (skip != KVM_STATE_VCPU_MSRS)
		put_array(b, KVM_STATE_VCPU_MSRS, 5, sizeof(struct kvm_msr_entry), 0);
	if (skip != KVM_STATE_VCPU_EVENTS)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VCPU_EVENTS, &ev, sizeof(ev)), 0);
}

static void build_vm(struct kvm_state_buf *b, uint32_t skip)
{
	static const uint32_t tags[] = { KVM_STATE_VM_PIC_MASTER, KVM_STATE_VM_PIC_SLAVE,
					 KVM_STATE_VM_IOAPIC };
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;

	for (unsigned i = 0; i < 3; i++) {
		struct kvm_irqchip c;

		if (tags[i] == skip)
			continue;
		fill(&c, sizeof(c), (uint8_t)(10 + i));
		c.chip_id = i;
		c.pad = 0;
		ck_assert_int_eq(kvm_state_put(b, tags[i], &c, sizeof(c)), 0);
	}
	fill(&pit, sizeof(pit), 20);
	memset(&clock, 0, sizeof(clock));
	clock.clock = 123456789;
	clock.flags = KVM_CLOCK_TSC_STABLE;
	if (skip != KVM_STATE_VM_PIT)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VM_PIT, &pit, sizeof(pit)), 0);
	if (skip != KVM_STATE_VM_CLOCK)
		ck_assert_int_eq(kvm_state_put(b, KVM_STATE_VM_CLOCK, &clock, sizeof(clock)), 0);
}

static void expect_vcpu_bad(const uint8_t *buf, size_t len, const char *needle)
{
	err[0] = '\0';
	ck_assert_int_eq(kvm_vcpu_state_check(buf, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, needle), "message \"%s\" lacks \"%s\"", err, needle);
}

static void expect_vm_bad(const uint8_t *buf, size_t len, const char *needle)
{
	err[0] = '\0';
	ck_assert_int_eq(kvm_vm_state_check(buf, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, needle), "message \"%s\" lacks \"%s\"", err, needle);
}

/* The offset of the record with this tag's header in a well-formed buffer. */
static size_t rec_off(const struct kvm_state_buf *b, uint32_t tag)
{
	const uint8_t *p = kvm_state_find(b->data, b->len, tag, NULL);

	ck_assert_ptr_nonnull(p);
	return (size_t)(p - b->data) - 8;
}

START_TEST(vcpu_round_trip)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_regs regs;
	uint32_t len = 0;
	const uint8_t *p;

	build_vcpu(&b, 0);
	ck_assert_uint_eq(b.len % 8, 0);
	ck_assert_int_eq(kvm_vcpu_state_check(b.data, b.len, err, sizeof(err)), 0);
	/* A vCPU buffer is no VM buffer. */
	expect_vm_bad(b.data, b.len, "record TSC_KHZ does not belong");

	fill(&regs, sizeof(regs), 1);
	p = kvm_state_find(b.data, b.len, KVM_STATE_VCPU_REGS, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, sizeof(regs));
	ck_assert_int_eq(memcmp(p, &regs, sizeof(regs)), 0);

	p = kvm_state_find(b.data, b.len, KVM_STATE_VCPU_XSAVE, &len);
	ck_assert_uint_eq(len, XSAVE_LEN);
	ck_assert_uint_eq(p[1], (uint8_t)(6 + 7));

	p = kvm_state_find(b.data, b.len, KVM_STATE_VCPU_MSRS, &len);
	ck_assert_uint_eq(len, 8 + 5 * sizeof(struct kvm_msr_entry));
	{
		struct kvm_msr_entry e;

		memcpy(&e, p + 8 + 4 * sizeof(e), sizeof(e));
		ck_assert_uint_eq(e.index, 0x4b564d04);
		ck_assert_uint_eq(e.data, 0x4444);
	}
	ck_assert_ptr_null(kvm_state_find(b.data, b.len, KVM_STATE_VM_PIT, NULL));
	free(b.data);
}
END_TEST

START_TEST(vm_round_trip)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_clock_data c;
	struct kvm_irqchip chip;
	uint32_t len;
	const uint8_t *p;

	build_vm(&b, 0);
	ck_assert_int_eq(kvm_vm_state_check(b.data, b.len, err, sizeof(err)), 0);
	expect_vcpu_bad(b.data, b.len, "record PIC_MASTER does not belong");
	p = kvm_state_find(b.data, b.len, KVM_STATE_VM_CLOCK, &len);
	ck_assert_uint_eq(len, sizeof(c));
	memcpy(&c, p, sizeof(c));
	ck_assert_uint_eq(c.clock, 123456789);
	p = kvm_state_find(b.data, b.len, KVM_STATE_VM_IOAPIC, &len);
	memcpy(&chip, p, sizeof(chip));
	ck_assert_uint_eq(chip.chip_id, KVM_IRQCHIP_IOAPIC);
	free(b.data);
}
END_TEST

START_TEST(every_truncation_refused)
{
	struct kvm_state_buf v = { 0 }, m = { 0 };

	build_vcpu(&v, 0);
	build_vm(&m, 0);
	for (size_t len = 0; len < v.len; len++)
		ck_assert_msg(kvm_vcpu_state_check(v.data, len, err, sizeof(err)) == -EINVAL,
			      "vCPU buffer cut to %zu of %zu bytes accepted", len, v.len);
	for (size_t len = 0; len < m.len; len++)
		ck_assert_msg(kvm_vm_state_check(m.data, len, err, sizeof(err)) == -EINVAL,
			      "VM buffer cut to %zu of %zu bytes accepted", len, m.len);
	/* Messages: cut inside a record, at a record boundary, nothing at all. */
	expect_vcpu_bad(v.data, rec_off(&v, KVM_STATE_VCPU_LAPIC) + 100,
			"record LAPIC is truncated");
	expect_vcpu_bad(v.data, rec_off(&v, KVM_STATE_VCPU_LAPIC) + 3, "stray bytes");
	expect_vcpu_bad(v.data, rec_off(&v, KVM_STATE_VCPU_EVENTS), "record EVENTS missing");
	expect_vcpu_bad(v.data, 0, "missing");
	expect_vcpu_bad(NULL, 16, "no buffer");
	expect_vm_bad(m.data, m.len - 4, "record CLOCK is truncated");
	free(v.data);
	free(m.data);
}
END_TEST

START_TEST(missing_records)
{
	static const uint32_t vtags[] = {
		KVM_STATE_VCPU_REGS, KVM_STATE_VCPU_SREGS, KVM_STATE_VCPU_XSAVE,
		KVM_STATE_VCPU_XCRS, KVM_STATE_VCPU_DEBUGREGS, KVM_STATE_VCPU_LAPIC,
		KVM_STATE_VCPU_MSRS, KVM_STATE_VCPU_CPUID, KVM_STATE_VCPU_MP_STATE,
		KVM_STATE_VCPU_EVENTS, KVM_STATE_VCPU_TSC_KHZ,
	};
	static const uint32_t mtags[] = { KVM_STATE_VM_PIC_MASTER, KVM_STATE_VM_PIC_SLAVE,
					  KVM_STATE_VM_IOAPIC, KVM_STATE_VM_PIT,
					  KVM_STATE_VM_CLOCK };
	char want[64];

	for (size_t i = 0; i < sizeof(vtags) / sizeof(vtags[0]); i++) {
		struct kvm_state_buf b = { 0 };

		build_vcpu(&b, vtags[i]);
		snprintf(want, sizeof(want), "record %s missing", kvm_state_tag_name(vtags[i]));
		expect_vcpu_bad(b.data, b.len, want);
		free(b.data);
	}
	for (size_t i = 0; i < sizeof(mtags) / sizeof(mtags[0]); i++) {
		struct kvm_state_buf b = { 0 };

		build_vm(&b, mtags[i]);
		snprintf(want, sizeof(want), "record %s missing", kvm_state_tag_name(mtags[i]));
		expect_vm_bad(b.data, b.len, want);
		free(b.data);
	}
}
END_TEST

START_TEST(duplicate_and_unknown_records)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_regs regs = { 0 };
	uint32_t bad = 0x999;
	size_t off;

	build_vcpu(&b, 0);
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VCPU_REGS, &regs, sizeof(regs)), 0);
	expect_vcpu_bad(b.data, b.len, "record REGS appears twice");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	off = rec_off(&b, KVM_STATE_VCPU_SREGS);
	memcpy(b.data + off, &bad, 4);
	expect_vcpu_bad(b.data, b.len, "unknown record tag 0x999");
	free(b.data);

	/* A VM record in a vCPU buffer, and trailing zeros (tag 0). */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VM_CLOCK, &regs, 48), 0);
	expect_vcpu_bad(b.data, b.len, "record CLOCK does not belong");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	ck_assert_ptr_nonnull(kvm_state_put_begin(&b, 0, 0));
	expect_vcpu_bad(b.data, b.len, "unknown record tag 0x0");
	free(b.data);
}
END_TEST

START_TEST(wrong_sizes)
{
	struct kvm_state_buf b = { 0 };
	uint8_t zero[4096] = { 0 };

	build_vcpu(&b, KVM_STATE_VCPU_REGS);
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VCPU_REGS, zero, sizeof(struct kvm_regs) - 8), 0);
	expect_vcpu_bad(b.data, b.len, "record REGS: 136 bytes, want 144");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vm(&b, KVM_STATE_VM_PIT);
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VM_PIT, zero, sizeof(struct kvm_pit_state2) + 8),
			 0);
	expect_vm_bad(b.data, b.len, "record PIT: 120 bytes, want 112");
	free(b.data);

	/* XSAVE: at least struct kvm_xsave, at most 64 KiB, whole u32s. */
	for (int i = 0; i < 3; i++) {
		static const uint32_t lens[] = { 4092, 4098, 64 * 1024 + 4 };
		uint8_t *x;

		b = (struct kvm_state_buf){ 0 };
		build_vcpu(&b, KVM_STATE_VCPU_XSAVE);
		x = kvm_state_put_begin(&b, KVM_STATE_VCPU_XSAVE, lens[i]);
		ck_assert_ptr_nonnull(x);
		expect_vcpu_bad(b.data, b.len, "record XSAVE:");
		free(b.data);
	}
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, KVM_STATE_VCPU_XSAVE);
	ck_assert_ptr_nonnull(kvm_state_put_begin(&b, KVM_STATE_VCPU_XSAVE, 64 * 1024));
	ck_assert_int_eq(kvm_vcpu_state_check(b.data, b.len, err, sizeof(err)), 0);
	free(b.data);
}
END_TEST

START_TEST(oversize_counts)
{
	struct kvm_state_buf b = { 0 };
	uint32_t n;

	/* MSRs: at most 1024; exactly 1024 passes. */
	build_vcpu(&b, KVM_STATE_VCPU_MSRS);
	put_array(&b, KVM_STATE_VCPU_MSRS, KVM_STATE_MAX_MSRS, sizeof(struct kvm_msr_entry), 0);
	ck_assert_int_eq(kvm_vcpu_state_check(b.data, b.len, err, sizeof(err)), 0);
	free(b.data);
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, KVM_STATE_VCPU_MSRS);
	put_array(&b, KVM_STATE_VCPU_MSRS, KVM_STATE_MAX_MSRS + 1, sizeof(struct kvm_msr_entry), 0);
	expect_vcpu_bad(b.data, b.len, "record MSRS: 1025 entries, at most 1024");
	free(b.data);

	/* CPUID: at most 256. */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, KVM_STATE_VCPU_CPUID);
	put_array(&b, KVM_STATE_VCPU_CPUID, 257, sizeof(struct kvm_cpuid_entry2), 1);
	expect_vcpu_bad(b.data, b.len, "record CPUID: 257 entries, at most 256");
	free(b.data);

	/* A count that disagrees with the record's length. */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	n = 6;
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_MSRS) + 8, &n, 4);
	expect_vcpu_bad(b.data, b.len, "record MSRS: 88 bytes for 6 entries, want 104");
	free(b.data);

	/* A count huge enough to overflow 32-bit arithmetic. */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	n = 0xffffffffu;
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_CPUID) + 8, &n, 4);
	expect_vcpu_bad(b.data, b.len, "record CPUID: 4294967295 entries");
	free(b.data);

	/* An array record shorter than its own header. */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, KVM_STATE_VCPU_CPUID);
	ck_assert_ptr_nonnull(kvm_state_put_begin(&b, KVM_STATE_VCPU_CPUID, 4));
	expect_vcpu_bad(b.data, b.len, "record CPUID: 4 bytes, shorter than its 8-byte header");
	free(b.data);

	/* XCRs: at most KVM_MAX_XCRS. */
	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	n = KVM_MAX_XCRS + 1;
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_XCRS) + 8, &n, 4);
	expect_vcpu_bad(b.data, b.len, "record XCRS: 17 XCRs, at most 16");
	free(b.data);
}
END_TEST

START_TEST(reserved_and_padding)
{
	struct kvm_state_buf b = { 0 };
	uint32_t one = 1;
	size_t off;

	/* MP_STATE is 4 bytes: 4 bytes of padding follow, which must be zero. */
	build_vcpu(&b, 0);
	off = rec_off(&b, KVM_STATE_VCPU_MP_STATE);
	b.data[off + 8 + 5] = 0xaa;
	expect_vcpu_bad(b.data, b.len, "record MP_STATE: padding not zero");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_MSRS) + 8 + 4, &one, 4);
	expect_vcpu_bad(b.data, b.len, "record MSRS: header padding not zero");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	/* entry 2's reserved word */
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_MSRS) + 8 + 8 + 2 * 16 + 4, &one, 4);
	expect_vcpu_bad(b.data, b.len, "record MSRS: entry 2 (MSR 0x4b564d02): reserved");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_TSC_KHZ) + 8 + 4, &one, 4);
	expect_vcpu_bad(b.data, b.len, "record TSC_KHZ: reserved field not zero");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_DEBUGREGS) + 8 +
		       offsetof(struct kvm_debugregs, flags), &one, 4);
	expect_vcpu_bad(b.data, b.len, "record DEBUGREGS: flags 0x1");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vcpu(&b, 0);
	memcpy(b.data + rec_off(&b, KVM_STATE_VCPU_XCRS) + 8 + 4, &one, 4);
	expect_vcpu_bad(b.data, b.len, "record XCRS: flags 0x1");
	free(b.data);
}
END_TEST

START_TEST(vm_record_contents)
{
	struct kvm_state_buf b = { 0 };
	struct kvm_pit_state2 pit;
	uint32_t v;

	build_vm(&b, 0);
	v = KVM_IRQCHIP_PIC_MASTER;
	memcpy(b.data + rec_off(&b, KVM_STATE_VM_PIC_SLAVE) + 8, &v, 4);
	expect_vm_bad(b.data, b.len, "record PIC_SLAVE: chip_id 0, want 1");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vm(&b, 0);
	v = 1;
	memcpy(b.data + rec_off(&b, KVM_STATE_VM_IOAPIC) + 8 + 4, &v, 4);
	expect_vm_bad(b.data, b.len, "record IOAPIC: padding not zero");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vm(&b, 0);
	v = 0x10 | KVM_CLOCK_TSC_STABLE;
	memcpy(b.data + rec_off(&b, KVM_STATE_VM_CLOCK) + 8 + offsetof(struct kvm_clock_data, flags),
	       &v, 4);
	expect_vm_bad(b.data, b.len, "record CLOCK: unknown flags 0x10");
	free(b.data);

	b = (struct kvm_state_buf){ 0 };
	build_vm(&b, 0);
	memset(&pit, 0, sizeof(pit));
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VM_PIT, &pit, sizeof(pit)), 0);
	expect_vm_bad(b.data, b.len, "record PIT appears twice");
	free(b.data);
}
END_TEST

START_TEST(record_layout)
{
	struct kvm_state_buf b = { 0 };
	uint8_t one = 0x5a;
	uint32_t tag, len;

	/* {tag u32, len u32, payload, zero pad to 8} */
	ck_assert_int_eq(kvm_state_put(&b, KVM_STATE_VCPU_MP_STATE, &one, 1), 0);
	ck_assert_uint_eq(b.len, 16);
	memcpy(&tag, b.data, 4);
	memcpy(&len, b.data + 4, 4);
	ck_assert_uint_eq(tag, KVM_STATE_VCPU_MP_STATE);
	ck_assert_uint_eq(len, 1);
	ck_assert_uint_eq(b.data[8], 0x5a);
	for (int i = 9; i < 16; i++)
		ck_assert_uint_eq(b.data[i], 0);
	ck_assert_str_eq(kvm_state_tag_name(KVM_STATE_VCPU_MP_STATE), "MP_STATE");
	ck_assert_str_eq(kvm_state_tag_name(0x12345), "?");
	/* A record whose length runs past the end is not found. */
	len = 100;
	memcpy(b.data + 4, &len, 4);
	ck_assert_ptr_null(kvm_state_find(b.data, b.len, KVM_STATE_VCPU_MP_STATE, NULL));
	ck_assert_ptr_null(kvm_state_find(NULL, 0, KVM_STATE_VCPU_MP_STATE, NULL));
	free(b.data);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("kvm_state_codec");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, vcpu_round_trip);
	tcase_add_test(tc, vm_round_trip);
	tcase_add_test(tc, every_truncation_refused);
	tcase_add_test(tc, missing_records);
	tcase_add_test(tc, duplicate_and_unknown_records);
	tcase_add_test(tc, wrong_sizes);
	tcase_add_test(tc, oversize_counts);
	tcase_add_test(tc, reserved_and_padding);
	tcase_add_test(tc, vm_record_contents);
	tcase_add_test(tc, record_layout);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
