/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_snapshot.c — snapshots end to end, the way a platform uses them:
 * boot the test guest's `snap` (or `ticker`, `blk-bench`) scenario through
 * the API, pause, PUT /snapshot/create, kill the process with SIGKILL, and
 * PUT /snapshot/load into a fresh wisp; then talk to the restored guest on
 * its serial console (an echo, then `V`: the guest checks its own RAM,
 * timer, APs, disk and network, tests/guest/README.md "Snapshot scenario").
 *
 * What is proven (each test can fail):
 *  - the restored guest is the same guest: no second `SNAP boot`, the
 *    `SNAP n` / `TICK n` lines of the old and the new process together are
 *    1, 2, 3, ... without a gap or a repeat, the echo and the self-check
 *    pass; with 1 and 2 vCPUs; resume_vm true, and false + PATCH Resumed
 *    (GET / says Paused in between; GET /vm/config is the snapshot's);
 *  - the same files restored twice at once (memory file unchanged);
 *  - network_overrides moves the interface to another tap (pings answered
 *    there, the old tap is gone);
 *  - every damaged input is refused with its own message, and the process
 *    stays unconfigured: a valid load still works afterwards;
 *    Firecracker's refusals (load after configuring, create before boot or
 *    while running, Diff without dirty page tracking), a Uffd load with no
 *    page-fault handler refused with a mem_backend message;
 *  - a create that fails (ENOSPC on a small tmpfs, a missing directory)
 *    leaves no file behind and a paused VM that resumes and passes;
 *  - Sync and Async drives keep working across a snapshot (the guest's disk
 *    check, and the image checked on the host), and a snapshot taken while
 *    32 requests are posted on either engine loses and repeats none (the
 *    guest's completions = the old device's + the new device's);
 *  - the ticker keeps its numbering and still takes Ctrl-Alt-Del;
 *  - the memory file is sparse and holds guest RAM at guest-physical
 *    offsets (checked against the guest's pattern formula).
 *
 * Network namespaces, taps and the tmpfs need root; without root those
 * tests are left out (and said so). WISP_IT_NO_SECCOMP=1 in the
 * environment runs wisp with --no-seccomp (for diagnosing a filter).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../check_main.h"
#include "api_check.h"
#include "api_client.h"
#include "harness.h"
#include "it_virtio_util.h"
#include "it_wisp.h"

#define START_MS 20000
#define GUEST_MS 60000
#define NOT_BEFORE "The requested operation is not supported before starting the microVM."
#define LOAD_AFTER_CONFIG                                                                      \
	"Loading a microVM snapshot not allowed after configuring boot-specific resources."
#define MIB (1024ull * 1024ull)
#define GUEST_MIB 128
#define SNAP_SECTOR 8            /* wtest.sector default */
#define IMG_SECTORS 2048         /* 1 MiB drives */
#define ETH_P_WTEST 0x88b5

/* Temporary files: one directory for the whole run, made and removed by
 * the parent process (so a failed test, whose process ends at the failed
 * assertion without its teardown, leaves nothing behind either), and one
 * inside it per test. */
static char base_dir[64];
static char tdir_buf[96];
static const char *tdir;
static char ns[64];
static char small_mount[300];   /* the tmpfs of the ENOSPC test, while mounted */
static struct timespec t_start;

static void setup(void)
{
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	snprintf(tdir_buf, sizeof(tdir_buf), "%s/tXXXXXX", base_dir);
	ck_assert_msg(mkdtemp(tdir_buf) != NULL, "mkdtemp %s: %s", tdir_buf, strerror(errno));
	tdir = tdir_buf;
}

static void remove_tree(const char *dir)
{
	const char *argv[] = { "/bin/rm", "-rf", "--one-file-system", dir, NULL };

	if (dir && dir[0])
		it_run(argv);
}

static void teardown(void)
{
	struct timespec t;

	/* For the record (not asserted): how long the test took. */
	clock_gettime(CLOCK_MONOTONIC, &t);
	printf("test took %ld ms\n", (long)((t.tv_sec - t_start.tv_sec) * 1000 +
					   (t.tv_nsec - t_start.tv_nsec) / 1000000));
	fflush(stdout);
	if (small_mount[0])
		umount2(small_mount, MNT_DETACH);
	small_mount[0] = 0;
	if (ns[0])
		netns_delete(ns);
	ns[0] = 0;
	remove_tree(tdir);
	tdir = NULL;
}

static void tcase_setup(void)
{
	snprintf(base_dir, sizeof(base_dir), "/tmp/wisp-it-snapshot-XXXXXX");
	if (!mkdtemp(base_dir)) {
		perror("mkdtemp");
		abort();
	}
}

static void tcase_teardown(void)
{
	remove_tree(base_dir);
	netns_delete_stale();
}

static char *tmp_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tdir, name) < 0)
		abort();
	return p;
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

/* ---------------- processes ---------------- */

/* Read whatever the process has written so far (nothing is expected). */
static void drain(struct wisp *w, int ms)
{
	proc_wait_for(&w->p, "\x01never", ms);
}

/* build/wisp --api-sock <tmp>/<sockname> (inside netns `in_ns` when not
 * NULL), its stdin open: it is the guest's serial input. */
static void wisp_start(struct wisp *w, const char *sockname, const char *in_ns)
{
	char *sock = tmp_path(sockname);
	char id[32];

	/* The socket's name without ".sock" is the VM's id. */
	snprintf(id, sizeof(id), "%.*s", (int)strcspn(sockname, "."), sockname);
	wisp_spawn(w, sock, id, in_ns);
	free(sock);
}

/* SIGKILL, as a crash or an impatient platform would. */
static void wisp_kill(struct wisp *w)
{
	proc_signal(&w->p, SIGKILL);
	ck_assert(proc_finish(&w->p, 10000));
	ck_assert_int_eq(w->p.status, 128 + SIGKILL);
}

#define WAIT_FOR(w, needle)                                                                   \
	ck_assert_msg(proc_wait_for(&(w)->p, needle, GUEST_MS),                               \
		      "no \"%s\"\nstdout:\n%s\nstderr:\n%s", needle, (w)->p.out.data,           \
		      (w)->p.err.data)

static void assert_state(struct wisp *w, const char *state)
{
	char *want = xasprintf("\"state\":\"%s\"", state);

	CALL(w, "GET", "/", NULL, 200);
	ck_assert_msg(strstr(w->c.body, want), "GET /: %s, want %s", w->c.body, want);
	free(want);
}

/* ---------------- configuration ---------------- */

static void put_boot(struct wisp *w, const char *args, int vcpus)
{
	char *b = xasprintf("{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}",
			    build_path("wisp-testguest"), args);

	CALL(w, "PUT", "/boot-source", b, 204);
	free(b);
	b = xasprintf("{\"vcpu_count\": %d, \"mem_size_mib\": %d}", vcpus, GUEST_MIB);
	CALL(w, "PUT", "/machine-config", b, 204);
	free(b);
}

static void put_drive(struct wisp *w, const char *id, const char *path, const char *engine)
{
	char *p = xasprintf("/drives/%s", id);
	char *b = xasprintf("{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", \"is_root_device\": "
			    "false, \"is_read_only\": false, \"io_engine\": \"%s\"}", id, path,
			    engine);

	CALL(w, "PUT", p, b, 204);
	free(p);
	free(b);
}

static void put_net(struct wisp *w, const char *iface, const char *tap, const char *mac)
{
	char *p = xasprintf("/network-interfaces/%s", iface);
	char *b = xasprintf("{\"iface_id\": \"%s\", \"host_dev_name\": \"%s\", \"guest_mac\": "
			    "\"%s\"}", iface, tap, mac);

	CALL(w, "PUT", p, b, 204);
	free(p);
	free(b);
}

static void start_vm(struct wisp *w)
{
	CALL(w, "PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", 204);
}

/* ---------------- snapshot files ---------------- */

struct snapfiles {
	char *dir, *state, *mem;
};

static void snapfiles_init(struct snapfiles *f, const char *sub)
{
	f->dir = tmp_path(sub);
	ck_assert_int_eq(mkdir(f->dir, 0700), 0);
	f->state = xasprintf("%s/vm.state", f->dir);
	f->mem = xasprintf("%s/vm.mem", f->dir);
}

static void snapfiles_free(struct snapfiles *f)
{
	free(f->dir);
	free(f->state);
	free(f->mem);
}

static char *create_body(const char *state, const char *mem, const char *type)
{
	return xasprintf("{\"snapshot_type\": \"%s\", \"snapshot_path\": \"%s\", "
			 "\"mem_file_path\": \"%s\"}", type, state, mem);
}

/* Pause, read everything the guest printed, create the snapshot. */
static void pause_and_create(struct wisp *w, const struct snapfiles *f)
{
	char *b = create_body(f->state, f->mem, "Full");

	CALL(w, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	drain(w, 200);
	CALL(w, "PUT", "/snapshot/create", b, 204);
	free(b);
	assert_state(w, "Paused");
}

static char *load_body(const char *state, const char *mem, bool resume, const char *more)
{
	return xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"File\", "
			 "\"backend_path\": \"%s\"}, \"resume_vm\": %s%s%s}", state, mem,
			 resume ? "true" : "false", more ? ", " : "", more ? more : "");
}

static void load(struct wisp *w, const struct snapfiles *f, bool resume, const char *more)
{
	char *b = load_body(f->state, f->mem, resume, more);

	CALL(w, "PUT", "/snapshot/load", b, 204);
	free(b);
}

/* ---------------- console checks ---------------- */

/*
 * The numbered lines `<prefix><n>` of the old process's console followed by
 * the new one's (a line cut by the pause continues in the new process) are
 * exactly 1, 2, 3, ...; the new process printed at least `min_new` of them.
 * Returns the last number before the snapshot.
 */
static long assert_numbering(const char *old_out, const char *new_out, const char *prefix,
			     int min_new)
{
	size_t ol = strlen(old_out), pl = strlen(prefix);
	char *all = xasprintf("%s%s", old_out, new_out);
	long prev = 0, last_old = -1, first_new = -1;
	int n_new = 0;
	size_t pos = 0;

	while (all[pos]) {
		char *nl = strchr(all + pos, '\n');
		size_t end = nl ? (size_t)(nl - all) : strlen(all);
		size_t len = end - pos;
		char line[64];

		if (!nl)
			break;  /* an unfinished last line */
		if (len < sizeof(line)) {
			char *e;
			long n;

			memcpy(line, all + pos, len);
			line[len] = 0;
			if (len && line[len - 1] == '\r')
				line[len - 1] = 0;
			if (!strncmp(line, prefix, pl) && line[pl] >= '0' && line[pl] <= '9') {
				n = strtol(line + pl, &e, 10);
				if (!*e) {
					if (n != prev + 1)
						ck_abort_msg("%s%ld follows %s%ld\nold console:\n%s\n"
							     "new console:\n%s", prefix, n, prefix, prev,
							     old_out, new_out);
					prev = n;
					if (end < ol) {
						last_old = n;
					} else {
						if (first_new < 0)
							first_new = n;
						n_new++;
					}
				}
			}
		}
		pos = end + 1;
	}
	ck_assert_msg(last_old > 0 && n_new >= min_new,
		      "%d %slines after the load (want %d), last before it %ld\nold console:\n%s\n"
		      "new console:\n%s", n_new, prefix, min_new, last_old, old_out, new_out);
	if (n_new)
		printf("numbering: %s%ld last before the snapshot, %s%ld first after the load, %d "
		       "after it\n", prefix, last_old, prefix, first_new, n_new);
	free(all);
	return last_old;
}

/* Echo, `V`, the guest's own check, PASS and a clean exit 0; no second
 * boot; the SNAP numbering continues. `old_out` is the console of the
 * process that took the snapshot. */
static void verify_restored_snap_guest(struct wisp *w, const char *old_out)
{
	ck_assert_int_eq(proc_send(&w->p, "x", 1), 0);
	WAIT_FOR(w, "Ex\r");
	ck_assert_int_eq(proc_send(&w->p, "V", 1), 0);
	WAIT_FOR(w, "WTEST snap ");
	ck_assert_msg(proc_finish(&w->p, GUEST_MS), "wisp did not exit after the check");
	ck_assert_msg(strstr(w->p.out.data, "WTEST snap PASS") && w->p.status == 0,
		      "status %d\nold console:\n%s\nnew console:\n%s\nstderr:\n%s", w->p.status,
		      old_out, w->p.out.data, w->p.err.data);
	ck_assert_int_eq(count_substr(w->p.out.data, "WTEST snap "), 1);
	ck_assert_msg(!strstr(w->p.out.data, "SNAP boot") && !strstr(w->p.out.data, "scenario="),
		      "the restored guest booted again:\n%s", w->p.out.data);
	ck_assert_int_eq(count_substr(old_out, "SNAP boot"), 1);
	ck_assert_ptr_nonnull(strstr(w->p.out.data, "SNAP check memory ok"));
	ck_assert_ptr_nonnull(strstr(w->p.out.data, "SNAP check timer ok"));
	/* The check takes several 100 ms lines: at least one after the load. */
	assert_numbering(old_out, w->p.out.data, "SNAP ", 1);
	ASSERT_CLEAN(&w->p);
}

/* Boot `snap` through the API (configure() adds drives and nics) and wait
 * until its loop runs (its second SNAP line). */
static void boot_snap(struct wisp *w, const char *args, int vcpus,
		      void (*configure)(struct wisp *, void *), void *arg)
{
	char *full = xasprintf("wtest=snap %s", args);

	put_boot(w, full, vcpus);
	if (configure)
		configure(w, arg);
	start_vm(w);
	WAIT_FOR(w, "SNAP 2\r");
	free(full);
}

/* The whole of a file, hashed (FNV-1a over 8-byte words), and its mtime. */
struct file_id {
	uint64_t hash;
	off_t size;
	struct timespec mtime;
};

static struct file_id file_identity(const char *path)
{
	struct file_id id = { .hash = 0xcbf29ce484222325ull };
	static uint64_t buf[1 << 17];
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	id.size = st.st_size;
	id.mtime = st.st_mtim;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t words = (size_t)n / 8;

		for (size_t i = 0; i < words; i++)
			id.hash = (id.hash ^ buf[i]) * 0x100000001b3ull;
		for (size_t i = words * 8; i < (size_t)n; i++)
			id.hash = (id.hash ^ ((uint8_t *)buf)[i]) * 0x100000001b3ull;
	}
	ck_assert_int_eq(n, 0);
	close(fd);
	return id;
}

static void assert_same_file(const char *path, struct file_id a)
{
	struct file_id b = file_identity(path);

	ck_assert_msg(a.hash == b.hash && a.size == b.size, "%s changed (size %lld -> %lld)", path,
		      (long long)a.size, (long long)b.size);
	ck_assert_msg(a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec,
		      "%s: mtime changed", path);
}

/* Names in a directory (not . and ..), joined by spaces. */
static char *dir_list(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *out = strdup("");

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char *n;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n = xasprintf("%s%s%s", out, *out ? " " : "", e->d_name);
		free(out);
		out = n;
	}
	closedir(d);
	return out;
}

static void assert_dir_empty(const char *dir)
{
	char *l = dir_list(dir);

	ck_assert_msg(!*l, "%s holds: %s", dir, l);
	free(l);
}

/* ---------------- guest patterns (tests/guest/README.md) ---------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* Sectors [SNAP_SECTOR, +4) hold the snap scenario's disk generation g
 * (seed 1), every other sector the host pattern. */
static void assert_snap_disk(const char *path, int g)
{
	uint64_t base = 1 * 0x9e3779b97f4a7c15ull;
	uint8_t sec[IT_SECTOR];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	/* (Check's assertions are not for inner loops: each one is a message
	 * to the parent process. Compare first, assert on a difference.) */
	for (uint64_t s = 0; s < IMG_SECTORS; s++) {
		bool guest = g >= 0 && s >= SNAP_SECTOR && s < SNAP_SECTOR + 4;

		if (pread(fd, sec, sizeof(sec), (off_t)(s * IT_SECTOR)) != IT_SECTOR)
			ck_abort_msg("%s: short read at sector %llu", path, (unsigned long long)s);
		for (unsigned j = 0; j < IT_SECTOR; j++) {
			uint8_t want;

			if (guest) {
				uint64_t w = mix64(base + ((uint64_t)(g + 1) << 40) + s * 64 + j / 8);

				want = (uint8_t)(w >> (8 * (j % 8)));
			} else {
				want = it_host_byte(s, j);
			}
			if (sec[j] != want)
				ck_abort_msg("%s: sector %llu byte %u is 0x%02x, expected 0x%02x (%s)",
					     path, (unsigned long long)s, j, sec[j], want,
					     guest ? "snap generation" : "host pattern");
		}
	}
	close(fd);
}

static char *make_image(const char *name)
{
	char *p = tmp_path(name);

	ck_assert_int_eq(image_create(p, IMG_SECTORS), 0);
	return p;
}

/* ---------------- network ---------------- */

static void make_ns(void)
{
	ck_assert_msg(netns_create(ns, sizeof(ns)) == 0, "cannot create a network namespace");
}

static void add_tap(const char *tap, const char *cidr)
{
	ck_assert_msg(netns_add_tap(ns, tap, cidr) == 0, "cannot add %s to %s", tap, ns);
}

static void del_tap(const char *tap)
{
	const char *argv[] = { "/usr/sbin/ip", "-n", ns, "link", "del", tap, NULL };

	if (access(argv[0], X_OK) != 0)
		argv[0] = "/sbin/ip";
	ck_assert_int_eq(it_run(argv), 0);
}

/* ================================================================== */
/* 1. boot, pause, create, SIGKILL, load with resume_vm in a new process */
/* ================================================================== */

/* _i: 1 vCPU; 2 vCPUs with a spinning AP (running at snapshot time); 2
 * vCPUs with an AP halted between its own LAPIC timer interrupts. */
START_TEST(restored_guest_continues_where_it_was)
{
	int vcpus = _i ? 2 : 1;
	struct wisp a, b;
	struct snapfiles f;

	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, _i == 2 ? "wtest.mib=8 wtest.ap=tick" : "wtest.mib=8 wtest.ap=spin", vcpus,
		  NULL, NULL);
	pause_and_create(&a, &f);
	wisp_kill(&a);

	wisp_start(&b, "b.sock", NULL);
	assert_state(&b, "Not started");
	/* track_dirty_pages with 2 vCPUs: accepted, and the machine says so. */
	load(&b, &f, true, vcpus == 2 ? "\"track_dirty_pages\": true" : NULL);
	assert_state(&b, "Running");
	CALL(&b, "GET", "/machine-config", NULL, 200);
	ck_assert_msg(strstr(b.c.body, vcpus == 2 ? "\"vcpu_count\":2" : "\"vcpu_count\":1") &&
			      strstr(b.c.body, "\"mem_size_mib\":128") &&
			      strstr(b.c.body, vcpus == 2 ? "\"track_dirty_pages\":true"
							  : "\"track_dirty_pages\":false"),
		      "GET /machine-config after the load: %s", b.c.body);
	verify_restored_snap_guest(&b, a.p.out.data);
	if (vcpus == 2)
		ck_assert_msg(strstr(b.p.out.data, "SNAP check ap ok 1"), "%s", b.p.out.data);
	ck_assert_msg(strstr(b.p.err.data, "VM loaded from snapshot"), "%s", b.p.err.data);
	wisp_free(&a);
	wisp_free(&b);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 2. resume_vm false, GET / Paused, GET /vm/config, PATCH Resumed     */
/* ================================================================== */

struct devs {
	const char *drive;          /* NULL: none */
	const char *engine;
	const char *drive2;         /* a second drive, NULL: none */
	const char *engine2;
	const char *tap;            /* NULL: no nic */
};

static void configure_devs(struct wisp *w, void *arg)
{
	const struct devs *d = arg;

	if (d->drive)
		put_drive(w, "d0", d->drive, d->engine);
	if (d->drive2)
		put_drive(w, "d1", d->drive2, d->engine2);
	if (d->tap)
		put_net(w, "eth0", d->tap, "06:00:0a:c8:01:02");
}

START_TEST(load_paused_then_resume_with_the_snapshot_config)
{
	struct wisp a, b;
	struct snapfiles f;
	char *img = make_image("d0.img"), *doc;
	struct devs d = { .drive = img, .engine = "Sync", .tap = "wsA" };
	json_t *ja, *jb;
	json_error_t e;
	uint64_t frames = 0, bytes = 0;
	int pfd;

	make_ns();
	add_tap("wsA", NULL);
	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", ns);
	boot_snap(&a, "wtest.mib=8", 1, configure_devs, &d);
	CALL(&a, "GET", "/vm/config", NULL, 200);
	doc = strdup(a.c.body);
	pause_and_create(&a, &f);
	wisp_kill(&a);
	/* Generation 0 was written at boot. */
	assert_snap_disk(img, 0);

	pfd = netns_packet_socket(ns, "wsA", ETH_P_WTEST);
	ck_assert_msg(pfd >= 0, "packet socket: %s", strerror(-pfd));
	wisp_start(&b, "b.sock", ns);
	load(&b, &f, false, NULL);
	assert_state(&b, "Paused");
	CALL(&b, "GET", "/vm/config", NULL, 200);
	ja = json_loads(doc, 0, &e);
	jb = json_loads(b.c.body, 0, &e);
	ck_assert(ja && jb);
	ck_assert_ptr_nonnull(json_object_get(jb, "boot-source"));
	ck_assert_ptr_nonnull(json_object_get(jb, "machine-config"));
	ck_assert_int_eq(json_array_size(json_object_get(jb, "drives")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(jb, "network-interfaces")), 1);
	ck_assert_msg(json_equal(ja, jb), "GET /vm/config differs after the load:\nbefore: %s\n"
		      "after:  %s", doc, b.c.body);
	/* Paused means paused: the guest prints nothing. */
	drain(&b, 300);
	ck_assert_msg(!strstr(b.p.out.data, "SNAP"), "output while paused:\n%s", b.p.out.data);
	CALL(&b, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	assert_state(&b, "Running");
	verify_restored_snap_guest(&b, a.p.out.data);
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check blk ok"));
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check net ok"));
	/* What the restored guest did reached the host: generation 1 on the
	 * disk, its broadcast frame on the tap. */
	assert_snap_disk(img, 1);
	packet_count(pfd, 300, &frames, &bytes);
	ck_assert_msg(frames == 1, "%llu frames from the restored guest on wsA",
		      (unsigned long long)frames);
	close(pfd);
	json_decref(ja);
	json_decref(jb);
	free(doc);
	free(img);
	wisp_free(&a);
	wisp_free(&b);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 3. the same files restored twice at once                           */
/* ================================================================== */

START_TEST(same_snapshot_restored_twice_at_once)
{
	struct wisp a, b, c;
	struct snapfiles f;
	struct file_id mem_id, state_id;

	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, "wtest.mib=8", 1, NULL, NULL);
	pause_and_create(&a, &f);
	wisp_kill(&a);
	mem_id = file_identity(f.mem);
	state_id = file_identity(f.state);

	wisp_start(&b, "b.sock", NULL);
	wisp_start(&c, "c.sock", NULL);
	load(&b, &f, true, NULL);
	load(&c, &f, true, NULL);
	/* Both run at once: each echoes, then each checks itself. */
	ck_assert_int_eq(proc_send(&b.p, "x", 1), 0);
	ck_assert_int_eq(proc_send(&c.p, "x", 1), 0);
	WAIT_FOR(&b, "Ex\r");
	WAIT_FOR(&c, "Ex\r");
	verify_restored_snap_guest(&b, a.p.out.data);
	verify_restored_snap_guest(&c, a.p.out.data);
	assert_same_file(f.mem, mem_id);
	assert_same_file(f.state, state_id);
	wisp_free(&a);
	wisp_free(&b);
	wisp_free(&c);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 4. network_overrides: the restored nic on another tap               */
/* ================================================================== */

START_TEST(network_override_moves_the_nic_to_another_tap)
{
	struct wisp a, b;
	struct snapfiles f;
	struct devs d = { .tap = "wsA" };
	json_t *j;
	json_error_t e;
	const char *host_dev;
	int got;

	make_ns();
	add_tap("wsA", "10.201.1.1/24");
	add_tap("wsB", "10.201.2.1/24");
	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", ns);
	/* The guest's address is on tap B's subnet: only B can reach it. */
	boot_snap(&a, "wtest.mib=8 wtest.ip=10.201.2.2 wtest.pings=3", 1, configure_devs, &d);
	pause_and_create(&a, &f);
	wisp_kill(&a);
	del_tap("wsA");          /* the snapshot's tap is gone for good */

	wisp_start(&b, "b.sock", ns);
	load(&b, &f, true,
	     "\"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"wsB\"}]");
	CALL(&b, "GET", "/vm/config", NULL, 200);
	j = json_loads(b.c.body, 0, &e);
	ck_assert_ptr_nonnull(j);
	host_dev = json_string_value(json_object_get(
		json_array_get(json_object_get(j, "network-interfaces"), 0), "host_dev_name"));
	ck_assert_msg(host_dev && !strcmp(host_dev, "wsB"), "%s", b.c.body);
	json_decref(j);
	ck_assert_int_eq(proc_send(&b.p, "V", 1), 0);
	WAIT_FOR(&b, "snap: answering ARP and ICMP echo for 10.201.2.2");
	got = netns_ping(ns, "10.201.2.2", 3, 13, 200, 2000);
	ck_assert_msg(got == 3, "%d of 3 echo replies through wsB\nstdout:\n%s\nstderr:\n%s", got,
		      b.p.out.data, b.p.err.data);
	ck_assert(proc_finish(&b.p, GUEST_MS));
	ck_assert_msg(strstr(b.p.out.data, "SNAP check net ok") &&
			      strstr(b.p.out.data, "WTEST snap PASS") && b.p.status == 0,
		      "status %d\n%s\n%s", b.p.status, b.p.out.data, b.p.err.data);
	ck_assert_ptr_null(strstr(b.p.out.data, "SNAP boot"));
	assert_numbering(a.p.out.data, b.p.out.data, "SNAP ", 1);
	ASSERT_CLEAN(&b.p);
	wisp_free(&a);
	wisp_free(&b);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 5. refusals                                                         */
/* ================================================================== */

/* A copy of src at dst with `edit` applied to its bytes. */
static char *edited_copy(const char *src, const char *name, void (*edit)(uint8_t *, size_t *))
{
	size_t len;
	uint8_t *buf = read_whole_file(src, &len);
	char *p;
	int fd;

	ck_assert_ptr_nonnull(buf);
	edit(buf, &len);
	p = tmp_path(name);
	fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	free(buf);
	return p;
}

static void edit_magic(uint8_t *b, size_t *len)
{
	b[0] ^= 0x20;           /* "WWISPx64" -> "wWISPx64" */
}

static void edit_flip(uint8_t *b, size_t *len)
{
	b[*len / 2] ^= 0x01;    /* inside some section */
}

static void edit_truncate(uint8_t *b, size_t *len)
{
	*len -= 16;
}

static void edit_major(uint8_t *b, size_t *len)
{
	b[8] = 2;               /* major 1 -> 2, CRC left as it is */
	b[9] = 0;
}

static void edit_minor(uint8_t *b, size_t *len)
{
	b[10] = 2;              /* minor 1 -> 2 */
	b[11] = 0;
}

static void edit_tiny(uint8_t *b, size_t *len)
{
	*len = 20;
}

/* A load of `state` with `mem` refused with `msg`; the process is left
 * as it was (not started, nothing configured). */
static void load_refused2(struct wisp *w, const char *state, const char *mem, const char *more,
			  const char *msg, const char *also)
{
	char *b = load_body(state, mem, true, more);

	FAULT(w, "PUT", "/snapshot/load", b, msg);
	ck_assert_msg(strstr(w->c.body, "Load snapshot error: "), "%s", w->c.body);
	ck_assert_msg(!also || strstr(w->c.body, also), "%s: no \"%s\"", w->c.body, also);
	printf("refused: %s\n", w->c.body);
	free(b);
	assert_state(w, "Not started");
	ck_assert_msg(!w->p.exited && !strstr(w->p.out.data, "SNAP"), "status %d\n%s\n%s",
		      w->p.status, w->p.out.data, w->p.err.data);
}

static void load_refused(struct wisp *w, const char *state, const char *mem, const char *more,
			 const char *msg)
{
	load_refused2(w, state, mem, more, msg, NULL);
}

START_TEST(damaged_inputs_are_refused_and_a_valid_load_still_works)
{
	struct wisp a, b;
	struct snapfiles f;
	char *img = make_image("d0.img"), *away = tmp_path("d0.img.away");
	struct devs d = { .drive = img, .engine = "Sync", .tap = "wsA" };
	char *missing = tmp_path("snap/no-such.state"), *p, *msg, *body;
	char *short_mem = tmp_path("short.mem"), *diff_state = tmp_path("snap/diff.state");
	char *diff_mem = tmp_path("snap/diff.mem");
	size_t slen;
	void *sbuf;
	int fd;

	make_ns();
	add_tap("wsA", NULL);
	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", ns);
	boot_snap(&a, "wtest.mib=8", 1, configure_devs, &d);

	/* Create-side refusals on the booted VM. */
	body = create_body(f.state, f.mem, "Full");
	FAULT(&a, "PUT", "/snapshot/create", body, "save/restore unavailable while running");
	assert_state(&a, "Running");
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	p = create_body(diff_state, diff_mem, "Diff");
	/* Diff without dirty page tracking: Firecracker's refusal. */
	FAULT(&a, "PUT", "/snapshot/create", p,
	      "Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
	free(p);
	assert_dir_empty(f.dir);
	assert_state(&a, "Paused");
	drain(&a, 200);
	CALL(&a, "PUT", "/snapshot/create", body, 204);
	free(body);
	wisp_kill(&a);
	sbuf = read_whole_file(f.state, &slen);
	ck_assert_ptr_nonnull(sbuf);
	free(sbuf);

	wisp_start(&b, "b.sock", ns);
	/* Missing state file: the message names the path. */
	msg = xasprintf("snapshot_path: cannot open %s: No such file or directory", missing);
	load_refused(&b, missing, f.mem, NULL, msg);
	free(msg);
	/* Another magic. */
	p = edited_copy(f.state, "magic.state", edit_magic);
	load_refused(&b, p, f.mem, NULL, "not a wisp x86_64 snapshot (magic 0x3436785053495777)");
	free(p);
	/* One flipped bit: the CRC (both values given). */
	p = edited_copy(f.state, "flip.state", edit_flip);
	load_refused2(&b, p, f.mem, NULL, "snapshot CRC mismatch: the file says 0x",
		      ", its contents give 0x");
	free(p);
	/* Truncated: the header's length says so first. */
	p = edited_copy(f.state, "trunc.state", edit_truncate);
	msg = xasprintf("snapshot header says the file is %zu bytes, but it is %zu (truncated or "
			"extended)", slen, slen - 16);
	load_refused(&b, p, f.mem, NULL, msg);
	free(msg);
	free(p);
	p = edited_copy(f.state, "tiny.state", edit_tiny);
	load_refused(&b, p, f.mem, NULL, "snapshot is 20 bytes, shorter than a header and CRC");
	free(p);
	/* Versions: checked before the CRC (the layout of another version is
	 * unknown), so the message is the version one although the CRC no
	 * longer matches; it names both versions. */
	p = edited_copy(f.state, "major.state", edit_major);
	load_refused(&b, p, f.mem, NULL, "snapshot format version 2.1, this wisp reads 1.1");
	free(p);
	p = edited_copy(f.state, "minor.state", edit_minor);
	load_refused(&b, p, f.mem, NULL, "snapshot format version 1.2, this wisp reads 1.1");
	free(p);
	/* A memory file shorter than the guest's RAM. */
	fd = open(short_mem, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 64 * MIB), 0);
	close(fd);
	msg = xasprintf("mem_backend.backend_path: %s is %llu bytes, the snapshot's guest has %llu "
			"bytes of memory", short_mem, 64 * MIB, GUEST_MIB * MIB);
	load_refused(&b, f.state, short_mem, NULL, msg);
	free(msg);
	msg = xasprintf("mem_backend.backend_path: cannot open %s/none.mem", f.dir);
	p = xasprintf("%s/none.mem", f.dir);
	load_refused(&b, f.state, p, NULL, msg);
	free(p);
	free(msg);
	/* The drive's file is gone. */
	ck_assert_int_eq(rename(img, away), 0);
	msg = xasprintf("drive 'd0': cannot open '%s' read-write: No such file or directory", img);
	load_refused(&b, f.state, f.mem, NULL, msg);
	free(msg);
	ck_assert_int_eq(rename(away, img), 0);
	/* The tap is gone. */
	del_tap("wsA");
	load_refused(&b, f.state, f.mem, NULL, "network interface 'eth0': tap 'wsA' does not exist");
	/* ... and an override to a tap that does not exist either. */
	load_refused(&b, f.state, f.mem,
		     "\"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"wsNone\"}]",
		     "tap 'wsNone' does not exist");
	add_tap("wsA", NULL);
	/* An override for an interface the snapshot does not have. */
	load_refused(&b, f.state, f.mem,
		     "\"network_overrides\": [{\"iface_id\": \"eth9\", \"host_dev_name\": \"wsA\"}]",
		     "network_overrides: the snapshot has no network interface 'eth9'");
	/* The Uffd backend with no page-fault handler listening: refused
	 * with a mem_backend message (while Uffd is not implemented, "Uffd
	 * is not supported"; once it is, "cannot connect to the page-fault
	 * handler at <path>"), and the process stays as it was. */
	p = xasprintf("{\"snapshot_path\": \"%s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
		      "\"backend_path\": \"%s/uffd.sock\"}}", f.state, tdir);
	FAULT(&b, "PUT", "/snapshot/load", p, "(mem_backend.backend_path: cannot connect");
	printf("refused: %s\n", b.c.body);
	free(p);
	assert_state(&b, "Not started");

	/* After all of that, the same process takes the valid snapshot. */
	load(&b, &f, true, NULL);
	verify_restored_snap_guest(&b, a.p.out.data);
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check blk ok"));
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check net ok"));
	assert_snap_disk(img, 1);
	wisp_free(&a);
	wisp_free(&b);
	free(img);
	free(away);
	free(missing);
	free(short_mem);
	free(diff_state);
	free(diff_mem);
	snapfiles_free(&f);
}
END_TEST

/* Firecracker's rules without a VM: create before boot; load after a
 * boot-specific PUT (logger first is fine). */
START_TEST(create_before_boot_and_load_after_configuring_are_refused)
{
	struct wisp w;
	char *st = tmp_path("vm.state"), *mem = tmp_path("vm.mem");
	char *c = create_body(st, mem, "Full"), *l = load_body(st, mem, true, NULL);
	char *log = tmp_path("wisp.log"), *lb;

	wisp_start(&w, "a.sock", NULL);
	FAULT(&w, "PUT", "/snapshot/create", c, NOT_BEFORE);
	ck_assert_int_ne(access(st, F_OK), 0);
	ck_assert_int_ne(access(mem, F_OK), 0);
	lb = xasprintf("{\"log_path\": \"%s\", \"level\": \"Info\"}", log);
	CALL(&w, "PUT", "/logger", lb, 204);
	/* The logger does not count as configuring: the load gets as far as
	 * the (missing) file. */
	FAULT(&w, "PUT", "/snapshot/load", l, "snapshot_path: cannot open");
	CALL(&w, "PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", 204);
	FAULT(&w, "PUT", "/snapshot/load", l, "Load snapshot error: " LOAD_AFTER_CONFIG);
	assert_state(&w, "Not started");
	wisp_free(&w);

	wisp_start(&w, "b.sock", NULL);
	put_boot(&w, "wtest=hello", 1);
	FAULT(&w, "PUT", "/snapshot/load", l, LOAD_AFTER_CONFIG);
	wisp_free(&w);
	free(st);
	free(mem);
	free(c);
	free(l);
	free(lb);
	free(log);
}
END_TEST

/* ================================================================== */
/* 6. a failed create loses nothing                                    */
/* ================================================================== */

START_TEST(failed_create_leaves_nothing_and_the_vm_resumes)
{
	struct wisp a;
	struct snapfiles ok;
	char *small = tmp_path("small"), *st, *mem, *b, *nodir, *msg;

	/* A 16 MiB tmpfs in a mount namespace of this test process (and of
	 * the wisp it starts): it goes away with them. */
	ck_assert_msg(unshare(CLONE_NEWNS) == 0, "unshare: %s", strerror(errno));
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	ck_assert_int_eq(mkdir(small, 0700), 0);
	ck_assert_msg(mount("wisp-it-small", small, "tmpfs", 0, "size=16m,mode=0700") == 0,
		      "mount tmpfs: %s", strerror(errno));
	snprintf(small_mount, sizeof(small_mount), "%s", small);
	snapfiles_init(&ok, "snap");
	st = xasprintf("%s/vm.state", small);
	mem = xasprintf("%s/vm.mem", small);

	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, "wtest.mib=64", 1, NULL, NULL);
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	drain(&a, 200);

	/* ENOSPC while writing 64 MiB of RAM into 16 MiB. */
	b = create_body(st, mem, "Full");
	msg = xasprintf("cannot write %s: No space left on device", mem);
	FAULT(&a, "PUT", "/snapshot/create", b, msg);
	free(msg);
	free(b);
	assert_dir_empty(small);
	assert_state(&a, "Paused");

	/* A directory that does not exist: for the state file, then for the
	 * memory file (the state file's temporary is removed again). */
	nodir = tmp_path("no-such-dir/vm.state");
	b = create_body(nodir, ok.mem, "Full");
	msg = xasprintf("cannot create a temporary file for %s: No such file or directory", nodir);
	FAULT(&a, "PUT", "/snapshot/create", b, msg);
	free(msg);
	free(b);
	free(nodir);
	nodir = tmp_path("no-such-dir/vm.mem");
	b = create_body(ok.state, nodir, "Full");
	msg = xasprintf("cannot create a temporary file for %s: No such file or directory", nodir);
	FAULT(&a, "PUT", "/snapshot/create", b, msg);
	free(msg);
	free(b);
	free(nodir);
	assert_dir_empty(ok.dir);
	assert_state(&a, "Paused");
	/* The same VM still snapshots where there is room. */
	b = create_body(ok.state, ok.mem, "Full");
	CALL(&a, "PUT", "/snapshot/create", b, 204);
	free(b);
	ck_assert_int_eq(access(ok.state, F_OK), 0);
	ck_assert_int_eq(access(ok.mem, F_OK), 0);

	/* Nothing was lost: the guest resumes and checks itself. */
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	ck_assert_int_eq(proc_send(&a.p, "V", 1), 0);
	WAIT_FOR(&a, "WTEST snap ");
	ck_assert(proc_finish(&a.p, GUEST_MS));
	ASSERT_PASS(&a.p, "snap");
	ck_assert_ptr_nonnull(strstr(a.p.out.data, "SNAP check memory ok 64 MiB"));
	assert_dir_empty(small);
	ck_assert_int_eq(umount2(small, MNT_DETACH), 0);
	small_mount[0] = 0;
	wisp_free(&a);
	free(st);
	free(mem);
	free(small);
	snapfiles_free(&ok);
}
END_TEST

/* ================================================================== */
/* 7. drives across a snapshot                                         */
/* ================================================================== */

static const char *const engines[] = { "Sync", "Async" };

/* Two drives, Sync and Async; the guest's disk check runs on drive _i
 * after the restore. The other drive is untouched. */
START_TEST(sync_and_async_drives_work_across_a_snapshot)
{
	struct wisp a, b;
	struct snapfiles f;
	char *i0 = make_image("d0.img"), *i1 = make_image("d1.img");
	struct devs d = { .drive = i0, .engine = "Sync", .drive2 = i1, .engine2 = "Async" };
	char args[64], want[96];

	snapfiles_init(&f, "snap");
	snprintf(args, sizeof(args), "wtest.mib=8 wtest.blk=%d", _i);
	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, args, 1, configure_devs, &d);
	snprintf(want, sizeof(want), "snap: blk device %d at 0xc000%d000", _i, _i + 1);
	ck_assert_msg(strstr(a.p.out.data, want), "no \"%s\":\n%s", want, a.p.out.data);
	pause_and_create(&a, &f);
	wisp_kill(&a);
	wisp_start(&b, "b.sock", NULL);
	load(&b, &f, true, NULL);
	verify_restored_snap_guest(&b, a.p.out.data);
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check blk ok"));
	assert_snap_disk(_i ? i1 : i0, 1);
	assert_snap_disk(_i ? i0 : i1, -1);
	wisp_free(&a);
	wisp_free(&b);
	free(i0);
	free(i1);
	snapfiles_free(&f);
}
END_TEST

/* block.<key> of the last metrics line in path (-1: none). */
static long long metrics_block(const char *path, const char *key)
{
	size_t len;
	char *text = read_whole_file(path, &len), *last, *nl;
	json_t *j, *v;
	json_error_t e;
	long long r = -1;

	if (!text)
		return -1;
	text = realloc(text, len + 1);
	text[len] = 0;
	while (len && text[len - 1] == '\n')
		text[--len] = 0;
	nl = strrchr(text, '\n');
	last = nl ? nl + 1 : text;
	j = json_loads(last, 0, &e);
	v = j ? json_object_get(json_object_get(j, "block"), key) : NULL;
	if (json_is_integer(v))
		r = json_integer_value(v);
	json_decref(j);
	free(text);
	return r;
}

/* blk-bench keeps 32 requests posted on drive 0 (_i: Sync engine with
 * random reads, Async (io_uring) engine with sequential writes); the
 * snapshot is taken in the middle, after thousands of requests. After the
 * restore every request completes with status OK (the guest pre-sets
 * 0xff, so a completion lost between the device and the saved RAM fails;
 * a lost used element stalls the drain: FAIL after 10 s), the bench ends
 * normally, and the guest's count of completions is exactly what the old
 * device served before the snapshot plus what the new one served after
 * (metrics): nothing lost, nothing done twice. */
START_TEST(snapshot_with_requests_in_flight)
{
	struct wisp a, b;
	struct snapfiles f;
	char *img = tmp_path("bench.img"), *drive;
	int fd = open(img, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	const char *mode = _i ? "seqwrite" : "randread";
	const char *key = _i ? "write_count" : "read_count", *line, *ops;
	char args[160], *mbody, *m_old = tmp_path("m_old.json"), *m_new = tmp_path("m_new.json");
	long long done_old, done_new;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 16 * MIB), 0);
	close(fd);
	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", NULL);
	snprintf(args, sizeof(args), "wtest=blk-bench wtest.mode=%s wtest.qd=32 wtest.bs=4096 "
		 "wtest.secs=4", mode);
	mbody = xasprintf("{\"metrics_path\": \"%s\"}", m_old);
	CALL(&a, "PUT", "/metrics", mbody, 204);
	free(mbody);
	put_boot(&a, args, 1);
	put_drive(&a, "d0", img, engines[_i]);
	start_vm(&a);
	WAIT_FOR(&a, "blk-bench: mode");
	drain(&a, 300);     /* into the steady state */
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	drain(&a, 100);
	ck_assert_msg(!strstr(a.p.out.data, "BENCH blk"),
		      "the bench ended before the snapshot (raise wtest.secs):\n%s", a.p.out.data);
	/* The device had been serving the queue for a while: more requests
	 * than the queue holds were done (so every slot was requeued). */
	CALL(&a, "PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", 204);
	done_old = metrics_block(m_old, key);
	ck_assert_msg(done_old > 32, "block.%s before the snapshot: %lld", key, done_old);
	drive = create_body(f.state, f.mem, "Full");
	CALL(&a, "PUT", "/snapshot/create", drive, 204);
	free(drive);
	wisp_kill(&a);

	wisp_start(&b, "b.sock", NULL);
	/* Metrics may be configured before a load (as in Firecracker). */
	mbody = xasprintf("{\"metrics_path\": \"%s\"}", m_new);
	CALL(&b, "PUT", "/metrics", mbody, 204);
	free(mbody);
	load(&b, &f, true, NULL);
	WAIT_FOR(&b, "WTEST blk-bench ");
	ck_assert(proc_finish(&b.p, GUEST_MS));
	ck_assert_msg(strstr(b.p.out.data, "BENCH blk mode=") && b.p.status == 0 &&
			      strstr(b.p.out.data, "WTEST blk-bench PASS"),
		      "status %d\nold:\n%s\nnew:\n%s\nstderr:\n%s", b.p.status, a.p.out.data,
		      b.p.out.data, b.p.err.data);
	ck_assert_ptr_null(strstr(b.p.out.data, "scenario="));
	/* The restored device served the rest (the line written at exit). */
	done_new = metrics_block(m_new, key);
	ck_assert_msg(done_new > 0, "block.%s after the load: %lld", key, done_new);
	line = strstr(b.p.out.data, "BENCH blk");
	/* Every request the guest saw complete was served exactly once, by
	 * the old process or by the new one: none lost, none done twice. */
	ops = strstr(line, " ops=");
	ck_assert_ptr_nonnull(ops);
	ck_assert_msg(atoll(ops + 5) == done_old + done_new,
		      "the guest counted %lld requests, the devices served %lld + %lld",
		      atoll(ops + 5), done_old, done_new);
	printf("in flight: %s engine, %lld %s before the snapshot, %lld after; %.*s\n",
	       engines[_i], done_old, key, done_new, (int)strcspn(line, "\r\n"), line);
	ASSERT_CLEAN(&b.p);
	wisp_free(&a);
	wisp_free(&b);
	free(img);
	free(m_old);
	free(m_new);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 8. the ticker                                                       */
/* ================================================================== */

START_TEST(restored_ticker_keeps_counting_and_takes_ctrl_alt_del)
{
	struct wisp a, b;
	struct snapfiles f;
	long last;
	char want[32];

	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", NULL);
	put_boot(&a, "wtest=ticker", 1);
	start_vm(&a);
	WAIT_FOR(&a, "TICK 3\r");
	pause_and_create(&a, &f);
	wisp_kill(&a);

	wisp_start(&b, "b.sock", NULL);
	load(&b, &f, true, NULL);
	/* Wait for two whole lines past the snapshot's last one. */
	last = assert_numbering(a.p.out.data, "", "TICK ", 0);
	snprintf(want, sizeof(want), "TICK %ld\r", last + 2);
	WAIT_FOR(&b, want);
	CALL(&b, "PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", 204);
	ck_assert(proc_finish(&b.p, GUEST_MS));
	ck_assert_msg(b.p.status == 0 && strstr(b.p.out.data, "ticker: Ctrl-Alt-Del received"),
		      "status %d\n%s\n%s", b.p.status, b.p.out.data, b.p.err.data);
	ck_assert_int_eq(count_substr(b.p.out.data, "WTEST ticker PASS"), 1);
	ck_assert_ptr_null(strstr(b.p.out.data, "scenario="));
	assert_numbering(a.p.out.data, b.p.out.data, "TICK ", 2);
	ASSERT_CLEAN(&b.p);
	wisp_free(&a);
	wisp_free(&b);
	snapfiles_free(&f);
}
END_TEST

/* ================================================================== */
/* 9. the memory file                                                  */
/* ================================================================== */

START_TEST(memory_file_is_sparse_guest_ram)
{
	struct wisp a;
	struct snapfiles f;
	struct stat st;
	const char *line;
	unsigned long start, end, seed, stride;
	uint64_t base, word;
	char *list;
	int fd;
	size_t slen;
	uint8_t *sbuf;

	snapfiles_init(&f, "snap");
	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, "wtest.mib=16 wtest.seed=7", 1, NULL, NULL);
	pause_and_create(&a, &f);
	line = strstr(a.p.out.data, "snap: memory [");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, "snap: memory [0x%lx-0x%lx) seed %lu stride %lu", &start, &end,
				&seed, &stride), 4);
	ck_assert_uint_eq(seed, 7);
	ck_assert_msg(stride >= 8 && stride <= 4096 && !(stride & (stride - 1)), "stride %lu",
		      stride);
	ck_assert_uint_eq(end - start, 16 * MIB);

	/* Exactly the two files, private to their owner. */
	list = dir_list(f.dir);
	ck_assert_msg(!strcmp(list, "vm.state vm.mem") || !strcmp(list, "vm.mem vm.state"), "%s",
		      list);
	free(list);
	ck_assert_int_eq(stat(f.mem, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(st.st_size, (off_t)(GUEST_MIB * MIB));
	printf("memory file: %lld bytes, %llu allocated\n", (long long)st.st_size,
	       (unsigned long long)st.st_blocks * 512);
	/* Sparse: 16 MiB of pattern and a little more, not 128 MiB. */
	ck_assert_msg((uint64_t)st.st_blocks * 512 >= 16 * MIB &&
			      (uint64_t)st.st_blocks * 512 <= 24 * MIB,
		      "memory file: %llu bytes allocated for %lld", (unsigned long long)st.st_blocks * 512,
		      (long long)st.st_size);
	/* Guest RAM at its guest-physical offset: the pattern (tag words and
	 * every stride-th word of each page). */
	fd = open(f.mem, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	base = (uint64_t)seed * 0x9e3779b97f4a7c15ull;
	for (uint64_t x = start; x < end; x += stride) {
		uint64_t want = x % 4096 ? mix64(base + (x >> 12) % 512 + (x >> 3) % 512)
					 : mix64(base + 1024 + x);

		if (pread(fd, &word, 8, (off_t)x) != 8 || word != want)
			ck_abort_msg("memory file at 0x%llx: 0x%016llx, expected 0x%016llx",
				     (unsigned long long)x, (unsigned long long)word,
				     (unsigned long long)want);
	}
	close(fd);
	/* The state file: magic, version 1.1, its own length. */
	sbuf = read_whole_file(f.state, &slen);
	ck_assert_ptr_nonnull(sbuf);
	ck_assert_int_eq(memcmp(sbuf, "WWISPx64", 8), 0);
	ck_assert_int_eq(sbuf[8] | sbuf[9] << 8, 1);
	ck_assert_int_eq(sbuf[10] | sbuf[11] << 8, 1);
	{
		uint64_t total = 0;

		for (int i = 7; i >= 0; i--)
			total = total << 8 | sbuf[24 + i];
		ck_assert_uint_eq(total, slen);
	}
	ck_assert_msg(slen < 1024 * 1024, "state file of %zu bytes", slen);
	free(sbuf);
	ck_assert_int_eq(stat(f.state, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	wisp_free(&a);
	snapfiles_free(&f);
}
END_TEST

/* A restored VM is snapshotted in turn (its memory is the first snapshot's
 * file, mapped private) and restored again: the guest still passes, with
 * one boot and one run of numbers across the three processes. */
START_TEST(restored_vm_snapshotted_again)
{
	struct wisp a, b, c;
	struct snapfiles f1, f2;
	char *old;

	snapfiles_init(&f1, "snap1");
	snapfiles_init(&f2, "snap2");
	wisp_start(&a, "a.sock", NULL);
	boot_snap(&a, "wtest.mib=8", 1, NULL, NULL);
	pause_and_create(&a, &f1);
	wisp_kill(&a);
	wisp_start(&b, "b.sock", NULL);
	load(&b, &f1, true, NULL);
	ck_assert_int_eq(proc_send(&b.p, "x", 1), 0);
	WAIT_FOR(&b, "Ex\r");
	WAIT_FOR(&b, "\nSNAP ");
	pause_and_create(&b, &f2);
	wisp_kill(&b);
	wisp_start(&c, "c.sock", NULL);
	load(&c, &f2, true, NULL);
	old = xasprintf("%s%s", a.p.out.data, b.p.out.data);
	verify_restored_snap_guest(&c, old);
	free(old);
	wisp_free(&a);
	wisp_free(&b);
	wisp_free(&c);
	snapfiles_free(&f1);
	snapfiles_free(&f2);
}
END_TEST

/* ---------------- diff snapshots ---------------- */

/* Create a snapshot of `type` into dir/name.{state,mem} of the paused VM,
 * then resume it if asked. */
static void snap_named(struct wisp *w, const char *dir, const char *name, const char *type,
		       bool resume)
{
	char *st = xasprintf("%s/%s.state", dir, name), *mem = xasprintf("%s/%s.mem", dir, name);
	char *b = create_body(st, mem, type);

	CALL(w, "PUT", "/snapshot/create", b, 204);
	if (resume)
		CALL(w, "PATCH", "/vm", "{\"state\": \"Resumed\"}", 204);
	free(b);
	free(st);
	free(mem);
}

/* The guest writes its known pages (and has the disk device write one):
 * send 'D', wait for its report of generation g. */
static void dirty_gen(struct wisp *w, int g, uint64_t *area, uint64_t *npages, uint64_t *devbuf)
{
	char want[64], *line;
	unsigned long n, a, gg, d;

	snprintf(want, sizeof(want), "gen %d\r", g);
	ck_assert_int_eq(proc_send(&w->p, "D", 1), 0);
	WAIT_FOR(w, want);
	drain(w, 300);
	line = strstr(w->p.out.data, want);
	while (line > w->p.out.data && line[-1] != '\n')
		line--;
	ck_assert_int_eq(sscanf(line, "SNAP dirtied %lu pages at 0x%lx gen %lu", &n, &a, &gg), 3);
	line = strstr(line, "SNAP device read into");
	ck_assert_ptr_nonnull(line);
	ck_assert_int_eq(sscanf(line, "SNAP device read into 0x%lx", &d), 1);
	*area = a;
	*npages = n;
	*devbuf = d;
}

/* Does the page at gpa hold data in this memory file (below 3 GiB the
 * file offset is the guest-physical address)? */
static bool page_has_data(int fd, uint64_t gpa)
{
	off_t d = lseek(fd, (off_t)gpa, SEEK_DATA);

	return d >= 0 && (uint64_t)d < gpa + 4096;
}

static uint64_t data_pages(int fd)
{
	uint64_t n = 0;
	off_t pos = 0, d, h;

	while ((d = lseek(fd, pos, SEEK_DATA)) >= 0) {
		h = lseek(fd, d, SEEK_HOLE);
		n += (uint64_t)(h - d + 4095) / 4096;
		pos = h;
	}
	return n;
}

static void rebase(const char *base, const char *diff)
{
	struct proc p;
	char *argv[] = { (char *)build_path("wisp-snapshot-editor"), "edit-memory", "rebase",
			 "--memory-path", (char *)base, "--diff-path", (char *)diff, NULL };

	ck_assert(proc_run(&p, argv, 30000));
	ck_assert_msg(p.status == 0, "rebase %s onto %s: %d\n%s", diff, base, p.status, p.err.data);
	proc_free(&p);
}

/*
 * track_dirty_pages: a Full base, then two Diffs, each after the guest wrote
 * its known pages and the disk device wrote one; a Full at the second
 * Diff's moment. Each Diff holds the known pages with that generation's
 * values and the page only the device wrote, and only a handful of others;
 * base + diff 1 + diff 2 rebased equals the Full byte for byte, and a VM
 * loaded from it (with the second Diff's state) passes its self-check.
 */
START_TEST(diff_snapshots_rebase_to_the_full_one)
{
	struct wisp a, b;
	char *dir = tmp_path("diff"), *img = make_image("d0.img");
	struct devs d = { .drive = img, .engine = "Sync" };
	uint64_t area = 0, npages = 0, devbuf = 0;
	char *base, *d1, *d2, *full, *st2, *body;
	void *x, *y;
	size_t xl, yl;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	wisp_start(&a, "a.sock", NULL);
	put_boot(&a, "wtest=snap wtest.mib=8", 1);
	CALL(&a, "PATCH", "/machine-config", "{\"track_dirty_pages\": true}", 204);
	configure_devs(&a, &d);
	start_vm(&a);
	WAIT_FOR(&a, "SNAP 2\r");
	CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
	snap_named(&a, dir, "base", "Full", true);
	for (int g = 1; g <= 2; g++) {
		char name[8], *mem;
		int fd;

		dirty_gen(&a, g, &area, &npages, &devbuf);
		CALL(&a, "PATCH", "/vm", "{\"state\": \"Paused\"}", 204);
		snprintf(name, sizeof(name), "d%d", g);
		snap_named(&a, dir, name, "Diff", g == 1);
		mem = xasprintf("%s/%s.mem", dir, name);
		fd = open(mem, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		for (uint64_t i = 0; i < npages; i++) {
			uint64_t v = 0;

			ck_assert_msg(page_has_data(fd, area + i * 4096), "%s: known page %lu missing",
				      name, (unsigned long)i);
			ck_assert_int_eq(pread(fd, &v, 8, (off_t)(area + i * 4096)), 8);
			ck_assert_uint_eq(v, (uint64_t)g << 32 | i);
		}
		ck_assert_msg(page_has_data(fd, devbuf & ~4095ull),
			      "%s: the page only the disk device wrote (0x%lx) is missing", name,
			      (unsigned long)devbuf);
		/* besides those: the used ring, the guest's counters, stack and
		 * console; a handful, not its 8 MiB pattern */
		ck_assert_msg(data_pages(fd) <= npages + 16, "%s: %lu data pages for %lu known",
			      name, (unsigned long)data_pages(fd), (unsigned long)npages);
		close(fd);
		free(mem);
	}
	snap_named(&a, dir, "full", "Full", false);
	wisp_kill(&a);

	base = xasprintf("%s/base.mem", dir);
	d1 = xasprintf("%s/d1.mem", dir);
	d2 = xasprintf("%s/d2.mem", dir);
	full = xasprintf("%s/full.mem", dir);
	rebase(base, d1);
	rebase(base, d2);
	x = read_whole_file(base, &xl);
	y = read_whole_file(full, &yl);
	ck_assert(x && y);
	ck_assert_uint_eq(xl, yl);
	ck_assert_msg(memcmp(x, y, xl) == 0, "base + d1 + d2 differs from the Full snapshot");
	free(x);
	free(y);

	st2 = xasprintf("%s/d2.state", dir);
	body = load_body(st2, base, true, NULL);
	wisp_start(&b, "b.sock", NULL);
	CALL(&b, "PUT", "/snapshot/load", body, 204);
	verify_restored_snap_guest(&b, a.p.out.data);
	ck_assert_ptr_nonnull(strstr(b.p.out.data, "SNAP check blk ok"));
	wisp_free(&a);
	wisp_free(&b);
	free(body);
	free(st2);
	free(base);
	free(d1);
	free(d2);
	free(full);
	free(img);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");
	bool root = geteuid() == 0;

	tcase_add_unchecked_fixture(tc, tcase_setup, tcase_teardown);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, restored_guest_continues_where_it_was, 0, 3);
	tcase_add_test(tc, same_snapshot_restored_twice_at_once);
	tcase_add_test(tc, create_before_boot_and_load_after_configuring_are_refused);
	tcase_add_loop_test(tc, sync_and_async_drives_work_across_a_snapshot, 0, 2);
	tcase_add_loop_test(tc, snapshot_with_requests_in_flight, 0, 2);
	tcase_add_test(tc, restored_ticker_keeps_counting_and_takes_ctrl_alt_del);
	tcase_add_test(tc, memory_file_is_sparse_guest_ram);
	tcase_add_test(tc, diff_snapshots_rebase_to_the_full_one);
	tcase_add_test(tc, restored_vm_snapshotted_again);
	if (root) {
		tcase_add_test(tc, load_paused_then_resume_with_the_snapshot_config);
		tcase_add_test(tc, network_override_moves_the_nic_to_another_tap);
		tcase_add_test(tc, damaged_inputs_are_refused_and_a_valid_load_still_works);
		tcase_add_test(tc, failed_create_leaves_nothing_and_the_vm_resumes);
	} else {
		printf("note: not root: the tests with network namespaces, taps and a tmpfs are "
		       "left out\n");
	}
	suite_add_tcase(s, tc);
	if (root)
		netns_delete_stale();
	return check_run_suite(s);
}
