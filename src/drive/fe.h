/* SPDX-License-Identifier: MIT */
/*
 * A vhost-user frontend that is also the guest: it connects to a back-end's
 * Unix socket, shares memfd "guest memory" with SET_MEM_TABLE, negotiates
 * features, lays out the four split rings in that memory and drives them
 * from the driver's side. One thread, blocking I/O with timeouts (a
 * back-end that hangs makes calls fail with -ETIMEDOUT).
 *
 * The one frontend of the project: vsnd-drive brings a device up with
 * fe_open(); the unit tests, the fault tests and the fuzzer take a
 * socketpair with fe_pair() and send every message themselves (fe_send,
 * fe_send_raw and fe_send_bytes for malformed traffic), with a pump in
 * place of the wait when the back-end runs in the same thread.
 *
 * The back-end is hostile too: used ids and lengths it publishes are checked
 * before they are trusted.
 */
#ifndef VSND_DRIVE_FE_H
#define VSND_DRIVE_FE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vsnd/vsnd.h>

#include "drive/vring.h"

#define FE_GPA_BASE 0x80000000ull
#define FE_UVA_BASE 0x7e0000000000ull
#define FE_MEM_SIZE (16u << 20)
#define FE_RING_NUM 128u

/* One of the four rings: the driver's side (src/drive/vring.c) over the
 * memory, where it lies, and its eventfds. At most num/2 chains are in
 * flight, as a driver sending [readable][writable] pairs fills the ring. */
struct fe_ring {
	struct vring ring;
	size_t desc, avail, used;       /* offsets into the memory */
	size_t tables;                  /* per head: a 2-entry indirect table */
	uint16_t base;                  /* next avail index the back-end had at a pause */
	unsigned int in_flight;         /* chains added, not yet used */
	bool notify;                    /* the last fe_add's publish wants a kick
					 * (vring_flush's answer; fe_add kicks anyway
					 * unless no_kick) */
	int kick, call;                 /* eventfds */
};

struct fe {
	int sock;
	/* The wait for the back-end: NULL polls the socket; otherwise it runs
	 * the back-end once (a back-end in the same thread) and returns < 0
	 * once it closed the connection. */
	int (*pump)(void *opaque);
	void *pump_opaque;
	bool closed;                    /* the pump saw the back-end go */
	int memfd;
	uint8_t *mem;
	size_t mem_size, brk;
	uint64_t offered;               /* device features the back-end offered */
	uint64_t features;              /* features we accepted */
	uint64_t protocol;              /* protocol features in use */
	bool event_idx;
	bool indirect;                  /* chains go through indirect tables */
	struct fe_ring r[VSND_NUM_QUEUES];
};

/* Connect to path and bring the device up the way QEMU does (features,
 * protocol features, owner, memory table, four rings, enable). Features
 * outside want_mask are refused. Returns 0 or a negative errno. */
int fe_open(struct fe *f, const char *path, uint64_t want_mask);
/* A frontend over a fresh socketpair, with mem_size bytes of guest memory
 * and nothing sent: *peer is the back-end's end (the caller hands it over).
 * Returns 0 or a negative errno. */
int fe_pair(struct fe *f, size_t mem_size, int *peer);
/* Close the connection and free everything. NULL-safe, idempotent. */
void fe_close(struct fe *f);

/* Stop every ring (GET_VRING_BASE, as QEMU at a VM stop) and keep each
 * ring's base for fe_resume(). Returns 0 or a negative errno. */
int fe_pause(struct fe *f);
/* Start the rings again where they stopped (as at a VM cont): same rings,
 * same eventfds, enabled. Returns 0 or a negative errno. */
int fe_resume(struct fe *f);
/* Reset the device as a driver re-init under QEMU does: pause, clear the
 * rings in place, start them from index 0. Chains in flight are forgotten.
 * Returns 0 or a negative errno. */
int fe_reset(struct fe *f);
/* (Re)send the memory table: the one region of the memfd, size bytes from
 * FE_GPA_BASE, with the frontend's own address of it given as uva (ring
 * addresses are sent at FE_UVA_BASE; the frontend keeps using the bytes
 * it mapped). With need_reply, the ack as fe_ack() returns it. Returns 0
 * or a negative errno. */
int fe_set_mem_table(struct fe *f, uint64_t uva, uint64_t size, bool need_reply);

/* Messages, for a caller that drives the protocol itself. fe_send_bytes
 * sends len bytes as they are (partial messages, garbage) with nfds fds
 * (at most FE_MAX_FDS); fe_send_raw a header with any flags and claimed
 * size and payload_len bytes of payload; fe_send a well-formed request
 * (version 1 | extra_flags). Each returns 0 or a negative errno. */
#define FE_MAX_FDS 16u
int fe_send_bytes(struct fe *f, const void *buf, size_t len, const int *fds,
		  unsigned int nfds);
int fe_send_raw(struct fe *f, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		size_t payload_len, const int *fds, unsigned int nfds);
int fe_send(struct fe *f, uint32_t req, uint32_t extra_flags, const void *payload,
	    uint32_t size, const int *fds, unsigned int nfds);
/* Wait for the next message from the back-end and read it: its payload
 * size, or -EPIPE (the back-end closed), -ETIMEDOUT, -EMSGSIZE (over max). */
int fe_recv(struct fe *f, uint32_t *req, uint32_t *flags, void *payload, size_t max);
/* Wait briefly: true if the back-end is still there and sent nothing. */
bool fe_quiet(struct fe *f);
/* Read the REPLY_ACK of req: 0, -EREMOTEIO (the back-end failed it), or a
 * negative errno (-EPROTO: not an ack of req). */
int fe_ack(struct fe *f, uint32_t req);
/* GET_* of a u64: 0 with *v, or a negative errno. */
int fe_get_u64(struct fe *f, uint32_t req, uint64_t *v);
/* A u64 / a vring state {index, num} request; with need_reply, its ack as
 * fe_ack() returns it. */
int fe_set_u64(struct fe *f, uint32_t req, uint64_t v, bool need_reply);
int fe_set_state(struct fe *f, uint32_t req, uint32_t index, uint32_t num, bool need_reply);
/* Does the connection ask for acks (REPLY_ACK negotiated by fe_open)? */
bool fe_acked(const struct fe *f);

/* GET_CONFIG of len bytes at offset 0. Returns 0 or a negative errno. */
int fe_get_config(struct fe *f, uint8_t *buf, uint32_t len);
/* GET_VRING_BASE of queue q (stops the ring). Returns it or a negative
 * errno (-EPROTO: the reply is not for q). */
int fe_get_vring_base(struct fe *f, unsigned int q);

/* Allocate len zeroed bytes of guest memory; returns the offset or 0 when full. */
size_t fe_alloc(struct fe *f, size_t len, size_t align);
static inline uint64_t fe_gpa(size_t off) { return FE_GPA_BASE + off; }
/* The frontend's "virtual" address of an offset, as ring addresses are sent. */
static inline uint64_t fe_uva(size_t off) { return FE_UVA_BASE + off; }

/* Lay out ring q with num entries (a power of two up to FE_RING_NUM) in
 * the memory, with its kick and call eventfds; nothing is sent. Returns 0
 * or a negative errno. */
int fe_ring_init(struct fe *f, unsigned int q, unsigned int num);
/* Start ring q from index base on both sides, the QEMU order:
 * SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL (acked if fe_acked()).
 * Returns 0 or a negative errno. */
int fe_ring_start(struct fe *f, unsigned int q, uint16_t base);
/* Empty ring q on the driver's side (a driver re-init): chains in flight
 * are forgotten. */
void fe_ring_clear(struct fe *f, unsigned int q);
/* Did the back-end signal q's call eventfd since the last look (consumes it)? */
bool fe_called(struct fe *f, unsigned int q);

/* Add [rd_len readable at rd_off][wr_len writable at wr_off] (either may be
 * 0) to queue q and publish it; kick unless no_kick. With INDIRECT_DESC
 * negotiated, a chain with both parts is one descriptor pointing at a
 * two-entry table, as Linux sends them. Returns the head or -ENOSPC when
 * every slot is in flight. */
int fe_add(struct fe *f, unsigned int q, size_t rd_off, uint32_t rd_len, size_t wr_off,
	   uint32_t wr_len, bool no_kick);
void fe_kick(struct fe *f, unsigned int q);
/* Next used entry of q: 0 with *id, *len; -EAGAIN if none; -EPROTO if the
 * device published an id that is not an in-flight head. */
int fe_used(struct fe *f, unsigned int q, uint32_t *id, uint32_t *len);
/* Are used entries of q waiting? Fenced after our used_event store, as a
 * driver that drained q must look once more before it sleeps on the call
 * eventfd: with EVENT_IDX, an entry published before that store was seen
 * gets no call. Never blocks. */
bool fe_used_ready(const struct fe *f, unsigned int q);
/* Wait up to timeout_ms for queue q's call eventfd (or a used entry already
 * there); with a pump, run the back-end up to timeout_ms rounds until it
 * used something. Returns 1 if something may be ready, 0 on timeout. */
int fe_wait(struct fe *f, unsigned int q, int timeout_ms);
/* Chains of q still in flight. */
unsigned int fe_in_flight(const struct fe *f, unsigned int q);

/* Open fds of process pid (0: this one, not counting the look itself), to
 * check a back-end keeps none it was handed; a negative errno if unknown. */
int fe_count_fds(pid_t pid);

#endif
