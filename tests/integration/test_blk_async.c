/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_blk_async.c — the Async block engine in a running VM, under the
 * built-in seccomp filters:
 *  - the guest resets its block device with requests in flight (`blk-reset`,
 *    both engines): the vCPU writing status 0 does not wait for the host
 *    I/O (the vCPU filter has no io_uring_enter any more), Status reads 0
 *    once the VMM thread has retired them, nothing old reaches the new
 *    rings, and the device serves reads afterwards;
 *  - PATCH /drives path_on_host while the guest reads: the new image
 *    becomes the restricted ring's registered file (io_uring_register
 *    IORING_REGISTER_FILES_UPDATE on the filtered VMM thread) and the
 *    guest's I/O goes on.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "it_wisp.h"

#define BOOT_MS 90000
#define IMG_SECTORS 2048

static void teardown(void)
{
	tmpdir_cleanup();
}

static const char *const engines[] = { "Sync", "Async" };

START_TEST(guest_reset_with_requests_in_flight)
{
	char *img = write_tmp_file("disk.img", ""), *drives, *doc, *cfg;
	struct proc p;

	ck_assert_int_eq(image_create(img, IMG_SECTORS), 0);
	if (asprintf(&drives, "\"drives\": [{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", "
		     "\"is_root_device\": false, \"is_read_only\": true, \"io_engine\": \"%s\"}]",
		     img, engines[_i]) < 0)
		abort();
	doc = guest_config("wtest=blk-reset wtest.rounds=50", NULL, drives);
	cfg = write_tmp_file("vm.json", doc);
	ck_assert_msg(wisp_run_config(&p, cfg, NULL, BOOT_MS), "wisp did not exit in time\n%s\n%s",
		      p.out.data, p.err.data);
	ASSERT_PASS(&p, "blk-reset");
	ck_assert_msg(strstr(p.out.data, "blk-reset: 50 rounds"), "%s", p.out.data);
	{
		const char *l = strstr(p.out.data, "blk-reset: ");

		fprintf(stderr, "%s engine: %.*s\n", engines[_i], (int)strcspn(l, "\n"), l);
	}
	proc_free(&p);
	free(cfg);
	free(doc);
	free(drives);
	free(img);
}
END_TEST

START_TEST(patch_async_drive_while_the_guest_reads)
{
	char *a = write_tmp_file("a.img", ""), *b = write_tmp_file("b.img", "");
	char body[8192], *sock;
	struct wisp w;

	ck_assert_int_eq(image_create(a, 32768), 0);
	ck_assert_int_eq(image_create(b, 32768), 0);
	sock = write_tmp_file("api.sock", "");
	unlink(sock);
	wisp_spawn(&w, sock, "async", NULL);
	snprintf(body, sizeof(body),
		 "{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=blk-bench "
		 "wtest.mode=randread wtest.bs=4096 wtest.qd=8 wtest.secs=3\"}",
		 build_path("wisp-testguest"));
	ck_assert_int_eq(api_call(&w.c, "PUT", "/boot-source", body), 204);
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
		 "\"is_read_only\": true, \"io_engine\": \"Async\"}", a);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/drives/d0", body), 204);
	ck_assert_int_eq(api_call(&w.c, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"), 204);
	ck_assert_msg(proc_wait_for(&w.p, " blocks", BOOT_MS), "%s\n%s", w.p.out.data, w.p.err.data);
	usleep(500000);
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "{\"drive_id\": \"d0\", \"path_on_host\": \"%s\"}",
			 i % 2 ? a : b);
		ck_assert_int_eq(api_call(&w.c, "PATCH", "/drives/d0", body), 204);
		usleep(200000);
	}
	/* Still serving: no SIGSYS (sanitizer builds install no filter). */
	ck_assert_int_eq(api_call(&w.c, "GET", "/vm/config", NULL), 200);
	ck_assert_msg(strstr(w.c.body, a), "%s", w.c.body);   /* b, a, b, a */
	ck_assert_msg(proc_wait_for(&w.p, "BENCH blk", BOOT_MS), "%s\n%s", w.p.out.data,
		      w.p.err.data);
	/* The guest ends the VM itself after the bench: a clean exit. */
	ck_assert(proc_finish(&w.p, BOOT_MS));
	ck_assert_msg(w.p.status == 0, "status %d\n%s", w.p.status, w.p.err.data);
	ck_assert_int_eq(count_substr(w.p.err.data, "now backed by"), 4);
	ck_assert_ptr_null(strstr(w.p.err.data, "cannot give"));
	ASSERT_CLEAN(&w.p);
	wisp_free(&w);
	free(sock);
	free(a);
	free(b);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("blk_async");
	TCase *t = tcase_create("blk_async");

	tcase_add_checked_fixture(t, NULL, teardown);
	tcase_set_timeout(t, 300);
	tcase_add_loop_test(t, guest_reset_with_requests_in_flight, 0, 2);
	tcase_add_test(t, patch_async_drive_while_the_guest_reads);
	suite_add_tcase(s, t);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
