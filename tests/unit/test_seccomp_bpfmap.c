/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_seccomp_bpfmap.c — Firecracker's compiled seccomp filter file
 * (vmm/seccomp/bpfmap.c): seccompiler-bin's real bitcode output (files made
 * by bitcode 0.6.9's serde serializer from a BTreeMap<String, Vec<u64>>, as
 * seccompiler-bin does, checked in as fuzz seeds) decodes to the values it
 * was made from; files written by hand (tests/seccomp_bpfmap_writer.h) in
 * both formats round-trip; every truncation, trailing byte, oversized
 * program, missing or unknown category, duplicate and oversized file is
 * refused with its message; the program check agrees with the kernel; wisp_seccomp_setup installs a compiled file's programs
 * and the trap handler reports a forbidden call as Firecracker does.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../check_main.h"
#include "../seccomp_bpfmap_writer.h"
#include "vmm_seccomp.h"

static uint8_t *read_seed(const char *name, size_t *len)
{
	const char *src = getenv("WISP_SOURCE_DIR");
	char path[4096];
	static uint8_t buf[SC_BPFMAP_MAX_FILE + 1];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/seccomp_bpfmap/%s", src ? src : ".",
		 name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	*len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return buf;
}

static uint64_t insn_u64(const struct sock_filter *f)
{
	return bm_insn(f);
}

/* The generator's value formulas (kind, index). */
static uint64_t gen(const char *kind, uint64_t i)
{
	if (!strcmp(kind, "zero"))
		return 0;
	if (!strcmp(kind, "big"))
		return 0x000600007fff0000ull + i * 0x100000001ull;
	if (!strcmp(kind, "small"))
		return i % 7;
	if (!strcmp(kind, "off"))
		return 1000000000000ull + i % 4;
	if (!strcmp(kind, "mid"))
		return 0x100000000ull + i * 70000;
	return i * 0x9E3779B97F4A7C15ull;   /* "seq" */
}

static void expect_prog(const struct sc_bpfmap *m, const char *name, size_t n, const char *kind)
{
	const struct sc_bpf *b = sc_bpfmap_get(m, name);

	ck_assert_msg(b != NULL, "no %s", name);
	ck_assert_uint_eq(b->len, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(insn_u64(&b->insns[i]) == gen(kind, i), "%s[%zu]: %#llx, want %#llx",
			      name, i, (unsigned long long)insn_u64(&b->insns[i]),
			      (unsigned long long)gen(kind, i));
}

static void parse_ok(const uint8_t *buf, size_t len, struct sc_bpfmap *m)
{
	char err[1024];

	ck_assert_msg(sc_bpfmap_parse(buf, len, m, err, sizeof(err)) == 0, "%s", err);
}

static void parse_refused(const uint8_t *buf, size_t len, const char *msg)
{
	struct sc_bpfmap m;
	char err[1024] = "";

	ck_assert_int_eq(sc_bpfmap_parse(buf, len, &m, err, sizeof(err)), -EINVAL);
	ck_assert_uint_eq(m.n, 0);
	ck_assert_ptr_null(m.entry);
	ck_assert_msg(strstr(err, msg), "'%s' lacks '%s'", err, msg);
}

/* Made by bitcode 0.6.9 (serde) from BTreeMap<String, Vec<u64>>: byte
 * packings of 6, 3, 4, 2 and 16 values, integers of 8, 16, 32 and 64 bits,
 * offsets by a minimum, lengths of 255 and more. */
START_TEST(real_bitcode_files_decode)
{
	struct sc_bpfmap m;
	size_t len;
	uint8_t *buf;

	buf = read_seed("bitcode-small.bin", &len);
	parse_ok(buf, len, &m);
	ck_assert(m.format == SC_BPFMAP_BITCODE);
	ck_assert_uint_eq(m.n, 3);
	expect_prog(&m, "vmm", 2, "small");
	expect_prog(&m, "api", 0, "zero");
	expect_prog(&m, "vcpu", 1, "small");
	sc_bpfmap_free(&m);

	buf = read_seed("bitcode-large.bin", &len);
	parse_ok(buf, len, &m);
	expect_prog(&m, "vmm", 300, "seq");
	expect_prog(&m, "api", 5, "big");
	expect_prog(&m, "vcpu", 4096, "zero");
	sc_bpfmap_free(&m);

	buf = read_seed("bitcode-main.bin", &len);
	parse_ok(buf, len, &m);
	ck_assert_uint_eq(m.n, 1);
	expect_prog(&m, "main", 40, "big");
	sc_bpfmap_free(&m);

	buf = read_seed("bitcode-offset.bin", &len);
	parse_ok(buf, len, &m);
	expect_prog(&m, "vmm", 10, "off");
	sc_bpfmap_free(&m);

	buf = read_seed("bitcode-mid.bin", &len);
	parse_ok(buf, len, &m);
	expect_prog(&m, "api", 33, "mid");
	sc_bpfmap_free(&m);

	/* Firecracker's test_deserialize_binary: keys are lowercased. */
	buf = read_seed("bitcode-mixedcase.bin", &len);
	parse_ok(buf, len, &m);
	expect_prog(&m, "vcpu", 2, "zero");
	sc_bpfmap_free(&m);

	buf = read_seed("bitcode-empty.bin", &len);
	parse_ok(buf, len, &m);
	ck_assert_uint_eq(m.n, 0);
	sc_bpfmap_free(&m);
}
END_TEST

/* Every proper prefix of a real file, and the file with one more byte,
 * is refused. */
START_TEST(truncated_or_extended_files_are_refused)
{
	static const char *const seeds[] = { "bitcode-small.bin", "bitcode-main.bin",
					     "bitcode-offset.bin", "bitcode-mid.bin" };
	static uint8_t copy[SC_BPFMAP_MAX_FILE + 1];

	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t len;
		uint8_t *buf = read_seed(seeds[s], &len);
		struct sc_bpfmap m;
		char err[1024];

		for (size_t cut = 0; cut < len; cut++)
			ck_assert_msg(sc_bpfmap_parse(buf, cut, &m, err, sizeof(err)) == -EINVAL,
				      "%s cut at %zu accepted", seeds[s], cut);
		memcpy(copy, buf, len);
		copy[len] = 0;
		parse_refused(copy, len + 1, "1 bytes after the last program");
	}
}
END_TEST

static struct sock_filter allow_prog[8], trap_prog[8];
static size_t allow_n, trap_n;

static void make_progs(void)
{
	static const int socket_nr[] = { SYS_socket };

	allow_n = bm_prog_calls(allow_prog, NULL, 0, 0, SECCOMP_RET_ALLOW);
	trap_n = bm_prog_calls(trap_prog, socket_nr, 1, SECCOMP_RET_TRAP, SECCOMP_RET_ALLOW);
}

START_TEST(hand_written_files_round_trip)
{
	struct bm_prog p[3] = {
		{ "vmm", allow_prog, 0 }, { "API", trap_prog, 0 }, { "vcpu", trap_prog, 0 },
	};
	uint8_t buf[4096];
	struct sc_bpf roles[SC_NR_ROLES];
	char err[512];

	make_progs();
	p[0].n = allow_n;
	p[1].n = p[2].n = trap_n;
	for (int fmt = 0; fmt < 2; fmt++) {
		struct sc_bpfmap m;
		size_t len = fmt ? bm_write_bincode(buf, sizeof(buf), p, 3)
				 : bm_write_bitcode(buf, sizeof(buf), p, 3);

		ck_assert_uint_gt(len, 0);
		parse_ok(buf, len, &m);
		ck_assert(m.format == (fmt ? SC_BPFMAP_BINCODE : SC_BPFMAP_BITCODE));
		ck_assert_msg(sc_bpfmap_take_roles(&m, roles, err, sizeof(err)) == 0, "%s", err);
		sc_bpfmap_free(&m);
		ck_assert_uint_eq(roles[SC_ROLE_VMM].len, allow_n);
		ck_assert_uint_eq(roles[SC_ROLE_API].len, trap_n);
		ck_assert_uint_eq(roles[SC_ROLE_VCPU].len, trap_n);
		ck_assert(!memcmp(roles[SC_ROLE_VCPU].insns, trap_prog, trap_n * sizeof(trap_prog[0])));
		ck_assert(!memcmp(roles[SC_ROLE_VMM].insns, allow_prog, allow_n * sizeof(allow_prog[0])));
		for (unsigned r = 0; r < SC_NR_ROLES; r++)
			sc_bpf_free(&roles[r]);
		/* bincode: every prefix is refused too */
		for (size_t cut = 0; fmt && cut < len; cut++) {
			ck_assert_msg(sc_bpfmap_parse(buf, cut, &m, err, sizeof(err)) == -EINVAL,
				      "bincode cut at %zu accepted", cut);
		}
	}
}
END_TEST

START_TEST(categories_are_checked)
{
	struct bm_prog p[4] = {
		{ "vmm", allow_prog, 0 }, { "api", allow_prog, 0 }, { "vcpu", allow_prog, 0 },
		{ "main", allow_prog, 0 },
	};
	uint8_t buf[4096];
	struct sc_bpf roles[SC_NR_ROLES];
	struct sc_bpfmap m;
	char err[512];
	size_t len;

	make_progs();
	for (int i = 0; i < 4; i++)
		p[i].n = allow_n;
	/* Firecracker's FilterError texts (src/firecracker/src/seccomp.rs). */
	len = bm_write_bitcode(buf, sizeof(buf), p, 4);
	parse_ok(buf, len, &m);
	ck_assert_int_eq(sc_bpfmap_take_roles(&m, roles, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Invalid thread categories: main");
	sc_bpfmap_free(&m);

	len = bm_write_bitcode(buf, sizeof(buf), p, 2);
	parse_ok(buf, len, &m);
	ck_assert_int_eq(sc_bpfmap_take_roles(&m, roles, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Missing thread category: vcpu");
	sc_bpfmap_free(&m);

	/* "VMM" and "vmm" are the same category once lowercased. */
	p[2].name = "VMM";
	len = bm_write_bitcode(buf, sizeof(buf), p, 3);
	parse_refused(buf, len, "thread category \"vmm\" appears twice");
	len = bm_write_bincode(buf, sizeof(buf), p, 3);
	parse_refused(buf, len, "thread category \"vmm\" appears twice");
	p[2].name = "vc\npu";
	len = bm_write_bincode(buf, sizeof(buf), p, 3);
	parse_refused(buf, len, "not a printable ASCII name");
}
END_TEST

START_TEST(limits_are_checked)
{
	static struct sock_filter big[BPF_MAXINSNS + 1];
	static uint8_t buf[SC_BPFMAP_MAX_FILE + 64];
	struct bm_prog p[3] = {
		{ "vmm", big, BPF_MAXINSNS + 1 }, { "api", big, 1 }, { "vcpu", big, 1 },
	};
	size_t len;

	/* 4097 instructions: refused in both formats (the kernel's limit) */
	len = bm_write_bincode(buf, sizeof(buf), p, 3);
	ck_assert_uint_gt(len, 0);
	parse_refused(buf, len, "the \"vmm\" program has 4097 instructions; the kernel takes at "
		      "most 4096");
	/* 4096 is fine */
	p[0].n = BPF_MAXINSNS;
	len = bm_write_bincode(buf, sizeof(buf), p, 3);
	{
		struct sc_bpfmap m;

		parse_ok(buf, len, &m);
		sc_bpfmap_free(&m);
	}
	/* Firecracker's 100,000-byte limit */
	memset(buf, 0, sizeof(buf));
	parse_refused(buf, SC_BPFMAP_MAX_FILE + 1, "Input size 100001 exceeds limit of 100000 bytes");
	/* 4097 in bitcode (the writer makes 64-bit integers) */
	p[0].n = BPF_MAXINSNS + 1;
	p[1].n = p[2].n = 0;
	len = bm_write_bitcode(buf, sizeof(buf), p, 3);
	ck_assert_uint_gt(len, 0);
	parse_refused(buf, len, "the kernel takes at most 4096");
}
END_TEST

START_TEST(garbage_is_refused)
{
	/* Firecracker's test_invalid_bpf content */
	static const char junk[] = "Invalid BPF!";
	/* bad packing bytes: lengths packed as "11" (no such packing), an
	 * integer packing of 7 */
	static const uint8_t badpack[] = { 0x03, 0x0b, 0x00, 0x00, 0x00, 0x00 };
	static const uint8_t badint[] = { 0xff, 0x07, 0, 0, 0, 0, 0, 0, 0, 0 };
	/* a huge count that would not fit */
	static const uint8_t huge[] = { 0xff, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f };

	parse_refused((const uint8_t *)junk, strlen(junk), "not a seccompiler-bin file");
	parse_refused((const uint8_t *)"", 0, "the file ends too early");
	parse_refused(badpack, sizeof(badpack), "invalid byte packing 11");
	parse_refused(badint, sizeof(badint), "invalid integer packing 7");
	parse_refused(huge, sizeof(huge), "not a seccompiler-bin file");
	ck_assert(sc_text_is_json((const uint8_t *)" \n\t{\"vmm\": {}}", 13));
	ck_assert(!sc_text_is_json((const uint8_t *)junk, strlen(junk)));
	ck_assert(!sc_text_is_json((const uint8_t *)"  ", 2));
}
END_TEST

/* sc_bpf_apply in a forked child: what the kernel says (0 or -errno). */
static int kernel_says(const struct sc_bpf *b)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(-sc_bpf_apply(b) & 0xff);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return -WEXITSTATUS(st);
}

/* sc_bpf_check agrees with the kernel: programs it refuses, the kernel
 * refuses too; the ones it takes (libseccomp's output for every built-in
 * role among them), the kernel takes. */
START_TEST(program_checks_agree_with_the_kernel)
{
	static const struct sock_filter bad[][3] = {
		{ { 0xffff, 0, 0, 0 }, BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 64), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 2), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW), BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0) },
		{ BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_JMP | BPF_JA, 1), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
	};
	static const struct sock_filter good[][3] = {
		{ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 60), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) },
		{ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 99999, 1, 0), BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		  BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP) },
	};
	static const unsigned bad_len[] = { 2, 2, 2, 2, 2, 2, 2, 2, 2, 2 };
	static const unsigned good_len[] = { 1, 2, 2, 3 };
	struct sc_policy pol;
	struct sc_bpf b;
	char err[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b.insns = (struct sock_filter *)bad[i];
		b.len = (unsigned short)bad_len[i];
		ck_assert_msg(sc_bpf_check(&b, err, sizeof(err)) == -EINVAL, "bad %zu taken", i);
		ck_assert_msg(err[0], "bad %zu: no message", i);
		ck_assert_msg(kernel_says(&b) == -EINVAL, "bad %zu: the kernel takes it", i);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		b.insns = (struct sock_filter *)good[i];
		b.len = (unsigned short)good_len[i];
		ck_assert_msg(sc_bpf_check(&b, err, sizeof(err)) == 0, "good %zu: %s", i, err);
		ck_assert_msg(kernel_says(&b) == 0, "good %zu: the kernel refuses it", i);
	}
	make_progs();
	b.insns = trap_prog;
	b.len = (unsigned short)trap_n;
	ck_assert_int_eq(sc_bpf_check(&b, err, sizeof(err)), 0);
	ck_assert_int_eq(sc_policy_default(&pol), 0);
	for (unsigned r = 0; r < SC_NR_ROLES; r++) {
		ck_assert_msg(sc_filter_compile(&pol.role[r], &b, err, sizeof(err)) == 0, "%s", err);
		ck_assert_msg(sc_bpf_check(&b, err, sizeof(err)) == 0, "%s: %s", sc_role_name(r), err);
		sc_bpf_free(&b);
	}
	sc_policy_free(&pol);
	/* nothing was installed on the caller */
	ck_assert_int_eq(prctl(PR_GET_SECCOMP), 0);
}
END_TEST

static char *write_file(const uint8_t *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/wisp-bpfmap-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	return path;
}

/* wisp_seccomp_setup with a compiled file: a vcpu program that traps
 * socket(); the handler logs Firecracker's lines and exits 148. In a
 * child, since the filter stays. */
START_TEST(setup_installs_a_compiled_file)
{
	struct bm_prog p[3] = {
		{ "vmm", allow_prog, 0 }, { "api", allow_prog, 0 }, { "vcpu", trap_prog, 0 },
	};
	uint8_t buf[4096];
	int pipefd[2], st;
	char out[2048] = "", *path;
	size_t len;
	pid_t pid;

	make_progs();
	p[0].n = p[1].n = allow_n;
	p[2].n = trap_n;
	len = bm_write_bitcode(buf, sizeof(buf), p, 3);
	path = write_file(buf, len);
	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		if (wisp_seccomp_setup(false, path) < 0)
			_exit(98);
		if (!wisp_seccomp_enabled())
			_exit(77);   /* sanitizer build: nothing is installed */
		wisp_seccomp_enter(SC_ROLE_VCPU);
		if (prctl(PR_GET_SECCOMP) != 2)
			_exit(97);
		syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		_exit(0);
	}
	close(pipefd[1]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_ge(read(pipefd[0], out, sizeof(out) - 1), 0);
	close(pipefd[0]);
	unlink(path);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
		return;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 148, "status 0x%x: %s", st, out);
	ck_assert_msg(strstr(out, "Shutting down VM after intercepting signal 31, code 1."), "%s", out);
	ck_assert_msg(strstr(out, "Shutting down VM after intercepting a bad syscall (41)."), "%s",
		      out);
	ck_assert_msg(strstr(out, "seccomp: the vcpu thread's filter trapped system call 41 (socket)"),
		      "%s", out);
}
END_TEST

/* Bad compiled files stop the set-up with -EBADMSG (exit status 1, as
 * Firecracker) and "Seccomp error: ..." (test_invalid_bpf's text). */
START_TEST(setup_refuses_bad_compiled_files)
{
	struct bm_prog p[2] = { { "vmm", allow_prog, 0 }, { "api", allow_prog, 0 } };
	struct sock_filter bad_insn = { 0xffff, 0, 0, 0 };
	struct bm_prog q[3] = {
		{ "vmm", allow_prog, 0 }, { "api", &bad_insn, 1 }, { "vcpu", allow_prog, 0 },
	};
	uint8_t buf[4096];
	int pipefd[2];
	char out[4096] = "";
	size_t len, n = 0;
	ssize_t k;

	make_progs();
	p[0].n = p[1].n = q[0].n = q[2].n = allow_n;
	ck_assert_int_eq(pipe(pipefd), 0);
	{
		int saved = dup(2);

		dup2(pipefd[1], 2);
		ck_assert_int_eq(wisp_seccomp_setup(false, write_file((const uint8_t *)"Invalid BPF!",
									12)), -EBADMSG);
		len = bm_write_bitcode(buf, sizeof(buf), p, 2);
		ck_assert_int_eq(wisp_seccomp_setup(false, write_file(buf, len)), -EBADMSG);
		len = bm_write_bincode(buf, sizeof(buf), q, 3);
		ck_assert_int_eq(wisp_seccomp_setup(false, write_file(buf, len)), -EBADMSG);
		ck_assert_int_eq(wisp_seccomp_setup(false, "/nonexistent/bpf"), -EBADMSG);
		dup2(saved, 2);
		close(saved);
		close(pipefd[1]);
	}
	while ((k = read(pipefd[0], out + n, sizeof(out) - 1 - n)) > 0)
		n += (size_t)k;
	close(pipefd[0]);
	ck_assert(!wisp_seccomp_enabled());
	ck_assert_msg(strstr(out, "Seccomp error: Filter deserialization failed: --seccomp-filter "),
		      "%s", out);
	ck_assert_msg(strstr(out, "Seccomp error: Missing thread category: vcpu (--seccomp-filter "),
		      "%s", out);
	ck_assert_msg(strstr(out, ": the api program is not a valid seccomp "
			     "program: instruction 0: opcode 0xffff is not allowed"), "%s", out);
	ck_assert_msg(strstr(out, "/nonexistent/bpf: Filter file open error: No such file"), "%s",
		      out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("seccomp_bpfmap");
	TCase *tc = tcase_create("bpfmap");

	tcase_add_test(tc, real_bitcode_files_decode);
	tcase_add_test(tc, truncated_or_extended_files_are_refused);
	tcase_add_test(tc, hand_written_files_round_trip);
	tcase_add_test(tc, categories_are_checked);
	tcase_add_test(tc, limits_are_checked);
	tcase_add_test(tc, garbage_is_refused);
	tcase_add_test(tc, program_checks_agree_with_the_kernel);
	tcase_add_test(tc, setup_installs_a_compiled_file);
	tcase_add_test(tc, setup_refuses_bad_compiled_files);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
