/* SPDX-License-Identifier: MIT */
/*
 * loopback: output stream k (params.dir_index) feeds input stream k, like a
 * cable from a card's output to its input. Both sides are paced by
 * CLOCK_MONOTONIC through the clock helper.
 *
 * The playback tick consumes the output port's ring and pushes the frames
 * into the pair's FIFO (the input's format; about a second, bounded) when
 * the input stream is running, and drops them otherwise, as a real card
 * would. The capture tick first runs the playback side up to the same
 * instant, then pulls its frames from the FIFO (silence where it is empty).
 *
 * Delay: because the capture tick catches the playback side up first, the
 * frame played at time t is the frame captured at time t, whatever order the
 * device ticks the two streams in and whatever their periods: less than one
 * frame. Started output-first, the input's frame 0 is the output's frame
 * floor((t_in - t_out) * rate); started input-first (or the output
 * restarted), the output's frame 0 is the input's frame
 * ceil((t_out - t_in) * rate), after silence (fifo_align). Either way the
 * FIFO is never short of frames the output has played, so no silence lands
 * inside the audio and the delay cannot ratchet up (the tests measure it:
 * 0 frames). What the guest sees on top is its own buffering: a frame
 * reaches it when the RX buffer holding it is full (one capture period after
 * it was played), and the measured round trip through the whole device is
 * 0 frames of stream offset.
 *
 * Equal format, rate and channels: bit-exact copy (DSD and IEC958 too).
 * Different format or channels: converted through doubles (channel rule of
 * convert.h). Different rates: the input gets silence, said once in the log
 * per pairing (no resampler on this path).
 */
#include <errno.h>
#include <stdlib.h>

#include "be_opts.h"
#include "clock.h"
#include "common.h"
#include "convert.h"
#include "vsnd/pcm.h"

enum loop_route { ROUTE_MUTE, ROUTE_RAW, ROUTE_CONVERT };

struct loop_port {
	struct be_clock clock;      /* first: vsnd__be_clock_port_start/stop */
	struct vsnd_port *port;
	unsigned int index;         /* params.dir_index at open() */
};

struct loop_pair {
	struct loop_port *out, *in;
	struct vsnd_ring fifo;      /* input frames; allocated while the input is open */
	enum loop_route route;
	struct be_convert cv;       /* ROUTE_CONVERT: output -> input */
	uint8_t *cv_buf;            /* BE_CHUNK_FRAMES input frames */
};

struct loop_be {
	struct vsnd_backend base;   /* first: vsnd__be_create_plain */
	struct loop_pair pairs[VSND_MAX_STREAMS];
};

static struct loop_be *to_loop(struct vsnd_backend *be)
{
	return container_of(be, struct loop_be, base);
}

static struct loop_pair *pair_of(struct vsnd_backend *be, const struct loop_port *lp)
{
	return &to_loop(be)->pairs[lp->index];
}

static struct loop_port **slot_of(struct loop_pair *pair, const struct loop_port *lp)
{
	return lp->clock.direction == VSND_DIR_OUTPUT ? &pair->out : &pair->in;
}

/* ---- data path ---- */

static size_t whole_frames(size_t bytes, uint32_t frame_bytes)
{
	return bytes / frame_bytes * frame_bytes;
}

static void loop_play(void *ctx, const uint8_t *buf, size_t frames)
{
	struct loop_pair *pair = ctx;
	size_t want, space;

	if (!pair->in || !pair->in->clock.running || pair->route == ROUTE_MUTE)
		return;
	if (pair->route == ROUTE_CONVERT) {
		vsnd__be_convert_raw(&pair->cv, buf, pair->cv_buf, frames);
		buf = pair->cv_buf;
	}
	/* A full FIFO drops the rest: only possible when the input's ticks
	 * stopped coming, and then nobody hears it. */
	want = frames * pair->in->clock.frame_bytes;
	space = whole_frames(vsnd_ring_space(&pair->fifo), pair->in->clock.frame_bytes);
	vsnd_ring_write(&pair->fifo, buf, space < want ? space : want);
}

static void loop_capture(void *ctx, uint8_t *buf, size_t frames)
{
	struct loop_pair *pair = ctx;
	uint32_t fb = pair->in->clock.frame_bytes;
	size_t want = frames * fb;
	size_t have = whole_frames(vsnd_ring_fill(&pair->fifo), fb);
	size_t got = vsnd_ring_read(&pair->fifo, buf, have < want ? have : want);

	vsnd_pcm_silence(pair->in->clock.format, buf + got, want - got);
}

static const struct be_clock_io loop_io = { loop_play, loop_capture };

/* Run the output side up to now (its frames go to the FIFO or are dropped). */
static void catch_up_output(struct loop_pair *pair, uint64_t now)
{
	if (pair->out && pair->out->clock.running)
		vsnd__be_clock_tick(&pair->out->clock, pair->out->port, &loop_io, pair, now);
}

static uint64_t loop_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	struct loop_port *lp = port->priv;
	struct loop_pair *pair;

	if (!lp)
		return UINT64_MAX;
	pair = pair_of(be, lp);
	if (lp->clock.direction == VSND_DIR_INPUT)
		catch_up_output(pair, now_ns);
	return vsnd__be_clock_tick(&lp->clock, port, &loop_io, pair, now_ns);
}

/* ---- pairing ---- */

static void route_clear(struct loop_pair *pair)
{
	vsnd__be_convert_fini(&pair->cv);
	free(pair->cv_buf);
	pair->cv_buf = NULL;
	pair->route = ROUTE_MUTE;
}

/* Decide how output frames reach the input once both are open. */
static void route_update(struct vsnd_backend *be, struct loop_pair *pair)
{
	const struct vsnd_pcm_params *o, *i;

	route_clear(pair);
	if (!pair->out || !pair->in)
		return;
	o = &pair->out->port->params;
	i = &pair->in->port->params;
	if (o->rate_hz != i->rate_hz) {
		vsnd_backend_log(be, VSND_LOG_WARN,
				 "loopback: pair %u: output at %u Hz, input at %u Hz: the input "
				 "gets silence (no rate conversion)", o->dir_index, o->rate_hz,
				 i->rate_hz);
		return;
	}
	if (o->format == i->format && o->channels == i->channels) {
		pair->route = ROUTE_RAW;
		return;
	}
	pair->cv_buf = malloc((size_t)BE_CHUNK_FRAMES * i->frame_bytes);
	if (!pair->cv_buf ||
	    vsnd__be_convert_init(&pair->cv, o->format, o->channels, i->format, i->channels,
			    BE_CHUNK_FRAMES) < 0) {
		vsnd_backend_log(be, VSND_LOG_WARN,
				 "loopback: pair %u: cannot convert format %u to %u: the input "
				 "gets silence", o->dir_index, o->format, i->format);
		route_clear(pair);
		return;
	}
	pair->route = ROUTE_CONVERT;
}

static void port_free(struct loop_port *lp)
{
	if (!lp)
		return;
	vsnd__be_clock_fini(&lp->clock);
	free(lp);
}

static void loop_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct loop_port *lp = port->priv;
	struct loop_pair *pair;

	if (!lp)
		return;
	pair = pair_of(be, lp);
	*slot_of(pair, lp) = NULL;
	if (lp->clock.direction == VSND_DIR_INPUT)
		vsnd_ring_fini(&pair->fifo);
	route_update(be, pair);
	port_free(lp);
	port->priv = NULL;
}

/* About a second of input frames, at least two periods. */
static int fifo_init(struct loop_pair *pair, const struct vsnd_pcm_params *p)
{
	size_t bytes = (size_t)p->rate_hz * p->frame_bytes;

	if (bytes < 2 * (size_t)p->period_bytes)
		bytes = 2 * (size_t)p->period_bytes;
	if (bytes > (size_t)1 << 30)
		bytes = (size_t)1 << 30;
	return vsnd_ring_init(&pair->fifo, bytes);
}

static int port_attach(struct vsnd_backend *be, struct vsnd_port *port, struct loop_port *lp)
{
	struct loop_pair *pair = pair_of(be, lp);
	struct loop_port **slot = slot_of(pair, lp);
	int ret;

	if (*slot) {
		vsnd_backend_log(be, VSND_LOG_ERROR, "loopback: two %s streams with index %u",
				 port->params.direction == VSND_DIR_OUTPUT ? "output" : "input",
				 port->params.dir_index);
		return -EBUSY;
	}
	if (port->params.direction == VSND_DIR_INPUT) {
		ret = fifo_init(pair, &port->params);
		if (ret < 0)
			return ret;
	}
	*slot = lp;
	route_update(be, pair);
	return 0;
}

static int loop_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct loop_port *lp;
	void *priv;
	int ret;

	loop_close(be, port);
	if (port->params.dir_index >= VSND_MAX_STREAMS ||
	    port->params.direction > VSND_DIR_INPUT)
		return -EINVAL;
	ret = vsnd__be_clock_port_new(be, port, vsnd__be_formats_bytewise(), sizeof(*lp), &priv);
	if (ret < 0)
		return ret;
	lp = priv;
	lp->port = port;
	lp->index = port->params.dir_index;
	ret = port_attach(be, port, lp);
	if (ret < 0) {
		port_free(lp);
		return ret;
	}
	port->priv = lp;
	return 0;
}

/*
 * The output starts while the input runs: the input has heard nothing since
 * its last tick, up to now. Queue that silence first, so that the output's
 * first frame lands on the input's first frame at or after this instant
 * (ceil: the capture tick then never finds the FIFO short of the output's
 * frames, which would put silence after them, inside the audio).
 */
static void fifo_align(struct loop_pair *pair, uint64_t now)
{
	struct be_clock *in = &pair->in->clock;
	uint64_t target = vsnd__be_clock_due_ceil(in, now);
	uint64_t queued = in->pos + vsnd_ring_fill(&pair->fifo) / in->frame_bytes;

	while (target > queued) {
		size_t n = (size_t)(target - queued < BE_CHUNK_FRAMES ? target - queued :
									 BE_CHUNK_FRAMES);
		size_t bytes = n * in->frame_bytes;

		vsnd_pcm_silence(in->format, in->chunk, bytes);
		if (vsnd_ring_write(&pair->fifo, in->chunk, bytes) < bytes)
			break; /* FIFO full: cannot happen while the input ticks */
		queued += n;
	}
}

static int loop_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	struct loop_port *lp = port->priv;
	struct loop_pair *pair;

	if (!lp)
		return -EBADFD;
	pair = pair_of(be, lp);
	if (lp->clock.direction == VSND_DIR_INPUT) {
		/* What was played before this instant is not heard. */
		catch_up_output(pair, now_ns);
		vsnd_ring_reset(&pair->fifo);
	} else if (pair->in && pair->in->clock.running) {
		fifo_align(pair, now_ns);
	}
	return vsnd__be_clock_port_start(be, port, now_ns);
}

/* ---- instance ---- */

static void loop_destroy(struct vsnd_backend *be)
{
	struct loop_be *lb;

	if (!be)
		return;
	lb = to_loop(be);
	for (size_t k = 0; k < VSND_MAX_STREAMS; k++) {
		struct loop_pair *pair = &lb->pairs[k];

		route_clear(pair);
		vsnd_ring_fini(&pair->fifo);
		port_free(pair->out);
		port_free(pair->in);
	}
	free(lb);
}

static int loop_create(struct vsnd_backend **out, const char *opts,
		       const struct vsnd_backend_env *env)
{
	return vsnd__be_create_plain(out, sizeof(struct loop_be), &vsnd_backend_loopback, opts, env);
}

const struct vsnd_backend_ops vsnd_backend_loopback = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "loopback",
	.help = "(no options)",
	.create = loop_create,
	.destroy = loop_destroy,
	.caps = vsnd__be_caps_bytewise,
	.open = loop_open,
	.start = loop_start,
	.stop = vsnd__be_clock_port_stop,
	.close = loop_close,
	.tick = loop_tick,
};
