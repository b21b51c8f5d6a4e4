/* SPDX-License-Identifier: MIT */
/* Sample-format facts and conversions. Any thread; nothing here allocates. */
#ifndef VSND_PCM_H
#define VSND_PCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Container bytes of one sample; 0 for formats with no whole-byte sample
 * (IMA_ADPCM) or an undefined value. */
unsigned int vsnd_pcm_sample_bytes(unsigned int format);
/* Significant bits of one sample (e.g. 24 for S24 in a 4-byte container). */
unsigned int vsnd_pcm_valid_bits(unsigned int format);
/* Linear PCM or float (the formats vsnd converts and scales). */
bool vsnd_pcm_is_linear(unsigned int format);
/* Fill bytes with the format's silence (0x80 for U8, the midpoint for the
 * unsigned formats, 0x55 for the DSD formats, 0xff for mu-law, 0xd5 for A-law).
 * bytes need not be a whole number of samples. */
void vsnd_pcm_silence(unsigned int format, void *dst, size_t bytes);
/* Fill `bytes` of stream data with silence, where `phase` is the stream byte
 * offset of dst (so a partial-sample start stays aligned). */
void vsnd_pcm_silence_at(unsigned int format, void *dst, size_t bytes, uint64_t phase);

/* Convert n samples between a linear/float/law format and doubles in
 * [-1.0, 1.0]. Returns 0, or -ENOTSUP for a format with no linear meaning
 * (ADPCM, DSD, IEC958). */
int vsnd_pcm_to_double(unsigned int format, const void *src, double *dst, size_t n);
int vsnd_pcm_from_double(unsigned int format, const double *src, void *dst, size_t n);

#endif
