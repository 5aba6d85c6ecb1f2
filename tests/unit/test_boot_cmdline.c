/* SPDX-License-Identifier: Apache-2.0 */
/* test_boot_cmdline.c — kernel command line building. */
#include <errno.h>

#include "../check_main.h"
#include "boot_test_util.h"

static struct cmdline c;

static void setup(void)
{
	cmdline_init(&c);
	tlog_start();
}

static void teardown(void)
{
	tlog_stop();
}

START_TEST(init_is_empty)
{
	ck_assert_str_eq(c.buf, "");
	ck_assert_uint_eq(c.len, 0);
}
END_TEST

START_TEST(append_words)
{
	ck_assert_int_eq(cmdline_append(&c, "console=ttyS0"), 0);
	ck_assert_int_eq(cmdline_append(&c, ""), 0);
	ck_assert_int_eq(cmdline_append(&c, "reboot=k panic=1"), 0);
	ck_assert_str_eq(c.buf, "console=ttyS0 reboot=k panic=1");
	ck_assert_uint_eq(c.len, strlen(c.buf));
}
END_TEST

START_TEST(virtio_mmio_format)
{
	ck_assert_int_eq(cmdline_add_virtio_mmio(&c, 0xc0001000, 0x1000, 5), 0);
	ck_assert_str_eq(c.buf, "virtio_mmio.device=4K@0xc0001000:5");
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_add_virtio_mmio(&c, 0xc000a000, 0x200, 12), 0);
	ck_assert_str_eq(c.buf, "virtio_mmio.device=512@0xc000a000:12");
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_add_virtio_mmio(&c, 0xd0000000, 2 << 20, 7), 0);
	ck_assert_int_eq(cmdline_add_virtio_mmio(&c, 0xc0002000, 0x3000, 6), 0);
	ck_assert_str_eq(c.buf, "virtio_mmio.device=2M@0xd0000000:7 virtio_mmio.device=12K@0xc0002000:6");
}
END_TEST

START_TEST(virtio_mmio_zero_size)
{
	ck_assert_int_eq(cmdline_add_virtio_mmio(&c, 0xc0001000, 0, 5), -EINVAL);
	ck_assert_logged("size is 0");
	ck_assert_str_eq(c.buf, "");
}
END_TEST

START_TEST(root_device_names)
{
	ck_assert_int_eq(cmdline_add_root(&c, 0, NULL, false), 0);
	ck_assert_str_eq(c.buf, "root=/dev/vda rw");
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_add_root(&c, 1, "", true), 0);
	ck_assert_str_eq(c.buf, "root=/dev/vdb ro");
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_add_root(&c, 25, NULL, true), 0);
	ck_assert_str_eq(c.buf, "root=/dev/vdz ro");
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_add_root(&c, 26, NULL, true), 0);
	ck_assert_str_eq(c.buf, "root=/dev/vdaa ro");
}
END_TEST

START_TEST(root_partuuid)
{
	ck_assert_int_eq(cmdline_append(&c, "console=ttyS0"), 0);
	ck_assert_int_eq(cmdline_add_root(&c, 3, "0eaa91a0-01", true), 0);
	ck_assert_str_eq(c.buf, "console=ttyS0 root=PARTUUID=0eaa91a0-01 ro");
}
END_TEST

START_TEST(root_partuuid_bad)
{
	ck_assert_int_eq(cmdline_add_root(&c, 0, "abc def", false), -EINVAL);
	ck_assert_logged("contains whitespace");
	ck_assert_str_eq(c.buf, "");
}
END_TEST

static void fill_to(size_t len)
{
	char word[VM_CMDLINE_MAX];

	memset(word, 'a', len);
	word[len] = '\0';
	cmdline_init(&c);
	ck_assert_int_eq(cmdline_append(&c, word), 0);
}

START_TEST(full_line_rejects)
{
	fill_to(VM_CMDLINE_MAX - 3);   /* room for " b" and the NUL */
	ck_assert_int_eq(cmdline_append(&c, "b"), 0);
	ck_assert_uint_eq(c.len, VM_CMDLINE_MAX - 1);
	ck_assert_int_eq(cmdline_append(&c, "c"), -E2BIG);
	ck_assert_logged("would exceed 4095 bytes");
	ck_assert_uint_eq(c.len, VM_CMDLINE_MAX - 1);
	ck_assert_uint_eq(strlen(c.buf), VM_CMDLINE_MAX - 1);
}
END_TEST

START_TEST(too_long_word_rejected)
{
	char word[VM_CMDLINE_MAX + 1];

	memset(word, 'w', VM_CMDLINE_MAX);
	word[VM_CMDLINE_MAX] = '\0';
	ck_assert_int_eq(cmdline_append(&c, word), -E2BIG);
	ck_assert_str_eq(c.buf, "");
	word[VM_CMDLINE_MAX - 1] = '\0';   /* 4095 bytes: fits exactly */
	ck_assert_int_eq(cmdline_append(&c, word), 0);
}
END_TEST

START_TEST(root_all_or_nothing)
{
	fill_to(VM_CMDLINE_MAX - 1 - strlen(" root=/dev/vda") - 2);   /* " ro" does not fit */
	ck_assert_int_eq(cmdline_add_root(&c, 0, NULL, true), -E2BIG);
	ck_assert_uint_eq(c.len, VM_CMDLINE_MAX - 1 - strlen(" root=/dev/vda") - 2);
	ck_assert_ptr_null(strstr(c.buf, "root="));
	ck_assert_logged("would exceed");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("boot_cmdline");
	TCase *tc = tcase_create("cmdline");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, init_is_empty);
	tcase_add_test(tc, append_words);
	tcase_add_test(tc, virtio_mmio_format);
	tcase_add_test(tc, virtio_mmio_zero_size);
	tcase_add_test(tc, root_device_names);
	tcase_add_test(tc, root_partuuid);
	tcase_add_test(tc, root_partuuid_bad);
	tcase_add_test(tc, full_line_rejects);
	tcase_add_test(tc, too_long_word_rejected);
	tcase_add_test(tc, root_all_or_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
