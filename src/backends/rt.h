/* SPDX-License-Identifier: MIT */
/*
 * Shared machinery of the self-clocked (sound server) backends.
 *
 * vsnd__be_rt_play/vsnd__be_rt_capture are what a server's real-time callback does with
 * the port: move whole frames between the ring and the server's buffer, pad
 * or drop with the xrun rules of backend.h, count frames and wake the
 * device. They only touch the ring, atomics and wake().
 *
 * struct be_rt also owns a "disconnected" pacer: a thread that, while the
 * stream runs and the server is not there (absent at start, or gone), plays
 * the ring out as silence (or captures silence) at the real rate with the
 * clocked backends' be_clock, so the guest's buffers keep completing on
 * time. Exactly one consumer touches the ring at a time: the server's
 * callback and the pacer each take an atomic owner token (try-only, never
 * waited for), so the hand-over on (re)connect never has two readers.
 *
 * Log lines about the server coming and going are raised as atomic events by
 * the real-time side and written by vsnd__be_rt_report() on the device thread.
 */
#ifndef VSND_BACKENDS_RT_H
#define VSND_BACKENDS_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "vsnd/backend.h"

enum be_rt_owner { BE_RT_NONE, BE_RT_SERVER, BE_RT_PACER };

/* Events for the log (bits of be_rt.events). */
#define BE_RT_EV_LOST      1u  /* the server went away while connected */
#define BE_RT_EV_CONNECTED 2u  /* the stream is live on the server */
#define BE_RT_EV_ABSENT    4u  /* a connection attempt failed */

struct be_rt {
	struct vsnd_port *port;
	struct vsnd_backend *be;
	const char *who;             /* names backend and server in the log */
	struct be_clock clock;       /* the pacer's: only its thread uses it after init */
	pthread_t thread;
	bool thread_ok;
	bool in_xrun;                /* server side: inside an xrun episode */
	uint8_t *scratch;            /* server side: BE_CHUNK_FRAMES frames of silence */
	bool said_absent;            /* device thread: "absent" logged already */
	_Atomic bool quit;
	_Atomic bool running;        /* between start() and stop() */
	_Atomic bool live;           /* the server stream carries the audio */
	_Atomic int owner;           /* enum be_rt_owner */
	_Atomic unsigned int events;
};

/* Check params (formats), set up the pacer clock, start the pacer thread.
 * port->lead_bytes gets the clock's two periods; raise it after. who names
 * the backend and server in log lines (e.g. "pulse (tcp:host:4713)") and
 * must outlive rt. */
int vsnd__be_rt_init(struct be_rt *rt, struct vsnd_backend *be, struct vsnd_port *port,
	       uint64_t formats, const char *who);
/* Join the pacer, free. NULL-safe, idempotent. */
void vsnd__be_rt_fini(struct be_rt *rt);

void vsnd__be_rt_set_running(struct be_rt *rt, bool running);
bool vsnd__be_rt_running(const struct be_rt *rt);
/* Server side: the stream is (not) live; raises the log event. */
void vsnd__be_rt_set_live(struct be_rt *rt, bool live);
void vsnd__be_rt_event(struct be_rt *rt, unsigned int ev);

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
/* A capture hole (the server lost data): bytes of silence into the ring, so
 * the capture keeps real time, counted as an overrun. Server thread. */
void vsnd__be_rt_capture_silence(struct be_rt *rt, size_t bytes);

/* Device thread: write the pending events to the log, once per change. */
void vsnd__be_rt_report(struct be_rt *rt);

/* vsnd_backend_ops.start and .stop for a backend whose port state
 * (port->priv) begins with its struct be_rt: the stream runs (or not) and
 * pending events are logged. Device thread; 0, or -EBADFD if not open. */
int vsnd__be_rt_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
int vsnd__be_rt_stop(struct vsnd_backend *be, struct vsnd_port *port);

#endif
