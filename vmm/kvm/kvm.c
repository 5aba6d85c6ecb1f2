/* SPDX-License-Identifier: Apache-2.0 */
/* kvm.c — /dev/kvm: API version and the capabilities wisp relies on. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vm.h"

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS" },
};

int kvm_open(struct kvm_sys *kvm)
{
	int ver;

	kvm->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		int err = -errno;

		log_error("cannot open /dev/kvm: %s", strerror(errno));
		return err;
	}
	ver = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		log_error("/dev/kvm: KVM API version %d, wisp needs %d", ver, KVM_API_VERSION);
		goto fail;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm->fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_error("/dev/kvm: missing capability %s", required_caps[i].name);
			goto fail;
		}
	}
	kvm->vcpu_mmap_size = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (kvm->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
		log_error("/dev/kvm: KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(kvm->fd);
	kvm->fd = -1;
	return -ENOTSUP;
}

void kvm_close(struct kvm_sys *kvm)
{
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
}
