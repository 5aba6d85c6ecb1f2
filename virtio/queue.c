/* SPDX-License-Identifier: Apache-2.0 */
/*
 * queue.c — split virtqueues (virtio 1.2 §2.7) over a guest_mem view.
 *
 * Pure: no KVM, no fds. Every guest address and length goes through
 * guest_mem_ptr() before it is used, descriptors are copied out of guest
 * memory once and only the copies are trusted, and every chain is bounded.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

#define REJECT(q, counter, why)              \
	do {                                 \
		(q)->stats.counter++;        \
		(q)->last_reject = (why);    \
		return -EINVAL;              \
	} while (0)

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

#define DESC_SIZE 16u

static uint16_t load16(const uint8_t *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static void store16(uint8_t *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)(void *)p, htole16(v), __ATOMIC_RELAXED);
}

static void store32(uint8_t *p, uint32_t v)
{
	__atomic_store_n((uint32_t *)(void *)p, htole32(v), __ATOMIC_RELAXED);
}

static void read_desc(const uint8_t *table, uint32_t idx, struct vring_desc *d)
{
	struct vring_desc raw;

	memcpy(&raw, table + (size_t)idx * DESC_SIZE, sizeof(raw));
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
}

void virtq_reset(struct virtq *q)
{
	uint16_t max = q->max_size;
	struct virtq_stats stats = q->stats;

	memset(q, 0, sizeof(*q));
	q->max_size = max;
	q->size = max;            /* QueueNum reads QueueNumMax until written */
	q->stats = stats;
}

int virtq_check(struct virtq *q, const struct guest_mem *mem, char *err, size_t errlen)
{
	uint64_t n = q->size;
	uint8_t *d, *a, *u;

	if (n == 0 || (n & (n - 1)) || n > q->max_size) {
		snprintf(err, errlen, "queue size %u must be a power of two in 1..%u",
			 q->size, q->max_size);
		goto bad;
	}
	if (q->desc_addr % 16 || q->avail_addr % 2 || q->used_addr % 4) {
		snprintf(err, errlen,
			 "misaligned ring: desc 0x%llx (16), driver 0x%llx (2), device 0x%llx (4)",
			 (unsigned long long)q->desc_addr, (unsigned long long)q->avail_addr,
			 (unsigned long long)q->used_addr);
		goto bad;
	}
	d = guest_mem_ptr(mem, q->desc_addr, 16 * n);
	if (!d) {
		snprintf(err, errlen, "descriptor table 0x%llx+%llu is outside guest RAM",
			 (unsigned long long)q->desc_addr, (unsigned long long)(16 * n));
		goto bad;
	}
	a = guest_mem_ptr(mem, q->avail_addr, 6 + 2 * n);
	if (!a) {
		snprintf(err, errlen, "driver (avail) ring 0x%llx+%llu is outside guest RAM",
			 (unsigned long long)q->avail_addr, (unsigned long long)(6 + 2 * n));
		goto bad;
	}
	u = guest_mem_ptr(mem, q->used_addr, 6 + 8 * n);
	if (!u) {
		snprintf(err, errlen, "device (used) ring 0x%llx+%llu is outside guest RAM",
			 (unsigned long long)q->used_addr, (unsigned long long)(6 + 8 * n));
		goto bad;
	}
	q->desc_hva = d;
	q->avail_hva = a;
	q->used_hva = u;
	return 0;
bad:
	q->stats.bad_rings++;
	return -EINVAL;
}

static bool usable(const struct virtq *q)
{
	return q->ready && !q->broken && q->desc_hva && q->avail_hva && q->used_hva;
}

uint16_t virtq_avail_count(const struct virtq *q)
{
	if (!usable(q))
		return 0;
	return (uint16_t)(load16(q->avail_hva + 2) - q->last_avail_idx);
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail_idx = (uint16_t)(q->last_avail_idx - n);
}

/* Walk the chain starting at `head`. 0 or -EINVAL (counted). */
static int walk_chain(struct virtq *q, const struct guest_mem *mem, struct virtq_chain *c)
{
	const uint8_t *table = q->desc_hva;
	uint32_t table_size = q->size;
	uint32_t idx = c->head, steps = 0;
	bool in_indirect = false, seen_writable = false;
	uint64_t total = 0;
	struct vring_desc d;

	for (;;) {
		if (idx >= table_size)
			REJECT(q, bad_desc, VIRTQ_REJECT_BAD_DESC);
		/* A chain visits each descriptor of its table at most once;
		 * more steps than entries means a loop. */
		if (++steps > table_size)
			REJECT(q, loops, VIRTQ_REJECT_LOOP);
		read_desc(table, idx, &d);

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			uint8_t *t;

			if (in_indirect)
				REJECT(q, nested_indirect, VIRTQ_REJECT_NESTED_INDIRECT);
			if (!q->indirect || d.len == 0 || d.len % DESC_SIZE)
				REJECT(q, bad_indirect, VIRTQ_REJECT_BAD_INDIRECT);
			/* No chain may be longer than the queue (virtio 1.2
			 * 2.7.5.3.1), indirect or not. */
			if (d.len / DESC_SIZE > q->size)
				REJECT(q, oversized, VIRTQ_REJECT_OVERSIZED);
			if (d.flags & VIRTQ_DESC_F_NEXT)
				REJECT(q, bad_desc, VIRTQ_REJECT_BAD_DESC);
			t = guest_mem_ptr(mem, d.addr, d.len);
			if (!t)
				REJECT(q, out_of_ram, VIRTQ_REJECT_OUT_OF_RAM);
			table = t;
			table_size = d.len / DESC_SIZE;
			idx = 0;
			steps = 0;
			in_indirect = true;
			continue;
		}

		if (d.len) {
			uint8_t *p = guest_mem_ptr(mem, d.addr, d.len);
			bool w = d.flags & VIRTQ_DESC_F_WRITE;

			if (!p)
				REJECT(q, out_of_ram, VIRTQ_REJECT_OUT_OF_RAM);
			if (!w && seen_writable)
				REJECT(q, bad_order, VIRTQ_REJECT_BAD_ORDER);
			total += d.len;
			if (total > VIRTQ_MAX_CHAIN_BYTES || c->nr >= q->size)
				REJECT(q, oversized, VIRTQ_REJECT_OVERSIZED);
			c->segs[c->nr++] = (struct virtq_seg){ .hva = p, .len = d.len, .writable = w };
			if (w) {
				seen_writable = true;
				c->writable_len += d.len;
			} else {
				c->nr_readable++;
				c->readable_len += d.len;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_chain *c)
{
	uint16_t avail_idx, pending, head;

	c->nr = 0;
	c->nr_readable = 0;
	c->readable_len = 0;
	c->writable_len = 0;
	if (!usable(q))
		return 0;
	/* Dirty page tracking: the used ring (elements, index, avail_event) is
	 * written after any pop; every snapshot quiesces devices first, so a
	 * completion never lands after the bitmap that covers it was read. */
	guest_mem_mark_dirty(mem, q->used_hva, 6 + 8u * q->size);
	avail_idx = load16(q->avail_hva + 2);
	pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending == 0)
		return 0;
	if (pending > q->size) {
		q->stats.bad_avail++;
		q->broken = true;
		return -EIO;
	}
	/* Read ring entries and descriptors only after seeing the index. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	head = load16(q->avail_hva + 4 + 2u * (q->last_avail_idx % q->size));
	if (head >= q->size) {
		q->stats.bad_avail++;
		q->broken = true;
		return -EIO;
	}
	q->last_avail_idx++;
	c->head = head;
	if (walk_chain(q, mem, c) < 0) {
		c->nr = 0;
		c->nr_readable = 0;
		c->readable_len = 0;
		c->writable_len = 0;
		return -EINVAL;
	}
	/* The device may write every writable buffer of the chain. */
	for (unsigned i = c->nr_readable; i < c->nr; i++)
		guest_mem_mark_dirty(mem, c->segs[i].hva, c->segs[i].len);
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint8_t *elem;

	if (!usable(q))
		return;
	elem = q->used_hva + 4 + 8u * (q->next_used_idx % q->size);
	store32(elem, head);
	store32(elem + 4, len);
	/* The element is visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->next_used_idx++;
	store16(q->used_hva + 2, q->next_used_idx);
}

bool virtq_should_signal(struct virtq *q)
{
	uint16_t old = q->signalled_used, now = q->next_used_idx;
	bool valid = q->signalled_used_valid;

	if (!usable(q))
		return false;
	/* Our used-index store must be ordered before reading the driver's
	 * suppression state. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	q->signalled_used_valid = true;
	if (valid && old == now)
		return false;
	if (q->event_idx) {
		uint16_t used_event = load16(q->avail_hva + 4 + 2u * q->size);

		return !valid || virtq_need_event(used_event, now, old);
	}
	return !(load16(q->avail_hva) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

bool virtq_enable_notify(struct virtq *q)
{
	if (!usable(q))
		return false;
	if (q->event_idx) {
		store16(q->used_hva + 4 + 8u * q->size, q->last_avail_idx);
	} else {
		uint16_t f = load16(q->used_hva);

		if (f & VIRTQ_USED_F_NO_NOTIFY)
			store16(q->used_hva, f & ~VIRTQ_USED_F_NO_NOTIFY);
	}
	/* Publish avail_event before re-reading the avail index. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return load16(q->avail_hva + 2) != q->last_avail_idx;
}

int virtq_chain_walk(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		     virtq_piece_fn fn, void *opaque)
{
	unsigned first = writable ? c->nr_readable : 0;
	unsigned last = writable ? c->nr : c->nr_readable;

	for (unsigned i = first; i < last && len; i++) {
		const struct virtq_seg *s = &c->segs[i];
		uint64_t n;
		int r;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len)
			n = len;
		r = fn(s->hva + off, n, opaque);
		if (r)
			return r;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

static int copy_out(uint8_t *hva, uint64_t n, void *opaque)
{
	uint8_t **out = opaque;

	memcpy(*out, hva, n);
	*out += n;
	return 0;
}

static int copy_in(uint8_t *hva, uint64_t n, void *opaque)
{
	const uint8_t **in = opaque;

	memcpy(hva, *in, n);
	*in += n;
	return 0;
}

int virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len)
{
	uint8_t *out = dst;

	if (len > c->readable_len || off > c->readable_len - len)
		return -EFAULT;
	return virtq_chain_walk(c, false, off, len, copy_out, &out);
}

int virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, uint64_t len)
{
	const uint8_t *in = src;

	if (len > c->writable_len || off > c->writable_len - len)
		return -EFAULT;
	return virtq_chain_walk(c, true, off, len, copy_in, &in);
}

static const struct {
	const char *counter, *reason;
	size_t off;
} reject_info[] = {
	[VIRTQ_REJECT_BAD_DESC] = { "bad_desc",
		"bad descriptor (index beyond the table, INDIRECT with NEXT, or empty table)",
		offsetof(struct virtq_stats, bad_desc) },
	[VIRTQ_REJECT_LOOP] = { "loops", "descriptor loop (chain longer than the queue)",
		offsetof(struct virtq_stats, loops) },
	[VIRTQ_REJECT_OUT_OF_RAM] = { "out_of_ram",
		"buffer or indirect table outside guest RAM",
		offsetof(struct virtq_stats, out_of_ram) },
	[VIRTQ_REJECT_NESTED_INDIRECT] = { "nested_indirect",
		"indirect table inside an indirect table",
		offsetof(struct virtq_stats, nested_indirect) },
	[VIRTQ_REJECT_BAD_INDIRECT] = { "bad_indirect",
		"bad indirect table (length, size or not negotiated)",
		offsetof(struct virtq_stats, bad_indirect) },
	[VIRTQ_REJECT_OVERSIZED] = { "oversized", "chain has too many descriptors or bytes",
		offsetof(struct virtq_stats, oversized) },
	[VIRTQ_REJECT_BAD_ORDER] = { "bad_order", "readable descriptor after a writable one",
		offsetof(struct virtq_stats, bad_order) },
};

void virtq_log_rejected(const struct virtq *q, const char *dev, unsigned qidx, uint16_t head)
{
	const struct virtq_stats *s = &q->stats;
	uint64_t total = s->bad_desc + s->loops + s->out_of_ram + s->nested_indirect +
			 s->bad_indirect + s->oversized + s->bad_order;
	unsigned why = q->last_reject;
	uint64_t count;

	if (total > 10 && (total & (total - 1)))
		return;
	if (why == VIRTQ_REJECT_NONE || why >= sizeof(reject_info) / sizeof(reject_info[0])) {
		log_warn("%s: queue %u: rejected chain at head %u (%llu rejected)", dev, qidx, head,
			 (unsigned long long)total);
		return;
	}
	memcpy(&count, (const uint8_t *)s + reject_info[why].off, sizeof(count));
	log_warn("%s: queue %u: rejected chain at head %u: %s (%s=%llu, %llu rejected%s)", dev,
		 qidx, head, reject_info[why].reason, reject_info[why].counter,
		 (unsigned long long)count, (unsigned long long)total,
		 total == 10 ? "; further ones logged at powers of two" : "");
}
