/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uart.c — 8250/16550 console on COM1 (0x3f8, IRQ 4). Output polls LSR.THRE
 * before each byte; input is polled or taken by interrupt (scen_irq.c).
 */
#include "guest.h"

#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define LSR_DR   0x01
#define LSR_THRE 0x20

static spinlock_t con_lock;

void uart_init(void)
{
	outb(COM1 + UART_IER, 0x00);    /* no interrupts */
	outb(COM1 + UART_LCR, 0x03);    /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0x07);    /* FIFOs on and cleared */
	outb(COM1 + UART_MCR, 0x03);    /* DTR | RTS */
}

void uart_putc(char c)
{
	/* Bounded: a VMM whose LSR never says THRE still gets the byte. */
	for (unsigned i = 0; i < 1000000; i++) {
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
		cpu_relax();
	}
	outb(COM1 + UART_THR, (uint8_t)c);
}

bool uart_rx_ready(void)
{
	uint8_t lsr = inb(COM1 + UART_LSR);

	return lsr != 0xff && (lsr & LSR_DR);
}

uint8_t uart_getc(void)
{
	return inb(COM1 + UART_RBR);
}

void uart_enable_rx_irq(void)
{
	outb(COM1 + UART_MCR, 0x0b);    /* DTR | RTS | OUT2 (IRQ line enable) */
	outb(COM1 + UART_IER, 0x01);    /* received data available */
	(void)inb(COM1 + UART_IIR);
}

static void con_write(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
}

void console_write_raw(const char *s, size_t n)
{
	spin_lock(&con_lock);
	for (size_t i = 0; i < n; i++)
		uart_putc(s[i]);
	spin_unlock(&con_lock);
}

static void vprintk(bool lock, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (lock)
		spin_lock(&con_lock);
	con_write(buf);
	if (lock)
		spin_unlock(&con_lock);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(true, fmt, ap);
	va_end(ap);
}

void printk_unlocked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintk(false, fmt, ap);
	va_end(ap);
}
