/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_virtio_net.c — build/wisp with virtio-net over taps, driven by the
 * test guest's `net` and `net-burst` scenarios (tests/guest/README.md).
 *
 * Each test makes its own network namespace (wisp-it-<pid>-<k>) with its
 * taps, runs wisp inside it (`ip netns exec`), pings the guest with a small
 * ICMP client of our own from inside the namespace, counts the guest's
 * frames on the tap, and removes the namespace in the fixture teardown
 * (stale ones of dead test processes are removed at start and end too).
 * Needs root; exits 77 (skipped) otherwise.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../check_main.h"
#include "harness.h"
#include "it_virtio_util.h"

#define BOOT_TIMEOUT_MS 90000
#define ETH_P_WTEST 0x88b5

static char ns[64];

static void setup(void)
{
	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
}

static void teardown(void)
{
	netns_delete(ns);
	ns[0] = 0;
	tmpdir_cleanup();
}

static void tcase_teardown(void)
{
	netns_delete_stale();
}

/* "network-interfaces": [...] for n taps tap0.. with MACs 06:00:0a:c8:0<i+1>:02. */
static char *nics_json(int n)
{
	char *out = strdup("\"network-interfaces\": [");

	for (int i = 0; i < n; i++) {
		char *next;

		if (asprintf(&next, "%s%s{\"iface_id\": \"eth%d\", \"host_dev_name\": \"tap%d\", "
			     "\"guest_mac\": \"06:00:0a:c8:%02x:02\"}", out, i ? ", " : "", i, i,
			     i + 1) < 0)
			abort();
		free(out);
		out = next;
	}
	{
		char *next;

		if (asprintf(&next, "%s]", out) < 0)
			abort();
		free(out);
		out = next;
	}
	return out;
}

/* Start wisp inside the namespace with the guest running boot_args. */
static void start(struct proc *p, const char *boot_args, const char *extra_json)
{
	char *doc = guest_config(boot_args, NULL, extra_json);
	char *cfg = write_tmp_file("vm.json", doc);
	const char *argv[12];
	int i = netns_exec_prefix(argv, ns);

	argv[i++] = build_path("wisp");
	argv[i++] = "--no-api";
	argv[i++] = "--config-file";
	argv[i++] = cfg;
	argv[i] = NULL;
	ck_assert_int_eq(proc_spawn(p, (char *const *)argv), 0);
	proc_close_stdin(p);
	free(doc);
	free(cfg);
}

static void add_taps(int n)
{
	for (int i = 0; i < n; i++) {
		char tap[16], cidr[32];

		snprintf(tap, sizeof(tap), "tap%d", i);
		snprintf(cidr, sizeof(cidr), "10.200.%d.1/24", i + 1);
		ck_assert_msg(netns_add_tap(ns, tap, cidr) == 0, "cannot add %s to %s", tap, ns);
	}
}

/* Ping ip from the namespace until `want` replies (after the last one the
 * guest resets). */
static void ping_guest(struct proc *p, const char *ip, int want)
{
	int got;

	ck_assert_msg(proc_wait_for(p, "scenario=net", BOOT_TIMEOUT_MS), "stdout:\n%s\nstderr:\n%s",
		      p->out.data, p->err.data);
	got = netns_ping(ns, ip, want, want + 10, 200, 2000);
	ck_assert_msg(got == want, "%d of %d echo replies from %s\nstdout:\n%s\nstderr:\n%s", got,
		      want, ip, p->out.data, p->err.data);
}

/* The guest answered ARP with the MAC from its config space. */
static void assert_arp(const char *ip, const char *mac)
{
	char arp[4096];
	const char *line;

	ck_assert_int_ge(netns_read_file(ns, "/proc/thread-self/net/arp", arp, sizeof(arp)), 0);
	line = strstr(arp, ip);
	ck_assert_msg(line && strstr(line, mac), "no ARP entry %s at %s:\n%s", ip, mac, arp);
}

START_TEST(ping_the_guest)
{
	struct proc p;
	char *nics = nics_json(1);

	add_taps(1);
	start(&p, "wtest=net wtest.ip=10.200.1.2 wtest.count=5", nics);
	ping_guest(&p, "10.200.1.2", 4);
	/* While the guest runs (the tap going down flushes the entry). */
	assert_arp("10.200.1.2", "06:00:0a:c8:01:02");
	ck_assert_int_eq(netns_ping(ns, "10.200.1.2", 1, 5, 200, 2000), 1);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net");
	ck_assert_msg(strstr(p.err.data, "network interface 'eth0': tap 'tap0'"), "stderr:\n%s",
		      p.err.data);
	/* The guest read guest_mac from its config space, on device 0, IRQ 5. */
	ck_assert_msg(strstr(p.out.data, "net: device 0 at 0xc0001000 irq 5, mac 06:00:0a:c8:01:02"),
		      "stdout:\n%s", p.out.data);
	free(nics);
	proc_free(&p);
}
END_TEST

/* The guest's frames arrive on the tap, every one of them. */
START_TEST(burst_is_counted_on_the_tap)
{
	static const struct { int count, size; } runs[] = { { 200, 60 }, { 100, 1514 } };
	struct proc p;
	char *nics = nics_json(1), args[128];
	uint64_t rx0, rx1, frames = 0, bytes = 0;
	int fd;

	add_taps(1);
	fd = netns_packet_socket(ns, "tap0", ETH_P_WTEST);
	ck_assert_msg(fd >= 0, "packet socket: %s", strerror(-fd));
	ck_assert_int_eq(netns_dev_stats(ns, "tap0", &rx0, NULL), 0);
	snprintf(args, sizeof(args), "wtest=net-burst wtest.count=%d wtest.size=%d", runs[_i].count,
		 runs[_i].size);
	start(&p, args, nics);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net-burst");
	packet_count(fd, 500, &frames, &bytes);
	ck_assert_int_eq(netns_dev_stats(ns, "tap0", &rx1, NULL), 0);
	ck_assert_msg(frames == (uint64_t)runs[_i].count, "%llu of %d frames seen on tap0",
		      (unsigned long long)frames, runs[_i].count);
	ck_assert_msg(bytes == (uint64_t)runs[_i].count * (uint64_t)runs[_i].size,
		      "%llu bytes for %d frames of %d", (unsigned long long)bytes, runs[_i].count,
		      runs[_i].size);
	ck_assert_msg(rx1 - rx0 >= (uint64_t)runs[_i].count, "tap0 rx_packets grew by %llu",
		      (unsigned long long)(rx1 - rx0));
	close(fd);
	free(nics);
	proc_free(&p);
}
END_TEST

/* Two nics: both announced, in config order, at the next windows. */
START_TEST(two_nics_on_the_command_line)
{
	struct proc p;
	char *nics = nics_json(2);
	const char *line, *w1, *w2;

	add_taps(2);
	start(&p, "wtest=hello", nics);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "hello");
	line = strstr(p.out.data, "cmdline: ");
	ck_assert_ptr_nonnull(line);
	w1 = strstr(line, "virtio_mmio.device=4K@0xc0001000:5");
	w2 = strstr(line, "virtio_mmio.device=4K@0xc0002000:6");
	ck_assert_msg(w1 && w2 && w1 < w2, "cmdline:\n%s", p.out.data);
	ck_assert_msg(strstr(p.err.data, "network interface 'eth0': tap 'tap0'") &&
		      strstr(p.err.data, "network interface 'eth1': tap 'tap1'"), "stderr:\n%s",
		      p.err.data);
	free(nics);
	proc_free(&p);
}
END_TEST

/* Two nics: traffic from each device arrives on its own tap only, and
 * each answers pings on its own subnet. */
START_TEST(two_nics_traffic_stays_on_its_tap)
{
	struct proc p;
	char *nics = nics_json(2);
	uint64_t frames0 = 0, frames1 = 0, bytes = 0;
	int fd0, fd1;

	add_taps(2);
	fd0 = netns_packet_socket(ns, "tap0", ETH_P_WTEST);
	fd1 = netns_packet_socket(ns, "tap1", ETH_P_WTEST);
	ck_assert(fd0 >= 0 && fd1 >= 0);
	start(&p, "wtest=net-burst wtest.count=50", nics);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net-burst");
	packet_count(fd0, 300, &frames0, &bytes);
	packet_count(fd1, 300, &frames1, &bytes);
	ck_assert_msg(frames0 == 50 && frames1 == 0, "tap0 %llu frames, tap1 %llu frames",
		      (unsigned long long)frames0, (unsigned long long)frames1);
	proc_free(&p);

	/* The second nic carries its own traffic: a burst from device 1
	 * arrives on tap1 only. */
	frames0 = frames1 = 0;
	start(&p, "wtest=net-burst wtest.count=40 wtest.dev=1", nics);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net-burst");
	packet_count(fd0, 300, &frames0, &bytes);
	packet_count(fd1, 300, &frames1, &bytes);
	ck_assert_msg(frames0 == 0 && frames1 == 40, "device 1: tap0 %llu frames, tap1 %llu frames",
		      (unsigned long long)frames0, (unsigned long long)frames1);
	proc_free(&p);

	/* And ping each nic on its own subnet with both devices present. */
	start(&p, "wtest=net wtest.ip=10.200.1.2 wtest.count=3", nics);
	ping_guest(&p, "10.200.1.2", 3);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net");
	proc_free(&p);
	start(&p, "wtest=net wtest.ip=10.200.2.2 wtest.count=3 wtest.dev=1", nics);
	ping_guest(&p, "10.200.2.2", 3);
	ck_assert(proc_finish(&p, BOOT_TIMEOUT_MS));
	ASSERT_PASS(&p, "net");
	ck_assert_msg(strstr(p.out.data, "net: device 1 at 0xc0002000 irq 6, mac 06:00:0a:c8:02:02"),
		      "stdout:\n%s", p.out.data);
	close(fd0);
	close(fd1);
	free(nics);
	proc_free(&p);
}
END_TEST

START_TEST(missing_tap_is_refused_by_name)
{
	struct proc p;
	const char *extra = "\"network-interfaces\": [{\"iface_id\": \"eth0\", "
			    "\"host_dev_name\": \"wispnotap7\"}]";

	start(&p, "wtest=hello", extra);
	ck_assert(proc_finish(&p, 30000));
	ck_assert_msg(p.status == 1, "status %d\nstderr:\n%s", p.status, p.err.data);
	ck_assert_msg(strstr(p.err.data, "tap 'wispnotap7' does not exist") &&
		      strstr(p.err.data, "eth0"),
		      "stderr:\n%s", p.err.data);
	ck_assert_ptr_null(strstr(p.out.data, "wisp-testguest"));
	ASSERT_CLEAN(&p);
	proc_free(&p);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("net");

	tcase_add_unchecked_fixture(tc, NULL, tcase_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, ping_the_guest);
	tcase_add_loop_test(tc, burst_is_counted_on_the_tap, 0, 2);
	tcase_add_test(tc, two_nics_on_the_command_line);
	tcase_add_test(tc, two_nics_traffic_stays_on_its_tap);
	tcase_add_test(tc, missing_tap_is_refused_by_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	if (geteuid() != 0) {
		printf("skip: virtio-net integration tests need root (network namespaces, taps)\n");
		return 77;
	}
	if (access("/usr/sbin/ip", X_OK) != 0 && access("/sbin/ip", X_OK) != 0) {
		printf("skip: no ip(8)\n");
		return 77;
	}
	netns_delete_stale();
	rc = check_run_suite(suite());
	netns_delete_stale();
	return rc;
}
