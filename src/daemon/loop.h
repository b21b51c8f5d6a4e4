/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one thread: an epoll loop over the listening socket, the
 * connection, the four kick eventfds, a timerfd (the device's timer), an
 * eventfd (backend wake-ups) and a signalfd. Every handler is non-blocking,
 * so config reads are served while queues run, and a ring stop parks the
 * held buffers without any lock (docs/rings.md). One frontend at a time: while connected,
 * the listening socket is not watched.
 */
#ifndef VSND_DAEMON_LOOP_H
#define VSND_DAEMON_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <vsnd/backend.h>
#include <vsnd/vsnd.h>

#include "daemon/listen.h"

struct vd_control;

struct vd_session;

struct vd_loop_config {
	const char *socket_path;        /* NULL: no listener, see vd_loop_adopt() */
	/* Instead of socket_path: an inherited socket (--socket-fd, socket
	 * activation), owned from vd_loop_init on. A listening one is served
	 * like our own (but its file is never removed); a connected one is
	 * served once and then the loop quits. */
	bool use_socket_fd;
	int socket_fd;
	struct vsnd_backend *backend;   /* borrowed */
	const struct vsnd_layout *layout; /* NULL: default */
	bool controls;
	const char *control_path;       /* runtime control socket; NULL: none */
	/* Handle SIGINT/SIGTERM (quit) and SIGUSR1 (status) through a
	 * signalfd; the caller has blocked them in every thread. */
	bool signals;
	/* --trace: called for every completed I/O message (NULL: none) */
	vsnd_trace_fn trace;
	vsnd_state_trace_fn state_trace; /* and at every stream state change */
	void *trace_opaque;
};

struct vd_loop {
	struct vd_loop_config cfg;
	int epfd, timerfd, wakefd, sigfd;
	struct vd_listener listener;
	bool listening;                 /* listener is in the epoll set */
	struct vd_session *session;
	struct vd_control *control;     /* NULL without --control */
	int kick_fd[VSND_NUM_QUEUES];   /* watched kick fds */
	uint64_t deadline;              /* armed timer, UINT64_MAX: none */
	bool quit;
	unsigned long sessions;         /* connections served so far */
};

/* Returns 0 or a negative errno (logged). */
int vd_loop_init(struct vd_loop *l, const struct vd_loop_config *cfg);
/* End the session (device freed, files finalized), close everything and
 * remove the socket file. */
void vd_loop_fini(struct vd_loop *l);
/* Serve an already-connected socket (owned from now on). Returns 0,
 * -EBUSY if a frontend is connected, or another negative errno. */
int vd_loop_adopt(struct vd_loop *l, int sock);
/* Wait up to timeout_ms (-1: forever) and handle what is ready. Returns 0
 * or a negative errno if the loop itself failed. */
int vd_loop_iterate(struct vd_loop *l, int timeout_ms);
/* Iterate until SIGINT/SIGTERM (or vd_loop_stop). Returns 0 or a negative errno. */
int vd_loop_run(struct vd_loop *l);
void vd_loop_stop(struct vd_loop *l);

#endif
