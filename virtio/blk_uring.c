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
#include <unistd.h>

#include "blk_internal.h"

struct blk_slot {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint8_t *status;
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
	s->head = head;
	s->type = req->type;
	s->status = req->status;
	s->expect = req->data_len;
	s->niov = req->niov;
	memcpy(s->iov, req->iov, req->niov * sizeof(struct iovec));
	if (req->type == VIRTIO_BLK_T_IN)
		io_uring_prep_readv(sqe, b->fd, s->iov, s->niov, req->sector * VIRTIO_BLK_SECTOR);
	else if (req->type == VIRTIO_BLK_T_OUT)
		io_uring_prep_writev(sqe, b->fd, s->iov, s->niov, req->sector * VIRTIO_BLK_SECTOR);
	else
		io_uring_prep_fsync(sqe, b->fd, IORING_FSYNC_DATASYNC);
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
		if (answer)
			blk_complete(b, s->head, s->status, s->type, s->expect, st);
		s->busy = false;
		b->inflight--;
		n++;
	}
	return n;
}

void blk_uring_drain(struct virtio_blk *b, bool answer)
{
	while (b->inflight) {
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(&b->ring, &cqe);

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

/* The ring's eventfd is readable (event loop, no lock). */
static void on_completion(int fd, uint32_t events, void *opaque)
{
	struct virtio_blk *b = opaque;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("drive '%s': eventfd read: %s", b->cfg.drive_id, strerror(errno));
	virtio_blk_process(b);
}

int blk_uring_setup(struct virtio_blk *b, char *err, size_t errlen)
{
	int r;

	b->slots = calloc(VIRTIO_BLK_QUEUE_DEPTH, sizeof(*b->slots));
	if (!b->slots) {
		snprintf(err, errlen, "drive '%s': out of memory", b->cfg.drive_id);
		return -ENOMEM;
	}
	r = io_uring_queue_init(VIRTIO_BLK_QUEUE_DEPTH, &b->ring, 0);
	if (r < 0) {
		snprintf(err, errlen, "drive '%s': io_engine Async needs io_uring: %s",
			 b->cfg.drive_id, strerror(-r));
		return r;
	}
	b->ring_ready = true;
	b->ring_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->ring_efd < 0) {
		r = -errno;
		snprintf(err, errlen, "drive '%s': eventfd: %s", b->cfg.drive_id, strerror(-r));
		return r;
	}
	r = io_uring_register_eventfd(&b->ring, b->ring_efd);
	if (r < 0) {
		snprintf(err, errlen, "drive '%s': io_uring_register_eventfd: %s",
			 b->cfg.drive_id, strerror(-r));
		return r;
	}
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
