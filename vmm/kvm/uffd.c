/* SPDX-License-Identifier: Apache-2.0 */
/*
 * uffd.c — the Uffd memory backend of a snapshot load (uffd.h): a
 * userfaultfd over guest RAM, Firecracker's handshake with the page-fault
 * handler, and the watch that ends the VM when the handler goes away.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include "uffd.h"
#include "vm.h"
#include "vmm_seccomp.h"

#define ERR(...) snprintf(err, errlen, __VA_ARGS__)

/* Firecracker's handshake for 4 KiB pages (HugePageConfig::None). */
#define UFFD_PAGE_SIZE 4096u

/* After the handler is gone and the VM was asked to stop: how long the VMM
 * thread gets to do so before the watcher ends the process itself. */
#define UFFD_STOP_GRACE_MS 100

struct uffd_backend {
	int uffd;              /* kept open for the VM's life */
	int sock;              /* connection to the handler, kept open and watched */
	int epfd;              /* the watcher's: sock and stop_efd */
	int stop_efd;          /* written by uffd_detach: the watcher returns */
	pthread_t watcher;
	bool watching;
	struct vm *vm;
	char path[108];        /* the handler's socket, for log lines */
};

int uffd_handshake_json(const struct guest_mem *mem, uint64_t page_size, char *buf, size_t len)
{
	uint64_t offset = 0;
	size_t n = 0;
	int r;

	/* serde_json's compact output of Vec<GuestRegionUffdMapping>, fields in
	 * Firecracker's order. `page_size_kib` is Firecracker's deprecated
	 * alias of page_size and, despite its name, holds bytes as well. */
	r = snprintf(buf, len, "[");
	for (unsigned i = 0; r >= 0 && i < mem->nr_regions; i++) {
		const struct guest_region *g = &mem->regions[i];

		n += (size_t)r;
		if (n >= len)
			return -ENOSPC;
		r = snprintf(buf + n, len - n,
			     "%s{\"base_host_virt_addr\":%" PRIu64 ",\"size\":%" PRIu64
			     ",\"offset\":%" PRIu64 ",\"page_size\":%" PRIu64
			     ",\"page_size_kib\":%" PRIu64 "}",
			     i ? "," : "", (uint64_t)(uintptr_t)g->hva, g->size, offset, page_size,
			     page_size);
		offset += g->size;
	}
	n += (size_t)r;
	if (r < 0 || n >= len)
		return -ENOSPC;
	r = snprintf(buf + n, len - n, "]");
	n += (size_t)r;
	if (r < 0 || n >= len)
		return -ENOSPC;
	return (int)n;
}

int uffd_create(int *dev_errno)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	int sys_errno = errno, dev;

	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	*dev_errno = errno;
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		*dev_errno = errno;
		close(dev);
		if (fd >= 0) {
			log_debug("uffd: userfaultfd(2): %s; created through /dev/userfaultfd",
				  strerror(sys_errno));
			return fd;
		}
	}
	return -sys_errno;
}

static int uffd_open(char *err, size_t errlen)
{
	int dev_errno = 0, fd = uffd_create(&dev_errno);

	if (fd < 0)
		ERR("mem_backend: cannot create a userfaultfd (userfaultfd(2): %s; "
		    "/dev/userfaultfd: %s)", strerror(-fd), strerror(dev_errno));
	return fd;
}

static int uffd_setup(struct uffd_backend *u, const struct guest_mem *mem, char *err,
		      size_t errlen)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_EVENT_REMOVE };

	u->uffd = uffd_open(err, errlen);
	if (u->uffd < 0)
		return u->uffd;
	/* Firecracker requires EVENT_REMOVE: a balloon's MADV_DONTNEED reaches
	 * the handler as a remove event rather than as zero-filled faults. */
	if (ioctl(u->uffd, UFFDIO_API, &api) < 0) {
		ERR("mem_backend: UFFDIO_API (features EVENT_REMOVE): %s", strerror(errno));
		return -errno;
	}
	if (!(api.ioctls & (1ull << _UFFDIO_REGISTER))) {
		ERR("mem_backend: this kernel's userfaultfd cannot register memory");
		return -ENOTSUP;
	}
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *g = &mem->regions[i];
		struct uffdio_register reg = {
			.range = { .start = (uint64_t)(uintptr_t)g->hva, .len = g->size },
			.mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(u->uffd, UFFDIO_REGISTER, &reg) < 0) {
			ERR("mem_backend: UFFDIO_REGISTER of guest memory region %u (%" PRIu64
			    " MiB): %s", i, g->size >> 20, strerror(errno));
			return -errno;
		}
		if (!(reg.ioctls & (1ull << _UFFDIO_COPY))) {
			ERR("mem_backend: this kernel's userfaultfd cannot copy into guest memory");
			return -ENOTSUP;
		}
	}
	return 0;
}

static int uffd_connect(struct uffd_backend *u, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		ERR("mem_backend.backend_path: %s is longer than a Unix socket path can be (%zu "
		    "bytes)", path, sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path));
	u->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u->sock < 0) {
		ERR("mem_backend: socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(u->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		/* Firecracker's words first (functional/test_uffd.py), then wisp's. */
		ERR("Failed to restore from snapshot: Failed to load guest memory: Error creating "
		    "guest memory from uffd: Failed to connect to UDS Unix stream: %s (os error %d) "
		    "(mem_backend.backend_path: cannot connect to the page-fault handler at %s: %s)",
		    strerror(e), e, path, strerror(e));
		return -e;
	}
	return 0;
}

/* One sendmsg: the JSON and the userfaultfd (Firecracker's send_with_fd). */
static int uffd_send_handshake(struct uffd_backend *u, const struct guest_mem *mem,
			       const char *path, char *err, size_t errlen)
{
	char json[256 * GUEST_MEM_MAX_REGIONS];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			      .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *c;
	int len = uffd_handshake_json(mem, UFFD_PAGE_SIZE, json, sizeof(json));
	ssize_t n;

	if (len < 0) {
		ERR("mem_backend: the handshake message does not fit");
		return len;
	}
	iov.iov_base = json;
	iov.iov_len = (size_t)len;
	memset(&ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &u->uffd, sizeof(int));
	do
		n = sendmsg(u->sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n != len) {
		ERR("mem_backend.backend_path: cannot send the guest memory regions to the "
		    "page-fault handler at %s: %s", path, n < 0 ? strerror(errno) : "short write");
		return n < 0 ? -errno : -EIO;
	}
	log_info("uffd: guest memory (%u region(s)) handed to the page-fault handler at %s: %s",
		 mem->nr_regions, path, json);
	return 0;
}

/*
 * The watcher: a thread that waits on the handler's connection. Firecracker's
 * handlers never write to it, so EOF, a hang-up or an error means the
 * handler is gone; then the VM is asked to stop (exit status 1) and the VMM
 * thread shuts it down as usual. A thread rather than the VMM thread's event
 * loop because the VMM thread itself may be the one waiting, forever, on a
 * fault the dead handler never served (a device reading guest memory, also
 * during the load itself): if it has not stopped the VM within
 * UFFD_STOP_GRACE_MS, the watcher ends the process.
 */
enum { EV_SOCK = 1, EV_STOP = 2 };

/* Why the handler is gone (EOF, hang-up, error), or NULL: not gone. */
static const char *sock_event(struct uffd_backend *u, uint32_t events)
{
	char buf[256];
	ssize_t n;

	if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		return "closed its connection (it exited or crashed)";
	n = read(u->sock, buf, sizeof(buf));
	if (n == 0)
		return "closed its connection (it exited or crashed)";
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return strerror(errno);
	if (n > 0)
		log_debug("uffd: %zd unexpected bytes from the page-fault handler at %s, ignored", n,
			  u->path);
	return NULL;
}

static void *watcher_main(void *arg)
{
	struct uffd_backend *u = arg;
	struct epoll_event ev[2];
	const char *why = NULL;
	int left = UFFD_STOP_GRACE_MS;

	log_set_thread_name("wisp_uffd");
	prctl(PR_SET_NAME, "wisp_uffd");   /* for ps/top; before the filter */
	/* Created by the VMM thread before its own filter (a load comes first):
	 * this thread takes the VMM thread's filter (epoll_wait, read, write,
	 * exit_group are all it calls). */
	wisp_seccomp_enter(SC_ROLE_VMM);
	while (!why) {
		int n = epoll_wait(u->epfd, ev, 2, -1);

		for (int i = 0; i < n && !why; i++) {
			if (ev[i].data.u32 == EV_STOP)
				return NULL;
			why = sock_event(u, ev[i].events);
		}
	}
	log_error("uffd: the page-fault handler at %s %s; guest memory can no longer be served, "
		  "stopping the microVM", u->path, why);
	epoll_ctl(u->epfd, EPOLL_CTL_DEL, u->sock, NULL);
	vm_request_exit(u->vm, WISP_EXIT_ERROR);
	while (left > 0) {
		struct timespec t0, t1;
		int n;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		n = epoll_wait(u->epfd, ev, 1, left);
		if (n > 0)
			return NULL;   /* uffd_detach: the VM is being torn down */
		clock_gettime(CLOCK_MONOTONIC, &t1);
		left -= (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (n == 0)
			break;
	}
	log_error("uffd: the VMM thread did not stop the microVM within %d ms (likely waiting on "
		  "guest memory the handler at %s never served): ending the process",
		  UFFD_STOP_GRACE_MS, u->path);
	_exit(WISP_EXIT_ERROR);
}

static int watcher_start(struct uffd_backend *u, char *err, size_t errlen)
{
	struct epoll_event es = { .events = EPOLLIN | EPOLLRDHUP, .data.u32 = EV_SOCK };
	struct epoll_event ee = { .events = EPOLLIN, .data.u32 = EV_STOP };
	sigset_t all, old;
	int r;

	u->epfd = epoll_create1(EPOLL_CLOEXEC);
	u->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->epfd < 0 || u->stop_efd < 0 || fcntl(u->sock, F_SETFL, O_NONBLOCK) < 0 ||
	    epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->sock, &es) < 0 ||
	    epoll_ctl(u->epfd, EPOLL_CTL_ADD, u->stop_efd, &ee) < 0) {
		ERR("mem_backend: cannot watch the page-fault handler's connection: %s",
		    strerror(errno));
		return -errno;
	}
	/* No signal is for this thread (SIGTERM is the VMM thread's signalfd's,
	 * the vCPU kick the vCPUs'). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&u->watcher, NULL, watcher_main, u);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0) {
		ERR("mem_backend: cannot start the thread that watches the page-fault handler: %s",
		    strerror(-r));
		return r;
	}
	u->watching = true;
	return 0;
}

void uffd_detach(struct vm *vm)
{
	struct uffd_backend *u = vm->uffd;
	uint64_t one = 1;

	if (!u)
		return;
	if (u->watching) {
		if (write(u->stop_efd, &one, sizeof(one)) < 0)
			log_debug("uffd: stop eventfd: %s", strerror(errno));
		pthread_join(u->watcher, NULL);
	}
	if (u->stop_efd >= 0)
		close(u->stop_efd);
	if (u->epfd >= 0)
		close(u->epfd);
	if (u->sock >= 0)
		close(u->sock);
	if (u->uffd >= 0)
		close(u->uffd);
	free(u);
	vm->uffd = NULL;
	vm->opts.uffd_socket = NULL;
}

int uffd_attach(struct vm *vm, const char *sock_path, char *err, size_t errlen)
{
	struct uffd_backend *u = calloc(1, sizeof(*u));
	int r;

	if (!u) {
		ERR("out of memory");
		return -ENOMEM;
	}
	u->uffd = u->sock = u->epfd = u->stop_efd = -1;
	u->vm = vm;
	snprintf(u->path, sizeof(u->path), "%s", sock_path);
	vm->uffd = u;
	r = uffd_setup(u, &vm->mem, err, errlen);
	if (r == 0)
		r = uffd_connect(u, sock_path, err, errlen);
	if (r == 0)
		r = uffd_send_handshake(u, &vm->mem, sock_path, err, errlen);
	if (r == 0)
		r = watcher_start(u, err, errlen);
	if (r < 0)
		uffd_detach(vm);
	else
		vm->opts.uffd_socket = u->path;   /* the caller's string lives only for the load */
	return r;
}
