/* SPDX-License-Identifier: MIT */
#include "drive/drv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "drive/req.h"
#include "util/iov.h"
#include "util/mono.h"

static int stock_event(struct drv *d, unsigned int i)
{
	int head = fe_add(&d->fe, VSND_QUEUE_EVENT, 0, 0, d->evt[i], VIRTIO_SND_EVENT_SIZE, false);

	d->evt_head[i] = head;
	return head < 0 ? head : 0;
}

int drv_open(struct drv *d, const char *path, bool controls)
{
	uint64_t want = (1ull << VSND_VIRTIO_F_VERSION_1) | (1ull << VSND_VIRTIO_F_EVENT_IDX) |
			(1ull << VSND_VIRTIO_F_INDIRECT_DESC);
	uint8_t cfg[VIRTIO_SND_CONFIG_SIZE_CTLS] = { 0 };
	int rc;

	memset(d, 0, sizeof(*d));
	if (controls)
		want |= 1ull << VSND_F_CTLS;
	rc = fe_open(&d->fe, path, want);
	if (rc < 0)
		return rc;
	d->ctls = d->fe.features & (1ull << VSND_F_CTLS);
	rc = fe_get_config(&d->fe, cfg, d->ctls ? VIRTIO_SND_CONFIG_SIZE_CTLS
						   : VIRTIO_SND_CONFIG_SIZE);
	if (rc < 0)
		goto err;
	d->jacks = vsnd_le32(cfg);
	d->streams = vsnd_le32(cfg + 4);
	d->chmaps = vsnd_le32(cfg + 8);
	d->controls = d->ctls ? vsnd_le32(cfg + 12) : 0;
	d->req = fe_alloc(&d->fe, DRV_CTL_MAX, 8);
	d->resp = fe_alloc(&d->fe, DRV_CTL_MAX, 8);
	rc = -ENOMEM;
	if (!d->req || !d->resp)
		goto err;
	for (unsigned int i = 0; i < DRV_EVENT_BUFS; i++) {
		d->evt[i] = fe_alloc(&d->fe, VIRTIO_SND_EVENT_SIZE, 8);
		rc = d->evt[i] ? stock_event(d, i) : -ENOMEM;
		if (rc < 0)
			goto err;
	}
	return 0;
err:
	drv_close(d);
	return rc;
}

int drv_reset(struct drv *d)
{
	int rc = fe_reset(&d->fe);

	for (unsigned int i = 0; rc == 0 && i < DRV_EVENT_BUFS; i++)
		rc = stock_event(d, i);
	return rc;
}

void drv_close(struct drv *d)
{
	if (d)
		fe_close(&d->fe);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

void drv_sort_u32(uint32_t *v, size_t n)
{
	if (n)
		qsort(v, n, sizeof(*v), cmp_u32);
}

uint32_t drv_rank(const uint32_t *sorted, size_t n, double q)
{
	size_t k = (size_t)(q * (double)n + 0.999999);

	return n ? sorted[k ? k - 1 : 0] : 0;
}

static void note_rtt(struct drv *d, uint64_t ns)
{
	if (d->n_rtt < DRV_RTT_KEEP)
		d->rtt_us[d->n_rtt] = (uint32_t)(ns / 1000u < UINT32_MAX ? ns / 1000u : UINT32_MAX);
	d->n_rtt++;
	if (ns > d->rtt_max_ns)
		d->rtt_max_ns = ns;
}

int drv_ctl(struct drv *d, const void *req, uint32_t req_len, uint32_t resp_len,
	    const uint8_t **resp, uint32_t *used_len)
{
	uint64_t t0 = vsnd__mono_ns(), deadline = t0 + DRV_TIMEOUT_MS * 1000000ull;
	uint32_t id;
	int head, rc;

	if (req_len > DRV_CTL_MAX || resp_len > DRV_CTL_MAX)
		return -EINVAL;
	memcpy(d->fe.mem + d->req, req, req_len);
	/* a pattern the device must overwrite: a stale status cannot pass */
	memset(d->fe.mem + d->resp, 0xa5, resp_len);
	head = fe_add(&d->fe, VSND_QUEUE_CONTROL, d->req, req_len, d->resp, resp_len, false);
	if (head < 0)
		return head;
	for (;;) {
		uint64_t now = vsnd__mono_ns();

		rc = fe_used(&d->fe, VSND_QUEUE_CONTROL, &id, used_len);
		if (rc == 0)
			break;
		if (rc != -EAGAIN)
			return rc;
		if (now >= deadline)
			return -ETIMEDOUT;
		fe_wait(&d->fe, VSND_QUEUE_CONTROL, (int)((deadline - now) / 1000000) + 1);
	}
	if (id != (uint32_t)head)
		return -EPROTO;
	note_rtt(d, vsnd__mono_ns() - t0);
	*resp = d->fe.mem + d->resp;
	if (*used_len < VIRTIO_SND_HDR_SIZE || resp_len < VIRTIO_SND_HDR_SIZE)
		return -EBADMSG;
	return (int)vsnd_le32(*resp);
}

int drv_query(struct drv *d, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
	      const uint8_t **resp)
{
	uint8_t q[VIRTIO_SND_QUERY_INFO_SIZE];
	uint32_t len;
	uint64_t want = 4 + (uint64_t)count * size;

	if (want > DRV_CTL_MAX)
		return -E2BIG;
	req_query(q, code, start, count, size);
	return drv_ctl(d, q, sizeof(q), (uint32_t)want, resp, &len);
}

int drv_pcm(struct drv *d, uint32_t code, uint32_t stream)
{
	uint8_t q[VIRTIO_SND_PCM_HDR_SIZE];
	const uint8_t *resp;
	uint32_t len;

	req_hdr(q, code, stream);
	return drv_ctl(d, q, sizeof(q), VIRTIO_SND_HDR_SIZE, &resp, &len);
}

int drv_set_params(struct drv *d, uint32_t stream, uint32_t buffer_bytes, uint32_t period_bytes,
		   uint32_t features, uint8_t channels, uint8_t format, uint8_t rate)
{
	const struct req_params p = { stream, buffer_bytes, period_bytes, features, channels,
				      format, rate };
	uint8_t q[VIRTIO_SND_PCM_SET_PARAMS_SIZE];
	const uint8_t *resp;
	uint32_t len;

	req_set_params(q, &p);
	return drv_ctl(d, q, sizeof(q), VIRTIO_SND_HDR_SIZE, &resp, &len);
}

int drv_event(struct drv *d, uint32_t *code, uint32_t *data)
{
	uint32_t id, len;
	int rc = fe_used(&d->fe, VSND_QUEUE_EVENT, &id, &len);

	if (rc < 0)
		return rc;
	for (unsigned int i = 0; i < DRV_EVENT_BUFS; i++) {
		if (d->evt_head[i] != (int)id)
			continue;
		*code = vsnd_le32(d->fe.mem + d->evt[i]);
		*data = vsnd_le32(d->fe.mem + d->evt[i] + 4);
		rc = stock_event(d, i);
		return rc < 0 ? rc : (len == VIRTIO_SND_EVENT_SIZE ? 0 : -EBADMSG);
	}
	return -EPROTO;
}

unsigned int drv_sample_bytes(uint8_t format)
{
	switch (format) {
	case VSND_PCM_FMT_MU_LAW: case VSND_PCM_FMT_A_LAW:
	case VSND_PCM_FMT_S8: case VSND_PCM_FMT_U8:
		return 1;
	case VSND_PCM_FMT_S16: case VSND_PCM_FMT_U16:
		return 2;
	case VSND_PCM_FMT_S18_3: case VSND_PCM_FMT_U18_3:
	case VSND_PCM_FMT_S20_3: case VSND_PCM_FMT_U20_3:
	case VSND_PCM_FMT_S24_3: case VSND_PCM_FMT_U24_3:
		return 3;
	case VSND_PCM_FMT_S20: case VSND_PCM_FMT_U20:
	case VSND_PCM_FMT_S24: case VSND_PCM_FMT_U24:
	case VSND_PCM_FMT_S32: case VSND_PCM_FMT_U32:
	case VSND_PCM_FMT_FLOAT:
		return 4;
	case VSND_PCM_FMT_FLOAT64:
		return 8;
	default:
		return 0;
	}
}

int drv_rate_enum(uint32_t hz)
{
	for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++)
		if (vsnd_pcm_rate_hz(r) == hz)
			return (int)r;
	return -1;
}

const char *drv_status_name(int status)
{
	switch (status) {
	case VIRTIO_SND_S_OK: return "OK";
	case VIRTIO_SND_S_BAD_MSG: return "BAD_MSG";
	case VIRTIO_SND_S_NOT_SUPP: return "NOT_SUPP";
	case VIRTIO_SND_S_IO_ERR: return "IO_ERR";
	case -ETIMEDOUT: return "no answer";
	default: return status < 0 ? "broken answer" : "unknown status";
	}
}

const char *drv_format_name(unsigned int fmt)
{
	static const char *const names[VSND_PCM_FMT_COUNT] = {
		"IMA_ADPCM", "MU_LAW", "A_LAW", "S8", "U8", "S16", "U16", "S18_3", "U18_3",
		"S20_3", "U20_3", "S24_3", "U24_3", "S20", "U20", "S24", "U24", "S32", "U32",
		"FLOAT", "FLOAT64", "DSD_U8", "DSD_U16", "DSD_U32", "IEC958_SUBFRAME",
	};
	return fmt < VSND_PCM_FMT_COUNT ? names[fmt] : "?";
}

const char *drv_position_name(unsigned int pos)
{
	static const char *const names[VIRTIO_SND_CHMAP_COUNT] = {
		"NONE", "NA", "MONO", "FL", "FR", "RL", "RR", "FC", "LFE", "SL", "SR", "RC",
		"FLC", "FRC", "RLC", "RRC", "FLW", "FRW", "FLH", "FCH", "FRH", "TC", "TFL",
		"TFR", "TFC", "TRL", "TRR", "TRC", "TFLC", "TFRC", "TSL", "TSR", "LLFE",
		"RLFE", "BC", "BLC", "BRC",
	};
	return pos < VIRTIO_SND_CHMAP_COUNT ? names[pos] : "?";
}
