/* SPDX-License-Identifier: MIT */
/* libFuzzer target: TX/RX I/O messages (well-formed and not) interleaved
 * with SET_PARAMS/PREPARE/START/STOP/RELEASE, clock ticks, ring stops and
 * resets. */
#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fdev_run(data, size, FDEV_IO);
	return 0;
}
