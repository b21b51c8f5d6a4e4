/* SPDX-License-Identifier: MIT */
/*
 * The Linux driver's rules vsnd-drive check holds a device to: control
 * metadata (CVE-2026-64490's limits) and the rates it maps, each rule
 * broken once on a crafted answer; and the I/O messages it may queue on a
 * stream, against what a ring holds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "drive/rules.h"
#include "util/iov.h"
#include "wire/virtio_snd.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const char *ctl(uint32_t type, uint32_t count, uint32_t items)
{
	static uint8_t info[VIRTIO_SND_CTL_INFO_SIZE];
	static char buf[96];

	memset(info, 0, sizeof(info));
	put32(info + 8, type);
	put32(info + 16, count);
	put32(info + 72, items);
	return rules_ctl(info, buf, sizeof(buf));
}

static void test_ctl_limits(void **state)
{
	(void)state;
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_BOOLEAN, 128, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_BOOLEAN, 129, 0), "at most 128"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER, 2, 0));
	assert_non_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER, 129, 0));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER64, 64, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_INTEGER64, 65, 0), "at most 64"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 1, 3));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 1, 0), "no item"));
	assert_non_null(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 129, 3));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_BYTES, 512, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_BYTES, 513, 0), "at most 512"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_IEC958, 1, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_IEC958, 2, 0), "exactly 1"));
	assert_non_null(strstr(ctl(6, 1, 0), "type 6"));
}

static void test_rates(void **state)
{
	(void)state;
	assert_null(rules_rates(UINT64_C(1) << VSND_PCM_RATE_48000));
	assert_null(rules_rates(UINT64_C(1) << VSND_PCM_RATE_5512));
	assert_null(rules_rates((UINT64_C(1) << VSND_PCM_RATE_192000) |
				(UINT64_C(1) << VSND_PCM_RATE_384000)));
	assert_non_null(strstr(rules_rates(UINT64_C(1) << VSND_PCM_RATE_384000), "384"));
	assert_non_null(strstr(rules_rates((UINT64_C(1) << VSND_PCM_RATE_12000) |
					   (UINT64_C(1) << VSND_PCM_RATE_24000)),
			       "no Linux driver maps"));
}

/* A PCM_INFO record: formats, rates, direction, channel range. */
static const uint8_t *pcm(uint64_t formats, uint64_t rates, uint8_t dir, uint8_t cmin,
			  uint8_t cmax)
{
	static uint8_t info[VIRTIO_SND_PCM_INFO_SIZE];

	memset(info, 0, sizeof(info));
	vsnd_put_le64(info + 8, formats);
	vsnd_put_le64(info + 16, rates);
	info[24] = dir;
	info[25] = cmin;
	info[26] = cmax;
	return info;
}

#define BIT(n) (UINT64_C(1) << (n))
#define S16 BIT(VSND_PCM_FMT_S16)
#define R48K BIT(VSND_PCM_RATE_48000)
/* vsnd's default stream: every format but IMA_ADPCM, every rate */
#define ALL_FMTS ((BIT(VSND_PCM_FMT_COUNT) - 1) & ~BIT(VSND_PCM_FMT_IMA_ADPCM))
#define ALL_RATES (BIT(VSND_PCM_RATE_COUNT) - 1)

static void test_periods(void **state)
{
	const struct rules_linux_pcm *def = &rules_linux_pcm_defaults;
	struct rules_linux_pcm many = rules_linux_pcm_defaults;

	(void)state;
	assert_int_equal(def->buffer_ms, 160);
	assert_int_equal(def->periods_max, 16);
	assert_int_equal(def->period_ms_min, 10);
	assert_int_equal(rules_periods(def, pcm(ALL_FMTS, ALL_RATES, 0, 1, 2)), 16);
	assert_int_equal(rules_periods(def, pcm(S16, R48K, 1, 2, 2)), 16);
	/* pcm_periods_max raised: the buffer bounds them. FLOAT64 x 2 ch x
	 * 160 ms x 192 kHz over U8 x 1 ch x 10 ms x 5 kHz: 491520 / 50 */
	many.periods_max = 512;
	assert_int_equal(rules_periods(&many, pcm(ALL_FMTS, ALL_RATES, 0, 1, 2)), 512);
	many.periods_max = 20000;
	assert_int_equal(rules_periods(&many, pcm(ALL_FMTS, ALL_RATES, 0, 1, 2)), 9830);
	/* 30720 bytes rounded up to 32768, over 1920: the page counts */
	assert_int_equal(rules_periods(&many, pcm(S16, R48K, 0, 2, 2)), 17);
	/* 384 kHz is no rate Linux maps: it does not grow the buffer */
	assert_int_equal(rules_periods(&many, pcm(S16, R48K | BIT(VSND_PCM_RATE_384000), 0,
						  2, 2)), 17);
	/* IMA_ADPCM alone has 0-byte samples: no bound but periods_max */
	assert_int_equal(rules_periods(def, pcm(BIT(VSND_PCM_FMT_IMA_ADPCM), R48K, 0, 1, 1)),
			 16);
}

/* Streams Linux refuses queue nothing. */
static void test_periods_refused(void **state)
{
	const struct rules_linux_pcm *def = &rules_linux_pcm_defaults;

	(void)state;
	assert_int_equal(rules_periods(def, pcm(S16, R48K, 0, 0, 2)), 0);
	assert_int_equal(rules_periods(def, pcm(S16, R48K, 0, 2, 1)), 0);
	assert_int_equal(rules_periods(def, pcm(0, R48K, 0, 1, 2)), 0);
	assert_int_equal(rules_periods(def, pcm(BIT(VSND_PCM_FMT_COUNT), R48K, 0, 1, 2)), 0);
	assert_int_equal(rules_periods(def, pcm(S16, BIT(VSND_PCM_RATE_384000), 0, 1, 2)), 0);
	assert_int_equal(rules_periods(def, pcm(S16, R48K, 2, 1, 2)), 0);
}

static void test_ring_msgs(void **state)
{
	(void)state;
	assert_int_equal(rules_ring_msgs(RULES_QEMU_VQ_SIZE, true), 64);
	assert_int_equal(rules_ring_msgs(RULES_QEMU_VQ_SIZE, false), 21);
	assert_int_equal(rules_ring_msgs(128, false), 42);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_limits),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_periods),
		cmocka_unit_test(test_periods_refused),
		cmocka_unit_test(test_ring_msgs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
