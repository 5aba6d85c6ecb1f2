/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tables.c — RSDP, XSDT, FADT, MADT and DSDT in guest memory.
 *
 * What Linux needs, and what Firecracker (src/vmm/src/acpi/, src/acpi-tables/)
 * and QEMU microvm give it:
 *  - RSDP revision 2 at ACPI_RSDP_ADDR (in the 0xE0000-0xFFFFF BIOS area that
 *    Linux scans when the boot protocol does not pass it), no RSDT, the XSDT
 *    address; both checksums.
 *  - XSDT listing the FADT and the MADT (the DSDT is reached from the FADT).
 *  - FADT revision 6.5 (header revision 6, minor 5), HW_REDUCED_ACPI (no PM
 *    timer, no SCI, no PM1 blocks), no fixed power/sleep buttons, "no VGA"
 *    in the IA-PC boot flags, X_DSDT only, hypervisor vendor "WISPVMM".
 *  - MADT: the local APIC address, one enabled local APIC per vCPU (ACPI
 *    processor UID = APIC id = index), the IOAPIC (id 0, GSI base 0), ISA
 *    IRQ 0 overridden to GSI 2 (KVM's default routing wires the PIT to IOAPIC
 *    pin 2), and LINT1 = NMI on every local APIC (as in the MP table).
 *  - DSDT (revision 2: 64-bit integers): Scope (\_SB) with one LNRO0005
 *    device per virtio-mmio window, COM1 (PNP0501), the i8042 (PNP0303),
 *    and when asked the VMGenID device VGEN and the generic event device
 *    GED_ whose _EVT notifies VGEN (0x80) when the GED's interrupt fires.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"

#define OEM_ID          "WISP  "      /* 6 bytes */
#define OEM_REVISION    1
#define CREATOR_ID      "WISP"
#define CREATOR_REV     1
#define HYPERVISOR_ID   "WISPVMM\0"   /* FADT hypervisor vendor identity, 8 bytes */

#define SDT_HEADER_LEN  36
#define RSDP_LEN        36
#define FADT_LEN        276           /* ACPI 6.5 */
#define FADT_REVISION   6
#define FADT_MINOR      5
#define XSDT_ENTRIES    2             /* FADT, MADT */
#define MADT_LAPIC_LEN  8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN    10
#define MADT_NMI_LEN    6
#define DSDT_MAX_AML    16384         /* far above what 19 devices + the rest need */
#define IOAPIC_PINS     24

/* FADT flags and IA-PC boot architecture flags (ACPI 6.5 tables 5.10, 5.11). */
#define FADT_F_PWR_BUTTON      (1u << 4)
#define FADT_F_SLP_BUTTON      (1u << 5)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
#define IAPC_VGA_NOT_PRESENT   (1u << 2)

/* MADT structure types (ACPI 6.5 table 5.21). */
#define MADT_TYPE_LAPIC     0
#define MADT_TYPE_IOAPIC    1
#define MADT_TYPE_ISO       2
#define MADT_TYPE_LAPIC_NMI 4

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)(0 - sum);
}

static size_t align16(size_t v)
{
	return (v + 15) & ~(size_t)15;
}

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* The common header; the checksum is set once the table is complete. */
static void sdt_header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev, const char table_id[8])
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, table_id, 8);
	put32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put32(t + 32, CREATOR_REV);
}

static void sdt_checksum(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

static uint32_t madt_len(unsigned nr_vcpus)
{
	return SDT_HEADER_LEN + 8 + nr_vcpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN + MADT_ISO_LEN +
	       MADT_NMI_LEN;
}

/* ---------------- DSDT ---------------- */
static void dsdt_virtio(struct aml *a, unsigned i, const struct acpi_mmio_dev *d)
{
	char name[8];

	snprintf(name, sizeof(name), "V%03u", i % 1000);
	aml_device_begin(a, name);
	aml_name_string(a, "_HID", "LNRO0005");
	aml_name_integer(a, "_UID", i);
	aml_name_integer(a, "_CCA", 1);   /* cache-coherent DMA */
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_memory32_fixed(a, true, (uint32_t)d->base, d->size);
	aml_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, d->irq);
	aml_restemplate_end(a);
	aml_end(a);
}

static void dsdt_serial(struct aml *a)
{
	aml_device_begin(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name_integer(a, "_UID", 0);
	aml_name_string(a, "_DDN", "COM1");
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, 4);
	aml_io(a, 0x3f8, 0x3f8, 1, 8);
	aml_restemplate_end(a);
	aml_end(a);
}

static void dsdt_i8042(struct aml *a)
{
	aml_device_begin(a, "PS2_");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0303");
	aml_method_begin(a, "_STA", 0, false);
	aml_byte(a, AML_RETURN);
	aml_integer(a, 0x0f);   /* present, enabled, shown, functioning */
	aml_end(a);
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_io(a, 0x60, 0x60, 1, 1);
	aml_io(a, 0x64, 0x64, 1, 1);
	aml_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, 1);
	aml_restemplate_end(a);
	aml_end(a);
}

/* Firecracker's VGEN (src/vmm/src/devices/acpi/vmgenid.rs): Linux's
 * drivers/virt/vmgenid.c matches _HID "VMGENCTR" and reads ADDR, a package
 * of the ID's address as two 32-bit integers, low then high. */
static void dsdt_vmgenid(struct aml *a, uint64_t addr)
{
	aml_device_begin(a, "VGEN");
	aml_name_string(a, "_HID", "VMGENCTR");
	aml_name_string(a, "_CID", "VM_Gen_Counter");
	aml_name_string(a, "_DDN", "VM_Gen_Counter");
	aml_name(a, "ADDR");
	aml_package_begin(a, 2);
	aml_dword(a, (uint32_t)addr);
	aml_dword(a, (uint32_t)(addr >> 32));
	aml_end(a);
	aml_end(a);
}

/* The generic event device (ACPI 6.5 section 5.6.9; Linux drivers/acpi/evged.c):
 * its _CRS interrupt runs _EVT(gsi), which notifies VGEN. */
static void dsdt_ged(struct aml *a, uint32_t irq)
{
	aml_device_begin(a, "GED_");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name(a, "_CRS");
	aml_restemplate_begin(a);
	aml_interrupt(a, AML_INT_CONSUMER | AML_INT_EDGE, irq);
	aml_restemplate_end(a);
	aml_method_begin(a, "_EVT", 1, true);
	aml_if_begin(a);
	aml_byte(a, AML_LEQUAL);
	aml_byte(a, AML_ARG0);
	aml_integer(a, irq);
	aml_byte(a, AML_NOTIFY);
	aml_namestring(a, "\\_SB_.VGEN");
	aml_integer(a, 0x80);
	aml_end(a);   /* If */
	aml_end(a);   /* Method */
	aml_end(a);   /* Device */
}

long acpi_dsdt_aml(const struct acpi_config *c, uint8_t *buf, size_t cap)
{
	struct aml a;

	if (c->nr_virtio > ACPI_MAX_VIRTIO)
		return -E2BIG;
	aml_init(&a, buf, cap);
	aml_scope_begin(&a, "\\_SB_");
	for (unsigned i = 0; i < c->nr_virtio; i++)
		dsdt_virtio(&a, i, &c->virtio[i]);
	if (c->serial)
		dsdt_serial(&a);
	if (c->i8042)
		dsdt_i8042(&a);
	if (c->vmgenid) {
		dsdt_vmgenid(&a, c->vmgenid_addr);
		dsdt_ged(&a, c->ged_irq);
	}
	aml_end(&a);
	return aml_finish(&a);
}

/* ---------------- checks ---------------- */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int check_config(const struct guest_mem *mem, const struct acpi_config *c,
			char *err, size_t errlen)
{
	if (c->nr_vcpus == 0)
		return fail(err, errlen, -EINVAL, "ACPI: 0 vCPUs");
	if (c->nr_vcpus > ACPI_MAX_VCPUS)
		return fail(err, errlen, -E2BIG, "ACPI: %u vCPUs, more than the %u the MADT describes",
			    c->nr_vcpus, ACPI_MAX_VCPUS);
	if (c->nr_virtio > ACPI_MAX_VIRTIO)
		return fail(err, errlen, -E2BIG,
			    "ACPI: %u virtio devices, more than the %u the DSDT describes",
			    c->nr_virtio, ACPI_MAX_VIRTIO);
	for (unsigned i = 0; i < c->nr_virtio; i++) {
		const struct acpi_mmio_dev *d = &c->virtio[i];

		if (d->size == 0 || d->base >= (1ULL << 32) || d->base + d->size > (1ULL << 32))
			return fail(err, errlen, -EINVAL,
				    "ACPI: virtio device %u window 0x%" PRIx64 "+0x%x is not within 4 GiB",
				    i, d->base, d->size);
		if (d->irq >= IOAPIC_PINS)
			return fail(err, errlen, -EINVAL,
				    "ACPI: virtio device %u IRQ %u is not an IOAPIC pin (0-%d)",
				    i, d->irq, IOAPIC_PINS - 1);
	}
	if (c->vmgenid) {
		if (c->ged_irq >= IOAPIC_PINS)
			return fail(err, errlen, -EINVAL, "ACPI: GED IRQ %u is not an IOAPIC pin (0-%d)",
				    c->ged_irq, IOAPIC_PINS - 1);
		if (c->vmgenid_addr % 8 || !guest_mem_ptr(mem, c->vmgenid_addr, 16) ||
		    overlaps(c->vmgenid_addr, 16, ACPI_TABLES_ADDR, ACPI_TABLES_END - ACPI_TABLES_ADDR) ||
		    overlaps(c->vmgenid_addr, 16, ACPI_RSDP_ADDR, RSDP_LEN))
			return fail(err, errlen, -EINVAL,
				    "ACPI: VMGenID address 0x%" PRIx64
				    " is not 8-byte aligned guest RAM outside the ACPI tables",
				    c->vmgenid_addr);
	}
	return 0;
}

/* ---------------- all tables ---------------- */
int acpi_write_layout(const struct guest_mem *mem, const struct acpi_config *c,
		      struct acpi_layout *out, char *err, size_t errlen)
{
	const uint64_t area = ACPI_TABLES_END - ACPI_TABLES_ADDR;
	struct acpi_layout l = { .rsdp = ACPI_RSDP_ADDR };
	uint8_t *aml = NULL, *t = NULL, rsdp[RSDP_LEN];
	size_t off, total;
	long n;
	int r;

	r = check_config(mem, c, err, errlen);
	if (r < 0)
		return r;
	aml = malloc(DSDT_MAX_AML);
	if (!aml)
		return fail(err, errlen, -ENOMEM, "ACPI: out of memory");
	n = acpi_dsdt_aml(c, aml, DSDT_MAX_AML);
	if (n < 0) {
		r = fail(err, errlen, (int)n, "ACPI: cannot encode the DSDT (%s)",
			 n == -E2BIG ? "larger than its buffer" : "invalid name or structure");
		goto out;
	}

	/* Where each table goes: XSDT, FADT, MADT, DSDT, 16-byte aligned. */
	l.xsdt = ACPI_TABLES_ADDR;
	l.xsdt_len = SDT_HEADER_LEN + XSDT_ENTRIES * 8;
	off = align16(l.xsdt_len);
	l.fadt = ACPI_TABLES_ADDR + off;
	l.fadt_len = FADT_LEN;
	off = align16(off + l.fadt_len);
	l.madt = ACPI_TABLES_ADDR + off;
	l.madt_len = madt_len(c->nr_vcpus);
	off = align16(off + l.madt_len);
	l.dsdt = ACPI_TABLES_ADDR + off;
	l.dsdt_len = (uint32_t)(SDT_HEADER_LEN + (size_t)n);
	total = off + l.dsdt_len;
	if (total > area) {
		r = fail(err, errlen, -E2BIG,
			 "ACPI: the tables need %zu bytes, more than the %" PRIu64 " at 0x%llx",
			 total, area, ACPI_TABLES_ADDR);
		goto out;
	}
	if (!guest_mem_ptr(mem, ACPI_TABLES_ADDR, total) || !guest_mem_ptr(mem, ACPI_RSDP_ADDR, RSDP_LEN)) {
		r = fail(err, errlen, -EFAULT,
			 "ACPI: tables area 0x%llx-0x%llx or RSDP at 0x%llx is outside guest RAM",
			 ACPI_TABLES_ADDR, ACPI_TABLES_ADDR + total, ACPI_RSDP_ADDR);
		goto out;
	}
	t = calloc(1, total);
	if (!t) {
		r = fail(err, errlen, -ENOMEM, "ACPI: out of memory");
		goto out;
	}

	/* XSDT */
	{
		uint8_t *x = t + (l.xsdt - ACPI_TABLES_ADDR);

		sdt_header(x, "XSDT", l.xsdt_len, 1, "WISPXSDT");
		put64(x + SDT_HEADER_LEN, l.fadt);
		put64(x + SDT_HEADER_LEN + 8, l.madt);
		sdt_checksum(x, l.xsdt_len);
	}
	/* FADT */
	{
		uint8_t *f = t + (l.fadt - ACPI_TABLES_ADDR);

		sdt_header(f, "FACP", FADT_LEN, FADT_REVISION, "WISPFACP");
		put16(f + 109, IAPC_VGA_NOT_PRESENT);
		put32(f + 112, FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON);
		f[131] = FADT_MINOR;
		put64(f + 140, l.dsdt);                 /* X_DSDT */
		memcpy(f + 268, HYPERVISOR_ID, 8);
		sdt_checksum(f, FADT_LEN);
	}
	/* MADT */
	{
		uint8_t *m = t + (l.madt - ACPI_TABLES_ADDR), *e;

		sdt_header(m, "APIC", l.madt_len, 6, "WISPAPIC");
		put32(m + 36, (uint32_t)LAPIC_ADDR);
		put32(m + 40, 0);                       /* flags: no PC-AT dual 8259 */
		e = m + 44;
		for (unsigned i = 0; i < c->nr_vcpus; i++, e += MADT_LAPIC_LEN) {
			e[0] = MADT_TYPE_LAPIC;
			e[1] = MADT_LAPIC_LEN;
			e[2] = (uint8_t)i;                  /* ACPI processor UID */
			e[3] = (uint8_t)i;                  /* APIC id */
			put32(e + 4, 1);                    /* enabled */
		}
		e[0] = MADT_TYPE_IOAPIC;
		e[1] = MADT_IOAPIC_LEN;
		e[2] = 0;                               /* IOAPIC id */
		e[3] = 0;
		put32(e + 4, (uint32_t)IOAPIC_ADDR);
		put32(e + 8, 0);                        /* GSI base */
		e += MADT_IOAPIC_LEN;
		e[0] = MADT_TYPE_ISO;
		e[1] = MADT_ISO_LEN;
		e[2] = 0;                               /* bus: ISA */
		e[3] = 0;                               /* source: IRQ 0 */
		put32(e + 4, 2);                        /* GSI 2 */
		put16(e + 8, 0);                        /* flags: conforms to the bus */
		e += MADT_ISO_LEN;
		e[0] = MADT_TYPE_LAPIC_NMI;
		e[1] = MADT_NMI_LEN;
		e[2] = 0xff;                            /* all processors */
		put16(e + 3, 0);                        /* flags: conforms */
		e[5] = 1;                               /* LINT1 */
		sdt_checksum(m, l.madt_len);
	}
	/* DSDT */
	{
		uint8_t *d = t + (l.dsdt - ACPI_TABLES_ADDR);

		sdt_header(d, "DSDT", l.dsdt_len, 2, "WISPDSDT");
		memcpy(d + SDT_HEADER_LEN, aml, (size_t)n);
		sdt_checksum(d, l.dsdt_len);
	}
	/* RSDP (ACPI 6.5 section 5.2.5.3) */
	memset(rsdp, 0, sizeof(rsdp));
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;                                   /* revision: ACPI 2.0+ */
	put32(rsdp + 16, 0);                            /* no RSDT */
	put32(rsdp + 20, RSDP_LEN);
	put64(rsdp + 24, l.xsdt);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, RSDP_LEN);

	/* Everything checked and built: write. */
	guest_mem_write(mem, ACPI_TABLES_ADDR, t, total);
	guest_mem_write(mem, ACPI_RSDP_ADDR, rsdp, sizeof(rsdp));
	if (out)
		*out = l;
	r = 0;
out:
	free(t);
	free(aml);
	return r;
}

int acpi_write(const struct guest_mem *mem, const struct acpi_config *c, char *err, size_t errlen)
{
	return acpi_write_layout(mem, c, NULL, err, errlen);
}
