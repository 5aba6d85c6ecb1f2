/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_blk_uring.c — the Async block engine's io_uring as production sets
 * it up (blk_uring_ring_init): only READV/WRITEV/FSYNC on the registered
 * image are served; anything else (OPENAT with O_CREAT, SOCKET, a raw fd, a
 * flag other than IOSQE_FIXED_FILE, a register operation other than
 * FILES_UPDATE) is refused and changes nothing. And a guest's device reset
 * with requests in flight does not wait for them: Status reads non-zero
 * until the VMM thread has reaped them, then 0, and nothing is answered.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../check_main.h"
#include "test_virtio_util.h"
#include "virtio/blk_internal.h"

/* ------------------------------------------------------------------ */
/* The ring's restrictions                                             */
/* ------------------------------------------------------------------ */

static char DIR_[64];
static char IMGP[96];
static int IMGFD = -1;
static struct io_uring RING;
static bool RING_UP;

#define IMG_LEN 8192

static void ring_setup(void)
{
	static uint8_t pat[IMG_LEN];
	int r;

	snprintf(DIR_, sizeof(DIR_), "/tmp/wisp-uring-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(DIR_));
	snprintf(IMGP, sizeof(IMGP), "%s/img", DIR_);
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i * 7 + 1);
	IMGFD = open(IMGP, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(IMGFD, 0);
	ck_assert_int_eq(write(IMGFD, pat, sizeof(pat)), (ssize_t)sizeof(pat));
	r = blk_uring_ring_init(&RING, 8, IMGFD, -1);
	if (r == -ENOSYS || r == -EPERM) {   /* no io_uring here (as test_virtio_blk) */
		fprintf(stderr, "SKIP io_uring: %s\n", strerror(-r));
		return;
	}
	ck_assert_msg(r == 0, "blk_uring_ring_init: %s", strerror(-r));
	RING_UP = true;
}

static void ring_teardown(void)
{
	char p[400];
	DIR *d;
	struct dirent *e;

	if (RING_UP)
		io_uring_queue_exit(&RING);
	RING_UP = false;
	if (IMGFD >= 0)
		close(IMGFD);
	IMGFD = -1;
	d = opendir(DIR_);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", DIR_, e->d_name);
		unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(DIR_);
}

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&RING);

	ck_assert_ptr_nonnull(sqe);
	return sqe;
}

/* Submit the prepared SQE, return its completion's result. */
static int run_one(void)
{
	struct io_uring_cqe *cqe;
	int r = io_uring_submit(&RING), res;

	if (r < 0)
		return r;
	ck_assert_int_eq(r, 1);
	r = io_uring_wait_cqe(&RING, &cqe);
	ck_assert_int_eq(r, 0);
	res = cqe->res;
	io_uring_cqe_seen(&RING, cqe);
	return res;
}

static bool exists(const char *name)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", DIR_, name);
	return stat(p, &st) == 0;
}

START_TEST(allowed_requests_work)
{
	uint8_t buf[512], want[512], w[512];
	struct iovec iov = { buf, sizeof(buf) }, wiov = { w, sizeof(w) };
	struct io_uring_sqe *sqe;

	if (!RING_UP)
		return;
	ck_assert_int_eq(pread(IMGFD, want, sizeof(want), 1024), (ssize_t)sizeof(want));
	sqe = sqe_get();
	io_uring_prep_readv(sqe, 0, &iov, 1, 1024);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	ck_assert_int_eq(run_one(), (int)sizeof(buf));
	ck_assert_mem_eq(buf, want, sizeof(buf));

	memset(w, 0x5a, sizeof(w));
	sqe = sqe_get();
	io_uring_prep_writev(sqe, 0, &wiov, 1, 4096);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	ck_assert_int_eq(run_one(), (int)sizeof(w));
	ck_assert_int_eq(pread(IMGFD, buf, sizeof(buf), 4096), (ssize_t)sizeof(buf));
	ck_assert_mem_eq(buf, w, sizeof(w));

	sqe = sqe_get();
	io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	ck_assert_int_eq(run_one(), 0);
}
END_TEST

/* _i: 0 without flags, 1 with IOSQE_FIXED_FILE (only the opcode is wrong). */
START_TEST(openat_creat_is_refused)
{
	char p[128];
	struct io_uring_sqe *sqe;
	int r;

	if (!RING_UP)
		return;
	sqe = sqe_get();
	snprintf(p, sizeof(p), "%s/created", DIR_);
	io_uring_prep_openat(sqe, AT_FDCWD, p, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	if (_i)
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	r = run_one();
	if (r >= 0)
		close(r);
	ck_assert_int_eq(r, -EACCES);
	ck_assert_msg(!exists("created"), "OPENAT through the ring created a file");
}
END_TEST

START_TEST(socket_is_refused)
{
	struct io_uring_sqe *sqe;
	int r;

	if (!RING_UP)
		return;
	sqe = sqe_get();
	io_uring_prep_socket(sqe, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0);
	if (_i)
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	r = run_one();
	if (r >= 0)
		close(r);
	ck_assert_int_eq(r, -EACCES);
}
END_TEST

START_TEST(readv_on_unregistered_files_is_refused)
{
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;
	int other;

	if (!RING_UP)
		return;
	other = open(IMGP, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(other, 0);
	/* a plain fd, even the image's own (no IOSQE_FIXED_FILE) */
	memset(buf, 0xee, sizeof(buf));
	sqe = sqe_get();
	io_uring_prep_readv(sqe, other, &iov, 1, 0);
	ck_assert_int_eq(run_one(), -EACCES);
	sqe = sqe_get();
	io_uring_prep_readv(sqe, IMGFD, &iov, 1, 0);
	ck_assert_int_eq(run_one(), -EACCES);
	/* a fixed-file index nothing is registered at */
	sqe = sqe_get();
	io_uring_prep_readv(sqe, 1, &iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	ck_assert_int_eq(run_one(), -EBADF);
	/* a flag besides IOSQE_FIXED_FILE */
	sqe = sqe_get();
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | IOSQE_ASYNC);
	ck_assert_int_eq(run_one(), -EACCES);
	for (unsigned i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0xee);
	close(other);
}
END_TEST

START_TEST(register_ops_are_limited)
{
	uint8_t buf[512], want[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct io_uring_sqe *sqe;
	char p[128];
	int fd2, efd;

	if (!RING_UP)
		return;
	efd = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(io_uring_register_buffers(&RING, &iov, 1), -EACCES);
	ck_assert_int_eq(io_uring_register_eventfd(&RING, efd), -EACCES);
	ck_assert_int_eq(io_uring_unregister_files(&RING), -EACCES);
	close(efd);
	/* FILES_UPDATE is allowed: the new image is served as file 0 */
	snprintf(p, sizeof(p), "%s/img2", DIR_);
	fd2 = open(p, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd2, 0);
	memset(want, 0x42, sizeof(want));
	ck_assert_int_eq(write(fd2, want, sizeof(want)), (ssize_t)sizeof(want));
	ck_assert_int_eq(io_uring_register_files_update(&RING, 0, &fd2, 1), 1);
	sqe = sqe_get();
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	ck_assert_int_eq(run_one(), (int)sizeof(buf));
	ck_assert_mem_eq(buf, want, sizeof(buf));
	close(fd2);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A guest's device reset with requests in flight                       */
/* ------------------------------------------------------------------ */

#define QSZ 8
#define G_HDR  (T_DATA)
#define G_STAT (T_DATA + 0x100)
#define G_BUF  (T_DATA + 0x1000)

static struct tmem M;
static struct virtio_blk *BLK;
static struct virtio_mmio *TR;
static char IMG[64];
static char *LOG;

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(TR, off, (uint8_t *)&v, 4);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v;

	virtio_mmio_read(TR, off, (uint8_t *)&v, 4);
	return v;
}

static void driver_init(void)
{
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)VIRTIO_BIT(VIRTIO_BLK_F_FLUSH));
	wr(VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(VMMIO_DRIVER_FEATURES, 1);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr(VMMIO_QUEUE_SEL, 0);
	wr(VMMIO_QUEUE_NUM, QSZ);
	wr(VMMIO_QUEUE_DESC_LOW, T_DESC);
	wr(VMMIO_QUEUE_DRIVER_LOW, T_AVAIL);
	wr(VMMIO_QUEUE_DEVICE_LOW, T_USED);
	wr(VMMIO_QUEUE_READY, 1);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(virtio_mmio_driver_ok(TR));
}

static void dev_setup(void)
{
	static uint8_t pat[64 * 512];
	struct drive_config c;
	char err[256];
	int fd, r;

	tmem_init(&M, false);
	LOG = tlog_start();
	snprintf(IMG, sizeof(IMG), "/tmp/wisp-uring-reset-%d.img", (int)getpid());
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i / 512 + 3);
	fd = open(IMG, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pat, sizeof(pat)), (ssize_t)sizeof(pat));
	close(fd);
	memset(&c, 0, sizeof(c));
	snprintf(c.drive_id, sizeof(c.drive_id), "rootfs");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "%s", IMG);
	c.io_engine = IO_ENGINE_ASYNC;
	c.cache_type = CACHE_WRITEBACK;
	r = virtio_blk_create(&c, &M.mem, NULL, &BLK, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	TR = virtio_blk_transport(BLK);
	driver_init();
}

static void dev_teardown(void)
{
	virtio_blk_destroy(BLK);
	BLK = NULL;
	unlink(IMG);
	log_set_path(NULL);
	unlink(LOG);
	tmem_free(&M);
}

static void post_read(uint64_t sector)
{
	uint32_t type = VIRTIO_BLK_T_IN;

	memset(gp(&M, G_HDR), 0, 16);
	memcpy(gp(&M, G_HDR), &type, 4);
	memcpy(gp(&M, G_HDR + 8), &sector, 8);
	*gp(&M, G_STAT) = 0xff;
	set_desc(&M, 0, G_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, G_BUF, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(&M, 2, G_STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, QSZ, 0);
	wr(VMMIO_QUEUE_NOTIFY, 0);
}

START_TEST(reset_with_requests_in_flight_does_not_wait)
{
	uint16_t before = used_idx(&M);

	/* Submitted, not reaped: the device holds it until the event loop
	 * (here: virtio_blk_wait_completions) reaps it. */
	post_read(5);
	ck_assert_uint_eq(BLK->inflight, 1);
	wr(VMMIO_STATUS, 0);
	/* The reset returned with the request still in flight ... */
	ck_assert_uint_eq(BLK->inflight, 1);
	ck_assert_uint_eq(BLK->orphans, 1);
	/* ... and the driver is told to wait (virtio 1.2 §2.4): non-zero,
	 * ACKNOWLEDGE, which a read-modify-write of the first bit keeps. */
	ck_assert_uint_eq(rd(VMMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	/* The VMM thread reaps it: no answer, and Status reads 0. */
	for (int i = 0; i < 100 && BLK->inflight; i++)
		ck_assert_int_eq(virtio_blk_wait_completions(BLK), 0);
	ck_assert_uint_eq(BLK->inflight, 0);
	ck_assert_uint_eq(BLK->orphans, 0);
	ck_assert_uint_eq(rd(VMMIO_STATUS), 0);
	ck_assert_uint_eq(used_idx(&M), before);
	ck_assert_uint_eq(*gp(&M, G_STAT), 0xff);

	/* Set up again (fresh rings), the device serves reads. */
	memset(gp(&M, T_AVAIL), 0, 0x1000);
	memset(gp(&M, T_USED), 0, 0x1000);
	driver_init();
	post_read(7);
	for (int i = 0; i < 100 && used_idx(&M) == 0; i++)
		ck_assert_int_eq(virtio_blk_wait_completions(BLK), 0);
	ck_assert_uint_eq(used_idx(&M), 1);
	ck_assert_uint_eq(used_id(&M, 0, QSZ), 0);
	ck_assert_uint_eq(*gp(&M, G_STAT), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*gp(&M, G_BUF), 7 + 3);
}
END_TEST

/* A driver that does not wait for 0 (Linux's virtio-mmio does not) sets
 * the device up again at once: the orphan is never answered into the new
 * rings, and requests of the new set-up are. */
START_TEST(reset_then_immediate_reinit)
{
	post_read(5);
	ck_assert_uint_eq(BLK->inflight, 1);
	wr(VMMIO_STATUS, 0);
	ck_assert_uint_ne(rd(VMMIO_STATUS), 0);
	/* Linux's virtio_add_status: read, OR in ACKNOWLEDGE, write. */
	wr(VMMIO_STATUS, rd(VMMIO_STATUS) | VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VMMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	memset(gp(&M, T_AVAIL), 0, 0x1000);
	memset(gp(&M, T_USED), 0, 0x1000);
	driver_init();
	ck_assert_uint_eq(rd(VMMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	post_read(9);
	for (int i = 0; i < 100 && (used_idx(&M) == 0 || BLK->inflight); i++)
		ck_assert_int_eq(virtio_blk_wait_completions(BLK), 0);
	ck_assert_uint_eq(BLK->orphans, 0);
	ck_assert_uint_eq(used_idx(&M), 1);   /* the new request only */
	ck_assert_uint_eq(*gp(&M, G_STAT), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*gp(&M, G_BUF), 9 + 3);
	/* a reset with nothing in flight completes at once */
	wr(VMMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VMMIO_STATUS), 0);
}
END_TEST

/* PATCH /drives: the new image becomes the ring's registered file. */
START_TEST(swap_backing_file_updates_registered_file)
{
	char p2[80], err[200];
	static uint8_t pat[64 * 512];
	int fd;

	snprintf(p2, sizeof(p2), "%s.2", IMG);
	memset(pat, 0x77, sizeof(pat));
	fd = open(p2, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pat, sizeof(pat)), (ssize_t)sizeof(pat));
	close(fd);
	ck_assert_int_eq(virtio_blk_update_path(BLK, p2, err, sizeof(err)), 0);
	post_read(1);
	for (int i = 0; i < 100 && used_idx(&M) == 0; i++)
		ck_assert_int_eq(virtio_blk_wait_completions(BLK), 0);
	ck_assert_uint_eq(*gp(&M, G_STAT), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(*gp(&M, G_BUF), 0x77);
	unlink(p2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("blk_uring");
	TCase *r = tcase_create("restrictions");
	TCase *d = tcase_create("device");

	tcase_add_checked_fixture(r, ring_setup, ring_teardown);
	tcase_add_test(r, allowed_requests_work);
	tcase_add_loop_test(r, openat_creat_is_refused, 0, 2);
	tcase_add_loop_test(r, socket_is_refused, 0, 2);
	tcase_add_test(r, readv_on_unregistered_files_is_refused);
	tcase_add_test(r, register_ops_are_limited);
	suite_add_tcase(s, r);

	tcase_add_checked_fixture(d, dev_setup, dev_teardown);
	tcase_add_test(d, reset_with_requests_in_flight_does_not_wait);
	tcase_add_test(d, reset_then_immediate_reinit);
	tcase_add_test(d, swap_backing_file_updates_registered_file);
	suite_add_tcase(s, d);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
