/* SPDX-License-Identifier: MIT */
#include "daemon/status.h"

#include <stdbool.h>

#include <vsnd/pcm.h>

#include "daemon/intercept.h"
#include "daemon/sbuf.h"

static const char *fmt_name(unsigned int f)
{
	static const char *const names[VSND_PCM_FMT_COUNT] = {
		"IMA_ADPCM", "MU_LAW", "A_LAW", "S8", "U8", "S16_LE", "U16_LE", "S18_3LE",
		"U18_3LE", "S20_3LE", "U20_3LE", "S24_3LE", "U24_3LE", "S20_LE", "U20_LE",
		"S24_LE", "U24_LE", "S32_LE", "U32_LE", "FLOAT_LE", "FLOAT64_LE", "DSD_U8",
		"DSD_U16_LE", "DSD_U32_LE", "IEC958_SUBFRAME_LE",
	};
	return f < VSND_PCM_FMT_COUNT ? names[f] : "?";
}

static const char *intercept_state(const struct vd_intercept_state *st)
{
	return st->active ? "active" : st->done ? "done" : "finishing";
}

static void status_intercept(struct vd_sbuf *b, struct vd_intercept *ic, unsigned int id, bool tap)
{
	struct vd_intercept_state st;

	if (!ic)
		return;
	vd_intercept_get(ic, id, tap, &st);
	if (!st.path)
		return;
	vd_sbuf_printf(b, "  %s %s%s%s %s %llu frames", tap ? "tap" : "inject", st.path,
		  tap ? "" : (st.mix ? " mix" : " replace"), !tap && st.loop ? " loop" : "",
		  intercept_state(&st), (unsigned long long)st.frames);
	if (st.lost)
		vd_sbuf_printf(b, " (%llu lost)", (unsigned long long)st.lost);
	vd_sbuf_printf(b, "%s%s\n", st.error ? ": " : "", st.error ? st.error : "");
}

size_t vd_status_format(struct vsnd_dev *dev, struct vd_intercept *ic, char *buf, size_t size)
{
	struct vd_sbuf b = { buf, size, 0 };
	unsigned int n = vsnd_dev_stream_count(dev);

	if (size)
		buf[0] = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct vsnd_stream_status st = { .size = sizeof(st) };

		if (vsnd_dev_stream_status(dev, i, &st) < 0)
			continue;
		vd_sbuf_printf(&b, "stream %u %s %s", st.id, st.direction ? "in " : "out",
			  vsnd_stream_state_name(st.state));
		if (st.rate_hz)
			vd_sbuf_printf(&b, " %s %uch %uHz buffer %uB period %uB", fmt_name(st.format),
				  st.channels, st.rate_hz, st.buffer_bytes, st.period_bytes);
		vd_sbuf_printf(&b, " frames %llu xruns %llu held %u latency %uB volume %d%s\n",
			  (unsigned long long)st.frames, (unsigned long long)st.xruns, st.held,
			  st.latency_bytes, st.volume, st.muted ? " muted" : "");
		status_intercept(&b, ic, i, st.direction == VSND_DIR_OUTPUT);
	}
	for (unsigned int j = 0; j < vsnd_dev_jack_count(dev); j++) {
		bool on = false;

		vsnd_dev_jack_get(dev, j, &on);
		vd_sbuf_printf(&b, "jack %u %s\n", j, on ? "plugged" : "unplugged");
	}
	return b.len;
}

/* ---- status --json (schema: man/vsnd-ctl.1.scd) ---- */

static void json_str(struct vd_sbuf *b, const char *s)
{
	if (!s) {
		vd_sbuf_printf(b, "null");
		return;
	}
	vd_sbuf_printf(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			vd_sbuf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			vd_sbuf_printf(b, "\\u%04x", *p);
		else
			vd_sbuf_printf(b, "%c", *p);
	}
	vd_sbuf_printf(b, "\"");
}

static void json_intercept(struct vd_sbuf *b, struct vd_intercept *ic, unsigned int id, bool tap)
{
	struct vd_intercept_state st = { 0 };

	if (ic)
		vd_intercept_get(ic, id, tap, &st);
	vd_sbuf_printf(b, ",\"%s\":", tap ? "tap" : "inject");
	if (!st.path) {
		vd_sbuf_printf(b, "null");
		return;
	}
	vd_sbuf_printf(b, "{\"path\":");
	json_str(b, st.path);
	vd_sbuf_printf(b, ",\"state\":\"%s\",\"frames\":%llu,\"lost\":%llu,\"error\":",
		  intercept_state(&st), (unsigned long long)st.frames, (unsigned long long)st.lost);
	json_str(b, st.error);
	if (!tap)
		vd_sbuf_printf(b, ",\"mode\":\"%s\",\"loop\":%s", st.mix ? "mix" : "replace",
			  st.loop ? "true" : "false");
	vd_sbuf_printf(b, "}");
}

static void json_stream(struct vd_sbuf *b, const struct vsnd_stream_status *st,
			struct vd_intercept *ic)
{
	vd_sbuf_printf(b, "{\"id\":%u,\"direction\":\"%s\",\"state\":\"%s\",", st->id,
		  st->direction == VSND_DIR_OUTPUT ? "output" : "input",
		  vsnd_stream_state_name(st->state));
	if (st->rate_hz)
		vd_sbuf_printf(b, "\"format\":\"%s\",\"channels\":%u,\"rate\":%u,", fmt_name(st->format),
			  st->channels, st->rate_hz);
	else
		vd_sbuf_printf(b, "\"format\":null,\"channels\":null,\"rate\":null,");
	vd_sbuf_printf(b, "\"buffer_bytes\":%u,\"period_bytes\":%u,\"frames\":%llu,\"xruns\":%llu,"
		  "\"held\":%u,\"latency_bytes\":%u,\"completed\":%llu,\"volume\":%d,\"muted\":%s,"
		  "\"entered\":{", st->buffer_bytes, st->period_bytes,
		  (unsigned long long)st->frames, (unsigned long long)st->xruns, st->held,
		  st->latency_bytes, (unsigned long long)st->completed, st->volume,
		  st->muted ? "true" : "false");
	for (unsigned int k = 0; k <= VSND_STATE_RELEASED; k++)
		vd_sbuf_printf(b, "%s\"%s\":%u", k ? "," : "", vsnd_stream_state_name(k), st->entered[k]);
	vd_sbuf_printf(b, "}");
	json_intercept(b, ic, st->id, st->direction == VSND_DIR_OUTPUT);
	vd_sbuf_printf(b, "}");
}

size_t vd_status_json(struct vsnd_dev *dev, struct vd_intercept *ic, char *buf, size_t size)
{
	struct vd_sbuf b = { buf, size, 0 };

	vd_sbuf_printf(&b, "{\"version\":1,\"streams\":[");
	for (unsigned int i = 0; i < vsnd_dev_stream_count(dev); i++) {
		struct vsnd_stream_status st = { .size = sizeof(st) };

		if (vsnd_dev_stream_status(dev, i, &st) == 0) {
			vd_sbuf_printf(&b, "%s", i ? "," : "");
			json_stream(&b, &st, ic);
		}
	}
	vd_sbuf_printf(&b, "],\"jacks\":[");
	for (unsigned int j = 0; j < vsnd_dev_jack_count(dev); j++) {
		bool on = false;

		vsnd_dev_jack_get(dev, j, &on);
		vd_sbuf_printf(&b, "%s{\"id\":%u,\"plugged\":%s}", j ? "," : "", j, on ? "true" : "false");
	}
	vd_sbuf_printf(&b, "]}\n");
	return b.len;
}
