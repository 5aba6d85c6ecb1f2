/* SPDX-License-Identifier: Apache-2.0 */
/*
 * acpi.h — ACPI tables for the guest: RSDP, XSDT, FADT (hardware-reduced),
 * MADT and a DSDT describing the virtio-mmio devices, COM1, the i8042 and,
 * when asked, a VMGenID device and the Generic Event Device that notifies it.
 *
 * Pure code over a struct guest_mem (no KVM): unit-tested with malloc'd
 * regions in tests/unit/test_acpi.c.
 *
 * Layout (all below 1 MiB, outside the RAM the e820 map hands out):
 *   ACPI_TABLES_ADDR .. ACPI_TABLES_END   XSDT, FADT, MADT, DSDT
 *   ACPI_VMGENID_ADDR                     one page holding the 16-byte ID
 *   ACPI_RSDP_ADDR                        the RSDP (16-byte aligned, in the
 *                                         BIOS area Linux scans as a fallback)
 */
#ifndef WISP_ACPI_H
#define WISP_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm.h"

#define ACPI_RSDP_ADDR     0xE0000ULL   /* RSDP (also found by a BIOS-area scan) */
#define ACPI_TABLES_ADDR   0xA0000ULL   /* XSDT, FADT, MADT, DSDT ... */
#define ACPI_TABLES_END    0xDF000ULL
#define ACPI_VMGENID_ADDR  0xDF000ULL   /* page holding the 16-byte VM generation ID */
#define ACPI_MAX_VIRTIO    19
#define ACPI_MAX_VCPUS     VM_MAX_VCPUS /* 32 */

struct acpi_mmio_dev { uint64_t base; uint32_t size; uint32_t irq; };

struct acpi_config {
	unsigned nr_vcpus;
	unsigned nr_virtio;
	struct acpi_mmio_dev virtio[ACPI_MAX_VIRTIO];
	bool serial;            /* COM1: 0x3f8, IRQ 4 */
	bool i8042;             /* 0x60/0x64, IRQ 1 */
	bool vmgenid;           /* a VMGenID device and the GED that notifies it */
	uint64_t vmgenid_addr;  /* guest-physical address of the 16-byte ID */
	uint32_t ged_irq;       /* the GED's interrupt (IOAPIC pin, edge, active high) */
};

/* Write RSDP, XSDT, FADT, MADT, DSDT into guest memory (pure: any struct guest_mem,
 * unit-testable with malloc'd regions). 0 or -errno with a message in err. */
int acpi_write(const struct guest_mem *mem, const struct acpi_config *c, char *err, size_t errlen);

/* What acpi_write checks and refuses (before writing anything):
 *  - nr_vcpus 0 (-EINVAL) or above ACPI_MAX_VCPUS (-E2BIG);
 *  - nr_virtio above ACPI_MAX_VIRTIO (-E2BIG);
 *  - a virtio window of size 0 or not below 4 GiB, an IRQ not an IOAPIC pin
 *    (0-23), a GED IRQ not a pin, a VMGenID address not 8-byte aligned,
 *    outside guest RAM or inside the tables' area (-EINVAL);
 *  - tables larger than [ACPI_TABLES_ADDR, ACPI_TABLES_END) (-E2BIG);
 *  - guest RAM not covering the tables' area and the RSDP (-EFAULT). */

/* The layout acpi_write used (for logs and tests): where each table went. */
struct acpi_layout {
	uint64_t rsdp, xsdt, fadt, madt, dsdt;
	uint32_t xsdt_len, fadt_len, madt_len, dsdt_len;
};
int acpi_write_layout(const struct guest_mem *mem, const struct acpi_config *c,
		      struct acpi_layout *out, char *err, size_t errlen);

/* The DSDT's AML body (what follows its 36-byte header) into buf: bytes
 * written, or -E2BIG when cap is too small, -EINVAL on a bad config. */
long acpi_dsdt_aml(const struct acpi_config *c, uint8_t *buf, size_t cap);

/* True when the kernel command line turns ACPI off ("acpi=off" as a word
 * before any "--"): wisp then writes no tables and passes no RSDP, and the
 * guest boots from the MP table and the virtio_mmio.device= words. */
bool acpi_cmdline_off(const char *cmdline);

/* The tables' input from the VM's devices: every virtio device (kind
 * "virtio-*": its MMIO window and IRQ), the "serial" and "i8042" devices,
 * and a "vmgenid" device (ID at ACPI_VMGENID_ADDR, its IRQ is the GED's).
 * -E2BIG with a message when there are more virtio devices than
 * ACPI_MAX_VIRTIO. */
int acpi_config_from_devices(const struct device_list *l, unsigned nr_vcpus,
			     struct acpi_config *c, char *err, size_t errlen);

#endif /* WISP_ACPI_H */
