/* SPDX-License-Identifier: MIT */
/*
 * Sample-format facts of <vsnd/pcm.h> (container bytes, valid bits,
 * silence) and the rate table; the conversions are in sample_convert.c.
 * Not the PCM requests: those are src/core/pcm.c.
 */
#include "vsnd/pcm.h"

#include <string.h>


struct fmt_info {
	uint8_t bytes;     /* container */
	uint8_t bits;      /* valid */
	uint8_t silence[8];/* one sample of silence, little-endian (FLOAT64: 8) */
	bool linear;
};

/* Unsigned formats keep LSB-aligned samples (as ALSA's S24_LE / U20_LE do),
 * so their midpoint is 1 << (bits - 1) inside the container. */
static const struct fmt_info fmts[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_IMA_ADPCM] = { 0, 4, { 0 }, false },
	[VSND_PCM_FMT_MU_LAW] = { 1, 8, { 0xff }, true },
	[VSND_PCM_FMT_A_LAW] = { 1, 8, { 0xd5 }, true },
	[VSND_PCM_FMT_S8] = { 1, 8, { 0 }, true },
	[VSND_PCM_FMT_U8] = { 1, 8, { 0x80 }, true },
	[VSND_PCM_FMT_S16] = { 2, 16, { 0 }, true },
	[VSND_PCM_FMT_U16] = { 2, 16, { 0, 0x80 }, true },
	[VSND_PCM_FMT_S18_3] = { 3, 18, { 0 }, true },
	[VSND_PCM_FMT_U18_3] = { 3, 18, { 0, 0, 0x02 }, true },
	[VSND_PCM_FMT_S20_3] = { 3, 20, { 0 }, true },
	[VSND_PCM_FMT_U20_3] = { 3, 20, { 0, 0, 0x08 }, true },
	[VSND_PCM_FMT_S24_3] = { 3, 24, { 0 }, true },
	[VSND_PCM_FMT_U24_3] = { 3, 24, { 0, 0, 0x80 }, true },
	[VSND_PCM_FMT_S20] = { 4, 20, { 0 }, true },
	[VSND_PCM_FMT_U20] = { 4, 20, { 0, 0, 0x08, 0 }, true },
	[VSND_PCM_FMT_S24] = { 4, 24, { 0 }, true },
	[VSND_PCM_FMT_U24] = { 4, 24, { 0, 0, 0x80, 0 }, true },
	[VSND_PCM_FMT_S32] = { 4, 32, { 0 }, true },
	[VSND_PCM_FMT_U32] = { 4, 32, { 0, 0, 0, 0x80 }, true },
	[VSND_PCM_FMT_FLOAT] = { 4, 32, { 0 }, true },
	[VSND_PCM_FMT_FLOAT64] = { 8, 64, { 0 }, true },
	[VSND_PCM_FMT_DSD_U8] = { 1, 8, { 0x69 }, false },
	[VSND_PCM_FMT_DSD_U16] = { 2, 16, { 0x69, 0x69 }, false },
	[VSND_PCM_FMT_DSD_U32] = { 4, 32, { 0x69, 0x69, 0x69, 0x69 }, false },
	[VSND_PCM_FMT_IEC958_SUBFRAME] = { 4, 32, { 0 }, false },
};

uint32_t vsnd_pcm_rate_hz(unsigned int rate)
{
	static const uint32_t hz[VSND_PCM_RATE_COUNT] = {
		5512, 8000, 11025, 16000, 22050, 32000, 44100, 48000,
		64000, 88200, 96000, 176400, 192000, 384000, 12000, 24000,
	};
	return rate < VSND_PCM_RATE_COUNT ? hz[rate] : 0;
}

unsigned int vsnd_pcm_sample_bytes(unsigned int format)
{
	return format < VSND_PCM_FMT_COUNT ? fmts[format].bytes : 0;
}

unsigned int vsnd_pcm_valid_bits(unsigned int format)
{
	return format < VSND_PCM_FMT_COUNT ? fmts[format].bits : 0;
}

bool vsnd_pcm_is_linear(unsigned int format)
{
	return format < VSND_PCM_FMT_COUNT && fmts[format].linear;
}

void vsnd_pcm_silence_at(unsigned int format, void *dst, size_t bytes, uint64_t phase)
{
	unsigned int sb = vsnd_pcm_sample_bytes(format);
	uint8_t *p = dst;
	size_t done;

	if (sb == 0) {
		memset(dst, 0, bytes);
		return;
	}
	/* One sample from the phase on, then copies of what is written so far,
	 * a whole number of samples each time, so the pattern carries on (a
	 * byte at a time, the silence of its periods was a tenth of fuzz_io's
	 * time) */
	done = bytes < sb ? bytes : sb;
	for (size_t i = 0; i < done; i++)
		p[i] = fmts[format].silence[(phase + i) % sb];
	while (done < bytes) {
		size_t n = done < bytes - done ? done : bytes - done;

		memcpy(p + done, p, n);
		done += n;
	}
}

void vsnd_pcm_silence(unsigned int format, void *dst, size_t bytes)
{
	vsnd_pcm_silence_at(format, dst, bytes, 0);
}
