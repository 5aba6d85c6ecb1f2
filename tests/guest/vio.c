/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio.c — virtio-mmio version 2 transport and split virtqueues for the test
 * guest (virtio 1.2 §2.7, §3.1, §4.2), plus the bump allocator that gives
 * the rings and DMA buffers their guest-physical memory.
 */
#include "vio.h"

extern char _image_end[];   /* guest.ld */

/* ---------------- bump allocator ---------------- */
static uint64_t heap_cur, heap_end;
static bool heap_ready;

static void heap_init(void)
{
	uint64_t start = ((uint64_t)(uintptr_t)_image_end + 4095) & ~4095ULL;

	heap_ready = true;
	heap_cur = heap_end = start;
	for (unsigned i = 0; i < g_boot.nmap; i++) {
		const struct mem_range *r = &g_boot.map[i];

		if (r->type == E820_RAM && r->addr <= start && start < r->addr + r->size) {
			heap_end = r->addr + r->size;
			break;
		}
	}
	if (heap_end > paging_mapped_end())
		heap_end = paging_mapped_end();
}

void *ram_alloc(uint64_t size, uint64_t align)
{
	uint64_t a;

	if (!heap_ready)
		heap_init();
	if (!align)
		align = 1;
	a = (heap_cur + align - 1) & ~(align - 1);
	if (a < heap_cur || a > heap_end || size > heap_end - a)
		return NULL;
	heap_cur = a + size;
	return phys_ptr(a);
}

uint64_t ram_alloc_left(void)
{
	if (!heap_ready)
		heap_init();
	return heap_end - heap_cur;
}

uint64_t ram_top(void)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < g_boot.nmap; i++)
		if (g_boot.map[i].type == E820_RAM &&
		    g_boot.map[i].addr + g_boot.map[i].size > top)
			top = g_boot.map[i].addr + g_boot.map[i].size;
	return top;
}

/* ---------------- transport ---------------- */
static void set_err(struct vdev *d, const char *fmt, ...) PRINTF(2, 3);
static void set_err(struct vdev *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
}

int vio_probe(struct vdev *d, unsigned index)
{
	struct vq keep[ARRAY_SIZE(d->q)];
	uint32_t magic, version;

	/* Forget everything but the ring memory (a re-probe reuses it). */
	memcpy(keep, d->q, sizeof(keep));
	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < ARRAY_SIZE(d->q); i++) {
		d->q[i].desc = keep[i].desc;
		d->q[i].size = keep[i].size;
	}
	d->index = index;
	if (index >= g_boot.nvirtio) {
		set_err(d, "no virtio_mmio.device entry #%u on the command line (%u given)",
			index, g_boot.nvirtio);
		return -1;
	}
	d->base = g_boot.virtio[index].addr;
	d->irq = g_boot.virtio[index].irq;
	magic = vio_read(d, VIO_MAGIC);
	if (magic != VIRTIO_MMIO_MAGIC_VALUE) {
		set_err(d, "window 0x%lx: magic 0x%x, not virtio-mmio", (unsigned long)d->base,
			magic);
		return -1;
	}
	version = vio_read(d, VIO_VERSION);
	if (version != 2) {
		set_err(d, "window 0x%lx: virtio-mmio version %u, need 2 (modern)",
			(unsigned long)d->base, version);
		return -1;
	}
	d->device_id = vio_read(d, VIO_DEVICE_ID);
	return 0;
}

void vio_reset(struct vdev *d)
{
	vio_write(d, VIO_STATUS, 0);
	/* A device may take a while to retire what was in flight (virtio-blk
	 * Async: the VMM thread reaps it); Status reads 0 once it has. */
	for (unsigned i = 0; i < 200000 && vio_read(d, VIO_STATUS) != 0; i++)
		cpu_relax();
}

uint8_t vio_cfg8(const struct vdev *d, unsigned off)
{
	return mmio_read8(d->base + VIO_CONFIG + off);
}

uint32_t vio_cfg32(const struct vdev *d, unsigned off)
{
	return mmio_read32(d->base + VIO_CONFIG + off);
}

uint64_t vio_cfg64(const struct vdev *d, unsigned off)
{
	uint32_t gen, lo, hi;

	do {
		gen = vio_read(d, VIO_CONFIG_GEN);
		lo = vio_cfg32(d, off);
		hi = vio_cfg32(d, off + 4);
	} while (gen != vio_read(d, VIO_CONFIG_GEN));
	return (uint64_t)hi << 32 | lo;
}

static int queue_setup(struct vdev *d, unsigned i, unsigned qsize)
{
	struct vq *q = &d->q[i];
	uint32_t max;
	uint16_t n;
	uint64_t desc, avail, used, bytes;

	vio_write(d, VIO_QUEUE_SEL, i);
	if (vio_read(d, VIO_QUEUE_READY)) {
		set_err(d, "queue %u is already ready after reset", i);
		return -1;
	}
	max = vio_read(d, VIO_QUEUE_NUM_MAX);
	if (!max) {
		set_err(d, "queue %u is not available (QueueNumMax 0)", i);
		return -1;
	}
	if (qsize > max)
		qsize = max;
	if (qsize > 32768)
		qsize = 32768;
	for (n = 1; (unsigned)n * 2 <= qsize; n *= 2)
		;
	/* desc: 16n (align 16); avail: 6 + 2n; used (align 4): 6 + 8n */
	bytes = 16ULL * n + 6 + 2ULL * n;
	bytes = (bytes + 3) & ~3ULL;
	bytes += 6 + 8ULL * n;
	if (!q->desc || q->size != n) {
		void *mem = ram_alloc(bytes, 4096);

		if (!mem) {
			set_err(d, "out of memory for queue %u (%u entries)", i, n);
			return -1;
		}
		q->desc = mem;
	}
	desc = (uint64_t)(uintptr_t)q->desc;
	avail = desc + 16ULL * n;
	used = (avail + 6 + 2ULL * n + 3) & ~3ULL;
	q->dev = d;
	q->index = i;
	q->size = n;
	q->avail = phys_ptr(avail);
	q->used = phys_ptr(used);
	memset(phys_ptr(avail), 0, desc + bytes - avail);
	q->avail_idx = q->kicked_idx = q->last_used = 0;
	q->event_idx = vio_has(d, VF_EVENT_IDX);
	q->irq_mode = false;
	vq_poll_mode(q);

	vio_write(d, VIO_QUEUE_NUM, n);
	vio_write(d, VIO_QUEUE_DESC_LO, (uint32_t)desc);
	vio_write(d, VIO_QUEUE_DESC_HI, (uint32_t)(desc >> 32));
	vio_write(d, VIO_QUEUE_AVAIL_LO, (uint32_t)avail);
	vio_write(d, VIO_QUEUE_AVAIL_HI, (uint32_t)(avail >> 32));
	vio_write(d, VIO_QUEUE_USED_LO, (uint32_t)used);
	vio_write(d, VIO_QUEUE_USED_HI, (uint32_t)(used >> 32));
	vio_write(d, VIO_QUEUE_READY, 1);
	if (vio_read(d, VIO_QUEUE_READY) != 1) {
		set_err(d, "queue %u: QueueReady did not stick (status 0x%x)", i, vio_status(d));
		return -1;
	}
	return 0;
}

int vio_setup(struct vdev *d, uint64_t want, unsigned nq, unsigned qsize)
{
	uint32_t st;

	if (nq > ARRAY_SIZE(d->q)) {
		set_err(d, "too many queues");
		return -1;
	}
	vio_reset(d);
	if (vio_status(d) != 0) {
		set_err(d, "status reads 0x%x after reset", vio_status(d));
		return -1;
	}
	vio_write(d, VIO_STATUS, VS_ACK);
	vio_write(d, VIO_STATUS, VS_ACK | VS_DRIVER);
	vio_write(d, VIO_DEV_FEAT_SEL, 0);
	d->offered = vio_read(d, VIO_DEV_FEATURES);
	vio_write(d, VIO_DEV_FEAT_SEL, 1);
	d->offered |= (uint64_t)vio_read(d, VIO_DEV_FEATURES) << 32;
	if (!(d->offered & VBIT(VF_VERSION_1))) {
		set_err(d, "device does not offer VIRTIO_F_VERSION_1 (features 0x%lx)",
			(unsigned long)d->offered);
		vio_write(d, VIO_STATUS, VS_ACK | VS_DRIVER | VS_FAILED);
		return -1;
	}
	d->features = d->offered & (want | VBIT(VF_VERSION_1));
	vio_write(d, VIO_DRV_FEAT_SEL, 0);
	vio_write(d, VIO_DRV_FEATURES, (uint32_t)d->features);
	vio_write(d, VIO_DRV_FEAT_SEL, 1);
	vio_write(d, VIO_DRV_FEATURES, (uint32_t)(d->features >> 32));
	vio_write(d, VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
	st = vio_status(d);
	if (!(st & VS_FEATURES_OK)) {
		set_err(d, "device refused features 0x%lx (status 0x%x)",
			(unsigned long)d->features, st);
		vio_write(d, VIO_STATUS, st | VS_FAILED);
		return -1;
	}
	d->nq = nq;
	for (unsigned i = 0; i < nq; i++) {
		if (queue_setup(d, i, qsize) < 0) {
			vio_write(d, VIO_STATUS, vio_status(d) | VS_FAILED);
			return -1;
		}
	}
	vio_write(d, VIO_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK);
	st = vio_status(d);
	if ((st & (VS_NEEDS_RESET | VS_FAILED)) || !(st & VS_DRIVER_OK)) {
		set_err(d, "status 0x%x after DRIVER_OK", st);
		return -1;
	}
	return 0;
}

/* ---------------- virtqueues ---------------- */
static inline volatile uint16_t *used_event(struct vq *q)
{
	return &q->avail[2 + q->size];
}

static inline volatile uint16_t *avail_event(struct vq *q)
{
	return (volatile uint16_t *)(q->used + 4 + 8 * (uint32_t)q->size);
}

void vq_kick(struct vq *q)
{
	uint16_t old = q->kicked_idx, now = q->avail_idx;
	bool need;

	if (old == now)
		return;
	barrier();                      /* ring entries before the index (x86: TSO) */
	q->avail[1] = now;
	q->kicked_idx = now;
	vio_mb();                       /* index store before the suppression load */
	if (q->event_idx) {
		uint16_t ev = *avail_event(q);

		need = (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
	} else {
		need = !(*(volatile uint16_t *)q->used & VRING_USED_F_NO_NOTIFY);
	}
	if (need) {
		vio_write(q->dev, VIO_QUEUE_NOTIFY, q->index);
		q->kicks++;
	}
}

bool vq_used(struct vq *q, uint32_t *id, uint32_t *len)
{
	volatile uint8_t *e;

	if (*(volatile uint16_t *)(q->used + 2) == q->last_used)
		return false;
	barrier();                      /* element after index (x86 loads are ordered) */
	e = q->used + 4 + 8 * (uint32_t)(q->last_used & (q->size - 1));
	*id = *(volatile uint32_t *)e;
	*len = *(volatile uint32_t *)(e + 4);
	q->last_used++;
	if (q->event_idx && !q->irq_mode)
		*used_event(q) = (uint16_t)(q->last_used - 1);   /* stay behind: no interrupt */
	return true;
}

void vq_poll_mode(struct vq *q)
{
	q->irq_mode = false;
	if (q->event_idx) {
		*used_event(q) = (uint16_t)(q->last_used - 1);
		q->avail[0] = 0;
	} else {
		q->avail[0] = VRING_AVAIL_F_NO_INTERRUPT;
	}
	vio_mb();
}

void vq_irq_mode(struct vq *q)
{
	q->irq_mode = true;
	if (q->event_idx)
		*used_event(q) = q->last_used;   /* interrupt for the next element */
	q->avail[0] = 0;
	vio_mb();
}

/* ---------------- interrupts ---------------- */
static struct vdev *irq_dev[16];

static void on_virtio_irq(struct intr_frame *f)
{
	unsigned i = (unsigned)f->vector - VEC_VIRTIO;
	struct vdev *d = i < ARRAY_SIZE(irq_dev) ? irq_dev[i] : NULL;
	uint32_t isr;

	if (!d)
		return;
	isr = vio_read(d, VIO_INT_STATUS);
	vio_write(d, VIO_INT_ACK, isr);
	d->last_isr = isr;
	d->irqs++;
}

void vio_irq_route(struct vdev *d)
{
	unsigned i = d->index < ARRAY_SIZE(irq_dev) ? d->index : 0;

	irq_dev[i] = d;
	idt_set_handler(VEC_VIRTIO + i, on_virtio_irq);
	ioapic_route(d->irq, VEC_VIRTIO + i, lapic_id());
}

void vio_irq_unroute(struct vdev *d)
{
	ioapic_mask(d->irq);
}
