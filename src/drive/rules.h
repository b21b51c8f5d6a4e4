/* SPDX-License-Identifier: MIT */
/*
 * What the Linux virtio_snd driver refuses in the device's answers, as
 * rules the conformance run checks (and the device keeps to).
 */
#ifndef VSND_DRIVE_RULES_H
#define VSND_DRIVE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A control's info (VIRTIO_SND_CTL_INFO_SIZE bytes) that Linux 6.12.96,
 * 6.18.39, 7.1.4 and later refuse ("ALSA: virtio: Validate control metadata
 * from the device", CVE-2026-64490), failing the whole card's probe: NULL
 * when it keeps to the rules, else why, written to buf.
 */
const char *rules_ctl(const uint8_t *info, char *buf, size_t len);

/*
 * A stream's rate bitmap that a Linux guest cannot use: NULL when it offers
 * one of 5512..192000 Hz, else why (384 kHz is mapped only by recent
 * drivers; 12 and 24 kHz, VirtIO 1.4's, by none).
 */
const char *rules_rates(uint64_t rates);

/* Every queue of QEMU's vhost-user-snd has 64 entries (hw/virtio/
 * vhost-user-snd.c, vu_snd_base_realize: vub->vq_size = 64). */
#define RULES_QEMU_VQ_SIZE 64u

/* The virtio_snd module parameters that bound a stream's periods, and the
 * guest's page size (its buffers are rounded up to a page). */
struct rules_linux_pcm {
	unsigned int buffer_ms, periods_max, period_ms_min, page;
};
/* Their defaults (sound/virtio/virtio_pcm.c, Linux 6.1 to mainline), with
 * 4 KiB pages. */
extern const struct rules_linux_pcm rules_linux_pcm_defaults;

/*
 * The most I/O messages a Linux guest has outstanding at once on a stream
 * with this PCM_INFO record (VIRTIO_SND_PCM_INFO_SIZE bytes): one per
 * period, every period of its buffer. 0 when Linux rejects the stream.
 */
unsigned int rules_periods(const struct rules_linux_pcm *lp, const uint8_t *info);

/* How many Linux I/O messages a ring of `entries` descriptors holds: one
 * entry each through an indirect table, else at least 3 each. */
unsigned int rules_ring_msgs(unsigned int entries, bool indirect);

#endif
