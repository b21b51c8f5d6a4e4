/* SPDX-License-Identifier: MIT */
/*
 * tiny-vmm: how an emulator embeds libvsnd as a virtio-mmio sound card.
 *
 * A real emulator has guest RAM, an MMIO bus, an interrupt controller and
 * a main loop. This program fakes all four in a few lines, and plays the
 * guest's part with a minimal virtio driver written against the registers,
 * so the wiring stays visible:
 *
 *   1. translate():  guest-physical address -> host pointer (guest RAM)
 *   2. set_irq():    the card's interrupt line
 *   3. host ops:     now_ns(), set_timer(), wake(), log()
 *   4. MMIO exits:   vsnd_mmio_read() / vsnd_mmio_write()
 *   5. main loop:    vsnd_mmio_process() when the timer expires
 *
 * Usage: tiny-vmm IN.wav OUT.wav   (16-bit WAV; OUT is written by the
 * file backend at the pace of the device clock).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The fake guest driver speaks the wire format through the kernel's own UAPI
 * headers, as an emulator's code often does; libvsnd's headers sit beside
 * them in one translation unit. */
#include <linux/virtio_ids.h>
#include <linux/virtio_snd.h>
#include <sndfile.h>
#include <vsnd/backend.h>
#include <vsnd/mmio.h>
#include <vsnd/pcm.h>
#include <vsnd/vsnd.h>

/* ---- the emulator's side ---------------------------------------------- */

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (1u << 20)
#define MMIO_BASE 0x10001000ull /* where the card sits on the guest's bus */

static uint8_t *ram;
static bool irq_line;
static uint64_t timer_deadline = UINT64_MAX;
static struct vsnd_mmio *card;

static void *ram_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail,
			   bool is_write)
{
	uint64_t off = gpa - RAM_BASE;

	if (gpa < RAM_BASE || off >= RAM_SIZE)
		return NULL;
	*avail = len < RAM_SIZE - off ? len : RAM_SIZE - off;
	return ram + off;
}

static void set_irq(void *opaque, bool level)
{
	irq_line = level; /* a real emulator raises its PLIC/GIC input here */
}

static uint64_t now_ns(void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_timer(void *opaque, uint64_t deadline)
{
	timer_deadline = deadline;
}

static void wake(void *opaque)
{
	/* single-threaded here (the file backend has no thread); an emulator
	 * with a real audio backend writes an eventfd its loop polls */
	timer_deadline = 0;
}

static void host_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	fprintf(stderr, "vsnd: %s\n", msg);
}

static const struct vsnd_mmio_ops mmio_ops = {
	.size = sizeof(struct vsnd_mmio_ops), .translate = ram_translate, .set_irq = set_irq,
};
static const struct vsnd_host_ops host_ops = {
	.size = sizeof(struct vsnd_host_ops),
	.log = host_log, .now_ns = now_ns, .set_timer = set_timer, .wake = wake,
};

/* The bus: an access to [MMIO_BASE, MMIO_BASE + VSND_MMIO_SIZE) exits here. */
static uint32_t bus_read(uint64_t addr)
{
	return vsnd_mmio_read(card, addr - MMIO_BASE, 4);
}

static void bus_write(uint64_t addr, uint32_t v)
{
	vsnd_mmio_write(card, addr - MMIO_BASE, v, 4);
}

/* One turn of the main loop: sleep until the device's timer, run it. */
static void main_loop_once(void)
{
	if (timer_deadline != UINT64_MAX && timer_deadline > now_ns(NULL)) {
		struct timespec ts = { .tv_sec = (time_t)(timer_deadline / 1000000000ull),
				       .tv_nsec = (long)(timer_deadline % 1000000000ull) };

		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	timer_deadline = UINT64_MAX;
	vsnd_mmio_process(card);
}

/* ---- the guest's side: a minimal virtio-mmio sound driver -------------- */

#define QNUM 32u
#define R(off) (MMIO_BASE + (off))

struct gring {
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t avail_idx, last_used, next;
};

static struct gring rings[VSND_NUM_QUEUES];
static uint64_t ram_brk = RAM_BASE;

static uint64_t galloc(size_t len)
{
	uint64_t gpa = (ram_brk + 15) & ~15ull;

	ram_brk = gpa + len;
	return ram_brk - RAM_BASE <= RAM_SIZE ? gpa : 0;
}

static uint8_t *gptr(uint64_t gpa) { return ram + (gpa - RAM_BASE); }

static void put16(uint64_t gpa, uint16_t v) { gptr(gpa)[0] = (uint8_t)v; gptr(gpa)[1] = (uint8_t)(v >> 8); }
static uint16_t get16(uint64_t gpa) { return (uint16_t)(gptr(gpa)[0] | gptr(gpa)[1] << 8); }
static void put32(uint64_t gpa, uint32_t v) { put16(gpa, (uint16_t)v); put16(gpa + 2, (uint16_t)(v >> 16)); }
static uint32_t get32(uint64_t gpa) { return get16(gpa) | (uint32_t)get16(gpa + 2) << 16; }
static void put64(uint64_t gpa, uint64_t v) { put32(gpa, (uint32_t)v); put32(gpa + 4, (uint32_t)(v >> 32)); }

static int driver_probe(void)
{
	if (bus_read(R(0x000)) != 0x74726976 || bus_read(R(0x004)) != 2 ||
	    bus_read(R(0x008)) != VIRTIO_ID_SOUND)
		return -ENODEV;
	bus_write(R(0x070), 0);                   /* reset */
	bus_write(R(0x070), 1 | 2);               /* ACKNOWLEDGE | DRIVER */
	bus_write(R(0x024), 1);                   /* DriverFeaturesSel = 1 */
	bus_write(R(0x020), 1);                   /* VIRTIO_F_VERSION_1 (bit 32) */
	bus_write(R(0x070), 1 | 2 | 8);           /* FEATURES_OK */
	if (!(bus_read(R(0x070)) & 8))
		return -ENOTSUP;
	for (unsigned int q = 0; q < VSND_NUM_QUEUES; q++) {
		struct gring *r = &rings[q];

		r->desc = galloc(16 * QNUM);
		r->avail = galloc(6 + 2 * QNUM);
		r->used = galloc(6 + 8 * QNUM);
		if (!r->used)
			return -ENOMEM;
		bus_write(R(0x030), q);                                 /* QueueSel */
		bus_write(R(0x038), QNUM);                              /* QueueNum */
		bus_write(R(0x080), (uint32_t)r->desc);
		bus_write(R(0x084), (uint32_t)(r->desc >> 32));
		bus_write(R(0x090), (uint32_t)r->avail);
		bus_write(R(0x094), (uint32_t)(r->avail >> 32));
		bus_write(R(0x0a0), (uint32_t)r->used);
		bus_write(R(0x0a4), (uint32_t)(r->used >> 32));
		bus_write(R(0x044), 1);                                 /* QueueReady */
	}
	bus_write(R(0x070), 1 | 2 | 8 | 4);       /* DRIVER_OK */
	return 0;
}

/* Queue [rd][wr] as a two-descriptor chain and notify. Chains complete in
 * order on each queue here, so descriptor pairs are reused round-robin. */
static uint16_t driver_send(unsigned int q, uint64_t rd, uint32_t rd_len, uint64_t wr,
			    uint32_t wr_len)
{
	struct gring *r = &rings[q];
	uint16_t head = (uint16_t)(r->next++ % (QNUM / 2) * 2);
	uint64_t d = r->desc + 16u * head;

	put64(d, rd);
	put32(d + 8, rd_len);
	put16(d + 12, 1);            /* NEXT */
	put16(d + 14, (uint16_t)(head + 1));
	put64(d + 16, wr);
	put32(d + 24, wr_len);
	put16(d + 28, 2);            /* WRITE */
	put16(d + 30, 0);
	put16(r->avail + 4 + 2u * (r->avail_idx % QNUM), head);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	put16(r->avail + 2, ++r->avail_idx);
	bus_write(R(0x050), q);      /* QueueNotify */
	return head;
}

/* The interrupt handler's part: acknowledge, then reap used entries. */
static bool driver_reap(unsigned int q)
{
	struct gring *r = &rings[q];

	if (irq_line)
		bus_write(R(0x064), bus_read(R(0x060)));
	if (get16(r->used + 2) == r->last_used)
		return false;
	r->last_used++;
	return true;
}

static uint32_t driver_ctl(const uint8_t *req, uint32_t len)
{
	static uint64_t rq, resp;

	if (!rq) {
		rq = galloc(64);
		resp = galloc(64);
	}
	memcpy(gptr(rq), req, len);
	driver_send(VSND_QUEUE_CONTROL, rq, len, resp, 4);
	while (!driver_reap(VSND_QUEUE_CONTROL))
		main_loop_once();
	return get32(resp);
}

static void le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t driver_pcm(uint32_t code, uint32_t stream)
{
	uint8_t q[8];

	le32(q, code);
	le32(q + 4, stream);
	return driver_ctl(q, sizeof(q));
}

static uint32_t driver_set_params(uint32_t stream, uint32_t period, unsigned int periods,
				  unsigned int channels, int rate)
{
	uint8_t q[24] = { 0 };

	le32(q, VIRTIO_SND_R_PCM_SET_PARAMS);
	le32(q + 4, stream);
	le32(q + 8, period * periods);
	le32(q + 12, period);
	q[20] = (uint8_t)channels;
	q[21] = VSND_PCM_FMT_S16;
	q[22] = (uint8_t)rate;
	return driver_ctl(q, sizeof(q));
}

static int rate_enum(int hz)
{
	for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++)
		if (vsnd_pcm_rate_hz(r) == (uint32_t)hz)
			return (int)r;
	return -1;
}

/* What the device says of the stream. Running dry after the last buffer
 * is one underrun; any more mean the host stalled longer than the queued
 * audio lasts, and the output holds silence there. */
static void report(unsigned int stream)
{
	struct vsnd_stream_status st = { .size = sizeof(st) };

	if (vsnd_dev_stream_status(vsnd_mmio_dev(card), stream, &st) == 0)
		fprintf(stderr, "tiny-vmm: stream %u: %llu frames played, %llu underruns\n",
			stream, (unsigned long long)st.frames, (unsigned long long)st.xruns);
}

/* 100 ms queued: the guest and the device share one thread here, so a
 * host stall shorter than that costs no audio. */
#define PERIODS 10u

/* The guest plays the WAV: SET_PARAMS, PREPARE, prefill, START, requeue
 * each period as the device completes one, STOP, RELEASE. */
static int guest_play(SNDFILE *sf, const SF_INFO *si)
{
	uint32_t period = (uint32_t)si->samplerate / 100 * (uint32_t)si->channels * 2;
	uint64_t buf[PERIODS], status[PERIODS];
	unsigned int pending = 0, next = 0;
	bool started = false;
	int rate = rate_enum(si->samplerate);

	for (unsigned int i = 0; i < PERIODS; i++) {
		buf[i] = galloc(4 + period);
		status[i] = galloc(8);
		if (!status[i])
			return -ENOMEM;
	}
	if (rate < 0 || driver_set_params(0, period, PERIODS, (unsigned int)si->channels, rate) !=
	    VIRTIO_SND_S_OK || driver_pcm(VIRTIO_SND_R_PCM_PREPARE, 0) != VIRTIO_SND_S_OK)
		return -ENOTSUP;
	for (;;) {
		/* fill every free buffer (they come back in order) */
		while (pending < PERIODS) {
			uint64_t b = buf[next % PERIODS];
			sf_count_t n = sf_read_raw(sf, gptr(b + 4), period);

			if (n <= 0)
				break;
			put32(b, 0); /* stream 0 */
			driver_send(VSND_QUEUE_TX, b, 4 + (uint32_t)n, status[next % PERIODS], 8);
			next++;
			pending++;
		}
		if (!started && driver_pcm(VIRTIO_SND_R_PCM_START, 0) != VIRTIO_SND_S_OK)
			return -EIO;
		started = true;
		if (!pending)
			break;
		main_loop_once();
		while (driver_reap(VSND_QUEUE_TX)) {
			if (get32(status[(next - pending) % PERIODS]) != VIRTIO_SND_S_OK)
				return -EIO;
			pending--;
		}
	}
	report(0);
	driver_pcm(VIRTIO_SND_R_PCM_STOP, 0);
	driver_pcm(VIRTIO_SND_R_PCM_RELEASE, 0);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct vsnd_backend *be = NULL;
	struct vsnd_mmio_config cfg = {
		.size = sizeof(struct vsnd_mmio_config), .host = &host_ops, .ops = &mmio_ops,
	};
	SF_INFO si = { 0 };
	SNDFILE *sf;
	char spec[512];
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: tiny-vmm IN.wav OUT.wav\n");
		return 2;
	}
	sf = sf_open(argv[1], SFM_READ, &si);
	if (!sf || (si.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16) {
		fprintf(stderr, "tiny-vmm: %s: not a 16-bit WAV\n", argv[1]);
		return 1;
	}
	ram = calloc(1, RAM_SIZE);
	snprintf(spec, sizeof(spec), "file,out=%s", argv[2]);
	rc = ram ? vsnd_backend_create(spec, &env, &be) : -ENOMEM;
	cfg.backend = be;
	if (rc == 0)
		rc = vsnd_mmio_new(&card, &cfg);
	if (rc == 0)
		rc = driver_probe();
	if (rc == 0)
		rc = guest_play(sf, &si);
	vsnd_mmio_free(card);           /* closes the output file */
	vsnd_backend_destroy(be);
	free(ram);
	sf_close(sf);
	if (rc < 0)
		fprintf(stderr, "tiny-vmm: %s\n", strerror(-rc));
	return rc < 0;
}
