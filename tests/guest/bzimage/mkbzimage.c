/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mkbzimage — wrap the wisp test guest (an ELF) as a Linux bzImage.
 *
 *   mkbzimage GUEST.elf SETUP.bin PAYLOAD.bin OUT.bzImage
 *
 * SETUP.bin is setup.S cut out at offset 0 (real-mode code from 0x280 on),
 * PAYLOAD.bin is trampoline.S (startup_32 at 0, startup_64 at 0x200). The
 * bzImage is:
 *   [setup sectors: boot sector + setup header (0x1f1-0x26b) + setup.S code]
 *   [payload: trampoline, padded to 16 | table | guest segment bytes]
 * The table (read by trampoline.S) is a 40-byte header {magic "WBZ1", nseg,
 * total bytes, guest entry, guest lo, guest hi} and one 32-byte record per
 * PT_LOAD {paddr, filesz, memsz, offset of the bytes from the table}.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_START        0x1f1
#define HDR_END          0x280     /* setup.S's setup_start; the jump at 0x200 goes here */
#define ENTRY64_OFFSET   0x200
#define PREF_ADDRESS     0x1000000ULL   /* 16 MiB: clear of the guest at 1 MiB */
#define KERNEL_ALIGNMENT 0x200000u      /* 2 MiB */
#define SCRATCH_SIZE     0x4000u        /* trampoline.S: page tables + stack */
#define ONE_GIB          0x40000000ULL  /* what the trampoline identity-maps */
#define MAX_SEGS         16
#define TBL_MAGIC        0x315a4257u    /* "WBZ1" */
#define TBL_HDR          40
#define TBL_REC          32

struct blob {
	uint8_t *data;
	size_t len;
};

struct seg {
	uint64_t paddr, filesz, memsz, file_off;
};

static const char *prog = "mkbzimage";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static struct blob read_file(const char *path)
{
	struct blob b = { 0 };
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		die("%s: cannot determine the size: %s", path, strerror(errno));
	b.len = (size_t)n;
	b.data = malloc(b.len ? b.len : 1);
	if (!b.data)
		die("%s: out of memory", path);
	if (fread(b.data, 1, b.len, f) != b.len)
		die("%s: short read", path);
	fclose(f);
	return b;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The guest's PT_LOAD segments, checked against the file and the 1 GiB the
 * trampoline maps. Returns the count; fills entry, lo, hi. */
static unsigned elf_segments(const char *path, const struct blob *b, struct seg *segs,
			     uint64_t *entry, uint64_t *lo, uint64_t *hi)
{
	Elf64_Ehdr eh;
	unsigned n = 0;

	if (b->len < sizeof(eh))
		die("%s: too short for an ELF header", path);
	memcpy(&eh, b->data, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG))
		die("%s: not an ELF file", path);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64)
		die("%s: not a little-endian x86-64 ELF64", path);
	if (eh.e_phentsize != sizeof(Elf64_Phdr))
		die("%s: e_phentsize %u (expected %zu)", path, eh.e_phentsize, sizeof(Elf64_Phdr));
	if (eh.e_phoff > b->len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > b->len - eh.e_phoff)
		die("%s: program headers extend past the end of the file", path);

	*lo = UINT64_MAX;
	*hi = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, b->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (n == MAX_SEGS)
			die("%s: more than %d PT_LOAD segments", path, MAX_SEGS);
		if (ph.p_filesz > ph.p_memsz)
			die("%s: segment %u: filesz 0x%" PRIx64 " > memsz 0x%" PRIx64, path, i,
			    (uint64_t)ph.p_filesz, (uint64_t)ph.p_memsz);
		if (ph.p_offset > b->len || ph.p_filesz > b->len - ph.p_offset)
			die("%s: segment %u extends past the end of the file", path, i);
		if (ph.p_paddr >= ONE_GIB || ph.p_memsz > ONE_GIB - ph.p_paddr)
			die("%s: segment %u [0x%" PRIx64 ", +0x%" PRIx64 ") is not below 1 GiB "
			    "(the trampoline maps only the first GiB)", path, i,
			    (uint64_t)ph.p_paddr, (uint64_t)ph.p_memsz);
		segs[n].paddr = ph.p_paddr;
		segs[n].filesz = ph.p_filesz;
		segs[n].memsz = ph.p_memsz;
		segs[n].file_off = ph.p_offset;
		if (ph.p_paddr < *lo)
			*lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > *hi)
			*hi = ph.p_paddr + ph.p_memsz;
		n++;
	}
	if (n == 0)
		die("%s: no PT_LOAD segments", path);
	if (eh.e_entry < *lo || eh.e_entry >= *hi)
		die("%s: e_entry 0x%" PRIx64 " is outside the loaded segments", path,
		    (uint64_t)eh.e_entry);
	if (*lo < 0x100000)
		die("%s: guest starts at 0x%" PRIx64 ", below 1 MiB (boot structures live there)",
		    path, *lo);
	if (*hi > PREF_ADDRESS)
		die("%s: guest ends at 0x%" PRIx64 ", over the bzImage's load address 0x%llx", path,
		    *hi, (unsigned long long)PREF_ADDRESS);
	*entry = eh.e_entry;
	return n;
}

/* Offset of "wisp-testguest..." in the setup code, for kernel_version. */
static size_t find_version(const struct blob *setup)
{
	static const char tag[] = "wisp-testguest";

	for (size_t i = HDR_END; i + sizeof(tag) <= setup->len; i++)
		if (!memcmp(setup->data + i, tag, sizeof(tag) - 1))
			return i;
	return 0;
}

int main(int argc, char **argv)
{
	struct blob guest, setup, tramp;
	struct seg segs[MAX_SEGS];
	uint64_t entry, lo, hi, total;
	size_t setup_len, tramp_len, table_len, payload_len, data_off, ver, need, init_size;
	unsigned nseg, setup_sects;
	uint8_t *img, *hdr, *table;
	FILE *out;

	if (argc != 5) {
		fprintf(stderr, "usage: %s GUEST.elf SETUP.bin PAYLOAD.bin OUT.bzImage\n", prog);
		return 2;
	}
	guest = read_file(argv[1]);
	setup = read_file(argv[2]);
	tramp = read_file(argv[3]);

	nseg = elf_segments(argv[1], &guest, segs, &entry, &lo, &hi);

	if (setup.len <= HDR_END)
		die("%s: %zu bytes: no setup code after the header area (0x%x)", argv[2], setup.len,
		    HDR_END);
	for (size_t i = HDR_START; i < HDR_END; i++)
		if (setup.data[i])
			die("%s: byte 0x%zx is not zero: the setup header area 0x%x-0x%x must be free",
			    argv[2], i, HDR_START, HDR_END);
	setup_len = align_up(setup.len, 512);
	setup_sects = (unsigned)(setup_len / 512 - 1);
	if (setup_sects > 63)
		die("%s: %zu bytes is more than 64 sectors", argv[2], setup.len);
	if (tramp.len <= ENTRY64_OFFSET)
		die("%s: %zu bytes: too small to have the 64-bit entry at 0x%x", argv[3], tramp.len,
		    ENTRY64_OFFSET);

	/* Payload: trampoline | table | segment bytes (each 16-byte aligned). */
	tramp_len = align_up(tramp.len, 16);
	table_len = TBL_HDR + (size_t)nseg * TBL_REC;
	data_off = align_up(table_len, 16);
	for (unsigned i = 0; i < nseg; i++)
		data_off = align_up(data_off + segs[i].filesz, 16);
	total = data_off;
	payload_len = tramp_len + (size_t)total;

	/* init_size: what the payload needs from its load address L before it
	 * has moved out of the guest's way. At pref_address that is the payload
	 * and its scratch (need). Loaded lower (wisp falls back to 1 MiB when
	 * pref_address does not fit), it copies itself to page_align(max(hi,
	 * L + need)) first; counting that copy for the lowest L (1 MiB) keeps a
	 * loader from putting the initrd where the copy or the guest will be. */
	need = align_up(payload_len, 4096) + SCRATCH_SIZE;
	init_size = align_up(hi, 4096) - 0x100000;
	if (init_size < need)
		init_size = need;
	init_size += need;

	img = calloc(1, setup_len + payload_len);
	if (!img)
		die("out of memory");
	memcpy(img, setup.data, setup.len);
	memcpy(img + setup_len, tramp.data, tramp.len);
	table = img + setup_len + tramp_len;
	put32(table + 0, TBL_MAGIC);
	put32(table + 4, nseg);
	put64(table + 8, total);
	put64(table + 16, entry);
	put64(table + 24, lo);
	put64(table + 32, hi);
	data_off = align_up(table_len, 16);
	for (unsigned i = 0; i < nseg; i++) {
		uint8_t *r = table + TBL_HDR + i * TBL_REC;

		put64(r + 0, segs[i].paddr);
		put64(r + 8, segs[i].filesz);
		put64(r + 16, segs[i].memsz);
		put64(r + 24, data_off);
		memcpy(table + data_off, guest.data + segs[i].file_off, segs[i].filesz);
		data_off = align_up(data_off + segs[i].filesz, 16);
	}

	/* The setup header (Documentation/arch/x86/boot.rst), protocol 2.15. */
	hdr = img;
	hdr[0x1f1] = (uint8_t)setup_sects;
	put32(hdr + 0x1f4, (uint32_t)((payload_len + 15) / 16));   /* syssize */
	put16(hdr + 0x1fe, 0xaa55);                                /* boot_flag */
	hdr[0x200] = 0xeb;                                         /* jmp short setup_start: */
	hdr[0x201] = (uint8_t)(HDR_END - 0x202);                   /*   also the header's length */
	memcpy(hdr + 0x202, "HdrS", 4);
	put16(hdr + 0x206, 0x020f);                                /* version */
	ver = find_version(&setup);
	if (ver)
		put16(hdr + 0x20e, (uint16_t)(ver - 0x200));       /* kernel_version */
	hdr[0x211] = 0x01;                                         /* loadflags: LOADED_HIGH */
	put16(hdr + 0x212, 0x8000);                                /* setup_move_size */
	put32(hdr + 0x214, 0x100000);                              /* code32_start */
	put32(hdr + 0x22c, (uint32_t)(ONE_GIB - 1));               /* initrd_addr_max */
	put32(hdr + 0x230, KERNEL_ALIGNMENT);                      /* kernel_alignment */
	hdr[0x234] = 1;                                            /* relocatable_kernel */
	hdr[0x235] = 12;                                           /* min_alignment: 4 KiB */
	put16(hdr + 0x236, 0x0001);                                /* xloadflags: XLF_KERNEL_64 */
	put32(hdr + 0x238, 2047);                                  /* cmdline_size */
	put64(hdr + 0x258, PREF_ADDRESS);                          /* pref_address */
	put32(hdr + 0x260, (uint32_t)init_size);                   /* init_size */

	out = fopen(argv[4], "wb");
	if (!out)
		die("%s: %s", argv[4], strerror(errno));
	if (fwrite(img, 1, setup_len + payload_len, out) != setup_len + payload_len || fclose(out))
		die("%s: write failed: %s", argv[4], strerror(errno));
	printf("%s: %u setup sectors, payload 0x%zx bytes (init_size 0x%zx) at 0x%llx, "
	       "guest [0x%" PRIx64 ", 0x%" PRIx64 ") entry 0x%" PRIx64 " in %u segments\n",
	       argv[4], setup_sects, payload_len, init_size,
	       (unsigned long long)PREF_ADDRESS, lo, hi, entry, nseg);
	free(img);
	free(guest.data);
	free(setup.data);
	free(tramp.data);
	return 0;
}
