/* SPDX-License-Identifier: MIT */
/* The vsnd-drive commands. Each returns 0 on success, a VIRTIO_SND_S_*
 * status or a negative errno on failure (main prints it), or 1 for "ran,
 * found failures" (check). */
#ifndef VSND_DRIVE_CMD_H
#define VSND_DRIVE_CMD_H

#include <stdbool.h>
#include <stdio.h>

#include "drive/drv.h"

struct cmd_opts {
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

int cmd_info(struct drv *d, FILE *out, bool json);
int cmd_play(struct drv *d, const struct cmd_opts *o);
int cmd_record(struct drv *d, const struct cmd_opts *o);
int cmd_check(struct drv *d, const struct cmd_opts *o);
int cmd_hold(struct drv *d, const struct cmd_opts *o);

/* Find a stream of direction dir (the given one if want >= 0): fills the
 * 32-byte pcm_info record. Returns the id or a negative errno/status. */
int cmd_find_stream(struct drv *d, int want, uint8_t dir, uint8_t info[32]);

#endif
