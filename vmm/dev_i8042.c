/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dev_i8042.c — the minimal i8042 keyboard controller a Linux guest needs:
 * status and data ports, the controller command byte, self-tests, the
 * 0xFE pulse-reset command (the VM then ends with status 0), and injected
 * keyboard scancodes for SendCtrlAltDel (IRQ 1).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

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

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	int irq_fd;
	uint8_t status, ctr, outp, pending_cmd;
	uint8_t buf[BUF_SIZE];
	unsigned head, count;
};

static void raise_irq_locked(struct i8042 *k)
{
	uint64_t one = 1;

	if ((k->ctr & CTR_KBD_INT) && k->count &&
	    write(k->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("i8042: irqfd write: %s", strerror(errno));
}

static void push_locked(struct i8042 *k, uint8_t b)
{
	if (k->count == BUF_SIZE)
		return;
	k->buf[(k->head + k->count) % BUF_SIZE] = b;
	k->count++;
	k->status |= ST_OBF;
}

static uint8_t pop_locked(struct i8042 *k)
{
	uint8_t b;

	if (!k->count)
		return 0;
	b = k->buf[k->head];
	k->head = (k->head + 1) % BUF_SIZE;
	if (--k->count == 0)
		k->status &= (uint8_t)~ST_OBF;
	return b;
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	struct i8042 *k = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&k->lock);
	if (off == 0) {          /* 0x60 data */
		data[0] = pop_locked(k);
		raise_irq_locked(k);   /* next key of a sequence */
	} else if (off == 4) {   /* 0x64 status */
		data[0] = k->status;
	} else {
		data[0] = 0xff;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status |= ST_CMD;
	switch (cmd) {
	case CMD_READ_CTR:
		push_locked(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->pending_cmd = cmd;
		break;
	case CMD_READ_OUTP:
		push_locked(k, k->outp);
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
		vm_request_exit(k->vm, WISP_EXIT_OK);
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
	if (off == 4) {
		i8042_command(k, v);
	} else if (off == 0) {
		k->status &= (uint8_t)~ST_CMD;
		switch (k->pending_cmd) {
		case CMD_WRITE_CTR:
			k->ctr = v;
			break;
		case CMD_WRITE_OUTP:
			k->outp = v;
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
		k->pending_cmd = 0;
	}
	pthread_mutex_unlock(&k->lock);
}

static const struct bus_ops i8042_ops = { i8042_read, i8042_write };

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	static const uint8_t seq[] = { 0x1d, 0x38, 0xe0, 0x53 };
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (k->count + sizeof(seq) > BUF_SIZE) {
		r = -EBUSY;
	} else {
		for (size_t i = 0; i < sizeof(seq); i++)
			push_locked(k, seq[i]);
		raise_irq_locked(k);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

struct i8042 *i8042_create(struct vm *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->vm = vm;
	k->status = ST_SYS | ST_UNLOCKED;
	k->ctr = CTR_KBD_INT | 0x04;   /* keyboard interrupt on, system flag */
	k->outp = 0x01;                /* A20... reset line inactive */
	pthread_mutex_init(&k->lock, NULL);
	k->irq_fd = vm_irqfd(vm, I8042_IRQ);
	if (k->irq_fd < 0) {
		free(k);
		return NULL;
	}
	/* 0x60..0x64: data at +0, status/command at +4; 0x61 (the PIT's
	 * speaker port) is handled inside KVM and never reaches us. */
	if (vm_bus_register(vm, BUS_PIO, I8042_DATA, 5, &i8042_ops, k, "i8042") < 0) {
		close(k->irq_fd);
		free(k);
		return NULL;
	}
	return k;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	close(k->irq_fd);
	free(k);
}
