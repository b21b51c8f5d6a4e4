/* SPDX-License-Identifier: MIT */
/* The vsnd-drive commands. Each returns 0 on success, a VIRTIO_SND_S_*
 * status or a negative errno on failure (main prints it), or 1 for "ran,
 * found failures" (check). */
#ifndef VSND_DRIVE_CMD_H
#define VSND_DRIVE_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "drive/drv.h"

struct vdc_opts {
	const char *socket;
	const char *file;
	bool json;
	bool controls;
	const char *jack_cmd;   /* check: "CMD N plug|unplug" changes jack N on the host */
	bool quiet;             /* no progress line */
	int stream;             /* -1: the first of the right direction */
	int ctl_probe;          /* play: the stream the control probe cycles, or -1 */
	unsigned int period_ms, periods;
	double seconds;
	unsigned int rate, channels;
};

int vdc_info(struct vdd *d, FILE *out, bool json);
int vdc_play(struct vdd *d, const struct vdc_opts *o);
int vdc_record(struct vdd *d, const struct vdc_opts *o);
int vdc_check(struct vdd *d, const struct vdc_opts *o);
int vdc_hold(struct vdd *d, const struct vdc_opts *o);

/* Find a stream of direction dir (the given one if want >= 0): fills the
 * 32-byte pcm_info record. Returns the id or a negative errno/status. */
int vdc_find_stream(struct vdd *d, int want, uint8_t dir, uint8_t info[32]);

#endif
