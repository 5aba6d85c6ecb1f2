/* SPDX-License-Identifier: Apache-2.0 */
/* test_ratelimit.c — Firecracker's token buckets: refill, one-time burst,
 * over-consumption, update, no limit; with a fake clock. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit/ratelimit.h"
#include "tests/check_main.h"

#define MS 1000000ull

static uint64_t fake_now;

static uint64_t fake_clock(void *opaque)
{
	(void)opaque;
	return fake_now;
}

static struct rate_limiter_config cfg(uint64_t bw_size, uint64_t bw_burst, uint64_t bw_ms,
				      uint64_t ops_size, uint64_t ops_burst, uint64_t ops_ms)
{
	struct rate_limiter_config c;

	memset(&c, 0, sizeof(c));
	c.bandwidth = (struct token_bucket_config){ true, bw_size, bw_burst, bw_ms };
	c.ops = (struct token_bucket_config){ true, ops_size, ops_burst, ops_ms };
	return c;
}

static void setup(void)
{
	fake_now = 1000 * MS;
}

START_TEST(no_limit)
{
	struct rate_limiter rl;
	struct rate_limiter_config empty = {0}, zero = cfg(0, 0, 1000, 10, 0, 0);

	rate_limiter_init(&rl, NULL, fake_clock, NULL);
	ck_assert(!rate_limiter_limits_any(&rl));
	for (int i = 0; i < 1000; i++)
		ck_assert(rate_limiter_consume(&rl, UINT64_MAX / 2, i & 1 ? RL_OPS : RL_BYTES));
	ck_assert(!rate_limiter_is_blocked(&rl));
	rate_limiter_init(&rl, &empty, fake_clock, NULL);
	ck_assert(!rate_limiter_limits_any(&rl));
	/* size 0 and refill_time 0 are "no bucket" */
	rate_limiter_init(&rl, &zero, fake_clock, NULL);
	ck_assert(!rate_limiter_limits_any(&rl));
	ck_assert(rate_limiter_consume(&rl, 1u << 30, RL_BYTES));
	ck_assert(rate_limiter_consume(&rl, 1u << 30, RL_OPS));
}
END_TEST

START_TEST(refill)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(1000, 0, 1000, 0, 0, 0);

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	ck_assert(rate_limiter_limits_any(&rl));
	/* starts full */
	ck_assert(rate_limiter_consume(&rl, 600, RL_BYTES));
	ck_assert(rate_limiter_consume(&rl, 400, RL_BYTES));
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 0);
	/* empty: blocked, with the 100 ms refill timer */
	ck_assert(!rate_limiter_consume(&rl, 1, RL_BYTES));
	ck_assert(rate_limiter_is_blocked(&rl));
	ck_assert_uint_eq(rl.timer_ns, 100 * MS);
	/* ops are not limited, but a blocked limiter refuses everything */
	ck_assert(!rate_limiter_consume(&rl, 1, RL_OPS));
	/* 250 ms later: 250 tokens back */
	fake_now += 250 * MS;
	rate_limiter_timer_fired(&rl);
	ck_assert(!rate_limiter_is_blocked(&rl));
	ck_assert(!rate_limiter_consume(&rl, 251, RL_BYTES));
	rate_limiter_timer_fired(&rl);
	ck_assert(rate_limiter_consume(&rl, 250, RL_BYTES));
	ck_assert(!rate_limiter_consume(&rl, 1, RL_BYTES));
	rate_limiter_timer_fired(&rl);
	/* fractions are kept: 0.4 ms gives 0 tokens, 1 ms more gives 1 + 0.4 */
	fake_now += 400000;
	ck_assert(!rate_limiter_consume(&rl, 1, RL_BYTES));
	rate_limiter_timer_fired(&rl);
	fake_now += 1 * MS;
	ck_assert(rate_limiter_consume(&rl, 1, RL_BYTES));
	/* a whole refill_time fills it, never beyond size */
	fake_now += 5000 * MS;
	ck_assert(rate_limiter_consume(&rl, 1000, RL_BYTES));
	ck_assert(!rate_limiter_consume(&rl, 1, RL_BYTES));
	ck_assert_uint_le(rl.bucket[RL_BYTES].budget, 1000);
}
END_TEST

START_TEST(rate_over_time)
{
	/* 500 ops/s consumed one at a time for 10 simulated seconds */
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(0, 0, 0, 50, 0, 100);
	uint64_t done = 0, end;

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	end = fake_now + 10000 * MS;
	while (fake_now < end) {
		if (rate_limiter_consume(&rl, 1, RL_OPS)) {
			done++;
			continue;
		}
		fake_now += rl.timer_ns;
		rate_limiter_timer_fired(&rl);
	}
	/* 50 at the start, then 500 per second */
	ck_assert_uint_ge(done, 5000);
	ck_assert_uint_le(done, 5050 + 1);
}
END_TEST

START_TEST(one_time_burst)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(100, 1000, 1000, 0, 0, 0);

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	/* the burst goes first */
	ck_assert(rate_limiter_consume(&rl, 900, RL_BYTES));
	ck_assert_uint_eq(rl.bucket[RL_BYTES].one_time_burst, 100);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 100);
	/* the rest of the burst, then the budget */
	ck_assert(rate_limiter_consume(&rl, 150, RL_BYTES));
	ck_assert_uint_eq(rl.bucket[RL_BYTES].one_time_burst, 0);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 50);
	ck_assert(!rate_limiter_consume(&rl, 51, RL_BYTES));
	/* replenish gives tokens back to the budget once the burst is gone */
	rate_limiter_timer_fired(&rl);
	rate_limiter_replenish(&rl, 10, RL_BYTES);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 60);
	rate_limiter_replenish(&rl, 1000, RL_BYTES);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 100);
	/* the burst is once only */
	fake_now += 10000 * MS;
	ck_assert(!rate_limiter_consume(&rl, 101, RL_BYTES) || rate_limiter_is_blocked(&rl));
}
END_TEST

START_TEST(burst_replenish)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(0, 0, 0, 10, 5, 1000);

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	ck_assert(rate_limiter_consume(&rl, 3, RL_OPS));
	ck_assert_uint_eq(rl.bucket[RL_OPS].one_time_burst, 2);
	/* while the burst lasts, replenish refills it, at most to its start */
	rate_limiter_replenish(&rl, 10, RL_OPS);
	ck_assert_uint_eq(rl.bucket[RL_OPS].one_time_burst, 5);
	ck_assert_uint_eq(rl.bucket[RL_OPS].budget, 10);
}
END_TEST

START_TEST(over_consumption)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(1000, 0, 1000, 0, 0, 0);

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	/* 2500 from a full bucket of 1000: allowed, 1500 over = 1.5 refills */
	ck_assert(rate_limiter_consume(&rl, 2500, RL_BYTES));
	ck_assert(rate_limiter_is_blocked(&rl));
	ck_assert_uint_eq(rl.timer_ns, 1500 * MS);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].budget, 0);
	ck_assert(!rate_limiter_consume(&rl, 1, RL_BYTES));
	fake_now += 1500 * MS;
	rate_limiter_timer_fired(&rl);
	/* after 1.5 s the bucket is full again (>= refill_time since the last update) */
	ck_assert(rate_limiter_consume(&rl, 1000, RL_BYTES));
	/* over-consumption from a partly filled bucket counts what it had */
	fake_now += 300 * MS;
	ck_assert(rate_limiter_consume(&rl, 1300, RL_BYTES));
	ck_assert_uint_eq(rl.timer_ns, 1000 * MS);
}
END_TEST

START_TEST(update)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(1000, 0, 1000, 10, 0, 1000), p, stored;

	rate_limiter_init(&rl, &c, fake_clock, NULL);
	ck_assert(rate_limiter_consume(&rl, 1000, RL_BYTES));
	ck_assert(rate_limiter_consume(&rl, 10, RL_OPS));
	/* a patch with only bandwidth replaces bandwidth (full again) and keeps ops */
	memset(&p, 0, sizeof(p));
	p.bandwidth = (struct token_bucket_config){ true, 5000, 0, 1000 };
	rate_limiter_update(&rl, &p);
	ck_assert(rl.has_bucket[RL_BYTES] && rl.has_bucket[RL_OPS]);
	ck_assert_uint_eq(rl.bucket[RL_BYTES].size, 5000);
	ck_assert(rate_limiter_consume(&rl, 5000, RL_BYTES));
	ck_assert(!rate_limiter_consume(&rl, 1, RL_OPS));
	rate_limiter_timer_fired(&rl);
	/* a bucket given with size 0 removes it */
	memset(&p, 0, sizeof(p));
	p.ops = (struct token_bucket_config){ true, 0, 0, 0 };
	rate_limiter_update(&rl, &p);
	ck_assert(!rl.has_bucket[RL_OPS]);
	ck_assert(rate_limiter_consume(&rl, 1000000, RL_OPS));
	/* the stored configuration merges the same way */
	stored = c;
	rate_limiter_config_merge(&stored, &p);
	ck_assert(token_bucket_limits(&stored.bandwidth));
	ck_assert(!stored.ops.set);
	memset(&p, 0, sizeof(p));
	p.bandwidth = (struct token_bucket_config){ true, 7, 3, 9 };
	rate_limiter_config_merge(&stored, &p);
	ck_assert_uint_eq(stored.bandwidth.size, 7);
	ck_assert_uint_eq(stored.bandwidth.one_time_burst, 3);
	ck_assert_uint_eq(stored.bandwidth.refill_time, 9);
	rate_limiter_get_config(&rl, &stored);
	ck_assert(stored.bandwidth.set && !stored.ops.set);
	ck_assert_uint_eq(stored.bandwidth.size, 5000);
}
END_TEST

START_TEST(timerfd_fires)
{
	struct rate_limiter rl;
	struct rate_limiter_config c = cfg(10, 0, 20, 0, 0, 0);

	rate_limiter_init(&rl, &c, NULL, NULL);
	ck_assert_int_ge(rate_limiter_open_timer(&rl), 0);
	/* not armed: a read is spurious */
	ck_assert_int_eq(rate_limiter_timer_event(&rl), -EAGAIN);
	ck_assert(rate_limiter_consume(&rl, 30, RL_BYTES));  /* over: 20 over 10 = 40 ms */
	ck_assert(rate_limiter_is_blocked(&rl));
	ck_assert_int_eq(rate_limiter_timer_event(&rl), -EAGAIN);
	usleep(60000);
	ck_assert_int_eq(rate_limiter_timer_event(&rl), 0);
	ck_assert(!rate_limiter_is_blocked(&rl));
	rate_limiter_close(&rl);
	ck_assert_int_eq(rl.timer_fd, -1);
}
END_TEST

START_TEST(huge_values)
{
	struct token_bucket tb;
	uint64_t ns = 0;

	/* refill_time that overflows nanoseconds: no bucket */
	ck_assert(!token_bucket_init(&tb, 1, 0, UINT64_MAX, 0));
	ck_assert(token_bucket_init(&tb, UINT64_MAX, 0, UINT64_MAX / 1000000, 0));
	ck_assert_int_eq(token_bucket_reduce(&tb, UINT64_MAX, 1, &ns), TB_SUCCESS);
	ck_assert(token_bucket_init(&tb, 1, 0, 1, 0));
	ck_assert_int_eq(token_bucket_reduce(&tb, UINT64_MAX, 0, &ns), TB_OVER_CONSUMPTION);
	ck_assert_uint_gt(ns, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("ratelimit");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, no_limit);
	tcase_add_test(tc, refill);
	tcase_add_test(tc, rate_over_time);
	tcase_add_test(tc, one_time_burst);
	tcase_add_test(tc, burst_replenish);
	tcase_add_test(tc, over_consumption);
	tcase_add_test(tc, update);
	tcase_add_test(tc, timerfd_fires);
	tcase_add_test(tc, huge_values);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
