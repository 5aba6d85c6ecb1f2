/* SPDX-License-Identifier: Apache-2.0 */
/* vmm_ctl.h — private to vmm/: the VMM thread (configuration, API requests,
 * VM lifetime) as driven by main.c. */
#ifndef WISP_VMM_CTL_H
#define WISP_VMM_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

/* Firecracker's default (whatever the binary is called): clients that run it
 * jailed without --api-sock expect <root>/run/firecracker.socket. */
#define WISP_DEFAULT_API_SOCK "/run/firecracker.socket"

struct wisp_args {
	char api_sock[108];
	bool api_sock_given;
	const char *config_file;
	bool no_api;
	char id[VM_ID_MAX + 1];
	bool boot_timer;
	enum log_level level;
	const char *log_path;
	bool show_level, show_origin;
	const char *metrics_path;
	bool no_seccomp;
	const char *seccomp_filter;
	uint64_t start_us, start_cpu_us;
	bool start_us_given, start_cpu_us_given;
	uint64_t max_payload;
	const char *describe_snapshot;
	bool version, help, snapshot_version;
};

struct vm;
struct evloop;
struct api_server;
struct api_request;
struct api_response;

/* The VMM thread's state. */
struct vmm {
	const struct wisp_args *args;
	struct vm_config cfg;        /* configuration being built before boot */
	struct vm *vm;               /* NULL until InstanceStart */
	struct evloop *loop;
	struct api_server *api;
	bool configured;             /* a boot-specific resource was configured */
	int signal_fd;
	bool done;
	int exit_code;
};

/* Build and start the VM from vmm->cfg; on failure err says why and nothing
 * changes (no VM). */
int vmm_start_vm(struct vmm *vmm, char *err, size_t errlen);
struct api_snapshot_load;
struct snapshot_times;
/* Build a VM from a snapshot and start it (paused unless resume_vm). On
 * an error before KVM state was touched nothing changes; after, the VMM
 * is marked done with exit status 1. err says why. */
int vmm_load_snapshot(struct vmm *vmm, const struct api_snapshot_load *p,
		      struct snapshot_times *t, char *err, size_t errlen);
/* Apply one typed API request (vmm_api.c), on the VMM thread. */
void vmm_api_handle(void *ctx, const struct api_request *req, struct api_response *resp);

/* Run the VMM thread until the VM ends or a signal stops it; returns the
 * process exit status. */
int vmm_run(const struct wisp_args *args);

/* signals.c: Firecracker's handlers for SIGBUS, SIGSEGV, SIGXFSZ, SIGXCPU,
 * SIGHUP and SIGILL (log, signals.<name> = 1, last metrics line, exit with
 * Firecracker's code). 0 or -errno. */
int wisp_fatal_signals_install(void);
/* Firecracker's exit status for one of those signals (149 SIGBUS, 150
 * SIGSEGV, 151 SIGXFSZ, 154 SIGXCPU, 156 SIGHUP, 157 SIGILL), else -1. */
int wisp_fatal_signal_exit_code(int signo);

#endif
