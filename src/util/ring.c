/* SPDX-License-Identifier: MIT */
#include "vsnd/ring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iov.h"

int vsnd_ring_init(struct vsnd_ring *r, size_t min_cap)
{
	size_t cap = 64;

	if (min_cap == 0 || min_cap > (size_t)1 << 30)
		return -EINVAL;
	while (cap < min_cap)
		cap <<= 1;
	r->buf = calloc(1, cap);
	if (!r->buf)
		return -ENOMEM;
	r->cap = cap;
	atomic_init(&r->wpos, 0);
	atomic_init(&r->rpos, 0);
	return 0;
}

void vsnd_ring_fini(struct vsnd_ring *r)
{
	if (!r)
		return;
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

void vsnd_ring_reset(struct vsnd_ring *r)
{
	atomic_store_explicit(&r->wpos, 0, memory_order_relaxed);
	atomic_store_explicit(&r->rpos, 0, memory_order_relaxed);
}

uint64_t vsnd_ring_rpos(const struct vsnd_ring *r)
{
	return atomic_load_explicit(&r->rpos, memory_order_acquire);
}

uint64_t vsnd_ring_wpos(const struct vsnd_ring *r)
{
	return atomic_load_explicit(&r->wpos, memory_order_acquire);
}

size_t vsnd_ring_fill(const struct vsnd_ring *r)
{
	return (size_t)(vsnd_ring_wpos(r) - vsnd_ring_rpos(r));
}

size_t vsnd_ring_space(const struct vsnd_ring *r)
{
	return r->cap - vsnd_ring_fill(r);
}

/*
 * The data copy happens between the acquire load of the other side's
 * position and the release store of ours: the consumer never sees a position
 * before the bytes behind it, and the producer never overwrites bytes the
 * consumer has not finished reading.
 */
typedef void (*ring_copy_fn)(uint8_t *ring, size_t pos, size_t len, void *ctx);

static size_t ring_produce(struct vsnd_ring *r, size_t n, ring_copy_fn fn, void *ctx)
{
	uint64_t w = atomic_load_explicit(&r->wpos, memory_order_relaxed);
	uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_acquire);
	size_t space = r->cap - (size_t)(w - rd);
	size_t off = (size_t)(w & (r->cap - 1));

	if (n > space)
		n = space;
	size_t first = r->cap - off < n ? r->cap - off : n;
	fn(r->buf + off, 0, first, ctx);
	if (n > first)
		fn(r->buf, first, n - first, ctx);
	atomic_store_explicit(&r->wpos, w + n, memory_order_release);
	return n;
}

static size_t ring_consume(struct vsnd_ring *r, size_t n, ring_copy_fn fn, void *ctx)
{
	uint64_t rd = atomic_load_explicit(&r->rpos, memory_order_relaxed);
	uint64_t w = atomic_load_explicit(&r->wpos, memory_order_acquire);
	size_t fill = (size_t)(w - rd);
	size_t off = (size_t)(rd & (r->cap - 1));

	if (n > fill)
		n = fill;
	size_t first = r->cap - off < n ? r->cap - off : n;
	if (fn) {
		fn(r->buf + off, 0, first, ctx);
		if (n > first)
			fn(r->buf, first, n - first, ctx);
	}
	atomic_store_explicit(&r->rpos, rd + n, memory_order_release);
	return n;
}

static void copy_in_buf(uint8_t *ring, size_t pos, size_t len, void *ctx)
{
	memcpy(ring, (const uint8_t *)ctx + pos, len);
}

static void copy_out_buf(uint8_t *ring, size_t pos, size_t len, void *ctx)
{
	memcpy((uint8_t *)ctx + pos, ring, len);
}

struct iov_ctx {
	const struct iovec *iov;
	unsigned int n;
	size_t off;
};

static void copy_in_iov(uint8_t *ring, size_t pos, size_t len, void *ctx)
{
	struct iov_ctx *c = ctx;

	vsnd__iov_to_buf(c->iov, c->n, c->off + pos, ring, len);
}

static void copy_out_iov(uint8_t *ring, size_t pos, size_t len, void *ctx)
{
	struct iov_ctx *c = ctx;

	vsnd__iov_from_buf(c->iov, c->n, c->off + pos, ring, len);
}

size_t vsnd_ring_write(struct vsnd_ring *r, const void *src, size_t n)
{
	return ring_produce(r, n, copy_in_buf, (void *)src);
}

/* len cut to what the list holds past off. */
static size_t iov_clamp(const struct iovec *iov, unsigned int n_iov, size_t off, size_t len)
{
	size_t avail = vsnd__iov_size(iov, n_iov);

	if (off >= avail)
		return 0;
	return len < avail - off ? len : avail - off;
}

size_t vsnd_ring_write_iov(struct vsnd_ring *r, const struct iovec *iov, unsigned int n_iov,
			   size_t off, size_t len)
{
	struct iov_ctx c = { iov, n_iov, off };

	return ring_produce(r, iov_clamp(iov, n_iov, off, len), copy_in_iov, &c);
}

size_t vsnd_ring_read(struct vsnd_ring *r, void *dst, size_t n)
{
	return ring_consume(r, n, copy_out_buf, dst);
}

size_t vsnd_ring_read_iov(struct vsnd_ring *r, const struct iovec *iov, unsigned int n_iov,
			  size_t off, size_t len)
{
	struct iov_ctx c = { iov, n_iov, off };

	return ring_consume(r, iov_clamp(iov, n_iov, off, len), copy_out_iov, &c);
}

size_t vsnd_ring_skip(struct vsnd_ring *r, size_t n)
{
	return ring_consume(r, n, NULL, NULL);
}
