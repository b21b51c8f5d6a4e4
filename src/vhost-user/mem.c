/* SPDX-License-Identifier: MIT */
#include "vhost-user/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG(log, level, ...)                                              \
	do {                                                              \
		if ((log) && (log)->fn)                                   \
			(log)->fn((log)->opaque, (level), __VA_ARGS__);   \
	} while (0)

void vhu_mem_init(struct vhu_mem *m)
{
	memset(m, 0, sizeof(*m));
}

static void region_unmap(struct vhu_region *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	memset(r, 0, sizeof(*r));
}

void vhu_mem_release_retired(struct vhu_mem *m)
{
	for (unsigned int i = 0; i < m->n_retired; i++)
		region_unmap(&m->retired[i]);
	m->n_retired = 0;
}

unsigned int vhu_mem_release_unused(struct vhu_mem *m,
				    bool (*in_use)(void *opaque, const void *start, size_t len),
				    void *opaque)
{
	unsigned int kept = 0, released = 0;

	for (unsigned int i = 0; i < m->n_retired; i++) {
		struct vhu_region *r = &m->retired[i];

		if (in_use(opaque, r->map, r->map_len)) {
			m->retired[kept++] = *r;
			continue;
		}
		region_unmap(r);
		released++;
	}
	m->n_retired = kept;
	return released;
}

void vhu_mem_fini(struct vhu_mem *m)
{
	if (!m)
		return;
	for (unsigned int i = 0; i < m->n; i++)
		region_unmap(&m->r[i]);
	m->n = 0;
	m->last = 0;
	vhu_mem_release_retired(m);
}

/* [a, a+size) must not wrap: every end computed later is then exact. */
static bool range_ok(uint64_t a, uint64_t size)
{
	return size > 0 && size <= UINT64_MAX - a;
}

static bool ranges_overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static int desc_check(const struct vhu_region_desc *d, const struct vhu_mem_log *log)
{
	if (!range_ok(d->gpa, d->size) || !range_ok(d->uva, d->size) ||
	    !range_ok(d->mmap_offset, d->size)) {
		LOG(log, VHU_LOG_ERROR,
		    "memory region gpa 0x%llx size 0x%llx uva 0x%llx offset 0x%llx: empty or overflowing",
		    (unsigned long long)d->gpa, (unsigned long long)d->size,
		    (unsigned long long)d->uva, (unsigned long long)d->mmap_offset);
		return -EINVAL;
	}
	return 0;
}

/* Two regions may share neither guest-physical nor frontend-virtual bytes:
 * a translation must have exactly one answer. */
static int desc_overlap(const struct vhu_region_desc *a, const struct vhu_region_desc *b,
			const struct vhu_mem_log *log)
{
	if (ranges_overlap(a->gpa, a->size, b->gpa, b->size) ||
	    ranges_overlap(a->uva, a->size, b->uva, b->size)) {
		LOG(log, VHU_LOG_ERROR,
		    "memory regions overlap: gpa 0x%llx+0x%llx uva 0x%llx and gpa 0x%llx+0x%llx uva 0x%llx",
		    (unsigned long long)a->gpa, (unsigned long long)a->size,
		    (unsigned long long)a->uva, (unsigned long long)b->gpa,
		    (unsigned long long)b->size, (unsigned long long)b->uva);
		return -EINVAL;
	}
	return 0;
}

/*
 * Only regular files (memfd, hugetlbfs, tmpfs, a plain file) are accepted,
 * and they must be long enough: touching a page past the end of a shared
 * file mapping raises SIGBUS, which a frontend must not be able to cause.
 */
static int fd_check(int fd, const struct vhu_region_desc *d, struct stat *st,
		    const struct vhu_mem_log *log)
{
	if (fd < 0 || fstat(fd, st) < 0) {
		LOG(log, VHU_LOG_ERROR, "memory region fd %d: %s", fd,
		    fd < 0 ? "missing" : strerror(errno));
		return -EINVAL;
	}
	if (!S_ISREG(st->st_mode)) {
		LOG(log, VHU_LOG_ERROR, "memory region fd %d is not a regular file (memfd/shm/hugetlbfs)",
		    fd);
		return -EINVAL;
	}
	if (st->st_size < 0 || (uint64_t)st->st_size < d->mmap_offset + d->size) {
		LOG(log, VHU_LOG_ERROR,
		    "memory region offset 0x%llx size 0x%llx is past the end of its file (0x%llx bytes)",
		    (unsigned long long)d->mmap_offset, (unsigned long long)d->size,
		    (unsigned long long)st->st_size);
		return -EINVAL;
	}
	return 0;
}

/* mmap() offsets must be aligned to the file's page size, which for
 * hugetlbfs is the huge page size (reported as st_blksize): map from the
 * aligned offset below mmap_offset and skip the remainder. */
static uint64_t fd_align(const struct stat *st)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t a = page > 0 ? (uint64_t)page : 4096;
	uint64_t blk = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 0;

	if (blk > a && (blk & (blk - 1)) == 0)
		a = blk;
	return a;
}

static int region_map(struct vhu_region *r, const struct vhu_region_desc *d, int fd,
		      const struct stat *st, const struct vhu_mem_log *log)
{
	uint64_t fd_off = d->mmap_offset & ~(fd_align(st) - 1);
	uint64_t skip = d->mmap_offset - fd_off;
	void *p;

	if (d->size > SIZE_MAX - skip || fd_off > (uint64_t)INT64_MAX) {
		LOG(log, VHU_LOG_ERROR, "memory region size 0x%llx too big to map",
		    (unsigned long long)d->size);
		return -EINVAL;
	}
	p = mmap(NULL, (size_t)(d->size + skip), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
		 fd, (off_t)fd_off);
	if (p == MAP_FAILED) {
		int err = errno;

		LOG(log, VHU_LOG_ERROR, "cannot map memory region gpa 0x%llx size 0x%llx: %s",
		    (unsigned long long)d->gpa, (unsigned long long)d->size, strerror(err));
		return err == ENOMEM ? -ENOMEM : -EINVAL;
	}
	r->d = *d;
	r->map = p;
	r->map_len = (size_t)(d->size + skip);
	r->host = (uint8_t *)p + skip;
	r->st_dev = st->st_dev;
	r->st_ino = st->st_ino;
	return 0;
}

static bool region_same(const struct vhu_region *r, const struct vhu_region_desc *d,
			const struct stat *st)
{
	return r->d.gpa == d->gpa && r->d.size == d->size && r->d.uva == d->uva &&
	       r->d.mmap_offset == d->mmap_offset && r->st_dev == st->st_dev &&
	       r->st_ino == st->st_ino;
}

/* Index of an unclaimed current region identical to d, or -1. */
static int find_same(const struct vhu_mem *m, const struct vhu_region_desc *d,
		     const struct stat *st, const bool *taken)
{
	for (unsigned int i = 0; i < m->n; i++)
		if (!taken[i] && region_same(&m->r[i], d, st))
			return (int)i;
	return -1;
}

static int check_table(const struct vhu_region_desc *d, unsigned int n,
		       const struct vhu_mem_log *log)
{
	if (n > VHU_MAX_MEM_SLOTS) {
		LOG(log, VHU_LOG_ERROR, "memory table has %u regions (max %u)", n,
		    VHU_MAX_MEM_SLOTS);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < n; i++) {
		int rc = desc_check(&d[i], log);

		for (unsigned int j = 0; rc == 0 && j < i; j++)
			rc = desc_overlap(&d[i], &d[j], log);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int retire_room(const struct vhu_mem *m, unsigned int count, const struct vhu_mem_log *log)
{
	if (count > VHU_MAX_RETIRED - m->n_retired) {
		LOG(log, VHU_LOG_ERROR,
		    "too many memory-table changes while rings run (%u mappings pending release)",
		    m->n_retired);
		return -ENOSPC;
	}
	return 0;
}

struct table_build {
	struct vhu_region r[VHU_MAX_MEM_SLOTS];
	struct stat st[VHU_MAX_MEM_SLOTS];
	int reuse[VHU_MAX_MEM_SLOTS];   /* index of the current region kept, or -1 */
	bool taken[VHU_MAX_MEM_SLOTS];  /* current regions kept */
};

/* Match every new region against the current ones; returns how many
 * current regions are kept. */
static int match_regions(const struct vhu_mem *m, const struct vhu_region_desc *d,
			 const int *fds, unsigned int n, struct table_build *b,
			 const struct vhu_mem_log *log)
{
	int kept = 0;

	for (unsigned int i = 0; i < n; i++) {
		int rc = fd_check(fds[i], &d[i], &b->st[i], log);

		if (rc < 0)
			return rc;
		b->reuse[i] = find_same(m, &d[i], &b->st[i], b->taken);
		if (b->reuse[i] >= 0) {
			b->taken[b->reuse[i]] = true;
			kept++;
		}
	}
	return kept;
}

int vhu_mem_set_table(struct vhu_mem *m, const struct vhu_region_desc *d, const int *fds,
		      unsigned int n, const struct vhu_mem_log *log)
{
	struct table_build *b;
	unsigned int i, mapped = 0;
	int rc = check_table(d, n, log);

	if (rc < 0)
		return rc;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	rc = match_regions(m, d, fds, n, b, log);
	if (rc < 0)
		goto err;
	rc = retire_room(m, m->n - (unsigned int)rc, log);
	if (rc < 0)
		goto err;
	for (mapped = 0; mapped < n; mapped++) {
		if (b->reuse[mapped] >= 0) {
			b->r[mapped] = m->r[b->reuse[mapped]];
			continue;
		}
		rc = region_map(&b->r[mapped], &d[mapped], fds[mapped], &b->st[mapped], log);
		if (rc < 0)
			goto err;
	}
	for (i = 0; i < m->n; i++)
		if (!b->taken[i])
			m->retired[m->n_retired++] = m->r[i];
	memcpy(m->r, b->r, n * sizeof(b->r[0]));
	m->n = n;
	m->last = 0;
	free(b);
	return 0;
err:
	for (i = 0; i < mapped; i++)
		if (b->reuse[i] < 0)
			region_unmap(&b->r[i]);
	free(b);
	return rc;
}

int vhu_mem_add(struct vhu_mem *m, const struct vhu_region_desc *d, int fd,
		const struct vhu_mem_log *log)
{
	struct stat st;
	int rc = desc_check(d, log);

	for (unsigned int i = 0; rc == 0 && i < m->n; i++)
		rc = desc_overlap(d, &m->r[i].d, log);
	if (rc < 0)
		return rc;
	if (m->n >= VHU_MAX_MEM_SLOTS) {
		LOG(log, VHU_LOG_ERROR, "no free memory slot (max %u)", VHU_MAX_MEM_SLOTS);
		return -ENOSPC;
	}
	rc = fd_check(fd, d, &st, log);
	if (rc < 0)
		return rc;
	rc = region_map(&m->r[m->n], d, fd, &st, log);
	if (rc < 0)
		return rc;
	m->n++;
	return 0;
}

int vhu_mem_remove(struct vhu_mem *m, const struct vhu_region_desc *d,
		   const struct vhu_mem_log *log)
{
	for (unsigned int i = 0; i < m->n; i++) {
		struct vhu_region *r = &m->r[i];
		int rc;

		if (r->d.gpa != d->gpa || r->d.uva != d->uva || r->d.size != d->size)
			continue;
		rc = retire_room(m, 1, log);
		if (rc < 0)
			return rc;
		m->retired[m->n_retired++] = *r;
		memmove(r, r + 1, (m->n - i - 1) * sizeof(*r));
		m->n--;
		m->last = 0;
		return 0;
	}
	LOG(log, VHU_LOG_ERROR, "REM_MEM_REG: no region gpa 0x%llx size 0x%llx uva 0x%llx",
	    (unsigned long long)d->gpa, (unsigned long long)d->size, (unsigned long long)d->uva);
	return -ENOENT;
}

static void *gpa_in(const struct vhu_region *r, uint64_t gpa, uint64_t len, uint64_t *avail)
{
	uint64_t off = gpa - r->d.gpa;
	uint64_t left;

	if (gpa < r->d.gpa || off >= r->d.size)
		return NULL;
	left = r->d.size - off;
	*avail = len < left ? len : left;
	return r->host + off;
}

void *vhu_mem_gpa(struct vhu_mem *m, uint64_t gpa, uint64_t len, uint64_t *avail)
{
	void *p;

	/* Audio buffers come in runs from one region: try the last hit first. */
	if (m->last < m->n) {
		p = gpa_in(&m->r[m->last], gpa, len, avail);
		if (p)
			return p;
	}
	for (unsigned int i = 0; i < m->n; i++) {
		p = gpa_in(&m->r[i], gpa, len, avail);
		if (p) {
			m->last = i;
			return p;
		}
	}
	*avail = 0;
	return NULL;
}

void *vhu_mem_uva(const struct vhu_mem *m, uint64_t uva, uint64_t len)
{
	for (unsigned int i = 0; i < m->n; i++) {
		const struct vhu_region *r = &m->r[i];
		uint64_t off = uva - r->d.uva;

		if (uva < r->d.uva || off >= r->d.size)
			continue;
		return len <= r->d.size - off ? r->host + off : NULL;
	}
	return NULL;
}
