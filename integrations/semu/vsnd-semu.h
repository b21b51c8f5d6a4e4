/* SPDX-License-Identifier: MIT */
/*
 * vsnd-semu: semu's virtio-snd device on libvsnd's virtio-mmio transport.
 *
 * semu.patch makes semu's device.h include this header in place of its own
 * virtio-snd declarations, so main.c keeps calling the names it always
 * called (MMIO region 0x47, IRQ_VSND 5, the same device-tree node). The
 * device is configured by the SEMU_VSND environment variable
 * (SEMU_VSND=help lists it). Linux only (eventfd, timerfd).
 *
 * Threading: everything here runs on semu's emulator thread (the one that
 * runs the harts and polls the peripherals). A backend's real-time thread
 * only writes the wake-up eventfd.
 */
#pragma once

/* Included by semu's device.h, after its riscv.h (hart_t). */
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	/* The IRQ_VSND line (1 high, 0 low): main.c reads it atomically. */
	uint32_t InterruptStatus;
	/* semu's RAM, guest-physical 0 to RAM_SIZE: set by main.c. */
	uint32_t *ram;
	/* The glue's state (struct vsnd_semu). */
	void *priv;
} virtio_snd_state_t;

/* A guest load at addr (offset in the device's 1 MiB region) of width
 * RV_MEM_L*: 1, 2 or 4 bytes as the transport allows. Raises a load fault
 * past the register window, a misaligned-load exception when addr is not
 * aligned to the width. */
void virtio_snd_read(hart_t *core, virtio_snd_state_t *vsnd, uint32_t addr, uint8_t width,
		     uint32_t *value);
/* A guest store; faults as for virtio_snd_read(). */
void virtio_snd_write(hart_t *core, virtio_snd_state_t *vsnd, uint32_t addr, uint8_t width,
		      uint32_t value);
/* Parse SEMU_VSND and create the backend and the device. Prints the reason
 * on stderr and returns false on a bad option or a failure; prints the
 * options and exits 0 for SEMU_VSND=help. */
bool virtio_snd_init(virtio_snd_state_t *vsnd);

/* Run the device's due work (its timer expired or a backend woke it);
 * cheap otherwise. Call it from the peripheral poll, then look at
 * InterruptStatus. */
void virtio_snd_poll(virtio_snd_state_t *vsnd);
/* For an emulator loop about to sleep in poll(): arms a timer for the
 * device's next deadline and returns a descriptor that turns readable then
 * or on a backend's wake-up (-1 if none). After poll(), call
 * virtio_snd_poll(). */
int virtio_snd_wait_fd(virtio_snd_state_t *vsnd);
