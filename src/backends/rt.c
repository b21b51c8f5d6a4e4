/* SPDX-License-Identifier: MIT */
#include "rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "vsnd/pcm.h"

#define NS_PER_S UINT64_C(1000000000)
/* The pacer re-checks running/live at least this often. */
#define PACER_POLL_NS UINT64_C(5000000)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void wake(struct vsnd_port *port)
{
	if (port->wake)
		port->wake(port->wake_opaque);
}

bool vsnd__be_rt_claim(struct be_rt *rt, enum be_rt_owner who)
{
	int none = BE_RT_NONE;

	return atomic_compare_exchange_strong_explicit(&rt->owner, &none, (int)who,
						       memory_order_acquire, memory_order_relaxed);
}

void vsnd__be_rt_release(struct be_rt *rt)
{
	atomic_store_explicit(&rt->owner, BE_RT_NONE, memory_order_release);
}

/* One pacer turn: the frames due since it took over, then the next deadline. */
static uint64_t pacer_turn(struct be_rt *rt, bool *active)
{
	uint64_t now = mono_ns(), next;

	if (!atomic_load(&rt->running) || atomic_load(&rt->live)) {
		*active = false;
		return now + PACER_POLL_NS;
	}
	if (!vsnd__be_rt_claim(rt, BE_RT_PACER))
		return now + PACER_POLL_NS / 5;
	/* Time zero is the take-over: what the server played before is not
	 * played again, and no burst catches up on the gap. */
	if (!*active) {
		vsnd__be_clock_start(&rt->clock, now);
		*active = true;
	}
	next = vsnd__be_clock_tick(&rt->clock, rt->port, NULL, NULL, now);
	vsnd__be_rt_release(rt);
	wake(rt->port);
	return next < now + PACER_POLL_NS ? next : now + PACER_POLL_NS;
}

static void *pacer_main(void *arg)
{
	struct be_rt *rt = arg;
	bool active = false;

	while (!atomic_load(&rt->quit))
		sleep_until(pacer_turn(rt, &active));
	return NULL;
}

int vsnd__be_rt_init(struct be_rt *rt, struct vsnd_backend *be, struct vsnd_port *port,
	       uint64_t formats, const char *who)
{
	int ret;

	memset(rt, 0, sizeof(*rt));
	rt->port = port;
	rt->be = be;
	rt->who = who;
	ret = vsnd__be_check_params(be, port, formats);
	if (ret < 0)
		return ret;
	ret = vsnd__be_clock_init(&rt->clock, port);
	if (ret < 0)
		return ret;
	rt->scratch = malloc((size_t)BE_CHUNK_FRAMES * port->params.frame_bytes);
	if (!rt->scratch) {
		ret = -ENOMEM;
		goto err;
	}
	vsnd_pcm_silence(port->params.format, rt->scratch,
			 (size_t)BE_CHUNK_FRAMES * port->params.frame_bytes);
	ret = -pthread_create(&rt->thread, NULL, pacer_main, rt);
	if (ret < 0)
		goto err;
	rt->thread_ok = true;
	return 0;
err:
	vsnd__be_rt_fini(rt);
	return ret;
}

void vsnd__be_rt_fini(struct be_rt *rt)
{
	if (!rt)
		return;
	if (rt->thread_ok) {
		atomic_store(&rt->quit, true);
		pthread_join(rt->thread, NULL);
		rt->thread_ok = false;
	}
	vsnd__be_clock_fini(&rt->clock);
	free(rt->scratch);
	rt->scratch = NULL;
}

void vsnd__be_rt_set_running(struct be_rt *rt, bool running)
{
	atomic_store(&rt->running, running);
}

bool vsnd__be_rt_running(const struct be_rt *rt)
{
	return atomic_load(&rt->running);
}

/* Tell the device whether the server's sink/source is there: it turns a
 * change into a hotplug event on the stream's jack. Atomic store + wake: safe
 * from any thread. */
static void set_present(struct be_rt *rt, int present)
{
	if (atomic_exchange(&rt->port->host_present, present) != present && rt->port->wake)
		rt->port->wake(rt->port->wake_opaque);
}

void vsnd__be_rt_event(struct be_rt *rt, unsigned int ev)
{
	atomic_fetch_or_explicit(&rt->events, ev, memory_order_relaxed);
	if (ev & (BE_RT_EV_ABSENT | BE_RT_EV_LOST))
		set_present(rt, 0);
}

void vsnd__be_rt_set_live(struct be_rt *rt, bool live)
{
	bool was = atomic_exchange(&rt->live, live);

	if (live)
		set_present(rt, 1);
	if (live && !was)
		vsnd__be_rt_event(rt, BE_RT_EV_CONNECTED);
	else if (!live && was)
		vsnd__be_rt_event(rt, BE_RT_EV_LOST);
}

static void count_xrun(struct be_rt *rt, bool xrun)
{
	if (xrun && !rt->in_xrun)
		atomic_fetch_add_explicit(&rt->port->xruns, 1, memory_order_relaxed);
	rt->in_xrun = xrun;
}

void vsnd__be_rt_play(struct be_rt *rt, void *dst, size_t bytes)
{
	struct vsnd_port *port = rt->port;
	uint32_t fb = port->params.frame_bytes;
	size_t got = 0;

	bytes -= bytes % fb;
	if (atomic_load_explicit(&rt->running, memory_order_relaxed) &&
	    vsnd__be_rt_claim(rt, BE_RT_SERVER)) {
		/* Whole frames only, as the clocked backends do. */
		size_t have = vsnd_ring_fill(&port->ring) / fb * fb;

		got = vsnd_ring_read(&port->ring, dst, have < bytes ? have : bytes);
		vsnd__be_rt_release(rt);
		count_xrun(rt, got < bytes);
		atomic_fetch_add_explicit(&port->frames, bytes / fb, memory_order_relaxed);
	}
	if (got < bytes)
		vsnd_pcm_silence_at(port->params.format, (uint8_t *)dst + got, bytes - got, got);
	if (got)
		wake(port);
}

void vsnd__be_rt_capture(struct be_rt *rt, const void *src, size_t bytes)
{
	struct vsnd_port *port = rt->port;
	uint32_t fb = port->params.frame_bytes;
	size_t space, put;

	bytes -= bytes % fb;
	if (!bytes || !atomic_load_explicit(&rt->running, memory_order_relaxed) ||
	    !vsnd__be_rt_claim(rt, BE_RT_SERVER))
		return;
	space = vsnd_ring_space(&port->ring) / fb * fb;
	put = vsnd_ring_write(&port->ring, src, space < bytes ? space : bytes);
	vsnd__be_rt_release(rt);
	count_xrun(rt, put < bytes);
	atomic_fetch_add_explicit(&port->frames, bytes / fb, memory_order_relaxed);
	wake(port);
}

void vsnd__be_rt_capture_silence(struct be_rt *rt, size_t bytes)
{
	size_t chunk = (size_t)BE_CHUNK_FRAMES * rt->port->params.frame_bytes;

	while (bytes) {
		size_t n = bytes < chunk ? bytes : chunk;

		vsnd__be_rt_capture(rt, rt->scratch, n);
		bytes -= n;
	}
	/* Lost before they reached us, but lost: the guest hears of it as of
	 * any overrun. */
	if (atomic_load_explicit(&rt->running, memory_order_relaxed))
		count_xrun(rt, true);
}

void vsnd__be_rt_report(struct be_rt *rt)
{
	struct vsnd_backend *be = rt->be;
	const char *who = rt->who;
	unsigned int ev = atomic_exchange_explicit(&rt->events, 0, memory_order_relaxed);
	unsigned int id = rt->port->params.stream_id;

	if (ev & BE_RT_EV_LOST)
		vsnd_backend_log(be, VSND_LOG_WARN,
				 "%s: stream %u: server gone; playing on as silence in real time, "
				 "reconnecting every second", who, id);
	if ((ev & BE_RT_EV_ABSENT) && !(ev & BE_RT_EV_LOST) && !rt->said_absent)
		vsnd_backend_log(be, VSND_LOG_WARN,
				 "%s: stream %u: no server; running as silence in real time, "
				 "retrying every second", who, id);
	if (ev & (BE_RT_EV_LOST | BE_RT_EV_ABSENT))
		rt->said_absent = true;
	if (ev & BE_RT_EV_CONNECTED) {
		vsnd_backend_log(be, VSND_LOG_INFO, "%s: stream %u: connected", who, id);
		rt->said_absent = false;
	}
}

static int set_running(struct vsnd_port *port, bool running)
{
	struct be_rt *rt = port->priv;

	if (!rt)
		return -EBADFD;
	vsnd__be_rt_set_running(rt, running);
	vsnd__be_rt_report(rt);
	return 0;
}

int vsnd__be_rt_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	(void)be;
	(void)now_ns;
	return set_running(port, true);
}

int vsnd__be_rt_stop(struct vsnd_backend *be, struct vsnd_port *port)
{
	(void)be;
	return set_running(port, false);
}
