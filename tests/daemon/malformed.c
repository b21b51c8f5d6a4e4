/* SPDX-License-Identifier: MIT */
/*
 * Malformed traffic through the real daemon (issue 7): a hostile driver on
 * top of vsnd-drive's frontend (src/drive/fe.c) writes descriptors and ring
 * entries by hand into its guest memory, against `vsnd --backend null`.
 * After every case the device must still serve: PCM_INFO gives the same
 * records as at the start, and a short playback (4 periods of 10 ms)
 * completes with OK. The daemon must not crash, its fd count must stay the
 * same through the session and back to the idle count after it, and it must
 * exit 0 on SIGTERM.
 *
 * What the device answers (len = used length; "broken" = the device stops
 * serving until the driver resets it, then serves again):
 *
 *   control queue, chain level
 *   | no writable part                        | len 0                      |
 *   | response part readable, not writable    | len 0                      |
 *   | response buffer of 3 bytes (< hdr)      | len 0, buffer untouched    |
 *   | request of 2 bytes (< hdr)              | BAD_MSG, len 4             |
 *   | no readable part                        | BAD_MSG, len 4             |
 *   | zero-length descriptors around the data | OK, served normally        |
 *   | only zero-length descriptors            | len 0                      |
 *   | request + response in 1-byte descs (84) | OK, same records           |
 *   | 512 one-byte descs (indirect)           | OK (exactly the limit)     |
 *   | 600 one-byte descs (indirect, > 512)    | len 0, buffer untouched    |
 *   | buffer address outside guest memory     | len 0                      |
 *   | buffer running past the end of memory   | len 0                      |
 *   | address + length wrapping 2^64          | len 0                      |
 *   | indirect table outside guest memory     | len 0                      |
 *   | 300 aliasing 15 MiB descs (> 2^32 bytes)| len 0                      |
 *   | 64 mixed chains, one kick               | each answered, in order    |
 *   ring corruption (each: broken, no answer, then reset and served)
 *   | desc next out of range | descriptor loop | indirect len 24, len 0  |
 *   | nested indirect        | loop in an indirect table | indirect+NEXT |
 *   | head index out of range | readable after writable                |
 *   | avail idx ahead by more than the ring size | avail idx going back  |
 *   | loop on the TX queue (stream running) | loop on the event queue    |
 *   |                     (noticed when a jack event needs a buffer)     |
 *   TX/RX I/O (the status is the last 8 writable bytes)
 *   | TX header only, no writable part        | len 0                      |
 *   | TX status descriptor of 4 bytes         | len 0                      |
 *   | TX header of 2 bytes                    | IO_ERR, len 8              |
 *   | TX data in a writable descriptor        | IO_ERR, len = writable     |
 *   | TX partial frame                        | IO_ERR, len 8              |
 *   | TX stream id 2 / 99 / 0xffffffff        | IO_ERR, len 8              |
 *   | TX to the RX stream                     | IO_ERR, len 8              |
 *   | RX to the TX stream                     | IO_ERR, len = writable     |
 *   | RX with readable data                   | IO_ERR, len = writable     |
 *   | RX status part of 4 bytes               | len 0                      |
 *   | TX in INITIAL / PARAMS / RELEASED       | IO_ERR, len 8              |
 *   | TX in PREPARED / STOPPED                | held; OK at RELEASE, before|
 *   |                                         | RELEASE's own answer       |
 *   | TX of ~3.98 GiB (aliasing descriptors)  | held, played, OK at RELEASE|
 *   | reset with 8 TX + 8 RX held (running)   | none comes back after it   |
 *   | TX / RX with no data, running           | OK, len 8                  |
 *   | same head made available twice          | both given back at RELEASE |
 *   control requests
 *   | PCM_INFO count 0xffffffff               | BAD_MSG, len 4             |
 *   | PCM_INFO start+count overflowing        | BAD_MSG, len 4             |
 *   | PCM_INFO size 0 / 0xffffffff / count*size wrapping 2^32 | BAD_MSG  |
 *   | CTL_INFO count and size 0xffffffff      | BAD_MSG, len 4             |
 *   | CTL_READ / CTL_TLV_READ id 0xffffffff   | BAD_MSG, len 4             |
 *   | PREPARE of stream 0xffffffff            | BAD_MSG, len 4             |
 *   | request code 0xffffffff                 | NOT_SUPP, len 4            |
 *   event queue
 *   | readable event buffer                   | len 0, the event is kept   |
 *   | writable event buffer of 4 bytes        | len 0, the event is kept   |
 *   | then a good buffer                      | the kept event, len 8      |
 *
 * Usage: test_malformed VSND   (MALFORMED_KEEP_LOG=1 keeps vsnd's log on success)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wire/virtio_snd.h"

#include "drive/drv.h"
#include "drive/pcm_io.h"
#include "drive/req.h"
#include "util/iov.h"
#include "vhost-user/mem.h"
#include "vhost-user/proto.h"
#include "virtq/virtq.h"
#include "util/mono.h"

#define ARENA_SIZE (4u << 20)
#define NO_ANSWER_MS 300        /* how long "no answer" is waited for */
#define ANSWER_MS 2000
#define PERIOD 1920u            /* 10 ms of stereo S16 at 48 kHz */
#define MAX_STREAMS 8

struct h {
	const char *vsnd;
	pid_t pid;
	char dir[64], sock[128], ctl[128], log[128];
	struct drv d;
	size_t arena, arena_used;       /* scratch guest memory, reset per case */
	struct pcm_io play;
	uint8_t info[MAX_STREAMS * VIRTIO_SND_PCM_INFO_SIZE]; /* baseline PCM_INFO */
	uint32_t out, in;               /* an output and an input stream */
	int fds_session;
	unsigned int cases, checks, failures;
};

static struct h H;

static bool check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	H.checks++;
	if (ok)
		return true;
	H.failures++;
	printf("  FAIL: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return false;
}

static void msleep(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the daemon ---- */

/* Is a socket listening at path? (/proc/net/unix flag __SO_ACCEPTCON:
 * vsnd binds before it listens.) */
static bool listening(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long flags;
		char p[256];

		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %255s", &flags, p) == 2)
			found = strcmp(p, path) == 0 && (flags & 0x10000);
	}
	fclose(f);
	return found;
}

static bool daemon_alive(void)
{
	int st;

	return waitpid(H.pid, &st, WNOHANG) == 0;
}

static int daemon_start(void)
{
	snprintf(H.dir, sizeof(H.dir), "/tmp/vsnd-malformed-XXXXXX");
	if (!mkdtemp(H.dir))
		return -errno;
	snprintf(H.sock, sizeof(H.sock), "%s/vsnd.sock", H.dir);
	snprintf(H.ctl, sizeof(H.ctl), "%s/ctl.sock", H.dir);
	snprintf(H.log, sizeof(H.log), "%s/vsnd.log", H.dir);
	H.pid = fork();
	if (H.pid < 0)
		return -errno;
	if (H.pid == 0) {
		int fd = open(H.log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(H.vsnd, H.vsnd, "--socket", H.sock, "--control", H.ctl, "--backend", "null",
		      "--controls", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 1000; i++) {
		if (listening(H.sock) && listening(H.ctl))
			return 0;
		if (!daemon_alive())
			return -ECHILD;
		msleep(10);
	}
	return -ETIMEDOUT;
}

/* SIGTERM; returns the exit status, or -1 if it did not exit normally. */
static int daemon_stop(void)
{
	int st = 0;

	kill(H.pid, SIGTERM);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(H.pid, &st, WNOHANG) == H.pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		msleep(10);
	}
	kill(H.pid, SIGKILL);
	waitpid(H.pid, &st, 0);
	return -1;
}

/* One line to the runtime control socket; true if vsnd answered "ok". */
static bool control(const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char reply[512];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (strlen(H.ctl) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, H.ctl, strlen(H.ctl) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	/* Read to EOF: vsnd has closed its end when we return, so the fd
	 * count is not caught in between. */
	while (got + 1 < sizeof(reply) && (n = read(fd, reply + got, sizeof(reply) - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = 0;
	close(fd);
	return strstr(reply, "ok") != NULL;
}

/* ---- raw descriptors and ring entries ---- */

static size_t scratch(size_t len)
{
	size_t off = H.arena + H.arena_used;

	H.arena_used = (H.arena_used + len + 15) & ~(size_t)15;
	if (H.arena_used > ARENA_SIZE) {
		fprintf(stderr, "test bug: scratch arena exhausted\n");
		exit(2);
	}
	return off;
}

static uint8_t *mem(size_t off)
{
	return H.d.fe.mem + off;
}

static struct vring_seg rd(size_t off, uint32_t len)
{
	return (struct vring_seg){ fe_gpa(off), len, false };
}

static struct vring_seg wr(size_t off, uint32_t len)
{
	return (struct vring_seg){ fe_gpa(off), len, true };
}

/* Descriptor i of queue q's table. */
static void desc(unsigned int q, unsigned int i, uint64_t gpa, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	vring_put_desc(mem(H.d.fe.r[q].desc + 16u * i), gpa, len, flags, next);
}

/* Where descriptor i of queue q points. */
static uint64_t desc_gpa(unsigned int q, unsigned int i)
{
	return vsnd_le64(mem(H.d.fe.r[q].desc + 16u * i));
}

/* Segments as a chain in descriptors base, base+1, ... of queue q. */
static uint16_t chain(unsigned int q, unsigned int base, const struct vring_seg *s, unsigned int n)
{
	vring_put_chain(mem(H.d.fe.r[q].desc + 16u * base), (uint16_t)base, s, n);
	return (uint16_t)base;
}

/* Segments in an indirect table, pointed at by descriptor head of q. */
static uint16_t indirect(unsigned int q, unsigned int head, const struct vring_seg *s,
			 unsigned int n)
{
	size_t table = scratch(16u * n);

	vring_put_chain(mem(table), 0, s, n);
	desc(q, head, fe_gpa(table), 16u * n, VIRTQ_DESC_F_INDIRECT, 0);
	return (uint16_t)head;
}

/* Make head available on q, without a kick. */
static void offer(unsigned int q, uint16_t head)
{
	struct vring *r = &H.d.fe.r[q].ring;

	vring_publish(r, head);
	vring_flush(r);
}

/* Make head available on q and kick, as a driver does. */
static void publish(unsigned int q, uint16_t head)
{
	offer(q, head);
	fe_kick(&H.d.fe, q);
}

/* Next used entry of q within timeout_ms: 0, or -ETIMEDOUT. The frontend's
 * own bookkeeping (chains in flight) is bypassed: these chains are ours. */
static int used(unsigned int q, int timeout_ms, uint32_t *id, uint32_t *len)
{
	uint64_t deadline = vsnd__mono_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		uint64_t now;

		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (vring_take_used(&H.d.fe.r[q].ring, id, len) == 0)
			return 0;
		now = vsnd__mono_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		fe_wait(&H.d.fe, q, (int)((deadline - now) / 1000000u) + 1);
	}
}

/* Publish head on q and expect it back with used length len. */
static bool expect(unsigned int q, uint16_t head, uint32_t len, const char *what)
{
	uint32_t id = 0, l = 0;

	publish(q, head);
	if (!check(used(q, ANSWER_MS, &id, &l) == 0, "%s: no answer", what))
		return false;
	return check(id == head && l == len, "%s: used {%u, %u}, want {%u, %u}", what, id, l,
		     head, len);
}

/* Publish head on q and expect no answer at all (broken device). */
static bool expect_silence(unsigned int q, uint16_t head, const char *what)
{
	uint32_t id = 0, l = 0;

	publish(q, head);
	return check(used(q, NO_ANSWER_MS, &id, &l) == -ETIMEDOUT, "%s: answered {%u, %u}", what,
		     id, l);
}

/* ---- well-formed traffic ---- */

static int baseline(void);

static size_t query(uint32_t code, uint32_t start, uint32_t count, uint32_t size)
{
	size_t q = scratch(VIRTIO_SND_QUERY_INFO_SIZE);

	req_query(mem(q), code, start, count, size);
	return q;
}

static size_t response(uint32_t len)
{
	size_t r = scratch(len);

	memset(mem(r), 0xa5, len); /* the device must overwrite it, or leave it */
	return r;
}

static uint32_t status_at(size_t off)
{
	return vsnd_le32(mem(off));
}

static uint32_t info_len(void)
{
	return VIRTIO_SND_HDR_SIZE + H.d.streams * VIRTIO_SND_PCM_INFO_SIZE;
}

/* A response holding the baseline PCM_INFO records? */
static bool same_info(size_t resp, const char *what)
{
	return check(status_at(resp) == VIRTIO_SND_S_OK &&
			     memcmp(mem(resp) + 4, H.info, info_len() - 4) == 0,
		     "%s: PCM_INFO answer differs (status 0x%x)", what, status_at(resp));
}

/* A well-formed control request through the driver (drv_ctl); the status. */
static int pcm(uint32_t code, uint32_t stream)
{
	return drv_pcm(&H.d, code, stream);
}

static int params(uint32_t stream)
{
	return drv_set_params(&H.d, stream, 4 * PERIOD, PERIOD, 0, 2, VSND_PCM_FMT_S16,
			      VSND_PCM_RATE_48000);
}

/* Put stream id in state st (it is INITIAL, PARAMS or RELEASED). */
static bool stream_to(uint32_t id, int st)
{
	static const uint32_t steps[] = { VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_START,
					  VIRTIO_SND_R_PCM_STOP };
	bool ok = params(id) == VIRTIO_SND_S_OK;

	for (int i = 0; ok && i < st - 1 && i < 3; i++)
		ok = pcm(steps[i], id) == VIRTIO_SND_S_OK;
	if (ok && st == 5)
		ok = pcm(VIRTIO_SND_R_PCM_RELEASE, id) == VIRTIO_SND_S_OK;
	return check(ok, "stream %u to state %d", id, st);
}

/* Back to a state SET_PARAMS accepts, whatever it was. */
static void stream_release(uint32_t id)
{
	pcm(VIRTIO_SND_R_PCM_STOP, id);
	pcm(VIRTIO_SND_R_PCM_RELEASE, id);
}

static bool info_serves(const char *what)
{
	const uint8_t *resp;
	int st = drv_query(&H.d, VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, VIRTIO_SND_PCM_INFO_SIZE,
			   &resp);

	return check(st == VIRTIO_SND_S_OK && memcmp(resp + 4, H.info, info_len() - 4) == 0,
		     "%s: PCM_INFO after the case: %s", what, drv_status_name(st));
}

/* 4 periods through the output stream, each completing OK. */
static bool playback_serves(const char *what)
{
	struct pcm_io_done done;
	bool ok = stream_to(H.out, 2);
	unsigned int n = 0;

	for (unsigned int i = 0; ok && i < 4; i++)
		ok = pcm_io_submit(&H.play, i, PERIOD, false) == 0;
	ok = ok && pcm(VIRTIO_SND_R_PCM_START, H.out) == VIRTIO_SND_S_OK;
	while (ok && n < 4 && pcm_io_wait(&H.play, ANSWER_MS, &done) == 0 &&
	       done.status == VIRTIO_SND_S_OK && done.used_len == 8)
		n++;
	stream_release(H.out);
	/* Whatever did not complete came back at RELEASE. */
	while (H.play.pending && pcm_io_wait(&H.play, 100, &done) == 0)
		;
	return check(ok && n == 4, "%s: playback after the case: %u of 4 periods", what, n);
}

/* ---- cases: control queue, chain level ---- */

static void c_no_writable(void)
{
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16) };

	expect(0, chain(0, 0, s, 1), 0, "no writable part");
}

static void c_resp_readable(void)
{
	size_t r = response(36);
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16), rd(r, 36) };

	expect(0, chain(0, 0, s, 2), 0, "response readable");
	check(mem(r)[0] == 0xa5, "response readable: the device wrote into it");
}

static void c_resp_small(void)
{
	size_t r = response(3);
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16), wr(r, 3) };

	expect(0, chain(0, 0, s, 2), 0, "3-byte response");
	check(mem(r)[0] == 0xa5 && mem(r)[2] == 0xa5, "3-byte response: written");
}

static void c_req_short(void)
{
	size_t r = response(4);
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 2), wr(r, 4) };

	if (expect(0, chain(0, 0, s, 2), 4, "2-byte request"))
		check(status_at(r) == VIRTIO_SND_S_BAD_MSG, "2-byte request: 0x%x", status_at(r));
}

static void c_req_empty(void)
{
	size_t r = response(4);
	struct vring_seg s[] = { wr(r, 4) };

	if (expect(0, chain(0, 0, s, 1), 4, "no request"))
		check(status_at(r) == VIRTIO_SND_S_BAD_MSG, "no request: 0x%x", status_at(r));
}

static void c_zero_len(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 32), r = response(info_len());
	struct vring_seg s[] = { rd(q, 0), rd(q, 16), rd(q, 0), wr(r, 0), wr(r, info_len()), wr(r, 0) };

	if (expect(0, chain(0, 0, s, 6), info_len(), "zero-length descriptors around"))
		same_info(r, "zero-length descriptors around");
}

static void c_all_zero(void)
{
	size_t r = response(4);
	struct vring_seg s[] = { rd(r, 0), wr(r, 0) };

	expect(0, chain(0, 0, s, 2), 0, "only zero-length descriptors");
}

/* The request and n_wr response bytes, one byte per descriptor. */
static unsigned int bytewise(size_t q, size_t r, unsigned int n_wr, struct vring_seg *s)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < 16; i++)
		s[n++] = rd(q + i, 1);
	for (unsigned int i = 0; i < n_wr; i++)
		s[n++] = wr(r + i, 1);
	return n;
}

static void c_bytewise_direct(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 32), r = response(info_len());
	struct vring_seg s[128];
	unsigned int n = bytewise(q, r, info_len(), s);

	if (!check(n <= 128, "test bug: %u descriptors", n))
		return;
	if (expect(0, chain(0, 0, s, n), info_len(), "1-byte descriptors"))
		same_info(r, "1-byte descriptors");
}

static void c_desc_512(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 32), r = response(496);
	static struct vring_seg s[VIRTQ_MAX_IOV];
	unsigned int n = bytewise(q, r, VIRTQ_MAX_IOV - 16, s);

	if (expect(0, indirect(0, 0, s, n), info_len(), "512 descriptors"))
		same_info(r, "512 descriptors");
}

static void c_desc_600(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 32), r = response(584);
	static struct vring_seg s[600];
	unsigned int n = bytewise(q, r, 600 - 16, s);

	expect(0, indirect(0, 0, s, n), 0, "600 descriptors");
	check(mem(r)[0] == 0xa5, "600 descriptors: the device wrote into it");
}

/* A request whose response buffer sits at gpa (len bytes): len 0 back. */
static void bad_buffer(uint64_t gpa, uint32_t len, const char *what)
{
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16),
				 { gpa, len, true } };

	expect(0, chain(0, 0, s, 2), 0, what);
}

static void c_addr_outside(void)
{
	struct vring_seg s[] = { { 0x1000, 16, false }, wr(response(36), 36) };

	expect(0, chain(0, 0, s, 2), 0, "request below guest memory");
	bad_buffer(FE_GPA_BASE + FE_MEM_SIZE, 36, "response above guest memory");
	bad_buffer(FE_GPA_BASE + FE_MEM_SIZE - 8, 36, "response past the end of memory");
	bad_buffer(UINT64_MAX - 7, 36, "response wrapping 2^64");
}

static void c_indirect_outside(void)
{
	desc(0, 0, FE_GPA_BASE + FE_MEM_SIZE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect(0, 0, 0, "indirect table outside memory");
	desc(0, 0, UINT64_MAX - 15, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect(0, 0, 0, "indirect table wrapping 2^64");
}

/* Descriptors may alias: 300 readable ones of 15 MiB each add up to more
 * than the 2^32 bytes a chain may carry (2.7.4.2). */
static void c_over_4g(void)
{
	static struct vring_seg s[301];

	for (unsigned int i = 0; i < 300; i++)
		s[i] = rd(4096, 15u << 20);
	s[300] = wr(response(36), 36);
	expect(0, indirect(0, 0, s, 301), 0, "chain over 4 GiB");
}

/* A full ring of chains, one kick: discarded, refused and served ones
 * mixed, each answered in order. */
static void c_full_ring(void)
{
	unsigned int n = H.d.fe.r[0].ring.num / 2;
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32);
	static const uint32_t want_len[4] = { 36, 0, 0, 4 };
	size_t resp[64];

	for (unsigned int k = 0; k < n && k < 64; k++) {
		struct vring_seg s[2] = { rd(q, k % 4 == 3 ? 2 : 16), wr(resp[k] = response(36), 36) };

		if (k % 4 == 1)
			s[1].gpa = FE_GPA_BASE + FE_MEM_SIZE;
		else if (k % 4 == 2)
			s[1].len = 3;
		offer(0, chain(0, 2 * k, s, 2));
	}
	fe_kick(&H.d.fe, 0);
	for (unsigned int k = 0; k < n && k < 64; k++) {
		uint32_t id = 0, len = 0;

		if (!check(used(0, ANSWER_MS, &id, &len) == 0, "full ring: chain %u: no answer", k))
			return;
		check(id == 2 * k && len == want_len[k % 4], "full ring: chain %u: {%u, %u}", k, id,
		      len);
		if (k % 4 == 0)
			check(status_at(resp[k]) == VIRTIO_SND_S_OK, "full ring: chain %u: 0x%x", k,
			      status_at(resp[k]));
	}
}

/* ---- cases: ring corruption ---- */

/* The device is broken: a well-formed request gets no answer, until the
 * driver resets the device. */
static void broken_then_reset(const char *what)
{
	size_t r = response(info_len());
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 32), 16),
			   wr(r, info_len()) };

	expect_silence(0, chain(0, 8, s, 2), what);
	check(fe_reset(&H.d.fe) == 0, "%s: reset failed", what);
}

static void corrupt(uint16_t head, const char *what)
{
	expect_silence(0, head, what);
	broken_then_reset(what);
}

static void r_next_oob(void)
{
	desc(0, 0, fe_gpa(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32)), 16, VIRTQ_DESC_F_NEXT, 200);
	corrupt(0, "next out of range");
}

static void r_loop(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32);

	desc(0, 0, fe_gpa(q), 8, VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, fe_gpa(q) + 8, 8, VIRTQ_DESC_F_NEXT, 0);
	corrupt(0, "descriptor loop");
}

static void r_indirect_len(void)
{
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16), wr(response(36), 36) };

	indirect(0, 0, s, 2);
	desc(0, 0, desc_gpa(0, 0), 24, VIRTQ_DESC_F_INDIRECT, 0);
	corrupt(0, "indirect length 24");
	indirect(0, 0, s, 2);
	desc(0, 0, desc_gpa(0, 0), 0, VIRTQ_DESC_F_INDIRECT, 0);
	corrupt(0, "indirect length 0");
}

static void r_indirect_nested(void)
{
	size_t q = query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), inner = scratch(32), outer = scratch(32);

	/* A valid table, referenced from inside another one. */
	vring_put_desc(mem(inner), fe_gpa(q), 16, VIRTQ_DESC_F_NEXT, 1);
	vring_put_desc(mem(inner) + 16, fe_gpa(response(36)), 36, VIRTQ_DESC_F_WRITE, 0);
	vring_put_desc(mem(outer), fe_gpa(q), 16, VIRTQ_DESC_F_NEXT, 1);
	vring_put_desc(mem(outer) + 16, fe_gpa(inner), 32, VIRTQ_DESC_F_INDIRECT, 0);
	desc(0, 0, fe_gpa(outer), 32, VIRTQ_DESC_F_INDIRECT, 0);
	corrupt(0, "nested indirect");
}

static void r_indirect_loop(void)
{
	size_t table = scratch(32), q = query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32);

	vring_put_desc(mem(table), fe_gpa(q), 8, VIRTQ_DESC_F_NEXT, 1);
	vring_put_desc(mem(table) + 16, fe_gpa(q) + 8, 8, VIRTQ_DESC_F_NEXT, 0);
	desc(0, 0, fe_gpa(table), 32, VIRTQ_DESC_F_INDIRECT, 0);
	corrupt(0, "loop in an indirect table");
}

static void r_indirect_next(void)
{
	struct vring_seg s[] = { rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16), wr(response(36), 36) };

	indirect(0, 0, s, 2);
	desc(0, 0, desc_gpa(0, 0), 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, fe_gpa(response(8)), 8, VIRTQ_DESC_F_WRITE, 0);
	corrupt(0, "indirect with NEXT");
}

static void r_head_oob(void)
{
	corrupt(500, "head out of range");
}

static void r_read_after_write(void)
{
	struct vring_seg s[] = { wr(response(36), 36), rd(query(VIRTIO_SND_R_PCM_INFO, 0, 1, 32), 16) };

	corrupt(chain(0, 0, s, 2), "readable after writable");
}

static void r_avail_jump(void)
{
	struct vring *r = &H.d.fe.r[0].ring;

	/* Nothing new in the ring, but an index num+1 ahead. */
	r->avail_idx = (uint16_t)(r->avail_idx + r->num);
	expect_silence(0, 0, "avail idx jump");
	broken_then_reset("avail idx jump");
}

static void r_avail_back(void)
{
	struct vring *r = &H.d.fe.r[0].ring;

	/* The index moves back by one: 65535 "new" chains. */
	r->avail_idx = (uint16_t)(r->avail_idx - 2);
	expect_silence(0, 0, "avail idx going back");
	broken_then_reset("avail idx going back");
}

/* A corrupt TX ring while a stream is running: the whole device stops. */
static void r_tx_loop(void)
{
	size_t x = scratch(4);

	if (!stream_to(H.out, 3))
		return;
	vsnd_put_le32(mem(x), H.out);
	desc(VSND_QUEUE_TX, 100, fe_gpa(x), 4, VIRTQ_DESC_F_NEXT, 101);
	desc(VSND_QUEUE_TX, 101, fe_gpa(x), 0, VIRTQ_DESC_F_NEXT, 100);
	expect_silence(VSND_QUEUE_TX, 100, "loop on the TX queue");
	broken_then_reset("loop on the TX queue");
}

/* ---- cases: I/O messages ---- */

/* An xfer header for stream id, followed by data bytes of silence. */
static size_t xfer(uint32_t id, uint32_t data)
{
	size_t x = scratch(4 + data);

	vsnd_put_le32(mem(x), id);
	return x;
}

/* Expect the message back with IO_ERR in its last 8 writable bytes. */
static void io_err(unsigned int q, uint16_t head, size_t status, uint32_t len, const char *what)
{
	if (expect(q, head, len, what))
		check(status_at(status) == VIRTIO_SND_S_IO_ERR, "%s: status 0x%x", what,
		      status_at(status));
}

static void tx_bad(uint32_t id, uint32_t data, const char *what)
{
	size_t st = response(8);
	struct vring_seg s[] = { rd(xfer(id, data), 4 + data), wr(st, 8) };

	io_err(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, s, 2), st, 8, what);
}

static void i_tx_layout(void)
{
	size_t st = response(8), data = response(PERIOD);
	struct vring_seg hdr_only[] = { rd(xfer(H.out, PERIOD), 4 + PERIOD) };
	struct vring_seg small[] = { rd(xfer(H.out, PERIOD), 4 + PERIOD), wr(response(4), 4) };
	struct vring_seg short_hdr[] = { rd(xfer(H.out, 0), 2), wr(st, 8) };
	struct vring_seg data_wr[] = { rd(xfer(H.out, 0), 4), wr(data, PERIOD), wr(st, 8) };

	if (!stream_to(H.out, 2))
		return;
	expect(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, hdr_only, 1), 0, "TX header only");
	expect(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, small, 2), 0, "TX 4-byte status");
	io_err(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, short_hdr, 2), st, 8, "TX 2-byte header");
	io_err(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, data_wr, 3), st, PERIOD + 8,
	       "TX data writable");
	check(mem(data)[0] == 0 && mem(data)[PERIOD - 1] == 0,
	      "TX data writable: the writable data is not zeroed");
	tx_bad(H.out, 3, "TX partial frame");
	stream_release(H.out);
}

static void i_tx_stream(void)
{
	if (!stream_to(H.out, 2))
		return;
	tx_bad(H.d.streams, PERIOD, "TX stream id = count");
	tx_bad(99, PERIOD, "TX stream 99");
	tx_bad(UINT32_MAX, PERIOD, "TX stream 0xffffffff");
	stream_release(H.out);
	if (!stream_to(H.in, 2))
		return;
	tx_bad(H.in, PERIOD, "TX to the RX stream");
	stream_release(H.in);
}

static void rx_bad(uint32_t id, uint32_t rd_data, uint32_t wr_len, const char *what)
{
	size_t tail = response(wr_len);
	struct vring_seg s[] = { rd(xfer(id, rd_data), 4 + rd_data), wr(tail, wr_len) };
	uint16_t head = chain(VSND_QUEUE_RX, 0, s, 2);

	if (wr_len < 8)
		expect(VSND_QUEUE_RX, head, 0, what);
	else
		io_err(VSND_QUEUE_RX, head, tail + wr_len - 8, wr_len, what);
}

static void i_rx(void)
{
	if (!stream_to(H.in, 2) || !stream_to(H.out, 2))
		return;
	rx_bad(H.out, 0, PERIOD + 8, "RX to the TX stream");
	rx_bad(H.in, PERIOD, PERIOD + 8, "RX with readable data");
	rx_bad(H.in, 0, 4, "RX 4-byte status part");
	rx_bad(UINT32_MAX, 0, PERIOD + 8, "RX stream 0xffffffff");
	stream_release(H.in);
	stream_release(H.out);
}

static void i_tx_states(void)
{
	static const char *const names[] = { "INITIAL", "PARAMS", "RELEASED" };
	static const int states[] = { 0, 1, 5 };

	/* Only a reset brings a stream back to INITIAL. */
	if (!check(fe_reset(&H.d.fe) == 0, "TX states: reset"))
		return;
	for (unsigned int i = 0; i < 3; i++) {
		char what[48];

		if (states[i] && !stream_to(H.out, states[i]))
			return;
		snprintf(what, sizeof(what), "TX in %s", names[i]);
		tx_bad(H.out, PERIOD, what);
		stream_release(H.out);
	}
}

/* PREPARED (st 2) and STOPPED (4): the message is held, not answered;
 * RELEASE gives it back OK before its own answer. */
static void tx_held(int st, const char *what)
{
	size_t status = response(8);
	struct vring_seg s[] = { rd(xfer(H.out, PERIOD), 4 + PERIOD), wr(status, 8) };
	uint32_t id = 0, len = 0;

	if (!stream_to(H.out, st))
		return;
	publish(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, s, 2));
	check(used(VSND_QUEUE_TX, 100, &id, &len) == -ETIMEDOUT, "%s: answered at once", what);
	check(pcm(VIRTIO_SND_R_PCM_RELEASE, H.out) == VIRTIO_SND_S_OK, "%s: RELEASE", what);
	/* The used entry was published before RELEASE's answer. */
	if (check(used(VSND_QUEUE_TX, 0, &id, &len) == 0, "%s: not given back by RELEASE", what))
		check(id == 0 && len == 8 && status_at(status) == VIRTIO_SND_S_OK,
		      "%s: {%u, %u} status 0x%x", what, id, len, status_at(status));
}

static void i_tx_held(void)
{
	tx_held(2, "TX in PREPARED");
	tx_held(4, "TX in STOPPED");
}

/* A TX message of almost 4 GiB (aliasing readable descriptors): held like
 * any other, played from while started, given back OK at RELEASE. */
static void i_tx_huge(void)
{
	static struct vring_seg s[257];
	size_t status = response(8);
	uint32_t id = 0, len = 0;

	if (!stream_to(H.out, 2))
		return;
	s[0] = rd(xfer(H.out, 0), 4);
	for (unsigned int i = 1; i < 256; i++)
		s[i] = rd(4096, FE_MEM_SIZE - 4096);
	s[256] = wr(status, 8);
	publish(VSND_QUEUE_TX, indirect(VSND_QUEUE_TX, 0, s, 257));
	check(used(VSND_QUEUE_TX, 100, &id, &len) == -ETIMEDOUT, "4 GiB TX: answered at once");
	check(pcm(VIRTIO_SND_R_PCM_START, H.out) == VIRTIO_SND_S_OK, "4 GiB TX: START");
	msleep(50);
	check(pcm(VIRTIO_SND_R_PCM_STOP, H.out) == VIRTIO_SND_S_OK, "4 GiB TX: STOP");
	check(pcm(VIRTIO_SND_R_PCM_RELEASE, H.out) == VIRTIO_SND_S_OK, "4 GiB TX: RELEASE");
	if (check(used(VSND_QUEUE_TX, 0, &id, &len) == 0, "4 GiB TX: not given back"))
		check(id == 0 && len == 8 && status_at(status) == VIRTIO_SND_S_OK,
		      "4 GiB TX: {%u, %u} status 0x%x", id, len, status_at(status));
}

/* A reset while both directions hold messages: none of them may come back
 * into the new rings (their buffers belong to the old ones). */
static void i_reset_held(void)
{
	uint32_t id = 0, len = 0;

	if (!stream_to(H.out, 3) || !stream_to(H.in, 3))
		return;
	for (unsigned int k = 0; k < 8; k++) {
		struct vring_seg t[] = { rd(xfer(H.out, 16 * PERIOD), 4 + 16 * PERIOD), wr(response(8), 8) };
		struct vring_seg r[] = { rd(xfer(H.in, 0), 4), wr(response(16 * PERIOD + 8), 16 * PERIOD + 8) };

		publish(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 2 * k, t, 2));
		publish(VSND_QUEUE_RX, chain(VSND_QUEUE_RX, 2 * k, r, 2));
	}
	msleep(30);
	if (!check(fe_reset(&H.d.fe) == 0, "reset with held messages: reset"))
		return;
	msleep(100);
	check(used(VSND_QUEUE_TX, 0, &id, &len) == -ETIMEDOUT &&
		      used(VSND_QUEUE_RX, 0, &id, &len) == -ETIMEDOUT,
	      "reset with held messages: {%u, %u} in a new ring", id, len);
}

/* Messages with no data at all, while running: nothing to move, so they
 * complete at once with OK (TX: len 8; RX: len 8, no data). */
static void i_empty(void)
{
	size_t ts = response(8), rs = response(8);
	struct vring_seg t[] = { rd(xfer(H.out, 0), 4), wr(ts, 8) };
	struct vring_seg r[] = { rd(xfer(H.in, 0), 4), wr(rs, 8) };

	if (!stream_to(H.out, 3) || !stream_to(H.in, 3))
		return;
	if (expect(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, t, 2), 8, "empty TX message"))
		check(status_at(ts) == VIRTIO_SND_S_OK, "empty TX message: 0x%x", status_at(ts));
	if (expect(VSND_QUEUE_RX, chain(VSND_QUEUE_RX, 0, r, 2), 8, "empty RX message"))
		check(status_at(rs) == VIRTIO_SND_S_OK, "empty RX message: 0x%x", status_at(rs));
	stream_release(H.out);
	stream_release(H.in);
}

/* The same head made available twice while its first use is held: the
 * device does not care, each is given back (at RELEASE). */
static void i_same_head(void)
{
	size_t status = response(8);
	struct vring_seg s[] = { rd(xfer(H.out, PERIOD), 4 + PERIOD), wr(status, 8) };
	uint32_t id = 0, len = 0;
	unsigned int n = 0;

	if (!stream_to(H.out, 2))
		return;
	publish(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, s, 2));
	publish(VSND_QUEUE_TX, 0);
	check(pcm(VIRTIO_SND_R_PCM_RELEASE, H.out) == VIRTIO_SND_S_OK, "same head: RELEASE");
	while (used(VSND_QUEUE_TX, 0, &id, &len) == 0 && id == 0 && len == 8)
		n++;
	check(n == 2, "same head twice: %u given back", n);
}

/* A paused frontend changes its memory table many times (each change
 * retires the old mapping, and the retired list fills up while no ring
 * runs), then resumes: the message the device held across the pause still
 * points into the first mapping, which must stay mapped while the others
 * are released, and the message is given back into the guest's memory at
 * RELEASE. */
static void i_remap_parked(void)
{
	size_t status = response(8);
	struct vring_seg s[] = { rd(xfer(H.out, PERIOD), 4 + PERIOD), wr(status, 8) };
	uint32_t id = 0, len = 0;
	bool ok;

	if (!stream_to(H.out, 2))
		return;
	publish(VSND_QUEUE_TX, chain(VSND_QUEUE_TX, 0, s, 2));
	msleep(20); /* popped and held before the rings stop */
	ok = fe_pause(&H.d.fe) == 0;
	/* Each table retires the mapping before it; the next one after these
	 * finds the retired list crowded, with no ring running. */
	for (unsigned int i = 0; ok && i < VHU_MAX_RETIRED - VHU_MEMTABLE_MAX_REGIONS; i++)
		ok = fe_set_mem_table(&H.d.fe, FE_UVA_BASE + (i % 2 ? 0 : 1ull << 32),
				      FE_MEM_SIZE, fe_acked(&H.d.fe)) == 0;
	/* The last table is larger (the guest's memory grew): its mapping
	 * cannot land exactly where the first one was. */
	ok = ok && ftruncate(H.d.fe.memfd, 2 * FE_MEM_SIZE) == 0 &&
	     fe_set_mem_table(&H.d.fe, FE_UVA_BASE, 2 * FE_MEM_SIZE, fe_acked(&H.d.fe)) == 0;
	ok = ok && fe_resume(&H.d.fe) == 0;
	if (!check(ok, "memory tables while paused: refused")) {
		drv_close(&H.d);
		check(drv_open(&H.d, H.sock, true) == 0 && baseline() == 0,
		      "memory tables refused: no new session");
		return;
	}
	if (!check(pcm(VIRTIO_SND_R_PCM_RELEASE, H.out) == VIRTIO_SND_S_OK,
		   "memory tables while paused: RELEASE"))
		return;
	if (check(used(VSND_QUEUE_TX, 0, &id, &len) == 0, "memory tables: held message lost"))
		check(id == 0 && len == 8 && status_at(status) == VIRTIO_SND_S_OK,
		      "memory tables: {%u, %u} status 0x%x", id, len, status_at(status));
}

/* ---- cases: control requests with impossible numbers ---- */

static void bad_request(size_t q, uint32_t q_len, uint32_t want, const char *what)
{
	uint32_t room = VIRTIO_SND_HDR_SIZE + VIRTIO_SND_CTL_VALUE_SIZE; /* CTL_READ's */
	size_t r = response(room);
	struct vring_seg s[] = { rd(q, q_len), wr(r, room) };

	if (expect(0, chain(0, 0, s, 2), 4, what))
		check(status_at(r) == want, "%s: status 0x%x, want 0x%x", what, status_at(r), want);
}

static void bad_query(uint32_t code, uint32_t start, uint32_t count, uint32_t size,
		      const char *what)
{
	bad_request(query(code, start, count, size), 16, VIRTIO_SND_S_BAD_MSG, what);
}

static void q_pcm_info(void)
{
	bad_query(VIRTIO_SND_R_PCM_INFO, 0, UINT32_MAX, 32, "PCM_INFO count 0xffffffff");
	bad_query(VIRTIO_SND_R_PCM_INFO, 1, UINT32_MAX, 32, "PCM_INFO start 1 count 0xffffffff");
	bad_query(VIRTIO_SND_R_PCM_INFO, UINT32_MAX, 2, 32, "PCM_INFO start 0xffffffff count 2");
	bad_query(VIRTIO_SND_R_PCM_INFO, 0, 1, 0, "PCM_INFO size 0");
	bad_query(VIRTIO_SND_R_PCM_INFO, 0, 1, UINT32_MAX, "PCM_INFO size 0xffffffff");
	bad_query(VIRTIO_SND_R_PCM_INFO, 0, 2, 0x80000002u, "PCM_INFO count*size wraps 2^32");
	bad_query(VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, 4096, "PCM_INFO bigger than the room");
}

static size_t ctl_req(uint32_t code, uint32_t id)
{
	size_t q = scratch(VIRTIO_SND_CTL_HDR_SIZE);

	req_hdr(mem(q), code, id);
	return q;
}

static void q_ctl(void)
{
	size_t pcm_q = ctl_req(VIRTIO_SND_R_PCM_PREPARE, UINT32_MAX);
	size_t code_q = ctl_req(UINT32_MAX, 0);

	bad_query(VIRTIO_SND_R_CTL_INFO, 0, UINT32_MAX, UINT32_MAX, "CTL_INFO sizes 0xffffffff");
	bad_query(VIRTIO_SND_R_CTL_INFO, UINT32_MAX, 1, 96, "CTL_INFO start 0xffffffff");
	bad_request(ctl_req(VIRTIO_SND_R_CTL_READ, UINT32_MAX), 8, VIRTIO_SND_S_BAD_MSG,
		    "CTL_READ id 0xffffffff");
	bad_request(ctl_req(VIRTIO_SND_R_CTL_TLV_READ, UINT32_MAX), 8, VIRTIO_SND_S_BAD_MSG,
		    "CTL_TLV_READ id 0xffffffff");
	bad_request(pcm_q, 8, VIRTIO_SND_S_BAD_MSG, "PREPARE stream 0xffffffff");
	bad_request(code_q, 8, VIRTIO_SND_S_NOT_SUPP, "request code 0xffffffff");
}

/* ---- cases: event queue ---- */

static void e_bad_buffers(void)
{
	size_t rdbuf = response(8), small = response(4), good = response(8);
	uint32_t id = 0, len = 0;

	/* Start with an empty event queue (drv_open stocked it). */
	if (!check(fe_reset(&H.d.fe) == 0, "event queue: reset"))
		return;
	desc(VSND_QUEUE_EVENT, 0, fe_gpa(rdbuf), 8, 0, 0);
	desc(VSND_QUEUE_EVENT, 1, fe_gpa(small), 4, VIRTQ_DESC_F_WRITE, 0);
	desc(VSND_QUEUE_EVENT, 2, fe_gpa(good), 8, VIRTQ_DESC_F_WRITE, 0);
	publish(VSND_QUEUE_EVENT, 0);
	publish(VSND_QUEUE_EVENT, 1);
	publish(VSND_QUEUE_EVENT, 2);
	check(control("jack 0 unplug\n"), "event queue: jack 0 unplug refused");
	for (uint32_t want = 0; want < 3; want++) {
		if (!check(used(VSND_QUEUE_EVENT, ANSWER_MS, &id, &len) == 0,
			   "event buffer %u: no answer", want))
			return;
		check(id == want && len == (want == 2 ? 8 : 0), "event buffer: {%u, %u}", id, len);
	}
	check(vsnd_le32(mem(good)) == VIRTIO_SND_EVT_JACK_DISCONNECTED &&
		      vsnd_le32(mem(good) + 4) == 0 && mem(rdbuf)[0] == 0xa5 && mem(small)[0] == 0xa5,
	      "event: code 0x%x data %u", vsnd_le32(mem(good)), vsnd_le32(mem(good) + 4));
	/* An event with no buffer waits for one. */
	check(control("jack 0 plug\n"), "event queue: jack 0 plug refused");
	memset(mem(good), 0xa5, 8);
	if (expect(VSND_QUEUE_EVENT, 2, 8, "event into a late buffer"))
		check(vsnd_le32(mem(good)) == VIRTIO_SND_EVT_JACK_CONNECTED, "late event: 0x%x",
		      vsnd_le32(mem(good)));
}

/* A corrupt event ring is noticed when an event needs a buffer. */
static void r_event_loop(void)
{
	size_t b = response(8);

	if (!check(fe_reset(&H.d.fe) == 0, "event loop: reset"))
		return;
	desc(VSND_QUEUE_EVENT, 0, fe_gpa(b), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(VSND_QUEUE_EVENT, 1, fe_gpa(b), 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
	publish(VSND_QUEUE_EVENT, 0);
	check(control("jack 0 unplug\n"), "event loop: jack 0 unplug refused");
	broken_then_reset("loop on the event queue");
	/* The jack stays the host's across the reset: put it back. */
	check(control("jack 0 plug\n"), "event loop: jack 0 plug refused");
}

/* ---- the run ---- */

struct tcase {
	const char *name;
	void (*run)(void);
};

static const struct tcase cases[] = {
	{ "ctl: no writable part", c_no_writable },
	{ "ctl: response readable", c_resp_readable },
	{ "ctl: response < hdr", c_resp_small },
	{ "ctl: request < hdr", c_req_short },
	{ "ctl: no request", c_req_empty },
	{ "ctl: zero-length descriptors", c_zero_len },
	{ "ctl: only zero-length descriptors", c_all_zero },
	{ "ctl: 1-byte descriptors", c_bytewise_direct },
	{ "ctl: 512 descriptors", c_desc_512 },
	{ "ctl: 600 descriptors", c_desc_600 },
	{ "ctl: addresses outside memory", c_addr_outside },
	{ "ctl: indirect table outside memory", c_indirect_outside },
	{ "ctl: chain over 4 GiB", c_over_4g },
	{ "ctl: full ring of mixed chains", c_full_ring },
	{ "ring: next out of range", r_next_oob },
	{ "ring: descriptor loop", r_loop },
	{ "ring: indirect length", r_indirect_len },
	{ "ring: nested indirect", r_indirect_nested },
	{ "ring: indirect loop", r_indirect_loop },
	{ "ring: indirect with NEXT", r_indirect_next },
	{ "ring: head out of range", r_head_oob },
	{ "ring: readable after writable", r_read_after_write },
	{ "ring: avail idx jump", r_avail_jump },
	{ "ring: avail idx going back", r_avail_back },
	{ "ring: TX loop while running", r_tx_loop },
	{ "ring: event queue loop", r_event_loop },
	{ "io: TX layouts", i_tx_layout },
	{ "io: TX stream ids", i_tx_stream },
	{ "io: RX layouts and ids", i_rx },
	{ "io: TX in INITIAL/PARAMS/RELEASED", i_tx_states },
	{ "io: TX held in PREPARED/STOPPED", i_tx_held },
	{ "io: TX message of almost 4 GiB", i_tx_huge },
	{ "io: reset with messages held", i_reset_held },
	{ "io: empty messages while running", i_empty },
	{ "io: same head twice", i_same_head },
	{ "io: memory tables while a message is parked", i_remap_parked },
	{ "req: PCM_INFO ranges", q_pcm_info },
	{ "req: CTL ranges, ids, codes", q_ctl },
	{ "evt: readable and small buffers", e_bad_buffers },
};

/* The baseline: PCM_INFO of every stream, an output and an input stream. */
static int baseline(void)
{
	const uint8_t *resp;
	int st;

	if (H.d.streams == 0 || H.d.streams > MAX_STREAMS)
		return -ERANGE;
	st = drv_query(&H.d, VIRTIO_SND_R_PCM_INFO, 0, H.d.streams, VIRTIO_SND_PCM_INFO_SIZE, &resp);
	if (st != VIRTIO_SND_S_OK)
		return -EPROTO;
	memcpy(H.info, resp + 4, info_len() - 4);
	H.out = H.in = UINT32_MAX;
	for (uint32_t i = H.d.streams; i-- > 0;)
		*(H.info[i * 32 + 24] == VSND_DIR_OUTPUT ? &H.out : &H.in) = i;
	if (H.out == UINT32_MAX || H.in == UINT32_MAX)
		return -ENOENT;
	H.arena = fe_alloc(&H.d.fe, ARENA_SIZE, 16);
	if (!H.arena)
		return -ENOMEM;
	return pcm_io_init(&H.play, &H.d, VSND_QUEUE_TX, H.out, PERIOD, 4);
}

static void run_case(const struct tcase *c)
{
	unsigned int before = H.failures;
	int fds;

	H.cases++;
	H.arena_used = 0;
	c->run();
	if (!check(daemon_alive(), "%s: the daemon died", c->name))
		return;
	info_serves(c->name);
	playback_serves(c->name);
	fds = fe_count_fds(H.pid);
	check(fds == H.fds_session, "%s: daemon fds %d, %d before", c->name, fds, H.fds_session);
	printf("%s: %s\n", H.failures == before ? "ok" : "FAIL", c->name);
	fflush(stdout);
}

/* Idle fd count again once vsnd has closed the session's fds. */
static int settle_fds(int want)
{
	int fds = -1;

	for (int i = 0; i < 500; i++) {
		fds = fe_count_fds(H.pid);
		if (fds == want)
			break;
		msleep(10);
	}
	return fds;
}

static bool log_clean(void)
{
	FILE *f = fopen(H.log, "r");
	char line[1024];
	bool clean = true;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
			clean = false;
	fclose(f);
	return clean;
}

static void cleanup(void)
{
	unlink(H.log);
	unlink(H.sock); /* left behind when vsnd died */
	unlink(H.ctl);
	rmdir(H.dir);
}

/* One daemon, one session through the cases, then the daemon's fds, exit
 * status and log. Returns the failures. */
static unsigned int run_daemon(const struct tcase *list, size_t n)
{
	unsigned int failures = H.failures, first = H.cases;
	int fds_idle, fds_end, rc, code;

	rc = daemon_start();
	if (!check(rc == 0, "vsnd did not start: %s (log: %s)", strerror(-rc), H.log))
		return 1;
	fds_idle = fe_count_fds(H.pid);
	rc = drv_open(&H.d, H.sock, true);
	if (rc == 0)
		rc = baseline();
	if (!check(rc == 0, "session setup: %s", strerror(-rc)))
		n = 0;
	H.fds_session = fe_count_fds(H.pid);
	for (size_t i = 0; i < n && daemon_alive(); i++)
		run_case(&list[i]);
	drv_close(&H.d);
	fds_end = settle_fds(fds_idle);
	check(fds_end == fds_idle, "daemon fds after the session %d, idle %d", fds_end, fds_idle);
	code = daemon_alive() ? daemon_stop() : -1;
	check(code == 0, "vsnd exit status %d on SIGTERM", code);
	check(log_clean(), "sanitizer report in %s", H.log);
	failures = H.failures - failures;
	printf("%u cases, %u failed checks; daemon fds idle %d, in session %d, after %d; exit %d\n",
	       H.cases - first, failures, fds_idle, H.fds_session, fds_end, code);
	if (failures)
		printf("vsnd log kept: %s\n", H.log);
	else if (!getenv("MALFORMED_KEEP_LOG"))
		cleanup();
	return failures;
}

int main(int argc, char **argv)
{
	unsigned int failures;

	if (argc != 2) {
		fprintf(stderr, "usage: %s VSND\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	H.vsnd = argv[1];
	failures = run_daemon(cases, sizeof(cases) / sizeof(cases[0]));
	printf("total: %u cases, %u checks, %u failed\n", H.cases, H.checks, failures);
	return failures ? 1 : 0;
}
