/* SPDX-License-Identifier: Apache-2.0 */
/*
 * trampoline.S — the protected-mode payload of wisp-testguest.bzImage.
 *
 * Position-independent; linked at 0 and cut out with objcopy -O binary.
 * mkbzimage appends a table (layout below) and the test guest's segment bytes
 * right after tramp_end, and places this payload at file offset
 * (setup_sects + 1) * 512 of the bzImage.
 *
 *  +0x000 startup_32  32-bit boot protocol entry (BIOS loaders such as QEMU's,
 *                     after setup.S): flat 32-bit protected mode, paging off,
 *                     ESI = boot_params. Builds page tables for the first
 *                     GiB in the scratch area, enters long mode, goes on at
 *                     startup_64.
 *  +0x200 startup_64  64-bit boot protocol entry (what wisp uses): long mode,
 *                     low memory identity mapped, RSI = boot_params,
 *                     interrupts off. Moves itself out of the way if the
 *                     loader put it over the guest's physical range, loads
 *                     its own GDT, prints one line about where it was loaded
 *                     and the initrd boot_params describes, copies the test
 *                     guest's segments to their physical addresses, zeroes
 *                     memsz - filesz and jumps to the guest's e_entry with
 *                     RSI = boot_params.
 *
 * Memory this payload needs (the bzImage's init_size): the payload itself,
 * then, page aligned, SCRATCH_SIZE bytes: three page-table pages (PML4,
 * PDPT, one PD of 2 MiB pages = the first GiB) and a one-page stack.
 *
 * PVM-friendly: general registers only, string instructions for bulk work.
 */

/* The table mkbzimage appends at tramp_end (all little-endian). */
#define TBL_MAGIC   0x315a4257      /* "WBZ1" */
#define TBL_NSEG    4               /* u32: number of records */
#define TBL_TOTAL   8               /* u64: bytes from the table to the end of the data */
#define TBL_ENTRY   16              /* u64: the guest's 64-bit entry (ELF e_entry) */
#define TBL_LO      24              /* u64: lowest guest-physical byte of the guest */
#define TBL_HI      32              /* u64: one past its highest byte (memsz included) */
#define TBL_RECS    40              /* records of 32 bytes: */
#define REC_PADDR   0               /*   u64 physical address */
#define REC_FILESZ  8               /*   u64 bytes to copy */
#define REC_MEMSZ   16              /*   u64 bytes to fill (>= filesz; the rest zeroed) */
#define REC_OFF     24              /*   u64 offset of the bytes from the table */
#define REC_SIZE    32

#define SCRATCH_SIZE 0x4000         /* PML4, PDPT, PD, stack */
#define ONE_GIB      0x40000000

/* boot_params fields read here (Documentation/arch/x86/zero-page.rst) */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE  0x0c4
#define BP_SCRATCH           0x1e4
#define BP_RAMDISK_IMAGE     0x218
#define BP_RAMDISK_SIZE      0x21c

#define SEL_CODE64  0x08
#define SEL_DATA    0x10

#define COM1        0x3f8
#define COM1_LSR    0x3fd

/* Identity-map the first GiB with 2 MiB pages at the three pages starting at
 * %edx (below 4 GiB). Valid as 32-bit and as 64-bit code. Clobbers %eax,
 * %ecx, %edi. */
.macro BUILD_PAGE_TABLES
	movl	%edx, %edi
	movl	$(3 * 4096 / 4), %ecx
	xorl	%eax, %eax
	rep stosl
	leal	0x1003(%edx), %eax      /* PML4[0] -> PDPT, present|writable */
	movl	%eax, (%edx)
	leal	0x2003(%edx), %eax      /* PDPT[0] -> PD */
	movl	%eax, 0x1000(%edx)
	leal	0x2000(%edx), %edi
	movl	$0x83, %eax             /* present|writable|2 MiB */
	movl	$512, %ecx
91:	movl	%eax, (%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	decl	%ecx
	jnz	91b
.endm

	.section .text, "ax"
	.globl startup_32
/* ------------------------------------------------------------------ */
	.code32
startup_32:
	cli
	cld
	/* Find our own address: a call needs a stack, and boot_params.scratch
	 * (4 bytes at 0x1e4) is one the boot protocol gives for this. */
	leal	(BP_SCRATCH + 4)(%esi), %esp
	call	1f
1:	popl	%ebp
	subl	$(1b - startup_32), %ebp

	leal	(tramp_end - startup_32)(%ebp), %ebx
	cmpl	$TBL_MAGIC, (%ebx)
	jne	halt32
	/* scratch = page_align(table + total) */
	movl	TBL_TOTAL(%ebx), %edx
	addl	%ebx, %edx
	addl	$0xfff, %edx
	andl	$~0xfff, %edx
	BUILD_PAGE_TABLES
	leal	SCRATCH_SIZE(%edx), %esp

	leal	(gdt - startup_32)(%ebp), %eax
	movl	%eax, (gdt_desc + 2 - startup_32)(%ebp)
	movl	$0, (gdt_desc + 6 - startup_32)(%ebp)
	lgdt	(gdt_desc - startup_32)(%ebp)
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs

	movl	%cr4, %eax
	orl	$0x20, %eax             /* PAE */
	movl	%eax, %cr4
	movl	%edx, %cr3
	movl	$0xc0000080, %ecx       /* EFER */
	rdmsr
	orl	$0x100, %eax            /* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax       /* PG | PE */
	movl	%eax, %cr0
	pushl	$SEL_CODE64
	leal	(from32 - startup_32)(%ebp), %eax
	pushl	%eax
	lret

halt32:
	hlt
	jmp	halt32

	.code64
from32:
	movl	%esi, %esi              /* upper halves are undefined after the switch */
	jmp	startup_64

/* ------------------------------------------------------------------ */
	.org 0x200
	.globl startup_64
startup_64:
	cli
	cld
	leaq	startup_32(%rip), %r15  /* where the loader put us */
	movq	%rsi, %r14              /* boot_params, kept for the guest */

/* Also entered by a relocated copy of this payload (r14, r15 preserved). */
common64:
	leaq	startup_32(%rip), %rbx  /* where this copy runs */
	leaq	tramp_end(%rip), %r12   /* the table */
	cmpl	$TBL_MAGIC, (%r12)
	jne	halt64
	movq	TBL_TOTAL(%r12), %rbp
	addq	%r12, %rbp
	addq	$0xfff, %rbp
	andq	$-4096, %rbp            /* scratch */
	leaq	SCRATCH_SIZE(%rbp), %r13 /* end of everything this copy needs */

	/* Over the guest's [lo, hi)? Then copy ourselves above both and go on there. */
	cmpq	TBL_HI(%r12), %rbx
	jae	placed
	cmpq	%r13, TBL_LO(%r12)
	jae	placed
	movq	TBL_HI(%r12), %rdi
	cmpq	%r13, %rdi
	jae	1f
	movq	%r13, %rdi
1:	addq	$0xfff, %rdi
	andq	$-4096, %rdi
	movq	%rdi, %rdx              /* new base; above our end: no overlap */
	movq	%rbx, %rsi
	movq	TBL_TOTAL(%r12), %rcx
	addq	%r12, %rcx
	subq	%rbx, %rcx
	addq	$7, %rcx
	shrq	$3, %rcx
	rep movsq
	leaq	(common64 - startup_32)(%rdx), %rax
	jmp	*%rax

placed:
	leaq	SCRATCH_SIZE(%rbp), %rsp
	cmpq	%rbx, %r15
	je	1f
	/* Relocated: the loader's page tables may sit under the guest's range. */
	movl	%ebp, %edx
	BUILD_PAGE_TABLES
	movq	%rbp, %rax
	movq	%rax, %cr3
1:
	/* Our own GDT, so nothing of the loader's is needed any more. */
	leaq	gdt(%rip), %rax
	movq	%rax, (gdt_desc + 2)(%rip)
	lgdt	gdt_desc(%rip)
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	pushq	$SEL_CODE64
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:
	call	banner

	/* Copy each segment, zero the rest of its memsz. */
	movl	TBL_NSEG(%r12), %r13d
	leaq	TBL_RECS(%r12), %rbp
	testl	%r13d, %r13d
	jz	3f
2:	movq	REC_PADDR(%rbp), %rdi
	movq	REC_OFF(%rbp), %rsi
	addq	%r12, %rsi
	movq	REC_FILESZ(%rbp), %rcx
	movq	%rcx, %rdx
	shrq	$3, %rcx
	rep movsq
	movl	%edx, %ecx
	andl	$7, %ecx
	rep movsb
	movq	REC_MEMSZ(%rbp), %rcx
	subq	REC_FILESZ(%rbp), %rcx
	movq	%rcx, %rdx
	shrq	$3, %rcx
	xorl	%eax, %eax
	rep stosq
	movl	%edx, %ecx
	andl	$7, %ecx
	rep stosb
	addq	$REC_SIZE, %rbp
	decl	%r13d
	jnz	2b
3:
	movq	TBL_ENTRY(%r12), %rax
	movq	%r14, %rsi
	jmp	*%rax

halt64:
	hlt
	jmp	halt64

/* ------------------------------------------------------------------ */
/* One console line:
 *   wisp-bzimage: loaded at 0xL[, relocated to 0xR], boot_params at 0xB, guest entry 0xE
 *   wisp-bzimage: no initrd
 *   wisp-bzimage: initrd at 0xA size 0xS begins "<up to 32 bytes>"
 * Uses r14 (boot_params), r15 (load address), rbx (running address), r12. */
banner:
	leaq	msg_loaded(%rip), %rdi
	call	puts
	movq	%r15, %rax
	call	puthex
	cmpq	%rbx, %r15
	je	1f
	leaq	msg_reloc(%rip), %rdi
	call	puts
	movq	%rbx, %rax
	call	puthex
1:	leaq	msg_bp(%rip), %rdi
	call	puts
	movq	%r14, %rax
	call	puthex
	leaq	msg_entry(%rip), %rdi
	call	puts
	movq	TBL_ENTRY(%r12), %rax
	call	puthex
	leaq	msg_crlf(%rip), %rdi
	call	puts

	movl	BP_RAMDISK_SIZE(%r14), %ebp
	movl	BP_EXT_RAMDISK_SIZE(%r14), %eax
	shlq	$32, %rax
	orq	%rax, %rbp              /* initrd size */
	jnz	2f
	leaq	msg_noinitrd(%rip), %rdi
	jmp	puts
2:	leaq	msg_initrd(%rip), %rdi
	call	puts
	call	initrd_addr
	call	puthex
	leaq	msg_size(%rip), %rdi
	call	puts
	movq	%rbp, %rax
	call	puthex
	call	initrd_addr
	addq	$32, %rax
	cmpq	$ONE_GIB, %rax
	jbe	3f
	leaq	msg_unmapped(%rip), %rdi
	jmp	puts
3:	leaq	msg_begins(%rip), %rdi
	call	puts
	cmpq	$32, %rbp
	jbe	4f
	movl	$32, %ebp
4:	call	initrd_addr
	movq	%rax, %r13
5:	movzbl	(%r13), %eax
	cmpb	$0x20, %al
	jb	6f
	cmpb	$0x7e, %al
	ja	6f
	cmpb	$'"', %al
	jne	7f
6:	movb	$'.', %al
7:	call	putc
	incq	%r13
	decq	%rbp
	jnz	5b
	leaq	msg_quote_crlf(%rip), %rdi
	jmp	puts

/* %rax = the initrd's address from boot_params */
initrd_addr:
	movl	BP_EXT_RAMDISK_IMAGE(%r14), %eax
	shlq	$32, %rax
	movl	BP_RAMDISK_IMAGE(%r14), %ecx
	orq	%rcx, %rax
	ret

/* putc(%al): waits (bounded) for THRE, writes COM1. Clobbers rcx, rdx, r8. */
putc:
	movl	%eax, %r8d
	movl	$100000, %ecx
	movw	$COM1_LSR, %dx
1:	inb	%dx, %al
	testb	$0x20, %al
	jnz	2f
	pause
	decl	%ecx
	jnz	1b
2:	movw	$COM1, %dx
	movl	%r8d, %eax
	outb	%al, %dx
	ret

/* puts(%rdi): NUL-terminated. Clobbers rax, rcx, rdx, rdi, r8. */
puts:
	movzbl	(%rdi), %eax
	testb	%al, %al
	jz	1f
	call	putc
	incq	%rdi
	jmp	puts
1:	ret

/* puthex(%rax): "0x" and the hex digits without leading zeros.
 * Clobbers rax, rcx, rdx, r8-r11. */
puthex:
	movq	%rax, %r9
	movb	$'0', %al
	call	putc
	movb	$'x', %al
	call	putc
	movl	$60, %r10d
	xorl	%r11d, %r11d            /* a digit printed yet? */
1:	movq	%r9, %rax
	movl	%r10d, %ecx
	shrq	%cl, %rax
	andl	$0xf, %eax
	jnz	2f
	testl	%r11d, %r11d
	jnz	2f
	testl	%r10d, %r10d
	jnz	4f                      /* skip a leading zero, not the last digit */
2:	movl	$1, %r11d
	cmpb	$10, %al
	jb	3f
	addb	$('a' - 10 - '0'), %al
3:	addb	$'0', %al
	call	putc
4:	subl	$4, %r10d
	jns	1b
	ret

msg_loaded:	.asciz "wisp-bzimage: loaded at "
msg_reloc:	.asciz ", relocated to "
msg_bp:		.asciz ", boot_params at "
msg_entry:	.asciz ", guest entry "
msg_crlf:	.asciz "\r\n"
msg_noinitrd:	.asciz "wisp-bzimage: no initrd\r\n"
msg_initrd:	.asciz "wisp-bzimage: initrd at "
msg_size:	.asciz " size "
msg_begins:	.asciz " begins \""
msg_quote_crlf:	.asciz "\"\r\n"
msg_unmapped:	.asciz " (above 1 GiB: not read)\r\n"

/* 0x08 64-bit code, 0x10 flat data, 0x18 flat 32-bit code */
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff
	.quad 0x00cf93000000ffff
	.quad 0x00cf9b000000ffff
gdt_end:
	.balign 8
	.word 0, 0, 0
gdt_desc:                               /* limit at +0, base (set at run time) at +2 */
	.word gdt_end - gdt - 1
	.quad 0

	.balign 16
	.globl tramp_end
tramp_end:                              /* mkbzimage's table starts here */

	.section .note.GNU-stack, "", @progbits
