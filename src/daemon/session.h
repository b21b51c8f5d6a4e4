/* SPDX-License-Identifier: MIT */
/*
 * One frontend connection: the vhost-user transport, the virtqueues and the
 * sound device glued together. Created on accept(), freed on disconnect
 * (which closes the host streams and finalizes their files).
 *
 * Threading: the daemon's loop thread only.
 */
#ifndef VSND_DAEMON_SESSION_H
#define VSND_DAEMON_SESSION_H

#include <stdbool.h>

#include <vsnd/backend.h>
#include <vsnd/vsnd.h>

struct vd_session_config {
	struct vsnd_backend *backend;           /* borrowed */
	const struct vsnd_layout *layout;       /* NULL: the default layout */
	bool controls;
	const struct vsnd_host_ops *host;       /* clock, timer, wake, log */
	void *host_opaque;
	/* Watch fd for kicks of queue q (-1: stop watching); see vhu_ops. */
	void (*watch_kick)(void *opaque, unsigned int q, int fd);
	void *watch_opaque;
};

struct vd_session;

/* Serve the frontend on sock (owned from now on, even on failure).
 * Returns 0, -EINVAL or -ENOMEM. */
int vd_session_new(struct vd_session **out, int sock, const struct vd_session_config *cfg);
/* Free the device (closing host streams), the rings, the memory and every
 * fd. Makes no watch_kick callback. NULL is fine. */
void vd_session_free(struct vd_session *s);

int vd_session_fd(const struct vd_session *s);
/* The socket is readable. Returns 0, or a negative errno: end the session
 * (-ECONNRESET: the frontend hung up). */
int vd_session_handle_socket(struct vd_session *s);
/* The kick fd of queue q is readable. */
void vd_session_handle_kick(struct vd_session *s, unsigned int q);
/* The timer expired or a backend woke us. */
void vd_session_process(struct vd_session *s);
/* The device, for status displays and tests. */
struct vsnd_dev *vd_session_dev(const struct vd_session *s);
/* Its run-time inject and tap (vsnd-ctl). */
struct vd_intercept *vd_session_intercept(const struct vd_session *s);
/* Log one status line per stream and per queue (SIGUSR1). */
void vd_session_log_status(const struct vd_session *s);

#endif
