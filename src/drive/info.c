/* SPDX-License-Identifier: MIT */
/* `vsnd-drive SOCK info`: everything the device describes, as text or JSON. */
#include "drive/cmd.h"

#include <stdio.h>
#include <string.h>

#include "wire/virtio_snd.h"

#include "util/iov.h"

/* One item's record, fetched in batches that fit a control buffer. */
struct info_walk {
	struct drv *d;
	uint32_t code, size, total;
	uint32_t start, count;  /* current batch */
	const uint8_t *batch;
	int status;
};

static const uint8_t *info_item(struct info_walk *w, uint32_t i)
{
	if (i < w->start || i >= w->start + w->count) {
		uint32_t per = (DRV_CTL_MAX - 4) / w->size;

		w->start = i;
		w->count = w->total - i < per ? w->total - i : per;
		w->status = drv_query(w->d, w->code, w->start, w->count, w->size, &w->batch);
		if (w->status != VIRTIO_SND_S_OK) {
			w->count = 0;
			return NULL;
		}
	}
	return w->batch + 4 + (size_t)(i - w->start) * w->size;
}

static void json_str(FILE *out, const uint8_t *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		if (s[i] == '"' || s[i] == '\\')
			fprintf(out, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] > 0x7e)
			fprintf(out, "\\u%04x", s[i]);
		else
			fputc(s[i], out);
	}
	fputc('"', out);
}

static void print_bits(FILE *out, uint64_t bits, unsigned int n, bool json, bool rates)
{
	bool first = true;

	for (unsigned int b = 0; b < n; b++) {
		if (!(bits & (1ull << b)))
			continue;
		if (!first)
			fputs(json ? ", " : " ", out);
		first = false;
		if (rates)
			fprintf(out, "%u", vsnd_pcm_rate_hz(b));
		else
			fprintf(out, json ? "\"%s\"" : "%s", drv_format_name(b));
	}
}

static int print_jacks(struct drv *d, FILE *out, bool json)
{
	struct info_walk w = { .d = d, .code = VIRTIO_SND_R_JACK_INFO, .size = VIRTIO_SND_JACK_INFO_SIZE, .total = d->jacks };

	fputs(json ? "  \"jacks\": [" : "", out);
	for (uint32_t i = 0; i < d->jacks; i++) {
		const uint8_t *p = info_item(&w, i);

		if (!p)
			return w.status;
		if (json)
			fprintf(out, "%s\n    {\"id\": %u, \"hda_fn_nid\": %u, \"features\": %u, "
				"\"defconf\": %u, \"caps\": %u, \"connected\": %s}", i ? "," : "",
				i, vsnd_le32(p), vsnd_le32(p + 4), vsnd_le32(p + 8),
				vsnd_le32(p + 12), p[16] ? "true" : "false");
		else
			fprintf(out, "jack %u: nid %u, defconf 0x%08x, caps 0x%08x, %s%s\n", i,
				vsnd_le32(p), vsnd_le32(p + 8), vsnd_le32(p + 12),
				p[16] ? "connected" : "disconnected",
				vsnd_le32(p + 4) & 1 ? ", remappable" : "");
	}
	fputs(json ? (d->jacks ? "\n  ],\n" : "],\n") : "", out);
	return 0;
}

static int print_streams(struct drv *d, FILE *out, bool json)
{
	struct info_walk w = { .d = d, .code = VIRTIO_SND_R_PCM_INFO, .size = VIRTIO_SND_PCM_INFO_SIZE, .total = d->streams };

	fputs(json ? "  \"streams\": [" : "", out);
	for (uint32_t i = 0; i < d->streams; i++) {
		const uint8_t *p = info_item(&w, i);
		const char *dir;

		if (!p)
			return w.status;
		dir = p[24] == VSND_DIR_OUTPUT ? "output" : p[24] == VSND_DIR_INPUT ? "input" : "?";
		if (json)
			fprintf(out, "%s\n    {\"id\": %u, \"hda_fn_nid\": %u, \"direction\": \"%s\", "
				"\"features\": %u, \"channels_min\": %u, \"channels_max\": %u, "
				"\"formats\": [", i ? "," : "", i, vsnd_le32(p), dir,
				vsnd_le32(p + 4), p[25], p[26]);
		else
			fprintf(out, "stream %u: %s, nid %u, channels %u-%u, features 0x%x\n"
				"  formats: ", i, dir, vsnd_le32(p), p[25], p[26], vsnd_le32(p + 4));
		print_bits(out, vsnd_le64(p + 8), VSND_PCM_FMT_COUNT, json, false);
		fputs(json ? "], \"rates\": [" : "\n  rates: ", out);
		print_bits(out, vsnd_le64(p + 16), VSND_PCM_RATE_COUNT, json, true);
		fputs(json ? "]}" : "\n", out);
	}
	fputs(json ? (d->streams ? "\n  ],\n" : "],\n") : "", out);
	return 0;
}

static int print_chmaps(struct drv *d, FILE *out, bool json)
{
	struct info_walk w = { .d = d, .code = VIRTIO_SND_R_CHMAP_INFO, .size = VIRTIO_SND_CHMAP_INFO_SIZE, .total = d->chmaps };

	fputs(json ? "  \"chmaps\": [" : "", out);
	for (uint32_t i = 0; i < d->chmaps; i++) {
		const uint8_t *p = info_item(&w, i);
		unsigned int n;

		if (!p)
			return w.status;
		n = p[5] < VIRTIO_SND_CHMAP_MAX_SIZE ? p[5] : VIRTIO_SND_CHMAP_MAX_SIZE;
		if (json)
			fprintf(out, "%s\n    {\"id\": %u, \"hda_fn_nid\": %u, \"direction\": \"%s\", "
				"\"positions\": [", i ? "," : "", i, vsnd_le32(p),
				p[4] ? "input" : "output");
		else
			fprintf(out, "chmap %u: %s, nid %u:", i, p[4] ? "input" : "output",
				vsnd_le32(p));
		for (unsigned int c = 0; c < n; c++)
			fprintf(out, json ? "%s\"%s\"" : "%s%s", json && c ? ", " : " ",
				drv_position_name(p[6 + c]));
		fputs(json ? "]}" : "\n", out);
	}
	fputs(json ? (d->chmaps ? "\n  ],\n" : "],\n") : "", out);
	return 0;
}

static const char *ctl_type_name(uint32_t type)
{
	static const char *const names[] = { "boolean", "integer", "integer64", "enumerated",
					     "bytes", "iec958" };
	return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

static int print_controls(struct drv *d, FILE *out, bool json)
{
	struct info_walk w = { .d = d, .code = VIRTIO_SND_R_CTL_INFO, .size = VIRTIO_SND_CTL_INFO_SIZE, .total = d->controls };

	fputs(json ? "  \"controls\": [" : "", out);
	for (uint32_t i = 0; i < d->controls; i++) {
		const uint8_t *p = info_item(&w, i);
		uint32_t type;

		if (!p)
			return w.status;
		type = vsnd_le32(p + 8);
		if (json) {
			fprintf(out, "%s\n    {\"id\": %u, \"name\": ", i ? "," : "", i);
			json_str(out, p + 24, VIRTIO_SND_CTL_NAME_SIZE);
			fprintf(out, ", \"index\": %u, \"role\": %u, \"type\": \"%s\", \"access\": %u, "
				"\"count\": %u", vsnd_le32(p + 20), vsnd_le32(p + 4),
				ctl_type_name(type), vsnd_le32(p + 12), vsnd_le32(p + 16));
		} else {
			fprintf(out, "control %u: \"%.44s\" index %u, %s x%u, role %u, access 0x%x",
				i, (const char *)(p + 24), vsnd_le32(p + 20), ctl_type_name(type),
				vsnd_le32(p + 16), vsnd_le32(p + 4), vsnd_le32(p + 12));
		}
		if (type == VIRTIO_SND_CTL_TYPE_INTEGER)
			fprintf(out, json ? ", \"min\": %d, \"max\": %d, \"step\": %d" :
				", range %d..%d step %d", (int32_t)vsnd_le32(p + 72),
				(int32_t)vsnd_le32(p + 76), (int32_t)vsnd_le32(p + 80));
		fputs(json ? "}" : "\n", out);
	}
	fputs(json ? (d->controls ? "\n  ]\n" : "]\n") : "", out);
	return 0;
}

int cmd_info(struct drv *d, FILE *out, bool json)
{
	int rc;

	if (json)
		fprintf(out, "{\n  \"features\": %llu,\n  \"controls_negotiated\": %s,\n"
			"  \"config\": {\"jacks\": %u, \"streams\": %u, \"chmaps\": %u, "
			"\"controls\": %u},\n", (unsigned long long)d->fe.features,
			d->ctls ? "true" : "false", d->jacks, d->streams, d->chmaps, d->controls);
	else
		fprintf(out, "features 0x%llx%s\nconfig: %u jacks, %u streams, %u chmaps, "
			"%u controls\n", (unsigned long long)d->fe.features,
			d->ctls ? " (controls)" : "", d->jacks, d->streams, d->chmaps, d->controls);
	rc = print_jacks(d, out, json);
	if (rc == 0)
		rc = print_streams(d, out, json);
	if (rc == 0)
		rc = print_chmaps(d, out, json);
	if (rc == 0)
		rc = print_controls(d, out, json);
	if (rc == 0 && json)
		fputs("}\n", out);
	return rc;
}
