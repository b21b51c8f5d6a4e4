/* SPDX-License-Identifier: MIT */
#include "drive/req.h"

#include <string.h>

#include "util/iov.h"

void req_query(uint8_t q[VIRTIO_SND_QUERY_INFO_SIZE], uint32_t code, uint32_t start,
	       uint32_t count, uint32_t size)
{
	vsnd_put_le32(q, code);
	vsnd_put_le32(q + 4, start);
	vsnd_put_le32(q + 8, count);
	vsnd_put_le32(q + 12, size);
}

void req_hdr(uint8_t q[VIRTIO_SND_PCM_HDR_SIZE], uint32_t code, uint32_t id)
{
	vsnd_put_le32(q, code);
	vsnd_put_le32(q + 4, id);
}

void req_set_params(uint8_t q[VIRTIO_SND_PCM_SET_PARAMS_SIZE], const struct req_params *p)
{
	memset(q, 0, VIRTIO_SND_PCM_SET_PARAMS_SIZE);
	req_hdr(q, VIRTIO_SND_R_PCM_SET_PARAMS, p->stream);
	vsnd_put_le32(q + 8, p->buffer_bytes);
	vsnd_put_le32(q + 12, p->period_bytes);
	vsnd_put_le32(q + 16, p->features);
	q[20] = p->channels;
	q[21] = p->format;
	q[22] = p->rate;
}
