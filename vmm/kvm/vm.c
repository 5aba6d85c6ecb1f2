/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vm.c — build a VM from a validated configuration: KVM VM with in-kernel
 * irqchip and PIT, guest RAM split around the MMIO gap, legacy devices,
 * virtio devices, kernel/initrd and boot structures, vCPUs; then run,
 * pause, resume and stop it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "boot.h"
#include "uffd.h"
#include "wset.h"
#include "vm.h"
#include "virtio.h"

#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif

#define KVM_TSS_ADDRESS      0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define VM_PAUSE_TIMEOUT_S    5

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

int vm_irqfd(struct vm *vm, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) {
		log_error("eventfd for IRQ %u: %s", gsi, strerror(errno));
		return -errno;
	}
	irqfd.fd = (uint32_t)fd;
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0) {
		int err = -errno;

		log_error("KVM_IRQFD for IRQ %u: %s", gsi, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, unsigned len, bool match_data, uint64_t datamatch)
{
	struct kvm_ioeventfd io = {
		.addr = addr, .len = len, .datamatch = datamatch,
		.flags = match_data ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0,
	};
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

	if (fd < 0) {
		log_error("eventfd for ioeventfd 0x%llx: %s", (unsigned long long)addr, strerror(errno));
		return -errno;
	}
	io.fd = fd;
	if (ioctl(vm->fd, KVM_IOEVENTFD, &io) < 0) {
		int err = -errno;

		log_error("KVM_IOEVENTFD at 0x%llx: %s", (unsigned long long)addr, strerror(errno));
		close(fd);
		return err;
	}
	return fd;
}

void vm_request_exit(struct vm *vm, int code)
{
	int expected = -1;
	uint64_t one = 1;

	atomic_compare_exchange_strong(&vm->exit_code, &expected, code);
	if (write(vm->exit_efd, &one, sizeof(one)) < 0)
		log_debug("exit eventfd: %s", strerror(errno));
}

void vm_log_unknown(struct vm *vm, enum bus_kind kind, uint64_t addr, unsigned len, bool write)
{
	uint64_t key = (addr << 1) | (kind == BUS_MMIO);
	bool first = true;

	if (log_get_level() < LOG_DEBUG)
		return;
	pthread_mutex_lock(&vm->unknown_lock);
	for (unsigned i = 0; i < vm->nr_unknown_seen; i++)
		if (vm->unknown_seen[i] == key)
			first = false;
	if (first && vm->nr_unknown_seen < 64)
		vm->unknown_seen[vm->nr_unknown_seen++] = key;
	else
		first = false;
	pthread_mutex_unlock(&vm->unknown_lock);
	if (first)
		log_debug("unhandled %s %s at 0x%llx (%u bytes)%s", kind == BUS_MMIO ? "MMIO" : "port",
			  write ? "write" : "read", (unsigned long long)addr, len,
			  write ? "" : ", reads as all-ones");
}

/* ---------------- services for devices ---------------- */
static int svc_bus_register(void *vm, enum bus_kind kind, uint64_t base, uint64_t size,
			    const struct bus_ops *ops, void *opaque, const char *name)
{
	return vm_bus_register(vm, kind, base, size, ops, opaque, name);
}

static int svc_irqfd(void *vm, unsigned gsi)
{
	return vm_irqfd(vm, gsi);
}

static int svc_ioeventfd(void *vm, uint64_t addr, unsigned len, bool match_data,
			 uint64_t datamatch)
{
	return vm_ioeventfd(vm, addr, len, match_data, datamatch);
}

static void svc_request_exit(void *vm, int code)
{
	vm_request_exit(vm, code);
}

/* ---------------- memory ----------------
 * Guest RAM is one file, the regions back to back in it (the memory file's
 * layout): a memfd after a boot (MAP_SHARED; a snapshot reads only its data
 * extents, so never-touched RAM is never allocated), or a snapshot's memory
 * file after a load (MAP_PRIVATE: copy-on-write, clean pages shared with
 * every VM restored from the same file).
 * A memfd's size is limited by RLIMIT_FSIZE (ftruncate past it raises
 * SIGXFSZ), guest memory is not in Firecracker (anonymous memory): when the
 * size is above the limit, RAM is shared anonymous memory instead (the same
 * shmem, MADV_REMOVE works, but with no file: a snapshot then reads every
 * page; a Full snapshot's memory file is above the limit anyway and ends
 * wisp by SIGXFSZ, as in Firecracker). Returns 1 for that case (ram_fd
 * stays -1), 0 with the memfd in ram_fd, or -errno. */
static int create_ram_file(struct vm *vm, uint64_t size, char *err, size_t errlen)
{
	unsigned flags = MFD_CLOEXEC;
	struct rlimit rl;

	if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    size > (uint64_t)rl.rlim_cur) {
		log_info("guest memory (%llu MiB) is above RLIMIT_FSIZE (%llu bytes): shared "
			 "anonymous memory instead of a memfd", (unsigned long long)(size >> 20),
			 (unsigned long long)rl.rlim_cur);
		return 1;
	}
	if (vm->cfg.machine.huge_pages == HUGE_PAGES_2M)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	vm->ram_fd = memfd_create("wisp-guest-ram", flags);
	if (vm->ram_fd < 0) {
		ERR("machine-config: cannot create guest memory (memfd_create): %s",
		    strerror(errno));
		return -errno;
	}
	if (ftruncate(vm->ram_fd, (off_t)size) < 0) {
		ERR("machine-config.mem_size_mib: cannot size %llu MiB of guest memory: %s",
		    (unsigned long long)(size >> 20), strerror(errno));
		return -errno;
	}
	return 0;
}

static int setup_memory(struct vm *vm, char *err, size_t errlen)
{
	const struct machine_config *mc = &vm->cfg.machine;
	uint64_t size = (uint64_t)mc->mem_size_mib << 20, off = 0;
	struct guest_region layout[2];
	unsigned n = guest_mem_layout(size, layout);
	bool from_snapshot = vm->opts.mem_fd >= 0;
	bool uffd = vm->opts.uffd_socket != NULL || vm->opts.wset_record_path != NULL ||
		    vm->opts.wset_serve;
	int fd = vm->opts.mem_fd, r;
	bool shared_anon = false;   /* no memfd (create_ram_file) */
	int anon_flags = MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE;

	if (!from_snapshot && !uffd) {
		r = create_ram_file(vm, size, err, errlen);
		if (r < 0)
			return r;
		shared_anon = r > 0;
		fd = vm->ram_fd;
		if (mc->huge_pages == HUGE_PAGES_2M)
			anon_flags |= MAP_HUGETLB | MAP_HUGE_2MB;
	}
	if (mc->track_dirty_pages && (r = dirty_enable(vm, err, errlen)) < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		struct kvm_userspace_memory_region kr = { 0 };
		void *p = uffd ? mmap(NULL, layout[i].size, PROT_READ | PROT_WRITE,
				      UFFD_GUEST_MAP_FLAGS, -1, 0)
			: shared_anon ? mmap(NULL, layout[i].size, PROT_READ | PROT_WRITE,
					     anon_flags, -1, 0)
			       : mmap(NULL, layout[i].size, PROT_READ | PROT_WRITE,
				      (from_snapshot ? MAP_PRIVATE : MAP_SHARED) | MAP_NORESERVE, fd,
				      (off_t)off);

		if (p == MAP_FAILED) {
			ERR("%s: cannot map %llu MiB of guest memory (region %u): %s",
			    from_snapshot || uffd ? "mem_backend" : "machine-config.mem_size_mib",
			    (unsigned long long)(layout[i].size >> 20), i, strerror(errno));
			return -ENOMEM;
		}
		off += layout[i].size;
		if (!from_snapshot && mc->huge_pages == HUGE_PAGES_TRANSPARENT)
			madvise(p, layout[i].size, MADV_HUGEPAGE);
		vm->mem.regions[i] = layout[i];
		vm->mem.regions[i].hva = p;
		vm->mem.nr_regions = i + 1;
		if (mc->track_dirty_pages &&
		    (r = dirty_alloc_region(&vm->mem.regions[i], err, errlen)) < 0)
			return r;

		kr.slot = i;
		kr.flags = mc->track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0;
		kr.guest_phys_addr = layout[i].gpa;
		kr.memory_size = layout[i].size;
		kr.userspace_addr = (uint64_t)(uintptr_t)p;
		if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0) {
			ERR("KVM_SET_USER_MEMORY_REGION slot %u: %s", i, strerror(errno));
			return -errno;
		}
	}
	/* Uffd: register the regions, hand them to the handler, watch it. */
	if (vm->opts.wset_record_path || vm->opts.wset_serve)   /* wisp serves the memory file */
		return wset_record_attach(vm, fd, vm->opts.wset_record_path,
					  vm->opts.wset_record_ms, vm->opts.wset_snap_id, err,
					  errlen);
	return uffd ? uffd_attach(vm, vm->opts.uffd_socket, err, errlen) : 0;
}

/* ---------------- files ---------------- */
struct mapped_file {
	uint8_t *data;
	size_t len;
};

static int map_file(const char *field, const char *path, struct mapped_file *f, char *err,
		    size_t errlen)
{
	struct stat st;
	/* O_NONBLOCK: a FIFO (or a device) given as a kernel or initrd must
	 * not block the VMM thread in open(); it is refused below. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	f->data = NULL;
	f->len = 0;
	if (fd < 0) {
		ERR("%s: cannot open %s: %s", field, path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		ERR("%s: %s is not a regular file", field, path);
		close(fd);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		ERR("%s: %s is empty", field, path);
		close(fd);
		return -EINVAL;
	}
	f->data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f->data == MAP_FAILED) {
		f->data = NULL;
		ERR("%s: cannot read %s: %s", field, path, strerror(errno));
		return -EIO;
	}
	f->len = (size_t)st.st_size;
	return 0;
}

static void unmap_file(struct mapped_file *f)
{
	if (f->data)
		munmap(f->data, f->len);
	f->data = NULL;
}

/* ---------------- boot ---------------- */
static int build_cmdline(struct vm *vm, struct cmdline *cl, char *err, size_t errlen)
{
	const struct vm_config *cfg = &vm->cfg;

	cmdline_init(cl);
	if (cmdline_append(cl, cfg->boot.has_boot_args ? cfg->boot.boot_args : DEFAULT_KERNEL_CMDLINE) < 0)
		goto too_long;
	for (unsigned i = 0; i < cfg->nr_drives; i++) {
		const struct drive_config *d = &cfg->drives[i];

		/* The root drive is always the first virtio device: /dev/vda. */
		if (d->is_root_device &&
		    cmdline_add_root(cl, 0, d->partuuid[0] ? d->partuuid : NULL, d->is_read_only) < 0)
			goto too_long;
	}
	for (unsigned i = 0; i < vm->devices.nr; i++) {
		const struct device *d = &vm->devices.devs[i];

		if (virtio_device_is(d) &&
		    cmdline_add_virtio_mmio(cl, d->mmio_base, VIRTIO_MMIO_SIZE, d->irq) < 0)
			goto too_long;
	}
	return 0;
too_long:
	ERR("boot-source.boot_args: the kernel command line is longer than %d bytes", VM_CMDLINE_MAX - 1);
	return -E2BIG;
}

/* ACPI tables from the VM's devices (acpi_config_from_devices in
 * acpi/config.c says which device gives what), unless the command line has
 * acpi=off. Sets *rsdp (0 when off). */
static int write_acpi(struct vm *vm, const char *cmdline, uint64_t *rsdp, char *err, size_t errlen)
{
	struct acpi_config ac;
	char why[256] = "";
	int r;

	*rsdp = 0;
	if (acpi_cmdline_off(cmdline)) {
		log_info("ACPI: off (acpi=off on the kernel command line): no tables");
		return 0;
	}
	r = acpi_config_from_devices(&vm->devices, vm->nr_vcpus, &ac, why, sizeof(why));
	if (r == 0)
		r = acpi_write(&vm->mem, &ac, why, sizeof(why));
	if (r < 0) {
		ERR("cannot write the ACPI tables: %s", why);
		return r;
	}
	*rsdp = ACPI_RSDP_ADDR;
	log_info("ACPI: RSDP at 0x%llx, %u vCPUs, %u virtio devices%s", ACPI_RSDP_ADDR,
		 ac.nr_vcpus, ac.nr_virtio, ac.vmgenid ? ", VMGenID and GED" : "");
	return 0;
}

static int load_boot_image(struct vm *vm, struct kernel_info *ki, char *err, size_t errlen)
{
	const struct boot_source_config *bs = &vm->cfg.boot;
	struct mapped_file kernel, initrd = { 0 };
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR };
	struct cmdline cl;
	uint64_t gdt[4];
	char why[256] = "";
	int r;

	r = map_file("boot-source.kernel_image_path", bs->kernel_image_path, &kernel, err, errlen);
	if (r < 0)
		return r;
	r = kernel_load(&vm->mem, kernel.data, kernel.len, ki, why, sizeof(why));
	unmap_file(&kernel);
	if (r < 0) {
		ERR("boot-source.kernel_image_path: %s: %s", bs->kernel_image_path, why);
		return r;
	}
	if (bs->initrd_path[0]) {
		r = map_file("boot-source.initrd_path", bs->initrd_path, &initrd, err, errlen);
		if (r < 0)
			return r;
		r = initrd_place(&vm->mem, ki, initrd.len, &bl.initrd_addr, why, sizeof(why));
		if (r == 0)
			r = guest_mem_write(&vm->mem, bl.initrd_addr, initrd.data, initrd.len);
		unmap_file(&initrd);
		if (r < 0) {
			ERR("boot-source.initrd_path: %s: %s", bs->initrd_path,
			    why[0] ? why : "does not fit in guest memory");
			return r;
		}
		bl.initrd_size = initrd.len;
	}
	r = build_cmdline(vm, &cl, err, errlen);
	if (r < 0)
		return r;
	bl.cmdline_len = cl.len;
	r = write_acpi(vm, cl.buf, &bl.rsdp_addr, err, errlen);
	if (r < 0)
		return r;

	if (ki->has_pvh)
		r = pvh_write(&vm->mem, &bl, cl.buf);
	else
		r = bootparams_write(&vm->mem, ki, &bl, cl.buf);
	if (r < 0) {
		ERR("boot-source: cannot write the %s boot structures (%s)",
		    ki->has_pvh ? "PVH" : "Linux", strerror(-r));
		return r;
	}
	r = mptable_write(&vm->mem, vm->nr_vcpus);
	if (r == 0)
		r = pagetables_write(&vm->mem);
	if (r == 0) {
		gdt_build(gdt, ki->has_pvh);
		r = gdt_write(&vm->mem, gdt);
	}
	if (r == 0) {
		uint64_t idt = 0;

		r = guest_mem_write(&vm->mem, BOOT_IDT_ADDR, &idt, sizeof(idt));
	}
	if (r < 0) {
		ERR("cannot write the boot tables (MP table, page tables, GDT): %s", strerror(-r));
		return r;
	}
	log_info("kernel: %s %s, loaded at [0x%llx, 0x%llx), entry 0x%llx (%s)",
		 ki->kind == KERNEL_BZIMAGE ? "bzImage" : "ELF", bs->kernel_image_path,
		 (unsigned long long)ki->load_start, (unsigned long long)ki->load_end,
		 (unsigned long long)(ki->has_pvh ? ki->pvh_entry : ki->entry64),
		 ki->has_pvh ? "PVH" : "Linux 64-bit boot protocol");
	if (bl.initrd_size)
		log_info("initrd: %s at 0x%llx, %llu bytes", bs->initrd_path,
			 (unsigned long long)bl.initrd_addr, (unsigned long long)bl.initrd_size);
	log_info("kernel command line: %s", cl.buf);
	return 0;
}

struct kvm_cpuid2 *vm_supported_cpuid(struct vm *vm)
{
	for (unsigned nent = 128; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(vm->kvm.fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG) {
			log_error("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

static int create_vcpus(struct vm *vm, char *err, size_t errlen)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_create(vm, i, &vm->vcpus[i]);

		if (r < 0) {
			ERR("cannot create vCPU %u (%s); see the log", i, strerror(-r));
			return r;
		}
	}
	return 0;
}

static int boot_vcpus(struct vm *vm, const struct kernel_info *ki, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid = vm_supported_cpuid(vm);
	struct cpu_template *tmpl = NULL;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int r = 0;

	if (!cpuid) {
		ERR("cannot read the CPUID KVM supports");
		return -EIO;
	}
	r = vm_cpu_template_apply(vm, cpuid, &tmpl, err, errlen);
	for (unsigned i = 0; i < vm->nr_vcpus && r == 0; i++) {
		r = vcpu_configure(&vm->vcpus[i], cpuid);
		if (r < 0)
			ERR("cannot configure vCPU %u (%s); see the log", i, strerror(-r));
	}
	if (r == 0)
		r = vm_cpu_template_msrs(vm, tmpl, err, errlen);
	free(tmpl);
	free(cpuid);
	if (r < 0)
		return r;

	if (ioctl(vm->vcpus[0].fd, KVM_GET_SREGS, &sregs) < 0) {
		ERR("KVM_GET_SREGS: %s", strerror(errno));
		return -errno;
	}
	memset(&regs, 0, sizeof(regs));
	if (ki->has_pvh)
		boot_regs_pvh(ki->pvh_entry, &regs, &sregs);
	else
		boot_regs_linux64(ki->entry64, &regs, &sregs);
	if (ioctl(vm->vcpus[0].fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(vm->vcpus[0].fd, KVM_SET_REGS, &regs) < 0) {
		ERR("cannot set the boot registers: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int create_kvm_vm(struct vm *vm, char *err, size_t errlen)
{
	if (kvm_open(&vm->kvm) < 0) {
		ERR("/dev/kvm is not usable (see the log line above)");
		return -ENODEV;
	}
	vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		ERR("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDRESS) < 0) {
		ERR("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	{
		uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

		if (ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
			ERR("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* The in-kernel IOAPIC/PICs/LAPICs and the PIT. Created after the memory
 * slots: a memory slot added once the irqchip exists costs ~6 ms here
 * (KVM waits for an SRCU grace period; measured on PVM), before it ~0.1 ms. */
static int create_irqchip(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		ERR("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		ERR("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int create_devices(struct vm *vm, char *err, size_t errlen)
{
	struct device d;
	int r;

	vm->svc = (struct vm_services){
		.vm = vm, .mem = &vm->mem, .loop = vm->loop,
		.bus_register = svc_bus_register, .irqfd = svc_irqfd, .ioeventfd = svc_ioeventfd,
		.fd_add = evloop_add, .fd_mod = evloop_mod, .fd_del = evloop_del,
		.request_exit = svc_request_exit,
	};
	r = serial_create(&vm->svc, vm->opts.console_in, vm->opts.console_out, &d, err, errlen);
	if (r == 0 && vm->opts.serial_rate_limiter &&
	    (r = serial_set_rate_limiter(&d, vm->opts.serial_rate_limiter)) < 0) {
		snprintf(err, errlen, "serial: invalid rate_limiter");
		d.ops->destroy(d.dev);
	}
	if (r == 0)
		r = device_list_add(&vm->devices, &d);
	if (r == 0)
		r = i8042_create(&vm->svc, &d, err, errlen);
	if (r == 0)
		r = device_list_add(&vm->devices, &d);
	if (r == 0 && vm->opts.boot_timer) {
		r = boot_timer_create(&vm->svc, vm->opts.start_us, vm->opts.start_cpu_us, &d, err,
				      errlen);
		if (r == 0)
			r = device_list_add(&vm->devices, &d);
	}
	/* The VM generation ID, with ACPI (the DSDT announces it and the GED
	 * that notifies it; "acpi=off" on the command line: neither). */
	if (r == 0 && !acpi_cmdline_off(vm->cfg.boot.has_boot_args ? vm->cfg.boot.boot_args
								   : DEFAULT_KERNEL_CMDLINE)) {
		r = vmgenid_create(&vm->svc, ACPI_VMGENID_ADDR, GED_IRQ, &d, err, errlen);
		if (r == 0 && (r = device_list_add(&vm->devices, &d)) < 0) {
			ERR("vmgenid: more than %d devices", DEVICE_MAX);
			d.ops->destroy(d.dev);
		}
	}
	if (r == 0)
		r = virtio_devices_create(&vm->svc, &vm->cfg, &vm->devices, err, errlen);
	return r;
}

static uint64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, const struct vm_options *opts,
	      struct evloop *loop, char *err, size_t errlen)
{
	uint64_t t;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->kvm.fd = -1;
	vm->ram_fd = -1;
	vm->exit_code = -1;
	vm->state = VM_NOT_STARTED;
	vm->cfg = *cfg;
	vm->opts = *opts;
	vm->loop = loop;
	vm->nr_vcpus = cfg->machine.vcpu_count;
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		vm->vcpus[i].fd = -1;
	pthread_mutex_init(&vm->unknown_lock, NULL);
	vm->exit_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vm->exit_efd < 0) {
		ERR("eventfd: %s", strerror(errno));
		return -errno;
	}
	t = mono_us();
	r = create_kvm_vm(vm, err, errlen);
	vm->create_times.kvm_us = mono_us() - t;
	t = mono_us();
	if (r == 0)
		r = setup_memory(vm, err, errlen);
	vm->create_times.memory_us = mono_us() - t;
	t = mono_us();
	if (r == 0)
		r = create_irqchip(vm, err, errlen);
	vm->create_times.kvm_us += mono_us() - t;
	t = mono_us();
	if (r == 0)
		r = create_devices(vm, err, errlen);
	vm->create_times.devices_us = mono_us() - t;
	t = mono_us();
	if (r == 0)
		r = create_vcpus(vm, err, errlen);
	vm->create_times.vcpus_us = mono_us() - t;
	if (r < 0)
		vm_destroy(vm);
	return r;
}

int vm_boot(struct vm *vm, char *err, size_t errlen)
{
	struct kernel_info ki;
	int r;

	if (!vm->cfg.boot.set || !vm->cfg.boot.kernel_image_path[0]) {
		ERR("boot-source: no kernel_image_path configured");
		return -EINVAL;
	}
	r = load_boot_image(vm, &ki, err, errlen);
	if (r == 0)
		r = boot_vcpus(vm, &ki, err, errlen);
	return r;
}

int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_options *opts,
	     struct evloop *loop, char *err, size_t errlen)
{
	int r;

	if (!cfg->boot.set || !cfg->boot.kernel_image_path[0]) {
		ERR("boot-source: no kernel_image_path configured");
		return -EINVAL;
	}
	r = vm_create(vm, cfg, opts, loop, err, errlen);
	if (r < 0)
		return r;
	r = vm_boot(vm, err, errlen);
	if (r < 0)
		vm_destroy(vm);
	return r;
}

int vm_start(struct vm *vm, bool paused)
{
	/* The vCPU threads start parked: none enters KVM_RUN before
	 * opts.vcpus_created has run (the VMM thread's seccomp filter). */
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].pause_requested = true;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		int r = vcpu_start(&vm->vcpus[i]);

		if (r < 0) {
			vm_stop(vm);
			return r;
		}
	}
	if (vm->opts.vcpus_created)
		vm->opts.vcpus_created(vm->opts.hook_arg);
	if (paused) {
		/* Stay parked until PATCH /vm Resumed; wait until each vCPU
		 * thread is (so a snapshot of it is consistent). */
		for (unsigned i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *v = &vm->vcpus[i];

			pthread_mutex_lock(&v->lock);
			while (v->state != VCPU_PAUSED && v->state != VCPU_EXITED)
				pthread_cond_wait(&v->cond, &v->lock);
			pthread_mutex_unlock(&v->lock);
		}
		vm->state = VM_PAUSED;
		return 0;
	}
	vm->state = VM_PAUSED;   /* the threads are parked: release them */
	return vm_resume(vm);
}

int vm_pause(struct vm *vm)
{
	struct timespec deadline;
	int r = 0;

	if (vm->state != VM_RUNNING)
		return vm->state == VM_PAUSED ? 0 : -EINVAL;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&v->lock);
		v->pause_requested = true;
		pthread_mutex_unlock(&v->lock);
		vcpu_kick(v);
	}
	/* A vCPU stuck in a device handler (blocked I/O) must not wedge the
	 * VMM thread: give up after a deadline and let everyone run again. */
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += VM_PAUSE_TIMEOUT_S;
	for (unsigned i = 0; i < vm->nr_vcpus && r == 0; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&v->lock);
		while (r == 0 && v->state != VCPU_PAUSED && v->state != VCPU_EXITED)
			r = -pthread_cond_timedwait(&v->cond, &v->lock, &deadline);
		pthread_mutex_unlock(&v->lock);
		if (r)
			log_error("vCPU %u did not pause within %d s; resuming all vCPUs", i,
				  VM_PAUSE_TIMEOUT_S);
	}
	if (r) {
		vm->state = VM_PAUSED;   /* so vm_resume() releases the paused ones */
		vm_resume(vm);
		return -ETIMEDOUT;
	}
	vm->state = VM_PAUSED;
	return 0;
}

int vm_resume(struct vm *vm)
{
	if (vm->state != VM_PAUSED)
		return vm->state == VM_RUNNING ? 0 : -EINVAL;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		pthread_mutex_lock(&v->lock);
		v->pause_requested = false;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
	}
	vm->state = VM_RUNNING;
	return 0;
}

void vm_stop(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->thread_started)
			continue;
		pthread_mutex_lock(&v->lock);
		v->stop_requested = true;
		pthread_cond_broadcast(&v->cond);
		pthread_mutex_unlock(&v->lock);
		vcpu_kick(v);
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->thread_started) {
			pthread_join(v->thread, NULL);
			v->thread_started = false;
		}
	}
	vm->state = VM_STOPPED;
}

void vm_destroy(struct vm *vm)
{
	vm_stop(vm);
	for (unsigned i = 0; i < VM_MAX_VCPUS; i++)
		if (vm->vcpus[i].fd >= 0)
			vcpu_destroy(&vm->vcpus[i]);
	device_list_destroy(&vm->devices);
	for (unsigned i = 0; i < vm->mem.nr_regions; i++)
		munmap(vm->mem.regions[i].hva, vm->mem.regions[i].size);
	uffd_detach(vm);
	wset_record_detach(vm);
	dirty_free(vm);
	vm->mem.nr_regions = 0;
	if (vm->ram_fd >= 0)
		close(vm->ram_fd);
	vm->ram_fd = -1;
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	kvm_close(&vm->kvm);
	if (vm->exit_efd >= 0)
		close(vm->exit_efd);
	vm->exit_efd = -1;
}
