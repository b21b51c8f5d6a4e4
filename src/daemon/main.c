/* SPDX-License-Identifier: MIT */
/* vsnd: the vhost-user sound device daemon. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <vsnd/backend.h>
#include <vsnd/vsnd.h>

#include "daemon/backend.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/opts.h"
#include "daemon/sandbox.h"
#include "daemon/trace.h"

/* Signals arrive through the loop's signalfd: block them before any thread
 * (a backend's) exists, so every thread inherits the mask. */
static int block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	/* a frontend that vanishes must not kill us on a write */
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, &set, NULL) < 0 ? -errno : 0;
}

static void log_ready(const struct vd_opts *o, const struct vd_loop *loop)
{
	const char *ctl = o->controls ? " (controls offered)" : "";

	if (loop->listener.fd < 0)
		vd_log(VSND_LOG_INFO, "vsnd %s serving the frontend connected on fd %d%s",
		       VSND_VERSION_STRING, o->socket_fd, ctl);
	else
		vd_log(VSND_LOG_INFO, "vsnd %s listening on %s%s%s", VSND_VERSION_STRING,
		       loop->listener.path, o->socket_activated ? " (socket activation)" : "", ctl);
}

/* Once the sockets are bound and the backend exists: drop privileges (the
 * socket files, frontend's and control's, go to the new user), then enter
 * the seccomp allowlist. */
static int confine(const struct vd_opts *o, const struct vd_loop *loop,
		   const struct vsnd_backend *backend)
{
	const struct vd_listener *socks[] = {
		&loop->listener, loop->control ? vd_control_listener(loop->control) : NULL,
	};
	int rc = 0;

	if (o->user)
		rc = vd_sandbox_drop_user(o->user, socks, sizeof(socks) / sizeof(socks[0]));
	if (rc == 0)
		rc = vd_sandbox_enter(o->sandbox, backend->ops->name);
	return rc;
}

static int serve(const struct vd_opts *o)
{
	struct vd_loop_config cfg = {
		.socket_path = o->socket_path, .controls = o->controls, .signals = true,
		.use_socket_fd = o->socket_fd >= 0, .socket_fd = o->socket_fd,
		.layout = o->layout, .control_path = o->control_path,
	};
	struct vsnd_backend *backend = NULL;
	struct vd_trace *trace = NULL;
	struct vd_loop loop;
	int rc;

	/* opened before the sandbox, which allows no open() */
	if (o->trace_path && vd_trace_open(&trace, o->trace_path) < 0)
		return 1;
	cfg.trace = trace ? vd_trace_record : NULL;
	cfg.state_trace = trace ? vd_trace_state : NULL;
	cfg.trace_opaque = trace;
	rc = vd_backend_open(o->backend, &backend);
	if (rc < 0) {
		vd_trace_close(trace);
		return rc == -ENOENT ? VD_EXIT_USAGE : 1;
	}
	cfg.backend = backend;
	rc = vd_loop_init(&loop, &cfg);
	if (rc == 0) {
		log_ready(o, &loop);
		rc = confine(o, &loop, backend);
		if (rc == 0)
			rc = vd_loop_run(&loop);
		vd_loop_fini(&loop);
	}
	vsnd_backend_destroy(backend);
	vd_trace_close(trace);
	return rc < 0 ? 1 : 0;
}

static int run(const struct vd_opts *o)
{
	if (o->print_caps) {
		vd_opts_print_capabilities(stdout);
		return 0;
	}
	if (o->help) {
		vd_opts_usage(stdout);
		return 0;
	}
	if (o->version) {
		printf("vsnd %s\n", vsnd_version());
		return 0;
	}
	vd_log_set_level(o->log_level);
	if (block_signals() < 0) {
		vd_log(VSND_LOG_ERROR, "cannot block signals: %s", strerror(errno));
		return 1;
	}
	return serve(o);
}

int main(int argc, char **argv)
{
	struct vd_opts o;
	int rc;

	if (vd_opts_parse(&o, argc, argv) < 0) {
		vd_opts_fini(&o);
		return VD_EXIT_USAGE;
	}
	rc = run(&o);
	vd_opts_fini(&o);
	return rc;
}
