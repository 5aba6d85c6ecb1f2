/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot_format.c — the snapshot state file: CRC-64/XZ, writer,
 * parser (every truncation, every flipped bit, lying lengths, versions,
 * size caps), machine and device sections, describe. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "snapshot.h"

#define MiB (1ULL << 20)

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

#define ck_assert_err(err, substr) \
	ck_assert_msg(strstr((err), (substr)) != NULL, \
		      "error \"%s\" does not contain \"%s\"", (err), (substr))

/* Recompute the trailer after patching a file, so that the check under
 * test (not the CRC) is what refuses it. */
static void fix_crc(uint8_t *buf, size_t len)
{
	put64(buf + len - 8, snap_crc64(0, buf, len - 8));
}

/* Parse a copy of buf[0..len) in an exactly-sized heap buffer (so ASan
 * sees any read past its end); expect a refusal whose message contains
 * substr (NULL: any non-empty message). */
static void expect_refused(const uint8_t *buf, size_t len, const char *substr)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct snap_file f;
	char err[512];
	int ret;

	ck_assert_ptr_nonnull(copy);
	if (len)
		memcpy(copy, buf, len);
	err[0] = '\0';
	ret = snap_parse(copy, len, &f, err, sizeof(err));
	ck_assert_msg(ret == -EINVAL, "len %zu: snap_parse returned %d (want -EINVAL)", len, ret);
	ck_assert_msg(err[0] != '\0', "len %zu: refused without a message", len);
	if (substr)
		ck_assert_err(err, substr);
	ck_assert_ptr_null(f.secs);
	ck_assert_uint_eq(f.nr, 0);
	snap_file_free(&f);
	free(copy);
}

static struct snap_machine machine(uint64_t mem, uint32_t vcpus, uint32_t devices)
{
	struct snap_machine m;

	memset(&m, 0, sizeof(m));
	m.mem_size = mem;
	m.nr_vcpus = vcpus;
	m.nr_devices = devices;
	m.created_unix_ms = 1700000000123ULL;   /* 2023-11-14T22:13:20.123Z */
	strcpy(m.vmm_version, WISP_VERSION);
	return m;
}

static struct snap_device_hdr devhdr(const char *kind, const char *id, uint64_t mmio,
				     uint32_t irq)
{
	struct snap_device_hdr h;

	memset(&h, 0, sizeof(h));
	strcpy(h.kind, kind);
	strcpy(h.id, id);
	h.mmio_base = mmio;
	h.irq = irq;
	return h;
}

static const char sample_config[] = "{\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":128}}";
static const uint8_t sample_kvm[40] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t sample_vcpu0[24] = { 0xaa, 0xbb };
static const uint8_t sample_vcpu1[21] = { 0xcc, 0xdd, [20] = 0xee };
static const uint8_t sample_serial[5] = { 's', 'e', 'r', 'i', 'a' };
static const uint8_t sample_blk[13] = { 'b', 'l', 'k', [12] = 0xff };

/* A valid file: machine (2 vCPUs, 128 MiB, 3 devices), config, kvm, two
 * vCPUs, three devices (one without state) and a section of a type this
 * wisp does not know; payload lengths that need padding. */
static void build_sample(uint8_t **buf, size_t *len)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_machine m = machine(128 * MiB, 2, 3);
	struct snap_device_hdr d;

	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 0, &m, sizeof(m)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, sample_config, strlen(sample_config)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_KVM, 0, sample_kvm, sizeof(sample_kvm)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, sample_vcpu0, sizeof(sample_vcpu0)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 1, sample_vcpu1, sizeof(sample_vcpu1)), 0);
	d = devhdr("serial", "", 0, 4);
	ck_assert_int_eq(snap_add_device(w, 0, &d, sample_serial, sizeof(sample_serial)), 0);
	d = devhdr("virtio-blk", "rootfs", 0xC0001000ULL, 5);
	ck_assert_int_eq(snap_add_device(w, 1, &d, sample_blk, sizeof(sample_blk)), 0);
	d = devhdr("boot-timer", "", 0xC0000000ULL, 0);
	ck_assert_int_eq(snap_add_device(w, 2, &d, NULL, 0), 0);
	ck_assert_int_eq(snap_add(w, 99, 7, NULL, 0), 0);
	ck_assert_int_eq(snap_finish(w, buf, len), 0);
	snap_writer_free(w);
}

/* ---------------- CRC ---------------- */

static uint64_t crc64_bitwise(const uint8_t *p, size_t len)
{
	uint64_t crc = ~0ULL;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ULL : crc >> 1;
	}
	return ~crc;
}

START_TEST(crc_check_value)
{
	const char *s = "123456789";

	ck_assert_uint_eq(snap_crc64(0, s, 9), 0x995DC9BBDF1939FAULL);
	/* chained in pieces */
	ck_assert_uint_eq(snap_crc64(snap_crc64(snap_crc64(0, s, 2), s + 2, 0), s + 2, 7),
			  0x995DC9BBDF1939FAULL);
	ck_assert_uint_eq(snap_crc64(0, NULL, 0), 0);
	ck_assert_uint_eq(snap_crc64(0, "a", 1), 0x330284772E652B05ULL);
}
END_TEST

START_TEST(crc_matches_bitwise_definition)
{
	static uint8_t data[2048];
	uint32_t x = 12345;

	for (size_t i = 0; i < sizeof(data); i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (uint8_t)(x >> 16);
	}
	/* every byte value goes through the table many times */
	for (size_t len = 0; len <= sizeof(data); len += len < 64 ? 1 : 97)
		ck_assert_uint_eq(snap_crc64(0, data, len), crc64_bitwise(data, len));
	for (int b = 0; b < 256; b++) {
		uint8_t c = (uint8_t)b;

		ck_assert_uint_eq(snap_crc64(0, &c, 1), crc64_bitwise(&c, 1));
	}
}
END_TEST

/* ---------------- writer and parser ---------------- */

START_TEST(section_names)
{
	ck_assert_str_eq(snap_section_name(SNAP_SEC_MACHINE), "machine");
	ck_assert_str_eq(snap_section_name(SNAP_SEC_VM_CONFIG), "vm-config");
	ck_assert_str_eq(snap_section_name(SNAP_SEC_VM_KVM), "vm-kvm");
	ck_assert_str_eq(snap_section_name(SNAP_SEC_VCPU), "vcpu");
	ck_assert_str_eq(snap_section_name(SNAP_SEC_DEVICE), "device");
	ck_assert_str_eq(snap_section_name(0), "unknown");
	ck_assert_str_eq(snap_section_name(6), "unknown");
	ck_assert_str_eq(snap_section_name(UINT32_MAX), "unknown");
}
END_TEST

START_TEST(round_trip)
{
	struct snap_machine m, want = machine(128 * MiB, 2, 3);
	const struct snap_section *s;
	struct snap_device_hdr h;
	const uint8_t *state;
	struct snap_file f;
	char err[256] = "";
	size_t len, slen;
	uint8_t *buf;

	build_sample(&buf, &len);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.major, SNAP_VERSION_MAJOR);
	ck_assert_uint_eq(f.minor, SNAP_VERSION_MINOR);
	ck_assert_uint_eq(f.nr, 9);
	for (unsigned i = 0; i < f.nr; i++) {
		ck_assert_uint_eq(f.secs[i].offset % 8, 0);
		ck_assert_ptr_eq(f.secs[i].data, buf + f.secs[i].offset + SNAP_SECTION_HDR_LEN);
		if (i)
			ck_assert_uint_gt(f.secs[i].offset, f.secs[i - 1].offset);
	}
	ck_assert_uint_eq(f.secs[0].offset, SNAP_HEADER_LEN);

	s = snap_find(&f, SNAP_SEC_VM_CONFIG, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, strlen(sample_config));
	ck_assert_int_eq(memcmp(s->data, sample_config, s->len), 0);
	s = snap_find(&f, SNAP_SEC_VM_KVM, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, sizeof(sample_kvm));
	ck_assert_int_eq(memcmp(s->data, sample_kvm, s->len), 0);
	s = snap_find(&f, SNAP_SEC_VCPU, 0);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, sizeof(sample_vcpu0));
	ck_assert_int_eq(memcmp(s->data, sample_vcpu0, s->len), 0);
	s = snap_find(&f, SNAP_SEC_VCPU, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, sizeof(sample_vcpu1));
	ck_assert_int_eq(memcmp(s->data, sample_vcpu1, s->len), 0);
	ck_assert_ptr_null(snap_find(&f, SNAP_SEC_VCPU, 2));
	ck_assert_ptr_null(snap_find(&f, SNAP_SEC_VM_CONFIG, 1));
	s = snap_find(&f, 99, 7);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->len, 0);

	ck_assert_uint_eq(snap_count(&f, SNAP_SEC_MACHINE), 1);
	ck_assert_uint_eq(snap_count(&f, SNAP_SEC_VCPU), 2);
	ck_assert_uint_eq(snap_count(&f, SNAP_SEC_DEVICE), 3);
	ck_assert_uint_eq(snap_count(&f, 12345), 0);

	ck_assert_int_eq(snap_machine_get(&f, &m, err, sizeof(err)), 0);
	ck_assert_int_eq(memcmp(&m, &want, sizeof(m)), 0);

	s = snap_find(&f, SNAP_SEC_DEVICE, 0);
	ck_assert_int_eq(snap_device_split(s, &h, &state, &slen, err, sizeof(err)), 0);
	ck_assert_str_eq(h.kind, "serial");
	ck_assert_str_eq(h.id, "");
	ck_assert_uint_eq(h.mmio_base, 0);
	ck_assert_uint_eq(h.irq, 4);
	ck_assert_uint_eq(h.state_len, sizeof(sample_serial));
	ck_assert_uint_eq(slen, sizeof(sample_serial));
	ck_assert_int_eq(memcmp(state, sample_serial, slen), 0);
	s = snap_find(&f, SNAP_SEC_DEVICE, 1);
	ck_assert_int_eq(snap_device_split(s, &h, &state, &slen, err, sizeof(err)), 0);
	ck_assert_str_eq(h.kind, "virtio-blk");
	ck_assert_str_eq(h.id, "rootfs");
	ck_assert_uint_eq(h.mmio_base, 0xC0001000ULL);
	ck_assert_uint_eq(h.irq, 5);
	ck_assert_uint_eq(slen, sizeof(sample_blk));
	ck_assert_int_eq(memcmp(state, sample_blk, slen), 0);
	s = snap_find(&f, SNAP_SEC_DEVICE, 2);
	ck_assert_int_eq(snap_device_split(s, &h, &state, &slen, err, sizeof(err)), 0);
	ck_assert_str_eq(h.kind, "boot-timer");
	ck_assert_uint_eq(slen, 0);

	snap_file_free(&f);
	ck_assert_ptr_null(f.secs);
	snap_file_free(&f);     /* twice is fine */
	free(buf);
}
END_TEST

/* The bytes on disk, as docs/snapshot-format.md describes them. */
START_TEST(byte_layout)
{
	struct snap_writer *w = snap_writer_new();
	const uint8_t payload[3] = { 0x11, 0x22, 0x33 };
	size_t len;
	uint8_t *buf;

	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_KVM, 0x01020304, payload, 3), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	ck_assert_uint_eq(len, 32 + 16 + 8 + 8);
	ck_assert_int_eq(memcmp(buf, "WWISPx64", 8), 0);
	ck_assert_int_eq(memcmp(buf + 8, "\x01\x00\x01\x00", 4), 0);    /* 1.1 */
	ck_assert_uint_eq(get32(buf + 12), 0);                          /* flags */
	ck_assert_uint_eq(get32(buf + 16), 1);                          /* sections */
	ck_assert_uint_eq(get32(buf + 20), 0);                          /* reserved */
	ck_assert_uint_eq(get64(buf + 24), len);                        /* total_len */
	ck_assert_uint_eq(get32(buf + 32), SNAP_SEC_VM_KVM);
	ck_assert_uint_eq(get32(buf + 36), 0x01020304);
	ck_assert_uint_eq(get64(buf + 40), 3);
	ck_assert_int_eq(memcmp(buf + 48, "\x11\x22\x33\0\0\0\0\0", 8), 0);
	ck_assert_uint_eq(get64(buf + 56), snap_crc64(0, buf, 56));
	free(buf);
}
END_TEST

START_TEST(empty_file)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_machine m;
	struct snap_file f;
	char err[256];
	size_t len;
	uint8_t *buf;

	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	ck_assert_uint_eq(len, SNAP_HEADER_LEN + 8);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.nr, 0);
	ck_assert_ptr_null(snap_find(&f, SNAP_SEC_MACHINE, 0));
	ck_assert_int_eq(snap_machine_get(&f, &m, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "no machine section");
	snap_file_free(&f);
	free(buf);
}
END_TEST

START_TEST(writer_is_empty_after_finish)
{
	struct snap_writer *w = snap_writer_new();
	uint8_t *a, *b;
	size_t alen, blen;

	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "x", 1), 0);
	ck_assert_int_eq(snap_finish(w, &a, &alen), 0);
	/* the same (type, instance) again is no repeat in a new file */
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "yz", 2), 0);
	ck_assert_int_eq(snap_finish(w, &b, &blen), 0);
	snap_writer_free(w);
	ck_assert_uint_eq(alen, blen);
	ck_assert_uint_eq(get32(b + 16), 1);
	ck_assert_uint_eq(get64(b + 40), 2);
	ck_assert_uint_eq(get64(a + 40), 1);
	free(a);
	free(b);
}
END_TEST

START_TEST(writer_refuses_bad_arguments)
{
	struct snap_writer *w = snap_writer_new();
	uint8_t *buf;
	size_t len;

	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, NULL, 4), -EINVAL);
	ck_assert_int_eq(snap_add(NULL, SNAP_SEC_VCPU, 0, "x", 1), -EINVAL);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "x", 1), 0);
	/* a repeated (type, instance) is refused, and remembered */
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "y", 1), -EEXIST);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 1, "y", 1), -EEXIST);
	ck_assert_int_eq(snap_finish(w, &buf, &len), -EEXIST);
	snap_writer_free(w);
	snap_writer_free(NULL);
}
END_TEST

START_TEST(writer_section_limit)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_file f;
	char err[256];
	uint8_t *buf;
	size_t len;

	for (uint32_t i = 0; i < SNAP_MAX_SECTIONS; i++)
		ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, i, &i, sizeof(i)), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.nr, SNAP_MAX_SECTIONS);
	ck_assert_uint_eq(get32(snap_find(&f, SNAP_SEC_VCPU, 1000)->data), 1000);
	snap_file_free(&f);
	free(buf);

	for (uint32_t i = 0; i < SNAP_MAX_SECTIONS; i++)
		ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, i, NULL, 0), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, SNAP_MAX_SECTIONS, NULL, 0), -E2BIG);
	ck_assert_int_eq(snap_finish(w, &buf, &len), -E2BIG);
	snap_writer_free(w);
}
END_TEST

START_TEST(writer_size_limit)
{
	/* the largest payload that fits: header + section header + CRC */
	size_t max = SNAP_MAX_FILE - SNAP_HEADER_LEN - SNAP_SECTION_HDR_LEN - 8;
	uint8_t *big = calloc(1, max + 8), *buf;
	struct snap_writer *w = snap_writer_new();
	struct snap_file f;
	char err[256];
	size_t len;

	ck_assert_ptr_nonnull(big);
	big[max - 1] = 0x5a;
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, big, max + 1), -E2BIG);
	snap_writer_free(w);

	w = snap_writer_new();
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, big, max), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_KVM, 0, NULL, 0), -E2BIG);
	snap_writer_free(w);

	w = snap_writer_new();
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, big, max), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	ck_assert_uint_eq(len, SNAP_MAX_FILE);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.secs[0].len, max);
	ck_assert_uint_eq(f.secs[0].data[max - 1], 0x5a);
	snap_file_free(&f);
	free(buf);

	/* a payload whose padding would pass the limit */
	w = snap_writer_new();
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, big, max - 7), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_KVM, 0, NULL, 0), -E2BIG);
	snap_writer_free(w);

	/* a huge length is refused before anything is read from data */
	w = snap_writer_new();
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VM_CONFIG, 0, big, SIZE_MAX), -E2BIG);
	snap_writer_free(w);
	free(big);
}
END_TEST

START_TEST(parse_refuses_oversize)
{
	uint8_t *buf = calloc(1, (size_t)SNAP_MAX_FILE + 1);
	uint8_t *good;
	size_t len;

	ck_assert_ptr_nonnull(buf);
	build_sample(&good, &len);
	memcpy(buf, good, len);
	put64(buf + 24, (uint64_t)SNAP_MAX_FILE + 1);
	expect_refused(buf, (size_t)SNAP_MAX_FILE + 1, "larger than the limit");
	free(good);
	free(buf);
}
END_TEST

START_TEST(every_truncation_is_refused)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	for (size_t l = 0; l < len; l++)
		expect_refused(buf, l, NULL);
	expect_refused(buf, 0, "shorter than a header");
	expect_refused(buf, 39, "shorter than a header");
	expect_refused(buf, len - 1, "header says the file is");
	free(buf);
}
END_TEST

START_TEST(every_flipped_bit_is_refused)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			expect_refused(buf, len, NULL);
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* a flip in a payload is caught by the CRC, giving both values */
	buf[len / 2] ^= 1;
	expect_refused(buf, len, "CRC mismatch");
	free(buf);
}
END_TEST

START_TEST(wrong_magic)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	memcpy(buf, "WWISPa64", 8);
	fix_crc(buf, len);
	expect_refused(buf, len, "not a wisp x86_64 snapshot");
	memset(buf, 0, len);
	expect_refused(buf, len, "not a wisp x86_64 snapshot");
	free(buf);
}
END_TEST

START_TEST(other_versions)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	put16(buf + 8, 2);
	fix_crc(buf, len);
	expect_refused(buf, len, "snapshot format version 2.1, this wisp reads 1.1");
	put16(buf + 8, 0);
	put16(buf + 10, 0);
	fix_crc(buf, len);
	expect_refused(buf, len, "version 0.0, this wisp reads 1.1");
	/* a newer minor of this major */
	put16(buf + 8, 1);
	put16(buf + 10, 2);
	fix_crc(buf, len);
	expect_refused(buf, len, "snapshot format version 1.2, this wisp reads 1.1");
	/* the version is reported even when the rest does not check out */
	put16(buf + 8, 2);
	put16(buf + 10, 7);
	expect_refused(buf, len - 8, "version 2.7");
	free(buf);
}
END_TEST

START_TEST(total_len_mismatch)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	put64(buf + 24, len + 8);
	fix_crc(buf, len);
	expect_refused(buf, len, "header says the file is");
	put64(buf + 24, len - 8);
	fix_crc(buf, len);
	expect_refused(buf, len, "header says the file is");
	put64(buf + 24, UINT64_MAX);
	fix_crc(buf, len);
	expect_refused(buf, len, "header says the file is");
	free(buf);
}
END_TEST

START_TEST(trailing_bytes)
{
	uint8_t *buf, *big;
	size_t len;

	build_sample(&buf, &len);
	big = calloc(1, len + 8);
	/* bytes after the CRC */
	memcpy(big, buf, len);
	expect_refused(big, len + 8, "header says the file is");
	/* bytes between the last section and the CRC, with a header and CRC
	 * that agree with them */
	put64(big + 24, len + 8);
	fix_crc(big, len + 8);
	expect_refused(big, len + 8, "8 bytes left over");
	free(big);
	free(buf);
}
END_TEST

START_TEST(header_fields_must_be_zero)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	put32(buf + 12, 1);
	fix_crc(buf, len);
	expect_refused(buf, len, "flags 0x1");
	put32(buf + 12, 0);
	put32(buf + 20, 0x80);
	fix_crc(buf, len);
	expect_refused(buf, len, "reserved 0x80");
	free(buf);
}
END_TEST

/* Offset of section i's header in a file from build_sample. */
static size_t section_off(const uint8_t *buf, size_t len, unsigned i)
{
	struct snap_file f;
	char err[256];
	size_t off;

	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_lt(i, f.nr);
	off = f.secs[i].offset;
	snap_file_free(&f);
	return off;
}

START_TEST(lying_section_lengths)
{
	static const uint64_t lies[] = {
		UINT64_MAX, UINT64_MAX - 7, UINT64_MAX - 15, 1ULL << 63, 1ULL << 32,
		SNAP_MAX_FILE, 0x7fffffffffffffffULL,
	};
	uint8_t *buf, *odd;
	size_t len, off, off7, last;
	uint64_t real;
	char want[64];

	build_sample(&buf, &len);
	off = section_off(buf, len, 1);
	off7 = section_off(buf, len, 7);
	last = section_off(buf, len, 8);
	real = get64(buf + off + 8);
	snprintf(want, sizeof(want), "section 1 (type 2) at offset %zu: length", off);
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		put64(buf + off + 8, lies[i]);
		fix_crc(buf, len);
		expect_refused(buf, len, want);
		expect_refused(buf, len, "runs past the end");
	}
	/* one past what is there */
	put64(buf + off + 8, len - 8 - off - 16 + 1);
	fix_crc(buf, len);
	expect_refused(buf, len, "runs past the end");
	/* shorter than the truth: the next "header" lands in the payload */
	put64(buf + off + 8, real - 8);
	fix_crc(buf, len);
	expect_refused(buf, len, NULL);
	put64(buf + off + 8, real - 1);
	fix_crc(buf, len);
	expect_refused(buf, len, NULL);
	put64(buf + off + 8, 0);
	fix_crc(buf, len);
	expect_refused(buf, len, NULL);
	put64(buf + off + 8, real);
	/* section 7 swallowing section 8: then section 8's header is missing */
	put64(buf + off7 + 8, len - 8 - off7 - 16);
	fix_crc(buf, len);
	expect_refused(buf, len, "section 8 at offset");
	put64(buf + off7 + 8, sizeof(struct snap_device_hdr));
	fix_crc(buf, len);
	ck_assert_uint_eq(section_off(buf, len, 8), last);

	/* a file whose length is no multiple of 8: its last section's
	 * payload fits but its padding does not */
	odd = calloc(1, len + 3);
	memcpy(odd, buf, len - 8);
	put64(odd + 24, len + 3);
	put64(odd + last + 8, 3);
	fix_crc(odd, len + 3);
	expect_refused(odd, len + 3, "section 8 (type 99)");
	expect_refused(odd, len + 3, "padding runs past the end");
	free(odd);
	free(buf);
}
END_TEST

START_TEST(lying_section_count)
{
	uint8_t *buf;
	size_t len;

	build_sample(&buf, &len);
	put32(buf + 16, 10);
	fix_crc(buf, len);
	expect_refused(buf, len, "section 9 at offset");
	expect_refused(buf, len, "header runs past the end");
	put32(buf + 16, 8);
	fix_crc(buf, len);
	expect_refused(buf, len, "bytes left over after its 8 sections");
	put32(buf + 16, 0);
	fix_crc(buf, len);
	expect_refused(buf, len, "left over");
	put32(buf + 16, SNAP_MAX_SECTIONS + 1);
	fix_crc(buf, len);
	expect_refused(buf, len, "more than the limit");
	put32(buf + 16, UINT32_MAX);
	fix_crc(buf, len);
	expect_refused(buf, len, "more than the limit");
	free(buf);
}
END_TEST

START_TEST(nonzero_padding)
{
	uint8_t *buf;
	size_t len, off;

	build_sample(&buf, &len);
	/* section 4: vcpu 1, 21 bytes then 3 bytes of padding */
	off = section_off(buf, len, 4);
	ck_assert_uint_eq(get64(buf + off + 8), 21);
	buf[off + 16 + 23] = 1;
	fix_crc(buf, len);
	expect_refused(buf, len, "section 4 (type 4)");
	expect_refused(buf, len, "padding is not zero");
	free(buf);
}
END_TEST

START_TEST(repeated_section)
{
	uint8_t *buf;
	size_t len, off;

	build_sample(&buf, &len);
	off = section_off(buf, len, 4);
	put32(buf + off + 4, 0);    /* vcpu 1 -> a second vcpu 0 */
	fix_crc(buf, len);
	expect_refused(buf, len, "repeats section 3 (vcpu 0)");
	free(buf);
}
END_TEST

START_TEST(parse_error_buffer_is_optional)
{
	uint8_t *buf;
	struct snap_file f;
	char small[8];
	size_t len;

	build_sample(&buf, &len);
	ck_assert_int_eq(snap_parse(buf, len - 1, &f, NULL, 0), -EINVAL);
	ck_assert_int_eq(snap_parse(buf, len - 1, &f, small, sizeof(small)), -EINVAL);
	ck_assert_uint_eq(strlen(small), sizeof(small) - 1);
	ck_assert_int_eq(snap_parse(NULL, 0, &f, small, sizeof(small)), -EINVAL);
	free(buf);
}
END_TEST

/* ---------------- machine section ---------------- */

/* A file of a machine section m (or raw bytes of mlen if raw) plus vcpu
 * sections for instances vcpu_ids[0..nv) and device sections for
 * dev_ids[0..nd). Returns snap_machine_get's result, err filled. */
static int machine_check(const void *m, size_t mlen, const uint32_t *vcpu_ids, unsigned nv,
			 const uint32_t *dev_ids, unsigned nd, char *err, size_t errlen)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_device_hdr d = devhdr("serial", "", 0, 4);
	struct snap_machine out;
	struct snap_file f;
	uint8_t *buf;
	size_t len;
	int ret;

	if (m)
		ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 0, m, mlen), 0);
	for (unsigned i = 0; i < nv; i++)
		ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, vcpu_ids[i], "regs", 4), 0);
	for (unsigned i = 0; i < nd; i++)
		ck_assert_int_eq(snap_add_device(w, dev_ids[i], &d, "st", 2), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, errlen), 0);
	err[0] = '\0';
	ret = snap_machine_get(&f, &out, err, errlen);
	if (ret)
		ck_assert_msg(err[0], "refused without a message");
	snap_file_free(&f);
	free(buf);
	return ret;
}

static const uint32_t ids[VM_MAX_VCPUS + 1] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

START_TEST(machine_valid_limits)
{
	struct snap_machine m = machine(4096, 1, 0);
	char err[256];

	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), 0);
	m = machine(1ULL << 40, VM_MAX_VCPUS, 3);
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, VM_MAX_VCPUS, ids, 3, err,
				       sizeof(err)), 0);
	/* section order does not matter */
	{
		const uint32_t rev[3] = { 2, 0, 1 };

		m = machine(8192, 3, 3);
		ck_assert_int_eq(machine_check(&m, sizeof(m), rev, 3, rev, 3, err, sizeof(err)),
				 0);
	}
}
END_TEST

START_TEST(machine_vcpu_count)
{
	struct snap_machine m = machine(128 * MiB, 0, 0);
	char err[256];

	ck_assert_int_eq(machine_check(&m, sizeof(m), NULL, 0, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "nr_vcpus 0 is not in 1..32");
	m.nr_vcpus = VM_MAX_VCPUS + 1;
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, VM_MAX_VCPUS + 1, NULL, 0, err,
				       sizeof(err)), -EINVAL);
	ck_assert_err(err, "nr_vcpus 33 is not in 1..32");
	m.nr_vcpus = UINT32_MAX;
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "nr_vcpus");
}
END_TEST

START_TEST(machine_mem_size)
{
	struct snap_machine m = machine(128 * MiB + 1, 1, 0);
	char err[256];

	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "mem_size 134217729 is not a non-zero multiple of 4096");
	m.mem_size = 2048;
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "mem_size 2048");
	m.mem_size = 0;
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "mem_size 0");
}
END_TEST

START_TEST(machine_section_counts)
{
	struct snap_machine m = machine(128 * MiB, 2, 1);
	const uint32_t odd[2] = { 0, 5 };
	char err[256];

	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, ids, 1, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "says 2 vcpu sections, the file has 1");
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 3, ids, 1, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "says 2 vcpu sections, the file has 3");
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 2, ids, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "says 1 device sections, the file has 0");
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 2, ids, 2, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "says 1 device sections, the file has 2");
	ck_assert_int_eq(machine_check(&m, sizeof(m), odd, 2, ids, 1, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "vcpu section instance 5 is out of range (the machine has 2)");
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 2, odd + 1, 1, err, sizeof(err)),
			 -EINVAL);
	ck_assert_err(err, "device section instance 5 is out of range");
}
END_TEST

START_TEST(machine_section_shape)
{
	struct snap_machine m = machine(128 * MiB, 1, 0);
	uint8_t raw[sizeof(m) + 1];
	char err[256];

	memcpy(raw, &m, sizeof(m));
	raw[sizeof(m)] = 0;
	ck_assert_int_eq(machine_check(NULL, 0, ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "no machine section");
	ck_assert_int_eq(machine_check(raw, sizeof(m) - 1, ids, 1, NULL, 0, err, sizeof(err)),
			 -EINVAL);
	ck_assert_err(err, "machine section is 63 bytes, expected 64");
	ck_assert_int_eq(machine_check(raw, sizeof(m) + 1, ids, 1, NULL, 0, err, sizeof(err)),
			 -EINVAL);
	ck_assert_err(err, "machine section is 65 bytes, expected 64");
	memset(m.vmm_version, 'v', sizeof(m.vmm_version));
	ck_assert_int_eq(machine_check(&m, sizeof(m), ids, 1, NULL, 0, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "vmm_version is not NUL-terminated");
}
END_TEST

START_TEST(machine_section_instance)
{
	struct snap_machine m = machine(128 * MiB, 1, 0);
	struct snap_writer *w = snap_writer_new();
	struct snap_file f;
	char err[256];
	uint8_t *buf;
	size_t len;

	/* a machine section with instance 1 only is no machine section */
	ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 1, &m, sizeof(m)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "r", 1), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_machine_get(&f, &m, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "no machine section");
	snap_file_free(&f);
	free(buf);
	/* two (instances 0 and 1) */
	m = machine(128 * MiB, 1, 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 0, &m, sizeof(m)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 1, &m, sizeof(m)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_VCPU, 0, "r", 1), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_machine_get(&f, &m, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "more than one machine section");
	snap_file_free(&f);
	free(buf);
	snap_writer_free(w);
}
END_TEST

/* ---------------- device sections ---------------- */

/* Parse a file holding one device section with this raw payload, split it. */
static int split_raw(const void *payload, size_t plen, char *err, size_t errlen)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_device_hdr h;
	const uint8_t *state;
	struct snap_file f;
	uint8_t *buf;
	size_t len, slen;
	int ret;

	ck_assert_int_eq(snap_add(w, SNAP_SEC_DEVICE, 3, payload, plen), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, errlen), 0);
	err[0] = '\0';
	ret = snap_device_split(&f.secs[0], &h, &state, &slen, err, errlen);
	if (ret)
		ck_assert_msg(err[0], "refused without a message");
	snap_file_free(&f);
	free(buf);
	return ret;
}

START_TEST(device_split_checks)
{
	struct snap_device_hdr h = devhdr("virtio-net", "eth0", 0xC0002000ULL, 6);
	uint8_t raw[sizeof(h) + 16];
	char err[256];

	memset(raw, 0, sizeof(raw));
	h.state_len = 16;
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), 0);
	/* state_len that does not match what follows */
	h.state_len = 15;
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "device section 3 (virtio-net): state_len 15 but 16 bytes");
	h.state_len = UINT32_MAX;
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "state_len 4294967295");
	h.state_len = 17;
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), -EINVAL);
	/* shorter than the header */
	h.state_len = 0;
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(h) - 1, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "shorter than its 104-byte header");
	ck_assert_int_eq(split_raw(raw, 0, err, sizeof(err)), -EINVAL);
	/* kind and id without their NUL */
	h.state_len = 16;
	memset(h.kind, 'k', sizeof(h.kind));
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "kind is not NUL-terminated");
	h = devhdr("virtio-net", "", 0, 6);
	h.state_len = 16;
	memset(h.id, 'i', sizeof(h.id));
	memcpy(raw, &h, sizeof(h));
	ck_assert_int_eq(split_raw(raw, sizeof(raw), err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "id is not NUL-terminated");
}
END_TEST

START_TEST(device_split_not_a_device)
{
	struct snap_section s = { .type = SNAP_SEC_VCPU, .instance = 2, .len = 200 };
	static const uint8_t zero[200];
	struct snap_device_hdr h;
	const uint8_t *state;
	char err[256];
	size_t len;

	s.data = zero;
	ck_assert_int_eq(snap_device_split(&s, &h, &state, &len, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "vcpu 2 is not a device section");
}
END_TEST

START_TEST(device_writer_checks)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_device_hdr h = devhdr("virtio-blk", "", 0xC0001000ULL, 5), back;
	const uint8_t *state;
	struct snap_file f;
	char err[256];
	uint8_t *buf;
	size_t len, slen;

	/* the longest id the API accepts */
	memset(h.id, 'd', VM_ID_MAX);
	h.id[VM_ID_MAX] = '\0';
	h.id[VM_ID_MAX + 1] = 'x';      /* junk after the NUL is not written */
	h.state_len = 12345;            /* filled in by the writer */
	ck_assert_int_eq(snap_add_device(w, 0, &h, "abc", 3), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f.secs[0].len, sizeof(h) + 3);
	ck_assert_int_eq(snap_device_split(&f.secs[0], &back, &state, &slen, err, sizeof(err)), 0);
	ck_assert_uint_eq(strlen(back.id), VM_ID_MAX);
	ck_assert_uint_eq((uint8_t)back.id[VM_ID_MAX + 1], 0);
	ck_assert_uint_eq(back.state_len, 3);
	ck_assert_uint_eq(slen, 3);
	ck_assert_int_eq(memcmp(state, "abc", 3), 0);
	snap_file_free(&f);
	free(buf);

	/* no NUL in kind or id: refused (the parser would refuse the file) */
	memset(h.id, 'd', sizeof(h.id));
	ck_assert_int_eq(snap_add_device(w, 0, &h, "abc", 3), -EINVAL);
	snap_writer_free(w);
	w = snap_writer_new();
	h = devhdr("serial", "", 0, 4);
	memset(h.kind, 'k', sizeof(h.kind));
	ck_assert_int_eq(snap_add_device(w, 0, &h, NULL, 0), -EINVAL);
	ck_assert_int_eq(snap_finish(w, &buf, &len), -EINVAL);
	snap_writer_free(w);
	w = snap_writer_new();
	h = devhdr("serial", "", 0, 4);
	ck_assert_int_eq(snap_add_device(w, 0, &h, NULL, 1), -EINVAL);
	snap_writer_free(w);
}
END_TEST

/* ---------------- describe ---------------- */

static char *describe(const uint8_t *buf, size_t len)
{
	struct snap_file f;
	char err[256], *text = NULL;
	size_t tlen = 0;
	FILE *out = open_memstream(&text, &tlen);

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(snap_parse(buf, len, &f, err, sizeof(err)), 0);
	snap_describe(&f, out);
	fclose(out);
	snap_file_free(&f);
	return text;
}

#define ck_assert_has(text, substr) \
	ck_assert_msg(strstr((text), (substr)) != NULL, "\"%s\" not in:\n%s", (substr), (text))

START_TEST(describe_sample)
{
	uint8_t *buf;
	size_t len;
	char *text;

	build_sample(&buf, &len);
	text = describe(buf, len);
	ck_assert_has(text, "format version 1.1");
	ck_assert_has(text, "vCPUs:        2\n");
	ck_assert_has(text, "134217728 bytes (128 MiB)");
	ck_assert_has(text, "devices:      3\n");
	ck_assert_has(text, "wisp \"" WISP_VERSION "\"");
	ck_assert_has(text, "2023-11-14T22:13:20.123Z");
	ck_assert_has(text, "sections:     9\n");
	for (uint32_t t = SNAP_SEC_MACHINE; t <= SNAP_SEC_DEVICE; t++)
		ck_assert_has(text, snap_section_name(t));
	ck_assert_has(text, "unknown");
	ck_assert_has(text, "(type 99)");
	ck_assert_has(text, "\"virtio-blk\" id \"rootfs\" mmio 0xc0001000 irq 5 state 13 bytes");
	ck_assert_has(text, "\"serial\" irq 4 state 5 bytes");
	ck_assert_has(text, "\"boot-timer\" mmio 0xc0000000 irq 0 state 0 bytes");
	free(text);
	free(buf);
}
END_TEST

START_TEST(describe_bad_sections)
{
	struct snap_writer *w = snap_writer_new();
	struct snap_machine m = machine(4095, 1, 0);
	struct snap_device_hdr h = devhdr("x", "", 0, 1);
	uint8_t *buf;
	size_t len;
	char *text;

	/* an invalid machine section and a device with a bad state_len and
	 * a terminal escape sequence in its kind: described, not trusted */
	strcpy(h.kind, "\x1b[2Jevil\n");
	h.state_len = 9;
	ck_assert_int_eq(snap_add(w, SNAP_SEC_MACHINE, 0, &m, sizeof(m)), 0);
	ck_assert_int_eq(snap_add(w, SNAP_SEC_DEVICE, 0, &h, sizeof(h)), 0);
	h.state_len = 0;
	ck_assert_int_eq(snap_add(w, SNAP_SEC_DEVICE, 1, &h, sizeof(h)), 0);
	ck_assert_int_eq(snap_finish(w, &buf, &len), 0);
	snap_writer_free(w);
	text = describe(buf, len);
	ck_assert_has(text, "machine:      INVALID: machine section: mem_size 4095");
	ck_assert_has(text, "INVALID: device section 0");
	ck_assert_has(text, "\"\\x1b[2Jevil\\x0a\" irq 1 state 0 bytes");
	ck_assert_ptr_null(strchr(text, 0x1b));
	free(text);
	free(buf);
}
END_TEST

static Suite *snapshot_format_suite(void)
{
	Suite *s = suite_create("snapshot_format");
	TCase *tc = tcase_create("format");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, crc_check_value);
	tcase_add_test(tc, crc_matches_bitwise_definition);
	tcase_add_test(tc, section_names);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, byte_layout);
	tcase_add_test(tc, empty_file);
	tcase_add_test(tc, writer_is_empty_after_finish);
	tcase_add_test(tc, writer_refuses_bad_arguments);
	tcase_add_test(tc, writer_section_limit);
	tcase_add_test(tc, writer_size_limit);
	tcase_add_test(tc, parse_refuses_oversize);
	tcase_add_test(tc, every_truncation_is_refused);
	tcase_add_test(tc, every_flipped_bit_is_refused);
	tcase_add_test(tc, wrong_magic);
	tcase_add_test(tc, other_versions);
	tcase_add_test(tc, total_len_mismatch);
	tcase_add_test(tc, trailing_bytes);
	tcase_add_test(tc, header_fields_must_be_zero);
	tcase_add_test(tc, lying_section_lengths);
	tcase_add_test(tc, lying_section_count);
	tcase_add_test(tc, nonzero_padding);
	tcase_add_test(tc, repeated_section);
	tcase_add_test(tc, parse_error_buffer_is_optional);
	tcase_add_test(tc, machine_valid_limits);
	tcase_add_test(tc, machine_vcpu_count);
	tcase_add_test(tc, machine_mem_size);
	tcase_add_test(tc, machine_section_counts);
	tcase_add_test(tc, machine_section_shape);
	tcase_add_test(tc, machine_section_instance);
	tcase_add_test(tc, device_split_checks);
	tcase_add_test(tc, device_split_not_a_device);
	tcase_add_test(tc, device_writer_checks);
	tcase_add_test(tc, describe_sample);
	tcase_add_test(tc, describe_bad_sections);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(snapshot_format_suite());
}
