/* SPDX-License-Identifier: MIT */
/*
 * vsnd-ctl: talk to a running vsnd through its --control socket.
 *
 *   vsnd-ctl SOCKET status [--json]
 *   vsnd-ctl SOCKET jack N plug|unplug
 *   vsnd-ctl SOCKET volume N 0..100
 *   vsnd-ctl SOCKET mute N on|off
 *   vsnd-ctl SOCKET inject N FILE [--mix|--replace] [--loop] | inject N --stop
 *   vsnd-ctl SOCKET tap N FILE [--seconds S] | tap N --stop
 *   vsnd-ctl SOCKET wait N started|stopped|released [--timeout S]
 *
 * Exit status: 0 ok, 1 the daemon refused the command (or wait timed out),
 * 2 usage or connection error.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/mono.h"

#define LINE_MAX_LEN (PATH_MAX + 64)
#define REPLY_MAX 65536
/* How often wait looks at the stream. */
#define WAIT_POLL_NS 5000000L

static void usage(FILE *out)
{
	fputs("Usage: vsnd-ctl SOCKET COMMAND\n"
	      "Talk to a running vsnd through its --control socket.\n"
	      "\n"
	      "Commands:\n"
	      "  status [--json]      streams (state, format, frames, xruns, latency,\n"
	      "                       volume, inject, tap), jacks; --json: one JSON\n"
	      "                       object (schema: man vsnd-ctl)\n"
	      "  jack N plug|unplug   connect or disconnect jack N (the guest sees it)\n"
	      "  volume N 0..100      stream N's volume, 0.5 dB steps, 100 = 0 dB\n"
	      "  mute N on|off        mute or unmute stream N\n"
	      "  inject N FILE [--mix|--replace] [--loop]\n"
	      "                       from now on, capture stream N receives FILE (any\n"
	      "                       file libsndfile reads, converted to the stream's\n"
	      "                       format; bit-exact when it matches) instead of\n"
	      "                       (--replace, the default) or added to (--mix) what\n"
	      "                       the backend captures, until FILE ends (--loop:\n"
	      "                       never); returns when queued\n"
	      "  inject N --stop      end it now\n"
	      "  tap N FILE [--seconds S]\n"
	      "                       from now on, what the guest plays on stream N is\n"
	      "                       also written to FILE, a WAV in the stream's own\n"
	      "                       format (bit-exact, after volume and mute), for S\n"
	      "                       seconds or until stopped; the backend plays on\n"
	      "  tap N --stop         finalize FILE now\n"
	      "  wait N started|stopped|released [--timeout S]\n"
	      "                       return once stream N is in that state, or has\n"
	      "                       entered it since wait began (waits for a frontend\n"
	      "                       to connect too); exit 1 after S seconds\n"
	      "\n"
	      "Exit status: 0 ok, 1 refused (or wait timed out), 2 usage or connection error.\n",
	      out);
}

static int connect_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "vsnd-ctl: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "vsnd-ctl: cannot connect to %s: %s (is vsnd running with "
			"--control %s?)\n", path, strerror(errno), path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Send one line, read the whole answer. Returns its length, or -1 (said). */
static ssize_t ask(const char *sock, const char *line, char *reply, size_t size)
{
	size_t len = 0;
	ssize_t r;
	int fd = connect_to(sock);

	if (fd < 0)
		return -1;
	if (write(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "vsnd-ctl: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	while (len + 1 < size && (r = read(fd, reply + len, size - 1 - len)) > 0)
		len += (size_t)r;
	reply[len] = 0;
	close(fd);
	if (len == 0) {
		fputs("vsnd-ctl: no answer from vsnd\n", stderr);
		return -1;
	}
	return (ssize_t)len;
}

static void append(char *line, const char *word)
{
	size_t l = strlen(line);

	snprintf(line + l, LINE_MAX_LEN - l, "%s%s", l ? " " : "", word);
}

/* The daemon has its own working directory: send FILE absolute. */
static int absolute(const char *path, char *out, size_t size)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return snprintf(out, size, "%s", path) < (int)size ? 0 : -1;
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	return snprintf(out, size, "%s/%s", cwd, path) < (int)size ? 0 : -1;
}

/* inject/tap: "CMD N FILE --opts" with FILE absolute and "--seconds S" as
 * "--seconds=S" (the daemon takes the path as all words before the options). */
static int path_line(int argc, char **argv, char *line)
{
	char abs[PATH_MAX + 1];
	const char *file = NULL;

	append(line, argv[2]);
	append(line, argv[3]);
	for (int i = 4; i < argc; i++) {
		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			char opt[64];

			snprintf(opt, sizeof(opt), "--seconds=%s", argv[++i]);
			append(line, opt);
		} else if (strncmp(argv[i], "--", 2) == 0) {
			append(line, argv[i]);
		} else if (!file) {
			file = argv[i];
		} else {
			return -1;
		}
	}
	if (!file)
		return 0;
	if (absolute(file, abs, sizeof(abs)) < 0) {
		fprintf(stderr, "vsnd-ctl: path too long: %s\n", file);
		return -1;
	}
	/* the path goes right after N, before the options */
	{
		char rest[LINE_MAX_LEN];
		size_t head = strlen(argv[2]) + 1 + strlen(argv[3]);

		snprintf(rest, sizeof(rest), "%s", line + head);
		line[head] = 0;
		append(line, abs);
		snprintf(line + strlen(line), LINE_MAX_LEN - strlen(line), "%s", rest);
	}
	return 0;
}

static double now_s(void)
{
	return (double)vsnd__mono_ns() / 1e9;
}

/* In status --json: stream id's object, or NULL. Its members come in the
 * schema's order, so a name looked up from here is the stream's own (its
 * entered counts and state come before its tap or inject, whose path is
 * escaped and cannot hold a bare quote). */
static const char *stream_json(const char *json, const char *id)
{
	char key[64];

	snprintf(key, sizeof(key), "{\"id\":%s,", id);
	return strstr(json, key);
}

/* The text right after member "name": at or after p, or NULL. */
static const char *member(const char *p, const char *name)
{
	char key[64];

	snprintf(key, sizeof(key), "\"%s\":", name);
	p = p ? strstr(p, key) : NULL;
	return p ? p + strlen(key) : NULL;
}

/* From status --json: is stream id in state want, and how often it entered it. */
static bool stream_look(const char *json, const char *id, const char *want, bool *in_state,
			unsigned long *entered)
{
	const char *st = stream_json(json, id), *state = member(st, "state");
	const char *n = member(member(st, "entered"), want);
	char quoted[32];

	if (!state || !n)
		return false;
	snprintf(quoted, sizeof(quoted), "\"%s\"", want);
	*in_state = strncmp(state, quoted, strlen(quoted)) == 0;
	*entered = strtoul(n, NULL, 10);
	return true;
}

static int run_wait(const char *sock, int argc, char **argv)
{
	static char reply[REPLY_MAX];
	const char *want = argc > 4 ? argv[4] : "";
	double timeout = -1, t0 = now_s();
	unsigned long first = 0, entered;
	bool seen = false, in_state;
	unsigned int id;
	char *end, ids[16];

	id = (unsigned int)strtoul(argc > 3 ? argv[3] : "", &end, 10);
	if (argc < 5 || *end || end == argv[3] ||
	    (strcmp(want, "started") && strcmp(want, "stopped") && strcmp(want, "released")) ||
	    (argc > 5 && (argc != 7 || strcmp(argv[5], "--timeout") ||
			  (timeout = strtod(argv[6], &end)) < 0 || *end))) {
		fputs("vsnd-ctl: usage: wait N started|stopped|released [--timeout S]\n", stderr);
		return 2;
	}
	snprintf(ids, sizeof(ids), "%u", id);
	for (;;) {
		if (ask(sock, "status --json\n", reply, sizeof(reply)) < 0)
			return 2;
		if (stream_look(reply, ids, want, &in_state, &entered)) {
			if (in_state || (seen && entered != first))
				return printf("ok\n") < 0;
			if (!seen)
				first = entered;
			seen = true;
		} else if (strncmp(reply, "error: no frontend", 18) != 0) {
			fprintf(stderr, "vsnd-ctl: no stream %u: %s", id, reply);
			return 1;
		}
		if (timeout >= 0 && now_s() - t0 >= timeout) {
			fprintf(stderr, "vsnd-ctl: stream %u not %s after %g s\n", id, want, timeout);
			return 1;
		}
		nanosleep(&(struct timespec){ 0, WAIT_POLL_NS }, NULL);
	}
}

/* tap N --stop: the WAV is complete once the tap says "done" (vsnd's
 * file thread writes out what it still holds, then finalizes it). */
static int tap_finished(const char *sock, const char *stream)
{
	static char reply[REPLY_MAX];
	double t0 = now_s();

	while (now_s() - t0 < 10) {
		const char *tap, *state;

		if (ask(sock, "status --json\n", reply, sizeof(reply)) < 0)
			return 2;
		tap = member(stream_json(reply, stream), "tap");
		state = tap && strncmp(tap, "null", 4) != 0 ? member(tap, "state") : NULL;
		if (!state || strncmp(state, "\"done\"", 6) == 0)
			return 0;
		nanosleep(&(struct timespec){ 0, WAIT_POLL_NS }, NULL);
	}
	fprintf(stderr, "vsnd-ctl: the tap of stream %s did not finish in 10 s\n", stream);
	return 1;
}

int main(int argc, char **argv)
{
	static char line[LINE_MAX_LEN], reply[REPLY_MAX];
	bool paths;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[2], "wait") == 0)
		return run_wait(argv[1], argc, argv);
	paths = (strcmp(argv[2], "inject") == 0 || strcmp(argv[2], "tap") == 0) && argc > 3;
	if (paths && path_line(argc, argv, line) < 0) {
		fprintf(stderr, "vsnd-ctl: usage: %s N FILE [options] (see vsnd-ctl --help)\n", argv[2]);
		return 2;
	}
	for (int i = 2; !paths && i < argc; i++)
		append(line, argv[i]);
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	if (ask(argv[1], line, reply, sizeof(reply)) < 0)
		return 2;
	fputs(reply, strncmp(reply, "error:", 6) == 0 ? stderr : stdout);
	if (strncmp(reply, "error:", 6) == 0)
		return 1;
	if (strcmp(argv[2], "tap") == 0 && argc == 5 && strcmp(argv[4], "--stop") == 0)
		return tap_finished(argv[1], argv[3]);
	return 0;
}
