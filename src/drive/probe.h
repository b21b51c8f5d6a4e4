/* SPDX-License-Identifier: MIT */
/*
 * The control probe of `play --ctl-probe N`: every PROBE_PERIOD_MS, one
 * PCM_INFO query and a SET_PARAMS, PREPARE, START, STOP, RELEASE cycle on
 * stream N, each request timed from submit to completion. It measures
 * whether the device answers its control queue at once whatever the host
 * audio is doing (a guest driver waits for these answers with the stream's
 * locks held). Single-threaded, driven by the caller's loop.
 */
#ifndef VSND_DRIVE_PROBE_H
#define VSND_DRIVE_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "drive/drv.h"

#define PROBE_PERIOD_MS 10u
#define PROBE_REQS 6u           /* PCM_INFO, SET_PARAMS, PREPARE, START, STOP, RELEASE */
#define PROBE_STATUSES 5u       /* OK, BAD_MSG, NOT_SUPP, IO_ERR, no or broken answer */

struct probe {
	struct drv *d;
	uint32_t stream;
	uint8_t format, rate, channels;
	uint32_t period_bytes;
	uint64_t next_ns;               /* when the next cycle is due */
	uint32_t *rtt_ns;               /* every round trip, in order */
	size_t n, cap;
	uint32_t count[PROBE_REQS][PROBE_STATUSES];
	uint32_t max_ns[PROBE_REQS];
	int broken;                     /* the errno that stopped the probe, or 0 */
};

/* Check stream exists, pick its parameters (S16, 48 kHz, stereo when
 * offered, else the first it offers; PROBE_PERIOD_MS periods, four to
 * the buffer). The first cycle is due at once. Returns 0 or a negative
 * errno/status. */
int probe_init(struct probe *p, struct drv *d, uint32_t stream);
/* NULL-safe. */
void probe_free(struct probe *p);

/* Milliseconds until the next cycle is due, at most max_ms (0: due now,
 * max_ms when the probe stopped). */
int probe_wait_ms(const struct probe *p, int max_ms);
/* Run one cycle if it is due. A request the device does not answer (or
 * answers with a foreign id) stops the probe for good: the control queue
 * is no longer in step. Returns 0 or that negative errno. */
int probe_tick(struct probe *p);

/* The summary: one "ctl-probe: requests N failed N p50_ms X p99_ms X max_ms
 * X ..." line, or with json one "ctl_probe": {...} member of the caller's
 * object. Sorts the round trips it recorded. */
void probe_report(struct probe *p, FILE *out, bool json);

#endif
