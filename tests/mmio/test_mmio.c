/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport driven like a guest driver: register reads and
 * writes in the order Linux's virtio_mmio does them, rings in fake guest
 * memory (tests/support/fakedrv), the interrupt line and InterruptStatus,
 * a reset, refused features, and playback and capture bit-exact through
 * the file backend on a fake clock.
 */
#include <errno.h>
#include <limits.h>
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
#include "vsnd/backend.h"
#include "vsnd/mmio.h"
#include "wire/virtio_snd.h"
#include "vsnd/vsnd.h"

#define MS 1000000ull
#define QSIZE 64
#define PERIOD 1920u            /* 10 ms of 48 kHz S16 stereo */
#define CHUNKS 50u              /* 0.5 s */

/* virtio-mmio registers the test uses */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014, R_DRV_FEATURES = 0x020,
	R_DRV_FEATURES_SEL = 0x024, R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034,
	R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070, R_QUEUE_DESC_LO = 0x080,
	R_QUEUE_DESC_HI = 0x084, R_QUEUE_DRIVER_LO = 0x090, R_QUEUE_DRIVER_HI = 0x094,
	R_QUEUE_DEVICE_LO = 0x0a0, R_QUEUE_DEVICE_HI = 0x0a4, R_SHM_LEN_LO = 0x0b0,
	R_CONFIG = 0x100,
};
#define S_ACK 1u
#define S_DRIVER 2u
#define S_DRIVER_OK 4u
#define S_FEATURES_OK 8u

struct t {
	struct fakedrv d;
	struct fakedrv_ring ring[VSND_NUM_QUEUES];
	struct vsnd_backend *be;
	struct vsnd_mmio *m;
	struct fakehost host;
	bool irq;
	unsigned int irq_raises;
	char dir[64], out[96], in[96];
	struct fakedrv_req req[VSND_NUM_QUEUES][QSIZE]; /* by head */
};

static void t_irq(void *o, bool level)
{
	struct t *t = o;

	t->irq_raises += level && !t->irq;
	t->irq = level;
}

static const struct vsnd_mmio_ops t_ops = {
	.size = sizeof(struct vsnd_mmio_ops), .translate = fakedrv_translate, .set_irq = t_irq,
};

static uint32_t rd(struct t *t, uint64_t off) { return vsnd_mmio_read(t->m, off, 4); }
static void wr(struct t *t, uint64_t off, uint32_t v) { vsnd_mmio_write(t->m, off, v, 4); }

static struct t *t_new(bool file)
{
	struct t *t = calloc(1, sizeof(*t));
	struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct vsnd_mmio_config cfg = {
		.size = sizeof(struct vsnd_mmio_config), .host = &fh_ops, .ops = &t_ops,
	};
	char spec[256] = "null";

	assert_non_null(t);
	fh_init(&t->host, 1000 * MS);
	assert_int_equal(fakedrv_init(&t->d, NULL), 0);
	if (file) {
		snprintf(t->dir, sizeof(t->dir), "/tmp/vsnd-mmio-XXXXXX");
		assert_non_null(mkdtemp(t->dir));
		snprintf(t->out, sizeof(t->out), "%s/out.wav", t->dir);
		snprintf(t->in, sizeof(t->in), "%s/in.wav", t->dir);
		snprintf(spec, sizeof(spec), "file,out=%s,in=%s", t->out, t->in);
	}
	assert_int_equal(vsnd_backend_create(spec, &env, &t->be), 0);
	cfg.backend = t->be;
	cfg.host_opaque = &t->host;
	cfg.opaque = &t->d;
	assert_int_equal(vsnd_mmio_new(&t->m, &cfg), 0);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++)
		assert_int_equal(fakedrv_ring_init(&t->ring[q], &t->d, QSIZE, true), 0);
	return t;
}

static void t_free(struct t *t)
{
	vsnd_mmio_free(t->m);
	vsnd_backend_destroy(t->be);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++)
		fakedrv_ring_fini(&t->ring[q]);
	fakedrv_fini(&t->d);
	if (t->dir[0]) {
		unlink(t->out);
		unlink(t->in);
		rmdir(t->dir);
	}
	free(t);
}

/* Linux's virtio_mmio probe + virtio_dev_probe + vm_setup_vq, in order. */
static void bring_up(struct t *t)
{
	uint64_t f;

	wr(t, R_STATUS, 0);
	wr(t, R_STATUS, S_ACK);
	wr(t, R_STATUS, S_ACK | S_DRIVER);
	wr(t, R_DEV_FEATURES_SEL, 1);
	f = (uint64_t)rd(t, R_DEV_FEATURES) << 32;
	wr(t, R_DEV_FEATURES_SEL, 0);
	f |= rd(t, R_DEV_FEATURES);
	assert_true(f & (1ull << VSND_VIRTIO_F_VERSION_1));
	assert_true(f & (1ull << VSND_VIRTIO_F_EVENT_IDX));
	f &= (1ull << VSND_VIRTIO_F_VERSION_1) | (1ull << VSND_VIRTIO_F_EVENT_IDX);
	wr(t, R_DRV_FEATURES_SEL, 1);
	wr(t, R_DRV_FEATURES, (uint32_t)(f >> 32));
	wr(t, R_DRV_FEATURES_SEL, 0);
	wr(t, R_DRV_FEATURES, (uint32_t)f);
	wr(t, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	assert_true(rd(t, R_STATUS) & S_FEATURES_OK);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		struct fakedrv_ring *r = &t->ring[q];

		wr(t, R_QUEUE_SEL, q);
		assert_int_equal(rd(t, R_QUEUE_READY), 0);
		assert_true(rd(t, R_QUEUE_NUM_MAX) >= QSIZE);
		wr(t, R_QUEUE_NUM, QSIZE);
		wr(t, R_QUEUE_DESC_LO, (uint32_t)r->desc_gpa);
		wr(t, R_QUEUE_DESC_HI, (uint32_t)(r->desc_gpa >> 32));
		wr(t, R_QUEUE_DRIVER_LO, (uint32_t)r->avail_gpa);
		wr(t, R_QUEUE_DRIVER_HI, (uint32_t)(r->avail_gpa >> 32));
		wr(t, R_QUEUE_DEVICE_LO, (uint32_t)r->used_gpa);
		wr(t, R_QUEUE_DEVICE_HI, (uint32_t)(r->used_gpa >> 32));
		wr(t, R_QUEUE_READY, 1);
		assert_int_equal(rd(t, R_QUEUE_READY), 1);
	}
	wr(t, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Publish and notify like a driver: QueueNotify only when the ring says so. */
static void kick(struct t *t, unsigned int q)
{
	if (vring_flush(&t->ring[q].ring))
		wr(t, R_QUEUE_NOTIFY, q);
}

/* The interrupt handler: read and acknowledge InterruptStatus. */
static uint32_t irq_handler(struct t *t)
{
	uint32_t isr = rd(t, R_INT_STATUS);

	wr(t, R_INT_ACK, isr);
	assert_false(t->irq);
	return isr;
}

/* Send a control request and return the response (in guest memory). */
static uint32_t control(struct t *t, const void *req, size_t req_len, size_t resp_len,
			uint8_t *resp)
{
	struct fakedrv_req fr;
	uint32_t id, len;

	assert_true(fakedrv_add_request(&t->ring[0], req, req_len, resp_len, NULL, &fr) >= 0);
	kick(t, VSND_QUEUE_CONTROL);
	assert_true(t->irq);
	assert_int_equal(irq_handler(t), 1);
	assert_int_equal(fakedrv_ring_get_used(&t->ring[0], &id, &len), 0);
	assert_int_equal(id, fr.head);
	assert_int_equal(fakedrv_read(&t->d, fr.wr_gpa, resp, len), 0);
	return len >= 4 ? vsnd_le32(resp) : 0;
}

static uint32_t pcm(struct t *t, uint32_t code, uint32_t stream)
{
	uint8_t q[8], resp[4];

	vsnd_put_le32(q, code);
	vsnd_put_le32(q + 4, stream);
	return control(t, q, sizeof(q), sizeof(resp), resp);
}

static uint32_t set_params(struct t *t, uint32_t stream)
{
	uint8_t q[24] = { 0 }, resp[4];

	vsnd_put_le32(q, VIRTIO_SND_R_PCM_SET_PARAMS);
	vsnd_put_le32(q + 4, stream);
	vsnd_put_le32(q + 8, PERIOD * 4);
	vsnd_put_le32(q + 12, PERIOD);
	q[20] = 2;
	q[21] = VSND_PCM_FMT_S16;
	q[22] = VSND_PCM_RATE_48000;
	return control(t, q, sizeof(q), sizeof(resp), resp);
}

static void t_fire(void *m)
{
	vsnd_mmio_process(m);
}

/* Advance the fake clock by ns, firing the device's timer on the way. */
static void run_for(struct t *t, uint64_t ns)
{
	fh_run_until(&t->host, t->host.now + ns, ULONG_MAX, t_fire, t->m);
}

static void test_registers(void **state)
{
	struct t *t = t_new(false);

	assert_int_equal(rd(t, R_MAGIC), 0x74726976);
	assert_int_equal(rd(t, R_VERSION), 2);
	assert_int_equal(rd(t, R_DEVICE_ID), 25);
	assert_int_equal(rd(t, R_VENDOR_ID), VSND_MMIO_VENDOR_ID);
	wr(t, R_DEV_FEATURES_SEL, 1);
	assert_int_equal(rd(t, R_DEV_FEATURES) & 1, 1); /* VERSION_1 = bit 32 */
	wr(t, R_DEV_FEATURES_SEL, 2);
	assert_int_equal(rd(t, R_DEV_FEATURES), 0);
	/* config: jacks, streams, chmaps, any access size */
	assert_int_equal(vsnd_mmio_read(t->m, R_CONFIG, 4), 2);
	assert_int_equal(vsnd_mmio_read(t->m, R_CONFIG + 4, 4), 2);
	assert_int_equal(vsnd_mmio_read(t->m, R_CONFIG + 8, 1), 2);
	assert_int_equal(vsnd_mmio_read(t->m, R_CONFIG + 12, 4), 0); /* past the end */
	assert_int_equal(rd(t, R_SHM_LEN_LO), 0xffffffffu);
	assert_int_equal(vsnd_mmio_read(t->m, R_MAGIC, 2), 0);        /* bad size */
	assert_int_equal(vsnd_mmio_read(t->m, R_MAGIC + 1, 4), 0);    /* unaligned */
	/* hostile writes change nothing */
	vsnd_mmio_write(t->m, R_CONFIG, 0xffffffffu, 4);
	assert_int_equal(vsnd_mmio_read(t->m, R_CONFIG, 4), 2);
	wr(t, R_MAGIC, 0);
	assert_int_equal(rd(t, R_MAGIC), 0x74726976);
	wr(t, R_QUEUE_SEL, 99);
	wr(t, R_QUEUE_READY, 1);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	wr(t, R_QUEUE_NOTIFY, 1000);
	t_free(t);
}

static void test_features_refused(void **state)
{
	struct t *t = t_new(false);

	wr(t, R_STATUS, S_ACK | S_DRIVER);
	/* no VERSION_1: a legacy driver on a v2 device */
	wr(t, R_DRV_FEATURES_SEL, 0);
	wr(t, R_DRV_FEATURES, 1u << VSND_VIRTIO_F_EVENT_IDX);
	wr(t, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	assert_int_equal(rd(t, R_STATUS) & S_FEATURES_OK, 0);
	/* a feature we never offered */
	wr(t, R_STATUS, 0);
	wr(t, R_STATUS, S_ACK | S_DRIVER);
	wr(t, R_DRV_FEATURES_SEL, 1);
	wr(t, R_DRV_FEATURES, 1 | 0x80000000u);
	wr(t, R_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	assert_int_equal(rd(t, R_STATUS) & S_FEATURES_OK, 0);
	t_free(t);
}

static void test_ring_outside_ram(void **state)
{
	struct t *t = t_new(false);

	wr(t, R_STATUS, S_ACK | S_DRIVER);
	wr(t, R_QUEUE_SEL, 0);
	wr(t, R_QUEUE_NUM, QSIZE);
	wr(t, R_QUEUE_DESC_LO, 0x1000); /* below the fake RAM */
	wr(t, R_QUEUE_DRIVER_LO, (uint32_t)t->ring[0].avail_gpa);
	wr(t, R_QUEUE_DEVICE_LO, (uint32_t)t->ring[0].used_gpa);
	wr(t, R_QUEUE_READY, 1);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	wr(t, R_QUEUE_NUM, 1000); /* above QueueNumMax */
	wr(t, R_QUEUE_DESC_LO, (uint32_t)t->ring[0].desc_gpa);
	wr(t, R_QUEUE_READY, 1);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	t_free(t);
}

static void test_info_and_irq(void **state)
{
	struct t *t = t_new(false);
	uint8_t q[16], resp[4 + 2 * 32];

	bring_up(t);
	vsnd_put_le32(q, VIRTIO_SND_R_PCM_INFO);
	vsnd_put_le32(q + 4, 0);
	vsnd_put_le32(q + 8, 2);
	vsnd_put_le32(q + 12, 32);
	assert_int_equal(control(t, q, sizeof(q), sizeof(resp), resp), VIRTIO_SND_S_OK);
	assert_int_equal(resp[4 + 24], VSND_DIR_OUTPUT);
	assert_int_equal(resp[4 + 32 + 24], VSND_DIR_INPUT);
	assert_true(vsnd_le64(resp + 4 + 8) & (1ull << VSND_PCM_FMT_S16));
	assert_int_equal(t->irq_raises, 1);
	/* reset: rings forgotten, line low; a second bring-up works */
	wr(t, R_STATUS, 0);
	assert_int_equal(rd(t, R_STATUS), 0);
	wr(t, R_QUEUE_SEL, 0);
	assert_int_equal(rd(t, R_QUEUE_READY), 0);
	for (unsigned int i = 0; i < VSND_NUM_QUEUES; i++) {
		fakedrv_ring_fini(&t->ring[i]);
		assert_int_equal(fakedrv_ring_init(&t->ring[i], &t->d, QSIZE, true), 0);
	}
	bring_up(t);
	assert_int_equal(control(t, q, sizeof(q), sizeof(resp), resp), VIRTIO_SND_S_OK);
	t_free(t);
}

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 9) * 13 + 1);
}

/* Post TX chunk k (data = pattern at byte offset k * PERIOD). */
static void post_tx(struct t *t, unsigned int k)
{
	uint8_t msg[4 + PERIOD];
	struct fakedrv_req fr;
	int head;

	vsnd_put_le32(msg, 0);
	for (size_t i = 0; i < PERIOD; i++)
		msg[4 + i] = pattern((size_t)k * PERIOD + i);
	head = fakedrv_add_request(&t->ring[VSND_QUEUE_TX], msg, sizeof(msg), 8, NULL, &fr);
	assert_true(head >= 0 && head < QSIZE);
	t->req[VSND_QUEUE_TX][head] = fr;
}

static void test_play_bit_exact(void **state)
{
	struct t *t = t_new(true);
	unsigned int posted = 0, done = 0, rounds = 0;
	uint8_t *got;
	SF_INFO si = { 0 };
	SNDFILE *sf;
	sf_count_t n;

	bring_up(t);
	assert_int_equal(set_params(t, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (; posted < 4; posted++)
		post_tx(t, posted);
	kick(t, VSND_QUEUE_TX);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	while (done < CHUNKS && rounds++ < 1000) {
		uint32_t id, len;
		uint8_t st[8];

		run_for(t, 1 * MS);
		if (t->irq)
			irq_handler(t);
		while (fakedrv_ring_get_used(&t->ring[VSND_QUEUE_TX], &id, &len) == 0) {
			assert_int_equal(len, 8);
			assert_int_equal(fakedrv_read(&t->d, t->req[VSND_QUEUE_TX][id].wr_gpa, st, 8), 0);
			assert_int_equal(vsnd_le32(st), VIRTIO_SND_S_OK);
			done++;
			if (posted < CHUNKS)
				post_tx(t, posted++);
		}
		kick(t, VSND_QUEUE_TX);
	}
	assert_int_equal(done, CHUNKS);
	/* paced by the clock: 50 periods of 10 ms from START, minus the 4 prefilled */
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	assert_in_range(rounds, CHUNKS * 10 - 20, CHUNKS * 10 + 20);
	vsnd_mmio_free(t->m); /* finalizes the WAV */
	t->m = NULL;
	sf = sf_open(t->out, SFM_READ, &si);
	assert_non_null(sf);
	assert_int_equal(si.channels, 2);
	assert_int_equal(si.samplerate, 48000);
	assert_true(si.frames >= CHUNKS * PERIOD / 4);
	got = calloc(1, (size_t)si.frames * 4);
	assert_non_null(got);
	n = sf_read_raw(sf, got, si.frames * 4);
	assert_int_equal(n, si.frames * 4);
	for (size_t i = 0; i < (size_t)n; i++)
		assert_int_equal(got[i], i < CHUNKS * PERIOD ? pattern(i) : 0);
	free(got);
	sf_close(sf);
	t_free(t);
}

static void write_input(const char *path)
{
	SF_INFO si = { .samplerate = 48000, .channels = 2,
		       .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16 };
	SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
	uint8_t buf[PERIOD];

	assert_non_null(sf);
	for (unsigned int k = 0; k < CHUNKS + 10; k++) {
		for (size_t i = 0; i < PERIOD; i++)
			buf[i] = pattern((size_t)k * PERIOD + i);
		assert_int_equal(sf_write_raw(sf, buf, PERIOD), PERIOD);
	}
	sf_close(sf);
}

static void post_rx(struct t *t)
{
	uint8_t hdr[4];
	struct fakedrv_req fr;
	struct fakedrv_req_opts o = { .resp_fill = 0xee };
	int head;

	vsnd_put_le32(hdr, 1);
	head = fakedrv_add_request(&t->ring[VSND_QUEUE_RX], hdr, 4, PERIOD + 8, &o, &fr);
	assert_true(head >= 0 && head < QSIZE);
	t->req[VSND_QUEUE_RX][head] = fr;
}

static void test_record_bit_exact(void **state)
{
	struct t *t = t_new(true);
	unsigned int got = 0, rounds = 0;
	uint8_t buf[PERIOD + 8];

	write_input(t->in);
	bring_up(t);
	assert_int_equal(set_params(t, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (unsigned int i = 0; i < 4; i++)
		post_rx(t);
	kick(t, VSND_QUEUE_RX);
	run_for(t, 50 * MS);
	assert_int_equal(vring_used_pending(&t->ring[VSND_QUEUE_RX].ring), 0); /* held */
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	while (got < CHUNKS && rounds++ < 1000) {
		uint32_t id, len;

		run_for(t, 1 * MS);
		if (t->irq)
			irq_handler(t);
		while (got < CHUNKS &&
		       fakedrv_ring_get_used(&t->ring[VSND_QUEUE_RX], &id, &len) == 0) {
			assert_int_equal(len, PERIOD + 8);
			assert_int_equal(fakedrv_read(&t->d, t->req[VSND_QUEUE_RX][id].wr_gpa, buf,
						      sizeof(buf)), 0);
			assert_int_equal(vsnd_le32(buf + PERIOD), VIRTIO_SND_S_OK);
			for (size_t i = 0; i < PERIOD; i++)
				assert_int_equal(buf[i], pattern((size_t)got * PERIOD + i));
			got++;
			post_rx(t);
		}
		kick(t, VSND_QUEUE_RX);
	}
	assert_int_equal(got, CHUNKS);
	assert_in_range(rounds, CHUNKS * 10 - 20, CHUNKS * 10 + 20);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_STOP, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(t, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	t_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registers),
		cmocka_unit_test(test_features_refused),
		cmocka_unit_test(test_ring_outside_ram),
		cmocka_unit_test(test_info_and_irq),
		cmocka_unit_test(test_play_bit_exact),
		cmocka_unit_test(test_record_bit_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
