/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dev_serial.c — 16550A-compatible UART at 0x3f8, IRQ 4 (ttyS0).
 *
 * TX bytes go to the console fd as the guest writes them (vCPU thread).
 * RX bytes come from the console input fd on the VMM thread into a 64-byte
 * FIFO; while the FIFO is full the input fd is not polled (back-pressure).
 * Interrupts (RX data available, THR empty) are raised through an irqfd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vm.h"

#define SERIAL_PORT 0x3f8
#define SERIAL_IRQ  4
#define FIFO_SIZE   64

/* register offsets */
#define RBR_THR 0   /* DLL when DLAB */
#define IER     1   /* DLM when DLAB */
#define IIR_FCR 2
#define LCR     3
#define MCR     4
#define LSR     5
#define MSR     6
#define SCR     7

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IIR_NONE  0x01
#define IIR_THRI  0x02
#define IIR_RDI   0x04
#define IIR_FIFO  0xc0
#define LCR_DLAB  0x80
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define MSR_DEFAULT 0xb0 /* DCD, DSR, CTS */

struct serial {
	struct vm *vm;
	pthread_mutex_t lock;
	int in_fd, out_fd, irq_fd;
	bool in_polled;
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thr_pending;   /* THR-empty interrupt waiting to be read in IIR */
	uint8_t fifo[FIFO_SIZE];
	unsigned head, count;
	uint64_t tx_bytes, rx_bytes, tx_errors;
};

static void raise_irq(struct serial *s)
{
	uint64_t one = 1;

	if (write(s->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("serial: irqfd write: %s", strerror(errno));
}

static uint8_t iir_locked(const struct serial *s)
{
	if ((s->ier & IER_RDI) && s->count)
		return IIR_RDI;
	if ((s->ier & IER_THRI) && s->thr_pending)
		return IIR_THRI;
	return IIR_NONE;
}

/* Raise the line when an interrupt condition is pending. */
static void update_irq_locked(struct serial *s)
{
	if (iir_locked(s) != IIR_NONE)
		raise_irq(s);
}

static void fifo_push(struct serial *s, uint8_t b)
{
	if (s->count == FIFO_SIZE)
		return;
	s->fifo[(s->head + s->count) % FIFO_SIZE] = b;
	s->count++;
}

static void in_poll_update_locked(struct serial *s)
{
	bool want = s->in_fd >= 0 && s->count < FIFO_SIZE;

	if (want == s->in_polled)
		return;
	/* evloop_mod runs epoll_ctl, which is thread-safe. */
	if (evloop_mod(s->vm->loop, s->in_fd, want ? EPOLLIN : 0) == 0)
		s->in_polled = want;
}

/* Called with s->lock held; drops it around the write. The console may be
 * a pipe nobody reads: the vCPU then blocks in write(), but without the
 * lock (so the VMM thread's serial input and metrics never wait for it),
 * and a kick (pause, stop) interrupts the write: the byte is dropped and
 * counted rather than retried, so the vCPU can honour the request. */
static void serial_tx(struct serial *s, uint8_t b)
{
	ssize_t n;

	if (s->mcr & MCR_LOOP) {
		fifo_push(s, b);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	n = write(s->out_fd, &b, 1);
	pthread_mutex_lock(&s->lock);
	if (n == 1)
		s->tx_bytes++;
	else
		s->tx_errors++;
}

static void serial_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t v = 0xff;

	memset(data, 0xff, len);
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
			break;
		}
		v = 0;
		if (s->count) {
			v = s->fifo[s->head];
			s->head = (s->head + 1) % FIFO_SIZE;
			s->count--;
			in_poll_update_locked(s);
			update_irq_locked(s);
		}
		break;
	case IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case IIR_FCR:
		v = iir_locked(s);
		if (v == IIR_THRI)
			s->thr_pending = false; /* reading IIR clears THRE */
		v |= (s->fcr & 1) ? IIR_FIFO : 0;
		break;
	case LCR:
		v = s->lcr;
		break;
	case MCR:
		v = s->mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (s->count ? LSR_DR : 0);
		break;
	case MSR:
		if (s->mcr & MCR_LOOP)
			v = (uint8_t)(((s->mcr & 0x0c) << 4) | ((s->mcr & 0x01) << 5) |
				      ((s->mcr & 0x02) << 3));
		else
			v = MSR_DEFAULT;
		break;
	case SCR:
		v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	data[0] = v;
}

static void serial_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t v = data[0];

	(void)len;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		serial_tx(s, v);
		s->thr_pending = true;   /* transmitter is immediately empty again */
		update_irq_locked(s);
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		if (!(s->ier & IER_THRI) && (v & IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		update_irq_locked(s);
		break;
	case IIR_FCR:
		s->fcr = v;
		if (v & 0x02) {   /* clear RX FIFO */
			s->head = s->count = 0;
			in_poll_update_locked(s);
		}
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default:
		break;   /* LSR and MSR are read-only */
	}
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = { serial_read, serial_write };

static void serial_input(int fd, uint32_t events, void *opaque)
{
	struct serial *s = opaque;
	uint8_t buf[FIFO_SIZE];
	ssize_t n;

	pthread_mutex_lock(&s->lock);
	n = read(fd, buf, FIFO_SIZE - s->count);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			fifo_push(s, buf[i]);
		s->rx_bytes += (uint64_t)n;
		update_irq_locked(s);
		in_poll_update_locked(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EOF or error: no more console input. */
		evloop_del(s->vm->loop, fd);
		s->in_fd = -1;
		s->in_polled = false;
	}
	(void)events;
	pthread_mutex_unlock(&s->lock);
}

struct serial *serial_create(struct vm *vm, int in_fd, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->in_fd = in_fd;
	s->out_fd = out_fd;
	s->dll = 0x0c;   /* 9600 baud */
	s->lcr = 0x03;   /* 8N1 */
	s->mcr = 0x08;   /* OUT2 */
	pthread_mutex_init(&s->lock, NULL);
	s->irq_fd = vm_irqfd(vm, SERIAL_IRQ);
	if (s->irq_fd < 0)
		goto fail;
	if (vm_bus_register(vm, BUS_PIO, SERIAL_PORT, 8, &serial_ops, s, "serial") < 0)
		goto fail;
	if (in_fd >= 0) {
		if (evloop_add(vm->loop, in_fd, EPOLLIN, serial_input, s) < 0) {
			/* e.g. a regular file cannot be polled: run without input */
			log_warn("serial: console input is not pollable; guest input disabled");
			s->in_fd = -1;
		} else {
			s->in_polled = true;
		}
	}
	return s;
fail:
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	free(s);
	return NULL;
}

void serial_get_stats(struct serial *s, struct serial_stats *out)
{
	pthread_mutex_lock(&s->lock);
	out->tx_bytes = s->tx_bytes;
	out->rx_bytes = s->rx_bytes;
	out->tx_errors = s->tx_errors;
	pthread_mutex_unlock(&s->lock);
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	if (s->in_fd >= 0)
		evloop_del(s->vm->loop, s->in_fd);
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	free(s);
}
