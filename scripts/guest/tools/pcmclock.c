/* SPDX-License-Identifier: MIT */
/*
 * pcmclock: a guest's view of its sound card's clock. Plays silence on an
 * ALSA PCM (S16_LE, 48 kHz, stereo, the buffer aplay would pick: 500 ms of
 * 4 periods) for SECONDS and prints, each time a period completes, the
 * guest's CLOCK_MONOTONIC time of the position ALSA saw and the frames
 * played by then, as "NS FRAMES" lines. bench/bench.py fits the frames
 * against the time: the device's rate error as any guest application would
 * measure it, for vsnd and for QEMU's built-in device alike.
 *
 * Usage: pcmclock DEVICE SECONDS
 */
#include <alsa/asoundlib.h>
#include <stdio.h>
#include <stdlib.h>

#define RATE 48000u
#define CHANNELS 2u
#define BUFFER_US 500000u
#define PERIOD_US 125000u

static int fail(const char *what, int err)
{
	fprintf(stderr, "pcmclock: %s: %s\n", what, snd_strerror(err));
	return 1;
}

static int set_hw(snd_pcm_t *pcm, snd_pcm_uframes_t *period, snd_pcm_uframes_t *buffer)
{
	snd_pcm_hw_params_t *hw;
	unsigned int rate = RATE, buffer_us = BUFFER_US, period_us = PERIOD_US;
	int err;

	snd_pcm_hw_params_alloca(&hw);
	if ((err = snd_pcm_hw_params_any(pcm, hw)) < 0 ||
	    (err = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (err = snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S16_LE)) < 0 ||
	    (err = snd_pcm_hw_params_set_channels(pcm, hw, CHANNELS)) < 0 ||
	    (err = snd_pcm_hw_params_set_rate_near(pcm, hw, &rate, NULL)) < 0 ||
	    (err = snd_pcm_hw_params_set_buffer_time_near(pcm, hw, &buffer_us, NULL)) < 0 ||
	    (err = snd_pcm_hw_params_set_period_time_near(pcm, hw, &period_us, NULL)) < 0 ||
	    (err = snd_pcm_hw_params(pcm, hw)) < 0)
		return err;
	if (rate != RATE)
		return -EINVAL;
	snd_pcm_hw_params_get_period_size(hw, period, NULL);
	snd_pcm_hw_params_get_buffer_size(hw, buffer);
	return 0;
}

/* Timestamps of each position update, on the guest's monotonic clock. */
static int set_sw(snd_pcm_t *pcm)
{
	snd_pcm_sw_params_t *sw;
	int err;

	snd_pcm_sw_params_alloca(&sw);
	if ((err = snd_pcm_sw_params_current(pcm, sw)) < 0 ||
	    (err = snd_pcm_sw_params_set_tstamp_mode(pcm, sw, SND_PCM_TSTAMP_ENABLE)) < 0 ||
	    (err = snd_pcm_sw_params_set_tstamp_type(pcm, sw, SND_PCM_TSTAMP_TYPE_MONOTONIC)) < 0)
		return err;
	return snd_pcm_sw_params(pcm, sw);
}

/* Print the position if it moved since the last line: frames played are
 * those written less those the buffer still holds. */
static int report(snd_pcm_t *pcm, unsigned long long written, snd_pcm_uframes_t buffer,
		  unsigned long long *last)
{
	snd_pcm_uframes_t avail;
	snd_htimestamp_t ts;
	unsigned long long played;
	int err;

	if ((err = (int)snd_pcm_avail_update(pcm)) < 0 ||
	    (err = snd_pcm_htimestamp(pcm, &avail, &ts)) < 0)
		return err;
	played = written + avail - buffer;
	if (played != *last && written + avail >= buffer)
		printf("%lld %llu\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, played);
	*last = played;
	return 0;
}

static int play(snd_pcm_t *pcm, double seconds)
{
	snd_pcm_uframes_t period, buffer;
	unsigned long long written = 0, last = 0, total = (unsigned long long)(seconds * RATE);
	int16_t *silence;
	int err;

	if ((err = set_hw(pcm, &period, &buffer)) < 0)
		return fail("hw params", err);
	if ((err = set_sw(pcm)) < 0)
		return fail("sw params", err);
	silence = calloc(period, CHANNELS * sizeof(int16_t));
	if (!silence)
		return fail("memory", -ENOMEM);
	fprintf(stderr, "pcmclock: period %lu, buffer %lu frames\n", (unsigned long)period,
		(unsigned long)buffer);
	while (written < total) {
		snd_pcm_sframes_t n = snd_pcm_writei(pcm, silence, period);

		if (n < 0) {
			free(silence);
			return fail("write", (int)n);
		}
		written += (unsigned long long)n;
		if ((err = report(pcm, written, buffer, &last)) < 0)
			break;
	}
	free(silence);
	if (err < 0)
		return fail("position", err);
	return 0;
}

int main(int argc, char **argv)
{
	snd_pcm_t *pcm;
	int err, rc;

	if (argc != 3 || atof(argv[2]) <= 0) {
		fprintf(stderr, "usage: pcmclock DEVICE SECONDS\n");
		return 2;
	}
	if ((err = snd_pcm_open(&pcm, argv[1], SND_PCM_STREAM_PLAYBACK, 0)) < 0)
		return fail(argv[1], err);
	rc = play(pcm, atof(argv[2]));
	snd_pcm_drop(pcm);
	snd_pcm_close(pcm);
	return rc;
}
