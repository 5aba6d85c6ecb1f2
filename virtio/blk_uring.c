/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_uring.c — the Async engine of virtio-blk: requests go to io_uring
 * (up to VIRTIO_BLK_QUEUE_DEPTH in flight, one slot each); completions
 * arrive on an eventfd in the event loop and only then reach the used ring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blk_internal.h"

struct blk_slot {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint8_t *status;
	bool orphan;              /* submitted before a device reset: no answer */
	uint64_t expect;          /* bytes the operation must transfer */
	unsigned niov;
	struct iovec iov[VIRTIO_BLK_SEG_MAX];
};

int blk_uring_submit(struct virtio_blk *b, uint16_t head, struct virtio_blk_req *req)
{
	struct io_uring_sqe *sqe;
	struct blk_slot *s = NULL;
	unsigned i;
	int r = blk_precheck(b, req);

	if (r >= 0)
		return r;
	if (req->type == VIRTIO_BLK_T_FLUSH && b->cfg.cache_type != CACHE_WRITEBACK)
		return VIRTIO_BLK_S_OK;
	for (i = 0; i < VIRTIO_BLK_QUEUE_DEPTH; i++) {
		if (!b->slots[i].busy) {
			s = &b->slots[i];
			break;
		}
	}
	sqe = s ? io_uring_get_sqe(&b->ring) : NULL;
	if (!sqe) {
		log_warn("drive '%s': no io_uring slot", b->cfg.drive_id);
		return VIRTIO_BLK_S_IOERR;
	}
	s->busy = true;
	s->orphan = false;
	s->head = head;
	s->type = req->type;
	s->status = req->status;
	s->expect = req->data_len;
	s->niov = req->niov;
	memcpy(s->iov, req->iov, req->niov * sizeof(struct iovec));
	/* The drive's image is registered file 0 (the ring takes no other). */
	if (req->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, 0, s->iov, s->niov, req->sector * VIRTIO_BLK_SECTOR);
	else if (req->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, 0, s->iov, s->niov, req->sector * VIRTIO_BLK_SECTOR);
	else
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	io_uring_sqe_set_data64(sqe, i);
	b->inflight++;
	if (b->inflight > b->stats.inflight_max)
		b->stats.inflight_max = b->inflight;
	return -1;
}

/* Also retries what a failed submit left in the SQ ring: prepared SQEs
 * stay there until an io_uring_enter takes them. */
void blk_uring_submit_prepared(struct virtio_blk *b, bool submitted)
{
	if (b->ring_ready && (submitted || io_uring_sq_ready(&b->ring))) {
		int r = io_uring_submit(&b->ring);

		if (r < 0) {
			log_warn("drive '%s': io_uring_submit: %s (will retry)", b->cfg.drive_id,
				 strerror(-r));
			/* Come back through the event loop rather than leave the
			 * guest waiting for requests nobody submitted. */
			if (b->t.kick)
				b->t.kick(b->t.irq_opaque, 0);
		}
	}
}

unsigned blk_uring_reap(struct virtio_blk *b, bool answer)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (b->ring_ready && io_uring_peek_cqe(&b->ring, &cqe) == 0) {
		uint64_t i = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&b->ring, cqe);
		if (i >= VIRTIO_BLK_QUEUE_DEPTH || !b->slots[i].busy)
			continue;
		struct blk_slot *s = &b->slots[i];
		uint8_t st = VIRTIO_BLK_S_OK;

		if (res < 0 || (s->type != VIRTIO_BLK_T_FLUSH && (uint64_t)res != s->expect)) {
			log_warn("drive '%s': async %s at completion: %s", b->cfg.drive_id,
				 s->type == VIRTIO_BLK_T_IN ? "read" :
				 s->type == VIRTIO_BLK_T_OUT ? "write" : "flush",
				 res < 0 ? strerror(-res) : "short transfer");
			st = VIRTIO_BLK_S_IOERR;
		}
		if (answer && !s->orphan) {
			blk_complete(b, s->head, s->status, s->type, s->expect, st);
			n++;
		}
		if (s->orphan && --b->orphans == 0)
			b->t.reset_status = 0;   /* the reset is complete */
		s->busy = false;
		b->inflight--;
	}
	return n;
}

void blk_uring_drain(struct virtio_blk *b, bool answer)
{
	while (b->inflight) {
		struct io_uring_cqe *cqe;
		int r;

		/* What a failed submit left in the SQ ring would never complete. */
		if (io_uring_sq_ready(&b->ring))
			io_uring_submit(&b->ring);
		r = io_uring_wait_cqe(&b->ring, &cqe);

		if (r < 0 && r != -EINTR) {
			log_error("drive '%s': io_uring wait: %s", b->cfg.drive_id, strerror(-r));
			break;
		}
		blk_uring_reap(b, answer);
	}
}

int virtio_blk_wait_completions(struct virtio_blk *b)
{
	struct io_uring_cqe *cqe;
	int r;

	if (!b->async)
		return 0;
	virtio_mmio_lock(&b->t);
	r = b->inflight ? io_uring_wait_cqe(&b->ring, &cqe) : 0;
	if (r == 0)
		blk_process_locked(b);
	virtio_mmio_unlock(&b->t);
	return r;
}

void blk_uring_reset(struct virtio_blk *b)
{
	for (unsigned i = 0; i < VIRTIO_BLK_QUEUE_DEPTH; i++) {
		struct blk_slot *s = &b->slots[i];

		if (s->busy && !s->orphan) {
			s->orphan = true;
			b->orphans++;
		}
	}
	if (!b->orphans)
		return;
	/* What the driver reads until the VMM thread has reaped them: any
	 * non-zero value says "not yet" (virtio 1.2 §2.4.2); ACKNOWLEDGE is
	 * also harmless to a driver that does not wait and sets its first
	 * bit by read-modify-write (Linux's virtio_add_status). */
	b->t.reset_status = VIRTIO_STATUS_ACKNOWLEDGE;
	/* SQEs a failed submit left in the SQ ring must still reach the
	 * kernel, or their orphans would never complete: wake the VMM thread
	 * through the completion eventfd (a queue notify would not reach a
	 * device that is not DRIVER_OK); it submits them in
	 * blk_uring_finish_reset. */
	if (io_uring_sq_ready(&b->ring) && b->ring_efd >= 0) {
		uint64_t one = 1;

		if (write(b->ring_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("drive '%s': eventfd write: %s", b->cfg.drive_id, strerror(errno));
	}
}

void blk_uring_finish_reset(struct virtio_blk *b)
{
	blk_uring_submit_prepared(b, false);
	blk_uring_reap(b, false);
}

/* The ring's eventfd is readable (event loop, no lock). */
static void on_completion(int fd, uint32_t events, void *opaque)
{
	struct virtio_blk *b = opaque;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("drive '%s': eventfd read: %s", b->cfg.drive_id, strerror(errno));
	virtio_blk_process(b);
}

/* io_uring_register(2) itself: liburing 2.3's shared library does not
 * export io_uring_register_restrictions/io_uring_enable_rings. */
static int ring_register(struct io_uring *ring, unsigned op, const void *arg, unsigned nr)
{
	long r = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);

	return r < 0 ? -errno : (int)r;
}

int blk_uring_ring_init(struct io_uring *ring, unsigned entries, int fd, int efd)
{
	const struct io_uring_restriction res[] = {
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV },
		{ .opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED, .sqe_flags = IOSQE_FIXED_FILE },
		{ .opcode = IORING_RESTRICTION_REGISTER_OP,
		  .register_op = IORING_REGISTER_FILES_UPDATE },
	};
	int r = io_uring_queue_init(entries, ring, IORING_SETUP_R_DISABLED);

	if (r < 0)
		return r;
	r = io_uring_register_files(ring, &fd, 1);
	if (r >= 0 && efd >= 0)
		r = io_uring_register_eventfd(ring, efd);
	if (r >= 0)
		r = ring_register(ring, IORING_REGISTER_RESTRICTIONS, res,
				  sizeof(res) / sizeof(res[0]));
	if (r >= 0)
		r = ring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	if (r < 0) {
		io_uring_queue_exit(ring);
		return r;
	}
	return 0;
}

int blk_uring_update_file(struct virtio_blk *b, int fd)
{
	int r = io_uring_register_files_update(&b->ring, 0, &fd, 1);

	return r < 0 ? r : r == 1 ? 0 : -EIO;
}

int blk_uring_setup(struct virtio_blk *b, char *err, size_t errlen)
{
	int r;

	b->slots = calloc(VIRTIO_BLK_QUEUE_DEPTH, sizeof(*b->slots));
	if (!b->slots) {
		snprintf(err, errlen, "drive '%s': out of memory", b->cfg.drive_id);
		return -ENOMEM;
	}
	b->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->ring_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "drive '%s': eventfd: %s", b->cfg.drive_id, strerror(-r));
		return r;
	}
	r = blk_uring_ring_init(&b->ring, VIRTIO_BLK_QUEUE_DEPTH, b->fd, b->ring_efd);
	if (r < 0) {
		snprintf(err, errlen, "drive '%s': io_engine Async needs io_uring "
			 "(with restrictions, Linux 5.10 or later): %s",
			 b->cfg.drive_id, strerror(-r));
		return r;
	}
	b->ring_ready = true;
	if (b->host.fd_add) {
		r = b->host.fd_add(b->host.loop, b->ring_efd, EPOLLIN, on_completion, b);
		if (r < 0) {
			snprintf(err, errlen, "drive '%s': cannot watch completions: %s",
				 b->cfg.drive_id, strerror(-r));
			return r;
		}
	}
	return 0;
}

void blk_uring_teardown(struct virtio_blk *b)
{
	if (b->ring_ready) {
		virtio_mmio_lock(&b->t);
		blk_uring_drain(b, false);
		virtio_mmio_unlock(&b->t);
		io_uring_queue_exit(&b->ring);
	}
	if (b->ring_efd >= 0) {
		if (b->host.fd_del)
			b->host.fd_del(b->host.loop, b->ring_efd);
		close(b->ring_efd);
	}
	free(b->slots);
}
