/* SPDX-License-Identifier: MIT */
/*
 * Frame conversion between sample formats and channel counts, through
 * doubles (vsnd_pcm_to_double / vsnd_pcm_from_double). Channels follow one
 * rule everywhere: a mono source feeds every channel, extra source channels
 * are dropped, missing ones are silent. Device thread; no allocation after
 * init.
 */
#ifndef VSND_BACKENDS_CONVERT_H
#define VSND_BACKENDS_CONVERT_H

#include <stddef.h>

struct be_convert {
	unsigned int in_fmt, in_ch;
	unsigned int out_fmt, out_ch;
	size_t max_frames;
	double *in;   /* max_frames * in_ch */
	double *out;  /* max_frames * out_ch */
};

/* Returns 0, -ENOMEM, or -ENOTSUP when a format has no linear meaning. */
int vsnd__be_convert_init(struct be_convert *cv, unsigned int in_fmt, unsigned int in_ch,
		    unsigned int out_fmt, unsigned int out_ch, size_t max_frames);
/* NULL-safe; idempotent. */
void vsnd__be_convert_fini(struct be_convert *cv);
/* Convert frames (<= max_frames) of raw in_fmt samples to out_fmt. */
void vsnd__be_convert_raw(struct be_convert *cv, const void *src, void *dst, size_t frames);
/* Convert frames (<= max_frames) of in_ch-channel doubles to out_fmt. */
void vsnd__be_convert_doubles(struct be_convert *cv, const double *src, void *dst, size_t frames);
/* The channel rule alone, on doubles. */
void vsnd__be_map_channels(const double *src, unsigned int src_ch, double *dst, unsigned int dst_ch,
		     size_t frames);

#endif
