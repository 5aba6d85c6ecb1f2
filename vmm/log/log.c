/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.c — Firecracker-style log lines:
 *   <RFC3339 time with ns> [<id>:<thread>(:<LEVEL>)(:<dir/file>:<line>)] <message>
 * (the origin relative to the source root, e.g. "vmm/vmm_ctl.c:125")
 * to stderr or to a file / named pipe. Writes never block: a full pipe drops
 * the line and counts it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

static _Atomic int g_level = LOG_INFO;
static int g_fd = STDERR_FILENO;
static bool g_show_level;
static bool g_show_origin;
static char g_id[VM_ID_MAX + 1] = "anonymous-instance";
static _Atomic uint64_t g_dropped, g_missed;
static char g_module[VM_PATH_MAX];   /* under g_lock; "" no filter */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread char t_name[32] = "main";

static const char *const level_names[] = {
	[LOG_OFF] = "OFF", [LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
	[LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
};

int log_level_parse(const char *name, enum log_level *out)
{
	static const struct { const char *n; enum log_level l; } map[] = {
		{ "error", LOG_ERROR }, { "warning", LOG_WARN }, { "warn", LOG_WARN },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG }, { "trace", LOG_TRACE },
		{ "off", LOG_OFF },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcasecmp(name, map[i].n)) {
			*out = map[i].l;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set_level(enum log_level level) { g_level = level; }
enum log_level log_get_level(void) { return g_level; }
uint64_t log_dropped_lines(void) { return g_dropped; }
uint64_t log_missed_lines(void) { return g_missed; }

void log_set_module(const char *module)
{
	size_t n = 0;

	pthread_mutex_lock(&g_lock);
	for (const char *p = module ? module : ""; *p && n < sizeof(g_module) - 1; p++) {
		if (p[0] == ':' && p[1] == ':') {
			g_module[n++] = '/';
			p++;
			continue;
		}
		g_module[n++] = *p;
	}
	g_module[n] = 0;
	pthread_mutex_unlock(&g_lock);
}

/* The source root: this file is <root>/vmm/log/log.c. Origins are printed
 * relative to it ("vmm/vmm_ctl.c:125"), as Firecracker prints
 * "src/vmm/src/lib.rs:123". */
static const char *origin_path(const char *file)
{
	static const char self[] = __FILE__, tail[] = "vmm/log/log.c";
	size_t root = sizeof(self) - sizeof(tail);

	if (sizeof(self) >= sizeof(tail) && !strcmp(self + root, tail) &&
	    !strncmp(file, self, root))
		return file + root;
	return file;
}

void log_set_format(bool show_level, bool show_origin)
{
	pthread_mutex_lock(&g_lock);
	g_show_level = show_level;
	g_show_origin = show_origin;
	pthread_mutex_unlock(&g_lock);
}

void log_get_format(bool *show_level, bool *show_origin)
{
	pthread_mutex_lock(&g_lock);
	*show_level = g_show_level;
	*show_origin = g_show_origin;
	pthread_mutex_unlock(&g_lock);
}

void log_set_id(const char *id)
{
	pthread_mutex_lock(&g_lock);
	snprintf(g_id, sizeof(g_id), "%s", id);
	pthread_mutex_unlock(&g_lock);
}

void log_set_thread_name(const char *name)
{
	snprintf(t_name, sizeof(t_name), "%s", name);
}

int log_set_path(const char *path)
{
	int fd = STDERR_FILENO;

	if (path) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
		/* A named pipe nobody reads yet: open it read-write so the open
		 * succeeds; lines are dropped (and counted) while it is full. */
		if (fd < 0 && errno == ENXIO)
			fd = open(path, O_RDWR | O_APPEND | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			int err = -errno;

			log_error("cannot open log file %s: %s", path, strerror(errno));
			return err;
		}
	}
	pthread_mutex_lock(&g_lock);
	if (g_fd != STDERR_FILENO)
		close(g_fd);
	g_fd = fd;
	pthread_mutex_unlock(&g_lock);
	return 0;
}

/* UTC calendar fields of a POSIX time (days-to-civil, proleptic Gregorian). */
static void utc_from_epoch(time_t t, struct tm *tm)
{
	long long days = t / 86400, secs = t % 86400, era, doe, yoe, doy, mp, y;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	tm->tm_year = (int)(y + (tm->tm_mon <= 1) - 1900);
	tm->tm_hour = (int)(secs / 3600);
	tm->tm_min = (int)(secs / 60 % 60);
	tm->tm_sec = (int)(secs % 60);
}

static _Atomic uint64_t g_suppressed;

uint64_t log_suppressed_lines(void) { return g_suppressed; }

/* Take a token of the site's bucket (g_lock held). */
static bool site_allow(struct log_site *site)
{
	struct timespec now;
	uint64_t ns, per = (uint64_t)LOG_SITE_INTERVAL_MS * 1000000u;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
	if (!site->started) {
		site->started = true;
		site->tokens = LOG_SITE_BURST;
		site->last_ns = ns;
	} else if (ns - site->last_ns >= per) {
		uint64_t add = (ns - site->last_ns) / per;

		site->tokens = add >= LOG_SITE_BURST || site->tokens + add >= LOG_SITE_BURST
				       ? LOG_SITE_BURST
				       : site->tokens + (uint32_t)add;
		site->last_ns += add * per;
	}
	if (site->tokens == 0) {
		site->suppressed++;
		return false;
	}
	site->tokens--;
	return true;
}

/* g_lock, or for a fatal signal handler a bounded number of tries: the
 * interrupted thread may hold it. */
static bool log_lock(bool from_signal)
{
	if (!from_signal) {
		pthread_mutex_lock(&g_lock);
		return true;
	}
	for (unsigned i = 0; pthread_mutex_trylock(&g_lock) != 0; i++)
		if (i > 1000000)
			return false;
	return true;
}

static bool log_vmsg(struct log_site *site, enum log_level level, const char *file, int line,
		     bool from_signal, const char *fmt, va_list ap)
{
	char buf[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;

	if (level == LOG_OFF || (int)level > g_level)
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	utc_from_epoch(ts.tv_sec, &tm);

	if (!log_lock(from_signal))
		return false;
	if (g_module[0] && strncmp(origin_path(file), g_module, strlen(g_module)) != 0) {
		pthread_mutex_unlock(&g_lock);
		return false;
	}
	if (site && !site_allow(site)) {
		g_suppressed++;
		g_dropped++;
		pthread_mutex_unlock(&g_lock);
		return false;
	}
	/* Formatted by hand: glibc's gmtime_r()/strftime() load
	 * /etc/localtime (absent in a jail) on their first call. */
	n = (size_t)snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, ts.tv_nsec, g_id, t_name);
	if (g_show_level && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ":%s", level_names[level]);
	if (g_show_origin && n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, ":%s:%d", origin_path(file), line);
	if (n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - n, "] ");
	if (n < sizeof(buf))
		n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (site && site->suppressed && n < sizeof(buf)) {
		n += snprintf(buf + n, sizeof(buf) - n, " [%u similar lines suppressed]",
			      site->suppressed);
		site->suppressed = 0;
	}
	if (n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	bool ok = write(g_fd, buf, n) == (ssize_t)n;
	if (!ok) {
		g_dropped++;
		g_missed++;
	}
	pthread_mutex_unlock(&g_lock);
	return ok;
}

void log_msg(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(NULL, level, file, line, false, fmt, ap);
	va_end(ap);
}

void log_msg_site(struct log_site *site, enum log_level level, const char *file, int line,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(site, level, file, line, false, fmt, ap);
	va_end(ap);
}

/* From a fatal signal handler (seccomp's SIGSYS, vmm/seccomp/seccomp.c):
 * the interrupted thread may itself hold g_lock (a trapped write() in
 * log_vmsg), so never wait on it for long; nothing here allocates.
 * False when the line was not written. */
bool log_msg_from_signal(enum log_level level, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = log_vmsg(NULL, level, file, line, true, fmt, ap);
	va_end(ap);
	return ok;
}
