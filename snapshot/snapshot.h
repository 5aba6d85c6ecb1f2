/* SPDX-License-Identifier: Apache-2.0 */
/*
 * snapshot.h — the public interface of wisp's snapshot subsystem.
 *
 * Pure code (no KVM): the state file format (encode, decode, describe) and
 * the files a snapshot writes (atomic state file, sparse memory file).
 *
 * State file layout (all integers little-endian):
 *   header   magic u64 (SNAP_MAGIC_X86_64), major u16, minor u16,
 *            flags u32 (0), nr_sections u32, reserved u32 (0),
 *            total_len u64 (the whole file, CRC included)      = 32 bytes
 *   sections nr_sections times: type u32, instance u32, len u64, then len
 *            payload bytes, then zero padding to a multiple of 8
 *   trailer  crc64 u64: CRC-64/XZ (ECMA-182 polynomial, reflected, init and
 *            xorout all ones) of every byte before it
 * A file is at most SNAP_MAX_FILE bytes and SNAP_MAX_SECTIONS sections.
 *
 * Conventions: functions return 0 or a negative errno and put a message for
 * a person in err (naming the path, section or field); callers log it once.
 */
#ifndef WISP_SNAPSHOT_H
#define WISP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm.h"

#define SNAP_MAGIC_X86_64   0x3436785053495757ULL  /* "WWISPx64" as LE bytes */
#define SNAP_VERSION_MAJOR  1
#define SNAP_VERSION_MINOR  1   /* 1.1: the vmgenid device record (1.0 still read) */
#define SNAP_HEADER_LEN     32
#define SNAP_SECTION_HDR_LEN 16
#define SNAP_MAX_FILE       (64u << 20)     /* 64 MiB */
#define SNAP_MAX_SECTIONS   1024

/* Section types. The VMM gives them meaning; describe knows their names. */
enum snap_section_type {
	SNAP_SEC_MACHINE   = 1,  /* struct snap_machine (one, instance 0) */
	SNAP_SEC_VM_CONFIG = 2,  /* the VM configuration document (JSON text) */
	SNAP_SEC_VM_KVM    = 3,  /* PICs, IOAPIC, PIT, kvmclock (instance 0) */
	SNAP_SEC_VCPU      = 4,  /* one vCPU's KVM state (instance = vCPU id) */
	SNAP_SEC_DEVICE    = 5,  /* one device (instance = index in the VM's device list):
	                          * struct snap_device_hdr, then the device's state */
};
/* "machine", "vm-config", "vm-kvm", "vcpu", "device"; "unknown" otherwise. */
const char *snap_section_name(uint32_t type);

/* SNAP_SEC_MACHINE payload (fixed layout, 64 bytes). */
struct snap_machine {
	uint64_t mem_size;        /* bytes of guest RAM (the memory file's length) */
	uint32_t nr_vcpus;
	uint32_t nr_devices;      /* SNAP_SEC_DEVICE sections */
	uint64_t created_unix_ms; /* wall clock at creation */
	char vmm_version[16];     /* WISP_VERSION, NUL-terminated and -padded */
	uint8_t reserved[24];
};

/* Header of a SNAP_SEC_DEVICE payload (fixed layout, 104 bytes). kind and
 * id are NUL-terminated and NUL-padded. id has room for the longest id the
 * API accepts (VM_ID_MAX = 64 characters) plus its NUL, rounded up to keep
 * the following fields 8-byte aligned. */
struct snap_device_hdr {
	char kind[16];            /* "serial", "i8042", "boot-timer", "virtio-blk", ... */
	char id[VM_ID_MAX + 8];   /* drive_id / iface_id, or "" (72 bytes) */
	uint64_t mmio_base;       /* 0 for port devices */
	uint32_t irq;
	uint32_t state_len;       /* bytes of device state that follow */
};

/* ---------------- encoding ---------------- */
struct snap_writer;
/* NULL when out of memory. */
struct snap_writer *snap_writer_new(void);
void snap_writer_free(struct snap_writer *w);
/* Append a section (copies data). -E2BIG past SNAP_MAX_FILE/SNAP_MAX_SECTIONS,
 * -EEXIST if a section of this type and instance is already in (the parser
 * refuses repeats), -ENOMEM. A failed add is remembered: snap_finish() then
 * returns that error, so a file never silently lacks a section. */
int snap_add(struct snap_writer *w, uint32_t type, uint32_t instance, const void *data,
	     size_t len);
/* Append a device section: hdr (state_len is filled in; kind and id are
 * copied NUL-padded) then state. -EINVAL if kind or id has no NUL within
 * its field; otherwise as snap_add(). */
int snap_add_device(struct snap_writer *w, uint32_t instance, const struct snap_device_hdr *hdr,
		    const void *state, size_t len);
/* Lay out the file (header, sections, CRC). *buf is malloc'd and the
 * caller's; the writer is empty again afterwards (and can be freed). */
int snap_finish(struct snap_writer *w, uint8_t **buf, size_t *len);

/* ---------------- decoding ---------------- */
struct snap_section {
	uint32_t type, instance;
	uint64_t offset;          /* of the section header in the file */
	uint64_t len;             /* payload length */
	const uint8_t *data;      /* into the parsed buffer */
};

struct snap_file {
	uint16_t major, minor;
	unsigned nr;
	struct snap_section *secs;   /* malloc'd; snap_file_free() */
};

/* Check and index buf (which must outlive *out). Refuses, with a message
 * naming what is wrong: shorter than a header, over SNAP_MAX_FILE, wrong
 * magic ("not a wisp x86_64 snapshot"), another major version or a newer
 * minor ("snapshot format version X.Y, this wisp reads A.B"), total_len not
 * the buffer's length, CRC mismatch (giving both values), a section whose
 * header or payload runs past the end ("section N (type T) at offset O:
 * length L runs past the end"), too many sections, nonzero padding or
 * reserved fields, two sections of the same type and instance, and bytes
 * left over. Sections of unknown types are kept (snap_section_name()
 * calls them "unknown"). On failure *out is empty (snap_file_free() is
 * safe either way). -EINVAL (or -ENOMEM). */
int snap_parse(const uint8_t *buf, size_t len, struct snap_file *out, char *err, size_t errlen);
void snap_file_free(struct snap_file *f);
/* The section with this type and instance, or NULL. */
const struct snap_section *snap_find(const struct snap_file *f, uint32_t type, uint32_t instance);
unsigned snap_count(const struct snap_file *f, uint32_t type);
/* Split a SNAP_SEC_DEVICE payload: header copied out (NUL-terminated kind
 * and id checked), state pointer and length. -EINVAL if state_len does not
 * match the payload. */
int snap_device_split(const struct snap_section *s, struct snap_device_hdr *hdr,
		      const uint8_t **state, size_t *len, char *err, size_t errlen);
/* Read the SNAP_SEC_MACHINE section (present once, right length, nr_vcpus
 * in 1..VM_MAX_VCPUS, mem_size a non-zero multiple of 4 KiB, vmm_version
 * NUL-terminated, as many VCPU and DEVICE sections as it says with
 * instances 0..n-1, so snap_find(f, SNAP_SEC_VCPU, i) finds each one). */
int snap_machine_get(const struct snap_file *f, struct snap_machine *out, char *err,
		     size_t errlen);

/* CRC-64/XZ, chainable: crc = snap_crc64(crc, ...) starting from 0. */
uint64_t snap_crc64(uint64_t crc, const void *data, size_t len);

/* A description for a person: format version, vCPUs, memory size, wisp
 * version, creation time, every section (type name, instance, offset,
 * size) and for devices their kind, id, address and IRQ. */
void snap_describe(const struct snap_file *f, FILE *out);

/* ---------------- files ---------------- */
/* Read a whole state file (at most SNAP_MAX_FILE bytes). Messages name the
 * path: "cannot open P: E", "P is not a regular file", "P is larger than
 * ... bytes". */
int snap_read_file(const char *path, uint8_t **buf, size_t *len, char *err, size_t errlen);

/* A file being written: created under a temporary name in the directory of
 * `path` ("<path>.tmp.XXXXXX", O_EXCL, mode 0600), made final by
 * snap_out_commit() (fsync, rename, fsync of the directory) or removed by
 * snap_out_abort(). Any failing snap_out_* or snap_mem_write call removes
 * the temporary itself; snap_out_abort() is always safe to call (again,
 * after a failed open, after commit, or on a zeroed struct). */
struct snap_out {
	int fd;
	char path[VM_PATH_MAX];
	char tmp[VM_PATH_MAX + 32];
};
int snap_out_open(struct snap_out *o, const char *path, char *err, size_t errlen);
/* Write all of buf at the current offset (retries short writes, EINTR). */
int snap_out_write(struct snap_out *o, const void *buf, size_t len, char *err, size_t errlen);
/* fsync the file (so that the commit cannot fail for lack of space). */
int snap_out_sync(struct snap_out *o, char *err, size_t errlen);
/* fsync, rename over path, fsync the directory. On error the temporary is
 * removed; only a failure of the last step (the directory's fsync) leaves
 * the new file in place (its message says so). */
int snap_out_commit(struct snap_out *o, char *err, size_t errlen);
void snap_out_abort(struct snap_out *o);

/* Guest RAM as a memory file: the regions back to back in gpa order (the
 * file offset of a region is the sum of the sizes before it), written in
 * large sequential writes, every all-zero 4 KiB page left as a hole
 * (ftruncate to the full size first; the file is sparse). It replaces
 * whatever o held. Regions must be in ascending, non-overlapping gpa
 * order. backing_fd: the file the regions are mapped from (back to back,
 * as in the memory file; a memfd), whose holes are skipped without being
 * read (reading them through the mapping would allocate them); -1 to scan
 * every page. Returns 0 or -errno with a message naming the path. */
int snap_mem_write(struct snap_out *o, const struct guest_mem *mem, int backing_fd, char *err,
		   size_t errlen);

/* A diff memory file: the same size and layout, holding only the pages
 * whose bit is set in dirty[i] (one bit per 4 KiB page of region i; NULL:
 * none), every one written (zeros too), the rest holes. */
int snap_mem_write_dirty(struct snap_out *o, const struct guest_mem *mem,
			 uint64_t *const dirty[], char *err, size_t errlen);

/* Apply a diff memory file onto its base, in place: every data extent of
 * diff_path (SEEK_DATA/SEEK_HOLE) is copied to the same offset of
 * base_path, which is then fsynced. Both must be regular files of the same
 * size. Firecracker's `snapshot-editor edit-memory rebase`. */
int snap_mem_rebase(const char *base_path, const char *diff_path, char *err, size_t errlen);

#endif /* WISP_SNAPSHOT_H */
