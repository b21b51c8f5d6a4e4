/* SPDX-License-Identifier: MIT */
#include "drive/rules.h"

#include <stdio.h>

#include "util/iov.h"
#include "wire/virtio_snd.h"

/* The most values a control of each type may have (Linux's limits). */
static const uint32_t max_count[] = {
	[VIRTIO_SND_CTL_TYPE_BOOLEAN] = 128,
	[VIRTIO_SND_CTL_TYPE_INTEGER] = 128,
	[VIRTIO_SND_CTL_TYPE_INTEGER64] = 64,
	[VIRTIO_SND_CTL_TYPE_ENUMERATED] = 128,
	[VIRTIO_SND_CTL_TYPE_BYTES] = 512,
	[VIRTIO_SND_CTL_TYPE_IEC958] = 1,
};

const char *rules_ctl(const uint8_t *info, char *buf, size_t len)
{
	uint32_t type = vsnd_le32(info + 8), count = vsnd_le32(info + 16);
	uint32_t ntypes = sizeof(max_count) / sizeof(max_count[0]);

	if (type >= ntypes) {
		snprintf(buf, len, "type %u (Linux knows 0..%u)", type, ntypes - 1);
		return buf;
	}
	if (type == VIRTIO_SND_CTL_TYPE_IEC958 && count != 1) {
		snprintf(buf, len, "IEC958 with count %u (Linux wants exactly 1)", count);
		return buf;
	}
	if (count > max_count[type]) {
		snprintf(buf, len, "count %u (Linux allows at most %u for type %u)", count,
			 max_count[type], type);
		return buf;
	}
	if (type == VIRTIO_SND_CTL_TYPE_ENUMERATED && vsnd_le32(info + 72) == 0) {
		snprintf(buf, len, "ENUMERATED with no item (Linux wants at least one)");
		return buf;
	}
	return NULL;
}

const char *rules_rates(uint64_t rates)
{
	if (rates & VIRTIO_SND_PCM_RATES_LINUX)
		return NULL;
	if (rates & (UINT64_C(1) << VSND_PCM_RATE_384000))
		return "only 384 kHz (and rates no Linux maps): drivers before its mapping "
		       "reject the stream";
	return "only rates no Linux driver maps (12 or 24 kHz): it rejects the stream";
}

/* Linux 6.1 and 6.12 (and mainline) alike, sound/virtio/virtio_pcm.c:
 * pcm_buffer_ms = 160 (line 11), pcm_periods_max = 16 (line 19),
 * pcm_period_ms_min = 10 (line 23); pages of 4 KiB (x86). */
const struct rules_linux_pcm rules_linux_pcm_defaults = { 160, 16, 10, 4096 };

/* A message without an indirect table: the xfer header, at least one
 * chunk of the period's pages, the status (virtio_pcm_msg.c: sg_num + 2). */
#define LINUX_MSG_DESCS 3u

/* Smallest and largest sample container over the formats, the way
 * virtsnd_pcm_build_hw finds them (IMA_ADPCM counts 0 bytes). */
static void sample_range(uint64_t formats, unsigned int *min, unsigned int *max)
{
	*min = *max = 0;
	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
		unsigned int bytes = vsnd_pcm_sample_bytes(f);

		if (!(formats & (UINT64_C(1) << f)))
			continue;
		if (!*min || *min > bytes)
			*min = bytes;
		if (*max < bytes)
			*max = bytes;
	}
}

/* Lowest and highest rate Linux maps, in whole kHz as it divides them. */
static void rate_range(uint64_t rates, unsigned int *min_k, unsigned int *max_k)
{
	*min_k = *max_k = 0;
	for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++) {
		unsigned int k = vsnd_pcm_rate_hz(r) / 1000;

		if (!(rates & VIRTIO_SND_PCM_RATES_LINUX & (UINT64_C(1) << r)))
			continue;
		if (!*min_k || *min_k > k)
			*min_k = k;
		if (*max_k < k)
			*max_k = k;
	}
}

/* ALSA keeps buffer_bytes <= buffer_bytes_max and period_bytes >=
 * period_bytes_min (virtsnd_pcm_build_hw), so the periods are at most
 * their quotient, and at most periods_max. */
unsigned int rules_periods(const struct rules_linux_pcm *lp, const uint8_t *info)
{
	uint64_t formats = vsnd_le64(info + 8), rates = vsnd_le64(info + 16);
	unsigned int smin, smax, rmin, rmax, cmin = info[25], cmax = info[26];
	uint64_t buffer_max, period_min;

	if (info[24] > VSND_DIR_INPUT || !cmin || cmin > cmax ||
	    !(formats & ((UINT64_C(1) << VSND_PCM_FMT_COUNT) - 1)) ||
	    !(rates & VIRTIO_SND_PCM_RATES_LINUX))
		return 0; /* Linux refuses the stream (and the card) */
	sample_range(formats, &smin, &smax);
	rate_range(rates, &rmin, &rmax);
	buffer_max = (uint64_t)smax * cmax * lp->buffer_ms * rmax;
	buffer_max = (buffer_max + lp->page - 1) / lp->page * lp->page;
	period_min = (uint64_t)smin * cmin * lp->period_ms_min * rmin;
	if (period_min && buffer_max / period_min < lp->periods_max)
		return (unsigned int)(buffer_max / period_min);
	return lp->periods_max;
}

unsigned int rules_ring_msgs(unsigned int entries, bool indirect)
{
	return indirect ? entries : entries / LINUX_MSG_DESCS;
}
