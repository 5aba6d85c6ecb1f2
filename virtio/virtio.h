/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio.h — the public interface of wisp's virtio subsystem.
 *
 * Layers, bottom up:
 *   - split virtqueues over a guest_mem view (queue.c; pure, no KVM);
 *   - the virtio-mmio v2 register state machine (mmio.c; pure) and its
 *     wiring to the VMM bus, ioeventfds and irqfds (mmio_bus.c);
 *   - the device interface (struct device_ops, vmm.h) of every virtio-mmio
 *     device (device.c);
 *   - devices: block (blk*.c), net (net.c), entropy (rng.c), each with
 *     an optional rate limiter (ratelimit/ratelimit.h);
 *   - the table of device kinds the VMM builds from its configuration
 *     (devices.c).
 *
 * Threads: register accesses arrive on vCPU threads; queue processing, tap
 * and io_uring completions run on the VMM thread. Each transport owns one
 * mutex that serialises both.
 *
 * Conventions: functions return 0 or a negative errno and put the cause in
 * err; the caller logs it once.
 */
#ifndef WISP_VIRTIO_H
#define WISP_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm.h"

/* ------------------------------------------------------------------ */
/* Feature bits and ids (virtio 1.2)                                   */
/* ------------------------------------------------------------------ */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_IN_ORDER        35
#define VIRTIO_BIT(b)            (1ULL << (b))

#define VIRTIO_ID_NET            1
#define VIRTIO_ID_BLOCK          2
#define VIRTIO_ID_RNG            4
#define VIRTIO_ID_VSOCK          19

#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

#define VIRTIO_INT_USED_RING     1
#define VIRTIO_INT_CONFIG        2

/* ------------------------------------------------------------------ */
/* Split virtqueue (queue.c)                                           */
/* ------------------------------------------------------------------ */
#define VIRTQ_DESC_F_NEXT        1
#define VIRTQ_DESC_F_WRITE       2
#define VIRTQ_DESC_F_INDIRECT    4
#define VIRTQ_USED_F_NO_NOTIFY   1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Largest queue any wisp device offers (QueueNumMax); also the bound on the
 * number of descriptors in one chain, indirect ones included. */
#define VIRTQ_MAX_SIZE           256
/* Bound on the bytes one chain may describe (readable + writable). */
#define VIRTQ_MAX_CHAIN_BYTES    0xffffffffULL

/* Why requests failed; each counter counts one rejected chain. */
struct virtq_stats {
	uint64_t bad_desc;        /* descriptor index >= queue size, INDIRECT|NEXT, zero-length indirect */
	uint64_t loops;           /* chain longer than the queue (descriptor loop) */
	uint64_t out_of_ram;      /* a buffer or indirect table outside guest RAM */
	uint64_t nested_indirect; /* INDIRECT inside an indirect table */
	uint64_t bad_indirect;    /* indirect table length not a multiple of 16 / too long / not negotiated */
	uint64_t oversized;       /* chain describes more than VIRTQ_MAX_CHAIN_BYTES */
	uint64_t bad_order;       /* readable descriptor after a writable one */
	uint64_t bad_avail;       /* fatal: avail idx jumped too far or head >= size */
	uint64_t bad_rings;       /* QueueReady refused: size/addresses invalid */
};

/* Queue state: plain data that a snapshot saves and restores. Host pointers
 * are derived again by virtq_check() on restore. */
struct virtq {
	/* driver-visible registers */
	uint16_t max_size;        /* QueueNumMax (device constant) */
	uint16_t size;            /* QueueNum */
	bool ready;               /* QueueReady */
	uint64_t desc_addr;       /* QueueDesc */
	uint64_t avail_addr;      /* QueueDriver */
	uint64_t used_addr;       /* QueueDevice */
	/* device progress */
	uint16_t last_avail_idx;
	uint16_t next_used_idx;
	uint16_t signalled_used;
	bool signalled_used_valid;
	bool event_idx;           /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;            /* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;              /* fatal ring error: no further processing */
	struct virtq_stats stats;
	/* derived by virtq_check(), not saved */
	uint8_t *desc_hva, *avail_hva, *used_hva;
	/* why the last chain was rejected (enum virtq_reject), not saved */
	uint8_t last_reject;
};

/* Reasons a chain is rejected; each names one counter of virtq_stats. */
enum virtq_reject {
	VIRTQ_REJECT_NONE = 0, VIRTQ_REJECT_BAD_DESC, VIRTQ_REJECT_LOOP, VIRTQ_REJECT_OUT_OF_RAM,
	VIRTQ_REJECT_NESTED_INDIRECT, VIRTQ_REJECT_BAD_INDIRECT, VIRTQ_REJECT_OVERSIZED,
	VIRTQ_REJECT_BAD_ORDER,
};

/* One buffer of a chain: a host pointer into guest RAM, checked. */
struct virtq_seg {
	uint8_t *hva;
	uint32_t len;
	bool writable;
};

struct virtq_chain {
	uint16_t head;            /* id to hand back with virtq_push() */
	unsigned nr;              /* segments: readable ones first */
	unsigned nr_readable;
	uint64_t readable_len;
	uint64_t writable_len;
	struct virtq_seg segs[VIRTQ_MAX_SIZE];
};

/* Reset the driver-visible and progress state (keeps max_size). */
void virtq_reset(struct virtq *q);
/* Validate size (power of two, 1..max_size) and the three rings (aligned,
 * wholly inside RAM); on success fill the derived host pointers. -EINVAL
 * with a message naming the problem in err. Counts bad_rings. */
int virtq_check(struct virtq *q, const struct guest_mem *mem, char *err, size_t errlen);

/* Pop the next available chain.
 *   1        chain filled;
 *   0        nothing available;
 *   -EINVAL  a malformed chain: chain->head is valid, chain->nr is 0; the
 *            caller hands it back with virtq_push(q, head, 0) (counted);
 *   -EIO     the ring itself is corrupt (q->broken set): the device should
 *            ask for a reset. */
int virtq_pop(struct virtq *q, const struct guest_mem *mem, struct virtq_chain *chain);
/* After virtq_pop() returned -EINVAL: log one warning naming the device
 * (`dev`), queue, head, the reason and its counter. Rate-limited per queue:
 * the first 10 rejected chains, then each time the count of rejected chains
 * reaches a power of two. */
void virtq_log_rejected(const struct virtq *q, const char *dev, unsigned qidx, uint16_t head);
/* Give back the last n popped chains (nothing was consumed). */
void virtq_unpop(struct virtq *q, uint16_t n);
/* Number of chains the driver has made available and we have not popped. */
uint16_t virtq_avail_count(const struct virtq *q);
/* Place (head, len) in the used ring and publish the new used index. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Whether the driver wants an interrupt for what was pushed since the last
 * call (EVENT_IDX used_event, or the NO_INTERRUPT flag). */
bool virtq_should_signal(struct virtq *q);
/* Ask for notifications again (avail_event = last_avail_idx, or clear
 * NO_NOTIFY). Returns true if buffers arrived meanwhile (process again). */
bool virtq_enable_notify(struct virtq *q);
/* The vring_need_event rule: has [old, new) crossed event? */
static inline bool virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* Copy between a chain and a flat buffer. _read reads readable bytes
 * starting `off` bytes into the readable part; _write writes writable bytes
 * starting `off` bytes into the writable part. -EFAULT if the chain is too
 * short (nothing is written then). */
int virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *dst, uint64_t len);
int virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *src, uint64_t len);
/* Visit bytes [off, off + len) of the chain's readable (writable=false) or
 * writable part in order, one contiguous piece per call of fn(hva, n,
 * opaque). Stops at the first non-zero return of fn and returns it; -EFAULT
 * if the part ends before off + len (after visiting what it has); else 0. */
typedef int (*virtq_piece_fn)(uint8_t *hva, uint64_t n, void *opaque);
int virtq_chain_walk(const struct virtq_chain *c, bool writable, uint64_t off, uint64_t len,
		     virtq_piece_fn fn, void *opaque);

/* ------------------------------------------------------------------ */
/* virtio-mmio transport (mmio.c: pure; mmio_bus.c: VMM wiring)         */
/* ------------------------------------------------------------------ */
#define VIRTIO_MMIO_MAGIC        0x74726976u
#define VIRTIO_MMIO_VERSION      2
#define VIRTIO_MMIO_VENDOR       0x70736977u /* "wisp" */
#define VIRTIO_MMIO_CONFIG       0x100
#define VIRTIO_MAX_QUEUES        5   /* balloon: inflate, deflate, stats, hinting, reporting */

/* Register offsets (virtio 1.2 §4.2.2). */
enum virtio_mmio_reg {
	VMMIO_MAGIC = 0x000, VMMIO_VERSION = 0x004, VMMIO_DEVICE_ID = 0x008,
	VMMIO_VENDOR_ID = 0x00c, VMMIO_DEVICE_FEATURES = 0x010,
	VMMIO_DEVICE_FEATURES_SEL = 0x014, VMMIO_DRIVER_FEATURES = 0x020,
	VMMIO_DRIVER_FEATURES_SEL = 0x024, VMMIO_QUEUE_SEL = 0x030,
	VMMIO_QUEUE_NUM_MAX = 0x034, VMMIO_QUEUE_NUM = 0x038,
	VMMIO_QUEUE_READY = 0x044, VMMIO_QUEUE_NOTIFY = 0x050,
	VMMIO_INTERRUPT_STATUS = 0x060, VMMIO_INTERRUPT_ACK = 0x064,
	VMMIO_STATUS = 0x070, VMMIO_QUEUE_DESC_LOW = 0x080,
	VMMIO_QUEUE_DESC_HIGH = 0x084, VMMIO_QUEUE_DRIVER_LOW = 0x090,
	VMMIO_QUEUE_DRIVER_HIGH = 0x094, VMMIO_QUEUE_DEVICE_LOW = 0x0a0,
	VMMIO_QUEUE_DEVICE_HIGH = 0x0a4, VMMIO_SHM_SEL = 0x0ac,
	VMMIO_SHM_LEN_LOW = 0x0b0, VMMIO_SHM_LEN_HIGH = 0x0b4,
	VMMIO_SHM_BASE_LOW = 0x0b8, VMMIO_SHM_BASE_HIGH = 0x0bc,
	VMMIO_QUEUE_RESET = 0x0c0, VMMIO_CONFIG_GENERATION = 0x0fc,
};

/* What a device plugs into the transport. All callbacks run with the
 * transport lock held. */
struct virtio_dev_ops {
	const char *name;         /* "virtio-blk" ... */
	uint32_t device_id;
	unsigned nr_queues;       /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size;  /* <= VIRTQ_MAX_SIZE */
	/* Device config space at 0x100; off+len is within config_len. */
	size_t (*config_len)(void *dev);
	void (*config_read)(void *dev, uint32_t off, uint8_t *data, unsigned len);
	void (*config_write)(void *dev, uint32_t off, const uint8_t *data, unsigned len);
	/* DRIVER_OK was set; features are in t->state.driver_features. A
	 * negative return sets DEVICE_NEEDS_RESET. */
	int (*activate)(void *dev);
	/* Status 0 was written: drop in-flight work (queues are reset after). */
	void (*reset)(void *dev);
	/* Queue q was notified (VMM thread). */
	void (*notify)(void *dev, unsigned q);
	/* --- the device interface (struct device_ops), lock held --- */
	/* Finish in-flight work (answers reach the used ring). */
	int (*quiesce)(void *dev);
	/* Device state besides the transport (fixed size, may be 0). */
	size_t state_size;
	void (*save)(void *dev, void *buf);
	/* Check and apply; nothing changes on error. */
	int (*restore)(void *dev, const void *buf, char *err, size_t errlen);
	void (*metrics)(void *dev, struct metric_sink *sink);
	/* Free the device (called without the lock, after detach). */
	void (*destroy)(void *dev);
};

/* Transport state: plain data for snapshots. */
struct virtio_mmio_state {
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	uint32_t status;
	uint32_t interrupt_status;
	uint32_t config_generation;
	uint32_t shm_sel;
	struct virtq queues[VIRTIO_MAX_QUEUES];
};

struct virtio_mmio {
	struct virtio_mmio_state state;
	uint64_t device_features;           /* offered (constant per device) */
	const struct virtio_dev_ops *ops;
	void *dev;
	const struct guest_mem *mem;
	pthread_mutex_t lock;
	/* Raise the interrupt line (the glue writes the irqfd). */
	void (*raise_irq)(void *opaque);
	/* QueueNotify seen by the register handler (not caught by an
	 * ioeventfd): the glue forwards it to the VMM thread. If NULL the
	 * device's notify runs directly (unit tests). */
	void (*kick)(void *opaque, unsigned q);
	void *irq_opaque;
	uint64_t irqs_raised;
	/* Queue notifications handled on the VMM thread, per queue
	 * (Firecracker's *queue_event_count metrics). */
	uint64_t queue_events[VIRTIO_MAX_QUEUES];
	/* Non-zero while a device reset still completes on the VMM thread
	 * (virtio-blk Async: requests in flight): Status reads this instead
	 * of 0. Set and cleared by the device, lock held. */
	uint32_t reset_status;
	/* glue (mmio_bus.c) */
	struct vm_services svc;
	bool attached;
	uint64_t base;
	unsigned irq;
	int irq_fd;
	int notify_fd[VIRTIO_MAX_QUEUES];
	char name[32];
};

/* Initialise a transport (pure: no fds). */
void virtio_mmio_init(struct virtio_mmio *t, const struct virtio_dev_ops *ops, void *dev,
		      uint64_t device_features, const struct guest_mem *mem);
void virtio_mmio_destroy(struct virtio_mmio *t);
/* Register accesses (any width; registers below 0x100 need 4 bytes). */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, uint8_t *data, unsigned len);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, const uint8_t *data, unsigned len);

/* For devices, with the lock held: */
void virtio_mmio_lock(struct virtio_mmio *t);
void virtio_mmio_unlock(struct virtio_mmio *t);
bool virtio_mmio_driver_ok(const struct virtio_mmio *t);
bool virtio_mmio_has_feature(const struct virtio_mmio *t, unsigned bit);
/* Interrupt the driver for queue q if it asked (EVENT_IDX aware). */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q);
/* Device config changed: bump ConfigGeneration, config interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);
/* Device error: set DEVICE_NEEDS_RESET and tell the driver. */
void virtio_mmio_needs_reset(struct virtio_mmio *t, const char *why);

/* Put the transport on the VM: bus window [base, base+0x1000), an
 * ioeventfd per queue on the event loop, an irqfd on `irq`. */
int virtio_mmio_attach(struct virtio_mmio *t, const struct vm_services *svc, uint64_t base,
		       unsigned irq, char *err, size_t errlen);
/* Stop watching the notify eventfds and close the transport's fds (before
 * the device is destroyed; the bus window stays with the VM). */
void virtio_mmio_detach(struct virtio_mmio *t);

/* The transport's saved state (fixed layout, no pointers or counters). */
struct virtq_saved {
	uint16_t max_size, size;
	uint8_t ready, event_idx, indirect, broken;
	uint64_t desc_addr, avail_addr, used_addr;
	uint16_t last_avail_idx, next_used_idx, signalled_used;
	uint8_t signalled_used_valid, pad;
};

struct virtio_mmio_saved {
	uint64_t device_features;     /* offered: must match on restore */
	uint64_t driver_features;
	uint32_t device_features_sel, driver_features_sel, queue_sel, status;
	uint32_t interrupt_status, config_generation, shm_sel, nr_queues;
	struct virtq_saved queues[VIRTIO_MAX_QUEUES];
};

/* Device reset (as a driver writing status 0), lock held. */
void virtio_mmio_reset(struct virtio_mmio *t);
/* Lock held by the caller for both. */
void virtio_mmio_save(const struct virtio_mmio *t, struct virtio_mmio_saved *out);
/* Check a saved state against this transport (same offered features and
 * queue count; negotiated features offered; ready queues of a valid size
 * whose rings lie in guest RAM) and apply it, deriving the ring pointers
 * again. Nothing changes on error. */
int virtio_mmio_restore(struct virtio_mmio *t, const struct virtio_mmio_saved *in, char *err,
			size_t errlen);

/* The device interface (struct device_ops) of a virtio-mmio device: the
 * generic part in virtio/device.c, the device's own through its
 * virtio_dev_ops. struct device.dev is the transport. */
extern const struct device_ops virtio_device_ops_blk;
extern const struct device_ops virtio_device_ops_net;
extern const struct device_ops virtio_device_ops_rng;
#define VIRTIO_DEVICE_OPS_COMMON \
	.reset = virtio_device_reset, .quiesce = virtio_device_quiesce, \
	.state_size = virtio_device_state_size, .save = virtio_device_save, \
	.restore = virtio_device_restore, .restored = virtio_device_restored, \
	.destroy = virtio_device_destroy
void virtio_device_reset(void *transport);
int virtio_device_quiesce(void *transport);
size_t virtio_device_state_size(void *transport);
int virtio_device_save(void *transport, void *buf, size_t len);
int virtio_device_restore(void *transport, const void *buf, size_t len, char *err, size_t errlen);
void virtio_device_restored(void *transport);
/* The device's counters and its queues' rejected chains; a NULL
 * transport reports every counter of a device of `ops` as 0. */
void virtio_device_metrics(const struct virtio_dev_ops *ops, void *transport,
			   struct metric_sink *sink);
void virtio_device_destroy(void *transport);
/* The device behind a struct device of a virtio kind. */
static inline void *virtio_device_of(const struct device *d)
{
	return ((struct virtio_mmio *)d->dev)->dev;
}

/* ------------------------------------------------------------------ */
/* virtio-blk (blk*.c)                                                 */
/* ------------------------------------------------------------------ */
#define VIRTIO_BLK_F_SEG_MAX     2
#define VIRTIO_BLK_F_RO          5
#define VIRTIO_BLK_F_BLK_SIZE    6
#define VIRTIO_BLK_F_FLUSH       9

#define VIRTIO_BLK_T_IN          0
#define VIRTIO_BLK_T_OUT         1
#define VIRTIO_BLK_T_FLUSH       4
#define VIRTIO_BLK_T_GET_ID      8

#define VIRTIO_BLK_S_OK          0
#define VIRTIO_BLK_S_IOERR       1
#define VIRTIO_BLK_S_UNSUPP      2

#define VIRTIO_BLK_SECTOR        512
#define VIRTIO_BLK_ID_BYTES      20
#define VIRTIO_BLK_SEG_MAX       (VIRTQ_MAX_SIZE - 2)
#define VIRTIO_BLK_QUEUE_DEPTH   64   /* async requests in flight */

/* A parsed request: header, data as an iovec list, status byte. */
struct virtio_blk_req {
	uint32_t type;
	uint64_t sector;
	uint8_t *status;          /* NULL: no place to answer */
	uint64_t data_len;
	unsigned niov;
	struct iovec iov[VIRTIO_BLK_SEG_MAX];
};

/* Parse a chain (pure). 0: well formed (type may still be unsupported).
 * -EINVAL: malformed, message in err; answer IOERR if req->status is set,
 * else return the chain with used length 0. */
int virtio_blk_parse(const struct virtq_chain *c, struct virtio_blk_req *req, char *err,
		     size_t errlen);

struct virtio_blk_stats {
	uint64_t read_count, write_count, flush_count, get_id_count;
	uint64_t read_bytes, write_bytes;
	uint64_t invalid_reqs;    /* malformed chains and requests */
	uint64_t io_errors;       /* IOERR answers, past-end and RO writes included */
	uint64_t unsupported;
	uint64_t inflight_max;
};

struct virtio_blk;

/* Open the image per cfg (O_RDONLY if read-only) and build the device; the
 * transport is ready for virtio_mmio_attach(). err names the path. */
int virtio_blk_create(const struct drive_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_blk **out, char *err,
		      size_t errlen);
void virtio_blk_destroy(struct virtio_blk *b);
struct virtio_mmio *virtio_blk_transport(struct virtio_blk *b);
void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *out);
/* Swap the backing file (PATCH /drives after boot): reopen with the same
 * mode, recompute capacity, raise a config-change interrupt. On error
 * nothing changes. */
int virtio_blk_update_path(struct virtio_blk *b, const char *path, char *err, size_t errlen);
/* PATCH /drives rate_limiter after boot: buckets `set` in patch replace
 * the current ones (size 0: removed), the others stay (Firecracker's). */
void virtio_blk_update_rate_limiter(struct virtio_blk *b, const struct rate_limiter_config *patch);
/* Process queue 0 / async completions now (normally driven by the event
 * loop; exposed for tests). */
void virtio_blk_process(struct virtio_blk *b);
/* Async engine: wait for and reap at least one completion (tests). */
int virtio_blk_wait_completions(struct virtio_blk *b);

/* ------------------------------------------------------------------ */
/* virtio-net (net.c)                                                  */
/* ------------------------------------------------------------------ */
#define VIRTIO_NET_F_CSUM        0
#define VIRTIO_NET_F_GUEST_CSUM  1
#define VIRTIO_NET_F_MTU         3
#define VIRTIO_NET_F_MAC         5
#define VIRTIO_NET_F_GUEST_TSO4  7
#define VIRTIO_NET_F_GUEST_TSO6  8
#define VIRTIO_NET_F_GUEST_UFO   10
#define VIRTIO_NET_F_HOST_TSO4   11
#define VIRTIO_NET_F_HOST_TSO6   12
#define VIRTIO_NET_F_HOST_UFO    14
#define VIRTIO_NET_F_MRG_RXBUF   15

#define VIRTIO_NET_HDR_LEN       12   /* struct virtio_net_hdr_v1 */
#define VIRTIO_NET_MAX_FRAME     65562 /* 12 + 64 KiB GSO frame + Ethernet/VLAN */

struct virtio_net_stats {
	uint64_t rx_bytes, rx_packets, rx_drops, rx_errors, rx_wait_buffers;
	uint64_t tx_bytes, tx_packets, tx_drops, tx_errors, tx_oversized;
};

struct virtio_net;

/* Open the tap by name and build the device. err names the tap. */
int virtio_net_create(const struct net_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_net **out, char *err,
		      size_t errlen);
/* Same, over an already open tap-like fd (tests; ownership passes). */
int virtio_net_create_fd(const struct net_config *cfg, int tap_fd, const struct guest_mem *mem,
			 const struct vm_services *host, struct virtio_net **out, char *err,
			 size_t errlen);
void virtio_net_destroy(struct virtio_net *n);
struct virtio_mmio *virtio_net_transport(struct virtio_net *n);
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out);
/* PATCH /network-interfaces after boot: each non-NULL patch updates that
 * direction's limiter as virtio_blk_update_rate_limiter() does. */
void virtio_net_update_rate_limiters(struct virtio_net *n, const struct rate_limiter_config *rx,
				     const struct rate_limiter_config *tx);

/* ------------------------------------------------------------------ */
/* virtio-balloon (balloon.c)                                          */
/* ------------------------------------------------------------------ */
#define VIRTIO_ID_BALLOON                 5
#define VIRTIO_BALLOON_F_STATS_VQ         1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM   2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT   3
#define VIRTIO_BALLOON_F_REPORTING        5
#define VIRTIO_BALLOON_HINT_STOP          0   /* free_page_hint_cmd_id values */
#define VIRTIO_BALLOON_HINT_DONE          1
#define BALLOON_NR_STATS                  16  /* tags 0..15 (VIRTIO_BALLOON_S_*) */

/* The latest statistics: val[tag] is meaningful where bit tag of present
 * is set (the guest reported it). */
struct balloon_stats {
	uint32_t target_pages, actual_pages;
	uint32_t present;
	uint64_t val[BALLOON_NR_STATS];
};

/* A run of guest pages: page frames [pfn, pfn + npages). */
struct balloon_range {
	uint64_t pfn, npages;
};

struct virtio_balloon_counters {
	uint64_t activate_fails, inflate_count, stats_updates_count, stats_update_fails;
	uint64_t deflate_count, event_fails;
	uint64_t free_page_report_count, free_page_report_freed, free_page_report_fails;
	uint64_t free_page_hint_count, free_page_hint_freed, free_page_hint_fails;
	uint64_t inflated_pages;   /* pages given back to the host */
	uint64_t deflated_pages;
	uint64_t invalid_pfns;     /* page frames outside guest RAM, refused */
	uint64_t discard_fails;    /* madvise refused */
};

/* Pure: sort pfns[0..n) in place and merge it into runs (duplicates
 * dropped); out has room for n. Returns the number of runs. */
size_t balloon_compact_pfns(uint32_t *pfns, size_t n, struct balloon_range *out);
/* Pure: does the 4 KiB page frame lie wholly inside guest RAM? */
bool balloon_pfn_valid(const struct guest_mem *mem, uint32_t pfn);
/* Pure: read len bytes of 10-byte {le16 tag, le64 value} records into st
 * (present bits set); returns how many had an unknown tag (ignored). */
int balloon_parse_stats(const uint8_t *buf, size_t len, struct balloon_stats *st);

struct virtio_balloon;
extern const struct device_ops virtio_device_ops_balloon;

/* Build the device (amount_mib must fit in guest RAM). */
int virtio_balloon_create(const struct balloon_config *cfg, const struct guest_mem *mem,
			  const struct vm_services *host, struct virtio_balloon **out, char *err,
			  size_t errlen);
void virtio_balloon_destroy(struct virtio_balloon *b);
struct virtio_mmio *virtio_balloon_transport(struct virtio_balloon *b);
/* The configuration as it is now (target and interval after PATCHes). */
void virtio_balloon_get_config(struct virtio_balloon *b, struct balloon_config *out);
/* PATCH /balloon, /balloon/statistics and the hinting commands. On error
 * err holds Firecracker's BalloonError text and nothing changed:
 * -ENODEV the driver is not active, -EINVAL refused value, -ENOTSUP the
 * feature was not configured. */
int virtio_balloon_set_target(struct virtio_balloon *b, uint32_t amount_mib, char *err,
			      size_t errlen);
int virtio_balloon_set_stats_interval(struct virtio_balloon *b, uint16_t secs, char *err,
				      size_t errlen);
/* -ENOTSUP when statistics are disabled. */
int virtio_balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out);
void virtio_balloon_get_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out);
int virtio_balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop, char *err,
			      size_t errlen);
int virtio_balloon_hint_stop(struct virtio_balloon *b, char *err, size_t errlen);
int virtio_balloon_hint_status(struct virtio_balloon *b, uint32_t *host_cmd, bool *has_guest_cmd,
			       uint32_t *guest_cmd, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* virtio-rng (rng.c): the entropy device                              */
/* ------------------------------------------------------------------ */
struct virtio_rng;

/* Build the device (getrandom(), cfg's rate limiter); the transport is
 * ready for virtio_mmio_attach(). */
int virtio_rng_create(const struct entropy_config *cfg, const struct guest_mem *mem,
		      const struct vm_services *host, struct virtio_rng **out, char *err,
		      size_t errlen);
void virtio_rng_destroy(struct virtio_rng *r);
struct virtio_mmio *virtio_rng_transport(struct virtio_rng *r);
/* Serve the queue now (normally the event loop does; tests). */
void virtio_rng_process(struct virtio_rng *r);

/* ------------------------------------------------------------------ */
/* virtio-vsock with Firecracker's hybrid (Unix socket) backend (vsock*.c) */
/* ------------------------------------------------------------------ */
extern const struct device_ops virtio_device_ops_vsock;
struct virtio_vsock;

/* Bind and listen on cfg->uds_path (refused if the path exists, as in
 * Firecracker) and build the device; the socket is unlinked by destroy. */
int virtio_vsock_create(const struct vsock_config *cfg, const struct guest_mem *mem,
			const struct vm_services *host, struct virtio_vsock **out, char *err,
			size_t errlen);
void virtio_vsock_destroy(struct virtio_vsock *v);
struct virtio_mmio *virtio_vsock_transport(struct virtio_vsock *v);
/* Serve the host sockets once (normally the event loop does; tests). */
void virtio_vsock_poll(struct virtio_vsock *v);
/* Put VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue (lock held;
 * done after a restore). 0, or -ENOBUFS without an event buffer. */
int virtio_vsock_transport_reset(struct virtio_vsock *v);

/* ------------------------------------------------------------------ */
/* Registration (devices.c)                                            */
/* ------------------------------------------------------------------ */
/* Build every virtio device of cfg and append it to `list`: the root
 * drive first (so it is /dev/vda), the other drives in config order, then
 * the network interfaces; device i sits at VIRTIO_MMIO_BASE + i*0x1000 with
 * IRQ VIRTIO_IRQ_BASE + i. Call after guest memory and the event loop
 * exist, before vCPUs run. On error the devices added are destroyed and
 * err names the drive/iface and path/tap. */
int virtio_devices_create(const struct vm_services *svc, const struct vm_config *cfg,
			  struct device_list *list, char *err, size_t errlen);
/* The drive / network device with that id in list, or NULL. */
struct virtio_blk *virtio_devices_blk(struct device_list *list, const char *drive_id);
struct virtio_net *virtio_devices_net(struct device_list *list, const char *iface_id);
/* The balloon device in list, or NULL. */
struct virtio_balloon *virtio_devices_balloon(struct device_list *list);
/* Is d a virtio-mmio device (announced with virtio_mmio.device=)? */
bool virtio_device_is(const struct device *d);

#endif /* WISP_VIRTIO_H */
