/* SPDX-License-Identifier: MIT */
/* Numbers from command lines and option strings. */
#ifndef VSND_UTIL_NUM_H
#define VSND_UTIL_NUM_H

/*
 * A decimal number in [min, max], the whole string: digits only (no sign,
 * no space), no overflow. Returns 0 and sets *out, or -EINVAL and leaves it.
 */
int vsnd__parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out);

#endif
