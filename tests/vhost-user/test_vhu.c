/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user back-end library against a test frontend over a
 * socketpair, with a recording fake device: the QEMU 10 message sequence,
 * replies byte by byte, memory translation, and every kind of malformed
 * message (each must close the connection without a crash or an fd leak).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "drive/fe.h"
#include "fakehost.h"
#include "util/iov.h"
#include "vhost-user/mem.h"
#include "vhost-user/proto.h"
#include "vhost-user/vhost-user.h"

#define OFFERED ((1ull << 32) | (1ull << 29) | (1ull << 28) | 1ull)
#define PROTOCOL_OFFERED 0x8209ull /* MQ, REPLY_ACK, CONFIG, CONFIGURE_MEM_SLOTS */
#define NQ 4
#define MEM_SIZE (4u << 20) /* the test frontend's guest memory */

struct fake {
	struct fe fe;
	struct vhu_dev *dev;
	int close_rc;
	uint64_t features;
	int set_features_calls;
	struct vhu_vring_info started[NQ];
	int starts[NQ], stops[NQ], kicks[NQ];
	uint16_t stop_advance;          /* queue_stop returns last_avail + this */
	int enabled[NQ];                /* -1 = never told */
	int watch[NQ];
	int watch_calls[NQ];
	int fds_before;
	const uint8_t *held;            /* a buffer the device keeps across a stop */
	struct fh_log log;
};

static void f_log(void *opaque, enum vhu_log_level level, const char *msg)
{
	fh_log_add(&((struct fake *)opaque)->log, (int)level, msg);
}

static uint64_t f_get_features(void *opaque)
{
	return OFFERED;
}

static int f_set_features(void *opaque, uint64_t features)
{
	struct fake *f = opaque;

	f->features = features;
	f->set_features_calls++;
	return 0;
}

/* Config of a sound device with CTLS: jacks 1, streams 2, chmaps 3, controls 4. */
static int f_get_config(void *opaque, uint32_t off, void *buf, uint32_t len)
{
	uint8_t cfg[16];

	for (int i = 0; i < 4; i++)
		vsnd_put_le32(cfg + 4 * i, (uint32_t)i + 1);
	if (off > sizeof(cfg) || len > sizeof(cfg) - off)
		return -EINVAL;
	memcpy(buf, cfg + off, len);
	return 0;
}

static int f_queue_start(void *opaque, unsigned int q, const struct vhu_vring_info *info)
{
	struct fake *f = opaque;

	f->started[q] = *info;
	f->starts[q]++;
	f->enabled[q] = info->enabled;
	return 0;
}

static uint16_t f_queue_stop(void *opaque, unsigned int q)
{
	struct fake *f = opaque;

	f->stops[q]++;
	return (uint16_t)(f->started[q].last_avail + f->stop_advance);
}

static void f_queue_kick(void *opaque, unsigned int q)
{
	struct fake *f = opaque;

	f->kicks[q]++;
}

static void f_queue_enable(void *opaque, unsigned int q, bool on)
{
	struct fake *f = opaque;

	f->enabled[q] = on;
}

static void f_watch_kick(void *opaque, unsigned int q, int fd)
{
	struct fake *f = opaque;

	f->watch[q] = fd;
	f->watch_calls[q]++;
}

static bool f_mem_in_use(void *opaque, const void *start, size_t len)
{
	struct fake *f = opaque;
	const uint8_t *a = start;

	return f->held && f->held >= a && f->held < a + len;
}

static const struct vhu_ops fake_ops = {
	.log = f_log,
	.get_features = f_get_features,
	.set_features = f_set_features,
	.get_config = f_get_config,
	.queue_start = f_queue_start,
	.queue_stop = f_queue_stop,
	.queue_kick = f_queue_kick,
	.queue_enable = f_queue_enable,
	.watch_kick = f_watch_kick,
	.mem_in_use = f_mem_in_use,
};

static int pump(void *opaque)
{
	struct fake *f = opaque;
	int rc;

	if (!f->dev)
		return -EPIPE;
	rc = vhu_dev_handle_socket(f->dev);
	if (rc < 0) {
		f->close_rc = rc;
		vhu_dev_free(f->dev);
		f->dev = NULL;
	}
	return rc;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct vhu_config cfg = { .num_queues = NQ, .ops = &fake_ops, .opaque = f };
	int peer;

	assert_non_null(f);
	fh_log_init(&f->log);
	f->fds_before = fe_count_fds(0);
	assert_int_equal(fe_pair(&f->fe, MEM_SIZE, &peer), 0);
	for (int q = 0; q < NQ; q++) {
		f->enabled[q] = -1;
		f->watch[q] = -1;
	}
	assert_int_equal(vhu_dev_new(&f->dev, peer, &cfg), 0); /* the library owns peer now */
	f->fe.pump = pump;
	f->fe.pump_opaque = f;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;
	int before = f->fds_before;

	vhu_dev_free(f->dev);
	fe_close(&f->fe);
	free(f);
	/* Every fd the library received (memory, kick, call, err) is closed. */
	assert_int_equal(fe_count_fds(0), before);
	return 0;
}

/* ---- helpers ---------------------------------------------------------- */

static uint64_t get_u64(struct fake *f, uint32_t req)
{
	uint64_t v = 0;

	assert_int_equal(fe_get_u64(&f->fe, req, &v), 0);
	return v;
}

/* SET_MEM_TABLE: the whole guest memory as one region, where QEMU would
 * put it. Returns as fe_set_mem_table(). */
static int set_mem_table(struct fake *f, bool need_reply)
{
	return fe_set_mem_table(&f->fe, FE_UVA_BASE, f->fe.mem_size, need_reply);
}

static void negotiate(struct fake *f, uint64_t features)
{
	assert_int_equal(get_u64(f, VHU_REQ_GET_FEATURES), OFFERED | (1ull << 30));
	assert_int_equal(get_u64(f, VHU_REQ_GET_PROTOCOL_FEATURES), PROTOCOL_OFFERED);
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_PROTOCOL_FEATURES, PROTOCOL_OFFERED, false),
			 0);
	assert_true(fe_quiet(&f->fe));
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_FEATURES, features, true), 0);
}

/* Expect the back-end to have closed the connection after a bad message. */
static void expect_closed(struct fake *f)
{
	uint32_t req, flags;
	uint8_t buf[64];
	int rc;

	/* A NEED_REPLY message may get its failure ack before the close. */
	do
		rc = fe_recv(&f->fe, &req, &flags, buf, sizeof(buf));
	while (rc == 8 && vhu_rd64(buf) != 0);
	assert_int_equal(rc, -EPIPE);
	assert_null(f->dev);
	assert_true(f->close_rc < 0);
}

static void send_u64_fd(struct fake *f, uint32_t req, uint64_t v, int fd)
{
	uint8_t p[8];

	vhu_wr64(p, v);
	assert_int_equal(fe_send(&f->fe, req, 0, p, 8, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0), 0);
}

static void set_addr(struct fake *f, uint32_t q, uint64_t desc, uint64_t used, uint64_t avail)
{
	uint8_t a[VHU_ADDR_SIZE] = { 0 };

	vhu_wr32(a + VHU_ADDR_INDEX, q);
	vhu_wr64(a + VHU_ADDR_DESC, desc);
	vhu_wr64(a + VHU_ADDR_USED, used);
	vhu_wr64(a + VHU_ADDR_AVAIL, avail);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_VRING_ADDR, 0, a, sizeof(a), NULL, 0), 0);
}

/* GET_VRING_BASE of q: a reply to it, for q, holding expect. */
static void get_vring_base(struct fake *f, uint32_t q, uint32_t expect)
{
	assert_int_equal(fe_get_vring_base(&f->fe, q), expect);
}

/* GET_CONFIG of len bytes at off; returns the reply payload size. */
static int get_config(struct fake *f, uint32_t off, uint32_t len, uint8_t *out)
{
	uint8_t p[VHU_CONFIG_HDR + 300] = { 0 };
	uint32_t req, flags;
	int rc;

	vhu_wr32(p, off);
	vhu_wr32(p + 4, len);
	vhu_wr32(p + 8, 0);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_CONFIG, 0, p, VHU_CONFIG_HDR + len, NULL, 0),
			 0);
	rc = fe_recv(&f->fe, &req, &flags, p, sizeof(p));
	assert_true(rc >= 0);
	assert_int_equal(req, VHU_REQ_GET_CONFIG);
	assert_int_equal(flags, 0x5);
	if (rc >= VHU_CONFIG_HDR) {
		assert_int_equal(vhu_rd32(p), off);
		assert_int_equal(vhu_rd32(p + 4), len);
		memcpy(out, p + VHU_CONFIG_HDR, (size_t)rc - VHU_CONFIG_HDR);
	}
	return rc;
}

/* Set up queue q over ring r (QEMU order) and check the device saw it start. */
static void start_ring(struct fake *f, unsigned int q, uint16_t base)
{
	int starts = f->starts[q];

	assert_int_equal(fe_ring_start(&f->fe, q, base), 0);
	assert_true(fe_quiet(&f->fe));
	assert_int_equal(f->starts[q], starts + 1);
	assert_int_equal(f->started[q].num, f->fe.r[q].ring.num);
	assert_int_equal(f->started[q].last_avail, base);
	assert_true(f->watch[q] >= 0);
}

/* The back-end's ring pointers alias our memory: a marker written through
 * fe->mem reads back through them. */
static void check_alias(struct fake *f, unsigned int q)
{
	const struct vhu_vring_info *in = &f->started[q];
	const struct fe_ring *r = &f->fe.r[q];

	f->fe.mem[r->desc] = (uint8_t)(0xa0 + q);
	f->fe.mem[r->avail + 1] = (uint8_t)(0xb0 + q);
	f->fe.mem[r->used + 5] = (uint8_t)(0xc0 + q);
	assert_int_equal(((uint8_t *)in->desc)[0], 0xa0 + q);
	assert_int_equal(((uint8_t *)in->avail)[1], 0xb0 + q);
	assert_int_equal(((uint8_t *)in->used)[5], 0xc0 + q);
}

static int count_maps(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "guest-ram") || strstr(line, "fe-extra"))
			n++;
	fclose(fp);
	return n;
}

/* ---- the QEMU sequence -------------------------------------------------- */

static void test_qemu_sequence(void **state)
{
	struct fake *f = *state;
	int masked[NQ], err[NQ];
	uint8_t cfg[16];
	uint64_t guest = (1ull << 32) | (1ull << 28) | (1ull << 29) | 1ull;

	/* 1-5: features, protocol features, queue number, memory slots. */
	assert_int_equal(get_u64(f, VHU_REQ_GET_FEATURES), OFFERED | (1ull << 30));
	assert_int_equal(get_u64(f, VHU_REQ_GET_PROTOCOL_FEATURES), PROTOCOL_OFFERED);
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_PROTOCOL_FEATURES, PROTOCOL_OFFERED, false),
			 0);
	assert_int_equal(get_u64(f, VHU_REQ_GET_QUEUE_NUM), 4);
	assert_int_equal(get_u64(f, VHU_REQ_GET_MAX_MEM_SLOTS), VHU_MAX_MEM_SLOTS);
	/* 7-9: owner, features again, masked call fds and error fds. */
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	assert_true(fe_quiet(&f->fe));
	assert_int_equal(get_u64(f, VHU_REQ_GET_FEATURES), OFFERED | (1ull << 30));
	for (unsigned int q = 0; q < NQ; q++) {
		masked[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		err[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		send_u64_fd(f, VHU_REQ_SET_VRING_CALL, q, masked[q]);
		send_u64_fd(f, VHU_REQ_SET_VRING_ERR, q, err[q]);
	}
	assert_true(fe_quiet(&f->fe));
	/* Config reads: exactly the requested size, 12 or 16. */
	assert_int_equal(get_config(f, 0, 12, cfg), VHU_CONFIG_HDR + 12);
	assert_int_equal(vsnd_le32(cfg), 1);
	assert_int_equal(vsnd_le32(cfg + 8), 3);
	assert_int_equal(get_config(f, 0, 16, cfg), VHU_CONFIG_HDR + 16);
	assert_int_equal(vsnd_le32(cfg + 12), 4);
	assert_int_equal(get_config(f, 4, 4, cfg), VHU_CONFIG_HDR + 4);
	assert_int_equal(vsnd_le32(cfg), 2);

	/* 10-11: DRIVER_OK: features, memory table (acked). */
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_FEATURES, guest | (1ull << 30), true), 0);
	assert_int_equal(f->features, guest);
	assert_int_equal(vhu_dev_features(f->dev), guest | (1ull << 30));
	assert_int_equal(set_mem_table(f, true), 0);
	/* 12: rings; they start disabled (protocol features negotiated). */
	for (unsigned int q = 0; q < NQ; q++) {
		assert_int_equal(fe_ring_init(&f->fe, q, 64), 0);
		start_ring(f, q, 0);
		assert_int_equal(f->enabled[q], 0);
		check_alias(f, q);
	}
	/* A kick while disabled does not reach the device. */
	fe_kick(&f->fe, 0);
	vhu_dev_handle_kick(f->dev, 0);
	assert_int_equal(f->kicks[0], 0);
	/* 13: enable, each acked. */
	for (unsigned int q = 0; q < NQ; q++) {
		assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_ENABLE, q, 1, true), 0);
		assert_int_equal(f->enabled[q], 1);
	}
	/* 15: the guest's call fds replace the masked ones. */
	for (unsigned int q = 0; q < NQ; q++)
		send_u64_fd(f, VHU_REQ_SET_VRING_CALL, q, f->fe.r[q].call);
	assert_true(fe_quiet(&f->fe));
	/* Kicks reach the device, signals reach the guest's call fd. */
	fe_kick(&f->fe, 2);
	vhu_dev_handle_kick(f->dev, 2);
	assert_int_equal(f->kicks[2], 1);
	vhu_dev_handle_kick(f->dev, 2); /* spurious: nothing to read */
	assert_int_equal(f->kicks[2], 1);
	assert_int_equal(vhu_dev_signal(f->dev, 3), 0);
	assert_true(fe_called(&f->fe, 3));
	assert_false(fe_called(&f->fe, 2));
	/* guest memory translation for descriptor addresses */
	{
		const struct virtq_mem *m = vhu_dev_mem(f->dev);
		uint64_t avail = 0;
		uint8_t *p;

		f->fe.mem[0x1234] = 0x5a;
		p = m->translate(m->opaque, fe_gpa(0x1234), 100, &avail, false);
		assert_non_null(p);
		assert_int_equal(avail, 100);
		assert_int_equal(*p, 0x5a);
		p = m->translate(m->opaque, fe_gpa(MEM_SIZE - 10), 100, &avail, true);
		assert_non_null(p);
		assert_int_equal(avail, 10);
		assert_null(m->translate(m->opaque, fe_gpa(MEM_SIZE), 1, &avail, false));
		assert_null(m->translate(m->opaque, FE_GPA_BASE - 1, 1, &avail, false));
	}
	/* 16-17: stop: disable, then GET_VRING_BASE (the device's index). */
	f->stop_advance = 5;
	for (unsigned int q = 0; q < NQ; q++) {
		assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_ENABLE, q, 0, true), 0);
		assert_int_equal(f->enabled[q], 0);
		get_vring_base(f, q, 5);
		assert_int_equal(f->stops[q], 1);
		assert_int_equal(f->watch[q], -1);
	}
	/* Stopped rings keep answering their index, without the device. */
	get_vring_base(f, 1, 5);
	assert_int_equal(f->stops[1], 1);
	/* A restart (VM resume): 10-15 again, from the saved index. */
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_FEATURES, guest | (1ull << 30), true), 0);
	start_ring(f, 0, 5);
	assert_int_equal(f->starts[0], 2);
	for (unsigned int q = 0; q < NQ; q++) {
		close(masked[q]);
		close(err[q]);
	}
}

static void test_no_protocol_features(void **state)
{
	struct fake *f = *state;

	/* A frontend that does not take bit 30: rings run once started. */
	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_FEATURES, 1ull << 32, false), 0);
	assert_int_equal(set_mem_table(f, false), 0);
	assert_int_equal(fe_ring_init(&f->fe, 1, 16), 0);
	start_ring(f, 1, 3);
	assert_int_equal(f->enabled[1], 1);
	fe_kick(&f->fe, 1);
	vhu_dev_handle_kick(f->dev, 1);
	assert_int_equal(f->kicks[1], 1);
}

static void test_reply_ack(void **state)
{
	struct fake *f = *state;
	uint8_t p[VHU_CONFIG_HDR + 4] = { 0 };

	negotiate(f, OFFERED | (1ull << 30));
	/* NEED_REPLY on a message without a reply body: u64 0 on success. */
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_OWNER, VHU_FLAG_NEED_REPLY, NULL, 0, NULL, 0),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_SET_OWNER), 0);
	/* SET_CONFIG is refused (read-only config), the connection stays. */
	vhu_wr32(p, 0);
	vhu_wr32(p + 4, 4);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_CONFIG, VHU_FLAG_NEED_REPLY, p, sizeof(p), NULL,
				 0),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_SET_CONFIG), -EREMOTEIO);
	/* Unknown and unsupported requests: failure ack, connection stays. */
	assert_int_equal(fe_send(&f->fe, 99, VHU_FLAG_NEED_REPLY, "abcd", 4, NULL, 0), 0);
	assert_int_equal(fe_ack(&f->fe, 99), -EREMOTEIO);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_STATUS, VHU_FLAG_NEED_REPLY, "\0\0\0\0\0\0\0\0",
				 8, NULL, 0),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_SET_STATUS), -EREMOTEIO);
	assert_int_equal(fe_send(&f->fe, 77, 0, NULL, 0, NULL, 0), 0);
	assert_true(fe_quiet(&f->fe));
	/* An unknown request's fds are closed (teardown counts them). */
	{
		int e = eventfd(0, EFD_CLOEXEC);

		assert_int_equal(fe_send(&f->fe, 60, 0, NULL, 0, &e, 1), 0);
		close(e);
		assert_true(fe_quiet(&f->fe));
	}
	/* A GET_* with NEED_REPLY gets its normal reply, no extra ack. */
	{
		uint64_t v = 0;
		uint32_t req, flags;
		uint8_t b[8];

		assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_QUEUE_NUM, VHU_FLAG_NEED_REPLY, NULL, 0,
					 NULL, 0),
				 0);
		assert_int_equal(fe_recv(&f->fe, &req, &flags, b, sizeof(b)), 8);
		v = vhu_rd64(b);
		assert_int_equal(v, 4);
		assert_true(fe_quiet(&f->fe));
	}
	/* Out-of-range config read: empty payload, connection stays. */
	{
		uint8_t cfg[300];

		assert_int_equal(get_config(f, 250, 16, cfg), 0);
		assert_int_equal(get_config(f, 8, 12, cfg), 0); /* the device refuses */
		assert_int_equal(get_config(f, 0, 12, cfg), VHU_CONFIG_HDR + 12);
	}
	assert_non_null(f->dev);
}

static void test_partial_messages(void **state)
{
	struct fake *f = *state;
	uint8_t msg[VHU_HDR_SIZE + 8];
	uint32_t req, flags;
	uint8_t p[8];

	/* SET_FEATURES with NEED_REPLY, delivered one byte at a time. */
	vhu_wr32(msg, VHU_REQ_SET_FEATURES);
	vhu_wr32(msg + 4, 1 | VHU_FLAG_NEED_REPLY);
	vhu_wr32(msg + 8, 8);
	vhu_wr64(msg + 12, 1ull << 32);
	for (size_t i = 0; i < sizeof(msg); i++) {
		assert_int_equal(send(f->fe.sock, msg + i, 1, 0), 1);
		if (i + 1 < sizeof(msg))
			assert_true(fe_quiet(&f->fe));
	}
	assert_int_equal(fe_recv(&f->fe, &req, &flags, p, sizeof(p)), 8);
	assert_int_equal(req, VHU_REQ_SET_FEATURES);
	assert_int_equal(vhu_rd64(p), 0);
	assert_int_equal(f->features, 1ull << 32);
	/* Two messages in one write are both served. */
	{
		uint8_t two[2 * VHU_HDR_SIZE] = { 0 };

		vhu_wr32(two, VHU_REQ_GET_QUEUE_NUM);
		vhu_wr32(two + 4, 1);
		vhu_wr32(two + 12, VHU_REQ_GET_MAX_MEM_SLOTS);
		vhu_wr32(two + 16, 1);
		assert_int_equal(send(f->fe.sock, two, sizeof(two), 0), (ssize_t)sizeof(two));
		assert_int_equal(fe_recv(&f->fe, &req, &flags, p, sizeof(p)), 8);
		assert_int_equal(req, VHU_REQ_GET_QUEUE_NUM);
		assert_int_equal(vhu_rd64(p), 4);
		assert_int_equal(fe_recv(&f->fe, &req, &flags, p, sizeof(p)), 8);
		assert_int_equal(req, VHU_REQ_GET_MAX_MEM_SLOTS);
	}
}

static void test_kick_fd_replaced(void **state)
{
	struct fake *f = *state;
	int k2 = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), fds;
	uint64_t one = 1;

	negotiate(f, OFFERED | (1ull << 30));
	assert_int_equal(set_mem_table(f, false), 0);
	assert_int_equal(fe_ring_init(&f->fe, 0, 8), 0);
	start_ring(f, 0, 0);
	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_ENABLE, 0, 1, true), 0);
	fds = fe_count_fds(0);
	send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 0, k2);
	assert_true(fe_quiet(&f->fe));
	/* unwatched, then watched again with the new fd; the old one closed */
	assert_int_equal(f->watch_calls[0], 3);
	assert_true(f->watch[0] >= 0);
	assert_int_equal(fe_count_fds(0), fds);
	assert_int_equal(write(k2, &one, 8), 8);
	vhu_dev_handle_kick(f->dev, 0);
	assert_int_equal(f->kicks[0], 1);
	/* the old kick fd no longer matters */
	fe_kick(&f->fe, 0);
	vhu_dev_handle_kick(f->dev, 0);
	assert_int_equal(f->kicks[0], 1);
	/* polling mode (no-fd flag) on a new ring: started, nothing to watch */
	{
		const struct fe_ring *r2 = &f->fe.r[1];
		uint8_t p[8];

		assert_int_equal(fe_ring_init(&f->fe, 1, 8), 0);
		assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 1, 8, false), 0);
		set_addr(f, 1, fe_uva(r2->desc), fe_uva(r2->used), fe_uva(r2->avail));
		vhu_wr64(p, 1 | VHU_VRING_NOFD);
		assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_VRING_KICK, 0, p, 8, NULL, 0), 0);
		assert_true(fe_quiet(&f->fe));
		assert_int_equal(f->starts[1], 1);
		assert_int_equal(f->watch_calls[1], 0);
	}
	/* A dead kick fd (a pipe whose writer closed) is dropped, not spun on. */
	{
		int pfd[2];

		assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
		send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 0, pfd[0]);
		assert_true(fe_quiet(&f->fe));
		close(pfd[0]);
		close(pfd[1]);
		vhu_dev_handle_kick(f->dev, 0);
		assert_int_equal(f->watch[0], -1);
	}
	close(k2);
}

/* Two regions over two memfds, gpa-adjacent: a buffer crossing the boundary
 * translates as two pieces. ADD/REM_MEM_REG keep mappings while a ring runs. */
static void test_mem_regions(void **state)
{
	struct fake *f = *state;
	const struct virtq_mem *m;
	int extra = memfd_create("fe-extra", MFD_CLOEXEC);
	uint8_t reg[VHU_MEMREG_SIZE] = { 0 }, *x;
	uint64_t avail = 0, gpa2 = fe_gpa(MEM_SIZE);
	int maps;

	assert_true(extra >= 0);
	assert_int_equal(ftruncate(extra, 1 << 20), 0);
	x = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, extra, 0);
	assert_true(x != MAP_FAILED);
	negotiate(f, OFFERED | (1ull << 30));
	maps = count_maps();
	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(count_maps(), maps + 1);
	/* region 2: gpa right after region 1, 1 MiB of "fe-extra" at offset 4096 */
	vhu_wr64(reg + 8, gpa2);
	vhu_wr64(reg + 16, (1 << 20) - 4096);
	vhu_wr64(reg + 24, FE_UVA_BASE + 0x10000000);
	vhu_wr64(reg + 32, 4096);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_ADD_MEM_REG, VHU_FLAG_NEED_REPLY, reg, sizeof(reg),
				 &extra, 1),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_ADD_MEM_REG), 0);
	assert_int_equal(count_maps(), maps + 2);
	m = vhu_dev_mem(f->dev);
	x[4096] = 0x77;
	assert_non_null(m->translate(m->opaque, gpa2 - 16, 64, &avail, false));
	assert_int_equal(avail, 16);
	assert_int_equal(*(uint8_t *)m->translate(m->opaque, gpa2, 64, &avail, false), 0x77);
	assert_int_equal(avail, 64);
	/* a ring in region 1 runs while region 1 is removed: kept mapped */
	assert_int_equal(fe_ring_init(&f->fe, 0, 8), 0);
	start_ring(f, 0, 0);
	vhu_wr64(reg + 8, FE_GPA_BASE);
	vhu_wr64(reg + 16, MEM_SIZE);
	vhu_wr64(reg + 24, FE_UVA_BASE);
	vhu_wr64(reg + 32, 0);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_REM_MEM_REG, VHU_FLAG_NEED_REPLY, reg, sizeof(reg),
				 NULL, 0),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_REM_MEM_REG), 0);
	assert_null(m->translate(m->opaque, fe_gpa(0x1000), 1, &avail, false));
	assert_int_equal(count_maps(), maps + 2);
	check_alias(f, 0);
	/* a stopped ring is not enough (buffers held across a VM pause may
	 * point into it): the mapping goes when the owner releases it */
	get_vring_base(f, 0, 0);
	assert_int_equal(count_maps(), maps + 2);
	vhu_dev_release_retired(f->dev);
	assert_int_equal(count_maps(), maps + 1);
	/* removing an unknown region is an error */
	assert_int_equal(fe_send(&f->fe, VHU_REQ_REM_MEM_REG, 0, reg, sizeof(reg), NULL, 0), 0);
	expect_closed(f);
	munmap(x, 1 << 20);
	close(extra);
}

/* An identical SET_MEM_TABLE keeps the mapping (no remap under a ring). */
static void test_mem_table_same(void **state)
{
	struct fake *f = *state;
	int maps = count_maps();

	negotiate(f, OFFERED | (1ull << 30));
	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(fe_ring_init(&f->fe, 3, 8), 0);
	start_ring(f, 3, 0);
	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(count_maps(), maps + 1);
	check_alias(f, 3);
}

/* SET_MEM_TABLE of the whole guest memory seen at frontend address uva. */
static void set_table_at(struct fake *f, uint64_t uva)
{
	assert_int_equal(fe_set_mem_table(&f->fe, uva, f->fe.mem_size, true), 0);
}

static int count_named(const char *name)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		n += strstr(line, name) != NULL;
	fclose(fp);
	return n;
}

/* Table churn with every ring stopped fills the retired list: the mappings
 * nothing points into are released, the one a parked buffer points into
 * (region "fe-extra", left out of every new table) stays mapped until the
 * owner lets go of it. */
static void test_mem_churn_keeps_held(void **state)
{
	struct fake *f = *state;
	int extra = memfd_create("fe-extra", MFD_CLOEXEC);
	uint8_t reg[VHU_MEMREG_SIZE] = { 0 };
	const struct virtq_mem *m;
	uint64_t avail = 0, gpa2 = fe_gpa(MEM_SIZE);
	int ram = count_named("guest-ram");

	assert_true(extra >= 0);
	assert_int_equal(ftruncate(extra, 1 << 20), 0);
	negotiate(f, OFFERED | (1ull << 30));
	set_table_at(f, FE_UVA_BASE);
	vhu_wr64(reg + 8, gpa2);
	vhu_wr64(reg + 16, 1 << 20);
	vhu_wr64(reg + 24, FE_UVA_BASE + 0x10000000);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_ADD_MEM_REG, VHU_FLAG_NEED_REPLY, reg, sizeof(reg),
				 &extra, 1),
			 0);
	assert_int_equal(fe_ack(&f->fe, VHU_REQ_ADD_MEM_REG), 0);
	m = vhu_dev_mem(f->dev);
	f->held = m->translate(m->opaque, gpa2 + 64, 64, &avail, true);
	assert_non_null(f->held);
	assert_int_equal(count_named("fe-extra"), 1);
	for (unsigned int i = 1; i <= 3 * VHU_MAX_RETIRED; i++)
		set_table_at(f, FE_UVA_BASE + (i % 2 ? 1ull << 32 : 0));
	assert_int_equal(count_named("fe-extra"), 1);
	assert_true(count_named("guest-ram") <= ram + VHU_MAX_RETIRED);
	assert_int_equal(f->held[0], 0);
	f->held = NULL;
	vhu_dev_release_retired(f->dev);
	assert_int_equal(count_named("fe-extra"), 0);
	assert_int_equal(count_named("guest-ram"), ram + 1);
	close(extra);
}

/* ---- malformed input: each closes the connection ------------------------- */

static void test_bad_version(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_send_raw(&f->fe, VHU_REQ_GET_FEATURES, 0x2, 0, NULL, 0, NULL, 0), 0);
	expect_closed(f);
}

static void test_reply_flag_in_request(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_send_raw(&f->fe, VHU_REQ_GET_FEATURES, 0x5, 0, NULL, 0, NULL, 0), 0);
	expect_closed(f);
}

static void test_wrong_size(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_FEATURES, 0, "\0\0\0\0", 4, NULL, 0), 0);
	expect_closed(f);
}

static void test_size_on_get(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_FEATURES, 0, "\0\0\0\0\0\0\0\0", 8, NULL, 0),
			 0);
	expect_closed(f);
}

static void test_huge_size(void **state)
{
	struct fake *f = *state;

	/* An unknown request announcing 1 GiB: refused before reading it. */
	assert_int_equal(fe_send_raw(&f->fe, 99, 1, 1u << 30, NULL, 0, NULL, 0), 0);
	expect_closed(f);
}

static void test_too_many_fds(void **state)
{
	struct fake *f = *state;
	uint8_t p[VHU_MEMTABLE_HDR + 8 * VHU_REGION_SIZE] = { 0 };
	int fds[9];

	for (int i = 0; i < 9; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	vhu_wr32(p, 8);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_MEM_TABLE, 0, p, sizeof(p), fds, 9), 0);
	for (int i = 0; i < 9; i++)
		close(fds[i]);
	expect_closed(f);
}

static void test_fd_where_none_expected(void **state)
{
	struct fake *f = *state;
	int e = eventfd(0, EFD_CLOEXEC);

	assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_FEATURES, 0, NULL, 0, &e, 1), 0);
	close(e);
	expect_closed(f);
}

static void test_missing_kick_fd(void **state)
{
	struct fake *f = *state;

	send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 0, -1);
	expect_closed(f);
}

static void test_fd_with_nofd_flag(void **state)
{
	struct fake *f = *state;
	int e = eventfd(0, EFD_CLOEXEC);

	send_u64_fd(f, VHU_REQ_SET_VRING_CALL, 1 | VHU_VRING_NOFD, e);
	close(e);
	expect_closed(f);
}

static void test_missing_mem_fd(void **state)
{
	struct fake *f = *state;
	uint8_t p[VHU_MEMTABLE_HDR + VHU_REGION_SIZE] = { 0 };

	vhu_wr32(p, 1);
	vhu_wr64(p + 8, FE_GPA_BASE);
	vhu_wr64(p + 16, 4096);
	vhu_wr64(p + 24, FE_UVA_BASE);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_MEM_TABLE, 0, p, sizeof(p), NULL, 0), 0);
	expect_closed(f);
}

static void test_mem_table_size_mismatch(void **state)
{
	struct fake *f = *state;
	uint8_t p[VHU_MEMTABLE_HDR + 2 * VHU_REGION_SIZE] = { 0 };

	/* says 2 regions, carries 1 */
	vhu_wr32(p, 2);
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_MEM_TABLE, 0, p,
				 VHU_MEMTABLE_HDR + VHU_REGION_SIZE, &f->fe.memfd, 1),
			 0);
	expect_closed(f);
}

static void send_regions(struct fake *f, const uint64_t (*reg)[4], unsigned int n, int fd)
{
	uint8_t p[VHU_MEMTABLE_HDR + 8 * VHU_REGION_SIZE] = { 0 };
	int fds[8];

	vhu_wr32(p, n);
	for (unsigned int i = 0; i < n; i++) {
		for (int k = 0; k < 4; k++)
			vhu_wr64(p + VHU_MEMTABLE_HDR + i * VHU_REGION_SIZE + 8 * k, reg[i][k]);
		fds[i] = fd;
	}
	assert_int_equal(fe_send(&f->fe, VHU_REQ_SET_MEM_TABLE, VHU_FLAG_NEED_REPLY, p,
				 VHU_MEMTABLE_HDR + n * VHU_REGION_SIZE, fds, n),
			 0);
}

static void test_overlapping_regions(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[2][4] = {
		{ FE_GPA_BASE, 1 << 20, FE_UVA_BASE, 0 },
		{ FE_GPA_BASE + 4096, 1 << 20, FE_UVA_BASE + (2 << 20), 0 },
	};
	int maps = count_maps();

	send_regions(f, reg, 2, f->fe.memfd);
	expect_closed(f);
	assert_int_equal(count_maps(), maps);
}

static void test_overlapping_uva(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[2][4] = {
		{ FE_GPA_BASE, 1 << 20, FE_UVA_BASE, 0 },
		{ FE_GPA_BASE + (1 << 20), 1 << 20, FE_UVA_BASE + 4096, 1 << 20 },
	};

	send_regions(f, reg, 2, f->fe.memfd);
	expect_closed(f);
}

static void test_overflowing_region(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[1][4] = { { UINT64_MAX - 4095, 8192, FE_UVA_BASE, 0 } };

	send_regions(f, reg, 1, f->fe.memfd);
	expect_closed(f);
}

static void test_region_past_file_end(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[1][4] = { { FE_GPA_BASE, MEM_SIZE, FE_UVA_BASE, 4096 } };

	send_regions(f, reg, 1, f->fe.memfd);
	expect_closed(f);
}

static void test_region_not_a_file(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[1][4] = { { FE_GPA_BASE, 4096, FE_UVA_BASE, 0 } };
	int e = eventfd(0, EFD_CLOEXEC);

	send_regions(f, reg, 1, e);
	close(e);
	expect_closed(f);
}

static void test_second_table_bad_keeps_nothing(void **state)
{
	struct fake *f = *state;
	const uint64_t reg[2][4] = {
		{ FE_GPA_BASE, 1 << 20, FE_UVA_BASE, 0 },
		{ FE_GPA_BASE + (1 << 20), 1 << 20, FE_UVA_BASE + (1 << 20), MEM_SIZE },
	};
	int maps = count_maps();

	/* first region maps, second is past the file end: nothing stays mapped */
	send_regions(f, reg, 2, f->fe.memfd);
	expect_closed(f);
	assert_int_equal(count_maps(), maps);
}

static void test_queue_index_out_of_range(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 4, 64, false), 0);
	expect_closed(f);
}

static void test_kick_index_out_of_range(void **state)
{
	struct fake *f = *state;
	int e = eventfd(0, EFD_CLOEXEC);

	send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 5, e);
	close(e);
	expect_closed(f);
}

static void test_kick_unknown_bits(void **state)
{
	struct fake *f = *state;
	int e = eventfd(0, EFD_CLOEXEC);

	send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 0x200, e);
	close(e);
	expect_closed(f);
}

static void test_get_vring_base_out_of_range(void **state)
{
	struct fake *f = *state;
	uint8_t p[8] = { 7 };

	assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_VRING_BASE, 0, p, 8, NULL, 0), 0);
	expect_closed(f);
}

static void test_num_not_power_of_two(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 0, 48, false), 0);
	expect_closed(f);
}

static void test_num_zero(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 0, 0, false), 0);
	expect_closed(f);
}

static void test_num_too_big(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 0, 65536, false), 0);
	expect_closed(f);
}

static void test_base_upper_bits(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_BASE, 0, 0x10000, false), 0);
	expect_closed(f);
}

static void test_enable_bad_value(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_ENABLE, 0, 2, false), 0);
	expect_closed(f);
}

static void test_ring_outside_memory(void **state)
{
	struct fake *f = *state;

	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 0, 64, false), 0);
	/* the used ring's end lies past the region */
	set_addr(f, 0, fe_uva(0x1000), fe_uva(MEM_SIZE - 64), fe_uva(0x2000));
	expect_closed(f);
}

static void test_ring_outside_memory_at_start(void **state)
{
	struct fake *f = *state;
	int e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	/* addresses before any memory table: caught when the ring starts */
	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 0, 64, false), 0);
	set_addr(f, 0, fe_uva(0x1000), fe_uva(0x3000), fe_uva(0x2000));
	assert_true(fe_quiet(&f->fe));
	send_u64_fd(f, VHU_REQ_SET_VRING_KICK, 0, e);
	close(e);
	expect_closed(f);
	assert_int_equal(f->starts[0], 0);
}

static void test_ring_misaligned(void **state)
{
	struct fake *f = *state;

	assert_int_equal(set_mem_table(f, true), 0);
	set_addr(f, 0, fe_uva(0x1008), fe_uva(0x3000), fe_uva(0x2000));
	expect_closed(f);
}

static void test_ring_busy(void **state)
{
	struct fake *f = *state;

	assert_int_equal(set_mem_table(f, true), 0);
	assert_int_equal(fe_ring_init(&f->fe, 2, 8), 0);
	start_ring(f, 2, 0);
	/* resizing a running ring */
	assert_int_equal(fe_set_state(&f->fe, VHU_REQ_SET_VRING_NUM, 2, 16, false), 0);
	expect_closed(f);
}

static void test_unoffered_feature(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_FEATURES, 1ull << 34, true), -EREMOTEIO);
	expect_closed(f);
	assert_int_equal(f->set_features_calls, 0);
}

static void test_unoffered_protocol_feature(void **state)
{
	struct fake *f = *state;

	assert_int_equal(fe_set_u64(&f->fe, VHU_REQ_SET_PROTOCOL_FEATURES, 1ull << 16, false), 0);
	expect_closed(f);
}

static void test_config_size_mismatch(void **state)
{
	struct fake *f = *state;
	uint8_t p[VHU_CONFIG_HDR + 12] = { 0 };

	vhu_wr32(p + 4, 16); /* says 16, carries 12 */
	assert_int_equal(fe_send(&f->fe, VHU_REQ_GET_CONFIG, 0, p, sizeof(p), NULL, 0), 0);
	expect_closed(f);
}

static void test_eof_mid_message(void **state)
{
	struct fake *f = *state;
	uint8_t hdr[6] = { 1 };

	assert_int_equal(send(f->fe.sock, hdr, sizeof(hdr), 0), 6);
	assert_true(fe_quiet(&f->fe));
	shutdown(f->fe.sock, SHUT_WR);
	assert_int_equal(pump(f), -ECONNRESET);
	assert_null(f->dev);
}

static void test_eof(void **state)
{
	struct fake *f = *state;

	shutdown(f->fe.sock, SHUT_WR);
	assert_int_equal(pump(f), -ECONNRESET);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_qemu_sequence),
		T(test_no_protocol_features),
		T(test_reply_ack),
		T(test_partial_messages),
		T(test_kick_fd_replaced),
		T(test_mem_regions),
		T(test_mem_table_same),
		T(test_mem_churn_keeps_held),
		T(test_bad_version),
		T(test_reply_flag_in_request),
		T(test_wrong_size),
		T(test_size_on_get),
		T(test_huge_size),
		T(test_too_many_fds),
		T(test_fd_where_none_expected),
		T(test_missing_kick_fd),
		T(test_fd_with_nofd_flag),
		T(test_missing_mem_fd),
		T(test_mem_table_size_mismatch),
		T(test_overlapping_regions),
		T(test_overlapping_uva),
		T(test_overflowing_region),
		T(test_region_past_file_end),
		T(test_region_not_a_file),
		T(test_second_table_bad_keeps_nothing),
		T(test_queue_index_out_of_range),
		T(test_kick_index_out_of_range),
		T(test_kick_unknown_bits),
		T(test_get_vring_base_out_of_range),
		T(test_num_not_power_of_two),
		T(test_num_zero),
		T(test_num_too_big),
		T(test_base_upper_bits),
		T(test_enable_bad_value),
		T(test_ring_outside_memory),
		T(test_ring_outside_memory_at_start),
		T(test_ring_misaligned),
		T(test_ring_busy),
		T(test_unoffered_feature),
		T(test_unoffered_protocol_feature),
		T(test_config_size_mismatch),
		T(test_eof_mid_message),
		T(test_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
