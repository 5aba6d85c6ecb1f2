/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the 8250 console (vmm/dev_serial.c), compiled in here with
 * stubs for the few VM services it uses (irqfd, bus, event loop), so it
 * runs without /dev/kvm. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "../../vmm/dev_serial.c"

/* ---- stubs ---- */
static const struct bus_ops *BUS_OPS;
static void *BUS_OPAQUE;

int vm_irqfd(struct vm *vm, unsigned gsi)
{
	(void)vm;
	(void)gsi;
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

int vm_bus_register(struct vm *vm, enum bus_kind kind, uint64_t base, uint64_t size,
		    const struct bus_ops *ops, void *opaque, const char *name)
{
	(void)vm;
	(void)kind;
	(void)base;
	(void)size;
	(void)name;
	BUS_OPS = ops;
	BUS_OPAQUE = opaque;
	return 0;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_handler fn, void *opaque)
{
	(void)loop; (void)fd; (void)events; (void)fn; (void)opaque;
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	(void)loop; (void)fd; (void)events;
	return 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	(void)loop; (void)fd;
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
	struct vm vm;
	struct serial *s;
	struct serial_stats st;
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

	memset(&vm, 0, sizeof(vm));
	s = serial_create(&vm, -1, p[1]);
	ck_assert_ptr_nonnull(s);
	WROTE = 0;
	ck_assert_int_eq(pthread_create(&th, NULL, guest_tx, NULL), 0);
	usleep(100 * 1000);
	ck_assert_int_eq(WROTE, 0);   /* blocked in write() */

	/* a kick interrupts the write; the byte is dropped and counted */
	pthread_kill(th, SIGUSR1);
	ck_assert_msg(joined_within(th, 2000), "vCPU still blocked in the console write after a kick");
	serial_get_stats(s, &st);
	ck_assert_uint_eq(st.tx_errors, 1);

	/* once the console drains, output flows again */
	ck_assert_int_gt(read(p[0], fill, sizeof(fill)), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, guest_tx, NULL), 0);
	ck_assert(joined_within(th, 2000));
	serial_get_stats(s, &st);
	ck_assert_uint_eq(st.tx_bytes, 1);
	serial_destroy(s);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* serial_get_stats must not wait for a blocked writer: run it with a
 * deadline so a regression fails instead of hanging the suite. */
static struct serial *STATS_S;
static void *stats_reader(void *arg)
{
	struct serial_stats st;

	(void)arg;
	serial_get_stats(STATS_S, &st);
	return NULL;
}

START_TEST(stats_answer_while_console_blocked)
{
	struct sigaction sa = { .sa_handler = on_kick };
	struct vm vm;
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
	memset(&vm, 0, sizeof(vm));
	STATS_S = serial_create(&vm, -1, p[1]);
	ck_assert_ptr_nonnull(STATS_S);
	ck_assert_int_eq(pthread_create(&tx, NULL, guest_tx, NULL), 0);
	usleep(100 * 1000);
	ck_assert_int_eq(pthread_create(&rd, NULL, stats_reader, NULL), 0);
	ck_assert_msg(joined_within(rd, 2000), "serial_get_stats waited for a blocked console write");
	pthread_kill(tx, SIGUSR1);
	ck_assert(joined_within(tx, 2000));
	serial_destroy(STATS_S);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("dev_serial");
	TCase *tc = tcase_create("console");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stats_answer_while_console_blocked);
	tcase_add_test(tc, blocked_console_does_not_wedge);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
