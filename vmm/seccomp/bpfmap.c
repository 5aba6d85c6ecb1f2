/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfmap.c — Firecracker's compiled seccomp filter file: what its
 * `seccompiler-bin` writes and `firecracker --seccomp-filter` reads, a map
 * from thread category ("vmm", "api", "vcpu") to a BPF program (a list of
 * 8-byte `struct sock_filter` instructions, stored as little-endian u64s).
 *
 * Two serialisations exist, both read here (docs/seccomp.md):
 *  - bitcode 0.6 with serde (Firecracker 1.15 and later, so 1.17):
 *    a column-oriented, packed format. For a `map<string, vec<u64>>` the
 *    file is four buffers in this order: the map's length, the keys (their
 *    lengths, then their bytes), the vectors' lengths, then every u64 of
 *    every vector. Lengths and integers are packed (see read_lengths,
 *    read_bytes, read_u64s), and the file must end exactly after them.
 *  - bincode with fixed-width little-endian integers (Firecracker 1.14 and
 *    earlier): u64 count, then per entry u64 name length, name bytes, u64
 *    program length, the u64s.
 * Firecracker caps the file at 100,000 bytes; so does wisp.
 *
 * Pure code (no system calls): unit-tested and fuzzed
 * (tests/fuzz/fuzz_seccomp_bpfmap.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_seccomp.h"

/* ------------------------------------------------------------------ */
/* A reader over the file                                              */
/* ------------------------------------------------------------------ */

struct rd {
	const uint8_t *p;
	size_t left;
	char *err;
	size_t errlen;
	const char *what;              /* what is being read, for messages */
};

static int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int rd_fail(struct rd *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s (reading %s)", msg, r->what);
	return -EINVAL;
}

static int rd_take(struct rd *r, size_t n, const uint8_t **out)
{
	*out = NULL;   /* set on every path (gcc's -Wmaybe-uninitialized in the callers) */
	if (n > r->left)
		return rd_fail(r, "the file ends too early: %zu more bytes needed, %zu left", n,
			       r->left);
	*out = r->p;
	r->p += n;
	r->left -= n;
	return 0;
}

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/* ------------------------------------------------------------------ */
/* bitcode                                                             */
/* ------------------------------------------------------------------ */

/* Largest total length bitcode accepts (isize::MAX / 4096). */
#define BC_HUGE_LEN (0x7FFFFFFFFFFFFFFFull / 4096)

/* `n` bytes, possibly packed: n <= 2 raw; else one packing byte
 * (0: raw; 1..10: values in base 16, 6, 4, 3 or 2, several per byte, odd:
 * plus a minimum byte added to each). */
static int bc_read_bytes(struct rd *r, size_t n, uint8_t *out)
{
	static const unsigned factor[] = { 256, 16, 6, 4, 3, 2 };
	static const unsigned per_byte[] = { 1, 2, 3, 4, 5, 8 };
	const uint8_t *b, *packed;
	unsigned p, f, d;
	uint8_t min = 0;
	bool offset;

	if (n <= 2) {
		if (rd_take(r, n, &b) < 0)
			return -EINVAL;
		memcpy(out, b, n);
		return 0;
	}
	if (rd_take(r, 1, &b) < 0)
		return -EINVAL;
	p = (b[0] + 1u) / 2;
	offset = b[0] & 1;
	if (p > 5)
		return rd_fail(r, "invalid byte packing %u", b[0]);
	if (offset) {
		if (rd_take(r, 1, &b) < 0)
			return -EINVAL;
		min = b[0];
	}
	f = factor[p];
	d = per_byte[p];
	if (rd_take(r, n / d + (n % d != 0), &packed) < 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i += d) {
		unsigned v = packed[i / d];

		for (unsigned k = 0; k < d && i + k < n; k++) {
			out[i + k] = (uint8_t)((f == 256 ? v : v % f) + min);
			v = f == 256 ? 0 : v / f;
		}
	}
	return 0;
}

/* `n` u64s: nothing for n == 0; else one packing byte (0: 8 bytes each;
 * 1/2: 4 bytes, 3/4: 2 bytes, 5/6: 1 byte each (itself packed as in
 * bc_read_bytes); odd: plus an 8-byte minimum added to each). */
static int bc_read_u64s(struct rd *r, size_t n, uint64_t *out)
{
	const uint8_t *b;
	uint64_t min = 0;
	unsigned p, width;

	if (n == 0)
		return 0;
	if (rd_take(r, 1, &b) < 0)
		return -EINVAL;
	p = (b[0] + 1u) / 2 + 1;   /* 1: 64 bits, 2: 32, 3: 16, 4: 8 */
	if (p > 4)
		return rd_fail(r, "invalid integer packing %u", b[0]);
	if (b[0] & 1) {
		if (rd_take(r, 8, &b) < 0)
			return -EINVAL;
		min = le64(b);
	}
	width = 8u >> (p - 1);
	if (width == 1) {
		uint8_t *tmp = malloc(n);
		int rc;

		if (!tmp)
			return rd_fail(r, "out of memory");
		rc = bc_read_bytes(r, n, tmp);
		for (size_t i = 0; rc == 0 && i < n; i++)
			out[i] = tmp[i] + min;
		free(tmp);
		return rc;
	}
	if (n > r->left / width)
		return rd_fail(r, "the file ends too early: %zu integers of %u bytes need %zu more "
			       "bytes, %zu left", n, width, n * width, r->left);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = 0;

		for (unsigned k = width; k-- > 0;)
			v = v << 8 | r->p[i * width + k];
		out[i] = v + min;
	}
	r->p += n * width;
	r->left -= n * width;
	return 0;
}

/* `n` lengths: one byte each (bc_read_bytes), 255 meaning "the next of
 * the large lengths", which follow as u64s (only when the bytes sum to 255
 * or more). *sum: their total. */
static int bc_read_lengths(struct rd *r, size_t n, uint64_t *out, uint64_t *sum)
{
	uint8_t *small = malloc(n ? n : 1);
	uint64_t *large = NULL;
	size_t nlarge = 0, li = 0;
	uint64_t s = 0;
	int rc = -EINVAL;

	if (!small)
		return rd_fail(r, "out of memory");
	if (bc_read_bytes(r, n, small) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		s += small[i];
		nlarge += small[i] == 255;
	}
	if (s >= 255 && nlarge) {
		large = calloc(nlarge, sizeof(*large));
		if (!large) {
			rd_fail(r, "out of memory");
			goto out;
		}
		if (bc_read_u64s(r, nlarge, large) < 0)
			goto out;
		s -= 255 * (uint64_t)nlarge;
		for (size_t i = 0; i < nlarge; i++) {
			if (large[i] > BC_HUGE_LEN || s + large[i] >= BC_HUGE_LEN) {
				rd_fail(r, "length overflow");
				goto out;
			}
			s += large[i];
		}
	}
	for (size_t i = 0; i < n; i++)
		out[i] = small[i] < 255 ? small[i] : (li < nlarge ? large[li++] : 255);
	*sum = s;
	rc = 0;
out:
	free(small);
	free(large);
	return rc;
}

static void map_clear(struct sc_bpfmap *m)
{
	for (unsigned i = 0; m->entry && i < m->n; i++) {
		free(m->entry[i].name);
		sc_bpf_free(&m->entry[i].prog);
	}
	free(m->entry);
	memset(m, 0, sizeof(*m));
}

/* Names are checked against each other one by one: keep their number small
 * (only vmm, api and vcpu are used). */
#define BPFMAP_MAX_CATEGORIES 64

/* One thread category name: printable ASCII, lowercased (Firecracker
 * lowercases them), not already in the map. */
static int add_name(struct rd *r, struct sc_bpfmap *m, const uint8_t *bytes, uint64_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return rd_fail(r, "out of memory");
	for (uint64_t k = 0; k < len; k++) {
		uint8_t c = bytes[k];

		if (c < 0x20 || c >= 0x7f) {
			free(s);
			return rd_fail(r, "thread category %u is not a printable ASCII name", m->n);
		}
		s[k] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	s[len] = 0;
	for (unsigned j = 0; j < m->n; j++) {
		if (!strcmp(m->entry[j].name, s)) {
			rd_fail(r, "thread category \"%.64s\" appears twice", s);
			free(s);
			return -EINVAL;
		}
	}
	m->entry[m->n++].name = s;
	return 0;
}

static int add_names(struct rd *r, struct sc_bpfmap *m, const uint8_t *bytes, const uint64_t *len,
		     size_t n)
{
	m->entry = calloc(n ? n : 1, sizeof(*m->entry));
	if (!m->entry)
		return rd_fail(r, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (add_name(r, m, bytes, len[i]) < 0)
			return -EINVAL;
		bytes += len[i];
	}
	return 0;
}

static int check_prog_len(struct rd *r, const char *name, uint64_t n)
{
	if (n > BPF_MAXINSNS)
		return rd_fail(r, "the \"%.64s\" program has %llu instructions; the kernel takes "
			       "at most %d", name, (unsigned long long)n, BPF_MAXINSNS);
	return 0;
}

static void put_insns(struct sc_bpf *b, const uint64_t *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		b->insns[i].code = (uint16_t)v[i];
		b->insns[i].jt = (uint8_t)(v[i] >> 16);
		b->insns[i].jf = (uint8_t)(v[i] >> 24);
		b->insns[i].k = (uint32_t)(v[i] >> 32);
	}
	b->len = (unsigned short)n;
}

static int parse_bitcode(struct rd *r, struct sc_bpfmap *m)
{
	uint64_t nmap, namesum = 0, progsum = 0, *namelen = NULL, *proglen = NULL, *insns = NULL;
	const uint8_t *names;
	int rc = -EINVAL;

	r->what = "the number of thread categories";
	if (bc_read_lengths(r, 1, &nmap, &namesum) < 0)
		return -EINVAL;
	if (nmap > r->left)
		return rd_fail(r, "%llu thread categories in a file of %zu more bytes",
			       (unsigned long long)nmap, r->left);
	if (nmap > BPFMAP_MAX_CATEGORIES)
		return rd_fail(r, "%llu thread categories; at most %d are read (Firecracker's "
			       "files have 3)", (unsigned long long)nmap, BPFMAP_MAX_CATEGORIES);
	if (nmap == 0)
		goto eof;
	namelen = calloc(nmap, sizeof(*namelen));
	proglen = calloc(nmap, sizeof(*proglen));
	if (!namelen || !proglen) {
		rd_fail(r, "out of memory");
		goto out;
	}
	r->what = "the thread category names";
	if (bc_read_lengths(r, nmap, namelen, &namesum) < 0 || rd_take(r, namesum, &names) < 0 ||
	    add_names(r, m, names, namelen, nmap) < 0)
		goto out;
	r->what = "the program lengths";
	if (bc_read_lengths(r, nmap, proglen, &progsum) < 0)
		goto out;
	for (size_t i = 0; i < nmap; i++)
		if (check_prog_len(r, m->entry[i].name, proglen[i]) < 0)
			goto out;
	r->what = "the BPF instructions";
	/* At most 8 per byte left (1-bit packing): refuse before allocating. */
	if (progsum / 8 > r->left) {
		rd_fail(r, "the file ends too early: %llu instructions in %zu more bytes",
			(unsigned long long)progsum, r->left);
		goto out;
	}
	if (progsum) {
		insns = calloc(progsum, sizeof(*insns));
		if (!insns) {
			rd_fail(r, "out of memory");
			goto out;
		}
		if (bc_read_u64s(r, progsum, insns) < 0)
			goto out;
	}
	for (size_t i = 0, at = 0; i < nmap; at += proglen[i], i++) {
		struct sc_bpf *b = &m->entry[i].prog;

		if (!proglen[i])
			continue;
		b->insns = calloc(proglen[i], sizeof(*b->insns));
		if (!b->insns) {
			rd_fail(r, "out of memory");
			goto out;
		}
		put_insns(b, insns + at, proglen[i]);
	}
eof:
	r->what = "the end of the file";
	if (r->left) {
		rd_fail(r, "%zu bytes after the last program", r->left);
		goto out;
	}
	rc = 0;
out:
	free(namelen);
	free(proglen);
	free(insns);
	return rc;
}

/* ------------------------------------------------------------------ */
/* bincode (fixed-width little-endian integers)                        */
/* ------------------------------------------------------------------ */

static int bn_u64(struct rd *r, uint64_t *v)
{
	const uint8_t *b;

	if (rd_take(r, 8, &b) < 0)
		return -EINVAL;
	*v = le64(b);
	return 0;
}

static int parse_bincode(struct rd *r, struct sc_bpfmap *m)
{
	uint64_t n;

	r->what = "the number of thread categories";
	if (bn_u64(r, &n) < 0)
		return -EINVAL;
	if (n > BPFMAP_MAX_CATEGORIES)
		return rd_fail(r, "%llu thread categories; at most %d are read (Firecracker's "
			       "files have 3)", (unsigned long long)n, BPFMAP_MAX_CATEGORIES);
	/* Each entry takes at least 16 bytes. */
	if (n > r->left / 16)
		return rd_fail(r, "%llu thread categories in a file of %zu more bytes",
			       (unsigned long long)n, r->left);
	m->entry = calloc(n ? n : 1, sizeof(*m->entry));
	if (!m->entry)
		return rd_fail(r, "out of memory");
	for (uint64_t i = 0; i < n; i++) {
		struct sc_bpfmap_entry *e = &m->entry[i];
		const uint8_t *b;
		uint64_t len, *v;

		r->what = "a thread category name";
		if (bn_u64(r, &len) < 0 || rd_take(r, len, &b) < 0)
			return -EINVAL;
		if (add_name(r, m, b, len) < 0)
			return -EINVAL;
		r->what = "a program";
		if (bn_u64(r, &len) < 0 || check_prog_len(r, e->name, len) < 0)
			return -EINVAL;
		if (len > r->left / 8)
			return rd_fail(r, "the file ends too early: %llu instructions need %llu bytes, "
				       "%zu left", (unsigned long long)len,
				       (unsigned long long)len * 8, r->left);
		if (!len)
			continue;
		v = calloc(len, sizeof(*v));
		e->prog.insns = calloc(len, sizeof(*e->prog.insns));
		if (!v || !e->prog.insns) {
			free(v);
			return rd_fail(r, "out of memory");
		}
		for (uint64_t k = 0; k < len; k++)
			bn_u64(r, &v[k]);
		put_insns(&e->prog, v, len);
		free(v);
	}
	r->what = "the end of the file";
	if (r->left)
		return rd_fail(r, "%zu bytes after the last program", r->left);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Program checks                                                      */
/* ------------------------------------------------------------------ */

/* The instructions the kernel takes in a seccomp program
 * (kernel/seccomp.c: seccomp_check_filter), less the loads, checked apart. */
static bool seccomp_op_ok(uint16_t code)
{
	switch (code) {
	case BPF_RET | BPF_K: case BPF_RET | BPF_A:
	case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
	case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
	case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
	case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
	case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
	case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
	case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
	case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
	case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
	case BPF_ALU | BPF_NEG:
	case BPF_LD | BPF_IMM: case BPF_LDX | BPF_IMM:
	case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
	case BPF_LD | BPF_MEM: case BPF_LDX | BPF_MEM: case BPF_ST: case BPF_STX:
	case BPF_JMP | BPF_JA:
	case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
	case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
	case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
	case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
	case BPF_LD | BPF_W | BPF_LEN: case BPF_LDX | BPF_W | BPF_LEN:
		return true;
	}
	return false;
}

int sc_bpf_check(const struct sc_bpf *b, char *err, size_t errlen)
{
	/* struct seccomp_data: nr, arch, instruction_pointer, args[6] */
	const uint32_t data_size = 64;

	if (!b->len)
		return 0;
	if (b->len > BPF_MAXINSNS) {
		snprintf(err, errlen, "%u instructions; the kernel takes at most %d", b->len,
			 BPF_MAXINSNS);
		return -EINVAL;
	}
	for (unsigned pc = 0; pc < b->len; pc++) {
		const struct sock_filter *f = &b->insns[pc];
		unsigned left = b->len - pc - 1;   /* instructions after this one */

		if (f->code == (BPF_LD | BPF_W | BPF_ABS)) {
			if (f->k >= data_size || f->k & 3) {
				snprintf(err, errlen, "instruction %u loads offset %u of the system "
					 "call's data (0 to 60, a multiple of 4)", pc, f->k);
				return -EINVAL;
			}
			continue;
		}
		if (!seccomp_op_ok(f->code)) {
			snprintf(err, errlen, "instruction %u: opcode %#x is not allowed in a seccomp "
				 "program", pc, f->code);
			return -EINVAL;
		}
		switch (f->code) {
		case BPF_ALU | BPF_DIV | BPF_K:
			if (!f->k)
				goto bad;
			break;
		case BPF_ALU | BPF_LSH | BPF_K:
		case BPF_ALU | BPF_RSH | BPF_K:
			if (f->k >= 32)
				goto bad;
			break;
		case BPF_LD | BPF_MEM: case BPF_LDX | BPF_MEM: case BPF_ST: case BPF_STX:
			if (f->k >= BPF_MEMWORDS)
				goto bad;
			break;
		case BPF_JMP | BPF_JA:
			if (f->k >= left) {
				snprintf(err, errlen, "instruction %u jumps past the end", pc);
				return -EINVAL;
			}
			break;
		default:
			if (BPF_CLASS(f->code) == BPF_JMP && (f->jt >= left || f->jf >= left)) {
				snprintf(err, errlen, "instruction %u jumps past the end", pc);
				return -EINVAL;
			}
		}
		continue;
bad:
		snprintf(err, errlen, "instruction %u: opcode %#x with operand %u is invalid", pc,
			 f->code, f->k);
		return -EINVAL;
	}
	if (BPF_CLASS(b->insns[b->len - 1].code) != BPF_RET) {
		snprintf(err, errlen, "the last instruction (%u) is not a return", b->len - 1);
		return -EINVAL;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

bool sc_text_is_json(const uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	return i < len && buf[i] == '{';
}

void sc_bpfmap_free(struct sc_bpfmap *m)
{
	map_clear(m);
}

int sc_bpfmap_parse(const uint8_t *buf, size_t len, struct sc_bpfmap *m, char *err, size_t errlen)
{
	char e1[256], e2[256];
	struct rd r;

	memset(m, 0, sizeof(*m));
	if (len > SC_BPFMAP_MAX_FILE) {
		snprintf(err, errlen, "Input size %zu exceeds limit of %d bytes", len,
			 SC_BPFMAP_MAX_FILE);
		return -EINVAL;
	}
	r = (struct rd){ .p = buf, .left = len, .err = e1, .errlen = sizeof(e1) };
	if (parse_bitcode(&r, m) == 0) {
		m->format = SC_BPFMAP_BITCODE;
		return 0;
	}
	map_clear(m);
	r = (struct rd){ .p = buf, .left = len, .err = e2, .errlen = sizeof(e2) };
	if (parse_bincode(&r, m) == 0) {
		m->format = SC_BPFMAP_BINCODE;
		return 0;
	}
	map_clear(m);
	snprintf(err, errlen, "not a seccompiler-bin file: as bitcode (Firecracker 1.15+): %s; "
		 "as bincode (Firecracker 1.14 and earlier): %s", e1, e2);
	return -EINVAL;
}

int sc_bpfmap_take_roles(struct sc_bpfmap *m, struct sc_bpf out[SC_NR_ROLES], char *err,
			 size_t errlen)
{
	size_t n = 0;

	memset(out, 0, sizeof(struct sc_bpf) * SC_NR_ROLES);
	/* Firecracker's order: unknown categories first, then a missing one. */
	for (unsigned i = 0; i < m->n; i++) {
		bool known = false;

		for (unsigned role = 0; role < SC_NR_ROLES; role++)
			known |= !strcmp(m->entry[i].name, sc_role_name(role));
		if (!known) {
			if (!n)
				n += (size_t)snprintf(err, errlen, "Invalid thread categories: ");
			if (n < errlen)
				n += (size_t)snprintf(err + n, errlen - n, "%s%.64s",
						      err[n - 1] == ' ' ? "" : ",", m->entry[i].name);
		}
	}
	if (n)
		return -EINVAL;
	for (unsigned role = 0; role < SC_NR_ROLES; role++) {
		bool found = false;

		for (unsigned i = 0; i < m->n && !found; i++)
			found = !strcmp(m->entry[i].name, sc_role_name(role));
		if (!found) {
			snprintf(err, errlen, "Missing thread category: %s", sc_role_name(role));
			return -EINVAL;
		}
	}
	for (unsigned role = 0; role < SC_NR_ROLES; role++)
		for (unsigned i = 0; i < m->n; i++)
			if (!strcmp(m->entry[i].name, sc_role_name(role))) {
				out[role] = m->entry[i].prog;
				memset(&m->entry[i].prog, 0, sizeof(m->entry[i].prog));
			}
	return 0;
}

const struct sc_bpf *sc_bpfmap_get(const struct sc_bpfmap *m, const char *name)
{
	for (unsigned i = 0; i < m->n; i++)
		if (!strcmp(m->entry[i].name, name))
			return &m->entry[i].prog;
	return NULL;
}
