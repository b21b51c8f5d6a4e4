/* SPDX-License-Identifier: MIT */
/*
 * vhost-user wire format (QEMU docs/interop/vhost-user.rst). Unlike virtio
 * structures, every field is in the host's native byte order: both ends run
 * on the same machine. Payloads are parsed by byte offset with memcpy, never
 * by casting the receive buffer.
 */
#ifndef VSND_VHU_PROTO_H
#define VSND_VHU_PROTO_H

#include <stdint.h>
#include <string.h>

/* Header: u32 request, u32 flags, u32 size (of the payload that follows). */
#define VHU_HDR_SIZE 12
#define VHU_HDR_REQUEST 0
#define VHU_HDR_FLAGS 4
#define VHU_HDR_SIZE_OFF 8

#define VHU_FLAG_VERSION_MASK 0x3u
#define VHU_VERSION 0x1u
#define VHU_FLAG_REPLY 0x4u
#define VHU_FLAG_NEED_REPLY 0x8u
/* QEMU compares a reply's flags with exactly this value. */
#define VHU_REPLY_FLAGS (VHU_VERSION | VHU_FLAG_REPLY)

/* At most this many fds ride on one message (VHOST_MEMORY_BASELINE_NREGIONS). */
#define VHU_MAX_FDS 8
/* Largest payload read; anything bigger is a protocol error. Known requests
 * have tighter limits (the biggest, SET_MEM_TABLE and GET_CONFIG, < 300). */
#define VHU_MAX_PAYLOAD 4096

enum vhu_request {
	VHU_REQ_GET_FEATURES = 1,
	VHU_REQ_SET_FEATURES = 2,
	VHU_REQ_SET_OWNER = 3,
	VHU_REQ_RESET_OWNER = 4,
	VHU_REQ_SET_MEM_TABLE = 5,
	VHU_REQ_SET_LOG_BASE = 6,
	VHU_REQ_SET_LOG_FD = 7,
	VHU_REQ_SET_VRING_NUM = 8,
	VHU_REQ_SET_VRING_ADDR = 9,
	VHU_REQ_SET_VRING_BASE = 10,
	VHU_REQ_GET_VRING_BASE = 11,
	VHU_REQ_SET_VRING_KICK = 12,
	VHU_REQ_SET_VRING_CALL = 13,
	VHU_REQ_SET_VRING_ERR = 14,
	VHU_REQ_GET_PROTOCOL_FEATURES = 15,
	VHU_REQ_SET_PROTOCOL_FEATURES = 16,
	VHU_REQ_GET_QUEUE_NUM = 17,
	VHU_REQ_SET_VRING_ENABLE = 18,
	VHU_REQ_SEND_RARP = 19,
	VHU_REQ_NET_SET_MTU = 20,
	VHU_REQ_SET_BACKEND_REQ_FD = 21,
	VHU_REQ_IOTLB_MSG = 22,
	VHU_REQ_SET_VRING_ENDIAN = 23,
	VHU_REQ_GET_CONFIG = 24,
	VHU_REQ_SET_CONFIG = 25,
	VHU_REQ_GET_INFLIGHT_FD = 31,
	VHU_REQ_SET_INFLIGHT_FD = 32,
	VHU_REQ_RESET_DEVICE = 34,
	VHU_REQ_VRING_KICK = 35,
	VHU_REQ_GET_MAX_MEM_SLOTS = 36,
	VHU_REQ_ADD_MEM_REG = 37,
	VHU_REQ_REM_MEM_REG = 38,
	VHU_REQ_SET_STATUS = 39,
	VHU_REQ_GET_STATUS = 40,
	VHU_REQ_MAX = 64,       /* table size; ids >= this are unknown */
};

/* Protocol feature bits. */
#define VHU_PF_MQ 0
#define VHU_PF_LOG_SHMFD 1
#define VHU_PF_REPLY_ACK 3
#define VHU_PF_BACKEND_REQ 5
#define VHU_PF_CONFIG 9
#define VHU_PF_CONFIGURE_MEM_SLOTS 15
#define VHU_PF_STATUS 16

/* u64 payload of SET_VRING_KICK/CALL/ERR. */
#define VHU_VRING_IDX_MASK 0xffu
#define VHU_VRING_NOFD 0x100u

/* vring state: u32 index, u32 num. */
#define VHU_STATE_SIZE 8
/* vring address: u32 index, u32 flags, u64 desc, u64 used, u64 avail, u64 log
 * (note the order: used before avail). */
#define VHU_ADDR_SIZE 40
#define VHU_ADDR_INDEX 0
#define VHU_ADDR_FLAGS 4
#define VHU_ADDR_DESC 8
#define VHU_ADDR_USED 16
#define VHU_ADDR_AVAIL 24
#define VHU_ADDR_LOG 32
#define VHU_VRING_F_LOG 0x1u
/* memory region: u64 guest_phys_addr, memory_size, userspace_addr, mmap_offset */
#define VHU_REGION_SIZE 32
/* memory table: u32 nregions, u32 padding, regions */
#define VHU_MEMTABLE_HDR 8
#define VHU_MEMTABLE_MAX_REGIONS 8
/* single region (ADD/REM_MEM_REG): u64 padding, region */
#define VHU_MEMREG_SIZE 40
/* config: u32 offset, u32 size, u32 flags, u8 data[size] */
#define VHU_CONFIG_HDR 12

static inline uint32_t vhu_rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t vhu_rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void vhu_wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, sizeof(v)); }
static inline void vhu_wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, sizeof(v)); }

#endif
