/* SPDX-License-Identifier: MIT */
/* The four-queue set as the device sees it: vsnd__vqset_ops over a fake
 * driver, slot accounting, stop/restart and stale chains, signals. */
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
#include "virtq/vqset.h"

#define Q VSND_QUEUE_CONTROL

struct fx {
	struct fakedrv d;
	struct fakedrv_ring r;
	struct vsnd_vqset s;
	unsigned int signals[VSND_NUM_QUEUES];
	uint64_t buf;
};

static void on_signal(void *opaque, unsigned int q)
{
	struct fx *f = opaque;

	assert_true(q < VSND_NUM_QUEUES);
	f->signals[q]++;
}

static struct fx *fx_new(unsigned int num, bool event_idx)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fakedrv_init(&f->d, NULL), 0);
	assert_int_equal(fakedrv_ring_init(&f->r, &f->d, num, event_idx), 0);
	assert_int_equal(vsnd__vqset_init(&f->s, on_signal, f), 0);
	assert_int_equal(fakedrv_ring_start(&f->r, &f->s, Q, true), 0);
	f->buf = fakedrv_alloc(&f->d, 64 << 10, 16);
	return f;
}

static void fx_free(struct fx *f)
{
	vsnd__vqset_fini(&f->s);
	fakedrv_ring_fini(&f->r);
	fakedrv_fini(&f->d);
	free(f);
}

static int pop(struct fx *f, struct vsnd_chain **c)
{
	return vsnd__vqset_ops.pop(&f->s, Q, c);
}

static void push(struct fx *f, struct vsnd_chain *c, uint32_t len)
{
	vsnd__vqset_ops.push(&f->s, Q, c, len);
}

static struct vsnd__vqset_stats stats(const struct fx *f)
{
	struct vsnd__vqset_stats st;

	assert_int_equal(vsnd__vqset_stats(&f->s, Q, &st), 0);
	return st;
}

static int add_simple(struct fx *f, size_t rd, size_t wr)
{
	static const uint8_t zero[64];
	const struct fakedrv_req_opts linux_like = { .indirect = true };
	int head = fakedrv_add_request(&f->r, zero, rd, wr, &linux_like, NULL);

	assert_true(head >= 0);
	vring_flush(&f->r.ring);
	return head;
}

static void expect_used(struct fx *f, uint32_t id, uint32_t len)
{
	uint32_t got_id, got_len;

	assert_int_equal(fakedrv_ring_get_used(&f->r, &got_id, &got_len), 0);
	assert_int_equal(got_id, id);
	assert_int_equal(got_len, len);
}

/* A control request split every 3 bytes through an indirect table: the
 * device reads the request by offset and answers into the writable part. */
static void test_request_round_trip(void **state)
{
	struct fx *f = fx_new(16, true);
	const uint8_t req[16] = { 0x00, 0x01, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 32, 0, 0, 0 };
	struct fakedrv_req_opts o = { .split = 3, .indirect = true, .resp_fill = 0xee };
	struct fakedrv_req r;
	struct vsnd_chain *c;
	uint8_t got[16], resp[8] = { 0x00, 0x80, 0, 0, 9, 8, 7, 6 };

	assert_int_equal(fakedrv_add_request(&f->r, req, sizeof(req), 68, &o, &r), 0);
	assert_int_equal(r.head, 0);
	assert_int_equal(r.rd_len, 16);
	assert_int_equal(r.wr_len, 68);
	assert_true(vring_flush(&f->r.ring));

	assert_int_equal(pop(f, &c), 0);
	assert_int_equal(c->n_rd, 6);   /* 16 bytes in 3-byte pieces */
	assert_int_equal(c->n_wr, 23);  /* 68 bytes in 3-byte pieces */
	assert_int_equal(c->rd_len, 16);
	assert_int_equal(c->wr_len, 68);
	assert_int_equal(c->rd[5].iov_len, 1);
	assert_ptr_equal(c->rd[0].iov_base, fakedrv_host(&f->d, r.rd_gpa, 3));
	assert_ptr_equal(c->wr[0].iov_base, fakedrv_host(&f->d, r.wr_gpa, 3));
	assert_int_equal(vsnd__iov_to_buf(c->rd, c->n_rd, 0, got, sizeof(got)), 16);
	assert_memory_equal(got, req, 16);
	assert_int_equal(vsnd__iov_to_buf(c->wr, c->n_wr, 65, got, 3), 3);
	assert_memory_equal(got, "\xee\xee\xee", 3);
	assert_int_equal(pop(f, &(struct vsnd_chain *){ NULL }), -EAGAIN);

	vsnd__iov_from_buf(c->wr, c->n_wr, 0, resp, sizeof(resp));
	push(f, c, sizeof(resp));
	assert_int_equal(f->signals[Q], 0); /* push does not notify */
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1); /* nothing new */
	expect_used(f, 0, 8);
	fakedrv_read(&f->d, r.wr_gpa, got, 9);
	assert_memory_equal(got, resp, 8);
	assert_int_equal(got[8], 0xee);
	assert_int_equal(stats(f).popped, 1);
	assert_int_equal(stats(f).pushed, 1);
	assert_int_equal(stats(f).signals, 1);
	fx_free(f);
}

/* Pushing more than the writable part holds is clamped (2.7.8.2). */
static void test_push_len_clamped(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;
	int head = add_simple(f, 4, 12);

	assert_int_equal(pop(f, &c), 0);
	push(f, c, 1000);
	expect_used(f, (uint32_t)head, 12);
	fx_free(f);
}

/* Chains in other queues do not mix. */
static void test_queues_independent(void **state)
{
	struct fx *f = fx_new(8, false);
	struct fakedrv_ring tx;
	struct vsnd_chain *c;
	static const uint8_t data[8] = "PCMDATA";

	assert_int_equal(fakedrv_ring_init(&tx, &f->d, 4, false), 0);
	assert_int_equal(fakedrv_ring_start(&tx, &f->s, VSND_QUEUE_TX, false), 0);
	assert_true(fakedrv_add_request(&tx, data, 8, 8, NULL, NULL) >= 0);
	vring_flush(&tx.ring);
	assert_int_equal(pop(f, &c), -EAGAIN);
	assert_int_equal(vsnd__vqset_ops.pop(&f->s, VSND_QUEUE_RX, &c), -EAGAIN);
	assert_int_equal(vsnd__vqset_ops.pop(&f->s, VSND_NUM_QUEUES, &c), -EAGAIN);
	assert_int_equal(vsnd__vqset_ops.pop(&f->s, VSND_QUEUE_TX, &c), 0);
	assert_int_equal(c->rd_len, 8);
	/* Pushed to the wrong queue: not ours there, ignored. */
	push(f, c, 8);
	assert_int_equal(vring_used_idx(&tx.ring), 0);
	assert_int_equal(stats(f).stale, 1);
	vsnd__vqset_ops.push(&f->s, VSND_QUEUE_TX, c, 8);
	vsnd__vqset_ops.notify(&f->s, VSND_QUEUE_TX);
	assert_int_equal(f->signals[VSND_QUEUE_TX], 1);
	assert_int_equal(f->signals[Q], 0);
	assert_int_equal(vring_used_idx(&tx.ring), 1);
	fakedrv_ring_fini(&tx);
	fx_free(f);
}

/* Valid chains we cannot map never reach the device: they go back with
 * len 0 and the next good chain is returned instead. */
static void test_unmappable_chain_discarded(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vring_seg bad = { 0x10, 4, false };
	struct vsnd_chain *c;
	int b1, b2, good;

	b1 = fakedrv_ring_add(&f->r, &bad, 1, false);
	b2 = fakedrv_ring_add(&f->r, &bad, 1, false);
	good = add_simple(f, 4, 4);
	assert_int_equal(pop(f, &c), 0);
	assert_int_equal(c->rd_len, 4);
	assert_int_equal(f->signals[Q], 0); /* the device will notify */
	push(f, c, 4);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1);
	expect_used(f, (uint32_t)b1, 0);
	expect_used(f, (uint32_t)b2, 0);
	expect_used(f, (uint32_t)good, 4);
	assert_int_equal(stats(f).discarded, 2);

	/* Only a bad chain: the driver still gets it back, with a signal. */
	b1 = fakedrv_ring_add(&f->r, &bad, 1, false);
	vring_flush(&f->r.ring);
	assert_int_equal(pop(f, &c), -EAGAIN);
	assert_int_equal(f->signals[Q], 2);
	expect_used(f, (uint32_t)b1, 0);
	assert_int_equal(stats(f).popped, 1);
	assert_int_equal(stats(f).discarded, 3);
	fx_free(f);
}

static void test_corrupt_ring(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;

	vring_publish(&f->r.ring, 8);
	vring_flush(&f->r.ring);
	assert_false(vsnd__vqset_broken(&f->s, Q));
	assert_int_equal(pop(f, &c), -EIO);
	assert_true(vsnd__vqset_broken(&f->s, Q));
	assert_int_equal(pop(f, &c), -EIO);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 0);
	assert_false(vsnd__vqset_broken(&f->s, VSND_QUEUE_TX));
	/* Stays visible after stop, cleared by a restart. */
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 1);
	assert_true(vsnd__vqset_broken(&f->s, Q));
	fakedrv_ring_set_indices(&f->r, 1, 0);
	assert_int_equal(fakedrv_ring_start(&f->r, &f->s, Q, true), 0);
	assert_false(vsnd__vqset_broken(&f->s, Q));
	add_simple(f, 4, 4);
	assert_int_equal(pop(f, &c), 0);
	fx_free(f);
}

/* A driver publishing more chains than it may have in flight (here: the
 * same head again) finds every slot taken: -EAGAIN, nothing consumed. */
static void test_slot_exhaustion(void **state)
{
	struct fx *f = fx_new(4, false);
	struct vsnd_chain *c[4], *extra;
	int heads[4];

	for (unsigned int i = 0; i < 4; i++)
		heads[i] = add_simple(f, 4, 4);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(pop(f, &c[i]), 0);
		for (unsigned int j = 0; j < i; j++)
			assert_ptr_not_equal(c[i], c[j]);
	}
	vring_publish(&f->r.ring, (uint16_t)heads[0]);
	vring_flush(&f->r.ring);
	assert_int_equal(pop(f, &extra), -EAGAIN);
	assert_int_equal(f->s.q[Q].vq.last_avail, 4);
	assert_int_equal(f->s.q[Q].vq.inflight, 4);
	push(f, c[2], 1);
	assert_int_equal(pop(f, &extra), 0);
	assert_ptr_equal(extra, c[2]); /* the slot just freed */
	assert_int_equal(f->s.q[Q].vq.last_avail, 5);
	expect_used(f, (uint32_t)heads[2], 1);
	fx_free(f);
}

/* Chains still held at stop are parked: pushes while stopped are ignored,
 * a restart of the same ring lets them complete into it, and a discard
 * (device reset) drops them for good, even after their slots are reused. */
static void test_stop_with_held_chains(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *a, *b, *live;
	int ha, hb;

	ha = add_simple(f, 4, 4);
	hb = add_simple(f, 4, 4);
	assert_int_equal(pop(f, &a), 0);
	assert_int_equal(pop(f, &b), 0);
	push(f, a, 2);
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 2);
	assert_false(vsnd__vqset_started(&f->s, Q));
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 2); /* idempotent */
	assert_int_equal(stats(f).dropped, 0);
	assert_int_equal(pop(f, &live), -EAGAIN);

	/* stopped: the ring is not ours, nothing is written */
	push(f, b, 4);
	assert_int_equal(stats(f).stale, 1);
	assert_int_equal(vring_used_idx(&f->r.ring), 1);
	expect_used(f, (uint32_t)ha, 2);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 0);

	/* resume where the ring stopped: b is still held and completes */
	fakedrv_ring_set_indices(&f->r, 2, 1);
	assert_int_equal(fakedrv_ring_start(&f->r, &f->s, Q, true), 0);
	push(f, b, 4);
	assert_int_equal(vring_used_idx(&f->r.ring), 2);
	expect_used(f, (uint32_t)hb, 4);
	push(f, b, 4); /* twice: ignored */
	assert_int_equal(stats(f).stale, 2);

	/* a reset: held chains are dropped, their slots reused safely */
	add_simple(f, 4, 8);
	assert_int_equal(pop(f, &a), 0);
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 3);
	vsnd__vqset_discard(&f->s, Q);
	assert_int_equal(stats(f).dropped, 1);
	fakedrv_ring_set_indices(&f->r, 3, 2);
	assert_int_equal(fakedrv_ring_start(&f->r, &f->s, Q, true), 0);
	add_simple(f, 4, 8);
	assert_int_equal(pop(f, &live), 0);
	push(f, a, 4);
	assert_int_equal(stats(f).stale, 3);
	assert_int_equal(vring_used_idx(&f->r.ring), 2);
	push(f, live, 8);
	assert_int_equal(vring_used_idx(&f->r.ring), 3);
	assert_int_equal(stats(f).pushed, 3);
	fx_free(f);
}

/* vsnd__vqset_holds() answers for the chains held, parked ones included,
 * and forgets them once pushed or discarded. */
static void test_holds(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *a, *b;
	const uint8_t *pa, *pb;

	add_simple(f, 4, 8);
	add_simple(f, 4, 8);
	assert_int_equal(pop(f, &a), 0);
	assert_int_equal(pop(f, &b), 0);
	pa = a->wr[0].iov_base;
	pb = b->rd[0].iov_base;
	assert_true(vsnd__vqset_holds(&f->s, pa, 1));
	assert_false(vsnd__vqset_holds(&f->s, pa, 0));
	push(f, a, 8);
	assert_false(vsnd__vqset_holds(&f->s, pa, 1));
	/* b alone: its readable part starts at pb */
	assert_true(vsnd__vqset_holds(&f->s, pb - 16, 17));
	assert_false(vsnd__vqset_holds(&f->s, pb - 16, 16));
	vsnd__vqset_stop(&f->s, Q);
	assert_true(vsnd__vqset_holds(&f->s, pb, 1)); /* parked */
	vsnd__vqset_discard(&f->s, Q);
	assert_false(vsnd__vqset_holds(&f->s, pb, 1));
	assert_false(vsnd__vqset_holds(NULL, pb, 1));
	fx_free(f);
}

/* A start on a started queue stops it first (keeping held chains); a
 * failed start leaves it stopped. */
static void test_start_and_restart(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;

	add_simple(f, 4, 4);
	assert_int_equal(pop(f, &c), 0);
	fakedrv_ring_set_indices(&f->r, 1, 0);
	assert_int_equal(fakedrv_ring_start(&f->r, &f->s, Q, true), 0);
	assert_int_equal(stats(f).dropped, 0);
	push(f, c, 4);
	assert_int_equal(stats(f).stale, 0);
	assert_int_equal(vring_used_idx(&f->r.ring), 1);

	assert_int_equal(vsnd__vqset_start(&f->s, Q, 3, f->r.ring.desc, f->r.ring.avail, f->r.ring.used,
					  &f->d.mem, false, false, 0), -EINVAL);
	assert_false(vsnd__vqset_started(&f->s, Q));
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 1);
	assert_int_equal(vsnd__vqset_start(&f->s, VSND_NUM_QUEUES, 8, f->r.ring.desc, f->r.ring.avail,
					  f->r.ring.used, &f->d.mem, false, false, 0), -EINVAL);
	assert_int_equal(vsnd__vqset_stop(&f->s, VSND_QUEUE_EVENT), 0); /* never started */
	/* A used ring over the descriptor table: refused, still stopped. */
	assert_int_equal(vsnd__vqset_start(&f->s, Q, 8, f->r.ring.desc, f->r.ring.avail, f->r.ring.desc,
					  &f->d.mem, false, false, 0), -EADDRINUSE);
	assert_false(vsnd__vqset_started(&f->s, Q));
	assert_int_equal(pop(f, &c), -EAGAIN);
	assert_int_equal(vsnd__vqset_start(&f->s, Q, 8, f->r.ring.desc, f->r.ring.avail, f->r.ring.used,
					  &f->d.mem, false, false, 7), 0);
	assert_int_equal(vsnd__vqset_stop(&f->s, Q), 7);
	fx_free(f);
}

/* A growing ring gets a new pool; stale pointers into the old one are
 * recognised by address and never dereferenced. */
static void test_restart_with_bigger_ring(void **state)
{
	struct fx *f = fx_new(4, false);
	struct fakedrv_ring big;
	struct vsnd_chain *old, *c;

	add_simple(f, 4, 4);
	assert_int_equal(pop(f, &old), 0);
	vsnd__vqset_stop(&f->s, Q);
	assert_int_equal(fakedrv_ring_init(&big, &f->d, 64, false), 0);
	assert_int_equal(fakedrv_ring_start(&big, &f->s, Q, true), 0);
	assert_int_equal(f->s.q[Q].cap, 64);
	for (unsigned int i = 0; i < 32; i++)
		assert_true(fakedrv_add_request(&big, "x", 1, 1, NULL, NULL) >= 0);
	vring_flush(&big.ring);
	for (unsigned int i = 0; i < 32; i++)
		assert_int_equal(pop(f, &c), 0);
	push(f, old, 1);
	assert_int_equal(stats(f).stale, 1);
	assert_int_equal(vring_used_idx(&big.ring), 0);
	fakedrv_ring_fini(&big);
	fx_free(f);
}

static void test_enable_disable(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;
	int head = add_simple(f, 4, 4);

	vsnd__vqset_enable(&f->s, Q, false);
	assert_int_equal(pop(f, &c), -EAGAIN);
	assert_int_equal(f->s.q[Q].vq.last_avail, 0);
	vsnd__vqset_enable(&f->s, Q, true);
	assert_int_equal(pop(f, &c), 0);
	/* Disabled: no new pops, but held chains still complete. */
	vsnd__vqset_enable(&f->s, Q, false);
	add_simple(f, 4, 4);
	assert_int_equal(pop(f, &(struct vsnd_chain *){ NULL }), -EAGAIN);
	push(f, c, 3);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1);
	expect_used(f, (uint32_t)head, 3);
	/* Enabled but stopped: still nothing. */
	vsnd__vqset_enable(&f->s, Q, true);
	vsnd__vqset_stop(&f->s, Q);
	assert_int_equal(pop(f, &c), -EAGAIN);
	fx_free(f);
}

/* Signals follow the driver's wishes: NO_INTERRUPT without EVENT_IDX. */
static void test_signal_no_interrupt(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;

	add_simple(f, 4, 4);
	add_simple(f, 4, 4);
	vring_set_avail_flags(&f->r.ring, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_int_equal(pop(f, &c), 0);
	push(f, c, 0);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 0);
	vring_set_avail_flags(&f->r.ring, 0);
	assert_int_equal(pop(f, &c), 0);
	push(f, c, 0);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1);
	assert_int_equal(stats(f).signals, 1);
	fx_free(f);
}

/* With EVENT_IDX, one signal per batch the driver has not consumed yet. */
static void test_signal_event_idx(void **state)
{
	struct fx *f = fx_new(8, true);
	struct vsnd_chain *c[3];
	uint32_t id, len;

	for (unsigned int i = 0; i < 3; i++)
		add_simple(f, 4, 4);
	for (unsigned int i = 0; i < 3; i++)
		assert_int_equal(pop(f, &c[i]), 0);
	push(f, c[0], 1);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1);
	push(f, c[1], 1);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 1); /* driver has not read entry 0 */
	assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
	assert_int_equal(fakedrv_ring_get_used(&f->r, &id, &len), 0);
	push(f, c[2], 1);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(f->signals[Q], 2);
	fx_free(f);
}

/* Kick suppression through the set, and a NULL signal callback. */
static void test_set_notification_and_null_signal(void **state)
{
	struct fx *f = fx_new(8, false);
	struct vsnd_chain *c;

	f->s.signal = NULL;
	assert_false(vsnd__vqset_set_notification(&f->s, Q, false));
	add_simple(f, 4, 4);
	assert_true(vsnd__vqset_set_notification(&f->s, Q, true));
	assert_int_equal(pop(f, &c), 0);
	push(f, c, 0);
	vsnd__vqset_ops.notify(&f->s, Q);
	assert_int_equal(stats(f).signals, 1);
	assert_false(vsnd__vqset_set_notification(&f->s, VSND_QUEUE_RX, true));
	assert_int_equal(vsnd__vqset_stats(&f->s, VSND_NUM_QUEUES, &(struct vsnd__vqset_stats){ 0 }),
			 -EINVAL);
	vsnd__vqset_fini(NULL);
	assert_int_equal(vsnd__vqset_init(NULL, NULL, NULL), -EINVAL);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_push_len_clamped),
		cmocka_unit_test(test_queues_independent),
		cmocka_unit_test(test_unmappable_chain_discarded),
		cmocka_unit_test(test_corrupt_ring),
		cmocka_unit_test(test_slot_exhaustion),
		cmocka_unit_test(test_stop_with_held_chains),
		cmocka_unit_test(test_holds),
		cmocka_unit_test(test_start_and_restart),
		cmocka_unit_test(test_restart_with_bigger_ring),
		cmocka_unit_test(test_enable_disable),
		cmocka_unit_test(test_signal_no_interrupt),
		cmocka_unit_test(test_signal_event_idx),
		cmocka_unit_test(test_set_notification_and_null_signal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
