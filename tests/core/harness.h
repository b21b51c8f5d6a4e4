/* SPDX-License-Identifier: MIT */
/*
 * A driver's-eye test harness for the device model: a fake host, and a
 * transport whose "rings" are FIFOs of chains the test builds from plain
 * buffers split into iovecs wherever the test wants (never at convenient
 * boundaries only). Completions are recorded in global order so tests can
 * check that, e.g., held I/O completes before the RELEASE reply.
 */
#ifndef VSND_TEST_HARNESS_H
#define VSND_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fakehost.h"
#include "vsnd/backend.h"
#include "wire/virtio_snd.h"
#include "vsnd/vsnd.h"

#define H_MAX_IOV 64
#define H_MAX_CHAINS 4096

struct h_chain {
	struct vsnd_chain c;
	struct iovec iov[H_MAX_IOV];
	uint8_t *rd_buf, *wr_buf;
	size_t rd_len, wr_len;
	unsigned int q;
	bool done;
	uint32_t used_len;
	uint64_t done_ns;   /* fake clock at completion */
	uint64_t order;     /* global completion order */
};

struct harness {
	struct vsnd_dev *dev;
	struct vsnd_backend *be;
	struct fakehost host;   /* the device's and the backend's */
	unsigned int notifies[VSND_NUM_QUEUES];
	uint64_t order;
	/* avail FIFOs per queue */
	struct h_chain *avail[VSND_NUM_QUEUES][H_MAX_CHAINS];
	unsigned int a_head[VSND_NUM_QUEUES], a_tail[VSND_NUM_QUEUES];
	bool ring_broken[VSND_NUM_QUEUES];
	/* What the device asked with set_kicks: h_tx and h_rx kick only when
	 * it wants kicks, as a driver does (true until it asks otherwise). */
	bool no_kicks[VSND_NUM_QUEUES];
	unsigned int kicks, kicks_skipped;
	unsigned int pushes;
};

/* Create a device over backend spec (e.g. "null", "file,out=/tmp/x.wav").
 * layout NULL = default. */
struct harness *h_new(const char *backend_spec, const struct vsnd_layout *layout, bool controls);
void h_free(struct harness *h);

/* Build a chain: rd bytes readable, wr_len writable; each part split into
 * pieces of `split` bytes (0 = one piece). rd may be NULL (zeros). */
struct h_chain *h_chain_new(const void *rd, size_t rd_len, size_t wr_len, size_t split);
void h_chain_free(struct h_chain *c);
/* Make it available on queue q (does not kick). */
void h_post(struct harness *h, unsigned int q, struct h_chain *c);

/* Run a control request; returns the status and copies up to resp_cap
 * response bytes after the header into resp. */
uint32_t h_ctl(struct harness *h, const void *req, size_t req_len, void *resp, size_t resp_len,
	       size_t split);
uint32_t h_set_params(struct harness *h, uint32_t stream, uint32_t buffer_bytes,
		      uint32_t period_bytes, uint8_t channels, uint8_t format, uint8_t rate,
		      uint32_t features);
uint32_t h_pcm(struct harness *h, uint32_t code, uint32_t stream);

/* Post an I/O message: TX with data, or RX with room for `bytes`. */
struct h_chain *h_tx(struct harness *h, uint32_t stream, const void *data, size_t bytes, size_t split);
struct h_chain *h_rx(struct harness *h, uint32_t stream, size_t bytes, size_t split);
/* Status word of a completed I/O message (last 8 writable bytes). */
uint32_t h_io_status(const struct h_chain *c);
uint32_t h_io_latency(const struct h_chain *c);

/* Advance the fake clock to t, firing the device timer at every deadline
 * on the way (as a host loop would). */
void h_run_until(struct harness *h, uint64_t t);

/* Stream state name from vsnd_dev_stream_status. */
const char *h_state(struct harness *h, unsigned int stream);

#endif
