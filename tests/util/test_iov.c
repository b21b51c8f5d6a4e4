/* SPDX-License-Identifier: MIT */
/* Byte-offset access over iovec lists (src/util/iov.c): requests are parsed
 * this way whatever the guest's descriptor boundaries, so every offset and
 * length against every split must give the flat buffer's answer, and
 * nothing past the list may be touched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/iov.h"

#define LEN 37
#define GUARD 0xA5

/* A LEN-byte buffer cut into pieces of the given sizes (zero-length ones
 * included), each piece followed by a guard byte a walk must never touch. */
struct split {
	uint8_t mem[2 * LEN + 16];
	struct iovec iov[16];
	unsigned int n;
};

static void split_init(struct split *s, const size_t *sizes, unsigned int n)
{
	size_t at = 0;

	memset(s->mem, GUARD, sizeof(s->mem));
	s->n = n;
	for (unsigned int i = 0; i < n; i++) {
		s->iov[i] = (struct iovec){ s->mem + at, sizes[i] };
		at += sizes[i] + 1;
	}
}

static void split_flatten(const struct split *s, uint8_t *out)
{
	size_t at = 0;

	for (unsigned int i = 0; i < s->n; i++) {
		memcpy(out + at, s->iov[i].iov_base, s->iov[i].iov_len);
		at += s->iov[i].iov_len;
	}
}

static void assert_guards(const struct split *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		assert_int_equal(((const uint8_t *)s->iov[i].iov_base)[s->iov[i].iov_len], GUARD);
}

static const size_t SPLITS[][6] = {
	{ LEN, 0, 0, 0, 0, 0 },
	{ 1, 36, 0, 0, 0, 0 },
	{ 10, 0, 17, 10, 0, 0 },
	{ 3, 3, 3, 3, 3, 22 },
	{ 0, 0, 36, 1, 0, 0 },
};

static void test_size(void **state)
{
	struct split s;

	(void)state;
	for (size_t k = 0; k < sizeof(SPLITS) / sizeof(SPLITS[0]); k++) {
		split_init(&s, SPLITS[k], 6);
		assert_int_equal(vsnd__iov_size(s.iov, s.n), LEN);
	}
	assert_int_equal(vsnd__iov_size(s.iov, 0), 0);
}

/* Every (offset, length), including ones that run past the end, against the
 * flat buffer: copies out, in and memsets give the same bytes and counts. */
static void test_every_window(void **state)
{
	struct split s;
	uint8_t flat[LEN], got[LEN + 8], src[LEN + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 7 + 1);
	for (size_t k = 0; k < sizeof(SPLITS) / sizeof(SPLITS[0]); k++) {
		for (size_t off = 0; off <= LEN + 2; off++) {
			for (size_t len = 0; len <= LEN + 4 - (off > LEN ? LEN : off); len++) {
				size_t want = off >= LEN ? 0 : (len < LEN - off ? len : LEN - off);

				split_init(&s, SPLITS[k], 6);
				assert_int_equal(vsnd__iov_from_buf(s.iov, s.n, off, src, len), want);
				split_flatten(&s, flat);
				for (size_t b = 0; b < LEN; b++) {
					uint8_t exp = b >= off && b < off + want ? src[b - off] : GUARD;

					assert_int_equal(flat[b], exp);
				}
				assert_guards(&s);

				memset(got, 0, sizeof(got));
				assert_int_equal(vsnd__iov_to_buf(s.iov, s.n, off, got, len), want);
				assert_memory_equal(got, src, want);

				assert_int_equal(vsnd__iov_memset(s.iov, s.n, off, 0, len), want);
				split_flatten(&s, flat);
				for (size_t b = off; b < off + want; b++)
					assert_int_equal(flat[b], 0);
				assert_guards(&s);
			}
		}
	}
}

static void test_le(void **state)
{
	uint8_t b[8];

	(void)state;
	vsnd_put_le64(b, 0x0102030405060708ull);
	assert_int_equal(b[0], 0x08);
	assert_int_equal(b[7], 0x01);
	assert_int_equal(vsnd_le16(b), 0x0708);
	assert_int_equal(vsnd_le32(b), 0x05060708u);
	assert_true(vsnd_le64(b) == 0x0102030405060708ull);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_every_window),
		cmocka_unit_test(test_le),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
