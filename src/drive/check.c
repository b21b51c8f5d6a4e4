/* SPDX-License-Identifier: MIT */
/*
 * `vsnd-drive SOCK check`: a conformance run against VirtIO 1.3 5.14 and the
 * behaviour guest drivers depend on. One line per clause, PASS, FAIL or
 * SKIP; the run returns 1 if anything failed.
 */
#include "drive/cmd.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "drive/pcm_io.h"
#include "drive/req.h"
#include "drive/rules.h"
#include "util/iov.h"
#include "util/mono.h"

/* Pacing limits: mean, 95th percentile and worst deviation of completion
 * times from the ideal clock, as seen from user space on a busy host. */
#define PACE_MEAN_NS 1000000.0
#define PACE_P95_NS 5000000.0
#define PACE_MAX_NS 20000000.0
#define PACE_MAX_COMPLETIONS 100
#define HOLD_MS 100             /* how long "held" must stay held */
#define RELEASE_LIMIT_NS 1000000000ull

struct chk {
	struct drv *d;
	const struct cmd_opts *o;
	FILE *out;
	unsigned int pass, fail, skip, warn;
};

/* A stream under test and parameters it accepts. */
struct chk_stream {
	int id;
	uint8_t dir;
	uint8_t info[32];
	uint8_t fmt, rate, channels;
	uint32_t frame, period, hz;
	unsigned int periods;           /* of the buffer SET_PARAMS gives */
};

__attribute__((format(printf, 4, 0)))
static void line(struct chk *c, const char *verdict, const char *clause, const char *fmt,
		 va_list ap)
{
	fprintf(c->out, "%-4s %-28s ", verdict, clause);
	vfprintf(c->out, fmt, ap);
	fputc('\n', c->out);
	fflush(c->out);
}

__attribute__((format(printf, 4, 5)))
static bool result(struct chk *c, bool ok, const char *clause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(c, ok ? "PASS" : "FAIL", clause, fmt, ap);
	va_end(ap);
	if (ok)
		c->pass++;
	else
		c->fail++;
	return ok;
}

/* A line that neither passes nor fails: SKIP (not run), or WARN (not
 * against the spec, but a guest will not work with it). */
__attribute__((format(printf, 5, 6)))
static void tell(struct chk *c, const char *verdict, unsigned int *count, const char *clause,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	line(c, verdict, clause, fmt, ap);
	va_end(ap);
	(*count)++;
}

#define skipped(c, ...) tell((c), "SKIP", &(c)->skip, __VA_ARGS__)
#define warned(c, ...) tell((c), "WARN", &(c)->warn, __VA_ARGS__)

static const char *st(int s)
{
	return drv_status_name(s);
}

/* A request whose answer must be exactly want. */
static bool expect(struct chk *c, const char *clause, const char *what, const void *req,
		   uint32_t req_len, uint32_t resp_len, int want)
{
	const uint8_t *resp;
	uint32_t used = 0;
	int got = drv_ctl(c->d, req, req_len, resp_len, &resp, &used);

	return result(c, got == want, clause, "%s: %s (want %s)", what, st(got), st(want));
}


/* ---- control requests ---- */

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

struct info_kind {
	const char *name;
	uint32_t code, size, total;
	unsigned int pad_off;           /* reserved bytes that must read 0 */
};

static void check_info_kind(struct chk *c, const struct info_kind *k)
{
	uint8_t q[16];
	const uint8_t *resp;
	uint32_t used = 0, want_len = 4 + k->total * k->size;
	char clause[40];
	bool pad = true;
	int s;

	snprintf(clause, sizeof(clause), "ctl.%s", k->name);
	if (k->total == 0 || want_len > DRV_CTL_MAX) {
		skipped(c, clause, "%u items", k->total);
		return;
	}
	req_query(q, k->code, 0, k->total, k->size);
	s = drv_ctl(c->d, q, 16, want_len, &resp, &used);
	for (uint32_t i = 0; s == VIRTIO_SND_S_OK && i < k->total; i++)
		pad &= all_zero(resp + 4 + i * k->size + k->pad_off, k->size - k->pad_off);
	result(c, s == VIRTIO_SND_S_OK && used == want_len, clause,
	       "all %u records: %s, used len %u (want %u)", k->total, st(s), used, want_len);
	result(c, pad, clause, "padding and reserved bytes are zero");
	/* a bigger stride than the device knows: records copied, rest zeroed */
	req_query(q, k->code, 0, 1, k->size + 16);
	s = drv_ctl(c->d, q, 16, 4 + k->size + 16, &resp, &used);
	result(c, s == VIRTIO_SND_S_OK && all_zero(resp + 4 + k->size, 16), clause,
	       "stride of %u bytes: %s, tail zeroed", k->size + 16, st(s));
	req_query(q, k->code, k->total, 1, k->size);
	expect(c, clause, "start past the end", q, 16, 4 + k->size, VIRTIO_SND_S_BAD_MSG);
	req_query(q, k->code, 1, UINT32_MAX, k->size);
	expect(c, clause, "start + count overflows", q, 16, 4 + k->size, VIRTIO_SND_S_BAD_MSG);
	req_query(q, k->code, 0, k->total, k->size);
	expect(c, clause, "response one byte short", q, 16, want_len - 1, VIRTIO_SND_S_BAD_MSG);
	expect(c, clause, "request of 12 bytes", q, 12, want_len, VIRTIO_SND_S_BAD_MSG);
	req_query(q, k->code, 0, 1, 0);
	expect(c, clause, "record size 0", q, 16, 4 + k->size, VIRTIO_SND_S_BAD_MSG);
}

static void check_generic(struct chk *c)
{
	uint8_t q[16] = { 0 };
	const uint8_t *resp;
	uint32_t used = 99;
	int s;

	vsnd_put_le32(q, VIRTIO_SND_R_PCM_INFO);
	expect(c, "ctl.header", "request of 2 bytes", q, 2, 64, VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(q, 0xdead);
	expect(c, "ctl.unknown", "request code 0xdead", q, 16, 64, VIRTIO_SND_S_NOT_SUPP);
	vsnd_put_le32(q, VIRTIO_SND_R_PCM_INFO);
	s = drv_ctl(c->d, q, 16, 0, &resp, &used);
	result(c, s == -EBADMSG && used == 0, "ctl.no-room",
	       "no writable bytes: given back with used len %u", used);
	if (!c->d->ctls) {
		req_query(q, VIRTIO_SND_R_CTL_INFO, 0, 1, VIRTIO_SND_CTL_INFO_SIZE);
		expect(c, "ctl.ctls-not-negotiated", "CTL_INFO without F_CTLS", q, 16,
		       4 + VIRTIO_SND_CTL_INFO_SIZE, VIRTIO_SND_S_NOT_SUPP);
	}
}

static void check_jack_remap(struct chk *c)
{
	uint8_t q[VIRTIO_SND_JACK_REMAP_SIZE] = { 0 };
	const uint8_t *info;
	int s;

	if (!c->d->jacks) {
		skipped(c, "ctl.jack-remap", "no jacks");
		return;
	}
	req_hdr(q, VIRTIO_SND_R_JACK_REMAP, c->d->jacks);
	expect(c, "ctl.jack-remap", "bad jack id", q, sizeof(q), 4, VIRTIO_SND_S_BAD_MSG);
	s = drv_query(c->d, VIRTIO_SND_R_JACK_INFO, 0, 1, VIRTIO_SND_JACK_INFO_SIZE, &info);
	if (s == VIRTIO_SND_S_OK && !(vsnd_le32(info + 4 + 4) & (1u << VIRTIO_SND_JACK_F_REMAP))) {
		vsnd_put_le32(q + 4, 0);
		expect(c, "ctl.jack-remap", "jack without F_REMAP", q, sizeof(q), 4,
		       VIRTIO_SND_S_NOT_SUPP);
	}
}

static void check_controls(struct chk *c)
{
	struct info_kind kinds[] = {
		{ "jack-info", VIRTIO_SND_R_JACK_INFO, VIRTIO_SND_JACK_INFO_SIZE, c->d->jacks, 17 },
		{ "pcm-info", VIRTIO_SND_R_PCM_INFO, VIRTIO_SND_PCM_INFO_SIZE, c->d->streams, 27 },
		{ "chmap-info", VIRTIO_SND_R_CHMAP_INFO, VIRTIO_SND_CHMAP_INFO_SIZE, c->d->chmaps, 24 },
	};

	check_generic(c);
	for (unsigned int i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		check_info_kind(c, &kinds[i]);
	check_jack_remap(c);
}

/* ---- PCM commands and the state machine ---- */

static int stream_pick(struct chk *c, uint8_t dir, struct chk_stream *s)
{
	static const uint8_t fmts[] = { VSND_PCM_FMT_S16, VSND_PCM_FMT_S32,
					VSND_PCM_FMT_U8 };
	static const uint8_t rates[] = { VSND_PCM_RATE_48000, VSND_PCM_RATE_44100 };
	uint64_t f, r;

	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->id = cmd_find_stream(c->d, -1, dir, s->info);
	if (s->id < 0)
		return s->id;
	f = vsnd_le64(s->info + 8);
	r = vsnd_le64(s->info + 16);
	s->fmt = 0xff;
	s->rate = 0xff;
	for (unsigned int i = 0; i < sizeof(fmts); i++)
		if (s->fmt == 0xff && (f & (1ull << fmts[i])))
			s->fmt = fmts[i];
	for (unsigned int i = 0; i < sizeof(rates); i++)
		if (s->rate == 0xff && (r & (1ull << rates[i])))
			s->rate = rates[i];
	if (s->fmt == 0xff || s->rate == 0xff)
		return -ENOTSUP;
	s->channels = s->info[25] <= 2 && s->info[26] >= 2 ? 2 : s->info[25];
	s->hz = vsnd_pcm_rate_hz(s->rate);
	s->frame = drv_sample_bytes(s->fmt) * s->channels;
	s->period = s->hz / 100 * s->frame; /* 10 ms */
	s->periods = 4;
	return 0;
}

static int set_params(struct chk *c, const struct chk_stream *s, uint32_t period,
		      unsigned int periods, uint32_t features)
{
	return drv_set_params(c->d, (uint32_t)s->id, period * periods, period, features,
			      s->channels, s->fmt, s->rate);
}

enum { ST_PARAMS, ST_PREPARED, ST_STARTED, ST_STOPPED, ST_RELEASED, ST_COUNT };
static const char *const st_names[ST_COUNT] = { "params", "prepared", "started", "stopped",
						"released" };
enum { CMD_SET_PARAMS, CMD_PREPARE, CMD_RELEASE, CMD_START, CMD_STOP, CMD_COUNT };
static const char *const cmd_names[CMD_COUNT] = { "SET_PARAMS", "PREPARE", "RELEASE", "START",
						  "STOP" };
static const uint32_t cmd_codes[CMD_COUNT] = { VIRTIO_SND_R_PCM_SET_PARAMS,
	VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_RELEASE, VIRTIO_SND_R_PCM_START,
	VIRTIO_SND_R_PCM_STOP };
/* 5.14.6.6.1 (and the lenient RELEASE Linux needs): true = accepted. */
static const bool allowed[ST_COUNT][CMD_COUNT] = {
	[ST_PARAMS]   = { true,  true,  true,  false, false },
	[ST_PREPARED] = { true,  true,  true,  true,  false },
	[ST_STARTED]  = { false, false, false, false, true },
	[ST_STOPPED]  = { false, false, true,  true,  false },
	[ST_RELEASED] = { true,  true,  true,  false, false },
};

static int send_cmd(struct chk *c, const struct chk_stream *s, unsigned int cmd)
{
	if (cmd == CMD_SET_PARAMS)
		return set_params(c, s, s->period, s->periods, 0);
	return drv_pcm(c->d, cmd_codes[cmd], (uint32_t)s->id);
}

/* Bring the stream into state st from wherever it is. */
static int goto_state(struct chk *c, const struct chk_stream *s, unsigned int target)
{
	static const unsigned int path[ST_COUNT][5] = {
		[ST_PARAMS] = { CMD_SET_PARAMS },
		[ST_PREPARED] = { CMD_SET_PARAMS, CMD_PREPARE },
		[ST_STARTED] = { CMD_SET_PARAMS, CMD_PREPARE, CMD_START },
		[ST_STOPPED] = { CMD_SET_PARAMS, CMD_PREPARE, CMD_START, CMD_STOP },
		[ST_RELEASED] = { CMD_SET_PARAMS, CMD_PREPARE, CMD_RELEASE },
	};
	static const unsigned int len[ST_COUNT] = { 1, 2, 3, 4, 3 };

	drv_pcm(c->d, VIRTIO_SND_R_PCM_STOP, (uint32_t)s->id);
	drv_pcm(c->d, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)s->id);
	for (unsigned int i = 0; i < len[target]; i++) {
		int rc = send_cmd(c, s, path[target][i]);

		if (rc != VIRTIO_SND_S_OK)
			return rc;
	}
	return VIRTIO_SND_S_OK;
}

static void check_initial(struct chk *c, const struct chk_stream *s)
{
	static const unsigned int bad[] = { CMD_PREPARE, CMD_START, CMD_STOP };
	int rc;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = send_cmd(c, s, bad[i]);
		result(c, rc == VIRTIO_SND_S_BAD_MSG, "pcm.state", "stream %d initial + %s: %s "
		       "(want BAD_MSG)", s->id, cmd_names[bad[i]], st(rc));
	}
	rc = send_cmd(c, s, CMD_RELEASE);
	result(c, rc == VIRTIO_SND_S_OK, "pcm.state", "stream %d initial + RELEASE: %s "
	       "(want OK, lenient)", s->id, st(rc));
}

static void check_transitions(struct chk *c, const struct chk_stream *s)
{
	for (unsigned int from = 0; from < ST_COUNT; from++) {
		for (unsigned int cmd = 0; cmd < CMD_COUNT; cmd++) {
			int want = allowed[from][cmd] ? VIRTIO_SND_S_OK : VIRTIO_SND_S_BAD_MSG;
			int rc = goto_state(c, s, from);

			if (rc != VIRTIO_SND_S_OK) {
				result(c, false, "pcm.state", "stream %d: reaching %s: %s", s->id,
				       st_names[from], st(rc));
				continue;
			}
			rc = send_cmd(c, s, cmd);
			result(c, rc == want, "pcm.state", "stream %d %s + %s: %s (want %s)", s->id,
			       st_names[from], cmd_names[cmd], st(rc), st(want));
		}
	}
	goto_state(c, s, ST_RELEASED);
}

static void check_pcm_malformed(struct chk *c, const struct chk_stream *s)
{
	const struct req_params p = { .stream = c->d->streams, .buffer_bytes = s->period * 4,
				      .period_bytes = s->period, .channels = s->channels,
				      .format = s->fmt, .rate = s->rate };
	uint8_t q[VIRTIO_SND_PCM_SET_PARAMS_SIZE] = { 0 };
	const uint8_t *resp;
	uint32_t used;
	int rc;

	for (unsigned int cmd = CMD_PREPARE; cmd < CMD_COUNT; cmd++) {
		req_hdr(q, cmd_codes[cmd], c->d->streams);
		expect(c, "pcm.bad-id", cmd_names[cmd], q, 8, 4, VIRTIO_SND_S_BAD_MSG);
		expect(c, "pcm.short", cmd_names[cmd], q, 4, 4, VIRTIO_SND_S_BAD_MSG);
	}
	req_set_params(q, &p);
	expect(c, "pcm.bad-id", "SET_PARAMS", q, sizeof(q), 4, VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(q + 4, (uint32_t)s->id);
	expect(c, "pcm.set-params", "request of 20 bytes", q, 20, 4, VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(q + 12, 0);
	expect(c, "pcm.set-params", "period_bytes 0", q, sizeof(q), 4, VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(q + 12, s->period);
	vsnd_put_le32(q + 8, s->period * 4 + s->frame);
	expect(c, "pcm.set-params", "buffer not a multiple of the period", q, sizeof(q), 4,
	       VIRTIO_SND_S_BAD_MSG);
	vsnd_put_le32(q + 8, s->period * 4);
	q[20] = (uint8_t)(s->info[26] + 1);
	expect(c, "pcm.set-params", "channels above channels_max", q, sizeof(q), 4,
	       VIRTIO_SND_S_NOT_SUPP);
	q[20] = s->channels;
	/* undefined values: NOT_SUPP or BAD_MSG both tell the driver no */
	for (unsigned int i = 0; i < 3; i++) {
		static const char *const what[] = { "undefined format 200", "undefined rate 200",
						    "SHMEM_HOST feature" };
		uint8_t saved[24];

		memcpy(saved, q, sizeof(q));
		if (i == 0)
			q[21] = 200;
		else if (i == 1)
			q[22] = 200;
		else
			vsnd_put_le32(q + 16, 1u << VIRTIO_SND_PCM_F_SHMEM_HOST);
		rc = drv_ctl(c->d, q, sizeof(q), 4, &resp, &used);
		result(c, rc == VIRTIO_SND_S_NOT_SUPP || rc == VIRTIO_SND_S_BAD_MSG,
		       "pcm.set-params", "%s: %s (want NOT_SUPP or BAD_MSG)", what[i], st(rc));
		memcpy(q, saved, sizeof(q));
	}
}

/* ---- I/O messages ---- */

/* Queue one message on the stream's queue with the given header id and
 * expect an immediate IO_ERR. */
static void check_reject(struct chk *c, struct pcm_io *io, uint32_t id, const char *what)
{
	struct pcm_io_done done;
	uint32_t wr_len = io->q == VSND_QUEUE_TX ? 8 : io->size + 8;
	int rc = pcm_io_submit_as(io, 0, io->size, id, false);

	if (rc == 0)
		rc = pcm_io_wait(io, 500, &done);
	result(c, rc == 0 && done.status == VIRTIO_SND_S_IO_ERR &&
	       (done.used_len == 8 || done.used_len == wr_len), "io.reject",
	       "%s: %s, status 0x%x, used len %u", what, rc ? strerror(-rc) : "completed",
	       rc ? 0 : done.status, rc ? 0 : done.used_len);
}

static void check_rejects(struct chk *c, const struct chk_stream *out, const struct chk_stream *in)
{
	struct pcm_io tx, rx;

	if (pcm_io_init(&tx, c->d, VSND_QUEUE_TX, (uint32_t)out->id, out->period, 1) < 0 ||
	    pcm_io_init(&rx, c->d, VSND_QUEUE_RX, in ? (uint32_t)in->id : 0, out->period, 1) < 0)
		return;
	goto_state(c, out, ST_PARAMS);
	check_reject(c, &tx, (uint32_t)out->id, "TX to a stream with only parameters");
	check_reject(c, &tx, c->d->streams, "TX with a bad stream id");
	if (in) {
		goto_state(c, in, ST_PREPARED);
		check_reject(c, &tx, (uint32_t)in->id, "TX to an input stream");
		goto_state(c, in, ST_RELEASED);
	}
	goto_state(c, out, ST_PREPARED);
	check_reject(c, &rx, (uint32_t)out->id, "RX from an output stream");
	goto_state(c, out, ST_RELEASED);
}

/* Nothing completes for HOLD_MS: the device holds what it was given. */
static bool stays_held(struct pcm_io *io)
{
	struct pcm_io_done done;

	return pcm_io_wait(io, HOLD_MS, &done) == -ETIMEDOUT;
}

/* RELEASE with n messages pending (5.14.6.6.5): every one comes back
 * before the RELEASE answer, and the answer well within the 1 s a driver
 * waits. Messages published after the answer are counted apart. */
static void check_release_flush(struct chk *c, const struct chk_stream *s, struct pcm_io *io,
				const char *what)
{
	uint64_t t0 = vsnd__mono_ns(), dt;
	unsigned int n = io->pending, before = 0, late = 0;
	int rc = drv_pcm(c->d, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)s->id);
	struct pcm_io_done done;

	dt = vsnd__mono_ns() - t0;
	while (pcm_io_wait(io, 0, &done) == 0)
		before++;
	while (io->pending && pcm_io_wait(io, 100, &done) == 0)
		late++;
	result(c, rc == VIRTIO_SND_S_OK && before == n && dt < RELEASE_LIMIT_NS,
	       "pcm.release-flush", "%s: RELEASE %s after %.1f ms with %u of %u messages back "
	       "(%u more after the answer)", what, st(rc), (double)dt / 1e6, before, n, late);
	while (io->pending && pcm_io_wait(io, 1000, &done) == 0)
		;
}

static void check_tx_hold(struct chk *c, const struct chk_stream *s)
{
	struct pcm_io io;
	int rc = pcm_io_init(&io, c->d, VSND_QUEUE_TX, (uint32_t)s->id, s->period, 3);

	if (rc == 0)
		rc = goto_state(c, s, ST_PREPARED) == VIRTIO_SND_S_OK ? 0 : -EIO;
	for (unsigned int i = 0; rc == 0 && i < 3; i++) {
		memset(pcm_io_data(&io, i), 0, s->period);
		rc = pcm_io_submit(&io, i, s->period, false);
	}
	if (rc < 0) {
		result(c, false, "io.tx-prebuffer", "setup failed: %s", strerror(-rc));
		return;
	}
	result(c, stays_held(&io), "io.tx-prebuffer", "TX held in PREPARED (before START)");
	check_release_flush(c, s, &io, "prepared stream");
}

/* Messages kicked right before RELEASE: the kick and the control request
 * race inside the device, yet the messages were available first and must
 * come back before the answer. A few rounds give the race its chances. */
static void check_release_race(struct chk *c, const struct chk_stream *s)
{
	unsigned int rounds = 20, n = 2, bad = 0;
	struct pcm_io io;
	int rc = pcm_io_init(&io, c->d, VSND_QUEUE_TX, (uint32_t)s->id, s->period, n);

	for (unsigned int r = 0; rc == 0 && r < rounds; r++) {
		struct pcm_io_done done;
		unsigned int before = 0;

		rc = goto_state(c, s, ST_PREPARED) == VIRTIO_SND_S_OK ? 0 : -EIO;
		for (unsigned int i = 0; rc == 0 && i < n; i++)
			rc = pcm_io_submit(&io, i, s->period, false);
		if (rc == 0 && drv_pcm(c->d, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)s->id) !=
		    VIRTIO_SND_S_OK)
			rc = -EIO;
		while (pcm_io_wait(&io, 0, &done) == 0)
			before++;
		bad += before != n;
		while (io.pending && pcm_io_wait(&io, 1000, &done) == 0)
			;
	}
	result(c, rc == 0 && bad == 0, "pcm.release-flush", "messages kicked just before RELEASE: "
	       "%u of %u rounds answered RELEASE first%s", bad, rounds,
	       rc ? " (setup failed)" : "");
}

static void check_rx(struct chk *c, const struct chk_stream *s)
{
	struct pcm_io io;
	struct pcm_io_done done;
	uint64_t t0;
	int rc = pcm_io_init(&io, c->d, VSND_QUEUE_RX, (uint32_t)s->id, s->period, 3);

	if (rc == 0)
		rc = goto_state(c, s, ST_PREPARED) == VIRTIO_SND_S_OK ? 0 : -EIO;
	for (unsigned int i = 0; rc == 0 && i < 3; i++)
		rc = pcm_io_submit(&io, i, s->period, false);
	if (rc < 0) {
		result(c, false, "io.rx", "setup failed: %s", strerror(-rc));
		return;
	}
	result(c, stays_held(&io), "io.rx-before-start", "RX held in PREPARED until START");
	t0 = vsnd__mono_ns();
	rc = drv_pcm(c->d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id);
	if (rc == VIRTIO_SND_S_OK)
		rc = pcm_io_wait(&io, 1000, &done);
	else
		rc = -EIO;
	result(c, rc == 0 && done.used_len == s->period + 8, "io.rx-status",
	       "used len %u = data %u + 8", rc ? 0 : done.used_len, s->period);
	result(c, rc == 0 && done.status == VIRTIO_SND_S_OK, "io.rx-status",
	       "status OK in the last 8 writable bytes (0x%x)", rc ? 0 : done.status);
	result(c, rc == 0 && done.ns - t0 >= (uint64_t)s->period * 1000000000ull / s->frame / s->hz / 2,
	       "io.rx-pacing", "first period completed after %.1f ms (a period is 10 ms)",
	       rc ? 0.0 : (double)(done.ns - t0) / 1e6);
	rc = drv_pcm(c->d, VIRTIO_SND_R_PCM_STOP, (uint32_t)s->id);
	result(c, rc == VIRTIO_SND_S_OK, "io.rx-stop", "STOP: %s", st(rc));
	/* refill what completed so something is surely pending at RELEASE */
	for (unsigned int i = 0; i < io.n; i++)
		if (io.head[i] < 0)
			pcm_io_submit(&io, i, s->period, false);
	check_release_flush(c, s, &io, "stopped capture");
}

/* Completion times against the ideal clock: deviations from the best
 * fitting offset (a late first completion must not count against the rest).
 * p95 rather than the maximum decides: one late wake-up of this process on
 * a busy host is not the device's fault, a device that bursts is late on
 * many completions. The maximum still has a hard cap. */
struct pace {
	double mean, p95, worst;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void pacing_stats(const uint64_t *t, unsigned int n, double period_ns, struct pace *p)
{
	double e[PACE_MAX_COMPLETIONS], offset = 0;

	for (unsigned int k = 0; k < n; k++)
		offset += (double)(t[k] - t[0]) - k * period_ns;
	offset /= n;
	p->mean = 0;
	for (unsigned int k = 0; k < n; k++) {
		e[k] = fabs((double)(t[k] - t[0]) - k * period_ns - offset);
		p->mean += e[k] / n;
	}
	qsort(e, n, sizeof(e[0]), cmp_double);
	p->p95 = e[(n * 95) / 100 < n ? (n * 95) / 100 : n - 1];
	p->worst = e[n - 1];
}

static bool pacing_ok(const struct pace *p)
{
	return p->mean <= PACE_MEAN_NS && p->p95 <= PACE_P95_NS && p->worst <= PACE_MAX_NS;
}

static int pacing_start(struct chk *c, const struct chk_stream *s, struct pcm_io *io,
			uint32_t period, unsigned int n)
{
	int rc = pcm_io_init(io, c->d, VSND_QUEUE_TX, (uint32_t)s->id, period, n);

	if (rc == 0 && (drv_set_params(c->d, (uint32_t)s->id, period * n, period, 0, s->channels,
				       s->fmt, s->rate) != VIRTIO_SND_S_OK ||
			drv_pcm(c->d, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)s->id) != VIRTIO_SND_S_OK))
		rc = -EIO;
	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		memset(pcm_io_data(io, i), 0, period);
		rc = pcm_io_submit(io, i, period, false);
	}
	if (rc == 0 && drv_pcm(c->d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id) != VIRTIO_SND_S_OK)
		rc = -EIO;
	return rc;
}

/* Prefill n buffers of `period` bytes, START, requeue on completion and
 * record the completion times. Returns 0 or a negative errno. */
static int pacing_run(struct chk *c, const struct chk_stream *s, uint32_t period, unsigned int n,
		      unsigned int completions, uint64_t *t)
{
	double period_ns = (double)period / s->frame * 1e9 / s->hz;
	struct pcm_io io;
	struct pcm_io_done done;
	int rc = pacing_start(c, s, &io, period, n);

	for (unsigned int k = 0; rc == 0 && k < completions; k++) {
		rc = pcm_io_wait(&io, (int)(period_ns * 3 / 1e6) + 500, &done);
		if (rc == 0 && done.status != VIRTIO_SND_S_OK)
			rc = -EIO;
		if (rc < 0)
			break;
		t[k] = done.ns;
		rc = pcm_io_submit(&io, done.i, period, false);
	}
	drv_pcm(c->d, VIRTIO_SND_R_PCM_STOP, (uint32_t)s->id);
	drv_pcm(c->d, VIRTIO_SND_R_PCM_RELEASE, (uint32_t)s->id);
	while (io.pending && pcm_io_wait(&io, 1000, &done) == 0)
		;
	return rc;
}

/* The pacing clause. One bad run on a busy host can be the host's fault
 * (we measure from user space): a second run decides, and the line says so. */
static void check_pacing(struct chk *c, const struct chk_stream *s, const char *what,
			 uint32_t period, unsigned int n, unsigned int completions)
{
	double period_ns = (double)period / s->frame * 1e9 / s->hz;
	struct pace p = { 0 };
	uint64_t t[PACE_MAX_COMPLETIONS];
	unsigned int attempt;
	int rc = 0;

	if (completions > PACE_MAX_COMPLETIONS)
		completions = PACE_MAX_COMPLETIONS;
	for (attempt = 1; attempt <= 2; attempt++) {
		rc = pacing_run(c, s, period, n, completions, t);
		if (rc < 0)
			break;
		pacing_stats(t, completions, period_ns, &p);
		if (pacing_ok(&p))
			break;
	}
	if (rc < 0) {
		result(c, false, "io.tx-pacing", "%s: %s", what, strerror(-rc));
		return;
	}
	result(c, pacing_ok(&p), "io.tx-pacing",
	       "%s: %u completions of %.2f ms, deviation mean %.3f ms, p95 %.3f ms, max %.3f ms%s",
	       what, completions, period_ns / 1e6, p.mean / 1e6, p.p95 / 1e6, p.worst / 1e6,
	       attempt > 1 ? " (second run)" : "");
}

static void check_xrun_event(struct chk *c, const struct chk_stream *s)
{
	uint64_t deadline;
	uint32_t code = 0, data = 0;
	bool seen = false;

	if (!(vsnd_le32(s->info + 4) & (1u << VIRTIO_SND_PCM_F_EVT_XRUNS))) {
		skipped(c, "event.xrun", "stream %d does not offer EVT_XRUNS", s->id);
		return;
	}
	while (drv_event(c->d, &code, &data) == 0)
		; /* earlier events are not this clause's business */
	if (set_params(c, s, s->period, 4, 1u << VIRTIO_SND_PCM_F_EVT_XRUNS) != VIRTIO_SND_S_OK ||
	    drv_pcm(c->d, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)s->id) != VIRTIO_SND_S_OK ||
	    drv_pcm(c->d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id) != VIRTIO_SND_S_OK) {
		result(c, false, "event.xrun", "could not start stream %d", s->id);
		return;
	}
	deadline = vsnd__mono_ns() + 500000000ull;
	while (!seen && vsnd__mono_ns() < deadline) {
		fe_wait(&c->d->fe, VSND_QUEUE_EVENT, 20);
		while (drv_event(c->d, &code, &data) == 0)
			seen |= code == VIRTIO_SND_EVT_PCM_XRUN && data == (uint32_t)s->id;
	}
	goto_state(c, s, ST_RELEASED);
	result(c, seen, "event.xrun", "started with no buffers: XRUN event for stream %d", s->id);
}

/* ---- control elements ---- */

static int ctl_rw(struct chk *c, uint32_t code, uint32_t id, int32_t *value)
{
	uint8_t q[VIRTIO_SND_CTL_HDR_SIZE + VIRTIO_SND_CTL_VALUE_SIZE] = { 0 };
	const uint8_t *resp;
	uint32_t used;
	int rc;

	req_hdr(q, code, id);
	if (code == VIRTIO_SND_R_CTL_WRITE) {
		vsnd_put_le32(q + 8, (uint32_t)*value);
		return drv_ctl(c->d, q, sizeof(q), 4, &resp, &used);
	}
	rc = drv_ctl(c->d, q, 8, 4 + VIRTIO_SND_CTL_VALUE_SIZE, &resp, &used);
	if (rc == VIRTIO_SND_S_OK)
		*value = (int32_t)vsnd_le32(resp + 4);
	return rc;
}

static void check_one_control(struct chk *c, uint32_t id, const uint8_t *info)
{
	uint32_t type = vsnd_le32(info + 8), access = vsnd_le32(info + 12);
	int32_t saved = 0, v, lo = 0, hi = 1;
	int rc = ctl_rw(c, VIRTIO_SND_R_CTL_READ, id, &saved);

	result(c, rc == VIRTIO_SND_S_OK, "ctl.elem-read", "control %u \"%.44s\": %s", id,
	       (const char *)(info + 24), st(rc));
	if (rc != VIRTIO_SND_S_OK || !(access & (1u << VIRTIO_SND_CTL_ACCESS_WRITE)))
		return;
	if (type == VIRTIO_SND_CTL_TYPE_INTEGER) {
		lo = (int32_t)vsnd_le32(info + 72);
		hi = (int32_t)vsnd_le32(info + 76);
	} else if (type != VIRTIO_SND_CTL_TYPE_BOOLEAN) {
		return;
	}
	v = lo;
	rc = ctl_rw(c, VIRTIO_SND_R_CTL_WRITE, id, &v);
	v = hi;
	if (rc == VIRTIO_SND_S_OK)
		rc = ctl_rw(c, VIRTIO_SND_R_CTL_READ, id, &v);
	result(c, rc == VIRTIO_SND_S_OK && v == lo, "ctl.elem-write", "control %u: wrote %d, "
	       "read back %d", id, lo, v);
	if (hi < INT32_MAX) {
		v = hi + 1;
		rc = ctl_rw(c, VIRTIO_SND_R_CTL_WRITE, id, &v);
		result(c, rc == VIRTIO_SND_S_BAD_MSG, "ctl.elem-write", "control %u: value %d above "
		       "max: %s (want BAD_MSG)", id, hi + 1, st(rc));
	}
	ctl_rw(c, VIRTIO_SND_R_CTL_WRITE, id, &saved);
}

static void check_elements(struct chk *c)
{
	struct info_kind k = { "ctl-info", VIRTIO_SND_R_CTL_INFO, VIRTIO_SND_CTL_INFO_SIZE,
			       c->d->controls, VIRTIO_SND_CTL_INFO_SIZE };
	uint8_t info[VIRTIO_SND_CTL_INFO_SIZE];
	const uint8_t *p;
	const char *why;
	char buf[96];
	int32_t v;
	int rc;

	if (!c->d->ctls) {
		skipped(c, "ctl.elements", c->o->controls ? "the device does not offer F_CTLS"
							 : "not asked for (--controls)");
		return;
	}
	check_info_kind(c, &k);
	for (uint32_t id = 0; id < c->d->controls; id++) {
		rc = drv_query(c->d, VIRTIO_SND_R_CTL_INFO, id, 1, VIRTIO_SND_CTL_INFO_SIZE, &p);
		if (rc != VIRTIO_SND_S_OK)
			continue;
		memcpy(info, p + 4, sizeof(info));
		why = rules_ctl(info, buf, sizeof(buf));
		result(c, !why, "ctl.linux-limits", "control %u \"%.44s\": %s", id,
		       (const char *)(info + 24),
		       why ? why : "type, count and items within Linux's limits");
		check_one_control(c, id, info);
	}
	rc = ctl_rw(c, VIRTIO_SND_R_CTL_READ, c->d->controls, &v);
	result(c, rc == VIRTIO_SND_S_BAD_MSG, "ctl.elem-read", "bad control id: %s (want BAD_MSG)",
	       st(rc));
}

/* Queue n messages of a stream and start it. 0 or a negative errno. */
static int run_with(struct chk *c, const struct chk_stream *s, struct pcm_io *io, unsigned int n)
{
	int rc = goto_state(c, s, ST_PREPARED) == VIRTIO_SND_S_OK ? 0 : -EIO;

	for (unsigned int i = 0; rc == 0 && i < n; i++) {
		if (s->dir == VSND_DIR_OUTPUT)
			memset(pcm_io_data(io, i), 0, s->period);
		rc = pcm_io_submit(io, i, s->period, false);
	}
	if (rc == 0 && drv_pcm(c->d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id) != VIRTIO_SND_S_OK)
		rc = -EIO;
	return rc;
}

/* Linux (2026) resets the device before deleting its queues, with I/O
 * still pending: the device lets go of it (none of it completes on the new
 * rings) and serves a new session at once, in real time. */
static void check_reset_pending(struct chk *c, const struct chk_stream *out,
				const struct chk_stream *in)
{
	struct pcm_io tx, rx;
	struct pcm_io_done done;
	unsigned int n = 4, got = 0;
	uint64_t t0 = 0, first = 0;
	int rc = pcm_io_init(&tx, c->d, VSND_QUEUE_TX, (uint32_t)out->id, out->period, n);

	if (rc == 0 && in)
		rc = pcm_io_init(&rx, c->d, VSND_QUEUE_RX, (uint32_t)in->id, in->period, n);
	if (rc == 0)
		rc = run_with(c, out, &tx, n);
	if (rc == 0 && in)
		rc = run_with(c, in, &rx, n);
	if (rc == 0)
		rc = drv_reset(c->d);
	pcm_io_forget(&tx);
	if (rc == 0) {
		t0 = vsnd__mono_ns();
		rc = run_with(c, out, &tx, n);
	}
	while (rc == 0 && got < n && pcm_io_wait(&tx, 1000, &done) == 0)
		if (got++ == 0)
			first = done.ns - t0;
	/* a stale message would come back at once, and one too many */
	result(c, rc == 0 && got == n && first * 2 >= (uint64_t)out->period * 1000000000u /
						     (out->frame * out->hz) &&
	       pcm_io_wait(&tx, 0, &done) != 0, "pcm.reset-pending",
	       "reset with %u TX%s messages pending, then a new session: %s, %u of %u TX back, "
	       "the first after %.1f ms", n, in ? " and RX" : "", rc ? strerror(-rc) : "ok", got,
	       n, first / 1e6);
	goto_state(c, out, ST_RELEASED);
	while (tx.pending && pcm_io_wait(&tx, 1000, &done) == 0)
		;
}

/* Completions of a stream's messages, submitted as buffers 0..n-1. */
struct fill_tally {
	unsigned int got, order, bad; /* back; out of order; bad status or length */
};

/* Wait for n completions. 0, or the error of the first that did not come
 * (-EPROTO: one the device gave back twice or never had). */
static int tally(struct pcm_io *io, unsigned int n, uint32_t want_len, struct fill_tally *t)
{
	struct pcm_io_done done;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	while (t->got < n && (rc = pcm_io_wait(io, 1000, &done)) == 0) {
		t->order += done.i != t->got;
		t->bad += done.status != VIRTIO_SND_S_OK || done.used_len != want_len;
		t->got++;
	}
	return rc;
}

/* As many one-period messages of one stream as vsnd-drive's ring takes,
 * then START: a device that dropped one when the ring was full, or served
 * one twice, shows here. Each comes back once, in order, with its status,
 * and nothing after. */
static void check_ring_fill(struct chk *c, const struct chk_stream *s)
{
	unsigned int q = s->dir == VSND_DIR_OUTPUT ? VSND_QUEUE_TX : VSND_QUEUE_RX;
	unsigned int n = c->d->fe.r[q].ring.num / 2 - fe_in_flight(&c->d->fe, q);
	struct chk_stream full = *s;
	struct fill_tally t = { 0 };
	struct pcm_io io;
	struct pcm_io_done done;
	bool quiet = false;
	int rc = pcm_io_init(&io, c->d, q, (uint32_t)s->id, s->period, n);

	full.periods = n; /* a buffer of as many periods, as a driver would */
	if (rc == 0)
		rc = run_with(c, &full, &io, n);
	if (rc == 0)
		rc = tally(&io, n, q == VSND_QUEUE_TX ? 8 : s->period + 8, &t);
	if (rc == 0)
		quiet = stays_held(&io);
	result(c, rc == 0 && t.got == n && !t.order && !t.bad && quiet, "pcm.ring-capacity",
	       "%s stream %d: %u one-period messages fill vsnd-drive's ring (%u entries, 2 kept "
	       "per message), then START: %s, %u back, %u out of order, %u with a bad status "
	       "or length, %s", q == VSND_QUEUE_TX ? "TX" : "RX", s->id, n, c->d->fe.r[q].ring.num,
	       rc ? strerror(-rc) : "ok", t.got, t.order, t.bad,
	       quiet ? "none after" : "more after (stale or twice)");
	goto_state(c, s, ST_RELEASED);
	while (io.pending && pcm_io_wait(&io, 1000, &done) == 0)
		;
}

/* Rates a Linux guest cannot use make its driver reject the stream (and,
 * at probe, the card): not the spec's concern, so a warning. */
static void check_linux_rates(struct chk *c)
{
	for (uint32_t id = 0; id < c->d->streams; id++) {
		const uint8_t *p;
		const char *why;

		if (drv_query(c->d, VIRTIO_SND_R_PCM_INFO, id, 1, VIRTIO_SND_PCM_INFO_SIZE, &p) !=
		    VIRTIO_SND_S_OK)
			continue;
		why = rules_rates(vsnd_le64(p + 4 + 16));
		if (why)
			warned(c, "pcm.linux-rates", "stream %u: %s", id, why);
		else
			result(c, true, "pcm.linux-rates", "stream %u: rates a Linux guest maps", id);
	}
}

/* What a Linux guest may queue on the TX and RX queues at once: a message
 * per period, every period of each stream's buffer (virtsnd_pcm_msg_send),
 * the streams of a direction on one queue. */
struct ring_need {
	unsigned int streams, msgs, most; /* most: periods of the largest stream */
};

static void ring_needs(struct chk *c, struct ring_need need[2])
{
	memset(need, 0, 2 * sizeof(*need));
	for (uint32_t id = 0; id < c->d->streams; id++) {
		const uint8_t *p;
		unsigned int n;
		struct ring_need *r;

		if (drv_query(c->d, VIRTIO_SND_R_PCM_INFO, id, 1, VIRTIO_SND_PCM_INFO_SIZE, &p) !=
		    VIRTIO_SND_S_OK)
			continue;
		n = rules_periods(&rules_linux_pcm_defaults, p + 4);
		if (!n)
			continue; /* Linux refuses the stream: it queues nothing */
		r = &need[p[4 + 24]];
		r->streams++;
		r->msgs += n;
		r->most = n > r->most ? n : r->most;
	}
}

/* A queue that cannot hold them makes Linux drop a message ("failed to
 * send I/O message") and the stream stall. The frontend picks the ring
 * size, not the device: a WARN. Judged on QEMU's ring (what a Linux guest
 * gets) and vsnd-drive's own, each named in the line. */
static void check_ring_capacity(struct chk *c)
{
	static const unsigned int queue[2] = { VSND_QUEUE_TX, VSND_QUEUE_RX };
	bool ind = c->d->fe.indirect;
	unsigned int qemu = rules_ring_msgs(RULES_QEMU_VQ_SIZE, ind);
	struct ring_need need[2];
	char buf[320];

	ring_needs(c, need);
	for (unsigned int d = 0; d < 2; d++) {
		unsigned int own = c->d->fe.r[queue[d]].ring.num, mine = rules_ring_msgs(own, ind);
		unsigned int holds = qemu < mine ? qemu : mine;
		const char *q = d ? "RX" : "TX";

		if (!need[d].streams) {
			skipped(c, "pcm.ring-capacity", "%s: no stream a Linux guest uses", q);
			continue;
		}
		snprintf(buf, sizeof(buf), "%s: a Linux guest may queue %u messages (%u stream%s, "
			 "up to %u periods each), %s: QEMU's %u-entry ring holds %s%u "
			 "(vsnd-drive's %u-entry ring: %u)", q, need[d].msgs, need[d].streams,
			 need[d].streams == 1 ? "" : "s", need[d].most,
			 ind ? "1 ring entry each (INDIRECT_DESC)"
			     : "at least 3 ring entries each (no INDIRECT_DESC)",
			 RULES_QEMU_VQ_SIZE, ind ? "" : "at most ", qemu, own, mine);
		if (need[d].msgs <= holds)
			result(c, true, "pcm.ring-capacity", "%s", buf);
		else
			warned(c, "pcm.ring-capacity", "%s; Linux drops the %u past %u (\"failed to "
			       "send I/O message\")", buf, need[d].msgs - holds, holds);
	}
}

/* Every control request of the run, timed: Linux fails one after 1 s (at
 * probe, the whole card). */
static void check_reply_times(struct chk *c)
{
	struct drv *d = c->d;
	uint32_t n = d->n_rtt < DRV_RTT_KEEP ? (uint32_t)d->n_rtt : DRV_RTT_KEEP;
	double p50, p99;

	if (!n) {
		skipped(c, "ctl.reply-time", "no control request answered");
		return;
	}
	drv_sort_u32(d->rtt_us, n);
	p50 = drv_rank(d->rtt_us, n, 0.50) / 1000.0;
	p99 = drv_rank(d->rtt_us, n, 0.99) / 1000.0;
	result(c, d->rtt_max_ns <= RELEASE_LIMIT_NS, "ctl.reply-time",
	       "%llu requests: p50 %.2f ms, p99 %.2f ms, max %.2f ms (Linux gives up at 1 s)",
	       (unsigned long long)d->n_rtt, p50, p99, d->rtt_max_ns / 1e6);
}

/* ---- the run ---- */

static void check_streams(struct chk *c, struct chk_stream *out, struct chk_stream *in)
{
	struct chk_stream *both[2] = { out, in };

	for (unsigned int i = 0; i < 2; i++)
		if (both[i])
			check_initial(c, both[i]);
	check_pcm_malformed(c, out);
	for (unsigned int i = 0; i < 2; i++)
		if (both[i])
			check_transitions(c, both[i]);
	check_rejects(c, out, in);
	check_tx_hold(c, out);
	check_release_race(c, out);
	if (in)
		check_rx(c, in);
	else
		skipped(c, "io.rx", "no input stream");
	check_pacing(c, out, "Linux pattern, 4 x 10 ms", out->period, 4, 60);
	check_pacing(c, out, "Haiku pattern, 2 x 16384 frames", 16384 * out->frame, 2, 8);
	check_xrun_event(c, out);
	check_ring_fill(c, out);
	if (in)
		check_ring_fill(c, in);
	else
		skipped(c, "pcm.ring-capacity", "RX fill: no input stream");
	check_reset_pending(c, out, in);
}

/* Wait up to 1 s for a jack event (code, jack); other events are dropped. */
static bool wait_jack_event(struct chk *c, uint32_t want, uint32_t jack)
{
	uint64_t deadline = vsnd__mono_ns() + 1000000000ull;
	uint32_t code, data;

	while (vsnd__mono_ns() < deadline) {
		fe_wait(&c->d->fe, VSND_QUEUE_EVENT, 20);
		while (drv_event(c->d, &code, &data) == 0)
			if (code == want && data == jack)
				return true;
	}
	return false;
}

static int jack_connected(struct chk *c, uint32_t jack)
{
	const uint8_t *info;
	int s = drv_query(c->d, VIRTIO_SND_R_JACK_INFO, jack, 1, VIRTIO_SND_JACK_INFO_SIZE, &info);

	return s == VIRTIO_SND_S_OK ? info[4 + 16] : -1;
}

/* Host-side hotplug through --jack-cmd: the event arrives and JACK_INFO
 * follows, both ways (5.14.6.4: a jack's state changes, with an event). */
static void check_jack_events(struct chk *c)
{
	static const struct { const char *verb; uint32_t code; int state; } steps[] = {
		{ "unplug", VIRTIO_SND_EVT_JACK_DISCONNECTED, 0 },
		{ "plug", VIRTIO_SND_EVT_JACK_CONNECTED, 1 },
	};
	char cmd[512];

	if (!c->o->jack_cmd || !c->d->jacks) {
		skipped(c, "event.jack", c->d->jacks ? "jack events need --jack-cmd" : "no jacks");
		return;
	}
	/* A jack whose host end is away (a sound server that is not there)
	 * reads disconnected whatever the host's plug says: no change to see. */
	if (jack_connected(c, 0) != 1) {
		skipped(c, "event.jack", "jack 0 reads disconnected before the host unplugs it "
			"(is its backend's server there?)");
		return;
	}
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		bool seen;
		int rc;

		snprintf(cmd, sizeof(cmd), "%s 0 %s >/dev/null", c->o->jack_cmd, steps[i].verb);
		rc = system(cmd);
		seen = rc == 0 && wait_jack_event(c, steps[i].code, 0);
		result(c, seen && jack_connected(c, 0) == steps[i].state, "event.jack",
		       "host %s of jack 0: event %s, JACK_INFO connected=%d%s", steps[i].verb,
		       seen ? "received" : "MISSING", jack_connected(c, 0),
		       rc ? " (the command failed)" : "");
	}
}

int cmd_check(struct drv *d, const struct cmd_opts *o)
{
	struct chk c = { .d = d, .o = o, .out = stdout };
	struct chk_stream out, in;
	bool have_in;
	uint32_t code, data;

	result(&c, d->jacks <= VSND_MAX_JACKS && d->streams > 0, "config",
	       "%u jacks, %u streams, %u chmaps, %u controls", d->jacks, d->streams, d->chmaps,
	       d->controls);
	check_controls(&c);
	check_linux_rates(&c);
	check_ring_capacity(&c);
	if (stream_pick(&c, VSND_DIR_OUTPUT, &out) < 0) {
		skipped(&c, "pcm", "no output stream with S16/S32/U8 at 48/44.1 kHz");
	} else {
		have_in = stream_pick(&c, VSND_DIR_INPUT, &in) == 0;
		check_streams(&c, &out, have_in ? &in : NULL);
	}
	check_elements(&c);
	check_jack_events(&c);
	while (drv_event(d, &code, &data) == 0)
		result(&c, code == VIRTIO_SND_EVT_PCM_XRUN || code == VIRTIO_SND_EVT_CTL_NOTIFY,
		       "event.unsolicited", "event 0x%x data %u", code, data);
	check_reply_times(&c);
	fprintf(c.out, "%u passed, %u failed, %u skipped, %u warnings\n", c.pass, c.fail, c.skip,
		c.warn);
	return c.fail ? 1 : 0;
}
