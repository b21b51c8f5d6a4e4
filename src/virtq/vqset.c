/* SPDX-License-Identifier: MIT */
#include "virtq/vqset.h"

#include <errno.h>
#include <stdlib.h>

/*
 * A chain slot. The device holds a pointer to one of the two vsnd_chain
 * copies, picked by the parity of the queue generation at pop time: after a
 * stop and restart, a slot reused in the new generation hands out the other
 * copy, so a stale pointer from before the stop never matches a live chain
 * even though it points into memory we still own.
 */
struct vsnd_vqset_slot {
	struct vsnd_chain chain[2];
	uint32_t gen;           /* queue generation when popped */
	bool in_use;            /* valid only if gen is the current generation */
	struct virtq_elem elem;
};

static struct vsnd_vqset_queue *queue(struct vsnd_vqset *s, unsigned int q)
{
	return s && q < VSND_NUM_QUEUES ? &s->q[q] : NULL;
}

int vsnd__vqset_init(struct vsnd_vqset *s, void (*signal)(void *opaque, unsigned int q),
		    void *opaque)
{
	if (!s)
		return -EINVAL;
	*s = (struct vsnd_vqset){ .signal = signal, .opaque = opaque };
	return 0;
}

static void pool_free(struct vsnd_vqset_queue *q)
{
	free(q->slots);
	free(q->free);
	q->slots = NULL;
	q->free = NULL;
	q->cap = 0;
	q->num = 0;
	q->n_free = 0;
}

void vsnd__vqset_fini(struct vsnd_vqset *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < VSND_NUM_QUEUES; i++) {
		vsnd__virtq_fini(&s->q[i].vq);
		pool_free(&s->q[i]);
	}
}

/* Make room for num slots. Slot memory is allocated with calloc and only the
 * slots actually popped get touched, so a large ring costs address space,
 * not resident memory. */
static int pool_reserve(struct vsnd_vqset_queue *q, unsigned int num)
{
	if (q->cap >= num)
		return 0;
	pool_free(q);
	q->slots = calloc(num, sizeof(*q->slots));
	q->free = calloc(num, sizeof(*q->free));
	if (!q->slots || !q->free) {
		pool_free(q);
		return -ENOMEM;
	}
	q->cap = num;
	return 0;
}

/* Free stack with slot 0 on top: slots are reused lowest first. */
static void pool_reset(struct vsnd_vqset_queue *q, unsigned int num)
{
	for (unsigned int i = 0; i < num; i++)
		q->free[i] = num - 1 - i;
	q->n_free = num;
}

/* Forget every held chain: a new generation invalidates the slots without
 * touching them, so a late push of one is recognised and ignored. */
static void pool_drop(struct vsnd_vqset_queue *q)
{
	q->stats.dropped += q->num - q->n_free;
	q->gen++;
	pool_reset(q, q->num);
}

int vsnd__vqset_start(struct vsnd_vqset *s, unsigned int qi, unsigned int num, void *desc,
		     void *avail, void *used, const struct virtq_mem *mem, bool event_idx,
		     bool indirect, uint16_t last_avail)
{
	struct vsnd_vqset_queue *q = queue(s, qi);
	int r;

	if (!q)
		return -EINVAL;
	if (q->started)
		vsnd__vqset_stop(s, qi);
	q->broken = false;
	r = vsnd__virtq_init(&q->vq, num, desc, avail, used, mem, event_idx, indirect, last_avail);
	if (r)
		goto err;
	/* Chains held across the stop belong to this ring if it kept its size
	 * (a resume): they stay in use and complete into it. */
	if (num != q->num) {
		pool_drop(q);
		r = pool_reserve(q, num);
		if (r)
			goto err;
		q->num = num;
		pool_reset(q, num);
	}
	q->started = true;
	return 0;
err:
	vsnd__virtq_fini(&q->vq);
	return r;
}

uint16_t vsnd__vqset_stop(struct vsnd_vqset *s, unsigned int qi)
{
	struct vsnd_vqset_queue *q = queue(s, qi);

	if (!q)
		return 0;
	if (!q->started)
		return q->base;
	q->base = q->vq.last_avail;
	q->broken = q->vq.broken;
	q->started = false;
	vsnd__virtq_fini(&q->vq);
	return q->base;
}

void vsnd__vqset_discard(struct vsnd_vqset *s, unsigned int qi)
{
	struct vsnd_vqset_queue *q = queue(s, qi);

	if (q && !q->started)
		pool_drop(q);
}

void vsnd__vqset_enable(struct vsnd_vqset *s, unsigned int qi, bool on)
{
	struct vsnd_vqset_queue *q = queue(s, qi);

	if (q)
		q->enabled = on;
}

bool vsnd__vqset_started(const struct vsnd_vqset *s, unsigned int qi)
{
	return s && qi < VSND_NUM_QUEUES && s->q[qi].started;
}

static bool iov_in(const struct iovec *iov, unsigned int n, uintptr_t a, uintptr_t end)
{
	for (unsigned int i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)iov[i].iov_base;

		if (iov[i].iov_len && b < end && a < b + iov[i].iov_len)
			return true;
	}
	return false;
}

static bool queue_holds(const struct vsnd_vqset_queue *q, uintptr_t a, uintptr_t end)
{
	if (q->n_free == q->num)
		return false;
	for (unsigned int i = 0; i < q->num; i++) {
		const struct vsnd_vqset_slot *slot = &q->slots[i];

		if (slot->in_use && slot->gen == q->gen &&
		    iov_in(slot->elem.iov, slot->elem.n_rd + slot->elem.n_wr, a, end))
			return true;
	}
	return false;
}

bool vsnd__vqset_holds(const struct vsnd_vqset *s, const void *start, size_t len)
{
	uintptr_t a = (uintptr_t)start;

	if (!s || !len)
		return false;
	for (unsigned int i = 0; i < VSND_NUM_QUEUES; i++)
		if (queue_holds(&s->q[i], a, a + len))
			return true;
	return false;
}

bool vsnd__vqset_broken(const struct vsnd_vqset *s, unsigned int qi)
{
	if (!s || qi >= VSND_NUM_QUEUES)
		return false;
	return s->q[qi].started ? s->q[qi].vq.broken : s->q[qi].broken;
}

bool vsnd__vqset_set_notification(struct vsnd_vqset *s, unsigned int qi, bool enable)
{
	struct vsnd_vqset_queue *q = queue(s, qi);

	return q && q->started && vsnd__virtq_set_notification(&q->vq, enable);
}

int vsnd__vqset_stats(const struct vsnd_vqset *s, unsigned int qi, struct vsnd__vqset_stats *st)
{
	if (!s || qi >= VSND_NUM_QUEUES || !st)
		return -EINVAL;
	*st = s->q[qi].stats;
	return 0;
}

/* Pop one chain into the top free slot. A valid chain we cannot map goes
 * straight back to the driver with len 0 (-EMSGSIZE): the device never sees
 * it, and the driver gets its buffer back instead of waiting forever. */
static int pop_one(struct vsnd_vqset_queue *q, struct vsnd_chain **out)
{
	struct vsnd_vqset_slot *slot;
	struct vsnd_chain *c;
	int r;

	if (!q->n_free)
		return -EAGAIN;
	slot = &q->slots[q->free[q->n_free - 1]];
	r = vsnd__virtq_pop(&q->vq, &slot->elem);
	if (r == -EMSGSIZE) {
		vsnd__virtq_push(&q->vq, slot->elem.head, 0);
		q->stats.discarded++;
	}
	if (r)
		return r;
	q->n_free--;
	slot->gen = q->gen;
	slot->in_use = true;
	c = &slot->chain[q->gen & 1];
	*c = (struct vsnd_chain){
		.rd = slot->elem.iov, .n_rd = slot->elem.n_rd, .rd_len = slot->elem.rd_len,
		.wr = slot->elem.iov + slot->elem.n_rd, .n_wr = slot->elem.n_wr,
		.wr_len = slot->elem.wr_len,
	};
	q->stats.popped++;
	*out = c;
	return 0;
}

static void vqset_notify(void *opaque, unsigned int qi)
{
	struct vsnd_vqset *s = opaque;
	struct vsnd_vqset_queue *q = queue(s, qi);

	if (!q || !q->started || !vsnd__virtq_should_notify(&q->vq))
		return;
	q->stats.signals++;
	if (s->signal)
		s->signal(s->opaque, qi);
}

static int vqset_pop(void *opaque, unsigned int qi, struct vsnd_chain **chain)
{
	struct vsnd_vqset *s = opaque;
	struct vsnd_vqset_queue *q = queue(s, qi);
	bool discarded = false;
	int r;

	if (!q || !q->started || !q->enabled)
		return -EAGAIN;
	/* Bounded: each discard consumes one of at most num available chains. */
	while ((r = pop_one(q, chain)) == -EMSGSIZE)
		discarded = true;
	/* The device will not notify for chains it never saw. */
	if (r && discarded)
		vqset_notify(s, qi);
	return r;
}

/* The slot behind a chain pointer, or NULL if the pointer is not a live
 * chain of this queue (dropped at a stop, pushed twice, or garbage). Only
 * addresses are compared until the pointer is known to be ours. */
static struct vsnd_vqset_slot *slot_of(struct vsnd_vqset_queue *q, const struct vsnd_chain *c)
{
	uintptr_t base = (uintptr_t)q->slots, p = (uintptr_t)c;
	struct vsnd_vqset_slot *slot;

	if (!q->slots || p < base || p - base >= (uintptr_t)q->cap * sizeof(*slot))
		return NULL;
	slot = &q->slots[(p - base) / sizeof(*slot)];
	if (c != &slot->chain[q->gen & 1] || slot->gen != q->gen || !slot->in_use)
		return NULL;
	return slot;
}

static void vqset_push(void *opaque, unsigned int qi, struct vsnd_chain *chain, uint32_t len)
{
	struct vsnd_vqset *s = opaque;
	struct vsnd_vqset_queue *q = queue(s, qi);
	struct vsnd_vqset_slot *slot = q && q->started ? slot_of(q, chain) : NULL;

	if (!slot) {
		if (q)
			q->stats.stale++;
		return;
	}
	/* 2.7.8.2: len must not overstate what the chain can hold. */
	if (len > slot->elem.wr_len)
		len = (uint32_t)slot->elem.wr_len;
	vsnd__virtq_push(&q->vq, slot->elem.head, len);
	slot->in_use = false;
	q->free[q->n_free++] = (uint32_t)(slot - q->slots);
	q->stats.pushed++;
}

static bool vqset_set_kicks(void *opaque, unsigned int qi, bool want)
{
	return vsnd__vqset_set_notification(opaque, qi, want);
}

const struct vsnd_transport_ops vsnd__vqset_ops = {
	.size = sizeof(struct vsnd_transport_ops),
	.pop = vqset_pop,
	.push = vqset_push,
	.notify = vqset_notify,
	.set_kicks = vqset_set_kicks,
};
