/* SPDX-License-Identifier: MIT */
/* The loopback backend: output k feeds input k, bit-exact, with its delay. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "be_test.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

#define NS 1000000000ull
#define T0 7000000000ull

struct fixture {
	struct fh_log log;
	struct vsnd_backend *be;
	struct vsnd_port out, in;
};

static void close_pair(struct fixture *f)
{
	f->be->ops->close(f->be, &f->out);
	f->be->ops->close(f->be, &f->in);
	assert_null(f->out.priv);
	assert_null(f->in.priv);
	bt_port_fini(&f->out);
	bt_port_fini(&f->in);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vsnd_backend_env env = fh_log_env(&f->log);

	assert_int_equal(vsnd_backend_create("loopback", &env, &f->be), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close_pair(f);
	vsnd_backend_destroy(f->be);
	free(f);
	return 0;
}

static void open_pair(struct fixture *f, uint8_t ofmt, uint8_t och, uint32_t orate,
		      uint32_t operiod, uint8_t ifmt, uint8_t ich, uint32_t irate, uint32_t iperiod)
{
	bt_port_init(&f->out, VSND_DIR_OUTPUT, 0, 0, ofmt, och, orate, operiod);
	bt_port_init(&f->in, VSND_DIR_INPUT, 0, 1, ifmt, ich, irate, iperiod);
	assert_int_equal(f->be->ops->open(f->be, &f->out), 0);
	assert_int_equal(f->be->ops->open(f->be, &f->in), 0);
}

struct run {
	const uint8_t *play;   /* frames to play */
	size_t play_frames;
	uint8_t *cap;          /* captured frames */
	size_t cap_frames;
	size_t played, captured;
	uint64_t next_out, next_in;
	bool capture_first;    /* order of the ticks at equal deadlines */
};

static void top_up(struct vsnd_port *p, struct run *r)
{
	uint32_t fb = p->params.frame_bytes;
	size_t n = vsnd_ring_space(&p->ring) / fb;

	if (n > r->play_frames - r->played)
		n = r->play_frames - r->played;
	r->played += vsnd_ring_write(&p->ring, r->play + r->played * fb, n * fb) / fb;
}

static void drain(struct vsnd_port *p, struct run *r)
{
	uint32_t fb = p->params.frame_bytes;

	r->captured += vsnd_ring_read(&p->ring, r->cap + r->captured * fb,
				      (r->cap_frames - r->captured) * fb) / fb;
}

/* Play the device's part: tick each stream at its deadlines (the earlier
 * first; at equal ones in the chosen order), the last time at `until`. */
static void run_until(struct fixture *f, struct run *r, uint64_t until)
{
	uint64_t now = 0;

	while (now < until) {
		bool out_due, in_due;

		now = r->next_out < r->next_in ? r->next_out : r->next_in;
		if (now > until)
			now = until;
		/* At `until`, every running stream ticks. */
		out_due = r->next_out <= now || (now == until && r->next_out != UINT64_MAX);
		in_due = r->next_in <= now || (now == until && r->next_in != UINT64_MAX);
		top_up(&f->out, r);
		if (in_due && r->capture_first)
			r->next_in = f->be->ops->tick(f->be, &f->in, now);
		if (out_due)
			r->next_out = f->be->ops->tick(f->be, &f->out, now);
		if (in_due && !r->capture_first)
			r->next_in = f->be->ops->tick(f->be, &f->in, now);
		drain(&f->in, r);
	}
}

/* Where the first nonzero frame of buf is (SIZE_MAX if none). */
static size_t first_nonzero(const uint8_t *buf, size_t frames, uint32_t fb)
{
	for (size_t i = 0; i < frames; i++) {
		for (uint32_t b = 0; b < fb; b++) {
			if (buf[i * fb + b])
				return i;
		}
	}
	return SIZE_MAX;
}

/* Same params: what is played at stream time t is captured at time t, in
 * either tick order and with different periods: delay 0 frames. */
static void expect_bit_exact(struct fixture *f, bool capture_first)
{
	const size_t frames = 48000;
	uint8_t *play = malloc(frames * 4), *cap = calloc(frames, 4);
	struct run r = { play, frames, cap, frames, 0, 0, T0, T0, capture_first };

	samples_fill(VSND_PCM_FMT_S16, play, frames * 2, 42);
	top_up(&f->out, &r);
	assert_int_equal(f->be->ops->start(f->be, &f->in, T0), 0);
	assert_int_equal(f->be->ops->start(f->be, &f->out, T0), 0);
	run_until(f, &r, T0 + NS);
	assert_int_equal(r.captured, frames);
	assert_memory_equal(cap, play, frames * 4);
	assert_int_equal(f->out.xruns, 0);
	assert_int_equal(f->in.xruns, 0);
	close_pair(f);
	free(play);
	free(cap);
}

static void check_bit_exact(struct fixture *f, bool capture_first, uint32_t operiod,
			    uint32_t iperiod)
{
	open_pair(f, VSND_PCM_FMT_S16, 2, 48000, operiod, VSND_PCM_FMT_S16, 2, 48000,
		  iperiod);
	expect_bit_exact(f, capture_first);
}

/* Periods far under a millisecond on both sides (several served per tick,
 * each side on its own grid), 20 ms buffers: still bit-exact, delay 0. */
static void test_tiny_periods(void **state)
{
	struct fixture *f = *state;

	for (int capture_first = 0; capture_first < 2; capture_first++) {
		bt_port_init_buf(&f->out, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, 48000, 3,
				 960);
		bt_port_init_buf(&f->in, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2, 48000, 5,
				 960);
		assert_int_equal(f->be->ops->open(f->be, &f->out), 0);
		assert_int_equal(f->be->ops->open(f->be, &f->in), 0);
		expect_bit_exact(f, capture_first);
	}
	assert_int_equal(f->log.count, 0);
}

static void test_bit_exact(void **state)
{
	struct fixture *f = *state;

	check_bit_exact(f, false, 480, 480);
	check_bit_exact(f, true, 480, 480);
	check_bit_exact(f, true, 480, 256);
	check_bit_exact(f, false, 1024, 441);
	assert_int_equal(f->log.count, 0);
}

/* The input starts later, at instants between two frames: the impulse
 * played at output frame P is captured at input frame P - S, where S is the
 * number of frames the output played before the input started: delay 0.
 * (floor(a + b) - floor(a) - floor(b) is 0 or 1, so the output side always
 * has the frames the input needs, at most one frame ahead.) */
static void test_delay_offset_start(void **state)
{
	struct fixture *f = *state;
	const size_t frames = 24000, impulse = 12345;
	uint8_t *play = calloc(frames, 2), *cap = calloc(frames, 2);
	struct run r = { play, frames, cap, frames, 0, 0, T0, 0, true };
	const uint64_t starts[] = { 15000007, 15020833, 15020834, 31250000 };

	play[impulse * 2 + 1] = 0x40;
	for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		uint64_t t_in = T0 + starts[k];
		size_t skipped = (size_t)(starts[k] * 48000 / NS), at;

		memset(cap, 0, frames * 2);
		r.played = r.captured = 0;
		r.next_out = T0;
		open_pair(f, VSND_PCM_FMT_S16, 1, 48000, 480, VSND_PCM_FMT_S16, 1, 48000,
			  300);
		top_up(&f->out, &r);
		assert_int_equal(f->be->ops->start(f->be, &f->out, T0), 0);
		r.next_in = UINT64_MAX;
		run_until(f, &r, t_in - 1);
		assert_int_equal(f->be->ops->start(f->be, &f->in, t_in), 0);
		r.next_in = t_in;
		run_until(f, &r, T0 + NS / 2);
		at = first_nonzero(cap, r.captured, 2);
		assert_true(at != SIZE_MAX);
		assert_int_equal(at + skipped, impulse);
		assert_int_equal(cap[at * 2 + 1], 0x40);
		close_pair(f);
	}
	free(play);
	free(cap);
}

/* The input runs first and the output starts between two input ticks, then
 * stops and starts again: each run's frame 0 lands on the input's first
 * frame at or after its start instant, after silence, and no silence gets
 * inside the audio (the output's frames are all there, contiguous). */
static void check_late_output(struct fixture *f, uint64_t t_out, uint64_t t_stop, uint64_t t_out2,
			      uint64_t until, uint32_t iperiod)
{
	const size_t frames = 48000;
	int16_t *play = malloc(frames * 2), *cap = calloc(frames, 2);
	struct run r = { (uint8_t *)play, frames, (uint8_t *)cap, frames, 0, 0, UINT64_MAX, T0,
			 false };
	size_t at = (size_t)(((t_out - T0) * 48000 + NS - 1) / NS), played1, at2, k = 0;

	for (size_t i = 0; i < frames; i++)
		play[i] = (int16_t)(i % 30000 + 1);
	open_pair(f, VSND_PCM_FMT_S16, 1, 48000, 480, VSND_PCM_FMT_S16, 1, 48000,
		  iperiod);
	assert_int_equal(f->be->ops->start(f->be, &f->in, T0), 0);
	run_until(f, &r, t_out - 1);
	assert_int_equal(f->be->ops->start(f->be, &f->out, t_out), 0);
	r.next_out = t_out;
	run_until(f, &r, t_stop);
	assert_int_equal(f->be->ops->stop(f->be, &f->out), 0);
	played1 = f->out.frames;
	r.next_out = UINT64_MAX;
	run_until(f, &r, t_out2 - 1);
	/* The second run plays what follows in the ring. */
	at2 = (size_t)(((t_out2 - T0) * 48000 + NS - 1) / NS);
	assert_int_equal(f->be->ops->start(f->be, &f->out, t_out2), 0);
	r.next_out = t_out2;
	run_until(f, &r, until);
	for (; k < at; k++)
		assert_int_equal(cap[k], 0);
	for (size_t m = 0; m < played1; m++, k++)
		assert_int_equal(cap[k], play[m]);
	for (; k < at2; k++)
		assert_int_equal(cap[k], 0);
	for (size_t m = played1; k < r.captured; m++, k++)
		assert_int_equal(cap[k], play[m]);
	assert_int_equal(f->in.xruns, 0);
	assert_int_equal(f->out.xruns, 0);
	assert_true(r.captured > at2 + 1000);
	close_pair(f);
	free(play);
	free(cap);
}

static void test_output_starts_later(void **state)
{
	struct fixture *f = *state;

	/* As Linux does it: the input's periods are long, the output starts
	 * in the middle of one. */
	check_late_output(f, T0 + 263500007, T0 + 400000000, T0 + 512345678, T0 + 900000000, 6000);
	check_late_output(f, T0 + 20833, T0 + 100000000, T0 + 100000001, T0 + 300000000, 256);
	check_late_output(f, T0 + 10000000, T0 + 20000000, T0 + 31250000, T0 + 200000000, 480);
}

/* While the input is stopped the output's frames are dropped, not queued. */
static void test_dropped_when_not_capturing(void **state)
{
	struct fixture *f = *state;
	const size_t frames = 4800;
	uint8_t *play = malloc(frames), *cap = calloc(frames, 1);
	struct run r = { play, frames, cap, frames, 0, 0, T0, UINT64_MAX, false };

	for (size_t i = 0; i < frames; i++)
		play[i] = (uint8_t)(i < 2400 ? 0x11 : 0x22);
	open_pair(f, VSND_PCM_FMT_U8, 1, 48000, 480, VSND_PCM_FMT_U8, 1, 48000, 480);
	assert_int_equal(f->be->ops->start(f->be, &f->out, T0), 0);
	run_until(f, &r, T0 + 50000000); /* 2400 frames played, nobody listens */
	assert_int_equal(f->out.frames, 2400);
	assert_int_equal(f->be->ops->start(f->be, &f->in, T0 + 50000000), 0);
	r.next_in = T0 + 50000000;
	run_until(f, &r, T0 + 100000000);
	assert_int_equal(r.captured, 2400);
	for (size_t i = 0; i < 2400; i++)
		assert_int_equal(cap[i], 0x22);
	/* Output stopped: the input hears silence. */
	assert_int_equal(f->be->ops->stop(f->be, &f->out), 0);
	r.next_out = UINT64_MAX;
	run_until(f, &r, T0 + 110000000);
	assert_int_equal(r.captured, 2880);
	for (size_t i = 2400; i < 2880; i++)
		assert_int_equal(cap[i], 0x80);
	free(play);
	free(cap);
}

/* Different format and channels: converted through doubles. */
static void test_convert(void **state)
{
	struct fixture *f = *state;
	const size_t frames = 960;
	int16_t *play = malloc(frames * 4);
	float *cap = calloc(frames, sizeof(float));
	struct run r = { (uint8_t *)play, frames, (uint8_t *)cap, frames, 0, 0, T0, T0, false };

	for (size_t i = 0; i < frames; i++) {
		play[2 * i] = (int16_t)(i * 67 - 30000);
		play[2 * i + 1] = 1234;
	}
	open_pair(f, VSND_PCM_FMT_S16, 2, 48000, 480, VSND_PCM_FMT_FLOAT, 1, 48000, 480);
	f->be->ops->start(f->be, &f->out, T0);
	f->be->ops->start(f->be, &f->in, T0);
	run_until(f, &r, T0 + 20000000);
	assert_int_equal(r.captured, frames);
	for (size_t i = 0; i < frames; i++)
		assert_true(cap[i] == (float)(play[2 * i] / 32768.0));
	free(play);
	free(cap);
}

/* Rates differ: silence, one log line. */
static void test_rate_mismatch(void **state)
{
	struct fixture *f = *state;
	const size_t frames = 441;
	uint8_t *play = malloc(frames * 2 * 2);
	int16_t cap[480];
	struct run r = { play, frames * 2, (uint8_t *)cap, 480, 0, 0, T0, T0, false };

	memset(play, 0x33, frames * 4);
	open_pair(f, VSND_PCM_FMT_S16, 1, 44100, 441, VSND_PCM_FMT_S16, 1, 48000, 480);
	assert_int_equal(f->log.count, 1);
	assert_true(fh_log_has(&f->log, "44100 Hz"));
	f->be->ops->start(f->be, &f->out, T0);
	f->be->ops->start(f->be, &f->in, T0);
	run_until(f, &r, T0 + 10000000);
	assert_int_equal(r.captured, 480);
	for (int i = 0; i < 480; i++)
		assert_int_equal(cap[i], 0);
	assert_int_equal(f->log.count, 1);
	free(play);
}

/* DSD is carried bit-exact when both ends agree. Pairs are by index. */
static void test_pairs_and_dsd(void **state)
{
	struct fixture *f = *state;
	struct vsnd_port out1, dup;
	uint8_t ones[1920];
	const size_t frames = 480;
	uint8_t *play = malloc(frames * 8), *cap = calloc(frames, 8);
	struct run r = { play, frames, cap, frames, 0, 0, T0, T0, true };

	samples_fill(VSND_PCM_FMT_DSD_U32, play, frames * 2, 5);
	open_pair(f, VSND_PCM_FMT_DSD_U32, 2, 48000, 240, VSND_PCM_FMT_DSD_U32, 2, 48000,
		  240);
	/* Output index 1 has no input 1: it plays into the void. */
	bt_port_init(&out1, VSND_DIR_OUTPUT, 1, 2, VSND_PCM_FMT_S16, 2, 48000, 480);
	assert_int_equal(f->be->ops->open(f->be, &out1), 0);
	memset(ones, 0x7f, sizeof(ones));
	vsnd_ring_write(&out1.ring, ones, sizeof(ones));
	f->be->ops->start(f->be, &out1, T0);
	/* A second output with index 0 is refused. */
	bt_port_init(&dup, VSND_DIR_OUTPUT, 0, 4, VSND_PCM_FMT_S16, 2, 48000, 480);
	assert_int_equal(f->be->ops->open(f->be, &dup), -EBUSY);
	dup.params.dir_index = 64;
	assert_int_equal(f->be->ops->open(f->be, &dup), -EINVAL);
	bt_port_fini(&dup);

	f->be->ops->start(f->be, &f->out, T0);
	f->be->ops->start(f->be, &f->in, T0);
	run_until(f, &r, T0 + 10000000);
	f->be->ops->tick(f->be, &out1, T0 + 10000000);
	assert_int_equal(out1.frames, 480);
	assert_int_equal(r.captured, frames);
	assert_memory_equal(cap, play, frames * 8);
	f->be->ops->close(f->be, &out1);
	bt_port_fini(&out1);
	free(play);
	free(cap);
}

/* The input's own ring full: overrun counted once, FIFO still drained. */
static void test_capture_overrun(void **state)
{
	struct fixture *f = *state;
	const size_t frames = 48000;
	uint8_t *play = malloc(frames * 2), *cap = calloc(frames, 2);
	struct run r = { play, frames, cap, 0, 0, 0, T0, T0, false };

	memset(play, 0x01, frames * 2);
	open_pair(f, VSND_PCM_FMT_S16, 1, 48000, 480, VSND_PCM_FMT_S16, 1, 48000, 480);
	f->be->ops->start(f->be, &f->out, T0);
	f->be->ops->start(f->be, &f->in, T0);
	run_until(f, &r, T0 + 200000000); /* nobody reads the input */
	assert_int_equal(f->in.xruns, 1);
	assert_int_equal(vsnd_ring_fill(&f->in.ring), f->in.ring.cap);
	assert_int_equal(f->in.frames, 9600);
	assert_int_equal(f->out.frames, 9600);
	free(play);
	free(cap);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bit_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_offset_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_starts_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_when_not_capturing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_convert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pairs_and_dsd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_overrun, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
