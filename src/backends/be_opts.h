/* SPDX-License-Identifier: MIT */
/*
 * Backend option strings: "key=value,key=value". A value may hold a comma
 * written twice (",,"), as in QEMU option strings, so paths can contain one.
 * Shared by every backend so they all reject unknown keys the same way.
 */
#ifndef VSND_BACKENDS_BE_OPTS_H
#define VSND_BACKENDS_BE_OPTS_H

#include <stddef.h>

#include "vsnd/backend.h"

enum be_opt_type {
	BE_OPT_STR,  /* char *, malloc'ed (free with vsnd__be_opts_free) */
	BE_OPT_BOOL, /* bool: on/off yes/no true/false 1/0; a bare key means on */
	BE_OPT_UINT, /* unsigned int, decimal, within [min, max] */
};

struct be_opt {
	const char *key;       /* NULL ends the table */
	enum be_opt_type type;
	size_t offset;         /* of the field in the backend's config struct */
	unsigned int min, max; /* BE_OPT_UINT only */
};

#define BE_OPT_END { NULL, BE_OPT_STR, 0, 0, 0 }

/* The table of a backend without options. */
extern const struct be_opt vsnd__be_no_opts[];

/* create() of a backend without options: refuses any option (logged),
 * allocates `size` zeroed bytes (a struct that begins with struct
 * vsnd_backend) and fills the base. 0, -EINVAL or -ENOMEM. */
int vsnd__be_create_plain(struct vsnd_backend **out, size_t size, const struct vsnd_backend_ops *ops,
		    const char *opts, const struct vsnd_backend_env *env);

/*
 * Parse opts (NULL or "" for none) into cfg, whose fields keep their values
 * for keys not given; a repeated key takes its last value. Returns 0 or
 * -EINVAL (unknown key, bad value: logged through env with the backend's
 * name and the valid keys) or -ENOMEM. On error cfg may hold some parsed
 * strings: free them with vsnd__be_opts_free.
 */
int vsnd__be_opts_parse(const char *backend, const struct be_opt *table, const char *opts,
		  void *cfg, const struct vsnd_backend_env *env);

/* Free the BE_OPT_STR fields of cfg and set them to NULL. */
void vsnd__be_opts_free(const struct be_opt *table, void *cfg);

#endif
