/* SPDX-License-Identifier: MIT */
/*
 * The stream layout inside libvsnd. Public code sees struct vsnd_layout as
 * opaque (vsnd.h), so its arrays and limits are not part of the ABI.
 */
#ifndef VSND_CORE_LAYOUT_H
#define VSND_CORE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsnd/vsnd.h"

struct vsnd_stream_desc {
	uint8_t direction; /* VSND_DIR_OUTPUT / VSND_DIR_INPUT */
	uint8_t channels_min;
	uint8_t channels_max;
	uint32_t hda_fn_nid;
	uint64_t formats; /* wanted formats, intersected with the backend's */
	uint64_t rates;   /* wanted rates, intersected with the backend's */
};

struct vsnd_jack_desc {
	uint32_t hda_fn_nid;
	uint32_t hda_reg_defconf;
	uint32_t hda_reg_caps;
	bool connected;
};

struct vsnd_chmap_desc {
	uint32_t hda_fn_nid;
	uint8_t direction;
	uint8_t channels;
	uint8_t positions[VSND_MAX_CHANNELS];
};

struct vsnd_layout {
	unsigned int n_streams, n_jacks, n_chmaps;
	struct vsnd_stream_desc streams[VSND_MAX_STREAMS];
	struct vsnd_jack_desc jacks[VSND_MAX_JACKS];
	struct vsnd_chmap_desc chmaps[VSND_MAX_CHMAPS];
};

/* Fill *l from a preset name or a stream list (see layout.c). Returns 0, or
 * -EINVAL with a message naming the bad part in err. Any thread. */
int vsnd__layout_parse(struct vsnd_layout *l, const char *spec, char *err, size_t errlen);
/* Fill *l with the default layout ("stereo"). */
void vsnd__layout_default(struct vsnd_layout *l);

#endif
