/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jailer_int.h — helpers shared inside jailer/ only.
 */
#ifndef WISP_JAILER_INT_H
#define WISP_JAILER_INT_H

#include <stdbool.h>
#include <stdint.h>

/* Decimal digits only; on failure *why is Rust's parse error text. */
int jailer_parse_u64(const char *s, uint64_t *out, const char **why);
/* Relative path, components non-empty and not "." or "..". */
bool jailer_is_plain_relative(const char *path);
/* Rust io::Error's Display as Firecracker's (musl-linked) jailer prints it:
 * "<musl strerror> (os error <n>)" (os_error.c). */
const char *jailer_os_error(int err);
/* musl's message for err (sign ignored); glibc's for a number musl lacks. */
const char *jailer_strerror(int err);

#endif
