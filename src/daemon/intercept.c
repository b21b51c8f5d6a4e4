/* SPDX-License-Identifier: MIT */
/*
 * Two threads share each inject or tap (a "job"):
 *  - the device thread runs its PCM hook: it takes converted frames from the
 *    job's ring (inject) or puts the played frames into it (tap), and never
 *    touches the file;
 *  - the io thread (one per session, made at the first job, blocked while it
 *    has none) owns the file: it reads and converts ahead into the ring
 *    (inject), or writes what the ring holds and finalizes the WAV (tap).
 * The ring is the lock-free SPSC byte ring the backends use. The device
 * hands a new job to the io thread through a second such ring of pointers
 * and an eventfd; the rest is atomics. The device frees a job once the io
 * thread has said it is finished with it.
 */
#include "daemon/intercept.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backends/sfio.h"
#include "daemon/log.h"
#include "vsnd/backend.h"
#include "vsnd/pcm.h"
#include "vsnd/ring.h"

/* Frames mixed per pass, and read or written per file call. */
#define IC_CHUNK_FRAMES 512u
/* A job's ring holds at least this much audio ahead (inject) or behind
 * (tap) of the io thread, which looks every IC_LOOK_MS while it has jobs. */
#define IC_RING_MS 500u
#define IC_LOOK_MS 5
/* Jobs handed over and not yet taken by the io thread. */
#define IC_QUEUE 64u

enum job_kind { JOB_INJECT, JOB_TAP };

struct ic_job {
	struct vd_intercept *ic;
	enum job_kind kind;
	unsigned int stream;
	char *path;
	bool mix, loop;                 /* inject */
	double max_seconds;             /* tap; 0: until stopped */
	struct vsnd_ring ring;          /* inject: io -> device; tap: device -> io */
	/* written by the device thread */
	atomic_uint_fast64_t want;      /* the stream's parameters as a key (0: not seen) */
	atomic_bool stop;               /* end it (tap: after writing what the ring holds) */
	/* written by the io thread */
	atomic_uint_fast64_t bound;     /* inject: the ring holds frames for this key */
	atomic_bool eof;                /* inject: the file is over */
	atomic_bool finished;           /* the file is closed; the io thread is done with it */
	char io_error[SFIO_WHY_MAX];    /* written before finished */
	/* device thread only */
	uint64_t frames, lost;          /* injected or tapped; lost: not in the ring in time */
	char dev_error[SFIO_WHY_MAX];
	uint8_t *mixbuf;                /* mix: IC_CHUNK_FRAMES frames */
	double *a, *b;
	struct ic_job *grave;           /* replaced, waiting for finished */
	/* io thread only */
	struct vsnd_pcm_params params;  /* what the file is open for */
	struct sfio_in in;
	struct sfio_out out;
	bool file_open;
	uint8_t *chunk;                 /* IC_CHUNK_FRAMES frames */
	struct ic_job *next;
};

struct ic_stream {
	struct ic_job *inj, *tap;       /* the latest of each (may be finished) */
};

struct vd_intercept {
	struct vsnd_dev *dev;
	unsigned int n;
	struct ic_stream *s;
	struct ic_job *grave;
	/* the io thread */
	pthread_t thread;
	bool running;
	int efd;
	struct vsnd_ring queue;         /* struct ic_job * */
	atomic_bool quit;
};

static int say(char *buf, size_t len, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int say(char *buf, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return err;
}

/* Format, channels and rate in one word, so that both threads can read
 * them at once; 0 is none. */
static uint64_t params_key(const struct vsnd_pcm_params *p)
{
	return (uint64_t)p->rate_hz << 24 | (uint64_t)p->channels << 8 | p->format;
}

static struct vsnd_pcm_params key_params(uint64_t key)
{
	struct vsnd_pcm_params p = { .format = (uint8_t)key, .channels = (uint8_t)(key >> 8),
				     .rate_hz = (uint32_t)(key >> 24) };

	p.frame_bytes = p.channels * vsnd_pcm_sample_bytes(p.format);
	return p;
}

/* ==== the io thread ==== */

/* Inject: (re)open the file for the parameters the device last saw (at
 * the same frame of the file), once the device has emptied the ring of
 * frames for the old ones. */
static void io_bind(struct ic_job *j, uint64_t key)
{
	int64_t at = j->file_open ? vsnd__sfio_in_tell(&j->in) : 0;
	int rc;

	if (vsnd_ring_fill(&j->ring))
		return;
	if (j->file_open)
		vsnd__sfio_in_close(&j->in);
	j->params = key_params(key);
	rc = vsnd__sfio_in_open(&j->in, j->path, &j->params, j->loop);
	if (rc == 0 && at)
		rc = vsnd__sfio_in_seek(&j->in, at);
	j->file_open = rc == 0;
	free(j->chunk);
	j->chunk = malloc((size_t)IC_CHUNK_FRAMES * j->params.frame_bytes);
	if (rc < 0 || !j->chunk) {
		snprintf(j->io_error, sizeof(j->io_error), "%s", rc < 0 ? j->in.why : "out of memory");
		atomic_store(&j->stop, true);
		return;
	}
	atomic_store_explicit(&j->eof, false, memory_order_relaxed);
	atomic_store_explicit(&j->bound, key, memory_order_release);
}

static void io_inject(struct ic_job *j)
{
	uint64_t key = atomic_load_explicit(&j->want, memory_order_acquire);
	uint32_t fb = j->params.frame_bytes;

	if (!key)
		return;
	if (atomic_load_explicit(&j->bound, memory_order_relaxed) != key) {
		io_bind(j, key);
		return;
	}
	while (!atomic_load_explicit(&j->eof, memory_order_relaxed) &&
	       vsnd_ring_space(&j->ring) >= (size_t)IC_CHUNK_FRAMES * fb) {
		size_t got = vsnd__sfio_in_read(&j->in, j->chunk, IC_CHUNK_FRAMES);

		vsnd_ring_write(&j->ring, j->chunk, got * fb);
		if (got < IC_CHUNK_FRAMES)
			atomic_store_explicit(&j->eof, true, memory_order_release);
	}
}

/* Tap: the WAV is made at the first frames, for the parameters the device
 * published with them (a tap never changes them: it ends instead). */
static int io_tap_open(struct ic_job *j)
{
	int rc;

	j->params = key_params(atomic_load_explicit(&j->want, memory_order_acquire));
	rc = vsnd__sfio_out_open(&j->out, j->path, &j->params);
	j->chunk = malloc((size_t)IC_CHUNK_FRAMES * j->params.frame_bytes);
	j->file_open = rc == 0;
	if (rc == 0 && j->chunk)
		return 0;
	snprintf(j->io_error, sizeof(j->io_error), "%s", rc < 0 ? j->out.why : "out of memory");
	atomic_store(&j->stop, true);
	return -EIO;
}

static void io_tap(struct ic_job *j)
{
	size_t fill = vsnd_ring_fill(&j->ring), fb;

	if (!fill || j->io_error[0] || (!j->chunk && io_tap_open(j) < 0)) {
		vsnd_ring_skip(&j->ring, j->io_error[0] ? fill : 0);
		return;
	}
	fb = j->params.frame_bytes;
	while ((fill = vsnd_ring_fill(&j->ring)) >= fb) {
		size_t k = fill < IC_CHUNK_FRAMES * fb ? fill - fill % fb : IC_CHUNK_FRAMES * fb;

		vsnd_ring_read(&j->ring, j->chunk, k);
		if (vsnd__sfio_out_write(&j->out, j->chunk, k / fb) < 0) {
			snprintf(j->io_error, sizeof(j->io_error), "%s", j->out.why);
			atomic_store(&j->stop, true);
			return;
		}
	}
}

/* Close the file and let the device free the job. True when finished. */
static bool io_finish(struct ic_job *j)
{
	if (j->kind == JOB_TAP) {
		io_tap(j);
		if (j->file_open && vsnd__sfio_out_close(&j->out) < 0 && !j->io_error[0])
			snprintf(j->io_error, sizeof(j->io_error), "%s", j->out.why);
	} else if (j->file_open) {
		vsnd__sfio_in_close(&j->in);
	}
	j->file_open = false;
	free(j->chunk);
	j->chunk = NULL;
	atomic_store_explicit(&j->finished, true, memory_order_release);
	return true;
}

/* One look at a job; true when the io thread is done with it. */
static bool io_job(struct ic_job *j, bool quit)
{
	if (atomic_load_explicit(&j->stop, memory_order_acquire) || quit)
		return io_finish(j);
	if (j->kind == JOB_INJECT)
		io_inject(j);
	else
		io_tap(j);
	return false;
}

static void io_take_new(struct vd_intercept *ic, struct ic_job **list)
{
	struct ic_job *j;

	while (vsnd_ring_read(&ic->queue, &j, sizeof(j)) == sizeof(j)) {
		j->next = *list;
		*list = j;
	}
}

static void *io_main(void *arg)
{
	struct vd_intercept *ic = arg;
	struct ic_job *list = NULL;

	for (;;) {
		bool quit = atomic_load_explicit(&ic->quit, memory_order_acquire);
		struct pollfd pfd = { .fd = ic->efd, .events = POLLIN };
		uint64_t v;

		io_take_new(ic, &list);
		for (struct ic_job **pp = &list; *pp;) {
			if (io_job(*pp, quit))
				*pp = (*pp)->next;
			else
				pp = &(*pp)->next;
		}
		if (quit)
			return NULL;
		/* blocked while there is nothing to do: an idle session costs nothing */
		if (poll(&pfd, 1, list ? IC_LOOK_MS : -1) > 0 && read(ic->efd, &v, sizeof(v)) < 0)
			v = 0;
	}
}

static void io_wake(struct vd_intercept *ic)
{
	uint64_t one = 1;

	if (write(ic->efd, &one, sizeof(one)) < 0)
		vd_log(VSND_LOG_DEBUG, "intercept: wake: %s", strerror(errno));
}

/* Hand a job to the io thread, starting it the first time. */
static int io_submit(struct vd_intercept *ic, struct ic_job *j, char *why, size_t why_len)
{
	if (!ic->running) {
		int rc = pthread_create(&ic->thread, NULL, io_main, ic);

		if (rc)
			return say(why, why_len, -rc, "cannot start the file thread: %s", strerror(rc));
		ic->running = true;
	}
	if (vsnd_ring_space(&ic->queue) < sizeof(j))
		return say(why, why_len, -EBUSY, "too many injects and taps at once; try again");
	vsnd_ring_write(&ic->queue, &j, sizeof(j));
	io_wake(ic);
	return 0;
}

/* ==== jobs, on the device thread ==== */

static void job_free(struct ic_job *j)
{
	if (!j)
		return;
	vsnd_ring_fini(&j->ring);
	free(j->path);
	free(j->mixbuf);
	free(j->a);
	free(j->b);
	free(j);
}

static struct ic_job *job_new(struct vd_intercept *ic, enum job_kind kind, unsigned int stream,
			      const char *path, bool mix)
{
	struct ic_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->ic = ic;
	j->kind = kind;
	j->stream = stream;
	j->path = strdup(path);
	if (mix) {
		j->mixbuf = malloc((size_t)IC_CHUNK_FRAMES * VSND_MAX_CHANNELS * 8);
		j->a = malloc((size_t)IC_CHUNK_FRAMES * VSND_MAX_CHANNELS * sizeof(double));
		j->b = malloc((size_t)IC_CHUNK_FRAMES * VSND_MAX_CHANNELS * sizeof(double));
	}
	if (!j->path || (mix && (!j->mixbuf || !j->a || !j->b))) {
		job_free(j);
		return NULL;
	}
	return j;
}

/* IC_RING_MS of the stream as far as its parameters are known (500 ms of
 * the widest, 384 kHz x 18 x 8 bytes, would be 27 MB); at least 256 KiB. */
static int job_ring(struct ic_job *j, const struct vsnd_pcm_params *p)
{
	size_t bytes = (size_t)p->rate_hz * p->frame_bytes / 1000 * IC_RING_MS;

	return vsnd_ring_init(&j->ring, bytes > (256u << 10) ? bytes : (256u << 10));
}

/* End a job from the device side: no more hook calls; the io thread closes
 * the file. Its status stays until the next job of its kind. */
static void job_stop(struct vd_intercept *ic, struct ic_job *j, const char *error)
{
	if (!j || atomic_load(&j->stop))
		return;
	if (error && !j->dev_error[0])
		snprintf(j->dev_error, sizeof(j->dev_error), "%s", error);
	vsnd_dev_set_pcm_hook(ic->dev, j->stream, NULL, NULL);
	atomic_store_explicit(&j->stop, true, memory_order_release);
	io_wake(ic);
	vd_log(VSND_LOG_INFO, "%s: stream %u: %s, %llu frames%s%s",
	       j->kind == JOB_TAP ? "tap" : "inject", j->stream, j->path,
	       (unsigned long long)j->frames, error ? ": " : "", error ? error : "");
}

/* Free replaced jobs the io thread is done with. */
static void graves_sweep(struct vd_intercept *ic)
{
	for (struct ic_job **pp = &ic->grave; *pp;) {
		struct ic_job *j = *pp;

		if (atomic_load_explicit(&j->finished, memory_order_acquire)) {
			*pp = j->grave;
			job_free(j);
		} else {
			pp = &j->grave;
		}
	}
}

static void job_bury(struct vd_intercept *ic, struct ic_job *j, const char *why)
{
	if (!j)
		return;
	job_stop(ic, j, why);
	j->grave = ic->grave;
	ic->grave = j;
}

/* The io thread gave up on it (a file error): stop hooking. */
static bool job_failed(struct vd_intercept *ic, struct ic_job *j)
{
	if (!atomic_load_explicit(&j->finished, memory_order_acquire))
		return false;
	job_stop(ic, j, j->io_error[0] ? j->io_error : NULL);
	return true;
}

/* The stream's parameters, for the io thread (first seen, or changed). */
static void job_params(struct ic_job *j, const struct vsnd_pcm_params *p)
{
	uint64_t key = params_key(p);

	if (atomic_load_explicit(&j->want, memory_order_relaxed) != key)
		atomic_store_explicit(&j->want, key, memory_order_release);
}

/* ---- inject ---- */

/* Mix k frames from the ring into frames (through doubles; clipped). */
static void inject_mix(struct ic_job *j, const struct vsnd_pcm_params *p, uint8_t *frames, size_t k)
{
	for (size_t done = 0; done < k;) {
		size_t n = k - done < IC_CHUNK_FRAMES ? k - done : IC_CHUNK_FRAMES;
		size_t samples = n * p->channels;
		uint8_t *at = frames + done * p->frame_bytes;

		vsnd_ring_read(&j->ring, j->mixbuf, n * p->frame_bytes);
		if (vsnd_pcm_to_double(p->format, at, j->a, samples) == 0 &&
		    vsnd_pcm_to_double(p->format, j->mixbuf, j->b, samples) == 0) {
			for (size_t i = 0; i < samples; i++)
				j->a[i] += j->b[i];
			vsnd_pcm_from_double(p->format, j->a, at, samples);
		}
		done += n;
	}
}

static void inject_hook(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames, size_t bytes)
{
	struct ic_job *j = opaque;
	struct vd_intercept *ic = j->ic;
	size_t n = bytes / p->frame_bytes, k;

	if (job_failed(ic, j))
		return;
	job_params(j, p);
	if (atomic_load_explicit(&j->bound, memory_order_acquire) != params_key(p)) {
		vsnd_ring_skip(&j->ring, vsnd_ring_fill(&j->ring)); /* frames for old parameters */
		return;
	}
	k = vsnd_ring_fill(&j->ring) / p->frame_bytes;
	k = k < n ? k : n;
	if (j->mix)
		inject_mix(j, p, frames, k);
	else
		vsnd_ring_read(&j->ring, frames, k * p->frame_bytes);
	j->frames += k;
	if (k == n)
		return;
	if (atomic_load_explicit(&j->eof, memory_order_acquire) && !vsnd_ring_fill(&j->ring))
		job_stop(ic, j, NULL);
	else if (j->frames)
		j->lost += n - k; /* the io thread fell behind: the backend's frames pass */
}

/* The stream's parameters if it has them (*known), else a stand-in that
 * only serves to check the file. */
static struct vsnd_pcm_params stream_params(struct vd_intercept *ic, unsigned int id, bool *known)
{
	struct vsnd_stream_status s = { .size = sizeof(s) };
	struct vsnd_pcm_params p = { .stream_id = id, .format = VSND_PCM_FMT_S16, .channels = 2,
				     .rate_hz = 48000 };

	*known = vsnd_dev_stream_status(ic->dev, id, &s) == 0 && s.rate_hz &&
		 s.state != VSND_STATE_RELEASED;
	if (*known) {
		p.format = s.format;
		p.channels = s.channels;
		p.rate_hz = s.rate_hz;
		p.direction = s.direction;
	}
	p.frame_bytes = p.channels * vsnd_pcm_sample_bytes(p.format);
	return p;
}

static int stream_check(struct vd_intercept *ic, unsigned int id, uint8_t dir, char *why,
			size_t why_len)
{
	struct vsnd_stream_status s = { .size = sizeof(s) };

	if (id >= ic->n || vsnd_dev_stream_status(ic->dev, id, &s) < 0)
		return say(why, why_len, -ENOENT, "no stream %u (the device has %u)", id, ic->n);
	if (s.direction != dir)
		return say(why, why_len, -EINVAL, "stream %u is a %s stream: %s", id,
			   s.direction == VSND_DIR_OUTPUT ? "playback" : "capture",
			   dir == VSND_DIR_INPUT ? "inject goes into capture streams" :
						   "tap records playback streams");
	return 0;
}

/* A job for stream, its ring sized, its file checked (the io thread opens
 * it again for real); NULL with why on failure. */
static struct ic_job *job_make(struct vd_intercept *ic, enum job_kind kind, unsigned int stream,
			       const char *path, bool mix, char *why, size_t why_len)
{
	bool known;
	struct vsnd_pcm_params p = stream_params(ic, stream, &known);
	struct ic_job *j = job_new(ic, kind, stream, path, mix);
	int rc = j ? job_ring(j, &p) : -ENOMEM;

	if (rc == 0 && kind == JOB_INJECT) {
		rc = vsnd__sfio_in_open(&j->in, path, &p, false);
		if (rc < 0)
			say(why, why_len, rc, "%s", j->in.why);
		vsnd__sfio_in_close(&j->in);
	} else if (rc == 0) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		rc = fd < 0 ? say(why, why_len, -errno, "cannot create %s: %s", path, strerror(errno)) : 0;
		if (fd >= 0)
			close(fd);
	} else {
		say(why, why_len, rc, "out of memory");
	}
	if (rc < 0) {
		job_free(j);
		return NULL;
	}
	/* known parameters go to the io thread now: it reads ahead at once */
	if (known && kind == JOB_INJECT)
		job_params(j, &p);
	return j;
}

/* Make the job the stream's current one and start it. */
static int job_start(struct vd_intercept *ic, struct ic_job *j, struct ic_job **slot,
		     vsnd_pcm_hook_fn hook, char *why, size_t why_len)
{
	int rc;

	graves_sweep(ic);
	job_bury(ic, *slot, "replaced by a new one");
	*slot = NULL;
	rc = io_submit(ic, j, why, why_len);
	if (rc < 0) {
		job_free(j);
		return rc;
	}
	*slot = j;
	vsnd_dev_set_pcm_hook(ic->dev, j->stream, hook, j);
	return 0;
}

int vd_intercept_inject(struct vd_intercept *ic, unsigned int stream, const char *path, bool mix,
			bool loop, char *why, size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_INPUT, why, why_len);
	struct ic_job *j;

	if (rc < 0)
		return rc;
	j = job_make(ic, JOB_INJECT, stream, path, mix, why, why_len);
	if (!j)
		return -EINVAL;
	j->mix = mix;
	j->loop = loop;
	rc = job_start(ic, j, &ic->s[stream].inj, inject_hook, why, why_len);
	if (rc == 0)
		vd_log(VSND_LOG_INFO, "inject: stream %u: %s (%s%s)", stream, path,
		       mix ? "mix" : "replace", loop ? ", loop" : "");
	return rc;
}

/* ---- tap ---- */

static void tap_hook(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames, size_t bytes)
{
	struct ic_job *j = opaque;
	uint64_t n = bytes / p->frame_bytes, limit = UINT64_MAX;
	size_t put;

	if (job_failed(j->ic, j))
		return;
	if (atomic_load_explicit(&j->want, memory_order_relaxed) &&
	    atomic_load_explicit(&j->want, memory_order_relaxed) != params_key(p)) {
		job_stop(j->ic, j, "the stream changed its format");
		return;
	}
	job_params(j, p);
	if (j->max_seconds > 0)
		limit = (uint64_t)(j->max_seconds * p->rate_hz + 0.5);
	if (n > limit - j->frames)
		n = limit - j->frames;
	put = vsnd_ring_write(&j->ring, frames, (size_t)n * p->frame_bytes) / p->frame_bytes;
	j->lost += n - put;
	j->frames += put;
	if (j->frames + j->lost >= limit)
		job_stop(j->ic, j, NULL);
}

int vd_intercept_tap(struct vd_intercept *ic, unsigned int stream, const char *path,
		     double max_seconds, char *why, size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_OUTPUT, why, why_len);
	struct ic_job *j;

	if (rc < 0)
		return rc;
	if (!(max_seconds >= 0 && max_seconds < 1e7))
		return say(why, why_len, -EINVAL, "--seconds wants a number of seconds");
	j = job_make(ic, JOB_TAP, stream, path, false, why, why_len);
	if (!j)
		return -EINVAL;
	j->max_seconds = max_seconds;
	rc = job_start(ic, j, &ic->s[stream].tap, tap_hook, why, why_len);
	if (rc == 0)
		vd_log(VSND_LOG_INFO, "tap: stream %u: %s", stream, path);
	return rc;
}

static int stop_kind(struct vd_intercept *ic, unsigned int stream, bool tap, char *why,
		     size_t why_len)
{
	int rc = stream_check(ic, stream, tap ? VSND_DIR_OUTPUT : VSND_DIR_INPUT, why, why_len);

	if (rc == 0)
		job_stop(ic, tap ? ic->s[stream].tap : ic->s[stream].inj, NULL);
	return rc;
}

int vd_intercept_inject_stop(struct vd_intercept *ic, unsigned int stream, char *why,
			     size_t why_len)
{
	return stop_kind(ic, stream, false, why, why_len);
}

int vd_intercept_tap_stop(struct vd_intercept *ic, unsigned int stream, char *why, size_t why_len)
{
	return stop_kind(ic, stream, true, why, why_len);
}

/* ==== the whole ==== */

int vd_intercept_new(struct vd_intercept **out, struct vsnd_dev *dev)
{
	struct vd_intercept *ic = calloc(1, sizeof(*ic));

	*out = NULL;
	if (!ic)
		return -ENOMEM;
	ic->dev = dev;
	ic->n = vsnd_dev_stream_count(dev);
	ic->s = calloc(ic->n ? ic->n : 1, sizeof(*ic->s));
	ic->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!ic->s || ic->efd < 0 || vsnd_ring_init(&ic->queue, IC_QUEUE * sizeof(void *)) < 0) {
		vd_intercept_free(ic);
		return -ENOMEM;
	}
	*out = ic;
	return 0;
}

void vd_intercept_free(struct vd_intercept *ic)
{
	if (!ic)
		return;
	for (unsigned int i = 0; ic->s && i < ic->n; i++) {
		job_bury(ic, ic->s[i].inj, NULL);
		job_bury(ic, ic->s[i].tap, NULL);
	}
	if (ic->running) {
		/* the io thread writes out the taps, closes every file, and ends */
		atomic_store_explicit(&ic->quit, true, memory_order_release);
		io_wake(ic);
		pthread_join(ic->thread, NULL);
	}
	while (ic->grave) {
		struct ic_job *j = ic->grave;

		ic->grave = j->grave;
		job_free(j);
	}
	vsnd_ring_fini(&ic->queue);
	if (ic->efd >= 0)
		close(ic->efd);
	free(ic->s);
	free(ic);
}

void vd_intercept_get(struct vd_intercept *ic, unsigned int stream, bool tap,
		      struct vd_intercept_state *out)
{
	struct ic_job *j = stream < ic->n ? (tap ? ic->s[stream].tap : ic->s[stream].inj) : NULL;
	bool finished;

	*out = (struct vd_intercept_state){ 0 };
	if (!j)
		return;
	finished = atomic_load_explicit(&j->finished, memory_order_acquire);
	job_failed(ic, j);
	*out = (struct vd_intercept_state){
		.active = !atomic_load(&j->stop), .done = finished, .mix = j->mix, .loop = j->loop,
		.frames = j->frames, .lost = j->lost, .path = j->path,
		.error = j->dev_error[0] ? j->dev_error : finished && j->io_error[0] ? j->io_error : NULL,
	};
}
