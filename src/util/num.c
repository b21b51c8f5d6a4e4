/* SPDX-License-Identifier: MIT */
#include "util/num.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

int vsnd__parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long n;
	char *end;

	/* strtoul would take a sign or leading space, and wrap "-1" */
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || *end || n < min || n > max || n > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)n;
	return 0;
}
