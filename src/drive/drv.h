/* SPDX-License-Identifier: MIT */
/*
 * A user-space virtio-snd driver over the frontend (struct fe): control
 * requests with a timeout, info queries, PCM commands, and the event queue
 * kept stocked.
 * Status results are VIRTIO_SND_S_* (>= 0x8000) or a negative errno when
 * the device did not answer properly.
 */
#ifndef VSND_DRIVE_DRV_H
#define VSND_DRIVE_DRV_H

#include <stdbool.h>
#include <stdint.h>

#include "drive/fe.h"

#define DRV_CTL_MAX 4096u      /* largest control request / response we build */
#define DRV_EVENT_BUFS 16u
#define DRV_TIMEOUT_MS 2000
/* Control round trips kept for their percentiles (the first ones). */
#define DRV_RTT_KEEP 4096u

struct drv {
	struct fe fe;
	uint32_t jacks, streams, chmaps, controls;
	bool ctls;                      /* VIRTIO_SND_F_CTLS negotiated */
	size_t req, resp;               /* control request / response buffers */
	size_t evt[DRV_EVENT_BUFS];     /* event buffers, by slot */
	int evt_head[DRV_EVENT_BUFS];
	/* every answered control request's round trip */
	uint64_t n_rtt, rtt_max_ns;
	uint32_t rtt_us[DRV_RTT_KEEP];
};

/* Connect, negotiate (F_CTLS only if controls), read the config, stock the
 * event queue. Returns 0 or a negative errno. */
int drv_open(struct drv *d, const char *path, bool controls);
void drv_close(struct drv *d);
/* Samples (round trips, any unit): sort them, then read the q-quantile
 * (0..1) by nearest rank; 0 when there are none. */
void drv_sort_u32(uint32_t *v, size_t n);
uint32_t drv_rank(const uint32_t *sorted, size_t n, double q);
/* Reset the device as a driver does (fe_reset) and stock the event queue
 * again. Returns 0 or a negative errno. */
int drv_reset(struct drv *d);

/*
 * One control request: req_len bytes of req, resp_len writable bytes. On
 * return *resp points at the response in guest memory (valid until the next
 * request) and *used_len holds the used length. Returns the status of the
 * response header, or a negative errno (-ETIMEDOUT: no completion).
 */
int drv_ctl(struct drv *d, const void *req, uint32_t req_len, uint32_t resp_len,
	    const uint8_t **resp, uint32_t *used_len);
/* *_INFO query of count records of size bytes from start. */
int drv_query(struct drv *d, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
	      const uint8_t **resp);
/* PREPARE/START/STOP/RELEASE of a stream. */
int drv_pcm(struct drv *d, uint32_t code, uint32_t stream);
int drv_set_params(struct drv *d, uint32_t stream, uint32_t buffer_bytes, uint32_t period_bytes,
		   uint32_t features, uint8_t channels, uint8_t format, uint8_t rate);

/* Read one event if the device sent any: 0 with code and data, -EAGAIN. The
 * buffer goes back to the device. */
int drv_event(struct drv *d, uint32_t *code, uint32_t *data);

/* Bytes per sample of a format (0 for the packed/unknown ones we skip). */
unsigned int drv_sample_bytes(uint8_t format);
/* The rate enum of hz, or -1. */
int drv_rate_enum(uint32_t hz);
/* Name of a status, format, channel position. */
const char *drv_status_name(int status);
const char *drv_format_name(unsigned int fmt);
const char *drv_position_name(unsigned int pos);

#endif
