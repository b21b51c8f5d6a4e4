/* SPDX-License-Identifier: MIT */
/*
 * `hold`: every stream set up and prepared, then left alone for a while, as
 * a guest whose applications have opened their devices and play nothing.
 * What an idle device costs the host (threads, wake-ups) is measured from
 * outside while it holds.
 */
#include "drive/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

#include <vsnd/pcm.h>

#include "util/iov.h"
#include "wire/virtio_snd.h"

#define HOLD_PERIOD_MS 10u
#define HOLD_PERIODS 4u

/* The lowest set bit of mask, or -1. */
static int lowest(uint64_t mask)
{
	for (int b = 0; b < 64; b++)
		if (mask & (UINT64_C(1) << b))
			return b;
	return -1;
}

/* Pick S16 / 48 kHz / 2 channels where the stream takes them, else the
 * lowest format, rate and channel count it offers; set up and prepare it. */
static int prepare_one(struct drv *d, uint32_t id)
{
	const uint8_t *p, *info;
	uint64_t formats, rates;
	int fmt, rate, rc = drv_query(d, VIRTIO_SND_R_PCM_INFO, id, 1, VIRTIO_SND_PCM_INFO_SIZE, &p);
	unsigned int ch, period;

	if (rc != VIRTIO_SND_S_OK)
		return rc;
	info = p + 4;
	formats = vsnd_le64(info + 8);
	rates = vsnd_le64(info + 16);
	fmt = formats & (UINT64_C(1) << VSND_PCM_FMT_S16) ? VSND_PCM_FMT_S16 : lowest(formats);
	rate = rates & (UINT64_C(1) << VSND_PCM_RATE_48000) ? VSND_PCM_RATE_48000 : lowest(rates);
	ch = info[25] <= 2 && info[26] >= 2 ? 2 : info[25];
	if (fmt < 0 || rate < 0 || !drv_sample_bytes((uint8_t)fmt))
		return -ENOTSUP;
	period = vsnd_pcm_rate_hz((unsigned int)rate) * HOLD_PERIOD_MS / 1000 *
		 drv_sample_bytes((uint8_t)fmt) * ch;
	rc = drv_set_params(d, id, period * HOLD_PERIODS, period, 0, (uint8_t)ch, (uint8_t)fmt,
			    (uint8_t)rate);
	if (rc == VIRTIO_SND_S_OK)
		rc = drv_pcm(d, VIRTIO_SND_R_PCM_PREPARE, id);
	return rc == VIRTIO_SND_S_OK ? 0 : rc;
}

int cmd_hold(struct drv *d, const struct cmd_opts *o)
{
	struct timespec ts = { .tv_sec = (time_t)o->seconds,
			       .tv_nsec = (long)((o->seconds - (double)(time_t)o->seconds) * 1e9) };
	uint32_t n = 0;
	int rc = 0;

	for (; n < d->streams && rc == 0; n++)
		rc = prepare_one(d, n);
	if (rc == 0) {
		printf("hold: %u streams prepared, idle for %.1f s\n", n, o->seconds);
		fflush(stdout);
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	for (uint32_t id = 0; id < n; id++) {
		int rel = drv_pcm(d, VIRTIO_SND_R_PCM_RELEASE, id);

		if (rc == 0 && rel != VIRTIO_SND_S_OK)
			rc = rel;
	}
	return rc;
}
