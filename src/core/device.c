/* SPDX-License-Identifier: MIT */
/* Device lifecycle, features, config space, and the queue dispatchers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "util/abi.h"
#include "util/iov.h"
#include "vsnd/pcm.h"

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

static void notify_pushed(struct vsnd_dev *dev)
{
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		if (dev->pushed[q]) {
			dev->pushed[q] = false;
			dev->tops->notify(dev->topaque, q);
		}
	}
}

/* ---- layout ---- */

static int layout_check(const struct vsnd_layout *l)
{
	if (l->n_streams > VSND_MAX_STREAMS || l->n_jacks > VSND_MAX_JACKS ||
	    l->n_chmaps > VSND_MAX_CHMAPS)
		return -EINVAL;
	for (unsigned int i = 0; i < l->n_streams; i++) {
		const struct vsnd_stream_desc *d = &l->streams[i];
		if (d->direction > VSND_DIR_INPUT || d->channels_min < 1 ||
		    d->channels_min > d->channels_max || d->channels_max > VSND_MAX_CHANNELS)
			return -EINVAL;
	}
	for (unsigned int i = 0; i < l->n_chmaps; i++) {
		const struct vsnd_chmap_desc *c = &l->chmaps[i];
		if (c->direction > VSND_DIR_INPUT || c->channels > VSND_MAX_CHANNELS)
			return -EINVAL;
		for (unsigned int k = 0; k < c->channels; k++)
			if (c->positions[k] >= VIRTIO_SND_CHMAP_COUNT)
				return -EINVAL;
	}
	return 0;
}

/* Cut a stream's wishes down to what the backend carries; a stream left
 * with no format or rate cannot be described honestly. */
static int stream_apply_caps(struct vsnd_dev *dev, struct pcm_stream *s)
{
	struct vsnd_backend_caps caps = { 0 };
	uint64_t whole = 0;

	dev->backend->ops->caps(dev->backend, s->desc.direction, &caps);
	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (vsnd_pcm_sample_bytes(f))
			whole |= 1ull << f;
	s->desc.formats &= caps.formats & whole;
	s->desc.rates &= caps.rates & ((1ull << VSND_PCM_RATE_COUNT) - 1);
	if (caps.channels_max && s->desc.channels_max > caps.channels_max)
		s->desc.channels_max = caps.channels_max;
	if (!s->desc.formats || !s->desc.rates || s->desc.channels_min > s->desc.channels_max) {
		vsnd__dev_log(dev, VSND_LOG_ERROR,
			"stream %u: backend %s supports none of its formats/rates/channels",
			s->id, dev->backend->ops->name);
		return -ENOTSUP;
	}
	return 0;
}

/* ---- lifecycle ---- */

/* The caller's structs, by the size rule (vsnd.h, "ABI"), and the members
 * the device cannot do without. */
static int config_check(const struct vsnd_dev_config *cfg)
{
	int err = VSND__ABI_CHECK(cfg, VSND__SIZE1_DEV_CONFIG);

	if (err)
		return err;
	if (!cfg->backend || !cfg->host || !cfg->transport)
		return -EINVAL;
	if ((err = VSND__ABI_CHECK(cfg->host, VSND__SIZE1_HOST_OPS)) ||
	    (err = VSND__ABI_CHECK(cfg->transport, VSND__SIZE1_TRANSPORT_OPS)) ||
	    (err = VSND__ABI_CHECK(cfg->backend->ops, VSND__SIZE1_BACKEND_OPS)))
		return err;
	if (!cfg->host->now_ns || !cfg->host->set_timer || !cfg->transport->pop ||
	    !cfg->transport->push || !cfg->transport->notify)
		return -EINVAL;
	return 0;
}

int vsnd_dev_new(struct vsnd_dev **out, const struct vsnd_dev_config *cfg)
{
	struct vsnd_dev *dev;
	int err;

	*out = NULL;
	err = config_check(cfg);
	if (err)
		return err;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	if (cfg->layout)
		dev->layout = *cfg->layout;
	else
		vsnd__layout_default(&dev->layout);
	dev->backend = cfg->backend;
	dev->host = cfg->host;
	dev->host_opaque = cfg->host_opaque;
	dev->tops = cfg->transport;
	dev->topaque = cfg->transport_opaque;
	dev->controls = cfg->controls;
	err = layout_check(&dev->layout);
	if (err)
		goto err;
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];
		s->id = i;
		s->desc = dev->layout.streams[i];
		vsnd__ctl_stream_init(s);
		err = stream_apply_caps(dev, s);
		if (err)
			goto err;
	}
	for (unsigned int i = 0; i < dev->layout.n_jacks; i++)
		dev->jack_connected[i] = dev->layout.jacks[i].connected;
	err = vsnd__io_pool_init(dev);
	if (err)
		goto err;
	*out = dev;
	return 0;
err:
	vsnd_dev_free(dev);
	return err;
}

void vsnd_dev_free(struct vsnd_dev *dev)
{
	if (!dev)
		return;
	for (unsigned int i = 0; i < dev->layout.n_streams && i < VSND_MAX_STREAMS; i++)
		vsnd__pcm_close(dev, &dev->streams[i]);
	vsnd__io_pool_fini(dev);
	free(dev);
}

uint64_t vsnd_dev_features(const struct vsnd_dev *dev)
{
	uint64_t f = 1ull << VSND_VIRTIO_F_VERSION_1 | 1ull << VSND_VIRTIO_F_INDIRECT_DESC |
		     1ull << VSND_VIRTIO_F_EVENT_IDX;

	if (dev->controls)
		f |= 1ull << VSND_F_CTLS;
	return f;
}

void vsnd_dev_set_features(struct vsnd_dev *dev, uint64_t features)
{
	dev->features = features & vsnd_dev_features(dev);
}

size_t vsnd_dev_config_size(const struct vsnd_dev *dev)
{
	return dev->controls ? VIRTIO_SND_CONFIG_SIZE_CTLS : VIRTIO_SND_CONFIG_SIZE;
}

int vsnd_dev_config_read(const struct vsnd_dev *dev, uint32_t off, void *buf, uint32_t len)
{
	uint8_t cfg[VIRTIO_SND_CONFIG_SIZE_CTLS];
	size_t size = vsnd_dev_config_size(dev);

	if (off > size || len > size - off)
		return -EINVAL;
	vsnd_put_le32(cfg + 0, dev->layout.n_jacks);
	vsnd_put_le32(cfg + 4, dev->layout.n_streams);
	vsnd_put_le32(cfg + 8, dev->layout.n_chmaps);
	vsnd_put_le32(cfg + 12, vsnd__ctl_count(dev));
	memcpy(buf, cfg + off, len);
	return 0;
}

bool vsnd_dev_broken(const struct vsnd_dev *dev)
{
	return dev->broken;
}

void vsnd_dev_set_trace(struct vsnd_dev *dev, vsnd_trace_fn fn, void *opaque)
{
	dev->trace = fn;
	dev->trace_opaque = opaque;
}

/*
 * A new playback hook first gets what the backend has not taken from the
 * ring yet: "from now on" is from the frame the host plays next, not from
 * the next the device copies (it copies ahead of the host, by a period or
 * more). Reading behind the consumer is safe: only this thread writes.
 */
static void hook_unplayed(struct vsnd_dev *dev, struct pcm_stream *s)
{
	const struct vsnd_ring *r = &s->port.ring;
	uint32_t frame = s->port.params.frame_bytes;
	size_t chunk = sizeof(dev->bscratch) / frame * frame;
	uint64_t w = vsnd_ring_wpos(r), at = vsnd_ring_rpos(r);

	at += (frame - at % frame) % frame;
	while (at < w && s->hook) {
		size_t k = w - at < chunk ? (size_t)(w - at) : chunk;
		size_t off = (size_t)(at & (r->cap - 1)), first = r->cap - off < k ? r->cap - off : k;

		memcpy(dev->bscratch, r->buf + off, first);
		memcpy(dev->bscratch + first, r->buf, k - first);
		s->hook(s->hook_opaque, &s->port.params, dev->bscratch, k);
		at += k;
	}
}

int vsnd_dev_set_pcm_hook(struct vsnd_dev *dev, unsigned int stream, vsnd_pcm_hook_fn fn,
			  void *opaque)
{
	struct pcm_stream *s;

	if (stream >= dev->layout.n_streams)
		return -ENOENT;
	s = &dev->streams[stream];
	s->hook = fn;
	s->hook_opaque = fn ? opaque : NULL;
	if (fn && s->open && s->desc.direction == VSND_DIR_OUTPUT)
		hook_unplayed(dev, s);
	return 0;
}

/* ---- queues ---- */

static void control_pop(struct vsnd_dev *dev)
{
	struct vsnd_chain *c;
	int err = 0;

	for (unsigned int n = 0; n < VSND_POP_BATCH; n++) {
		err = dev->tops->pop(dev->topaque, VSND_QUEUE_CONTROL, &c);
		if (err)
			break;
		vsnd__dev_push(dev, VSND_QUEUE_CONTROL, c, vsnd__ctl_handle(dev, c));
	}
	if (err == -EIO)
		vsnd__dev_mark_broken(dev, VSND_QUEUE_CONTROL);
}

/* Move frames and complete messages for every running stream, then ask for
 * the next tick of the earliest clocked backend. */
static void service_streams(struct vsnd_dev *dev)
{
	uint64_t now = vsnd__dev_now(dev);
	uint64_t deadline = UINT64_MAX;

	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		if (!s->open || dev->qstopped[vsnd__io_queue(s)])
			continue;
		vsnd__io_service(dev, s, now);
		if (s->state == VSND_STATE_STARTED && !s->transport_paused &&
		    s->next_deadline < deadline)
			deadline = s->next_deadline;
	}
	dev->host->set_timer(dev->host_opaque, deadline);
}

static void dev_run(struct vsnd_dev *dev)
{
	if (dev->broken)
		return;
	service_streams(dev);
	vsnd__event_flush(dev);
	notify_pushed(dev);
}

void vsnd_dev_kick(struct vsnd_dev *dev, unsigned int q)
{
	if (dev->broken || q >= VSND_NUM_QUEUES)
		return;
	dev->qstopped[q] = false;
	switch (q) {
	case VSND_QUEUE_CONTROL:
		control_pop(dev);
		break;
	case VSND_QUEUE_TX:
	case VSND_QUEUE_RX:
		vsnd__io_pop_queue(dev, q);
		break;
	default:
		/* eventq buffers are taken when an event needs one */
		break;
	}
	dev_run(dev);
}

void vsnd_dev_process(struct vsnd_dev *dev)
{
	dev_run(dev);
}

void vsnd_dev_queue_stop(struct vsnd_dev *dev, unsigned int q)
{
	uint8_t dir = q == VSND_QUEUE_TX ? VSND_DIR_OUTPUT : VSND_DIR_INPUT;

	if (q >= VSND_NUM_QUEUES)
		return;
	/* Whatever was pushed before the stop must reach the driver now. */
	notify_pushed(dev);
	dev->qstopped[q] = true;
	if (q != VSND_QUEUE_TX && q != VSND_QUEUE_RX)
		return;
	/*
	 * The frontend cannot tell a VM pause from a reset. Completing every
	 * held buffer now breaks a paused aplay: on resume ALSA sees the whole
	 * buffer elapse at once and fails with EIO. So pause like a sound card
	 * does, and keep the buffers; a reset is detected when the rings come
	 * back fresh (docs/rings.md).
	 */
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		if (s->desc.direction != dir || !s->open)
			continue;
		if (s->state == VSND_STATE_STARTED && !s->transport_paused) {
			dev->backend->ops->stop(dev->backend, &s->port);
			s->transport_paused = true;
		}
	}
}

void vsnd_dev_reset(struct vsnd_dev *dev)
{
	vsnd__pcm_reset_all(dev);
	dev->events.count = 0;
	dev->events.head = 0;
	memset(dev->pushed, 0, sizeof(dev->pushed));
	memset(dev->qstopped, 0, sizeof(dev->qstopped));
	dev->features = 0;
	dev->broken = false;
	dev->host->set_timer(dev->host_opaque, UINT64_MAX);
}

unsigned int vsnd_dev_jack_count(const struct vsnd_dev *dev)
{
	return dev->layout.n_jacks;
}

int vsnd_dev_jack_get(const struct vsnd_dev *dev, unsigned int jack_id, bool *connected)
{
	if (jack_id >= dev->layout.n_jacks)
		return -ENOENT;
	*connected = dev->jack_connected[jack_id];
	return 0;
}

int vsnd_dev_jack_set(struct vsnd_dev *dev, unsigned int jack_id, bool connected)
{
	if (jack_id >= dev->layout.n_jacks)
		return -ENOENT;
	if (dev->jack_connected[jack_id] == connected)
		return 0;
	dev->jack_connected[jack_id] = connected;
	vsnd__event_queue(dev, connected ? VIRTIO_SND_EVT_JACK_CONNECTED : VIRTIO_SND_EVT_JACK_DISCONNECTED,
		    jack_id);
	vsnd__event_flush(dev);
	notify_pushed(dev);
	return 0;
}
