/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_filter.c — the jailer's coarse deny-list, installed just before
 * exec. It is not wisp's per-thread allow-list (that one is built by wisp);
 * it forbids, for the whole life of the jailed process and anything it
 * starts, the system calls no VMM needs and an attacker wants: changing the
 * mount tree or namespaces, reaching other processes, loading kernel code,
 * changing host-wide state. Default action: allow. docs/jailer.md lists the
 * same table.
 *
 * Signals go only to the jailed process itself: kill, tgkill,
 * rt_sigqueueinfo, rt_tgsigqueueinfo and pidfd_open with any other pid as
 * their first argument kill the caller, and tkill (which names a thread of
 * any process) is denied. The filter is built in the process that execs,
 * so getpid() is the pid the VMM runs with (1 in a new PID namespace). A
 * VMM run as root (--uid 0) can therefore not signal host processes.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "jailer.h"
#include "jailer_int.h"

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
};
const size_t jailer_n_denied_syscalls =
	sizeof(jailer_denied_syscalls) / sizeof(jailer_denied_syscalls[0]);

/* Allowed only with the jailed process's own pid as first argument. */
const struct jailer_denied_syscall jailer_self_only_syscalls[] = {
	{ "kill", "signal another process (pid, process group or -1)" },
	{ "tgkill", "signal a thread of another process" },
	{ "rt_sigqueueinfo", "queue a signal to another process" },
	{ "rt_tgsigqueueinfo", "queue a signal to a thread of another process" },
	{ "pidfd_open", "a handle on another process (then pidfd_send_signal)" },
};
const size_t jailer_n_self_only_syscalls =
	sizeof(jailer_self_only_syscalls) / sizeof(jailer_self_only_syscalls[0]);

/* clone() flags that would create namespaces: each gets its own rule
 * (libseccomp compares one masked value per rule). */
static const unsigned long clone_ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
	CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
};

int jailer_seccomp_build(scmp_filter_ctx *out)
{
	scmp_filter_ctx ctx;
	pid_t self = getpid();
	int r, nr;

	*out = NULL;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return jailer_set_error(ENOMEM, "Failed to build the seccomp filter: seccomp_init");
	/* A syscall made through another ABI (int 0x80, x32) is killed. */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r < 0)
		goto fail_attr;
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (r < 0)
		goto fail_attr;

	for (size_t i = 0; i < jailer_n_denied_syscalls; i++) {
		nr = seccomp_syscall_resolve_name(jailer_denied_syscalls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;  /* unknown to this libseccomp: not callable by name either */
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 0);
		if (r < 0) {
			seccomp_release(ctx);
			return jailer_set_error(-r, "Failed to build the seccomp filter: rule for "
						"%s: %s", jailer_denied_syscalls[i].name,
						jailer_os_error(r));
		}
	}
	for (size_t i = 0; i < sizeof(clone_ns_flags) / sizeof(clone_ns_flags[0]); i++) {
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
				     SCMP_A0(SCMP_CMP_MASKED_EQ, clone_ns_flags[i],
					     clone_ns_flags[i]));
		if (r < 0) {
			seccomp_release(ctx);
			return jailer_set_error(-r, "Failed to build the seccomp filter: clone rule: "
						"%s", jailer_os_error(r));
		}
	}
	for (size_t i = 0; i < jailer_n_self_only_syscalls; i++) {
		nr = seccomp_syscall_resolve_name(jailer_self_only_syscalls[i].name);
		if (nr == __NR_SCMP_ERROR)
			continue;
		struct scmp_arg_cmp not_self = {
			.arg = 0, .op = SCMP_CMP_NE, .datum_a = (scmp_datum_t)(uint32_t)self,
			.datum_b = 0,
		};

		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, nr, 1, not_self);
		if (r < 0) {
			seccomp_release(ctx);
			return jailer_set_error(-r, "Failed to build the seccomp filter: rule for "
						"%s: %s", jailer_self_only_syscalls[i].name,
						jailer_os_error(r));
		}
	}
	nr = seccomp_syscall_resolve_name("clone3");
	if (nr != __NR_SCMP_ERROR) {
		r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
		if (r < 0) {
			seccomp_release(ctx);
			return jailer_set_error(-r, "Failed to build the seccomp filter: clone3 rule: "
						"%s", jailer_os_error(r));
		}
	}
	*out = ctx;
	return 0;

fail_attr:
	seccomp_release(ctx);
	return jailer_set_error(-r, "Failed to build the seccomp filter: attribute: %s",
				jailer_os_error(r));
}
