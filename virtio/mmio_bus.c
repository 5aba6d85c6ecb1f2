/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio_bus.c — puts a virtio-mmio transport on the VM: the 4 KiB register
 * window on the MMIO bus (vCPU threads), one KVM ioeventfd per queue on
 * the VMM event loop, and a KVM irqfd for the interrupt line.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "virtio.h"

static void bus_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	virtio_mmio_read(opaque, off, data, len);
}

static void bus_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	virtio_mmio_write(opaque, off, data, len);
}

static const struct bus_ops virtio_bus_ops = {
	.read = bus_read,
	.write = bus_write,
};

static void raise_irqfd(void *opaque)
{
	struct virtio_mmio *t = opaque;
	uint64_t one = 1;

	if (t->irq_fd >= 0 && write(t->irq_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("%s: irqfd write failed: %s", t->name, strerror(errno));
}

/* QueueNotify reached the register handler (e.g. a width the ioeventfd
 * does not match): hand it to the VMM thread through the same eventfd. */
static void kick_eventfd(void *opaque, unsigned q)
{
	struct virtio_mmio *t = opaque;
	uint64_t one = 1;

	if (q < VIRTIO_MAX_QUEUES && t->notify_fd[q] >= 0 &&
	    write(t->notify_fd[q], &one, sizeof(one)) != sizeof(one))
		log_warn("%s: notify eventfd write failed: %s", t->name, strerror(errno));
}

static void on_notify(int fd, uint32_t events, void *opaque)
{
	struct virtio_mmio *t = opaque;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("%s: notify eventfd read failed: %s", t->name, strerror(errno));
	for (unsigned q = 0; q < t->ops->nr_queues; q++) {
		if (t->notify_fd[q] != fd)
			continue;
		virtio_mmio_lock(t);
		t->queue_events[q]++;
		if (virtio_mmio_driver_ok(t) && t->ops->notify)
			t->ops->notify(t->dev, q);
		virtio_mmio_unlock(t);
	}
}

int virtio_mmio_attach(struct virtio_mmio *t, const struct vm_services *svc, uint64_t base,
		       unsigned irq, char *err, size_t errlen)
{
	int r;

	t->svc = *svc;
	t->attached = true;
	t->base = base;
	t->irq = irq;
	snprintf(t->name, sizeof(t->name), "%s@0x%llx", t->ops->name, (unsigned long long)base);

	r = svc->irqfd(svc->vm, irq);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot wire IRQ %u: %s", t->name, irq, strerror(-r));
		return r;
	}
	t->irq_fd = r;
	for (unsigned q = 0; q < t->ops->nr_queues; q++) {
		r = svc->ioeventfd(svc->vm, base + VMMIO_QUEUE_NOTIFY, 4, true, q);
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot create the queue %u notify eventfd: %s",
				 t->name, q, strerror(-r));
			return r;
		}
		t->notify_fd[q] = r;
		r = svc->fd_add(svc->loop, t->notify_fd[q], EPOLLIN, on_notify, t);
		if (r < 0) {
			snprintf(err, errlen, "%s: cannot watch the queue %u notify eventfd: %s",
				 t->name, q, strerror(-r));
			return r;
		}
	}
	virtio_mmio_lock(t);
	t->irq_opaque = t;
	t->raise_irq = raise_irqfd;
	t->kick = kick_eventfd;
	virtio_mmio_unlock(t);
	r = svc->bus_register(svc->vm, BUS_MMIO, base, VIRTIO_MMIO_SIZE, &virtio_bus_ops, t,
			      t->name);
	if (r < 0) {
		snprintf(err, errlen, "%s: cannot register MMIO window 0x%llx: %s", t->name,
			 (unsigned long long)base, strerror(-r));
		return r;
	}
	return 0;
}

void virtio_mmio_detach(struct virtio_mmio *t)
{
	if (!t->attached)
		return;
	virtio_mmio_lock(t);
	t->raise_irq = NULL;
	t->kick = NULL;
	virtio_mmio_unlock(t);
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (t->notify_fd[q] < 0)
			continue;
		t->svc.fd_del(t->svc.loop, t->notify_fd[q]);
		close(t->notify_fd[q]);
		t->notify_fd[q] = -1;
	}
	if (t->irq_fd >= 0) {
		close(t->irq_fd);
		t->irq_fd = -1;
	}
	t->attached = false;
}
