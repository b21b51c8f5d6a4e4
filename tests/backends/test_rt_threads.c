/* SPDX-License-Identifier: MIT */
/*
 * be_rt across threads, for TSan: a fake server thread plays from the ring
 * and notes its latency as a server's callback does, while this thread (the
 * device's) feeds the ring, reads the delay and the unheard time, and at the
 * end detaches the port; from then on the server thread, still calling
 * back, must leave the ring alone.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "backends/rt.h"
#include "be_test.h"
#include "util/mono.h"

#define RATE 48000u
#define PERIOD 480u
#define FB 4u
#define CHUNK 240u

struct shared {
	struct be_rt *rt;
	atomic_bool stop;
	atomic_ulong calls;
};

static void *server(void *arg)
{
	struct shared *sh = arg;
	uint8_t buf[CHUNK * FB];

	while (!atomic_load(&sh->stop)) {
		vsnd__be_rt_play(sh->rt, buf, sizeof(buf));
		vsnd__be_rt_note_delay(sh->rt, 2 * CHUNK, vsnd__mono_ns());
		atomic_fetch_add(&sh->calls, 1);
		sched_yield();
	}
	return NULL;
}

/* Wait until the server thread has called back n more times. */
static void calls_pass(struct shared *sh, unsigned long n)
{
	unsigned long from = atomic_load(&sh->calls);

	while (atomic_load(&sh->calls) - from < n)
		sched_yield();
}

static void test_server_thread(void **state)
{
	struct vsnd_port port;
	struct vsnd_backend be = { 0 };
	struct fh_log log;
	struct be_rt rt;
	struct shared sh = { .rt = &rt };
	uint8_t feed[PERIOD * FB];
	pthread_t t;
	size_t fill;

	(void)state;
	memset(feed, 0x11, sizeof(feed));
	bt_port_init(&port, VSND_DIR_OUTPUT, 0, 0, VSND_PCM_FMT_S16, 2, RATE, PERIOD);
	be.env = fh_log_env(&log);
	assert_int_equal(vsnd__be_rt_init(&rt, &be, &port, UINT64_C(1) << VSND_PCM_FMT_S16,
					  "test"), 0);
	port.priv = &rt;
	vsnd__be_rt_set_live(&rt, true);
	assert_int_equal(vsnd__be_rt_start(&be, &port, 0), 0);
	assert_int_equal(pthread_create(&t, NULL, server, &sh), 0);
	for (int i = 0; i < 2000; i++) {
		if (vsnd_ring_space(&port.ring) >= sizeof(feed))
			vsnd_ring_write(&port.ring, feed, sizeof(feed));
		/* never more unplayed than the ring ever held */
		assert_true(vsnd__be_rt_delay_frames(&be, &port) <= 2 * 4 * PERIOD * 2);
		assert_true(vsnd__be_rt_unheard_ns(&rt, vsnd__mono_ns()) <= 1000000000u);
		if (i % 64 == 0)
			calls_pass(&sh, 1);
	}
	while (vsnd_ring_space(&port.ring) >= sizeof(feed))
		vsnd_ring_write(&port.ring, feed, sizeof(feed));
	vsnd__be_rt_detach(&rt);
	fill = vsnd_ring_fill(&port.ring);
	calls_pass(&sh, 50);
	assert_int_equal(vsnd_ring_fill(&port.ring), fill);
	atomic_store(&sh.stop, true);
	pthread_join(t, NULL);
	vsnd__be_rt_fini(&rt);
	bt_port_fini(&port);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_server_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
