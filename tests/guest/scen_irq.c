/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scen_irq.c — scenarios that take interrupts.
 *
 * Timer: the LAPIC timer in periodic mode at 100 Hz (vector 0x20),
 * calibrated against PIT channel 2. Serial RX: COM1 IRQ 4 through IOAPIC
 * pin 4 (vector 0x24). Keyboard: i8042 IRQ 1 through IOAPIC pin 1 (vector
 * 0x21), and the i8042 status port is also polled on every timer tick.
 *
 * `irq`:    wtest.timeout=SECONDS (default 10) for the serial byte.
 * `ticker`: TICK n every 100 ms until Ctrl-Alt-Del arrives from the i8042.
 */
#include "guest.h"

#define TIMER_HZ 100

static volatile uint64_t ticks;
static volatile uint32_t rx_count;
static volatile uint8_t rx_byte;
static volatile bool cad_seen;

/* ---------------- handlers (short: count and return) ---------------- */
static void kbd_byte(uint8_t b);

static void kbd_poll(void)
{
	for (unsigned i = 0; i < 16; i++) {
		uint8_t st = inb(0x64);

		if (st == 0xff || !(st & 0x01))
			break;
		if (st & 0x20)               /* aux (mouse) byte */
			(void)inb(0x60);
		else
			kbd_byte(inb(0x60));
	}
}

static void on_timer(struct intr_frame *f)
{
	(void)f;
	ticks++;
	kbd_poll();
}

static void on_kbd(struct intr_frame *f)
{
	(void)f;
	kbd_poll();
}

static void on_serial(struct intr_frame *f)
{
	(void)f;
	for (unsigned i = 0; i < 64 && uart_rx_ready(); i++) {
		uint8_t b = uart_getc();

		if (!rx_count)
			rx_byte = b;
		rx_count++;
	}
}

/* Ctrl-Alt-Del in scancode set 1 (1d, 38, e0 53; breaks | 0x80) or set 2
 * (14, 11, e0 71; breaks prefixed by f0), whichever the i8042 delivers. */
static bool kbd_e0, kbd_f0, kbd_ctrl, kbd_alt, kbd_del;

static void kbd_byte(uint8_t b)
{
	bool brk1 = b & 0x80;
	uint8_t c1 = b & 0x7f;

	if (b == 0xe0) {
		kbd_e0 = true;
		return;
	}
	if (b == 0xf0) {
		kbd_f0 = true;
		return;
	}
	if (!kbd_f0) {                          /* set 1 */
		if (c1 == 0x1d)
			kbd_ctrl = !brk1;
		else if (c1 == 0x38)
			kbd_alt = !brk1;
		else if (c1 == 0x53 && kbd_e0)
			kbd_del = !brk1;
	}
	if (b == 0x14)                          /* set 2 */
		kbd_ctrl = !kbd_f0;
	else if (b == 0x11)
		kbd_alt = !kbd_f0;
	else if (b == 0x71 && kbd_e0)
		kbd_del = !kbd_f0;
	kbd_e0 = kbd_f0 = false;
	if (kbd_ctrl && kbd_alt && kbd_del)
		cad_seen = true;
}

/* ---------------- common set-up ---------------- */
static void irq_setup(bool serial, bool keyboard)
{
	uint32_t self;
	uint64_t deadline;

	lapic_init();
	timer_calibrate();
	self = lapic_id();
	idt_set_handler(VEC_TIMER, on_timer);
	if (serial) {
		idt_set_handler(VEC_SERIAL, on_serial);
		ioapic_route(4, VEC_SERIAL, self);
	}
	if (keyboard) {
		idt_set_handler(VEC_KBD, on_kbd);
		ioapic_route(1, VEC_KBD, self);
	}
	lapic_timer_periodic(TIMER_HZ, VEC_TIMER);
	sti();
	/* Poll (no hlt yet): a VMM that never delivers the timer must not hang us. */
	deadline = now_us() + 2000000;
	while (ticks < 2 && now_us() < deadline)
		cpu_relax();
	if (ticks < 2)
		wtest_fail("no LAPIC timer interrupt within 2 s");
}

void scen_irq(void)
{
	uint64_t timeout_s = param_u64("timeout", 10);
	uint64_t t0, t1, start;

	irq_setup(true, false);
	t0 = now_us();
	start = ticks;
	while (ticks < start + 10)
		sti_hlt();
	t1 = now_us();
	printk("irq: timer %lu ticks in %lu ms\n", (unsigned long)(ticks - start),
	       (unsigned long)((t1 - t0) / 1000));

	uart_enable_rx_irq();
	printk("WTEST-WAIT-INPUT\n");
	start = ticks;
	while (!rx_count) {
		if (ticks - start > timeout_s * TIMER_HZ)
			wtest_fail("no serial RX interrupt within %lu s",
				   (unsigned long)timeout_s);
		sti_hlt();
	}
	printk("irq: got byte 0x%02x\n", rx_byte);
	wtest_pass();
}

void scen_ticker(void)
{
	uint64_t next, n = 0;

	irq_setup(false, true);
	next = ticks + TIMER_HZ / 10;
	for (;;) {
		sti_hlt();
		if (cad_seen) {
			printk("ticker: Ctrl-Alt-Del received\n");
			wtest_pass();
		}
		while (ticks >= next) {
			printk("TICK %lu\n", (unsigned long)++n);
			next += TIMER_HZ / 10;
		}
	}
}
