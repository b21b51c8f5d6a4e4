/* SPDX-License-Identifier: MIT */
/*
 * The clocked backends on the real clock: one-frame periods at 384 kHz (the
 * shortest a guest can ask for) played through the null backend by a thread
 * that sleeps to each deadline the backend returns, as the device thread
 * does. Prints the wake-ups per second and the thread's CPU time, and checks
 * the wake-ups stay near one per ms. Usage: test_backends_clock_rt [SECONDS]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/clock.h"
#include "be_test.h"
#include "wire/virtio_snd.h"

#define NS 1000000000ull
#define RATE 384000u

struct rt_run {
	struct vsnd_backend *be;
	struct vsnd_port port;
	uint64_t seconds;
	uint64_t wakes;
	uint64_t cpu_ns;        /* the pacing thread's CPU time */
	uint64_t lag_frames;    /* frames due at the end and not yet moved */
	uint64_t late_1ms;      /* wake-ups more than 1 ms after their deadline */
};

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NS), .tv_nsec = (long)(t % NS) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0)
		;
}

/* Keep lead_bytes of zero frames in the ring, like the device's prefill. */
static void top_up(struct vsnd_port *port, const uint8_t *zeros)
{
	size_t fill = vsnd_ring_fill(&port->ring);

	if (fill < port->lead_bytes)
		vsnd_ring_write(&port->ring, zeros, port->lead_bytes - fill);
}

static void *pace(void *arg)
{
	struct rt_run *r = arg;
	uint8_t *zeros = calloc(1, r->port.lead_bytes);
	uint64_t cpu0 = fh_clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = fh_clock_ns(CLOCK_MONOTONIC);
	uint64_t end = t0 + r->seconds * NS, next = t0, now = t0;

	top_up(&r->port, zeros);
	r->be->ops->start(r->be, &r->port, t0);
	while (next < end) {
		sleep_until(next);
		now = fh_clock_ns(CLOCK_MONOTONIC);
		r->late_1ms += now - next > BE_MIN_TICK_NS;
		next = r->be->ops->tick(r->be, &r->port, now);
		r->wakes++;
		top_up(&r->port, zeros);
	}
	r->cpu_ns = fh_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	r->lag_frames = (fh_clock_ns(CLOCK_MONOTONIC) - t0) * RATE / NS - atomic_load(&r->port.frames);
	free(zeros);
	return NULL;
}

int main(int argc, char **argv)
{
	struct rt_run r = { .seconds = argc > 1 ? strtoull(argv[1], NULL, 10) : 2 };
	struct fh_log log;
	struct vsnd_backend_env env = fh_log_env(&log);
	pthread_t th;

	if (r.seconds == 0 || vsnd_backend_create("null", &env, &r.be) != 0)
		return 1;
	bt_port_init_buf(&r.port, VSND_DIR_OUTPUT, VSND_PCM_FMT_S16, 2, RATE, 1,
			 RATE / 50);
	if (r.be->ops->open(r.be, &r.port) != 0 || pthread_create(&th, NULL, pace, &r) != 0)
		return 1;
	pthread_join(th, NULL);
	printf("1-frame periods at %u Hz for %llu s: %.0f wake-ups/s, thread CPU %.1f ms "
	       "(%.2f %% of a core), %llu frames behind at the end, %llu xruns, %llu wake-ups "
	       "over 1 ms late\n",
	       RATE, (unsigned long long)r.seconds, (double)r.wakes / (double)r.seconds,
	       (double)r.cpu_ns / 1e6, (double)r.cpu_ns / (double)(r.seconds * NS) * 100.0,
	       (unsigned long long)r.lag_frames, (unsigned long long)atomic_load(&r.port.xruns),
	       (unsigned long long)r.late_1ms);
	r.be->ops->close(r.be, &r.port);
	bt_port_fini(&r.port);
	vsnd_backend_destroy(r.be);
	/* At most one wake-up per ms (a late one only spaces the next less),
	 * and never more than a few ms of frames behind the real clock. */
	if (r.wakes > r.seconds * 1100 + 1 || r.lag_frames > RATE / 50) {
		fprintf(stderr, "FAIL: too many wake-ups or frames behind\n");
		return 1;
	}
	return 0;
}
