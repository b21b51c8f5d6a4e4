/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the vhost-user message handler with the whole device
 * behind it (a daemon session: vhu_dev + vqset + split rings + device model,
 * null backend). The input is a script: messages (any header, any claimed
 * size, payload bytes, 0 to 9 fds of several kinds: a memfd of guest memory,
 * an eventfd, /dev/null), raw partial bytes, writes into guest memory, kicks
 * and clock ticks. After every input the process must hold exactly the fds
 * it held before: every fd received is closed, every mapping released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/session.h"
#include "drive/fe.h"
#include "fakehost.h"
#include "fuzz_input.h"
#include "vsnd/backend.h"

#define VU_MEM_SIZE 0x10000u
#define VU_MAX_PAYLOAD 512
#define VU_KEPT 16

struct vu {
	struct vd_session *s;
	struct fe fe;           /* the frontend: its socket non-blocking, and
	                         * the guest memory */
	int kept[VU_KEPT];      /* our copies of eventfds sent as kick fds */
	unsigned int n_kept;
	struct fakehost host;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void vu_fail(const char *what)
{
	fprintf(stderr, "fuzz_vhu: %s\n", what);
	abort();
}

static int vu_count_fds(void)
{
	int n = fe_count_fds(0);

	if (n < 0)
		vu_fail("cannot list /proc/self/fd");
	return n;
}

static void vu_watch(void *opaque, unsigned int q, int fd)
{
	(void)opaque;
	(void)q;
	(void)fd;
}

/* One fd of the kind the input asks for; -1 if none could be made. */
static int vu_make_fd(struct vu *v, uint8_t kind)
{
	int fd;

	switch (kind % 3) {
	case 0:
		return dup(v->fe.memfd);
	case 1:
		fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd >= 0 && v->n_kept < VU_KEPT)
			v->kept[v->n_kept++] = dup(fd);
		return fd;
	default:
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	}
}

static void vu_drain(struct vu *v)
{
	uint8_t buf[4096];

	while (recv(v->fe.sock, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Returns false once the back-end dropped the connection. */
static bool vu_serve(struct vu *v)
{
	int rc = vd_session_handle_socket(v->s);

	vu_drain(v);
	return rc == 0;
}

static bool vu_message(struct vu *v, struct fz *in)
{
	uint8_t payload[VU_MAX_PAYLOAD];
	int fds[10];
	uint8_t b = fz_u8(in), fl = fz_u8(in);
	uint32_t req = b < 0xf0 ? b % 41u : fz_u32(in);
	uint32_t flags = fl & 0x80 ? fz_u32(in) : 1u | (fl & 0x0cu);
	size_t plen = fz_u16(in) % VU_MAX_PAYLOAD;
	uint32_t size = fl & 0x40 ? fz_u32(in) : (uint32_t)plen;
	unsigned int nfds, made = 0;
	uint8_t nb;

	fz_bytes(in, payload, plen);
	nb = fz_u8(in);
	nfds = nb & 0x80 ? (nb & 0x7fu) % 10u : nb % 3u;
	for (unsigned int i = 0; i < nfds; i++) {
		int fd = vu_make_fd(v, fz_u8(in));
		if (fd >= 0)
			fds[made++] = fd;
	}
	/* A full socket buffer just drops the message: the back-end then sees
	 * a truncated stream, which is one more malformed input. */
	(void)fe_send_raw(&v->fe, req, flags, size, payload, plen, fds, made);
	for (unsigned int i = 0; i < made; i++)
		close(fds[i]);
	return vu_serve(v);
}

static bool vu_step(struct vu *v, struct fz *in)
{
	uint8_t op = fz_u8(in);
	uint8_t buf[256];
	size_t len;

	switch (op % 8) {
	case 0: case 1: case 2: case 3:
		return vu_message(v, in);
	case 4: {
		uint64_t one = 1;
		for (unsigned int i = 0; i < v->n_kept; i++)
			if (v->kept[i] >= 0)
				(void)!write(v->kept[i], &one, sizeof(one));
		vd_session_handle_kick(v->s, fz_u8(in) % 4);
		return true;
	}
	case 5: { /* the guest writes its memory (rings, requests) */
		size_t off = fz_u16(in) % VU_MEM_SIZE;
		len = fz_u8(in);
		if (len > VU_MEM_SIZE - off)
			len = VU_MEM_SIZE - off;
		fz_bytes(in, v->fe.mem + off, len);
		return true;
	}
	case 6:
		v->host.now += fz_u32(in);
		vd_session_process(v->s);
		return true;
	default: /* raw bytes: partial messages, garbage between messages */
		len = fz_u8(in);
		fz_bytes(in, buf, len);
		(void)fe_send_bytes(&v->fe, buf, len, NULL, 0);
		return vu_serve(v);
	}
}

static void vu_run(struct vsnd_backend *be, struct fz *in)
{
	struct vu v = { 0 };
	struct vd_session_config cfg = {
		.backend = be, .controls = true, .host = &fh_ops, .host_opaque = &v.host,
		.watch_kick = vu_watch,
	};
	int peer;

	fh_init(&v.host, 1000000000ull);
	cfg.controls = fz_u8(in) & 1;
	if (fe_pair(&v.fe, VU_MEM_SIZE, &peer) != 0)
		vu_fail("frontend");
	/* never block on a full socket: the session is served between steps */
	if (fcntl(v.fe.sock, F_SETFL, O_NONBLOCK) < 0)
		vu_fail("O_NONBLOCK");
	if (vd_session_new(&v.s, peer, &cfg) != 0)
		vu_fail("vd_session_new");
	for (unsigned int steps = 0; in->n && steps < 256; steps++)
		if (!vu_step(&v, in))
			break;
	vd_session_free(v.s);
	for (unsigned int i = 0; i < v.n_kept; i++)
		if (v.kept[i] >= 0)
			close(v.kept[i]);
	fe_close(&v.fe);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vsnd_backend *be;
	static struct fh_log be_log;
	static struct vsnd_backend_env env;
	struct fz in = { data, size };
	int before;

	if (!be) {
		env = fh_log_env(&be_log);
		if (!be_log.print)
			vd_log_set_level(VSND_LOG_ERROR);
		if (vsnd_backend_create("null", &env, &be) != 0)
			vu_fail("null backend");
	}
	before = vu_count_fds();
	vu_run(be, &in);
	if (vu_count_fds() != before)
		vu_fail("fd leak");
	return 0;
}
