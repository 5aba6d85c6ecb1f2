/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cpu.c — IDT and interrupt dispatch, 8259 masking, local APIC (xAPIC MMIO
 * at 0xfee00000), IOAPIC (0xfec00000) routing, and time: the TSC and the
 * LAPIC timer calibrated against PIT channel 2 (port 0x61 gate/out), with
 * KVM's 1 GHz APIC bus as the fallback when no PIT answers.
 */
#include "guest.h"

/* ---------------- IDT ---------------- */
struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

extern char isr_stubs[];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_fn handlers[256];

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO",
	"#TS", "#NP", "#SS", "#GP", "#PF", "rsvd", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP",
};

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc;

	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(isr_stubs + 16 * v);

		idt[v].off_lo = (uint16_t)a;
		idt[v].sel = SEL_CODE64;
		idt[v].ist = 0;
		idt[v].type = 0x8e;      /* present, DPL 0, 64-bit interrupt gate */
		idt[v].off_mid = (uint16_t)(a >> 16);
		idt[v].off_hi = (uint32_t)(a >> 32);
		idt[v].zero = 0;
	}
	desc.limit = sizeof(idt) - 1;
	desc.base = (uint64_t)(uintptr_t)idt;
	__asm__ volatile("lidt %0" : : "m"(desc));
}

void idt_set_handler(unsigned vector, irq_fn fn)
{
	handlers[vector & 0xff] = fn;
}

void isr_dispatch(struct intr_frame *f)
{
	unsigned v = (unsigned)f->vector;

	if (v < 32) {
		uint64_t cr2;

		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		printk_unlocked("exception %u %s err=0x%lx rip=0x%lx rsp=0x%lx cr2=0x%lx\n",
				v, exc_names[v] ? exc_names[v] : "?", f->error,
				f->rip, f->rsp, cr2);
		wtest_fail("exception %u (%s) at rip 0x%lx", v,
			   exc_names[v] ? exc_names[v] : "?", f->rip);
	}
	if (handlers[v])
		handlers[v](f);
	if (v != VEC_SPURIOUS)
		lapic_eoi();
}

/* ---------------- 8259 ---------------- */
void pic_mask_all(void)
{
	/* The VMM may wire LINT0 as ExtINT; keep the legacy PIC silent. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---------------- local APIC ---------------- */
#define LAPIC_ID    0x020
#define LAPIC_TPR   0x080
#define LAPIC_EOI   0x0b0
#define LAPIC_SVR   0x0f0
#define LAPIC_ICRLO 0x300
#define LAPIC_ICRHI 0x310
#define LAPIC_LVTT  0x320
#define LAPIC_LINT0 0x350
#define LAPIC_TICR  0x380
#define LAPIC_TCCR  0x390
#define LAPIC_TDCR  0x3e0

#define LVT_MASKED   (1u << 16)
#define LVT_PERIODIC (1u << 17)

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}
static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

void lapic_init(void)
{
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);   /* software enable */
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LINT0, LVT_MASKED);            /* no ExtINT from the PIC */
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

int lapic_send_ipi(uint32_t apic_id, uint32_t icr_low)
{
	lapic_write(LAPIC_ICRHI, apic_id << 24);
	lapic_write(LAPIC_ICRLO, icr_low);
	for (unsigned i = 0; i < 100000; i++) {
		if (!(lapic_read(LAPIC_ICRLO) & (1u << 12)))   /* delivery status */
			return 0;
		cpu_relax();
	}
	return -1;
}

/* ---------------- IOAPIC ---------------- */
static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(unsigned pin, unsigned vector, uint32_t dest_apic)
{
	/* fixed delivery, physical destination, active high, edge, unmasked */
	ioapic_write(0x11 + 2 * pin, dest_apic << 24);
	ioapic_write(0x10 + 2 * pin, vector & 0xff);
}

void ioapic_mask(unsigned pin)
{
	ioapic_write(0x10 + 2 * pin, 1u << 16);
}

/* ---------------- time ---------------- */
#define PIT_HZ        1193182u
#define CAL_MS        10u
#define KVM_APIC_HZ_DIV16 (1000000000u / 16u)

static uint64_t tsc_khz;       /* TSC ticks per ms */
static uint64_t lapic_khz;     /* LAPIC timer ticks per ms at divide-by-16 */
static uint64_t tsc_base;
static bool calibrated;

void timer_calibrate(void)
{
	uint32_t l0, l1;
	uint64_t t0, t1;
	uint8_t p61;
	bool pit_ok = false;

	if (calibrated)
		return;
	lapic_init();
	lapic_write(LAPIC_TDCR, 0x3);                    /* divide by 16 */
	lapic_write(LAPIC_LVTT, LVT_MASKED | VEC_TIMER); /* one-shot, masked */
	lapic_write(LAPIC_TICR, 0xffffffffu);

	p61 = inb(0x61);
	if (p61 != 0xff) {
		unsigned count = PIT_HZ / 1000 * CAL_MS;

		outb(0x61, (uint8_t)((p61 & ~0x02) | 0x01));   /* gate 2 on, speaker off */
		outb(0x43, 0xb0);                              /* ch2, lo/hi, mode 0 */
		outb(0x42, (uint8_t)count);
		outb(0x42, (uint8_t)(count >> 8));
		t0 = rdtsc();
		l0 = lapic_read(LAPIC_TCCR);
		for (unsigned i = 0; i < 2000000; i++) {
			if (inb(0x61) & 0x20) {
				pit_ok = true;
				break;
			}
		}
		t1 = rdtsc();
		l1 = lapic_read(LAPIC_TCCR);
		/* A real 10 ms window moves the LAPIC counter by far more than
		 * this; a port that reads "expired" at once does not. */
		if (pit_ok && l0 - l1 < 10000)
			pit_ok = false;
		if (pit_ok) {
			tsc_khz = (t1 - t0) / CAL_MS;
			lapic_khz = (uint64_t)(l0 - l1) / CAL_MS;
		}
	}
	if (!pit_ok) {
		/* No PIT: trust KVM's APIC bus (1 GHz) and time the TSC on it. */
		lapic_khz = KVM_APIC_HZ_DIV16 / 1000;
		lapic_write(LAPIC_TICR, 0xffffffffu);
		l0 = lapic_read(LAPIC_TCCR);
		t0 = rdtsc();
		do {
			l1 = lapic_read(LAPIC_TCCR);
		} while (l0 - l1 < lapic_khz * CAL_MS);
		t1 = rdtsc();
		tsc_khz = (t1 - t0) * lapic_khz / (uint64_t)(l0 - l1);
	}
	lapic_write(LAPIC_TICR, 0);
	if (!tsc_khz)
		tsc_khz = 1;
	tsc_base = rdtsc();
	calibrated = true;
	printk("timer: tsc %lu kHz, lapic timer %lu kHz (/16), calibrated %s\n",
	       (unsigned long)tsc_khz, (unsigned long)lapic_khz,
	       pit_ok ? "against PIT channel 2" : "assuming a 1 GHz APIC bus");
}

uint64_t tsc_per_ms(void)
{
	timer_calibrate();
	return tsc_khz;
}

uint64_t now_us(void)
{
	uint64_t khz = tsc_per_ms();

	return (rdtsc() - tsc_base) * 1000 / khz;
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + us * tsc_per_ms() / 1000;

	while (rdtsc() < end)
		cpu_relax();
}

void lapic_timer_periodic(unsigned hz, unsigned vector)
{
	timer_calibrate();
	lapic_write(LAPIC_TDCR, 0x3);
	lapic_write(LAPIC_LVTT, LVT_PERIODIC | (vector & 0xff));
	lapic_write(LAPIC_TICR, (uint32_t)(lapic_khz * 1000 / hz));
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_LVTT, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TICR, 0);
}
