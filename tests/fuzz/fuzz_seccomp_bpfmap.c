/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_seccomp_bpfmap.c — libFuzzer target for the reader of Firecracker's
 * compiled seccomp filter file (vmm/seccomp/bpfmap.c: seccompiler-bin's
 * output, bitcode or bincode, given with --seccomp-filter).
 *
 * Input: the file. A refused file must come with a message and an empty
 * map. An accepted one has lowercase printable names, no duplicate, no
 * program over BPF_MAXINSNS; written back in both formats
 * (tests/seccomp_bpfmap_writer.h) it must read back to the same map, and
 * the role check either moves the three programs out or says why.
 * Seeds: tests/fuzz/corpus/seccomp_bpfmap (bitcode-*.bin: real bitcode
 * 0.6.9 output; bincode-*.bin and hand-*.bin from the test writer). */
#include <errno.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "../seccomp_bpfmap_writer.h"
#include "seccomp/vmm_seccomp.h"

static void same(const struct sc_bpfmap *a, const struct sc_bpfmap *b)
{
	if (a->n != b->n)
		abort();
	for (unsigned i = 0; i < a->n; i++) {
		const struct sc_bpf *p = sc_bpfmap_get(b, a->entry[i].name);

		if (!p || p->len != a->entry[i].prog.len ||
		    (p->len && memcmp(p->insns, a->entry[i].prog.insns, p->len * sizeof(*p->insns))))
			abort();
	}
}

static uint8_t out[2 * SC_BPFMAP_MAX_FILE + 4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_bpfmap m, m2;
	struct sc_bpf roles[SC_NR_ROLES];
	struct bm_prog p[16];
	char err[1024];
	int r;

	err[0] = '\0';
	r = sc_bpfmap_parse(data, size, &m, err, sizeof(err));
	if (r < 0) {
		if (r != -EINVAL || !err[0] || !memchr(err, '\0', sizeof(err)) || m.n || m.entry)
			abort();
		return 0;
	}
	for (unsigned i = 0; i < m.n; i++) {
		const char *s = m.entry[i].name;

		if (m.entry[i].prog.len > BPF_MAXINSNS || (m.entry[i].prog.len && !m.entry[i].prog.insns))
			abort();
		for (; *s; s++)
			if (*s < 0x20 || *s >= 0x7f || (*s >= 'A' && *s <= 'Z'))
				abort();
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(m.entry[i].name, m.entry[j].name))
				abort();
	}
	if (m.n <= 16) {
		for (unsigned i = 0; i < m.n; i++)
			p[i] = (struct bm_prog){ m.entry[i].name, m.entry[i].prog.insns,
						 m.entry[i].prog.len };
		for (int fmt = 0; fmt < 2; fmt++) {
			size_t len = fmt ? bm_write_bincode(out, sizeof(out), p, m.n)
					 : bm_write_bitcode(out, sizeof(out), p, m.n);

			if (!len || len > SC_BPFMAP_MAX_FILE)
				continue;   /* the simple writer may exceed the size limit */
			if (sc_bpfmap_parse(out, len, &m2, err, sizeof(err)) < 0)
				abort();
			same(&m, &m2);
			sc_bpfmap_free(&m2);
		}
	}
	r = sc_bpfmap_take_roles(&m, roles, err, sizeof(err));
	if (r < 0 && (r != -EINVAL || !err[0]))
		abort();
	if (r == 0)
		for (unsigned i = 0; i < SC_NR_ROLES; i++)
			sc_bpf_free(&roles[i]);
	sc_bpfmap_free(&m);
	return 0;
}
