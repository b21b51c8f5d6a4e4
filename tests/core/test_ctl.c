/* SPDX-License-Identifier: MIT */
/* Config space, features and the item-information requests, valid and not. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drive/req.h"
#include "harness.h"
#include "util/iov.h"

static int setup(void **state)
{
	*state = h_new("null", NULL, false);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	h_free(*state);
	return 0;
}

static void test_config(void **state)
{
	struct harness *h = *state;
	uint8_t cfg[16];
	struct harness *hc = h_new("null", NULL, true);

	assert_int_equal(vsnd_dev_config_size(h->dev), 12);
	assert_int_equal(vsnd_dev_config_read(h->dev, 0, cfg, 12), 0);
	assert_int_equal(vsnd_le32(cfg), 2);     /* jacks */
	assert_int_equal(vsnd_le32(cfg + 4), 2); /* streams */
	assert_int_equal(vsnd_le32(cfg + 8), 2); /* chmaps */
	assert_int_equal(vsnd_dev_config_read(h->dev, 4, cfg, 4), 0);
	assert_int_equal(vsnd_le32(cfg), 2);
	/* without F_CTLS there is no "controls" field to read */
	assert_int_equal(vsnd_dev_config_read(h->dev, 12, cfg, 4), -EINVAL);
	assert_int_equal(vsnd_dev_config_read(h->dev, 8, cfg, 8), -EINVAL);
	assert_int_equal(vsnd_dev_config_read(h->dev, UINT32_MAX, cfg, 2), -EINVAL);

	assert_non_null(hc);
	assert_int_equal(vsnd_dev_config_size(hc->dev), 16);
	assert_int_equal(vsnd_dev_config_read(hc->dev, 0, cfg, 16), 0);
	assert_int_equal(vsnd_le32(cfg + 12), 4); /* volume + switch per stream */
	h_free(hc);
}

static void test_features(void **state)
{
	struct harness *h = *state;
	struct harness *hc = h_new("null", NULL, true);
	uint64_t f = vsnd_dev_features(h->dev);

	assert_true(f & 1ull << VSND_VIRTIO_F_VERSION_1);
	assert_true(f & 1ull << VSND_VIRTIO_F_INDIRECT_DESC);
	assert_true(f & 1ull << VSND_VIRTIO_F_EVENT_IDX);
	assert_false(f & 1ull << VSND_F_CTLS);
	assert_true(vsnd_dev_features(hc->dev) & 1ull << VSND_F_CTLS);
	h_free(hc);
}

static void test_jack_info(void **state)
{
	struct harness *h = *state;
	uint8_t q[16], r[2 * 24];

	req_query(q, VIRTIO_SND_R_JACK_INFO, 0, 2, 24);
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 0), VIRTIO_SND_S_OK);
	/* jack 0: line out, green, presence detect + output capable */
	assert_int_equal(vsnd_le32(r + 0), 0);
	assert_int_equal(vsnd_le32(r + 4), 0);
	assert_int_equal(vsnd_le32(r + 8) >> 20 & 0xf, 0x0);
	assert_int_equal(vsnd_le32(r + 12), 0x14);
	assert_int_equal(r[16], 1);
	for (int i = 17; i < 24; i++)
		assert_int_equal(r[i], 0);
	/* jack 1: mic in */
	assert_int_equal(vsnd_le32(r + 24 + 8) >> 20 & 0xf, 0xa);
	assert_int_equal(r[24 + 16], 1);
}

static void test_pcm_info(void **state)
{
	struct harness *h = *state;
	uint8_t q[16], r[2 * 32];

	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 32);
	/* split every byte: the device must not care where descriptors end */
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 1), VIRTIO_SND_S_OK);
	for (int s = 0; s < 2; s++) {
		const uint8_t *p = r + 32 * s;
		uint64_t fmts = vsnd_le64(p + 8), rates = vsnd_le64(p + 16);

		assert_int_equal(vsnd_le32(p + 4), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
		assert_true(fmts & 1ull << VSND_PCM_FMT_U8);
		assert_true(fmts & 1ull << VSND_PCM_FMT_S16);
		assert_true(fmts & 1ull << VSND_PCM_FMT_FLOAT64);
		assert_false(fmts & 1ull << VSND_PCM_FMT_IMA_ADPCM);
		assert_false(fmts >> VSND_PCM_FMT_COUNT);
		assert_true(rates & 1ull << VSND_PCM_RATE_5512);
		assert_true(rates & 1ull << VSND_PCM_RATE_384000);
		assert_false(rates >> VSND_PCM_RATE_COUNT);
		assert_int_equal(p[24], s);
		assert_int_equal(p[25], 1);
		assert_int_equal(p[26], 2);
		for (int i = 27; i < 32; i++)
			assert_int_equal(p[i], 0);
	}
}

static void test_chmap_info(void **state)
{
	struct harness *h = *state;
	uint8_t q[16], r[24];

	req_query(q, VIRTIO_SND_R_CHMAP_INFO, 1, 1, 24);
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 3), VIRTIO_SND_S_OK);
	assert_int_equal(r[4], VSND_DIR_INPUT);
	assert_int_equal(r[5], 2);
	assert_int_equal(r[6], VIRTIO_SND_CHMAP_FL);
	assert_int_equal(r[7], VIRTIO_SND_CHMAP_FR);
	for (int i = 8; i < 24; i++)
		assert_int_equal(r[i], 0);
}

/* The driver's record size rules the stride: shorter records are cut,
 * longer ones zero-padded. */
static void test_info_record_size(void **state)
{
	struct harness *h = *state;
	uint8_t q[16], r[2 * 40];

	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 40);
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 7), VIRTIO_SND_S_OK);
	assert_int_equal(r[40 + 24], VSND_DIR_INPUT);
	for (int i = 32; i < 40; i++) {
		assert_int_equal(r[i], 0);
		assert_int_equal(r[40 + i], 0);
	}
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 8);
	memset(r, 0xee, sizeof(r));
	assert_int_equal(h_ctl(h, q, 16, r, 16, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r + 4), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
	assert_int_equal(vsnd_le32(r + 8 + 4), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
}

static void test_info_bad(void **state)
{
	struct harness *h = *state;
	uint8_t q[16], r[256];

	req_query(q, VIRTIO_SND_R_JACK_INFO, 1, 2, 24);  /* past the end */
	assert_int_equal(h_ctl(h, q, 16, r, 48, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_JACK_INFO, 3, 0, 24);  /* start past the end */
	assert_int_equal(h_ctl(h, q, 16, r, 48, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_JACK_INFO, UINT32_MAX, 2, 24);  /* wraps */
	assert_int_equal(h_ctl(h, q, 16, r, 48, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 32);   /* room for 1.5 records */
	assert_int_equal(h_ctl(h, q, 16, r, 48, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 0);    /* zero stride */
	assert_int_equal(h_ctl(h, q, 16, r, 64, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 1, 1u << 31);  /* absurd stride */
	assert_int_equal(h_ctl(h, q, 16, r, 64, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 1, 32);   /* short request */
	assert_int_equal(h_ctl(h, q, 12, r, 64, 0), VIRTIO_SND_S_BAD_MSG);
	req_query(q, VIRTIO_SND_R_CHMAP_INFO, 0, 0, 24);  /* nothing asked: fine */
	assert_int_equal(h_ctl(h, q, 16, r, 0, 0), VIRTIO_SND_S_OK);
}

static void test_malformed(void **state)
{
	struct harness *h = *state;
	uint8_t req[8], r[600];
	struct h_chain *c;

	vsnd_put_le32(req, 0x0999);
	assert_int_equal(h_ctl(h, req, 4, r, 0, 0), VIRTIO_SND_S_NOT_SUPP);
	/* control elements are not offered without --controls */
	vsnd_put_le32(req, VIRTIO_SND_R_CTL_READ);
	vsnd_put_le32(req + 4, 0);
	assert_int_equal(h_ctl(h, req, 8, r, 516, 0), VIRTIO_SND_S_NOT_SUPP);
	/* JACK_REMAP: never advertised */
	{
		uint8_t rm[16] = { 0 };
		vsnd_put_le32(rm, VIRTIO_SND_R_JACK_REMAP);
		assert_int_equal(h_ctl(h, rm, 16, r, 0, 0), VIRTIO_SND_S_NOT_SUPP);
		vsnd_put_le32(rm + 4, 9);
		assert_int_equal(h_ctl(h, rm, 16, r, 0, 0), VIRTIO_SND_S_BAD_MSG);
	}
	/* shorter than a header */
	assert_int_equal(h_ctl(h, req, 2, r, 0, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(h_ctl(h, NULL, 0, r, 0, 0), VIRTIO_SND_S_BAD_MSG);
	/* no room for the status: returned with len 0, nothing written */
	c = h_chain_new(req, 8, 2, 0);
	h_post(h, VSND_QUEUE_CONTROL, c);
	vsnd_dev_kick(h->dev, VSND_QUEUE_CONTROL);
	assert_true(c->done);
	assert_int_equal(c->used_len, 0);
	assert_int_equal(c->wr_buf[0], 0xa5);
	h_chain_free(c);
	/* PCM request for a stream that does not exist */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 7), VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(req, VIRTIO_SND_R_PCM_START);
	assert_int_equal(h_ctl(h, req, 6, r, 0, 0), VIRTIO_SND_S_BAD_MSG);
}

static void test_broken_ring(void **state)
{
	struct harness *h = *state;

	h->ring_broken[VSND_QUEUE_CONTROL] = true;
	vsnd_dev_kick(h->dev, VSND_QUEUE_CONTROL);
	assert_true(vsnd_dev_broken(h->dev));
	/* a broken device pops nothing more */
	h->ring_broken[VSND_QUEUE_CONTROL] = false;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), 0);
	vsnd_dev_reset(h->dev);
	assert_false(vsnd_dev_broken(h->dev));
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
}


static void ctl_hdr(uint8_t *r, uint32_t code, uint32_t id)
{
	vsnd_put_le32(r, code);
	vsnd_put_le32(r + 4, id);
}

static void test_ctl_info(void **state)
{
	struct harness *h = h_new("null", NULL, true);
	uint8_t q[16], r[4 * 96];

	(void)state;
	vsnd_dev_set_features(h->dev, vsnd_dev_features(h->dev));
	req_query(q, VIRTIO_SND_R_CTL_INFO, 0, 4, 96);
	assert_int_equal(h_ctl(h, q, 16, r, sizeof(r), 5), VIRTIO_SND_S_OK);
	/* control 0: output volume, INTEGER 0..100 step 0 (as ALSA's drivers),
	 * R/W/TLV_READ */
	assert_int_equal(vsnd_le32(r + 4), VIRTIO_SND_CTL_ROLE_VOLUME << 1 | VSND_DIR_OUTPUT);
	assert_int_equal(vsnd_le32(r + 8), VIRTIO_SND_CTL_TYPE_INTEGER);
	assert_int_equal(vsnd_le32(r + 12), 1 | 2 | 16);
	assert_int_equal(vsnd_le32(r + 16), 1);
	assert_string_equal((const char *)r + 24, "Master Playback Volume");
	assert_int_equal(vsnd_le32(r + 72), 0);
	assert_int_equal(vsnd_le32(r + 76), 100);
	assert_int_equal(vsnd_le32(r + 80), 0);
	/* control 1: output switch */
	assert_int_equal(vsnd_le32(r + 96 + 4), VIRTIO_SND_CTL_ROLE_MUTE << 1 | VSND_DIR_OUTPUT);
	assert_int_equal(vsnd_le32(r + 96 + 8), VIRTIO_SND_CTL_TYPE_BOOLEAN);
	assert_string_equal((const char *)r + 96 + 24, "Master Playback Switch");
	/* controls 2, 3: capture */
	assert_string_equal((const char *)r + 192 + 24, "Capture Volume");
	assert_string_equal((const char *)r + 288 + 24, "Capture Switch");
	assert_int_equal(vsnd_le32(r + 288 + 4), VIRTIO_SND_CTL_ROLE_MUTE << 1 | VSND_DIR_INPUT);
	/* a 32-bit x86 guest's 92-byte record: the value union sits at 68 */
	req_query(q, VIRTIO_SND_R_CTL_INFO, 0, 2, 92);
	assert_int_equal(h_ctl(h, q, 16, r, 2 * 92, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r + 68), 0);
	assert_int_equal(vsnd_le32(r + 72), 100);
	assert_int_equal(vsnd_le32(r + 76), 0);
	assert_int_equal(vsnd_le32(r + 92 + 8), VIRTIO_SND_CTL_TYPE_BOOLEAN);
	req_query(q, VIRTIO_SND_R_CTL_INFO, 2, 3, 96);
	assert_int_equal(h_ctl(h, q, 16, r, 3 * 96, 0), VIRTIO_SND_S_BAD_MSG);
	h_free(h);
}

static void test_ctl_read_write(void **state)
{
	struct harness *h = h_new("null", NULL, true);
	uint8_t req[8 + 512] = { 0 }, r[512];
	struct vsnd_stream_status st = { .size = sizeof(st) };

	(void)state;
	ctl_hdr(req, VIRTIO_SND_R_CTL_READ, 0);
	assert_int_equal(h_ctl(h, req, 8, r, 512, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r), 100);
	assert_int_equal(r[4], 0);
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 0);
	vsnd_put_le32(req + 8, 50);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 3), VIRTIO_SND_S_OK);
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 3);
	vsnd_put_le32(req + 8, 0);  /* capture switch off */
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.volume, 50);
	assert_false(st.muted);
	assert_int_equal(vsnd_dev_stream_status(h->dev, 1, &st), 0);
	assert_true(st.muted);
	ctl_hdr(req, VIRTIO_SND_R_CTL_READ, 0);
	assert_int_equal(h_ctl(h, req, 8, r, 512, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r), 50);
	/* out of range values, bad ids, short areas */
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 0);
	vsnd_put_le32(req + 8, 101);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 1);
	vsnd_put_le32(req + 8, 2);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 4);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(h_ctl(h, req, 10, NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	ctl_hdr(req, VIRTIO_SND_R_CTL_READ, 0);
	assert_int_equal(h_ctl(h, req, 8, r, 100, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.volume, 50);
	/* no ENUMERATED controls; no TLV write/command access */
	ctl_hdr(req, VIRTIO_SND_R_CTL_ENUM_ITEMS, 0);
	assert_int_equal(h_ctl(h, req, 8, r, 64, 0), VIRTIO_SND_S_BAD_MSG);
	ctl_hdr(req, VIRTIO_SND_R_CTL_TLV_WRITE, 0);
	assert_int_equal(h_ctl(h, req, 24, NULL, 0, 0), VIRTIO_SND_S_NOT_SUPP);
	ctl_hdr(req, VIRTIO_SND_R_CTL_TLV_COMMAND, 0);
	assert_int_equal(h_ctl(h, req, 24, NULL, 0, 0), VIRTIO_SND_S_NOT_SUPP);
	h_free(h);
}

static void test_ctl_tlv(void **state)
{
	struct harness *h = h_new("null", NULL, true);
	uint8_t req[8], r[64];

	(void)state;
	ctl_hdr(req, VIRTIO_SND_R_CTL_TLV_READ, 2);
	assert_int_equal(h_ctl(h, req, 8, r, 64, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r), VSND_TLV_DB_SCALE);
	assert_int_equal(vsnd_le32(r + 4), 8);
	assert_int_equal((int32_t)vsnd_le32(r + 8), -5000);
	assert_int_equal(vsnd_le32(r + 12), 50 | VSND_TLV_DB_SCALE_MUTE);
	/* too small: cut, still OK */
	memset(r, 0xcc, sizeof(r));
	assert_int_equal(h_ctl(h, req, 8, r, 6, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_le32(r), VSND_TLV_DB_SCALE);
	/* a switch has no TLV */
	ctl_hdr(req, VIRTIO_SND_R_CTL_TLV_READ, 1);
	assert_int_equal(h_ctl(h, req, 8, r, 64, 0), VIRTIO_SND_S_BAD_MSG);
	h_free(h);
}

/* Host-side changes reach the driver as CTL_NOTIFY events. */
static void test_ctl_notify(void **state)
{
	struct harness *h = h_new("null", NULL, true);
	struct h_chain *e[2];

	(void)state;
	vsnd_dev_set_features(h->dev, vsnd_dev_features(h->dev));
	for (int i = 0; i < 2; i++) {
		e[i] = h_chain_new(NULL, 0, 8, 0);
		h_post(h, VSND_QUEUE_EVENT, e[i]);
	}
	assert_int_equal(vsnd_dev_volume_set(h->dev, 1, 40), 0);
	assert_int_equal(vsnd_dev_mute_set(h->dev, 0, true), 0);
	assert_int_equal(vsnd_dev_volume_set(h->dev, 1, 101), -ERANGE);
	assert_int_equal(vsnd_dev_volume_set(h->dev, 2, 10), -ENOENT);
	assert_true(e[0]->done && e[1]->done);
	assert_int_equal(vsnd_le32(e[0]->wr_buf), VIRTIO_SND_EVT_CTL_NOTIFY);
	assert_int_equal(vsnd_le16(e[0]->wr_buf + 4), 2);  /* capture volume */
	assert_int_equal(vsnd_le16(e[0]->wr_buf + 6), 1);  /* VALUE */
	assert_int_equal(vsnd_le16(e[1]->wr_buf + 4), 1);  /* playback switch */
	h_chain_free(e[0]);
	h_chain_free(e[1]);
	h_free(h);
}

/* The driver's own writes are notified too (other guest mixers must see
 * them), but only when the value really changes. */
static void test_ctl_notify_driver_write(void **state)
{
	struct harness *h = h_new("null", NULL, true);
	uint8_t req[8 + 512] = { 0 };
	struct h_chain *e[3];

	(void)state;
	vsnd_dev_set_features(h->dev, vsnd_dev_features(h->dev));
	for (int i = 0; i < 3; i++) {
		e[i] = h_chain_new(NULL, 0, 8, 0);
		h_post(h, VSND_QUEUE_EVENT, e[i]);
	}
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 0);
	vsnd_put_le32(req + 8, 50);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_OK);
	assert_true(e[0]->done);
	assert_int_equal(vsnd_le32(e[0]->wr_buf), VIRTIO_SND_EVT_CTL_NOTIFY);
	assert_int_equal(vsnd_le16(e[0]->wr_buf + 4), 0);  /* playback volume */
	assert_int_equal(vsnd_le16(e[0]->wr_buf + 6), 1);  /* VALUE */
	/* the same value again, and a bad one: no event */
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_OK);
	vsnd_put_le32(req + 8, 101);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	assert_false(e[1]->done);
	ctl_hdr(req, VIRTIO_SND_R_CTL_WRITE, 3);
	vsnd_put_le32(req + 8, 0);  /* capture switch off */
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_OK);
	assert_true(e[1]->done);
	assert_int_equal(vsnd_le16(e[1]->wr_buf + 4), 3);
	assert_int_equal(h_ctl(h, req, sizeof(req), NULL, 0, 0), VIRTIO_SND_S_OK);
	assert_false(e[2]->done);
	for (int i = 0; i < 3; i++)
		h_chain_free(e[i]);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jack_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pcm_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chmap_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_record_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_ring, setup, teardown),
		cmocka_unit_test(test_ctl_info),
		cmocka_unit_test(test_ctl_read_write),
		cmocka_unit_test(test_ctl_tlv),
		cmocka_unit_test(test_ctl_notify),
		cmocka_unit_test(test_ctl_notify_driver_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
