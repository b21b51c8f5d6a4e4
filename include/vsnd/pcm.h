/* SPDX-License-Identifier: MIT */
/*
 * Directions, sample formats and frame rates with their VirtIO 1.3 (5.14.6.6)
 * values, and sample-format facts and conversions. The values are the wire
 * values, but the names carry vsnd's own prefix so that this header can sit
 * in one translation unit with <linux/virtio_snd.h>. Any thread; nothing
 * here allocates.
 */
#ifndef VSND_PCM_H
#define VSND_PCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stream directions (VSND_DIR_OUTPUT, VSND_DIR_INPUT). */
enum vsnd_direction { VSND_DIR_OUTPUT = 0, VSND_DIR_INPUT = 1 };

/* Sample formats (bit numbers in the formats bitmap). */
enum vsnd_pcm_format {
	VSND_PCM_FMT_IMA_ADPCM = 0,
	VSND_PCM_FMT_MU_LAW,
	VSND_PCM_FMT_A_LAW,
	VSND_PCM_FMT_S8,
	VSND_PCM_FMT_U8,
	VSND_PCM_FMT_S16,
	VSND_PCM_FMT_U16,
	VSND_PCM_FMT_S18_3,
	VSND_PCM_FMT_U18_3,
	VSND_PCM_FMT_S20_3,
	VSND_PCM_FMT_U20_3,
	VSND_PCM_FMT_S24_3,
	VSND_PCM_FMT_U24_3,
	VSND_PCM_FMT_S20,
	VSND_PCM_FMT_U20,
	VSND_PCM_FMT_S24,
	VSND_PCM_FMT_U24,
	VSND_PCM_FMT_S32,
	VSND_PCM_FMT_U32,
	VSND_PCM_FMT_FLOAT,
	VSND_PCM_FMT_FLOAT64,
	VSND_PCM_FMT_DSD_U8,
	VSND_PCM_FMT_DSD_U16,
	VSND_PCM_FMT_DSD_U32,
	VSND_PCM_FMT_IEC958_SUBFRAME,
	VSND_PCM_FMT_COUNT
};

/* Frame rates (bit numbers in the rates bitmap). 12000 and 24000 came to the
 * spec in 2024; Linux ignores bits past 12. */
enum vsnd_pcm_rate {
	VSND_PCM_RATE_5512 = 0,
	VSND_PCM_RATE_8000,
	VSND_PCM_RATE_11025,
	VSND_PCM_RATE_16000,
	VSND_PCM_RATE_22050,
	VSND_PCM_RATE_32000,
	VSND_PCM_RATE_44100,
	VSND_PCM_RATE_48000,
	VSND_PCM_RATE_64000,
	VSND_PCM_RATE_88200,
	VSND_PCM_RATE_96000,
	VSND_PCM_RATE_176400,
	VSND_PCM_RATE_192000,
	VSND_PCM_RATE_384000,
	VSND_PCM_RATE_12000,
	VSND_PCM_RATE_24000,
	VSND_PCM_RATE_COUNT
};


/* A rate's value in Hz (0 for an undefined one). */
uint32_t vsnd_pcm_rate_hz(unsigned int rate);

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

#ifdef __cplusplus
}
#endif
#endif
