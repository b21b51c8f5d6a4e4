/* SPDX-License-Identifier: MIT */
/*
 * virtio-mmio (version 2, VirtIO 1.3 section 4.2.2) transport for libvsnd:
 * what a small emulator wires to add a sound card.
 *
 * The emulator maps VSND_MMIO_SIZE bytes of its physical address space to
 * the device and forwards every access there to vsnd_mmio_read() /
 * vsnd_mmio_write() (offset from the region base). It gives the transport
 * two callbacks: translate guest-physical addresses to host pointers, and
 * drive the interrupt line (level-triggered: high while InterruptStatus is
 * non-zero). For time, it implements struct vsnd_host_ops: now_ns(), a timer
 * (set_timer) and a wake-up (wake), and calls vsnd_mmio_process() when the
 * timer expires or after wake().
 *
 * Threading: every function runs on the emulator's device thread (the one
 * that handles the MMIO accesses), except where vsnd.h says otherwise for
 * the host ops.
 */
#ifndef VSND_MMIO_H
#define VSND_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsnd/vsnd.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the register window (registers below 0x100, config space above). */
#define VSND_MMIO_SIZE 0x200
#define VSND_MMIO_VENDOR_ID 0x444e5356u /* "VSND" */
/* Largest ring the transport accepts (QueueNumMax). */
#define VSND_MMIO_QUEUE_NUM_MAX 256

struct vsnd_mmio_ops {
	size_t size; /* sizeof(struct vsnd_mmio_ops) */
	/*
	 * Host pointer for guest-physical [gpa, gpa + len): set *avail to the
	 * bytes contiguous from there, at most len (less when the range
	 * crosses into another host mapping; the transport asks again for the
	 * rest), or return NULL when gpa is not guest RAM.
	 * is_write: the device will write there (refuse read-only memory).
	 */
	void *(*translate)(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail,
			   bool is_write);
	/* Set the interrupt line's level. */
	void (*set_irq)(void *opaque, bool level);
};

struct vsnd_mmio_config {
	size_t size;                            /* sizeof(struct vsnd_mmio_config) */
	const struct vsnd_layout *layout;       /* NULL = default */
	struct vsnd_backend *backend;           /* borrowed; must outlive the transport */
	bool controls;                          /* offer VIRTIO_SND_F_CTLS */
	const struct vsnd_host_ops *host;
	void *host_opaque;
	const struct vsnd_mmio_ops *ops;
	void *opaque;
	uint32_t vendor_id;                     /* 0 = VSND_MMIO_VENDOR_ID */
};

struct vsnd_mmio;

/* Create the device and its transport. Returns 0 or a negative errno
 * (-EINVAL, -E2BIG for a struct size this library cannot use; see vsnd.h). */
int vsnd_mmio_new(struct vsnd_mmio **out, const struct vsnd_mmio_config *cfg);
/* Free everything (NULL is fine). */
void vsnd_mmio_free(struct vsnd_mmio *m);

/* A guest read of size bytes (1, 2 or 4; registers below 0x100 take only
 * 4) at offset. Bad accesses read as 0. */
uint32_t vsnd_mmio_read(struct vsnd_mmio *m, uint64_t offset, unsigned int size);
/* A guest write. Bad accesses are ignored (and logged). */
void vsnd_mmio_write(struct vsnd_mmio *m, uint64_t offset, uint32_t value, unsigned int size);

/* Run due device work: call on the host timer and after wake(). */
void vsnd_mmio_process(struct vsnd_mmio *m);

/* The device, for jack/volume calls and status (vsnd.h). */
struct vsnd_dev *vsnd_mmio_dev(struct vsnd_mmio *m);

#ifdef __cplusplus
}
#endif
#endif
