/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm_state.h — private to vmm/: the KVM state of one vCPU and of the VM as
 * self-describing byte buffers, for snapshots.
 *
 * A buffer is a sequence of records, each
 *
 *     u32 tag, u32 len, len bytes of payload, zero padding to 8 bytes
 *
 * in host byte order (x86_64, little endian). A payload is the kernel's own
 * struct for that piece of state (struct kvm_regs, struct kvm_sregs, ...),
 * except where said below. A vCPU buffer holds each KVM_STATE_VCPU_* record
 * exactly once, a VM buffer each KVM_STATE_VM_* record exactly once; their
 * order is free (restore applies them in its own order), nothing may follow
 * the last one. The buffers carry no version of their own: the snapshot file
 * that holds them has one.
 *
 * Two halves:
 *  - kvm_state_codec.c (wisp_core, pure): record writing, lookup and the
 *    checks: sizes, counts, padding, flags. Unit-tested without /dev/kvm.
 *  - kvm_state.c (the wisp binary): the ioctls. It takes plain fds and
 *    knows nothing of struct vm / struct vcpu.
 *
 * Errors: functions return 0 or a negative errno and write one line to err
 * ("vCPU 1: KVM_SET_SREGS: Invalid argument", "record MSRS: 2000 entries,
 * at most 1024"); they do not log it, the caller reports it once. What the
 * kernel refuses and is skipped on purpose (MSRs) is logged, once.
 */
#ifndef WISP_VMM_KVM_STATE_H
#define WISP_VMM_KVM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

enum kvm_state_tag {
	/* vCPU */
	KVM_STATE_VCPU_REGS = 1,      /* struct kvm_regs */
	KVM_STATE_VCPU_SREGS,         /* struct kvm_sregs */
	KVM_STATE_VCPU_XSAVE,         /* struct kvm_xsave, as long as KVM_GET_XSAVE2 wrote
	                               * (>= 4096 bytes, a multiple of 4) */
	KVM_STATE_VCPU_XCRS,          /* struct kvm_xcrs */
	KVM_STATE_VCPU_DEBUGREGS,     /* struct kvm_debugregs */
	KVM_STATE_VCPU_LAPIC,         /* struct kvm_lapic_state */
	KVM_STATE_VCPU_MSRS,          /* struct kvm_msrs + nmsrs struct kvm_msr_entry */
	KVM_STATE_VCPU_CPUID,         /* struct kvm_cpuid2 + nent struct kvm_cpuid_entry2 */
	KVM_STATE_VCPU_MP_STATE,      /* struct kvm_mp_state */
	KVM_STATE_VCPU_EVENTS,        /* struct kvm_vcpu_events */
	KVM_STATE_VCPU_TSC_KHZ,       /* struct kvm_state_tsc_khz */
	/* VM */
	KVM_STATE_VM_PIC_MASTER = 0x101, /* struct kvm_irqchip, chip_id KVM_IRQCHIP_PIC_MASTER */
	KVM_STATE_VM_PIC_SLAVE,          /* struct kvm_irqchip, chip_id KVM_IRQCHIP_PIC_SLAVE */
	KVM_STATE_VM_IOAPIC,             /* struct kvm_irqchip, chip_id KVM_IRQCHIP_IOAPIC */
	KVM_STATE_VM_PIT,                /* struct kvm_pit_state2 */
	KVM_STATE_VM_CLOCK,              /* struct kvm_clock_data (flags as KVM_GET_CLOCK said) */
};

/* Payload of KVM_STATE_VCPU_TSC_KHZ. khz 0: the kernel did not know it
 * (KVM_GET_TSC_KHZ failed); restore then leaves the frequency alone. */
struct kvm_state_tsc_khz {
	uint32_t khz;
	uint32_t reserved;   /* 0 */
};

#define KVM_STATE_MAX_MSRS      1024u
#define KVM_STATE_MAX_CPUID     256u          /* KVM_MAX_CPUID_ENTRIES */
#define KVM_STATE_XSAVE_MIN     4096u         /* sizeof(struct kvm_xsave) */
#define KVM_STATE_XSAVE_MAX     (64u * 1024)  /* AMX needs 11 KiB */

/* ---------------- codec (kvm_state_codec.c, pure) ---------------- */

/* A growing buffer; start from { 0 } and free(data) when done. */
struct kvm_state_buf {
	uint8_t *data;
	size_t len, cap;
};

/* Append one record. 0 or -ENOMEM. */
int kvm_state_put(struct kvm_state_buf *b, uint32_t tag, const void *payload, uint32_t len);
/* Start a record of len bytes and return its zeroed payload to fill in
 * (valid until the next put), or NULL on -ENOMEM. */
void *kvm_state_put_begin(struct kvm_state_buf *b, uint32_t tag, uint32_t len);

/* The payload of the first record with this tag in a buffer that passed a
 * check (or any well-formed one), its length in *len; NULL if absent. The
 * payload is 8-byte aligned relative to buf, not necessarily in memory:
 * memcpy it out. */
const uint8_t *kvm_state_find(const uint8_t *buf, size_t len, uint32_t tag, uint32_t *plen);

/* "REGS", "MSRS", "PIC_MASTER", ...; "?" for an unknown tag. */
const char *kvm_state_tag_name(uint32_t tag);

/* Check a vCPU / VM buffer: well-formed records, each expected record
 * present exactly once and no other, right sizes, bounded counts, zero
 * padding and reserved fields, known flags. 0 or -EINVAL with err naming
 * the record and the problem. */
int kvm_vcpu_state_check(const uint8_t *buf, size_t len, char *err, size_t errlen);
int kvm_vm_state_check(const uint8_t *buf, size_t len, char *err, size_t errlen);

/* ---------------- ioctls (kvm_state.c) ---------------- */

/* Save one vCPU's state (the vCPU must not be in KVM_RUN: pause first, and
 * complete a pending PIO/MMIO with an immediate_exit KVM_RUN). kvm_fd is
 * /dev/kvm (MSR index list, XSAVE2 size). *buf is malloc'd, free() it.
 * MSRs saved: KVM_GET_MSR_INDEX_LIST, the MSRs wisp sets at boot, those
 * the vCPU's CPUID implies (MTRRs and PAT, TSC_AUX, SPEC_CTRL, BNDCFGS) and
 * the whole KVM paravirtual range 0x4b564d00-0x4b564dff (PVM keeps its own
 * MSRs there, outside the index list), less those KVM_GET_MSRS refuses:
 * probed on the first save (or kvm_state_msr_list()) of the process, cached,
 * logged once. */
int kvm_vcpu_state_save(int kvm_fd, int vcpu_fd, unsigned vcpu_id, uint8_t **buf, size_t *len,
			char *err, size_t errlen);

/* Restore a checked (or unchecked: it is checked again) vCPU buffer into a
 * fresh vCPU (before its first KVM_RUN) of a VM whose memory slots already
 * exist (PVM accepts some of its MSRs only then). Order: TSC frequency (KVM_SET_TSC_KHZ
 * when it differs; logged and skipped if refused), CPUID, mp_state, regs,
 * sregs, xsave, xcrs, debugregs, LAPIC, MSRs, events. An MSR that
 * KVM_SET_MSRS refuses is skipped and logged once (at info when the vCPU
 * already holds the saved value, as PVM's read-only ones do, else at warn);
 * MSR_IA32_TSC is restored, so the guest's TSC continues from the saved
 * value. kvm_fd: /dev/kvm (XSAVE2 size). */
int kvm_vcpu_state_restore(int kvm_fd, int vcpu_fd, unsigned vcpu_id, const uint8_t *buf,
			   size_t len, char *err, size_t errlen);

/* VM state: both PICs, the IOAPIC, the PIT (KVM_GET_PIT2), kvmclock
 * (KVM_GET_CLOCK). Needs KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2. */
int kvm_vm_state_save(int vm_fd, uint8_t **buf, size_t *len, char *err, size_t errlen);

/* Restore PIT, PIC master, PIC slave, IOAPIC, then kvmclock (KVM_SET_CLOCK
 * with the saved value and no flags: the guest's clock continues from where
 * it stopped, as Firecracker does). Call it after every vCPU is restored. */
int kvm_vm_state_restore(int vm_fd, const uint8_t *buf, size_t len, char *err, size_t errlen);

/* The MSR indices a save reads (probed and cached as above). Calling it
 * once at boot, before seccomp, keeps KVM_GET_MSR_INDEX_LIST out of the
 * VMM thread's filter. *list stays valid for the life of the process. */
int kvm_state_msr_list(int kvm_fd, int vcpu_fd, const uint32_t **list, unsigned *n, char *err,
		       size_t errlen);

#endif
