/* SPDX-License-Identifier: MIT */
#include "util/abi.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int vsnd__abi_size_check(const void *s, size_t first, size_t known)
{
	const uint8_t *p = s;
	size_t size;

	if (!s)
		return -EINVAL;
	memcpy(&size, s, sizeof(size));
	if (size < first)
		return -EINVAL;
	for (size_t i = known; i < size; i++)
		if (p[i])
			return -E2BIG;
	return 0;
}
