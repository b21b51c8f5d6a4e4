/* SPDX-License-Identifier: MIT */
#include "daemon/control.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>


#include "daemon/listen.h"
#include "daemon/log.h"
#include "util/num.h"

#define CTL_LINE_MAX 256
#define CTL_REPLY_MAX 8192
#define CTL_CLIENT_WAIT_MS 200

struct vd_control {
	struct vd_listener l;
};

struct sbuf {
	char *p;
	size_t size, len;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len + 1 >= b->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->size - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len = b->len + (size_t)n < b->size ? b->len + (size_t)n : b->size - 1;
}

int vd_control_open(struct vd_control **out, const char *path)
{
	struct vd_control *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	rc = vd_listen(&c->l, path);
	if (rc < 0) {
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void vd_control_free(struct vd_control *c)
{
	if (!c)
		return;
	vd_unlisten(&c->l);
	free(c);
}

int vd_control_fd(const struct vd_control *c)
{
	return c->l.fd;
}

const struct vd_listener *vd_control_listener(const struct vd_control *c)
{
	return &c->l;
}

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

size_t vd_status_format(struct vsnd_dev *dev, char *buf, size_t size)
{
	struct sbuf b = { buf, size, 0 };
	unsigned int n = vsnd_dev_stream_count(dev);

	if (size)
		buf[0] = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct vsnd_stream_status st = { .size = sizeof(st) };

		if (vsnd_dev_stream_status(dev, i, &st) < 0)
			continue;
		sb_printf(&b, "stream %u %s %s", st.id, st.direction ? "in " : "out",
			  vsnd_stream_state_name(st.state));
		if (st.rate_hz)
			sb_printf(&b, " %s %uch %uHz buffer %uB period %uB", fmt_name(st.format),
				  st.channels, st.rate_hz, st.buffer_bytes, st.period_bytes);
		sb_printf(&b, " frames %llu xruns %llu held %u latency %uB volume %d%s\n",
			  (unsigned long long)st.frames, (unsigned long long)st.xruns, st.held,
			  st.latency_bytes, st.volume, st.muted ? " muted" : "");
	}
	for (unsigned int j = 0; j < vsnd_dev_jack_count(dev); j++) {
		bool on = false;

		vsnd_dev_jack_get(dev, j, &on);
		sb_printf(&b, "jack %u %s\n", j, on ? "plugged" : "unplugged");
	}
	return b.len;
}

static int parse_index(const char *s, unsigned int *out)
{
	return s ? vsnd__parse_uint(s, 0, 1000, out) : -EINVAL;
}

/* The commands, apart from parsing; each answers into b. */
static int run_jack(struct vsnd_dev *dev, char **arg, struct sbuf *b)
{
	unsigned int id;
	bool plug;

	if (parse_index(arg[1], &id) || !arg[2] ||
	    (strcmp(arg[2], "plug") != 0 && strcmp(arg[2], "unplug") != 0)) {
		sb_printf(b, "error: usage: jack N plug|unplug\n");
		return -EINVAL;
	}
	plug = strcmp(arg[2], "plug") == 0;
	if (vsnd_dev_jack_set(dev, id, plug) < 0) {
		sb_printf(b, "error: no jack %u (the device has %u)\n", id, vsnd_dev_jack_count(dev));
		return -ENOENT;
	}
	vd_log(VSND_LOG_INFO, "control: jack %u %s", id, plug ? "plugged" : "unplugged");
	return 0;
}

static int run_volume(struct vsnd_dev *dev, char **arg, struct sbuf *b)
{
	unsigned int id, vol;
	int rc;

	if (parse_index(arg[1], &id) || parse_index(arg[2], &vol)) {
		sb_printf(b, "error: usage: volume N 0..100\n");
		return -EINVAL;
	}
	rc = vsnd_dev_volume_set(dev, id, (int)vol);
	if (rc == -ENOENT)
		sb_printf(b, "error: no stream %u\n", id);
	else if (rc)
		sb_printf(b, "error: volume is 0..100 (0.5 dB steps, 100 = 0 dB)\n");
	return rc;
}

static int run_mute(struct vsnd_dev *dev, char **arg, struct sbuf *b)
{
	unsigned int id;

	if (parse_index(arg[1], &id) || !arg[2] ||
	    (strcmp(arg[2], "on") != 0 && strcmp(arg[2], "off") != 0)) {
		sb_printf(b, "error: usage: mute N on|off\n");
		return -EINVAL;
	}
	if (vsnd_dev_mute_set(dev, id, strcmp(arg[2], "on") == 0) < 0) {
		sb_printf(b, "error: no stream %u\n", id);
		return -ENOENT;
	}
	return 0;
}

int vd_control_run(struct vsnd_dev *dev, const char *line, char *buf, size_t size)
{
	struct sbuf b = { buf, size, 0 };
	char copy[CTL_LINE_MAX], *arg[5] = { 0 }, *save = NULL;
	int n = 0, rc;

	if (size)
		buf[0] = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok_r(copy, " \t\r\n", &save); t && n < 4; t = strtok_r(NULL, " \t\r\n", &save))
		arg[n++] = t;
	if (n == 0) {
		sb_printf(&b, "error: empty command (status, jack, volume, mute)\n");
		return -EINVAL;
	}
	if (!dev) {
		sb_printf(&b, "error: no frontend connected\n");
		return -ENODEV;
	}
	if (strcmp(arg[0], "status") == 0) {
		b.len = vd_status_format(dev, buf, size);
		rc = 0;
	} else if (strcmp(arg[0], "jack") == 0) {
		rc = run_jack(dev, arg, &b);
	} else if (strcmp(arg[0], "volume") == 0) {
		rc = run_volume(dev, arg, &b);
	} else if (strcmp(arg[0], "mute") == 0) {
		rc = run_mute(dev, arg, &b);
	} else {
		sb_printf(&b, "error: unknown command '%s' (status, jack, volume, mute)\n", arg[0]);
		return -EINVAL;
	}
	if (rc == 0)
		sb_printf(&b, "ok\n");
	return rc;
}

/* Read one line from a fresh client within the wait budget. */
static ssize_t read_line(int fd, char *line, size_t size)
{
	size_t len = 0;

	while (len + 1 < size) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, CTL_CLIENT_WAIT_MS) <= 0)
			break;
		r = read(fd, line + len, size - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len))
			break;
	}
	line[len] = 0;
	return (ssize_t)len;
}

void vd_control_handle(struct vd_control *c, struct vsnd_dev *dev)
{
	char line[CTL_LINE_MAX], reply[CTL_REPLY_MAX];
	int fd = vd_listener_accept(&c->l);

	if (fd < 0)
		return;
	if (read_line(fd, line, sizeof(line)) > 0) {
		vd_control_run(dev, line, reply, sizeof(reply));
		/* A short local answer: a client that does not read loses it. */
		if (send(fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			vd_log(VSND_LOG_DEBUG, "control: reply not sent: %s", strerror(errno));
	}
	close(fd);
}
