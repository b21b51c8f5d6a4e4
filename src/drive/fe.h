/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user frontend that is also the guest: it connects to a back-end's
 * Unix socket, shares memfd "guest memory" with SET_MEM_TABLE, negotiates
 * features, lays out the four split rings in that memory and drives them
 * from the driver's side. Used by vsnd-drive; one thread, blocking I/O with
 * timeouts (a back-end that hangs makes calls fail with -ETIMEDOUT).
 *
 * The back-end is hostile too: used ids and lengths it publishes are checked
 * before they are trusted.
 */
#ifndef VSND_DRIVE_FE_H
#define VSND_DRIVE_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsnd/vsnd.h>

#define VDF_GPA_BASE 0x80000000ull
#define VDF_UVA_BASE 0x7e0000000000ull
#define VDF_MEM_SIZE (16u << 20)
#define VDF_RING_NUM 128u

/* Driver side of one split ring. Chains take two consecutive descriptors
 * (slot k = descriptors 2k, 2k+1), so at most num/2 are in flight. */
struct vdf_ring {
	unsigned int num;
	size_t desc, avail, used;       /* offsets into the memory */
	size_t tables;                  /* per slot: a 2-entry indirect table */
	uint16_t avail_idx, last_used;
	uint16_t base;                  /* next avail index the back-end had at a pause */
	int kick, call;                 /* eventfds */
	uint16_t free[VDF_RING_NUM / 2]; /* stack of free slots */
	unsigned int n_free;
	bool busy[VDF_RING_NUM / 2];
};

struct vdf {
	int sock;
	int memfd;
	uint8_t *mem;
	size_t mem_size, brk;
	uint64_t offered;               /* device features the back-end offered */
	uint64_t features;              /* features we accepted */
	uint64_t protocol;              /* protocol features in use */
	bool event_idx;
	bool indirect;                  /* chains go through indirect tables */
	struct vdf_ring r[VSND_NUM_QUEUES];
};

/* Connect to path and bring the device up the way QEMU does (features,
 * protocol features, owner, memory table, four rings, enable). Features
 * outside want_mask are refused. Returns 0 or a negative errno. */
int vdf_open(struct vdf *f, const char *path, uint64_t want_mask);
/* Close the connection and free everything. NULL-safe, idempotent. */
void vdf_close(struct vdf *f);

/* Stop every ring (GET_VRING_BASE, as QEMU at a VM stop) and keep each
 * ring's base for vdf_resume(). Returns 0 or a negative errno. */
int vdf_pause(struct vdf *f);
/* Start the rings again where they stopped (as at a VM cont): same rings,
 * same eventfds, enabled. Returns 0 or a negative errno. */
int vdf_resume(struct vdf *f);
/* Reset the device as a driver re-init under QEMU does: pause, clear the
 * rings in place, start them from index 0. Chains in flight are forgotten.
 * Returns 0 or a negative errno. */
int vdf_reset(struct vdf *f);
/* (Re)send the memory table: the one region of the memfd, size bytes from
 * VDF_GPA_BASE, with the frontend's own address of it given as uva (ring
 * addresses are sent at VDF_UVA_BASE; the frontend keeps using its first
 * VDF_MEM_SIZE bytes). Returns 0 or a negative errno. */
int vdf_set_mem_table(struct vdf *f, uint64_t uva, uint64_t size);

/* GET_CONFIG of len bytes at offset 0. Returns 0 or a negative errno. */
int vdf_get_config(struct vdf *f, uint8_t *buf, uint32_t len);
/* GET_VRING_BASE of queue q (stops the ring). Returns it or a negative errno. */
int vdf_get_vring_base(struct vdf *f, unsigned int q);

/* Allocate len zeroed bytes of guest memory; returns the offset or 0 when full. */
size_t vdf_alloc(struct vdf *f, size_t len, size_t align);
static inline uint64_t vdf_gpa(size_t off) { return VDF_GPA_BASE + off; }

/* Add [rd_len readable at rd_off][wr_len writable at wr_off] (either may be
 * 0) to queue q and publish it; kick unless no_kick. With INDIRECT_DESC
 * negotiated, a chain with both parts is one descriptor pointing at a
 * two-entry table, as Linux sends them. Returns the head or -ENOSPC when
 * every slot is in flight. */
int vdf_add(struct vdf *f, unsigned int q, size_t rd_off, uint32_t rd_len, size_t wr_off,
	    uint32_t wr_len, bool no_kick);
void vdf_kick(struct vdf *f, unsigned int q);
/* Next used entry of q: 0 with *id, *len; -EAGAIN if none; -EPROTO if the
 * device published an id that is not an in-flight head. */
int vdf_used(struct vdf *f, unsigned int q, uint32_t *id, uint32_t *len);
/* Wait up to timeout_ms for queue q's call eventfd (or a used entry already
 * there). Returns 1 if something may be ready, 0 on timeout. */
int vdf_wait(struct vdf *f, unsigned int q, int timeout_ms);
/* Chains of q still in flight. */
unsigned int vdf_in_flight(const struct vdf *f, unsigned int q);

/* CLOCK_MONOTONIC in ns. */
uint64_t vdf_now_ns(void);

#endif
