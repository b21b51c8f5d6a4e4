/* SPDX-License-Identifier: MIT */
/* Internals shared by the backends (not installed). Device thread only. */
#ifndef VSND_BACKENDS_COMMON_H
#define VSND_BACKENDS_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "vsnd/backend.h"

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Every rate of the virtio table. */
#define BE_RATES_ALL ((UINT64_C(1) << VSND_PCM_RATE_COUNT) - 1)

/* Log through an env before a backend exists (options parsing). A NULL env
 * or log callback drops the message. */
void vsnd__be_env_log(const struct vsnd_backend_env *env, enum vsnd_log_level level,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fill the base of a new instance (env may be NULL: no logging). */
void vsnd__be_base_init(struct vsnd_backend *be, const struct vsnd_backend_ops *ops,
		  const struct vsnd_backend_env *env);

/* caps() carrying every byte-wise format, every rate, VSND_MAX_CHANNELS. */
void vsnd__be_caps_bytewise(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps);

/* Append ", " (unless buf is empty) and s to the string in buf, truncating
 * at size. For the "valid choices" lists of error messages. */
void vsnd__be_list_append(char *buf, size_t size, const char *s);

/* Formats with a whole-byte sample (all but IMA_ADPCM). */
uint64_t vsnd__be_formats_bytewise(void);

/*
 * Check that port->params describe a stream this backend can run: a format
 * in `formats`, 1..VSND_MAX_CHANNELS channels, a nonzero rate, frame_bytes
 * matching format and channels, period_bytes at least one frame (a
 * remainder past whole frames is ignored).
 * Returns 0 or -EINVAL / -ENOTSUP (logged).
 */
int vsnd__be_check_params(struct vsnd_backend *be, const struct vsnd_port *port, uint64_t formats);

#endif
