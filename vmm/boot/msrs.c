/* SPDX-License-Identifier: Apache-2.0 */
/* boot_msrs.c — the MSR values every vCPU starts with (Firecracker's list). */
#include <string.h>

#include "boot.h"

#define MSR_IA32_TSC             0x00000010
#define MSR_IA32_SYSENTER_CS     0x00000174
#define MSR_IA32_SYSENTER_ESP    0x00000175
#define MSR_IA32_SYSENTER_EIP    0x00000176
#define MSR_IA32_MISC_ENABLE     0x000001a0
#define MSR_MTRRdefType          0x000002ff
#define MSR_STAR                 0xc0000081
#define MSR_LSTAR                0xc0000082
#define MSR_CSTAR                0xc0000083
#define MSR_SYSCALL_MASK         0xc0000084
#define MSR_KERNEL_GS_BASE       0xc0000102

#define MISC_ENABLE_FAST_STRING  (1ULL << 0)
#define MTRR_ENABLE              (1ULL << 11)
#define MTRR_TYPE_WRBACK         6ULL

static const struct { uint32_t index; uint64_t data; } boot_msr_list[] = {
	{ MSR_IA32_SYSENTER_CS, 0 },
	{ MSR_IA32_SYSENTER_ESP, 0 },
	{ MSR_IA32_SYSENTER_EIP, 0 },
	{ MSR_STAR, 0 },
	{ MSR_CSTAR, 0 },
	{ MSR_KERNEL_GS_BASE, 0 },
	{ MSR_SYSCALL_MASK, 0 },
	{ MSR_LSTAR, 0 },
	{ MSR_IA32_TSC, 0 },
	{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	{ MSR_MTRRdefType, MTRR_ENABLE | MTRR_TYPE_WRBACK },
};

unsigned boot_msrs(struct kvm_msr_entry *out, unsigned max)
{
	unsigned n = sizeof(boot_msr_list) / sizeof(boot_msr_list[0]);

	if (n > max)
		n = max;
	for (unsigned i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].index = boot_msr_list[i].index;
		out[i].data = boot_msr_list[i].data;
	}
	return n;
}
