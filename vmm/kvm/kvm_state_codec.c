/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kvm_state_codec.c — the record format of vCPU and VM state buffers
 * (kvm_state.h): writing, lookup and the checks a buffer read from a
 * snapshot file must pass before any of it reaches an ioctl. Pure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvm_state.h"
#include "vmm.h"

#define REC_HDR 8u

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------------- writing ---------------- */

void *kvm_state_put_begin(struct kvm_state_buf *b, uint32_t tag, uint32_t len)
{
	size_t need = REC_HDR + pad8(len);
	uint8_t *rec;

	if (b->cap - b->len < need) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *d;

		while (cap - b->len < need)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return NULL;
		b->data = d;
		b->cap = cap;
	}
	rec = b->data + b->len;
	memset(rec, 0, need);
	memcpy(rec, &tag, 4);
	memcpy(rec + 4, &len, 4);
	b->len += need;
	return rec + REC_HDR;
}

int kvm_state_put(struct kvm_state_buf *b, uint32_t tag, const void *payload, uint32_t len)
{
	uint8_t *p = kvm_state_put_begin(b, tag, len);

	if (!p)
		return -ENOMEM;
	if (len)
		memcpy(p, payload, len);
	return 0;
}

/* ---------------- lookup ---------------- */

const uint8_t *kvm_state_find(const uint8_t *buf, size_t len, uint32_t tag, uint32_t *plen)
{
	size_t off = 0;

	while (buf && len - off >= REC_HDR) {
		uint32_t t = ld_le32(buf + off), l = ld_le32(buf + off + 4);

		if (pad8(l) > len - off - REC_HDR)
			return NULL;
		if (t == tag) {
			if (plen)
				*plen = l;
			return buf + off + REC_HDR;
		}
		off += REC_HDR + pad8(l);
	}
	return NULL;
}

/* ---------------- checks ---------------- */

typedef int (*rec_check_fn)(const uint8_t *p, uint32_t len, char *err, size_t errlen);

struct rec_spec {
	uint32_t tag;
	const char *name;
	uint32_t size;          /* exact payload size; 0: variable, the check decides */
	bool vm;                /* a VM record (else a vCPU one) */
	rec_check_fn check;     /* content check, or NULL */
};

static int check_xsave(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	(void)p;
	if (len < KVM_STATE_XSAVE_MIN || len > KVM_STATE_XSAVE_MAX || len % 4) {
		seterr(err, errlen, "%u bytes, want a multiple of 4 from %u to %u", len,
		       KVM_STATE_XSAVE_MIN, KVM_STATE_XSAVE_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_xcrs(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	struct kvm_xcrs x;

	(void)len;
	memcpy(&x, p, sizeof(x));
	if (x.nr_xcrs > KVM_MAX_XCRS) {
		seterr(err, errlen, "%u XCRs, at most %u", x.nr_xcrs, KVM_MAX_XCRS);
		return -EINVAL;
	}
	if (x.flags) {
		seterr(err, errlen, "flags 0x%x, want 0", x.flags);
		return -EINVAL;
	}
	return 0;
}

static int check_debugregs(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	struct kvm_debugregs d;

	(void)len;
	memcpy(&d, p, sizeof(d));
	if (d.flags) {
		seterr(err, errlen, "flags 0x%llx, want 0", (unsigned long long)d.flags);
		return -EINVAL;
	}
	return 0;
}

/* A count-prefixed array: u32 count, u32 zero, count entries of esize. */
static int check_array(const uint8_t *p, uint32_t len, uint32_t max, size_t esize,
		       const char *what, char *err, size_t errlen)
{
	uint32_t n;

	if (len < 8) {
		seterr(err, errlen, "%u bytes, shorter than its 8-byte header", len);
		return -EINVAL;
	}
	n = ld_le32(p);
	if (n > max) {
		seterr(err, errlen, "%u %s, at most %u", n, what, max);
		return -EINVAL;
	}
	if (ld_le32(p + 4)) {
		seterr(err, errlen, "header padding not zero");
		return -EINVAL;
	}
	if ((size_t)len != 8 + (size_t)n * esize) {
		seterr(err, errlen, "%u bytes for %u %s, want %zu", len, n, what,
		       8 + (size_t)n * esize);
		return -EINVAL;
	}
	return 0;
}

static int check_msrs(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	int r = check_array(p, len, KVM_STATE_MAX_MSRS, sizeof(struct kvm_msr_entry), "entries",
			    err, errlen);
	uint32_t n;

	if (r)
		return r;
	n = ld_le32(p);
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_msr_entry e;

		memcpy(&e, p + 8 + (size_t)i * sizeof(e), sizeof(e));
		if (e.reserved) {
			seterr(err, errlen, "entry %u (MSR 0x%x): reserved field not zero", i,
			       e.index);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_cpuid(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	return check_array(p, len, KVM_STATE_MAX_CPUID, sizeof(struct kvm_cpuid_entry2), "entries",
			   err, errlen);
}

static int check_tsc_khz(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	struct kvm_state_tsc_khz t;

	(void)len;
	memcpy(&t, p, sizeof(t));
	if (t.reserved) {
		seterr(err, errlen, "reserved field not zero");
		return -EINVAL;
	}
	return 0;
}

static int check_irqchip(const uint8_t *p, uint32_t want, char *err, size_t errlen)
{
	struct kvm_irqchip c;

	memcpy(&c, p, sizeof(c));
	if (c.chip_id != want) {
		seterr(err, errlen, "chip_id %u, want %u", c.chip_id, want);
		return -EINVAL;
	}
	if (c.pad) {
		seterr(err, errlen, "padding not zero");
		return -EINVAL;
	}
	return 0;
}

static int check_pic_master(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	(void)len;
	return check_irqchip(p, KVM_IRQCHIP_PIC_MASTER, err, errlen);
}

static int check_pic_slave(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	(void)len;
	return check_irqchip(p, KVM_IRQCHIP_PIC_SLAVE, err, errlen);
}

static int check_ioapic(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	(void)len;
	return check_irqchip(p, KVM_IRQCHIP_IOAPIC, err, errlen);
}

#ifndef KVM_CLOCK_REALTIME
#define KVM_CLOCK_REALTIME (1 << 2)
#endif
#ifndef KVM_CLOCK_HOST_TSC
#define KVM_CLOCK_HOST_TSC (1 << 3)
#endif

static int check_clock(const uint8_t *p, uint32_t len, char *err, size_t errlen)
{
	struct kvm_clock_data c;
	const uint32_t known = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;

	(void)len;
	memcpy(&c, p, sizeof(c));
	if (c.flags & ~known) {
		seterr(err, errlen, "unknown flags 0x%x", c.flags & ~known);
		return -EINVAL;
	}
	return 0;
}

static const struct rec_spec specs[] = {
	{ KVM_STATE_VCPU_REGS, "REGS", sizeof(struct kvm_regs), false, NULL },
	{ KVM_STATE_VCPU_SREGS, "SREGS", sizeof(struct kvm_sregs), false, NULL },
	{ KVM_STATE_VCPU_XSAVE, "XSAVE", 0, false, check_xsave },
	{ KVM_STATE_VCPU_XCRS, "XCRS", sizeof(struct kvm_xcrs), false, check_xcrs },
	{ KVM_STATE_VCPU_DEBUGREGS, "DEBUGREGS", sizeof(struct kvm_debugregs), false,
	  check_debugregs },
	{ KVM_STATE_VCPU_LAPIC, "LAPIC", sizeof(struct kvm_lapic_state), false, NULL },
	{ KVM_STATE_VCPU_MSRS, "MSRS", 0, false, check_msrs },
	{ KVM_STATE_VCPU_CPUID, "CPUID", 0, false, check_cpuid },
	{ KVM_STATE_VCPU_MP_STATE, "MP_STATE", sizeof(struct kvm_mp_state), false, NULL },
	{ KVM_STATE_VCPU_EVENTS, "EVENTS", sizeof(struct kvm_vcpu_events), false, NULL },
	{ KVM_STATE_VCPU_TSC_KHZ, "TSC_KHZ", sizeof(struct kvm_state_tsc_khz), false,
	  check_tsc_khz },
	{ KVM_STATE_VM_PIC_MASTER, "PIC_MASTER", sizeof(struct kvm_irqchip), true,
	  check_pic_master },
	{ KVM_STATE_VM_PIC_SLAVE, "PIC_SLAVE", sizeof(struct kvm_irqchip), true, check_pic_slave },
	{ KVM_STATE_VM_IOAPIC, "IOAPIC", sizeof(struct kvm_irqchip), true, check_ioapic },
	{ KVM_STATE_VM_PIT, "PIT", sizeof(struct kvm_pit_state2), true, NULL },
	{ KVM_STATE_VM_CLOCK, "CLOCK", sizeof(struct kvm_clock_data), true, check_clock },
};
#define NSPECS (sizeof(specs) / sizeof(specs[0]))

static const struct rec_spec *spec_of(uint32_t tag)
{
	for (size_t i = 0; i < NSPECS; i++)
		if (specs[i].tag == tag)
			return &specs[i];
	return NULL;
}

const char *kvm_state_tag_name(uint32_t tag)
{
	const struct rec_spec *s = spec_of(tag);

	return s ? s->name : "?";
}

static int state_check(bool vm, const char *kind, const uint8_t *buf, size_t len, char *err,
		       size_t errlen)
{
	bool seen[NSPECS] = { false };
	size_t off = 0;
	char why[160];

	if (!buf && len) {
		seterr(err, errlen, "%s: no buffer", kind);
		return -EINVAL;
	}
	while (off < len) {
		const struct rec_spec *s;
		uint32_t tag, rlen;
		size_t avail = len - off;

		if (avail < REC_HDR) {
			seterr(err, errlen, "%s: %zu stray bytes at offset %zu, short of a record header",
			       kind, avail, off);
			return -EINVAL;
		}
		tag = ld_le32(buf + off);
		rlen = ld_le32(buf + off + 4);
		s = spec_of(tag);
		if (!s) {
			seterr(err, errlen, "%s: unknown record tag 0x%x at offset %zu", kind, tag, off);
			return -EINVAL;
		}
		if (s->vm != vm) {
			seterr(err, errlen, "%s: record %s does not belong in it (offset %zu)", kind,
			       s->name, off);
			return -EINVAL;
		}
		if (pad8(rlen) > avail - REC_HDR) {
			seterr(err, errlen,
			       "%s: record %s is truncated: %u bytes (padded to 8) at offset %zu, %zu left",
			       kind, s->name, rlen, off + REC_HDR, avail - REC_HDR);
			return -EINVAL;
		}
		if (seen[s - specs]) {
			seterr(err, errlen, "%s: record %s appears twice", kind, s->name);
			return -EINVAL;
		}
		seen[s - specs] = true;
		if (s->size && rlen != s->size) {
			seterr(err, errlen, "%s: record %s: %u bytes, want %u", kind, s->name, rlen,
			       s->size);
			return -EINVAL;
		}
		if (!all_zero(buf + off + REC_HDR + rlen, pad8(rlen) - rlen)) {
			seterr(err, errlen, "%s: record %s: padding not zero", kind, s->name);
			return -EINVAL;
		}
		if (s->check && s->check(buf + off + REC_HDR, rlen, why, sizeof(why))) {
			seterr(err, errlen, "%s: record %s: %s", kind, s->name, why);
			return -EINVAL;
		}
		off += REC_HDR + pad8(rlen);
	}
	for (size_t i = 0; i < NSPECS; i++) {
		if (specs[i].vm == vm && !seen[i]) {
			seterr(err, errlen, "%s: record %s missing", kind, specs[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

int kvm_vcpu_state_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return state_check(false, "vCPU state", buf, len, err, errlen);
}

int kvm_vm_state_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	return state_check(true, "VM state", buf, len, err, errlen);
}
