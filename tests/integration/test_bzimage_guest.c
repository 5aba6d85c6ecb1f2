/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_bzimage_guest.c — build/wisp boots a real bzImage end to end: the test
 * guest wrapped by tests/guest/bzimage (build/wisp-testguest.bzImage). wisp
 * checks the setup header, copies the protected-mode payload to pref_address
 * (or 1 MiB), and enters it at +0x200 with boot_params built from that header;
 * the payload's trampoline prints where it was loaded and what boot_params
 * says about the initrd, then starts the test guest at its 64-bit entry.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "harness.h"

#define BOOT_TIMEOUT_MS 60000
#define BZ_PREF_ADDRESS 0x1000000ULL   /* tests/guest/bzimage/mkbzimage.c */

static const char *bzimage(void)
{
	return build_path("wisp-testguest.bzImage");
}

static void teardown(void)
{
	tmpdir_cleanup();
}

/* Boot the bzImage; initrd may be NULL. */
static void boot(struct proc *p, const char *boot_args, unsigned mem_mib, const char *initrd)
{
	char *doc, initrd_json[4200] = "";
	FILE *f = fopen(bzimage(), "rb");

	ck_assert_msg(f, "%s is missing: build the wisp-testguest-bzimage target", bzimage());
	fclose(f);
	if (initrd)
		snprintf(initrd_json, sizeof(initrd_json), ", \"initrd_path\": \"%s\"", initrd);
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"%s},"
		     " \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %u}}",
		     bzimage(), boot_args, initrd_json, mem_mib) < 0)
		abort();
	ck_assert_msg(wisp_run_doc(p, "vm.json", doc, NULL, BOOT_TIMEOUT_MS),
		      "wisp did not exit in time\nstdout:\n%s\nstderr:\n%s", p->out.data, p->err.data);
	free(doc);
}

/* The scenario passed and its PASS line is the only WTEST line. */
#define ASSERT_SOLE_PASS(p, name)                                                              \
	do {                                                                                   \
		ASSERT_SCENARIO_PASSED(p, name);                                               \
		ck_assert_msg(count_substr((p)->out.data, "WTEST ") == 1, "stdout:\n%s",         \
			      (p)->out.data);                                                  \
	} while (0)

/* The hex number after `key` in the output, or fail. */
static uint64_t hex_after(const struct proc *p, const char *key)
{
	const char *s = strstr(p->out.data, key);
	char *end;
	uint64_t v;

	ck_assert_msg(s, "no '%s' in stdout:\n%s", key, p->out.data);
	s += strlen(key);
	ck_assert_msg(!strncmp(s, "0x", 2), "'%s' not followed by 0x...:\n%s", key, p->out.data);
	v = strtoull(s, &end, 16);
	ck_assert(end > s + 2);
	return v;
}

/* init_size from the bzImage's setup header (offset 0x260). */
static uint32_t bzimage_init_size(void)
{
	FILE *f = fopen(bzimage(), "rb");
	uint8_t b[4];

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0x260, SEEK_SET), 0);
	ck_assert_int_eq(fread(b, 1, 4, f), 4);
	fclose(f);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

START_TEST(hello_through_the_bzimage_entry)
{
	struct proc p;

	boot(&p, "wtest=hello console=ttyS0", 128, NULL);
	ASSERT_SOLE_PASS(&p, "hello");
	/* wisp honoured pref_address and entered at +0x200 with boot_params in RSI. */
	ck_assert_uint_eq(hex_after(&p, "wisp-bzimage: loaded at "), BZ_PREF_ADDRESS);
	ck_assert_ptr_null(strstr(p.out.data, "relocated"));
	ck_assert_uint_eq(hex_after(&p, "boot_params at "), 0x7000);
	ck_assert_ptr_nonnull(strstr(p.out.data, "wisp-bzimage: no initrd"));
	ck_assert_ptr_nonnull(strstr(p.out.data, "entry=linux64 scenario=hello"));
	ck_assert_ptr_nonnull(strstr(p.out.data, "cmdline: wtest=hello console=ttyS0"));
	proc_free(&p);
}
END_TEST

START_TEST(memory_4g_through_the_bzimage_entry)
{
	struct proc p;
	const char *s;
	unsigned below = 0, above = 0;

	boot(&p, "wtest=memory", 4096, NULL);
	ASSERT_SOLE_PASS(&p, "memory");
	ck_assert_uint_eq(hex_after(&p, "wisp-bzimage: loaded at "), BZ_PREF_ADDRESS);
	ck_assert_msg(strstr(p.out.data, "0x0000000100000000-0x0000000140000000) ram"),
		      "e820 from the bzImage's boot_params lacks RAM above 4 GiB:\n%s", p.out.data);
	s = strstr(p.out.data, "memory: tested ");
	ck_assert_msg(s && sscanf(s, "memory: tested %u MiB below 4 GiB, %u MiB above 4 GiB", &below,
				  &above) == 2, "stdout:\n%s", p.out.data);
	ck_assert_msg(below > 3000 && above == 1024, "tested %u MiB below, %u above:\n%s", below,
		      above, p.out.data);
	proc_free(&p);
}
END_TEST

/* The guest does not look at the initrd; the trampoline does: it prints
 * what boot_params says (address, size) and the first bytes found there. */
START_TEST(initrd_reaches_the_bzimage_guest)
{
	static const char content[] = "wisp-initrd 0123456789abcdefghijklmnopqrstuvwxyz\n";
	struct proc p;
	char *initrd = write_tmp_file("initrd.img", content);
	char expect[128];
	uint64_t addr, size;

	boot(&p, "wtest=hello", 128, initrd);
	ASSERT_SOLE_PASS(&p, "hello");
	addr = hex_after(&p, "wisp-bzimage: initrd at ");
	size = hex_after(&p, " size ");
	ck_assert_uint_eq(size, strlen(content));
	ck_assert_msg((addr & 0xfff) == 0, "initrd at 0x%" PRIx64 " is not page aligned", addr);
	/* Above everything the kernel said it needs, below initrd_addr_max (1 GiB - 1) and RAM. */
	ck_assert_msg(addr >= BZ_PREF_ADDRESS + bzimage_init_size() && addr + size <= (128u << 20),
		      "initrd at 0x%" PRIx64 " (init_size 0x%x)", addr, bzimage_init_size());
	snprintf(expect, sizeof(expect), "begins \"%.32s\"", content);
	ck_assert_msg(strstr(p.out.data, expect), "want '%s' in:\n%s", expect, p.out.data);
	free(initrd);
	proc_free(&p);
}
END_TEST

/* 16 MiB: pref_address + init_size does not fit, so wisp loads the payload
 * at 1 MiB, over the guest's own range; the trampoline moves itself away
 * first. The initrd still lands above what init_size claims. */
START_TEST(small_guest_loads_at_1m_and_relocates)
{
	struct proc p;
	char *initrd = write_tmp_file("initrd.img", "tiny-initrd");
	uint64_t addr;

	boot(&p, "wtest=hello", 16, initrd);
	ASSERT_SOLE_PASS(&p, "hello");
	ck_assert_uint_eq(hex_after(&p, "wisp-bzimage: loaded at "), 0x100000);
	ck_assert_ptr_nonnull(strstr(p.out.data, ", relocated to 0x"));
	addr = hex_after(&p, "wisp-bzimage: initrd at ");
	ck_assert_msg(addr >= 0x100000 + bzimage_init_size(), "initrd at 0x%" PRIx64, addr);
	ck_assert_ptr_nonnull(strstr(p.out.data, "begins \"tiny-initrd\""));
	free(initrd);
	proc_free(&p);
}
END_TEST

START_TEST(truncated_bzimage_is_refused)
{
	struct proc p;
	FILE *in = fopen(bzimage(), "rb");
	char head[0x300], *cut, *doc;

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(fread(head, 1, sizeof(head), in), sizeof(head));
	fclose(in);
	cut = write_tmp_data("cut.bzImage", head, sizeof(head));
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}", cut) < 0)
		abort();
	ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, BOOT_TIMEOUT_MS));
	ck_assert_int_ne(p.status, 0);
	ck_assert_msg(strstr(p.err.data, "kernel bzImage: setup_sects 1 puts the protected-mode kernel"),
		      "stderr:\n%s", p.err.data);
	free(cut);
	free(doc);
	proc_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("bzimage_guest");
	TCase *tc = tcase_create("boot");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hello_through_the_bzimage_entry);
	tcase_add_test(tc, memory_4g_through_the_bzimage_entry);
	tcase_add_test(tc, initrd_reaches_the_bzimage_guest);
	tcase_add_test(tc, small_guest_loads_at_1m_and_relocates);
	tcase_add_test(tc, truncated_bzimage_is_refused);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
