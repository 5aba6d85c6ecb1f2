/* SPDX-License-Identifier: Apache-2.0 */
/*
 * blk_internal.h — what the files of virtio-blk share; nothing outside
 * virtio/blk*.c includes it (the public interface is in virtio.h).
 *
 *   blk.c         the device: create/destroy, config space, queue
 *                 processing, backing-file swap, the device-interface hooks;
 *   blk_req.c     the request parser (pure);
 *   blk_answer.c  what both engines share: the checks made before any I/O
 *                 and the answer (status byte, used length, counters);
 *   blk_sync.c    the Sync engine (preadv/pwritev/fdatasync on the VMM thread);
 *   blk_uring.c   the Async engine (io_uring; completions on an eventfd).
 *
 * Everything here runs with the transport lock held unless it says otherwise.
 */
#ifndef WISP_VIRTIO_BLK_INTERNAL_H
#define WISP_VIRTIO_BLK_INTERNAL_H

#include <liburing.h>

#include "ratelimit.h"
#include "virtio.h"

struct blk_slot;   /* one io_uring request in flight (blk_uring.c) */

struct virtio_blk {
	struct virtio_mmio t;
	struct drive_config cfg;
	struct vm_services host;
	int fd;
	uint64_t nsectors;
	bool async;
	struct io_uring ring;
	bool ring_ready;
	int ring_efd;
	unsigned inflight;
	unsigned orphans;           /* of inflight: submitted before a device reset */
	struct blk_slot *slots;
	struct virtio_blk_stats stats;
	struct virtq_chain chain;   /* scratch */
	struct virtio_blk_req req;  /* scratch */
	/* rate limiter (drive_config.rate_limiter; PATCH replaces buckets) */
	struct rate_limiter rl;
	bool rl_watched;            /* its timerfd is on the event loop */
	uint64_t rl_throttled;      /* rate_limiter_throttled_events */
	uint64_t rl_events;         /* rate_limiter_event_count */
};

/* blk.c: serve the request queue. */
void blk_process_locked(struct virtio_blk *b);

/* blk_answer.c */
/* Checks common to both engines. Returns a status, or -1 to go on. */
int blk_precheck(struct virtio_blk *b, const struct virtio_blk_req *req);
/* Write the status byte, count the request and push it to the used ring. */
void blk_complete(struct virtio_blk *b, uint16_t head, uint8_t *status, uint32_t type,
		  uint64_t data_len, uint8_t st);

/* blk_sync.c: serve a parsed request now; returns its status. */
uint8_t blk_sync_exec(struct virtio_blk *b, struct virtio_blk_req *req);

/* blk_uring.c */
/* Slots, ring, eventfd and its watch on the event loop (at create, no lock).
 * On error what was set up stays for blk_uring_teardown(). */
int blk_uring_setup(struct virtio_blk *b, char *err, size_t errlen);
/* Retire what is in flight and free the ring, eventfd and slots (at
 * destroy, takes the lock; harmless on a Sync device). */
void blk_uring_teardown(struct virtio_blk *b);
/* Hand the request to io_uring. -1 submitted, or a status to answer now. */
int blk_uring_submit(struct virtio_blk *b, uint16_t head, struct virtio_blk_req *req);
/* Enter the kernel with the prepared SQEs if `submitted` or any are left. */
void blk_uring_submit_prepared(struct virtio_blk *b, bool submitted);
/* Reap finished io_uring requests. With `answer`, their status goes to the
 * guest; otherwise (destroy) they are only retired, as are orphans (of a
 * device reset) always. Returns the number answered. */
unsigned blk_uring_reap(struct virtio_blk *b, bool answer);
/* Wait until nothing is in flight (quiesce, backing-file swap, destroy). */
void blk_uring_drain(struct virtio_blk *b, bool answer);
/* A guest's device reset (vCPU thread; no system call but an eventfd
 * write): what is in flight becomes orphans, and the Status register
 * reads non-zero (t.reset_status) until the VMM thread has reaped them. */
void blk_uring_reset(struct virtio_blk *b);
/* VMM thread, device not DRIVER_OK: submit what is left, reap orphans. */
void blk_uring_finish_reset(struct virtio_blk *b);
/* Create `ring` as the Async engine uses it: disabled; `fd` registered as
 * fixed file 0 and `efd` (if >= 0) as its completion eventfd; restricted to
 * READV/WRITEV/FSYNC SQEs on registered files and, once enabled, to the
 * IORING_REGISTER_FILES_UPDATE register operation; then enabled. Returns 0
 * or -errno (nothing left open). */
int blk_uring_ring_init(struct io_uring *ring, unsigned entries, int fd, int efd);
/* Make `fd` registered file 0 (PATCH /drives; nothing in flight). */
int blk_uring_update_file(struct virtio_blk *b, int fd);

#endif /* WISP_VIRTIO_BLK_INTERNAL_H */
