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
 * loading, ...: an exploited daemon must not get to do them).
 */
#ifndef VSND_DAEMON_SANDBOX_H
#define VSND_DAEMON_SANDBOX_H

#include <stdbool.h>

enum vd_sandbox_mode {
	VD_SANDBOX_AUTO,        /* default: on for the built-in backends */
	VD_SANDBOX_ON,          /* --sandbox=on: also for other backends */
	VD_SANDBOX_OFF,         /* --sandbox=off: for debugging */
};

/*
 * --user NAME: when running as root, give the listening socket file (if
 * any) to NAME, then drop supplementary groups, gid and uid for good. When
 * not root, NAME must be the current user. Returns 0 or a negative errno
 * (logged).
 */
int vd_sandbox_drop_user(const char *user, const char *socket_path);

/*
 * Enter the seccomp allowlist for every thread of the process, unless mode
 * is OFF, or AUTO with a backend whose client library's system calls were
 * not audited (sound servers: logged). Returns 0 or a negative errno
 * (logged; the daemon then refuses to run unsandboxed).
 */
int vd_sandbox_enter(enum vd_sandbox_mode mode, const char *backend_name);

#endif
