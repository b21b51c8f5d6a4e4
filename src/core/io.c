/* SPDX-License-Identifier: MIT */
/*
 * PCM I/O messages on the tx and rx queues (5.14.6.8).
 *
 * A message is held in its stream's FIFO until its frames have really moved:
 *  - TX: the data is copied into the stream ring about one period ahead of
 *    the consumer (never on arrival: older Linux drivers queue buffers
 *    before the application has filled them), and the message completes when
 *    the ring's read position passes its last byte, i.e. when the backend
 *    consumed it at the stream's rate;
 *  - RX: captured frames are moved from the ring into the oldest message,
 *    which completes when it is full.
 * The status is written in the last 8 writable bytes; RX used length is the
 * captured bytes + 8 (5.14.6.8.2).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"
#include "util/iov.h"

/* How long after a completion the guest has surely looked at its position
 * (see wrap_guard_holds): a work item's latency, with room to spare on an
 * emulated guest under load (5 ms was too little there). Periods at least
 * this long never wait. */
#define WRAP_GAP_NS (20 * 1000000ull)

static unsigned int qidx(uint8_t direction)
{
	return direction == VSND_DIR_OUTPUT ? 0 : 1;
}

/* ---- message pool: no malloc on the data path ---- */

int vsnd__io_pool_init(struct vsnd_dev *dev)
{
	for (unsigned int k = 0; k < 2; k++) {
		dev->pool[k] = calloc(VSND_MAX_HELD, sizeof(struct io_msg));
		if (!dev->pool[k])
			return -ENOMEM;
		dev->free_list[k] = NULL;
		for (unsigned int i = VSND_MAX_HELD; i-- > 0;) {
			dev->pool[k][i].next = dev->free_list[k];
			dev->free_list[k] = &dev->pool[k][i];
		}
	}
	return 0;
}

void vsnd__io_pool_fini(struct vsnd_dev *dev)
{
	for (unsigned int k = 0; k < 2; k++) {
		free(dev->pool[k]);
		dev->pool[k] = NULL;
		dev->free_list[k] = NULL;
	}
}

static struct io_msg *io_alloc(struct vsnd_dev *dev, unsigned int k)
{
	struct io_msg *m = dev->free_list[k];

	if (m) {
		dev->free_list[k] = m->next;
		memset(m, 0, sizeof(*m));
	}
	return m;
}

static void io_release(struct vsnd_dev *dev, unsigned int k, struct io_msg *m)
{
	m->chain = NULL;
	m->next = dev->free_list[k];
	dev->free_list[k] = m;
}

static void fifo_push(struct io_fifo *f, struct io_msg *m)
{
	m->next = NULL;
	if (f->tail)
		f->tail->next = m;
	else
		f->head = m;
	f->tail = m;
	f->count++;
	f->bytes += m->data_len;
}

static struct io_msg *fifo_pop(struct io_fifo *f)
{
	struct io_msg *m = f->head;

	if (m) {
		f->head = m->next;
		if (!f->head)
			f->tail = NULL;
		f->count--;
		f->bytes -= m->data_len;
	}
	return m;
}

/* ---- completion ---- */

static uint32_t host_delay_bytes(const struct vsnd_dev *dev, const struct pcm_stream *s)
{
	const struct vsnd_backend_ops *ops = dev->backend->ops;

	if (!ops->delay_frames)
		return 0;
	/* delay_frames only reads the port; its signature is shared with the
	 * real-time side, which is why it is not const. */
	return ops->delay_frames(dev->backend, (struct vsnd_port *)&s->port) *
	       s->port.params.frame_bytes;
}

/* Bytes still to be played (TX) or still to be delivered (RX) ahead of the
 * guest, plus what the host holds beyond the ring. */
uint32_t vsnd__io_latency_bytes(const struct vsnd_dev *dev, const struct pcm_stream *s)
{
	return (uint32_t)vsnd_ring_fill(&s->port.ring) + host_delay_bytes(dev, s);
}

/* Write the status into the last 8 writable bytes and give the chain back. */
static void chain_complete(struct vsnd_dev *dev, unsigned int q, struct vsnd_chain *c,
			   uint32_t status, uint32_t latency, uint32_t used)
{
	uint8_t st[VIRTIO_SND_PCM_STATUS_SIZE];

	vsnd_put_le32(st, status);
	vsnd_put_le32(st + 4, latency);
	vsnd__iov_from_buf(c->wr, c->n_wr, c->wr_len - sizeof(st), st, sizeof(st));
	vsnd__dev_push(dev, q, c, used);
}

/*
 * Must the next completion wait? The Linux driver keeps its position modulo
 * the buffer and reads it from a deferred work item (its "indirect" helper
 * only ever sees the difference). If a whole buffer's worth of periods
 * completes between two of its reads, the position looks unchanged: the
 * stream stalls for good and the guest's read or write fails with EIO after
 * 100 ms, with no xrun. So a completion waits until the guest has surely
 * seen all but a buffer's worth less one of those before it: it has when it
 * queued a buffer's worth of messages after them (it queues a period only
 * once it has seen one complete), or once they are WRAP_GAP_NS old (its
 * work item has run by then, even on a loaded emulated guest). In practice
 * only the last message the guest queued ever waits, and only with periods
 * shorter than the gap: until the next message, or the gap.
 */
static uint64_t wrap_guard_until(const struct pcm_stream *s)
{
	uint64_t periods = s->buffer_bytes / s->period_bytes;
	uint64_t need; /* the completion (1 = the first) the guest must have seen */

	/* a one-period buffer wraps at every completion: nothing to guard */
	if (periods < 2 || s->completed + 2 <= periods)
		return 0;
	need = s->completed + 2 - periods;
	/* the messages that came: completed since PREPARE, and held (some may
	 * have come just before the PREPARE that counted from zero) */
	if (s->completed + s->held.count >= need + periods)
		return 0;
	/* older than the times kept: the oldest kept one is younger, and
	 * when that one is old enough, so is it */
	if (s->completed - need >= VSND_WRAP_TIMES)
		need = s->completed - VSND_WRAP_TIMES + 1;
	/* not now - done: io_complete reads the clock afresh, so a completion
	 * made in this very pass is younger than `now`, and the difference
	 * would wrap around to a huge age (two-period capture at 13 frames
	 * then completed the whole buffer at once) */
	return s->done_ns[(need - 1) % VSND_WRAP_TIMES] + WRAP_GAP_NS;
}

/* The stream's next look is due by `due` at the latest. */
static void look_by(struct pcm_stream *s, uint64_t due)
{
	if (s->next_deadline && due < s->next_deadline) /* 0: a tick due at once */
		s->next_deadline = due;
}

/* The guard holds the next completion now: the stream looks again when it
 * ends (a server backend's stream may have no other wake: its last message
 * waited for the stall look, 250 ms). */
static bool wrap_guard_holds(struct pcm_stream *s, uint64_t now)
{
	uint64_t until = wrap_guard_until(s);

	if (now >= until)
		return false;
	look_by(s, until);
	return true;
}

static void io_complete(struct vsnd_dev *dev, struct pcm_stream *s, uint32_t status,
			uint32_t latency)
{
	unsigned int k = qidx(s->desc.direction);
	struct io_msg *m = fifo_pop(&s->held);
	bool tx = s->desc.direction == VSND_DIR_OUTPUT;
	uint32_t used = tx ? VIRTIO_SND_PCM_STATUS_SIZE : m->done + VIRTIO_SND_PCM_STATUS_SIZE;
	uint64_t now = vsnd__dev_now(dev);

	chain_complete(dev, tx ? VSND_QUEUE_TX : VSND_QUEUE_RX, m->chain, status, latency, used);
	s->completed++;
	s->done_ns[(s->completed - 1) % VSND_WRAP_TIMES] = now;
	if (dev->trace)
		dev->trace(dev->trace_opaque, s->id, now, m->done, latency);
	io_release(dev, k, m);
}

void vsnd__io_flush(struct vsnd_dev *dev, struct pcm_stream *s)
{
	/* A stopped ring is not ours to write: its chains stay parked with the
	 * transport (dropped at the reset that usually follows). */
	if (dev->qstopped[vsnd__io_queue_index(s)]) {
		vsnd__io_drop(dev, s);
		return;
	}
	while (s->held.head)
		io_complete(dev, s, VIRTIO_SND_S_OK, 0);
}

void vsnd__io_drop(struct vsnd_dev *dev, struct pcm_stream *s)
{
	struct io_msg *m;

	while ((m = fifo_pop(&s->held)))
		io_release(dev, qidx(s->desc.direction), m);
}

/* ---- arrival ---- */

/* Reject a message at once: IO_ERR, used length as for a complete one. */
static void io_reject(struct vsnd_dev *dev, unsigned int q, struct vsnd_chain *c)
{
	/* With fewer than 8 writable bytes there is no status to write: the
	 * driver gets the buffer back empty. */
	if (c->wr_len < VIRTIO_SND_PCM_STATUS_SIZE) {
		vsnd__dev_push(dev, q, c, 0);
		return;
	}
	vsnd__iov_memset(c->wr, c->n_wr, 0, 0, c->wr_len - VIRTIO_SND_PCM_STATUS_SIZE);
	chain_complete(dev, q, c, VIRTIO_SND_S_IO_ERR, 0, (uint32_t)c->wr_len);
}

/* Which stream a message belongs to, if it may be held: right direction,
 * host stream open (PREPARED, STARTED or STOPPED), well-formed. */
static struct pcm_stream *io_stream_for(struct vsnd_dev *dev, unsigned int q,
					const struct vsnd_chain *c, uint32_t *data_len)
{
	bool tx = q == VSND_QUEUE_TX;
	uint8_t hdr[VIRTIO_SND_PCM_XFER_SIZE];
	struct pcm_stream *s;
	size_t len;

	if (vsnd__iov_to_buf(c->rd, c->n_rd, 0, hdr, sizeof(hdr)) < sizeof(hdr) ||
	    c->wr_len < VIRTIO_SND_PCM_STATUS_SIZE)
		return NULL;
	/* txq carries no writable data, rxq no readable data (5.14.6.8). */
	if (tx ? c->wr_len != VIRTIO_SND_PCM_STATUS_SIZE : c->rd_len != VIRTIO_SND_PCM_XFER_SIZE)
		return NULL;
	if (vsnd_le32(hdr) >= dev->layout.n_streams)
		return NULL;
	s = &dev->streams[vsnd_le32(hdr)];
	if (s->desc.direction != (tx ? VSND_DIR_OUTPUT : VSND_DIR_INPUT) || !s->open)
		return NULL;
	len = tx ? c->rd_len - VIRTIO_SND_PCM_XFER_SIZE : c->wr_len - VIRTIO_SND_PCM_STATUS_SIZE;
	/* A partial frame would shift every later frame's channels. */
	if (len > UINT32_MAX || len % s->port.params.frame_bytes)
		return NULL;
	*data_len = (uint32_t)len;
	return s;
}

static void io_accept(struct vsnd_dev *dev, unsigned int q, struct vsnd_chain *c)
{
	uint32_t data_len = 0;
	struct pcm_stream *s = io_stream_for(dev, q, c, &data_len);
	struct io_msg *m;

	if (!s) {
		vsnd__dev_warn_guest(dev, "%s message refused (bad stream, state or layout)",
			       q == VSND_QUEUE_TX ? "tx" : "rx");
		io_reject(dev, q, c);
		return;
	}
	m = io_alloc(dev, qidx(s->desc.direction));
	if (!m) {
		vsnd__dev_warn_guest(dev, "stream %u: more than %u messages held", s->id, VSND_MAX_HELD);
		io_reject(dev, q, c);
		return;
	}
	m->chain = c;
	m->data_len = data_len;
	fifo_push(&s->held, m);
}

/* Data queue q is stopping under its streams. */
void vsnd__io_pause(struct vsnd_dev *dev, unsigned int q)
{
	uint8_t dir = q == VSND_QUEUE_TX ? VSND_DIR_OUTPUT : VSND_DIR_INPUT;

	/*
	 * The frontend cannot tell a VM pause from a reset. Completing every
	 * held buffer now breaks a paused aplay: on resume ALSA sees the whole
	 * buffer elapse at once and fails with EIO. So pause like a sound card
	 * does, and keep the buffers; a reset is detected when the rings come
	 * back fresh (docs/rings.md).
	 */
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		if (s->desc.direction != dir || !s->open)
			continue;
		if (s->state == VSND_STATE_STARTED && !s->transport_paused) {
			dev->backend->ops->stop(dev->backend, &s->port);
			s->transport_paused = true;
		}
	}
}

/* A queue that was stopped under running streams has started again. */
static void io_resume(struct vsnd_dev *dev, uint8_t dir)
{
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		struct pcm_stream *s = &dev->streams[i];

		if (s->desc.direction != dir || !s->transport_paused || s->state != VSND_STATE_STARTED)
			continue;
		s->transport_paused = false;
		s->next_deadline = 0;
		dev->backend->ops->start(dev->backend, &s->port, vsnd__dev_now(dev));
	}
}

unsigned int vsnd__io_queue_index(const struct pcm_stream *s)
{
	return s->desc.direction == VSND_DIR_OUTPUT ? VSND_QUEUE_TX : VSND_QUEUE_RX;
}

void vsnd__io_pop_queue(struct vsnd_dev *dev, unsigned int q)
{
	struct vsnd_chain *c;
	int err = 0;

	io_resume(dev, q == VSND_QUEUE_TX ? VSND_DIR_OUTPUT : VSND_DIR_INPUT);
	for (unsigned int n = 0; n < VSND_POP_BATCH; n++) {
		err = dev->tops->pop(dev->topaque, q, &c);
		if (err)
			break;
		io_accept(dev, q, c);
	}
	if (err == -EIO)
		vsnd__dev_mark_broken(dev, q);
}

/* ---- kicks ---- */

/*
 * A data queue goes without kicks while every stream started on it holds
 * this many periods (the one playing and the next): the device then looks
 * at the queue at each of its wakes instead (vsnd__io_poll_quiet), which a
 * running stream has at least once a period (its tick, or its server's
 * calls), so a buffer the driver adds is seen before the periods ahead of
 * it have played. A period then costs the device one wake instead of two
 * (the tick that completes a buffer, and the kick of the buffer the driver
 * adds for it). A two-period buffer, which holds one period after each
 * completion, keeps its kicks: its next buffer may be needed within a
 * period, and through a server sooner.
 */
#define KICKLESS_PERIODS 2u

static bool queue_wants_kicks(const struct vsnd_dev *dev, unsigned int q)
{
	bool running = false;

	if (!dev->kick_ctl || dev->qstopped[q])
		return true;
	for (unsigned int i = 0; i < dev->layout.n_streams; i++) {
		const struct pcm_stream *s = &dev->streams[i];

		if (vsnd__io_queue_index(s) != q || s->state != VSND_STATE_STARTED)
			continue;
		if (s->transport_paused ||
		    s->held.bytes < (uint64_t)KICKLESS_PERIODS * s->period_bytes)
			return true;
		running = true;
	}
	return !running;
}

/* After a pass: ask each data queue's driver for kicks, or for none.
 * Returns true when it took buffers that came meanwhile unannounced (the
 * streams want another pass). */
bool vsnd__io_choose_kicks(struct vsnd_dev *dev)
{
	static const unsigned int data_queues[] = { VSND_QUEUE_TX, VSND_QUEUE_RX };
	bool popped = false;

	for (unsigned int k = 0; k < 2; k++) {
		unsigned int q = data_queues[k];
		bool want = queue_wants_kicks(dev, q);

		if (want == !dev->kicks_off[q])
			continue;
		dev->kicks_off[q] = !want;
		if (dev->tops->set_kicks(dev->topaque, q, want)) {
			vsnd__io_pop_queue(dev, q);
			popped = true;
		}
	}
	return popped;
}

/* Before a pass: the buffers of queues that do not kick. */
void vsnd__io_poll_quiet(struct vsnd_dev *dev)
{
	if (dev->kicks_off[VSND_QUEUE_TX])
		vsnd__io_pop_queue(dev, VSND_QUEUE_TX);
	if (dev->kicks_off[VSND_QUEUE_RX])
		vsnd__io_pop_queue(dev, VSND_QUEUE_RX);
}

/* ---- moving frames ---- */

/* Copy n bytes of a TX message into the ring, through the stream's gain
 * when it is not unity and past its hook when it has one (a bounce buffer
 * then: guest memory is read-only). */
static size_t tx_copy(struct vsnd_dev *dev, struct pcm_stream *s, struct io_msg *m, size_t n)
{
	struct vsnd_ring *r = &s->port.ring;
	const struct vsnd_chain *c = m->chain;
	size_t off = VIRTIO_SND_PCM_XFER_SIZE + m->done;
	uint32_t frame = s->port.params.frame_bytes;
	size_t chunk = sizeof(dev->bscratch) / frame * frame;
	size_t space = vsnd_ring_space(r), done = 0;

	if (s->gain_unity && !s->hook)
		return vsnd_ring_write_iov(r, c->rd, c->n_rd, off, n);
	if (n > space)
		n = space - space % frame;
	while (done < n) {
		size_t k = n - done < chunk ? n - done : chunk;

		k = vsnd__iov_to_buf(c->rd, c->n_rd, off + done, dev->bscratch, k);
		if (k == 0)
			break;
		vsnd__ctl_apply_gain(dev, s, dev->bscratch, k, 0);
		if (s->hook)
			s->hook(s->hook_opaque, &s->port.params, dev->bscratch, k);
		done += vsnd_ring_write(r, dev->bscratch, k);
	}
	return done;
}

/* Captured bytes [from, to) of an RX message, in place: past the stream's
 * hook (which may change them), then through its gain. */
static void rx_post(struct vsnd_dev *dev, struct pcm_stream *s, struct io_msg *m, size_t from,
		    size_t to)
{
	const struct vsnd_chain *c = m->chain;
	uint32_t frame = s->port.params.frame_bytes;
	size_t chunk = sizeof(dev->bscratch) / frame * frame;

	while (from < to) {
		size_t k = to - from < chunk ? to - from : chunk;

		vsnd__iov_to_buf(c->wr, c->n_wr, from, dev->bscratch, k);
		if (s->hook)
			s->hook(s->hook_opaque, &s->port.params, dev->bscratch, k);
		vsnd__ctl_apply_gain(dev, s, dev->bscratch, k, 0);
		vsnd__iov_from_buf(c->wr, c->n_wr, from, dev->bscratch, k);
		from += k;
	}
}

/*
 * A new playback hook first gets what the backend has not taken from the
 * ring yet: "from now on" is from the frame the host plays next, not from
 * the next the device copies (it copies ahead of the host, by a period or
 * more). Reading behind the consumer is safe: only this thread writes.
 */
static void hook_unplayed(struct vsnd_dev *dev, struct pcm_stream *s)
{
	const struct vsnd_ring *r = &s->port.ring;
	uint32_t frame = s->port.params.frame_bytes;
	size_t chunk = sizeof(dev->bscratch) / frame * frame;
	uint64_t w = vsnd_ring_wpos(r), at = vsnd_ring_rpos(r);

	at += (frame - at % frame) % frame;
	while (at < w && s->hook) {
		size_t k = w - at < chunk ? (size_t)(w - at) : chunk;
		size_t off = (size_t)(at & (r->cap - 1)), first = r->cap - off < k ? r->cap - off : k;

		memcpy(dev->bscratch, r->buf + off, first);
		memcpy(dev->bscratch + first, r->buf, k - first);
		s->hook(s->hook_opaque, &s->port.params, dev->bscratch, k);
		at += k;
	}
}

void vsnd__io_hook_set(struct vsnd_dev *dev, struct pcm_stream *s, vsnd_pcm_hook_fn fn, void *opaque)
{
	s->hook = fn;
	s->hook_opaque = fn ? opaque : NULL;
	if (fn && s->open && s->desc.direction == VSND_DIR_OUTPUT)
		hook_unplayed(dev, s);
}

/* Copy held TX audio into the ring until it holds target bytes. */
static void prefill_to(struct vsnd_dev *dev, struct pcm_stream *s, size_t target)
{
	struct vsnd_ring *r = &s->port.ring;

	for (struct io_msg *m = s->held.head; m; m = m->next) {
		size_t fill = vsnd_ring_fill(r);
		size_t n = m->data_len - m->done;

		if (m->copied)
			continue;
		if (fill >= target)
			break;
		if (n > target - fill)
			n = target - fill;
		m->done += (uint32_t)tx_copy(dev, s, m, n);
		if (m->done < m->data_len)
			break;
		m->copied = true;
		m->end_pos = vsnd_ring_wpos(r);
	}
}

void vsnd__io_prefill(struct vsnd_dev *dev, struct pcm_stream *s)
{
	prefill_to(dev, s, s->port.lead_bytes);
}

/*
 * A clocked tick that runs late_ns after its deadline (the host stalled:
 * a VM exit storm, a descheduled thread) owes that much more audio than
 * the lead covers. Copy what the guest has queued for it first, so the
 * stall costs silence only beyond the guest's own buffer, as on hardware
 * whose DMA keeps reading while the CPU is away. The lead is at least two
 * ticks (clock.h), so a tick up to half the lead late finds its frames in
 * the ring already: the usual wake, a few tens of microseconds late, copies
 * nothing before it completes.
 */
static void prefill_late(struct vsnd_dev *dev, struct pcm_stream *s, uint64_t late_ns)
{
	const uint64_t ns_per_s = 1000000000ull;
	const struct vsnd_pcm_params *p = &s->port.params;
	uint64_t cap = s->port.ring.cap - s->port.ring.cap % p->frame_bytes;
	uint64_t frames, target;

	if (late_ns > 10 * ns_per_s) /* bounds the product; any ring is full by then */
		late_ns = 10 * ns_per_s;
	frames = (late_ns * p->rate_hz + ns_per_s - 1) / ns_per_s;
	if (frames * p->frame_bytes <= s->port.lead_bytes / 2)
		return;
	target = s->port.lead_bytes + frames * p->frame_bytes;
	prefill_to(dev, s, (size_t)(target < cap ? target : cap));
}

/* A look at a host's played position comes this much after the moment it
 * predicts: a server's latency is an estimate, and a look a hair too soon
 * would only ask for another. */
#define HEARD_SLACK_NS 1000000u

/*
 * When the host will have played a message's last frame, at the stream's
 * rate, if it keeps taking frames: the next look is due then, not at the
 * host's next wake of the device, which may be many of its callbacks later
 * (a server that takes 256 frames every 5.3 ms woke the device only when
 * the ring ran low, and two 10 ms buffers completed together). Frames it
 * has not taken yet count too: a look that finds them still there asks for
 * another.
 */
static uint64_t heard_at(const struct pcm_stream *s, uint64_t now, uint64_t bytes)
{
	const struct vsnd_pcm_params *p = &s->port.params;
	uint64_t frames = bytes / p->frame_bytes + 1;

	return now + frames * 1000000000u / p->rate_hz + HEARD_SLACK_NS;
}

/*
 * How much of the host's delay holds a message back: all of it while that
 * fits in half the room the guest's buffer leaves beyond the period it
 * refills (what a server backend asks of its server, vsnd__be_rt_latency_us).
 * The guest sends a period only when one completes, so a host holding more
 * would starve: pipewire-pulse grants a 5 ms request 14.75 ms and its graph
 * adds a quantum, and a 20 ms guest buffer played at 55-90 % of real time,
 * silence between its periods. Past that room, completions lead what is
 * heard by the most the host held beyond it since START (tx_lead, which
 * only grows): a constant, so they keep the host's clock and not the
 * bursts it takes the ring in (following those, PortAudio's completions
 * strayed 2.2 ms at p95), and latency_bytes still says all the host holds.
 */
static uint64_t holding_delay(struct pcm_stream *s, uint64_t delay)
{
	uint32_t fb = s->port.params.frame_bytes ? s->port.params.frame_bytes : 1;
	uint64_t room = s->buffer_bytes > s->period_bytes ?
				(s->buffer_bytes - s->period_bytes) / 2 : 0;

	room -= room % fb;
	if (delay > room + s->tx_lead)
		s->tx_lead = delay - room;
	return delay > s->tx_lead ? delay - s->tx_lead : 0;
}

/* A message completes once its last frame was played: the backend has
 * consumed it from the ring, and the host no longer holds it unplayed
 * (holding_delay). */
static void tx_complete_played(struct vsnd_dev *dev, struct pcm_stream *s, uint64_t now)
{
	uint64_t rpos = vsnd_ring_rpos(&s->port.ring);
	uint64_t delay = s->held.head ? host_delay_bytes(dev, s) : 0;
	uint64_t holding = holding_delay(s, delay);
	uint64_t played = rpos - (holding < rpos ? holding : rpos);
	struct io_msg *m;

	while ((m = s->held.head) && m->copied && m->end_pos <= played && !wrap_guard_holds(s, now))
		io_complete(dev, s, VIRTIO_SND_S_OK, (uint32_t)delay);
	m = s->held.head;
	if (m && m->copied && m->end_pos > played)
		look_by(s, heard_at(s, now, m->end_pos - played));
}

/*
 * A capture buffer of the first buffer's worth after START completes no
 * sooner than its frames can have been captured since START. A sound
 * server hands over whole fragments, and a monitor source frames its sink
 * rendered ahead: the first 10 ms period completed 0.4 ms after START, as if
 * recorded before it. Later buffers follow the host's clock (holding them
 * to ours would pile up the drift between the two).
 */
static bool rx_early(struct pcm_stream *s, const struct io_msg *m, uint64_t now)
{
	const struct vsnd_pcm_params *p = &s->port.params;
	uint64_t frames, due;

	if (s->rx_since_start >= s->buffer_bytes)
		return false;
	frames = (s->rx_since_start + m->data_len) / p->frame_bytes;
	due = s->start_ns + frames * 1000000000u / p->rate_hz;
	if (now >= due)
		return false;
	look_by(s, due);
	return true;
}

static void rx_fill(struct vsnd_dev *dev, struct pcm_stream *s, uint64_t now)
{
	struct vsnd_ring *r = &s->port.ring;
	struct io_msg *m;

	while ((m = s->held.head)) {
		uint32_t before = m->done;

		m->done += (uint32_t)vsnd_ring_read_iov(r, m->chain->wr, m->chain->n_wr, m->done,
							m->data_len - m->done);
		if (!s->gain_unity || s->hook)
			rx_post(dev, s, m, before, m->done);
		if (m->done < m->data_len || rx_early(s, m, now) || wrap_guard_holds(s, now))
			break;
		s->rx_since_start += m->data_len;
		io_complete(dev, s, VIRTIO_SND_S_OK, vsnd__io_latency_bytes(dev, s));
	}
}

static void xrun_check(struct vsnd_dev *dev, struct pcm_stream *s)
{
	uint64_t x = atomic_load(&s->port.xruns);

	if (x == s->xruns_seen)
		return;
	s->xruns_seen = x;
	if (s->features & 1u << VIRTIO_SND_PCM_F_EVT_XRUNS)
		vsnd__event_queue(dev, VIRTIO_SND_EVT_PCM_XRUN, s->id);
}

/* A sink or source the backend plays to appeared or went away. */
static void host_presence_check(struct vsnd_dev *dev, struct pcm_stream *s)
{
	int p = atomic_load(&s->port.host_present);

	if (p == s->host_present_seen || p < 0)
		return;
	s->host_present_seen = p;
	vsnd__jack_follow(dev, s, p != 0);
}

void vsnd__io_service(struct vsnd_dev *dev, struct pcm_stream *s, uint64_t now)
{
	host_presence_check(dev, s);
	const struct vsnd_backend_ops *ops = dev->backend->ops;
	bool running = s->state == VSND_STATE_STARTED && !s->transport_paused;

	/* UINT64_MAX: the backend wants no timer but a look at every wake (a
	 * sound server that carries the stream, and may go) */
	if (running && ops->tick && (now >= s->next_deadline || s->next_deadline == UINT64_MAX)) {
		/* 0: the first tick after START, which is due at once */
		if (s->desc.direction == VSND_DIR_OUTPUT && s->next_deadline &&
		    s->next_deadline != UINT64_MAX)
			prefill_late(dev, s, now - s->next_deadline);
		s->next_deadline = ops->tick(dev->backend, &s->port, now);
	}
	if (s->desc.direction == VSND_DIR_OUTPUT) {
		tx_complete_played(dev, s, now);
		if (running)
			vsnd__io_prefill(dev, s);
	} else if (running) {
		rx_fill(dev, s, now);
	}
	if (running)
		xrun_check(dev, s);
}
