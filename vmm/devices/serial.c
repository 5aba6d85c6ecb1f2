/* SPDX-License-Identifier: Apache-2.0 */
/*
 * serial.c — 16550A-compatible UART at 0x3f8, IRQ 4 (ttyS0).
 *
 * TX bytes go to the console fd as the guest writes them (vCPU thread).
 * RX bytes come from the console input fd on the VMM thread into a 64-byte
 * FIFO; while the FIFO is full the input fd is not polled (back-pressure).
 * Interrupts (RX data available, THR empty) are raised through an irqfd.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"
#include "vmm.h"

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

/* Guest-visible state: what a snapshot saves (fixed layout). */
struct serial_state {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	uint8_t thr_pending;   /* THR-empty interrupt waiting to be read in IIR */
	uint32_t head, count;  /* RX FIFO */
	uint8_t fifo[FIFO_SIZE];
};
_Static_assert(sizeof(struct serial_state) == 80, "serial_state layout");

struct serial {
	struct vm_services svc;
	pthread_mutex_t lock;
	int in_fd, out_fd, irq_fd;
	bool in_polled;
	struct serial_state st;
	uint64_t tx_bytes, rx_bytes, tx_errors;
	/* PUT /serial's rate_limiter (bytes): what exceeds it is dropped and
	 * counted, as Firecracker's SerialOut does. */
	bool has_rl;
	struct token_bucket rl;
	uint64_t rl_dropped;
};

static uint64_t serial_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void raise_irq(struct serial *s)
{
	uint64_t one = 1;

	if (write(s->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("serial: irqfd write: %s", strerror(errno));
}

static uint8_t iir_locked(const struct serial *s)
{
	if ((s->st.ier & IER_RDI) && s->st.count)
		return IIR_RDI;
	if ((s->st.ier & IER_THRI) && s->st.thr_pending)
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
	if (s->st.count == FIFO_SIZE)
		return;
	s->st.fifo[(s->st.head + s->st.count) % FIFO_SIZE] = b;
	s->st.count++;
}

static void in_poll_update_locked(struct serial *s)
{
	bool want = s->in_fd >= 0 && s->st.count < FIFO_SIZE;

	if (want == s->in_polled)
		return;
	/* evloop_mod runs epoll_ctl, which is thread-safe. */
	if (s->svc.fd_mod(s->svc.loop, s->in_fd, want ? EPOLLIN : 0) == 0)
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

	if (s->st.mcr & MCR_LOOP) {
		fifo_push(s, b);
		return;
	}
	if (s->has_rl) {
		uint64_t block_ns;

		if (token_bucket_reduce(&s->rl, 1, serial_now_ns(), &block_ns) != TB_SUCCESS) {
			s->rl_dropped++;
			return;
		}
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
		if (s->st.lcr & LCR_DLAB) {
			v = s->st.dll;
			break;
		}
		v = 0;
		if (s->st.count) {
			v = s->st.fifo[s->st.head];
			s->st.head = (s->st.head + 1) % FIFO_SIZE;
			s->st.count--;
			in_poll_update_locked(s);
			update_irq_locked(s);
		}
		break;
	case IER:
		v = (s->st.lcr & LCR_DLAB) ? s->st.dlm : s->st.ier;
		break;
	case IIR_FCR:
		v = iir_locked(s);
		if (v == IIR_THRI)
			s->st.thr_pending = false; /* reading IIR clears THRE */
		v |= (s->st.fcr & 1) ? IIR_FIFO : 0;
		break;
	case LCR:
		v = s->st.lcr;
		break;
	case MCR:
		v = s->st.mcr;
		break;
	case LSR:
		v = LSR_THRE | LSR_TEMT | (s->st.count ? LSR_DR : 0);
		break;
	case MSR:
		if (s->st.mcr & MCR_LOOP)
			v = (uint8_t)(((s->st.mcr & 0x0c) << 4) | ((s->st.mcr & 0x01) << 5) |
				      ((s->st.mcr & 0x02) << 3));
		else
			v = MSR_DEFAULT;
		break;
	case SCR:
		v = s->st.scr;
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
		if (s->st.lcr & LCR_DLAB) {
			s->st.dll = v;
			break;
		}
		serial_tx(s, v);
		s->st.thr_pending = true;   /* transmitter is immediately empty again */
		update_irq_locked(s);
		break;
	case IER:
		if (s->st.lcr & LCR_DLAB) {
			s->st.dlm = v;
			break;
		}
		if (!(s->st.ier & IER_THRI) && (v & IER_THRI))
			s->st.thr_pending = true;
		s->st.ier = v & 0x0f;
		update_irq_locked(s);
		break;
	case IIR_FCR:
		s->st.fcr = v;
		if (v & 0x02) {   /* clear RX FIFO */
			s->st.head = s->st.count = 0;
			in_poll_update_locked(s);
		}
		break;
	case LCR:
		s->st.lcr = v;
		break;
	case MCR:
		s->st.mcr = v & 0x1f;
		break;
	case SCR:
		s->st.scr = v;
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
	n = read(fd, buf, FIFO_SIZE - s->st.count);
	if (n > 0) {
		for (ssize_t i = 0; i < n; i++)
			fifo_push(s, buf[i]);
		s->rx_bytes += (uint64_t)n;
		update_irq_locked(s);
		in_poll_update_locked(s);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* EOF or error: no more console input. */
		s->svc.fd_del(s->svc.loop, fd);
		s->in_fd = -1;
		s->in_polled = false;
	}
	(void)events;
	pthread_mutex_unlock(&s->lock);
}

/* ---------------- the device interface ---------------- */

static void serial_reset(void *dev)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	memset(&s->st, 0, sizeof(s->st));
	s->st.dll = 0x0c;   /* 9600 baud */
	s->st.lcr = 0x03;   /* 8N1 */
	s->st.mcr = 0x08;   /* OUT2 */
	in_poll_update_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static int serial_quiesce(void *dev)
{
	(void)dev;   /* output is written synchronously; nothing in flight */
	return 0;
}

static size_t serial_state_size(void *dev)
{
	(void)dev;
	return sizeof(struct serial_state);
}

static int serial_save(void *dev, void *buf, size_t len)
{
	struct serial *s = dev;

	if (len != sizeof(s->st))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	memcpy(buf, &s->st, sizeof(s->st));
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int serial_restore(void *dev, const void *buf, size_t len, char *err, size_t errlen)
{
	struct serial *s = dev;
	struct serial_state st;

	if (len != sizeof(st)) {
		snprintf(err, errlen, "serial: state is %zu bytes, expected %zu", len, sizeof(st));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	if (st.head >= FIFO_SIZE || st.count > FIFO_SIZE || st.thr_pending > 1) {
		snprintf(err, errlen, "serial: invalid FIFO state (head %u, count %u)", st.head,
			 st.count);
		return -EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	s->st = st;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void serial_restored(void *dev)
{
	struct serial *s = dev;

	pthread_mutex_lock(&s->lock);
	in_poll_update_locked(s);
	update_irq_locked(s);   /* a pending interrupt is raised again */
	pthread_mutex_unlock(&s->lock);
}

static void serial_metrics(void *dev, struct metric_sink *sink)
{
	struct serial *s = dev;
	uint64_t tx = 0, rx = 0, errs = 0, dropped = 0;

	if (s) {
		pthread_mutex_lock(&s->lock);
		tx = s->tx_bytes;
		rx = s->rx_bytes;
		errs = s->tx_errors;
		dropped = s->rl_dropped;
		pthread_mutex_unlock(&s->lock);
	}
	sink->put(sink, "read_count", rx);
	sink->put(sink, "write_count", tx);
	sink->put(sink, "error_count", errs);
	sink->put(sink, "missed_read_count", 0);
	sink->put(sink, "missed_write_count", 0);
	sink->put(sink, "flush_count", 0);
	sink->put(sink, "rate_limiter_dropped_bytes", dropped);
}

static void serial_destroy(void *dev)
{
	struct serial *s = dev;

	if (!s)
		return;
	if (s->in_fd >= 0 && s->svc.fd_del)
		s->svc.fd_del(s->svc.loop, s->in_fd);
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int serial_set_rate_limiter(struct device *d, const struct token_bucket_config *tb)
{
	struct serial *s = d->dev;
	int r = 0;

	if (d->ops != &serial_device_ops)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->has_rl = token_bucket_limits(tb) &&
		    token_bucket_init(&s->rl, tb->size, tb->one_time_burst, tb->refill_time,
				      serial_now_ns());
	if (token_bucket_limits(tb) && !s->has_rl)
		r = -EINVAL;
	pthread_mutex_unlock(&s->lock);
	return r;
}

const struct device_ops serial_device_ops = {
	.kind = "serial",
	.metrics_section = "uart",
	.reset = serial_reset,
	.quiesce = serial_quiesce,
	.state_size = serial_state_size,
	.save = serial_save,
	.restore = serial_restore,
	.restored = serial_restored,
	.metrics = serial_metrics,
	.destroy = serial_destroy,
};

int serial_create(const struct vm_services *svc, int in_fd, int out_fd, struct device *out,
		  char *err, size_t errlen)
{
	struct serial *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		snprintf(err, errlen, "serial: out of memory");
		return -ENOMEM;
	}
	s->svc = *svc;
	s->in_fd = -1;
	s->out_fd = out_fd;
	pthread_mutex_init(&s->lock, NULL);
	serial_reset(s);
	s->irq_fd = svc->irqfd(svc->vm, SERIAL_IRQ);
	if (s->irq_fd < 0) {
		r = s->irq_fd;
		snprintf(err, errlen, "serial: cannot wire IRQ %d: %s", SERIAL_IRQ, strerror(-r));
		goto fail;
	}
	r = svc->bus_register(svc->vm, BUS_PIO, SERIAL_PORT, 8, &serial_ops, s, "serial");
	if (r < 0) {
		snprintf(err, errlen, "serial: cannot register ports 0x%x: %s", SERIAL_PORT,
			 strerror(-r));
		goto fail;
	}
	if (in_fd >= 0) {
		if (svc->fd_add(svc->loop, in_fd, EPOLLIN, serial_input, s) < 0) {
			/* e.g. a regular file cannot be polled: run without input */
			log_warn("serial: console input is not pollable; guest input disabled");
		} else {
			s->in_fd = in_fd;
			s->in_polled = true;
		}
	}
	*out = (struct device){ .ops = &serial_device_ops, .dev = s, .irq = SERIAL_IRQ };
	return 0;
fail:
	serial_destroy(s);
	return r;
}
