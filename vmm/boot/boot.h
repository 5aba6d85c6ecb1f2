/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot.h — x86_64 boot structures: pure logic over a struct guest_mem.
 *
 * Private to vmm/. Nothing here touches /dev/kvm: every function takes plain
 * inputs (a guest_mem whose regions may be malloc'd buffers in unit tests)
 * and is unit-tested in tests/unit/test_boot*.c.
 *
 * Error convention: 0 or a negative errno; functions that parse untrusted
 * images also fill `err` (errlen bytes, NUL-terminated) with a one-line
 * reason such as "kernel ELF: program header 2 extends past end of file".
 */
#ifndef WISP_VMM_BOOT_H
#define WISP_VMM_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm.h"

/* Guest-physical layout of boot structures (Firecracker's x86_64 values). */
#define BOOT_GDT_ADDR      0x500ULL
#define BOOT_IDT_ADDR      0x520ULL
#define PVH_INFO_ADDR      0x6000ULL   /* struct hvm_start_info */
#define PVH_MODLIST_ADDR   0x6040ULL   /* struct hvm_modlist_entry[1] */
#define PVH_MEMMAP_ADDR    0x7000ULL   /* struct hvm_memmap_table_entry[] (PVH only) */
#define ZERO_PAGE_ADDR     0x7000ULL   /* struct boot_params (Linux boot only) */
#define BOOT_STACK_ADDR    0x8ff0ULL
#define PML4_ADDR          0x9000ULL
#define PDPT_ADDR          0xa000ULL
#define PD_ADDR            0xb000ULL
#define CMDLINE_ADDR       0x20000ULL
#define CMDLINE_CAPACITY   4096ULL     /* bytes reserved at CMDLINE_ADDR, incl. NUL */
#define EBDA_START         0x9fc00ULL
#define MPTABLE_ADDR       EBDA_START
#define HIMEM_START        0x100000ULL /* kernels load at or above 1 MiB */

/* ---------------- kernel images ---------------- */
enum kernel_kind { KERNEL_ELF = 1, KERNEL_BZIMAGE = 2 };

struct kernel_info {
	enum kernel_kind kind;
	uint64_t entry64;       /* Linux 64-bit boot protocol entry (ELF e_entry, bzImage load+0x200) */
	bool has_pvh;           /* ELF carried XEN_ELFNOTE_PHYS32_ENTRY */
	uint64_t pvh_entry;     /* 32-bit PVH entry (valid if has_pvh) */
	uint64_t load_start;    /* lowest guest-physical byte written */
	uint64_t load_end;      /* one past the highest byte the kernel needs
	                         * (for bzImage: load address + init_size) */
	/* bzImage only: the setup header, copied to boot_params.hdr */
	uint8_t setup_header[0x290 - 0x1f1];
	size_t setup_header_len;
	uint32_t initrd_addr_max;  /* highest address the initrd may end at, inclusive */
	uint32_t cmdline_size;     /* max command line length the kernel accepts (excl. NUL) */
};

/* Detect the format (ELF magic or bzImage "HdrS"), validate it against the
 * image length and guest RAM, and copy it into guest memory. Every header
 * field is checked before use: truncated files, segments past the end of the
 * file or outside RAM, overlapping the boot structures below 1 MiB, overflow
 * in offset+size, wrong class/machine, too-old boot protocol, missing 64-bit
 * entry (XLF_KERNEL_64) — each gets its own message in err. */
int kernel_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
		struct kernel_info *ki, char *err, size_t errlen);
int elf_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
	     struct kernel_info *ki, char *err, size_t errlen);
int bzimage_load(const struct guest_mem *mem, const uint8_t *image, size_t len,
		 struct kernel_info *ki, char *err, size_t errlen);

/* Where the initrd goes: page-aligned, as high as possible in RAM below both
 * the MMIO gap and ki->initrd_addr_max (for ELF kernels: below the gap),
 * above ki->load_end. -ENOMEM with a message when it does not fit. */
int initrd_place(const struct guest_mem *mem, const struct kernel_info *ki,
		 uint64_t initrd_size, uint64_t *addr, char *err, size_t errlen);

/* ---------------- command line ---------------- */
struct cmdline {
	char buf[VM_CMDLINE_MAX];
	size_t len;
};
void cmdline_init(struct cmdline *c);
/* Append " word" (space-separated); -E2BIG if it would not fit. */
int cmdline_append(struct cmdline *c, const char *word);
/* Append "virtio_mmio.device=4K@0x<addr>:<irq>". */
int cmdline_add_virtio_mmio(struct cmdline *c, uint64_t addr, uint64_t size, unsigned irq);
/* Append what a root drive adds: "root=/dev/vdX" or "root=PARTUUID=<id>",
 * then " ro" or " rw". `index` is the drive's position (0 -> vda). */
int cmdline_add_root(struct cmdline *c, unsigned index, const char *partuuid, bool read_only);

/* ---------------- memory map ---------------- */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX      128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* Firecracker's map: [0, EBDA_START) RAM, [1 MiB, end of low RAM) RAM,
 * [4 GiB, end) RAM when the guest has memory above the gap. Returns the
 * number of entries written (<= max) or -E2BIG. */
int e820_build(const struct guest_mem *mem, struct e820_entry *out, unsigned max);

/* ---------------- zero page / PVH start info ---------------- */
struct boot_layout {
	uint64_t cmdline_addr;   /* CMDLINE_ADDR */
	size_t cmdline_len;      /* excluding NUL */
	uint64_t initrd_addr;    /* 0 if none */
	uint64_t initrd_size;
	uint64_t rsdp_addr;      /* ACPI RSDP (boot_params.acpi_rsdp_addr,
	                          * hvm_start_info.rsdp_paddr); 0: no ACPI tables */
};

/* Write struct boot_params at ZERO_PAGE_ADDR (Linux boot protocol):
 * setup header (copied from a bzImage, or a default one for ELF: boot_flag,
 * "HdrS", type_of_loader 0xff, kernel_alignment), cmd_line_ptr/cmdline_size,
 * ramdisk_image/size, e820 table, acpi_rsdp_addr. Writes the command line too. */
int bootparams_write(const struct guest_mem *mem, const struct kernel_info *ki,
		     const struct boot_layout *bl, const char *cmdline);
/* Write struct hvm_start_info at PVH_INFO_ADDR, one module (the initrd) at
 * PVH_MODLIST_ADDR when present, the memory map at PVH_MEMMAP_ADDR, the RSDP
 * address (bl->rsdp_addr) and the command line at bl->cmdline_addr. */
int pvh_write(const struct guest_mem *mem, const struct boot_layout *bl, const char *cmdline);

/* ---------------- MP table ---------------- */
/* MP floating pointer + configuration table at MPTABLE_ADDR: one processor
 * entry per vCPU (APIC id = index, BSP = 0), an ISA bus, one IOAPIC (id =
 * nr_vcpus, IOAPIC_ADDR), interrupt entries for IRQ 0..23, LINT0 ExtINT and
 * LINT1 NMI; both checksums valid. -E2BIG when it would not fit below 1 MiB. */
int mptable_write(const struct guest_mem *mem, unsigned nr_vcpus);

/* ---------------- page tables and GDT ---------------- */
/* Identity-map the first 1 GiB with 2 MiB pages at PML4/PDPT/PD_ADDR. */
int pagetables_write(const struct guest_mem *mem);

/* The boot GDT: [0] null, [1] code, [2] data, [3] TSS. For Linux 64-bit
 * boot the code segment is 64-bit; for PVH it is a flat 32-bit one. */
void gdt_build(uint64_t gdt[4], bool pvh);
int gdt_write(const struct guest_mem *mem, const uint64_t gdt[4]);
void gdt_to_segment(uint64_t entry, unsigned index, struct kvm_segment *seg);

/* Registers for the first instruction of vCPU 0 (the BSP).
 * Linux 64-bit: long mode, paging on (PML4_ADDR), rip=entry, rsi=ZERO_PAGE_ADDR,
 * rsp=rbp=BOOT_STACK_ADDR. PVH: 32-bit protected mode, paging off, rip=entry,
 * rbx=PVH_INFO_ADDR. Both: rflags=2, GDT/IDT at BOOT_GDT_ADDR/BOOT_IDT_ADDR. */
void boot_regs_linux64(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs);
void boot_regs_pvh(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs);

/* ---------------- CPUID and MSRs ---------------- */
/* Normalise the host's supported CPUID (as from KVM_GET_SUPPORTED_CPUID) for
 * vCPU `vcpu_id` of `nr_vcpus`: initial APIC id in leaf 1 EBX[31:24] and the
 * x2APIC id in leaves 0xB/0x1F EDX, logical count, HTT, topology levels
 * (threads per core 2 with smt else 1), leaf 4 core counts, hypervisor bit
 * (leaf 1 ECX[31]), the KVM leaves 0x40000000 ("KVMKVMKVM\0\0\0") and
 * 0x40000001, and clears what a guest must not use (leaf 6 power features,
 * leaf 0xA perfmon). Operates in place on entries[0..n). */
void cpuid_normalize(struct kvm_cpuid_entry2 *entries, unsigned n,
		     unsigned vcpu_id, unsigned nr_vcpus, bool smt);

/* The MSRs set on every vCPU before it runs (Firecracker's list: SYSENTER_*,
 * STAR, CSTAR, KERNEL_GS_BASE, SYSCALL_MASK, LSTAR, TSC, MISC_ENABLE with
 * fast strings, MTRRdefType write-back enabled). Returns the count written. */
unsigned boot_msrs(struct kvm_msr_entry *out, unsigned max);

#endif /* WISP_VMM_BOOT_H */
