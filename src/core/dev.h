/* SPDX-License-Identifier: MIT */
/*
 * Internal structures of the device model, and its files' internal calls.
 *
 * Calls go one way, down this list; no file calls one above it:
 *   device.c    the public vsnd_dev_* entry points and the top-level dispatch
 *   ctl.c       control requests: dispatch, item information
 *   pcm.c       the stream state machine (PCM requests), stream status
 *   io.c        held TX/RX messages: arrival, moving frames, completion
 *   ctl_elem.c  control elements: values, gain; jack.c  jack states
 *   event.c     the event queue and its backlog
 *   host.c      services: log, clock, push and notify, mark broken, status
 * layout.c stands apart (layouts, parsed and default). Work below device.c
 * only queues events and pushes chains; device.c delivers the events and
 * notifies the driver at the end of each dispatch. tests/core/layers.py
 * checks the order.
 */
#ifndef VSND_CORE_DEV_H
#define VSND_CORE_DEV_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "vsnd/backend.h"
#include "wire/virtio_snd.h"
#include "vsnd/vsnd.h"

/* Limits on what a guest may ask for (documented in the README). */
#define VSND_MAX_BUFFER_BYTES (16u << 20)   /* per stream, one SET_PARAMS */
#define VSND_MAX_HELD 1024                  /* I/O messages held per direction */
#define VSND_MAX_INFO_SIZE 4096             /* record stride of an INFO query */
#define VSND_EVENT_BACKLOG 256              /* events kept while eventq is empty */
#define VSND_SCRATCH_SAMPLES 4096           /* samples scaled per gain pass */
/* Chains taken from one queue per call. A guest can lay its used ring over
 * its avail ring so that every push makes a new chain "available": without
 * a bound that is an endless loop on the device thread (found by fuzz_vhu). */
#define VSND_POP_BATCH 4096

/* Stream states (5.14.6.6.1). The state is named after the last request that
 * changed it; INITIAL means never configured. */
/* The states of 5.14.6.6.1 are the public enum vsnd_stream_state. */
#define PCM_NUM_STATES (VSND_STATE_RELEASED + 1)

/* One held I/O message (TX or RX). */
struct io_msg {
	struct vsnd_chain *chain;
	struct io_msg *next;
	uint32_t data_len;  /* TX: bytes to play; RX: bytes to capture */
	uint32_t done;      /* TX: bytes copied into the ring; RX: bytes captured */
	uint64_t end_pos;   /* TX: ring position of the byte after the message */
	bool copied;        /* TX: all data is in the ring (end_pos valid) */
};

struct io_fifo {
	struct io_msg *head, *tail;
	uint32_t count;
	uint64_t bytes;     /* their data_len */
};

/* Completion times the wrap guard keeps per stream (io.c). */
#define VSND_WRAP_TIMES 8

struct pcm_stream {
	unsigned int id;
	struct vsnd_stream_desc desc;   /* formats/rates already cut to the backend's caps */
	enum vsnd_stream_state state;
	/* Parameters from the last valid SET_PARAMS. */
	uint32_t buffer_bytes, period_bytes, features;
	uint8_t channels, format, rate;
	bool open;                      /* backend stream open (port valid) */
	bool transport_paused;          /* queue stopped under a running stream */
	struct vsnd_port port;
	struct io_fifo held;
	uint64_t xruns_seen;            /* port.xruns already reported */
	int host_present_seen;          /* port.host_present already acted on */
	uint64_t completed;
	uint64_t next_deadline;         /* clocked backends: next tick */
	/* RX: START's time and the bytes completed since, up to a buffer. */
	uint64_t start_ns, rx_since_start;
	/* TX: how far completions lead what the host has played (io.c,
	 * tx_complete_played), since START. */
	uint64_t tx_lead;
	/* The wrap guard (io.c): the times of the last completions. */
	uint64_t done_ns[VSND_WRAP_TIMES];
	/* Controls: volume 0..100 (0.5 dB steps, 100 = 0 dB) and the switch. */
	int volume;
	bool muted;
	bool gain_unity, gain_silent;
	double gain;
	uint32_t entered[VSND_STATE_RELEASED + 1]; /* vsnd_stream_status.entered */
	vsnd_pcm_hook_fn hook;          /* vsnd_dev_set_pcm_hook(); NULL: none */
	void *hook_opaque;
};

struct event_backlog {
	uint8_t ev[VSND_EVENT_BACKLOG][VIRTIO_SND_EVENT_SIZE];
	unsigned int head, count;
	uint64_t dropped;
};

struct vsnd_dev {
	struct vsnd_layout layout;
	struct vsnd_backend *backend;
	const struct vsnd_host_ops *host;
	void *host_opaque;
	const struct vsnd_transport_ops *tops;
	void *topaque;
	bool controls;
	uint64_t features;      /* negotiated */
	bool broken;
	bool pushed[VSND_NUM_QUEUES];  /* something pushed since the last notify */
	bool qstopped[VSND_NUM_QUEUES]; /* ring stopped by the transport */
	bool kick_ctl;                  /* the transport has set_kicks */
	bool kicks_off[VSND_NUM_QUEUES]; /* asked it for no kicks (io.c) */
	struct pcm_stream streams[VSND_MAX_STREAMS];
	/* A jack reads connected while the host has it plugged
	 * (vsnd_dev_jack_set; the layout's state at first) and its stream's
	 * host end is not known to be gone (jack.c). */
	bool jack_connected[VSND_MAX_JACKS];
	bool jack_plugged[VSND_MAX_JACKS];
	bool jack_away[VSND_MAX_JACKS];
	uint64_t jack_forget_at[VSND_MAX_JACKS]; /* away no longer known then; 0: never */
	uint64_t jack_forget_next;               /* none due before (UINT64_MAX: none) */
	struct event_backlog events;
	/* Held-message pools, one per data queue, allocated once. */
	struct io_msg *pool[2];
	struct io_msg *free_list[2];
	/* Guest-triggered warnings: at most a few per second. */
	uint64_t warn_window_start;
	unsigned int warn_count;
	double dscratch[VSND_SCRATCH_SAMPLES];
	uint8_t bscratch[VSND_SCRATCH_SAMPLES * 8];
	vsnd_trace_fn trace;
	void *trace_opaque;
	vsnd_state_trace_fn state_trace;
	void *state_trace_opaque;
};

/* ctl.c: one control request; returns the bytes written to the response. */
uint32_t vsnd__ctl_handle(struct vsnd_dev *dev, const struct vsnd_chain *chain);

/* pcm.c */
uint32_t vsnd__pcm_set_params(struct vsnd_dev *dev, const uint8_t *req, size_t len);
uint32_t vsnd__pcm_simple_request(struct vsnd_dev *dev, uint32_t code, const uint8_t *req, size_t len);
void vsnd__pcm_close(struct vsnd_dev *dev, struct pcm_stream *s);
void vsnd__pcm_reset_all(struct vsnd_dev *dev);
void vsnd__pcm_status(const struct vsnd_dev *dev, const struct pcm_stream *s,
		      struct vsnd_stream_status *st);

/* io.c */
int vsnd__io_pool_init(struct vsnd_dev *dev);
void vsnd__io_pool_fini(struct vsnd_dev *dev);
void vsnd__io_pop_queue(struct vsnd_dev *dev, unsigned int q);
void vsnd__io_poll_quiet(struct vsnd_dev *dev);
bool vsnd__io_choose_kicks(struct vsnd_dev *dev);
/* Data queue q stopped: pause its started streams, keep what they hold. */
void vsnd__io_pause(struct vsnd_dev *dev, unsigned int q);
/* The data queue of a stream's direction. */
unsigned int vsnd__io_queue_index(const struct pcm_stream *s);
void vsnd__io_service(struct vsnd_dev *dev, struct pcm_stream *s, uint64_t now);
void vsnd__io_flush(struct vsnd_dev *dev, struct pcm_stream *s);
void vsnd__io_drop(struct vsnd_dev *dev, struct pcm_stream *s);
uint32_t vsnd__io_latency_bytes(const struct vsnd_dev *dev, const struct pcm_stream *s);
void vsnd__io_prefill(struct vsnd_dev *dev, struct pcm_stream *s);
void vsnd__io_hook_set(struct vsnd_dev *dev, struct pcm_stream *s, vsnd_pcm_hook_fn fn,
		       void *opaque);

/* ctl_elem.c */
unsigned int vsnd__ctl_count(const struct vsnd_dev *dev);
void vsnd__ctl_stream_init(struct pcm_stream *s);
void vsnd__ctl_update_gain(struct pcm_stream *s);
void vsnd__ctl_apply_gain(struct vsnd_dev *dev, const struct pcm_stream *s, uint8_t *buf, size_t bytes,
		    uint64_t phase);
void vsnd__ctl_info_fill(struct vsnd_dev *dev, unsigned int id, uint8_t *rec, uint32_t size);
uint32_t vsnd__ctl_read(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req, size_t len,
		  uint32_t *status);
uint32_t vsnd__ctl_write(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req, size_t len);
uint32_t vsnd__ctl_tlv_read(struct vsnd_dev *dev, const struct vsnd_chain *c, const uint8_t *req,
		      size_t len, uint32_t *status);
/* Host-side changes: 0, -ENOENT (bad stream), -ERANGE (bad volume). */
int vsnd__ctl_volume_set(struct vsnd_dev *dev, unsigned int stream, int volume);
int vsnd__ctl_mute_set(struct vsnd_dev *dev, unsigned int stream, bool muted);

/* jack.c: a change of what a jack reads queues its event. The host plugs
 * or unplugs it: 0, -ENOENT for a bad id. */
int vsnd__jack_set(struct vsnd_dev *dev, unsigned int jack_id, bool plugged);
/* The sink or source stream s plays to appeared or went away: its jack follows. */
void vsnd__jack_follow(struct vsnd_dev *dev, const struct pcm_stream *s, bool present);
/* s's host stream closed: what it knew of its host end goes with it, in
 * VSND_JACK_FORGET_NS. */
void vsnd__jack_forget(struct vsnd_dev *dev, const struct pcm_stream *s);
/* Forget what is due by now; returns when the next is due (UINT64_MAX: none). */
uint64_t vsnd__jack_tick(struct vsnd_dev *dev, uint64_t now);
#define VSND_JACK_FORGET_NS UINT64_C(2000000000)

/* event.c */
void vsnd__event_queue(struct vsnd_dev *dev, uint32_t code, uint32_t data);
void vsnd__event_flush(struct vsnd_dev *dev);
void vsnd__event_reset(struct vsnd_dev *dev);

/* host.c */
void vsnd__dev_log(struct vsnd_dev *dev, enum vsnd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A warning the guest can trigger: rate-limited. */
void vsnd__dev_warn_guest(struct vsnd_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t vsnd__dev_now(struct vsnd_dev *dev);
/* Give a chain back with its used length; the notify comes later. */
void vsnd__dev_push(struct vsnd_dev *dev, unsigned int q, struct vsnd_chain *chain, uint32_t len);
/* Notify every queue pushed to since the last notify. */
void vsnd__dev_notify(struct vsnd_dev *dev);
void vsnd__dev_mark_broken(struct vsnd_dev *dev, unsigned int q);
/* Status codes as virtio wants them, from a negative errno. */
uint32_t vsnd__status_from_errno(int err);

#endif
