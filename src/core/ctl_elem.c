/* SPDX-License-Identifier: MIT */
/*
 * Control elements (VIRTIO_SND_F_CTLS, 5.14.6.10 in the 1.3 draft): per
 * stream, a volume (INTEGER with a dB-scale TLV, so guest mixers show dB)
 * and a switch (BOOLEAN, ALSA's "on = sound"). Control 2*s is stream s's
 * volume and 2*s+1 its switch. The device applies them to the samples, so
 * every backend (the file backend included) carries the effect; at 0 dB and
 * switched on the samples pass untouched, bit-exact.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dev.h"
#include "util/iov.h"
#include "vsnd/pcm.h"

#define VOL_MAX 100
#define VOL_STEP_CDB 50      /* 0.5 dB per step */
#define VOL_MIN_CDB (-VOL_MAX * VOL_STEP_CDB)

unsigned int vsnd__ctl_count(const struct vsnd_dev *dev)
{
	return dev->controls ? 2 * dev->layout.n_streams : 0;
}

void vsnd__ctl_stream_init(struct pcm_stream *s)
{
	s->volume = VOL_MAX;
	s->muted = false;
	vsnd__ctl_update_gain(s);
}

void vsnd__ctl_update_gain(struct pcm_stream *s)
{
	s->gain_unity = !s->muted && s->volume == VOL_MAX;
	/* The dB scale's lowest step mutes (TLV_DB_SCALE_MUTE). */
	s->gain_silent = s->muted || s->volume == 0;
	s->gain = pow(10.0, (s->volume - VOL_MAX) * VOL_STEP_CDB / 2000.0);
}

/* Scale samples in place. Formats with no linear meaning pass through. */
void vsnd__ctl_apply_gain(struct vsnd_dev *dev, const struct pcm_stream *s, uint8_t *buf, size_t bytes,
		    uint64_t phase)
{
	unsigned int sb = vsnd_pcm_sample_bytes(s->format);
	size_t n;

	if (s->gain_unity || !vsnd_pcm_is_linear(s->format) || sb == 0)
		return;
	if (s->gain_silent) {
		vsnd_pcm_silence_at(s->format, buf, bytes, phase);
		return;
	}
	n = bytes / sb;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < VSND_SCRATCH_SAMPLES ? n - done : VSND_SCRATCH_SAMPLES;
		uint8_t *p = buf + done * sb;

		if (vsnd_pcm_to_double(s->format, p, dev->dscratch, k) != 0)
			return;
		for (size_t i = 0; i < k; i++)
			dev->dscratch[i] *= s->gain;
		vsnd_pcm_from_double(s->format, dev->dscratch, p, k);
		done += k;
	}
}

/* ---- CTL_INFO ---- */

static void ctl_name(const struct vsnd_dev *dev, unsigned int id, char *name, uint32_t *index)
{
	const struct pcm_stream *s = &dev->streams[id / 2];
	bool out = s->desc.direction == VSND_DIR_OUTPUT;
	unsigned int k = 0;

	for (unsigned int i = 0; i < s->id; i++)
		if (dev->streams[i].desc.direction == s->desc.direction)
			k++;
	/* The names ALSA mixers (amixer, alsamixer) treat as the main ones. */
	snprintf(name, VIRTIO_SND_CTL_NAME_SIZE, "%s %s", out ? "Master Playback" : "Capture",
		 id % 2 ? "Switch" : "Volume");
	*index = k;
}

void vsnd__ctl_info_fill(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size)
{
	const struct pcm_stream *s = &dev->streams[id / 2];
	bool vol = id % 2 == 0;
	/* 32-bit x86 guests pack the value union at 68, not 72. */
	unsigned int u = size >= VIRTIO_SND_CTL_INFO_SIZE ? 72 : 68;
	char name[VIRTIO_SND_CTL_NAME_SIZE] = { 0 };
	uint32_t index;

	ctl_name(dev, id, name, &index);
	vsnd_put_le32(rec + 0, s->desc.hda_fn_nid);
	vsnd_put_le32(rec + 4, (uint32_t)(vol ? VIRTIO_SND_CTL_ROLE_VOLUME : VIRTIO_SND_CTL_ROLE_MUTE) << 1 |
				       s->desc.direction);
	vsnd_put_le32(rec + 8, vol ? VIRTIO_SND_CTL_TYPE_INTEGER : VIRTIO_SND_CTL_TYPE_BOOLEAN);
	vsnd_put_le32(rec + 12, 1u << VIRTIO_SND_CTL_ACCESS_READ | 1u << VIRTIO_SND_CTL_ACCESS_WRITE |
					(vol ? 1u << VIRTIO_SND_CTL_ACCESS_TLV_READ : 0));
	vsnd_put_le32(rec + 16, 1);  /* count: one value for all channels */
	vsnd_put_le32(rec + 20, index);
	memcpy(rec + 24, name, sizeof(name));
	if (vol) {
		vsnd_put_le32(rec + u, 0);
		vsnd_put_le32(rec + u + 4, VOL_MAX);
		/* step 0, "any value in range", as ALSA's own drivers report
		 * their volumes (HDA, USB audio) */
		vsnd_put_le32(rec + u + 8, 0);
	}
}

/* ---- READ / WRITE / TLV ---- */

struct ctl_target {
	struct pcm_stream *s;
	unsigned int id;
	bool vol;
};

static int ctl_target(struct vsnd_dev *dev, const uint8_t *req, size_t len, struct ctl_target *t)
{
	uint32_t id;

	if (!dev->controls || len < VIRTIO_SND_CTL_HDR_SIZE)
		return -EINVAL;
	id = vsnd_le32(req + 4);
	if (id >= vsnd__ctl_count(dev))
		return -EINVAL;
	t->s = &dev->streams[id / 2];
	t->id = id;
	t->vol = id % 2 == 0;
	return 0;
}

/* Control id's value changed, whoever changed it: tell the driver, so every
 * guest mixer sees it. The Linux driver's put() cannot report a change
 * itself, so without this a write by one ALSA client reaches no other
 * (mixer-test's event_missing). Only real changes: a write of the same
 * value sends nothing (event_spurious). */
static void ctl_changed(struct vsnd_dev *dev, unsigned int id)
{
	uint8_t ev[VIRTIO_SND_EVENT_SIZE];

	vsnd__ctl_update_gain(&dev->streams[id / 2]);
	if (!dev->controls || !(dev->features & 1ull << VSND_F_CTLS))
		return;
	/* virtio_snd_ctl_event: control_id and mask are le16. */
	vsnd_put_le16(ev, (uint16_t)id);
	vsnd_put_le16(ev + 2, 1u << VIRTIO_SND_CTL_EVT_MASK_VALUE);
	vsnd__event_queue(dev, VIRTIO_SND_EVT_CTL_NOTIFY, vsnd_le32(ev));
}

uint32_t vsnd__ctl_read(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req, size_t len,
		  uint32_t *status)
{
	struct ctl_target t;
	uint8_t v[4];

	if (ctl_target(dev, req, len, &t) ||
	    c->wr_len < VIRTIO_SND_HDR_SIZE + VIRTIO_SND_CTL_VALUE_SIZE) {
		*status = VIRTIO_SND_S_BAD_MSG;
		return VIRTIO_SND_HDR_SIZE;
	}
	vsnd_put_le32(v, t.vol ? (uint32_t)t.s->volume : !t.s->muted);
	vsnd__iov_from_buf(c->wr, c->n_wr, VIRTIO_SND_HDR_SIZE, v, sizeof(v));
	vsnd__iov_memset(c->wr, c->n_wr, VIRTIO_SND_HDR_SIZE + sizeof(v), 0,
		   VIRTIO_SND_CTL_VALUE_SIZE - sizeof(v));
	*status = VIRTIO_SND_S_OK;
	return VIRTIO_SND_HDR_SIZE + VIRTIO_SND_CTL_VALUE_SIZE;
}

uint32_t vsnd__ctl_write(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req, size_t len)
{
	struct ctl_target t;
	uint8_t v[4];
	uint32_t val;

	/* The value follows the 8-byte header; the first integer is ours. */
	if (ctl_target(dev, req, len, &t) ||
	    vsnd__iov_to_buf(c->rd, c->n_rd, VIRTIO_SND_CTL_HDR_SIZE, v, sizeof(v)) < sizeof(v))
		return VIRTIO_SND_S_BAD_MSG;
	val = vsnd_le32(v);
	if (val > (t.vol ? VOL_MAX : 1u))
		return VIRTIO_SND_S_BAD_MSG;
	if (t.vol ? t.s->volume == (int)val : t.s->muted == (val == 0))
		return VIRTIO_SND_S_OK;
	if (t.vol)
		t.s->volume = (int)val;
	else
		t.s->muted = val == 0;
	ctl_changed(dev, t.id);
	return VIRTIO_SND_S_OK;
}

uint32_t vsnd__ctl_tlv_read(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req,
		      size_t len, uint32_t *status)
{
	struct ctl_target t;
	uint8_t tlv[16];
	size_t room, n;

	if (ctl_target(dev, req, len, &t) || !t.vol) {
		*status = VIRTIO_SND_S_BAD_MSG;
		return VIRTIO_SND_HDR_SIZE;
	}
	vsnd_put_le32(tlv, VSND_TLV_DB_SCALE);
	vsnd_put_le32(tlv + 4, 8);
	vsnd_put_le32(tlv + 8, (uint32_t)VOL_MIN_CDB);
	vsnd_put_le32(tlv + 12, VOL_STEP_CDB | VSND_TLV_DB_SCALE_MUTE);
	/* What does not fit is cut, and the answer is still OK (spec). */
	room = c->wr_len - VIRTIO_SND_HDR_SIZE;
	n = room < sizeof(tlv) ? room : sizeof(tlv);
	vsnd__iov_from_buf(c->wr, c->n_wr, VIRTIO_SND_HDR_SIZE, tlv, n);
	*status = VIRTIO_SND_S_OK;
	return (uint32_t)(VIRTIO_SND_HDR_SIZE + n);
}

/* ---- host side: changes the top-level dispatch delivers (device.c) ---- */

int vsnd__ctl_volume_set(struct vsnd_dev *dev, unsigned int stream, int volume)
{
	struct pcm_stream *s;

	if (stream >= dev->layout.n_streams)
		return -ENOENT;
	if (volume < 0 || volume > VOL_MAX)
		return -ERANGE;
	s = &dev->streams[stream];
	if (s->volume != volume) {
		s->volume = volume;
		ctl_changed(dev, 2 * stream);
	}
	return 0;
}

int vsnd__ctl_mute_set(struct vsnd_dev *dev, unsigned int stream, bool muted)
{
	struct pcm_stream *s;

	if (stream >= dev->layout.n_streams)
		return -ENOENT;
	s = &dev->streams[stream];
	if (s->muted != muted) {
		s->muted = muted;
		ctl_changed(dev, 2 * stream + 1);
	}
	return 0;
}
