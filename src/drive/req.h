/* SPDX-License-Identifier: MIT */
/*
 * Encoders of the virtio-snd control requests a driver sends (VirtIO 1.3,
 * 5.14.6): the one place their byte layout is written, for vsnd-drive and
 * for every test that plays the driver. Callers own the buffers (sized by
 * the VIRTIO_SND_*_SIZE constants) and may change a field afterwards to
 * build a malformed request.
 */
#ifndef VSND_DRIVE_REQ_H
#define VSND_DRIVE_REQ_H

#include <stdint.h>

#include "wire/virtio_snd.h"

/* The fields of a PCM_SET_PARAMS request, host order. */
struct req_params {
	uint32_t stream;
	uint32_t buffer_bytes, period_bytes;
	uint32_t features;
	uint8_t channels, format, rate;
};

/* virtio_snd_query_info: a *_INFO query of count records of size bytes. */
void req_query(uint8_t q[VIRTIO_SND_QUERY_INFO_SIZE], uint32_t code, uint32_t start,
	       uint32_t count, uint32_t size);
/* A request code and an id: virtio_snd_pcm_hdr (PREPARE, START, STOP,
 * RELEASE) and virtio_snd_ctl_hdr share this layout. */
void req_hdr(uint8_t q[VIRTIO_SND_PCM_HDR_SIZE], uint32_t code, uint32_t id);
/* virtio_snd_pcm_set_params, padding zeroed. */
void req_set_params(uint8_t q[VIRTIO_SND_PCM_SET_PARAMS_SIZE], const struct req_params *p);

#endif
