/* SPDX-License-Identifier: MIT */
/*
 * vhost-user back-end: connection state, ring bookkeeping, the request
 * table and handlers, and serving the socket. Below it: the socket's bytes
 * in msg.c, the memory table in mem.c.
 */
#include "vhost-user/vhost-user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhost-user/internal.h"

#define PF_BIT (1ull << VHU_F_PROTOCOL_FEATURES)

/* Messages served per call, so one busy frontend cannot starve the loop. */
#define VHU_BATCH 64

/* Everything we implement, and nothing else: QEMU acks the intersection. */
#define VHU_PROTOCOL_FEATURES                                                 \
	((1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG) | \
	 (1ull << VHU_PF_CONFIGURE_MEM_SLOTS))

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -1 : 0;
}

static void *mem_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail,
			   bool is_write)
{
	struct vhu_dev *d = opaque;

	(void)is_write; /* every region is mapped read-write */
	return vhu_mem_gpa(&d->mem, gpa, len, avail);
}

int vhu_dev_new(struct vhu_dev **out, int sock, const struct vhu_config *cfg)
{
	struct vhu_dev *d;

	*out = NULL;
	if (!cfg || !cfg->ops || cfg->num_queues == 0 || cfg->num_queues > VHU_MAX_QUEUES)
		goto err_inval;
	d = calloc(1, sizeof(*d));
	if (!d) {
		close(sock);
		return -ENOMEM;
	}
	d->sock = sock;
	d->cfg = *cfg;
	vhu_mem_init(&d->mem);
	d->vmem.translate = mem_translate;
	d->vmem.opaque = d;
	for (unsigned int q = 0; q < VHU_MAX_QUEUES; q++) {
		d->vq[q].kick_fd = -1;
		d->vq[q].call_fd = -1;
		d->vq[q].err_fd = -1;
	}
	for (unsigned int i = 0; i < VHU_MAX_FDS; i++)
		d->rx.fds[i] = -1;
	/* Never block the caller's loop on a slow or stalled frontend. */
	if (set_nonblock(sock) < 0) {
		vhu_dev_free(d);
		return -EINVAL;
	}
	*out = d;
	return 0;
err_inval:
	if (sock >= 0)
		close(sock);
	return -EINVAL;
}

void vhu_dev_free(struct vhu_dev *d)
{
	if (!d)
		return;
	for (unsigned int q = 0; q < VHU_MAX_QUEUES; q++) {
		close_fd(&d->vq[q].kick_fd);
		close_fd(&d->vq[q].call_fd);
		close_fd(&d->vq[q].err_fd);
	}
	vhu_rx_reset(&d->rx);
	vhu_mem_fini(&d->mem);
	close_fd(&d->sock);
	free(d);
}

int vhu_dev_fd(const struct vhu_dev *d)
{
	return d->sock;
}

const struct virtq_mem *vhu_dev_mem(const struct vhu_dev *d)
{
	return &d->vmem;
}

uint64_t vhu_dev_features(const struct vhu_dev *d)
{
	return d->features;
}

/* ---- rings ---------------------------------------------------------- */

static bool ring_enabled(const struct vhu_dev *d, const struct vhu_vring *vr)
{
	/* Without protocol features there is no SET_VRING_ENABLE: a ring runs
	 * as soon as it is started. */
	return vr->enabled || !(d->features & PF_BIT);
}

static bool any_started(const struct vhu_dev *d)
{
	for (unsigned int q = 0; q < d->cfg.num_queues; q++)
		if (d->vq[q].started)
			return true;
	return false;
}

static bool never_in_use(void *opaque, const void *start, size_t len)
{
	(void)opaque;
	(void)start;
	(void)len;
	return false;
}

/*
 * Retired mappings may hold ring parts, and buffers the device keeps across
 * a ring stop (a VM pause): only the owner knows when nothing points into
 * them (vhu_dev_release_retired() after a device reset). When the retired
 * table is nearly full and no ring runs, the ones the device holds nothing
 * in go; if that frees too little, the table change fails (-ENOSPC) rather
 * than pull memory from under a parked buffer.
 */
static void release_if_crowded(struct vhu_dev *d)
{
	const struct vhu_ops *ops = d->cfg.ops;
	unsigned int released;

	if (d->mem.n_retired + VHU_MEMTABLE_MAX_REGIONS + 1 <= VHU_MAX_RETIRED || any_started(d))
		return;
	released = vhu_mem_release_unused(&d->mem, ops->mem_in_use ? ops->mem_in_use : never_in_use,
					  d->cfg.opaque);
	vhu_logf(d, VHU_LOG_WARN, "released %u retired memory mappings, %u still in use", released,
		 d->mem.n_retired);
}

void vhu_dev_release_retired(struct vhu_dev *d)
{
	if (!any_started(d))
		vhu_mem_release_retired(&d->mem);
}

static int ring_translate(struct vhu_dev *d, unsigned int q, struct vhu_vring_info *info)
{
	const struct vhu_vring *vr = &d->vq[q];
	uint64_t num = vr->num;

	info->desc = vhu_mem_uva(&d->mem, vr->desc_uva, 16 * num);
	info->avail = vhu_mem_uva(&d->mem, vr->avail_uva, 6 + 2 * num);
	info->used = vhu_mem_uva(&d->mem, vr->used_uva, 6 + 8 * num);
	if (!info->desc || !info->avail || !info->used) {
		vhu_logf(d, VHU_LOG_ERROR,
			 "queue %u: ring (desc 0x%llx avail 0x%llx used 0x%llx, size %u) is outside guest memory",
			 q, (unsigned long long)vr->desc_uva, (unsigned long long)vr->avail_uva,
			 (unsigned long long)vr->used_uva, vr->num);
		return -EINVAL;
	}
	return 0;
}

/* A ring starts once it has a size, addresses and a kick (fd or polling). */
static int ring_try_start(struct vhu_dev *d, unsigned int q)
{
	struct vhu_vring *vr = &d->vq[q];
	struct vhu_vring_info info;
	int rc;

	if (vr->started || !vr->kick_set || !vr->has_addr || vr->num == 0)
		return 0;
	rc = ring_translate(d, q, &info);
	if (rc < 0)
		return rc;
	info.num = vr->num;
	info.last_avail = vr->base;
	info.enabled = ring_enabled(d, vr);
	rc = d->cfg.ops->queue_start(d->cfg.opaque, q, &info);
	if (rc < 0) {
		vhu_logf(d, VHU_LOG_ERROR, "queue %u: device refused to start it (%s)", q,
			 strerror(-rc));
		return rc;
	}
	vr->started = true;
	vhu_logf(d, VHU_LOG_DEBUG, "queue %u started: size %u, avail index %u, %s", q, vr->num,
		 vr->base, info.enabled ? "enabled" : "disabled");
	if (vr->kick_fd >= 0)
		d->cfg.ops->watch_kick(d->cfg.opaque, q, vr->kick_fd);
	else
		vhu_logf(d, VHU_LOG_WARN, "queue %u: no kick fd, the frontend expects polling", q);
	return 0;
}

static void drop_kick(struct vhu_dev *d, unsigned int q)
{
	struct vhu_vring *vr = &d->vq[q];

	if (vr->started && vr->kick_fd >= 0)
		d->cfg.ops->watch_kick(d->cfg.opaque, q, -1);
	close_fd(&vr->kick_fd);
}

static void ring_stop(struct vhu_dev *d, unsigned int q)
{
	struct vhu_vring *vr = &d->vq[q];

	if (!vr->started)
		return;
	vr->base = d->cfg.ops->queue_stop(d->cfg.opaque, q);
	drop_kick(d, q);
	vr->started = false;
	vr->kick_set = false;
	vhu_logf(d, VHU_LOG_DEBUG, "queue %u stopped at avail index %u", q, vr->base);
}

static void ring_set_enabled(struct vhu_dev *d, unsigned int q, bool on)
{
	struct vhu_vring *vr = &d->vq[q];
	bool was = ring_enabled(d, vr);

	bool now;

	vr->enabled = on;
	now = ring_enabled(d, vr);
	if (vr->started && now != was)
		d->cfg.ops->queue_enable(d->cfg.opaque, q, now);
}

void vhu_dev_handle_kick(struct vhu_dev *d, unsigned int q)
{
	struct vhu_vring *vr;
	uint64_t v;
	ssize_t n;

	if (q >= d->cfg.num_queues || d->vq[q].kick_fd < 0)
		return;
	vr = &d->vq[q];
	do
		n = read(vr->kick_fd, &v, sizeof(v));
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n <= 0) {
		/* EOF or error: a level-triggered watch would spin on it. */
		vhu_logf(d, VHU_LOG_WARN, "queue %u: kick fd is dead (%s); no longer watched", q,
			 n == 0 ? "EOF" : strerror(errno));
		drop_kick(d, q);
		return;
	}
	if (vr->started && ring_enabled(d, vr))
		d->cfg.ops->queue_kick(d->cfg.opaque, q);
}

int vhu_dev_signal(struct vhu_dev *d, unsigned int q)
{
	uint64_t one = 1;
	ssize_t n;

	if (q >= d->cfg.num_queues || d->vq[q].call_fd < 0)
		return 0;
	do
		n = write(d->vq[q].call_fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
	if (n == sizeof(one) || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
		return 0;
	return n < 0 ? -errno : -EIO;
}

/* ---- request handlers ----------------------------------------------- */

static int want_fds(struct vhu_dev *d, const struct vhu_msg *m, unsigned int n)
{
	if (m->nfds == n)
		return 0;
	vhu_logf(d, VHU_LOG_ERROR, "%s: %u fds attached, expected %u", m->info->name, m->nfds, n);
	return -EINVAL;
}

static int queue_index(struct vhu_dev *d, const struct vhu_msg *m, uint32_t idx)
{
	if (idx < d->cfg.num_queues)
		return 0;
	vhu_logf(d, VHU_LOG_ERROR, "%s: queue index %u out of range (%u queues)", m->info->name,
		 idx, d->cfg.num_queues);
	return -EINVAL;
}

static int ring_idle(struct vhu_dev *d, const struct vhu_msg *m, uint32_t idx)
{
	int rc = queue_index(d, m, idx);

	if (rc == 0 && d->vq[idx].started) {
		vhu_logf(d, VHU_LOG_ERROR, "%s: queue %u is running", m->info->name, idx);
		rc = -EBUSY;
	}
	return rc;
}

static uint64_t offered_features(struct vhu_dev *d)
{
	return d->cfg.ops->get_features(d->cfg.opaque) | PF_BIT;
}

static int h_get_features(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_send_u64(d, m->request, offered_features(d));
}

static int h_set_features(struct vhu_dev *d, struct vhu_msg *m)
{
	uint64_t f = vhu_rd64(m->payload);
	uint64_t extra = f & ~offered_features(d);
	bool was[VHU_MAX_QUEUES];
	int rc;

	if (extra) {
		vhu_logf(d, VHU_LOG_ERROR, "SET_FEATURES: bits 0x%llx were not offered",
			 (unsigned long long)extra);
		return -EINVAL;
	}
	rc = d->cfg.ops->set_features(d->cfg.opaque, f & ~PF_BIT);
	if (rc < 0)
		return rc;
	for (unsigned int q = 0; q < d->cfg.num_queues; q++)
		was[q] = ring_enabled(d, &d->vq[q]);
	d->features = f;
	for (unsigned int q = 0; q < d->cfg.num_queues; q++) {
		bool now = ring_enabled(d, &d->vq[q]);

		if (d->vq[q].started && now != was[q])
			d->cfg.ops->queue_enable(d->cfg.opaque, q, now);
	}
	return 0;
}

static int h_get_protocol_features(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_send_u64(d, m->request, VHU_PROTOCOL_FEATURES);
}

static int h_set_protocol_features(struct vhu_dev *d, struct vhu_msg *m)
{
	uint64_t f = vhu_rd64(m->payload);

	if (f & ~VHU_PROTOCOL_FEATURES) {
		vhu_logf(d, VHU_LOG_ERROR, "SET_PROTOCOL_FEATURES: bits 0x%llx were not offered",
			 (unsigned long long)(f & ~VHU_PROTOCOL_FEATURES));
		return -EINVAL;
	}
	d->protocol_features = f;
	return 0;
}

static int h_nothing(struct vhu_dev *d, struct vhu_msg *m)
{
	/* SET_OWNER marks a session start, RESET_OWNER is deprecated and the
	 * spec recommends ignoring it: no state to touch for either. */
	vhu_logf(d, VHU_LOG_DEBUG, "%s", m->info->name);
	return 0;
}

static int h_get_queue_num(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_send_u64(d, m->request, d->cfg.num_queues);
}

static int h_get_max_mem_slots(struct vhu_dev *d, struct vhu_msg *m)
{
	return vhu_send_u64(d, m->request, VHU_MAX_MEM_SLOTS);
}

static void parse_region(const uint8_t *p, struct vhu_region_desc *r)
{
	r->gpa = vhu_rd64(p);
	r->size = vhu_rd64(p + 8);
	r->uva = vhu_rd64(p + 16);
	r->mmap_offset = vhu_rd64(p + 24);
}

static void log_region(struct vhu_dev *d, const char *what, const struct vhu_region_desc *r)
{
	vhu_logf(d, VHU_LOG_DEBUG, "%s: gpa 0x%llx size 0x%llx uva 0x%llx offset 0x%llx", what,
		 (unsigned long long)r->gpa, (unsigned long long)r->size,
		 (unsigned long long)r->uva, (unsigned long long)r->mmap_offset);
}

static struct vhu_mem_log mem_log(struct vhu_dev *d)
{
	return (struct vhu_mem_log){ .fn = vhu_logf, .opaque = d };
}

static int h_set_mem_table(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_region_desc r[VHU_MEMTABLE_MAX_REGIONS] = { 0 };
	struct vhu_mem_log log = mem_log(d);
	uint32_t n;
	int rc;

	if (m->size < VHU_MEMTABLE_HDR)
		goto bad_size;
	n = vhu_rd32(m->payload);
	if (n > VHU_MEMTABLE_MAX_REGIONS || m->size != VHU_MEMTABLE_HDR + n * VHU_REGION_SIZE)
		goto bad_size;
	rc = want_fds(d, m, n);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		parse_region(m->payload + VHU_MEMTABLE_HDR + i * VHU_REGION_SIZE, &r[i]);
	release_if_crowded(d);
	rc = vhu_mem_set_table(&d->mem, r, m->fds, n, &log);
	if (rc < 0)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		log_region(d, "SET_MEM_TABLE", &r[i]);
	return 0;
bad_size:
	vhu_logf(d, VHU_LOG_ERROR, "SET_MEM_TABLE: payload of %u bytes does not hold a valid table",
		 m->size);
	return -EINVAL;
}

static int h_add_mem_reg(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_mem_log log = mem_log(d);
	struct vhu_region_desc r;
	int rc = want_fds(d, m, 1);

	if (rc < 0)
		return rc;
	parse_region(m->payload + 8, &r);
	rc = vhu_mem_add(&d->mem, &r, m->fds[0], &log);
	if (rc == 0)
		log_region(d, "ADD_MEM_REG", &r);
	return rc;
}

static int h_rem_mem_reg(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_mem_log log = mem_log(d);
	struct vhu_region_desc r;
	int rc;

	/* The spec lets old frontends attach an fd here; it is just closed. */
	parse_region(m->payload + 8, &r);
	release_if_crowded(d);
	rc = vhu_mem_remove(&d->mem, &r, &log);
	if (rc == 0)
		log_region(d, "REM_MEM_REG", &r);
	return rc;
}

static int h_set_vring_num(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx = vhu_rd32(m->payload), num = vhu_rd32(m->payload + 4);
	int rc = ring_idle(d, m, idx);

	if (rc < 0)
		return rc;
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1))) {
		vhu_logf(d, VHU_LOG_ERROR, "SET_VRING_NUM: queue %u size %u is not a power of two <= %u",
			 idx, num, VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	d->vq[idx].num = num;
	return 0;
}

static int h_set_vring_base(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx = vhu_rd32(m->payload), num = vhu_rd32(m->payload + 4);
	int rc = ring_idle(d, m, idx);

	if (rc < 0)
		return rc;
	if (num > UINT16_MAX) {
		/* Split rings have a 16-bit index; the upper bits are for packed rings. */
		vhu_logf(d, VHU_LOG_ERROR, "SET_VRING_BASE: queue %u base 0x%x has upper bits set",
			 idx, num);
		return -EINVAL;
	}
	d->vq[idx].base = (uint16_t)num;
	return 0;
}

static int check_ring_align(struct vhu_dev *d, uint32_t idx, uint64_t desc, uint64_t avail,
			    uint64_t used)
{
	/* Split-ring alignment (VirtIO 1.3, 2.7): 16, 2 and 4 bytes. */
	if ((desc & 15) == 0 && (avail & 1) == 0 && (used & 3) == 0)
		return 0;
	vhu_logf(d, VHU_LOG_ERROR, "SET_VRING_ADDR: queue %u ring parts misaligned", idx);
	return -EINVAL;
}

static int h_set_vring_addr(struct vhu_dev *d, struct vhu_msg *m)
{
	const uint8_t *p = m->payload;
	uint32_t idx = vhu_rd32(p + VHU_ADDR_INDEX), flags = vhu_rd32(p + VHU_ADDR_FLAGS);
	uint64_t desc = vhu_rd64(p + VHU_ADDR_DESC), used = vhu_rd64(p + VHU_ADDR_USED);
	uint64_t avail = vhu_rd64(p + VHU_ADDR_AVAIL);
	struct vhu_vring *vr;
	int rc = ring_idle(d, m, idx);

	if (rc < 0)
		return rc;
	if (flags & ~VHU_VRING_F_LOG) {
		vhu_logf(d, VHU_LOG_ERROR, "SET_VRING_ADDR: unknown flags 0x%x", flags);
		return -EINVAL;
	}
	rc = check_ring_align(d, idx, desc, avail, used);
	if (rc < 0)
		return rc;
	vr = &d->vq[idx];
	vr->desc_uva = desc;
	vr->avail_uva = avail;
	vr->used_uva = used;
	vr->has_addr = true;
	/* Check now when we can, so the frontend learns at once. */
	if (d->mem.n > 0 && vr->num > 0) {
		struct vhu_vring_info info;

		rc = ring_translate(d, idx, &info);
		if (rc < 0)
			return rc;
	}
	return ring_try_start(d, idx);
}

static int h_get_vring_base(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx = vhu_rd32(m->payload);
	uint8_t out[VHU_STATE_SIZE];
	int rc = queue_index(d, m, idx);

	if (rc < 0)
		return rc;
	ring_stop(d, idx);
	vhu_wr32(out, idx);
	vhu_wr32(out + 4, d->vq[idx].base);
	return vhu_send_reply(d, m->request, out, sizeof(out));
}

/* Parse the u64 of SET_VRING_KICK/CALL/ERR and take its fd (-1 for none). */
static int vring_fd_arg(struct vhu_dev *d, struct vhu_msg *m, uint32_t *idx, int *fd)
{
	uint64_t v = vhu_rd64(m->payload);
	bool nofd = v & VHU_VRING_NOFD;
	int rc;

	if (v & ~(uint64_t)(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)) {
		vhu_logf(d, VHU_LOG_ERROR, "%s: unknown bits in 0x%llx", m->info->name,
			 (unsigned long long)v);
		return -EINVAL;
	}
	*idx = (uint32_t)(v & VHU_VRING_IDX_MASK);
	rc = queue_index(d, m, *idx);
	if (rc == 0)
		rc = want_fds(d, m, nofd ? 0 : 1);
	if (rc < 0)
		return rc;
	*fd = nofd ? -1 : vhu_msg_take_fd(m, 0);
	/* QEMU's eventfds are non-blocking already; a hostile frontend's
	 * pipe must not be able to block our loop either. */
	if (*fd >= 0 && set_nonblock(*fd) < 0) {
		vhu_logf(d, VHU_LOG_ERROR, "%s: bad fd: %s", m->info->name, strerror(errno));
		close(*fd);
		return -EINVAL;
	}
	return 0;
}

static int h_set_vring_kick(struct vhu_dev *d, struct vhu_msg *m)
{
	struct vhu_vring *vr;
	uint32_t idx;
	int fd, rc = vring_fd_arg(d, m, &idx, &fd);

	if (rc < 0)
		return rc;
	vr = &d->vq[idx];
	drop_kick(d, idx);
	vr->kick_fd = fd;
	vr->kick_set = true;
	if (!vr->started)
		return ring_try_start(d, idx);
	if (fd >= 0)
		d->cfg.ops->watch_kick(d->cfg.opaque, idx, fd);
	return 0;
}

static int h_set_vring_call(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx;
	int fd, rc = vring_fd_arg(d, m, &idx, &fd);

	if (rc < 0)
		return rc;
	close_fd(&d->vq[idx].call_fd);
	d->vq[idx].call_fd = fd;
	return 0;
}

static int h_set_vring_err(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx;
	int fd, rc = vring_fd_arg(d, m, &idx, &fd);

	if (rc < 0)
		return rc;
	close_fd(&d->vq[idx].err_fd);
	d->vq[idx].err_fd = fd;
	return 0;
}

static int h_set_vring_enable(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t idx = vhu_rd32(m->payload), num = vhu_rd32(m->payload + 4);
	int rc = queue_index(d, m, idx);

	if (rc < 0)
		return rc;
	if (num > 1) {
		vhu_logf(d, VHU_LOG_ERROR, "SET_VRING_ENABLE: queue %u value %u is not 0 or 1", idx,
			 num);
		return -EINVAL;
	}
	ring_set_enabled(d, idx, num == 1);
	return 0;
}

/* config payload: u32 offset, u32 size, u32 flags, size bytes. */
static int parse_config(struct vhu_dev *d, const struct vhu_msg *m, uint32_t *off, uint32_t *len)
{
	if (m->size < VHU_CONFIG_HDR || vhu_rd32(m->payload + 4) != m->size - VHU_CONFIG_HDR) {
		vhu_logf(d, VHU_LOG_ERROR, "%s: payload of %u bytes does not match its size field",
			 m->info->name, m->size);
		return -EINVAL;
	}
	*off = vhu_rd32(m->payload);
	*len = m->size - VHU_CONFIG_HDR;
	return 0;
}

static int h_get_config(struct vhu_dev *d, struct vhu_msg *m)
{
	uint8_t out[VHU_CONFIG_HDR + VHU_MAX_CONFIG_SIZE];
	uint32_t off, len;
	int rc = parse_config(d, m, &off, &len);

	if (rc < 0)
		return rc;
	if (off > VHU_MAX_CONFIG_SIZE || len > VHU_MAX_CONFIG_SIZE - off) {
		vhu_logf(d, VHU_LOG_WARN, "GET_CONFIG: offset %u size %u out of range", off, len);
		goto fail;
	}
	memcpy(out, m->payload, VHU_CONFIG_HDR);
	memset(out + VHU_CONFIG_HDR, 0, len);
	rc = d->cfg.ops->get_config(d->cfg.opaque, off, out + VHU_CONFIG_HDR, len);
	if (rc < 0) {
		vhu_logf(d, VHU_LOG_WARN, "GET_CONFIG: offset %u size %u refused by the device", off,
			 len);
		goto fail;
	}
	return vhu_send_reply(d, m->request, out, VHU_CONFIG_HDR + len);
fail:
	/* The spec's error answer: an empty payload. */
	return vhu_send_reply(d, m->request, NULL, 0);
}

static int h_set_config(struct vhu_dev *d, struct vhu_msg *m)
{
	uint32_t off, len;
	int rc = parse_config(d, m, &off, &len);

	if (rc < 0)
		return rc;
	vhu_logf(d, VHU_LOG_WARN, "SET_CONFIG offset %u size %u refused: config space is read-only",
		 off, len);
	return -ENOTSUP;
}

#define REQ(id, fn, min, max, fds, reply) \
	[VHU_REQ_##id] = { #id, fn, min, max, fds, reply }
#define FIXED(id, fn, size, fds, reply) REQ(id, fn, size, size, fds, reply)
#define UNSUPPORTED(id) REQ(id, NULL, 0, VHU_MAX_PAYLOAD, VHU_MAX_FDS, false)
#define MEMTABLE_MAX (VHU_MEMTABLE_HDR + VHU_MEMTABLE_MAX_REGIONS * VHU_REGION_SIZE)
#define CONFIG_MAX (VHU_CONFIG_HDR + VHU_MAX_CONFIG_SIZE)

/* Per request: handler, payload size bounds (equal for fixed-size payloads;
 * handlers check the variable ones exactly), most fds it may carry, and
 * whether it has its own reply (then NEED_REPLY adds no ack). */
static const struct vhu_req_info req_table[VHU_REQ_MAX] = {
	FIXED(GET_FEATURES, h_get_features, 0, 0, true),
	FIXED(SET_FEATURES, h_set_features, 8, 0, false),
	FIXED(SET_OWNER, h_nothing, 0, 0, false),
	FIXED(RESET_OWNER, h_nothing, 0, 0, false),
	REQ(SET_MEM_TABLE, h_set_mem_table, VHU_MEMTABLE_HDR, MEMTABLE_MAX, VHU_MAX_FDS, false),
	UNSUPPORTED(SET_LOG_BASE),
	UNSUPPORTED(SET_LOG_FD),
	FIXED(SET_VRING_NUM, h_set_vring_num, VHU_STATE_SIZE, 0, false),
	FIXED(SET_VRING_ADDR, h_set_vring_addr, VHU_ADDR_SIZE, 0, false),
	FIXED(SET_VRING_BASE, h_set_vring_base, VHU_STATE_SIZE, 0, false),
	FIXED(GET_VRING_BASE, h_get_vring_base, VHU_STATE_SIZE, 0, true),
	FIXED(SET_VRING_KICK, h_set_vring_kick, 8, 1, false),
	FIXED(SET_VRING_CALL, h_set_vring_call, 8, 1, false),
	FIXED(SET_VRING_ERR, h_set_vring_err, 8, 1, false),
	FIXED(GET_PROTOCOL_FEATURES, h_get_protocol_features, 0, 0, true),
	FIXED(SET_PROTOCOL_FEATURES, h_set_protocol_features, 8, 0, false),
	FIXED(GET_QUEUE_NUM, h_get_queue_num, 0, 0, true),
	FIXED(SET_VRING_ENABLE, h_set_vring_enable, VHU_STATE_SIZE, 0, false),
	UNSUPPORTED(SEND_RARP),
	UNSUPPORTED(NET_SET_MTU),
	UNSUPPORTED(SET_BACKEND_REQ_FD),
	UNSUPPORTED(IOTLB_MSG),
	UNSUPPORTED(SET_VRING_ENDIAN),
	REQ(GET_CONFIG, h_get_config, VHU_CONFIG_HDR, CONFIG_MAX, 0, true),
	REQ(SET_CONFIG, h_set_config, VHU_CONFIG_HDR, CONFIG_MAX, 0, false),
	UNSUPPORTED(GET_INFLIGHT_FD),
	UNSUPPORTED(SET_INFLIGHT_FD),
	UNSUPPORTED(RESET_DEVICE),
	UNSUPPORTED(VRING_KICK),
	FIXED(GET_MAX_MEM_SLOTS, h_get_max_mem_slots, 0, 0, true),
	FIXED(ADD_MEM_REG, h_add_mem_reg, VHU_MEMREG_SIZE, 1, false),
	FIXED(REM_MEM_REG, h_rem_mem_reg, VHU_MEMREG_SIZE, 1, false),
	UNSUPPORTED(SET_STATUS),
	UNSUPPORTED(GET_STATUS),
};

static const struct vhu_req_info *req_lookup(uint32_t request)
{
	if (request >= VHU_REQ_MAX || !req_table[request].name)
		return NULL;
	return &req_table[request];
}

static int ack(struct vhu_dev *d, const struct vhu_msg *m, bool ok)
{
	if (!(m->flags & VHU_FLAG_NEED_REPLY) || (m->info && m->info->has_reply))
		return 0;
	return vhu_send_u64(d, m->request, ok ? 0 : 1);
}

static int dispatch(struct vhu_dev *d, struct vhu_msg *m)
{
	int rc;

	if (!m->info || !m->info->handle) {
		vhu_logf(d, VHU_LOG_WARN, "unsupported request %u (%s) ignored", m->request,
			 m->info ? m->info->name : "unknown");
		return ack(d, m, false);
	}
	if (m->nfds > m->info->max_fds) {
		vhu_logf(d, VHU_LOG_ERROR, "%s: %u fds attached, at most %u expected", m->info->name,
			 m->nfds, m->info->max_fds);
		rc = -EINVAL;
	} else {
		rc = m->info->handle(d, m);
	}
	if (rc == -ENOTSUP)
		return ack(d, m, false);
	if (rc < 0) {
		vhu_logf(d, VHU_LOG_ERROR, "%s failed (%s): closing the connection", m->info->name,
			 strerror(-rc));
		ack(d, m, false);
		return rc;
	}
	return ack(d, m, true);
}

static int check_header(struct vhu_dev *d)
{
	const uint8_t *h = d->rx.buf;
	uint32_t req = vhu_rd32(h + VHU_HDR_REQUEST), flags = vhu_rd32(h + VHU_HDR_FLAGS);
	uint32_t size = vhu_rx_size(&d->rx);
	const struct vhu_req_info *ri = req_lookup(req);
	uint32_t min = ri ? ri->min_size : 0, max = ri ? ri->max_size : VHU_MAX_PAYLOAD;
	const char *name = ri ? ri->name : "unknown";

	if ((flags & VHU_FLAG_VERSION_MASK) != VHU_VERSION ||
	    (flags & ~(VHU_FLAG_VERSION_MASK | VHU_FLAG_NEED_REPLY))) {
		vhu_logf(d, VHU_LOG_ERROR, "request %u (%s): bad flags 0x%x (version must be 1)", req,
			 name, flags);
		return -EPROTO;
	}
	if (size < min || size > max) {
		if (min == max)
			vhu_logf(d, VHU_LOG_ERROR, "request %u (%s): payload of %u bytes, expected %u",
				 req, name, size, min);
		else
			vhu_logf(d, VHU_LOG_ERROR,
				 "request %u (%s): payload of %u bytes, expected %u..%u", req, name,
				 size, min, max);
		return -EPROTO;
	}
	return size ? VHU_RX_MORE : VHU_RX_DONE;
}

/* Receive what is there of one message, checking its header before its
 * payload: VHU_RX_WAIT, VHU_RX_DONE or a negative errno. */
static int receive(struct vhu_dev *d)
{
	int st;

	do {
		st = vhu_rx_more(d);
		if (st == VHU_RX_HEADER)
			st = check_header(d);
	} while (st == VHU_RX_MORE);
	return st;
}

static int serve(struct vhu_dev *d)
{
	struct vhu_rx *rx = &d->rx;
	struct vhu_msg m = {
		.request = vhu_rd32(rx->buf + VHU_HDR_REQUEST),
		.flags = vhu_rd32(rx->buf + VHU_HDR_FLAGS),
		.size = vhu_rx_size(rx),
		.payload = rx->buf + VHU_HDR_SIZE,
		.fds = rx->fds,
		.nfds = rx->nfds,
	};
	int rc;

	m.info = req_lookup(m.request);
	rc = dispatch(d, &m);
	vhu_rx_reset(rx);
	return rc;
}

int vhu_dev_handle_socket(struct vhu_dev *d)
{
	for (int i = 0; i < VHU_BATCH; i++) {
		int rc = receive(d);

		if (rc < 0) {
			vhu_rx_reset(&d->rx);
			return rc;
		}
		if (rc == VHU_RX_WAIT)
			return 0;
		rc = serve(d);
		if (rc < 0)
			return rc;
	}
	return 0;
}
