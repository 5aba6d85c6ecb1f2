/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.h — Firecracker's rate limiter: two optional token buckets,
 * `bandwidth` (bytes) and `ops` (operations), and a one-shot timer that
 * tells the device when to try again.
 *
 * Semantics (Firecracker's src/vmm/src/rate_limiter):
 *   - a bucket holds up to `size` tokens and refills `size` tokens every
 *     `refill_time` ms, continuously; it starts full;
 *   - `one_time_burst` extra tokens are spent first, once; while they last
 *     the refill clock restarts at each consume;
 *   - consume(n) succeeds when the bucket has n tokens; otherwise it fails
 *     and the limiter is blocked for 100 ms (the refill timer);
 *   - a request larger than `size` ("over-consumption") succeeds, empties
 *     the bucket and blocks the limiter for (n - budget) / size * refill_time;
 *   - while blocked every consume fails, until the timer fires
 *     (rate_limiter_timer_fired());
 *   - no bucket (absent, size 0 or refill_time 0) means no limit: consume
 *     always succeeds without looking at the clock.
 *
 * Pure except for the optional timerfd (rate_limiter_open_timer()); the
 * clock is injectable for unit tests. Not thread-safe: the owner (a device,
 * under its lock) serialises calls.
 */
#ifndef WISP_RATELIMIT_H
#define WISP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

#define RATE_LIMITER_REFILL_TIMER_MS 100

enum rl_token { RL_BYTES = 0, RL_OPS = 1 };

struct token_bucket {
	uint64_t size;
	uint64_t initial_one_time_burst;
	uint64_t refill_time_ms;
	uint64_t one_time_burst;     /* what is left of it */
	uint64_t budget;
	uint64_t last_update_ns;
	/* size / (refill_time in ns), reduced by their gcd */
	uint64_t processed_capacity;
	uint64_t processed_refill_time;
};

typedef uint64_t (*rl_clock_fn)(void *opaque);

struct rate_limiter {
	bool has_bucket[2];          /* [RL_BYTES], [RL_OPS] */
	struct token_bucket bucket[2];
	bool timer_active;           /* blocked until the timer fires */
	uint64_t timer_ns;           /* the last duration the timer was armed for */
	int timer_fd;                /* -1: none (tests) */
	rl_clock_fn clock;           /* monotonic ns */
	void *clock_opaque;
};

/* Build a limiter from a configuration (NULL: no limit). No timerfd yet;
 * the clock is CLOCK_MONOTONIC unless `clock` is given. */
void rate_limiter_init(struct rate_limiter *rl, const struct rate_limiter_config *cfg,
		       rl_clock_fn clock, void *clock_opaque);
/* Create the timerfd (non-blocking, close-on-exec). Returns it or -errno. */
int rate_limiter_open_timer(struct rate_limiter *rl);
/* Close the timerfd (the caller removed it from its event loop). */
void rate_limiter_close(struct rate_limiter *rl);

/* Take `tokens` of `type`; false: not now (the limiter is blocked). */
bool rate_limiter_consume(struct rate_limiter *rl, uint64_t tokens, enum rl_token type);
/* Give back tokens taken for a request that did not go ahead. */
void rate_limiter_replenish(struct rate_limiter *rl, uint64_t tokens, enum rl_token type);
static inline bool rate_limiter_is_blocked(const struct rate_limiter *rl)
{
	return rl->timer_active;
}
/* Whether any bucket limits. */
static inline bool rate_limiter_limits_any(const struct rate_limiter *rl)
{
	return rl->has_bucket[RL_BYTES] || rl->has_bucket[RL_OPS];
}
/* The timerfd is readable: read it and unblock. 0, or -EAGAIN when it had
 * not expired (spurious event; still blocked). */
int rate_limiter_timer_event(struct rate_limiter *rl);
/* The timer expired (what rate_limiter_timer_event() does after reading
 * the fd; unit tests call it directly). */
void rate_limiter_timer_fired(struct rate_limiter *rl);

/* PATCH: each bucket `set` in `patch` replaces the current one (a set
 * bucket with size or refill_time 0 removes it); buckets not set stay as
 * they are, with their tokens. A blocked limiter stays blocked until its
 * timer fires. */
void rate_limiter_update(struct rate_limiter *rl, const struct rate_limiter_config *patch);
/* Merge a PATCH into a stored configuration the same way (the result has
 * only limiting buckets set). */
void rate_limiter_config_merge(struct rate_limiter_config *cur,
			       const struct rate_limiter_config *patch);
/* The current configuration (limiting buckets only). */
void rate_limiter_get_config(const struct rate_limiter *rl, struct rate_limiter_config *out);

/* Token bucket primitives (exposed for unit tests). */
enum tb_reduction { TB_FAILURE = 0, TB_SUCCESS = 1, TB_OVER_CONSUMPTION = 2 };
/* false if size or refill_time is 0 (no bucket). */
bool token_bucket_init(struct token_bucket *tb, uint64_t size, uint64_t one_time_burst,
		       uint64_t refill_time_ms, uint64_t now_ns);
/* On TB_OVER_CONSUMPTION *block_ns is how long the excess takes to refill
 * (excess / size * refill_time). */
enum tb_reduction token_bucket_reduce(struct token_bucket *tb, uint64_t tokens, uint64_t now_ns,
				      uint64_t *block_ns);
void token_bucket_force_replenish(struct token_bucket *tb, uint64_t tokens);

#endif /* WISP_RATELIMIT_H */
