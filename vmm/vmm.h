/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmm.h — the public interface of the wisp VMM core.
 *
 * Other subsystems (virtio/, api/, snapshot/) include only this header. It
 * gives them: logging, the guest-memory view, the VM configuration types the
 * API and --config-file produce, the event loop, the MMIO/PIO bus, interrupt
 * lines and queue-notify eventfds.
 *
 * Conventions: functions return 0 or a negative errno; the cause is logged
 * once, where it is known.
 */
#ifndef WISP_VMM_H
#define WISP_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "boot/cputemplate.h"   /* CPU templates: struct cpu_template */

/* ------------------------------------------------------------------ */
/* Version                                                             */
/* ------------------------------------------------------------------ */
#define WISP_VERSION "0.2.0"
/* The Firecracker release whose API, command line, logs and metrics wisp
 * implements; reported where Firecracker reports its own version (--version,
 * GET /version, GET / vmm_version, "Running Firecracker v..."), see docs/api.md. */
#define WISP_FC_VERSION "1.17.0"
#define WISP_APP_NAME "wisp"

/* ------------------------------------------------------------------ */
/* Little-endian fields at any alignment (kernel images, snapshot files, */
/* KVM state buffers). wisp is x86_64 only: these are plain copies that   */
/* say what the bytes are.                                              */
/* ------------------------------------------------------------------ */
static inline uint16_t ld_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st_le16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* ------------------------------------------------------------------ */
/* Logging (vmm/log/log.c)                                             */
/* ------------------------------------------------------------------ */
enum log_level {
	LOG_OFF = 0,
	LOG_ERROR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
	LOG_TRACE = 5,
};

/* Parse a Firecracker level name (case-insensitive: Error, Warning, Info,
 * Debug, Trace, Off). Returns 0 and sets *out, or -EINVAL. */
int log_level_parse(const char *name, enum log_level *out);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Where log lines go: a path (file or named pipe, opened O_APPEND|O_NONBLOCK),
 * or NULL for stderr. A full pipe drops lines and counts them. */
int log_set_path(const char *path);
void log_set_format(bool show_level, bool show_origin);
void log_get_format(bool *show_level, bool *show_origin);
/* Instance id printed in each line (Firecracker prints "[<id>:<thread>]"). */
void log_set_id(const char *id);
/* Name of the calling thread in log lines ("main", "fc_api", "fc_vcpu 0"). */
void log_set_thread_name(const char *name);
uint64_t log_dropped_lines(void);
/* Lines a full or failing destination did not take (metrics
 * logger.missed_log_count; in log_dropped_lines() too). */
uint64_t log_missed_lines(void);
/* Firecracker's logger `module` filter: only lines whose origin starts with
 * it are written. wisp's origins are source paths ("virtio/blk.c"); "::"
 * in a Rust-style module path reads as "/". NULL or "": no filter. */
void log_set_module(const char *module);

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* log_msg for a fatal signal handler (seccomp's SIGSYS): no allocation,
 * never waits long for the logger's lock; false if nothing was written. */
bool log_msg_from_signal(enum log_level level, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Every log_error/_warn/_info/_debug call site has its own token bucket
 * (a guest that triggers one line a million times must not flood the host
 * log): LOG_SITE_BURST lines at once, then one per LOG_SITE_INTERVAL_MS.
 * Lines over it are dropped and counted (metrics logger.rate_limited_log_count);
 * the site's next line that passes ends in "[N similar lines suppressed]".
 * Levels that are off cost nothing and use no tokens. */
#define LOG_SITE_BURST       10
#define LOG_SITE_INTERVAL_MS 500
struct log_site {
	uint64_t last_ns;     /* when tokens were last refilled (monotonic) */
	uint32_t tokens;
	uint32_t suppressed;  /* since the last line that passed */
	bool started;
};
void log_msg_site(struct log_site *site, enum log_level level, const char *file, int line,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Lines the per-site limits dropped (in log_dropped_lines() too). */
uint64_t log_suppressed_lines(void);

#define LOG_SITE_(level, ...)                                                          \
	do {                                                                           \
		static struct log_site log_site_;                                      \
		log_msg_site(&log_site_, level, __FILE__, __LINE__, __VA_ARGS__);      \
	} while (0)
#define log_error(...) LOG_SITE_(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  LOG_SITE_(LOG_WARN, __VA_ARGS__)
#define log_info(...)  LOG_SITE_(LOG_INFO, __VA_ARGS__)
#define log_debug(...) LOG_SITE_(LOG_DEBUG, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Guest memory (vmm/guest_mem.c; pure, no KVM)                        */
/* ------------------------------------------------------------------ */
#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;   /* guest-physical start */
	uint64_t size;  /* bytes */
	uint8_t *hva;   /* host mapping of the whole region */
	/* With dirty page tracking: one bit per 4 KiB page that wisp itself
	 * wrote (devices: used rings, buffers the guest handed to a device),
	 * which KVM's dirty log does not see; else NULL. */
	uint64_t *dirty;
};

struct guest_mem {
	unsigned nr_regions;
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
};

/* x86_64 memory map (Firecracker's, with the MMIO gap at 3 GiB). */
#define MMIO_GAP_START    0xC0000000ULL  /* 3 GiB */
#define MMIO_GAP_END      0x100000000ULL /* 4 GiB */
#define BOOT_TIMER_ADDR   MMIO_GAP_START /* first MMIO page */
#define BOOT_COMPLETE_VALUE 123          /* the guest's 1-byte boot-complete write there */
#define VIRTIO_MMIO_BASE  (MMIO_GAP_START + 0x1000)
#define VIRTIO_MMIO_SIZE  0x1000
#define VIRTIO_IRQ_BASE   5
/* The ACPI generic event device's interrupt (VMGenID's "new generation"
 * notification, edge, active high): the one ISA pin no other device uses
 * (0 timer, 1 i8042, 2 cascade, 4 serial, 5..23 virtio). */
#define GED_IRQ           3
#define IOAPIC_ADDR       0xFEC00000ULL
#define LAPIC_ADDR        0xFEE00000ULL

/* Split mem_size bytes of RAM around the MMIO gap: [0, min(size, 3G)) and,
 * if larger, [4G, 4G + rest). Fills gpa/size only (hva NULL). Returns the
 * number of regions (1 or 2). */
unsigned guest_mem_layout(uint64_t mem_size, struct guest_region out[2]);

/* Host pointer for [gpa, gpa+len) if the whole range lies inside one region,
 * else NULL. len 0 is allowed (returns the pointer if gpa is inside RAM or at
 * its end). Never overflows. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Copy in/out with the same bounds rule; -EFAULT when out of RAM. */
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
uint64_t guest_mem_total(const struct guest_mem *mem);
/* One past the highest guest-physical RAM address. */
uint64_t guest_mem_end(const struct guest_mem *mem);
/* Record that wisp wrote (or may write) host bytes [hva, hva+len) of guest
 * RAM: sets their pages' bits in the region's dirty bitmap, if it has one.
 * Any thread; ranges outside RAM are ignored. */
void guest_mem_mark_dirty(const struct guest_mem *mem, const void *hva, uint64_t len);

/* ------------------------------------------------------------------ */
/* VM configuration: what the API and --config-file produce            */
/* ------------------------------------------------------------------ */
#define VM_MAX_VCPUS     32
#define VM_MAX_DRIVES    16
#define VM_MAX_NETS      16
#define VM_ID_MAX        64
#define VM_PATH_MAX      4096
#define VM_CMDLINE_MAX   4096

/* Firecracker's TokenBucketConfig / RateLimiterConfig (ratelimit/ratelimit.h
 * implements them). In a stored configuration a bucket is `set` only when it
 * limits (size > 0 and refill_time > 0): `{}`, null buckets and size 0 mean
 * no limit. In a PATCH, `set` means the bucket was given (and replaces the
 * current one; given but size or refill_time 0 removes it). */
struct token_bucket_config {
	bool set;
	uint64_t size;            /* tokens (bytes or operations) */
	uint64_t one_time_burst;  /* extra tokens, once; 0: none */
	uint64_t refill_time;     /* ms to refill `size` tokens */
};

struct rate_limiter_config {
	struct token_bucket_config bandwidth;   /* bytes */
	struct token_bucket_config ops;         /* operations */
};

static inline bool token_bucket_limits(const struct token_bucket_config *b)
{
	return b->set && b->size > 0 && b->refill_time > 0;
}

static inline bool rate_limiter_limits(const struct rate_limiter_config *r)
{
	return token_bucket_limits(&r->bandwidth) || token_bucket_limits(&r->ops);
}

/* PUT /entropy: the virtio-rng device (one at most). */
struct entropy_config {
	bool set;
	struct rate_limiter_config rate_limiter;
};

/* PUT /balloon: the virtio-balloon device (one at most). */
struct balloon_config {
	bool set;
	uint32_t amount_mib;               /* target size */
	bool deflate_on_oom;
	uint16_t stats_polling_interval_s; /* 0: no statistics queue */
	bool free_page_hinting;
	bool free_page_reporting;
};

enum cache_type { CACHE_UNSAFE = 0, CACHE_WRITEBACK = 1 };
enum io_engine { IO_ENGINE_SYNC = 0, IO_ENGINE_ASYNC = 1 };

struct drive_config {
	char drive_id[VM_ID_MAX + 1];
	char path_on_host[VM_PATH_MAX];
	bool is_root_device;
	bool is_read_only;
	char partuuid[VM_ID_MAX + 1];   /* "" if absent */
	enum cache_type cache_type;
	enum io_engine io_engine;
	struct rate_limiter_config rate_limiter;
};

struct net_config {
	char iface_id[VM_ID_MAX + 1];
	char host_dev_name[16];          /* IFNAMSIZ */
	bool has_mac;
	uint8_t guest_mac[6];
	uint16_t mtu;                    /* 0 = not advertised */
	struct rate_limiter_config rx_rate_limiter;
	struct rate_limiter_config tx_rate_limiter;
};

struct boot_source_config {
	bool set;
	char kernel_image_path[VM_PATH_MAX];
	char initrd_path[VM_PATH_MAX];   /* "" if none */
	bool has_boot_args;
	char boot_args[VM_CMDLINE_MAX];
};

enum huge_pages { HUGE_PAGES_NONE = 0, HUGE_PAGES_TRANSPARENT, HUGE_PAGES_2M };

struct machine_config {
	unsigned vcpu_count;     /* 1..32, 1 or even when smt */
	unsigned mem_size_mib;   /* > 0 */
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	/* cpu_template: a static template, or CUSTOM (vm_config.cpu_config).
	 * cpu_template_given: the parsed object had the field (a PUT without
	 * it keeps the current template, as in Firecracker). */
	enum cpu_template_kind cpu_template;
	bool cpu_template_given;
};

struct logger_config {
	bool set;
	char log_path[VM_PATH_MAX];
	enum log_level level;
	bool show_level;
	bool show_log_origin;
	char module[VM_PATH_MAX];        /* Firecracker's `module` filter, "" none */
};

#define METRICS_PROPERTIES_MAX 4096
struct metrics_config {
	bool set;
	char metrics_path[VM_PATH_MAX];
	bool emit_id;                    /* "id" in each line */
	/* "properties": the compact JSON object of string values, "" none */
	char properties[METRICS_PROPERTIES_MAX];
};

/* The vsock device (PUT /vsock, config "vsock"): Firecracker's hybrid
 * vsock over Unix sockets at uds_path (virtio/vsock.c, docs/vsock.md). */
#define VSOCK_UDS_PATH_MAX 107   /* sizeof(sun_path) - 1 */
struct vsock_config {
	bool set;
	uint64_t guest_cid;              /* >= 3 */
	char uds_path[VSOCK_UDS_PATH_MAX + 1];
	char vsock_id[VM_ID_MAX + 1];    /* deprecated; "" if absent */
};

/* PUT /serial (Firecracker 1.14+) and the document's "serial" (wisp's):
 * the guest's serial output goes to serial_out_path instead of stdout. */
struct serial_config {
	bool set;
	char serial_out_path[VM_PATH_MAX];   /* "" if absent: stdout */
	struct token_bucket_config rate_limiter;   /* bytes; not set: no limit */
};

struct vm_config {
	struct boot_source_config boot;
	struct machine_config machine;
	unsigned nr_drives;
	struct drive_config drives[VM_MAX_DRIVES];
	unsigned nr_nets;
	struct net_config nets[VM_MAX_NETS];
	struct logger_config logger;
	struct metrics_config metrics;
	struct balloon_config balloon;
	struct vsock_config vsock;
	struct entropy_config entropy;
	/* PUT /cpu-config, "cpu-config": used when machine.cpu_template is
	 * CPU_TEMPLATE_CUSTOM (docs/cpu-templates.md). */
	struct cpu_template cpu_config;
	struct serial_config serial;
};

/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, no dirty tracking. */
void vm_config_init(struct vm_config *cfg);

/* Firecracker's default kernel command line, used when boot_args is absent. */
#define DEFAULT_KERNEL_CMDLINE \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 " \
	"i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

/* ------------------------------------------------------------------ */
/* Event loop (vmm/evloop.c): one epoll loop on the VMM thread         */
/* ------------------------------------------------------------------ */
struct evloop;
typedef void (*ev_handler)(int fd, uint32_t events, void *opaque);

/* Register fd for EPOLLIN-style events; the handler runs on the VMM thread. */
int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_handler fn, void *opaque);
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
int evloop_del(struct evloop *loop, int fd);

/* ------------------------------------------------------------------ */
/* Bus: MMIO and port I/O dispatch from vCPU threads (vmm/bus.c)        */
/* ------------------------------------------------------------------ */
/* Handlers run on a vCPU thread; a device serialises its own state.
 * `data` holds `len` bytes (1, 2, 4 or 8), little-endian. */
struct bus_ops {
	void (*read)(void *opaque, uint64_t offset, uint8_t *data, unsigned len);
	void (*write)(void *opaque, uint64_t offset, const uint8_t *data, unsigned len);
};

enum bus_kind { BUS_PIO = 0, BUS_MMIO = 1 };

/* ------------------------------------------------------------------ */
/* Services: everything a device may ask of the VM                      */
/* ------------------------------------------------------------------ */
/* Devices reach the VM only through this struct (function pointers, so
 * device code links and is unit-tested without the VMM runtime). `vm` is
 * opaque to devices and passed back to every call. Calls that take `vm`
 * may run on any thread unless noted. */
struct vm_services {
	void *vm;
	const struct guest_mem *mem;
	struct evloop *loop;
	/* Register a PIO or MMIO window (device creation, VMM thread). */
	int (*bus_register)(void *vm, enum bus_kind kind, uint64_t base, uint64_t size,
			    const struct bus_ops *ops, void *opaque, const char *name);
	/* An eventfd wired to GSI `gsi` with KVM_IRQFD; writing 1 raises it. */
	int (*irqfd)(void *vm, unsigned gsi);
	/* An eventfd KVM signals when the guest writes `datamatch` (if
	 * match_data) as a `len`-byte value to MMIO address `addr`. */
	int (*ioeventfd)(void *vm, uint64_t addr, unsigned len, bool match_data,
			 uint64_t datamatch);
	/* The VMM thread's event loop (evloop_add/_mod/_del). */
	int (*fd_add)(struct evloop *loop, int fd, uint32_t events, ev_handler fn, void *opaque);
	int (*fd_mod)(struct evloop *loop, int fd, uint32_t events);
	int (*fd_del)(struct evloop *loop, int fd);
	/* The guest asked to end the VM (reset, shutdown): exit with code. */
	void (*request_exit)(void *vm, int code);
};

/* ------------------------------------------------------------------ */
/* Devices: one shape for every device (vmm/device.c)                   */
/* ------------------------------------------------------------------ */
/* A device's metrics: it names each counter it has (totals since it was
 * created); the VMM turns them into Firecracker's metrics sections. */
struct metric_sink {
	void (*put)(struct metric_sink *sink, const char *name, uint64_t value);
};

/* What every device implements. A device is created from its
 * configuration by its own create function (which registers its bus
 * window, irqfd and event-loop fds through struct vm_services) and then
 * either runs from reset state (boot) or is given saved state (restore).
 * All operations run on the VMM thread; save/restore/quiesce only while
 * the vCPUs are paused or not yet started. */
struct device_ops {
	const char *kind;            /* "serial", "i8042", "boot-timer", "virtio-blk"... */
	const char *metrics_section; /* "uart", "i8042", "block", "net"; NULL: none */
	/* Back to power-on state (nothing in flight afterwards). */
	void (*reset)(void *dev);
	/* Finish (or cancel) in-flight work so that the saved state is
	 * complete. 0 or -errno. */
	int (*quiesce)(void *dev);
	/* Bytes of saved state (a fixed-layout plain struct of the device:
	 * guest-visible registers, no fds, pointers or counters). */
	size_t (*state_size)(void *dev);
	int (*save)(void *dev, void *buf, size_t len);
	/* Check a saved state against this device (created from the same
	 * configuration) and apply it, or change nothing and explain in err. */
	int (*restore)(void *dev, const void *buf, size_t len, char *err, size_t errlen);
	/* Second half of a restore (optional), once every device and the VM's
	 * interrupt controllers hold their saved state: raise pending
	 * interrupts again and restart I/O (tap polling, queued requests). */
	void (*restored)(void *dev);
	/* Report counters (optional). dev NULL: report every counter a device
	 * of this kind has, as 0 (so a metrics section always has its keys). */
	void (*metrics)(void *dev, struct metric_sink *sink);
	void (*destroy)(void *dev);
};

#define DEVICE_MAX 24   /* serial, i8042, boot timer, vmgenid and up to 19 virtio devices */

struct device {
	const struct device_ops *ops;
	void *dev;
	char id[VM_ID_MAX + 1];      /* drive_id / iface_id; "" for legacy devices */
	uint64_t mmio_base;          /* MMIO window (0 for port I/O devices) */
	unsigned irq;
};

struct device_list {
	unsigned nr;
	struct device devs[DEVICE_MAX];
};

/* Append a device; -ENOSPC when full. */
int device_list_add(struct device_list *l, const struct device *d);
/* The first device of `kind` with `id` (NULL id: any), or NULL. */
struct device *device_list_find(struct device_list *l, const char *kind, const char *id);
/* Destroy every device, last first, and empty the list. */
void device_list_destroy(struct device_list *l);

/* ------------------------------------------------------------------ */
/* Legacy devices (vmm/devices/)                                        */
/* ------------------------------------------------------------------ */
extern const struct device_ops serial_device_ops, i8042_device_ops, boot_timer_device_ops;
/* 16550A UART at 0x3f8, IRQ 4: guest output to out_fd, input from in_fd
 * (-1: none). */
int serial_create(const struct vm_services *svc, int in_fd, int out_fd, struct device *out,
		  char *err, size_t errlen);
/* Limit the serial output to a token bucket of bytes (PUT /serial's
 * rate_limiter): bytes over it are dropped, counted in
 * uart.rate_limiter_dropped_bytes. 0 or -EINVAL. */
int serial_set_rate_limiter(struct device *d, const struct token_bucket_config *tb);
/* i8042 at 0x60/0x64, IRQ 1; 0xfe resets (request_exit(0)). */
int i8042_create(const struct vm_services *svc, struct device *out, char *err, size_t errlen);
/* Queue the Ctrl-Alt-Del key sequence and raise IRQ 1 (dev->dev of an
 * "i8042" device). -EBUSY if its buffer is full. */
int i8042_send_ctrl_alt_del(void *i8042);
/* Boot timer on the first MMIO page: logs Guest-boot-time when the guest
 * writes 123; t0 wall/cpu in us. */
int boot_timer_create(const struct vm_services *svc, uint64_t start_us, uint64_t start_cpu_us,
		      struct device *out, char *err, size_t errlen);
/* VM Generation ID (vmgenid.c): 16 random bytes written at guest-physical
 * addr (in RAM) at creation, a new ID written by each restore, and GSI gsi
 * (the GED's) raised once by restored(). */
#define VMGENID_ID_SIZE 16
extern const struct device_ops vmgenid_device_ops;
int vmgenid_create(const struct vm_services *svc, uint64_t addr, unsigned gsi,
		   struct device *out, char *err, size_t errlen);
/* The current ID (dev->dev of a "vmgenid" device). */
void vmgenid_get(void *vmgenid, uint8_t id[VMGENID_ID_SIZE]);

#endif /* WISP_VMM_H */
