/* SPDX-License-Identifier: MIT */
/*
 * The daemon's event loop, session glue and the real device, driven by the
 * test frontend over a socketpair: control requests through real rings in
 * memfd memory, reply bytes checked; held TX buffers kept across
 * GET_VRING_BASE (a pause); device-reset detection; config reads.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sndfile.h>

#include <vsnd/backend.h>
#include "wire/virtio_snd.h"
#include <vsnd/vsnd.h>

#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/session.h"
#include "drive/fe.h"
#include "drive/req.h"
#include "fakehost.h"
#include "util/iov.h"
#include "vhost-user/proto.h"

#define NQ 4
#define MEM_SIZE (4u << 20) /* the test frontend's guest memory */
#define F_PROTOCOL (1ull << 30)
#define PERIOD 1920u /* 10 ms of 48 kHz stereo S16 */

struct t {
	struct fe fe;
	struct vd_loop loop;
	struct vsnd_backend *backend;
	uint64_t features;
	int fds_before;
};

static int pump(void *opaque)
{
	struct t *t = opaque;

	assert_int_equal(vd_loop_iterate(&t->loop, 1), 0);
	return t->loop.session ? 0 : -EPIPE;
}

static int setup_spec(void **state, bool controls, const char *spec)
{
	static const struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct t *t = calloc(1, sizeof(*t));
	struct vd_loop_config cfg = { .controls = controls };
	int peer;

	assert_non_null(t);
	if (!getenv(FH_LOG_ENV))
		vd_log_set_level(VSND_LOG_ERROR);
	t->fds_before = fe_count_fds(0);
	assert_int_equal(vsnd_backend_create(spec, &env, &t->backend), 0);
	cfg.backend = t->backend;
	assert_int_equal(vd_loop_init(&t->loop, &cfg), 0);
	assert_int_equal(fe_pair(&t->fe, MEM_SIZE, &peer), 0);
	assert_int_equal(vd_loop_adopt(&t->loop, peer), 0);
	t->fe.pump = pump;
	t->fe.pump_opaque = t;
	*state = t;
	return 0;
}

static int setup(void **state)
{
	return setup_spec(state, false, "null");
}

static int setup_controls(void **state)
{
	return setup_spec(state, true, "null");
}

static char wav_dir[64];

static int setup_file(void **state)
{
	char spec[128];

	snprintf(wav_dir, sizeof(wav_dir), "/tmp/vsnd-test-XXXXXX");
	assert_non_null(mkdtemp(wav_dir));
	snprintf(spec, sizeof(spec), "file,out=%s/out-%%u.wav", wav_dir);
	return setup_spec(state, false, spec);
}

static int teardown(void **state)
{
	struct t *t = *state;
	int before = t->fds_before;

	vd_loop_fini(&t->loop);
	vsnd_backend_destroy(t->backend);
	fe_close(&t->fe);
	free(t);
	assert_int_equal(fe_count_fds(0), before);
	return 0;
}

static uint64_t get_u64(struct t *t, uint32_t req)
{
	uint64_t v = 0;

	assert_int_equal(fe_get_u64(&t->fe, req, &v), 0);
	return v;
}

/* QEMU 10's bring-up (docs/vhost-user.md) with 64-entry rings. */
static void bring_up(struct t *t)
{
	uint64_t offered;

	offered = get_u64(t, VHU_REQ_GET_FEATURES);
	assert_true(offered & F_PROTOCOL);
	assert_true(offered & (1ull << VSND_VIRTIO_F_VERSION_1));
	assert_int_equal(get_u64(t, VHU_REQ_GET_PROTOCOL_FEATURES), 0x8209);
	assert_int_equal(fe_set_u64(&t->fe, VHU_REQ_SET_PROTOCOL_FEATURES, 0x8209, false), 0);
	assert_int_equal(get_u64(t, VHU_REQ_GET_QUEUE_NUM), NQ);
	assert_int_equal(fe_send(&t->fe, VHU_REQ_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	t->features = offered & ~F_PROTOCOL;
	assert_int_equal(fe_set_u64(&t->fe, VHU_REQ_SET_FEATURES, offered, true), 0);
	assert_int_equal(fe_set_mem_table(&t->fe, FE_UVA_BASE, t->fe.mem_size, true), 0);
	for (unsigned int q = 0; q < NQ; q++) {
		if (!t->fe.r[q].ring.num)
			assert_int_equal(fe_ring_init(&t->fe, q, 64), 0);
		assert_int_equal(fe_ring_start(&t->fe, q, 0), 0);
	}
	for (unsigned int q = 0; q < NQ; q++)
		assert_int_equal(fe_set_state(&t->fe, VHU_REQ_SET_VRING_ENABLE, q, 1, true), 0);
}

/* Wait (pumping the loop) for the next used entry of ring q. */
static void wait_used(struct t *t, unsigned int q, uint32_t *id, uint32_t *len)
{
	if (!fe_wait(&t->fe, q, 3000) || fe_used(&t->fe, q, id, len) != 0)
		fail_msg("no used entry on queue %u", q);
}

/* Send a control request and return the response length; the response
 * bytes are at t->fe.mem + *resp. */
static uint32_t control(struct t *t, const void *req, uint32_t req_len, uint32_t resp_len,
			size_t *resp)
{
	size_t rq = fe_alloc(&t->fe, req_len, 8);
	uint32_t id, len;
	int head;

	*resp = fe_alloc(&t->fe, resp_len, 8);
	memcpy(t->fe.mem + rq, req, req_len);
	memset(t->fe.mem + *resp, 0xee, resp_len);
	head = fe_add(&t->fe, 0, rq, req_len, *resp, resp_len, false);
	wait_used(t, 0, &id, &len);
	assert_int_equal(id, head);
	return len;
}

static uint32_t status_of(struct t *t, size_t resp)
{
	return vsnd_le32(t->fe.mem + resp);
}

static void test_pcm_info(void **state)
{
	struct t *t = *state;
	uint8_t q[16];
	size_t resp;
	const uint8_t *info;

	bring_up(t);
	assert_false(t->features & (1ull << VSND_F_CTLS));
	req_query(q, VIRTIO_SND_R_PCM_INFO, 0, 2, 32);
	assert_int_equal(control(t, q, sizeof(q), 4 + 2 * 32, &resp), 4 + 2 * 32);
	assert_int_equal(status_of(t, resp), VIRTIO_SND_S_OK);
	for (unsigned int i = 0; i < 2; i++) {
		info = t->fe.mem + resp + 4 + 32 * i;
		assert_int_equal(vsnd_le32(info), 0);                 /* hda_fn_nid */
		assert_true(vsnd_le64(info + 8) & (1ull << VSND_PCM_FMT_S16));
		assert_true(vsnd_le64(info + 16) & (1ull << VSND_PCM_RATE_48000));
		assert_int_equal(info[24], i);                        /* direction */
		assert_int_equal(info[25], 1);                        /* channels_min */
		assert_int_equal(info[26], 2);                        /* channels_max */
		for (int k = 27; k < 32; k++)
			assert_int_equal(info[k], 0);                 /* padding */
	}
	/* the guest's call eventfd was signalled */
	assert_true(fe_called(&t->fe, 0));
	/* a bad query (count past the streams) is answered BAD_MSG, not dropped */
	vsnd_put_le32(q + 8, 3);
	assert_int_equal(control(t, q, sizeof(q), 4 + 3 * 32, &resp) >= 4, 1);
	assert_int_equal(status_of(t, resp), VIRTIO_SND_S_BAD_MSG);
}

static void get_config(struct t *t, uint32_t len, uint8_t *out)
{
	uint8_t p[VHU_CONFIG_HDR + 16] = { 0 };
	uint32_t req, flags;

	vhu_wr32(p + 4, len);
	assert_int_equal(fe_send(&t->fe, VHU_REQ_GET_CONFIG, 0, p, VHU_CONFIG_HDR + len, NULL, 0),
			 0);
	assert_int_equal(fe_recv(&t->fe, &req, &flags, p, sizeof(p)), (int)(VHU_CONFIG_HDR + len));
	assert_int_equal(flags, 0x5);
	memcpy(out, p + VHU_CONFIG_HDR, len);
}

static void test_config(void **state)
{
	struct t *t = *state;
	uint8_t cfg[16];

	get_config(t, 12, cfg);
	assert_int_equal(vsnd_le32(cfg), 2);        /* jacks */
	assert_int_equal(vsnd_le32(cfg + 4), 2);    /* streams */
	assert_int_equal(vsnd_le32(cfg + 8), 2);    /* chmaps */
	/* QEMU with controls=on asks 16 bytes: answered, the tail zero */
	memset(cfg, 0xff, sizeof(cfg));
	get_config(t, 16, cfg);
	assert_int_equal(vsnd_le32(cfg + 4), 2);
	assert_int_equal(vsnd_le32(cfg + 12), 0);
	/* config is served while queues run */
	bring_up(t);
	get_config(t, 12, cfg);
	assert_int_equal(vsnd_le32(cfg + 4), 2);
}

static void test_config_controls(void **state)
{
	struct t *t = *state;
	uint8_t cfg[16];

	assert_true(get_u64(t, VHU_REQ_GET_FEATURES) & (1ull << VSND_F_CTLS));
	get_config(t, 16, cfg);
	assert_int_equal(vsnd_le32(cfg + 4), 2);
}

static void pcm_simple(struct t *t, uint32_t code, uint32_t stream)
{
	uint8_t q[8];
	size_t resp;

	req_hdr(q, code, stream);
	assert_int_equal(control(t, q, sizeof(q), 4, &resp), 4);
	assert_int_equal(status_of(t, resp), VIRTIO_SND_S_OK);
}

static void set_params(struct t *t, uint32_t stream)
{
	const struct req_params p = { .stream = stream, .buffer_bytes = 4 * PERIOD,
				      .period_bytes = PERIOD, .channels = 2,
				      .format = VSND_PCM_FMT_S16, .rate = VSND_PCM_RATE_48000 };
	uint8_t q[VIRTIO_SND_PCM_SET_PARAMS_SIZE];
	size_t resp;

	req_set_params(q, &p);
	assert_int_equal(control(t, q, sizeof(q), 4, &resp), 4);
	assert_int_equal(status_of(t, resp), VIRTIO_SND_S_OK);
}

static const char *stream_state(struct t *t, unsigned int id)
{
	struct vsnd_stream_status st = { .size = sizeof(st) };

	assert_non_null(t->loop.session);
	assert_int_equal(vsnd_dev_stream_status(vd_session_dev(t->loop.session), id, &st), 0);
	return vsnd_stream_state_name(st.state);
}

/* GET_VRING_BASE of q: the reply's index (checked to be a reply for q). */
static uint32_t get_vring_base(struct t *t, uint32_t q)
{
	int base = fe_get_vring_base(&t->fe, q);

	assert_true(base >= 0);
	return (uint32_t)base;
}

static void stop_all(struct t *t)
{
	for (unsigned int q = 0; q < NQ; q++)
		assert_int_equal(fe_set_state(&t->fe, VHU_REQ_SET_VRING_ENABLE, q, 0, true), 0);
}

/* A TX buffer held in PREPARED stays held across GET_VRING_BASE (a VM pause
 * must not complete audio that was not played); the reply is the index
 * after it; stream states survive a stop; a fresh control ring afterwards
 * resets the device and the held buffer is dropped, never written. */
static void test_stop_keeps_held(void **state)
{
	struct t *t = *state;
	size_t xfer = fe_alloc(&t->fe, 4 + PERIOD, 8), status = fe_alloc(&t->fe, 8, 8);
	uint32_t id, len;
	int head;

	bring_up(t);
	set_params(t, 0);
	pcm_simple(t, VIRTIO_SND_R_PCM_PREPARE, 0);
	assert_string_equal(stream_state(t, 0), "prepared");
	vsnd_put_le32(t->fe.mem + xfer, 0);
	memset(t->fe.mem + status, 0xee, 8);
	head = fe_add(&t->fe, 2, xfer, 4 + PERIOD, status, 8, false);
	for (int i = 0; i < 20; i++)
		pump(t);
	/* held: nothing used yet */
	assert_int_equal(fe_used(&t->fe, 2, &id, &len), -EAGAIN);
	stop_all(t);
	assert_int_equal(get_vring_base(t, 0), 2);     /* SET_PARAMS, PREPARE */
	assert_int_equal(get_vring_base(t, 1), 0);
	assert_int_equal(get_vring_base(t, 2), 1);
	/* still held: nothing written to the stopped ring */
	assert_int_equal(fe_used(&t->fe, 2, &id, &len), -EAGAIN);
	assert_int_equal(vsnd_le32(t->fe.mem + status), 0xeeeeeeee);
	(void)head;
	assert_int_equal(get_vring_base(t, 3), 0);
	assert_string_equal(stream_state(t, 0), "prepared");
	/* resume from where we were (used index 2 in memory): state kept */
	assert_int_equal(fe_ring_start(&t->fe, 0, 2), 0);
	assert_int_equal(fe_set_state(&t->fe, VHU_REQ_SET_VRING_ENABLE, 0, 1, true), 0);
	assert_string_equal(stream_state(t, 0), "prepared");
	assert_int_equal(get_vring_base(t, 0), 2);
	/* driver reset: fresh rings (index 0, used index 0): state dropped */
	fe_ring_clear(&t->fe, 0);
	assert_int_equal(fe_ring_start(&t->fe, 0, 0), 0);
	assert_true(fe_quiet(&t->fe));
	assert_string_equal(stream_state(t, 0), "initial");
	/* the buffer held before the reset was dropped, never completed */
	assert_int_equal(fe_used(&t->fe, 2, &id, &len), -EAGAIN);
	assert_int_equal(vsnd_le32(t->fe.mem + status), 0xeeeeeeee);
	/* and the device still answers, with the features kept */
	assert_int_equal(fe_set_state(&t->fe, VHU_REQ_SET_VRING_ENABLE, 0, 1, true), 0);
	set_params(t, 0);
	assert_string_equal(stream_state(t, 0), "params");
}

/* Event buffers posted without a kick are seen when the ring is enabled. */
static void test_eventq_without_kick(void **state)
{
	struct t *t = *state;
	size_t ev = fe_alloc(&t->fe, 8, 8);
	uint32_t id, len;
	int head;

	bring_up(t);
	head = fe_add(&t->fe, 1, ev, 0, ev, 8, true);
	(void)head;
	/* a jack event needs an event buffer: the device finds the one posted */
	assert_int_equal(vsnd_dev_jack_set(vd_session_dev(t->loop.session), 0, false), 0);
	wait_used(t, 1, &id, &len);
	assert_int_equal(len, 8);
	assert_int_equal(vsnd_le32(t->fe.mem + ev), VIRTIO_SND_EVT_JACK_DISCONNECTED);
	assert_int_equal(vsnd_le32(t->fe.mem + ev + 4), 0);
}

static void test_disconnect_then_next(void **state)
{
	struct t *t = *state;
	struct fe fe2;
	int peer;

	bring_up(t);
	set_params(t, 0);
	/* the frontend goes away: the session ends, everything is released */
	close(t->fe.sock);
	t->fe.sock = -1;
	for (int i = 0; i < 10 && t->loop.session; i++)
		assert_int_equal(vd_loop_iterate(&t->loop, 1), 0);
	assert_null(t->loop.session);
	for (unsigned int q = 0; q < NQ; q++)
		assert_int_equal(t->loop.kick_fd[q], -1);
	/* without a listener, the loop is done */
	assert_true(t->loop.quit);
	/* a later adopted connection starts a fresh device */
	t->loop.quit = false;
	assert_int_equal(fe_pair(&fe2, MEM_SIZE, &peer), 0);
	assert_int_equal(vd_loop_adopt(&t->loop, peer), 0);
	fe2.pump = pump;
	fe2.pump_opaque = t;
	assert_string_equal(stream_state(t, 0), "initial");
	{
		uint64_t v = 0;

		assert_int_equal(fe_get_u64(&fe2, VHU_REQ_GET_QUEUE_NUM, &v), 0);
		assert_int_equal(v, 4);
	}
	fe_close(&fe2);
}

static void test_malformed_closes(void **state)
{
	struct t *t = *state;

	bring_up(t);
	/* a queue index out of range ends the session, not the daemon */
	assert_int_equal(fe_set_state(&t->fe, VHU_REQ_SET_VRING_NUM, 9, 64, false), 0);
	for (int i = 0; i < 10 && t->loop.session; i++)
		assert_int_equal(vd_loop_iterate(&t->loop, 1), 0);
	assert_null(t->loop.session);
}

/* The daemon going away mid-playback (SIGTERM) leaves a finalized WAV
 * holding exactly what was played. */
static void test_exit_finalizes_file(void **state)
{
	struct t *t = *state;
	const unsigned int frames = PERIOD / 4, periods = 4;
	size_t data = fe_alloc(&t->fe, periods * (4 + PERIOD), 8);
	size_t status = fe_alloc(&t->fe, periods * 8, 8);
	char path[96];
	SF_INFO info = { 0 };
	SNDFILE *sf;
	short got[2 * 480];
	uint32_t id, len;

	bring_up(t);
	set_params(t, 0);
	pcm_simple(t, VIRTIO_SND_R_PCM_PREPARE, 0);
	for (unsigned int p = 0; p < periods; p++) {
		uint8_t *x = t->fe.mem + data + p * (4 + PERIOD);

		vsnd_put_le32(x, 0);
		for (unsigned int f = 0; f < frames; f++)
			for (unsigned int c = 0; c < 2; c++)
				vsnd_put_le16(x + 4 + 4 * f + 2 * c,
					      (uint16_t)(1000 + 2 * (p * frames + f) + c));
		fe_add(&t->fe, 2, data + p * (4 + PERIOD), 4 + PERIOD, status + 8 * p, 8, true);
	}
	fe_kick(&t->fe, 2);
	pcm_simple(t, VIRTIO_SND_R_PCM_START, 0);
	/* one period played (completed at the real rate), then we exit */
	wait_used(t, 2, &id, &len);
	assert_int_equal(len, 8);
	vd_loop_fini(&t->loop);
	snprintf(path, sizeof(path), "%s/out-0.wav", wav_dir);
	sf = sf_open(path, SFM_READ, &info);
	assert_non_null(sf);
	assert_int_equal(info.channels, 2);
	assert_int_equal(info.samplerate, 48000);
	assert_true(info.frames >= frames);
	assert_true(info.frames <= periods * frames);
	assert_int_equal(sf_readf_short(sf, got, frames), frames);
	for (unsigned int i = 0; i < 2 * frames; i++)
		assert_int_equal(got[i], 1000 + (int)i);
	sf_close(sf);
	unlink(path);
	rmdir(wav_dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pcm_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_controls, setup_controls, teardown),
		cmocka_unit_test_setup_teardown(test_stop_keeps_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventq_without_kick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_then_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_finalizes_file, setup_file, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
