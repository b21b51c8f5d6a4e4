/* SPDX-License-Identifier: MIT */
/* Helpers for the backend tests: ports driven by hand with a fake clock
 * (the log sink is fakehost's fh_log_env()). */
#ifndef VSND_TESTS_BE_TEST_H
#define VSND_TESTS_BE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "fakehost.h"
#include "samples.h"
#include "scratch.h"
#include "vsnd/backend.h"

/* A port with the ring the device would give it (4 periods of buffer, ring
 * of twice that). */
void bt_port_init(struct vsnd_port *port, uint8_t direction, unsigned int dir_index,
		  unsigned int stream_id, uint8_t format, uint8_t channels, uint32_t rate,
		  uint32_t period_frames);
/* A port as the device sets it up for a buffer of buffer_frames: a ring of
 * the buffer plus one period (src/core/pcm.c). */
void bt_port_init_buf(struct vsnd_port *port, uint8_t direction, uint8_t format,
		      uint8_t channels, uint32_t rate, uint32_t period_frames,
		      uint32_t buffer_frames);
void bt_port_fini(struct vsnd_port *port);

/* What bt_pace_play() saw. */
struct bt_pace {
	uint64_t wakes;      /* ticks, the first one at t0 included */
	uint64_t min_gap;    /* shortest time between two ticks, ns (the last one excepted) */
	uint64_t max_late;   /* longest a period waited after its end to complete, ns */
};

/*
 * Play frames of data through an open playback port like the device does:
 * top the ring up to lead_bytes, start at t0, tick at once, then at each
 * deadline the backend returns plus up to max_jitter ns (reproducible), the
 * ring topped up after every tick, the last tick when the last frame is
 * due. Checks after every tick that exactly the frames due have moved
 * (none early). Does not stop the port.
 */
void bt_pace_play(struct vsnd_backend *be, struct vsnd_port *port, uint64_t t0,
		  const uint8_t *data, size_t frames, uint64_t max_jitter, struct bt_pace *out);

/* Time at which frame count n of a stream started at t0 is due. */
uint64_t bt_deadline(uint64_t t0, uint32_t rate, uint64_t n);

#endif
