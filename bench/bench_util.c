/* SPDX-License-Identifier: Apache-2.0 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"

double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double median(const double *v, int n)
{
	double *c, m;

	if (n <= 0)
		return NAN;
	c = malloc(sizeof(double) * (size_t)n);
	if (!c)
		abort();
	memcpy(c, v, sizeof(double) * (size_t)n);
	qsort(c, (size_t)n, sizeof(double), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

int rss_kib(pid_t pid, uint64_t guest_bytes, double *total, double *excl_guest)
{
	char path[64], line[512];
	unsigned long long start = 0, end = 0;
	int in_guest = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	*total = *excl_guest = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long kb;

		if (sscanf(line, "%llx-%llx ", &start, &end) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in_guest = end - start >= guest_bytes;
			continue;
		}
		if (sscanf(line, "Rss: %llu kB", &kb) == 1) {
			*total += (double)kb;
			if (!in_guest)
				*excl_guest += (double)kb;
		}
	}
	fclose(f);
	return 0;
}

const char *fmt_num(double v, int decimals)
{
	static char buf[8][32];
	static int i;
	char *b = buf[i++ % 8];

	if (isnan(v))
		snprintf(b, 32, "n/a");
	else
		snprintf(b, 32, "%.*f", decimals, v);
	return b;
}

const char *fmt_ratio(double num, double den)
{
	if (isnan(num) || isnan(den) || den == 0)
		return "n/a";
	return fmt_num(num / den, 2);
}
