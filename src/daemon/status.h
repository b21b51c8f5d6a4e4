/* SPDX-License-Identifier: MIT */
/*
 * The daemon's status of a device: its streams (with their inject and tap),
 * its jacks. The text is what `vsnd-ctl status` shows and what the daemon
 * logs at a session's end; the JSON is `vsnd-ctl status --json` (schema:
 * man/vsnd-ctl.1.scd).
 *
 * Threading: the loop thread (the device's).
 */
#ifndef VSND_DAEMON_STATUS_H
#define VSND_DAEMON_STATUS_H

#include <stddef.h>

#include <vsnd/vsnd.h>

struct vd_intercept;

/* Write the status text of dev into buf (ic NULL: no inject or tap lines);
 * returns the length (the text is cut to fit, NUL-terminated). */
size_t vd_status_format(struct vsnd_dev *dev, struct vd_intercept *ic, char *buf, size_t size);
/* The same as one JSON object and a newline, written and cut alike. */
size_t vd_status_json(struct vsnd_dev *dev, struct vd_intercept *ic, char *buf, size_t size);

#endif
