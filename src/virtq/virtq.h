/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue engine (VirtIO 1.3, 2.7), device side.
 *
 * Knows nothing about sound or vhost-user: it walks descriptor chains through
 * a memory-translation callback, so it serves a vhost-user memory table and an
 * embedding emulator alike. Guest memory is hostile: every index, length,
 * table and loop is checked; a corrupt ring makes the queue "broken" and it
 * stops serving instead of crashing.
 *
 * Threading: one thread uses a given struct virtq (the device thread).
 */
#ifndef VSND_VIRTQ_H
#define VSND_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX_SIZE 32768
/* iovecs one chain may carry (readable + writable). A chain needing more is
 * valid but too big for us: vsnd__virtq_pop() answers -EMSGSIZE for it. */
#define VIRTQ_MAX_IOV 512

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/*
 * Guest memory access. translate() maps [gpa, gpa+len) to host memory and
 * returns a pointer valid for *avail bytes (1 <= *avail <= len: a range that
 * spans two host regions is translated piece by piece), or NULL if gpa is not
 * mapped. The engine asks with is_write so a transport can refuse writes to
 * read-only memory.
 */
struct virtq_mem {
	void *(*translate)(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail, bool is_write);
	void *opaque;
};

/* One popped chain. The iovecs point into guest memory. */
struct virtq_elem {
	uint16_t head;          /* descriptor index to give back in the used ring */
	unsigned int n_rd;      /* readable iovecs: iov[0 .. n_rd) */
	unsigned int n_wr;      /* writable iovecs: iov[n_rd .. n_rd + n_wr) */
	size_t rd_len, wr_len;  /* total bytes of each part */
	struct iovec iov[VIRTQ_MAX_IOV];
};

struct virtq {
	unsigned int num;       /* ring size; 0 = not set up */
	void *desc;             /* host pointers to the three ring parts */
	void *avail;
	void *used;
	struct virtq_mem mem;
	bool event_idx;         /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;          /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool broken;
	uint16_t last_avail;    /* next avail index to process */
	uint16_t used_idx;      /* our shadow of used->idx */
	uint16_t signalled_used;  /* used idx at the last notify decision */
	bool signalled_used_valid;
	uint16_t inflight;      /* popped and not yet pushed */
	bool kicks_off;         /* the device looks on its own (set_notification) */
};

/*
 * Set up a ring over already-translated host pointers (desc 16*num bytes,
 * avail 6+2*num, used 6+8*num). last_avail is SET_VRING_BASE's value; the
 * used index is read from the used ring in memory. Returns 0, -EINVAL (num
 * not a power of two in 1..VIRTQ_MAX_SIZE, NULL pointer, misaligned) or
 * -EADDRINUSE (two parts overlap: avail 4+2*num and used 4+8*num bytes, 2
 * more each with event_idx); the ring is then left alone.
 */
int vsnd__virtq_init(struct virtq *vq, unsigned int num, void *desc, void *avail, void *used,
	       const struct virtq_mem *mem, bool event_idx, bool indirect, uint16_t last_avail);
/* Forget the ring (num = 0). */
void vsnd__virtq_fini(struct virtq *vq);

/* Number of chains the driver made available and we have not popped. 0 if
 * broken or not set up. */
unsigned int vsnd__virtq_avail_count(struct virtq *vq);

/*
 * Pop the next chain into *elem.
 * Returns 0; -EAGAIN if none is available; -EMSGSIZE if the chain is valid
 * but needs more than VIRTQ_MAX_IOV iovecs or an address that does not
 * translate (elem->head is set, n_rd = n_wr = 0: push it back with len 0);
 * -EIO if the ring is corrupt (loop, index out of range, nested or bad
 * indirect table, readable after writable, avail idx jumping more than num):
 * the queue is then broken and every later call answers -EIO.
 */
int vsnd__virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/* Put a used entry {head, len} (len = bytes written to the writable part).
 * Does not notify. */
void vsnd__virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* After pushes: should the driver be interrupted? Applies EVENT_IDX or the
 * NO_INTERRUPT flag, after a full barrier. */
bool vsnd__virtq_should_notify(struct virtq *vq);

/* Kick suppression: enable = we want kicks (the default, and again after
 * init). While off, the driver adds buffers without kicking and the device
 * must look at the ring on its own. Re-enabling returns true if buffers
 * arrived meanwhile (the caller must then pop again). */
bool vsnd__virtq_set_notification(struct virtq *vq, bool enable);

#endif
