/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snap_internal.h — helpers shared by the files of snapshot/ (not part of
 * the public interface; other subsystems include only snapshot.h).
 */
#ifndef WISP_SNAP_INTERNAL_H
#define WISP_SNAP_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "vmm.h"   /* ld_le16/32/64, st_le16/32/64 */

/* Bytes of zero padding after a payload of len bytes (to a multiple of 8). */
static inline uint64_t snap_pad8(uint64_t len)
{
	return (8 - (len & 7)) & 7;
}

/* Header field offsets. */
#define SNAP_OFF_MAGIC     0
#define SNAP_OFF_MAJOR     8
#define SNAP_OFF_MINOR     10
#define SNAP_OFF_FLAGS     12
#define SNAP_OFF_NR        16
#define SNAP_OFF_RESERVED  20
#define SNAP_OFF_TOTAL     24
#define SNAP_CRC_LEN       8

/* snprintf into err (if err and errlen are set); always NUL-terminated. */
void snap_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* WISP_SNAP_INTERNAL_H */
