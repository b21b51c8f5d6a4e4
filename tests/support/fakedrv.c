/* SPDX-License-Identifier: MIT */
#include "fakedrv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/iov.h"

#define DESC_SIZE VRING_DESC_SIZE

/* ---- guest memory ---------------------------------------------------- */

int fakedrv_init(struct fakedrv *d, const struct fakedrv_config *cfg)
{
	struct fakedrv_config c = cfg ? *cfg : (struct fakedrv_config){ 0 };

	if (!c.gpa_base)
		c.gpa_base = FAKEDRV_DEFAULT_BASE;
	if (!c.size)
		c.size = FAKEDRV_DEFAULT_SIZE;
	if (!c.split)
		c.split = c.size / 2;
	if (c.split < FAKEDRV_STRADDLE_ZONE || c.size - c.split < FAKEDRV_STRADDLE_ZONE ||
	    c.split >= c.size || c.gpa_base > UINT64_MAX - c.size)
		return -EINVAL;
	*d = (struct fakedrv){ .gpa_base = c.gpa_base, .size = c.size, .split = c.split };
	d->host[0] = calloc(1, c.split);
	d->host[1] = calloc(1, c.size - c.split);
	if (!d->host[0] || !d->host[1]) {
		fakedrv_fini(d);
		return -ENOMEM;
	}
	d->brk[1] = FAKEDRV_STRADDLE_ZONE;
	d->mem = (struct virtq_mem){ .translate = fakedrv_translate, .opaque = d };
	return 0;
}

void fakedrv_fini(struct fakedrv *d)
{
	if (!d)
		return;
	free(d->host[0]);
	free(d->host[1]);
	d->host[0] = d->host[1] = NULL;
}

/* Region holding gpa and the offset of gpa in it; false if unmapped. */
static bool locate(const struct fakedrv *d, uint64_t gpa, unsigned int *region, size_t *off,
		   size_t *room)
{
	uint64_t o;

	if (gpa < d->gpa_base || gpa - d->gpa_base >= d->size)
		return false;
	o = gpa - d->gpa_base;
	*region = o >= d->split;
	*off = (size_t)(*region ? o - d->split : o);
	*room = (*region ? d->size - d->split : d->split) - *off;
	return true;
}

void *fakedrv_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail, bool is_write)
{
	struct fakedrv *d = opaque;
	unsigned int region;
	size_t off, room;

	d->translations++;
	if (!len || !locate(d, gpa, &region, &off, &room))
		return NULL;
	if (is_write && d->readonly[region])
		return NULL;
	*avail = len < room ? len : room;
	return d->host[region] + off;
}

uint64_t fakedrv_alloc_in(struct fakedrv *d, unsigned int region, size_t len, size_t align)
{
	size_t end = region ? d->size - d->split : d->split - FAKEDRV_STRADDLE_ZONE;
	size_t at;

	if (region > 1 || !align || (align & (align - 1)))
		return 0;
	at = (d->brk[region] + align - 1) & ~(align - 1);
	if (at > end || len > end - at)
		return 0;
	d->brk[region] = at + len;
	memset(d->host[region] + at, 0, len);
	return d->gpa_base + (region ? d->split : 0) + at;
}

uint64_t fakedrv_alloc(struct fakedrv *d, size_t len, size_t align)
{
	uint64_t gpa = fakedrv_alloc_in(d, 0, len, align);

	return gpa ? gpa : fakedrv_alloc_in(d, 1, len, align);
}

uint64_t fakedrv_boundary(const struct fakedrv *d)
{
	return d->gpa_base + d->split;
}

uint64_t fakedrv_straddle(const struct fakedrv *d, size_t before)
{
	return fakedrv_boundary(d) - before;
}

void *fakedrv_host(const struct fakedrv *d, uint64_t gpa, size_t len)
{
	unsigned int region;
	size_t off, room;

	if (!locate(d, gpa, &region, &off, &room) || len > room)
		return NULL;
	return d->host[region] + off;
}

/* Apply fn to each host piece of [gpa, gpa+len). */
static int for_each_piece(const struct fakedrv *d, uint64_t gpa, size_t len,
			  void (*fn)(uint8_t *host, size_t pos, size_t n, void *ctx), void *ctx)
{
	size_t pos = 0;

	while (pos < len) {
		unsigned int region;
		size_t off, room, n;

		if (!locate(d, gpa + pos, &region, &off, &room))
			return -EFAULT;
		n = len - pos < room ? len - pos : room;
		fn(d->host[region] + off, pos, n, ctx);
		pos += n;
	}
	return 0;
}

static void piece_write(uint8_t *host, size_t pos, size_t n, void *ctx)
{
	memcpy(host, (const uint8_t *)ctx + pos, n);
}

static void piece_read(uint8_t *host, size_t pos, size_t n, void *ctx)
{
	memcpy((uint8_t *)ctx + pos, host, n);
}

static void piece_fill(uint8_t *host, size_t pos, size_t n, void *ctx)
{
	memset(host, *(const int *)ctx, n);
}

static bool in_arena(const struct fakedrv *d, uint64_t gpa, size_t len)
{
	return gpa >= d->gpa_base && gpa - d->gpa_base <= d->size &&
	       len <= d->size - (gpa - d->gpa_base);
}

int fakedrv_write(struct fakedrv *d, uint64_t gpa, const void *buf, size_t len)
{
	if (!in_arena(d, gpa, len))
		return -EFAULT;
	return for_each_piece(d, gpa, len, piece_write, (void *)buf);
}

int fakedrv_read(const struct fakedrv *d, uint64_t gpa, void *buf, size_t len)
{
	if (!in_arena(d, gpa, len))
		return -EFAULT;
	return for_each_piece(d, gpa, len, piece_read, buf);
}

int fakedrv_fill(struct fakedrv *d, uint64_t gpa, int c, size_t len)
{
	if (!in_arena(d, gpa, len))
		return -EFAULT;
	return for_each_piece(d, gpa, len, piece_fill, &c);
}

int fakedrv_write_desc(struct fakedrv *d, uint64_t table_gpa, unsigned int i, uint64_t addr,
		       uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t b[DESC_SIZE];

	vring_put_desc(b, addr, len, flags, next);
	return fakedrv_write(d, table_gpa + (uint64_t)i * DESC_SIZE, b, sizeof(b));
}

/* ---- descriptor lists ------------------------------------------------- */

int fakedrv_cut(struct vring_seg *segs, int n, unsigned int max, uint64_t gpa, size_t len,
		const size_t *cuts, unsigned int n_cuts, bool write)
{
	size_t start = 0;

	for (unsigned int i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : len;

		if (i < n_cuts && (end <= start || end >= len))
			continue;
		if (n < 0 || (unsigned int)n >= max)
			return -ENOSPC;
		segs[n++] = (struct vring_seg){ .gpa = gpa + start, .len = (uint32_t)(end - start),
						  .write = write };
		start = end;
	}
	return n;
}

int fakedrv_split(struct vring_seg *segs, int n, unsigned int max, uint64_t gpa, size_t len,
		  uint32_t chunk, bool write)
{
	size_t pos = 0;

	do {
		size_t l = chunk && len - pos > chunk ? chunk : len - pos;

		if (n < 0 || (unsigned int)n >= max)
			return -ENOSPC;
		segs[n++] = (struct vring_seg){ .gpa = gpa + pos, .len = (uint32_t)l, .write = write };
		pos += l;
	} while (pos < len);
	return n;
}

/* ---- the driver's ring ------------------------------------------------ */

static int ring_arrays(struct fakedrv_ring *r, unsigned int num)
{
	r->table_gpa = calloc(num, sizeof(*r->table_gpa));
	r->table_cap = calloc(num, sizeof(*r->table_cap));
	r->data_gpa = calloc(num, sizeof(*r->data_gpa));
	r->data_cap = calloc(num, sizeof(*r->data_cap));
	if (!r->table_gpa || !r->table_cap || !r->data_gpa || !r->data_cap)
		return -ENOMEM;
	return 0;
}

int fakedrv_ring_init(struct fakedrv_ring *r, struct fakedrv *d, unsigned int num,
		      bool event_idx)
{
	int ret;

	*r = (struct fakedrv_ring){ .d = d };
	if (!num || num > VIRTQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	r->desc_gpa = fakedrv_alloc_in(d, 0, DESC_SIZE * (size_t)num, 4096);
	r->avail_gpa = fakedrv_alloc_in(d, 0, 6 + 2 * (size_t)num, 2);
	r->used_gpa = fakedrv_alloc_in(d, 0, 6 + 8 * (size_t)num, 4096);
	ret = -ENOMEM;
	if (!r->desc_gpa || !r->avail_gpa || !r->used_gpa)
		goto err;
	ret = vring_init(&r->ring, num, fakedrv_host(d, r->desc_gpa, 1),
			 fakedrv_host(d, r->avail_gpa, 1), fakedrv_host(d, r->used_gpa, 1), event_idx);
	if (!ret)
		ret = ring_arrays(r, num);
	if (ret)
		goto err;
	return 0;
err:
	fakedrv_ring_fini(r);
	return ret;
}

void fakedrv_ring_fini(struct fakedrv_ring *r)
{
	if (!r)
		return;
	vring_fini(&r->ring);
	free(r->table_gpa);
	free(r->table_cap);
	free(r->data_gpa);
	free(r->data_cap);
	*r = (struct fakedrv_ring){ .d = NULL };
}

int fakedrv_ring_virtq(struct fakedrv_ring *r, struct virtq *vq, bool indirect)
{
	return vsnd__virtq_init(vq, r->ring.num, r->ring.desc, r->ring.avail, r->ring.used,
				&r->d->mem, r->ring.event_idx, indirect, r->start_idx);
}

int fakedrv_ring_start(struct fakedrv_ring *r, struct vsnd_vqset *s, unsigned int q,
		       bool indirect)
{
	int ret = vsnd__vqset_start(s, q, r->ring.num, r->ring.desc, r->ring.avail, r->ring.used,
				   &r->d->mem, r->ring.event_idx, indirect, r->start_idx);

	if (!ret)
		vsnd__vqset_enable(s, q, true);
	return ret;
}

/* The reusable indirect table of the next head, n entries at least. */
static int next_table(struct fakedrv_ring *r, unsigned int n, struct vring_table *t)
{
	uint16_t head = vring_next_head(&r->ring);

	if (r->table_cap[head] < n) {
		r->table_gpa[head] = fakedrv_alloc(r->d, DESC_SIZE * (size_t)n, DESC_SIZE);
		if (!r->table_gpa[head])
			return -ENOMEM;
		r->table_cap[head] = n;
	}
	t->gpa = r->table_gpa[head];
	/* the allocator keeps a table inside one region */
	t->host = fakedrv_host(r->d, t->gpa, DESC_SIZE * (size_t)n);
	return t->host ? 0 : -EFAULT;
}

int fakedrv_ring_add(struct fakedrv_ring *r, const struct vring_seg *segs, unsigned int n,
		     bool indirect)
{
	struct vring_table t;
	int ret;

	if (!n)
		return -EINVAL;
	if (r->ring.n_free < (indirect ? 1 : n))
		return -ENOSPC;
	if (!indirect)
		return vring_add(&r->ring, segs, n, NULL);
	if (n > VIRTQ_MAX_SIZE)
		return -EINVAL;
	ret = next_table(r, n, &t);
	return ret < 0 ? ret : vring_add(&r->ring, segs, n, &t);
}

int fakedrv_ring_get_used(struct fakedrv_ring *r, uint32_t *id, uint32_t *len)
{
	int ret = vring_get_used(&r->ring, id, len);

	return ret == -EPROTO ? 0 : ret;
}

void fakedrv_ring_set_indices(struct fakedrv_ring *r, uint16_t avail_idx, uint16_t used_idx)
{
	vring_set_indices(&r->ring, avail_idx, used_idx);
	r->start_idx = avail_idx;
}

/* ---- generic request chains ------------------------------------------ */

static size_t parts_max(size_t rd_len, size_t wr_len, uint32_t chunk)
{
	if (!chunk)
		return 2;
	return (rd_len + chunk - 1) / chunk + (wr_len + chunk - 1) / chunk;
}

/* The per-head buffer holding both parts: readable at 0, writable at the
 * next 8-byte boundary. */
static uint64_t request_area(struct fakedrv_ring *r, size_t need)
{
	uint16_t head = vring_next_head(&r->ring);

	if (r->data_cap[head] < need) {
		r->data_gpa[head] = fakedrv_alloc(r->d, need, 8);
		if (!r->data_gpa[head])
			return 0;
		r->data_cap[head] = need;
	}
	return r->data_gpa[head];
}

static int request_segs(struct vring_seg *segs, unsigned int max, const struct fakedrv_req *q,
			uint32_t chunk)
{
	int n = 0;

	if (q->rd_len)
		n = fakedrv_split(segs, n, max, q->rd_gpa, q->rd_len, chunk, false);
	if (n >= 0 && q->wr_len)
		n = fakedrv_split(segs, n, max, q->wr_gpa, q->wr_len, chunk, true);
	return n;
}

int fakedrv_add_request(struct fakedrv_ring *r, const void *rd, size_t rd_len, size_t wr_len,
			const struct fakedrv_req_opts *opts, struct fakedrv_req *out)
{
	struct fakedrv_req_opts o = opts ? *opts : (struct fakedrv_req_opts){ 0 };
	struct fakedrv_req q = { .head = -1, .rd_len = rd_len, .wr_len = wr_len };
	size_t max = parts_max(rd_len, wr_len, o.split);
	struct vring_seg *segs = NULL;
	int n, ret;

	ret = -EINVAL;
	if (!rd_len && !wr_len)
		goto out;
	ret = -ENOSPC;
	if (!r->ring.n_free)
		goto out;
	ret = -ENOMEM;
	q.rd_gpa = request_area(r, ((rd_len + 7) & ~(size_t)7) + wr_len);
	segs = calloc(max, sizeof(*segs));
	if (!q.rd_gpa || !segs)
		goto out;
	q.wr_gpa = q.rd_gpa + ((rd_len + 7) & ~(size_t)7);
	if (rd_len)
		fakedrv_write(r->d, q.rd_gpa, rd, rd_len);
	fakedrv_fill(r->d, q.wr_gpa, o.resp_fill, wr_len);
	n = request_segs(segs, (unsigned int)max, &q, o.split);
	ret = n < 0 ? n : fakedrv_ring_add(r, segs, (unsigned int)n, o.indirect);
	q.head = ret;
out:
	free(segs);
	if (out)
		*out = q;
	return ret;
}
