/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wset.h — private to vmm/: working-set record and prefetch for the File
 * memory backend of PUT /snapshot/load ("working_set", docs/snapshots.md).
 *
 * A working-set file lists 4 KiB pages of the memory file (page index =
 * file offset / 4096; the regions lie back to back in it) in the order the
 * guest first touched them after a load:
 *
 *   offset 0   magic "WISPWSET" (8 bytes)
 *   offset 8   u32 version (1)          offset 12  u32 page size (4096)
 *   offset 16  u64 guest memory size in bytes (the memory file's size)
 *   offset 24  u64 number of pages N
 *   offset 32  N x u64 page indices, little-endian, each < size / 4096
 *
 * Record: guest RAM is anonymous memory under a userfaultfd (MISSING
 * faults) that wisp serves itself, from the memory file, on a thread of
 * its own, noting each page the first time it is served. At record_ms after
 * the load, or when the microVM is torn down if sooner, the list is
 * written (temporary file, fsync, rename); the thread keeps serving faults
 * for the VM's life.
 *
 * Replay: a normal File load (MAP_PRIVATE of the memory file) whose listed
 * pages are made present before the vCPUs run: sorted, coalesced into
 * ranges, each populated with one MADV_POPULATE_READ (a read touch of each
 * page where the kernel refuses it). The rest stays lazy.
 */
#ifndef WISP_VMM_WSET_H
#define WISP_VMM_WSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct guest_mem;

#define WSET_MAGIC "WISPWSET"
#define WSET_VERSION 1u
#define WSET_PAGE 4096u
#define WSET_HDR_LEN 32u

/* A parsed working set: sorted, de-duplicated ranges of pages. */
struct wset_range {
	uint64_t first, count;   /* page indices of the memory file */
};
struct wset {
	struct wset_range *ranges;
	size_t nr_ranges;
	uint64_t nr_pages;       /* distinct pages */
};

/* Read and check the file at path for a guest of mem_size bytes. Errors
 * (-errno) name the path: unreadable, bad magic/version/page size, another
 * memory size, truncated or trailing bytes, a page beyond guest RAM. */
int wset_read(const char *path, uint64_t mem_size, struct wset *out, char *err, size_t errlen);
void wset_free(struct wset *w);

/* Pure: parse a file's bytes (unit-testable; what wset_read does). */
int wset_parse(const uint8_t *buf, size_t len, uint64_t mem_size, struct wset *out, char *why,
	       size_t whylen);

struct wset_prefetch_stats {
	uint64_t pages, calls, touched;   /* touched: pages read one by one (fallback) */
};

/* Make the listed pages of mem (mapped from the memory file) present. */
void wset_prefetch(const struct guest_mem *mem, const struct wset *w,
		   struct wset_prefetch_stats *st);

/* Record: serve vm->mem (anonymous, UFFD_GUEST_MAP_FLAGS, regions back to
 * back in the memory file mem_fd from offset 0) and record first touches
 * into path. On success vm->wset is set. */
int wset_record_attach(struct vm *vm, int mem_fd, const char *path, unsigned record_ms,
		       char *err, size_t errlen);

/* The guest signalled readiness (it wrote the boot-complete value 123 to
 * the first MMIO page): a recording in progress ends now (the list is
 * written; the VM keeps being served). Any thread; no recording: nothing. */
void wset_record_ready(struct vm *vm);

/* Stop the thread (writing the file if not yet written) and free
 * (vm_destroy, before guest memory is unmapped). No-op when vm->wset is NULL. */
void wset_record_detach(struct vm *vm);

#endif
