/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side (VirtIO 1.3, 2.7).
 *
 * The ring parts are shared with a guest that may change them at any time,
 * so every field is loaded exactly once into a local, with an atomic access
 * (a plain load could be split or repeated by the compiler: a value checked
 * once and used twice is a TOCTOU bug). Indirect tables live behind the
 * translate callback and are copied out byte by byte for the same reason.
 */
#include "virtq/virtq.h"

#include <endian.h>
#include <errno.h>
#include <stdint.h>

#include "util/iov.h"

/* Layout of the ring parts (2.7.5, 2.7.6, 2.7.8), in bytes. */
#define DESC_SIZE 16
#define DESC_ADDR 0
#define DESC_LEN 8
#define DESC_FLAGS 12
#define DESC_NEXT 14
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING 4
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING 4
#define USED_ELEM_SIZE 8

/* One descriptor, host order, read once from guest memory. */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* State of one chain walk. */
struct virtq_walk {
	struct virtq *vq;
	struct virtq_elem *elem;
	unsigned int n_iov;
	unsigned int n_rd;
	uint64_t rd_len, wr_len;
	bool writing;   /* a writable descriptor was seen: no readable one may follow */
	bool bad;       /* the ring is fine but the buffer is unusable (-EMSGSIZE) */
};

static void *at(void *base, size_t off)
{
	return (uint8_t *)base + off;
}

static uint16_t ld16(void *base, size_t off)
{
	return le16toh(__atomic_load_n((uint16_t *)at(base, off), __ATOMIC_RELAXED));
}

static void st16(void *base, size_t off, uint16_t v)
{
	__atomic_store_n((uint16_t *)at(base, off), htole16(v), __ATOMIC_RELAXED);
}

static void st32(void *base, size_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)at(base, off), htole32(v), __ATOMIC_RELAXED);
}

/* Acquire: the ring entries and descriptors the driver wrote before bumping
 * avail->idx must be visible when we read them (2.7.13.3). */
static uint16_t avail_idx(const struct virtq *vq)
{
	return le16toh(__atomic_load_n((uint16_t *)at(vq->avail, AVAIL_IDX), __ATOMIC_ACQUIRE));
}

static size_t used_event_off(const struct virtq *vq)
{
	return AVAIL_RING + 2 * (size_t)vq->num;
}

static size_t avail_event_off(const struct virtq *vq)
{
	return USED_RING + USED_ELEM_SIZE * (size_t)vq->num;
}

static int virtq_break(struct virtq *vq)
{
	vq->broken = true;
	return -EIO;
}

/* Do [a, a + alen) and [b, b + blen) share a byte? (No sum that could wrap.) */
static bool overlap(const void *a, size_t alen, const void *b, size_t blen)
{
	uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;

	return x >= y ? x - y < blen : y - x < alen;
}

/*
 * The three parts are distinct areas (2.7); a guest that lays one over
 * another makes our own writes its input: a used ring over the avail ring
 * turns every push into a new available chain, and the device never finds
 * the queue empty. Compared with the bytes we touch, EVENT_IDX's trailing
 * fields included; parts that only touch are fine. Compared as host
 * pointers: guest addresses that overlap map to the same host bytes.
 */
static bool parts_overlap(unsigned int num, const void *desc, const void *avail,
			  const void *used, bool event_idx)
{
	size_t ev = event_idx ? 2 : 0;
	size_t dlen = DESC_SIZE * (size_t)num;
	size_t alen = AVAIL_RING + 2 * (size_t)num + ev;
	size_t ulen = USED_RING + USED_ELEM_SIZE * (size_t)num + ev;

	return overlap(desc, dlen, avail, alen) || overlap(desc, dlen, used, ulen) ||
	       overlap(avail, alen, used, ulen);
}

int vsnd__virtq_init(struct virtq *vq, unsigned int num, void *desc, void *avail, void *used,
	       const struct virtq_mem *mem, bool event_idx, bool indirect, uint16_t last_avail)
{
	if (!vq || !desc || !avail || !used || !mem || !mem->translate)
		return -EINVAL;
	if (num == 0 || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	/* 2.7.10.1 alignments; they also make our atomic accesses aligned. */
	if ((uintptr_t)desc % 16 || (uintptr_t)avail % 2 || (uintptr_t)used % 4)
		return -EINVAL;
	if (parts_overlap(num, desc, avail, used, event_idx))
		return -EADDRINUSE;

	*vq = (struct virtq){
		.num = num, .desc = desc, .avail = avail, .used = used, .mem = *mem,
		.event_idx = event_idx, .indirect = indirect, .last_avail = last_avail,
	};
	/* The used index survives a ring stop (a VM pause): resume from memory. */
	vq->used_idx = ld16(used, USED_IDX);
	vq->signalled_used = vq->used_idx;
	/* Start with kicks enabled whatever an earlier backend left behind;
	 * with EVENT_IDX the driver then kicks for the next buffer it adds. */
	st16(used, USED_FLAGS, 0);
	if (event_idx)
		st16(used, avail_event_off(vq), last_avail);
	return 0;
}

void vsnd__virtq_fini(struct virtq *vq)
{
	if (vq)
		*vq = (struct virtq){ .num = 0 };
}

/* Chains the driver published and we have not popped; a distance above num
 * means the driver's index is garbage (2.7.13.3: at most num in flight). */
static int pending(struct virtq *vq, uint16_t *count)
{
	uint16_t n = (uint16_t)(avail_idx(vq) - vq->last_avail);

	if (n > vq->num)
		return virtq_break(vq);
	*count = n;
	return 0;
}

unsigned int vsnd__virtq_avail_count(struct virtq *vq)
{
	uint16_t n;

	if (!vq->num || vq->broken || pending(vq, &n))
		return 0;
	return n;
}

static void read_desc(const struct virtq *vq, unsigned int i, struct virtq_desc *d)
{
	void *p = at(vq->desc, (size_t)i * DESC_SIZE);

	d->addr = le64toh(__atomic_load_n((uint64_t *)at(p, DESC_ADDR), __ATOMIC_RELAXED));
	d->len = le32toh(__atomic_load_n((uint32_t *)at(p, DESC_LEN), __ATOMIC_RELAXED));
	d->flags = ld16(p, DESC_FLAGS);
	d->next = ld16(p, DESC_NEXT);
}

/* Copy len bytes of guest memory at gpa, region by region. The volatile
 * byte copy keeps the compiler from re-reading guest memory later. */
static bool guest_read(const struct virtq *vq, uint64_t gpa, uint8_t *buf, size_t len)
{
	while (len) {
		uint64_t avail = 0;
		const volatile uint8_t *p = vq->mem.translate(vq->mem.opaque, gpa, len, &avail, false);

		if (!p || avail == 0 || avail > len)
			return false;
		for (size_t i = 0; i < avail; i++)
			buf[i] = p[i];
		buf += avail;
		gpa += avail;
		len -= (size_t)avail;
	}
	return true;
}

static bool read_indirect(const struct virtq *vq, uint64_t table, unsigned int i,
			  struct virtq_desc *d)
{
	uint8_t b[DESC_SIZE];

	if (!guest_read(vq, table + (uint64_t)i * DESC_SIZE, b, sizeof(b)))
		return false;
	d->addr = vsnd_le64(b + DESC_ADDR);
	d->len = vsnd_le32(b + DESC_LEN);
	d->flags = vsnd_le16(b + DESC_FLAGS);
	d->next = vsnd_le16(b + DESC_NEXT);
	return true;
}

/* Map one buffer into iovecs, one per host region it touches. Returns false
 * when it cannot be mapped within VIRTQ_MAX_IOV iovecs. */
static bool map_buf(struct virtq_walk *w, uint64_t gpa, uint32_t len, bool is_write)
{
	struct virtq *vq = w->vq;

	if (len && gpa > UINT64_MAX - (len - 1))
		return false;
	while (len) {
		uint64_t avail = 0;
		void *p;

		if (w->n_iov == VIRTQ_MAX_IOV)
			return false;
		p = vq->mem.translate(vq->mem.opaque, gpa, len, &avail, is_write);
		if (!p || avail == 0 || avail > len)
			return false;
		w->elem->iov[w->n_iov++] = (struct iovec){ .iov_base = p, .iov_len = (size_t)avail };
		gpa += avail;
		len -= (uint32_t)avail;
	}
	return true;
}

/* Account one data descriptor. Only a broken ring is an error; a buffer we
 * cannot use just marks the walk bad and the walk goes on validating. */
static int walk_add(struct virtq_walk *w, const struct virtq_desc *d)
{
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;

	if (!wr && w->writing)
		return -EIO; /* 2.7.4.2: writable descriptors come after readable ones */
	w->writing |= wr;
	if (wr)
		w->wr_len += d->len;
	else
		w->rd_len += d->len;
	/* 2.7.4.2: a chain carries at most 2^32 bytes in all. */
	if (w->rd_len + w->wr_len > UINT32_MAX)
		w->bad = true;
	if (!w->bad && !map_buf(w, d->addr, d->len, wr))
		w->bad = true;
	if (!wr)
		w->n_rd = w->n_iov;
	return 0;
}

/* 2.7.5.3.1: an indirect table is the last descriptor of a chain, holds
 * len/16 entries chained from entry 0, and nests no other table. */
static int walk_indirect(struct virtq_walk *w, const struct virtq_desc *ind)
{
	struct virtq *vq = w->vq;
	unsigned int n, i = 0;

	if (!vq->indirect || (ind->flags & VIRTQ_DESC_F_NEXT))
		return -EIO;
	if (ind->len == 0 || ind->len % DESC_SIZE || ind->len / DESC_SIZE > VIRTQ_MAX_SIZE)
		return -EIO;
	n = ind->len / DESC_SIZE;
	if (ind->addr > UINT64_MAX - (ind->len - 1)) {
		w->bad = true;
		return 0;
	}
	for (unsigned int count = 1;; count++) {
		struct virtq_desc d;
		int r;

		if (count > n)
			return -EIO; /* a loop inside the table */
		if (!read_indirect(vq, ind->addr, i, &d)) {
			w->bad = true; /* cannot read the rest: stop, the ring itself is fine */
			return 0;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return -EIO;
		r = walk_add(w, &d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= n)
			return -EIO;
		i = d.next;
	}
}

/* Walk from head through the descriptor table. A chain has at most num
 * descriptors (2.7.4.2), so visiting more means a loop. */
static int walk_chain(struct virtq_walk *w, uint16_t head)
{
	struct virtq *vq = w->vq;
	unsigned int i = head;

	for (unsigned int count = 1;; count++) {
		struct virtq_desc d;
		int r;

		if (count > vq->num)
			return -EIO;
		read_desc(vq, i, &d);
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return walk_indirect(w, &d);
		r = walk_add(w, &d);
		if (r)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->num)
			return -EIO;
		i = d.next;
	}
}

/*
 * With EVENT_IDX, kicks are (re-)armed only when the ring runs dry, as vhost
 * does: while we are busy popping, the driver need not kick. Arming is a
 * store followed by a load of avail->idx; the full fence stops them from
 * being reordered, or a buffer added right then would get neither a kick
 * nor our attention (2.7.10, 2.7.13.4).
 */
static void arm_kick(struct virtq *vq)
{
	if (vq->event_idx)
		st16(vq->used, avail_event_off(vq), vq->last_avail);
	else
		st16(vq->used, USED_FLAGS, 0);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static int next_head(struct virtq *vq, uint16_t *head)
{
	uint16_t n;
	int r = pending(vq, &n);

	if (!r && n == 0 && vq->event_idx && !vq->kicks_off) {
		arm_kick(vq);
		r = pending(vq, &n);
	}
	if (r)
		return r;
	if (n == 0)
		return -EAGAIN;
	*head = ld16(vq->avail, AVAIL_RING + 2 * (size_t)(vq->last_avail & (vq->num - 1)));
	vq->last_avail++;
	return 0;
}

int vsnd__virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	struct virtq_walk w = { .vq = vq, .elem = elem };
	uint16_t head;
	int r;

	if (vq->broken)
		return -EIO;
	if (!vq->num)
		return -EAGAIN;
	r = next_head(vq, &head);
	if (r)
		return r;
	elem->head = head;
	elem->n_rd = elem->n_wr = 0;
	elem->rd_len = elem->wr_len = 0;
	if (head >= vq->num || walk_chain(&w, head))
		return virtq_break(vq);
	vq->inflight++;
	if (w.bad)
		return -EMSGSIZE;
	elem->n_rd = w.n_rd;
	elem->n_wr = w.n_iov - w.n_rd;
	elem->rd_len = (size_t)w.rd_len;
	elem->wr_len = (size_t)w.wr_len;
	return 0;
}

void vsnd__virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	size_t off;

	if (!vq->num || vq->broken || head >= vq->num)
		return;
	off = USED_RING + USED_ELEM_SIZE * (size_t)(vq->used_idx & (vq->num - 1));
	st32(vq->used, off, head);
	st32(vq->used, off + 4, len);
	vq->used_idx++;
	/* Release: the entry must be visible before the index that publishes it. */
	__atomic_store_n((uint16_t *)at(vq->used, USED_IDX), htole16(vq->used_idx), __ATOMIC_RELEASE);
	if (vq->inflight)
		vq->inflight--;
}

/* 2.7.10: does the driver want an interrupt for used entries (old, new]? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vsnd__virtq_should_notify(struct virtq *vq)
{
	uint16_t old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	if (!vq->num || vq->broken)
		return false;
	if (valid && old == vq->used_idx)
		return false; /* nothing new since the last decision */
	/* Our used->idx store must be visible before we read the driver's
	 * suppression field, and the driver orders the other way round:
	 * store-load on both sides needs a full fence. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!vq->event_idx)
		return !(ld16(vq->avail, AVAIL_FLAGS) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	/* After a (re)start we do not know what the driver has seen. */
	if (!valid)
		return true;
	return need_event(ld16(vq->avail, used_event_off(vq)), vq->used_idx, old);
}

bool vsnd__virtq_set_notification(struct virtq *vq, bool enable)
{
	uint16_t n;

	if (!vq->num || vq->broken)
		return false;
	vq->kicks_off = !enable;
	if (!enable) {
		/* With EVENT_IDX, an avail_event behind the driver's index
		 * suppresses kicks (as vhost does): the driver has published at
		 * least last_avail, so last_avail - 1 is never crossed again
		 * (until 65536 buffers later, which costs one kick). */
		if (vq->event_idx)
			st16(vq->used, avail_event_off(vq), (uint16_t)(vq->last_avail - 1));
		else
			st16(vq->used, USED_FLAGS, VIRTQ_USED_F_NO_NOTIFY);
		return false;
	}
	arm_kick(vq);
	if (pending(vq, &n))
		return true; /* the next pop reports the corruption */
	return n != 0;
}
