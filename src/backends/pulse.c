/* SPDX-License-Identifier: MIT */
/*
 * pulse: PulseAudio (or pipewire-pulse) streams, one per guest stream, each
 * on its own pa_threaded_mainloop. The mainloop thread is the real-time
 * side: its write/read callbacks only move ring data through be_rt. The
 * connection machinery (context and stream state, the retry timer) runs on
 * that thread too, outside the audio callbacks, and reports through atomic
 * events that the device thread logs.
 *
 * The guest's format, rate and channel count are passed through; the server
 * converts to its sink's. While the server is absent or gone, be_rt's pacer
 * plays the guest's audio out as silence in real time and the backend tries
 * to reconnect every second.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pulse/pulseaudio.h>

#include "common.h"
#include "opts.h"
#include "rt.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_pulse;

#define PULSE_RETRY_USEC PA_USEC_PER_SEC
/* open() waits this long for the first connection attempt to settle. */
#define PULSE_SETTLE_USEC (2 * PA_USEC_PER_SEC)

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
};

struct pulse_port {
	struct be_rt rt;
	struct pulse_be *pb;
	pa_threaded_mainloop *ml;
	pa_context *ctx;
	pa_stream *s;
	pa_time_event *retry;
	pa_time_event *settle_timer;
	bool settled;            /* the first attempt ended (live, failed or timed out) */
	pa_sample_spec ss;
	pa_buffer_attr attr;
	char stream_name[192];
};
_Static_assert(offsetof(struct pulse_port, rt) == 0, "vsnd__be_rt_start/stop need rt first");

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

static void pp_connect(struct pulse_port *pp);

/* A time event's deadline (wall clock: a step only shifts a retry). */
static void pulse_time_in(struct timeval *tv, pa_usec_t usec)
{
	pa_gettimeofday(tv);
	pa_timeval_add(tv, usec);
}

static void pp_settle(struct pulse_port *pp)
{
	pp->settled = true;
	pa_threaded_mainloop_signal(pp->ml, 0);
}

static void pp_teardown(struct pulse_port *pp)
{
	if (pp->s) {
		pa_stream_set_state_callback(pp->s, NULL, NULL);
		pa_stream_set_write_callback(pp->s, NULL, NULL);
		pa_stream_set_read_callback(pp->s, NULL, NULL);
		pa_stream_disconnect(pp->s);
		pa_stream_unref(pp->s);
		pp->s = NULL;
	}
	if (pp->ctx) {
		pa_context_set_state_callback(pp->ctx, NULL, NULL);
		pa_context_disconnect(pp->ctx);
		pa_context_unref(pp->ctx);
		pp->ctx = NULL;
	}
}

static void retry_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
		     void *userdata)
{
	struct pulse_port *pp = userdata;

	api->time_free(e);
	pp->retry = NULL;
	pp_teardown(pp);
	pp_connect(pp);
}

/* The server or the stream failed: the pacer takes over; retry in 1 s. The
 * old objects are freed by the retry, not inside their own callbacks. */
static void pp_lost(struct pulse_port *pp)
{
	pa_mainloop_api *api = pa_threaded_mainloop_get_api(pp->ml);
	struct timeval tv;

	if (atomic_load(&pp->rt.live))
		vsnd__be_rt_set_live(&pp->rt, false);
	else
		vsnd__be_rt_event(&pp->rt, BE_RT_EV_ABSENT);
	pp_settle(pp);
	if (pp->retry)
		return;
	pulse_time_in(&tv, PULSE_RETRY_USEC);
	pp->retry = api->time_new(api, &tv, retry_cb, pp);
}

static void write_cb(pa_stream *s, size_t nbytes, void *userdata)
{
	struct pulse_port *pp = userdata;
	uint32_t fb = pp->rt.port->params.frame_bytes;

	/* Stopped, the stream carries silence, as a sound card would: an
	 * input left empty lets the sink render far ahead, which stalled
	 * the first data after a start by 0.5-2 s (module-null-sink). */
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
		vsnd__be_rt_play(&pp->rt, data, len);
		if (pa_stream_write(s, data, len, NULL, 0, PA_SEEK_RELATIVE) < 0)
			return;
		nbytes -= len;
	}
}

static void read_cb(pa_stream *s, size_t nbytes, void *userdata)
{
	struct pulse_port *pp = userdata;

	while (pa_stream_readable_size(s) > 0) {
		const void *data = NULL;
		size_t n = 0;

		if (pa_stream_peek(s, &data, &n) < 0 || n == 0)
			return;
		if (data)
			vsnd__be_rt_capture(&pp->rt, data, n);
		else
			vsnd__be_rt_capture_silence(&pp->rt, n); /* a hole: the server lost data */
		pa_stream_drop(s);
	}
}

static void stream_state_cb(pa_stream *s, void *userdata)
{
	struct pulse_port *pp = userdata;

	switch (pa_stream_get_state(s)) {
	case PA_STREAM_READY:
		vsnd__be_rt_set_live(&pp->rt, true);
		pp_settle(pp);
		if (pp->rt.port->params.direction == VSND_DIR_OUTPUT)
			write_cb(s, pa_stream_writable_size(s), pp);
		break;
	case PA_STREAM_FAILED:
	case PA_STREAM_TERMINATED:
		pp_lost(pp);
		break;
	default:
		break;
	}
}

static int pp_make_stream(struct pulse_port *pp)
{
	const struct pulse_cfg *cfg = &pp->pb->cfg;
	pa_stream_flags_t flags = PA_STREAM_ADJUST_LATENCY | PA_STREAM_INTERPOLATE_TIMING |
				  PA_STREAM_AUTO_TIMING_UPDATE;
	pa_channel_map map;

	pa_channel_map_init_extend(&map, pp->ss.channels, PA_CHANNEL_MAP_ALSA);
	pp->s = pa_stream_new(pp->ctx, pp->stream_name, &pp->ss, &map);
	if (!pp->s)
		return -ENOMEM;
	pa_stream_set_state_callback(pp->s, stream_state_cb, pp);
	if (pp->rt.port->params.direction == VSND_DIR_OUTPUT) {
		pa_stream_set_write_callback(pp->s, write_cb, pp);
		if (pa_stream_connect_playback(pp->s, cfg->sink, &pp->attr, flags, NULL, NULL) < 0)
			return -EIO;
	} else {
		pa_stream_set_read_callback(pp->s, read_cb, pp);
		if (pa_stream_connect_record(pp->s, cfg->source, &pp->attr, flags) < 0)
			return -EIO;
	}
	return 0;
}

static void ctx_state_cb(pa_context *c, void *userdata)
{
	struct pulse_port *pp = userdata;

	switch (pa_context_get_state(c)) {
	case PA_CONTEXT_READY:
		if (pp_make_stream(pp) < 0)
			pp_lost(pp);
		break;
	case PA_CONTEXT_FAILED:
	case PA_CONTEXT_TERMINATED:
		pp_lost(pp);
		break;
	default:
		break;
	}
}

static void pp_connect(struct pulse_port *pp)
{
	pp->ctx = pa_context_new(pa_threaded_mainloop_get_api(pp->ml), "vsnd");
	if (!pp->ctx) {
		pp_lost(pp);
		return;
	}
	pa_context_set_state_callback(pp->ctx, ctx_state_cb, pp);
	if (pa_context_connect(pp->ctx, pp->pb->cfg.server, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0)
		pp_lost(pp);
}

static void settle_timeout_cb(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
			      void *userdata)
{
	struct pulse_port *pp = userdata;

	api->time_free(e);
	pp->settle_timer = NULL;
	pp_settle(pp);
}

/* ---- device thread ---- */

static void pulse_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct pulse_port *pp = port->priv;

	if (!pp)
		return;
	vsnd__be_rt_set_running(&pp->rt, false);
	if (pp->ml) {
		pa_mainloop_api *api = pa_threaded_mainloop_get_api(pp->ml);

		pa_threaded_mainloop_lock(pp->ml);
		if (pp->retry)
			api->time_free(pp->retry);
		if (pp->settle_timer)
			api->time_free(pp->settle_timer);
		pp_teardown(pp);
		pa_threaded_mainloop_unlock(pp->ml);
		pa_threaded_mainloop_stop(pp->ml);
		pa_threaded_mainloop_free(pp->ml);
	}
	vsnd__be_rt_fini(&pp->rt);
	free(pp);
	port->priv = NULL;
}

static void pulse_name_stream(struct pulse_port *pp, const struct vsnd_pcm_params *p)
{
	const char *dir = p->direction == VSND_DIR_OUTPUT ? "playback" : "capture";
	const char *name = pp->pb->cfg.name ? pp->pb->cfg.name : "guest";

	if (p->dir_index == 0)
		snprintf(pp->stream_name, sizeof(pp->stream_name), "vsnd: %s %s", name, dir);
	else
		snprintf(pp->stream_name, sizeof(pp->stream_name), "vsnd: %s %s %u", name, dir,
			 p->dir_index + 1);
}

static int pulse_setup(struct pulse_port *pp, struct vsnd_port *port)
{
	const struct vsnd_pcm_params *p = &port->params;
	uint32_t target;

	pp->ss = (pa_sample_spec){
		.format = pulse_formats[p->format],
		.rate = p->rate_hz,
		.channels = p->channels,
	};
	if (!pa_sample_spec_valid(&pp->ss))
		return -ENOTSUP;
	target = (uint32_t)pa_usec_to_bytes((pa_usec_t)pp->pb->cfg.latency_ms * 1000, &pp->ss);
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
	pulse_name_stream(pp, p);
	pp->ml = pa_threaded_mainloop_new();
	if (!pp->ml)
		return -ENOMEM;
	return pa_threaded_mainloop_start(pp->ml) < 0 ? -EIO : 0;
}

/* Start the first connection and wait (bounded) for it to settle, so a
 * server that is there carries the stream from the first frame. */
static void pulse_first_connect(struct pulse_port *pp)
{
	pa_mainloop_api *api = pa_threaded_mainloop_get_api(pp->ml);
	struct timeval tv;

	pa_threaded_mainloop_lock(pp->ml);
	pulse_time_in(&tv, PULSE_SETTLE_USEC);
	pp->settle_timer = api->time_new(api, &tv, settle_timeout_cb, pp);
	pp_connect(pp);
	while (!pp->settled && pp->settle_timer)
		pa_threaded_mainloop_wait(pp->ml);
	if (pp->settle_timer) {
		api->time_free(pp->settle_timer);
		pp->settle_timer = NULL;
	}
	pa_threaded_mainloop_unlock(pp->ml);
}

static int pulse_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct pulse_be *pb = container_of(be, struct pulse_be, base);
	struct pulse_port *pp;
	int ret;

	pulse_close(be, port);
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->pb = pb;
	ret = vsnd__be_rt_init(&pp->rt, be, port, pulse_format_mask(), pb->who);
	if (ret < 0)
		goto err;
	ret = pulse_setup(pp, port);
	if (ret < 0)
		goto err;
	port->priv = pp;
	pulse_first_connect(pp);
	vsnd__be_rt_report(&pp->rt);
	return 0;
err:
	port->priv = pp;
	pulse_close(be, port);
	return ret;
}

static uint32_t pulse_delay_frames(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct pulse_port *pp = port->priv;
	pa_usec_t usec = 0;
	int neg = 0;

	if (!pp)
		return 0;
	vsnd__be_rt_report(&pp->rt);
	if (!atomic_load(&pp->rt.live))
		return 0;
	pa_threaded_mainloop_lock(pp->ml);
	if (!pp->s || pa_stream_get_latency(pp->s, &usec, &neg) < 0 || neg)
		usec = 0;
	pa_threaded_mainloop_unlock(pp->ml);
	return (uint32_t)(usec * port->params.rate_hz / PA_USEC_PER_SEC);
}

static void pulse_destroy(struct vsnd_backend *be)
{
	struct pulse_be *pb;

	if (!be)
		return;
	pb = container_of(be, struct pulse_be, base);
	vsnd__be_opts_free(pulse_opts, &pb->cfg);
	free(pb);
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
	if (ret < 0) {
		vsnd__be_opts_free(pulse_opts, &pb->cfg);
		free(pb);
		return ret;
	}
	vsnd__be_base_init(&pb->base, &vsnd__backend_pulse, env);
	snprintf(pb->who, sizeof(pb->who), "pulse (%s)",
		 pb->cfg.server ? pb->cfg.server : "default server");
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
	.start = vsnd__be_rt_start,
	.stop = vsnd__be_rt_stop,
	.close = pulse_close,
	.delay_frames = pulse_delay_frames,
};
