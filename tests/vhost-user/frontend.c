/* SPDX-License-Identifier: MIT */
#include "frontend.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/iov.h"
#include "virtq/virtq.h"
#include "vhost-user/proto.h"

/* How long fe_recv() pumps the back-end before giving up. */
#define FE_PUMP_ROUNDS 2000

int fe_init(struct fe *fe)
{
	int sv[2];

	memset(fe, 0, sizeof(*fe));
	fe->sock = fe->peer = fe->memfd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	fe->sock = sv[0];
	fe->peer = sv[1];
	fe->memfd = memfd_create("fe-guest-ram", MFD_CLOEXEC);
	if (fe->memfd < 0 || ftruncate(fe->memfd, FE_MEM_SIZE) < 0)
		goto err;
	fe->mem = mmap(NULL, FE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
	if (fe->mem == MAP_FAILED) {
		fe->mem = NULL;
		goto err;
	}
	fe->mem_size = FE_MEM_SIZE;
	fe->brk = 4096; /* keep gpa FE_GPA_BASE itself unused */
	return 0;
err:
	fe_fini(fe);
	return -ENOMEM;
}

void fe_fini(struct fe *fe)
{
	if (fe->mem)
		munmap(fe->mem, fe->mem_size);
	if (fe->memfd >= 0)
		close(fe->memfd);
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->peer >= 0)
		close(fe->peer);
	memset(fe, 0, sizeof(*fe));
	fe->sock = fe->peer = fe->memfd = -1;
}

size_t fe_alloc(struct fe *fe, size_t len, size_t align)
{
	size_t off = (fe->brk + align - 1) & ~(align - 1);

	if (off + len > fe->mem_size)
		return 0;
	fe->brk = off + len;
	memset(fe->mem + off, 0, len);
	return off;
}

int fe_send_raw(struct fe *fe, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		size_t payload_len, const int *fds, unsigned int nfds)
{
	uint8_t hdr[VHU_HDR_SIZE];
	struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)payload, payload_len } };
	union {
		char buf[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = payload_len ? 2 : 1 };
	ssize_t n;

	vhu_wr32(hdr, req);
	vhu_wr32(hdr + 4, flags);
	vhu_wr32(hdr + 8, size);
	if (nfds) {
		struct cmsghdr *c;

		if (nfds > 16)
			return -EINVAL;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	n = sendmsg(fe->sock, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(hdr) + payload_len) ? 0 : -EIO;
}

int fe_send(struct fe *fe, uint32_t req, uint32_t extra_flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds)
{
	return fe_send_raw(fe, req, VHU_VERSION | extra_flags, size, payload, size, fds, nfds);
}

static bool readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

/* Run the back-end until our socket has something to read (reply or EOF). */
static int pump_until_readable(struct fe *fe, int rounds)
{
	for (int i = 0; i < rounds; i++) {
		if (readable(fe->sock, 0))
			return 0;
		if (fe->closed)
			return -EPIPE;
		if (!fe->pump)
			readable(fe->sock, 1);
		else if (fe->pump(fe->pump_opaque) < 0)
			fe->closed = true;
	}
	return readable(fe->sock, 0) ? 0 : -ETIMEDOUT;
}

static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, 0);

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

int fe_recv(struct fe *fe, uint32_t *req, uint32_t *flags, void *payload, size_t max)
{
	uint8_t hdr[VHU_HDR_SIZE];
	uint32_t size;
	int rc = pump_until_readable(fe, FE_PUMP_ROUNDS);

	if (rc < 0)
		return rc;
	rc = read_full(fe->sock, hdr, sizeof(hdr));
	if (rc < 0)
		return rc;
	*req = vhu_rd32(hdr);
	*flags = vhu_rd32(hdr + 4);
	size = vhu_rd32(hdr + 8);
	if (size > max)
		return -EMSGSIZE;
	rc = read_full(fe->sock, payload, size);
	return rc < 0 ? rc : (int)size;
}

bool fe_quiet(struct fe *fe)
{
	return pump_until_readable(fe, 3) == -ETIMEDOUT && !fe->closed;
}

int fe_get_u64(struct fe *fe, uint32_t req, uint64_t *v)
{
	uint8_t p[8];
	uint32_t rreq, rflags;
	int rc = fe_send(fe, req, 0, NULL, 0, NULL, 0);

	if (rc < 0)
		return rc;
	rc = fe_recv(fe, &rreq, &rflags, p, sizeof(p));
	if (rc < 0)
		return rc;
	if (rc != 8 || rreq != req || rflags != VHU_REPLY_FLAGS)
		return -EBADMSG;
	*v = vhu_rd64(p);
	return 0;
}

int fe_ack(struct fe *fe, uint32_t req)
{
	uint64_t v;
	uint8_t p[8];
	uint32_t rreq, rflags;
	int rc = fe_recv(fe, &rreq, &rflags, p, sizeof(p));

	if (rc < 0)
		return rc;
	if (rc != 8 || rreq != req || rflags != VHU_REPLY_FLAGS)
		return -EBADMSG;
	v = vhu_rd64(p);
	return v > 1 ? 1 : (int)v;
}

int fe_set_u64(struct fe *fe, uint32_t req, uint64_t v, bool need_reply)
{
	uint8_t p[8];
	int rc;

	vhu_wr64(p, v);
	rc = fe_send(fe, req, need_reply ? VHU_FLAG_NEED_REPLY : 0, p, 8, NULL, 0);
	return rc < 0 || !need_reply ? rc : fe_ack(fe, req);
}

int fe_set_state(struct fe *fe, uint32_t req, uint32_t index, uint32_t num, bool need_reply)
{
	uint8_t p[8];
	int rc;

	vhu_wr32(p, index);
	vhu_wr32(p + 4, num);
	rc = fe_send(fe, req, need_reply ? VHU_FLAG_NEED_REPLY : 0, p, 8, NULL, 0);
	return rc < 0 || !need_reply ? rc : fe_ack(fe, req);
}

int fe_set_mem_table(struct fe *fe, bool need_reply)
{
	uint8_t p[VHU_MEMTABLE_HDR + VHU_REGION_SIZE] = { 0 };
	int rc;

	vhu_wr32(p, 1);
	vhu_wr64(p + 8, FE_GPA_BASE);
	vhu_wr64(p + 16, fe->mem_size);
	vhu_wr64(p + 24, FE_UVA_BASE);
	vhu_wr64(p + 32, 0);
	rc = fe_send(fe, VHU_REQ_SET_MEM_TABLE, need_reply ? VHU_FLAG_NEED_REPLY : 0, p,
		     sizeof(p), &fe->memfd, 1);
	return rc < 0 || !need_reply ? rc : fe_ack(fe, VHU_REQ_SET_MEM_TABLE);
}

/* ---- driver-side ring ------------------------------------------------ */

int fe_ring_init(struct fe_ring *r, struct fe *fe, unsigned int num)
{
	memset(r, 0, sizeof(*r));
	r->kick = r->call = -1;
	r->fe = fe;
	r->num = num;
	r->desc = fe_alloc(fe, 16u * num, 16);
	r->avail = fe_alloc(fe, 6u + 2u * num, 2);
	r->used = fe_alloc(fe, 6u + 8u * num, 4);
	r->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	r->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!r->desc || !r->avail || !r->used || r->kick < 0 || r->call < 0) {
		fe_ring_fini(r);
		return -ENOMEM;
	}
	return 0;
}

void fe_ring_fini(struct fe_ring *r)
{
	if (r->kick >= 0)
		close(r->kick);
	if (r->call >= 0)
		close(r->call);
	r->kick = r->call = -1;
}

int fe_ring_setup(struct fe_ring *r, unsigned int q, uint16_t base)
{
	struct fe *fe = r->fe;
	uint8_t a[VHU_ADDR_SIZE] = { 0 };
	uint8_t p[8];
	int rc;

	/* the driver's side first: the device may look as soon as it starts */
	r->avail_idx = base;
	r->last_used = base;
	vsnd_put_le16(fe->mem + r->avail + 2, base);
	rc = fe_set_state(fe, VHU_REQ_SET_VRING_NUM, q, r->num, false);
	if (rc == 0)
		rc = fe_set_state(fe, VHU_REQ_SET_VRING_BASE, q, base, false);
	vhu_wr32(a + VHU_ADDR_INDEX, q);
	vhu_wr64(a + VHU_ADDR_DESC, fe_uva(r->desc));
	vhu_wr64(a + VHU_ADDR_USED, fe_uva(r->used));
	vhu_wr64(a + VHU_ADDR_AVAIL, fe_uva(r->avail));
	if (rc == 0)
		rc = fe_send(fe, VHU_REQ_SET_VRING_ADDR, 0, a, sizeof(a), NULL, 0);
	vhu_wr64(p, q);
	if (rc == 0)
		rc = fe_send(fe, VHU_REQ_SET_VRING_KICK, 0, p, 8, &r->kick, 1);
	if (rc == 0)
		rc = fe_send(fe, VHU_REQ_SET_VRING_CALL, 0, p, 8, &r->call, 1);
	return rc;
}

static void put_desc(struct fe_ring *r, unsigned int i, uint64_t gpa, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = r->fe->mem + r->desc + 16u * i;

	vsnd_put_le64(d, gpa);
	vsnd_put_le32(d + 8, len);
	vsnd_put_le16(d + 12, flags);
	vsnd_put_le16(d + 14, next);
}

int fe_ring_add(struct fe_ring *r, size_t rd_off, uint32_t rd_len, size_t wr_off,
		uint32_t wr_len)
{
	uint16_t head = (uint16_t)(r->next_desc % r->num);
	uint16_t second = (uint16_t)((head + 1) % r->num);
	uint8_t *avail = r->fe->mem + r->avail;

	if (rd_len && wr_len) {
		put_desc(r, head, fe_gpa(rd_off), rd_len, VIRTQ_DESC_F_NEXT, second);
		put_desc(r, second, fe_gpa(wr_off), wr_len, VIRTQ_DESC_F_WRITE, 0);
		r->next_desc = (uint16_t)((r->next_desc + 2) % r->num);
	} else {
		/* one part only: a single descriptor (an event buffer, say) */
		put_desc(r, head, fe_gpa(rd_len ? rd_off : wr_off), rd_len ? rd_len : wr_len,
			 rd_len ? 0 : VIRTQ_DESC_F_WRITE, 0);
		r->next_desc = (uint16_t)((r->next_desc + 1) % r->num);
	}
	vsnd_put_le16(avail + 4 + 2u * (r->avail_idx % r->num), head);
	r->avail_idx++;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vsnd_put_le16(avail + 2, r->avail_idx);
	return head;
}

void fe_ring_kick(struct fe_ring *r)
{
	uint64_t one = 1;

	if (write(r->kick, &one, sizeof(one)) != sizeof(one))
		return;
}

int fe_ring_used(struct fe_ring *r, uint32_t *id, uint32_t *len)
{
	const uint8_t *used = r->fe->mem + r->used;
	const uint8_t *e;

	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (vsnd_le16(used + 2) == r->last_used)
		return -EAGAIN;
	e = used + 4 + 8u * (r->last_used % r->num);
	*id = vsnd_le32(e);
	*len = vsnd_le32(e + 4);
	r->last_used++;
	return 0;
}

bool fe_ring_called(struct fe_ring *r)
{
	uint64_t v;

	return read(r->call, &v, sizeof(v)) == sizeof(v);
}

int fe_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -errno;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n - 1; /* the directory's own fd */
}
