/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wset.c — working-set record and prefetch (wset.h).
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
#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

/* ---------------- the file ---------------- */
static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;   /* x86_64: little-endian */
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int wset_parse(const uint8_t *buf, size_t len, uint64_t mem_size, struct wset *out, char *why,
	       size_t whylen)
{
	uint64_t n, pages = mem_size / WSET_PAGE, *idx;
	size_t nr = 0;

	memset(out, 0, sizeof(*out));
	if (len < WSET_HDR_LEN || memcmp(buf, WSET_MAGIC, 8) != 0) {
		WHY("not a working-set file (no \"%s\" header)", WSET_MAGIC);
		return -EINVAL;
	}
	if (get32(buf + 8) != WSET_VERSION || get32(buf + 12) != WSET_PAGE) {
		WHY("version %" PRIu32 " with %" PRIu32 "-byte pages, wisp reads version %u "
		    "with %u-byte pages", get32(buf + 8), get32(buf + 12), WSET_VERSION, WSET_PAGE);
		return -EINVAL;
	}
	if (get64(buf + 16) != mem_size) {
		WHY("recorded for %" PRIu64 " bytes of guest memory, the snapshot's guest has %"
		    PRIu64, get64(buf + 16), mem_size);
		return -EINVAL;
	}
	n = get64(buf + 24);
	if (n > pages || (len - WSET_HDR_LEN) / 8 != n || (len - WSET_HDR_LEN) % 8) {
		WHY("%zu bytes do not hold the %" PRIu64 " page indices the header announces",
		    len, n);
		return -EINVAL;
	}
	idx = malloc((size_t)(n ? n : 1) * sizeof(*idx));
	if (!idx) {
		WHY("out of memory");
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		idx[i] = get64(buf + WSET_HDR_LEN + 8 * i);
		if (idx[i] >= pages) {
			WHY("page %" PRIu64 " (entry %" PRIu64 ") is beyond guest memory (%" PRIu64
			    " pages)", idx[i], i, pages);
			free(idx);
			return -EINVAL;
		}
	}
	qsort(idx, (size_t)n, sizeof(*idx), cmp_u64);
	out->ranges = malloc((size_t)(n ? n : 1) * sizeof(*out->ranges));
	if (!out->ranges) {
		free(idx);
		WHY("out of memory");
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < n; i++) {
		if (i && idx[i] == idx[i - 1])
			continue;   /* a duplicate: populated once */
		out->nr_pages++;
		if (nr && out->ranges[nr - 1].first + out->ranges[nr - 1].count == idx[i])
			out->ranges[nr - 1].count++;
		else
			out->ranges[nr++] = (struct wset_range){ idx[i], 1 };
	}
	out->nr_ranges = nr;
	free(idx);
	return 0;
}

int wset_read(const char *path, uint64_t mem_size, struct wset *out, char *err, size_t errlen)
{
	char why[300];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = snap_read_file(path, &buf, &len, why, sizeof(why));
	if (r == 0) {
		r = wset_parse(buf, len, mem_size, out, why, sizeof(why));
		if (r < 0)
			ERR("working_set.path: %s: %s", path, why);
	} else {
		ERR("working_set.path: %s", why);
	}
	free(buf);
	return r;
}

void wset_free(struct wset *w)
{
	free(w->ranges);
	memset(w, 0, sizeof(*w));
}

/* ---------------- prefetch ---------------- */
static void populate(uint8_t *p, uint64_t len, struct wset_prefetch_stats *st)
{
	st->calls++;
	if (madvise(p, (size_t)len, MADV_POPULATE_READ) == 0)
		return;
	/* Kernels before 5.14 (EINVAL): a read of one byte per page. */
	for (uint64_t o = 0; o < len; o += WSET_PAGE) {
		(void)*(volatile uint8_t *)(p + o);
		st->touched++;
	}
}

void wset_prefetch(const struct guest_mem *mem, const struct wset *w,
		   struct wset_prefetch_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (size_t k = 0; k < w->nr_ranges; k++) {
		uint64_t start = w->ranges[k].first * WSET_PAGE;
		uint64_t end = start + w->ranges[k].count * WSET_PAGE, off = 0;

		/* Split the range at region boundaries (file offsets). */
		for (unsigned i = 0; i < mem->nr_regions; i++) {
			const struct guest_region *g = &mem->regions[i];
			uint64_t a = start > off ? start : off;
			uint64_t b = end < off + g->size ? end : off + g->size;

			if (a < b)
				populate((uint8_t *)g->hva + (a - off), b - a, st);
			off += g->size;
		}
		st->pages += w->ranges[k].count;
	}
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
	char path[VM_PATH_MAX];
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void write_list(struct wset_recorder *w)
{
	struct snap_out o = { .fd = -1 };
	uint8_t hdr[WSET_HDR_LEN] = { 0 };
	uint32_t v = WSET_VERSION, ps = WSET_PAGE;
	char err[600];
	size_t errlen = sizeof(err);

	w->recording = false;
	memcpy(hdr, WSET_MAGIC, 8);
	memcpy(hdr + 8, &v, 4);
	memcpy(hdr + 12, &ps, 4);
	memcpy(hdr + 16, &w->size, 8);
	memcpy(hdr + 24, &w->nr, 8);
	if (snap_out_open(&o, w->path, err, errlen) < 0 ||
	    snap_out_write(&o, hdr, sizeof(hdr), err, errlen) < 0 ||
	    snap_out_write(&o, w->order, (size_t)w->nr * 8, err, errlen) < 0 ||
	    snap_out_commit(&o, err, errlen) < 0) {
		snap_out_abort(&o);
		log_error("working set: cannot write %s: %s", w->path, err);
	} else {
		log_info("working set: %" PRIu64 " pages (%" PRIu64 " KiB) recorded in %s", w->nr,
			 w->nr * (WSET_PAGE / 1024), w->path);
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
	w->seen[page / 8] |= (uint8_t)(1u << (page % 8));
	if (w->nr == w->cap) {
		uint64_t cap = w->cap ? w->cap * 2 : 4096;
		uint64_t *p = realloc(w->order, (size_t)cap * sizeof(*p));

		if (!p)
			return;   /* the list just misses it: a prefetch hint */
		w->order = p;
		w->cap = cap;
	}
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

static int uffd_new(char *err, size_t errlen)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int sys_errno = errno, dev;

	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	ERR("working_set: recording needs a userfaultfd: %s", strerror(sys_errno));
	return -sys_errno;
}

int wset_record_attach(struct vm *vm, int mem_fd, const char *path, unsigned record_ms,
		       char *err, size_t errlen)
{
	struct wset_recorder *w = calloc(1, sizeof(*w));
	struct uffdio_api api = { .api = UFFD_API };
	struct epoll_event eu = { .events = EPOLLIN, .data.u32 = EV_UFFD };
	struct epoll_event es = { .events = EPOLLIN, .data.u32 = EV_STOP };
	struct epoll_event er = { .events = EPOLLIN, .data.u32 = EV_READY };
	sigset_t all, old;
	int r;

	if (!w) {
		ERR("out of memory");
		return -ENOMEM;
	}
	w->uffd = w->epfd = w->stop_efd = w->ready_efd = -1;
	w->vm = vm;
	w->recording = true;
	snprintf(w->path, sizeof(w->path), "%s", path);
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
	r = w->uffd = uffd_new(err, errlen);
	if (r < 0)
		goto fail;
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
	log_info("working set: recording first touches into %s for %u ms", path, record_ms);
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
