/* SPDX-License-Identifier: Apache-2.0 */
/* bus.c — address ranges to device handlers (PIO and MMIO). */
#include <errno.h>

#include "vm.h"

static bool overlaps(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

int bus_add(struct bus *bus, uint64_t base, uint64_t size, const struct bus_ops *ops,
	    void *opaque, const char *name)
{
	if (size == 0 || base + size < base) {
		log_error("bus: device %s has an invalid range 0x%llx+0x%llx", name,
			  (unsigned long long)base, (unsigned long long)size);
		return -EINVAL;
	}
	if (bus->n >= BUS_MAX_DEVICES) {
		log_error("bus: too many devices (adding %s)", name);
		return -ENOSPC;
	}
	for (unsigned i = 0; i < bus->n; i++) {
		if (overlaps(base, size, bus->devs[i].base, bus->devs[i].size)) {
			log_error("bus: device %s at 0x%llx overlaps %s", name,
				  (unsigned long long)base, bus->devs[i].name);
			return -EBUSY;
		}
	}
	bus->devs[bus->n++] = (struct bus_device){ base, size, ops, opaque, name };
	return 0;
}

const struct bus_device *bus_find(const struct bus *bus, uint64_t addr, unsigned len)
{
	for (unsigned i = 0; i < bus->n; i++) {
		const struct bus_device *d = &bus->devs[i];

		if (addr >= d->base && addr - d->base < d->size && len <= d->size - (addr - d->base))
			return d;
	}
	return NULL;
}

int vm_bus_register(struct vm *vm, enum bus_kind kind, uint64_t base, uint64_t size,
		    const struct bus_ops *ops, void *opaque, const char *name)
{
	return bus_add(kind == BUS_PIO ? &vm->pio : &vm->mmio, base, size, ops, opaque, name);
}
