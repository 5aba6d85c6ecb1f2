/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_guest_aml.c — the test guest's AML walker and _CRS parser
 * (tests/guest/acpi_aml.c, freestanding code compiled here for the host):
 * a real DSDT (QEMU 7.2 microvm, ACPI on, one virtio-blk), hand-built
 * shapes (Firecracker-style VMGenID, Methods returning data, unknown
 * opcodes, deep nesting), and every truncation and many corruptions of the
 * real table, which must never read outside the bytes given (run under
 * ASan: each input lies in a malloc'd block of exactly its size).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "acpi/acpi.h"
#include "tests/guest/acpi_aml.c"

/* QEMU 7.2 `-M microvm,acpi=on -smp 2 -device virtio-blk-device`: its DSDT
 * (dumped from guest memory with the monitor's pmemsave). */
static const uint8_t qemu_dsdt[] = {
	0x44, 0x53, 0x44, 0x54, 0x6d, 0x01, 0x00, 0x00, 0x02, 0xcb, 0x42, 0x4f,
	0x43, 0x48, 0x53, 0x20, 0x42, 0x58, 0x50, 0x43, 0x20, 0x20, 0x20, 0x20,
	0x01, 0x00, 0x00, 0x00, 0x42, 0x58, 0x50, 0x43, 0x01, 0x00, 0x00, 0x00,
	0x10, 0x47, 0x13, 0x5f, 0x53, 0x42, 0x5f, 0x5b, 0x82, 0x2e, 0x46, 0x57,
	0x43, 0x46, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x51, 0x45, 0x4d, 0x55,
	0x30, 0x30, 0x30, 0x32, 0x00, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a, 0x0b,
	0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x0d, 0x0a, 0x0a, 0x47, 0x01, 0x10,
	0x05, 0x10, 0x05, 0x01, 0x0c, 0x79, 0x00, 0x5b, 0x82, 0x32, 0x43, 0x4f,
	0x4d, 0x31, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, 0x5f, 0x55, 0x49, 0x44, 0x01, 0x08, 0x5f, 0x53, 0x54, 0x41, 0x0a,
	0x0f, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01,
	0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08, 0x22, 0x10, 0x00, 0x79, 0x00, 0x5b,
	0x82, 0x4c, 0x06, 0x47, 0x45, 0x44, 0x5f, 0x08, 0x5f, 0x48, 0x49, 0x44,
	0x0d, 0x41, 0x43, 0x50, 0x49, 0x30, 0x30, 0x31, 0x33, 0x00, 0x08, 0x5f,
	0x55, 0x49, 0x44, 0x0d, 0x47, 0x45, 0x44, 0x00, 0x08, 0x5f, 0x43, 0x52,
	0x53, 0x11, 0x0e, 0x0a, 0x0b, 0x89, 0x06, 0x00, 0x03, 0x01, 0x09, 0x00,
	0x00, 0x00, 0x79, 0x00, 0x5b, 0x80, 0x45, 0x52, 0x45, 0x47, 0x00, 0x0c,
	0x00, 0x00, 0xa0, 0xfe, 0x0a, 0x04, 0x5b, 0x81, 0x0b, 0x45, 0x52, 0x45,
	0x47, 0x43, 0x45, 0x53, 0x45, 0x4c, 0x20, 0x14, 0x1d, 0x5f, 0x45, 0x56,
	0x54, 0x09, 0x70, 0x45, 0x53, 0x45, 0x4c, 0x60, 0xa0, 0x10, 0x93, 0x7b,
	0x60, 0x0a, 0x02, 0x00, 0x0a, 0x02, 0x86, 0x50, 0x57, 0x52, 0x42, 0x0a,
	0x80, 0x5b, 0x82, 0x19, 0x50, 0x57, 0x52, 0x42, 0x08, 0x5f, 0x48, 0x49,
	0x44, 0x0d, 0x50, 0x4e, 0x50, 0x30, 0x43, 0x30, 0x43, 0x00, 0x08, 0x5f,
	0x55, 0x49, 0x44, 0x00, 0x5b, 0x82, 0x42, 0x04, 0x56, 0x52, 0x32, 0x33,
	0x08, 0x5f, 0x48, 0x49, 0x44, 0x0d, 0x4c, 0x4e, 0x52, 0x4f, 0x30, 0x30,
	0x30, 0x35, 0x00, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x0a, 0x17, 0x08, 0x5f,
	0x43, 0x43, 0x41, 0x01, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x1a, 0x0a,
	0x17, 0x86, 0x09, 0x00, 0x01, 0x00, 0x2e, 0xb0, 0xfe, 0x00, 0x02, 0x00,
	0x00, 0x89, 0x06, 0x00, 0x01, 0x01, 0x2f, 0x00, 0x00, 0x00, 0x79, 0x00,
	0x10, 0x10, 0x5c, 0x00, 0x08, 0x5f, 0x53, 0x35, 0x5f, 0x12, 0x07, 0x04,
	0x0a, 0x05, 0x00, 0x00, 0x00,
};

static struct aml_result res;

/* Walk n bytes copied into a block of exactly that size. */
static void walk_exact(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(copy);
	memcpy(copy, p, n);
	aml_result_init(&res);
	aml_walk(copy, n, &res);
	/* Check what points into the copy before it goes. */
	for (unsigned i = 0; i < res.ndev; i++) {
		struct aml_res r;

		if (res.dev[i].crs) {
			ck_assert(res.dev[i].crs >= copy &&
				  res.dev[i].crs + res.dev[i].crs_len <= copy + n);
			(void)aml_parse_crs(res.dev[i].crs, res.dev[i].crs_len, &r);
		}
	}
	free(copy);
}

static const struct aml_dev *dev_named(const char *name)
{
	for (unsigned i = 0; i < res.ndev; i++)
		if (!strcmp(res.dev[i].name, name))
			return &res.dev[i];
	return NULL;
}

START_TEST(qemu_microvm_dsdt)
{
	const struct aml_dev *d;
	struct aml_res r;

	aml_result_init(&res);
	aml_walk(qemu_dsdt + 36, sizeof(qemu_dsdt) - 36, &res);
	ck_assert_uint_eq(res.ndev, 5);
	ck_assert_uint_eq(res.cut, 0);

	d = dev_named("VR23");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "LNRO0005");
	ck_assert(d->has_uid && d->uid == 23);
	ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
	ck_assert(r.end_tag);
	ck_assert_uint_eq(r.nmem, 1);
	ck_assert_uint_eq(r.mem_base[0], 0xfeb02e00);
	ck_assert_uint_eq(r.mem_len[0], 0x200);
	ck_assert_uint_eq(r.nirq, 1);
	ck_assert_uint_eq(r.irq[0].gsi, 47);
	ck_assert(!r.irq[0].edge && !r.irq[0].low);

	d = dev_named("GED_");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "ACPI0013");
	ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
	ck_assert_uint_eq(r.nirq, 1);
	ck_assert_uint_eq(r.irq[0].gsi, 9);
	ck_assert(r.irq[0].edge && !r.irq[0].low);

	d = dev_named("COM1");
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d->hid, "PNP0501");          /* EisaId, decoded */
	ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
	ck_assert_uint_eq(r.nio, 1);
	ck_assert_uint_eq(r.io_base[0], 0x3f8);
	ck_assert_uint_eq(r.io_len[0], 8);
	ck_assert_uint_eq(r.nirq, 1);
	ck_assert_uint_eq(r.irq[0].gsi, 4);

	ck_assert_str_eq(dev_named("FWCF")->hid, "QEMU0002");
	ck_assert_str_eq(dev_named("PWRB")->hid, "PNP0C0C");
}
END_TEST

/* Every prefix of the real table: never outside the bytes (ASan), never
 * more devices than the whole table has. */
START_TEST(every_truncation_stays_inside)
{
	for (size_t n = 0; n <= sizeof(qemu_dsdt) - 36; n++) {
		walk_exact(qemu_dsdt + 36, n);
		ck_assert_uint_le(res.ndev, 5);
	}
}
END_TEST

/* Every byte replaced by values that matter to the encoding. */
START_TEST(corrupted_bytes_stay_inside)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x3f, 0x40, 0x5b, 0x7f, 0x80, 0xbf, 0xc0, 0xff };
	size_t n = sizeof(qemu_dsdt) - 36;
	uint8_t *b = malloc(n);

	for (size_t i = 0; i < n; i++)
		for (size_t v = 0; v < sizeof(vals); v++) {
			memcpy(b, qemu_dsdt + 36, n);
			b[i] = vals[v];
			walk_exact(b, n);
		}
	free(b);
}
END_TEST

/* ---------------- a small AML builder for hand-made shapes ---------------- */
struct bld {
	uint8_t d[8192];
	size_t n;
	size_t open[32];
	int sp;
};

static void put(struct bld *b, const void *p, size_t n)
{
	ck_assert_uint_le(b->n + n, sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put1(struct bld *b, uint8_t v)
{
	put(b, &v, 1);
}

/* op bytes, then a 3-byte PkgLength filled in by close_pkg. */
static void open_pkg(struct bld *b, const char *ops, size_t nops)
{
	put(b, ops, nops);
	b->open[b->sp++] = b->n;
	put(b, "\0\0\0", 3);
}

static void close_pkg(struct bld *b)
{
	size_t at = b->open[--b->sp], len = b->n - at;

	b->d[at] = (uint8_t)(0x80 | (len & 0x0f));
	b->d[at + 1] = (uint8_t)(len >> 4);
	b->d[at + 2] = (uint8_t)(len >> 12);
}

static void name_str(struct bld *b, const char *seg, const char *s)
{
	put1(b, 0x08);
	put(b, seg, 4);
	put1(b, 0x0d);
	put(b, s, strlen(s) + 1);
}

static void dword(struct bld *b, uint32_t v)
{
	uint8_t x[5] = { 0x0c, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put(b, x, 5);
}

static void device(struct bld *b, const char *seg)
{
	open_pkg(b, "\x5b\x82", 2);
	put(b, seg, 4);
}

/* ResourceTemplate{Memory32Fixed(base, len), Interrupt(edge high){irq}} */
static void crs_buffer(struct bld *b, uint32_t base, uint32_t len, uint32_t irq)
{
	uint8_t t[] = { 0x86, 9, 0, 1, (uint8_t)base, (uint8_t)(base >> 8), (uint8_t)(base >> 16),
			(uint8_t)(base >> 24), (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			(uint8_t)(len >> 24), 0x89, 6, 0, 0x03, 1, (uint8_t)irq, 0, 0, 0, 0x79, 0 };

	open_pkg(b, "\x11", 1);
	put1(b, 0x0a);
	put1(b, sizeof(t));
	put(b, t, sizeof(t));
	close_pkg(b);
}

/* Firecracker's shape: Scope(\_SB_){ Device(VMGN){_HID "FCVMGID", _CID
 * "VM_GEN_COUNTER", ADDR Package{lo, hi}}, Device(GED_){_HID ACPI0013,
 * _CRS, Method(_EVT){...}}, Device(V000){... Method(_CRS){Return(buf)}} } */
START_TEST(firecracker_style_vmgenid_and_methods)
{
	static struct bld b;
	const struct aml_dev *d;
	struct aml_res r;

	memset(&b, 0, sizeof(b));
	open_pkg(&b, "\x10", 1);
	put(&b, "\\_SB_", 5);
	device(&b, "VMGN");
	name_str(&b, "_HID", "FCVMGID");
	name_str(&b, "_CID", "VM_GEN_COUNTER");
	name_str(&b, "_DDN", "VM_GEN_COUNTER");
	put(&b, "\x08" "ADDR", 5);
	open_pkg(&b, "\x12", 1);
	put1(&b, 2);
	dword(&b, 0xdf000);
	put1(&b, 0x00);
	close_pkg(&b);
	close_pkg(&b);
	device(&b, "GED_");
	name_str(&b, "_HID", "ACPI0013");
	put(&b, "\x08_UID\x00", 6);
	put(&b, "\x08_CRS", 5);
	crs_buffer(&b, 0, 0, 3);
	open_pkg(&b, "\x14", 1);
	put(&b, "_EVT", 4);
	put1(&b, 0x01);
	put(&b, "\xa0\x0d\x93\x68\x0a\x03\x86\\VMGN\x0a\x80", 14);   /* If(Arg0==3) Notify */
	close_pkg(&b);
	close_pkg(&b);
	device(&b, "V000");
	name_str(&b, "_HID", "LNRO0005");
	open_pkg(&b, "\x14", 1);
	put(&b, "_CRS", 4);
	put1(&b, 0x00);
	put1(&b, 0xa4);                      /* Return(ResourceTemplate) */
	crs_buffer(&b, 0xc0001000, 0x1000, 5);
	close_pkg(&b);
	close_pkg(&b);
	close_pkg(&b);

	aml_result_init(&res);
	aml_walk(b.d, b.n, &res);
	ck_assert_msg(res.cut == 0, "cut at 0x%x (0x%02x): %s", res.cut_off, res.cut_op, res.cut_why);
	ck_assert_uint_eq(res.ndev, 3);
	d = dev_named("VMGN");
	ck_assert_str_eq(d->hid, "FCVMGID");
	ck_assert_str_eq(d->cid, "VM_GEN_COUNTER");
	ck_assert_uint_eq(d->addr_n, 2);
	ck_assert_uint_eq(d->addr[0], 0xdf000);
	ck_assert_uint_eq(d->addr[1], 0);
	d = dev_named("GED_");
	ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
	ck_assert_uint_eq(r.irq[0].gsi, 3);
	ck_assert(r.irq[0].edge);
	d = dev_named("V000");
	ck_assert_ptr_nonnull(d->crs);
	ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
	ck_assert_uint_eq(r.mem_base[0], 0xc0001000);
	ck_assert_uint_eq(r.mem_len[0], 0x1000);
	ck_assert_uint_eq(r.irq[0].gsi, 5);

	/* every prefix of it, too */
	for (size_t n = 0; n <= b.n; n++)
		walk_exact(b.d, n);
}
END_TEST

/* An unknown opcode ends that Device's body only; the next Device is found. */
START_TEST(unknown_opcode_cuts_one_body)
{
	static struct bld b;

	memset(&b, 0, sizeof(b));
	device(&b, "AAAA");
	name_str(&b, "_HID", "ONE0001");
	put1(&b, 0x70);                      /* Store(...): not understood */
	name_str(&b, "_UID", "lost");
	close_pkg(&b);
	device(&b, "BBBB");
	name_str(&b, "_HID", "TWO0002");
	close_pkg(&b);
	aml_result_init(&res);
	aml_walk(b.d, b.n, &res);
	ck_assert_uint_eq(res.ndev, 2);
	ck_assert_uint_eq(res.cut, 1);
	ck_assert_uint_eq(res.cut_op, 0x70);
	ck_assert_str_eq(res.cut_why, "unknown opcode");
	ck_assert_str_eq(dev_named("AAAA")->hid, "ONE0001");
	ck_assert_str_eq(dev_named("BBBB")->hid, "TWO0002");
}
END_TEST

/* A PkgLength longer than its parent is refused, not followed. */
START_TEST(pkglength_past_the_end)
{
	static const uint8_t bad[] = { 0x5b, 0x82, 0x3f, 'A', 'B', 'C', 'D' };

	walk_exact(bad, sizeof(bad));
	ck_assert_uint_eq(res.ndev, 0);
	ck_assert_uint_eq(res.cut, 1);
}
END_TEST

START_TEST(nesting_is_bounded)
{
	static struct bld b;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < 30; i++)
		device(&b, "DEEP");
	for (int i = 0; i < 30; i++)
		close_pkg(&b);
	aml_result_init(&res);
	aml_walk(b.d, b.n, &res);
	ck_assert_uint_eq(res.ndev, AML_WALK_MAX_DEPTH + 1);
	ck_assert_uint_eq(res.cut, 1);
}
END_TEST

START_TEST(more_devices_than_kept)
{
	static struct bld b;

	memset(&b, 0, sizeof(b));
	for (int i = 0; i < AML_MAX_DEVS + 5; i++) {
		device(&b, "MANY");
		close_pkg(&b);
	}
	aml_result_init(&res);
	aml_walk(b.d, b.n, &res);
	ck_assert_uint_eq(res.ndev, AML_MAX_DEVS);
	ck_assert_uint_eq(res.dropped, 5);
}
END_TEST

START_TEST(crs_bad_templates)
{
	static const uint8_t trunc_large[] = { 0x86, 0x09 };
	static const uint8_t large_past[] = { 0x86, 0x09, 0x00, 1, 2, 3 };
	static const uint8_t irq_count_past[] = { 0x89, 0x06, 0x00, 0x03, 0x02, 5, 0, 0, 0 };
	static const uint8_t small_past[] = { 0x47, 1, 2 };
	static const uint8_t irq_small[] = { 0x23, 0x30, 0x00, 0x08, 0x79, 0x00 };  /* IRQ{4,5} level low */
	struct aml_res r;

	ck_assert_ptr_nonnull(aml_parse_crs(trunc_large, sizeof(trunc_large), &r));
	ck_assert_ptr_nonnull(aml_parse_crs(large_past, sizeof(large_past), &r));
	ck_assert_ptr_nonnull(aml_parse_crs(irq_count_past, sizeof(irq_count_past), &r));
	ck_assert_ptr_nonnull(aml_parse_crs(small_past, sizeof(small_past), &r));
	ck_assert_ptr_null(aml_parse_crs(irq_small, sizeof(irq_small), &r));
	ck_assert_uint_eq(r.nirq, 2);
	ck_assert_uint_eq(r.irq[0].gsi, 4);
	ck_assert_uint_eq(r.irq[1].gsi, 5);
	ck_assert(!r.irq[0].edge && r.irq[0].low);
	ck_assert(r.end_tag);
}
END_TEST

START_TEST(eisa_ids)
{
	char s[8];

	aml_eisa_decode(0x0105d041, s);
	ck_assert_str_eq(s, "PNP0501");
	aml_eisa_decode(0x0303d041, s);
	ck_assert_str_eq(s, "PNP0303");
}
END_TEST

/* wisp's own DSDT (acpi/tables.c) at the limits: 19 virtio devices, COM1,
 * the i8042, VMGenID and the GED, all found with what the guest expects. */
START_TEST(wisp_dsdt_at_the_limits)
{
	static uint8_t buf[65536];
	struct acpi_config c;
	long n;
	unsigned virtio = 0;
	bool com1 = false, ps2 = false, vgen = false, ged = false;

	memset(&c, 0, sizeof(c));
	c.nr_vcpus = 32;
	c.nr_virtio = ACPI_MAX_VIRTIO;
	for (unsigned i = 0; i < c.nr_virtio; i++) {
		c.virtio[i].base = 0xc0001000ULL + 0x1000ULL * i;
		c.virtio[i].size = 0x1000;
		c.virtio[i].irq = 5 + i;
	}
	c.serial = c.i8042 = c.vmgenid = true;
	c.vmgenid_addr = 0xdf000;
	c.ged_irq = 3;
	n = acpi_dsdt_aml(&c, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	walk_exact(buf, (size_t)n);                 /* and under ASan, exactly sized */
	aml_result_init(&res);
	aml_walk(buf, (size_t)n, &res);
	ck_assert_msg(res.cut == 0, "cut at 0x%x (0x%02x): %s", res.cut_off, res.cut_op, res.cut_why);
	for (unsigned i = 0; i < res.ndev; i++) {
		const struct aml_dev *d = &res.dev[i];
		struct aml_res r;

		if (!strcmp(d->hid, "LNRO0005")) {
			ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
			ck_assert_uint_eq(r.nmem, 1);
			ck_assert_uint_eq(r.nirq, 1);
			ck_assert_uint_eq(r.mem_base[0], 0xc0001000ULL + 0x1000ULL * virtio);
			ck_assert_uint_eq(r.mem_len[0], 0x1000);
			ck_assert_uint_eq(r.irq[0].gsi, 5 + virtio);
			ck_assert(r.irq[0].edge && !r.irq[0].low);
			virtio++;
		} else if (!strcmp(d->hid, "PNP0501")) {
			ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
			ck_assert(r.nio == 1 && r.io_base[0] == 0x3f8 && r.nirq == 1 && r.irq[0].gsi == 4);
			com1 = true;
		} else if (!strcmp(d->hid, "PNP0303")) {
			ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
			ck_assert(r.nio == 2 && r.io_base[0] == 0x60 && r.io_base[1] == 0x64);
			ck_assert(r.nirq == 1 && r.irq[0].gsi == 1);
			ps2 = true;
		} else if (!strcmp(d->hid, "VMGENCTR")) {
			ck_assert_uint_eq(d->addr_n, 2);
			ck_assert_uint_eq(d->addr[0] | d->addr[1] << 32, 0xdf000);
			vgen = true;
		} else if (!strcmp(d->hid, "ACPI0013")) {
			ck_assert_ptr_null(aml_parse_crs(d->crs, d->crs_len, &r));
			ck_assert(r.nirq == 1 && r.irq[0].gsi == 3 && r.irq[0].edge);
			ged = true;
		} else {
			ck_abort_msg("unexpected device %s hid '%s'", d->name, d->hid);
		}
	}
	ck_assert_uint_eq(virtio, ACPI_MAX_VIRTIO);
	ck_assert(com1 && ps2 && vgen && ged);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("guest_aml");
	TCase *tc = tcase_create("aml");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, qemu_microvm_dsdt);
	tcase_add_test(tc, every_truncation_stays_inside);
	tcase_add_test(tc, corrupted_bytes_stay_inside);
	tcase_add_test(tc, firecracker_style_vmgenid_and_methods);
	tcase_add_test(tc, unknown_opcode_cuts_one_body);
	tcase_add_test(tc, pkglength_past_the_end);
	tcase_add_test(tc, nesting_is_bounded);
	tcase_add_test(tc, more_devices_than_kept);
	tcase_add_test(tc, crs_bad_templates);
	tcase_add_test(tc, eisa_ids);
	tcase_add_test(tc, wisp_dsdt_at_the_limits);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
