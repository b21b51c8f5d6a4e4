/* SPDX-License-Identifier: MIT */
/*
 * Stream layouts: presets and the --streams language.
 *
 *   SPEC   := PRESET | STREAM ("," STREAM)*
 *   STREAM := ("out" | "in") ":" CH ["-" CH] ("/" KEY "=" VALUE)*
 *   KEY    := nid    (HDA function group: streams sharing one become
 *                     substreams of one guest PCM device, numbered by nid)
 *           | jack   (lineout | speaker | headphone | mic | linein | none)
 *           | rates  (Hz, "|"-separated: 44100|48000)
 *           | formats (s16|s32|float ...)
 *
 * Each stream gets a jack (unless jack=none) of a type that fits its
 * direction, and each (nid, direction) gets the standard channel maps for
 * every channel count in its range. An error names the stream and the part
 * that is wrong.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev.h"

struct preset {
	const char *name;
	const char *spec;
	const char *what;
};

static const struct preset presets[] = {
	{ "stereo", "out:1-2,in:1-2", "one stereo output, one stereo input (default)" },
	{ "mono", "out:1,in:1", "one mono output, one mono input" },
	{ "2.1", "out:1-3,in:1-2", "2.1 output, stereo input" },
	{ "quad", "out:1-4,in:1-2", "quadraphonic output, stereo input" },
	{ "5.1", "out:1-6,in:1-2", "5.1 output, stereo input" },
	{ "7.1", "out:1-8,in:1-2", "7.1 output, stereo input" },
	{ "car", "out:2/nid=0/jack=speaker,out:2/nid=1/jack=speaker,out:2/nid=2/jack=headphone,"
		 "out:1/nid=3/jack=speaker,in:1/nid=0/jack=mic,in:2/nid=1/jack=linein",
	  "head unit: front, rear, rear headphones, voice prompts; cabin mic, aux in" },
};

struct jack_type {
	const char *name;
	uint8_t direction;
	uint32_t defconf;  /* HDA pin default configuration */
	uint32_t caps;     /* HDA pin capabilities */
};

/* Default-device field (bits 23:20) is what the guest names the jack by. */
static const struct jack_type jack_types[] = {
	/* jack, rear, Line Out, 1/8", green */
	{ "lineout", VSND_DIR_OUTPUT, 0x01014010, 0x14 },
	/* fixed, internal, Speaker */
	{ "speaker", VSND_DIR_OUTPUT, 0x90170110, 0x14 },
	/* jack, front, HP Out, 1/8", green; headphone drive capable */
	{ "headphone", VSND_DIR_OUTPUT, 0x0221401f, 0x1c },
	/* jack, rear, Mic In, 1/8", pink */
	{ "mic", VSND_DIR_INPUT, 0x01a19020, 0x24 },
	/* jack, rear, Line In, 1/8", blue */
	{ "linein", VSND_DIR_INPUT, 0x01813030, 0x24 },
};

static const char *const format_names[VSND_PCM_FMT_COUNT] = {
	"ima_adpcm", "mu_law", "a_law", "s8", "u8", "s16", "u16", "s18_3", "u18_3",
	"s20_3", "u20_3", "s24_3", "u24_3", "s20", "u20", "s24", "u24", "s32", "u32",
	"float", "float64", "dsd_u8", "dsd_u16", "dsd_u32", "iec958_subframe",
};

/* ALSA's standard positions for 1..8 channels; past 8, the extra speakers
 * follow in a fixed order. */
static void chmap_positions(uint8_t channels, uint8_t *pos)
{
	static const uint8_t std[8][8] = {
		{ VIRTIO_SND_CHMAP_MONO },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_LFE },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
		  VIRTIO_SND_CHMAP_FC },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
		  VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
		  VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE, VIRTIO_SND_CHMAP_RC },
		{ VIRTIO_SND_CHMAP_FL, VIRTIO_SND_CHMAP_FR, VIRTIO_SND_CHMAP_RL, VIRTIO_SND_CHMAP_RR,
		  VIRTIO_SND_CHMAP_FC, VIRTIO_SND_CHMAP_LFE, VIRTIO_SND_CHMAP_SL, VIRTIO_SND_CHMAP_SR },
	};
	static const uint8_t extra[10] = {
		VIRTIO_SND_CHMAP_FLC, VIRTIO_SND_CHMAP_FRC, VIRTIO_SND_CHMAP_RLC, VIRTIO_SND_CHMAP_RRC,
		VIRTIO_SND_CHMAP_FLW, VIRTIO_SND_CHMAP_FRW, VIRTIO_SND_CHMAP_FLH, VIRTIO_SND_CHMAP_FCH,
		VIRTIO_SND_CHMAP_FRH, VIRTIO_SND_CHMAP_TC,
	};

	memset(pos, 0, VSND_MAX_CHANNELS);
	for (unsigned int i = 0; i < channels && i < VSND_MAX_CHANNELS; i++)
		pos[i] = channels <= 8 ? std[channels - 1][i] : i < 8 ? std[7][i] : extra[i - 8];
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	char buf[16], *end;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	*out = strtoul(buf, &end, 10);
	return *end || *out > max ? -EINVAL : 0;
}

static bool word_eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncmp(s, word, len) == 0;
}

/* Parse "a|b|c" with item(); returns the bitmap or 0 on a bad item. */
static uint64_t parse_set(const char *s, size_t len, int (*item)(const char *, size_t))
{
	uint64_t set = 0;

	while (len) {
		const char *bar = memchr(s, '|', len);
		size_t l = bar ? (size_t)(bar - s) : len;
		int bit = item(s, l);

		if (bit < 0)
			return 0;
		set |= 1ull << bit;
		if (!bar)
			break;
		len -= l + 1;
		s = bar + 1;
	}
	return set;
}

static int rate_item(const char *s, size_t len)
{
	unsigned long hz;

	if (parse_uint(s, len, 1000000, &hz))
		return -1;
	for (unsigned int r = 0; r < VSND_PCM_RATE_COUNT; r++)
		if (vsnd_pcm_rate_hz(r) == hz)
			return (int)r;
	return -1;
}

static int format_item(const char *s, size_t len)
{
	for (unsigned int f = 0; f < VSND_PCM_FMT_COUNT; f++)
		if (word_eq(s, len, format_names[f]))
			return (int)f;
	return -1;
}

struct stream_spec {
	struct vsnd_stream_desc d;
	int jack;     /* index into jack_types, -1 none */
};

static int parse_channels(const char *s, size_t len, struct vsnd_stream_desc *d)
{
	const char *dash = memchr(s, '-', len);
	unsigned long lo, hi;

	if (dash) {
		if (parse_uint(s, (size_t)(dash - s), VSND_MAX_CHANNELS, &lo) ||
		    parse_uint(dash + 1, len - (size_t)(dash - s) - 1, VSND_MAX_CHANNELS, &hi))
			return -EINVAL;
	} else {
		if (parse_uint(s, len, VSND_MAX_CHANNELS, &hi))
			return -EINVAL;
		lo = hi;
	}
	if (lo < 1 || lo > hi)
		return -EINVAL;
	d->channels_min = (uint8_t)lo;
	d->channels_max = (uint8_t)hi;
	return 0;
}

static int parse_key(const char *kv, size_t len, struct stream_spec *st, const char **what)
{
	const char *eq = memchr(kv, '=', len);
	size_t kl, vl;
	const char *v;
	unsigned long n;

	if (!eq) {
		*what = "expected KEY=VALUE";
		return -EINVAL;
	}
	kl = (size_t)(eq - kv);
	v = eq + 1;
	vl = len - kl - 1;
	if (word_eq(kv, kl, "nid")) {
		*what = "nid must be 0..255";
		if (parse_uint(v, vl, 255, &n))
			return -EINVAL;
		st->d.hda_fn_nid = (uint32_t)n;
	} else if (word_eq(kv, kl, "rates")) {
		*what = "rates: Hz values from 5512 to 384000 that VirtIO defines, '|'-separated";
		st->d.rates = parse_set(v, vl, rate_item);
		if (!st->d.rates)
			return -EINVAL;
		*what = "rates: a Linux guest can use none of these (it maps 5512 to 192000; "
			"384000 only recent drivers, 12000 and 24000 none): add one of 5512..192000";
		if (!(st->d.rates & VIRTIO_SND_PCM_RATES_LINUX))
			return -EINVAL;
	} else if (word_eq(kv, kl, "formats")) {
		*what = "formats: names like s16|s24_3|s32|float, '|'-separated";
		st->d.formats = parse_set(v, vl, format_item);
		if (!st->d.formats)
			return -EINVAL;
	} else if (word_eq(kv, kl, "jack")) {
		*what = "jack: lineout, speaker, headphone (outputs), mic, linein (inputs) or none";
		st->jack = -2;
		if (word_eq(v, vl, "none"))
			st->jack = -1;
		for (unsigned int i = 0; i < sizeof(jack_types) / sizeof(jack_types[0]); i++)
			if (word_eq(v, vl, jack_types[i].name) &&
			    jack_types[i].direction == st->d.direction)
				st->jack = (int)i;
		if (st->jack == -2)
			return -EINVAL;
	} else {
		*what = "unknown key (nid, jack, rates, formats)";
		return -EINVAL;
	}
	return 0;
}

static int parse_stream(const char *s, size_t len, struct stream_spec *st, const char **what)
{
	const char *colon = memchr(s, ':', len);
	const char *p, *end = s + len;
	size_t l;

	memset(st, 0, sizeof(*st));
	st->d.formats = ~0ull;
	st->d.rates = ~0ull;
	*what = "expected out:CHANNELS or in:CHANNELS";
	if (!colon)
		return -EINVAL;
	if (word_eq(s, (size_t)(colon - s), "out"))
		st->d.direction = VSND_DIR_OUTPUT;
	else if (word_eq(s, (size_t)(colon - s), "in"))
		st->d.direction = VSND_DIR_INPUT;
	else
		return -EINVAL;
	st->jack = st->d.direction == VSND_DIR_OUTPUT ? 0 : 3;
	p = colon + 1;
	l = (size_t)(end - p);
	{
		const char *slash = memchr(p, '/', l);
		size_t cl = slash ? (size_t)(slash - p) : l;

		*what = "channels: N or MIN-MAX within 1..18";
		if (parse_channels(p, cl, &st->d))
			return -EINVAL;
		p += cl;
	}
	while (p < end) {
		const char *next;

		p++; /* the '/' */
		next = memchr(p, '/', (size_t)(end - p));
		if (!next)
			next = end;
		if (parse_key(p, (size_t)(next - p), st, what))
			return -EINVAL;
		p = next;
	}
	return 0;
}

/* One chmap per channel count of each (nid, direction) group. A mono map
 * only for a mono-only group: a 1-2 channel stream gets just the stereo
 * map, so the default layout has one map per direction. */
static int add_chmaps(struct vsnd_layout *l, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < l->n_streams; i++) {
		const struct vsnd_stream_desc *d = &l->streams[i];
		unsigned int lo = d->channels_min;

		if (lo == 1 && d->channels_max > 1)
			lo = 2;
		for (unsigned int ch = lo; ch <= d->channels_max; ch++) {
			bool have = false;

			for (unsigned int k = 0; k < l->n_chmaps; k++)
				have |= l->chmaps[k].hda_fn_nid == d->hda_fn_nid &&
					l->chmaps[k].direction == d->direction &&
					l->chmaps[k].channels == ch;
			if (have)
				continue;
			if (l->n_chmaps == VSND_MAX_CHMAPS)
				return fail(err, errlen, "more than %d channel maps", VSND_MAX_CHMAPS);
			struct vsnd_chmap_desc *m = &l->chmaps[l->n_chmaps++];
			m->hda_fn_nid = d->hda_fn_nid;
			m->direction = d->direction;
			m->channels = (uint8_t)ch;
			chmap_positions((uint8_t)ch, m->positions);
		}
	}
	return 0;
}

int vsnd__layout_parse(struct vsnd_layout *l, const char *spec, char *err, size_t errlen)
{
	const char *p = spec;
	unsigned int idx = 0;

	if (!spec || !*spec)
		return fail(err, errlen, "empty stream layout");
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(spec, presets[i].name) == 0)
			return vsnd__layout_parse(l, presets[i].spec, err, errlen);
	memset(l, 0, sizeof(*l));
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		struct stream_spec st;
		const char *what = "";

		idx++;
		if (l->n_streams == VSND_MAX_STREAMS)
			return fail(err, errlen, "more than %d streams", VSND_MAX_STREAMS);
		if (parse_stream(p, len, &st, &what))
			return fail(err, errlen, "stream %u ('%.*s'): %s", idx, (int)len, p, what);
		l->streams[l->n_streams++] = st.d;
		if (st.jack >= 0) {
			const struct jack_type *j = &jack_types[st.jack];

			l->jacks[l->n_jacks++] = (struct vsnd_jack_desc){
				.hda_fn_nid = st.d.hda_fn_nid,
				.hda_reg_defconf = j->defconf,
				.hda_reg_caps = j->caps,
				.connected = true,
			};
		}
		if (!comma)
			break;
		p = comma + 1;
		if (!*p)
			return fail(err, errlen, "trailing ',' after stream %u", idx);
	}
	return add_chmaps(l, err, errlen);
}

void vsnd__layout_default(struct vsnd_layout *l)
{
	int rc = vsnd__layout_parse(l, "stereo", NULL, 0);

	(void)rc; /* the preset is valid (tested) */
}

int vsnd_layout_new(struct vsnd_layout **out, const char *spec, char *err, size_t errlen)
{
	struct vsnd_layout *l = calloc(1, sizeof(*l));
	int rc;

	*out = NULL;
	if (!l) {
		(void)fail(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = vsnd__layout_parse(l, spec && *spec ? spec : "stereo", err, errlen);
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

void vsnd_layout_free(struct vsnd_layout *l)
{
	free(l);
}

unsigned int vsnd_layout_stream_count(const struct vsnd_layout *l)
{
	return l->n_streams;
}

int vsnd_layout_stream_direction(const struct vsnd_layout *l, unsigned int i)
{
	return i < l->n_streams ? l->streams[i].direction : -ENOENT;
}

const char *vsnd_layout_presets(unsigned int i, const char **what)
{
	if (i >= sizeof(presets) / sizeof(presets[0]))
		return NULL;
	if (what)
		*what = presets[i].what;
	return presets[i].name;
}
