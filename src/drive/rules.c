/* SPDX-License-Identifier: MIT */
#include "drive/rules.h"

#include <stdio.h>

#include "util/iov.h"
#include "wire/virtio_snd.h"

/* The most values a control of each type may have (Linux's limits). */
static const uint32_t max_count[] = {
	[VIRTIO_SND_CTL_TYPE_BOOLEAN] = 128,
	[VIRTIO_SND_CTL_TYPE_INTEGER] = 128,
	[VIRTIO_SND_CTL_TYPE_INTEGER64] = 64,
	[VIRTIO_SND_CTL_TYPE_ENUMERATED] = 128,
	[VIRTIO_SND_CTL_TYPE_BYTES] = 512,
	[VIRTIO_SND_CTL_TYPE_IEC958] = 1,
};

const char *vdd_rules_ctl(const uint8_t *info, char *buf, size_t len)
{
	uint32_t type = vsnd_le32(info + 8), count = vsnd_le32(info + 16);
	uint32_t ntypes = sizeof(max_count) / sizeof(max_count[0]);

	if (type >= ntypes) {
		snprintf(buf, len, "type %u (Linux knows 0..%u)", type, ntypes - 1);
		return buf;
	}
	if (type == VIRTIO_SND_CTL_TYPE_IEC958 && count != 1) {
		snprintf(buf, len, "IEC958 with count %u (Linux wants exactly 1)", count);
		return buf;
	}
	if (count > max_count[type]) {
		snprintf(buf, len, "count %u (Linux allows at most %u for type %u)", count,
			 max_count[type], type);
		return buf;
	}
	if (type == VIRTIO_SND_CTL_TYPE_ENUMERATED && vsnd_le32(info + 72) == 0) {
		snprintf(buf, len, "ENUMERATED with no item (Linux wants at least one)");
		return buf;
	}
	return NULL;
}

const char *vdd_rules_rates(uint64_t rates)
{
	if (rates & VIRTIO_SND_PCM_RATES_LINUX)
		return NULL;
	if (rates & (UINT64_C(1) << VSND_PCM_RATE_384000))
		return "only 384 kHz (and rates no Linux maps): drivers before its mapping "
		       "reject the stream";
	return "only rates no Linux driver maps (12 or 24 kHz): it rejects the stream";
}
