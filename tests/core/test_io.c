/* SPDX-License-Identifier: MIT */
/*
 * TX/RX I/O messages through the device with the real null backend on a
 * fake clock: holding, refusing, RELEASE flushing, RX status placement,
 * pacing against the ideal schedule, xrun and jack events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/dev.h"
#include "harness.h"
#include "util/iov.h"

#define MS 1000000ull
#define FMT VSND_PCM_FMT_S16
#define RATE VSND_PCM_RATE_48000
#define PERIOD 1920   /* 10 ms of 48 kHz S16 stereo */
#define BUFFER (4 * PERIOD)
#define XRUNS (1u << VIRTIO_SND_PCM_F_EVT_XRUNS)

static struct harness *started(uint32_t stream, uint32_t features)
{
	struct harness *h = h_new("null", NULL, false);

	assert_int_equal(h_set_params(h, stream, BUFFER, PERIOD, 2, FMT, RATE, features), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, stream), VIRTIO_SND_S_OK);
	return h;
}

static void test_tx_refused(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	uint8_t data[PERIOD] = { 0 };
	struct h_chain *c;

	(void)state;
	/* not prepared */
	c = h_tx(h, 0, data, PERIOD, 0);
	assert_true(c->done);
	assert_int_equal(c->used_len, 8);
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	c = h_tx(h, 0, data, PERIOD, 0);  /* parameters only: still refused */
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	/* wrong direction, bad id, partial frame */
	assert_int_equal(h_set_params(h, 1, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	c = h_tx(h, 1, data, PERIOD, 0);
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	c = h_tx(h, 9, data, PERIOD, 0);
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	c = h_tx(h, 0, data, PERIOD - 1, 0);
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	/* an rx message on stream 0 (an output) */
	c = h_rx(h, 0, PERIOD, 0);
	assert_true(c->done);
	assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
	h_chain_free(c);
	/* no room for a status: back with len 0 */
	{
		uint8_t rd[4] = { 0 };
		c = h_chain_new(rd, 4, 4, 0);
		h_post(h, VSND_QUEUE_TX, c);
		vsnd_dev_kick(h->dev, VSND_QUEUE_TX);
		assert_true(c->done);
		assert_int_equal(c->used_len, 0);
		h_chain_free(c);
	}
	/* writable data in a tx message */
	{
		uint8_t rd[4 + 4] = { 0 };
		c = h_chain_new(rd, 8, 16, 0);
		h_post(h, VSND_QUEUE_TX, c);
		vsnd_dev_kick(h->dev, VSND_QUEUE_TX);
		assert_true(c->done);
		assert_int_equal(h_io_status(c), VIRTIO_SND_S_IO_ERR);
		h_chain_free(c);
	}
	h_free(h);
}

/* Held in PREPARED, completed one period apart from START, never early. */
static void test_tx_held_then_paced(void **state)
{
	struct harness *h = started(0, 0);
	uint8_t data[PERIOD];
	struct h_chain *c[4];
	uint64_t t0;

	(void)state;
	memset(data, 0x11, sizeof(data));
	for (int i = 0; i < 4; i++)
		c[i] = h_tx(h, 0, data, PERIOD, 100);
	h_run_until(h, h->host.now + 1000 * MS);
	for (int i = 0; i < 4; i++)
		assert_false(c[i]->done);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++) {
		h_run_until(h, t0 + (uint64_t)(i + 1) * 10 * MS - 1);
		assert_false(c[i]->done);
		h_run_until(h, t0 + (uint64_t)(i + 1) * 10 * MS);
		assert_true(c[i]->done);
		assert_int_equal(c[i]->used_len, 8);
		assert_int_equal(h_io_status(c[i]), VIRTIO_SND_S_OK);
		assert_int_equal(h_io_latency(c[i]), 0);
		h_chain_free(c[i]);
	}
	h_free(h);
}

/*
 * 10 s of audio with the Linux pattern (every period re-queued at once),
 * timer wake-ups jittered up to `jitter` late as on a loaded host: every
 * completion lands within 1 ms of t0 + (k+1) * period (plus the jitter of
 * its own wake-up), and not one frame of silence is inserted.
 */
static void pace(uint32_t rate_idx, uint32_t period_frames, uint64_t jitter)
{
	uint32_t hz = vsnd_pcm_rate_hz(rate_idx);
	uint32_t period = period_frames * 4;
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *q[4];
	uint8_t *data = calloc(1, period);
	uint64_t t0, k = 0, end;
	struct vsnd_stream_status st = { .size = sizeof(st) };
	unsigned int seed = 1;

	assert_int_equal(h_set_params(h, 0, 4 * period, period, 2, FMT, (uint8_t)rate_idx, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		q[i] = h_tx(h, 0, data, period, 0);
	t0 = h->host.now;
	end = t0 + 10000 * MS;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	while (h->host.now < end) {
		uint64_t late = jitter ? (uint64_t)rand_r(&seed) % (jitter + 1) : 0;

		/* wake up when asked, or late as a loaded host does */
		assert_true(h->host.timer != UINT64_MAX);
		h->host.now = h->host.timer + late;
		vsnd_dev_process(h->dev);
		for (int i = 0; i < 4; i++) {
			if (!q[i]->done)
				continue;
			uint64_t ideal = t0 + ((k + 1) * period_frames * 1000000000ull + hz - 1) / hz;
			assert_true(q[i]->done_ns >= ideal);
			assert_true(q[i]->done_ns - ideal <= 1 * MS + jitter);
			k++;
			h_chain_free(q[i]);
			q[i] = h_tx(h, 0, data, period, 0);
		}
	}
	assert_true(k >= 10ull * hz / period_frames - 1);
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.xruns, 0);
	/* four periods held: the re-queued ones came unannounced (no kick)
	 * and the device took them on its own ticks, in time */
	assert_int_equal(h->kicks, 4);
	assert_true(h->kicks_skipped >= k);
	for (int i = 0; i < 4; i++)
		h_chain_free(q[i]);
	free(data);
	h_free(h);
}

/*
 * A quiet queue's newest buffer counts for a late tick: the driver held two
 * periods (no kicks) and queued a third unannounced, and the tick runs 15 ms
 * late, past what the two cover. The device takes the new buffer in before
 * the tick, which plays it rather than silence (it took it in after the tick
 * for a while: an xrun, and 480 frames lost at 2.5 ms periods in the bench).
 */
static void test_late_tick_takes_quiet_buffer(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	struct vsnd_stream_status st = { .size = sizeof(st) };
	struct h_chain *q[4];
	uint8_t data[PERIOD] = { 0 };

	(void)state;
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 3; i++)
		q[i] = h_tx(h, 0, data, PERIOD, 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h->host.now = h->host.timer;             /* the first period played */
	vsnd_dev_process(h->dev);
	assert_true(q[0]->done);
	assert_true(h->no_kicks[VSND_QUEUE_TX]); /* two periods held: no kicks */
	q[3] = h_tx(h, 0, data, PERIOD, 0);      /* unannounced */
	h->host.now = h->host.timer + 15 * MS;   /* a late wake */
	vsnd_dev_process(h->dev);
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.xruns, 0);
	assert_true(q[1]->done);
	for (int i = 0; i < 4; i++)
		h_chain_free(q[i]);
	h_free(h);
}

static void test_pacing_48k(void **state)
{
	(void)state;
	pace(VSND_PCM_RATE_48000, 480, 0);
}

static void test_pacing_44k1_non_integer(void **state)
{
	(void)state;
	/* 512 frames at 44.1 kHz = 11.6099... ms: no rounding may accumulate */
	pace(VSND_PCM_RATE_44100, 512, 0);
}

static void test_pacing_jittered(void **state)
{
	(void)state;
	pace(VSND_PCM_RATE_48000, 480, 3 * MS);
}

/* The host stalls 30 ms past a tick with 40 ms queued: the late tick plays
 * the guest's queued audio, not silence, and completes it then. */
static void test_stall_plays_queued(void **state)
{
	struct harness *h = started(0, 0);
	struct vsnd_stream_status st = { .size = sizeof(st) };
	uint8_t data[PERIOD];
	struct h_chain *c[4];
	uint64_t t0;

	(void)state;
	memset(data, 0x22, sizeof(data));
	for (int i = 0; i < 4; i++)
		c[i] = h_tx(h, 0, data, PERIOD, 0);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + 10 * MS);
	assert_true(c[0]->done);
	assert_false(c[1]->done);
	assert_int_equal(h->host.timer, t0 + 20 * MS);
	h->host.now = t0 + 40 * MS;
	vsnd_dev_process(h->dev);
	for (int i = 1; i < 4; i++) {
		assert_true(c[i]->done);
		assert_int_equal(c[i]->done_ns, t0 + 40 * MS);
		assert_int_equal(h_io_status(c[i]), VIRTIO_SND_S_OK);
	}
	assert_int_equal(vsnd_dev_stream_status(h->dev, 0, &st), 0);
	assert_int_equal(st.xruns, 0);
	for (int i = 0; i < 4; i++)
		h_chain_free(c[i]);
	h_free(h);
}

/* A host that holds frames unplayed, over the null backend's clock: a
 * constant number (frames), or (lat_ms) a server that takes the ring a
 * period at a time, at each period's start, and plays what it took at the
 * real rate, lat_ms behind START. */
static struct {
	uint32_t frames;
	uint64_t lat_ms, t0, next_take;
	const struct harness *h;
	const struct vsnd_backend_ops *real;
} host_delay;

static uint64_t host_takes(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now)
{
	uint64_t period = 10 * MS;

	if (!host_delay.lat_ms)
		return host_delay.real->tick(be, port, now);
	if (now < host_delay.next_take)
		return host_delay.next_take;
	host_delay.next_take = now - (now - host_delay.t0) % period + period;
	host_delay.real->tick(be, port, now);
	return host_delay.next_take;
}

static uint32_t host_delay_frames(struct vsnd_backend *be, struct vsnd_port *port)
{
	uint64_t taken, since, heard;

	(void)be;
	if (!host_delay.lat_ms)
		return host_delay.frames;
	taken = vsnd_ring_rpos(&port->ring) / port->params.frame_bytes;
	since = host_delay.h->host.now - host_delay.t0;
	heard = since > host_delay.lat_ms * MS ? (since - host_delay.lat_ms * MS) * 48 / MS : 0;
	return taken > heard ? (uint32_t)(taken - heard) : 0;
}

/* A started stream of four queued periods (c) whose host holds frames as
 * host_delay says, from START at *t0. */
static struct harness *holding_started(struct vsnd_backend_ops *ops, struct h_chain *c[4],
				       uint64_t *t0)
{
	struct harness *h = h_new("null", NULL, false);
	static const uint8_t data[PERIOD];

	host_delay.h = h;
	host_delay.t0 = h->host.now;
	host_delay.real = h->be->ops;
	*ops = *h->be->ops;
	ops->delay_frames = host_delay_frames;
	ops->tick = host_takes;
	h->be->ops = ops;
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		c[i] = h_tx(h, 0, data, PERIOD, 0);
	*t0 = h->host.now;
	host_delay.t0 = *t0;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	return h;
}

static void holding_free(struct harness *h, struct h_chain *c[4])
{
	h_pcm(h, VIRTIO_SND_R_PCM_STOP, 0);
	h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0);
	for (int i = 0; i < 4; i++)
		h_chain_free(c[i]);
	h->be->ops = host_delay.real;
	h_free(h);
	memset(&host_delay, 0, sizeof(host_delay));
}

/* Message `k` not done before `from_ms` after START, done by `by_ms` (the
 * null backend takes the ring a period a tick). */
static void done_between(struct harness *h, struct h_chain *m, uint64_t t0, uint64_t from_ms,
			 uint64_t by_ms)
{
	h_run_until(h, t0 + from_ms * MS - 1);
	assert_false(m->done);
	h_run_until(h, t0 + by_ms * MS);
	assert_true(m->done);
}

/* Message 0 with the host holding a constant `frames`: done between from_ms
 * and by_ms, its latency_bytes all the host holds. */
static void holds_until(uint32_t frames, uint64_t from_ms, uint64_t by_ms)
{
	struct vsnd_backend_ops ops;
	struct h_chain *c[4];
	struct harness *h;
	uint64_t t0;

	host_delay.frames = frames;
	h = holding_started(&ops, c, &t0);
	done_between(h, c[0], t0, from_ms, by_ms);
	assert_int_equal(h_io_latency(c[0]), frames * 4);
	holding_free(h, c);
}

/*
 * A TX message completes once the host no longer holds it unplayed, but a
 * host holding more than half the room the buffer leaves beyond a period
 * (4 x 10 ms: 15 ms) holds it only that long: the guest, which refills a
 * period when one completes, would starve it otherwise.
 */
static void test_tx_waits_for_host_up_to_half_the_room(void **state)
{
	(void)state;
	holds_until(48, 11, 13);   /* 1 ms held: done once the host played it */
	holds_until(4800, 25, 30); /* 100 ms held: done 15 ms after it was taken */
}

/*
 * A server 30 ms behind START that takes the ring a period at a time holds
 * 20-30 ms, past the room's 15. From its first 30 ms on, completions lead
 * what it has played by that 15 ms excess, between its takes: message 1 at
 * 35-36 ms, not at the 40 ms take (following the takes, a PortAudio
 * stream's completions strayed 2.2 ms at p95), nor at 50 ms when heard.
 */
static void test_tx_lead_is_constant(void **state)
{
	struct vsnd_backend_ops ops;
	struct h_chain *c[4];
	struct harness *h;
	uint64_t t0;

	(void)state;
	host_delay.lat_ms = 30;
	h = holding_started(&ops, c, &t0);
	done_between(h, c[0], t0, 30, 30);
	done_between(h, c[1], t0, 35, 37);
	holding_free(h, c);
}

/* RELEASE completes every held message before it is answered. */
static void test_release_flushes(void **state)
{
	struct harness *h = started(0, 0);
	uint8_t data[PERIOD] = { 0 };
	struct h_chain *c[6];
	uint64_t before;

	(void)state;
	for (int i = 0; i < 6; i++)
		c[i] = h_tx(h, 0, data, PERIOD, 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 15 * MS);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	before = h->order;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 6; i++) {
		assert_true(c[i]->done);
		/* the RELEASE answer is the last push */
		assert_true(c[i]->order < h->order);
		if (i > 0)
			assert_true(c[i]->order > before);
		h_chain_free(c[i]);
	}
	assert_string_equal(h_state(h, 0), "released");
	h_free(h);
}

/* A message made available but whose kick the device has not handled yet is
 * pending too: RELEASE takes it and completes it before answering. */
static void test_release_takes_unkicked(void **state)
{
	struct harness *h = started(1, 0);
	struct h_chain *c = h_chain_new(NULL, 4, PERIOD + 8, 0);

	(void)state;
	vsnd_put_le32(c->rd_buf, 1);
	h_post(h, VSND_QUEUE_RX, c);  /* no kick */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	assert_true(c->done);
	assert_true(c->order < h->order);
	assert_int_equal(c->used_len, 8);
	h_chain_free(c);
	h_free(h);
}

/* Linux's pattern with a buffer of `periods`, 1 s: the kicks the driver
 * makes (each period it re-queues a buffer, and kicks when the device asks). */
static unsigned int kicks_for(unsigned int periods, uint8_t dir)
{
	uint32_t stream = dir == VSND_DIR_OUTPUT ? 0 : 1;
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *c[8];
	uint8_t data[PERIOD] = { 0 };
	unsigned int kicks, done = 0;
	uint64_t t0;

	assert_int_equal(h_set_params(h, stream, periods * PERIOD, PERIOD, 2, FMT, RATE, 0),
			 VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, stream), VIRTIO_SND_S_OK);
	for (unsigned int i = 0; i < periods; i++)
		c[i] = stream ? h_rx(h, 1, PERIOD, 0) : h_tx(h, 0, data, PERIOD, 0);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, stream), VIRTIO_SND_S_OK);
	while (h->host.now < t0 + 1000 * MS) {
		h->host.now = h->host.timer;
		vsnd_dev_process(h->dev);
		for (unsigned int i = 0; i < periods; i++) {
			if (!c[i]->done)
				continue;
			/* on time: the period it ends, within the 1 ms the pacing allows */
			assert_true(c[i]->done_ns >= t0 + (done + 1) * 10 * MS);
			assert_true(c[i]->done_ns <= t0 + (done + 1) * 10 * MS + 1 * MS);
			done++;
			h_chain_free(c[i]);
			c[i] = stream ? h_rx(h, 1, PERIOD, 0) : h_tx(h, 0, data, PERIOD, 0);
		}
	}
	assert_true(done >= 99);
	kicks = h->kicks;
	/* STOP: the queue wants its kicks back (no tick looks at it now) */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_STOP, stream), VIRTIO_SND_S_OK);
	assert_false(h->no_kicks[stream ? VSND_QUEUE_RX : VSND_QUEUE_TX]);
	for (unsigned int i = 0; i < periods; i++)
		h_chain_free(c[i]);
	h_free(h);
	return kicks;
}

/* A queue goes without kicks while its streams hold two periods after a
 * completion; a two-period buffer keeps them (its next buffer may be due
 * within a period). */
static void test_kicks_only_when_needed(void **state)
{
	(void)state;
	assert_int_equal(kicks_for(4, VSND_DIR_OUTPUT), 4);
	assert_int_equal(kicks_for(3, VSND_DIR_OUTPUT), 3);
	assert_true(kicks_for(2, VSND_DIR_OUTPUT) >= 100);
	assert_int_equal(kicks_for(4, VSND_DIR_INPUT), 4);
	assert_true(kicks_for(2, VSND_DIR_INPUT) >= 100);
}

static void test_stop_keeps_messages(void **state)
{
	struct harness *h = started(0, 0);
	uint8_t data[PERIOD] = { 0 };
	struct h_chain *c[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		c[i] = h_tx(h, 0, data, PERIOD, 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 10 * MS);
	assert_true(c[0]->done);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 1000 * MS);
	assert_false(c[1]->done);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 20 * MS);
	assert_true(c[1]->done);
	assert_true(c[2]->done);
	for (int i = 0; i < 3; i++)
		h_chain_free(c[i]);
	h_free(h);
}

/* RX: held before START; filled at the stream rate; status in the last 8
 * writable bytes even when it shares a descriptor with data; len = data+8. */
static void rx_case(uint8_t fmt, uint8_t silence)
{
	uint32_t frame = 2 * (fmt == VSND_PCM_FMT_U8 ? 1 : 2);
	uint32_t period = 480 * frame;
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *c[2];
	uint64_t t0;

	assert_int_equal(h_set_params(h, 1, 4 * period, period, 2, fmt, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	c[0] = h_rx(h, 1, period, 7);  /* split every 7 bytes: status straddles */
	c[1] = h_rx(h, 1, period, 0);
	h_run_until(h, h->host.now + 500 * MS);
	assert_false(c[0]->done);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + 10 * MS - 1);
	assert_false(c[0]->done);
	h_run_until(h, t0 + 20 * MS);
	for (int i = 0; i < 2; i++) {
		assert_true(c[i]->done);
		assert_int_equal(c[i]->used_len, period + 8);
		assert_int_equal(h_io_status(c[i]), VIRTIO_SND_S_OK);
		for (uint32_t b = 0; b < period; b++)
			assert_int_equal(c[i]->wr_buf[b], silence);
	}
	assert_int_equal(c[0]->done_ns, t0 + 10 * MS);
	assert_int_equal(c[1]->done_ns, t0 + 20 * MS);
	h_chain_free(c[0]);
	h_chain_free(c[1]);
	h_free(h);
}

static void test_rx(void **state)
{
	(void)state;
	rx_case(VSND_PCM_FMT_S16, 0);
	rx_case(VSND_PCM_FMT_U8, 0x80);
}

/* A host that hands over captured frames ahead of time (a server's whole
 * fragment, a monitor of a sink that renders ahead): the first buffer's
 * worth after START still completes no sooner than its frames can have been
 * captured since START. */
static void test_rx_not_before_start(void **state)
{
	const uint32_t period = 480 * 4;
	struct harness *h = h_new("null", NULL, false);
	struct vsnd_ring *ring = &h->dev->streams[1].port.ring;
	uint8_t early[2 * 480 * 4];
	struct h_chain *c[2];
	uint64_t t0;

	(void)state;
	assert_int_equal(h_set_params(h, 1, 4 * period, period, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	memset(early, 0x5a, sizeof(early));
	assert_int_equal(vsnd_ring_write(ring, early, sizeof(early)), sizeof(early));
	c[0] = h_rx(h, 1, period, 0);
	c[1] = h_rx(h, 1, period, 0);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + 25 * MS);
	assert_true(c[0]->done && c[1]->done);
	assert_int_equal(c[0]->done_ns, t0 + 10 * MS);
	assert_int_equal(c[1]->done_ns, t0 + 20 * MS);
	assert_int_equal(c[0]->wr_buf[0], 0x5a); /* the early frames, not dropped */
	h_chain_free(c[0]);
	h_chain_free(c[1]);
	h_free(h);
}

/* The transport stops a queue (GET_VRING_BASE), as for a VM pause: the
 * streams pause, held messages stay held (nothing is pushed to a stopped
 * ring, not even what completes meanwhile), and everything carries on in
 * real time once the queue runs again. */
static void test_queue_stop_pauses(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *rx, *tx[3];
	uint8_t data[PERIOD] = { 0 };
	uint64_t t;

	(void)state;
	for (uint32_t s = 0; s < 2; s++) {
		assert_int_equal(h_set_params(h, s, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
		assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, s), VIRTIO_SND_S_OK);
	}
	for (int i = 0; i < 3; i++)
		tx[i] = h_tx(h, 0, data, PERIOD, 0);
	rx = h_rx(h, 1, 4 * PERIOD, 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 15 * MS);
	assert_true(tx[0]->done);
	assert_false(tx[1]->done);
	vsnd_dev_queue_stop(h->dev, VSND_QUEUE_TX);
	vsnd_dev_queue_stop(h->dev, VSND_QUEUE_RX);
	h_run_until(h, h->host.now + 1000 * MS);
	assert_false(tx[1]->done);
	assert_false(rx->done);
	assert_string_equal(h_state(h, 0), "started");
	assert_string_equal(h_state(h, 1), "started");
	/* resume: the clocks restart, nothing was lost or completed early */
	t = h->host.now;
	vsnd_dev_kick(h->dev, VSND_QUEUE_TX);
	vsnd_dev_kick(h->dev, VSND_QUEUE_RX);
	h_run_until(h, t + 10 * MS - 1);
	assert_false(tx[2]->done);
	h_run_until(h, t + 40 * MS);
	assert_true(tx[1]->done && tx[2]->done);
	assert_true(rx->done);
	assert_int_equal(rx->used_len, 4 * PERIOD + 8);
	for (int i = 0; i < 3; i++)
		h_chain_free(tx[i]);
	h_chain_free(rx);
	h_free(h);
}

/* After a stop that was a reset, held chains are dropped, not pushed. */
static void test_reset_drops(void **state)
{
	struct harness *h = started(0, 0);
	uint8_t data[PERIOD] = { 0 };
	struct h_chain *tx = h_tx(h, 0, data, PERIOD, 0);
	unsigned int pushes;

	(void)state;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	vsnd_dev_queue_stop(h->dev, VSND_QUEUE_TX);
	pushes = h->pushes;
	vsnd_dev_reset(h->dev);
	assert_int_equal(h->pushes, pushes);
	assert_false(tx->done);
	assert_string_equal(h_state(h, 0), "initial");
	/* the driver starts over */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	h_chain_free(tx);
	h_free(h);
}

static struct h_chain *event_buf(struct harness *h)
{
	struct h_chain *c = h_chain_new(NULL, 0, 8, 0);

	h_post(h, VSND_QUEUE_EVENT, c);
	return c;
}

static void test_xrun_event(void **state)
{
	struct harness *h = started(0, XRUNS);
	struct harness *h2 = started(0, 0);
	struct h_chain *e = event_buf(h), *e2 = event_buf(h2);

	(void)state;
	/* started with nothing to play: an underrun */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 30 * MS);
	assert_true(e->done);
	assert_int_equal(e->used_len, 8);
	assert_int_equal(vsnd_le32(e->wr_buf), VIRTIO_SND_EVT_PCM_XRUN);
	assert_int_equal(vsnd_le32(e->wr_buf + 4), 0);
	/* the driver did not select EVT_XRUNS: no event */
	assert_int_equal(h_pcm(h2, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h2, h2->host.now + 30 * MS);
	assert_false(e2->done);
	h_free(h2);
	h_chain_free(e2);
	h_chain_free(e);
	h_free(h);
}

/* Jack events wait for buffers, oldest first; JACK_INFO follows. */
static void test_jack_events_backlog(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *e[3];
	uint8_t q[16], r[24];

	(void)state;
	assert_int_equal(vsnd_dev_jack_set(h->dev, 0, false), 0);
	assert_int_equal(vsnd_dev_jack_set(h->dev, 1, false), 0);
	assert_int_equal(vsnd_dev_jack_set(h->dev, 0, true), 0);
	assert_int_equal(vsnd_dev_jack_set(h->dev, 5, true), -ENOENT);
	for (int i = 0; i < 3; i++)
		e[i] = event_buf(h);
	vsnd_dev_process(h->dev);
	assert_int_equal(vsnd_le32(e[0]->wr_buf), VIRTIO_SND_EVT_JACK_DISCONNECTED);
	assert_int_equal(vsnd_le32(e[0]->wr_buf + 4), 0);
	assert_int_equal(vsnd_le32(e[1]->wr_buf), VIRTIO_SND_EVT_JACK_DISCONNECTED);
	assert_int_equal(vsnd_le32(e[1]->wr_buf + 4), 1);
	assert_int_equal(vsnd_le32(e[2]->wr_buf), VIRTIO_SND_EVT_JACK_CONNECTED);
	assert_int_equal(vsnd_le32(e[2]->wr_buf + 4), 0);
	vsnd_put_le32(q, VIRTIO_SND_R_JACK_INFO);
	vsnd_put_le32(q + 4, 1);
	vsnd_put_le32(q + 8, 1);
	vsnd_put_le32(q + 12, 24);
	assert_int_equal(h_ctl(h, q, 16, r, 24, 0), VIRTIO_SND_S_OK);
	assert_int_equal(r[16], 0);
	for (int i = 0; i < 3; i++)
		h_chain_free(e[i]);
	h_free(h);
}

/* The jack event in event buffer e, and what JACK_INFO and the API read. */
static void jack_reads(struct harness *h, struct h_chain *e, uint32_t code, bool connected)
{
	bool got;

	assert_true(e->done);
	assert_int_equal(vsnd_le32(e->wr_buf), code);
	assert_int_equal(vsnd_le32(e->wr_buf + 4), 0);
	assert_int_equal(vsnd_dev_jack_get(h->dev, 0, &got), 0);
	assert_int_equal(got, connected);
}

/* The backend says the host end of stream 0 (jack 0) is there or not. */
static void host_end(struct harness *h, int present)
{
	atomic_store(&h->dev->streams[0].port.host_present, present);
	vsnd_dev_process(h->dev);
}

/*
 * A jack reads connected while the host has it plugged and its stream's
 * host end is not known gone: a server coming back does not plug a jack the
 * host unplugged, and the host's plug waits for the server. What a stream
 * knew goes with its host stream, VSND_JACK_FORGET_NS after it closed: a
 * guest that saw the jack go off while the server was away would otherwise
 * never see it back if it did not open the stream again; one that opens it
 * again meanwhile and finds the server away keeps the jack off.
 */
static void test_jack_follows_host_end(void **state)
{
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *e[5];

	(void)state;
	for (int i = 0; i < 5; i++)
		e[i] = event_buf(h);
	assert_int_equal(h_set_params(h, 0, BUFFER, PERIOD, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	host_end(h, 1);
	assert_false(e[0]->done);
	host_end(h, 0);
	jack_reads(h, e[0], VIRTIO_SND_EVT_JACK_DISCONNECTED, false);
	/* the host unplugs it meanwhile; the server comes back: still off */
	assert_int_equal(vsnd_dev_jack_set(h->dev, 0, false), 0);
	host_end(h, 1);
	assert_false(e[1]->done);
	assert_int_equal(vsnd_dev_jack_set(h->dev, 0, true), 0);
	jack_reads(h, e[1], VIRTIO_SND_EVT_JACK_CONNECTED, true);
	/* the server goes again, the host plugs it (no change), the guest
	 * lets the stream go, opens it again at once and finds the server
	 * still away: off all along */
	host_end(h, 0);
	jack_reads(h, e[2], VIRTIO_SND_EVT_JACK_DISCONNECTED, false);
	assert_int_equal(vsnd_dev_jack_set(h->dev, 0, true), 0);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + VSND_JACK_FORGET_NS / 2);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	host_end(h, 0);
	h_run_until(h, h->host.now + VSND_JACK_FORGET_NS);
	assert_false(e[3]->done);
	/* it lets the stream go for good: on again once the forgetting is
	 * due, as nothing says the server is away any more */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + VSND_JACK_FORGET_NS - 1);
	assert_false(e[3]->done);
	h_run_until(h, h->host.now + 1);
	jack_reads(h, e[3], VIRTIO_SND_EVT_JACK_CONNECTED, true);
	/* a new host stream starts knowing nothing, and one that never
	 * reported leaves nothing to forget */
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	vsnd_dev_process(h->dev);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	h_run_until(h, h->host.now + 2 * VSND_JACK_FORGET_NS);
	assert_false(e[4]->done);
	for (int i = 0; i < 5; i++)
		h_chain_free(e[i]);
	h_free(h);
}

/*
 * Two-period buffers of 13 frames (0.27 ms at 48 kHz): the Linux driver
 * must never see a buffer's worth complete between two looks at its
 * position (a wrap reads as no progress: EIO). The second period waits for
 * the guest's next message (proof it has looked) or for 20 ms, never longer;
 * with the next message it completes at once.
 */
static void test_wrap_guard(void **state)
{
	const uint32_t period = 13 * 4;
	struct harness *h = h_new("null", NULL, false);
	uint8_t data[13 * 4] = { 0 };
	struct h_chain *c[3];
	uint64_t t0;

	(void)state;
	assert_int_equal(h_set_params(h, 0, 2 * period, period, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	c[0] = h_tx(h, 0, data, period, 0);
	c[1] = h_tx(h, 0, data, period, 0);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + 2 * MS);
	assert_true(c[0]->done);
	assert_true(c[0]->done_ns < t0 + MS / 2);
	assert_false(c[1]->done);  /* played, but a wrap the guest could miss */
	c[2] = h_tx(h, 0, data, period, 0);  /* the guest looked */
	assert_true(c[1]->done);
	assert_int_equal(c[1]->done_ns, t0 + 2 * MS);
	/* c[2] is the last message queued: 20 ms after c[1] at the latest */
	h_run_until(h, t0 + 21 * MS);
	assert_false(c[2]->done);
	h_run_until(h, t0 + 23 * MS);
	assert_true(c[2]->done);
	assert_true(c[2]->done_ns <= t0 + 22 * MS + MS / 2);
	for (int i = 0; i < 3; i++)
		h_chain_free(c[i]);
	h_free(h);
}

/*
 * The same with capture, on a clock that moves while the device works (as a
 * real one does): the guest is late, so the ring holds both periods when its
 * next message comes. The period the guard held completes; the new message
 * fills at once from the ring in the same pass, and must still wait, though
 * the completion it waits behind was stamped after the pass began.
 */
static void test_wrap_guard_same_pass(void **state)
{
	const uint32_t period = 13 * 4;
	struct harness *h = h_new("null", NULL, false);
	struct h_chain *c[3];
	uint64_t t0;

	(void)state;
	h->host.now_step = 1000;
	assert_int_equal(h_set_params(h, 1, 2 * period, period, 2, FMT, RATE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	c[0] = h_rx(h, 1, period, 0);
	c[1] = h_rx(h, 1, period, 0);
	t0 = h->host.now;
	assert_int_equal(h_pcm(h, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	h_run_until(h, t0 + 2 * MS);
	assert_true(c[0]->done);
	assert_false(c[1]->done);
	c[2] = h_rx(h, 1, period, 0);  /* the guest looked, late */
	assert_true(c[1]->done);
	assert_false(c[2]->done);      /* filled, but c[0..2] would be a whole wrap */
	h_run_until(h, c[1]->done_ns + 19 * MS);
	assert_false(c[2]->done);
	h_run_until(h, c[1]->done_ns + 21 * MS);
	assert_true(c[2]->done);
	for (int i = 0; i < 3; i++)
		h_chain_free(c[i]);
	h_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tx_refused),
		cmocka_unit_test(test_tx_held_then_paced),
		cmocka_unit_test(test_pacing_48k),
		cmocka_unit_test(test_pacing_44k1_non_integer),
		cmocka_unit_test(test_pacing_jittered),
		cmocka_unit_test(test_kicks_only_when_needed),
		cmocka_unit_test(test_stall_plays_queued),
		cmocka_unit_test(test_late_tick_takes_quiet_buffer),
		cmocka_unit_test(test_tx_waits_for_host_up_to_half_the_room),
		cmocka_unit_test(test_tx_lead_is_constant),
		cmocka_unit_test(test_release_flushes),
		cmocka_unit_test(test_release_takes_unkicked),
		cmocka_unit_test(test_stop_keeps_messages),
		cmocka_unit_test(test_rx),
		cmocka_unit_test(test_rx_not_before_start),
		cmocka_unit_test(test_queue_stop_pauses),
		cmocka_unit_test(test_reset_drops),
		cmocka_unit_test(test_xrun_event),
		cmocka_unit_test(test_wrap_guard),
		cmocka_unit_test(test_wrap_guard_same_pass),
		cmocka_unit_test(test_jack_events_backlog),
		cmocka_unit_test(test_jack_follows_host_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
