/* SPDX-License-Identifier: MIT */
#include "daemon/session.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/intercept.h"
#include "daemon/log.h"
#include "daemon/status.h"
#include "util/iov.h"
#include "vhost-user/vhost-user.h"
#include "virtq/vqset.h"

struct vd_session {
	struct vhu_dev *vhu;
	struct vsnd_dev *dev;
	struct vd_intercept *ic;        /* vsnd-ctl inject and tap */
	struct vsnd_vqset vqs;
	struct vd_session_config cfg;
	uint64_t features;              /* acked by the driver (no bit 30) */
	bool config_warned;
	bool broken_logged;
};

/* s_log passes levels through unchanged. */
_Static_assert((int)VHU_LOG_ERROR == (int)VSND_LOG_ERROR && (int)VHU_LOG_DEBUG == (int)VSND_LOG_DEBUG,
	       "vhu and vsnd log levels differ");

static void s_log(void *opaque, enum vhu_log_level level, const char *msg)
{
	/* The frontend decides how often these happen. */
	vd_log_limited((enum vsnd_log_level)level, msg);
}

static uint64_t s_get_features(void *opaque)
{
	struct vd_session *s = opaque;

	return vsnd_dev_features(s->dev);
}

static int s_set_features(void *opaque, uint64_t features)
{
	struct vd_session *s = opaque;

	s->features = features;
	vsnd_dev_set_features(s->dev, features);
	vd_log(VSND_LOG_DEBUG, "driver features 0x%llx", (unsigned long long)features);
	return 0;
}

/* Bytes past the device's config space read as 0 (the library zeroed buf):
 * QEMU with controls=on asks 16 bytes even when we offer no controls. */
static int s_get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	struct vd_session *s = opaque;
	size_t size = vsnd_dev_config_size(s->dev);

	if (off + (uint64_t)len > size && !s->config_warned) {
		s->config_warned = true;
		vd_log(VSND_LOG_WARN,
		       "frontend reads config bytes %u..%u, the device has %zu: does QEMU's "
		       "controls= match --controls?",
		       off, off + len, size);
	}
	if (off >= size)
		return 0;
	return vsnd_dev_config_read(s->dev, off, buf, (uint32_t)(len < size - off ? len : size - off));
}

/*
 * A control ring coming back fresh (next avail 0, used index 0 in memory)
 * means the driver reset the device; anything else is a resume after a
 * pause and keeps the stream states (docs/rings.md).
 */
static void detect_reset(struct vd_session *s, unsigned int q, const struct vhu_vring_info *info)
{
	if (q != VSND_QUEUE_CONTROL || info->last_avail != 0 ||
	    vsnd_le16((const uint8_t *)info->used + 2) != 0)
		return;
	vd_log(VSND_LOG_DEBUG, "fresh control ring: device reset");
	vsnd_dev_reset(s->dev);
	/* The chains held across the stop belonged to the old rings. */
	for (unsigned int i = 0; i < VSND_NUM_QUEUES; i++)
		vsnd__vqset_discard(&s->vqs, i);
	vhu_dev_release_retired(s->vhu);
	/* reset forgets the features; the driver's choice still stands */
	vsnd_dev_set_features(s->dev, s->features);
	s->broken_logged = false;
}

static int s_queue_start(void *opaque, unsigned int q, const struct vhu_vring_info *info)
{
	struct vd_session *s = opaque;
	int rc;

	detect_reset(s, q, info);
	rc = vsnd__vqset_start(&s->vqs, q, info->num, info->desc, info->avail, info->used,
			      vhu_dev_mem(s->vhu), s->features & (1ull << VSND_VIRTIO_F_EVENT_IDX),
			      s->features & (1ull << VSND_VIRTIO_F_INDIRECT_DESC), info->last_avail);
	if (rc < 0)
		return rc;
	vsnd__vqset_enable(&s->vqs, q, info->enabled);
	/* The driver posts event buffers without a kick: look now. */
	if (info->enabled)
		vsnd_dev_kick(s->dev, q);
	return 0;
}

static uint16_t s_queue_stop(void *opaque, unsigned int q)
{
	struct vd_session *s = opaque;

	/* The device pauses and keeps what it holds (a VM pause must not
	 * complete unplayed audio); a later fresh start means a reset. */
	vsnd_dev_queue_stop(s->dev, q);
	return vsnd__vqset_stop(&s->vqs, q);
}

static void s_queue_kick(void *opaque, unsigned int q)
{
	struct vd_session *s = opaque;

	vsnd_dev_kick(s->dev, q);
}

static void s_queue_enable(void *opaque, unsigned int q, bool on)
{
	struct vd_session *s = opaque;

	vsnd__vqset_enable(&s->vqs, q, on);
	if (on)
		vsnd_dev_kick(s->dev, q);
}

static bool s_mem_in_use(void *opaque, const void *start, size_t len)
{
	struct vd_session *s = opaque;

	return vsnd__vqset_holds(&s->vqs, start, len);
}

static void s_watch_kick(void *opaque, unsigned int q, int fd)
{
	struct vd_session *s = opaque;

	s->cfg.watch_kick(s->cfg.watch_opaque, q, fd);
}

static const struct vhu_ops session_vhu_ops = {
	.log = s_log,
	.get_features = s_get_features,
	.set_features = s_set_features,
	.get_config = s_get_config,
	.queue_start = s_queue_start,
	.queue_stop = s_queue_stop,
	.queue_kick = s_queue_kick,
	.queue_enable = s_queue_enable,
	.watch_kick = s_watch_kick,
	.mem_in_use = s_mem_in_use,
};

static void s_signal(void *opaque, unsigned int q)
{
	struct vd_session *s = opaque;
	int rc = vhu_dev_signal(s->vhu, q);

	if (rc < 0) {
		char msg[96];

		snprintf(msg, sizeof(msg), "queue %u: cannot signal the driver: %s", q, strerror(-rc));
		vd_log_limited(VSND_LOG_WARN, msg);
	}
}

int vd_session_new(struct vd_session **out, int sock, const struct vd_session_config *cfg)
{
	struct vd_session *s = calloc(1, sizeof(*s));
	struct vhu_config vcfg = { .num_queues = VSND_NUM_QUEUES, .ops = &session_vhu_ops };
	struct vsnd_dev_config dcfg = {
		.size = sizeof(struct vsnd_dev_config),
		.layout = cfg->layout, .backend = cfg->backend, .controls = cfg->controls,
		.host = cfg->host, .host_opaque = cfg->host_opaque,
		.transport = &vsnd__vqset_ops,
	};
	int rc;

	*out = NULL;
	if (!s) {
		close(sock);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	vcfg.opaque = s;
	dcfg.transport_opaque = &s->vqs;
	vsnd__vqset_init(&s->vqs, s_signal, s);
	rc = vhu_dev_new(&s->vhu, sock, &vcfg);
	if (rc < 0)
		goto err;
	rc = vsnd_dev_new(&s->dev, &dcfg);
	if (rc < 0) {
		vd_log(VSND_LOG_ERROR, "cannot create the sound device: %s", strerror(-rc));
		goto err;
	}
	rc = vd_intercept_new(&s->ic, s->dev);
	if (rc < 0)
		goto err;
	*out = s;
	return 0;
err:
	vd_session_free(s);
	return rc;
}

void vd_session_free(struct vd_session *s)
{
	if (!s)
		return;
	/* taps finalized and hooks gone while the device lives; then the
	 * device: it may still reference chains in the rings and memory */
	vd_intercept_free(s->ic);
	vsnd_dev_free(s->dev);
	vsnd__vqset_fini(&s->vqs);
	vhu_dev_free(s->vhu);
	free(s);
}

int vd_session_fd(const struct vd_session *s)
{
	return vhu_dev_fd(s->vhu);
}

static void check_broken(struct vd_session *s)
{
	if (s->broken_logged || !vsnd_dev_broken(s->dev))
		return;
	s->broken_logged = true;
	vd_log(VSND_LOG_ERROR, "the guest corrupted a virtqueue: device stopped until the driver "
			       "resets it");
}

int vd_session_handle_socket(struct vd_session *s)
{
	int rc = vhu_dev_handle_socket(s->vhu);

	check_broken(s);
	return rc;
}

void vd_session_handle_kick(struct vd_session *s, unsigned int q)
{
	vhu_dev_handle_kick(s->vhu, q);
	check_broken(s);
}

void vd_session_process(struct vd_session *s)
{
	vsnd_dev_process(s->dev);
	check_broken(s);
}

struct vsnd_dev *vd_session_dev(const struct vd_session *s)
{
	return s->dev;
}

struct vd_intercept *vd_session_intercept(const struct vd_session *s)
{
	return s->ic;
}

void vd_session_log_status(const struct vd_session *s)
{
	char text[8192], *save = NULL;

	/* The same text vsnd-ctl status shows, a log line per stream and jack. */
	vd_status_format(s->dev, s->ic, text, sizeof(text));
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		vd_log(VSND_LOG_INFO, "%s", line);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		struct vsnd__vqset_stats qs;

		if (vsnd__vqset_stats(&s->vqs, q, &qs) < 0)
			continue;
		vd_log(VSND_LOG_INFO,
		       "queue %u: %s, popped %llu, pushed %llu, discarded %llu, dropped %llu, "
		       "signals %llu",
		       q, vsnd__vqset_started(&s->vqs, q) ? "started" : "stopped",
		       (unsigned long long)qs.popped, (unsigned long long)qs.pushed,
		       (unsigned long long)qs.discarded, (unsigned long long)qs.dropped,
		       (unsigned long long)qs.signals);
	}
}
