/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_kvm_state.c — vmm/kvm/kvm_state.c on the real /dev/kvm, without a wisp
 * process: VMs made here with plain ioctls (KVM_CREATE_VM, irqchip, PIT2, a
 * memory slot, vCPUs with the supported CPUID).
 *  - state_round_trip: distinctive regs, sregs, XSAVE, debug registers,
 *    MSRs, LAPIC, PIC/IOAPIC/PIT state in VM 1 (two vCPUs); save; restore
 *    into VM 2 of the same shape; save VM 2 and compare record by record.
 *    Equal, except what KVM moves on by itself: the TSC and kvmclock (time
 *    passes between the saves) and the PIT's count_load_time (a host
 *    timestamp KVM_SET_PIT2 resets).
 *  - guest_continues: a real-mode guest (mov/out) runs two steps in VM 1,
 *    is saved, restored into VM 2, and VM 2 goes on at the same RIP with the
 *    next `out`.
 *  - error messages name the vCPU, the step and the ioctl.
 * Prints which MSRs of the KVM/PVM range 0x4b564d00-0x4b564dff exist here
 * and which of them KVM_SET_MSRS refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../check_main.h"
#include "boot.h"
#include "kvm_state.h"

#define MEM_SIZE  (1u << 20)
#define CODE_ADDR 0x1000u
#define OUT_PORT  0x10u

#define MSR_IA32_TSC          0x10u
#define MSR_IA32_SYSENTER_ESP 0x175u
#define MSR_IA32_SYSENTER_EIP 0x176u
#define MSR_IA32_CR_PAT       0x277u
#define MSR_MTRR_DEF_TYPE     0x2ffu
#define MSR_STAR              0xc0000081u
#define MSR_LSTAR             0xc0000082u
#define MSR_CSTAR             0xc0000083u
#define MSR_SYSCALL_MASK      0xc0000084u
#define MSR_KERNEL_GS_BASE    0xc0000102u
#define MSR_TSC_AUX           0xc0000103u
#define MSR_KVM_SYSTEM_TIME   0x4b564d01u
#define MSR_KVM_POLL_CONTROL  0x4b564d05u
#define MSR_KVM_ASYNC_PF_INT  0x4b564d06u

#define APIC_TASKPRI 0x80
#define APIC_SPIV    0xf0
#define APIC_LVTT    0x320
#define APIC_LVT0    0x350
#define APIC_LVT1    0x360
#define APIC_LVTERR  0x370
#define APIC_TMCCT   0x390
#define APIC_TDCR    0x3e0

static int kvm_fd = -1;
static char err[512];

struct tvm {
	int vm;
	unsigned n;
	int vcpu[2];
	struct kvm_run *run[2];
	uint8_t *mem;
};

static int run_size;

static void tvm_create(struct tvm *t, unsigned nvcpus)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_userspace_memory_region slot;
	struct kvm_cpuid2 *cpuid = malloc(sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));

	memset(t, 0, sizeof(*t));
	t->n = nvcpus;
	t->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	ck_assert_int_ge(t->vm, 0);
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_TSS_ADDR, 0xfffbd000UL), 0);
	ck_assert_int_eq(ioctl(t->vm, KVM_CREATE_IRQCHIP, 0), 0);
	ck_assert_int_eq(ioctl(t->vm, KVM_CREATE_PIT2, &pit), 0);
	t->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(t->mem, MAP_FAILED);
	slot = (struct kvm_userspace_memory_region){ .slot = 0, .guest_phys_addr = 0,
		.memory_size = MEM_SIZE, .userspace_addr = (uintptr_t)t->mem };
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_USER_MEMORY_REGION, &slot), 0);
	for (unsigned i = 0; i < nvcpus; i++) {
		t->vcpu[i] = ioctl(t->vm, KVM_CREATE_VCPU, (unsigned long)i);
		ck_assert_int_ge(t->vcpu[i], 0);
		t->run[i] = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				 t->vcpu[i], 0);
		ck_assert_ptr_ne(t->run[i], MAP_FAILED);
		ck_assert_ptr_nonnull(cpuid);
		memset(cpuid, 0, sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
		cpuid->nent = 256;
		ck_assert_int_eq(ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid), 0);
		cpuid_normalize(cpuid->entries, cpuid->nent, i, nvcpus, false);
		ck_assert_int_eq(ioctl(t->vcpu[i], KVM_SET_CPUID2, cpuid), 0);
	}
	free(cpuid);
}

static void tvm_destroy(struct tvm *t)
{
	for (unsigned i = 0; i < t->n; i++) {
		munmap(t->run[i], (size_t)run_size);
		close(t->vcpu[i]);
	}
	close(t->vm);
	munmap(t->mem, MEM_SIZE);
}

/* KVM_GET_MSRS / KVM_SET_MSRS of n entries; returns what the ioctl did. */
static int msr_ioctl(int vcpu, unsigned long req, struct kvm_msr_entry *e, unsigned n)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + n * sizeof(*e));
	int r;

	ck_assert_ptr_nonnull(m);
	m->nmsrs = n;
	memcpy(m->entries, e, n * sizeof(*e));
	r = ioctl(vcpu, req, m);
	memcpy(e, m->entries, n * sizeof(*e));
	free(m);
	return r;
}

static void set_msrs(int vcpu, const struct kvm_msr_entry *e, unsigned n)
{
	struct kvm_msr_entry copy[16];

	ck_assert_uint_le(n, 16);
	memcpy(copy, e, n * sizeof(*e));
	ck_assert_int_eq(msr_ioctl(vcpu, KVM_SET_MSRS, copy, n), (int)n);
}

static uint32_t lapic_reg(const struct kvm_lapic_state *l, unsigned off)
{
	uint32_t v;

	memcpy(&v, l->regs + off, 4);
	return v;
}

static void set_lapic_reg(struct kvm_lapic_state *l, unsigned off, uint32_t v)
{
	memcpy(l->regs + off, &v, 4);
}

/* Make vCPU i of t distinctive in every piece the state holds. */
static void make_distinctive(struct tvm *t, unsigned i)
{
	int fd = t->vcpu[i];
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dr;
	struct kvm_lapic_state lapic;
	struct kvm_xsave *xs;
	uint64_t *r = (uint64_t *)&regs;
	const struct kvm_msr_entry msrs[] = {
		{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
		{ .index = MSR_LSTAR, .data = 0xffffffff81000000ULL + i },
		{ .index = MSR_CSTAR, .data = 0xffffffff81000100ULL },
		{ .index = MSR_SYSCALL_MASK, .data = 0x47700 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0xffff888000001000ULL + 0x100 * i },
		{ .index = MSR_TSC_AUX, .data = 0x10 + i },
		{ .index = MSR_IA32_SYSENTER_ESP, .data = 0xfeed0000 + i },
		{ .index = MSR_IA32_SYSENTER_EIP, .data = 0xbeef0000 + i },
		{ .index = MSR_IA32_CR_PAT, .data = 0x0007040600070406ULL },
		{ .index = MSR_MTRR_DEF_TYPE, .data = 0xc06 },
		{ .index = MSR_KVM_SYSTEM_TIME, .data = 0x8001 + 0x40 * i },
		{ .index = MSR_KVM_ASYNC_PF_INT, .data = 0xec },
		{ .index = MSR_KVM_POLL_CONTROL, .data = 0 },
		{ .index = MSR_IA32_TSC, .data = 0x123456789000ULL },
	};

	ck_assert_int_eq(ioctl(fd, KVM_GET_REGS, &regs), 0);
	for (unsigned k = 0; k < 16; k++)
		r[k] = 0x1111111111111111ULL * (k + 1) + i;
	regs.rip = CODE_ADDR + 0x10 * i;
	regs.rflags = 0x2;
	ck_assert_int_eq(ioctl(fd, KVM_SET_REGS, &regs), 0);

	ck_assert_int_eq(ioctl(fd, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	sregs.ds.selector = 0x1234;
	sregs.ds.base = 0x12340;
	sregs.es.selector = 0x0042 + (uint16_t)i;
	sregs.es.base = 0x420 + 0x10 * i;
	sregs.gdt.base = 0x500;
	sregs.gdt.limit = 0x1f;
	sregs.idt.base = 0x520;
	sregs.idt.limit = 0xfff;
	ck_assert_int_eq(ioctl(fd, KVM_SET_SREGS, &sregs), 0);

	xs = calloc(1, 64 * 1024);
	ck_assert_ptr_nonnull(xs);
	ck_assert_int_eq(ioctl(fd, KVM_GET_XSAVE, xs), 0);
	for (unsigned k = 0; k < 16; k++)   /* XMM0 at byte 160 of the legacy area */
		((uint8_t *)xs->region)[160 + k] = (uint8_t)(0xa0 + k + i);
	ck_assert_int_eq(ioctl(fd, KVM_SET_XSAVE, xs), 0);
	free(xs);

	memset(&dr, 0, sizeof(dr));
	dr.db[0] = 0x1000 + i;
	dr.db[1] = 0x2000;
	dr.db[2] = 0x3000;
	dr.db[3] = 0x4000;
	dr.dr6 = 0xffff0ff0;
	dr.dr7 = 0x400;
	ck_assert_int_eq(ioctl(fd, KVM_SET_DEBUGREGS, &dr), 0);

	ck_assert_int_eq(ioctl(fd, KVM_GET_LAPIC, &lapic), 0);
	set_lapic_reg(&lapic, APIC_TASKPRI, 0x20);
	set_lapic_reg(&lapic, APIC_SPIV, 0x1ff);
	set_lapic_reg(&lapic, APIC_LVTT, 0x10030);
	set_lapic_reg(&lapic, APIC_LVT0, i ? 0x10700 : 0x700);
	set_lapic_reg(&lapic, APIC_LVT1, 0x400);
	set_lapic_reg(&lapic, APIC_LVTERR, 0x10031);
	set_lapic_reg(&lapic, APIC_TDCR, 0xb);
	ck_assert_int_eq(ioctl(fd, KVM_SET_LAPIC, &lapic), 0);

	set_msrs(fd, msrs, sizeof(msrs) / sizeof(msrs[0]));
}

static void make_vm_distinctive(struct tvm *t)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_PIC_MASTER;
	ck_assert_int_eq(ioctl(t->vm, KVM_GET_IRQCHIP, &chip), 0);
	chip.chip.pic.imr = 0xfa;
	chip.chip.pic.irq_base = 0x20;
	chip.chip.pic.elcr = 0x08;
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_IRQCHIP, &chip), 0);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_PIC_SLAVE;
	ck_assert_int_eq(ioctl(t->vm, KVM_GET_IRQCHIP, &chip), 0);
	chip.chip.pic.imr = 0xef;
	chip.chip.pic.irq_base = 0x28;
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_IRQCHIP, &chip), 0);

	memset(&chip, 0, sizeof(chip));
	chip.chip_id = KVM_IRQCHIP_IOAPIC;
	ck_assert_int_eq(ioctl(t->vm, KVM_GET_IRQCHIP, &chip), 0);
	chip.chip.ioapic.id = 3;
	chip.chip.ioapic.redirtbl[5].bits = 0x10035;        /* masked, vector 0x35 */
	chip.chip.ioapic.redirtbl[9].bits = 0x0100000000018039ULL; /* masked, level, dest 1 */
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_IRQCHIP, &chip), 0);

	/* Channel 2 (the speaker's: no interrupt, no timer) counts. */
	ck_assert_int_eq(ioctl(t->vm, KVM_GET_PIT2, &pit), 0);
	pit.channels[2].count = 0x1234;
	pit.channels[2].mode = 3;
	pit.channels[2].rw_mode = 3;
	pit.channels[2].gate = 1;
	ck_assert_int_eq(ioctl(t->vm, KVM_SET_PIT2, &pit), 0);
}

static const uint8_t *rec(const uint8_t *buf, size_t len, uint32_t tag, uint32_t *plen)
{
	const uint8_t *p = kvm_state_find(buf, len, tag, plen);

	ck_assert_msg(p != NULL, "record %s missing", kvm_state_tag_name(tag));
	return p;
}

/* TSC ticks in `sec` seconds at khz. */
static uint64_t tsc_span(uint32_t khz, unsigned sec)
{
	return (uint64_t)(khz ? khz : 4000000) * 1000 * sec;
}

/* Compare two saves of a vCPU record by record. */
static void compare_vcpu(unsigned id, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	static const uint32_t exact[] = {
		KVM_STATE_VCPU_REGS, KVM_STATE_VCPU_SREGS, KVM_STATE_VCPU_XSAVE,
		KVM_STATE_VCPU_XCRS, KVM_STATE_VCPU_DEBUGREGS, KVM_STATE_VCPU_CPUID,
		KVM_STATE_VCPU_MP_STATE, KVM_STATE_VCPU_EVENTS, KVM_STATE_VCPU_TSC_KHZ,
	};
	struct kvm_state_tsc_khz khz;
	struct kvm_lapic_state la, lb;
	const uint8_t *pa, *pb;
	uint32_t la_len, lb_len, na, nb;

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
		pa = rec(a, alen, exact[i], &la_len);
		pb = rec(b, blen, exact[i], &lb_len);
		ck_assert_msg(la_len == lb_len && memcmp(pa, pb, la_len) == 0,
			      "vCPU %u: record %s differs after restore", id,
			      kvm_state_tag_name(exact[i]));
	}
	memcpy(&khz, rec(a, alen, KVM_STATE_VCPU_TSC_KHZ, &la_len), sizeof(khz));

	/* LAPIC: equal but for the timer's current count, which runs. */
	memcpy(&la, rec(a, alen, KVM_STATE_VCPU_LAPIC, &la_len), sizeof(la));
	memcpy(&lb, rec(b, blen, KVM_STATE_VCPU_LAPIC, &lb_len), sizeof(lb));
	ck_assert_uint_eq(lapic_reg(&lb, APIC_SPIV), 0x1ff);
	ck_assert_uint_eq(lapic_reg(&lb, APIC_TASKPRI), 0x20);
	set_lapic_reg(&la, APIC_TMCCT, 0);
	set_lapic_reg(&lb, APIC_TMCCT, 0);
	ck_assert_msg(memcmp(&la, &lb, sizeof(la)) == 0, "vCPU %u: LAPIC differs after restore",
		      id);

	/* MSRs: the same MSRs with the same values, but the TSC, which moves
	 * on from the restored value by the time between the saves. */
	pa = rec(a, alen, KVM_STATE_VCPU_MSRS, &la_len);
	pb = rec(b, blen, KVM_STATE_VCPU_MSRS, &lb_len);
	memcpy(&na, pa, 4);
	memcpy(&nb, pb, 4);
	ck_assert_uint_eq(na, nb);
	for (uint32_t i = 0; i < na; i++) {
		struct kvm_msr_entry ea, eb;

		memcpy(&ea, pa + 8 + i * sizeof(ea), sizeof(ea));
		memcpy(&eb, pb + 8 + i * sizeof(eb), sizeof(eb));
		ck_assert_uint_eq(ea.index, eb.index);
		if (ea.index == MSR_IA32_TSC) {
			ck_assert_msg(eb.data >= ea.data && eb.data - ea.data < tsc_span(khz.khz, 10),
				      "vCPU %u: TSC %#llx after restore, saved %#llx", id,
				      (unsigned long long)eb.data, (unsigned long long)ea.data);
			continue;
		}
		ck_assert_msg(ea.data == eb.data, "vCPU %u: MSR %#x is %#llx after restore, saved %#llx",
			      id, ea.index, (unsigned long long)eb.data,
			      (unsigned long long)ea.data);
	}
}

static void compare_vm(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	static const uint32_t chips[] = { KVM_STATE_VM_PIC_MASTER, KVM_STATE_VM_PIC_SLAVE,
					  KVM_STATE_VM_IOAPIC };
	struct kvm_pit_state2 pa, pb;
	struct kvm_clock_data ca, cb;
	uint32_t la, lb;

	for (size_t i = 0; i < 3; i++) {
		const uint8_t *x = rec(a, alen, chips[i], &la), *y = rec(b, blen, chips[i], &lb);

		ck_assert_msg(la == lb && memcmp(x, y, la) == 0, "record %s differs after restore",
			      kvm_state_tag_name(chips[i]));
	}
	/* PIT: equal but for count_load_time, the host time of the last count
	 * load, which KVM_SET_PIT2 sets to "now". */
	memcpy(&pa, rec(a, alen, KVM_STATE_VM_PIT, &la), sizeof(pa));
	memcpy(&pb, rec(b, blen, KVM_STATE_VM_PIT, &lb), sizeof(pb));
	ck_assert_uint_eq(pb.channels[2].count, 0x1234);
	for (int i = 0; i < 3; i++)
		pa.channels[i].count_load_time = pb.channels[i].count_load_time = 0;
	ck_assert_msg(memcmp(&pa, &pb, sizeof(pa)) == 0, "record PIT differs after restore");
	/* kvmclock: restored to the saved value, then it runs on. */
	memcpy(&ca, rec(a, alen, KVM_STATE_VM_CLOCK, &la), sizeof(ca));
	memcpy(&cb, rec(b, blen, KVM_STATE_VM_CLOCK, &lb), sizeof(cb));
	ck_assert_msg(cb.clock >= ca.clock && cb.clock - ca.clock < 10ULL * 1000000000,
		      "kvmclock %llu ns after restore, saved %llu ns", (unsigned long long)cb.clock,
		      (unsigned long long)ca.clock);
	printf("kvmclock: saved %llu ns (flags %#x), %llu ns after restore and re-save\n",
	       (unsigned long long)ca.clock, ca.flags, (unsigned long long)cb.clock);
}

/* Which MSRs of the KVM/PVM range a save holds here, and which of them
 * KVM_SET_MSRS refuses (written back with its own value on a scratch VM). */
static void report_pvm_range(void)
{
	struct tvm t;
	const uint32_t *list;
	unsigned n;
	char have[1024] = "", refused[1024] = "";
	size_t hl = 0, rl = 0;

	tvm_create(&t, 1);
	ck_assert_int_eq(kvm_state_msr_list(kvm_fd, t.vcpu[0], &list, &n, err, sizeof(err)), 0);
	for (unsigned i = 0; i < n; i++) {
		struct kvm_msr_entry e = { .index = list[i] };

		if (list[i] < 0x4b564d00 || list[i] > 0x4b564dff)
			continue;
		ck_assert_int_eq(msr_ioctl(t.vcpu[0], KVM_GET_MSRS, &e, 1), 1);
		hl += (size_t)snprintf(have + hl, sizeof(have) - hl, " %#x=%#llx", list[i],
				       (unsigned long long)e.data);
		if (msr_ioctl(t.vcpu[0], KVM_SET_MSRS, &e, 1) != 1)
			rl += (size_t)snprintf(refused + rl, sizeof(refused) - rl, " %#x", list[i]);
		ck_assert_uint_lt(hl, sizeof(have) - 40);
		ck_assert_uint_lt(rl, sizeof(refused) - 16);
	}
	printf("MSRs saved (%u):", n);
	for (unsigned i = 0; i < n; i++)
		printf(" %#x", list[i]);
	printf("\nin 0x4b564d00-0x4b564dff (fresh vCPU values):%s\n", have);
	printf("of those, KVM_SET_MSRS refuses (same value written back):%s\n",
	       rl ? refused : " none");
	tvm_destroy(&t);
}

START_TEST(state_round_trip)
{
	struct tvm a, b;
	uint8_t *va[2], *vb[2], *ma, *mb;
	size_t vla[2], vlb[2], mla, mlb;

	report_pvm_range();

	tvm_create(&a, 2);
	for (unsigned i = 0; i < 2; i++)
		make_distinctive(&a, i);
	make_vm_distinctive(&a);
	for (unsigned i = 0; i < 2; i++) {
		ck_assert_msg(kvm_vcpu_state_save(kvm_fd, a.vcpu[i], i, &va[i], &vla[i], err,
						  sizeof(err)) == 0, "%s", err);
		ck_assert_msg(kvm_vcpu_state_check(va[i], vla[i], err, sizeof(err)) == 0, "%s", err);
	}
	ck_assert_msg(kvm_vm_state_save(a.vm, &ma, &mla, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(kvm_vm_state_check(ma, mla, err, sizeof(err)) == 0, "%s", err);
	printf("vCPU state: %zu and %zu bytes; VM state: %zu bytes\n", vla[0], vla[1], mla);

	tvm_create(&b, 2);
	memcpy(b.mem, a.mem, MEM_SIZE);
	for (unsigned i = 0; i < 2; i++)
		ck_assert_msg(kvm_vcpu_state_restore(kvm_fd, b.vcpu[i], i, va[i], vla[i], err,
						     sizeof(err)) == 0, "%s", err);
	ck_assert_msg(kvm_vm_state_restore(b.vm, ma, mla, err, sizeof(err)) == 0, "%s", err);

	for (unsigned i = 0; i < 2; i++) {
		ck_assert_msg(kvm_vcpu_state_save(kvm_fd, b.vcpu[i], i, &vb[i], &vlb[i], err,
						  sizeof(err)) == 0, "%s", err);
		compare_vcpu(i, va[i], vla[i], vb[i], vlb[i]);
	}
	ck_assert_msg(kvm_vm_state_save(b.vm, &mb, &mlb, err, sizeof(err)) == 0, "%s", err);
	compare_vm(ma, mla, mb, mlb);

	/* The APs' mp_state came over: vCPU 1 still waits for INIT/SIPI. */
	{
		struct kvm_mp_state mp;

		ck_assert_int_eq(ioctl(b.vcpu[1], KVM_GET_MP_STATE, &mp), 0);
		ck_assert_uint_eq(mp.mp_state, KVM_MP_STATE_UNINITIALIZED);
	}
	for (unsigned i = 0; i < 2; i++) {
		free(va[i]);
		free(vb[i]);
	}
	free(ma);
	free(mb);
	tvm_destroy(&a);
	tvm_destroy(&b);
}
END_TEST

/* Real mode at CODE_ADDR: out 1, out 2, out 3, out 4 to OUT_PORT, then hlt. */
static const uint8_t guest_code[] = {
	0xb0, 0x01, 0xe6, OUT_PORT,   /* mov al,1; out 0x10,al */
	0xb0, 0x02, 0xe6, OUT_PORT,
	0xb0, 0x03, 0xe6, OUT_PORT,
	0xb0, 0x04, 0xe6, OUT_PORT,
	0xf4,                         /* hlt */
};

static void guest_setup(struct tvm *t)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;

	memcpy(t->mem + CODE_ADDR, guest_code, sizeof(guest_code));
	ck_assert_int_eq(ioctl(t->vcpu[0], KVM_GET_SREGS, &sregs), 0);
	sregs.cs.selector = 0;
	sregs.cs.base = 0;
	ck_assert_int_eq(ioctl(t->vcpu[0], KVM_SET_SREGS, &sregs), 0);
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 0x2;
	ck_assert_int_eq(ioctl(t->vcpu[0], KVM_SET_REGS, &regs), 0);
}

/* KVM_RUN until the next exit; it must be the `out` of `want`. */
static void expect_out(struct tvm *t, uint8_t want)
{
	struct kvm_run *run = t->run[0];
	uint8_t v;

	ck_assert_int_eq(ioctl(t->vcpu[0], KVM_RUN, 0), 0);
	ck_assert_msg(run->exit_reason == KVM_EXIT_IO, "exit reason %u (internal error suberror %u)",
		      run->exit_reason, run->internal.suberror);
	ck_assert_uint_eq(run->io.direction, KVM_EXIT_IO_OUT);
	ck_assert_uint_eq(run->io.port, OUT_PORT);
	ck_assert_uint_eq(run->io.size, 1);
	v = *((uint8_t *)run + run->io.data_offset);
	ck_assert_uint_eq(v, want);
}

START_TEST(guest_continues)
{
	struct tvm a, b;
	struct kvm_regs ra, rb;
	uint8_t *vs, *ms;
	size_t vl, ml;
	int r;

	tvm_create(&a, 1);
	guest_setup(&a);
	expect_out(&a, 1);
	expect_out(&a, 2);
	/* Complete the pending `out` before saving, as wisp's pause does. */
	a.run[0]->immediate_exit = 1;
	r = ioctl(a.vcpu[0], KVM_RUN, 0);
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EINTR);
	a.run[0]->immediate_exit = 0;
	ck_assert_int_eq(ioctl(a.vcpu[0], KVM_GET_REGS, &ra), 0);
	ck_assert_uint_eq(ra.rip, CODE_ADDR + 8);
	ck_assert_uint_eq(ra.rax & 0xff, 2);

	ck_assert_msg(kvm_vcpu_state_save(kvm_fd, a.vcpu[0], 0, &vs, &vl, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_msg(kvm_vm_state_save(a.vm, &ms, &ml, err, sizeof(err)) == 0, "%s", err);

	tvm_create(&b, 1);
	memcpy(b.mem, a.mem, MEM_SIZE);   /* the snapshot's memory */
	ck_assert_msg(kvm_vcpu_state_restore(kvm_fd, b.vcpu[0], 0, vs, vl, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_msg(kvm_vm_state_restore(b.vm, ms, ml, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(ioctl(b.vcpu[0], KVM_GET_REGS, &rb), 0);
	ck_assert_uint_eq(rb.rip, ra.rip);
	ck_assert_int_eq(memcmp(&ra, &rb, sizeof(ra)), 0);

	expect_out(&b, 3);
	expect_out(&b, 4);
	ck_assert_int_eq(ioctl(b.vcpu[0], KVM_GET_REGS, &rb), 0);
	/* At the last `out` with its completion pending (VMX's fast PIO path), or
	 * past it: PVM emulates the `out` and moves RIP on before the exit. */
	ck_assert_msg(rb.rip == CODE_ADDR + 14 || rb.rip == CODE_ADDR + 16, "rip %#llx",
		      (unsigned long long)rb.rip);
	/* VM 1 goes on the same way. */
	expect_out(&a, 3);
	printf("guest: VM 1 wrote 1, 2 (saved at rip %#llx); VM 2 restored there wrote 3, 4\n",
	       (unsigned long long)ra.rip);

	free(vs);
	free(ms);
	tvm_destroy(&a);
	tvm_destroy(&b);
}
END_TEST

START_TEST(errors_name_vcpu_step_and_ioctl)
{
	struct tvm a;
	uint8_t *vs, *ms, *none;
	size_t vl, ml, nl;

	tvm_create(&a, 1);
	ck_assert_int_eq(kvm_vcpu_state_save(kvm_fd, a.vcpu[0], 0, &vs, &vl, err, sizeof(err)), 0);
	ck_assert_int_eq(kvm_vm_state_save(a.vm, &ms, &ml, err, sizeof(err)), 0);

	ck_assert_int_eq(kvm_vcpu_state_restore(kvm_fd, -1, 3, vs, vl, err, sizeof(err)), -EBADF);
	ck_assert_str_eq(err, "vCPU 3: KVM_SET_CPUID2: Bad file descriptor");
	ck_assert_int_eq(kvm_vcpu_state_save(kvm_fd, -1, 2, &none, &nl, err, sizeof(err)), -EBADF);
	ck_assert_ptr_null(none);
	ck_assert_str_eq(err, "vCPU 2: KVM_GET_CPUID2: Bad file descriptor");
	ck_assert_int_eq(kvm_vm_state_restore(a.vm, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "VM: VM state: record PIC_MASTER missing");
	ck_assert_int_eq(kvm_vm_state_restore(-1, ms, ml, err, sizeof(err)), -EBADF);
	ck_assert_str_eq(err, "VM: KVM_SET_PIT2: Bad file descriptor");
	ck_assert_int_eq(kvm_vcpu_state_restore(kvm_fd, a.vcpu[0], 1, vs, vl - 8, err, sizeof(err)),
			 -EINVAL);
	ck_assert_msg(strncmp(err, "vCPU 1: vCPU state: record ", 27) == 0, "%s", err);
	ck_assert_int_eq(kvm_vm_state_save(-1, &none, &nl, err, sizeof(err)), -EBADF);
	ck_assert_str_eq(err, "VM: KVM_GET_IRQCHIP (PIC master): Bad file descriptor");

	free(vs);
	free(ms);
	tvm_destroy(&a);
}
END_TEST

int main(void)
{
	Suite *s;
	TCase *tc;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		printf("SKIPPED: /dev/kvm is not usable: %s\n", strerror(errno));
		return 77;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		printf("SKIPPED: KVM_GET_VCPU_MMAP_SIZE: %s\n", strerror(errno));
		return 77;
	}
	log_set_level(LOG_DEBUG);
	s = suite_create("kvm_state");
	tc = tcase_create("kvm_state");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, state_round_trip);
	tcase_add_test(tc, guest_continues);
	tcase_add_test(tc, errors_name_vcpu_step_and_ioctl);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
