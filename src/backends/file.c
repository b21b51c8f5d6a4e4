/* SPDX-License-Identifier: MIT */
/*
 * file: playback to a WAV file, capture from any file libsndfile reads,
 * both paced by CLOCK_MONOTONIC (the file is written as the clock consumes
 * the ring, never when the guest's data merely arrives).
 *
 * Options: out=PATH (playback, default "vsnd-out-%u.wav"), in=PATH (capture
 * source; none = silence), loop=on|off (rewind the capture file at its end;
 * default off: silence after it). In paths %u is the stream id, %n counts
 * the open()s of that direction in this instance (0, 1, ...: successive
 * playbacks go to separate files), %% is '%'.
 *
 * Playback is bit-exact, capture bit-exact from a file in the stream's
 * format, channels and rate, converted otherwise: sfio.h says how, and
 * which formats a WAV carries.
 *
 * Underruns are written as the silence the clock played: the file is the
 * timeline a speaker would have heard, so gaps show.
 *
 * A failed write is logged once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "common.h"
#include "be_opts.h"
#include "sfio.h"
#include "vsnd/pcm.h"

struct file_cfg {
	char *out;
	char *in;
	bool loop;
};

static const struct be_opt file_opts[] = {
	{ "out", BE_OPT_STR, offsetof(struct file_cfg, out), 0, 0 },
	{ "in", BE_OPT_STR, offsetof(struct file_cfg, in), 0, 0 },
	{ "loop", BE_OPT_BOOL, offsetof(struct file_cfg, loop), 0, 0 },
	BE_OPT_END,
};

struct file_port;

struct file_be {
	struct vsnd_backend base;
	struct file_cfg cfg;
	unsigned int opens[2];     /* %n, per direction */
	struct file_port *ports;   /* open ones, for destroy() */
};

struct file_port {
	struct be_clock clock;     /* first: vsnd__be_clock_port_start/stop */
	struct file_be *be;
	struct file_port *next;
	bool play, capture;        /* out or in open (neither: capture silence) */
	char *path;
	bool io_failed;
	struct sfio_out out;
	struct sfio_in in;
};

static struct file_be *to_file(struct vsnd_backend *be)
{
	return container_of(be, struct file_be, base);
}

/* ---- paths ---- */

static int check_template(struct vsnd_backend *be, const char *t)
{
	for (const char *p = t; p && *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (*p != 'u' && *p != 'n' && *p != '%') {
			vsnd_backend_log(be, VSND_LOG_ERROR,
					 "file: bad '%%' sequence in path '%s' (use %%u, %%n or %%%%)", t);
			return -EINVAL;
		}
	}
	return 0;
}

/* The template with %u, %n and %% replaced (malloc'ed), or NULL. */
static char *expand_path(const char *t, unsigned int stream, unsigned int n)
{
	size_t len = strlen(t), cap = len + 1 + (len / 2 + 1) * 10;
	char *out = malloc(cap), *d = out;

	if (!out)
		return NULL;
	for (const char *p = t; *p; p++) {
		if (*p != '%' || !p[1]) {
			*d++ = *p;
			continue;
		}
		p++;
		if (*p == 'u' || *p == 'n')
			d += snprintf(d, (size_t)(out + cap - d), "%u", *p == 'u' ? stream : n);
		else
			*d++ = *p;
	}
	*d = '\0';
	return out;
}

/* ---- files ---- */

static void file_play(void *ctx, const uint8_t *buf, size_t frames)
{
	struct file_port *fp = ctx;

	if (vsnd__sfio_out_write(&fp->out, buf, frames) < 0 && !fp->io_failed) {
		fp->io_failed = true;
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: writing %s: %s", fp->path,
				 fp->out.why);
	}
}

static void file_capture(void *ctx, uint8_t *buf, size_t frames)
{
	struct file_port *fp = ctx;
	uint32_t fb = fp->clock.frame_bytes;
	size_t got = fp->capture ? vsnd__sfio_in_read(&fp->in, buf, frames) : 0;

	vsnd_pcm_silence(fp->clock.format, buf + got * fb, (frames - got) * fb);
}

/* ---- ports ---- */

static void port_free(struct file_port *fp)
{
	if (!fp)
		return;
	if (fp->play && vsnd__sfio_out_close(&fp->out) < 0)
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: %s: %s", fp->path,
				 fp->out.why);
	if (fp->capture)
		vsnd__sfio_in_close(&fp->in);
	vsnd__be_clock_fini(&fp->clock);
	free(fp->path);
	free(fp);
}

static void port_unlink(struct file_be *fb, struct file_port *fp)
{
	for (struct file_port **pp = &fb->ports; *pp; pp = &(*pp)->next) {
		if (*pp == fp) {
			*pp = fp->next;
			return;
		}
	}
}

static void file_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct file_port *fp = port->priv;

	if (!fp)
		return;
	port_unlink(to_file(be), fp);
	port_free(fp);
	port->priv = NULL;
}

/* Open the file of this direction (or none: capture silence). */
static int port_open_file(struct file_port *fp, const struct vsnd_pcm_params *p)
{
	struct file_be *fb = fp->be;
	bool out = p->direction == VSND_DIR_OUTPUT;
	const char *tmpl = out ? fb->cfg.out : fb->cfg.in;
	unsigned int n = fb->opens[out ? 0 : 1]++;
	int ret;

	if (!tmpl)
		return 0;
	fp->path = expand_path(tmpl, p->stream_id, n);
	if (!fp->path)
		return -ENOMEM;
	ret = out ? vsnd__sfio_out_open(&fp->out, fp->path, p) :
		    vsnd__sfio_in_open(&fp->in, fp->path, p, fb->cfg.loop);
	if (ret < 0) {
		vsnd_backend_log(&fb->base, VSND_LOG_ERROR, "file: %s", out ? fp->out.why : fp->in.why);
		return ret;
	}
	fp->play = out;
	fp->capture = !out;
	return 0;
}

static int file_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct file_be *fb = to_file(be);
	struct file_port *fp;
	void *priv;
	int ret;

	file_close(be, port);
	ret = vsnd__be_clock_port_new(be, port, vsnd__sfio_formats(), sizeof(*fp), &priv);
	if (ret < 0)
		return ret;
	fp = priv;
	fp->be = fb;
	ret = port_open_file(fp, &port->params);
	if (ret < 0) {
		port_free(fp);
		return ret;
	}
	fp->next = fb->ports;
	fb->ports = fp;
	port->priv = fp;
	return 0;
}

static const struct be_clock_io file_io = { file_play, file_capture };

static uint64_t file_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	struct file_port *fp = port->priv;

	if (!fp)
		return UINT64_MAX;
	return vsnd__be_clock_tick(&fp->clock, port, &file_io, fp, now_ns);
}

static void file_caps(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps)
{
	caps->formats = vsnd__sfio_formats();
	caps->rates = BE_RATES_ALL;
	caps->channels_max = VSND_MAX_CHANNELS;
}

/* ---- instance ---- */

static void file_destroy(struct vsnd_backend *be)
{
	struct file_be *fb;

	if (!be)
		return;
	fb = to_file(be);
	/* Finalize what the device left open so every file gets its header. */
	while (fb->ports) {
		struct file_port *fp = fb->ports;

		fb->ports = fp->next;
		port_free(fp);
	}
	vsnd__be_opts_free(file_opts, &fb->cfg);
	free(fb);
}

static int file_create(struct vsnd_backend **out, const char *opts,
		       const struct vsnd_backend_env *env)
{
	struct file_be *fb = calloc(1, sizeof(*fb));
	int ret = -ENOMEM;

	*out = NULL;
	if (!fb)
		return ret;
	vsnd__be_base_init(&fb->base, &vsnd_backend_file, env);
	ret = vsnd__be_opts_parse("file", file_opts, opts, &fb->cfg, env);
	if (ret == 0 && !fb->cfg.out) {
		fb->cfg.out = strdup("vsnd-out-%u.wav");
		ret = fb->cfg.out ? 0 : -ENOMEM;
	}
	if (ret == 0)
		ret = check_template(&fb->base, fb->cfg.out);
	if (ret == 0)
		ret = check_template(&fb->base, fb->cfg.in);
	if (ret < 0) {
		file_destroy(&fb->base);
		return ret;
	}
	*out = &fb->base;
	return 0;
}

const struct vsnd_backend_ops vsnd_backend_file = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "file",
	.help = "out=PATH,in=PATH,loop=on|off (%u: stream id, %n: open count, %%: '%')",
	.create = file_create,
	.destroy = file_destroy,
	.caps = file_caps,
	.open = file_open,
	.start = vsnd__be_clock_port_start,
	.stop = vsnd__be_clock_port_stop,
	.close = file_close,
	.tick = file_tick,
};
