/* SPDX-License-Identifier: MIT */
/*
 * The lock-free SPSC byte ring every stream's audio goes through (device
 * thread <-> a backend's real-time thread; the daemon's inject/tap thread):
 * capacity, wrap-around, partial writes and reads, iovec copies, skip,
 * and a two-thread stress run in which every byte must arrive once and in
 * order (run under TSan by scripts/test.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "vsnd/ring.h"

static void test_capacity(void **state)
{
	struct vsnd_ring r;

	(void)state;
	assert_int_equal(vsnd_ring_init(&r, 0), -EINVAL);
	assert_int_equal(vsnd_ring_init(&r, 100), 0);
	assert_int_equal(r.cap, 128); /* the next power of two */
	assert_int_equal(vsnd_ring_space(&r), 128);
	assert_int_equal(vsnd_ring_fill(&r), 0);
	vsnd_ring_fini(&r);
	vsnd_ring_fini(&r); /* idempotent */
}

/* Writes and reads of odd sizes wrap around the end many times; a full
 * ring takes what fits, an empty one gives nothing. */
static void test_wrap_partial(void **state)
{
	struct vsnd_ring r;
	uint8_t in[300], out[300];
	uint8_t next_in = 0, next_out = 0;

	(void)state;
	assert_int_equal(vsnd_ring_init(&r, 64), 0);
	for (int round = 0; round < 200; round++) {
		size_t n = (size_t)(round * 7 % 50) + 1, w, got;

		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)(next_in + i);
		w = vsnd_ring_write(&r, in, n);
		assert_true(w <= n);
		next_in = (uint8_t)(next_in + w);
		assert_true(vsnd_ring_fill(&r) <= 64);
		got = vsnd_ring_read(&r, out, (size_t)(round * 5 % 40) + 1);
		for (size_t i = 0; i < got; i++)
			assert_int_equal(out[i], (uint8_t)(next_out + i));
		next_out = (uint8_t)(next_out + got);
	}
	{
		size_t space = vsnd_ring_space(&r);

		assert_int_equal(vsnd_ring_write(&r, in, 300), space);
		assert_int_equal(vsnd_ring_space(&r), 0);
		assert_int_equal(vsnd_ring_write(&r, in, 1), 0);
	}
	vsnd_ring_fini(&r);
}

/* iovec copies (pieces of any size, empty ones included) and skip. */
static void test_iov_skip(void **state)
{
	struct vsnd_ring r;
	uint8_t src[96], a[10], b[1], c[40], dst[96];
	struct iovec in[3] = { { src, 10 }, { src + 10, 0 }, { src + 10, 86 } };
	struct iovec out[3] = { { a, 10 }, { b, 0 }, { c, 40 } };

	(void)state;
	for (int i = 0; i < 96; i++)
		src[i] = (uint8_t)(i * 3);
	assert_int_equal(vsnd_ring_init(&r, 64), 0);
	/* from offset 5 of the iovecs, 70 bytes asked: 64 fit */
	assert_int_equal(vsnd_ring_write_iov(&r, in, 3, 5, 70), 64);
	assert_int_equal(vsnd_ring_skip(&r, 4), 4);
	assert_int_equal(vsnd_ring_read_iov(&r, out, 3, 0, 50), 50);
	memcpy(dst, a, 10);
	memcpy(dst + 10, c, 40);
	assert_memory_equal(dst, src + 9, 50);
	assert_int_equal(vsnd_ring_fill(&r), 10);
	assert_int_equal(vsnd_ring_skip(&r, 100), 10);
	assert_int_equal(vsnd_ring_rpos(&r), vsnd_ring_wpos(&r));
	vsnd_ring_fini(&r);
}

#define STRESS_BYTES (64u << 20)

struct stress {
	struct vsnd_ring r;
	uint64_t bad;   /* consumer: bytes out of sequence */
};

/* The byte at stream position pos, and chunk lengths 1..max (an LCG). */
static uint8_t stress_byte(uint64_t pos)
{
	return (uint8_t)(pos * 2654435761u >> 24);
}

static size_t chunk_len(unsigned int *k, size_t max)
{
	*k = *k * 1103515245u + 12345u;
	return 1 + *k % max;
}

static void *producer(void *arg)
{
	struct stress *s = arg;
	uint8_t buf[777];
	unsigned int k = 1;

	for (uint64_t sent = 0; sent < STRESS_BYTES;) {
		size_t n = chunk_len(&k, sizeof(buf));

		n = n < STRESS_BYTES - sent ? n : (size_t)(STRESS_BYTES - sent);
		for (size_t i = 0; i < n; i++)
			buf[i] = stress_byte(sent + i);
		sent += vsnd_ring_write(&s->r, buf, n);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct stress *s = arg;
	uint8_t buf[1000];
	unsigned int k = 7;

	for (uint64_t got = 0; got < STRESS_BYTES;) {
		size_t r = vsnd_ring_read(&s->r, buf, chunk_len(&k, sizeof(buf)));

		for (size_t i = 0; i < r; i++)
			s->bad += buf[i] != stress_byte(got + i);
		got += r;
	}
	return NULL;
}

/* Two threads, odd chunk sizes on both sides, a small ring so that it is
 * full and empty all the time: 64 MiB must arrive exactly. */
static void test_two_threads(void **state)
{
	struct stress s = { 0 };
	pthread_t p, c;

	(void)state;
	assert_int_equal(vsnd_ring_init(&s.r, 4096), 0);
	assert_int_equal(pthread_create(&c, NULL, consumer, &s), 0);
	assert_int_equal(pthread_create(&p, NULL, producer, &s), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	assert_int_equal(s.bad, 0);
	assert_int_equal(vsnd_ring_wpos(&s.r), STRESS_BYTES);
	assert_int_equal(vsnd_ring_rpos(&s.r), STRESS_BYTES);
	vsnd_ring_fini(&s.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_wrap_partial),
		cmocka_unit_test(test_iov_skip),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
