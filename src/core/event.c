/* SPDX-License-Identifier: MIT */
/*
 * Event queue (5.14.6.2). The driver pre-posts writable buffers and never
 * kicks for them, so buffers are popped only when an event is due. Events
 * that find no buffer wait in a bounded backlog, delivered oldest first;
 * when the backlog is full the oldest event is dropped (and counted), since
 * the newest state (a jack's, a stream's) is what the driver must end with.
 */
#include <errno.h>
#include <string.h>

#include "dev.h"
#include "util/iov.h"

void vsnd__event_queue(struct vsnd_dev *dev, uint32_t code, uint32_t data)
{
	struct event_backlog *b = &dev->events;
	unsigned int slot;

	if (b->count == VSND_EVENT_BACKLOG) {
		b->head = (b->head + 1) % VSND_EVENT_BACKLOG;
		b->count--;
		if (b->dropped++ == 0)
			vsnd__dev_log(dev, VSND_LOG_WARN, "event backlog full: dropping the oldest events");
	}
	slot = (b->head + b->count) % VSND_EVENT_BACKLOG;
	vsnd_put_le32(b->ev[slot], code);
	vsnd_put_le32(b->ev[slot] + 4, data);
	b->count++;
}

void vsnd__event_flush(struct vsnd_dev *dev)
{
	struct event_backlog *b = &dev->events;

	for (unsigned int n = 0; n < VSND_POP_BATCH && b->count && !dev->broken &&
			       !dev->qstopped[VSND_QUEUE_EVENT]; n++) {
		struct vsnd_chain *c;
		int err = dev->tops->pop(dev->topaque, VSND_QUEUE_EVENT, &c);

		if (err == -EIO)
			vsnd__dev_mark_broken(dev, VSND_QUEUE_EVENT);
		if (err)
			return;
		if (c->wr_len < VIRTIO_SND_EVENT_SIZE) {
			/* Too small to hold an event: return it, keep the event. */
			vsnd__dev_warn_guest(dev, "event buffer of %zu bytes refused", c->wr_len);
			vsnd__dev_push(dev, VSND_QUEUE_EVENT, c, 0);
			continue;
		}
		vsnd__iov_from_buf(c->wr, c->n_wr, 0, b->ev[b->head], VIRTIO_SND_EVENT_SIZE);
		vsnd__dev_push(dev, VSND_QUEUE_EVENT, c, VIRTIO_SND_EVENT_SIZE);
		b->head = (b->head + 1) % VSND_EVENT_BACKLOG;
		b->count--;
	}
}

void vsnd__event_reset(struct vsnd_dev *dev)
{
	dev->events.count = 0;
	dev->events.head = 0;
}
