/* SPDX-License-Identifier: MIT */
#include "daemon/control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/listen.h"
#include "daemon/log.h"
#include "util/num.h"

#define CTL_LINE_MAX 256
#define CTL_REPLY_MAX 8192
/* Clients part-way through their line at once; one more evicts the oldest. */
#define CTL_CLIENTS 8

/* A client is read as its bytes come, never waited for: the loop is the
 * device thread, and a guest's control request gets 1 s in all. */
struct ctl_client {
	int fd;                  /* -1: free slot */
	size_t len;
	unsigned long seq;       /* accept order, to find the oldest */
	char line[CTL_LINE_MAX];
};

/* The listener and the clients share an epoll set of their own, whose fd the
 * loop watches: the loop needs to know nothing about clients. */
struct vd_control {
	struct vd_listener l;
	int epfd;
	unsigned long seq;
	struct ctl_client client[CTL_CLIENTS];
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

/* Watch fd in the control's epoll set; the slot index is the tag, and
 * CTL_CLIENTS the listener's. */
static int ctl_watch(struct vd_control *c, int fd, unsigned int tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int vd_control_open(struct vd_control **out, const char *path)
{
	struct vd_control *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	for (unsigned int i = 0; i < CTL_CLIENTS; i++)
		c->client[i].fd = -1;
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0) {
		rc = -errno;
		free(c);
		return rc;
	}
	rc = vd_listen(&c->l, path);
	if (rc == 0)
		rc = ctl_watch(c, c->l.fd, CTL_CLIENTS);
	if (rc < 0) {
		vd_control_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

static void client_close(struct ctl_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd); /* also leaves the epoll set: the fd is not shared */
	cl->fd = -1;
	cl->len = 0;
}

void vd_control_free(struct vd_control *c)
{
	if (!c)
		return;
	for (unsigned int i = 0; i < CTL_CLIENTS; i++)
		client_close(&c->client[i]);
	vd_unlisten(&c->l);
	if (c->epfd >= 0)
		close(c->epfd);
	free(c);
}

int vd_control_fd(const struct vd_control *c)
{
	return c->epfd;
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

/* Answer the line read so far and hang up. A short local answer: a client
 * that does not read it loses it. */
static void client_answer(struct ctl_client *cl, struct vsnd_dev *dev)
{
	char reply[CTL_REPLY_MAX];

	cl->line[cl->len] = 0;
	vd_control_run(dev, cl->line, reply, sizeof(reply));
	if (send(cl->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		vd_log(VSND_LOG_DEBUG, "control: reply not sent: %s", strerror(errno));
	client_close(cl);
}

/* Take what the client sent; answer at the end of its line, at a full
 * buffer, or when it shuts its side with a partial line. */
static void client_read(struct ctl_client *cl, struct vsnd_dev *dev)
{
	ssize_t r = recv(cl->fd, cl->line + cl->len, sizeof(cl->line) - 1 - cl->len, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		if (cl->len)
			client_answer(cl, dev);
		else
			client_close(cl);
		return;
	}
	if (memchr(cl->line + cl->len, '\n', (size_t)r) || cl->len + (size_t)r + 1 >= sizeof(cl->line)) {
		cl->len += (size_t)r;
		client_answer(cl, dev);
		return;
	}
	cl->len += (size_t)r;
}

/* A free slot, or the oldest client's (it is dropped unanswered). */
static struct ctl_client *client_slot(struct vd_control *c)
{
	struct ctl_client *old = &c->client[0];

	for (unsigned int i = 0; i < CTL_CLIENTS; i++) {
		if (c->client[i].fd < 0)
			return &c->client[i];
		if (c->client[i].seq < old->seq)
			old = &c->client[i];
	}
	vd_log(VSND_LOG_DEBUG, "control: %d clients without a full line; dropping the oldest",
	       CTL_CLIENTS);
	client_close(old);
	return old;
}

static void client_accept(struct vd_control *c)
{
	int fd = vd_listener_accept(&c->l);
	struct ctl_client *cl;

	if (fd < 0)
		return;
	cl = client_slot(c);
	if (ctl_watch(c, fd, (unsigned int)(cl - c->client)) < 0) {
		close(fd);
		return;
	}
	*cl = (struct ctl_client){ .fd = fd, .seq = ++c->seq };
}

void vd_control_handle(struct vd_control *c, struct vsnd_dev *dev)
{
	struct epoll_event ev[CTL_CLIENTS + 1];
	int n = epoll_wait(c->epfd, ev, CTL_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		unsigned int tag = ev[i].data.u32;

		if (tag == CTL_CLIENTS)
			client_accept(c);
		else if (c->client[tag].fd >= 0)
			client_read(&c->client[tag], dev);
	}
}
