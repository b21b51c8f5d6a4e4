/* SPDX-License-Identifier: MIT */
#include "fakehost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fh_log_init(struct fh_log *log)
{
	memset(log, 0, sizeof(*log));
	/* read once here, not per line: the fuzz targets log a lot */
	log->print = getenv(FH_LOG_ENV) != NULL;
}

void fh_log_add(struct fh_log *log, int level, const char *msg)
{
	size_t room = sizeof(log->all) - log->used;

	log->count++;
	snprintf(log->last, sizeof(log->last), "%s", msg);
	if (room > 1) {
		int n = snprintf(log->all + log->used, room, "%s\n", msg);

		log->used += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
	}
	if (log->print)
		fprintf(stderr, "[%d] %s\n", level, msg);
}

bool fh_log_has(const struct fh_log *log, const char *s)
{
	return strstr(log->all, s) != NULL;
}

static void fh_env_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	fh_log_add(opaque, (int)level, msg);
}

struct vsnd_backend_env fh_log_env(struct fh_log *log)
{
	fh_log_init(log);
	return (struct vsnd_backend_env){
		.size = sizeof(struct vsnd_backend_env), .log = fh_env_log, .opaque = log,
	};
}

static void fh_host_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	fh_log_add(&((struct fakehost *)opaque)->log, (int)level, msg);
}

static uint64_t fh_now(void *opaque)
{
	struct fakehost *h = opaque;

	h->now += h->now_step;
	return h->now;
}

static void fh_set_timer(void *opaque, uint64_t deadline)
{
	((struct fakehost *)opaque)->timer = deadline;
}

static void fh_wake(void *opaque)
{
	atomic_fetch_add_explicit(&((struct fakehost *)opaque)->wakes, 1, memory_order_relaxed);
}

const struct vsnd_host_ops fh_ops = {
	.size = sizeof(struct vsnd_host_ops),
	.log = fh_host_log,
	.now_ns = fh_now,
	.set_timer = fh_set_timer,
	.wake = fh_wake,
};

void fh_init(struct fakehost *h, uint64_t now)
{
	h->now = now;
	h->now_step = 0;
	h->timer = UINT64_MAX;
	atomic_init(&h->wakes, 0);
	fh_log_init(&h->log);
}

/* A deadline that does advance, however little, is legal (one-frame
 * periods at 384 kHz); this many in a row that do not is a spinning device. */
#define FH_MAX_STUCK 1000

unsigned long fh_run_until(struct fakehost *h, uint64_t t, unsigned long max_fires,
			   void (*fire)(void *arg), void *arg)
{
	unsigned long n = 0;
	unsigned int stuck = 0;

	for (; h->timer <= t && n < max_fires; n++) {
		if (h->timer > h->now) {
			h->now = h->timer;
			stuck = 0;
		} else if (++stuck > FH_MAX_STUCK) {
			fprintf(stderr, "fakehost: the device re-arms a deadline already reached "
				"(now %llu, deadline %llu)\n", (unsigned long long)h->now,
				(unsigned long long)h->timer);
			abort();
		}
		h->timer = UINT64_MAX;
		fire(arg);
	}
	h->now = t;
	return n;
}

uint64_t fh_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
