/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk.c — virtio-blk (virtio 1.2 §5.2) over a raw image file: the device.
 *
 * One request queue. Requests are parsed by a pure function (blk_req.c),
 * then served by the Sync engine (blk_sync.c: preadv/pwritev on the VMM
 * thread) or the Async engine (blk_uring.c: io_uring; completions arrive on
 * an eventfd in the event loop and only then reach the used ring). This file
 * holds create/destroy, the config space, queue processing, the
 * backing-file swap and the device-interface hooks. The transport lock is
 * held throughout.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_internal.h"

#define BLK_QUEUE_SIZE 256
#define BLK_CONFIG_LEN 24   /* capacity, size_max, seg_max, geometry, blk_size */

static int open_image(const struct drive_config *cfg, const char *path, int *fd_out,
		      uint64_t *nsectors, char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO must not block the VMM thread in open() (it is
	 * refused below); cleared again for a file or block device's I/O. */
	int fd = open(path, (cfg->is_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK |
				    O_NOCTTY);
	struct stat st;
	off_t end;

	if (fd < 0) {
		int e = errno;

		/* Firecracker's words first (VirtioBlockError::BackingFile), then wisp's. */
		snprintf(err, errlen, "Virtio backend error: Error manipulating the backing file: %s "
			 "(os error %d) %s (drive '%s': cannot open '%s'%s: %s)", strerror(e), e, path,
			 cfg->drive_id, path, cfg->is_read_only ? "" : " read-write", strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))) {
		snprintf(err, errlen, "drive '%s': '%s' is not a regular file or block device",
			 cfg->drive_id, path);
		close(fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int e = errno;

		snprintf(err, errlen, "drive '%s': '%s': fcntl: %s", cfg->drive_id, path,
			 strerror(e));
		close(fd);
		return -e;
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

/* Take the request's tokens: one operation, and its data bytes for reads
 * and writes (Firecracker's accounting). false: throttled, nothing taken. */
static bool blk_rl_admit(struct virtio_blk *b, const struct virtio_blk_req *req)
{
	if (!rate_limiter_limits_any(&b->rl))
		return true;
	if (!rate_limiter_consume(&b->rl, 1, RL_OPS))
		return false;
	if ((req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) &&
	    !rate_limiter_consume(&b->rl, req->data_len, RL_BYTES)) {
		rate_limiter_replenish(&b->rl, 1, RL_OPS);
		return false;
	}
	return true;
}

/* The limiter's timer expired: serve what waited (VMM thread). */
static void on_rl_timer(int fd, uint32_t events, void *opaque)
{
	struct virtio_blk *b = opaque;

	virtio_mmio_lock(&b->t);
	if (rate_limiter_timer_event(&b->rl) == 0) {
		b->rl_events++;
		blk_process_locked(b);
	}
	virtio_mmio_unlock(&b->t);
}

/* Serve the request queue. Lock held. */
void blk_process_locked(struct virtio_blk *b)
{
	struct virtq *q = &b->t.state.queues[0];
	char err[160];
	bool pushed = false, submitted = false;
	unsigned popped = 0;

	if (!virtio_mmio_driver_ok(&b->t)) {
		if (b->async && b->orphans)
			blk_uring_finish_reset(b);   /* a guest reset completes here */
		return;
	}
	if (b->async && blk_uring_reap(b, true))
		pushed = true;
	for (;;) {
		int r;

		if (b->async && b->inflight >= VIRTIO_BLK_QUEUE_DEPTH)
			break;  /* completions will call us again */
		/* Throttled: requests wait in the ring; the limiter's timer
		 * calls us again. */
		if (rate_limiter_is_blocked(&b->rl))
			break;
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
		if (!blk_rl_admit(b, &b->req)) {
			virtq_unpop(q, 1);
			b->rl_throttled++;
			break;
		}
		if (b->async) {
			r = blk_uring_submit(b, b->chain.head, &b->req);
			if (r < 0) {
				submitted = true;
				continue;
			}
			blk_complete(b, b->chain.head, b->req.status, b->req.type, b->req.data_len,
				     (uint8_t)r);
		} else {
			blk_complete(b, b->chain.head, b->req.status, b->req.type, b->req.data_len,
				     blk_sync_exec(b, &b->req));
		}
	}
	if (b->async)
		blk_uring_submit_prepared(b, submitted);
	if (pushed)
		virtio_mmio_signal_used(&b->t, 0);
}

void virtio_blk_process(struct virtio_blk *b)
{
	virtio_mmio_lock(&b->t);
	blk_process_locked(b);
	virtio_mmio_unlock(&b->t);
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
		blk_process_locked(dev);
}

static void blk_reset(void *dev)
{
	struct virtio_blk *b = dev;

	/* Never waits: a vCPU thread must not block on host I/O. */
	if (b->async)
		blk_uring_reset(b);
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
		blk_uring_drain(b, true);
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
	sink->put(sink, "rate_limiter_throttled_events", b ? b->rl_throttled : 0);
	sink->put(sink, "rate_limiter_event_count", b ? b->rl_events : 0);
	sink->put(sink, "queue_event_count", b ? b->t.queue_events[0] : 0);
}

/* Without the lock, after detach. */
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
	rate_limiter_init(&b->rl, &cfg->rate_limiter, NULL, NULL);
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
	/* The limiter's timer exists even without a limit: PATCH may add one. */
	r = rate_limiter_open_timer(&b->rl);
	if (r >= 0 && b->host.fd_add) {
		r = b->host.fd_add(b->host.loop, b->rl.timer_fd, EPOLLIN, on_rl_timer, b);
		b->rl_watched = r == 0;
	}
	if (r < 0) {
		snprintf(err, errlen, "drive '%s': rate limiter timer: %s", cfg->drive_id,
			 strerror(-r));
		virtio_blk_destroy(b);
		return r;
	}
	b->async = cfg->io_engine == IO_ENGINE_ASYNC;
	if (b->async) {
		r = blk_uring_setup(b, err, errlen);
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
	blk_uring_teardown(b);
	if (b->rl_watched && b->host.fd_del)
		b->host.fd_del(b->host.loop, b->rl.timer_fd);
	rate_limiter_close(&b->rl);
	if (b->fd >= 0)
		close(b->fd);
	virtio_mmio_destroy(&b->t);
	free(b);
}

struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b)
{
	return &b->t;
}

void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *out)
{
	virtio_mmio_lock(&b->t);
	*out = b->stats;
	virtio_mmio_unlock(&b->t);
}

void virtio_blk_update_rate_limiter(struct virtio_blk *b, const struct rate_limiter_config *patch)
{
	struct rate_limiter_config now;

	virtio_mmio_lock(&b->t);
	rate_limiter_update(&b->rl, patch);
	rate_limiter_get_config(&b->rl, &now);
	/* A limit lifted while throttled: the timer still fires and serves
	 * what waits. */
	virtio_mmio_unlock(&b->t);
	log_info("drive '%s': rate limiter: bandwidth %llu B / %llu ms, ops %llu / %llu ms",
		 b->cfg.drive_id, (unsigned long long)now.bandwidth.size,
		 (unsigned long long)now.bandwidth.refill_time, (unsigned long long)now.ops.size,
		 (unsigned long long)now.ops.refill_time);
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
	if (b->async) {
		blk_uring_drain(b, true);
		/* The ring takes only its registered file. */
		r = blk_uring_update_file(b, fd);
		if (r < 0) {
			virtio_mmio_unlock(&b->t);
			snprintf(err, errlen, "drive '%s': cannot give '%s' to io_uring: %s",
				 b->cfg.drive_id, path, strerror(-r));
			close(fd);
			return r;
		}
	}
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
