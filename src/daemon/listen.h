/* SPDX-License-Identifier: MIT */
/* The daemon's listening Unix socket. */
#ifndef VSND_DAEMON_LISTEN_H
#define VSND_DAEMON_LISTEN_H

#include <stdbool.h>
#include <sys/types.h>
#include <sys/un.h>

struct vd_listener {
	int fd;                         /* -1 when closed */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;                      /* the socket file we created */
	ino_t ino;
};

/*
 * Listen on path (non-blocking, close-on-exec, file mode 0600). Never
 * follows a symlink: a non-socket file at path is an error and is left
 * alone; a stale socket (nobody accepts on it) is replaced; a live one
 * is refused. Returns 0 or a negative errno, after logging why.
 */
int vd_listen(struct vd_listener *l, const char *path);
/* Accept one connection (close-on-exec). Returns the fd or a negative errno
 * (-EAGAIN when nobody is waiting). */
int vd_listener_accept(struct vd_listener *l);
/* Close, and unlink the path if it is still the socket we created. */
void vd_unlisten(struct vd_listener *l);

#endif
