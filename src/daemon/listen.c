/* SPDX-License-Identifier: MIT */
#include "daemon/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/log.h"
#include "util/num.h"

/* Is someone accepting connections on the socket at path? 0: no (stale),
 * 1: yes, or a negative errno. */
static int socket_alive(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;

	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (rc == 0)
		rc = 1;
	else if (errno == ECONNREFUSED)
		rc = 0;
	else if (errno == EAGAIN)
		rc = 1; /* alive, its backlog is full */
	else
		rc = -errno;
	close(fd);
	return rc;
}

/* Make path free for bind(), or say why not. */
static int clear_path(const struct sockaddr_un *sa)
{
	const char *path = sa->sun_path;
	struct stat st;
	int alive;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode)) {
		vd_log(VSND_LOG_ERROR, "%s is a symbolic link; refusing to use it", path);
		return -EEXIST;
	}
	if (!S_ISSOCK(st.st_mode)) {
		vd_log(VSND_LOG_ERROR, "%s exists and is not a socket; not touching it", path);
		return -EEXIST;
	}
	alive = socket_alive(sa);
	if (alive > 0) {
		vd_log(VSND_LOG_ERROR, "%s is in use by another running process (another vsnd "
		       "for this VM?): stop it, or give this one another --socket", path);
		return -EADDRINUSE;
	}
	if (alive < 0) {
		vd_log(VSND_LOG_ERROR, "cannot probe the existing socket %s: %s", path,
		       strerror(-alive));
		return alive;
	}
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	vd_log(VSND_LOG_INFO, "replaced the stale socket %s", path);
	return 0;
}

static int bind_private(int fd, const struct sockaddr_un *sa)
{
	/* The socket file gets mode 0600 at creation: no window in which
	 * another user could connect and feed us a memory table. */
	mode_t old = umask(0177);
	int rc = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
	int err = errno;

	umask(old);
	return rc < 0 ? -err : 0;
}

int vd_listen(struct vd_listener *l, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		vd_log(VSND_LOG_ERROR, "socket path too long (max %zu bytes): %s",
		       sizeof(sa.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	rc = clear_path(&sa);
	if (rc < 0)
		goto err;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (l->fd < 0) {
		rc = -errno;
		goto err;
	}
	rc = bind_private(l->fd, &sa);
	if (rc == 0 && listen(l->fd, 4) < 0)
		rc = -errno;
	if (rc == 0 && lstat(path, &st) < 0)
		rc = -errno;
	if (rc < 0)
		goto err;
	strcpy(l->path, path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->owned = true;
	return 0;
err:
	if (rc != -EEXIST && rc != -EADDRINUSE)
		vd_log(VSND_LOG_ERROR, "cannot listen on %s: %s", path, strerror(-rc));
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	return rc;
}

static int sock_opt(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -errno : v;
}

/* Is fd an AF_UNIX stream socket? 0, or a negative errno after logging. */
static int check_inherited(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		vd_log(VSND_LOG_ERROR, "socket fd %d: %s (pass the socket to vsnd as that fd)", fd,
		       strerror(errno));
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		vd_log(VSND_LOG_ERROR, "fd %d is not a socket: pass an AF_UNIX stream socket", fd);
		return -ENOTSOCK;
	}
	if (sock_opt(fd, SO_DOMAIN) != AF_UNIX || sock_opt(fd, SO_TYPE) != SOCK_STREAM) {
		vd_log(VSND_LOG_ERROR, "fd %d is not an AF_UNIX stream socket (vhost-user needs one; "
		       "ListenStream= with a path in a socket unit)", fd);
		return -EPROTOTYPE;
	}
	return 0;
}

static int set_fd_flags(int fd, bool nonblock)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	if (fl < 0 || fdfl < 0)
		return -errno;
	if (nonblock && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0 ? -errno : 0;
}

int vd_listen_fd(struct vd_listener *l, int fd)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	int rc, listening;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	rc = check_inherited(fd);
	if (rc < 0)
		return rc;
	listening = sock_opt(fd, SO_ACCEPTCONN);
	if (listening < 0)
		return listening;
	/* a connected socket (a socketpair end) keeps its blocking mode: the
	 * vhost-user layer sets what it needs */
	rc = set_fd_flags(fd, listening > 0);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "socket fd %d: %s", fd, strerror(-rc));
		return rc;
	}
	if (!listening)
		return 1;
	l->fd = fd;
	if (getsockname(fd, (struct sockaddr *)&sa, &len) == 0 && len > sizeof(sa.sun_family) &&
	    sa.sun_path[0])
		snprintf(l->path, sizeof(l->path), "%.*s", (int)(sizeof(sa.sun_path) - 1), sa.sun_path);
	else
		snprintf(l->path, sizeof(l->path), "fd %d", fd);
	l->owned = false;
	return 0;
}

/* A decimal number that fits an int, nothing else. */
static int parse_env_int(const char *name)
{
	const char *s = getenv(name);
	unsigned int v;

	if (!s || !*s)
		return -ENOENT;
	return vsnd__parse_uint(s, 0, INT_MAX, &v) < 0 ? -EINVAL : (int)v;
}

int vd_listen_fds(void)
{
	int pid = parse_env_int("LISTEN_PID"), n = parse_env_int("LISTEN_FDS"), rc = 0;

	if (pid == -ENOENT || n == -ENOENT)
		goto out;
	if (pid < 0 || n < 0 || n > INT_MAX - VD_LISTEN_FDS_START) {
		rc = -EINVAL;
		goto out;
	}
	/* meant for another process (our parent, say): not ours */
	if ((pid_t)pid != getpid())
		goto out;
	for (int fd = VD_LISTEN_FDS_START; fd < VD_LISTEN_FDS_START + n; fd++)
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			rc = -errno;
			goto out;
		}
	rc = n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

int vd_listener_accept(struct vd_listener *l)
{
	int fd;

	do
		fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

void vd_unlisten(struct vd_listener *l)
{
	struct stat st;

	if (!l || l->fd < 0)
		return;
	close(l->fd);
	l->fd = -1;
	if (!l->owned)
		return;
	/* Someone may have replaced the path meanwhile: only remove ours. */
	if (lstat(l->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == l->dev &&
	    st.st_ino == l->ino)
		unlink(l->path);
}
