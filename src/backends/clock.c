/* SPDX-License-Identifier: MIT */
#include "clock.h"

#include <errno.h>
#include <stdlib.h>

#include "common.h"
#include "vsnd/pcm.h"

#define NS_PER_S UINT64_C(1000000000)

/* Whole periods per tick: the fewest that last at least BE_MIN_TICK_NS,
 * ceil(min_tick * rate / (period_frames * 1e9)), both sides scaled by rate
 * so nothing is rounded to frames. Both products stay below 2^63 for any
 * 32-bit rate and period. */
static uint32_t tick_periods(uint32_t rate, uint32_t period_frames)
{
	uint64_t period_scaled = (uint64_t)period_frames * NS_PER_S;
	uint64_t n = (BE_MIN_TICK_NS * rate + period_scaled - 1) / period_scaled;

	return n ? (uint32_t)n : 1;
}

/* Periods one tick may move: fewer than the guest's buffer holds. The Linux
 * driver counts its position modulo the buffer and reports elapsed periods
 * from a deferred work item, so a whole buffer completed at once (a tiny
 * buffer served several periods a tick, or a tick late by a buffer's time)
 * looks like no progress at all, and the guest's write fails with EIO. */
static uint32_t max_tick_periods(const struct vsnd_pcm_params *p)
{
	uint32_t n = p->period_bytes ? p->buffer_bytes / p->period_bytes : 0;

	return n > 2 ? n - 1 : 1;
}

int vsnd__be_clock_init(struct be_clock *c, struct vsnd_port *port)
{
	const struct vsnd_pcm_params *params = &port->params;

	*c = (struct be_clock){
		.rate = params->rate_hz,
		.frame_bytes = params->frame_bytes,
		.period_frames = params->period_bytes / params->frame_bytes,
		.format = params->format,
		.direction = params->direction,
	};
	if (c->period_frames == 0)
		c->period_frames = 1;
	c->max_periods = max_tick_periods(params);
	c->tick_periods = tick_periods(c->rate, c->period_frames);
	if (c->tick_periods > c->max_periods)
		c->tick_periods = c->max_periods; /* faster ticks, never a wrap */
	if (params->direction == VSND_DIR_OUTPUT) {
		uint64_t lead = 2ull * c->tick_periods * c->period_frames * c->frame_bytes;

		port->lead_bytes = lead > UINT32_MAX ? UINT32_MAX : (uint32_t)lead;
	}
	c->chunk = malloc((size_t)BE_CHUNK_FRAMES * c->frame_bytes);
	return c->chunk ? 0 : -ENOMEM;
}

void vsnd__be_clock_fini(struct be_clock *c)
{
	if (!c)
		return;
	free(c->chunk);
	c->chunk = NULL;
	c->running = false;
}

void vsnd__be_clock_start(struct be_clock *c, uint64_t t0)
{
	c->t0 = t0;
	c->pos = 0;
	c->in_xrun = false;
	c->running = true;
}

void vsnd__be_clock_stop(struct be_clock *c)
{
	c->running = false;
}

int vsnd__be_clock_port_new(struct vsnd_backend *be, struct vsnd_port *port, uint64_t formats,
		      size_t size, void **out)
{
	struct be_clock *c;
	int ret;

	*out = NULL;
	ret = vsnd__be_check_params(be, port, formats);
	if (ret < 0)
		return ret;
	c = calloc(1, size);
	if (!c)
		return -ENOMEM;
	ret = vsnd__be_clock_init(c, port);
	if (ret < 0) {
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int vsnd__be_clock_port_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	if (!port->priv)
		return -EBADFD;
	vsnd__be_clock_start(port->priv, now_ns);
	return 0;
}

int vsnd__be_clock_port_stop(struct vsnd_backend *be, struct vsnd_port *port)
{
	if (!port->priv)
		return -EBADFD;
	vsnd__be_clock_stop(port->priv);
	return 0;
}

/*
 * Both conversions split the operand into whole seconds (or whole rate
 * periods) and a remainder below 1e9 * 384000 < 2^59: the results equal the
 * 128-bit products exactly, without needing __int128.
 */
uint64_t vsnd__be_clock_due(const struct be_clock *c, uint64_t now)
{
	uint64_t d;

	if (c->rate == 0 || now <= c->t0)
		return 0;
	d = now - c->t0;
	return d / NS_PER_S * c->rate + d % NS_PER_S * c->rate / NS_PER_S;
}

uint64_t vsnd__be_clock_due_ceil(const struct be_clock *c, uint64_t now)
{
	uint64_t d;

	if (c->rate == 0 || now <= c->t0)
		return 0;
	d = now - c->t0;
	return d / NS_PER_S * c->rate + (d % NS_PER_S * c->rate + NS_PER_S - 1) / NS_PER_S;
}

uint64_t vsnd__be_clock_deadline(const struct be_clock *c, uint64_t n)
{
	uint64_t rem;

	if (c->rate == 0)
		return UINT64_MAX;
	rem = n % c->rate * NS_PER_S;
	return c->t0 + n / c->rate * NS_PER_S + (rem + c->rate - 1) / c->rate;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* Returns true when the ring ran short (underrun). */
static bool play_frames(struct be_clock *c, struct vsnd_port *port, const struct be_clock_io *io,
			void *ctx, uint64_t todo)
{
	bool underrun = false;

	if (!io || !io->play) {
		/* Nobody hears them (null, a pacer): used up, not copied out. */
		uint64_t want = todo * c->frame_bytes;
		size_t have = vsnd_ring_fill(&port->ring) / c->frame_bytes * c->frame_bytes;

		return vsnd_ring_skip(&port->ring, (size_t)(want < have ? want : have)) < want;
	}
	while (todo) {
		size_t n = (size_t)(todo < BE_CHUNK_FRAMES ? todo : BE_CHUNK_FRAMES);
		size_t want = n * c->frame_bytes;
		/* Whole frames only: a partial one waits for its end, so the
		 * stream never shifts against the frame grid. */
		size_t have = vsnd_ring_fill(&port->ring) / c->frame_bytes * c->frame_bytes;
		size_t got = vsnd_ring_read(&port->ring, c->chunk, min_size(have, want));

		if (got < want) {
			vsnd_pcm_silence_at(c->format, c->chunk + got, want - got, got);
			underrun = true;
		}
		io->play(ctx, c->chunk, n);
		todo -= n;
	}
	return underrun;
}

/* Returns true when frames were dropped (overrun). The source still
 * produces them: real time passed for a file or a loopback FIFO too. */
static bool capture_frames(struct be_clock *c, struct vsnd_port *port,
			   const struct be_clock_io *io, void *ctx, uint64_t todo)
{
	bool overrun = false;

	while (todo) {
		size_t n = (size_t)(todo < BE_CHUNK_FRAMES ? todo : BE_CHUNK_FRAMES);
		size_t want = n * c->frame_bytes;
		size_t space = vsnd_ring_space(&port->ring) / c->frame_bytes * c->frame_bytes;

		if (io && io->capture)
			io->capture(ctx, c->chunk, n);
		else
			vsnd_pcm_silence(c->format, c->chunk, want);
		if (vsnd_ring_write(&port->ring, c->chunk, min_size(space, want)) < want)
			overrun = true;
		todo -= n;
	}
	return overrun;
}

/*
 * A tick so late that more than max_periods became due (the host stalled
 * this thread longer than the guest's buffer lasts): move max_periods and
 * let the clock's time zero follow by the rest, as a DMA engine stopped for
 * as long would. The frames are not lost, only played that much later;
 * catching up would complete the whole buffer at once (see
 * max_tick_periods). Returns the new due position.
 */
static uint64_t slip(struct be_clock *c, uint64_t now, uint64_t due)
{
	uint64_t keep = c->pos + (uint64_t)c->max_periods * c->period_frames;

	c->t0 = vsnd__be_clock_deadline(c, due - keep);
	due = vsnd__be_clock_due(c, now);
	return due < keep ? due : keep;
}

uint64_t vsnd__be_clock_tick(struct be_clock *c, struct vsnd_port *port, const struct be_clock_io *io,
		       void *ctx, uint64_t now)
{
	uint64_t due, next;
	bool xrun;

	if (!c->running)
		return UINT64_MAX;
	due = vsnd__be_clock_due(c, now);
	if (due > c->pos + (uint64_t)c->max_periods * c->period_frames)
		due = slip(c, now, due);
	if (due > c->pos) {
		if (c->direction == VSND_DIR_OUTPUT)
			xrun = play_frames(c, port, io, ctx, due - c->pos);
		else
			xrun = capture_frames(c, port, io, ctx, due - c->pos);
		/* One count per episode: it ends at a tick that moved everything. */
		if (xrun && !c->in_xrun)
			atomic_fetch_add_explicit(&port->xruns, 1, memory_order_relaxed);
		c->in_xrun = xrun;
		atomic_fetch_add_explicit(&port->frames, due - c->pos, memory_order_relaxed);
		c->pos = due;
	}
	/* Wake at a period boundary, so no period completes early, and
	 * tick_periods boundaries on, so tiny periods are served several per
	 * tick: the first of them waits less than BE_MIN_TICK_NS. */
	next = (c->pos / c->period_frames + c->tick_periods) * c->period_frames;
	return vsnd__be_clock_deadline(c, next);
}
