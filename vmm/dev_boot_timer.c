/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dev_boot_timer.c — the boot-complete marker on the first MMIO page: a
 * 1-byte write of 123 logs Firecracker's Guest-boot-time line (wall and CPU
 * time since the VMM process started).
 */
#include <stdlib.h>
#include <time.h>

#include "vm.h"

#define BOOT_COMPLETE_MAGIC 123

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

	if (off != 0 || len != 1 || data[0] != BOOT_COMPLETE_MAGIC)
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

struct boot_timer *boot_timer_create(struct vm *vm, uint64_t start_us, uint64_t start_cpu_us)
{
	struct boot_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->start_us = start_us;
	t->start_cpu_us = start_cpu_us;
	if (vm_bus_register(vm, BUS_MMIO, BOOT_TIMER_ADDR, 0x1000, &boot_timer_ops, t,
			    "boot-timer") < 0) {
		free(t);
		return NULL;
	}
	return t;
}

void boot_timer_destroy(struct boot_timer *t)
{
	free(t);
}
