/* SPDX-License-Identifier: MIT */
#include "iov.h"

#include <string.h>

size_t vsnd__iov_size(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += iov[i].iov_len;
	return total;
}

/*
 * Walk the list from byte off, calling fn on each contiguous piece. The one
 * loop behind every helper below, so the bounds logic exists once.
 */
static size_t iov_walk(const struct iovec *iov, unsigned int n, size_t off, size_t len,
		       void (*fn)(void *seg, size_t pos, size_t l, void *ctx), void *ctx)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t l = iov[i].iov_len - off;
		if (l > len - done)
			l = len - done;
		fn((uint8_t *)iov[i].iov_base + off, done, l, ctx);
		done += l;
		off = 0;
	}
	return done;
}

static void seg_to_buf(void *seg, size_t pos, size_t l, void *ctx)
{
	memcpy((uint8_t *)ctx + pos, seg, l);
}

static void seg_from_buf(void *seg, size_t pos, size_t l, void *ctx)
{
	memcpy(seg, (const uint8_t *)ctx + pos, l);
}

static void seg_memset(void *seg, size_t pos, size_t l, void *ctx)
{
	(void)pos;
	memset(seg, *(const int *)ctx, l);
}

size_t vsnd__iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len)
{
	return iov_walk(iov, n, off, len, seg_to_buf, buf);
}

size_t vsnd__iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *buf, size_t len)
{
	return iov_walk(iov, n, off, len, seg_from_buf, (void *)buf);
}

size_t vsnd__iov_memset(const struct iovec *iov, unsigned int n, size_t off, int c, size_t len)
{
	return iov_walk(iov, n, off, len, seg_memset, &c);
}
