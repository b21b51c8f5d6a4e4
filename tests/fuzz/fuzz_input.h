/* SPDX-License-Identifier: MIT */
/*
 * Reading a libFuzzer input as a stream of choices. Past the end every
 * read answers 0 / empty, so a short input is still a valid (short) run and
 * the fuzzer never wastes executions on "input too small" rejections.
 */
#ifndef VSND_FUZZ_INPUT_H
#define VSND_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	uint32_t lo = fz_u16(f);

	return lo | (uint32_t)fz_u16(f) << 16;
}

/* Copy up to len bytes into buf, zero-filling what the input lacks.
 * Returns how many came from the input. */
static inline size_t fz_bytes(struct fz *f, void *buf, size_t len)
{
	size_t take = len < f->n ? len : f->n;

	memcpy(buf, f->p, take);
	memset((uint8_t *)buf + take, 0, len - take);
	f->p += take;
	f->n -= take;
	return take;
}

#endif
