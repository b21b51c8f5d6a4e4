/* SPDX-License-Identifier: MIT */
#include "fuzz_dev.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drive/req.h"
#include "fakehost.h"
#include "fuzz_input.h"
#include "util/iov.h"
#include "vsnd/backend.h"
#include "wire/virtio_snd.h"
#include "vsnd/vsnd.h"

#define FD_MAX_IOV 16
#define FD_MAX_CHAINS 256       /* per input: bounds memory and time */
#define FD_MAX_RD 4096
#define FD_MAX_WR 8192
#define FD_FIFO 64

struct fd_chain {
	struct vsnd_chain c;    /* first member: the device hands it back */
	struct iovec iov[FD_MAX_IOV];
	uint8_t *rd, *wr;
	unsigned int q;
	bool popped, pushed;
};

struct fdev {
	struct vsnd_dev *dev;
	struct vsnd_backend *be;
	struct fakehost host;
	struct fd_chain *fifo[VSND_NUM_QUEUES][FD_FIFO];
	unsigned int head[VSND_NUM_QUEUES], tail[VSND_NUM_QUEUES];
	bool stopped[VSND_NUM_QUEUES];
	bool broken[VSND_NUM_QUEUES];
	struct fd_chain *all[FD_MAX_CHAINS];
	unsigned int n_all;
	unsigned int wakeups;   /* timer firings so far in this input */
};

static void fd_fail(const char *what)
{
	fprintf(stderr, "fuzz_dev: contract violation: %s\n", what);
	abort();
}

static int fd_pop(void *opaque, unsigned int q, struct vsnd_chain **out)
{
	struct fdev *f = opaque;
	struct fd_chain *c;

	if (q >= VSND_NUM_QUEUES)
		fd_fail("pop of a queue that does not exist");
	if (f->broken[q])
		return -EIO;
	if (f->stopped[q] || f->head[q] == f->tail[q])
		return -EAGAIN;
	c = f->fifo[q][f->head[q]++ % FD_FIFO];
	c->popped = true;
	*out = &c->c;
	return 0;
}

static void fd_push(void *opaque, unsigned int q, struct vsnd_chain *chain, uint32_t len)
{
	struct fdev *f = opaque;
	struct fd_chain *c = (struct fd_chain *)chain;

	if (q >= VSND_NUM_QUEUES || c->q != q)
		fd_fail("chain pushed to another queue");
	if (!c->popped || c->pushed)
		fd_fail("chain pushed twice or never popped");
	if (len > c->c.wr_len)
		fd_fail("used length beyond the writable part");
	if (f->stopped[q])
		fd_fail("push to a stopped queue");
	c->pushed = true;
}

static void fd_notify(void *opaque, unsigned int q)
{
	(void)opaque;
	if (q >= VSND_NUM_QUEUES)
		fd_fail("notify of a queue that does not exist");
}

static const struct vsnd_transport_ops fd_transport = {
	.size = sizeof(struct vsnd_transport_ops),
	.pop = fd_pop,
	.push = fd_push,
	.notify = fd_notify,
};

/* Cut buf into at most max iovecs at fuzzer-chosen offsets (empty pieces
 * included: a descriptor of length 0 is legal). Returns the count. */
static unsigned int fd_cut(struct fz *in, struct iovec *iov, unsigned int max, uint8_t *buf,
			   size_t len)
{
	unsigned int n = 1 + fz_u8(in) % max;
	size_t off = 0;

	for (unsigned int i = 0; i < n; i++) {
		size_t l = i == n - 1 ? len - off : fz_u16(in) % (len - off + 1);
		iov[i].iov_base = buf + off;
		iov[i].iov_len = l;
		off += l;
	}
	return n;
}

/* A chain: rd_len bytes of rd (NULL: from the input), wr_len writable. */
static struct fd_chain *fd_chain(struct fdev *f, struct fz *in, const uint8_t *rd, size_t rd_len,
				 size_t wr_len)
{
	struct fd_chain *c;

	if (f->n_all == FD_MAX_CHAINS)
		return NULL;
	c = calloc(1, sizeof(*c));
	c->rd = malloc(rd_len + 1);
	c->wr = malloc(wr_len + 1);
	if (rd)
		memcpy(c->rd, rd, rd_len);
	else
		fz_bytes(in, c->rd, rd_len);
	memset(c->wr, 0xa5, wr_len);
	c->c.n_rd = rd_len ? fd_cut(in, c->iov, FD_MAX_IOV / 2, c->rd, rd_len) : 0;
	c->c.n_wr = wr_len ? fd_cut(in, c->iov + c->c.n_rd, FD_MAX_IOV / 2, c->wr, wr_len) : 0;
	c->c.rd = c->iov;
	c->c.wr = c->iov + c->c.n_rd;
	c->c.rd_len = rd_len;
	c->c.wr_len = wr_len;
	f->all[f->n_all++] = c;
	return c;
}

static void fd_post(struct fdev *f, unsigned int q, struct fd_chain *c)
{
	if (!c || f->tail[q] - f->head[q] == FD_FIFO)
		return; /* the ring is full: a driver would wait */
	c->q = q;
	f->fifo[q][f->tail[q]++ % FD_FIFO] = c;
	if (!f->stopped[q]) /* a stopped ring's kicks never reach the device */
		vsnd_dev_kick(f->dev, q);
}

/* Advance the fake clock by dt, firing the device timer on the way as the
 * daemon's loop does (fh_run_until: a device that re-arms a deadline it
 * already reached is a finding).
 * Firing every deadline of a long stretch repeats the same states: an input
 * simulated seconds of 1 ms ticks (25,000 firings), and ran 60 a second.
 * So an input fires at most FD_WAKEUP_BUDGET timers; after that each tick
 * jumps to its end in one late firing, as a host that fell behind would (a
 * path of its own), and within a tick past FD_MAX_WAKEUPS likewise. */
#define FD_MAX_WAKEUPS 20000
#define FD_WAKEUP_BUDGET 1000
static void fd_fire(void *dev)
{
	vsnd_dev_process(dev);
}

static void fd_tick(struct fdev *f, uint64_t dt)
{
	unsigned int budget = FD_WAKEUP_BUDGET - f->wakeups;

	f->wakeups += fh_run_until(&f->host, f->host.now + dt,
				   budget < FD_MAX_WAKEUPS ? budget : FD_MAX_WAKEUPS, fd_fire, f->dev);
	vsnd_dev_process(f->dev);
}

static const uint32_t fd_codes[] = {
	VIRTIO_SND_R_JACK_INFO, VIRTIO_SND_R_JACK_REMAP, VIRTIO_SND_R_PCM_INFO,
	VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_RELEASE,
	VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP, VIRTIO_SND_R_CHMAP_INFO,
	VIRTIO_SND_R_CTL_INFO, VIRTIO_SND_R_CTL_ENUM_ITEMS, VIRTIO_SND_R_CTL_READ,
	VIRTIO_SND_R_CTL_WRITE, VIRTIO_SND_R_CTL_TLV_READ, VIRTIO_SND_R_CTL_TLV_WRITE,
	VIRTIO_SND_R_CTL_TLV_COMMAND,
};

/* A control request of any size whose first word is a known code (or,
 * sometimes, anything), then fuzzer bytes. */
static void fd_ctl_raw(struct fdev *f, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	size_t rd_len = fz_u16(in) % 1024;
	size_t wr_len = fz_u16(in) % 2048;
	uint8_t rd[1024];

	fz_bytes(in, rd, rd_len);
	if (sel < 224 && rd_len >= 4)
		vsnd_put_le32(rd, fd_codes[sel % (sizeof(fd_codes) / sizeof(fd_codes[0]))]);
	fd_post(f, VSND_QUEUE_CONTROL, fd_chain(f, in, rd, rd_len, wr_len));
}

/* A well-formed PCM request (the state machine's inputs), with fuzzer
 * parameters for SET_PARAMS. */
static void fd_ctl_pcm(struct fdev *f, struct fz *in)
{
	uint8_t req[VIRTIO_SND_PCM_SET_PARAMS_SIZE] = { 0 };
	uint32_t code = VIRTIO_SND_R_PCM_SET_PARAMS + fz_u8(in) % 5;
	size_t len = VIRTIO_SND_PCM_HDR_SIZE;

	uint32_t stream = fz_u8(in) % 3;

	req_hdr(req, code, stream);
	if (code == VIRTIO_SND_R_PCM_SET_PARAMS) {
		struct req_params p = { .stream = stream };
		uint8_t pick = fz_u8(in);

		/* mostly sane sizes so streams really run; sometimes anything;
		 * the input is read in the order of the fields */
		p.buffer_bytes = pick & 1 ? fz_u32(in) : 4u * (1 + fz_u16(in) % 4096);
		p.period_bytes = pick & 2 ? fz_u32(in) : p.buffer_bytes / (1 + fz_u8(in) % 8);
		p.features = pick & 4 ? fz_u32(in) : 0;
		p.channels = pick & 8 ? fz_u8(in) : (uint8_t)(1 + (fz_u8(in) & 1));
		p.format = pick & 16 ? fz_u8(in) : (uint8_t)(VSND_PCM_FMT_S16 + fz_u8(in) % 4);
		p.rate = pick & 32 ? fz_u8(in) : (uint8_t)(fz_u8(in) % VSND_PCM_RATE_COUNT);
		req_set_params(req, &p);
		len = sizeof(req);
	}
	fd_post(f, VSND_QUEUE_CONTROL, fd_chain(f, in, req, len, VIRTIO_SND_HDR_SIZE));
}

/* TX: [xfer][frames] -> [status]; RX: [xfer] -> [frames][status]. A few
 * percent of chains are malformed on purpose (short or missing parts). */
static void fd_io(struct fdev *f, struct fz *in, unsigned int q)
{
	uint8_t sel = fz_u8(in);
	uint32_t stream = sel & 0x80 ? fz_u32(in) : fz_u8(in) % 3;
	size_t bytes = fz_u16(in) % (FD_MAX_WR - 64);
	uint8_t hdr[VIRTIO_SND_PCM_XFER_SIZE];
	struct fd_chain *c;

	vsnd_put_le32(hdr, stream);
	if (sel & 0x40) {
		size_t rd_len = fz_u16(in) % FD_MAX_RD, wr_len = fz_u16(in) % FD_MAX_WR;
		c = fd_chain(f, in, NULL, rd_len, wr_len);
	} else if (q == VSND_QUEUE_TX) {
		uint8_t *buf = calloc(1, VIRTIO_SND_PCM_XFER_SIZE + bytes);
		memcpy(buf, hdr, sizeof(hdr));
		fz_bytes(in, buf + sizeof(hdr), bytes);
		c = fd_chain(f, in, buf, VIRTIO_SND_PCM_XFER_SIZE + bytes,
			     VIRTIO_SND_PCM_STATUS_SIZE);
		free(buf);
	} else {
		c = fd_chain(f, in, hdr, sizeof(hdr), bytes + VIRTIO_SND_PCM_STATUS_SIZE);
	}
	fd_post(f, q, c);
}

/* Transport events a vhost-user frontend can cause at any time. */
static void fd_transport_event(struct fdev *f, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	unsigned int q = sel % VSND_NUM_QUEUES;

	switch ((sel >> 2) % 4) {
	case 0: /* GET_VRING_BASE (VM pause) */
		vsnd_dev_queue_stop(f->dev, q);
		f->stopped[q] = true;
		break;
	case 1: /* the ring runs again */
		f->stopped[q] = false;
		vsnd_dev_kick(f->dev, q);
		break;
	case 2: /* driver reset: the rings are gone */
		vsnd_dev_reset(f->dev);
		for (unsigned int i = 0; i < VSND_NUM_QUEUES; i++) {
			f->head[i] = f->tail[i];
			f->stopped[i] = false;
		}
		break;
	default: /* the ring restarts, maybe corrupt */
		if (sel & 0x80)
			f->broken[q] = true;
		f->stopped[q] = false;
		vsnd_dev_kick(f->dev, q);
		break;
	}
}

static void fd_host_event(struct fdev *f, struct fz *in)
{
	uint8_t sel = fz_u8(in);
	uint8_t arg = fz_u8(in);

	switch (sel % 4) {
	case 0:
		vsnd_dev_jack_set(f->dev, arg % 4, sel & 0x10);
		break;
	case 1:
		vsnd_dev_volume_set(f->dev, arg % 4, (int)fz_u8(in) - 20);
		break;
	case 2:
		vsnd_dev_mute_set(f->dev, arg % 4, sel & 0x10);
		break;
	default: {
		struct vsnd_stream_status st = { .size = sizeof(st) };
		for (unsigned int i = 0; i < vsnd_dev_stream_count(f->dev); i++)
			if (vsnd_dev_stream_status(f->dev, i, &st) == 0 &&
			    strcmp(vsnd_stream_state_name(st.state), "?") == 0)
				fd_fail("stream without a state");
		break;
	}
	}
}

static void fd_step(struct fdev *f, struct fz *in, enum fdev_mode mode)
{
	uint8_t op = fz_u8(in);

	if (mode == FDEV_CTL) {
		switch (op % 10) {
		case 0: case 1: case 2: case 3: fd_ctl_raw(f, in); return;
		case 4: case 5: fd_ctl_pcm(f, in); return;
		case 6: fd_tick(f, fz_u32(in)); return;
		case 7: fd_post(f, VSND_QUEUE_EVENT,
				fd_chain(f, in, NULL, 0, fz_u8(in) % 16)); return;
		case 8: fd_transport_event(f, in); return;
		default: fd_host_event(f, in); return;
		}
	}
	switch (op % 10) {
	case 0: case 1: fd_ctl_pcm(f, in); return;
	case 2: case 3: fd_io(f, in, VSND_QUEUE_TX); return;
	case 4: case 5: fd_io(f, in, VSND_QUEUE_RX); return;
	case 6: case 7: fd_tick(f, (uint64_t)fz_u16(in) * 10000); return;
	case 8: fd_transport_event(f, in); return;
	default: fd_ctl_raw(f, in); return;
	}
}

void fdev_run(const uint8_t *data, size_t size, enum fdev_mode mode)
{
	struct fz in = { data, size };
	struct fdev *f = calloc(1, sizeof(*f));
	struct vsnd_backend_env env;
	uint8_t flags = fz_u8(&in);
	struct vsnd_dev_config cfg = {
		.size = sizeof(struct vsnd_dev_config),
		.controls = flags & 1,
		.host = &fh_ops,
		.host_opaque = &f->host,
		.transport = &fd_transport,
		.transport_opaque = f,
	};

	fh_init(&f->host, 1000000000ull);
	env = fh_log_env(&f->host.log);
	if (vsnd_backend_create("null", &env, &f->be) != 0)
		fd_fail("null backend");
	cfg.backend = f->be;
	if (vsnd_dev_new(&f->dev, &cfg) != 0)
		fd_fail("device");
	vsnd_dev_set_features(f->dev, vsnd_dev_features(f->dev) & (flags & 2 ? ~0ull : ~1ull));
	for (unsigned int steps = 0; in.n && steps < 512; steps++)
		fd_step(f, &in, mode);
	fd_tick(f, 50000000);
	vsnd_dev_free(f->dev);
	vsnd_backend_destroy(f->be);
	for (unsigned int i = 0; i < f->n_all; i++) {
		free(f->all[i]->rd);
		free(f->all[i]->wr);
		free(f->all[i]);
	}
	free(f);
}
