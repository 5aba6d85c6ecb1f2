/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.c — struct acpi_config from the VM's device list, and the
 * command-line off switch.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acpi.h"

bool acpi_cmdline_off(const char *cmdline)
{
	const char *p = cmdline;

	while (p && *p) {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		n = strcspn(p, " \t\n");
		if (n == 2 && !strncmp(p, "--", 2))
			return false;   /* the rest belongs to init */
		if (n == 8 && !strncmp(p, "acpi=off", 8))
			return true;
		p += n;
	}
	return false;
}

int acpi_config_from_devices(const struct device_list *l, unsigned nr_vcpus,
			     struct acpi_config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->nr_vcpus = nr_vcpus;
	for (unsigned i = 0; i < l->nr; i++) {
		const struct device *d = &l->devs[i];
		const char *kind = d->ops && d->ops->kind ? d->ops->kind : "";

		if (!strncmp(kind, "virtio-", 7)) {
			if (c->nr_virtio == ACPI_MAX_VIRTIO) {
				if (err && errlen)
					snprintf(err, errlen,
						 "ACPI: more than %u virtio devices to describe",
						 ACPI_MAX_VIRTIO);
				return -E2BIG;
			}
			c->virtio[c->nr_virtio++] = (struct acpi_mmio_dev){
				.base = d->mmio_base, .size = VIRTIO_MMIO_SIZE, .irq = d->irq,
			};
		} else if (!strcmp(kind, "serial")) {
			c->serial = true;
		} else if (!strcmp(kind, "i8042")) {
			c->i8042 = true;
		} else if (!strcmp(kind, "vmgenid")) {
			/* The VMGenID device (vmm/devices/vmgenid.c): its ID at
			 * ACPI_VMGENID_ADDR, its IRQ the GED's. */
			c->vmgenid = true;
			c->vmgenid_addr = ACPI_VMGENID_ADDR;
			c->ged_irq = d->irq;
		}
	}
	return 0;
}
