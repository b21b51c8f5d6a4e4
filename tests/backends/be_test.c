/* SPDX-License-Identifier: MIT */
#include "be_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

static void port_params(struct vsnd_port *port, uint8_t direction, unsigned int dir_index,
			unsigned int stream_id, uint8_t format, uint8_t channels, uint32_t rate,
			uint32_t period_frames, uint32_t buffer_frames)
{
	uint32_t fb = channels * vsnd_pcm_sample_bytes(format);

	memset(port, 0, sizeof(*port));
	port->params = (struct vsnd_pcm_params){
		.stream_id = stream_id,
		.dir_index = dir_index,
		.direction = direction,
		.format = format,
		.channels = channels,
		.rate_hz = rate,
		.frame_bytes = fb,
		.period_bytes = period_frames * fb,
		.buffer_bytes = buffer_frames * fb,
	};
	port->lead_bytes = port->params.period_bytes;
}

void bt_port_init(struct vsnd_port *port, uint8_t direction, unsigned int dir_index,
		  unsigned int stream_id, uint8_t format, uint8_t channels, uint32_t rate,
		  uint32_t period_frames)
{
	port_params(port, direction, dir_index, stream_id, format, channels, rate, period_frames,
		    4 * period_frames);
	assert_int_equal(vsnd_ring_init(&port->ring, 2 * (size_t)port->params.buffer_bytes), 0);
}

void bt_port_init_buf(struct vsnd_port *port, uint8_t direction, uint8_t format,
		      uint8_t channels, uint32_t rate, uint32_t period_frames,
		      uint32_t buffer_frames)
{
	port_params(port, direction, 0, 0, format, channels, rate, period_frames, buffer_frames);
	assert_int_equal(vsnd_ring_init(&port->ring, (size_t)port->params.buffer_bytes +
							     port->params.period_bytes),
			 0);
}

void bt_port_fini(struct vsnd_port *port)
{
	vsnd_ring_fini(&port->ring);
}

uint64_t bt_deadline(uint64_t t0, uint32_t rate, uint64_t n)
{
	unsigned __int128 ns = (unsigned __int128)n * 1000000000u;

	return t0 + (uint64_t)((ns + rate - 1) / rate);
}

/* The device's vsnd__io_prefill(): the ring holds lead_bytes when data remains. */
static void top_up(struct vsnd_port *port, const uint8_t *data, size_t *done, size_t frames)
{
	uint32_t fb = port->params.frame_bytes;
	size_t fill = vsnd_ring_fill(&port->ring), n;

	if (fill >= port->lead_bytes)
		return;
	n = (port->lead_bytes - fill) / fb;
	if (n > frames - *done)
		n = frames - *done;
	assert_int_equal(vsnd_ring_write(&port->ring, data + *done * fb, n * fb), n * fb);
	*done += n;
}

static uint64_t frames_due(uint64_t t0, uint32_t rate, uint64_t now)
{
	return now <= t0 ? 0 : (uint64_t)((unsigned __int128)(now - t0) * rate / 1000000000u);
}

/* How late the oldest period completed by a tick at now is (0 if none). */
static uint64_t late_of(const struct vsnd_port *port, uint64_t t0, uint64_t before, uint64_t now)
{
	uint32_t period = port->params.period_bytes / port->params.frame_bytes;
	uint64_t first = (before / period + 1) * period;

	if (atomic_load(&port->frames) < first)
		return 0;
	return now - bt_deadline(t0, port->params.rate_hz, first);
}

void bt_pace_play(struct vsnd_backend *be, struct vsnd_port *port, uint64_t t0,
		  const uint8_t *data, size_t frames, uint64_t max_jitter, struct bt_pace *out)
{
	uint32_t rate = port->params.rate_hz, seed = 12345;
	uint64_t end = bt_deadline(t0, rate, frames), now = t0, next, prev = 0;
	size_t done = 0;

	*out = (struct bt_pace){ .min_gap = UINT64_MAX };
	top_up(port, data, &done, frames);
	assert_int_equal(be->ops->start(be, port, t0), 0);
	for (;;) {
		uint64_t before = atomic_load(&port->frames), late;

		next = be->ops->tick(be, port, now);
		out->wakes++;
		assert_int_equal(atomic_load(&port->frames), frames_due(t0, rate, now));
		late = late_of(port, t0, before, now);
		if (late > out->max_late)
			out->max_late = late;
		top_up(port, data, &done, frames);
		if (now >= end)
			break;
		assert_true(next > now);
		prev = now;
		now = next + (max_jitter ? samples_xorshift(&seed) % (max_jitter + 1) : 0);
		if (now >= end)
			now = end;
		else if (now - prev < out->min_gap)
			out->min_gap = now - prev;
	}
	assert_int_equal(atomic_load(&port->frames), frames);
}
