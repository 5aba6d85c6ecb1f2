/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_params.c — the Linux zero page (struct boot_params at ZERO_PAGE_ADDR)
 * and the command line it points to, for the 64-bit boot protocol entry.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

#define BOOT_HEAP_END_PTR     0xfe00     /* end of the setup heap, relative to the real-mode base */
#define BOOT_KERNEL_ALIGNMENT 0x1000000

int boot_cmdline_check(const struct guest_mem *mem, const struct boot_layout *bl,
		       const char *cmdline, size_t limit, size_t *lenp)
{
	size_t len = strlen(cmdline);

	if (len > CMDLINE_CAPACITY - 1) {
		log_error("kernel command line is %zu bytes, longer than the %llu reserved for it",
			  len, CMDLINE_CAPACITY - 1);
		return -E2BIG;
	}
	if (len > limit) {
		log_error("kernel command line is %zu bytes, longer than the kernel's cmdline_size %zu",
			  len, limit);
		return -E2BIG;
	}
	if (!guest_mem_ptr(mem, bl->cmdline_addr, len + 1)) {
		log_error("kernel command line at 0x%" PRIx64 " (%zu bytes) is outside guest RAM",
			  bl->cmdline_addr, len + 1);
		return -EFAULT;
	}
	if (bl->initrd_size &&
	    (bl->initrd_addr + bl->initrd_size < bl->initrd_addr ||
	     !guest_mem_ptr(mem, bl->initrd_addr, bl->initrd_size))) {
		log_error("initrd [0x%" PRIx64 ", +0x%" PRIx64 ") is outside guest RAM",
			  bl->initrd_addr, bl->initrd_size);
		return -EFAULT;
	}
	*lenp = len;
	return 0;
}

int bootparams_write(const struct guest_mem *mem, const struct kernel_info *ki,
		     const struct boot_layout *bl, const char *cmdline)
{
	struct boot_params bp;
	size_t len, limit = CMDLINE_CAPACITY - 1;
	int n, ret;

	if (ki->kind == KERNEL_BZIMAGE)
		limit = ki->cmdline_size;
	ret = boot_cmdline_check(mem, bl, cmdline, limit, &len);
	if (ret)
		return ret;
	if (bl->cmdline_addr >= (1ULL << 32)) {
		log_error("kernel command line at 0x%" PRIx64 " is above 4 GiB", bl->cmdline_addr);
		return -EINVAL;
	}
	if (!guest_mem_ptr(mem, ZERO_PAGE_ADDR, sizeof(bp))) {
		log_error("zero page at 0x%llx is outside guest RAM", ZERO_PAGE_ADDR);
		return -EFAULT;
	}

	memset(&bp, 0, sizeof(bp));
	if (ki->kind == KERNEL_BZIMAGE && ki->setup_header_len) {
		size_t hl = ki->setup_header_len;

		if (hl > sizeof(ki->setup_header))
			hl = sizeof(ki->setup_header);
		memcpy((uint8_t *)&bp + offsetof(struct boot_params, hdr), ki->setup_header, hl);
	} else {
		bp.hdr.boot_flag = BOOT_FLAG_MAGIC;
		bp.hdr.header = SETUP_HDR_MAGIC;
		bp.hdr.version = BOOT_PROTO_MIN;
		bp.hdr.kernel_alignment = BOOT_KERNEL_ALIGNMENT;
		bp.hdr.cmdline_size = (uint32_t)len;
	}
	bp.hdr.type_of_loader = LOADER_TYPE_UNKNOWN;
	bp.hdr.loadflags |= LOADFLAG_LOADED_HIGH | LOADFLAG_CAN_USE_HEAP;
	bp.hdr.heap_end_ptr = BOOT_HEAP_END_PTR;
	bp.hdr.cmd_line_ptr = (uint32_t)bl->cmdline_addr;
	bp.ext_cmd_line_ptr = 0;
	if (bl->initrd_size) {
		bp.hdr.ramdisk_image = (uint32_t)bl->initrd_addr;
		bp.ext_ramdisk_image = (uint32_t)(bl->initrd_addr >> 32);
		bp.hdr.ramdisk_size = (uint32_t)bl->initrd_size;
		bp.ext_ramdisk_size = (uint32_t)(bl->initrd_size >> 32);
	}

	bp.acpi_rsdp_addr = bl->rsdp_addr;

	n = e820_build(mem, bp.e820_table, E820_MAX);
	if (n < 0)
		return n;
	bp.e820_entries = (uint8_t)n;

	/* Everything checked: write the command line and the zero page. */
	guest_mem_write(mem, bl->cmdline_addr, cmdline, len + 1);
	guest_mem_write(mem, ZERO_PAGE_ADDR, &bp, sizeof(bp));
	return 0;
}
