/* SPDX-License-Identifier: Apache-2.0 */
/* evloop.c — the VMM thread's epoll loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vm.h"

#define EVLOOP_MAX_FDS 256

struct ev_entry {
	int fd;
	ev_handler fn;
	void *opaque;
};

struct evloop {
	int epfd;
	struct ev_entry entries[EVLOOP_MAX_FDS];
};

struct evloop *evloop_create(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		log_error("epoll_create1: %s", strerror(errno));
		free(loop);
		return NULL;
	}
	for (int i = 0; i < EVLOOP_MAX_FDS; i++)
		loop->entries[i].fd = -1;
	return loop;
}

void evloop_destroy(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free(loop);
}

static struct ev_entry *find(struct evloop *loop, int fd)
{
	for (int i = 0; i < EVLOOP_MAX_FDS; i++)
		if (loop->entries[i].fd == fd)
			return &loop->entries[i];
	return NULL;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, ev_handler fn, void *opaque)
{
	struct ev_entry *e = find(loop, -1);
	struct epoll_event ev = { .events = events };

	if (!e) {
		log_error("event loop: too many file descriptors");
		return -ENOSPC;
	}
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		log_error("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		return err;
	}
	*e = (struct ev_entry){ fd, fn, opaque };
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct ev_entry *e = find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!e)
		return -ENOENT;
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
		int err = -errno;

		log_error("epoll_ctl(MOD, %d): %s", fd, strerror(errno));
		return err;
	}
	return 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	struct ev_entry *e = find(loop, fd);

	if (!e)
		return -ENOENT;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	e->fd = -1;
	e->fn = NULL;
	return 0;
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(loop->epfd, evs, 32, timeout_ms);

	if (n < 0) {
		if (errno == EINTR)
			return 0;
		log_error("epoll_wait: %s", strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		struct ev_entry *e = evs[i].data.ptr;

		/* A handler may have removed a later entry in this batch. */
		if (e->fd >= 0 && e->fn)
			e->fn(e->fd, evs[i].events, e->opaque);
	}
	return n;
}
