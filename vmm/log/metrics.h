/* SPDX-License-Identifier: Apache-2.0 */
/*
 * metrics.h — private to vmm/: metrics in Firecracker's format. One JSON
 * object per line, written to a file or named pipe every 60 s, on
 * FlushMetrics and at exit. Counters are deltas since the last line that
 * was written; a few values are absolute (see docs/api.md).
 *
 * Everything here runs on the VMM thread. One metrics destination per
 * process (as Firecracker: it cannot be configured twice).
 */
#ifndef WISP_VMM_METRICS_H
#define WISP_VMM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmm;

#define METRICS_PERIOD_S 60

/* Open `path` (O_WRONLY|O_APPEND|O_NONBLOCK|O_CREAT; a named pipe without a
 * reader is opened read-write so it never fails or blocks) and arm the
 * periodic flush on the VMM's event loop. Refused (-EBUSY) if metrics are
 * already configured. err says why. */
int metrics_init(struct vmm *vmm, const char *path, char *err, size_t errlen);
bool metrics_enabled(void);
/* Write one line now. 0 when written; -EAGAIN when the destination was full
 * (the line is lost and counted, its deltas go into the next line);
 * -ENODEV when metrics are not configured; other -errno on write errors. */
int metrics_flush(struct vmm *vmm);
/* Process start -> API ready, wall and CPU microseconds (absolute values). */
void metrics_set_startup(uint64_t wall_us, uint64_t cpu_us);
/* Duration of the last pause / resume on the VMM thread (absolute). */
void metrics_set_pause_us(uint64_t us);
void metrics_set_resume_us(uint64_t us);
/* Duration of the last snapshot create / load on the VMM thread (absolute). */
void metrics_set_snapshot_create_us(bool diff, uint64_t us);
void metrics_set_snapshot_load_us(uint64_t us);
/* PATCH /drives path swaps that worked / failed (deltas). */
void metrics_count_drive_update(bool ok);
/* Final line (if configured), stop the timer, close the destination. */
void metrics_shutdown(struct vmm *vmm);

#endif
