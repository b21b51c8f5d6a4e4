/* SPDX-License-Identifier: MIT */
/*
 * The Linux driver's rules vsnd-drive check holds a device to: control
 * metadata (CVE-2026-64490's limits) and the rates it maps, each rule
 * broken once on a crafted answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "drive/rules.h"
#include "util/iov.h"
#include "wire/virtio_snd.h"

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static const char *ctl(uint32_t type, uint32_t count, uint32_t items)
{
	static uint8_t info[VIRTIO_SND_CTL_INFO_SIZE];
	static char buf[96];

	memset(info, 0, sizeof(info));
	put32(info + 8, type);
	put32(info + 16, count);
	put32(info + 72, items);
	return vdd_rules_ctl(info, buf, sizeof(buf));
}

static void test_ctl_limits(void **state)
{
	(void)state;
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_BOOLEAN, 128, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_BOOLEAN, 129, 0), "at most 128"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER, 2, 0));
	assert_non_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER, 129, 0));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_INTEGER64, 64, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_INTEGER64, 65, 0), "at most 64"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 1, 3));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 1, 0), "no item"));
	assert_non_null(ctl(VIRTIO_SND_CTL_TYPE_ENUMERATED, 129, 3));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_BYTES, 512, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_BYTES, 513, 0), "at most 512"));
	assert_null(ctl(VIRTIO_SND_CTL_TYPE_IEC958, 1, 0));
	assert_non_null(strstr(ctl(VIRTIO_SND_CTL_TYPE_IEC958, 2, 0), "exactly 1"));
	assert_non_null(strstr(ctl(6, 1, 0), "type 6"));
}

static void test_rates(void **state)
{
	(void)state;
	assert_null(vdd_rules_rates(UINT64_C(1) << VSND_PCM_RATE_48000));
	assert_null(vdd_rules_rates(UINT64_C(1) << VSND_PCM_RATE_5512));
	assert_null(vdd_rules_rates((UINT64_C(1) << VSND_PCM_RATE_192000) |
				    (UINT64_C(1) << VSND_PCM_RATE_384000)));
	assert_non_null(strstr(vdd_rules_rates(UINT64_C(1) << VSND_PCM_RATE_384000), "384"));
	assert_non_null(strstr(vdd_rules_rates((UINT64_C(1) << VSND_PCM_RATE_12000) |
					       (UINT64_C(1) << VSND_PCM_RATE_24000)),
			       "no Linux driver maps"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_limits),
		cmocka_unit_test(test_rates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
