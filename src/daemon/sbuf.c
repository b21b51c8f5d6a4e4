/* SPDX-License-Identifier: MIT */
#include "daemon/sbuf.h"

#include <stdarg.h>
#include <stdio.h>

void vd_sbuf_printf(struct vd_sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->size ? b->len + (size_t)n : b->size - 1;
}
