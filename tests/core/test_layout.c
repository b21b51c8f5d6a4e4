/* SPDX-License-Identifier: MIT */
/* Stream layouts: presets, the --streams language, its errors, and what the
 * guest is told about them (PCM_INFO, JACK_INFO, CHMAP_INFO). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/layout.h"
#include "harness.h"
#include "util/iov.h"

static void test_presets(void **state)
{
	struct vsnd_layout l;
	char err[160];
	const char *name, *what;

	(void)state;
	for (unsigned int i = 0; (name = vsnd_layout_presets(i, &what)); i++) {
		assert_int_equal(vsnd__layout_parse(&l, name, err, sizeof(err)), 0);
		assert_true(strlen(what) > 0);
		/* and the device accepts every preset */
		struct harness *h = h_new("null", &l, false);
		assert_non_null(h);
		h_free(h);
	}
	vsnd__layout_default(&l);
	assert_int_equal(l.n_streams, 2);
	assert_int_equal(l.n_jacks, 2);
	assert_int_equal(l.n_chmaps, 2);  /* one per direction */
	assert_int_equal(l.chmaps[0].positions[0], VIRTIO_SND_CHMAP_FL);

	assert_int_equal(vsnd__layout_parse(&l, "5.1", err, sizeof(err)), 0);
	assert_int_equal(l.streams[0].channels_max, 6);
	/* 2, 2.1, quad, 5.0, 5.1 for the output; stereo for the input */
	assert_int_equal(l.n_chmaps, 6);
	assert_int_equal(l.chmaps[4].channels, 6);
	assert_memory_equal(l.chmaps[4].positions,
			    ((uint8_t[]){ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL,
					  VIRTIO_SND_CHMAP_RR, VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE }), 6);
	assert_int_equal(vsnd__layout_parse(&l, "7.1", err, sizeof(err)), 0);
	assert_int_equal(l.chmaps[6].channels, 8);
	assert_int_equal(l.chmaps[6].positions[6], VIRTIO_SND_CHMAP_SL);

	assert_int_equal(vsnd__layout_parse(&l, "car", err, sizeof(err)), 0);
	assert_int_equal(l.n_streams, 6);
	assert_int_equal(l.n_jacks, 6);
	assert_int_equal(l.streams[2].hda_fn_nid, 2);
	assert_int_equal(l.jacks[2].hda_reg_defconf >> 20 & 0xf, 0x2); /* HP out */
	assert_int_equal(l.jacks[1].hda_reg_defconf >> 20 & 0xf, 0x1); /* speaker */
	assert_int_equal(l.jacks[5].hda_reg_defconf >> 20 & 0xf, 0x8); /* line in */
}

static void test_spec(void **state)
{
	struct vsnd_layout l;
	char err[160];

	(void)state;
	assert_int_equal(vsnd__layout_parse(&l, "out:18/nid=3/rates=44100|48000/formats=s16|float,"
					      "in:1/jack=none", err, sizeof(err)), 0);
	assert_int_equal(l.n_streams, 2);
	assert_int_equal(l.streams[0].channels_min, 18);
	assert_int_equal(l.streams[0].hda_fn_nid, 3);
	assert_int_equal(l.streams[0].rates, 1u << VSND_PCM_RATE_44100 | 1u << VSND_PCM_RATE_48000);
	assert_int_equal(l.streams[0].formats, 1u << VSND_PCM_FMT_S16 | 1u << VSND_PCM_FMT_FLOAT);
	assert_int_equal(l.n_jacks, 1);
	/* 18 channels: every position distinct and defined */
	assert_int_equal(l.chmaps[0].channels, 18);
	for (int i = 0; i < 18; i++) {
		assert_true(l.chmaps[0].positions[i] >= VIRTIO_SND_CHMAP_FL);
		assert_true(l.chmaps[0].positions[i] < VIRTIO_SND_CHMAP_COUNT);
		for (int k = 0; k < i; k++)
			assert_int_not_equal(l.chmaps[0].positions[i], l.chmaps[0].positions[k]);
	}
	/* the mono input: a MONO map */
	assert_int_equal(l.chmaps[1].positions[0], VIRTIO_SND_CHMAP_MONO);
}

static void expect_error(const char *spec, const char *needle)
{
	struct vsnd_layout l;
	char err[200] = "";

	assert_int_equal(vsnd__layout_parse(&l, spec, err, sizeof(err)), -EINVAL);
	if (!strstr(err, needle))
		fail_msg("spec '%s': error '%s' lacks '%s'", spec, err, needle);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("", "empty");
	expect_error("surround", "stream 1 ('surround')");
	expect_error("out:2,sideways:2", "stream 2 ('sideways:2')");
	expect_error("out:19", "1..18");
	expect_error("out:0", "1..18");
	expect_error("out:3-2", "1..18");
	expect_error("out:2/nid=300", "nid");
	expect_error("out:2/rates=47000", "rates");
	/* rates a Linux guest cannot use: its driver rejects the stream */
	expect_error("out:2/rates=384000", "a Linux guest can use none");
	expect_error("in:1/rates=12000|24000", "a Linux guest can use none");
	expect_error("out:2/formats=s17", "formats");
	expect_error("out:2/jack=mic", "jack");
	expect_error("in:2/jack=speaker", "jack");
	expect_error("out:2/color=red", "unknown key");
	expect_error("out:2/nid", "KEY=VALUE");
	expect_error("out:2,", "trailing");
}

/* The opaque layout of the public API, with the same parser behind it. */
static void test_public_api(void **state)
{
	struct vsnd_layout *l;
	char err[200] = "";

	(void)state;
	assert_int_equal(vsnd_layout_new(&l, NULL, err, sizeof(err)), 0);
	assert_int_equal(vsnd_layout_stream_count(l), 2);
	assert_int_equal(vsnd_layout_stream_direction(l, 0), VSND_DIR_OUTPUT);
	assert_int_equal(vsnd_layout_stream_direction(l, 1), VSND_DIR_INPUT);
	assert_int_equal(vsnd_layout_stream_direction(l, 2), -ENOENT);
	vsnd_layout_free(l);
	assert_int_equal(vsnd_layout_new(&l, "car", err, sizeof(err)), 0);
	assert_int_equal(vsnd_layout_stream_count(l), 6);
	vsnd_layout_free(l);
	assert_int_equal(vsnd_layout_new(&l, "out:2,", err, sizeof(err)), -EINVAL);
	assert_null(l);
	assert_non_null(strstr(err, "trailing"));
	vsnd_layout_free(NULL);
}

/* What the guest sees of a layout. */
static void test_guest_view(void **state)
{
	struct vsnd_layout l;
	struct harness *h;
	uint8_t q[16], r[6 * 32];
	char err[100];

	(void)state;
	assert_int_equal(vsnd__layout_parse(&l, "car", err, sizeof(err)), 0);
	h = h_new("null", &l, false);
	vsnd_put_le32(q, VIRTIO_SND_R_PCM_INFO);
	vsnd_put_le32(q + 4, 0);
	vsnd_put_le32(q + 8, 6);
	vsnd_put_le32(q + 12, 32);
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r + 32 * 3), 3);     /* nid */
	assert_int_equal(r[32 * 3 + 26], 1);            /* channels max */
	assert_int_equal(r[32 * 4 + 24], VSND_DIR_INPUT);
	vsnd_put_le32(q, VIRTIO_SND_R_JACK_INFO);
	vsnd_put_le32(q + 12, 24);
	assert_int_equal(h_ctl(h, q, 16, r, 6 * 24, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r + 24 * 2), 2);
	assert_int_equal(vsnd_le32(r + 24 * 2 + 8), 0x0221401f);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_presets),
		cmocka_unit_test(test_spec),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_public_api),
		cmocka_unit_test(test_guest_view),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
