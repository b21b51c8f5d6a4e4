/* SPDX-License-Identifier: MIT */
/*
 * vsnd-bench-density: one driver process for N vsnd devices at once, so
 * that at 64 streams the devices are measured without 64 driver processes
 * competing with them for the cores (issue 19).
 *
 *   vsnd-bench-density [--period-ms P] [--periods K] [--seconds S]
 *                      [--out DIR] [--hold] [--kick-always] SOCK...
 *
 * One frontend per socket (vsnd-drive's library): stream 0 as S16 48 kHz
 * stereo, K periods of P ms in flight, silence. After the setup everything
 * runs from one thread: an epoll over the N TX call eventfds, each
 * completion answered by queueing its period again. Kicks follow the
 * device's suppression (avail_event) as Linux's virtqueue_kick_prepare()
 * does; --kick-always kicks every message as vsnd-drive play does.
 *
 * Lateness of completion k (1, 2, ...) of a stream: its CLOCK_MONOTONIC
 * time when we saw it minus (t0 + k * period), t0 being when the START
 * reply came back: the ideal schedule from the moment the device said it
 * runs, not a fitted one. The device started a little before its reply,
 * so a completion can read a few microseconds early (negative).
 *
 * Stdout, line by line (bench/bench.py reads them as they come): "running"
 * once every stream started; "measured" after S seconds; with --hold the
 * streams are then kept fed until stdin is readable, a line or EOF (the
 * bench reads the devices' xrun counters while they still run); then the
 * summary
 * "cpu_s C wall_s W completions N kicks K" (our own CPU and wall time
 * between "running" and "measured"). DIR/density-I.txt: "# t0 NS period
 * NS", then stream I's lateness in ns, one per line, for the completions
 * within the S seconds.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wire/virtio_snd.h"

#include "drive/cmd.h"
#include "drive/pcm_io.h"
#include "util/mono.h"

#define RATE_HZ 48000u
#define FRAME_BYTES 4u                  /* S16 stereo */
#define STALL_NS 2000000000ull          /* no completion for this long: fail */
#define STDIN_TAG UINT32_MAX
#define SETUP_MAX_S 30                  /* the STARTs of every stream, at most */

struct stream {
	struct drv d;
	struct pcm_io io;
	uint64_t t0, last_ns;           /* START's reply; the last completion */
	uint64_t done;                  /* completions seen */
	int64_t *late;                  /* ns, one per completion in the window */
	size_t n_late, cap;             /* full: -ENOBUFS (the STARTs took too long) */
};

struct run {
	struct stream **s;
	unsigned int n;
	uint64_t period_ns, end_ns;     /* end_ns: the measured window's end */
	size_t cap;                     /* lateness kept per stream */
	uint32_t period_bytes;
	unsigned int periods;
	bool feeding, kick_always;
	uint64_t kicks;
	int ep;
};

struct opts {
	unsigned int period_ms, periods;
	double seconds;
	const char *out;
	bool hold, kick_always;
};

static double cpu_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Connect, check stream 0 plays S16 48 kHz stereo, set it up, queue its periods. */
static int stream_open(struct stream *s, const char *path, const struct run *r)
{
	uint8_t info[VIRTIO_SND_PCM_INFO_SIZE];
	int rc = drv_open(&s->d, path, false);

	if (rc < 0)
		return rc;
	s->cap = r->cap;
	s->late = calloc(s->cap, sizeof(*s->late));
	if (!s->late)
		return -ENOMEM;
	rc = cmd_find_stream(&s->d, 0, VSND_DIR_OUTPUT, info);
	if (rc < 0)
		return rc;
	rc = pcm_io_init(&s->io, &s->d, VSND_QUEUE_TX, 0, r->period_bytes, r->periods);
	if (rc < 0)
		return rc;
	rc = drv_set_params(&s->d, 0, r->period_bytes * r->periods, r->period_bytes, 0, 2,
			    VSND_PCM_FMT_S16, (uint8_t)drv_rate_enum(RATE_HZ));
	if (rc == VIRTIO_SND_S_OK)
		rc = drv_pcm(&s->d, VIRTIO_SND_R_PCM_PREPARE, 0);
	for (unsigned int i = 0; rc == VIRTIO_SND_S_OK && i < r->periods; i++)
		rc = pcm_io_submit(&s->io, i, r->period_bytes, false) < 0 ? -EIO : rc;
	return rc == VIRTIO_SND_S_OK ? 0 : rc;
}

static int note(struct stream *s, const struct run *r, uint64_t ns)
{
	s->done++;
	s->last_ns = ns;
	if (ns >= r->end_ns)
		return 0;
	if (s->n_late == s->cap)
		return -ENOBUFS;
	s->late[s->n_late++] = (int64_t)(ns - s->t0) - (int64_t)(s->done * r->period_ns);
	return 0;
}

/* Queue period i again; true if the device wants a kick for it. */
static int refill(struct stream *s, const struct run *r, unsigned int i, bool *kick)
{
	if (pcm_io_submit(&s->io, i, r->period_bytes, true) < 0)
		return -EIO;
	*kick |= r->kick_always || s->d.fe.r[VSND_QUEUE_TX].notify;
	return 0;
}

/* Everything stream s completed, each answered with its period again, one
 * kick for the lot. The last look is fenced (fe_used_ready): we sleep on
 * the call eventfd only once no entry can be waiting without a call. */
static int service(struct stream *s, struct run *r)
{
	struct fe *fe = &s->d.fe;
	bool kick = false;
	int rc;

	(void)fe_called(fe, VSND_QUEUE_TX);
	for (;;) {
		struct pcm_io_done done;

		rc = pcm_io_wait(&s->io, 0, &done);
		if (rc == -ETIMEDOUT && fe_used_ready(fe, VSND_QUEUE_TX))
			continue;
		if (rc == -ETIMEDOUT)
			break;
		if (rc < 0)
			return rc;
		if (done.status != VIRTIO_SND_S_OK || done.used_len != 8)
			return -EIO;
		rc = note(s, r, done.ns);
		if (rc == 0 && r->feeding)
			rc = refill(s, r, done.i, &kick);
		if (rc < 0)
			return rc;
	}
	if (kick) {
		fe_kick(fe, VSND_QUEUE_TX);
		r->kicks++;
	}
	return 0;
}

static int watch(struct run *r, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Service whatever is ready within timeout_ms; *eof when stdin ended. */
static int poll_once(struct run *r, int timeout_ms, bool *eof)
{
	struct epoll_event ev[64];
	int n = epoll_wait(r->ep, ev, 64, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int rc = 0;

		if (ev[i].data.u32 == STDIN_TAG) {
			/* level-triggered and never read: once is enough */
			*eof = true;
			(void)epoll_ctl(r->ep, EPOLL_CTL_DEL, STDIN_FILENO, NULL);
		} else {
			rc = service(r->s[ev[i].data.u32], r);
		}
		if (rc < 0) {
			fprintf(stderr, "vsnd-bench-density: stream %u: %s\n", ev[i].data.u32,
				strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* A device that went quiet fails the run instead of hanging it. */
static int check_stalls(const struct run *r, uint64_t now)
{
	for (unsigned int i = 0; i < r->n; i++) {
		const struct stream *s = r->s[i];

		if (s->io.pending && now - s->last_ns > STALL_NS) {
			fprintf(stderr, "vsnd-bench-density: stream %u: no completion for %.1f s\n",
				i, (double)(now - s->last_ns) / 1e9);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* Service the streams until done() says so (asked after each round). */
static int loop(struct run *r, bool (*done)(const struct run *r, bool eof))
{
	uint64_t next_check = vsnd__mono_ns() + STALL_NS / 2;
	bool eof = false;

	while (!done(r, eof)) {
		int rc = poll_once(r, 500, &eof);
		uint64_t now = vsnd__mono_ns();

		if (rc < 0)
			return rc;
		if (now >= next_check) {
			next_check = now + STALL_NS / 2;
			if ((rc = check_stalls(r, now)) < 0)
				return rc;
		}
	}
	return 0;
}

static bool window_over(const struct run *r, bool eof)
{
	(void)eof;
	return vsnd__mono_ns() >= r->end_ns;
}

static bool stdin_ended(const struct run *r, bool eof)
{
	(void)r;
	return eof;
}

static bool drained(const struct run *r, bool eof)
{
	(void)eof;
	for (unsigned int i = 0; i < r->n; i++)
		if (r->s[i]->io.pending)
			return false;
	return true;
}

/* START every stream, servicing the ones already started in between so
 * that their first completions are seen when they come, not after the
 * last START. */
static int start_all(struct run *r, double seconds)
{
	bool eof = false;

	r->end_ns = UINT64_MAX;
	for (unsigned int i = 0; i < r->n; i++) {
		struct stream *s = r->s[i];
		int rc = drv_pcm(&s->d, VIRTIO_SND_R_PCM_START, 0);

		if (rc != VIRTIO_SND_S_OK)
			return rc < 0 ? rc : -EIO;
		s->t0 = s->last_ns = vsnd__mono_ns();
		if ((rc = poll_once(r, 0, &eof)) < 0)
			return rc;
	}
	r->end_ns = vsnd__mono_ns() + (uint64_t)(seconds * 1e9);
	return 0;
}

static int run_streams(struct run *r, const struct opts *o)
{
	double cpu0, wall0;
	uint64_t sum = 0;
	int rc;

	r->feeding = true;
	for (unsigned int i = 0; i < r->n; i++)
		if ((rc = watch(r, r->s[i]->d.fe.r[VSND_QUEUE_TX].call, i)) < 0)
			return rc;
	if ((rc = start_all(r, o->seconds)) < 0)
		return rc;
	cpu0 = cpu_now();
	wall0 = (double)vsnd__mono_ns();
	puts("running");
	fflush(stdout);
	rc = loop(r, window_over);
	if (rc == 0) {
		double cpu = cpu_now() - cpu0, wall = ((double)vsnd__mono_ns() - wall0) / 1e9;

		puts("measured");
		fflush(stdout);
		/* stdin is watched from here on only: readable early, it would
		 * wake every round of the window */
		if (o->hold && (rc = watch(r, STDIN_FILENO, STDIN_TAG)) == 0)
			rc = loop(r, stdin_ended);
		r->feeding = false;
		if (rc == 0)
			rc = loop(r, drained);
		for (unsigned int i = 0; i < r->n; i++)
			sum += r->s[i]->n_late;
		printf("cpu_s %.6f wall_s %.3f completions %llu kicks %llu\n", cpu, wall,
		       (unsigned long long)sum, (unsigned long long)r->kicks);
	}
	return rc;
}

static int write_lateness(const struct run *r, const char *dir)
{
	for (unsigned int i = 0; i < r->n; i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/density-%u.txt", dir, i);
		f = fopen(path, "w");
		if (!f)
			return -errno;
		/* t0 too, to set a device trace (vsnd --trace) against the same deadlines */
		fprintf(f, "# t0 %llu period %llu\n", (unsigned long long)r->s[i]->t0,
			(unsigned long long)r->period_ns);
		for (size_t k = 0; k < r->s[i]->n_late; k++)
			fprintf(f, "%lld\n", (long long)r->s[i]->late[k]);
		if (fclose(f) != 0)
			return -EIO;
	}
	return 0;
}

/* STOP and RELEASE every stream that opened, close every frontend. */
static int close_all(struct run *r, unsigned int opened, int rc)
{
	for (unsigned int i = 0; i < opened; i++) {
		struct stream *s = r->s[i];

		if (!s)
			continue;
		if (rc == 0 && drv_pcm(&s->d, VIRTIO_SND_R_PCM_STOP, 0) != VIRTIO_SND_S_OK)
			rc = -EIO;
		if (rc == 0 && drv_pcm(&s->d, VIRTIO_SND_R_PCM_RELEASE, 0) != VIRTIO_SND_S_OK)
			rc = -EIO;
		drv_close(&s->d);
		free(s->late);
		free(s);
	}
	return rc;
}

static int usage(void)
{
	fputs("usage: vsnd-bench-density [--period-ms P] [--periods K] [--seconds S] [--out DIR]"
	      " [--hold] [--kick-always] SOCK...\n", stderr);
	return 2;
}

/* Options first, then the sockets: returns the index of the first socket. */
static int parse(int argc, char **argv, struct opts *o)
{
	int i = 1;

	for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--hold") == 0)
			o->hold = true;
		else if (strcmp(argv[i], "--kick-always") == 0)
			o->kick_always = true;
		else if (i + 1 >= argc)
			return -1;
		else if (strcmp(argv[i], "--period-ms") == 0)
			o->period_ms = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--periods") == 0)
			o->periods = (unsigned int)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			o->seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--out") == 0)
			o->out = argv[++i];
		else
			return -1;
	}
	if (i >= argc || o->period_ms < 1 || o->period_ms > 1000 || o->periods < 2 ||
	    o->periods > PCM_IO_MAX || !(o->seconds > 0))
		return -1;
	return i;
}

/* 64 frontends hold about ten fds each. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct opts o = { .period_ms = 10, .periods = 4, .seconds = 10 };
	int first = parse(argc, argv, &o), rc = 0;
	struct run r = { 0 };
	unsigned int opened = 0;

	if (first < 0)
		return usage();
	raise_fd_limit();
	r.n = (unsigned int)(argc - first);
	r.periods = o.periods;
	r.kick_always = o.kick_always;
	r.period_ns = (uint64_t)o.period_ms * 1000000u;
	r.period_bytes = RATE_HZ * o.period_ms / 1000u * FRAME_BYTES;
	/* the window, and the STARTs before it began */
	r.cap = (size_t)((o.seconds + SETUP_MAX_S) * 1000 / o.period_ms) + o.periods;
	r.s = calloc(r.n, sizeof(*r.s));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!r.s || r.ep < 0)
		return 1;
	for (; rc == 0 && opened < r.n; opened++) {
		r.s[opened] = calloc(1, sizeof(*r.s[opened]));
		rc = r.s[opened] ? stream_open(r.s[opened], argv[first + opened], &r) : -ENOMEM;
		if (rc != 0)
			fprintf(stderr, "vsnd-bench-density: %s: setup failed (%d)\n",
				argv[first + opened], rc);
	}
	if (rc == 0)
		rc = run_streams(&r, &o);
	if (rc == 0 && o.out)
		rc = write_lateness(&r, o.out);
	rc = close_all(&r, opened, rc);
	close(r.ep);
	free(r.s);
	return rc == 0 ? 0 : 1;
}
