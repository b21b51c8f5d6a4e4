/* SPDX-License-Identifier: MIT */
#include "daemon/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "util/mono.h"

/* Rate limit for peer-triggered lines: a burst of LIMIT_BURST lines, then
 * LIMIT_PER_SEC per second. */
#define LIMIT_BURST 20
#define LIMIT_PER_SEC 5

static enum vsnd_log_level log_max = VSND_LOG_INFO;

static struct {
	pthread_mutex_t lock;
	double tokens;
	uint64_t last_ns;
	unsigned long suppressed;
} limiter = { PTHREAD_MUTEX_INITIALIZER, LIMIT_BURST, 0, 0 };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void vd_log_set_level(enum vsnd_log_level max)
{
	log_max = max;
}

enum vsnd_log_level vd_log_level(void)
{
	return log_max;
}

static void emit(enum vsnd_log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32] = "";

	clock_gettime(CLOCK_REALTIME, &ts);
	if (localtime_r(&ts.tv_sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	/* One fprintf per line: stdio's stream lock keeps lines whole. */
	fprintf(stderr, "%s.%03ld vsnd[%d] %s: %s\n", when, ts.tv_nsec / 1000000L, (int)getpid(),
		level_names[level <= VSND_LOG_DEBUG ? level : VSND_LOG_DEBUG], msg);
}

void vd_log(enum vsnd_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (level > log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(level, msg);
}

/* Take a token; returns how many lines were dropped before this one, or -1
 * if this one must be dropped too. */
static long limiter_take(void)
{
	uint64_t now = vsnd__mono_ns();
	long dropped = -1;

	pthread_mutex_lock(&limiter.lock);
	limiter.tokens += (double)(now - limiter.last_ns) * LIMIT_PER_SEC / 1e9;
	if (limiter.last_ns == 0 || limiter.tokens > LIMIT_BURST)
		limiter.tokens = LIMIT_BURST;
	limiter.last_ns = now;
	if (limiter.tokens >= 1.0) {
		limiter.tokens -= 1.0;
		dropped = (long)limiter.suppressed;
		limiter.suppressed = 0;
	} else {
		limiter.suppressed++;
	}
	pthread_mutex_unlock(&limiter.lock);
	return dropped;
}

void vd_log_limited(enum vsnd_log_level level, const char *msg)
{
	long dropped;

	if (level > log_max)
		return;
	dropped = limiter_take();
	if (dropped < 0)
		return;
	if (dropped > 0)
		vd_log(VSND_LOG_WARN, "(%ld repeated messages suppressed)", dropped);
	emit(level, msg);
}
