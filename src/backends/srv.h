/* SPDX-License-Identifier: MIT */
/*
 * One sound-server connection per backend instance, shared by all its
 * streams (not installed).
 *
 * The lifecycle is the same for every client library: connect without
 * waiting; once connected, make a server stream for each open port; when
 * the server goes, drop them all and retry once a second; when one stream
 * fails (its sink went away), retry that one. This module holds that logic;
 * a backend supplies the library calls (struct be_srv_ops) and calls the
 * be_srv_* notifications from its library's callbacks.
 *
 * Threads: the device thread never takes the library's loop lock (its loop
 * thread holds it for as long as the library likes: 15-22 ms while
 * PipeWire synced its data thread). It posts what changed (a port opened,
 * started, stopped, closed) and kicks an eventfd the loop watches; the loop
 * thread then does the library's part (vsnd__be_srv_work). A closed port is
 * freed by the loop thread once its stream is gone: a stream that was
 * playing first plays out what the server holds of the guest's audio (at
 * most the server's latency and a period), so its last frames are heard
 * whether or not the guest waited for them; then it waits a second more
 * as a spare, which a new port of the same parameters adopts instead of
 * making a stream of its own (stream_adopt). The device reads the
 * server's latency from what the server side noted in the be_rt. Only
 * vsnd__be_srv_start/stop, at the backend's creation and destruction, take
 * the lock. Everything else runs on the loop thread with the lock held, the
 * ops included (lock/unlock aside). Objects are never freed inside their
 * own callbacks: a lost connection or stream is freed at the retry.
 */
#ifndef VSND_BACKENDS_SRV_H
#define VSND_BACKENDS_SRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt.h"

struct be_srv;

/* A port of a server backend: its be_rt first (vsnd__be_rt_start/stop and
 * vsnd__be_rt_tick find it at port->priv). */
struct be_srv_port {
	struct be_rt rt;
	struct be_srv *srv;          /* the connection it belongs to */
	struct be_srv_port *next;    /* loop lock */
	struct be_srv_port *next_new; /* on srv->incoming */
	void *stream;                /* the library's stream, NULL if none (loop lock) */
	bool doomed;                 /* stream failed: free it at the retry (loop lock) */
	bool run_told;               /* loop lock: the stream runs (made so, or told) */
	uint64_t idle_since;         /* loop lock: running, the guest's stream not (0: no) */
	uint64_t linger_until;       /* loop lock: closed; its stream plays on till then */
	uint64_t spare_until;        /* loop lock: closed; a new port may adopt its stream */
	struct vsnd_pcm_params params; /* the port's, for a new port to match */
	_Atomic bool want_run;       /* device thread: the guest's stream runs */
	_Atomic bool closing;        /* device thread: closed; the loop thread frees it */
	_Atomic bool renew;          /* device thread: stuck; the loop thread makes it anew */
};

struct be_srv_ops {
	void (*lock)(struct be_srv *srv);
	void (*unlock)(struct be_srv *srv);
	/* Begin connecting; the outcome arrives as vsnd__be_srv_connected or
	 * vsnd__be_srv_lost. 0 or a negative errno (then lost at once). */
	int (*connect)(struct be_srv *srv);
	/* Free the connection objects (streams are freed before). */
	void (*disconnect)(struct be_srv *srv);
	/* Make port's stream on the ready connection and set sp->stream; its
	 * outcome arrives as vsnd__be_srv_stream_live / _stream_lost. */
	int (*stream_new)(struct be_srv *srv, struct be_srv_port *sp);
	void (*stream_free)(struct be_srv *srv, struct be_srv_port *sp);
	/* Optional: the stream should run (true) or be parked; a parked
	 * stream should cost nothing (corked, inactive). A new stream is made
	 * running (sp->run_told), and parked once the guest's stream has been
	 * idle for BE_SRV_PARK_NS. Also called by the backend itself once a
	 * new stream is ready. */
	void (*stream_run)(struct be_srv *srv, struct be_srv_port *sp, bool running);
	/* Optional: move the library's stream of `from`, a closed port, to
	 * `to`, a new port of the same parameters, its callbacks now given
	 * `to` (to->stream set, from->stream NULL), and say whether it is live
	 * (vsnd__be_srv_stream_live). 0, or a negative errno (nothing moved). */
	int (*stream_adopt)(struct be_srv *srv, struct be_srv_port *from, struct be_srv_port *to);
	/* Call vsnd__be_srv_retry on the loop thread in about a second. */
	void (*arm_retry)(struct be_srv *srv);
	/* Watch kick_fd on the loop: vsnd__be_srv_work when readable. 0 or a
	 * negative errno. */
	int (*watch)(struct be_srv *srv, int kick_fd);
	/* Call vsnd__be_srv_work on the loop thread at at_ns (CLOCK_MONOTONIC),
	 * replacing an earlier call asked for. */
	void (*arm_at)(struct be_srv *srv, uint64_t at_ns);
};

enum be_srv_state { BE_SRV_IDLE, BE_SRV_CONNECTING, BE_SRV_READY, BE_SRV_DOWN };

/* A server stream keeps running this long (at least; up to a retry period
 * more) after the guest's stream was prepared or stopped, so a START soon
 * after finds it running: waking a parked PipeWire stream held a guest's
 * first frames 17 ms. Then it is parked, and costs nothing while idle. */
#define BE_SRV_PARK_NS UINT64_C(1000000000)

/* A closed port's stream is kept this long after it played out, running,
 * for a new port of the same parameters to adopt (stream_adopt): a guest
 * plays one sound after another (aplay per clip, a desktop's event
 * sounds) each as a new stream, and a new PipeWire stream is linked 40 ms
 * after it is made, a wait the guest's clock would otherwise begin with. */
#define BE_SRV_SPARE_NS BE_SRV_PARK_NS


struct be_srv {
	const struct be_srv_ops *ops;
	enum be_srv_state state;     /* loop lock */
	bool conn_doomed;            /* connection lost: free it at the retry */
	struct be_srv_port *ports;   /* loop lock */
	_Atomic(struct be_srv_port *) incoming; /* opened, not yet on ports */
	int kick_fd;                 /* eventfd: the device posted something */
};

/* Device thread (the backend's loop runs). Begin connecting; watch the
 * kick. 0 or a negative errno. */
int vsnd__be_srv_start(struct be_srv *srv, const struct be_srv_ops *ops);
/* Device thread: drop every stream and the connection, free the closed
 * ports (the loop is then stopped by the backend). */
void vsnd__be_srv_stop(struct be_srv *srv);
/* After the loop stopped: close the kick. Idempotent; fine unstarted. */
void vsnd__be_srv_fini(struct be_srv *srv);

/*
 * The open() and close() of a server backend, around what is its own:
 * port_new allocates `size` zeroed bytes (the backend's port state, which
 * begins with its be_srv_port) and sets up its rt, or returns NULL with
 * *err set; the backend fills in its part, then port_open publishes it as
 * port->priv and hands it to the connection (or port_free drops it if the
 * backend's part failed). port_close undoes all of it; NULL priv is fine.
 */
void *vsnd__be_srv_port_new(struct vsnd_backend *be, struct vsnd_port *port, size_t size,
			    uint64_t formats, const char *who, int *err);
void vsnd__be_srv_port_open(struct be_srv *srv, struct vsnd_port *port, struct be_srv_port *sp);
void vsnd__be_srv_port_free(struct be_srv_port *sp);
void vsnd__be_srv_port_close(struct be_srv *srv, struct vsnd_port *port);

/* vsnd_backend_ops.start and .stop of a server backend: the be_rt's, and
 * the server stream told (stream_run). Device thread. */
int vsnd__be_srv_port_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
int vsnd__be_srv_port_stop(struct vsnd_backend *be, struct vsnd_port *port);
/* vsnd_backend_ops.tick of a server backend: the be_rt's, and a stuck
 * stream's renewal asked (vsnd__be_rt_stuck). Device thread. */
uint64_t vsnd__be_srv_port_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);

/* The name a server shows for a guest stream: "vsnd: NAME playback", with
 * the stream's number among its direction's from the second on. */
void vsnd__be_srv_stream_name(char *buf, size_t size, const char *vm_name,
			      const struct vsnd_pcm_params *p);

/* Loop thread, from the library's callbacks. */
/* kick_fd is readable: take what the device posted. */
void vsnd__be_srv_work(struct be_srv *srv);
void vsnd__be_srv_connected(struct be_srv *srv);
void vsnd__be_srv_lost(struct be_srv *srv);
void vsnd__be_srv_stream_live(struct be_srv *srv, struct be_srv_port *sp, bool live);
void vsnd__be_srv_stream_lost(struct be_srv *srv, struct be_srv_port *sp);
/* The retry timer fired. */
void vsnd__be_srv_retry(struct be_srv *srv);

#endif
