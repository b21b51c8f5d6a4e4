/* SPDX-License-Identifier: MIT */
#include "harness.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive/req.h"
#include "util/iov.h"

static int t_pop(void *opaque, unsigned int q, struct vsnd_chain **out)
{
	struct harness *h = opaque;
	struct h_chain *c;

	if (h->ring_broken[q])
		return -EIO;
	if (h->a_head[q] == h->a_tail[q])
		return -EAGAIN;
	c = h->avail[q][h->a_head[q]++ % H_MAX_CHAINS];
	*out = &c->c;
	return 0;
}

static void t_push(void *opaque, unsigned int q, struct vsnd_chain *chain, uint32_t len)
{
	struct harness *h = opaque;
	struct h_chain *c = (struct h_chain *)chain; /* c is the first member */

	(void)q;
	c->done = true;
	c->used_len = len;
	c->done_ns = h->host.now;
	c->order = ++h->order;
	h->pushes++;
}

static void t_notify(void *opaque, unsigned int q)
{
	((struct harness *)opaque)->notifies[q]++;
}

static bool t_set_kicks(void *opaque, unsigned int q, bool want)
{
	struct harness *h = opaque;

	h->no_kicks[q] = !want;
	return want && h->a_head[q] != h->a_tail[q];
}

static const struct vsnd_transport_ops h_transport = {
	.size = sizeof(struct vsnd_transport_ops),
	.pop = t_pop,
	.push = t_push,
	.notify = t_notify,
	.set_kicks = t_set_kicks,
};

/* A data buffer added: kick if the device wants kicks. */
static void h_kick_data(struct harness *h, unsigned int q)
{
	if (h->no_kicks[q]) {
		h->kicks_skipped++;
		return;
	}
	h->kicks++;
	vsnd_dev_kick(h->dev, q);
}

struct harness *h_new(const char *spec, const struct vsnd_layout *layout, bool controls)
{
	struct harness *h = calloc(1, sizeof(*h));
	struct vsnd_backend_env env;
	struct vsnd_dev_config cfg = {
		.size = sizeof(struct vsnd_dev_config),
		.layout = layout,
		.controls = controls,
		.host = &fh_ops,
		.host_opaque = &h->host,
		.transport = &h_transport,
		.transport_opaque = h,
	};

	if (!h)
		return NULL;
	fh_init(&h->host, 1000000000ull);
	env = fh_log_env(&h->host.log);
	if (vsnd_backend_create(spec, &env, &h->be) != 0)
		goto err;
	cfg.backend = h->be;
	if (vsnd_dev_new(&h->dev, &cfg) != 0)
		goto err;
	return h;
err:
	h_free(h);
	return NULL;
}

void h_free(struct harness *h)
{
	if (!h)
		return;
	vsnd_dev_free(h->dev);
	vsnd_backend_destroy(h->be);
	free(h);
}

/* Split buf into pieces of `split` bytes using iov[n .. max); the last
 * piece takes whatever is left. Returns the new n. */
static unsigned int split_part(struct iovec *iov, unsigned int n, unsigned int max, uint8_t *buf,
			       size_t len, size_t split)
{
	size_t off = 0;

	if (len == 0)
		return n;
	while (off < len && n < max) {
		size_t l = split && split < len - off ? split : len - off;
		if (n == max - 1)
			l = len - off;
		iov[n].iov_base = buf + off;
		iov[n].iov_len = l;
		off += l;
		n++;
	}
	return n;
}

struct h_chain *h_chain_new(const void *rd, size_t rd_len, size_t wr_len, size_t split)
{
	struct h_chain *c = calloc(1, sizeof(*c));

	c->rd_buf = calloc(1, rd_len ? rd_len : 1);
	c->wr_buf = calloc(1, wr_len ? wr_len : 1);
	/* The driver pre-fills responses with garbage-ish values (IO_ERR); make
	 * sure the device really writes what it claims. */
	memset(c->wr_buf, 0xa5, wr_len);
	if (rd)
		memcpy(c->rd_buf, rd, rd_len);
	c->rd_len = rd_len;
	c->wr_len = wr_len;
	c->c.n_rd = split_part(c->iov, 0, H_MAX_IOV / 2, c->rd_buf, rd_len, split);
	c->c.n_wr = split_part(c->iov, c->c.n_rd, H_MAX_IOV, c->wr_buf, wr_len, split) - c->c.n_rd;
	c->c.rd = c->iov;
	c->c.wr = c->iov + c->c.n_rd;
	c->c.rd_len = rd_len;
	c->c.wr_len = wr_len;
	return c;
}

void h_chain_free(struct h_chain *c)
{
	if (!c)
		return;
	free(c->rd_buf);
	free(c->wr_buf);
	free(c);
}

void h_post(struct harness *h, unsigned int q, struct h_chain *c)
{
	c->q = q;
	h->avail[q][h->a_tail[q]++ % H_MAX_CHAINS] = c;
}

uint32_t h_ctl(struct harness *h, const void *req, size_t req_len, void *resp, size_t resp_len,
	       size_t split)
{
	struct h_chain *c = h_chain_new(req, req_len, VIRTIO_SND_HDR_SIZE + resp_len, split);
	uint32_t status;

	h_post(h, VSND_QUEUE_CONTROL, c);
	vsnd_dev_kick(h->dev, VSND_QUEUE_CONTROL);
	if (!c->done) {
		/* never popped: take it back off the fake ring before freeing */
		h->a_tail[VSND_QUEUE_CONTROL]--;
		h_chain_free(c);
		return 0; /* the tests treat 0 as "no answer" */
	}
	status = c->used_len >= 4 ? vsnd_le32(c->wr_buf) : 0;
	if (resp)
		memcpy(resp, c->wr_buf + VIRTIO_SND_HDR_SIZE, resp_len);
	h_chain_free(c);
	return status;
}

uint32_t h_set_params(struct harness *h, uint32_t stream, uint32_t buffer_bytes,
		      uint32_t period_bytes, uint8_t channels, uint8_t format, uint8_t rate,
		      uint32_t features)
{
	const struct req_params p = { stream, buffer_bytes, period_bytes, features, channels,
				      format, rate };
	uint8_t req[VIRTIO_SND_PCM_SET_PARAMS_SIZE];

	req_set_params(req, &p);
	return h_ctl(h, req, sizeof(req), NULL, 0, 0);
}

uint32_t h_pcm(struct harness *h, uint32_t code, uint32_t stream)
{
	uint8_t req[VIRTIO_SND_PCM_HDR_SIZE];

	req_hdr(req, code, stream);
	return h_ctl(h, req, sizeof(req), NULL, 0, 0);
}

struct h_chain *h_tx(struct harness *h, uint32_t stream, const void *data, size_t bytes, size_t split)
{
	uint8_t *rd = malloc(VIRTIO_SND_PCM_XFER_SIZE + bytes);
	struct h_chain *c;

	vsnd_put_le32(rd, stream);
	if (bytes)
		memcpy(rd + VIRTIO_SND_PCM_XFER_SIZE, data, bytes);
	c = h_chain_new(rd, VIRTIO_SND_PCM_XFER_SIZE + bytes, VIRTIO_SND_PCM_STATUS_SIZE, split);
	free(rd);
	h_post(h, VSND_QUEUE_TX, c);
	h_kick_data(h, VSND_QUEUE_TX);
	return c;
}

struct h_chain *h_rx(struct harness *h, uint32_t stream, size_t bytes, size_t split)
{
	uint8_t rd[VIRTIO_SND_PCM_XFER_SIZE];
	struct h_chain *c;

	vsnd_put_le32(rd, stream);
	c = h_chain_new(rd, sizeof(rd), bytes + VIRTIO_SND_PCM_STATUS_SIZE, split);
	h_post(h, VSND_QUEUE_RX, c);
	h_kick_data(h, VSND_QUEUE_RX);
	return c;
}

uint32_t h_io_status(const struct h_chain *c)
{
	return vsnd_le32(c->wr_buf + c->wr_len - VIRTIO_SND_PCM_STATUS_SIZE);
}

uint32_t h_io_latency(const struct h_chain *c)
{
	return vsnd_le32(c->wr_buf + c->wr_len - 4);
}

static void h_fire(void *dev)
{
	vsnd_dev_process(dev);
}

void h_run_until(struct harness *h, uint64_t t)
{
	/* A device that keeps asking for deadlines up to t would spin a real
	 * host loop too: cap it so the test fails instead. */
	const unsigned long max_fires = 10000000ul;

	if (fh_run_until(&h->host, t, max_fires, h_fire, h->dev) == max_fires &&
	    h->host.timer <= t) {
		fprintf(stderr, "device timer stuck at %llu\n", (unsigned long long)h->host.timer);
		abort();
	}
}

const char *h_state(struct harness *h, unsigned int stream)
{
	struct vsnd_stream_status st = { .size = sizeof(st) };

	if (vsnd_dev_stream_status(h->dev, stream, &st))
		return "?";
	return vsnd_stream_state_name(st.state);
}
