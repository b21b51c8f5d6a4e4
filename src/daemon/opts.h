/* SPDX-License-Identifier: MIT */
/* The vsnd command line. */
#ifndef VSND_DAEMON_OPTS_H
#define VSND_DAEMON_OPTS_H

#include <stdbool.h>
#include <stdio.h>

#include <vsnd/vsnd.h>

#include "daemon/sandbox.h"

/* Exit status for a command-line mistake. */
#define VD_EXIT_USAGE 2

struct vd_opts {
	const char *socket_path;    /* --socket PATH */
	/* --socket-fd N, or VD_LISTEN_FDS_START from socket activation; -1: none */
	int socket_fd;
	bool socket_activated;      /* socket_fd came from LISTEN_FDS */
	const char *backend;        /* --backend SPEC; NULL: the default choice */
	bool controls;              /* --controls: offer VIRTIO_SND_F_CTLS */
	const char *streams;        /* --streams SPEC; NULL: the default layout */
	struct vsnd_layout *layout; /* parsed from streams; NULL: the default */
	const char *control_path;   /* --control PATH; NULL: no control socket */
	enum vsnd_log_level log_level;
	enum vd_sandbox_mode sandbox; /* --sandbox=on|off (default on) */
	const char *user;           /* --user NAME: drop privileges to NAME */
	const char *trace_path;     /* --trace FILE: one line per completed I/O message */
	bool help, version, print_caps;
};

/*
 * Parse argv. Returns 0, or -EINVAL after printing to stderr what is wrong,
 * naming the option (the caller exits with VD_EXIT_USAGE).
 * --print-capabilities makes every other argument ignored, as the vhost-user
 * back-end conventions ask. Without --socket or --socket-fd, a socket passed
 * by systemd socket activation (LISTEN_FDS) is used.
 */
int vd_opts_parse(struct vd_opts *o, int argc, char **argv);
/* Free what vd_opts_parse() allocated (the layout). */
void vd_opts_fini(struct vd_opts *o);
void vd_opts_usage(FILE *out);
/* The --print-capabilities document (vhost-user.json VHostUserBackendCapabilities). */
void vd_opts_print_capabilities(FILE *out);

#endif
