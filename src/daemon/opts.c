/* SPDX-License-Identifier: MIT */
#include "daemon/opts.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <vsnd/backend.h>

#include "daemon/listen.h"
#include "util/num.h"

enum { OPT_PRINT_CAPS = 0x100, OPT_CONTROLS, OPT_SOCKET_FD, OPT_STREAMS, OPT_CONTROL,
       OPT_SANDBOX, OPT_USER, OPT_TRACE };

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, 's' },
	/* the name the vhost-user back-end conventions give it */
	{ "socket-path", required_argument, NULL, 's' },
	{ "socket-fd", required_argument, NULL, OPT_SOCKET_FD },
	/* the vhost-user back-end conventions' name for it */
	{ "fd", required_argument, NULL, OPT_SOCKET_FD },
	{ "backend", required_argument, NULL, 'b' },
	{ "controls", no_argument, NULL, OPT_CONTROLS },
	{ "streams", required_argument, NULL, OPT_STREAMS },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "sandbox", required_argument, NULL, OPT_SANDBOX },
	{ "user", required_argument, NULL, OPT_USER },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "print-capabilities", no_argument, NULL, OPT_PRINT_CAPS },
	{ NULL, 0, NULL, 0 },
};

void vd_opts_fini(struct vd_opts *o)
{
	vsnd_layout_free(o->layout);
	o->layout = NULL;
}

void vd_opts_usage(FILE *out)
{
	fputs("Usage: vsnd (--socket PATH | --socket-fd N) [--backend SPEC] [--controls] [-v|-q]\n"
	      "\n"
	      "A VirtIO sound device for QEMU's vhost-user-snd-pci.\n"
	      "\n"
	      "  -s, --socket PATH        listen for the frontend (QEMU) on this Unix socket\n"
	      "                           (created mode 0600; a stale socket is replaced)\n"
	      "      --socket-fd N        use the inherited socket fd N instead: a listening\n"
	      "                           AF_UNIX socket (never unlinked by vsnd) or one\n"
	      "                           connected frontend (vsnd exits when it leaves);\n"
	      "                           without either, a socket-activated fd 3 (LISTEN_FDS)\n"
	      "  -b, --backend SPEC       host audio, NAME[,key=value...] (see below);\n"
	      "                           default: file in the current directory\n"
	      "      --controls           offer control elements (VIRTIO_SND_F_CTLS); use with\n"
	      "                           QEMU's vhost-user-snd-pci,controls=on\n"
	      "      --streams SPEC       stream layout: a preset (below) or a list like\n"
	      "                           out:2/jack=speaker,out:1-6/nid=1,in:1/jack=mic\n"
	      "                           (keys: nid, jack, rates=44100|48000, formats=s16|s32)\n"
	      "      --control PATH       runtime control socket for vsnd-ctl (mode 0600)\n"
	      "      --sandbox=on|off     seccomp allowlist after setup (default: on, for\n"
	      "                           every backend; off only to debug)\n"
	      "      --user NAME          when started as root: drop to NAME after binding\n"
	      "      --trace FILE         write one line per completed I/O message to FILE:\n"
	      "                           stream id, completion time (ns, CLOCK_MONOTONIC),\n"
	      "                           bytes, latency_bytes; a '#state' line at each\n"
	      "                           stream state change (buffered, flushed at exit)\n"
	      "  -v, --verbose            more log (repeatable)\n"
	      "  -q, --quiet              errors only\n"
	      "      --print-capabilities print the vhost-user capabilities JSON and exit\n"
	      "  -h, --help               this help\n"
	      "  -V, --version            print the version\n"
	      "\n"
	      "Backends in this build:\n",
	      out);
	for (const struct vsnd_backend_ops *const *b = vsnd_backend_list(); *b; b++)
		fprintf(out, "  %-10s %s\n", (*b)->name, (*b)->help ? (*b)->help : "");
	fputs("\nStream layout presets (--streams):\n", out);
	for (unsigned int i = 0;; i++) {
		const char *what, *name = vsnd_layout_presets(i, &what);

		if (!name)
			break;
		fprintf(out, "  %-10s %s\n", name, what);
	}
}

void vd_opts_print_capabilities(FILE *out)
{
	fputs("{\"type\": \"sound\"}\n", out);
}

static bool wants_capabilities(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--print-capabilities") == 0)
			return true;
	return false;
}

/* getopt_long leaves the offending argument at argv[optind - 1]. */
static int bad_option(int c, int argc, char **argv)
{
	const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";

	if (c == ':')
		fprintf(stderr, "vsnd: option '%s' needs an argument\n", arg);
	else if (optopt && optopt < 0x100 && strncmp(arg, "--", 2) != 0)
		fprintf(stderr, "vsnd: unknown option '-%c'\n", optopt);
	else
		fprintf(stderr, "vsnd: unknown option '%s'\n", arg);
	fputs("Try 'vsnd --help'.\n", stderr);
	return -EINVAL;
}

/* Without --socket and --socket-fd: a socket systemd passed, or an error. */
static int use_activation(struct vd_opts *o)
{
	int n = vd_listen_fds();

	if (n < 0) {
		fputs("vsnd: malformed LISTEN_PID/LISTEN_FDS in the environment\n", stderr);
		return -EINVAL;
	}
	if (n > 1) {
		fprintf(stderr, "vsnd: socket activation passed %d sockets; vsnd serves one "
			"(one ListenStream= per socket unit)\n", n);
		return -EINVAL;
	}
	if (n == 0) {
		fputs("vsnd: --socket PATH is required (or --socket-fd N, or systemd socket "
		      "activation)\nTry 'vsnd --help'.\n", stderr);
		return -EINVAL;
	}
	o->socket_fd = VD_LISTEN_FDS_START;
	o->socket_activated = true;
	return 0;
}

/* --sandbox=on|off; auto, the default of old (on for some backends), is
 * now on, for scripts that still say it. */
static int parse_sandbox(const char *arg, enum vd_sandbox_mode *mode)
{
	if (!strcmp(arg, "on"))
		*mode = VD_SANDBOX_ON;
	else if (!strcmp(arg, "off"))
		*mode = VD_SANDBOX_OFF;
	else if (!strcmp(arg, "auto"))
		*mode = VD_SANDBOX_ON;
	else {
		fprintf(stderr, "vsnd: option '--sandbox' takes on or off, not '%s'\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* N of --socket-fd: a decimal fd number. */
static int parse_fd(const char *arg, int *fd)
{
	unsigned int v;

	if (vsnd__parse_uint(arg, 0, INT_MAX, &v) < 0) {
		fprintf(stderr, "vsnd: option '--socket-fd' needs a file descriptor number, "
			"not '%s'\n", arg);
		return -EINVAL;
	}
	*fd = (int)v;
	return 0;
}

static int check(struct vd_opts *o, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr, "vsnd: unexpected argument '%s'\nTry 'vsnd --help'.\n", argv[optind]);
		return -EINVAL;
	}
	if (o->socket_path && o->socket_fd >= 0) {
		fputs("vsnd: give either --socket or --socket-fd, not both\n", stderr);
		return -EINVAL;
	}
	if (!o->help && !o->version && !o->socket_path && o->socket_fd < 0 &&
	    use_activation(o) < 0)
		return -EINVAL;
	if (o->socket_path && !o->socket_path[0]) {
		fputs("vsnd: option '--socket' needs a non-empty path\n", stderr);
		return -EINVAL;
	}
	if (o->streams) {
		char err[200];

		if (vsnd_layout_new(&o->layout, o->streams, err, sizeof(err)) < 0) {
			fprintf(stderr, "vsnd: --streams: %s\n", err);
			return -EINVAL;
		}
	}
	if (o->control_path && !o->control_path[0]) {
		fputs("vsnd: option '--control' needs a non-empty path\n", stderr);
		return -EINVAL;
	}
	if (o->trace_path && !o->trace_path[0]) {
		fputs("vsnd: option '--trace' needs a non-empty path\n", stderr);
		return -EINVAL;
	}
	if (o->backend && !o->backend[0]) {
		fputs("vsnd: option '--backend' needs a backend name\n", stderr);
		return -EINVAL;
	}
	return 0;
}

int vd_opts_parse(struct vd_opts *o, int argc, char **argv)
{
	int verbose = 0, c;
	bool quiet = false;

	memset(o, 0, sizeof(*o));
	o->socket_fd = -1;
	if (wants_capabilities(argc, argv)) {
		o->print_caps = true;
		return 0;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":s:b:vqhV", long_opts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket_path = optarg; break;
		case OPT_SOCKET_FD:
			if (parse_fd(optarg, &o->socket_fd) < 0)
				return -EINVAL;
			break;
		case 'b': o->backend = optarg; break;
		case OPT_CONTROLS: o->controls = true; break;
		case OPT_STREAMS: o->streams = optarg; break;
		case OPT_CONTROL: o->control_path = optarg; break;
		case OPT_SANDBOX:
			if (parse_sandbox(optarg, &o->sandbox) < 0)
				return -EINVAL;
			break;
		case OPT_USER: o->user = optarg; break;
		case OPT_TRACE: o->trace_path = optarg; break;
		case 'v': verbose++; break;
		case 'q': quiet = true; break;
		case 'h': o->help = true; break;
		case 'V': o->version = true; break;
		default: return bad_option(c, argc, argv);
		}
	}
	if (quiet)
		o->log_level = VSND_LOG_ERROR;
	else
		o->log_level = verbose >= 1 ? VSND_LOG_DEBUG : VSND_LOG_INFO;
	return check(o, argc, argv);
}
