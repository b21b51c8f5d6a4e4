/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio version 2 over the device model and the vqset rings. The
 * register file is parsed here; rings, chains and sound live in vqset and
 * the device. Guest writes are hostile: every value is checked, a bad one
 * is ignored and logged, never trusted.
 */
#include <vsnd/mmio.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "util/abi.h"
#include "virtq/vqset.h"

/* Register offsets (4.2.2). */
enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEV_FEATURES = 0x010, R_DEV_FEATURES_SEL = 0x014,
	R_DRV_FEATURES = 0x020, R_DRV_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038,
	R_QUEUE_READY = 0x044, R_QUEUE_NOTIFY = 0x050,
	R_INT_STATUS = 0x060, R_INT_ACK = 0x064, R_STATUS = 0x070,
	R_QUEUE_DESC_LO = 0x080, R_QUEUE_DESC_HI = 0x084,
	R_QUEUE_DRIVER_LO = 0x090, R_QUEUE_DRIVER_HI = 0x094,
	R_QUEUE_DEVICE_LO = 0x0a0, R_QUEUE_DEVICE_HI = 0x0a4,
	R_SHM_SEL = 0x0ac, R_SHM_LEN_LO = 0x0b0, R_SHM_LEN_HI = 0x0b4,
	R_SHM_BASE_LO = 0x0b8, R_SHM_BASE_HI = 0x0bc,
	R_CONFIG_GEN = 0x0fc, R_CONFIG = 0x100,
};

#define MMIO_MAGIC 0x74726976u /* "virt" */
#define MMIO_VERSION 2u
#define INT_VRING 0x1u

/* Device status bits (2.1). */
#define S_FEATURES_OK 8u
#define S_NEEDS_RESET 64u

struct mmio_queue {
	uint32_t num;
	bool ready;
	uint64_t desc, driver, device;
};

struct vsnd_mmio {
	struct vsnd_dev *dev;
	struct vsnd_vqset vqs;
	struct vsnd_mmio_config cfg;
	struct virtq_mem mem;
	uint32_t dev_features_sel, drv_features_sel, queue_sel;
	uint64_t drv_features;
	uint32_t status, isr;
	struct mmio_queue q[VSND_NUM_QUEUES];
};

__attribute__((format(printf, 2, 3)))
static void mmio_log(struct vsnd_mmio *m, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!m->cfg.host || !m->cfg.host->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->cfg.host->log(m->cfg.host_opaque, VSND_LOG_WARN, msg);
}

static void mmio_signal(void *opaque, unsigned int q)
{
	struct vsnd_mmio *m = opaque;

	m->isr |= INT_VRING;
	m->cfg.ops->set_irq(m->cfg.opaque, true);
}

/* The caller's structs by the size rule (vsnd.h, "ABI"); the host ops are
 * checked by vsnd_dev_new(). */
static int config_check(const struct vsnd_mmio_config *cfg)
{
	int rc = VSND__ABI_CHECK(cfg, VSND__SIZE1_MMIO_CONFIG);

	if (rc)
		return rc;
	if (!cfg->ops || !cfg->host)
		return -EINVAL;
	rc = VSND__ABI_CHECK(cfg->ops, VSND__SIZE1_MMIO_OPS);
	if (rc)
		return rc;
	return cfg->ops->translate && cfg->ops->set_irq ? 0 : -EINVAL;
}

int vsnd_mmio_new(struct vsnd_mmio **out, const struct vsnd_mmio_config *cfg)
{
	struct vsnd_mmio *m;
	struct vsnd_dev_config dcfg;
	int rc;

	*out = NULL;
	rc = config_check(cfg);
	if (rc)
		return rc;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	/* an older caller's struct is shorter: the rest stays 0 */
	memcpy(&m->cfg, cfg, vsnd__abi_len(cfg, sizeof(m->cfg)));
	if (!m->cfg.vendor_id)
		m->cfg.vendor_id = VSND_MMIO_VENDOR_ID;
	m->mem.translate = cfg->ops->translate;
	m->mem.opaque = cfg->opaque;
	rc = vsnd__vqset_init(&m->vqs, mmio_signal, m);
	if (rc < 0)
		goto err;
	dcfg = (struct vsnd_dev_config){
		.size = sizeof(dcfg), .layout = cfg->layout, .backend = cfg->backend, .controls = cfg->controls,
		.host = cfg->host, .host_opaque = cfg->host_opaque,
		.transport = &vsnd__vqset_ops, .transport_opaque = &m->vqs,
	};
	rc = vsnd_dev_new(&m->dev, &dcfg);
	if (rc < 0)
		goto err;
	*out = m;
	return 0;
err:
	vsnd_mmio_free(m);
	return rc;
}

void vsnd_mmio_free(struct vsnd_mmio *m)
{
	if (!m)
		return;
	/* the device first: it may hold chains that point into the rings */
	vsnd_dev_free(m->dev);
	vsnd__vqset_fini(&m->vqs);
	free(m);
}

struct vsnd_dev *vsnd_mmio_dev(struct vsnd_mmio *m)
{
	return m->dev;
}

void vsnd_mmio_process(struct vsnd_mmio *m)
{
	vsnd_dev_process(m->dev);
}

/* Status 0: forget the driver, its rings and everything it held. */
static void mmio_reset(struct vsnd_mmio *m)
{
	vsnd_dev_reset(m->dev);
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		if (vsnd__vqset_started(&m->vqs, q))
			vsnd__vqset_stop(&m->vqs, q);
		vsnd__vqset_discard(&m->vqs, q);
	}
	memset(m->q, 0, sizeof(m->q));
	m->dev_features_sel = m->drv_features_sel = m->queue_sel = 0;
	m->drv_features = 0;
	m->status = 0;
	if (m->isr) {
		m->isr = 0;
		m->cfg.ops->set_irq(m->cfg.opaque, false);
	}
}

/* A ring part must be one contiguous piece of host memory. */
static void *ring_part(struct vsnd_mmio *m, uint64_t gpa, uint64_t len, bool is_write)
{
	uint64_t avail = 0;
	void *p = m->cfg.ops->translate(m->cfg.opaque, gpa, len, &avail, is_write);

	return p && avail >= len ? p : NULL;
}

static void queue_ready(struct vsnd_mmio *m, unsigned int qi, bool on)
{
	struct mmio_queue *q = &m->q[qi];
	void *desc, *avail, *used;
	int rc;

	if (!on) {
		if (q->ready) {
			vsnd_dev_queue_stop(m->dev, qi);
			vsnd__vqset_stop(&m->vqs, qi);
		}
		q->ready = false;
		return;
	}
	if (q->ready)
		return;
	desc = ring_part(m, q->desc, 16ull * q->num, false);
	avail = ring_part(m, q->driver, 6ull + 2ull * q->num, false);
	used = ring_part(m, q->device, 6ull + 8ull * q->num, true);
	if (!q->num || !desc || !avail || !used) {
		mmio_log(m, "virtio-mmio: queue %u: ring of %u not in guest RAM", qi, q->num);
		return;
	}
	rc = vsnd__vqset_start(&m->vqs, qi, q->num, desc, avail, used, &m->mem,
			      m->drv_features & (1ull << VSND_VIRTIO_F_EVENT_IDX),
			      m->drv_features & (1ull << VSND_VIRTIO_F_INDIRECT_DESC), 0);
	if (rc < 0) {
		mmio_log(m, "virtio-mmio: queue %u: cannot start: %s", qi, strerror(-rc));
		return;
	}
	vsnd__vqset_enable(&m->vqs, qi, true);
	q->ready = true;
	vsnd_dev_kick(m->dev, qi);
}

static void set_status(struct vsnd_mmio *m, uint32_t v)
{
	uint64_t offered = vsnd_dev_features(m->dev);

	if (v == 0) {
		mmio_reset(m);
		return;
	}
	/* FEATURES_OK stays set only for a subset of ours with VERSION_1
	 * (a virtio-mmio v2 driver must accept it) */
	if ((v & S_FEATURES_OK) && !(m->status & S_FEATURES_OK)) {
		if ((m->drv_features & ~offered) ||
		    !(m->drv_features & (1ull << VSND_VIRTIO_F_VERSION_1))) {
			mmio_log(m, "virtio-mmio: driver features 0x%llx refused",
				 (unsigned long long)m->drv_features);
			v &= ~S_FEATURES_OK;
		} else {
			vsnd_dev_set_features(m->dev, m->drv_features);
		}
	}
	m->status = v & ~S_NEEDS_RESET;
}

static uint32_t config_read(struct vsnd_mmio *m, uint64_t off, unsigned int size)
{
	uint8_t b[4] = { 0 };

	if (off >= vsnd_dev_config_size(m->dev) || size > 4)
		return 0;
	vsnd_dev_config_read(m->dev, (uint32_t)off, b, size);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t queue_reg(const struct vsnd_mmio *m, uint64_t off)
{
	const struct mmio_queue *q = &m->q[m->queue_sel];

	switch (off) {
	case R_QUEUE_NUM_MAX: return VSND_MMIO_QUEUE_NUM_MAX;
	case R_QUEUE_READY: return q->ready;
	case R_QUEUE_DESC_LO: return (uint32_t)q->desc;
	case R_QUEUE_DESC_HI: return (uint32_t)(q->desc >> 32);
	case R_QUEUE_DRIVER_LO: return (uint32_t)q->driver;
	case R_QUEUE_DRIVER_HI: return (uint32_t)(q->driver >> 32);
	case R_QUEUE_DEVICE_LO: return (uint32_t)q->device;
	case R_QUEUE_DEVICE_HI: return (uint32_t)(q->device >> 32);
	default: return 0;
	}
}

uint32_t vsnd_mmio_read(struct vsnd_mmio *m, uint64_t offset, unsigned int size)
{
	uint64_t f = vsnd_dev_features(m->dev);

	if (offset >= R_CONFIG)
		return config_read(m, offset - R_CONFIG, size);
	if (size != 4 || (offset & 3))
		return 0;
	switch (offset) {
	case R_MAGIC: return MMIO_MAGIC;
	case R_VERSION: return MMIO_VERSION;
	case R_DEVICE_ID: return VIRTIO_ID_SOUND;
	case R_VENDOR_ID: return m->cfg.vendor_id;
	case R_DEV_FEATURES:
		return m->dev_features_sel == 0 ? (uint32_t)f
		       : m->dev_features_sel == 1 ? (uint32_t)(f >> 32) : 0;
	case R_INT_STATUS: return m->isr;
	case R_STATUS:
		return m->status | (vsnd_dev_broken(m->dev) ? S_NEEDS_RESET : 0);
	case R_SHM_LEN_LO: case R_SHM_LEN_HI:
	case R_SHM_BASE_LO: case R_SHM_BASE_HI:
		return 0xffffffffu; /* no shared memory regions */
	case R_CONFIG_GEN: return 0; /* the config never changes under the driver */
	default:
		return m->queue_sel < VSND_NUM_QUEUES ? queue_reg(m, offset) : 0;
	}
}

static void set_u64_half(uint64_t *v, bool high, uint32_t half)
{
	*v = high ? (*v & 0xffffffffull) | (uint64_t)half << 32
		  : (*v & ~0xffffffffull) | half;
}

/* Queue layout registers: only while the queue is not ready (4.2.3.2). */
static void queue_write(struct vsnd_mmio *m, uint64_t offset, uint32_t v)
{
	struct mmio_queue *q;

	if (m->queue_sel >= VSND_NUM_QUEUES) {
		mmio_log(m, "virtio-mmio: write 0x%03llx for queue %u (no such queue)",
			 (unsigned long long)offset, m->queue_sel);
		return;
	}
	q = &m->q[m->queue_sel];
	if (offset == R_QUEUE_READY) {
		queue_ready(m, m->queue_sel, v & 1);
		return;
	}
	if (q->ready) {
		mmio_log(m, "virtio-mmio: queue %u changed while ready", m->queue_sel);
		return;
	}
	switch (offset) {
	case R_QUEUE_NUM:
		q->num = v <= VSND_MMIO_QUEUE_NUM_MAX ? v : 0;
		break;
	case R_QUEUE_DESC_LO: case R_QUEUE_DESC_HI:
		set_u64_half(&q->desc, offset == R_QUEUE_DESC_HI, v);
		break;
	case R_QUEUE_DRIVER_LO: case R_QUEUE_DRIVER_HI:
		set_u64_half(&q->driver, offset == R_QUEUE_DRIVER_HI, v);
		break;
	case R_QUEUE_DEVICE_LO: case R_QUEUE_DEVICE_HI:
		set_u64_half(&q->device, offset == R_QUEUE_DEVICE_HI, v);
		break;
	default:
		mmio_log(m, "virtio-mmio: write to read-only or unknown register 0x%03llx",
			 (unsigned long long)offset);
	}
}

void vsnd_mmio_write(struct vsnd_mmio *m, uint64_t offset, uint32_t v, unsigned int size)
{
	if (offset >= R_CONFIG || size != 4 || (offset & 3)) {
		/* the sound config space is read-only */
		mmio_log(m, "virtio-mmio: ignored %u-byte write at 0x%llx", size,
			 (unsigned long long)offset);
		return;
	}
	switch (offset) {
	case R_DEV_FEATURES_SEL: m->dev_features_sel = v; break;
	case R_DRV_FEATURES_SEL: m->drv_features_sel = v; break;
	case R_DRV_FEATURES:
		if (m->drv_features_sel < 2 && !(m->status & S_FEATURES_OK))
			set_u64_half(&m->drv_features, m->drv_features_sel == 1, v);
		break;
	case R_QUEUE_SEL: m->queue_sel = v; break;
	case R_QUEUE_NOTIFY:
		if (v < VSND_NUM_QUEUES && m->q[v].ready)
			vsnd_dev_kick(m->dev, v);
		break;
	case R_INT_ACK:
		m->isr &= ~v;
		if (!m->isr)
			m->cfg.ops->set_irq(m->cfg.opaque, false);
		break;
	case R_STATUS: set_status(m, v); break;
	case R_SHM_SEL: break;
	default: queue_write(m, offset, v); break;
	}
}
