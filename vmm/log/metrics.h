/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h — private to vmm/: metrics in Firecracker's format. One JSON
 * object per line, written to a file or named pipe every 60 s, on
 * FlushMetrics and at exit. The line holds exactly Firecracker's groups and
 * fields (tests/host_tools/fcmetrics.py is the schema): counters are deltas
 * since the last line that was written, the "store" values are absolute
 * (see docs/api.md "Metrics"). wisp's own counters are not in the line:
 * GET /wisp/metrics serves every counter wisp keeps as absolute totals.
 *
 * Everything here runs on the VMM thread unless it says otherwise. One
 * metrics destination per process (as Firecracker: it cannot be configured
 * twice).
 */
#ifndef WISP_VMM_METRICS_H
#define WISP_VMM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm;
struct metrics_config;

#define METRICS_PERIOD_S 60

/* Open cfg->metrics_path (O_WRONLY|O_APPEND|O_NONBLOCK|O_CREAT; a named pipe
 * without a reader is opened read-write so it never fails or blocks), keep
 * emit_id / properties, and arm the periodic flush on the VMM's event loop.
 * Refused (-EBUSY) if metrics are already configured. err says why. */
int metrics_init(struct vmm *vmm, const struct metrics_config *cfg, char *err, size_t errlen);
bool metrics_enabled(void);
/* The microVM runs (InstanceStart, snapshot load): write a line now, then
 * every METRICS_PERIOD_S, as Firecracker does. Once; nothing without metrics. */
void metrics_vm_started(struct vmm *vmm);
/* Write one line now. 0 when written; -EAGAIN when the destination was full
 * (the line is lost and counted, its deltas go into the next line);
 * -ENODEV when metrics are not configured; other -errno on write errors. */
int metrics_flush(struct vmm *vmm);
/* GET /wisp/metrics: every counter wisp keeps (Firecracker's and wisp's
 * own), absolute totals since start, as a malloc'd JSON object. */
char *metrics_wisp_json(struct vmm *vmm);
/* Process start -> API ready, wall and CPU microseconds (absolute values). */
void metrics_set_startup(uint64_t wall_us, uint64_t cpu_us);
/* Duration of the last pause / resume: the whole request (pause_vm) and
 * the VMM's part of it (vmm_pause_vm), microseconds (absolute). */
void metrics_set_pause_us(uint64_t request_us, uint64_t vmm_us);
void metrics_set_resume_us(uint64_t request_us, uint64_t vmm_us);
/* Duration of the last snapshot create / load on the VMM thread (absolute). */
void metrics_set_snapshot_create_us(bool diff, uint64_t us);
void metrics_set_snapshot_load_us(uint64_t us);
/* PATCH /drives/{id} path swaps that worked / failed (block_<id> counters). */
void metrics_count_drive_update(const char *drive_id, bool ok);
/* A request that used a deprecated API field or path
 * (deprecated_api.deprecated_http_api_calls). Any thread. */
void metrics_count_deprecated_api_call(void);

/* ---- fatal signals (async-signal-safe) ----
 * A trapped seccomp violation (SIGSYS): seccomp.num_faults = 1; SIGBUS,
 * SIGSEGV, SIGXFSZ, SIGXCPU, SIGHUP, SIGILL: signals.<name> = 1; SIGPIPE:
 * signals.sigpipe += 1. Other signals are ignored. */
void metrics_note_signal(int signo);
/* Write one last line from a signal handler before the process exits: no
 * allocation, no lock. Device and API counters are left out of it (their
 * groups hold 0, so the line still validates against the schema); the
 * signal and seccomp values, latencies and start-up times are in it.
 * 0, or -errno (-ENODEV when metrics are not configured). */
int metrics_flush_from_signal(void);

/* Final line (if configured), stop the timer, close the destination. */
void metrics_shutdown(struct vmm *vmm);

#endif
