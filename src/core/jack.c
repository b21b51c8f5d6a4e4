/* SPDX-License-Identifier: MIT */
/*
 * Jack states (5.14.6.4): set by the host, or following the sink or source a
 * backend plays to. A change queues its event; the top-level dispatch
 * (device.c) delivers it, so nothing here pushes to a ring.
 */
#include <errno.h>

#include "dev.h"

int vsnd__jack_set(struct vsnd_dev *dev, unsigned int jack_id, bool connected)
{
	if (jack_id >= dev->layout.n_jacks)
		return -ENOENT;
	if (dev->jack_connected[jack_id] == connected)
		return 0;
	dev->jack_connected[jack_id] = connected;
	vsnd__event_queue(dev, connected ? VIRTIO_SND_EVT_JACK_CONNECTED
					 : VIRTIO_SND_EVT_JACK_DISCONNECTED, jack_id);
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

	if (j >= 0)
		vsnd__jack_set(dev, (unsigned int)j, present);
}
