/* SPDX-License-Identifier: MIT */
/*
 * The public entry points of the device (every vsnd_dev_* of <vsnd/vsnd.h>)
 * and the top-level dispatch they share: a kick or a timer runs the queue's
 * handler, services the streams, then delivers the events that work queued
 * and notifies the driver once per queue. Each entry point is a thin shell
 * over the layer that does the work; nothing below calls back up here.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "util/abi.h"
#include "util/iov.h"
#include "vsnd/pcm.h"

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
	dev->kick_ctl = vsnd__abi_len(dev->tops, sizeof(*dev->tops)) ==
			sizeof(*dev->tops) && dev->tops->set_kicks;
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
		dev->jack_connected[i] = dev->jack_plugged[i] = dev->layout.jacks[i].connected;
	dev->jack_forget_next = UINT64_MAX;
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

void vsnd_dev_set_state_trace(struct vsnd_dev *dev, vsnd_state_trace_fn fn, void *opaque)
{
	dev->state_trace = fn;
	dev->state_trace_opaque = opaque;
}

int vsnd_dev_set_pcm_hook(struct vsnd_dev *dev, unsigned int stream, vsnd_pcm_hook_fn fn,
			  void *opaque)
{
	if (stream >= dev->layout.n_streams)
		return -ENOENT;
	vsnd__io_hook_set(dev, &dev->streams[stream], fn, opaque);
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

/* Move frames and complete messages for every running stream. Returns
 * when the earliest clocked backend (or a jack, jack.c) wants its next
 * tick. */
static uint64_t service_streams(struct vsnd_dev *dev, uint64_t now)
{
	uint64_t deadline = vsnd__jack_tick(dev, now);

	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		if (!s->open || dev->qstopped[vsnd__io_queue_index(s)])
			continue;
		vsnd__io_service(dev, s, now);
		if (s->state == VSND_STATE_STARTED && !s->transport_paused &&
		    s->next_deadline < deadline)
			deadline = s->next_deadline;
	}
	return deadline;
}

/* Events queued by the work just done (jacks, xruns, controls) go out after
 * it, never in the middle of it; then one notify per queue. */
static void dev_deliver(struct vsnd_dev *dev)
{
	vsnd__event_flush(dev);
	vsnd__dev_notify(dev);
}

/*
 * One wake: first the buffers a quiet (kickless) queue got since the last
 * wake, so a tick that runs late can still play the newest of them (it
 * copies ahead what the lead did not cover, prefill_late in io.c); then
 * the streams' ticks and completions, the driver's notification, and only
 * then the timer for the next wake: the notification waits for no re-arm,
 * which is a system call and on a VM a hypervisor exit.
 */
static void dev_run(struct vsnd_dev *dev)
{
	uint64_t now, deadline;

	if (dev->broken)
		return;
	vsnd__io_poll_quiet(dev);
	now = vsnd__dev_now(dev);
	deadline = service_streams(dev, now);
	if (vsnd__io_choose_kicks(dev))
		deadline = service_streams(dev, now); /* the same instant: the new buffers */
	dev_deliver(dev);
	dev->host->set_timer(dev->host_opaque, deadline);
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
	if (q >= VSND_NUM_QUEUES)
		return;
	/* Whatever was pushed before the stop must reach the driver now. */
	vsnd__dev_notify(dev);
	dev->qstopped[q] = true;
	dev->kicks_off[q] = false; /* a ring that starts again asks for kicks */
	if (q == VSND_QUEUE_TX || q == VSND_QUEUE_RX)
		vsnd__io_pause(dev, q);
}

void vsnd_dev_reset(struct vsnd_dev *dev)
{
	vsnd__pcm_reset_all(dev);
	vsnd__event_reset(dev);
	memset(dev->pushed, 0, sizeof(dev->pushed));
	memset(dev->qstopped, 0, sizeof(dev->qstopped));
	memset(dev->kicks_off, 0, sizeof(dev->kicks_off));
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
	int err = vsnd__jack_set(dev, jack_id, connected);

	if (err)
		return err;
	dev_deliver(dev);
	return 0;
}

/* ---- controls and status ---- */

/* A host-side control change that succeeded: run due work, which delivers
 * its event (as a kick would). */
static int run_if_ok(struct vsnd_dev *dev, int err)
{
	if (!err)
		dev_run(dev);
	return err;
}

int vsnd_dev_volume_set(struct vsnd_dev *dev, unsigned int stream, int volume)
{
	return run_if_ok(dev, vsnd__ctl_volume_set(dev, stream, volume));
}

int vsnd_dev_mute_set(struct vsnd_dev *dev, unsigned int stream, bool muted)
{
	return run_if_ok(dev, vsnd__ctl_mute_set(dev, stream, muted));
}

unsigned int vsnd_dev_stream_count(const struct vsnd_dev *dev)
{
	return dev->layout.n_streams;
}

int vsnd_dev_stream_status(const struct vsnd_dev *dev, unsigned int id, struct vsnd_stream_status *st)
{
	struct vsnd_stream_status all = { .size = sizeof(all) };

	if (id >= dev->layout.n_streams)
		return -ENOENT;
	if (!st || st->size < VSND__SIZE1_STREAM_STATUS)
		return -EINVAL;
	vsnd__pcm_status(dev, &dev->streams[id], &all);
	/* an older caller gets the members its struct has */
	memcpy((char *)st + sizeof(st->size), (char *)&all + sizeof(all.size),
	       vsnd__abi_len(st, sizeof(all)) - sizeof(all.size));
	return 0;
}
