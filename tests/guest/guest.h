/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guest.h — private header of the freestanding wisp test guest.
 *
 * The guest runs identity mapped in long mode, single address space, no
 * libc. Everything here is written to stay clear of instructions PVM's
 * emulator lacks: general registers only (no SSE/x87), no int3, no
 * cmpxchg16b/popcnt; atomics are xchg / lock xadd.
 */
#ifndef WTEST_GUEST_H
#define WTEST_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define NORETURN __attribute__((noreturn))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------- port and MMIO access ---------------- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}
static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}
static inline uint8_t mmio_read8(uint64_t addr)
{
	return *(volatile uint8_t *)addr;
}
static inline void mmio_write8(uint64_t addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}
static inline uint16_t mmio_read16(uint64_t addr)
{
	return *(volatile uint16_t *)addr;
}
static inline void mmio_write16(uint64_t addr, uint16_t v)
{
	*(volatile uint16_t *)addr = v;
}
/* A pointer to guest-physical address a (identity mapped). Laundered
 * through asm so gcc does not treat small constants as null-page accesses. */
static inline void *phys_ptr(uint64_t a)
{
	__asm__("" : "+r"(a));
	return (void *)(uintptr_t)a;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}
static inline void mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}
static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}
static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}
/* Enable interrupts and halt atomically (the sti shadow covers the hlt). */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

/* ---------------- spinlock (xchg) ---------------- */
typedef struct { volatile uint32_t v; } spinlock_t;
static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (l->v)
			cpu_relax();
}
static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---------------- lib.c ---------------- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF(3, 4);
/* Parse an unsigned number: decimal, or hex with 0x. Returns false when
 * no digit was found; *end (if not NULL) points after the digits. */
bool parse_u64(const char *s, uint64_t *out, const char **end);

/* ---------------- console (uart.c) ---------------- */
#define COM1 0x3f8
void uart_init(void);
void uart_putc(char c);
bool uart_rx_ready(void);
uint8_t uart_getc(void);
void uart_enable_rx_irq(void);
/* Formatted line output, serialised across CPUs. "\n" goes out as CRLF. */
void printk(const char *fmt, ...) PRINTF(1, 2);
/* n bytes exactly as given (no CRLF translation), under the console lock. */
void console_write_raw(const char *s, size_t n);
/* Same without taking the lock (fatal paths). */
void printk_unlocked(const char *fmt, ...) PRINTF(1, 2);

/* ---------------- boot information (bootinfo.c) ---------------- */
#define E820_RAM 1
#define MAX_MEMMAP 128
#define MAX_PARAMS 32
#define MAX_VIRTIO 24
#define CMDLINE_MAX 4096

struct mem_range {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
struct virtio_mmio_desc {
	uint64_t addr;
	uint64_t size;
	unsigned irq;
};
struct bootinfo {
	int kind;                     /* BOOT_KIND_* */
	char cmdline[CMDLINE_MAX];
	struct mem_range map[MAX_MEMMAP];
	unsigned nmap;
	const char *scenario;         /* wtest=NAME, NULL when absent */
	const char *pkey[MAX_PARAMS]; /* wtest.KEY=VALUE */
	const char *pval[MAX_PARAMS];
	unsigned nparams;
	struct virtio_mmio_desc virtio[MAX_VIRTIO];
	unsigned nvirtio;
	char problem[128];            /* first problem met while parsing, or "" */
	uint64_t rsdp;                /* ACPI RSDP from the boot information, 0 if none */
};
extern struct bootinfo g_boot;
extern int boot_kind;              /* entry.S */
extern uint64_t boot_info_ptr;     /* entry.S */
void bootinfo_parse(void);
const char *boot_kind_name(void);
const char *param_str(const char *key, const char *dflt);
uint64_t param_u64(const char *key, uint64_t dflt);

/* ---------------- result and machine control (main.c) ---------------- */
extern const char *g_scenario;
NORETURN void wtest_pass(void);
NORETURN void wtest_fail(const char *fmt, ...) PRINTF(1, 2);
NORETURN void machine_reset(void);
NORETURN void force_triple_fault(void);   /* entry.S */
void guest_main(void);
void ap_main(void);

/* ---------------- application processors (scen_smp.c) ---------------- */
/* Start every AP the MP table lists (INIT-SIPI-SIPI, timeout_ms each),
 * printing as `smp` does; each AP prints "cpu N up", counts itself, then
 * runs work (NULL: halts). Returns the processors listed; *up = processors
 * running, BSP included. Fails the test when there is no usable MP table. */
int smp_start_aps(void (*work)(void), uint64_t timeout_ms, unsigned *up);

/* ---------------- CPU, interrupts, timers (cpu.c) ---------------- */
struct intr_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};
typedef void (*irq_fn)(struct intr_frame *f);

#define LAPIC_BASE   0xfee00000ULL
#define IOAPIC_BASE  0xfec00000ULL
#define VEC_TIMER    0x20
#define VEC_KBD      0x21
#define VEC_SERIAL   0x24
#define VEC_VIRTIO   0x30          /* + device index */
#define VEC_SPURIOUS 0xff

void isr_dispatch(struct intr_frame *f);
void idt_init(void);
void idt_set_handler(unsigned vector, irq_fn fn);
void pic_mask_all(void);
void lapic_init(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low);
void ioapic_route(unsigned pin, unsigned vector, uint32_t dest_apic);
void ioapic_mask(unsigned pin);
void timer_calibrate(void);
uint64_t tsc_per_ms(void);
uint64_t now_us(void);
void delay_us(uint64_t us);
void lapic_timer_periodic(unsigned hz, unsigned vector);
void lapic_timer_stop(void);

/* ---------------- paging (paging.c) ---------------- */
/* Map [4 GiB, end) too (capped at NPD GiB); returns the mapped end. */
uint64_t paging_map_upto(uint64_t end);
uint64_t paging_mapped_end(void);

/* ---------------- scenarios ---------------- */
NORETURN void scen_hello(void);
NORETURN void scen_reset(void);
NORETURN void scen_triple_fault(void);
NORETURN void scen_memory(void);
NORETURN void scen_smp(void);
NORETURN void scen_irq(void);
NORETURN void scen_ticker(void);
NORETURN void scen_perf(void);
NORETURN void scen_blk(void);
NORETURN void scen_blk_bench(void);
NORETURN void scen_blk_reset(void);
NORETURN void scen_rng(void);
NORETURN void scen_hostile(void);
NORETURN void scen_flood(void);
NORETURN void scen_net(void);
NORETURN void scen_net_burst(void);
NORETURN void scen_net_bench(void);
NORETURN void scen_snap(void);
NORETURN void scen_balloon(void);
NORETURN void scen_vsock(void);
NORETURN void scen_acpi(void);
NORETURN void scen_cpuid(void);

/* ---------------- ACPI (acpi_find.c) ---------------- */
/* Append the DSDT's virtio-mmio devices (LNRO0005) to g_boot.virtio;
 * returns how many (0 when there are no usable tables). */
unsigned acpi_virtio_from_dsdt(void);

#endif
