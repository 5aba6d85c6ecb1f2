/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signals.c — Firecracker's fatal-signal handling (src/vmm/src/
 * signal_handler.rs): on SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU, SIGHUP and
 * SIGILL, on whichever thread gets it, wisp sets signals.<name> = 1 in the
 * metrics, logs "Shutting down VM after intercepting signal N, code C.",
 * writes a last metrics line and exits with Firecracker's code for the
 * signal (wisp_fatal_signal_exit_code). SIGPIPE is counted and logged and
 * wisp goes on. SIGSYS (seccomp's trap) is handled in vmm/seccomp/seccomp.c.
 *
 * The handler is async-signal-safe: it allocates nothing and never waits on
 * a lock for long (log_msg_from_signal, metrics_flush_from_signal); it only
 * makes calls every thread's seccomp filter allows (write, futex,
 * clock_gettime, exit_group). While it runs, the other fatal signals are
 * blocked on its thread (a SIGXFSZ raised by its own write past
 * RLIMIT_FSIZE then fails that write with EFBIG instead of nesting).
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "vmm.h"
#include "vmm_ctl.h"

/* Firecracker's FcExitCode (src/vmm/src/lib.rs) for each fatal signal. */
static const struct {
	int signo;
	int code;
} fatal[] = {
	{ SIGBUS, 149 }, { SIGSEGV, 150 }, { SIGXFSZ, 151 },
	{ SIGXCPU, 154 }, { SIGHUP, 156 }, { SIGILL, 157 },
};

#define FATAL_N (sizeof(fatal) / sizeof(fatal[0]))
#define EXIT_UNEXPECTED 2   /* FcExitCode::UnexpectedError */

int wisp_fatal_signal_exit_code(int signo)
{
	for (unsigned i = 0; i < FATAL_N; i++)
		if (fatal[i].signo == signo)
			return fatal[i].code;
	return -1;
}

static atomic_int g_entered;

static void on_fatal(int sig, siginfo_t *si, void *uctx)
{
	int code = wisp_fatal_signal_exit_code(sig);

	(void)uctx;
	/* Another thread is already ending the process: let it. (A fault
	 * taken again on return is taken until its exit_group.) */
	if (atomic_exchange(&g_entered, 1))
		return;
	if (code < 0 || !si || si->si_signo != sig) {
		metrics_flush_from_signal();
		_exit(EXIT_UNEXPECTED);
	}
	metrics_note_signal(sig);
	log_msg_from_signal(LOG_ERROR, __FILE__, __LINE__,
			    "Shutting down VM after intercepting signal %d, code %d.", si->si_signo,
			    si->si_code);
	metrics_flush_from_signal();
	_exit(code);
}

/* A write to a pipe or socket nobody reads: the write fails with EPIPE
 * and wisp goes on; the signal is counted (signals.sigpipe) and logged as
 * Firecracker does ("Received signal 13, code C."), but only the 1st, 2nd,
 * 4th, 8th... time: whatever makes a write hit a closed pipe may repeat. */
static void on_sigpipe(int sig, siginfo_t *si, void *uctx)
{
	static atomic_ulong count;
	unsigned long n = atomic_fetch_add(&count, 1) + 1;
	int saved = errno;

	(void)uctx;
	metrics_note_signal(sig);
	if ((n & (n - 1)) == 0)
		log_msg_from_signal(LOG_ERROR, __FILE__, __LINE__, "Received signal %d, code %d.",
				    si ? si->si_signo : sig, si ? si->si_code : 0);
	errno = saved;
}

/* Signal 35: Firecracker's vCPU kick signal (SIGRTMIN under musl), which
 * its own tests send to the process and expect the VM to live through
 * (functional/test_signals.py::test_handled_signals). Under glibc SIGRTMIN
 * is 34 (wisp's kick) and 35 would end the process: it is handled here,
 * doing nothing (a vCPU thread's KVM_RUN returns EINTR and runs again). */
#define FC_KICK_SIGNAL 35

static void on_ignored(int sig)
{
	(void)sig;
}

int wisp_fatal_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigpipe;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		signal(SIGPIPE, SIG_IGN);
	if (FC_KICK_SIGNAL != SIGRTMIN && FC_KICK_SIGNAL <= SIGRTMAX) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_ignored;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		(void)sigaction(FC_KICK_SIGNAL, &sa, NULL);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fatal;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < FATAL_N; i++)
		sigaddset(&sa.sa_mask, fatal[i].signo);
	for (unsigned i = 0; i < FATAL_N; i++) {
		if (sigaction(fatal[i].signo, &sa, NULL) < 0) {
			int e = errno;

			log_error("sigaction(%s): %s", strsignal(fatal[i].signo), strerror(e));
			return -e;
		}
	}
	return 0;
}
