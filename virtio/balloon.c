/* SPDX-License-Identifier: Apache-2.0 */
/*
 * balloon.c — virtio-balloon (virtio 1.2 §5.5) with Firecracker's device
 * model: queues inflate (0), deflate (1), then statistics (with
 * stats_polling_interval_s > 0), free page hinting and free page reporting,
 * each present only when configured (the Linux driver numbers the queues it
 * sets up consecutively, so the indices follow the negotiated features).
 *
 * Inflated page frame numbers (4 KiB, le32) are checked one by one against
 * guest RAM: one outside RAM (in the MMIO gap, past the end, ...) is
 * refused and counted, never turned into a host address. The valid ones
 * are sorted and merged into ranges, and each range is given back to the
 * host: MADV_REMOVE on the shared memfd mapping of a booted VM (punches
 * the hole, so the memory is really freed), MADV_DONTNEED where RAM is a
 * private mapping (a snapshot's memory file, the Uffd backend: there the
 * handler sees the remove event). A removed page reads as zero (memfd,
 * anonymous) or as the memory file's page again (restored VM) when the
 * guest touches it after a deflate; nothing is marked dirty for it, the
 * guest owns no data in a balloon page.
 *
 * Statistics: the driver posts one buffer; the device keeps it, and every
 * stats_polling_interval_s (a timerfd on the VMM event loop) hands it back
 * so the driver refills it with fresh numbers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "virtio.h"

#define BALLOON_QUEUE_SIZE   256
#define BALLOON_CONFIG_LEN   12   /* num_pages, actual, free_page_hint_cmd_id */
#define BALLOON_MAX_PFNS     256  /* per inflate buffer (Linux sends up to 256) */
#define BALLOON_PAGE_SHIFT   12
#define BALLOON_PAGE_SIZE    4096ULL
#define BALLOON_STAT_LEN     10   /* le16 tag, le64 value (packed) */
#define BALLOON_MAX_STATS_LEN (256 * BALLOON_STAT_LEN)
#define MIB_TO_PAGES         256u

struct virtio_balloon {
	struct virtio_mmio t;
	struct virtio_dev_ops ops;     /* the template with this device's queue count */
	struct balloon_config cfg;
	struct vm_services host;
	/* guest-visible */
	uint32_t num_pages;            /* target */
	uint32_t actual_pages;         /* written by the driver */
	uint32_t hint_cmd_id;          /* free_page_hint_cmd_id */
	/* queue indices for the negotiated features; -1 absent */
	int stats_q, hint_q, report_q;
	/* statistics */
	uint16_t stats_interval_s;
	int stats_timer;               /* timerfd, -1 without statistics */
	bool stats_timer_watched;
	bool stats_held;               /* the driver's buffer is ours */
	uint16_t stats_head;
	struct balloon_stats latest;
	/* free page hinting (Firecracker's HintingState) */
	uint32_t hint_host_cmd, hint_last_cmd_id, hint_guest_cmd;
	bool hint_has_guest_cmd, hint_ack_on_finish;
	/* how RAM is given back: MADV_REMOVE until it is refused */
	bool use_dontneed;
	struct virtio_balloon_counters c;
	bool missing_desc_logged, discard_fail_logged, oversized_logged;
	struct virtq_chain chain;      /* scratch */
	uint32_t pfns[BALLOON_MAX_PFNS];
	struct balloon_range ranges[BALLOON_MAX_PFNS];
};

/* ---------------- pure helpers ---------------- */

/* Shell sort (not qsort: glibc's asks sysinfo(), which the VMM thread's
 * seccomp filter refuses). n is at most BALLOON_MAX_PFNS. */
static void sort_u32(uint32_t *a, size_t n)
{
	static const size_t gaps[] = { 57, 23, 10, 4, 1 };

	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
		size_t gap = gaps[g];

		for (size_t i = gap; i < n; i++) {
			uint32_t v = a[i];
			size_t j = i;

			for (; j >= gap && a[j - gap] > v; j -= gap)
				a[j] = a[j - gap];
			a[j] = v;
		}
	}
}

size_t balloon_compact_pfns(uint32_t *pfns, size_t n, struct balloon_range *out)
{
	size_t nr = 0;

	if (n == 0)
		return 0;
	sort_u32(pfns, n);
	out[0] = (struct balloon_range){ .pfn = pfns[0], .npages = 1 };
	for (size_t i = 1; i < n; i++) {
		struct balloon_range *r = &out[nr];

		if (pfns[i] == pfns[i - 1])
			continue;                       /* duplicate */
		if ((uint64_t)pfns[i] == r->pfn + r->npages) {
			r->npages++;
			continue;
		}
		out[++nr] = (struct balloon_range){ .pfn = pfns[i], .npages = 1 };
	}
	return nr + 1;
}

bool balloon_pfn_valid(const struct guest_mem *mem, uint32_t pfn)
{
	return guest_mem_ptr(mem, (uint64_t)pfn << BALLOON_PAGE_SHIFT, BALLOON_PAGE_SIZE) != NULL;
}

int balloon_parse_stats(const uint8_t *buf, size_t len, struct balloon_stats *st)
{
	int unknown = 0;

	for (size_t off = 0; off + BALLOON_STAT_LEN <= len; off += BALLOON_STAT_LEN) {
		uint16_t tag = ld_le16(buf + off);
		uint64_t val = ld_le64(buf + off + 2);

		if (tag >= BALLOON_NR_STATS) {
			unknown++;
			continue;
		}
		st->val[tag] = val;
		st->present |= 1u << tag;
	}
	return unknown;
}

/* ---------------- giving memory back ---------------- */

/* Give host bytes [hva, hva+len) of guest RAM back (page-aligned inside).
 * 0 or -errno. */
static int discard(struct virtio_balloon *b, uint8_t *hva, uint64_t len)
{
	uintptr_t start = ((uintptr_t)hva + BALLOON_PAGE_SIZE - 1) & ~(uintptr_t)(BALLOON_PAGE_SIZE - 1);
	uintptr_t end = ((uintptr_t)hva + len) & ~(uintptr_t)(BALLOON_PAGE_SIZE - 1);

	if (end <= start)
		return 0;
	if (!b->use_dontneed) {
		if (madvise((void *)start, end - start, MADV_REMOVE) == 0)
			return 0;
		if (errno != EINVAL && errno != EACCES && errno != EOPNOTSUPP)
			return -errno;
		/* A private mapping (snapshot file, Uffd): no hole to punch. */
		b->use_dontneed = true;
	}
	return madvise((void *)start, end - start, MADV_DONTNEED) == 0 ? 0 : -errno;
}

static void discard_failed(struct virtio_balloon *b, int r, const char *what, uint64_t len)
{
	b->c.discard_fails++;
	if (!b->discard_fail_logged) {
		b->discard_fail_logged = true;
		log_warn("%s: %s: cannot give back 0x%llx bytes of guest memory: %s (logged once)",
			 b->t.name, what, (unsigned long long)len, strerror(-r));
	}
}

/* ---------------- queues ---------------- */

static void bad_chain(struct virtio_balloon *b, unsigned qi, int r)
{
	struct virtq *q = &b->t.state.queues[qi];

	if (r == -EINVAL) {
		virtq_log_rejected(q, b->t.name, qi, b->chain.head);
		virtq_push(q, b->chain.head, 0);
	} else {
		virtio_mmio_needs_reset(&b->t, "corrupt ring");
	}
	b->c.event_fails++;
}

static void inflate(struct virtio_balloon *b)
{
	struct virtq *q = &b->t.state.queues[0];
	bool pushed = false;
	int r;

	b->c.inflate_count++;
	while ((r = virtq_pop(q, b->t.mem, &b->chain)) != 0) {
		size_t n = 0, nr;

		if (r < 0) {
			bad_chain(b, 0, r);
			if (r != -EINVAL)
				return;
			pushed = true;
			continue;
		}
		if (b->chain.writable_len || b->chain.readable_len % 4 ||
		    b->chain.readable_len > sizeof(b->pfns)) {
			b->c.event_fails++;
			if (!b->oversized_logged) {
				b->oversized_logged = true;
				log_warn("%s: inflate buffer of %llu bytes (%llu writable) skipped: "
					 "expected up to %d page numbers (logged once)", b->t.name,
					 (unsigned long long)b->chain.readable_len,
					 (unsigned long long)b->chain.writable_len, BALLOON_MAX_PFNS);
			}
		} else {
			uint32_t raw[BALLOON_MAX_PFNS];
			size_t cnt = b->chain.readable_len / 4;

			virtq_chain_read(&b->chain, 0, raw, b->chain.readable_len);
			for (size_t i = 0; i < cnt; i++) {
				uint32_t pfn = ld_le32(&raw[i]);

				if (balloon_pfn_valid(b->t.mem, pfn)) {
					b->pfns[n++] = pfn;
					continue;
				}
				b->c.invalid_pfns++;
				/* first ten, then at powers of two */
				if (b->c.invalid_pfns <= 10 ||
				    !(b->c.invalid_pfns & (b->c.invalid_pfns - 1)))
					log_warn("%s: inflate: page frame 0x%x (address 0x%llx) is not "
						 "guest RAM: refused (%llu so far)", b->t.name, pfn,
						 (unsigned long long)pfn << BALLOON_PAGE_SHIFT,
						 (unsigned long long)b->c.invalid_pfns);
			}
		}
		virtq_push(q, b->chain.head, 0);
		pushed = true;
		nr = balloon_compact_pfns(b->pfns, n, b->ranges);
		for (size_t i = 0; i < nr; i++) {
			uint64_t gpa = b->ranges[i].pfn << BALLOON_PAGE_SHIFT;
			uint64_t len = b->ranges[i].npages << BALLOON_PAGE_SHIFT;
			uint8_t *hva = guest_mem_ptr(b->t.mem, gpa, len);

			if (!hva) {   /* cannot happen: every page was checked */
				b->c.invalid_pfns += b->ranges[i].npages;
				continue;
			}
			r = discard(b, hva, len);
			if (r < 0)
				discard_failed(b, r, "inflate", len);
			else
				b->c.inflated_pages += b->ranges[i].npages;
		}
	}
	if (pushed)
		virtio_mmio_signal_used(&b->t, 0);
}

static void deflate(struct virtio_balloon *b)
{
	struct virtq *q = &b->t.state.queues[1];
	bool pushed = false;
	int r;

	b->c.deflate_count++;
	/* Nothing to do on the host: a page comes back when the guest
	 * touches it. */
	while ((r = virtq_pop(q, b->t.mem, &b->chain)) != 0) {
		if (r < 0) {
			bad_chain(b, 1, r);
			if (r != -EINVAL)
				return;
		} else {
			b->c.deflated_pages += b->chain.readable_len / 4;
			virtq_push(q, b->chain.head, 0);
		}
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(&b->t, 1);
}

static void stats_give_back(struct virtio_balloon *b)
{
	struct virtq *q;

	if (!b->stats_held || b->stats_q < 0)
		return;
	q = &b->t.state.queues[b->stats_q];
	b->stats_held = false;
	virtq_push(q, b->stats_head, 0);
	virtio_mmio_signal_used(&b->t, (unsigned)b->stats_q);
}

static void stats_queue(struct virtio_balloon *b)
{
	struct virtq *q = &b->t.state.queues[b->stats_q];
	uint8_t buf[BALLOON_MAX_STATS_LEN];
	int r;

	while ((r = virtq_pop(q, b->t.mem, &b->chain)) != 0) {
		if (r < 0) {
			bad_chain(b, (unsigned)b->stats_q, r);
			if (r != -EINVAL)
				return;
			virtio_mmio_signal_used(&b->t, (unsigned)b->stats_q);
			continue;
		}
		b->c.stats_updates_count++;
		if (b->stats_held) {
			/* Not what the protocol says: give the older one back. */
			b->c.stats_update_fails++;
			stats_give_back(b);
		}
		if (b->chain.readable_len > BALLOON_MAX_STATS_LEN) {
			b->c.stats_update_fails++;
		} else {
			size_t len = (size_t)b->chain.readable_len;

			virtq_chain_read(&b->chain, 0, buf, len);
			b->c.stats_update_fails += (uint64_t)balloon_parse_stats(buf, len, &b->latest);
		}
		b->stats_held = true;
		b->stats_head = b->chain.head;
	}
}

/* Descriptors of the hinting/reporting chain, walked for discard. */
static void hint_queue(struct virtio_balloon *b)
{
	struct virtq *q = &b->t.state.queues[b->hint_q];
	bool pushed = false, complete = false;
	int r;

	while ((r = virtq_pop(q, b->t.mem, &b->chain)) != 0) {
		if (r < 0) {
			bad_chain(b, (unsigned)b->hint_q, r);
			if (r != -EINVAL)
				return;
			pushed = true;
			continue;
		}
		for (unsigned i = 0; i < b->chain.nr; i++) {
			struct virtq_seg *s = &b->chain.segs[i];

			if (s->len == 4 && !s->writable) {   /* a command id */
				uint32_t cmd = ld_le32(s->hva);

				b->hint_guest_cmd = cmd;
				b->hint_has_guest_cmd = true;
				complete = cmd == VIRTIO_BALLOON_HINT_STOP ||
					   cmd == VIRTIO_BALLOON_HINT_DONE;
				continue;
			}
			if (b->hint_host_cmd == VIRTIO_BALLOON_HINT_DONE ||
			    b->hint_host_cmd == VIRTIO_BALLOON_HINT_STOP || !b->hint_has_guest_cmd ||
			    b->hint_guest_cmd != b->hint_host_cmd)
				continue;   /* a run that ended, or another run's pages */
			b->c.free_page_hint_count++;
			r = discard(b, s->hva, s->len);
			if (r < 0) {
				b->c.free_page_hint_fails++;
				discard_failed(b, r, "free page hinting", s->len);
			} else {
				b->c.free_page_hint_freed += s->len;
			}
		}
		virtq_push(q, b->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(&b->t, (unsigned)b->hint_q);
	if (complete && b->hint_ack_on_finish && b->hint_host_cmd != VIRTIO_BALLOON_HINT_DONE) {
		b->hint_host_cmd = VIRTIO_BALLOON_HINT_DONE;
		b->hint_cmd_id = VIRTIO_BALLOON_HINT_DONE;
		virtio_mmio_config_changed(&b->t);
	}
}

static void report_queue(struct virtio_balloon *b)
{
	struct virtq *q = &b->t.state.queues[b->report_q];
	bool pushed = false;
	int r;

	while ((r = virtq_pop(q, b->t.mem, &b->chain)) != 0) {
		if (r < 0) {
			bad_chain(b, (unsigned)b->report_q, r);
			if (r != -EINVAL)
				return;
			pushed = true;
			continue;
		}
		for (unsigned i = 0; i < b->chain.nr; i++) {
			struct virtq_seg *s = &b->chain.segs[i];

			b->c.free_page_report_count++;
			r = discard(b, s->hva, s->len);
			if (r < 0) {
				b->c.free_page_report_fails++;
				discard_failed(b, r, "free page reporting", s->len);
			} else {
				b->c.free_page_report_freed += s->len;
			}
		}
		virtq_push(q, b->chain.head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_mmio_signal_used(&b->t, (unsigned)b->report_q);
}

/* ---------------- transport callbacks (lock held) ---------------- */

static size_t balloon_config_len(void *dev)
{
	(void)dev;
	return BALLOON_CONFIG_LEN;
}

static void config_bytes(const struct virtio_balloon *b, uint8_t out[BALLOON_CONFIG_LEN])
{
	st_le32(out, b->num_pages);
	st_le32(out + 4, b->actual_pages);
	st_le32(out + 8, b->hint_cmd_id);
}

static void balloon_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	uint8_t cs[BALLOON_CONFIG_LEN];

	config_bytes(dev, cs);
	memcpy(data, cs + off, len);
}

static void balloon_config_write(void *dev, uint32_t off, const uint8_t *data, unsigned len)
{
	struct virtio_balloon *b = dev;
	uint8_t cs[BALLOON_CONFIG_LEN];

	/* Only `actual` is the driver's to write. */
	if (off < 4 || off + len > 8)
		return;
	config_bytes(b, cs);
	memcpy(cs + off, data, len);
	b->actual_pages = ld_le32(cs + 4);
}

static int balloon_activate(void *dev)
{
	struct virtio_balloon *b = dev;
	int idx = 2;

	b->stats_q = b->hint_q = b->report_q = -1;
	if (virtio_mmio_has_feature(&b->t, VIRTIO_BALLOON_F_STATS_VQ))
		b->stats_q = idx++;
	if (virtio_mmio_has_feature(&b->t, VIRTIO_BALLOON_F_FREE_PAGE_HINT))
		b->hint_q = idx++;
	if (virtio_mmio_has_feature(&b->t, VIRTIO_BALLOON_F_REPORTING))
		b->report_q = idx++;
	if ((unsigned)idx > b->ops.nr_queues) {
		b->c.activate_fails++;
		return -EINVAL;
	}
	return 0;
}

static void balloon_reset(void *dev)
{
	struct virtio_balloon *b = dev;

	b->stats_held = false;
	b->actual_pages = 0;
	b->stats_q = b->hint_q = b->report_q = -1;
}

static void balloon_notify(void *dev, unsigned q)
{
	struct virtio_balloon *b = dev;
	void (*fn)(struct virtio_balloon *) = NULL;

	if (q == 0)
		fn = inflate;
	else if (q == 1)
		fn = deflate;
	else if ((int)q == b->stats_q)
		fn = stats_queue;
	else if ((int)q == b->hint_q)
		fn = hint_queue;
	else if ((int)q == b->report_q)
		fn = report_queue;
	if (!fn || !b->t.state.queues[q].ready)
		return;
	/* Until the ring stays empty with notifications on (EVENT_IDX). */
	do
		fn(b);
	while (virtio_mmio_driver_ok(&b->t) && !b->t.state.queues[q].broken &&
	       virtq_enable_notify(&b->t.state.queues[q]));
}

static void balloon_metrics(void *dev, struct metric_sink *sink)
{
	static const struct virtio_balloon_counters zero;
	const struct virtio_balloon_counters *c = dev ? &((struct virtio_balloon *)dev)->c : &zero;

	/* Firecracker's names (devices/virtio/balloon/metrics.rs)... */
	sink->put(sink, "activate_fails", c->activate_fails);
	sink->put(sink, "inflate_count", c->inflate_count);
	sink->put(sink, "stats_updates_count", c->stats_updates_count);
	sink->put(sink, "stats_update_fails", c->stats_update_fails);
	sink->put(sink, "deflate_count", c->deflate_count);
	sink->put(sink, "event_fails", c->event_fails);
	sink->put(sink, "free_page_report_count", c->free_page_report_count);
	sink->put(sink, "free_page_report_freed", c->free_page_report_freed);
	sink->put(sink, "free_page_report_fails", c->free_page_report_fails);
	sink->put(sink, "free_page_hint_count", c->free_page_hint_count);
	sink->put(sink, "free_page_hint_freed", c->free_page_hint_freed);
	sink->put(sink, "free_page_hint_fails", c->free_page_hint_fails);
	/* ... and wisp's */
	sink->put(sink, "inflated_pages", c->inflated_pages);
	sink->put(sink, "deflated_pages", c->deflated_pages);
	sink->put(sink, "invalid_pfns", c->invalid_pfns);
	sink->put(sink, "discard_fails", c->discard_fails);
}

/* Saved state (fixed layout). */
struct balloon_saved {
	uint32_t num_pages, actual_pages, hint_cmd_id;
	uint16_t stats_interval_s;
	uint8_t stats_held, hint_has_guest_cmd;
	uint16_t stats_head;
	uint8_t hint_ack_on_finish, pad;
	uint32_t hint_host_cmd, hint_last_cmd_id, hint_guest_cmd;
	uint32_t stats_present;
	uint64_t stats_val[BALLOON_NR_STATS];
};

static int arm_timer(struct virtio_balloon *b, uint16_t secs)
{
	struct itimerspec its = { { secs, 0 }, { secs, 0 } };

	if (b->stats_timer < 0)
		return 0;
	return timerfd_settime(b->stats_timer, 0, &its, NULL) == 0 ? 0 : -errno;
}

static void balloon_save(void *dev, void *buf)
{
	struct virtio_balloon *b = dev;
	struct balloon_saved s;

	memset(&s, 0, sizeof(s));
	s.num_pages = b->num_pages;
	s.actual_pages = b->actual_pages;
	s.hint_cmd_id = b->hint_cmd_id;
	s.stats_interval_s = b->stats_interval_s;
	s.stats_held = b->stats_held;
	s.stats_head = b->stats_head;
	s.hint_has_guest_cmd = b->hint_has_guest_cmd;
	s.hint_ack_on_finish = b->hint_ack_on_finish;
	s.hint_host_cmd = b->hint_host_cmd;
	s.hint_last_cmd_id = b->hint_last_cmd_id;
	s.hint_guest_cmd = b->hint_guest_cmd;
	s.stats_present = b->latest.present;
	memcpy(s.stats_val, b->latest.val, sizeof(s.stats_val));
	memcpy(buf, &s, sizeof(s));
}

static int balloon_restore(void *dev, const void *buf, char *err, size_t errlen)
{
	struct virtio_balloon *b = dev;
	struct balloon_saved s;
	uint64_t mem_pages = guest_mem_total(b->t.mem) >> BALLOON_PAGE_SHIFT;
	const struct virtq *sq;

	memcpy(&s, buf, sizeof(s));
	if (s.num_pages > mem_pages) {
		snprintf(err, errlen, "%s: saved target of %u pages is more than guest RAM",
			 b->t.name, s.num_pages);
		return -EINVAL;
	}
	if ((s.stats_interval_s == 0) != (b->cfg.stats_polling_interval_s == 0)) {
		snprintf(err, errlen, "%s: statistics %s in the snapshot, %s in this device",
			 b->t.name, s.stats_interval_s ? "enabled" : "disabled",
			 b->cfg.stats_polling_interval_s ? "enabled" : "disabled");
		return -EINVAL;
	}
	if (s.stats_held > 1 || s.hint_has_guest_cmd > 1 || s.hint_ack_on_finish > 1 ||
	    (s.stats_present >> BALLOON_NR_STATS)) {
		snprintf(err, errlen, "%s: invalid saved flags", b->t.name);
		return -EINVAL;
	}
	/* The transport state is already in place: a held stats buffer must
	 * be a head of the stats queue, which must be up. */
	if (s.stats_held) {
		sq = b->ops.nr_queues > 2 ? &b->t.state.queues[2] : NULL;
		if (!sq || !sq->ready || s.stats_head >= sq->size) {
			snprintf(err, errlen, "%s: saved statistics buffer %u is not in the "
				 "statistics queue", b->t.name, s.stats_head);
			return -EINVAL;
		}
	}
	b->num_pages = s.num_pages;
	b->actual_pages = s.actual_pages;
	b->hint_cmd_id = s.hint_cmd_id;
	b->stats_interval_s = s.stats_interval_s;
	b->stats_held = s.stats_held;
	b->stats_head = s.stats_head;
	b->hint_has_guest_cmd = s.hint_has_guest_cmd;
	b->hint_ack_on_finish = s.hint_ack_on_finish;
	b->hint_host_cmd = s.hint_host_cmd;
	b->hint_last_cmd_id = s.hint_last_cmd_id;
	b->hint_guest_cmd = s.hint_guest_cmd;
	b->latest.present = s.stats_present;
	memcpy(b->latest.val, s.stats_val, sizeof(s.stats_val));
	if (b->stats_interval_s)
		arm_timer(b, b->stats_interval_s);
	return 0;
}

static void balloon_free(void *dev);

static const struct virtio_dev_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.nr_queues = 2,                  /* per device: 2 + optional queues */
	.queue_max_size = BALLOON_QUEUE_SIZE,
	.config_len = balloon_config_len,
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.activate = balloon_activate,
	.reset = balloon_reset,
	.notify = balloon_notify,
	.state_size = sizeof(struct balloon_saved),
	.save = balloon_save,
	.restore = balloon_restore,
	.metrics = balloon_metrics,
	.destroy = balloon_free,
};

static void balloon_device_metrics(void *transport, struct metric_sink *sink)
{
	virtio_device_metrics(&balloon_ops, transport, sink);
}

const struct device_ops virtio_device_ops_balloon = {
	.kind = "virtio-balloon",
	.metrics_section = "balloon",
	.metrics = balloon_device_metrics,
	VIRTIO_DEVICE_OPS_COMMON,
};

/* ---------------- statistics timer (VMM thread) ---------------- */

static void on_stats_timer(int fd, uint32_t events, void *opaque)
{
	struct virtio_balloon *b = opaque;
	uint64_t ticks;

	(void)events;
	if (read(fd, &ticks, sizeof(ticks)) < 0)
		return;
	virtio_mmio_lock(&b->t);
	if (virtio_mmio_driver_ok(&b->t) && b->stats_q >= 0) {
		if (b->stats_held) {
			stats_give_back(b);
		} else if (!b->missing_desc_logged) {
			b->missing_desc_logged = true;
			log_debug("%s: no statistics buffer from the driver to refresh (logged once)",
				  b->t.name);
		}
	}
	virtio_mmio_unlock(&b->t);
}

/* ---------------- life cycle ---------------- */

static void balloon_free(void *dev)
{
	struct virtio_balloon *b = dev;

	if (!b)
		return;
	if (b->stats_timer_watched && b->host.fd_del)
		b->host.fd_del(b->host.loop, b->stats_timer);
	if (b->stats_timer >= 0)
		close(b->stats_timer);
	virtio_mmio_destroy(&b->t);
	free(b);
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	balloon_free(b);
}

int virtio_balloon_create(const struct balloon_config *cfg, const struct guest_mem *mem,
			  const struct vm_services *host, struct virtio_balloon **out, char *err,
			  size_t errlen)
{
	struct virtio_balloon *b = calloc(1, sizeof(*b));
	uint64_t f = 0;
	int r;

	if (!b) {
		snprintf(err, errlen, "balloon: out of memory");
		return -ENOMEM;
	}
	if ((uint64_t)cfg->amount_mib << 20 > guest_mem_total(mem)) {
		free(b);
		snprintf(err, errlen, "balloon: Amount of pages requested is too large.");
		return -EINVAL;
	}
	b->cfg = *cfg;
	if (host)
		b->host = *host;
	b->ops = balloon_ops;
	b->stats_timer = -1;
	b->stats_q = b->hint_q = b->report_q = -1;
	b->num_pages = cfg->amount_mib * MIB_TO_PAGES;
	b->stats_interval_s = cfg->stats_polling_interval_s;
	b->hint_cmd_id = VIRTIO_BALLOON_HINT_STOP;
	b->hint_ack_on_finish = true;
	if (cfg->deflate_on_oom)
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
	if (cfg->stats_polling_interval_s) {
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ);
		b->ops.nr_queues++;
	}
	if (cfg->free_page_hinting) {
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_FREE_PAGE_HINT);
		b->ops.nr_queues++;
	}
	if (cfg->free_page_reporting) {
		f |= VIRTIO_BIT(VIRTIO_BALLOON_F_REPORTING);
		b->ops.nr_queues++;
	}
	virtio_mmio_init(&b->t, &b->ops, b, f, mem);
	if (cfg->stats_polling_interval_s && b->host.fd_add) {
		b->stats_timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (b->stats_timer < 0) {
			r = -errno;
			snprintf(err, errlen, "balloon: cannot create the statistics timer: %s",
				 strerror(-r));
			balloon_free(b);
			return r;
		}
		r = b->host.fd_add(b->host.loop, b->stats_timer, EPOLLIN, on_stats_timer, b);
		if (r < 0) {
			snprintf(err, errlen, "balloon: cannot watch the statistics timer: %s",
				 strerror(-r));
			balloon_free(b);
			return r;
		}
		b->stats_timer_watched = true;
		r = arm_timer(b, cfg->stats_polling_interval_s);
		if (r < 0) {
			snprintf(err, errlen, "balloon: cannot arm the statistics timer: %s",
				 strerror(-r));
			balloon_free(b);
			return r;
		}
	}
	*out = b;
	return 0;
}

struct virtio_mmio *virtio_balloon_transport(struct virtio_balloon *b)
{
	return &b->t;
}

/* ---------------- the API's operations (VMM thread) ---------------- */

void virtio_balloon_get_config(struct virtio_balloon *b, struct balloon_config *out)
{
	virtio_mmio_lock(&b->t);
	*out = b->cfg;
	out->set = true;
	out->amount_mib = b->num_pages / MIB_TO_PAGES;
	out->stats_polling_interval_s = b->stats_interval_s;
	virtio_mmio_unlock(&b->t);
}

int virtio_balloon_set_target(struct virtio_balloon *b, uint32_t amount_mib, char *err,
			      size_t errlen)
{
	int r = 0;

	virtio_mmio_lock(&b->t);
	if (!virtio_mmio_driver_ok(&b->t)) {
		snprintf(err, errlen, "Device not activated yet.");
		r = -ENODEV;
	} else if ((uint64_t)amount_mib > guest_mem_total(b->t.mem) >> 20) {
		snprintf(err, errlen, "Requested memory should be less than %uMiB", amount_mib);
		r = -EINVAL;
	} else {
		b->num_pages = amount_mib * MIB_TO_PAGES;
		virtio_mmio_config_changed(&b->t);
	}
	virtio_mmio_unlock(&b->t);
	return r;
}

int virtio_balloon_set_stats_interval(struct virtio_balloon *b, uint16_t secs, char *err,
				      size_t errlen)
{
	int r = 0;

	virtio_mmio_lock(&b->t);
	if (secs == b->stats_interval_s)
		goto out;
	if (secs == 0 || b->stats_interval_s == 0) {
		snprintf(err, errlen, "Statistics cannot be enabled/disabled after activation.");
		r = -EINVAL;
		goto out;
	}
	r = arm_timer(b, secs);
	if (r < 0) {
		snprintf(err, errlen, "cannot arm the statistics timer: %s", strerror(-r));
		goto out;
	}
	b->stats_interval_s = secs;
	/* The first update with the new interval is now. */
	if (virtio_mmio_driver_ok(&b->t))
		stats_give_back(b);
out:
	virtio_mmio_unlock(&b->t);
	return r;
}

int virtio_balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out)
{
	int r = 0;

	virtio_mmio_lock(&b->t);
	if (!b->stats_interval_s) {
		r = -ENOTSUP;
	} else {
		*out = b->latest;
		out->target_pages = b->num_pages;
		out->actual_pages = b->actual_pages;
	}
	virtio_mmio_unlock(&b->t);
	return r;
}

void virtio_balloon_get_counters(struct virtio_balloon *b, struct virtio_balloon_counters *out)
{
	virtio_mmio_lock(&b->t);
	*out = b->c;
	virtio_mmio_unlock(&b->t);
}

static int hint_cmd(struct virtio_balloon *b, uint32_t cmd)
{
	if (!virtio_mmio_driver_ok(&b->t))
		return -ENODEV;
	b->hint_host_cmd = cmd;
	b->hint_cmd_id = cmd;
	virtio_mmio_config_changed(&b->t);
	return 0;
}

int virtio_balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop, char *err,
			      size_t errlen)
{
	int r;

	virtio_mmio_lock(&b->t);
	if (!b->cfg.free_page_hinting) {
		snprintf(err, errlen, "Attempting to use hinting when not enabled");
		r = -ENOTSUP;
	} else {
		uint32_t id = b->hint_last_cmd_id + 1;

		if (id <= VIRTIO_BALLOON_HINT_DONE)   /* 0 and 1 are STOP and DONE */
			id = 2;
		r = hint_cmd(b, id);
		if (r < 0) {
			snprintf(err, errlen, "Device not activated yet.");
		} else {
			b->hint_ack_on_finish = ack_on_stop;
			b->hint_last_cmd_id = id;
		}
	}
	virtio_mmio_unlock(&b->t);
	return r;
}

int virtio_balloon_hint_stop(struct virtio_balloon *b, char *err, size_t errlen)
{
	int r;

	virtio_mmio_lock(&b->t);
	if (!b->cfg.free_page_hinting) {
		snprintf(err, errlen, "Attempting to use hinting when not enabled");
		r = -ENOTSUP;
	} else if ((r = hint_cmd(b, VIRTIO_BALLOON_HINT_DONE)) < 0) {
		snprintf(err, errlen, "Device not activated yet.");
	}
	virtio_mmio_unlock(&b->t);
	return r;
}

int virtio_balloon_hint_status(struct virtio_balloon *b, uint32_t *host_cmd, bool *has_guest_cmd,
			       uint32_t *guest_cmd, char *err, size_t errlen)
{
	int r = 0;

	virtio_mmio_lock(&b->t);
	if (!b->cfg.free_page_hinting) {
		snprintf(err, errlen, "Attempting to use hinting when not enabled");
		r = -ENOTSUP;
	} else {
		*host_cmd = b->hint_host_cmd;
		*has_guest_cmd = b->hint_has_guest_cmd;
		*guest_cmd = b->hint_guest_cmd;
	}
	virtio_mmio_unlock(&b->t);
	return r;
}
