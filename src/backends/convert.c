/* SPDX-License-Identifier: MIT */
#include "convert.h"

#include <errno.h>
#include <stdlib.h>

#include "vsnd/pcm.h"

int vsnd__be_convert_init(struct be_convert *cv, unsigned int in_fmt, unsigned int in_ch,
		    unsigned int out_fmt, unsigned int out_ch, size_t max_frames)
{
	*cv = (struct be_convert){ in_fmt, in_ch, out_fmt, out_ch, max_frames, NULL, NULL };
	if (!vsnd_pcm_is_linear(in_fmt) || !vsnd_pcm_is_linear(out_fmt) || !in_ch || !out_ch)
		return -ENOTSUP;
	cv->in = calloc(max_frames * in_ch, sizeof(double));
	cv->out = calloc(max_frames * out_ch, sizeof(double));
	if (!cv->in || !cv->out) {
		vsnd__be_convert_fini(cv);
		return -ENOMEM;
	}
	return 0;
}

void vsnd__be_convert_fini(struct be_convert *cv)
{
	if (!cv)
		return;
	free(cv->in);
	free(cv->out);
	cv->in = cv->out = NULL;
}

void vsnd__be_map_channels(const double *src, unsigned int src_ch, double *dst, unsigned int dst_ch,
		     size_t frames)
{
	for (size_t f = 0; f < frames; f++, src += src_ch, dst += dst_ch) {
		for (unsigned int c = 0; c < dst_ch; c++) {
			if (src_ch == 1)
				dst[c] = src[0];
			else
				dst[c] = c < src_ch ? src[c] : 0.0;
		}
	}
}

void vsnd__be_convert_doubles(struct be_convert *cv, const double *src, void *dst, size_t frames)
{
	if (cv->in_ch != cv->out_ch) {
		vsnd__be_map_channels(src, cv->in_ch, cv->out, cv->out_ch, frames);
		src = cv->out;
	}
	/* Both formats were checked linear at init: this cannot fail. */
	vsnd_pcm_from_double(cv->out_fmt, src, dst, frames * cv->out_ch);
}

void vsnd__be_convert_raw(struct be_convert *cv, const void *src, void *dst, size_t frames)
{
	vsnd_pcm_to_double(cv->in_fmt, src, cv->in, frames * cv->in_ch);
	vsnd__be_convert_doubles(cv, cv->in, dst, frames);
}
