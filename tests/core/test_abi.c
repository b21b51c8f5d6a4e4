/* SPDX-License-Identifier: MIT */
/*
 * The library boundary's rules as a caller meets them (vsnd.h, "ABI"): the
 * version, the size member of every struct that may grow, and the stream
 * state as an enum. tests/abi checks the symbols and the binary interface.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vsnd/backend.h"
#include "vsnd/mmio.h"
#include "vsnd/vsnd.h"

static uint64_t a_now(void *o) { (void)o; return 0; }
static void a_timer(void *o, uint64_t when) { (void)o; (void)when; }
static int a_pop(void *o, unsigned int q, struct vsnd_chain **c)
{
	(void)o; (void)q; (void)c;
	return -EAGAIN; /* the rings stay empty: only creation is tested */
}
static void a_push(void *o, unsigned int q, struct vsnd_chain *c, uint32_t len)
{
	(void)o; (void)q; (void)c; (void)len;
}
static void a_notify(void *o, unsigned int q) { (void)o; (void)q; }
static void *a_translate(void *o, uint64_t gpa, uint64_t len, uint64_t *avail, bool w)
{
	(void)o; (void)gpa; (void)len; (void)avail; (void)w;
	return NULL;
}
static void a_irq(void *o, bool level) { (void)o; (void)level; }
static void a_later(void *o) { (void)o; }

/* A caller's struct as a newer header would lay it out: ours plus a member
 * this library does not know. */
struct newer_host_ops {
	struct vsnd_host_ops ops;
	void (*later)(void *opaque);
};

static struct vsnd_backend *null_backend(void)
{
	struct vsnd_backend_env env = { .size = sizeof(env) };
	struct vsnd_backend *be;

	assert_int_equal(vsnd_backend_create("null", &env, &be), 0);
	return be;
}

static void test_version(void **state)
{
	char want[32];

	(void)state;
	snprintf(want, sizeof(want), "%d.%d.%d", VSND_VERSION_MAJOR, VSND_VERSION_MINOR,
		 VSND_VERSION_MICRO);
	assert_string_equal(VSND_VERSION_STRING, want);
	assert_string_equal(vsnd_version(), VSND_VERSION_STRING);
	assert_true(VSND_VERSION >= VSND_VERSION_ENCODE(0, 2, 0));
}

static int dev_new_with_transport(const struct vsnd_host_ops *host, size_t cfg_size,
				  size_t tops_size)
{
	const struct vsnd_transport_ops tops = {
		.size = tops_size, .pop = a_pop, .push = a_push, .notify = a_notify,
	};
	struct vsnd_backend *be = null_backend();
	struct vsnd_dev_config cfg = {
		.size = cfg_size, .backend = be, .host = host, .transport = &tops,
	};
	struct vsnd_dev *dev = NULL;
	int rc = vsnd_dev_new(&dev, &cfg);

	vsnd_dev_free(dev);
	vsnd_backend_destroy(be);
	return rc;
}

static int dev_new_with(const struct vsnd_host_ops *host, size_t cfg_size)
{
	return dev_new_with_transport(host, cfg_size, sizeof(struct vsnd_transport_ops));
}

static void test_struct_sizes(void **state)
{
	struct newer_host_ops newer = {
		.ops = { .size = sizeof(newer), .now_ns = a_now, .set_timer = a_timer },
	};
	struct vsnd_host_ops host = { .size = sizeof(host), .now_ns = a_now, .set_timer = a_timer };

	(void)state;
	assert_int_equal(dev_new_with(&host, sizeof(struct vsnd_dev_config)), 0);
	assert_int_equal(dev_new_with(&host, 0), -EINVAL);
	assert_int_equal(dev_new_with(&host, sizeof(struct vsnd_dev_config) - 1), -EINVAL);
	host.size = offsetof(struct vsnd_host_ops, wake);
	assert_int_equal(dev_new_with(&host, sizeof(struct vsnd_dev_config)), -EINVAL);
	/* a newer caller: fine while it asks nothing this library lacks */
	assert_int_equal(dev_new_with(&newer.ops, sizeof(struct vsnd_dev_config)), 0);
	newer.later = a_later;
	assert_int_equal(dev_new_with(&newer.ops, sizeof(struct vsnd_dev_config)), -E2BIG);
	/* a 1.0 or 1.1 transport, without set_kicks: its driver always kicks */
	host.size = sizeof(host);
	assert_int_equal(dev_new_with_transport(&host, sizeof(struct vsnd_dev_config),
						offsetof(struct vsnd_transport_ops, set_kicks)),
			 0);
	assert_int_equal(dev_new_with_transport(&host, sizeof(struct vsnd_dev_config),
						offsetof(struct vsnd_transport_ops, notify)),
			 -EINVAL);
}

static void test_env_and_mmio_sizes(void **state)
{
	struct vsnd_backend_env env = { .size = sizeof(env) - 1 };
	struct vsnd_host_ops host = { .size = sizeof(host), .now_ns = a_now, .set_timer = a_timer };
	struct vsnd_mmio_ops ops = { .size = 0, .translate = a_translate, .set_irq = a_irq };
	struct vsnd_backend *be = NULL;
	struct vsnd_mmio_config cfg = { .size = sizeof(cfg), .host = &host, .ops = &ops };
	struct vsnd_mmio *m = NULL;

	(void)state;
	assert_int_equal(vsnd_backend_create("null", &env, &be), -EINVAL);
	assert_null(be);
	cfg.backend = be = null_backend();
	assert_int_equal(vsnd_mmio_new(&m, &cfg), -EINVAL);
	ops.size = sizeof(ops);
	assert_int_equal(vsnd_mmio_new(&m, &cfg), 0);
	vsnd_mmio_free(m);
	vsnd_backend_destroy(be);
}

/* The status struct is sized by the caller: one smaller than the first
 * version is refused, and a newer caller's bigger one gets the members this
 * library knows and not one byte more. */
static void test_status_size(void **state)
{
	struct {
		struct vsnd_stream_status st;
		uint8_t later[16];
	} newer;
	struct vsnd_host_ops host = { .size = sizeof(host), .now_ns = a_now, .set_timer = a_timer };
	struct vsnd_mmio_ops ops = { .size = sizeof(ops), .translate = a_translate, .set_irq = a_irq };
	struct vsnd_backend *be = null_backend();
	struct vsnd_mmio_config cfg = {
		.size = sizeof(cfg), .backend = be, .host = &host, .ops = &ops,
	};
	struct vsnd_stream_status st;
	struct vsnd_mmio *m;
	size_t older = offsetof(struct vsnd_stream_status, volume);
	uint8_t untouched[16];

	(void)state;
	assert_int_equal(vsnd_mmio_new(&m, &cfg), 0);
	memset(&st, 0xa5, sizeof(st));
	st.size = older;
	assert_int_equal(vsnd_dev_stream_status(vsnd_mmio_dev(m), 1, &st), -EINVAL);
	st.size = sizeof(st);
	assert_int_equal(vsnd_dev_stream_status(vsnd_mmio_dev(m), 1, &st), 0);
	assert_int_equal(st.id, 1);
	assert_int_equal(st.direction, VSND_DIR_INPUT);
	assert_int_equal(st.state, VSND_STATE_INITIAL);
	assert_int_equal(st.volume, 100);
	assert_int_equal(vsnd_dev_stream_status(vsnd_mmio_dev(m), 2, &st), -ENOENT);
	memset(&newer, 0xa5, sizeof(newer));
	memset(untouched, 0xa5, sizeof(untouched));
	newer.st.size = sizeof(newer);
	assert_int_equal(vsnd_dev_stream_status(vsnd_mmio_dev(m), 0, &newer.st), 0);
	assert_int_equal(newer.st.direction, VSND_DIR_OUTPUT);
	assert_int_equal(newer.st.completed, 0);
	assert_memory_equal(newer.later, untouched, sizeof(untouched));
	vsnd_mmio_free(m);
	vsnd_backend_destroy(be);
}

static void test_state_names(void **state)
{
	static const char *const names[] = {
		"initial", "params", "prepared", "started", "stopped", "released",
	};

	(void)state;
	for (unsigned int i = 0; i <= VSND_STATE_RELEASED; i++)
		assert_string_equal(vsnd_stream_state_name((enum vsnd_stream_state)i), names[i]);
	assert_string_equal(vsnd_stream_state_name((enum vsnd_stream_state)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_struct_sizes),
		cmocka_unit_test(test_env_and_mmio_sizes),
		cmocka_unit_test(test_status_size),
		cmocka_unit_test(test_state_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
