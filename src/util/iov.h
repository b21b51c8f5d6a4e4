/* SPDX-License-Identifier: MIT */
/* Byte-offset access over iovec lists: requests are parsed this way, never by
 * assuming where one descriptor ends. Any thread; all bounds-checked. */
#ifndef VSND_UTIL_IOV_H
#define VSND_UTIL_IOV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Total bytes of an iovec list. */
size_t vsnd__iov_size(const struct iovec *iov, unsigned int n);
/* Copy up to len bytes starting at byte off of the list into buf; returns
 * the bytes copied (less than len when the list is shorter). */
size_t vsnd__iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *buf, size_t len);
/* Copy buf into the list at byte off; returns the bytes copied. */
size_t vsnd__iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *buf, size_t len);
/* Set len bytes at byte off to c; returns the bytes set. */
size_t vsnd__iov_memset(const struct iovec *iov, unsigned int n, size_t off, int c, size_t len);

static inline uint16_t vsnd_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t vsnd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vsnd_le64(const uint8_t *p)
{
	return (uint64_t)vsnd_le32(p) | (uint64_t)vsnd_le32(p + 4) << 32;
}
static inline void vsnd_put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void vsnd_put_le32(uint8_t *p, uint32_t v)
{
	vsnd_put_le16(p, (uint16_t)v);
	vsnd_put_le16(p + 2, (uint16_t)(v >> 16));
}
static inline void vsnd_put_le64(uint8_t *p, uint64_t v)
{
	vsnd_put_le32(p, (uint32_t)v);
	vsnd_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
