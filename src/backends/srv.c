/* SPDX-License-Identifier: MIT */
#include "srv.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/mono.h"

/* ---- loop thread, lock held ---- */

static void ports_run(struct be_srv *srv);

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
	sp->run_told = true;
	sp->idle_since = 0;
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
		if (!sp->stream && !atomic_load(&sp->closing))
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
	ports_run(srv);
}

static void port_leave(struct be_srv *srv, struct be_srv_port **link)
{
	struct be_srv_port *sp = *link;

	*link = sp->next;
	stream_drop(srv, sp);
	vsnd__be_srv_port_free(sp);
}

static bool same_params(const struct vsnd_pcm_params *a, const struct vsnd_pcm_params *b)
{
	return a->stream_id == b->stream_id && a->dir_index == b->dir_index &&
	       a->direction == b->direction && a->format == b->format &&
	       a->channels == b->channels && a->rate_hz == b->rate_hz &&
	       a->frame_bytes == b->frame_bytes && a->period_bytes == b->period_bytes &&
	       a->buffer_bytes == b->buffer_bytes;
}

/* A closed port whose stream the backend can hand on: healthy, on a live
 * connection. */
static bool adoptable(const struct be_srv *srv, const struct be_srv_port *sp)
{
	return srv->ops->stream_adopt && srv->state == BE_SRV_READY && sp->stream &&
	       !sp->doomed && atomic_load(&sp->closing);
}

/* The new port takes the stream of a closed one of its parameters, if
 * there is one (still playing out its tail is fine: the new port's audio
 * follows it in the server's stream); that port then goes. */
static bool port_adopt(struct be_srv *srv, struct be_srv_port *sp)
{
	for (struct be_srv_port **link = &srv->ports; *link; link = &(*link)->next) {
		struct be_srv_port *old = *link;

		if (old == sp || !adoptable(srv, old) || !same_params(&old->params, &sp->params))
			continue;
		/* still connecting (port_open) until the backend says it is live */
		if (srv->ops->stream_adopt(srv, old, sp) < 0)
			return false;
		sp->run_told = old->run_told;
		sp->idle_since = 0;
		port_leave(srv, link);
		return true;
	}
	return false;
}

/* A port the device opened joins the connection. */
static void port_join(struct be_srv *srv, struct be_srv_port *sp)
{
	sp->next = srv->ports;
	srv->ports = sp;
	if (atomic_load(&sp->closing))
		return; /* closed already: work() frees it next */
	if (srv->state == BE_SRV_READY && port_adopt(srv, sp)) {
		/* made running as a new stream is: a start follows soon */
		if (!sp->run_told && srv->ops->stream_run)
			srv->ops->stream_run(srv, sp, true);
		sp->run_told = true;
	} else if (srv->state == BE_SRV_READY) {
		stream_make(srv, sp);
	} else if (srv->state != BE_SRV_CONNECTING) {
		port_down(&sp->rt);
	}
}

/* A stuck stream (vsnd__be_rt_stuck) gives way to a new one; the pacer
 * carries the port, quietly not live, until that one is. */
static void port_renew(struct be_srv *srv, struct be_srv_port *sp)
{
	if (!sp->stream || sp->doomed || srv->state != BE_SRV_READY)
		return;
	vsnd__be_rt_event(&sp->rt, BE_RT_EV_RENEW);
	vsnd__be_rt_set_parked(&sp->rt);
	stream_drop(srv, sp);
	stream_make(srv, sp);
}

/* Run a stream the guest started at once; park one it left idle once it
 * has been for BE_SRV_PARK_NS (the retry timer looks again). */
static void port_run(struct be_srv *srv, struct be_srv_port *sp, uint64_t now)
{
	bool want = atomic_load(&sp->want_run);

	if (atomic_exchange(&sp->renew, false))
		port_renew(srv, sp);
	if (!sp->stream || sp->doomed || !srv->ops->stream_run)
		return;
	if (want) {
		sp->idle_since = 0;
		if (!sp->run_told)
			srv->ops->stream_run(srv, sp, true);
		sp->run_told = true;
		return;
	}
	if (!sp->run_told)
		return; /* parked already */
	if (!sp->idle_since)
		sp->idle_since = now;
	if (now - sp->idle_since < BE_SRV_PARK_NS) {
		srv->ops->arm_retry(srv);
		return;
	}
	sp->run_told = false;
	sp->idle_since = 0;
	srv->ops->stream_run(srv, sp, false);
}

static void ports_run(struct be_srv *srv)
{
	uint64_t now = vsnd__mono_ns();

	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		if (!atomic_load(&sp->closing))
			port_run(srv, sp, now);
}

/* A closed port's turn: its stream plays on while the server holds the
 * guest's audio (fed silence: the port is detached), and then as a spare
 * for a new port to adopt, then goes with the port. Returns when it wants
 * a turn again, or 0 when it is gone. */
static uint64_t port_reap(struct be_srv *srv, struct be_srv_port **link, uint64_t now)
{
	struct be_srv_port *sp = *link;

	if (!sp->linger_until) {
		sp->linger_until = now + (sp->stream && !sp->doomed
					  ? vsnd__be_rt_unheard_ns(&sp->rt, now) : 0);
		sp->spare_until = sp->linger_until + (adoptable(srv, sp) ? BE_SRV_SPARE_NS : 0);
	}
	if (now < sp->spare_until && (now < sp->linger_until || adoptable(srv, sp)))
		return now < sp->linger_until ? sp->linger_until : sp->spare_until;
	port_leave(srv, link);
	return 0;
}

/* Free the closed ports whose streams have played out; look again when the
 * next one will have. */
static void ports_reap(struct be_srv *srv)
{
	struct be_srv_port **link = &srv->ports;
	uint64_t now = vsnd__mono_ns(), next = UINT64_MAX;

	while (*link) {
		struct be_srv_port *sp = *link;
		uint64_t until;

		if (!atomic_load(&sp->closing)) {
			link = &sp->next;
			continue;
		}
		until = port_reap(srv, link, now);
		if (!until)
			continue; /* freed: *link is the next one */
		next = until < next ? until : next;
		link = &sp->next;
	}
	if (next != UINT64_MAX)
		srv->ops->arm_at(srv, next);
}

void vsnd__be_srv_work(struct be_srv *srv)
{
	struct be_srv_port *in = atomic_exchange(&srv->incoming, NULL);
	uint64_t v;

	if (read(srv->kick_fd, &v, sizeof(v)) < 0) {
		/* nothing pending: a kick already taken */
	}
	while (in) {
		struct be_srv_port *sp = in;

		in = sp->next_new;
		port_join(srv, sp);
	}
	ports_reap(srv);
	ports_run(srv);
}

/* ---- device thread ---- */

static void kick(struct be_srv *srv)
{
	uint64_t one = 1;

	if (write(srv->kick_fd, &one, sizeof(one)) < 0) {
		/* saturated: a kick is pending anyway */
	}
}

int vsnd__be_srv_start(struct be_srv *srv, const struct be_srv_ops *ops)
{
	int ret;

	srv->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->kick_fd < 0)
		return -errno;
	srv->ops = ops;
	ops->lock(srv);
	ret = ops->watch(srv, srv->kick_fd);
	if (ret == 0)
		connect_now(srv);
	ops->unlock(srv);
	return ret;
}

/* The latest a closed port's stream plays on till, 0 if none does. */
static uint64_t linger_last(struct be_srv *srv)
{
	uint64_t last = 0;

	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		if (atomic_load(&sp->closing) && sp->linger_until > last)
			last = sp->linger_until;
	return last;
}

/* Closed ports' streams play out first (destruction may wait: at most a
 * server's latency and a period), then everything goes. */
void vsnd__be_srv_stop(struct be_srv *srv)
{
	uint64_t last, now;

	if (!srv->ops)
		return;
	srv->ops->lock(srv);
	vsnd__be_srv_work(srv);
	last = linger_last(srv);
	srv->ops->unlock(srv);
	now = vsnd__mono_ns();
	if (last > now) {
		uint64_t ns = last - now;
		struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
				       .tv_nsec = (long)(ns % 1000000000u) };

		nanosleep(&ts, NULL);
	}
	srv->ops->lock(srv);
	for (struct be_srv_port **link = &srv->ports; *link;) {
		if (atomic_load(&(*link)->closing))
			port_leave(srv, link);
		else
			link = &(*link)->next;
	}
	for (struct be_srv_port *sp = srv->ports; sp; sp = sp->next)
		stream_drop(srv, sp);
	if (srv->state != BE_SRV_IDLE)
		srv->ops->disconnect(srv);
	srv->state = BE_SRV_IDLE;
	srv->ops->unlock(srv);
}

void vsnd__be_srv_fini(struct be_srv *srv)
{
	if (srv->ops)
		close(srv->kick_fd);
	srv->ops = NULL;
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

/* The port is published at once; the loop thread makes its stream. Until
 * it says otherwise, a start holds the ring for the connection. */
void vsnd__be_srv_port_open(struct be_srv *srv, struct vsnd_port *port, struct be_srv_port *sp)
{
	sp->srv = srv;
	sp->params = port->params;
	port->priv = sp;
	vsnd__be_rt_set_connecting(&sp->rt, true);
	sp->next_new = atomic_load(&srv->incoming);
	while (!atomic_compare_exchange_weak(&srv->incoming, &sp->next_new, sp)) {
		/* another push won (only the loop takes): try again */
	}
	kick(srv);
}

/* From here no server thread touches the port; the loop thread drops the
 * stream and frees the port state. */
void vsnd__be_srv_port_close(struct be_srv *srv, struct vsnd_port *port)
{
	struct be_srv_port *sp = port->priv;

	if (!sp)
		return;
	vsnd__be_rt_detach(&sp->rt);
	atomic_store(&sp->closing, true);
	kick(srv);
	port->priv = NULL;
}

static int port_want(struct vsnd_port *port, int ret, bool running)
{
	struct be_srv_port *sp = port->priv;

	if (ret == 0) {
		atomic_store(&sp->want_run, running);
		kick(sp->srv);
	}
	return ret;
}

int vsnd__be_srv_port_start(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	return port_want(port, vsnd__be_rt_start(be, port, now_ns), true);
}

int vsnd__be_srv_port_stop(struct vsnd_backend *be, struct vsnd_port *port)
{
	return port_want(port, vsnd__be_rt_stop(be, port), false);
}

uint64_t vsnd__be_srv_port_tick(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns)
{
	uint64_t next = vsnd__be_rt_tick(be, port, now_ns);
	struct be_srv_port *sp = port->priv;

	if (sp && vsnd__be_rt_stuck(&sp->rt, now_ns, &next) && !atomic_exchange(&sp->renew, true))
		kick(sp->srv);
	return next;
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
