/* SPDX-License-Identifier: MIT */
/*
 * Guest memory table of one vhost-user connection: the frontend's shared
 * memory fds mapped into our address space, and address translation.
 *
 * A mapping that leaves the table (SET_MEM_TABLE replacing it, REM_MEM_REG)
 * is "retired", not unmapped: rings and held buffers may still point into
 * it. The owner releases retired mappings once no ring is running.
 */
#ifndef VSND_VHU_MEM_H
#define VSND_VHU_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhost-user/vhost-user.h"

/* Retired mappings kept at most; more table churn while rings run is an
 * error (bounds what a frontend can make us keep mapped). */
#define VHU_MAX_RETIRED 64

/* A region as the frontend describes it. */
struct vhu_region_desc {
	uint64_t gpa;           /* guest_phys_addr */
	uint64_t size;          /* memory_size */
	uint64_t uva;           /* userspace_addr (frontend's virtual address) */
	uint64_t mmap_offset;   /* where the region starts in the fd */
};

struct vhu_region {
	struct vhu_region_desc d;
	void *map;              /* the mmap()ed range */
	size_t map_len;
	uint8_t *host;          /* our address of d.gpa / d.uva */
	dev_t st_dev;           /* the file, to recognise an unchanged region */
	ino_t st_ino;
};

struct vhu_mem {
	unsigned int n;
	unsigned int last;      /* index of the last region hit by a translation */
	struct vhu_region r[VHU_MAX_MEM_SLOTS];
	unsigned int n_retired;
	struct vhu_region retired[VHU_MAX_RETIRED];
};

/* Log sink for the reasons a table is refused. */
struct vhu_mem_log {
	void (*fn)(void *opaque, enum vhu_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	void *opaque;
};

void vhu_mem_init(struct vhu_mem *m);
/* Unmap everything, retired mappings included. */
void vhu_mem_fini(struct vhu_mem *m);

/*
 * Replace the table with n regions mapped from fds[i] (the fds are not
 * consumed). Regions identical to a current one (same addresses and file)
 * keep their mapping; the others are retired. On error the table is
 * unchanged. Returns 0, -EINVAL (bad region, overlap, bad fd), -ENOSPC (too
 * many retired mappings), -ENOMEM.
 */
int vhu_mem_set_table(struct vhu_mem *m, const struct vhu_region_desc *d, const int *fds,
		      unsigned int n, const struct vhu_mem_log *log);
/* Add one region (ADD_MEM_REG). Returns 0, -EINVAL, -ENOSPC, -ENOMEM. */
int vhu_mem_add(struct vhu_mem *m, const struct vhu_region_desc *d, int fd,
		const struct vhu_mem_log *log);
/* Remove the region with d's gpa, uva and size (REM_MEM_REG; mmap_offset is
 * ignored) and retire it. Returns 0, -ENOENT, -ENOSPC. */
int vhu_mem_remove(struct vhu_mem *m, const struct vhu_region_desc *d,
		   const struct vhu_mem_log *log);
/* Unmap the retired mappings: call only when nothing can point into them. */
void vhu_mem_release_retired(struct vhu_mem *m);
/* Unmap the retired mappings for which in_use(opaque, map, len) is false;
 * the others stay retired. Returns how many were unmapped. */
unsigned int vhu_mem_release_unused(struct vhu_mem *m,
				    bool (*in_use)(void *opaque, const void *start, size_t len),
				    void *opaque);

/* Guest-physical [gpa, gpa+len): host pointer valid for *avail bytes
 * (the part inside the region holding gpa), or NULL if gpa is unmapped. */
void *vhu_mem_gpa(struct vhu_mem *m, uint64_t gpa, uint64_t len, uint64_t *avail);
/* Frontend-virtual [uva, uva+len), entirely inside one region, or NULL. */
void *vhu_mem_uva(const struct vhu_mem *m, uint64_t uva, uint64_t len);

#endif
