/* SPDX-License-Identifier: MIT */
/*
 * Privilege drop and the seccomp sandbox of the vsnd daemon.
 *
 * Once the socket listens and the backend exists, the daemon needs only a
 * short list of system calls: its epoll loop (epoll, timerfd, eventfd,
 * signalfd), the vhost-user socket (recvmsg/sendmsg, accept4), guest memory
 * (mmap/munmap), output files the file backend opens at PREPARE time
 * (openat, ftruncate, unlink), threads and the allocator. Everything else is
 * either refused with EPERM, for calls that have a harmless failure path
 * (creating sockets, changing owners or permissions: a library that tries
 * it gets an error it already handles), or kills the daemon with one log
 * line naming the system call (exec, ptrace, new processes, mounts, module
 * loading, ...: an exploited daemon must not get to do them). A sound-server
 * backend adds the few calls its client library was seen to make (see
 * sandbox.c): sockets of the families it connects with, and so on.
 */
#ifndef VSND_DAEMON_SANDBOX_H
#define VSND_DAEMON_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/listen.h"

enum vd_sandbox_mode {
	VD_SANDBOX_ON,          /* default, for every backend */
	VD_SANDBOX_OFF,         /* --sandbox=off: for debugging */
};

/*
 * --user NAME: when running as root, give the socket files vsnd created
 * among socks (the frontend's, the --control one; NULL entries and
 * inherited sockets are skipped) to NAME, then drop supplementary groups,
 * gid and uid for good. The files keep their mode 0600. When not root,
 * NAME must be the current user. Returns 0 or a negative errno (logged).
 */
int vd_sandbox_drop_user(const char *user, const struct vd_listener *const *socks, size_t n);

/*
 * Enter the seccomp allowlist for every thread of the process, unless mode
 * is OFF. The list is the daemon's own plus what the client library of
 * backend_name (a sound server's) was seen to need: for those, sockets of
 * the families it connects with, to reconnect after the server restarts.
 * Returns 0 or a negative errno (logged; the daemon then refuses to run
 * unsandboxed).
 */
int vd_sandbox_enter(enum vd_sandbox_mode mode, const char *backend_name);

#endif
