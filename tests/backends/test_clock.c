/* SPDX-License-Identifier: MIT */
/* The clock helper and the null backend, driven with a fake clock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/clock.h"
#include "be_test.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

#define NS 1000000000ull
#define T0 123456789012345ull /* an arbitrary CLOCK_MONOTONIC start */

struct fixture {
	struct fh_log log;
	struct vsnd_backend *be;
	struct vsnd_port port;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vsnd_backend_env env = fh_log_env(&f->log);

	assert_int_equal(vsnd_backend_create("null", &env, &f->be), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->port.priv)
		f->be->ops->close(f->be, &f->port);
	bt_port_fini(&f->port);
	vsnd_backend_destroy(f->be);
	free(f);
	return 0;
}

static void open_start(struct fixture *f, uint8_t dir, uint8_t fmt, uint8_t ch, uint32_t rate,
		       uint32_t period)
{
	bt_port_init(&f->port, dir, 0, 0, fmt, ch, rate, period);
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0), 0);
}

static uint64_t tick(struct fixture *f, uint64_t now)
{
	return f->be->ops->tick(f->be, &f->port, now);
}

/* The clock math against 128-bit arithmetic, for every rate and far times. */
static void test_math(void **state)
{
	struct vsnd_port port = { .params = { .format = VSND_PCM_FMT_S16, .channels = 1,
					      .frame_bytes = 2, .period_bytes = 2 } };
	struct vsnd_pcm_params p;
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++) {
		struct be_clock c;

		port.params.rate_hz = vsnd_pcm_rate_hz(r);
		p = port.params;
		assert_int_equal(vsnd__be_clock_init(&c, &port), 0);
		vsnd__be_clock_start(&c, T0);
		assert_int_equal(vsnd__be_clock_due(&c, T0), 0);
		assert_int_equal(vsnd__be_clock_due(&c, T0 - 1), 0);
		assert_int_equal(vsnd__be_clock_due(&c, T0 + NS), p.rate_hz);
		assert_int_equal(vsnd__be_clock_due_ceil(&c, T0 + NS), p.rate_hz);
		assert_int_equal(vsnd__be_clock_due_ceil(&c, T0 + 1), 1);
		assert_int_equal(vsnd__be_clock_due_ceil(&c, T0), 0);
		assert_int_equal(vsnd__be_clock_deadline(&c, 0), T0);
		assert_int_equal(vsnd__be_clock_deadline(&c, p.rate_hz), T0 + NS);
		for (int i = 0; i < 100000; i++) {
			uint64_t d, n, want;

			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			d = s % (1000ull * 3600 * NS); /* up to 1000 hours */
			want = (uint64_t)((unsigned __int128)d * p.rate_hz / NS);
			assert_int_equal(vsnd__be_clock_due(&c, T0 + d), want);
			want = (uint64_t)(((unsigned __int128)d * p.rate_hz + NS - 1) / NS);
			assert_int_equal(vsnd__be_clock_due_ceil(&c, T0 + d), want);
			n = s % (p.rate_hz * 3600ull * 1000);
			assert_int_equal(vsnd__be_clock_deadline(&c, n), bt_deadline(T0, p.rate_hz, n));
			/* The deadline is the first nanosecond the frame is due. */
			assert_true(vsnd__be_clock_due(&c, vsnd__be_clock_deadline(&c, n)) >= n);
			if (n)
				assert_true(vsnd__be_clock_due(&c, vsnd__be_clock_deadline(&c, n) - 1) < n);
		}
		vsnd__be_clock_fini(&c);
		vsnd__be_clock_fini(&c);
	}
	vsnd__be_clock_fini(NULL);
}

/* Tick at every deadline the backend returns for 10 simulated seconds:
 * each is t0 + ceil(k * period * 1e9 / rate), and each moves one period. */
static void run_paced(struct fixture *f, uint32_t rate, uint32_t period)
{
	uint64_t seconds = 10, total = rate * seconds, k = 0, now = T0;
	uint64_t next;

	open_start(f, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, rate, period);
	next = tick(f, now);
	assert_int_equal(next, bt_deadline(T0, rate, period));
	while (next <= T0 + seconds * NS) {
		uint64_t before = atomic_load(&f->port.frames);

		k++;
		assert_int_equal(next, bt_deadline(T0, rate, k * period));
		now = next;
		next = tick(f, now);
		assert_int_equal(atomic_load(&f->port.frames) - before, period);
	}
	assert_int_equal(atomic_load(&f->port.frames), k * period);
	assert_int_equal(k, total / period);
	/* At exactly t0 + 10 s every frame of the 10 s has moved. */
	tick(f, T0 + seconds * NS);
	assert_int_equal(atomic_load(&f->port.frames), total);
}

static void test_pacing_48000(void **state)
{
	struct fixture *f = *state;

	run_paced(f, 48000, 480);
	/* 10 ms periods: the deadlines are round numbers. */
	assert_int_equal(bt_deadline(T0, 48000, 480 * 1000), T0 + 10 * NS);
	assert_int_equal(f->port.xruns, 1); /* nothing was ever written */
}

static void test_pacing_44100(void **state)
{
	struct fixture *f = *state;

	run_paced(f, 44100, 441);
	assert_int_equal(bt_deadline(T0, 44100, 441 * 7), T0 + 70000000);
}

static void test_pacing_44100_512(void **state)
{
	struct fixture *f = *state;
	uint64_t now = T0, next;

	/* 512 / 44100 s is not a whole number of nanoseconds. */
	run_paced(f, 44100, 512);
	/* Random tick times: the position is floor((now - t0) * rate / 1e9). */
	f->be->ops->start(f->be, &f->port, T0);
	atomic_store(&f->port.frames, 0);
	for (int i = 0; i < 5000; i++) {
		now += (uint64_t)(i * 7919 % 3000000) + 1;
		next = tick(f, now);
		assert_int_equal(atomic_load(&f->port.frames), (now - T0) * 44100 / NS);
		assert_true(next > now);
		assert_int_equal(next, bt_deadline(T0, 44100,
						   ((now - T0) * 44100 / NS / 512 + 1) * 512));
	}
}

/* Exactly 1 ms periods are not merged: one tick per period, same grid. */
static void test_pacing_1ms(void **state)
{
	struct fixture *f = *state;

	run_paced(f, 48000, 48);
}

/* Just under 1 ms: two periods per tick, the first of them under 1 ms late. */
static void test_pacing_under_1ms(void **state)
{
	struct fixture *f = *state;
	uint64_t next;

	open_start(f, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, 44100, 44);
	next = tick(f, T0);
	assert_int_equal(next, bt_deadline(T0, 44100, 88));
	/* Woken late in the third period: the next boundary but one. */
	next = tick(f, bt_deadline(T0, 44100, 100));
	assert_int_equal(f->port.frames, 100);
	assert_int_equal(next, bt_deadline(T0, 44100, 176));
}

/*
 * Tiny periods for 2 s, ticks at the deadlines the backend returns (late by
 * up to jitter ns): about one tick per ms however short the period, every
 * frame moved exactly when due, no period completed early or more than
 * 1 ms late (plus the jitter), and the lead the backend asks for keeps the
 * device's ring from running dry.
 */
static void run_tiny(struct fixture *f, uint32_t rate, uint32_t period, uint64_t jitter)
{
	size_t frames = 2 * (size_t)rate;
	uint8_t *data = calloc(frames, 4);
	struct bt_pace p;

	bt_port_init_buf(&f->port, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, rate, period,
			 rate / 50);
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	/* The device clamps the lead to half its ring: it must not have to. */
	assert_true(f->port.lead_bytes <= f->port.ring.cap / 2);
	bt_pace_play(f->be, &f->port, T0, data, frames, jitter, &p);
	print_message("%u Hz, %u-frame periods, jitter %llu ns: %llu ticks in 2 s, "
		      "shortest gap %llu ns, latest period %llu ns\n",
		      rate, period, (unsigned long long)jitter, (unsigned long long)p.wakes,
		      (unsigned long long)p.min_gap, (unsigned long long)p.max_late);
	assert_true(p.wakes <= 2200);
	if (!jitter)
		assert_true(p.min_gap >= BE_MIN_TICK_NS);
	assert_true(p.max_late < BE_MIN_TICK_NS + jitter);
	assert_int_equal(f->port.xruns, 0);
	f->be->ops->close(f->be, &f->port);
	bt_port_fini(&f->port);
	memset(&f->port, 0, sizeof(f->port));
	free(data);
}

static void test_tiny_periods(void **state)
{
	struct fixture *f = *state;

	run_tiny(f, 384000, 1, 0);
	run_tiny(f, 384000, 4, 0);
	run_tiny(f, 8000, 1, 0);
	run_tiny(f, 48000, 2, 0);
	run_tiny(f, 44100, 7, 0);
	run_tiny(f, 384000, 1, 400000);
	run_tiny(f, 44100, 44, 300000);
}

/* Capture with one-frame periods: silence at the real rate, a tick per ms. */
static void test_tiny_capture(void **state)
{
	struct fixture *f = *state;
	uint64_t now = T0, next, wakes = 0;

	bt_port_init_buf(&f->port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2, 384000, 1,
			 384000 / 50);
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0), 0);
	while (now <= T0 + NS / 10) {
		size_t fill;

		next = tick(f, now);
		wakes++;
		assert_int_equal(f->port.frames, (now - T0) * 384000 / NS);
		fill = vsnd_ring_fill(&f->port.ring);
		assert_int_equal(fill, now == T0 ? 0 : 384 * 4);
		assert_int_equal(vsnd_ring_skip(&f->port.ring, fill), fill);
		assert_int_equal(next - now, BE_MIN_TICK_NS); /* 384 periods */
		now = next;
	}
	assert_int_equal(wakes, 101);
	assert_int_equal(f->port.xruns, 0);
}

static void test_start_stop(void **state)
{
	struct fixture *f = *state;

	bt_port_init(&f->port, VSND_DIR_OUTPUT, 0, 0, VSND_PCM_FMT_S16, 2, 48000, 480);
	/* Two periods of lead: a tick up to a period late still finds data. */
	f->port.lead_bytes = 0;
	assert_int_equal(f->be->ops->tick(f->be, &f->port, T0), UINT64_MAX); /* not open */
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0), -EBADFD);
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	assert_int_equal(f->port.lead_bytes, 2 * 480 * 4);
	assert_int_equal(tick(f, T0 + NS), UINT64_MAX); /* not started */
	assert_int_equal(f->port.frames, 0);
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0), 0);
	/* Before t0: nothing due, the first period's deadline. */
	assert_int_equal(tick(f, T0 - 5), T0 + 10000000);
	assert_int_equal(tick(f, T0 + 15000000), T0 + 20000000);
	assert_int_equal(f->port.frames, 720);
	assert_int_equal(f->be->ops->stop(f->be, &f->port), 0);
	assert_int_equal(tick(f, T0 + NS), UINT64_MAX);
	assert_int_equal(f->port.frames, 720);
	/* A new start is a new time zero. */
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0 + 2 * NS), 0);
	assert_int_equal(tick(f, T0 + 2 * NS + 5000000), T0 + 2 * NS + 10000000);
	assert_int_equal(f->port.frames, 720 + 240);
	/* Open again without close: the old state is released, not leaked. */
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	assert_int_equal(tick(f, T0 + 3 * NS), UINT64_MAX);
	f->be->ops->close(f->be, &f->port);
	assert_null(f->port.priv);
	f->be->ops->close(f->be, &f->port);
}

static void test_bad_params(void **state)
{
	struct fixture *f = *state;

	bt_port_init(&f->port, VSND_DIR_OUTPUT, 0, 0, VSND_PCM_FMT_S16, 2, 48000, 480);
	f->port.params.format = VSND_PCM_FMT_IMA_ADPCM;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -ENOTSUP);
	f->port.params.format = 77;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -ENOTSUP);
	f->port.params.format = VSND_PCM_FMT_S16;
	f->port.params.frame_bytes = 3;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -EINVAL);
	f->port.params.frame_bytes = 4;
	f->port.params.period_bytes = 0;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -EINVAL);
	f->port.params.period_bytes = 480 * 4;
	f->port.params.rate_hz = 0;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -EINVAL);
	f->port.params.rate_hz = 48000;
	f->port.params.channels = 19;
	f->port.params.frame_bytes = 19 * 2;
	assert_int_equal(f->be->ops->open(f->be, &f->port), -EINVAL);
	assert_true(fh_log_has(&f->log, "bad parameters"));
	assert_null(f->port.priv);
}

static void write_frames(struct vsnd_port *port, uint8_t value, size_t frames)
{
	size_t bytes = frames * port->params.frame_bytes;
	uint8_t *buf = malloc(bytes);

	memset(buf, value, bytes);
	assert_int_equal(vsnd_ring_write(&port->ring, buf, bytes), bytes);
	free(buf);
}

/* Playback underrun: silence for what is missing, one xrun per episode. */
static void test_underrun(void **state)
{
	struct fixture *f = *state;
	const uint64_t P = 10000000; /* one 480-frame period at 48 kHz */
	uint8_t out[480 * 2];

	/* U8 stereo: silence is 0x80, so missing frames are visible. The null
	 * backend discards, so look at the ring positions and counters. */
	open_start(f, VSND_DIR_OUTPUT, VSND_PCM_FMT_U8, 2, 48000, 480);
	write_frames(&f->port, 0x11, 720);
	tick(f, T0 + P);
	assert_int_equal(vsnd_ring_rpos(&f->port.ring), 480 * 2);
	assert_int_equal(f->port.xruns, 0);
	tick(f, T0 + 2 * P); /* 240 frames of data, 240 of silence */
	assert_int_equal(vsnd_ring_rpos(&f->port.ring), 720 * 2);
	assert_int_equal(f->port.xruns, 1);
	tick(f, T0 + 3 * P); /* still dry: same episode */
	assert_int_equal(f->port.xruns, 1);
	assert_int_equal(f->port.frames, 1440);
	write_frames(&f->port, 0x22, 480);
	tick(f, T0 + 4 * P); /* enough again: the episode ends */
	assert_int_equal(f->port.xruns, 1);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 0);
	tick(f, T0 + 4 * P + 1); /* nothing due: no change */
	assert_int_equal(f->port.xruns, 1);
	tick(f, T0 + 5 * P);
	assert_int_equal(f->port.xruns, 2);
	/* Half a frame waits for its other half: the stream stays aligned. */
	write_frames(&f->port, 0x33, 480);
	assert_int_equal(vsnd_ring_write(&f->port.ring, "\x44", 1), 1);
	tick(f, T0 + 6 * P);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 1);
	assert_int_equal(f->port.xruns, 2); /* 480 whole frames were there */
	tick(f, T0 + 7 * P);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 1);
	assert_int_equal(f->port.xruns, 3);
	assert_int_equal(vsnd_ring_read(&f->port.ring, out, sizeof(out)), 1);
	assert_int_equal(out[0], 0x44);
	assert_int_equal(f->port.frames, 7 * 480);
}

/*
 * Buffers of two periods as short as 13 frames (0.27 ms at 48 kHz) and ticks
 * late by several buffers: no tick moves a whole guest buffer, since the
 * Linux driver would see a wrap as no progress and fail the write with EIO.
 * Ticks come once a period then; a tick later than the buffer lasts moves
 * what the buffer allows and the clock's time zero follows.
 */
static void run_short_buffer(struct fixture *f, uint8_t dir, uint32_t period, uint32_t periods)
{
	const uint32_t rate = 48000;
	uint64_t now = T0, next, before;

	bt_port_init_buf(&f->port, dir, VSND_PCM_FMT_S16, 2, rate, period, periods * period);
	assert_int_equal(f->be->ops->open(f->be, &f->port), 0);
	assert_int_equal(f->be->ops->start(f->be, &f->port, T0), 0);
	for (int k = 0; k < 200; k++) {
		before = atomic_load(&f->port.frames);
		next = tick(f, now);
		assert_true(atomic_load(&f->port.frames) - before <= (uint64_t)(periods - 1) * period);
		assert_true(next > now);
		/* on time, or late by 2 ms (over 7 buffers of 13 frames) */
		now = k % 10 == 5 ? next + 2000000 : next;
		vsnd_ring_skip(&f->port.ring, vsnd_ring_fill(&f->port.ring));
	}
	/* the clock kept moving: every tick after the first (at T0) a period or more */
	print_message("%u x %u frames, %s: %llu frames in 200 ticks\n", periods, period,
		      dir == VSND_DIR_OUTPUT ? "playback" : "capture",
		      (unsigned long long)atomic_load(&f->port.frames));
	assert_true(atomic_load(&f->port.frames) >= 199ull * period);
	f->be->ops->close(f->be, &f->port);
	bt_port_fini(&f->port);
	memset(&f->port, 0, sizeof(f->port));
}

static void test_short_buffers(void **state)
{
	struct fixture *f = *state;

	(void)state;
	for (uint32_t period = 13; period <= 120; period = period * 2 + 3) {
		run_short_buffer(f, VSND_DIR_OUTPUT, period, 2);
		run_short_buffer(f, VSND_DIR_INPUT, period, 2);
		run_short_buffer(f, VSND_DIR_OUTPUT, period, 4);
	}
}

/* Capture: silence at the real rate, overrun drops, one xrun per episode. */
static void test_capture_overrun(void **state)
{
	struct fixture *f = *state;
	const uint64_t P = 10000000;
	uint8_t buf[4096];
	size_t cap;

	/* U16 mono: silence is 00 80. 480-frame periods, ring of 8 periods. */
	open_start(f, VSND_DIR_INPUT, VSND_PCM_FMT_U16, 1, 48000, 480);
	cap = f->port.ring.cap;
	assert_int_equal(cap, 8192);
	tick(f, T0 + P);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 960);
	assert_int_equal(vsnd_ring_read(&f->port.ring, buf, 960), 960);
	for (int i = 0; i < 960; i += 2)
		assert_true(buf[i] == 0x00 && buf[i + 1] == 0x80);
	/* Nobody reads: 8 periods fill 7680 bytes, the 9th overflows. (One tick
	 * a period: a single tick never moves a whole guest buffer.) */
	for (uint64_t k = 2; k <= 9; k++)
		tick(f, T0 + k * P);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 7680);
	assert_int_equal(f->port.xruns, 0);
	tick(f, T0 + 10 * P);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 8192);
	assert_int_equal(f->port.xruns, 1);
	tick(f, T0 + 11 * P);
	assert_int_equal(f->port.xruns, 1);
	assert_int_equal(vsnd_ring_skip(&f->port.ring, 8192), 8192);
	tick(f, T0 + 12 * P); /* fits: episode over */
	assert_int_equal(f->port.xruns, 1);
	assert_int_equal(vsnd_ring_fill(&f->port.ring), 960);
	for (uint64_t k = 13; k <= 30; k++)
		tick(f, T0 + k * P);
	assert_int_equal(f->port.xruns, 2);
	assert_int_equal(f->port.frames, 30 * 480);
}

/* DSD and IEC958 are carried by the null backend: silence is theirs. */
static void test_null_dsd(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];

	open_start(f, VSND_DIR_INPUT, VSND_PCM_FMT_DSD_U32, 2, 48000, 4);
	tick(f, T0 + bt_deadline(0, 48000, 4));
	assert_int_equal(vsnd_ring_read(&f->port.ring, buf, sizeof(buf)), 32);
	for (int i = 0; i < 32; i++)
		assert_int_equal(buf[i], 0x69);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_math),
		cmocka_unit_test_setup_teardown(test_pacing_48000, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing_44100, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing_44100_512, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing_1ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pacing_under_1ms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_periods, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tiny_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_underrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_dsd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
