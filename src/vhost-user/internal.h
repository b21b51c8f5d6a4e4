/* SPDX-License-Identifier: MIT */
/* State shared by the vhost-user library's files; not part of its API. */
#ifndef VSND_VHU_INTERNAL_H
#define VSND_VHU_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhost-user/mem.h"
#include "vhost-user/proto.h"
#include "vhost-user/vhost-user.h"

struct vhu_vring {
	unsigned int num;               /* 0 = not set */
	uint64_t desc_uva, avail_uva, used_uva;
	bool has_addr;
	uint16_t base;                  /* next avail index (SET/GET_VRING_BASE) */
	int kick_fd, call_fd, err_fd;   /* -1 = none */
	bool kick_set;                  /* SET_VRING_KICK seen (fd or polling) */
	bool started;
	bool enabled;                   /* SET_VRING_ENABLE */
};

/* A message being received: the header, then the payload, then served. */
struct vhu_rx {
	uint8_t buf[VHU_HDR_SIZE + VHU_MAX_PAYLOAD];
	size_t have;
	int fds[VHU_MAX_FDS];
	unsigned int nfds;
};

struct vhu_dev {
	int sock;
	struct vhu_config cfg;
	uint64_t features;              /* SET_FEATURES, bit 30 included */
	uint64_t protocol_features;
	struct vhu_mem mem;
	struct virtq_mem vmem;
	struct vhu_vring vq[VHU_MAX_QUEUES];
	struct vhu_rx rx;
};

struct vhu_msg;

struct vhu_req_info {
	const char *name;
	int (*handle)(struct vhu_dev *d, struct vhu_msg *m); /* NULL: not supported */
	uint16_t min_size, max_size;    /* payload bounds */
	uint8_t max_fds;
	bool has_reply;
};

/* A complete received message. Handlers keep an fd by taking it. */
struct vhu_msg {
	uint32_t request, flags, size;
	const struct vhu_req_info *info; /* NULL for an unknown request */
	const uint8_t *payload;
	int *fds;
	unsigned int nfds;
};

static inline int vhu_msg_take_fd(struct vhu_msg *m, unsigned int i)
{
	int fd = m->fds[i];

	m->fds[i] = -1;
	return fd;
}

/* Below the handlers (msg.c): the log, reception, replies. */

/* Log through cfg.ops->log (opaque is the struct vhu_dev). */
void vhu_logf(void *opaque, enum vhu_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Send a reply (flags 0x5). Returns 0 or a negative errno. */
int vhu_send_reply(struct vhu_dev *d, uint32_t request, const void *payload, uint32_t size);
int vhu_send_u64(struct vhu_dev *d, uint32_t request, uint64_t v);
/* Forget the message being received and close the fds nobody took. */
void vhu_rx_reset(struct vhu_rx *rx);

static inline uint32_t vhu_rx_size(const struct vhu_rx *rx)
{
	return vhu_rd32(rx->buf + VHU_HDR_SIZE_OFF);
}

/* vhu_rx_more's progress on the message being received. At VHU_RX_HEADER
 * the header just completed: check its size before reading on (the
 * payload is read up to it); with a size of 0 the message is complete. */
enum { VHU_RX_WAIT, VHU_RX_HEADER, VHU_RX_MORE, VHU_RX_DONE };

/* Read what is available of the current message: a VHU_RX_* or a negative
 * errno (close the connection). */
int vhu_rx_more(struct vhu_dev *d);

#endif
