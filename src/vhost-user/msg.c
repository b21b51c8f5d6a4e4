/* SPDX-License-Identifier: MIT */
/*
 * vhost-user socket I/O, below the request handlers: non-blocking reception
 * of one message at a time (header, payload, SCM_RIGHTS fds), replies, and
 * the log. What a request may carry is the handlers' business (vhost-user.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vhost-user/internal.h"

void vhu_logf(void *opaque, enum vhu_log_level level, const char *fmt, ...)
{
	struct vhu_dev *d = opaque;
	char msg[256];
	va_list ap;

	if (!d->cfg.ops->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	d->cfg.ops->log(d->cfg.opaque, level, msg);
}

void vhu_rx_reset(struct vhu_rx *rx)
{
	for (unsigned int i = 0; i < rx->nfds; i++) {
		if (rx->fds[i] >= 0)
			close(rx->fds[i]);
		rx->fds[i] = -1;
	}
	rx->nfds = 0;
	rx->have = 0;
}

/* Keep every fd the kernel gave us, up to VHU_MAX_FDS for the whole
 * message; close the rest. A truncated control message means fds were
 * lost: the message is unusable either way. */
static int rx_take_fds(struct vhu_dev *d, struct msghdr *mh)
{
	struct vhu_rx *rx = &d->rx;
	int rc = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (rx->nfds < VHU_MAX_FDS) {
				rx->fds[rx->nfds++] = fd;
			} else {
				close(fd);
				rc = -EINVAL;
			}
		}
	}
	if (mh->msg_flags & MSG_CTRUNC)
		rc = -EINVAL;
	if (rc < 0)
		vhu_logf(d, VHU_LOG_ERROR, "message carries more than %d fds", VHU_MAX_FDS);
	return rc;
}

int vhu_rx_more(struct vhu_dev *d)
{
	struct vhu_rx *rx = &d->rx;
	size_t total = rx->have < VHU_HDR_SIZE ? VHU_HDR_SIZE : VHU_HDR_SIZE + vhu_rx_size(rx);
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { rx->buf + rx->have, total - rx->have };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;
	int rc;

	do
		n = recvmsg(d->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return VHU_RX_WAIT;
		rc = -errno;
		vhu_logf(d, VHU_LOG_ERROR, "socket read: %s", strerror(errno));
		return rc;
	}
	rc = rx_take_fds(d, &mh);
	if (rc < 0)
		return rc;
	if (n == 0) {
		if (rx->have > 0)
			vhu_logf(d, VHU_LOG_WARN, "frontend closed the socket mid-message");
		return -ECONNRESET;
	}
	rx->have += (size_t)n;
	if (rx->have == VHU_HDR_SIZE)
		return VHU_RX_HEADER;
	return rx->have == total ? VHU_RX_DONE : VHU_RX_MORE;
}

int vhu_send_reply(struct vhu_dev *d, uint32_t request, const void *payload, uint32_t size)
{
	uint8_t buf[VHU_HDR_SIZE + VHU_CONFIG_HDR + VHU_MAX_CONFIG_SIZE];
	size_t len = VHU_HDR_SIZE + (size_t)size;
	ssize_t n;
	int err;

	if (len > sizeof(buf))
		return -EINVAL;
	vhu_wr32(buf + VHU_HDR_REQUEST, request);
	vhu_wr32(buf + VHU_HDR_FLAGS, VHU_REPLY_FLAGS);
	vhu_wr32(buf + VHU_HDR_SIZE_OFF, size);
	if (size)
		memcpy(buf + VHU_HDR_SIZE, payload, size);
	/* Replies are small and the frontend waits for them; a full socket
	 * buffer means it stopped reading, which is fatal. */
	do
		n = send(d->sock, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	err = n < 0 ? errno : EIO;
	vhu_logf(d, VHU_LOG_ERROR, "cannot send reply to request %u: %s", request, strerror(err));
	return -err;
}

int vhu_send_u64(struct vhu_dev *d, uint32_t request, uint64_t v)
{
	uint8_t p[8];

	vhu_wr64(p, v);
	return vhu_send_reply(d, request, p, sizeof(p));
}
