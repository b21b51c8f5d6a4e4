/* SPDX-License-Identifier: MIT */
#include "daemon/intercept.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sfio.h"
#include "daemon/log.h"
#include "vsnd/backend.h"
#include "vsnd/pcm.h"

/* Frames mixed per pass (bounds the mix buffers). */
#define IC_MIX_FRAMES 512u

struct ic_inject {
	bool active, done, mix, loop;
	char *path;
	struct sfio_in in;
	struct vsnd_pcm_params bound;   /* the parameters in was opened for */
	uint64_t frames;
	uint8_t *file;                  /* mix: IC_MIX_FRAMES frames of the file */
	double *a, *b;                  /* mix: IC_MIX_FRAMES * VSND_MAX_CHANNELS */
	char error[SFIO_WHY_MAX];
};

struct ic_tap {
	bool active, done;
	char *path;
	struct sfio_out out;
	struct vsnd_pcm_params bound;
	uint64_t frames;
	double max_seconds;             /* 0: until stopped */
	char error[SFIO_WHY_MAX];
};

struct ic_stream {
	struct vd_intercept *ic;
	unsigned int id;
	struct ic_inject inj;
	struct ic_tap tap;
};

struct vd_intercept {
	struct vsnd_dev *dev;
	unsigned int n;
	struct ic_stream *s;
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

static bool same_params(const struct vsnd_pcm_params *a, const struct vsnd_pcm_params *b)
{
	return a->format == b->format && a->channels == b->channels && a->rate_hz == b->rate_hz;
}

/* ---- inject ---- */

static void inject_end(struct ic_stream *st, const char *error)
{
	struct ic_inject *j = &st->inj;

	if (!j->active)
		return;
	vsnd__sfio_in_close(&j->in);
	j->active = false;
	j->done = error != NULL || j->in.eof;
	if (error)
		snprintf(j->error, sizeof(j->error), "%s", error);
	vsnd_dev_set_pcm_hook(st->ic->dev, st->id, NULL, NULL);
	vd_log(VSND_LOG_INFO, "inject: stream %u: %s after %llu frames%s%s", st->id,
	       error ? "ended" : "done", (unsigned long long)j->frames, error ? ": " : "",
	       error ? error : "");
}

/* The stream came back with other parameters: carry on from the same
 * frame of the file, converted for them. */
static int inject_rebind(struct ic_inject *j, const struct vsnd_pcm_params *p)
{
	int64_t at = vsnd__sfio_in_tell(&j->in);
	int rc;

	vsnd__sfio_in_close(&j->in);
	rc = vsnd__sfio_in_open(&j->in, j->path, p, j->loop);
	if (rc == 0)
		rc = vsnd__sfio_in_seek(&j->in, at);
	j->bound = *p;
	return rc;
}

/* Mix n file frames into frames (through doubles; the sum is clipped). */
static size_t inject_mix(struct ic_inject *j, const struct vsnd_pcm_params *p, uint8_t *frames,
			 size_t n)
{
	size_t got = vsnd__sfio_in_read(&j->in, j->file, n);
	size_t samples = got * p->channels;

	if (vsnd_pcm_to_double(p->format, frames, j->a, samples) < 0 ||
	    vsnd_pcm_to_double(p->format, j->file, j->b, samples) < 0)
		return got;
	for (size_t i = 0; i < samples; i++)
		j->a[i] += j->b[i];
	vsnd_pcm_from_double(p->format, j->a, frames, samples);
	return got;
}

static void inject_hook(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames, size_t bytes)
{
	struct ic_stream *st = opaque;
	struct ic_inject *j = &st->inj;
	size_t n = bytes / p->frame_bytes, done = 0;

	if (!same_params(&j->bound, p) && inject_rebind(j, p) < 0) {
		inject_end(st, j->in.why);
		return;
	}
	while (done < n) {
		size_t want = j->mix ? (n - done < IC_MIX_FRAMES ? n - done : IC_MIX_FRAMES) : n - done;
		uint8_t *at = frames + done * p->frame_bytes;
		size_t got = j->mix ? inject_mix(j, p, at, want) : vsnd__sfio_in_read(&j->in, at, want);

		done += got;
		j->frames += got;
		if (got < want) {
			inject_end(st, NULL);
			return;
		}
	}
}

/* The parameters to read the file for now: the stream's own if it has
 * them; otherwise a stand-in, only to check the file (it is opened again
 * for the real ones at the first frames). */
static struct vsnd_pcm_params stream_params(struct vd_intercept *ic, unsigned int id)
{
	struct vsnd_stream_status s = { .size = sizeof(s) };
	struct vsnd_pcm_params p = { .stream_id = id, .format = VSND_PCM_FMT_S16, .channels = 2,
				     .rate_hz = 48000 };

	if (vsnd_dev_stream_status(ic->dev, id, &s) == 0 && s.rate_hz) {
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

static int mix_buffers(struct ic_inject *j)
{
	if (j->file)
		return 0;
	j->file = malloc((size_t)IC_MIX_FRAMES * VSND_MAX_CHANNELS * 8);
	j->a = malloc((size_t)IC_MIX_FRAMES * VSND_MAX_CHANNELS * sizeof(double));
	j->b = malloc((size_t)IC_MIX_FRAMES * VSND_MAX_CHANNELS * sizeof(double));
	return j->file && j->a && j->b ? 0 : -ENOMEM;
}

int vd_intercept_inject(struct vd_intercept *ic, unsigned int stream, const char *path, bool mix,
			bool loop, char *why, size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_INPUT, why, why_len);
	struct ic_stream *st;
	struct ic_inject *j;
	struct vsnd_pcm_params p;
	char *copy;

	if (rc < 0)
		return rc;
	st = &ic->s[stream];
	j = &st->inj;
	if (mix && mix_buffers(j) < 0)
		return say(why, why_len, -ENOMEM, "out of memory");
	p = stream_params(ic, stream);
	copy = strdup(path);
	if (!copy)
		return say(why, why_len, -ENOMEM, "out of memory");
	inject_end(st, "replaced by a new inject");
	rc = vsnd__sfio_in_open(&j->in, path, &p, loop);
	if (rc < 0) {
		free(copy);
		return say(why, why_len, rc, "%s", j->in.why);
	}
	free(j->path);
	j->path = copy;
	j->bound = p;
	j->mix = mix;
	j->loop = loop;
	j->frames = 0;
	j->error[0] = 0;
	j->active = true;
	j->done = false;
	vsnd_dev_set_pcm_hook(ic->dev, stream, inject_hook, st);
	vd_log(VSND_LOG_INFO, "inject: stream %u: %s (%s%s)", stream, path, mix ? "mix" : "replace",
	       loop ? ", loop" : "");
	return 0;
}

int vd_intercept_inject_stop(struct vd_intercept *ic, unsigned int stream, char *why,
			     size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_INPUT, why, why_len);

	if (rc < 0)
		return rc;
	inject_end(&ic->s[stream], NULL);
	return 0;
}

/* ---- tap ---- */

static void tap_end(struct ic_stream *st, const char *error)
{
	struct ic_tap *t = &st->tap;

	if (!t->active)
		return;
	if (vsnd__sfio_out_close(&t->out) < 0 && !error)
		error = t->out.why;
	t->active = false;
	t->done = true;
	if (error)
		snprintf(t->error, sizeof(t->error), "%s", error);
	vsnd_dev_set_pcm_hook(st->ic->dev, st->id, NULL, NULL);
	vd_log(VSND_LOG_INFO, "tap: stream %u: %s, %llu frames%s%s", st->id, t->path,
	       (unsigned long long)t->frames, error ? ": " : "", error ? error : "");
}

static void tap_hook(void *opaque, const struct vsnd_pcm_params *p, uint8_t *frames, size_t bytes)
{
	struct ic_stream *st = opaque;
	struct ic_tap *t = &st->tap;
	uint64_t n = bytes / p->frame_bytes, limit = UINT64_MAX;

	if (!t->bound.rate_hz) {
		int rc = vsnd__sfio_out_open(&t->out, t->path, p);

		t->bound = *p;
		if (rc < 0) {
			tap_end(st, t->out.why);
			return;
		}
	}
	if (!same_params(&t->bound, p)) {
		tap_end(st, "the stream changed its format");
		return;
	}
	if (t->max_seconds > 0)
		limit = (uint64_t)(t->max_seconds * p->rate_hz + 0.5);
	if (n > limit - t->frames)
		n = limit - t->frames;
	if (vsnd__sfio_out_write(&t->out, frames, (size_t)n) < 0) {
		tap_end(st, t->out.why);
		return;
	}
	t->frames += n;
	if (t->frames >= limit)
		tap_end(st, NULL);
}

/* Create the WAV now if the stream's format is known (else check that it
 * can be created; the hook makes it at the first frames). */
static int tap_open(struct ic_tap *t, const struct vsnd_pcm_params *p, bool known)
{
	int rc = vsnd__sfio_out_open(&t->out, t->path, p);

	if (rc < 0 || known) {
		t->bound = known ? *p : (struct vsnd_pcm_params){ 0 };
		return rc;
	}
	vsnd__sfio_out_close(&t->out);
	t->bound = (struct vsnd_pcm_params){ 0 };
	return 0;
}

int vd_intercept_tap(struct vd_intercept *ic, unsigned int stream, const char *path,
		     double max_seconds, char *why, size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_OUTPUT, why, why_len);
	struct vsnd_stream_status s = { .size = sizeof(s) };
	struct ic_stream *st;
	struct ic_tap *t;
	struct vsnd_pcm_params p;
	char *copy;

	if (rc < 0)
		return rc;
	st = &ic->s[stream];
	t = &st->tap;
	if (!(max_seconds >= 0 && max_seconds < 1e7))
		return say(why, why_len, -EINVAL, "--seconds wants a number of seconds");
	copy = strdup(path);
	if (!copy)
		return say(why, why_len, -ENOMEM, "out of memory");
	tap_end(st, "replaced by a new tap");
	free(t->path);
	t->path = copy;
	p = stream_params(ic, stream);
	vsnd_dev_stream_status(ic->dev, stream, &s);
	rc = tap_open(t, &p, s.rate_hz != 0);
	if (rc < 0) {
		free(t->path);
		t->path = NULL;
		return say(why, why_len, rc, "%s", t->out.why);
	}
	t->frames = 0;
	t->max_seconds = max_seconds;
	t->error[0] = 0;
	t->active = true;
	t->done = false;
	vsnd_dev_set_pcm_hook(ic->dev, stream, tap_hook, st);
	vd_log(VSND_LOG_INFO, "tap: stream %u: %s", stream, path);
	return 0;
}

int vd_intercept_tap_stop(struct vd_intercept *ic, unsigned int stream, char *why, size_t why_len)
{
	int rc = stream_check(ic, stream, VSND_DIR_OUTPUT, why, why_len);

	if (rc < 0)
		return rc;
	tap_end(&ic->s[stream], NULL);
	return 0;
}

/* ---- the whole ---- */

int vd_intercept_new(struct vd_intercept **out, struct vsnd_dev *dev)
{
	struct vd_intercept *ic = calloc(1, sizeof(*ic));

	*out = NULL;
	if (!ic)
		return -ENOMEM;
	ic->dev = dev;
	ic->n = vsnd_dev_stream_count(dev);
	ic->s = calloc(ic->n ? ic->n : 1, sizeof(*ic->s));
	if (!ic->s) {
		free(ic);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < ic->n; i++) {
		ic->s[i].ic = ic;
		ic->s[i].id = i;
	}
	*out = ic;
	return 0;
}

void vd_intercept_free(struct vd_intercept *ic)
{
	if (!ic)
		return;
	for (unsigned int i = 0; i < ic->n; i++) {
		struct ic_stream *st = &ic->s[i];

		inject_end(st, "the frontend went away");
		tap_end(st, NULL);
		free(st->inj.path);
		free(st->inj.file);
		free(st->inj.a);
		free(st->inj.b);
		free(st->tap.path);
	}
	free(ic->s);
	free(ic);
}

void vd_intercept_get(const struct vd_intercept *ic, unsigned int stream, bool tap,
		      struct vd_intercept_state *out)
{
	const struct ic_stream *st;

	*out = (struct vd_intercept_state){ 0 };
	if (stream >= ic->n)
		return;
	st = &ic->s[stream];
	if (tap) {
		*out = (struct vd_intercept_state){ .active = st->tap.active, .done = st->tap.done,
			.frames = st->tap.frames, .path = st->tap.path,
			.error = st->tap.error[0] ? st->tap.error : NULL };
		return;
	}
	*out = (struct vd_intercept_state){ .active = st->inj.active, .done = st->inj.done,
		.mix = st->inj.mix, .loop = st->inj.loop, .frames = st->inj.frames,
		.path = st->inj.path, .error = st->inj.error[0] ? st->inj.error : NULL };
}
