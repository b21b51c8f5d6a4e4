/* SPDX-License-Identifier: MIT */
/*
 * pulse: PulseAudio (or pipewire-pulse). One pa_threaded_mainloop and one
 * context per backend instance, shared by all the guest's streams (srv.c
 * holds the connect/retry logic), each guest stream a pa_stream. The
 * mainloop thread is the real-time side: its write/read callbacks only move
 * ring data through be_rt. Nothing here waits for the server: the context
 * connects when the backend is created, a stream is made when the guest
 * prepares one, and until the server carries it the device paces it.
 *
 * The guest's format, rate and channel count are passed through; the server
 * converts to its sink's. While the server is absent or gone, the device
 * plays the guest's audio out as silence in real time and the backend
 * tries to reconnect every second.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pulse/pulseaudio.h>

#include "common.h"
#include "be_opts.h"
#include "rt.h"
#include "srv.h"
#include "util/mono.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_pulse;

#define PULSE_RETRY_USEC PA_USEC_PER_SEC

struct pulse_cfg {
	char *server;
	char *sink;
	char *source;
	char *name;
	unsigned int latency_ms;
};

static const struct be_opt pulse_opts[] = {
	{ "server", BE_OPT_STR, offsetof(struct pulse_cfg, server), 0, 0 },
	{ "sink", BE_OPT_STR, offsetof(struct pulse_cfg, sink), 0, 0 },
	{ "source", BE_OPT_STR, offsetof(struct pulse_cfg, source), 0, 0 },
	{ "name", BE_OPT_STR, offsetof(struct pulse_cfg, name), 0, 0 },
	{ "latency_ms", BE_OPT_UINT, offsetof(struct pulse_cfg, latency_ms), 1, 2000 },
	BE_OPT_END,
};

struct pulse_be {
	struct vsnd_backend base;
	struct pulse_cfg cfg;
	char who[160];
	struct be_srv srv;
	pa_threaded_mainloop *ml;
	pa_context *ctx;
	pa_time_event *retry;
	pa_io_event *kick;
	pa_time_event *linger;
};

struct pulse_port {
	struct be_srv_port sp;       /* first: port->priv is also the be_rt */
	struct pulse_be *pb;
	pa_sample_spec ss;
	pa_buffer_attr attr;
	char stream_name[192];
};
_Static_assert(offsetof(struct pulse_port, sp) == 0 && offsetof(struct be_srv_port, rt) == 0,
	       "vsnd__be_rt_start/stop/tick need rt first");

static const pa_sample_format_t pulse_formats[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_MU_LAW] = PA_SAMPLE_ULAW,
	[VSND_PCM_FMT_A_LAW] = PA_SAMPLE_ALAW,
	[VSND_PCM_FMT_U8] = PA_SAMPLE_U8,
	[VSND_PCM_FMT_S16] = PA_SAMPLE_S16LE,
	[VSND_PCM_FMT_S24_3] = PA_SAMPLE_S24LE,
	[VSND_PCM_FMT_S24] = PA_SAMPLE_S24_32LE,
	[VSND_PCM_FMT_S32] = PA_SAMPLE_S32LE,
	[VSND_PCM_FMT_FLOAT] = PA_SAMPLE_FLOAT32LE,
};

static uint64_t pulse_format_mask(void)
{
	uint64_t m = 0;

	/* PA_SAMPLE_U8 is 0, so test the table's non-zero entries plus U8. */
	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (pulse_formats[f] || f == VSND_PCM_FMT_U8)
			m |= UINT64_C(1) << f;
	return m;
}

/* 8 kHz .. 192 kHz: what servers resample from and to. */
#define SERVER_RATES (BE_RATES_ALL & ~((UINT64_C(1) << VSND_PCM_RATE_5512) | \
				       (UINT64_C(1) << VSND_PCM_RATE_384000)))

static void pulse_caps(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps)
{
	caps->formats = pulse_format_mask();
	caps->rates = SERVER_RATES;
	caps->channels_max = VSND_MAX_CHANNELS < 8 ? VSND_MAX_CHANNELS : 8;
}

/* ---- mainloop thread ---- */

static struct pulse_be *srv_pb(struct be_srv *srv)
{
	return container_of(srv, struct pulse_be, srv);
}

/* Give the server nbytes: the ring's frames (silence past them), or only
 * silence (prime). */
static void pp_write(pa_stream *s, size_t nbytes, struct pulse_port *pp, bool prime)
{
	uint32_t fb = pp->sp.rt.fb;

	/* Never left empty: an input without data lets a null sink render
	 * far ahead, which stalled the first data after a start by 0.5-2 s
	 * (vsnd__be_rt_play pads with silence when the ring runs short). */
	while (nbytes >= fb) {
		size_t len = nbytes;
		void *data = NULL;

		if (pa_stream_begin_write(s, &data, &len) < 0 || !data)
			return;
		if (len > nbytes)
			len = nbytes;
		len -= len % fb;
		if (!len) {
			pa_stream_cancel_write(s);
			return;
		}
		if (prime)
			vsnd__be_rt_silence(&pp->sp.rt, data, len);
		else
			vsnd__be_rt_play(&pp->sp.rt, data, len);
		if (pa_stream_write(s, data, len, NULL, 0, PA_SEEK_RELATIVE) < 0)
			return;
		nbytes -= len;
	}
}

/* What the server holds now (timing interpolated between its updates),
 * for the device to run on from. */
static void note_delay(struct pulse_port *pp, pa_stream *s)
{
	pa_usec_t usec;
	int neg = 0;

	if (pa_stream_get_latency(s, &usec, &neg) < 0 || neg)
		return;
	vsnd__be_rt_note_delay(&pp->sp.rt, usec * pp->ss.rate / PA_USEC_PER_SEC,
			       vsnd__mono_ns());
}

static void latency_cb(pa_stream *s, void *userdata)
{
	note_delay(userdata, s);
}

static void write_cb(pa_stream *s, size_t nbytes, void *userdata)
{
	pp_write(s, nbytes, userdata, false);
	note_delay(userdata, s);
}

static void read_cb(pa_stream *s, size_t nbytes, void *userdata)
{
	struct pulse_port *pp = userdata;

	vsnd__be_rt_capture_pending(&pp->sp.rt, pa_stream_readable_size(s));
	while (pa_stream_readable_size(s) > 0) {
		const void *data = NULL;
		size_t n = 0;

		if (pa_stream_peek(s, &data, &n) < 0 || n == 0)
			return;
		if (data)
			vsnd__be_rt_capture(&pp->sp.rt, data, n);
		else
			vsnd__be_rt_capture_silence(&pp->sp.rt, n); /* a hole: the server lost data */
		pa_stream_drop(s);
	}
	note_delay(pp, s);
}

/*
 * PulseAudio's null sink, while nobody asks it for low latency, renders 2 s
 * ahead; a stream that joins it cannot make it rewind further than the
 * stream's own latency (module-null-sink.c sets its max_rewind from the
 * requested latency), so the stream's first frames wait for the rest of that
 * block: 0 to 2 s, and its captures from the monitor as long. Suspending and
 * resuming the sink restarts its clock at the new latency. Only the null
 * sink (one on hardware rewinds), only when it is that far ahead.
 */
#define PULSE_NULL_SINK "module-null-sink.c"
#define PULSE_AHEAD_USEC (200 * PA_USEC_PER_MSEC)

static void sink_ahead_cb(pa_context *c, const pa_sink_info *i, int eol, void *userdata)
{
	(void)userdata;
	if (eol || !i || !i->driver || strcmp(i->driver, PULSE_NULL_SINK) ||
	    i->latency < PULSE_AHEAD_USEC)
		return;
	pa_operation_unref(pa_context_suspend_sink_by_index(c, i->index, 1, NULL, NULL));
	pa_operation_unref(pa_context_suspend_sink_by_index(c, i->index, 0, NULL, NULL));
}

static void source_ahead_cb(pa_context *c, const pa_source_info *i, int eol, void *userdata)
{
	pa_operation *o;

	(void)userdata;
	if (eol || !i || i->monitor_of_sink == PA_INVALID_INDEX)
		return;
	o = pa_context_get_sink_info_by_index(c, i->monitor_of_sink, sink_ahead_cb, NULL);
	if (o)
		pa_operation_unref(o);
}

/* The stream is on its sink (or a sink's monitor): restart that sink if it
 * is a null sink far ahead. */
static void restart_far_sink(struct pulse_port *pp, pa_stream *s)
{
	pa_context *c = pp->pb->ctx;
	uint32_t dev = pa_stream_get_device_index(s);
	pa_operation *o;

	if (dev == PA_INVALID_INDEX)
		return;
	if (pp->sp.rt.out)
		o = pa_context_get_sink_info_by_index(c, dev, sink_ahead_cb, NULL);
	else
		o = pa_context_get_source_info_by_index(c, dev, source_ahead_cb, NULL);
	if (o)
		pa_operation_unref(o);
}

/* Corked while the guest's stream is stopped: the server asks nothing of a
 * corked stream, so a prepared, idle stream wakes no thread of ours; and
 * what it holds waits, as a paused stream's buffer should. A corked stream
 * keeps its latency request on the sink, so the sink stays ready for it. */
static void pulse_stream_run(struct be_srv *srv, struct be_srv_port *sp, bool running)
{
	pa_stream *s = sp->stream;
	pa_operation *o;

	(void)srv;
	if (pa_stream_get_state(s) != PA_STREAM_READY)
		return; /* READY applies the state of the moment */
	o = pa_stream_cork(s, !running, NULL, NULL);
	if (o)
		pa_operation_unref(o);
}

/* The latency the server gave the stream (it may round up what we asked):
 * it asks for data at least that often. */
static void note_latency(struct pulse_port *pp, pa_stream *s)
{
	const pa_buffer_attr *a = pa_stream_get_buffer_attr(s);
	bool out = pp->sp.rt.out;

	if (a)
		vsnd__be_rt_set_latency(&pp->sp.rt,
					pa_bytes_to_usec(out ? a->tlength : a->fragsize, &pp->ss));
}

static size_t prime_bytes(const struct pulse_port *pp, size_t writable)
{
	size_t min = (size_t)pp->ss.rate * BE_RT_PRIME_MS / 1000u * pp->sp.rt.fb;

	return writable > min ? writable : min;
}

static void stream_state_cb(pa_stream *s, void *userdata)
{
	struct pulse_port *pp = userdata;

	switch (pa_stream_get_state(s)) {
	case PA_STREAM_READY:
		/* The first fill is silence, what the server asks and at
		 * least BE_RT_PRIME_MS: a stream the guest has started
		 * already would otherwise begin with its first frames, which
		 * the sink's rewind to let the stream in can take (a 20 ms
		 * guest buffer's 5 ms fill lost 32 frames 5 ms in). */
		if (pp->sp.rt.out)
			pp_write(s, prime_bytes(pp, pa_stream_writable_size(s)), pp, true);
		restart_far_sink(pp, s);
		note_latency(pp, s);
		pulse_stream_run(&pp->pb->srv, &pp->sp, pp->sp.run_told);
		vsnd__be_srv_stream_live(&pp->pb->srv, &pp->sp, true);
		break;
	case PA_STREAM_FAILED:
	case PA_STREAM_TERMINATED:
		vsnd__be_srv_stream_lost(&pp->pb->srv, &pp->sp);
		break;
	default:
		break;
	}
}

static int pulse_stream_new(struct be_srv *srv, struct be_srv_port *sp)
{
	struct pulse_port *pp = container_of(sp, struct pulse_port, sp);
	const struct pulse_cfg *cfg = &srv_pb(srv)->cfg;
	pa_stream_flags_t flags = PA_STREAM_ADJUST_LATENCY | PA_STREAM_INTERPOLATE_TIMING |
				  PA_STREAM_AUTO_TIMING_UPDATE | PA_STREAM_START_CORKED;
	pa_channel_map map;
	pa_stream *s;

	pa_channel_map_init_extend(&map, pp->ss.channels, PA_CHANNEL_MAP_ALSA);
	s = pa_stream_new(srv_pb(srv)->ctx, pp->stream_name, &pp->ss, &map);
	if (!s)
		return -ENOMEM;
	sp->stream = s;
	pa_stream_set_state_callback(s, stream_state_cb, pp);
	pa_stream_set_latency_update_callback(s, latency_cb, pp);
	if (pp->sp.rt.out) {
		pa_stream_set_write_callback(s, write_cb, pp);
		if (pa_stream_connect_playback(s, cfg->sink, &pp->attr, flags, NULL, NULL) < 0)
			return -EIO;
	} else {
		pa_stream_set_read_callback(s, read_cb, pp);
		if (pa_stream_connect_record(s, cfg->source, &pp->attr, flags) < 0)
			return -EIO;
	}
	return 0;
}

/* A stream dropped while the server was still making it: libpulse cannot
 * disconnect it before it is ready, and left alone the server keeps it
 * (and it captures into our memory for good). It is disconnected, and our
 * last reference dropped, once it is ready, or dropped if it fails. */
static void doomed_state_cb(pa_stream *s, void *userdata)
{
	(void)userdata;
	switch (pa_stream_get_state(s)) {
	case PA_STREAM_READY:
		pa_stream_disconnect(s);
		break; /* TERMINATED follows */
	case PA_STREAM_FAILED:
	case PA_STREAM_TERMINATED:
		pa_stream_set_state_callback(s, NULL, NULL);
		pa_stream_unref(s);
		break;
	default:
		break;
	}
}

static void pulse_stream_free(struct be_srv *srv, struct be_srv_port *sp)
{
	pa_stream *s = sp->stream;

	(void)srv;
	pa_stream_set_write_callback(s, NULL, NULL);
	pa_stream_set_read_callback(s, NULL, NULL);
	pa_stream_set_latency_update_callback(s, NULL, NULL);
	if (pa_stream_get_state(s) == PA_STREAM_CREATING) {
		pa_stream_set_state_callback(s, doomed_state_cb, NULL);
		return;
	}
	pa_stream_set_state_callback(s, NULL, NULL);
	pa_stream_disconnect(s);
	pa_stream_unref(s);
}

static void ctx_state_cb(pa_context *c, void *userdata)
{
	struct pulse_be *pb = userdata;

	switch (pa_context_get_state(c)) {
	case PA_CONTEXT_READY:
		vsnd__be_srv_connected(&pb->srv);
		break;
	case PA_CONTEXT_FAILED:
	case PA_CONTEXT_TERMINATED:
		vsnd__be_srv_lost(&pb->srv);
		break;
	default:
		break;
	}
}

static int pulse_connect(struct be_srv *srv)
{
	struct pulse_be *pb = srv_pb(srv);

	pb->ctx = pa_context_new(pa_threaded_mainloop_get_api(pb->ml), "vsnd");
	if (!pb->ctx)
		return -ENOMEM;
	pa_context_set_state_callback(pb->ctx, ctx_state_cb, pb);
	return pa_context_connect(pb->ctx, pb->cfg.server, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0
		? -EIO : 0;
}

static void pulse_disconnect(struct be_srv *srv)
{
	struct pulse_be *pb = srv_pb(srv);

	if (!pb->ctx)
		return;
	pa_context_set_state_callback(pb->ctx, NULL, NULL);
	pa_context_disconnect(pb->ctx);
	pa_context_unref(pb->ctx);
	pb->ctx = NULL;
}

static void retry_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
		     void *userdata)
{
	struct pulse_be *pb = userdata;

	(void)tv;
	api->time_free(e);
	pb->retry = NULL;
	vsnd__be_srv_retry(&pb->srv);
}

static void pulse_arm_retry(struct be_srv *srv)
{
	struct pulse_be *pb = srv_pb(srv);
	pa_mainloop_api *api = pa_threaded_mainloop_get_api(pb->ml);
	struct timeval tv;

	if (pb->retry)
		return;
	/* wall clock: a step only shifts a retry */
	pa_gettimeofday(&tv);
	pa_timeval_add(&tv, PULSE_RETRY_USEC);
	pb->retry = api->time_new(api, &tv, retry_cb, pb);
}

static void kick_cb(pa_mainloop_api *api, pa_io_event *e, int fd, pa_io_event_flags_t events,
		    void *userdata)
{
	(void)api;
	(void)e;
	(void)fd;
	(void)events;
	vsnd__be_srv_work(&((struct pulse_be *)userdata)->srv);
}

static void linger_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
		      void *userdata)
{
	(void)api;
	(void)e;
	(void)tv;
	vsnd__be_srv_work(&((struct pulse_be *)userdata)->srv);
}

/* libpulse's time events are on the wall clock: at_ns from now on it. */
static void pulse_arm_at(struct be_srv *srv, uint64_t at_ns)
{
	struct pulse_be *pb = srv_pb(srv);
	pa_mainloop_api *api = pa_threaded_mainloop_get_api(pb->ml);
	uint64_t now = vsnd__mono_ns();
	struct timeval tv;

	pa_gettimeofday(&tv);
	pa_timeval_add(&tv, at_ns > now ? (at_ns - now + 999) / 1000 : 0);
	if (pb->linger)
		api->time_restart(pb->linger, &tv);
	else
		pb->linger = api->time_new(api, &tv, linger_cb, pb);
}

static int pulse_watch(struct be_srv *srv, int kick_fd)
{
	struct pulse_be *pb = srv_pb(srv);
	pa_mainloop_api *api = pa_threaded_mainloop_get_api(pb->ml);

	pb->kick = api->io_new(api, kick_fd, PA_IO_EVENT_INPUT, kick_cb, pb);
	return pb->kick ? 0 : -ENOMEM;
}

static void pulse_lock(struct be_srv *srv)
{
	pa_threaded_mainloop_lock(srv_pb(srv)->ml);
}

static void pulse_unlock(struct be_srv *srv)
{
	pa_threaded_mainloop_unlock(srv_pb(srv)->ml);
}

static const struct be_srv_ops pulse_srv_ops = {
	.lock = pulse_lock,
	.unlock = pulse_unlock,
	.connect = pulse_connect,
	.disconnect = pulse_disconnect,
	.stream_new = pulse_stream_new,
	.stream_free = pulse_stream_free,
	.stream_run = pulse_stream_run,
	.arm_retry = pulse_arm_retry,
	.watch = pulse_watch,
	.arm_at = pulse_arm_at,
};

/* ---- device thread ---- */

static void pulse_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	vsnd__be_srv_port_close(&container_of(be, struct pulse_be, base)->srv, port);
}

static int pulse_setup(struct pulse_port *pp, struct vsnd_port *port)
{
	const struct vsnd_pcm_params *p = &port->params;
	uint64_t latency_us;
	uint32_t target;

	pp->ss = (pa_sample_spec){
		.format = pulse_formats[p->format],
		.rate = p->rate_hz,
		.channels = p->channels,
	};
	if (!pa_sample_spec_valid(&pp->ss))
		return -ENOTSUP;
	latency_us = vsnd__be_rt_latency_us(p, pp->pb->cfg.latency_ms);
	/* what the server gives is noted once the stream is ready, which may
	 * be after the guest's START (a capture's start lag needs one) */
	vsnd__be_rt_set_latency(&pp->sp.rt, latency_us);
	target = (uint32_t)pa_usec_to_bytes(latency_us, &pp->ss);
	pp->attr = (pa_buffer_attr){
		.maxlength = (uint32_t)-1,
		.tlength = p->direction == VSND_DIR_OUTPUT ? target : (uint32_t)-1,
		.prebuf = (uint32_t)-1,
		.minreq = (uint32_t)-1,
		.fragsize = p->direction == VSND_DIR_INPUT ? target : (uint32_t)-1,
	};
	/* The server asks for up to tlength at once when its buffer drains:
	 * keep twice that ahead in the ring. */
	if (p->direction == VSND_DIR_OUTPUT && 2 * target > port->lead_bytes)
		port->lead_bytes = 2 * target;
	vsnd__be_srv_stream_name(pp->stream_name, sizeof(pp->stream_name), pp->pb->cfg.name, p);
	return 0;
}

static int pulse_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct pulse_be *pb = container_of(be, struct pulse_be, base);
	struct pulse_port *pp;
	int ret;

	pulse_close(be, port);
	pp = vsnd__be_srv_port_new(be, port, sizeof(*pp), pulse_format_mask(), pb->who, &ret);
	if (!pp)
		return ret;
	pp->pb = pb;
	ret = pulse_setup(pp, port);
	if (ret < 0) {
		vsnd__be_srv_port_free(&pp->sp);
		return ret;
	}
	vsnd__be_srv_port_open(&pb->srv, port, &pp->sp);
	return 0;
}

static void pulse_destroy(struct vsnd_backend *be)
{
	struct pulse_be *pb;

	if (!be)
		return;
	pb = container_of(be, struct pulse_be, base);
	if (pb->ml) {
		vsnd__be_srv_stop(&pb->srv);
		pa_threaded_mainloop_lock(pb->ml);
		if (pb->retry)
			pa_threaded_mainloop_get_api(pb->ml)->time_free(pb->retry);
		pb->retry = NULL;
		if (pb->kick)
			pa_threaded_mainloop_get_api(pb->ml)->io_free(pb->kick);
		pb->kick = NULL;
		if (pb->linger)
			pa_threaded_mainloop_get_api(pb->ml)->time_free(pb->linger);
		pb->linger = NULL;
		pa_threaded_mainloop_unlock(pb->ml);
		pa_threaded_mainloop_stop(pb->ml);
		pa_threaded_mainloop_free(pb->ml);
	}
	vsnd__be_srv_fini(&pb->srv);
	vsnd__be_opts_free(pulse_opts, &pb->cfg);
	free(pb);
}

/* The connection begins with the backend: by the time a guest prepares its
 * first stream the context is usually ready, and its stream is made at once. */
static int pulse_loop_start(struct pulse_be *pb)
{
	pb->ml = pa_threaded_mainloop_new();
	if (!pb->ml)
		return -ENOMEM;
	if (pa_threaded_mainloop_start(pb->ml) < 0) {
		pa_threaded_mainloop_free(pb->ml);
		pb->ml = NULL;
		return -EIO;
	}
	return vsnd__be_srv_start(&pb->srv, &pulse_srv_ops);
}

static int pulse_create(struct vsnd_backend **out, const char *opts,
			const struct vsnd_backend_env *env)
{
	struct pulse_be *pb;
	int ret;

	*out = NULL;
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->cfg.latency_ms = 40;
	ret = vsnd__be_opts_parse("pulse", pulse_opts, opts, &pb->cfg, env);
	vsnd__be_base_init(&pb->base, &vsnd__backend_pulse, env);
	snprintf(pb->who, sizeof(pb->who), "pulse (%s)",
		 pb->cfg.server ? pb->cfg.server : "default server");
	if (ret == 0)
		ret = pulse_loop_start(pb);
	if (ret < 0) {
		pulse_destroy(&pb->base);
		return ret;
	}
	*out = &pb->base;
	return 0;
}

const struct vsnd_backend_ops vsnd__backend_pulse = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "pulse",
	.help = "server=SERVER,sink=NAME,source=NAME,latency_ms=N,name=VMNAME",
	.create = pulse_create,
	.destroy = pulse_destroy,
	.caps = pulse_caps,
	.open = pulse_open,
	.start = vsnd__be_srv_port_start,
	.stop = vsnd__be_srv_port_stop,
	.tick = vsnd__be_srv_port_tick,
	.close = pulse_close,
	.delay_frames = vsnd__be_rt_delay_frames,
};
