/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aml.h — a small AML (ACPI Machine Language) encoder, private to acpi/.
 *
 * Enough of ACPI 6.5 chapter 20 for wisp's DSDT: names, integers, strings,
 * packages, buffers, resource templates (Memory32Fixed, IO, extended
 * Interrupt), Scope, Device, Method, If, LEqual, Notify, Return, Arg0.
 *
 * Output goes into a fixed buffer. Objects with a PkgLength (Scope, Device,
 * Method, If, Package, Buffer) are opened with aml_*_begin() and closed with
 * aml_end(), which encodes the length once the body is known. Any error
 * (buffer full, nesting too deep, a bad name) sets a sticky flag that
 * aml_finish() reports; calls after an error do nothing.
 */
#ifndef WISP_ACPI_AML_H
#define WISP_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

/* Opcodes (ACPI 6.5 section 20.3). */
#define AML_ZERO          0x00
#define AML_ONE           0x01
#define AML_NAME          0x08
#define AML_BYTE_PREFIX   0x0A
#define AML_WORD_PREFIX   0x0B
#define AML_DWORD_PREFIX  0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX  0x0E
#define AML_SCOPE         0x10
#define AML_BUFFER        0x11
#define AML_PACKAGE       0x12
#define AML_METHOD        0x14
#define AML_DUAL_NAME     0x2E
#define AML_MULTI_NAME    0x2F
#define AML_EXT_PREFIX    0x5B
#define AML_EXT_DEVICE    0x82   /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR     0x5C   /* '\' */
#define AML_ARG0          0x68
#define AML_NOTIFY        0x86
#define AML_LEQUAL        0x93
#define AML_IF            0xA0
#define AML_RETURN        0xA4
#define AML_ONES          0xFF

/* Resource descriptors (ACPI 6.5 section 6.4). */
#define AML_RES_IO            0x47   /* small: IO, 7 bytes of data */
#define AML_RES_END_TAG       0x79   /* small: End Tag, 1 byte (checksum) */
#define AML_RES_MEMORY32_FIXED 0x86  /* large: 9 bytes of data */
#define AML_RES_EXT_INTERRUPT 0x89   /* large: extended interrupt */

/* Extended interrupt descriptor flags. */
#define AML_INT_CONSUMER   (1u << 0)
#define AML_INT_EDGE       (1u << 1)
#define AML_INT_ACTIVE_LOW (1u << 2)
#define AML_INT_SHARED     (1u << 3)

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;
	unsigned depth;
	size_t open[AML_MAX_DEPTH];   /* where each open object's body starts */
	uint8_t kind[AML_MAX_DEPTH];  /* what each open object is (aml.c) */
	bool error;
	bool full;                    /* the error was "buffer full" */
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* Bytes written, or -E2BIG (buffer full) / -EINVAL (bad name, unbalanced
 * begin/end) when anything went wrong. */
long aml_finish(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* A NameString: "_SB_", "\\_SB_.VGEN", "V000"; each segment 1-4 characters
 * of [A-Z0-9_] (first not a digit), padded with '_' to 4. */
void aml_namestring(struct aml *a, const char *path);
/* The smallest integer encoding: ZeroOp, OneOp, Byte/Word/DWord/QWord. */
void aml_integer(struct aml *a, uint64_t v);
/* A DWord integer always (for values a reader expects at a fixed width). */
void aml_dword(struct aml *a, uint32_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId("PNP0501"): 3 letters and 4 hex digits, compressed to a DWord. */
void aml_eisaid(struct aml *a, const char *id);
uint32_t aml_eisaid_value(const char *id);   /* 0 when malformed */

/* Name(path, <next object>): write the object right after. */
void aml_name(struct aml *a, const char *path);
void aml_name_string(struct aml *a, const char *path, const char *s);
void aml_name_integer(struct aml *a, const char *path, uint64_t v);

void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *path);
/* flags: argument count (0-7) | 0x08 when serialized. */
void aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized);
void aml_if_begin(struct aml *a);        /* then the predicate, then the body */
void aml_package_begin(struct aml *a, unsigned nelems);
/* Buffer(size) { bytes }: size is written as a Word, filled in by aml_end. */
void aml_buffer_begin(struct aml *a);
void aml_end(struct aml *a);

/* ResourceTemplate() { ... }: a Buffer whose bytes end with an End Tag. */
void aml_restemplate_begin(struct aml *a);
void aml_restemplate_end(struct aml *a);
void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size);
void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
void aml_interrupt(struct aml *a, unsigned flags, uint32_t irq);

#endif /* WISP_ACPI_AML_H */
