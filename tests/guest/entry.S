/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entry.S — the two boot entries of the wisp test guest, its GDT and
 * identity page tables, interrupt stubs, the AP start-up trampoline and
 * the triple-fault helper.
 *
 *  pvh_entry  32-bit protected mode, paging off, EBX = struct hvm_start_info
 *             (announced by the XEN_ELFNOTE_PHYS32_ENTRY note below).
 *  entry64    (e_entry) Linux 64-bit boot protocol: long mode, RSI = struct
 *             boot_params, first GiB identity mapped by the VMM.
 * Both load this file's GDT and page tables and call guest_main() on
 * boot_stack.
 */
#include "layout.h"

#define EFER_MSR   0xc0000080
#define EFER_LME   0x100
#define CR0_PE     0x1
#define CR0_PG     0x80000000
#define CR0_WP     0x10000
#define CR0_NE     0x20
#define CR4_PAE    0x20

/* ------------------------------------------------------------------ */
/* PVH note: name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY (18), 8-byte desc
 * (as Linux emits it; the low 4 bytes are the 32-bit entry). */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4
	.long 8
	.long 18
	.asciz "Xen"
	.balign 4
	.quad pvh_entry

/* ------------------------------------------------------------------ */
	.section .data
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9b000000ffff        /* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff        /* 0x10: flat data   */
	.quad 0x00cf9b000000ffff        /* 0x18: flat 32-bit code */
gdt_end:
	.balign 8
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
null_idt_desc:
	.word 0
	.quad 0
	.balign 8
	.globl boot_kind, boot_info_ptr, ap_stack_top
boot_info_ptr:
	.quad 0
ap_stack_top:
	.quad 0
boot_kind:
	.long 0

/* Page tables and stacks live in .noinit: not cleared at entry (only the
 * table pages in use are written), which keeps the start cheap under
 * PVM, where every instruction of this guest is emulated. */
	.section .pgtable, "aw", @nobits
	.balign 4096
	.globl pml4, pdpt, pd
pml4:
	.skip 4096
pdpt:
	.skip 4096
pd:
	.skip 4096 * NPD

	.section .stack, "aw", @nobits
	.balign 16
	.globl boot_stack_top
boot_stack:
	.skip 32768
boot_stack_top:
	.balign 16
	.globl ap_stacks
ap_stacks:
	.skip AP_STACK_SIZE * MAX_CPUS

/* Fill the page tables for the first 4 GiB: PML4[0] -> PDPT, PDPT[i] ->
 * PD i (i < 4), PD entries map 2 MiB pages 1:1; the 3-4 GiB MMIO hole is
 * PCD|PWT. RAM above 4 GiB is mapped later by paging_map_ram() in C.
 * Valid as 32-bit and as 64-bit code (uses 32-bit registers only). */
.macro BUILD_PAGE_TABLES
	movl	$pml4, %edi
	movl	$(2 * 4096 / 4), %ecx
	xorl	%eax, %eax
	rep stosl
	movl	$(pdpt + 3), %eax
	movl	%eax, pml4
	movl	$pdpt, %edi
	movl	$(pd + 3), %eax
	movl	$4, %ecx
91:	movl	%eax, (%edi)
	addl	$4096, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	91b
	movl	$pd, %edi
	xorl	%ecx, %ecx
92:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax             /* present, writable, 2 MiB */
	cmpl	$1536, %ecx
	jb	93f
	orl	$0x18, %eax             /* PWT|PCD: 3-4 GiB */
93:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$8, %edi
	incl	%ecx
	cmpl	$2048, %ecx
	jb	92b
.endm

/* ------------------------------------------------------------------ */
	.section .text.entry, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	movl	%ebx, boot_info_ptr
	movl	$0, boot_info_ptr + 4
	movl	$BOOT_KIND_PVH, boot_kind
	/* zero .bss (page tables, stacks, C globals) */
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx
	xorl	%eax, %eax
	rep stosl
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	$boot_stack_top, %esp
	BUILD_PAGE_TABLES
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$EFER_MSR, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_WP | CR0_NE | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $long_common

	.code64
	.globl entry64
entry64:
	cli
	cld
	movq	%rsi, boot_info_ptr(%rip)
	movl	$BOOT_KIND_LINUX64, boot_kind(%rip)
	movl	$__bss_start, %edi
	movl	$__bss_end, %ecx
	subl	%edi, %ecx
	shrl	$2, %ecx
	xorl	%eax, %eax
	rep stosl
	BUILD_PAGE_TABLES
	movl	$pml4, %eax
	movq	%rax, %cr3
	lgdt	gdt_desc(%rip)
	pushq	$SEL_CODE64
	pushq	$long_common
	lretq

long_common:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$boot_stack_top, %rsp
	xorl	%ebp, %ebp
	call	guest_main
2:	hlt
	jmp	2b

/* An AP arrives here from the trampoline, in long mode on our GDT/CR3. */
	.globl ap_long
ap_long:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movq	ap_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	call	ap_main
3:	hlt
	jmp	3b

/* Load an empty IDT and raise #UD: #UD -> #GP -> #DF -> triple fault. */
	.globl force_triple_fault
force_triple_fault:
	lidt	null_idt_desc(%rip)
	ud2
	jmp	force_triple_fault

/* ------------------------------------------------------------------ */
/* Interrupt stubs: 256 of 16 bytes each at isr_stubs + 16*vector. They
 * push a dummy error code where the CPU pushes none, then the vector. */
	.text
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if (vec == 8) || (vec == 10) || (vec == 11) || (vec == 12) || (vec == 13) || (vec == 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	isr_common
	.set vec, vec + 1
	.endr

isr_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rbx
	pushq	%rbp
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	movq	%rsp, %rdi
	cld
	call	isr_dispatch
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rbp
	popq	%rbx
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

/* ------------------------------------------------------------------ */
/* AP trampoline: copied to TRAMP_BASE and entered in real mode at
 * TRAMP_BASE:0 by a SIPI with vector TRAMP_VECTOR. Real mode -> protected
 * mode on our GDT -> long mode on pml4 -> ap_long. */
	.section .rodata.tramp, "a"
	.globl tramp_start, tramp_end
	.code16
tramp_start:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	(tr_gdtr - tramp_start)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $(TRAMP_BASE + tr32 - tramp_start)
	.code32
tr32:
	movw	$SEL_DATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$EFER_MSR, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_WP | CR0_NE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $ap_long
	.balign 8
tr_gdtr:
	.word gdt_end - gdt - 1
	.long gdt
tramp_end:
	.code64

	.section .note.GNU-stack, "", @progbits
