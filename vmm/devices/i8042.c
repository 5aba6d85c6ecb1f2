/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042.c — the minimal i8042 keyboard controller a Linux guest needs:
 * status and data ports, the controller command byte, self-tests, the
 * 0xFE pulse-reset command (the VM then ends with status 0), and injected
 * keyboard scancodes for SendCtrlAltDel (IRQ 1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

#define I8042_DATA   0x60
#define I8042_IRQ    1
#define BUF_SIZE     16

#define ST_OBF       0x01
#define ST_SYS       0x04
#define ST_CMD       0x08   /* last write was to the command port */
#define ST_UNLOCKED  0x10

#define CMD_READ_CTR   0x20
#define CMD_WRITE_CTR  0x60
#define CMD_DISABLE_AUX 0xa7
#define CMD_ENABLE_AUX 0xa8
#define CMD_TEST_AUX   0xa9
#define CMD_SELF_TEST  0xaa
#define CMD_TEST_KBD   0xab
#define CMD_DISABLE_KBD 0xad
#define CMD_ENABLE_KBD 0xae
#define CMD_READ_OUTP  0xd0
#define CMD_WRITE_OUTP 0xd1
#define CMD_RESET      0xfe

#define CTR_KBD_INT    0x01

/* Guest-visible state: what a snapshot saves (fixed layout). */
struct i8042_state {
	uint8_t status, ctr, outp, pending_cmd;
	uint32_t head, count;
	uint8_t buf[BUF_SIZE];
};
_Static_assert(sizeof(struct i8042_state) == 28, "i8042_state layout");

struct i8042 {
	struct vm_services svc;
	pthread_mutex_t lock;
	int irq_fd;
	struct i8042_state st;
	uint64_t reads, writes, resets;
};

static void raise_irq_locked(struct i8042 *k)
{
	uint64_t one = 1;

	if ((k->st.ctr & CTR_KBD_INT) && k->st.count &&
	    write(k->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("i8042: irqfd write: %s", strerror(errno));
}

static void push_locked(struct i8042 *k, uint8_t b)
{
	if (k->st.count == BUF_SIZE)
		return;
	k->st.buf[(k->st.head + k->st.count) % BUF_SIZE] = b;
	k->st.count++;
	k->st.status |= ST_OBF;
}

static uint8_t pop_locked(struct i8042 *k)
{
	uint8_t b;

	if (!k->st.count)
		return 0;
	b = k->st.buf[k->st.head];
	k->st.head = (k->st.head + 1) % BUF_SIZE;
	if (--k->st.count == 0)
		k->st.status &= (uint8_t)~ST_OBF;
	return b;
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	k->reads++;
	if (off == 0) {          /* 0x60 data */
		data[0] = pop_locked(k);
		raise_irq_locked(k);   /* next key of a sequence */
	} else if (off == 4) {   /* 0x64 status */
		data[0] = k->st.status;
	} else {
		data[0] = 0xff;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->st.status |= ST_CMD;
	switch (cmd) {
	case CMD_READ_CTR:
		push_locked(k, k->st.ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->st.pending_cmd = cmd;
		break;
	case CMD_READ_OUTP:
		push_locked(k, k->st.outp);
		break;
	case CMD_SELF_TEST:
		push_locked(k, 0x55);
		break;
	case CMD_TEST_KBD:
	case CMD_TEST_AUX:
		push_locked(k, 0x00);
		break;
	case CMD_DISABLE_KBD:
	case CMD_ENABLE_KBD:
	case CMD_DISABLE_AUX:
	case CMD_ENABLE_AUX:
		break;
	case CMD_RESET:
		log_info("i8042: guest requested a reset (command 0xfe)");
		k->resets++;
		k->svc.request_exit(k->svc.vm, 0);
		break;
	default:
		log_debug("i8042: unhandled command 0x%02x", cmd);
		break;
	}
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct i8042 *k = opaque;
	uint8_t v = data[0];

	(void)len;
	pthread_mutex_lock(&k->lock);
	k->writes++;
	if (off == 4) {
		i8042_command(k, v);
	} else if (off == 0) {
		k->st.status &= (uint8_t)~ST_CMD;
		switch (k->st.pending_cmd) {
		case CMD_WRITE_CTR:
			k->st.ctr = v;
			break;
		case CMD_WRITE_OUTP:
			k->st.outp = v;
			break;
		default:
			/* a keyboard command: acknowledge it (0xff reset also
			 * answers "self-test passed") */
			push_locked(k, 0xfa);
			if (v == 0xff)
				push_locked(k, 0xaa);
			raise_irq_locked(k);
			break;
		}
		k->st.pending_cmd = 0;
	}
	pthread_mutex_unlock(&k->lock);
}

static const struct bus_ops i8042_ops = { i8042_read, i8042_write };

int i8042_send_ctrl_alt_del(void *dev)
{
	struct i8042 *k = dev;
	static const uint8_t seq[] = { 0x1d, 0x38, 0xe0, 0x53 };
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (k->st.count + sizeof(seq) > BUF_SIZE) {
		r = -EBUSY;
	} else {
		for (size_t i = 0; i < sizeof(seq); i++)
			push_locked(k, seq[i]);
		raise_irq_locked(k);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* ---------------- the device interface ---------------- */

static void i8042_reset(void *dev)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	memset(&k->st, 0, sizeof(k->st));
	k->st.status = ST_SYS | ST_UNLOCKED;
	k->st.ctr = CTR_KBD_INT | 0x04;   /* keyboard interrupt on, system flag */
	k->st.outp = 0x01;                /* A20... reset line inactive */
	pthread_mutex_unlock(&k->lock);
}

static int i8042_quiesce(void *dev)
{
	(void)dev;
	return 0;
}

static size_t i8042_state_size(void *dev)
{
	(void)dev;
	return sizeof(struct i8042_state);
}

static int i8042_save(void *dev, void *buf, size_t len)
{
	struct i8042 *k = dev;

	if (len != sizeof(k->st))
		return -EINVAL;
	pthread_mutex_lock(&k->lock);
	memcpy(buf, &k->st, sizeof(k->st));
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static int i8042_restore(void *dev, const void *buf, size_t len, char *err, size_t errlen)
{
	struct i8042 *k = dev;
	struct i8042_state st;

	if (len != sizeof(st)) {
		snprintf(err, errlen, "i8042: state is %zu bytes, expected %zu", len, sizeof(st));
		return -EINVAL;
	}
	memcpy(&st, buf, sizeof(st));
	if (st.head >= BUF_SIZE || st.count > BUF_SIZE) {
		snprintf(err, errlen, "i8042: invalid buffer state (head %u, count %u)", st.head,
			 st.count);
		return -EINVAL;
	}
	pthread_mutex_lock(&k->lock);
	k->st = st;
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void i8042_restored(void *dev)
{
	struct i8042 *k = dev;

	pthread_mutex_lock(&k->lock);
	raise_irq_locked(k);
	pthread_mutex_unlock(&k->lock);
}

static void i8042_metrics(void *dev, struct metric_sink *sink)
{
	struct i8042 *k = dev;
	uint64_t r = 0, w = 0, z = 0;

	if (k) {
		pthread_mutex_lock(&k->lock);
		r = k->reads;
		w = k->writes;
		z = k->resets;
		pthread_mutex_unlock(&k->lock);
	}
	sink->put(sink, "read_count", r);
	sink->put(sink, "write_count", w);
	sink->put(sink, "reset_count", z);
	sink->put(sink, "error_count", 0);
	sink->put(sink, "missed_read_count", 0);
	sink->put(sink, "missed_write_count", 0);
}

static void i8042_destroy(void *dev)
{
	struct i8042 *k = dev;

	if (!k)
		return;
	if (k->irq_fd >= 0)
		close(k->irq_fd);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

const struct device_ops i8042_device_ops = {
	.kind = "i8042",
	.metrics_section = "i8042",
	.reset = i8042_reset,
	.quiesce = i8042_quiesce,
	.state_size = i8042_state_size,
	.save = i8042_save,
	.restore = i8042_restore,
	.restored = i8042_restored,
	.metrics = i8042_metrics,
	.destroy = i8042_destroy,
};

int i8042_create(const struct vm_services *svc, struct device *out, char *err, size_t errlen)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int r;

	if (!k) {
		snprintf(err, errlen, "i8042: out of memory");
		return -ENOMEM;
	}
	k->svc = *svc;
	pthread_mutex_init(&k->lock, NULL);
	i8042_reset(k);
	k->irq_fd = svc->irqfd(svc->vm, I8042_IRQ);
	if (k->irq_fd < 0) {
		r = k->irq_fd;
		snprintf(err, errlen, "i8042: cannot wire IRQ %d: %s", I8042_IRQ, strerror(-r));
		goto fail;
	}
	/* 0x60..0x64: data at +0, status/command at +4; 0x61 (the PIT's
	 * speaker port) is handled inside KVM and never reaches us. */
	r = svc->bus_register(svc->vm, BUS_PIO, I8042_DATA, 5, &i8042_ops, k, "i8042");
	if (r < 0) {
		snprintf(err, errlen, "i8042: cannot register ports 0x60-0x64: %s", strerror(-r));
		goto fail;
	}
	*out = (struct device){ .ops = &i8042_device_ops, .dev = k, .irq = I8042_IRQ };
	return 0;
fail:
	i8042_destroy(k);
	return r;
}
