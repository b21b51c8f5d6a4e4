/* SPDX-License-Identifier: MIT */
/*
 * Real-time pacing for the clocked backends (null, file, loopback).
 *
 * The stream position is derived from CLOCK_MONOTONIC and the start time
 * only: frames due at `now` = floor((now - t0) * rate / 1e9), and frame n is
 * due at t0 + ceil(n * 1e9 / rate). Nothing is accumulated, so a 44.1 kHz
 * stream with 512-frame periods has exactly 44100 frames due after one
 * second, whatever the tick times were (crosvm drifted 6.67 % by sleeping
 * rounded milliseconds).
 *
 * vsnd__be_clock_tick() moves the frames due between the ring and the backend's
 * io callbacks, with the underrun/overrun rules of backend.h. Device thread.
 */
#ifndef VSND_BACKENDS_CLOCK_H
#define VSND_BACKENDS_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsnd/backend.h"

/* Frames per chunk handed to the io callbacks (bounds the per-port buffers). */
#define BE_CHUNK_FRAMES 1024u

/*
 * The shortest time between two ticks of a stream, ns. A guest may ask for
 * one-frame periods (2.6 us at 384 kHz); a wake-up per period would let it
 * keep a host core busy. 1 ms bounds a stream to about 1000 wake-ups a
 * second (one-frame periods at 384 kHz: under 2 % of a core, against 18 %
 * waking per period), and streams with periods of 1 ms or more keep one
 * tick per period, on the same grid. Shorter periods are served several per
 * tick, each at most this much late.
 */
#define BE_MIN_TICK_NS UINT64_C(1000000)

/* What a backend does with the frames its clock moves. ctx is the tick's. */
struct be_clock_io {
	/* Playback: the frames consumed, ring data padded with silence where
	 * the ring ran short. NULL discards. */
	void (*play)(void *ctx, const uint8_t *buf, size_t frames);
	/* Capture: produce frames (whole frames in the stream's format); NULL
	 * produces silence. Frames that do not fit the ring are dropped after. */
	void (*capture)(void *ctx, uint8_t *buf, size_t frames);
};

struct be_clock {
	uint64_t t0;            /* start time, ns */
	uint64_t pos;           /* frames moved since t0 */
	uint32_t rate;
	uint32_t frame_bytes;
	uint32_t period_frames;
	uint32_t tick_periods;  /* periods served per tick (1 unless periods < 1 ms) */
	uint32_t max_periods;   /* periods a tick may move: fewer than the buffer */
	uint8_t format;
	uint8_t direction;
	bool running;
	bool in_xrun;           /* inside an underrun/overrun episode */
	uint8_t *chunk;         /* BE_CHUNK_FRAMES frames */
};

/*
 * Set up from port->params (already checked with vsnd__be_check_params), and ask
 * the device for two ticks of playback lead: a tick that wakes late moves
 * the frames due at that later instant, more than a tick's worth, and the
 * device only tops the ring up to lead_bytes after each tick. Two ticks
 * absorb wake-ups up to a tick late without an underrun. A tick is one
 * period, or the whole periods that make up 1 ms when periods are shorter.
 * 0 or -ENOMEM.
 */
int vsnd__be_clock_init(struct be_clock *c, struct vsnd_port *port);
/* Free the buffer. NULL-safe; idempotent. */
void vsnd__be_clock_fini(struct be_clock *c);
/* Time zero is t0: position 0, running. */
void vsnd__be_clock_start(struct be_clock *c, uint64_t t0);
void vsnd__be_clock_stop(struct be_clock *c);

/* Frames due at now since the start (0 before it). */
uint64_t vsnd__be_clock_due(const struct be_clock *c, uint64_t now);
/* ceil((now - t0) * rate / 1e9): the first frame starting at or after now. */
uint64_t vsnd__be_clock_due_ceil(const struct be_clock *c, uint64_t now);
/* Absolute time at which frame count n is due: t0 + ceil(n * 1e9 / rate). */
uint64_t vsnd__be_clock_deadline(const struct be_clock *c, uint64_t n);

/*
 * For open(): check port->params against formats (vsnd__be_check_params), then
 * allocate `size` zeroed bytes, a struct that begins with its struct
 * be_clock, and init that clock. The caller sets port->priv. Returns 0,
 * -EINVAL, -ENOTSUP or -ENOMEM.
 */
int vsnd__be_clock_port_new(struct vsnd_backend *be, struct vsnd_port *port, uint64_t formats,
		      size_t size, void **out);

/*
 * The start/stop ops of a clocked backend whose port->priv points to a
 * struct that begins with its struct be_clock. -EBADFD when not open.
 */
int vsnd__be_clock_port_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
int vsnd__be_clock_port_stop(struct vsnd_backend *be, struct vsnd_port *port);

/*
 * Move the frames due at now (chunks of BE_CHUNK_FRAMES) and return when to
 * tick next, or UINT64_MAX when stopped: the deadline of the next period
 * boundary, or with periods under 1 ms of the last boundary that keeps the
 * first period due after now less than 1 ms late (several periods a tick,
 * about one tick a ms). Playback: read whole frames from port->ring, pad
 * with silence, port->xruns += 1 per underrun episode. Capture: write into
 * port->ring, drop what does not fit, port->xruns += 1 per overrun episode.
 * Both add the frames the clock advanced to port->frames. A tick never
 * moves a whole guest buffer: periods are served fewer than the buffer's
 * per tick, and a tick later than that moves time zero (see slip()).
 */
uint64_t vsnd__be_clock_tick(struct be_clock *c, struct vsnd_port *port, const struct be_clock_io *io,
		       void *ctx, uint64_t now);

#endif
