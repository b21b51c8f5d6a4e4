/* SPDX-License-Identifier: MIT */
/*
 * vsnd-semu: semu's virtio-snd slot on libvsnd's virtio-mmio transport
 * (see vsnd-semu.h). What semu gives libvsnd, and where:
 *
 *  - guest memory: semu's RAM is one host mapping of RAM_SIZE bytes at
 *    guest-physical 0 (main.c's mem_load), so translate() is a bounds
 *    check and an offset;
 *  - the interrupt: set_irq() sets InterruptStatus, which main.c turns into
 *    the PLIC's IRQ_VSND input after each store to the device and in the
 *    peripheral poll;
 *  - time: now_ns() is CLOCK_MONOTONIC, set_timer() records a deadline that
 *    virtio_snd_poll() compares with the clock, and wake() (any thread)
 *    writes an eventfd that virtio_snd_poll() reads without blocking.
 *
 * No thread of our own and nothing that blocks: semu calls
 * virtio_snd_poll() from its peripheral poll (every 64 slices of
 * instructions), and in SMP mode also after each poll() of its scheduler,
 * which virtio_snd_wait_fd() wakes early when the device is due.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <vsnd/backend.h>
#include <vsnd/mmio.h>
#include <vsnd/vsnd.h>

#include "device.h"
#include "riscv.h"
#include "riscv_private.h"

#define VSND_SEMU_ENV "SEMU_VSND"
#define VSND_SEMU_DEFAULT_BACKEND "portaudio"
#define VSND_SEMU_FALLBACK_BACKEND "null"
#define VSND_SEMU_NO_DEADLINE UINT64_MAX
#define VSND_SEMU_NS 1000000000ull

struct vsnd_semu_opts {
	char *backend;         /* "NAME[,key=value...]"; NULL: the default */
	char *streams;         /* a layout spec; NULL: "stereo" */
	bool controls;
	enum vsnd_log_level log_max;
	bool help;
};

struct vsnd_semu {
	virtio_snd_state_t *state;
	struct vsnd_mmio *mmio;
	struct vsnd_backend *backend;
	enum vsnd_log_level log_max;
	uint64_t deadline;     /* from set_timer(); VSND_SEMU_NO_DEADLINE: none */
	uint64_t armed;        /* the deadline timer_fd holds, if armed_valid */
	bool armed_valid;
	int wake_fd;           /* eventfd written by wake() */
	int timer_fd;          /* timerfd at the deadline, for virtio_snd_wait_fd() */
	int wait_fd;           /* epoll over both */
};

/* The one card, for the exit hook that finalizes files and closes streams. */
static struct vsnd_semu *vsnd_semu_card;

static void vsnd_semu_log(void *opaque, enum vsnd_log_level level, const char *msg)
{
	const struct vsnd_semu *s = opaque;

	if (level <= s->log_max)
		fprintf(stderr, "vsnd: %s\n", msg);
}

/* ---- host services ------------------------------------------------------ */

static uint64_t vsnd_semu_now_ns(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VSND_SEMU_NS + (uint64_t)ts.tv_nsec;
}

static void vsnd_semu_set_timer(void *opaque, uint64_t deadline_ns)
{
	struct vsnd_semu *s = opaque;

	s->deadline = deadline_ns;
}

/* Any thread, a backend's real-time one included: one write(2) to an
 * eventfd, which neither blocks (EFD_NONBLOCK) nor allocates. */
static void vsnd_semu_wake(void *opaque)
{
	const struct vsnd_semu *s = opaque;
	uint64_t one = 1;
	ssize_t n = write(s->wake_fd, &one, sizeof(one));

	(void)n; /* EAGAIN only when the counter is full: a wake-up is pending */
}

static void *vsnd_semu_translate(void *opaque, uint64_t gpa, uint64_t len, uint64_t *avail,
				 bool is_write)
{
	const struct vsnd_semu *s = opaque;

	(void)is_write; /* all of semu's RAM is writable */
	if (!s->state->ram || gpa >= RAM_SIZE)
		return NULL;
	*avail = len < RAM_SIZE - gpa ? len : RAM_SIZE - gpa;
	return (uint8_t *)s->state->ram + gpa;
}

/* Level-triggered: main.c mirrors InterruptStatus into the PLIC. */
static void vsnd_semu_set_irq(void *opaque, bool level)
{
	const struct vsnd_semu *s = opaque;

	__atomic_store_n(&s->state->InterruptStatus, level ? 1u : 0u, __ATOMIC_RELEASE);
}

static const struct vsnd_host_ops vsnd_semu_host_ops = {
	.size = sizeof(struct vsnd_host_ops),
	.log = vsnd_semu_log,
	.now_ns = vsnd_semu_now_ns,
	.set_timer = vsnd_semu_set_timer,
	.wake = vsnd_semu_wake,
};

static const struct vsnd_mmio_ops vsnd_semu_mmio_ops = {
	.size = sizeof(struct vsnd_mmio_ops),
	.translate = vsnd_semu_translate,
	.set_irq = vsnd_semu_set_irq,
};

/* ---- SEMU_VSND ---------------------------------------------------------- */

static void vsnd_semu_usage(FILE *f)
{
	const struct vsnd_backend_ops *const *be = vsnd_backend_list();
	const char *name, *what;

	fprintf(f,
		"SEMU_VSND configures semu's virtio-snd device (libvsnd %s): items separated by ';'\n"
		"  backend=NAME[,KEY=VALUE...]  host audio; default " VSND_SEMU_DEFAULT_BACKEND
		" (" VSND_SEMU_FALLBACK_BACKEND " if it is not built)\n"
		"  streams=PRESET|LIST          the guest's streams; default stereo\n"
		"  controls=on|off              volume and mute controls for the guest; default on\n"
		"  log=error|warn|info|debug    what libvsnd logs on stderr (\"vsnd: ...\"); default info\n"
		"  help                         print this and exit\n"
		"Backends of this build and their options:\n",
		vsnd_version());
	for (size_t i = 0; be[i]; i++)
		fprintf(f, "  %-10s %s\n", be[i]->name, be[i]->help ? be[i]->help : "");
	fprintf(f, "Stream presets (or a list such as out:2/jack=speaker,in:1/jack=mic):\n");
	for (unsigned int i = 0; (name = vsnd_layout_presets(i, &what)); i++)
		fprintf(f, "  %-10s %s\n", name, what ? what : "");
	fprintf(f, "Example: " VSND_SEMU_ENV "='backend=file,out=/tmp/o.wav;streams=5.1;controls=on'\n");
}

static void vsnd_semu_opts_free(struct vsnd_semu_opts *o)
{
	free(o->backend);
	free(o->streams);
}

static char *vsnd_semu_trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int vsnd_semu_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int vsnd_semu_parse_level(const char *v, enum vsnd_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(v, names[i])) {
			*out = (enum vsnd_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* One KEY=VALUE item. Returns 0 or -EINVAL after printing why. */
static int vsnd_semu_parse_item(struct vsnd_semu_opts *o, char *item, unsigned int *seen)
{
	static const char *const keys[] = { "backend", "streams", "controls", "log" };
	char *eq = strchr(item, '=');
	const char *value;
	unsigned int k;

	if (!eq) {
		if (!strcmp(item, "help")) {
			o->help = true;
			return 0;
		}
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": '%s' is not KEY=VALUE\n", item);
		return -EINVAL;
	}
	*eq = '\0';
	item = vsnd_semu_trim(item);
	value = vsnd_semu_trim(eq + 1);
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]) && strcmp(item, keys[k]); k++)
		;
	if (k == sizeof(keys) / sizeof(keys[0])) {
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": unknown key '%s' (known: backend, streams, "
			"controls, log)\n", item);
		return -EINVAL;
	}
	if (*seen & (1u << k)) {
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": %s= given twice\n", item);
		return -EINVAL;
	}
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if (!*value) {
			fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": backend= needs a backend name\n");
			return -EINVAL;
		}
		o->backend = strdup(value);
		return o->backend ? 0 : -ENOMEM;
	case 1:
		o->streams = strdup(value);
		return o->streams ? 0 : -ENOMEM;
	case 2:
		if (vsnd_semu_parse_bool(value, &o->controls) == 0)
			return 0;
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": controls=%s: expected on or off\n", value);
		return -EINVAL;
	default:
		if (vsnd_semu_parse_level(value, &o->log_max) == 0)
			return 0;
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": log=%s: expected error, warn, info or debug\n",
			value);
		return -EINVAL;
	}
}

/* Parse spec (NULL: all defaults) into o. Returns 0 or a negative errno
 * after printing the reason. */
static int vsnd_semu_opts_parse(struct vsnd_semu_opts *o, const char *spec)
{
	char *copy, *item, *save = NULL;
	unsigned int seen = 0;
	int err = 0;

	*o = (struct vsnd_semu_opts){ .controls = true, .log_max = VSND_LOG_INFO };
	if (!spec)
		return 0;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ";", &save); item && !err; item = strtok_r(NULL, ";", &save)) {
		item = vsnd_semu_trim(item);
		if (*item)
			err = vsnd_semu_parse_item(o, item, &seen);
	}
	free(copy);
	if (err == -ENOMEM)
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": %s\n", strerror(ENOMEM));
	return err;
}

/* ---- creation ----------------------------------------------------------- */

static void vsnd_semu_backend_names(char *buf, size_t len)
{
	const struct vsnd_backend_ops *const *be = vsnd_backend_list();
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; be[i] && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? " " : "", be[i]->name);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* The backend the options name; without one, portaudio as semu's own device
 * used, or null (with a line saying so) when this libvsnd lacks it or it
 * fails to start. */
static int vsnd_semu_backend_new(struct vsnd_semu *s, const char *spec)
{
	const struct vsnd_backend_env env = {
		.size = sizeof(struct vsnd_backend_env), .log = vsnd_semu_log, .opaque = s,
	};
	char names[256];
	int err;

	if (spec) {
		err = vsnd_backend_create(spec, &env, &s->backend);
		if (err < 0)
			fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": backend=%s: %s\n", spec,
				err == -ENOENT ? "no such backend in this build" : strerror(-err));
		return err;
	}
	if (!vsnd_backend_find(VSND_SEMU_DEFAULT_BACKEND)) {
		vsnd_semu_backend_names(names, sizeof(names));
		fprintf(stderr, "vsnd: this libvsnd has no " VSND_SEMU_DEFAULT_BACKEND " backend "
			"(built: %s): using " VSND_SEMU_FALLBACK_BACKEND "; set " VSND_SEMU_ENV
			"='backend=NAME' to choose\n", names);
	} else {
		err = vsnd_backend_create(VSND_SEMU_DEFAULT_BACKEND, &env, &s->backend);
		if (err == 0)
			return 0;
		fprintf(stderr, "vsnd: the " VSND_SEMU_DEFAULT_BACKEND " backend failed (%s): using "
			VSND_SEMU_FALLBACK_BACKEND "; set " VSND_SEMU_ENV "='backend=NAME' to choose\n",
			strerror(-err));
	}
	return vsnd_backend_create(VSND_SEMU_FALLBACK_BACKEND, &env, &s->backend);
}

static int vsnd_semu_fds_new(struct vsnd_semu *s)
{
	struct epoll_event ev = { .events = EPOLLIN };

	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->wait_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->wake_fd < 0 || s->timer_fd < 0 || s->wait_fd < 0)
		return -errno;
	ev.data.fd = s->wake_fd;
	if (epoll_ctl(s->wait_fd, EPOLL_CTL_ADD, s->wake_fd, &ev) < 0)
		return -errno;
	ev.data.fd = s->timer_fd;
	if (epoll_ctl(s->wait_fd, EPOLL_CTL_ADD, s->timer_fd, &ev) < 0)
		return -errno;
	return 0;
}

static void vsnd_semu_free(struct vsnd_semu *s)
{
	if (!s)
		return;
	vsnd_mmio_free(s->mmio); /* closes host streams, finalizes files */
	vsnd_backend_destroy(s->backend);
	if (s->wait_fd >= 0)
		close(s->wait_fd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->state)
		s->state->priv = NULL;
	free(s);
}

static void vsnd_semu_exit(void)
{
	vsnd_semu_free(vsnd_semu_card);
	vsnd_semu_card = NULL;
}

static int vsnd_semu_new(struct vsnd_semu *s, const struct vsnd_semu_opts *o)
{
	struct vsnd_mmio_config cfg = {
		.size = sizeof(struct vsnd_mmio_config), .controls = o->controls,
		.host = &vsnd_semu_host_ops, .host_opaque = s, .ops = &vsnd_semu_mmio_ops, .opaque = s,
	};
	struct vsnd_layout *layout = NULL;
	char why[256] = "";
	int err;

	err = vsnd_layout_new(&layout, o->streams, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "vsnd: " VSND_SEMU_ENV ": streams=%s: %s\n", o->streams ? o->streams : "",
			why[0] ? why : strerror(-err));
		return err;
	}
	err = vsnd_semu_fds_new(s);
	if (err < 0) {
		fprintf(stderr, "vsnd: eventfd/timerfd/epoll: %s\n", strerror(-err));
		goto out;
	}
	err = vsnd_semu_backend_new(s, o->backend);
	if (err < 0)
		goto out;
	cfg.layout = layout;
	cfg.backend = s->backend;
	err = vsnd_mmio_new(&s->mmio, &cfg);
	if (err < 0) {
		fprintf(stderr, "vsnd: cannot create the device: %s\n", strerror(-err));
		goto out;
	}
	fprintf(stderr, "vsnd: libvsnd %s: virtio-snd with backend %s, %u streams (%s), controls %s\n",
		vsnd_version(), s->backend->ops->name, vsnd_layout_stream_count(layout),
		o->streams && *o->streams ? o->streams : "stereo", o->controls ? "on" : "off");
out:
	vsnd_layout_free(layout);
	return err;
}

bool virtio_snd_init(virtio_snd_state_t *vsnd)
{
	struct vsnd_semu_opts o;
	struct vsnd_semu *s = NULL;
	int err;

	err = vsnd_semu_opts_parse(&o, getenv(VSND_SEMU_ENV));
	if (err < 0)
		goto err;
	if (o.help) {
		vsnd_semu_usage(stdout);
		vsnd_semu_opts_free(&o);
		exit(0);
	}
	if (vsnd_semu_card) {
		fprintf(stderr, "vsnd: one virtio-snd device per semu\n");
		err = -EBUSY;
		goto err;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		goto err;
	}
	*s = (struct vsnd_semu){
		.state = vsnd, .log_max = o.log_max, .deadline = VSND_SEMU_NO_DEADLINE,
		.wake_fd = -1, .timer_fd = -1, .wait_fd = -1,
	};
	vsnd->InterruptStatus = 0;
	vsnd->priv = s;
	err = vsnd_semu_new(s, &o);
	if (err < 0)
		goto err;
	vsnd_semu_card = s;
	atexit(vsnd_semu_exit);
	vsnd_semu_opts_free(&o);
	return true;
err:
	vsnd_semu_free(s);
	vsnd_semu_opts_free(&o);
	fprintf(stderr, "vsnd: no sound device (" VSND_SEMU_ENV "=help lists the options)\n");
	return false;
}

/* ---- the guest's accesses ----------------------------------------------- */

/* Bytes a load or store of this RV_MEM_* width moves; 0 for none. */
static unsigned int vsnd_semu_bytes(uint8_t width, bool load)
{
	switch (width) {
	case RV_MEM_LB: /* == RV_MEM_SB */
		return 1;
	case RV_MEM_LH: /* == RV_MEM_SH */
		return 2;
	case RV_MEM_LW: /* == RV_MEM_SW */
		return 4;
	case RV_MEM_LBU:
		return load ? 1 : 0;
	case RV_MEM_LHU:
		return load ? 2 : 0;
	default:
		return 0;
	}
}

/* As semu's other devices: an unknown width is an illegal instruction, a
 * misaligned access a misaligned exception, an access outside the register
 * window (or to a device that failed to start) an access fault. */
static bool vsnd_semu_access_ok(hart_t *core, const virtio_snd_state_t *vsnd, uint32_t addr,
				unsigned int bytes, bool load)
{
	if (!bytes) {
		vm_set_exception(core, RV_EXC_ILLEGAL_INSN, 0);
		return false;
	}
	if (addr & (bytes - 1)) {
		vm_set_exception(core, load ? RV_EXC_LOAD_MISALIGN : RV_EXC_STORE_MISALIGN,
				 core->exc_val);
		return false;
	}
	if (!vsnd->priv || addr > VSND_MMIO_SIZE - bytes) {
		vm_set_exception(core, load ? RV_EXC_LOAD_FAULT : RV_EXC_STORE_FAULT, core->exc_val);
		return false;
	}
	return true;
}

void virtio_snd_read(hart_t *core, virtio_snd_state_t *vsnd, uint32_t addr, uint8_t width,
		     uint32_t *value)
{
	unsigned int bytes = vsnd_semu_bytes(width, true);
	const struct vsnd_semu *s = vsnd->priv;
	uint32_t v;

	if (!vsnd_semu_access_ok(core, vsnd, addr, bytes, true))
		return;
	v = vsnd_mmio_read(s->mmio, addr, bytes);
	if (width == RV_MEM_LB)
		v = (uint32_t)(int32_t)(int8_t)v;
	else if (width == RV_MEM_LH)
		v = (uint32_t)(int32_t)(int16_t)v;
	*value = v;
}

void virtio_snd_write(hart_t *core, virtio_snd_state_t *vsnd, uint32_t addr, uint8_t width,
		      uint32_t value)
{
	unsigned int bytes = vsnd_semu_bytes(width, false);
	const struct vsnd_semu *s = vsnd->priv;

	if (vsnd_semu_access_ok(core, vsnd, addr, bytes, false))
		vsnd_mmio_write(s->mmio, addr, value, bytes);
}

/* ---- the loop's side ---------------------------------------------------- */

void virtio_snd_poll(virtio_snd_state_t *vsnd)
{
	struct vsnd_semu *s = vsnd->priv;
	uint64_t count;
	bool due;

	if (!s)
		return;
	/* Non-blocking; reading also resets the eventfd for the next wake(). */
	due = read(s->wake_fd, &count, sizeof(count)) == (ssize_t)sizeof(count);
	if (!due && s->deadline != VSND_SEMU_NO_DEADLINE)
		due = vsnd_semu_now_ns(s) >= s->deadline;
	if (!due)
		return;
	/* process() sets the next deadline; the timerfd, which may have
	 * fired, is re-armed (and so cleared) before the next wait. */
	s->deadline = VSND_SEMU_NO_DEADLINE;
	s->armed_valid = false;
	vsnd_mmio_process(s->mmio);
}

int virtio_snd_wait_fd(virtio_snd_state_t *vsnd)
{
	struct vsnd_semu *s = vsnd->priv;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (!s)
		return -1;
	if (s->armed_valid && s->armed == s->deadline)
		return s->wait_fd;
	if (s->deadline != VSND_SEMU_NO_DEADLINE) {
		its.it_value.tv_sec = (time_t)(s->deadline / VSND_SEMU_NS);
		its.it_value.tv_nsec = (long)(s->deadline % VSND_SEMU_NS);
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1; /* 0 would disarm it */
	}
	/* Absolute CLOCK_MONOTONIC, the clock now_ns() reads. */
	if (timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
		s->armed = s->deadline;
		s->armed_valid = true;
	}
	return s->wait_fd;
}
