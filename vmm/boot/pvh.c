/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_pvh.c — the PVH start of day: struct hvm_start_info at PVH_INFO_ADDR,
 * the initrd as module 0 at PVH_MODLIST_ADDR, the memory map at
 * PVH_MEMMAP_ADDR and the command line.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot.h"
#include "boot_structs.h"

int pvh_write(const struct guest_mem *mem, const struct boot_layout *bl, const char *cmdline)
{
	struct e820_entry e820[E820_MAX];
	struct hvm_memmap_table_entry map[E820_MAX];
	struct hvm_start_info si;
	struct hvm_modlist_entry mod;
	size_t len;
	int n, ret;

	ret = boot_cmdline_check(mem, bl, cmdline, CMDLINE_CAPACITY - 1, &len);
	if (ret)
		return ret;
	n = e820_build(mem, e820, E820_MAX);
	if (n < 0)
		return n;
	if (!guest_mem_ptr(mem, PVH_INFO_ADDR, sizeof(si)) ||
	    !guest_mem_ptr(mem, PVH_MODLIST_ADDR, sizeof(mod)) ||
	    !guest_mem_ptr(mem, PVH_MEMMAP_ADDR, (uint64_t)n * sizeof(map[0]))) {
		log_error("PVH start info at 0x%llx..0x%llx is outside guest RAM",
			  PVH_INFO_ADDR, PVH_MEMMAP_ADDR + (uint64_t)n * sizeof(map[0]));
		return -EFAULT;
	}

	memset(map, 0, sizeof(map));
	for (int i = 0; i < n; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type == E820_RAM ? XEN_HVM_MEMMAP_TYPE_RAM
						       : XEN_HVM_MEMMAP_TYPE_RESERVED;
	}

	memset(&si, 0, sizeof(si));
	si.magic = XEN_HVM_START_MAGIC_VALUE;
	si.version = 1;
	si.flags = 0;
	si.cmdline_paddr = bl->cmdline_addr;
	si.rsdp_paddr = bl->rsdp_addr;
	si.memmap_paddr = PVH_MEMMAP_ADDR;
	si.memmap_entries = (uint32_t)n;
	memset(&mod, 0, sizeof(mod));
	if (bl->initrd_size) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_ADDR;
		mod.paddr = bl->initrd_addr;
		mod.size = bl->initrd_size;
	}

	/* Everything checked: write. */
	guest_mem_write(mem, bl->cmdline_addr, cmdline, len + 1);
	guest_mem_write(mem, PVH_MEMMAP_ADDR, map, (uint64_t)n * sizeof(map[0]));
	guest_mem_write(mem, PVH_MODLIST_ADDR, &mod, sizeof(mod));
	guest_mem_write(mem, PVH_INFO_ADDR, &si, sizeof(si));
	return 0;
}
