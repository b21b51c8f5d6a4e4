/* SPDX-License-Identifier: MIT */
/* Reproducible test audio in any of the device's sample formats. */
#ifndef VSND_TESTS_SAMPLES_H
#define VSND_TESTS_SAMPLES_H

#include <stddef.h>
#include <stdint.h>

/* One step of a reproducible 32-bit generator (xorshift; state never 0):
 * test signals, and a test's reproducible jitter. */
uint32_t samples_xorshift(uint32_t *state);

/* Fill buf with reproducible valid samples of format (canonical padding:
 * sign-extended for signed formats, zero for unsigned ones). */
void samples_fill(uint8_t format, void *buf, size_t samples, uint32_t seed);

#endif
