/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi_aml.h — a bounded, defensive reader of the AML in a DSDT/SSDT and of
 * _CRS resource templates, for the test guest's `acpi` scenario.
 *
 * Not an interpreter: it walks Scope, Device and the other named objects,
 * records the Name(...) values of each Device (_HID, _CID, _UID, _CRS,
 * ADDR), evaluates a Method only when its whole body is `Return(<data>)`,
 * and skips every other Method body, Field, If/Else/While by its PkgLength.
 * An opcode it does not know ends the walk of that body (noted in
 * aml_result.cut); nothing is ever read outside [aml, aml + len).
 *
 * Depends on nothing but <stdint.h>/<stdbool.h>/<stddef.h> (freestanding),
 * so it can be compiled for the host as well.
 */
#ifndef WTEST_ACPI_AML_H
#define WTEST_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEVS  96
#define AML_ID_LEN    24    /* _HID/_CID strings kept (longer ones truncated) */
#define AML_WALK_MAX_DEPTH 24    /* nesting of Scope/Device */

struct aml_dev {
	char name[5];             /* last NameSeg of the Device's name */
	char hid[AML_ID_LEN];     /* "" when absent; an EISA id decoded ("PNP0501") */
	char cid[AML_ID_LEN];     /* first _CID */
	bool has_uid;
	uint64_t uid;
	const uint8_t *crs;       /* _CRS buffer bytes (inside the table), or NULL */
	uint32_t crs_len;
	unsigned addr_n;          /* integers found in ADDR's Package (0: no ADDR) */
	uint64_t addr[2];
	unsigned depth;           /* Device nesting depth (0: not inside a Device) */
};

struct aml_result {
	struct aml_dev dev[AML_MAX_DEVS];
	unsigned ndev;
	unsigned dropped;         /* Devices beyond AML_MAX_DEVS */
	unsigned cut;             /* bodies whose walk stopped early */
	uint32_t cut_off;         /* offset (in the walked bytes) of the first stop */
	uint8_t cut_op;           /* the byte found there */
	const char *cut_why;      /* why the first stop happened */
};

/* Walk one table's AML (the bytes after its 36-byte header) and append the
 * Devices found to r (r is not cleared: call aml_result_init once, then
 * walk the DSDT and every SSDT). cut_off counts from the start of aml. */
void aml_result_init(struct aml_result *r);
void aml_walk(const uint8_t *aml, size_t len, struct aml_result *r);

/* Decode a compressed EISA id (the integer of EisaId("PNP0501")) into
 * out (at least 8 bytes). */
void aml_eisa_decode(uint32_t v, char *out);

/* ---------------- resource templates ---------------- */
#define AML_RES_MAX 8

struct aml_irq {
	uint32_t gsi;
	bool edge;               /* false: level */
	bool low;                /* active low */
};
struct aml_res {
	unsigned nmem;
	uint64_t mem_base[AML_RES_MAX], mem_len[AML_RES_MAX];
	unsigned nio;
	uint32_t io_base[AML_RES_MAX], io_len[AML_RES_MAX];
	unsigned nirq;
	struct aml_irq irq[AML_RES_MAX];
	unsigned other;          /* descriptors of other kinds (skipped) */
	bool end_tag;            /* an End Tag closed the template */
};

/* Parse a resource template. Returns NULL when it is well formed (every
 * descriptor inside the buffer; lists longer than AML_RES_MAX are
 * truncated silently), or a short reason. */
const char *aml_parse_crs(const uint8_t *buf, size_t len, struct aml_res *out);

#endif
