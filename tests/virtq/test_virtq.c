/* SPDX-License-Identifier: MIT */
/* Split virtqueue engine against a fake driver: chains, indirect tables,
 * memory regions, notification math and every corrupt ring we know of. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fakedrv.h"
#include "util/iov.h"
#include "virtq/virtq.h"

#define F_NEXT VIRTQ_DESC_F_NEXT
#define F_WRITE VIRTQ_DESC_F_WRITE
#define F_INDIRECT VIRTQ_DESC_F_INDIRECT

struct fx {
	struct fakedrv d;
	struct fakedrv_ring r;
	struct virtq vq;
	struct virtq_elem elem;
	uint64_t buf;   /* a 64 KiB scratch area in region 0 */
};

static struct fx *fx_new(unsigned int num, bool event_idx, bool indirect)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fakedrv_init(&f->d, NULL), 0);
	assert_int_equal(fakedrv_ring_init(&f->r, &f->d, num, event_idx), 0);
	assert_int_equal(fakedrv_ring_virtq(&f->r, &f->vq, indirect), 0);
	f->buf = fakedrv_alloc_in(&f->d, 0, 64 << 10, 16);
	assert_true(f->buf != 0);
	return f;
}

static void fx_free(struct fx *f)
{
	fakedrv_ring_fini(&f->r);
	fakedrv_fini(&f->d);
	free(f);
}

static void assert_iov(const struct fx *f, unsigned int i, uint64_t gpa, size_t len)
{
	assert_ptr_equal(f->elem.iov[i].iov_base, fakedrv_host(&f->d, gpa, len));
	assert_int_equal(f->elem.iov[i].iov_len, len);
}

static void assert_used(const struct fx *f, uint16_t idx, uint32_t id, uint32_t len)
{
	uint32_t got_id, got_len;

	vring_used_entry(&f->r.ring, idx, &got_id, &got_len);
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

/* The ring is broken: every entry point refuses to do anything more. */
static void assert_broken(struct fx *f)
{
	uint16_t used = vring_used_idx(&f->r.ring);

	assert_true(f->vq.broken);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EIO);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 0);
	vsnd__virtq_push(&f->vq, 0, 1);
	assert_int_equal(vring_used_idx(&f->r.ring), used);
	assert_false(vsnd__virtq_should_notify(&f->vq));
	assert_false(vsnd__virtq_set_notification(&f->vq, true));
}

static void expect_corrupt(struct fx *f)
{
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EIO);
	assert_broken(f);
	fx_free(f);
}

/* ---- setup ------------------------------------------------------------ */

static void test_init_rejects_bad_rings(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct virtq vq;
	uint8_t *d = f->r.ring.desc, *a = f->r.ring.avail, *u = f->r.ring.used;
	uint8_t *big = aligned_alloc(16, 1 << 20);

	assert_non_null(big);
	assert_int_equal(vsnd__virtq_init(&vq, 0, d, a, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 3, d, a, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 65536, d, a, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 8, NULL, a, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 8, d, a, u, NULL, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 8, d + 8, a, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 8, d, a + 1, u, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__virtq_init(&vq, 8, d, a, u + 2, &f->d.mem, false, false, 0), -EINVAL);
	/* The largest ring, its parts back to back. */
	assert_int_equal(vsnd__virtq_init(&vq, 32768, big, big + 0x80000, big + 0x90008, &f->d.mem, true,
				    false, 0),
			 0);
	vsnd__virtq_fini(&vq);
	assert_int_equal(vq.num, 0);
	assert_int_equal(vsnd__virtq_pop(&vq, &f->elem), -EAGAIN);
	free(big);
	fx_free(f);
}

/*
 * 2.7: the descriptor table, avail ring and used ring are distinct areas.
 * Rings of 8 laid out at byte offsets in one block: desc 128 bytes, avail
 * 20, used 68, 2 more each with EVENT_IDX. Every pair that shares a byte is
 * refused before anything is written; parts that only touch start.
 */
static const struct {
	size_t d, a, u;
	int rc[2];          /* without, with EVENT_IDX */
} layouts[] = {
	/* touching, each part after the last */
	{ 0, 128, 152, { 0, 0 } },
	{ 0, 200, 128, { 0, 0 } },
	/* touching without EVENT_IDX; with it, used_event or avail_event is
	 * the byte pair in common */
	{ 0, 128, 148, { 0, -EADDRINUSE } },
	{ 0, 196, 128, { 0, -EADDRINUSE } },
	{ 256, 0, 188, { 0, -EADDRINUSE } },
	{ 256, 236, 0, { 0, -EADDRINUSE } },
	/* desc and avail */
	{ 0, 126, 1024, { -EADDRINUSE, -EADDRINUSE } },
	{ 256, 254, 1024, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 64, 1024, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 0, 1024, { -EADDRINUSE, -EADDRINUSE } },
	/* desc and used */
	{ 0, 1024, 124, { -EADDRINUSE, -EADDRINUSE } },
	{ 256, 1024, 252, { -EADDRINUSE, -EADDRINUSE } },
	{ 32, 1024, 0, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 1024, 0, { -EADDRINUSE, -EADDRINUSE } },
	/* avail and used */
	{ 0, 1024, 1040, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 1090, 1024, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 1030, 1024, { -EADDRINUSE, -EADDRINUSE } },
	{ 0, 1024, 1024, { -EADDRINUSE, -EADDRINUSE } },
	/* all three */
	{ 0, 0, 0, { -EADDRINUSE, -EADDRINUSE } },
};

static void test_init_rejects_overlapping_parts(void **state)
{
	struct fx *f = fx_new(8, false, false);
	uint8_t *m = aligned_alloc(16, 4096), *copy = malloc(4096);
	struct virtq vq;

	assert_non_null(m);
	assert_non_null(copy);
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		for (int ev = 0; ev < 2; ev++) {
			int rc;

			memset(m, 0xa5, 4096);
			memcpy(copy, m, 4096);
			memset(&vq, 0x5a, sizeof(vq));
			rc = vsnd__virtq_init(&vq, 8, m + layouts[i].d, m + layouts[i].a, m + layouts[i].u,
					&f->d.mem, ev, false, 0);
			if (rc != layouts[i].rc[ev])
				fail_msg("layout %zu, event_idx %d: %d", i, ev, rc);
			if (rc == 0) {
				assert_int_equal(vq.num, 8);
				vsnd__virtq_fini(&vq);
				continue;
			}
			/* Refused: neither the guest's memory nor the queue changed. */
			assert_memory_equal(m, copy, 4096);
			assert_int_equal(vq.num, 0x5a5a5a5a);
		}
	}
	free(copy);
	free(m);
	fx_free(f);
}

static void test_init_resumes_indices(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg s = { f->buf, 4, false };

	/* A ring stopped after 5 chains: the device resumes at 5, used idx 5. */
	fakedrv_ring_set_indices(&f->r, 5, 5);
	assert_int_equal(fakedrv_ring_virtq(&f->r, &f->vq, false), 0);
	assert_int_equal(f->vq.used_idx, 5);
	assert_int_equal(f->vq.last_avail, 5);
	assert_int_equal(fakedrv_ring_add(&f->r, &s, 1, false), 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 1);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	vsnd__virtq_push(&f->vq, f->elem.head, 0);
	assert_int_equal(vring_used_idx(&f->r.ring), 6);
	assert_used(f, 5, 0, 0);
	fx_free(f);
}

/* ---- valid chains ----------------------------------------------------- */

static void test_direct_chain(void **state)
{
	struct fx *f = fx_new(8, false, false);
	uint64_t a = f->buf, b = f->buf + 100, c = f->buf + 200;
	struct vring_seg segs[] = { { a, 3, false }, { b, 5, false }, { c, 16, true } };
	uint8_t req[8];
	int head;

	fakedrv_write(&f->d, a, "abc", 3);
	fakedrv_write(&f->d, b, "defgh", 5);
	head = fakedrv_ring_add(&f->r, segs, 3, false);
	assert_int_equal(head, 0);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 0); /* not published yet */
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 1);

	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.head, head);
	assert_int_equal(f->elem.n_rd, 2);
	assert_int_equal(f->elem.n_wr, 1);
	assert_int_equal(f->elem.rd_len, 8);
	assert_int_equal(f->elem.wr_len, 16);
	assert_iov(f, 0, a, 3);
	assert_iov(f, 1, b, 5);
	assert_iov(f, 2, c, 16);
	assert_int_equal(vsnd__iov_to_buf(f->elem.iov, f->elem.n_rd, 0, req, sizeof(req)), 8);
	assert_memory_equal(req, "abcdefgh", 8);
	assert_int_equal(f->vq.last_avail, 1);
	assert_int_equal(f->vq.inflight, 1);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EAGAIN);

	vsnd__iov_from_buf(f->elem.iov + 2, 1, 0, "OK", 2);
	vsnd__virtq_push(&f->vq, (uint16_t)head, 2);
	assert_int_equal(f->vq.inflight, 0);
	assert_int_equal(vring_used_idx(&f->r.ring), 1);
	assert_used(f, 0, (uint32_t)head, 2);
	fakedrv_read(&f->d, c, req, 2);
	assert_memory_equal(req, "OK", 2);
	fx_free(f);
}

/* Several chains come out in avail order; the used ring wraps around. */
static void test_order_and_used_wrap(void **state)
{
	struct fx *f = fx_new(4, false, false);

	for (unsigned int round = 0; round < 5; round++) {
		int heads[3];

		for (unsigned int i = 0; i < 3; i++) {
			struct vring_seg s = { f->buf + 64 * i, 8 + i, i == 2 };

			heads[i] = fakedrv_ring_add(&f->r, &s, 1, false);
			assert_true(heads[i] >= 0);
		}
		vring_flush(&f->r.ring);
		assert_int_equal(vsnd__virtq_avail_count(&f->vq), 3);
		for (unsigned int i = 0; i < 3; i++) {
			assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
			assert_int_equal(f->elem.head, heads[i]);
			assert_int_equal(f->elem.n_rd + f->elem.n_wr, 1);
			assert_int_equal(i == 2 ? f->elem.wr_len : f->elem.rd_len, 8 + i);
		}
		/* Complete them out of order. */
		vsnd__virtq_push(&f->vq, (uint16_t)heads[2], 7);
		vsnd__virtq_push(&f->vq, (uint16_t)heads[0], 0);
		vsnd__virtq_push(&f->vq, (uint16_t)heads[1], 0);
		for (unsigned int i = 0; i < 3; i++) {
			uint32_t id, len;

			assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
			assert_int_equal(id, heads[(i + 2) % 3]);
			assert_int_equal(len, i == 0 ? 7 : 0);
		}
	}
	assert_int_equal(vring_used_idx(&f->r.ring), 15);
	assert_int_equal(f->vq.last_avail, 15);
	fx_free(f);
}

static void test_indirect_chain(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct vring_seg segs[4] = {
		{ f->buf, 4, false }, { f->buf + 16, 4096, false },
		{ f->buf + 8192, 100, true }, { f->buf + 9000, 8, true },
	};
	int head = fakedrv_ring_add(&f->r, segs, 4, true);

	assert_true(head >= 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.head, head);
	assert_int_equal(f->elem.n_rd, 2);
	assert_int_equal(f->elem.n_wr, 2);
	assert_int_equal(f->elem.rd_len, 4100);
	assert_int_equal(f->elem.wr_len, 108);
	for (unsigned int i = 0; i < 4; i++)
		assert_iov(f, i, segs[i].gpa, segs[i].len);
	assert_int_equal(f->r.ring.n_free, 7); /* one ring descriptor for 4 buffers */
	fx_free(f);
}

/* Zero or more direct descriptors may precede the indirect one (2.7.5.3). */
static void test_direct_then_indirect(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t table = fakedrv_alloc(&f->d, 32, 16);

	fakedrv_write_desc(&f->d, table, 0, f->buf + 100, 10, F_WRITE | F_NEXT, 1);
	fakedrv_write_desc(&f->d, table, 1, f->buf + 200, 20, F_WRITE, 0);
	vring_set_desc(&f->r.ring, 5, f->buf, 6, F_NEXT, 3);
	/* WRITE on the pointer descriptor is ignored (2.7.5.3.1). */
	vring_set_desc(&f->r.ring, 3, table, 32, F_INDIRECT | F_WRITE, 0);
	vring_publish(&f->r.ring, 5);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.head, 5);
	assert_int_equal(f->elem.n_rd, 1);
	assert_int_equal(f->elem.n_wr, 2);
	assert_int_equal(f->elem.rd_len, 6);
	assert_int_equal(f->elem.wr_len, 30);
	assert_iov(f, 0, f->buf, 6);
	assert_iov(f, 1, f->buf + 100, 10);
	assert_iov(f, 2, f->buf + 200, 20);
	fx_free(f);
}

/* A buffer cut at chosen offsets: one descriptor per piece, the bytes
 * reassemble in order. */
static void test_buffer_cut_at_offsets(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg segs[8];
	const size_t cuts[] = { 3, 10, 10, 99 }; /* duplicates and cuts past the end are ignored */
	uint8_t got[16];
	int n;

	fakedrv_write(&f->d, f->buf, "0123456789abcdef", 16);
	n = fakedrv_cut(segs, 0, 8, f->buf, 16, cuts, 4, false);
	assert_int_equal(n, 3);
	n = fakedrv_cut(segs, n, 8, f->buf + 32, 8, cuts, 1, true);
	assert_int_equal(n, 5);
	assert_int_equal(fakedrv_ring_add(&f->r, segs, (unsigned int)n, false), 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 3);
	assert_int_equal(f->elem.n_wr, 2);
	assert_iov(f, 0, f->buf, 3);
	assert_iov(f, 1, f->buf + 3, 7);
	assert_iov(f, 2, f->buf + 10, 6);
	assert_iov(f, 3, f->buf + 32, 3);
	assert_iov(f, 4, f->buf + 35, 5);
	assert_int_equal(vsnd__iov_to_buf(f->elem.iov, f->elem.n_rd, 0, got, 16), 16);
	assert_memory_equal(got, "0123456789abcdef", 16);
	assert_int_equal(f->r.ring.n_free, 3);
	vsnd__virtq_push(&f->vq, 0, 8);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &(uint32_t){ 0 }, &(uint32_t){ 0 }), 0);
	assert_int_equal(f->r.ring.n_free, 8);
	fx_free(f);
}

/* Empty descriptors are legal and produce no iovec. */
static void test_zero_length_descriptor(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg segs[] = { { f->buf, 0, false }, { f->buf + 8, 4, false },
				      { f->buf + 16, 0, true } };

	fakedrv_ring_add(&f->r, segs, 3, false);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 1);
	assert_int_equal(f->elem.n_wr, 0);
	assert_int_equal(f->elem.rd_len, 4);
	assert_int_equal(f->elem.wr_len, 0);
	assert_iov(f, 0, f->buf + 8, 4);
	fx_free(f);
}

/* A buffer crossing the region boundary becomes two iovecs, each pointing
 * into its own host allocation; bytes land where the driver expects them. */
static void test_straddling_buffers(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t s = fakedrv_straddle(&f->d, 40), bnd = fakedrv_boundary(&f->d);
	struct vring_seg rd[] = { { f->buf, 4, false }, { s, 100, false }, { f->buf + 64, 50, true } };
	struct vring_seg wr[] = { { f->buf, 4, false }, { s, 100, true } };
	uint8_t pattern[100], got[100];

	for (unsigned int i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	fakedrv_write(&f->d, s, pattern, sizeof(pattern));
	fakedrv_ring_add(&f->r, rd, 3, false);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 3);
	assert_int_equal(f->elem.n_wr, 1);
	assert_iov(f, 0, f->buf, 4);
	assert_iov(f, 1, s, 40);
	assert_iov(f, 2, bnd, 60);
	assert_iov(f, 3, f->buf + 64, 50);
	assert_int_equal(f->elem.rd_len, 104);
	assert_int_equal(vsnd__iov_to_buf(f->elem.iov, f->elem.n_rd, 4, got, 100), 100);
	assert_memory_equal(got, pattern, 100);
	assert_ptr_not_equal((uint8_t *)f->elem.iov[1].iov_base + 40, f->elem.iov[2].iov_base);

	/* Writable, through an indirect table. */
	fakedrv_ring_add(&f->r, wr, 2, true);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 1);
	assert_int_equal(f->elem.n_wr, 2);
	assert_iov(f, 1, s, 40);
	assert_iov(f, 2, bnd, 60);
	for (unsigned int i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)(255 - i);
	assert_int_equal(vsnd__iov_from_buf(f->elem.iov + 1, 2, 0, pattern, 100), 100);
	fakedrv_read(&f->d, s, got, 100);
	assert_memory_equal(got, pattern, 100);
	fx_free(f);
}

/* The indirect table itself may cross regions: it is read piece by piece. */
static void test_straddling_indirect_table(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t table = fakedrv_straddle(&f->d, 24); /* entry 1 is split 8 + 8 */
	uint64_t wr = fakedrv_alloc_in(&f->d, 1, 64, 8);

	fakedrv_write_desc(&f->d, table, 0, f->buf, 12, F_NEXT, 1);
	fakedrv_write_desc(&f->d, table, 1, f->buf + 4096, 20, F_NEXT | F_WRITE, 2);
	fakedrv_write_desc(&f->d, table, 2, wr, 64, F_WRITE, 0);
	vring_set_desc(&f->r.ring, 0, table, 48, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 1);
	assert_int_equal(f->elem.n_wr, 2);
	assert_iov(f, 0, f->buf, 12);
	assert_iov(f, 1, f->buf + 4096, 20);
	assert_iov(f, 2, wr, 64);
	assert_int_equal(f->elem.wr_len, 84);
	fx_free(f);
}

/* A read-only region serves readable buffers but no writable ones. */
static void test_is_write_honoured(void **state)
{
	struct fx *f = fx_new(8, false, false);
	uint64_t ro = fakedrv_alloc_in(&f->d, 1, 64, 8);
	struct vring_seg good[] = { { ro, 8, false }, { f->buf, 8, true } };
	struct vring_seg bad[] = { { f->buf, 8, false }, { ro, 8, true } };

	f->d.readonly[1] = true;
	fakedrv_ring_add(&f->r, good, 2, false);
	fakedrv_ring_add(&f->r, bad, 2, false);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_iov(f, 0, ro, 8);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EMSGSIZE);
	assert_int_equal(f->elem.head, 2);
	assert_false(f->vq.broken);
	fx_free(f);
}

/* ---- valid ring, unusable buffer: -EMSGSIZE ---------------------------- */

/* After -EMSGSIZE the head is known, the ring still works, and pushing the
 * chain back with len 0 gives the driver its buffer. */
static void expect_msgsize_then_recover(struct fx *f, uint16_t head)
{
	struct vring_seg ok = { f->buf, 4, false };
	uint32_t id, len;
	int next;

	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EMSGSIZE);
	assert_int_equal(f->elem.head, head);
	assert_int_equal(f->elem.n_rd, 0);
	assert_int_equal(f->elem.n_wr, 0);
	assert_int_equal(f->elem.rd_len, 0);
	assert_int_equal(f->elem.wr_len, 0);
	assert_false(f->vq.broken);
	assert_int_equal(f->vq.inflight, 1);
	vsnd__virtq_push(&f->vq, head, 0);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);

	next = fakedrv_ring_add(&f->r, &ok, 1, false);
	assert_true(next >= 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.head, next);
	assert_iov(f, 0, f->buf, 4);
}

static void test_untranslatable_address(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct vring_seg segs[] = { { f->buf, 4, false }, { 0x1000, 8, true } };
	int head = fakedrv_ring_add(&f->r, segs, 2, false);

	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	fx_free(f);
}

/* A buffer running off the end of guest memory is untranslatable too. */
static void test_buffer_past_end_of_memory(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t end = f->d.gpa_base + f->d.size;
	struct vring_seg segs[] = { { end - 16, 32, false } };
	int head = fakedrv_ring_add(&f->r, segs, 1, false);

	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	fx_free(f);
}

static void test_untranslatable_indirect_table(void **state)
{
	struct fx *f = fx_new(8, false, true);

	vring_set_desc(&f->r.ring, 2, 0x2000, 32, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 2);
	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, 2);
	fx_free(f);
}

/* One descriptor per byte through an indirect table: VIRTQ_MAX_IOV iovecs
 * fit, one more does not. */
static void test_iov_limit(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct vring_seg *segs = calloc(VIRTQ_MAX_IOV + 1, sizeof(*segs));
	int n = fakedrv_split(segs, 0, VIRTQ_MAX_IOV + 1, f->buf, VIRTQ_MAX_IOV, 1, false);
	int head;

	assert_int_equal(n, VIRTQ_MAX_IOV);
	head = fakedrv_ring_add(&f->r, segs, (unsigned int)n, true);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, VIRTQ_MAX_IOV);
	assert_iov(f, VIRTQ_MAX_IOV - 1, f->buf + VIRTQ_MAX_IOV - 1, 1);
	vsnd__virtq_push(&f->vq, (uint16_t)head, 0);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &(uint32_t){ 0 }, &(uint32_t){ 0 }), 0);

	n = fakedrv_split(segs, 0, VIRTQ_MAX_IOV + 1, f->buf, VIRTQ_MAX_IOV + 1, 1, false);
	head = fakedrv_ring_add(&f->r, segs, (unsigned int)n, true);
	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	free(segs);
	fx_free(f);
}

/* 511 one-byte buffers plus one straddling buffer: 513 iovecs. */
static void test_iov_limit_with_straddle(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct vring_seg *segs = calloc(VIRTQ_MAX_IOV, sizeof(*segs));
	int n = fakedrv_split(segs, 0, VIRTQ_MAX_IOV, f->buf, VIRTQ_MAX_IOV - 1, 1, false);
	int head;

	segs[n++] = (struct vring_seg){ fakedrv_straddle(&f->d, 4), 8, true };
	head = fakedrv_ring_add(&f->r, segs, (unsigned int)n, true);
	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	free(segs);
	fx_free(f);
}

/* Memory where everything above 1 TiB "translates" to one dummy page: lets
 * a test build multi-GiB chains that are never touched. */
static uint8_t dummy_page[4096];
static void *huge_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail, bool w)
{
	if (gpa >= (1ull << 40)) {
		*avail = len;
		return dummy_page;
	}
	return fakedrv_translate(opaque, gpa, len, avail, w);
}

/* 2.7.4.2: a chain carries less than 2^32 bytes in total. */
static void test_chain_length_overflow(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct virtq_mem mem = { huge_translate, &f->d };
	struct vring_seg max = { 1ull << 40, UINT32_MAX, false };
	struct vring_seg over[] = { { 1ull << 40, UINT32_MAX, false }, { f->buf, 1, true } };
	int head;

	assert_int_equal(vsnd__virtq_init(&f->vq, 8, f->r.ring.desc, f->r.ring.avail, f->r.ring.used, &mem, false, true, 0), 0);
	head = fakedrv_ring_add(&f->r, &max, 1, false);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.rd_len, UINT32_MAX);
	vsnd__virtq_push(&f->vq, (uint16_t)head, 0);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &(uint32_t){ 0 }, &(uint32_t){ 0 }), 0);

	head = fakedrv_ring_add(&f->r, over, 2, true);
	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	fx_free(f);
}

/* An address so high that addr + len wraps around 2^64. */
static void test_address_wraparound(void **state)
{
	struct fx *f = fx_new(8, false, true);
	struct virtq_mem mem = { huge_translate, &f->d };
	struct vring_seg seg = { UINT64_MAX - 3, 8, false };
	int head;

	assert_int_equal(vsnd__virtq_init(&f->vq, 8, f->r.ring.desc, f->r.ring.avail, f->r.ring.used, &mem, false, true, 0), 0);
	head = fakedrv_ring_add(&f->r, &seg, 1, false);
	vring_flush(&f->r.ring);
	expect_msgsize_then_recover(f, (uint16_t)head);
	fx_free(f);
}

/* ---- corrupt rings: -EIO and broken ------------------------------------ */

static void test_corrupt_loop_direct(void **state)
{
	struct fx *f = fx_new(8, false, false);

	vring_set_desc(&f->r.ring, 0, f->buf, 4, F_NEXT, 1);
	vring_set_desc(&f->r.ring, 1, f->buf, 4, F_NEXT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

/* Every descriptor of a 4-entry ring in one chain, then back to the start:
 * the 5th visit is over the limit. A chain of exactly num is fine. */
static void test_corrupt_chain_longer_than_num(void **state)
{
	struct fx *f = fx_new(4, false, false);

	for (unsigned int i = 0; i < 4; i++)
		vring_set_desc(&f->r.ring, i, f->buf + i, 1, i < 3 ? F_NEXT : 0, (uint16_t)(i + 1));
	vring_publish(&f->r.ring, 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(f->elem.n_rd, 4);
	vsnd__virtq_push(&f->vq, 0, 0);

	vring_set_desc(&f->r.ring, 3, f->buf + 3, 1, F_NEXT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_loop_indirect(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t = fakedrv_alloc(&f->d, 48, 16);

	fakedrv_write_desc(&f->d, t, 0, f->buf, 4, F_NEXT, 1);
	fakedrv_write_desc(&f->d, t, 1, f->buf, 4, F_NEXT, 2);
	fakedrv_write_desc(&f->d, t, 2, f->buf, 4, F_NEXT, 1);
	vring_set_desc(&f->r.ring, 0, t, 48, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_nested_indirect(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t1 = fakedrv_alloc(&f->d, 32, 16), t2 = fakedrv_alloc(&f->d, 16, 16);

	fakedrv_write_desc(&f->d, t2, 0, f->buf, 4, 0, 0);
	fakedrv_write_desc(&f->d, t1, 0, f->buf, 4, F_NEXT, 1);
	fakedrv_write_desc(&f->d, t1, 1, t2, 16, F_INDIRECT, 0);
	vring_set_desc(&f->r.ring, 0, t1, 32, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_indirect_with_next(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t = fakedrv_alloc(&f->d, 16, 16);

	fakedrv_write_desc(&f->d, t, 0, f->buf, 4, 0, 0);
	vring_set_desc(&f->r.ring, 0, t, 16, F_INDIRECT | F_NEXT, 1);
	vring_set_desc(&f->r.ring, 1, f->buf, 4, F_WRITE, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_indirect_not_negotiated(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg s = { f->buf, 4, false };

	assert_true(fakedrv_ring_add(&f->r, &s, 1, true) >= 0);
	expect_corrupt(f);
}

static void corrupt_table_len(uint32_t len)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t = fakedrv_alloc(&f->d, 64, 16);

	for (unsigned int i = 0; i < 4; i++)
		fakedrv_write_desc(&f->d, t, i, f->buf, 4, 0, 0);
	vring_set_desc(&f->r.ring, 0, t, len, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_indirect_table_len(void **state)
{
	corrupt_table_len(0);
	corrupt_table_len(15);
	corrupt_table_len(17);
	corrupt_table_len(40);
	corrupt_table_len((VIRTQ_MAX_SIZE + 1) * 16);
	corrupt_table_len(UINT32_MAX & ~15u);
}

static void test_corrupt_head_out_of_range(void **state)
{
	struct fx *f = fx_new(8, false, false);

	vring_publish(&f->r.ring, 8);
	expect_corrupt(f);
	f = fx_new(8, false, false);
	vring_publish(&f->r.ring, 0xffff);
	expect_corrupt(f);
}

static void test_corrupt_next_out_of_range(void **state)
{
	struct fx *f = fx_new(8, false, false);

	vring_set_desc(&f->r.ring, 0, f->buf, 4, F_NEXT, 8);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_indirect_next_out_of_range(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t = fakedrv_alloc(&f->d, 48, 16);

	/* The table says 2 entries; a valid-looking third one follows it. */
	fakedrv_write_desc(&f->d, t, 0, f->buf, 4, F_NEXT, 1);
	fakedrv_write_desc(&f->d, t, 1, f->buf, 4, F_NEXT, 2);
	fakedrv_write_desc(&f->d, t, 2, f->buf, 4, 0, 0);
	vring_set_desc(&f->r.ring, 0, t, 32, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_readable_after_writable(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg segs[] = { { f->buf, 4, true }, { f->buf + 8, 4, false } };

	fakedrv_ring_add(&f->r, segs, 2, false);
	expect_corrupt(f);

	f = fx_new(8, false, true);
	fakedrv_ring_add(&f->r, segs, 2, true);
	expect_corrupt(f);
}

/* The ordering rule spans a direct prefix and the indirect table. */
static void test_corrupt_readable_after_writable_across_indirect(void **state)
{
	struct fx *f = fx_new(8, false, true);
	uint64_t t = fakedrv_alloc(&f->d, 16, 16);

	fakedrv_write_desc(&f->d, t, 0, f->buf, 4, 0, 0);
	vring_set_desc(&f->r.ring, 0, f->buf, 4, F_WRITE | F_NEXT, 1);
	vring_set_desc(&f->r.ring, 1, t, 16, F_INDIRECT, 0);
	vring_publish(&f->r.ring, 0);
	expect_corrupt(f);
}

static void test_corrupt_avail_idx_jump(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg s = { f->buf, 4, false };

	/* Exactly num pending is legal. */
	for (unsigned int i = 0; i < 8; i++)
		assert_true(fakedrv_ring_add(&f->r, &s, 1, false) >= 0);
	vring_flush(&f->r.ring);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 8);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);

	/* 9 ahead of last_avail = 1: corrupt. */
	vring_set_avail_idx(&f->r.ring, 10);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 0);
	assert_broken(f);
	fx_free(f);

	f = fx_new(8, false, false);
	vring_set_avail_idx(&f->r.ring, 0x8000);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EIO);
	assert_broken(f);
	fx_free(f);
}

/* ---- notifications ---------------------------------------------------- */

/* Ring with EVENT_IDX whose indices start at `start`: pop and push `first`
 * chains and decide (the first decision after start always notifies), then
 * with used_event set to `event`, push `more` and return the decision. */
static bool event_idx_decision(uint16_t start, unsigned int first, unsigned int more,
			       uint16_t event)
{
	struct fx *f = fx_new(16, true, true);
	struct vring_seg s = { f->buf, 4, true };
	bool r;

	fakedrv_ring_set_indices(&f->r, start, start);
	assert_int_equal(fakedrv_ring_virtq(&f->r, &f->vq, true), 0);
	for (unsigned int i = 0; i < first + more; i++)
		assert_true(fakedrv_ring_add(&f->r, &s, 1, false) >= 0);
	vring_flush(&f->r.ring);
	for (unsigned int i = 0; i < first; i++) {
		assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
		vsnd__virtq_push(&f->vq, f->elem.head, 4);
	}
	if (first)
		assert_true(vsnd__virtq_should_notify(&f->vq));
	vring_set_used_event(&f->r.ring, event);
	for (unsigned int i = 0; i < more; i++) {
		assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
		vsnd__virtq_push(&f->vq, f->elem.head, 4);
	}
	assert_int_equal(vring_used_idx(&f->r.ring), (uint16_t)(start + first + more));
	r = vsnd__virtq_should_notify(&f->vq);
	/* Nothing new: never notify twice for the same entries. */
	assert_false(vsnd__virtq_should_notify(&f->vq));
	fx_free(f);
	return r;
}

static void test_event_idx_math(void **state)
{
	/* used 0 -> 1, then 1 -> 3: notify iff used_event in {1, 2}. */
	assert_false(event_idx_decision(0, 1, 2, 0));
	assert_true(event_idx_decision(0, 1, 2, 1));
	assert_true(event_idx_decision(0, 1, 2, 2));
	assert_false(event_idx_decision(0, 1, 2, 3));
	/* Across the u16 wrap: 65534 -> 65535, then 65535 -> 1. */
	assert_false(event_idx_decision(65534, 1, 2, 65534));
	assert_true(event_idx_decision(65534, 1, 2, 65535));
	assert_true(event_idx_decision(65534, 1, 2, 0));
	assert_false(event_idx_decision(65534, 1, 2, 1));
	assert_false(event_idx_decision(65534, 1, 2, 0x8000));
	/* The first decision after a (re)start always notifies. */
	assert_true(event_idx_decision(65535, 0, 1, 12345));
}

/* Linux keeps used_event = its next used index after each get: so one
 * interrupt per batch it has not yet seen. */
static void test_event_idx_linux_pattern(void **state)
{
	struct fx *f = fx_new(8, true, true);
	struct vring_seg s = { f->buf, 4, true };
	uint32_t id, len;

	for (unsigned int i = 0; i < 4; i++)
		fakedrv_ring_add(&f->r, &s, 1, false);
	vring_flush(&f->r.ring);
	for (unsigned int i = 0; i < 4; i++)
		assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	vsnd__virtq_push(&f->vq, 0, 1);
	assert_true(vsnd__virtq_should_notify(&f->vq));
	vsnd__virtq_push(&f->vq, 1, 2);
	/* Driver has not read anything: used_event is still 0. */
	assert_false(vsnd__virtq_should_notify(&f->vq));
	assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
	assert_int_equal(id, 1);
	assert_int_equal(len, 2);
	/* used_event = 2 now: the next entry interrupts. */
	vsnd__virtq_push(&f->vq, 2, 3);
	assert_true(vsnd__virtq_should_notify(&f->vq));
	fx_free(f);
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg s = { f->buf, 4, true };

	for (unsigned int i = 0; i < 3; i++)
		fakedrv_ring_add(&f->r, &s, 1, false);
	vring_flush(&f->r.ring);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);

	/* Nothing pushed yet but no decision made either: the flag decides. */
	vring_set_avail_flags(&f->r.ring, VIRTQ_AVAIL_F_NO_INTERRUPT);
	vsnd__virtq_push(&f->vq, 0, 4);
	assert_false(vsnd__virtq_should_notify(&f->vq));
	vring_set_avail_flags(&f->r.ring, 0);
	assert_false(vsnd__virtq_should_notify(&f->vq)); /* nothing new */
	vsnd__virtq_push(&f->vq, 1, 4);
	assert_true(vsnd__virtq_should_notify(&f->vq));
	assert_false(vsnd__virtq_should_notify(&f->vq));
	vsnd__virtq_push(&f->vq, 2, 4);
	assert_true(vsnd__virtq_should_notify(&f->vq));
	fx_free(f);
}

/* Suppress kicks, the driver adds a buffer meanwhile (and does not kick):
 * re-enabling must report it. */
static void test_kick_suppression_race(void **state)
{
	struct fx *f = fx_new(8, false, false);
	struct vring_seg s = { f->buf, 4, false };

	assert_int_equal(vring_used_flags(&f->r.ring), 0);
	assert_false(vsnd__virtq_set_notification(&f->vq, false));
	assert_int_equal(vring_used_flags(&f->r.ring), VIRTQ_USED_F_NO_NOTIFY);
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_false(vring_flush(&f->r.ring));
	assert_true(vsnd__virtq_set_notification(&f->vq, true));
	assert_int_equal(vring_used_flags(&f->r.ring), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_false(vsnd__virtq_set_notification(&f->vq, true));
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_true(vring_flush(&f->r.ring));
	fx_free(f);
}

/* With EVENT_IDX the device arms avail_event when the ring runs dry, so the
 * driver kicks once per idle period, not once per buffer. */
static void test_event_idx_kicks(void **state)
{
	struct fx *f = fx_new(8, true, true);
	struct vring_seg s = { f->buf, 4, false };

	fakedrv_ring_set_indices(&f->r, 65534, 65534);
	assert_int_equal(fakedrv_ring_virtq(&f->r, &f->vq, true), 0);
	assert_int_equal(vring_avail_event(&f->r.ring), 65534);
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_true(vring_flush(&f->r.ring));
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_false(vring_flush(&f->r.ring)); /* device did not ask again */

	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EAGAIN);
	assert_int_equal(vring_avail_event(&f->r.ring), 0); /* wrapped */
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_true(vring_flush(&f->r.ring));

	/* Disabling leaves avail_event behind: no kick for the next one. */
	assert_false(vsnd__virtq_set_notification(&f->vq, false));
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_false(vring_flush(&f->r.ring));
	/* Re-enabling reports both pending buffers and re-arms. */
	assert_true(vsnd__virtq_set_notification(&f->vq, true));
	assert_int_equal(vring_avail_event(&f->r.ring), 0);
	assert_int_equal(vsnd__virtq_avail_count(&f->vq), 2);

	/* While off, a ring popped dry is not re-armed (the device looks on
	 * its own wakes): still no kick for the next buffer. */
	assert_false(vsnd__virtq_set_notification(&f->vq, false));
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EAGAIN);
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_false(vring_flush(&f->r.ring));
	assert_true(vsnd__virtq_set_notification(&f->vq, true));
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), 0);
	assert_int_equal(vsnd__virtq_pop(&f->vq, &f->elem), -EAGAIN);
	fakedrv_ring_add(&f->r, &s, 1, false);
	assert_true(vring_flush(&f->r.ring));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rejects_bad_rings),
		cmocka_unit_test(test_init_rejects_overlapping_parts),
		cmocka_unit_test(test_init_resumes_indices),
		cmocka_unit_test(test_direct_chain),
		cmocka_unit_test(test_order_and_used_wrap),
		cmocka_unit_test(test_indirect_chain),
		cmocka_unit_test(test_direct_then_indirect),
		cmocka_unit_test(test_buffer_cut_at_offsets),
		cmocka_unit_test(test_zero_length_descriptor),
		cmocka_unit_test(test_straddling_buffers),
		cmocka_unit_test(test_straddling_indirect_table),
		cmocka_unit_test(test_is_write_honoured),
		cmocka_unit_test(test_untranslatable_address),
		cmocka_unit_test(test_buffer_past_end_of_memory),
		cmocka_unit_test(test_untranslatable_indirect_table),
		cmocka_unit_test(test_iov_limit),
		cmocka_unit_test(test_iov_limit_with_straddle),
		cmocka_unit_test(test_chain_length_overflow),
		cmocka_unit_test(test_address_wraparound),
		cmocka_unit_test(test_corrupt_loop_direct),
		cmocka_unit_test(test_corrupt_chain_longer_than_num),
		cmocka_unit_test(test_corrupt_loop_indirect),
		cmocka_unit_test(test_corrupt_nested_indirect),
		cmocka_unit_test(test_corrupt_indirect_with_next),
		cmocka_unit_test(test_corrupt_indirect_not_negotiated),
		cmocka_unit_test(test_corrupt_indirect_table_len),
		cmocka_unit_test(test_corrupt_head_out_of_range),
		cmocka_unit_test(test_corrupt_next_out_of_range),
		cmocka_unit_test(test_corrupt_indirect_next_out_of_range),
		cmocka_unit_test(test_corrupt_readable_after_writable),
		cmocka_unit_test(test_corrupt_readable_after_writable_across_indirect),
		cmocka_unit_test(test_corrupt_avail_idx_jump),
		cmocka_unit_test(test_event_idx_math),
		cmocka_unit_test(test_event_idx_linux_pattern),
		cmocka_unit_test(test_no_interrupt_flag),
		cmocka_unit_test(test_kick_suppression_race),
		cmocka_unit_test(test_event_idx_kicks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
