/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_virtq_blk.c — libFuzzer target for the split virtqueue walk
 * (virtio/queue.c) and the virtio-blk request path that needs no device
 * thread: the parser (blk_req.c), the checks and answer (blk_answer.c) and
 * the Sync engine (blk_sync.c) over a 32 KiB memfd.
 *
 * Input: an 8-byte header, then the contents of guest RAM from gpa 0.
 *   byte 0   flags: 1 INDIRECT_DESC, 2 EVENT_IDX, 4 read-only drive,
 *            8 "wild" rings (size and ring addresses from the header
 *            instead of the fixed layout below), 16 device mode: the
 *            same rings served by the real device (virtio_blk_create on
 *            the memfd, Sync engine, brought up through its registers,
 *            then notified: blk.c's queue loop), 32 with 16: Writeback
 *            cache (flush is an fdatasync)
 *   byte 1   log2 of the queue size (mod 9), or with flag 8 the size's
 *            low byte (the high byte is byte 7)
 *   bytes 2-3 the device's last_avail_idx to start from (wraps)
 *   bytes 4-6 with flag 8: desc/avail/used addresses in 256-byte units
 * Fixed layout: avail ring at 0x0, descriptor table at 0x240, used ring at
 * 0xe000. RAM is 64 KiB at gpa 0 and 4 KiB at 4 GiB, each an exactly
 * sized allocation, so ASan sees any access outside it; every segment a
 * chain yields is read in full and every answered request is written.
 * A chain loop or a walk that never ends shows as a libFuzzer timeout. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk_internal.h"
#include "fuzz_util.h"

#define RAM0_SIZE  0x10000ULL
#define HIGH_GPA   0x100000000ULL
#define HIGH_SIZE  0x1000ULL
#define AVAIL_GPA  0x0ULL
#define DESC_GPA   0x240ULL
#define USED_GPA   0xe000ULL
#define DISK_SECTORS 64

static struct guest_mem mem;
static struct virtio_blk *blk;
static struct virtio_blk_req req;
static struct virtq_chain chain;

static void setup_once(void)
{
	static const struct fz_region_spec spec[] = {
		{ 0, RAM0_SIZE }, { HIGH_GPA, HIGH_SIZE },
	};
	int fd;

	fz_mem_init(&mem, spec, 2);
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		abort();
	fd = memfd_create("fuzz-disk", 0);
	if (fd < 0 || ftruncate(fd, DISK_SECTORS * VIRTIO_BLK_SECTOR) < 0)
		abort();
	blk->fd = fd;
	blk->nsectors = DISK_SECTORS;
	snprintf(blk->cfg.drive_id, sizeof(blk->cfg.drive_id), "fuzzdrive-id-of-twenty-bytes");
	log_set_level(LOG_DEBUG);   /* format every message, write none */
	if (log_set_path("/dev/null"))
		abort();
}

/* Device mode: the rings of q's layout, served by the real device. */
static void device_mode(const struct virtq *layout, uint8_t flags)
{
	struct drive_config c;
	struct virtio_blk *b;
	struct virtio_mmio *t;
	char err[256];
	uint64_t f = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH);
	uint32_t v;

	memset(&c, 0, sizeof(c));
	snprintf(c.drive_id, sizeof(c.drive_id), "fuzzdrive");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "/proc/self/fd/%d", blk->fd);
	c.is_read_only = flags & 4;
	c.io_engine = IO_ENGINE_SYNC;
	c.cache_type = (flags & 32) ? CACHE_WRITEBACK : CACHE_UNSAFE;
	if (virtio_blk_create(&c, &mem, NULL, &b, err, sizeof(err)) < 0) {
		fprintf(stderr, "virtio_blk_create: %s\n", err);
		abort();
	}
	t = virtio_blk_transport(b);
	if (flags & 1)
		f |= VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC);
	if (flags & 2)
		f |= VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
#define W(off, val) (v = (val), virtio_mmio_write(t, (off), (const uint8_t *)&v, 4))
	W(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	W(VMMIO_DRIVER_FEATURES_SEL, 0);
	W(VMMIO_DRIVER_FEATURES, (uint32_t)f);
	W(VMMIO_DRIVER_FEATURES_SEL, 1);
	W(VMMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	W(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	  VIRTIO_STATUS_FEATURES_OK);
	W(VMMIO_QUEUE_SEL, 0);
	W(VMMIO_QUEUE_NUM, layout->size);
	W(VMMIO_QUEUE_DESC_LOW, (uint32_t)layout->desc_addr);
	W(VMMIO_QUEUE_DESC_HIGH, (uint32_t)(layout->desc_addr >> 32));
	W(VMMIO_QUEUE_DRIVER_LOW, (uint32_t)layout->avail_addr);
	W(VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(layout->avail_addr >> 32));
	W(VMMIO_QUEUE_DEVICE_LOW, (uint32_t)layout->used_addr);
	W(VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(layout->used_addr >> 32));
	W(VMMIO_QUEUE_READY, 1);
	W(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	W(VMMIO_QUEUE_NOTIFY, 0);
	virtio_blk_process(b);
	if (getenv("FUZZ_VERBOSE")) {   /* for writing seeds */
		struct virtio_blk_stats st;

		virtio_blk_get_stats(b, &st);
		fprintf(stderr, "status 0x%x: %llu reads %llu writes %llu flushes %llu get_id, "
			"%llu invalid %llu io_errors %llu unsupported\n", t->state.status,
			(unsigned long long)st.read_count, (unsigned long long)st.write_count,
			(unsigned long long)st.flush_count, (unsigned long long)st.get_id_count,
			(unsigned long long)st.invalid_reqs, (unsigned long long)st.io_errors,
			(unsigned long long)st.unsupported);
	}
	W(VMMIO_STATUS, 0);           /* reset with the device's state as it is */
#undef W
	virtio_blk_destroy(b);
}

static void check_seg(const struct virtq_seg *s)
{
	if (!s->len || !fz_in_ram(&mem, s->hva, s->len))
		abort();
	fz_touch(s->hva, s->len, false);
}

static void serve(struct virtq *q)
{
	struct virtio_blk *b = blk;
	char err[256];
	uint64_t r_len = 0, w_len = 0;
	uint8_t st;

	/* What the walk promised. */
	if (chain.nr > q->size || chain.nr_readable > chain.nr)
		abort();
	for (unsigned i = 0; i < chain.nr; i++) {
		check_seg(&chain.segs[i]);
		if (chain.segs[i].writable != (i >= chain.nr_readable))
			abort();
		if (chain.segs[i].writable)
			w_len += chain.segs[i].len;
		else
			r_len += chain.segs[i].len;
	}
	if (r_len != chain.readable_len || w_len != chain.writable_len ||
	    r_len + w_len > VIRTQ_MAX_CHAIN_BYTES)
		abort();

	err[0] = '\0';
	if (virtio_blk_parse(&chain, &req, err, sizeof(err)) < 0) {
		if (!err[0] || !memchr(err, '\0', sizeof(err)))
			abort();
		b->stats.invalid_reqs++;
		if (req.status) {
			if (!fz_in_ram(&mem, req.status, 1))
				abort();
			blk_complete(b, chain.head, req.status, req.type, 0, VIRTIO_BLK_S_IOERR);
		} else {
			virtq_push(q, chain.head, 0);
		}
		return;
	}
	if (!req.status || !fz_in_ram(&mem, req.status, 1) || req.niov > VIRTIO_BLK_SEG_MAX)
		abort();
	{
		uint64_t sum = 0;

		for (unsigned i = 0; i < req.niov; i++) {
			if (!req.iov[i].iov_len || !fz_in_ram(&mem, req.iov[i].iov_base, req.iov[i].iov_len))
				abort();
			sum += req.iov[i].iov_len;
		}
		if (sum != req.data_len)
			abort();
	}
	st = blk_sync_exec(b, &req);
	if (st != VIRTIO_BLK_S_OK && st != VIRTIO_BLK_S_IOERR && st != VIRTIO_BLK_S_UNSUPP)
		abort();
	blk_complete(b, chain.head, req.status, req.type, req.data_len, st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtq *q;
	struct fz in;
	uint8_t flags, szb;
	uint16_t start, pushed0;
	const uint8_t *image;
	size_t image_len;
	char err[256];
	unsigned iters;

	if (!blk)
		setup_once();
	fz_init(&in, data, size);
	flags = fz_u8(&in);
	szb = fz_u8(&in);
	start = fz_u16(&in);

	fz_mem_clear(&mem);
	q = &blk->t.state.queues[0];
	memset(q, 0, sizeof(*q));
	q->max_size = VIRTQ_MAX_SIZE;
	virtq_reset(q);
	q->indirect = flags & 1;
	q->event_idx = flags & 2;
	blk->cfg.is_read_only = flags & 4;
	if (flags & 8) {
		q->desc_addr = (uint64_t)fz_u8(&in) << 8;
		q->avail_addr = (uint64_t)fz_u8(&in) << 8;
		q->used_addr = (uint64_t)fz_u8(&in) << 8;
		q->size = (uint16_t)(szb | fz_u8(&in) << 8);
		/* Now and then a ring in the high region, or straddling it. */
		if (q->desc_addr & 0x8000)
			q->desc_addr = HIGH_GPA + (q->desc_addr & 0x7fff) - 0x100;
	} else {
		fz_int(&in, 4);
		q->size = (uint16_t)(1u << (szb % 9));
		q->desc_addr = DESC_GPA;
		q->avail_addr = AVAIL_GPA;
		q->used_addr = USED_GPA;
	}
	q->last_avail_idx = start;
	q->next_used_idx = start;
	image = fz_bytes(&in, RAM0_SIZE, &image_len);
	fz_mem_fill(&mem, 0, image, image_len);
	if (flags & 16) {
		/* The same disk contents for every input. */
		if (ftruncate(blk->fd, 0) < 0 ||
		    ftruncate(blk->fd, DISK_SECTORS * VIRTIO_BLK_SECTOR) < 0)
			abort();
		device_mode(q, flags);
		return 0;
	}

	err[0] = '\0';
	if (virtq_check(q, &mem, err, sizeof(err)) < 0) {
		if (!err[0] || q->desc_hva || q->avail_hva || q->used_hva)
			abort();
		return 0;
	}
	if (!fz_in_ram(&mem, q->desc_hva, 16ULL * q->size) ||
	    !fz_in_ram(&mem, q->avail_hva, 6 + 2ULL * q->size) ||
	    !fz_in_ram(&mem, q->used_hva, 6 + 8ULL * q->size))
		abort();
	q->ready = true;

	pushed0 = q->next_used_idx;
	/* A ring holds at most size chains at once, but answering writes to
	 * guest RAM that may be the ring itself: bound the rounds anyway. */
	for (iters = 0; iters < 2u * q->size + 8; iters++) {
		int r = virtq_pop(q, &mem, &chain);

		if (r == 0)
			break;
		if (r == -EIO) {
			if (!q->broken || virtq_pop(q, &mem, &chain) != 0)
				abort();
			break;
		}
		if (r == -EINVAL) {
			if (chain.nr || chain.readable_len || chain.writable_len ||
			    chain.head >= q->size)
				abort();
			virtq_log_rejected(q, "fuzz-blk", 0, chain.head);
			virtq_push(q, chain.head, 0);
			continue;
		}
		if (r != 1 || chain.head >= q->size)
			abort();
		serve(q);
		virtq_should_signal(q);
	}
	if ((uint16_t)(q->next_used_idx - pushed0) > iters)
		abort();
	virtq_enable_notify(q);
	virtq_avail_count(q);
	return 0;
}
