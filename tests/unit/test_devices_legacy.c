/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the legacy devices (vmm/devices/: 8250 console, i8042, boot
 * timer) through the device interface, linked from wisp_legacy with fake
 * VM services (irqfd, bus, event loop), so they run without /dev/kvm. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "vmm/vmm.h"

/* ---- fake services ---- */
static const struct bus_ops *BUS_OPS;
static void *BUS_OPAQUE;
static int LAST_IRQFD = -1;
static int EXIT_CODE = -1;

static int fake_irqfd(void *vm, unsigned gsi)
{
	(void)vm;
	(void)gsi;
	LAST_IRQFD = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return LAST_IRQFD;
}

static int fake_bus_register(void *vm, enum bus_kind kind, uint64_t base, uint64_t size,
			     const struct bus_ops *ops, void *opaque, const char *name)
{
	(void)vm; (void)kind; (void)base; (void)size; (void)name;
	BUS_OPS = ops;
	BUS_OPAQUE = opaque;
	return 0;
}

static int fake_fd_add(struct evloop *loop, int fd, uint32_t events, ev_handler fn, void *opaque)
{
	(void)loop; (void)fd; (void)events; (void)fn; (void)opaque;
	return 0;
}

static int fake_fd_mod(struct evloop *loop, int fd, uint32_t events)
{
	(void)loop; (void)fd; (void)events;
	return 0;
}

static int fake_fd_del(struct evloop *loop, int fd)
{
	(void)loop; (void)fd;
	return 0;
}

static void fake_request_exit(void *vm, int code)
{
	(void)vm;
	EXIT_CODE = code;
}

static const struct vm_services SVC = {
	.bus_register = fake_bus_register, .irqfd = fake_irqfd, .fd_add = fake_fd_add,
	.fd_mod = fake_fd_mod, .fd_del = fake_fd_del, .request_exit = fake_request_exit,
};

static uint8_t io_read(uint64_t off)
{
	uint8_t v;

	BUS_OPS->read(BUS_OPAQUE, off, &v, 1);
	return v;
}

static void io_write(uint64_t off, uint8_t v)
{
	BUS_OPS->write(BUS_OPAQUE, off, &v, 1);
}

/* Counters a device reports, by name. */
struct sink {
	struct metric_sink s;
	char names[32][40];
	uint64_t values[32];
	unsigned n;
};

static void sink_put(struct metric_sink *ms, const char *name, uint64_t v)
{
	struct sink *k = (struct sink *)ms;

	snprintf(k->names[k->n], sizeof(k->names[0]), "%s", name);
	k->values[k->n++] = v;
}

static uint64_t metric(const struct device *d, const char *name)
{
	struct sink k = { .s.put = sink_put };

	d->ops->metrics(d->dev, &k.s);
	for (unsigned i = 0; i < k.n; i++)
		if (strcmp(k.names[i], name) == 0)
			return k.values[i];
	ck_abort_msg("metric %s missing", name);
	return 0;
}

/* ---- a guest vCPU writing to THR while the console is full ---- */
static volatile int WROTE;

static void *guest_tx(void *arg)
{
	uint8_t b = 'x';

	(void)arg;
	BUS_OPS->write(BUS_OPAQUE, 0, &b, 1);   /* THR */
	WROTE = 1;
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;
}

static bool joined_within(pthread_t th, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return pthread_timedjoin_np(th, NULL, &ts) == 0;
}

/* A console pipe nobody reads: the vCPU blocks in write(), but the VMM
 * thread's metrics read (serial_get_stats) must not wait for it, and a kick
 * (pause/stop) must get the vCPU out. Both used to hang: the write held the
 * device lock and was retried after EINTR. */
START_TEST(blocked_console_does_not_wedge)
{
	struct sigaction sa = { .sa_handler = on_kick };
	struct device d;
	char err[200];
	int p[2], fl;
	char fill[4096];
	pthread_t th;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	memset(fill, 'f', sizeof(fill));
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	fcntl(p[1], F_SETFL, fl);   /* the console blocks, as stdout does */

	ck_assert_int_eq(serial_create(&SVC, -1, p[1], &d, err, sizeof(err)), 0);
	WROTE = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, guest_tx, NULL), 0);
	usleep(100 * 1000);
	ck_assert_int_eq(WROTE, 0);   /* blocked in write() */

	/* a kick interrupts the write; the byte is dropped and counted */
	pthread_kill(th, SIGUSR1);
	ck_assert_msg(joined_within(th, 2000), "vCPU still blocked in the console write after a kick");
	ck_assert_uint_eq(metric(&d, "error_count"), 1);

	/* once the console drains, output flows again */
	ck_assert_int_gt(read(p[0], fill, sizeof(fill)), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, guest_tx, NULL), 0);
	ck_assert(joined_within(th, 2000));
	ck_assert_uint_eq(metric(&d, "write_count"), 1);
	d.ops->destroy(d.dev);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The metrics read must not wait for a blocked writer: run it with a
 * deadline so a regression fails instead of hanging the suite. */
static struct device STATS_D;
static void *stats_reader(void *arg)
{
	(void)arg;
	metric(&STATS_D, "write_count");
	return NULL;
}

START_TEST(stats_answer_while_console_blocked)
{
	struct sigaction sa = { .sa_handler = on_kick };
	char err[200];
	int p[2], fl;
	char fill[4096];
	pthread_t tx, rd;

	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(pipe(p), 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	fl = fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, fl | O_NONBLOCK);
	memset(fill, 'f', sizeof(fill));
	while (write(p[1], fill, sizeof(fill)) > 0)
		;
	fcntl(p[1], F_SETFL, fl);
	ck_assert_int_eq(serial_create(&SVC, -1, p[1], &STATS_D, err, sizeof(err)), 0);
	ck_assert_int_eq(pthread_create(&tx, NULL, guest_tx, NULL), 0);
	usleep(100 * 1000);
	ck_assert_int_eq(pthread_create(&rd, NULL, stats_reader, NULL), 0);
	ck_assert_msg(joined_within(rd, 2000), "serial_get_stats waited for a blocked console write");
	pthread_kill(tx, SIGUSR1);
	ck_assert(joined_within(tx, 2000));
	STATS_D.ops->destroy(STATS_D.dev);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- saved state ---- */

static void *saved(const struct device *d, size_t *len)
{
	void *buf;

	*len = d->ops->state_size(d->dev);
	buf = malloc(*len ? *len : 1);
	ck_assert_int_eq(d->ops->quiesce(d->dev), 0);
	ck_assert_int_eq(d->ops->save(d->dev, buf, *len), 0);
	return buf;
}

/* Registers and pending input survive save -> restore into a new device. */
START_TEST(serial_state_round_trip)
{
	struct device a, b;
	char err[200];
	size_t len;
	uint8_t *st;
	int nul = open("/dev/null", O_WRONLY);

	ck_assert_int_eq(serial_create(&SVC, -1, nul, &a, err, sizeof(err)), 0);
	io_write(3, 0x1b);          /* LCR */
	io_write(7, 0x5a);          /* scratch */
	io_write(4, 0x10 | 0x08);   /* MCR: loopback, OUT2 */
	io_write(0, 'A');           /* looped back into the RX FIFO */
	io_write(0, 'B');
	io_write(1, 0x01);          /* IER: RX interrupts */
	st = saved(&a, &len);
	ck_assert_uint_eq(len, 80);

	ck_assert_int_eq(serial_create(&SVC, -1, nul, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b.ops->restore(b.dev, st, len, err, sizeof(err)), 0);
	b.ops->restored(b.dev);
	{
		uint64_t v = 0;

		/* the pending RX interrupt was raised again */
		ck_assert_int_eq(read(LAST_IRQFD, &v, sizeof(v)), (ssize_t)sizeof(v));
	}
	ck_assert_uint_eq(io_read(3), 0x1b);
	ck_assert_uint_eq(io_read(7), 0x5a);
	ck_assert_uint_eq(io_read(5) & 1, 1);   /* LSR: data ready */
	ck_assert_uint_eq(io_read(0), 'A');
	ck_assert_uint_eq(io_read(0), 'B');
	ck_assert_uint_eq(io_read(5) & 1, 0);
	free(st);
	a.ops->destroy(a.dev);
	b.ops->destroy(b.dev);
	close(nul);
}
END_TEST

START_TEST(serial_bad_state_changes_nothing)
{
	struct device d;
	char err[200];
	size_t len;
	uint8_t *st;
	uint32_t bad = 65;
	int nul = open("/dev/null", O_WRONLY);

	ck_assert_int_eq(serial_create(&SVC, -1, nul, &d, err, sizeof(err)), 0);
	io_write(7, 0x33);
	st = saved(&d, &len);
	ck_assert_int_eq(d.ops->restore(d.dev, st, len - 1, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "expected 80"));
	memcpy(st + 12, &bad, 4);    /* count > FIFO size */
	st[7] = 0x44;                /* would change the scratch register */
	ck_assert_int_eq(d.ops->restore(d.dev, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "FIFO"));
	ck_assert_uint_eq(io_read(7), 0x33);
	free(st);
	d.ops->destroy(d.dev);
	close(nul);
}
END_TEST

START_TEST(i8042_state_round_trip_and_reset)
{
	struct device a, b;
	char err[200];
	size_t len;
	uint8_t *st;

	EXIT_CODE = -1;
	ck_assert_int_eq(i8042_create(&SVC, &a, err, sizeof(err)), 0);
	io_write(4, 0x60);           /* write the command byte ... */
	io_write(0, 0x45);
	ck_assert_int_eq(i8042_send_ctrl_alt_del(a.dev), 0);
	st = saved(&a, &len);
	ck_assert_uint_eq(len, 28);
	ck_assert_int_eq(i8042_create(&SVC, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(b.ops->restore(b.dev, st, len, err, sizeof(err)), 0);
	b.ops->restored(b.dev);
	io_write(4, 0x20);           /* read the command byte: queued after the keys */
	ck_assert_uint_eq(io_read(0), 0x1d);
	ck_assert_uint_eq(io_read(0), 0x38);
	ck_assert_uint_eq(io_read(0), 0xe0);
	ck_assert_uint_eq(io_read(0), 0x53);
	ck_assert_uint_eq(io_read(0), 0x45);
	ck_assert_int_eq(EXIT_CODE, -1);
	io_write(4, 0xfe);           /* pulse reset */
	ck_assert_int_eq(EXIT_CODE, 0);
	ck_assert_uint_eq(metric(&b, "reset_count"), 1);
	st[4] = 16;                  /* head out of range */
	ck_assert_int_eq(b.ops->restore(b.dev, st, len, err, sizeof(err)), -EINVAL);
	free(st);
	a.ops->destroy(a.dev);
	b.ops->destroy(b.dev);
}
END_TEST

START_TEST(boot_timer_has_no_state)
{
	struct device d;
	char err[200];

	ck_assert_int_eq(boot_timer_create(&SVC, 0, 0, &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d.ops->state_size(d.dev), 0);
	ck_assert_int_eq(d.ops->restore(d.dev, "x", 1, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(d.ops->restore(d.dev, NULL, 0, err, sizeof(err)), 0);
	d.ops->destroy(d.dev);
}
END_TEST

static int DESTROYED[4];
static void note_destroy(void *dev)
{
	DESTROYED[(intptr_t)dev] = 1;
}
static const struct device_ops FAKE = { .kind = "fake", .destroy = note_destroy };

START_TEST(device_list_add_find_destroy)
{
	struct device_list l = { 0 };
	struct device d = { .ops = &FAKE };

	for (intptr_t i = 0; i < 3; i++) {
		d.dev = (void *)i;
		snprintf(d.id, sizeof(d.id), "d%d", (int)i);
		ck_assert_int_eq(device_list_add(&l, &d), 0);
	}
	ck_assert_ptr_eq(device_list_find(&l, "fake", "d1")->dev, (void *)1);
	ck_assert_ptr_eq(device_list_find(&l, "fake", NULL)->dev, (void *)0);
	ck_assert_ptr_null(device_list_find(&l, "fake", "d9"));
	ck_assert_ptr_null(device_list_find(&l, "other", NULL));
	l.nr = DEVICE_MAX;
	ck_assert_int_eq(device_list_add(&l, &d), -ENOSPC);
	l.nr = 3;
	device_list_destroy(&l);
	ck_assert_uint_eq(l.nr, 0);
	ck_assert(DESTROYED[0] && DESTROYED[1] && DESTROYED[2]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("devices_legacy");
	TCase *tc = tcase_create("console");
	TCase *st = tcase_create("state");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stats_answer_while_console_blocked);
	tcase_add_test(tc, blocked_console_does_not_wedge);
	suite_add_tcase(s, tc);
	tcase_add_test(st, serial_state_round_trip);
	tcase_add_test(st, serial_bad_state_changes_nothing);
	tcase_add_test(st, i8042_state_round_trip_and_reset);
	tcase_add_test(st, boot_timer_has_no_state);
	tcase_add_test(st, device_list_add_find_destroy);
	suite_add_tcase(s, st);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
