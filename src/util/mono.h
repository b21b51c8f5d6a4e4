/* SPDX-License-Identifier: MIT */
/* CLOCK_MONOTONIC in nanoseconds: the one clock the layers compare against
 * (a server's timestamps, deadlines, the log's rate limit, a driver's
 * timeouts). The device itself reads time through its host's now_ns, which
 * a test may replace. */
#ifndef VSND_UTIL_MONO_H
#define VSND_UTIL_MONO_H

#include <stdint.h>
#include <time.h>

static inline uint64_t vsnd__mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
