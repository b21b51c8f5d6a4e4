/* SPDX-License-Identifier: MIT */
#include "rt.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "util/mono.h"
#include "vsnd/pcm.h"

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

/* Take the token as `who`, waiting out the other side's turn (a ring copy
 * or a counter: microseconds); false once the port is detached. Not for
 * the server's real-time callback, which only tries. */
static bool claim_wait(struct be_rt *rt, enum be_rt_owner who)
{
	for (;;) {
		int seen = BE_RT_NONE;

		if (atomic_compare_exchange_weak_explicit(&rt->owner, &seen, (int)who,
							  memory_order_acquire,
							  memory_order_relaxed))
			return true;
		if (seen == BE_RT_GONE)
			return false;
		sched_yield();
	}
}

void vsnd__be_rt_detach(struct be_rt *rt)
{
	atomic_store(&rt->running, false);
	if (claim_wait(rt, BE_RT_GONE))
		atomic_store_explicit(&rt->owner, BE_RT_GONE, memory_order_release);
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
	rt->fb = port->params.frame_bytes;
	rt->rate_hz = port->params.rate_hz;
	rt->period_frames = port->params.period_bytes / port->params.frame_bytes;
	rt->format = port->params.format;
	rt->out = port->params.direction == VSND_DIR_OUTPUT;
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
	atomic_store(&rt->stall_ns, BE_RT_STALL_DEFAULT_NS);
	return 0;
err:
	vsnd__be_rt_fini(rt);
	return ret;
}

void vsnd__be_rt_fini(struct be_rt *rt)
{
	if (!rt)
		return;
	vsnd__be_clock_fini(&rt->clock);
	free(rt->scratch);
	rt->scratch = NULL;
}

void vsnd__be_rt_set_call_us(struct be_rt *rt, uint64_t call_us)
{
	uint64_t ns = BE_RT_STALL_CALLS * call_us * 1000u;

	atomic_store(&rt->stall_ns, ns > BE_RT_STALL_NS ? ns : BE_RT_STALL_NS);
}

void vsnd__be_rt_set_latency(struct be_rt *rt, uint64_t latency_us)
{
	vsnd__be_rt_set_call_us(rt, latency_us);
	atomic_store(&rt->latency_us, latency_us);
}

uint64_t vsnd__be_rt_latency_us(const struct vsnd_pcm_params *p, unsigned int latency_ms)
{
	uint64_t fb = p->frame_bytes ? p->frame_bytes : 1;
	uint64_t period = p->period_bytes / fb * 1000000u / p->rate_hz;
	uint64_t buffer = p->buffer_bytes / fb * 1000000u / p->rate_hz;
	uint64_t room = buffer > period ? buffer - period : period;
	uint64_t want = (uint64_t)latency_ms * 1000u, cap = room / 2;

	if (p->direction == VSND_DIR_OUTPUT && cap < BE_RT_SAFE_LATENCY_US)
		cap = room < BE_RT_SAFE_LATENCY_US ? room : BE_RT_SAFE_LATENCY_US;
	want = want < cap ? want : cap;
	return want > 1000u ? want : 1000u;
}

void vsnd__be_rt_set_running(struct be_rt *rt, bool running)
{
	rt->pacing = false;
	rt->stalled = false;
	rt->hold_until = 0;
	rt->seen_at = 0;
	/* a latency noted before (a corked or parked stream's) is no clock */
	atomic_store(&rt->heard_stale, true);
	if (!rt->out) {
		rt->cap_start_ns = running ? vsnd__mono_ns() : 0;
		rt->cap_frames0 = atomic_load(&rt->port->frames);
		rt->cap_beats0 = atomic_load(&rt->beats);
		atomic_store(&rt->cap_from_ns, rt->cap_start_ns);
		atomic_store(&rt->cap_paced, false);
	}
	atomic_store(&rt->running, running);
}

bool vsnd__be_rt_running(const struct be_rt *rt)
{
	return atomic_load(&rt->running);
}

/* A server library's thread tells the device something: present (1 or 0;
 * -1 leaves it) is whether the server's sink/source is there, which the
 * device turns into a hotplug event on the stream's jack when it changes;
 * the device is woken then, or anyway if `anyway`. Nothing once detached. */
static void tell_device(struct be_rt *rt, int present, bool anyway)
{
	if (!claim_wait(rt, BE_RT_LOOP))
		return;
	if (present >= 0 && atomic_exchange(&rt->port->host_present, present) != present)
		anyway = true;
	if (anyway)
		wake(rt->port);
	vsnd__be_rt_release(rt);
}

void vsnd__be_rt_event(struct be_rt *rt, unsigned int ev)
{
	atomic_fetch_or_explicit(&rt->events, ev, memory_order_relaxed);
	if (ev & (BE_RT_EV_ABSENT | BE_RT_EV_LOST))
		tell_device(rt, 0, false);
}

void vsnd__be_rt_set_connecting(struct be_rt *rt, bool connecting)
{
	atomic_store(&rt->connecting, connecting);
	if (!connecting)
		tell_device(rt, -1, true);
}

void vsnd__be_rt_set_live(struct be_rt *rt, bool live)
{
	bool was = atomic_exchange(&rt->live, live);
	bool parked = atomic_exchange(&rt->parked, false);

	if (live && !was && !parked)
		vsnd__be_rt_event(rt, BE_RT_EV_CONNECTED);
	if (live && !was) { /* a new server stream's first calls may be far apart */
		atomic_store(&rt->rearm, true);
		atomic_store(&rt->heard_stale, true);
	} else if (!live && was) {
		vsnd__be_rt_event(rt, BE_RT_EV_LOST);
	}
	/* the pacer starts or stops at the device's next tick */
	if (live || live != was)
		tell_device(rt, live ? 1 : -1, live != was);
}

void vsnd__be_rt_set_parked(struct be_rt *rt)
{
	atomic_store(&rt->connecting, true);
	atomic_store(&rt->parked, true);
	atomic_store(&rt->live, false);
}

/* True when an xrun episode begins. Under the token. */
static bool count_xrun(struct be_rt *rt, bool xrun)
{
	bool begins = xrun && !rt->in_xrun;

	if (begins)
		atomic_fetch_add_explicit(&rt->port->xruns, 1, memory_order_relaxed);
	rt->in_xrun = xrun;
	return begins;
}

/*
 * The server side's turn is a seqlock write, so the device thread reads a
 * consistent picture without the server side ever waiting. It covers the
 * ring read too: a device that saw the ring's read position move before
 * the frames were noted took them for heard one buffer early (5 ms of
 * PortAudio's 240-frame callbacks).
 */
static uint64_t seq_begin(struct be_rt *rt)
{
	uint64_t q = atomic_load_explicit(&rt->seq, memory_order_relaxed);

	atomic_store_explicit(&rt->seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return q;
}

static void seq_end(struct be_rt *rt, uint64_t q)
{
	atomic_store_explicit(&rt->seq, q + 2, memory_order_release);
}

/* Server side, inside the seqlock: frames went to the server, the first
 * `data` of them from the ring. */
static void note_played(struct be_rt *rt, uint64_t data, uint64_t frames)
{
	uint64_t srv = atomic_load_explicit(&rt->srv_frames, memory_order_relaxed);
	uint64_t ring = atomic_load_explicit(&rt->ring_frames, memory_order_relaxed);
	uint64_t n = atomic_load_explicit(&rt->n_runs, memory_order_relaxed);

	if (data) {
		struct be_rt_run_slot *last = &rt->runs[(n + BE_RT_RUNS - 1) % BE_RT_RUNS];
		uint64_t lsrv = atomic_load_explicit(&last->srv, memory_order_relaxed);
		uint64_t lring = atomic_load_explicit(&last->ring, memory_order_relaxed);
		uint64_t ln = atomic_load_explicit(&last->n, memory_order_relaxed);

		if (n && lsrv + ln == srv && lring + ln == ring) {
			atomic_store_explicit(&last->n, ln + data, memory_order_relaxed);
		} else {
			struct be_rt_run_slot *r = &rt->runs[n % BE_RT_RUNS];

			atomic_store_explicit(&r->srv, srv, memory_order_relaxed);
			atomic_store_explicit(&r->ring, ring, memory_order_relaxed);
			atomic_store_explicit(&r->n, data, memory_order_relaxed);
			atomic_store_explicit(&rt->n_runs, n + 1, memory_order_relaxed);
		}
		atomic_store_explicit(&rt->ring_frames, ring + data, memory_order_relaxed);
	}
	atomic_store_explicit(&rt->srv_frames, srv + frames, memory_order_relaxed);
}

/* A latency the backend has not said: what the default stall length assumes. */
#define BE_RT_LATENCY_DEFAULT_US (BE_RT_STALL_DEFAULT_NS / BE_RT_STALL_CALLS / 1000u)

/* Server side: would `frames` more of the ring go faster than real time
 * since the server came back from a stall (BE_RT_CATCHUP_NS)? */
static bool catching_up(struct be_rt *rt, uint64_t frames)
{
	uint64_t now, rate = rt->rate_hz, lat = atomic_load(&rt->latency_us);
	uint64_t allowed, taken;

	if (atomic_exchange_explicit(&rt->catchup_armed, false, memory_order_relaxed)) {
		rt->catchup_t0 = vsnd__mono_ns();
		rt->catchup_ring0 = atomic_load_explicit(&rt->ring_frames, memory_order_relaxed);
		rt->catching_up = true;
	}
	if (!rt->catching_up)
		return false;
	now = vsnd__mono_ns();
	if (now - rt->catchup_t0 >= BE_RT_CATCHUP_NS) {
		rt->catching_up = false;
		return false;
	}
	if (!lat) /* not said: what the default stall length assumes */
		lat = BE_RT_LATENCY_DEFAULT_US;
	allowed = ((now - rt->catchup_t0) / 1000u + lat) * rate / 1000000u;
	taken = atomic_load_explicit(&rt->ring_frames, memory_order_relaxed) - rt->catchup_ring0;
	return taken + frames > allowed;
}

/* Server side, under the token, after a turn that took `got` of `bytes`
 * from the ring: count, and wake the device as it needs. */
static void played_ring(struct be_rt *rt, size_t got, size_t bytes)
{
	struct vsnd_port *port = rt->port;

	atomic_fetch_add_explicit(&port->frames, bytes / rt->fb, memory_order_relaxed);
	/* A new xrun wakes the device, which owes the guest its event (with
	 * the server carrying the stream it has no timer of its own); so does
	 * a ring run half empty, for a refill. What becomes audible later the
	 * device completes on its own timer (the core's heard_at): a server
	 * asking every few ms wakes it only as often as needed. */
	if (count_xrun(rt, got < bytes) ||
	    (got && vsnd_ring_fill(&port->ring) < port->lead_bytes / 2))
		wake(port);
}

void vsnd__be_rt_play(struct be_rt *rt, void *dst, size_t bytes)
{
	uint32_t fb = rt->fb;
	size_t got = 0;
	bool mine;
	uint64_t q;

	bytes -= bytes % fb;
	atomic_fetch_add_explicit(&rt->beats, 1, memory_order_relaxed);
	mine = atomic_load_explicit(&rt->running, memory_order_relaxed) &&
	       !catching_up(rt, bytes / fb) && vsnd__be_rt_claim(rt, BE_RT_SERVER);
	q = seq_begin(rt);
	if (mine) {
		/* Whole frames only, as the clocked backends do. */
		size_t have = vsnd_ring_fill(&rt->port->ring) / fb * fb;

		got = vsnd_ring_read(&rt->port->ring, dst, have < bytes ? have : bytes);
	}
	if (got < bytes)
		vsnd_pcm_silence_at(rt->format, (uint8_t *)dst + got, bytes - got, got);
	note_played(rt, got / fb, bytes / fb);
	seq_end(rt, q);
	if (mine) {
		played_ring(rt, got, bytes);
		vsnd__be_rt_release(rt);
	}
}

void vsnd__be_rt_silence(struct be_rt *rt, void *dst, size_t bytes)
{
	uint32_t fb = rt->fb;
	uint64_t q;

	bytes -= bytes % fb;
	atomic_fetch_add_explicit(&rt->beats, 1, memory_order_relaxed);
	vsnd_pcm_silence(rt->format, dst, bytes);
	q = seq_begin(rt);
	note_played(rt, 0, bytes / fb);
	seq_end(rt, q);
}

/* The first ring frame (in ring_frames' count) not heard yet, once the
 * server has played its stream up to `heard`; from the runs as read under
 * the seqlock. */
static uint64_t heard_upto(struct be_rt *rt, uint64_t heard, uint64_t ring, uint64_t n)
{
	uint64_t played = ring;

	for (uint64_t k = n; k > 0 && n - k < BE_RT_RUNS; k--) {
		struct be_rt_run_slot *r = &rt->runs[(k - 1) % BE_RT_RUNS];
		uint64_t rs = atomic_load_explicit(&r->srv, memory_order_relaxed);
		uint64_t rr = atomic_load_explicit(&r->ring, memory_order_relaxed);
		uint64_t rn = atomic_load_explicit(&r->n, memory_order_relaxed);

		if (rs <= heard)
			return rr + (heard - rs < rn ? heard - rs : rn);
		played = rr; /* none of this run yet: at most up to its start */
	}
	return played;
}

/* A server runs on for at most this long past its last note: a stalled
 * one has stopped anyway (and the product below stays in range). */
#define BE_RT_RUN_ON_NS UINT64_C(10000000000)

void vsnd__be_rt_note_delay(struct be_rt *rt, uint64_t latency_frames, uint64_t at_ns)
{
	uint64_t q, srv;

	atomic_store(&rt->heard_stale, false);
	if (!rt->out) {
		atomic_store_explicit(&rt->cap_frames, latency_frames, memory_order_relaxed);
		return;
	}
	q = seq_begin(rt);
	srv = atomic_load_explicit(&rt->srv_frames, memory_order_relaxed);
	atomic_store_explicit(&rt->heard_srv, srv > latency_frames ? srv - latency_frames : 0,
			      memory_order_relaxed);
	atomic_store_explicit(&rt->heard_ns, at_ns ? at_ns : 1, memory_order_relaxed);
	seq_end(rt, q);
}

/* The server's stream frame heard by now: as noted, run on at the rate
 * since (not a note from before a start), never past what it was given;
 * with no note yet, none (a stream's first buffers wait for its first). */
static uint64_t heard_by(struct be_rt *rt, uint64_t srv, uint64_t heard, uint64_t at,
			 uint64_t now)
{
	uint64_t ran;

	if (!at)
		return 0;
	if (!atomic_load(&rt->heard_stale) && now > at) {
		ran = now - at < BE_RT_RUN_ON_NS ? now - at : BE_RT_RUN_ON_NS;
		heard += ran * rt->rate_hz / 1000000000u;
	}
	return heard < srv ? heard : srv;
}

/* Tries at a consistent read: the server's turn is a copy, but its thread
 * may be preempted in it. */
#define BE_RT_READ_TRIES 64

/* What the server side's last turn left, read consistently. */
struct rt_heard {
	uint64_t srv;   /* frames given to the server */
	uint64_t heard; /* of those, heard by now */
	uint64_t ring;  /* frames taken from the ring */
	uint64_t upto;  /* of those, the first not heard */
};

/* Under the seqlock, retried while the server side is mid-turn; false if
 * it kept writing. Any thread. */
static bool read_heard(struct be_rt *rt, uint64_t now, struct rt_heard *h)
{
	for (int tries = 0; tries < BE_RT_READ_TRIES; tries++) {
		uint64_t q = atomic_load_explicit(&rt->seq, memory_order_acquire);
		uint64_t n = atomic_load_explicit(&rt->n_runs, memory_order_relaxed);
		uint64_t heard = atomic_load_explicit(&rt->heard_srv, memory_order_relaxed);
		uint64_t at = atomic_load_explicit(&rt->heard_ns, memory_order_relaxed);

		h->srv = atomic_load_explicit(&rt->srv_frames, memory_order_relaxed);
		h->ring = atomic_load_explicit(&rt->ring_frames, memory_order_relaxed);
		h->heard = heard_by(rt, h->srv, heard, at, now);
		h->upto = heard_upto(rt, h->heard, h->ring, n);
		atomic_thread_fence(memory_order_acquire);
		if (!(q & 1) && atomic_load_explicit(&rt->seq, memory_order_relaxed) == q)
			return true;
		if (tries >= 8)
			sched_yield();
	}
	return false;
}

static uint32_t unplayed(struct be_rt *rt, uint64_t now)
{
	struct rt_heard h;

	/* if the server side kept writing: the last answer (its new frames
	 * are unheard anyway, so no buffer completes early) */
	if (read_heard(rt, now, &h))
		rt->unplayed = h.ring - h.upto > UINT32_MAX ? UINT32_MAX : (uint32_t)(h.ring - h.upto);
	return rt->unplayed;
}

uint32_t vsnd__be_rt_delay_at(struct be_rt *rt, uint64_t now_ns)
{
	uint64_t cap;

	vsnd__be_rt_report(rt);
	if (!atomic_load(&rt->live))
		return 0;
	if (rt->out)
		return unplayed(rt, now_ns);
	cap = atomic_load_explicit(&rt->cap_frames, memory_order_relaxed);
	return cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
}

uint64_t vsnd__be_rt_unheard_ns(struct be_rt *rt, uint64_t now_ns)
{
	uint64_t bound = atomic_load(&rt->latency_us) * 1000u +
			 (uint64_t)rt->period_frames * 1000000000u / rt->rate_hz;
	struct rt_heard h;
	uint64_t left, ns;

	if (!rt->out || !atomic_load(&rt->live))
		return 0;
	if (!read_heard(rt, now_ns, &h))
		return bound;
	left = h.srv - h.heard;
	ns = left < rt->rate_hz * 10u ? left * 1000000000u / rt->rate_hz : bound;
	return ns < bound ? ns : bound;
}

uint32_t vsnd__be_rt_delay_frames(struct vsnd_backend *be, struct vsnd_port *port)
{
	(void)be;
	return port->priv ? vsnd__be_rt_delay_at(port->priv, vsnd__mono_ns()) : 0;
}

/* Under the token: whole frames of src into the ring, dropping what does
 * not fit; counted as moved. True if all fitted. */
static bool put_captured(struct be_rt *rt, const void *src, size_t bytes)
{
	struct vsnd_port *port = rt->port;
	size_t space = vsnd_ring_space(&port->ring) / rt->fb * rt->fb;
	size_t put = vsnd_ring_write(&port->ring, src, space < bytes ? space : bytes);

	atomic_fetch_add_explicit(&port->frames, bytes / rt->fb, memory_order_relaxed);
	return put == bytes;
}

/* A start's wait is filled up to this much at most (and the product
 * below stays in range). */
#define BE_RT_FILL_MAX_NS UINT64_C(10000000000)

static uint64_t latency_ns(struct be_rt *rt)
{
	uint64_t lat = atomic_load_explicit(&rt->latency_us, memory_order_relaxed);

	return (lat ? lat : BE_RT_LATENCY_DEFAULT_US) * 1000u;
}

static uint64_t ns_to_bytes(const struct be_rt *rt, uint64_t ns)
{
	ns = ns < BE_RT_FILL_MAX_NS ? ns : BE_RT_FILL_MAX_NS;
	return ns * rt->rate_hz / 1000000000u * rt->fb;
}

/* Silence the pacer may put into the ring at once when it takes over a
 * capture held since its start: what the guest can take with a period to
 * spare for reading it (a Linux guest stops the stream once a whole buffer
 * is waiting: a 20 ms buffer given the gap at once overran over and over),
 * and what leaves room for the server's data (its latency) and a period. */
static size_t fill_room(struct be_rt *rt)
{
	struct vsnd_port *port = rt->port;
	size_t fill = vsnd_ring_fill(&port->ring), space = vsnd_ring_space(&port->ring);
	size_t period = (size_t)rt->period_frames * rt->fb;
	size_t keep = (size_t)ns_to_bytes(rt, latency_ns(rt)) + period;
	size_t room = space > keep ? space - keep : 0;
	size_t take = port->params.buffer_bytes > fill + 2 * period
		? port->params.buffer_bytes - fill - 2 * period : 0;

	room = room < take ? room : take;
	return room / rt->fb * rt->fb;
}

/* Pacer, under the token, as it takes over a capture: the time since its
 * start (cap_from_ns, if the server has delivered nothing since) as
 * silence at once, as far as fill_room allows, so the guest's capture
 * clock runs from its START. */
static void fill_since_start(struct be_rt *rt)
{
	uint64_t from = atomic_exchange_explicit(&rt->cap_from_ns, 0, memory_order_relaxed);
	uint64_t now = vsnd__mono_ns();
	size_t chunk = (size_t)BE_CHUNK_FRAMES * rt->fb, n, gap, room;

	if (!from || now <= from)
		return;
	gap = (size_t)ns_to_bytes(rt, now - from);
	room = fill_room(rt);
	for (gap = gap < room ? gap : room; gap; gap -= n) {
		n = gap < chunk ? gap : chunk;
		put_captured(rt, rt->scratch, n);
	}
}

/* Server side, under the token: its data after a hand-over. If the pacer
 * carried the stream, what of the `pending` bytes about to come (their
 * last frame captured now) covers time it already gave as silence is
 * dropped, so no time is captured twice (nor the ring overrun by it). A
 * start's first data (it came within the hold) is kept whole: the
 * source's first frame is the stream's. */
static void hand_over(struct be_rt *rt, size_t pending)
{
	uint64_t from, span, now, skip;
	bool paced;

	/* every server call passes here: no hand-over, no shared write */
	if (!atomic_load_explicit(&rt->cap_from_ns, memory_order_relaxed))
		return;
	from = atomic_exchange_explicit(&rt->cap_from_ns, 0, memory_order_relaxed);
	paced = atomic_exchange_explicit(&rt->cap_paced, false, memory_order_relaxed);
	if (!from || !paced)
		return;
	span = pending / rt->fb * 1000000000u / rt->rate_hz;
	now = vsnd__mono_ns();
	if (from + span <= now)
		return;
	skip = ns_to_bytes(rt, from + span - now);
	rt->cap_skip = skip < pending ? (size_t)skip : pending;
}

void vsnd__be_rt_capture_pending(struct be_rt *rt, size_t pending)
{
	if (!atomic_load_explicit(&rt->cap_from_ns, memory_order_relaxed) ||
	    !atomic_load_explicit(&rt->running, memory_order_relaxed) ||
	    !vsnd__be_rt_claim(rt, BE_RT_SERVER))
		return;
	hand_over(rt, pending - pending % rt->fb);
	vsnd__be_rt_release(rt);
}

void vsnd__be_rt_capture(struct be_rt *rt, const void *src, size_t bytes)
{
	size_t skip;

	bytes -= bytes % rt->fb;
	atomic_fetch_add_explicit(&rt->beats, 1, memory_order_relaxed);
	if (!bytes || !atomic_load_explicit(&rt->running, memory_order_relaxed) ||
	    !vsnd__be_rt_claim(rt, BE_RT_SERVER))
		return;
	hand_over(rt, bytes);
	skip = rt->cap_skip < bytes ? rt->cap_skip : bytes;
	rt->cap_skip -= skip;
	if (bytes > skip)
		count_xrun(rt, !put_captured(rt, (const uint8_t *)src + skip, bytes - skip));
	wake(rt->port);
	vsnd__be_rt_release(rt);
}

void vsnd__be_rt_capture_silence(struct be_rt *rt, size_t bytes)
{
	size_t chunk = (size_t)BE_CHUNK_FRAMES * rt->fb;

	while (bytes) {
		size_t n = bytes < chunk ? bytes : chunk;

		vsnd__be_rt_capture(rt, rt->scratch, n);
		bytes -= n;
	}
	/* Lost before they reached us, but lost: the guest hears of it as of
	 * any overrun. */
	if (atomic_load_explicit(&rt->running, memory_order_relaxed) &&
	    vsnd__be_rt_claim(rt, BE_RT_SERVER)) {
		count_xrun(rt, true);
		vsnd__be_rt_release(rt);
	}
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
	if (ev & BE_RT_EV_RENEW)
		vsnd_backend_log(be, VSND_LOG_WARN,
				 "%s: stream %u: still no call after a second, its connection "
				 "standing; making the stream anew", who, id);
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

/*
 * When a playback's pacer takes over: when the server ran dry if it is
 * stalled (its last noted play position, run on in real time, reached all
 * it was given), at most a stall's length ago; else now. The guest's
 * buffers complete on the server's run-on until it runs dry and then on
 * the pacer, so its clock never stands still while the device waits to be
 * sure of a stall (a SIGSTOPped pipewire-pulse: 175 ms lost where the
 * ring's next period took 300 ms). Read while the server side is stopped.
 */
static uint64_t stall_from(struct be_rt *rt, uint64_t now)
{
	uint64_t at = atomic_load_explicit(&rt->heard_ns, memory_order_relaxed);
	uint64_t heard = atomic_load_explicit(&rt->heard_srv, memory_order_relaxed);
	uint64_t srv = atomic_load_explicit(&rt->srv_frames, memory_order_relaxed);
	uint64_t stall = atomic_load(&rt->stall_ns), left, dry;

	if (!rt->stalled || !at || atomic_load(&rt->heard_stale) || now <= at)
		return now;
	left = srv > heard ? srv - heard : 0;
	if (left > (uint64_t)rt->rate_hz * 10u) /* past BE_RT_RUN_ON_NS anyway */
		return now;
	dry = at + left * 1000000000u / rt->rate_hz;
	if (dry >= now)
		return now;
	return now - dry < stall ? dry : now - stall;
}

/* The pacer's turn: the frames due since it took over, and its next
 * deadline. `awaiting`: a capture's turn while it waits for the server's
 * data (cap_await), over once that data has come. */
static uint64_t pace(struct be_rt *rt, uint64_t now, bool awaiting)
{
	uint64_t next;

	if (!vsnd__be_rt_claim(rt, BE_RT_PACER))
		return now + BE_MIN_TICK_NS; /* the server's callback is mid-turn */
	if (awaiting && !atomic_load_explicit(&rt->cap_from_ns, memory_order_relaxed)) {
		vsnd__be_rt_release(rt); /* it came meanwhile: the server carries it */
		rt->pacing = false;
		return now + BE_MIN_TICK_NS;
	}
	/* Time zero is the take-over: what the server played before is not
	 * played again; but a capture held since its start gets the hold as
	 * silence at once, and a stalled server's stream the time since it
	 * ran dry (stall_from). */
	if (!rt->pacing) {
		if (!rt->out)
			fill_since_start(rt);
		vsnd__be_clock_start(&rt->clock, rt->out ? stall_from(rt, now) : now);
		rt->pacing = true;
	}
	next = vsnd__be_clock_tick(&rt->clock, rt->port, NULL, NULL, now);
	if (!rt->out) { /* the time given up to now, for the server's next data */
		atomic_store_explicit(&rt->cap_from_ns, vsnd__mono_ns(),
				      memory_order_relaxed);
		atomic_store_explicit(&rt->cap_paced, true, memory_order_relaxed);
	}
	vsnd__be_rt_release(rt);
	return next;
}

/* The server has not called back since stall_ns before now: the beats
 * counter has not moved since the device last saw it change. */
static bool server_stalled(struct be_rt *rt, uint64_t now, uint64_t *deadline)
{
	uint64_t beats = atomic_load_explicit(&rt->beats, memory_order_relaxed);

	if (atomic_exchange(&rt->rearm, false))
		rt->seen_at = 0;
	if (!rt->seen_at)
		rt->start_beats = beats;
	if (!rt->seen_at || beats != rt->seen_beats) {
		rt->seen_beats = beats;
		rt->seen_at = now;
	}
	if (beats - rt->start_beats < BE_RT_STALL_ARM) {
		*deadline = UINT64_MAX; /* not armed yet: looked at again at each pass */
		return false;
	}
	*deadline = rt->seen_at + atomic_load(&rt->stall_ns);
	return now >= *deadline;
}

static void say_stalled(struct be_rt *rt, bool stalled, uint64_t now)
{
	unsigned int id = rt->port->params.stream_id;

	if (stalled == rt->stalled)
		return;
	rt->stalled = stalled;
	rt->stalled_at = now;
	if (stalled)
		atomic_store_explicit(&rt->catchup_armed, true, memory_order_relaxed);
	if (stalled)
		vsnd_backend_log(rt->be, VSND_LOG_WARN,
				 "%s: stream %u: server stalled (no call for %llu ms); playing on "
				 "as silence in real time", rt->who, id,
				 (unsigned long long)(atomic_load(&rt->stall_ns) / 1000000u));
	else
		vsnd_backend_log(rt->be, VSND_LOG_INFO, "%s: stream %u: server calling again",
				 rt->who, id);
}

/* The server carries the stream: the device only looks for a stall, and
 * paces in its place while it lasts. */
static uint64_t live_tick(struct be_rt *rt, uint64_t now)
{
	uint64_t deadline;
	bool stalled = server_stalled(rt, now, &deadline);

	say_stalled(rt, stalled, now);
	if (stalled)
		return pace(rt, now, false);
	rt->pacing = false;
	return deadline;
}

/* How far a capture's clock may lag real time at its start: the server's
 * latency (when its fragments come) and a period. */
static uint64_t start_lag_ns(struct be_rt *rt)
{
	return latency_ns(rt) + (uint64_t)rt->period_frames * 1000000000u / rt->rate_hz;
}

/*
 * The start of a capture the server carries, until the server has called
 * back BE_RT_STALL_ARM times (then the stall look takes over): if what the
 * stream has captured since START lags real time by more than
 * start_lag_ns, the pacer carries it again from where it stands, as while
 * the server's first data was awaited; the server's next data takes over
 * again (hand_over). pipewire-pulse sends a first fragment, then finishes
 * its graph's long cycle (2048 frames, 42.7 ms) before the stream's own
 * quantum begins: a 20 ms guest buffer's first period came 55-80 ms after
 * START. Otherwise *next: when to look again.
 */
static bool cap_behind(struct be_rt *rt, uint64_t now, uint64_t *next)
{
	uint64_t made, stands, lag, mono = vsnd__mono_ns(); /* cap_ times are CLOCK_MONOTONIC */

	if (!rt->cap_start_ns)
		return false;
	if (atomic_load(&rt->beats) - rt->cap_beats0 >= BE_RT_STALL_ARM) {
		rt->cap_start_ns = 0; /* the start is over */
		return false;
	}
	made = atomic_load(&rt->port->frames) - rt->cap_frames0;
	stands = rt->cap_start_ns + made * 1000000000u / rt->rate_hz;
	lag = start_lag_ns(rt);
	if (mono < stands + lag) {
		*next = now + (stands + lag - mono);
		return false;
	}
	if (!rt->hold_until)
		rt->hold_until = now; /* no hold: its time is past */
	rt->pacing = false;       /* the pacer starts over from where it stands */
	atomic_store(&rt->cap_from_ns, stands);
	return true;
}

/* A capture the server has not delivered to since its start, or since the
 * pacer's last turn: held for the server's first data up to
 * BE_RT_CAP_HOLD_NS (or its latency and BE_RT_CAP_HOLD_MORE_NS), at most
 * start_lag_ns, then paced until it comes. */
static uint64_t cap_await(struct be_rt *rt, uint64_t now)
{
	if (!rt->pacing) {
		uint64_t hold = latency_ns(rt) + BE_RT_CAP_HOLD_MORE_NS;

		hold = hold > BE_RT_CAP_HOLD_NS ? hold : BE_RT_CAP_HOLD_NS;
		hold = hold < start_lag_ns(rt) ? hold : start_lag_ns(rt);
		if (!rt->hold_until)
			rt->hold_until = now + hold;
		if (now < rt->hold_until)
			return rt->hold_until;
	}
	return pace(rt, now, true);
}

uint64_t vsnd__be_rt_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	struct be_rt *rt = port->priv;

	(void)be;
	if (!rt)
		return UINT64_MAX;
	vsnd__be_rt_report(rt);
	if (!atomic_load(&rt->running)) {
		rt->pacing = false;
		return UINT64_MAX;
	}
	if (!rt->out && atomic_load(&rt->cap_from_ns))
		return cap_await(rt, now_ns);
	if (atomic_load(&rt->live)) {
		uint64_t next = UINT64_MAX, look;

		if (!rt->out && cap_behind(rt, now_ns, &next))
			return cap_await(rt, now_ns);
		look = live_tick(rt, now_ns);
		return look < next ? look : next;
	}
	if (rt->out && atomic_load(&rt->connecting) && !rt->pacing) {
		if (!rt->hold_until)
			rt->hold_until = now_ns + BE_RT_HOLD_NS;
		/* a look every BE_RT_HOLD_POLL_NS: a failed attempt ends the
		 * hold at once (its wake alone would not reach this tick) */
		if (now_ns < rt->hold_until)
			return now_ns + BE_RT_HOLD_POLL_NS < rt->hold_until
				? now_ns + BE_RT_HOLD_POLL_NS : rt->hold_until;
	}
	return pace(rt, now_ns, false);
}

bool vsnd__be_rt_stuck(const struct be_rt *rt, uint64_t now_ns, uint64_t *next)
{
	uint64_t due;

	if (!rt->stalled || !atomic_load(&rt->live))
		return false;
	due = rt->stalled_at + BE_RT_RENEW_NS;
	if (now_ns >= due)
		return true;
	if (due < *next)
		*next = due;
	return false;
}
