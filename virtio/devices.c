/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices.c — builds the VM's virtio devices from its configuration and
 * places them: device i at VIRTIO_MMIO_BASE + i * 4 KiB, IRQ
 * VIRTIO_IRQ_BASE + i. The root drive comes first (it is /dev/vda, as in
 * Firecracker), then the other drives in config order, then the NICs.
 * A new virtio device kind is one file plus one line in `kinds` below.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

/* One virtio device kind: how many the config has, and how to build the
 * i-th (in placement order) as a transport. */
struct virtio_kind {
	unsigned (*count)(const struct vm_config *cfg);
	int (*create)(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
		      struct virtio_mmio **t, const char **id, char *err, size_t errlen);
	const struct device_ops *ops;
};

static unsigned blk_count(const struct vm_config *cfg)
{
	return cfg->nr_drives;
}

/* The i-th drive in placement order: the root drive, then the others. */
static const struct drive_config *nth_drive(const struct vm_config *cfg, unsigned i)
{
	unsigned n = 0;

	for (unsigned pass = 0; pass < 2; pass++)
		for (unsigned k = 0; k < cfg->nr_drives; k++)
			if (cfg->drives[k].is_root_device == (pass == 0) && n++ == i)
				return &cfg->drives[k];
	return NULL;
}

static int blk_create(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
		      struct virtio_mmio **t, const char **id, char *err, size_t errlen)
{
	const struct drive_config *c = nth_drive(cfg, i);
	struct virtio_blk *b;
	int r = virtio_blk_create(c, svc->mem, svc, &b, err, errlen);

	if (r < 0)
		return r;
	*t = virtio_blk_transport(b);
	*id = c->drive_id;
	return 0;
}

static unsigned net_count(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static int net_create(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
		      struct virtio_mmio **t, const char **id, char *err, size_t errlen)
{
	struct virtio_net *n;
	int r = virtio_net_create(&cfg->nets[i], svc->mem, svc, &n, err, errlen);

	if (r < 0)
		return r;
	*t = virtio_net_transport(n);
	*id = cfg->nets[i].iface_id;
	return 0;
}

static unsigned balloon_count(const struct vm_config *cfg)
{
	return cfg->balloon.set ? 1 : 0;
}

static int balloon_create(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
			  struct virtio_mmio **t, const char **id, char *err, size_t errlen)
{
	struct virtio_balloon *b;
	int r = virtio_balloon_create(&cfg->balloon, svc->mem, svc, &b, err, errlen);

	(void)i;
	if (r < 0)
		return r;
	*t = virtio_balloon_transport(b);
	*id = "";   /* one balloon: metrics section "balloon" */
	return 0;
}

static unsigned rng_count(const struct vm_config *cfg)
{
	return cfg->entropy.set ? 1 : 0;
}

static int rng_create(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
		      struct virtio_mmio **t, const char **id, char *err, size_t errlen)
{
	struct virtio_rng *r;
	int rc = virtio_rng_create(&cfg->entropy, svc->mem, svc, &r, err, errlen);

	(void)i;
	if (rc < 0)
		return rc;
	*t = virtio_rng_transport(r);
	*id = "";   /* one entropy device: metrics section "entropy" */
	return 0;
}

static unsigned vsock_count(const struct vm_config *cfg)
{
	return cfg->vsock.set ? 1 : 0;
}

static int vsock_create(const struct vm_config *cfg, unsigned i, const struct vm_services *svc,
			struct virtio_mmio **t, const char **id, char *err, size_t errlen)
{
	struct virtio_vsock *v;
	int r = virtio_vsock_create(&cfg->vsock, svc->mem, svc, &v, err, errlen);

	(void)i;
	if (r < 0)
		return r;
	*t = virtio_vsock_transport(v);
	*id = "";   /* one vsock device: metrics section "vsock" only */
	return 0;
}

static const struct virtio_kind kinds[] = {
	{ blk_count, blk_create, &virtio_device_ops_blk },
	{ net_count, net_create, &virtio_device_ops_net },
	{ rng_count, rng_create, &virtio_device_ops_rng },
	{ balloon_count, balloon_create, &virtio_device_ops_balloon },
	{ vsock_count, vsock_create, &virtio_device_ops_vsock },
};

bool virtio_device_is(const struct device *d)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (d->ops == kinds[k].ops)
			return true;
	return false;
}

int virtio_devices_create(const struct vm_services *svc, const struct vm_config *cfg,
			  struct device_list *list, char *err, size_t errlen)
{
	unsigned total = 0, slot = 0, first = list->nr;
	int r = 0;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		total += kinds[k].count(cfg);
	/* One IOAPIC pin each, VIRTIO_IRQ_BASE..23: KVM would take an irqfd
	 * on a GSI past the IOAPIC and route it nowhere. */
	if (cfg->nr_drives > VM_MAX_DRIVES || cfg->nr_nets > VM_MAX_NETS ||
	    total > 24 - VIRTIO_IRQ_BASE || list->nr + total > DEVICE_MAX) {
		snprintf(err, errlen,
			 "too many devices: %u drives, %u network interfaces (at most %d in all: IRQ %d..23)",
			 cfg->nr_drives, cfg->nr_nets, 24 - VIRTIO_IRQ_BASE, VIRTIO_IRQ_BASE);
		return -EINVAL;
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]) && r == 0; k++) {
		for (unsigned i = 0; i < kinds[k].count(cfg) && r == 0; i++, slot++) {
			uint64_t base = VIRTIO_MMIO_BASE + (uint64_t)slot * VIRTIO_MMIO_SIZE;
			unsigned irq = VIRTIO_IRQ_BASE + slot;
			struct virtio_mmio *t;
			struct device d;
			const char *id;

			r = kinds[k].create(cfg, i, svc, &t, &id, err, errlen);
			if (r < 0)
				break;
			d = (struct device){ .ops = kinds[k].ops, .dev = t, .mmio_base = base,
					     .irq = irq };
			snprintf(d.id, sizeof(d.id), "%s", id);
			r = virtio_mmio_attach(t, svc, base, irq, err, errlen);
			if (r == 0)
				r = device_list_add(list, &d);
			if (r < 0)
				kinds[k].ops->destroy(t);
		}
	}
	if (r < 0) {
		while (list->nr > first) {
			struct device *d = &list->devs[--list->nr];

			d->ops->destroy(d->dev);
		}
		return r;
	}
	return 0;
}

static void *find(struct device_list *list, const struct device_ops *ops, const char *id)
{
	for (unsigned i = 0; list && i < list->nr; i++)
		if (list->devs[i].ops == ops && strcmp(list->devs[i].id, id) == 0)
			return virtio_device_of(&list->devs[i]);
	return NULL;
}

struct virtio_blk *virtio_devices_blk(struct device_list *list, const char *drive_id)
{
	return find(list, &virtio_device_ops_blk, drive_id);
}

struct virtio_net *virtio_devices_net(struct device_list *list, const char *iface_id)
{
	return find(list, &virtio_device_ops_net, iface_id);
}

struct virtio_balloon *virtio_devices_balloon(struct device_list *list)
{
	return find(list, &virtio_device_ops_balloon, "");
}
