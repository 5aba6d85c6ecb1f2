/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu_tmpl.c — applying the VM's CPU template at boot (docs/cpu-templates.md),
 * in Firecracker's order: the template's CPUID changes go into the CPUID
 * KVM supports before each vCPU's normalisation; once every vCPU has its
 * CPUID, the template's MSRs are read from vCPU 0, changed and written to
 * every vCPU (the boot MSRs keep wisp's values, as Firecracker's do).
 * The messages are Firecracker's StartMicrovmError texts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot.h"
#include "vm.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

int vm_cpu_template_apply(struct vm *vm, struct kvm_cpuid2 *cpuid, struct cpu_template **out,
			  char *err, size_t errlen)
{
	enum cpu_template_kind kind = vm->cfg.machine.cpu_template;
	struct cpu_template *t;
	uint32_t caps[CPU_TMPL_MAX_CAPS];
	unsigned ncaps;
	char why[256];

	*out = NULL;
	if (kind == CPU_TEMPLATE_NONE)
		return 0;
	t = malloc(sizeof(*t));
	if (!t) {
		ERR("out of memory");
		return -ENOMEM;
	}
	if (kind == CPU_TEMPLATE_CUSTOM) {
		*t = vm->cfg.cpu_config;
	} else {
		char vendor[12];
		uint32_t eax;

		cpu_host_signature(vendor, &eax);
		if (cpu_template_check_host(kind, vendor, eax, why, sizeof(why)) < 0) {
			ERR("Failed to get CPU template: %s", why);
			free(t);
			return -EINVAL;
		}
		cpu_template_static(kind, t);
		if (kind == CPU_TEMPLATE_C3 && (eax & 0x0fff0fffu) == 0x00050654u)   /* Skylake */
			log_warn("On processors that do not enumerate FBSDP_NO, PSDP_NO and "
				 "SBDR_SSDP_NO on IA32_ARCH_CAPABILITIES MSR, the guest kernel does "
				 "not apply the mitigation against MMIO stale data vulnerability.");
	}
	ncaps = cpu_template_required_caps(t, caps, CPU_TMPL_MAX_CAPS);
	for (unsigned i = 0; i < ncaps; i++) {
		if (ioctl(vm->kvm.fd, KVM_CHECK_EXTENSION, (unsigned long)caps[i]) <= 0) {
			ERR("Kvm error: Missing KVM capabilities: %#x", caps[i]);
			free(t);
			return -EINVAL;
		}
	}
	if (cpu_template_apply_cpuid(t, cpuid->entries, cpuid->nent, why, sizeof(why)) < 0) {
		ERR("System configuration error: Failed to create guest config: %s", why);
		free(t);
		return -EINVAL;
	}
	log_info("CPU template %s: %u CPUID leaves, %u MSRs changed",
		 kind == CPU_TEMPLATE_CUSTOM ? "(custom)" : cpu_template_name(kind), t->ncpuid,
		 t->nmsr);
	*out = t;
	return 0;
}

static bool is_boot_msr(uint32_t index)
{
	struct kvm_msr_entry boot[32];
	unsigned n = boot_msrs(boot, 32);

	for (unsigned i = 0; i < n; i++)
		if (boot[i].index == index)
			return true;
	return false;
}

int vm_cpu_template_msrs(struct vm *vm, const struct cpu_template *t, char *err, size_t errlen)
{
	union {
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + CPU_TMPL_MAX_MSRS * sizeof(struct kvm_msr_entry)];
	} m;
	uint64_t values[CPU_TMPL_MAX_MSRS];
	char why[256];
	unsigned n = 0;
	int r;

	if (!t || t->nmsr == 0)
		return 0;
	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = t->nmsr;
	for (unsigned i = 0; i < t->nmsr; i++)
		m.hdr.entries[i].index = t->msr[i].addr;
	r = ioctl(vm->vcpus[0].fd, KVM_GET_MSRS, &m);
	if (r < 0) {
		ERR("System configuration error: Failed to create guest config: KVM_GET_MSRS: %s",
		    strerror(errno));
		return -errno;
	}
	for (unsigned i = 0; i < t->nmsr; i++)
		values[i] = m.hdr.entries[i].data;
	if (cpu_template_apply_msrs(t, values, (unsigned)r, why, sizeof(why)) < 0) {
		ERR("System configuration error: Failed to create guest config: %s", why);
		return -EINVAL;
	}
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < t->nmsr; i++) {
		if (is_boot_msr(t->msr[i].addr))
			continue;
		m.hdr.entries[n].index = t->msr[i].addr;
		m.hdr.entries[n].data = values[i];
		n++;
	}
	m.hdr.nmsrs = n;
	for (unsigned v = 0; v < vm->nr_vcpus && n; v++) {
		r = ioctl(vm->vcpus[v].fd, KVM_SET_MSRS, &m);
		if (r < 0 || (unsigned)r != n) {
			ERR("System configuration error: Error configuring the vcpu for boot: vCPU %u: "
			    "KVM_SET_MSRS set %d of the template's %u MSRs (MSR %#x refused)", v, r, n,
			    r >= 0 ? m.hdr.entries[r].index : 0);
			return -EIO;
		}
	}
	return 0;
}
