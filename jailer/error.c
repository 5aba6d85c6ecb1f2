/* SPDX-License-Identifier: Apache-2.0 */
/*
 * error.c — the one place a failure's cause is recorded. The binary prints it
 * once on exit; unit tests assert on it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "jailer.h"

static char g_err[JAILER_ERR_MAX];

int jailer_set_error(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g_err, sizeof(g_err), fmt, ap);
	va_end(ap);
	return err > 0 ? -err : (err < 0 ? err : -1);
}

const char *jailer_last_error(void) { return g_err; }

void jailer_clear_error(void) { g_err[0] = '\0'; }
