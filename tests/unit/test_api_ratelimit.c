/* SPDX-License-Identifier: Apache-2.0 */
/* test_api_ratelimit.c — rate limiter objects and /entropy in the config
 * document: what Kata sends ({} and null buckets), Firecracker's output
 * shape, round trip, bad values. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../check_main.h"
#include "api/api.h"

static char err[1024];
static struct vm_config cfg;

static int parse(const char *doc)
{
	err[0] = '\0';
	vm_config_init(&cfg);
	return vmconfig_parse(doc, strlen(doc), &cfg, err, sizeof(err));
}

#define REJECT(doc, msg)                                                                    \
	do {                                                                                 \
		ck_assert_int_eq(parse(doc), -EINVAL);                                       \
		ck_assert_msg(strstr(err, msg), "error '%s' lacks '%s'", err, msg);          \
	} while (0)

#define NET(extra) "{\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"" extra "}]}"
#define DRIVE(extra) "{\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/p\", \"is_root_device\": true" extra "}]}"

START_TEST(no_limit_shapes)
{
	/* Kata's Go runtime: {} on every interface; runtime-rs: null buckets */
	ck_assert_int_eq(parse(NET(", \"rx_rate_limiter\": {}, \"tx_rate_limiter\": {}")), 0);
	ck_assert(!rate_limiter_limits(&cfg.nets[0].rx_rate_limiter));
	ck_assert(!rate_limiter_limits(&cfg.nets[0].tx_rate_limiter));
	ck_assert_int_eq(parse(DRIVE(", \"rate_limiter\": {\"bandwidth\": null, \"ops\": null}")), 0);
	ck_assert(!rate_limiter_limits(&cfg.drives[0].rate_limiter));
	ck_assert_int_eq(parse(DRIVE(", \"rate_limiter\": null")), 0);
	/* size 0 is no limit too, and is not stored */
	ck_assert_int_eq(parse(DRIVE(", \"rate_limiter\": {\"bandwidth\": {\"size\": 0, \"refill_time\": 100}}")), 0);
	ck_assert(!cfg.drives[0].rate_limiter.bandwidth.set);
	/* nothing limits: GET /vm/config shows "rate_limiter": null (Firecracker's shape) */
	char *json = vmconfig_to_json(&cfg);
	ck_assert_ptr_nonnull(strstr(json, "\"rate_limiter\":null"));
	ck_assert_ptr_null(strstr(json, "bandwidth"));
	free(json);
}
END_TEST

START_TEST(round_trip)
{
	static const char *doc =
		"{\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"/p\", \"is_root_device\": true,"
		" \"rate_limiter\": {\"bandwidth\": {\"size\": 4194304, \"refill_time\": 1000},"
		" \"ops\": {\"size\": 500, \"one_time_burst\": 100, \"refill_time\": 1000}}}],"
		" \"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\","
		" \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 10}},"
		" \"tx_rate_limiter\": {\"ops\": {\"size\": 7, \"refill_time\": 70}}}],"
		" \"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 65536, \"refill_time\": 1000}}}}";
	struct vm_config *a = malloc(sizeof(*a));
	char *json;

	ck_assert_int_eq(parse(doc), 0);
	ck_assert_uint_eq(cfg.drives[0].rate_limiter.bandwidth.size, 4194304);
	ck_assert_uint_eq(cfg.drives[0].rate_limiter.ops.one_time_burst, 100);
	ck_assert_uint_eq(cfg.nets[0].rx_rate_limiter.bandwidth.refill_time, 10);
	ck_assert(!cfg.nets[0].rx_rate_limiter.ops.set);
	ck_assert_uint_eq(cfg.nets[0].tx_rate_limiter.ops.size, 7);
	ck_assert(cfg.entropy.set);
	ck_assert_uint_eq(cfg.entropy.rate_limiter.bandwidth.size, 65536);
	json = vmconfig_to_json(&cfg);
	/* Firecracker's shape: both buckets, null when absent; one_time_burst null when 0 */
	ck_assert_ptr_nonnull(strstr(json, "\"rate_limiter\":{\"bandwidth\":{\"size\":4194304,"
					   "\"one_time_burst\":null,\"refill_time\":1000},\"ops\":{\"size\":500,"
					   "\"one_time_burst\":100,\"refill_time\":1000}}"));
	ck_assert_ptr_nonnull(strstr(json, "\"tx_rate_limiter\":{\"bandwidth\":null,\"ops\":{"));
	ck_assert_ptr_nonnull(strstr(json, "\"entropy\":{\"rate_limiter\":{\"bandwidth\":{\"size\":65536"));
	*a = cfg;
	ck_assert_int_eq(parse(json), 0);
	ck_assert_int_eq(memcmp(a, &cfg, sizeof(cfg)), 0);
	free(json);
	/* an entropy device without a limit */
	ck_assert_int_eq(parse("{\"entropy\": {}}"), 0);
	ck_assert(cfg.entropy.set);
	json = vmconfig_to_json(&cfg);
	ck_assert_ptr_nonnull(strstr(json, "\"entropy\":{\"rate_limiter\":null}"));
	free(json);
	ck_assert_int_eq(parse("{\"entropy\": null}"), 0);
	ck_assert(!cfg.entropy.set);
	free(a);
}
END_TEST

START_TEST(bad_values)
{
	REJECT(DRIVE(", \"rate_limiter\": 5"), "drives[0].rate_limiter: expected an object");
	REJECT(DRIVE(", \"rate_limiter\": {\"bandwidth\": {\"refill_time\": 1}}"),
	       "drives[0].rate_limiter.bandwidth.size: missing required field (missing field `size`)");
	REJECT(DRIVE(", \"rate_limiter\": {\"bandwidth\": {\"size\": 1}}"),
	       "drives[0].rate_limiter.bandwidth.refill_time: missing required field");
	REJECT(DRIVE(", \"rate_limiter\": {\"ops\": {\"size\": -5, \"refill_time\": 1}}"),
	       "drives[0].rate_limiter.ops.size: out of range");
	REJECT(DRIVE(", \"rate_limiter\": {\"ops\": {\"size\": 1.5, \"refill_time\": 1}}"),
	       "drives[0].rate_limiter.ops.size: expected an integer");
	REJECT(DRIVE(", \"rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": 18446744073710}}"),
	       "drives[0].rate_limiter.ops.refill_time: out of range");
	REJECT(DRIVE(", \"rate_limiter\": {\"ops\": {\"size\": 1, \"one_time_burst\": true, \"refill_time\": 1}}"),
	       "drives[0].rate_limiter.ops.one_time_burst: expected an integer");
	REJECT(DRIVE(", \"rate_limiter\": {\"bytes\": {}}"),
	       "drives[0].rate_limiter.bytes: unknown field `bytes`, expected `bandwidth` or `ops`");
	REJECT(NET(", \"tx_rate_limiter\": {\"ops\": []}"),
	       "network-interfaces[0].tx_rate_limiter.ops: expected an object");
	REJECT("{\"entropy\": {\"rate_limiter\": {}, \"extra\": 1}}", "entropy.extra: unknown field");
	REJECT("{\"entropy\": 1}", "entropy: expected an object");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_ratelimit");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, no_limit_shapes);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, bad_values);
	suite_add_tcase(s, tc);
	return check_run_suite(s);
}
