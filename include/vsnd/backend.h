/* SPDX-License-Identifier: MIT */
/*
 * Host audio backends.
 *
 * A backend sees only its streams' ports: the negotiated parameters, one
 * lock-free single-producer/single-consumer byte ring per stream, and a wake
 * callback. It never sees virtqueues, iovecs, or the other layers.
 *
 * Playback (VSND_DIR_OUTPUT): the device copies guest frames into
 * port->ring (producer); the backend consumes them at the stream's real rate.
 * A TX buffer is completed when the ring's read position passes its end.
 * Capture (VSND_DIR_INPUT): the backend writes captured frames into the
 * ring at the real rate; the device moves them into the guest's buffers.
 *
 * Two kinds of backends:
 *  - clocked by the device (null, file, loopback): they implement tick(); the
 *    device thread calls it at the deadlines it returns, and it moves exactly
 *    the frames due by CLOCK_MONOTONIC since start() (absolute deadlines in
 *    nanoseconds, never accumulated rounded sleeps);
 *  - self-clocked (sound servers): tick is NULL; their real-time thread moves
 *    frames and calls port->wake(). That thread only touches the ring, the
 *    atomic counters and wake(): it never blocks, locks, allocates or logs.
 * On underrun (playback, ring short) a backend plays format-correct silence
 * for the missing frames and increments port->xruns once per underrun
 * episode; on overrun (capture, ring full) it drops the frames that do not fit
 * and increments port->xruns.
 */
#ifndef VSND_BACKEND_H
#define VSND_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsnd/pcm.h"
#include "vsnd/ring.h"
#include "vsnd/vsnd.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Allocated by the device; later versions only append members. */
struct vsnd_pcm_params {
	unsigned int stream_id;
	unsigned int dir_index;  /* index among the layout's streams of this direction */
	uint8_t direction;       /* VSND_DIR_OUTPUT / VSND_DIR_INPUT */
	uint8_t format;          /* VSND_PCM_FMT_* */
	uint8_t channels;
	uint32_t rate_hz;
	uint32_t frame_bytes;    /* channels * sample container bytes */
	uint32_t period_bytes;   /* as the driver set them (multiples of frame_bytes) */
	uint32_t buffer_bytes;
};

/* One guest stream as the backend sees it. The device allocates and owns
 * it; later versions only append members. */
struct vsnd_port {
	struct vsnd_pcm_params params;     /* set before open(), constant until close() */
	struct vsnd_ring ring;             /* capacity >= buffer_bytes + period_bytes */
	void (*wake)(void *opaque);        /* RT-safe; see vsnd_host_ops.wake */
	void *wake_opaque;
	/* How many bytes of playback the device keeps in the ring ahead of the
	 * consumer. Defaults to period_bytes; a backend whose host callback
	 * takes bigger quanta raises it in open(). */
	uint32_t lead_bytes;
	/* Does the host endpoint (a server's sink or source) exist? Set by the
	 * backend from any thread, then port->wake(): 1 present, 0 gone, -1
	 * unknown (the default; backends without endpoints leave it). The
	 * device turns changes into jack hotplug events for the stream's jack. */
	VSND_ATOMIC(int) host_present;
	VSND_ATOMIC(uint64_t) xruns;       /* incremented by the backend */
	VSND_ATOMIC(uint64_t) frames;      /* frames moved on the host side, silence included */
	void *priv;                        /* the backend's per-stream state */
};

/* What a backend can carry in one direction. */
struct vsnd_backend_caps {
	uint64_t formats;       /* bitmap of VSND_PCM_FMT_* */
	uint64_t rates;         /* bitmap of VSND_PCM_RATE_* */
	uint8_t channels_max;   /* 1..VSND_MAX_CHANNELS */
};

/* What a backend may use from its host program. */
struct vsnd_backend_env {
	size_t size; /* sizeof(struct vsnd_backend_env) */
	void (*log)(void *opaque, enum vsnd_log_level level, const char *msg);
	void *opaque;
};

/* The head of every backend instance (a backend embeds it first in its own
 * state). Fixed for this soname. */
struct vsnd_backend {
	const struct vsnd_backend_ops *ops;
	struct vsnd_backend_env env;
};

/*
 * Backend operations. All are called on the device thread. Functions return
 * 0 or a negative errno. Optional members may be NULL where said.
 */
struct vsnd_backend_ops {
	size_t size;        /* sizeof(struct vsnd_backend_ops) */
	const char *name;
	const char *help;   /* the options, one line: "out=PATH,in=PATH,loop=on|off" */
	/* Parse "key=value,..." (NULL or "" for none) and create an instance. */
	int (*create)(struct vsnd_backend **out, const char *opts, const struct vsnd_backend_env *env);
	void (*destroy)(struct vsnd_backend *be);       /* NULL is fine */
	void (*caps)(struct vsnd_backend *be, uint8_t direction, struct vsnd_backend_caps *caps);
	/* Open a host stream for port->params (PREPARE). May set port->priv
	 * and port->lead_bytes. Failure answers the guest IO_ERR. */
	int (*open)(struct vsnd_backend *be, struct vsnd_port *port);
	/* Begin moving frames (START). now_ns is the stream's time zero. */
	int (*start)(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
	/* Stop moving frames (STOP, or the transport stopping the queue). */
	int (*stop)(struct vsnd_backend *be, struct vsnd_port *port);
	/* Close the host stream and finalize any file (RELEASE, reset, exit). */
	void (*close)(struct vsnd_backend *be, struct vsnd_port *port);
	/* Clocked backends: move the frames due at now_ns; return the next
	 * absolute deadline (UINT64_MAX for none). NULL for self-clocked ones. */
	uint64_t (*tick)(struct vsnd_backend *be, struct vsnd_port *port, uint64_t now_ns);
	/* Frames queued on the host side beyond the ring (server latency).
	 * Optional: NULL means 0. */
	uint32_t (*delay_frames)(struct vsnd_backend *be, struct vsnd_port *port);
};

/* The built-in backends. */
extern const struct vsnd_backend_ops vsnd_backend_null;
extern const struct vsnd_backend_ops vsnd_backend_file;
extern const struct vsnd_backend_ops vsnd_backend_loopback;

/* Backends compiled into this build, NULL-terminated. Any thread. */
const struct vsnd_backend_ops *const *vsnd_backend_list(void);
/* Look up by name; NULL if unknown. */
const struct vsnd_backend_ops *vsnd_backend_find(const char *name);
/* Create from a QEMU-style spec "NAME[,key=value...]". Returns 0, -ENOENT
 * for an unknown backend, -EINVAL for bad options (logged through env) or
 * an env whose size is wrong (see vsnd.h, ABI). */
int vsnd_backend_create(const char *spec, const struct vsnd_backend_env *env,
			struct vsnd_backend **out);
void vsnd_backend_destroy(struct vsnd_backend *be);

/* Log through a backend's env (printf-style). Not for real-time threads. */
void vsnd_backend_log(const struct vsnd_backend *be, enum vsnd_log_level level,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifdef __cplusplus
}
#endif
#endif
