/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_fc_cputemplate.c — CPU templates end to end (docs/cpu-templates.md):
 * the test guest's `cpuid` scenario (tests/guest/scen_cpuid.c) prints the
 * CPUID leaves the templates change and one MSR, and the test compares
 * what a guest sees with and without a template.
 *
 * What is proven (each test can fail):
 *  - every static template is accepted by PUT /machine-config and shown by
 *    GET /machine-config; at InstanceStart it is applied when it fits this
 *    host (Firecracker's vendor and family/model/stepping rules) and
 *    refused with Firecracker's sentence otherwise, leaving the VMM
 *    unstarted and usable;
 *  - on an AMD Milan host (this project's CI), T2A's CPUID changes reach
 *    the guest;
 *  - a custom template (PUT /cpu-config) changes CPUID and an MSR, keeps
 *    passthrough bits, replaces a static template and is cleared by
 *    cpu_template "None"; its refusals at InstanceStart (a leaf or MSR KVM
 *    does not have, a missing KVM capability) change nothing;
 *  - below debug level the API log line of PUT /cpu-config leaves the
 *    template out, with Firecracker's words;
 *  - the config document's "cpu-config" (inline or a file) does the same;
 *  - a VM restored from a snapshot (new process) keeps its template's CPUID
 *    and MSR; GET /vm/config then shows a static template, not a custom one.
 *
 * WISP_IT_NO_SECCOMP=1 in the environment runs wisp with --no-seccomp.
 */
#include <check.h>
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_client.h"
#include "harness.h"
#include "it_wisp.h"

#define GUEST_MS 30000
#define MSR_PAT  0x277

static const char *tdir;

static void setup(void)
{
	tdir = tmpdir_make();
}

static void teardown(void)
{
	tmpdir_cleanup();
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&s, fmt, ap), 0);
	va_end(ap);
	return s;
}

/* ---------------- the host ---------------- */

enum host_kind { HOST_OTHER, HOST_INTEL, HOST_AMD };

static enum host_kind host(uint32_t *fms)
{
	unsigned a, b, c, d;
	char v[13] = {0};

	__cpuid(0, a, b, c, d);
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	__cpuid(1, a, b, c, d);
	*fms = a & 0x0fff0fffu;
	return !strcmp(v, "GenuineIntel") ? HOST_INTEL : !strcmp(v, "AuthenticAMD") ? HOST_AMD
										     : HOST_OTHER;
}

/* Firecracker's rules (static_cpu_templates/mod.rs, cpu_model.rs), written
 * out here as facts: NULL when the template fits, else the refusal. */
static const char *refusal(const char *tmpl)
{
	static const struct { const char *name; enum host_kind vendor; uint32_t fms[3]; } rules[] = {
		{"C3", HOST_INTEL, {0x50654, 0x50657, 0x606a6}},
		{"T2", HOST_INTEL, {0x50654, 0x50657, 0x606a6}},
		{"T2S", HOST_INTEL, {0x50654, 0x50657, 0}},
		{"T2CL", HOST_INTEL, {0x50657, 0x606a6, 0}},
		{"T2A", HOST_AMD, {0xa00f11, 0, 0}},
	};
	uint32_t fms;
	enum host_kind h = host(&fms);

	for (unsigned i = 0; i < 5; i++) {
		if (strcmp(rules[i].name, tmpl))
			continue;
		if (h != rules[i].vendor)
			return "CPU vendor mismatched between actual CPU and CPU template.";
		for (unsigned j = 0; j < 3; j++)
			if (rules[i].fms[j] == fms)
				return NULL;
		return "The current CPU model is not permitted to apply the CPU template.";
	}
	ck_abort_msg("no rule for %s", tmpl);
	return NULL;
}

/* ---------------- wisp and the guest ---------------- */

static void spawn(struct wisp *w)
{
	char *sock = xasprintf("%s/api.sock", tdir);

	wisp_spawn(w, sock, NULL, NULL);
	free(sock);
}

static long call(struct wisp *w, const char *method, const char *path, const char *body)
{
	return api_call(&w->c, method, path, body);
}

static void ok(struct wisp *w, const char *method, const char *path, const char *body)
{
	long st = call(w, method, path, body);

	ck_assert_msg(st == 204, "%s %s %s: status %ld, body %s\nstderr:\n%s", method, path,
		      body ? body : "", st, w->c.body, w->p.err.data);
}

static void fault(struct wisp *w, const char *method, const char *path, const char *body,
		  const char *msg)
{
	long st = call(w, method, path, body);

	ck_assert_msg(st == 400 && strstr(w->c.body, "fault_message") && strstr(w->c.body, msg),
		      "%s %s %s: status %ld body %s; want 400 with \"%s\"", method, path,
		      body ? body : "", st, w->c.body, msg);
}

static const char *boot_args(bool wait)
{
	return wait ? "console=ttyS0 wtest=cpuid wtest.wait=1 wtest.msr=0x277"
		    : "console=ttyS0 wtest=cpuid wtest.msr=0x277";
}

/* boot-source and machine-config (machine: extra machine-config fields). */
static void configure(struct wisp *w, const char *machine, bool wait)
{
	char *b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}",
			    build_path("wisp-testguest"), boot_args(wait));

	ok(w, "PUT", "/boot-source", b);
	free(b);
	b = xasprintf("{\"vcpu_count\": 2, \"mem_size_mib\": 128%s%s}", machine ? ", " : "",
		      machine ? machine : "");
	ok(w, "PUT", "/machine-config", b);
	free(b);
}

/* InstanceStart, then the scenario runs to its end; wisp exits 0. */
static void start_and_finish(struct wisp *w)
{
	ok(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	ck_assert_msg(proc_finish(&w->p, GUEST_MS), "guest did not finish\n%s", w->p.out.data);
	ASSERT_PASS(&w->p, "cpuid");
}

struct seen {
	uint32_t leaf1[4], leaf7[4], ext1[4], ext8[4];
	uint64_t pat;
};

/* The last report of the guest's output (a restored guest prints twice). */
static void parse_seen(const char *out, struct seen *s)
{
	static const struct { uint32_t leaf; size_t off; } want[] = {
		{1, offsetof(struct seen, leaf1)}, {7, offsetof(struct seen, leaf7)},
		{0x80000001, offsetof(struct seen, ext1)}, {0x80000008, offsetof(struct seen, ext8)},
	};
	const char *m;

	memset(s, 0, sizeof(*s));
	for (unsigned i = 0; i < 4; i++) {
		char key[40];
		const char *p = NULL;
		uint32_t *r = (uint32_t *)((char *)s + want[i].off);

		snprintf(key, sizeof(key), "CPUID 0x%08x.0: ", want[i].leaf);
		for (const char *q = out; (q = strstr(q, key)); q++)
			p = q;
		ck_assert_msg(p, "no \"%s\" line in:\n%s", key, out);
		ck_assert_int_eq(sscanf(p + strlen(key), "eax=%x ebx=%x ecx=%x edx=%x", &r[0], &r[1],
					&r[2], &r[3]), 4);
	}
	m = strstr(out, "MSR 0x00000277: ");
	ck_assert_msg(m, "no MSR line in:\n%s", out);
	for (const char *q = m; (q = strstr(q + 1, "MSR 0x00000277: "));)
		m = q;
	ck_assert_int_eq(sscanf(m + 16, "0x%lx", (unsigned long *)&s->pat), 1);
}

/* What the guest sees without a template (once per process). */
static const struct seen *baseline(void)
{
	static struct seen b;
	static bool have;
	struct wisp w;

	if (have)
		return &b;
	spawn(&w);
	configure(&w, NULL, false);
	start_and_finish(&w);
	parse_seen(w.p.out.data, &b);
	wisp_free(&w);
	have = true;
	return &b;
}

/* A custom template: leaf 1 EAX's family/model/stepping set to family 6
 * model 0x13 stepping 1, and PAT bit 0 toggled with every other bit passed
 * through (the shape of Firecracker's test_cpu_template_msr_passthrough). */
static char *custom_template(uint64_t pat, const char *extra)
{
	char bitmap[80];

	snprintf(bitmap, sizeof(bitmap), "0b%.*s%c", 63,
		 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		 (pat & 1) ? '0' : '1');
	return xasprintf("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", "
			 "\"flags\": 0, \"modifiers\": [{\"register\": \"eax\", "
			 "\"bitmap\": \"0bxxxx000000000001xx00011000110001\"}]}], "
			 "\"msr_modifiers\": [{\"addr\": \"0x277\", \"bitmap\": \"%s\"}]%s%s}",
			 bitmap, extra ? ", " : "", extra ? extra : "");
}

#define CUSTOM_FMS 0x00010631u

static void assert_custom_seen(const struct seen *s, const struct seen *b)
{
	ck_assert_uint_eq(s->leaf1[0] & 0x0fff3fff, CUSTOM_FMS);
	ck_assert_uint_eq(s->pat, b->pat ^ 1);
	ck_assert_uint_eq(s->ext1[2], b->ext1[2]);     /* other leaves as without */
	ck_assert_uint_eq(s->ext8[1], b->ext8[1]);
}

/* ---------------- static templates ---------------- */

/* Firecracker: functional/test_api.py::test_api_put_machine_config (the value is stored and
 * shown), cpu_config/x86_64/custom_cpu_template.rs::test_get_cpu_template_with_{c3,t2,t2s,
 * t2cl,t2a}_static_template (applied where the host fits, else refused),
 * functional/test_cpu_features_x86_64.py::test_cpu_template (the guest sees it; here leaf 1's
 * family/model/stepping, which every static template sets) */
START_TEST(static_templates)
{
	static const struct { const char *name; uint32_t fms; } t[] = {
		{"C3", 0x000306e4}, {"T2", 0x000306f2}, {"T2S", 0x000306f2}, {"T2CL", 0x000306f2},
		{"T2A", 0x000306f2},
	};
	const struct seen *b = baseline();

	for (unsigned i = 0; i < 5; i++) {
		const char *why = refusal(t[i].name);
		char *m = xasprintf("\"cpu_template\": \"%s\"", t[i].name), *want;
		struct wisp w;
		struct seen s;

		spawn(&w);
		configure(&w, m, false);
		ck_assert_int_eq(call(&w, "GET", "/machine-config", NULL), 200);
		want = xasprintf("\"cpu_template\":\"%s\"", t[i].name);
		ck_assert_msg(strstr(w.c.body, want), "%s", w.c.body);
		free(want);
		if (why) {
			fault(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", why);
			fault(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
			      "Failed to get CPU template: ");
			ck_assert_int_eq(call(&w, "GET", "/", NULL), 200);
			ck_assert_msg(strstr(w.c.body, "Not started"), "%s", w.c.body);
			/* nothing changed: without the template the VM boots */
			ok(&w, "PATCH", "/machine-config", "{\"cpu_template\": \"None\"}");
			start_and_finish(&w);
			parse_seen(w.p.out.data, &s);
			ck_assert_uint_eq(s.leaf1[0], b->leaf1[0]);
		} else {
			start_and_finish(&w);
			parse_seen(w.p.out.data, &s);
			ck_assert_uint_eq(s.leaf1[0] & 0x0fff3fff, t[i].fms);
		}
		wisp_free(&w);
		free(m);
	}
}
END_TEST

/* T2A's other changes, on a host it fits (AMD Milan). Firecracker:
 * functional/test_cpu_features_x86_64.py::test_cpu_template (T2A) */
START_TEST(t2a_on_milan)
{
	const struct seen *b;
	struct wisp w;
	struct seen s;

	if (refusal("T2A")) {
		fprintf(stderr, "t2a_on_milan: T2A does not fit this host; covered by static_templates\n");
		return;
	}
	b = baseline();
	spawn(&w);
	configure(&w, "\"cpu_template\": \"T2A\"", false);
	start_and_finish(&w);
	parse_seen(w.p.out.data, &s);
	/* 0x80000001 ECX: bits 2, 6, 7, 8, 29 off; EDX: bits 22, 25, 26 off */
	ck_assert_uint_eq(s.ext1[2] & 0x200001c4u, 0);
	ck_assert_uint_eq(s.ext1[2], b->ext1[2] & ~0x200001c4u);
	ck_assert_uint_eq(s.ext1[3] & 0x06400000u, 0);
	/* 0x80000008 EBX: bit 0 off, bits 2, 18-20 on */
	ck_assert_uint_eq(s.ext8[1] & 1, 0);
	ck_assert_uint_eq(s.ext8[1] & 0x001c0004u, 0x001c0004u);
	ck_assert_uint_eq(s.pat, b->pat);    /* no MSR changes in T2A */
	wisp_free(&w);
}
END_TEST

/* ---------------- custom templates ---------------- */

/* Firecracker: functional/test_api.py::test_api_cpu_config (a bad body refused, a template
 * accepted), functional/test_cpu_features_x86_64.py::test_cpu_template_msr_passthrough (an MSR
 * bit toggled, the others passed through; PAT here, IA32_ARCH_CAPABILITIES there),
 * functional/test_api.py::test_get_full_config ("cpu-config" shows null) */
START_TEST(custom_template_applied)
{
	const struct seen *b = baseline();
	char *tmpl = custom_template(b->pat, NULL);
	struct wisp w;
	struct seen s;

	spawn(&w);
	configure(&w, NULL, false);
	fault(&w, "PUT", "/cpu-config", "{\"foo\": false}", "unknown field `foo`");
	fault(&w, "PUT", "/cpu-config", "{\"vcpu_features\": []}", "unknown field `vcpu_features`");
	fault(&w, "PUT", "/cpu-config", "{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": "
	      "\"0x0\", \"flags\": 0, \"modifiers\": [{\"register\": \"ekx\", \"bitmap\": \"0b1\"}]}]}",
	      "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]");
	ok(&w, "PUT", "/cpu-config", tmpl);
	/* below debug level the request's log line leaves the template out
	 * (Firecracker: api_server/parsed_request.rs, describe()) */
	ck_assert(proc_wait_for(&w.p, "The API server received a Put request on \"/cpu-config\". To "
				"view the CPU template received by the API, configure log-level to "
				"DEBUG.", 5000));
	ck_assert_ptr_null(strstr(w.p.err.data, "0bxxxx000000000001xx00011000110001"));
	ck_assert_int_eq(call(&w, "GET", "/machine-config", NULL), 200);
	ck_assert_msg(!strstr(w.c.body, "cpu_template"), "%s", w.c.body);
	ck_assert_int_eq(call(&w, "GET", "/vm/config", NULL), 200);
	ck_assert_msg(strstr(w.c.body, "\"cpu-config\":null"), "%s", w.c.body);
	start_and_finish(&w);
	parse_seen(w.p.out.data, &s);
	assert_custom_seen(&s, b);
	wisp_free(&w);
	free(tmpl);
}
END_TEST

/* The one template slot (Firecracker's MachineConfig.cpu_template): a custom template
 * replaces a static one, PUT /machine-config without cpu_template keeps it, cpu_template
 * "None" clears it. After boot PUT /cpu-config is refused. Firecracker:
 * vmm_config/machine_config.rs (MachineConfig::update), functional/test_api.py::
 * test_api_put_update_post_boot (the rule, for this endpoint) */
START_TEST(custom_template_slot)
{
	const struct seen *b = baseline();
	char *tmpl = custom_template(b->pat, NULL);
	struct wisp w;
	struct seen s;

	spawn(&w);
	configure(&w, "\"cpu_template\": \"T2S\"", false);
	ok(&w, "PUT", "/cpu-config", tmpl);
	ok(&w, "PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}");
	ck_assert_int_eq(call(&w, "GET", "/machine-config", NULL), 200);
	ck_assert_msg(!strstr(w.c.body, "cpu_template"), "%s", w.c.body);
	start_and_finish(&w);     /* custom, not T2S (which would not fit AMD) */
	parse_seen(w.p.out.data, &s);
	assert_custom_seen(&s, b);
	wisp_free(&w);

	spawn(&w);
	configure(&w, NULL, true);
	ok(&w, "PUT", "/cpu-config", tmpl);
	ok(&w, "PATCH", "/machine-config", "{\"cpu_template\": \"None\"}");
	ok(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	ck_assert(proc_wait_for(&w.p, "cpuid: waiting", GUEST_MS));
	fault(&w, "PUT", "/cpu-config", tmpl,
	      "The requested operation is not supported after starting the microVM");
	proc_send(&w.p, "Q", 1);
	ck_assert(proc_finish(&w.p, GUEST_MS));
	ASSERT_PASS(&w.p, "cpuid");
	parse_seen(w.p.out.data, &s);
	ck_assert_uint_eq(s.leaf1[0], b->leaf1[0]);
	ck_assert_uint_eq(s.pat, b->pat);
	wisp_free(&w);
	free(tmpl);
}
END_TEST

/* Refusals at InstanceStart, with Firecracker's texts; each leaves the VMM unstarted and a
 * corrected template boots. Firecracker: cpu_config/x86_64/mod.rs::test_apply_template_to_cpuid,
 * test_apply_template_to_msrs (unsupported leaf / MSR), vstate/kvm.rs (missing capability) */
START_TEST(custom_template_refused)
{
	static const struct { const char *tmpl, *msg; } bad[] = {
		{"{\"cpuid_modifiers\": [{\"leaf\": \"0x7\", \"subleaf\": \"0x9\", \"flags\": 1, "
		 "\"modifiers\": []}]}",
		 "System configuration error: Failed to create guest config: Template changes a CPUID "
		 "entry not supported by KVM: Leaf: 7, Subleaf: 9"},
		{"{\"msr_modifiers\": [{\"addr\": \"0x4b564dff\", \"bitmap\": \"0b1\"}]}",
		 "Failed to create guest config: Template changes an MSR entry not supported by KVM: "
		 "Register Address: 4b564dff"},
		{"{\"kvm_capabilities\": [\"1\", \"4000\"]}",
		 "Kvm error: Missing KVM capabilities: 0xfa0"},
	};
	const struct seen *b = baseline();
	struct wisp w;
	struct seen s;

	spawn(&w);
	configure(&w, NULL, false);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ok(&w, "PUT", "/cpu-config", bad[i].tmpl);
		fault(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", bad[i].msg);
		ck_assert_int_eq(call(&w, "GET", "/", NULL), 200);
		ck_assert_msg(strstr(w.c.body, "Not started"), "%s", w.c.body);
	}
	/* a capability KVM has, and one taken out again, are fine */
	ok(&w, "PUT", "/cpu-config", "{\"kvm_capabilities\": [\"1\", \"4000\", \"!4000\"]}");
	start_and_finish(&w);
	parse_seen(w.p.out.data, &s);
	ck_assert_uint_eq(s.leaf1[0], b->leaf1[0]);
	wisp_free(&w);
}
END_TEST

/* The config document's "cpu-config": inline, or the path of a file. Firecracker:
 * resources.rs::test_cpu_config_inline, test_cpu_config_from_invalid_json */
START_TEST(document_cpu_config)
{
	const struct seen *b = baseline();
	char *tmpl = custom_template(b->pat, NULL);
	char *path = write_tmp_file("tmpl.json", tmpl);
	char *quoted = xasprintf("\"%s\"", path);
	const char *values[] = {tmpl, quoted};
	struct proc p;
	struct seen s;

	for (unsigned i = 0; i < 2; i++) {
		char *extra = xasprintf("\"cpu-config\": %s", values[i]);
		char *doc = guest_config(boot_args(false), "{\"vcpu_count\": 2, \"mem_size_mib\": 128, "
					 "\"cpu_template\": \"T2CL\"}", extra);

		ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, GUEST_MS));
		ASSERT_PASS(&p, "cpuid");
		parse_seen(p.out.data, &s);
		assert_custom_seen(&s, b);
		proc_free(&p);
		free(doc);
		free(extra);
	}
	{
		char *doc = guest_config(boot_args(false), NULL, "\"cpu-config\": \"/invalid/path\"");

		ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, GUEST_MS));
		ck_assert_int_ne(p.status, 0);
		ck_assert_msg(strstr(p.err.data, "File operation error: No such file or directory "
				     "(os error 2)"), "%s", p.err.data);
		proc_free(&p);
		free(doc);
	}
	free(quoted);
	free(path);
	free(tmpl);
}
END_TEST

/* ---------------- snapshots ---------------- */

/* Boot with the template (machine: extra machine-config fields, cpu_config:
 * a PUT /cpu-config body or NULL), snapshot, restore in a new process and
 * return the restored guest's report; *vm_config gets GET /vm/config after
 * the restore (malloc'd). */
static void snapshot_round(const char *machine, const char *cpu_config, struct seen *s,
			   char **vm_config)
{
	char *state = xasprintf("%s/vm.state", tdir), *mem = xasprintf("%s/vm.mem", tdir);
	char *body;
	struct wisp w, w2;

	spawn(&w);
	configure(&w, machine, true);
	if (cpu_config)
		ok(&w, "PUT", "/cpu-config", cpu_config);
	ok(&w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	ck_assert(proc_wait_for(&w.p, "cpuid: waiting", GUEST_MS));
	ok(&w, "PATCH", "/vm", "{\"state\": \"Paused\"}");
	body = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
			 "\"mem_file_path\": \"%s\"}", state, mem);
	ok(&w, "PUT", "/snapshot/create", body);
	free(body);
	wisp_free(&w);
	unlink(w.sock);

	spawn(&w2);
	body = xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": true}", state, mem);
	ok(&w2, "PUT", "/snapshot/load", body);
	free(body);
	ck_assert_int_eq(call(&w2, "GET", "/vm/config", NULL), 200);
	*vm_config = strdup(w2.c.body);
	proc_send(&w2.p, "C", 1);
	ck_assert(proc_wait_for(&w2.p, "MSR 0x00000277", GUEST_MS));
	proc_send(&w2.p, "Q", 1);
	ck_assert(proc_finish(&w2.p, GUEST_MS));
	ASSERT_PASS(&w2.p, "cpuid");
	parse_seen(w2.p.out.data, s);
	wisp_free(&w2);
	unlink(w2.sock);
	unlink(state);
	unlink(mem);
	free(state);
	free(mem);
}

/* A restored VM keeps its template's CPUID and MSR. Firecracker: functional/
 * test_cpu_features_x86_64.py::test_cpu_cpuid_snapshot, test_cpu_cpuid_restore,
 * test_cpu_wrmsr_snapshot (the template's MSR); functional/test_api.py::
 * test_get_full_config_after_restoring_snapshot (a static cpu_template is still shown,
 * "cpu-config" is null) */
START_TEST(snapshot_keeps_template)
{
	const struct seen *b = baseline();
	char *tmpl = custom_template(b->pat, NULL);
	char *cfg;
	struct seen s;

	snapshot_round(NULL, tmpl, &s, &cfg);
	assert_custom_seen(&s, b);
	/* a custom template does not show, as in Firecracker */
	ck_assert_msg(strstr(cfg, "\"cpu-config\":null") && !strstr(cfg, "cpu_template"), "%s", cfg);
	free(cfg);
	free(tmpl);
	if (refusal("T2A")) {
		fprintf(stderr, "snapshot_keeps_template: T2A does not fit this host: custom only\n");
		return;
	}
	snapshot_round("\"cpu_template\": \"T2A\"", NULL, &s, &cfg);
	ck_assert_uint_eq(s.leaf1[0] & 0x0fff3fff, 0x000306f2);
	ck_assert_msg(strstr(cfg, "\"cpu_template\":\"T2A\"") && strstr(cfg, "\"cpu-config\":null"),
		      "%s", cfg);
	free(cfg);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("fc_cputemplate");
	TCase *tc = tcase_create("cputemplate");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, static_templates);
	tcase_add_test(tc, t2a_on_milan);
	tcase_add_test(tc, custom_template_applied);
	tcase_add_test(tc, custom_template_slot);
	tcase_add_test(tc, custom_template_refused);
	tcase_add_test(tc, document_cpu_config);
	tcase_add_test(tc, snapshot_keeps_template);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		fprintf(stderr, "no /dev/kvm: skipped\n");
		return 77;
	}
	return check_run_suite(suite());
}
