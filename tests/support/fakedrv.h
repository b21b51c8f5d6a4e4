/* SPDX-License-Identifier: MIT */
/*
 * A fake virtio guest for tests: guest memory, a driver-side split ring,
 * and helpers that build chains the way the Linux driver does.
 *
 * Guest memory is an arena at guest-physical address gpa_base, made of two
 * separately allocated host regions (region 0 below gpa_base + split, region
 * 1 above), so a buffer that crosses the boundary is not contiguous in host
 * memory and the device must map it as two iovecs. Everything outside the
 * arena is unmapped. A region can be made read-only to test that writable
 * buffers are translated with is_write.
 *
 * Typical use:
 *   struct fakedrv d; struct fakedrv_ring r; struct fakedrv_req req;
 *   fakedrv_init(&d, NULL);
 *   fakedrv_ring_init(&r, &d, 64, true);
 *   fakedrv_ring_start(&r, &vqset, VSND_QUEUE_CONTROL, true);
 *   fakedrv_add_request(&r, query, 16, 4 + 32, NULL, &req);
 *   vring_flush(&r.ring);  ...device runs...
 *   fakedrv_ring_get_used(&r, &id, &len);  fakedrv_read(&d, req.wr_gpa, buf, len);
 *
 * Functions returning int answer 0 (or a head index) or a negative errno;
 * a test should assert on them. Not thread-safe: one test thread.
 */
#ifndef VSND_TESTS_FAKEDRV_H
#define VSND_TESTS_FAKEDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drive/vring.h"
#include "virtq/virtq.h"
#include "virtq/vqset.h"

#define FAKEDRV_DEFAULT_BASE 0x100000u
#define FAKEDRV_DEFAULT_SIZE (16u << 20)
/* Bytes kept free on each side of the region boundary for straddling
 * buffers (fakedrv_straddle()); the allocator never hands them out. */
#define FAKEDRV_STRADDLE_ZONE (64u << 10)

struct fakedrv_config {
	uint64_t gpa_base;  /* 0: FAKEDRV_DEFAULT_BASE (must not be 0 otherwise) */
	size_t size;        /* 0: FAKEDRV_DEFAULT_SIZE */
	size_t split;       /* bytes in region 0; 0: size / 2 */
};

struct fakedrv {
	uint64_t gpa_base;
	size_t size, split;
	uint8_t *host[2];
	bool readonly[2];       /* refuse is_write translations into the region */
	size_t brk[2];          /* bump allocator: next free offset in each region */
	unsigned long translations; /* translate() calls, for tests */
	struct virtq_mem mem;   /* hand this to vsnd__virtq_init / vsnd__vqset_start */
};

/* Allocate and zero the arena. cfg may be NULL. Returns 0, -EINVAL, -ENOMEM. */
int fakedrv_init(struct fakedrv *d, const struct fakedrv_config *cfg);
void fakedrv_fini(struct fakedrv *d);

/* The virtq_mem translate callback (opaque = struct fakedrv *). */
void *fakedrv_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail, bool is_write);

/* Allocate len zeroed bytes of guest memory aligned to align (a power of
 * two), in region 0 if it fits, else region 1. Never freed. Returns the gpa,
 * or 0 if the arena is full. */
uint64_t fakedrv_alloc(struct fakedrv *d, size_t len, size_t align);
/* Same, in a given region (0 or 1). */
uint64_t fakedrv_alloc_in(struct fakedrv *d, unsigned int region, size_t len, size_t align);
/* A gpa whose first `before` bytes are in region 0 and the rest in region 1
 * (before <= FAKEDRV_STRADDLE_ZONE). Always the same area: one at a time. */
uint64_t fakedrv_straddle(const struct fakedrv *d, size_t before);
/* First gpa of region 1 (the boundary). */
uint64_t fakedrv_boundary(const struct fakedrv *d);

/* Copy to/from guest memory (may cross the boundary). Returns 0 or -EFAULT
 * if any byte is outside the arena. */
int fakedrv_write(struct fakedrv *d, uint64_t gpa, const void *buf, size_t len);
int fakedrv_read(const struct fakedrv *d, uint64_t gpa, void *buf, size_t len);
int fakedrv_fill(struct fakedrv *d, uint64_t gpa, int c, size_t len);
/* Host pointer for [gpa, gpa+len) if it lies in one region, else NULL. */
void *fakedrv_host(const struct fakedrv *d, uint64_t gpa, size_t len);

/* Write one 16-byte descriptor {addr, len, flags, next} at table_gpa + 16*i
 * (building indirect tables by hand). Returns 0 or -EFAULT. */
int fakedrv_write_desc(struct fakedrv *d, uint64_t table_gpa, unsigned int i, uint64_t addr,
		       uint32_t len, uint16_t flags, uint16_t next);

/*
 * Append [gpa, gpa+len) to segs[n..] as descriptors of at most chunk bytes
 * (chunk 0: one descriptor; len 0: one empty descriptor). Returns the new
 * count, or -ENOSPC if it would exceed max.
 */
int fakedrv_split(struct vring_seg *segs, int n, unsigned int max, uint64_t gpa, size_t len,
		  uint32_t chunk, bool write);
/* Same, cutting at the given increasing offsets into the buffer (cuts at 0,
 * at or past len are ignored). */
int fakedrv_cut(struct vring_seg *segs, int n, unsigned int max, uint64_t gpa, size_t len,
		const size_t *cuts, unsigned int n_cuts, bool write);

/* The driver side of one split ring, living in the arena (region 0): the
 * project's driver-side ring (src/drive/vring.c) over fake memory, plus the
 * guest memory its chains need. */
struct fakedrv_ring {
	struct fakedrv *d;
	struct vring ring;      /* num, host views desc/avail/used, indices, free list */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t start_idx;     /* avail index the device starts from */
	uint64_t *table_gpa;    /* per head: reusable indirect table */
	unsigned int *table_cap;
	uint64_t *data_gpa;     /* per head: reusable fakedrv_add_request() buffer */
	size_t *data_cap;
};

/* Lay out a zeroed ring of num entries (power of two) in region 0 and
 * chain every descriptor into the free list. Returns 0, -EINVAL, -ENOMEM. */
int fakedrv_ring_init(struct fakedrv_ring *r, struct fakedrv *d, unsigned int num,
		      bool event_idx);
void fakedrv_ring_fini(struct fakedrv_ring *r);

/* vsnd__virtq_init() over this ring (device side), with the ring's EVENT_IDX
 * setting and last_avail = start_idx (0, or what set_indices() chose). */
int fakedrv_ring_virtq(struct fakedrv_ring *r, struct virtq *vq, bool indirect);
/* vsnd__vqset_start() + vsnd__vqset_enable() for queue q over this ring, from
 * start_idx. */
int fakedrv_ring_start(struct fakedrv_ring *r, struct vsnd_vqset *s, unsigned int q,
		       bool indirect);

/*
 * Add a chain made of segs (readable ones first, as a driver must) to the
 * avail ring, without publishing it (vring_flush(&r->ring) does, and says
 * whether to notify). Direct: n descriptors from the free list. Indirect:
 * one ring descriptor pointing at a table of n entries in the arena.
 * Returns the head, or -ENOSPC (not enough free descriptors), -EINVAL, -ENOMEM.
 */
int fakedrv_ring_add(struct fakedrv_ring *r, const struct vring_seg *segs, unsigned int n,
		     bool indirect);

/*
 * Read the next used entry (vring_get_used()), also when its id is no chain
 * this driver added (a head published by hand): 0 with *id and *len, or
 * -EAGAIN when the device has not published one.
 */
int fakedrv_ring_get_used(struct fakedrv_ring *r, uint32_t *id, uint32_t *len);
/* Before the device starts: make both rings begin at the given indices
 * (vring_set_indices()), and the device from that avail index. */
void fakedrv_ring_set_indices(struct fakedrv_ring *r, uint16_t avail_idx, uint16_t used_idx);

/* The rest of the ring (publish, flush and the kick decision, used entries,
 * raw descriptors and indices) is the ring module's: vring_*(&r->ring, ...). */

/* Options of fakedrv_add_request(); NULL means all zero. */
struct fakedrv_req_opts {
	uint32_t split;     /* max bytes per descriptor; 0: one per part */
	bool indirect;      /* through an indirect table */
	uint8_t resp_fill;  /* the writable part is pre-filled with this byte */
};

/* Where a request's two parts live in guest memory. */
struct fakedrv_req {
	int head;
	uint64_t rd_gpa, wr_gpa;
	size_t rd_len, wr_len;
};

/*
 * Add (not publish) a generic request chain: the rd_len bytes of rd as the
 * readable part, then wr_len writable bytes. This covers vsnd control
 * requests ([request][status hdr + payload]), TX messages ([xfer + frames]
 * [status]), RX messages ([xfer][frames + status]) and event buffers
 * (rd_len 0). Both parts live in a per-head guest buffer that is reused when
 * that head is reused, so read the response before adding more requests.
 * Returns the head (also in out->head, out may be NULL) or a negative errno.
 */
int fakedrv_add_request(struct fakedrv_ring *r, const void *rd, size_t rd_len, size_t wr_len,
			const struct fakedrv_req_opts *opts, struct fakedrv_req *out);

#endif
