/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_virtio_blk.c — build/wisp with virtio-blk drives, driven by the test
 * guest's `blk`, `hello` and `hostile` scenarios (tests/guest/README.md):
 * both engines x both cache types with the image checked byte for byte,
 * several drives (guest device order, command line), a read-only drive
 * (opened O_RDONLY, its file unchanged), GET_ID, config errors, and a
 * hostile driver the VMM must survive while counting what it did.
 */
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"
#include "it_virtio_util.h"

#define BOOT_TIMEOUT_MS 90000
#define IMG_SECTORS 2048          /* 1 MiB */
#define BLK_N 64                  /* wtest.sectors */

static void teardown(void)
{
	tmpdir_cleanup();
}

struct drive {
	const char *id;
	const char *path;
	bool root, ro;
	const char *partuuid;     /* NULL: none */
	const char *cache;        /* NULL: default */
	const char *engine;       /* NULL: default */
};

/* "drives": [...] for the config document. */
static char *drives_json(const struct drive *d, int n)
{
	char *out = strdup("\"drives\": [");

	for (int i = 0; i < n; i++) {
		char *next;

		if (asprintf(&next, "%s%s{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", "
			     "\"is_root_device\": %s, \"is_read_only\": %s%s%s%s%s%s%s%s%s%s}",
			     out, i ? ", " : "", d[i].id, d[i].path, d[i].root ? "true" : "false",
			     d[i].ro ? "true" : "false",
			     d[i].partuuid ? ", \"partuuid\": \"" : "", d[i].partuuid ? d[i].partuuid : "",
			     d[i].partuuid ? "\"" : "",
			     d[i].cache ? ", \"cache_type\": \"" : "", d[i].cache ? d[i].cache : "",
			     d[i].cache ? "\"" : "",
			     d[i].engine ? ", \"io_engine\": \"" : "", d[i].engine ? d[i].engine : "",
			     d[i].engine ? "\"" : "") < 0)
			abort();
		free(out);
		out = next;
	}
	{
		char *next;

		if (asprintf(&next, "%s]", out) < 0)
			abort();
		free(out);
		out = next;
	}
	return out;
}

/* A fresh image <tmpdir>/<name> with the host pattern. */
static char *make_image(const char *name, uint64_t sectors)
{
	char *path = write_tmp_file(name, "");

	ck_assert_int_eq(image_create(path, sectors), 0);
	return path;
}

static char *write_config(const char *boot_args, const struct drive *d, int n)
{
	char *dj = drives_json(d, n);
	char *doc = guest_config(boot_args, NULL, dj);
	char *cfg = write_tmp_file("vm.json", doc);

	free(dj);
	free(doc);
	return cfg;
}

/* Boot the guest with drives; returns the finished proc. */
static void boot(struct proc *p, const char *boot_args, const struct drive *d, int n)
{
	char *cfg = write_config(boot_args, d, n);

	ck_assert_msg(wisp_run_config(p, cfg, NULL, BOOT_TIMEOUT_MS),
		      "wisp did not exit in time\nstdout:\n%s\nstderr:\n%s", p->out.data, p->err.data);
	free(cfg);
}

#define ASSERT_IMAGE(path, n, wrote)                                                           \
	do {                                                                                   \
		char why_[512];                                                                \
		ck_assert_msg(image_verify((path), IMG_SECTORS, (n), (wrote), why_, sizeof(why_)), \
			      "%s", why_);                                                    \
	} while (0)

/* ---------------- blk: engines x cache types ---------------- */

static const struct { const char *engine, *cache; } modes[] = {
	{ "Sync", "Unsafe" }, { "Sync", "Writeback" }, { "Async", "Unsafe" }, { "Async", "Writeback" },
};

static const char *const engines[] = { "Sync", "Async" };

START_TEST(blk_engine_and_cache)
{
	struct proc p;
	char *img = make_image("root.img", IMG_SECTORS);
	struct drive d = { "rootfs", img, true, false, NULL, modes[_i].cache, modes[_i].engine };
	char expect[128];

	boot(&p, "wtest=blk wtest.sectors=64 wtest.id=rootfs", &d, 1);
	ASSERT_PASS(&p, "blk");
	/* The drive was built as configured. */
	snprintf(expect, sizeof(expect), "read-write, %s engine, cache %s", modes[_i].engine,
		 modes[_i].cache);
	ck_assert_msg(strstr(p.err.data, expect), "no '%s' in stderr:\n%s", expect, p.err.data);
	/* What the guest saw: the size of the file, its interrupt, every step. */
	ck_assert_msg(strstr(p.out.data, "blk: device 0 at 0xc0001000 irq 5: capacity 2048 sectors") &&
		      strstr(p.out.data, "used-buffer interrupt on IRQ 5") &&
		      strstr(p.out.data, "read 64 ok, wrote 64 ok, flush ok, id 'rootfs', "
			     "past-end IOERR"), "stdout:\n%s", p.out.data);
	ASSERT_IMAGE(img, BLK_N, true);
	free(img);
	proc_free(&p);
}
END_TEST

START_TEST(blk_other_sector_count)
{
	struct proc p;
	char *img = make_image("root.img", IMG_SECTORS);
	struct drive d = { "disk0", img, false, false, NULL, "Writeback", "Async" };

	boot(&p, "wtest=blk wtest.sectors=200", &d, 1);
	ASSERT_PASS(&p, "blk");
	ASSERT_IMAGE(img, 200, true);
	free(img);
	proc_free(&p);
}
END_TEST

/* GET_ID returns the drive_id: a different expectation makes the guest fail. */
START_TEST(blk_get_id_is_the_drive_id)
{
	struct proc p;
	char *img = make_image("root.img", IMG_SECTORS);
	struct drive d = { "serial-xyz", img, true, false, NULL, NULL, NULL };

	boot(&p, "wtest=blk wtest.id=serial-xyz", &d, 1);
	ASSERT_PASS(&p, "blk");
	proc_free(&p);
	ck_assert_int_eq(image_create(img, IMG_SECTORS), 0);
	/* 20 bytes fill the serial exactly (no NUL); longer ids are cut. */
	for (unsigned i = 0; i < 2; i++) {
		static const char *const ids[] = { "abcdefghijklmnopqrst", "abcdefghijklmnopqrstuvwxy" };
		char args[128];

		d.id = ids[i];
		ck_assert_int_eq(image_create(img, IMG_SECTORS), 0);
		snprintf(args, sizeof(args), "wtest=blk wtest.id=%s", ids[i]);
		boot(&p, args, &d, 1);
		ASSERT_PASS(&p, "blk");
		ck_assert_msg(strstr(p.out.data, "id 'abcdefghijklmnopqrst'"), "stdout:\n%s",
			      p.out.data);
		proc_free(&p);
	}
	d.id = "serial-xyz";
	ck_assert_int_eq(image_create(img, IMG_SECTORS), 0);
	boot(&p, "wtest=blk wtest.id=not-the-id", &d, 1);
	ck_assert_msg(strstr(p.out.data, "WTEST blk FAIL"), "guest accepted a wrong id:\n%s",
		      p.out.data);
	ck_assert_int_eq(p.status, 0);
	ASSERT_CLEAN(&p);
	free(img);
	proc_free(&p);
}
END_TEST

/* ---------------- several drives ---------------- */

/* Config order [X read-only, Y, R root]: the root drive becomes device 0
 * (/dev/vda), then X (device 1, read-only), then Y. The guest writes
 * device 0 and must see device 1 refuse writes; only R's file changes. */
START_TEST(drive_order_root_first_then_config_order)
{
	struct proc p;
	char *x = make_image("x.img", IMG_SECTORS);
	char *y = make_image("y.img", IMG_SECTORS);
	char *r = make_image("r.img", IMG_SECTORS);
	struct drive d[3] = {
		{ "x", x, false, true, NULL, NULL, NULL },
		{ "y", y, false, false, NULL, NULL, "Async" },
		{ "r", r, true, false, NULL, NULL, NULL },
	};

	boot(&p, "wtest=blk wtest.id=r", d, 3);
	ASSERT_PASS(&p, "blk");
	ck_assert_msg(strstr(p.out.data, "id 'r', past-end IOERR, ro write IOERR"), "stdout:\n%s",
		      p.out.data);
	ASSERT_IMAGE(r, BLK_N, true);
	ASSERT_IMAGE(x, BLK_N, false);
	ASSERT_IMAGE(y, BLK_N, false);
	free(x);
	free(y);
	free(r);
	proc_free(&p);
}
END_TEST

START_TEST(three_drives_on_the_command_line)
{
	struct proc p;
	char *a = make_image("a.img", 64), *b = make_image("b.img", 64), *c = make_image("c.img", 64);
	struct drive d[3] = {
		{ "a", a, false, false, NULL, NULL, NULL },
		{ "b", b, true, false, NULL, NULL, NULL },
		{ "c", c, false, true, NULL, NULL, NULL },
	};
	const char *line, *w1, *w2, *w3;

	boot(&p, "wtest=hello", d, 3);
	ASSERT_PASS(&p, "hello");
	line = strstr(p.out.data, "cmdline: ");
	ck_assert_ptr_nonnull(line);
	w1 = strstr(line, "virtio_mmio.device=4K@0xc0001000:5");
	w2 = strstr(line, "virtio_mmio.device=4K@0xc0002000:6");
	w3 = strstr(line, "virtio_mmio.device=4K@0xc0003000:7");
	ck_assert_msg(w1 && w2 && w3 && w1 < w2 && w2 < w3, "cmdline:\n%s", p.out.data);
	ck_assert_msg(!strstr(line, "0xc0004000"), "a fourth device:\n%s", p.out.data);
	ck_assert_msg(strstr(line, "root=/dev/vda rw"), "cmdline:\n%s", p.out.data);
	ck_assert_int_eq(count_substr(line, "root="), 1);
	free(a);
	free(b);
	free(c);
	proc_free(&p);
}
END_TEST

START_TEST(partuuid_read_only_root)
{
	struct proc p;
	char *a = make_image("a.img", 64);
	struct drive d = { "root", a, true, true, "0eaa91a0-01", NULL, NULL };

	boot(&p, "wtest=hello", &d, 1);
	ASSERT_PASS(&p, "hello");
	ck_assert_msg(strstr(p.out.data, "root=PARTUUID=0eaa91a0-01 ro"), "cmdline:\n%s",
		      p.out.data);
	ck_assert_ptr_null(strstr(p.out.data, "root=/dev/vda"));
	ck_assert_ptr_nonnull(strstr(p.out.data, "virtio_mmio.device=4K@0xc0001000:5"));
	free(a);
	proc_free(&p);
}
END_TEST

START_TEST(no_root_device_no_root_word)
{
	struct proc p;
	char *a = make_image("a.img", 64);
	struct drive d = { "data", a, false, false, NULL, NULL, NULL };

	boot(&p, "wtest=hello", &d, 1);
	ASSERT_PASS(&p, "hello");
	ck_assert_msg(!strstr(p.out.data, "root="), "cmdline:\n%s", p.out.data);
	ck_assert_ptr_nonnull(strstr(p.out.data, "virtio_mmio.device=4K@0xc0001000:5"));
	free(a);
	proc_free(&p);
}
END_TEST

/* ---------------- read-only drives ---------------- */

/* Device 1 read-only, its file mode 0444: the guest's write to it fails
 * with IOERR and the file is unchanged. */
START_TEST(read_only_drive_refuses_writes)
{
	struct proc p;
	char *rw = make_image("rw.img", IMG_SECTORS);
	char *ro = make_image("ro.img", IMG_SECTORS);
	struct drive d[2] = {
		{ "rw", rw, true, false, NULL, NULL, engines[_i] },
		{ "ro", ro, false, true, NULL, NULL, engines[_i] },
	};

	ck_assert_int_eq(chmod(ro, 0444), 0);
	boot(&p, "wtest=blk", d, 2);
	ASSERT_PASS(&p, "blk");
	ck_assert_msg(strstr(p.err.data, "drive 'ro': ") && strstr(p.err.data, "read-only"),
		      "stderr:\n%s", p.err.data);
	ck_assert_msg(strstr(p.out.data, ", ro write IOERR"), "stdout:\n%s", p.out.data);
	ASSERT_IMAGE(rw, BLK_N, true);
	ASSERT_IMAGE(ro, BLK_N, false);
	free(rw);
	free(ro);
	proc_free(&p);
}
END_TEST

/* The image of a read-only drive is opened O_RDONLY, a read-write one
 * O_RDWR (seen in /proc/<wisp>/fdinfo while the guest runs). */
START_TEST(read_only_drive_is_opened_read_only)
{
	struct proc p;
	char *rw = make_image("rw.img", 64);
	char *ro = make_image("ro.img", 64);
	struct drive d[2] = {
		{ "rw", rw, true, false, NULL, NULL, NULL },
		{ "ro", ro, false, true, NULL, NULL, NULL },
	};
	char *cfg;
	int fro, frw;

	ck_assert_int_eq(chmod(ro, 0444), 0);
	cfg = write_config("wtest=ticker", d, 2);
	ck_assert_int_eq(wisp_spawn_config(&p, cfg), 0);
	ck_assert_msg(proc_wait_for(&p, "TICK 1", BOOT_TIMEOUT_MS), "stdout:\n%s\nstderr:\n%s",
		      p.out.data, p.err.data);
	fro = proc_fd_flags(p.pid, ro);
	frw = proc_fd_flags(p.pid, rw);
	proc_signal(&p, SIGTERM);
	ck_assert(proc_finish(&p, 20000));
	ck_assert_msg(fro >= 0 && (fro & O_ACCMODE) == O_RDONLY, "read-only image flags 0%o", fro);
	ck_assert_msg(frw >= 0 && (frw & O_ACCMODE) == O_RDWR, "read-write image flags 0%o", frw);
	ck_assert_int_eq(p.status, 0);
	ASSERT_CLEAN(&p);
	free(cfg);
	free(rw);
	free(ro);
	proc_free(&p);
}
END_TEST

/* ---------------- errors ---------------- */

START_TEST(missing_drive_file_is_refused_with_its_path)
{
	struct proc p;
	char *a = make_image("a.img", 64);
	struct drive d[2] = {
		{ "ok", a, true, false, NULL, NULL, NULL },
		{ "gone", "/nonexistent/wisp-disk.img", false, false, NULL, NULL, NULL },
	};

	boot(&p, "wtest=hello", d, 2);
	ck_assert_msg(p.status == 1, "status %d\nstderr:\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "/nonexistent/wisp-disk.img") &&
		      strstr(p.err.data, "gone"), "stderr:\n%s", p.err.data);
	ck_assert_ptr_null(strstr(p.out.data, "wisp-testguest"));
	ASSERT_CLEAN(&p);
	free(a);
	proc_free(&p);
}
END_TEST

START_TEST(directory_as_drive_is_refused)
{
	struct proc p;
	struct drive d = { "dir", "/tmp", true, false, NULL, NULL, NULL };

	boot(&p, "wtest=hello", &d, 1);
	ck_assert_msg(p.status == 1 && strstr(p.err.data, "/tmp"), "status %d\nstderr:\n%s",
		      p.status, p.err.data);
	ASSERT_CLEAN(&p);
	proc_free(&p);
}
END_TEST

/* ---------------- hostile driver ---------------- */

START_TEST(hostile_driver_is_survived_and_counted)
{
	struct proc p;
	char *a = make_image("a.img", IMG_SECTORS);
	char *b = make_image("b.img", IMG_SECTORS);
	struct drive d[2] = {
		{ "victim", a, true, false, NULL, NULL, engines[_i] },
		{ "bystander", b, false, false, NULL, NULL, engines[_i] },
	};

	boot(&p, "wtest=hostile", d, 2);
	/* The guest got to the end (device 1 and, after its reset, device 0
	 * still served reads), and reset the machine itself. */
	ASSERT_PASS(&p, "hostile");
	ck_assert_msg(strstr(p.err.data, "i8042: guest requested a reset"), "stderr:\n%s",
		      p.err.data);
	/* Each malformed request failed alone: the chain came back unused
	 * (used len 0, status untouched) or answered IOERR; no device reset. */
	ck_assert_msg(strstr(p.out.data, "hostile: descriptor-loop -> used len 0 ") &&
		      strstr(p.out.data, "hostile: out-of-ram -> used len 0 ") &&
		      strstr(p.out.data, "hostile: oversized-chain -> used len 0 ") &&
		      strstr(p.out.data, "hostile: nested-indirect -> used len 0 ") &&
		      strstr(p.out.data, "hostile: readonly-data -> used len 1 status 1"),
		      "stdout:\n%s", p.out.data);
	ck_assert_ptr_null(strstr(p.out.data, "needs-reset"));
	/* What happened is in the log, by reason and counter, for the victim. */
	ck_assert_msg(strstr(p.err.data, "drive 'victim'") &&
		      strstr(p.err.data, "rejected chain") &&
		      strstr(p.err.data, "descriptor loop") && strstr(p.err.data, "loops=1") &&
		      strstr(p.err.data, "outside guest RAM") && strstr(p.err.data, "out_of_ram=") &&
		      strstr(p.err.data, "indirect table inside an indirect table") &&
		      strstr(p.err.data, "nested_indirect=1") &&
		      strstr(p.err.data, "chain has too many descriptors") &&
		      strstr(p.err.data, "oversized=1") &&
		      strstr(p.err.data, "bad request at head") &&
		      strstr(p.err.data, "(invalid_reqs=5)"),
		      "stderr:\n%s\nstdout:\n%s", p.err.data, p.out.data);
	ck_assert_msg(!strstr(p.err.data, "drive 'bystander' ("), "bystander blamed:\n%s",
		      p.err.data);
	ASSERT_IMAGE(b, BLK_N, false);
	free(a);
	free(b);
	proc_free(&p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("blk");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_loop_test(tc, blk_engine_and_cache, 0, (int)(sizeof(modes) / sizeof(modes[0])));
	tcase_add_test(tc, blk_other_sector_count);
	tcase_add_test(tc, blk_get_id_is_the_drive_id);
	tcase_add_test(tc, drive_order_root_first_then_config_order);
	tcase_add_test(tc, three_drives_on_the_command_line);
	tcase_add_test(tc, partuuid_read_only_root);
	tcase_add_test(tc, no_root_device_no_root_word);
	tcase_add_loop_test(tc, read_only_drive_refuses_writes, 0, 2);
	tcase_add_test(tc, read_only_drive_is_opened_read_only);
	tcase_add_test(tc, missing_drive_file_is_refused_with_its_path);
	tcase_add_test(tc, directory_as_drive_is_refused);
	tcase_add_loop_test(tc, hostile_driver_is_survived_and_counted, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
