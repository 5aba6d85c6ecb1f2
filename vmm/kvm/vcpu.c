/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vcpu.c — vCPU creation, per-vCPU state (CPUID, MSRs, FPU, LAPIC) and the
 * KVM_RUN loop. PIO/MMIO exits go to the bus; everything else ends the VM
 * with a log line giving the reason and the guest RIP.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "vm.h"
#include "wset.h"

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

int vcpu_kick_signal(void)
{
	return SIGRTMIN;
}

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	if (sigaction(vcpu_kick_signal(), &sa, NULL) < 0) {
		log_error("sigaction(vcpu kick): %s", strerror(errno));
		return -errno;
	}
	/* Blocked everywhere except inside vCPU threads. */
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *vcpu)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		int err = -errno;

		log_error("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return err;
	}
	vcpu->run = mmap(NULL, vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		int err = -errno;

		log_error("mmap of vCPU %u run area: %s", id, strerror(errno));
		close(vcpu->fd);
		vcpu->fd = -1;
		vcpu->run = NULL;
		return err;
	}
	pthread_mutex_init(&vcpu->lock, NULL);
	{
		pthread_condattr_t ca;   /* vm_pause() waits with a monotonic deadline */

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&vcpu->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	vcpu->state = VCPU_CREATED;
	return 0;
}

static int set_lapic_lints(struct vcpu *vcpu)
{
	struct kvm_lapic_state lapic;
	uint32_t v;

	if (ioctl(vcpu->fd, KVM_GET_LAPIC, &lapic) < 0) {
		log_error("vCPU %u: KVM_GET_LAPIC: %s", vcpu->id, strerror(errno));
		return -errno;
	}
	memcpy(&v, &lapic.regs[APIC_LVT_LINT0], 4);
	v = (v & ~0x700u) | (APIC_MODE_EXTINT << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT0], &v, 4);
	memcpy(&v, &lapic.regs[APIC_LVT_LINT1], 4);
	v = (v & ~0x700u) | (APIC_MODE_NMI << 8);
	memcpy(&lapic.regs[APIC_LVT_LINT1], &v, 4);
	if (ioctl(vcpu->fd, KVM_SET_LAPIC, &lapic) < 0) {
		log_error("vCPU %u: KVM_SET_LAPIC: %s", vcpu->id, strerror(errno));
		return -errno;
	}
	return 0;
}

int vcpu_configure(struct vcpu *vcpu, const struct kvm_cpuid2 *supported)
{
	size_t sz = sizeof(struct kvm_cpuid2) + supported->nent * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *cpuid = malloc(sz);
	union {  /* kvm_msrs ends in a flexible array: room for 32 entries */
		struct kvm_msrs hdr;
		uint8_t raw[sizeof(struct kvm_msrs) + 32 * sizeof(struct kvm_msr_entry)];
	} msrs;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	int r;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, sz);
	cpuid_normalize(cpuid->entries, cpuid->nent, vcpu->id, vcpu->vm->nr_vcpus,
			vcpu->vm->cfg.machine.smt);
	r = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (r < 0) {
		log_error("vCPU %u: KVM_SET_CPUID2: %s", vcpu->id, strerror(errno));
		return -errno;
	}

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = boot_msrs(msrs.hdr.entries, 32);
	r = ioctl(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (r < 0 || (unsigned)r != msrs.hdr.nmsrs) {
		log_error("vCPU %u: KVM_SET_MSRS set %d of %u boot MSRs%s%s", vcpu->id, r,
			  msrs.hdr.nmsrs, r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
		return -EIO;
	}
	if (ioctl(vcpu->fd, KVM_SET_FPU, &fpu) < 0) {
		log_error("vCPU %u: KVM_SET_FPU: %s", vcpu->id, strerror(errno));
		return -errno;
	}
	return set_lapic_lints(vcpu);
}

static uint64_t guest_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ULL;
	return regs.rip;
}

static void dispatch(struct vcpu *vcpu, enum bus_kind kind, uint64_t addr, uint8_t *data,
		     unsigned len, bool write)
{
	struct vm *vm = vcpu->vm;
	const struct bus_device *d = bus_find(kind == BUS_PIO ? &vm->pio : &vm->mmio, addr, len);

	/* The boot-complete write (123 at the first MMIO page) is also how a
	 * restored guest says it is ready: it ends a working-set recording. */
	if (write && kind == BUS_MMIO && addr == BOOT_TIMER_ADDR && len == 1 &&
	    data[0] == BOOT_COMPLETE_VALUE)
		wset_record_ready(vm);
	if (!d) {
		if (!write)
			memset(data, 0xff, len);
		vm_log_unknown(vm, kind, addr, len, write);
		return;
	}
	if (write) {
		if (d->ops->write)
			d->ops->write(d->opaque, addr - d->base, data, len);
	} else if (d->ops->read) {
		d->ops->read(d->opaque, addr - d->base, data, len);
	} else {
		memset(data, 0xff, len);
	}
}

static uint64_t exit_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Firecracker's record_latency_metrics(): sum, and min/max where a 0
 * means "none yet". */
static void exit_agg_record(struct exit_agg *a, uint64_t t0)
{
	uint64_t d = exit_clock_us() - t0, mn = a->min_us, mx = a->max_us;

	a->sum_us += d;
	if (!mn || d < mn)
		a->min_us = d;
	if (!mx || d > mx)
		a->max_us = d;
}

/* Returns true to keep running, false when the VM must end. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO: {
		uint8_t *p = (uint8_t *)run + run->io.data_offset;
		bool out = run->io.direction == KVM_EXIT_IO_OUT;
		uint64_t t0 = exit_clock_us();

		for (uint32_t i = 0; i < run->io.count; i++, p += run->io.size)
			dispatch(vcpu, BUS_PIO, run->io.port, p, run->io.size, out);
		exit_agg_record(out ? &vcpu->agg_io_out : &vcpu->agg_io_in, t0);
		if (out)
			vcpu->exits_io_out++;
		else
			vcpu->exits_io_in++;
		return true;
	}
	case KVM_EXIT_MMIO: {
		bool wr = run->mmio.is_write;
		uint64_t t0 = exit_clock_us();

		dispatch(vcpu, BUS_MMIO, run->mmio.phys_addr, run->mmio.data,
			 run->mmio.len > 8 ? 8 : run->mmio.len, wr);
		exit_agg_record(wr ? &vcpu->agg_mmio_write : &vcpu->agg_mmio_read, t0);
		if (wr)
			vcpu->exits_mmio_write++;
		else
			vcpu->exits_mmio_read++;
		return true;
	}
	case KVM_EXIT_HLT:
		/* The in-kernel LAPIC normally idles a halted vCPU; if KVM hands
		 * HLT to us anyway, re-entering waits for the next interrupt. */
		vcpu->exits_hlt++;
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu->failures++;
		log_error("vCPU %u: guest shut down (triple fault, KVM_EXIT_SHUTDOWN) at RIP 0x%llx",
			  vcpu->id, (unsigned long long)guest_rip(vcpu));
		vm_request_exit(vm, WISP_EXIT_ERROR);
		return false;
	case KVM_EXIT_INTERNAL_ERROR: {
		char extra[256] = "";
		size_t n = 0;

		vcpu->failures++;
		for (uint32_t i = 0; i < run->internal.ndata && i < 8 && n < sizeof(extra); i++)
			n += snprintf(extra + n, sizeof(extra) - n, " 0x%llx",
				      (unsigned long long)run->internal.data[i]);
		log_error("vCPU %u: KVM_EXIT_INTERNAL_ERROR suberror %u%s at RIP 0x%llx, data:%s",
			  vcpu->id, run->internal.suberror,
			  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
				  " (instruction emulation failed)" : "",
			  (unsigned long long)guest_rip(vcpu), n ? extra : " none");
		vm_request_exit(vm, WISP_EXIT_ERROR);
		return false;
	}
	case KVM_EXIT_FAIL_ENTRY:
		vcpu->failures++;
		log_error("vCPU %u: KVM_EXIT_FAIL_ENTRY, hardware entry failure reason 0x%llx at RIP 0x%llx",
			  vcpu->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			  (unsigned long long)guest_rip(vcpu));
		vm_request_exit(vm, WISP_EXIT_ERROR);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_RESET:
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			log_info("vCPU %u: guest requested %s", vcpu->id,
				 run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" : "shutdown");
			vm_request_exit(vm, WISP_EXIT_OK);
			return false;
		default:
			vcpu->failures++;
			log_error("vCPU %u: system event %u (guest crash) at RIP 0x%llx", vcpu->id,
				  run->system_event.type, (unsigned long long)guest_rip(vcpu));
			vm_request_exit(vm, WISP_EXIT_ERROR);
			return false;
		}
	default:
		vcpu->exits_other++;
		vcpu->failures++;
		log_error("vCPU %u: unexpected KVM exit reason %u at RIP 0x%llx", vcpu->id,
			  run->exit_reason, (unsigned long long)guest_rip(vcpu));
		vm_request_exit(vm, WISP_EXIT_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[32];
	sigset_t set;

	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->id);
	log_set_thread_name(name);
	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, vcpu_kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (vcpu->vm->opts.vcpu_thread_init)
		vcpu->vm->opts.vcpu_thread_init(vcpu->vm->opts.hook_arg);

	for (;;) {
		pthread_mutex_lock(&vcpu->lock);
		if (vcpu->pause_requested && !vcpu->stop_requested && vcpu->io_pending) {
			/* The last exit was port or MMIO I/O: KVM finishes that
			 * instruction (stores a read's value, advances RIP) on
			 * the next KVM_RUN. Do it now, without running guest
			 * code (immediate_exit), so the state a snapshot saves
			 * is between two instructions. */
			pthread_mutex_unlock(&vcpu->lock);
			__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
			if (ioctl(vcpu->fd, KVM_RUN, 0) < 0 && errno != EINTR && errno != EAGAIN)
				log_warn("vCPU %u: completing I/O before pausing: %s", vcpu->id,
					 strerror(errno));
			vcpu->run->immediate_exit = 0;
			vcpu->io_pending = false;
			continue;
		}
		while (vcpu->pause_requested && !vcpu->stop_requested) {
			vcpu->state = VCPU_PAUSED;
			pthread_cond_broadcast(&vcpu->cond);
			pthread_cond_wait(&vcpu->cond, &vcpu->lock);
		}
		if (vcpu->stop_requested) {
			pthread_mutex_unlock(&vcpu->lock);
			break;
		}
		vcpu->state = VCPU_RUNNING;
		pthread_mutex_unlock(&vcpu->lock);

		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			vcpu->io_pending = false;   /* KVM_RUN completed it before returning */
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			vcpu->failures++;
			log_error("vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_exit(vcpu->vm, WISP_EXIT_ERROR);
			break;
		}
		vcpu->io_pending = vcpu->run->exit_reason == KVM_EXIT_IO ||
				   vcpu->run->exit_reason == KVM_EXIT_MMIO;
		if (!handle_exit(vcpu))
			break;
	}
	pthread_mutex_lock(&vcpu->lock);
	vcpu->state = VCPU_EXITED;
	pthread_cond_broadcast(&vcpu->cond);
	pthread_mutex_unlock(&vcpu->lock);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);

	if (r) {
		log_error("cannot start vCPU %u thread: %s", vcpu->id, strerror(r));
		return -r;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->thread_started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, vcpu_kick_signal());
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->thread_started) {
		pthread_mutex_lock(&vcpu->lock);
		vcpu->stop_requested = true;
		pthread_cond_broadcast(&vcpu->cond);
		pthread_mutex_unlock(&vcpu->lock);
		vcpu_kick(vcpu);
		pthread_join(vcpu->thread, NULL);
		vcpu->thread_started = false;
	}
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->kvm.vcpu_mmap_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}
