/* SPDX-License-Identifier: MIT */
/*
 * be_srv, one server connection's lifecycle, against a fake client library
 * whose ops count what they are asked: a new port of a closed port's
 * parameters adopts its stream instead of making one, and only then.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/srv.h"
#include "be_test.h"
#include "util/mono.h"

#define RATE 48000u
#define PERIOD 480u

struct fake {
	struct be_srv srv;            /* first: the ops get it */
	int made, freed, adopted, run_on, run_off;
	uint64_t armed_at;
	bool can_adopt;
};

static struct fake *fk(struct be_srv *srv)
{
	return (struct fake *)srv;
}

static void f_nop(struct be_srv *srv)
{
	(void)srv;
}

static int f_connect(struct be_srv *srv)
{
	(void)srv;
	return 0;
}

static int f_stream_new(struct be_srv *srv, struct be_srv_port *sp)
{
	sp->stream = malloc(1);
	fk(srv)->made++;
	vsnd__be_srv_stream_live(srv, sp, true);
	return 0;
}

static void f_stream_free(struct be_srv *srv, struct be_srv_port *sp)
{
	free(sp->stream);
	fk(srv)->freed++;
}

static void f_stream_run(struct be_srv *srv, struct be_srv_port *sp, bool running)
{
	(void)sp;
	*(running ? &fk(srv)->run_on : &fk(srv)->run_off) += 1;
}

static int f_stream_adopt(struct be_srv *srv, struct be_srv_port *from, struct be_srv_port *to)
{
	if (!fk(srv)->can_adopt)
		return -EAGAIN;
	to->stream = from->stream;
	from->stream = NULL;
	fk(srv)->adopted++;
	vsnd__be_srv_stream_live(srv, to, true);
	return 0;
}

static int f_watch(struct be_srv *srv, int fd)
{
	(void)srv;
	(void)fd;
	return 0;
}

static void f_arm_at(struct be_srv *srv, uint64_t at_ns)
{
	fk(srv)->armed_at = at_ns;
}

static const struct be_srv_ops ops = {
	.lock = f_nop, .unlock = f_nop, .connect = f_connect, .disconnect = f_nop,
	.stream_new = f_stream_new, .stream_free = f_stream_free, .stream_run = f_stream_run,
	.stream_adopt = f_stream_adopt, .arm_retry = f_nop, .watch = f_watch,
	.arm_at = f_arm_at,
};

struct srv_case {
	struct fake f;
	struct vsnd_port port[2];
	struct vsnd_backend be;
	struct fh_log log;
};

static struct srv_case *srv_new(const struct be_srv_ops *o)
{
	struct srv_case *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->f.can_adopt = true;
	c->be.env = fh_log_env(&c->log);
	bt_port_init(&c->port[0], VSND_DIR_OUTPUT, 0, 0, VSND_PCM_FMT_S16, 2, RATE, PERIOD);
	bt_port_init(&c->port[1], VSND_DIR_OUTPUT, 0, 0, VSND_PCM_FMT_S16, 2, RATE, PERIOD * 2);
	assert_int_equal(vsnd__be_srv_start(&c->f.srv, o), 0);
	vsnd__be_srv_connected(&c->f.srv);
	return c;
}

static void srv_free(struct srv_case *c)
{
	vsnd__be_srv_stop(&c->f.srv);
	vsnd__be_srv_fini(&c->f.srv);
	assert_int_equal(c->f.made, c->f.freed);
	bt_port_fini(&c->port[0]);
	bt_port_fini(&c->port[1]);
	free(c);
}

/* Open port i as the device does, and let the loop take it. */
static struct be_srv_port *open_port(struct srv_case *c, int i)
{
	int err;
	struct be_srv_port *sp = vsnd__be_srv_port_new(&c->be, &c->port[i], sizeof(*sp),
						       UINT64_C(1) << VSND_PCM_FMT_S16, "t", &err);

	assert_non_null(sp);
	vsnd__be_srv_port_open(&c->f.srv, &c->port[i], sp);
	vsnd__be_srv_work(&c->f.srv);
	return sp;
}

static void close_port(struct srv_case *c, int i)
{
	vsnd__be_srv_port_close(&c->f.srv, &c->port[i]);
	vsnd__be_srv_work(&c->f.srv);
}

/* A stream closed and opened again with the same parameters keeps its
 * server stream (no new one made), live at once; the spare waits a second. */
static void test_same_params_adopt(void **state)
{
	struct srv_case *c = srv_new(&ops);
	struct be_srv_port *sp;
	void *stream;
	uint64_t t0 = vsnd__mono_ns();

	(void)state;
	stream = open_port(c, 0)->stream;
	assert_int_equal(c->f.made, 1);
	close_port(c, 0);
	assert_int_equal(c->f.freed, 0);
	assert_true(c->f.armed_at >= t0 + BE_SRV_SPARE_NS);
	sp = open_port(c, 0);
	assert_int_equal(c->f.made, 1);
	assert_int_equal(c->f.adopted, 1);
	assert_ptr_equal(sp->stream, stream);
	assert_true(atomic_load(&sp->rt.live));
	assert_false(atomic_load(&sp->rt.connecting));
	/* handed on running, as made: never parked and woken in between */
	assert_int_equal(c->f.run_on + c->f.run_off, 0);
	close_port(c, 0);
	srv_free(c);
}

/* Other parameters (a longer period), a stream the server lost, or a
 * backend that declines: a new stream. */
static void test_no_adopt(void **state)
{
	struct srv_case *c = srv_new(&ops);
	struct be_srv_port *sp;

	(void)state;
	open_port(c, 0);
	close_port(c, 0);
	open_port(c, 1);
	assert_int_equal(c->f.made, 2);
	assert_int_equal(c->f.adopted, 0);
	close_port(c, 1);

	sp = open_port(c, 0); /* adopts the first spare */
	assert_int_equal(c->f.adopted, 1);
	close_port(c, 0);
	vsnd__be_srv_stream_lost(&c->f.srv, sp); /* its spare is lost */
	open_port(c, 0);
	assert_int_equal(c->f.made, 3);
	close_port(c, 0);

	c->f.can_adopt = false;
	open_port(c, 0);
	assert_int_equal(c->f.made, 4);
	assert_int_equal(c->f.adopted, 1);
	close_port(c, 0);
	srv_free(c);
}

/* Without the op nothing is kept past its tail: freed at once. */
static void test_no_op_no_spare(void **state)
{
	struct be_srv_ops o = ops;
	struct srv_case *c;

	(void)state;
	o.stream_adopt = NULL;
	c = srv_new(&o);
	open_port(c, 0);
	close_port(c, 0);
	assert_int_equal(c->f.freed, 1);
	srv_free(c);
}

/* A live stream the server stops calling while the connection stands is
 * paced as stalled, and made anew once that has lasted BE_RT_RENEW_NS. */
static void test_stuck_renewed(void **state)
{
	struct srv_case *c = srv_new(&ops);
	struct be_srv_port *sp = open_port(c, 0);
	uint8_t buf[PERIOD * 4] = { 0 };
	uint64_t t = UINT64_C(1000000000);

	(void)state;
	assert_int_equal(vsnd__be_srv_port_start(&c->be, &c->port[0], t), 0);
	vsnd__be_srv_work(&c->f.srv);
	for (unsigned int i = 0; i <= BE_RT_STALL_ARM; i++, t += 10000000u) {
		vsnd__be_rt_play(&sp->rt, buf, sizeof(buf));
		vsnd__be_srv_port_tick(&c->be, &c->port[0], t);
	}
	t += atomic_load(&sp->rt.stall_ns);
	vsnd__be_srv_port_tick(&c->be, &c->port[0], t);
	assert_true(sp->rt.stalled);
	assert_true(vsnd__be_srv_port_tick(&c->be, &c->port[0], t + BE_RT_RENEW_NS - 1000000u) <=
		    t + BE_RT_RENEW_NS);
	assert_false(atomic_load(&sp->renew));
	vsnd__be_srv_port_tick(&c->be, &c->port[0], t + BE_RT_RENEW_NS);
	assert_true(atomic_load(&sp->renew));
	vsnd__be_srv_work(&c->f.srv);
	assert_int_equal(c->f.made, 2);
	assert_int_equal(c->f.freed, 1);
	assert_true(atomic_load(&sp->rt.live));
	close_port(c, 0);
	srv_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_params_adopt),
		cmocka_unit_test(test_no_adopt),
		cmocka_unit_test(test_no_op_no_spare),
		cmocka_unit_test(test_stuck_renewed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
