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
 *
 * The device never waits for an ALSA call: a server's PCM may wait for its
 * server for as long as that is stopped (snd_pcm_open, drain, drop, close).
 * So close only lets go of the port and returns; the thread, once out of
 * whatever ALSA call it is in, closes its PCM and frees its state. The port
 * and its ring are the device's again as soon as close returns, so the
 * thread touches them (through be_rt) only while it holds the port's lock,
 * for a ring copy at most, and close takes that lock to let go.
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
#include "be_opts.h"
#include "rt.h"
#include "util/mono.h"
#include "vsnd/backend.h"

extern const struct vsnd_backend_ops vsnd__backend_alsa;

#define ALSA_RETRY_MS 1000
/* How long destroy (the daemon's exit) waits for the closed ports' threads. */
#define ALSA_EXIT_WAIT_S 1

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
	pthread_mutex_t lock;       /* threads, abandoned */
	pthread_cond_t ended;       /* a thread ended */
	unsigned int threads;       /* ALSA threads not ended yet (they use cfg, who) */
	bool abandoned;             /* destroy gave up waiting: the last thread frees */
};

struct alsa_port {
	struct be_rt rt;
	struct alsa_be *ab;
	struct vsnd_pcm_params params; /* the port's, for the thread after close */
	snd_pcm_t *pcm;             /* the ALSA thread's once it runs */
	snd_pcm_uframes_t period;   /* frames per writei/readi, <= buf_frames */
	snd_pcm_uframes_t buf_frames;
	unsigned int latency_us;    /* asked of the PCM */
	uint8_t *buf;
	bool thread_ok;
	int efd;                    /* wakes the ALSA thread: start, stop, let go */
	pthread_mutex_t lock;       /* the thread holds it while it uses the port */
	bool let_go;                /* lock: the device closed the port */
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

/* The ALSA thread waits for a start, a stop or the device letting go (-1:
 * no limit). */
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

/* ALSA thread: take the port (its ring, counters and wake, all through
 * be_rt) for a moment, never across an ALSA call, which may wait for a
 * server; false once the device has let go of it. */
static bool port_hold(struct alsa_port *ap)
{
	pthread_mutex_lock(&ap->lock);
	if (!ap->let_go)
		return true;
	pthread_mutex_unlock(&ap->lock);
	return false;
}

static void port_drop(struct alsa_port *ap)
{
	pthread_mutex_unlock(&ap->lock);
}

static bool port_closed(struct alsa_port *ap)
{
	if (!port_hold(ap))
		return true;
	port_drop(ap);
	return false;
}

/* Open and configure the PCM (blocking mode: the thread waits on the
 * device). 0 or a negative errno; ap->pcm stays NULL on failure. */
static int alsa_pcm_open(struct alsa_port *ap)
{
	const struct vsnd_pcm_params *p = &ap->params;
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
	if (port_hold(ap)) {
		vsnd__be_rt_set_live(&ap->rt, false);
		port_drop(ap);
	}
}

/* What the PCM holds now; the device runs it on in real time until the
 * next period's note. Playback only once the PCM runs: before, the pulse
 * PCM says 0 for frames it has not begun to play (the first 540 frames of
 * a run completed at once). */
static void publish_delay(struct alsa_port *ap)
{
	snd_pcm_sframes_t d = 0;

	if (ap->params.direction == VSND_DIR_OUTPUT &&
	    snd_pcm_state(ap->pcm) != SND_PCM_STATE_RUNNING)
		return;
	if (snd_pcm_delay(ap->pcm, &d) < 0 || d < 0)
		d = 0;
	vsnd__be_rt_note_delay(&ap->rt, (uint64_t)d, vsnd__mono_ns());
}

static void add_xruns(struct alsa_port *ap, unsigned int n)
{
	if (n && port_hold(ap)) {
		atomic_fetch_add_explicit(&ap->rt.port->xruns, n, memory_order_relaxed);
		port_drop(ap);
	}
}

/* ap->buf's first frames to the PCM, through its xruns (counted in
 * *xruns). false when the PCM failed for good. */
static bool alsa_write(struct alsa_port *ap, snd_pcm_uframes_t frames, unsigned int *xruns)
{
	snd_pcm_uframes_t done = 0;

	while (done < frames) {
		snd_pcm_sframes_t n = snd_pcm_writei(ap->pcm,
						     ap->buf + done * ap->params.frame_bytes,
						     frames - done);

		if (n < 0) {
			(*xruns)++;
			if (snd_pcm_recover(ap->pcm, (int)n, 1) < 0)
				return false;
			continue;
		}
		done += (snd_pcm_uframes_t)n;
	}
	return true;
}

/* One period out: the ring's frames, or silence. false when the PCM
 * failed for good. */
static bool alsa_play_period(struct alsa_port *ap, bool silence)
{
	size_t bytes = ap->period * ap->params.frame_bytes;
	unsigned int xruns = 0;
	bool ok;

	if (!port_hold(ap))
		return true; /* let go: the thread's loop ends */
	if (silence)
		vsnd__be_rt_silence(&ap->rt, ap->buf, bytes);
	else
		vsnd__be_rt_play(&ap->rt, ap->buf, bytes);
	port_drop(ap);
	ok = alsa_write(ap, ap->period, &xruns);
	add_xruns(ap, xruns);
	return ok;
}

static bool alsa_capture_period(struct alsa_port *ap)
{
	snd_pcm_sframes_t n = snd_pcm_readi(ap->pcm, ap->buf, ap->period);

	if (n < 0) {
		add_xruns(ap, 1);
		return snd_pcm_recover(ap->pcm, (int)n, 1) == 0;
	}
	if (port_hold(ap)) {
		vsnd__be_rt_capture(&ap->rt, ap->buf, (size_t)n * ap->params.frame_bytes);
		port_drop(ap);
	}
	return true;
}

/*
 * One period through the PCM. false when the PCM failed for good.
 *
 * Playback that begins on a fresh PCM (opened, or prepared again after a
 * stop, which gives the pulse PCM a new server stream) writes at least
 * BE_RT_PRIME_PCM_MS of silence first, in whole periods, noted as such so
 * TX buffers still complete once heard (aplay through the same PCM lost
 * frames at the start of every clip without it).
 */
static bool alsa_move_period(struct alsa_port *ap, bool fresh)
{
	bool ok = true;

	if (ap->params.direction == VSND_DIR_OUTPUT) {
		uint64_t prime = (uint64_t)ap->params.rate_hz * BE_RT_PRIME_PCM_MS / 1000u;

		for (uint64_t done = 0; fresh && ok && done < prime; done += ap->period)
			ok = alsa_play_period(ap, true);
		ok = ok && alsa_play_period(ap, false);
	} else
		ok = alsa_capture_period(ap);
	if (ok)
		publish_delay(ap);
	return ok;
}

/* Stopped: let playback play out what the device holds, drop capture. */
static void alsa_pause(struct alsa_port *ap)
{
	if (ap->params.direction == VSND_DIR_OUTPUT)
		snd_pcm_drain(ap->pcm);
	else
		snd_pcm_drop(ap->pcm);
	snd_pcm_prepare(ap->pcm);
	vsnd__be_rt_note_delay(&ap->rt, 0, vsnd__mono_ns());
}

/* No PCM: try to open it, then wait a second or for the device to let go. */
static void alsa_try_open(struct alsa_port *ap)
{
	int ret = alsa_pcm_open(ap);

	if (!port_hold(ap))
		return; /* let go meanwhile: the thread closes the PCM */
	if (ret == 0) {
		vsnd__be_rt_set_live(&ap->rt, true);
	} else {
		atomic_store(&ap->open_err, ret);
		vsnd__be_rt_event(&ap->rt, BE_RT_EV_ABSENT);
	}
	vsnd__be_rt_set_connecting(&ap->rt, false);
	port_drop(ap);
	if (ret < 0)
		alsa_wait(ap, ALSA_RETRY_MS);
}

/* Free a port's state: the ALSA thread's last act, or close's when no
 * thread ran. snd_pcm_close may wait for a server. */
static void alsa_port_free(struct alsa_port *ap)
{
	if (ap->pcm)
		snd_pcm_close(ap->pcm);
	if (ap->efd >= 0)
		close(ap->efd);
	vsnd__be_rt_fini(&ap->rt);
	pthread_mutex_destroy(&ap->lock);
	free(ap->buf);
	free(ap);
}

static void alsa_be_free(struct alsa_be *ab)
{
	vsnd__be_opts_free(alsa_opts, &ab->cfg);
	pthread_cond_destroy(&ab->ended);
	pthread_mutex_destroy(&ab->lock);
	free(ab);
}

/* A port's thread is done; the last one after destroy gave up waiting
 * frees the backend. */
static void alsa_thread_ended(struct alsa_be *ab)
{
	bool last;

	pthread_mutex_lock(&ab->lock);
	last = --ab->threads == 0 && ab->abandoned;
	pthread_cond_signal(&ab->ended);
	pthread_mutex_unlock(&ab->lock);
	if (last)
		alsa_be_free(ab);
}

static void *alsa_main(void *arg)
{
	struct alsa_port *ap = arg;
	struct alsa_be *ab = ap->ab;
	bool was_running = false;

	while (!port_closed(ap)) {
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
		if (alsa_move_period(ap, !was_running)) {
			was_running = true;
			continue;
		}
		alsa_pcm_lost(ap);
		was_running = false;
		alsa_wait(ap, ALSA_RETRY_MS);
	}
	alsa_port_free(ap);
	alsa_thread_ended(ab);
	return NULL;
}

/* Start the port's ALSA thread, detached: it ends on its own once the
 * device lets go of the port. */
static int alsa_spawn(struct alsa_port *ap)
{
	struct alsa_be *ab = ap->ab;
	pthread_attr_t attr;
	pthread_t thread;
	int ret;

	ret = -pthread_attr_init(&attr);
	if (ret < 0)
		return ret;
	ret = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&ab->lock);
	if (ret == 0)
		ret = -pthread_create(&thread, &attr, alsa_main, ap);
	if (ret == 0)
		ab->threads++;
	pthread_mutex_unlock(&ab->lock);
	pthread_attr_destroy(&attr);
	return ret;
}

static void alsa_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct alsa_port *ap = port->priv;

	if (!ap)
		return;
	port->priv = NULL;
	vsnd__be_rt_set_running(&ap->rt, false);
	if (!ap->thread_ok) {
		alsa_port_free(ap); /* no PCM: nothing to wait for */
		return;
	}
	/* Held by the thread for a ring copy at most, never across an ALSA
	 * call. The kick too is made under it: the thread closes the eventfd
	 * (and frees ap) only after it has seen let_go. */
	pthread_mutex_lock(&ap->lock);
	ap->let_go = true;
	alsa_kick(ap);
	pthread_mutex_unlock(&ap->lock);
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
	ap->params = *p;
	ap->efd = -1;
	pthread_mutex_init(&ap->lock, NULL);
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
	ret = alsa_spawn(ap);
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
	return vsnd__be_rt_delay_frames(be, port);
}

/* Wait, at most ALSA_EXIT_WAIT_S, for the closed ports' threads to close
 * their PCMs (a stopped server keeps them waiting); past that, say so and
 * leave them to end with the process. true when all have ended. */
static bool alsa_wait_threads(struct alsa_be *ab)
{
	struct timespec until;
	bool all;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ALSA_EXIT_WAIT_S;
	pthread_mutex_lock(&ab->lock);
	while (ab->threads && pthread_cond_timedwait(&ab->ended, &ab->lock, &until) != ETIMEDOUT) {
		/* an end, or a spurious wake: look again */
	}
	all = ab->threads == 0;
	/* Said under the lock: once it is released, the last thread may free ab. */
	if (!all)
		vsnd_backend_log(&ab->base, VSND_LOG_WARN, "%s: %u stream(s) still closing; "
				 "not waiting for them", ab->who, ab->threads);
	ab->abandoned = !all;
	pthread_mutex_unlock(&ab->lock);
	return all;
}

static void alsa_destroy(struct vsnd_backend *be)
{
	struct alsa_be *ab;

	if (!be)
		return;
	ab = container_of(be, struct alsa_be, base);
	if (alsa_wait_threads(ab))
		alsa_be_free(ab);
}

static int alsa_be_init_sync(struct alsa_be *ab)
{
	pthread_condattr_t attr;
	int ret;

	ret = -pthread_condattr_init(&attr);
	if (ret < 0)
		return ret;
	ret = -pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (ret == 0)
		ret = -pthread_cond_init(&ab->ended, &attr);
	pthread_condattr_destroy(&attr);
	if (ret < 0)
		return ret;
	pthread_mutex_init(&ab->lock, NULL);
	return 0;
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
	ret = alsa_be_init_sync(ab);
	if (ret < 0) {
		free(ab);
		return ret;
	}
	ab->cfg.latency_ms = 40;
	ret = vsnd__be_opts_parse("alsa", alsa_opts, opts, &ab->cfg, env);
	if (ret < 0) {
		alsa_be_free(ab);
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
