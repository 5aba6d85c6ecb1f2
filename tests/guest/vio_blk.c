/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio_blk.c — virtio-blk requests (virtio 1.2 §5.2) on top of vio.c, and
 * the disk patterns the blk scenarios read and write.
 *
 * Slot i of a device owns descriptors 3i, 3i+1, 3i+2: header (readable),
 * data (writable for IN/GET_ID, readable for OUT), status byte (writable);
 * or, with an indirect table, descriptor 3i points at the slot's table.
 * The used element's id is the head, so id / 3 is the slot.
 */
#include "vio.h"

int vblk_open(struct vblk *b, unsigned index, uint64_t want, unsigned qsize, unsigned nslots)
{
	struct vblk_slot *keep = b->slots;
	unsigned keep_n = b->nslots;

	if (vio_probe(&b->v, index) < 0)
		return -1;
	if (b->v.device_id != VIRTIO_ID_BLOCK) {
		snprintf(b->v.err, sizeof(b->v.err), "device #%u at 0x%lx is device id %u, not block",
			 index, (unsigned long)b->v.base, b->v.device_id);
		return -1;
	}
	/* A re-open reuses the rings and the slots. */
	if (vio_setup(&b->v, want, 1, qsize) < 0)
		return -1;
	b->capacity = vio_cfg64(&b->v, 0);
	b->ro = b->v.offered & VBIT(VBLK_F_RO);
	if (nslots > b->v.q[0].size / 3)
		nslots = b->v.q[0].size / 3;
	if (nslots > VBLK_MAX_SLOTS)
		nslots = VBLK_MAX_SLOTS;
	if (!nslots) {
		snprintf(b->v.err, sizeof(b->v.err), "queue of %u entries is too small",
			 b->v.q[0].size);
		return -1;
	}
	if (keep && keep_n >= nslots) {
		b->slots = keep;
	} else {
		b->slots = ram_alloc(sizeof(struct vblk_slot) * nslots, 64);
		if (!b->slots) {
			snprintf(b->v.err, sizeof(b->v.err), "out of memory for %u slots", nslots);
			return -1;
		}
	}
	b->nslots = nslots;
	return 0;
}

void vblk_queue(struct vblk *b, unsigned slot, uint32_t type, uint64_t sector, void *buf,
		uint32_t len, bool indirect)
{
	struct vq *q = &b->v.q[0];
	struct vblk_slot *s = &b->slots[slot];
	struct vring_desc c[3];
	unsigned n = 0, head = 3 * slot;

	s->hdr.type = type;
	s->hdr.reserved = 0;
	s->hdr.sector = sector;
	s->status = VBLK_STATUS_NONE;
	c[n++] = (struct vring_desc){ (uint64_t)(uintptr_t)&s->hdr, sizeof(s->hdr), VD_NEXT, 0 };
	if (len)
		c[n++] = (struct vring_desc){ (uint64_t)(uintptr_t)buf, len,
					      (uint16_t)(VD_NEXT | (type == VBLK_T_OUT ? 0 : VD_WRITE)),
					      0 };
	c[n++] = (struct vring_desc){ (uint64_t)(uintptr_t)&s->status, 1, VD_WRITE, 0 };
	if (indirect && vio_has(&b->v, VF_INDIRECT_DESC)) {
		for (unsigned i = 0; i < n; i++) {
			s->table[i] = c[i];
			s->table[i].next = (uint16_t)(i + 1);
		}
		q->desc[head] = (struct vring_desc){ (uint64_t)(uintptr_t)s->table,
						     (uint32_t)(n * sizeof(struct vring_desc)),
						     VD_INDIRECT, 0 };
	} else {
		for (unsigned i = 0; i < n; i++) {
			q->desc[head + i] = c[i];
			q->desc[head + i].next = (uint16_t)(head + i + 1);
		}
	}
	vq_add(q, (uint16_t)head);
}

int vblk_wait(struct vblk *b, uint64_t timeout_us)
{
	struct vq *q = &b->v.q[0];
	uint64_t deadline = rdtsc() + timeout_us * tsc_per_ms() / 1000;
	uint32_t id, len;

	for (unsigned spin = 0;; spin++) {
		if (vq_used(q, &id, &len)) {
			if (id % 3 || id / 3 >= b->nslots)
				return -3;
			b->used_len[id / 3] = len;
			return (int)(id / 3);
		}
		if ((spin & 15) == 15) {
			if (vio_status(&b->v) & VS_NEEDS_RESET)
				return -2;
			if (rdtsc() > deadline)
				return -1;
		}
		cpu_relax();
	}
}

int vblk_rw(struct vblk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	    bool indirect)
{
	int r;

	vblk_queue(b, 0, type, sector, buf, len, indirect);
	vq_kick(&b->v.q[0]);
	r = vblk_wait(b, 5000000);
	if (r == 0)
		return b->slots[0].status;
	printk("blk: device #%u: request type %u sector %lu: %s\n", b->v.index, type,
	       (unsigned long)sector,
	       r == -1 ? "no completion within 5 s" :
	       r == -2 ? "device needs reset" : "used element with an unknown id");
	return -1;
}

/* ---------------- patterns ---------------- */
/* Each sector is a window into a 0,1,...,255,0,1,... sequence (xor 0x5a
 * for ours), so 8-byte loads from these tables compare or fill it. */
static uint8_t pat_host[768], pat_ours[768];
typedef uint64_t u64_una __attribute__((aligned(1), may_alias));

void pattern_init(void)
{
	for (unsigned k = 0; k < sizeof(pat_host); k++) {
		pat_host[k] = (uint8_t)k;
		pat_ours[k] = (uint8_t)(k ^ 0x5a);
	}
}

static inline unsigned base_host(uint64_t s)
{
	return (unsigned)((s * 7) & 0xff);
}

static inline unsigned base_ours(uint64_t s)
{
	return (unsigned)((s * 13 + 1) & 0xff);
}

static int64_t check(const void *buf, uint64_t first, unsigned n, const uint8_t *tab, bool ours)
{
	const uint8_t *p = buf;

	for (unsigned i = 0; i < n; i++, p += SECTOR) {
		uint64_t s = first + i;
		const uint8_t *e = tab + (ours ? base_ours(s) : base_host(s));

		for (unsigned w = 0; w < SECTOR / 8; w++) {
			if (((const u64_una *)p)[w] == ((const u64_una *)e)[w])
				continue;
			for (unsigned j = w * 8;; j++)
				if (p[j] != e[j])
					return (int64_t)i * SECTOR + j;
		}
	}
	return -1;
}

int64_t pattern_check_host(const void *buf, uint64_t first, unsigned n)
{
	return check(buf, first, n, pat_host, false);
}

int64_t pattern_check_ours(const void *buf, uint64_t first, unsigned n)
{
	return check(buf, first, n, pat_ours, true);
}

void pattern_fill_ours(void *buf, uint64_t first, unsigned n)
{
	uint8_t *p = buf;

	for (unsigned i = 0; i < n; i++, p += SECTOR) {
		const uint8_t *e = pat_ours + base_ours(first + i);

		for (unsigned w = 0; w < SECTOR / 8; w++)
			((u64_una *)p)[w] = ((const u64_una *)e)[w];
	}
}

uint8_t pattern_host_byte(uint64_t first, uint64_t off)
{
	return (uint8_t)((first + off / SECTOR) * 7 + off % SECTOR);
}

uint8_t pattern_ours_byte(uint64_t first, uint64_t off)
{
	return (uint8_t)(((first + off / SECTOR) * 13 + off % SECTOR + 1) ^ 0x5a);
}
