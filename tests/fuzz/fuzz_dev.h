/* SPDX-License-Identifier: MIT */
/*
 * A device-model fuzzing engine shared by the control-request and the I/O
 * targets: a fake transport whose rings are FIFOs of chains built from
 * fuzzer bytes and cut into iovecs at fuzzer-chosen offsets, a fake clock,
 * the null backend, and checks of the transport contract (every chain
 * pushed at most once, never more bytes than its writable part, nothing
 * pushed to a stopped queue).
 */
#ifndef VSND_FUZZ_DEV_H
#define VSND_FUZZ_DEV_H

#include <stddef.h>
#include <stdint.h>

enum fdev_mode {
	FDEV_CTL,       /* mostly raw control requests of every code and size */
	FDEV_IO,        /* stream state changes interleaved with TX/RX chains */
};

/* Run one fuzz input. Aborts (a fuzzer finding) on a contract violation. */
void fdev_run(const uint8_t *data, size_t size, enum fdev_mode mode);

#endif
