/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_acpi.c — the ACPI tables (acpi/): RSDP -> XSDT -> FADT/MADT -> DSDT,
 * every checksum and length at the byte offsets of the ACPI 6.5 spec, the
 * MADT for 1 and 32 vCPUs, the DSDT decoded back by a small AML reader
 * written here (independent of acpi/aml.c), exact AML bytes for small
 * objects, the limits, the acpi=off switch and the RSDP in the boot
 * structures.
 */
#include <errno.h>

#include "../check_main.h"
#include "boot_test_util.h"
#include "acpi.h"
#include "../../acpi/aml.h"

#define ck_assert_ptr_le(a, b) ck_assert((const void *)(a) <= (const void *)(b))
#define ck_assert_ptr_lt(a, b) ck_assert((const void *)(a) < (const void *)(b))

static struct guest_mem mem;

static void setup(void)
{
	tm_init(&mem, 128 * MiB, 0);
}

static void teardown(void)
{
	tm_free(&mem);
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static struct acpi_config base_config(unsigned vcpus, unsigned nvirtio)
{
	struct acpi_config c = { .nr_vcpus = vcpus, .nr_virtio = nvirtio, .serial = true, .i8042 = true };

	for (unsigned i = 0; i < nvirtio && i < ACPI_MAX_VIRTIO; i++)
		c.virtio[i] = (struct acpi_mmio_dev){ .base = VIRTIO_MMIO_BASE + i * 0x1000ULL,
						      .size = 0x1000, .irq = VIRTIO_IRQ_BASE + i };
	return c;
}

/* ---------------- the chain ---------------- */
struct found {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint32_t madt_len, dsdt_len;
};

/* A table at gpa: signature, length within the tables' area, checksum. */
static const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = tm_ptr(&mem, gpa, 36);
	uint32_t len = get32(t + 4);

	ck_assert_msg(!memcmp(t, sig, 4), "table at 0x%llx is not %s", (unsigned long long)gpa, sig);
	ck_assert_uint_ge(len, 36);
	ck_assert_uint_ge(gpa, ACPI_TABLES_ADDR);
	ck_assert_uint_le(gpa + len, ACPI_TABLES_END);
	t = tm_ptr(&mem, gpa, len);
	ck_assert_msg(sum8(t, len) == 0, "%s checksum", sig);
	ck_assert(!memcmp(t + 10, "WISP  ", 6));      /* OEM id */
	ck_assert(!memcmp(t + 28, "WISP", 4));        /* creator id */
	return t;
}

static struct found walk(void)
{
	struct found f = { 0 };
	const uint8_t *r = tm_ptr(&mem, ACPI_RSDP_ADDR, 36);
	uint32_t xlen;
	uint64_t dsdt;

	ck_assert_uint_eq(ACPI_RSDP_ADDR % 16, 0);
	ck_assert(!memcmp(r, "RSD PTR ", 8));
	ck_assert_uint_eq(sum8(r, 20), 0);            /* ACPI 1.0 checksum */
	ck_assert_uint_eq(r[15], 2);                  /* revision */
	ck_assert_uint_eq(get32(r + 16), 0);          /* no RSDT */
	ck_assert_uint_eq(get32(r + 20), 36);         /* length */
	ck_assert_uint_eq(sum8(r, 36), 0);            /* extended checksum */
	f.rsdp = r;
	f.xsdt = table_at(get64(r + 24), "XSDT");
	xlen = get32(f.xsdt + 4);
	ck_assert_uint_eq(f.xsdt[8], 1);
	ck_assert_uint_eq((xlen - 36) % 8, 0);
	for (uint32_t off = 36; off < xlen; off += 8) {
		uint64_t a = get64(f.xsdt + off);
		const uint8_t *t = tm_ptr(&mem, a, 4);

		if (!memcmp(t, "FACP", 4))
			f.fadt = table_at(a, "FACP");
		else if (!memcmp(t, "APIC", 4))
			f.madt = table_at(a, "APIC");
		else
			ck_abort_msg("unexpected table %.4s in the XSDT", (const char *)t);
	}
	ck_assert_uint_eq(xlen, 36 + 2 * 8);
	ck_assert_ptr_nonnull(f.fadt);
	ck_assert_ptr_nonnull(f.madt);
	/* FADT: ACPI 6.5 layout, hardware-reduced, X_DSDT only */
	ck_assert_uint_eq(get32(f.fadt + 4), 276);
	ck_assert_uint_eq(f.fadt[8], 6);
	ck_assert_uint_eq(f.fadt[131], 5);            /* minor version */
	ck_assert_uint_ne(get32(f.fadt + 112) & (1u << 20), 0);   /* HW_REDUCED_ACPI */
	ck_assert_uint_eq(get32(f.fadt + 76), 0);     /* no PM timer block */
	ck_assert_uint_eq(f.fadt[91], 0);             /* PM timer length */
	ck_assert_uint_eq(get16(f.fadt + 46), 0);     /* no SCI */
	ck_assert_uint_eq(get32(f.fadt + 40), 0);     /* 32-bit DSDT unused */
	ck_assert_uint_eq(get16(f.fadt + 109), 1u << 2);          /* no VGA */
	ck_assert(!memcmp(f.fadt + 268, "WISPVMM", 7));
	dsdt = get64(f.fadt + 140);
	f.dsdt = table_at(dsdt, "DSDT");
	f.dsdt_len = get32(f.dsdt + 4);
	ck_assert_uint_eq(f.dsdt[8], 2);              /* 64-bit integers */
	f.madt_len = get32(f.madt + 4);
	/* no two tables overlap */
	{
		const uint8_t *ts[4] = { f.xsdt, f.fadt, f.madt, f.dsdt };

		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
				if (i != j)
					ck_assert(ts[i] + get32(ts[i] + 4) <= ts[j] ||
						  ts[j] + get32(ts[j] + 4) <= ts[i]);
	}
	return f;
}

static void check_madt(const struct found *f, unsigned n)
{
	const uint8_t *m = f->madt, *e = m + 44, *end = m + f->madt_len;
	unsigned lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	ck_assert_uint_eq(f->madt[8], 6);
	ck_assert_uint_eq(get32(m + 36), LAPIC_ADDR);
	ck_assert_uint_eq(get32(m + 40), 0);
	while (e < end) {
		ck_assert_uint_ge(e[1], 2);
		ck_assert_ptr_le(e + e[1], end);
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[1], 8);
			ck_assert_uint_eq(e[2], lapics);  /* processor UID */
			ck_assert_uint_eq(e[3], lapics);  /* APIC id */
			ck_assert_uint_eq(get32(e + 4), 1);
			lapics++;
			break;
		case 1:
			ck_assert_uint_eq(e[1], 12);
			ck_assert_uint_eq(get32(e + 4), IOAPIC_ADDR);
			ck_assert_uint_eq(get32(e + 8), 0);
			ioapics++;
			break;
		case 2:
			ck_assert_uint_eq(e[1], 10);
			ck_assert_uint_eq(e[2], 0);
			ck_assert_uint_eq(e[3], 0);
			ck_assert_uint_eq(get32(e + 4), 2);
			isos++;
			break;
		case 4:
			ck_assert_uint_eq(e[1], 6);
			ck_assert_uint_eq(e[2], 0xff);
			ck_assert_uint_eq(e[5], 1);
			nmis++;
			break;
		default:
			ck_abort_msg("unexpected MADT entry type %u", e[0]);
		}
		e += e[1];
	}
	ck_assert_ptr_eq(e, end);
	ck_assert_uint_eq(lapics, n);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(isos, 1);
	ck_assert_uint_eq(nmis, 1);
}

/* ---------------- a small AML reader ---------------- */
#define MAX_DEVS 32

struct dev {
	char name[8];
	char hid[16];          /* string _HID, or the decoded EISA id */
	char cid[32];
	bool has_uid;
	uint64_t uid;
	const uint8_t *crs;    /* _CRS buffer bytes */
	size_t crs_len;
	int addr_n;            /* ADDR package elements */
	uint64_t addr[2];
	const uint8_t *evt;    /* _EVT method body (after the flags) */
	size_t evt_len;
	int evt_flags;
	bool has_sta;
};

struct reader {
	const uint8_t *p, *end;
	struct dev devs[MAX_DEVS];
	int ndev;
	int scopes;
};

static size_t pkglen(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;
	unsigned n;
	size_t v;

	ck_assert_ptr_lt(p, end);
	n = p[0] >> 6;
	if (n == 0) {
		v = p[0] & 0x3f;
	} else {
		ck_assert_uint_eq(p[0] & 0x30, 0);
		ck_assert_ptr_lt(p + n, end);
		v = p[0] & 0x0f;
		for (unsigned i = 1; i <= n; i++)
			v |= (size_t)p[i] << (4 + 8 * (i - 1));
	}
	*pp = p + n + 1;
	return v;
}

/* The last segment of a NameString. */
static void namestring(const uint8_t **pp, const uint8_t *end, char out[5])
{
	const uint8_t *p = *pp;
	unsigned nseg = 1;

	if (*p == '\\')
		p++;
	if (*p == 0x2e) {
		nseg = 2;
		p++;
	} else if (*p == 0x2f) {
		nseg = p[1];
		p += 2;
	}
	ck_assert_ptr_le(p + 4 * nseg, end);
	memcpy(out, p + 4 * (nseg - 1), 4);
	out[4] = '\0';
	*pp = p + 4 * nseg;
}

static bool integer(const uint8_t **pp, uint64_t *v)
{
	const uint8_t *p = *pp;
	unsigned n;

	switch (*p) {
	case 0x00: *v = 0; *pp = p + 1; return true;
	case 0x01: *v = 1; *pp = p + 1; return true;
	case 0xff: *v = ~0ULL; *pp = p + 1; return true;
	case 0x0a: n = 1; break;
	case 0x0b: n = 2; break;
	case 0x0c: n = 4; break;
	case 0x0e: n = 8; break;
	default: return false;
	}
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (uint64_t)p[1 + i] << (8 * i);
	*pp = p + 1 + n;
	return true;
}

static void eisa_decode(uint32_t v, char out[8])
{
	uint32_t be = __builtin_bswap32(v);

	out[0] = (char)('@' + ((be >> 26) & 0x1f));
	out[1] = (char)('@' + ((be >> 21) & 0x1f));
	out[2] = (char)('@' + ((be >> 16) & 0x1f));
	snprintf(out + 3, 5, "%04X", be & 0xffff);
}

static void term_list(struct reader *r, const uint8_t *p, const uint8_t *end, struct dev *d);

/* Name(X, object) inside device d (or at scope level when d is NULL). */
static const uint8_t *name_obj(const uint8_t *p, const uint8_t *end, struct dev *d)
{
	char n[5];
	uint64_t v;

	namestring(&p, end, n);
	ck_assert_ptr_lt(p, end);
	if (*p == 0x0d) {                         /* string */
		const char *s = (const char *)p + 1;
		size_t l = strnlen(s, (size_t)(end - p - 1));

		ck_assert_ptr_lt(p + 1 + l, end);
		if (d && !strcmp(n, "_HID"))
			snprintf(d->hid, sizeof(d->hid), "%s", s);
		if (d && !strcmp(n, "_CID"))
			snprintf(d->cid, sizeof(d->cid), "%s", s);
		return p + 2 + l;
	}
	if (*p == 0x11) {                         /* buffer */
		const uint8_t *start = p + 1, *q = start;
		size_t len = pkglen(&q, end);
		uint64_t size;

		ck_assert(integer(&q, &size));
		ck_assert_ptr_le(start + len, end);
		ck_assert_uint_eq(size, (uint64_t)(start + len - q));
		if (d && !strcmp(n, "_CRS")) {
			d->crs = q;
			d->crs_len = size;
		}
		return start + len;
	}
	if (*p == 0x12) {                         /* package */
		const uint8_t *start = p + 1, *q = start, *pend;
		size_t len = pkglen(&q, end);
		unsigned ne = *q++;

		pend = start + len;
		ck_assert_ptr_le(pend, end);
		for (unsigned i = 0; i < ne; i++) {
			ck_assert(integer(&q, &v));
			if (d && !strcmp(n, "ADDR") && i < 2)
				d->addr[i] = v;
		}
		ck_assert_ptr_eq(q, pend);
		if (d && !strcmp(n, "ADDR"))
			d->addr_n = (int)ne;
		return pend;
	}
	ck_assert(integer(&p, &v));
	if (d && !strcmp(n, "_UID")) {
		d->has_uid = true;
		d->uid = v;
	}
	if (d && !strcmp(n, "_HID"))
		eisa_decode((uint32_t)v, d->hid);
	return p;
}

static void term_list(struct reader *r, const uint8_t *p, const uint8_t *end, struct dev *d)
{
	while (p < end) {
		if (*p == 0x08) {
			p = name_obj(p + 1, end, d);
		} else if (*p == 0x10) {                  /* Scope */
			const uint8_t *start = p + 1, *q = start;
			size_t len = pkglen(&q, end);
			char n[5];

			ck_assert_ptr_le(start + len, end);
			namestring(&q, start + len, n);
			r->scopes++;
			term_list(r, q, start + len, NULL);
			p = start + len;
		} else if (p[0] == 0x5b && p + 1 < end && p[1] == 0x82) {   /* Device */
			const uint8_t *start = p + 2, *q = start;
			size_t len = pkglen(&q, end);
			struct dev *nd;

			ck_assert_int_lt(r->ndev, MAX_DEVS);
			nd = &r->devs[r->ndev++];
			memset(nd, 0, sizeof(*nd));
			ck_assert_ptr_le(start + len, end);
			namestring(&q, start + len, nd->name);
			term_list(r, q, start + len, nd);
			p = start + len;
		} else if (*p == 0x14) {                  /* Method */
			const uint8_t *start = p + 1, *q = start;
			size_t len = pkglen(&q, end);
			char n[5];

			ck_assert_ptr_le(start + len, end);
			namestring(&q, start + len, n);
			if (d && !strcmp(n, "_EVT")) {
				d->evt_flags = q[0];
				d->evt = q + 1;
				d->evt_len = (size_t)(start + len - q - 1);
			}
			if (d && !strcmp(n, "_STA"))
				d->has_sta = true;
			p = start + len;
		} else {
			ck_abort_msg("unexpected AML opcode 0x%02x", *p);
		}
	}
	ck_assert_ptr_eq(p, end);
}

static struct reader *read_dsdt(const struct found *f)
{
	static struct reader r;

	memset(&r, 0, sizeof(r));
	term_list(&r, f->dsdt + 36, f->dsdt + f->dsdt_len, NULL);
	ck_assert_int_eq(r.scopes, 1);
	return &r;
}

static struct dev *find_dev(struct reader *r, const char *name)
{
	for (int i = 0; i < r->ndev; i++)
		if (!strcmp(r->devs[i].name, name))
			return &r->devs[i];
	return NULL;
}

/* _CRS: walk the descriptors, return what was found. */
struct crs {
	int nmem, nio, nirq;
	uint32_t mem_base, mem_len;
	uint16_t io_min[2];
	uint8_t io_len[2];
	uint32_t irq;
	uint8_t irq_flags;
};

static struct crs parse_crs(const struct dev *d)
{
	struct crs c = { 0 };
	const uint8_t *p = d->crs, *end = d->crs + d->crs_len;
	bool ended = false;

	ck_assert_ptr_nonnull(p);
	while (p < end && !ended) {
		if (p[0] & 0x80) {                        /* large descriptor */
			uint16_t len = get16(p + 1);

			ck_assert_ptr_le(p + 3 + len, end);
			if (p[0] == 0x86) {
				ck_assert_uint_eq(len, 9);
				ck_assert_uint_eq(p[3], 1);   /* read/write */
				c.mem_base = get32(p + 4);
				c.mem_len = get32(p + 8);
				c.nmem++;
			} else if (p[0] == 0x89) {
				ck_assert_uint_eq(len, 6);
				ck_assert_uint_eq(p[4], 1);   /* one interrupt */
				c.irq_flags = p[3];
				c.irq = get32(p + 5);
				c.nirq++;
			} else {
				ck_abort_msg("unexpected large descriptor 0x%02x", p[0]);
			}
			p += 3 + len;
		} else {
			uint8_t type = (p[0] >> 3) & 0x0f, len = p[0] & 7;

			ck_assert_ptr_le(p + 1 + len, end);
			if (type == 0x08) {               /* IO */
				ck_assert_uint_eq(len, 7);
				ck_assert_uint_eq(p[1], 1);
				ck_assert_uint_eq(get16(p + 2), get16(p + 4));   /* min == max */
				ck_assert_int_lt(c.nio, 2);
				c.io_min[c.nio] = get16(p + 2);
				c.io_len[c.nio] = p[7];
				c.nio++;
			} else if (type == 0x0f) {        /* End Tag */
				ck_assert_uint_eq(len, 1);
				ended = true;
			} else {
				ck_abort_msg("unexpected small descriptor 0x%02x", p[0]);
			}
			p += 1 + len;
		}
	}
	ck_assert(ended);
	ck_assert_ptr_eq(p, end);
	return c;
}

static void check_virtio(struct reader *r, const struct acpi_config *c)
{
	int nv = 0;

	for (int i = 0; i < r->ndev; i++)
		if (!strcmp(r->devs[i].hid, "LNRO0005"))
			nv++;
	ck_assert_int_eq(nv, (int)c->nr_virtio);
	for (unsigned i = 0; i < c->nr_virtio; i++) {
		char name[8];
		struct dev *d;
		struct crs crs;

		snprintf(name, sizeof(name), "V%03u", i);
		d = find_dev(r, name);
		ck_assert_msg(d != NULL, "no device %s", name);
		ck_assert_str_eq(d->hid, "LNRO0005");
		ck_assert(d->has_uid);
		ck_assert_uint_eq(d->uid, i);
		crs = parse_crs(d);
		ck_assert_int_eq(crs.nmem, 1);
		ck_assert_int_eq(crs.nirq, 1);
		ck_assert_int_eq(crs.nio, 0);
		ck_assert_uint_eq(crs.mem_base, c->virtio[i].base);
		ck_assert_uint_eq(crs.mem_len, c->virtio[i].size);
		ck_assert_uint_eq(crs.irq, c->virtio[i].irq);
		ck_assert_uint_eq(crs.irq_flags, 0x03);   /* consumer, edge, active high, exclusive */
	}
}

/* ---------------- tests ---------------- */
START_TEST(chain_one_vcpu)
{
	struct acpi_config c = base_config(1, 0);
	char err[256] = "";
	struct acpi_layout l;
	struct found f;

	ck_assert_int_eq(acpi_write_layout(&mem, &c, &l, err, sizeof(err)), 0);
	f = walk();
	check_madt(&f, 1);
	ck_assert_uint_eq(l.rsdp, ACPI_RSDP_ADDR);
	ck_assert_uint_eq(l.madt_len, f.madt_len);
	ck_assert_uint_eq(f.madt_len, 44 + 8 + 12 + 10 + 6);
	ck_assert_uint_eq(l.dsdt_len, f.dsdt_len);
	ck_assert_ptr_eq(tm_ptr(&mem, l.xsdt, 1), f.xsdt);
	ck_assert_ptr_eq(tm_ptr(&mem, l.dsdt, 1), f.dsdt);
}
END_TEST

START_TEST(madt_32_vcpus)
{
	struct acpi_config c = base_config(32, 2);
	char err[256] = "";
	struct found f;

	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	f = walk();
	check_madt(&f, 32);
	ck_assert_uint_eq(f.madt_len, 44 + 32 * 8 + 12 + 10 + 6);
}
END_TEST

START_TEST(dsdt_19_virtio)
{
	struct acpi_config c = base_config(32, ACPI_MAX_VIRTIO);
	char err[256] = "";
	struct found f;
	struct reader *r;
	struct dev *d;
	struct crs crs;

	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	f = walk();
	r = read_dsdt(&f);
	ck_assert_int_eq(r->ndev, ACPI_MAX_VIRTIO + 2);
	check_virtio(r, &c);
	d = find_dev(r, "COM1");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "PNP0501");
	crs = parse_crs(d);
	ck_assert_int_eq(crs.nio, 1);
	ck_assert_uint_eq(crs.io_min[0], 0x3f8);
	ck_assert_uint_eq(crs.io_len[0], 8);
	ck_assert_int_eq(crs.nirq, 1);
	ck_assert_uint_eq(crs.irq, 4);
	d = find_dev(r, "PS2_");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "PNP0303");
	ck_assert(d->has_sta);
	crs = parse_crs(d);
	ck_assert_int_eq(crs.nio, 2);
	ck_assert_uint_eq(crs.io_min[0], 0x60);
	ck_assert_uint_eq(crs.io_min[1], 0x64);
	ck_assert_uint_eq(crs.irq, 1);
	ck_assert_ptr_null(find_dev(r, "VGEN"));
	ck_assert_ptr_null(find_dev(r, "GED_"));
}
END_TEST

START_TEST(dsdt_legacy_devices_optional)
{
	struct acpi_config c = base_config(2, 1);
	char err[256] = "";
	struct found f;
	struct reader *r;

	c.serial = false;
	c.i8042 = false;
	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	f = walk();
	r = read_dsdt(&f);
	ck_assert_int_eq(r->ndev, 1);
	check_virtio(r, &c);
}
END_TEST

START_TEST(vmgenid_and_ged_when_asked)
{
	struct acpi_config c = base_config(2, 3);
	char err[256] = "";
	struct found f;
	struct reader *r;
	struct dev *d;
	struct crs crs;
	/* If (LEqual (Arg0, 3)) { Notify (\_SB_.VGEN, 0x80) } */
	static const uint8_t evt[] = {
		0xa0, 0x12, 0x93, 0x68, 0x0a, 0x03,
		0x86, 0x5c, 0x2e, '_', 'S', 'B', '_', 'V', 'G', 'E', 'N', 0x0a, 0x80,
	};

	c.vmgenid = true;
	c.vmgenid_addr = ACPI_VMGENID_ADDR;
	c.ged_irq = 3;
	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	f = walk();
	r = read_dsdt(&f);
	check_virtio(r, &c);
	d = find_dev(r, "VGEN");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "VMGENCTR");
	ck_assert_str_eq(d->cid, "VM_Gen_Counter");
	ck_assert_int_eq(d->addr_n, 2);
	ck_assert_uint_eq(d->addr[0], (uint32_t)ACPI_VMGENID_ADDR);
	ck_assert_uint_eq(d->addr[1], 0);
	d = find_dev(r, "GED_");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "ACPI0013");
	crs = parse_crs(d);
	ck_assert_int_eq(crs.nirq, 1);
	ck_assert_uint_eq(crs.irq, 3);
	ck_assert_uint_eq(crs.irq_flags, 0x03);
	ck_assert_ptr_nonnull(d->evt);
	ck_assert_int_eq(d->evt_flags, 0x09);         /* 1 argument, serialized */
	ck_assert_uint_eq(d->evt_len, sizeof(evt));
	ck_assert_mem_eq(d->evt, evt, sizeof(evt));
	/* The ID's page is not part of the tables' area. */
	ck_assert_uint_ge(ACPI_VMGENID_ADDR, ACPI_TABLES_END);
	ck_assert_uint_lt(ACPI_VMGENID_ADDR + 16, ACPI_RSDP_ADDR);
}
END_TEST

START_TEST(vmgenid_high_address)
{
	struct acpi_config c = base_config(1, 0);
	char err[256] = "";
	struct found f;
	struct reader *r;
	struct dev *d;

	tm_free(&mem);
	tm_init(&mem, 5 * GiB, 0);
	c.vmgenid = true;
	c.vmgenid_addr = 0x100000000ULL + 0x1238;
	c.ged_irq = 3;
	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	f = walk();
	r = read_dsdt(&f);
	d = find_dev(r, "VGEN");
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(d->addr[0], 0x1238);
	ck_assert_uint_eq(d->addr[1], 1);
}
END_TEST

/* Exact bytes of small objects (ACPI 6.5 chapter 20, section 6.4). */
START_TEST(aml_exact_bytes)
{
	uint8_t buf[256];
	struct aml a;
	static const uint8_t com_hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t ints[] = { 0x00, 0x01, 0x0a, 0x02, 0x0b, 0x00, 0x01,
					0x0c, 0x00, 0x00, 0x01, 0x00,
					0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	static const uint8_t str[] = { 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0 };
	/* Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, 0xc0001000, 0x1000)
	 *   Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 } }) */
	static const uint8_t crs[] = {
		0x08, '_', 'C', 'R', 'S', 0x11, 0x1b, 0x0b, 0x17, 0x00,
		0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xc0, 0x00, 0x10, 0x00, 0x00,
		0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00,
		0x79, 0x00,
	};
	static const uint8_t io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08 };
	static const uint8_t dev[] = { 0x10, 0x0d, 0x5c, '_', 'S', 'B', '_',
				       0x5b, 0x82, 0x05, 'V', '0', '0', '0' };
	static const uint8_t multi[] = { 0x5c, 0x2f, 0x03, 'A', '_', '_', '_', 'B', 'C', '_', '_',
					 'D', 'E', 'F', 'G' };

	ck_assert_uint_eq(aml_eisaid_value("PNP0501"), 0x0105d041);
	ck_assert_uint_eq(aml_eisaid_value("PNP0303"), 0x0303d041);
	ck_assert_uint_eq(aml_eisaid_value("pnp0303"), 0);
	ck_assert_uint_eq(aml_eisaid_value("PNP03"), 0);

	aml_init(&a, buf, sizeof(buf));
	aml_name(&a, "_HID");
	aml_eisaid(&a, "PNP0501");
	ck_assert_int_eq(aml_finish(&a), sizeof(com_hid));
	ck_assert_mem_eq(buf, com_hid, sizeof(com_hid));

	aml_init(&a, buf, sizeof(buf));
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 2);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 0x100000000ULL);
	ck_assert_int_eq(aml_finish(&a), sizeof(ints));
	ck_assert_mem_eq(buf, ints, sizeof(ints));

	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "LNRO0005");
	ck_assert_int_eq(aml_finish(&a), sizeof(str));
	ck_assert_mem_eq(buf, str, sizeof(str));

	aml_init(&a, buf, sizeof(buf));
	aml_name(&a, "_CRS");
	aml_restemplate_begin(&a);
	aml_memory32_fixed(&a, true, 0xc0001000, 0x1000);
	aml_interrupt(&a, AML_INT_CONSUMER | AML_INT_EDGE, 5);
	aml_restemplate_end(&a);
	ck_assert_int_eq(aml_finish(&a), sizeof(crs));
	ck_assert_mem_eq(buf, crs, sizeof(crs));

	aml_init(&a, buf, sizeof(buf));
	aml_io(&a, 0x3f8, 0x3f8, 1, 8);
	ck_assert_int_eq(aml_finish(&a), sizeof(io));
	ck_assert_mem_eq(buf, io, sizeof(io));

	aml_init(&a, buf, sizeof(buf));
	aml_scope_begin(&a, "\\_SB");
	aml_device_begin(&a, "V000");
	aml_end(&a);
	aml_end(&a);
	ck_assert_int_eq(aml_finish(&a), sizeof(dev));
	ck_assert_mem_eq(buf, dev, sizeof(dev));

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "\\A.BC.DEFG");
	ck_assert_int_eq(aml_finish(&a), sizeof(multi));
	ck_assert_mem_eq(buf, multi, sizeof(multi));
}
END_TEST

/* PkgLength of 1, 2 and 3 bytes, at the boundaries. */
START_TEST(aml_pkglength_sizes)
{
	static uint8_t buf[8192], raw[6000];
	struct aml a;
	/* body sizes: 62 -> 1 byte (total 63); 63 -> 2 bytes (65);
	 * 4093 -> 2 bytes (4095); 4094 -> 3 bytes (4097) */
	static const struct { size_t body; unsigned n; size_t total; } cases[] = {
		{ 62, 1, 63 }, { 63, 2, 65 }, { 4093, 2, 4095 }, { 4094, 3, 4097 },
	};

	memset(raw, 0xAB, sizeof(raw));
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const uint8_t *p;
		size_t v;

		aml_init(&a, buf, sizeof(buf));
		aml_if_begin(&a);
		aml_bytes(&a, raw, cases[k].body);
		aml_end(&a);
		ck_assert_int_eq(aml_finish(&a), (long)(1 + cases[k].n + cases[k].body));
		ck_assert_uint_eq(buf[0], 0xa0);
		ck_assert_uint_eq((unsigned)(buf[1] >> 6) + 1, cases[k].n);
		p = buf + 1;
		v = pkglen(&p, buf + sizeof(buf));
		ck_assert_uint_eq(v, cases[k].total);
		ck_assert_ptr_eq(p, buf + 1 + cases[k].n);
		ck_assert_uint_eq(buf[1 + cases[k].n], 0xAB);
		ck_assert_uint_eq(buf[cases[k].total], 0xAB);
	}
}
END_TEST

START_TEST(aml_errors)
{
	uint8_t buf[16];
	struct aml a;

	aml_init(&a, buf, sizeof(buf));
	aml_string(&a, "a string longer than sixteen bytes");
	ck_assert_int_eq(aml_finish(&a), -E2BIG);

	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "lower");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "TOOLONG");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "0ABC");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_namestring(&a, "A..B");
	ck_assert_int_eq(aml_finish(&a), -EINVAL);

	aml_init(&a, buf, sizeof(buf));
	aml_end(&a);                       /* nothing open */
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	aml_init(&a, buf, sizeof(buf));
	aml_if_begin(&a);                  /* never closed */
	ck_assert_int_eq(aml_finish(&a), -EINVAL);
	/* Closing needs a byte more than there is. */
	aml_init(&a, buf, sizeof(buf));
	aml_if_begin(&a);
	aml_bytes(&a, "0123456789abcde", 15);
	aml_end(&a);
	ck_assert_int_eq(aml_finish(&a), -E2BIG);
}
END_TEST

START_TEST(dsdt_buffer_too_small)
{
	struct acpi_config c = base_config(1, ACPI_MAX_VIRTIO);
	uint8_t buf[512];
	long n;

	c.vmgenid = true;
	c.vmgenid_addr = ACPI_VMGENID_ADDR;
	c.ged_irq = 3;
	ck_assert_int_eq(acpi_dsdt_aml(&c, buf, sizeof(buf)), -E2BIG);
	n = acpi_dsdt_aml(&c, NULL, 0);
	ck_assert_int_eq(n, -E2BIG);
}
END_TEST

/* Limits: refused with a message, and guest memory unchanged. */
static void refused(struct acpi_config *c, int want, const char *msg)
{
	char err[256] = "";
	const uint8_t *area = tm_ptr(&mem, ACPI_TABLES_ADDR, 0x100000 - ACPI_TABLES_ADDR);

	ck_assert_int_eq(acpi_write(&mem, c, err, sizeof(err)), want);
	ck_assert_err(err, msg);
	ck_assert_msg(all_zero(area, 0x100000 - ACPI_TABLES_ADDR), "guest memory changed");
}

START_TEST(limits_refused)
{
	struct acpi_config c;

	c = base_config(33, 1);
	refused(&c, -E2BIG, "33 vCPUs");
	c = base_config(0, 1);
	refused(&c, -EINVAL, "0 vCPUs");
	c = base_config(1, 20);
	refused(&c, -E2BIG, "20 virtio devices");
	c = base_config(1, 2);
	c.virtio[1].irq = 24;
	refused(&c, -EINVAL, "IRQ 24");
	c = base_config(1, 2);
	c.virtio[0].base = 0xfffff800;
	refused(&c, -EINVAL, "not within 4 GiB");
	c = base_config(1, 2);
	c.virtio[0].size = 0;
	refused(&c, -EINVAL, "virtio device 0");
	c = base_config(1, 0);
	c.vmgenid = true;
	c.vmgenid_addr = ACPI_VMGENID_ADDR + 4;
	c.ged_irq = 3;
	refused(&c, -EINVAL, "VMGenID address");
	c.vmgenid_addr = ACPI_TABLES_ADDR + 0x100;
	refused(&c, -EINVAL, "VMGenID address");
	c.vmgenid_addr = 200 * MiB;                 /* outside this 128 MiB guest */
	refused(&c, -EINVAL, "VMGenID address");
	c.vmgenid_addr = ACPI_VMGENID_ADDR;
	c.ged_irq = 24;
	refused(&c, -EINVAL, "GED IRQ 24");
}
END_TEST

START_TEST(tables_outside_ram)
{
	struct acpi_config c = base_config(1, 1);
	struct guest_mem small;
	uint8_t *ram = calloc(1, 0x80000);
	char err[256] = "";

	ck_assert_ptr_nonnull(ram);
	small = (struct guest_mem){ .nr_regions = 1,
				    .regions[0] = { .gpa = 0, .size = 0x80000, .hva = ram } };
	ck_assert_int_eq(acpi_write(&small, &c, err, sizeof(err)), -EFAULT);
	ck_assert_err(err, "outside guest RAM");
	ck_assert(all_zero(ram, 0x80000));
	/* RAM that holds the tables but ends before the RSDP. */
	free(ram);
	ram = calloc(1, 0xE0010);
	ck_assert_ptr_nonnull(ram);
	small.regions[0].size = 0xE0010;
	small.regions[0].hva = ram;
	ck_assert_int_eq(acpi_write(&small, &c, err, sizeof(err)), -EFAULT);
	ck_assert(all_zero(ram, 0xE0010));
	free(ram);
}
END_TEST

START_TEST(cmdline_switch)
{
	ck_assert(acpi_cmdline_off("acpi=off"));
	ck_assert(acpi_cmdline_off("console=ttyS0 acpi=off reboot=k"));
	ck_assert(acpi_cmdline_off("console=ttyS0\tacpi=off"));
	ck_assert(!acpi_cmdline_off(""));
	ck_assert(!acpi_cmdline_off(NULL));
	ck_assert(!acpi_cmdline_off("console=ttyS0"));
	ck_assert(!acpi_cmdline_off("acpi=offx"));
	ck_assert(!acpi_cmdline_off("xacpi=off"));
	ck_assert(!acpi_cmdline_off("acpi=on"));
	ck_assert(!acpi_cmdline_off("acpi=of"));
	ck_assert(!acpi_cmdline_off("init=/bin/sh -- acpi=off"));
	ck_assert(!acpi_cmdline_off(DEFAULT_KERNEL_CMDLINE));
}
END_TEST

static const struct device_ops fake_ops[] = {
	{ .kind = "serial" }, { .kind = "i8042" }, { .kind = "boot-timer" },
	{ .kind = "virtio-blk" }, { .kind = "virtio-net" }, { .kind = "vmgenid" },
};

START_TEST(config_from_devices)
{
	struct device_list l = { 0 };
	struct acpi_config c;
	char err[256] = "";

	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[0] };
	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[1] };
	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[2], .mmio_base = BOOT_TIMER_ADDR };
	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[3], .mmio_base = VIRTIO_MMIO_BASE, .irq = 5 };
	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[4], .mmio_base = VIRTIO_MMIO_BASE + 0x1000,
					  .irq = 6 };
	ck_assert_int_eq(acpi_config_from_devices(&l, 4, &c, err, sizeof(err)), 0);
	ck_assert_uint_eq(c.nr_vcpus, 4);
	ck_assert(c.serial);
	ck_assert(c.i8042);
	ck_assert(!c.vmgenid);
	ck_assert_uint_eq(c.nr_virtio, 2);
	ck_assert_uint_eq(c.virtio[0].base, VIRTIO_MMIO_BASE);
	ck_assert_uint_eq(c.virtio[0].size, VIRTIO_MMIO_SIZE);
	ck_assert_uint_eq(c.virtio[0].irq, 5);
	ck_assert_uint_eq(c.virtio[1].base, VIRTIO_MMIO_BASE + 0x1000);
	ck_assert_uint_eq(c.virtio[1].irq, 6);

	l.devs[l.nr++] = (struct device){ .ops = &fake_ops[5], .irq = 3 };
	ck_assert_int_eq(acpi_config_from_devices(&l, 1, &c, err, sizeof(err)), 0);
	ck_assert(c.vmgenid);
	ck_assert_uint_eq(c.vmgenid_addr, ACPI_VMGENID_ADDR);
	ck_assert_uint_eq(c.ged_irq, 3);

	/* 20 virtio devices */
	l.nr = 0;
	for (unsigned i = 0; i < 20; i++)
		l.devs[l.nr++] = (struct device){ .ops = &fake_ops[3],
						  .mmio_base = VIRTIO_MMIO_BASE + i * 0x1000ULL,
						  .irq = 5 + i };
	ck_assert_int_eq(acpi_config_from_devices(&l, 1, &c, err, sizeof(err)), -E2BIG);
	ck_assert_err(err, "more than 19 virtio devices");
}
END_TEST

/* The RSDP's address reaches the guest through both boot protocols. */
START_TEST(rsdp_in_boot_structures)
{
	struct boot_layout bl = { .cmdline_addr = CMDLINE_ADDR, .rsdp_addr = ACPI_RSDP_ADDR };
	struct kernel_info ki = { .kind = KERNEL_ELF };

	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "console=ttyS0"), 0);
	ck_assert_uint_eq(get64(tm_ptr(&mem, ZERO_PAGE_ADDR + 0x070, 8)), ACPI_RSDP_ADDR);
	ck_assert_int_eq(pvh_write(&mem, &bl, "console=ttyS0"), 0);
	ck_assert_uint_eq(get64(tm_ptr(&mem, PVH_INFO_ADDR + 32, 8)), ACPI_RSDP_ADDR);
	bl.rsdp_addr = 0;
	ck_assert_int_eq(bootparams_write(&mem, &ki, &bl, "acpi=off"), 0);
	ck_assert_uint_eq(get64(tm_ptr(&mem, ZERO_PAGE_ADDR + 0x070, 8)), 0);
	ck_assert_int_eq(pvh_write(&mem, &bl, "acpi=off"), 0);
	ck_assert_uint_eq(get64(tm_ptr(&mem, PVH_INFO_ADDR + 32, 8)), 0);
}
END_TEST

/* The tables and the MP table (in the EBDA, below them) do not overlap,
 * and both survive each other. */
START_TEST(coexists_with_mptable)
{
	struct acpi_config c = base_config(32, ACPI_MAX_VIRTIO);
	char err[256] = "";

	ck_assert_int_eq(mptable_write(&mem, 32), 0);
	ck_assert_int_eq(acpi_write(&mem, &c, err, sizeof(err)), 0);
	ck_assert(!memcmp(tm_ptr(&mem, MPTABLE_ADDR, 4), "_MP_", 4));
	ck_assert_uint_ge(ACPI_TABLES_ADDR, 0xa0000);
	walk();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("acpi");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, chain_one_vcpu);
	tcase_add_test(tc, madt_32_vcpus);
	tcase_add_test(tc, dsdt_19_virtio);
	tcase_add_test(tc, dsdt_legacy_devices_optional);
	tcase_add_test(tc, vmgenid_and_ged_when_asked);
	tcase_add_test(tc, vmgenid_high_address);
	tcase_add_test(tc, aml_exact_bytes);
	tcase_add_test(tc, aml_pkglength_sizes);
	tcase_add_test(tc, aml_errors);
	tcase_add_test(tc, dsdt_buffer_too_small);
	tcase_add_test(tc, limits_refused);
	tcase_add_test(tc, tables_outside_ram);
	tcase_add_test(tc, cmdline_switch);
	tcase_add_test(tc, config_from_devices);
	tcase_add_test(tc, rsdp_in_boot_structures);
	tcase_add_test(tc, coexists_with_mptable);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
