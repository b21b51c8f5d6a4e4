/* SPDX-License-Identifier: MIT */
/*
 * The size rule for structs that cross the library boundary (vsnd.h, "ABI"):
 * each begins with `size_t size`, set by whoever filled it. A member added
 * in a later version is read only when the caller's size reaches past it
 * (offsetof + sizeof); otherwise it counts as NULL or 0.
 */
#ifndef VSND_UTIL_ABI_H
#define VSND_UTIL_ABI_H

#include <stddef.h>
#include <string.h>

#include "vsnd/backend.h"
#include "vsnd/mmio.h"
#include "vsnd/vsnd.h"

/*
 * Can the library use the caller's struct s, whose first member is its size,
 * given that the first version of the struct was `first` bytes and this
 * library knows `known` bytes? Returns 0; -EINVAL for NULL or a size below
 * `first`; -E2BIG when the caller's struct is longer than `known` and a byte
 * beyond it is set (a newer caller asks for something this library lacks).
 */
int vsnd__abi_size_check(const void *s, size_t first, size_t known);

/* Each struct's size in its first version (soname 1): a caller built against
 * it keeps working. When a member is appended, its entry becomes the offset
 * of the first new member. */
#define VSND__SIZE1_HOST_OPS sizeof(struct vsnd_host_ops)
#define VSND__SIZE1_TRANSPORT_OPS offsetof(struct vsnd_transport_ops, set_kicks)
#define VSND__SIZE1_DEV_CONFIG sizeof(struct vsnd_dev_config)
#define VSND__SIZE1_STREAM_STATUS sizeof(struct vsnd_stream_status)
#define VSND__SIZE1_BACKEND_OPS sizeof(struct vsnd_backend_ops)
#define VSND__SIZE1_BACKEND_ENV sizeof(struct vsnd_backend_env)
#define VSND__SIZE1_MMIO_OPS sizeof(struct vsnd_mmio_ops)
#define VSND__SIZE1_MMIO_CONFIG sizeof(struct vsnd_mmio_config)

/* How many bytes of the struct s (its size member first) to copy between
 * the caller and this library, which knows `known` of them: an older
 * caller's struct is shorter, a newer one's extra bytes are not ours. */
static inline size_t vsnd__abi_len(const void *s, size_t known)
{
	size_t size;

	memcpy(&size, s, sizeof(size));
	return size < known ? size : known;
}

/* vsnd__abi_size_check() for a struct this library knows in full. */
#define VSND__ABI_CHECK(p, first) vsnd__abi_size_check((p), (first), sizeof(*(p)))

#endif
