/* SPDX-License-Identifier: MIT */
#include "sfio.h"

#include <errno.h>
#include <fcntl.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsnd/pcm.h"

/* Frames per libsndfile call (bounds the per-object buffers). */
#define SFIO_CHUNK 1024u
/* Files with more channels than this are refused (bounds buffers). */
#define SFIO_MAX_CHANNELS 256

enum { SFIO_RAW, SFIO_CONVERT, SFIO_RESAMPLE };

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

uint64_t vsnd__sfio_formats(void)
{
	uint64_t formats = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
		if (wav_fmts[f].sf)
			formats |= UINT64_C(1) << f;
	}
	return formats;
}

static int why(char *buf, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int why(char *buf, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, SFIO_WHY_MAX, fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Open path for libsndfile. open(2) first, for the real errno in the
 * message (libsndfile says only "System error"); then libsndfile opens it
 * by name and owns its descriptor (whether sf_open_fd closes a descriptor
 * when it fails differs between its versions: a second close could hit
 * another thread's fd).
 */
static int sf_open_path(const char *path, int mode, SF_INFO *info, void **sf, char *w)
{
	bool wr = mode == SFM_WRITE;
	int fd = wr ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) :
		      open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		return why(w, -err, "cannot %s %s: %s", wr ? "create" : "open", path, strerror(err));
	}
	close(fd);
	*sf = sf_open(path, mode, info);
	if (!*sf)
		return why(w, -EINVAL, "cannot %s %s: %s", wr ? "write" : "read", path,
			   sf_strerror(NULL));
	return 0;
}

/* The stream <-> WAV container mapping of the raw paths. */
static int wav_map(const struct vsnd_pcm_params *p, bool to_wav, struct be_convert *cv,
		   uint8_t **wav_buf, uint32_t *wav_frame_bytes, bool *remap)
{
	unsigned int wfmt = wav_fmts[p->format].fmt;

	*wav_frame_bytes = vsnd_pcm_sample_bytes(wfmt) * p->channels;
	*remap = wfmt != p->format;
	if (!*remap)
		return 0;
	*wav_buf = malloc((size_t)SFIO_CHUNK * *wav_frame_bytes);
	if (!*wav_buf)
		return -ENOMEM;
	return to_wav ? vsnd__be_convert_init(cv, p->format, p->channels, wfmt, p->channels, SFIO_CHUNK) :
			vsnd__be_convert_init(cv, wfmt, p->channels, p->format, p->channels, SFIO_CHUNK);
}

/* ---- writer ---- */

int vsnd__sfio_out_open(struct sfio_out *out, const char *path, const struct vsnd_pcm_params *p)
{
	SF_INFO info = {
		.samplerate = (int)p->rate_hz,
		.channels = p->channels,
		.format = SF_FORMAT_WAV | (p->format < VSND_PCM_FMT_COUNT ? wav_fmts[p->format].sf : 0),
	};
	int rc;

	*out = (struct sfio_out){ .frame_bytes = p->frame_bytes };
	if (p->format >= VSND_PCM_FMT_COUNT || !wav_fmts[p->format].sf)
		return why(out->why, -EINVAL, "no WAV holds sample format %u", p->format);
	rc = wav_map(p, true, &out->cv, &out->wav_buf, &out->wav_frame_bytes, &out->remap);
	if (rc == 0)
		rc = sf_open_path(path, SFM_WRITE, &info, &out->sf, out->why);
	if (rc < 0) {
		vsnd__sfio_out_close(out);
		return rc;
	}
	/* A PEAK chunk would claim 0: raw writes bypass libsndfile's peak
	 * tracking. Must be set before any data is written. */
	sf_command(out->sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
	return 0;
}

static int out_write_chunk(struct sfio_out *out, const uint8_t *buf, size_t frames)
{
	sf_count_t bytes = (sf_count_t)(frames * out->wav_frame_bytes);

	if (out->remap) {
		vsnd__be_convert_raw(&out->cv, buf, out->wav_buf, frames);
		buf = out->wav_buf;
	}
	if (sf_write_raw(out->sf, buf, bytes) == bytes)
		return 0;
	out->failed = true;
	return why(out->why, -EIO, "%s", sf_strerror(out->sf));
}

int vsnd__sfio_out_write(struct sfio_out *out, const uint8_t *buf, size_t frames)
{
	if (out->failed || !out->sf)
		return -EIO;
	while (frames) {
		size_t n = frames < SFIO_CHUNK ? frames : SFIO_CHUNK;
		int rc = out_write_chunk(out, buf, n);

		if (rc < 0)
			return rc;
		buf += n * out->frame_bytes;
		frames -= n;
	}
	return 0;
}

int vsnd__sfio_out_close(struct sfio_out *out)
{
	int rc = 0;

	if (out->sf && sf_close(out->sf) != 0)
		rc = why(out->why, -EIO, "closing: %s", sf_strerror(NULL));
	out->sf = NULL;

	free(out->wav_buf);
	out->wav_buf = NULL;
	vsnd__be_convert_fini(&out->cv);
	return rc;
}

/* ---- reader ---- */

/* One libsndfile read of up to frames, appended at frame done of dst. */
static size_t read_once(struct sfio_in *in, void *dst, size_t done, size_t frames)
{
	sf_count_t n;

	if (in->mode == SFIO_RAW) {
		n = sf_read_raw(in->sf, (uint8_t *)dst + done * in->wav_frame_bytes,
				(sf_count_t)(frames * in->wav_frame_bytes));
		return n > 0 ? (size_t)n / in->wav_frame_bytes : 0;
	}
	n = sf_readf_double(in->sf, (double *)dst + done * in->file_ch, (sf_count_t)frames);
	return n > 0 ? (size_t)n : 0;
}

/* Read up to frames (<= SFIO_CHUNK), rewinding at the end when looping;
 * fewer only once the file is over (then in->eof). */
static size_t file_read(struct sfio_in *in, void *dst, size_t frames)
{
	size_t done = 0;
	bool rewound = false;

	while (done < frames && !in->eof) {
		size_t n = read_once(in, dst, done, frames - done);

		done += n;
		if (n)
			rewound = false;
		if (done == frames)
			break;
		/* An empty read right after a rewind: the file is empty. */
		if (!in->loop || rewound || sf_seek(in->sf, 0, SEEK_SET) < 0)
			in->eof = true;
		rewound = true;
	}
	return done;
}

static size_t read_raw(struct sfio_in *in, uint8_t *buf, size_t frames)
{
	size_t got;

	if (!in->remap)
		return file_read(in, buf, frames);
	got = file_read(in, in->wav_buf, frames);
	vsnd__be_convert_raw(&in->cv, in->wav_buf, buf, got);
	return got;
}

static size_t read_convert(struct sfio_in *in, uint8_t *buf, size_t frames)
{
	size_t got = file_read(in, in->dbuf, frames);

	vsnd__be_convert_doubles(&in->cv, in->dbuf, buf, got);
	return got;
}

/* Refill the resampler's input from the file (mapped to stream channels). */
static void resample_refill(struct sfio_in *in, unsigned int ch)
{
	struct sfio_resampler *rs = &in->rs;
	size_t got = file_read(in, in->dbuf, SFIO_CHUNK);

	vsnd__be_map_channels(in->dbuf, in->file_ch, rs->mapped, ch, got);
	for (size_t i = 0; i < got * ch; i++)
		rs->in[i] = (float)rs->mapped[i];
	rs->in_off = 0;
	rs->in_len = got;
}

static size_t read_resample(struct sfio_in *in, uint8_t *buf, size_t frames)
{
	struct sfio_resampler *rs = &in->rs;
	unsigned int ch = in->cv.out_ch;
	size_t done = 0;

	while (done < frames) {
		SRC_DATA d = { 0 };

		if (rs->in_len == 0 && !in->eof)
			resample_refill(in, ch);
		d.data_in = rs->in + rs->in_off * ch;
		d.input_frames = (long)rs->in_len;
		d.data_out = rs->out;
		d.output_frames = (long)(frames - done);
		d.end_of_input = in->eof;
		d.src_ratio = rs->ratio;
		if (src_process(rs->state, &d) != 0)
			break;
		rs->in_off += (size_t)d.input_frames_used;
		rs->in_len -= (size_t)d.input_frames_used;
		for (long i = 0; i < d.output_frames_gen * (long)ch; i++)
			rs->mapped[i] = rs->out[i];
		vsnd__be_convert_doubles(&in->cv, rs->mapped, buf + done * in->frame_bytes,
					 (size_t)d.output_frames_gen);
		done += (size_t)d.output_frames_gen;
		/* No progress: the tail is out after the end, or the
		 * converter is stuck (never spin on the device thread). */
		if (d.output_frames_gen == 0 && d.input_frames_used == 0 &&
		    (in->eof || rs->in_len > 0))
			break;
	}
	return done;
}

size_t vsnd__sfio_in_read(struct sfio_in *in, uint8_t *buf, size_t frames)
{
	size_t done = 0;

	while (done < frames && in->sf) {
		size_t want = frames - done < SFIO_CHUNK ? frames - done : SFIO_CHUNK;
		uint8_t *at = buf + done * in->frame_bytes;
		size_t got = in->mode == SFIO_RAW ? read_raw(in, at, want) :
			     in->mode == SFIO_CONVERT ? read_convert(in, at, want) :
							read_resample(in, at, want);

		done += got;
		if (got < want)
			break;
	}
	return done;
}

static bool little_endian_container(int format)
{
	int major = format & SF_FORMAT_TYPEMASK, endian = format & SF_FORMAT_ENDMASK;

	return (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX || major == SF_FORMAT_W64 ||
		major == SF_FORMAT_RF64) &&
	       (endian == SF_ENDIAN_FILE || endian == SF_ENDIAN_LITTLE);
}

static int setup_resampler(struct sfio_in *in, const struct vsnd_pcm_params *p, int file_rate)
{
	struct sfio_resampler *rs = &in->rs;
	int err = 0;

	rs->ratio = (double)p->rate_hz / file_rate;
	if (!src_is_valid_ratio(rs->ratio))
		return why(in->why, -ENOTSUP, "cannot resample %d to %u Hz", file_rate, p->rate_hz);
	rs->state = src_new(SRC_SINC_MEDIUM_QUALITY, p->channels, &err);
	rs->in = calloc((size_t)SFIO_CHUNK * p->channels, sizeof(float));
	rs->out = calloc((size_t)SFIO_CHUNK * p->channels, sizeof(float));
	rs->mapped = calloc((size_t)SFIO_CHUNK * p->channels, sizeof(double));
	if (!rs->state || !rs->in || !rs->out || !rs->mapped)
		return -ENOMEM;
	in->mode = SFIO_RESAMPLE;
	return vsnd__be_convert_init(&in->cv, VSND_PCM_FMT_FLOAT64, p->channels, p->format,
				     p->channels, SFIO_CHUNK);
}

/* Pick raw, convert or resample for the opened file; allocate buffers. */
static int setup_read(struct sfio_in *in, const struct vsnd_pcm_params *p, const SF_INFO *info)
{
	in->file_ch = (unsigned int)info->channels;
	if (little_endian_container(info->format) && info->channels == p->channels &&
	    info->samplerate == (int)p->rate_hz &&
	    (info->format & SF_FORMAT_SUBMASK) == wav_fmts[p->format].sf) {
		in->mode = SFIO_RAW;
		return wav_map(p, false, &in->cv, &in->wav_buf, &in->wav_frame_bytes, &in->remap);
	}
	in->dbuf = calloc((size_t)SFIO_CHUNK * in->file_ch, sizeof(double));
	if (!in->dbuf)
		return -ENOMEM;
	if (info->samplerate != (int)p->rate_hz)
		return setup_resampler(in, p, info->samplerate);
	in->mode = SFIO_CONVERT;
	return vsnd__be_convert_init(&in->cv, VSND_PCM_FMT_FLOAT64, in->file_ch, p->format,
				     p->channels, SFIO_CHUNK);
}

int vsnd__sfio_in_open(struct sfio_in *in, const char *path, const struct vsnd_pcm_params *p,
		       bool loop)
{
	SF_INFO info = { 0 };
	int rc;

	*in = (struct sfio_in){ .loop = loop, .frame_bytes = p->frame_bytes,
				.format = p->format };
	rc = sf_open_path(path, SFM_READ, &info, &in->sf, in->why);
	if (rc == 0 && (info.channels < 1 || info.channels > SFIO_MAX_CHANNELS || info.samplerate < 1))
		rc = why(in->why, -ENOTSUP, "%s: %d channels at %d Hz", path, info.channels,
			 info.samplerate);
	if (rc == 0 && p->format >= VSND_PCM_FMT_COUNT)
		rc = -ENOTSUP;
	if (rc == 0)
		rc = setup_read(in, p, &info);
	if (rc == -ENOTSUP && !in->why[0])
		why(in->why, rc, "no file converts to sample format %u", p->format);
	if (rc == -ENOMEM)
		why(in->why, rc, "out of memory");
	if (rc < 0)
		vsnd__sfio_in_close(in);
	return rc;
}

int64_t vsnd__sfio_in_tell(const struct sfio_in *in)
{
	sf_count_t at = in->sf ? sf_seek(in->sf, 0, SEEK_CUR) : 0;

	return at > 0 ? (int64_t)at : 0;
}

int vsnd__sfio_in_seek(struct sfio_in *in, int64_t file_frame)
{
	return in->sf && sf_seek(in->sf, (sf_count_t)file_frame, SEEK_SET) >= 0 ? 0 : -EINVAL;
}

void vsnd__sfio_in_close(struct sfio_in *in)
{
	if (in->sf)
		sf_close(in->sf);
	in->sf = NULL;
	if (in->rs.state)
		src_delete(in->rs.state);
	free(in->rs.in);
	free(in->rs.out);
	free(in->rs.mapped);
	free(in->dbuf);
	free(in->wav_buf);
	vsnd__be_convert_fini(&in->cv);
	in->rs = (struct sfio_resampler){ 0 };
	in->dbuf = NULL;
	in->wav_buf = NULL;
}
