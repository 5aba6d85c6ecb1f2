/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.c — virtio-blk (virtio 1.2 §5.2) over a raw image file.
 *
 * One request queue. Requests are parsed by a pure function, then served by
 * the Sync engine (preadv/pwritev on the VMM thread) or the Async engine
 * (io_uring; completions arrive on an eventfd in the event loop and only
 * then reach the used ring). The transport lock is held throughout.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "virtio.h"

#define BLK_QUEUE_SIZE 256
#define BLK_CONFIG_LEN 24   /* capacity, size_max, seg_max, geometry, blk_size */

struct blk_slot {
	bool busy;
	uint16_t head;
	uint32_t type;
	uint8_t *status;
	uint64_t expect;          /* bytes the operation must transfer */
	uint32_t used_len;
	unsigned niov;
	struct iovec iov[VIRTIO_BLK_SEG_MAX];
};

struct virtio_blk {
	struct virtio_mmio t;
	struct drive_config cfg;
	struct vm_services host;
	int fd;
	uint64_t nsectors;
	bool async;
	struct io_uring ring;
	bool ring_ready;
	int ring_efd;
	unsigned inflight;
	struct blk_slot *slots;
	struct virtio_blk_stats stats;
	struct virtq_chain chain;   /* scratch */
	struct virtio_blk_req req;  /* scratch */
};

/* ------------------------------------------------------------------ */
/* Request parser (pure)                                                */
/* ------------------------------------------------------------------ */

/* One piece of the request's data as the next iovec (virtq_chain_walk). */
static int add_iov(uint8_t *hva, uint64_t n, void *opaque)
{
	struct virtio_blk_req *req = opaque;

	if (req->niov >= VIRTIO_BLK_SEG_MAX)
		return -E2BIG;
	req->iov[req->niov++] = (struct iovec){ .iov_base = hva, .iov_len = n };
	req->data_len += n;
	return 0;
}

int virtio_blk_parse(const struct virtq_chain *c, struct virtio_blk_req *req, char *err,
		     size_t errlen)
{
	struct { uint32_t type, reserved; uint64_t sector; } hdr;
	const struct virtq_seg *last;
	uint64_t want;
	bool w;
	int r;

	req->type = 0;
	req->sector = 0;
	req->status = NULL;
	req->data_len = 0;
	req->niov = 0;
	if (c->nr == 0 || c->writable_len == 0) {
		snprintf(err, errlen, "request has no writable status byte");
		return -EINVAL;
	}
	last = &c->segs[c->nr - 1];
	req->status = last->hva + last->len - 1;
	if (virtq_chain_read(c, 0, &hdr, sizeof(hdr)) < 0) {
		snprintf(err, errlen, "request header is %llu bytes, need 16",
			 (unsigned long long)c->readable_len);
		return -EINVAL;
	}
	req->type = le32toh(hdr.type);
	req->sector = le64toh(hdr.sector);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (c->readable_len != sizeof(hdr)) {
			snprintf(err, errlen, "type %u request has %llu readable bytes, expected 16",
				 req->type, (unsigned long long)c->readable_len);
			return -EINVAL;
		}
		w = true;
		want = c->writable_len - 1;
		break;
	case VIRTIO_BLK_T_OUT:
	case VIRTIO_BLK_T_FLUSH:
		if (c->writable_len != 1) {
			snprintf(err, errlen, "type %u request has %llu writable bytes, expected 1",
				 req->type, (unsigned long long)c->writable_len);
			return -EINVAL;
		}
		w = false;
		want = c->readable_len - sizeof(hdr);
		if (req->type == VIRTIO_BLK_T_FLUSH && want) {
			snprintf(err, errlen, "flush request carries %llu data bytes",
				 (unsigned long long)want);
			return -EINVAL;
		}
		break;
	default:
		return 0;  /* unsupported type: answered UNSUPP by the device */
	}
	if ((req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) &&
	    want % VIRTIO_BLK_SECTOR) {
		snprintf(err, errlen, "data length %llu is not a multiple of 512",
			 (unsigned long long)want);
		return -EINVAL;
	}
	if (req->type == VIRTIO_BLK_T_GET_ID && want < VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "GET_ID buffer is %llu bytes, need 20",
			 (unsigned long long)want);
		return -EINVAL;
	}
	r = virtq_chain_walk(c, w, w ? 0 : sizeof(hdr), want, add_iov, req);
	if (r < 0) {
		snprintf(err, errlen, "request has more than %u data segments",
			 VIRTIO_BLK_SEG_MAX);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Device                                                              */
/* ------------------------------------------------------------------ */

static int open_image(const struct drive_config *cfg, const char *path, int *fd_out,
		      uint64_t *nsectors, char *err, size_t errlen)
{
	int fd = open(path, (cfg->is_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	struct stat st;
	off_t end;

	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "drive '%s': cannot open '%s'%s: %s", cfg->drive_id, path,
			 cfg->is_read_only ? "" : " read-write", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "drive '%s': '%s' is not a regular file or block device",
			 cfg->drive_id, path);
		close(fd);
		return -EINVAL;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end < 0) {
		int e = errno;

		snprintf(err, errlen, "drive '%s': cannot size '%s': %s", cfg->drive_id, path,
			 strerror(e));
		close(fd);
		return -e;
	}
	if (end % VIRTIO_BLK_SECTOR)
		log_warn("drive '%s': '%s' size %lld is not a multiple of 512; the tail is not visible",
			 cfg->drive_id, path, (long long)end);
	*fd_out = fd;
	*nsectors = (uint64_t)end / VIRTIO_BLK_SECTOR;
	return 0;
}

static void fill_id(const struct virtio_blk *b, uint8_t id[VIRTIO_BLK_ID_BYTES])
{
	size_t n = strnlen(b->cfg.drive_id, VIRTIO_BLK_ID_BYTES);

	memset(id, 0, VIRTIO_BLK_ID_BYTES);
	memcpy(id, b->cfg.drive_id, n);
}

static int iov_fill(struct iovec *iov, unsigned niov, const void *src, uint64_t len)
{
	const uint8_t *p = src;

	for (unsigned i = 0; i < niov && len; i++) {
		size_t n = iov[i].iov_len < len ? iov[i].iov_len : len;

		memcpy(iov[i].iov_base, p, n);
		p += n;
		len -= n;
	}
	return 0;
}

/* preadv/pwritev until done; iov is consumed. */
static int rw_full(int fd, bool write, struct iovec *iov, unsigned niov, uint64_t off,
		   uint64_t len)
{
	while (len) {
		ssize_t n = write ? pwritev(fd, iov, (int)niov, (off_t)off)
				  : preadv(fd, iov, (int)niov, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		while (niov && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov && n) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

static bool in_range(const struct virtio_blk *b, const struct virtio_blk_req *req)
{
	uint64_t n = req->data_len / VIRTIO_BLK_SECTOR;

	return req->sector <= b->nsectors && n <= b->nsectors - req->sector;
}

/* Checks common to both engines. Returns a status, or -1 to go on. */
static int precheck(struct virtio_blk *b, const struct virtio_blk_req *req)
{
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_OUT && b->cfg.is_read_only) {
			log_debug("drive '%s': write to a read-only drive", b->cfg.drive_id);
			return VIRTIO_BLK_S_IOERR;
		}
		if (!in_range(b, req)) {
			log_debug("drive '%s': sector %llu + %llu bytes is past capacity %llu",
				  b->cfg.drive_id, (unsigned long long)req->sector,
				  (unsigned long long)req->data_len,
				  (unsigned long long)b->nsectors);
			return VIRTIO_BLK_S_IOERR;
		}
		return -1;
	case VIRTIO_BLK_T_FLUSH:
		return -1;
	case VIRTIO_BLK_T_GET_ID: {
		uint8_t id[VIRTIO_BLK_ID_BYTES];

		fill_id(b, id);
		iov_fill((struct iovec *)req->iov, req->niov, id, sizeof(id));
		b->stats.get_id_count++;
		return VIRTIO_BLK_S_OK;
	}
	default:
		b->stats.unsupported++;
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static void account(struct virtio_blk *b, uint32_t type, uint64_t len, uint8_t st)
{
	if (st != VIRTIO_BLK_S_OK) {
		if (st == VIRTIO_BLK_S_IOERR)
			b->stats.io_errors++;
		return;
	}
	if (type == VIRTIO_BLK_T_IN) {
		b->stats.read_count++;
		b->stats.read_bytes += len;
	} else if (type == VIRTIO_BLK_T_OUT) {
		b->stats.write_count++;
		b->stats.write_bytes += len;
	} else if (type == VIRTIO_BLK_T_FLUSH) {
		b->stats.flush_count++;
	}
}

static uint32_t used_len_for(uint32_t type, uint64_t data_len, uint8_t st)
{
	if (st == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_IN)
		return (uint32_t)data_len + 1;
	if (st == VIRTIO_BLK_S_OK && type == VIRTIO_BLK_T_GET_ID)
		return VIRTIO_BLK_ID_BYTES + 1;
	return 1;
}

static uint8_t exec_sync(struct virtio_blk *b, struct virtio_blk_req *req)
{
	int r = precheck(b, req);

	if (r >= 0)
		return (uint8_t)r;
	if (req->type == VIRTIO_BLK_T_FLUSH) {
		if (b->cfg.cache_type == CACHE_WRITEBACK && fdatasync(b->fd) < 0) {
			log_warn("drive '%s': fdatasync: %s", b->cfg.drive_id, strerror(errno));
			return VIRTIO_BLK_S_IOERR;
		}
		return VIRTIO_BLK_S_OK;
	}
	r = rw_full(b->fd, req->type == VIRTIO_BLK_T_OUT, req->iov, req->niov,
		    req->sector * VIRTIO_BLK_SECTOR, req->data_len);
	if (r < 0) {
		log_warn("drive '%s': %s at sector %llu: %s", b->cfg.drive_id,
			 req->type == VIRTIO_BLK_T_OUT ? "write" : "read",
			 (unsigned long long)req->sector, strerror(-r));
		return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

static void complete(struct virtio_blk *b, uint16_t head, uint8_t *status, uint32_t type,
		     uint64_t data_len, uint8_t st)
{
	struct virtq *q = &b->t.state.queues[0];

	*status = st;
	account(b, type, data_len, st);
	virtq_push(q, head, used_len_for(type, data_len, st));
}

/* Async: hand the request to io_uring. 0 submitted, or a status to answer
 * now. */
static int submit_async(struct virtio_blk *b, uint16_t head, struct virtio_blk_req *req)
{
	struct io_uring_sqe *sqe;
	struct blk_slot *s = NULL;
	unsigned i;
	int r = precheck(b, req);

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

/* Reap finished io_uring requests. With `answer`, their status goes to the
 * guest; otherwise (device reset) they are only retired. Returns the
 * number reaped. */
static unsigned reap(struct virtio_blk *b, bool answer)
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
			complete(b, s->head, s->status, s->type, s->expect, st);
		s->busy = false;
		b->inflight--;
		n++;
	}
	return n;
}

/* Wait until nothing is in flight (reset, backing-file swap). */
static void drain(struct virtio_blk *b, bool answer)
{
	while (b->inflight) {
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(&b->ring, &cqe);

		if (r < 0 && r != -EINTR) {
			log_error("drive '%s': io_uring wait: %s", b->cfg.drive_id, strerror(-r));
			break;
		}
		reap(b, answer);
	}
}

/* Serve the request queue. Lock held. */
static void process_locked(struct virtio_blk *b)
{
	struct virtq *q = &b->t.state.queues[0];
	char err[160];
	bool pushed = false, submitted = false;
	unsigned popped = 0;

	if (!virtio_mmio_driver_ok(&b->t))
		return;
	if (b->async && reap(b, true))
		pushed = true;
	for (;;) {
		int r;

		if (b->async && b->inflight >= VIRTIO_BLK_QUEUE_DEPTH)
			break;  /* completions will call us again */
		/* At most a ring's worth per run: a driver that keeps the ring
		 * full (another vCPU, or reads landing on its own avail ring)
		 * must not keep the VMM thread here. The kick brings us back
		 * after the event loop has served everyone else. */
		if (popped == q->size) {
			if (b->t.kick)
				b->t.kick(b->t.irq_opaque, 0);
			break;
		}
		r = virtq_pop(q, b->t.mem, &b->chain);
		if (r != 0)
			popped++;
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		if (r == -EIO) {
			virtio_mmio_needs_reset(&b->t, "request queue ring is corrupt");
			break;
		}
		pushed = true;
		if (r < 0) {
			b->stats.invalid_reqs++;
			snprintf(err, sizeof(err), "drive '%s' (%s)", b->cfg.drive_id, b->t.name);
			virtq_log_rejected(q, err, 0, b->chain.head);
			virtq_push(q, b->chain.head, 0);
			continue;
		}
		if (virtio_blk_parse(&b->chain, &b->req, err, sizeof(err)) < 0) {
			b->stats.invalid_reqs++;
			if (b->stats.invalid_reqs <= 10 ||
			    !(b->stats.invalid_reqs & (b->stats.invalid_reqs - 1)))
				log_warn("drive '%s' (%s): bad request at head %u: %s (invalid_reqs=%llu)",
					 b->cfg.drive_id, b->t.name, b->chain.head, err,
					 (unsigned long long)b->stats.invalid_reqs);
			if (b->req.status) {
				b->stats.io_errors++;
				*b->req.status = VIRTIO_BLK_S_IOERR;
				virtq_push(q, b->chain.head, 1);
			} else {
				virtq_push(q, b->chain.head, 0);
			}
			continue;
		}
		if (b->async) {
			r = submit_async(b, b->chain.head, &b->req);
			if (r < 0) {
				submitted = true;
				continue;
			}
			complete(b, b->chain.head, b->req.status, b->req.type, b->req.data_len,
				 (uint8_t)r);
		} else {
			complete(b, b->chain.head, b->req.status, b->req.type, b->req.data_len,
				 exec_sync(b, &b->req));
		}
	}
	/* Also retry what a failed submit left in the SQ ring: prepared SQEs
	 * stay there until an io_uring_enter takes them. */
	if (b->async && b->ring_ready && (submitted || io_uring_sq_ready(&b->ring))) {
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
	if (pushed)
		virtio_mmio_signal_used(&b->t, 0);
}

void virtio_blk_process(struct virtio_blk *b)
{
	virtio_mmio_lock(&b->t);
	process_locked(b);
	virtio_mmio_unlock(&b->t);
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
		process_locked(b);
	virtio_mmio_unlock(&b->t);
	return r;
}

static void on_completion(int fd, uint32_t events, void *opaque)
{
	struct virtio_blk *b = opaque;
	uint64_t cnt;

	if (read(fd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN)
		log_warn("drive '%s': eventfd read: %s", b->cfg.drive_id, strerror(errno));
	virtio_blk_process(b);
}

/* ---- transport callbacks (lock held) ---- */

static size_t blk_config_len(void *dev)
{
	return BLK_CONFIG_LEN;
}

static void blk_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	struct virtio_blk *b = dev;
	uint8_t cfg[BLK_CONFIG_LEN] = { 0 };
	uint64_t cap = htole64(b->nsectors);
	uint32_t seg_max = htole32(VIRTIO_BLK_SEG_MAX), blk_size = htole32(VIRTIO_BLK_SECTOR);

	memcpy(cfg + 0, &cap, 8);
	memcpy(cfg + 12, &seg_max, 4);
	memcpy(cfg + 20, &blk_size, 4);
	memcpy(data, cfg + off, len);
}

static void blk_notify(void *dev, unsigned q)
{
	if (q == 0)
		process_locked(dev);
}

static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	if (b->async)
		drain(b, false);
}

/* ---- the device interface (lock held unless noted) ---- */

/* Saved device state: what the guest was told about the disk. */
struct blk_saved {
	uint64_t nsectors;
	uint8_t read_only;
	uint8_t pad[7];
};

static int blk_quiesce(void *dev)
{
	struct virtio_blk *b = dev;

	/* Every request in flight completes into the used ring (and its
	 * interrupt is raised) before the state is saved. */
	if (b->async)
		drain(b, true);
	return 0;
}

static void blk_save(void *dev, void *buf)
{
	struct virtio_blk *b = dev;
	struct blk_saved s = { .nsectors = b->nsectors, .read_only = b->cfg.is_read_only };

	memcpy(buf, &s, sizeof(s));
}

static int blk_restore(void *dev, const void *buf, char *err, size_t errlen)
{
	struct virtio_blk *b = dev;
	struct blk_saved s;

	memcpy(&s, buf, sizeof(s));
	if (s.read_only != b->cfg.is_read_only) {
		snprintf(err, errlen, "drive '%s': the snapshot's drive was %s, this one is %s",
			 b->cfg.drive_id, s.read_only ? "read-only" : "read-write",
			 b->cfg.is_read_only ? "read-only" : "read-write");
		return -EINVAL;
	}
	if (s.nsectors != b->nsectors) {
		snprintf(err, errlen, "drive '%s': %s has %llu sectors, the snapshot's guest saw %llu",
			 b->cfg.drive_id, b->cfg.path_on_host, (unsigned long long)b->nsectors,
			 (unsigned long long)s.nsectors);
		return -EINVAL;
	}
	return 0;
}

static void blk_metrics(void *dev, struct metric_sink *sink)
{
	static const struct virtio_blk_stats none;
	struct virtio_blk *b = dev;
	const struct virtio_blk_stats *s = b ? &b->stats : &none;

	sink->put(sink, "read_bytes", s->read_bytes);
	sink->put(sink, "write_bytes", s->write_bytes);
	sink->put(sink, "read_count", s->read_count);
	sink->put(sink, "write_count", s->write_count);
	sink->put(sink, "flush_count", s->flush_count);
	sink->put(sink, "get_id_count", s->get_id_count);
	sink->put(sink, "invalid_reqs_count", s->invalid_reqs + s->unsupported);
	sink->put(sink, "execute_fails", s->io_errors);
}

static void blk_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

static const struct virtio_dev_ops blk_ops = {
	.quiesce = blk_quiesce,
	.state_size = sizeof(struct blk_saved),
	.save = blk_save,
	.restore = blk_restore,
	.metrics = blk_metrics,
	.destroy = blk_destroy,
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max_size = BLK_QUEUE_SIZE,
	.config_len = blk_config_len,
	.config_read = blk_config_read,
	.reset = blk_reset,
	.notify = blk_notify,
};

static int setup_async(struct virtio_blk *b, char *err, size_t errlen)
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

static void blk_device_metrics(void *transport, struct metric_sink *sink)
{
	virtio_device_metrics(&blk_ops, transport, sink);
}

const struct device_ops virtio_device_ops_blk = {
	.kind = "virtio-blk",
	.metrics_section = "block",
	.metrics = blk_device_metrics,
	VIRTIO_DEVICE_OPS_COMMON,
};

int virtio_blk_create(const struct drive_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_blk **out, char *err,
		      size_t errlen)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	uint64_t features;
	int r;

	if (!b) {
		snprintf(err, errlen, "drive '%s': out of memory", cfg->drive_id);
		return -ENOMEM;
	}
	b->cfg = *cfg;
	if (host)
		b->host = *host;
	b->fd = -1;
	b->ring_efd = -1;
	r = open_image(cfg, cfg->path_on_host, &b->fd, &b->nsectors, err, errlen);
	if (r < 0) {
		free(b);
		return r;
	}
	features = VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
		   VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE);
	if (cfg->is_read_only)
		features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	virtio_mmio_init(&b->t, &blk_ops, b, features, mem);
	b->async = cfg->io_engine == IO_ENGINE_ASYNC;
	if (b->async) {
		r = setup_async(b, err, errlen);
		if (r < 0) {
			virtio_blk_destroy(b);
			return r;
		}
	}
	log_info("drive '%s': %s, %llu sectors, %s, %s engine, cache %s", cfg->drive_id,
		 cfg->path_on_host, (unsigned long long)b->nsectors,
		 cfg->is_read_only ? "read-only" : "read-write", b->async ? "Async" : "Sync",
		 cfg->cache_type == CACHE_WRITEBACK ? "Writeback" : "Unsafe");
	*out = b;
	return 0;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	if (b->ring_ready) {
		virtio_mmio_lock(&b->t);
		drain(b, false);
		virtio_mmio_unlock(&b->t);
		io_uring_queue_exit(&b->ring);
	}
	if (b->ring_efd >= 0) {
		if (b->host.fd_del)
			b->host.fd_del(b->host.loop, b->ring_efd);
		close(b->ring_efd);
	}
	if (b->fd >= 0)
		close(b->fd);
	virtio_mmio_destroy(&b->t);
	free(b->slots);
	free(b);
}

struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b)
{
	return &b->t;
}

const char *virtio_blk_id(const struct virtio_blk *b)
{
	return b->cfg.drive_id;
}

void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *out)
{
	virtio_mmio_lock(&b->t);
	*out = b->stats;
	virtio_mmio_unlock(&b->t);
}

void virtio_blk_get_state(struct virtio_blk *b, struct virtio_blk_state *out)
{
	virtio_mmio_lock(&b->t);
	out->nsectors = b->nsectors;
	out->read_only = b->cfg.is_read_only;
	virtio_mmio_unlock(&b->t);
}

int virtio_blk_update_path(struct virtio_blk *b, const char *path, char *err, size_t errlen)
{
	int fd, old;
	uint64_t n;
	int r;

	if (strlen(path) >= sizeof(b->cfg.path_on_host)) {
		snprintf(err, errlen, "drive '%s': path_on_host is too long", b->cfg.drive_id);
		return -ENAMETOOLONG;
	}
	r = open_image(&b->cfg, path, &fd, &n, err, errlen);
	if (r < 0)
		return r;
	virtio_mmio_lock(&b->t);
	if (b->async)
		drain(b, true);
	old = b->fd;
	b->fd = fd;
	b->nsectors = n;
	snprintf(b->cfg.path_on_host, sizeof(b->cfg.path_on_host), "%s", path);
	virtio_mmio_config_changed(&b->t);
	virtio_mmio_signal_used(&b->t, 0);
	virtio_mmio_unlock(&b->t);
	close(old);
	log_info("drive '%s': now backed by %s, %llu sectors", b->cfg.drive_id, path,
		 (unsigned long long)n);
	return 0;
}
