/* SPDX-License-Identifier: MIT */
/* Option strings, the backend registry and the backends' caps. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/be_opts.h"
#include "be_test.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

struct cfg {
	char *name;
	bool flag;
	unsigned int count;
};

static const struct be_opt table[] = {
	{ "name", BE_OPT_STR, offsetof(struct cfg, name), 0, 0 },
	{ "flag", BE_OPT_BOOL, offsetof(struct cfg, flag), 0, 0 },
	{ "count", BE_OPT_UINT, offsetof(struct cfg, count), 1, 100 },
	BE_OPT_END,
};

static int parse(const char *opts, struct cfg *c, struct fh_log *log)
{
	struct vsnd_backend_env env = fh_log_env(log);

	return vsnd__be_opts_parse("test", table, opts, c, &env);
}

static void test_values(void **state)
{
	struct cfg c = { NULL, false, 7 };
	struct fh_log log;

	assert_int_equal(parse("name=abc,flag=on,count=42", &c, &log), 0);
	assert_string_equal(c.name, "abc");
	assert_true(c.flag);
	assert_int_equal(c.count, 42);
	/* A repeated key takes the last value; ",," is a literal comma. */
	assert_int_equal(parse("name=x,name=a,,b,,,count=1", &c, &log), 0);
	assert_string_equal(c.name, "a,b,");
	assert_int_equal(c.count, 1);
	assert_int_equal(parse("count=100", &c, &log), 0);
	assert_int_equal(c.count, 100);
	/* Keys not given keep their values. */
	assert_int_equal(parse("", &c, &log), 0);
	assert_int_equal(parse(NULL, &c, &log), 0);
	assert_string_equal(c.name, "a,b,");
	assert_int_equal(c.count, 100);
	assert_int_equal(parse("name=", &c, &log), 0);
	assert_string_equal(c.name, "");
	assert_int_equal(log.count, 0);
	vsnd__be_opts_free(table, &c);
	assert_null(c.name);
}

static void test_bools(void **state)
{
	const char *on[] = { "flag=on", "flag=yes", "flag=true", "flag=1", "flag=ON", "flag" };
	const char *off[] = { "flag=off", "flag=no", "flag=false", "flag=0", "flag=False" };
	struct cfg c = { 0 };
	struct fh_log log;

	for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		c.flag = false;
		assert_int_equal(parse(on[i], &c, &log), 0);
		assert_true(c.flag);
	}
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		c.flag = true;
		assert_int_equal(parse(off[i], &c, &log), 0);
		assert_false(c.flag);
	}
	assert_int_equal(parse("flag=maybe", &c, &log), -EINVAL);
	assert_true(fh_log_has(&log, "'maybe'"));
	assert_true(fh_log_has(&log, "'flag'"));
	assert_int_equal(parse("flag=", &c, &log), -EINVAL);
}

static void test_errors(void **state)
{
	const char *bad[] = { "count=0", "count=101", "count=-1", "count=12x", "count=",
			      "count", "count= 5", "count=+5", "count=99999999999999999999", "name",
			      "=x", ",name=x", "flag=on,,name=x" };
	struct cfg c = { 0 };
	struct fh_log log;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &c, &log) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(log.count, 1);
	}
	assert_int_equal(c.count, 0);
	assert_int_equal(parse("name=ok,bogus=1", &c, &log), -EINVAL);
	assert_true(fh_log_has(&log, "test: unknown option 'bogus' (valid: name, flag, count)"));
	vsnd__be_opts_free(table, &c);
}

static void test_registry(void **state)
{
	const struct vsnd_backend_ops *const *list = vsnd_backend_list();
	const char *names[] = { "null", "file", "loopback" };
	size_t n = 0;

	while (list[n])
		n++;
	assert_true(n >= 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(list[i]->name, names[i]);
		assert_ptr_equal(vsnd_backend_find(names[i]), list[i]);
		assert_non_null(list[i]->help);
		assert_non_null(list[i]->tick); /* all three are clocked */
	}
	assert_ptr_equal(vsnd_backend_find("file"), &vsnd_backend_file);
	assert_null(vsnd_backend_find("nope"));
	assert_null(vsnd_backend_find("nul"));
	assert_null(vsnd_backend_find(""));
	assert_null(vsnd_backend_find(NULL));
}

static void test_create(void **state)
{
	struct fh_log log;
	struct vsnd_backend_env env = fh_log_env(&log);
	struct vsnd_backend *be = (void *)1;

	assert_int_equal(vsnd_backend_create("nope,x=1", &env, &be), -ENOENT);
	assert_null(be);
	assert_true(fh_log_has(&log, "unknown backend 'nope' (available: null, file, loopback"));
	assert_int_equal(vsnd_backend_create("nulls", &env, &be), -ENOENT);
	assert_int_equal(vsnd_backend_create("null,foo=1", &env, &be), -EINVAL);
	assert_true(fh_log_has(&log, "null: unknown option 'foo' (valid: none)"));
	assert_int_equal(vsnd_backend_create("loopback,fifo=3", &env, &be), -EINVAL);
	assert_int_equal(vsnd_backend_create("file,bogus=on", &env, &be), -EINVAL);
	assert_true(fh_log_has(&log, "file: unknown option 'bogus' (valid: out, in, loop)"));
	assert_int_equal(vsnd_backend_create("file,loop=sometimes", &env, &be), -EINVAL);
	assert_int_equal(vsnd_backend_create("file,out=x%d.wav", &env, &be), -EINVAL);
	assert_true(fh_log_has(&log, "x%d.wav"));
	assert_int_equal(vsnd_backend_create("file,in=x%", &env, &be), -EINVAL);
	assert_null(be);

	assert_int_equal(vsnd_backend_create("null", &env, &be), 0);
	assert_ptr_equal(be->ops, &vsnd_backend_null);
	vsnd_backend_log(be, VSND_LOG_INFO, "hello %d", 42);
	assert_string_equal(log.last, "hello 42");
	vsnd_backend_destroy(be);
	assert_int_equal(vsnd_backend_create("null,", &env, &be), 0);
	vsnd_backend_destroy(be);
	assert_int_equal(vsnd_backend_create("file,out=a%u-%n-%%.wav,in=b.wav,loop", &env, &be), 0);
	assert_ptr_equal(be->ops, &vsnd_backend_file);
	vsnd_backend_destroy(be);
	assert_int_equal(vsnd_backend_create("loopback", NULL, &be), 0);
	vsnd_backend_log(be, VSND_LOG_INFO, "dropped: no env");
	vsnd_backend_destroy(be);
	vsnd_backend_destroy(NULL);
}

static void test_caps(void **state)
{
	const uint64_t all_rates = (1u << VSND_PCM_RATE_COUNT) - 1;
	const uint64_t no_wav = 1u << VSND_PCM_FMT_IMA_ADPCM | 1u << VSND_PCM_FMT_DSD_U8 |
				1u << VSND_PCM_FMT_DSD_U16 | 1u << VSND_PCM_FMT_DSD_U32 |
				1u << VSND_PCM_FMT_IEC958_SUBFRAME;
	const uint64_t all_fmts = (1u << VSND_PCM_FMT_COUNT) - 1;
	const char *names[] = { "null", "file", "loopback" };
	const uint64_t want[] = { all_fmts & ~(1u << VSND_PCM_FMT_IMA_ADPCM), all_fmts & ~no_wav,
				  all_fmts & ~(1u << VSND_PCM_FMT_IMA_ADPCM) };
	struct fh_log log;
	struct vsnd_backend_env env = fh_log_env(&log);

	for (int i = 0; i < 3; i++) {
		for (uint8_t dir = 0; dir < 2; dir++) {
			struct vsnd_backend_caps caps = { 0 };
			struct vsnd_backend *be;

			assert_int_equal(vsnd_backend_create(names[i], &env, &be), 0);
			be->ops->caps(be, dir, &caps);
			assert_int_equal(caps.formats, want[i]);
			assert_int_equal(caps.rates, all_rates);
			assert_int_equal(caps.channels_max, 18);
			vsnd_backend_destroy(be);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_bools),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
