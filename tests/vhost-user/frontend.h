/* SPDX-License-Identifier: MIT */
/*
 * A test vhost-user frontend, shaped like QEMU: guest memory in a memfd
 * shared with SET_MEM_TABLE, rings laid out in that memory, messages sent
 * with their fds as SCM_RIGHTS, replies read back and checked.
 *
 * The back-end under test runs in the same thread: after sending, the test
 * "pumps" it (fe->pump) until a reply is readable or the connection closes.
 *
 * Guest-physical addresses start at FE_GPA_BASE; the frontend's "virtual"
 * addresses (what QEMU would send as userspace_addr and ring addresses) are
 * the same offsets from FE_UVA_BASE. The test itself reaches the memory
 * through fe->mem.
 */
#ifndef VSND_TESTS_VHU_FRONTEND_H
#define VSND_TESTS_VHU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FE_GPA_BASE 0x40000000ull
#define FE_UVA_BASE 0x7f1200000000ull
#define FE_MEM_SIZE (4u << 20)

struct fe {
	int sock;               /* our end */
	int peer;               /* the back-end's end (socketpair), -1 once handed over */
	int memfd;
	uint8_t *mem;
	size_t mem_size;
	size_t brk;             /* bump allocator over mem */
	/* Run the back-end once; returns < 0 when it closed the connection. */
	int (*pump)(void *opaque);
	void *pump_opaque;
	bool closed;            /* the back-end reported an error / closed */
};

/* Socket pair + memfd memory. Returns 0 or a negative errno. */
int fe_init(struct fe *fe);
void fe_fini(struct fe *fe);

/* Guest memory: allocate len bytes (zeroed) aligned to align; returns the
 * offset into fe->mem. */
size_t fe_alloc(struct fe *fe, size_t len, size_t align);
static inline uint64_t fe_gpa(size_t off) { return FE_GPA_BASE + off; }
static inline uint64_t fe_uva(size_t off) { return FE_UVA_BASE + off; }

/* Send one message with raw header fields. Returns 0 or a negative errno. */
int fe_send_raw(struct fe *fe, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		size_t payload_len, const int *fds, unsigned int nfds);
/* Send a well-formed request (flags = version 1 | extra). */
int fe_send(struct fe *fe, uint32_t req, uint32_t extra_flags, const void *payload, uint32_t size,
	    const int *fds, unsigned int nfds);

/* Pump the back-end until a reply is readable (or the connection closed),
 * then read it. Returns the payload size, or a negative errno (-EPIPE when
 * the back-end closed the connection, -ETIMEDOUT when no reply came). */
int fe_recv(struct fe *fe, uint32_t *req, uint32_t *flags, void *payload, size_t max);
/* Pump without expecting a reply; returns true if the back-end is still
 * connected and sent nothing. */
bool fe_quiet(struct fe *fe);

/* Common requests. fe_get_u64 returns 0 with *v, or a negative errno. */
int fe_get_u64(struct fe *fe, uint32_t req, uint64_t *v);
int fe_set_u64(struct fe *fe, uint32_t req, uint64_t v, bool need_reply);
int fe_set_state(struct fe *fe, uint32_t req, uint32_t index, uint32_t num, bool need_reply);
/* Send SET_MEM_TABLE describing the whole memfd as one region. */
int fe_set_mem_table(struct fe *fe, bool need_reply);
/* Read the u64 of a REPLY_ACK; returns it, or a negative errno. */
int fe_ack(struct fe *fe, uint32_t req);

/* A driver-side split ring in the guest memory. */
struct fe_ring {
	struct fe *fe;
	unsigned int num;
	size_t desc, avail, used;       /* offsets in fe->mem */
	uint16_t avail_idx, last_used, next_desc;
	int kick, call;                 /* eventfds (frontend's copies) */
};

int fe_ring_init(struct fe_ring *r, struct fe *fe, unsigned int num);
void fe_ring_fini(struct fe_ring *r);
/* SET_VRING_NUM, _BASE, _ADDR, _KICK, _CALL for queue q, the QEMU order. */
int fe_ring_setup(struct fe_ring *r, unsigned int q, uint16_t base);
/* Add a two-descriptor chain [rd_len readable][wr_len writable] (one
 * descriptor if either length is 0) and publish it (no kick). Returns the
 * head. */
int fe_ring_add(struct fe_ring *r, size_t rd_off, uint32_t rd_len, size_t wr_off,
		uint32_t wr_len);
void fe_ring_kick(struct fe_ring *r);
/* Next used entry: 0 with *id, *len; -EAGAIN if none. */
int fe_ring_used(struct fe_ring *r, uint32_t *id, uint32_t *len);
/* Did the device signal the call eventfd (consumes it)? */
bool fe_ring_called(struct fe_ring *r);

/* Number of open fds of this process (/proc/self/fd). */
int fe_count_fds(void);

#endif
