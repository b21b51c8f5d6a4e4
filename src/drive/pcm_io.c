/* SPDX-License-Identifier: MIT */
#include "drive/pcm_io.h"

#include <errno.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "util/iov.h"
#include "util/mono.h"

int pcm_io_init(struct pcm_io *io, struct drv *d, unsigned int q, uint32_t stream,
		uint32_t size, unsigned int n)
{
	bool tx = q == VSND_QUEUE_TX;

	memset(io, 0, sizeof(*io));
	if (n == 0 || n > PCM_IO_MAX || size == 0 || size > (4u << 20))
		return -EINVAL;
	io->d = d;
	io->q = q;
	io->stream = stream;
	io->size = size;
	io->n = n;
	for (unsigned int i = 0; i < n; i++) {
		io->head[i] = -1;
		io->hdr[i] = fe_alloc(&d->fe, tx ? 4 + size : 4, 8);
		io->tail[i] = fe_alloc(&d->fe, tx ? 8 : size + 8, 8);
		if (!io->hdr[i] || !io->tail[i])
			return -ENOMEM;
	}
	return 0;
}

void pcm_io_forget(struct pcm_io *io)
{
	for (unsigned int i = 0; i < io->n; i++)
		io->head[i] = -1;
	io->pending = 0;
}

uint8_t *pcm_io_data(struct pcm_io *io, unsigned int i)
{
	return io->d->fe.mem + (io->q == VSND_QUEUE_TX ? io->hdr[i] + 4 : io->tail[i]);
}

int pcm_io_submit_as(struct pcm_io *io, unsigned int i, uint32_t len, uint32_t stream_id,
		     bool no_kick)
{
	struct fe *fe = &io->d->fe;
	int head;

	if (i >= io->n || len > io->size || io->head[i] >= 0)
		return -EINVAL;
	vsnd_put_le32(fe->mem + io->hdr[i], stream_id);
	if (io->q == VSND_QUEUE_TX) {
		memset(fe->mem + io->tail[i], 0xa5, 8);
		head = fe_add(fe, io->q, io->hdr[i], 4 + len, io->tail[i], 8, no_kick);
	} else {
		memset(fe->mem + io->tail[i] + len, 0xa5, 8);
		head = fe_add(fe, io->q, io->hdr[i], 4, io->tail[i], len + 8, no_kick);
	}
	if (head < 0)
		return head;
	io->head[i] = head;
	io->len[i] = len;
	io->sent_ns[i] = vsnd__mono_ns();
	io->pending++;
	return 0;
}

int pcm_io_submit(struct pcm_io *io, unsigned int i, uint32_t len, bool no_kick)
{
	return pcm_io_submit_as(io, i, len, io->stream, no_kick);
}

int pcm_io_post(struct pcm_io *io, unsigned int i, uint32_t len)
{
	int rc = pcm_io_submit(io, i, len, true);

	if (rc == 0 && io->d->fe.r[io->q].notify)
		fe_kick(&io->d->fe, io->q);
	return rc;
}

static int find(struct pcm_io *io, uint32_t id)
{
	for (unsigned int i = 0; i < io->n; i++)
		if (io->head[i] == (int)id)
			return (int)i;
	return -1;
}

int pcm_io_wait(struct pcm_io *io, int timeout_ms, struct pcm_io_done *done)
{
	uint64_t deadline = vsnd__mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct fe *fe = &io->d->fe;
	const uint8_t *st;
	uint32_t id;
	int rc, i;

	for (;;) {
		uint64_t now;

		rc = fe_used(fe, io->q, &id, &done->used_len);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			return rc;
		now = vsnd__mono_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		fe_wait(fe, io->q, (int)((deadline - now + 999999) / 1000000));
	}
	done->ns = vsnd__mono_ns();
	i = find(io, id);
	if (i < 0)
		return -EPROTO;
	io->head[i] = -1;
	io->pending--;
	done->i = (unsigned int)i;
	/* RX: the status is the last 8 bytes of the writable part, wherever
	 * the data ended */
	st = fe->mem + io->tail[i] + (io->q == VSND_QUEUE_TX ? 0 : io->len[i]);
	done->status = vsnd_le32(st);
	done->latency = vsnd_le32(st + 4);
	done->data = 0;
	if (io->q == VSND_QUEUE_RX && done->used_len >= 8 && done->used_len - 8 <= io->len[i])
		done->data = done->used_len - 8;
	return 0;
}
