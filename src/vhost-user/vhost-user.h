/* SPDX-License-Identifier: MIT */
/*
 * Back-end side of the vhost-user protocol (QEMU docs/interop/vhost-user.rst).
 *
 * Generic: it knows virtqueues, guest memory and the socket, nothing about
 * the device behind them. The caller owns the event loop: it watches the
 * connection socket and the kick fds this library hands out through
 * vhu_ops.watch_kick, and calls vhu_dev_handle_socket() / vhu_dev_handle_kick()
 * when they become readable. Everything is non-blocking.
 *
 * The frontend is not trusted: a malformed message, a bad fd, an impossible
 * size or an overlapping memory region is logged and makes
 * vhu_dev_handle_socket() fail, after which the caller frees the connection.
 * Nothing here aborts, and every fd and mapping received is released.
 *
 * Threading: one thread (the caller's loop) uses a given struct vhu_dev.
 */
#ifndef VSND_VHOST_USER_H
#define VSND_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/virtq.h"

/* Queues one connection may carry (the device says how many it uses). */
#define VHU_MAX_QUEUES 8
/* Memory slots offered with CONFIGURE_MEM_SLOTS (GET_MAX_MEM_SLOTS). */
#define VHU_MAX_MEM_SLOTS 64
/* Largest config space GET_CONFIG serves (QEMU's VHOST_USER_MAX_CONFIG_SIZE). */
#define VHU_MAX_CONFIG_SIZE 256

/* Feature bit through which the back-end says it speaks protocol features. */
#define VHU_F_PROTOCOL_FEATURES 30

enum vhu_log_level {
	VHU_LOG_ERROR = 0,
	VHU_LOG_WARN = 1,
	VHU_LOG_INFO = 2,
	VHU_LOG_DEBUG = 3,
};

/* A ring the frontend has fully described, translated to host pointers. */
struct vhu_vring_info {
	unsigned int num;       /* power of two, 1..32768 */
	void *desc;             /* 16 * num bytes */
	void *avail;            /* 6 + 2 * num bytes */
	void *used;             /* 6 + 8 * num bytes */
	uint16_t last_avail;    /* SET_VRING_BASE: next avail index to process */
	bool enabled;           /* may be processed (see queue_enable) */
};

/*
 * What the device behind the connection provides. Called on the caller's
 * thread, from inside vhu_dev_handle_*(). Functions returning int answer 0
 * or a negative errno, which makes the message fail and the connection
 * close. Every member is mandatory except log.
 */
struct vhu_ops {
	void (*log)(void *opaque, enum vhu_log_level level, const char *msg);
	/* Virtio feature bits offered. The library adds VHU_F_PROTOCOL_FEATURES. */
	uint64_t (*get_features)(void *opaque);
	/* The frontend's acked features (a subset of the offer; bit 30 removed). */
	int (*set_features)(void *opaque, uint64_t features);
	/* Fill len bytes of config space from offset off (off + len <=
	 * VHU_MAX_CONFIG_SIZE). A failure answers GET_CONFIG with an empty
	 * payload, as the spec asks; the connection stays. */
	int (*get_config)(void *opaque, uint32_t off, void *buf, uint32_t len);
	/* Ring q has its size, addresses and kick fd: start using it. The
	 * pointers stay valid until queue_stop(q) (memory-table changes keep
	 * retired mappings alive until every ring has stopped). */
	int (*queue_start)(void *opaque, unsigned int q, const struct vhu_vring_info *info);
	/* GET_VRING_BASE: stop using ring q and return the next avail index.
	 * What the device holds it may keep (a pause) until the ring starts
	 * again; the memory stays mapped meanwhile. */
	uint16_t (*queue_stop)(void *opaque, unsigned int q);
	/* The frontend kicked started, enabled ring q. */
	void (*queue_kick)(void *opaque, unsigned int q);
	/* A started ring was enabled or disabled (SET_VRING_ENABLE). */
	void (*queue_enable)(void *opaque, unsigned int q, bool on);
	/* Watch fd (readable => call vhu_dev_handle_kick(q)) instead of the
	 * previous kick fd of q; -1 = stop watching. Called before the old
	 * fd is closed. Not called by vhu_dev_free(). */
	void (*watch_kick)(void *opaque, unsigned int q, int fd);
	/* Does the device still hold buffers inside [start, start+len) of our
	 * address space (chains parked across a ring stop)? Asked before a
	 * retired mapping is unmapped while no ring runs. NULL = never: a
	 * device that keeps nothing across a stop. */
	bool (*mem_in_use)(void *opaque, const void *start, size_t len);
};

struct vhu_config {
	unsigned int num_queues;        /* 1..VHU_MAX_QUEUES, GET_QUEUE_NUM */
	const struct vhu_ops *ops;
	void *opaque;
};

struct vhu_dev;

/*
 * Serve one frontend connected on sock (a connected AF_UNIX stream socket;
 * made non-blocking here; owned from now on, even on failure). Returns 0, or
 * -EINVAL / -ENOMEM.
 */
int vhu_dev_new(struct vhu_dev **out, int sock, const struct vhu_config *cfg);
/* Close the socket and every fd received, unmap all guest memory. Makes no
 * callback. NULL is fine. */
void vhu_dev_free(struct vhu_dev *d);

/* The connection socket, to watch for readability. */
int vhu_dev_fd(const struct vhu_dev *d);

/*
 * The socket is readable: read and serve the messages that are complete,
 * keep a partial one for later. Returns 0 to keep the connection,
 * -ECONNRESET when the frontend closed it, another negative errno after a
 * protocol error (logged). On any error the caller frees the connection.
 */
int vhu_dev_handle_socket(struct vhu_dev *d);

/* Kick fd of q is readable: consume it and call queue_kick if the ring is
 * started and enabled. A dead kick fd (EOF, error) is dropped. */
void vhu_dev_handle_kick(struct vhu_dev *d, unsigned int q);

/* Interrupt the driver for queue q (write the call eventfd); nothing if the
 * frontend gave no call fd. Returns 0 or a negative errno. */
int vhu_dev_signal(struct vhu_dev *d, unsigned int q);

/* Guest-physical memory access for the split-ring engine (descriptor and
 * indirect-table addresses are guest-physical). Valid for the connection's
 * lifetime; follows memory-table changes. */
const struct virtq_mem *vhu_dev_mem(const struct vhu_dev *d);
/* Unmap memory regions the frontend removed or replaced, if no ring runs.
 * Call when nothing can point into them any more (after a device reset):
 * until then they stay mapped, because buffers held across a ring stop may
 * still point into them. */
void vhu_dev_release_retired(struct vhu_dev *d);

/* Features acked by SET_FEATURES (bit 30 included), 0 before. */
uint64_t vhu_dev_features(const struct vhu_dev *d);

#endif
