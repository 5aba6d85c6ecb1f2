/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "it_virtio_util.h"

/* ---------------- images ---------------- */

int image_create(const char *path, uint64_t sectors)
{
	uint8_t buf[IT_SECTOR];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	for (uint64_t s = 0; s < sectors; s++) {
		for (unsigned j = 0; j < IT_SECTOR; j++)
			buf[j] = it_host_byte(s, j);
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
			int e = errno ? -errno : -EIO;

			close(fd);
			return e;
		}
	}
	return close(fd) < 0 ? -errno : 0;
}

bool image_verify(const char *path, uint64_t sectors, uint64_t n, bool guest_wrote, char *why,
		  size_t whylen)
{
	uint8_t buf[IT_SECTOR];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t size;
	bool ok = true;

	if (fd < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return false;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size != (off_t)(sectors * IT_SECTOR)) {
		snprintf(why, whylen, "%s: size %lld, expected %llu", path, (long long)size,
			 (unsigned long long)(sectors * IT_SECTOR));
		close(fd);
		return false;
	}
	for (uint64_t s = 0; s < sectors && ok; s++) {
		bool g = guest_wrote && s >= n && s < 2 * n;

		if (pread(fd, buf, sizeof(buf), (off_t)(s * IT_SECTOR)) != (ssize_t)sizeof(buf)) {
			snprintf(why, whylen, "%s: short read at sector %llu", path,
				 (unsigned long long)s);
			ok = false;
			break;
		}
		for (unsigned j = 0; j < IT_SECTOR; j++) {
			uint8_t want = g ? it_guest_byte(s, j) : it_host_byte(s, j);

			if (buf[j] != want) {
				snprintf(why, whylen,
					 "%s: sector %llu byte %u is 0x%02x, expected 0x%02x (%s pattern)",
					 path, (unsigned long long)s, j, buf[j], want,
					 g ? "guest" : "host");
				ok = false;
				break;
			}
		}
	}
	close(fd);
	return ok;
}

/* ---------------- commands ---------------- */

int it_run(const char *const argv[])
{
	struct proc p;
	int st;

	if (!proc_run(&p, (char *const *)argv, 30000)) {
		fprintf(stderr, "%s: timed out\n", argv[0]);
		proc_free(&p);
		return -1;
	}
	st = p.status;
	if (st != 0) {
		fprintf(stderr, "command failed (%d):", st);
		for (int i = 0; argv[i]; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "\n%s%s", p.out.data, p.err.data);
	}
	proc_free(&p);
	return st;
}

#define IP_BIN "/usr/sbin/ip"

static const char *ip_bin(void)
{
	return access(IP_BIN, X_OK) == 0 ? IP_BIN : "/sbin/ip";
}

int netns_create(char *name, size_t namelen)
{
	static int k;
	const char *argv[] = { ip_bin(), "netns", "add", name, NULL };

	snprintf(name, namelen, "wisp-it-%d-%d", (int)getpid(), k++);
	return it_run(argv) == 0 ? 0 : -EIO;
}

void netns_delete(const char *ns)
{
	char path[PATH_MAX];

	if (!ns || !ns[0])
		return;
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	if (access(path, F_OK) == 0) {
		const char *argv[] = { ip_bin(), "netns", "del", ns, NULL };

		it_run(argv);
	}
}

int netns_add_tap(const char *ns, const char *tap, const char *cidr)
{
	const char *add[] = { ip_bin(), "-n", ns, "tuntap", "add", "dev", tap, "mode", "tap", NULL };
	const char *up[] = { ip_bin(), "-n", ns, "link", "set", tap, "up", NULL };
	const char *addr[] = { ip_bin(), "-n", ns, "addr", "add", cidr, "dev", tap, NULL };

	if (it_run(add) != 0 || it_run(up) != 0)
		return -EIO;
	if (cidr && it_run(addr) != 0)
		return -EIO;
	return 0;
}

int netns_exec_prefix(const char **argv, const char *ns)
{
	argv[0] = ip_bin();
	argv[1] = "netns";
	argv[2] = "exec";
	argv[3] = ns;
	return 4;
}

/* ---------------- work inside a namespace (one thread) ---------------- */

enum ns_op { NS_SOCKET, NS_IFINDEX, NS_STATS, NS_READ };

struct ns_job {
	const char *ns;
	enum ns_op op;
	int domain, type, protocol;
	const char *dev;
	uint64_t rx_packets, rx_bytes;
	char *buf;
	size_t buflen;
	int result;
};

static int read_dev_stats(struct ns_job *j)
{
	char line[512];
	FILE *f = fopen("/proc/thread-self/net/dev", "r");
	size_t dl = strlen(j->dev);
	int r = -ENODEV;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line;
		unsigned long long rb, rp;

		while (*s == ' ')
			s++;
		if (strncmp(s, j->dev, dl) || s[dl] != ':')
			continue;
		if (sscanf(s + dl + 1, "%llu %llu", &rb, &rp) == 2) {
			j->rx_bytes = rb;
			j->rx_packets = rp;
			r = 0;
		}
		break;
	}
	fclose(f);
	return r;
}

static void *ns_thread(void *arg)
{
	struct ns_job *j = arg;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "/var/run/netns/%s", j->ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		j->result = -errno;
		return NULL;
	}
	/* Only this thread changes namespace; it ends right after. */
	if (setns(fd, CLONE_NEWNET) < 0) {
		j->result = -errno;
		close(fd);
		return NULL;
	}
	close(fd);
	switch (j->op) {
	case NS_SOCKET:
		j->result = socket(j->domain, j->type | SOCK_CLOEXEC, j->protocol);
		if (j->result < 0)
			j->result = -errno;
		break;
	case NS_IFINDEX: {
		unsigned idx = if_nametoindex(j->dev);

		j->result = idx ? (int)idx : -errno;
		break;
	}
	case NS_STATS:
		j->result = read_dev_stats(j);
		break;
	case NS_READ: {
		int f = open(j->dev, O_RDONLY | O_CLOEXEC);
		ssize_t n = f < 0 ? -1 : read(f, j->buf, j->buflen - 1);

		j->result = n < 0 ? -errno : (int)n;
		j->buf[n < 0 ? 0 : n] = 0;
		if (f >= 0)
			close(f);
		break;
	}
	}
	return NULL;
}

static int ns_do(struct ns_job *j)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, ns_thread, j);

	if (r)
		return -r;
	pthread_join(t, NULL);
	return j->result;
}

int netns_socket(const char *ns, int domain, int type, int protocol)
{
	struct ns_job j = { .ns = ns, .op = NS_SOCKET, .domain = domain, .type = type,
			    .protocol = protocol };

	return ns_do(&j);
}

int netns_ifindex(const char *ns, const char *dev)
{
	struct ns_job j = { .ns = ns, .op = NS_IFINDEX, .dev = dev };

	return ns_do(&j);
}

int netns_dev_stats(const char *ns, const char *dev, uint64_t *rx_packets, uint64_t *rx_bytes)
{
	struct ns_job j = { .ns = ns, .op = NS_STATS, .dev = dev };
	int r = ns_do(&j);

	if (r == 0) {
		if (rx_packets)
			*rx_packets = j.rx_packets;
		if (rx_bytes)
			*rx_bytes = j.rx_bytes;
	}
	return r;
}

int netns_read_file(const char *ns, const char *path, char *buf, size_t len)
{
	struct ns_job j = { .ns = ns, .op = NS_READ, .dev = path, .buf = buf, .buflen = len };

	return ns_do(&j);
}

void netns_delete_stale(void)
{
	DIR *d = opendir("/var/run/netns");
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		char proc[64];
		int pid;

		if (sscanf(e->d_name, "wisp-it-%d-", &pid) != 1 || pid <= 0)
			continue;
		snprintf(proc, sizeof(proc), "/proc/%d", pid);
		if (access(proc, F_OK) == 0)
			continue;  /* its test is still running */
		netns_delete(e->d_name);
	}
	closedir(d);
}

/* ---------------- ICMP echo ---------------- */

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static uint16_t inet_csum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Wait up to wait_ms for the echo reply (id, seq) from dst. */
static bool wait_reply(int fd, struct in_addr dst, uint16_t id, uint16_t seq, int wait_ms)
{
	long deadline = mono_ms() + wait_ms;
	uint8_t buf[2048];

	for (;;) {
		long left = deadline - mono_ms();
		struct pollfd pfd = { fd, POLLIN, 0 };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < (ssize_t)sizeof(struct iphdr))
			continue;
		{
			const struct iphdr *ip = (const void *)buf;
			size_t hl = (size_t)ip->ihl * 4;
			const struct icmphdr *ic = (const void *)(buf + hl);

			if ((size_t)n < hl + sizeof(*ic) || from.sin_addr.s_addr != dst.s_addr)
				continue;
			if (ic->type == ICMP_ECHOREPLY && ntohs(ic->un.echo.id) == id &&
			    ntohs(ic->un.echo.sequence) == seq)
				return true;
		}
	}
}

int netns_ping(const char *ns, const char *ip, int want, int max_tries, int interval_ms,
	       int wait_ms)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	uint16_t id = (uint16_t)(getpid() ^ 0x5157);
	int fd, got = 0;

	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		return -EINVAL;
	fd = netns_socket(ns, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		return fd;
	for (int seq = 1; seq <= max_tries && got < want; seq++) {
		struct {
			struct icmphdr h;
			uint8_t payload[56];
		} pkt;
		long t0 = mono_ms();

		memset(&pkt, 0, sizeof(pkt));
		pkt.h.type = ICMP_ECHO;
		pkt.h.un.echo.id = htons(id);
		pkt.h.un.echo.sequence = htons((uint16_t)seq);
		for (unsigned i = 0; i < sizeof(pkt.payload); i++)
			pkt.payload[i] = (uint8_t)(0x10 + i);
		pkt.h.checksum = inet_csum(&pkt, sizeof(pkt));
		if (sendto(fd, &pkt, sizeof(pkt), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			int e = -errno;

			close(fd);
			return e;
		}
		if (wait_reply(fd, dst.sin_addr, id, (uint16_t)seq, wait_ms))
			got++;
		if (got < want && mono_ms() - t0 < interval_ms)
			usleep((useconds_t)(interval_ms - (mono_ms() - t0)) * 1000);
	}
	close(fd);
	return got;
}

/* ---------------- raw frames ---------------- */

int netns_packet_socket(const char *ns, const char *dev, uint16_t ethertype)
{
	int idx = netns_ifindex(ns, dev), fd, sz = 64 << 20;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ethertype) };

	if (idx < 0)
		return idx;
	fd = netns_socket(ns, AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ethertype));
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	sll.sll_ifindex = idx;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

void packet_count(int fd, int idle_ms, uint64_t *frames, uint64_t *bytes)
{
	static uint8_t buf[65536 + 64];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);

		if (n >= 0) {
			(*frames)++;
			*bytes += (uint64_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return;
		{
			struct pollfd pfd = { fd, POLLIN, 0 };

			if (poll(&pfd, 1, idle_ms) <= 0)
				return;
		}
	}
}

/* ---------------- /proc ---------------- */

int proc_fd_flags(int pid, const char *path)
{
	char dir[64], link[PATH_MAX], target[PATH_MAX], want[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int flags = -1;

	if (!realpath(path, want))
		snprintf(want, sizeof(want), "%s", path);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	d = opendir(dir);
	if (!d)
		return -1;
	while (flags < 0 && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = 0;
		if (strcmp(target, want) == 0) {
			char info[320], line[128];
			FILE *f;

			snprintf(info, sizeof(info), "/proc/%d/fdinfo/%s", pid, e->d_name);
			f = fopen(info, "r");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f)) {
				unsigned int v;

				if (sscanf(line, "flags: %o", &v) == 1) {
					flags = (int)v;
					break;
				}
			}
			fclose(f);
		}
	}
	closedir(d);
	return flags;
}
