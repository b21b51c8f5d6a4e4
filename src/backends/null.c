/* SPDX-License-Identifier: MIT */
/*
 * null: discards playback and captures silence, paced by CLOCK_MONOTONIC
 * like a sound card, so guests see buffers complete at the real rate.
 */
#include <errno.h>
#include <stdlib.h>

#include "be_opts.h"
#include "clock.h"
#include "common.h"
#include "vsnd/backend.h"

static int null_create(struct vsnd_backend **out, const char *opts,
		       const struct vsnd_backend_env *env)
{
	return vsnd__be_create_plain(out, sizeof(struct vsnd_backend), &vsnd_backend_null, opts, env);
}

static void null_destroy(struct vsnd_backend *be)
{
	free(be);
}

static void null_close(struct vsnd_backend *be, struct vsnd_port *port)
{
	struct be_clock *c = port->priv;

	if (!c)
		return;
	vsnd__be_clock_fini(c);
	free(c);
	port->priv = NULL;
}

static int null_open(struct vsnd_backend *be, struct vsnd_port *port)
{
	null_close(be, port);
	return vsnd__be_clock_port_new(be, port, vsnd__be_formats_bytewise(), sizeof(struct be_clock),
				 &port->priv);
}

static uint64_t null_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	if (!port->priv)
		return UINT64_MAX;
	return vsnd__be_clock_tick(port->priv, port, NULL, NULL, now_ns);
}

const struct vsnd_backend_ops vsnd_backend_null = {
	.size = sizeof(struct vsnd_backend_ops),
	.name = "null",
	.help = "(no options)",
	.create = null_create,
	.destroy = null_destroy,
	.caps = vsnd__be_caps_bytewise,
	.open = null_open,
	.start = vsnd__be_clock_port_start,
	.stop = vsnd__be_clock_port_stop,
	.close = null_close,
	.tick = null_tick,
};
