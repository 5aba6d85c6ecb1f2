/* SPDX-License-Identifier: Apache-2.0 */
/*
 * aml.c — the AML encoder of aml.h. Encodings follow ACPI 6.5 chapter 20
 * (AML grammar) and section 6.4 (resource descriptors).
 */
#include <errno.h>
#include <string.h>

#include "aml.h"

enum open_kind { OPEN_PLAIN = 0, OPEN_BUFFER = 1 };

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

long aml_finish(const struct aml *a)
{
	if (a->error)
		return a->full ? -E2BIG : -EINVAL;
	if (a->depth != 0)
		return -EINVAL;
	return (long)a->len;
}

static void fail(struct aml *a, bool full)
{
	a->error = true;
	a->full = full;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->error)
		return;
	if (n > a->cap - a->len) {
		fail(a, true);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void le(struct aml *a, uint64_t v, unsigned n)
{
	uint8_t b[8];

	for (unsigned i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/* ---------------- names ---------------- */
static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
	char segs[AML_MAX_DEPTH * 4][4];
	unsigned nseg = 0;
	bool root = false;
	const char *p = path;

	if (a->error)
		return;
	if (*p == '\\') {
		root = true;
		p++;
	}
	while (*p) {
		size_t n = 0;

		if (nseg == sizeof(segs) / sizeof(segs[0]))
			goto bad;
		memset(segs[nseg], '_', 4);
		while (p[n] && p[n] != '.') {
			if (n == 4 || !seg_char(p[n], n == 0))
				goto bad;
			segs[nseg][n] = p[n];
			n++;
		}
		if (n == 0)
			goto bad;
		nseg++;
		p += n;
		if (*p == '.') {
			p++;
			if (!*p)
				goto bad;
		}
	}
	if (root)
		aml_byte(a, AML_ROOT_CHAR);
	if (nseg == 0) {
		if (!root)
			goto bad;
		aml_byte(a, 0x00);   /* NullName: "\" alone */
		return;
	}
	if (nseg == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (nseg > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (uint8_t)nseg);
	}
	for (unsigned i = 0; i < nseg; i++)
		aml_bytes(a, segs[i], 4);
	return;
bad:
	fail(a, false);
}

/* ---------------- data ---------------- */
void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO);
	} else if (v == 1) {
		aml_byte(a, AML_ONE);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		le(a, v, 2);
	} else if (v <= 0xffffffffULL) {
		aml_byte(a, AML_DWORD_PREFIX);
		le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		le(a, v, 8);
	}
}

void aml_dword(struct aml *a, uint32_t v)
{
	aml_byte(a, AML_DWORD_PREFIX);
	le(a, v, 4);
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++) {
		if ((unsigned char)*c < 0x01 || (unsigned char)*c > 0x7f) {
			fail(a, false);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint32_t aml_eisaid_value(const char *id)
{
	uint32_t v;

	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return 0;
	for (int i = 3; i < 7; i++)
		if (hexval(id[i]) < 0)
			return 0;
	/* Three 5-bit letters ('A' = 1) and four hex digits, big-endian... */
	v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
	    ((uint32_t)(id[2] - 0x40) << 16) | ((uint32_t)hexval(id[3]) << 12) |
	    ((uint32_t)hexval(id[4]) << 8) | ((uint32_t)hexval(id[5]) << 4) |
	    (uint32_t)hexval(id[6]);
	/* ...stored as a little-endian DWord of those big-endian bytes. */
	return __builtin_bswap32(v);
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = aml_eisaid_value(id);

	if (!v) {
		fail(a, false);
		return;
	}
	aml_dword(a, v);
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, path);
}

void aml_name_string(struct aml *a, const char *path, const char *s)
{
	aml_name(a, path);
	aml_string(a, s);
}

void aml_name_integer(struct aml *a, const char *path, uint64_t v)
{
	aml_name(a, path);
	aml_integer(a, v);
}

/* ---------------- objects with a PkgLength ---------------- */
static void open_pkg(struct aml *a, enum open_kind kind)
{
	if (a->error)
		return;
	if (a->depth == AML_MAX_DEPTH) {
		fail(a, false);
		return;
	}
	a->kind[a->depth] = (uint8_t)kind;
	a->open[a->depth++] = a->len;
}

void aml_scope_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE);
	open_pkg(a, OPEN_PLAIN);
	aml_namestring(a, path);
}

void aml_device_begin(struct aml *a, const char *path)
{
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_EXT_DEVICE);
	open_pkg(a, OPEN_PLAIN);
	aml_namestring(a, path);
}

void aml_method_begin(struct aml *a, const char *path, unsigned nargs, bool serialized)
{
	aml_byte(a, AML_METHOD);
	open_pkg(a, OPEN_PLAIN);
	aml_namestring(a, path);
	if (nargs > 7) {
		fail(a, false);
		return;
	}
	aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
}

void aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF);
	open_pkg(a, OPEN_PLAIN);
}

void aml_package_begin(struct aml *a, unsigned nelems)
{
	aml_byte(a, AML_PACKAGE);
	open_pkg(a, OPEN_PLAIN);
	if (nelems > 0xff) {
		fail(a, false);
		return;
	}
	aml_byte(a, (uint8_t)nelems);
}

void aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER);
	open_pkg(a, OPEN_BUFFER);
	aml_byte(a, AML_WORD_PREFIX);   /* BufferSize, patched by aml_end */
	le(a, 0, 2);
}

/* Bytes a PkgLength takes for a body of `body` bytes (the length it encodes
 * counts itself), or 0 when too long. */
static unsigned pkglen_bytes(size_t body)
{
	if (body + 1 <= 0x3f)
		return 1;
	if (body + 2 <= 0xfff)
		return 2;
	if (body + 3 <= 0xfffff)
		return 3;
	if (body + 4 <= 0xfffffff)
		return 4;
	return 0;
}

void aml_end(struct aml *a)
{
	size_t start, body, total;
	unsigned n;

	if (a->error)
		return;
	if (a->depth == 0) {
		fail(a, false);
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	if (a->kind[a->depth] == OPEN_BUFFER) {
		size_t data = body - 3;   /* after the WordPrefix size */

		if (data > 0xffff) {
			fail(a, false);
			return;
		}
		a->buf[start + 1] = (uint8_t)data;
		a->buf[start + 2] = (uint8_t)(data >> 8);
	}
	n = pkglen_bytes(body);
	if (n == 0) {
		fail(a, false);
		return;
	}
	if (n > a->cap - a->len) {
		fail(a, true);
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	a->len += n;
	total = body + n;
	if (n == 1) {
		a->buf[start] = (uint8_t)total;
	} else {
		a->buf[start] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
		for (unsigned i = 1; i < n; i++)
			a->buf[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
}

/* ---------------- resource templates ---------------- */
void aml_restemplate_begin(struct aml *a)
{
	aml_buffer_begin(a);
}

void aml_restemplate_end(struct aml *a)
{
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, 0x00);   /* checksum 0: "the descriptors sum to zero" is not claimed */
	aml_end(a);
}

void aml_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t size)
{
	aml_byte(a, AML_RES_MEMORY32_FIXED);
	le(a, 9, 2);
	aml_byte(a, writable ? 1 : 0);
	le(a, base, 4);
	le(a, size, 4);
}

void aml_io(struct aml *a, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	aml_byte(a, AML_RES_IO);
	aml_byte(a, 0x01);   /* decodes 16 address bits */
	le(a, min, 2);
	le(a, max, 2);
	aml_byte(a, align);
	aml_byte(a, len);
}

void aml_interrupt(struct aml *a, unsigned flags, uint32_t irq)
{
	aml_byte(a, AML_RES_EXT_INTERRUPT);
	le(a, 6, 2);          /* flags, count, one DWord */
	aml_byte(a, (uint8_t)flags);
	aml_byte(a, 1);
	le(a, irq, 4);
}
