/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_bzimage.c — load a bzImage for the Linux 64-bit boot protocol.
 *
 * Checks the setup header (boot_flag, "HdrS", protocol >= 2.12, loaded-high,
 * XLF_KERNEL_64), copies the protected-mode kernel (file offset
 * (setup_sects + 1) * 512) to pref_address when it and init_size fit in RAM,
 * else to 1 MiB. The 64-bit entry is the load address + 0x200. The real-mode
 * setup code is not run; its header is kept for boot_params.hdr.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

#define BZ_ERR(...) BOOT_ERR(err, errlen, "kernel bzImage: " __VA_ARGS__)
#define BZ_ENTRY64_OFFSET 0x200

/* Does [addr, addr + size) lie in guest RAM (and not wrap)? */
static bool fits(const struct guest_mem *mem, uint64_t addr, uint64_t size)
{
	return addr + size >= addr && guest_mem_ptr(mem, addr, size) != NULL;
}

int bzimage_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
		 struct kernel_info *ki, char *err, size_t errlen)
{
	uint16_t version, xloadflags;
	uint8_t loadflags;
	unsigned setup_sects;
	size_t pm_off, payload, hdr_end;
	uint64_t pref, need, load;
	uint32_t init_size;

	if (len < BZ_HDR_END_2_12) {
		BZ_ERR("file too short for a setup header (%zu bytes)", len);
		return -EINVAL;
	}
	if (ld_le16(image + BZ_OFF_BOOT_FLAG) != BOOT_FLAG_MAGIC) {
		BZ_ERR("bad boot_flag 0x%04x at 0x1fe (expected 0xaa55)", ld_le16(image + BZ_OFF_BOOT_FLAG));
		return -EINVAL;
	}
	if (ld_le32(image + BZ_OFF_HEADER) != SETUP_HDR_MAGIC) {
		BZ_ERR("missing \"HdrS\" magic at 0x202");
		return -EINVAL;
	}
	version = ld_le16(image + BZ_OFF_VERSION);
	if (version < BOOT_PROTO_MIN) {
		BZ_ERR("boot protocol %u.%02u is too old (need 2.12 or later)",
		       version >> 8, version & 0xff);
		return -EINVAL;
	}
	/* The header ends at 0x202 + the jump's displacement byte at 0x201. */
	hdr_end = BZ_OFF_HEADER + (size_t)image[BZ_OFF_JUMP + 1];
	if (hdr_end < BZ_HDR_END_2_12) {
		BZ_ERR("setup header length (ends at 0x%zx) too short for protocol %u.%02u",
		       hdr_end, version >> 8, version & 0xff);
		return -EINVAL;
	}
	loadflags = image[BZ_OFF_LOADFLAGS];
	if (!(loadflags & LOADFLAG_LOADED_HIGH)) {
		BZ_ERR("not a bzImage (loadflags 0x%02x lacks LOADED_HIGH)", loadflags);
		return -EINVAL;
	}
	xloadflags = ld_le16(image + BZ_OFF_XLOADFLAGS);
	if (!(xloadflags & XLF_KERNEL_64)) {
		BZ_ERR("no 64-bit entry point (xloadflags 0x%04x lacks XLF_KERNEL_64)", xloadflags);
		return -EINVAL;
	}
	setup_sects = image[BZ_OFF_SETUP_SECTS];
	if (setup_sects == 0)
		setup_sects = 4;
	pm_off = (size_t)(setup_sects + 1) * 512;
	if (pm_off >= len) {
		BZ_ERR("setup_sects %u puts the protected-mode kernel (offset 0x%zx) past the end of the file (%zu bytes)",
		       setup_sects, pm_off, len);
		return -EINVAL;
	}
	payload = len - pm_off;
	if (payload <= BZ_ENTRY64_OFFSET) {
		BZ_ERR("protected-mode kernel is %zu bytes, too small to hold the 64-bit entry at +0x200",
		       payload);
		return -EINVAL;
	}
	init_size = ld_le32(image + BZ_OFF_INIT_SIZE);
	need = init_size > payload ? init_size : payload;

	pref = ld_le64(image + BZ_OFF_PREF_ADDRESS);
	if (pref >= HIMEM_START && (pref & 0xfff) == 0 && fits(mem, pref, need))
		load = pref;
	else
		load = HIMEM_START;
	if (!fits(mem, load, need)) {
		BZ_ERR("kernel needs 0x%" PRIx64 " bytes at 0x%" PRIx64
		       " (init_size 0x%x, payload 0x%zx): does not fit in guest RAM",
		       need, load, init_size, payload);
		return -ENOMEM;
	}

	/* Everything checked: copy the protected-mode kernel. */
	memcpy(guest_mem_ptr(mem, load, payload), image + pm_off, payload);

	memset(ki, 0, sizeof(*ki));
	ki->kind = KERNEL_BZIMAGE;
	ki->entry64 = load + BZ_ENTRY64_OFFSET;
	ki->has_pvh = false;
	ki->load_start = load;
	ki->load_end = load + need;
	if (hdr_end > 0x290)
		hdr_end = 0x290;
	ki->setup_header_len = hdr_end - BZ_OFF_SETUP_SECTS;
	memcpy(ki->setup_header, image + BZ_OFF_SETUP_SECTS, ki->setup_header_len);
	ki->initrd_addr_max = ld_le32(image + BZ_OFF_INITRD_ADDR_MAX);
	ki->cmdline_size = ld_le32(image + BZ_OFF_CMDLINE_SIZE);
	return 0;
}
