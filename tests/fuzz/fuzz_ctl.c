/* SPDX-License-Identifier: MIT */
/* libFuzzer target: control requests of every code and size, cut into
 * arbitrary iovecs, against a device whose streams move through every state. */
#include "fuzz_dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fdev_run(data, size, FDEV_CTL);
	return 0;
}
