/* SPDX-License-Identifier: MIT */
/* The file backend: bit-exact WAV playback and capture, conversion, paths. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "be_test.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

#define NS 1000000000ull
#define T0 5000000000ull

struct fixture {
	struct fh_log log;
	struct vsnd_backend_env env;
	struct vsnd_backend *be;
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->env = fh_log_env(&f->log);
	f->dir = scratch_dir();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vsnd_backend_destroy(f->be);
	scratch_rm(f->dir);
	free(f);
	return 0;
}

/* (Re)create the backend with "file,OPTS" where %D in opts is the temp dir. */
static int make(struct fixture *f, const char *opts)
{
	char spec[1024] = "file,";
	size_t used = strlen(spec);

	for (const char *p = opts; *p && used < sizeof(spec) - 256; p++) {
		if (p[0] == '%' && p[1] == 'D') {
			used += (size_t)snprintf(spec + used, sizeof(spec) - used, "%s", f->dir);
			p++;
		} else {
			spec[used++] = *p;
		}
	}
	spec[used] = '\0';
	vsnd_backend_destroy(f->be);
	f->be = NULL;
	return vsnd_backend_create(spec, &f->env, &f->be);
}

static void port_open(struct fixture *f, struct vsnd_port *port, uint8_t dir, uint8_t fmt,
		      uint8_t ch, uint32_t rate)
{
	bt_port_init(port, dir, 0, 3, fmt, ch, rate, 480);
	assert_int_equal(f->be->ops->open(f->be, port), 0);
}

static void port_close(struct fixture *f, struct vsnd_port *port)
{
	f->be->ops->close(f->be, port);
	assert_null(port->priv);
	bt_port_fini(port);
}

/* Play all frames like the device would: keep the ring topped up, tick at
 * the deadlines, the last tick exactly when the last frame is due. */
static void play_all(struct fixture *f, struct vsnd_port *port, const uint8_t *data, size_t frames)
{
	uint32_t fb = port->params.frame_bytes, rate = port->params.rate_hz;
	uint64_t end = bt_deadline(T0, rate, frames), next = T0;
	size_t written = 0;

	assert_int_equal(f->be->ops->start(f->be, port, T0), 0);
	while (atomic_load(&port->frames) < frames) {
		size_t n = vsnd_ring_space(&port->ring) / fb;

		if (n > frames - written)
			n = frames - written;
		written += vsnd_ring_write(&port->ring, data + written * fb, n * fb) / fb;
		next = f->be->ops->tick(f->be, port, next < end ? next : end);
	}
	assert_int_equal(atomic_load(&port->frames), frames);
	assert_int_equal(port->xruns, 0);
	assert_int_equal(f->be->ops->stop(f->be, port), 0);
}

/* Capture frames like the device would: tick at deadlines, drain the ring. */
static void capture_all(struct fixture *f, struct vsnd_port *port, uint8_t *out, size_t frames)
{
	uint32_t fb = port->params.frame_bytes, rate = port->params.rate_hz;
	uint64_t end = bt_deadline(T0, rate, frames), next = T0;
	size_t got = 0;

	assert_int_equal(f->be->ops->start(f->be, port, T0), 0);
	while (got < frames * fb) {
		next = f->be->ops->tick(f->be, port, next < end ? next : end);
		got += vsnd_ring_read(&port->ring, out + got, frames * fb - got);
	}
	assert_int_equal(atomic_load(&port->frames), frames);
	assert_int_equal(port->xruns, 0);
	assert_int_equal(f->be->ops->stop(f->be, port), 0);
}

/* What the WAV file must hold for stream samples in fmt, computed without
 * the library: the mapping documented in file.c. */
static size_t expected_wav(uint8_t fmt, const uint8_t *in, size_t samples, uint8_t *out, int *sub)
{
	unsigned int sb = vsnd_pcm_sample_bytes(fmt), bits = vsnd_pcm_valid_bits(fmt);
	bool uns = fmt == VSND_PCM_FMT_U16 || fmt == VSND_PCM_FMT_U18_3 ||
		   fmt == VSND_PCM_FMT_U20_3 || fmt == VSND_PCM_FMT_U24_3 ||
		   fmt == VSND_PCM_FMT_U20 || fmt == VSND_PCM_FMT_U24 ||
		   fmt == VSND_PCM_FMT_U32;

	switch (fmt) {
	case VSND_PCM_FMT_U8:
	case VSND_PCM_FMT_S8:
		for (size_t i = 0; i < samples; i++)
			out[i] = fmt == VSND_PCM_FMT_S8 ? in[i] ^ 0x80 : in[i];
		*sub = SF_FORMAT_PCM_U8;
		return 1;
	case VSND_PCM_FMT_MU_LAW:
	case VSND_PCM_FMT_A_LAW:
		memcpy(out, in, samples);
		*sub = fmt == VSND_PCM_FMT_MU_LAW ? SF_FORMAT_ULAW : SF_FORMAT_ALAW;
		return 1;
	case VSND_PCM_FMT_FLOAT:
		memcpy(out, in, samples * 4);
		*sub = SF_FORMAT_FLOAT;
		return 4;
	case VSND_PCM_FMT_FLOAT64:
		memcpy(out, in, samples * 8);
		*sub = SF_FORMAT_DOUBLE;
		return 8;
	case VSND_PCM_FMT_S16:
	case VSND_PCM_FMT_U16:
	case VSND_PCM_FMT_S32:
	case VSND_PCM_FMT_U32:
		/* Same container: flip the sign bit of the unsigned ones. */
		for (size_t i = 0; i < samples * sb; i++)
			out[i] = (uns && i % sb == sb - 1) ? in[i] ^ 0x80 : in[i];
		*sub = sb == 2 ? SF_FORMAT_PCM_16 : SF_FORMAT_PCM_32;
		return sb;
	default:
		break;
	}
	/* 18..24 valid bits: a 24-bit signed sample, value << (24 - bits). */
	for (size_t i = 0; i < samples; i++) {
		uint32_t raw = 0, v;

		for (unsigned int b = 0; b < sb; b++)
			raw |= (uint32_t)in[i * sb + b] << (8 * b);
		raw &= (1u << bits) - 1;
		if (uns)
			raw ^= 1u << (bits - 1);
		v = raw << (24 - bits);
		out[3 * i] = (uint8_t)v;
		out[3 * i + 1] = (uint8_t)(v >> 8);
		out[3 * i + 2] = (uint8_t)(v >> 16);
	}
	*sub = SF_FORMAT_PCM_24;
	return 3;
}

/* Read a whole file raw; checks its header says what we expect. */
static uint8_t *read_wav(const char *path, int sub, int ch, int rate, sf_count_t frames,
			 size_t frame_bytes)
{
	SF_INFO info = { 0 };
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	uint8_t *buf, more[18 * 8];

	if (!sf)
		fail_msg("%s: %s", path, sf_strerror(NULL));
	assert_int_equal(info.format, SF_FORMAT_WAV | sub);
	assert_int_equal(info.channels, ch);
	assert_int_equal(info.samplerate, rate);
	assert_int_equal(info.frames, frames);
	buf = malloc(frames * frame_bytes);
	assert_int_equal(sf_read_raw(sf, buf, (sf_count_t)(frames * frame_bytes)),
			 frames * frame_bytes);
	assert_int_equal(sf_read_raw(sf, more, (sf_count_t)frame_bytes), 0);
	sf_close(sf);
	return buf;
}

static const uint8_t file_formats[] = {
	VSND_PCM_FMT_MU_LAW, VSND_PCM_FMT_A_LAW, VSND_PCM_FMT_S8,
	VSND_PCM_FMT_U8, VSND_PCM_FMT_S16, VSND_PCM_FMT_U16,
	VSND_PCM_FMT_S18_3, VSND_PCM_FMT_U18_3, VSND_PCM_FMT_S20_3,
	VSND_PCM_FMT_U20_3, VSND_PCM_FMT_S24_3, VSND_PCM_FMT_U24_3,
	VSND_PCM_FMT_S20, VSND_PCM_FMT_U20, VSND_PCM_FMT_S24,
	VSND_PCM_FMT_U24, VSND_PCM_FMT_S32, VSND_PCM_FMT_U32,
	VSND_PCM_FMT_FLOAT, VSND_PCM_FMT_FLOAT64,
};

/* Every carried format: play known samples, the WAV holds exactly the
 * mapped bytes; capture from that WAV gives back the original bytes. */
static void round_trip(struct fixture *f, uint8_t fmt, uint8_t ch, uint32_t rate, size_t frames)
{
	struct vsnd_port out, in;
	uint32_t fb = ch * vsnd_pcm_sample_bytes(fmt);
	uint8_t *data = malloc(frames * fb), *want = malloc(frames * fb), *got, *back;
	char *path = scratch_path(f->dir, "rt-3.wav");
	size_t wsb;
	int sub;

	samples_fill(fmt, data, frames * ch, fmt + 1000u * ch);
	wsb = expected_wav(fmt, data, frames * ch, want, &sub);
	port_open(f, &out, VSND_DIR_OUTPUT, fmt, ch, rate);
	play_all(f, &out, data, frames);
	port_close(f, &out);
	got = read_wav(path, sub, ch, (int)rate, (sf_count_t)frames, wsb * ch);
	if (memcmp(got, want, frames * wsb * ch) != 0)
		fail_msg("format %u: WAV bytes differ", fmt);

	back = malloc(frames * fb);
	port_open(f, &in, VSND_DIR_INPUT, fmt, ch, rate);
	capture_all(f, &in, back, frames);
	port_close(f, &in);
	if (memcmp(back, data, frames * fb) != 0)
		fail_msg("format %u: captured bytes differ", fmt);
	free(back);
	free(got);
	free(path);
	free(want);
	free(data);
}

static void test_bit_exact(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(make(f, "out=%D/rt-%u.wav,in=%D/rt-%u.wav"), 0);
	for (size_t i = 0; i < sizeof(file_formats); i++)
		round_trip(f, file_formats[i], 2, 48000, 4837);
	round_trip(f, VSND_PCM_FMT_S24_3, 18, 96000, 2000);
	round_trip(f, VSND_PCM_FMT_S16, 1, 5512, 3000);
	round_trip(f, VSND_PCM_FMT_U20, 6, 384000, 5000);
	assert_int_equal(f->log.count, 0);
}

/*
 * Periods far below a tick (one frame at 384 kHz and 8 kHz, two at 48 kHz),
 * 2 s each, ticks late by up to 0.3 ms: many periods are served per tick,
 * yet the WAV holds every frame once and in order, with no underrun.
 */
static void test_tiny_periods(void **state)
{
	static const uint32_t cfg[][2] = { { 384000, 1 }, { 8000, 1 }, { 48000, 2 } };
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "t.wav");

	assert_int_equal(make(f, "out=%D/t.wav"), 0);
	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		size_t frames = 2 * (size_t)cfg[i][0];
		uint8_t *data = malloc(frames * 4), *want = malloc(frames * 4), *got;
		struct vsnd_port port;
		struct bt_pace p;
		int sub;

		samples_fill(VSND_PCM_FMT_S16, data, frames * 2, (uint32_t)i + 7);
		expected_wav(VSND_PCM_FMT_S16, data, frames * 2, want, &sub);
		bt_port_init_buf(&port, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, cfg[i][0],
				 cfg[i][1], cfg[i][0] / 50);
		assert_int_equal(f->be->ops->open(f->be, &port), 0);
		bt_pace_play(f->be, &port, T0, data, frames, 300000, &p);
		assert_true(p.wakes <= 2200);
		assert_int_equal(port.xruns, 0);
		assert_int_equal(f->be->ops->stop(f->be, &port), 0);
		port_close(f, &port);
		got = read_wav(path, sub, 2, (int)cfg[i][0], (sf_count_t)frames, 4);
		if (memcmp(got, want, frames * 4) != 0)
			fail_msg("%u Hz: WAV bytes differ", cfg[i][0]);
		free(got);
		free(want);
		free(data);
	}
	assert_int_equal(f->log.count, 0);
	free(path);
}

/* Bytes reach the file when the clock consumes them, not when they arrive;
 * an underrun writes silence (the file is the speaker's timeline). */
static void test_written_on_tick(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "o.wav");
	struct vsnd_port port;
	uint8_t data[960], *got;
	struct stat st0, st1;

	assert_int_equal(make(f, "out=%D/o.wav"), 0);
	port_open(f, &port, VSND_DIR_OUTPUT, VSND_PCM_FMT_U8, 1, 48000);
	memset(data, 0x11, sizeof(data));
	assert_int_equal(vsnd_ring_write(&port.ring, data, 700), 700);
	assert_int_equal(f->be->ops->start(f->be, &port, T0), 0);
	assert_int_equal(stat(path, &st0), 0);
	f->be->ops->tick(f->be, &port, T0 + 5000000); /* 240 frames */
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_size - st0.st_size, 240);
	f->be->ops->tick(f->be, &port, T0 + 20000000); /* 720 more, 260 short */
	assert_int_equal(port.xruns, 1);
	port_close(f, &port);
	got = read_wav(path, SF_FORMAT_PCM_U8, 1, 48000, 960, 1);
	for (int i = 0; i < 960; i++)
		assert_int_equal(got[i], i < 700 ? 0x11 : 0x80);
	free(got);
	free(path);
}

/* A WAV file that libsndfile writes from doubles. */
static void write_wav(const char *path, int sub, int ch, int rate, const double *x, size_t frames)
{
	SF_INFO info = { .samplerate = rate, .channels = ch, .format = SF_FORMAT_WAV | sub };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &info);

	assert_non_null(sf);
	assert_int_equal(sf_writef_double(sf, x, (sf_count_t)frames), frames);
	sf_close(sf);
}

/* 44.1 kHz mono S16 sine -> 48 kHz stereo FLOAT: resampled, duplicated. */
static void test_capture_resample(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "sine.wav");
	double *x = malloc(44100 * sizeof(double)), sum = 0, peak = 0;
	size_t frames = 72000, crossings = 0, last = 0;
	float *got = malloc(frames * 2 * sizeof(float));
	struct vsnd_port port;

	for (int i = 0; i < 44100; i++)
		x[i] = 0.5 * sin(2 * M_PI * 440 * i / 44100.0);
	write_wav(path, SF_FORMAT_PCM_16, 1, 44100, x, 44100);
	assert_int_equal(make(f, "in=%D/sine.wav"), 0);
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_FLOAT, 2, 48000);
	capture_all(f, &port, (uint8_t *)got, frames);
	port_close(f, &port);
	for (size_t i = 0; i < frames; i++) {
		assert_true(got[2 * i] == got[2 * i + 1]);
		if (fabsf(got[2 * i]) > 0.01f)
			last = i;
		if (i > 0 && i < 48000 && (got[2 * i] >= 0) != (got[2 * i - 2] >= 0))
			crossings++;
		if (i >= 1000 && i < 47000) {
			sum += (double)got[2 * i] * got[2 * i];
			peak = fmax(peak, fabs(got[2 * i]));
		}
	}
	assert_true(fabs(sqrt(sum / 46000) - 0.5 / sqrt(2)) < 0.005);
	assert_true(peak > 0.49 && peak < 0.51);
	assert_true(crossings >= 878 && crossings <= 882);
	assert_true(last > 47900 && last < 48100);
	for (size_t i = 48200; i < frames; i++)
		assert_true(got[2 * i] == 0.0f);
	free(got);
	free(x);
	free(path);
}

/* Same rate, other format and channel count: exact values. */
static void test_capture_convert(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "c.wav");
	double x[2 * 1000];
	int32_t s32[1200];
	uint8_t u8[1200 * 4];
	int16_t s16[1200 * 3];
	struct vsnd_port port;

	for (int i = 0; i < 1000; i++) {
		x[2 * i] = 0.25;
		x[2 * i + 1] = -0.25;
	}
	write_wav(path, SF_FORMAT_PCM_16, 2, 48000, x, 1000);
	assert_int_equal(make(f, "in=%D/c.wav"), 0);
	/* More file channels: the first ones. */
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S32, 1, 48000);
	capture_all(f, &port, (uint8_t *)s32, 1200);
	port_close(f, &port);
	for (int i = 0; i < 1200; i++)
		assert_int_equal(s32[i], i < 1000 ? 0x20000000 : 0);
	/* Fewer file channels: silence in the others (0x80 for U8). */
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_U8, 4, 48000);
	capture_all(f, &port, u8, 1200);
	port_close(f, &port);
	for (int i = 0; i < 1200; i++) {
		assert_int_equal(u8[4 * i], i < 1000 ? 0xa0 : 0x80);
		assert_int_equal(u8[4 * i + 1], i < 1000 ? 0x60 : 0x80);
		assert_int_equal(u8[4 * i + 2], 0x80);
		assert_int_equal(u8[4 * i + 3], 0x80);
	}
	/* Mono file: every channel. */
	for (int i = 0; i < 1000; i++)
		x[i] = (i % 7 - 3) / 8.0;
	write_wav(path, SF_FORMAT_FLOAT, 1, 48000, x, 1000);
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 3, 48000);
	capture_all(f, &port, (uint8_t *)s16, 1200);
	port_close(f, &port);
	for (int i = 0; i < 1200; i++) {
		int16_t want = i < 1000 ? (int16_t)((i % 7 - 3) * 4096) : 0;

		assert_int_equal(s16[3 * i], want);
		assert_int_equal(s16[3 * i + 1], want);
		assert_int_equal(s16[3 * i + 2], want);
	}
	free(path);
}

/* After the end: silence, or the file again with loop=on; each open() starts
 * from the beginning. */
static void test_capture_end_and_loop(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "ramp.wav");
	double x[100];
	int16_t got[350];
	struct vsnd_port port;

	for (int i = 0; i < 100; i++)
		x[i] = i * 100 / 32768.0;
	write_wav(path, SF_FORMAT_PCM_16, 1, 48000, x, 100);
	assert_int_equal(make(f, "in=%D/ramp.wav"), 0);
	for (int round = 0; round < 2; round++) {
		port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 1, 48000);
		capture_all(f, &port, (uint8_t *)got, 350);
		port_close(f, &port);
		for (int i = 0; i < 350; i++)
			assert_int_equal(got[i], i < 100 ? i * 100 : 0);
	}
	assert_int_equal(make(f, "in=%D/ramp.wav,loop=on"), 0);
	for (int round = 0; round < 2; round++) {
		port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 1, 48000);
		capture_all(f, &port, (uint8_t *)got, 350);
		port_close(f, &port);
		for (int i = 0; i < 350; i++)
			assert_int_equal(got[i], i % 100 * 100);
	}
	free(path);
}

/* loop=on through the resampler and the converter: never runs dry. */
static void test_loop_converted(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "short.wav");
	double x[1000];
	int16_t *got = malloc(24000 * 2 * sizeof(int16_t));
	struct vsnd_port port;

	for (int i = 0; i < 1000; i++)
		x[i] = 0.5 * sin(2 * M_PI * i / 100.0);
	write_wav(path, SF_FORMAT_PCM_24, 1, 44100, x, 1000);
	assert_int_equal(make(f, "in=%D/short.wav,loop=yes"), 0);
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2, 48000);
	capture_all(f, &port, (uint8_t *)got, 24000);
	port_close(f, &port);
	for (int w = 100; w < 24000; w += 200) {
		int peak = 0;

		for (int i = w; i < w + 100 && i < 24000; i++)
			peak = abs(got[2 * i]) > peak ? abs(got[2 * i]) : peak;
		assert_true(peak > 15000 && peak < 17500);
	}
	free(got);
	free(path);
}

/* No in=: silence in the stream's format. */
static void test_capture_silence(void **state)
{
	struct fixture *f = *state;
	uint8_t got[100 * 3];
	struct vsnd_port port;

	assert_int_equal(make(f, ""), 0);
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_U24_3, 1, 8000);
	capture_all(f, &port, got, 100);
	port_close(f, &port);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(got[3 * i], 0);
		assert_int_equal(got[3 * i + 1], 0);
		assert_int_equal(got[3 * i + 2], 0x80);
	}
}

static bool exists(const char *dir, const char *name)
{
	char *p = scratch_path(dir, name);
	bool ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

/* %u is the stream id, %n counts open()s per direction, %% is '%'. */
static void test_path_expansion(void **state)
{
	struct fixture *f = *state;
	char *in0 = scratch_path(f->dir, "i-0.wav");
	double x[10] = { 0 };
	struct vsnd_port port;

	write_wav(in0, SF_FORMAT_PCM_16, 1, 48000, x, 10);
	assert_int_equal(make(f, "out=%D/o-%u-%n-%%.wav,in=%D/i-%n.wav"), 0);
	for (int i = 0; i < 2; i++) {
		port_open(f, &port, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, 48000);
		port_close(f, &port);
	}
	assert_true(exists(f->dir, "o-3-0-%.wav"));
	assert_true(exists(f->dir, "o-3-1-%.wav"));
	assert_false(exists(f->dir, "o-3-2-%.wav"));
	/* The capture counter is its own: i-0.wav, then i-1.wav (missing). */
	port_open(f, &port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 1, 48000);
	port_close(f, &port);
	bt_port_init(&port, VSND_DIR_INPUT, 0, 3, VSND_PCM_FMT_S16, 1, 48000, 480);
	assert_int_equal(f->be->ops->open(f->be, &port), -ENOENT);
	assert_true(fh_log_has(&f->log, "i-1.wav"));
	bt_port_fini(&port);
	free(in0);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	char *txt = scratch_path(f->dir, "notes.txt");
	FILE *fp = fopen(txt, "w");
	struct vsnd_port port;

	fputs("not audio at all, just words\n", fp);
	fclose(fp);
	assert_int_equal(make(f, "out=%D/missing/x.wav,in=%D/nothing.wav"), 0);
	bt_port_init(&port, VSND_DIR_OUTPUT, 0, 3, VSND_PCM_FMT_S16, 2, 48000, 480);
	assert_int_equal(f->be->ops->open(f->be, &port), -ENOENT);
	assert_true(fh_log_has(&f->log, "missing/x.wav: No such file or directory"));
	assert_null(port.priv);
	bt_port_fini(&port);
	bt_port_init(&port, VSND_DIR_INPUT, 0, 3, VSND_PCM_FMT_S16, 2, 48000, 480);
	assert_int_equal(f->be->ops->open(f->be, &port), -ENOENT);
	assert_true(fh_log_has(&f->log, "nothing.wav: No such file or directory"));
	assert_int_equal(make(f, "in=%D/notes.txt"), 0);
	assert_int_equal(f->be->ops->open(f->be, &port), -EINVAL);
	assert_true(fh_log_has(&f->log, "notes.txt"));
	/* Formats no WAV holds. */
	port.params.format = VSND_PCM_FMT_DSD_U8;
	port.params.frame_bytes = 2;
	assert_int_equal(f->be->ops->open(f->be, &port), -ENOTSUP);
	assert_null(port.priv);
	bt_port_fini(&port);
	free(txt);
}

/* destroy() finalizes files the device left open. */
static void test_destroy_closes(void **state)
{
	struct fixture *f = *state;
	char *path = scratch_path(f->dir, "left.wav");
	int16_t data[2 * 1000];
	struct vsnd_port port;
	uint8_t *got;

	for (int i = 0; i < 2000; i++)
		data[i] = (int16_t)(i * 31);
	assert_int_equal(make(f, "out=%D/left.wav"), 0);
	port_open(f, &port, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, 48000);
	play_all(f, &port, (const uint8_t *)data, 1000);
	vsnd_backend_destroy(f->be);
	f->be = NULL;
	bt_port_fini(&port);
	got = read_wav(path, SF_FORMAT_PCM_16, 2, 48000, 1000, 4);
	assert_memory_equal(got, data, sizeof(data));
	free(got);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bit_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_written_on_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_resample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_convert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_end_and_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_converted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_silence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_path_expansion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_closes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
