/* SPDX-License-Identifier: MIT */
/*
 * PCM I/O messages on the tx or rx queue, in a fixed set of buffers laid
 * out once in guest memory. TX: [xfer | data] readable, [status] writable.
 * RX: [xfer] readable, [data | status] writable (status = last 8 bytes).
 */
#ifndef VSND_DRIVE_PCM_IO_H
#define VSND_DRIVE_PCM_IO_H

#include <stdbool.h>
#include <stdint.h>

#include "drive/drv.h"

/* As many messages as one of vsnd-drive's rings takes. */
#define PCM_IO_MAX (FE_RING_NUM / 2u)

struct pcm_io {
	struct drv *d;
	unsigned int q;
	uint32_t stream;
	uint32_t size;                  /* data bytes per buffer */
	unsigned int n;
	size_t hdr[PCM_IO_MAX];         /* xfer header (TX: followed by the data) */
	size_t tail[PCM_IO_MAX];        /* TX: status; RX: data followed by the status */
	uint32_t len[PCM_IO_MAX];       /* data bytes of the pending message */
	uint64_t sent_ns[PCM_IO_MAX];
	int head[PCM_IO_MAX];           /* -1 when not in flight */
	unsigned int pending;
};

/* n buffers of size data bytes for stream on queue q (TX or RX). */
int pcm_io_init(struct pcm_io *io, struct drv *d, unsigned int q, uint32_t stream,
		uint32_t size, unsigned int n);
/* The device was reset: nothing is in flight any more. */
void pcm_io_forget(struct pcm_io *io);
/* Where buffer i's data lives (write TX data here before submitting). */
uint8_t *pcm_io_data(struct pcm_io *io, unsigned int i);
/* Post buffer i with len data bytes (len <= size); kick unless no_kick. */
int pcm_io_submit(struct pcm_io *io, unsigned int i, uint32_t len, bool no_kick);
/* Post buffer i and kick only if the device asked for kicks (a driver's
 * way, as Linux's: a device that looks at the ring itself gets none). */
int pcm_io_post(struct pcm_io *io, unsigned int i, uint32_t len);
/* Same with the stream id of the xfer header set to stream_id. */
int pcm_io_submit_as(struct pcm_io *io, unsigned int i, uint32_t len, uint32_t stream_id,
		     bool no_kick);

struct pcm_io_done {
	unsigned int i;                 /* buffer */
	uint32_t used_len;
	uint32_t status, latency;       /* from the status the device wrote */
	uint32_t data;                  /* RX: used_len - 8 when sane, else 0 */
	uint64_t ns;                    /* when we saw it */
};
/* Wait up to timeout_ms for the next completion. Returns 0, -ETIMEDOUT, or
 * -EPROTO when the device completed something we did not send. */
int pcm_io_wait(struct pcm_io *io, int timeout_ms, struct pcm_io_done *done);

#endif
