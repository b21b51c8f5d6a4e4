/* SPDX-License-Identifier: MIT */
/*
 * pipewire: one pw_thread_loop, context and core per backend instance,
 * shared by all the guest's streams (srv.c holds the connect/retry logic),
 * each guest stream a pw_stream. The stream's process callback runs on
 * PipeWire's data thread (PW_STREAM_FLAG_RT_PROCESS) and only moves ring
 * data through be_rt; stream states and core errors arrive on the thread
 * loop. Nothing here waits for the server: the core connects when the
 * backend is created, a stream is made when the guest prepares one, and
 * until the server carries it the device paces it.
 *
 * The guest's format, rate and channels are given to the stream; PipeWire's
 * adapter converts to the sink's. A stream that is not streaming (no server,
 * the server gone, its target gone) is paced by the device as silence in
 * real time, and the backend reconnects every second.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PipeWire's headers come with -I, not -isystem: keep our warnings to ours. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wpedantic"
#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>
#include <spa/pod/builder.h>
#pragma GCC diagnostic pop

#include "common.h"
#include "be_opts.h"
#include "rt.h"
#include "srv.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_pipewire;

struct pipewire_cfg {
	char *target;
	char *source;    /* capture streams' target, if not target */
	char *name;
	unsigned int latency_ms;
	bool monitor;
};

static const struct be_opt pipewire_opts[] = {
	{ "target", BE_OPT_STR, offsetof(struct pipewire_cfg, target), 0, 0 },
	{ "source", BE_OPT_STR, offsetof(struct pipewire_cfg, source), 0, 0 },
	{ "name", BE_OPT_STR, offsetof(struct pipewire_cfg, name), 0, 0 },
	{ "latency_ms", BE_OPT_UINT, offsetof(struct pipewire_cfg, latency_ms), 1, 2000 },
	{ "monitor", BE_OPT_BOOL, offsetof(struct pipewire_cfg, monitor), 0, 0 },
	BE_OPT_END,
};

struct pipewire_be {
	struct vsnd_backend base;
	struct pipewire_cfg cfg;
	char who[160];
	struct be_srv srv;
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct spa_source *retry;
	struct spa_source *kick;
	struct spa_source *linger;
};

/* The stream's listener, with the port it serves now: a new port of the
 * same parameters may adopt a closed port's stream (srv.h). Lives with
 * the stream. */
struct pw_carrier {
	struct spa_hook listener;
	struct pipewire_port *pp;    /* data thread, or the loop's with the lock */
};

struct pipewire_port {
	struct be_srv_port sp;       /* first: port->priv is also the be_rt */
	struct pipewire_be *pb;
	struct pw_carrier *carrier;  /* with sp.stream */
	uint32_t quantum_frames;   /* what we fill when the buffer does not say */
	/* capture, data thread: the graph position at the last callback;
	 * cap_resync (any thread) drops it */
	uint64_t cap_ticks;
	bool cap_valid;
	atomic_bool cap_resync;
	bool active;               /* loop lock: we asked for it to run */
	/* playback, data thread: frames given in the graph cycle that began
	 * at cycle_now, and in the longest cycle yet */
	int64_t cycle_now;
	uint64_t cycle_acc, cycle_max;
	char stream_name[192];
};
_Static_assert(offsetof(struct pipewire_port, sp) == 0 && offsetof(struct be_srv_port, rt) == 0,
	       "vsnd__be_rt_start/stop/tick need rt first");

static struct pw_stream *pp_stream(const struct pipewire_port *pp)
{
	return pp->sp.stream;
}

static const enum spa_audio_format pw_formats[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_S8] = SPA_AUDIO_FORMAT_S8,
	[VSND_PCM_FMT_U8] = SPA_AUDIO_FORMAT_U8,
	[VSND_PCM_FMT_S16] = SPA_AUDIO_FORMAT_S16_LE,
	[VSND_PCM_FMT_U16] = SPA_AUDIO_FORMAT_U16_LE,
	[VSND_PCM_FMT_S24_3] = SPA_AUDIO_FORMAT_S24_LE,
	[VSND_PCM_FMT_S24] = SPA_AUDIO_FORMAT_S24_32_LE,
	[VSND_PCM_FMT_S32] = SPA_AUDIO_FORMAT_S32_LE,
	[VSND_PCM_FMT_U32] = SPA_AUDIO_FORMAT_U32_LE,
	[VSND_PCM_FMT_FLOAT] = SPA_AUDIO_FORMAT_F32_LE,
	[VSND_PCM_FMT_FLOAT64] = SPA_AUDIO_FORMAT_F64_LE,
};

static uint64_t pipewire_format_mask(void)
{
	uint64_t m = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (pw_formats[f] != SPA_AUDIO_FORMAT_UNKNOWN)
			m |= UINT64_C(1) << f;
	return m;
}

#define PW_RATES (BE_RATES_ALL & ~((UINT64_C(1) << VSND_PCM_RATE_5512) | \
				   (UINT64_C(1) << VSND_PCM_RATE_384000)))

static void pipewire_caps(struct vsnd_backend *be, uint8_t direction,
			  struct vsnd_backend_caps *caps)
{
	caps->formats = pipewire_format_mask();
	caps->rates = PW_RATES;
	caps->channels_max = VSND_MAX_CHANNELS < 8 ? VSND_MAX_CHANNELS : 8;
}

/* The ALSA channel orders, which the guest's virtio-snd maps follow. */
static void pw_positions(uint32_t *pos, unsigned int channels)
{
	static const uint32_t order[8] = {
		SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR, SPA_AUDIO_CHANNEL_RL,
		SPA_AUDIO_CHANNEL_RR, SPA_AUDIO_CHANNEL_FC, SPA_AUDIO_CHANNEL_LFE,
		SPA_AUDIO_CHANNEL_SL, SPA_AUDIO_CHANNEL_SR,
	};

	if (channels == 1) {
		pos[0] = SPA_AUDIO_CHANNEL_MONO;
		return;
	}
	for (unsigned int i = 0; i < channels && i < 8; i++)
		pos[i] = order[i];
	if (channels == 3)
		pos[2] = SPA_AUDIO_CHANNEL_LFE;
}

/* ---- data thread ---- */

/* The graph's delay to the device, in the stream's frames. */
static uint64_t graph_delay(const struct pw_time *t, uint32_t hz)
{
	if (t->delay <= 0 || t->rate.denom == 0 || t->rate.num > 1000)
		return 0;
	return (uint64_t)t->delay * t->rate.num * hz / t->rate.denom;
}

/*
 * Frames the graph moved since the last callback beyond what this one
 * brings: the server dropped them while this process was stalled (it
 * keeps nothing for a late client). They become silence, so the guest's
 * capture keeps real time, and an overrun. Every ready buffer is taken
 * each time, so a late callback that finds them queued counts them. A jump
 * past a second is a clock change, not a stall: just resync.
 */
static void capture_gap(struct pipewire_port *pp, uint64_t frames)
{
	uint32_t hz = pp->sp.rt.rate_hz;
	struct pw_time t;
	uint64_t moved;

	if (atomic_exchange(&pp->cap_resync, false))
		pp->cap_valid = false;
	if (pw_stream_get_time_n(pp_stream(pp), &t, sizeof(t)) < 0 || t.rate.denom == 0) {
		pp->cap_valid = false;
		return;
	}
	/* bounded so the product below cannot overflow */
	if (pp->cap_valid && t.ticks > pp->cap_ticks && t.ticks - pp->cap_ticks <= UINT32_MAX &&
	    t.rate.num <= 1000) {
		moved = (t.ticks - pp->cap_ticks) * t.rate.num * hz / t.rate.denom;
		/* half a quantum of slack: a resampled stream's buffers vary */
		if (moved > frames + pp->quantum_frames / 2 && moved - frames <= hz)
			vsnd__be_rt_capture_silence(&pp->sp.rt, (moved - frames) * pp->sp.rt.fb);
	}
	pp->cap_ticks = t.ticks;
	pp->cap_valid = true;
	vsnd__be_rt_note_delay(&pp->sp.rt, graph_delay(&t, hz) + t.buffered,
			       t.now > 0 ? (uint64_t)t.now : 0);
}

/*
 * Data thread: frames given in the graph cycle that began at the stream's
 * current time report (a cycle may call process more than once), and the
 * latency then: what the stream buffers, plus the delay to the device, but
 * never less than what this cycle took from us, since a cycle's frames play
 * over the cycle (a null sink reports a delay of 0, and the two 10 ms
 * buffers in a 1024-frame cycle completed together, 21 ms apart).
 */
static void note_cycle(struct pipewire_port *pp, uint64_t frames)
{
	struct pw_time t = { 0 };
	uint64_t ahead;

	if (pw_stream_get_time_n(pp_stream(pp), &t, sizeof(t)) < 0 || t.now <= 0)
		return;
	if (t.now != pp->cycle_now) {
		/* a cycle longer than any before: the graph calls that seldom */
		if (pp->cycle_acc > pp->cycle_max) {
			pp->cycle_max = pp->cycle_acc;
			vsnd__be_rt_set_latency(&pp->sp.rt, pp->cycle_max * 1000000u /
						pp->sp.rt.rate_hz);
		}
		pp->cycle_now = t.now;
		pp->cycle_acc = 0;
	}
	pp->cycle_acc += frames;
	ahead = graph_delay(&t, pp->sp.rt.rate_hz);
	ahead = pp->cycle_acc > ahead ? pp->cycle_acc : ahead;
	vsnd__be_rt_note_delay(&pp->sp.rt, ahead + t.buffered, (uint64_t)t.now);
}

static void play_one(struct pipewire_port *pp, struct pw_buffer *b)
{
	struct spa_data *d = &b->buffer->datas[0];
	uint32_t fb = pp->sp.rt.fb;
	uint64_t frames = d->maxsize / fb;
	uint64_t want = b->requested ? b->requested : pp->quantum_frames;

	if (frames > want)
		frames = want;
	vsnd__be_rt_play(&pp->sp.rt, d->data, (size_t)frames * fb);
	note_cycle(pp, frames);
	d->chunk->offset = 0;
	d->chunk->stride = (int32_t)fb;
	d->chunk->size = (uint32_t)(frames * fb);
}

/* The captured bytes of a buffer, or NULL. */
static const uint8_t *cap_bytes(struct pw_buffer *b, uint32_t *size)
{
	struct spa_data *d = &b->buffer->datas[0];
	uint32_t off;

	*size = 0;
	if (!d->data || d->maxsize == 0)
		return NULL;
	off = d->chunk->offset % d->maxsize;
	*size = d->chunk->size < d->maxsize - off ? d->chunk->size : d->maxsize - off;
	return (const uint8_t *)d->data + off;
}

#define PW_CAP_BATCH 16u

static void capture_all(struct pipewire_port *pp)
{
	struct pw_buffer *bufs[PW_CAP_BATCH];
	const uint8_t *src[PW_CAP_BATCH];
	uint32_t size[PW_CAP_BATCH];
	uint32_t fb = pp->sp.rt.fb;
	unsigned int n = 0;
	uint64_t frames = 0;

	while (n < PW_CAP_BATCH && (bufs[n] = pw_stream_dequeue_buffer(pp_stream(pp)))) {
		src[n] = cap_bytes(bufs[n], &size[n]);
		frames += size[n++] / fb;
	}
	if (n == 0)
		return;
	vsnd__be_rt_capture_pending(&pp->sp.rt, (size_t)frames * fb);
	capture_gap(pp, frames);
	for (unsigned int i = 0; i < n; i++) {
		if (src[i])
			vsnd__be_rt_capture(&pp->sp.rt, src[i], size[i]);
		pw_stream_queue_buffer(pp_stream(pp), bufs[i]);
	}
}

static void on_process(void *data)
{
	struct pipewire_port *pp = ((struct pw_carrier *)data)->pp;
	struct pw_buffer *b;

	if (!pp->sp.rt.out) {
		capture_all(pp);
		return;
	}
	b = pw_stream_dequeue_buffer(pp_stream(pp));
	if (!b)
		return;
	if (b->buffer->datas[0].data)
		play_one(pp, b);
	pw_stream_queue_buffer(pp_stream(pp), b);
}

/* ---- thread loop ---- */

static struct pipewire_be *srv_pb(struct be_srv *srv)
{
	return container_of(srv, struct pipewire_be, srv);
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state,
			     const char *error)
{
	struct pipewire_port *pp = ((struct pw_carrier *)data)->pp;

	switch (state) {
	case PW_STREAM_STATE_STREAMING:
		/* the pacer filled whatever came before: no gap to measure */
		atomic_store(&pp->cap_resync, true);
		vsnd__be_srv_stream_live(&pp->pb->srv, &pp->sp, true);
		break;
	case PW_STREAM_STATE_ERROR:
	case PW_STREAM_STATE_UNCONNECTED:
		vsnd__be_srv_stream_lost(&pp->pb->srv, &pp->sp);
		break;
	case PW_STREAM_STATE_PAUSED:
		/* Parked by us (stopped), or unlinked (its target went away:
		 * the pacer keeps time). */
		if (old == PW_STREAM_STATE_STREAMING && !pp->active)
			vsnd__be_rt_set_parked(&pp->sp.rt);
		else if (old == PW_STREAM_STATE_STREAMING)
			vsnd__be_srv_stream_live(&pp->pb->srv, &pp->sp, false);
		break;
	default:
		break;
	}
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.process = on_process,
};

static void on_core_done(void *data, uint32_t id, int seq)
{
	struct pipewire_be *pb = data;

	/* the server answered the first sync: the connection is up */
	if (id == PW_ID_CORE && pb->srv.state == BE_SRV_CONNECTING)
		vsnd__be_srv_connected(&pb->srv);
}

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct pipewire_be *pb = data;

	/* -EPIPE on the core: the server went away. */
	if (id == PW_ID_CORE)
		vsnd__be_srv_lost(&pb->srv);
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.done = on_core_done,
	.error = on_core_error,
};

static int pipewire_stream_new(struct be_srv *srv, struct be_srv_port *sp)
{
	struct pipewire_port *pp = container_of(sp, struct pipewire_port, sp);
	const struct vsnd_pcm_params *p = &pp->sp.rt.port->params;
	const struct pipewire_cfg *cfg = &srv_pb(srv)->cfg;
	bool out = p->direction == VSND_DIR_OUTPUT;
	struct spa_audio_info_raw info = {
		.format = pw_formats[p->format],
		.rate = p->rate_hz,
		.channels = p->channels,
	};
	uint8_t pod[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(pod, sizeof(pod));
	const struct spa_pod *params[1];
	struct pw_properties *props;
	struct pw_stream *stream;

	/* made running (srv.c parks it later if the guest leaves it idle) */
	pp->active = sp->run_told;
	props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio",
				  PW_KEY_MEDIA_CATEGORY, out ? "Playback" : "Capture",
				  PW_KEY_APP_NAME, "vsnd",
				  PW_KEY_NODE_DESCRIPTION, pp->stream_name,
				  PW_KEY_MEDIA_NAME, pp->stream_name, NULL);
	if (!props)
		return -ENOMEM;
	pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u", pp->quantum_frames, p->rate_hz);
	if (!out && cfg->source)
		pw_properties_set(props, PW_KEY_TARGET_OBJECT, cfg->source);
	else if (cfg->target)
		pw_properties_set(props, PW_KEY_TARGET_OBJECT, cfg->target);
	/* Capture what a sink plays (its monitor) rather than a source. */
	if (cfg->monitor && !out)
		pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, "true");
	pp->carrier = calloc(1, sizeof(*pp->carrier));
	stream = pp->carrier ? pw_stream_new(srv_pb(srv)->core, pp->stream_name, props) : NULL;
	if (!stream) {
		if (!pp->carrier)
			pw_properties_free(props);
		free(pp->carrier);
		pp->carrier = NULL;
		return -ENOMEM;
	}
	sp->stream = stream;
	pp->carrier->pp = pp;
	pw_stream_add_listener(stream, &pp->carrier->listener, &stream_events, pp->carrier);
	pw_positions(info.position, p->channels);
	params[0] = spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info);
	return pw_stream_connect(stream, out ? PW_DIRECTION_OUTPUT : PW_DIRECTION_INPUT,
				 PW_ID_ANY, PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
				 PW_STREAM_FLAG_RT_PROCESS |
				 (pp->active ? 0 : PW_STREAM_FLAG_INACTIVE), params, 1);
}

/* Inactive while the guest's stream is stopped: the graph does not run an
 * inactive stream, so a prepared, idle stream wakes no thread of ours. A
 * start holds the ring (connecting) until the stream streams again. */
static void pipewire_stream_run(struct be_srv *srv, struct be_srv_port *sp, bool running)
{
	struct pipewire_port *pp = container_of(sp, struct pipewire_port, sp);

	(void)srv;
	if (pp->active == running)
		return;
	pp->active = running;
	if (running && !atomic_load(&sp->rt.live))
		vsnd__be_rt_set_connecting(&sp->rt, true);
	pw_stream_set_active(sp->stream, running);
}

static void pipewire_stream_free(struct be_srv *srv, struct be_srv_port *sp)
{
	struct pipewire_port *pp = container_of(sp, struct pipewire_port, sp);

	(void)srv;
	spa_hook_remove(&pp->carrier->listener);
	pw_stream_destroy(sp->stream);
	free(pp->carrier);
	pp->carrier = NULL;
}

/* Data thread, between two cycles: from the next one the stream's
 * callbacks serve the new port, and the old one is no longer touched. */
static int handover_on_data(struct spa_loop *loop, bool async, uint32_t seq, const void *data,
			    size_t size, void *user_data)
{
	struct pipewire_port *to = user_data;

	(void)loop, (void)async, (void)seq, (void)data, (void)size;
	to->carrier->pp = to;
	return 0;
}

/* The port is switched on the data thread, which runs process() without
 * the loop lock: this thread waits for it (as pw_stream_destroy does). */
static int pipewire_stream_adopt(struct be_srv *srv, struct be_srv_port *from,
				 struct be_srv_port *to)
{
	struct pipewire_port *a = container_of(from, struct pipewire_port, sp);
	struct pipewire_port *b = container_of(to, struct pipewire_port, sp);
	int ret;

	/* all set before the data thread can call back with it */
	b->carrier = a->carrier;
	b->active = a->active;
	atomic_store(&b->cap_resync, true);
	to->stream = from->stream;
	ret = pw_data_loop_invoke(pw_context_get_data_loop(srv_pb(srv)->context), handover_on_data,
				  0, NULL, 0, true, b);
	if (ret < 0) {
		to->stream = NULL;
		b->carrier = NULL;
		return ret;
	}
	from->stream = NULL;
	a->carrier = NULL;
	if (b->active && pw_stream_get_state(to->stream, NULL) == PW_STREAM_STATE_STREAMING)
		vsnd__be_srv_stream_live(srv, to, true);
	return 0;
}

static int pipewire_connect(struct be_srv *srv)
{
	struct pipewire_be *pb = srv_pb(srv);

	pb->core = pw_context_connect(pb->context, NULL, 0);
	if (!pb->core)
		return -errno ? -errno : -EIO;
	pw_core_add_listener(pb->core, &pb->core_listener, &core_events, pb);
	/* its done event says the server is there */
	pw_core_sync(pb->core, PW_ID_CORE, 0);
	return 0;
}

static void pipewire_disconnect(struct be_srv *srv)
{
	struct pipewire_be *pb = srv_pb(srv);

	if (!pb->core)
		return;
	spa_hook_remove(&pb->core_listener);
	pw_core_disconnect(pb->core);
	pb->core = NULL;
}

static void retry_cb(void *data, uint64_t expirations)
{
	vsnd__be_srv_retry(&((struct pipewire_be *)data)->srv);
}

static void pipewire_arm_retry(struct be_srv *srv)
{
	struct pipewire_be *pb = srv_pb(srv);
	struct timespec in = { .tv_sec = 1 }, every = { 0 };

	pw_loop_update_timer(pw_thread_loop_get_loop(pb->loop), pb->retry, &in, &every, false);
}

static void kick_cb(void *data, int fd, uint32_t mask)
{
	(void)fd;
	(void)mask;
	vsnd__be_srv_work(&((struct pipewire_be *)data)->srv);
}

static void linger_cb(void *data, uint64_t expirations)
{
	(void)expirations;
	vsnd__be_srv_work(&((struct pipewire_be *)data)->srv);
}

/* The loop's timers are on CLOCK_MONOTONIC: an absolute one is at_ns. */
static void pipewire_arm_at(struct be_srv *srv, uint64_t at_ns)
{
	struct pipewire_be *pb = srv_pb(srv);
	struct timespec at = { .tv_sec = (time_t)(at_ns / 1000000000u),
			       .tv_nsec = (long)(at_ns % 1000000000u) };

	pw_loop_update_timer(pw_thread_loop_get_loop(pb->loop), pb->linger, &at, NULL, true);
}

static int pipewire_watch(struct be_srv *srv, int kick_fd)
{
	struct pipewire_be *pb = srv_pb(srv);

	pb->kick = pw_loop_add_io(pw_thread_loop_get_loop(pb->loop), kick_fd, SPA_IO_IN, false,
				  kick_cb, pb);
	return pb->kick ? 0 : -ENOMEM;
}

static void pipewire_lock(struct be_srv *srv)
{
	pw_thread_loop_lock(srv_pb(srv)->loop);
}

static void pipewire_unlock(struct be_srv *srv)
{
	pw_thread_loop_unlock(srv_pb(srv)->loop);
}

static const struct be_srv_ops pipewire_srv_ops = {
	.lock = pipewire_lock,
	.unlock = pipewire_unlock,
	.connect = pipewire_connect,
	.disconnect = pipewire_disconnect,
	.stream_new = pipewire_stream_new,
	.stream_free = pipewire_stream_free,
	.stream_run = pipewire_stream_run,
	.stream_adopt = pipewire_stream_adopt,
	.arm_retry = pipewire_arm_retry,
	.watch = pipewire_watch,
	.arm_at = pipewire_arm_at,
};

/* ---- device thread ---- */

static void pipewire_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	vsnd__be_srv_port_close(&container_of(be, struct pipewire_be, base)->srv, port);
}

/* The graph quantum asked for: the option's latency, but at most the
 * guest's period. A buffer completes only once heard, so the guest has at
 * most its buffer in flight, and the graph takes up to a quantum twice. */
static uint32_t pipewire_quantum(const struct pipewire_cfg *cfg, const struct vsnd_pcm_params *p)
{
	uint64_t q = (uint64_t)cfg->latency_ms * p->rate_hz / 1000u;
	uint64_t period = p->frame_bytes ? p->period_bytes / p->frame_bytes : q;

	if (period && period < q)
		q = period;
	return q ? (uint32_t)q : 1;
}

static void pipewire_setup(struct pipewire_port *pp, struct vsnd_port *port)
{
	const struct vsnd_pcm_params *p = &port->params;

	pp->quantum_frames = pipewire_quantum(&pp->pb->cfg, p);
	pp->cycle_max = pp->quantum_frames;
	vsnd__be_rt_set_latency(&pp->sp.rt, (uint64_t)pp->quantum_frames * 1000000u / p->rate_hz);
	vsnd__be_srv_stream_name(pp->stream_name, sizeof(pp->stream_name), pp->pb->cfg.name, p);
	/* A graph quantum may round the latency up to twice it; keep that
	 * twice over in the ring. */
	if (p->direction == VSND_DIR_OUTPUT && 4u * pp->quantum_frames * p->frame_bytes >
	    port->lead_bytes)
		port->lead_bytes = 4u * pp->quantum_frames * p->frame_bytes;
}

static int pipewire_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct pipewire_be *pb = container_of(be, struct pipewire_be, base);
	struct pipewire_port *pp;
	int ret;

	pipewire_close(be, port);
	pp = vsnd__be_srv_port_new(be, port, sizeof(*pp), pipewire_format_mask(), pb->who, &ret);
	if (!pp)
		return ret;
	pp->pb = pb;
	pipewire_setup(pp, port);
	vsnd__be_srv_port_open(&pb->srv, port, &pp->sp);
	return 0;
}

static void pipewire_destroy(struct vsnd_backend *be)
{
	struct pipewire_be *pb;

	if (!be)
		return;
	pb = container_of(be, struct pipewire_be, base);
	if (pb->loop) {
		vsnd__be_srv_stop(&pb->srv);
		pw_thread_loop_lock(pb->loop);
		if (pb->retry)
			pw_loop_destroy_source(pw_thread_loop_get_loop(pb->loop), pb->retry);
		if (pb->kick)
			pw_loop_destroy_source(pw_thread_loop_get_loop(pb->loop), pb->kick);
		if (pb->linger)
			pw_loop_destroy_source(pw_thread_loop_get_loop(pb->loop), pb->linger);
		pw_thread_loop_unlock(pb->loop);
		pw_thread_loop_stop(pb->loop);
		if (pb->context)
			pw_context_destroy(pb->context);
		pw_thread_loop_destroy(pb->loop);
	}
	vsnd__be_srv_fini(&pb->srv);
	vsnd__be_opts_free(pipewire_opts, &pb->cfg);
	free(pb);
	/* No pw_deinit(): it is once per process, with no PipeWire thread
	 * left anywhere, and another instance may still run. */
}

/* The connection begins with the backend: by the time a guest prepares its
 * first stream the core is usually connected, and its stream made at once. */
static int pipewire_loop_start(struct pipewire_be *pb)
{
	pb->loop = pw_thread_loop_new("vsnd-pw", NULL);
	if (!pb->loop)
		return -ENOMEM;
	pb->context = pw_context_new(pw_thread_loop_get_loop(pb->loop), NULL, 0);
	if (!pb->context)
		return -ENOMEM;
	pb->retry = pw_loop_add_timer(pw_thread_loop_get_loop(pb->loop), retry_cb, pb);
	pb->linger = pw_loop_add_timer(pw_thread_loop_get_loop(pb->loop), linger_cb, pb);
	if (!pb->retry || !pb->linger)
		return -ENOMEM;
	if (pw_thread_loop_start(pb->loop) < 0)
		return -EIO;
	return vsnd__be_srv_start(&pb->srv, &pipewire_srv_ops);
}

static int pipewire_create(struct vsnd_backend **out, const char *opts,
			   const struct vsnd_backend_env *env)
{
	struct pipewire_be *pb;
	int ret;

	*out = NULL;
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->cfg.latency_ms = 20;
	ret = vsnd__be_opts_parse("pipewire", pipewire_opts, opts, &pb->cfg, env);
	vsnd__be_base_init(&pb->base, &vsnd__backend_pipewire, env);
	snprintf(pb->who, sizeof(pb->who), "pipewire (%s)",
		 pb->cfg.target ? pb->cfg.target : "default target");
	if (ret == 0) {
		pw_init(NULL, NULL); /* a no-op after the first */
		ret = pipewire_loop_start(pb);
	}
	if (ret < 0) {
		pipewire_destroy(&pb->base);
		return ret;
	}
	*out = &pb->base;
	return 0;
}

const struct vsnd_backend_ops vsnd__backend_pipewire = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "pipewire",
	.help = "target=NODE,source=NODE,monitor=on|off,latency_ms=N,name=VMNAME",
	.create = pipewire_create,
	.destroy = pipewire_destroy,
	.caps = pipewire_caps,
	.open = pipewire_open,
	.start = vsnd__be_srv_port_start,
	.stop = vsnd__be_srv_port_stop,
	.tick = vsnd__be_srv_port_tick,
	.close = pipewire_close,
	.delay_frames = vsnd__be_rt_delay_frames,
};
