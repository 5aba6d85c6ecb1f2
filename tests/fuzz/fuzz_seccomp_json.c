/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_seccomp_json.c — libFuzzer target for wisp's seccomp filter file
 * parser (vmm/seccomp/json.c: Firecracker's seccompiler JSON format, given
 * with --seccomp-filter).
 *
 * Input: the document (a NUL-terminated, exactly sized copy of it).
 * A refused document must come with a message and an empty policy. An
 * accepted one is written back as JSON, which must parse again to a policy
 * that writes the same text (the writer's output is a fixpoint), and each
 * role's filter is compiled to BPF (not loaded) or refused with a
 * message. */
#include <errno.h>
#include <stdio.h>

#include "fuzz_util.h"
#include "seccomp/vmm_seccomp.h"

static void check_empty(const struct sc_policy *p)
{
	for (unsigned r = 0; r < SC_NR_ROLES; r++)
		if (p->role[r].rules || p->role[r].nrules)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sc_policy p, p2;
	char *text, *again, *again2;
	char err[512];
	int r;

	text = malloc(size + 1);
	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	r = sc_policy_from_json(text, &p, err, sizeof(err));
	free(text);
	if (r < 0) {
		if (r != -EINVAL || !err[0] || !memchr(err, '\0', sizeof(err)))
			abort();
		check_empty(&p);
		return 0;
	}
	if (r != 0)
		abort();
	for (unsigned i = 0; i < SC_NR_ROLES; i++) {
		const struct sc_filter *f = &p.role[i];

		for (unsigned j = 0; j < f->nrules; j++) {
			if (!f->rules[j].syscall || sc_syscall_nr(f->rules[j].syscall) < 0 ||
			    f->rules[j].ncond > SC_MAX_CONDS)
				abort();
			for (unsigned c = 0; c < f->rules[j].ncond; c++)
				if (f->rules[j].cond[c].index > 5)
					abort();
		}
	}
	again = sc_policy_to_json(&p);
	if (!again)
		abort();
	err[0] = '\0';
	if (sc_policy_from_json(again, &p2, err, sizeof(err)) != 0) {
		fprintf(stderr, "written policy refused: %s\n%s\n", err, again);
		abort();
	}
	again2 = sc_policy_to_json(&p2);
	if (!again2 || strcmp(again, again2)) {
		fprintf(stderr, "not a fixpoint:\n%s\n---\n%s\n", again, again2 ? again2 : "(null)");
		abort();
	}
	for (unsigned i = 0; i < SC_NR_ROLES; i++) {
		if (p.role[i].nrules != p2.role[i].nrules)
			abort();
		{
			struct sc_bpf b;

			err[0] = '\0';
			if (sc_filter_compile(&p.role[i], &b, err, sizeof(err)) == 0) {
				if (!b.len || !b.insns)
					abort();
				sc_bpf_free(&b);
			} else if (!err[0]) {
				abort();
			}
		}
	}
	free(again);
	free(again2);
	sc_policy_free(&p);
	sc_policy_free(&p2);
	return 0;
}
