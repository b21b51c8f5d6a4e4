/* SPDX-License-Identifier: MIT */
/*
 * alsa: an ALSA PCM per guest stream (default device "default", which goes
 * through plug: the guest's format, rate and channels are converted when
 * the device does not take them).
 *
 * Each stream has its own thread that owns the snd_pcm_t: it opens the PCM
 * (never the device thread: opening a server's PCM connects to it), blocks
 * in snd_pcm_writei/readi one ALSA period at a time, so the device's clock
 * paces it, and moves the frames through be_rt (ring, silence, xruns,
 * wake). The device thread never touches the PCM: start/stop are atomics
 * the ALSA thread follows (woken through an eventfd; it sleeps while the
 * stream is stopped), and the delay it measures is published in an atomic.
 * When the PCM cannot be opened, or fails (a USB card unplugged), the device
 * paces the stream in real time and the thread reopens the PCM every second
 * (said once in the log).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <alsa/asoundlib.h>

#include "common.h"
#include "opts.h"
#include "rt.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_alsa;

#define ALSA_RETRY_MS 1000

struct alsa_cfg {
	char *device;
	unsigned int latency_ms;
};

static const struct be_opt alsa_opts[] = {
	{ "device", BE_OPT_STR, offsetof(struct alsa_cfg, device), 0, 0 },
	{ "latency_ms", BE_OPT_UINT, offsetof(struct alsa_cfg, latency_ms), 1, 2000 },
	BE_OPT_END,
};

struct alsa_be {
	struct vsnd_backend base;
	struct alsa_cfg cfg;
	char who[160];
};

struct alsa_port {
	struct be_rt rt;
	struct alsa_be *ab;
	snd_pcm_t *pcm;             /* the ALSA thread's once it runs */
	snd_pcm_uframes_t period;   /* frames per writei/readi, <= buf_frames */
	snd_pcm_uframes_t buf_frames;
	unsigned int latency_us;    /* asked of the PCM */
	uint8_t *buf;
	pthread_t thread;
	bool thread_ok;
	int efd;                    /* wakes the ALSA thread: start, stop, quit */
	_Atomic bool quit;
	_Atomic uint32_t delay;     /* frames, measured by the ALSA thread */
	_Atomic int open_err;       /* the last failed open's error, for the log */
};
_Static_assert(offsetof(struct alsa_port, rt) == 0, "vsnd__be_rt_start/stop need rt first");

static const snd_pcm_format_t alsa_formats[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_IMA_ADPCM] = SND_PCM_FORMAT_UNKNOWN,
	[VSND_PCM_FMT_MU_LAW] = SND_PCM_FORMAT_MU_LAW,
	[VSND_PCM_FMT_A_LAW] = SND_PCM_FORMAT_A_LAW,
	[VSND_PCM_FMT_S8] = SND_PCM_FORMAT_S8,
	[VSND_PCM_FMT_U8] = SND_PCM_FORMAT_U8,
	[VSND_PCM_FMT_S16] = SND_PCM_FORMAT_S16_LE,
	[VSND_PCM_FMT_U16] = SND_PCM_FORMAT_U16_LE,
	[VSND_PCM_FMT_S18_3] = SND_PCM_FORMAT_S18_3LE,
	[VSND_PCM_FMT_U18_3] = SND_PCM_FORMAT_U18_3LE,
	[VSND_PCM_FMT_S20_3] = SND_PCM_FORMAT_S20_3LE,
	[VSND_PCM_FMT_U20_3] = SND_PCM_FORMAT_U20_3LE,
	[VSND_PCM_FMT_S24_3] = SND_PCM_FORMAT_S24_3LE,
	[VSND_PCM_FMT_U24_3] = SND_PCM_FORMAT_U24_3LE,
	[VSND_PCM_FMT_S20] = SND_PCM_FORMAT_S20_LE,
	[VSND_PCM_FMT_U20] = SND_PCM_FORMAT_U20_LE,
	[VSND_PCM_FMT_S24] = SND_PCM_FORMAT_S24_LE,
	[VSND_PCM_FMT_U24] = SND_PCM_FORMAT_U24_LE,
	[VSND_PCM_FMT_S32] = SND_PCM_FORMAT_S32_LE,
	[VSND_PCM_FMT_U32] = SND_PCM_FORMAT_U32_LE,
	[VSND_PCM_FMT_FLOAT] = SND_PCM_FORMAT_FLOAT_LE,
	[VSND_PCM_FMT_FLOAT64] = SND_PCM_FORMAT_FLOAT64_LE,
	[VSND_PCM_FMT_DSD_U8] = SND_PCM_FORMAT_UNKNOWN,
	[VSND_PCM_FMT_DSD_U16] = SND_PCM_FORMAT_UNKNOWN,
	[VSND_PCM_FMT_DSD_U32] = SND_PCM_FORMAT_UNKNOWN,
	[VSND_PCM_FMT_IEC958_SUBFRAME] = SND_PCM_FORMAT_UNKNOWN,
};

/* What plug converts from: the linear formats, float and the two laws
 * (DSD and IEC958 need a device that takes them as they are). */
static uint64_t alsa_format_mask(void)
{
	uint64_t m = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (alsa_formats[f] != SND_PCM_FORMAT_UNKNOWN)
			m |= UINT64_C(1) << f;
	return m;
}

#define ALSA_RATES (BE_RATES_ALL & ~((UINT64_C(1) << VSND_PCM_RATE_5512) | \
				     (UINT64_C(1) << VSND_PCM_RATE_384000)))

static void alsa_caps(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps)
{
	caps->formats = alsa_format_mask();
	caps->rates = ALSA_RATES;
	caps->channels_max = VSND_MAX_CHANNELS < 8 ? VSND_MAX_CHANNELS : 8;
}

/* The ALSA thread waits for a start, a stop or quit (-1: no limit). */
static void alsa_wait(struct alsa_port *ap, int ms)
{
	struct pollfd p = { .fd = ap->efd, .events = POLLIN };
	uint64_t v;

	if (poll(&p, 1, ms) > 0 && read(ap->efd, &v, sizeof(v)) < 0) {
		/* drained by an earlier read: nothing pending */
	}
}

/* Device thread: make the ALSA thread look again. */
static void alsa_kick(struct alsa_port *ap)
{
	uint64_t one = 1;

	if (ap->efd >= 0 && write(ap->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: a wake is pending anyway */
	}
}

/* Open and configure the PCM (blocking mode: the thread waits on the
 * device). 0 or a negative errno; ap->pcm stays NULL on failure. */
static int alsa_pcm_open(struct alsa_port *ap)
{
	const struct vsnd_pcm_params *p = &ap->rt.port->params;
	const char *dev = ap->ab->cfg.device ? ap->ab->cfg.device : "default";
	snd_pcm_uframes_t buffer = 0, period = 0;
	snd_pcm_t *pcm;
	int ret;

	ret = snd_pcm_open(&pcm, dev, p->direction == VSND_DIR_OUTPUT ?
			   SND_PCM_STREAM_PLAYBACK : SND_PCM_STREAM_CAPTURE, 0);
	if (ret < 0)
		return ret;
	ret = snd_pcm_set_params(pcm, alsa_formats[p->format], SND_PCM_ACCESS_RW_INTERLEAVED,
				 p->channels, p->rate_hz, 1, ap->latency_us);
	if (ret == 0)
		ret = snd_pcm_get_params(pcm, &buffer, &period);
	if (ret == 0 && (period == 0 || period > buffer))
		ret = -EINVAL;
	if (ret < 0) {
		snd_pcm_close(pcm);
		return ret;
	}
	/* Chunks need not be whole ALSA periods: cap them at our buffer. */
	ap->period = period < ap->buf_frames ? period : ap->buf_frames;
	ap->pcm = pcm;
	return 0;
}

static void alsa_pcm_lost(struct alsa_port *ap)
{
	snd_pcm_close(ap->pcm);
	ap->pcm = NULL;
	atomic_store(&ap->delay, 0);
	vsnd__be_rt_set_live(&ap->rt, false);
}

static void publish_delay(struct alsa_port *ap)
{
	snd_pcm_sframes_t d = 0;

	if (snd_pcm_delay(ap->pcm, &d) < 0 || d < 0)
		d = 0;
	atomic_store_explicit(&ap->delay, (uint32_t)d, memory_order_relaxed);
}

/* One period through the PCM. false when the PCM failed for good. */
static bool alsa_move_period(struct alsa_port *ap)
{
	struct vsnd_port *port = ap->rt.port;
	size_t bytes = ap->period * port->params.frame_bytes;
	snd_pcm_sframes_t n;

	if (port->params.direction == VSND_DIR_OUTPUT) {
		snd_pcm_uframes_t done = 0;

		vsnd__be_rt_play(&ap->rt, ap->buf, bytes);
		while (done < ap->period) {
			n = snd_pcm_writei(ap->pcm, ap->buf + done * port->params.frame_bytes,
					   ap->period - done);
			if (n < 0) {
				atomic_fetch_add_explicit(&port->xruns, 1, memory_order_relaxed);
				if (snd_pcm_recover(ap->pcm, (int)n, 1) < 0)
					return false;
				continue;
			}
			done += (snd_pcm_uframes_t)n;
		}
	} else {
		n = snd_pcm_readi(ap->pcm, ap->buf, ap->period);
		if (n < 0) {
			atomic_fetch_add_explicit(&port->xruns, 1, memory_order_relaxed);
			return snd_pcm_recover(ap->pcm, (int)n, 1) == 0;
		}
		vsnd__be_rt_capture(&ap->rt, ap->buf, (size_t)n * port->params.frame_bytes);
	}
	publish_delay(ap);
	return true;
}

/* Stopped: let playback play out what the device holds, drop capture. */
static void alsa_pause(struct alsa_port *ap)
{
	if (ap->rt.port->params.direction == VSND_DIR_OUTPUT)
		snd_pcm_drain(ap->pcm);
	else
		snd_pcm_drop(ap->pcm);
	snd_pcm_prepare(ap->pcm);
	atomic_store(&ap->delay, 0);
}

/* No PCM: try to open it, then wait a second or for quit. */
static void alsa_try_open(struct alsa_port *ap)
{
	int ret = alsa_pcm_open(ap);

	if (ret == 0) {
		vsnd__be_rt_set_live(&ap->rt, true);
	} else {
		atomic_store(&ap->open_err, ret);
		vsnd__be_rt_event(&ap->rt, BE_RT_EV_ABSENT);
	}
	vsnd__be_rt_set_connecting(&ap->rt, false);
	if (ret < 0)
		alsa_wait(ap, ALSA_RETRY_MS);
}

static void *alsa_main(void *arg)
{
	struct alsa_port *ap = arg;
	bool was_running = false;

	while (!atomic_load(&ap->quit)) {
		if (!ap->pcm) {
			alsa_try_open(ap);
			continue;
		}
		if (!vsnd__be_rt_running(&ap->rt)) {
			if (was_running)
				alsa_pause(ap);
			was_running = false;
			alsa_wait(ap, -1);
			continue;
		}
		was_running = true;
		if (!alsa_move_period(ap)) {
			alsa_pcm_lost(ap);
			was_running = false;
			alsa_wait(ap, ALSA_RETRY_MS);
		}
	}
	return NULL;
}

static void alsa_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct alsa_port *ap = port->priv;

	if (!ap)
		return;
	vsnd__be_rt_set_running(&ap->rt, false);
	if (ap->thread_ok) {
		atomic_store(&ap->quit, true);
		alsa_kick(ap);
		pthread_join(ap->thread, NULL);
	}
	if (ap->pcm) {
		snd_pcm_drop(ap->pcm);
		snd_pcm_close(ap->pcm);
	}
	if (ap->efd >= 0)
		close(ap->efd);
	vsnd__be_rt_fini(&ap->rt);
	free(ap->buf);
	free(ap);
	port->priv = NULL;
}

static int alsa_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct alsa_be *ab = container_of(be, struct alsa_be, base);
	const struct vsnd_pcm_params *p = &port->params;
	struct alsa_port *ap;
	size_t latency_bytes;
	int ret;

	alsa_close(be, port);
	ap = calloc(1, sizeof(*ap));
	if (!ap)
		return -ENOMEM;
	ap->ab = ab;
	ap->efd = -1;
	port->priv = ap;
	ret = vsnd__be_rt_init(&ap->rt, be, port, alsa_format_mask(), ab->who);
	if (ret < 0)
		goto err;
	ap->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ap->efd < 0) {
		ret = -errno;
		goto err;
	}
	ap->latency_us = (unsigned int)vsnd__be_rt_latency_us(p, ab->cfg.latency_ms);
	vsnd__be_rt_set_latency(&ap->rt, ap->latency_us);
	/* The whole latency: no period can be longer. */
	ap->buf_frames = (snd_pcm_uframes_t)ap->latency_us * p->rate_hz / 1000000u + 1;
	ap->buf = malloc(ap->buf_frames * p->frame_bytes);
	if (!ap->buf) {
		ret = -ENOMEM;
		goto err;
	}
	latency_bytes = ap->buf_frames * p->frame_bytes;
	/* the ALSA thread opens the PCM; a start meanwhile holds the ring */
	vsnd__be_rt_set_connecting(&ap->rt, true);
	/* The device buffer fills at once when playback starts. */
	if (p->direction == VSND_DIR_OUTPUT && 2 * latency_bytes > port->lead_bytes)
		port->lead_bytes = (uint32_t)(2 * latency_bytes);
	ret = -pthread_create(&ap->thread, NULL, alsa_main, ap);
	if (ret < 0)
		goto err;
	ap->thread_ok = true;
	vsnd__be_rt_report(&ap->rt);
	return 0;
err:
	alsa_close(be, port);
	return ret;
}

/* What the ALSA thread could not open, said on the device thread. */
static void alsa_report(struct vsnd_backend *be, struct alsa_port *ap)
{
	int err = atomic_exchange(&ap->open_err, 0);

	if (err && !ap->rt.said_absent)
		vsnd_backend_log(be, VSND_LOG_WARN, "%s: stream %u: cannot open: %s", ap->ab->who,
				 ap->rt.port->params.stream_id, snd_strerror(err));
}

static int alsa_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	int ret = vsnd__be_rt_start(be, port, now_ns);

	if (ret == 0)
		alsa_kick(port->priv);
	return ret;
}

static int alsa_stop(struct vsnd_backend *be, struct vsnd_port *port)
{
	int ret = vsnd__be_rt_stop(be, port);

	if (ret == 0)
		alsa_kick(port->priv);
	return ret;
}

static uint64_t alsa_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	if (port->priv)
		alsa_report(be, port->priv);
	return vsnd__be_rt_tick(be, port, now_ns);
}

static uint32_t alsa_delay_frames(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct alsa_port *ap = port->priv;

	if (!ap)
		return 0;
	alsa_report(be, ap);
	return vsnd__be_rt_delay(&ap->rt, atomic_load_explicit(&ap->delay, memory_order_relaxed));
}

static void alsa_destroy(struct vsnd_backend *be)
{
	struct alsa_be *ab;

	if (!be)
		return;
	ab = container_of(be, struct alsa_be, base);
	vsnd__be_opts_free(alsa_opts, &ab->cfg);
	free(ab);
}

static int alsa_create(struct vsnd_backend **out, const char *opts,
		       const struct vsnd_backend_env *env)
{
	struct alsa_be *ab;
	int ret;

	*out = NULL;
	ab = calloc(1, sizeof(*ab));
	if (!ab)
		return -ENOMEM;
	ab->cfg.latency_ms = 40;
	ret = vsnd__be_opts_parse("alsa", alsa_opts, opts, &ab->cfg, env);
	if (ret < 0) {
		vsnd__be_opts_free(alsa_opts, &ab->cfg);
		free(ab);
		return ret;
	}
	vsnd__be_base_init(&ab->base, &vsnd__backend_alsa, env);
	snprintf(ab->who, sizeof(ab->who), "alsa (%s)",
		 ab->cfg.device ? ab->cfg.device : "default");
	*out = &ab->base;
	return 0;
}

const struct vsnd_backend_ops vsnd__backend_alsa = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "alsa",
	.help = "device=PCM,latency_ms=N",
	.create = alsa_create,
	.destroy = alsa_destroy,
	.caps = alsa_caps,
	.open = alsa_open,
	.start = alsa_start,
	.stop = alsa_stop,
	.tick = alsa_tick,
	.close = alsa_close,
	.delay_frames = alsa_delay_frames,
};
