/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_snapshot.c — libFuzzer target for the snapshot state file parser.
 *
 * Each input is parsed twice: as it is, and as a copy whose total_len and
 * CRC trailer are fixed up to match its bytes (otherwise almost every
 * mutation stops at the CRC check and the section walk is never fuzzed).
 * A refused input must come with a message and an empty result; an
 * accepted one is described, its machine and device sections are checked,
 * and it must be canonical: writing its sections again gives back the
 * same bytes (for an older minor version, the same sections). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap_internal.h"
#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *devnull;

static void check_accepted(const uint8_t *data, size_t size, struct snap_file *f)
{
	struct snap_writer *w;
	struct snap_machine m;
	uint8_t *again;
	size_t again_len;
	char err[512];

	snap_describe(f, devnull);
	err[0] = '\0';
	if (snap_machine_get(f, &m, err, sizeof(err)) == 0) {
		if (m.nr_vcpus < 1 || m.nr_vcpus > VM_MAX_VCPUS || !m.mem_size || m.mem_size % 4096)
			abort();
		for (uint32_t i = 0; i < m.nr_vcpus; i++)
			if (!snap_find(f, SNAP_SEC_VCPU, i))
				abort();
		for (uint32_t i = 0; i < m.nr_devices; i++)
			if (!snap_find(f, SNAP_SEC_DEVICE, i))
				abort();
	} else if (!err[0]) {
		abort();
	}
	for (unsigned i = 0; i < f->nr; i++) {
		const struct snap_section *s = &f->secs[i];
		struct snap_device_hdr h;
		const uint8_t *state;
		size_t len;

		if (s->data < data || s->len > size || s->data + s->len > data + size)
			abort();
		if (s->type != SNAP_SEC_DEVICE)
			continue;
		err[0] = '\0';
		if (snap_device_split(s, &h, &state, &len, err, sizeof(err)) == 0) {
			if (state + len != s->data + s->len || !memchr(h.kind, '\0', sizeof(h.kind)) ||
			    !memchr(h.id, '\0', sizeof(h.id)))
				abort();
		} else if (!err[0]) {
			abort();
		}
	}

	w = snap_writer_new();
	if (!w)
		abort();
	for (unsigned i = 0; i < f->nr; i++)
		if (snap_add(w, f->secs[i].type, f->secs[i].instance, f->secs[i].data,
			     (size_t)f->secs[i].len))
			abort();
	if (snap_finish(w, &again, &again_len))
		abort();
	/* An older minor version (still read) is written back as the
	 * current one: then only the header and CRC may differ. */
	if (again_len != size)
		abort();
	if (ld_le16(data + SNAP_OFF_MINOR) == SNAP_VERSION_MINOR) {
		if (memcmp(again, data, size))
			abort();
	} else if (memcmp(again + SNAP_HEADER_LEN, data + SNAP_HEADER_LEN,
			  size - SNAP_HEADER_LEN - 8)) {
		abort();
	}
	free(again);
	snap_writer_free(w);
}

static void one(const uint8_t *data, size_t size)
{
	struct snap_file f;
	char err[512];

	err[0] = '\0';
	if (snap_parse(data, size, &f, err, sizeof(err)) != 0) {
		if (!memchr(err, '\0', sizeof(err)) || !err[0] || f.secs || f.nr)
			abort();
		return;
	}
	check_accepted(data, size, &f);
	snap_file_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	uint64_t v;

	if (!devnull && !(devnull = fopen("/dev/null", "w")))
		abort();
	one(data, size);
	if (size < SNAP_HEADER_LEN + 8)
		return 0;
	/* An exactly-sized copy, so ASan sees any read past its end. */
	fixed = malloc(size);
	if (!fixed)
		abort();
	memcpy(fixed, data, size);
	v = size;
	memcpy(fixed + 24, &v, 8);
	v = snap_crc64(0, fixed, size - 8);
	memcpy(fixed + size - 8, &v, 8);
	one(fixed, size);
	free(fixed);
	return 0;
}
