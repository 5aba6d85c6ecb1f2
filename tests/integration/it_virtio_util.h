/* SPDX-License-Identifier: Apache-2.0 */
/*
 * it_virtio_util.h — helpers for the virtio integration tests and the
 * virtio benchmark: disk images in the test guest's patterns, network
 * namespaces with taps, sockets and counters inside a namespace, and a
 * small ICMP echo client (the machine has no ping(8)).
 */
#ifndef WISP_IT_VIRTIO_UTIL_H
#define WISP_IT_VIRTIO_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IT_SECTOR 512

/* Byte j of sector s as the host prepares it, and as the `blk` scenario
 * writes it. */
static inline uint8_t it_host_byte(uint64_t s, unsigned j)
{
	return (uint8_t)(s * 7 + j);
}

static inline uint8_t it_guest_byte(uint64_t s, unsigned j)
{
	return (uint8_t)((s * 13 + j + 1) ^ 0x5a);
}

/* Create (truncate) path with `sectors` sectors of the host pattern.
 * 0 or -errno. */
int image_create(const char *path, uint64_t sectors);
/* Check the image after a `blk` run with wtest.sectors=n: sectors
 * [n, 2n) hold the guest pattern, all others the host pattern, and the size
 * is `sectors` sectors (guest_wrote=false: everything is the host pattern).
 * false with a description of the first difference in why. */
bool image_verify(const char *path, uint64_t sectors, uint64_t n, bool guest_wrote, char *why,
		  size_t whylen);

/* Run argv (no shell) to completion; exit status, or -1. Output is
 * captured and, on a non-zero status, copied to stderr. */
int it_run(const char *const argv[]);

/* Network namespaces. Names are "wisp-it-<pid>-<k>". */
int netns_create(char *name, size_t namelen);
/* Remove the namespace (and everything in it); safe to call twice. */
void netns_delete(const char *ns);
/* Remove every "wisp-it-<pid>-*" namespace whose process is gone (left by a
 * test that died before its teardown). */
void netns_delete_stale(void);
/* Read a file as a thread inside ns sees it (e.g. /proc/thread-self/net/arp):
 * bytes read (NUL-terminated in buf) or -errno. */
int netns_read_file(const char *ns, const char *path, char *buf, size_t len);
/* Add a tap named `tap` to ns, set it up and give it `cidr` (may be NULL). */
int netns_add_tap(const char *ns, const char *tap, const char *cidr);
/* A socket created inside ns (it stays there for its life). -errno on error. */
int netns_socket(const char *ns, int domain, int type, int protocol);
/* Interface index of dev inside ns, or -errno. */
int netns_ifindex(const char *ns, const char *dev);
/* Counters of dev inside ns (from the namespace's /proc/net/dev). */
int netns_dev_stats(const char *ns, const char *dev, uint64_t *rx_packets, uint64_t *rx_bytes);

/* ICMP echo from inside ns to ip: sends up to `max_tries` requests (one
 * every interval_ms, each waiting up to wait_ms for its reply) until `want`
 * replies arrived. Returns the number of replies, or -errno. */
int netns_ping(const char *ns, const char *ip, int want, int max_tries, int interval_ms,
	       int wait_ms);

/* A raw AF_PACKET socket on dev inside ns that receives frames of
 * `ethertype` (host order), with a large receive buffer. -errno on error. */
int netns_packet_socket(const char *ns, const char *dev, uint16_t ethertype);
/* Read and count every frame waiting on a packet socket (non-blocking),
 * then keep reading until idle_ms passes without one. Adds to *frames and
 * *bytes. */
void packet_count(int fd, int idle_ms, uint64_t *frames, uint64_t *bytes);

/* Argument vector prefix to run a program inside ns: fills argv[0..3]
 * ("ip", "netns", "exec", ns) and returns 4. */
int netns_exec_prefix(const char **argv, const char *ns);

/* The fd of process pid whose target is `path`: its open flags (from
 * /proc/pid/fdinfo), or -1 if none is open. */
int proc_fd_flags(int pid, const char *path);

#endif
