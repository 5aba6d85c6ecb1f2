/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_filter.c — the jailer's allow-list, installed just before exec.
 * Default action: kill the process. It allows exactly what wisp needs from
 * its first instruction (static binary: no dynamic loader) until its own
 * per-thread filters are in place — glibc start-up, arguments, logger, API
 * socket, KVM and VM creation, devices, threads, the installation of those
 * filters — plus the union of wisp's three role filters
 * (vmm/seccomp/seccomp.c), which its threads keep needing: a thread's
 * calls pass every filter stacked on it, this one included. Arguments are
 * compared where that is safe (no executable memory, no executable file,
 * AF_UNIX sockets only, threads only, a list of ioctl requests). It is
 * not a replacement for wisp's finer per-thread filters. docs/jailer.md
 * lists the same table with the phase each call belongs to.
 *
 * Signals go only to the jailed process itself: kill and tgkill with any
 * other pid as their first argument kill the caller, and tkill (which
 * names a thread of any process), rt_sigqueueinfo, rt_tgsigqueueinfo and
 * pidfd_open are not allowed at all. The filter is built in the process
 * that execs, so getpid() is the pid the VMM runs with (1 in a new PID
 * namespace). A VMM run as root (--uid 0) can therefore not signal host
 * processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>
#include <linux/userfaultfd.h>
#include <asm/prctl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "jailer.h"
#include "jailer_int.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/* A 32-bit argument (an int: the kernel ignores the upper half). */
#define A32_EQ(i, v) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = 0xffffffffu, \
		       .datum_b = (scmp_datum_t)(v) }
/* Bits of a 32-bit argument: (arg & mask) == v. */
#define A32_MASK(i, m, v) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, \
			    .datum_a = (scmp_datum_t)(m), .datum_b = (scmp_datum_t)(v) }
#define A64_EQ(i, v) { .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (scmp_datum_t)(v), .datum_b = 0 }

#define ANY(n, why, ph) { n, NULL, why, ph, 0, { { 0 } } }
#define ONE(n, c, why, ph, cmp0) { n, c, why, ph, 1, { cmp0 } }

#define S "start"
#define R "run"
#define SR "start, run"

/* CLONE_NEW* flags: each one would give the VMM a namespace of its own. */
#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | \
			CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)

const struct jailer_allowed_syscall jailer_allowed_syscalls[] = {
	/* exec and glibc's static start-up */
	ANY("execve", "the jailer's own exec of wisp, made under this filter; nothing in the jail "
	    "can become executable (no chmod, no openat mode with x bits, no PROT_EXEC)", "exec"),
	ONE("arch_prctl", "ARCH_SET_FS", "glibc: the main thread's TLS", S, A32_EQ(0, ARCH_SET_FS)),
	ANY("set_tid_address", "glibc start-up", S),
	ANY("set_robust_list", "glibc: start-up and every new thread", S),
	ANY("rseq", "glibc: restartable sequences, start-up and every new thread", S),
	ONE("prlimit64", "new limit NULL (read only)", "glibc: RLIMIT_STACK for thread stacks", S,
	    A64_EQ(2, 0)),
	ANY("readlink", "glibc (static): /proc/self/exe for $ORIGIN (absent in the jail)", S),
	ANY("brk", "malloc's heap", SR),
	ONE("mmap", "PROT_EXEC clear", "malloc, thread stacks, guest memory, io_uring rings, vCPU "
	    "run areas; never executable memory", SR, A32_MASK(2, PROT_EXEC, 0)),
	ONE("mprotect", "PROT_EXEC clear", "glibc: RELRO, thread stack guards", S,
	    A32_MASK(2, PROT_EXEC, 0)),
	ANY("munmap", "free of large blocks, teardown", SR),
	ANY("mremap", "realloc of large blocks", SR),
	ONE("madvise", "MADV_DONTNEED", "free() trimming, thread stacks; balloon where RAM is "
	    "private", SR, A32_EQ(2, MADV_DONTNEED)),
	ONE("madvise", "MADV_REMOVE", "virtio-balloon: punch inflated pages out of the memfd", R,
	    A32_EQ(2, MADV_REMOVE)),
	ONE("madvise", "MADV_HUGEPAGE", "guest memory with huge pages", S,
	    A32_EQ(2, MADV_HUGEPAGE)),
	ONE("madvise", "MADV_POPULATE_READ", "working-set replay: pre-fault recorded pages", SR,
	    A32_EQ(2, MADV_POPULATE_READ)),
	ONE("fadvise64", "POSIX_FADV_WILLNEED", "working-set replay: start reading the recorded "
	    "pages of the memory file", SR, A32_EQ(3, POSIX_FADV_WILLNEED)),
	ANY("rt_sigaction", "SIGRTMIN vCPU kick handler, SIGPIPE counted, SIGSYS report, "
	    "fatal-signal handlers", S),
	ANY("rt_sigprocmask", "signalfd's mask, glibc around thread creation and exit", SR),
	ANY("rt_sigreturn", "return from a signal handler (vCPU kick)", SR),
	ONE("clone", "CLONE_VM|CLONE_THREAD set, no CLONE_NEW* flag", "threads only (vCPUs, API, "
	    "uffd, working set): no fork, no namespace", S,
	    A32_MASK(0, CLONE_VM | CLONE_THREAD | CLONE_NS_FLAGS, CLONE_VM | CLONE_THREAD)),
	ONE("futex", "FUTEX_WAIT", "pthread mutexes, condition variables, joins", SR,
	    A32_EQ(1, FUTEX_WAIT)),
	ONE("futex", "FUTEX_WAKE", "pthread mutexes, condition variables, joins", SR,
	    A32_EQ(1, FUTEX_WAKE)),
	ONE("futex", "FUTEX_WAIT_PRIVATE", "pthread mutexes, condition variables, joins", SR,
	    A32_EQ(1, FUTEX_WAIT_PRIVATE)),
	ONE("futex", "FUTEX_WAKE_PRIVATE", "pthread mutexes, condition variables, joins", SR,
	    A32_EQ(1, FUTEX_WAKE_PRIVATE)),
	ONE("futex", "FUTEX_WAIT_BITSET", "pthread condition variables", SR,
	    A32_EQ(1, FUTEX_WAIT_BITSET)),
	ONE("futex", "FUTEX_WAIT_BITSET_PRIVATE", "pthread condition variables, joins", SR,
	    A32_EQ(1, FUTEX_WAIT_BITSET_PRIVATE)),
	ONE("futex", "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME", "pthread condition variables", SR,
	    A32_EQ(1, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME)),
	ONE("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME", "pthread condition "
	    "variables", SR, A32_EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
	ONE("prctl", "PR_SET_NO_NEW_PRIVS", "before each thread installs its filter", S,
	    A32_EQ(0, PR_SET_NO_NEW_PRIVS)),
	ONE("prctl", "PR_SET_NAME", "thread names (ps, top)", S, A32_EQ(0, PR_SET_NAME)),
	ANY("seccomp", "wisp's per-thread filters, libseccomp's feature probes; a filter can only "
	    "add restrictions", S),
	ANY("getrandom", "glibc malloc start-up; virtio-rng requests, VMGenID ids, vsock port "
	    "numbers, snapshot create's temporary names", SR),
	ANY("getpid", "raise(), pthread_kill(), logger", SR),
	ANY("gettid", "abort()/raise(): glibc's pthread_kill asks for the calling thread's tid "
	    "(wisp's vmm filter allows it for Firecracker's panic test)", R),
	ANY("sysinfo", "glibc qsort() asks sysconf(_SC_PHYS_PAGES): snapshot load with a working "
	    "set sorts its pages (read-only host memory totals)", S),
	ANY("clock_gettime", "CPU-time clocks (boot timer, metrics), log time without the vDSO", SR),
	ANY("restart_syscall", "a call interrupted by SIGSTOP/SIGCONT", SR),
	ANY("exit", "a thread ends", SR),
	ANY("exit_group", "the process ends", SR),
	/* files */
	ONE("openat", "mode without x bits (never an executable file)", "/dev/kvm, /dev/net/tun, "
	    "/dev/userfaultfd, kernel, initrd, drives, log/metrics files or FIFOs, snapshot files "
	    "(created O_EXCL)", SR, A32_MASK(3, 0111, 0)),
	ANY("close", "fds of images, connections, teardown", SR),
	ANY("read", "eventfds, signalfd, timerfds, tap RX, console input, files", SR),
	ANY("write", "log lines, metrics, eventfds, serial output, tap TX", SR),
	ANY("readv", "vsock: host socket bytes into the guest's buffers", R),
	ANY("writev", "virtio-net TX to the tap", R),
	ANY("pread64", "kernel, initrd, snapshot state and memory files", SR),
	ANY("pwrite64", "snapshot create: state and memory files", R),
	ANY("preadv", "virtio-blk Sync engine reads", R),
	ANY("pwritev", "virtio-blk Sync engine writes", R),
	ANY("lseek", "file sizes (kernel, drives, BPF export)", SR),
	ANY("newfstatat", "fstat() of kernel, drives, log/metrics files, stdio", SR),
	ANY("ftruncate", "guest memory memfd size; snapshot memory file size", SR),
	ANY("fsync", "snapshot create: files and their directory", R),
	ANY("fdatasync", "virtio-blk flush", R),
	ANY("rename", "snapshot create: a complete temporary file takes its name", R),
	ANY("unlink", "a stale API socket at start, the API socket at exit, vsock sockets", SR),
	ONE("fcntl", "F_GETFL", "drive images opened O_NONBLOCK, then cleared", SR,
	    A32_EQ(1, F_GETFL)),
	ONE("fcntl", "F_SETFL", "drive images opened O_NONBLOCK, then cleared", SR,
	    A32_EQ(1, F_SETFL)),
	ANY("memfd_create", "guest memory; libseccomp's BPF export", S),
	/* event loop */
	ANY("epoll_create1", "the VMM's and the API thread's event loops", S),
	ANY("epoll_ctl", "devices and connections (de)armed", SR),
	ANY("epoll_wait", "the event loops", SR),
	ANY("eventfd2", "queue notifications, irqfds, ioeventfds, API queue", S),
	ANY("signalfd4", "SIGTERM/SIGINT on the event loop", S),
	ANY("timerfd_create", "metrics flush, rate limiters, balloon statistics, vsock timeouts", S),
	ANY("timerfd_settime", "(re)arm those timers", SR),
	/* sockets: AF_UNIX only */
	ONE("socket", "AF_UNIX", "the API socket; vsock's Unix sockets; a tap's existence check; "
	    "the Uffd handshake", SR, A32_EQ(0, AF_UNIX)),
	ANY("bind", "the API socket, vsock's uds_path", S),
	ANY("listen", "the API socket, vsock's uds_path", S),
	ONE("accept4", "SOCK_NONBLOCK|SOCK_CLOEXEC", "API connections, vsock host connections", SR,
	    A32_EQ(3, SOCK_NONBLOCK | SOCK_CLOEXEC)),
	ANY("connect", "Uffd handler socket; vsock: <uds_path>_<port>", SR),
	ONE("shutdown", "SHUT_WR", "vsock: the guest sends no more", R, A32_EQ(1, SHUT_WR)),
	ANY("recvfrom", "API requests", SR),
	ANY("sendto", "API responses", SR),
	ANY("sendmsg", "Uffd backend: the memory layout and the userfaultfd to the handler", S),
	/* KVM helpers and device back ends */
	ANY("userfaultfd", "Uffd memory backend, working-set recording", S),
	ANY("io_uring_setup", "virtio-blk Async engine (created disabled)", S),
	ONE("io_uring_register", "IORING_REGISTER_FILES", "Async engine: the image", S,
	    A32_EQ(1, IORING_REGISTER_FILES)),
	ONE("io_uring_register", "IORING_REGISTER_EVENTFD", "Async engine: completion eventfd", S,
	    A32_EQ(1, IORING_REGISTER_EVENTFD)),
	ONE("io_uring_register", "IORING_REGISTER_RESTRICTIONS", "Async engine: restrict the ring",
	    S, A32_EQ(1, IORING_REGISTER_RESTRICTIONS)),
	ONE("io_uring_register", "IORING_REGISTER_ENABLE_RINGS", "Async engine: enable it once "
	    "restricted", S, A32_EQ(1, IORING_REGISTER_ENABLE_RINGS)),
	ONE("io_uring_register", "IORING_REGISTER_FILES_UPDATE", "PATCH /drives on an Async drive",
	    R, A32_EQ(1, IORING_REGISTER_FILES_UPDATE)),
	ONE("io_uring_enter", "flags 0", "Async engine: submit", R, A32_EQ(3, 0)),
	ONE("io_uring_enter", "IORING_ENTER_GETEVENTS", "Async engine: wait for completions", R,
	    A32_EQ(3, IORING_ENTER_GETEVENTS)),
};
const size_t jailer_n_allowed_syscalls =
	sizeof(jailer_allowed_syscalls) / sizeof(jailer_allowed_syscalls[0]);

#define IOC(r, ph) { r, #r, ph }
const struct jailer_allowed_ioctl jailer_allowed_ioctls[] = {
	/* /dev/kvm */
	IOC(KVM_GET_API_VERSION, S), IOC(KVM_CHECK_EXTENSION, SR), IOC(KVM_CREATE_VM, S),
	IOC(KVM_GET_VCPU_MMAP_SIZE, S), IOC(KVM_GET_SUPPORTED_CPUID, S),
	IOC(KVM_GET_MSR_INDEX_LIST, SR),
	/* the VM */
	IOC(KVM_CREATE_VCPU, S), IOC(KVM_SET_USER_MEMORY_REGION, S), IOC(KVM_SET_TSS_ADDR, S),
	IOC(KVM_SET_IDENTITY_MAP_ADDR, S), IOC(KVM_CREATE_IRQCHIP, S), IOC(KVM_CREATE_PIT2, S),
	IOC(KVM_IRQFD, S), IOC(KVM_IOEVENTFD, S), IOC(KVM_ENABLE_CAP, S),
	IOC(KVM_GET_IRQCHIP, R), IOC(KVM_SET_IRQCHIP, S), IOC(KVM_GET_PIT2, R),
	IOC(KVM_SET_PIT2, S), IOC(KVM_GET_CLOCK, R), IOC(KVM_SET_CLOCK, S),
	IOC(KVM_GET_DIRTY_LOG, R), IOC(KVM_CLEAR_DIRTY_LOG, R),
	/* a vCPU */
	IOC(KVM_RUN, R), IOC(KVM_GET_REGS, R), IOC(KVM_SET_REGS, S), IOC(KVM_GET_SREGS, SR),
	IOC(KVM_SET_SREGS, S), IOC(KVM_SET_FPU, S), IOC(KVM_GET_MSRS, SR), IOC(KVM_SET_MSRS, S),
	IOC(KVM_SET_CPUID2, S), IOC(KVM_GET_CPUID2, R), IOC(KVM_GET_LAPIC, SR),
	IOC(KVM_SET_LAPIC, S), IOC(KVM_GET_XSAVE, R), IOC(KVM_GET_XSAVE2, R),
	IOC(KVM_SET_XSAVE, S), IOC(KVM_GET_XCRS, R), IOC(KVM_SET_XCRS, S),
	IOC(KVM_GET_DEBUGREGS, R), IOC(KVM_SET_DEBUGREGS, S), IOC(KVM_GET_MP_STATE, R),
	IOC(KVM_SET_MP_STATE, S), IOC(KVM_GET_VCPU_EVENTS, R), IOC(KVM_SET_VCPU_EVENTS, S),
	IOC(KVM_GET_TSC_KHZ, R), IOC(KVM_SET_TSC_KHZ, S),
	/* tap */
	IOC(TUNSETIFF, S), IOC(TUNSETVNETHDRSZ, S), IOC(TUNSETOFFLOAD, R), IOC(SIOCGIFINDEX, S),
	/* userfaultfd */
	IOC(USERFAULTFD_IOC_NEW, S), IOC(UFFDIO_API, S), IOC(UFFDIO_REGISTER, S), IOC(UFFDIO_COPY, R),
	IOC(UFFDIO_ZEROPAGE, R),
	/* the terminal (serial console on stdin) */
	IOC(TCGETS, SR), IOC(TCSETS, SR),
};
const size_t jailer_n_allowed_ioctls =
	sizeof(jailer_allowed_ioctls) / sizeof(jailer_allowed_ioctls[0]);

const struct jailer_denied_syscall jailer_denied_syscalls[] = {
	/* Escaping or rebuilding the jail's mount tree. */
	{ "mount", "remount or overlay the jail; could expose host files" },
	{ "umount2", "uncover what the jail's mounts hide" },
	{ "pivot_root", "replace the jail's root" },
	{ "chroot", "change root again (the classic chroot escape needs it)" },
	{ "move_mount", "new mount API: attach mounts" },
	{ "open_tree", "new mount API: clone mount trees" },
	{ "fsopen", "new mount API: create a filesystem context" },
	{ "fsconfig", "new mount API: configure a filesystem context" },
	{ "fsmount", "new mount API: create a mount" },
	{ "fspick", "new mount API: reconfigure a mounted filesystem" },
	{ "mount_setattr", "change mount flags (e.g. drop nosuid/ro)" },
	/* Namespaces: the jail's namespaces are final. */
	{ "unshare", "leave the jail's namespaces (and create user namespaces)" },
	{ "setns", "join other namespaces" },
	/* Other processes. */
	{ "ptrace", "inspect or control other processes" },
	{ "process_vm_readv", "read another process's memory" },
	{ "process_vm_writev", "write another process's memory" },
	{ "pidfd_getfd", "steal another process's file descriptors" },
	{ "tkill", "signal a thread of any process (glibc uses tgkill)" },
	/* Loading code into the kernel or replacing it. */
	{ "kexec_load", "boot another kernel" },
	{ "kexec_file_load", "boot another kernel" },
	{ "init_module", "load a kernel module" },
	{ "finit_module", "load a kernel module" },
	{ "delete_module", "unload a kernel module" },
	{ "bpf", "load eBPF programs (large kernel attack surface)" },
	{ "perf_event_open", "kernel/hardware introspection, large attack surface" },
	{ "uselib", "obsolete library loader" },
	/* Kernel keyrings: shared kernel state, frequent CVE source. */
	{ "keyctl", "kernel keyring access" },
	{ "add_key", "kernel keyring access" },
	{ "request_key", "kernel keyring access" },
	/* Host-wide state. */
	{ "reboot", "reboot or halt the host" },
	{ "swapon", "change host swap" },
	{ "swapoff", "change host swap" },
	{ "acct", "switch process accounting" },
	{ "settimeofday", "set the host clock" },
	{ "clock_settime", "set the host clock" },
	{ "clock_adjtime", "adjust the host clock" },
	{ "adjtimex", "adjust the host clock" },
	{ "sethostname", "rename the host (UTS)" },
	{ "setdomainname", "rename the host (UTS)" },
	{ "syslog", "read or clear the kernel log" },
	{ "vhangup", "hang up the controlling terminal" },
	{ "quotactl", "filesystem quota administration" },
	{ "quotactl_fd", "filesystem quota administration" },
	{ "iopl", "raw I/O port access" },
	{ "ioperm", "raw I/O port access" },
	/* File handles bypass path-based confinement (the "shocker" escape). */
	{ "open_by_handle_at", "open files by handle, outside the jail's root" },
	{ "name_to_handle_at", "produce handles for open_by_handle_at" },
	/* Execution domain changes (e.g. READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE). */
	{ "personality", "weaken ASLR / NX for exec'd code" },
	/* Signals and handles towards other processes (kill and tgkill are
	 * allowed towards the VMM's own pid only, below). */
	{ "rt_sigqueueinfo", "queue a signal to another process" },
	{ "rt_tgsigqueueinfo", "queue a signal to a thread of another process" },
	{ "pidfd_open", "a handle on another process (then pidfd_send_signal)" },
	{ "pidfd_send_signal", "signal a process through a pidfd" },
	/* New programs and executable files: execve is allowed (the jailer's
	 * exec goes through the filter), so nothing may become executable. */
	{ "execveat", "exec an fd (a memfd) instead of a path" },
	{ "fork", "a new process (wisp only makes threads)" },
	{ "vfork", "a new process (wisp only makes threads)" },
	{ "chmod", "make a file in the jail executable" },
	{ "fchmod", "make a file in the jail executable" },
	{ "fchmodat", "make a file in the jail executable" },
	{ "pkey_mprotect", "change page protection (bypasses the mprotect rule)" },
	/* Other address families than AF_UNIX go through socket (argument rule);
	 * these have no use at all. */
	{ "socketpair", "not needed" },
	{ "mknodat", "create device nodes" },
	{ "mknod", "create device nodes" },
};
const size_t jailer_n_denied_syscalls =
	sizeof(jailer_denied_syscalls) / sizeof(jailer_denied_syscalls[0]);

/* Allowed only with the jailed process's own pid as first argument. */
const struct jailer_denied_syscall jailer_self_only_syscalls[] = {
	{ "kill", "raise() of old glibc; another process (pid, group or -1) is killed" },
	{ "tgkill", "abort(), vCPU kicks (SIGRTMIN); a thread of another process is killed" },
};
const size_t jailer_n_self_only_syscalls =
	sizeof(jailer_self_only_syscalls) / sizeof(jailer_self_only_syscalls[0]);

static int add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned ncmp,
		    const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name);
	int r;

	if (nr == __NR_SCMP_ERROR)
		return 0;  /* unknown to this libseccomp: nothing to allow */
	r = seccomp_rule_add_array(ctx, action, nr, ncmp, cmp);
	if (r < 0)
		return jailer_set_error(-r, "Failed to build the seccomp filter: rule for %s: %s",
					name, jailer_os_error(r));
	return 0;
}

int jailer_seccomp_build(scmp_filter_ctx *out)
{
	scmp_filter_ctx ctx;
	pid_t self = getpid();
	int r;

	*out = NULL;
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return jailer_set_error(ENOMEM, "Failed to build the seccomp filter: seccomp_init");
	/* A syscall made through another ABI (int 0x80, x32) is killed. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		goto fail_attr;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r < 0)
		goto fail_attr;

	for (size_t i = 0; i < jailer_n_allowed_syscalls; i++) {
		const struct jailer_allowed_syscall *a = &jailer_allowed_syscalls[i];

		if ((r = add_rule(ctx, SCMP_ACT_ALLOW, a->name, a->ncmp, a->cmp)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < jailer_n_allowed_ioctls; i++) {
		struct scmp_arg_cmp req = A32_EQ(1, jailer_allowed_ioctls[i].req);

		if ((r = add_rule(ctx, SCMP_ACT_ALLOW, "ioctl", 1, &req)) < 0)
			goto fail;
	}
	for (size_t i = 0; i < jailer_n_self_only_syscalls; i++) {
		struct scmp_arg_cmp own = A32_EQ(0, (uint32_t)self);

		if ((r = add_rule(ctx, SCMP_ACT_ALLOW, jailer_self_only_syscalls[i].name, 1, &own)) < 0)
			goto fail;
	}
	/* glibc's pthread_create tries clone3 first and falls back to clone
	 * on ENOSYS; clone3's flags are behind a pointer, clone's are not. */
	if ((r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL)) < 0)
		goto fail;
	*out = ctx;
	return 0;

fail:
	seccomp_release(ctx);
	return r;
fail_attr:
	seccomp_release(ctx);
	return jailer_set_error(-r, "Failed to build the seccomp filter: attribute: %s",
				jailer_os_error(r));
}
