/* SPDX-License-Identifier: MIT */
/* `play` and `record`: real streaming, paced by the device's completions. */
#include "drive/cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sndfile.h>
#include "wire/virtio_snd.h"

#include "drive/pcm_io.h"
#include "drive/probe.h"
#include "util/iov.h"
#include "util/mono.h"

#define IO_TIMEOUT_MS 3000
/* With --ctl-probe: a stall is what is measured, so outlast it (the test
 * stops a sound server for 3 s) rather than cut it short. */
#define IO_TIMEOUT_PROBED_MS 10000

int cmd_find_stream(struct drv *d, int want, uint8_t dir, uint8_t info[32])
{
	for (uint32_t id = 0; id < d->streams; id++) {
		const uint8_t *p;
		int rc;

		if (want >= 0 && id != (uint32_t)want)
			continue;
		rc = drv_query(d, VIRTIO_SND_R_PCM_INFO, id, 1, VIRTIO_SND_PCM_INFO_SIZE, &p);
		if (rc != VIRTIO_SND_S_OK)
			return rc;
		if (p[4 + 24] != dir)
			continue;
		memcpy(info, p + 4, VIRTIO_SND_PCM_INFO_SIZE);
		return (int)id;
	}
	fprintf(stderr, "vsnd-drive: no %s stream%s\n", dir ? "input" : "output",
		want >= 0 ? " with that id" : "");
	return -ENOENT;
}

/* The virtio format carrying a WAV's sample bytes unchanged, or -1. */
static int wav_format(int sf_format)
{
	switch (sf_format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_U8: return VSND_PCM_FMT_U8;
	case SF_FORMAT_PCM_S8: return VSND_PCM_FMT_S8;
	case SF_FORMAT_PCM_16: return VSND_PCM_FMT_S16;
	case SF_FORMAT_PCM_24: return VSND_PCM_FMT_S24_3;
	case SF_FORMAT_PCM_32: return VSND_PCM_FMT_S32;
	case SF_FORMAT_FLOAT: return VSND_PCM_FMT_FLOAT;
	case SF_FORMAT_DOUBLE: return VSND_PCM_FMT_FLOAT64;
	default: return -1;
	}
}

static int sf_subformat(int fmt)
{
	switch (fmt) {
	case VSND_PCM_FMT_U8: return SF_FORMAT_PCM_U8;
	case VSND_PCM_FMT_S16: return SF_FORMAT_PCM_16;
	case VSND_PCM_FMT_S24_3: return SF_FORMAT_PCM_24;
	case VSND_PCM_FMT_S32: return SF_FORMAT_PCM_32;
	case VSND_PCM_FMT_FLOAT: return SF_FORMAT_FLOAT;
	default: return -1;
	}
}

/* Check the stream can take these parameters; explain why not. */
static int check_params(const uint8_t info[32], int fmt, int rate, unsigned int channels)
{
	if (fmt < 0 || !(vsnd_le64(info + 8) & (1ull << fmt))) {
		fprintf(stderr, "vsnd-drive: the stream does not take this sample format\n");
		return -ENOTSUP;
	}
	if (rate < 0 || !(vsnd_le64(info + 16) & (1ull << rate))) {
		fprintf(stderr, "vsnd-drive: the stream does not take this rate\n");
		return -ENOTSUP;
	}
	if (channels < info[25] || channels > info[26]) {
		fprintf(stderr, "vsnd-drive: the stream takes %u to %u channels\n", info[25], info[26]);
		return -ENOTSUP;
	}
	return 0;
}

static void progress(const struct cmd_opts *o, const char *what, double done, double total)
{
	if (o->quiet || !isatty(STDERR_FILENO))
		return;
	if (total > 0)
		fprintf(stderr, "\r%s: %7.2f / %.2f s", what, done, total);
	else
		fprintf(stderr, "\r%s: %7.2f s", what, done);
	fflush(stderr);
}

struct stream_setup {
	int id;
	int fmt, rate;
	unsigned int channels;
	uint32_t frame, period;
};

static int setup_stream(struct drv *d, const struct cmd_opts *o, struct stream_setup *s,
			uint8_t dir, struct pcm_io *io)
{
	uint8_t info[32];
	uint32_t hz = vsnd_pcm_rate_hz((unsigned int)s->rate);
	uint32_t frames;
	int rc;

	s->id = cmd_find_stream(d, o->stream, dir, info);
	if (s->id < 0)
		return s->id;
	rc = check_params(info, s->fmt, s->rate, s->channels);
	if (rc < 0)
		return rc;
	s->frame = drv_sample_bytes((uint8_t)s->fmt) * s->channels;
	frames = hz * o->period_ms / 1000;
	s->period = (frames ? frames : 1) * s->frame;
	rc = pcm_io_init(io, d, dir ? VSND_QUEUE_RX : VSND_QUEUE_TX, (uint32_t)s->id, s->period,
			 o->periods);
	if (rc < 0)
		return rc;
	rc = drv_set_params(d, (uint32_t)s->id, s->period * o->periods, s->period, 0,
			    (uint8_t)s->channels, (uint8_t)s->fmt, (uint8_t)s->rate);
	if (rc == VIRTIO_SND_S_OK)
		rc = drv_pcm(d, VIRTIO_SND_R_PCM_PREPARE, (uint32_t)s->id);
	return rc == VIRTIO_SND_S_OK ? 0 : rc;
}

/* STOP then RELEASE; the first failure wins. */
static int finish_stream(struct drv *d, uint32_t id, int rc)
{
	int stop = drv_pcm(d, VIRTIO_SND_R_PCM_STOP, id);
	int rel = drv_pcm(d, VIRTIO_SND_R_PCM_RELEASE, id);

	if (rc == 0 && stop != VIRTIO_SND_S_OK)
		rc = stop;
	if (rc == 0 && rel != VIRTIO_SND_S_OK)
		rc = rel;
	return rc;
}

/* A play's I/O: the buffers, the file, its length (s), the probe if any. */
struct play_io {
	struct pcm_io *io;
	SNDFILE *sf;
	double total;
	struct probe *probe;
};

static int fill(struct pcm_io *io, SNDFILE *sf, unsigned int i, bool *eof)
{
	sf_count_t n = *eof ? 0 : sf_read_raw(sf, pcm_io_data(io, i), io->size);

	if (n <= 0) {
		*eof = true;
		return 0;
	}
	return pcm_io_post(io, i, (uint32_t)n) < 0 ? -EIO : 1;
}

/* What the play measured, for the --ctl-probe summary. */
struct play_stats {
	uint64_t played;                /* bytes completed */
	uint64_t start_ns, end_ns;      /* START sent, the last completion seen */
};

/* The next TX completion, running the probe's cycles on time while
 * waiting for it. */
static int wait_tx(struct pcm_io *io, struct probe *probe, struct pcm_io_done *done)
{
	uint64_t timeout_ms = probe ? IO_TIMEOUT_PROBED_MS : IO_TIMEOUT_MS;
	uint64_t deadline = vsnd__mono_ns() + timeout_ms * 1000000ull;

	for (;;) {
		uint64_t now = vsnd__mono_ns();
		int ms, rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		ms = (int)((deadline - now + 999999) / 1000000);
		if (probe) {
			/* a probe that stopped says why in its summary; the play
			 * goes on so its wall time is still measured */
			(void)probe_tick(probe);
			ms = probe_wait_ms(probe, ms);
		}
		rc = pcm_io_wait(io, ms, done);
		if (rc != -ETIMEDOUT)
			return rc;
	}
}

static int play_loop(struct drv *d, const struct cmd_opts *o, struct stream_setup *s,
		     struct play_io *p, struct play_stats *st)
{
	double rate_bytes = (double)vsnd_pcm_rate_hz((unsigned int)s->rate) * s->frame;
	bool eof = false;
	int rc;

	for (unsigned int i = 0; i < p->io->n; i++)
		if ((rc = fill(p->io, p->sf, i, &eof)) < 0)
			return rc;
	st->start_ns = st->end_ns = vsnd__mono_ns();
	rc = drv_pcm(d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id);
	if (rc != VIRTIO_SND_S_OK)
		return rc;
	while (p->io->pending) {
		struct pcm_io_done done;

		rc = wait_tx(p->io, p->probe, &done);
		if (rc < 0)
			return rc;
		if (done.status != VIRTIO_SND_S_OK || done.used_len != 8) {
			fprintf(stderr, "vsnd-drive: tx completed with status 0x%x, len %u\n",
				done.status, done.used_len);
			return -EIO;
		}
		st->played += p->io->len[done.i];
		st->end_ns = done.ns;
		progress(o, "play", (double)st->played / rate_bytes, p->total);
		if ((rc = fill(p->io, p->sf, done.i, &eof)) < 0)
			return rc;
	}
	return 0;
}

/* The play and probe summary on stdout: two lines, or one JSON object. */
static void report(const struct cmd_opts *o, const struct stream_setup *s,
		   const struct play_stats *st, struct probe *probe)
{
	double audio = (double)st->played / s->frame / vsnd_pcm_rate_hz((unsigned int)s->rate);
	double wall = (double)(st->end_ns - st->start_ns) / 1e9;

	if (o->json) {
		printf("{\"play\": {\"audio_s\": %.3f, \"wall_s\": %.3f}, ", audio, wall);
		probe_report(probe, stdout, true);
		puts("}");
	} else {
		printf("play: audio_s %.3f wall_s %.3f\n", audio, wall);
		probe_report(probe, stdout, false);
	}
	fflush(stdout);
}

static int play_probed(struct drv *d, const struct cmd_opts *o, struct stream_setup *s,
		       struct play_io *p)
{
	struct play_stats st = { 0 };
	struct probe probe;
	int rc = 0;

	if (o->ctl_probe == s->id) {
		fprintf(stderr, "vsnd-drive: --ctl-probe needs a stream other than the one played\n");
		rc = -EINVAL;
	} else if (o->ctl_probe >= 0) {
		rc = probe_init(&probe, d, (uint32_t)o->ctl_probe);
		p->probe = rc == 0 ? &probe : NULL;
	}
	if (rc == 0)
		rc = play_loop(d, o, s, p, &st);
	/* A play that failed (no completion in time) took until now: its
	 * wall time shows the stall. */
	if (rc != 0 && st.start_ns)
		st.end_ns = vsnd__mono_ns();
	rc = finish_stream(d, (uint32_t)s->id, rc);
	if (p->probe) {
		report(o, s, &st, p->probe);
		probe_free(p->probe);
	}
	return rc;
}

int cmd_play(struct drv *d, const struct cmd_opts *o)
{
	struct stream_setup s = { 0 };
	struct pcm_io io;
	SF_INFO si = { 0 };
	SNDFILE *sf = sf_open(o->file, SFM_READ, &si);
	int rc;

	if (!sf) {
		fprintf(stderr, "vsnd-drive: %s: %s\n", o->file, sf_strerror(NULL));
		return -ENOENT;
	}
	s.fmt = wav_format(si.format);
	s.rate = drv_rate_enum((uint32_t)si.samplerate);
	s.channels = (unsigned int)si.channels;
	/* sf_read_raw hands over the file's bytes: only little-endian data is
	 * the virtio wire format as is */
	if ((si.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_WAV)
		s.fmt = -1;
	rc = setup_stream(d, o, &s, VSND_DIR_OUTPUT, &io);
	if (rc == 0) {
		struct play_io p = { &io, sf, (double)si.frames / si.samplerate, NULL };

		rc = play_probed(d, o, &s, &p);
	}
	if (!o->quiet && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	sf_close(sf);
	return rc;
}

static int record_loop(struct drv *d, const struct cmd_opts *o, struct stream_setup *s,
		       struct pcm_io *io, SNDFILE *sf)
{
	uint64_t total = (uint64_t)(o->seconds * vsnd_pcm_rate_hz((unsigned int)s->rate)) * s->frame;
	uint64_t posted = 0, got = 0;
	int rc;

	for (unsigned int i = 0; i < io->n && posted < total; i++) {
		uint32_t len = total - posted < io->size ? (uint32_t)(total - posted) : io->size;

		if (pcm_io_post(io, i, len) < 0)
			return -EIO;
		posted += len;
	}
	rc = drv_pcm(d, VIRTIO_SND_R_PCM_START, (uint32_t)s->id);
	if (rc != VIRTIO_SND_S_OK)
		return rc;
	while (io->pending) {
		struct pcm_io_done done;
		uint32_t len;

		rc = pcm_io_wait(io, IO_TIMEOUT_MS, &done);
		if (rc < 0)
			return rc;
		if (done.status != VIRTIO_SND_S_OK || done.data % s->frame) {
			fprintf(stderr, "vsnd-drive: rx completed with status 0x%x, len %u\n",
				done.status, done.used_len);
			return -EIO;
		}
		if (sf_write_raw(sf, pcm_io_data(io, done.i), done.data) != done.data)
			return -EIO;
		got += done.data;
		progress(o, "record", (double)got / s->frame / vsnd_pcm_rate_hz((unsigned int)s->rate),
			 o->seconds);
		if (posted >= total)
			continue;
		len = total - posted < io->size ? (uint32_t)(total - posted) : io->size;
		if (pcm_io_post(io, done.i, len) < 0)
			return -EIO;
		posted += len;
	}
	return 0;
}

int cmd_record(struct drv *d, const struct cmd_opts *o)
{
	struct stream_setup s = { 0 };
	struct pcm_io io;
	SF_INFO si = { 0 };
	SNDFILE *sf;
	int rc;

	s.fmt = VSND_PCM_FMT_S16;
	s.rate = drv_rate_enum(o->rate);
	s.channels = o->channels;
	si.samplerate = (int)o->rate;
	si.channels = (int)o->channels;
	si.format = SF_FORMAT_WAV | sf_subformat(s.fmt);
	sf = sf_open(o->file, SFM_WRITE, &si);
	if (!sf) {
		fprintf(stderr, "vsnd-drive: %s: %s\n", o->file, sf_strerror(NULL));
		return -EIO;
	}
	rc = setup_stream(d, o, &s, VSND_DIR_INPUT, &io);
	if (rc == 0) {
		rc = record_loop(d, o, &s, &io, sf);
		rc = finish_stream(d, (uint32_t)s.id, rc);
	}
	if (!o->quiet && isatty(STDERR_FILENO))
		fputc('\n', stderr);
	if (sf_close(sf) != 0 && rc == 0)
		rc = -EIO;
	return rc;
}
