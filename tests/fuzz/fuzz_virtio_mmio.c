/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_virtio_mmio.c — libFuzzer target for the virtio-mmio register
 * machine (virtio/mmio.c) with a dummy device whose notify serves its
 * queues (virtio/queue.c), plus the transport's saved-state restore.
 *
 * Input: a 4-byte header, then operations until the input ends.
 *   header   nr_queues (1..5), queue_max_size (1..256), config length
 *            (0..63), flags (1: activate fails)
 *   op byte  k, then by k % 8:
 *     0  4-byte register write: offset byte*4, value u32
 *     1  read: offset u16 % 0x200, size 1/2/4/8
 *     2  write: offset u16 % 0x200, size 1/2/4/8, value u64
 *     3  guest RAM poke: gpa u16, 8 bytes
 *     4  device side: config changed / needs reset / signal used (queue)
 *     5  save, then restore what was saved (must succeed, same state)
 *     6  restore from the input (sizeof(struct virtio_mmio_saved) bytes;
 *        k & 8 copies the device's offered features and queue shape in
 *        first so the queue checks are reached)
 *     7  a driver's init sequence: status ACK|DRIVER, features u64,
 *        FEATURES_OK (the fuzzer gets past negotiation cheaply)
 * After every operation: ready queues have a valid size and rings wholly
 * inside guest RAM (64 KiB at 0, exactly sized, ASan-checked); a refused
 * restore changed nothing. */
#include <errno.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "virtio.h"

#define RAM_SIZE 0x10000ULL

static struct guest_mem mem;
static struct virtio_mmio T;
static struct virtq_chain chain;
static uint8_t scratch[0x10000];
static struct {
	size_t config_len;
	bool activate_fails;
	uint8_t config[64];
} D;

static size_t d_config_len(void *dev) { (void)dev; return D.config_len; }
static void d_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	(void)dev;
	if (off > D.config_len || len > D.config_len - off)
		abort();
	memcpy(data, D.config + off, len);
}
static void d_config_write(void *dev, uint32_t off, const uint8_t *data, unsigned len)
{
	(void)dev;
	if (off > D.config_len || len > D.config_len - off)
		abort();
	memcpy(D.config + off, data, len);
}
static int d_activate(void *dev) { (void)dev; return D.activate_fails ? -EINVAL : 0; }
static void d_reset(void *dev) { (void)dev; }

/* Serve queue q: every chain goes back with its writable length, after the
 * device wrote all of it (ASan checks each byte is guest RAM). */
static void d_notify(void *dev, unsigned qi)
{
	struct virtq *q = &T.state.queues[qi];

	(void)dev;
	if (qi >= T.ops->nr_queues)
		abort();
	for (unsigned n = 0; n <= q->size; n++) {
		int r = virtq_pop(q, T.mem, &chain);

		if (r <= 0) {
			if (r == -EINVAL) {
				virtq_log_rejected(q, "fuzz-mmio", qi, chain.head);
				virtq_push(q, chain.head, 0);
				continue;
			}
			if (r == -EIO)
				virtio_mmio_needs_reset(&T, "broken ring");
			break;
		}
		/* Now and then hand it back and take it again (before
		 * the device writes: its buffers may overlap the rings). */
		if (chain.head & 1) {
			uint16_t before = virtq_avail_count(q);

			virtq_unpop(q, 1);
			if (virtq_avail_count(q) != (uint16_t)(before + 1) || virtq_pop(q, T.mem, &chain) != 1)
				abort();
		}
		for (unsigned i = 0; i < chain.nr; i++) {
			if (!fz_in_ram(&mem, chain.segs[i].hva, chain.segs[i].len))
				abort();
			fz_touch(chain.segs[i].hva, chain.segs[i].len, chain.segs[i].writable);
		}
		/* The copy helpers, at an offset and length from the chain. */
		if (chain.readable_len <= sizeof(scratch)) {
			uint64_t off = chain.readable_len / 3;

			if (virtq_chain_read(&chain, off, scratch, chain.readable_len - off) ||
			    virtq_chain_read(&chain, 1, scratch, chain.readable_len) != -EFAULT)
				abort();
		}
		if (chain.writable_len <= sizeof(scratch)) {
			uint64_t off = chain.writable_len / 2;

			if (virtq_chain_write(&chain, off, scratch, chain.writable_len - off) ||
			    virtq_chain_write(&chain, 0, scratch, chain.writable_len + 1) != -EFAULT)
				abort();
		}
		virtq_push(q, chain.head, (uint32_t)chain.writable_len);
	}
	virtio_mmio_signal_used(&T, qi);
	virtq_enable_notify(q);
}

static struct virtio_dev_ops ops = {
	.name = "virtio-fuzz",
	.device_id = 42,
	.config_len = d_config_len,
	.config_read = d_config_read,
	.config_write = d_config_write,
	.activate = d_activate,
	.reset = d_reset,
	.notify = d_notify,
};

static void check_invariants(void)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		const struct virtq *q = &T.state.queues[i];
		uint64_t n = q->size;

		if (q->max_size != (i < ops.nr_queues ? ops.queue_max_size : 0))
			abort();
		if (!q->ready)
			continue;
		if (i >= ops.nr_queues || !n || (n & (n - 1)) || n > q->max_size)
			abort();
		if (!fz_in_ram(&mem, q->desc_hva, 16 * n) || !fz_in_ram(&mem, q->avail_hva, 6 + 2 * n) ||
		    !fz_in_ram(&mem, q->used_hva, 6 + 8 * n))
			abort();
		if (q->desc_hva != guest_mem_ptr(&mem, q->desc_addr, 16 * n) ||
		    q->avail_hva != guest_mem_ptr(&mem, q->avail_addr, 6 + 2 * n) ||
		    q->used_hva != guest_mem_ptr(&mem, q->used_addr, 6 + 8 * n))
			abort();
	}
}

static void wr32(uint64_t off, uint32_t v)
{
	virtio_mmio_write(&T, off, (const uint8_t *)&v, 4);
}

static unsigned pick_len(uint8_t b)
{
	static const unsigned lens[] = { 1, 2, 4, 8 };

	return lens[b & 3];
}

static int restore_saved(struct virtio_mmio_saved *in)
{
	static struct virtio_mmio_state before;
	char err[256];
	int r;

	before = T.state;
	err[0] = '\0';
	r = virtio_mmio_restore(&T, in, err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL || !err[0] || memcmp(&before, &T.state, sizeof(before)))
			abort();
	} else if (r != 0) {
		abort();
	}
	return r;
}

static void op(struct fz *in)
{
	uint8_t k = fz_u8(in);
	uint8_t buf[8];

	switch (k % 8) {
	case 0: {
		uint64_t off = (uint64_t)fz_u8(in) * 4;

		wr32(off, fz_u32(in));
		break;
	}
	case 1: {
		uint64_t off = fz_u16(in) % 0x200;
		unsigned len = pick_len(k >> 3);

		virtio_mmio_read(&T, off, buf, len);
		if (off == VMMIO_MAGIC && len == 4 && memcmp(buf, "virt", 4))
			abort();
		break;
	}
	case 2: {
		uint64_t off = fz_u16(in) % 0x200;
		unsigned len = pick_len(k >> 3);
		uint64_t v = fz_u64(in);

		memcpy(buf, &v, 8);
		virtio_mmio_write(&T, off, buf, len);
		break;
	}
	case 3: {
		uint16_t gpa = fz_u16(in);
		uint64_t v = fz_u64(in);
		size_t n = RAM_SIZE - gpa < 8 ? (size_t)(RAM_SIZE - gpa) : 8;

		memcpy(mem.regions[0].hva + gpa, &v, n);
		break;
	}
	case 4:
		switch ((k >> 3) % 3) {
		case 0: virtio_mmio_config_changed(&T); break;
		case 1: virtio_mmio_needs_reset(&T, "fuzz"); break;
		default: virtio_mmio_signal_used(&T, fz_u8(in) % (VIRTIO_MAX_QUEUES + 1)); break;
		}
		break;
	case 5: {
		static struct virtio_mmio_saved s;
		static struct virtio_mmio_state before;

		virtio_mmio_save(&T, &s);
		before = T.state;
		/* What a running device saved restores (a snapshot it took
		 * can be loaded). */
		if (restore_saved(&s) != 0)
			abort();
		for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
			struct virtq *a = &before.queues[i], *b = &T.state.queues[i];

			if (a->ready != b->ready || a->size != b->size ||
			    a->last_avail_idx != b->last_avail_idx ||
			    a->next_used_idx != b->next_used_idx || (a->ready && a->desc_hva != b->desc_hva))
				abort();
		}
		if (before.status != T.state.status ||
		    before.driver_features != T.state.driver_features)
			abort();
		break;
	}
	case 6: {
		static struct virtio_mmio_saved s;
		size_t got;
		const uint8_t *p = fz_bytes(in, sizeof(s), &got);

		memset(&s, 0, sizeof(s));
		memcpy(&s, p, got);
		if (k & 8) {
			s.device_features = T.device_features;
			s.driver_features &= T.device_features;
			s.nr_queues = ops.nr_queues;
			s.status &= 0xff;
			for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
				s.queues[i].max_size = T.state.queues[i].max_size;
				s.queues[i].ready &= 1;
				s.queues[i].event_idx &= 1;
				s.queues[i].indirect &= 1;
				s.queues[i].broken &= 1;
				s.queues[i].signalled_used_valid &= 1;
				if (k & 16) {   /* rings inside the 64 KiB */
					s.queues[i].desc_addr &= 0xfff0;
					s.queues[i].avail_addr &= 0xfffe;
					s.queues[i].used_addr &= 0xfffc;
				}
			}
		}
		restore_saved(&s);
		break;
	}
	default: {
		uint64_t f = fz_u64(in);

		wr32(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
		wr32(VMMIO_DRIVER_FEATURES_SEL, 0);
		wr32(VMMIO_DRIVER_FEATURES, (uint32_t)f);
		wr32(VMMIO_DRIVER_FEATURES_SEL, 1);
		wr32(VMMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
		wr32(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			     VIRTIO_STATUS_FEATURES_OK);
		break;
	}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct fz in;
	unsigned nops = 0;

	if (!init) {
		static const struct fz_region_spec spec[] = { { 0, RAM_SIZE } };

		fz_mem_init(&mem, spec, 1);
		log_set_level(LOG_DEBUG);
		if (log_set_path("/dev/null"))
			abort();
		init = true;
	}
	fz_init(&in, data, size);
	ops.nr_queues = 1 + fz_u8(&in) % VIRTIO_MAX_QUEUES;
	ops.queue_max_size = (uint16_t)(1 + fz_u8(&in));
	D.config_len = fz_u8(&in) % 64;
	D.activate_fails = fz_u8(&in) & 1;
	for (unsigned i = 0; i < sizeof(D.config); i++)
		D.config[i] = (uint8_t)i;
	fz_mem_clear(&mem);
	virtio_mmio_init(&T, &ops, &D, VIRTIO_BIT(3) | VIRTIO_BIT(5), &mem);
	while (in.left && nops++ < 4096) {
		op(&in);
		check_invariants();
	}
	virtio_mmio_destroy(&T);
	return 0;
}
