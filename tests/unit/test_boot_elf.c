/* SPDX-License-Identifier: Apache-2.0 */
/* test_boot_elf.c — ELF vmlinux loading, including hostile images. */
#include <elf.h>
#include <errno.h>

#include "../check_main.h"
#include "boot_test_util.h"

#define RAM_SIZE   (64 * MiB)
#define FILL       0xee

/* Layout of the hand-made image. */
#define OFF_PHDR   0x40
#define NPHDR      3
#define OFF_NOTE   0x100
#define OFF_SEG0   0x200
#define SEG0_SIZE  0x200
#define SEG0_PADDR 0x100000ULL
#define OFF_SEG1   0x400
#define SEG1_FILE  0x100
#define SEG1_MEM   0x1000
#define SEG1_PADDR 0x200000ULL
#define IMG_LEN    0x500
#define ENTRY      (SEG0_PADDR + 0x10)
#define PVH_ENTRY  (SEG0_PADDR + 0x20)
#define XEN_NOTE_TYPE 18

static uint8_t img[IMG_LEN] __attribute__((aligned(8)));
static size_t note_len;
static struct guest_mem mem;
static struct kernel_info ki;
static char err[256];

static Elf64_Phdr *phdr(unsigned i)
{
	return (Elf64_Phdr *)(img + OFF_PHDR + i * sizeof(Elf64_Phdr));
}

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)img;
}

static size_t add_note(size_t off, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	put32(img + off, namesz);
	put32(img + off + 4, descsz);
	put32(img + off + 8, type);
	memcpy(img + off + 12, name, namesz);
	off += 12 + ((namesz + 3) & ~3u);
	memcpy(img + off, desc, descsz);
	return off + ((descsz + 3) & ~3u);
}

/* A valid vmlinux-like image: two PT_LOAD (the second with bss), a PT_NOTE
 * with an unrelated GNU note followed by the Xen PVH entry note. */
static void build(unsigned pvh_descsz)
{
	Elf64_Ehdr *eh = ehdr();
	size_t off;
	uint8_t gnu[20];

	memset(img, 0, sizeof(img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = ENTRY;
	eh->e_phoff = OFF_PHDR;
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = NPHDR;

	memset(gnu, 0x5a, sizeof(gnu));
	off = add_note(OFF_NOTE, "GNU", 3, gnu, sizeof(gnu));
	if (pvh_descsz == 4) {
		uint32_t e = (uint32_t)PVH_ENTRY;

		off = add_note(off, "Xen", XEN_NOTE_TYPE, &e, 4);
	} else if (pvh_descsz == 8) {
		uint64_t e = PVH_ENTRY;

		off = add_note(off, "Xen", XEN_NOTE_TYPE, &e, 8);
	}
	note_len = off - OFF_NOTE;

	*phdr(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = OFF_SEG0,
				 .p_vaddr = 0xffffffff81000000ULL, .p_paddr = SEG0_PADDR,
				 .p_filesz = SEG0_SIZE, .p_memsz = SEG0_SIZE, .p_align = 0x1000 };
	*phdr(1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = OFF_SEG1,
				 .p_vaddr = 0xffffffff81100000ULL, .p_paddr = SEG1_PADDR,
				 .p_filesz = SEG1_FILE, .p_memsz = SEG1_MEM, .p_align = 0x1000 };
	*phdr(2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = OFF_NOTE,
				 .p_filesz = note_len, .p_memsz = note_len, .p_align = 4 };
	memset(img + OFF_SEG0, 0xa1, SEG0_SIZE);
	memset(img + OFF_SEG1, 0xb2, SEG1_FILE);
}

static void setup(void)
{
	tm_init(&mem, RAM_SIZE, FILL);
	memset(&ki, 0, sizeof(ki));
	err[0] = '\0';
	build(4);
}

static void teardown(void)
{
	tm_free(&mem);
}

/* Load img[0..len) from an exactly-sized copy (ASan sees over-reads). */
static int load_len(size_t len)
{
	return load_exact(elf_load, &mem, img, len, &ki, err, sizeof(err));
}

static int load(void)
{
	return load_len(sizeof(img));
}

static void assert_guest_untouched(void)
{
	const uint8_t *p = tm_ptr(&mem, SEG0_PADDR, SEG0_SIZE);

	for (unsigned i = 0; i < SEG0_SIZE; i++)
		ck_assert_uint_eq(p[i], FILL);
	p = tm_ptr(&mem, SEG1_PADDR, SEG1_MEM);
	for (unsigned i = 0; i < SEG1_MEM; i++)
		ck_assert_uint_eq(p[i], FILL);
}

static void expect_reject(const char *substr)
{
	ck_assert_int_lt(load(), 0);
	ck_assert_err(err, substr);
	ck_assert_err(err, "kernel ELF: ");
	assert_guest_untouched();
}

START_TEST(valid_image_loads)
{
	const uint8_t *p;

	ck_assert_int_eq(load(), 0);
	ck_assert_int_eq(ki.kind, KERNEL_ELF);
	ck_assert_uint_eq(ki.entry64, ENTRY);
	ck_assert(ki.has_pvh);
	ck_assert_uint_eq(ki.pvh_entry, PVH_ENTRY);
	ck_assert_uint_eq(ki.load_start, SEG0_PADDR);
	ck_assert_uint_eq(ki.load_end, SEG1_PADDR + SEG1_MEM);
	ck_assert_uint_eq(ki.setup_header_len, 0);
	ck_assert_uint_eq(ki.initrd_addr_max, MMIO_GAP_START - 1);
	ck_assert_uint_eq(ki.cmdline_size, CMDLINE_CAPACITY - 1);

	p = tm_ptr(&mem, SEG0_PADDR, SEG0_SIZE);
	for (unsigned i = 0; i < SEG0_SIZE; i++)
		ck_assert_uint_eq(p[i], 0xa1);
	ck_assert_uint_eq(p[SEG0_SIZE], FILL);   /* nothing written past memsz */
	p = tm_ptr(&mem, SEG1_PADDR, SEG1_MEM);
	for (unsigned i = 0; i < SEG1_FILE; i++)
		ck_assert_uint_eq(p[i], 0xb2);
	for (unsigned i = SEG1_FILE; i < SEG1_MEM; i++)   /* bss cleared */
		ck_assert_uint_eq(p[i], 0);
	ck_assert_uint_eq(p[SEG1_MEM], FILL);
}
END_TEST

START_TEST(pvh_note_8_byte_desc)
{
	build(8);
	ck_assert_int_eq(load(), 0);
	ck_assert(ki.has_pvh);
	ck_assert_uint_eq(ki.pvh_entry, PVH_ENTRY);
}
END_TEST

START_TEST(no_pvh_note)
{
	build(0);
	ck_assert_int_eq(load(), 0);
	ck_assert(!ki.has_pvh);
	ck_assert_uint_eq(ki.pvh_entry, 0);
	ck_assert_uint_eq(ki.entry64, ENTRY);
}
END_TEST

START_TEST(xen_note_of_other_type_ignored)
{
	put32(img + OFF_NOTE + 36 + 8, 17);   /* second note's type */
	ck_assert_int_eq(load(), 0);
	ck_assert(!ki.has_pvh);
}
END_TEST

START_TEST(dispatch_elf)
{
	ck_assert_int_eq(kernel_load(&mem, img, sizeof(img), &ki, err, sizeof(err)), 0);
	ck_assert_int_eq(ki.kind, KERNEL_ELF);
}
END_TEST

START_TEST(dispatch_unknown)
{
	uint8_t junk[0x300];

	memset(junk, 0x90, sizeof(junk));
	ck_assert_int_eq(kernel_load(&mem, junk, sizeof(junk), &ki, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "neither an ELF vmlinux nor a bzImage");
	ck_assert_int_eq(kernel_load(&mem, junk, 0, &ki, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "neither");
}
END_TEST

START_TEST(every_truncation_rejected)
{
	/* Any prefix of the image is missing part of a segment: all must be
	 * rejected with a message and without reading past the buffer. */
	for (size_t len = 0; len < sizeof(img); len++) {
		ck_assert_msg(load_len(len) < 0, "prefix of %zu bytes accepted", len);
		ck_assert_msg(err[0] != '\0', "no message for prefix of %zu bytes", len);
	}
	assert_guest_untouched();
	ck_assert_int_eq(load_len(sizeof(img)), 0);
}
END_TEST

START_TEST(truncated_header_message)
{
	ck_assert_int_lt(load_len(10), 0);
	ck_assert_err(err, "too short for the ELF header");
	ck_assert_int_lt(load_len(OFF_PHDR + sizeof(Elf64_Phdr) + 3), 0);
	ck_assert_err(err, "program header 1");
	ck_assert_err(err, "extends past end of file");
}
END_TEST

START_TEST(bad_magic)
{
	img[1] = 'X';
	expect_reject("bad ELF magic");
}
END_TEST

START_TEST(not_64bit)
{
	img[EI_CLASS] = ELFCLASS32;
	expect_reject("not a 64-bit ELF");
}
END_TEST

START_TEST(big_endian)
{
	img[EI_DATA] = ELFDATA2MSB;
	expect_reject("not little-endian");
}
END_TEST

START_TEST(wrong_machine)
{
	ehdr()->e_machine = EM_386;
	expect_reject("is not x86_64");
}
END_TEST

START_TEST(not_exec)
{
	ehdr()->e_type = ET_DYN;
	expect_reject("not an executable (ET_EXEC)");
}
END_TEST

START_TEST(bad_phentsize)
{
	ehdr()->e_phentsize = 32;
	expect_reject("program header size 32");
}
END_TEST

START_TEST(no_phdrs)
{
	ehdr()->e_phnum = 0;
	expect_reject("number of program headers");
}
END_TEST

START_TEST(phoff_overflow)
{
	ehdr()->e_phoff = UINT64_MAX - 8;
	expect_reject("program header 0");
	build(4);
	ehdr()->e_phnum = 0xfff0;   /* table far larger than the file */
	expect_reject("extends past end of file");
}
END_TEST

START_TEST(segment_offset_overflow)
{
	phdr(1)->p_offset = UINT64_MAX - 0x10;
	expect_reject("segment 1 (offset 0xffffffffffffffef");
	build(4);
	phdr(1)->p_filesz = UINT64_MAX;
	phdr(1)->p_memsz = UINT64_MAX;
	expect_reject("segment 1");
	build(4);
	phdr(0)->p_filesz = IMG_LEN;   /* offset + filesz past the end */
	phdr(0)->p_memsz = IMG_LEN;
	expect_reject("segment 0 (offset 0x200, size 0x500) extends past end of file");
}
END_TEST

START_TEST(filesz_above_memsz)
{
	phdr(1)->p_memsz = SEG1_FILE - 1;
	expect_reject("segment 1 has file size 0x100 larger than memory size 0xff");
}
END_TEST

START_TEST(segment_below_1mib)
{
	phdr(0)->p_paddr = 0x7000;   /* would overwrite the zero page */
	ehdr()->e_entry = 0x7010;
	expect_reject("segment 0 loads at 0x7000, below 1 MiB");
	build(4);
	phdr(1)->p_paddr = HIMEM_START - 0x100;   /* straddles 1 MiB */
	expect_reject("below 1 MiB");
}
END_TEST

START_TEST(segment_outside_ram)
{
	phdr(1)->p_paddr = RAM_SIZE - 0x800;   /* memsz 0x1000 runs off the end */
	ck_assert_int_eq(load(), -ENOMEM);
	ck_assert_err(err, "segment 1 [0x3fff800, +0x1000) is outside guest RAM");
	assert_guest_untouched();
	build(4);
	phdr(1)->p_paddr = UINT64_MAX - 0x10;   /* paddr + memsz wraps */
	expect_reject("outside guest RAM");
	build(4);
	phdr(1)->p_paddr = 5 * GiB;
	expect_reject("outside guest RAM");
}
END_TEST

START_TEST(entry_outside_segments)
{
	ehdr()->e_entry = 0x300000;
	expect_reject("entry point 0x300000 is not inside a loaded segment");
	build(4);
	ehdr()->e_entry = SEG0_PADDR + SEG0_SIZE;   /* one past the end */
	expect_reject("entry point");
}
END_TEST

START_TEST(pvh_entry_outside_segments)
{
	uint32_t bad = 0x500000;

	memcpy(img + OFF_NOTE + 36 + 16, &bad, 4);
	expect_reject("PVH entry point 0x500000");
}
END_TEST

START_TEST(no_loadable_segment)
{
	phdr(0)->p_type = PT_NULL;
	phdr(1)->p_type = PT_NULL;
	expect_reject("no loadable segment");
}
END_TEST

START_TEST(note_bad_namesz)
{
	put32(img + OFF_NOTE, 0xfffffff0u);
	expect_reject("namesz 4294967280 past the segment end");
}
END_TEST

START_TEST(note_bad_descsz)
{
	put32(img + OFF_NOTE + 36 + 4, 0xffffffffu);   /* PVH note's descsz */
	expect_reject("descsz 4294967295 past the segment end");
	build(4);
	put32(img + OFF_NOTE + 4, 21);   /* GNU desc runs 1 byte into the next note ... */
	ck_assert_int_lt(load(), 0);     /* ... which then is misparsed: still a clean error */
	ck_assert(err[0] != '\0');
}
END_TEST

START_TEST(note_truncated_header)
{
	phdr(2)->p_filesz = 8;
	expect_reject("is truncated");
}
END_TEST

START_TEST(note_pvh_desc_size)
{
	put32(img + OFF_NOTE + 36 + 4, 2);
	expect_reject("descsz 2, expected 4 or 8");
}
END_TEST

START_TEST(note_segment_past_file)
{
	phdr(2)->p_offset = IMG_LEN - 4;
	expect_reject("segment 2");
}
END_TEST

/* Deterministic mutation: flip bytes in the headers and notes; the loader
 * must never crash or read out of bounds (ASan build), and each result is
 * either a load or an error with a message. */
START_TEST(mutation_never_crashes)
{
	uint8_t orig[IMG_LEN];
	uint32_t rng = 12345;

	memcpy(orig, img, sizeof(img));
	for (unsigned iter = 0; iter < 3000; iter++) {
		memcpy(img, orig, sizeof(img));
		for (unsigned k = 0; k < 1 + iter % 4; k++) {
			size_t pos;

			rng = rng * 1103515245u + 12345u;
			pos = (rng >> 8) % (OFF_NOTE + 0x40);
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
	Suite *s = suite_create("boot_elf");
	TCase *tc = tcase_create("elf");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, valid_image_loads);
	tcase_add_test(tc, pvh_note_8_byte_desc);
	tcase_add_test(tc, no_pvh_note);
	tcase_add_test(tc, xen_note_of_other_type_ignored);
	tcase_add_test(tc, dispatch_elf);
	tcase_add_test(tc, dispatch_unknown);
	tcase_add_test(tc, every_truncation_rejected);
	tcase_add_test(tc, truncated_header_message);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, not_64bit);
	tcase_add_test(tc, big_endian);
	tcase_add_test(tc, wrong_machine);
	tcase_add_test(tc, not_exec);
	tcase_add_test(tc, bad_phentsize);
	tcase_add_test(tc, no_phdrs);
	tcase_add_test(tc, phoff_overflow);
	tcase_add_test(tc, segment_offset_overflow);
	tcase_add_test(tc, filesz_above_memsz);
	tcase_add_test(tc, segment_below_1mib);
	tcase_add_test(tc, segment_outside_ram);
	tcase_add_test(tc, entry_outside_segments);
	tcase_add_test(tc, pvh_entry_outside_segments);
	tcase_add_test(tc, no_loadable_segment);
	tcase_add_test(tc, note_bad_namesz);
	tcase_add_test(tc, note_bad_descsz);
	tcase_add_test(tc, note_truncated_header);
	tcase_add_test(tc, note_pvh_desc_size);
	tcase_add_test(tc, note_segment_past_file);
	tcase_add_test(tc, mutation_never_crashes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
