/* SPDX-License-Identifier: MIT */
/*
 * The host services a test gives the device model (struct vsnd_host_ops)
 * and the backends (struct vsnd_backend_env), faked once for every test
 * and fuzz target: a clock that moves only when the test moves it, the
 * deadline the device armed, and a log sink the test can query. Public
 * headers only and no cmocka, so libFuzzer targets and the ABI test link
 * it too.
 */
#ifndef VSND_TEST_FAKEHOST_H
#define VSND_TEST_FAKEHOST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vsnd/backend.h"
#include "vsnd/vsnd.h"

/* Set in the environment, every sink also prints its lines to stderr. */
#define FH_LOG_ENV "VSND_TEST_LOG"

/* The lines logged into it. */
struct fh_log {
	unsigned int count;
	char last[512];
	char all[4096];         /* one line each, until full */
	size_t used;            /* bytes of all */
	bool print;             /* FH_LOG_ENV was set at fh_log_init() */
};

void fh_log_init(struct fh_log *log);
/* Record one line (level as in enum vsnd_log_level). */
void fh_log_add(struct fh_log *log, int level, const char *msg);
/* Does any line logged so far contain s? */
bool fh_log_has(const struct fh_log *log, const char *s);
/* Initialise log and return a backend environment that logs into it. */
struct vsnd_backend_env fh_log_env(struct fh_log *log);

/* What fh_ops serves: pass a struct fakehost as the host's opaque. */
struct fakehost {
	uint64_t now;           /* what now_ns() answers */
	uint64_t now_step;      /* and how far every read moves it (0: frozen) */
	uint64_t timer;         /* the armed deadline, UINT64_MAX: none */
	atomic_uint wakes;      /* wake() may come from any thread */
	struct fh_log log;
};

extern const struct vsnd_host_ops fh_ops;

/* The clock at now (not 0, which would hide "0 means unset" bugs), no
 * timer armed, the log empty. */
void fh_init(struct fakehost *h, uint64_t now);

/*
 * Move the clock to t, calling fire(arg) for every deadline on the way as a
 * host loop does: the clock first set to the deadline (or left where it is
 * if that already passed), the timer disarmed (one-shot, as a timerfd),
 * then fire. At most max_fires firings; returns how many. Aborts if the
 * device keeps re-arming a deadline that has already been reached: that
 * would spin a real host.
 */
unsigned long fh_run_until(struct fakehost *h, uint64_t t, unsigned long max_fires,
			   void (*fire)(void *arg), void *arg);

/* The real clock id (CLOCK_MONOTONIC, a CPU clock...) in nanoseconds. */
uint64_t fh_clock_ns(clockid_t id);

#endif
