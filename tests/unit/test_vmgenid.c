/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the VMGenID device (vmm/devices/vmgenid.c) through the device
 * interface, with fake VM services (guest memory a malloc'd buffer, irqfd a
 * plain eventfd the test reads), so they run without /dev/kvm. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../check_main.h"
#include "vmm/vmm.h"

#define RAM_SIZE 0x100000ULL   /* 1 MiB of "guest RAM" at guest-physical 0 */
#define ADDR     0xDF000ULL    /* where acpi/acpi.h puts it (ACPI_VMGENID_ADDR) */

static uint8_t *RAM;
static struct guest_mem MEM;
static int IRQFD = -1;
static unsigned IRQFD_GSI;
static int IRQFD_CALLS;
static bool IRQFD_FAIL;

static int fake_irqfd(void *vm, unsigned gsi)
{
	(void)vm;
	IRQFD_CALLS++;
	IRQFD_GSI = gsi;
	if (IRQFD_FAIL)
		return -EINVAL;
	IRQFD = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return IRQFD;
}

static struct vm_services SVC = { .irqfd = fake_irqfd };

static void setup(void)
{
	RAM = calloc(1, RAM_SIZE);
	ck_assert_ptr_nonnull(RAM);
	MEM = (struct guest_mem){ .nr_regions = 1,
				  .regions = { { .gpa = 0, .size = RAM_SIZE, .hva = RAM } } };
	SVC.mem = &MEM;
	IRQFD = -1;
	IRQFD_CALLS = 0;
	IRQFD_FAIL = false;
}

static void teardown(void)
{
	free(RAM);
	RAM = NULL;
}

/* How many times the GED interrupt was raised since the last call. */
static uint64_t irqs_raised(void)
{
	uint64_t v = 0;

	if (read(IRQFD, &v, sizeof(v)) != (ssize_t)sizeof(v))
		return 0;   /* EAGAIN: never written */
	return v;
}

static void create(struct device *d)
{
	char err[200] = "";

	ck_assert_msg(vmgenid_create(&SVC, ADDR, GED_IRQ, d, err, sizeof(err)) == 0, "%s", err);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* What a snapshot holds: save into a buffer of state_size bytes. */
static uint8_t *save(const struct device *d, size_t *len)
{
	uint8_t *buf;

	*len = d->ops->state_size(d->dev);
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(d->ops->save(d->dev, buf, *len), 0);
	return buf;
}

START_TEST(create_writes_a_random_id_at_its_address)
{
	struct device a, b;
	uint8_t id[VMGENID_ID_SIZE];

	create(&a);
	ck_assert_str_eq(a.ops->kind, "vmgenid");
	ck_assert_ptr_null(a.ops->metrics_section);   /* Firecracker has no vmgenid metrics */
	ck_assert_uint_eq(a.irq, GED_IRQ);
	ck_assert_uint_eq(a.mmio_base, 0);
	ck_assert_int_eq(IRQFD_CALLS, 1);
	ck_assert_uint_eq(IRQFD_GSI, GED_IRQ);
	ck_assert_uint_eq(GED_IRQ, 3);
	/* The 16 bytes at the address are the device's ID, and nothing else
	 * of guest memory changed. */
	vmgenid_get(a.dev, id);
	ck_assert(!all_zero(id, sizeof(id)));
	ck_assert_int_eq(memcmp(RAM + ADDR, id, sizeof(id)), 0);
	ck_assert(all_zero(RAM, ADDR));
	ck_assert(all_zero(RAM + ADDR + VMGENID_ID_SIZE, RAM_SIZE - ADDR - VMGENID_ID_SIZE));
	/* Creating the device raised nothing. */
	ck_assert_uint_eq(irqs_raised(), 0);
	/* Another VM gets another ID. */
	create(&b);
	ck_assert_int_ne(memcmp(RAM + ADDR, id, sizeof(id)), 0);
	b.ops->destroy(b.dev);
	a.ops->destroy(a.dev);
}
END_TEST

START_TEST(restore_gives_a_new_id_and_restored_raises_the_irq_once)
{
	struct device d, clone;
	uint8_t old_id[VMGENID_ID_SIZE], boot_id[VMGENID_ID_SIZE], new_id[VMGENID_ID_SIZE];
	uint8_t *st, *st2;
	size_t len, len2;
	char err[200] = "";
	int fd_old;

	create(&d);
	fd_old = IRQFD;
	vmgenid_get(d.dev, old_id);
	st = save(&d, &len);
	ck_assert_uint_eq(len, 32);
	/* The saved state: address, GSI, reserved 0, the ID (little-endian). */
	ck_assert_uint_eq(ld_le64(st), ADDR);
	ck_assert_uint_eq(ld_le32(st + 8), GED_IRQ);
	ck_assert_uint_eq(ld_le32(st + 12), 0);
	ck_assert_int_eq(memcmp(st + 16, old_id, VMGENID_ID_SIZE), 0);

	/* A clone: a new VM's device (its own boot ID), given the state. */
	memcpy(RAM + ADDR, old_id, VMGENID_ID_SIZE);   /* what the memory file holds */
	create(&clone);
	vmgenid_get(clone.dev, boot_id);
	memcpy(RAM + ADDR, old_id, VMGENID_ID_SIZE);
	ck_assert_msg(clone.ops->restore(clone.dev, st, len, err, sizeof(err)) == 0, "%s", err);
	vmgenid_get(clone.dev, new_id);
	ck_assert_int_ne(memcmp(new_id, old_id, VMGENID_ID_SIZE), 0);
	ck_assert_int_ne(memcmp(new_id, boot_id, VMGENID_ID_SIZE), 0);
	ck_assert_int_eq(memcmp(RAM + ADDR, new_id, VMGENID_ID_SIZE), 0);
	/* restore() alone raises nothing (the IOAPIC may not hold its state yet). */
	ck_assert_uint_eq(irqs_raised(), 0);
	clone.ops->restored(clone.dev);
	ck_assert_uint_eq(irqs_raised(), 1);
	/* Exactly once: a second restored() (nothing restored since) is silent. */
	clone.ops->restored(clone.dev);
	ck_assert_uint_eq(irqs_raised(), 0);
	/* The old VM's device was not touched. */
	{
		uint64_t v;

		ck_assert_int_lt(read(fd_old, &v, sizeof(v)), 0);
	}
	/* The clone saves its new ID. */
	st2 = save(&clone, &len2);
	ck_assert_int_eq(memcmp(st2 + 16, new_id, VMGENID_ID_SIZE), 0);
	free(st2);
	free(st);
	clone.ops->destroy(clone.dev);
	d.ops->destroy(d.dev);
}
END_TEST

START_TEST(two_clones_of_one_state_differ)
{
	struct device d, c1, c2;
	uint8_t id1[VMGENID_ID_SIZE], id2[VMGENID_ID_SIZE];
	uint8_t *st;
	size_t len;
	char err[200] = "";

	create(&d);
	st = save(&d, &len);
	create(&c1);
	create(&c2);
	ck_assert_msg(c1.ops->restore(c1.dev, st, len, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(c2.ops->restore(c2.dev, st, len, err, sizeof(err)) == 0, "%s", err);
	vmgenid_get(c1.dev, id1);
	vmgenid_get(c2.dev, id2);
	ck_assert_int_ne(memcmp(id1, id2, VMGENID_ID_SIZE), 0);
	ck_assert_int_ne(memcmp(id1, st + 16, VMGENID_ID_SIZE), 0);
	ck_assert_int_ne(memcmp(id2, st + 16, VMGENID_ID_SIZE), 0);
	free(st);
	c2.ops->destroy(c2.dev);
	c1.ops->destroy(c1.dev);
	d.ops->destroy(d.dev);
}
END_TEST

/* Each bad state is refused with a message and changes nothing: the ID,
 * guest memory and the interrupt stay as they were. */
static void refused(struct device *d, const uint8_t *st, size_t len, const char *want)
{
	uint8_t before[VMGENID_ID_SIZE], after[VMGENID_ID_SIZE], mem[VMGENID_ID_SIZE];
	char err[200] = "";

	vmgenid_get(d->dev, before);
	memcpy(mem, RAM + ADDR, sizeof(mem));
	ck_assert_int_eq(d->ops->restore(d->dev, st, len, err, sizeof(err)), -EINVAL);
	ck_assert_msg(strstr(err, want), "error \"%s\", want \"%s\"", err, want);
	vmgenid_get(d->dev, after);
	ck_assert_int_eq(memcmp(before, after, sizeof(before)), 0);
	ck_assert_int_eq(memcmp(mem, RAM + ADDR, sizeof(mem)), 0);
	d->ops->restored(d->dev);
	ck_assert_uint_eq(irqs_raised(), 0);
}

START_TEST(bad_state_changes_nothing)
{
	struct device d;
	uint8_t *st, bad[40];
	size_t len;

	create(&d);
	st = save(&d, &len);
	memcpy(bad, st, len);
	refused(&d, bad, len - 1, "vmgenid: state is 31 bytes, expected 32");
	refused(&d, bad, 0, "vmgenid: state is 0 bytes, expected 32");
	refused(&d, bad, len + 8, "vmgenid: state is 40 bytes, expected 32");
	st_le64(bad, 0xE0000);
	refused(&d, bad, len, "vmgenid: saved at 0xe0000 GSI 3, this VM has it at 0xdf000 GSI 3");
	memcpy(bad, st, len);
	st_le32(bad + 8, 7);
	refused(&d, bad, len, "vmgenid: saved at 0xdf000 GSI 7, this VM has it at 0xdf000 GSI 3");
	memcpy(bad, st, len);
	st_le32(bad + 12, 1);
	refused(&d, bad, len, "vmgenid: reserved field is 0x1, expected 0");
	/* The good state still applies afterwards. */
	{
		char err[200] = "";

		ck_assert_msg(d.ops->restore(d.dev, st, len, err, sizeof(err)) == 0, "%s", err);
		d.ops->restored(d.dev);
		ck_assert_uint_eq(irqs_raised(), 1);
	}
	free(st);
	d.ops->destroy(d.dev);
}
END_TEST

START_TEST(create_failures_are_explained)
{
	struct device d;
	char err[200] = "";

	/* The ID's page must be guest RAM (the last 15 bytes are not enough). */
	ck_assert_int_eq(vmgenid_create(&SVC, RAM_SIZE - 15, GED_IRQ, &d, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "vmgenid: 0xffff1 is outside guest memory");
	ck_assert_int_eq(IRQFD_CALLS, 0);
	IRQFD_FAIL = true;
	ck_assert_int_eq(vmgenid_create(&SVC, ADDR, GED_IRQ, &d, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "vmgenid: cannot wire GSI 3: Invalid argument");
	/* A device at the very end of RAM is fine. */
	IRQFD_FAIL = false;
	create(&d);
	d.ops->destroy(d.dev);
	ck_assert_int_eq(vmgenid_create(&SVC, RAM_SIZE - 16, GED_IRQ, &d, err, sizeof(err)), 0);
	ck_assert(!all_zero(RAM + RAM_SIZE - 16, 16));
	d.ops->destroy(d.dev);
}
END_TEST

START_TEST(restore_marks_the_id_page_dirty_after_the_load_interval_starts)
{
	struct device d, clone;
	uint64_t bitmap[RAM_SIZE / 4096 / 64] = { 0 };
	uint8_t *st;
	size_t len;
	char err[200] = "";

	create(&d);
	st = save(&d, &len);
	MEM.regions[0].dirty = bitmap;
	create(&clone);
	ck_assert_msg(clone.ops->restore(clone.dev, st, len, err, sizeof(err)) == 0, "%s", err);
	/* The load collects (clears) the bitmap between restore and restored. */
	memset(bitmap, 0, sizeof(bitmap));
	clone.ops->restored(clone.dev);
	for (unsigned pg = 0; pg < RAM_SIZE / 4096; pg++)
		ck_assert_msg(!!(bitmap[pg / 64] & (1ULL << (pg % 64))) == (pg == ADDR / 4096),
			      "page %u", pg);
	MEM.regions[0].dirty = NULL;
	free(st);
	clone.ops->destroy(clone.dev);
	d.ops->destroy(d.dev);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vmgenid");
	TCase *tc = tcase_create("device");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_writes_a_random_id_at_its_address);
	tcase_add_test(tc, restore_gives_a_new_id_and_restored_raises_the_irq_once);
	tcase_add_test(tc, two_clones_of_one_state_differ);
	tcase_add_test(tc, bad_state_changes_nothing);
	tcase_add_test(tc, create_failures_are_explained);
	tcase_add_test(tc, restore_marks_the_id_page_dirty_after_the_load_interval_starts);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
