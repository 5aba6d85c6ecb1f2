/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net.c — virtio-net (virtio 1.2 §5.1) over a Linux tap device.
 *
 * Queue 0 receives (tap -> guest), queue 1 transmits (guest -> tap). The tap
 * carries a 12-byte virtio_net_hdr_v1 in front of each frame, so offloads
 * pass straight through. RX reads the tap only while the guest has posted
 * buffers: with none, the tap fd is parked (no epoll events) and the frame
 * already read is held until an RX notify brings buffers; nothing is
 * dropped for lack of buffers and nothing spins.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ratelimit.h"
#include "virtio.h"

#define NET_QUEUE_SIZE 256
#define NET_RXQ 0
#define NET_TXQ 1
#define NET_CONFIG_LEN 12   /* mac[6], status, max_virtqueue_pairs, mtu */
#define ETH_HLEN_VLAN 18    /* Ethernet header + one VLAN tag */

struct virtio_net {
	struct virtio_mmio t;
	struct net_config cfg;
	struct vm_services host;
	int tap;
	bool tap_watched;         /* fd added to the event loop */
	bool tap_armed;           /* ... with EPOLLIN */
	uint8_t *rx_frame;        /* frame read from the tap, header included */
	size_t rx_len;            /* 0: none pending */
	struct virtq_chain chain; /* scratch */
	struct iovec iov[VIRTQ_MAX_SIZE];
	uint16_t rx_heads[VIRTQ_MAX_SIZE];
	uint32_t rx_lens[VIRTQ_MAX_SIZE];
	struct virtio_net_stats stats;
	/* rate limiters (net_config rx/tx_rate_limiter; PATCH replaces buckets) */
	struct rate_limiter rl[2];  /* [NET_RXQ], [NET_TXQ] */
	bool rl_watched[2];
	bool rx_admitted;           /* the pending frame's tokens are taken */
	uint64_t rl_throttled[2];   /* rx/tx_rate_limiter_throttled */
	uint64_t rl_events[2];      /* rx_event_rate_limiter_count, tx_rate_limiter_event_count */
	uint64_t tap_events;        /* rx_tap_event_count: tap readiness handled */
};

/* Take one frame's tokens (an operation and its bytes, header included,
 * as Firecracker counts). false: throttled, nothing taken. */
static bool net_rl_admit(struct virtio_net *n, unsigned q, uint64_t bytes)
{
	struct rate_limiter *rl = &n->rl[q];

	if (!rate_limiter_limits_any(rl))
		return true;
	if (!rate_limiter_consume(rl, 1, RL_OPS))
		return false;
	if (!rate_limiter_consume(rl, bytes, RL_BYTES)) {
		rate_limiter_replenish(rl, 1, RL_OPS);
		return false;
	}
	return true;
}

static void tap_arm(struct virtio_net *n, bool on)
{
	if (!n->tap_watched || n->tap_armed == on)
		return;
	if (n->host.fd_mod(n->host.loop, n->tap, on ? EPOLLIN : 0) == 0)
		n->tap_armed = on;
}

static bool has(const struct virtio_net *n, unsigned bit)
{
	return virtio_mmio_has_feature(&n->t, bit);
}

/* Address of byte `off` of the chain's writable part. */
static uint8_t *writable_byte(const struct virtq_chain *c, uint64_t off)
{
	for (unsigned i = c->nr_readable; i < c->nr; i++) {
		if (off < c->segs[i].len)
			return c->segs[i].hva + off;
		off -= c->segs[i].len;
	}
	return NULL;
}

/* Put the pending frame into RX buffers. 1 delivered (or dropped as
 * undeliverable), 0 not enough buffers yet (nothing consumed), -EIO the
 * device needs a reset. */
static int rx_deliver(struct virtio_net *n)
{
	struct virtq *q = &n->t.state.queues[NET_RXQ];
	bool mrg = has(n, VIRTIO_NET_F_MRG_RXBUF);
	uint8_t *nb_lo = NULL, *nb_hi = NULL;
	uint16_t used = 0;
	size_t off = 0;

	while (off < n->rx_len) {
		uint64_t room, take;
		int r;

		/* One frame never takes more buffers than the ring holds (and
		 * rx_heads/rx_lens have room for no more). A driver that keeps
		 * re-posting while we fill (another vCPU, or buffers laid over
		 * its own avail ring) must not push us past that. */
		if (used == q->size) {
			/* The whole ring cannot hold it: it never will. */
			virtq_unpop(q, used);
			n->stats.rx_drops++;
			return 1;
		}
		r = virtq_pop(q, n->t.mem, &n->chain);
		if (r == 0) {
			virtq_unpop(q, used);
			return 0;
		}
		if (r < 0 || n->chain.nr_readable || n->chain.writable_len < (used ? 1 : VIRTIO_NET_HDR_LEN)) {
			if (r == -EINVAL)
				virtq_log_rejected(q, n->t.name, NET_RXQ, n->chain.head);
			virtq_unpop(q, used);
			n->stats.rx_errors++;
			virtio_mmio_needs_reset(&n->t, "malformed RX buffer");
			return -EIO;
		}
		room = n->chain.writable_len;
		if (!mrg && room < n->rx_len) {
			/* A single buffer must hold the frame: drop it, return the buffer. */
			n->stats.rx_drops++;
			virtq_push(q, n->chain.head, 0);
			return 1;
		}
		take = n->rx_len - off < room ? n->rx_len - off : room;
		virtq_chain_write(&n->chain, 0, n->rx_frame + off, take);
		if (used == 0) {
			nb_lo = writable_byte(&n->chain, 10);
			nb_hi = writable_byte(&n->chain, 11);
		}
		n->rx_heads[used] = n->chain.head;
		n->rx_lens[used] = (uint32_t)take;
		used++;
		off += take;
	}
	*nb_lo = (uint8_t)(used & 0xff);
	*nb_hi = (uint8_t)(used >> 8);
	for (uint16_t i = 0; i < used; i++)
		virtq_push(q, n->rx_heads[i], n->rx_lens[i]);
	n->stats.rx_packets++;
	n->stats.rx_bytes += n->rx_len - VIRTIO_NET_HDR_LEN;
	return 1;
}

static void rx_process(struct virtio_net *n)
{
	struct virtq *q = &n->t.state.queues[NET_RXQ];
	bool pushed = false;
	unsigned frames = 0;

	if (!virtio_mmio_driver_ok(&n->t) || !q->ready)
		return;
	for (;;) {
		/* At most a ring's worth of frames per run; the tap stays
		 * armed (level-triggered), so the event loop calls us again. */
		if (frames == q->size) {
			tap_arm(n, true);
			break;
		}
		if (!n->rx_len) {
			ssize_t r;

			/* Throttled: leave frames in the tap; the timer comes back. */
			if (rate_limiter_is_blocked(&n->rl[NET_RXQ])) {
				tap_arm(n, false);
				break;
			}
			if (virtq_avail_count(q) == 0) {
				if (virtq_enable_notify(q))
					continue;
				tap_arm(n, false);
				break;
			}
			r = read(n->tap, n->rx_frame, VIRTIO_NET_MAX_FRAME);
			if (r < 0) {
				if (errno != EAGAIN && errno != EINTR) {
					n->stats.rx_errors++;
					log_debug("%s: tap read: %s", n->t.name, strerror(errno));
				}
				tap_arm(n, true);
				break;
			}
			if (r < VIRTIO_NET_HDR_LEN) {
				n->stats.rx_errors++;
				continue;
			}
			n->rx_len = (size_t)r;
			/* num_buffers is ours to fill; without MRG_RXBUF it is 1. */
			n->rx_frame[10] = 1;
			n->rx_frame[11] = 0;
			n->rx_admitted = false;
		}
		if (!n->rx_admitted) {
			if (!net_rl_admit(n, NET_RXQ, n->rx_len)) {
				/* Hold the frame until the timer fires. */
				n->rl_throttled[NET_RXQ]++;
				tap_arm(n, false);
				break;
			}
			n->rx_admitted = true;
		}
		uint16_t had = virtq_avail_count(q);
		int r = rx_deliver(n);

		if (r < 0) {
			n->rx_len = 0;
			n->rx_admitted = false;
			tap_arm(n, false);
			break;
		}
		if (r > 0) {
			n->rx_len = 0;
			n->rx_admitted = false;
			pushed = true;
			frames++;
			continue;
		}
		/* Not enough buffers: wait for the guest, holding the frame. */
		n->stats.rx_wait_buffers++;
		virtq_enable_notify(q);
		if (virtq_avail_count(q) != had)
			continue;
		tap_arm(n, false);
		break;
	}
	if (pushed)
		virtio_mmio_signal_used(&n->t, NET_RXQ);
}

static uint64_t tx_max_frame(const struct virtio_net *n)
{
	if (has(n, VIRTIO_NET_F_HOST_TSO4) || has(n, VIRTIO_NET_F_HOST_TSO6) ||
	    has(n, VIRTIO_NET_F_HOST_UFO))
		return VIRTIO_NET_MAX_FRAME - VIRTIO_NET_HDR_LEN;
	return ETH_HLEN_VLAN + (n->cfg.mtu ? n->cfg.mtu : 1500);
}

static void tx_process(struct virtio_net *n)
{
	struct virtq *q = &n->t.state.queues[NET_TXQ];
	uint64_t max = tx_max_frame(n);
	bool pushed = false;
	unsigned popped = 0;

	if (!virtio_mmio_driver_ok(&n->t))
		return;
	for (;;) {
		uint64_t len;
		int r;

		/* At most a ring's worth per run, so a driver that keeps the
		 * ring full cannot hold the VMM thread; the kick brings us back
		 * after the event loop has served the other fds. */
		if (popped == q->size) {
			if (n->t.kick)
				n->t.kick(n->t.irq_opaque, NET_TXQ);
			break;
		}
		/* Throttled: frames wait in the ring; the timer comes back. */
		if (rate_limiter_is_blocked(&n->rl[NET_TXQ]))
			break;
		r = virtq_pop(q, n->t.mem, &n->chain);
		if (r != 0)
			popped++;
		if (r == 0) {
			if (virtq_enable_notify(q))
				continue;
			break;
		}
		if (r == -EIO) {
			virtio_mmio_needs_reset(&n->t, "TX ring is corrupt");
			break;
		}
		pushed = true;
		if (r < 0) {
			n->stats.tx_errors++;
			virtq_log_rejected(q, n->t.name, NET_TXQ, n->chain.head);
			virtq_push(q, n->chain.head, 0);
			continue;
		}
		len = n->chain.readable_len;
		if (!net_rl_admit(n, NET_TXQ, len)) {
			virtq_unpop(q, 1);
			n->rl_throttled[NET_TXQ]++;
			break;
		}
		if (len < VIRTIO_NET_HDR_LEN) {
			n->stats.tx_errors++;
		} else if (len - VIRTIO_NET_HDR_LEN > max) {
			n->stats.tx_oversized++;
			n->stats.tx_drops++;
		} else {
			ssize_t w;

			for (unsigned i = 0; i < n->chain.nr_readable; i++)
				n->iov[i] = (struct iovec){ .iov_base = n->chain.segs[i].hva,
							    .iov_len = n->chain.segs[i].len };
			do
				w = writev(n->tap, n->iov, (int)n->chain.nr_readable);
			while (w < 0 && errno == EINTR);
			if (w < 0) {
				if (errno == EAGAIN || errno == ENOBUFS)
					n->stats.tx_drops++;
				else
					n->stats.tx_errors++;
				log_debug("%s: tap write: %s", n->t.name, strerror(errno));
			} else {
				n->stats.tx_packets++;
				n->stats.tx_bytes += len - VIRTIO_NET_HDR_LEN;
			}
		}
		virtq_push(q, n->chain.head, 0);
	}
	if (pushed)
		virtio_mmio_signal_used(&n->t, NET_TXQ);
}

/* A limiter's timer expired: move what waited (VMM thread). */
static void on_rl_timer(struct virtio_net *n, unsigned q)
{
	virtio_mmio_lock(&n->t);
	if (rate_limiter_timer_event(&n->rl[q]) == 0) {
		n->rl_events[q]++;
		if (q == NET_RXQ) {
			if (virtio_mmio_driver_ok(&n->t))
				tap_arm(n, true);
			rx_process(n);
		} else {
			tx_process(n);
		}
	}
	virtio_mmio_unlock(&n->t);
}

static void on_rx_timer(int fd, uint32_t events, void *opaque)
{
	on_rl_timer(opaque, NET_RXQ);
}

static void on_tx_timer(int fd, uint32_t events, void *opaque)
{
	on_rl_timer(opaque, NET_TXQ);
}

static void on_tap(int fd, uint32_t events, void *opaque)
{
	struct virtio_net *n = opaque;

	virtio_mmio_lock(&n->t);
	n->tap_events++;   /* metrics rx_tap_event_count */
	if (events & (EPOLLERR | EPOLLHUP)) {
		n->stats.rx_errors++;
		log_warn("%s: tap '%s' reports an error; RX parked", n->t.name,
			 n->cfg.host_dev_name);
		tap_arm(n, false);
	} else {
		rx_process(n);
	}
	virtio_mmio_unlock(&n->t);
}

/* ---- transport callbacks (lock held) ---- */

static size_t net_config_len(void *dev)
{
	return NET_CONFIG_LEN;
}

static void net_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	struct virtio_net *n = dev;
	uint8_t cfg[NET_CONFIG_LEN] = { 0 };
	uint16_t pairs = htole16(1), mtu = htole16(n->cfg.mtu);

	memcpy(cfg, n->cfg.guest_mac, 6);
	memcpy(cfg + 8, &pairs, 2);
	memcpy(cfg + 10, &mtu, 2);
	memcpy(data, cfg + off, len);
}

static int net_activate(void *dev)
{
	struct virtio_net *n = dev;
	unsigned off = 0;

	if (has(n, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (has(n, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (has(n, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (has(n, VIRTIO_NET_F_GUEST_UFO))
			off |= TUN_F_UFO;
	}
	if (ioctl(n->tap, TUNSETOFFLOAD, (unsigned long)off) < 0)
		log_warn("%s: TUNSETOFFLOAD 0x%x on '%s': %s", n->t.name, off,
			 n->cfg.host_dev_name, strerror(errno));
	/* The VMM thread reads once the tap has data and the guest buffers. */
	tap_arm(n, true);
	return 0;
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	if (n->rx_len)
		n->stats.rx_drops++;
	n->rx_len = 0;
	n->rx_admitted = false;
	tap_arm(n, false);
}

static void net_notify(void *dev, unsigned q)
{
	struct virtio_net *n = dev;

	if (q == NET_RXQ) {
		tap_arm(n, true);
		rx_process(n);
	} else if (q == NET_TXQ) {
		tx_process(n);
	}
}

/* ---- the device interface (lock held) ---- */

static int net_quiesce(void *dev)
{
	(void)dev;   /* frames are moved synchronously; a frame read from the
		      * tap and not yet delivered is dropped, as on a wire */
	return 0;
}

static void net_metrics(void *dev, struct metric_sink *sink)
{
	static const struct virtio_net_stats none;
	struct virtio_net *n = dev;
	const struct virtio_net_stats *s = n ? &n->stats : &none;

	sink->put(sink, "rx_bytes_count", s->rx_bytes);
	sink->put(sink, "rx_packets_count", s->rx_packets);
	sink->put(sink, "rx_count", s->rx_packets);
	sink->put(sink, "rx_fails", s->rx_errors);
	sink->put(sink, "rx_drops", s->rx_drops);
	sink->put(sink, "no_rx_avail_buffer", s->rx_wait_buffers);
	sink->put(sink, "tx_bytes_count", s->tx_bytes);
	sink->put(sink, "tx_packets_count", s->tx_packets);
	sink->put(sink, "tx_count", s->tx_packets);
	sink->put(sink, "tx_fails", s->tx_errors);
	sink->put(sink, "tx_drops", s->tx_drops);
	sink->put(sink, "tx_malformed_frames", s->tx_oversized);
	sink->put(sink, "rx_rate_limiter_throttled", n ? n->rl_throttled[NET_RXQ] : 0);
	sink->put(sink, "rx_event_rate_limiter_count", n ? n->rl_events[NET_RXQ] : 0);
	sink->put(sink, "tx_rate_limiter_throttled", n ? n->rl_throttled[NET_TXQ] : 0);
	sink->put(sink, "tx_rate_limiter_event_count", n ? n->rl_events[NET_TXQ] : 0);
	sink->put(sink, "rx_queue_event_count", n ? n->t.queue_events[NET_RXQ] : 0);
	sink->put(sink, "tx_queue_event_count", n ? n->t.queue_events[NET_TXQ] : 0);
	sink->put(sink, "rx_tap_event_count", n ? n->tap_events : 0);
}

static void net_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

/* The MAC and MTU are part of the configuration (and of the offered
 * features the transport checks): the device has no state of its own. */
static const struct virtio_dev_ops net_ops = {
	.quiesce = net_quiesce,
	.metrics = net_metrics,
	.destroy = net_destroy,
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.nr_queues = 2,
	.queue_max_size = NET_QUEUE_SIZE,
	.config_len = net_config_len,
	.config_read = net_config_read,
	.activate = net_activate,
	.reset = net_reset,
	.notify = net_notify,
};

/* Whether a network device of that name exists in our namespace. TUNSETIFF
 * would create a missing one (with CAP_NET_ADMIN): a tap nobody set up,
 * which is not what host_dev_name asks for. 0, -ENODEV, or -errno. */
static int tap_exists(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		r = -errno;
	close(s);
	return r;
}

static int open_tap(const struct net_config *cfg, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = VIRTIO_NET_HDR_LEN, e;
	int fd;

	e = tap_exists(cfg->host_dev_name);
	if (e == -ENODEV) {
		snprintf(err, errlen, "network interface '%s': tap '%s' does not exist "
			 "(create it first, e.g. ip tuntap add dev %s mode tap)",
			 cfg->iface_id, cfg->host_dev_name, cfg->host_dev_name);
		return e;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "network interface '%s': cannot open /dev/net/tun for tap '%s': %s",
			 cfg->iface_id, cfg->host_dev_name, strerror(e));
		return -e;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->host_dev_name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		snprintf(err, errlen, "network interface '%s': cannot open tap '%s': %s",
			 cfg->iface_id, cfg->host_dev_name, strerror(e));
		close(fd);
		return -e;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		snprintf(err, errlen, "network interface '%s': tap '%s': TUNSETVNETHDRSZ: %s",
			 cfg->iface_id, cfg->host_dev_name, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

static void net_device_metrics(void *transport, struct metric_sink *sink)
{
	virtio_device_metrics(&net_ops, transport, sink);
}

const struct device_ops virtio_device_ops_net = {
	.kind = "virtio-net",
	.metrics_section = "net",
	.metrics = net_device_metrics,
	VIRTIO_DEVICE_OPS_COMMON,
};

int virtio_net_create_fd(const struct net_config *cfg, int tap_fd, const struct guest_mem *mem,
			 const struct vm_services *host, struct virtio_net **out, char *err,
			 size_t errlen)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	uint64_t f;
	int r;

	if (n)
		n->rx_frame = malloc(VIRTIO_NET_MAX_FRAME);
	if (!n || !n->rx_frame) {
		if (n)
			free(n);
		close(tap_fd);
		snprintf(err, errlen, "network interface '%s': out of memory", cfg->iface_id);
		return -ENOMEM;
	}
	n->cfg = *cfg;
	n->tap = tap_fd;
	if (host)
		n->host = *host;
	rate_limiter_init(&n->rl[NET_RXQ], &cfg->rx_rate_limiter, NULL, NULL);
	rate_limiter_init(&n->rl[NET_TXQ], &cfg->tx_rate_limiter, NULL, NULL);
	f = VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |
	    VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) |
	    VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) |
	    VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) |
	    VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (cfg->has_mac)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MAC);
	if (cfg->mtu)
		f |= VIRTIO_BIT(VIRTIO_NET_F_MTU);
	virtio_mmio_init(&n->t, &net_ops, n, f, mem);
	if (n->host.fd_add) {
		r = n->host.fd_add(n->host.loop, tap_fd, 0, on_tap, n);
		if (r < 0) {
			snprintf(err, errlen, "network interface '%s': cannot watch tap '%s': %s",
				 cfg->iface_id, cfg->host_dev_name, strerror(-r));
			virtio_net_destroy(n);
			return r;
		}
		n->tap_watched = true;
	}
	/* The limiters' timers exist even without a limit: PATCH may add one. */
	for (unsigned q = 0; q < 2; q++) {
		r = rate_limiter_open_timer(&n->rl[q]);
		if (r >= 0 && n->host.fd_add) {
			r = n->host.fd_add(n->host.loop, n->rl[q].timer_fd, EPOLLIN,
					   q == NET_RXQ ? on_rx_timer : on_tx_timer, n);
			n->rl_watched[q] = r == 0;
		}
		if (r < 0) {
			snprintf(err, errlen, "network interface '%s': rate limiter timer: %s",
				 cfg->iface_id, strerror(-r));
			virtio_net_destroy(n);
			return r;
		}
	}
	log_info("network interface '%s': tap '%s'", cfg->iface_id, cfg->host_dev_name);
	*out = n;
	return 0;
}

int virtio_net_create(const struct net_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_net **out, char *err,
		      size_t errlen)
{
	int fd = open_tap(cfg, err, errlen);

	if (fd < 0)
		return fd;
	return virtio_net_create_fd(cfg, fd, mem, host, out, err, errlen);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	if (n->tap_watched && n->host.fd_del)
		n->host.fd_del(n->host.loop, n->tap);
	if (n->tap >= 0)
		close(n->tap);
	for (unsigned q = 0; q < 2; q++) {
		if (n->rl_watched[q] && n->host.fd_del)
			n->host.fd_del(n->host.loop, n->rl[q].timer_fd);
		rate_limiter_close(&n->rl[q]);
	}
	virtio_mmio_destroy(&n->t);
	free(n->rx_frame);
	free(n);
}

struct virtio_mmio *virtio_net_transport(struct virtio_net *n)
{
	return &n->t;
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out)
{
	virtio_mmio_lock(&n->t);
	*out = n->stats;
	virtio_mmio_unlock(&n->t);
}

void virtio_net_update_rate_limiters(struct virtio_net *n, const struct rate_limiter_config *rx,
				     const struct rate_limiter_config *tx)
{
	virtio_mmio_lock(&n->t);
	if (rx)
		rate_limiter_update(&n->rl[NET_RXQ], rx);
	if (tx)
		rate_limiter_update(&n->rl[NET_TXQ], tx);
	virtio_mmio_unlock(&n->t);
	log_info("network interface '%s': rate limiters updated (rx %s, tx %s)", n->cfg.iface_id,
		 rx ? "replaced" : "kept", tx ? "replaced" : "kept");
}
