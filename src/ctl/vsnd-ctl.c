/* SPDX-License-Identifier: MIT */
/*
 * vsnd-ctl: talk to a running vsnd through its --control socket.
 *
 *   vsnd-ctl SOCKET status
 *   vsnd-ctl SOCKET jack N plug|unplug
 *   vsnd-ctl SOCKET volume N 0..100
 *   vsnd-ctl SOCKET mute N on|off
 *
 * Exit status: 0 ok, 1 the daemon refused the command, 2 usage or
 * connection error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("Usage: vsnd-ctl SOCKET COMMAND\n"
	      "Talk to a running vsnd through its --control socket.\n"
	      "\n"
	      "Commands:\n"
	      "  status               streams (state, format, frames, xruns, latency,\n"
	      "                       volume), jacks\n"
	      "  jack N plug|unplug   connect or disconnect jack N (the guest sees it)\n"
	      "  volume N 0..100      stream N's volume, 0.5 dB steps, 100 = 0 dB\n"
	      "  mute N on|off        mute or unmute stream N\n",
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

int main(int argc, char **argv)
{
	char line[256] = "", reply[8192];
	size_t len = 0;
	ssize_t r;
	int fd;

	if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		size_t l = strlen(line);
		snprintf(line + l, sizeof(line) - l, "%s%s", i > 2 ? " " : "", argv[i]);
	}
	strncat(line, "\n", sizeof(line) - strlen(line) - 1);
	fd = connect_to(argv[1]);
	if (fd < 0)
		return 2;
	if (write(fd, line, strlen(line)) < 0) {
		fprintf(stderr, "vsnd-ctl: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	while (len + 1 < sizeof(reply) && (r = read(fd, reply + len, sizeof(reply) - 1 - len)) > 0)
		len += (size_t)r;
	reply[len] = 0;
	close(fd);
	fputs(reply, strncmp(reply, "error:", 6) == 0 ? stderr : stdout);
	if (len == 0) {
		fputs("vsnd-ctl: no answer from vsnd\n", stderr);
		return 2;
	}
	return strncmp(reply, "error:", 6) == 0 ? 1 : 0;
}
