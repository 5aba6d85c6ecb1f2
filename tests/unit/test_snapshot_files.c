/* SPDX-License-Identifier: Apache-2.0 */
/* test_snapshot_files.c — the files a snapshot writes and reads: atomic
 * output (temporary name, commit, abort, every failure cleans up), reading
 * a state file, and the sparse guest memory file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check_main.h"
#include "snapshot.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define ck_assert_err(err, substr) \
	ck_assert_msg(strstr((err), (substr)) != NULL, \
		      "error \"%s\" does not contain \"%s\"", (err), (substr))

static char dir[256];
static char path[512];

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/wisp-test-snap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/vm.snap", dir);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void teardown(void)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries in dir (without . and ..); *tmps counts temporary files. */
static unsigned dir_entries(unsigned *tmps)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	ck_assert_ptr_nonnull(d);
	*tmps = 0;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		if (strstr(e->d_name, ".tmp."))
			(*tmps)++;
	}
	closedir(d);
	return n;
}

#define ck_assert_dir(want_entries, want_tmps) do { \
	unsigned tmps_, n_ = dir_entries(&tmps_); \
	ck_assert_uint_eq(n_, (want_entries)); \
	ck_assert_uint_eq(tmps_, (want_tmps)); \
} while (0)

static void write_file(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* The whole file (malloc'd), its length in *len. */
static uint8_t *slurp(const char *p, size_t *len)
{
	uint8_t *buf;
	char err[512];

	ck_assert_msg(snap_read_file(p, &buf, len, err, sizeof(err)) == 0, "%s", err);
	return buf;
}

/* ---------------- atomic output ---------------- */

START_TEST(out_appears_on_commit)
{
	struct snap_out o;
	struct stat st;
	char err[512] = "";
	uint8_t *back;
	size_t len;

	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_ge(o.fd, 0);
	ck_assert_int_eq(strncmp(o.tmp, path, strlen(path)), 0);
	ck_assert_int_eq(stat(o.tmp, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_ne(fcntl(o.fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(snap_out_write(&o, "hello, ", 7, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, "world", 5, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_sync(&o, err, sizeof(err)), 0);
	/* not there before the commit, only the temporary */
	ck_assert_int_eq(stat(path, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
	ck_assert_dir(1, 1);
	ck_assert_msg(snap_out_commit(&o, err, sizeof(err)) == 0, "%s", err);
	ck_assert_dir(1, 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	back = slurp(path, &len);
	ck_assert_uint_eq(len, 12);
	ck_assert_int_eq(memcmp(back, "hello, world", 12), 0);
	free(back);
	/* abort after commit changes nothing; writing is refused */
	snap_out_abort(&o);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(snap_out_write(&o, "x", 1, err, sizeof(err)), -EBADF);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), -EBADF);
}
END_TEST

START_TEST(out_replaces_old_file_atomically)
{
	struct snap_out o;
	char err[512];
	uint8_t *back;
	size_t len;

	write_file(path, "old contents", 12);
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, "new", 3, err, sizeof(err)), 0);
	back = slurp(path, &len);
	ck_assert_uint_eq(len, 12);
	free(back);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), 0);
	back = slurp(path, &len);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(back, "new", 3), 0);
	free(back);
	ck_assert_dir(1, 0);
}
END_TEST

START_TEST(out_abort_leaves_nothing)
{
	struct snap_out o, zero;
	char err[512];

	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, "data", 4, err, sizeof(err)), 0);
	ck_assert_dir(1, 1);
	snap_out_abort(&o);
	ck_assert_dir(0, 0);
	snap_out_abort(&o);
	snap_out_abort(NULL);
	memset(&zero, 0, sizeof(zero));
	snap_out_abort(&zero);     /* must not close fd 0 */
	ck_assert_int_ne(fcntl(0, F_GETFD), -1);
	/* two outputs to one path do not collide */
	{
		struct snap_out a, b;

		ck_assert_int_eq(snap_out_open(&a, path, err, sizeof(err)), 0);
		ck_assert_int_eq(snap_out_open(&b, path, err, sizeof(err)), 0);
		ck_assert_str_ne(a.tmp, b.tmp);
		ck_assert_dir(2, 2);
		snap_out_abort(&a);
		snap_out_abort(&b);
		ck_assert_dir(0, 0);
	}
}
END_TEST

START_TEST(out_missing_directory)
{
	char bad[600], want[700];
	struct snap_out o;
	char err[512] = "";

	snprintf(bad, sizeof(bad), "%s/missing/vm.snap", dir);
	ck_assert_int_eq(snap_out_open(&o, bad, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot create a temporary file for %s: %s", bad,
		 strerror(ENOENT));
	ck_assert_str_eq(err, want);
	snap_out_abort(&o);
	ck_assert_int_eq(snap_out_write(&o, "x", 1, err, sizeof(err)), -EBADF);
	ck_assert_dir(0, 0);
}
END_TEST

START_TEST(out_bad_paths)
{
	static char longp[VM_PATH_MAX + 10];
	struct snap_out o;
	char err[512], slash[600];

	ck_assert_int_eq(snap_out_open(&o, "", err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "does not name a file");
	snprintf(slash, sizeof(slash), "%s/", dir);
	ck_assert_int_eq(snap_out_open(&o, slash, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, slash);
	memset(longp, 'a', sizeof(longp) - 1);
	ck_assert_int_eq(snap_out_open(&o, longp, err, sizeof(err)), -ENAMETOOLONG);
	ck_assert_err(err, "longer than 4095");
	ck_assert_dir(0, 0);
}
END_TEST

/* rename() onto a non-empty directory fails: the temporary goes. */
START_TEST(out_commit_failure_removes_temporary)
{
	struct snap_out o;
	char err[512] = "", inner[600];

	ck_assert_int_eq(mkdir(path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/keep", path);
	write_file(inner, "k", 1);
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, "data", 4, err, sizeof(err)), 0);
	ck_assert_dir(2, 1);
	ck_assert_int_lt(snap_out_commit(&o, err, sizeof(err)), 0);
	ck_assert_err(err, path);
	ck_assert_err(err, "cannot rename");
	ck_assert_dir(1, 0);
	snap_out_abort(&o);
}
END_TEST

/* A file size limit makes writes fail (EFBIG) without a special file
 * system: every failure names the path and the errno text and leaves no
 * temporary behind. CK_FORK keeps the limit inside this test. */
START_TEST(out_write_failure_removes_temporary)
{
	struct rlimit old, lim;
	static uint8_t data[64 * KiB];
	struct guest_mem mem;
	struct snap_out o;
	char err[512] = "", want[700];

	memset(data, 0x5a, sizeof(data));
	ck_assert_ptr_ne(signal(SIGXFSZ, SIG_IGN), SIG_ERR);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = 16 * KiB;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);

	/* write(): the first 16 KiB go, then EFBIG */
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, data, sizeof(data), err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "cannot write %s: %s", path, strerror(EFBIG));
	ck_assert_str_eq(err, want);
	ck_assert_dir(0, 0);
	ck_assert_int_eq(snap_out_sync(&o, err, sizeof(err)), -EBADF);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), -EBADF);
	snap_out_abort(&o);
	ck_assert_dir(0, 0);

	/* snap_mem_write(): the file cannot even be sized */
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 1;
	mem.regions[0].size = sizeof(data);
	mem.regions[0].hva = data;
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_mem_write(&o, &mem, -1, err, sizeof(err)), -EFBIG);
	ck_assert_err(err, path);
	ck_assert_err(err, strerror(EFBIG));
	ck_assert_dir(0, 0);

	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
}
END_TEST

/* ---------------- reading a state file ---------------- */

START_TEST(read_file_ok)
{
	uint8_t *buf;
	size_t len;
	char err[512], p2[600];

	write_file(path, "0123456789", 10);
	ck_assert_int_eq(snap_read_file(path, &buf, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert_int_eq(memcmp(buf, "0123456789", 10), 0);
	free(buf);
	snprintf(p2, sizeof(p2), "%s/empty", dir);
	write_file(p2, "", 0);
	ck_assert_int_eq(snap_read_file(p2, &buf, &len, err, sizeof(err)), 0);
	ck_assert_uint_eq(len, 0);
	free(buf);
}
END_TEST

START_TEST(read_file_errors)
{
	uint8_t *buf = (uint8_t *)"x";
	size_t len = 1;
	char err[512], want[700], p2[600];
	int fd;

	ck_assert_int_eq(snap_read_file(path, &buf, &len, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "cannot open %s: %s", path, strerror(ENOENT));
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(buf);
	ck_assert_uint_eq(len, 0);

	ck_assert_int_eq(snap_read_file(dir, &buf, &len, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s is not a regular file", dir);
	ck_assert_str_eq(err, want);

	/* a FIFO is refused, not waited on */
	snprintf(p2, sizeof(p2), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(p2, 0600), 0);
	ck_assert_int_eq(snap_read_file(p2, &buf, &len, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, "is not a regular file");

	/* one byte over the limit (sparse, costs nothing) */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)SNAP_MAX_FILE + 1), 0);
	close(fd);
	ck_assert_int_eq(snap_read_file(path, &buf, &len, err, sizeof(err)), -EFBIG);
	ck_assert_err(err, path);
	ck_assert_err(err, "is larger than 67108864 bytes");
	ck_assert_ptr_null(buf);
}
END_TEST

/* ---------------- guest memory file ---------------- */

static void *map(uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

/* Write mem as the memory file at path, read it back and compare with the
 * regions back to back; returns the file's stat. */
static struct stat mem_round_trip(const struct guest_mem *mem)
{
	struct snap_out o;
	struct stat st;
	uint64_t total = 0, off = 0;
	char err[512] = "";
	uint8_t *back;
	int fd;

	for (unsigned i = 0; i < mem->nr_regions; i++)
		total += mem->regions[i].size;
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_msg(snap_mem_write(&o, mem, -1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snap_out_commit(&o, err, sizeof(err)) == 0, "%s", err);
	ck_assert_dir(1, 0);

	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, total);
	back = mmap(NULL, total, PROT_READ, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(back, MAP_FAILED);
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];

		ck_assert_msg(memcmp(back + off, r->hva, r->size) == 0,
			      "region %u differs in the file", i);
		off += r->size;
	}
	munmap(back, total);
	close(fd);
	return st;
}

START_TEST(mem_file_content)
{
	uint64_t s0 = 12 * MiB, s1 = 5 * 4096 + 100;
	uint8_t *r0 = map(s0), *r1 = map(s1);
	struct guest_mem mem;
	struct stat st;

	/* 9 MiB of data (more than one write's worth), then holes with a few
	 * pages that have a single non-zero byte at either end */
	for (uint64_t i = 0; i < 9 * MiB; i++)
		r0[i] = (uint8_t)(i * 7 + 1) | 1;
	r0[10 * MiB] = 0x11;
	r0[10 * MiB + 3 * 4096 + 4095] = 0x22;
	r0[10 * MiB + 4 * 4096] = 0x33;         /* next page: one run of two */
	r0[s0 - 1] = 0x44;
	/* second region: a page of data, a hole, and a partial last page */
	memset(r1 + 4096, 0xab, 4096);
	r1[s1 - 1] = 0x55;
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 2;
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = s0, .hva = r0 };
	mem.regions[1] = (struct guest_region){ .gpa = 4 * GiB, .size = s1, .hva = r1 };
	st = mem_round_trip(&mem);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	munmap(r0, s0);
	munmap(r1, s1);
}
END_TEST

START_TEST(mem_file_is_sparse)
{
	uint64_t s0 = 64 * MiB, s1 = 32 * MiB;
	uint8_t *r0 = map(s0), *r1 = map(s1);
	struct guest_mem mem;
	struct stat st;
	off_t data;
	int fd;

	r0[0] = 1;
	r0[20 * MiB + 123] = 2;
	r0[s0 - 4096] = 3;
	r1[17 * MiB] = 4;
	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 2;
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = s0, .hva = r0 };
	mem.regions[1] = (struct guest_region){ .gpa = 4 * GiB, .size = s1, .hva = r1 };
	st = mem_round_trip(&mem);
	ck_assert_msg((uint64_t)st.st_blocks * 512 < (uint64_t)st.st_size / 16,
		      "%lld blocks of 512 for a %lld-byte file with 4 pages of data",
		      (long long)st.st_blocks, (long long)st.st_size);
	/* the first data after the first page is where region 0 has it */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	data = lseek(fd, 4096, SEEK_DATA);
	ck_assert_int_ge(data, 0);
	ck_assert_int_le(data, 20 * MiB);
	ck_assert_int_gt(data, 16 * MiB);
	close(fd);
	munmap(r0, s0);
	munmap(r1, s1);
}
END_TEST

START_TEST(mem_file_replaces_earlier_writes)
{
	uint8_t *r0 = map(64 * KiB);
	struct guest_mem mem;
	struct snap_out o;
	char err[512];
	uint8_t *back;
	size_t len;

	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 1;
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = 64 * KiB, .hva = r0 };
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_write(&o, "junk", 4, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_mem_write(&o, &mem, -1, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), 0);
	back = slurp(path, &len);
	ck_assert_uint_eq(len, 64 * KiB);
	ck_assert_int_eq(memcmp(back, r0, len), 0);
	free(back);
	munmap(r0, 64 * KiB);
}
END_TEST

START_TEST(mem_file_bad_regions)
{
	uint8_t *r0 = map(64 * KiB);
	struct guest_mem mem;
	struct snap_out o;
	char err[512];

	memset(&mem, 0, sizeof(mem));
	mem.nr_regions = 2;
	mem.regions[0] = (struct guest_region){ .gpa = 4 * GiB, .size = 4096, .hva = r0 };
	mem.regions[1] = (struct guest_region){ .gpa = 0, .size = 4096, .hva = r0 + 4096 };
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_mem_write(&o, &mem, -1, err, sizeof(err)), -EINVAL);
	ck_assert_err(err, path);
	ck_assert_err(err, "region 1");
	ck_assert_dir(0, 0);

	/* overlapping */
	mem.regions[0].gpa = 0;
	mem.regions[1].gpa = 2048;
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_mem_write(&o, &mem, -1, err, sizeof(err)), -EINVAL);
	ck_assert_dir(0, 0);

	/* no host mapping */
	mem.regions[1].gpa = 4096;
	mem.regions[1].hva = NULL;
	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_int_eq(snap_mem_write(&o, &mem, -1, err, sizeof(err)), -EINVAL);
	ck_assert_dir(0, 0);

	/* adjacent regions are fine */
	mem.regions[1].hva = r0 + 4096;
	r0[5000] = 9;
	mem_round_trip(&mem);
	munmap(r0, 64 * KiB);
}
END_TEST

/* Guest memory mapped from a memfd (as wisp maps it): only the memfd's
 * data extents are read, so its holes stay holes (reading them through the
 * mapping would allocate them), and the file still equals the regions. */
START_TEST(mem_file_from_backing_fd_reads_only_data)
{
	const uint64_t lo = 8u << 20, hi = 4u << 20;
	struct guest_mem mem = { .nr_regions = 2 };
	struct snap_out o;
	char err[512] = "";
	uint8_t *a, *b, *back;
	int fd = memfd_create("wisp-test-ram", MFD_CLOEXEC), f;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)(lo + hi)), 0);
	a = mmap(NULL, lo, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, hi, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)lo);
	ck_assert(a != MAP_FAILED && b != MAP_FAILED);
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = lo, .hva = a };
	mem.regions[1] = (struct guest_region){ .gpa = 1ull << 32, .size = hi, .hva = b };
	memset(a + 4096, 0x11, 3 * 4096);          /* data in region 0 */
	memset(a + (6u << 20) + 100, 0x22, 10);    /* a partial page */
	memset(b + 8192, 0x33, 4096);              /* data in region 1 */
	memset(b + 3 * 8192, 0, 4096);             /* touched but zero: a hole in the file */

	ck_assert_int_eq(snap_out_open(&o, path, err, sizeof(err)), 0);
	ck_assert_msg(snap_mem_write(&o, &mem, fd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(snap_out_commit(&o, err, sizeof(err)) == 0, "%s", err);
	/* the memfd's holes were not read: its data is still only what the
	 * test wrote (4 pages in region 0 incl. the partial one, 2 in region 1) */
	ck_assert_int_eq(lseek(fd, 0, SEEK_DATA), 4096);
	ck_assert_int_eq(lseek(fd, 4096, SEEK_HOLE), 4 * 4096);
	ck_assert_int_eq(lseek(fd, 4 * 4096, SEEK_DATA), (off_t)(6u << 20));
	ck_assert_int_eq(lseek(fd, (off_t)(6u << 20), SEEK_HOLE), (off_t)((6u << 20) + 4096));
	ck_assert_int_eq(lseek(fd, (off_t)((6u << 20) + 4096), SEEK_DATA), (off_t)(lo + 8192));

	f = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(f, 0);
	back = mmap(NULL, lo + hi, PROT_READ, MAP_PRIVATE, f, 0);
	ck_assert(back != MAP_FAILED);
	ck_assert(memcmp(back, a, lo) == 0);
	ck_assert(memcmp(back + lo, b, hi) == 0);
	/* the file holds data only where the guest's pages were non-zero */
	ck_assert_int_eq(lseek(f, (off_t)lo, SEEK_DATA), (off_t)(lo + 8192));
	ck_assert_int_eq(lseek(f, (off_t)(lo + 8192), SEEK_HOLE), (off_t)(lo + 3 * 4096));
	munmap(back, lo + hi);
	close(f);
	munmap(a, lo);
	munmap(b, hi);
	close(fd);
}
END_TEST

/* A diff memory file holds exactly the dirty pages (zero ones too, as
 * data), and rebasing it onto a base gives the memory at the diff's moment. */
START_TEST(mem_diff_and_rebase)
{
	const uint64_t lo = 1u << 20, hi = 64u << 10;
	struct guest_mem mem = { .nr_regions = 2 };
	uint64_t bits0[(1u << 20) / 4096 / 64] = { 0 }, bits1[1] = { 0 };
	uint64_t *dirty[GUEST_MEM_MAX_REGIONS] = { bits0, bits1 };
	uint8_t *a = calloc(1, lo), *b = calloc(1, hi), *back;
	char base[4096], diff[4096], err[512] = "";
	struct snap_out o;
	int f;

	snprintf(base, sizeof(base), "%s.base", path);
	snprintf(diff, sizeof(diff), "%s.diff", path);
	mem.regions[0] = (struct guest_region){ .gpa = 0, .size = lo, .hva = a };
	mem.regions[1] = (struct guest_region){ .gpa = 1ull << 32, .size = hi, .hva = b };
	memset(a, 0x41, lo);
	memset(b, 0x42, hi);
	/* the base: everything */
	ck_assert_int_eq(snap_out_open(&o, base, err, sizeof(err)), 0);
	ck_assert_msg(snap_mem_write(&o, &mem, -1, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), 0);
	/* the guest changes pages 3, 4 (to zeros) and 200 of region 0, page 1
	 * of region 1; those are dirty */
	memset(a + 3 * 4096, 0x51, 4096);
	memset(a + 4 * 4096, 0, 4096);
	memset(a + 200 * 4096 + 17, 0x52, 3);
	memset(b + 4096, 0x53, 4096);
	bits0[0] = (1ull << 3) | (1ull << 4);
	bits0[200 / 64] |= 1ull << (200 % 64);
	bits1[0] = 1ull << 1;
	ck_assert_int_eq(snap_out_open(&o, diff, err, sizeof(err)), 0);
	ck_assert_msg(snap_mem_write_dirty(&o, &mem, dirty, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(snap_out_commit(&o, err, sizeof(err)), 0);

	f = open(diff, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(f, 0);
	/* data exactly at the dirty pages, the zeroed page included */
	ck_assert_int_eq(lseek(f, 0, SEEK_DATA), 3 * 4096);
	ck_assert_int_eq(lseek(f, 3 * 4096, SEEK_HOLE), 5 * 4096);
	ck_assert_int_eq(lseek(f, 5 * 4096, SEEK_DATA), 200 * 4096);
	ck_assert_int_eq(lseek(f, 200 * 4096, SEEK_HOLE), 201 * 4096);
	ck_assert_int_eq(lseek(f, 201 * 4096, SEEK_DATA), (off_t)(lo + 4096));
	ck_assert_int_eq(lseek(f, (off_t)(lo + 4096), SEEK_HOLE), (off_t)(lo + 2 * 4096));
	close(f);

	ck_assert_msg(snap_mem_rebase(base, diff, err, sizeof(err)) == 0, "%s", err);
	f = open(base, O_RDONLY | O_CLOEXEC);
	back = mmap(NULL, lo + hi, PROT_READ, MAP_PRIVATE, f, 0);
	ck_assert(back != MAP_FAILED);
	ck_assert(memcmp(back, a, lo) == 0);
	ck_assert(memcmp(back + lo, b, hi) == 0);
	munmap(back, lo + hi);
	close(f);

	/* refusals name the files */
	ck_assert_int_eq(snap_mem_rebase(base, "/nonexistent/diff", err, sizeof(err)), -ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/diff"));
	ck_assert_int_eq(truncate(diff, 4096), 0);
	ck_assert_int_eq(snap_mem_rebase(base, diff, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not a diff of that memory file"));
	unlink(base);
	unlink(diff);
	free(a);
	free(b);
}
END_TEST

static Suite *snapshot_files_suite(void)
{
	Suite *s = suite_create("snapshot_files");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, out_appears_on_commit);
	tcase_add_test(tc, out_replaces_old_file_atomically);
	tcase_add_test(tc, out_abort_leaves_nothing);
	tcase_add_test(tc, out_missing_directory);
	tcase_add_test(tc, out_bad_paths);
	tcase_add_test(tc, out_commit_failure_removes_temporary);
	tcase_add_test(tc, out_write_failure_removes_temporary);
	tcase_add_test(tc, read_file_ok);
	tcase_add_test(tc, read_file_errors);
	tcase_add_test(tc, mem_file_content);
	tcase_add_test(tc, mem_file_is_sparse);
	tcase_add_test(tc, mem_file_replaces_earlier_writes);
	tcase_add_test(tc, mem_file_bad_regions);
	tcase_add_test(tc, mem_file_from_backing_fd_reads_only_data);
	tcase_add_test(tc, mem_diff_and_rebase);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(snapshot_files_suite());
}
