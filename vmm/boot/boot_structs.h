/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_structs.h — on-guest structures of the x86 boot paths (private to vmm/).
 *
 * Layouts written from the specifications:
 *  - Linux x86 boot protocol (Documentation/arch/x86/boot.rst) and zero page
 *    (Documentation/arch/x86/zero-page.rst): struct setup_header, struct
 *    boot_params.
 *  - Xen PVH start of day (xen/include/public/arch-x86/hvm/start_info.h):
 *    hvm_start_info, hvm_modlist_entry, hvm_memmap_table_entry.
 *  - Intel MultiProcessor Specification 1.4, chapter 4: floating pointer,
 *    configuration table header and its base entries.
 * All are little-endian, packed; the _Static_asserts pin every offset the
 * code uses to the documented value.
 */
#ifndef WISP_VMM_BOOT_STRUCTS_H
#define WISP_VMM_BOOT_STRUCTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "boot.h"

/* Fill a loader's error buffer (a one-line reason), if the caller gave one. */
#define BOOT_ERR(err, errlen, ...) \
	do { \
		if ((err) && (errlen)) \
			snprintf((err), (errlen), __VA_ARGS__); \
	} while (0)

/* boot_params.c: shared by bootparams_write and pvh_write. Checks that the
 * command line is at most min(limit, CMDLINE_CAPACITY - 1) bytes and fits in
 * RAM at bl->cmdline_addr, and that the initrd (if any) lies in RAM. */
int boot_cmdline_check(const struct guest_mem *mem, const struct boot_layout *bl,
		       const char *cmdline, size_t limit, size_t *lenp);

#define BS_CHECK_OFF(type, field, off) \
	_Static_assert(offsetof(struct type, field) == (off), #type "." #field " offset")
#define BS_CHECK_SIZE(type, size) \
	_Static_assert(sizeof(struct type) == (size), #type " size")

/* ---------------- Linux boot protocol ---------------- */
#define BOOT_FLAG_MAGIC      0xAA55
#define SETUP_HDR_MAGIC      0x53726448u   /* "HdrS" little-endian */
#define BOOT_PROTO_MIN       0x020C        /* 2.12: xloadflags */
#define LOADFLAG_LOADED_HIGH 0x01
#define LOADFLAG_CAN_USE_HEAP 0x80
#define XLF_KERNEL_64        0x0001
#define LOADER_TYPE_UNKNOWN  0xFF

/* Offsets inside a bzImage file (== offsets inside boot_params). */
#define BZ_OFF_SETUP_SECTS     0x1f1
#define BZ_OFF_SYSSIZE         0x1f4
#define BZ_OFF_BOOT_FLAG       0x1fe
#define BZ_OFF_JUMP            0x200
#define BZ_OFF_HEADER          0x202
#define BZ_OFF_VERSION         0x206
#define BZ_OFF_LOADFLAGS       0x211
#define BZ_OFF_INITRD_ADDR_MAX 0x22c
#define BZ_OFF_KERNEL_ALIGN    0x230
#define BZ_OFF_RELOCATABLE     0x234
#define BZ_OFF_XLOADFLAGS      0x236
#define BZ_OFF_CMDLINE_SIZE    0x238
#define BZ_OFF_PREF_ADDRESS    0x258
#define BZ_OFF_INIT_SIZE       0x260
#define BZ_HDR_END_2_12        0x268   /* end of the header fields of protocol 2.12 */

struct setup_header {
	uint8_t  setup_sects;          /* 0x1f1 */
	uint16_t root_flags;           /* 0x1f2 */
	uint32_t syssize;              /* 0x1f4 */
	uint16_t ram_size;             /* 0x1f8 */
	uint16_t vid_mode;             /* 0x1fa */
	uint16_t root_dev;             /* 0x1fc */
	uint16_t boot_flag;            /* 0x1fe */
	uint16_t jump;                 /* 0x200 */
	uint32_t header;               /* 0x202 */
	uint16_t version;              /* 0x206 */
	uint32_t realmode_swtch;       /* 0x208 */
	uint16_t start_sys_seg;        /* 0x20c */
	uint16_t kernel_version;       /* 0x20e */
	uint8_t  type_of_loader;       /* 0x210 */
	uint8_t  loadflags;            /* 0x211 */
	uint16_t setup_move_size;      /* 0x212 */
	uint32_t code32_start;         /* 0x214 */
	uint32_t ramdisk_image;        /* 0x218 */
	uint32_t ramdisk_size;         /* 0x21c */
	uint32_t bootsect_kludge;      /* 0x220 */
	uint16_t heap_end_ptr;         /* 0x224 */
	uint8_t  ext_loader_ver;       /* 0x226 */
	uint8_t  ext_loader_type;      /* 0x227 */
	uint32_t cmd_line_ptr;         /* 0x228 */
	uint32_t initrd_addr_max;      /* 0x22c */
	uint32_t kernel_alignment;     /* 0x230 */
	uint8_t  relocatable_kernel;   /* 0x234 */
	uint8_t  min_alignment;        /* 0x235 */
	uint16_t xloadflags;           /* 0x236 */
	uint32_t cmdline_size;         /* 0x238 */
	uint32_t hardware_subarch;     /* 0x23c */
	uint64_t hardware_subarch_data;/* 0x240 */
	uint32_t payload_offset;       /* 0x248 */
	uint32_t payload_length;       /* 0x24c */
	uint64_t setup_data;           /* 0x250 */
	uint64_t pref_address;         /* 0x258 */
	uint32_t init_size;            /* 0x260 */
	uint32_t handover_offset;      /* 0x264 */
	uint32_t kernel_info_offset;   /* 0x268 */
} __attribute__((packed));

struct boot_params {
	uint8_t  screen_info[0x40];            /* 0x000 */
	uint8_t  apm_bios_info[0x14];          /* 0x040 */
	uint8_t  _pad2[4];                     /* 0x054 */
	uint64_t tboot_addr;                   /* 0x058 */
	uint8_t  ist_info[0x10];               /* 0x060 */
	uint64_t acpi_rsdp_addr;               /* 0x070 */
	uint8_t  _pad3[8];                     /* 0x078 */
	uint8_t  hd0_info[16];                 /* 0x080 */
	uint8_t  hd1_info[16];                 /* 0x090 */
	uint8_t  sys_desc_table[0x10];         /* 0x0a0 */
	uint8_t  olpc_ofw_header[0x10];        /* 0x0b0 */
	uint32_t ext_ramdisk_image;            /* 0x0c0 */
	uint32_t ext_ramdisk_size;             /* 0x0c4 */
	uint32_t ext_cmd_line_ptr;             /* 0x0c8 */
	uint8_t  _pad4[0x13c - 0xcc];          /* 0x0cc */
	uint32_t cc_blob_address;              /* 0x13c */
	uint8_t  edid_info[0x80];              /* 0x140 */
	uint8_t  efi_info[0x20];               /* 0x1c0 */
	uint32_t alt_mem_k;                    /* 0x1e0 */
	uint32_t scratch;                      /* 0x1e4 */
	uint8_t  e820_entries;                 /* 0x1e8 */
	uint8_t  eddbuf_entries;               /* 0x1e9 */
	uint8_t  edd_mbr_sig_buf_entries;      /* 0x1ea */
	uint8_t  kbd_status;                   /* 0x1eb */
	uint8_t  secure_boot;                  /* 0x1ec */
	uint8_t  _pad5[2];                     /* 0x1ed */
	uint8_t  sentinel;                     /* 0x1ef */
	uint8_t  _pad6[1];                     /* 0x1f0 */
	struct setup_header hdr;               /* 0x1f1 */
	uint8_t  _pad7[0x290 - 0x1f1 - sizeof(struct setup_header)];
	uint32_t edd_mbr_sig_buffer[16];       /* 0x290 */
	struct e820_entry e820_table[E820_MAX];/* 0x2d0 */
	uint8_t  _pad8[48];                    /* 0xcd0 */
	uint8_t  eddbuf[6 * 82];               /* 0xd00 */
	uint8_t  _pad9[276];                   /* 0xeec */
} __attribute__((packed));

BS_CHECK_SIZE(setup_header, 0x26c - 0x1f1);
BS_CHECK_OFF(setup_header, boot_flag, 0x1fe - 0x1f1);
BS_CHECK_OFF(setup_header, header, 0x202 - 0x1f1);
BS_CHECK_OFF(setup_header, version, 0x206 - 0x1f1);
BS_CHECK_OFF(setup_header, type_of_loader, 0x210 - 0x1f1);
BS_CHECK_OFF(setup_header, loadflags, 0x211 - 0x1f1);
BS_CHECK_OFF(setup_header, ramdisk_image, 0x218 - 0x1f1);
BS_CHECK_OFF(setup_header, heap_end_ptr, 0x224 - 0x1f1);
BS_CHECK_OFF(setup_header, cmd_line_ptr, 0x228 - 0x1f1);
BS_CHECK_OFF(setup_header, initrd_addr_max, 0x22c - 0x1f1);
BS_CHECK_OFF(setup_header, kernel_alignment, 0x230 - 0x1f1);
BS_CHECK_OFF(setup_header, xloadflags, 0x236 - 0x1f1);
BS_CHECK_OFF(setup_header, cmdline_size, 0x238 - 0x1f1);
BS_CHECK_OFF(setup_header, pref_address, 0x258 - 0x1f1);
BS_CHECK_OFF(setup_header, init_size, 0x260 - 0x1f1);
BS_CHECK_OFF(setup_header, kernel_info_offset, 0x268 - 0x1f1);

BS_CHECK_SIZE(boot_params, 4096);
BS_CHECK_OFF(boot_params, tboot_addr, 0x058);
BS_CHECK_OFF(boot_params, acpi_rsdp_addr, 0x070);
BS_CHECK_OFF(boot_params, ext_ramdisk_image, 0x0c0);
BS_CHECK_OFF(boot_params, ext_ramdisk_size, 0x0c4);
BS_CHECK_OFF(boot_params, ext_cmd_line_ptr, 0x0c8);
BS_CHECK_OFF(boot_params, cc_blob_address, 0x13c);
BS_CHECK_OFF(boot_params, edid_info, 0x140);
BS_CHECK_OFF(boot_params, efi_info, 0x1c0);
BS_CHECK_OFF(boot_params, alt_mem_k, 0x1e0);
BS_CHECK_OFF(boot_params, e820_entries, 0x1e8);
BS_CHECK_OFF(boot_params, sentinel, 0x1ef);
BS_CHECK_OFF(boot_params, hdr, 0x1f1);
BS_CHECK_OFF(boot_params, edd_mbr_sig_buffer, 0x290);
BS_CHECK_OFF(boot_params, e820_table, 0x2d0);
BS_CHECK_OFF(boot_params, eddbuf, 0xd00);
_Static_assert(sizeof(struct e820_entry) == 20, "e820_entry size");
_Static_assert(sizeof(((struct kernel_info *)0)->setup_header) == 0x290 - 0x1f1,
	       "kernel_info.setup_header covers 0x1f1..0x290");

/* ---------------- Xen PVH ---------------- */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY  18
#define XEN_HVM_MEMMAP_TYPE_RAM      1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;     /* version >= 1 */
	uint32_t memmap_entries;   /* version >= 1 */
	uint32_t reserved;
} __attribute__((packed));

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
} __attribute__((packed));

BS_CHECK_SIZE(hvm_start_info, 56);
BS_CHECK_OFF(hvm_start_info, nr_modules, 12);
BS_CHECK_OFF(hvm_start_info, modlist_paddr, 16);
BS_CHECK_OFF(hvm_start_info, cmdline_paddr, 24);
BS_CHECK_OFF(hvm_start_info, rsdp_paddr, 32);
BS_CHECK_OFF(hvm_start_info, memmap_paddr, 40);
BS_CHECK_OFF(hvm_start_info, memmap_entries, 48);
BS_CHECK_SIZE(hvm_modlist_entry, 32);
BS_CHECK_OFF(hvm_modlist_entry, cmdline_paddr, 16);
BS_CHECK_SIZE(hvm_memmap_table_entry, 24);
BS_CHECK_OFF(hvm_memmap_table_entry, type, 16);
_Static_assert(PVH_MODLIST_ADDR >= PVH_INFO_ADDR + sizeof(struct hvm_start_info),
	       "modlist after start_info");
_Static_assert(PVH_MEMMAP_ADDR + E820_MAX * sizeof(struct hvm_memmap_table_entry) <= BOOT_STACK_ADDR - 0x400,
	       "PVH memory map leaves room for the boot stack");

/* ---------------- Intel MP specification 1.4 ---------------- */
#define MP_SPEC_REV          4
#define MP_ENTRY_PROCESSOR   0
#define MP_ENTRY_BUS         1
#define MP_ENTRY_IOAPIC      2
#define MP_ENTRY_IOINTR      3
#define MP_ENTRY_LOCALINTR   4
#define MP_CPU_EN            0x01
#define MP_CPU_BP            0x02
#define MP_IOAPIC_EN         0x01
#define MP_INT_INT           0
#define MP_INT_NMI           1
#define MP_INT_SMI           2
#define MP_INT_EXTINT        3
#define MP_IRQFLAG_CONFORMS  0x0000  /* polarity and trigger: conform to bus */

struct mpf_intel {              /* floating pointer structure */
	char     signature[4];  /* "_MP_" */
	uint32_t physptr;       /* configuration table address */
	uint8_t  length;        /* in 16-byte paragraphs: 1 */
	uint8_t  specification; /* 4 = version 1.4 */
	uint8_t  checksum;      /* all 16 bytes sum to 0 */
	uint8_t  feature1;      /* 0: configuration table present */
	uint8_t  feature2;      /* bit 7: IMCR present */
	uint8_t  feature3[3];
} __attribute__((packed));

struct mpc_table {              /* configuration table header */
	char     signature[4];  /* "PCMP" */
	uint16_t length;        /* base table length incl. header */
	uint8_t  spec;
	uint8_t  checksum;      /* base table sums to 0 */
	char     oem[8];
	char     product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;      /* number of base entries */
	uint32_t lapic;         /* local APIC address */
	uint16_t ext_length;
	uint8_t  ext_checksum;
	uint8_t  reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t  type;          /* 0 */
	uint8_t  apicid;
	uint8_t  apicver;
	uint8_t  cpuflag;
	uint32_t cpufeature;    /* CPU signature: stepping, model, family */
	uint32_t featureflag;   /* CPUID.1:EDX */
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;           /* 1 */
	uint8_t busid;
	char    bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t  type;          /* 2 */
	uint8_t  apicid;
	uint8_t  apicver;
	uint8_t  flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {             /* I/O interrupt (3) and local interrupt (4) entries */
	uint8_t  type;
	uint8_t  irqtype;
	uint16_t irqflag;
	uint8_t  srcbus;
	uint8_t  srcbusirq;
	uint8_t  dstapic;
	uint8_t  dstirq;        /* IOAPIC pin / LAPIC LINTn */
} __attribute__((packed));

BS_CHECK_SIZE(mpf_intel, 16);
BS_CHECK_SIZE(mpc_table, 44);
BS_CHECK_OFF(mpc_table, oemcount, 34);
BS_CHECK_OFF(mpc_table, lapic, 36);
BS_CHECK_SIZE(mpc_cpu, 20);
BS_CHECK_SIZE(mpc_bus, 8);
BS_CHECK_SIZE(mpc_ioapic, 8);
BS_CHECK_SIZE(mpc_intsrc, 8);

#define MP_NR_IOINTS    24   /* ISA IRQ 0..23 -> IOAPIC pin 0..23 */

#endif /* WISP_VMM_BOOT_STRUCTS_H */
