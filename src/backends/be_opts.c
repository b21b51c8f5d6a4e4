/* SPDX-License-Identifier: MIT */
#include "be_opts.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "util/num.h"

const struct be_opt vsnd__be_no_opts[] = { BE_OPT_END };

struct opt_ctx {
	const char *backend;
	const struct be_opt *table;
	void *cfg;
	const struct vsnd_backend_env *env;
};

static void *field(const struct opt_ctx *c, const struct be_opt *o)
{
	return (char *)c->cfg + o->offset;
}

static const struct be_opt *opt_find(const struct be_opt *table, const char *key, size_t len)
{
	for (const struct be_opt *o = table; o->key; o++) {
		if (strlen(o->key) == len && memcmp(o->key, key, len) == 0)
			return o;
	}
	return NULL;
}

static void log_unknown(const struct opt_ctx *c, const char *key, size_t len)
{
	char valid[256] = "";

	for (const struct be_opt *o = c->table; o->key; o++)
		vsnd__be_list_append(valid, sizeof(valid), o->key);
	vsnd__be_env_log(c->env, VSND_LOG_ERROR, "%s: unknown option '%.*s' (valid: %s)", c->backend,
		   (int)(len > 64 ? 64 : len), key, valid[0] ? valid : "none");
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "on", "yes", "true", "1" };
	static const char *const no[] = { "off", "no", "false", "0" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Store one value; takes ownership of val (NULL when the key had no '='). */
static int opt_apply(const struct opt_ctx *c, const struct be_opt *o, char *val)
{
	int ret = 0;

	switch (o->type) {
	case BE_OPT_STR:
		if (!val) {
			ret = -EINVAL;
			break;
		}
		free(*(char **)field(c, o));
		*(char **)field(c, o) = val;
		return 0;
	case BE_OPT_BOOL:
		if (val)
			ret = parse_bool(val, field(c, o));
		else
			*(bool *)field(c, o) = true;
		break;
	case BE_OPT_UINT:
		ret = val ? vsnd__parse_uint(val, o->min, o->max, field(c, o)) : -EINVAL;
		break;
	}
	if (ret < 0)
		vsnd__be_env_log(c->env, VSND_LOG_ERROR, "%s: bad value '%.64s' for option '%s'", c->backend,
			   val ? val : "(none)", o->key);
	free(val);
	return ret;
}

/* Copy the value at *p up to an unescaped ',' (",," is a literal comma);
 * advances *p past the separator. */
static char *take_value(const char **p)
{
	const char *s = *p;
	char *val = malloc(strlen(s) + 1), *d = val;

	if (!val)
		return NULL;
	while (*s) {
		if (*s == ',') {
			if (s[1] != ',') {
				s++;
				break;
			}
			s++;
		}
		*d++ = *s++;
	}
	*d = '\0';
	*p = s;
	return val;
}

static int parse_one(const struct opt_ctx *c, const char **p)
{
	const char *key = *p;
	size_t len = strcspn(key, "=,");
	const struct be_opt *o = opt_find(c->table, key, len);
	char *val = NULL;

	if (!o) {
		log_unknown(c, key, len);
		return -EINVAL;
	}
	*p = key + len;
	if (**p == '=') {
		(*p)++;
		val = take_value(p);
		if (!val)
			return -ENOMEM;
	} else if (**p == ',') {
		(*p)++;
	}
	return opt_apply(c, o, val);
}

int vsnd__be_opts_parse(const char *backend, const struct be_opt *table, const char *opts,
		  void *cfg, const struct vsnd_backend_env *env)
{
	struct opt_ctx c = { backend, table, cfg, env };
	const char *p = opts ? opts : "";

	while (*p) {
		int ret = parse_one(&c, &p);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void vsnd__be_opts_free(const struct be_opt *table, void *cfg)
{
	for (const struct be_opt *o = table; o->key; o++) {
		if (o->type == BE_OPT_STR) {
			char **s = (char **)((char *)cfg + o->offset);

			free(*s);
			*s = NULL;
		}
	}
}

int vsnd__be_create_plain(struct vsnd_backend **out, size_t size, const struct vsnd_backend_ops *ops,
		    const char *opts, const struct vsnd_backend_env *env)
{
	struct vsnd_backend *be;
	int ret;

	*out = NULL;
	ret = vsnd__be_opts_parse(ops->name, vsnd__be_no_opts, opts, NULL, env);
	if (ret < 0)
		return ret;
	be = calloc(1, size);
	if (!be)
		return -ENOMEM;
	vsnd__be_base_init(be, ops, env);
	*out = be;
	return 0;
}
