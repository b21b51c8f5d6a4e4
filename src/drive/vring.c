/* SPDX-License-Identifier: MIT */
#include "drive/vring.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>

#include "util/iov.h"
#include "virtq/virtq.h"

/* Ring layout (VirtIO 1.3, 2.7), in bytes. */
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_IDX 2
#define USED_RING 4

static uint16_t *u16_at(uint8_t *base, size_t off)
{
	return (uint16_t *)(base + off);
}

static void ring_st16(uint8_t *base, size_t off, uint16_t v)
{
	__atomic_store_n(u16_at(base, off), htole16(v), __ATOMIC_RELAXED);
}

static uint16_t ring_ld16(uint8_t *base, size_t off)
{
	return le16toh(__atomic_load_n(u16_at(base, off), __ATOMIC_RELAXED));
}

static size_t used_event_off(const struct vring *r)
{
	return AVAIL_RING + 2 * (size_t)r->num;
}

static size_t avail_event_off(const struct vring *r)
{
	return USED_RING + 8 * (size_t)r->num;
}

int vring_init(struct vring *r, unsigned int num, void *desc, void *avail, void *used,
	       bool event_idx)
{
	*r = (struct vring){ .num = num, .event_idx = event_idx, .desc = desc, .avail = avail,
			   .used = used };
	if (!num || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	r->next_free = calloc(num, sizeof(*r->next_free));
	r->chain_n = calloc(num, sizeof(*r->chain_n));
	if (!r->next_free || !r->chain_n) {
		vring_fini(r);
		return -ENOMEM;
	}
	vring_reset(r);
	return 0;
}

void vring_fini(struct vring *r)
{
	if (!r)
		return;
	free(r->next_free);
	free(r->chain_n);
	r->next_free = r->chain_n = NULL;
}

void vring_reset(struct vring *r)
{
	r->avail_idx = r->kicked_idx = r->last_used = 0;
	r->manual_used_event = false;
	for (unsigned int i = 0; i < r->num; i++) {
		r->next_free[i] = (uint16_t)(i + 1 < r->num ? i + 1 : 0);
		r->chain_n[i] = 0;
	}
	r->free_head = 0;
	r->n_free = r->num;
}

void vring_put_desc(uint8_t *at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	vsnd_put_le64(at, addr);
	vsnd_put_le32(at + 8, len);
	vsnd_put_le16(at + 12, flags);
	vsnd_put_le16(at + 14, next);
}

void vring_set_desc(struct vring *r, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t *at = r->desc + (size_t)(i & (r->num - 1)) * VRING_DESC_SIZE;

	vring_put_desc(at, addr, len, flags, next);
}

uint16_t vring_next_head(const struct vring *r)
{
	return r->free_head;
}

/* Take n descriptors off the free list; they stay linked by next_free. */
static uint16_t take_descs(struct vring *r, unsigned int n)
{
	uint16_t head = r->free_head, last = head;

	for (unsigned int i = 1; i < n; i++)
		last = r->next_free[last];
	r->free_head = r->next_free[last];
	r->n_free -= n;
	return head;
}

static void give_descs(struct vring *r, uint16_t head, unsigned int n)
{
	uint16_t last = head;

	for (unsigned int i = 1; i < n; i++)
		last = r->next_free[last];
	r->next_free[last] = r->free_head;
	r->free_head = head;
	r->n_free += n;
}

static uint16_t seg_flags(const struct vring_seg *segs, unsigned int i, unsigned int n)
{
	return (uint16_t)((segs[i].write ? VIRTQ_DESC_F_WRITE : 0) |
			  (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
}

void vring_put_chain(uint8_t *at, uint16_t first, const struct vring_seg *segs, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		vring_put_desc(at + (size_t)k * VRING_DESC_SIZE, segs[k].gpa, segs[k].len,
			       seg_flags(segs, k, n), (uint16_t)(first + k + 1));
}

static uint16_t add_direct(struct vring *r, const struct vring_seg *segs, unsigned int n)
{
	uint16_t head = take_descs(r, n), i = head;

	for (unsigned int k = 0; k < n; k++) {
		vring_set_desc(r, i, segs[k].gpa, segs[k].len, seg_flags(segs, k, n),
			       r->next_free[i]);
		i = r->next_free[i];
	}
	r->chain_n[head] = (uint16_t)n;
	return head;
}

static uint16_t add_indirect(struct vring *r, const struct vring_seg *segs, unsigned int n,
			     const struct vring_table *t)
{
	uint16_t head = take_descs(r, 1);

	vring_put_chain(t->host, 0, segs, n);
	vring_set_desc(r, head, t->gpa, (uint32_t)(VRING_DESC_SIZE * n), VIRTQ_DESC_F_INDIRECT, 0);
	r->chain_n[head] = 1;
	return head;
}

int vring_add(struct vring *r, const struct vring_seg *segs, unsigned int n,
	      const struct vring_table *table)
{
	uint16_t head;

	if (!n)
		return -EINVAL;
	if (r->n_free < (table ? 1 : n))
		return -ENOSPC;
	if (table && n > VIRTQ_MAX_SIZE)
		return -EINVAL;
	head = table ? add_indirect(r, segs, n, table) : add_direct(r, segs, n);
	vring_publish(r, head);
	return head;
}

void vring_publish(struct vring *r, uint16_t head)
{
	ring_st16(r->avail, AVAIL_RING + 2 * (size_t)(r->avail_idx & (r->num - 1)), head);
	r->avail_idx++;
}

bool vring_flush(struct vring *r)
{
	uint16_t old = r->kicked_idx, new_idx = r->avail_idx;

	/* Release: ring entries and descriptors before the index. */
	__atomic_store_n(u16_at(r->avail, AVAIL_IDX), htole16(new_idx), __ATOMIC_RELEASE);
	/* and the index before we read the device's suppression fields */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r->kicked_idx = new_idx;
	if (r->event_idx) {
		uint16_t ev = ring_ld16(r->used, avail_event_off(r));

		return (uint16_t)(new_idx - ev - 1) < (uint16_t)(new_idx - old);
	}
	return !(ring_ld16(r->used, 0) & VIRTQ_USED_F_NO_NOTIFY);
}

uint16_t vring_used_idx(const struct vring *r)
{
	return le16toh(__atomic_load_n(u16_at(r->used, USED_IDX), __ATOMIC_ACQUIRE));
}

unsigned int vring_used_pending(const struct vring *r)
{
	return (uint16_t)(vring_used_idx(r) - r->last_used);
}

void vring_used_entry(const struct vring *r, uint16_t idx, uint32_t *id, uint32_t *len)
{
	const uint8_t *e = r->used + USED_RING + 8 * (size_t)(idx & (r->num - 1));

	*id = vsnd_le32(e);
	*len = vsnd_le32(e + 4);
}

int vring_take_used(struct vring *r, uint32_t *id, uint32_t *len)
{
	if (vring_used_pending(r) == 0)
		return -EAGAIN;
	vring_used_entry(r, r->last_used, id, len);
	r->last_used++;
	if (r->event_idx && !r->manual_used_event) {
		/* interrupt us for the very next entry */
		ring_st16(r->avail, used_event_off(r), r->last_used);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return 0;
}

int vring_get_used(struct vring *r, uint32_t *id, uint32_t *len)
{
	int rc = vring_take_used(r, id, len);

	if (rc < 0)
		return rc;
	if (*id >= r->num || !r->chain_n[*id])
		return -EPROTO;
	give_descs(r, (uint16_t)*id, r->chain_n[*id]);
	r->chain_n[*id] = 0;
	return 0;
}

void vring_set_avail_idx(struct vring *r, uint16_t idx)
{
	r->avail_idx = r->kicked_idx = idx;
	__atomic_store_n(u16_at(r->avail, AVAIL_IDX), htole16(idx), __ATOMIC_RELEASE);
}

void vring_set_indices(struct vring *r, uint16_t avail_idx, uint16_t used_idx)
{
	vring_set_avail_idx(r, avail_idx);
	ring_st16(r->used, USED_IDX, used_idx);
	r->last_used = used_idx;
}

void vring_set_avail_flags(struct vring *r, uint16_t flags)
{
	ring_st16(r->avail, 0, flags);
}

void vring_set_used_event(struct vring *r, uint16_t v)
{
	r->manual_used_event = true;
	ring_st16(r->avail, used_event_off(r), v);
}

uint16_t vring_used_flags(const struct vring *r)
{
	return ring_ld16(r->used, 0);
}

uint16_t vring_avail_event(const struct vring *r)
{
	return ring_ld16(r->used, avail_event_off(r));
}
