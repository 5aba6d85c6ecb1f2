/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: virtio-balloon (virtio/balloon.c): page-number runs, the
 * guest-RAM check, statistics records, and the device over a fake guest
 * RAM: hostile page numbers refused and counted, valid ones given back
 * (the page reads zero afterwards), config space, the API operations'
 * refusals, saved state round trip and refused saved states. */
#include <check.h>
#include <stdint.h>

#include "../check_main.h"
#include "test_virtio_util.h"

#define QSZ 8
#define DEFQ_DESC  0x6000ULL
#define DEFQ_AVAIL 0x7000ULL
#define DEFQ_USED  0x8000ULL
#define STQ_DESC   0x9000ULL
#define STQ_AVAIL  0xa000ULL
#define STQ_USED   0xb000ULL
#define PFN_BUF    0xc000ULL

static struct tmem M;
static struct virtio_balloon *B;
static struct virtio_mmio *TR;

START_TEST(compact_sorts_merges_and_drops_duplicates)
{
	uint32_t p[] = { 11, 5, 3, 4, 4, 10, 1, 12 };
	struct balloon_range r[8];
	size_t n = balloon_compact_pfns(p, 8, r);

	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(r[0].pfn, 1);
	ck_assert_uint_eq(r[0].npages, 1);
	ck_assert_uint_eq(r[1].pfn, 3);
	ck_assert_uint_eq(r[1].npages, 3);
	ck_assert_uint_eq(r[2].pfn, 10);
	ck_assert_uint_eq(r[2].npages, 3);
	ck_assert_uint_eq(balloon_compact_pfns(p, 0, r), 0);
	{
		uint32_t same[] = { 7, 7, 7 }, top[] = { 0xffffffffu, 0xfffffffeu };

		ck_assert_uint_eq(balloon_compact_pfns(same, 3, r), 1);
		ck_assert_uint_eq(r[0].npages, 1);
		ck_assert_uint_eq(balloon_compact_pfns(top, 2, r), 1);
		ck_assert_uint_eq(r[0].pfn, 0xfffffffeu);
		ck_assert_uint_eq(r[0].npages, 2);
	}
	{
		/* 256 page numbers in descending order: one run. */
		uint32_t d[256];

		for (unsigned i = 0; i < 256; i++)
			d[i] = 1000 - i;
		ck_assert_uint_eq(balloon_compact_pfns(d, 256, r), 1);
		ck_assert_uint_eq(r[0].pfn, 745);
		ck_assert_uint_eq(r[0].npages, 256);
	}
}
END_TEST

START_TEST(pfn_valid_only_inside_guest_ram)
{
	struct tmem two;

	tmem_init(&two, true);   /* [0, 1 MiB) and [4 GiB, 4 GiB + 64 KiB) */
	ck_assert(balloon_pfn_valid(&two.mem, 0));
	ck_assert(balloon_pfn_valid(&two.mem, 255));
	ck_assert(!balloon_pfn_valid(&two.mem, 256));          /* end of RAM */
	ck_assert(!balloon_pfn_valid(&two.mem, 0xc0000));      /* the MMIO gap */
	ck_assert(!balloon_pfn_valid(&two.mem, 0xfec00));      /* the IOAPIC */
	ck_assert(balloon_pfn_valid(&two.mem, 0x100000));      /* 4 GiB */
	ck_assert(balloon_pfn_valid(&two.mem, 0x10000f));
	ck_assert(!balloon_pfn_valid(&two.mem, 0x100010));
	ck_assert(!balloon_pfn_valid(&two.mem, 0xffffffffu));
	tmem_free(&two);
}
END_TEST

START_TEST(stats_records_parsed_unknown_tags_counted)
{
	uint8_t buf[45];
	struct balloon_stats st;

	memset(&st, 0, sizeof(st));
	st_le16(buf, 4);
	st_le64(buf + 2, 123456789);
	st_le16(buf + 10, 99);               /* unknown */
	st_le64(buf + 12, 1);
	st_le16(buf + 20, 15);
	st_le64(buf + 22, UINT64_MAX);
	st_le16(buf + 30, 0);
	st_le64(buf + 32, 0);
	/* 5 trailing bytes: not a record */
	ck_assert_int_eq(balloon_parse_stats(buf, sizeof(buf), &st), 1);
	ck_assert_uint_eq(st.present, (1u << 4) | (1u << 15) | 1u);
	ck_assert_uint_eq(st.val[4], 123456789);
	ck_assert(st.val[15] == UINT64_MAX);
	ck_assert_uint_eq(st.val[0], 0);
}
END_TEST

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_write(TR, off, (uint8_t *)&v, 4);
}

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_read(TR, off, (uint8_t *)&v, 4);
	return v;
}

static void queue(unsigned q, uint64_t desc, uint64_t avail, uint64_t used)
{
	wr(VMMIO_QUEUE_SEL, q);
	wr(VMMIO_QUEUE_NUM, QSZ);
	wr(VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(VMMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(VMMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(VMMIO_QUEUE_READY, 1);
}

static void make(uint32_t mib, uint16_t stats_s)
{
	struct balloon_config c = { .set = true, .amount_mib = mib, .deflate_on_oom = true,
				    .stats_polling_interval_s = stats_s };
	char err[256];

	ck_assert_int_eq(virtio_balloon_create(&c, &M.mem, NULL, &B, err, sizeof(err)), 0);
	TR = virtio_balloon_transport(B);
}

static void activate(void)
{
	uint64_t f = (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
		      VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM)) & TR->device_features;

	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)f);
	wr(VMMIO_DRIVER_FEATURES_SEL, 1);
	wr(VMMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	queue(0, T_DESC, T_AVAIL, T_USED);
	queue(1, DEFQ_DESC, DEFQ_AVAIL, DEFQ_USED);
	if (TR->ops->nr_queues > 2)
		queue(2, STQ_DESC, STQ_AVAIL, STQ_USED);
	wr(VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
	   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	ck_assert(virtio_mmio_driver_ok(TR));
}

static void setup(void)
{
	tmem_init(&M, false);
	B = NULL;
}

static void teardown(void)
{
	if (B) {
		virtio_device_destroy(TR);
		B = NULL;
	}
	tmem_free(&M);
}

START_TEST(device_shape_and_config_space)
{
	uint8_t b1;

	make(1, 5);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	wr(VMMIO_DEVICE_FEATURES_SEL, 0);
	ck_assert_uint_eq(rd(VMMIO_DEVICE_FEATURES) & 0x3f,
			  (1u << VIRTIO_BALLOON_F_STATS_VQ) | (1u << VIRTIO_BALLOON_F_DEFLATE_ON_OOM));
	ck_assert_uint_eq(TR->ops->nr_queues, 3);
	wr(VMMIO_QUEUE_SEL, 3);
	ck_assert_uint_eq(rd(VMMIO_QUEUE_NUM_MAX), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG), 256);   /* num_pages: 1 MiB */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 0);
	activate();
	wr(VIRTIO_MMIO_CONFIG + 4, 77);                   /* actual: the driver's */
	wr(VIRTIO_MMIO_CONFIG, 5);                        /* num_pages: not */
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 77);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG), 256);
	b1 = 9;
	virtio_mmio_write(TR, VIRTIO_MMIO_CONFIG + 5, &b1, 1);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG + 4), 77 | (9u << 8));
}
END_TEST

START_TEST(inflate_refuses_hostile_pfns_and_frees_valid_pages)
{
	uint32_t pfns[] = { 0x80, 0xc0000, 0xffffffffu, 0x81, 0x100, 0x80 };
	struct virtio_balloon_counters c;

	make(0, 0);
	activate();
	memset(gp(&M, 0x80000), 0xab, 2 * 4096);
	memset(gp(&M, 0x82000), 0xcd, 4096);
	for (unsigned i = 0; i < 6; i++)
		put32(&M, PFN_BUF + 4 * i, pfns[i]);
	set_desc(&M, 0, PFN_BUF, sizeof(pfns), 0, 0);
	avail_add(&M, QSZ, 0);
	wr(VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used_idx(&M), 1);
	ck_assert_uint_eq(used_len(&M, 0, QSZ), 0);
	virtio_balloon_get_counters(B, &c);
	ck_assert_uint_eq(c.invalid_pfns, 3);     /* the gap, 0xffffffff, 1 MiB */
	ck_assert_uint_eq(c.inflated_pages, 2);   /* 0x80 (twice) and 0x81: one run */
	ck_assert_uint_eq(c.discard_fails, 0);
	/* Given back: reads as zero; the neighbour is untouched. */
	for (unsigned i = 0; i < 2 * 4096; i++)
		ck_assert_uint_eq(gp(&M, 0x80000)[i], 0);
	ck_assert_uint_eq(gp(&M, 0x82000)[0], 0xcd);

	/* A writable or misaligned buffer is skipped and counted. */
	set_desc(&M, 1, PFN_BUF, 6, 0, 0);
	avail_add(&M, QSZ, 1);
	set_desc(&M, 2, PFN_BUF, 8, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, QSZ, 2);
	wr(VMMIO_QUEUE_NOTIFY, 0);
	ck_assert_uint_eq(used_idx(&M), 3);
	virtio_balloon_get_counters(B, &c);
	ck_assert_uint_eq(c.event_fails, 2);
	ck_assert_uint_eq(c.inflated_pages, 2);
	ck_assert(virtio_mmio_driver_ok(TR));

	/* Deflate answers and counts. */
	put32(&M, PFN_BUF, 0x80);
	set_desc_at(&M, DEFQ_DESC, 0, PFN_BUF, 4, 0, 0);
	put16(&M, DEFQ_AVAIL + 4, 0);
	put16(&M, DEFQ_AVAIL + 2, 1);
	wr(VMMIO_QUEUE_NOTIFY, 1);
	ck_assert_uint_eq(get16(&M, DEFQ_USED + 2), 1);
	virtio_balloon_get_counters(B, &c);
	ck_assert_uint_eq(c.deflated_pages, 1);
}
END_TEST

START_TEST(stats_buffer_is_held_and_reported)
{
	struct balloon_stats st;
	char err[128];

	make(0, 1);
	activate();
	st_le16(gp(&M, PFN_BUF), 4);
	st_le64(gp(&M, PFN_BUF + 2), 4096);
	st_le16(gp(&M, PFN_BUF + 10), 5);
	st_le64(gp(&M, PFN_BUF + 12), 8192);
	set_desc_at(&M, STQ_DESC, 0, PFN_BUF, 20, 0, 0);
	put16(&M, STQ_AVAIL + 4, 0);
	put16(&M, STQ_AVAIL + 2, 1);
	wr(VMMIO_QUEUE_NOTIFY, 2);
	ck_assert_uint_eq(get16(&M, STQ_USED + 2), 0);    /* held */
	ck_assert_int_eq(virtio_balloon_get_stats(B, &st), 0);
	ck_assert_uint_eq(st.present, (1u << 4) | (1u << 5));
	ck_assert_uint_eq(st.val[4], 4096);
	ck_assert_uint_eq(st.val[5], 8192);
	/* A new interval hands the buffer back at once. */
	ck_assert_int_eq(virtio_balloon_set_stats_interval(B, 3, err, sizeof(err)), 0);
	ck_assert_uint_eq(get16(&M, STQ_USED + 2), 1);
	ck_assert_int_eq(virtio_balloon_set_stats_interval(B, 0, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Statistics cannot be enabled/disabled after activation.");
}
END_TEST

START_TEST(api_operations_refuse_with_firecracker_texts)
{
	struct balloon_stats st;
	struct balloon_config bc;
	uint32_t h, g;
	bool hg;
	char err[128];

	make(0, 0);
	ck_assert_int_eq(virtio_balloon_set_target(B, 1, err, sizeof(err)), -ENODEV);
	ck_assert_str_eq(err, "Device not activated yet.");
	activate();
	ck_assert_int_eq(virtio_balloon_set_target(B, 2, err, sizeof(err)), -EINVAL);
	ck_assert_str_eq(err, "Requested memory should be less than 2MiB");
	ck_assert_int_eq(virtio_balloon_set_target(B, 1, err, sizeof(err)), 0);
	ck_assert_uint_eq(rd(VIRTIO_MMIO_CONFIG), 256);
	ck_assert_uint_ne(rd(VMMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG, 0);
	virtio_balloon_get_config(B, &bc);
	ck_assert_uint_eq(bc.amount_mib, 1);
	ck_assert(bc.deflate_on_oom);
	ck_assert_int_eq(virtio_balloon_get_stats(B, &st), -ENOTSUP);
	ck_assert_int_eq(virtio_balloon_set_stats_interval(B, 1, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(virtio_balloon_hint_start(B, true, err, sizeof(err)), -ENOTSUP);
	ck_assert_str_eq(err, "Attempting to use hinting when not enabled");
	ck_assert_int_eq(virtio_balloon_hint_status(B, &h, &hg, &g, err, sizeof(err)), -ENOTSUP);
	ck_assert_int_eq(virtio_balloon_hint_stop(B, err, sizeof(err)), -ENOTSUP);
}
END_TEST

START_TEST(create_refuses_a_target_larger_than_ram)
{
	struct balloon_config c = { .set = true, .amount_mib = 2 };
	char err[128];

	ck_assert_int_eq(virtio_balloon_create(&c, &M.mem, NULL, &B, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "Amount of pages requested is too large."));
	B = NULL;
}
END_TEST

START_TEST(saved_state_round_trip_and_refusals)
{
	const struct device_ops *ops = &virtio_device_ops_balloon;
	struct virtio_balloon *b2;
	struct virtio_mmio *t2;
	struct balloon_config c = { .set = true, .amount_mib = 0, .stats_polling_interval_s = 1,
				    .deflate_on_oom = true };
	char err[256];
	size_t len;
	uint8_t *buf, *bad;

	make(0, 1);
	activate();
	ck_assert_int_eq(virtio_balloon_set_target(B, 1, err, sizeof(err)), 0);
	wr(VIRTIO_MMIO_CONFIG + 4, 100);
	len = ops->state_size(TR);
	buf = malloc(len);
	bad = malloc(len);
	ck_assert_int_eq(ops->save(TR, buf, len), 0);

	ck_assert_int_eq(virtio_balloon_create(&c, &M.mem, NULL, &b2, err, sizeof(err)), 0);
	t2 = virtio_balloon_transport(b2);
	/* The target saved at its very end (the device's own state's first
	 * field sits right after the transport's): larger than RAM. */
	memcpy(bad, buf, len);
	st_le32(bad + sizeof(struct virtio_mmio_saved), 1000);
	ck_assert_int_eq(ops->restore(t2, bad, len, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "more than guest RAM"));
	ck_assert(!virtio_mmio_driver_ok(t2));
	ck_assert_int_eq(ops->restore(t2, buf, len - 1, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(ops->restore(t2, buf, len, err, sizeof(err)), 0);
	ck_assert(virtio_mmio_driver_ok(t2));
	{
		uint32_t v = 0;

		virtio_mmio_read(t2, VIRTIO_MMIO_CONFIG, (uint8_t *)&v, 4);
		ck_assert_uint_eq(v, 256);
		virtio_mmio_read(t2, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&v, 4);
		ck_assert_uint_eq(v, 100);
	}
	virtio_device_destroy(t2);

	/* A device configured without statistics refuses that state. */
	c.stats_polling_interval_s = 0;
	ck_assert_int_eq(virtio_balloon_create(&c, &M.mem, NULL, &b2, err, sizeof(err)), 0);
	t2 = virtio_balloon_transport(b2);
	ck_assert_int_eq(ops->restore(t2, buf, len, err, sizeof(err)), -EINVAL);
	virtio_device_destroy(t2);
	free(buf);
	free(bad);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("balloon");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, compact_sorts_merges_and_drops_duplicates);
	tcase_add_test(tc, pfn_valid_only_inside_guest_ram);
	tcase_add_test(tc, stats_records_parsed_unknown_tags_counted);
	tcase_add_test(tc, device_shape_and_config_space);
	tcase_add_test(tc, inflate_refuses_hostile_pfns_and_frees_valid_pages);
	tcase_add_test(tc, stats_buffer_is_held_and_reported);
	tcase_add_test(tc, api_operations_refuse_with_firecracker_texts);
	tcase_add_test(tc, create_refuses_a_target_larger_than_ram);
	tcase_add_test(tc, saved_state_round_trip_and_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
