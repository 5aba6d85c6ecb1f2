/* SPDX-License-Identifier: Apache-2.0 */
/*
 * devices.c — builds the VM's virtio devices from its configuration and
 * places them: device i at VIRTIO_MMIO_BASE + i * 4 KiB, IRQ
 * VIRTIO_IRQ_BASE + i. The root drive comes first (it is /dev/vda, as in
 * Firecracker), then the other drives in config order, then the NICs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

#define MAX_DEVICES (VM_MAX_DRIVES + VM_MAX_NETS)

struct virtio_devices {
	struct virtio_host host;
	unsigned nr;
	struct {
		enum virtio_kind kind;
		struct virtio_blk *blk;
		struct virtio_net *net;
		uint64_t addr;
		unsigned irq;
	} dev[MAX_DEVICES];
};

static struct virtio_mmio *transport_of(const struct virtio_devices *d, unsigned i)
{
	return d->dev[i].kind == VIRTIO_KIND_BLK ? virtio_blk_transport(d->dev[i].blk)
						 : virtio_net_transport(d->dev[i].net);
}

static int place(struct virtio_devices *d, struct vm *vm, char *err, size_t errlen)
{
	unsigned i = d->nr;
	uint64_t addr = VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE;
	unsigned irq = VIRTIO_IRQ_BASE + i;
	int r = virtio_mmio_attach(transport_of(d, i), vm, addr, irq, err, errlen);

	if (r < 0) {
		virtio_mmio_detach(transport_of(d, i));
		return r;
	}
	d->dev[i].addr = addr;
	d->dev[i].irq = irq;
	d->nr++;
	return 0;
}

static int add_blk(struct virtio_devices *d, struct vm *vm, const struct drive_config *c,
		   char *err, size_t errlen)
{
	struct virtio_blk *b;
	int r = virtio_blk_create(c, vm_guest_mem(vm), &d->host, &b, err, errlen);

	if (r < 0)
		return r;
	d->dev[d->nr].kind = VIRTIO_KIND_BLK;
	d->dev[d->nr].blk = b;
	r = place(d, vm, err, errlen);
	if (r < 0)
		virtio_blk_destroy(b);
	return r;
}

int virtio_devices_create(struct vm *vm, const struct vm_config *cfg,
			  struct virtio_devices **out, char *err, size_t errlen)
{
	struct virtio_devices *d;
	int r = 0;

	/* One IOAPIC pin each, VIRTIO_IRQ_BASE..23: KVM would take an irqfd
	 * on a GSI past the IOAPIC and route it nowhere. */
	if (cfg->nr_drives > VM_MAX_DRIVES || cfg->nr_nets > VM_MAX_NETS ||
	    cfg->nr_drives + cfg->nr_nets > 24 - VIRTIO_IRQ_BASE) {
		snprintf(err, errlen,
			 "too many devices: %u drives, %u network interfaces (at most %d in all: IRQ %d..23)",
			 cfg->nr_drives, cfg->nr_nets, 24 - VIRTIO_IRQ_BASE, VIRTIO_IRQ_BASE);
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	d->host = (struct virtio_host){ .loop = vm_evloop(vm), .fd_add = evloop_add,
					.fd_mod = evloop_mod, .fd_del = evloop_del };
	for (unsigned i = 0; i < cfg->nr_drives && r == 0; i++)
		if (cfg->drives[i].is_root_device)
			r = add_blk(d, vm, &cfg->drives[i], err, errlen);
	for (unsigned i = 0; i < cfg->nr_drives && r == 0; i++)
		if (!cfg->drives[i].is_root_device)
			r = add_blk(d, vm, &cfg->drives[i], err, errlen);
	for (unsigned i = 0; i < cfg->nr_nets && r == 0; i++) {
		struct virtio_net *n;

		r = virtio_net_create(&cfg->nets[i], vm_guest_mem(vm), &d->host, &n, err, errlen);
		if (r < 0)
			break;
		d->dev[d->nr].kind = VIRTIO_KIND_NET;
		d->dev[d->nr].net = n;
		r = place(d, vm, err, errlen);
		if (r < 0)
			virtio_net_destroy(n);
	}
	if (r < 0) {
		log_error("%s", err);
		virtio_devices_destroy(d);
		return r;
	}
	*out = d;
	return 0;
}

void virtio_devices_destroy(struct virtio_devices *d)
{
	if (!d)
		return;
	for (unsigned i = 0; i < d->nr; i++) {
		virtio_mmio_detach(transport_of(d, i));
		if (d->dev[i].kind == VIRTIO_KIND_BLK)
			virtio_blk_destroy(d->dev[i].blk);
		else
			virtio_net_destroy(d->dev[i].net);
	}
	free(d);
}

unsigned virtio_devices_count(const struct virtio_devices *d)
{
	return d ? d->nr : 0;
}

int virtio_devices_info(const struct virtio_devices *d, unsigned i,
			struct virtio_device_info *out)
{
	if (!d || i >= d->nr)
		return -ENOENT;
	out->kind = d->dev[i].kind;
	out->id = d->dev[i].kind == VIRTIO_KIND_BLK ? virtio_blk_id(d->dev[i].blk)
						    : virtio_net_id(d->dev[i].net);
	out->addr = d->dev[i].addr;
	out->irq = d->dev[i].irq;
	out->transport = transport_of(d, i);
	return 0;
}

int virtio_devices_cmdline(const struct virtio_devices *d, char *cmdline, size_t len)
{
	size_t used = strnlen(cmdline, len);

	for (unsigned i = 0; d && i < d->nr; i++) {
		int n;

		if (used >= len)
			return -ENOSPC;
		n = snprintf(cmdline + used, len - used, " virtio_mmio.device=4K@0x%llx:%u",
			     (unsigned long long)d->dev[i].addr, d->dev[i].irq);
		if (n < 0 || (size_t)n >= len - used) {
			cmdline[used] = '\0';
			return -ENOSPC;
		}
		used += (size_t)n;
	}
	return 0;
}

struct virtio_blk *virtio_devices_blk(struct virtio_devices *d, const char *drive_id)
{
	for (unsigned i = 0; d && i < d->nr; i++)
		if (d->dev[i].kind == VIRTIO_KIND_BLK &&
		    strcmp(virtio_blk_id(d->dev[i].blk), drive_id) == 0)
			return d->dev[i].blk;
	return NULL;
}

struct virtio_net *virtio_devices_net(struct virtio_devices *d, const char *iface_id)
{
	for (unsigned i = 0; d && i < d->nr; i++)
		if (d->dev[i].kind == VIRTIO_KIND_NET &&
		    strcmp(virtio_net_id(d->dev[i].net), iface_id) == 0)
			return d->dev[i].net;
	return NULL;
}
