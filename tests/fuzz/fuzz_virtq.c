/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the split-ring walker. The input is a short script of
 * ring operations followed by an image of guest memory (descriptor table,
 * avail ring, used ring, indirect tables, buffers) laid over a fake map of
 * two non-contiguous regions. Every chain popped must point only into
 * mapped memory, add up to the lengths it claims, and a broken ring must
 * stay broken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakedrv.h"
#include "fuzz_input.h"
#include "util/iov.h"
#include "virtq/virtq.h"

#define VF_BASE 0x10000u
#define VF_SIZE 0x20000u       /* two 64 KiB regions (fakedrv's minimum) */
#define VF_DESC 0x0000u        /* ring parts' offsets in region 0 */
#define VF_AVAIL 0x1000u
#define VF_USED 0x1208u        /* past the largest avail ring: no parts overlap */
#define VF_SCRIPT 32           /* script bytes before the memory image */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void vf_fail(const char *what)
{
	fprintf(stderr, "fuzz_virtq: %s\n", what);
	abort();
}

static bool vf_inside(const struct fakedrv *d, const struct iovec *iov)
{
	for (unsigned int r = 0; r < 2; r++) {
		size_t cap = r == 0 ? d->split : d->size - d->split;
		const uint8_t *b = d->host[r], *p = iov->iov_base;
		if (p >= b && p <= b + cap && iov->iov_len <= (size_t)(b + cap - p))
			return true;
	}
	return false;
}

static void vf_check(const struct fakedrv *d, const struct virtq_elem *e, unsigned int num)
{
	size_t rd = 0, wr = 0;

	if (e->head >= num)
		vf_fail("head out of range");
	if (e->n_rd + e->n_wr > VIRTQ_MAX_IOV)
		vf_fail("too many iovecs");
	for (unsigned int i = 0; i < e->n_rd + e->n_wr; i++) {
		if (e->iov[i].iov_len && !vf_inside(d, &e->iov[i]))
			vf_fail("iovec outside guest memory");
		*(i < e->n_rd ? &rd : &wr) += e->iov[i].iov_len;
		if (e->iov[i].iov_len) /* touch it: ASan sees a bad pointer */
			((volatile uint8_t *)e->iov[i].iov_base)[e->iov[i].iov_len - 1] ^= 0;
	}
	if (rd != e->rd_len || wr != e->wr_len)
		vf_fail("lengths do not add up");
}

static void vf_script(struct fakedrv *d, struct virtq *vq, struct fz *script,
		      struct virtq_elem *e)
{
	uint16_t held[64];
	unsigned int n_held = 0;
	bool broken = false;

	while (script->n) {
		uint8_t op = fz_u8(script);
		int rc;

		switch (op % 6) {
		case 0: case 1: case 2: /* pop */
			rc = vsnd__virtq_pop(vq, e);
			if (broken && rc != -EIO)
				vf_fail("a broken ring served again");
			if (rc == -EIO)
				broken = true;
			if (rc == 0)
				vf_check(d, e, vq->num);
			if ((rc == 0 || rc == -EMSGSIZE) && n_held < 64)
				held[n_held++] = e->head;
			break;
		case 3: /* push the oldest held chain */
			if (n_held) {
				vsnd__virtq_push(vq, held[0], fz_u8(script));
				memmove(held, held + 1, --n_held * sizeof(held[0]));
			}
			(void)vsnd__virtq_should_notify(vq);
			break;
		case 4: /* the guest moves avail->idx under us */
			vsnd_put_le16(fakedrv_host(d, VF_BASE + VF_AVAIL + 2, 2), fz_u16(script));
			(void)vsnd__virtq_avail_count(vq);
			break;
		default:
			(void)vsnd__virtq_set_notification(vq, op & 0x80);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fakedrv_config cfg = { .gpa_base = VF_BASE, .size = VF_SIZE, .split = VF_SIZE / 2 };
	struct fz in = { data, size };
	uint8_t script_buf[VF_SCRIPT];
	struct fz script = { script_buf, VF_SCRIPT };
	static struct virtq_elem elem; /* 8 KiB: not on the fuzzer's stack */
	struct fakedrv d;
	struct virtq vq;
	uint8_t flags = fz_u8(&in);
	unsigned int num = 1u << (flags % 9); /* 1 .. 256: fits before VF_AVAIL */
	uint16_t last_avail = fz_u16(&in);
	static uint8_t image[VF_SIZE / 2];
	size_t image_len;

	fz_bytes(&in, script_buf, sizeof(script_buf));
	image_len = fz_bytes(&in, image, sizeof(image));
	if (fakedrv_init(&d, &cfg) != 0)
		vf_fail("fakedrv_init");
	fakedrv_write(&d, VF_BASE, image, image_len);
	if (vsnd__virtq_init(&vq, num, fakedrv_host(&d, VF_BASE + VF_DESC, 16 * num),
		       fakedrv_host(&d, VF_BASE + VF_AVAIL, 6 + 2 * num),
		       fakedrv_host(&d, VF_BASE + VF_USED, 6 + 8 * num), &d.mem, flags & 0x40,
		       flags & 0x80, last_avail) != 0)
		vf_fail("vsnd__virtq_init");
	vf_script(&d, &vq, &script, &elem);
	vsnd__virtq_fini(&vq);
	fakedrv_fini(&d);
	return 0;
}
