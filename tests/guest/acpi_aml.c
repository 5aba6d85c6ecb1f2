/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi_aml.c — the bounded AML walker and resource-template parser of the
 * `acpi` scenario (see acpi_aml.h). ACPI 6.5 chapter 20 (AML encoding) and
 * 6.4 (resource data types). Every read is checked against the end of the
 * enclosing object; a PkgLength that leaves its parent ends that walk.
 */
#include "acpi_aml.h"

/* AML opcodes used here */
#define OP_ZERO      0x00
#define OP_ONE       0x01
#define OP_ALIAS     0x06
#define OP_NAME      0x08
#define OP_BYTE      0x0a
#define OP_WORD      0x0b
#define OP_DWORD     0x0c
#define OP_STRING    0x0d
#define OP_QWORD     0x0e
#define OP_SCOPE     0x10
#define OP_BUFFER    0x11
#define OP_PACKAGE   0x12
#define OP_VARPKG    0x13
#define OP_METHOD    0x14
#define OP_EXTERNAL  0x15
#define OP_DUALNAME  0x2e
#define OP_MULTINAME 0x2f
#define OP_EXT       0x5b
#define OP_ROOT      0x5c
#define OP_PARENT    0x5e
#define OP_IF        0xa0
#define OP_ELSE      0xa1
#define OP_WHILE     0xa2
#define OP_RETURN    0xa4
#define OP_ONES      0xff
/* after OP_EXT */
#define XOP_MUTEX    0x01
#define XOP_EVENT    0x02
#define XOP_REVISION 0x30
#define XOP_OPREGION 0x80
#define XOP_FIELD    0x81
#define XOP_DEVICE   0x82
#define XOP_PROCESSOR 0x83
#define XOP_POWERRES 0x84
#define XOP_THERMAL  0x85
#define XOP_INDEXFLD 0x86
#define XOP_BANKFLD  0x87

struct walker {
	const uint8_t *start;     /* for offsets in cut_off */
	struct aml_result *r;
};

enum vkind { V_NONE, V_INT, V_STR, V_BUF, V_PKG };

struct aml_val {
	enum vkind kind;
	uint64_t i;
	const char *s;            /* V_STR: NUL-terminated inside the table */
	const uint8_t *p;         /* V_BUF: bytes; V_PKG: first element */
	const uint8_t *pend;      /* V_PKG: end of the package */
	size_t len;               /* V_BUF: bytes available */
};

static void copy_id(char *dst, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < AML_ID_LEN && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static bool seg_eq(const char *a, const char *b)
{
	for (int i = 0; i < 4; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

void aml_eisa_decode(uint32_t v, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t b0 = v & 0xff, b1 = (v >> 8) & 0xff, b2 = (v >> 16) & 0xff, b3 = v >> 24;

	out[0] = (char)(0x40 + ((b0 >> 2) & 0x1f));
	out[1] = (char)(0x40 + (((b0 & 3) << 3) | (b1 >> 5)));
	out[2] = (char)(0x40 + (b1 & 0x1f));
	out[3] = hex[b2 >> 4];
	out[4] = hex[b2 & 0xf];
	out[5] = hex[b3 >> 4];
	out[6] = hex[b3 & 0xf];
	out[7] = '\0';
}

void aml_result_init(struct aml_result *r)
{
	uint8_t *b = (uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		b[i] = 0;
}

static void cut(struct walker *w, const uint8_t *at, const char *why)
{
	if (!w->r->cut++) {
		w->r->cut_off = (uint32_t)(at - w->start);
		w->r->cut_op = *at;
		w->r->cut_why = why;
	}
}

/* PkgLength at *pp (which must be < end). On success *pp points after the
 * encoding and *obj_end at the end of the object it measures (the length
 * counts from the first PkgLength byte), never beyond end. */
static bool pkg_length(const uint8_t **pp, const uint8_t *end, const uint8_t **obj_end)
{
	const uint8_t *start = *pp, *p = *pp;
	uint8_t lead;
	unsigned n;
	uint32_t len;

	if (p >= end)
		return false;
	lead = *p++;
	n = lead >> 6;
	if (n == 0) {
		len = lead & 0x3f;
	} else {
		if (lead & 0x30)                 /* bits 4-5 must be zero */
			return false;
		len = lead & 0x0f;
		for (unsigned i = 0; i < n; i++) {
			if (p >= end)
				return false;
			len |= (uint32_t)*p++ << (4 + 8 * i);
		}
	}
	if (len < (uint32_t)(p - start) || len > (size_t)(end - start))
		return false;
	*obj_end = start + len;
	*pp = p;
	return true;
}

static bool lead_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(uint8_t c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

/* NameString; the last NameSeg goes to seg ("" for NullName). */
static bool name_string(const uint8_t **pp, const uint8_t *end, char seg[5])
{
	const uint8_t *p = *pp;
	unsigned count;

	seg[0] = '\0';
	if (p < end && *p == OP_ROOT)
		p++;
	else
		while (p < end && *p == OP_PARENT)
			p++;
	if (p >= end)
		return false;
	if (*p == 0x00) {
		count = 0;
		p++;
	} else if (*p == OP_DUALNAME) {
		count = 2;
		p++;
	} else if (*p == OP_MULTINAME) {
		if (end - p < 2)
			return false;
		count = p[1];
		p += 2;
	} else {
		count = 1;
	}
	for (unsigned i = 0; i < count; i++) {
		if (end - p < 4 || !lead_char(p[0]) || !name_char(p[1]) || !name_char(p[2]) ||
		    !name_char(p[3]))
			return false;
		for (int k = 0; k < 4; k++)
			seg[k] = (char)p[k];
		seg[4] = '\0';
		p += 4;
	}
	*pp = p;
	return true;
}

static bool le_int(const uint8_t **pp, const uint8_t *end, unsigned bytes, uint64_t *v)
{
	const uint8_t *p = *pp;

	if ((size_t)(end - p) < bytes)
		return false;
	*v = 0;
	for (unsigned i = 0; i < bytes; i++)
		*v |= (uint64_t)p[i] << (8 * i);
	*pp = p + bytes;
	return true;
}

/* A DataRefObject we understand (integers, strings, buffers, packages). */
static bool data_object(const uint8_t **pp, const uint8_t *end, struct aml_val *v)
{
	const uint8_t *p = *pp, *oend;
	uint8_t op;

	v->kind = V_NONE;
	if (p >= end)
		return false;
	op = *p++;
	switch (op) {
	case OP_ZERO:
	case OP_ONE:
		v->kind = V_INT;
		v->i = op;
		break;
	case OP_ONES:
		v->kind = V_INT;
		v->i = ~0ULL;
		break;
	case OP_BYTE:
	case OP_WORD:
	case OP_DWORD:
	case OP_QWORD:
		if (!le_int(&p, end, op == OP_BYTE ? 1 : op == OP_WORD ? 2 : op == OP_DWORD ? 4 : 8,
			    &v->i))
			return false;
		v->kind = V_INT;
		break;
	case OP_STRING:
		v->s = (const char *)p;
		while (p < end && *p)
			p++;
		if (p >= end)
			return false;                /* no NUL inside the object */
		p++;
		v->kind = V_STR;
		break;
	case OP_BUFFER: {
		struct aml_val size;

		if (!pkg_length(&p, end, &oend) || !data_object(&p, oend, &size) ||
		    size.kind != V_INT)
			return false;
		v->kind = V_BUF;
		v->p = p;
		v->len = (size_t)(oend - p) < size.i ? (size_t)(oend - p) : (size_t)size.i;
		p = oend;
		break;
	}
	case OP_PACKAGE:
		if (!pkg_length(&p, end, &oend) || p >= oend)
			return false;
		v->i = *p++;                         /* NumElements */
		v->kind = V_PKG;
		v->p = p;
		v->pend = oend;
		p = oend;
		break;
	case OP_VARPKG:
		if (!pkg_length(&p, end, &oend))
			return false;
		v->kind = V_NONE;                    /* skipped, not evaluated */
		p = oend;
		break;
	case OP_EXT:
		if (p >= end || *p != XOP_REVISION)
			return false;
		p++;
		v->kind = V_INT;
		v->i = 0;
		break;
	default:
		return false;
	}
	*pp = p;
	return true;
}

static struct aml_dev *new_dev(struct walker *w, const char *seg, unsigned depth)
{
	struct aml_result *r = w->r;
	struct aml_dev *d;

	if (r->ndev >= AML_MAX_DEVS) {
		r->dropped++;
		return NULL;
	}
	d = &r->dev[r->ndev++];
	for (int i = 0; i < 5; i++)
		d->name[i] = seg[i];
	d->depth = depth;
	return d;
}

static void set_id(char *dst, const struct aml_val *v)
{
	if (v->kind == V_STR)
		copy_id(dst, v->s);
	else if (v->kind == V_INT)
		aml_eisa_decode((uint32_t)v->i, dst);
}

/* Name(seg, v) or Method(seg){Return(v)} inside Device d. */
static void assign(struct aml_dev *d, const char *seg, const struct aml_val *v)
{
	if (seg_eq(seg, "_HID")) {
		set_id(d->hid, v);
	} else if (seg_eq(seg, "_CID")) {
		if (v->kind == V_PKG) {              /* a list of ids: keep the first */
			const uint8_t *p = v->p;
			struct aml_val e;

			if (v->i && data_object(&p, v->pend, &e))
				set_id(d->cid, &e);
		} else {
			set_id(d->cid, v);
		}
	} else if (seg_eq(seg, "_UID")) {
		if (v->kind == V_INT) {
			d->has_uid = true;
			d->uid = v->i;
		}
	} else if (seg_eq(seg, "_CRS")) {
		if (v->kind == V_BUF) {
			d->crs = v->p;
			d->crs_len = (uint32_t)v->len;
		}
	} else if (seg_eq(seg, "ADDR")) {
		if (v->kind == V_PKG) {
			const uint8_t *p = v->p;
			struct aml_val e;

			d->addr_n = 0;
			for (uint64_t i = 0; i < v->i && i < 2; i++) {
				if (!data_object(&p, v->pend, &e) || e.kind != V_INT)
					break;
				d->addr[d->addr_n++] = e.i;
			}
		}
	}
}

static void walk(struct walker *w, const uint8_t *p, const uint8_t *end, struct aml_dev *dev,
		 unsigned depth);

/* Skip "op PkgLength ..." objects; false if the length is bad. */
static bool skip_pkg(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *oend;

	if (!pkg_length(pp, end, &oend))
		return false;
	*pp = oend;
	return true;
}

static void walk(struct walker *w, const uint8_t *p, const uint8_t *end, struct aml_dev *dev,
		 unsigned depth)
{
	char seg[5];

	if (depth > AML_WALK_MAX_DEPTH) {
		cut(w, p < end ? p : p - 1, "nesting too deep");
		return;
	}
	while (p < end) {
		const uint8_t *at = p, *oend;
		struct aml_val v;
		uint8_t op = *p++;

		switch (op) {
		case OP_SCOPE:
			if (!pkg_length(&p, end, &oend) || !name_string(&p, oend, seg)) {
				cut(w, at, "bad Scope");
				return;
			}
			/* Names in another scope belong to no Device of ours. */
			walk(w, p, oend, NULL, depth + 1);
			p = oend;
			break;
		case OP_NAME:
			if (!name_string(&p, end, seg) || !data_object(&p, end, &v)) {
				cut(w, at, "Name with a value not understood");
				return;
			}
			if (dev)
				assign(dev, seg, &v);
			break;
		case OP_METHOD:
			if (!pkg_length(&p, end, &oend) || !name_string(&p, oend, seg) || p >= oend) {
				cut(w, at, "bad Method");
				return;
			}
			p++;                         /* MethodFlags */
			/* Evaluate only Method(X){Return(<data>)} */
			if (dev && p < oend && *p == OP_RETURN) {
				const uint8_t *q = p + 1;

				if (data_object(&q, oend, &v) && q == oend)
					assign(dev, seg, &v);
			}
			p = oend;
			break;
		case OP_ALIAS:
			if (!name_string(&p, end, seg) || !name_string(&p, end, seg)) {
				cut(w, at, "bad Alias");
				return;
			}
			break;
		case OP_EXTERNAL:
			if (!name_string(&p, end, seg) || end - p < 2) {
				cut(w, at, "bad External");
				return;
			}
			p += 2;
			break;
		case OP_IF:
		case OP_ELSE:
		case OP_WHILE:
			if (!skip_pkg(&p, end)) {
				cut(w, at, "bad If/Else/While");
				return;
			}
			break;
		case OP_EXT: {
			uint8_t x;

			if (p >= end) {
				cut(w, at, "truncated extended opcode");
				return;
			}
			x = *p++;
			switch (x) {
			case XOP_DEVICE: {
				struct aml_dev *d;

				if (!pkg_length(&p, end, &oend) || !name_string(&p, oend, seg)) {
					cut(w, at, "bad Device");
					return;
				}
				d = new_dev(w, seg, depth);
				walk(w, p, oend, d, depth + 1);
				p = oend;
				break;
			}
			case XOP_OPREGION: {
				struct aml_val a, b;

				if (!name_string(&p, end, seg) || p >= end) {
					cut(w, at, "bad OperationRegion");
					return;
				}
				p++;                     /* RegionSpace */
				if (!data_object(&p, end, &a) || a.kind != V_INT ||
				    !data_object(&p, end, &b) || b.kind != V_INT) {
					cut(w, at, "OperationRegion with computed bounds");
					return;
				}
				break;
			}
			case XOP_FIELD:
			case XOP_PROCESSOR:
			case XOP_POWERRES:
			case XOP_THERMAL:
			case XOP_INDEXFLD:
			case XOP_BANKFLD:
				if (!skip_pkg(&p, end)) {
					cut(w, at, "bad PkgLength");
					return;
				}
				break;
			case XOP_MUTEX:
				if (!name_string(&p, end, seg) || p >= end) {
					cut(w, at, "bad Mutex");
					return;
				}
				p++;
				break;
			case XOP_EVENT:
				if (!name_string(&p, end, seg)) {
					cut(w, at, "bad Event");
					return;
				}
				break;
			default:
				cut(w, at, "unknown extended opcode");
				return;
			}
			break;
		}
		default:
			cut(w, at, "unknown opcode");
			return;
		}
	}
}

void aml_walk(const uint8_t *aml, size_t len, struct aml_result *r)
{
	struct walker w = { aml, r };

	walk(&w, aml, aml + len, NULL, 0);
}

/* ---------------- resource templates ---------------- */
static uint32_t le16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return le16(p) | le16(p + 2) << 16;
}

static void add_irq(struct aml_res *o, uint32_t gsi, bool edge, bool low)
{
	if (o->nirq < AML_RES_MAX) {
		o->irq[o->nirq].gsi = gsi;
		o->irq[o->nirq].edge = edge;
		o->irq[o->nirq].low = low;
		o->nirq++;
	}
}

const char *aml_parse_crs(const uint8_t *buf, size_t len, struct aml_res *o)
{
	size_t i = 0;
	uint8_t *z = (uint8_t *)o;

	for (size_t k = 0; k < sizeof(*o); k++)
		z[k] = 0;
	while (i < len) {
		uint8_t b = buf[i];

		if (b & 0x80) {                      /* large descriptor */
			size_t l, body;

			if (len - i < 3)
				return "truncated large descriptor";
			l = le16(buf + i + 1);
			body = i + 3;
			if (l > len - body)
				return "large descriptor runs past the buffer";
			switch (b & 0x7f) {
			case 0x06:                   /* Memory32Fixed */
				if (l < 9)
					return "short Memory32Fixed";
				if (o->nmem < AML_RES_MAX) {
					o->mem_base[o->nmem] = le32(buf + body + 1);
					o->mem_len[o->nmem] = le32(buf + body + 5);
					o->nmem++;
				}
				break;
			case 0x09: {                 /* Extended Interrupt */
				uint8_t flags, n;

				if (l < 2)
					return "short Interrupt";
				flags = buf[body];
				n = buf[body + 1];
				if ((size_t)2 + 4 * (size_t)n > l)
					return "Interrupt list runs past its descriptor";
				for (unsigned k = 0; k < n; k++)
					add_irq(o, le32(buf + body + 2 + 4 * k), flags & 2, flags & 4);
				break;
			}
			default:
				o->other++;
			}
			i = body + l;
		} else {                             /* small descriptor */
			size_t l = b & 7, body = i + 1;
			unsigned type = (b >> 3) & 0xf;

			if (l > len - body)
				return "small descriptor runs past the buffer";
			switch (type) {
			case 0x4: {                  /* IRQ */
				uint32_t mask;
				bool edge = true, low = false;

				if (l < 2)
					return "short IRQ";
				mask = le16(buf + body);
				if (l >= 3) {
					edge = buf[body + 2] & 1;
					low = buf[body + 2] & 8;
				}
				for (unsigned k = 0; k < 16; k++)
					if (mask & (1u << k))
						add_irq(o, k, edge, low);
				break;
			}
			case 0x8:                    /* I/O port */
				if (l < 7)
					return "short IO";
				if (o->nio < AML_RES_MAX) {
					o->io_base[o->nio] = le16(buf + body + 1);
					o->io_len[o->nio] = buf[body + 6];
					o->nio++;
				}
				break;
			case 0x9:                    /* Fixed I/O port */
				if (l < 3)
					return "short FixedIO";
				if (o->nio < AML_RES_MAX) {
					o->io_base[o->nio] = le16(buf + body) & 0x3ff;
					o->io_len[o->nio] = buf[body + 2];
					o->nio++;
				}
				break;
			case 0xf:                    /* End Tag */
				o->end_tag = true;
				return NULL;
			default:
				o->other++;
			}
			i = body + l;
		}
	}
	return NULL;
}
