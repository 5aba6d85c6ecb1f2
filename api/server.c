/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c — the api thread: epoll over the listening Unix socket and its
 * client connections (all non-blocking), HTTP parsing, routing, and the
 * hand-off of typed requests to the VMM thread (queue + eventfd) and of
 * typed responses back (queue + eventfd).
 *
 * Each connection handles one request at a time, in order: while a request
 * is with the VMM thread or its response is not yet fully written, the
 * connection is not read (pipelined bytes wait in the kernel). Other
 * connections are unaffected, so a stalled client blocks nobody.
 *
 * Limits against hostile or broken clients (docs/api.md "HTTP layer"):
 *  - memory: the bytes of unfinished requests buffered over all
 *    connections stay under a budget; a connection that would pass it is
 *    not read until others finish (its kernel buffer fills instead);
 *  - time: a request must arrive whole within API_REQUEST_TIMEOUT_MS of its
 *    first byte (408, then close), a response must be taken by the client
 *    within API_WRITE_TIMEOUT_MS, and a connection idle for
 *    API_IDLE_TIMEOUT_MS is closed;
 *  - descriptors: when accept4 fails for lack of fds or memory (EMFILE,
 *    ENFILE, ENOBUFS, ENOMEM) the listening socket is left alone for a
 *    backoff (100 ms doubling to 1 s) instead of waking the thread at once
 *    again, open connections are still served, and it is logged once per
 *    episode.
 * The deadlines are the epoll_wait timeout: no timer fd, no new system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "http.h"
#include "route.h"

#define API_MAX_CONNS 256
#define API_READ_CHUNK 16384
#define API_REQUEST_TIMEOUT_MS 15000
#define API_WRITE_TIMEOUT_MS   30000
#define API_IDLE_TIMEOUT_MS    300000
#define API_TICK_MS            1000
#define API_ACCEPT_BACKOFF_MIN_MS 100
#define API_ACCEPT_BACKOFF_MAX_MS 1000
#define API_BUFFER_BUDGET_MIN  (8u << 20)

/* epoll tags for the fixed fds; connections use their slot index. */
#define TAG_LISTEN  (UINT64_MAX - 1)
#define TAG_RESP    (UINT64_MAX - 2)
#define TAG_STOP    (UINT64_MAX - 3)

struct conn {
	int fd;
	uint64_t gen;
	struct http_parser parser;
	char *out;
	size_t out_len, out_off;
	bool busy;               /* a request is with the VMM thread */
	bool close_after_write;
	bool starved;            /* not read: the buffer budget is spent */
	uint32_t events;         /* current epoll interest */
	uint64_t active_ms;      /* last byte in or out (monotonic ms) */
	uint64_t partial_ms;     /* first byte of the unfinished request, 0: none */
};

struct qitem {
	struct qitem *next;
	unsigned slot;
	uint64_t gen;
	bool keep_alive;
	struct api_request req;
	struct api_response resp;
};

struct queue {
	pthread_mutex_t lock;
	struct qitem *head, *tail;
};

struct api_server {
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int epfd;
	int req_efd;             /* api -> vmm: requests pending */
	int resp_efd;            /* vmm -> api: responses pending */
	int stop_efd;
	pthread_t thread;
	bool running;
	void (*thread_init)(void *);
	void *thread_init_arg;
	struct queue to_vmm, to_api;
	uint64_t next_gen;
	unsigned nconns;
	size_t max_body;         /* request body limit of every connection */
	size_t budget;           /* bytes of unfinished requests, all connections */
	unsigned request_ms, write_ms, idle_ms;   /* deadlines */
	unsigned tick_ms;        /* how often they are checked */
	bool accept_paused;      /* out of fds: listening socket not watched */
	bool accept_logged;      /* this episode was logged */
	unsigned accept_backoff_ms;
	uint64_t accept_resume_ms;
	struct conn *conns[API_MAX_CONNS];
	struct api_stats stats;  /* written by the api thread with atomics */
};

static void stat_inc(uint64_t *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

/* Requests are counted when they arrive (as Firecracker counts them while
 * parsing), so a request the VMM acts on is in the next metrics line even
 * if the VMM exits before its answer is written; failures are counted when
 * the answer is known. API_REQ__COUNT: no route. */
static void stat_received(struct api_server *s, enum api_request_kind kind, const char *path)
{
	if ((unsigned)kind < API_REQ__COUNT)
		stat_inc(&s->stats.count[kind]);
	else if (path && api_path_unsupported(path))
		stat_inc(&s->stats.unsupported);
	else
		stat_inc(&s->stats.bad_requests);
}

static void stat_answered(struct api_server *s, enum api_request_kind kind, int status)
{
	if ((unsigned)kind < API_REQ__COUNT && status != 200 && status != 204)
		stat_inc(&s->stats.fails[kind]);
}

static void q_push(struct queue *q, struct qitem *it)
{
	it->next = NULL;
	pthread_mutex_lock(&q->lock);
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	pthread_mutex_unlock(&q->lock);
}

static struct qitem *q_take_all(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	struct qitem *h = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->lock);
	return h;
}

static void q_free_all(struct queue *q)
{
	struct qitem *it = q_take_all(q);
	while (it) {
		struct qitem *n = it->next;
		api_response_clear(&it->resp);
		free(it);
		it = n;
	}
}

static void efd_signal(int fd)
{
	uint64_t one = 1;
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void efd_drain(int fd)
{
	uint64_t v;
	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

/* ---------------- connections ---------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Bytes buffered by every connection's parser. */
static size_t buffered_total(const struct api_server *s)
{
	size_t total = 0;

	for (unsigned i = 0; i < API_MAX_CONNS; i++)
		if (s->conns[i])
			total += s->conns[i]->parser.len;
	return total;
}

static void conn_close(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	if (!c)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	http_parser_free(&c->parser);
	free(c->out);
	free(c);
	s->conns[slot] = NULL;
	s->nconns--;
}

static void conn_set_events(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	uint32_t ev = 0;
	bool out_pending = c->out_off < c->out_len;
	if (out_pending)
		ev |= EPOLLOUT;
	else if (!c->busy && !c->close_after_write && !c->starved)
		ev |= EPOLLIN;
	if (ev == c->events)
		return;
	struct epoll_event e = {.events = ev, .data.u64 = slot};
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->events = ev;
}

static int conn_append(struct conn *c, const char *data, size_t len)
{
	if (c->out_off == c->out_len) {
		c->out_off = c->out_len = 0;
	}
	char *nb = realloc(c->out, c->out_len + len);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + c->out_len, data, len);
	c->out = nb;
	c->out_len += len;
	return 0;
}

static void conn_respond(struct conn *c, const struct api_response *r, bool keep_alive)
{
	size_t len;
	int status = r->status ? r->status : 400;
	char *msg = http_format_response(status, r->body, keep_alive, &len);
	if (msg && r->deprecation) {
		/* Firecracker's (micro_http's) header for a deprecated field. */
		static const char hdr[] = "Deprecation: true\r\n";
		char *end = strstr(msg, "\r\n\r\n");
		char *nm = end ? malloc(len + sizeof(hdr) - 1) : NULL;
		if (nm) {
			size_t head = (size_t)(end - msg) + 2;
			memcpy(nm, msg, head);
			memcpy(nm + head, hdr, sizeof(hdr) - 1);
			memcpy(nm + head + sizeof(hdr) - 1, msg + head, len - head);
			free(msg);
			msg = nm;
			len += sizeof(hdr) - 1;
		}
	}
	if (!msg || conn_append(c, msg, len))
		c->close_after_write = true;
	free(msg);
	if (!keep_alive)
		c->close_after_write = true;
}

/* Returns 1 if progress (bytes written), 0 if it would block, -1 on error. */
static int conn_flush(struct conn *c)
{
	if (c->out_off == c->out_len)
		return 0;
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
	if (n < 0)
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	c->out_off += (size_t)n;
	c->active_ms = now_ms();
	return 1;
}

/* A body over --http-api-max-payload-size: the answer is byte for byte
 * Firecracker's (micro_http's parse-error response: status line without a
 * reason phrase, its Server and Connection headers, and a body that is not
 * quite JSON: a raw newline in the string). Firecracker's test
 * (test_cmd_line_start.py::test_config_start_with_limit) compares the
 * bytes. The header says keep-alive as Firecracker's does, but the rest of
 * the oversized body is never read: wisp closes the connection after it. */
#define PAYLOAD_LIMIT_PREFIX "Request payload with size "

static void payload_limit_respond(struct conn *c, const char *message)
{
	char body[512], out[1024];
	int blen, n;

	blen = snprintf(body, sizeof(body),
			"{ \"error\": \"%s\nAll previous unanswered requests will be dropped.\" }",
			message);
	n = snprintf(out, sizeof(out),
		     "HTTP/1.1 400 \r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
		     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", blen, body);
	if (blen > 0 && (size_t)blen < sizeof(body) && n > 0 && (size_t)n < sizeof(out))
		(void)conn_append(c, out, (size_t)n);
	c->close_after_write = true;
}

/* Take the next parsed request, if any: answer it here or queue it for the
 * VMM thread. Returns true if something happened. */
static bool conn_next_request(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	struct http_request hr;
	struct http_error he;
	switch (http_parser_next(&c->parser, &hr, &he)) {
	case HTTP_NEED_MORE:
		return false;
	case HTTP_CONTINUE: {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		if (conn_append(c, cont, sizeof(cont) - 1))
			c->close_after_write = true;
		return true;
	}
	case HTTP_ERROR: {
		struct api_response r = {0};
		stat_inc(&s->stats.bad_requests);
		if (!strncmp(he.message, PAYLOAD_LIMIT_PREFIX, sizeof(PAYLOAD_LIMIT_PREFIX) - 1)) {
			payload_limit_respond(c, he.message);
			return true;
		}
		api_response_fault(&r, "%s", he.message);
		r.status = he.status;
		conn_respond(c, &r, false);
		api_response_clear(&r);
		return true;
	}
	case HTTP_REQUEST:
		break;
	}
	struct qitem *it = calloc(1, sizeof(*it));
	if (!it) {
		http_request_free(&hr);
		struct api_response r = {0};
		api_response_fault(&r, "Internal error: out of memory.");
		conn_respond(c, &r, false);
		api_response_clear(&r);
		return true;
	}
	it->slot = slot;
	it->gen = c->gen;
	it->keep_alive = hr.keep_alive;
	api_log_request(hr.method, hr.path, hr.body, hr.body_len);
	int to_vmm = api_route(hr.method, hr.path, hr.body, hr.body_len, &it->req, &it->resp);
	stat_received(s, it->req.kind, hr.path);
	if (!to_vmm)
		stat_answered(s, it->req.kind, it->resp.status);
	http_request_free(&hr);
	if (to_vmm) {
		c->busy = true;
		q_push(&s->to_vmm, it);
		efd_signal(s->req_efd);
	} else {
		api_log_response(&it->req, &it->resp);
		conn_respond(c, &it->resp, it->keep_alive);
		api_response_clear(&it->resp);
		free(it);
	}
	return true;
}

/* Drive a connection as far as it goes without blocking. */
static void conn_service(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	for (;;) {
		if (c->out_off < c->out_len) {
			int r = conn_flush(c);
			if (r < 0) {
				conn_close(s, slot);
				return;
			}
			if (r == 0)
				break;
			continue;
		}
		if (c->close_after_write) {
			conn_close(s, slot);
			return;
		}
		if (c->busy || !conn_next_request(s, slot))
			break;
	}
	if (!http_parser_partial(&c->parser))
		c->partial_ms = 0;
	else if (!c->partial_ms)
		c->partial_ms = now_ms();
	conn_set_events(s, slot);
}

static void conn_read(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	char buf[API_READ_CHUNK];
	size_t space = http_parser_space(&c->parser);
	size_t used = buffered_total(s);
	if (space > sizeof(buf))
		space = sizeof(buf);
	if (space > 0 && used + space > s->budget) {
		if (used >= s->budget) {
			/* Read again once other requests have completed. */
			c->starved = true;
			conn_set_events(s, slot);
			return;
		}
		space = s->budget - used;
	}
	if (space == 0) {
		conn_service(s, slot);
		return;
	}
	ssize_t n = recv(c->fd, buf, space, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {            /* EOF or error: nothing more can be answered */
		conn_close(s, slot);
		return;
	}
	c->active_ms = now_ms();
	http_parser_feed(&c->parser, buf, (size_t)n);
	conn_service(s, slot);
}

/* accept4 failed for lack of descriptors or memory: the pending
 * connection stays in the backlog and the listening socket would wake the
 * thread again at once, so stop watching it for a while. */
static void accept_pause(struct api_server *s, int err)
{
	struct epoll_event e = {.events = 0, .data.u64 = TAG_LISTEN};

	if (!s->accept_logged)
		log_warn("api: accept: %s: not accepting new connections for a while "
			 "(%u open connections are still served)",
			 strerror(err), s->nconns);
	s->accept_logged = true;
	s->accept_backoff_ms = s->accept_backoff_ms ? s->accept_backoff_ms * 2
						    : API_ACCEPT_BACKOFF_MIN_MS;
	if (s->accept_backoff_ms > API_ACCEPT_BACKOFF_MAX_MS)
		s->accept_backoff_ms = API_ACCEPT_BACKOFF_MAX_MS;
	s->accept_resume_ms = now_ms() + s->accept_backoff_ms;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &e) == 0)
		s->accept_paused = true;
}

/* Deadlines: resume accepting, time out connections, feed starved ones.
 * Returns the epoll_wait timeout until the next deadline (-1: none). */
static int housekeeping(struct api_server *s)
{
	uint64_t now = now_ms();
	int timeout = -1;

	if (s->accept_paused) {
		if (now >= s->accept_resume_ms) {
			struct epoll_event e = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};

			if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &e) == 0)
				s->accept_paused = false;
		} else {
			timeout = (int)(s->accept_resume_ms - now);
		}
	}
	bool room = buffered_total(s) < s->budget;
	for (unsigned i = 0; i < API_MAX_CONNS; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		if (c->starved && room) {
			c->starved = false;
			conn_set_events(s, i);
		}
		if (c->busy)
			continue;
		if (c->out_off < c->out_len) {
			if (now - c->active_ms > s->write_ms) {
				conn_close(s, i);
				continue;
			}
		} else if (c->partial_ms) {
			if (now - c->partial_ms > s->request_ms) {
				struct api_response r = {0};

				api_response_fault(&r, "Request timed out: the whole request did not "
						       "arrive within %d seconds.",
						   (s->request_ms + 999) / 1000);
				r.status = 408;
				c->partial_ms = 0;
				conn_respond(c, &r, false);
				api_response_clear(&r);
				stat_inc(&s->stats.bad_requests);
				conn_service(s, i);
				continue;
			}
		} else if (now - c->active_ms > s->idle_ms) {
			conn_close(s, i);
			continue;
		}
		if (timeout < 0 || timeout > (int)s->tick_ms)
			timeout = (int)s->tick_ms;
	}
	return timeout;
}

static void do_accept(struct api_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				accept_pause(s, errno);
				return;
			}
			if (errno != EAGAIN)
				log_warn("api: accept: %s", strerror(errno));
			return;
		}
		if (s->accept_logged) {
			log_info("api: accepting connections again");
			s->accept_logged = false;
		}
		s->accept_backoff_ms = 0;
		unsigned slot = API_MAX_CONNS;
		if (s->nconns < API_MAX_CONNS)
			for (unsigned i = 0; i < API_MAX_CONNS; i++)
				if (!s->conns[i]) {
					slot = i;
					break;
				}
		struct conn *c = slot < API_MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			stat_inc(&s->stats.refused_connections);
			log_warn("api: too many connections (%d), refusing one", API_MAX_CONNS);
			size_t len;
			char *msg = http_format_response(
				503, "{\"fault_message\":\"Too many API connections.\"}", false, &len);
			if (msg) {
				ssize_t w = send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT);
				(void)w;
				free(msg);
			}
			close(fd);
			continue;
		}
		c->fd = fd;
		c->gen = ++s->next_gen;
		c->events = EPOLLIN;
		c->active_ms = now_ms();
		http_parser_init(&c->parser);
		http_parser_set_max_body(&c->parser, s->max_body);
		struct epoll_event e = {.events = EPOLLIN, .data.u64 = slot};
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			log_warn("api: epoll_ctl: %s", strerror(errno));
			close(fd);
			free(c);
			continue;
		}
		s->conns[slot] = c;
		s->nconns++;
		stat_inc(&s->stats.connections);
	}
}

static void deliver_responses(struct api_server *s)
{
	efd_drain(s->resp_efd);
	struct qitem *it = q_take_all(&s->to_api);
	while (it) {
		struct qitem *next = it->next;
		struct conn *c = it->slot < API_MAX_CONNS ? s->conns[it->slot] : NULL;
		stat_answered(s, it->req.kind, it->resp.status);
		if (c && c->gen == it->gen) {
			c->busy = false;
			api_log_response(&it->req, &it->resp);
			conn_respond(c, &it->resp, it->keep_alive);
			conn_service(s, it->slot);
		}
		api_response_clear(&it->resp);
		free(it);
		it = next;
	}
}

static void *api_thread(void *arg)
{
	struct api_server *s = arg;
	log_set_thread_name("fc_api");
	if (s->thread_init)
		s->thread_init(s->thread_init_arg);
	struct epoll_event evs[64];
	for (;;) {
		int n = epoll_wait(s->epfd, evs, 64, housekeeping(s));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("api: epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag == TAG_STOP)
				return NULL;
			if (tag == TAG_LISTEN) {
				do_accept(s);
			} else if (tag == TAG_RESP) {
				deliver_responses(s);
			} else if (tag < API_MAX_CONNS && s->conns[tag]) {
				uint32_t e = evs[i].events;
				if (e & EPOLLOUT)
					conn_service(s, (unsigned)tag);
				else if (e & EPOLLIN)
					conn_read(s, (unsigned)tag);
				else if (e & (EPOLLERR | EPOLLHUP))
					conn_close(s, (unsigned)tag);
			}
		}
	}
	return NULL;
}

/* ---------------- public ---------------- */

static int epoll_add_tag(int epfd, int fd, uint64_t tag)
{
	struct epoll_event e = {.events = EPOLLIN, .data.u64 = tag};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e);
}

static void server_free(struct api_server *s)
{
	for (unsigned i = 0; i < API_MAX_CONNS; i++)
		if (s->conns[i])
			conn_close(s, i);
	q_free_all(&s->to_vmm);
	q_free_all(&s->to_api);
	int fds[] = {s->listen_fd, s->epfd, s->req_efd, s->resp_efd, s->stop_efd};
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	pthread_mutex_destroy(&s->to_vmm.lock);
	pthread_mutex_destroy(&s->to_api.lock);
	free(s);
}

struct api_server *api_server_create(const char *sock_path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t plen = strlen(sock_path);
	if (plen == 0 || plen >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "%s: API socket path is empty or too long (at most %zu bytes)",
			 sock_path, sizeof(addr.sun_path) - 1);
		return NULL;
	}
	struct stat st;
	if (lstat(sock_path, &st) == 0) {
		snprintf(err, errlen, "%s: API socket path already exists (remove it first)",
			 sock_path);
		errno = EADDRINUSE;   /* as bind() says; the caller prints Firecracker's text */
		return NULL;
	}
	/* jansson seeds its hash function from /dev/urandom on first use; do
	 * it now, on this thread, so the api thread (whose seccomp filter has
	 * no open) never has to. */
	json_object_seed(0);
	struct api_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(s->path, sock_path, plen + 1);
	memcpy(addr.sun_path, sock_path, plen + 1);
	s->listen_fd = s->epfd = s->req_efd = s->resp_efd = s->stop_efd = -1;
	s->max_body = API_MAX_BODY;
	s->budget = API_BUFFER_BUDGET_MIN;
	s->request_ms = API_REQUEST_TIMEOUT_MS;
	s->write_ms = API_WRITE_TIMEOUT_MS;
	s->idle_ms = API_IDLE_TIMEOUT_MS;
	s->tick_ms = API_TICK_MS;
	pthread_mutex_init(&s->to_vmm.lock, NULL);
	pthread_mutex_init(&s->to_api.lock, NULL);

	const char *what = "socket";
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0)
		goto fail;
	what = "bind";
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto fail;
	what = "listen";
	if (listen(s->listen_fd, 128) < 0)
		goto fail_unlink;
	what = "epoll_create1";
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		goto fail_unlink;
	what = "eventfd";
	if ((s->req_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (s->resp_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    (s->stop_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail_unlink;
	what = "epoll_ctl";
	if (epoll_add_tag(s->epfd, s->listen_fd, TAG_LISTEN) < 0 ||
	    epoll_add_tag(s->epfd, s->resp_efd, TAG_RESP) < 0 ||
	    epoll_add_tag(s->epfd, s->stop_efd, TAG_STOP) < 0)
		goto fail_unlink;
	return s;

fail_unlink:
	snprintf(err, errlen, "%s: %s: %s", sock_path, what, strerror(errno));
	unlink(sock_path);
	server_free(s);
	return NULL;
fail: {
	int e = errno;   /* EADDRINUSE from bind() reaches the caller */

	snprintf(err, errlen, "%s: %s: %s", sock_path, what, strerror(errno));
	server_free(s);
	errno = e;
	return NULL;
}
}

int api_server_set_max_body(struct api_server *s, size_t max_body)
{
	if (max_body < 1 || max_body > HTTP_MAX_BODY_LIMIT || s->running)
		return -EINVAL;
	s->max_body = max_body;
	/* Two largest requests at once at least. */
	if (s->budget < 2 * (HTTP_MAX_HEAD + max_body))
		s->budget = 2 * (HTTP_MAX_HEAD + max_body);
	return 0;
}

void api_server_set_timeouts(struct api_server *s, unsigned request_ms, unsigned write_ms,
			     unsigned idle_ms)
{
	if (request_ms)
		s->request_ms = request_ms;
	if (write_ms)
		s->write_ms = write_ms;
	if (idle_ms)
		s->idle_ms = idle_ms;
	s->tick_ms = API_TICK_MS;
	if (s->tick_ms > s->request_ms / 4 + 1)
		s->tick_ms = s->request_ms / 4 + 1;
	if (s->tick_ms > s->idle_ms / 4 + 1)
		s->tick_ms = s->idle_ms / 4 + 1;
}

void api_server_set_thread_init(struct api_server *s, void (*fn)(void *arg), void *arg)
{
	s->thread_init = fn;
	s->thread_init_arg = arg;
}

int api_server_run(struct api_server *s, char *err, size_t errlen)
{
	int rc = pthread_create(&s->thread, NULL, api_thread, s);
	if (rc) {
		snprintf(err, errlen, "api thread: %s", strerror(rc));
		return -rc;
	}
	s->running = true;
	return 0;
}

struct api_server *api_server_start(const char *sock_path, char *err, size_t errlen)
{
	struct api_server *s = api_server_create(sock_path, err, errlen);
	if (s && api_server_run(s, err, errlen)) {
		unlink(s->path);
		server_free(s);
		return NULL;
	}
	return s;
}

int api_server_eventfd(const struct api_server *s)
{
	return s->req_efd;
}

void api_server_process(struct api_server *s, api_handler fn, void *ctx)
{
	efd_drain(s->req_efd);
	struct qitem *it = q_take_all(&s->to_vmm);
	if (!it)
		return;
	while (it) {
		struct qitem *next = it->next;
		memset(&it->resp, 0, sizeof(it->resp));
		fn(ctx, &it->req, &it->resp);
		if (it->resp.status == 0)
			api_response_fault(&it->resp, "Internal error: %s was not handled.",
					   api_request_name(it->req.kind));
		q_push(&s->to_api, it);
		it = next;
	}
	efd_signal(s->resp_efd);
}

void api_server_get_stats(const struct api_server *s, struct api_stats *out)
{
	const uint64_t *src = (const uint64_t *)&s->stats;
	uint64_t *dst = (uint64_t *)out;

	for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

void api_server_stop(struct api_server *s)
{
	if (!s)
		return;
	if (s->running) {
		efd_signal(s->stop_efd);
		pthread_join(s->thread, NULL);
	}
	unlink(s->path);
	server_free(s);
}
