/* SPDX-License-Identifier: MIT */
/*
 * Jack states (5.14.6.4): a jack reads connected while the host has it
 * plugged and the sink or source its stream's backend plays to is not known
 * to be gone. The two are kept apart, so a server coming back does not plug
 * a jack the host unplugged, and what a closed stream knew goes with it: a
 * guest that saw the jack go off while the server was away may never open
 * the stream again to see it come back. Not at once: a guest whose sound
 * server opens a card again when its jack comes on, and gives it up when
 * it goes off, would otherwise make the two chase each other while the
 * server is away. A change of what the jack reads queues its event; the
 * top-level dispatch (device.c) delivers it, so nothing here pushes to a
 * ring.
 */
#include <errno.h>

#include "dev.h"

static void jack_update(struct vsnd_dev *dev, unsigned int j)
{
	bool connected = dev->jack_plugged[j] && !dev->jack_away[j];

	if (dev->jack_connected[j] == connected)
		return;
	dev->jack_connected[j] = connected;
	vsnd__event_queue(dev, connected ? VIRTIO_SND_EVT_JACK_CONNECTED
					 : VIRTIO_SND_EVT_JACK_DISCONNECTED, j);
}

int vsnd__jack_set(struct vsnd_dev *dev, unsigned int jack_id, bool plugged)
{
	if (jack_id >= dev->layout.n_jacks)
		return -ENOENT;
	dev->jack_plugged[jack_id] = plugged;
	jack_update(dev, jack_id);
	return 0;
}

/* The jack of a stream: same function group, same direction (from the pin's
 * default-device field: 0x8 and up are inputs). -1 if it has none. */
static int stream_jack(const struct vsnd_dev *dev, const struct pcm_stream *s)
{
	for (unsigned int j = 0; j < dev->layout.n_jacks; j++) {
		const struct vsnd_jack_desc *jd = &dev->layout.jacks[j];
		uint8_t dir = (jd->hda_reg_defconf >> 20 & 0xf) >= 8 ? VSND_DIR_INPUT
									: VSND_DIR_OUTPUT;

		if (jd->hda_fn_nid == s->desc.hda_fn_nid && dir == s->desc.direction)
			return (int)j;
	}
	return -1;
}

void vsnd__jack_follow(struct vsnd_dev *dev, const struct pcm_stream *s, bool present)
{
	int j = stream_jack(dev, s);

	if (j < 0)
		return;
	dev->jack_away[j] = !present;
	dev->jack_forget_at[j] = 0;
	jack_update(dev, (unsigned int)j);
}

void vsnd__jack_forget(struct vsnd_dev *dev, const struct pcm_stream *s)
{
	int j = stream_jack(dev, s);
	uint64_t at;

	if (j < 0 || s->host_present_seen != 0)
		return;
	at = vsnd__dev_now(dev) + VSND_JACK_FORGET_NS;
	dev->jack_forget_at[j] = at;
	dev->jack_forget_next = at < dev->jack_forget_next ? at : dev->jack_forget_next;
}

/* Runs on every service of the streams: nothing but a compare until the
 * earliest forgetting is due. */
uint64_t vsnd__jack_tick(struct vsnd_dev *dev, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (now < dev->jack_forget_next)
		return dev->jack_forget_next;
	for (unsigned int j = 0; j < dev->layout.n_jacks; j++) {
		if (!dev->jack_forget_at[j])
			continue;
		if (now < dev->jack_forget_at[j]) {
			next = dev->jack_forget_at[j] < next ? dev->jack_forget_at[j] : next;
			continue;
		}
		dev->jack_forget_at[j] = 0;
		dev->jack_away[j] = false;
		jack_update(dev, j);
	}
	dev->jack_forget_next = next;
	return next;
}
