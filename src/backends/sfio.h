/* SPDX-License-Identifier: MIT */
/*
 * Sound files in a stream's own format, with libsndfile: a reader that
 * delivers any file libsndfile reads as frames of the stream (bit-exact
 * when the file holds the stream's format, channels and rate; otherwise
 * converted: channels by the rule of convert.h, format through doubles,
 * rate with libsamplerate), and a writer that keeps a stream's frames in a
 * WAV, bit-exact. The file backend is built on them, and so are the
 * daemon's run-time inject and tap (a copy of this module is linked into
 * the daemon: libvsnd keeps it internal).
 *
 * WAV holds U8, S16, S24_3, S32, FLOAT, FLOAT64, MU_LAW and A_LAW natively:
 * their bytes are written as they are (sf_write_raw). The others go
 * losslessly to the nearest WAV container:
 *   S8 -> U8 (sign bit flipped), U16 -> S16 (sign flip),
 *   S18_3, S20_3 -> PCM_24 shifted left by 6 / 4 bits,
 *   S20, S24 (4-byte containers) -> PCM_24 (shifted left by 4 / 0),
 *   U18_3, U20_3, U24_3, U20, U24 -> as their signed twin after a sign flip,
 *   U32 -> S32 (sign flip).
 * Every one of these is the integer scaling of util/sample_convert.c (v / 2^(b-1)
 * into a wider container), exact both ways, so reading such a file back in
 * the same stream format gives the original bytes.
 * Not carried: IMA_ADPCM (no whole-byte samples), DSD_U8/U16/U32 and
 * IEC958_SUBFRAME (no WAV holds them, and they have no linear meaning to
 * convert from).
 *
 * The WAV is plain (WAVE_FORMAT_PCM / IEEE_FLOAT / MULAW / ALAW, not
 * EXTENSIBLE nor RF64) so that simple readers (Python's wave module, for
 * integer PCM) take it; like any WAV its header cannot describe more than
 * 4 GiB (over 6 h of 48 kHz stereo S16).
 *
 * Errors: functions return 0 or a negative errno and leave a sentence in
 * `why` for the caller to log or answer with. One thread per object.
 */
#ifndef VSND_BACKENDS_SFIO_H
#define VSND_BACKENDS_SFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "convert.h"
#include "vsnd/backend.h"

#define SFIO_WHY_MAX 256

/* The formats a WAV carries (bitmap of VSND_PCM_FMT_*). */
uint64_t vsnd__sfio_formats(void);

struct sfio_resampler {
	void *state;      /* SRC_STATE */
	double ratio;
	float *in;        /* SFIO_CHUNK * channels, pending input */
	float *out;
	double *mapped;   /* SFIO_CHUNK * channels */
	size_t in_off, in_len;
};

struct sfio_in {
	void *sf;                  /* SNDFILE */
	int mode;                  /* raw, convert or resample */
	unsigned int file_ch;
	uint32_t frame_bytes;      /* the stream's */
	uint32_t wav_frame_bytes;  /* raw: the file's */
	uint8_t format;            /* the stream's */
	bool remap;                /* raw: stream format != file format */
	bool eof, loop;
	struct be_convert cv;      /* remap, or file doubles -> stream */
	uint8_t *wav_buf;          /* SFIO_CHUNK file frames (remap) */
	double *dbuf;              /* SFIO_CHUNK * file_ch (convert) */
	struct sfio_resampler rs;
	char why[SFIO_WHY_MAX];
};

/* Open path for reading as frames of p's format, channels and rate; loop:
 * rewind at the end. 0, -errno of open(2), -EINVAL (not a sound file),
 * -ENOTSUP (a format or rate it cannot convert), -ENOMEM. On failure *in
 * is closed (sfio_in_close is still safe). */
int vsnd__sfio_in_open(struct sfio_in *in, const char *path, const struct vsnd_pcm_params *p,
		       bool loop);
/* Up to frames into buf; fewer only once the file is over (then in->eof). */
size_t vsnd__sfio_in_read(struct sfio_in *in, uint8_t *buf, size_t frames);
/* Where the reader is, in the file's frames (for reopening elsewhere). */
int64_t vsnd__sfio_in_tell(const struct sfio_in *in);
int vsnd__sfio_in_seek(struct sfio_in *in, int64_t file_frame);
void vsnd__sfio_in_close(struct sfio_in *in);

struct sfio_out {
	void *sf;                  /* SNDFILE */
	uint32_t frame_bytes, wav_frame_bytes;
	bool remap, failed;
	struct be_convert cv;
	uint8_t *wav_buf;          /* SFIO_CHUNK WAV frames (remap) */
	char why[SFIO_WHY_MAX];
};

/* Create (truncate) a WAV at path for frames of p's format. 0, -errno of
 * open(2), -EINVAL (a format no WAV holds), -ENOMEM. */
int vsnd__sfio_out_open(struct sfio_out *out, const char *path, const struct vsnd_pcm_params *p);
/* Append frames. -EIO on the first failed write (why says it), then
 * -EIO silently: the caller logs once. */
int vsnd__sfio_out_write(struct sfio_out *out, const uint8_t *buf, size_t frames);
/* Finalize the header and close. 0 or -EIO (why). Safe on a closed one. */
int vsnd__sfio_out_close(struct sfio_out *out);

#endif
