/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmio.c — the virtio-mmio version 2 register state machine (virtio 1.2
 * §4.2.2). Pure: operates on struct virtio_mmio and the device's ops; the
 * wiring to KVM lives in mmio_bus.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

/* Transport features every wisp device offers besides its own. */
#define TRANSPORT_FEATURES \
	(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
	 VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      uint64_t device_features, const struct guest_mem *mem)
{
	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->dev = dev;
	t->device_features = device_features | TRANSPORT_FEATURES;
	t->mem = mem;
	t->irq_fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		t->notify_fd[i] = -1;
		t->state.queues[i].max_size = i < ops->nr_queues ? ops->queue_max_size : 0;
		virtq_reset(&t->state.queues[i]);
	}
	snprintf(t->name, sizeof(t->name), "%s", ops->name);
	pthread_mutex_init(&t->lock, NULL);
}

void virtio_mmio_lock(struct virtio_mmio *t)
{
	pthread_mutex_lock(&t->lock);
}

void virtio_mmio_unlock(struct virtio_mmio *t)
{
	pthread_mutex_unlock(&t->lock);
}

bool virtio_mmio_driver_ok(const struct virtio_mmio *t)
{
	return (t->state.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(t->state.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit)
{
	return bit < 64 && (t->state.driver_features & VIRTIO_BIT(bit));
}

static void raise_int(struct virtio_mmio *t, uint32_t why)
{
	t->state.interrupt_status |= why;
	t->irqs_raised++;
	if (t->raise_irq)
		t->raise_irq(t->irq_opaque);
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q)
{
	if (q >= VIRTIO_MAX_QUEUES)
		return;
	if (virtq_should_signal(&t->state.queues[q]))
		raise_int(t, VIRTIO_INT_USED_RING);
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
	t->state.config_generation++;
	if (t->state.status & VIRTIO_STATUS_DRIVER_OK)
		raise_int(t, VIRTIO_INT_CONFIG);
}

void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why)
{
	if (t->state.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
		return;
	log_warn("%s: device needs reset: %s", t->name, why);
	t->state.status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
	if (t->state.status & VIRTIO_STATUS_DRIVER_OK)
		raise_int(t, VIRTIO_INT_CONFIG);
}

void virtio_mmio_reset(struct virtio_mmio *t)
{
	if (t->ops->reset)
		t->ops->reset(t->dev);
	t->state.status = 0;
	t->state.driver_features = 0;
	t->state.device_features_sel = 0;
	t->state.driver_features_sel = 0;
	t->state.queue_sel = 0;
	t->state.interrupt_status = 0;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&t->state.queues[i]);
}

static struct virtq *selected(struct virtio_mmio *t)
{
	if (t->state.queue_sel >= t->ops->nr_queues)
		return NULL;
	return &t->state.queues[t->state.queue_sel];
}

static uint32_t reg_read(struct virtio_mmio *t, uint64_t off)
{
	struct virtio_mmio_state *s = &t->state;
	struct virtq *q = selected(t);

	switch (off) {
	case VMMIO_MAGIC: return VIRTIO_MMIO_MAGIC;
	case VMMIO_VERSION: return VIRTIO_MMIO_VERSION;
	case VMMIO_DEVICE_ID: return t->ops->device_id;
	case VMMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VMMIO_DEVICE_FEATURES:
		if (s->device_features_sel > 1)
			return 0;
		return (uint32_t)(t->device_features >> (32 * s->device_features_sel));
	case VMMIO_QUEUE_NUM_MAX: return q ? q->max_size : 0;
	case VMMIO_QUEUE_NUM: return q ? q->size : 0;
	case VMMIO_QUEUE_READY: return q ? q->ready : 0;
	case VMMIO_INTERRUPT_STATUS: return s->interrupt_status;
	case VMMIO_STATUS: return s->status ? s->status : t->reset_status;
	case VMMIO_QUEUE_DESC_LOW: return q ? (uint32_t)q->desc_addr : 0;
	case VMMIO_QUEUE_DESC_HIGH: return q ? (uint32_t)(q->desc_addr >> 32) : 0;
	case VMMIO_QUEUE_DRIVER_LOW: return q ? (uint32_t)q->avail_addr : 0;
	case VMMIO_QUEUE_DRIVER_HIGH: return q ? (uint32_t)(q->avail_addr >> 32) : 0;
	case VMMIO_QUEUE_DEVICE_LOW: return q ? (uint32_t)q->used_addr : 0;
	case VMMIO_QUEUE_DEVICE_HIGH: return q ? (uint32_t)(q->used_addr >> 32) : 0;
	/* No shared memory regions: every id reads as absent (-1). */
	case VMMIO_SHM_LEN_LOW: case VMMIO_SHM_LEN_HIGH:
	case VMMIO_SHM_BASE_LOW: case VMMIO_SHM_BASE_HIGH:
		return 0xffffffffu;
	case VMMIO_CONFIG_GENERATION: return s->config_generation;
	default:
		return 0;  /* write-only and reserved registers */
	}
}

static void set_addr(uint64_t *a, bool high, uint32_t v)
{
	if (high)
		*a = (*a & 0xffffffffULL) | ((uint64_t)v << 32);
	else
		*a = (*a & ~0xffffffffULL) | v;
}

static void queue_ready(struct virtio_mmio *t, struct virtq *q, uint32_t v)
{
	char err[160];

	if (!v) {
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	if (!(t->state.status & VIRTIO_STATUS_FEATURES_OK)) {
		log_warn("%s: QueueReady before FEATURES_OK ignored", t->name);
		return;
	}
	q->event_idx = virtio_mmio_has_feature(t, VIRTIO_F_EVENT_IDX);
	q->indirect = virtio_mmio_has_feature(t, VIRTIO_F_INDIRECT_DESC);
	if (virtq_check(q, t->mem, err, sizeof(err)) < 0) {
		log_warn("%s: queue %u: %s", t->name, t->state.queue_sel, err);
		virtio_mmio_needs_reset(t, "invalid queue configuration");
		return;
	}
	q->ready = true;
}

static void status_write(struct virtio_mmio *t, uint32_t v)
{
	struct virtio_mmio_state *s = &t->state;
	uint32_t old = s->status, added;

	if (v == 0) {
		virtio_mmio_reset(t);
		return;
	}
	/* Device status is 8 bits (virtio 1.2 4.2.2); a state with more would
	 * be saved but refused on restore (found by fuzz_virtio_mmio). */
	if (v & ~0xffu) {
		log_warn("%s: status 0x%x has bits above 0xff; ignored", t->name, v);
		return;
	}
	/* The device owns NEEDS_RESET; the driver only adds bits. */
	v = (v & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	if ((v & old) != old) {
		log_warn("%s: status 0x%x would clear bits of 0x%x; ignored", t->name, v, old);
		return;
	}
	added = v & ~old;
	if (added & VIRTIO_STATUS_FEATURES_OK) {
		uint64_t f = s->driver_features;

		if (!(old & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_DRIVER)) {
			log_warn("%s: FEATURES_OK without DRIVER refused", t->name);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else if (f & ~t->device_features) {
			log_warn("%s: driver features 0x%llx not offered (0x%llx); FEATURES_OK refused",
				 t->name, (unsigned long long)f,
				 (unsigned long long)t->device_features);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else if (!(f & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			log_warn("%s: legacy driver (no VERSION_1); FEATURES_OK refused", t->name);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	if (added & VIRTIO_STATUS_DRIVER_OK) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			log_warn("%s: DRIVER_OK without FEATURES_OK refused", t->name);
			v &= ~VIRTIO_STATUS_DRIVER_OK;
		} else {
			s->status = v;
			if (t->ops->activate && t->ops->activate(t->dev) < 0)
				virtio_mmio_needs_reset(t, "activation failed");
			return;
		}
	}
	s->status = v;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	struct virtio_mmio_state *s = &t->state;
	struct virtq *q = selected(t);
	bool features_open = (s->status & VIRTIO_STATUS_DRIVER) &&
			     !(s->status & VIRTIO_STATUS_FEATURES_OK);
	bool queue_open = q && !q->ready;

	switch (off) {
	case VMMIO_DEVICE_FEATURES_SEL: s->device_features_sel = v; return;
	case VMMIO_DRIVER_FEATURES_SEL: s->driver_features_sel = v; return;
	case VMMIO_DRIVER_FEATURES:
		if (!features_open || s->driver_features_sel > 1) {
			log_debug("%s: DriverFeatures write ignored (status 0x%x, sel %u)",
				  t->name, s->status, s->driver_features_sel);
			return;
		}
		if (s->driver_features_sel == 0)
			s->driver_features = (s->driver_features & ~0xffffffffULL) | v;
		else
			s->driver_features = (s->driver_features & 0xffffffffULL) | ((uint64_t)v << 32);
		return;
	case VMMIO_QUEUE_SEL: s->queue_sel = v; return;
	case VMMIO_QUEUE_NUM:
		if (queue_open)
			q->size = v > 0xffff ? 0 : (uint16_t)v;  /* checked at QueueReady */
		return;
	case VMMIO_QUEUE_READY:
		if (q)
			queue_ready(t, q, v);
		return;
	case VMMIO_QUEUE_NOTIFY:
		if (v >= t->ops->nr_queues || !virtio_mmio_driver_ok(t))
			return;
		if (t->kick)
			t->kick(t->irq_opaque, v);
		else if (t->ops->notify)
			t->ops->notify(t->dev, v);
		return;
	case VMMIO_INTERRUPT_ACK: s->interrupt_status &= ~v; return;
	case VMMIO_STATUS: status_write(t, v); return;
	case VMMIO_QUEUE_DESC_LOW: case VMMIO_QUEUE_DESC_HIGH:
		if (queue_open)
			set_addr(&q->desc_addr, off == VMMIO_QUEUE_DESC_HIGH, v);
		return;
	case VMMIO_QUEUE_DRIVER_LOW: case VMMIO_QUEUE_DRIVER_HIGH:
		if (queue_open)
			set_addr(&q->avail_addr, off == VMMIO_QUEUE_DRIVER_HIGH, v);
		return;
	case VMMIO_QUEUE_DEVICE_LOW: case VMMIO_QUEUE_DEVICE_HIGH:
		if (queue_open)
			set_addr(&q->used_addr, off == VMMIO_QUEUE_DEVICE_HIGH, v);
		return;
	case VMMIO_SHM_SEL: s->shm_sel = v; return;
	default:
		log_debug("%s: write 0x%x to read-only/reserved register 0x%llx ignored",
			  t->name, v, (unsigned long long)off);
		return;
	}
}

void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned len)
{
	memset(data, 0, len);
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		size_t clen = t->ops->config_len ? t->ops->config_len(t->dev) : 0;

		if (t->ops->config_read && c <= clen && len <= clen - c)
			t->ops->config_read(t->dev, (uint32_t)c, data, len);
	} else if (len == 4 && off % 4 == 0) {
		uint32_t v = reg_read(t, off);

		memcpy(data, &v, 4);
	} else {
		log_debug("%s: %u-byte read at 0x%llx ignored", t->name, len,
			  (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const uint8_t *data, unsigned len)
{
	pthread_mutex_lock(&t->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t c = off - VIRTIO_MMIO_CONFIG;
		size_t clen = t->ops->config_len ? t->ops->config_len(t->dev) : 0;

		if (t->ops->config_write && c <= clen && len <= clen - c)
			t->ops->config_write(t->dev, (uint32_t)c, data, len);
	} else if (len == 4 && off % 4 == 0) {
		uint32_t v;

		memcpy(&v, data, 4);
		reg_write(t, off, v);
	} else {
		log_debug("%s: %u-byte write at 0x%llx ignored", t->name, len,
			  (unsigned long long)off);
	}
	pthread_mutex_unlock(&t->lock);
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* ---------------- saved state ---------------- */

void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_saved *out)
{
	const struct virtio_mmio_state *s = &t->state;

	memset(out, 0, sizeof(*out));
	out->device_features = t->device_features;
	out->driver_features = s->driver_features;
	out->device_features_sel = s->device_features_sel;
	out->driver_features_sel = s->driver_features_sel;
	out->queue_sel = s->queue_sel;
	out->status = s->status;
	out->interrupt_status = s->interrupt_status;
	out->config_generation = s->config_generation;
	out->shm_sel = s->shm_sel;
	out->nr_queues = t->ops->nr_queues;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &s->queues[i];
		struct virtq_saved *o = &out->queues[i];

		o->max_size = q->max_size;
		o->size = q->size;
		o->ready = q->ready;
		o->event_idx = q->event_idx;
		o->indirect = q->indirect;
		o->broken = q->broken;
		o->desc_addr = q->desc_addr;
		o->avail_addr = q->avail_addr;
		o->used_addr = q->used_addr;
		o->last_avail_idx = q->last_avail_idx;
		o->next_used_idx = q->next_used_idx;
		o->signalled_used = q->signalled_used;
		o->signalled_used_valid = q->signalled_used_valid;
	}
}

int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_saved *in, char *err,
			size_t errlen)
{
	struct virtq qs[VIRTIO_MAX_QUEUES];
	char why[200];

	if (in->device_features != t->device_features) {
		snprintf(err, errlen, "%s: the snapshot's device offered features 0x%llx, this one "
			 "offers 0x%llx (was it configured differently?)", t->name,
			 (unsigned long long)in->device_features,
			 (unsigned long long)t->device_features);
		return -EINVAL;
	}
	/* Before FEATURES_OK the driver may have written features that were
	 * never offered (FEATURES_OK is then refused): a state a running
	 * device can be saved in (found by fuzz_virtio_mmio). */
	if ((in->status & VIRTIO_STATUS_FEATURES_OK) && (in->driver_features & ~t->device_features)) {
		snprintf(err, errlen, "%s: negotiated features 0x%llx were never offered", t->name,
			 (unsigned long long)in->driver_features);
		return -EINVAL;
	}
	if (in->nr_queues != t->ops->nr_queues) {
		snprintf(err, errlen, "%s: %u queues saved, the device has %u", t->name,
			 in->nr_queues, t->ops->nr_queues);
		return -EINVAL;
	}
	if (in->status & ~0xffu) {
		snprintf(err, errlen, "%s: invalid status 0x%x", t->name, in->status);
		return -EINVAL;
	}
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq_saved *o = &in->queues[i];
		struct virtq *q = &qs[i];

		memset(q, 0, sizeof(*q));
		q->max_size = t->state.queues[i].max_size;
		if (o->max_size != q->max_size) {
			snprintf(err, errlen, "%s: queue %u: saved maximum size %u, the device's is %u",
				 t->name, i, o->max_size, q->max_size);
			return -EINVAL;
		}
		if (o->ready > 1 || o->event_idx > 1 || o->indirect > 1 || o->broken > 1 ||
		    o->signalled_used_valid > 1) {
			snprintf(err, errlen, "%s: queue %u: invalid flags", t->name, i);
			return -EINVAL;
		}
		q->size = o->size;
		q->ready = o->ready;
		q->event_idx = o->event_idx;
		q->indirect = o->indirect;
		q->broken = o->broken;
		q->desc_addr = o->desc_addr;
		q->avail_addr = o->avail_addr;
		q->used_addr = o->used_addr;
		q->last_avail_idx = o->last_avail_idx;
		q->next_used_idx = o->next_used_idx;
		q->signalled_used = o->signalled_used;
		q->signalled_used_valid = o->signalled_used_valid;
		if (q->ready && virtq_check(q, t->mem, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: queue %u: %s", t->name, i, why);
			return -EINVAL;
		}
		q->stats = t->state.queues[i].stats;   /* counters stay this process's */
	}
	t->state.driver_features = in->driver_features;
	t->state.device_features_sel = in->device_features_sel;
	t->state.driver_features_sel = in->driver_features_sel;
	t->state.queue_sel = in->queue_sel;
	t->state.status = in->status;
	t->state.interrupt_status = in->interrupt_status;
	t->state.config_generation = in->config_generation;
	t->state.shm_sel = in->shm_sel;
	memcpy(t->state.queues, qs, sizeof(qs));
	return 0;
}
