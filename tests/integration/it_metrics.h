/* SPDX-License-Identifier: Apache-2.0 */
/*
 * it_metrics.h — reading a metrics file in the integration tests. wisp,
 * like Firecracker, writes a line when the microVM starts, one per
 * FlushMetrics and one at exit; counters are deltas since the previous
 * line, so a test that counts "since the start" sums them.
 * The test includes <check.h>; failures are Check assertions.
 */
#ifndef WISP_IT_METRICS_H
#define WISP_IT_METRICS_H

#include <jansson.h>

/* Every line of the file merged into one object: each group's integer
 * fields summed (nested objects such as *_agg are left out). *nlines (if
 * not NULL) gets the number of lines. Each line must be JSON. */
json_t *it_metrics_summed(const char *path, int *nlines);

#endif
