/* SPDX-License-Identifier: MIT */
#include "srv.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- loop thread, lock held ---- */

static void stream_drop(struct be_srv *srv, struct be_srv_port *sp)
{
	if (sp->stream)
		srv->ops->stream_free(srv, sp);
	sp->stream = NULL;
	sp->doomed = false;
}

/* The port has no stream and will not have one before the next retry: the
 * pacer takes over (a stream that was live logs "gone", one never made
 * "absent"). */
static void port_down(struct be_rt *rt)
{
	if (atomic_load(&rt->live))
		vsnd__be_rt_set_live(rt, false);
	else
		vsnd__be_rt_event(rt, BE_RT_EV_ABSENT);
	vsnd__be_rt_set_connecting(rt, false);
}

static void stream_make(struct be_srv *srv, struct be_srv_port *sp)
{
	vsnd__be_rt_set_connecting(&sp->rt, true);
	if (srv->ops->stream_new(srv, sp) < 0) {
		stream_drop(srv, sp);
		port_down(&sp->rt);
		srv->ops->arm_retry(srv);
	}
}

static void connect_now(struct be_srv *srv)
{
	srv->state = BE_SRV_CONNECTING;
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		vsnd__be_rt_set_connecting(&sp->rt, true);
	if (srv->ops->connect(srv) < 0)
		vsnd__be_srv_lost(srv);
}

void vsnd__be_srv_connected(struct be_srv *srv)
{
	srv->state = BE_SRV_READY;
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		if (!sp->stream)
			stream_make(srv, sp);
}

void vsnd__be_srv_lost(struct be_srv *srv)
{
	if (srv->state == BE_SRV_DOWN)
		return;
	srv->state = BE_SRV_DOWN;
	srv->conn_doomed = true;
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next) {
		sp->doomed = sp->stream != NULL;
		port_down(&sp->rt);
	}
	srv->ops->arm_retry(srv);
}

void vsnd__be_srv_stream_live(struct be_srv *srv, struct be_srv_port *sp, bool live)
{
	(void)srv;
	vsnd__be_rt_set_live(&sp->rt, live);
	if (live)
		vsnd__be_rt_set_connecting(&sp->rt, false);
}

void vsnd__be_srv_stream_lost(struct be_srv *srv, struct be_srv_port *sp)
{
	if (sp->doomed)
		return;
	sp->doomed = true;
	port_down(&sp->rt);
	srv->ops->arm_retry(srv);
}

void vsnd__be_srv_retry(struct be_srv *srv)
{
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		if (sp->doomed)
			stream_drop(srv, sp);
	if (srv->state == BE_SRV_DOWN) {
		if (srv->conn_doomed)
			srv->ops->disconnect(srv);
		srv->conn_doomed = false;
		connect_now(srv);
	} else if (srv->state == BE_SRV_READY) {
		vsnd__be_srv_connected(srv);
	}
}

/* ---- device thread ---- */

void vsnd__be_srv_start(struct be_srv *srv, const struct be_srv_ops *ops)
{
	srv->ops = ops;
	ops->lock(srv);
	connect_now(srv);
	ops->unlock(srv);
}

void vsnd__be_srv_stop(struct be_srv *srv)
{
	if (!srv->ops)
		return;
	srv->ops->lock(srv);
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		stream_drop(srv, sp);
	if (srv->state != BE_SRV_IDLE)
		srv->ops->disconnect(srv);
	srv->state = BE_SRV_IDLE;
	srv->ops->unlock(srv);
}

void vsnd__be_srv_add(struct be_srv *srv, struct be_srv_port *sp)
{
	srv->ops->lock(srv);
	sp->next = srv->ports;
	srv->ports = sp;
	if (srv->state == BE_SRV_READY)
		stream_make(srv, sp);
	else if (srv->state == BE_SRV_CONNECTING)
		vsnd__be_rt_set_connecting(&sp->rt, true);
	else
		port_down(&sp->rt);
	srv->ops->unlock(srv);
}

void vsnd__be_srv_remove(struct be_srv *srv, struct be_srv_port *sp)
{
	srv->ops->lock(srv);
	for (struct be_srv_port **pp = &srv->ports; *pp; pp = &(*pp)->next) {
		if (*pp == sp) {
			*pp = sp->next;
			break;
		}
	}
	stream_drop(srv, sp);
	srv->ops->unlock(srv);
}

void *vsnd__be_srv_port_new(struct vsnd_backend *be, struct vsnd_port *port, size_t size,
			    uint64_t formats, const char *who, int *err)
{
	struct be_srv_port *sp = calloc(1, size);

	*err = sp ? vsnd__be_rt_init(&sp->rt, be, port, formats, who) : -ENOMEM;
	if (*err < 0) {
		vsnd__be_srv_port_free(sp);
		return NULL;
	}
	return sp;
}

void vsnd__be_srv_port_free(struct be_srv_port *sp)
{
	if (!sp)
		return;
	vsnd__be_rt_fini(&sp->rt);
	free(sp);
}

void vsnd__be_srv_port_open(struct be_srv *srv, struct vsnd_port *port, struct be_srv_port *sp)
{
	sp->srv = srv;
	port->priv = sp;
	vsnd__be_srv_add(srv, sp);
	vsnd__be_rt_report(&sp->rt);
}

void vsnd__be_srv_port_close(struct be_srv *srv, struct vsnd_port *port)
{
	struct be_srv_port *sp = port->priv;

	if (!sp)
		return;
	vsnd__be_rt_set_running(&sp->rt, false);
	vsnd__be_srv_remove(srv, sp);
	vsnd__be_srv_port_free(sp);
	port->priv = NULL;
}

static void port_run(struct be_srv_port *sp, bool running)
{
	struct be_srv *srv = sp->srv;

	if (!srv->ops->stream_run)
		return;
	srv->ops->lock(srv);
	if (sp->stream && !sp->doomed)
		srv->ops->stream_run(srv, sp, running);
	srv->ops->unlock(srv);
}

int vsnd__be_srv_port_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	int ret = vsnd__be_rt_start(be, port, now_ns);

	if (ret == 0)
		port_run(port->priv, true);
	return ret;
}

int vsnd__be_srv_port_stop(struct vsnd_backend *be, struct vsnd_port *port)
{
	int ret = vsnd__be_rt_stop(be, port);

	if (ret == 0)
		port_run(port->priv, false);
	return ret;
}

void vsnd__be_srv_stream_name(char *buf, size_t size, const char *vm_name,
			      const struct vsnd_pcm_params *p)
{
	const char *dir = p->direction == VSND_DIR_OUTPUT ? "playback" : "capture";
	const char *name = vm_name ? vm_name : "guest";

	if (p->dir_index == 0)
		snprintf(buf, size, "vsnd: %s %s", name, dir);
	else
		snprintf(buf, size, "vsnd: %s %s %u", name, dir, p->dir_index + 1);
}
