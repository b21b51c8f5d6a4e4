/* SPDX-License-Identifier: MIT */
#include "samples.h"

#include "vsnd/pcm.h"

uint32_t samples_xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

void samples_fill(uint8_t format, void *buf, size_t samples, uint32_t seed)
{
	unsigned int sb = vsnd_pcm_sample_bytes(format), bits = vsnd_pcm_valid_bits(format);
	uint32_t s = seed ? seed : 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < samples; i++, p += sb) {
		uint64_t r = (uint64_t)samples_xorshift(&s) << 32 | samples_xorshift(&s);

		if (format == VSND_PCM_FMT_FLOAT || format == VSND_PCM_FMT_FLOAT64) {
			double x = (double)(int32_t)r / 2147483648.0;

			vsnd_pcm_from_double(format, &x, p, 1);
			continue;
		}
		if (vsnd_pcm_is_linear(format) && bits < 8 * sb) {
			/* Canonical container: a valid value written by the library. */
			double x = (double)(int64_t)(r << (64 - bits)) / 9223372036854775808.0;

			vsnd_pcm_from_double(format, &x, p, 1);
			continue;
		}
		for (unsigned int b = 0; b < sb; b++)
			p[b] = (uint8_t)(r >> (8 * b));
	}
}
