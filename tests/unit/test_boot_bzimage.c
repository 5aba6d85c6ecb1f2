/* SPDX-License-Identifier: Apache-2.0 */
/* test_boot_bzimage.c — bzImage loading, including lying headers. */
#include <errno.h>

#include "../check_main.h"
#include "boot_test_util.h"

#define RAM_SIZE     (64 * MiB)
#define FILL         0xee
#define SETUP_SECTS  4
#define PM_OFF       ((SETUP_SECTS + 1) * 512)
#define PAYLOAD      0x1000
#define IMG_LEN      (PM_OFF + PAYLOAD)
#define PREF_ADDR    0x1000000ULL
#define INIT_SIZE    0x300000u

static uint8_t img[IMG_LEN];
static struct guest_mem mem;
static struct kernel_info ki;
static char err[256];

/* A minimal bzImage: setup sectors with a protocol 2.15 header, then a
 * protected-mode payload filled with a position-dependent pattern. */
static void build(void)
{
	memset(img, 0, sizeof(img));
	img[0x1f1] = SETUP_SECTS;
	put16(img + 0x1fe, 0xaa55);
	img[0x200] = 0xeb;
	img[0x201] = 0x6a;                  /* header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put16(img + 0x206, 0x020f);
	img[0x211] = 0x01;                  /* LOADED_HIGH */
	put32(img + 0x22c, 0x7fffffff);     /* initrd_addr_max */
	put32(img + 0x230, 0x200000);       /* kernel_alignment */
	img[0x234] = 1;                     /* relocatable */
	put16(img + 0x236, 0x0003);         /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	put32(img + 0x238, 2047);           /* cmdline_size */
	put64(img + 0x258, PREF_ADDR);
	put32(img + 0x260, INIT_SIZE);
	for (unsigned i = 0; i < PAYLOAD; i++)
		img[PM_OFF + i] = (uint8_t)(i * 7 + 3);
}

static void setup(void)
{
	tm_init(&mem, RAM_SIZE, FILL);
	memset(&ki, 0, sizeof(ki));
	err[0] = '\0';
	build();
}

static void teardown(void)
{
	tm_free(&mem);
}

/* Load img[0..len) from an exactly-sized copy (ASan sees over-reads). */
static int load_len(size_t len)
{
	return load_exact(bzimage_load, &mem, img, len, &ki, err, sizeof(err));
}

static int load(void)
{
	return load_len(sizeof(img));
}

static void assert_guest_untouched(void)
{
	const uint8_t *p = tm_ptr(&mem, HIMEM_START, 32 * MiB);

	for (uint64_t i = 0; i < 32 * MiB; i += 4096)
		ck_assert_uint_eq(p[i], FILL);
}

static void expect_reject(const char *substr)
{
	ck_assert_int_lt(load(), 0);
	ck_assert_err(err, "kernel bzImage: ");
	ck_assert_err(err, substr);
	assert_guest_untouched();
}

START_TEST(valid_loads_at_pref_address)
{
	const uint8_t *p;

	ck_assert_int_eq(load(), 0);
	ck_assert_int_eq(ki.kind, KERNEL_BZIMAGE);
	ck_assert_uint_eq(ki.entry64, PREF_ADDR + 0x200);
	ck_assert(!ki.has_pvh);
	ck_assert_uint_eq(ki.load_start, PREF_ADDR);
	ck_assert_uint_eq(ki.load_end, PREF_ADDR + INIT_SIZE);
	ck_assert_uint_eq(ki.initrd_addr_max, 0x7fffffff);
	ck_assert_uint_eq(ki.cmdline_size, 2047);
	ck_assert_uint_eq(ki.setup_header_len, 0x26c - 0x1f1);
	ck_assert_mem_eq(ki.setup_header, img + 0x1f1, ki.setup_header_len);

	p = tm_ptr(&mem, PREF_ADDR, PAYLOAD + 1);
	ck_assert_mem_eq(p, img + PM_OFF, PAYLOAD);
	ck_assert_uint_eq(p[PAYLOAD], FILL);
}
END_TEST

START_TEST(dispatch_bzimage)
{
	ck_assert_int_eq(kernel_load(&mem, img, sizeof(img), &ki, err, sizeof(err)), 0);
	ck_assert_int_eq(ki.kind, KERNEL_BZIMAGE);
}
END_TEST

START_TEST(small_ram_falls_back_to_1mib)
{
	tm_free(&mem);
	tm_init(&mem, 8 * MiB, 0);   /* 16 MiB + init_size does not fit */
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.load_start, HIMEM_START);
	ck_assert_uint_eq(ki.entry64, HIMEM_START + 0x200);
	ck_assert_uint_eq(ki.load_end, HIMEM_START + INIT_SIZE);
	ck_assert_mem_eq(tm_ptr(&mem, HIMEM_START, PAYLOAD), img + PM_OFF, PAYLOAD);
}
END_TEST

START_TEST(no_pref_address_uses_1mib)
{
	put64(img + 0x258, 0);
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.load_start, HIMEM_START);
	put64(img + 0x258, 0x1000123);   /* unaligned: ignored */
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.load_start, HIMEM_START);
	put64(img + 0x258, UINT64_MAX - 0x1000 + 1);   /* would wrap: ignored */
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.load_start, HIMEM_START);
}
END_TEST

START_TEST(init_size_smaller_than_payload)
{
	put32(img + 0x260, 0x100);
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.load_end, ki.load_start + PAYLOAD);
}
END_TEST

START_TEST(setup_sects_zero_means_four)
{
	img[0x1f1] = 0;
	ck_assert_int_eq(load(), 0);
	ck_assert_mem_eq(tm_ptr(&mem, PREF_ADDR, PAYLOAD), img + PM_OFF, PAYLOAD);
	ck_assert_uint_eq(ki.setup_header[0], 0);   /* header copied as found */
}
END_TEST

START_TEST(long_header_clamped)
{
	img[0x201] = 0xff;   /* claims the header runs to 0x301 */
	ck_assert_int_eq(load(), 0);
	ck_assert_uint_eq(ki.setup_header_len, 0x290 - 0x1f1);
}
END_TEST

START_TEST(bad_boot_flag)
{
	put16(img + 0x1fe, 0x55aa);
	expect_reject("bad boot_flag 0x55aa");
}
END_TEST

START_TEST(bad_hdrs_magic)
{
	memcpy(img + 0x202, "HdrX", 4);
	expect_reject("missing \"HdrS\" magic");
}
END_TEST

START_TEST(old_protocol)
{
	put16(img + 0x206, 0x020b);
	expect_reject("boot protocol 2.11 is too old (need 2.12 or later)");
}
END_TEST

START_TEST(short_header_length)
{
	img[0x201] = 0x50;   /* header ends at 0x252: lacks init_size */
	expect_reject("too short for protocol 2.15");
}
END_TEST

START_TEST(not_loaded_high)
{
	img[0x211] = 0x00;
	expect_reject("lacks LOADED_HIGH");
}
END_TEST

START_TEST(no_64bit_entry)
{
	put16(img + 0x236, 0x0002);
	expect_reject("lacks XLF_KERNEL_64");
}
END_TEST

START_TEST(setup_sects_past_end)
{
	img[0x1f1] = 200;
	expect_reject("setup_sects 200 puts the protected-mode kernel");
	build();
	img[0x1f1] = IMG_LEN / 512 - 1;   /* pm offset == file length */
	expect_reject("past the end of the file");
}
END_TEST

START_TEST(payload_too_small)
{
	ck_assert_int_lt(load_len(PM_OFF + 0x100), 0);
	ck_assert_err(err, "too small to hold the 64-bit entry");
}
END_TEST

START_TEST(init_size_larger_than_ram)
{
	put32(img + 0x260, 0x10000000);   /* 256 MiB in a 64 MiB guest */
	ck_assert_int_eq(load(), -ENOMEM);
	ck_assert_err(err, "init_size 0x10000000");
	ck_assert_err(err, "does not fit in guest RAM");
	assert_guest_untouched();
	put32(img + 0x260, 0xffffffff);
	ck_assert_int_eq(load(), -ENOMEM);
	ck_assert_err(err, "does not fit in guest RAM");
}
END_TEST

START_TEST(too_short_file)
{
	ck_assert_int_lt(load_len(0x200), 0);
	ck_assert_err(err, "file too short for a setup header (512 bytes)");
}
END_TEST

START_TEST(every_truncation_safe)
{
	/* Every prefix is either rejected with a message or loaded (a shorter
	 * payload is still a payload); nothing is read past the buffer. */
	for (size_t len = 0; len <= sizeof(img); len++) {
		int ret = load_len(len);

		if (len <= PM_OFF + 0x200)
			ck_assert_msg(ret < 0, "prefix of %zu bytes accepted", len);
		if (ret < 0)
			ck_assert_msg(err[0] != '\0', "no message for prefix of %zu bytes", len);
		else
			ck_assert_uint_eq(ki.entry64, PREF_ADDR + 0x200);
	}
}
END_TEST

START_TEST(mutation_never_crashes)
{
	uint8_t orig[IMG_LEN];
	uint32_t rng = 777;

	memcpy(orig, img, sizeof(img));
	for (unsigned iter = 0; iter < 3000; iter++) {
		memcpy(img, orig, sizeof(img));
		for (unsigned k = 0; k < 1 + iter % 3; k++) {
			size_t pos;

			rng = rng * 1103515245u + 12345u;
			pos = 0x1f1 + (rng >> 8) % (0x270 - 0x1f1);
			rng = rng * 1103515245u + 12345u;
			img[pos] = (uint8_t)(rng >> 16);
		}
		if (load() != 0)
			ck_assert(err[0] != '\0');
	}
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("boot_bzimage");
	TCase *tc = tcase_create("bzimage");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, valid_loads_at_pref_address);
	tcase_add_test(tc, dispatch_bzimage);
	tcase_add_test(tc, small_ram_falls_back_to_1mib);
	tcase_add_test(tc, no_pref_address_uses_1mib);
	tcase_add_test(tc, init_size_smaller_than_payload);
	tcase_add_test(tc, setup_sects_zero_means_four);
	tcase_add_test(tc, long_header_clamped);
	tcase_add_test(tc, bad_boot_flag);
	tcase_add_test(tc, bad_hdrs_magic);
	tcase_add_test(tc, old_protocol);
	tcase_add_test(tc, short_header_length);
	tcase_add_test(tc, not_loaded_high);
	tcase_add_test(tc, no_64bit_entry);
	tcase_add_test(tc, setup_sects_past_end);
	tcase_add_test(tc, payload_too_small);
	tcase_add_test(tc, init_size_larger_than_ram);
	tcase_add_test(tc, too_short_file);
	tcase_add_test(tc, every_truncation_safe);
	tcase_add_test(tc, mutation_never_crashes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
