/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_cpuid.c — normalise the host's supported CPUID for one vCPU.
 *
 * Topology: APIC id = vCPU index; with SMT two threads per core (ids 2k and
 * 2k+1 share core k), else one; all vCPUs in one package. The shifts in leaf
 * 0xB/0x1F and the counts in leaves 1 and 4 are powers of two covering the
 * ids, as the SDM defines them ("maximum number of addressable IDs").
 */
#include <string.h>

#include "boot.h"

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT        (1u << 28)
#define CPUID_6_EAX_ARAT       (1u << 2)
#define CPUID_80000001_ECX_CMPLEGACY (1u << 1)
#define TOPO_LEVEL_SMT         1
#define TOPO_LEVEL_CORE        2
#define KVM_CPUID_SIGNATURE    0x40000000u
#define KVM_CPUID_FEATURES     0x40000001u

/* Smallest s with (1 << s) >= n. */
static unsigned order_base_2(unsigned n)
{
	unsigned s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

static bool vendor_is(const struct kvm_cpuid_entry2 *e, unsigned n, const char *v)
{
	for (unsigned i = 0; i < n; i++) {
		if (e[i].function == 0) {
			char s[12];

			memcpy(s, &e[i].ebx, 4);
			memcpy(s + 4, &e[i].edx, 4);
			memcpy(s + 8, &e[i].ecx, 4);
			return memcmp(s, v, 12) == 0;
		}
	}
	return false;
}

static void topology_leaf(struct kvm_cpuid_entry2 *e, unsigned vcpu_id,
			  unsigned smt_shift, unsigned pkg_shift, unsigned threads, unsigned nr)
{
	unsigned level = e->index;

	e->edx = vcpu_id;   /* x2APIC id */
	if (level == 0) {
		e->eax = smt_shift;
		e->ebx = threads;
		e->ecx = level | (TOPO_LEVEL_SMT << 8);
	} else if (level == 1) {
		e->eax = pkg_shift;
		e->ebx = nr;
		e->ecx = level | (TOPO_LEVEL_CORE << 8);
	} else {
		e->eax = 0;
		e->ebx = 0;
		e->ecx = level & 0xff;   /* level type 0: invalid */
	}
}

void cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned n,
		     unsigned vcpu_id, unsigned nr_vcpus, bool smt)
{
	const unsigned threads = smt ? 2 : 1;
	const unsigned smt_shift = order_base_2(threads);
	unsigned pkg_shift, max_hv = KVM_CPUID_FEATURES;
	bool amd;

	if (nr_vcpus == 0)
		nr_vcpus = 1;
	pkg_shift = order_base_2(nr_vcpus);
	if (pkg_shift < smt_shift)
		pkg_shift = smt_shift;
	amd = vendor_is(entries, n, "AuthenticAMD") || vendor_is(entries, n, "HygonGenuine");

	for (unsigned i = 0; i < n; i++) {
		uint32_t f = entries[i].function;

		if (f > max_hv && (f & 0xffffff00u) == KVM_CPUID_SIGNATURE)
			max_hv = f;
	}

	for (unsigned i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 0x1: {
			unsigned logical = 1u << pkg_shift;

			if (logical > 0xff)
				logical = 0xff;
			e->ebx = (e->ebx & 0x0000ffffu) | (logical << 16) | ((vcpu_id & 0xff) << 24);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_vcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		}
		case 0x4: {
			unsigned cache_type = e->eax & 0x1f, cache_level = (e->eax >> 5) & 0x7;
			unsigned sharing, cores;

			if (cache_type == 0)
				break;
			sharing = cache_level >= 3 ? (1u << pkg_shift) : threads;
			cores = 1u << (pkg_shift - smt_shift);
			if (cores > 64)
				cores = 64;
			if (sharing > 4096)
				sharing = 4096;
			e->eax = (e->eax & 0x3fffu) | ((sharing - 1) << 14) | ((cores - 1) << 26);
			break;
		}
		case 0x6:
			/* No power management for guests; keep "APIC timer always runs". */
			e->eax &= CPUID_6_EAX_ARAT;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
			break;
		case 0xa:
			/* No architectural performance monitoring. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			topology_leaf(e, vcpu_id, smt_shift, pkg_shift, threads, nr_vcpus);
			break;
		case KVM_CPUID_SIGNATURE:
			e->eax = max_hv;
			memcpy(&e->ebx, "KVMK", 4);
			memcpy(&e->ecx, "VMKV", 4);
			memcpy(&e->edx, "M\0\0\0", 4);
			break;
		case KVM_CPUID_FEATURES:
			/* eax: the paravirt features KVM offers; no hints. */
			e->ebx = e->ecx = e->edx = 0;
			break;
		case 0x80000001:
			if (amd) {
				if (nr_vcpus > 1)
					e->ecx |= CPUID_80000001_ECX_CMPLEGACY;
				else
					e->ecx &= ~CPUID_80000001_ECX_CMPLEGACY;
			}
			break;
		case 0x80000008:
			if (amd)
				e->ecx = (e->ecx & ~0xf0ffu) | (pkg_shift << 12) | ((nr_vcpus - 1) & 0xff);
			break;
		case 0x8000001e:
			if (amd) {
				e->eax = vcpu_id;
				e->ebx = (e->ebx & ~0xffffu) | ((threads - 1) << 8) | ((vcpu_id >> smt_shift) & 0xff);
				e->ecx = 0;   /* node 0, one node per package */
			}
			break;
		default:
			break;
		}
	}
}
