/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm_ctl.c — the VMM thread: loads --config-file, owns the API server's
 * request queue, builds and starts the VM, and runs the event loop until the
 * guest ends or SIGTERM/SIGINT arrives.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "metrics.h"
#include "persist.h"
#include "vm.h"
#include "vmm_ctl.h"
#include "vmm_seccomp.h"

static void on_vm_exit(int fd, uint32_t events, void *opaque)
{
	struct vmm *vmm = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno == EAGAIN)
		return;
	vmm->exit_code = vmm->vm->exit_code < 0 ? WISP_EXIT_ERROR : vmm->vm->exit_code;
	vmm->done = true;
}

static void on_signal(int fd, uint32_t events, void *opaque)
{
	struct vmm *vmm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received %s, stopping the VM", strsignal((int)si.ssi_signo));
	vmm->exit_code = WISP_EXIT_OK;
	vmm->done = true;
}

static void on_api(int fd, uint32_t events, void *opaque)
{
	struct vmm *vmm = opaque;

	(void)fd;
	(void)events;
	api_server_process(vmm->api, vmm_api_handle, vmm);
}

/* Guest console input: stdin when it is something that can be polled (a
 * terminal, pipe or socket); /dev/null, regular files and a closed stdin
 * give the guest no input. */
static int console_input_fd(void)
{
	struct stat st;

	if (fstat(STDIN_FILENO, &st) < 0)
		return -1;
	if (isatty(STDIN_FILENO) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		return STDIN_FILENO;
	return -1;
}

static void vm_options_init(struct vmm *vmm, struct vm_options *opts)
{
	*opts = (struct vm_options){
		.boot_timer = vmm->args->boot_timer,
		.start_us = vmm->args->start_us,
		.start_cpu_us = vmm->args->start_cpu_us,
		.console_in = console_input_fd(),
		.console_out = STDOUT_FILENO,
		/* seccomp: each vCPU thread filters itself before KVM_RUN; the
		 * VMM thread once the vCPU threads exist (filters are inherited
		 * by new threads), before any guest instruction runs. */
		.vcpu_thread_init = wisp_seccomp_enter_vcpu,
		.vcpus_created = wisp_seccomp_enter_vmm,
		.mem_fd = -1,
	};
}

/* PUT /serial's serial_out_path: the guest's serial output goes there
 * instead of stdout, and the guest gets no console input (as Firecracker).
 * Opened as Firecracker does (created if missing, read-write and
 * non-blocking so a FIFO without a reader neither fails nor blocks), but
 * appending and 0600. Returns 0 (opts->console_out set, or unchanged
 * without a path) or -errno with err set. */
static int serial_out_open(const struct vmm *vmm, struct vm_options *opts, char *err,
			   size_t errlen)
{
	const char *path = vmm->cfg.serial.serial_out_path;
	int fd;

	if (!vmm->cfg.serial.set)
		return 0;
	/* The limit applies to the guest's output wherever it goes (stdout too). */
	if (vmm->cfg.serial.rate_limiter.set)
		opts->serial_rate_limiter = &vmm->cfg.serial.rate_limiter;
	if (!path[0])
		return 0;
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		int r = -errno;

		snprintf(err, errlen, "serial_out_path: cannot open %s: %s (os error %d)", path,
			 strerror(errno), errno);
		return r;
	}
	opts->console_out = fd;
	opts->console_in = -1;
	return 0;
}

static void serial_out_close(struct vm_options *opts)
{
	if (opts->console_out != STDOUT_FILENO && opts->console_out >= 0)
		close(opts->console_out);
	opts->console_out = -1;
}

/* A built VM becomes the VMM's: watch its exit, start its vCPUs. On error
 * the VM is destroyed. */
static int adopt_vm(struct vmm *vmm, struct vm *vm, bool paused, char *err, size_t errlen)
{
	int r = evloop_add(vmm->loop, vm->exit_efd, EPOLLIN, on_vm_exit, vmm);

	if (r == 0)
		r = vm_start(vm, paused);
	if (r < 0) {
		evloop_del(vmm->loop, vm->exit_efd);
		vm_destroy(vm);
		free(vm);
		snprintf(err, errlen, "cannot start the vCPUs: %s", strerror(-r));
		return r;
	}
	vmm->vm = vm;
	/* Firecracker writes a metrics line as soon as the microVM runs (its
	 * startup times), then every 60 s. */
	metrics_vm_started(vmm);
	return 0;
}

int vmm_start_vm(struct vmm *vmm, char *err, size_t errlen)
{
	struct vm_options opts;
	struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vm_options_init(vmm, &opts);
	r = serial_out_open(vmm, &opts, err, errlen);
	if (r < 0) {
		free(vm);
		return r;
	}
	r = vm_build(vm, &vmm->cfg, &opts, vmm->loop, err, errlen);
	if (r < 0) {
		serial_out_close(&opts);
		free(vm);
		return r;
	}
	r = adopt_vm(vmm, vm, false, err, errlen);
	if (r < 0) {
		serial_out_close(&opts);
		return r;
	}
	log_info("VM started: %u vCPU(s), %u MiB", vmm->cfg.machine.vcpu_count,
		 vmm->cfg.machine.mem_size_mib);
	return 0;
}

int vmm_load_snapshot(struct vmm *vmm, const struct api_snapshot_load *p,
		      struct snapshot_times *t, char *err, size_t errlen)
{
	struct vm_options opts;
	struct vm *vm = NULL;
	bool fatal = false;
	int r;

	vm_options_init(vmm, &opts);
	r = serial_out_open(vmm, &opts, err, errlen);
	if (r < 0)
		return r;
	r = vm_snapshot_load(p, &opts, vmm->loop, &vm, t, &fatal, err, errlen);
	if (r < 0) {
		serial_out_close(&opts);
		if (fatal) {
			log_error("snapshot load failed after KVM state was being applied, the "
				  "microVM cannot run: %s", err);
			vmm->exit_code = WISP_EXIT_ERROR;
			vmm->done = true;
		}
		return r;
	}
	r = adopt_vm(vmm, vm, !p->resume_vm, err, errlen);
	if (r < 0) {
		serial_out_close(&opts);
		vmm->exit_code = WISP_EXIT_ERROR;
		vmm->done = true;
		return r;
	}
	/* The serial output is this process's (PUT /serial before the load),
	 * never the snapshot's (Firecracker does not persist it). */
	vm->cfg.serial = vmm->cfg.serial;
	vmm->cfg = vm->cfg;
	log_info("VM loaded from snapshot %s (%u vCPU(s), %u MiB), %s in %llu us",
		 p->snapshot_path, vm->cfg.machine.vcpu_count, vm->cfg.machine.mem_size_mib,
		 p->resume_vm ? "running" : "paused", (unsigned long long)t->total_us);
	return 0;
}

static int setup_signals(struct vmm *vmm)
{
	sigset_t set;

	/* SIGPIPE (counted, logged) and the fatal ones, SIGHUP among them
	 * (exit 156), as in Firecracker: signals.c. */
	if (wisp_fatal_signals_install() < 0)
		return -1;
	if (vcpu_signals_init() < 0)
		return -1;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vmm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vmm->signal_fd < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -1;
	}
	return evloop_add(vmm->loop, vmm->signal_fd, EPOLLIN, on_signal, vmm);
}

static int apply_logger_config(const struct logger_config *lc)
{
	if (!lc->set)
		return 0;
	log_set_level(lc->level);
	log_set_format(lc->show_level, lc->show_log_origin);
	log_set_module(lc->module);
	return lc->log_path[0] ? log_set_path(lc->log_path) : 0;
}

/* --config-file failures: Firecracker's words and status. Its main() logs
 * the error chain "RunWith[out]ApiError error: Failed to build MicroVM
 * from Json: Configuration for VMM from one single json failed: <why>"
 * (or "...: Could not Start MicroVM from one single json: <why>") and
 * exits with GenericError (1), not BadConfiguration (152, which it uses
 * only for a bad --level). */
#define WISP_EXIT_CONFIG_JSON WISP_EXIT_ERROR

static const char *config_json_error_prefix(const struct wisp_args *args)
{
	return args->no_api ? "RunWithoutApiError error: Failed to build MicroVM from Json"
			    : "RunWithApiError error: Failed to build MicroVM from Json";
}

static uint64_t clock_now_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --metrics-path, or the document's "metrics" (both: refused, as
 * Firecracker refuses to initialise metrics twice). */
static int setup_metrics(struct vmm *vmm, char *err, size_t errlen)
{
	if (vmm->args->metrics_path) {
		static struct metrics_config flag;   /* static: 4 KiB of properties */

		snprintf(flag.metrics_path, sizeof(flag.metrics_path), "%s",
			 vmm->args->metrics_path);
		if (metrics_init(vmm, &flag, err, errlen) < 0)
			return -1;
	}
	if (vmm->cfg.metrics.set && metrics_init(vmm, &vmm->cfg.metrics, err, errlen) < 0)
		return -1;
	return 0;
}

/* The api thread's first act: Firecracker's thread name (ps -T shows
 * "fc_api"), its seccomp filter, then Firecracker's line (its test
 * framework waits for it before the first request). */
static void api_thread_init(void *arg)
{
	pthread_setname_np(pthread_self(), "fc_api");
	wisp_seccomp_enter_api(arg);
	log_info("API server started.");
}

/* An early exit of vmm_run: release what exists so far. */
static int vmm_fail(struct vmm *vmm, int code)
{
	metrics_shutdown(vmm);
	if (vmm->loop)
		evloop_destroy(vmm->loop);
	if (vmm->signal_fd >= 0)
		close(vmm->signal_fd);
	return code;
}

int vmm_run(const struct wisp_args *args)
{
	struct vmm vmm = { .args = args, .signal_fd = -1, .exit_code = WISP_EXIT_OK };
	char err[1024];
	int r;

	/* Before any thread exists: the three filters are built here. */
	r = wisp_seccomp_setup(args->no_seccomp, args->seccomp_filter);
	if (r < 0)
		return r == -EINVAL ? WISP_EXIT_BAD_CONFIG : WISP_EXIT_ERROR;
	vm_config_init(&vmm.cfg);
	vmm.loop = evloop_create();
	if (!vmm.loop || setup_signals(&vmm) < 0)
		return vmm_fail(&vmm, WISP_EXIT_ERROR);

	if (args->config_file) {
		if (vmconfig_load_file(args->config_file, &vmm.cfg, err, sizeof(err)) < 0) {
			log_error("%s: Configuration for VMM from one single json failed: %s",
				  config_json_error_prefix(args), err);
			return vmm_fail(&vmm, WISP_EXIT_CONFIG_JSON);
		}
		if ((r = apply_logger_config(&vmm.cfg.logger)) < 0) {
			log_error("%s: Configuration for VMM from one single json failed: Logger "
				  "error: logger.log_path: cannot open %s: %s",
				  config_json_error_prefix(args), vmm.cfg.logger.log_path, strerror(-r));
			return vmm_fail(&vmm, WISP_EXIT_CONFIG_JSON);
		}
	}
	if (setup_metrics(&vmm, err, sizeof(err)) < 0) {
		if (vmm.cfg.metrics.set) {   /* the document's "metrics" */
			log_error("%s: Configuration for VMM from one single json failed: "
				  "Metrics error: %s", config_json_error_prefix(args), err);
			return vmm_fail(&vmm, WISP_EXIT_CONFIG_JSON);
		}
		log_error("%s", err);
		return vmm_fail(&vmm, WISP_EXIT_ARG_PARSING);
	}
	if (!args->no_api) {
		vmm.api = api_server_create(args->api_sock, err, sizeof(err));
		if (!vmm.api) {
			if (errno == EADDRINUSE)   /* Firecracker's text and status (1) */
				log_error("RunWithApiError error: Failed to open the API socket at: "
					  "%s. Check that it is not already used.", args->api_sock);
			else
				log_error("--api-sock %s: %s", args->api_sock, err);
			return vmm_fail(&vmm, WISP_EXIT_ERROR);
		}
		log_info("Listening on API socket (\"%s\").", args->api_sock);
		/* The api thread filters itself before it accepts anything. */
		api_server_set_thread_init(vmm.api, api_thread_init, NULL);
		if (api_server_set_max_body(vmm.api, args->max_payload) < 0 ||
		    evloop_add(vmm.loop, api_server_eventfd(vmm.api), EPOLLIN, on_api, &vmm) < 0 ||
		    api_server_run(vmm.api, err, sizeof(err)) < 0) {
			log_error("cannot start the API server: %s", err);
			api_server_stop(vmm.api);
			vmm.api = NULL;
			return vmm_fail(&vmm, WISP_EXIT_ERROR);
		}
	}
	/* Firecracker's api_server.process_startup_time_us: start -> API up. */
	metrics_set_startup(clock_now_us(CLOCK_MONOTONIC) - args->start_us,
			    clock_now_us(CLOCK_PROCESS_CPUTIME_ID) - args->start_cpu_us);
	if (args->config_file) {
		if (vmm_start_vm(&vmm, err, sizeof(err)) < 0) {
			log_error("%s: Could not Start MicroVM from one single json: %s (%s)",
				  config_json_error_prefix(args), err, args->config_file);
			api_server_stop(vmm.api);
			vmm.api = NULL;
			return vmm_fail(&vmm, WISP_EXIT_CONFIG_JSON);
		}
		log_info("Successfully started microvm that was configured from one single json");
	}
	while (!vmm.done)
		if (evloop_run_once(vmm.loop, -1) < 0)
			break;

	metrics_shutdown(&vmm);   /* last line, while the VM's counters exist */
	if (vmm.vm) {
		evloop_del(vmm.loop, vmm.vm->exit_efd);
		vm_destroy(vmm.vm);
		serial_out_close(&vmm.vm->opts);   /* PUT /serial's file, if any */
		free(vmm.vm);
	}
	api_server_stop(vmm.api);
	evloop_destroy(vmm.loop);
	if (vmm.signal_fd >= 0)
		close(vmm.signal_fd);
	return vmm.exit_code;
}
