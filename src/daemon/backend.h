/* SPDX-License-Identifier: MIT */
/* Which host audio backend the daemon opens. */
#ifndef VSND_DAEMON_BACKEND_H
#define VSND_DAEMON_BACKEND_H

#include <vsnd/backend.h>

/*
 * Open the backend of spec ("NAME[,key=value...]"), or with spec NULL the
 * first of the built-in default choices that works here (an ordered list:
 * sound servers will come before the file backend). Logs what was chosen.
 * Returns 0, -ENOENT for an unknown backend name (the error lists the
 * available ones), -EINVAL for bad options, or another negative errno.
 */
int vd_backend_open(const char *spec, struct vsnd_backend **out);

#endif
