/* SPDX-License-Identifier: MIT */
/*
 * Lock-free single-producer/single-consumer byte ring.
 *
 * Positions are free-running 64-bit byte counts, so "has the consumer passed
 * byte N of the stream" is a plain comparison and never wraps in practice.
 * One thread writes, one thread reads; either may be a real-time thread:
 * no call here blocks, locks or allocates (except init).
 */
#ifndef VSND_RING_H
#define VSND_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Atomic members that a C11 and a C++ program see alike: C++23's
 * <stdatomic.h> makes _Atomic(T) std::atomic<T> the same way, and gcc and
 * clang give both the same size, alignment and lock-free operations. */
#ifdef __cplusplus
#include <atomic>
#define VSND_ATOMIC(T) std::atomic<T>
#else
#include <stdatomic.h>
#define VSND_ATOMIC(T) _Atomic(T)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Part of struct vsnd_port: fixed for this soname. */
struct vsnd_ring {
	uint8_t *buf;
	size_t cap;  /* a power of two */
	VSND_ATOMIC(uint64_t) wpos; /* total bytes ever written */
	VSND_ATOMIC(uint64_t) rpos; /* total bytes ever read */
};

/* Allocate at least min_cap bytes (rounded up to a power of two).
 * Returns 0 or -ENOMEM / -EINVAL. Not concurrent with anything. */
int vsnd_ring_init(struct vsnd_ring *r, size_t min_cap);
/* Free the buffer. NULL-safe and idempotent. */
void vsnd_ring_fini(struct vsnd_ring *r);
/* Empty the ring and restart both positions at 0 (no reader or writer may
 * be running). */
void vsnd_ring_reset(struct vsnd_ring *r);

uint64_t vsnd_ring_rpos(const struct vsnd_ring *r);
uint64_t vsnd_ring_wpos(const struct vsnd_ring *r);
/* Bytes readable now (either side may call it). */
size_t vsnd_ring_fill(const struct vsnd_ring *r);
/* Bytes writable now. */
size_t vsnd_ring_space(const struct vsnd_ring *r);

/* Producer: copy up to n bytes in; returns the bytes written. */
size_t vsnd_ring_write(struct vsnd_ring *r, const void *src, size_t n);
/* Producer: copy up to len bytes of an iovec list, starting at byte off. */
size_t vsnd_ring_write_iov(struct vsnd_ring *r, const struct iovec *iov, unsigned int n_iov,
			   size_t off, size_t len);
/* Consumer: copy up to n bytes out; returns the bytes read. */
size_t vsnd_ring_read(struct vsnd_ring *r, void *dst, size_t n);
/* Consumer: copy up to len bytes into an iovec list starting at byte off. */
size_t vsnd_ring_read_iov(struct vsnd_ring *r, const struct iovec *iov, unsigned int n_iov,
			  size_t off, size_t len);
/* Consumer: drop up to n bytes; returns the bytes dropped. */
size_t vsnd_ring_skip(struct vsnd_ring *r, size_t n);

#ifdef __cplusplus
}
#endif
#endif
