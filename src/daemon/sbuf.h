/* SPDX-License-Identifier: MIT */
/*
 * A bounded text buffer for the daemon's answers (status, control replies):
 * appends that do not fit are cut, and the text stays NUL-terminated.
 *
 * Threading: whichever thread owns the buffer.
 */
#ifndef VSND_DAEMON_SBUF_H
#define VSND_DAEMON_SBUF_H

#include <stddef.h>

struct vd_sbuf {
	char *p;
	size_t size, len;  /* len: the text so far, always < size once written */
};

void vd_sbuf_printf(struct vd_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
