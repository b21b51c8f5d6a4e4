/* SPDX-License-Identifier: MIT */
/*
 * What the Linux virtio_snd driver refuses in the device's answers, as
 * rules the conformance run checks (and the device keeps to).
 */
#ifndef VSND_DRIVE_RULES_H
#define VSND_DRIVE_RULES_H

#include <stddef.h>
#include <stdint.h>

/*
 * A control's info (VIRTIO_SND_CTL_INFO_SIZE bytes) that Linux 6.12.96,
 * 6.18.39, 7.1.4 and later refuse ("ALSA: virtio: Validate control metadata
 * from the device", CVE-2026-64490), failing the whole card's probe: NULL
 * when it keeps to the rules, else why, written to buf.
 */
const char *vdd_rules_ctl(const uint8_t *info, char *buf, size_t len);

/*
 * A stream's rate bitmap that a Linux guest cannot use: NULL when it offers
 * one of 5512..192000 Hz, else why (384 kHz is mapped only by recent
 * drivers; 12 and 24 kHz, VirtIO 1.4's, by none).
 */
const char *vdd_rules_rates(uint64_t rates);

#endif
