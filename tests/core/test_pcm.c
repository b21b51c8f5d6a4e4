/* SPDX-License-Identifier: MIT */
/* The PCM state machine, every (state, request) pair, and SET_PARAMS checks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "harness.h"
#include "util/iov.h"

#define FMT VSND_PCM_FMT_S16
#define RATE VSND_PCM_RATE_48000
#define PERIOD 1920   /* 10 ms of 48 kHz S16 stereo */
#define BUFFER (4 * PERIOD)

enum { S_INITIAL, S_PARAMS, S_PREPARED, S_STARTED, S_STOPPED, S_RELEASED, S_N };
static const char *const names[S_N] = { "initial", "params", "prepared", "started", "stopped", "released" };

enum { R_SET, R_PREP, R_REL, R_START, R_STOP, R_N };
static const uint32_t codes[R_N] = {
	VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_RELEASE,
	VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP,
};

static uint32_t req(struct harness *h, int r, uint32_t stream)
{
	if (r == R_SET)
		return h_set_params(h, stream, BUFFER, PERIOD, 2, FMT, RATE, 0);
	return h_pcm(h, codes[r], stream);
}

static void reach(struct harness *h, int st)
{
	static const int path[S_N][4] = {
		[S_INITIAL] = { -1 },
		[S_PARAMS] = { R_SET, -1 },
		[S_PREPARED] = { R_SET, R_PREP, -1 },
		[S_STARTED] = { R_SET, R_PREP, R_START, -1 },
		[S_STOPPED] = { R_SET, R_PREP, R_START, R_STOP },
		[S_RELEASED] = { R_SET, R_PREP, R_REL, -1 },
	};
	for (int i = 0; i < 4 && path[st][i] >= 0; i++)
		assert_int_equal(req(h, path[st][i], 0), VIRTIO_SND_S_OK);
	assert_string_equal(h_state(h, 0), names[st]);
}

/* expected[state][request]: resulting state, or -1 for BAD_MSG (no change) */
static const int expected[S_N][R_N] = {
	/*              SET         PREP        REL         START       STOP */
	[S_INITIAL]  = { S_PARAMS,   -1,         S_INITIAL,  -1,         -1 },
	[S_PARAMS]   = { S_PARAMS,   S_PREPARED, S_PARAMS,   -1,         -1 },
	/* repeating identical SET_PARAMS keeps the prepared host stream */
	[S_PREPARED] = { S_PREPARED, S_PREPARED, S_RELEASED, S_STARTED,  -1 },
	[S_STARTED]  = { -1,         -1,         -1,         -1,         S_STOPPED },
	[S_STOPPED]  = { -1,         -1,         S_RELEASED, S_STARTED,  -1 },
	[S_RELEASED] = { S_PARAMS,   S_PREPARED, S_RELEASED, -1,         -1 },
};

static void test_every_transition(void **state)
{
	(void)state;
	for (int st = 0; st < S_N; st++) {
		for (int r = 0; r < R_N; r++) {
			struct harness *h = h_new("null", NULL, false);
			int want = expected[st][r];

			reach(h, st);
			uint32_t status = req(h, r, 0);
			if (want < 0) {
				assert_int_equal(status, VIRTIO_SND_S_BAD_MSG);
				assert_string_equal(h_state(h, 0), names[st]);
			} else {
				assert_int_equal(status, VIRTIO_SND_S_OK);
				assert_string_equal(h_state(h, 0), names[want]);
			}
			/* the other stream is never touched */
			assert_string_equal(h_state(h, 1), "initial");
			h_free(h);
		}
	}
}

static void test_params_change_releases(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	struct vsnd_stream_status st = { .size = sizeof(st) };

	(void)state;
	reach(h, S_PREPARED);
	assert_int_equal(h_set_params(h, 0, 2 * PERIOD, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_string_equal(h_state(h, 0), "params");
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.buffer_bytes, 2 * PERIOD);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	h_free(h);
}

/* Repeating the whole setup many times must not leak (ASan/valgrind see it). */
static void test_repeat_cycles(void **state)
{
	struct harness *h = h_new("null", NULL, false);

	(void)state;
	for (int i = 0; i < 100; i++) {
		assert_int_equal(req(h, R_SET, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_PREP, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_PREP, 0), VIRTIO_SND_S_OK);
		assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD / 2, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_PREP, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_START, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_STOP, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_REL, 0), VIRTIO_SND_S_OK);
		assert_int_equal(req(h, R_REL, 0), VIRTIO_SND_S_OK);
	}
	h_free(h);
}

static void test_set_params_checks(void **state)
{
	struct harness *h = h_new("null", NULL, false);

	(void)state;
	/* bad stream id */
	assert_int_equal(h_set_params(h, 2, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_BAD_MSG);
	/* unsupported values */
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 3, FMT, RATE, 0), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 0, FMT, RATE, 0), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, VSND_PCM_FMT_IMA_ADPCM, RATE, 0),
			 VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, 200, RATE, 0), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, 16, 0), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, 255, 0), VIRTIO_SND_S_NOT_SUPP);
	/* shared memory and polling are not offered */
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 1), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 1u << VIRTIO_SND_PCM_F_MSG_POLLING),
			 VIRTIO_SND_S_NOT_SUPP);
	/* malformed sizes */
	assert_int_equal(h_set_params(h, 0, BUFFER, 0, 2, FMT, RATE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(h_set_params(h, 0, BUFFER + 1, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(h_set_params(h, 0, 6 * 3, 6, 2, FMT, RATE, 0), VIRTIO_SND_S_BAD_MSG);
	/* bounded before any allocation */
	assert_int_equal(h_set_params(h, 0, 0xfffffc00u, 0x400, 2, FMT, RATE, 0), VIRTIO_SND_S_NOT_SUPP);
	assert_string_equal(h_state(h, 0), "initial");
	/* a short request */
	{
		uint8_t r[20] = { 0 };
		vsnd_put_le32(r, VIRTIO_SND_R_PCM_SET_PARAMS);
		assert_int_equal(h_ctl(h, r, sizeof(r), NULL, 0, 0), VIRTIO_SND_S_BAD_MSG);
	}
	/* a good one, split at odd places, and the extremes */
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS),
			 VIRTIO_SND_S_OK);
	assert_int_equal(h_set_params(h, 1, 4 * 8 * 2 * 3072, 8 * 2 * 3072, 2, VSND_PCM_FMT_FLOAT64,
				      VSND_PCM_RATE_384000, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	h_free(h);
}

/* What a state trace saw: stream, time, state, in order. */
struct seen {
	unsigned int n, stream[16];
	uint64_t at[16];
	enum vsnd_stream_state state[16];
};

static void note_state(void *opaque, unsigned int stream_id, uint64_t now_ns,
		       enum vsnd_stream_state state)
{
	struct seen *seen = opaque;

	assert_true(seen->n < 16);
	seen->stream[seen->n] = stream_id;
	seen->at[seen->n] = now_ns;
	seen->state[seen->n++] = state;
}

/* Every state entered is traced once, at the device's time; a refused
 * request and a repeated SET_PARAMS that keeps the stream trace nothing. */
static void test_state_trace(void **state)
{
	static const enum vsnd_stream_state want[] = {
		VSND_STATE_PARAMS, VSND_STATE_PREPARED, VSND_STATE_STARTED, VSND_STATE_STOPPED,
		VSND_STATE_RELEASED, VSND_STATE_INITIAL,
	};
	struct harness *h = h_new("null", NULL, false);
	struct seen seen = { 0 };

	(void)state;
	vsnd_dev_set_state_trace(h->dev, note_state, &seen);
	reach(h, S_STOPPED);
	h->host.now += 5000;
	assert_int_equal(req(h, R_PREP, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(req(h, R_REL, 0), VIRTIO_SND_S_OK);
	vsnd_dev_reset(h->dev);
	assert_int_equal(seen.n, 6 + 1); /* the reset puts both streams in INITIAL */
	for (unsigned int i = 0; i < 6; i++) {
		assert_int_equal(seen.stream[i], 0);
		assert_int_equal(seen.state[i], want[i]);
	}
	assert_int_equal(seen.stream[6], 1);
	assert_true(seen.at[4] >= seen.at[3] + 5000);
	vsnd_dev_set_state_trace(h->dev, NULL, NULL);
	reach(h, S_PREPARED);
	assert_int_equal(seen.n, 7);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_transition),
		cmocka_unit_test(test_params_change_releases),
		cmocka_unit_test(test_repeat_cycles),
		cmocka_unit_test(test_set_params_checks),
		cmocka_unit_test(test_state_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
