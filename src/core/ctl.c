/* SPDX-License-Identifier: MIT */
/*
 * Control queue: request dispatch and the item-information queries
 * (5.14.6.1, 5.14.6.4, 5.14.6.6.2, 5.14.6.8). Requests are read by byte
 * offset from the readable iovecs into a small bounded buffer; responses are
 * written by byte offset into the writable iovecs, so descriptor boundaries
 * never matter.
 */
#include <errno.h>
#include <string.h>

#include "dev.h"
#include "util/iov.h"

/* The largest fixed-size request we parse (SET_PARAMS). */
#define CTL_REQ_MAX VIRTIO_SND_PCM_SET_PARAMS_SIZE
/* The largest native info record we produce. */
#define INFO_REC_MAX VIRTIO_SND_CTL_INFO_SIZE

struct ctl_ctx {
	struct vsnd_dev *dev;
	const struct vsnd_chain *chain;
	uint8_t req[CTL_REQ_MAX];
	size_t req_len;     /* readable bytes copied into req (<= CTL_REQ_MAX) */
};

static uint32_t reply_status(const struct ctl_ctx *c, uint32_t status)
{
	uint8_t hdr[VIRTIO_SND_HDR_SIZE];

	vsnd_put_le32(hdr, status);
	vsnd__iov_from_buf(c->chain->wr, c->chain->n_wr, 0, hdr, sizeof(hdr));
	return VIRTIO_SND_HDR_SIZE;
}

/* ---- item information ---- */

typedef void (*info_fill_fn)(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size);

static void jack_info_fill(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size)
{
	(void)size;
	const struct vsnd_jack_desc *j = &dev->layout.jacks[id];

	vsnd_put_le32(rec + 0, j->hda_fn_nid);
	vsnd_put_le32(rec + 4, 0); /* no JACK_F_REMAP */
	vsnd_put_le32(rec + 8, j->hda_reg_defconf);
	vsnd_put_le32(rec + 12, j->hda_reg_caps);
	rec[16] = dev->jack_connected[id] ? 1 : 0;
}

static void pcm_info_fill(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size)
{
	(void)size;
	const struct vsnd_stream_desc *d = &dev->streams[id].desc;

	vsnd_put_le32(rec + 0, d->hda_fn_nid);
	/* We send XRUN events; MSG_POLLING and the shmem bits are not offered. */
	vsnd_put_le32(rec + 4, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
	vsnd_put_le64(rec + 8, d->formats);
	vsnd_put_le64(rec + 16, d->rates);
	rec[24] = d->direction;
	rec[25] = d->channels_min;
	rec[26] = d->channels_max;
}

static void chmap_info_fill(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size)
{
	(void)size;
	const struct vsnd_chmap_desc *m = &dev->layout.chmaps[id];

	vsnd_put_le32(rec + 0, m->hda_fn_nid);
	rec[4] = m->direction;
	rec[5] = m->channels;
	memcpy(rec + 6, m->positions, VIRTIO_SND_CHMAP_MAX_SIZE);
}

/*
 * Answer a query_info: validate the range and the response room, then write
 * each record with the driver's stride, copying min(size, native) bytes and
 * zeroing the rest (5.14.6.1: the device advice for a differing size).
 */
static uint32_t info_query(struct ctl_ctx *c, unsigned int total, size_t native, info_fill_fn fill)
{
	const uint8_t *q = c->req;
	uint32_t start, count, size;
	uint64_t need;

	if (c->req_len < VIRTIO_SND_QUERY_INFO_SIZE)
		return reply_status(c, VIRTIO_SND_S_BAD_MSG);
	start = vsnd_le32(q + 4);
	count = vsnd_le32(q + 8);
	size = vsnd_le32(q + 12);
	need = VIRTIO_SND_HDR_SIZE + (uint64_t)count * size;
	if (size == 0 || size > VSND_MAX_INFO_SIZE || start > total || count > total - start ||
	    need > c->chain->wr_len) {
		vsnd__dev_warn_guest(c->dev, "info query 0x%04x: bad range start=%u count=%u size=%u room=%zu",
			       vsnd_le32(q), start, count, size, c->chain->wr_len);
		return reply_status(c, VIRTIO_SND_S_BAD_MSG);
	}
	for (uint32_t i = 0; i < count; i++) {
		uint8_t rec[INFO_REC_MAX] = { 0 };
		size_t off = VIRTIO_SND_HDR_SIZE + (size_t)i * size;
		size_t copy = size < native ? size : native;

		fill(c->dev, start + i, rec, size);
		vsnd__iov_from_buf(c->chain->wr, c->chain->n_wr, off, rec, copy);
		if (size > copy)
			vsnd__iov_memset(c->chain->wr, c->chain->n_wr, off + copy, 0, size - copy);
	}
	reply_status(c, VIRTIO_SND_S_OK);
	return (uint32_t)need;
}

static uint32_t jack_remap(struct ctl_ctx *c)
{
	if (c->req_len < VIRTIO_SND_JACK_REMAP_SIZE ||
	    vsnd_le32(c->req + 4) >= c->dev->layout.n_jacks)
		return reply_status(c, VIRTIO_SND_S_BAD_MSG);
	/* JACK_F_REMAP is never advertised. */
	return reply_status(c, VIRTIO_SND_S_NOT_SUPP);
}

static uint32_t ctl_dispatch(struct ctl_ctx *c, uint32_t code)
{
	struct vsnd_dev *dev = c->dev;

	switch (code) {
	case VIRTIO_SND_R_JACK_INFO:
		return info_query(c, dev->layout.n_jacks, VIRTIO_SND_JACK_INFO_SIZE, jack_info_fill);
	case VIRTIO_SND_R_JACK_REMAP:
		return jack_remap(c);
	case VIRTIO_SND_R_PCM_INFO:
		return info_query(c, dev->layout.n_streams, VIRTIO_SND_PCM_INFO_SIZE, pcm_info_fill);
	case VIRTIO_SND_R_CHMAP_INFO:
		return info_query(c, dev->layout.n_chmaps, VIRTIO_SND_CHMAP_INFO_SIZE, chmap_info_fill);
	case VIRTIO_SND_R_PCM_SET_PARAMS:
		return reply_status(c, vsnd__pcm_set_params(dev, c->req, c->req_len));
	case VIRTIO_SND_R_PCM_PREPARE:
	case VIRTIO_SND_R_PCM_RELEASE:
	case VIRTIO_SND_R_PCM_START:
	case VIRTIO_SND_R_PCM_STOP:
		return reply_status(c, vsnd__pcm_simple_request(dev, code, c->req, c->req_len));
	case VIRTIO_SND_R_CTL_INFO:
		if (!dev->controls)
			break;
		return info_query(c, vsnd__ctl_count(dev), VIRTIO_SND_CTL_INFO_SIZE, vsnd__ctl_info_fill);
	case VIRTIO_SND_R_CTL_READ:
	case VIRTIO_SND_R_CTL_TLV_READ: {
		uint32_t status, len;

		if (!dev->controls)
			break;
		len = code == VIRTIO_SND_R_CTL_READ ? vsnd__ctl_read(dev, c->chain, c->req, c->req_len, &status)
						    : vsnd__ctl_tlv_read(dev, c->chain, c->req, c->req_len, &status);
		reply_status(c, status);
		return len;
	}
	case VIRTIO_SND_R_CTL_WRITE:
		if (!dev->controls)
			break;
		return reply_status(c, vsnd__ctl_write(dev, c->chain, c->req, c->req_len));
	case VIRTIO_SND_R_CTL_ENUM_ITEMS:
		/* No control is ENUMERATED. */
		if (!dev->controls)
			break;
		return reply_status(c, VIRTIO_SND_S_BAD_MSG);
	default:
		break;
	}
	/* TLV_WRITE/TLV_COMMAND: no control has those access bits; anything
	 * else is unknown, or control elements were not offered. */
	vsnd__dev_warn_guest(dev, "control request 0x%04x not supported", code);
	return reply_status(c, VIRTIO_SND_S_NOT_SUPP);
}

uint32_t vsnd__ctl_handle(struct vsnd_dev *dev, const struct vsnd_chain *chain)
{
	struct ctl_ctx c = { .dev = dev, .chain = chain };

	/* Without room for a status there is no way to answer: give the
	 * buffer back empty (the driver sees len 0). */
	if (chain->wr_len < VIRTIO_SND_HDR_SIZE) {
		vsnd__dev_warn_guest(dev, "control request without room for a status");
		return 0;
	}
	c.req_len = vsnd__iov_to_buf(chain->rd, chain->n_rd, 0, c.req, sizeof(c.req));
	if (c.req_len < VIRTIO_SND_HDR_SIZE) {
		vsnd__dev_warn_guest(dev, "control request shorter than its header");
		return reply_status(&c, VIRTIO_SND_S_BAD_MSG);
	}
	return ctl_dispatch(&c, vsnd_le32(c.req));
}
