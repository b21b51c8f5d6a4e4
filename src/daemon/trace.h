/* SPDX-License-Identifier: MIT */
/*
 * --trace FILE: one text line per completed I/O message, for benchmarks:
 *   STREAM_ID TIME_NS BYTES LATENCY_BYTES
 * TIME_NS is the device clock (CLOCK_MONOTONIC) at completion. A stream's
 * state changes are comment lines, which a reader of the four columns
 * skips with the header, and the others find by their prefix:
 *   #state STREAM_ID TIME_NS STATE   (STATE: vsnd_stream_state_name's)
 * Lines go through a stdio buffer so tracing costs no syscall per period;
 * the file is flushed when vsnd exits.
 */
#ifndef VSND_DAEMON_TRACE_H
#define VSND_DAEMON_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include <vsnd/vsnd.h>

struct vd_trace;

/* Opens (truncates) path. Returns 0 or a negative errno (logged). */
int vd_trace_open(struct vd_trace **out, const char *path);
/* Flushes and closes. NULL is fine. */
void vd_trace_close(struct vd_trace *t);
/* A vsnd_trace_fn; opaque is the struct vd_trace. */
void vd_trace_record(void *opaque, unsigned int stream_id, uint64_t now_ns,
		     uint32_t bytes, uint32_t latency_bytes);
/* A vsnd_state_trace_fn; opaque is the struct vd_trace. */
void vd_trace_state(void *opaque, unsigned int stream_id, uint64_t now_ns,
		    enum vsnd_stream_state state);

#endif
