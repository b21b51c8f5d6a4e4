/* SPDX-License-Identifier: MIT */
#include "daemon/control.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/intercept.h"
#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/sbuf.h"
#include "daemon/status.h"
#include "util/num.h"

/* A line holds a command and a path (inject, tap). */
#define CTL_LINE_MAX (PATH_MAX + 64)
#define CTL_REPLY_MAX 32768
/* Options after a path (inject N PATH --mix --loop). */
#define CTL_OPTS_MAX 4
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

static int parse_index(const char *s, unsigned int *out)
{
	return s ? vsnd__parse_uint(s, 0, 1000, out) : -EINVAL;
}

/* The commands, apart from parsing; each answers into b. */
static int run_jack(struct vsnd_dev *dev, char **arg, struct vd_sbuf *b)
{
	unsigned int id;
	bool plug;

	if (parse_index(arg[1], &id) || !arg[2] ||
	    (strcmp(arg[2], "plug") != 0 && strcmp(arg[2], "unplug") != 0)) {
		vd_sbuf_printf(b, "error: usage: jack N plug|unplug\n");
		return -EINVAL;
	}
	plug = strcmp(arg[2], "plug") == 0;
	if (vsnd_dev_jack_set(dev, id, plug) < 0) {
		vd_sbuf_printf(b, "error: no jack %u (the device has %u)\n", id, vsnd_dev_jack_count(dev));
		return -ENOENT;
	}
	vd_log(VSND_LOG_INFO, "control: jack %u %s", id, plug ? "plugged" : "unplugged");
	return 0;
}

static int run_volume(struct vsnd_dev *dev, char **arg, struct vd_sbuf *b)
{
	unsigned int id, vol;
	int rc;

	if (parse_index(arg[1], &id) || parse_index(arg[2], &vol)) {
		vd_sbuf_printf(b, "error: usage: volume N 0..100\n");
		return -EINVAL;
	}
	rc = vsnd_dev_volume_set(dev, id, (int)vol);
	if (rc == -ENOENT)
		vd_sbuf_printf(b, "error: no stream %u\n", id);
	else if (rc)
		vd_sbuf_printf(b, "error: volume is 0..100 (0.5 dB steps, 100 = 0 dB)\n");
	return rc;
}

static int run_mute(struct vsnd_dev *dev, char **arg, struct vd_sbuf *b)
{
	unsigned int id;

	if (parse_index(arg[1], &id) || !arg[2] ||
	    (strcmp(arg[2], "on") != 0 && strcmp(arg[2], "off") != 0)) {
		vd_sbuf_printf(b, "error: usage: mute N on|off\n");
		return -EINVAL;
	}
	if (vsnd_dev_mute_set(dev, id, strcmp(arg[2], "on") == 0) < 0) {
		vd_sbuf_printf(b, "error: no stream %u\n", id);
		return -ENOENT;
	}
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * "CMD N PATH [--opt[=VALUE]]...": the path is everything between N and
 * the options, spaces included (a path with spaces needs no quoting).
 * Splits rest (modified) into the path and up to CTL_OPTS_MAX options.
 */
static int split_path(char *rest, char **path, char **opt, unsigned int *n_opt)
{
	char *end = rest + strlen(rest);

	*n_opt = 0;
	for (;;) {
		char *w;

		while (end > rest && is_space(end[-1]))
			*--end = 0;
		w = end;
		while (w > rest && !is_space(w[-1]))
			w--;
		if (w == end || strncmp(w, "--", 2) != 0)
			break;
		if (*n_opt == CTL_OPTS_MAX)
			return -EINVAL;
		opt[(*n_opt)++] = w;
		end = w;
	}
	while (is_space(*rest))
		rest++;
	*path = rest;
	return 0;
}

/* The words after "CMD N " in line (copied into buf): the path and options. */
static char *after_two_words(const char *line, char *buf, size_t size)
{
	const char *p = line;

	for (int w = 0; w < 2; w++) {
		while (is_space(*p))
			p++;
		while (*p && !is_space(*p))
			p++;
	}
	snprintf(buf, size, "%s", p);
	return buf;
}

static const char inject_usage[] =
	"error: usage: inject N FILE [--mix|--replace] [--loop] | inject N --stop\n";
static const char tap_usage[] = "error: usage: tap N FILE [--seconds=S] | tap N --stop\n";

struct path_cmd {
	unsigned int id;
	char *path;            /* "" with --stop */
	bool stop, mix, loop;
	double seconds;
};

static int parse_opt(struct path_cmd *pc, const char *o, bool tap)
{
	char *end;

	if (strcmp(o, "--stop") == 0)
		pc->stop = true;
	else if (!tap && (strcmp(o, "--mix") == 0 || strcmp(o, "--replace") == 0))
		pc->mix = o[2] == 'm';
	else if (!tap && strcmp(o, "--loop") == 0)
		pc->loop = true;
	else if (tap && strncmp(o, "--seconds=", 10) == 0) {
		pc->seconds = strtod(o + 10, &end);
		if (end == o + 10 || *end || !(pc->seconds > 0))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse_path_cmd(const char *line, char **arg, bool tap, char *buf, size_t size,
			  struct path_cmd *pc)
{
	char *opt[CTL_OPTS_MAX];
	unsigned int n_opt;

	*pc = (struct path_cmd){ 0 };
	if (parse_index(arg[1], &pc->id) ||
	    split_path(after_two_words(line, buf, size), &pc->path, opt, &n_opt) < 0)
		return -EINVAL;
	for (unsigned int i = 0; i < n_opt; i++)
		if (parse_opt(pc, opt[i], tap) < 0)
			return -EINVAL;
	/* exactly one of a path and --stop */
	return (*pc->path != 0) != pc->stop ? 0 : -EINVAL;
}

/* inject (tap false) or tap, with a path or --stop. */
static int run_path_cmd(struct vd_intercept *ic, const char *line, char **arg, bool tap,
			struct vd_sbuf *b)
{
	char buf[CTL_LINE_MAX], why[512];
	struct path_cmd pc;
	int rc;

	if (parse_path_cmd(line, arg, tap, buf, sizeof(buf), &pc) < 0) {
		vd_sbuf_printf(b, "%s", tap ? tap_usage : inject_usage);
		return -EINVAL;
	}
	if (tap)
		rc = pc.stop ? vd_intercept_tap_stop(ic, pc.id, why, sizeof(why)) :
			       vd_intercept_tap(ic, pc.id, pc.path, pc.seconds, why, sizeof(why));
	else
		rc = pc.stop ? vd_intercept_inject_stop(ic, pc.id, why, sizeof(why)) :
			       vd_intercept_inject(ic, pc.id, pc.path, pc.mix, pc.loop, why,
						   sizeof(why));
	if (rc < 0)
		vd_sbuf_printf(b, "error: %s\n", why);
	return rc;
}

#define CTL_COMMANDS "status [--json], jack, volume, mute, inject, tap"

int vd_control_run(struct vsnd_dev *dev, struct vd_intercept *ic, const char *line, char *buf,
		   size_t size)
{
	struct vd_sbuf b = { buf, size, 0 };
	char copy[CTL_LINE_MAX], *arg[5] = { 0 }, *save = NULL;
	int n = 0, rc;

	if (size)
		buf[0] = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	for (char *t = strtok_r(copy, " \t\r\n", &save); t && n < 4; t = strtok_r(NULL, " \t\r\n", &save))
		arg[n++] = t;
	if (n == 0) {
		vd_sbuf_printf(&b, "error: empty command (" CTL_COMMANDS ")\n");
		return -EINVAL;
	}
	if (!dev) {
		vd_sbuf_printf(&b, "error: no frontend connected\n");
		return -ENODEV;
	}
	if (strcmp(arg[0], "status") == 0 && arg[1] && strcmp(arg[1], "--json") == 0) {
		b.len = vd_status_json(dev, ic, buf, size);
		return 0; /* the JSON is the whole answer */
	} else if (strcmp(arg[0], "status") == 0) {
		b.len = vd_status_format(dev, ic, buf, size);
		rc = 0;
	} else if (strcmp(arg[0], "jack") == 0) {
		rc = run_jack(dev, arg, &b);
	} else if (strcmp(arg[0], "volume") == 0) {
		rc = run_volume(dev, arg, &b);
	} else if (strcmp(arg[0], "mute") == 0) {
		rc = run_mute(dev, arg, &b);
	} else if ((strcmp(arg[0], "inject") == 0 || strcmp(arg[0], "tap") == 0) && ic) {
		rc = run_path_cmd(ic, line, arg, arg[0][0] == 't', &b);
	} else {
		vd_sbuf_printf(&b, "error: unknown command '%s' (" CTL_COMMANDS ")\n", arg[0]);
		return -EINVAL;
	}
	if (rc == 0)
		vd_sbuf_printf(&b, "ok\n");
	return rc;
}

/* Answer the line read so far and hang up. A short local answer: a client
 * that does not read it loses it. */
static void client_answer(struct ctl_client *cl, struct vsnd_dev *dev, struct vd_intercept *ic)
{
	static char reply[CTL_REPLY_MAX]; /* the loop thread's only */

	cl->line[cl->len] = 0;
	vd_control_run(dev, ic, cl->line, reply, sizeof(reply));
	if (send(cl->fd, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		vd_log(VSND_LOG_DEBUG, "control: reply not sent: %s", strerror(errno));
	client_close(cl);
}

/* Take what the client sent; answer at the end of its line, at a full
 * buffer, or when it shuts its side with a partial line. */
static void client_read(struct ctl_client *cl, struct vsnd_dev *dev, struct vd_intercept *ic)
{
	ssize_t r = recv(cl->fd, cl->line + cl->len, sizeof(cl->line) - 1 - cl->len, MSG_DONTWAIT);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		if (cl->len)
			client_answer(cl, dev, ic);
		else
			client_close(cl);
		return;
	}
	if (memchr(cl->line + cl->len, '\n', (size_t)r) || cl->len + (size_t)r + 1 >= sizeof(cl->line)) {
		cl->len += (size_t)r;
		client_answer(cl, dev, ic);
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

void vd_control_handle(struct vd_control *c, struct vsnd_dev *dev, struct vd_intercept *ic)
{
	struct epoll_event ev[CTL_CLIENTS + 1];
	int n = epoll_wait(c->epfd, ev, CTL_CLIENTS + 1, 0);

	for (int i = 0; i < n; i++) {
		unsigned int tag = ev[i].data.u32;

		if (tag == CTL_CLIENTS)
			client_accept(c);
		else if (c->client[tag].fd >= 0)
			client_read(&c->client[tag], dev, ic);
	}
}
