/* SPDX-License-Identifier: MIT */
/*
 * srv_drive: plays a raw file through a backend, or captures from one into a
 * raw file, doing what the device does with the port (prefill to lead_bytes,
 * top up on every wake, start, stop, close), without a guest. The sound
 * server tests run it against servers they start themselves.
 *
 *   srv_drive SPEC play    FORMAT RATE CHANNELS PERIOD_FRAMES IN.raw  [TAIL_MS]
 *   srv_drive SPEC capture FORMAT RATE CHANNELS PERIOD_FRAMES OUT.raw MS
 *
 * FORMAT is s16, s32, float or u8. Prints one line of "key=value" results:
 * frames, elapsed_ms (start to the ring passing the file's end, or to the
 * capture's end), xruns (counted before that point), delay_max (frames).
 * Backend log lines go to stderr as "LOG <level> <message>".
 *
 * Like the daemon, it enters vsnd's seccomp sandbox once the backend exists
 * (SRV_SANDBOX=off in the environment runs without it), so the server
 * tests also check that the backend's client library keeps to its
 * allowlist through stream open, xruns, server loss and reconnection.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "daemon/sandbox.h"
#include "fakehost.h"
#include "vsnd/backend.h"
#include "vsnd/pcm.h"
#include "wire/virtio_snd.h"

struct drive {
	struct vsnd_backend *be;
	struct vsnd_port port;
	int efd;
	uint8_t *data;
	size_t len;      /* bytes of data */
	size_t fed;      /* bytes of data written into the ring */
	uint32_t delay_max;
	uint64_t next;   /* the backend's next tick deadline (0: at once) */
};

static void log_fn(void *opaque, enum vsnd_log_level level, const char *msg)
{
	fprintf(stderr, "LOG %d %s\n", (int)level, msg);
}

static void wake_fn(void *opaque)
{
	struct drive *d = opaque;
	uint64_t one = 1;

	if (write(d->efd, &one, sizeof(one)) < 0) {
		/* the counter is saturated: a wake is pending anyway */
	}
}

static int parse_format(const char *s)
{
	if (!strcmp(s, "s16"))
		return VSND_PCM_FMT_S16;
	if (!strcmp(s, "s32"))
		return VSND_PCM_FMT_S32;
	if (!strcmp(s, "float"))
		return VSND_PCM_FMT_FLOAT;
	if (!strcmp(s, "u8"))
		return VSND_PCM_FMT_U8;
	return -1;
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long n;

	if (!f)
		return -errno;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	*out = malloc(n > 0 ? (size_t)n : 1);
	*len = n > 0 ? (size_t)n : 0;
	if (!*out || fread(*out, 1, *len, f) != *len) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return 0;
}

/* What the device does after a wake: keep lead_bytes of playback queued. */
static void top_up(struct drive *d)
{
	size_t fill = vsnd_ring_fill(&d->port.ring), n;

	if (fill >= d->port.lead_bytes)
		return;
	n = d->port.lead_bytes - fill;
	if (n > d->len - d->fed)
		n = d->len - d->fed;
	d->fed += vsnd_ring_write(&d->port.ring, d->data + d->fed, n);
}

/* Wait for a wake, at most ms or until the backend's tick is due; then
 * tick as the device does: at its deadline, and at every wake while it
 * asks for none (UINT64_MAX: a server carries the stream). */
static void wait_wake(struct drive *d, int ms)
{
	struct pollfd pfd = { .fd = d->efd, .events = POLLIN };
	uint64_t v, now = fh_clock_ns(CLOCK_MONOTONIC);

	if (d->be->ops->tick && d->next != UINT64_MAX && d->next < now + (uint64_t)ms * 1000000u)
		ms = d->next > now ? (int)((d->next - now + 999999) / 1000000) : 0;
	if (poll(&pfd, 1, ms) > 0 && read(d->efd, &v, sizeof(v)) < 0) {
		/* nothing pending after all */
	}
	now = fh_clock_ns(CLOCK_MONOTONIC);
	if (d->be->ops->tick && (d->next == UINT64_MAX || now >= d->next))
		d->next = d->be->ops->tick(d->be, &d->port, now);
}

static void sample_delay(struct drive *d)
{
	uint32_t delay = d->be->ops->delay_frames ? d->be->ops->delay_frames(d->be, &d->port) : 0;

	if (delay > d->delay_max)
		d->delay_max = delay;
}

static int play(struct drive *d, unsigned int tail_ms)
{
	size_t end = d->len;
	size_t tail = (size_t)tail_ms * d->port.params.rate_hz / 1000 * d->port.params.frame_bytes;
	uint64_t t0, t_end = 0, xruns = 0;
	uint8_t *grown = realloc(d->data, d->len + tail);
	/* The host_present values the backend reported, in order (a change
	 * becomes a jack event in the device). */
	char presence[64] = "";
	int last = -2;

	if (!grown)
		return -ENOMEM;
	/* Silence after the signal, so the end of the signal is not an underrun. */
	d->data = grown;
	vsnd_pcm_silence(d->port.params.format, d->data + d->len, tail);
	d->len += tail;
	top_up(d);
	t0 = fh_clock_ns(CLOCK_MONOTONIC);
	if (d->be->ops->start(d->be, &d->port, t0) < 0)
		return -EIO;
	while (vsnd_ring_rpos(&d->port.ring) < d->len) {
		wait_wake(d, 20);
		top_up(d);
		sample_delay(d);
		if (atomic_load(&d->port.host_present) != last && strlen(presence) + 4 < sizeof(presence)) {
			last = atomic_load(&d->port.host_present);
			snprintf(presence + strlen(presence), sizeof(presence) - strlen(presence), "%s%d",
				 presence[0] ? "," : "", last);
		}
		if (!t_end && vsnd_ring_rpos(&d->port.ring) >= end) {
			t_end = fh_clock_ns(CLOCK_MONOTONIC);
			xruns = atomic_load(&d->port.xruns);
		}
	}
	d->be->ops->stop(d->be, &d->port);
	printf("frames=%zu elapsed_ms=%.1f xruns=%" PRIu64 " delay_max=%u lead=%u presence=%s\n",
	       end / d->port.params.frame_bytes, (double)(t_end - t0) / 1e6, xruns, d->delay_max,
	       d->port.lead_bytes, presence);
	return 0;
}

static int capture(struct drive *d, const char *path, unsigned int ms)
{
	uint64_t t0 = fh_clock_ns(CLOCK_MONOTONIC), until = t0 + (uint64_t)ms * 1000000u, xruns;
	uint8_t buf[4096];
	FILE *f = fopen(path, "wb");
	size_t total = 0;

	if (!f)
		return -errno;
	if (d->be->ops->start(d->be, &d->port, t0) < 0) {
		fclose(f);
		return -EIO;
	}
	while (fh_clock_ns(CLOCK_MONOTONIC) < until) {
		size_t n;

		wait_wake(d, 20);
		sample_delay(d);
		while ((n = vsnd_ring_read(&d->port.ring, buf, sizeof(buf))) > 0) {
			fwrite(buf, 1, n, f);
			total += n;
		}
	}
	d->be->ops->stop(d->be, &d->port);
	xruns = atomic_load(&d->port.xruns);
	fclose(f);
	printf("frames=%zu elapsed_ms=%.1f xruns=%" PRIu64 " delay_max=%u\n",
	       total / d->port.params.frame_bytes,
	       (double)(fh_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6, xruns, d->delay_max);
	return 0;
}

static int setup_port(struct drive *d, bool out, int fmt, unsigned int rate, unsigned int ch,
		      unsigned int period)
{
	uint32_t fb = ch * vsnd_pcm_sample_bytes((unsigned int)fmt);
	struct vsnd_pcm_params *p = &d->port.params;

	*p = (struct vsnd_pcm_params){
		.direction = out ? VSND_DIR_OUTPUT : VSND_DIR_INPUT,
		.format = (uint8_t)fmt,
		.channels = (uint8_t)ch,
		.rate_hz = rate,
		.frame_bytes = fb,
		.period_bytes = period * fb,
		.buffer_bytes = 4 * period * fb,
	};
	d->port.lead_bytes = p->period_bytes;
	d->port.wake = wake_fn;
	d->port.wake_opaque = d;
	return vsnd_ring_init(&d->port.ring, 2 * (size_t)p->buffer_bytes);
}

/* The device's clamp (src/core/pcm.c): at most half the ring, whole frames. */
static void clamp_lead(struct vsnd_port *port)
{
	if (port->lead_bytes > port->ring.cap / 2)
		port->lead_bytes = (uint32_t)(port->ring.cap / 2);
	port->lead_bytes -= port->lead_bytes % port->params.frame_bytes;
}

static enum vd_sandbox_mode sandbox_mode(void)
{
	const char *v = getenv("SRV_SANDBOX");

	return v && !strcmp(v, "off") ? VD_SANDBOX_OFF : VD_SANDBOX_ON;
}

int main(int argc, char **argv)
{
	struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env), .log = log_fn };
	struct drive d = { .efd = -1 };
	bool out;
	int fmt, ret = 1;

	if (argc < 8 || (strcmp(argv[2], "play") && strcmp(argv[2], "capture")) ||
	    (fmt = parse_format(argv[3])) < 0) {
		fprintf(stderr, "usage: %s SPEC play|capture s16|s32|float|u8 RATE CH PERIOD FILE "
			"[TAIL_MS|MS]\n", argv[0]);
		return 2;
	}
	out = !strcmp(argv[2], "play");
	d.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.efd < 0 || vsnd_backend_create(argv[1], &env, &d.be) < 0)
		goto done;
	if (vd_sandbox_enter(sandbox_mode(), d.be->ops->name) < 0)
		goto done;
	if (setup_port(&d, out, fmt, (unsigned int)atoi(argv[4]), (unsigned int)atoi(argv[5]),
		       (unsigned int)atoi(argv[6])) < 0)
		goto done;
	if (d.be->ops->open(d.be, &d.port) < 0)
		goto done;
	clamp_lead(&d.port);
	if (out)
		ret = read_file(argv[7], &d.data, &d.len) < 0 ||
		      play(&d, argc > 8 ? (unsigned int)atoi(argv[8]) : 300) < 0;
	else
		ret = capture(&d, argv[7], argc > 8 ? (unsigned int)atoi(argv[8]) : 1000) < 0;
	d.be->ops->close(d.be, &d.port);
done:
	vsnd_backend_destroy(d.be);
	vsnd_ring_fini(&d.port.ring);
	free(d.data);
	if (d.efd >= 0)
		close(d.efd);
	return ret;
}
