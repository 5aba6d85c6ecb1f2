/* SPDX-License-Identifier: Apache-2.0 */
/* test_ratelimit_devices.c — rate limiters in virtio-net (RX and TX) and
 * virtio-rng, over fake services whose event loop the test drives: a
 * throttled frame or request waits (nothing is lost or spun on), the
 * limiter's timer brings it through, PATCH changes the limit, and the
 * Firecracker counters move. */
#include <check.h>
#include <stdint.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "../check_main.h"
#include "test_virtio_util.h"

#define QSZ 8
#define RXQ_DESC  T_DESC
#define RXQ_AVAIL T_AVAIL
#define RXQ_USED  T_USED
#define TXQ_DESC  0x6000ULL
#define TXQ_AVAIL 0x7000ULL
#define TXQ_USED  0x8000ULL

static struct tmem M;

/* ---- fake event loop: remembers the handlers ---- */
static struct { int fd; ev_handler fn; void *opaque; } W[8];
static unsigned NW;

static int f_add(struct evloop *l, int fd, uint32_t ev, ev_handler fn, void *opaque)
{
	ck_assert_uint_lt(NW, 8);
	W[NW].fd = fd;
	W[NW].fn = fn;
	W[NW].opaque = opaque;
	NW++;
	return 0;
}

static int f_mod(struct evloop *l, int fd, uint32_t ev)
{
	return 0;
}

static int f_del(struct evloop *l, int fd)
{
	return 0;
}

static struct vm_services SVC = { .fd_add = f_add, .fd_mod = f_mod, .fd_del = f_del };

/* Run every watched handler whose fd is readable now (one event-loop pass). */
static unsigned loop_once(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < NW; i++) {
		struct pollfd p = { .fd = W[i].fd, .events = POLLIN };

		if (poll(&p, 1, 0) == 1 && (p.revents & POLLIN)) {
			W[i].fn(W[i].fd, EPOLLIN, W[i].opaque);
			n++;
		}
	}
	return n;
}

/* ---- metrics ---- */
struct msink {
	struct metric_sink s;
	const char *want;
	uint64_t v;
	bool found;
};

static void msink_put(struct metric_sink *s, const char *name, uint64_t v)
{
	struct msink *m = (struct msink *)s;

	if (!strcmp(name, m->want)) {
		m->v = v;
		m->found = true;
	}
}

static uint64_t metric(const struct device_ops *ops, void *transport, const char *name)
{
	struct msink m = { .s.put = msink_put, .want = name };

	ops->metrics(transport, &m.s);
	ck_assert_msg(m.found, "metric %s missing", name);
	return m.v;
}

/* ---- transport ---- */
static void wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
	virtio_mmio_write(t, off, (uint8_t *)&v, 4);
}

static void queue(struct virtio_mmio *t, unsigned q, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(t, VMMIO_QUEUE_SEL, q);
	wr(t, VMMIO_QUEUE_NUM, QSZ);
	wr(t, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(t, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(t, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(t, VMMIO_QUEUE_READY, 1);
}

static void driver_ok(struct virtio_mmio *t, unsigned nq)
{
	wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(t, VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(t, VMMIO_DRIVER_FEATURES, 1);   /* VERSION_1 */
	wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	queue(t, 0, RXQ_DESC, RXQ_AVAIL, RXQ_USED);
	if (nq > 1)
		queue(t, 1, TXQ_DESC, TXQ_AVAIL, TXQ_USED);
	wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(virtio_mmio_driver_ok(t));
}

static void post(uint64_t desc, uint64_t avail, uint16_t idx, uint64_t gpa, uint32_t len,
		 uint16_t flags)
{
	uint16_t a = get16(&M, avail + 2);

	set_desc_at(&M, desc, idx, gpa, len, flags, 0);
	put16(&M, avail + 4 + 2 * (a % QSZ), idx);
	put16(&M, avail + 2, (uint16_t)(a + 1));
}

static struct rate_limiter_config ops_limit(uint64_t size, uint64_t ms)
{
	struct rate_limiter_config c;

	memset(&c, 0, sizeof(c));
	c.ops = (struct token_bucket_config){ true, size, 0, ms };
	return c;
}

static void setup(void)
{
	tmem_init(&M, false);
	NW = 0;
}

static void teardown(void)
{
	tmem_free(&M);
}

/* ---- virtio-net ---- */

START_TEST(net_tx_throttled_then_timer)
{
	struct net_config c;
	struct virtio_net *n;
	struct virtio_mmio *t;
	char err[256], buf[2048];
	int sv[2], got = 0;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.iface_id, sizeof(c.iface_id), "eth0");
	c.tx_rate_limiter = ops_limit(2, 100);   /* 2 frames, then 20 per second */
	ck_assert_int_eq(virtio_net_create_fd(&c, sv[0], &M.mem, &SVC, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(NW, 3);   /* the tap and two limiter timers */
	t = virtio_net_transport(n);
	driver_ok(t, 2);
	for (uint16_t i = 0; i < 4; i++)
		post(TXQ_DESC, TXQ_AVAIL, i, T_DATA + i * 256, 100, 0);
	wr(t, VMMIO_QUEUE_NOTIFY, 1);
	/* two frames out, two wait in the ring */
	ck_assert_uint_eq(get16(&M, TXQ_USED + 2), 2);
	while (recv(sv[1], buf, sizeof(buf), 0) > 0)
		got++;
	ck_assert_int_eq(got, 2);
	ck_assert_uint_eq(metric(&virtio_device_ops_net, t, "tx_rate_limiter_throttled"), 1);
	/* a notify while throttled does nothing */
	wr(t, VMMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(get16(&M, TXQ_USED + 2), 2);
	/* nothing is readable before the timer expires (no spinning) */
	ck_assert_uint_eq(loop_once(), 0);
	usleep(150000);
	/* 150 ms at 20/s: 3 tokens earned, the 2 waiting frames go */
	ck_assert_uint_eq(loop_once(), 1);
	ck_assert_uint_eq(get16(&M, TXQ_USED + 2), 4);
	ck_assert_uint_eq(metric(&virtio_device_ops_net, t, "tx_rate_limiter_event_count"), 1);
	/* PATCH: an ops bucket of size 0 removes the limit */
	{
		struct rate_limiter_config off = ops_limit(0, 0);

		virtio_net_update_rate_limiters(n, NULL, &off);
	}
	for (uint16_t i = 0; i < 6; i++)
		post(TXQ_DESC, TXQ_AVAIL, i, T_DATA + i * 256, 100, 0);
	wr(t, VMMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(get16(&M, TXQ_USED + 2), 10);
	virtio_device_destroy(t);
	close(sv[1]);
}
END_TEST

START_TEST(net_rx_throttled_holds_frames)
{
	struct net_config c;
	struct virtio_net *n;
	struct virtio_mmio *t;
	char err[256], frame[VIRTIO_NET_HDR_LEN + 100];
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.iface_id, sizeof(c.iface_id), "eth0");
	/* bandwidth: 2 frames of 112 bytes (header included) */
	c.rx_rate_limiter.bandwidth = (struct token_bucket_config){ true, 224, 0, 1000 };
	ck_assert_int_eq(virtio_net_create_fd(&c, sv[0], &M.mem, &SVC, &n, err, sizeof(err)), 0);
	t = virtio_net_transport(n);
	driver_ok(t, 2);
	memset(frame, 0, sizeof(frame));
	for (int i = 0; i < 4; i++) {
		frame[VIRTIO_NET_HDR_LEN] = (char)i;
		ck_assert_int_eq(write(sv[1], frame, sizeof(frame)), (ssize_t)sizeof(frame));
	}
	for (uint16_t i = 0; i < 4; i++)
		post(RXQ_DESC, RXQ_AVAIL, i, T_DATA + i * 2048, 2048, VIRTQ_DESC_F_WRITE);
	wr(t, VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(get16(&M, RXQ_USED + 2), 2);
	ck_assert_uint_eq(metric(&virtio_device_ops_net, t, "rx_rate_limiter_throttled"), 1);
	ck_assert_uint_eq(metric(&virtio_device_ops_net, t, "rx_drops"), 0);
	/* PATCH: no limit any more; the frame held and the one in the tap
	 * come through once the pending timer fires */
	{
		struct rate_limiter_config off;

		memset(&off, 0, sizeof(off));
		off.bandwidth.set = true;
		virtio_net_update_rate_limiters(n, &off, NULL);
	}
	usleep(150000);
	ck_assert_uint_ge(loop_once(), 1);
	ck_assert_uint_eq(get16(&M, RXQ_USED + 2), 4);
	/* in order, nothing lost */
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(*gp(&M, T_DATA + i * 2048 + VIRTIO_NET_HDR_LEN), i);
	ck_assert_uint_eq(metric(&virtio_device_ops_net, t, "rx_event_rate_limiter_count"), 1);
	virtio_device_destroy(t);
	close(sv[1]);
}
END_TEST

/* ---- virtio-rng ---- */

static struct virtio_mmio *rng_start(const struct rate_limiter_config *rl)
{
	struct entropy_config c;
	struct virtio_rng *r;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.set = true;
	if (rl)
		c.rate_limiter = *rl;
	ck_assert_int_eq(virtio_rng_create(&c, &M.mem, &SVC, &r, err, sizeof(err)), 0);
	driver_ok(virtio_rng_transport(r), 1);
	return virtio_rng_transport(r);
}

/* A virtio state of snapshot format 1.0 (two queue slots, before the
 * balloon raised VIRTIO_MAX_QUEUES) restores into a one-queue device; a
 * state of any other size is refused. */
START_TEST(format_1_0_virtio_state_restores)
{
	struct virtio_mmio *a = rng_start(NULL), *b;
	size_t len = virtio_device_state_size(a);
	size_t gone = (VIRTIO_MAX_QUEUES - 2) * sizeof(struct virtq_saved);
	size_t old_len = len - gone, tsize = sizeof(struct virtio_mmio_saved);
	uint8_t *cur = malloc(len), *old = malloc(len), *back = malloc(len);
	char err[256];

	ck_assert_int_eq(virtio_device_save(a, cur, len), 0);
	/* The 1.0 layout: the transport without the last slots, then the
	 * device's own state. */
	memcpy(old, cur, tsize - gone);
	memcpy(old + tsize - gone, cur + tsize, len - tsize);
	b = rng_start(NULL);
	virtio_device_reset(b);
	ck_assert_int_eq(virtio_device_restore(b, old, old_len, err, sizeof(err)), 0);
	ck_assert_int_eq(virtio_device_save(b, back, len), 0);
	ck_assert_int_eq(memcmp(cur, back, len), 0);
	ck_assert_int_eq(virtio_device_restore(b, old, old_len - 1, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, "expected"), "%s", err);
	virtio_device_destroy(a);
	virtio_device_destroy(b);
	free(cur);
	free(old);
	free(back);
}
END_TEST

START_TEST(rng_fills_buffers)
{
	struct virtio_mmio *t = rng_start(NULL);
	uint32_t v;
	unsigned zero = 0;

	virtio_mmio_read(t, VMMIO_DEVICE_ID, (uint8_t *)&v, 4);
	ck_assert_uint_eq(v, 4);
	post(RXQ_DESC, RXQ_AVAIL, 0, T_DATA, 4096, VIRTQ_DESC_F_WRITE);
	/* a read-only buffer gets nothing; more than 64 KiB is capped */
	post(RXQ_DESC, RXQ_AVAIL, 1, T_DATA + 8192, 64, 0);
	post(RXQ_DESC, RXQ_AVAIL, 2, T_DATA + 16384, 100000, VIRTQ_DESC_F_WRITE);
	/* outside RAM: rejected, answered with 0 */
	post(RXQ_DESC, RXQ_AVAIL, 3, T_RAM_SIZE - 16, 4096, VIRTQ_DESC_F_WRITE);
	wr(t, VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(get16(&M, RXQ_USED + 2), 4);
	ck_assert_uint_eq(used_len(&M, 0, QSZ), 4096);
	ck_assert_uint_eq(used_len(&M, 1, QSZ), 0);
	ck_assert_uint_eq(used_len(&M, 2, QSZ), 65536);
	ck_assert_uint_eq(used_len(&M, 3, QSZ), 0);
	for (unsigned i = 0; i < 4096; i++)
		zero += *gp(&M, T_DATA + i) == 0;
	ck_assert_uint_lt(zero, 100);   /* ~16 expected */
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, t, "entropy_bytes"), 4096 + 65536);
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, t, "entropy_event_count"), 4);
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, t, "entropy_event_fails"), 1);
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, t, "entropy_rate_limiter_throttled"), 0);
	virtio_device_destroy(t);
}
END_TEST

START_TEST(rng_throttled)
{
	struct rate_limiter_config rl;
	struct virtio_mmio *t;

	memset(&rl, 0, sizeof(rl));
	rl.bandwidth = (struct token_bucket_config){ true, 8192, 0, 100 };
	t = rng_start(&rl);
	for (uint16_t i = 0; i < 4; i++)
		post(RXQ_DESC, RXQ_AVAIL, i, T_DATA + i * 4096, 4096, VIRTQ_DESC_F_WRITE);
	wr(t, VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(get16(&M, RXQ_USED + 2), 2);
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, t, "entropy_rate_limiter_throttled"), 1);
	ck_assert_uint_eq(loop_once(), 0);
	usleep(150000);
	ck_assert_uint_eq(loop_once(), 1);
	ck_assert_uint_eq(get16(&M, RXQ_USED + 2), 4);
	ck_assert_uint_ge(metric(&virtio_device_ops_rng, t, "rate_limiter_event_count"), 1);
	/* every counter exists without a device too */
	ck_assert_uint_eq(metric(&virtio_device_ops_rng, NULL, "host_rng_fails"), 0);
	virtio_device_destroy(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit_devices");
	TCase *tc = tcase_create("devices");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, net_tx_throttled_then_timer);
	tcase_add_test(tc, net_rx_throttled_holds_frames);
	tcase_add_test(tc, rng_fills_buffers);
	tcase_add_test(tc, rng_throttled);
	tcase_add_test(tc, format_1_0_virtio_state_restores);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
