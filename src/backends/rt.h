/* SPDX-License-Identifier: MIT */
/*
 * Shared machinery of the self-clocked (sound server) backends.
 *
 * vsnd__be_rt_play/vsnd__be_rt_capture are what a server's real-time callback does with
 * the port: move whole frames between the ring and the server's buffer, pad
 * or drop with the xrun rules of backend.h, count frames and wake the
 * device. They only touch the ring, atomics and wake().
 *
 * While the stream runs and the server does not carry it (absent at start,
 * or gone), the device thread paces it instead: vsnd__be_rt_tick is the
 * backend's tick op, and plays the ring out as silence (or captures
 * silence) at the real rate with the clocked backends' be_clock, so the
 * guest's buffers keep completing on time; so it does while a live server
 * has stopped calling back (for a few times its latency). No thread of ours wakes while
 * nothing runs, and the device only to look for a stall (at most every
 * a stall's length) while the server carries the stream. While a connection is
 * being made (connecting) the ring is held, not paced, for up to
 * BE_RT_HOLD_NS, so a server that answers promptly gets the first frame.
 * A capture waits for the server's first data, connected or not, up to
 * BE_RT_CAP_HOLD_NS; then the device paces it, the wait as silence, so the
 * guest's capture clock runs from its START, and drops what of the
 * server's first data covers time it already gave (the pacer's turns
 * and the server's data meet in vsnd__be_rt_capture_pending).
 * Exactly one consumer touches the ring at a time: the server's callback and
 * the pacer each take an atomic owner token (try-only, never waited for).
 *
 * A TX buffer completes when it was played, not when the server took it:
 * vsnd__be_rt_play notes which ring frames went to which place in the
 * server's stream (runs of data between the silence it pads with); the
 * server side notes, whenever it learns it, the server's latency at a
 * moment (vsnd__be_rt_note_delay), and vsnd__be_rt_delay_frames runs the
 * server's play position on from there in real time and turns it into the
 * ring frames taken and not yet played. So the device thread never asks
 * the server library anything (no lock of the library's), and a server
 * that reports its latency once a period still completes every buffer on
 * time.
 *
 * A port may be closed while the server's threads still run (they let go
 * of their stream later): after vsnd__be_rt_detach they never touch the
 * port again, only the be_rt, which the backend frees once they are done.
 *
 * Log lines about the server coming and going are raised as atomic events by
 * the real-time side and written by vsnd__be_rt_report() on the device thread.
 */
#ifndef VSND_BACKENDS_RT_H
#define VSND_BACKENDS_RT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "vsnd/backend.h"

/* Who touches the port now: the server's callback, the device's pacer, a
 * server library's loop thread telling the device something; GONE once
 * the device closed it (vsnd__be_rt_detach). */
enum be_rt_owner { BE_RT_NONE, BE_RT_SERVER, BE_RT_PACER, BE_RT_LOOP, BE_RT_GONE };

/* Silence a new playback stream on a server begins with. PulseAudio rewinds
 * its sink when a new stream's first data ends the stream's underrun, and
 * the sink's monitor loses what was rewound; the rewind reaches about 10 ms
 * back. Without silence in front a guest lost 10-460 frames at the start of
 * a clip, and with less than 10 ms of it (a 20 ms guest buffer gives a
 * 5 ms server buffer, or a 1.25 ms ALSA period) 32-240. */
#define BE_RT_PRIME_MS 10u

/* The same for a stream through an ALSA PCM (the alsa and portaudio
 * backends). Through alsa-plugins' pulse PCM the rewind reaches further
 * back with a 20 ms guest buffer, whose few ms of PCM latency end an
 * underrun right at the start: with 10 ms, 1 in 10 such clips lost 60-256
 * frames ending 1-19 ms after the stream's start (CI: portaudio twice, then
 * alsa, 60 frames at the clip's first frame). */
#define BE_RT_PRIME_PCM_MS 25u

/* Events for the log (bits of be_rt.events). */
#define BE_RT_EV_LOST      1u  /* the server went away while connected */
#define BE_RT_EV_CONNECTED 2u  /* the stream is live on the server */
#define BE_RT_EV_ABSENT    4u  /* a connection attempt failed */
#define BE_RT_EV_RENEW     8u  /* a stream stuck on a live connection, made anew */

/* How long a stream that starts while its server connection is being made
 * waits for it, its ring held, before the pacer takes over. */
#define BE_RT_HOLD_NS UINT64_C(250000000)
#define BE_RT_HOLD_POLL_NS UINT64_C(5000000)
/* A capture waits for the server's first data (its ring held: a source's
 * first frame is the stream's), connected or not, for the server's latency
 * (when its first fragment is due) and BE_RT_CAP_HOLD_MORE_NS, at least
 * BE_RT_CAP_HOLD_NS; then the device paces it until the data comes, the
 * wait as silence. So the guest's capture clock lags real time by at most
 * BE_RT_CAP_HOLD_MORE_NS beyond the server's latency; a Linux guest fails a
 * read no period has completed for 100 ms (more with a buffer over 90 ms),
 * and PulseAudio's first fragment has come 120-160 ms after a start on a
 * busy host. The hold is at most the start's lag (cap_behind in rt.c). */
#define BE_RT_CAP_HOLD_NS UINT64_C(40000000)
#define BE_RT_CAP_HOLD_MORE_NS UINT64_C(20000000)
/* A live server that has not called back for BE_RT_STALL_CALLS times the
 * latency the backend asked of it (at least BE_RT_STALL_NS) is stalled
 * (stopped with SIGSTOP, a stuck graph): the device paces the stream until
 * it calls again, so the guest's clock keeps running. A server asks for data
 * at least once per latency while a stream plays (PulseAudio by minreq,
 * PipeWire by quantum, an ALSA period, a PortAudio buffer), but the first
 * calls after a start may be far apart (PulseAudio's idle null sink first
 * wakes on its old, long timer): the look begins after BE_RT_STALL_ARM
 * calls in the run. Until the backend says its latency (set_latency),
 * BE_RT_STALL_DEFAULT_NS. */
#define BE_RT_STALL_NS UINT64_C(100000000)
#define BE_RT_STALL_DEFAULT_NS UINT64_C(250000000)
#define BE_RT_STALL_CALLS 4u
#define BE_RT_STALL_ARM 3u
/* After a stall a server may run the cycles it missed back to back
 * (PipeWire's timer-driven null sink after SIGCONT took 250 ms of the
 * guest's audio in 2 ms): for this long after it calls again it gets no
 * more of the ring than real time since then allows, plus its latency;
 * silence fills the rest of a burst. */
#define BE_RT_CATCHUP_NS UINT64_C(1000000000)
/* Data runs remembered: a run ends at every pad of silence, and the server's
 * latency never holds more than a few. */
#define BE_RT_RUNS 32u

/* Ring frames [ring, ring + n) went to the server at its stream frames
 * [srv, srv + n). */
struct be_rt_run_slot {
	_Atomic uint64_t srv, ring, n;
};

struct be_rt {
	struct vsnd_port *port;      /* only under the owner token off the device thread */
	uint32_t fb, rate_hz;        /* the port's, for the server side */
	uint32_t period_frames;
	uint8_t format;
	bool out;
	struct vsnd_backend *be;
	const char *who;
	struct be_clock clock;       /* device thread: the pacer's */
	bool pacing;                 /* device thread: the pacer carries the stream */
	uint64_t hold_until;         /* device thread: end of the connecting hold, 0 unset */
	bool in_xrun;                /* server side: inside an xrun episode */
	uint8_t *scratch;            /* server side: BE_CHUNK_FRAMES frames of silence */
	bool said_absent;            /* device thread: "absent" logged already */
	bool stalled;                /* device thread: pacing for a stalled server */
	uint64_t stalled_at;         /* device thread: when that began */
	_Atomic uint64_t stall_ns;   /* no callback for this long: stalled */
	_Atomic uint64_t latency_us; /* what the backend asked of the server */
	_Atomic bool catchup_armed;  /* a stall was seen: watch the next calls */
	bool catching_up;            /* server side: inside the watch */
	uint64_t catchup_t0, catchup_ring0; /* server side: its start, ring_frames then */
	uint64_t seen_beats, seen_at; /* device thread: beats at its last change, when */
	uint64_t start_beats;        /* device thread: beats at the start (0: not yet seen) */
	_Atomic uint64_t beats;      /* server callbacks ever made */
	_Atomic bool running;        /* between start() and stop() */
	_Atomic bool live;           /* the server stream carries the audio */
	_Atomic bool connecting;     /* a connection attempt is under way */
	_Atomic bool parked;         /* not live because the backend parked it */
	_Atomic bool rearm;          /* live again: the stall look starts over */
	_Atomic int owner;           /* enum be_rt_owner */
	_Atomic unsigned int events;
	/* Server side writes, device thread reads (seqlock: odd while writing). */
	_Atomic uint64_t seq;
	_Atomic uint64_t srv_frames;  /* frames given to the server, silence included */
	_Atomic uint64_t ring_frames; /* of those, frames from the ring */
	_Atomic uint64_t n_runs;      /* runs ever started; the last BE_RT_RUNS kept */
	struct be_rt_run_slot runs[BE_RT_RUNS];
	/* the server's latency as last noted: playback, its stream frame
	 * heard at heard_ns (0: none); capture, the frames it held */
	_Atomic uint64_t heard_srv, heard_ns, cap_frames;
	_Atomic bool heard_stale;     /* noted before a start: do not run it on */
	/* Capture: where the stream stands in time (CLOCK_MONOTONIC ns) at a
	 * hand-over to the server, its start or the pacer's last turn
	 * (cap_paced), until the server's data comes; 0 none. */
	_Atomic uint64_t cap_from_ns;
	_Atomic bool cap_paced;
	size_t cap_skip;              /* server side: bytes of its data to drop */
	/* Device thread: a capture's START (0 once its start is over, see
	 * cap_behind), and the port's frames and the server's beats then. */
	uint64_t cap_start_ns, cap_frames0, cap_beats0;
	uint32_t unplayed;            /* device thread: the last delay read */
};

/* Check params (formats), set up the pacer clock. port->lead_bytes gets the
 * clock's two periods; raise it after. who names the backend and server in
 * log lines (e.g. "pulse (tcp:host:4713)") and must outlive rt. */
int vsnd__be_rt_init(struct be_rt *rt, struct vsnd_backend *be, struct vsnd_port *port,
	       uint64_t formats, const char *who);
/* Free. NULL-safe, idempotent. */
void vsnd__be_rt_fini(struct be_rt *rt);
/* Device thread, at close: from the return on, no other thread touches the
 * port (waits out a callback's turn in the ring, a copy of microseconds). */
void vsnd__be_rt_detach(struct be_rt *rt);
/* The latency the backend asked of its server (or got), us: sets how long
 * a silent server may be before it counts as stalled. Any thread. */
void vsnd__be_rt_set_latency(struct be_rt *rt, uint64_t latency_us);
/* For a backend whose server calls back more often than once per its
 * latency: the interval, us, which then sets the stall instead (after
 * set_latency). Any thread. */
void vsnd__be_rt_set_call_us(struct be_rt *rt, uint64_t call_us);

/*
 * The latency a server backend asks of its server or PCM, in us: the
 * option's (latency_ms), but at most half of what the guest's buffer holds
 * beyond a period, and at least 1 ms. The guest has at most its buffer in
 * flight and answers a completion with its next period, so the host's
 * share must leave it time to (a fixed 40 ms against a 40 ms guest buffer
 * ran the guest's clock at 2/3 speed), and within half that room a TX
 * buffer completes when heard. Playback gets up to BE_RT_SAFE_LATENCY_US of
 * the whole room: a server answered late loses audio (through PulseAudio,
 * 5 ms for a 20 ms guest buffer: 45-55 frames lost to an underrun 0-4 ms
 * into a clip, in 3 of 11 runs of ten clips); past half the room the TX
 * buffers complete ahead of what is heard (the core's holding_delay).
 */
#define BE_RT_SAFE_LATENCY_US 10000u
uint64_t vsnd__be_rt_latency_us(const struct vsnd_pcm_params *p, unsigned int latency_ms);


/* Device thread (the pacer restarts from scratch at the next run). */
void vsnd__be_rt_set_running(struct be_rt *rt, bool running);
bool vsnd__be_rt_running(const struct be_rt *rt);
/* Server side: the stream is (not) live; raises the log event. */
void vsnd__be_rt_set_live(struct be_rt *rt, bool live);
/* Server side: the backend parked its server stream (the guest stopped);
 * not live, with no log event, and connecting: the next start holds the
 * ring until the server carries it again. */
void vsnd__be_rt_set_parked(struct be_rt *rt);
void vsnd__be_rt_event(struct be_rt *rt, unsigned int ev);
/* A connection attempt begins (true) or ended either way (false); any
 * thread. The device is woken at the end, so the pacer takes over at once
 * from a failed attempt. */
void vsnd__be_rt_set_connecting(struct be_rt *rt, bool connecting);

/* Try to become the ring's consumer/producer; false if the other side is in
 * the middle of its turn (then pad with silence / drop this once). */
bool vsnd__be_rt_claim(struct be_rt *rt, enum be_rt_owner who);
void vsnd__be_rt_release(struct be_rt *rt);

/* Server callbacks: fill dst (bytes, whole frames) from the ring, silence
 * past what it holds; or put src's whole frames into the ring, dropping what
 * does not fit. Both count xruns and frames and wake the device. When not
 * running or not the owner, play silence / drop without touching the ring. */
void vsnd__be_rt_play(struct be_rt *rt, void *dst, size_t bytes);
void vsnd__be_rt_capture(struct be_rt *rt, const void *src, size_t bytes);
/* Server callback: fill dst with silence without touching the ring (a new
 * server stream's first fill, which some servers skip part of). */
void vsnd__be_rt_silence(struct be_rt *rt, void *dst, size_t bytes);
/* Server side, before a capture callback's vsnd__be_rt_capture calls, when
 * the server may hold more than the first: `pending` bytes are waiting,
 * the last captured now. Where the pacer carried the stream, what of them
 * covers time it already gave as silence is dropped (a server's first
 * fragments after a slow start or a stall, in one batch); without this
 * call vsnd__be_rt_capture judges by its own bytes alone. */
void vsnd__be_rt_capture_pending(struct be_rt *rt, size_t pending);
/* A capture hole (the server lost data): bytes of silence into the ring, so
 * the capture keeps real time, counted as an overrun. Server thread. */
void vsnd__be_rt_capture_silence(struct be_rt *rt, size_t bytes);

/* Server side, on the thread that plays or captures: at at_ns
 * (CLOCK_MONOTONIC) the server held latency_frames it was given and had not
 * played yet (or had captured and not given us). */
void vsnd__be_rt_note_delay(struct be_rt *rt, uint64_t latency_frames, uint64_t at_ns);

/* The delay at now_ns, from the last note: playback, the ring frames the
 * server took and has not played yet (its play position run on in real
 * time, never past what it was given; before the first note, all), so a
 * TX buffer completes once heard;
 * capture, the frames noted. 0 while the stream is not live: what a lost
 * server held is gone. Logs pending events. Device thread. */
uint32_t vsnd__be_rt_delay_at(struct be_rt *rt, uint64_t now_ns);
/* How long the server will take to play what it was given and has not
 * played, at now_ns (playback, live; 0 otherwise), but at most its latency
 * and a period: how long a closed stream's server stream plays on, so the
 * guest's last frames are heard. Any thread. */
uint64_t vsnd__be_rt_unheard_ns(struct be_rt *rt, uint64_t now_ns);

/* vsnd_backend_ops.delay_frames of an rt-first port: the above, now. */
uint32_t vsnd__be_rt_delay_frames(struct vsnd_backend *be, struct vsnd_port *port);

/* Device thread: write the pending events to the log, once per change. */
void vsnd__be_rt_report(struct be_rt *rt);

/* vsnd_backend_ops.start and .stop for a backend whose port state
 * (port->priv) begins with its struct be_rt: the stream runs (or not) and
 * pending events are logged. Device thread; 0, or -EBADFD if not open. */
int vsnd__be_rt_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
int vsnd__be_rt_stop(struct vsnd_backend *be, struct vsnd_port *port);
/* vsnd_backend_ops.tick for the same: while the server carries the stream,
 * the time at which it counts as stalled if it has not called back by then;
 * else the pacer's next deadline; UINT64_MAX when not running. */
uint64_t vsnd__be_rt_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);

/* A live stream the server has not called back for this long, while the
 * guest's stream runs, is stuck: the backend makes it anew (the device
 * paces it meanwhile, as for any stall). pipewire-pulse, after a SIGSTOP,
 * ran the graph cycles it had missed, overflowed its loop's queue ("queue
 * full 64") and never asked the stream for data again: 3 s of a clip went
 * unheard while it otherwise served. PortAudio's ALSA host API kept a
 * stream "active" whose server (through alsa-plugins' pulse PCM) had been
 * killed, so its backend never learnt the server was gone. A server that
 * is only stopped gets the new stream when it resumes. */
#define BE_RT_RENEW_NS UINT64_C(1000000000)
/* After vsnd__be_rt_tick, device thread: true once the stream has been
 * stalled BE_RT_RENEW_NS on a live connection; before that, *next is
 * lowered to the moment it would be, so the device looks then. */
bool vsnd__be_rt_stuck(const struct be_rt *rt, uint64_t now_ns, uint64_t *next);

#endif
