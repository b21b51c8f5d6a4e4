/* SPDX-License-Identifier: MIT */
/*
 * The daemon's log: one line per message on stderr, with a timestamp and a
 * level. Lines that a guest or a frontend can trigger go through
 * vd_log_limited(), which keeps a burst and then drops lines (and says how
 * many) so a hostile peer cannot flood the log.
 *
 * Threading: any thread (a mutex guards the rate limiter; never call it
 * from a real-time audio callback).
 */
#ifndef VSND_DAEMON_LOG_H
#define VSND_DAEMON_LOG_H

#include <vsnd/vsnd.h>

/* Print messages up to this level (VSND_LOG_ERROR .. VSND_LOG_DEBUG). */
void vd_log_set_level(enum vsnd_log_level max);
enum vsnd_log_level vd_log_level(void);

void vd_log(enum vsnd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One line that a peer may trigger at will (rate-limited). */
void vd_log_limited(enum vsnd_log_level level, const char *msg);

#endif
