/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.h — private to vmm/: the VM, its vCPUs, the bus and legacy devices.
 */
#ifndef WISP_VMM_VM_H
#define WISP_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm.h"

/* Exit codes (Firecracker's where they exist). */
#define WISP_EXIT_OK          0
#define WISP_EXIT_ERROR       1   /* runtime error, guest crash */
#define WISP_EXIT_BAD_CONFIG  152
#define WISP_EXIT_ARG_PARSING 153

/* ---------------- KVM system ---------------- */
struct kvm_sys {
	int fd;          /* /dev/kvm */
	int vcpu_mmap_size;
};
int kvm_open(struct kvm_sys *kvm);
void kvm_close(struct kvm_sys *kvm);

/* ---------------- bus ---------------- */
#define BUS_MAX_DEVICES 48

struct bus_device {
	uint64_t base, size;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	unsigned n;
	struct bus_device devs[BUS_MAX_DEVICES];
};

/* Returns the device covering [addr, addr+len) or NULL. */
const struct bus_device *bus_find(const struct bus *bus, uint64_t addr, unsigned len);
int bus_add(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
	    void *opaque, const char *name);

/* ---------------- event loop ---------------- */
struct evloop *evloop_create(void);
void evloop_destroy(struct evloop *loop);
/* Run one epoll_wait (timeout_ms, -1 = forever) and dispatch. */
int evloop_run_once(struct evloop *loop, int timeout_ms);

/* ---------------- vCPU ---------------- */
enum vcpu_state { VCPU_CREATED, VCPU_RUNNING, VCPU_PAUSED, VCPU_EXITED };

/* How long handling one kind of exit took, microseconds (Firecracker's
 * LatencyAggregateMetrics): written by the vCPU thread only. */
struct exit_agg {
	_Atomic uint64_t min_us, max_us, sum_us;
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_requested;     /* under lock */
	bool stop_requested;      /* under lock */
	enum vcpu_state state;    /* under lock */
	bool io_pending;          /* vCPU thread: last exit was I/O not yet completed */
	/* Metrics (Firecracker's vcpu group; exits_hlt/_other are wisp's). */
	_Atomic uint64_t exits_io_in, exits_io_out, exits_mmio_read, exits_mmio_write;
	_Atomic uint64_t exits_hlt, exits_other, failures;
	struct exit_agg agg_io_in, agg_io_out, agg_mmio_read, agg_mmio_write;
};

int vcpu_create(struct vm *vm, unsigned id, struct vcpu *vcpu);
/* Boot state of the BSP (regs/sregs) is set separately by the VM builder. */
int vcpu_configure(struct vcpu *vcpu, const struct kvm_cpuid2 *supported);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* Signal number used to kick vCPUs out of KVM_RUN. */
int vcpu_kick_signal(void);
int vcpu_signals_init(void);

/* ---------------- the VM ---------------- */
enum vm_run_state { VM_NOT_STARTED, VM_RUNNING, VM_PAUSED, VM_STOPPED };

struct vm_options {
	bool boot_timer;
	uint64_t start_us, start_cpu_us;   /* process start (for the boot timer) */
	int console_in;                    /* fd or -1 */
	int console_out;                   /* fd */
	/* PUT /serial's rate_limiter (bytes), or NULL: no limit. */
	const struct token_bucket_config *serial_rate_limiter;
	/* Optional hooks (the seccomp filters), called with hook_arg:
	 * on each vCPU thread before its first KVM_RUN, and by vm_start once
	 * every vCPU thread exists but before any of them runs the guest. */
	void (*vcpu_thread_init)(void *arg);
	void (*vcpus_created)(void *arg);
	void *hook_arg;
	/* Guest RAM: anonymous memory (mem_fd < 0), or a snapshot's memory
	 * file mapped MAP_PRIVATE (regions back to back from offset 0). */
	int mem_fd;
	/* Uffd snapshot backend: the page-fault handler's socket (guest
	 * RAM anonymous private, served by the handler: uffd.h), else NULL. */
	const char *uffd_socket;
	/* Working-set record (wset.h): guest RAM anonymous, served by wisp
	 * from mem_fd, first touches written to this path; else NULL. */
	const char *wset_record_path;
	unsigned wset_record_ms;
	uint64_t wset_snap_id;             /* the state file's CRC-64 */
	/* Working-set replay with "copy": guest RAM anonymous, served by wisp
	 * from mem_fd (wset.h), the listed pages copied in before the vCPUs run. */
	bool wset_serve;
};

struct vm {
	struct kvm_sys kvm;
	int fd;
	struct guest_mem mem;
	int ram_fd;                   /* memfd holding guest RAM after a boot, else -1 */
	bool dirty_manual;            /* KVM dirty log with manual protection */
	struct uffd_backend *uffd;    /* Uffd backend (uffd.h), or NULL */
	struct wset_recorder *wset;   /* working-set record (wset.h), or NULL */
	struct vm_config cfg;
	struct vm_options opts;
	struct evloop *loop;
	struct bus pio, mmio;
	unsigned nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	struct vm_services svc;       /* what devices get */
	/* Where vm_create's time went (microseconds). */
	struct { uint64_t kvm_us, memory_us, devices_us, vcpus_us; } create_times;
	struct device_list devices;   /* serial, i8042, [boot timer], virtio */
	int exit_efd;                 /* written when the VM must stop */
	_Atomic int exit_code;        /* -1 until set; first setter wins */
	_Atomic enum vm_run_state state;
	/* unknown-access logging: one debug line per distinct address */
	pthread_mutex_t unknown_lock;
	uint64_t unknown_seen[64];
	unsigned nr_unknown_seen;
};

/* Building a VM: vm_create() makes the KVM VM, guest memory, the devices
 * and the vCPUs; then either vm_boot() loads the kernel, writes the boot
 * structures and sets the boot registers, or a snapshot restore
 * (persist.c) gives every part its saved state. On failure err says why
 * and everything created is torn down (vm_destroy). */
int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_options *opts,
	      struct evloop *loop, char *err, size_t errlen);
int vm_boot(struct vm *vm, char *err, size_t errlen);
/* vm_create() + vm_boot(). */
int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_options *opts,
	     struct evloop *loop, char *err, size_t errlen);
/* Dirty page tracking (dirty.c). dirty_enable before the memory slots
 * exist (manual protection with initially-set bits where KVM offers it);
 * dirty_alloc_region for each region; dirty_collect returns, per region, a
 * malloc'd bitmap of the pages written since the last collect (KVM's log
 * OR'd with wisp's own writes) and starts a new interval. */
int dirty_enable(struct vm *vm, char *err, size_t errlen);
int dirty_alloc_region(struct guest_region *r, char *err, size_t errlen);
int dirty_collect(struct vm *vm, uint64_t *bitmaps[GUEST_MEM_MAX_REGIONS], char *err,
		  size_t errlen);
void dirty_free(struct vm *vm);
/* KVM's supported CPUID (malloc'd) or NULL. */
struct kvm_cpuid2 *vm_supported_cpuid(struct vm *vm);
/* The VM's CPU template (cpu_tmpl.c): resolve it (static: does it fit the
 * host), check its KVM capabilities and apply its CPUID changes to cpuid;
 * *out is the template (malloc'd) or NULL for none. Then, once every vCPU
 * has its CPUID, vm_cpu_template_msrs() applies its MSR changes. */
int vm_cpu_template_apply(struct vm *vm, struct kvm_cpuid2 *cpuid, struct cpu_template **out,
			  char *err, size_t errlen);
int vm_cpu_template_msrs(struct vm *vm, const struct cpu_template *t, char *err, size_t errlen);
/* Start the vCPU threads: running, or parked (state VM_PAUSED). */
int vm_start(struct vm *vm, bool paused);
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* Ask every vCPU to leave KVM_RUN for good and join the threads. */
void vm_stop(struct vm *vm);
void vm_destroy(struct vm *vm);
/* Called from any thread: record why the VM ends and wake the VMM thread. */
void vm_request_exit(struct vm *vm, int code);
/* Services for devices (vm.c, bus.c); `struct vm_services` wraps them. */
int vm_bus_register(struct vm *vm, enum bus_kind kind, uint64_t base, uint64_t size,
		    const struct bus_ops *ops, void *opaque, const char *name);
int vm_irqfd(struct vm *vm, unsigned gsi);
int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool match_data, uint64_t datamatch);
/* Log an access nobody handles (once per address, at debug). */
void vm_log_unknown(struct vm *vm, enum bus_kind kind, uint64_t addr, unsigned len, bool write);

#endif /* WISP_VMM_VM_H */
