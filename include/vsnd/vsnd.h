/* SPDX-License-Identifier: MIT */
/*
 * libvsnd: a VirtIO sound device model (VirtIO 1.3, section 5.14).
 *
 * The device model sees no guest addresses, no event loop, no thread, no
 * clock and no audio API. A transport (vhost-user, virtio-mmio, a test)
 * hands it descriptor chains already translated into iovecs, and gives it
 * the few host services it needs through struct vsnd_host_ops.
 *
 * Threading: every vsnd_dev_* function must be called from one thread, the
 * "device thread", except where a comment says otherwise.
 *
 * ABI: every function and object these headers declare is exported under the
 * symbol version VSND_1; nothing else is. The soname changes only when a
 * change would break a program built against an older header. Structs the
 * caller fills and the library reads (the ops tables, the configs) and
 * vsnd_stream_status begin with `size`: set it to sizeof the struct. A newer
 * library treats members beyond an older caller's size as absent (NULL, 0);
 * it refuses a caller whose struct is bigger than it knows when the extra
 * bytes are not zero (-E2BIG), and one smaller than the first version
 * (-EINVAL). Structs the library allocates and hands out (vsnd_port,
 * vsnd_pcm_params) only grow at their end. See the README, "Embedding".
 */
#ifndef VSND_VSND_H
#define VSND_VSND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsnd/pcm.h"
#include "vsnd/version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The version of the libvsnd this program runs with, "MAJOR.MINOR.MICRO"
 * (VSND_VERSION_STRING is the version it was built against). Any thread. */
const char *vsnd_version(void);

/* Virtqueue indices (5.14.2). */
enum vsnd_queue {
	VSND_QUEUE_CONTROL = 0,
	VSND_QUEUE_EVENT = 1,
	VSND_QUEUE_TX = 2,
	VSND_QUEUE_RX = 3,
	VSND_NUM_QUEUES = 4,
};

/* Device feature bits (5.14.3) and the transport bits the device cares about. */
#define VSND_F_CTLS 0
#define VSND_VIRTIO_F_INDIRECT_DESC 28
#define VSND_VIRTIO_F_EVENT_IDX 29
#define VSND_VIRTIO_F_VERSION_1 32

enum vsnd_log_level {
	VSND_LOG_ERROR = 0,
	VSND_LOG_WARN = 1,
	VSND_LOG_INFO = 2,
	VSND_LOG_DEBUG = 3,
};

/*
 * One descriptor chain popped from a virtqueue, as the transport hands it
 * over. The transport owns the memory; the device holds the pointer until it
 * gives the chain back with vsnd_transport_ops.push(). Readable iovecs are the
 * driver's request, writable ones the space for the device's answer.
 * The transport allocates it and the device only reads it, on the data path:
 * its layout is fixed for this soname (no size field).
 */
struct vsnd_chain {
	const struct iovec *rd;
	unsigned int n_rd;
	const struct iovec *wr;
	unsigned int n_wr;
	size_t rd_len; /* sum of rd[i].iov_len */
	size_t wr_len; /* sum of wr[i].iov_len */
};

/* How the device reaches the virtqueues. Called on the device thread. */
struct vsnd_transport_ops {
	size_t size; /* sizeof(struct vsnd_transport_ops) */
	/*
	 * Pop the next available chain of queue q.
	 * Returns 0 with *chain set, -EAGAIN when the queue is empty or not
	 * running, -EIO when the ring is corrupt (the device then stops using
	 * the queue and reports itself broken).
	 */
	int (*pop)(void *opaque, unsigned int q, struct vsnd_chain **chain);
	/* Give a chain back to the driver with len bytes written to its
	 * writable part. Every popped chain is pushed exactly once. */
	void (*push)(void *opaque, unsigned int q, struct vsnd_chain *chain, uint32_t len);
	/* Publish the pushed chains and interrupt the driver if it wants one. */
	void (*notify)(void *opaque, unsigned int q);
	/*
	 * (Since 1.2; optional: NULL, or absent from an older caller's struct,
	 * means the driver always kicks.) want = false: the driver of queue q
	 * need not notify the device of new buffers (VIRTIO 2.7.10: the used
	 * ring's flag, or with EVENT_IDX an avail_event it will not cross);
	 * the device looks at q on its own wakes while its streams hold enough.
	 * want = true: it must again. Returns true when buffers arrived
	 * meanwhile that no notification announced: the device pops them.
	 */
	bool (*set_kicks)(void *opaque, unsigned int q, bool want);
};

/* Services the embedding program provides. */
struct vsnd_host_ops {
	size_t size; /* sizeof(struct vsnd_host_ops) */
	/* Log one line (no trailing newline). Device thread. */
	void (*log)(void *opaque, enum vsnd_log_level level, const char *msg);
	/* CLOCK_MONOTONIC in nanoseconds (a test may supply a fake clock). */
	uint64_t (*now_ns)(void *opaque);
	/* Have vsnd_dev_process() called at or soon after deadline_ns (absolute,
	 * now_ns() time base). UINT64_MAX cancels. Replaces any earlier request. */
	void (*set_timer)(void *opaque, uint64_t deadline_ns);
	/* Have vsnd_dev_process() called soon. Called from ANY thread, including
	 * a backend's real-time thread: must not block, lock or allocate (writing
	 * an eventfd is the intended implementation). */
	void (*wake)(void *opaque);
};

struct vsnd_backend;
struct vsnd_backend_ops;

/*
 * Limits of this version (they may grow in a later minor version; nothing
 * in the ABI depends on them): streams, jacks and channel maps a layout may
 * hold, and channels per stream (VirtIO's largest channel map).
 */
#define VSND_MAX_STREAMS 64
#define VSND_MAX_JACKS 64
#define VSND_MAX_CHMAPS 64
#define VSND_MAX_CHANNELS 18

/*
 * Stream layout: the streams, jacks and channel maps the guest sees. Opaque
 * (its size is not part of the ABI); built from a preset name ("stereo",
 * "5.1", "7.1", "car", ...) or a stream list such as
 * "out:2/nid=0/jack=speaker,out:1-6/nid=1,in:1/jack=mic" (vsnd(1),
 * --streams). Any thread.
 */
struct vsnd_layout;

/* Build a layout from spec (NULL or "" for the default, "stereo": one
 * output and one input stream of 1 to 2 channels). Returns 0, -ENOMEM, or
 * -EINVAL with a message naming the bad part in err (errlen bytes, may be
 * NULL/0). */
int vsnd_layout_new(struct vsnd_layout **out, const char *spec, char *err, size_t errlen);
/* Free a layout. NULL is fine. */
void vsnd_layout_free(struct vsnd_layout *layout);
/* The number of streams. */
unsigned int vsnd_layout_stream_count(const struct vsnd_layout *layout);
/* Stream i's direction (VSND_DIR_OUTPUT or VSND_DIR_INPUT), or -ENOENT. */
int vsnd_layout_stream_direction(const struct vsnd_layout *layout, unsigned int i);
/* The i-th preset's name (NULL past the last) and a one-line description. */
const char *vsnd_layout_presets(unsigned int i, const char **what);

struct vsnd_dev_config {
	size_t size;                          /* sizeof(struct vsnd_dev_config) */
	const struct vsnd_layout *layout;     /* NULL = default; copied */
	struct vsnd_backend *backend;         /* borrowed; must outlive the device */
	bool controls;                        /* offer VIRTIO_SND_F_CTLS */
	const struct vsnd_host_ops *host;
	void *host_opaque;
	const struct vsnd_transport_ops *transport;
	void *transport_opaque;
};

struct vsnd_dev;

/* Create a device. Returns 0 or a negative errno: -EINVAL for a missing
 * member or a struct smaller than its first version, -E2BIG for one bigger
 * than this library knows (see ABI above). */
int vsnd_dev_new(struct vsnd_dev **out, const struct vsnd_dev_config *cfg);
/* Complete nothing, close every host stream, free everything. NULL is fine. */
void vsnd_dev_free(struct vsnd_dev *dev);

/* Device feature bits (VSND_F_CTLS when enabled, VERSION_1, INDIRECT_DESC,
 * EVENT_IDX). */
uint64_t vsnd_dev_features(const struct vsnd_dev *dev);
/* Record the features the driver accepted. */
void vsnd_dev_set_features(struct vsnd_dev *dev, uint64_t features);
/* Config space size: 12, or 16 with F_CTLS offered. */
size_t vsnd_dev_config_size(const struct vsnd_dev *dev);
/* Copy config bytes [off, off+len) into buf; bytes past the end read as 0.
 * Returns 0, or -EINVAL if the range is outside the config space. */
int vsnd_dev_config_read(const struct vsnd_dev *dev, uint32_t off, void *buf, uint32_t len);

/* Queue q has new buffers (a kick, or a ring just started or resumed). */
void vsnd_dev_kick(struct vsnd_dev *dev, unsigned int q);
/* Run due work: backend clocks, data copies, completions, events. Call on
 * the host timer and on wake(). Cheap when there is nothing to do. */
void vsnd_dev_process(struct vsnd_dev *dev);
/* The transport is stopping queue q (GET_VRING_BASE): pause the host
 * streams using it and push nothing to it until vsnd_dev_kick(q) says it
 * runs again. Held chains and stream states are kept: a stop may be a VM
 * pause, and completing a whole buffer of unplayed audio at once makes the
 * guest's ALSA clock jump and fail. If the stop was a reset, the transport
 * says so with vsnd_dev_reset(). */
void vsnd_dev_queue_stop(struct vsnd_dev *dev, unsigned int q);
/* The driver reset the device: complete nothing further, drop held chains
 * without pushing them (the rings are gone), close host streams, return
 * every stream to its initial state. Jack states and control values stay
 * (they are the host's). */
void vsnd_dev_reset(struct vsnd_dev *dev);
/* True once the device saw a corrupt ring and stopped serving. */
bool vsnd_dev_broken(const struct vsnd_dev *dev);

/* Jack hotplug from the host side; sends the jack event when what the jack
 * reads changes. A jack reads connected while the host has it plugged and
 * the host end of its stream (a backend's vsnd_port.host_present, while the
 * stream is open and for 2 s after) is not gone. Returns 0, -ENOENT for a
 * bad id. */
int vsnd_dev_jack_set(struct vsnd_dev *dev, unsigned int jack_id, bool connected);
unsigned int vsnd_dev_jack_count(const struct vsnd_dev *dev);
/* Is jack jack_id connected? Returns 0 with *connected, or -ENOENT. */
int vsnd_dev_jack_get(const struct vsnd_dev *dev, unsigned int jack_id, bool *connected);

/* Host-side control changes (a runtime control socket, for example). They
 * apply to the samples at once and, when the driver negotiated F_CTLS, send
 * it a CTL_NOTIFY event. volume: 0..100 in 0.5 dB steps, 100 = 0 dB, 0 =
 * silent. Return 0, -ENOENT (bad stream), -ERANGE (bad volume). */
int vsnd_dev_volume_set(struct vsnd_dev *dev, unsigned int stream, int volume);
int vsnd_dev_mute_set(struct vsnd_dev *dev, unsigned int stream, bool muted);

/* A stream's state (5.14.6.6.1). */
enum vsnd_stream_state {
	VSND_STATE_INITIAL = 0,  /* no parameters set yet */
	VSND_STATE_PARAMS,       /* SET_PARAMS done */
	VSND_STATE_PREPARED,
	VSND_STATE_STARTED,
	VSND_STATE_STOPPED,
	VSND_STATE_RELEASED,
};
/* "initial", "params", "prepared", "started", "stopped", "released"; "?" for
 * a value this version does not know. Any thread. */
const char *vsnd_stream_state_name(enum vsnd_stream_state state);

/* A snapshot of one stream, for status displays and tests. */
struct vsnd_stream_status {
	size_t size; /* set by the caller: sizeof(struct vsnd_stream_status) */
	unsigned int id;
	uint8_t direction;
	enum vsnd_stream_state state;
	uint8_t format, channels;
	uint32_t rate_hz;
	uint32_t buffer_bytes, period_bytes;
	uint64_t frames;       /* frames moved to/from the backend since PREPARE */
	uint64_t xruns;
	uint32_t held;         /* I/O messages held by the device */
	uint32_t latency_bytes;
	uint64_t completed;    /* I/O messages completed since PREPARE */
	int volume;            /* 0..100, 100 = 0 dB */
	bool muted;
	/* Since 1.1: how many times the stream entered each state (indexed by
	 * enum vsnd_stream_state) since vsnd_dev_new(), wrapping. A tool that
	 * waits for a START sees one that came and went between two looks. */
	uint32_t entered[VSND_STATE_RELEASED + 1];
};
unsigned int vsnd_dev_stream_count(const struct vsnd_dev *dev);
/* Fill *st (st->size set by the caller; a smaller, older struct gets its own
 * members). Returns 0, -ENOENT (bad id) or -EINVAL (st->size too small). */
int vsnd_dev_stream_status(const struct vsnd_dev *dev, unsigned int id, struct vsnd_stream_status *st);

/*
 * Optional trace: called on the device thread for each completed I/O message
 * with the time of completion (host now_ns()). Benchmarks and tests use it
 * to measure pacing. NULL disables.
 */
typedef void (*vsnd_trace_fn)(void *opaque, unsigned int stream_id, uint64_t now_ns,
			      uint32_t bytes, uint32_t latency_bytes);
void vsnd_dev_set_trace(struct vsnd_dev *dev, vsnd_trace_fn fn, void *opaque);

/*
 * Since 1.3. Optional: called on the device thread each time a stream
 * enters a state (SET_PARAMS, PREPARE, START, STOP and RELEASE done at the
 * driver's request; INITIAL at a device reset), with the time it did (host
 * now_ns()): what a completion trace is measured from, e.g. a capture's
 * first period against its START. NULL disables.
 */
typedef void (*vsnd_state_trace_fn)(void *opaque, unsigned int stream_id, uint64_t now_ns,
				    enum vsnd_stream_state state);
void vsnd_dev_set_state_trace(struct vsnd_dev *dev, vsnd_state_trace_fn fn, void *opaque);

/*
 * Optional per-stream hook on the samples, for host tools that record a
 * playback stream or put sound into a capture stream at run time (the
 * daemon's `vsnd-ctl tap` and `inject`). Called on the device thread with
 * whole frames in the stream's negotiated format (params, from
 * <vsnd/backend.h>), in stream order:
 *  - playback: the frames as they go to the backend, after volume and mute;
 *    a new hook is first called (from this function) with the frames the
 *    backend has not taken yet, so it sees the stream from what plays next;
 *  - capture: the frames the backend captured, before volume and mute; the
 *    hook may change them in place, and the guest receives what it leaves.
 * It must not block: it runs inside vsnd_dev_process(). A stream without a
 * hook costs nothing. fn NULL removes it. Returns 0, or -ENOENT (bad id).
 */
struct vsnd_pcm_params;
typedef void (*vsnd_pcm_hook_fn)(void *opaque, const struct vsnd_pcm_params *params,
				 uint8_t *frames, size_t bytes);
int vsnd_dev_set_pcm_hook(struct vsnd_dev *dev, unsigned int stream, vsnd_pcm_hook_fn fn,
			  void *opaque);

#ifdef __cplusplus
}
#endif
#endif
