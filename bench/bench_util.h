/* SPDX-License-Identifier: Apache-2.0 */
/* bench_util.h — medians, clocks and /proc readings for the benchmark drivers. */
#ifndef WISP_BENCH_UTIL_H
#define WISP_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

double now_us(void);
/* Median of n samples (sorts a copy). NaN when n == 0. */
double median(const double *v, int n);
/* Resident set of pid in KiB: all of it, and without mappings of at least
 * `guest_bytes` (guest RAM). Returns 0 or -1. */
int rss_kib(pid_t pid, uint64_t guest_bytes, double *total, double *excl_guest);
/* "12.3" or "n/a" for NaN, in a static rotating buffer. */
const char *fmt_num(double v, int decimals);
const char *fmt_ratio(double num, double den);

#endif
