/* SPDX-License-Identifier: MIT */
/*
 * portaudio: a PortAudio stream per guest stream, over whatever host API
 * PortAudio was built with (ALSA on Debian). PortAudio's callback is the
 * real-time side and only moves ring data through be_rt. PortAudio opens
 * devices synchronously (through ALSA, a server's PCM connects to it), so
 * every PortAudio call but the callback's is made by one worker thread per
 * backend instance: it opens the streams the device thread asks for,
 * reopens a dead one once a second (or one stuck without a callback for a
 * second, vsnd__be_rt_stuck), and closes and frees what the device thread
 * let go. Meanwhile the device paces the guest's stream in real time;
 * the worker sleeps while there is nothing to do.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <portaudio.h>

#include "common.h"
#include "be_opts.h"
#include "rt.h"
#include "util/mono.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_portaudio;

#define PORTAUDIO_RETRY_NS UINT64_C(1000000000)
#define PORTAUDIO_RESCAN_NS (2 * PORTAUDIO_RETRY_NS)

struct portaudio_cfg {
	char *device;
	unsigned int latency_ms;
};

static const struct be_opt portaudio_opts[] = {
	{ "device", BE_OPT_STR, offsetof(struct portaudio_cfg, device), 0, 0 },
	{ "latency_ms", BE_OPT_UINT, offsetof(struct portaudio_cfg, latency_ms), 1, 2000 },
	BE_OPT_END,
};

struct portaudio_port;

struct portaudio_be {
	struct vsnd_backend base;
	struct portaudio_cfg cfg;
	char who[160];
	pthread_t worker;
	bool worker_ok;
	int efd;                        /* kicks the worker */
	pthread_mutex_t lock;           /* the list and each port's `closing` */
	struct portaudio_port *ports;
	bool quit;
	bool pa_ok;                     /* the worker's: PortAudio initialized */
	bool rescan;                    /* the worker's: a port found no device */
	uint64_t rescan_at;             /* the worker's: not before */
};

struct portaudio_port {
	struct be_rt rt;
	struct portaudio_be *pb;
	struct portaudio_port *next;    /* pb->lock */
	bool closing;                   /* pb->lock: the device let it go */
	_Atomic bool renew;             /* device thread: stuck; the worker makes it anew */
	PaStream *stream;               /* the worker's */
	uint64_t retry_at;              /* the worker's */
	struct vsnd_pcm_params params;  /* the port's, for the worker after close */
	unsigned long frames_per_buffer;
	uint64_t latency_us;            /* asked of PortAudio */
	long prime;                     /* the callback's: frames of silence still to begin with */
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

/* ---- PortAudio's callback thread ---- */

static int pa_callback(const void *input, void *output, unsigned long frames,
		       const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags,
		       void *userdata)
{
	struct portaudio_port *pp = userdata;
	size_t bytes = frames * pp->rt.fb;

	/* the stream time: when this buffer is heard (recorded) */
	double lat = output ? time->outputBufferDacTime - time->currentTime
			    : time->currentTime - time->inputBufferAdcTime;

	/* A new stream's first BE_RT_PRIME_PCM_MS are silence, in whole
	 * buffers (PulseAudio, through the ALSA host API and alsa-plugins'
	 * pulse PCM, lost ~450 frames at the start of 6-9 clips of 12 without
	 * it). */
	if (output && pp->prime > 0)
		vsnd__be_rt_silence(&pp->rt, output, bytes);
	else if (output)
		vsnd__be_rt_play(&pp->rt, output, bytes);
	else if (input)
		vsnd__be_rt_capture(&pp->rt, input, bytes);
	if (pp->prime > 0)
		pp->prime = frames < (unsigned long)pp->prime ? pp->prime - (long)frames : 0;
	/* the DAC time is this buffer's first frame's: all of it is still
	 * ahead then */
	vsnd__be_rt_note_delay(&pp->rt, (lat > 0 && lat < 10 ? (uint64_t)(lat * pp->rt.rate_hz) : 0) +
			       (output ? frames : 0), vsnd__mono_ns());
	return paContinue;
}

/* ---- the worker ---- */

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

/*
 * What PortAudio is asked for. Its suggested latency is its own host
 * buffer, and the server beneath adds more: through alsa-plugins' pulse
 * PCM, 5 ms asked was 8.5 ms until heard, 2.5 ms asked about 4 ms. The
 * room a guest's buffer leaves the host is for the whole chain, so
 * PortAudio gets two thirds of it, about what the alsa backend's chain
 * holds on the same PCM (6 ms): with a 20 ms buffer of 10 ms periods,
 * asking for all of it left the guest no time to refill a period before
 * the server ran dry (a gap every period), and half of it left the server
 * so little that a late callback near a clip's start made it underrun and
 * drop what came late (256 frames in 1 of 10 clips).
 */
static uint64_t pp_latency_us(const struct vsnd_pcm_params *p, unsigned int latency_ms)
{
	uint64_t share = vsnd__be_rt_latency_us(p, UINT_MAX / 1000u) * 2u / 3u;
	uint64_t want = (uint64_t)latency_ms * 1000u;

	want = want < share ? want : share;
	return want > 1000u ? want : 1000u;
}

static int pp_open_stream(struct portaudio_port *pp)
{
	const struct vsnd_pcm_params *p = &pp->params;
	bool out = p->direction == VSND_DIR_OUTPUT;
	PaStreamParameters sp = {
		.device = find_device(pp->pb->cfg.device, out),
		.channelCount = p->channels,
		.sampleFormat = pa_formats[p->format],
		.suggestedLatency = pp->latency_us / 1e6,
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
	/* the callback runs from Pa_StartStream on */
	pp->prime = (long)(pp->rt.rate_hz * BE_RT_PRIME_PCM_MS / 1000u);
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

/* A port's turn: open it if due, or notice that its stream died (the
 * callback thread ended) or is stuck (the device said so: PortAudio may
 * call a stream active whose server is gone). A stuck one is opened again
 * at once: the open fails while the server is away, and the guest sees
 * it absent. Returns when it wants a turn again (UINT64_MAX: only when
 * kicked). */
static uint64_t pp_turn(struct portaudio_port *pp, uint64_t now)
{
	bool stuck = atomic_load(&pp->renew);

	if (pp->stream && !stuck && Pa_IsStreamActive(pp->stream) == 1)
		return now + PORTAUDIO_RETRY_NS; /* a look a second: did it die? */
	if (pp->stream && stuck) {
		/* quietly not live (the pacer carries it) until the new one is;
		 * the close may wait for a stopped server to resume (the worker
		 * only) */
		vsnd__be_rt_event(&pp->rt, BE_RT_EV_RENEW);
		vsnd__be_rt_set_parked(&pp->rt);
		pp_close_stream(pp);
		pp->retry_at = now;
	} else if (pp->stream) {
		pp_close_stream(pp);
		vsnd__be_rt_set_live(&pp->rt, false);
		pp->retry_at = now + PORTAUDIO_RETRY_NS;
	}
	/* taken only now: the device asks again while the close waits */
	atomic_store(&pp->renew, false);
	if (now >= pp->retry_at) {
		int ret = pp_open_stream(pp);

		pp->retry_at = now + PORTAUDIO_RETRY_NS;
		pp->pb->rescan |= ret == -ENODEV;
		if (ret < 0)
			vsnd__be_rt_event(&pp->rt, BE_RT_EV_ABSENT);
		vsnd__be_rt_set_connecting(&pp->rt, false);
	}
	return pp->stream ? now + PORTAUDIO_RETRY_NS : pp->retry_at;
}

/* Take the ports the device let go out of the list. */
static struct portaudio_port *take_closing(struct portaudio_be *pb)
{
	struct portaudio_port *done = NULL, **pp = &pb->ports;

	while (*pp) {
		struct portaudio_port *x = *pp;

		if (x->closing) {
			*pp = x->next;
			x->next = done;
			done = x;
		} else {
			pp = &x->next;
		}
	}
	return done;
}

/*
 * PortAudio lists the devices once, at Pa_Initialize: one that was not
 * there then (the pulse PCM of a sound server started after vsnd) is only
 * found by starting PortAudio over, which closes every stream: so only
 * while none is open, and at most every PORTAUDIO_RESCAN_NS. (PortAudio
 * counts initializations: with two portaudio backends in one process, the
 * list is rebuilt only once neither has a stream.)
 */
static void rescan(struct portaudio_be *pb, struct portaudio_port *head, uint64_t now)
{
	if (!pb->rescan || now < pb->rescan_at)
		return;
	for (struct portaudio_port *pp = head; pp; pp = pp->next)
		if (pp->stream)
			return;
	pb->rescan = false;
	pb->rescan_at = now + PORTAUDIO_RESCAN_NS;
	if (pb->pa_ok)
		Pa_Terminate();
	pb->pa_ok = Pa_Initialize() == paNoError;
}

static void worker_wait(struct portaudio_be *pb, uint64_t until)
{
	uint64_t now = vsnd__mono_ns(), v;
	struct pollfd p = { .fd = pb->efd, .events = POLLIN };
	int ms = until == UINT64_MAX ? -1
		 : until <= now ? 0 : (int)((until - now + 999999) / 1000000);

	if (poll(&p, 1, ms) > 0 && read(pb->efd, &v, sizeof(v)) < 0) {
		/* drained already */
	}
}

static void *worker_main(void *arg)
{
	struct portaudio_be *pb = arg;

	for (;;) {
		uint64_t next = UINT64_MAX, now = vsnd__mono_ns();
		struct portaudio_port *done, *head;
		bool quit;

		pthread_mutex_lock(&pb->lock);
		done = take_closing(pb);
		quit = pb->quit;
		head = pb->ports;
		pthread_mutex_unlock(&pb->lock);
		/* Without the lock (PortAudio's calls take their time): the
		 * device thread only ever adds ports at the head, and only
		 * this thread unlinks and frees them. */
		for (struct portaudio_port *pp = head; pp && !quit; pp = pp->next) {
			uint64_t t = pp_turn(pp, now);

			next = t < next ? t : next;
		}
		while (done) {
			struct portaudio_port *x = done;

			done = x->next;
			pp_close_stream(x);
			vsnd__be_rt_fini(&x->rt);
			free(x);
		}
		if (quit)
			return NULL;
		rescan(pb, head, now);
		worker_wait(pb, next);
	}
}

static void worker_kick(struct portaudio_be *pb)
{
	uint64_t one = 1;

	if (write(pb->efd, &one, sizeof(one)) < 0) {
		/* saturated: a wake is pending anyway */
	}
}

/* ---- device thread ---- */

/* The be_rt's tick; a stream stuck on a live connection is handed to the
 * worker to be made anew. */
static uint64_t portaudio_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	uint64_t next = vsnd__be_rt_tick(be, port, now_ns);
	struct portaudio_port *pp = port->priv;

	if (pp && vsnd__be_rt_stuck(&pp->rt, now_ns, &next) && !atomic_exchange(&pp->renew, true))
		worker_kick(pp->pb);
	return next;
}

static void portaudio_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct portaudio_be *pb = container_of(be, struct portaudio_be, base);
	struct portaudio_port *pp = port->priv;

	if (!pp)
		return;
	/* From here the callback never touches the port; the worker closes
	 * the stream and frees the port state. */
	vsnd__be_rt_detach(&pp->rt);
	pthread_mutex_lock(&pb->lock);
	pp->closing = true;
	pthread_mutex_unlock(&pb->lock);
	worker_kick(pb);
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
	pp->params = *p;
	ret = vsnd__be_rt_init(&pp->rt, be, port, portaudio_format_mask(), pb->who);
	if (ret < 0) {
		vsnd__be_rt_fini(&pp->rt);
		free(pp);
		return ret;
	}
	/* Callbacks of a quarter of the latency; the ring keeps the whole
	 * latency twice over (PortAudio's host buffer fills at once). */
	pp->latency_us = pp_latency_us(p, pb->cfg.latency_ms);
	vsnd__be_rt_set_latency(&pp->rt, pp->latency_us);
	latency = pp->latency_us * p->rate_hz / 1000000u;
	pp->frames_per_buffer = latency / 4 ? (unsigned long)(latency / 4) : 1;
	/* Stalled after missing a few of those callbacks, not a few whole
	 * latencies: a SIGSTOPped server held the guest's clock 160 ms
	 * (4 x 40 ms) where 100 ms are ten missed calls. */
	vsnd__be_rt_set_call_us(&pp->rt, (uint64_t)pp->frames_per_buffer * 1000000u / p->rate_hz);
	if (p->direction == VSND_DIR_OUTPUT && 2 * latency * p->frame_bytes > port->lead_bytes)
		port->lead_bytes = (uint32_t)(2 * latency * p->frame_bytes);
	/* the worker opens the stream; a start meanwhile holds the ring */
	vsnd__be_rt_set_connecting(&pp->rt, true);
	port->priv = pp;
	pthread_mutex_lock(&pb->lock);
	pp->next = pb->ports;
	pb->ports = pp;
	pthread_mutex_unlock(&pb->lock);
	worker_kick(pb);
	vsnd__be_rt_report(&pp->rt);
	return 0;
}

/* Stop the worker: it closes and frees every port still listed (the
 * device closed them all before, so all are `closing`). */
static void worker_stop(struct portaudio_be *pb)
{
	if (!pb->worker_ok)
		return;
	pthread_mutex_lock(&pb->lock);
	for (struct portaudio_port *pp = pb->ports; pp; pp = pp->next)
		pp->closing = true;
	pb->quit = true;
	pthread_mutex_unlock(&pb->lock);
	worker_kick(pb);
	pthread_join(pb->worker, NULL);
	pb->worker_ok = false;
}

static void portaudio_destroy(struct vsnd_backend *be)
{
	struct portaudio_be *pb;

	if (!be)
		return;
	pb = container_of(be, struct portaudio_be, base);
	worker_stop(pb);
	if (pb->efd >= 0)
		close(pb->efd);
	pthread_mutex_destroy(&pb->lock);
	vsnd__be_opts_free(portaudio_opts, &pb->cfg);
	if (pb->pa_ok)
		Pa_Terminate();
	free(pb);
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
	pb->efd = -1;
	pthread_mutex_init(&pb->lock, NULL);
	ret = vsnd__be_opts_parse("portaudio", portaudio_opts, opts, &pb->cfg, env);
	if (ret < 0) {
		vsnd__be_opts_free(portaudio_opts, &pb->cfg);
		free(pb);
		return ret;
	}
	/* Reference-counted by PortAudio: one per instance. */
	err = Pa_Initialize();
	if (err != paNoError) {
		vsnd__be_env_log(env, VSND_LOG_ERROR, "portaudio: %s", Pa_GetErrorText(err));
		vsnd__be_opts_free(portaudio_opts, &pb->cfg);
		free(pb);
		return -EIO;
	}
	pb->pa_ok = true;
	vsnd__be_base_init(&pb->base, &vsnd__backend_portaudio, env);
	snprintf(pb->who, sizeof(pb->who), "portaudio (%s)",
		 pb->cfg.device ? pb->cfg.device : "default device");
	pb->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ret = pb->efd < 0 ? -errno : -pthread_create(&pb->worker, NULL, worker_main, pb);
	if (ret < 0) {
		portaudio_destroy(&pb->base);
		return ret;
	}
	pb->worker_ok = true;
	*out = &pb->base;
	return 0;
}

const struct vsnd_backend_ops vsnd__backend_portaudio = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "portaudio",
	.help = "device=NAME,latency_ms=N",
	.create = portaudio_create,
	.destroy = portaudio_destroy,
	.caps = portaudio_caps,
	.open = portaudio_open,
	.start = vsnd__be_rt_start,
	.stop = vsnd__be_rt_stop,
	.tick = portaudio_tick,
	.close = portaudio_close,
	.delay_frames = vsnd__be_rt_delay_frames,
};
