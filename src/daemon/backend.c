/* SPDX-License-Identifier: MIT */
#include "daemon/backend.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


#include "daemon/log.h"

static void env_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	/* backends log about streams the guest configures: rate-limited */
	vd_log_limited(level, msg);
}

static const struct vsnd_backend_env daemon_env = {
	.size = sizeof(struct vsnd_backend_env), .log = env_log,
};

/* One default choice: fill spec (and a description for the log) if the
 * backend can serve here; false to try the next one. */
struct default_choice {
	const char *name;
	bool (*spec)(char *spec, size_t spec_len, char *what, size_t what_len);
};

/* The default layout's first input stream, whose capture file we look for. */
static int default_input_stream(void)
{
	struct vsnd_layout *layout;
	int id = -1;

	if (vsnd_layout_new(&layout, NULL, NULL, 0) < 0)
		return -1;
	for (unsigned int i = 0; id < 0 && i < vsnd_layout_stream_count(layout); i++)
		if (vsnd_layout_stream_direction(layout, i) == VSND_DIR_INPUT)
			id = (int)i;
	vsnd_layout_free(layout);
	return id;
}

static bool file_spec(char *spec, size_t spec_len, char *what, size_t what_len)
{
	char cwd[PATH_MAX], in[64];
	int id = default_input_stream();
	bool capture;

	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), ".");
	snprintf(in, sizeof(in), "vsnd-in-%d.wav", id);
	capture = id >= 0 && access(in, R_OK) == 0;
	/* %u is the file backend's stream-id placeholder */
	snprintf(spec, spec_len, "file,out=vsnd-out-%%u.wav%s", capture ? ",in=vsnd-in-%u.wav" : "");
	snprintf(what, what_len, "playback to vsnd-out-<stream>.wav, %s%s%s, in %s",
		 capture ? "capture from " : "capture silence (no ", in, capture ? "" : ")", cwd);
	return true;
}

/* Does a server answer on this Unix socket? (No client library needed:
 * the backend itself connects later, and retries if it goes away.) */
static bool unix_socket_live(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool live;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	live = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return live;
}

/* dir/name where dir is the first set of the environment variables. */
static bool runtime_path(char *buf, size_t len, const char *var1, const char *var2,
			 const char *name)
{
	const char *dir = getenv(var1);

	if (!dir || !*dir)
		dir = var2 ? getenv(var2) : NULL;
	if (!dir || !*dir)
		return false;
	return (size_t)snprintf(buf, len, "%s/%s", dir, name) < len;
}

static bool pipewire_spec(char *spec, size_t spec_len, char *what, size_t what_len)
{
	const char *remote = getenv("PIPEWIRE_REMOTE");
	char path[PATH_MAX];

	if (!remote || !*remote)
		remote = "pipewire-0";
	if (remote[0] == '/')
		snprintf(path, sizeof(path), "%s", remote);
	else if (!runtime_path(path, sizeof(path), "PIPEWIRE_RUNTIME_DIR", "XDG_RUNTIME_DIR",
				 remote))
		return false;
	if (!unix_socket_live(path))
		return false;
	snprintf(spec, spec_len, "pipewire");
	snprintf(what, what_len, "the PipeWire server at %s", path);
	return true;
}

static bool pulse_spec(char *spec, size_t spec_len, char *what, size_t what_len)
{
	const char *server = getenv("PULSE_SERVER");
	char path[PATH_MAX];

	if (server && *server) {
		/* A unix: server is checked; others (tcp:) are trusted as set. */
		if (!strncmp(server, "unix:", 5) && !unix_socket_live(server + 5))
			return false;
		snprintf(path, sizeof(path), "%s", server);
	} else if (!runtime_path(path, sizeof(path), "XDG_RUNTIME_DIR", NULL, "pulse/native") ||
		   !unix_socket_live(path)) {
		return false;
	}
	snprintf(spec, spec_len, "pulse");
	snprintf(what, what_len, "the PulseAudio server at %s", path);
	return true;
}

/* ALSA's default device is worth trying where there is a sound card. */
static bool alsa_spec(char *spec, size_t spec_len, char *what, size_t what_len)
{
	DIR *d = opendir("/dev/snd");
	struct dirent *e;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d)))
		found = !strncmp(e->d_name, "pcmC", 4) && e->d_name[strlen(e->d_name) - 1] == 'p';
	closedir(d);
	if (!found)
		return false;
	snprintf(spec, spec_len, "alsa");
	snprintf(what, what_len, "ALSA's default device");
	return true;
}

/* In order: the first that works here is used (and logged). */
static const struct default_choice default_choices[] = {
	{ "pipewire", pipewire_spec },
	{ "pulse", pulse_spec },
	{ "alsa", alsa_spec },
	{ "file", file_spec },
};

static void list_backends(char *buf, size_t len)
{
	buf[0] = '\0';
	for (const struct vsnd_backend_ops *const *b = vsnd_backend_list(); *b; b++) {
		if (buf[0])
			strncat(buf, ", ", len - strlen(buf) - 1);
		strncat(buf, (*b)->name, len - strlen(buf) - 1);
	}
}

/* Backends a build may leave out: what to install and turn on to get them.
 * Their Meson options carry the backend's name. */
static const struct {
	const char *name, *debian_pkg;
} optional_backends[] = {
	{ "pipewire", "libpipewire-0.3-dev" },
	{ "pulse", "libpulse-dev" },
	{ "alsa", "libasound2-dev" },
	{ "portaudio", "portaudio19-dev" },
};

static void log_unknown_backend(const char *name)
{
	char names[256];

	list_backends(names, sizeof(names));
	for (size_t i = 0; i < sizeof(optional_backends) / sizeof(optional_backends[0]); i++)
		if (strcmp(name, optional_backends[i].name) == 0) {
			vd_log(VSND_LOG_ERROR, "backend '%s' is not in this build (available: %s); "
			       "install %s and rebuild with 'meson configure -D%s=enabled'", name,
			       names, optional_backends[i].debian_pkg, name);
			return;
		}
	vd_log(VSND_LOG_ERROR, "unknown backend '%s' (available: %s)", name, names);
}

static int open_spec(const char *spec, struct vsnd_backend **out)
{
	size_t name_len = strcspn(spec, ",");
	char name[64];
	int rc;

	snprintf(name, sizeof(name), "%.*s", (int)(name_len < 63 ? name_len : 63), spec);
	if (!vsnd_backend_find(name)) {
		log_unknown_backend(name);
		return -ENOENT;
	}
	rc = vsnd_backend_create(spec, &daemon_env, out);
	if (rc < 0)
		vd_log(VSND_LOG_ERROR, "cannot open backend '%s': %s", spec,
		       rc == -EINVAL ? "bad options" : strerror(-rc));
	return rc;
}

int vd_backend_open(const char *spec, struct vsnd_backend **out)
{
	char chosen[256], what[PATH_MAX + 128];

	*out = NULL;
	if (spec) {
		int rc = open_spec(spec, out);

		if (rc == 0)
			vd_log(VSND_LOG_INFO, "backend: %s", spec);
		return rc;
	}
	for (size_t i = 0; i < sizeof(default_choices) / sizeof(default_choices[0]); i++) {
		const struct default_choice *c = &default_choices[i];

		if (!vsnd_backend_find(c->name) || !c->spec(chosen, sizeof(chosen), what, sizeof(what)))
			continue;
		if (vsnd_backend_create(chosen, &daemon_env, out) == 0) {
			vd_log(VSND_LOG_INFO, "no --backend given: using %s backend: %s", c->name,
			       what);
			return 0;
		}
		vd_log(VSND_LOG_WARN, "default backend %s did not open; trying the next", c->name);
	}
	vd_log(VSND_LOG_ERROR, "no default backend works here; choose one with --backend");
	return -ENODEV;
}
