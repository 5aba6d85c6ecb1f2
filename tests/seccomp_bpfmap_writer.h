/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp_bpfmap_writer.h — tests only: write Firecracker's compiled
 * seccomp filter file (what seccompiler-bin outputs) without seccompiler:
 * a thread category -> BPF program map as bitcode 0.6 (Firecracker 1.15+)
 * or bincode with fixed-width little-endian integers (up to 1.14), and
 * small hand-made BPF programs. The bitcode written here uses the simplest
 * encodings bitcode allows (raw bytes, 64-bit integers); real seccompiler
 * output (packed) is in tests/fuzz/corpus/seccomp_bpfmap/bitcode-*.bin.
 */
#ifndef WISP_TEST_SECCOMP_BPFMAP_WRITER_H
#define WISP_TEST_SECCOMP_BPFMAP_WRITER_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bm_prog {
	const char *name;
	const struct sock_filter *insns;
	size_t n;
};

struct bm_buf {
	uint8_t *p;
	size_t len, cap;
	int overflow;
};

static inline void bm_put(struct bm_buf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static inline void bm_u64(struct bm_buf *b, uint64_t v)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	bm_put(b, le, 8);
}

static inline uint64_t bm_insn(const struct sock_filter *f)
{
	return (uint64_t)f->code | (uint64_t)f->jt << 16 | (uint64_t)f->jf << 24 |
	       (uint64_t)f->k << 32;
}

/* bitcode lengths: a byte each (255: "see the large ones"); for more than 2
 * a packing byte 0 (raw) first; then the large ones as u64s (packing byte
 * 0: 8 bytes each) when the bytes sum to 255 or more. */
static inline void bm_bitcode_lengths(struct bm_buf *b, const uint64_t *len, size_t n)
{
	uint64_t sum = 0;
	size_t nlarge = 0;

	if (n > 2)
		bm_put(b, "\0", 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t s = len[i] < 255 ? (uint8_t)len[i] : 255;

		bm_put(b, &s, 1);
		sum += s;
		nlarge += s == 255;
	}
	if (sum >= 255 && nlarge) {
		bm_put(b, "\0", 1);
		for (size_t i = 0; i < n; i++)
			if (len[i] >= 255)
				bm_u64(b, len[i]);
	}
}

/* Returns the length written, 0 if cap was too small. */
static inline size_t bm_write_bitcode(uint8_t *out, size_t cap, const struct bm_prog *p, size_t np)
{
	struct bm_buf b = { out, 0, cap, 0 };
	uint64_t nmap = np, lens[16];
	size_t total = 0;

	if (np > 16)
		return 0;
	bm_bitcode_lengths(&b, &nmap, 1);
	if (np) {
		for (size_t i = 0; i < np; i++)
			lens[i] = strlen(p[i].name);
		bm_bitcode_lengths(&b, lens, np);
		for (size_t i = 0; i < np; i++)
			bm_put(&b, p[i].name, strlen(p[i].name));
		for (size_t i = 0; i < np; i++) {
			lens[i] = p[i].n;
			total += p[i].n;
		}
		bm_bitcode_lengths(&b, lens, np);
		if (total) {
			bm_put(&b, "\0", 1);
			for (size_t i = 0; i < np; i++)
				for (size_t k = 0; k < p[i].n; k++)
					bm_u64(&b, bm_insn(&p[i].insns[k]));
		}
	}
	return b.overflow ? 0 : b.len;
}

static inline size_t bm_write_bincode(uint8_t *out, size_t cap, const struct bm_prog *p, size_t np)
{
	struct bm_buf b = { out, 0, cap, 0 };

	bm_u64(&b, np);
	for (size_t i = 0; i < np; i++) {
		bm_u64(&b, strlen(p[i].name));
		bm_put(&b, p[i].name, strlen(p[i].name));
		bm_u64(&b, p[i].n);
		for (size_t k = 0; k < p[i].n; k++)
			bm_u64(&b, bm_insn(&p[i].insns[k]));
	}
	return b.overflow ? 0 : b.len;
}

/* A program as seccompiler makes for rules without arguments: another
 * architecture is killed; each system call of nrs gets match_action, any
 * other default_action (e.g. SECCOMP_RET_ALLOW / SECCOMP_RET_TRAP).
 * out needs 5 + n instructions; returns the count. */
static inline size_t bm_prog_calls(struct sock_filter *out, const int *nrs, size_t n,
				   uint32_t match_action, uint32_t default_action)
{
	size_t k = 0;

	out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4 /* arch */);
	out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0 /* nr */);
	for (size_t i = 0; i < n; i++)
		out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nrs[i],
							(uint8_t)(n - i), 0);
	out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, default_action);
	if (n)
		out[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, match_action);
	return k;
}

#endif
