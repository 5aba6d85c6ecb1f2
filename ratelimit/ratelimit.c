/* SPDX-License-Identifier: Apache-2.0 */
/* ratelimit.c — token buckets and the rate limiter (see ratelimit.h). */
#include <errno.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "ratelimit.h"

#define NS_PER_MS 1000000ull

static uint64_t gcd(uint64_t x, uint64_t y)
{
	while (y) {
		uint64_t t = y;

		y = x % y;
		x = t;
	}
	return x;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t mono_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool token_bucket_init(struct token_bucket *tb, uint64_t size, uint64_t one_time_burst,
		       uint64_t refill_time_ms, uint64_t now_ns)
{
	uint64_t refill_ns, f;

	memset(tb, 0, sizeof(*tb));
	if (size == 0 || refill_time_ms == 0 || refill_time_ms > UINT64_MAX / NS_PER_MS)
		return false;
	refill_ns = refill_time_ms * NS_PER_MS;
	f = gcd(size, refill_ns);
	tb->size = size;
	tb->initial_one_time_burst = one_time_burst;
	tb->one_time_burst = one_time_burst;
	tb->refill_time_ms = refill_time_ms;
	tb->budget = size;
	tb->last_update_ns = now_ns;
	tb->processed_capacity = size / f;
	tb->processed_refill_time = refill_ns / f;
	return true;
}

/* Add the tokens earned since last_update; last_update moves forward by
 * the time those tokens took (rounded up), so no fraction is lost. */
static void auto_replenish(struct token_bucket *tb, uint64_t now_ns)
{
	unsigned __int128 delta, tokens, adj;

	if (now_ns <= tb->last_update_ns)
		return;
	delta = now_ns - tb->last_update_ns;
	if (delta >= (unsigned __int128)tb->refill_time_ms * NS_PER_MS) {
		tb->budget = tb->size;
		tb->last_update_ns = now_ns;
		return;
	}
	tokens = delta * tb->processed_capacity / tb->processed_refill_time;
	adj = tokens * tb->processed_refill_time / tb->processed_capacity;
	if ((tokens * tb->processed_refill_time) % tb->processed_capacity)
		adj++;
	tb->last_update_ns += (uint64_t)adj;
	tb->budget = min_u64(sat_add(tb->budget, (uint64_t)tokens), tb->size);
}

enum tb_reduction token_bucket_reduce(struct token_bucket *tb, uint64_t tokens, uint64_t now_ns,
				      uint64_t *block_ns)
{
	if (tb->one_time_burst > 0) {
		if (tb->one_time_burst >= tokens) {
			tb->one_time_burst -= tokens;
			tb->last_update_ns = now_ns;
			return TB_SUCCESS;
		}
		tokens -= tb->one_time_burst;
		tb->one_time_burst = 0;
	}
	if (tokens > tb->budget) {
		auto_replenish(tb, now_ns);
		if (tokens > tb->size) {
			unsigned __int128 ns;

			tokens -= tb->budget;
			tb->budget = 0;
			ns = (unsigned __int128)tokens * tb->refill_time_ms * NS_PER_MS / tb->size;
			if (block_ns)
				*block_ns = ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
			return TB_OVER_CONSUMPTION;
		}
		if (tokens > tb->budget)
			return TB_FAILURE;
	}
	tb->budget -= tokens;
	return TB_SUCCESS;
}

void token_bucket_force_replenish(struct token_bucket *tb, uint64_t tokens)
{
	if (tb->one_time_burst > 0) {
		tb->one_time_burst = min_u64(sat_add(tb->one_time_burst, tokens),
					     tb->initial_one_time_burst);
		return;
	}
	tb->budget = min_u64(sat_add(tb->budget, tokens), tb->size);
}

static bool bucket_from(struct token_bucket *tb, const struct token_bucket_config *c,
			uint64_t now_ns)
{
	if (!c || !token_bucket_limits(c))
		return false;
	return token_bucket_init(tb, c->size, c->one_time_burst, c->refill_time, now_ns);
}

void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg,
		       rl_clock_fn clock, void *clock_opaque)
{
	uint64_t now;

	memset(rl, 0, sizeof(*rl));
	rl->timer_fd = -1;
	rl->clock = clock ? clock : mono_ns;
	rl->clock_opaque = clock_opaque;
	if (!cfg || !rate_limiter_limits(cfg))
		return;
	now = rl->clock(rl->clock_opaque);
	rl->has_bucket[RL_BYTES] = bucket_from(&rl->bucket[RL_BYTES], &cfg->bandwidth, now);
	rl->has_bucket[RL_OPS] = bucket_from(&rl->bucket[RL_OPS], &cfg->ops, now);
}

int rate_limiter_open_timer(struct rate_limiter *rl)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	rl->timer_fd = fd;
	return fd;
}

void rate_limiter_close(struct rate_limiter *rl)
{
	if (rl->timer_fd >= 0)
		close(rl->timer_fd);
	rl->timer_fd = -1;
}

static void activate_timer(struct rate_limiter *rl, uint64_t ns)
{
	if (ns == 0)
		ns = 1;      /* a zero it_value would disarm the timer */
	rl->timer_ns = ns;
	rl->timer_active = true;
	if (rl->timer_fd >= 0) {
		struct itimerspec its = {
			.it_value = { .tv_sec = (time_t)(ns / 1000000000ull),
				      .tv_nsec = (long)(ns % 1000000000ull) },
		};

		timerfd_settime(rl->timer_fd, 0, &its, NULL);
	}
}

bool rate_limiter_consume(struct rate_limiter *rl, uint64_t tokens, enum rl_token type)
{
	struct token_bucket *tb = &rl->bucket[type];
	uint64_t block_ns = 0, now = 0;

	if (rl->timer_active)
		return false;
	if (!rl->has_bucket[type])
		return true;
	/* The clock is read only where token_bucket_reduce() uses it: a
	 * bucket that has the tokens costs no clock read. */
	if (tb->one_time_burst > 0 || tokens > tb->budget)
		now = rl->clock(rl->clock_opaque);
	switch (token_bucket_reduce(tb, tokens, now, &block_ns)) {
	case TB_FAILURE:
		activate_timer(rl, RATE_LIMITER_REFILL_TIMER_MS * NS_PER_MS);
		return false;
	case TB_OVER_CONSUMPTION:
		activate_timer(rl, block_ns);
		return true;
	case TB_SUCCESS:
	default:
		return true;
	}
}

void rate_limiter_replenish(struct rate_limiter *rl, uint64_t tokens, enum rl_token type)
{
	if (rl->has_bucket[type])
		token_bucket_force_replenish(&rl->bucket[type], tokens);
}

void rate_limiter_timer_fired(struct rate_limiter *rl)
{
	rl->timer_active = false;
}

int rate_limiter_timer_event(struct rate_limiter *rl)
{
	uint64_t n = 0;

	if (rl->timer_fd < 0 || read(rl->timer_fd, &n, sizeof(n)) != (ssize_t)sizeof(n) || n == 0)
		return -EAGAIN;
	rate_limiter_timer_fired(rl);
	return 0;
}

void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *patch)
{
	const struct token_bucket_config *c[2] = { &patch->bandwidth, &patch->ops };
	uint64_t now = rl->clock(rl->clock_opaque);

	for (int i = 0; i < 2; i++)
		if (c[i]->set)
			rl->has_bucket[i] = bucket_from(&rl->bucket[i], c[i], now);
}

void rate_limiter_config_merge(struct rate_limiter_config *cur,
			       const struct rate_limiter_config *patch)
{
	struct token_bucket_config *d[2] = { &cur->bandwidth, &cur->ops };
	const struct token_bucket_config *c[2] = { &patch->bandwidth, &patch->ops };

	for (int i = 0; i < 2; i++) {
		if (c[i]->set)
			*d[i] = *c[i];
		if (!token_bucket_limits(d[i]))
			memset(d[i], 0, sizeof(*d[i]));
	}
}

void rate_limiter_get_config(const struct rate_limiter *rl, struct rate_limiter_config *out)
{
	struct token_bucket_config *d[2] = { &out->bandwidth, &out->ops };

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 2; i++) {
		if (!rl->has_bucket[i])
			continue;
		d[i]->set = true;
		d[i]->size = rl->bucket[i].size;
		d[i]->one_time_burst = rl->bucket[i].initial_one_time_burst;
		d[i]->refill_time = rl->bucket[i].refill_time_ms;
	}
}
