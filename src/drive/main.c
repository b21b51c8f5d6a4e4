/* SPDX-License-Identifier: MIT */
/* vsnd-drive: a user-space virtio-snd driver over vhost-user. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vsnd/vsnd.h>

#include "drive/cmd.h"
#include "util/num.h"

static void usage(FILE *out)
{
	fputs("Usage: vsnd-drive SOCKET COMMAND [options]\n"
	      "\n"
	      "Connects to a vhost-user sound back-end as the frontend and the guest driver.\n"
	      "\n"
	      "Commands:\n"
	      "  info [--json]                     config, jacks, streams, channel maps, controls\n"
	      "  play FILE [--stream N] [--period-ms X] [--periods N] [--ctl-probe N [--json]]\n"
	      "                                    play a WAV file, paced by the device\n"
	      "  record FILE --seconds S [--stream N] [--rate HZ] [--channels N]\n"
	      "                                    capture S seconds of S16 audio into a WAV file\n"
	      "  check [--controls] [--jack-cmd CMD]\n"
	      "                                    conformance run: PASS/FAIL per clause, exit 1 on\n"
	      "                                    any FAIL\n"
	      "  hold --seconds S                  prepare every stream, leave them idle S seconds,\n"
	      "                                    release them (to measure an idle device)\n"
	      "\n"
	      "Options:\n"
	      "      --controls     negotiate VIRTIO_SND_F_CTLS when offered\n"
	      "      --jack-cmd CMD a shell command that plugs/unplugs a jack on the host,\n"
	      "                     run as 'CMD N unplug' and 'CMD N plug' (for example\n"
	      "                     'vsnd-ctl /run/vsnd.ctl jack'); checks the jack events\n"
	      "      --ctl-probe N  play: every 10 ms, time a PCM_INFO query and a SET_PARAMS,\n"
	      "                     PREPARE, START, STOP, RELEASE cycle on stream N; print\n"
	      "                     the round trips (p50/p99/max) and the play's wall time\n"
	      "  -q, --quiet        no progress line\n"
	      "  -h, --help         this help\n"
	      "  -V, --version      print the version\n", out);
}

enum { OPT_JSON = 256, OPT_CONTROLS, OPT_STREAM, OPT_PERIOD_MS, OPT_PERIODS, OPT_SECONDS,
       OPT_RATE, OPT_CHANNELS, OPT_JACK_CMD, OPT_CTL_PROBE };

static int parse_opt(int c, struct cmd_opts *o)
{
	unsigned int v;
	char *end;

	switch (c) {
	case OPT_JSON: o->json = true; return 0;
	case OPT_CONTROLS: o->controls = true; return 0;
	case OPT_JACK_CMD: o->jack_cmd = optarg; return 0;
	case 'q': o->quiet = true; return 0;
	case OPT_STREAM:
		if (vsnd__parse_uint(optarg, 0, 1u << 20, &v) < 0)
			return -EINVAL;
		o->stream = (int)v;
		return 0;
	case OPT_CTL_PROBE:
		if (vsnd__parse_uint(optarg, 0, 1u << 20, &v) < 0)
			return -EINVAL;
		o->ctl_probe = (int)v;
		return 0;
	case OPT_PERIOD_MS: return vsnd__parse_uint(optarg, 1, 1000, &o->period_ms);
	case OPT_PERIODS: return vsnd__parse_uint(optarg, 1, 32, &o->periods);
	case OPT_RATE: return vsnd__parse_uint(optarg, 1, 384000, &o->rate);
	case OPT_CHANNELS: return vsnd__parse_uint(optarg, 1, 18, &o->channels);
	case OPT_SECONDS:
		o->seconds = strtod(optarg, &end);
		return end != optarg && !*end && o->seconds > 0 && o->seconds <= 3600 ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int parse(int argc, char **argv, struct cmd_opts *o, const char **cmd)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "controls", no_argument, NULL, OPT_CONTROLS },
		{ "jack-cmd", required_argument, NULL, OPT_JACK_CMD },
		{ "quiet", no_argument, NULL, 'q' },
		{ "stream", required_argument, NULL, OPT_STREAM },
		{ "period-ms", required_argument, NULL, OPT_PERIOD_MS },
		{ "periods", required_argument, NULL, OPT_PERIODS },
		{ "seconds", required_argument, NULL, OPT_SECONDS },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "channels", required_argument, NULL, OPT_CHANNELS },
		{ "ctl-probe", required_argument, NULL, OPT_CTL_PROBE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *pos[3] = { 0 };
	int n = 0, c;

	while ((c = getopt_long(argc, argv, "-qhV", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == 'V') {
			printf("vsnd-drive %s\n", VSND_VERSION_STRING);
			exit(0);
		}
		if (c == 1 && n < 3)
			pos[n++] = optarg;
		else if (c == 1 || parse_opt(c, o) < 0)
			return -EINVAL;
	}
	o->socket = pos[0];
	*cmd = pos[1];
	o->file = pos[2];
	if (!o->socket || !*cmd)
		return -EINVAL;
	if (!strcmp(*cmd, "info") || !strcmp(*cmd, "check"))
		return o->file ? -EINVAL : 0;
	if (!strcmp(*cmd, "play"))
		return o->file ? 0 : -EINVAL;
	if (!strcmp(*cmd, "record"))
		return o->file && o->seconds > 0 ? 0 : -EINVAL;
	if (!strcmp(*cmd, "hold"))
		return !o->file && o->seconds > 0 ? 0 : -EINVAL;
	return -EINVAL;
}

static int run(struct drv *d, const char *cmd, const struct cmd_opts *o)
{
	if (!strcmp(cmd, "info"))
		return cmd_info(d, stdout, o->json);
	if (!strcmp(cmd, "play"))
		return cmd_play(d, o);
	if (!strcmp(cmd, "check"))
		return cmd_check(d, o);
	if (!strcmp(cmd, "hold"))
		return cmd_hold(d, o);
	return cmd_record(d, o);
}

int main(int argc, char **argv)
{
	struct cmd_opts o = { .stream = -1, .ctl_probe = -1, .period_ms = 10, .periods = 4, .rate = 48000,
			      .channels = 2 };
	const char *cmd = NULL;
	struct drv d;
	int rc;

	if (parse(argc, argv, &o, &cmd) < 0) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = drv_open(&d, o.socket, o.controls);
	if (rc < 0) {
		fprintf(stderr, "vsnd-drive: %s: %s\n", o.socket, strerror(-rc));
		return 1;
	}
	rc = run(&d, cmd, &o);
	drv_close(&d);
	if (rc < 0)
		fprintf(stderr, "vsnd-drive: %s: %s\n", cmd, strerror(-rc));
	else if (rc > 1)
		fprintf(stderr, "vsnd-drive: %s: device answered %s\n", cmd, drv_status_name(rc));
	return rc == 0 ? 0 : 1;
}
