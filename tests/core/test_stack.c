/* SPDX-License-Identifier: MIT */
/*
 * The whole library stack as a Linux guest drives it, without a VM: a fake
 * guest memory with split rings (indirect tables, EVENT_IDX, buffers cut at
 * page boundaries and across host regions), the virtqueue engine and its
 * transport adapter, the device model, and the real file backend on a fake
 * clock. Checks the probe-time queries, playback bit-exact in the WAV, and
 * completion times.
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

#include "fakedrv.h"
#include "fakehost.h"
#include "util/iov.h"
#include "virtq/vqset.h"
#include "wire/virtio_snd.h"
#include "vsnd/backend.h"
#include "vsnd/vsnd.h"

#define MS 1000000ull
#define QSIZE 64
#define PERIOD 1920           /* 10 ms, 48 kHz S16 stereo */
#define PERIODS 100           /* 1 s */

struct stack {
	struct fakedrv d;
	struct fakedrv_ring ring[VSND_NUM_QUEUES];
	struct vsnd_vqset vqs;
	struct vsnd_backend *be;
	struct vsnd_dev *dev;
	struct fakehost host;
	unsigned int irqs[VSND_NUM_QUEUES];
	char path[64];
};

static void s_signal(void *o, unsigned int q) { ((struct stack *)o)->irqs[q]++; }

static struct stack *stack_new(void)
{
	struct stack *s = calloc(1, sizeof(*s));
	char spec[96];
	struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct vsnd_dev_config cfg = {
		.size = sizeof(struct vsnd_dev_config),
		.host = &fh_ops, .transport = &vsnd__vqset_ops,
	};

	strcpy(s->path, "/tmp/vsnd-stack-XXXXXX.wav");
	close(mkstemps(s->path, 4));
	snprintf(spec, sizeof(spec), "file,out=%s", s->path);
	assert_int_equal(fakedrv_init(&s->d, NULL), 0);
	assert_int_equal(vsnd__vqset_init(&s->vqs, s_signal, s), 0);
	assert_int_equal(vsnd_backend_create(spec, &env, &s->be), 0);
	cfg.backend = s->be;
	cfg.host_opaque = &s->host;
	cfg.transport_opaque = &s->vqs;
	fh_init(&s->host, 5000 * MS);
	assert_int_equal(vsnd_dev_new(&s->dev, &cfg), 0);
	vsnd_dev_set_features(s->dev, vsnd_dev_features(s->dev));
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		assert_int_equal(fakedrv_ring_init(&s->ring[q], &s->d, QSIZE, true), 0);
		assert_int_equal(fakedrv_ring_start(&s->ring[q], &s->vqs, q, true), 0);
	}
	return s;
}

static void stack_free(struct stack *s)
{
	vsnd_dev_free(s->dev);
	vsnd_backend_destroy(s->be);
	vsnd__vqset_fini(&s->vqs);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++)
		fakedrv_ring_fini(&s->ring[q]);
	fakedrv_fini(&s->d);
	unlink(s->path);
	free(s);
}

/* One synchronous control request through an indirect chain cut every
 * 5 bytes (so no field sits whole in one descriptor). */
static uint32_t stack_ctl(struct stack *s, const void *req, size_t len, void *resp, size_t resp_len)
{
	struct fakedrv_req r;
	struct fakedrv_req_opts o = { .split = 5, .indirect = true, .resp_fill = 0xa5 };
	uint32_t id, used;
	uint8_t hdr[4];

	assert_true(fakedrv_add_request(&s->ring[0], req, len, 4 + resp_len, &o, &r) >= 0);
	vring_flush(&s->ring[0].ring);
	vsnd_dev_kick(s->dev, VSND_QUEUE_CONTROL);
	assert_int_equal(fakedrv_ring_get_used(&s->ring[0], &id, &used), 0);
	assert_int_equal(id, (uint32_t)r.head);
	assert_int_equal(fakedrv_read(&s->d, r.wr_gpa, hdr, 4), 0);
	if (resp)
		assert_int_equal(fakedrv_read(&s->d, r.wr_gpa + 4, resp, resp_len), 0);
	return vsnd_le32(hdr);
}

static void test_probe_queries(void **state)
{
	struct stack *s = stack_new();
	uint8_t q[16], r[2 * 32];

	(void)state;
	/* Linux posts event buffers without kicking */
	for (int i = 0; i < 8; i++) {
		struct fakedrv_req_opts o = { 0 };
		assert_true(fakedrv_add_request(&s->ring[1], NULL, 0, 8, &o, NULL) >= 0);
	}
	vring_flush(&s->ring[1].ring);
	vsnd_put_le32(q, VIRTIO_SND_R_PCM_INFO);
	vsnd_put_le32(q + 4, 0);
	vsnd_put_le32(q + 8, 2);
	vsnd_put_le32(q + 12, 32);
	assert_int_equal(stack_ctl(s, q, 16, r, sizeof(r)), VIRTIO_SND_S_OK);
	assert_int_equal(r[24], VSND_DIR_OUTPUT);
	assert_int_equal(r[32 + 24], VSND_DIR_INPUT);
	/* a jack event reaches a buffer that was never kicked */
	assert_int_equal(vsnd_dev_jack_set(s->dev, 1, false), 0);
	assert_int_equal(vring_used_pending(&s->ring[1].ring), 1);
	assert_true(s->irqs[1] >= 1);
	stack_free(s);
}

static void set_params(struct stack *s)
{
	uint8_t p[24] = { 0 };

	vsnd_put_le32(p, VIRTIO_SND_R_PCM_SET_PARAMS);
	vsnd_put_le32(p + 4, 0);
	vsnd_put_le32(p + 8, 4 * PERIOD);
	vsnd_put_le32(p + 12, PERIOD);
	p[20] = 2;
	p[21] = VSND_PCM_FMT_S16;
	p[22] = VSND_PCM_RATE_48000;
	assert_int_equal(stack_ctl(s, p, sizeof(p), NULL, 0), VIRTIO_SND_S_OK);
}

static uint32_t pcm(struct stack *s, uint32_t code)
{
	uint8_t p[8];

	vsnd_put_le32(p, code);
	vsnd_put_le32(p + 4, 0);
	return stack_ctl(s, p, sizeof(p), NULL, 0);
}

/* Queue period k as Linux does: xfer + the period cut at 4 KiB "pages" +
 * status, through an indirect table. */
static void queue_period(struct stack *s, const uint8_t *audio, int k)
{
	uint8_t msg[4 + PERIOD];
	struct fakedrv_req_opts o = { .split = 4096, .indirect = true };

	vsnd_put_le32(msg, 0);
	memcpy(msg + 4, audio + (size_t)k * PERIOD, PERIOD);
	assert_true(fakedrv_add_request(&s->ring[2], msg, sizeof(msg), 8, &o, NULL) >= 0);
	if (vring_flush(&s->ring[2].ring))
		vsnd_dev_kick(s->dev, VSND_QUEUE_TX);
}

static void test_playback_through_rings(void **state)
{
	struct stack *s = stack_new();
	uint8_t *audio = malloc((size_t)PERIOD * PERIODS), *back = malloc((size_t)PERIOD * PERIODS);
	int queued = 0, done = 0;
	uint64_t t0;
	SF_INFO info = { 0 };
	SNDFILE *sf;

	(void)state;
	for (size_t i = 0; i < (size_t)PERIOD * PERIODS; i++)
		audio[i] = (uint8_t)(i * 7 + i / 977);
	set_params(s);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE), VIRTIO_SND_S_OK);
	for (; queued < 4; queued++)
		queue_period(s, audio, queued);
	t0 = s->host.now;
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START), VIRTIO_SND_S_OK);
	while (done < PERIODS) {
		uint32_t id, len;

		assert_true(s->host.timer != UINT64_MAX);
		s->host.now = s->host.timer;
		vsnd_dev_process(s->dev);
		while (fakedrv_ring_get_used(&s->ring[2], &id, &len) == 0) {
			done++;
			assert_int_equal(len, 8);
			/* period k completes when its last frame was consumed */
			assert_int_equal(s->host.now, t0 + (uint64_t)done * 10 * MS);
			if (queued < PERIODS)
				queue_period(s, audio, queued++);
		}
	}
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE), VIRTIO_SND_S_OK);
	sf = sf_open(s->path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.frames, PERIODS * PERIOD / 4);
	assert_int_equal(sf_read_raw(sf, back, (sf_count_t)PERIOD * PERIODS), (sf_count_t)PERIOD * PERIODS);
	assert_memory_equal(back, audio, (size_t)PERIOD * PERIODS);
	sf_close(sf);
	free(audio);
	free(back);
	stack_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_queries),
		cmocka_unit_test(test_playback_through_rings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
