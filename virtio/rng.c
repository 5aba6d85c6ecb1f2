/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rng.c — virtio-rng (virtio 1.2 §5.4, device id 4): the entropy device of
 * PUT /entropy. One request queue; each chain's writable buffers are filled
 * from getrandom() (at most RNG_MAX_BYTES per request, as Firecracker caps
 * it), under an optional rate limiter (one operation and the bytes asked
 * for per request; a throttled request waits in the ring until the
 * limiter's timer fires). No config space, no device state of its own.
 * Counters: Firecracker's "entropy" metrics section.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>

#include "ratelimit.h"
#include "virtio.h"

#define RNG_QUEUE_SIZE 256
#define RNG_MAX_BYTES  (64 * 1024)

struct virtio_rng {
	struct virtio_mmio t;
	struct vm_services host;
	struct virtq_chain chain;    /* scratch */
	struct rate_limiter rl;
	bool rl_watched;
	struct {
		uint64_t event_count, event_fails, bytes, host_rng_fails;
		uint64_t throttled, rl_events;
	} stats;
};

static int fill_random(uint8_t *hva, uint64_t n, void *opaque)
{
	struct virtio_rng *r = opaque;

	while (n) {
		ssize_t got = getrandom(hva, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			r->stats.host_rng_fails++;
			return -EIO;
		}
		hva += got;
		n -= (uint64_t)got;
	}
	return 0;
}

/* Serve the request queue. Lock held. */
static void rng_process(struct virtio_rng *r)
{
	struct virtq *q = &r->t.state.queues[0];
	bool pushed = false;
	unsigned popped = 0;

	if (!virtio_mmio_driver_ok(&r->t) || !q->ready)
		return;
	for (;;) {
		uint64_t len;
		int rc;

		if (popped == q->size) {
			if (r->t.kick)
				r->t.kick(r->t.irq_opaque, 0);
			break;
		}
		if (rate_limiter_is_blocked(&r->rl))
			break;   /* the limiter's timer comes back */
		rc = virtq_pop(q, r->t.mem, &r->chain);
		if (rc == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		popped++;
		if (rc == -EIO) {
			virtio_mmio_needs_reset(&r->t, "entropy ring is corrupt");
			break;
		}
		r->stats.event_count++;
		if (rc < 0) {
			r->stats.event_fails++;
			virtq_log_rejected(q, r->t.name, 0, r->chain.head);
			virtq_push(q, r->chain.head, 0);
			pushed = true;
			continue;
		}
		len = r->chain.writable_len < RNG_MAX_BYTES ? r->chain.writable_len : RNG_MAX_BYTES;
		if (len && rate_limiter_limits_any(&r->rl)) {
			if (!rate_limiter_consume(&r->rl, 1, RL_OPS)) {
				virtq_unpop(q, 1);
				r->stats.throttled++;
				break;
			}
			if (!rate_limiter_consume(&r->rl, len, RL_BYTES)) {
				rate_limiter_replenish(&r->rl, 1, RL_OPS);
				virtq_unpop(q, 1);
				r->stats.throttled++;
				break;
			}
		}
		if (len && virtq_chain_walk(&r->chain, true, 0, len, fill_random, r) != 0) {
			r->stats.event_fails++;
			len = 0;
		}
		r->stats.bytes += len;
		virtq_push(q, r->chain.head, (uint32_t)len);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(&r->t, 0);
}

static void on_rl_timer(int fd, uint32_t events, void *opaque)
{
	struct virtio_rng *r = opaque;

	virtio_mmio_lock(&r->t);
	if (rate_limiter_timer_event(&r->rl) == 0) {
		r->stats.rl_events++;
		rng_process(r);
	}
	virtio_mmio_unlock(&r->t);
}

/* ---- transport callbacks (lock held) ---- */

static void rng_notify(void *dev, unsigned q)
{
	struct virtio_rng *r = dev;

	if (q != 0)
		return;
	if (rate_limiter_is_blocked(&r->rl)) {
		r->stats.rl_events++;   /* Firecracker counts a queue event while throttled */
		return;
	}
	rng_process(r);
}

static int rng_quiesce(void *dev)
{
	(void)dev;   /* requests are answered synchronously */
	return 0;
}

static void rng_metrics(void *dev, struct metric_sink *sink)
{
	struct virtio_rng *r = dev;

	sink->put(sink, "activate_fails", 0);
	sink->put(sink, "entropy_event_fails", r ? r->stats.event_fails : 0);
	sink->put(sink, "entropy_event_count", r ? r->stats.event_count : 0);
	sink->put(sink, "entropy_bytes", r ? r->stats.bytes : 0);
	sink->put(sink, "host_rng_fails", r ? r->stats.host_rng_fails : 0);
	sink->put(sink, "entropy_rate_limiter_throttled", r ? r->stats.throttled : 0);
	sink->put(sink, "rate_limiter_event_count", r ? r->stats.rl_events : 0);
}

static void rng_destroy(void *dev)
{
	virtio_rng_destroy(dev);
}

static const struct virtio_dev_ops rng_ops = {
	.quiesce = rng_quiesce,
	.metrics = rng_metrics,
	.destroy = rng_destroy,
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max_size = RNG_QUEUE_SIZE,
	.notify = rng_notify,
};

static void rng_device_metrics(void *transport, struct metric_sink *sink)
{
	virtio_device_metrics(&rng_ops, transport, sink);
}

const struct device_ops virtio_device_ops_rng = {
	.kind = "virtio-rng",
	.metrics_section = "entropy",
	.metrics = rng_device_metrics,
	VIRTIO_DEVICE_OPS_COMMON,
};

int virtio_rng_create(const struct entropy_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_rng **out, char *err,
		      size_t errlen)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	int rc;

	if (!r) {
		snprintf(err, errlen, "entropy: out of memory");
		return -ENOMEM;
	}
	if (host)
		r->host = *host;
	rate_limiter_init(&r->rl, &cfg->rate_limiter, NULL, NULL);
	virtio_mmio_init(&r->t, &rng_ops, r, 0, mem);
	rc = rate_limiter_open_timer(&r->rl);
	if (rc >= 0 && r->host.fd_add) {
		rc = r->host.fd_add(r->host.loop, r->rl.timer_fd, EPOLLIN, on_rl_timer, r);
		r->rl_watched = rc == 0;
	}
	if (rc < 0) {
		snprintf(err, errlen, "entropy: rate limiter timer: %s", strerror(-rc));
		virtio_rng_destroy(r);
		return rc;
	}
	log_info("entropy device: getrandom()%s", rate_limiter_limits_any(&r->rl) ?
		 ", rate limited" : "");
	*out = r;
	return 0;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	if (r->rl_watched && r->host.fd_del)
		r->host.fd_del(r->host.loop, r->rl.timer_fd);
	rate_limiter_close(&r->rl);
	virtio_mmio_destroy(&r->t);
	free(r);
}

struct virtio_mmio *virtio_rng_transport(struct virtio_rng *r)
{
	return &r->t;
}

void virtio_rng_process(struct virtio_rng *r)
{
	virtio_mmio_lock(&r->t);
	rng_process(r);
	virtio_mmio_unlock(&r->t);
}
