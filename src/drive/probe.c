/* SPDX-License-Identifier: MIT */
#include "drive/probe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "util/iov.h"
#include "util/mono.h"

enum { R_INFO, R_PARAMS, R_PREPARE, R_START, R_STOP, R_RELEASE };

static const uint32_t req_code[PROBE_REQS] = {
	VIRTIO_SND_R_PCM_INFO, VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE,
	VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP, VIRTIO_SND_R_PCM_RELEASE,
};
static const char *const req_name[PROBE_REQS] = {
	"PCM_INFO", "SET_PARAMS", "PREPARE", "START", "STOP", "RELEASE",
};
/* One token each (the summary is split on spaces): the last one is a
 * negative errno from drv_ctl or a status outside the spec. */
static const char *const status_name[PROBE_STATUSES] = {
	"OK", "BAD_MSG", "NOT_SUPP", "IO_ERR", "NO_ANSWER",
};

static unsigned int status_index(int st)
{
	if (st >= VIRTIO_SND_S_OK && st <= VIRTIO_SND_S_IO_ERR)
		return (unsigned int)(st - VIRTIO_SND_S_OK);
	return PROBE_STATUSES - 1;
}

/* The bit of want if set, else the lowest set bit that passes ok(), else -1. */
static int pick_bit(uint64_t bits, unsigned int want, bool (*ok)(unsigned int))
{
	if (bits & (1ull << want))
		return (int)want;
	for (unsigned int b = 0; b < 64; b++)
		if ((bits & (1ull << b)) && ok(b))
			return (int)b;
	return -1;
}

static bool format_ok(unsigned int fmt)
{
	return drv_sample_bytes((uint8_t)fmt) > 0;
}

static bool rate_ok(unsigned int rate)
{
	return rate < VSND_PCM_RATE_COUNT;
}

int probe_init(struct probe *p, struct drv *d, uint32_t stream)
{
	const uint8_t *info;
	int rc, fmt, rate;
	uint32_t frames;

	memset(p, 0, sizeof(*p));
	p->d = d;
	p->stream = stream;
	rc = drv_query(d, VIRTIO_SND_R_PCM_INFO, stream, 1, VIRTIO_SND_PCM_INFO_SIZE, &info);
	if (rc != VIRTIO_SND_S_OK)
		return rc;
	info += VIRTIO_SND_HDR_SIZE;
	fmt = pick_bit(vsnd_le64(info + 8), VSND_PCM_FMT_S16, format_ok);
	rate = pick_bit(vsnd_le64(info + 16), (unsigned int)drv_rate_enum(48000), rate_ok);
	if (fmt < 0 || rate < 0 || info[25] == 0 || info[25] > info[26])
		return -ENOTSUP;
	p->format = (uint8_t)fmt;
	p->rate = (uint8_t)rate;
	p->channels = info[25] <= 2 && info[26] >= 2 ? 2 : info[25];
	frames = vsnd_pcm_rate_hz((unsigned int)rate) * PROBE_PERIOD_MS / 1000;
	p->period_bytes = (frames ? frames : 1) * drv_sample_bytes(p->format) * p->channels;
	p->next_ns = vsnd__mono_ns();
	return 0;
}

void probe_free(struct probe *p)
{
	if (!p)
		return;
	free(p->rtt_ns);
	p->rtt_ns = NULL;
	p->n = p->cap = 0;
}

int probe_wait_ms(const struct probe *p, int max_ms)
{
	uint64_t now = vsnd__mono_ns(), ms;

	if (p->broken)
		return max_ms;
	if (now >= p->next_ns)
		return 0;
	ms = (p->next_ns - now + 999999) / 1000000;
	return ms < (uint64_t)max_ms ? (int)ms : max_ms;
}

static int send_req(struct probe *p, unsigned int r)
{
	const uint8_t *resp;

	switch (r) {
	case R_INFO:
		return drv_query(p->d, VIRTIO_SND_R_PCM_INFO, p->stream, 1,
				 VIRTIO_SND_PCM_INFO_SIZE, &resp);
	case R_PARAMS:
		return drv_set_params(p->d, p->stream, 4 * p->period_bytes, p->period_bytes, 0,
				      p->channels, p->format, p->rate);
	default:
		return drv_pcm(p->d, req_code[r], p->stream);
	}
}

static int record(struct probe *p, unsigned int r, int st, uint64_t ns)
{
	uint32_t v = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;

	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 4096;
		uint32_t *a = realloc(p->rtt_ns, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		p->rtt_ns = a;
		p->cap = cap;
	}
	p->rtt_ns[p->n++] = v;
	p->count[r][status_index(st)]++;
	if (v > p->max_ns[r])
		p->max_ns[r] = v;
	return 0;
}

/* One request, timed; a negative errno (no answer, a broken one) stops the
 * probe. Returns the status. */
static int timed_req(struct probe *p, unsigned int r)
{
	uint64_t t0 = vsnd__mono_ns();
	int st = send_req(p, r);
	int rc = record(p, r, st, vsnd__mono_ns() - t0);

	if (rc < 0)
		p->broken = rc;
	else if (st < 0)
		p->broken = st;
	return st;
}

static void cycle(struct probe *p)
{
	for (unsigned int r = R_INFO; r <= R_RELEASE && !p->broken; r++) {
		int st = timed_req(p, r);

		/* After a refused transition go straight to RELEASE (valid in
		 * the state a failed SET_PARAMS, PREPARE or START leaves): the
		 * next cycle begins from a released stream. */
		if (st != VIRTIO_SND_S_OK && r != R_INFO && r < R_RELEASE)
			r = R_RELEASE - 1;
	}
}

int probe_tick(struct probe *p)
{
	uint64_t now = vsnd__mono_ns();

	if (p->broken || now < p->next_ns)
		return p->broken;
	cycle(p);
	p->next_ns += PROBE_PERIOD_MS * 1000000ull;
	now = vsnd__mono_ns();
	/* Late (the device was slow to answer): the next one a full period
	 * after this one ended, not a burst to catch up. */
	if (p->next_ns < now)
		p->next_ns = now + PROBE_PERIOD_MS * 1000000ull;
	return p->broken;
}

/* Nearest rank of the sorted samples, in ms. */
static double pct_ms(const struct probe *p, double q)
{
	return drv_rank(p->rtt_ns, p->n, q) / 1e6;
}

static uint32_t failed(const struct probe *p)
{
	uint32_t n = 0;

	for (unsigned int r = 0; r < PROBE_REQS; r++)
		for (unsigned int s = 1; s < PROBE_STATUSES; s++)
			n += p->count[r][s];
	return n;
}

static unsigned int worst_req(const struct probe *p)
{
	unsigned int w = 0;

	for (unsigned int r = 1; r < PROBE_REQS; r++)
		if (p->max_ns[r] > p->max_ns[w])
			w = r;
	return w;
}

/* "REQ:STATUS=N" for every non-OK answer, comma-separated, or "none". */
static void print_failures(const struct probe *p, FILE *out)
{
	const char *sep = "";

	for (unsigned int r = 0; r < PROBE_REQS; r++)
		for (unsigned int s = 1; s < PROBE_STATUSES; s++) {
			if (!p->count[r][s])
				continue;
			fprintf(out, "%s%s:%s=%u", sep, req_name[r], status_name[s], p->count[r][s]);
			sep = ",";
		}
	if (!*sep)
		fputs("none", out);
}

/* Why the probe stopped, as one token, or NULL. */
static const char *stop_reason(const struct probe *p)
{
	if (!p->broken)
		return NULL;
	if (p->broken == -ETIMEDOUT)
		return "NO_ANSWER";
	return p->broken == -ENOMEM ? "NO_MEMORY" : "BROKEN_ANSWER";
}

static void report_text(const struct probe *p, FILE *out)
{
	fprintf(out, "ctl-probe: requests %zu failed %u p50_ms %.3f p99_ms %.3f max_ms %.3f worst %s"
		" failures ", p->n, failed(p), pct_ms(p, 0.5), pct_ms(p, 0.99),
		pct_ms(p, 1.0), req_name[worst_req(p)]);
	print_failures(p, out);
	fprintf(out, " stopped %s\n", p->broken ? stop_reason(p) : "no");
}

static void report_json(const struct probe *p, FILE *out)
{
	fprintf(out, "\"ctl_probe\": {\"stream\": %u, \"requests\": %zu, \"failed\": %u, "
		"\"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"stopped\": ",
		p->stream, p->n, failed(p), pct_ms(p, 0.5), pct_ms(p, 0.99), pct_ms(p, 1.0));
	if (p->broken)
		fprintf(out, "\"%s\"", stop_reason(p));
	else
		fputs("null", out);
	fputs(", \"by_request\": {", out);
	for (unsigned int r = 0; r < PROBE_REQS; r++) {
		fprintf(out, "%s\"%s\": {\"max_ms\": %.3f", r ? ", " : "", req_name[r],
			p->max_ns[r] / 1e6);
		for (unsigned int s = 0; s < PROBE_STATUSES; s++)
			if (p->count[r][s])
				fprintf(out, ", \"%s\": %u", status_name[s], p->count[r][s]);
		fputc('}', out);
	}
	fputs("}}", out);
}

void probe_report(struct probe *p, FILE *out, bool json)
{
	drv_sort_u32(p->rtt_ns, p->n);
	if (json)
		report_json(p, out);
	else
		report_text(p, out);
}
