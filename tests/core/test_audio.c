/* SPDX-License-Identifier: MIT */
/*
 * Audio through the whole device: guest frames played into the file
 * backend come out bit-exact in the WAV; a WAV captured through the file
 * backend arrives bit-exact in the guest's RX buffers; loopback returns what
 * was played. Runs on the fake clock, so it is fast and exact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sndfile.h>

#include "harness.h"
#include "scratch.h"
#include "util/iov.h"
#include "vsnd/pcm.h"

#define MS 1000000ull

static char *tmpdir;

static int group_setup(void **state)
{
	(void)state;
	tmpdir = scratch_dir();
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	scratch_rm(tmpdir);
	return 0;
}

/* A deterministic, non-silent, non-periodic byte pattern (xorshift). */
static void pattern(uint8_t *p, size_t n, uint32_t seed)
{
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

/* FLOAT samples must be finite numbers for the file to mean anything:
 * build them from the pattern scaled into [-1, 1). */
static void pattern_for(uint8_t fmt, uint8_t *p, size_t n, uint32_t seed)
{
	pattern(p, n, seed);
	if (fmt == VSND_PCM_FMT_FLOAT) {
		for (size_t i = 0; i + 4 <= n; i += 4) {
			float f = (float)((int32_t)vsnd_le32(p + i) / 2147483648.0);
			memcpy(p + i, &f, 4);
		}
	}
}

struct fmt_case {
	uint8_t fmt;
	int sf_subtype;
};

static const struct fmt_case cases[] = {
	{ VSND_PCM_FMT_U8, SF_FORMAT_PCM_U8 },
	{ VSND_PCM_FMT_S16, SF_FORMAT_PCM_16 },
	{ VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	{ VSND_PCM_FMT_S32, SF_FORMAT_PCM_32 },
	{ VSND_PCM_FMT_FLOAT, SF_FORMAT_FLOAT },
};

/* Play `periods` periods of a pattern, drain, release; the WAV's data must
 * be exactly the pattern. */
static void play_case(const struct fmt_case *fc, uint8_t channels, uint8_t rate)
{
	char spec[160], path[128];
	uint32_t frame = channels * vsnd_pcm_sample_bytes(fc->fmt);
	uint32_t hz = vsnd_pcm_rate_hz(rate);
	uint32_t period = frame * (hz / 100);
	enum { periods = 37 };
	size_t total = (size_t)period * periods;
	uint8_t *src = malloc(total), *back = malloc(total + 1);
	struct harness *h;
	struct h_chain *c[periods];
	SF_INFO info = { 0 };
	SNDFILE *sf;

	snprintf(path, sizeof(path), "%s/play-%u.wav", tmpdir, fc->fmt);
	snprintf(spec, sizeof(spec), "file,out=%s", path);
	h = h_new(spec, NULL, false);
	assert_non_null(h);
	pattern_for(fc->fmt, src, total, fc->fmt);
	assert_int_equal(h_set_params(h, 0, 4 * period, period, channels, fc->fmt, rate, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	/* the guest keeps 4 periods queued, as Linux does */
	int queued = 0, completed = 0;
	for (; queued < 4; queued++)
		c[queued] = h_tx(h, 0, src + (size_t)queued * period, period, 4096);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	while (completed < periods) {
		h_run_until(h, h->host.timer);
		while (completed < queued && c[completed]->done) {
			h_chain_free(c[completed++]);
			if (queued < periods) {
				c[queued] = h_tx(h, 0, src + (size_t)queued * period, period, 4096);
				queued++;
			}
		}
	}
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	h_free(h);

	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.channels, channels);
	assert_int_equal(info.samplerate, hz);
	assert_int_equal(info.format & SF_FORMAT_SUBMASK, fc->sf_subtype);
	/* everything the guest played, nothing more, nothing lost at the end */
	assert_int_equal(info.frames, total / frame);
	assert_int_equal(sf_read_raw(sf, back, (sf_count_t)total), total);
	assert_memory_equal(back, src, total);
	sf_close(sf);
	free(src);
	free(back);
}

static void test_file_playback_bitexact(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		play_case(&cases[i], 2, VSND_PCM_RATE_48000);
	play_case(&cases[1], 1, VSND_PCM_RATE_44100);
	play_case(&cases[0], 1, VSND_PCM_RATE_22050);
}

static void write_wav(const char *path, const struct fmt_case *fc, int channels, int hz,
		      const uint8_t *data, size_t bytes)
{
	SF_INFO info = { .channels = channels, .samplerate = hz,
			 .format = SF_FORMAT_WAV | fc->sf_subtype };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	assert_non_null(sf);
	assert_int_equal(sf_write_raw(sf, data, (sf_count_t)bytes), bytes);
	sf_close(sf);
}

/* The guest records a WAV through the file backend: bit-exact, in real time. */
static void capture_case(const struct fmt_case *fc)
{
	char spec[320], path[128];
	uint32_t frame = 2 * vsnd_pcm_sample_bytes(fc->fmt);
	uint32_t period = frame * 480;
	enum { periods = 25 };
	size_t total = (size_t)period * periods;
	uint8_t *src = malloc(total);
	struct harness *h;
	struct h_chain *c[periods];
	uint64_t t0;

	snprintf(path, sizeof(path), "%s/in-%u.wav", tmpdir, fc->fmt);
	pattern_for(fc->fmt, src, total, 77 + fc->fmt);
	write_wav(path, fc, 2, 48000, src, total);
	snprintf(spec, sizeof(spec), "file,out=%s/unused-%%u.wav,in=%s", tmpdir, path);
	h = h_new(spec, NULL, false);
	assert_non_null(h);
	assert_int_equal(h_set_params(h, 1, 4 * period, period, 2, fc->fmt, VSND_PCM_RATE_48000, 0),
			 VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < periods; i++)
		c[i] = h_rx(h, 1, period, 1000);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + (uint64_t)periods * 10 * MS);
	for (int i = 0; i < periods; i++) {
		assert_true(c[i]->done);
		assert_int_equal(c[i]->used_len, period + 8);
		/* captured in real time: message i is full at (i+1) periods */
		assert_true(c[i]->done_ns <= t0 + (uint64_t)(i + 1) * 10 * MS);
		assert_true(c[i]->done_ns >= t0 + (uint64_t)(i + 1) * 10 * MS - 1 * MS);
		assert_memory_equal(c[i]->wr_buf, src + (size_t)i * period, period);
		h_chain_free(c[i]);
	}
	h_free(h);
	free(src);
}

static void test_file_capture_bitexact(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		capture_case(&cases[i]);
}

/* What stream 0 plays, stream 1 records, bit-exact, about a period later. */
static void test_loopback(void **state)
{
	const uint32_t period = 1920;
	enum { periods = 30 };
	size_t total = (size_t)period * periods;
	uint8_t *src = malloc(total), *rec = calloc(1, total + 8 * period);
	struct harness *h = h_new("loopback", NULL, false);
	struct h_chain *tx[periods], *rx[periods + 8];
	size_t got = 0;

	(void)state;
	pattern(src, total, 5);
	for (uint32_t s = 0; s < 2; s++) {
		assert_int_equal(h_set_params(h, s, 4 * period, period, 2, VSND_PCM_FMT_S16,
					      VSND_PCM_RATE_48000, 0), VIRTIO_SND_S_OK);
		assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, s), VIRTIO_SND_S_OK);
	}
	for (int i = 0; i < periods + 8; i++)
		rx[i] = h_rx(h, 1, period, 0);
	for (int i = 0; i < periods; i++)
		tx[i] = h_tx(h, 0, src + (size_t)i * period, period, 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + (uint64_t)(periods + 8) * 10 * MS);
	for (int i = 0; i < periods + 8; i++) {
		assert_true(rx[i]->done);
		memcpy(rec + got, rx[i]->wr_buf, rx[i]->used_len - 8);
		got += rx[i]->used_len - 8;
		h_chain_free(rx[i]);
	}
	for (int i = 0; i < periods; i++) {
		assert_true(tx[i]->done);
		h_chain_free(tx[i]);
	}
	/* find the played data inside the recording */
	size_t off;
	for (off = 0; off + total <= got; off += 4)
		if (memcmp(rec + off, src, total) == 0)
			break;
	assert_true(off + total <= got);
	print_message("loopback delay: %zu frames (%.2f ms)\n", off / 4, off / 4 / 48.0);
	assert_true(off / 4 <= 2 * 480);
	h_free(h);
	free(src);
	free(rec);
}


/* Hooks (vsnd_dev_set_pcm_hook): stream 0's sees exactly what reaches the
 * backend, after volume; stream 1's replaces what was captured, and the
 * guest receives what it wrote, through the capture volume. */
#define HOOK_PERIODS 12

struct hook_log {
	uint8_t *buf;
	size_t len, cap;
	unsigned int calls;
	uint8_t format;
};

static void hook_record(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames,
			size_t bytes)
{
	struct hook_log *l = opaque;

	assert_int_equal(bytes % p->frame_bytes, 0);
	l->format = p->format;
	l->calls++;
	if (l->len + bytes <= l->cap)
		memcpy(l->buf + l->len, frames, bytes);
	l->len += bytes;
}

static void hook_replace(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames,
			 size_t bytes)
{
	struct hook_log *l = opaque;

	(void)p;
	l->calls++;
	if (l->len + bytes <= l->cap)
		memcpy(frames, l->buf + l->len, bytes);
	l->len += bytes;
}

static void hook_run(struct harness *h, const uint8_t *src, uint8_t *rec, uint32_t period,
		     int periods)
{
	struct h_chain *tx[HOOK_PERIODS], *rx[HOOK_PERIODS];

	assert_true(periods <= HOOK_PERIODS);

	for (uint32_t s = 0; s < 2; s++) {
		assert_int_equal(h_set_params(h, s, 4 * period, period, 2, VSND_PCM_FMT_S16,
					      VSND_PCM_RATE_48000, 0), VIRTIO_SND_S_OK);
		assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, s), VIRTIO_SND_S_OK);
	}
	for (int i = 0; i < periods; i++) {
		rx[i] = h_rx(h, 1, period, 0);
		tx[i] = h_tx(h, 0, src + (size_t)i * period, period, 7);
	}
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + (uint64_t)(periods + 2) * 10 * MS);
	for (int i = 0; i < periods; i++) {
		assert_true(rx[i]->done && tx[i]->done);
		memcpy(rec + (size_t)i * period, rx[i]->wr_buf, period);
		h_chain_free(rx[i]);
		h_chain_free(tx[i]);
	}
	for (uint32_t s = 0; s < 2; s++) {
		assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_STOP, s), VIRTIO_SND_S_OK);
		assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, s), VIRTIO_SND_S_OK);
	}
}

static void test_pcm_hooks(void **state)
{
	const uint32_t period = 1920;
	const int periods = HOOK_PERIODS;
	size_t total = (size_t)period * periods;
	uint8_t *src = malloc(total), *rec = malloc(total), *fake = malloc(2 * total);
	struct hook_log out = { .buf = malloc(2 * total), .cap = 2 * total };
	struct hook_log in = { .buf = fake, .cap = 2 * total };
	struct harness *h = h_new("loopback", NULL, true);

	(void)state;
	pattern(src, total, 9);
	pattern(fake, 2 * total, 11);
	assert_int_equal(vsnd_dev_set_pcm_hook(h->dev, 2, hook_record, &out), -ENOENT);
	assert_int_equal(vsnd_dev_set_pcm_hook(h->dev, 0, hook_record, &out), 0);
	assert_int_equal(vsnd_dev_set_pcm_hook(h->dev, 1, hook_replace, &in), 0);
	hook_run(h, src, rec, period, periods);
	/* playback at unity: the hook saw the guest's bytes, in order */
	assert_true(out.len >= total && out.format == VSND_PCM_FMT_S16);
	assert_memory_equal(out.buf, src, total);
	/* capture: the guest got the hook's bytes from the first on */
	assert_memory_equal(rec, fake, total);

	/* Muted capture stays silent whatever the hook wrote; a playback
	 * volume shows in what the hook sees; without hooks nothing calls. */
	assert_int_equal(vsnd_dev_mute_set(h->dev, 1, true), 0);
	assert_int_equal(vsnd_dev_volume_set(h->dev, 0, 40), 0);
	out.len = in.len = 0;
	hook_run(h, src, rec, period, periods);
	for (size_t i = 0; i < total; i++)
		assert_int_equal(rec[i], 0);
	assert_memory_not_equal(out.buf, src, total);
	assert_int_equal(vsnd_dev_set_pcm_hook(h->dev, 0, NULL, &out), 0);
	assert_int_equal(vsnd_dev_set_pcm_hook(h->dev, 1, NULL, NULL), 0);
	out.calls = in.calls = 0;
	hook_run(h, src, rec, period, periods);
	assert_int_equal(out.calls + in.calls, 0);
	h_free(h);
	free(src);
	free(rec);
	free(fake);
	free(out.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_playback_bitexact),
		cmocka_unit_test(test_file_capture_bitexact),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_pcm_hooks),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
