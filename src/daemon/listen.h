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
	bool owned;                     /* we created path: unlink it at the end */
};

/* The first fd systemd socket activation passes (SD_LISTEN_FDS_START). */
#define VD_LISTEN_FDS_START 3

/*
 * Listen on path (non-blocking, close-on-exec, file mode 0600). Never
 * follows a symlink: a non-socket file at path is an error and is left
 * alone; a stale socket (nobody accepts on it) is replaced; a live one
 * is refused. Returns 0 or a negative errno, after logging why.
 */
int vd_listen(struct vd_listener *l, const char *path);
/*
 * Use an inherited socket fd (--socket-fd, socket activation). It must be
 * an AF_UNIX stream socket. A listening one is used as is (made
 * non-blocking and close-on-exec; its file is never unlinked: whoever
 * created it owns it): returns 0. A connected one is not a listener:
 * returns 1 and l stays closed; the caller serves that one connection.
 * Otherwise a negative errno, after logging what to do.
 */
int vd_listen_fd(struct vd_listener *l, int fd);
/*
 * systemd socket activation, the sd_listen_fds(unset=1) rules done by hand:
 * if LISTEN_PID is this process, returns LISTEN_FDS (fds from
 * VD_LISTEN_FDS_START on, now close-on-exec); 0 if nothing was passed to
 * us; -EINVAL if the variables are malformed. Unsets LISTEN_PID,
 * LISTEN_FDS and LISTEN_FDNAMES so that children do not inherit them.
 */
int vd_listen_fds(void);
/* Accept one connection (close-on-exec). Returns the fd or a negative errno
 * (-EAGAIN when nobody is waiting). */
int vd_listener_accept(struct vd_listener *l);
/* Close, and unlink the path if it is still the socket we created (never
 * one we were given). */
void vd_unlisten(struct vd_listener *l);

#endif
