/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wset.h — private to vmm/: working-set record and prefetch for the File
 * memory backend of PUT /snapshot/load ("working_set", docs/snapshots.md).
 *
 * A working-set file lists 4 KiB pages of the memory file (page index =
 * file offset / 4096; the regions lie back to back in it) in the order the
 * guest first touched them after a load, and (version 2) holds a copy of
 * those pages, so that a replay reads them in one sequential run:
 *
 *   offset 0   magic "WISPWSET" (8 bytes)
 *   offset 8   u32 version (2; 1 is still read)   offset 12  u32 page size (4096)
 *   offset 16  u64 guest memory size in bytes (the memory file's size)
 *   offset 24  u64 number of entries N
 *   version 1: offset 32  N x u64 page indices, and nothing after them
 *   version 2: offset 32  u64 snapshot id: the CRC-64 that ends the state
 *                         file the pages were recorded against
 *              offset 40  u64 data offset D: 0 (no page copies), or the
 *                         first multiple of 4096 after the index list
 *              offset 48  u64 number of page copies P (D != 0: the number
 *                         of distinct pages listed; D == 0: 0)
 *              offset 56  u64 reserved, 0
 *              offset 64  N x u64 page indices (little-endian, each <
 *                         size / 4096, first-touch order, each page once)
 *              offset D   P x 4096 bytes: the listed pages' contents, in
 *                         ascending page order; the file ends there
 *
 * Record: guest RAM is anonymous memory under a userfaultfd (MISSING
 * faults) that wisp serves itself, from the memory file, on a thread of
 * its own, noting each page the first time it is served. When the guest
 * signals readiness, at record_ms after the load, or when the microVM is
 * torn down if sooner, the version-2 file (list and page copies) is
 * written (temporary file, fsync, rename); the thread keeps serving faults
 * for the VM's life.
 *
 * Replay: a normal File load (MAP_PRIVATE of the memory file) whose listed
 * pages are made present before the vCPUs run. With page copies (a
 * version-2 file recorded against this very state file, checked by the
 * snapshot id) the listed ranges of guest memory are mapped MAP_PRIVATE
 * from the copies instead (same contents, so clones still share them
 * through the page cache), the copies are read ahead in one sequential
 * request and each range is populated with MADV_POPULATE_READ: a cold
 * page cache costs one sequential read instead of a random read per page.
 * Without copies (version 1) the ranges are read ahead from the memory
 * file (spans merged across small gaps) and populated the same way. The
 * rest stays lazy.
 */
#ifndef WISP_VMM_WSET_H
#define WISP_VMM_WSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct guest_mem;

#define WSET_MAGIC "WISPWSET"
#define WSET_VERSION 2u          /* written; version 1 is read too */
#define WSET_PAGE 4096u
#define WSET_HDR1_LEN 32u        /* version 1 */
#define WSET_HDR_LEN 64u         /* version 2 */
/* Page copies are mapped one range at a time (two VMAs each, at most):
 * with more ranges than this the replay reads ahead from the memory file. */
#define WSET_MAX_IMAGE_RANGES 16384u

/* A parsed working set: sorted, de-duplicated ranges of pages. */
struct wset_range {
	uint64_t first, count;   /* page indices of the memory file */
};
struct wset {
	struct wset_range *ranges;
	size_t nr_ranges;
	uint64_t nr_pages;       /* distinct pages */
	uint32_t version;
	uint64_t snap_id;        /* version 2: the state file's CRC-64 */
	uint64_t data_off;       /* version 2: offset of the page copies, 0: none */
	int fd;                  /* wset_read with page copies: the file, else -1 */
};

/* Read and check the file at path for a guest of mem_size bytes loaded from
 * a state file whose CRC-64 is snap_id. Errors (-errno) name the path:
 * unreadable, not a regular file, bad magic/version/page size, another
 * memory size, truncated or trailing bytes, a page beyond guest RAM, page
 * copies recorded against another snapshot. */
int wset_read(const char *path, uint64_t mem_size, uint64_t snap_id, struct wset *out,
	      char *err, size_t errlen);
void wset_free(struct wset *w);

/* Pure: parse the first len bytes of a file of file_size bytes (at least
 * its header and index list; wset_read reads no more than that) for a guest
 * of mem_size bytes. Checks everything but the snapshot id. */
int wset_parse(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t mem_size,
	       struct wset *out, char *why, size_t whylen);

/* Readahead spans: w's ranges merged where at most gap unlisted pages lie
 * between two (reading a few pages more costs less than one more I/O).
 * Pure: writes at most w->nr_ranges spans to out and returns how many. */
#define WSET_RA_GAP 4
size_t wset_ra_spans(const struct wset *w, uint64_t gap, struct wset_range *out);

/* Call fn for each piece of w's ranges that lies in one region of mem (the
 * regions lie back to back in file offsets): its host address, its length
 * in bytes and its rank (the number of listed pages before it: page copy
 * rank is the piece's first page). Stops at, and returns, the first
 * negative return. Pure. */
typedef int (*wset_piece_fn)(void *ctx, uint8_t *hva, uint64_t len, uint64_t rank);
int wset_each_piece(const struct guest_mem *mem, const struct wset *w, wset_piece_fn fn,
		    void *ctx);

struct wset_prefetch_stats {
	uint64_t pages, calls, touched;   /* touched: pages read one by one (fallback) */
	uint64_t ra_calls;                /* readahead requests */
	uint64_t mapped;                  /* ranges mapped from the page copies */
	uint64_t copied;                  /* pages copied in (wset_copy_in) */
};

/* Make the listed pages of mem (mapped from the memory file mem_fd)
 * present. With page copies (w->fd >= 0, at most WSET_MAX_IMAGE_RANGES
 * ranges) the ranges are first mapped from them (MAP_FIXED) and read
 * ahead in one request; else the ranges are read ahead from mem_fd
 * (posix_fadvise WILLNEED per span: asynchronous, many I/Os in flight at
 * once instead of one synchronous read per fault). Then each range gets
 * MADV_POPULATE_READ. Only the mapping can fail (-errno, err says why;
 * guest memory must then be thrown away). */
int wset_prefetch(const struct guest_mem *mem, const struct wset *w, int mem_fd,
		  struct wset_prefetch_stats *st, char *err, size_t errlen);

/* Replay with "copy": guest RAM is anonymous memory that wisp serves from
 * the memory file (wset_record_attach with path NULL); copy the listed
 * pages in from w's page copies (UFFDIO_COPY per range after one readahead
 * of the copies) before the vCPUs run. Private copies: the fastest start,
 * but clones do not share them. */
int wset_copy_in(struct vm *vm, const struct wset *w, struct wset_prefetch_stats *st, char *err,
		 size_t errlen);

/* Record: serve vm->mem (anonymous, UFFD_GUEST_MAP_FLAGS, regions back to
 * back in the memory file mem_fd from offset 0) and record first touches
 * into path (NULL: serve only). On success vm->wset is set. */
int wset_record_attach(struct vm *vm, int mem_fd, const char *path, unsigned record_ms,
		       uint64_t snap_id, char *err, size_t errlen);

/* The guest signalled readiness (it wrote the boot-complete value 123 to
 * the first MMIO page): a recording in progress ends now (the list is
 * written; the VM keeps being served). Any thread; no recording: nothing. */
void wset_record_ready(struct vm *vm);

/* Stop the thread (writing the file if not yet written) and free
 * (vm_destroy, before guest memory is unmapped). No-op when vm->wset is NULL. */
void wset_record_detach(struct vm *vm);

#endif
