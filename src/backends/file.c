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
 * Playback is bit-exact. WAV holds U8, S16, S24_3, S32, FLOAT, FLOAT64,
 * MU_LAW and A_LAW natively: their bytes are written as they are
 * (sf_write_raw). The others go losslessly to the nearest WAV container:
 *   S8 -> U8 (sign bit flipped), U16 -> S16 (sign flip),
 *   S18_3, S20_3 -> PCM_24 shifted left by 6 / 4 bits,
 *   S20, S24 (4-byte containers) -> PCM_24 (shifted left by 4 / 0),
 *   U18_3, U20_3, U24_3, U20, U24 -> as their signed twin after a sign flip,
 *   U32 -> S32 (sign flip).
 * Every one of these is the integer scaling of pcm_convert.c (v / 2^(b-1)
 * into a wider container), exact both ways, so capture from such a file in
 * the same stream format gives back the original bytes.
 * Not carried: IMA_ADPCM (no whole-byte samples), DSD_U8/U16/U32 and
 * IEC958_SUBFRAME (no WAV holds them, and they have no linear meaning to
 * convert from).
 *
 * Underruns are written as the silence the clock played: the file is the
 * timeline a speaker would have heard, so gaps show.
 *
 * The file is a plain WAV (WAVE_FORMAT_PCM / IEEE_FLOAT / MULAW / ALAW, not
 * EXTENSIBLE nor RF64) so that simple readers (Python's wave module, for
 * integer PCM) take it; like any WAV its header cannot describe more than
 * 4 GiB (over 6 h of 48 kHz stereo S16). A failed write is logged once.
 *
 * Capture: a file whose sample format, channels and rate match the stream is
 * delivered raw (sf_read_raw, the mapping above in reverse); otherwise it is
 * converted: channels by the rule of convert.h, format through doubles, rate
 * with libsamplerate (SRC_SINC_MEDIUM_QUALITY, streaming).
 */
#include <errno.h>
#include <fcntl.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "common.h"
#include "convert.h"
#include "opts.h"
#include "vsnd/pcm.h"

/* Capture files with more channels than this are refused (bounds buffers). */
#define FILE_MAX_CHANNELS 256

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

/* Stream format -> the WAV-native format holding it and libsndfile's name. */
struct wav_fmt {
	uint8_t fmt;
	int sf;      /* 0: not carried */
};

static const struct wav_fmt wav_fmts[VSND_PCM_FMT_COUNT] = {
	[VSND_PCM_FMT_MU_LAW] = { VSND_PCM_FMT_MU_LAW, SF_FORMAT_ULAW },
	[VSND_PCM_FMT_A_LAW] = { VSND_PCM_FMT_A_LAW, SF_FORMAT_ALAW },
	[VSND_PCM_FMT_S8] = { VSND_PCM_FMT_U8, SF_FORMAT_PCM_U8 },
	[VSND_PCM_FMT_U8] = { VSND_PCM_FMT_U8, SF_FORMAT_PCM_U8 },
	[VSND_PCM_FMT_S16] = { VSND_PCM_FMT_S16, SF_FORMAT_PCM_16 },
	[VSND_PCM_FMT_U16] = { VSND_PCM_FMT_S16, SF_FORMAT_PCM_16 },
	[VSND_PCM_FMT_S18_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_U18_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_S20_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_U20_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_S24_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_U24_3] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_S20] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_U20] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_S24] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_U24] = { VSND_PCM_FMT_S24_3, SF_FORMAT_PCM_24 },
	[VSND_PCM_FMT_S32] = { VSND_PCM_FMT_S32, SF_FORMAT_PCM_32 },
	[VSND_PCM_FMT_U32] = { VSND_PCM_FMT_S32, SF_FORMAT_PCM_32 },
	[VSND_PCM_FMT_FLOAT] = { VSND_PCM_FMT_FLOAT, SF_FORMAT_FLOAT },
	[VSND_PCM_FMT_FLOAT64] = { VSND_PCM_FMT_FLOAT64, SF_FORMAT_DOUBLE },
};

enum file_mode {
	FILE_PLAY,       /* writing out= */
	FILE_SILENCE,    /* capture without in= */
	FILE_RAW,        /* capture, same format/channels/rate */
	FILE_CONVERT,    /* capture, same rate */
	FILE_RESAMPLE,   /* capture, another rate */
};

struct file_resampler {
	SRC_STATE *state;
	double ratio;
	float *in;        /* BE_CHUNK_FRAMES * channels, pending input */
	float *out;
	double *mapped;   /* BE_CHUNK_FRAMES * channels */
	size_t in_off, in_len;
};

struct file_port {
	struct be_clock clock;     /* first: vsnd__be_clock_port_start/stop */
	struct file_be *be;
	struct file_port *next;
	enum file_mode mode;
	char *path;
	int fd;
	SNDFILE *sf;
	unsigned int file_ch;
	uint32_t wav_frame_bytes;
	bool remap;                /* stream format != file format (raw paths) */
	bool eof, loop, io_failed;
	struct be_convert cv;      /* remap, or file doubles -> stream */
	uint8_t *wav_buf;          /* BE_CHUNK_FRAMES file frames (remap) */
	double *dbuf;              /* BE_CHUNK_FRAMES * file_ch (convert) */
	struct file_resampler rs;
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

/*
 * Open fp->path for libsndfile. The descriptor is ours (close_desc false):
 * open(2) gives the real errno for the log, and whether libsndfile closes
 * a descriptor on a failed sf_open_fd differs between its versions.
 * Returns 0, -errno of open(2), or -EINVAL (not a sound file libsndfile
 * reads, or a format it cannot write).
 */
static int file_sf_open(struct file_port *fp, int mode, SF_INFO *info)
{
	bool wr = mode == SFM_WRITE;

	fp->fd = wr ? open(fp->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) :
		      open(fp->path, O_RDONLY | O_CLOEXEC);
	if (fp->fd < 0) {
		int err = errno;

		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: cannot %s %s: %s",
				 wr ? "create" : "open", fp->path, strerror(err));
		return -err;
	}
	fp->sf = sf_open_fd(fp->fd, mode, info, SF_FALSE);
	if (!fp->sf) {
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: cannot %s %s: %s",
				 wr ? "write" : "read", fp->path, sf_strerror(NULL));
		return -EINVAL;
	}
	return 0;
}

/* ---- playback ---- */

/* The stream <-> WAV mapping for the raw paths (playback and FILE_RAW). */
static int setup_wav_map(struct file_port *fp, const struct vsnd_pcm_params *p)
{
	unsigned int wfmt = wav_fmts[p->format].fmt;
	int ret;

	fp->wav_frame_bytes = vsnd_pcm_sample_bytes(wfmt) * p->channels;
	fp->remap = wfmt != p->format;
	if (!fp->remap)
		return 0;
	fp->wav_buf = malloc((size_t)BE_CHUNK_FRAMES * fp->wav_frame_bytes);
	if (!fp->wav_buf)
		return -ENOMEM;
	if (p->direction == VSND_DIR_OUTPUT)
		ret = vsnd__be_convert_init(&fp->cv, p->format, p->channels, wfmt, p->channels,
				      BE_CHUNK_FRAMES);
	else
		ret = vsnd__be_convert_init(&fp->cv, wfmt, p->channels, p->format, p->channels,
				      BE_CHUNK_FRAMES);
	return ret;
}


static void file_play(void *ctx, const uint8_t *buf, size_t frames)
{
	struct file_port *fp = ctx;
	sf_count_t bytes = (sf_count_t)(frames * fp->wav_frame_bytes);

	if (fp->remap) {
		vsnd__be_convert_raw(&fp->cv, buf, fp->wav_buf, frames);
		buf = fp->wav_buf;
	}
	if (sf_write_raw(fp->sf, buf, bytes) != bytes && !fp->io_failed) {
		fp->io_failed = true;
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: writing %s: %s", fp->path,
				 sf_strerror(fp->sf));
	}
}

static int open_out(struct file_port *fp, const struct vsnd_pcm_params *p)
{
	SF_INFO info = {
		.samplerate = (int)p->rate_hz,
		.channels = p->channels,
		.format = SF_FORMAT_WAV | wav_fmts[p->format].sf,
	};
	int ret = setup_wav_map(fp, p);

	if (ret == 0)
		ret = file_sf_open(fp, SFM_WRITE, &info);
	if (ret < 0)
		return ret;
	/* A PEAK chunk would claim 0: raw writes bypass libsndfile's peak
	 * tracking. Must be set before any data is written. */
	sf_command(fp->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	fp->mode = FILE_PLAY;
	return 0;
}

/* ---- capture ---- */

/* One libsndfile read of up to frames, appended at frame done of dst. */
static size_t read_once(struct file_port *fp, void *dst, size_t done, size_t frames)
{
	sf_count_t n;

	if (fp->mode == FILE_RAW) {
		n = sf_read_raw(fp->sf, (uint8_t *)dst + done * fp->wav_frame_bytes,
				(sf_count_t)(frames * fp->wav_frame_bytes));
		return n > 0 ? (size_t)n / fp->wav_frame_bytes : 0;
	}
	n = sf_readf_double(fp->sf, (double *)dst + done * fp->file_ch, (sf_count_t)frames);
	return n > 0 ? (size_t)n : 0;
}

/* Read up to frames, rewinding at the end when looping; fewer only once
 * the file is over (then fp->eof). */
static size_t file_read(struct file_port *fp, void *dst, size_t frames)
{
	size_t done = 0;
	bool rewound = false;

	while (done < frames && !fp->eof) {
		size_t n = read_once(fp, dst, done, frames - done);

		done += n;
		if (n)
			rewound = false;
		if (done == frames)
			break;
		/* An empty read right after a rewind: the file is empty. */
		if (!fp->loop || rewound || sf_seek(fp->sf, 0, SEEK_SET) < 0)
			fp->eof = true;
		rewound = true;
	}
	return done;
}

static size_t capture_raw(struct file_port *fp, uint8_t *buf, size_t frames)
{
	size_t got;

	if (!fp->remap)
		return file_read(fp, buf, frames);
	got = file_read(fp, fp->wav_buf, frames);
	vsnd__be_convert_raw(&fp->cv, fp->wav_buf, buf, got);
	return got;
}

static size_t capture_convert(struct file_port *fp, uint8_t *buf, size_t frames)
{
	size_t got = file_read(fp, fp->dbuf, frames);

	vsnd__be_convert_doubles(&fp->cv, fp->dbuf, buf, got);
	return got;
}

/* Refill the resampler's input from the file (mapped to stream channels). */
static void resample_refill(struct file_port *fp, unsigned int ch)
{
	struct file_resampler *rs = &fp->rs;
	size_t got = file_read(fp, fp->dbuf, BE_CHUNK_FRAMES);

	vsnd__be_map_channels(fp->dbuf, fp->file_ch, rs->mapped, ch, got);
	for (size_t i = 0; i < got * ch; i++)
		rs->in[i] = (float)rs->mapped[i];
	rs->in_off = 0;
	rs->in_len = got;
}

static size_t capture_resample(struct file_port *fp, uint8_t *buf, size_t frames)
{
	struct file_resampler *rs = &fp->rs;
	unsigned int ch = fp->cv.out_ch;
	size_t done = 0;

	while (done < frames) {
		SRC_DATA d = { 0 };

		if (rs->in_len == 0 && !fp->eof)
			resample_refill(fp, ch);
		d.data_in = rs->in + rs->in_off * ch;
		d.input_frames = (long)rs->in_len;
		d.data_out = rs->out;
		d.output_frames = (long)(frames - done);
		d.end_of_input = fp->eof;
		d.src_ratio = rs->ratio;
		if (src_process(rs->state, &d) != 0)
			break;
		rs->in_off += (size_t)d.input_frames_used;
		rs->in_len -= (size_t)d.input_frames_used;
		for (long i = 0; i < d.output_frames_gen * (long)ch; i++)
			rs->mapped[i] = rs->out[i];
		vsnd__be_convert_doubles(&fp->cv, rs->mapped, buf + done * fp->clock.frame_bytes,
				   (size_t)d.output_frames_gen);
		done += (size_t)d.output_frames_gen;
		/* No progress: the tail is out after the end, or the
		 * converter is stuck (never spin in a tick). */
		if (d.output_frames_gen == 0 && d.input_frames_used == 0 &&
		    (fp->eof || rs->in_len > 0))
			break;
	}
	return done;
}

static void file_capture(void *ctx, uint8_t *buf, size_t frames)
{
	struct file_port *fp = ctx;
	uint32_t fb = fp->clock.frame_bytes;
	size_t got = 0;

	if (fp->mode == FILE_RAW)
		got = capture_raw(fp, buf, frames);
	else if (fp->mode == FILE_CONVERT)
		got = capture_convert(fp, buf, frames);
	else if (fp->mode == FILE_RESAMPLE)
		got = capture_resample(fp, buf, frames);
	vsnd_pcm_silence(fp->clock.format, buf + got * fb, (frames - got) * fb);
}

static bool little_endian_container(int format)
{
	int major = format & SF_FORMAT_TYPEMASK, endian = format & SF_FORMAT_ENDMASK;

	return (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX || major == SF_FORMAT_W64 ||
		major == SF_FORMAT_RF64) &&
	       (endian == SF_ENDIAN_FILE || endian == SF_ENDIAN_LITTLE);
}

static int setup_resampler(struct file_port *fp, const struct vsnd_pcm_params *p, int file_rate)
{
	struct file_resampler *rs = &fp->rs;
	int err = 0;

	rs->ratio = (double)p->rate_hz / file_rate;
	if (!src_is_valid_ratio(rs->ratio)) {
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: %s: cannot resample %d to %u Hz",
				 fp->path, file_rate, p->rate_hz);
		return -ENOTSUP;
	}
	rs->state = src_new(SRC_SINC_MEDIUM_QUALITY, p->channels, &err);
	rs->in = calloc((size_t)BE_CHUNK_FRAMES * p->channels, sizeof(float));
	rs->out = calloc((size_t)BE_CHUNK_FRAMES * p->channels, sizeof(float));
	rs->mapped = calloc((size_t)BE_CHUNK_FRAMES * p->channels, sizeof(double));
	if (!rs->state || !rs->in || !rs->out || !rs->mapped)
		return -ENOMEM;
	fp->mode = FILE_RESAMPLE;
	return vsnd__be_convert_init(&fp->cv, VSND_PCM_FMT_FLOAT64, p->channels, p->format,
			       p->channels, BE_CHUNK_FRAMES);
}

/* Pick raw, convert or resample for the opened file; allocate buffers. */
static int setup_capture(struct file_port *fp, const struct vsnd_pcm_params *p, const SF_INFO *info)
{
	fp->file_ch = (unsigned int)info->channels;
	if (little_endian_container(info->format) && info->channels == p->channels &&
	    info->samplerate == (int)p->rate_hz &&
	    (info->format & SF_FORMAT_SUBMASK) == wav_fmts[p->format].sf) {
		fp->mode = FILE_RAW;
		return setup_wav_map(fp, p);
	}
	fp->dbuf = calloc((size_t)BE_CHUNK_FRAMES * fp->file_ch, sizeof(double));
	if (!fp->dbuf)
		return -ENOMEM;
	if (info->samplerate != (int)p->rate_hz)
		return setup_resampler(fp, p, info->samplerate);
	fp->mode = FILE_CONVERT;
	return vsnd__be_convert_init(&fp->cv, VSND_PCM_FMT_FLOAT64, fp->file_ch, p->format,
			       p->channels, BE_CHUNK_FRAMES);
}

static int open_in(struct file_port *fp, const struct vsnd_pcm_params *p)
{
	SF_INFO info = { 0 };
	int ret = file_sf_open(fp, SFM_READ, &info);

	if (ret < 0)
		return ret;
	if (info.channels < 1 || info.channels > FILE_MAX_CHANNELS || info.samplerate < 1) {
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: %s: %d channels at %d Hz",
				 fp->path, info.channels, info.samplerate);
		return -ENOTSUP;
	}
	return setup_capture(fp, p, &info);
}

/* ---- ports ---- */

static void port_free(struct file_port *fp)
{
	if (!fp)
		return;
	if (fp->sf && sf_close(fp->sf) != 0)
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: closing %s: %s", fp->path,
				 sf_strerror(NULL));
	if (fp->fd >= 0 && close(fp->fd) != 0)
		vsnd_backend_log(&fp->be->base, VSND_LOG_ERROR, "file: closing %s: %s", fp->path,
				 strerror(errno));
	if (fp->rs.state)
		src_delete(fp->rs.state);
	free(fp->rs.in);
	free(fp->rs.out);
	free(fp->rs.mapped);
	free(fp->dbuf);
	free(fp->wav_buf);
	vsnd__be_convert_fini(&fp->cv);
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

	fp->mode = FILE_SILENCE;
	if (!tmpl)
		return 0;
	fp->path = expand_path(tmpl, p->stream_id, n);
	if (!fp->path)
		return -ENOMEM;
	return out ? open_out(fp, p) : open_in(fp, p);
}

static uint64_t file_formats(void)
{
	uint64_t formats = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
		if (wav_fmts[f].sf)
			formats |= UINT64_C(1) << f;
	}
	return formats;
}

static int file_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct file_be *fb = to_file(be);
	struct file_port *fp;
	void *priv;
	int ret;

	file_close(be, port);
	ret = vsnd__be_clock_port_new(be, port, file_formats(), sizeof(*fp), &priv);
	if (ret < 0)
		return ret;
	fp = priv;
	fp->be = fb;
	fp->fd = -1;
	fp->loop = fb->cfg.loop;
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
	caps->formats = file_formats();
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
