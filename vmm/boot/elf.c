/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_elf.c — load an ELF64 x86_64 vmlinux (ET_EXEC) into guest memory.
 *
 * The whole image is validated before a single byte is copied, so a rejected
 * image leaves guest memory unchanged. Segments load at their physical
 * addresses (p_paddr), at or above 1 MiB, entirely inside guest RAM. The PVH
 * entry comes from a Xen note (XEN_ELFNOTE_PHYS32_ENTRY) in a PT_NOTE segment.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

#define ELF_ERR(...) BOOT_ERR(err, errlen, "kernel ELF: " __VA_ARGS__)

static bool in_loaded_segment(const Elf64_Phdr *ph, unsigned n, uint64_t addr)
{
	for (unsigned i = 0; i < n; i++) {
		if (ph[i].p_type != PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (addr >= ph[i].p_paddr && addr - ph[i].p_paddr < ph[i].p_memsz)
			return true;
	}
	return false;
}

static uint64_t align4(uint64_t v)
{
	return (v + 3) & ~3ULL;
}

/* Walk the notes of one PT_NOTE segment (already checked to lie inside the
 * file). Returns 0 (setting *found and *entry if the PVH note is there) or
 * -EINVAL for a malformed note. */
static int scan_notes(const uint8_t *image, const Elf64_Phdr *ph, unsigned idx,
		      bool *found, uint64_t *entry, char *err, size_t errlen)
{
	const uint64_t start = ph->p_offset;
	const uint64_t end = ph->p_offset + ph->p_filesz;   /* checked: no overflow, <= len */
	uint64_t off = start;

	while (off < end) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off;

		if (end - off < 12) {
			ELF_ERR("note at offset 0x%" PRIx64 " in segment %u is truncated", off, idx);
			return -EINVAL;
		}
		namesz = ld_le32(image + off);
		descsz = ld_le32(image + off + 4);
		type = ld_le32(image + off + 8);
		name_off = off + 12;
		/* 32-bit sizes in 64-bit arithmetic: no overflow below. */
		if (namesz > end - name_off) {
			ELF_ERR("note at offset 0x%" PRIx64 " in segment %u has namesz %u past the segment end",
				off, idx, namesz);
			return -EINVAL;
		}
		desc_off = name_off + align4(namesz);
		if (desc_off > end || descsz > end - desc_off) {
			ELF_ERR("note at offset 0x%" PRIx64 " in segment %u has descsz %u past the segment end",
				off, idx, descsz);
			return -EINVAL;
		}
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    memcmp(image + name_off, "Xen", 4) == 0) {
			if (descsz == 4) {
				*entry = ld_le32(image + desc_off);
			} else if (descsz == 8) {
				*entry = ld_le64(image + desc_off);
			} else {
				ELF_ERR("PVH entry note (Xen, type 18) has descsz %u, expected 4 or 8", descsz);
				return -EINVAL;
			}
			*found = true;
		}
		off = desc_off + align4(descsz);
	}
	return 0;
}

int elf_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
	     struct kernel_info *ki, char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr *ph = NULL;
	uint64_t lo = UINT64_MAX, hi = 0, pvh_entry = 0;
	bool has_pvh = false;
	int ret = -EINVAL;

	if (len < sizeof(eh)) {
		ELF_ERR("file too short for the ELF header (%zu bytes)", len);
		return -EINVAL;
	}
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
		ELF_ERR("bad ELF magic");
		return -EINVAL;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		ELF_ERR("not a 64-bit ELF (class %u)", eh.e_ident[EI_CLASS]);
		return -EINVAL;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		ELF_ERR("not little-endian (data encoding %u)", eh.e_ident[EI_DATA]);
		return -EINVAL;
	}
	if (eh.e_machine != EM_X86_64) {
		ELF_ERR("machine %u is not x86_64 (%u)", eh.e_machine, EM_X86_64);
		return -EINVAL;
	}
	if (eh.e_type != ET_EXEC) {
		ELF_ERR("type %u is not an executable (ET_EXEC)", eh.e_type);
		return -EINVAL;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		ELF_ERR("program header size %u, expected %zu", eh.e_phentsize, sizeof(Elf64_Phdr));
		return -EINVAL;
	}
	if (eh.e_phnum == 0 || eh.e_phnum == PN_XNUM) {
		ELF_ERR("unsupported number of program headers (%u)", eh.e_phnum);
		return -EINVAL;
	}
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
		/* The first header that does not fit entirely in the file. */
		uint64_t first = eh.e_phoff > len ? 0 : (len - eh.e_phoff) / sizeof(Elf64_Phdr);

		ELF_ERR("program header %" PRIu64 " (table at offset 0x%" PRIx64 ") extends past end of file",
			first, (uint64_t)eh.e_phoff);
		return -EINVAL;
	}

	ph = calloc(eh.e_phnum, sizeof(*ph));
	if (!ph) {
		ELF_ERR("out of memory for %u program headers", eh.e_phnum);
		return -ENOMEM;
	}
	memcpy(ph, image + eh.e_phoff, (size_t)eh.e_phnum * sizeof(*ph));

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];

		if (p->p_type != PT_LOAD && p->p_type != PT_NOTE)
			continue;
		if (p->p_offset > len || p->p_filesz > len - p->p_offset) {
			ELF_ERR("segment %u (offset 0x%" PRIx64 ", size 0x%" PRIx64 ") extends past end of file",
				i, (uint64_t)p->p_offset, (uint64_t)p->p_filesz);
			goto out;
		}
		if (p->p_type == PT_NOTE) {
			ret = scan_notes(image, p, i, &has_pvh, &pvh_entry, err, errlen);
			if (ret)
				goto out;
			ret = -EINVAL;
			continue;
		}
		if (p->p_filesz > p->p_memsz) {
			ELF_ERR("segment %u has file size 0x%" PRIx64 " larger than memory size 0x%" PRIx64,
				i, (uint64_t)p->p_filesz, (uint64_t)p->p_memsz);
			goto out;
		}
		if (p->p_memsz == 0)
			continue;
		if (p->p_paddr < HIMEM_START) {
			ELF_ERR("segment %u loads at 0x%" PRIx64 ", below 1 MiB (reserved for boot structures)",
				i, (uint64_t)p->p_paddr);
			goto out;
		}
		if (p->p_paddr + p->p_memsz < p->p_paddr ||
		    !guest_mem_ptr(mem, p->p_paddr, p->p_memsz)) {
			ELF_ERR("segment %u [0x%" PRIx64 ", +0x%" PRIx64 ") is outside guest RAM",
				i, (uint64_t)p->p_paddr, (uint64_t)p->p_memsz);
			ret = -ENOMEM;
			goto out;
		}
		if (p->p_paddr < lo)
			lo = p->p_paddr;
		if (p->p_paddr + p->p_memsz > hi)
			hi = p->p_paddr + p->p_memsz;
	}
	if (hi == 0) {
		ELF_ERR("no loadable segment");
		goto out;
	}
	if (!in_loaded_segment(ph, eh.e_phnum, eh.e_entry)) {
		ELF_ERR("entry point 0x%" PRIx64 " is not inside a loaded segment", (uint64_t)eh.e_entry);
		goto out;
	}
	if (has_pvh) {
		if (pvh_entry >= (1ULL << 32) || !in_loaded_segment(ph, eh.e_phnum, pvh_entry)) {
			ELF_ERR("PVH entry point 0x%" PRIx64 " is not inside a loaded segment below 4 GiB",
				pvh_entry);
			goto out;
		}
	}

	/* Everything checked: copy the segments and clear their bss tails. */
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		uint8_t *dst;

		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		dst = guest_mem_ptr(mem, p->p_paddr, p->p_memsz);
		memcpy(dst, image + p->p_offset, p->p_filesz);
		memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	}

	memset(ki, 0, sizeof(*ki));
	ki->kind = KERNEL_ELF;
	ki->entry64 = eh.e_entry;
	ki->has_pvh = has_pvh;
	ki->pvh_entry = has_pvh ? pvh_entry : 0;
	ki->load_start = lo;
	ki->load_end = hi;
	ki->setup_header_len = 0;
	ki->initrd_addr_max = (uint32_t)(MMIO_GAP_START - 1);
	ki->cmdline_size = CMDLINE_CAPACITY - 1;
	ret = 0;
out:
	free(ph);
	return ret;
}
