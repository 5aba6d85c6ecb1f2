/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_vmgenid.c — a restored clone learns it is one: the test guest's
 * `acpi` scenario in command mode (tests/guest/scen_acpi.c, wtest.wait=1)
 * finds the VMGenID device and the GED in the DSDT, routes and counts the
 * GED's interrupts, and answers the serial command `G` with
 * `VMGENID <32 hex digits: the 16 bytes in memory order> irqs=<n>`.
 *
 * What is proven (each test can fail):
 *  - a booted VM has an ID and took no GED interrupt; the snapshot's memory
 *    file holds that ID at the VMGenID address (0xDF000);
 *  - a VM restored from the snapshot (a new process) sees a different ID
 *    and took the GED interrupt exactly once; wisp logs the notification;
 *    that VM snapshotted and restored again sees a third ID, irqs=2;
 *  - two clones restored at once from one snapshot get different IDs;
 *  - the same with the Uffd backend (wisp-uffd-handler serving memory):
 *    new ID, one interrupt;
 *  - the state file has one vmgenid record: address 0xDF000, GSI 3, the ID
 *    the guest saw; with acpi=off on the command line there is none, and
 *    the VM snapshots and restores as before;
 *  - a format 1.0 state file (before the VMGenID: no vmgenid record) still
 *    loads and the guest runs, with no notification; the same file as 1.1
 *    is refused with a message naming the missing device.
 *
 * WISP_IT_NO_SECCOMP=1 in the environment runs wisp with --no-seccomp.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "it_wisp.h"
#include "snapshot.h"

#define GUEST_MS 60000
#define GUEST_MIB 128
#define VMGENID_GPA 0xDF000ULL   /* ACPI_VMGENID_ADDR (acpi/acpi.h) */

static char base_dir[64];
static char tdir_buf[96];
static const char *tdir;

static void remove_tree(const char *dir)
{
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", dir, NULL };

	if (dir && dir[0])
		it_run(argv);
}

static void setup(void)
{
	snprintf(tdir_buf, sizeof(tdir_buf), "%s/tXXXXXX", base_dir);
	ck_assert_msg(mkdtemp(tdir_buf) != NULL, "mkdtemp %s: %s", tdir_buf, strerror(errno));
	tdir = tdir_buf;
}

static void teardown(void)
{
	remove_tree(tdir);
	tdir = NULL;
}

static void tcase_setup(void)
{
	snprintf(base_dir, sizeof(base_dir), "/tmp/wisp-it-vmgenid-XXXXXX");
	if (!mkdtemp(base_dir)) {
		perror("mkdtemp");
		abort();
	}
}

static void tcase_teardown(void)
{
	remove_tree(base_dir);
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	return s;
}

#define WAIT_FOR(w, needle)                                                                   \
	ck_assert_msg(proc_wait_for(&(w)->p, needle, GUEST_MS),                               \
		      "no \"%s\"\nstdout:\n%s\nstderr:\n%s", needle, (w)->p.out.data,           \
		      (w)->p.err.data)

static void start(struct wisp *w, const char *name)
{
	char *sock = xasprintf("%s/%s.sock", tdir, name);

	wisp_spawn(w, sock, name, NULL);
	free(sock);
}

static void kill_wisp(struct wisp *w)
{
	proc_signal(&w->p, SIGKILL);
	ck_assert(proc_finish(&w->p, 10000));
}

/* Boot wtest=acpi in command mode through the API and wait until its
 * checks are done and it waits for commands. */
static void boot_acpi_guest(struct wisp *w)
{
	char *b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=acpi "
			    "wtest.wait=1 wtest.vmgenid=1\"}", build_path("wisp-testguest"));

	CALL(w, "PUT", "/boot-source", b, 204);
	free(b);
	b = xasprintf("{\"vcpu_count\": 1, \"mem_size_mib\": %d}", GUEST_MIB);
	CALL(w, "PUT", "/machine-config", b, 204);
	free(b);
	CALL(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	WAIT_FOR(w, "ACPI: waiting for commands");
	ck_assert_msg(!strstr(w->p.out.data, "WTEST acpi FAIL"), "the acpi scenario failed:\n%s\n%s",
		      w->p.out.data, w->p.err.data);
}

/* `Q`: the guest says PASS and resets; wisp exits 0. */
static void quit_guest(struct wisp *w)
{
	ck_assert_int_eq(proc_send(&w->p, "Q", 1), 0);
	ck_assert_msg(proc_finish(&w->p, GUEST_MS), "wisp did not exit after Q");
	ck_assert_msg(strstr(w->p.out.data, "WTEST acpi PASS") && w->p.status == 0,
		      "status %d\nstdout:\n%s\nstderr:\n%s", w->p.status, w->p.out.data,
		      w->p.err.data);
	ASSERT_CLEAN(&w->p);
}

struct genid {
	char hex[33];
	int irqs;
};

/* Send `G`; the guest's `VMGENID <hex> irqs=<n>` line that follows. */
static struct genid ask_genid(struct wisp *w)
{
	size_t from = w->p.out.len;
	struct timespec t0, t;
	struct genid g = { "", -1 };

	ck_assert_int_eq(proc_send(&w->p, "G", 1), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		const char *s = strstr(w->p.out.data + from, "VMGENID ");

		if (s && strchr(s, '\n')) {
			ck_assert_msg(sscanf(s, "VMGENID %32[0-9a-fA-F] irqs=%d", g.hex, &g.irqs) == 2 &&
					      strlen(g.hex) == 32,
				      "unexpected answer to G: %.80s", s);
			for (char *c = g.hex; *c; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			return g;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		ck_assert_msg((t.tv_sec - t0.tv_sec) * 1000 < GUEST_MS,
			      "no VMGENID answer\nstdout:\n%s\nstderr:\n%s", w->p.out.data,
			      w->p.err.data);
		proc_wait_for(&w->p, "\x01never", 100);
	}
}

struct snapfiles {
	char *state, *mem;
};

static struct snapfiles snap_take(struct wisp *w, const char *name)
{
	struct snapfiles f = { xasprintf("%s/%s.state", tdir, name),
			       xasprintf("%s/%s.mem", tdir, name) };
	char *b = xasprintf("{\"snapshot_type\": \"Full\", \"snapshot_path\": \"%s\", "
			    "\"mem_file_path\": \"%s\"}", f.state, f.mem);

	CALL(w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	CALL(w, "PUT", "/snapshot/create", b, 204);
	free(b);
	return f;
}

static void snap_free(struct snapfiles *f)
{
	free(f->state);
	free(f->mem);
}

static char *load_body(const char *state, const char *mem)
{
	return xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": true}", state, mem);
}

static void load(struct wisp *w, const char *state, const char *mem)
{
	char *b = load_body(state, mem);

	CALL(w, "PUT", "/snapshot/load", b, 204);
	free(b);
}

/* The 16 bytes at the VMGenID address of a memory file, as the guest
 * prints them (memory order, lower-case hex). */
static void mem_file_genid(const char *mem, char hex[33])
{
	uint8_t b[16];
	int fd = open(mem, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, b, sizeof(b), (off_t)VMGENID_GPA), (ssize_t)sizeof(b));
	close(fd);
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
}

/* The vmgenid records of a state file: how many, and the first one's
 * address, GSI and ID (hex). */
static int state_vmgenid(const char *state, uint64_t *addr, uint32_t *gsi, char hex[33])
{
	size_t len;
	uint8_t *buf = read_whole_file(state, &len);
	struct snap_file f;
	char err[300];
	int n = 0;

	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(snap_parse(buf, len, &f, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(f.major, 1);
	ck_assert_uint_eq(f.minor, 1);
	for (unsigned k = 0;; k++) {
		const struct snap_section *s = snap_find(&f, SNAP_SEC_DEVICE, k);
		struct snap_device_hdr h;
		const uint8_t *st;
		size_t st_len;

		if (!s)
			break;
		ck_assert_int_eq(snap_device_split(s, &h, &st, &st_len, err, sizeof(err)), 0);
		if (strcmp(h.kind, "vmgenid") != 0)
			continue;
		if (n++ == 0) {
			ck_assert_uint_eq(st_len, 32);
			ck_assert_uint_eq(h.irq, 3);
			ck_assert_uint_eq(h.mmio_base, 0);
			*addr = ld_le64(st);
			*gsi = ld_le32(st + 8);
			for (int i = 0; i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", st[16 + i]);
		}
	}
	snap_file_free(&f);
	free(buf);
	return n;
}

static void assert_notified_once(struct wisp *w)
{
	ck_assert_int_eq(count_substr(w->p.err.data, "vmgenid: new generation ID, guest notified"),
			 1);
}

START_TEST(restored_vm_gets_a_new_id_and_the_notification)
{
	struct wisp a, b, c;
	struct snapfiles f1, f2;
	struct genid g0, g1, g1b, g2;
	char hex[33], saved[33];
	uint64_t addr = 0;
	uint32_t gsi = 0;

	start(&a, "a");
	boot_acpi_guest(&a);
	g0 = ask_genid(&a);
	ck_assert_int_eq(g0.irqs, 0);
	ck_assert_str_ne(g0.hex, "00000000000000000000000000000000");
	ck_assert_int_eq(count_substr(a.p.err.data, "vmgenid: new generation ID"), 0);
	f1 = snap_take(&a, "s1");
	kill_wisp(&a);
	/* What the guest read is what the device wrote at its address. */
	mem_file_genid(f1.mem, hex);
	ck_assert_msg(strcmp(g0.hex, hex) == 0, "guest saw %s, the memory file holds %s at 0x%llx",
		      g0.hex, hex, (unsigned long long)VMGENID_GPA);
	ck_assert_msg(strstr(a.p.out.data, "ACPI: vmgenid 0xdf000") ||
			      strstr(a.p.out.data, "ACPI: vmgenid 0xDF000"),
		      "the guest found no VMGenID at 0xdf000:\n%s", a.p.out.data);
	/* The state file's record: the address, the GED's GSI, that ID. */
	ck_assert_int_eq(state_vmgenid(f1.state, &addr, &gsi, saved), 1);
	ck_assert_uint_eq(addr, VMGENID_GPA);
	ck_assert_uint_eq(gsi, 3);
	ck_assert_str_eq(saved, g0.hex);

	start(&b, "b");
	load(&b, f1.state, f1.mem);
	/* The interrupt comes on its own, before anything is asked. */
	WAIT_FOR(&b, "ACPI: ged interrupt 1");
	g1 = ask_genid(&b);
	ck_assert_str_ne(g1.hex, g0.hex);
	ck_assert_int_eq(g1.irqs, 1);
	assert_notified_once(&b);
	/* Asking again changes nothing: one ID per generation, one interrupt. */
	g1b = ask_genid(&b);
	ck_assert_str_eq(g1b.hex, g1.hex);
	ck_assert_int_eq(g1b.irqs, 1);

	/* The clone snapshotted and restored again: a third generation. */
	f2 = snap_take(&b, "s2");
	kill_wisp(&b);
	start(&c, "c");
	load(&c, f2.state, f2.mem);
	WAIT_FOR(&c, "ACPI: ged interrupt 2");
	g2 = ask_genid(&c);
	ck_assert_str_ne(g2.hex, g1.hex);
	ck_assert_str_ne(g2.hex, g0.hex);
	ck_assert_int_eq(g2.irqs, 2);
	assert_notified_once(&c);
	quit_guest(&c);
	wisp_free(&a);
	wisp_free(&b);
	wisp_free(&c);
	snap_free(&f1);
	snap_free(&f2);
}
END_TEST

START_TEST(two_clones_of_one_snapshot_differ)
{
	struct wisp a, b, c;
	struct snapfiles f;
	struct genid g0, gb, gc;

	start(&a, "a");
	boot_acpi_guest(&a);
	g0 = ask_genid(&a);
	f = snap_take(&a, "s");
	kill_wisp(&a);
	start(&b, "b");
	start(&c, "c");
	load(&b, f.state, f.mem);
	load(&c, f.state, f.mem);
	WAIT_FOR(&b, "ACPI: ged interrupt 1");
	WAIT_FOR(&c, "ACPI: ged interrupt 1");
	gb = ask_genid(&b);
	gc = ask_genid(&c);
	ck_assert_str_ne(gb.hex, g0.hex);
	ck_assert_str_ne(gc.hex, g0.hex);
	ck_assert_str_ne(gb.hex, gc.hex);
	ck_assert_int_eq(gb.irqs, 1);
	ck_assert_int_eq(gc.irqs, 1);
	quit_guest(&b);
	quit_guest(&c);
	wisp_free(&a);
	wisp_free(&b);
	wisp_free(&c);
	snap_free(&f);
}
END_TEST

START_TEST(uffd_clone_gets_a_new_id_and_the_notification)
{
	struct wisp a, b;
	struct snapfiles f;
	struct genid g0, g1;
	struct proc h;
	char *hsock = xasprintf("%s/uffd.sock", tdir), *body;
	const char *argv[4];

	start(&a, "a");
	boot_acpi_guest(&a);
	g0 = ask_genid(&a);
	f = snap_take(&a, "s");
	kill_wisp(&a);
	argv[0] = build_path("wisp-uffd-handler");
	argv[1] = hsock;
	argv[2] = f.mem;
	argv[3] = NULL;
	ck_assert_int_eq(proc_spawn(&h, (char *const *)argv), 0);
	ck_assert_msg(proc_wait_for(&h, "listening on", GUEST_MS), "handler: %s", h.err.data);
	start(&b, "b");
	body = xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": "
			 "\"Uffd\", \"backend_path\": \"%s\"}, \"resume_vm\": true}", f.state, hsock);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	free(body);
	WAIT_FOR(&b, "ACPI: ged interrupt 1");
	g1 = ask_genid(&b);
	ck_assert_str_ne(g1.hex, g0.hex);
	ck_assert_int_eq(g1.irqs, 1);
	assert_notified_once(&b);
	quit_guest(&b);
	proc_signal(&h, SIGKILL);
	proc_finish(&h, 10000);
	proc_free(&h);
	wisp_free(&a);
	wisp_free(&b);
	snap_free(&f);
	free(hsock);
}
END_TEST

START_TEST(acpi_off_means_no_vmgenid)
{
	struct wisp a, b;
	struct snapfiles f;
	uint64_t addr;
	uint32_t gsi;
	char hex[33];
	char *boot = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"wtest=snap "
			       "wtest.mib=8 acpi=off\"}", build_path("wisp-testguest"));

	start(&a, "a");
	CALL(&a, "PUT", "/boot-source", boot, 204);
	free(boot);
	CALL(&a, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
	WAIT_FOR(&a, "SNAP 2\r");
	f = snap_take(&a, "s");
	kill_wisp(&a);
	ck_assert_int_eq(state_vmgenid(f.state, &addr, &gsi, hex), 0);
	start(&b, "b");
	load(&b, f.state, f.mem);
	ck_assert_int_eq(proc_send(&b.p, "x", 1), 0);
	WAIT_FOR(&b, "Ex\r");
	ck_assert_ptr_null(strstr(b.p.err.data, "vmgenid:"));
	ASSERT_CLEAN(&b.p);
	wisp_free(&a);
	wisp_free(&b);
	snap_free(&f);
}
END_TEST

/* A copy of the state file at `path` without its vmgenid device record
 * (the devices after it renumbered, the machine section's count lowered),
 * written as format 1.`minor`. */
static void write_without_vmgenid(const char *src, const char *path, uint16_t minor)
{
	size_t len, out_len;
	uint8_t *buf = read_whole_file(src, &len), *out;
	struct snap_file f;
	struct snap_writer *w = snap_writer_new();
	char err[300];
	unsigned dev = 0, dropped = 0;
	int fd;

	ck_assert_ptr_nonnull(buf);
	ck_assert_ptr_nonnull(w);
	ck_assert_msg(snap_parse(buf, len, &f, err, sizeof(err)) == 0, "%s", err);
	for (unsigned i = 0; i < f.nr; i++) {
		const struct snap_section *s = &f.secs[i];

		if (s->type == SNAP_SEC_MACHINE) {
			struct snap_machine m;

			ck_assert_uint_eq(s->len, sizeof(m));
			memcpy(&m, s->data, sizeof(m));
			m.nr_devices--;
			ck_assert_int_eq(snap_add(w, s->type, s->instance, &m, sizeof(m)), 0);
		} else if (s->type != SNAP_SEC_DEVICE) {
			ck_assert_int_eq(snap_add(w, s->type, s->instance, s->data, s->len), 0);
		}
	}
	/* Devices in their list order, renumbered without the vmgenid. */
	for (unsigned k = 0;; k++) {
		const struct snap_section *s = snap_find(&f, SNAP_SEC_DEVICE, k);
		struct snap_device_hdr h;
		const uint8_t *st;
		size_t st_len;

		if (!s)
			break;
		ck_assert_int_eq(snap_device_split(s, &h, &st, &st_len, err, sizeof(err)), 0);
		if (strcmp(h.kind, "vmgenid") == 0) {
			dropped++;
			continue;
		}
		ck_assert_int_eq(snap_add_device(w, dev++, &h, st, st_len), 0);
	}
	ck_assert_uint_eq(dropped, 1);
	ck_assert_int_eq(snap_finish(w, &out, &out_len), 0);
	st_le16(out + 10, minor);
	st_le64(out + out_len - 8, snap_crc64(0, out, out_len - 8));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, out, out_len), (ssize_t)out_len);
	close(fd);
	free(out);
	snap_writer_free(w);
	snap_file_free(&f);
	free(buf);
}

START_TEST(snapshot_from_before_vmgenid_still_loads)
{
	struct wisp a, b, c;
	struct snapfiles f;
	struct genid g0, g;
	char *old = xasprintf("%s/old.state", tdir), *bad = xasprintf("%s/bad.state", tdir);
	char *body;

	start(&a, "a");
	boot_acpi_guest(&a);
	g0 = ask_genid(&a);
	f = snap_take(&a, "s");
	kill_wisp(&a);
	write_without_vmgenid(f.state, old, 0);
	write_without_vmgenid(f.state, bad, 1);

	/* 1.1 without the record: the device's state is missing. */
	start(&c, "c");
	body = load_body(bad, f.mem);
	FAULT(&c, "PUT", "/snapshot/load", body, "the snapshot has no state for vmgenid");
	free(body);

	/* 1.0: loads; the guest runs on; nothing is announced. */
	start(&b, "b");
	load(&b, old, f.mem);
	g = ask_genid(&b);
	ck_assert_int_eq(g.irqs, 0);
	ck_assert_int_eq(count_substr(b.p.err.data, "vmgenid: new generation ID"), 0);
	ck_assert_ptr_null(strstr(b.p.out.data, "ACPI: ged interrupt"));
	(void)g0;
	quit_guest(&b);
	wisp_free(&a);
	wisp_free(&b);
	wisp_free(&c);
	snap_free(&f);
	free(old);
	free(bad);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("vmgenid");
	TCase *tc = tcase_create("clones");

	tcase_set_timeout(tc, 300);
	tcase_add_unchecked_fixture(tc, tcase_setup, tcase_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, restored_vm_gets_a_new_id_and_the_notification);
	tcase_add_test(tc, two_clones_of_one_snapshot_differ);
	tcase_add_test(tc, uffd_clone_gets_a_new_id_and_the_notification);
	tcase_add_test(tc, acpi_off_means_no_vmgenid);
	tcase_add_test(tc, snapshot_from_before_vmgenid_still_loads);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("SKIP: /dev/kvm is not usable\n");
		return 77;
	}
	return check_run_suite(suite());
}
