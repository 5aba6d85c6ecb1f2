/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm_seccomp.h — private to vmm/: wisp's per-thread seccomp filters.
 *
 * Three roles (Firecracker's thread categories): the VMM thread, the API
 * thread and every vCPU thread. A policy is one filter per role, each an
 * allow-list (Firecracker's seccompiler JSON model: default_action,
 * filter_action, rules of and-bound argument conditions). The built-in
 * policy lives in seccomp.c, the JSON reader/writer in json.c, the reader
 * of Firecracker's compiled file (seccompiler-bin's output) in bpfmap.c;
 * docs/seccomp.md explains every entry.
 *
 * (Not "seccomp.h": that name would shadow libseccomp's <seccomp.h> for
 * every target that has vmm/ on its include path.)
 */
#ifndef WISP_VMM_SECCOMP_H
#define WISP_VMM_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/filter.h>

enum sc_role { SC_ROLE_VMM, SC_ROLE_API, SC_ROLE_VCPU, SC_NR_ROLES };

/* "vmm", "api", "vcpu" (the JSON keys). */
const char *sc_role_name(enum sc_role role);

enum sc_action_kind {
	SC_ACT_ALLOW, SC_ACT_ERRNO, SC_ACT_KILL_THREAD, SC_ACT_KILL_PROCESS,
	SC_ACT_LOG, SC_ACT_TRACE, SC_ACT_TRAP,
};

struct sc_action {
	enum sc_action_kind kind;
	uint16_t data;                 /* errno / trace value */
};

enum sc_op { SC_OP_EQ, SC_OP_NE, SC_OP_LT, SC_OP_LE, SC_OP_GT, SC_OP_GE, SC_OP_MASKED_EQ };

/* One argument condition. A "dword" EQ compares the low 32 bits only (the
 * kernel truncates int-typed arguments such as the ioctl request). */
struct sc_cond {
	unsigned index;                /* 0..5 */
	bool qword;                    /* false: dword */
	enum sc_op op;
	uint64_t mask;                 /* SC_OP_MASKED_EQ only */
	uint64_t val;
	char *comment;                 /* may be NULL */
};

#define SC_MAX_CONDS 6

/* One rule: the syscall matches when every condition holds (no condition:
 * always). Rules for the same syscall are or-bound. */
struct sc_rule {
	char *syscall;
	char *comment;                 /* may be NULL */
	unsigned ncond;
	struct sc_cond cond[SC_MAX_CONDS];
};

struct sc_filter {
	struct sc_action default_action;   /* no rule matched */
	struct sc_action filter_action;    /* a rule matched */
	unsigned nrules;
	struct sc_rule *rules;
};

struct sc_policy {
	struct sc_filter role[SC_NR_ROLES];
};

/* ---- policy (seccomp.c) ---- */
/* The built-in policy (trap / allow, as Firecracker's). 0 or -ENOMEM. */
int sc_policy_default(struct sc_policy *p);
void sc_policy_free(struct sc_policy *p);
/* Distinct system calls a filter names. */
unsigned sc_filter_syscall_count(const struct sc_filter *f);
/* Does any rule of the filter name this system call? */
bool sc_filter_has(const struct sc_filter *f, const char *syscall);
/* x86_64 number of a system call name, or -1. */
int sc_syscall_nr(const char *name);

/* ---- JSON (seccomp_json.c): Firecracker's seccompiler format ---- */
/* Parse a whole document; on error err names the role, entry and field
 * and p is left empty. */
int sc_policy_from_json(const char *text, struct sc_policy *p, char *err, size_t errlen);
int sc_policy_load_file(const char *path, struct sc_policy *p, char *err, size_t errlen);
/* The policy as a JSON document (malloc'd, caller frees), NULL on ENOMEM. */
char *sc_policy_to_json(const struct sc_policy *p);

/* ---- BPF (seccomp.c) ---- */
struct sc_bpf {
	unsigned short len;
	struct sock_filter *insns;
};

/* Compile one filter with libseccomp (x86_64; other ABIs kill the process). */
int sc_filter_compile(const struct sc_filter *f, struct sc_bpf *out, char *err, size_t errlen);
void sc_bpf_free(struct sc_bpf *b);
/* Install on the calling thread only (no TSYNC); sets no_new_privs. */
int sc_bpf_apply(const struct sc_bpf *b);

/* ---- Firecracker's compiled filter file (bpfmap.c) ---- */
/* What seccompiler-bin writes: thread category -> BPF program, as bitcode
 * (Firecracker 1.15+) or bincode (up to 1.14). Files over this size are
 * refused (Firecracker's limit). */
#define SC_BPFMAP_MAX_FILE 100000

enum sc_bpfmap_format { SC_BPFMAP_BITCODE = 1, SC_BPFMAP_BINCODE };

struct sc_bpfmap_entry {
	char *name;                    /* lowercased */
	struct sc_bpf prog;            /* len 0: empty (that thread is not filtered) */
};

struct sc_bpfmap {
	unsigned n;
	struct sc_bpfmap_entry *entry;
	enum sc_bpfmap_format format;
};

/* Does the file look like a JSON document (first non-blank byte '{')? */
bool sc_text_is_json(const uint8_t *buf, size_t len);
/* Parse a whole file (either format); every program has at most
 * BPF_MAXINSNS instructions. On error, err says what and m is empty. */
int sc_bpfmap_parse(const uint8_t *buf, size_t len, struct sc_bpfmap *m, char *err, size_t errlen);
void sc_bpfmap_free(struct sc_bpfmap *m);
/* Exactly the categories "vmm", "api" and "vcpu" (Firecracker's errors:
 * "Invalid thread categories: a,b", "Missing thread category: vcpu");
 * moves their programs into out (the caller frees them). */
int sc_bpfmap_take_roles(struct sc_bpfmap *m, struct sc_bpf out[SC_NR_ROLES], char *err,
			 size_t errlen);
/* The program of one category (any name), or NULL. */
const struct sc_bpf *sc_bpfmap_get(const struct sc_bpfmap *m, const char *name);
/* Would the kernel take this seccomp program? Its checks (the instruction
 * set seccomp allows, loads inside struct seccomp_data, jumps inside the
 * program, a return last, no division by 0...), without loading it: no
 * fork, which the jailer's filter forbids. Pure; 0 or -EINVAL with err. An
 * empty program passes (no filter). */
int sc_bpf_check(const struct sc_bpf *b, char *err, size_t errlen);

/* ---- the process (seccomp.c) ---- */
/* On the main thread before any other thread exists: build the three
 * filters from the built-in policy or from filter_path (wisp's JSON, or
 * Firecracker's compiled file, told apart by content), or (disabled) log a
 * warning and install nothing later. -EINVAL: the JSON filter file is bad
 * (logged, exit status 152); -EBADMSG: the compiled file is bad (logged,
 * "Seccomp error: ...", exit status 1 as Firecracker); other negative:
 * could not build (logged). */
int wisp_seccomp_setup(bool disabled, const char *filter_path);
/* In the thread that takes `role`: install its filter. Never returns on
 * failure (logs and exits 1): a thread must not run unfiltered by mistake. */
void wisp_seccomp_enter(enum sc_role role);
/* Hook-shaped wrappers (void (*)(void *)) for the api and vCPU threads. */
void wisp_seccomp_enter_api(void *unused);
void wisp_seccomp_enter_vcpu(void *unused);
void wisp_seccomp_enter_vmm(void *unused);
bool wisp_seccomp_enabled(void);

#endif /* WISP_VMM_SECCOMP_H */
