/* SPDX-License-Identifier: MIT */
/*
 * The device's four virtqueues as a struct vsnd_transport_ops.
 *
 * A transport (vhost-user, an emulator's virtio-mmio model, a test) starts
 * and stops rings with host pointers it translated itself; the device pops
 * and pushes chains through vsnd__vqset_ops without knowing about rings.
 *
 * Each started queue owns one chain slot per ring entry, allocated at start:
 * the data path never allocates. Popped chains live in those slots until they
 * are pushed. Stopping a queue parks the chains still held (see
 * vsnd__vqset_stop() and docs/rings.md); a push of a chain dropped since is
 * recognised and ignored.
 *
 * Threading: every function runs on the device thread, or while the device
 * thread is quiesced (a vhost-user GET_VRING_BASE, SET_MEM_TABLE ...).
 */
#ifndef VSND_VIRTQ_VQSET_H
#define VSND_VIRTQ_VQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsnd/vsnd.h>

#include "virtq/virtq.h"

struct vsnd_vqset_slot;

/* Counters of one queue; they survive stop/start and reset at init. */
struct vsnd__vqset_stats {
	uint64_t popped;     /* chains handed to the device */
	uint64_t pushed;     /* chains given back by the device */
	uint64_t discarded;  /* valid chains we could not map: pushed back with len 0 */
	uint64_t dropped;    /* chains still held when the queue stopped */
	uint64_t stale;      /* pushes of dropped or unknown chains, ignored */
	uint64_t signals;    /* calls to signal() */
};

struct vsnd_vqset_queue {
	struct virtq vq;
	bool started;
	bool enabled;
	bool broken;                    /* the ring was corrupt when stopped */
	uint16_t base;                  /* next avail index while stopped */
	uint32_t gen;                   /* bumped at every stop */
	unsigned int cap;               /* slots allocated (>= num of the ring) */
	unsigned int num;               /* slots in service: the last ring's size */
	struct vsnd_vqset_slot *slots;
	uint32_t *free;                 /* stack of free slot indices */
	unsigned int n_free;
	struct vsnd__vqset_stats stats;
};

struct vsnd_vqset {
	struct vsnd_vqset_queue q[VSND_NUM_QUEUES];
	void (*signal)(void *opaque, unsigned int q);
	void *opaque;
};

/* Pop/push/notify for the device; opaque is the struct vsnd_vqset *. */
extern const struct vsnd_transport_ops vsnd__vqset_ops;

/*
 * Set up an empty set: every queue stopped and disabled. signal(opaque, q)
 * interrupts the driver for queue q (write the call eventfd); NULL means
 * never. Returns 0, or -EINVAL if s is NULL.
 */
int vsnd__vqset_init(struct vsnd_vqset *s, void (*signal)(void *opaque, unsigned int q),
		    void *opaque);
/* Free every slot. Chains still held become invalid. NULL is fine. */
void vsnd__vqset_fini(struct vsnd_vqset *s);

/*
 * Start queue q over a ring (host pointers: desc 16*num bytes, avail 6+2*num,
 * used 6+8*num; mem translates buffer addresses and must outlive the queue).
 * last_avail is SET_VRING_BASE's value. A queue already started is stopped
 * first. Chains parked by a stop stay in use when num is the previous ring's
 * size; another size drops them. Returns 0, -EINVAL (bad q or ring),
 * -EADDRINUSE (overlapping ring parts; see vsnd__virtq_init()) or -ENOMEM; on
 * error the queue is left stopped.
 */
int vsnd__vqset_start(struct vsnd_vqset *s, unsigned int q, unsigned int num, void *desc,
		     void *avail, void *used, const struct virtq_mem *mem, bool event_idx,
		     bool indirect, uint16_t last_avail);

/*
 * Stop queue q and return the next avail index to process (GET_VRING_BASE).
 * Chains still held stay held ("parked"): a stop may be a VM pause, and
 * completing audio that was never played would make the guest's clock jump
 * a whole buffer. When the same ring (same size) starts again they complete
 * into it; pushes while stopped are ignored (stats.stale). A driver reset
 * must call vsnd__vqset_discard(). On a stopped queue, returns the index of
 * the last start or stop (0 if never started).
 */
uint16_t vsnd__vqset_stop(struct vsnd_vqset *s, unsigned int q);
/* Drop the chains parked on a stopped queue (the driver reset the device:
 * their ring is gone). Counted in stats.dropped; later pushes are ignored. */
void vsnd__vqset_discard(struct vsnd_vqset *s, unsigned int q);

/* SET_VRING_ENABLE: a queue pops only when started and enabled. Pushes and
 * notifications of a started queue work either way. */
void vsnd__vqset_enable(struct vsnd_vqset *s, unsigned int q, bool on);

/* Is queue q started? */
bool vsnd__vqset_started(const struct vsnd_vqset *s, unsigned int q);

/* Does any chain held (in use or parked) point into [start, start+len) of
 * host memory? The transport asks before it unmaps guest memory. */
bool vsnd__vqset_holds(const struct vsnd_vqset *s, const void *start, size_t len);

/* Did queue q see a corrupt ring since it was last started? Stays true
 * after stop, until the next start. */
bool vsnd__vqset_broken(const struct vsnd_vqset *s, unsigned int q);

/* Kick suppression for queue q (see vsnd__virtq_set_notification()). Returns true
 * if chains are waiting after re-enabling: pop again. */
bool vsnd__vqset_set_notification(struct vsnd_vqset *s, unsigned int q, bool enable);

/* Copy the counters of queue q. Returns 0 or -EINVAL for a bad q. */
int vsnd__vqset_stats(const struct vsnd_vqset *s, unsigned int q, struct vsnd__vqset_stats *st);

#endif
