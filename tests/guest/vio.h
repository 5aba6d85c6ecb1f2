/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vio.h — the test guest's virtio driver: virtio-mmio version 2 (modern)
 * transport, split virtqueues, a bump allocator for DMA buffers, and a
 * small virtio-blk request layer shared by the blk, blk-bench and hostile
 * scenarios. Private to tests/guest.
 *
 * Everything is polled by default (cheap under PVM, where every guest
 * instruction is emulated); a queue can be switched to interrupt mode, in
 * which the device's IRQ is routed through the IOAPIC to vector
 * VEC_VIRTIO + device index and the handler acks InterruptStatus.
 */
#ifndef WTEST_VIO_H
#define WTEST_VIO_H

#include "guest.h"

/* ---------------- virtio constants (virtio 1.2) ---------------- */
#define VIRTIO_MMIO_MAGIC_VALUE 0x74726976u
#define VIO_MAGIC          0x000
#define VIO_VERSION        0x004
#define VIO_DEVICE_ID      0x008
#define VIO_VENDOR_ID      0x00c
#define VIO_DEV_FEATURES   0x010
#define VIO_DEV_FEAT_SEL   0x014
#define VIO_DRV_FEATURES   0x020
#define VIO_DRV_FEAT_SEL   0x024
#define VIO_QUEUE_SEL      0x030
#define VIO_QUEUE_NUM_MAX  0x034
#define VIO_QUEUE_NUM      0x038
#define VIO_QUEUE_READY    0x044
#define VIO_QUEUE_NOTIFY   0x050
#define VIO_INT_STATUS     0x060
#define VIO_INT_ACK        0x064
#define VIO_STATUS         0x070
#define VIO_QUEUE_DESC_LO  0x080
#define VIO_QUEUE_DESC_HI  0x084
#define VIO_QUEUE_AVAIL_LO 0x090
#define VIO_QUEUE_AVAIL_HI 0x094
#define VIO_QUEUE_USED_LO  0x0a0
#define VIO_QUEUE_USED_HI  0x0a4
#define VIO_CONFIG_GEN     0x0fc
#define VIO_CONFIG         0x100

#define VS_ACK         1u
#define VS_DRIVER      2u
#define VS_DRIVER_OK   4u
#define VS_FEATURES_OK 8u
#define VS_NEEDS_RESET 64u
#define VS_FAILED      128u

#define VF_INDIRECT_DESC 28
#define VF_EVENT_IDX     29
#define VF_VERSION_1     32
#define VBIT(b)          (1ULL << (b))

#define VIRTIO_ID_NET   1
#define VIRTIO_ID_BLOCK 2

#define VD_NEXT     1
#define VD_WRITE    2
#define VD_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* ---------------- bump allocator (vio.c) ---------------- */
/* Memory above the guest image, inside the e820 RAM range that holds it.
 * Not zeroed. NULL when it does not fit. */
void *ram_alloc(uint64_t size, uint64_t align);
uint64_t ram_alloc_left(void);
/* End of the highest RAM range of the memory map. */
uint64_t ram_top(void);

/* ---------------- transport and queues (vio.c) ---------------- */
struct vdev;

struct vq {
	struct vdev *dev;
	unsigned index;
	uint16_t size;
	struct vring_desc *desc;
	volatile uint16_t *avail;   /* flags, idx, ring[size], used_event */
	volatile uint8_t *used;     /* flags, idx, {id,len}[size], avail_event */
	uint16_t avail_idx;         /* next index to publish */
	uint16_t kicked_idx;        /* avail index at the last notify decision */
	uint16_t last_used;
	bool event_idx;
	bool irq_mode;
	uint64_t kicks;             /* QueueNotify writes */
};

struct vdev {
	unsigned index;             /* position among virtio_mmio.device= entries */
	uint64_t base;
	unsigned irq;
	uint32_t device_id;         /* 0: no device behind the window */
	uint64_t offered;           /* DeviceFeatures */
	uint64_t features;          /* negotiated */
	unsigned nq;
	struct vq q[5];             /* vsock has three queues, balloon up to five */
	volatile uint32_t irqs;     /* interrupts taken */
	volatile uint32_t last_isr; /* InterruptStatus seen by the handler */
	char err[128];              /* why probe/setup failed */
};

static inline uint32_t vio_read(const struct vdev *d, unsigned off)
{
	return mmio_read32(d->base + off);
}
static inline void vio_write(const struct vdev *d, unsigned off, uint32_t v)
{
	mmio_write32(d->base + off, v);
}
/* A full barrier PVM's emulator knows (no mfence needed). */
static inline void vio_mb(void)
{
	__asm__ volatile("lock; addl $0, (%%rsp)" ::: "memory", "cc");
}

/* Read the identity registers of entry `index`: 0 and d filled (device_id
 * may be 0 = nothing there), or -1 with d->err (no such entry, bad magic,
 * not version 2). */
int vio_probe(struct vdev *d, unsigned index);
/* Reset, negotiate (want & offered; VERSION_1 required), set up nq queues
 * of min(qsize, QueueNumMax) entries each, DRIVER_OK. 0 or -1 with d->err. */
int vio_setup(struct vdev *d, uint64_t want, unsigned nq, unsigned qsize);
/* Write status 0 and wait (bounded) for it to read back 0. */
void vio_reset(struct vdev *d);
static inline uint32_t vio_status(const struct vdev *d)
{
	return vio_read(d, VIO_STATUS);
}
static inline bool vio_has(const struct vdev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}
/* Device config space (32-bit and 8-bit accesses only, as virtio-mmio
 * allows); cfg64 retries on a ConfigGeneration change. */
uint8_t vio_cfg8(const struct vdev *d, unsigned off);
uint32_t vio_cfg32(const struct vdev *d, unsigned off);
uint64_t vio_cfg64(const struct vdev *d, unsigned off);
/* Route the device's IRQ (IOAPIC pin, edge, vector VEC_VIRTIO + index) to
 * this CPU; the handler acks InterruptStatus and counts in d->irqs. Call
 * timer_calibrate() (which enables the local APIC) first. */
void vio_irq_route(struct vdev *d);
/* Mask the device's IOAPIC pin again. */
void vio_irq_unroute(struct vdev *d);

/* Put head in the next avail slot (not yet visible). */
static inline void vq_add(struct vq *q, uint16_t head)
{
	q->avail[2 + (q->avail_idx & (q->size - 1))] = head;
	q->avail_idx++;
}
/* Publish added heads and notify the device if it asked for it. */
void vq_kick(struct vq *q);
/* Next used element: true and id, len filled; false if none. */
bool vq_used(struct vq *q, uint32_t *id, uint32_t *len);
/* Polling (no used-buffer interrupts) or interrupt mode for the next
 * used element. */
void vq_poll_mode(struct vq *q);
void vq_irq_mode(struct vq *q);
/* Heads the driver published that the device has not returned. */
static inline uint16_t vq_in_flight(const struct vq *q)
{
	return (uint16_t)(q->avail_idx - q->last_used);
}

/* ---------------- virtio-blk request layer (vio_blk.c) ---------------- */
#define VBLK_F_SEG_MAX  2
#define VBLK_F_RO       5
#define VBLK_F_BLK_SIZE 6
#define VBLK_F_FLUSH    9

#define VBLK_T_IN     0
#define VBLK_T_OUT    1
#define VBLK_T_FLUSH  4
#define VBLK_T_GET_ID 8
#define VBLK_S_OK     0
#define VBLK_S_IOERR  1
#define VBLK_S_UNSUPP 2
#define VBLK_STATUS_NONE 0xff   /* pre-set: the device did not write it */
#define SECTOR 512
#define VBLK_ID_BYTES 20

struct vblk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* One request slot: slot i owns descriptors 3i..3i+2 of the queue. */
struct vblk_slot {
	struct vblk_hdr hdr;
	volatile uint8_t status;
	uint8_t pad[15];
	struct vring_desc table[4];   /* indirect table */
};

struct vblk {
	struct vdev v;
	uint64_t capacity;            /* sectors */
	bool ro;                      /* VIRTIO_BLK_F_RO offered */
	unsigned nslots;
	struct vblk_slot *slots;
	uint32_t used_len[96];        /* last used length per slot */
};

#define VBLK_MAX_SLOTS 85             /* 3 descriptors each in 256 */
#define VBLK_WANT (VBIT(VF_VERSION_1) | VBIT(VF_INDIRECT_DESC) | VBIT(VF_EVENT_IDX) | \
		   VBIT(VBLK_F_RO) | VBIT(VBLK_F_FLUSH) | VBIT(VBLK_F_BLK_SIZE) | \
		   VBIT(VBLK_F_SEG_MAX))

/* Probe entry `index`, require a block device, set it up with `want`
 * features and a queue of up to qsize entries, allocate nslots slots
 * (capped by the queue). 0 or -1 with b->v.err. */
int vblk_open(struct vblk *b, unsigned index, uint64_t want, unsigned qsize, unsigned nslots);
/* Fill slot's descriptors for one request and add it to the avail ring
 * (vq_kick() publishes). type IN/GET_ID: buf is device-writable; OUT: read
 * by the device; FLUSH: no data (buf NULL, len 0). With indirect (and
 * INDIRECT_DESC negotiated) the chain lives in the slot's indirect table. */
void vblk_queue(struct vblk *b, unsigned slot, uint32_t type, uint64_t sector, void *buf,
		uint32_t len, bool indirect);
/* Queue slot again with the same type, buffer and length as last time,
 * at another sector: only the header changes (the benchmark's hot path). */
static inline void vblk_requeue(struct vblk *b, unsigned slot, uint64_t sector)
{
	b->slots[slot].hdr.sector = sector;
	b->slots[slot].status = VBLK_STATUS_NONE;
	vq_add(&b->v.q[0], (uint16_t)(3 * slot));
}
/* Wait up to timeout_us for one completion: the slot number, or -1 on
 * timeout, -2 if the device set DEVICE_NEEDS_RESET, -3 for an id that is
 * no slot head. */
int vblk_wait(struct vblk *b, uint64_t timeout_us);
/* One request, waited for (5 s): its status byte, or -1 (printed) on
 * timeout/needs-reset. */
int vblk_rw(struct vblk *b, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	    bool indirect);

/* ---------------- virtio-net helpers (scen_net.c) ---------------- */
/* Probe entry `index`, require a network device, set it up (2 queues,
 * VERSION_1 EVENT_IDX MAC MRG_RXBUF), allocate the TX slots and, with rx,
 * post the 2 KiB RX buffers. Fails the test on any error. */
struct vdev *vnet_open(unsigned index, bool rx);
bool vnet_parse_ip(const char *s, uint8_t ip[4]);
/* One polling pass: every received frame is handled (with ip: ARP and
 * ICMP echo answered; NULL: dropped) and its buffer reposted, finished TX
 * slots reclaimed. Returns the echo replies queued so far. */
unsigned vnet_serve(const uint8_t *ip);
/* Queue one frame (a zero virtio header is put in front; padded to 60
 * bytes). false when no TX slot is free. */
bool vnet_tx_frame(const uint8_t *frame, unsigned len);
/* Wait up to timeout_ms for every queued TX frame to complete. */
bool vnet_tx_wait(uint64_t timeout_ms);
const uint8_t *vnet_mac(void);

/* ---------------- disk patterns (vio_blk.c) ---------------- */
/* Host-prepared pattern: byte j of sector s is (uint8_t)(s*7 + j). */
/* Our write pattern: (uint8_t)((s*13 + j + 1) ^ 0x5a). */
void pattern_init(void);
/* Compare n sectors at buf with the host pattern for sectors first..;
 * -1 if equal, else the byte offset of the first difference. */
int64_t pattern_check_host(const void *buf, uint64_t first, unsigned n);
int64_t pattern_check_ours(const void *buf, uint64_t first, unsigned n);
void pattern_fill_ours(void *buf, uint64_t first, unsigned n);
/* Expected byte at offset off of a buffer holding sectors first.. */
uint8_t pattern_host_byte(uint64_t first, uint64_t off);
uint8_t pattern_ours_byte(uint64_t first, uint64_t off);

#endif
