/* SPDX-License-Identifier: MIT */
/*
 * Run-time inject and tap (vsnd-ctl inject / tap), for testing what runs in
 * the guest: a sound file put into a capture stream as if the microphone
 * heard it, and a playback stream also written to a WAV as the guest plays
 * it. Both ride on the device's PCM hook (vsnd_dev_set_pcm_hook), so they
 * work with every backend, run on the device thread without waiting on it
 * (the file is read and written there, as the file backend does), and cost
 * nothing on a stream that has neither.
 *
 * inject: from now on, the stream's captured frames are replaced by (or
 * mixed with) the file's, converted to the stream's format and rate as the
 * file backend converts (bit-exact when they match), until the file ends
 * (or forever with loop) or it is stopped. A new PREPARE with other
 * parameters carries on from the same place in the file.
 * tap: from now on, the frames the guest plays on the stream (after volume
 * and mute) are also written to a WAV in the stream's format, bit-exact,
 * for max_seconds at most (0: until stopped). A change of the stream's
 * format ends it. The WAV is finalized soon after the stop (status says
 * done), at its length, and when the frontend goes (vd_intercept_free
 * waits for it).
 *
 * Threading: the daemon's loop thread (the device thread) only.
 */
#ifndef VSND_DAEMON_INTERCEPT_H
#define VSND_DAEMON_INTERCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vsnd/vsnd.h>

struct vd_intercept;

int vd_intercept_new(struct vd_intercept **out, struct vsnd_dev *dev);
/* Finalize every tap, end every injection, remove the hooks. NULL is fine. */
void vd_intercept_free(struct vd_intercept *ic);

/* Each returns 0, or a negative errno with a sentence in why:
 * -ENOENT no such stream, -EINVAL the wrong direction, or the file's errors
 * (sfio.h). path is absolute, or relative to the daemon's directory. */
int vd_intercept_inject(struct vd_intercept *ic, unsigned int stream, const char *path, bool mix,
			bool loop, char *why, size_t why_len);
int vd_intercept_inject_stop(struct vd_intercept *ic, unsigned int stream, char *why,
			     size_t why_len);
int vd_intercept_tap(struct vd_intercept *ic, unsigned int stream, const char *path,
		     double max_seconds, char *why, size_t why_len);
int vd_intercept_tap_stop(struct vd_intercept *ic, unsigned int stream, char *why, size_t why_len);

/* What a stream's latest injection or tap is doing, for status. */
struct vd_intercept_state {
	bool active;        /* injecting / tapping now */
	bool done;          /* ended, and its file closed (a tap's WAV finalized) */
	bool mix, loop;     /* inject */
	uint64_t frames;    /* frames injected / tapped so far */
	uint64_t lost;      /* frames the file thread was too late for (should be 0) */
	const char *path;   /* NULL: none since the session began */
	const char *error;  /* NULL, or why it ended early */
};
void vd_intercept_get(struct vd_intercept *ic, unsigned int stream, bool tap,
		      struct vd_intercept_state *st);

#endif
