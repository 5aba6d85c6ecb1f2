/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests: split virtqueue walking over a fake guest RAM (virtio/queue.c). */
#include <check.h>
#include <stdint.h>

#include "../check_main.h"
#include "test_virtio_util.h"

static struct tmem M;
static struct virtq Q;
static struct virtq_chain C;

static void setup(void)
{
	tmem_init(&M, true);
	tq_init(&Q, &M, 8, true, false);
}

static void teardown(void)
{
	tmem_free(&M);
}

START_TEST(simple_chain_and_used_ring)
{
	set_desc(&M, 0, T_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_DATA + 0x100, 100, VIRTQ_DESC_F_WRITE, 0);
	ck_assert(Q.ready);
	ck_assert_int_eq(virtq_avail_count(&Q), 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_avail_count(&Q), 1);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_int_eq(C.head, 0);
	ck_assert_uint_eq(C.nr, 2);
	ck_assert_uint_eq(C.nr_readable, 1);
	ck_assert_uint_eq(C.readable_len, 16);
	ck_assert_uint_eq(C.writable_len, 100);
	ck_assert_ptr_eq(C.segs[0].hva, gp(&M, T_DATA));
	ck_assert(C.segs[1].writable);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 0);
	virtq_push(&Q, 0, 42);
	ck_assert_int_eq(used_idx(&M), 1);
	ck_assert_uint_eq(used_id(&M, 0, 8), 0);
	ck_assert_uint_eq(used_len(&M, 0, 8), 42);
}
END_TEST

START_TEST(ring_wraps_around_16_bits)
{
	set_desc(&M, 3, T_DATA, 8, 0, 0);
	Q.last_avail_idx = 0xfffe;
	Q.next_used_idx = 0xfffe;
	put16(&M, T_AVAIL + 2, 0xfffe);
	for (int i = 0; i < 4; i++) {
		avail_add(&M, 8, 3);
		ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
		ck_assert_int_eq(C.head, 3);
		virtq_push(&Q, 3, 8);
	}
	ck_assert_int_eq(used_idx(&M), 2);
	ck_assert_int_eq(Q.last_avail_idx, 2);
}
END_TEST

START_TEST(descriptor_loop)
{
	set_desc(&M, 0, T_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_int_eq(C.head, 0);
	ck_assert_uint_eq(C.nr, 0);
	ck_assert_uint_eq(Q.stats.loops, 1);
	/* The request fails; the queue carries on. */
	virtq_push(&Q, C.head, 0);
	ck_assert_int_eq(used_idx(&M), 1);
	set_desc(&M, 2, T_DATA, 16, 0, 0);
	avail_add(&M, 8, 2);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert(!Q.broken);
}
END_TEST

START_TEST(self_loop_and_chain_longer_than_queue)
{
	/* Every descriptor chained: 8 entries then back to 0 — 9 steps. */
	for (uint16_t i = 0; i < 8; i++)
		set_desc(&M, i, T_DATA, 4, VIRTQ_DESC_F_NEXT, (uint16_t)((i + 1) % 8));
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.loops, 1);
	set_desc(&M, 5, T_DATA, 4, VIRTQ_DESC_F_NEXT, 5);
	avail_add(&M, 8, 5);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.loops, 2);
}
END_TEST

START_TEST(next_out_of_table)
{
	set_desc(&M, 0, T_DATA, 4, VIRTQ_DESC_F_NEXT, 8);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_desc, 1);
}
END_TEST

START_TEST(out_of_ram_addresses)
{
	static const struct { uint64_t addr; uint32_t len; } bad[] = {
		{ T_RAM_SIZE - 8, 16 },                 /* crosses the end of RAM */
		{ T_RAM_SIZE, 1 },                      /* just past RAM */
		{ 0xC0000000ULL, 4 },                   /* MMIO gap */
		{ UINT64_MAX - 7, 16 },                 /* wraps at 2^64 */
		{ UINT64_MAX, 0xffffffffu },            /* wraps at 2^64 */
		{ 0, 0xffffffffu },                     /* length beyond RAM */
		{ T_HIGH_GPA - 4, 8 },                  /* straddles a gap into region 2 */
		{ T_HIGH_GPA + T_HIGH_SIZE - 1, 2 },    /* past the end of region 2 */
	};

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_desc(&M, 0, bad[i].addr, bad[i].len, 0, 0);
		avail_add(&M, 8, 0);
		ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
		ck_assert_uint_eq(Q.stats.out_of_ram, i + 1);
		virtq_push(&Q, C.head, 0);
	}
	/* Inside region 2 is fine. */
	set_desc(&M, 0, T_HIGH_GPA + 16, 64, 0, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_ptr_eq(C.segs[0].hva, M.mem.regions[1].hva + 16);
}
END_TEST

START_TEST(indirect_table)
{
	uint64_t tbl = T_DATA + 0x1000;

	set_desc_at(&M, tbl, 0, T_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(&M, tbl, 1, T_DATA + 0x100, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc_at(&M, tbl, 2, T_DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(&M, 4, tbl, 48, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 4);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_int_eq(C.head, 4);
	ck_assert_uint_eq(C.nr, 3);
	ck_assert_uint_eq(C.readable_len, 16);
	ck_assert_uint_eq(C.writable_len, 513);

	/* Direct descriptors followed by an indirect one are allowed too. */
	set_desc(&M, 5, T_DATA, 16, VIRTQ_DESC_F_NEXT, 4);
	avail_add(&M, 8, 5);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_uint_eq(C.nr, 4);
}
END_TEST

START_TEST(nested_indirect)
{
	uint64_t t1 = T_DATA + 0x1000, t2 = T_DATA + 0x2000;

	set_desc_at(&M, t2, 0, T_DATA, 16, 0, 0);
	set_desc_at(&M, t1, 0, t2, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(&M, 0, t1, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.nested_indirect, 1);
}
END_TEST

START_TEST(indirect_bad_tables)
{
	uint64_t tbl = T_DATA + 0x1000;

	set_desc_at(&M, tbl, 0, T_DATA, 16, 0, 0);
	/* length not a multiple of 16 */
	set_desc(&M, 0, tbl, 17, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_indirect, 1);
	/* zero length */
	set_desc(&M, 0, tbl, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_indirect, 2);
	/* table out of RAM, and wrapping */
	set_desc(&M, 0, T_RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	set_desc(&M, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.out_of_ram, 2);
	/* INDIRECT together with NEXT */
	set_desc(&M, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_desc, 1);
	/* loop inside the indirect table */
	set_desc_at(&M, tbl, 0, T_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc_at(&M, tbl, 1, T_DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	set_desc(&M, 0, tbl, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.loops, 1);
	/* next beyond the indirect table */
	set_desc_at(&M, tbl, 1, T_DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_desc, 2);
	/* indirect not negotiated */
	Q.indirect = false;
	set_desc_at(&M, tbl, 0, T_DATA, 16, 0, 0);
	set_desc(&M, 0, tbl, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_indirect, 3);
	ck_assert(!Q.broken);
}
END_TEST

START_TEST(readable_after_writable)
{
	set_desc(&M, 0, T_DATA, 16, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_DATA + 16, 16, 0, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.bad_order, 1);
}
END_TEST

START_TEST(write_into_read_only_chain)
{
	uint8_t buf[24], src[4] = { 1, 2, 3, 4 };

	memset(gp(&M, T_DATA), 0xAA, 16);
	memset(gp(&M, T_DATA + 0x100), 0xBB, 16);
	set_desc(&M, 0, T_DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, T_DATA + 0x100, 16, 0, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_int_eq(virtq_chain_write(&C, 0, src, 1), -EFAULT);
	ck_assert_int_eq(gp(&M, T_DATA)[0], 0xAA);
	/* reads span segments and are bounded */
	ck_assert_int_eq(virtq_chain_read(&C, 8, buf, 24), 0);
	ck_assert_int_eq(buf[7], 0xAA);
	ck_assert_int_eq(buf[8], 0xBB);
	ck_assert_int_eq(virtq_chain_read(&C, 8, buf, 25), -EFAULT);
	ck_assert_int_eq(virtq_chain_read(&C, UINT64_MAX, buf, 2), -EFAULT);

	/* a writable tail takes writes, bounded too */
	set_desc(&M, 1, T_DATA + 0x100, 2, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
	set_desc(&M, 2, T_DATA + 0x200, 2, VIRTQ_DESC_F_WRITE, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_int_eq(virtq_chain_write(&C, 0, src, 4), 0);
	ck_assert_int_eq(gp(&M, T_DATA + 0x100)[1], 2);
	ck_assert_int_eq(gp(&M, T_DATA + 0x200)[1], 4);
	ck_assert_int_eq(virtq_chain_write(&C, 1, src, 4), -EFAULT);
}
END_TEST

START_TEST(too_many_segments)
{
	uint64_t tbl = T_DATA + 0x2000;
	uint16_t n = Q.size;

	/* 1 direct buffer + an indirect table of `size` buffers: one segment
	 * more than the queue has descriptors. */
	for (uint16_t i = 0; i < n + 1; i++)
		set_desc_at(&M, tbl, i, T_DATA, 4, i < n - 1 ? VIRTQ_DESC_F_NEXT : 0,
			    (uint16_t)(i + 1));
	set_desc(&M, 0, T_DATA, 4, VIRTQ_DESC_F_NEXT, 1);
	set_desc(&M, 1, tbl, (uint32_t)n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.oversized, 1);
	/* an indirect table with more entries than the queue size: a chain
	 * longer than the queue, even though the table itself is in RAM */
	set_desc(&M, 0, tbl, (uint32_t)(n + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EINVAL);
	ck_assert_uint_eq(Q.stats.oversized, 2);
	ck_assert_uint_eq(Q.stats.bad_indirect, 0);
	/* exactly `size` entries is fine */
	set_desc(&M, 0, tbl, (uint32_t)n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert_uint_eq(C.nr, n);
}
END_TEST

START_TEST(total_length_bound)
{
	/* 3 descriptors of 2 GiB each over one big (lazily allocated) region */
	struct guest_mem big = { .nr_regions = 1 };
	uint64_t size = 3ULL << 31;
	uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct virtq q;
	char err[128];

	ck_assert_ptr_ne(ram, MAP_FAILED);
	big.regions[0] = (struct guest_region){ .gpa = 0, .size = size, .hva = ram };
	memset(&q, 0, sizeof(q));
	q.max_size = 8;
	virtq_reset(&q);
	q.desc_addr = T_DESC;
	q.avail_addr = T_AVAIL;
	q.used_addr = T_USED;
	ck_assert_int_eq(virtq_check(&q, &big, err, sizeof(err)), 0);
	q.ready = true;
	for (int i = 0; i < 3; i++) {
		uint8_t *p = ram + T_DESC + 16 * i;
		uint64_t a = 0;
		uint32_t l = 0x80000000u;
		uint16_t f = i < 2 ? VIRTQ_DESC_F_NEXT : 0, n = (uint16_t)(i + 1);

		memcpy(p, &a, 8);
		memcpy(p + 8, &l, 4);
		memcpy(p + 12, &f, 2);
		memcpy(p + 14, &n, 2);
	}
	uint16_t one = 1;
	memcpy(ram + T_AVAIL + 2, &one, 2);
	ck_assert_int_eq(virtq_pop(&q, &big, &C), -EINVAL);
	ck_assert_uint_eq(q.stats.oversized, 1);
	munmap(ram, size);
}
END_TEST

START_TEST(corrupt_avail_ring_is_fatal)
{
	put16(&M, T_AVAIL + 2, 9);  /* 9 entries pending in a ring of 8 */
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EIO);
	ck_assert(Q.broken);
	ck_assert_uint_eq(Q.stats.bad_avail, 1);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 0);
	virtq_reset(&Q);
	tq_init(&Q, &M, 8, true, false);
	put16(&M, T_AVAIL + 2, 0);
	avail_add(&M, 8, 8);        /* head out of range */
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), -EIO);
	ck_assert(Q.broken);
}
END_TEST

START_TEST(check_rejects_bad_rings)
{
	struct virtq q;
	char err[160];

	memset(&q, 0, sizeof(q));
	q.max_size = 256;
	virtq_reset(&q);
	q.desc_addr = T_DESC;
	q.avail_addr = T_AVAIL;
	q.used_addr = T_USED;

	q.size = 0;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "power of two"));
	q.size = 12;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "queue size 12"));
	q.size = 512;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	q.size = 256;
	q.desc_addr = T_DESC + 8;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "misaligned"));
	q.desc_addr = T_RAM_SIZE - 16 * 128;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "descriptor table"));
	q.desc_addr = T_DESC;
	q.avail_addr = UINT64_MAX - 1;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "driver (avail) ring"));
	q.avail_addr = T_AVAIL;
	q.used_addr = T_RAM_SIZE - 8;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "device (used) ring"));
	ck_assert_uint_eq(q.stats.bad_rings, 7);
	q.used_addr = T_USED;
	ck_assert_int_eq(virtq_check(&q, &M.mem, err, sizeof(err)), 0);
}
END_TEST

START_TEST(event_idx_math)
{
	ck_assert(virtq_need_event(0, 1, 0));
	ck_assert(!virtq_need_event(1, 1, 0));
	ck_assert(virtq_need_event(4, 8, 2));
	ck_assert(!virtq_need_event(8, 8, 2));
	ck_assert(!virtq_need_event(1, 8, 2));
	/* across the 16-bit wrap */
	ck_assert(virtq_need_event(0xffff, 1, 0xfffe));
	ck_assert(virtq_need_event(0, 2, 0xffff));
	ck_assert(!virtq_need_event(0xfffd, 1, 0xfffe));
}
END_TEST

START_TEST(event_idx_signalling)
{
	uint64_t used_event = T_AVAIL + 4 + 2 * 8, avail_event = T_USED + 4 + 8 * 8;

	tq_init(&Q, &M, 8, true, true);
	set_desc(&M, 0, T_DATA, 4, 0, 0);
	put16(&M, used_event, 0);
	/* first push always signals, then used_event 0 is behind */
	virtq_push(&Q, 0, 0);
	ck_assert(virtq_should_signal(&Q));
	virtq_push(&Q, 0, 0);
	ck_assert(!virtq_should_signal(&Q));
	/* nothing new: no signal */
	ck_assert(!virtq_should_signal(&Q));
	/* driver wants an interrupt once used idx passes 2 */
	put16(&M, used_event, 2);
	virtq_push(&Q, 0, 0);
	ck_assert(virtq_should_signal(&Q));
	/* several pushes at once that cross used_event */
	put16(&M, used_event, 4);
	virtq_push(&Q, 0, 0);
	virtq_push(&Q, 0, 0);
	virtq_push(&Q, 0, 0);
	ck_assert(virtq_should_signal(&Q));

	/* avail_event follows last_avail_idx */
	avail_add(&M, 8, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert(virtq_enable_notify(&Q));     /* one still pending */
	ck_assert_int_eq(get16(&M, avail_event), 1);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 1);
	ck_assert(!virtq_enable_notify(&Q));
	ck_assert_int_eq(get16(&M, avail_event), 2);
	virtq_unpop(&Q, 1);
	ck_assert_int_eq(virtq_avail_count(&Q), 1);
}
END_TEST

START_TEST(no_interrupt_flag)
{
	virtq_push(&Q, 0, 0);
	put16(&M, T_AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	ck_assert(!virtq_should_signal(&Q));
	put16(&M, T_AVAIL, 0);
	virtq_push(&Q, 0, 0);
	ck_assert(virtq_should_signal(&Q));
}
END_TEST

START_TEST(not_ready_queue_is_inert)
{
	Q.ready = false;
	set_desc(&M, 0, T_DATA, 4, 0, 0);
	avail_add(&M, 8, 0);
	ck_assert_int_eq(virtq_pop(&Q, &M.mem, &C), 0);
	virtq_push(&Q, 0, 0);
	ck_assert_int_eq(used_idx(&M), 0);
	ck_assert(!virtq_should_signal(&Q));
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("virtio_queue");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, simple_chain_and_used_ring);
	tcase_add_test(tc, ring_wraps_around_16_bits);
	tcase_add_test(tc, descriptor_loop);
	tcase_add_test(tc, self_loop_and_chain_longer_than_queue);
	tcase_add_test(tc, next_out_of_table);
	tcase_add_test(tc, out_of_ram_addresses);
	tcase_add_test(tc, indirect_table);
	tcase_add_test(tc, nested_indirect);
	tcase_add_test(tc, indirect_bad_tables);
	tcase_add_test(tc, readable_after_writable);
	tcase_add_test(tc, write_into_read_only_chain);
	tcase_add_test(tc, too_many_segments);
	tcase_add_test(tc, total_length_bound);
	tcase_add_test(tc, corrupt_avail_ring_is_fatal);
	tcase_add_test(tc, check_rejects_bad_rings);
	tcase_add_test(tc, event_idx_math);
	tcase_add_test(tc, event_idx_signalling);
	tcase_add_test(tc, no_interrupt_flag);
	tcase_add_test(tc, not_ready_queue_is_inert);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run_suite(suite());
}
