/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_acpi.c — build/wisp's ACPI tables as the test guest's `acpi`
 * scenario reads them (tests/guest/scen_acpi.c): RSDP from the boot
 * information, checksums and lengths of every table, the MADT against the
 * vCPU count, the virtio-mmio devices from the DSDT (cross-checked with the
 * command line), VMGenID and the GED when present; at the limits (32 vCPUs,
 * 19 virtio devices); through the bzImage (boot_params) entry; none with
 * acpi=off; and the guest's command mode (wtest.wait=1: G prints the
 * VMGenID, Q ends).
 *
 * The NIC cases need root (a network namespace with taps, as
 * test_virtio_net.c); without root only the others run.
 */
#include <check.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"
#include "it_virtio_util.h"

#define BOOT_TIMEOUT_MS 120000
#define MMIO_BASE 0xc0001000ULL
#define IRQ_BASE 5
#define PRINTF_LIKE __attribute__((format(printf, 2, 3)))

static char ns[64];

static void teardown(void)
{
	tmpdir_cleanup();
}

static void ns_setup(void)
{
	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
}

static void ns_teardown(void)
{
	netns_delete(ns);
	ns[0] = 0;
	tmpdir_cleanup();
}

static void tcase_teardown(void)
{
	netns_delete_stale();
}

/* Append printf-formatted text to the malloc'd string *out. */
static void PRINTF_LIKE cat(char **out, const char *fmt, ...)
{
	char *add, *next;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&add, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (asprintf(&next, "%s%s", *out, add) < 0)
		abort();
	free(add);
	free(*out);
	*out = next;
}

/* "drives": n drives of 16 sectors, then "network-interfaces": m taps
 * (tap0..) — either may be 0. */
static char *devices_json(int ndrives, int nnics)
{
	char *out = strdup("\"drives\": [");

	for (int i = 0; i < ndrives; i++) {
		char name[32], *path;

		snprintf(name, sizeof(name), "d%d.img", i);
		path = write_tmp_file(name, "");
		ck_assert_int_eq(image_create(path, 16), 0);
		cat(&out, "%s{\"drive_id\": \"d%d\", \"path_on_host\": \"%s\", "
		    "\"is_root_device\": false, \"is_read_only\": false}", i ? ", " : "", i, path);
		free(path);
	}
	cat(&out, "], \"network-interfaces\": [");
	for (int i = 0; i < nnics; i++)
		cat(&out, "%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\", "
		    "\"guest_mac\": \"06:00:0a:c8:%02x:02\"}", i ? ", " : "", i, i, i + 1);
	cat(&out, "]");
	return out;
}

static void add_taps(int n)
{
	for (int i = 0; i < n; i++) {
		char tap[16];

		snprintf(tap, sizeof(tap), "tap%d", i);
		ck_assert_msg(netns_add_tap(ns, tap, NULL) == 0, "cannot add %s to %s", tap, ns);
	}
}

/* Run wisp with the test guest to completion (inside ns when in_ns). */
static void run(struct proc *p, const char *boot_args, unsigned vcpus, unsigned mem_mib,
		const char *devs, bool in_ns)
{
	char machine[96], *doc, *cfg;
	const char *argv[12];
	int i = 0;

	snprintf(machine, sizeof(machine), "{\"vcpu_count\": %u, \"mem_size_mib\": %u}", vcpus,
		 mem_mib);
	doc = guest_config(boot_args, machine, devs);
	cfg = write_tmp_file("vm.json", doc);
	if (in_ns)
		i = netns_exec_prefix(argv, ns);
	argv[i++] = build_path("wisp");
	argv[i++] = "--no-api";
	argv[i++] = "--config-file";
	argv[i++] = cfg;
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(p, (char *const *)argv), 0);
	proc_close_stdin(p);
	ck_assert_msg(proc_finish(p, BOOT_TIMEOUT_MS), "wisp did not exit in time\nstdout:\n%s\n"
		      "stderr:\n%s", p->out.data, p->err.data);
	free(doc);
	free(cfg);
}

/* The output line that starts with prefix (up to its end), or fail. */
static char *line_of(const struct proc *p, const char *prefix)
{
	const char *s = p->out.data;
	size_t n = strlen(prefix);

	for (;;) {
		const char *e;

		if (!strncmp(s, prefix, n)) {
			e = strpbrk(s, "\r\n");
			return strndup(s, e ? (size_t)(e - s) : strlen(s));
		}
		s = strchr(s, '\n');
		ck_assert_msg(s, "no line starting '%s' in stdout:\n%s", prefix, p->out.data);
		s++;
	}
}

#define ASSERT_OUT(p, needle)                                                                  \
	ck_assert_msg(strstr((p)->out.data, needle), "no '%s' in stdout:\n%s\nstderr:\n%s", needle, \
		      (p)->out.data, (p)->err.data)

/* What every ACPI boot must show: the tables, the MADT, nothing the AML
 * walker could not follow, and each virtio device i at its place with its
 * device id (2 block, 1 net). */
static void assert_tables(const struct proc *p, unsigned cpus, unsigned ndrives, unsigned nnics)
{
	char want[128];

	ASSERT_PASS(p, "acpi");
	ASSERT_OUT(p, "ACPI: RSDP 0xe0000 (");
	ASSERT_OUT(p, "ACPI: XSDT ");
	ASSERT_OUT(p, "ACPI: FACP ");
	ASSERT_OUT(p, "ACPI: APIC ");
	ASSERT_OUT(p, "ACPI: DSDT ");
	snprintf(want, sizeof(want), "ACPI: MADT cpus=%u ioapic=0xfec00000 ", cpus);
	ASSERT_OUT(p, want);
	ck_assert_msg(!strstr(p->out.data, "not fully walked"), "the guest's AML walker stopped:\n%s",
		      p->out.data);
	for (unsigned i = 0; i < ndrives + nnics; i++) {
		char *l;

		snprintf(want, sizeof(want), "ACPI: virtio 0x%llx irq %u ",
			 (unsigned long long)(MMIO_BASE + 0x1000ULL * i), IRQ_BASE + i);
		l = line_of(p, want);
		ck_assert_msg(strstr(l, i < ndrives ? " id 2" : " id 1"), "device %u: %s", i, l);
		free(l);
	}
	snprintf(want, sizeof(want), "ACPI: summary tables=");
	ASSERT_OUT(p, want);
	snprintf(want, sizeof(want), " cpus=%u virtio=%u ", cpus, ndrives + nnics);
	ASSERT_OUT(p, want);
}

/* A VMGenID, when wisp describes one: 32 hex digits, not all zero; the GED
 * that notifies it. */
static void assert_vmgenid_if_any(const struct proc *p)
{
	char *l;
	const char *h;

	if (!strstr(p->out.data, "ACPI: vmgenid "))
		return;
	l = line_of(p, "ACPI: vmgenid ");
	h = strchr(l + strlen("ACPI: vmgenid "), ' ');
	ck_assert_ptr_nonnull(h);
	h++;
	for (int k = 0; k < 32; k++)
		ck_assert_msg(isxdigit((unsigned char)h[k]), "%s", l);
	ck_assert_msg(h[32] == ' ' || h[32] == '\0', "%s", l);
	ck_assert_msg(strncmp(h, "00000000000000000000000000000000", 32), "%s", l);
	ASSERT_OUT(p, "ACPI: ged irq ");
	free(l);
}

START_TEST(two_cpus_a_drive_and_a_nic)
{
	struct proc p;
	char *devs;

	add_taps(1);
	devs = devices_json(1, 1);
	run(&p, "wtest=acpi wtest.cpus=2 wtest.virtio=2", 2, 128, devs, true);
	assert_tables(&p, 2, 1, 1);
	assert_vmgenid_if_any(&p);
	free(devs);
	proc_free(&p);
}
END_TEST

/* The limits: 32 vCPUs, 19 virtio devices (16 drives, the most the
 * config takes, and 3 NICs), all described and checked. */
START_TEST(limits_32_cpus_19_devices)
{
	struct proc p;
	char *devs;

	add_taps(3);
	devs = devices_json(16, 3);
	run(&p, "wtest=acpi wtest.cpus=32 wtest.virtio=19", 32, 256, devs, true);
	assert_tables(&p, 32, 16, 3);
	assert_vmgenid_if_any(&p);
	free(devs);
	proc_free(&p);
}
END_TEST

START_TEST(one_cpu_drives_only)
{
	struct proc p;
	char *devs = devices_json(2, 0);

	run(&p, "wtest=acpi wtest.cpus=1 wtest.virtio=2", 1, 128, devs, false);
	assert_tables(&p, 1, 2, 0);
	ASSERT_OUT(&p, "ACPI: RSDP 0xe0000 (hvm_start_info)");
	assert_vmgenid_if_any(&p);
	free(devs);
	proc_free(&p);
}
END_TEST

/* The RSDP is also where a BIOS-area scan finds it (wtest.scan=1 ignores
 * the boot information). */
START_TEST(rsdp_found_by_scan_too)
{
	struct proc p;
	char *devs = devices_json(0, 0);

	run(&p, "wtest=acpi wtest.scan=1 wtest.cpus=1", 1, 128, devs, false);
	ASSERT_PASS(&p, "acpi");
	ASSERT_OUT(&p, "ACPI: RSDP 0xe0000 (scan)");
	free(devs);
	proc_free(&p);
}
END_TEST

/* The guest fails its check when told the wrong CPU count (the check can
 * fail). */
START_TEST(wrong_cpu_count_fails)
{
	struct proc p;
	char *devs = devices_json(0, 0);

	run(&p, "wtest=acpi wtest.cpus=3", 2, 128, devs, false);
	ASSERT_OUT(&p, "WTEST acpi FAIL MADT lists 2 cpus, wtest.cpus=3");
	free(devs);
	proc_free(&p);
}
END_TEST

/* acpi=off on the kernel command line: no tables at all, the guest says so
 * (and the boot itself still works). */
START_TEST(acpi_off_means_no_tables)
{
	struct proc p;
	char *devs = devices_json(1, 0);

	run(&p, "wtest=acpi acpi=off", 2, 128, devs, false);
	ASSERT_OUT(&p, "WTEST acpi FAIL no RSDP (boot information gave none; none in the EBDA or "
		   "0xE0000-0xFFFFF)");
	ck_assert_int_eq(p.status, 0);
	ASSERT_CLEAN(&p);
	free(devs);
	proc_free(&p);
}
END_TEST

/* Through the bzImage entry the RSDP comes from boot_params.acpi_rsdp_addr. */
START_TEST(bzimage_entry_rsdp_from_boot_params)
{
	struct proc p;
	const char *bz = build_path("wisp-testguest.bzImage");
	char *doc;

	if (access(bz, R_OK) != 0) {
		printf("skip: %s missing (build the wisp-testguest-bzimage target)\n", bz);
		return;
	}
	if (asprintf(&doc, "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": "
		     "\"wtest=acpi wtest.cpus=2\"}, \"machine-config\": {\"vcpu_count\": 2, "
		     "\"mem_size_mib\": 128}}", bz) < 0)
		abort();
	ck_assert_msg(wisp_run_doc(&p, "vm.json", doc, NULL, BOOT_TIMEOUT_MS),
		      "wisp did not exit in time\nstdout:\n%s\nstderr:\n%s", p.out.data, p.err.data);
	ASSERT_PASS(&p, "acpi");
	ASSERT_OUT(&p, "entry=linux64");
	ASSERT_OUT(&p, "ACPI: RSDP 0xe0000 (boot_params)");
	ASSERT_OUT(&p, "ACPI: MADT cpus=2 ioapic=0xfec00000 ");
	free(doc);
	proc_free(&p);
}
END_TEST

/* Command mode: G prints the VMGenID (or "none") and the GED interrupts
 * taken (none on a plain boot), Q ends with PASS. */
START_TEST(command_mode_g_and_q)
{
	struct proc p;
	char *doc = guest_config("wtest=acpi wtest.wait=1", NULL, NULL);
	char *cfg = write_tmp_file("vm.json", doc);
	char *l;

	ck_assert_int_eq(wisp_spawn_config(&p, cfg), 0);
	ck_assert_msg(proc_wait_for(&p, "ACPI: waiting for commands", BOOT_TIMEOUT_MS),
		      "stdout:\n%s\nstderr:\n%s", p.out.data, p.err.data);
	ck_assert_int_eq(proc_send(&p, "G", 1), 0);
	/* the whole line (CRLF); a wrong count shows in the check below */
	(void)proc_wait_for(&p, " irqs=0\r\n", 20000);
	l = line_of(&p, "VMGENID ");
	if (strstr(p.out.data, "ACPI: vmgenid "))
		ck_assert_msg(strlen(l) == strlen("VMGENID ") + 32 + strlen(" irqs=0") &&
			      !strcmp(l + strlen(l) - 7, " irqs=0"), "%s", l);
	else
		ck_assert_str_eq(l, "VMGENID none irqs=0");
	ck_assert_int_eq(proc_send(&p, "Q", 1), 0);
	ck_assert(proc_finish(&p, 30000));
	ASSERT_PASS(&p, "acpi");
	free(l);
	free(doc);
	free(cfg);
	proc_free(&p);
}
END_TEST

static Suite *suite(bool root)
{
	Suite *s = suite_create("acpi");
	TCase *tc = tcase_create("plain");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, one_cpu_drives_only);
	tcase_add_test(tc, wrong_cpu_count_fails);
	tcase_add_test(tc, rsdp_found_by_scan_too);
	tcase_add_test(tc, acpi_off_means_no_tables);
	tcase_add_test(tc, bzimage_entry_rsdp_from_boot_params);
	tcase_add_test(tc, command_mode_g_and_q);
	suite_add_tcase(s, tc);
	if (root) {
		tc = tcase_create("nics");
		tcase_add_unchecked_fixture(tc, NULL, tcase_teardown);
		tcase_add_checked_fixture(tc, ns_setup, ns_teardown);
		tcase_set_timeout(tc, 300);
		tcase_add_test(tc, two_cpus_a_drive_and_a_nic);
		tcase_add_test(tc, limits_32_cpus_19_devices);
		suite_add_tcase(s, tc);
	} else {
		printf("note: not root: the NIC cases (network namespace, taps) are skipped\n");
	}
	return s;
}

int main(void)
{
	bool root = geteuid() == 0 &&
		    (access("/usr/sbin/ip", X_OK) == 0 || access("/sbin/ip", X_OK) == 0);
	int rc;

	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("skip: no /dev/kvm\n");
		return 77;
	}
	if (root)
		netns_delete_stale();
	rc = check_run_suite(suite(root));
	if (root)
		netns_delete_stale();
	return rc;
}
