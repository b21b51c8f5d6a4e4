/* SPDX-License-Identifier: MIT */
/*
 * Sample conversion to and from doubles.
 *
 * Integers are little-endian and LSB-aligned in their container (ALSA's
 * S24_LE, U20_LE ...). An integer with b valid bits maps to v / 2^(b-1), so
 * the scale is a power of two: int -> double -> int is exact for every
 * value, including 32-bit ones (a double holds 53 bits). Padding bits above
 * the valid ones are ignored on input; on output a signed sample is
 * sign-extended through the container (the container then holds the same
 * integer) and an unsigned one gets zero padding.
 *
 * mu-law and A-law are G.711, decoded to the usual 16-bit scale (/32768).
 * The encoders give the codes of ITU-T G.191's reference coder for every
 * 16-bit value (libsndfile differs from it by one code on some negative
 * decision levels), the decoders the middle of each interval, so byte ->
 * double -> byte is exact for every code (mu-law's two zeros included: 0x7f
 * decodes to -0.0 and -0.0 encodes back to 0x7f).
 */
#include "vsnd/pcm.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "iov.h"
#include "wire/virtio_snd.h"

enum pcv_kind { PCV_NONE, PCV_SINT, PCV_UINT, PCV_FLOAT, PCV_DOUBLE, PCV_ULAW, PCV_ALAW };

static enum pcv_kind pcv_kind(unsigned int format)
{
	switch (format) {
	case VSND_PCM_FMT_S8:
	case VSND_PCM_FMT_S16:
	case VSND_PCM_FMT_S18_3:
	case VSND_PCM_FMT_S20_3:
	case VSND_PCM_FMT_S24_3:
	case VSND_PCM_FMT_S20:
	case VSND_PCM_FMT_S24:
	case VSND_PCM_FMT_S32:
		return PCV_SINT;
	case VSND_PCM_FMT_U8:
	case VSND_PCM_FMT_U16:
	case VSND_PCM_FMT_U18_3:
	case VSND_PCM_FMT_U20_3:
	case VSND_PCM_FMT_U24_3:
	case VSND_PCM_FMT_U20:
	case VSND_PCM_FMT_U24:
	case VSND_PCM_FMT_U32:
		return PCV_UINT;
	case VSND_PCM_FMT_FLOAT:
		return PCV_FLOAT;
	case VSND_PCM_FMT_FLOAT64:
		return PCV_DOUBLE;
	case VSND_PCM_FMT_MU_LAW:
		return PCV_ULAW;
	case VSND_PCM_FMT_A_LAW:
		return PCV_ALAW;
	default:
		return PCV_NONE; /* IMA_ADPCM, DSD, IEC958, undefined */
	}
}

/* ---- integers ---- */

static int64_t int_get(const uint8_t *p, unsigned int bytes, unsigned int bits, bool is_unsigned)
{
	uint64_t raw = 0;
	int64_t half = INT64_C(1) << (bits - 1);

	for (unsigned int i = 0; i < bytes; i++)
		raw |= (uint64_t)p[i] << (8 * i);
	raw &= (UINT64_C(1) << bits) - 1;
	if (is_unsigned)
		return (int64_t)raw - half;
	/* Sign-extend from bit (bits - 1) without implementation-defined shifts. */
	return (int64_t)(raw ^ (uint64_t)half) - half;
}

static void int_put(uint8_t *p, unsigned int bytes, unsigned int bits, bool is_unsigned, int64_t v)
{
	uint64_t raw = is_unsigned ? (uint64_t)(v + (INT64_C(1) << (bits - 1))) : (uint64_t)v;

	for (unsigned int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(raw >> (8 * i));
}

/* Round to the nearest code and clamp to [-2^(bits-1), 2^(bits-1) - 1]. */
static int64_t int_quantize(double x, unsigned int bits)
{
	double lim = ldexp(1.0, (int)bits - 1);
	double y;

	if (isnan(x))
		return 0;
	y = nearbyint(x * lim);
	if (y >= lim)
		return (int64_t)lim - 1;
	if (y < -lim)
		return -(int64_t)lim;
	return (int64_t)y;
}

/* ---- G.711 ---- */

#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

static double ulaw_decode(uint8_t code)
{
	unsigned int u = (uint8_t)~code;
	unsigned int seg = (u >> 4) & 7, mant = u & 0xf;
	double mag = (double)((((mant << 3) + ULAW_BIAS) << seg) - ULAW_BIAS) / 32768.0;

	return (u & 0x80) ? -mag : mag;
}

static uint8_t ulaw_encode(double x)
{
	double y = nearbyint(x * 32768.0);
	unsigned int sign = signbit(y) ? 0x80 : 0;
	unsigned int mag, seg = 0;

	/* Negative values are one's complement (|v| - 1) as in ITU-T G.191's
	 * reference coder; -0.0 is mu-law's negative zero. */
	if (y < 0)
		mag = (unsigned int)-y - 1;
	else
		mag = (unsigned int)y;
	if (mag > ULAW_CLIP)
		mag = ULAW_CLIP;
	mag += ULAW_BIAS;
	while (seg < 7 && mag >= (0x100u << seg))
		seg++;
	return (uint8_t)~(sign | seg << 4 | ((mag >> (seg + 3)) & 0xf));
}

static double alaw_decode(uint8_t code)
{
	unsigned int a = code ^ 0x55u;
	unsigned int seg = (a >> 4) & 7, mant = a & 0xf;
	unsigned int t = (mant << 4) + 8;

	if (seg >= 1)
		t += 0x100;
	if (seg > 1)
		t <<= seg - 1;
	return (a & 0x80) ? t / 32768.0 : -(t / 32768.0);
}

static uint8_t alaw_encode(double x)
{
	/* A-law quantizes 13 bits (decision levels every 8 codes of 16-bit);
	 * negative values are one's complement as in ITU-T G.191. */
	double y = floor(x * 4096.0);
	unsigned int mask = 0xd5, seg = 0, v, mant;

	if (y > 4095)
		y = 4095;
	if (y < -4096)
		y = -4096;
	if (y < 0) {
		mask = 0x55;
		y = -y - 1;
	}
	v = (unsigned int)y;
	while (seg < 7 && v >= (32u << seg))
		seg++;
	mant = seg < 2 ? (v >> 1) & 0xf : (v >> seg) & 0xf;
	return (uint8_t)((seg << 4 | mant) ^ mask);
}

/* ---- floats ---- */

static double f32_get(const uint8_t *p)
{
	uint32_t u = vsnd_le32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static double f64_get(const uint8_t *p)
{
	uint64_t u = vsnd_le64(p);
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static void f32_put(uint8_t *p, double x)
{
	float f = (float)x;
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	vsnd_put_le32(p, u);
}

static void f64_put(uint8_t *p, double x)
{
	uint64_t u;

	memcpy(&u, &x, sizeof(u));
	vsnd_put_le64(p, u);
}

static double clamp_unit(double x)
{
	if (isnan(x))
		return 0.0;
	return x > 1.0 ? 1.0 : x < -1.0 ? -1.0 : x;
}

/* ---- public ---- */

int vsnd_pcm_to_double(unsigned int format, const void *src, double *dst, size_t n)
{
	enum pcv_kind kind = pcv_kind(format);
	unsigned int bytes = vsnd_pcm_sample_bytes(format), bits = vsnd_pcm_valid_bits(format);
	double scale = kind == PCV_SINT || kind == PCV_UINT ? ldexp(1.0, 1 - (int)bits) : 1.0;
	const uint8_t *p = src;

	for (size_t i = 0; i < n; i++, p += bytes) {
		switch (kind) {
		case PCV_SINT:
		case PCV_UINT:
			dst[i] = (double)int_get(p, bytes, bits, kind == PCV_UINT) * scale;
			break;
		case PCV_FLOAT:
			dst[i] = f32_get(p);
			break;
		case PCV_DOUBLE:
			dst[i] = f64_get(p);
			break;
		case PCV_ULAW:
			dst[i] = ulaw_decode(*p);
			break;
		case PCV_ALAW:
			dst[i] = alaw_decode(*p);
			break;
		case PCV_NONE:
			return -ENOTSUP;
		}
	}
	return kind == PCV_NONE ? -ENOTSUP : 0;
}

int vsnd_pcm_from_double(unsigned int format, const double *src, void *dst, size_t n)
{
	enum pcv_kind kind = pcv_kind(format);
	unsigned int bytes = vsnd_pcm_sample_bytes(format), bits = vsnd_pcm_valid_bits(format);
	uint8_t *p = dst;

	for (size_t i = 0; i < n; i++, p += bytes) {
		double x = clamp_unit(src[i]);

		switch (kind) {
		case PCV_SINT:
		case PCV_UINT:
			int_put(p, bytes, bits, kind == PCV_UINT, int_quantize(x, bits));
			break;
		case PCV_FLOAT:
			f32_put(p, x);
			break;
		case PCV_DOUBLE:
			f64_put(p, x);
			break;
		case PCV_ULAW:
			*p = ulaw_encode(x);
			break;
		case PCV_ALAW:
			*p = alaw_encode(x);
			break;
		case PCV_NONE:
			return -ENOTSUP;
		}
	}
	return kind == PCV_NONE ? -ENOTSUP : 0;
}
