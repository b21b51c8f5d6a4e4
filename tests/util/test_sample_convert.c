/* SPDX-License-Identifier: MIT */
/* vsnd_pcm_to_double / vsnd_pcm_from_double: scaling, round trips, clamping. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "samples.h"
#include "scratch.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

static const uint8_t int_formats[] = {
	VSND_PCM_FMT_S8, VSND_PCM_FMT_U8, VSND_PCM_FMT_S16,
	VSND_PCM_FMT_U16, VSND_PCM_FMT_S18_3, VSND_PCM_FMT_U18_3,
	VSND_PCM_FMT_S20_3, VSND_PCM_FMT_U20_3, VSND_PCM_FMT_S24_3,
	VSND_PCM_FMT_U24_3, VSND_PCM_FMT_S20, VSND_PCM_FMT_U20,
	VSND_PCM_FMT_S24, VSND_PCM_FMT_U24, VSND_PCM_FMT_S32,
	VSND_PCM_FMT_U32,
};

static bool is_unsigned(uint8_t f)
{
	return f == VSND_PCM_FMT_U8 || f == VSND_PCM_FMT_U16 ||
	       f == VSND_PCM_FMT_U18_3 || f == VSND_PCM_FMT_U20_3 ||
	       f == VSND_PCM_FMT_U24_3 || f == VSND_PCM_FMT_U20 ||
	       f == VSND_PCM_FMT_U24 || f == VSND_PCM_FMT_U32;
}

/* The canonical container bytes of value v, computed independently of the
 * library: signed values sign-extended, unsigned ones offset and zero-padded. */
static void encode_int(uint8_t f, int64_t v, uint8_t *out)
{
	unsigned int sb = vsnd_pcm_sample_bytes(f), bits = vsnd_pcm_valid_bits(f);
	uint64_t raw = is_unsigned(f) ? (uint64_t)(v + (INT64_C(1) << (bits - 1))) : (uint64_t)v;

	for (unsigned int i = 0; i < sb; i++)
		out[i] = (uint8_t)(raw >> (8 * i));
}

static void check_int_value(uint8_t f, int64_t v)
{
	unsigned int sb = vsnd_pcm_sample_bytes(f), bits = vsnd_pcm_valid_bits(f);
	uint8_t bytes[4] = { 0 }, back[4] = { 0 };
	double d = -5;

	encode_int(f, v, bytes);
	assert_int_equal(vsnd_pcm_to_double(f, bytes, &d, 1), 0);
	if (d != ldexp((double)v, 1 - (int)bits))
		fail_msg("format %u value %lld: got %.17g", f, (long long)v, d);
	assert_int_equal(vsnd_pcm_from_double(f, &d, back, 1), 0);
	assert_memory_equal(bytes, back, sb);
}

/* Every value of the 8- and 16-bit formats. */
static void test_int_exhaustive_narrow(void **state)
{
	for (size_t k = 0; k < sizeof(int_formats); k++) {
		uint8_t f = int_formats[k];
		int64_t half = INT64_C(1) << (vsnd_pcm_valid_bits(f) - 1);

		if (vsnd_pcm_valid_bits(f) > 16)
			continue;
		for (int64_t v = -half; v < half; v++)
			check_int_value(f, v);
	}
}

/* Edges and 200000 pseudo-random values of the wider formats. */
static void test_int_sampled_wide(void **state)
{
	uint64_t s = 88172645463325252ull;

	for (size_t k = 0; k < sizeof(int_formats); k++) {
		uint8_t f = int_formats[k];
		unsigned int bits = vsnd_pcm_valid_bits(f);
		int64_t half = INT64_C(1) << (bits - 1);
		const int64_t edges[] = { -half, -half + 1, -2, -1, 0, 1, 2, half - 2, half - 1 };

		if (bits <= 16)
			continue;
		for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
			check_int_value(f, edges[i]);
		for (int i = 0; i < 200000; i++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			check_int_value(f, (int64_t)(s % (uint64_t)(2 * half)) - half);
		}
	}
}

static void test_known_values(void **state)
{
	const uint8_t s16_min[] = { 0x00, 0x80 }, s16_max[] = { 0xff, 0x7f };
	const uint8_t u16_mid[] = { 0x00, 0x80 }, s24_neg1[] = { 0xff, 0xff, 0xff, 0xff };
	const uint8_t s24_3_min[] = { 0x00, 0x00, 0x80 }, u8_zero[] = { 0x00 };
	const uint8_t s32_half[] = { 0x00, 0x00, 0x00, 0x40 };
	double d;

	vsnd_pcm_to_double(VSND_PCM_FMT_S16, s16_min, &d, 1);
	assert_true(d == -1.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_S16, s16_max, &d, 1);
	assert_true(d == 32767.0 / 32768.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_U16, u16_mid, &d, 1);
	assert_true(d == 0.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_S24, s24_neg1, &d, 1);
	assert_true(d == -1.0 / 8388608.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_S24_3, s24_3_min, &d, 1);
	assert_true(d == -1.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_U8, u8_zero, &d, 1);
	assert_true(d == -1.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_S32, s32_half, &d, 1);
	assert_true(d == 0.5);
}

/* Bits above the valid ones do not change the value. */
static void test_padding_ignored(void **state)
{
	const uint8_t s24_clean[] = { 0x56, 0x34, 0x92, 0xff }, s24_junk[] = { 0x56, 0x34, 0x92, 0x17 };
	const uint8_t u20_clean[] = { 0x01, 0x00, 0x08, 0x00 }, u20_junk[] = { 0x01, 0x00, 0xf8, 0xa5 };
	const uint8_t s18_clean[] = { 0xff, 0xff, 0x03 }, s18_junk[] = { 0xff, 0xff, 0xab };
	double a, b;

	vsnd_pcm_to_double(VSND_PCM_FMT_S24, s24_clean, &a, 1);
	vsnd_pcm_to_double(VSND_PCM_FMT_S24, s24_junk, &b, 1);
	assert_true(a == b && a < 0);
	vsnd_pcm_to_double(VSND_PCM_FMT_U20, u20_clean, &a, 1);
	vsnd_pcm_to_double(VSND_PCM_FMT_U20, u20_junk, &b, 1);
	assert_true(a == b && a == 1.0 / 524288.0);
	vsnd_pcm_to_double(VSND_PCM_FMT_S18_3, s18_clean, &a, 1);
	vsnd_pcm_to_double(VSND_PCM_FMT_S18_3, s18_junk, &b, 1);
	assert_true(a == b && a == -1.0 / 131072.0);
}

static void test_clamp_and_round(void **state)
{
	const double in[] = { 1.0, 2.0, INFINITY, -1.0, -3.0, -INFINITY, NAN,
			      0.4 / 32768, 0.6 / 32768, -0.6 / 32768 };
	const int16_t want[] = { 32767, 32767, 32767, -32768, -32768, -32768, 0, 0, 1, -1 };
	uint8_t out[sizeof(in) / sizeof(in[0]) * 2];
	uint8_t u8[2], s24[4], silence[4];
	const double nan_in[2] = { NAN, NAN };

	assert_int_equal(vsnd_pcm_from_double(VSND_PCM_FMT_S16, in, out, 10), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal((int16_t)(out[2 * i] | out[2 * i + 1] << 8), want[i]);
	vsnd_pcm_from_double(VSND_PCM_FMT_U8, nan_in, u8, 2);
	assert_int_equal(u8[0], 0x80);
	vsnd_pcm_from_double(VSND_PCM_FMT_U24, nan_in, s24, 1);
	vsnd_pcm_silence(VSND_PCM_FMT_U24, silence, 4);
	assert_memory_equal(s24, silence, 4);
	vsnd_pcm_from_double(VSND_PCM_FMT_S24, &in[4], s24, 1);
	assert_int_equal(s24[0], 0x00);
	assert_int_equal(s24[2], 0x80);
	assert_int_equal(s24[3], 0xff); /* sign-extended container */
}

/* Silence from any phase, of any length, carries the one sample's pattern
 * on (the fill copies what it wrote: a wrong step shows as a shifted byte). */
static void test_silence_at(void **state)
{
	uint8_t one[8], got[67], want[67];

	(void)state;
	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
		unsigned int sb = vsnd_pcm_sample_bytes(f);

		if (sb == 0)
			continue;
		vsnd_pcm_silence(f, one, sb);
		for (unsigned int phase = 0; phase < sb; phase++) {
			for (size_t len = 0; len <= sizeof(got); len++) {
				memset(got, 0x5a, sizeof(got));
				memset(want, 0x5a, sizeof(want));
				for (size_t i = 0; i < len; i++)
					want[i] = one[(phase + i) % sb];
				vsnd_pcm_silence_at(f, got, len, phase + 4 * sb);
				assert_memory_equal(got, want, sizeof(got));
			}
		}
	}
}

static void test_float_formats(void **state)
{
	uint8_t f32[4 * 1000], back32[4 * 1000], f64[8 * 1000], back64[8 * 1000];
	double d[1000];
	const double wild[] = { 1.5, -7.0, NAN };
	float fw[3];
	double dw[3];

	samples_fill(VSND_PCM_FMT_FLOAT, f32, 1000, 7);
	assert_int_equal(vsnd_pcm_to_double(VSND_PCM_FMT_FLOAT, f32, d, 1000), 0);
	assert_int_equal(vsnd_pcm_from_double(VSND_PCM_FMT_FLOAT, d, back32, 1000), 0);
	assert_memory_equal(f32, back32, sizeof(f32));
	samples_fill(VSND_PCM_FMT_FLOAT64, f64, 1000, 9);
	assert_int_equal(vsnd_pcm_to_double(VSND_PCM_FMT_FLOAT64, f64, d, 1000), 0);
	assert_int_equal(vsnd_pcm_from_double(VSND_PCM_FMT_FLOAT64, d, back64, 1000), 0);
	assert_memory_equal(f64, back64, sizeof(f64));

	vsnd_pcm_from_double(VSND_PCM_FMT_FLOAT, wild, fw, 3);
	assert_true(fw[0] == 1.0f && fw[1] == -1.0f && fw[2] == 0.0f);
	vsnd_pcm_from_double(VSND_PCM_FMT_FLOAT64, wild, dw, 3);
	assert_true(dw[0] == 1.0 && dw[1] == -1.0 && dw[2] == 0.0);
}

static void test_g711_round_trip(void **state)
{
	const uint8_t fmts[] = { VSND_PCM_FMT_MU_LAW, VSND_PCM_FMT_A_LAW };

	for (int k = 0; k < 2; k++) {
		for (int c = 0; c < 256; c++) {
			uint8_t code = (uint8_t)c, back;
			double d;

			assert_int_equal(vsnd_pcm_to_double(fmts[k], &code, &d, 1), 0);
			assert_true(d >= -1.0 && d < 1.0);
			assert_int_equal(vsnd_pcm_from_double(fmts[k], &d, &back, 1), 0);
			assert_int_equal(back, code);
		}
	}
}

static void test_g711_known(void **state)
{
	const uint8_t codes[] = { 0xff, 0x7f, 0x00, 0x80 };
	double d[4];
	uint8_t a[4] = { 0xd5, 0x55, 0xaa, 0x2a };
	double z = 0.0;
	uint8_t out;

	vsnd_pcm_to_double(VSND_PCM_FMT_MU_LAW, codes, d, 4);
	assert_true(d[0] == 0.0 && !signbit(d[0]));
	assert_true(d[1] == 0.0 && signbit(d[1]));
	assert_true(d[2] == -32124.0 / 32768);
	assert_true(d[3] == 32124.0 / 32768);
	vsnd_pcm_to_double(VSND_PCM_FMT_A_LAW, a, d, 4);
	assert_true(d[0] == 8.0 / 32768 && d[1] == -8.0 / 32768);
	assert_true(d[2] == 32256.0 / 32768 && d[3] == -32256.0 / 32768);
	/* Silence encodes to the formats' silence bytes. */
	vsnd_pcm_from_double(VSND_PCM_FMT_MU_LAW, &z, &out, 1);
	assert_int_equal(out, 0xff);
	vsnd_pcm_from_double(VSND_PCM_FMT_A_LAW, &z, &out, 1);
	assert_int_equal(out, 0xd5);
}

/* ITU-T G.191's reference coders restated as searches over decision
 * levels: the code is the highest one whose lower level is <= the magnitude
 * (one's complement for negative values). */
static uint8_t ref_alaw(int v)
{
	int m = (v >= 0 ? v : -v - 1) >> 4, k = 0;

	for (int c = 0; c < 128; c++) {
		int s = c >> 4, lo = s == 0 ? (c & 15) : (16 + (c & 15)) << (s - 1);

		if (lo <= m)
			k = c;
	}
	return (uint8_t)((k | (v >= 0 ? 0x80 : 0)) ^ 0x55);
}

static uint8_t ref_ulaw(int v)
{
	int b = ((v >= 0 ? v : -v - 1) >> 2) + 33, k = 0;

	if (b > 0x1fff)
		b = 0x1fff;
	for (int c = 0; c < 128; c++) {
		if ((16 + (c & 15)) << ((c >> 4) + 1) <= b)
			k = c;
	}
	return (uint8_t)~(k | (v < 0 ? 0x80 : 0));
}

static void test_g711_encode_reference(void **state)
{
	for (int v = -32768; v < 32768; v++) {
		double d = v / 32768.0;
		uint8_t a, u;

		vsnd_pcm_from_double(VSND_PCM_FMT_A_LAW, &d, &a, 1);
		vsnd_pcm_from_double(VSND_PCM_FMT_MU_LAW, &d, &u, 1);
		if (a != ref_alaw(v) || u != ref_ulaw(v))
			fail_msg("%d: A 0x%02x (0x%02x), mu 0x%02x (0x%02x)", v, a, ref_alaw(v), u,
				 ref_ulaw(v));
	}
}

/* libsndfile's G.711 tables as an independent reference for decoding. */
static void check_g711_decode(uint8_t fmt, int sf_sub)
{
	char *dir = scratch_dir(), *path = scratch_path(dir, "g711.wav");
	SF_INFO info = { .samplerate = 8000, .channels = 1, .format = SF_FORMAT_WAV | sf_sub };
	uint8_t codes[256];
	short ref[256];
	double mine[256];
	SNDFILE *sf;

	for (int i = 0; i < 256; i++)
		codes[i] = (uint8_t)i;
	sf = sf_open(path, SFM_WRITE, &info);
	assert_non_null(sf);
	assert_int_equal(sf_write_raw(sf, codes, 256), 256);
	sf_close(sf);
	memset(&info, 0, sizeof(info));
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(sf_read_short(sf, ref, 256), 256);
	sf_close(sf);
	vsnd_pcm_to_double(fmt, codes, mine, 256);
	for (int i = 0; i < 256; i++) {
		if (mine[i] * 32768 != ref[i])
			fail_msg("format %u, code 0x%02x: %g, libsndfile %d", fmt, i, mine[i] * 32768,
				 ref[i]);
	}
	free(path);
	scratch_rm(dir);
}

static void test_g711_decode_vs_sndfile(void **state)
{
	check_g711_decode(VSND_PCM_FMT_A_LAW, SF_FORMAT_ALAW);
	check_g711_decode(VSND_PCM_FMT_MU_LAW, SF_FORMAT_ULAW);
}

static void test_unsupported(void **state)
{
	const uint8_t fmts[] = { VSND_PCM_FMT_IMA_ADPCM, VSND_PCM_FMT_DSD_U8,
				 VSND_PCM_FMT_DSD_U16, VSND_PCM_FMT_DSD_U32,
				 VSND_PCM_FMT_IEC958_SUBFRAME, VSND_PCM_FMT_COUNT, 200 };
	uint8_t buf[8] = { 0 };
	double d[2] = { 0 };

	for (size_t i = 0; i < sizeof(fmts); i++) {
		assert_int_equal(vsnd_pcm_to_double(fmts[i], buf, d, 1), -ENOTSUP);
		assert_int_equal(vsnd_pcm_from_double(fmts[i], d, buf, 1), -ENOTSUP);
	}
	/* n == 0 still says whether the format converts. */
	assert_int_equal(vsnd_pcm_to_double(VSND_PCM_FMT_DSD_U8, buf, d, 0), -ENOTSUP);
	assert_int_equal(vsnd_pcm_to_double(VSND_PCM_FMT_S16, buf, d, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int_exhaustive_narrow),
		cmocka_unit_test(test_int_sampled_wide),
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_padding_ignored),
		cmocka_unit_test(test_clamp_and_round),
		cmocka_unit_test(test_silence_at),
		cmocka_unit_test(test_float_formats),
		cmocka_unit_test(test_g711_round_trip),
		cmocka_unit_test(test_g711_known),
		cmocka_unit_test(test_g711_encode_reference),
		cmocka_unit_test(test_g711_decode_vs_sndfile),
		cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
