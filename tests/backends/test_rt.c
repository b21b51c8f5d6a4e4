/* SPDX-License-Identifier: MIT */
/*
 * be_rt, the sound-server backends' shared side, without a server: the test
 * plays the server's callback (vsnd__be_rt_play) and the device's tick by
 * hand with a fake clock. Who paces a running stream (nobody while its
 * connection is being made, the device while the server is away, the
 * server once live), and which ring frames the server has played for a
 * given latency.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/rt.h"
#include "be_test.h"

#define MS 1000000ull
#define RATE 48000u
#define PERIOD 480u
#define FB 4u

struct rt_case {
	struct vsnd_port port;
	struct be_rt rt;
	struct fh_log log;
	struct vsnd_backend_env env;
	struct vsnd_backend be;
};

static struct rt_case *rt_new_dir(uint8_t direction)
{
	struct rt_case *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	bt_port_init(&c->port, direction, 0, 0, VSND_PCM_FMT_S16, 2, RATE, PERIOD);
	c->env = fh_log_env(&c->log);
	c->be.env = c->env;
	assert_int_equal(vsnd__be_rt_init(&c->rt, &c->be, &c->port, UINT64_C(1) << VSND_PCM_FMT_S16,
					  "test"), 0);
	c->port.priv = &c->rt;
	return c;
}

static struct rt_case *rt_new(void)
{
	return rt_new_dir(VSND_DIR_OUTPUT);
}

static void rt_free(struct rt_case *c)
{
	vsnd__be_rt_fini(&c->rt);
	bt_port_fini(&c->port);
	free(c);
}

/* Put n frames of data into the ring, as the device does. */
static void feed(struct rt_case *c, size_t frames)
{
	uint8_t buf[PERIOD * FB];

	memset(buf, 0x11, sizeof(buf));
	while (frames) {
		size_t n = frames < PERIOD ? frames : PERIOD;

		assert_int_equal(vsnd_ring_write(&c->port.ring, buf, n * FB), n * FB);
		frames -= n;
	}
}

/* The server's callback asks for n frames. */
static void server_pulls(struct rt_case *c, size_t frames)
{
	uint8_t *buf = malloc(frames * FB);

	vsnd__be_rt_play(&c->rt, buf, frames * FB);
	free(buf);
}

/* Four periods queued, started at t0 while the connection is being made,
 * and the device's first tick; returns that tick's deadline. */
static uint64_t start_connecting(struct rt_case *c, uint64_t t0)
{
	vsnd__be_rt_set_connecting(&c->rt, true);
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	return vsnd__be_rt_tick(&c->be, &c->port, t0);
}

/* Started while its connection is being made: the ring is held (nothing
 * consumed, a look every few ms), and the hold ends at the first look
 * after the attempt fails; from then on the device paces in real time. */
static void test_hold_then_pace(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS, next;

	(void)state;
	next = start_connecting(c, t0);
	assert_true(next > t0 && next <= t0 + BE_RT_HOLD_POLL_NS);
	next = vsnd__be_rt_tick(&c->be, &c->port, t0 + 100 * MS);
	assert_true(next <= t0 + 100 * MS + BE_RT_HOLD_POLL_NS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 4 * PERIOD * FB); /* held */
	vsnd__be_rt_set_connecting(&c->rt, false);                        /* failed */
	vsnd__be_rt_tick(&c->be, &c->port, t0 + 101 * MS);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + 111 * MS);
	/* paced from 101 ms on: 10 ms = one period moved */
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 3 * PERIOD * FB);
	rt_free(c);
}

/* A hold never outlasts BE_RT_HOLD_NS, even if the attempt never ends (a
 * stopped server). */
static void test_hold_bounded(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	start_connecting(c, t0);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + BE_RT_HOLD_NS);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + BE_RT_HOLD_NS + 10 * MS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 3 * PERIOD * FB);
	rt_free(c);
}

/* Live, the server paces: the tick moves nothing and only asks to look
 * for a stall later; when the server goes, the next tick paces. */
static void test_live_then_lost(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	vsnd__be_rt_set_live(&c->rt, true);
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), UINT64_MAX);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 50 * MS), UINT64_MAX);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 4 * PERIOD * FB);
	server_pulls(c, PERIOD);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 3 * PERIOD * FB);
	vsnd__be_rt_set_live(&c->rt, false);
	assert_int_not_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 60 * MS), UINT64_MAX);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + 70 * MS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 2 * PERIOD * FB);
	assert_true(fh_log_has(&c->log, "server gone"));
	rt_free(c);
}

/* A live server that stops calling back (SIGSTOP) is stalled after
 * BE_RT_STALL_DEFAULT_NS: the device paces in real time until it calls again, then
 * leaves the stream to it. A server that calls keeps its stream, and so
 * does one slow to make its first calls after the start. */
static void test_stall(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS, t;

	(void)state;
	vsnd__be_rt_set_live(&c->rt, true);
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), UINT64_MAX); /* not armed */
	for (unsigned int i = 0; i < BE_RT_STALL_ARM - 1; i++)
		server_pulls(c, PERIOD / BE_RT_STALL_ARM);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 1000 * MS), UINT64_MAX);
	server_pulls(c, PERIOD - (BE_RT_STALL_ARM - 1) * (PERIOD / BE_RT_STALL_ARM));
	t0 += 1000 * MS;                                           /* armed from this call */
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), t0 + BE_RT_STALL_DEFAULT_NS);
	t = t0 + BE_RT_STALL_DEFAULT_NS - MS;
	server_pulls(c, 0);                                        /* a call resets the look */
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t), t + BE_RT_STALL_DEFAULT_NS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 3 * PERIOD * FB);
	t += BE_RT_STALL_DEFAULT_NS;                                       /* silent since: stalled */
	assert_true(vsnd__be_rt_tick(&c->be, &c->port, t) <= t + 10 * MS);
	vsnd__be_rt_tick(&c->be, &c->port, t + 10 * MS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 2 * PERIOD * FB); /* paced */
	assert_true(fh_log_has(&c->log, "server stalled"));
	server_pulls(c, PERIOD);                                   /* back */
	t += 15 * MS;
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t), t + BE_RT_STALL_DEFAULT_NS);
	vsnd__be_rt_tick(&c->be, &c->port, t + 50 * MS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), PERIOD * FB);
	assert_true(fh_log_has(&c->log, "server calling again"));
	rt_free(c);
}

/* A stalled server's stream is paced from when the server ran dry (its
 * noted play position run on through all it was given), not from when the
 * device saw the stall: the guest's clock does not stand still for the
 * stall's length. */
static void test_stall_paced_from_dry(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	vsnd__be_rt_set_live(&c->rt, true);
	vsnd__be_rt_set_latency(&c->rt, 10000); /* stalled after 100 ms */
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	vsnd__be_rt_tick(&c->be, &c->port, t0);
	for (unsigned int i = 0; i < BE_RT_STALL_ARM; i++)
		server_pulls(c, PERIOD / BE_RT_STALL_ARM);
	vsnd__be_rt_note_delay(&c->rt, PERIOD / 2, t0); /* dry 5 ms later */
	vsnd__be_rt_tick(&c->be, &c->port, t0);         /* armed */
	assert_true(vsnd__be_rt_tick(&c->be, &c->port, t0 + 100 * MS) <= t0 + 110 * MS);
	assert_true(fh_log_has(&c->log, "server stalled"));
	/* 95 ms due at once: the three periods left, and silence for the rest */
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 0);
	rt_free(c);
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)ms * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

/* Bytes of silence (S16: zero) the ring begins with; reads it all. */
static size_t read_leading_silence(struct rt_case *c, size_t *total)
{
	static uint8_t out[8 * PERIOD * FB];
	size_t n = 0;

	*total = vsnd_ring_read(&c->port.ring, out, sizeof(out));
	while (n < *total && !out[n])
		n++;
	return n - n % FB;
}

/* A capture of a buffer of `periods`, live, started at t0 (and its first
 * tick, which holds it for the server's first data). */
#define CAP_HOLD_NS (10 * MS + PERIOD * 1000 * MS / RATE)

static struct rt_case *capture_started(unsigned int periods, uint64_t t0)
{
	struct rt_case *c = rt_new_dir(VSND_DIR_INPUT);

	bt_port_fini(&c->port);
	bt_port_init_buf(&c->port, VSND_DIR_INPUT, VSND_PCM_FMT_S16, 2, RATE, PERIOD,
			 periods * PERIOD);
	c->port.priv = &c->rt;
	vsnd__be_rt_set_latency(&c->rt, 10000);
	vsnd__be_rt_set_live(&c->rt, true);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	/* held for the start's lag: the latency and a period */
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), t0 + CAP_HOLD_NS);
	return c;
}

/* The server's data, n periods of it, the last captured now. */
static void server_captures(struct rt_case *c, unsigned int n, bool batch)
{
	uint8_t data[PERIOD * FB];

	memset(data, 0x11, sizeof(data));
	if (batch)
		vsnd__be_rt_capture_pending(&c->rt, n * sizeof(data));
	while (n--)
		vsnd__be_rt_capture(&c->rt, data, sizeof(data));
}

/* The server's first data within the hold is the stream's first frame,
 * however late in the hold (a source's first frame is the stream's). */
static void test_capture_first_data_whole(void **state)
{
	struct rt_case *c = capture_started(4, 1000 * MS);
	size_t total;

	(void)state;
	sleep_ms(40);
	server_captures(c, 1, false);
	assert_int_equal(read_leading_silence(c, &total), 0);
	assert_int_equal(total, PERIOD * FB);
	rt_free(c);
}

/* Past the hold the device paces, the wait since the start as silence at
 * once as far as the guest can take it with a period to spare (a 40 ms
 * buffer: 20 ms; a 20 ms one: none, or a Linux guest would overrun), then
 * a period a period; the server's first data ends it. */
static void test_capture_hold_then_pace(void **state)
{
	uint64_t t0 = 1000 * MS, t = t0 + CAP_HOLD_NS;
	struct rt_case *c = capture_started(4, t0);
	size_t total;

	(void)state;
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 0);         /* held */
	sleep_ms(40);                                                /* real time since the start */
	vsnd__be_rt_tick(&c->be, &c->port, t);
	assert_int_equal(read_leading_silence(c, &total), 2 * PERIOD * FB);
	assert_int_equal(total, 2 * PERIOD * FB);
	vsnd__be_rt_tick(&c->be, &c->port, t + 10 * MS);             /* paced */
	assert_int_equal(vsnd_ring_fill(&c->port.ring), PERIOD * FB);
	vsnd_ring_skip(&c->port.ring, PERIOD * FB);
	sleep_ms(20);  /* the server's first data after the pacer's last turn */
	server_captures(c, 1, false);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), PERIOD * FB);  /* its data only */
	/* the start's look, until the server has called BE_RT_STALL_ARM times */
	assert_true(vsnd__be_rt_tick(&c->be, &c->port, t + 16 * MS) < UINT64_MAX);
	server_captures(c, BE_RT_STALL_ARM - 1, false);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t + 17 * MS), UINT64_MAX);
	rt_free(c);

	c = capture_started(2, t0);
	sleep_ms(40);
	vsnd__be_rt_tick(&c->be, &c->port, t);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 0);
	rt_free(c);
}

/* The server's first data, then nothing (pipewire-pulse finishing its
 * graph's long cycle): once the stream lags real time since START by the
 * start's lag, the device paces it from where it stands; the server's next
 * data takes over again. */
static void test_capture_start_gap_paced(void **state)
{
	uint64_t t0 = 1000 * MS, look;
	struct rt_case *c = capture_started(4, t0);
	size_t fill, total;

	(void)state;
	server_captures(c, 1, false);                       /* within the hold: kept */
	look = vsnd__be_rt_tick(&c->be, &c->port, t0 + MS);
	/* a period made: looked at again once it lags by more than the hold */
	assert_true(look > t0 + MS && look <= t0 + MS + PERIOD * 1000 * MS / RATE + CAP_HOLD_NS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), PERIOD * FB);
	vsnd_ring_skip(&c->port.ring, PERIOD * FB);
	sleep_ms(45);                                       /* 10 ms made, 45 ms passed */
	look = vsnd__be_rt_tick(&c->be, &c->port, t0 + 45 * MS);
	assert_true(look <= t0 + 45 * MS + PERIOD * 1000 * MS / RATE);  /* paced */
	vsnd__be_rt_tick(&c->be, &c->port, look);
	/* the lag as silence, as far as the guest can take it, and a period */
	fill = vsnd_ring_fill(&c->port.ring);
	assert_true(fill >= PERIOD * FB);
	assert_int_equal(read_leading_silence(c, &total), fill);
	assert_int_equal(total, fill);
	server_captures(c, 1, false);                       /* the server again */
	assert_true(vsnd_ring_fill(&c->port.ring) < PERIOD * FB);     /* what overlaps dropped */
	rt_free(c);
}

/* After the pacer's turn the server's first data, a batch whose time the
 * pacer already gave as silence, is dropped (no time captured twice, no
 * overrun); what comes after it is kept. */
static void test_capture_overlap_dropped(void **state)
{
	uint64_t t0 = 1000 * MS, t = t0 + CAP_HOLD_NS;
	struct rt_case *c = capture_started(8, t0);
	size_t kept;

	(void)state;
	vsnd__be_rt_tick(&c->be, &c->port, t);
	vsnd__be_rt_tick(&c->be, &c->port, t + 10 * MS);
	vsnd_ring_skip(&c->port.ring, vsnd_ring_fill(&c->port.ring));
	server_captures(c, 4, true);     /* 40 ms, all but its last microseconds paced */
	kept = vsnd_ring_fill(&c->port.ring);
	assert_true(kept < RATE / 1000 * FB);
	server_captures(c, 1, false);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), kept + PERIOD * FB);
	assert_int_equal(atomic_load(&c->port.xruns), 0);
	rt_free(c);
}

/* What a server backend asks of its host: the option's latency, capped to
 * half the guest's buffer beyond a period (for playback at least 10 ms of
 * it), at least 1 ms. */
static void test_latency_us(void **state)
{
	struct vsnd_pcm_params p = { .frame_bytes = FB, .rate_hz = RATE,
				     .direction = VSND_DIR_OUTPUT };

	(void)state;
	p.period_bytes = PERIOD * FB;                       /* 10 ms */
	p.buffer_bytes = 4 * PERIOD * FB;                   /* 40 ms */
	assert_int_equal(vsnd__be_rt_latency_us(&p, 40), 15000);
	p.buffer_bytes = 2 * PERIOD * FB;                   /* 20 ms */
	assert_int_equal(vsnd__be_rt_latency_us(&p, 40), 10000);
	assert_int_equal(vsnd__be_rt_latency_us(&p, 8), 8000);
	p.direction = VSND_DIR_INPUT;
	assert_int_equal(vsnd__be_rt_latency_us(&p, 40), 5000);
	p.direction = VSND_DIR_OUTPUT;
	p.buffer_bytes = 50 * PERIOD * FB;                  /* 500 ms */
	assert_int_equal(vsnd__be_rt_latency_us(&p, 40), 40000);
	p.period_bytes = 13 * FB;
	p.buffer_bytes = 26 * FB;                           /* 2 x 13 frames */
	assert_int_equal(vsnd__be_rt_latency_us(&p, 40), 1000);
}

static void count_wake(void *opaque)
{
	(*(unsigned int *)opaque)++;
}

/* The server runs the ring dry: the device is woken once as the xrun
 * begins (it sends the guest its XRUN event and has no timer of its own
 * while the server carries the stream), not at every call of the episode. */
static void test_xrun_wakes(void **state)
{
	struct rt_case *c = rt_new();
	unsigned int wakes = 0;

	(void)state;
	c->port.wake = count_wake;
	c->port.wake_opaque = &wakes;
	vsnd__be_rt_set_live(&c->rt, true);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, 0), 0);
	wakes = 0;
	server_pulls(c, PERIOD);
	assert_int_equal(wakes, 1);
	server_pulls(c, PERIOD);
	assert_int_equal(wakes, 1);
	assert_int_equal(atomic_load(&c->port.xruns), 1);
	rt_free(c);
}

/* Live, four periods queued, started at t0, and past the calls that arm
 * the stall look. */
static void start_live_armed(struct rt_case *c, uint64_t t0)
{
	vsnd__be_rt_set_live(&c->rt, true);
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), UINT64_MAX);
	for (unsigned int i = 0; i < BE_RT_STALL_ARM; i++)
		server_pulls(c, 0);
}

/* A server back from a stall that runs its missed cycles back to back
 * gets silence for what would go faster than real time since it came back
 * (its latency allowed), not the guest's audio. */
static void test_catchup_burst(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS, t;

	(void)state;
	start_live_armed(c, t0);
	t = t0 + BE_RT_STALL_DEFAULT_NS;
	vsnd__be_rt_tick(&c->be, &c->port, t);
	vsnd__be_rt_tick(&c->be, &c->port, t + BE_RT_STALL_DEFAULT_NS);   /* stalled */
	assert_true(fh_log_has(&c->log, "server stalled"));
	server_pulls(c, 10 * PERIOD);              /* 100 ms at once: a burst */
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 4 * PERIOD * FB);
	server_pulls(c, PERIOD);                   /* within its latency: taken */
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 3 * PERIOD * FB);
	rt_free(c);
}

/* A stream that is live again after its server came back is as new: its
 * first calls may be far apart, so the stall look starts over. */
static void test_rearm_on_reconnect(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	start_live_armed(c, t0);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), t0 + BE_RT_STALL_DEFAULT_NS);
	vsnd__be_rt_set_live(&c->rt, false);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + 10 * MS);         /* paced meanwhile */
	vsnd__be_rt_set_live(&c->rt, true);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 20 * MS), UINT64_MAX);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 2000 * MS), UINT64_MAX);
	assert_false(fh_log_has(&c->log, "server stalled"));
	rt_free(c);
}

/* How long a silent server may be: a few of the latency the backend
 * asked of it, at least BE_RT_STALL_NS. */
static void test_stall_length(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	vsnd__be_rt_set_latency(&c->rt, 10000);                    /* 10 ms */
	start_live_armed(c, t0);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), t0 + BE_RT_STALL_NS);
	vsnd__be_rt_set_latency(&c->rt, 50000);                    /* 50 ms */
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0), t0 + BE_RT_STALL_CALLS * 50 * MS);
	rt_free(c);
}

/* A stream the backend parks while the guest is stopped (corked,
 * inactive) is not live and logs nothing; the next start holds the ring
 * until the server carries it again, and that logs nothing either. */
static void test_parked(void **state)
{
	struct rt_case *c = rt_new();
	uint64_t t0 = 1000 * MS;

	(void)state;
	vsnd__be_rt_set_live(&c->rt, true);
	vsnd__be_rt_report(&c->rt);
	assert_true(fh_log_has(&c->log, "connected"));
	memset(&c->log, 0, sizeof(c->log)); /* from here on */
	vsnd__be_rt_set_parked(&c->rt);
	feed(c, 4 * PERIOD);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, t0), 0);
	vsnd__be_rt_tick(&c->be, &c->port, t0);
	vsnd__be_rt_tick(&c->be, &c->port, t0 + 100 * MS);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 4 * PERIOD * FB); /* held */
	vsnd__be_rt_set_live(&c->rt, true);
	vsnd__be_rt_set_connecting(&c->rt, false);
	assert_int_equal(vsnd__be_rt_tick(&c->be, &c->port, t0 + 110 * MS), UINT64_MAX);
	assert_false(fh_log_has(&c->log, "connected"));
	assert_false(fh_log_has(&c->log, "gone"));
	rt_free(c);
}

/* The server says it holds `lat` frames at T; the delay then. */
#define T (1000 * MS)
static uint32_t delay_for(struct rt_case *c, uint64_t lat)
{
	vsnd__be_rt_note_delay(&c->rt, lat, T);
	return vsnd__be_rt_delay_at(&c->rt, T);
}

/* Time for n frames. */
static uint64_t frames_ns(uint64_t n)
{
	return (n * 1000000000ull + RATE - 1) / RATE;
}

/* Live and started; 200 frames of silence, then 1000 of data and 200 of
 * silence given to the server. */
static struct rt_case *rt_given_1400(void)
{
	struct rt_case *c = rt_new();

	vsnd__be_rt_set_live(&c->rt, true);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, 0), 0);
	server_pulls(c, 200);                     /* silence: the ring is empty */
	feed(c, 1000);
	server_pulls(c, 600);                     /* 600 data */
	server_pulls(c, 600);                     /* 400 data, then 200 silence */
	return c;
}

/*
 * What the server has played, for its latency: data and silence pads are
 * told apart, so the ring frames it holds unplayed are exact (a buffer
 * completes once heard, and the last one is not held up by the silence
 * after it).
 */
static void test_unplayed(void **state)
{
	struct rt_case *c = rt_given_1400();

	(void)state;
	/* given 1400, all but `latency` played */
	assert_int_equal(delay_for(c, 1400), 1000);
	assert_int_equal(delay_for(c, 1200), 1000); /* the first pad */
	assert_int_equal(delay_for(c, 900), 700);
	assert_int_equal(delay_for(c, 300), 100);
	assert_int_equal(delay_for(c, 200), 0);     /* only the last pad */
	assert_int_equal(delay_for(c, 0), 0);
	server_pulls(c, 5000);                    /* silence on and on */
	assert_int_equal(delay_for(c, 1000), 0);
	assert_int_equal(delay_for(c, 5300), 100);
	vsnd__be_rt_set_live(&c->rt, false);      /* what a lost server held is gone */
	assert_int_equal(delay_for(c, 5300), 0);
	rt_free(c);
}

/* A server that says its latency once a period (ALSA, PortAudio) or once a
 * graph cycle: its play position runs on in real time from the note, so a
 * buffer completes when heard, not at the next note; never past what it
 * was given. */
static void test_runs_on(void **state)
{
	struct rt_case *c = rt_given_1400();

	(void)state;
	vsnd__be_rt_note_delay(&c->rt, 1400, T);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T), 1000);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + frames_ns(200)), 1000);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + frames_ns(500)), 700);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + frames_ns(1100)), 100);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + 3600 * 1000 * MS), 0);
	/* A note from before a stop is no clock for the next run: the
	 * position holds until the server says again. */
	assert_int_equal(vsnd__be_rt_stop(&c->be, &c->port), 0);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, T), 0);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + 1000 * MS), 1000);
	vsnd__be_rt_note_delay(&c->rt, 700, T + 1000 * MS);
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T + 1000 * MS), 500);
	/* never a note: nothing is heard yet */
	rt_free(c);
	c = rt_given_1400();
	assert_int_equal(vsnd__be_rt_delay_at(&c->rt, T), 1000);
	rt_free(c);
}

/* What a closed stream's server stream still has to play: from the noted
 * position run on, at most the server's latency and a period. */
static void test_unheard(void **state)
{
	struct rt_case *c = rt_given_1400();

	(void)state;
	vsnd__be_rt_set_latency(&c->rt, 20000);   /* bound: 20 ms + 10 ms */
	vsnd__be_rt_note_delay(&c->rt, 960, T);  /* 20 ms held */
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T), 20 * MS);
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T + 10 * MS), 10 * MS);
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T + 30 * MS), 0);
	vsnd__be_rt_note_delay(&c->rt, 1400, T);  /* 29.2 ms held */
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T), 29166666);
	server_pulls(c, 4800);                    /* 129 ms held: bounded */
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T), 30 * MS);
	vsnd__be_rt_set_live(&c->rt, false);      /* a lost server holds nothing */
	assert_int_equal(vsnd__be_rt_unheard_ns(&c->rt, T), 0);
	rt_free(c);
}

/* Closed while the server still calls back: from the detach on its calls
 * touch neither the ring nor the port (counters, wake), and its state
 * changes wake no one; it is handed silence. */
static void test_detach(void **state)
{
	struct rt_case *c = rt_new();
	unsigned int wakes = 0;
	uint8_t buf[PERIOD * FB];

	(void)state;
	c->port.wake = count_wake;
	c->port.wake_opaque = &wakes;
	vsnd__be_rt_set_live(&c->rt, true);
	assert_int_equal(vsnd__be_rt_start(&c->be, &c->port, 0), 0);
	feed(c, 4 * PERIOD);
	vsnd__be_rt_detach(&c->rt);
	wakes = 0;
	memset(buf, 0x55, sizeof(buf));
	vsnd__be_rt_play(&c->rt, buf, sizeof(buf));
	assert_int_equal(buf[0], 0);
	vsnd__be_rt_capture_silence(&c->rt, sizeof(buf));
	vsnd__be_rt_set_live(&c->rt, false);
	vsnd__be_rt_set_connecting(&c->rt, false);
	vsnd__be_rt_event(&c->rt, BE_RT_EV_ABSENT);
	assert_int_equal(vsnd_ring_fill(&c->port.ring), 4 * PERIOD * FB);
	assert_int_equal(atomic_load(&c->port.frames), 0);
	assert_int_equal(atomic_load(&c->port.xruns), 0);
	assert_int_equal(atomic_load(&c->port.host_present), 1);
	assert_int_equal(wakes, 0);
	rt_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hold_then_pace),
		cmocka_unit_test(test_hold_bounded),
		cmocka_unit_test(test_live_then_lost),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_stall_paced_from_dry),
		cmocka_unit_test(test_stall_length),
		cmocka_unit_test(test_catchup_burst),
		cmocka_unit_test(test_rearm_on_reconnect),
		cmocka_unit_test(test_parked),
		cmocka_unit_test(test_xrun_wakes),
		cmocka_unit_test(test_capture_first_data_whole),
		cmocka_unit_test(test_capture_hold_then_pace),
		cmocka_unit_test(test_capture_start_gap_paced),
		cmocka_unit_test(test_capture_overlap_dropped),
		cmocka_unit_test(test_latency_us),
		cmocka_unit_test(test_unplayed),
		cmocka_unit_test(test_runs_on),
		cmocka_unit_test(test_unheard),
		cmocka_unit_test(test_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
