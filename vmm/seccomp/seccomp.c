/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp.c — wisp's per-thread seccomp filters: the built-in allow-lists
 * of the three thread roles, compiling a filter to BPF with libseccomp,
 * installing it on one thread, and the process-level set-up (built-in or
 * --seccomp-filter policy, --no-seccomp, the SIGSYS report for "trap").
 *
 * When each role installs its filter (Firecracker's order):
 *  - api: on the api thread, before it accepts its first connection;
 *  - vcpu: on each vCPU thread, before its first KVM_RUN;
 *  - vmm: on the VMM thread once the VM is built and its vCPU threads exist,
 *    before any vCPU runs a guest instruction and before the event loop
 *    serves a guest event. Filters are inherited by threads created later,
 *    so the VMM thread must not be filtered while it still creates vCPU
 *    threads: its list would then have to hold KVM_RUN and clone.
 * docs/seccomp.md lists every system call with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <linux/io_uring.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <seccomp.h>

#include "vmm.h"
#include "vmm_seccomp.h"

/* Exit status after a "trap" action reported the call (Firecracker's
 * FcExitCode::BadSyscall). */
#define SC_EXIT_BAD_SYSCALL 148

/* ------------------------------------------------------------------ */
/* The built-in lists                                                  */
/* ------------------------------------------------------------------ */

struct builtin_cond {
	unsigned index;
	bool qword;
	enum sc_op op;
	uint64_t mask, val;
	const char *comment;
};

struct builtin_rule {
	const char *syscall;
	const char *why;
	unsigned ncond;
	struct builtin_cond c[2];
};

/* O_TMPFILE's own bit: glibc's __O_TMPFILE also holds O_DIRECTORY, which
 * would refuse opening a directory (snapshot create fsyncs one). */
#define O_TMPFILE_BIT 020000000

/* Placeholder replaced by SIGRTMIN (not a constant in glibc). */
#define VAL_SIGRTMIN UINT64_MAX

#define ALLOW(name, why) { name, why, 0, { { 0 } } }
/* The comment is the constant's name as written (#v before expansion). */
#define ARG_EQ_NAMED(name, idx, v, vname, why) \
	{ name, why, 1, { { idx, false, SC_OP_EQ, 0, v, vname } } }
#define ARG_EQ(name, idx, v, why) ARG_EQ_NAMED(name, idx, v, #v, why)
#define IOCTL(req, why) ARG_EQ_NAMED("ioctl", 1, req, #req, why)
#define FUTEX(op) ARG_EQ_NAMED("futex", 1, op, #op, "pthread mutexes, condition variables and joins")
#define NO_EXEC(name, idx, why) \
	{ name, why, 1, { { idx, false, SC_OP_MASKED_EQ, PROT_EXEC, 0, "PROT_EXEC clear" } } }

/* Every role: what glibc itself does on any thread (malloc, locks, signals,
 * thread exit) and what the logger does. */
static const struct builtin_rule common_rules[] = {
	ALLOW("write", "log lines, eventfd signals"),
	FUTEX(FUTEX_WAIT),
	FUTEX(FUTEX_WAKE),
	FUTEX(FUTEX_WAIT_PRIVATE),
	FUTEX(FUTEX_WAKE_PRIVATE),
	FUTEX(FUTEX_WAIT_BITSET),
	FUTEX(FUTEX_WAIT_BITSET_PRIVATE),
	FUTEX(FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME),
	FUTEX(FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME),
	NO_EXEC("mmap", 2, "malloc of large blocks; never executable memory"),
	ALLOW("munmap", "free of large blocks"),
	ALLOW("mremap", "realloc of large blocks"),
	ALLOW("brk", "malloc's heap (one arena: M_ARENA_MAX=1)"),
	ARG_EQ("madvise", 2, MADV_DONTNEED, "free() trimming, a thread's stack at its exit"),
	ALLOW("rt_sigprocmask", "glibc masks signals around pthread_kill/abort and at thread exit"),
	ALLOW("rt_sigreturn", "return from a signal handler (vCPU kick)"),
	ALLOW("getpid", "raise()/pthread_kill() pass the tgid to tgkill"),
	ARG_EQ("tgkill", 2, SIGABRT, "abort() still ends the process with SIGABRT"),
	ALLOW("gettid", "abort()/raise() on the calling thread: glibc's pthread_kill asks the kernel for the tid (Firecracker's test_seccomp_rust_panic)"),
	ALLOW("clock_gettime", "CPU-time clocks (boot timer, metrics); log time when the vDSO cannot answer"),
	ALLOW("restart_syscall", "the kernel restarts a call interrupted by SIGSTOP/SIGCONT"),
	ALLOW("exit", "a thread ends"),
	ALLOW("exit_group", "the process ends (also after a reported SIGSYS)"),
};

/* The VMM thread after boot: the event loop and the devices' host side. */
static const struct builtin_rule vmm_rules[] = {
	ALLOW("epoll_wait", "the event loop"),
	ALLOW("epoll_ctl", "devices (de)arm their fds in the event loop"),
	ALLOW("read", "eventfds (queue notify, VM exit, API queue), signalfd, timerfd, tap RX, console input"),
	ALLOW("writev", "virtio-net TX to the tap"),
	ALLOW("preadv", "virtio-blk Sync engine reads"),
	ALLOW("pwritev", "virtio-blk Sync engine writes"),
	ALLOW("fdatasync", "virtio-blk flush (Sync engine, Writeback cache)"),
	/* The ring itself is restricted (blk_uring.c): READV/WRITEV/FSYNC on its
	 * registered file only; liburing enters with flags 0 (submit) or
	 * GETEVENTS (wait), never EXT_ARG/REGISTERED_RING/SQ_WAKEUP. */
	ARG_EQ("io_uring_enter", 3, 0, "virtio-blk Async engine: submit"),
	ARG_EQ("io_uring_enter", 3, IORING_ENTER_GETEVENTS, "virtio-blk Async engine: wait for completions (drain)"),
	ARG_EQ("io_uring_register", 1, IORING_REGISTER_FILES_UPDATE, "PATCH /drives: the new image becomes the Async ring's registered file"),
	ARG_EQ("madvise", 2, MADV_REMOVE, "virtio-balloon: free inflated guest pages of the memfd (punch a hole)"),
	{ "openat", "PATCH /drives path_on_host: open the new image (never creates a file)", 1,
	  { { 2, false, SC_OP_MASKED_EQ, O_CREAT | O_TMPFILE_BIT, 0, "no O_CREAT, no O_TMPFILE" } } },
	{ "openat", "snapshot create: a new temporary file (O_EXCL: never an existing file)", 1,
	  { { 2, false, SC_OP_MASKED_EQ, O_CREAT | O_EXCL | O_TMPFILE_BIT, O_CREAT | O_EXCL,
	      "O_CREAT with O_EXCL, no O_TMPFILE" } } },
	ARG_EQ("fcntl", 1, F_GETFL, "PATCH /drives: a new image is opened O_NONBLOCK (a FIFO must not hang the VMM), then cleared"),
	ARG_EQ("fcntl", 1, F_SETFL, "PATCH /drives: clear O_NONBLOCK on the new image"),
	ALLOW("getrandom", "snapshot create: mkostemp's random temporary name"),
	ALLOW("pwrite64", "snapshot create: the state and memory files"),
	ALLOW("ftruncate", "snapshot create: size the (sparse) memory file"),
	ALLOW("fsync", "snapshot create: files and their directory reach the disk before rename"),
	ALLOW("rename", "snapshot create: a complete temporary file takes its final name"),
	IOCTL(KVM_CHECK_EXTENSION, "snapshot create: the XSAVE2 buffer size"),
	IOCTL(KVM_GET_MSR_INDEX_LIST, "snapshot create: the MSRs to save (first snapshot only)"),
	IOCTL(KVM_GET_REGS, "snapshot create: vCPU registers"),
	IOCTL(KVM_GET_SREGS, "snapshot create: vCPU segment and control registers"),
	IOCTL(KVM_GET_XSAVE, "snapshot create: vCPU FPU/SSE/AVX state (kernels without XSAVE2)"),
	IOCTL(KVM_GET_XSAVE2, "snapshot create: vCPU FPU/SSE/AVX state"),
	IOCTL(KVM_GET_XCRS, "snapshot create: vCPU extended control registers"),
	IOCTL(KVM_GET_DEBUGREGS, "snapshot create: vCPU debug registers"),
	IOCTL(KVM_GET_LAPIC, "snapshot create: vCPU local APIC"),
	IOCTL(KVM_GET_MSRS, "snapshot create: vCPU MSRs"),
	IOCTL(KVM_GET_CPUID2, "snapshot create: vCPU CPUID"),
	IOCTL(KVM_GET_MP_STATE, "snapshot create: vCPU run state"),
	IOCTL(KVM_GET_VCPU_EVENTS, "snapshot create: vCPU pending events"),
	IOCTL(KVM_GET_TSC_KHZ, "snapshot create: vCPU TSC frequency"),
	IOCTL(KVM_GET_IRQCHIP, "snapshot create: PICs and IOAPIC"),
	IOCTL(KVM_GET_PIT2, "snapshot create: the PIT"),
	IOCTL(KVM_GET_CLOCK, "snapshot create: kvmclock"),
	IOCTL(KVM_GET_DIRTY_LOG, "Diff snapshots: the pages the vCPUs wrote"),
	IOCTL(KVM_CLEAR_DIRTY_LOG, "Diff snapshots: start a new dirty interval (manual protection)"),
	IOCTL(UFFDIO_COPY, "working-set record: a page of the memory file into guest memory"),
	IOCTL(UFFDIO_ZEROPAGE, "working-set record: a zero page of the memory file"),
	ARG_EQ("newfstatat", 3, AT_EMPTY_PATH, "fstat() of an open fd (new drive image, metrics file)"),
	ALLOW("lseek", "size a new drive image"),
	ALLOW("close", "fds of replaced images, device and VM teardown"),
	ARG_EQ("tgkill", 2, VAL_SIGRTMIN, "kick vCPUs out of KVM_RUN (pause, stop)"),
	IOCTL(TCGETS, "isatty() / terminal state on exit"),
	IOCTL(TCSETS, "restore the terminal's settings on exit"),
	ALLOW("unlink", "remove the API socket on exit"),
	ALLOW("timerfd_settime", "(dis)arm device timers: rate-limiter refill (blk, net, entropy), vsock CONNECT/REQUEST/SHUTDOWN timeouts, balloon statistics interval"),
	ARG_EQ("accept4", 3, SOCK_NONBLOCK | SOCK_CLOEXEC, "vsock: host connections to uds_path"),
	{ "socket", "vsock: a guest connection to <uds_path>_<port> (AF_UNIX stream only)", 2,
	  { { 0, false, SC_OP_EQ, 0, AF_UNIX, "AF_UNIX" },
	    { 1, false, SC_OP_EQ, 0, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	      "SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC" } } },
	ALLOW("connect", "vsock: connect the AF_UNIX socket above to <uds_path>_<port>"),
	ARG_EQ("shutdown", 1, SHUT_WR, "vsock: the guest sends no more (SHUTDOWN) on a connection"),
	ALLOW("readv", "vsock: host socket bytes straight into the guest's RX buffers"),
};

/* The api thread: HTTP on the Unix socket and the queue to the VMM thread. */
static const struct builtin_rule api_rules[] = {
	ALLOW("epoll_wait", "the api thread's event loop"),
	ALLOW("epoll_ctl", "watch connections"),
	ARG_EQ("accept4", 3, SOCK_NONBLOCK | SOCK_CLOEXEC, "accept API connections"),
	ALLOW("recvfrom", "read requests (recv)"),
	ALLOW("sendto", "write responses (send)"),
	ALLOW("read", "eventfds (responses ready, stop)"),
	ALLOW("close", "close connections"),
};

/* vCPU threads: KVM_RUN and the exits handled on them. */
static const struct builtin_rule vcpu_rules[] = {
	IOCTL(KVM_RUN, "run the vCPU"),
	IOCTL(KVM_GET_REGS, "the guest RIP in a crash report"),
	IOCTL(TUNSETOFFLOAD, "virtio-net activation (the guest's DRIVER_OK write)"),
	ALLOW("epoll_ctl", "serial input and tap (re)armed from register writes"),
};

static const struct {
	const struct builtin_rule *rules;
	size_t n;
} role_rules[SC_NR_ROLES] = {
	[SC_ROLE_VMM] = { vmm_rules, sizeof(vmm_rules) / sizeof(vmm_rules[0]) },
	[SC_ROLE_API] = { api_rules, sizeof(api_rules) / sizeof(api_rules[0]) },
	[SC_ROLE_VCPU] = { vcpu_rules, sizeof(vcpu_rules) / sizeof(vcpu_rules[0]) },
};

static const char *const role_names[SC_NR_ROLES] = {
	[SC_ROLE_VMM] = "vmm", [SC_ROLE_API] = "api", [SC_ROLE_VCPU] = "vcpu",
};

const char *sc_role_name(enum sc_role role)
{
	return (unsigned)role < SC_NR_ROLES ? role_names[role] : "?";
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

static bool copy_builtin(struct sc_rule *r, const struct builtin_rule *b)
{
	bool oom = false;

	memset(r, 0, sizeof(*r));
	r->syscall = dup_or_null(b->syscall, &oom);
	r->comment = dup_or_null(b->why, &oom);
	r->ncond = b->ncond;
	for (unsigned i = 0; i < b->ncond; i++) {
		struct sc_cond *c = &r->cond[i];

		c->index = b->c[i].index;
		c->qword = b->c[i].qword;
		c->op = b->c[i].op;
		c->mask = b->c[i].mask;
		c->val = b->c[i].val == VAL_SIGRTMIN ? (uint64_t)SIGRTMIN : b->c[i].val;
		c->comment = dup_or_null(b->c[i].val == VAL_SIGRTMIN ? "SIGRTMIN" : b->c[i].comment,
					 &oom);
	}
	return !oom;
}

int sc_policy_default(struct sc_policy *p)
{
	const size_t ncommon = sizeof(common_rules) / sizeof(common_rules[0]);

	memset(p, 0, sizeof(*p));
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		struct sc_filter *f = &p->role[role];
		size_t n = role_rules[role].n + ncommon;

		/* trap, as Firecracker's default filters: the SIGSYS handler
		 * logs the call and exits 148 (docs/seccomp.md) */
		f->default_action.kind = SC_ACT_TRAP;
		f->filter_action.kind = SC_ACT_ALLOW;
		f->rules = calloc(n, sizeof(*f->rules));
		if (!f->rules)
			goto oom;
		/* nrules counts a half-copied rule too, so sc_policy_free frees it */
		for (size_t i = 0; i < role_rules[role].n; i++)
			if (!copy_builtin(&f->rules[f->nrules++], &role_rules[role].rules[i]))
				goto oom;
		for (size_t i = 0; i < ncommon; i++)
			if (!copy_builtin(&f->rules[f->nrules++], &common_rules[i]))
				goto oom;
	}
	return 0;
oom:
	sc_policy_free(p);
	return -ENOMEM;
}

void sc_policy_free(struct sc_policy *p)
{
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		struct sc_filter *f = &p->role[role];

		for (unsigned i = 0; f->rules && i < f->nrules; i++) {
			struct sc_rule *r = &f->rules[i];

			free(r->syscall);
			free(r->comment);
			for (unsigned c = 0; c < SC_MAX_CONDS; c++)
				free(r->cond[c].comment);
		}
		free(f->rules);
	}
	memset(p, 0, sizeof(*p));
}

unsigned sc_filter_syscall_count(const struct sc_filter *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->nrules; i++) {
		bool seen = false;

		for (unsigned j = 0; j < i && !seen; j++)
			seen = !strcmp(f->rules[i].syscall, f->rules[j].syscall);
		n += !seen;
	}
	return n;
}

bool sc_filter_has(const struct sc_filter *f, const char *syscall)
{
	for (unsigned i = 0; i < f->nrules; i++)
		if (!strcmp(f->rules[i].syscall, syscall))
			return true;
	return false;
}

int sc_syscall_nr(const char *name)
{
	int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);

	return nr < 0 ? -1 : nr;
}

/* ------------------------------------------------------------------ */
/* Compiling                                                           */
/* ------------------------------------------------------------------ */

static uint32_t scmp_action(struct sc_action a)
{
	switch (a.kind) {
	case SC_ACT_ALLOW: return SCMP_ACT_ALLOW;
	case SC_ACT_ERRNO: return SCMP_ACT_ERRNO(a.data);
	case SC_ACT_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case SC_ACT_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SC_ACT_LOG: return SCMP_ACT_LOG;
	case SC_ACT_TRACE: return SCMP_ACT_TRACE(a.data);
	case SC_ACT_TRAP: return SCMP_ACT_TRAP;
	}
	return SCMP_ACT_KILL_PROCESS;
}

static struct scmp_arg_cmp scmp_cond(const struct sc_cond *c)
{
	static const enum scmp_compare ops[] = {
		[SC_OP_EQ] = SCMP_CMP_EQ, [SC_OP_NE] = SCMP_CMP_NE, [SC_OP_LT] = SCMP_CMP_LT,
		[SC_OP_LE] = SCMP_CMP_LE, [SC_OP_GT] = SCMP_CMP_GT, [SC_OP_GE] = SCMP_CMP_GE,
		[SC_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};
	struct scmp_arg_cmp a = { .arg = c->index, .op = ops[c->op], .datum_a = c->val };

	if (c->op == SC_OP_MASKED_EQ) {
		a.datum_a = c->qword ? c->mask : c->mask & 0xffffffffu;
		a.datum_b = c->val;
	} else if (c->op == SC_OP_EQ && !c->qword) {
		/* A dword is the low half: the upper 32 bits of the register
		 * are not looked at (the kernel truncates them too). */
		a.op = SCMP_CMP_MASKED_EQ;
		a.datum_a = 0xffffffffu;
		a.datum_b = c->val;
	}
	return a;
}

int sc_filter_compile(const struct sc_filter *f, struct sc_bpf *out, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int fd = -1, r;
	off_t size;

	memset(out, 0, sizeof(*out));
	if (f->default_action.kind == f->filter_action.kind &&
	    f->default_action.data == f->filter_action.data) {
		snprintf(err, errlen, "filter_action is the same as default_action");
		return -EINVAL;
	}
	ctx = seccomp_init(scmp_action(f->default_action));
	if (!ctx) {
		snprintf(err, errlen, "libseccomp: cannot create a filter");
		return -ENOMEM;
	}
	/* i386 (int 0x80) and x32 system calls never pass. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0) {
		snprintf(err, errlen, "libseccomp: bad-arch action: %s", strerror(-r));
		goto out;
	}
	for (unsigned i = 0; i < f->nrules; i++) {
		const struct sc_rule *rule = &f->rules[i];
		struct scmp_arg_cmp cmp[SC_MAX_CONDS];
		int nr = sc_syscall_nr(rule->syscall);

		if (nr < 0) {
			snprintf(err, errlen, "filter[%u]: unknown system call \"%s\"", i, rule->syscall);
			r = -EINVAL;
			goto out;
		}
		for (unsigned c = 0; c < rule->ncond; c++)
			cmp[c] = scmp_cond(&rule->cond[c]);
		r = seccomp_rule_add_exact_array(ctx, scmp_action(f->filter_action), nr, rule->ncond,
						 cmp);
		if (r < 0) {
			snprintf(err, errlen, "filter[%u] (\"%s\"): libseccomp refused the rule: %s", i,
				 rule->syscall, strerror(-r));
			goto out;
		}
	}
	fd = memfd_create("wisp-seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "memfd_create: %s", strerror(errno));
		goto out;
	}
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0) {
		snprintf(err, errlen, "libseccomp: cannot export the BPF program: %s", strerror(-r));
		goto out;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) ||
	    size / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		snprintf(err, errlen, "the BPF program has %lld instructions (the kernel takes 1 to %d)",
			 (long long)(size / (off_t)sizeof(struct sock_filter)), BPF_MAXINSNS);
		r = -E2BIG;
		goto out;
	}
	out->insns = malloc((size_t)size);
	if (!out->insns) {
		r = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (pread(fd, out->insns, (size_t)size, 0) != size) {
		r = -EIO;
		snprintf(err, errlen, "cannot read the BPF program back");
		sc_bpf_free(out);
		goto out;
	}
	out->len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return r;
}

void sc_bpf_free(struct sc_bpf *b)
{
	free(b->insns);
	b->insns = NULL;
	b->len = 0;
}

int sc_bpf_apply(const struct sc_bpf *b)
{
	struct sock_fprog prog = { .len = b->len, .filter = b->insns };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	/* flags 0: this thread only (no SECCOMP_FILTER_FLAG_TSYNC). */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return -errno;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The process                                                         */
/* ------------------------------------------------------------------ */

static struct {
	bool enabled;
	struct sc_bpf bpf[SC_NR_ROLES];
	char *names[512];                 /* x86_64 syscall names, for the SIGSYS report */
} g;

static __thread int t_role = -1;

bool wisp_seccomp_enabled(void)
{
	return g.enabled;
}

/* The metrics module is part of the wisp binary only (not of the unit
 * tests that link this library): weak references, NULL there. */
extern void metrics_note_signal(int signo) __attribute__((weak));
extern int metrics_flush_from_signal(void) __attribute__((weak));

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1          /* si_code of a seccomp SIGSYS */
#endif

/* Firecracker's FcExitCode::UnexpectedError (a SIGSYS that is not a
 * seccomp report). */
#define SC_EXIT_UNEXPECTED 2

/* A "trap" action (Firecracker's sigsys_handler, signal_handler.rs): count
 * seccomp.num_faults, log Firecracker's two lines (and which thread and
 * call, by name), write a last metrics line, exit 148. Runs on the thread
 * that made the call, under that thread's filter: it only uses calls every
 * role allows (write, futex, clock_gettime, exit_group), allocates nothing,
 * and never waits on the logger's lock for long (log_msg_from_signal). */
static void on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	static atomic_flag entered = ATOMIC_FLAG_INIT;
	int nr = si->si_syscall;
	const char *name = NULL;

	(void)uctx;
	/* One thread ends the process; a second trapped thread (several vCPUs
	 * driven into the same forbidden call) must neither share the metrics
	 * buffer nor return into a call that was not made: it waits, making no
	 * system call, for the first one's exit_group. */
	if (atomic_flag_test_and_set(&entered))
		for (;;)
			__builtin_ia32_pause();
	if (sig != SIGSYS || si->si_signo != SIGSYS) {
		if (metrics_flush_from_signal)
			metrics_flush_from_signal();
		_exit(SC_EXIT_UNEXPECTED);
	}
	if (metrics_note_signal)
		metrics_note_signal(SIGSYS);
	log_msg_from_signal(LOG_ERROR, __FILE__, __LINE__,
			    "Shutting down VM after intercepting signal %d, code %d.", si->si_signo,
			    si->si_code);
	if (si->si_code != SYS_SECCOMP) {
		if (metrics_flush_from_signal)
			metrics_flush_from_signal();
		_exit(SC_EXIT_UNEXPECTED);
	}
	log_msg_from_signal(LOG_ERROR, __FILE__, __LINE__,
			    "Shutting down VM after intercepting a bad syscall (%d).", nr);
	if (nr >= 0 && (size_t)nr < sizeof(g.names) / sizeof(g.names[0]))
		name = g.names[nr];
	log_msg_from_signal(LOG_ERROR, __FILE__, __LINE__,
			    "seccomp: the %s thread's filter trapped system call %d (%s)",
			    t_role >= 0 ? role_names[t_role] : "unfiltered", nr, name ? name : "?");
	if (metrics_flush_from_signal)
		metrics_flush_from_signal();
	_exit(SC_EXIT_BAD_SYSCALL);
}

static void load_names(void)
{
	for (int nr = 0; nr < (int)(sizeof(g.names) / sizeof(g.names[0])); nr++)
		g.names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
}

/* Sanitizer runtimes make system calls of their own (LeakSanitizer's exit
 * scan ptraces the process), so those builds run unfiltered. */
#if defined(__SANITIZE_ADDRESS__)
#define SC_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SC_SANITIZER_BUILD 1
#endif
#endif

static int read_small_file(const char *path, uint8_t **buf, size_t *len, size_t max, char *err,
			   size_t errlen)
{
	FILE *f = fopen(path, "re");
	int r = 0;

	*buf = NULL;
	*len = 0;
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "Filter file open error: %s", strerror(errno));
		return r;
	}
	*buf = malloc(max + 1);
	if (!*buf) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*len = fread(*buf, 1, max + 1, f);
	if (ferror(f)) {
		r = -EIO;
		snprintf(err, errlen, "Filter file read error: %s", strerror(errno));
	}
	fclose(f);
	return r;
}

/* Firecracker's compiled file: every program is checked now (the kernel's
 * rules, sc_bpf_check), so a bad one stops wisp at start-up rather than
 * when its thread starts (which the kernel still has the last word on). */
static int load_compiled(const char *path, const uint8_t *buf, size_t len)
{
	struct sc_bpfmap m;
	enum sc_bpfmap_format fmt;
	char err[768], perr[256];
	int r;

	if (sc_bpfmap_parse(buf, len, &m, err, sizeof(err)) < 0) {
		log_error("Seccomp error: Filter deserialization failed: --seccomp-filter %s: %s",
			  path, err);
		return -EBADMSG;
	}
	fmt = m.format;
	r = sc_bpfmap_take_roles(&m, g.bpf, err, sizeof(err));
	sc_bpfmap_free(&m);
	if (r < 0) {
		log_error("Seccomp error: %s (--seccomp-filter %s)", err, path);
		return -EBADMSG;
	}
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		if (!g.bpf[role].len) {
			log_warn("--seccomp-filter %s: the %s program is empty: %s threads run "
				 "without a filter (as in Firecracker)", path, role_names[role],
				 role_names[role]);
			continue;
		}
		if (sc_bpf_check(&g.bpf[role], perr, sizeof(perr)) < 0) {
			log_error("Seccomp error: --seccomp-filter %s: the %s program is not a "
				  "valid seccomp program: %s", path, role_names[role], perr);
			for (unsigned k = 0; k < SC_NR_ROLES; k++)
				sc_bpf_free(&g.bpf[k]);
			return -EBADMSG;
		}
	}
	log_info("seccomp: --seccomp-filter %s: Firecracker's compiled format (%s): vmm %u, "
		 "api %u, vcpu %u instructions", path,
		 fmt == SC_BPFMAP_BITCODE ? "bitcode" : "bincode", g.bpf[SC_ROLE_VMM].len,
		 g.bpf[SC_ROLE_API].len, g.bpf[SC_ROLE_VCPU].len);
	return 0;
}

static int build_policy(const char *filter_path)
{
	struct sc_policy policy;
	char err[512];
	int r;

	if (filter_path) {
		r = sc_policy_load_file(filter_path, &policy, err, sizeof(err));
		if (r < 0) {
			log_error("--seccomp-filter %s: %s", filter_path, err);
			return -EINVAL;
		}
	} else if (sc_policy_default(&policy) < 0) {
		log_error("seccomp: out of memory");
		return -ENOMEM;
	}
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		r = sc_filter_compile(&policy.role[role], &g.bpf[role], err, sizeof(err));
		if (r < 0) {
			if (filter_path)
				log_error("--seccomp-filter %s: %s: %s", filter_path, role_names[role], err);
			else
				log_error("seccomp: built-in %s filter: %s", role_names[role], err);
			for (unsigned k = 0; k < role; k++)
				sc_bpf_free(&g.bpf[k]);
			sc_policy_free(&policy);
			return filter_path ? -EINVAL : r;
		}
	}
	sc_policy_free(&policy);
	return 0;
}

int wisp_seccomp_setup(bool disabled, const char *filter_path)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	int r;

	/* The handler for "trap" (the built-in filters trap, as Firecracker's),
	 * installed whatever the filters, as Firecracker's: a SIGSYS that is
	 * no seccomp report (kill -SYS) logs its line and exits 2. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		log_error("seccomp: sigaction(SIGSYS): %s", strerror(errno));
		return -errno;
	}
	if (disabled) {
		log_warn("--no-seccomp: no seccomp filter is installed; the VMM runs unconfined");
		return 0;
	}
	if (filter_path) {
		uint8_t *buf;
		size_t len;
		char err[256];

		r = read_small_file(filter_path, &buf, &len, SC_BPFMAP_MAX_FILE, err, sizeof(err));
		if (r < 0) {
			free(buf);
			log_error("Seccomp error: --seccomp-filter %s: %s", filter_path, err);
			return -EBADMSG;
		}
		/* wisp's JSON (seccompiler's input) or seccompiler-bin's output */
		if (sc_text_is_json(buf, len))
			r = build_policy(filter_path);
		else
			r = load_compiled(filter_path, buf, len);
		free(buf);
	} else {
		r = build_policy(NULL);
	}
	if (r < 0)
		return r;
#ifdef SC_SANITIZER_BUILD
	log_warn("seccomp: sanitizer build: the filters are built but not installed");
	for (unsigned role = 0; role < SC_NR_ROLES; role++)
		sc_bpf_free(&g.bpf[role]);
	return 0;
#endif
	load_names();   /* for the SIGSYS report */
	/* One malloc arena: glibc's per-thread arenas would need mprotect and
	 * open("/proc/sys/vm/overcommit_memory") on the filtered threads. */
	mallopt(M_ARENA_MAX, 1);
	/* jansson seeds its hash function from /dev/urandom on first use,
	 * which may be on the api thread: seed it now, unfiltered. */
	json_object_seed(0);
	g.enabled = true;
	return 0;
}

void wisp_seccomp_enter(enum sc_role role)
{
	int r;

	if (!g.enabled)
		return;
	if (!g.bpf[role].len) {
		/* an empty program in a compiled file: Firecracker installs none */
		log_debug("seccomp: no %s filter (empty program)", role_names[role]);
		return;
	}
	r = sc_bpf_apply(&g.bpf[role]);
	if (r < 0) {
		log_error("seccomp: cannot install the %s filter on this thread: %s",
			  role_names[role], strerror(-r));
		_exit(1);
	}
	t_role = (int)role;
	log_debug("seccomp: %s filter installed (%u instructions)", role_names[role],
		  g.bpf[role].len);
}

void wisp_seccomp_enter_api(void *unused)
{
	(void)unused;
	wisp_seccomp_enter(SC_ROLE_API);
}

void wisp_seccomp_enter_vcpu(void *unused)
{
	(void)unused;
	wisp_seccomp_enter(SC_ROLE_VCPU);
}

void wisp_seccomp_enter_vmm(void *unused)
{
	(void)unused;
	wisp_seccomp_enter(SC_ROLE_VMM);
}
