/* SPDX-License-Identifier: MIT */
#include "drive/fe.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/iov.h"
#include "vhost-user/proto.h"
#include "virtq/virtq.h"

#define F_PROTOCOL (1ull << 30)
/* Protocol features we speak: MQ, REPLY_ACK, CONFIG. */
#define FE_PROTOCOL ((1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK) | (1ull << VHU_PF_CONFIG))
#define FE_REPLY_TIMEOUT_MS 3000

/* How long fe_quiet() waits (ms, or pump rounds). */
#define FE_QUIET_MS 3

static int send_iov(struct fe *f, struct iovec *iov, int n_iov, size_t len, const int *fds,
		    unsigned int nfds)
{
	union {
		char buf[CMSG_SPACE(FE_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n_iov };
	ssize_t n;

	if (nfds > FE_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	do
		n = sendmsg(f->sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

int fe_send_bytes(struct fe *f, const void *buf, size_t len, const int *fds, unsigned int nfds)
{
	struct iovec iov = { (void *)buf, len };

	return send_iov(f, &iov, 1, len, fds, nfds);
}

int fe_send_raw(struct fe *f, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		size_t payload_len, const int *fds, unsigned int nfds)
{
	uint8_t hdr[VHU_HDR_SIZE];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, payload_len } };

	vhu_wr32(hdr, req);
	vhu_wr32(hdr + 4, flags);
	vhu_wr32(hdr + 8, size);
	return send_iov(f, iov, payload_len ? 2 : 1, sizeof(hdr) + payload_len, fds, nfds);
}

int fe_send(struct fe *f, uint32_t req, uint32_t extra_flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds)
{
	return fe_send_raw(f, req, VHU_VERSION | extra_flags, size, payload, size, fds, nfds);
}

static int send_msg(struct fe *f, uint32_t req, uint32_t flags, const void *payload,
		    uint32_t size, int fd)
{
	return fe_send(f, req, flags, payload, size, &fd, fd >= 0);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&p, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	return rc == 1;
}

/* Wait until the socket has something to read (a message or EOF): 1, 0 on
 * timeout, -EPIPE once the pump saw the back-end go. With a pump, the
 * timeout counts its rounds. */
static int wait_sock(struct fe *f, int timeout_ms)
{
	if (!f->pump)
		return readable(f->sock, timeout_ms);
	for (int i = 0; i < timeout_ms; i++) {
		if (readable(f->sock, 0))
			return 1;
		if (f->closed)
			return -EPIPE;
		if (f->pump(f->pump_opaque) < 0)
			f->closed = true;
	}
	return readable(f->sock, 0);
}

static int read_full(struct fe *f, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n;
		int rc = wait_sock(f, FE_REPLY_TIMEOUT_MS);

		if (rc <= 0)
			return rc < 0 ? rc : -ETIMEDOUT;
		n = recv(f->sock, (uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		/* Closing with unread data makes the peer's recv() see a reset. */
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return -EPIPE;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	return 0;
}

int fe_recv(struct fe *f, uint32_t *req, uint32_t *flags, void *payload, size_t max)
{
	uint8_t hdr[VHU_HDR_SIZE];
	uint32_t size;
	int rc = read_full(f, hdr, sizeof(hdr));

	if (rc < 0)
		return rc;
	*req = vhu_rd32(hdr);
	*flags = vhu_rd32(hdr + 4);
	size = vhu_rd32(hdr + 8);
	if (size > max)
		return -EMSGSIZE;
	rc = read_full(f, payload, size);
	return rc < 0 ? rc : (int)size;
}

bool fe_quiet(struct fe *f)
{
	return wait_sock(f, FE_QUIET_MS) == 0 && !f->closed;
}

/* Read the reply to req into payload (at most max bytes); returns its size. */
static int recv_reply(struct fe *f, uint32_t req, void *payload, uint32_t max)
{
	uint32_t rreq, rflags;
	int rc = fe_recv(f, &rreq, &rflags, payload, max);

	if (rc < 0)
		return rc == -EMSGSIZE ? -EPROTO : rc;
	return rreq == req && rflags == VHU_REPLY_FLAGS ? rc : -EPROTO;
}

int fe_get_u64(struct fe *f, uint32_t req, uint64_t *v)
{
	uint8_t p[8];
	int rc = send_msg(f, req, 0, NULL, 0, -1);

	if (rc == 0)
		rc = recv_reply(f, req, p, sizeof(p));
	if (rc < 0)
		return rc;
	if (rc != 8)
		return -EPROTO;
	*v = vhu_rd64(p);
	return 0;
}

int fe_ack(struct fe *f, uint32_t req)
{
	uint8_t p[8];
	int rc = recv_reply(f, req, p, sizeof(p));

	if (rc < 0)
		return rc;
	if (rc != 8)
		return -EPROTO;
	return vhu_rd64(p) ? -EREMOTEIO : 0;
}

bool fe_acked(const struct fe *f)
{
	return f->protocol & (1ull << VHU_PF_REPLY_ACK);
}

/* Send req; with need_reply, ask for and check the ack. */
static int send_acked(struct fe *f, uint32_t req, bool need_reply, const void *payload,
		      uint32_t size, int fd)
{
	int rc = send_msg(f, req, need_reply ? VHU_FLAG_NEED_REPLY : 0, payload, size, fd);

	return rc < 0 || !need_reply ? rc : fe_ack(f, req);
}

int fe_set_u64(struct fe *f, uint32_t req, uint64_t v, bool need_reply)
{
	uint8_t p[8];

	vhu_wr64(p, v);
	return send_acked(f, req, need_reply, p, 8, -1);
}

int fe_set_state(struct fe *f, uint32_t req, uint32_t index, uint32_t num, bool need_reply)
{
	uint8_t p[8];

	vhu_wr32(p, index);
	vhu_wr32(p + 4, num);
	return send_acked(f, req, need_reply, p, 8, -1);
}

size_t fe_alloc(struct fe *f, size_t len, size_t align)
{
	size_t off = (f->brk + align - 1) & ~(align - 1);

	if (off > f->mem_size || len > f->mem_size - off)
		return 0;
	f->brk = off + len;
	memset(f->mem + off, 0, len);
	return off;
}

int fe_ring_init(struct fe *f, unsigned int q, unsigned int num)
{
	struct fe_ring *r = &f->r[q];

	if (q >= VSND_NUM_QUEUES || num < 2 || num > FE_RING_NUM || (num & (num - 1)))
		return -EINVAL;
	vring_fini(&r->ring);
	r->in_flight = 0;
	r->desc = fe_alloc(f, 16u * num, 16);
	r->avail = fe_alloc(f, 6u + 2u * num, 2);
	r->used = fe_alloc(f, 6u + 8u * num, 4);
	r->tables = fe_alloc(f, 32u * num, 16);
	if (r->kick < 0)
		r->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->call < 0)
		r->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!r->desc || !r->avail || !r->used || !r->tables || r->kick < 0 || r->call < 0)
		return -ENOMEM;
	return vring_init(&r->ring, num, f->mem + r->desc, f->mem + r->avail, f->mem + r->used,
			  f->event_idx);
}

/* Tell the back-end where ring q is, from which index, and hand it the
 * eventfds. */
static int ring_send(struct fe *f, unsigned int q)
{
	struct fe_ring *r = &f->r[q];
	bool ack = fe_acked(f);
	uint8_t a[VHU_ADDR_SIZE] = { 0 };
	uint8_t p[8];
	int rc = fe_set_state(f, VHU_REQ_SET_VRING_NUM, q, r->ring.num, ack);

	if (rc == 0)
		rc = fe_set_state(f, VHU_REQ_SET_VRING_BASE, q, r->base, ack);
	vhu_wr32(a + VHU_ADDR_INDEX, q);
	vhu_wr64(a + VHU_ADDR_DESC, fe_uva(r->desc));
	vhu_wr64(a + VHU_ADDR_USED, fe_uva(r->used));
	vhu_wr64(a + VHU_ADDR_AVAIL, fe_uva(r->avail));
	if (rc == 0)
		rc = send_acked(f, VHU_REQ_SET_VRING_ADDR, ack, a, sizeof(a), -1);
	vhu_wr64(p, q);
	if (rc == 0)
		rc = send_acked(f, VHU_REQ_SET_VRING_KICK, ack, p, 8, r->kick);
	if (rc == 0)
		rc = send_acked(f, VHU_REQ_SET_VRING_CALL, ack, p, 8, r->call);
	return rc;
}

int fe_ring_start(struct fe *f, unsigned int q, uint16_t base)
{
	struct fe_ring *r = &f->r[q];

	/* the driver's side first: the back-end may look as soon as it starts */
	vring_set_avail_idx(&r->ring, base);
	r->ring.last_used = r->base = base;
	return ring_send(f, q);
}

static int enable_rings(struct fe *f)
{
	int rc = 0;

	for (unsigned int q = 0; rc == 0 && q < VSND_NUM_QUEUES; q++)
		if (f->protocol)
			rc = fe_set_state(f, VHU_REQ_SET_VRING_ENABLE, q, 1, fe_acked(f));
	return rc;
}

void fe_ring_clear(struct fe *f, unsigned int q)
{
	struct fe_ring *r = &f->r[q];

	memset(f->mem + r->desc, 0, 16u * r->ring.num);
	memset(f->mem + r->avail, 0, 6u + 2u * r->ring.num);
	memset(f->mem + r->used, 0, 6u + 8u * r->ring.num);
	vring_reset(&r->ring);
	r->in_flight = 0;
}

int fe_pause(struct fe *f)
{
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		int rc = fe_get_vring_base(f, q);

		if (rc < 0)
			return rc;
		f->r[q].base = (uint16_t)rc;
	}
	return 0;
}

int fe_resume(struct fe *f)
{
	int rc = 0;

	for (unsigned int q = 0; rc >= 0 && q < VSND_NUM_QUEUES; q++)
		rc = ring_send(f, q);
	return rc < 0 ? rc : enable_rings(f);
}

int fe_reset(struct fe *f)
{
	int rc = fe_pause(f);

	/* The driver re-initialises: fresh rings at the same places, so the
	 * back-end sees next avail 0 and used index 0 (how it tells a reset
	 * from a pause). */
	for (unsigned int q = 0; rc >= 0 && q < VSND_NUM_QUEUES; q++) {
		fe_ring_clear(f, q);
		f->r[q].base = 0;
	}
	return rc < 0 ? rc : fe_resume(f);
}

static int connect_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

static int map_memory(struct fe *f, size_t size)
{
	f->memfd = memfd_create("vsnd-drive-guest-ram", MFD_CLOEXEC);
	if (f->memfd < 0)
		return -errno;
	if (ftruncate(f->memfd, (off_t)size) < 0)
		return -errno;
	f->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	if (f->mem == MAP_FAILED) {
		f->mem = NULL;
		return -errno;
	}
	f->mem_size = size;
	f->brk = 4096; /* gpa 0 of the region stays unused: 0 means "full" */
	return 0;
}

static int negotiate(struct fe *f, uint64_t want_mask)
{
	uint64_t pf = 0, nq = 0;
	int rc = fe_get_u64(f, VHU_REQ_GET_FEATURES, &f->offered);

	if (rc < 0)
		return rc;
	if (f->offered & F_PROTOCOL) {
		rc = fe_get_u64(f, VHU_REQ_GET_PROTOCOL_FEATURES, &pf);
		if (rc == 0)
			rc = fe_set_u64(f, VHU_REQ_SET_PROTOCOL_FEATURES, pf & FE_PROTOCOL, false);
		if (rc < 0)
			return rc;
		f->protocol = pf & FE_PROTOCOL;
		if ((f->protocol & (1ull << VHU_PF_MQ)) &&
		    (fe_get_u64(f, VHU_REQ_GET_QUEUE_NUM, &nq) < 0 || nq < VSND_NUM_QUEUES))
			return -EPROTO;
	}
	rc = send_msg(f, VHU_REQ_SET_OWNER, 0, NULL, 0, -1);
	if (rc < 0)
		return rc;
	f->features = f->offered & (want_mask | F_PROTOCOL);
	f->event_idx = f->features & (1ull << VSND_VIRTIO_F_EVENT_IDX);
	f->indirect = f->features & (1ull << VSND_VIRTIO_F_INDIRECT_DESC);
	return fe_set_u64(f, VHU_REQ_SET_FEATURES, f->features, fe_acked(f));
}

int fe_set_mem_table(struct fe *f, uint64_t uva, uint64_t size, bool need_reply)
{
	uint8_t p[VHU_MEMTABLE_HDR + VHU_REGION_SIZE] = { 0 };

	vhu_wr32(p, 1);
	vhu_wr64(p + 8, FE_GPA_BASE);
	vhu_wr64(p + 16, size);
	vhu_wr64(p + 24, uva);
	vhu_wr64(p + 32, 0);
	return send_acked(f, VHU_REQ_SET_MEM_TABLE, need_reply, p, sizeof(p), f->memfd);
}

static void init_empty(struct fe *f)
{
	memset(f, 0, sizeof(*f));
	f->sock = f->memfd = -1;
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++)
		f->r[q].kick = f->r[q].call = -1;
}

int fe_pair(struct fe *f, size_t mem_size, int *peer)
{
	int sv[2], rc;

	init_empty(f);
	*peer = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	f->sock = sv[0];
	rc = map_memory(f, mem_size);
	if (rc < 0) {
		close(sv[1]);
		fe_close(f);
		return rc;
	}
	*peer = sv[1];
	return 0;
}

int fe_open(struct fe *f, const char *path, uint64_t want_mask)
{
	int rc;

	init_empty(f);
	f->sock = connect_path(path);
	if (f->sock < 0) {
		rc = f->sock;
		goto err;
	}
	rc = map_memory(f, FE_MEM_SIZE);
	if (rc == 0)
		rc = negotiate(f, want_mask);
	if (rc == 0)
		rc = fe_set_mem_table(f, FE_UVA_BASE, f->mem_size, fe_acked(f));
	for (unsigned int q = 0; rc == 0 && q < VSND_NUM_QUEUES; q++) {
		rc = fe_ring_init(f, q, FE_RING_NUM);
		if (rc == 0)
			rc = fe_ring_start(f, q, 0);
	}
	if (rc == 0)
		rc = enable_rings(f);
	if (rc < 0)
		goto err;
	return 0;
err:
	fe_close(f);
	return rc;
}

void fe_close(struct fe *f)
{
	if (!f)
		return;
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		vring_fini(&f->r[q].ring);
		if (f->r[q].kick >= 0)
			close(f->r[q].kick);
		if (f->r[q].call >= 0)
			close(f->r[q].call);
		f->r[q].kick = f->r[q].call = -1;
	}
	if (f->sock >= 0)
		close(f->sock);
	if (f->mem)
		munmap(f->mem, f->mem_size);
	if (f->memfd >= 0)
		close(f->memfd);
	f->sock = f->memfd = -1;
	f->mem = NULL;
}

int fe_get_config(struct fe *f, uint8_t *buf, uint32_t len)
{
	uint8_t p[VHU_CONFIG_HDR + 256] = { 0 };
	int rc;

	if (len > 256)
		return -EINVAL;
	vhu_wr32(p, 0);
	vhu_wr32(p + 4, len);
	rc = send_msg(f, VHU_REQ_GET_CONFIG, 0, p, VHU_CONFIG_HDR + len, -1);
	if (rc == 0)
		rc = recv_reply(f, VHU_REQ_GET_CONFIG, p, sizeof(p));
	if (rc < 0)
		return rc;
	if ((uint32_t)rc != VHU_CONFIG_HDR + len)
		return -EPROTO;
	memcpy(buf, p + VHU_CONFIG_HDR, len);
	return 0;
}

int fe_get_vring_base(struct fe *f, unsigned int q)
{
	uint8_t p[8];
	int rc;

	vhu_wr32(p, q);
	vhu_wr32(p + 4, 0);
	rc = send_msg(f, VHU_REQ_GET_VRING_BASE, 0, p, 8, -1);
	if (rc == 0)
		rc = recv_reply(f, VHU_REQ_GET_VRING_BASE, p, sizeof(p));
	if (rc < 0)
		return rc;
	return rc == 8 && vhu_rd32(p) == q ? (int)vhu_rd32(p + 4) : -EPROTO;
}

int fe_add(struct fe *f, unsigned int q, size_t rd_off, uint32_t rd_len, size_t wr_off,
	   uint32_t wr_len, bool no_kick)
{
	struct fe_ring *r = &f->r[q];
	struct vring_seg segs[2];
	unsigned int n = 0;
	int head;

	if (r->in_flight >= r->ring.num / 2)
		return -ENOSPC;
	if (rd_len)
		segs[n++] = (struct vring_seg){ fe_gpa(rd_off), rd_len, false };
	if (wr_len)
		segs[n++] = (struct vring_seg){ fe_gpa(wr_off), wr_len, true };
	if (n == 2 && f->indirect) {
		size_t table = r->tables + 32u * vring_next_head(&r->ring);
		struct vring_table t = { f->mem + table, fe_gpa(table) };

		head = vring_add(&r->ring, segs, n, &t);
	} else {
		head = vring_add(&r->ring, segs, n, NULL);
	}
	if (head < 0)
		return head;
	r->in_flight++;
	r->notify = vring_flush(&r->ring);
	if (!no_kick)
		fe_kick(f, q);
	return head;
}

void fe_kick(struct fe *f, unsigned int q)
{
	uint64_t one = 1;

	if (write(f->r[q].kick, &one, sizeof(one)) != sizeof(one))
		return; /* the counter is saturated: the back-end will see a kick anyway */
}

int fe_used(struct fe *f, unsigned int q, uint32_t *id, uint32_t *len)
{
	struct fe_ring *r = &f->r[q];
	int rc = vring_get_used(&r->ring, id, len);

	if (rc == 0)
		r->in_flight--;
	return rc;
}

static bool used_ready(const struct fe_ring *r)
{
	/* after our used_event store, before the device's used index */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vring_used_pending(&r->ring) != 0;
}

bool fe_used_ready(const struct fe *f, unsigned int q)
{
	return used_ready(&f->r[q]);
}

/* The back-end runs in our thread: run it until it used something. */
static int pump_used(struct fe *f, const struct fe_ring *r, int rounds)
{
	for (int i = 0; i < rounds && !f->closed; i++) {
		if (f->pump(f->pump_opaque) < 0)
			f->closed = true;
		if (used_ready(r))
			return 1;
	}
	return 0;
}

int fe_wait(struct fe *f, unsigned int q, int timeout_ms)
{
	struct fe_ring *r = &f->r[q];
	uint64_t v;

	if (used_ready(r))
		return 1;
	if (f->pump)
		return pump_used(f, r, timeout_ms);
	if (readable(r->call, timeout_ms)) {
		(void)!read(r->call, &v, sizeof(v)); /* consume the signal */
		return 1;
	}
	return used_ready(r);
}

unsigned int fe_in_flight(const struct fe *f, unsigned int q)
{
	return f->r[q].in_flight;
}

bool fe_called(struct fe *f, unsigned int q)
{
	uint64_t v;

	return read(f->r[q].call, &v, sizeof(v)) == sizeof(v);
}

int fe_count_fds(pid_t pid)
{
	char path[64];
	DIR *dir;
	struct dirent *e;
	int n = 0;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return pid ? n : n - 1; /* our own look holds one */
}
