/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the virtio-blk request parser and I/O against a temp file
 * through a fake guest RAM, for both engines (virtio/blk.c). */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>

#include "../check_main.h"
#include "test_virtio_util.h"

/* ------------------------------------------------------------------ */
/* Parser (pure)                                                       */
/* ------------------------------------------------------------------ */
static uint8_t B[8192];
static struct virtq_chain PC;
static struct virtio_blk_req R;
static char ERR[160];

static void seg(uint8_t *p, uint32_t len, bool w)
{
	PC.segs[PC.nr++] = (struct virtq_seg){ .hva = p, .len = len, .writable = w };
	if (w) {
		PC.writable_len += len;
	} else {
		PC.nr_readable++;
		PC.readable_len += len;
	}
}

static void hdr(uint8_t *p, uint32_t type, uint64_t sector)
{
	memset(p, 0, 16);
	memcpy(p, &type, 4);
	memcpy(p + 8, &sector, 8);
}

static void pc_reset(void)
{
	memset(&PC, 0, sizeof(PC));
	memset(B, 0, sizeof(B));
	ERR[0] = '\0';
}

START_TEST(parse_read)
{
	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 7);
	seg(B, 16, false);
	seg(B + 512, 1024, true);
	seg(B + 4096, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), 0);
	ck_assert_uint_eq(R.type, VIRTIO_BLK_T_IN);
	ck_assert_uint_eq(R.sector, 7);
	ck_assert_uint_eq(R.data_len, 1024);
	ck_assert_uint_eq(R.niov, 1);
	ck_assert_ptr_eq(R.status, B + 4096);
}
END_TEST

START_TEST(parse_odd_framing)
{
	/* header split 10+6, OUT data shares the second header segment */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_OUT, 1);
	memmove(B + 100, B + 10, 6);
	seg(B, 10, false);
	seg(B + 94, 6 + 6 + 512, false);   /* 6 header bytes at B+94.. then data */
	memcpy(B + 94, B + 100, 6);
	seg(B + 2048, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "multiple of 512"));

	pc_reset();
	hdr(B, VIRTIO_BLK_T_OUT, 1);
	seg(B, 10, false);
	seg(B + 10, 6 + 512, false);
	seg(B + 2048, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), 0);
	ck_assert_uint_eq(R.sector, 1);
	ck_assert_uint_eq(R.data_len, 512);
	ck_assert_ptr_eq(R.iov[0].iov_base, B + 16);

	/* IN: status byte at the end of the last data segment */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 0);
	seg(B, 16, false);
	seg(B + 1024, 256, true);
	seg(B + 2048, 257, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), 0);
	ck_assert_uint_eq(R.data_len, 512);
	ck_assert_uint_eq(R.niov, 2);
	ck_assert_uint_eq(R.iov[1].iov_len, 256);
	ck_assert_ptr_eq(R.status, B + 2048 + 256);
}
END_TEST

START_TEST(parse_no_status)
{
	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 0);
	seg(B, 16, false);
	seg(B + 512, 512, false);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_null(R.status);
	ck_assert_ptr_nonnull(strstr(ERR, "no writable status byte"));
	pc_reset();
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_null(R.status);
}
END_TEST

START_TEST(parse_short_header)
{
	pc_reset();
	seg(B, 8, false);
	seg(B + 512, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_eq(R.status, B + 512);
	ck_assert_ptr_nonnull(strstr(ERR, "header is 8 bytes"));
	/* header in a writable descriptor */
	pc_reset();
	seg(B, 17, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "header is 0 bytes"));
}
END_TEST

START_TEST(parse_bad_lengths)
{
	/* IN with readable data */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 0);
	seg(B, 16 + 512, false);
	seg(B + 1024, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "readable bytes, expected 16"));
	ck_assert_ptr_nonnull(R.status);
	/* OUT with writable data */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_OUT, 0);
	seg(B, 16, false);
	seg(B + 1024, 513, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "writable bytes, expected 1"));
	/* IN not a multiple of 512 */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 0);
	seg(B, 16, false);
	seg(B + 1024, 101, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "data length 100 is not a multiple of 512"));
	/* FLUSH with data */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_FLUSH, 0);
	seg(B, 16 + 8, false);
	seg(B + 1024, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "flush request carries 8 data bytes"));
	/* GET_ID too small */
	pc_reset();
	hdr(B, VIRTIO_BLK_T_GET_ID, 0);
	seg(B, 16, false);
	seg(B + 1024, 11, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "GET_ID buffer is 10 bytes"));
}
END_TEST

START_TEST(parse_too_many_segments)
{
	static uint8_t big[256 * 512 + 1];

	pc_reset();
	hdr(B, VIRTIO_BLK_T_IN, 0);
	seg(B, 16, false);
	for (int i = 0; i < 255; i++)
		seg(big + i * 512, i < 254 ? 512 : 513, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(ERR, "more than 254 data segments"));
	ck_assert_ptr_nonnull(R.status);
}
END_TEST

START_TEST(parse_unknown_type)
{
	pc_reset();
	hdr(B, 99, 0);
	seg(B, 16, false);
	seg(B + 1024, 1, true);
	ck_assert_int_eq(virtio_blk_parse(&PC, &R, ERR, sizeof(ERR)), 0);
	ck_assert_uint_eq(R.type, 99);
}
END_TEST

/* ------------------------------------------------------------------ */
/* I/O through the transport                                            */
/* ------------------------------------------------------------------ */
#define QSZ     16
#define G_HDR   (T_DATA)
#define G_STAT  (T_DATA + 0x100)
#define G_BUF   (T_DATA + 0x1000)
#define SECTORS 64

static struct tmem M;
static struct virtio_blk *BLK;
static struct virtio_mmio *TR;
static char IMG[64];
static char *LOG;
static bool ASYNC;

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(TR, off, (uint8_t *)&v, 4);
}

static int make_blk(bool ro, bool async, enum cache_type cache)
{
	struct drive_config c;
	char err[256];
	int fd, r;
	static uint8_t pat[SECTORS * 512];

	snprintf(IMG, sizeof(IMG), "/tmp/wisp-blk-test-%d.img", (int)getpid());
	for (unsigned i = 0; i < sizeof(pat); i++)
		pat[i] = (uint8_t)(i / 512 + i);
	fd = open(IMG, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pat, sizeof(pat)), (ssize_t)sizeof(pat));
	close(fd);
	memset(&c, 0, sizeof(c));
	snprintf(c.drive_id, sizeof(c.drive_id), "rootfs");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "%s", IMG);
	c.is_read_only = ro;
	c.io_engine = async ? IO_ENGINE_ASYNC : IO_ENGINE_SYNC;
	c.cache_type = cache;
	r = virtio_blk_create(&c, &M.mem, NULL, &BLK, err, sizeof(err));
	if (r < 0) {
		ck_assert_ptr_nonnull(strstr(err, "io_uring"));
		fprintf(stderr, "SKIP async engine: %s\n", err);
		return r;
	}
	TR = virtio_blk_transport(BLK);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)(VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
					     VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) |
					     VIRTIO_BIT(VIRTIO_F_EVENT_IDX)));
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
	return 0;
}

static void io_setup(void)
{
	tmem_init(&M, false);
	LOG = tlog_start();
	BLK = NULL;
}

static void io_teardown(void)
{
	virtio_blk_destroy(BLK);
	unlink(IMG);
	log_set_path(NULL);
	unlink(LOG);
	tmem_free(&M);
}

/* Post hdr + optional data + status, notify, wait for the used entry. */
static uint8_t req(uint32_t type, uint64_t sector, uint32_t len, bool dev_writes,
		   uint32_t *ulen)
{
	uint16_t before = used_idx(&M);
	uint16_t st_idx = len ? 2 : 1;

	hdr(gp(&M, G_HDR), type, sector);
	*gp(&M, G_STAT) = 0xff;
	set_desc(&M, 0, G_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	if (len)
		set_desc(&M, 1, G_BUF, len,
			 VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0), 2);
	set_desc(&M, st_idx, G_STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, QSZ, 0);
	wr(VMMIO_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 100 && used_idx(&M) == before; i++)
		ck_assert_int_eq(virtio_blk_wait_completions(BLK), 0);
	ck_assert_uint_eq(used_idx(&M), (uint16_t)(before + 1));
	ck_assert_uint_eq(used_id(&M, before, QSZ), 0);
	if (ulen)
		*ulen = used_len(&M, before, QSZ);
	return *gp(&M, G_STAT);
}

static void file_read(uint64_t off, void *buf, size_t len)
{
	int fd = open(IMG, O_RDONLY);

	ck_assert_int_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

START_TEST(io_read_write_flush_getid)
{
	uint32_t ul;
	uint8_t buf[1024], cfg[24];
	struct virtio_blk_stats st;
	uint64_t cap;

	ASYNC = _i == 1;
	if (make_blk(false, ASYNC, CACHE_WRITEBACK) < 0)
		return;
	/* capacity in the config space */
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG, cfg, 8);
	memcpy(&cap, cfg, 8);
	ck_assert_uint_eq(cap, SECTORS);
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG + 20, cfg, 4);
	ck_assert_uint_eq(cfg[0] | cfg[1] << 8, 512);

	/* IN: sectors 2..3 */
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, 2, 1024, true, &ul), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ul, 1025);
	file_read(1024, buf, 1024);
	ck_assert_mem_eq(gp(&M, G_BUF), buf, 1024);

	/* OUT: sector 5 */
	memset(gp(&M, G_BUF), 0x5a, 512);
	ck_assert_int_eq(req(VIRTIO_BLK_T_OUT, 5, 512, false, &ul), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ul, 1);
	file_read(5 * 512, buf, 512);
	ck_assert_int_eq(buf[0], 0x5a);
	ck_assert_int_eq(buf[511], 0x5a);
	file_read(6 * 512, buf, 1);
	ck_assert_int_ne(buf[0], 0x5a);

	/* FLUSH */
	ck_assert_int_eq(req(VIRTIO_BLK_T_FLUSH, 0, 0, false, &ul), VIRTIO_BLK_S_OK);

	/* GET_ID */
	memset(gp(&M, G_BUF), 0xee, 20);
	ck_assert_int_eq(req(VIRTIO_BLK_T_GET_ID, 0, 20, true, &ul), VIRTIO_BLK_S_OK);
	ck_assert_uint_eq(ul, 21);
	ck_assert_mem_eq(gp(&M, G_BUF), "rootfs\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20);

	/* unknown type */
	ck_assert_int_eq(req(11, 0, 0, false, &ul), VIRTIO_BLK_S_UNSUPP);

	/* the last sector is fine, one past it is not, nor is a huge sector */
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, SECTORS - 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, SECTORS - 1, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, SECTORS, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(req(VIRTIO_BLK_T_OUT, UINT64_MAX, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	ck_assert_int_eq(req(VIRTIO_BLK_T_OUT, UINT64_MAX / 512 + 1, 512, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	/* malformed: bad length */
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, 0, 100, true, &ul), VIRTIO_BLK_S_IOERR);
	ck_assert_uint_eq(ul, 1);

	virtio_blk_get_stats(BLK, &st);
	ck_assert_uint_eq(st.read_count, 2);
	ck_assert_uint_eq(st.write_count, 1);
	ck_assert_uint_eq(st.write_bytes, 512);
	ck_assert_uint_eq(st.flush_count, 1);
	ck_assert_uint_eq(st.get_id_count, 1);
	ck_assert_uint_eq(st.unsupported, 1);
	ck_assert_uint_eq(st.io_errors, 5);
	ck_assert_uint_eq(st.invalid_reqs, 1);
	if (ASYNC)
		ck_assert_uint_ge(st.inflight_max, 1);
	else
		ck_assert_uint_eq(st.inflight_max, 0);
	ck_assert(TR->irqs_raised > 0);
	ck_assert(TR->state.interrupt_status & VIRTIO_INT_USED_RING);
}
END_TEST

START_TEST(io_read_only)
{
	uint8_t buf[512];
	uint64_t features;

	if (make_blk(true, _i == 1, CACHE_UNSAFE) < 0)
		return;
	wr(VMMIO_DEVICE_FEATURES_SEL, 0);
	virtio_mmio_read(TR, VMMIO_DEVICE_FEATURES, (uint8_t *)&features, 4);
	ck_assert(features & VIRTIO_BIT(VIRTIO_BLK_F_RO));
	memset(gp(&M, G_BUF), 0x77, 512);
	ck_assert_int_eq(req(VIRTIO_BLK_T_OUT, 0, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	file_read(0, buf, 512);
	ck_assert_int_ne(buf[1], 0x77);
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	/* Unsafe flush is acknowledged */
	ck_assert_int_eq(req(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
}
END_TEST

START_TEST(io_bad_chain_and_no_status)
{
	uint16_t before;

	if (make_blk(false, _i == 1, CACHE_UNSAFE) < 0)
		return;
	/* out-of-RAM data descriptor: the chain comes back with length 0 */
	before = used_idx(&M);
	set_desc(&M, 0, G_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_RAM_SIZE - 4, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(&M, 2, G_STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, QSZ, 0);
	/* no status byte at all */
	set_desc(&M, 3, G_HDR, 16, 0, 0);
	avail_add(&M, QSZ, 3);
	wr(VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used_idx(&M), (uint16_t)(before + 2));
	ck_assert_uint_eq(used_len(&M, before, QSZ), 0);
	ck_assert_uint_eq(used_id(&M, before + 1, QSZ), 3);
	ck_assert_uint_eq(TR->state.queues[0].stats.out_of_ram, 1);
	/* the device still serves good requests */
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	ck_assert(!(TR->state.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	/* a corrupt avail index asks for a reset */
	put16(&M, T_AVAIL + 2, (uint16_t)(get16(&M, T_AVAIL + 2) + QSZ + 1));
	wr(VMMIO_QUEUE_NOTIFY, 0);
	ck_assert(TR->state.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ck_assert(tlog_contains(LOG, "ring is corrupt"));
}
END_TEST

/* A hostile driver reads each sector into a buffer laid over its own avail
 * ring and request header, and each sector re-posts the request for the
 * next one: the queue never runs dry. One notification must still do a
 * bounded amount of work (at most a ring's worth of requests) so the VMM
 * thread gets back to its other fds; the rest follows on the next run. */
START_TEST(io_self_reposting_ring_is_bounded)
{
	static uint8_t img[SECTORS * 512];
	struct virtio_blk_stats st;
	int fd, runs = 0;

	if (make_blk(false, false, CACHE_UNSAFE) < 0)
		return;
	memset(img, 0, sizeof(img));
	for (unsigned k = 0; k < SECTORS; k++) {
		uint16_t idx = (uint16_t)(k + 2);   /* one request pending again */

		memcpy(img + k * 512 + 2, &idx, 2);
		hdr(img + k * 512 + 64, VIRTIO_BLK_T_IN, k + 1);
	}
	fd = open(IMG, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, img, sizeof(img), 0), (ssize_t)sizeof(img));
	close(fd);
	hdr(gp(&M, T_AVAIL + 64), VIRTIO_BLK_T_IN, 0);
	set_desc(&M, 0, T_AVAIL + 64, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_AVAIL, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(&M, 2, G_STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, QSZ, 0);
	wr(VMMIO_QUEUE_NOTIFY, 0);
	virtio_blk_get_stats(BLK, &st);
	ck_assert_uint_le(st.read_count, QSZ);
	ck_assert_uint_gt(st.read_count, 0);
	/* the device picks up where it stopped on the next run */
	while (st.read_count < SECTORS && runs++ < 2 * SECTORS) {
		virtio_blk_process(BLK);
		virtio_blk_get_stats(BLK, &st);
	}
	ck_assert_uint_eq(st.read_count, SECTORS);
	virtio_blk_process(BLK);   /* sector SECTORS is past the end */
	virtio_blk_get_stats(BLK, &st);
	ck_assert_uint_eq(st.io_errors, 1);
	ck_assert(!(TR->state.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
}
END_TEST

START_TEST(io_swap_backing_file)
{
	char path2[80], err[256];
	uint8_t cfg[8];
	uint64_t cap;
	int fd;

	if (make_blk(false, _i == 1, CACHE_UNSAFE) < 0)
		return;
	snprintf(path2, sizeof(path2), "%s.2", IMG);
	fd = open(path2, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	ck_assert_int_eq(virtio_blk_update_path(BLK, "/nonexistent/img", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/img"));
	ck_assert_uint_eq(TR->state.config_generation, 0);
	ck_assert_int_eq(virtio_blk_update_path(BLK, path2, err, sizeof(err)), 0);
	virtio_mmio_read(TR, VIRTIO_MMIO_CONFIG, cfg, 8);
	memcpy(&cap, cfg, 8);
	ck_assert_uint_eq(cap, 2048);
	ck_assert_uint_eq(TR->state.config_generation, 1);
	ck_assert(TR->state.interrupt_status & VIRTIO_INT_CONFIG);
	ck_assert_int_eq(req(VIRTIO_BLK_T_IN, 2047, 512, true, NULL), VIRTIO_BLK_S_OK);
	unlink(path2);
}
END_TEST

START_TEST(create_missing_file)
{
	struct drive_config c;
	struct virtio_blk *b = NULL;
	char err[256];

	memset(&c, 0, sizeof(c));
	snprintf(c.drive_id, sizeof(c.drive_id), "data");
	snprintf(c.path_on_host, sizeof(c.path_on_host), "/nonexistent/disk.img");
	ck_assert_int_eq(virtio_blk_create(&c, &M.mem, NULL, &b, err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "drive 'data'"));
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/disk.img"));
	snprintf(c.path_on_host, sizeof(c.path_on_host), "/tmp");
	ck_assert_int_lt(virtio_blk_create(&c, &M.mem, NULL, &b, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "/tmp"));
	ck_assert_ptr_null(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *p = tcase_create("parser");
	TCase *io = tcase_create("io");

	tcase_add_test(p, parse_read);
	tcase_add_test(p, parse_odd_framing);
	tcase_add_test(p, parse_no_status);
	tcase_add_test(p, parse_short_header);
	tcase_add_test(p, parse_bad_lengths);
	tcase_add_test(p, parse_too_many_segments);
	tcase_add_test(p, parse_unknown_type);
	suite_add_tcase(s, p);

	tcase_add_checked_fixture(io, io_setup, io_teardown);
	/* _i: 0 = Sync engine, 1 = Async (io_uring) engine */
	tcase_add_loop_test(io, io_read_write_flush_getid, 0, 2);
	tcase_add_loop_test(io, io_read_only, 0, 2);
	tcase_add_loop_test(io, io_bad_chain_and_no_status, 0, 2);
	tcase_add_loop_test(io, io_swap_backing_file, 0, 2);
	tcase_add_test(io, io_self_reposting_ring_is_bounded);
	tcase_add_test(io, create_missing_file);
	suite_add_tcase(s, io);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
