/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vmm_boot.c — build/wisp boots the test guest from --config-file:
 * every issue-2 scenario, the boot timer, SIGTERM, a triple fault, and the
 * command-line/config errors a user can make.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"

#define BOOT_TIMEOUT_MS 60000

static void teardown(void)
{
	tmpdir_cleanup();
}

/* Boot the guest with boot_args via a config file; returns the finished proc. */
static void boot(struct proc *p, const char *boot_args, const char *machine, const char *extra,
		 const char *flag)
{
	char *doc = guest_config(boot_args, machine, extra);

	ck_assert_msg(wisp_run_doc(p, "vm.json", doc, flag, BOOT_TIMEOUT_MS),
		      "wisp did not exit in time\nstdout:\n%s\nstderr:\n%s", p->out.data, p->err.data);
	free(doc);
}

START_TEST(hello_boots_and_sees_its_command_line)
{
	struct proc p;

	boot(&p, "wtest=hello console=ttyS0", NULL, NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "hello");
	ck_assert_int_eq(count_substr(p.out.data, "WTEST hello "), 1);
	ck_assert_ptr_nonnull(strstr(p.out.data, "cmdline: wtest=hello console=ttyS0"));
	proc_free(&p);
}
END_TEST

START_TEST(default_command_line_is_firecrackers)
{
	struct proc p;
	char *doc;

	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}",
		     build_path("wisp-testguest")) < 0)
		abort();
	ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, BOOT_TIMEOUT_MS));
	/* No wtest= given: the guest reports an unknown scenario, but first
	 * prints the command line it got. */
	ck_assert_msg(strstr(p.out.data, "reboot=k panic=1 pci=off nomodule"),
		      "stdout:\n%s\nstderr:\n%s", p.out.data, p.err.data);
	ck_assert_ptr_nonnull(strstr(p.out.data, "FAIL unknown scenario"));
	ck_assert_int_eq(p.status, 0);
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(boot_timer_logs_guest_boot_time)
{
	struct proc p;

	boot(&p, "wtest=hello", NULL, NULL, "--boot-timer");
	ASSERT_SCENARIO_PASSED(&p, "hello");
	ck_assert_msg(strstr(p.err.data, "Guest-boot-time = ") && strstr(p.err.data, " CPU us "),
		      "stderr:\n%s", p.err.data);
	proc_free(&p);
}
END_TEST

START_TEST(no_boot_timer_line_without_the_flag)
{
	struct proc p;

	boot(&p, "wtest=hello", NULL, NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "hello");
	ck_assert_ptr_null(strstr(p.err.data, "Guest-boot-time"));
	proc_free(&p);
}
END_TEST

START_TEST(memory_128m)
{
	struct proc p;

	boot(&p, "wtest=memory", NULL, NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "memory");
	proc_free(&p);
}
END_TEST

START_TEST(memory_4g_both_sides_of_the_gap)
{
	struct proc p;

	boot(&p, "wtest=memory", "{\"vcpu_count\": 1, \"mem_size_mib\": 4096}", NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "memory");
	/* 3 GiB below the gap and 1 GiB above it (e820 from boot_params/PVH). */
	ck_assert_msg(strstr(p.out.data, "0x100000000"), "no RAM above 4 GiB reported:\n%s",
		      p.out.data);
	proc_free(&p);
}
END_TEST

START_TEST(smp_all_vcpus_come_up)
{
	struct proc p;
	char machine[64];
	int n = _i == 0 ? 2 : 4;

	snprintf(machine, sizeof(machine), "{\"vcpu_count\": %d, \"mem_size_mib\": 128}", n);
	boot(&p, "wtest=smp", machine, NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "smp");
	for (int cpu = 0; cpu < n; cpu++) {
		char line[32];

		snprintf(line, sizeof(line), "cpu %d up", cpu);
		ck_assert_msg(strstr(p.out.data, line), "missing '%s':\n%s", line, p.out.data);
	}
	proc_free(&p);
}
END_TEST

/* A copy of the test guest without its PVH note boots through the Linux
 * 64-bit boot protocol (boot_params in RSI, long mode, VMM page tables). */
static char *guest_without_pvh_note(void)
{
	static const unsigned char note[] = { 4, 0, 0, 0, 8, 0, 0, 0, 18, 0, 0, 0, 'X', 'e', 'n', 0 };
	size_t len;
	unsigned char *img = read_whole_file(build_path("wisp-testguest"), &len);
	char *path;
	bool patched = false;

	ck_assert_ptr_nonnull(img);
	for (size_t i = 0; i + sizeof(note) <= len; i++) {
		if (!memcmp(img + i, note, sizeof(note))) {
			img[i + 8] = 0x7f;   /* an unknown note type: no PVH entry */
			patched = true;
		}
	}
	ck_assert_msg(patched, "PVH note not found in the test guest");
	path = write_tmp_data("guest-linux64", img, len);
	free(img);
	return path;
}

START_TEST(linux64_entry_boots_the_guest)
{
	static const char *const scen[] = { "hello", "memory" };
	char *guest = guest_without_pvh_note();
	char *doc;
	struct proc p;

	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		     "\"wtest=%s\"}, \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": %d}}",
		     guest, scen[_i], _i ? 4096 : 128) < 0)
		abort();
	ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, BOOT_TIMEOUT_MS));
	ck_assert_msg(strstr(p.out.data, "entry=linux64"), "stdout:\n%s\nstderr:\n%s", p.out.data,
		      p.err.data);
	ck_assert_msg(strstr(p.out.data, "PASS") && p.status == 0, "stdout:\n%s\nstderr:\n%s",
		      p.out.data, p.err.data);
	if (_i == 1)
		ck_assert_msg(strstr(p.out.data, "0x100000000"), "no RAM above 4 GiB:\n%s", p.out.data);
	free(guest);
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(irq_serial_rx_and_timer)
{
	struct proc p;
	char *doc = guest_config("wtest=irq", NULL, NULL);
	char *cfg = write_tmp_file("vm.json", doc);

	ck_assert_int_eq(wisp_spawn_config(&p, cfg), 0);
	ck_assert_msg(proc_wait_for(&p, "WTEST-WAIT-INPUT", BOOT_TIMEOUT_MS), "stdout:\n%s\nstderr:\n%s",
		      p.out.data, p.err.data);
	ck_assert_int_eq(proc_send(&p, "Z", 1), 0);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_SCENARIO_PASSED(&p, "irq");
	ck_assert_ptr_nonnull(strstr(p.out.data, "0x5a"));
	free(doc);
	free(cfg);
	proc_free(&p);
}
END_TEST

START_TEST(reset_exits_zero)
{
	struct proc p;

	boot(&p, "wtest=reset", NULL, NULL, NULL);
	ASSERT_SCENARIO_PASSED(&p, "reset");
	ck_assert_ptr_nonnull(strstr(p.err.data, "reset"));
	proc_free(&p);
}
END_TEST

START_TEST(triple_fault_is_reported)
{
	struct proc p;

	boot(&p, "wtest=triple-fault", NULL, NULL, NULL);
	ck_assert_msg(p.status == 1, "status %d\nstderr:\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "triple fault") && strstr(p.err.data, "RIP 0x"),
		      "stderr:\n%s", p.err.data);
	proc_free(&p);
}
END_TEST

START_TEST(sigterm_stops_a_running_guest)
{
	struct proc p;
	char *doc = guest_config("wtest=ticker", NULL, NULL);
	char *cfg = write_tmp_file("vm.json", doc);

	ck_assert_int_eq(wisp_spawn_config(&p, cfg), 0);
	ck_assert_msg(proc_wait_for(&p, "TICK 3", BOOT_TIMEOUT_MS), "stdout:\n%s\nstderr:\n%s",
		      p.out.data, p.err.data);
	proc_signal(&p, SIGTERM);
	ck_assert_msg(proc_finish(&p, 10000), "wisp ignored SIGTERM");
	ck_assert_int_eq(p.status, 0);
	ck_assert_ptr_nonnull(strstr(p.err.data, "stopping the VM"));
	free(doc);
	free(cfg);
	proc_free(&p);
}
END_TEST

/* ---------------- errors ---------------- */
struct bad_config {
	const char *doc;      /* %s = test guest path */
	const char *message;  /* expected in stderr */
};

static const struct bad_config bad_configs[] = {
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": 0, \"mem_size_mib\": 128}}", "vcpu_count" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": 33, \"mem_size_mib\": 128}}", "vcpu_count" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": 1, \"mem_size_mib\": 0}}", "mem_size_mib" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": \"two\", \"mem_size_mib\": 128}}", "vcpu_count" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"bogus\": 1}}", "bogus" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"colour\": \"red\"}}", "colour" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, \"machine-config\": "
	  "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}}", "vcpu_count" },
	{ "{\"boot-source\": {\"kernel_image_path\": \"%s\"", "JSON" },
	{ "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}, \"x\": \"%s\"}", "x" },
};

START_TEST(bad_config_is_rejected_with_its_field)
{
	const struct bad_config *bc = &bad_configs[_i];
	struct proc p;
	char *doc;

	if (asprintf(&doc, bc->doc, build_path("wisp-testguest")) < 0)
		abort();
	ck_assert(wisp_run_doc(&p, "bad.json", doc, NULL, 20000));
	/* Firecracker: a refused --config-file exits with GenericError (1) */
	ck_assert_msg(p.status == 1, "config %d: status %d, stderr:\n%s", _i, p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "Configuration for VMM from one single json failed"),
		      "config %d: stderr:\n%s", _i, p.err.data);
	ck_assert_msg(strstr(p.err.data, bc->message), "config %d: expected '%s' in:\n%s", _i,
		      bc->message, p.err.data);
	ASSERT_CLEAN(&p);
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(missing_kernel_names_the_path)
{
	struct proc p;

	ck_assert(wisp_run_doc(&p, "vm.json",
			       "{\"boot-source\": {\"kernel_image_path\": \"/nonexistent/vmlinux\"}}",
			       NULL, 20000));
	ck_assert_int_eq(p.status, 1);   /* Firecracker's GenericError */
	ck_assert_msg(strstr(p.err.data, "/nonexistent/vmlinux") &&
		      strstr(p.err.data, "No such file"), "stderr:\n%s", p.err.data);
	proc_free(&p);
}
END_TEST

START_TEST(garbage_kernel_is_refused)
{
	struct proc p;
	char *kernel = write_tmp_file("garbage", "this is not a kernel image at all, not ELF nor bzImage\n");
	char *doc;

	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\"}}", kernel) < 0)
		abort();
	ck_assert(wisp_run_doc(&p, "vm.json", doc, NULL, 20000));
	ck_assert_int_eq(p.status, 1);   /* Firecracker's GenericError */
	ck_assert_msg(strstr(p.err.data, kernel) && strstr(p.err.data, "kernel_image_path"),
		      "stderr:\n%s", p.err.data);
	free(kernel);
	free(doc);
	proc_free(&p);
}
END_TEST

START_TEST(directory_as_kernel_is_refused)
{
	struct proc p;

	ck_assert(wisp_run_doc(&p, "vm.json", "{\"boot-source\": {\"kernel_image_path\": \"/tmp\"}}",
			       NULL, 20000));
	ck_assert_int_eq(p.status, 1);   /* Firecracker's GenericError */
	ck_assert_msg(strstr(p.err.data, "/tmp is not a regular file"), "stderr:\n%s", p.err.data);
	proc_free(&p);
}
END_TEST

START_TEST(missing_config_file_names_the_path)
{
	struct proc p;
	char *argv[] = { (char *)build_path("wisp"), "--no-api", "--config-file",
			 "/nonexistent/vm.json", NULL };

	ck_assert(proc_run(&p, argv, 20000));
	ck_assert_int_eq(p.status, 1);   /* Firecracker's GenericError */
	ck_assert_msg(strstr(p.err.data, "/nonexistent/vm.json"), "stderr:\n%s", p.err.data);
	proc_free(&p);
}
END_TEST

START_TEST(command_line_flags)
{
	struct proc p;
	char *help[] = { (char *)build_path("wisp"), "--help", NULL };
	char *version[] = { (char *)build_path("wisp"), "--version", NULL };
	char *bogus[] = { (char *)build_path("wisp"), "--bogus", NULL };
	char *noapi[] = { (char *)build_path("wisp"), "--no-api", NULL };
	char *level[] = { (char *)build_path("wisp"), "--level", "Loud", "--no-api", NULL };

	ck_assert(proc_run(&p, help, 5000));
	ck_assert_int_eq(p.status, 0);
	ck_assert_ptr_nonnull(strstr(p.out.data, "--config-file"));
	ck_assert_ptr_nonnull(strstr(p.out.data, "--boot-timer"));
	proc_free(&p);

	ck_assert(proc_run(&p, version, 5000));
	ck_assert_int_eq(p.status, 0);
	ck_assert_ptr_nonnull(strstr(p.out.data, "wisp v"));
	proc_free(&p);

	ck_assert(proc_run(&p, bogus, 5000));
	ck_assert_int_eq(p.status, 153);
	ck_assert_ptr_nonnull(strstr(p.err.data, "--bogus"));
	proc_free(&p);

	ck_assert(proc_run(&p, noapi, 5000));
	ck_assert_int_eq(p.status, 153);
	ck_assert_ptr_nonnull(strstr(p.err.data, "--no-api needs --config-file"));
	proc_free(&p);

	ck_assert(proc_run(&p, level, 5000));
	ck_assert_int_eq(p.status, 153);
	ck_assert_ptr_nonnull(strstr(p.err.data, "Loud"));
	proc_free(&p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vmm_boot");
	TCase *tc = tcase_create("boot");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, hello_boots_and_sees_its_command_line);
	tcase_add_test(tc, default_command_line_is_firecrackers);
	tcase_add_test(tc, boot_timer_logs_guest_boot_time);
	tcase_add_test(tc, no_boot_timer_line_without_the_flag);
	tcase_add_test(tc, memory_128m);
	tcase_add_test(tc, memory_4g_both_sides_of_the_gap);
	tcase_add_loop_test(tc, smp_all_vcpus_come_up, 0, 2);
	tcase_add_loop_test(tc, linux64_entry_boots_the_guest, 0, 2);
	tcase_add_test(tc, irq_serial_rx_and_timer);
	tcase_add_test(tc, reset_exits_zero);
	tcase_add_test(tc, triple_fault_is_reported);
	tcase_add_test(tc, sigterm_stops_a_running_guest);
	tcase_add_loop_test(tc, bad_config_is_rejected_with_its_field, 0,
			    (int)(sizeof(bad_configs) / sizeof(bad_configs[0])));
	tcase_add_test(tc, missing_kernel_names_the_path);
	tcase_add_test(tc, garbage_kernel_is_refused);
	tcase_add_test(tc, directory_as_kernel_is_refused);
	tcase_add_test(tc, missing_config_file_names_the_path);
	tcase_add_test(tc, command_line_flags);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
