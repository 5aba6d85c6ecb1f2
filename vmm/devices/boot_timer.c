/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_timer.c — the boot-complete marker on the first MMIO page: a
 * 1-byte write of 123 logs Firecracker's Guest-boot-time line (wall and CPU
 * time since the VMM process started).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm.h"

struct boot_timer {
	uint64_t start_us, start_cpu_us;
};

static uint64_t clock_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void boot_timer_write(void *opaque, uint64_t off, const uint8_t *data, unsigned len)
{
	struct boot_timer *t = opaque;
	uint64_t us, cpu_us;

	if (off != 0 || len != 1 || data[0] != BOOT_COMPLETE_VALUE)
		return;
	us = clock_us(CLOCK_MONOTONIC) - t->start_us;
	cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID) - t->start_cpu_us;
	log_info("Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
		 (unsigned long long)us, (unsigned long long)(us / 1000),
		 (unsigned long long)cpu_us, (unsigned long long)(cpu_us / 1000));
}

static void boot_timer_read(void *opaque, uint64_t off, uint8_t *data, unsigned len)
{
	(void)opaque;
	(void)off;
	for (unsigned i = 0; i < len; i++)
		data[i] = 0;
}

static const struct bus_ops boot_timer_ops = { boot_timer_read, boot_timer_write };

/* ---------------- the device interface ----------------
 * No guest-visible state: the page reads as zeros and only the write of
 * 123 is acted on. After a restore the timer measures from the new
 * process's start. */

static size_t boot_timer_state_size(void *dev)
{
	(void)dev;
	return 0;
}

static int boot_timer_save(void *dev, void *buf, size_t len)
{
	(void)dev;
	(void)buf;
	return len == 0 ? 0 : -EINVAL;
}

static int boot_timer_restore(void *dev, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)dev;
	(void)buf;
	if (len != 0) {
		snprintf(err, errlen, "boot-timer: state is %zu bytes, expected none", len);
		return -EINVAL;
	}
	return 0;
}

static void boot_timer_destroy(void *dev)
{
	free(dev);
}

const struct device_ops boot_timer_device_ops = {
	.kind = "boot-timer",
	.state_size = boot_timer_state_size,
	.save = boot_timer_save,
	.restore = boot_timer_restore,
	.destroy = boot_timer_destroy,
};

int boot_timer_create(const struct vm_services *svc, uint64_t start_us, uint64_t start_cpu_us,
		      struct device *out, char *err, size_t errlen)
{
	struct boot_timer *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		snprintf(err, errlen, "boot-timer: out of memory");
		return -ENOMEM;
	}
	t->start_us = start_us;
	t->start_cpu_us = start_cpu_us;
	r = svc->bus_register(svc->vm, BUS_MMIO, BOOT_TIMER_ADDR, 0x1000, &boot_timer_ops, t,
			      "boot-timer");
	if (r < 0) {
		snprintf(err, errlen, "boot-timer: cannot register MMIO page 0x%llx: %s",
			 (unsigned long long)BOOT_TIMER_ADDR, strerror(-r));
		free(t);
		return r;
	}
	*out = (struct device){ .ops = &boot_timer_device_ops, .dev = t,
				.mmio_base = BOOT_TIMER_ADDR };
	return 0;
}
