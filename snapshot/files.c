/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.c — the files a snapshot reads and writes: reading a state file,
 * writing a file atomically (temporary name in the same directory, fsync,
 * rename, fsync of the directory), and the sparse guest memory file.
 *
 * Every error message names the path the person gave and the errno text.
 * Any failure of snap_out_write/sync/commit or snap_mem_write removes the
 * temporary file at once, so that no caller can leave one behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_internal.h"
#include "snapshot.h"

#define SNAP_PAGE        4096u
#define SNAP_MAX_WRITE   (8u << 20)   /* bytes per pwrite of guest RAM */

/* ------------------------------------------------------------------ */
/* Reading a state file                                                */
/* ------------------------------------------------------------------ */

int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *b = NULL;
	size_t size, got = 0;
	int fd, ret;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO must not hang (it is refused below). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		snap_errf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		snap_errf(err, errlen, "cannot stat %s: %s", path, strerror(-ret));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snap_errf(err, errlen, "%s is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > SNAP_MAX_FILE) {
		ret = -EFBIG;
		snap_errf(err, errlen, "%s is larger than %u bytes (%lld)", path, SNAP_MAX_FILE,
			  (long long)st.st_size);
		goto out;
	}
	size = (size_t)st.st_size;
	b = malloc(size ? size : 1);
	if (!b) {
		ret = -ENOMEM;
		snap_errf(err, errlen, "cannot read %s: %s", path, strerror(ENOMEM));
		goto out;
	}
	/* Read what fstat promised; a file that shrank meanwhile is read
	 * short and the parser refuses it. */
	while (got < size) {
		ssize_t n = read(fd, b + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snap_errf(err, errlen, "cannot read %s: %s", path, strerror(-ret));
			free(b);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	*buf = b;
	*len = got;
	ret = 0;
out:
	close(fd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Atomic output files                                                 */
/* ------------------------------------------------------------------ */

static bool out_is_open(const struct snap_out *o)
{
	return o->tmp[0] != '\0';
}

/* Drop the temporary (if any). Safe on a zeroed, failed or finished o. */
void snap_out_abort(struct snap_out *o)
{
	if (!o || !out_is_open(o))
		return;
	if (o->fd >= 0)
		close(o->fd);
	unlink(o->tmp);
	o->fd = -1;
	o->tmp[0] = '\0';
}

int snap_out_open(struct snap_out *o, const char *path, char *err, size_t errlen)
{
	size_t n;
	int ret;

	o->fd = -1;
	o->tmp[0] = '\0';
	o->path[0] = '\0';
	n = path ? strlen(path) : 0;
	if (!n || path[n - 1] == '/') {
		snap_errf(err, errlen, "snapshot path \"%s\" does not name a file", path ? path : "");
		return -EINVAL;
	}
	if (n >= sizeof(o->path)) {
		snap_errf(err, errlen, "snapshot path is %zu bytes, longer than %zu", n,
			  sizeof(o->path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(o->path, path, n + 1);
	/* Same directory as the final file, so that rename() is atomic. */
	snprintf(o->tmp, sizeof(o->tmp), "%s.tmp.XXXXXX", path);
	/* mkostemp: O_RDWR|O_CREAT|O_EXCL, mode 0600. */
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		ret = -errno;
		o->tmp[0] = '\0';
		snap_errf(err, errlen, "cannot create a temporary file for %s: %s", path,
			  strerror(-ret));
		return ret;
	}
	return 0;
}

/* Record a failure of op on o: message, then remove the temporary. */
static int out_fail(struct snap_out *o, int ret, const char *op, char *err, size_t errlen)
{
	snap_errf(err, errlen, "cannot %s %s: %s", op, o->path, strerror(-ret));
	snap_out_abort(o);
	return ret;
}

static int out_check(struct snap_out *o, char *err, size_t errlen)
{
	if (!o || !out_is_open(o) || o->fd < 0) {
		snap_errf(err, errlen, "snapshot output %s is not open",
			  o && o->path[0] ? o->path : "(none)");
		return -EBADF;
	}
	return 0;
}

/* Write all of [buf, buf+len) at off (pwrite) or at the file offset (off < 0). */
static int write_all(int fd, const uint8_t *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t n = off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (size_t)n;
		if (off >= 0)
			off += n;
	}
	return 0;
}

int snap_out_write(struct snap_out *o, const void *buf, size_t len, char *err, size_t errlen)
{
	int ret = out_check(o, err, errlen);

	if (ret)
		return ret;
	ret = write_all(o->fd, buf, len, -1);
	return ret ? out_fail(o, ret, "write", err, errlen) : 0;
}

int snap_out_sync(struct snap_out *o, char *err, size_t errlen)
{
	int ret = out_check(o, err, errlen);

	if (ret)
		return ret;
	if (fsync(o->fd))
		return out_fail(o, -errno, "sync", err, errlen);
	return 0;
}

/* fsync the directory holding path, so that the rename is durable. */
static int sync_dir(const char *path)
{
	char dir[VM_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (!slash)
		strcpy(dir, ".");
	else if (slash == path)
		strcpy(dir, "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Some file systems cannot sync a directory (EINVAL): nothing to do. */
	if (fsync(fd) && errno != EINVAL)
		ret = -errno;
	close(fd);
	return ret;
}

int snap_out_commit(struct snap_out *o, char *err, size_t errlen)
{
	int ret = out_check(o, err, errlen);

	if (ret)
		return ret;
	if (fsync(o->fd))
		return out_fail(o, -errno, "sync", err, errlen);
	ret = close(o->fd);
	o->fd = -1;
	if (ret && errno != EINTR)
		return out_fail(o, -errno, "close", err, errlen);
	if (rename(o->tmp, o->path))
		return out_fail(o, -errno, "rename a temporary file to", err, errlen);
	o->tmp[0] = '\0';
	/* The file is in place now; if the directory cannot be synced the
	 * rename may not survive a crash, which the caller hears about. */
	ret = sync_dir(o->path);
	if (ret) {
		snap_errf(err, errlen, "cannot sync the directory of %s: %s", o->path,
			  strerror(-ret));
		return ret;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Guest memory file                                                   */
/* ------------------------------------------------------------------ */

static bool all_zero(const uint8_t *p, size_t len)
{
	/* 64 bytes per step, OR-reduced (vectorises); tail byte by byte. */
	while (len >= 64) {
		uint64_t acc = 0;

		for (int i = 0; i < 8; i++)
			acc |= ld_le64(p + 8 * i);
		if (acc)
			return false;
		p += 64;
		len -= 64;
	}
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* Write bytes [pos, end) of one region at file offset base + pos: runs of
 * non-zero pages, each run at most SNAP_MAX_WRITE bytes per pwrite; zero
 * pages stay holes. */
static int write_range(int fd, const struct guest_region *r, uint64_t base, uint64_t pos,
		       uint64_t end)
{
	while (pos < end) {
		uint64_t start;
		int ret;

		/* Skip zero pages. */
		while (pos < end) {
			uint64_t n = end - pos < SNAP_PAGE ? end - pos : SNAP_PAGE;

			if (!all_zero(r->hva + pos, n))
				break;
			pos += n;
		}
		if (pos >= end)
			break;
		/* Gather non-zero pages. */
		start = pos;
		while (pos < end && pos - start < SNAP_MAX_WRITE) {
			uint64_t n = end - pos < SNAP_PAGE ? end - pos : SNAP_PAGE;

			if (pos != start && all_zero(r->hva + pos, n))
				break;
			pos += n;
		}
		ret = write_all(fd, r->hva + start, pos - start, (off_t)(base + start));
		if (ret)
			return ret;
	}
	return 0;
}

/* One region at file offset base. With the guest memory's own file
 * (backing_fd, the regions back to back in it as in the memory file), only
 * its data extents are read: holes were never touched by the guest, and
 * reading them through the mapping would allocate them. */
static int write_region(int fd, const struct guest_region *r, uint64_t base, int backing_fd)
{
	uint64_t pos = 0;

	if (backing_fd < 0)
		return write_range(fd, r, base, 0, r->size);
	while (pos < r->size) {
		off_t d = lseek(backing_fd, (off_t)(base + pos), SEEK_DATA), h;
		uint64_t from, to;
		int ret;

		if (d < 0)
			return errno == ENXIO ? 0 : -errno;   /* ENXIO: no data past pos */
		if ((uint64_t)d >= base + r->size)
			return 0;
		h = lseek(backing_fd, d, SEEK_HOLE);
		if (h < 0)
			return -errno;
		from = (uint64_t)d - base;
		to = (uint64_t)h - base < r->size ? (uint64_t)h - base : r->size;
		ret = write_range(fd, r, base, from & ~(uint64_t)(SNAP_PAGE - 1), to);
		if (ret)
			return ret;
		pos = to;
	}
	return 0;
}

/* Regions usable and in gpa order; *total = their size. Aborts o on error. */
static int check_regions(struct snap_out *o, const struct guest_mem *mem, uint64_t *total,
			 char *err, size_t errlen)
{
	int ret = out_check(o, err, errlen);

	*total = 0;
	if (ret)
		return ret;
	if (!mem || mem->nr_regions > GUEST_MEM_MAX_REGIONS) {
		snap_errf(err, errlen, "cannot write %s: no guest memory", o->path);
		snap_out_abort(o);
		return -EINVAL;
	}
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		const struct guest_region *prev = i ? &mem->regions[i - 1] : NULL;

		if ((r->size && !r->hva) || r->size > (uint64_t)INT64_MAX - *total ||
		    (prev && (r->gpa < prev->gpa || r->gpa - prev->gpa < prev->size))) {
			snap_errf(err, errlen,
				  "cannot write %s: guest memory region %u (gpa 0x%llx, 0x%llx "
				  "bytes) is not usable or not in gpa order", o->path, i,
				  (unsigned long long)r->gpa, (unsigned long long)r->size);
			snap_out_abort(o);
			return -EINVAL;
		}
		*total += r->size;
	}
	/* A fresh length of zeros: whatever was written before is dropped and
	 * every page not written below reads back as zero (a hole). */
	if (ftruncate(o->fd, 0) || ftruncate(o->fd, (off_t)*total))
		return out_fail(o, -errno, "set the size of", err, errlen);
	return 0;
}

int snap_mem_write(struct snap_out *o, const struct guest_mem *mem, int backing_fd, char *err,
		   size_t errlen)
{
	uint64_t total;
	int ret = check_regions(o, mem, &total, err, errlen);

	if (ret)
		return ret;
	total = 0;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		ret = write_region(o->fd, &mem->regions[i], total, backing_fd);
		if (ret)
			return out_fail(o, ret, "write", err, errlen);
		total += mem->regions[i].size;
	}
	return 0;
}

static bool page_set(const uint64_t *bits, uint64_t pg)
{
	return bits[pg / 64] & (1ull << (pg % 64));
}

int snap_mem_write_dirty(struct snap_out *o, const struct guest_mem *mem,
			 uint64_t *const dirty[], char *err, size_t errlen)
{
	uint64_t total, base = 0;
	int ret = check_regions(o, mem, &total, err, errlen);

	if (ret)
		return ret;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		uint64_t pages = (r->size + SNAP_PAGE - 1) / SNAP_PAGE, pg = 0;

		while (dirty[i] && pg < pages) {
			uint64_t start, from, to;

			while (pg < pages && !page_set(dirty[i], pg))
				pg++;
			if (pg >= pages)
				break;
			start = pg;
			while (pg < pages && page_set(dirty[i], pg) &&
			       (pg - start) * SNAP_PAGE < SNAP_MAX_WRITE)
				pg++;
			/* Every dirty page is written, zeros too: a diff's data
			 * extents are what a rebase copies. */
			from = start * SNAP_PAGE;
			to = pg * SNAP_PAGE < r->size ? pg * SNAP_PAGE : r->size;
			ret = write_all(o->fd, r->hva + from, to - from, (off_t)(base + from));
			if (ret)
				return out_fail(o, ret, "write", err, errlen);
		}
		base += r->size;
	}
	return 0;
}

int snap_mem_rebase(const char *base_path, const char *diff_path, char *err, size_t errlen)
{
	int base = open(base_path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int diff = open(diff_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	const char *what = base < 0 ? base_path : diff_path;
	struct stat bs, ds;
	uint8_t *buf = NULL;
	off_t pos = 0;
	int ret = 0;

	if (base < 0 || diff < 0) {
		ret = -errno;
		snap_errf(err, errlen, "cannot open %s: %s", what, strerror(-ret));
		goto out;
	}
	if (fstat(base, &bs) < 0 || fstat(diff, &ds) < 0 || !S_ISREG(bs.st_mode) ||
	    !S_ISREG(ds.st_mode)) {
		snap_errf(err, errlen, "%s and %s must be regular files", base_path, diff_path);
		ret = -EINVAL;
		goto out;
	}
	if (bs.st_size != ds.st_size) {
		snap_errf(err, errlen, "%s is %lld bytes but %s is %lld: not a diff of that memory "
			  "file", diff_path, (long long)ds.st_size, base_path, (long long)bs.st_size);
		ret = -EINVAL;
		goto out;
	}
	buf = malloc(SNAP_MAX_WRITE);
	if (!buf) {
		snap_errf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	for (;;) {
		off_t d = lseek(diff, pos, SEEK_DATA), h;

		if (d < 0 && errno == ENXIO)
			break;   /* no data past pos */
		if (d < 0 || (h = lseek(diff, d, SEEK_HOLE)) < 0) {
			ret = -errno;
			snap_errf(err, errlen, "cannot read %s: %s", diff_path, strerror(-ret));
			goto out;
		}
		for (pos = d; pos < h;) {
			size_t n = (size_t)(h - pos) < SNAP_MAX_WRITE ? (size_t)(h - pos) : SNAP_MAX_WRITE;
			ssize_t got = pread(diff, buf, n, pos);

			if (got <= 0) {
				ret = got < 0 ? -errno : -EIO;
				snap_errf(err, errlen, "cannot read %s: %s", diff_path, strerror(-ret));
				goto out;
			}
			ret = write_all(base, buf, (size_t)got, pos);
			if (ret) {
				snap_errf(err, errlen, "cannot write %s: %s", base_path, strerror(-ret));
				goto out;
			}
			pos += got;
		}
	}
	if (fsync(base) < 0) {
		ret = -errno;
		snap_errf(err, errlen, "cannot write %s: %s", base_path, strerror(-ret));
	}
out:
	free(buf);
	if (base >= 0)
		close(base);
	if (diff >= 0)
		close(diff);
	return ret;
}
