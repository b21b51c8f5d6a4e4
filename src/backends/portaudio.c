/* SPDX-License-Identifier: MIT */
/*
 * portaudio: a PortAudio stream per guest stream, over whatever host API
 * PortAudio was built with (ALSA on Debian). PortAudio's callback is the
 * real-time side and only moves ring data through be_rt. PortAudio opens
 * devices synchronously, so when the device is missing or the stream dies
 * the device thread retries (at most once a second, from start/stop/delay
 * queries) while be_rt's pacer keeps the guest's stream in real time.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <portaudio.h>

#include "common.h"
#include "opts.h"
#include "rt.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_portaudio;

#define PORTAUDIO_RETRY_NS UINT64_C(1000000000)

struct portaudio_cfg {
	char *device;
	unsigned int latency_ms;
};

static const struct be_opt portaudio_opts[] = {
	{ "device", BE_OPT_STR, offsetof(struct portaudio_cfg, device), 0, 0 },
	{ "latency_ms", BE_OPT_UINT, offsetof(struct portaudio_cfg, latency_ms), 1, 2000 },
	BE_OPT_END,
};

struct portaudio_be {
	struct vsnd_backend base;
	struct portaudio_cfg cfg;
	char who[160];
};

struct portaudio_port {
	struct be_rt rt;
	struct portaudio_be *pb;
	PaStream *stream;
	uint64_t retry_at;
	unsigned long frames_per_buffer;
};
_Static_assert(offsetof(struct portaudio_port, rt) == 0, "vsnd__be_rt_start/stop need rt first");

static const PaSampleFormat pa_formats[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_S8] = paInt8,
	[VSND_PCM_FMT_U8] = paUInt8,
	[VSND_PCM_FMT_S16] = paInt16,
	[VSND_PCM_FMT_S24_3] = paInt24,
	[VSND_PCM_FMT_S32] = paInt32,
	[VSND_PCM_FMT_FLOAT] = paFloat32,
};

static uint64_t portaudio_format_mask(void)
{
	uint64_t m = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (pa_formats[f])
			m |= UINT64_C(1) << f;
	return m;
}

#define PORTAUDIO_RATES (BE_RATES_ALL & ~((UINT64_C(1) << VSND_PCM_RATE_5512) | \
					  (UINT64_C(1) << VSND_PCM_RATE_384000)))

static void portaudio_caps(struct vsnd_backend *be, uint8_t direction,
			   struct vsnd_backend_caps *caps)
{
	caps->formats = portaudio_format_mask();
	caps->rates = PORTAUDIO_RATES;
	caps->channels_max = VSND_MAX_CHANNELS < 8 ? VSND_MAX_CHANNELS : 8;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- PortAudio's callback thread ---- */

static int pa_callback(const void *input, void *output, unsigned long frames,
		       const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags,
		       void *userdata)
{
	struct portaudio_port *pp = userdata;
	size_t bytes = frames * pp->rt.port->params.frame_bytes;

	if (output)
		vsnd__be_rt_play(&pp->rt, output, bytes);
	else if (input)
		vsnd__be_rt_capture(&pp->rt, input, bytes);
	return paContinue;
}

/* ---- device thread ---- */

static PaDeviceIndex find_device(const char *name, bool out)
{
	PaDeviceIndex n = Pa_GetDeviceCount();

	if (!name)
		return out ? Pa_GetDefaultOutputDevice() : Pa_GetDefaultInputDevice();
	for (PaDeviceIndex i = 0; i < n; i++) {
		const PaDeviceInfo *info = Pa_GetDeviceInfo(i);

		if (info && !strcmp(info->name, name) &&
		    (out ? info->maxOutputChannels : info->maxInputChannels) > 0)
			return i;
	}
	return paNoDevice;
}

static int pp_open_stream(struct portaudio_port *pp)
{
	const struct vsnd_pcm_params *p = &pp->rt.port->params;
	bool out = p->direction == VSND_DIR_OUTPUT;
	PaStreamParameters sp = {
		.device = find_device(pp->pb->cfg.device, out),
		.channelCount = p->channels,
		.sampleFormat = pa_formats[p->format],
		.suggestedLatency = pp->pb->cfg.latency_ms / 1000.0,
	};
	PaError err;

	if (sp.device == paNoDevice)
		return -ENODEV;
	err = Pa_OpenStream(&pp->stream, out ? NULL : &sp, out ? &sp : NULL, p->rate_hz,
			    pp->frames_per_buffer, paNoFlag, pa_callback, pp);
	if (err != paNoError) {
		pp->stream = NULL;
		return -EIO;
	}
	err = Pa_StartStream(pp->stream);
	if (err != paNoError) {
		Pa_CloseStream(pp->stream);
		pp->stream = NULL;
		return -EIO;
	}
	vsnd__be_rt_set_live(&pp->rt, true);
	return 0;
}

static void pp_close_stream(struct portaudio_port *pp)
{
	if (!pp->stream)
		return;
	Pa_AbortStream(pp->stream);
	Pa_CloseStream(pp->stream);
	pp->stream = NULL;
}

/* The stream died (the callback thread ended) or never opened: hand the
 * guest's stream to the pacer and retry once a second. */
static void pp_check(struct portaudio_port *pp)
{
	if (pp->stream && Pa_IsStreamActive(pp->stream) == 1)
		return;
	if (pp->stream) {
		pp_close_stream(pp);
		vsnd__be_rt_set_live(&pp->rt, false);
		pp->retry_at = mono_ns() + PORTAUDIO_RETRY_NS;
	}
	if (mono_ns() < pp->retry_at)
		return;
	pp->retry_at = mono_ns() + PORTAUDIO_RETRY_NS;
	if (pp_open_stream(pp) < 0)
		vsnd__be_rt_event(&pp->rt, BE_RT_EV_ABSENT);
}

static void portaudio_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct portaudio_port *pp = port->priv;

	if (!pp)
		return;
	vsnd__be_rt_set_running(&pp->rt, false);
	pp_close_stream(pp);
	vsnd__be_rt_fini(&pp->rt);
	free(pp);
	port->priv = NULL;
}

static int portaudio_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct portaudio_be *pb = container_of(be, struct portaudio_be, base);
	const struct vsnd_pcm_params *p = &port->params;
	struct portaudio_port *pp;
	uint64_t latency;
	int ret;

	portaudio_close(be, port);
	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	pp->pb = pb;
	port->priv = pp;
	ret = vsnd__be_rt_init(&pp->rt, be, port, portaudio_format_mask(), pb->who);
	if (ret < 0) {
		portaudio_close(be, port);
		return ret;
	}
	/* Callbacks of a quarter of the latency; the ring keeps the whole
	 * latency twice over (PortAudio's host buffer fills at once). */
	latency = (uint64_t)pb->cfg.latency_ms * p->rate_hz / 1000u;
	pp->frames_per_buffer = latency / 4 ? (unsigned long)(latency / 4) : 1;
	if (p->direction == VSND_DIR_OUTPUT && 2 * latency * p->frame_bytes > port->lead_bytes)
		port->lead_bytes = (uint32_t)(2 * latency * p->frame_bytes);
	pp_check(pp);
	vsnd__be_rt_report(&pp->rt);
	return 0;
}

static int portaudio_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	struct portaudio_port *pp = port->priv;

	if (!pp)
		return -EBADFD;
	vsnd__be_rt_set_running(&pp->rt, true);
	pp_check(pp);
	vsnd__be_rt_report(&pp->rt);
	return 0;
}

static uint32_t portaudio_delay_frames(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct portaudio_port *pp = port->priv;
	const PaStreamInfo *info;
	double latency;

	if (!pp)
		return 0;
	pp_check(pp);
	if (!pp->stream || !(info = Pa_GetStreamInfo(pp->stream)))
		return vsnd__be_rt_delay(&pp->rt, 0);
	latency = port->params.direction == VSND_DIR_OUTPUT ? info->outputLatency
								 : info->inputLatency;
	return vsnd__be_rt_delay(&pp->rt, latency > 0 ? (uint64_t)(latency * port->params.rate_hz) : 0);
}

static void portaudio_destroy(struct vsnd_backend *be)
{
	struct portaudio_be *pb;

	if (!be)
		return;
	pb = container_of(be, struct portaudio_be, base);
	vsnd__be_opts_free(portaudio_opts, &pb->cfg);
	free(pb);
	Pa_Terminate();
}

static int portaudio_create(struct vsnd_backend **out, const char *opts,
			    const struct vsnd_backend_env *env)
{
	struct portaudio_be *pb;
	PaError err;
	int ret;

	*out = NULL;
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->cfg.latency_ms = 40;
	ret = vsnd__be_opts_parse("portaudio", portaudio_opts, opts, &pb->cfg, env);
	if (ret < 0)
		goto err;
	/* Reference-counted by PortAudio: one per instance. */
	err = Pa_Initialize();
	if (err != paNoError) {
		vsnd__be_env_log(env, VSND_LOG_ERROR, "portaudio: %s", Pa_GetErrorText(err));
		ret = -EIO;
		goto err;
	}
	vsnd__be_base_init(&pb->base, &vsnd__backend_portaudio, env);
	snprintf(pb->who, sizeof(pb->who), "portaudio (%s)",
		 pb->cfg.device ? pb->cfg.device : "default device");
	*out = &pb->base;
	return 0;
err:
	vsnd__be_opts_free(portaudio_opts, &pb->cfg);
	free(pb);
	return ret;
}

const struct vsnd_backend_ops vsnd__backend_portaudio = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "portaudio",
	.help = "device=NAME,latency_ms=N",
	.create = portaudio_create,
	.destroy = portaudio_destroy,
	.caps = portaudio_caps,
	.open = portaudio_open,
	.start = portaudio_start,
	.stop = vsnd__be_rt_stop,
	.tick = vsnd__be_rt_tick,
	.close = portaudio_close,
	.delay_frames = portaudio_delay_frames,
};
