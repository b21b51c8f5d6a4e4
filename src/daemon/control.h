/* SPDX-License-Identifier: MIT */
/*
 * The runtime control socket (--control PATH) that vsnd-ctl talks to: one
 * text command per connection, one text answer, then the daemon closes it.
 *
 *   status [--json] | jack N plug|unplug | volume N 0..100 | mute N on|off
 *   inject N FILE [--mix|--replace] [--loop] | inject N --stop
 *   tap N FILE [--seconds=S] | tap N --stop
 *
 * Answers end with "ok" or start with "error: ". Threading: the loop thread.
 */
#ifndef VSND_DAEMON_CONTROL_H
#define VSND_DAEMON_CONTROL_H

#include <stddef.h>

#include <vsnd/vsnd.h>

struct vd_control;
struct vd_intercept;
struct vd_listener;

/* Listen on path (mode 0600, same rules as the frontend socket). Returns 0
 * or a negative errno after logging why. */
int vd_control_open(struct vd_control **out, const char *path);
/* Close and unlink. NULL is fine. */
void vd_control_free(struct vd_control *c);
/* The listening socket (for --user, which hands its file over). */
const struct vd_listener *vd_control_listener(const struct vd_control *c);
/* The fd to watch for input (an epoll set of the listener and the clients).
 * When it is readable, vd_control_handle serves what is ready, without
 * waiting: a client's line is gathered as it comes, answered at its end, and
 * the connection closed. dev is the device of the connected frontend, or
 * NULL when none is connected, and ic its inject and tap. */
int vd_control_fd(const struct vd_control *c);
void vd_control_handle(struct vd_control *c, struct vsnd_dev *dev, struct vd_intercept *ic);

/* Run one command line against dev (NULL: no frontend); the answer goes to
 * buf. Returns 0 if it succeeded. */
int vd_control_run(struct vsnd_dev *dev, struct vd_intercept *ic, const char *line, char *buf,
		   size_t size);

#endif
