/* SPDX-License-Identifier: Apache-2.0 */
/*
 * device.c — the device interface (struct device_ops) of every virtio-mmio
 * device: the transport's part here, the device's own part through its
 * virtio_dev_ops. Saved state: struct virtio_mmio_saved, then the
 * device's fixed-size state.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

void virtio_device_reset(void *transport)
{
	struct virtio_mmio *t = transport;

	virtio_mmio_lock(t);
	virtio_mmio_reset(t);
	virtio_mmio_unlock(t);
}

int virtio_device_quiesce(void *transport)
{
	struct virtio_mmio *t = transport;
	int r = 0;

	virtio_mmio_lock(t);
	if (t->ops->quiesce)
		r = t->ops->quiesce(t->dev);
	virtio_mmio_unlock(t);
	return r;
}

size_t virtio_device_state_size(void *transport)
{
	struct virtio_mmio *t = transport;

	return sizeof(struct virtio_mmio_saved) + t->ops->state_size;
}

int virtio_device_save(void *transport, void *buf, size_t len)
{
	struct virtio_mmio *t = transport;
	struct virtio_mmio_saved s;

	if (len != virtio_device_state_size(t))
		return -EINVAL;
	virtio_mmio_lock(t);
	virtio_mmio_save(t, &s);
	memcpy(buf, &s, sizeof(s));
	if (t->ops->state_size)
		t->ops->save(t->dev, (uint8_t *)buf + sizeof(s));
	virtio_mmio_unlock(t);
	return 0;
}

int virtio_device_restore(void *transport, const void *buf, size_t len, char *err, size_t errlen)
{
	struct virtio_mmio *t = transport;
	struct virtio_mmio_saved s;
	struct virtio_mmio_state before;
	int r;

	/* Snapshot format 1.0 saved two queue slots (VIRTIO_MAX_QUEUES was 2
	 * before the balloon): such a state is read with the others empty. */
	const size_t old_slots = 2, gone = (VIRTIO_MAX_QUEUES - old_slots) * sizeof(struct virtq_saved);
	size_t tsize = sizeof(s);

	if (len == virtio_device_state_size(t) - gone && t->ops->nr_queues <= old_slots) {
		tsize = sizeof(s) - gone;
	} else if (len != virtio_device_state_size(t)) {
		snprintf(err, errlen, "%s: state is %zu bytes, expected %zu", t->name, len,
			 virtio_device_state_size(t));
		return -EINVAL;
	}
	memset(&s, 0, sizeof(s));
	memcpy(&s, buf, tsize);
	virtio_mmio_lock(t);
	before = t->state;
	r = virtio_mmio_restore(t, &s, err, errlen);
	if (r == 0 && t->ops->state_size) {
		r = t->ops->restore(t->dev, (const uint8_t *)buf + tsize, err, errlen);
		if (r < 0)
			t->state = before;
	}
	virtio_mmio_unlock(t);
	return r;
}

void virtio_device_restored(void *transport)
{
	struct virtio_mmio *t = transport;

	virtio_mmio_lock(t);
	if (virtio_mmio_driver_ok(t)) {
		if (t->ops->activate && t->ops->activate(t->dev) < 0)
			virtio_mmio_needs_reset(t, "activation after restore failed");
		/* Buffers the driver made available while the VM was being
		 * saved are served now. */
		for (unsigned q = 0; q < t->ops->nr_queues && virtio_mmio_driver_ok(t); q++)
			if (t->state.queues[q].ready && t->ops->notify)
				t->ops->notify(t->dev, q);
	}
	/* An interrupt raised just before the snapshot may not have reached
	 * the saved IOAPIC state: raise it again (drivers read InterruptStatus,
	 * so a spurious one is harmless). */
	if (t->state.interrupt_status && t->raise_irq)
		t->raise_irq(t->irq_opaque);
	virtio_mmio_unlock(t);
}

/* Rejected chains, summed over the device's queues. */
static void queue_metrics(struct virtio_mmio *t, struct metric_sink *sink)
{
	struct virtq_stats sum;

	memset(&sum, 0, sizeof(sum));
	for (unsigned q = 0; t && q < t->ops->nr_queues && q < VIRTIO_MAX_QUEUES; q++) {
		const struct virtq_stats *s = &t->state.queues[q].stats;

		sum.bad_desc += s->bad_desc;
		sum.loops += s->loops;
		sum.out_of_ram += s->out_of_ram;
		sum.nested_indirect += s->nested_indirect;
		sum.bad_indirect += s->bad_indirect;
		sum.oversized += s->oversized;
		sum.bad_order += s->bad_order;
		sum.bad_avail += s->bad_avail;
		sum.bad_rings += s->bad_rings;
	}
	sink->put(sink, "queue_bad_desc", sum.bad_desc);
	sink->put(sink, "queue_loops", sum.loops);
	sink->put(sink, "queue_out_of_ram", sum.out_of_ram);
	sink->put(sink, "queue_nested_indirect", sum.nested_indirect);
	sink->put(sink, "queue_bad_indirect", sum.bad_indirect);
	sink->put(sink, "queue_oversized", sum.oversized);
	sink->put(sink, "queue_bad_order", sum.bad_order);
	sink->put(sink, "queue_bad_avail", sum.bad_avail);
	sink->put(sink, "queue_bad_rings", sum.bad_rings);
	/* Interrupts raised (summed into Firecracker's interrupts.triggers). */
	sink->put(sink, "interrupt_triggers", t ? t->irqs_raised : 0);
}

void virtio_device_metrics(const struct virtio_dev_ops *ops, void *transport,
			   struct metric_sink *sink)
{
	struct virtio_mmio *t = transport;

	if (!t) {
		if (ops->metrics)
			ops->metrics(NULL, sink);
		queue_metrics(NULL, sink);
		return;
	}
	virtio_mmio_lock(t);
	if (t->ops->metrics)
		t->ops->metrics(t->dev, sink);
	queue_metrics(t, sink);
	virtio_mmio_unlock(t);
}

void virtio_device_destroy(void *transport)
{
	struct virtio_mmio *t = transport;

	if (!t)
		return;
	virtio_mmio_detach(t);
	t->ops->destroy(t->dev);
}
