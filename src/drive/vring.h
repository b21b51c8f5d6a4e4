/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of a split virtqueue (VirtIO 1.3, 2.7): descriptors
 * from a free list as Linux keeps them, chains added direct or through an
 * indirect table, avail entries published with a release store, used
 * entries read back and their descriptors freed, EVENT_IDX on both sides.
 * The one driver-side ring of the project: vsnd-drive's frontend (fe.c)
 * and the tests' fake driver (tests/support/fakedrv.c) run it over their
 * own memory. It sees the three parts through host pointers and writes the
 * guest addresses it is given; it neither maps nor allocates guest memory.
 *
 * Functions returning int answer a head, 0 or a negative errno. One thread.
 * struct vring and vring_init() are also names of <linux/virtio_ring.h>'s
 * legacy helpers: a file that includes this header cannot include that one.
 */
#ifndef VSND_DRIVE_VRING_H
#define VSND_DRIVE_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VRING_DESC_SIZE 16u

/* One descriptor's worth of buffer. */
struct vring_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Where an indirect table goes: the host view and the guest address. */
struct vring_table {
	uint8_t *host;
	uint64_t gpa;
};

struct vring {
	unsigned int num;
	bool event_idx;         /* the driver negotiated EVENT_IDX */
	uint8_t *desc, *avail, *used;   /* host views of the three parts */
	uint16_t avail_idx;     /* next avail index (published by vring_flush) */
	uint16_t kicked_idx;    /* avail index at the last flush */
	uint16_t last_used;     /* next used entry to read */
	bool manual_used_event; /* the caller set used_event: stop updating it */
	uint16_t free_head;     /* descriptor free list, like Linux */
	unsigned int n_free;
	uint16_t *next_free;    /* free-list and chain links, kept host-side */
	uint16_t *chain_n;      /* per head: ring descriptors it took, 0 = none */
};

/* Ring of num entries (a power of two) over the given parts, which the
 * caller has zeroed; every descriptor free. Returns 0, -EINVAL, -ENOMEM. */
int vring_init(struct vring *r, unsigned int num, void *desc, void *avail, void *used,
	       bool event_idx);
/* NULL-safe, idempotent. */
void vring_fini(struct vring *r);
/* Forget every chain: indices 0, every descriptor free (the ring memory is
 * the caller's to clear). */
void vring_reset(struct vring *r);

/* The 16 bytes of one descriptor at host address at. */
void vring_put_desc(uint8_t *at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next);
/* segs as n consecutive descriptors at host address at, each linked to the
 * next as index first + i + 1 (a table's are numbered from 0, the ring's
 * from where they sit). */
void vring_put_chain(uint8_t *at, uint16_t first, const struct vring_seg *segs, unsigned int n);
/* Descriptor i of the ring (raw access, for corrupt rings). */
void vring_set_desc(struct vring *r, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next);

/* The head the next chain will get. */
uint16_t vring_next_head(const struct vring *r);
/*
 * Add a chain made of segs (readable ones first) to the avail ring, not yet
 * published: direct, n descriptors from the free list; or, with table, one
 * ring descriptor pointing at n entries written at table. Returns the head,
 * or -ENOSPC (not enough free descriptors) or -EINVAL.
 */
int vring_add(struct vring *r, const struct vring_seg *segs, unsigned int n,
	      const struct vring_table *table);
/* Put head into the next avail slot (raw; not published until vring_flush). */
void vring_publish(struct vring *r, uint16_t head);
/*
 * Publish what was added (release store of avail->idx) and decide, like
 * Linux's virtqueue_kick_prepare(), whether to notify the device: with
 * EVENT_IDX iff avail_event lies in the newly published range, else unless
 * used->flags has NO_NOTIFY. Returns that decision.
 */
bool vring_flush(struct vring *r);

/* Used entries the device published and we have not read. */
unsigned int vring_used_pending(const struct vring *r);
/* Peek at used->ring[idx % num] without consuming it. */
void vring_used_entry(const struct vring *r, uint16_t idx, uint32_t *id, uint32_t *len);
/* The next used entry, consumed, without freeing anything (for chains the
 * caller laid out by hand). With EVENT_IDX, then writes used_event = next
 * used index, as Linux does (unless set by hand). 0 or -EAGAIN. */
int vring_take_used(struct vring *r, uint32_t *id, uint32_t *len);
/* The same, and the chain's descriptors go back to the free list. Returns
 * 0; -EPROTO (entry consumed) if the id is not the head of a chain in
 * flight; -EAGAIN if there is none. */
int vring_get_used(struct vring *r, uint32_t *id, uint32_t *len);

/* Raw access, for corrupt rings and index arithmetic tests. */
void vring_set_avail_idx(struct vring *r, uint16_t idx);
/* Before the device starts: make both rings begin at the given indices. */
void vring_set_indices(struct vring *r, uint16_t avail_idx, uint16_t used_idx);
void vring_set_avail_flags(struct vring *r, uint16_t flags);
void vring_set_used_event(struct vring *r, uint16_t v);
uint16_t vring_used_idx(const struct vring *r);
uint16_t vring_used_flags(const struct vring *r);
uint16_t vring_avail_event(const struct vring *r);

#endif
