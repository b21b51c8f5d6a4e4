/* SPDX-License-Identifier: MIT */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/abi.h"
#include "vsnd/pcm.h"

static void be_env_vlog(const struct vsnd_backend_env *env, enum vsnd_log_level level,
			const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

static void be_env_vlog(const struct vsnd_backend_env *env, enum vsnd_log_level level,
			const char *fmt, va_list ap)
{
	char msg[512];

	if (!env || !env->log)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	env->log(env->opaque, level, msg);
}

void vsnd__be_env_log(const struct vsnd_backend_env *env, enum vsnd_log_level level,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	be_env_vlog(env, level, fmt, ap);
	va_end(ap);
}

void vsnd_backend_log(const struct vsnd_backend *be, enum vsnd_log_level level,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	be_env_vlog(be ? &be->env : NULL, level, fmt, ap);
	va_end(ap);
}

void vsnd__be_base_init(struct vsnd_backend *be, const struct vsnd_backend_ops *ops,
		  const struct vsnd_backend_env *env)
{
	be->ops = ops;
	/* an older host's env is shorter: the rest stays 0 (be was zeroed) */
	if (env)
		memcpy(&be->env, env, vsnd__abi_len(env, sizeof(be->env)));
}

void vsnd__be_caps_bytewise(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps)
{
	caps->formats = vsnd__be_formats_bytewise();
	caps->rates = BE_RATES_ALL;
	caps->channels_max = VSND_MAX_CHANNELS;
}

void vsnd__be_list_append(char *buf, size_t size, const char *s)
{
	size_t used = strnlen(buf, size);

	if (used + 1 >= size)
		return;
	snprintf(buf + used, size - used, "%s%s", used ? ", " : "", s);
}

uint64_t vsnd__be_formats_bytewise(void)
{
	uint64_t formats = 0;

	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++) {
		if (vsnd_pcm_sample_bytes(f))
			formats |= UINT64_C(1) << f;
	}
	return formats;
}

int vsnd__be_check_params(struct vsnd_backend *be, const struct vsnd_port *port, uint64_t formats)
{
	const struct vsnd_pcm_params *p = &port->params;

	if (p->format >= VSND_PCM_FMT_COUNT || !(formats >> p->format & 1)) {
		vsnd_backend_log(be, VSND_LOG_ERROR, "%s: stream %u: format %u not supported",
				 be->ops->name, p->stream_id, p->format);
		return -ENOTSUP;
	}
	if (p->channels < 1 || p->channels > VSND_MAX_CHANNELS || p->rate_hz == 0 ||
	    p->frame_bytes != p->channels * vsnd_pcm_sample_bytes(p->format) ||
	    p->period_bytes < p->frame_bytes) {
		vsnd_backend_log(be, VSND_LOG_ERROR,
				 "%s: stream %u: bad parameters (%u ch, %u Hz, frame %u B, period %u B)",
				 be->ops->name, p->stream_id, p->channels, p->rate_hz,
				 p->frame_bytes, p->period_bytes);
		return -EINVAL;
	}
	return 0;
}
