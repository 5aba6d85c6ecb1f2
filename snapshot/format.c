/* SPDX-License-Identifier: Apache-2.0 */
/*
 * format.c — the snapshot state file: writer, parser, lookups, and the
 * checks of the machine and device sections (layout in snapshot.h and
 * docs/snapshot-format.md).
 *
 * The parser takes hostile input: every length is checked against what is
 * left of the buffer before it is used, by subtraction, so that no sum can
 * wrap.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "snap_internal.h"
#include "snapshot.h"

/* The payload structs are copied to and from the file as they lie in
 * memory (x86_64, little-endian): their layout is the file format. */
_Static_assert(sizeof(struct snap_machine) == 64, "snap_machine is 64 bytes");
_Static_assert(offsetof(struct snap_machine, nr_vcpus) == 8, "snap_machine layout");
_Static_assert(offsetof(struct snap_machine, nr_devices) == 12, "snap_machine layout");
_Static_assert(offsetof(struct snap_machine, created_unix_ms) == 16, "snap_machine layout");
_Static_assert(offsetof(struct snap_machine, vmm_version) == 24, "snap_machine layout");
_Static_assert(offsetof(struct snap_machine, reserved) == 40, "snap_machine layout");
_Static_assert(sizeof(struct snap_device_hdr) == 104, "snap_device_hdr is 104 bytes");
_Static_assert(offsetof(struct snap_device_hdr, id) == 16, "snap_device_hdr layout");
_Static_assert(offsetof(struct snap_device_hdr, mmio_base) == 88, "snap_device_hdr layout");
_Static_assert(offsetof(struct snap_device_hdr, irq) == 96, "snap_device_hdr layout");
_Static_assert(offsetof(struct snap_device_hdr, state_len) == 100, "snap_device_hdr layout");
_Static_assert(SNAP_HEADER_LEN % 8 == 0 && SNAP_SECTION_HDR_LEN % 8 == 0, "8-byte alignment");

void snap_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

const char *snap_section_name(uint32_t type)
{
	switch (type) {
	case SNAP_SEC_MACHINE:   return "machine";
	case SNAP_SEC_VM_CONFIG: return "vm-config";
	case SNAP_SEC_VM_KVM:    return "vm-kvm";
	case SNAP_SEC_VCPU:      return "vcpu";
	case SNAP_SEC_DEVICE:    return "device";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */
/* ------------------------------------------------------------------ */

struct snap_key {
	uint32_t type, instance;
};

struct snap_writer {
	uint8_t *buf;        /* header (filled by snap_finish), then sections */
	size_t len, cap;
	unsigned nr;
	struct snap_key keys[SNAP_MAX_SECTIONS];
	int error;           /* first failed add; snap_finish returns it */
};

static int writer_reset(struct snap_writer *w)
{
	w->cap = 4096;
	w->buf = calloc(1, w->cap);
	if (!w->buf)
		return -ENOMEM;
	w->len = SNAP_HEADER_LEN;
	w->nr = 0;
	w->error = 0;
	return 0;
}

struct snap_writer *snap_writer_new(void)
{
	struct snap_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if (writer_reset(w)) {
		free(w);
		return NULL;
	}
	return w;
}

void snap_writer_free(struct snap_writer *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

/* Make room for `more` bytes (known to keep the file within SNAP_MAX_FILE). */
static int writer_reserve(struct snap_writer *w, size_t more)
{
	size_t need = w->len + more, cap = w->cap;
	uint8_t *nb;

	if (need <= cap)
		return 0;
	while (cap < need)
		cap = cap > SNAP_MAX_FILE / 2 ? SNAP_MAX_FILE : cap * 2;
	nb = realloc(w->buf, cap);
	if (!nb)
		return -ENOMEM;
	w->buf = nb;
	w->cap = cap;
	return 0;
}

/* Append one section whose payload is a (alen bytes) then b (blen bytes). */
static int writer_add(struct snap_writer *w, uint32_t type, uint32_t instance, const void *a,
		      size_t alen, const void *b, size_t blen)
{
	size_t left, plen, pad;
	uint8_t *p;
	int ret;

	if (w->error)
		return w->error;
	ret = -E2BIG;
	if (w->nr >= SNAP_MAX_SECTIONS)
		goto fail;
	/* What the file may still take: the limit, less what is written and
	 * the CRC trailer (w->len + 8 <= SNAP_MAX_FILE always holds). */
	left = SNAP_MAX_FILE - SNAP_CRC_LEN - w->len;
	if (left < SNAP_SECTION_HDR_LEN || alen > left - SNAP_SECTION_HDR_LEN ||
	    blen > left - SNAP_SECTION_HDR_LEN - alen)
		goto fail;
	plen = alen + blen;
	pad = snap_pad8(plen);
	if (pad > left - SNAP_SECTION_HDR_LEN - plen)
		goto fail;
	ret = -EEXIST;
	for (unsigned i = 0; i < w->nr; i++)
		if (w->keys[i].type == type && w->keys[i].instance == instance)
			goto fail;
	ret = writer_reserve(w, SNAP_SECTION_HDR_LEN + plen + pad);
	if (ret)
		goto fail;

	p = w->buf + w->len;
	st_le32(p, type);
	st_le32(p + 4, instance);
	st_le64(p + 8, plen);
	p += SNAP_SECTION_HDR_LEN;
	if (alen)
		memcpy(p, a, alen);
	if (blen)
		memcpy(p + alen, b, blen);
	memset(p + plen, 0, pad);
	w->len += SNAP_SECTION_HDR_LEN + plen + pad;
	w->keys[w->nr].type = type;
	w->keys[w->nr].instance = instance;
	w->nr++;
	return 0;
fail:
	w->error = ret;
	return ret;
}

int snap_add(struct snap_writer *w, uint32_t type, uint32_t instance, const void *data,
	     size_t len)
{
	if (!w || (!data && len))
		return -EINVAL;
	return writer_add(w, type, instance, data, len, NULL, 0);
}

/* Copy a string field NUL-padded; -EINVAL if src has no NUL within n. */
static int copy_padded(char *dst, const char *src, size_t n)
{
	size_t l = strnlen(src, n);

	if (l == n)
		return -EINVAL;
	memset(dst, 0, n);
	memcpy(dst, src, l);
	return 0;
}

int snap_add_device(struct snap_writer *w, uint32_t instance, const struct snap_device_hdr *hdr,
		    const void *state, size_t len)
{
	struct snap_device_hdr h;

	if (!w || !hdr || (!state && len))
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	if (copy_padded(h.kind, hdr->kind, sizeof(h.kind)) ||
	    copy_padded(h.id, hdr->id, sizeof(h.id))) {
		if (!w->error)
			w->error = -EINVAL;
		return -EINVAL;
	}
	if (len > UINT32_MAX) {
		if (!w->error)
			w->error = -E2BIG;
		return -E2BIG;
	}
	h.mmio_base = hdr->mmio_base;
	h.irq = hdr->irq;
	h.state_len = (uint32_t)len;
	return writer_add(w, SNAP_SEC_DEVICE, instance, &h, sizeof(h), state, len);
}

int snap_finish(struct snap_writer *w, uint8_t **buf, size_t *len)
{
	uint8_t *b;
	int ret;

	if (!w || !buf || !len)
		return -EINVAL;
	if (w->error)
		return w->error;
	ret = writer_reserve(w, SNAP_CRC_LEN);
	if (ret)
		return ret;
	b = w->buf;
	st_le64(b + SNAP_OFF_MAGIC, SNAP_MAGIC_X86_64);
	st_le16(b + SNAP_OFF_MAJOR, SNAP_VERSION_MAJOR);
	st_le16(b + SNAP_OFF_MINOR, SNAP_VERSION_MINOR);
	st_le32(b + SNAP_OFF_FLAGS, 0);
	st_le32(b + SNAP_OFF_NR, w->nr);
	st_le32(b + SNAP_OFF_RESERVED, 0);
	st_le64(b + SNAP_OFF_TOTAL, (uint64_t)w->len + SNAP_CRC_LEN);
	st_le64(b + w->len, snap_crc64(0, b, w->len));

	/* Hand the buffer over; the writer starts again empty (if that
	 * allocation fails the writer holds no buffer and refuses adds). */
	*buf = b;
	*len = w->len + SNAP_CRC_LEN;
	w->buf = NULL;
	if (writer_reset(w)) {
		w->len = w->cap = 0;
		w->error = -ENOMEM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

int snap_parse(const uint8_t *buf, size_t len, struct snap_file *out, char *err, size_t errlen)
{
	uint64_t total, crc_file, crc_calc;
	uint32_t flags, nr, reserved;
	uint16_t major, minor;
	size_t off, end;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!buf && len) {
		snap_errf(err, errlen, "snapshot buffer is missing");
		return -EINVAL;
	}
	if (len < SNAP_HEADER_LEN + SNAP_CRC_LEN) {
		/* Firecracker's words first (functional/test_snapshot_basic.py
		 * loads empty files and matches them). */
		snap_errf(err, errlen,
			  "IO Error: File too short to contain CRC (snapshot is %zu bytes, shorter "
			  "than a header and CRC (%d bytes))", len, SNAP_HEADER_LEN + SNAP_CRC_LEN);
		return -EINVAL;
	}
	if (len > SNAP_MAX_FILE) {
		snap_errf(err, errlen, "snapshot is %zu bytes, larger than the limit of %u bytes",
			  len, SNAP_MAX_FILE);
		return -EINVAL;
	}
	if (ld_le64(buf + SNAP_OFF_MAGIC) != SNAP_MAGIC_X86_64) {
		snap_errf(err, errlen, "not a wisp x86_64 snapshot (magic 0x%016" PRIx64 ")",
			  ld_le64(buf + SNAP_OFF_MAGIC));
		return -EINVAL;
	}
	/* The version before anything else: a file of another version may
	 * be laid out differently, and its version is the useful message. */
	major = ld_le16(buf + SNAP_OFF_MAJOR);
	minor = ld_le16(buf + SNAP_OFF_MINOR);
	if (major != SNAP_VERSION_MAJOR || minor > SNAP_VERSION_MINOR) {
		snap_errf(err, errlen, "snapshot format version %u.%u, this wisp reads %u.%u",
			  major, minor, SNAP_VERSION_MAJOR, SNAP_VERSION_MINOR);
		return -EINVAL;
	}
	total = ld_le64(buf + SNAP_OFF_TOTAL);
	if (total != len) {
		snap_errf(err, errlen,
			  "snapshot header says the file is %" PRIu64 " bytes, but it is %zu "
			  "(truncated or extended)", total, len);
		return -EINVAL;
	}
	crc_file = ld_le64(buf + len - SNAP_CRC_LEN);
	crc_calc = snap_crc64(0, buf, len - SNAP_CRC_LEN);
	if (crc_file != crc_calc) {
		snap_errf(err, errlen,
			  "snapshot CRC mismatch: the file says 0x%016" PRIx64 ", its contents "
			  "give 0x%016" PRIx64, crc_file, crc_calc);
		return -EINVAL;
	}
	flags = ld_le32(buf + SNAP_OFF_FLAGS);
	reserved = ld_le32(buf + SNAP_OFF_RESERVED);
	if (flags || reserved) {
		snap_errf(err, errlen,
			  "snapshot header flags 0x%x and reserved 0x%x must be 0", flags,
			  reserved);
		return -EINVAL;
	}
	nr = ld_le32(buf + SNAP_OFF_NR);
	if (nr > SNAP_MAX_SECTIONS) {
		snap_errf(err, errlen, "snapshot has %u sections, more than the limit of %d", nr,
			  SNAP_MAX_SECTIONS);
		return -EINVAL;
	}

	out->secs = calloc(nr ? nr : 1, sizeof(*out->secs));
	if (!out->secs) {
		snap_errf(err, errlen, "out of memory for %u snapshot sections", nr);
		return -ENOMEM;
	}
	end = len - SNAP_CRC_LEN;
	off = SNAP_HEADER_LEN;
	for (uint32_t i = 0; i < nr; i++) {
		struct snap_section *s = &out->secs[i];
		uint32_t type, instance;
		uint64_t slen, pad;
		size_t avail;

		if (end - off < SNAP_SECTION_HDR_LEN) {
			snap_errf(err, errlen,
				  "section %u at offset %zu: its header runs past the end (the "
				  "file header says %u sections)", i, off, nr);
			goto bad;
		}
		type = ld_le32(buf + off);
		instance = ld_le32(buf + off + 4);
		slen = ld_le64(buf + off + 8);
		avail = end - off - SNAP_SECTION_HDR_LEN;
		if (slen > avail) {
			snap_errf(err, errlen,
				  "section %u (type %u) at offset %zu: length %" PRIu64
				  " runs past the end", i, type, off, slen);
			goto bad;
		}
		pad = snap_pad8(slen);
		if (pad > avail - slen) {
			snap_errf(err, errlen,
				  "section %u (type %u) at offset %zu: its padding runs past the "
				  "end", i, type, off);
			goto bad;
		}
		for (uint64_t k = 0; k < pad; k++) {
			if (buf[off + SNAP_SECTION_HDR_LEN + slen + k]) {
				snap_errf(err, errlen,
					  "section %u (type %u) at offset %zu: padding is not "
					  "zero", i, type, off);
				goto bad;
			}
		}
		for (uint32_t j = 0; j < i; j++) {
			if (out->secs[j].type == type && out->secs[j].instance == instance) {
				snap_errf(err, errlen,
					  "section %u at offset %zu repeats section %u (%s %u)", i,
					  off, j, snap_section_name(type), instance);
				goto bad;
			}
		}
		s->type = type;
		s->instance = instance;
		s->offset = off;
		s->len = slen;
		s->data = buf + off + SNAP_SECTION_HDR_LEN;
		off += SNAP_SECTION_HDR_LEN + slen + pad;
	}
	if (off != end) {
		snap_errf(err, errlen,
			  "snapshot has %zu bytes left over after its %u sections (offset %zu)",
			  end - off, nr, off);
		goto bad;
	}
	out->major = major;
	out->minor = minor;
	out->nr = nr;
	return 0;
bad:
	snap_file_free(out);
	return -EINVAL;
}

void snap_file_free(struct snap_file *f)
{
	if (!f)
		return;
	free(f->secs);
	memset(f, 0, sizeof(*f));
}

const struct snap_section *snap_find(const struct snap_file *f, uint32_t type, uint32_t instance)
{
	for (unsigned i = 0; f && i < f->nr; i++)
		if (f->secs[i].type == type && f->secs[i].instance == instance)
			return &f->secs[i];
	return NULL;
}

unsigned snap_count(const struct snap_file *f, uint32_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; f && i < f->nr; i++)
		n += f->secs[i].type == type;
	return n;
}

/* ------------------------------------------------------------------ */
/* Machine and device sections                                         */
/* ------------------------------------------------------------------ */

/* A copy of an n-byte string field (NUL-terminated within n) fit for a
 * message: anything but printable ASCII becomes '?'. */
static void printable(char *dst, const char *src, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

int snap_device_split(const struct snap_section *s, struct snap_device_hdr *hdr,
		      const uint8_t **state, size_t *len, char *err, size_t errlen)
{
	struct snap_device_hdr h;
	char kind[sizeof(h.kind)];

	if (!s || !hdr || !state || !len)
		return -EINVAL;
	if (s->type != SNAP_SEC_DEVICE) {
		snap_errf(err, errlen, "section %s %u is not a device section",
			  snap_section_name(s->type), s->instance);
		return -EINVAL;
	}
	if (s->len < sizeof(h)) {
		snap_errf(err, errlen,
			  "device section %u is %" PRIu64 " bytes, shorter than its %zu-byte "
			  "header", s->instance, s->len, sizeof(h));
		return -EINVAL;
	}
	memcpy(&h, s->data, sizeof(h));
	if (!memchr(h.kind, '\0', sizeof(h.kind))) {
		snap_errf(err, errlen, "device section %u: kind is not NUL-terminated",
			  s->instance);
		return -EINVAL;
	}
	printable(kind, h.kind, sizeof(kind));
	if (!memchr(h.id, '\0', sizeof(h.id))) {
		snap_errf(err, errlen, "device section %u (%s): id is not NUL-terminated",
			  s->instance, kind);
		return -EINVAL;
	}
	if (h.state_len != s->len - sizeof(h)) {
		snap_errf(err, errlen,
			  "device section %u (%s): state_len %u but %" PRIu64
			  " bytes of state follow the header", s->instance, kind, h.state_len,
			  s->len - sizeof(h));
		return -EINVAL;
	}
	*hdr = h;
	*state = s->data + sizeof(h);
	*len = h.state_len;
	return 0;
}

/* Instances of `type` must be exactly 0..n-1 (the parser refuses repeats,
 * so n sections all below n are each of them once). */
static int check_instances(const struct snap_file *f, uint32_t type, unsigned n, char *err,
			   size_t errlen)
{
	unsigned have = snap_count(f, type);

	if (have != n) {
		snap_errf(err, errlen, "the machine section says %u %s sections, the file has %u",
			  n, snap_section_name(type), have);
		return -EINVAL;
	}
	for (unsigned i = 0; i < f->nr; i++) {
		if (f->secs[i].type == type && f->secs[i].instance >= n) {
			snap_errf(err, errlen,
				  "%s section instance %u is out of range (the machine has %u)",
				  snap_section_name(type), f->secs[i].instance, n);
			return -EINVAL;
		}
	}
	return 0;
}

int snap_machine_get(const struct snap_file *f, struct snap_machine *out, char *err,
		     size_t errlen)
{
	const struct snap_section *s;
	struct snap_machine m;
	int ret;

	if (!f || !out)
		return -EINVAL;
	s = snap_find(f, SNAP_SEC_MACHINE, 0);
	if (!s || snap_count(f, SNAP_SEC_MACHINE) != 1) {
		snap_errf(err, errlen, "snapshot has %s machine section",
			  s ? "more than one" : "no");
		return -EINVAL;
	}
	if (s->len != sizeof(m)) {
		snap_errf(err, errlen, "machine section is %" PRIu64 " bytes, expected %zu", s->len,
			  sizeof(m));
		return -EINVAL;
	}
	memcpy(&m, s->data, sizeof(m));
	if (m.nr_vcpus < 1 || m.nr_vcpus > VM_MAX_VCPUS) {
		snap_errf(err, errlen, "machine section: nr_vcpus %u is not in 1..%d", m.nr_vcpus,
			  VM_MAX_VCPUS);
		return -EINVAL;
	}
	if (!m.mem_size || m.mem_size % 4096) {
		snap_errf(err, errlen,
			  "machine section: mem_size %" PRIu64 " is not a non-zero multiple of "
			  "4096", m.mem_size);
		return -EINVAL;
	}
	if (!memchr(m.vmm_version, '\0', sizeof(m.vmm_version))) {
		snap_errf(err, errlen, "machine section: vmm_version is not NUL-terminated");
		return -EINVAL;
	}
	ret = check_instances(f, SNAP_SEC_VCPU, m.nr_vcpus, err, errlen);
	if (!ret)
		ret = check_instances(f, SNAP_SEC_DEVICE, m.nr_devices, err, errlen);
	if (ret)
		return ret;
	*out = m;
	return 0;
}
