/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi_find.c — the virtio-mmio devices from the ACPI DSDT, for every
 * scenario, when the command line names none (a VMM that describes its
 * devices through ACPI only, as QEMU microvm does with acpi=on).
 *
 * Lenient where scen_acpi.c is strict: any problem (no RSDP, a bad
 * checksum, no FADT or DSDT) just means "no devices from ACPI"; the `acpi`
 * scenario is where the tables are judged.
 */
#include "guest.h"
#include "acpi_aml.h"

#define LIMIT 0xc0000000ULL           /* tables below 3 GiB, as scen_acpi.c */

static struct aml_result found;       /* large: static */

static bool sum_ok(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s = (uint8_t)(s + *p++);
	return s == 0;
}

static bool in_range(uint64_t a, uint64_t len)
{
	return a && len <= LIMIT && a <= LIMIT - len;
}

static uint64_t le(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A table with a plausible length and a correct checksum, or NULL. */
static const uint8_t *table(uint64_t a, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	if (!in_range(a, 36))
		return NULL;
	t = phys_ptr(a);
	len = (uint32_t)le(t + 4, 4);
	if ((sig && memcmp(t, sig, 4)) || len < 36 || len > (4u << 20) || !in_range(a, len) ||
	    !sum_ok(t, len))
		return NULL;
	return t;
}

static const uint8_t *rsdp(void)
{
	const uint8_t *p;

	if (g_boot.rsdp && in_range(g_boot.rsdp, 20)) {
		p = phys_ptr(g_boot.rsdp);
		if (!memcmp(p, "RSD PTR ", 8) && sum_ok(p, 20))
			return p;
	}
	for (uint64_t a = 0xe0000; a < 0x100000; a += 16) {
		p = phys_ptr(a);
		if (!memcmp(p, "RSD PTR ", 8) && sum_ok(p, 20))
			return p;
	}
	return NULL;
}

unsigned acpi_virtio_from_dsdt(void)
{
	const uint8_t *r = rsdp(), *sdt, *dsdt = NULL;
	bool x;
	unsigned esz, n = 0;

	if (!r)
		return 0;
	x = r[15] >= 2 && le(r + 24, 8) != 0;
	esz = x ? 8 : 4;
	sdt = table(x ? le(r + 24, 8) : le(r + 16, 4), x ? "XSDT" : "RSDT");
	if (!sdt)
		return 0;
	for (uint32_t off = 36; off + esz <= (uint32_t)le(sdt + 4, 4) && !dsdt; off += esz) {
		const uint8_t *f = table(le(sdt + off, esz), "FACP");
		uint32_t flen;
		uint64_t d;

		if (!f)
			continue;
		flen = (uint32_t)le(f + 4, 4);
		d = flen >= 148 ? le(f + 140, 8) : 0;
		if (!d && flen >= 44)
			d = le(f + 40, 4);
		dsdt = table(d, "DSDT");
	}
	if (!dsdt)
		return 0;
	aml_result_init(&found);
	aml_walk(dsdt + 36, (uint32_t)le(dsdt + 4, 4) - 36, &found);
	for (unsigned i = 0; i < found.ndev && g_boot.nvirtio < MAX_VIRTIO; i++) {
		const struct aml_dev *d = &found.dev[i];
		struct aml_res res;

		if (strcmp(d->hid, "LNRO0005") && strcmp(d->cid, "LNRO0005"))
			continue;
		if (!d->crs || aml_parse_crs(d->crs, d->crs_len, &res) || res.nmem != 1 ||
		    res.nirq != 1)
			continue;
		g_boot.virtio[g_boot.nvirtio].addr = res.mem_base[0];
		g_boot.virtio[g_boot.nvirtio].size = res.mem_len[0];
		g_boot.virtio[g_boot.nvirtio].irq = res.irq[0].gsi;
		g_boot.nvirtio++;
		n++;
	}
	return n;
}
