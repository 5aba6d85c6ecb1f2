/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wisp-uffd-handler — a page-fault handler for PUT /snapshot/load with the
 * Uffd memory backend (docs/uffd.md): it serves the guest memory of one
 * restored microVM (wisp or Firecracker) from a snapshot's memory file.
 *
 *   1. listen on SOCKET; accept one connection (the VMM's);
 *   2. receive, in one message, the JSON array of guest memory regions
 *        [{"base_host_virt_addr":H,"size":S,"offset":O,"page_size":P,
 *          "page_size_kib":P}, ...]
 *      with the VMM's userfaultfd attached (SCM_RIGHTS);
 *   3. for every missing-page fault in region R at host address A, copy the
 *      page at file offset R.offset + (A - R.base_host_virt_addr) into place
 *      (UFFDIO_COPY), or map the zero page (UFFDIO_ZEROPAGE) where the file
 *      has a hole (wisp's memory files are sparse: pages that were all zero
 *      are holes, found once at start with SEEK_DATA/SEEK_HOLE);
 *   4. on a remove event (a balloon gave pages back: MADV_DONTNEED), stop
 *      handling that range (UFFDIO_UNREGISTER): the kernel serves zero
 *      pages there from then on;
 *   5. exit when the VMM closes the connection (it exited).
 *
 * Keep the connection open for as long as the VM runs: wisp treats its
 * closing as the handler's death and ends the VM (exit status 1).
 *
 * This is meant as the reference a platform starts from: one file, no
 * threads, only libc and jansson.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#define MAX_REGIONS 16
#define BATCH_SIZE (2u << 20)      /* --batch-2m */
#define MAX_MSG 65536              /* the handshake: a few hundred bytes per region */
#define EVENTS_PER_READ 64

struct region {
	uint64_t base, size, offset;   /* host address, bytes, offset in the memory file */
};

/* [start, end) of the memory file that holds data (the rest is holes). */
struct extent {
	uint64_t start, end;
};

struct handler {
	/* the memory file */
	const uint8_t *mem;            /* mapped read-only, or NULL if empty */
	uint64_t mem_size;
	struct extent *data;
	size_t nr_data;
	/* from the VMM */
	int sock, uffd;
	struct region regions[MAX_REGIONS];
	unsigned nr_regions;
	uint64_t page_size;
	/* options */
	bool batch, quiet;
	/* what was done */
	uint64_t faults, copied, zeroed, removes, t_first_ns, t_last_ns;
};

static const char *prog = "wisp-uffd-handler";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define die(...) do { say(__VA_ARGS__); exit(1); } while (0)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: %s [--batch-2m] [--quiet] SOCKET MEMFILE\n"
"\n"
"Serve the guest memory of one microVM restored with\n"
"  PUT /snapshot/load {\"snapshot_path\": ..., \"mem_backend\":\n"
"                      {\"backend_type\": \"Uffd\", \"backend_path\": SOCKET}}\n"
"from MEMFILE, the snapshot's memory file. Listens on the Unix socket SOCKET\n"
"(which must not exist yet), accepts the VMM's connection, receives its guest\n"
"memory regions and userfaultfd, then copies each page the guest touches from\n"
"MEMFILE (holes in MEMFILE become zero pages). Exits 0 when the VMM goes away,\n"
"1 on an error. wisp stops the VM (exit status 1) if this handler exits or\n"
"closes the connection while the VM runs.\n"
"\n"
"  --batch-2m  serve a fault with its whole 2 MiB-aligned block (fewer, larger\n"
"              copies; more memory used up front)\n"
"  --quiet     print only errors (otherwise: the regions received and, at the\n"
"              end, how many faults were served)\n"
"  -h, --help  this text\n"
"\n"
"Protocol and notes: docs/uffd.md.\n", prog);
}

/* ---------------- the memory file ---------------- */

/* Map MEMFILE and find its data extents (rounded out to whole pages). */
static void open_mem_file(struct handler *h, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t cap = 0;
	off_t pos = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	h->mem_size = (uint64_t)st.st_size;
	if (h->mem_size) {
		/* The page cache backs this mapping: no copy of the file in memory. */
		h->mem = mmap(NULL, h->mem_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (h->mem == MAP_FAILED)
			die("%s: mmap: %s", path, strerror(errno));
	}
	while ((uint64_t)pos < h->mem_size) {
		off_t d = lseek(fd, pos, SEEK_DATA), e;

		if (d < 0 && errno == ENXIO)
			break;              /* only a hole is left */
		if (d < 0) {
			/* No SEEK_DATA here: the whole file is data. */
			d = 0;
			e = (off_t)h->mem_size;
		} else {
			e = lseek(fd, d, SEEK_HOLE);
			if (e < 0)
				e = (off_t)h->mem_size;
		}
		if (h->nr_data == cap) {
			cap = cap ? cap * 2 : 64;
			h->data = realloc(h->data, cap * sizeof(*h->data));
			if (!h->data)
				die("out of memory");
		}
		h->data[h->nr_data].start = (uint64_t)d & ~4095ull;
		h->data[h->nr_data].end = ((uint64_t)e + 4095) & ~4095ull;
		h->nr_data++;
		pos = e;
	}
	close(fd);
}

/* Is file offset `off` data? *end: where that answer stops holding. */
static bool is_data(const struct handler *h, uint64_t off, uint64_t *end)
{
	size_t lo = 0, hi = h->nr_data;

	if (off >= h->mem_size) {
		*end = UINT64_MAX;          /* past the end of the file: zeros */
		return false;
	}
	while (lo < hi) {                   /* first extent that ends after off */
		size_t mid = (lo + hi) / 2;

		if (h->data[mid].end <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->nr_data && h->data[lo].start <= off) {
		*end = h->data[lo].end;
		return true;
	}
	*end = lo < h->nr_data ? h->data[lo].start : UINT64_MAX;
	return false;
}

/* ---------------- the handshake ---------------- */

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		die("%s: longer than a Unix socket path can be", path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0)
		die("%s: %s", path, strerror(errno));
	return fd;
}

/* One message: the JSON (maybe in several reads on a stream socket) and,
 * with its first bytes, the userfaultfd. */
static char *receive_handshake(struct handler *h)
{
	char *buf = malloc(MAX_MSG + 1);
	size_t len = 0;
	int depth = 0;
	bool started = false;

	if (!buf)
		die("out of memory");
	h->uffd = -1;
	for (;;) {
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { .iov_base = buf + len, .iov_len = MAX_MSG - len };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				      .msg_controllen = sizeof(ctl.b) };
		ssize_t n = recvmsg(h->sock, &msg, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("receiving the handshake: %s", strerror(errno));
		if (n == 0)
			die("the VMM closed the connection before its handshake was complete");
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int)) && h->uffd < 0)
				memcpy(&h->uffd, CMSG_DATA(c), sizeof(int));
		/* The message ends where its top-level array closes. */
		for (size_t i = len; i < len + (size_t)n; i++) {
			if (buf[i] == '[' || buf[i] == '{') {
				depth++;
				started = true;
			} else if (buf[i] == ']' || buf[i] == '}') {
				depth--;
			}
		}
		len += (size_t)n;
		if (started && depth <= 0)
			break;
		if (len == MAX_MSG)
			die("the handshake is longer than %d bytes", MAX_MSG);
	}
	buf[len] = 0;
	if (h->uffd < 0)
		die("the handshake came without a userfaultfd: %s", buf);
	return buf;
}

static uint64_t get_u64(json_t *o, const char *key, unsigned i)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		die("region %u: \"%s\" is missing or not a non-negative integer", i, key);
	return (uint64_t)json_integer_value(v);
}

static void parse_regions(struct handler *h, const char *text)
{
	json_error_t jerr;
	json_t *a = json_loads(text, 0, &jerr);
	size_t i;
	json_t *o;

	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > MAX_REGIONS)
		die("the handshake is not an array of 1 to %d regions: %s", MAX_REGIONS, text);
	json_array_foreach(a, i, o) {
		struct region *r = &h->regions[i];
		/* page_size; older Firecrackers sent only page_size_kib (in bytes too). */
		uint64_t ps = get_u64(o, json_object_get(o, "page_size") ? "page_size"
									 : "page_size_kib",
				      (unsigned)i);

		r->base = get_u64(o, "base_host_virt_addr", (unsigned)i);
		r->size = get_u64(o, "size", (unsigned)i);
		r->offset = get_u64(o, "offset", (unsigned)i);
		if (ps < 4096 || (ps & (ps - 1)) || (i && ps != h->page_size))
			die("region %zu: page size %" PRIu64 " (must be one power of two >= 4096 "
			    "for all regions)", i, ps);
		h->page_size = ps;
		if (!r->size || r->base % ps || r->size % ps || r->offset % ps)
			die("region %zu: base, size and offset must be non-zero multiples of the "
			    "page size", i);
		if (r->offset + r->size > h->mem_size)
			die("region %zu needs the memory file up to byte %" PRIu64 ", it has %" PRIu64
			    " (the wrong memory file for this snapshot?)", i, r->offset + r->size,
			    h->mem_size);
		h->nr_regions++;
	}
	json_decref(a);
}

/* ---------------- serving faults ---------------- */

/* Result of filling a range. DONE: the faulting page is in place but the
 * rest of the range has to wait (a remove event is pending). */
enum serve { SERVED, RETRY, GONE, DONE };

/* Fill [dst, dst+len) (all in one region; data or hole throughout) from
 * file offset off. Pages already there (EEXIST: another fault, an earlier
 * batch) are stepped over, and so are pages no longer registered (ENOENT: a
 * remove event unregistered them; the kernel gives them zero pages itself).
 * A range that spans such pages fails whole with ENOENT (UFFDIO_COPY and
 * UFFDIO_ZEROPAGE work within one registered mapping): it is then filled a
 * page at a time.
 *
 * *placed is set when this call put the page at `page` in place: a fault
 * whose page was already there (the faulting thread was woken by a signal
 * and faulted again, or a remove event unregistered the page while it
 * waited) is not one this handler served. */
static enum serve fill(struct handler *h, uint64_t dst, uint64_t len, uint64_t off, bool data,
		       uint64_t page, bool *placed)
{
	bool by_page = false;

	while (len) {
		uint64_t n = by_page ? h->page_size : len;
		int64_t done;
		int r;

		if (data) {
			struct uffdio_copy c = { .dst = dst, .src = (uint64_t)(uintptr_t)(h->mem + off),
						 .len = n };

			r = ioctl(h->uffd, UFFDIO_COPY, &c);
			done = c.copy;
		} else {
			struct uffdio_zeropage z = { .range = { .start = dst, .len = n } };

			r = ioctl(h->uffd, UFFDIO_ZEROPAGE, &z);
			done = z.zeropage;
		}
		if (r == 0)
			done = (int64_t)n;
		if (done > 0) {
			*(data ? &h->copied : &h->zeroed) += (uint64_t)done;
			if (page >= dst && page - dst < (uint64_t)done)
				*placed = true;
			dst += (uint64_t)done;
			off += (uint64_t)done;
			len -= (uint64_t)done;
			continue;
		}
		switch (errno) {
		case ENOENT:            /* unregistered (removed) */
			if (n > h->page_size) {
				by_page = true;   /* find which pages, one by one */
				break;
			}
			/* this page is not ours to fill: step over it */
			__attribute__((fallthrough));
		case EEXIST:            /* the next page is already there: skip it */
			dst += h->page_size;
			off += h->page_size;
			len -= h->page_size;
			break;
		case EAGAIN:            /* a remove event is pending: read it first */
			return *placed ? DONE : RETRY;
		case ESRCH:             /* the VMM's memory is gone: it exited */
			return GONE;
		default:
			die("%s at 0x%" PRIx64 " (+%" PRIu64 "): %s",
			    data ? "UFFDIO_COPY" : "UFFDIO_ZEROPAGE", dst, n, strerror(errno));
		}
	}
	return SERVED;
}

static enum serve serve_fault(struct handler *h, uint64_t addr)
{
	uint64_t page = addr & ~(h->page_size - 1), lo, hi;
	const struct region *r = NULL;
	struct uffdio_range wake;
	bool placed = false;

	for (unsigned i = 0; i < h->nr_regions && !r; i++)
		if (page >= h->regions[i].base && page - h->regions[i].base < h->regions[i].size)
			r = &h->regions[i];
	if (!r)
		die("a fault at 0x%" PRIx64 ", outside every region", addr);
	lo = page;
	hi = page + h->page_size;
	if (h->batch && h->page_size < BATCH_SIZE) {
		lo = page & ~(uint64_t)(BATCH_SIZE - 1);
		hi = lo + BATCH_SIZE;
		if (lo < r->base)
			lo = r->base;
		if (hi > r->base + r->size)
			hi = r->base + r->size;
	}
	/* Walk [lo, hi) in pieces that are all data or all hole. */
	for (uint64_t a = lo; a < hi;) {
		uint64_t off = r->offset + (a - r->base), end, len;
		bool data = is_data(h, off, &end);
		enum serve s;

		/* Huge pages: always copied whole (UFFDIO_ZEROPAGE is for 4 KiB
		 * pages only; a hole reads as zeros through the mapping). */
		if (h->page_size != 4096) {
			data = true;
			end = UINT64_MAX;
		}
		len = end - off < hi - a ? end - off : hi - a;
		s = fill(h, a, len, off, data, page, &placed);
		if (s == DONE)
			break;   /* the faulting page is in; the rest of a batch can wait */
		if (s != SERVED)
			return s;
		a += len;
	}
	/* The faulting thread may have waited on a page that was already there
	 * (EEXIST), or on one whose range was unregistered meanwhile (after the
	 * unregister had woken the waiters): make sure it runs. */
	wake.start = page;
	wake.len = h->page_size;
	if (ioctl(h->uffd, UFFDIO_WAKE, &wake) < 0 && errno != ENOENT && errno != ESRCH)
		say("UFFDIO_WAKE at 0x%" PRIx64 ": %s", page, strerror(errno));
	if (!placed)
		return SERVED;
	h->faults++;
	if (!h->t_first_ns)
		h->t_first_ns = now_ns();
	h->t_last_ns = now_ns();
	return SERVED;
}

static void on_remove(struct handler *h, uint64_t start, uint64_t end)
{
	struct uffdio_range r = { .start = start, .len = end - start };

	/* From now on the kernel gives this range zero pages (what a balloon's
	 * MADV_DONTNEED means). A production handler might instead keep it
	 * registered and serve zero pages itself. */
	if (ioctl(h->uffd, UFFDIO_UNREGISTER, &r) < 0 && errno != ESRCH)
		say("UFFDIO_UNREGISTER [0x%" PRIx64 ", 0x%" PRIx64 "): %s", start, end,
		    strerror(errno));
	h->removes++;
}

/*
 * Read every pending event and act on it. Remove events are handled before
 * faults: while one is pending, UFFDIO_COPY fails with EAGAIN. A fault that
 * got EAGAIN is kept and tried again after the next read. Returns false
 * when the VMM is gone.
 */
static bool handle_events(struct handler *h)
{
	static uint64_t pending[EVENTS_PER_READ * 4];
	size_t nr_pending = 0;

	do {
		struct uffd_msg msg[EVENTS_PER_READ];
		ssize_t n = read(h->uffd, msg, sizeof(msg));
		size_t still = 0;

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			die("reading the userfaultfd: %s", strerror(errno));
		for (ssize_t i = 0; i < n / (ssize_t)sizeof(msg[0]); i++) {
			switch (msg[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				if (nr_pending == sizeof(pending) / sizeof(pending[0]))
					die("too many faults waiting on remove events");
				pending[nr_pending++] = msg[i].arg.pagefault.address;
				break;
			case UFFD_EVENT_REMOVE:
				on_remove(h, msg[i].arg.remove.start, msg[i].arg.remove.end);
				break;
			default:
				/* Not requested by wisp or Firecracker (fork, remap,
				 * unmap): nothing to do. */
				if (!h->quiet)
					say("ignoring userfaultfd event 0x%x", msg[i].event);
			}
		}
		for (size_t i = 0; i < nr_pending; i++) {
			enum serve s = serve_fault(h, pending[i]);

			if (s == GONE)
				return false;
			if (s == RETRY)
				pending[still++] = pending[i];
		}
		nr_pending = still;
	} while (nr_pending);
	return true;
}

/* ---------------- main ---------------- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch-2m", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct handler h = { .sock = -1, .uffd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	const char *sock_path, *mem_path;
	char *json;
	int c, lfd;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			h.batch = true;
			break;
		case 'q':
			h.quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	sock_path = argv[optind];
	mem_path = argv[optind + 1];
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	open_mem_file(&h, mem_path);
	lfd = listen_on(sock_path);
	if (!h.quiet)
		say("listening on %s for a VMM (memory file %s: %" PRIu64 " MiB, %zu data "
		    "extent(s))", sock_path, mem_path, h.mem_size >> 20, h.nr_data);
	do
		h.sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (h.sock < 0 && errno == EINTR && !stop);
	if (h.sock < 0)
		die("accept on %s: %s", sock_path, stop ? "interrupted" : strerror(errno));
	/* One VM per handler: nobody else may connect. */
	close(lfd);
	unlink(sock_path);

	json = receive_handshake(&h);
	parse_regions(&h, json);
	/* Firecracker and wisp create it non-blocking; make sure (reads below
	 * must not block). */
	if (fcntl(h.uffd, F_SETFL, O_NONBLOCK) < 0)
		die("userfaultfd: %s", strerror(errno));
	if (!h.quiet)
		say("serving %u region(s), %" PRIu64 "-byte pages%s: %s", h.nr_regions, h.page_size,
		    h.batch ? ", in 2 MiB batches" : "", json);
	free(json);

	while (!stop) {
		struct pollfd p[2] = {
			{ .fd = h.uffd, .events = POLLIN },
			{ .fd = h.sock, .events = POLLIN | POLLRDHUP },
		};

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		/* Faults first: the VMM may be waiting on one as it goes. */
		if ((p[0].revents & POLLIN) && !handle_events(&h))
			break;
		if (p[1].revents) {
			char b;

			/* The VMM never writes: readable means closed. */
			if ((p[1].revents & (POLLHUP | POLLRDHUP | POLLERR)) ||
			    recv(h.sock, &b, 1, MSG_DONTWAIT) <= 0)
				break;
		}
	}
	if (!h.quiet) {
		double s = h.faults > 1 ? (double)(h.t_last_ns - h.t_first_ns) / 1e9 : 0;

		say("%s: served %" PRIu64 " fault(s) (%" PRIu64 " KiB copied, %" PRIu64
		    " KiB zero pages), %" PRIu64 " remove event(s); faults over %.3f s",
		    stop ? "stopped by a signal" : "the VMM is gone", h.faults, h.copied >> 10,
		    h.zeroed >> 10, h.removes, s);
		if (s > 0)
			say("%.0f faults/s while faulting", (double)(h.faults - 1) / s);
	}
	close(h.uffd);
	close(h.sock);
	if (h.mem)
		munmap((void *)h.mem, h.mem_size);
	free(h.data);
	return 0;
}
