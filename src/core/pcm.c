/* SPDX-License-Identifier: MIT */
/*
 * PCM control requests and the stream state machine (5.14.6.6).
 *
 * The state machine is the table below: every (request, state) pair is
 * either a transition, a lenient no-op, or invalid. An invalid request is
 * answered BAD_MSG and changes nothing. Lenient cases are where Linux needs
 * them: RELEASE on a stream that holds nothing (after a device reset or
 * before any PREPARE), SET_PARAMS/PREPARE repeated.
 */
#include <errno.h>
#include <string.h>

#include "dev.h"
#include "util/iov.h"
#include "vsnd/pcm.h"

enum pcm_req { REQ_SET_PARAMS, REQ_PREPARE, REQ_RELEASE, REQ_START, REQ_STOP, REQ_COUNT };

#define T_BAD 0xff  /* invalid: BAD_MSG, no change */
#define T_NOP 0xfe  /* accepted, nothing to do */

static const uint8_t transitions[REQ_COUNT][PCM_NUM_STATES] = {
	/*                 INITIAL     PARAMS        PREPARED      STARTED      STOPPED       RELEASED */
	[REQ_SET_PARAMS] = { VSND_STATE_PARAMS, VSND_STATE_PARAMS,   VSND_STATE_PARAMS,   T_BAD,       T_BAD,        VSND_STATE_PARAMS },
	[REQ_PREPARE]    = { T_BAD,      VSND_STATE_PREPARED, VSND_STATE_PREPARED, T_BAD,       T_BAD,        VSND_STATE_PREPARED },
	[REQ_RELEASE]    = { T_NOP,      T_NOP,        VSND_STATE_RELEASED, T_BAD,       VSND_STATE_RELEASED, T_NOP },
	[REQ_START]      = { T_BAD,      T_BAD,        VSND_STATE_STARTED,  T_BAD,       VSND_STATE_STARTED,  T_BAD },
	[REQ_STOP]       = { T_BAD,      T_BAD,        T_BAD,        VSND_STATE_STOPPED, T_BAD,        T_BAD },
};

static const char *const state_names[PCM_NUM_STATES] = {
	"initial", "params", "prepared", "started", "stopped", "released",
};

const char *vsnd_stream_state_name(enum vsnd_stream_state st)
{
	return st < PCM_NUM_STATES ? state_names[st] : "?";
}

static struct pcm_stream *stream_get(struct vsnd_dev *dev, const uint8_t *req, size_t len)
{
	uint32_t id;

	if (len < VIRTIO_SND_PCM_HDR_SIZE)
		return NULL;
	id = vsnd_le32(req + 4);
	return id < dev->layout.n_streams ? &dev->streams[id] : NULL;
}

/* The stream is now in `state`: counted (vsnd_stream_status.entered) and
 * traced (vsnd_dev_set_state_trace). */
static void enter_state(struct vsnd_dev *dev, struct pcm_stream *s, enum vsnd_stream_state state)
{
	s->state = state;
	s->entered[state]++;
	if (dev->state_trace)
		dev->state_trace(dev->state_trace_opaque, s->id, vsnd__dev_now(dev), state);
}

/* Close the host stream. push=false drops held messages without giving
 * them back: only for when the rings are gone (reset, teardown). */
static void stream_close(struct vsnd_dev *dev, struct pcm_stream *s, bool push)
{
	if (!s->open)
		return;
	if (push)
		vsnd__io_flush(dev, s);
	else
		vsnd__io_drop(dev, s);
	if (s->state == VSND_STATE_STARTED && !s->transport_paused)
		dev->backend->ops->stop(dev->backend, &s->port);
	dev->backend->ops->close(dev->backend, &s->port);
	vsnd__jack_forget(dev, s);
	vsnd_ring_fini(&s->port.ring);
	s->open = false;
	s->transport_paused = false;
}

void vsnd__pcm_close(struct vsnd_dev *dev, struct pcm_stream *s)
{
	stream_close(dev, s, false);
}

void vsnd__pcm_reset_all(struct vsnd_dev *dev)
{
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		stream_close(dev, s, false);
		enter_state(dev, s, VSND_STATE_INITIAL);
	}
}

/* ---- SET_PARAMS ---- */

struct pcm_params_req {
	uint32_t buffer_bytes, period_bytes, features;
	uint8_t channels, format, rate;
};

static uint32_t params_validate(struct vsnd_dev *dev, const struct pcm_stream *s,
				const struct pcm_params_req *p)
{
	const struct vsnd_stream_desc *d = &s->desc;
	uint32_t frame;

	if (p->features & ~(1u << VIRTIO_SND_PCM_F_EVT_XRUNS))
		return VIRTIO_SND_S_NOT_SUPP;
	if (p->format >= 64 || !(d->formats >> p->format & 1) || p->rate >= 64 ||
	    !(d->rates >> p->rate & 1) || p->channels < d->channels_min ||
	    p->channels > d->channels_max)
		return VIRTIO_SND_S_NOT_SUPP;
	frame = p->channels * vsnd_pcm_sample_bytes(p->format);
	if (p->period_bytes == 0 || p->buffer_bytes % p->period_bytes != 0 ||
	    p->period_bytes % frame != 0)
		return VIRTIO_SND_S_BAD_MSG;
	if (p->buffer_bytes > VSND_MAX_BUFFER_BYTES) {
		vsnd__dev_warn_guest(dev, "stream %u: buffer of %u bytes exceeds the %u limit", s->id,
			       p->buffer_bytes, VSND_MAX_BUFFER_BYTES);
		return VIRTIO_SND_S_NOT_SUPP;
	}
	return VIRTIO_SND_S_OK;
}

static bool params_same(const struct pcm_stream *s, const struct pcm_params_req *p)
{
	return s->buffer_bytes == p->buffer_bytes && s->period_bytes == p->period_bytes &&
	       s->features == p->features && s->channels == p->channels &&
	       s->format == p->format && s->rate == p->rate;
}

uint32_t vsnd__pcm_set_params(struct vsnd_dev *dev, const uint8_t *req, size_t len)
{
	struct pcm_stream *s = stream_get(dev, req, len);
	struct pcm_params_req p;
	uint32_t status;

	if (!s || len < VIRTIO_SND_PCM_SET_PARAMS_SIZE)
		return VIRTIO_SND_S_BAD_MSG;
	if (transitions[REQ_SET_PARAMS][s->state] == T_BAD)
		return VIRTIO_SND_S_BAD_MSG;
	p = (struct pcm_params_req){
		.buffer_bytes = vsnd_le32(req + 8),
		.period_bytes = vsnd_le32(req + 12),
		.features = vsnd_le32(req + 16),
		.channels = req[20],
		.format = req[21],
		.rate = req[22],
	};
	status = params_validate(dev, s, &p);
	if (status != VIRTIO_SND_S_OK) {
		vsnd__dev_warn_guest(dev, "stream %u: SET_PARAMS refused (fmt %u rate %u ch %u buf %u per %u feat 0x%x)",
			       s->id, p.format, p.rate, p.channels, p.buffer_bytes, p.period_bytes,
			       p.features);
		return status;
	}
	/* sox and ALSA repeat SET_PARAMS; with nothing changed, keep the host
	 * stream (and its output file) as it is. */
	if (s->state == VSND_STATE_PREPARED && params_same(s, &p))
		return VIRTIO_SND_S_OK;
	stream_close(dev, s, true);
	s->buffer_bytes = p.buffer_bytes;
	s->period_bytes = p.period_bytes;
	s->features = p.features;
	s->channels = p.channels;
	s->format = p.format;
	s->rate = p.rate;
	enter_state(dev, s, VSND_STATE_PARAMS);
	return VIRTIO_SND_S_OK;
}

/* ---- PREPARE / RELEASE / START / STOP ---- */

static void port_setup(struct vsnd_dev *dev, struct pcm_stream *s)
{
	struct vsnd_pcm_params *pp = &s->port.params;
	unsigned int dir_index = 0;

	for (unsigned int i = 0; i < s->id; i++)
		if (dev->streams[i].desc.direction == s->desc.direction)
			dir_index++;
	*pp = (struct vsnd_pcm_params){
		.stream_id = s->id,
		.dir_index = dir_index,
		.direction = s->desc.direction,
		.format = s->format,
		.channels = s->channels,
		.rate_hz = vsnd_pcm_rate_hz(s->rate),
		.frame_bytes = s->channels * vsnd_pcm_sample_bytes(s->format),
		.period_bytes = s->period_bytes,
		.buffer_bytes = s->buffer_bytes,
	};
	s->port.wake = dev->host->wake;
	s->port.wake_opaque = dev->host_opaque;
	s->port.lead_bytes = s->period_bytes;
	s->port.priv = NULL;
	atomic_store(&s->port.xruns, 0);
	atomic_store(&s->port.host_present, -1);
	s->host_present_seen = -1;
	atomic_store(&s->port.frames, 0);
	s->xruns_seen = 0;
	s->completed = 0;
}

static int stream_open(struct vsnd_dev *dev, struct pcm_stream *s)
{
	int err;

	port_setup(dev, s);
	/* The spec wants any intermediate buffer to hold buffer_bytes; one
	 * more period leaves room for the consumer's quantum. */
	err = vsnd_ring_init(&s->port.ring, (size_t)s->buffer_bytes + s->period_bytes);
	if (err)
		return err;
	err = dev->backend->ops->open(dev->backend, &s->port);
	if (err) {
		vsnd_ring_fini(&s->port.ring);
		vsnd__dev_log(dev, VSND_LOG_ERROR, "stream %u: backend %s could not open: %s", s->id,
			dev->backend->ops->name, strerror(-err));
		return err;
	}
	/* A backend may ask for more lead; the ring must still hold it, in
	 * whole frames so every copy stays frame-aligned. */
	if (s->port.lead_bytes > s->port.ring.cap / 2)
		s->port.lead_bytes = (uint32_t)(s->port.ring.cap / 2);
	s->port.lead_bytes -= s->port.lead_bytes % s->port.params.frame_bytes;
	if (s->port.lead_bytes == 0)
		s->port.lead_bytes = s->port.params.frame_bytes;
	s->open = true;
	return 0;
}

static int do_prepare(struct vsnd_dev *dev, struct pcm_stream *s)
{
	if (s->open) {
		/* Already open with these parameters: start over clean. */
		vsnd__io_flush(dev, s);
		vsnd_ring_reset(&s->port.ring);
		return 0;
	}
	return stream_open(dev, s);
}

static int do_start(struct vsnd_dev *dev, struct pcm_stream *s)
{
	int err;

	s->transport_paused = false;
	if (s->desc.direction == VSND_DIR_OUTPUT)
		vsnd__io_prefill(dev, s);
	s->start_ns = vsnd__dev_now(dev);
	s->rx_since_start = 0;
	s->tx_lead = 0;
	err = dev->backend->ops->start(dev->backend, &s->port, s->start_ns);
	if (err) {
		vsnd__dev_log(dev, VSND_LOG_ERROR, "stream %u: backend could not start: %s", s->id,
			strerror(-err));
		return err;
	}
	/* Clocked backends tick at once (0 frames due) to learn their first
	 * deadline. */
	s->next_deadline = 0;
	return 0;
}

static int do_transition(struct vsnd_dev *dev, struct pcm_stream *s, enum pcm_req r)
{
	switch (r) {
	case REQ_PREPARE:
		return do_prepare(dev, s);
	case REQ_RELEASE:
		/* Messages the driver made available before RELEASE are pending
		 * even if their queue's kick has not been handled yet (queues
		 * are served in any order): take them now, so all come back
		 * before the RELEASE answer (5.14.6.6.5). */
		if (!dev->qstopped[vsnd__io_queue_index(s)])
			vsnd__io_pop_queue(dev, vsnd__io_queue_index(s));
		stream_close(dev, s, true);
		return 0;
	case REQ_START:
		return do_start(dev, s);
	case REQ_STOP:
		if (!s->transport_paused)
			dev->backend->ops->stop(dev->backend, &s->port);
		s->transport_paused = false;
		return 0;
	default:
		return -EINVAL;
	}
}

uint32_t vsnd__pcm_simple_request(struct vsnd_dev *dev, uint32_t code, const uint8_t *req, size_t len)
{
	struct pcm_stream *s = stream_get(dev, req, len);
	enum pcm_req r = (enum pcm_req)(code - VIRTIO_SND_R_PCM_SET_PARAMS);
	uint8_t next;
	int err;

	if (!s) {
		vsnd__dev_warn_guest(dev, "PCM request 0x%04x: bad stream id or short request", code);
		return VIRTIO_SND_S_BAD_MSG;
	}
	next = transitions[r][s->state];
	if (next == T_BAD) {
		vsnd__dev_warn_guest(dev, "stream %u: request 0x%04x invalid in state %s", s->id, code,
			       vsnd_stream_state_name(s->state));
		return VIRTIO_SND_S_BAD_MSG;
	}
	if (next == T_NOP)
		return VIRTIO_SND_S_OK;
	err = do_transition(dev, s, r);
	if (err)
		return vsnd__status_from_errno(err);
	enter_state(dev, s, next);
	return VIRTIO_SND_S_OK;
}

/* ---- status ---- */

void vsnd__pcm_status(const struct vsnd_dev *dev, const struct pcm_stream *s,
		      struct vsnd_stream_status *st)
{
	st->id = s->id;
	st->direction = s->desc.direction;
	st->state = s->state;
	if (s->state != VSND_STATE_INITIAL) {
		st->format = s->format;
		st->channels = s->channels;
		st->rate_hz = vsnd_pcm_rate_hz(s->rate);
		st->buffer_bytes = s->buffer_bytes;
		st->period_bytes = s->period_bytes;
	}
	if (s->open) {
		st->frames = atomic_load(&s->port.frames);
		st->xruns = atomic_load(&s->port.xruns);
		st->latency_bytes = vsnd__io_latency_bytes(dev, s);
	}
	st->held = s->held.count;
	st->volume = s->volume;
	st->muted = s->muted;
	st->completed = s->completed;
	memcpy(st->entered, s->entered, sizeof(st->entered));
}
