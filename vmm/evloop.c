/* SPDX-License-Identifier: Apache-2.0 */
/* evloop.c — the VMM thread's epoll loop. */
#include <errno.h>
#include <pthread.h>
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

/* The table is changed on the VMM thread and looked up by evloop_mod()
 * from vCPU threads too (devices re-arming their fds): a mutex guards it;
 * handlers run without it. */
struct evloop {
	int epfd;
	pthread_mutex_t lock;
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
	pthread_mutex_init(&loop->lock, NULL);
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
	struct ev_entry *e;
	struct epoll_event ev = { .events = events };
	int err = 0;

	pthread_mutex_lock(&loop->lock);
	e = find(loop, -1);
	if (!e) {
		err = -ENOSPC;
		log_error("event loop: too many file descriptors");
		goto out;
	}
	*e = (struct ev_entry){ fd, fn, opaque };
	ev.data.ptr = e;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		err = -errno;
		log_error("epoll_ctl(ADD, %d): %s", fd, strerror(errno));
		e->fd = -1;
		e->fn = NULL;
	}
out:
	pthread_mutex_unlock(&loop->lock);
	return err;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct ev_entry *e;
	struct epoll_event ev = { .events = events };
	int err = 0;

	pthread_mutex_lock(&loop->lock);
	e = find(loop, fd);
	if (!e) {
		err = -ENOENT;
	} else {
		ev.data.ptr = e;
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
			err = -errno;
			log_error("epoll_ctl(MOD, %d): %s", fd, strerror(errno));
		}
	}
	pthread_mutex_unlock(&loop->lock);
	return err;
}

int evloop_del(struct evloop *loop, int fd)
{
	struct ev_entry *e;

	pthread_mutex_lock(&loop->lock);
	e = find(loop, fd);
	if (e) {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		e->fd = -1;
		e->fn = NULL;
	}
	pthread_mutex_unlock(&loop->lock);
	return e ? 0 : -ENOENT;
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
		struct ev_entry *e = evs[i].data.ptr, cur;

		/* A handler may have removed (or replaced) a later entry of this
		 * batch: handlers read non-blocking fds, so a stale event costs
		 * at most an EAGAIN. */
		pthread_mutex_lock(&loop->lock);
		cur = *e;
		pthread_mutex_unlock(&loop->lock);
		if (cur.fd >= 0 && cur.fn)
			cur.fn(cur.fd, evs[i].events, cur.opaque);
	}
	return n;
}
