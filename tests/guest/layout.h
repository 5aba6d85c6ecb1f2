/* SPDX-License-Identifier: Apache-2.0 */
/* layout.h — constants shared by the test guest's assembly and C. */
#ifndef WTEST_LAYOUT_H
#define WTEST_LAYOUT_H

/* Guest-physical page the AP start-up trampoline is copied to (SIPI vector
 * 0x10). Chosen to avoid the VMM's boot structures at 0x500-0xc000 and the
 * command line at 0x20000-0x21000. */
#define TRAMP_BASE   0x10000
#define TRAMP_VECTOR (TRAMP_BASE >> 12)

/* Identity map size: NPD page directories of 512 2-MiB pages = NPD GiB. */
#define NPD          64

/* Application processors the smp scenario can start, and their stacks. */
#define MAX_CPUS       32
#define AP_STACK_SIZE  16384

/* GDT selectors (entry.S) */
#define SEL_CODE64   0x08
#define SEL_DATA     0x10
#define SEL_CODE32   0x18

/* Values of boot_kind */
#define BOOT_KIND_PVH     1
#define BOOT_KIND_LINUX64 2

#endif
