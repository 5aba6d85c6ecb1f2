/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_paging.c — identity page tables, the boot GDT, and the BSP's first
 * registers for the Linux 64-bit entry (long mode) and the PVH entry
 * (32-bit protected mode, paging off).
 */
#include <errno.h>
#include <string.h>

#include "boot.h"

#define PTE_PRESENT 0x1ULL
#define PTE_RW      0x2ULL
#define PTE_PS      0x80ULL
#define PAGE_2M     0x200000ULL

#define X86_CR0_PE  0x1ULL
#define X86_CR0_ET  0x10ULL
#define X86_CR0_PG  0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME    0x100ULL
#define EFER_LMA    0x400ULL

#define GDT_ENTRIES 4
#define GDT_CODE    1
#define GDT_DATA    2
#define GDT_TSS     3

int pagetables_write(const struct guest_mem *mem)
{
	uint64_t pml4[512], pdpt[512], pd[512];

	if (!guest_mem_ptr(mem, PML4_ADDR, sizeof(pml4)) ||
	    !guest_mem_ptr(mem, PDPT_ADDR, sizeof(pdpt)) ||
	    !guest_mem_ptr(mem, PD_ADDR, sizeof(pd))) {
		log_error("page tables at 0x%llx..0x%llx are outside guest RAM",
			  PML4_ADDR, PD_ADDR + sizeof(pd));
		return -EFAULT;
	}
	memset(pml4, 0, sizeof(pml4));
	memset(pdpt, 0, sizeof(pdpt));
	pml4[0] = PDPT_ADDR | PTE_PRESENT | PTE_RW;
	pdpt[0] = PD_ADDR | PTE_PRESENT | PTE_RW;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i * PAGE_2M) | PTE_PRESENT | PTE_RW | PTE_PS;
	guest_mem_write(mem, PML4_ADDR, pml4, sizeof(pml4));
	guest_mem_write(mem, PDPT_ADDR, pdpt, sizeof(pdpt));
	guest_mem_write(mem, PD_ADDR, pd, sizeof(pd));
	return 0;
}

/* A segment descriptor from (flags << 8 | access) as in 0xa09b, base, limit. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

void gdt_build(uint64_t gdt[4], bool pvh)
{
	gdt[0] = 0;
	if (pvh) {
		gdt[GDT_CODE] = gdt_entry(0xc09b, 0, 0xfffff);  /* 32-bit flat code */
		gdt[GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
		gdt[GDT_TSS] = gdt_entry(0x008b, 0, 0x67);
	} else {
		gdt[GDT_CODE] = gdt_entry(0xa09b, 0, 0xfffff);  /* 64-bit code (L) */
		gdt[GDT_DATA] = gdt_entry(0xc093, 0, 0xfffff);
		gdt[GDT_TSS] = gdt_entry(0x808b, 0, 0xfffff);
	}
}

int gdt_write(const struct guest_mem *mem, const uint64_t gdt[4])
{
	if (guest_mem_write(mem, BOOT_GDT_ADDR, gdt, GDT_ENTRIES * sizeof(uint64_t))) {
		log_error("GDT at 0x%llx is outside guest RAM", BOOT_GDT_ADDR);
		return -EFAULT;
	}
	return 0;
}

void gdt_to_segment(uint64_t entry, unsigned index, struct kvm_segment *seg)
{
	uint32_t limit = (uint32_t)((entry & 0xffff) | ((entry >> 32) & 0xf0000));

	memset(seg, 0, sizeof(*seg));
	seg->base = ((entry >> 16) & 0xffffff) | ((entry >> 32) & 0xff000000);
	seg->type = (entry >> 40) & 0xf;
	seg->s = (entry >> 44) & 1;
	seg->dpl = (entry >> 45) & 3;
	seg->present = (entry >> 47) & 1;
	seg->avl = (entry >> 52) & 1;
	seg->l = (entry >> 53) & 1;
	seg->db = (entry >> 54) & 1;
	seg->g = (entry >> 55) & 1;
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->selector = (uint16_t)(index * 8);
	seg->unusable = !seg->present;
}

static void set_segments(struct kvm_sregs *sregs, bool pvh)
{
	uint64_t gdt[GDT_ENTRIES];
	struct kvm_segment data;

	gdt_build(gdt, pvh);
	gdt_to_segment(gdt[GDT_CODE], GDT_CODE, &sregs->cs);
	gdt_to_segment(gdt[GDT_DATA], GDT_DATA, &data);
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	gdt_to_segment(gdt[GDT_TSS], GDT_TSS, &sregs->tr);
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = GDT_ENTRIES * sizeof(uint64_t) - 1;
	memset(sregs->gdt.padding, 0, sizeof(sregs->gdt.padding));
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = sizeof(uint64_t) - 1;
	memset(sregs->idt.padding, 0, sizeof(sregs->idt.padding));
}

void boot_regs_linux64(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 2;
	regs->rip = entry;
	regs->rsp = BOOT_STACK_ADDR;
	regs->rbp = BOOT_STACK_ADDR;
	regs->rsi = ZERO_PAGE_ADDR;

	set_segments(sregs, false);
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	sregs->cr3 = PML4_ADDR;
	sregs->cr4 = X86_CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;
}

void boot_regs_pvh(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	regs->rflags = 2;
	regs->rip = entry;
	regs->rbx = PVH_INFO_ADDR;

	set_segments(sregs, true);
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;
}
