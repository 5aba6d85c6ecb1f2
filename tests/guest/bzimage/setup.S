/* SPDX-License-Identifier: Apache-2.0 */
/*
 * setup.S — the real-mode setup sectors of wisp-testguest.bzImage, for
 * loaders that run them (BIOS boot, QEMU's linuxboot option ROM). wisp does
 * not: it reads only the setup header and enters the payload at +0x200.
 *
 * Linked at 0 and cut out with objcopy -O binary: offsets here are file
 * offsets. Bytes 0x000-0x27f are zero; mkbzimage writes the setup header
 * (0x1f1-0x26b) over them, including the jump at 0x200 to setup_start.
 *
 * Entered, per the boot protocol, in real mode at CS = seg + 0x20, IP = 0
 * (the jump at 0x200) with DS = ES = SS = seg (the segment holding these
 * sectors). It builds a zero page in the same 64 KiB segment (the header
 * copied in, the memory map from INT 15h E820), enters 32-bit protected mode
 * on a flat GDT (__BOOT_CS 0x10, __BOOT_DS 0x18) and jumps to code32_start
 * (the payload's startup_32) with ESI = the zero page.
 */
#define ZP            0x1000          /* zero page, offset in the setup segment */
#define ZP_E820_COUNT 0x1e8
#define ZP_E820_TABLE 0x2d0
#define E820_MAX      128
#define SMAP          0x534d4150      /* "SMAP" */
#define HDR_START     0x1f1
#define HDR_END       0x280           /* where setup_start begins */
#define CODE32_START  0x214

	.section .text, "ax"
	.code16
	.org HDR_END
	.globl setup_start
setup_start:
	cli
	cld
	movw	%cs, %ax
	subw	$0x20, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0xf000, %sp

	/* A zeroed zero page with our setup header in it. */
	movw	$ZP, %di
	movw	$2048, %cx
	xorw	%ax, %ax
	rep stosw
	movw	$HDR_START, %si
	movw	$(ZP + HDR_START), %di
	movw	$(HDR_END - HDR_START), %cx
	rep movsb

	/* Memory map from the BIOS. */
	xorl	%ebx, %ebx
	movw	$(ZP + ZP_E820_TABLE), %di
	xorw	%bp, %bp
1:	movl	$0xe820, %eax
	movl	$20, %ecx
	movl	$SMAP, %edx
	pushw	%ds
	int	$0x15
	popw	%ds
	jc	2f
	cmpl	$SMAP, %eax
	jne	2f
	addw	$20, %di
	incw	%bp
	cmpw	$E820_MAX, %bp
	jae	2f
	testl	%ebx, %ebx
	jnz	1b
2:	movw	%bp, %ax
	movb	%al, (ZP + ZP_E820_COUNT)

	/* Linear addresses: the GDT's, the zero page's, the 32-bit entry. */
	xorl	%eax, %eax
	movw	%ds, %ax
	shll	$4, %eax
	movl	%eax, %esi
	addl	$ZP, %esi
	addl	$gdt, %eax
	movl	%eax, (gdt_desc + 2)
	movl	(CODE32_START), %eax
	movl	%eax, (jump32)

	lgdtl	(gdt_desc)
	movl	%cr0, %eax
	orb	$1, %al
	movl	%eax, %cr0
	movw	$0x18, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	/* DS is flat now; CS still has this segment's base + 0x200 cached. */
	ljmpl	*%cs:(jump32 - 0x200)

	.balign 8
gdt:
	.quad 0
	.quad 0
	.quad 0x00cf9b000000ffff        /* 0x10 __BOOT_CS: flat 32-bit code */
	.quad 0x00cf93000000ffff        /* 0x18 __BOOT_DS: flat data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long 0
jump32:
	.long 0                         /* code32_start, set at run time */
	.word 0x10

	.globl kernel_version
kernel_version:
	.asciz "wisp-testguest (bzImage wrapper)"

	.section .note.GNU-stack, "", @progbits
