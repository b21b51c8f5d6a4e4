/* SPDX-License-Identifier: MIT */
/*
 * The services every other file of the device model uses, over the host and
 * transport ops the embedder gave: the log (and its rate limit for what a
 * guest can trigger), the clock, pushing a chain back and notifying the
 * driver, stopping on a corrupt ring, and errno to virtio status. This file
 * calls no other file of src/core: it is the bottom of the order in dev.h.
 */
#include <errno.h>
#include <stdio.h>

#include "dev.h"

#define WARN_BURST 10
#define WARN_WINDOW_NS 1000000000ull

static void dev_vlog(struct vsnd_dev *dev, enum vsnd_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

static void dev_vlog(struct vsnd_dev *dev, enum vsnd_log_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (!dev->host->log)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	dev->host->log(dev->host_opaque, level, msg);
}

void vsnd__dev_log(struct vsnd_dev *dev, enum vsnd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_vlog(dev, level, fmt, ap);
	va_end(ap);
}

void vsnd__dev_warn_guest(struct vsnd_dev *dev, const char *fmt, ...)
{
	va_list ap;
	uint64_t now = vsnd__dev_now(dev);

	/* A guest can send bad requests in a loop; keep the log readable. */
	if (now - dev->warn_window_start > WARN_WINDOW_NS) {
		dev->warn_window_start = now;
		dev->warn_count = 0;
	}
	va_start(ap, fmt);
	dev_vlog(dev, ++dev->warn_count > WARN_BURST ? VSND_LOG_DEBUG : VSND_LOG_WARN, fmt, ap);
	va_end(ap);
}

uint64_t vsnd__dev_now(struct vsnd_dev *dev)
{
	return dev->host->now_ns(dev->host_opaque);
}

void vsnd__dev_push(struct vsnd_dev *dev, unsigned int q, struct vsnd_chain *chain, uint32_t len)
{
	dev->tops->push(dev->topaque, q, chain, len);
	dev->pushed[q] = true;
}

/* One notify per queue for all the pushes since the last: the driver's
 * interrupt handler takes every used buffer at once. */
void vsnd__dev_notify(struct vsnd_dev *dev)
{
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		if (dev->pushed[q]) {
			dev->pushed[q] = false;
			dev->tops->notify(dev->topaque, q);
		}
	}
}

void vsnd__dev_mark_broken(struct vsnd_dev *dev, unsigned int q)
{
	if (!dev->broken)
		vsnd__dev_log(dev, VSND_LOG_ERROR, "queue %u: corrupt ring, device stopped", q);
	dev->broken = true;
}

uint32_t vsnd__status_from_errno(int err)
{
	switch (err) {
	case 0:
		return VIRTIO_SND_S_OK;
	case -EINVAL:
	case -ENOENT:
	case -EPROTO:
		return VIRTIO_SND_S_BAD_MSG;
	case -ENOTSUP:
	case -ERANGE:
		return VIRTIO_SND_S_NOT_SUPP;
	default:
		return VIRTIO_SND_S_IO_ERR;
	}
}
