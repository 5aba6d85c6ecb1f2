/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wset.c — working-set record and prefetch (wset.h); the file format is in
 * wset_file.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "snapshot.h"
#include "uffd.h"
#include "vm.h"
#include "vmm_seccomp.h"
#include "wset.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* ---------------- prefetch ---------------- */
/* 0, or -errno when the pages cannot be read (EFAULT: a file shorter than
 * it was when checked; a byte-by-byte read would die of SIGBUS). */
static int populate(uint8_t *p, uint64_t len, struct wset_prefetch_stats *st)
{
	st->calls++;
	if (madvise(p, (size_t)len, MADV_POPULATE_READ) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	/* Kernels before 5.14 (EINVAL): a read of one byte per page. */
	for (uint64_t o = 0; o < len; o += WSET_PAGE) {
		(void)*(volatile uint8_t *)(p + o);
		st->touched++;
	}
	return 0;
}

/* Start reading the spans of the memory file into the page cache. Pages
 * already cached cost a lookup; errors only lose the head start. */
static void readahead_spans(const struct wset *w, int mem_fd, struct wset_prefetch_stats *st)
{
	struct wset_range *sp;
	size_t n;

	if (mem_fd < 0 || !w->nr_ranges)
		return;
	sp = malloc(w->nr_ranges * sizeof(*sp));
	if (!sp)
		return;
	n = wset_ra_spans(w, WSET_RA_GAP, sp);
	for (size_t i = 0; i < n; i++) {
		int r = posix_fadvise(mem_fd, (off_t)(sp[i].first * WSET_PAGE),
				      (off_t)(sp[i].count * WSET_PAGE), POSIX_FADV_WILLNEED);

		if (r) {
			log_debug("working set: readahead: %s", strerror(r));
			break;
		}
		st->ra_calls++;
	}
	free(sp);
}

struct piece_ctx {
	const struct wset *w;
	struct wset_prefetch_stats *st;
	char *err;
	size_t errlen;
};

/* Map a piece from the page copies (copy i: the i-th listed page in
 * ascending order) at the same address. */
static int map_piece(void *arg, uint8_t *hva, uint64_t len, uint64_t rank)
{
	struct piece_ctx *c = arg;
	char *err = c->err;
	size_t errlen = c->errlen;
	void *p = mmap(hva, (size_t)len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_NORESERVE | MAP_FIXED, c->w->fd,
		       (off_t)(c->w->data_off + rank * WSET_PAGE));

	if (p == MAP_FAILED) {
		int e = errno;

		ERR("working_set: cannot map %" PRIu64 " page(s) of guest memory from the page "
		    "copies: %s", len / WSET_PAGE, strerror(e));
		return -e;
	}
	c->st->mapped++;
	return 0;
}

static int populate_piece(void *arg, uint8_t *hva, uint64_t len, uint64_t rank)
{
	struct piece_ctx *c = arg;
	char *err = c->err;
	size_t errlen = c->errlen;
	int r = populate(hva, len, c->st);

	(void)rank;
	if (r < 0) {
		ERR("working_set: cannot read %" PRIu64 " page(s) of guest memory (was a file "
		    "truncated?): %s", len / WSET_PAGE, strerror(-r));
		return r;
	}
	c->st->pages += len / WSET_PAGE;
	return 0;
}

int wset_prefetch(const struct guest_mem *mem, const struct wset *w, int mem_fd,
		  struct wset_prefetch_stats *st, char *err, size_t errlen)
{
	struct piece_ctx c = { w, st, err, errlen };

	memset(st, 0, sizeof(*st));
	if (w->fd >= 0 && w->data_off && w->nr_ranges <= WSET_MAX_IMAGE_RANGES) {
		int r;

		/* One sequential read of all the copies, then map them. */
		if (posix_fadvise(w->fd, (off_t)w->data_off, (off_t)(w->nr_pages * WSET_PAGE),
				  POSIX_FADV_WILLNEED) == 0)
			st->ra_calls++;
		r = wset_each_piece(mem, w, map_piece, &c);
		if (r < 0)
			return r;
	} else {
		readahead_spans(w, mem_fd, st);
	}
	return wset_each_piece(mem, w, populate_piece, &c);
}

/* ---------------- record ---------------- */
struct wset_recorder {
	int uffd, epfd, stop_efd;
	int ready_efd;             /* written when the guest signals readiness */
	pthread_t thread;
	bool running;
	struct vm *vm;
	const uint8_t *file;       /* the memory file, mapped read-only */
	uint64_t size;
	uint64_t deadline_us;      /* CLOCK_MONOTONIC */
	bool recording;            /* until the list is written */
	uint8_t *seen;             /* one bit per page */
	uint64_t *order;           /* first-touch order */
	uint64_t nr, cap;
	uint64_t served;
	uint64_t snap_id;          /* the state file's CRC-64 (the file's header) */
	char path[VM_PATH_MAX];
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The page copies: the listed pages (the seen bitmap) in ascending order,
 * each run of consecutive pages in one write. */
static int write_copies(struct wset_recorder *w, struct snap_out *o, char *err, size_t errlen)
{
	uint64_t pages = w->size / WSET_PAGE;

	for (uint64_t p = 0; p < pages;) {
		uint64_t q = p;

		if (!(w->seen[p / 8] & (1u << (p % 8)))) {
			p++;
			continue;
		}
		while (q < pages && (w->seen[q / 8] & (1u << (q % 8))) && q - p < 256)
			q++;
		if (snap_out_write(o, w->file + p * WSET_PAGE, (size_t)((q - p) * WSET_PAGE), err,
				   errlen) < 0)
			return -1;
		p = q;
	}
	return 0;
}

static void write_list(struct wset_recorder *w)
{
	static const uint8_t zero[WSET_PAGE];
	struct snap_out o = { .fd = -1 };
	uint8_t hdr[WSET_HDR_LEN] = { 0 };
	uint32_t v = WSET_VERSION, ps = WSET_PAGE;
	uint64_t idx_end = WSET_HDR_LEN + 8 * w->nr;
	uint64_t data_off = (idx_end + WSET_PAGE - 1) / WSET_PAGE * WSET_PAGE;
	char err[600];
	size_t errlen = sizeof(err);

	w->recording = false;
	memcpy(hdr, WSET_MAGIC, 8);
	memcpy(hdr + 8, &v, 4);
	memcpy(hdr + 12, &ps, 4);
	memcpy(hdr + 16, &w->size, 8);
	memcpy(hdr + 24, &w->nr, 8);
	memcpy(hdr + 32, &w->snap_id, 8);
	memcpy(hdr + 40, &data_off, 8);
	memcpy(hdr + 48, &w->nr, 8);   /* one copy per listed page */
	if (snap_out_open(&o, w->path, err, errlen) < 0 ||
	    snap_out_write(&o, hdr, sizeof(hdr), err, errlen) < 0 ||
	    snap_out_write(&o, w->order, (size_t)w->nr * 8, err, errlen) < 0 ||
	    snap_out_write(&o, zero, (size_t)(data_off - idx_end), err, errlen) < 0 ||
	    write_copies(w, &o, err, errlen) < 0 ||
	    snap_out_commit(&o, err, errlen) < 0) {
		snap_out_abort(&o);
		log_error("working set: cannot write %s: %s", w->path, err);
	} else {
		log_info("working set: %" PRIu64 " pages (%" PRIu64 " KiB) recorded in %s, with "
			 "their contents", w->nr, w->nr * (WSET_PAGE / 1024), w->path);
	}
	free(w->order);
	free(w->seen);
	w->order = NULL;
	w->seen = NULL;
}

static void note(struct wset_recorder *w, uint64_t page)
{
	if (!w->recording || (w->seen[page / 8] & (1u << (page % 8))))
		return;
	if (w->nr == w->cap) {
		uint64_t cap = w->cap ? w->cap * 2 : 4096;
		uint64_t *p = realloc(w->order, (size_t)cap * sizeof(*p));

		if (!p)
			return;   /* the list just misses it: a prefetch hint */
		w->order = p;
		w->cap = cap;
	}
	/* seen: exactly the listed pages (their copies are written from it) */
	w->seen[page / 8] |= (uint8_t)(1u << (page % 8));
	w->order[w->nr++] = page;
}

static bool all_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned i = 0; i < WSET_PAGE / 8; i++)
		if (q[i])
			return false;
	return true;
}

/* Serve one fault: 0, or -1 when the guest can no longer be served. */
static int serve(struct wset_recorder *w, uint64_t addr)
{
	const struct guest_mem *mem = &w->vm->mem;
	uint64_t off = 0;

	addr &= ~(uint64_t)(WSET_PAGE - 1);
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *g = &mem->regions[i];
		uint64_t hva = (uint64_t)(uintptr_t)g->hva;

		if (addr >= hva && addr < hva + g->size) {
			uint64_t foff = off + (addr - hva);
			const uint8_t *src = w->file + foff;
			int r;

			for (;;) {
				if (all_zero(src)) {
					struct uffdio_zeropage z = {
						.range = { .start = addr, .len = WSET_PAGE } };

					r = ioctl(w->uffd, UFFDIO_ZEROPAGE, &z);
				} else {
					struct uffdio_copy c = { .dst = addr,
								 .src = (uint64_t)(uintptr_t)src,
								 .len = WSET_PAGE };

					r = ioctl(w->uffd, UFFDIO_COPY, &c);
				}
				if (r == 0 || errno == EEXIST)
					break;
				if (errno != EAGAIN && errno != EINTR) {
					log_error("working set: serving guest page at file offset 0x%"
						  PRIx64 ": %s", foff, strerror(errno));
					return -1;
				}
			}
			w->served++;
			note(w, foff / WSET_PAGE);
			return 0;
		}
		off += g->size;
	}
	log_error("working set: a fault at 0x%" PRIx64 " outside guest memory", addr);
	return -1;
}

enum { EV_UFFD = 1, EV_STOP = 2, EV_READY = 3 };

static void *record_main(void *arg)
{
	struct wset_recorder *w = arg;
	struct epoll_event ev[3];

	log_set_thread_name("wisp_wset");
	prctl(PR_SET_NAME, "wisp_wset");
	/* Started during the load, before the VMM thread's filter: take it
	 * (plus UFFDIO_COPY/UFFDIO_ZEROPAGE, docs/seccomp.md). */
	wisp_seccomp_enter(SC_ROLE_VMM);
	for (;;) {
		int timeout = -1, n;

		if (w->recording) {
			uint64_t t = now_us();

			if (t >= w->deadline_us) {
				write_list(w);
				continue;
			}
			timeout = (int)((w->deadline_us - t + 999) / 1000);
		}
		n = epoll_wait(w->epfd, ev, 3, timeout);
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u32 == EV_STOP)
				return NULL;
			if (ev[i].data.u32 == EV_READY) {
				uint64_t v;

				if (read(w->ready_efd, &v, sizeof(v)) == sizeof(v) && w->recording) {
					log_info("working set: the guest signalled readiness");
					write_list(w);
				}
				continue;
			}
			for (;;) {
				struct uffd_msg m;
				ssize_t k = read(w->uffd, &m, sizeof(m));

				if (k != (ssize_t)sizeof(m))
					break;   /* EAGAIN: none left */
				if (m.event != UFFD_EVENT_PAGEFAULT)
					continue;
				if (serve(w, m.arg.pagefault.address) < 0) {
					vm_request_exit(w->vm, WISP_EXIT_ERROR);
					return NULL;
				}
			}
		}
	}
}

int wset_record_attach(struct vm *vm, int mem_fd, const char *path, unsigned record_ms,
		       uint64_t snap_id, char *err, size_t errlen)
{
	struct wset_recorder *w = calloc(1, sizeof(*w));
	struct uffdio_api api = { .api = UFFD_API };
	struct epoll_event eu = { .events = EPOLLIN, .data.u32 = EV_UFFD };
	struct epoll_event es = { .events = EPOLLIN, .data.u32 = EV_STOP };
	struct epoll_event er = { .events = EPOLLIN, .data.u32 = EV_READY };
	sigset_t all, old;
	int r, dev_errno = 0;

	if (!w) {
		ERR("out of memory");
		return -ENOMEM;
	}
	w->uffd = w->epfd = w->stop_efd = w->ready_efd = -1;
	w->vm = vm;
	w->snap_id = snap_id;
	w->recording = path != NULL;   /* else serve only (replay with copy) */
	snprintf(w->path, sizeof(w->path), "%s", path ? path : "");
	vm->wset = w;
	for (unsigned i = 0; i < vm->mem.nr_regions; i++)
		w->size += vm->mem.regions[i].size;
	w->seen = calloc((size_t)(w->size / WSET_PAGE / 8 + 1), 1);
	w->file = mmap(NULL, (size_t)w->size, PROT_READ, MAP_PRIVATE | MAP_NORESERVE, mem_fd, 0);
	if (!w->seen || w->file == MAP_FAILED) {
		w->file = NULL;
		ERR("working_set: cannot map the memory file: %s", strerror(errno));
		r = -ENOMEM;
		goto fail;
	}
	r = w->uffd = uffd_create(&dev_errno);
	if (r < 0) {
		ERR("working_set: recording needs a userfaultfd (userfaultfd(2): %s; "
		    "/dev/userfaultfd: %s)", strerror(-r), strerror(dev_errno));
		goto fail;
	}
	if (ioctl(w->uffd, UFFDIO_API, &api) < 0) {
		ERR("working_set: UFFDIO_API: %s", strerror(errno));
		r = -errno;
		goto fail;
	}
	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *g = &vm->mem.regions[i];
		struct uffdio_register reg = {
			.range = { .start = (uint64_t)(uintptr_t)g->hva, .len = g->size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(w->uffd, UFFDIO_REGISTER, &reg) < 0) {
			ERR("working_set: UFFDIO_REGISTER of guest memory region %u: %s", i,
			    strerror(errno));
			r = -errno;
			goto fail;
		}
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->ready_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->epfd < 0 || w->stop_efd < 0 || w->ready_efd < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->uffd, &eu) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->stop_efd, &es) < 0 ||
	    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->ready_efd, &er) < 0) {
		ERR("working_set: epoll: %s", strerror(errno));
		r = -errno;
		goto fail;
	}
	w->deadline_us = now_us() + (uint64_t)record_ms * 1000u;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&w->thread, NULL, record_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		ERR("working_set: cannot start the recording thread: %s", strerror(-r));
		goto fail;
	}
	w->running = true;
	if (path)
		log_info("working set: recording first touches into %s for %u ms", path, record_ms);
	else
		log_info("working set: wisp serves guest memory from the memory file");
	return 0;
fail:
	w->recording = false;
	wset_record_detach(vm);
	return r;
}

void wset_record_detach(struct vm *vm)
{
	struct wset_recorder *w = vm->wset;
	uint64_t one = 1;

	if (!w)
		return;
	if (w->running) {
		if (write(w->stop_efd, &one, sizeof(one)) < 0)
			log_debug("working set: stop eventfd: %s", strerror(errno));
		pthread_join(w->thread, NULL);
	}
	if (w->recording)
		write_list(w);   /* the VM ends before record_ms */
	if (w->stop_efd >= 0)
		close(w->stop_efd);
	if (w->ready_efd >= 0)
		close(w->ready_efd);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->uffd >= 0)
		close(w->uffd);
	if (w->file)
		munmap((void *)w->file, (size_t)w->size);
	free(w->order);
	free(w->seen);
	free(w);
	vm->wset = NULL;
}

void wset_record_ready(struct vm *vm)
{
	struct wset_recorder *w = vm->wset;
	uint64_t one = 1;

	if (w && w->ready_efd >= 0 && write(w->ready_efd, &one, sizeof(one)) < 0)
		log_debug("working set: ready eventfd: %s", strerror(errno));
}

/* ---------------- replay with copy ---------------- */
struct copy_ctx {
	const uint8_t *src;        /* the page copies, mapped */
	int uffd;
	struct wset_prefetch_stats *st;
	char *err;
	size_t errlen;
};

/* UFFDIO_COPY a piece from its copies. A page already present (served
 * meanwhile) is skipped; a partial copy goes on where it stopped. */
static int copy_piece(void *arg, uint8_t *hva, uint64_t len, uint64_t rank)
{
	struct copy_ctx *c = arg;
	const uint8_t *src = c->src + rank * WSET_PAGE;
	char *err = c->err;
	size_t errlen = c->errlen;

	for (uint64_t done = 0; done < len;) {
		struct uffdio_copy cp = { .dst = (uint64_t)(uintptr_t)(hva + done),
					  .src = (uint64_t)(uintptr_t)(src + done),
					  .len = len - done };

		c->st->calls++;
		if (ioctl(c->uffd, UFFDIO_COPY, &cp) == 0)
			break;
		if (cp.copy > 0)
			done += (uint64_t)cp.copy;
		else if (errno == EEXIST)
			done += WSET_PAGE;
		else if (errno != EAGAIN && errno != EINTR) {
			int e = errno;

			ERR("working_set: UFFDIO_COPY of %" PRIu64 " page(s) of guest memory: %s",
			    (len - done) / WSET_PAGE, strerror(e));
			return -e;
		}
	}
	c->st->pages += len / WSET_PAGE;
	return 0;
}

int wset_copy_in(struct vm *vm, const struct wset *w, struct wset_prefetch_stats *st, char *err,
		 size_t errlen)
{
	struct copy_ctx c = { .st = st, .err = err, .errlen = errlen };
	size_t len = (size_t)(w->nr_pages * WSET_PAGE);
	void *src;
	int r;

	memset(st, 0, sizeof(*st));
	if (!vm->wset || w->fd < 0 || !w->data_off) {
		ERR("working_set.copy: no page copies to copy in");
		return -EINVAL;
	}
	c.uffd = vm->wset->uffd;
	/* One sequential read of all the copies, consumed as it arrives. */
	if (posix_fadvise(w->fd, (off_t)w->data_off, (off_t)len, POSIX_FADV_WILLNEED) == 0)
		st->ra_calls++;
	src = mmap(NULL, len, PROT_READ, MAP_PRIVATE, w->fd, (off_t)w->data_off);
	if (src == MAP_FAILED) {
		int e = errno;

		ERR("working_set.copy: cannot map the page copies: %s", strerror(e));
		return -e;
	}
	c.src = src;
	r = wset_each_piece(&vm->mem, w, copy_piece, &c);
	munmap(src, len);
	st->copied = st->pages;
	return r;
}
