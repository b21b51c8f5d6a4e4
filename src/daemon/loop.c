/* SPDX-License-Identifier: MIT */
#include "daemon/loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/session.h"
#include "util/mono.h"

/* epoll tags: what a ready fd is. */
enum tag {
	TAG_LISTEN = 1,
	TAG_CONN,
	TAG_TIMER,
	TAG_WAKE,
	TAG_SIGNAL,
	TAG_CONTROL,
	TAG_KICK,       /* + queue index */
};

#define EVENTS_PER_WAIT 16

static int watch_events(struct vd_loop *l, int fd, uint64_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = tag };

	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int watch(struct vd_loop *l, int fd, uint64_t tag)
{
	return watch_events(l, fd, tag, EPOLLIN);
}

static void unwatch(struct vd_loop *l, int fd)
{
	if (fd >= 0)
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

/* ---- host services for the device ----------------------------------- */

static void h_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	/* The device logs what the guest does: rate-limited. */
	vd_log_limited(level, msg);
}

static uint64_t h_now_ns(void *opaque)
{
	return vsnd__mono_ns();
}

static void h_set_timer(void *opaque, uint64_t deadline_ns)
{
	struct vd_loop *l = opaque;
	struct itimerspec its = { 0 };

	if (deadline_ns == l->deadline)
		return;
	if (deadline_ns != UINT64_MAX) {
		/* an all-zero it_value would disarm the timer */
		uint64_t t = deadline_ns ? deadline_ns : 1;

		its.it_value.tv_sec = (time_t)(t / 1000000000ull);
		its.it_value.tv_nsec = (long)(t % 1000000000ull);
	}
	if (timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		l->deadline = deadline_ns;
	else
		vd_log(VSND_LOG_ERROR, "timerfd_settime: %s", strerror(errno));
}

/* Any thread, real-time ones included: one write to an eventfd. */
static void h_wake(void *opaque)
{
	struct vd_loop *l = opaque;
	uint64_t one = 1;
	ssize_t n = write(l->wakefd, &one, sizeof(one));

	(void)n; /* EAGAIN: the counter is saturated, a wake-up is pending anyway */
}

static const struct vsnd_host_ops loop_host_ops = {
	.size = sizeof(struct vsnd_host_ops),
	.log = h_log,
	.now_ns = h_now_ns,
	.set_timer = h_set_timer,
	.wake = h_wake,
};

/* ---- sessions ----------------------------------------------------- */

static void watch_kick(void *opaque, unsigned int q, int fd)
{
	struct vd_loop *l = opaque;
	int rc;

	if (q >= VSND_NUM_QUEUES)
		return;
	unwatch(l, l->kick_fd[q]);
	l->kick_fd[q] = -1;
	if (fd < 0)
		return;
	rc = watch(l, fd, TAG_KICK + q);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "cannot watch the kick fd of queue %u: %s", q, strerror(-rc));
		return;
	}
	l->kick_fd[q] = fd;
}

static void listen_again(struct vd_loop *l)
{
	if (l->listener.fd < 0 || l->listening)
		return;
	if (watch(l, l->listener.fd, TAG_LISTEN) == 0)
		l->listening = true;
	else
		vd_log(VSND_LOG_ERROR, "cannot watch the listening socket: %s", strerror(errno));
}

static void session_end(struct vd_loop *l, int why)
{
	if (!l->session)
		return;
	if (why == -ECONNRESET)
		vd_log(VSND_LOG_INFO, "frontend disconnected");
	else if (why < 0)
		vd_log(VSND_LOG_WARN, "connection closed after an error (%s)", strerror(-why));
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		unwatch(l, l->kick_fd[q]);
		l->kick_fd[q] = -1;
	}
	unwatch(l, vd_session_fd(l->session));
	vd_session_free(l->session);
	l->session = NULL;
	h_set_timer(l, UINT64_MAX);
	if (l->listener.fd >= 0)
		listen_again(l);
	else
		l->quit = true; /* an adopted connection: nothing else to serve */
}

int vd_loop_adopt(struct vd_loop *l, int sock)
{
	struct vd_session_config cfg = {
		.backend = l->cfg.backend, .layout = l->cfg.layout, .controls = l->cfg.controls,
		.host = &loop_host_ops, .host_opaque = l,
		.watch_kick = watch_kick, .watch_opaque = l,
	};
	int rc;

	if (l->session) {
		close(sock);
		return -EBUSY;
	}
	rc = vd_session_new(&l->session, sock, &cfg);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "cannot serve the new connection: %s", strerror(-rc));
		return rc;
	}
	if (l->cfg.trace)
		vsnd_dev_set_trace(vd_session_dev(l->session), l->cfg.trace, l->cfg.trace_opaque);
	if (l->cfg.state_trace)
		vsnd_dev_set_state_trace(vd_session_dev(l->session), l->cfg.state_trace,
					 l->cfg.trace_opaque);
	rc = watch(l, vd_session_fd(l->session), TAG_CONN);
	if (rc < 0) {
		session_end(l, rc);
		return rc;
	}
	/* one frontend at a time: later ones wait in the backlog */
	if (l->listening) {
		unwatch(l, l->listener.fd);
		l->listening = false;
	}
	l->sessions++;
	vd_log(VSND_LOG_INFO, "frontend connected");
	return 0;
}

static void on_listen(struct vd_loop *l)
{
	int fd = vd_listener_accept(&l->listener);

	if (fd == -EAGAIN || fd == -ECONNABORTED)
		return;
	if (fd < 0) {
		vd_log(VSND_LOG_ERROR, "accept: %s", strerror(-fd));
		return;
	}
	vd_loop_adopt(l, fd);
}

/* ---- fds ready ---------------------------------------------------- */

static void drain(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)n; /* only the readiness matters */
}

static void on_signal(struct vd_loop *l)
{
	struct signalfd_siginfo si;

	if (read(l->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	switch (si.ssi_signo) {
	case SIGINT:
	case SIGTERM:
		vd_log(VSND_LOG_INFO, "%s: shutting down", strsignal((int)si.ssi_signo));
		l->quit = true;
		break;
	case SIGUSR1:
		if (l->session)
			vd_session_log_status(l->session);
		else
			vd_log(VSND_LOG_INFO, "no frontend connected (%lu served so far)", l->sessions);
		break;
	default:
		break;
	}
}

/* Returns true if the session ended: the rest of the batch may name its fds. */
static bool dispatch(struct vd_loop *l, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;
	int rc;

	if (tag >= TAG_KICK && tag < TAG_KICK + VSND_NUM_QUEUES) {
		if (l->session && l->kick_fd[tag - TAG_KICK] >= 0)
			vd_session_handle_kick(l->session, (unsigned int)(tag - TAG_KICK));
		return false;
	}
	switch (tag) {
	case TAG_LISTEN:
		on_listen(l);
		return false;
	case TAG_CONN:
		rc = l->session ? vd_session_handle_socket(l->session) : 0;
		if (rc < 0)
			session_end(l, rc);
		return rc < 0;
	case TAG_TIMER:
		/* Not read: edge-triggered, each expiry is one event, and the
		 * next timerfd_settime clears the count (a system call a
		 * period fewer on a running stream's path). */
		l->deadline = UINT64_MAX; /* one-shot: it has expired */
		if (l->session)
			vd_session_process(l->session);
		return false;
	case TAG_WAKE:
		drain(l->wakefd);
		if (l->session)
			vd_session_process(l->session);
		return false;
	case TAG_SIGNAL:
		on_signal(l);
		return false;
	case TAG_CONTROL:
		vd_control_handle(l->control, l->session ? vd_session_dev(l->session) : NULL,
				  l->session ? vd_session_intercept(l->session) : NULL);
		return false;
	default:
		return false;
	}
}

int vd_loop_iterate(struct vd_loop *l, int timeout_ms)
{
	struct epoll_event ev[EVENTS_PER_WAIT];
	int n = epoll_wait(l->epfd, ev, EVENTS_PER_WAIT, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n && !l->quit; i++)
		if (dispatch(l, &ev[i]))
			break;
	return 0;
}

int vd_loop_run(struct vd_loop *l)
{
	int rc = 0;

	while (!l->quit && rc == 0)
		rc = vd_loop_iterate(l, -1);
	if (rc < 0)
		vd_log(VSND_LOG_ERROR, "event loop: %s", strerror(-rc));
	return rc;
}

void vd_loop_stop(struct vd_loop *l)
{
	l->quit = true;
}

/* ---- setup -------------------------------------------------------- */

static int open_signals(struct vd_loop *l)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return l->sigfd < 0 ? -errno : watch(l, l->sigfd, TAG_SIGNAL);
}

static int open_fds(struct vd_loop *l)
{
	int rc;

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->timerfd < 0 || l->wakefd < 0)
		return -errno;
	rc = watch_events(l, l->timerfd, TAG_TIMER, EPOLLIN | EPOLLET);
	if (rc == 0)
		rc = watch(l, l->wakefd, TAG_WAKE);
	if (rc == 0 && l->cfg.signals)
		rc = open_signals(l);
	return rc;
}

int vd_loop_init(struct vd_loop *l, const struct vd_loop_config *cfg)
{
	int rc;

	memset(l, 0, sizeof(*l));
	l->cfg = *cfg;
	l->epfd = l->timerfd = l->wakefd = l->sigfd = l->listener.fd = -1;
	l->deadline = UINT64_MAX;
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++)
		l->kick_fd[q] = -1;
	rc = open_fds(l);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "cannot set up the event loop: %s", strerror(-rc));
		goto err;
	}
	if (cfg->control_path) {
		rc = vd_control_open(&l->control, cfg->control_path);
		if (rc == 0)
			rc = watch(l, vd_control_fd(l->control), TAG_CONTROL);
		if (rc < 0)
			goto err;
	}
	if (cfg->use_socket_fd) {
		rc = vd_listen_fd(&l->listener, cfg->socket_fd);
		if (rc == 1) {
			rc = vd_loop_adopt(l, cfg->socket_fd);
			if (rc < 0)
				goto err;
			return 0;
		}
		if (rc < 0) {
			close(cfg->socket_fd);
			goto err;
		}
		listen_again(l);
		if (!l->listening) {
			rc = -EIO;
			goto err;
		}
	} else if (cfg->socket_path) {
		rc = vd_listen(&l->listener, cfg->socket_path);
		if (rc < 0)
			goto err;
		listen_again(l);
		if (!l->listening) {
			rc = -EIO;
			goto err;
		}
	}
	return 0;
err:
	vd_loop_fini(l);
	return rc;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vd_loop_fini(struct vd_loop *l)
{
	if (!l)
		return;
	session_end(l, 0);
	vd_unlisten(&l->listener);
	vd_control_free(l->control);
	l->control = NULL;
	close_fd(&l->sigfd);
	close_fd(&l->wakefd);
	close_fd(&l->timerfd);
	close_fd(&l->epfd);
}
