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
 * Threads: the device thread calls vsnd__be_srv_start/stop/add/remove; they
 * take the library's loop lock, briefly, and never wait for the server.
 * Everything else runs on the library's loop thread with that lock held,
 * the ops included (lock/unlock aside). Objects are never freed inside
 * their own callbacks: a lost connection or stream is freed at the retry.
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
	void *stream;                /* the library's stream, NULL if none (loop lock) */
	bool doomed;                 /* stream failed: free it at the retry (loop lock) */
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
	/* Optional: the guest started (true) or stopped its stream; a stopped
	 * stream should cost nothing (corked, inactive). Also called by the
	 * backend itself once a new stream is ready. */
	void (*stream_run)(struct be_srv *srv, struct be_srv_port *sp, bool running);
	/* Call vsnd__be_srv_retry on the loop thread in about a second. */
	void (*arm_retry)(struct be_srv *srv);
};

enum be_srv_state { BE_SRV_IDLE, BE_SRV_CONNECTING, BE_SRV_READY, BE_SRV_DOWN };

struct be_srv {
	const struct be_srv_ops *ops;
	enum be_srv_state state;     /* loop lock */
	bool conn_doomed;            /* connection lost: free it at the retry */
	struct be_srv_port *ports;   /* loop lock */
};

/* Device thread (the backend's loop runs). Begin connecting. */
void vsnd__be_srv_start(struct be_srv *srv, const struct be_srv_ops *ops);
/* Device thread: drop every stream and the connection (the loop is then
 * stopped by the backend). */
void vsnd__be_srv_stop(struct be_srv *srv);
/* Device thread: a port opens (its rt is set up) or closes. */
void vsnd__be_srv_add(struct be_srv *srv, struct be_srv_port *sp);
void vsnd__be_srv_remove(struct be_srv *srv, struct be_srv_port *sp);

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

/* The name a server shows for a guest stream: "vsnd: NAME playback", with
 * the stream's number among its direction's from the second on. */
void vsnd__be_srv_stream_name(char *buf, size_t size, const char *vm_name,
			      const struct vsnd_pcm_params *p);

/* Loop thread, from the library's callbacks. */
void vsnd__be_srv_connected(struct be_srv *srv);
void vsnd__be_srv_lost(struct be_srv *srv);
void vsnd__be_srv_stream_live(struct be_srv *srv, struct be_srv_port *sp, bool live);
void vsnd__be_srv_stream_lost(struct be_srv *srv, struct be_srv_port *sp);
/* The retry timer fired. */
void vsnd__be_srv_retry(struct be_srv *srv);

#endif
