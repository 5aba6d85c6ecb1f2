/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: the virtio-mmio v2 register state machine (virtio/mmio.c). */
#include <check.h>
#include <stdint.h>

#include "../check_main.h"
#include "test_virtio_util.h"

static struct tmem M;
static struct virtio_mmio T;
static char *LOG;

static struct {
	int activated, resets, irqs, activate_ret;
	unsigned notified[VIRTIO_MAX_QUEUES];
	uint8_t config[8];
} D;

static size_t fake_config_len(void *dev) { return sizeof(D.config); }
static void fake_config_read(void *dev, uint32_t off, uint8_t *data, unsigned len)
{
	memcpy(data, D.config + off, len);
}
static void fake_config_write(void *dev, uint32_t off, const uint8_t *data, unsigned len)
{
	memcpy(D.config + off, data, len);
}
static int fake_activate(void *dev) { D.activated++; return D.activate_ret; }
static void fake_reset(void *dev) { D.resets++; }
static void fake_notify(void *dev, unsigned q) { D.notified[q]++; }
static void fake_irq(void *opaque) { D.irqs++; }

static const struct virtio_dev_ops fake_ops = {
	.name = "virtio-fake",
	.device_id = 42,
	.nr_queues = 2,
	.queue_max_size = 128,
	.config_len = fake_config_len,
	.config_read = fake_config_read,
	.config_write = fake_config_write,
	.activate = fake_activate,
	.reset = fake_reset,
	.notify = fake_notify,
};

#define DEV_FEATURES (VIRTIO_BIT(3) | VIRTIO_BIT(5))

static uint32_t rd(uint64_t off)
{
	uint8_t b[4];
	uint32_t v;

	virtio_mmio_read(&T, off, b, 4);
	memcpy(&v, b, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	virtio_mmio_write(&T, off, b, 4);
}

static void setup(void)
{
	memset(&D, 0, sizeof(D));
	memcpy(D.config, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	tmem_init(&M, false);
	virtio_mmio_init(&T, &fake_ops, &D, DEV_FEATURES, &M.mem);
	T.raise_irq = fake_irq;
	LOG = tlog_start();
}

static void teardown(void)
{
	log_set_path(NULL);
	unlink(LOG);
	virtio_mmio_destroy(&T);
	tmem_free(&M);
}

static void negotiate(uint64_t features)
{
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK);
}

static void setup_queue(unsigned q, uint32_t num, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VMMIO_QUEUE_SEL, q);
	wr(VMMIO_QUEUE_NUM, num);
	wr(VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(VMMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(VMMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(VMMIO_QUEUE_READY, 1);
}

#define FOK (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define ALL_FEATURES (DEV_FEATURES | VIRTIO_BIT(VIRTIO_F_VERSION_1) | \
		      VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

START_TEST(identity_registers)
{
	ck_assert_uint_eq(rd(VMMIO_MAGIC), 0x74726976);
	ck_assert_uint_eq(rd(VMMIO_VERSION), 2);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_ID), 42);
	ck_assert_uint_eq(rd(VMMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	ck_assert_uint_eq(rd(VMMIO_SHM_LEN_LOW), 0xffffffffu);
	ck_assert_uint_eq(rd(VMMIO_SHM_LEN_HIGH), 0xffffffffu);
	ck_assert_uint_eq(rd(VMMIO_SHM_BASE_LOW), 0xffffffffu);
	ck_assert_uint_eq(rd(VMMIO_CONFIG_GENERATION), 0);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NOTIFY), 0);      /* write-only */
	ck_assert_uint_eq(rd(0x0f0), 0);                   /* reserved */
}
END_TEST

START_TEST(device_feature_banks)
{
	wr(VMMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_FEATURES), (uint32_t)ALL_FEATURES);
	wr(VMMIO_DEVICE_FEATURES_SEL, 1);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_FEATURES), 1);   /* VERSION_1 is bit 32 */
	wr(VMMIO_DEVICE_FEATURES_SEL, 2);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_FEATURES), 0);
}
END_TEST

START_TEST(negotiation_accepts_subset)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	ck_assert_uint_eq(rd(VMMIO_STATUS), FOK);
	ck_assert(virtio_mmio_has_feature(&T, 5));
	ck_assert(!virtio_mmio_has_feature(&T, 3));
	/* features are frozen after FEATURES_OK */
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, VIRTIO_BIT(3));
	ck_assert(!virtio_mmio_has_feature(&T, 3));
}
END_TEST

START_TEST(negotiation_rejects_unoffered_feature)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(7));
	ck_assert_uint_eq(rd(VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert(tlog_contains(LOG, "not offered"));
}
END_TEST

START_TEST(negotiation_rejects_legacy_driver)
{
	negotiate(VIRTIO_BIT(5));
	ck_assert_uint_eq(rd(VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	ck_assert(tlog_contains(LOG, "no VERSION_1"));
}
END_TEST

START_TEST(driver_features_need_driver_status)
{
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, 0xffffffff);
	ck_assert_uint_eq(T.state.driver_features, 0);
}
END_TEST

START_TEST(queue_setup_and_driver_ok)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	wr(VMMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM_MAX), 128);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	setup_queue(0, 64, T_DESC, T_AVAIL, T_USED);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 1);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM), 64);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_DESC_LOW), T_DESC);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_DRIVER_LOW), T_AVAIL);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_DEVICE_LOW), T_USED);
	ck_assert(T.state.queues[0].event_idx);
	ck_assert(!T.state.queues[0].indirect);
	/* addresses are frozen while ready */
	wr(VMMIO_QUEUE_DESC_LOW, 0x8000);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_DESC_LOW), T_DESC);
	/* a queue index that does not exist */
	wr(VMMIO_QUEUE_SEL, 2);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM_MAX), 0);
	wr(VMMIO_QUEUE_READY, 1);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);

	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(rd(VMMIO_STATUS), FOK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_int_eq(D.activated, 1);
	ck_assert(virtio_mmio_driver_ok(&T));
}
END_TEST

START_TEST(queue_ready_with_bad_addresses)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, T_RAM_SIZE - 16, T_AVAIL, T_USED);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert(rd(VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ck_assert(tlog_contains(LOG, "descriptor table"));
	ck_assert_uint_eq(T.state.queues[0].stats.bad_rings, 1);
	/* reset clears it, and a good setup then works */
	wr(VMMIO_STATUS, 0);
	ck_assert_uint_eq(rd(VMMIO_STATUS), 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 63, T_DESC, T_AVAIL, T_USED);     /* not a power of two */
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert(tlog_contains(LOG, "power of two"));
	wr(VMMIO_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, T_DESC, T_AVAIL + 1, T_USED);  /* misaligned */
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert(tlog_contains(LOG, "misaligned"));
	wr(VMMIO_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(0, 64, T_DESC, T_AVAIL, 0xffffffff00000000ULL);  /* high half */
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert(tlog_contains(LOG, "device (used) ring"));
}
END_TEST

START_TEST(queue_ready_before_features_ok)
{
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	setup_queue(0, 64, T_DESC, T_AVAIL, T_USED);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert(tlog_contains(LOG, "before FEATURES_OK"));
}
END_TEST

START_TEST(driver_ok_without_features_ok)
{
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	ck_assert_uint_eq(rd(VMMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
	ck_assert_int_eq(D.activated, 0);
	ck_assert(tlog_contains(LOG, "DRIVER_OK without FEATURES_OK"));
}
END_TEST

START_TEST(status_bits_cannot_be_cleared)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert_uint_eq(rd(VMMIO_STATUS), FOK);
	ck_assert(tlog_contains(LOG, "would clear bits"));
	/* NEEDS_RESET cannot be set by the driver */
	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ck_assert_uint_eq(rd(VMMIO_STATUS), FOK);
	/* FAILED can */
	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_FAILED);
	ck_assert_uint_eq(rd(VMMIO_STATUS), FOK | VIRTIO_STATUS_FAILED);
}
END_TEST

START_TEST(activation_failure_needs_reset)
{
	D.activate_ret = -EIO;
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(rd(VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	ck_assert(rd(VMMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	ck_assert(!virtio_mmio_driver_ok(&T));
	ck_assert(tlog_contains(LOG, "activation failed"));
}
END_TEST

START_TEST(notify_and_interrupts)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	setup_queue(1, 8, T_DESC, T_AVAIL, T_USED);
	wr(VMMIO_QUEUE_NOTIFY, 1);                  /* before DRIVER_OK: ignored */
	ck_assert_uint_eq(D.notified[1], 0);
	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_DRIVER_OK);
	wr(VMMIO_QUEUE_NOTIFY, 1);
	wr(VMMIO_QUEUE_NOTIFY, 7);                  /* no such queue */
	ck_assert_uint_eq(D.notified[1], 1);

	virtq_push(&T.state.queues[1], 0, 0);
	virtio_mmio_signal_used(&T, 1);
	ck_assert_int_eq(D.irqs, 1);
	ck_assert_uint_eq(rd(VMMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	virtio_mmio_config_changed(&T);
	ck_assert_uint_eq(rd(VMMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING | VIRTIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VMMIO_CONFIG_GENERATION), 1);
	wr(VMMIO_INTERRUPT_ACK, VIRTIO_INT_USED_RING);
	ck_assert_uint_eq(rd(VMMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	wr(VMMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	ck_assert_uint_eq(rd(VMMIO_INTERRUPT_STATUS), 0);
}
END_TEST

START_TEST(reset_clears_everything)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	setup_queue(0, 16, T_DESC, T_AVAIL, T_USED);
	wr(VMMIO_STATUS, FOK | VIRTIO_STATUS_DRIVER_OK);
	T.state.interrupt_status = 3;
	wr(VMMIO_STATUS, 0);
	ck_assert_int_eq(D.resets, 1);
	ck_assert_uint_eq(rd(VMMIO_STATUS), 0);
	ck_assert_uint_eq(rd(VMMIO_INTERRUPT_STATUS), 0);
	ck_assert_uint_eq(T.state.driver_features, 0);
	wr(VMMIO_QUEUE_SEL, 0);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_READY), 0);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_DESC_LOW), 0);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM), 128);
	ck_assert_uint_eq(T.state.queues[0].last_avail_idx, 0);
}
END_TEST

START_TEST(config_space)
{
	uint8_t b[8] = { 0 };

	virtio_mmio_read(&T, VIRTIO_MMIO_CONFIG + 2, b, 2);
	ck_assert_int_eq(b[0], 3);
	ck_assert_int_eq(b[1], 4);
	virtio_mmio_read(&T, VIRTIO_MMIO_CONFIG, b, 8);
	ck_assert_int_eq(b[7], 8);
	/* past the end reads zero and calls nothing */
	virtio_mmio_read(&T, VIRTIO_MMIO_CONFIG + 6, b, 4);
	ck_assert_int_eq(b[0], 0);
	virtio_mmio_read(&T, VIRTIO_MMIO_CONFIG + 0xefc, b, 4);
	ck_assert_int_eq(b[0], 0);
	b[0] = 0x99;
	virtio_mmio_write(&T, VIRTIO_MMIO_CONFIG + 1, b, 1);
	ck_assert_int_eq(D.config[1], 0x99);
	virtio_mmio_write(&T, VIRTIO_MMIO_CONFIG + 7, b, 2);   /* straddles the end */
	ck_assert_int_eq(D.config[7], 8);
}
END_TEST

START_TEST(narrow_register_access_ignored)
{
	uint8_t b[4] = { 0xff, 0xff, 0xff, 0xff };

	virtio_mmio_read(&T, VMMIO_MAGIC, b, 2);
	ck_assert_int_eq(b[0], 0);
	virtio_mmio_read(&T, VMMIO_MAGIC + 1, b, 4);
	ck_assert_int_eq(b[0], 0);
	b[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_write(&T, VMMIO_STATUS, b, 1);
	ck_assert_uint_eq(rd(VMMIO_STATUS), 0);
}
END_TEST

/* Found by fuzz_virtio_mmio (corpus/virtio_mmio/status_above_8_bits): a
 * status with bits above 0xff was stored, and the saved state it gave was
 * refused by restore ("invalid status"), so the VM's snapshot could not be
 * loaded. Such a write is ignored now and what is saved restores. */
START_TEST(status_above_8_bits_ignored)
{
	struct virtio_mmio_saved saved;
	char err[256] = "";

	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VMMIO_STATUS, 0x100 | VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	ck_assert_uint_eq(rd(VMMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	ck_assert(tlog_contains(LOG, "has bits above 0xff; ignored"));
	wr(VMMIO_STATUS, 0x100);
	ck_assert_uint_eq(rd(VMMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE);
	virtio_mmio_save(&T, &saved);
	ck_assert_msg(virtio_mmio_restore(&T, &saved, err, sizeof(err)) == 0, "%s", err);
}
END_TEST

/* Found by fuzz_virtio_mmio (corpus/virtio_mmio/unoffered_features_saved):
 * features written before a refused FEATURES_OK were saved, and restore
 * refused the state. Restore now checks them against the offer only once
 * FEATURES_OK is set. */
START_TEST(refused_features_state_restores)
{
	struct virtio_mmio_saved saved;
	char err[256] = "";

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(40));
	ck_assert_uint_eq(rd(VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	virtio_mmio_save(&T, &saved);
	ck_assert_msg(virtio_mmio_restore(&T, &saved, err, sizeof(err)) == 0, "%s", err);
	/* With FEATURES_OK the check still holds. */
	saved.status |= VIRTIO_STATUS_FEATURES_OK;
	ck_assert_int_eq(virtio_mmio_restore(&T, &saved, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "were never offered"));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_mmio");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, identity_registers);
	tcase_add_test(tc, device_feature_banks);
	tcase_add_test(tc, negotiation_accepts_subset);
	tcase_add_test(tc, negotiation_rejects_unoffered_feature);
	tcase_add_test(tc, negotiation_rejects_legacy_driver);
	tcase_add_test(tc, driver_features_need_driver_status);
	tcase_add_test(tc, queue_setup_and_driver_ok);
	tcase_add_test(tc, queue_ready_with_bad_addresses);
	tcase_add_test(tc, queue_ready_before_features_ok);
	tcase_add_test(tc, driver_ok_without_features_ok);
	tcase_add_test(tc, status_bits_cannot_be_cleared);
	tcase_add_test(tc, activation_failure_needs_reset);
	tcase_add_test(tc, notify_and_interrupts);
	tcase_add_test(tc, reset_clears_everything);
	tcase_add_test(tc, config_space);
	tcase_add_test(tc, narrow_register_access_ignored);
	tcase_add_test(tc, status_above_8_bits_ignored);
	tcase_add_test(tc, refused_features_state_restores);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
