// SPDX-License-Identifier: MIT
/*
 * vsnd-guest: /init of the semu test guest (RV32 Linux, no C library).
 *
 * Built against the kernel's own nolibc (tools/include/nolibc) and its
 * exported uapi headers; see build.sh. It mounts /dev, /proc and /sys,
 * prints what the kernel knows about the sound card, runs the job found
 * on the virtio-blk disk, prints "vsnd-guest: done" and powers off.
 *
 * Job disk (/dev/vda, raw):
 *   0 .. 4095         job: ASCII, NUL-terminated, one command per line
 *   4096 .. 65535     results written by the guest: every line it prints,
 *                     NUL-terminated (rewritten after every command)
 *   1 MiB ..          input WAV for "play" (RIFF/WAVE, chunks parsed)
 *   32 MiB ..         WAV written by "record" (44-byte header + data)
 *
 * Commands:
 *   play DEV SUBDEV PERIOD_FRAMES BUFFER_FRAMES      (0 0 = aplay's defaults)
 *   record DEV SUBDEV FRAMES RATE CHANNELS FORMAT PERIOD_FRAMES BUFFER_FRAMES
 *   sleep MS
 *   controls
 *   jacks
 *
 * Rules kept for RV32 without libgcc: no 64-bit division or modulo anywhere
 * (the link fails if the compiler needs __udivdi3 and friends), only
 * time64 system calls (RV32 Linux has no 32-bit time ones).
 */

#include <sound/asound.h>

#define JOB_OFF       0u
#define JOB_SIZE      4096u
#define RES_OFF       4096u
#define RES_SIZE      (65536u - 4096u)
#define WAV_IN_OFF    (1u << 20)
#define WAV_OUT_OFF   (32u << 20)
#define WAV_IN_MAX    (WAV_OUT_OFF - WAV_IN_OFF)
#define IO_TIMEOUT_MS 5000
#define DISK          "/dev/vda"
#define CARD          0

/* ------------------------------------------------------------------ */
/* system calls nolibc lacks on RV32 (time64 only, llseek)            */

static long xioctl(int fd, unsigned long req, void *arg)
{
	return my_syscall3(__NR_ioctl, fd, req, arg);
}

static unsigned int now_ms(void)
{
	struct __kernel_timespec ts;

#ifdef __NR_clock_gettime64
	my_syscall2(__NR_clock_gettime64, CLOCK_MONOTONIC, &ts);
#else
	my_syscall2(__NR_clock_gettime, CLOCK_MONOTONIC, &ts);
#endif
	/* 32-bit arithmetic only: seconds since boot fit, nsec < 1e9 */
	return (unsigned int)ts.tv_sec * 1000u +
	       (unsigned int)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned int ms)
{
	struct __kernel_timespec ts;

	ts.tv_sec = ms / 1000u;
	ts.tv_nsec = (ms % 1000u) * 1000000u;
#ifdef __NR_clock_nanosleep_time64
	my_syscall4(__NR_clock_nanosleep_time64, CLOCK_MONOTONIC, 0, &ts, 0);
#else
	my_syscall4(__NR_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, 0);
#endif
}

/* 1 if ready, 0 on timeout, -errno on error */
static long poll1(int fd, short events, short *revents, int ms)
{
	struct pollfd p;
	struct __kernel_timespec ts;
	long r;

	p.fd = fd;
	p.events = events;
	p.revents = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000;
#ifdef __NR_ppoll_time64
	r = my_syscall5(__NR_ppoll_time64, &p, 1, &ts, 0, 0);
#else
	r = my_syscall5(__NR_ppoll, &p, 1, &ts, 0, 0);
#endif
	if (revents)
		*revents = p.revents;
	return r;
}

static long seek_to(int fd, unsigned long off)
{
#ifdef __NR_llseek
	long long res;

	return my_syscall5(__NR_llseek, fd, 0, off, &res, SEEK_SET);
#else
	return my_syscall3(__NR_lseek, fd, off, SEEK_SET);
#endif
}

static long set_nonblock(int fd, int on)
{
#ifdef __NR_fcntl64
	long fl = my_syscall3(__NR_fcntl64, fd, F_GETFL, 0);
#else
	long fl = my_syscall3(__NR_fcntl, fd, F_GETFL, 0);
#endif
	if (fl < 0)
		return fl;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
#ifdef __NR_fcntl64
	return my_syscall3(__NR_fcntl64, fd, F_SETFL, fl);
#else
	return my_syscall3(__NR_fcntl, fd, F_SETFL, fl);
#endif
}

/* ------------------------------------------------------------------ */
/* output: console + result buffer                                   */

static char results[RES_SIZE];
static unsigned int results_len;
static int results_truncated;
static int results_force; /* the last lines always fit */
static int disk_fd = -1;

static void emit(const char *s, unsigned int n)
{
	unsigned int off = 0;

	while (off < n) {
		long w = sys_write(1, s + off, n - off);
		if (w <= 0)
			break;
		off += w;
	}
	/* keep 256 bytes for "results: truncated" and the done line */
	if (results_len + n < RES_SIZE - (results_force ? 1 : 256)) {
		memcpy(results + results_len, s, n);
		results_len += n;
	} else {
		results_truncated = 1;
	}
}

/* minimal formatter: %s %d %u %x %c %%, optional width and '0' flag,
 * 'l' accepted and ignored (long is 32-bit here) */
static unsigned int vfmt(char *buf, unsigned int size, const char *f,
			 va_list ap)
{
	unsigned int n = 0;

#define PUT(c) do { if (n + 1 < size) buf[n] = (c); n++; } while (0)
	for (; *f; f++) {
		char tmp[12];
		const char *s;
		unsigned int len, width = 0, u, neg = 0, base = 10;
		char pad = ' ';

		if (*f != '%') {
			PUT(*f);
			continue;
		}
		f++;
		if (*f == '0') {
			pad = '0';
			f++;
		}
		while (*f >= '0' && *f <= '9')
			width = width * 10 + (unsigned int)(*f++ - '0');
		while (*f == 'l')
			f++;
		switch (*f) {
		case 's':
			s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			len = strlen(s);
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			s = tmp;
			len = 1;
			break;
		case 'd':
		case 'u':
		case 'x':
			if (*f == 'd') {
				int v = va_arg(ap, int);
				neg = v < 0;
				u = neg ? 0u - (unsigned int)v : (unsigned int)v;
			} else {
				u = va_arg(ap, unsigned int);
			}
			if (*f == 'x')
				base = 16;
			len = 0;
			do {
				unsigned int d = u % base;
				tmp[11 - len++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
				u /= base;
			} while (u);
			if (neg)
				tmp[11 - len++] = '-';
			s = tmp + 12 - len;
			break;
		case '\0':
			f--;
			continue;
		default:
			PUT(*f);
			continue;
		}
		while (width > len) {
			PUT(pad);
			width--;
		}
		while (len--)
			PUT(*s++);
	}
	if (size)
		buf[n < size ? n : size - 1] = '\0';
#undef PUT
	return n < size ? n : size - 1;
}

static unsigned int fmt(char *buf, unsigned int size, const char *f, ...)
{
	va_list ap;
	unsigned int n;

	va_start(ap, f);
	n = vfmt(buf, size, f, ap);
	va_end(ap);
	return n;
}

static void results_flush(void);

/* one line to the console and the results; errors reach the disk at once
 * (what follows an error may be a device that never answers) */
static void say(const char *f, ...)
{
	char line[600];
	va_list ap;
	unsigned int n;

	va_start(ap, f);
	n = vfmt(line, sizeof(line) - 1, f, ap);
	va_end(ap);
	line[n++] = '\n';
	emit(line, n);
	if (!strncmp(line, "error:", 6))
		results_flush();
}

/* ------------------------------------------------------------------ */
/* disk                                                               */

static long disk_rw(int wr, unsigned long off, void *buf, unsigned long len)
{
	unsigned long done = 0;
	long r = seek_to(disk_fd, off);

	if (r < 0)
		return r;
	while (done < len) {
		unsigned long chunk = len - done;

		if (chunk > (1u << 20))
			chunk = 1u << 20;
		r = wr ? sys_write(disk_fd, (char *)buf + done, chunk)
		       : sys_read(disk_fd, (char *)buf + done, chunk);
		if (r < 0)
			return r;
		if (r == 0)
			return -EIO; /* past the end of the disk */
		done += r;
	}
	return 0;
}

static void results_flush(void)
{
	if (disk_fd < 0)
		return;
	results[results_len] = '\0';
	if (disk_rw(1, RES_OFF, results, results_len + 1) == 0)
		sys_fsync(disk_fd);
}

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

static int parse_u32(const char *s, unsigned int *out)
{
	unsigned int v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 429496728u)
			return -1;
		v = v * 10 + (unsigned int)(*s - '0');
	}
	*out = v;
	return 0;
}

static unsigned int le16(const unsigned char *p)
{
	return p[0] | (unsigned int)p[1] << 8;
}

static unsigned int le32(const unsigned char *p)
{
	return p[0] | (unsigned int)p[1] << 8 | (unsigned int)p[2] << 16 |
	       (unsigned int)p[3] << 24;
}

static void put16(unsigned char *p, unsigned int v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(unsigned char *p, unsigned int v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static int contains(const char *s, const char *w)
{
	unsigned int n = strlen(w);

	for (; *s; s++)
		if (!strncmp(s, w, n))
			return 1;
	return 0;
}

static int lower_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return *a == *b;
}

static void *big_alloc(unsigned long len)
{
	void *p = sys_mmap(0, len ? len : 1, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return (unsigned long)p >= -4095UL ? 0 : p;
}

static void big_free(void *p, unsigned long len)
{
	if (p)
		sys_munmap(p, len ? len : 1);
}

/* print a text file line by line with a prefix */
static void cat(const char *path, const char *prefix)
{
	static char buf[8192];
	unsigned int n = 0;
	int fd = sys_open(path, O_RDONLY, 0);
	long r;
	char *s, *e;

	if (fd < 0) {
		say("%s (cannot open %s: %d)", prefix, path, fd);
		return;
	}
	while (n < sizeof(buf) - 1 &&
	       (r = sys_read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += r;
	sys_close(fd);
	buf[n] = '\0';
	if (!n)
		say("%s(empty)", prefix);
	for (s = buf; *s; s = e) {
		e = strchr(s, '\n');
		if (e)
			*e++ = '\0';
		else
			e = s + strlen(s);
		say("%s%s", prefix, s);
	}
}

/* ------------------------------------------------------------------ */
/* formats                                                            */

struct fmtinfo {
	const char *name;  /* ALSA name */
	const char *alias; /* short name on the record command line */
	int alsa;
	unsigned int bits, bytes, tag; /* WAV: bits, bytes per sample, tag */
};

static const struct fmtinfo formats[] = {
	{ "U8", "u8", SNDRV_PCM_FORMAT_U8, 8, 1, 1 },
	{ "S16_LE", "s16", SNDRV_PCM_FORMAT_S16_LE, 16, 2, 1 },
	{ "S24_3LE", "s24_3", SNDRV_PCM_FORMAT_S24_3LE, 24, 3, 1 },
	{ "S32_LE", "s32", SNDRV_PCM_FORMAT_S32_LE, 32, 4, 1 },
	{ "FLOAT_LE", "f32", SNDRV_PCM_FORMAT_FLOAT_LE, 32, 4, 3 },
	{ 0, 0, 0, 0, 0, 0 },
};

static const struct fmtinfo *fmt_by_name(const char *s)
{
	const struct fmtinfo *f;

	for (f = formats; f->name; f++)
		if (lower_eq(s, f->name) || lower_eq(s, f->alias))
			return f;
	if (lower_eq(s, "s24"))
		return fmt_by_name("s24_3");
	if (lower_eq(s, "float"))
		return fmt_by_name("f32");
	return 0;
}

static const struct fmtinfo *fmt_by_wav(unsigned int tag, unsigned int bits,
					unsigned int bytes)
{
	const struct fmtinfo *f;

	for (f = formats; f->name; f++)
		if (f->tag == tag && f->bits == bits && f->bytes == bytes)
			return f;
	return 0;
}

/* ------------------------------------------------------------------ */
/* controls                                                           */

static const char *iface_name(int i)
{
	static const char *n[] = { "CARD", "HWDEP", "MIXER", "PCM",
				   "RAWMIDI", "TIMER", "SEQUENCER" };
	return i >= 0 && i <= 6 ? n[i] : "?";
}

static const char *type_name(int t)
{
	static const char *n[] = { "NONE", "BOOLEAN", "INTEGER", "ENUMERATED",
				   "BYTES", "IEC958", "INTEGER64" };
	return t >= 0 && t <= 6 ? n[t] : "?";
}

static int ends_with(const char *s, const char *tail)
{
	unsigned int a = strlen(s), b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

static struct snd_ctl_elem_id ctl_ids[256];
static struct snd_ctl_elem_info ctl_info;
static struct snd_ctl_elem_value ctl_val;

/* what=0: every control; what=1: jacks only. Returns the count shown. */
static int list_controls(int jacks_only)
{
	struct snd_ctl_elem_list list;
	char path[32];
	unsigned int i, shown = 0;
	long r;
	int fd;

	fmt(path, sizeof(path), "/dev/snd/controlC%d", CARD);
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0) {
		say("%s: none (open %s: %d)", jacks_only ? "jacks" : "controls",
		    path, fd);
		return 0;
	}
	memset(&list, 0, sizeof(list));
	r = xioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &list);
	if (r < 0) {
		say("error: controls elem_list %d", (int)r);
		sys_close(fd);
		return 0;
	}
	list.space = list.count < 256 ? list.count : 256;
	list.pids = ctl_ids;
	list.offset = 0;
	r = xioctl(fd, SNDRV_CTL_IOCTL_ELEM_LIST, &list);
	if (r < 0) {
		say("error: controls elem_list %d", (int)r);
		sys_close(fd);
		return 0;
	}
	if (!jacks_only)
		say("controls: count=%u", list.count);
	for (i = 0; i < list.used; i++) {
		char val[200];
		unsigned int n = 0, k, cnt;
		int is_jack;

		memset(&ctl_info, 0, sizeof(ctl_info));
		ctl_info.id = ctl_ids[i];
		r = xioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &ctl_info);
		if (r < 0) {
			say("error: controls elem_info numid=%u %d",
			    ctl_ids[i].numid, (int)r);
			continue;
		}
		is_jack = ctl_info.id.iface == SNDRV_CTL_ELEM_IFACE_CARD &&
			  ctl_info.type == SNDRV_CTL_ELEM_TYPE_BOOLEAN &&
			  ends_with((const char *)ctl_info.id.name, "Jack");
		if (jacks_only && !is_jack)
			continue;
		shown++;
		val[0] = '\0';
		cnt = ctl_info.count;
		if (!(ctl_info.access & SNDRV_CTL_ELEM_ACCESS_READ)) {
			fmt(val, sizeof(val), "(write-only)");
		} else {
			memset(&ctl_val, 0, sizeof(ctl_val));
			ctl_val.id = ctl_info.id;
			r = xioctl(fd, SNDRV_CTL_IOCTL_ELEM_READ, &ctl_val);
			if (r < 0) {
				fmt(val, sizeof(val), "(read error %d)", (int)r);
			} else {
				for (k = 0; k < cnt && k < 8 && n < sizeof(val) - 24; k++) {
					switch (ctl_info.type) {
					case SNDRV_CTL_ELEM_TYPE_BOOLEAN:
					case SNDRV_CTL_ELEM_TYPE_INTEGER:
						n += fmt(val + n, sizeof(val) - n, "%s%d",
							 k ? "," : "",
							 (int)ctl_val.value.integer.value[k]);
						break;
					case SNDRV_CTL_ELEM_TYPE_ENUMERATED:
						n += fmt(val + n, sizeof(val) - n, "%s%u",
							 k ? "," : "",
							 ctl_val.value.enumerated.item[k]);
						break;
					case SNDRV_CTL_ELEM_TYPE_INTEGER64:
						/* low 32 bits only: no 64-bit printing */
						n += fmt(val + n, sizeof(val) - n, "%s%d",
							 k ? "," : "",
							 (int)ctl_val.value.integer64.value[k]);
						break;
					default:
						n += fmt(val + n, sizeof(val) - n, "%s%02x",
							 k ? "," : "",
							 ctl_val.value.bytes.data[k]);
						break;
					}
				}
				if (cnt > 8 && n < sizeof(val) - 4)
					fmt(val + n, sizeof(val) - n, ",...");
			}
		}
		if (jacks_only) {
			say("jack: name='%s' value=%s", ctl_info.id.name,
			    val[0] == '1' ? "plugged" : val[0] == '0' ? "unplugged" : val);
			continue;
		}
		if (ctl_info.type == SNDRV_CTL_ELEM_TYPE_INTEGER)
			say("control: numid=%u iface=%s name='%s' index=%u type=%s count=%u access=0x%x range=%d..%d value=%s%s",
			    ctl_info.id.numid, iface_name(ctl_info.id.iface),
			    ctl_info.id.name, ctl_info.id.index,
			    type_name(ctl_info.type), cnt, ctl_info.access,
			    (int)ctl_info.value.integer.min,
			    (int)ctl_info.value.integer.max, val,
			    is_jack ? " jack" : "");
		else
			say("control: numid=%u iface=%s name='%s' index=%u type=%s count=%u access=0x%x value=%s%s",
			    ctl_info.id.numid, iface_name(ctl_info.id.iface),
			    ctl_info.id.name, ctl_info.id.index,
			    type_name(ctl_info.type), cnt, ctl_info.access, val,
			    is_jack ? " jack" : "");
		if (ctl_info.type == SNDRV_CTL_ELEM_TYPE_ENUMERATED) {
			unsigned int items = ctl_info.value.enumerated.items;
			struct snd_ctl_elem_id id = ctl_info.id;

			for (k = 0; k < items && k < 16; k++) {
				memset(&ctl_info, 0, sizeof(ctl_info));
				ctl_info.id = id;
				ctl_info.value.enumerated.item = k;
				if (xioctl(fd, SNDRV_CTL_IOCTL_ELEM_INFO, &ctl_info) == 0)
					say("control: numid=%u item %u='%s'", id.numid,
					    k, ctl_info.value.enumerated.name);
			}
		}
	}
	if (jacks_only)
		say("jacks: count=%u", shown);
	sys_close(fd);
	return shown;
}

static void card_info(void)
{
	static struct snd_ctl_card_info ci;
	char path[32];
	int fd;

	fmt(path, sizeof(path), "/dev/snd/controlC%d", CARD);
	fd = sys_open(path, O_RDONLY, 0);
	if (fd < 0) {
		say("card: none (open %s: %d)", path, fd);
		return;
	}
	if (xioctl(fd, SNDRV_CTL_IOCTL_CARD_INFO, &ci) == 0)
		say("card: index=%d id='%s' driver='%s' name='%s' longname='%s' components='%s'",
		    ci.card, ci.id, ci.driver, ci.name, ci.longname,
		    ci.components);
	sys_close(fd);
}

/* kernel log lines about sound / virtio, read from /dev/kmsg */
static void kmsg_sound(void)
{
	static char rec[1024];
	int fd = sys_open("/dev/kmsg", O_RDONLY | O_NONBLOCK, 0);
	long r;

	if (fd < 0) {
		say("kmsg: (cannot open /dev/kmsg: %d)", fd);
		return;
	}
	while ((r = sys_read(fd, rec, sizeof(rec) - 1)) != -EAGAIN && r != 0) {
		char *msg, *nl;

		if (r == -EPIPE) /* records overwritten: go on */
			continue;
		if (r < 0)
			break;
		rec[r] = '\0';
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (contains(msg, "snd") || contains(msg, "sound") ||
		    contains(msg, "Sound") || contains(msg, "ALSA") ||
		    contains(msg, "virtio"))
			say("kmsg: %s", msg);
	}
	sys_close(fd);
}

/* ------------------------------------------------------------------ */
/* PCM                                                                */

static struct snd_pcm_hw_params hwp;

static struct snd_mask *hw_mask(int p)
{
	return &hwp.masks[p - SNDRV_PCM_HW_PARAM_FIRST_MASK];
}

static struct snd_interval *hw_ival(int p)
{
	return &hwp.intervals[p - SNDRV_PCM_HW_PARAM_FIRST_INTERVAL];
}

static void hw_any(void)
{
	int i;

	memset(&hwp, 0, sizeof(hwp));
	for (i = SNDRV_PCM_HW_PARAM_FIRST_MASK; i <= SNDRV_PCM_HW_PARAM_LAST_MASK; i++)
		memset(hw_mask(i)->bits, 0xff, sizeof(hw_mask(i)->bits));
	for (i = SNDRV_PCM_HW_PARAM_FIRST_INTERVAL;
	     i <= SNDRV_PCM_HW_PARAM_LAST_INTERVAL; i++) {
		hw_ival(i)->min = 0;
		hw_ival(i)->max = ~0u;
	}
	hwp.rmask = ~0u;
	hwp.cmask = 0;
	hwp.info = ~0u;
}

static void hw_set_mask(int p, unsigned int v)
{
	struct snd_mask *m = hw_mask(p);

	memset(m->bits, 0, sizeof(m->bits));
	m->bits[v >> 5] = 1u << (v & 31);
}

static void hw_set_int(int p, unsigned int v)
{
	struct snd_interval *i = hw_ival(p);

	i->min = v;
	i->max = v;
	i->openmin = i->openmax = 0;
	i->integer = 1;
}

struct pcm {
	int fd;
	unsigned int period, buffer, rate, channels, frame_bytes;
};

/* open /dev/snd/pcmC0D<dev><p|c>, subdevice chosen the way alsa-lib does */
static int pcm_open(const char *cmd, int capture, unsigned int dev,
		    unsigned int sub)
{
	char path[40];
	int ctl, fd;
	long r;
	int s = (int)sub;

	fmt(path, sizeof(path), "/dev/snd/controlC%d", CARD);
	ctl = sys_open(path, O_RDWR, 0);
	if (ctl < 0) {
		say("error: %s open %s %d", cmd, path, ctl);
		return ctl;
	}
	r = xioctl(ctl, SNDRV_CTL_IOCTL_PCM_PREFER_SUBDEVICE, &s);
	if (r < 0) {
		say("error: %s prefer_subdevice %d", cmd, (int)r);
		sys_close(ctl);
		return r;
	}
	fmt(path, sizeof(path), "/dev/snd/pcmC%dD%u%c", CARD, dev,
	    capture ? 'c' : 'p');
	fd = sys_open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC, 0);
	sys_close(ctl);
	if (fd < 0) {
		say("error: %s open %s %d", cmd, path, fd);
		return fd;
	}
	{
		static struct snd_pcm_info info;

		memset(&info, 0, sizeof(info));
		r = xioctl(fd, SNDRV_PCM_IOCTL_INFO, &info);
		if (r == 0) {
			say("%s-pcm: path=%s device=%u subdevice=%u/%u id='%s' name='%s' subname='%s'",
			    cmd, path, info.device, info.subdevice,
			    info.subdevices_count, info.id, info.name,
			    info.subname);
			if (info.subdevice != sub) {
				say("error: %s subdevice %u requested, got %u",
				    cmd, sub, info.subdevice);
				sys_close(fd);
				return -EBUSY;
			}
		}
	}
	return fd;
}

/* hw_params + sw_params + prepare. 0 or -errno (already reported). */
static long pcm_setup(const char *cmd, struct pcm *p, int capture,
		      const struct fmtinfo *f, unsigned int rate,
		      unsigned int channels, unsigned int period,
		      unsigned int buffer)
{
	struct snd_pcm_sw_params sw;
	long r;

	hw_any();
	hw_set_mask(SNDRV_PCM_HW_PARAM_ACCESS, SNDRV_PCM_ACCESS_RW_INTERLEAVED);
	hw_set_mask(SNDRV_PCM_HW_PARAM_FORMAT, f->alsa);
	hw_set_int(SNDRV_PCM_HW_PARAM_CHANNELS, channels);
	hw_set_int(SNDRV_PCM_HW_PARAM_RATE, rate);
	if (!period && !buffer) {
		/* aplay's defaults: the largest buffer up to 500 ms, periods
		 * of a quarter of it (alsa-utils aplay.c, set_params) */
		r = xioctl(p->fd, SNDRV_PCM_IOCTL_HW_REFINE, &hwp);
		if (r < 0) {
			say("error: %s hw_refine %d", cmd, (int)r);
			return r;
		}
		buffer = hw_ival(SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->max;
		if (buffer > rate / 2)
			buffer = rate / 2;
		period = buffer / 4;
	}
	if (period)
		hw_set_int(SNDRV_PCM_HW_PARAM_PERIOD_SIZE, period);
	if (buffer)
		hw_set_int(SNDRV_PCM_HW_PARAM_BUFFER_SIZE, buffer);
	r = xioctl(p->fd, SNDRV_PCM_IOCTL_HW_REFINE, &hwp);
	if (r < 0) {
		say("error: %s hw_refine %d", cmd, (int)r);
		return r;
	}
	/* HW_PARAMS picks what is still free itself */
	hwp.rmask = ~0u;
	r = xioctl(p->fd, SNDRV_PCM_IOCTL_HW_PARAMS, &hwp);
	if (r < 0) {
		say("error: %s hw_params %d", cmd, (int)r);
		return r;
	}
	p->period = hw_ival(SNDRV_PCM_HW_PARAM_PERIOD_SIZE)->min;
	p->buffer = hw_ival(SNDRV_PCM_HW_PARAM_BUFFER_SIZE)->min;
	p->rate = hw_ival(SNDRV_PCM_HW_PARAM_RATE)->min;
	p->channels = hw_ival(SNDRV_PCM_HW_PARAM_CHANNELS)->min;
	p->frame_bytes = p->channels * f->bytes;

	memset(&sw, 0, sizeof(sw));
	sw.tstamp_mode = SNDRV_PCM_TSTAMP_NONE;
	sw.period_step = 1;
	sw.avail_min = p->period;
	/* aplay: playback starts once the buffer is full; capture starts
	 * with the first read */
	sw.start_threshold = capture ? 1 : p->buffer;
	sw.stop_threshold = p->buffer; /* stop (xrun) when it runs dry */
	sw.silence_threshold = 0;
	sw.silence_size = 0;
	sw.proto = SNDRV_PCM_VERSION;
	r = xioctl(p->fd, SNDRV_PCM_IOCTL_SW_PARAMS, &sw);
	if (r < 0) {
		say("error: %s sw_params %d", cmd, (int)r);
		return r;
	}
	r = xioctl(p->fd, SNDRV_PCM_IOCTL_PREPARE, 0);
	if (r < 0) {
		say("error: %s prepare %d", cmd, (int)r);
		return r;
	}
	return 0;
}

/* frames * 1000 / rate in 32 bits */
static unsigned int frames_ms(unsigned int frames, unsigned int rate)
{
	if (!rate)
		return 0;
	return frames / rate * 1000u + frames % rate * 1000u / rate;
}

/* ------------------------------------------------------------------ */
/* play                                                               */

struct wav {
	const struct fmtinfo *f;
	unsigned int rate, channels, block_align;
	unsigned int data_off, data_len; /* data_off: from the WAV start */
};

static long wav_parse(struct wav *w)
{
	unsigned char h[40];
	unsigned int pos = 12, tag = 0, bits = 0, have_fmt = 0;
	long r;

	r = disk_rw(0, WAV_IN_OFF, h, 12);
	if (r < 0) {
		say("error: play read_wav %d", (int)r);
		return r;
	}
	if (memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
		say("error: play wav not a RIFF/WAVE file at 1 MiB");
		return -EINVAL;
	}
	for (;;) {
		unsigned int id_fmt, id_data, size;

		if (pos + 8 > WAV_IN_MAX) {
			say("error: play wav no data chunk");
			return -EINVAL;
		}
		r = disk_rw(0, WAV_IN_OFF + pos, h, 8);
		if (r < 0) {
			say("error: play read_wav %d", (int)r);
			return r;
		}
		id_fmt = !memcmp(h, "fmt ", 4);
		id_data = !memcmp(h, "data", 4);
		size = le32(h + 4);
		if (id_fmt) {
			if (size < 16) {
				say("error: play wav fmt chunk too short (%u)", size);
				return -EINVAL;
			}
			r = disk_rw(0, WAV_IN_OFF + pos + 8, h, size < 40 ? size : 40);
			if (r < 0) {
				say("error: play read_wav %d", (int)r);
				return r;
			}
			tag = le16(h);
			w->channels = le16(h + 2);
			w->rate = le32(h + 4);
			w->block_align = le16(h + 12);
			bits = le16(h + 14);
			/* WAVE_FORMAT_EXTENSIBLE: the sub-format GUID
			 * starts with the real tag */
			if (tag == 0xfffe && size >= 40)
				tag = le16(h + 24);
			have_fmt = 1;
		} else if (id_data) {
			if (!have_fmt) {
				say("error: play wav data before fmt");
				return -EINVAL;
			}
			w->data_off = pos + 8;
			w->data_len = size;
			break;
		}
		if (size > WAV_IN_MAX) {
			say("error: play wav chunk too large (%u)", size);
			return -EINVAL;
		}
		pos += 8 + size + (size & 1);
	}
	if (!w->channels || !w->block_align || !w->rate ||
	    w->block_align % w->channels) {
		say("error: play wav bad fmt (channels=%u block_align=%u rate=%u)",
		    w->channels, w->block_align, w->rate);
		return -EINVAL;
	}
	w->f = fmt_by_wav(tag, bits, w->block_align / w->channels);
	if (!w->f) {
		say("error: play wav unsupported format tag=%u bits=%u bytes=%u",
		    tag, bits, w->block_align / w->channels);
		return -EINVAL;
	}
	/* streaming writers leave 0 or 0xffffffff: take what fits */
	if (w->data_len > WAV_IN_MAX - w->data_off)
		w->data_len = WAV_IN_MAX - w->data_off;
	w->data_len -= w->data_len % w->block_align;
	return 0;
}

/* What play and record share: one period per WRITEI/READI, -EPIPE counted
 * as an xrun and recovered with PREPARE (as aplay), no progress for
 * IO_TIMEOUT_MS an error. 0, or -errno (reported). */
struct xfer_run {
	unsigned int done, xruns, t0;
	int started;
};

static long pcm_transfer(const char *cmd, struct pcm *p, int capture, unsigned char *data,
			 unsigned int frames, struct xfer_run *run)
{
	const char *verb = capture ? "read" : "write";
	long r;

	while (run->done < frames) {
		struct snd_xferi x;
		unsigned int chunk = frames - run->done;
		short rev;

		if (chunk > p->period)
			chunk = p->period;
		x.result = 0;
		x.buf = data + run->done * p->frame_bytes;
		x.frames = chunk;
		if (!run->started) {
			run->t0 = now_ms();
			run->started = 1;
		}
		r = xioctl(p->fd, capture ? SNDRV_PCM_IOCTL_READI_FRAMES
					  : SNDRV_PCM_IOCTL_WRITEI_FRAMES, &x);
		if (r == 0) {
			run->done += x.result;
			continue;
		}
		if (r == -EAGAIN) {
			r = poll1(p->fd, capture ? POLLIN : POLLOUT, &rev, IO_TIMEOUT_MS);
			if (r == 0) {
				say("error: %s %s timeout %d ms at frame %u", cmd, verb,
				    IO_TIMEOUT_MS, run->done);
				return -ETIMEDOUT;
			}
			if (r < 0) {
				say("error: %s poll %d", cmd, (int)r);
				return r;
			}
			continue; /* POLLERR: the next call says why */
		}
		if (r == -EPIPE || r == -ESTRPIPE) {
			run->xruns++;
			r = xioctl(p->fd, SNDRV_PCM_IOCTL_PREPARE, 0);
			if (r < 0) {
				say("error: %s prepare %d", cmd, (int)r);
				return r;
			}
			continue;
		}
		say("error: %s %s %d", cmd, verb, (int)r);
		return r;
	}
	return 0;
}

static void cmd_play(char **av, int ac)
{
	unsigned int dev, sub, period, buffer, total, padded, t1, err_step;
	struct xfer_run run = { 0 };
	unsigned long len = 0;
	struct wav w;
	struct pcm p;
	unsigned char *data = 0;
	long r;

	if (ac != 5 || parse_u32(av[1], &dev) || parse_u32(av[2], &sub) ||
	    parse_u32(av[3], &period) || parse_u32(av[4], &buffer)) {
		say("error: play usage: play DEV SUBDEV PERIOD_FRAMES BUFFER_FRAMES");
		return;
	}
	memset(&w, 0, sizeof(w));
	if (wav_parse(&w) < 0)
		return;
	total = w.data_len / w.block_align;
	say("play-wav: format=%s rate=%u channels=%u frames=%u data_offset=%u",
	    w.f->name, w.rate, w.channels, total, w.data_off);
	p.fd = pcm_open("play", 0, dev, sub);
	if (p.fd < 0)
		return;
	if (pcm_setup("play", &p, 0, w.f, w.rate, w.channels, period, buffer) < 0)
		goto out;
	say("play-setup: period=%u buffer=%u rate=%u channels=%u format=%s",
	    p.period, p.buffer, p.rate, p.channels, w.f->name);

	/* As aplay, the last period is completed with silence: a drain that
	 * ends inside a period times out (-EIO) with virtio_snd. The stream
	 * is prepared but not started, so reading the disk now costs nothing. */
	padded = total;
	if (p.period && total % p.period)
		padded = total + p.period - total % p.period;
	len = (unsigned long)padded * p.frame_bytes;
	data = big_alloc(len);
	if (!data) {
		say("error: play alloc %d", -ENOMEM);
		goto out;
	}
	memset(data + w.data_len, w.f->alsa == SNDRV_PCM_FORMAT_U8 ? 0x80 : 0,
	       len - w.data_len);
	r = disk_rw(0, WAV_IN_OFF + w.data_off, data, w.data_len);
	if (r < 0) {
		say("error: play read_wav %d", (int)r);
		goto out;
	}

	err_step = pcm_transfer("play", &p, 0, data, padded, &run) < 0;
	if (!run.started)
		run.t0 = now_ms();
	if (err_step) {
		xioctl(p.fd, SNDRV_PCM_IOCTL_DROP, 0);
	} else {
		snd_pcm_sframes_t delay;

		/* an underrun just before the end is an xrun too */
		if (xioctl(p.fd, SNDRV_PCM_IOCTL_DELAY, &delay) == -EPIPE)
			run.xruns++;
		/* blocking drain, as aplay: the kernel gives up by itself
		 * (-EIO) if the device stops completing periods */
		set_nonblock(p.fd, 0);
		r = xioctl(p.fd, SNDRV_PCM_IOCTL_DRAIN, 0);
		if (r < 0)
			say("error: play drain %d", (int)r);
	}
	t1 = now_ms();
	/* frames: the WAV's frames written, not the padding */
	say("play: frames=%u xruns=%u wall_ms=%u clip_ms=%u period=%u buffer=%u rate=%u channels=%u format=%s",
	    run.done < total ? run.done : total, run.xruns, t1 - run.t0, frames_ms(total, w.rate),
	    p.period, p.buffer, p.rate, p.channels, w.f->name);
out:
	sys_close(p.fd);
	big_free(data, len);
}

/* ------------------------------------------------------------------ */
/* record                                                             */

static void cmd_record(char **av, int ac)
{
	unsigned int dev, sub, frames, rate, channels, period, buffer;
	unsigned int t1, len;
	struct xfer_run run = { 0 };
	const struct fmtinfo *f;
	unsigned char *data, hdr[44];
	struct pcm p;
	long r;

	if (ac != 9 || parse_u32(av[1], &dev) || parse_u32(av[2], &sub) ||
	    parse_u32(av[3], &frames) || parse_u32(av[4], &rate) ||
	    parse_u32(av[5], &channels) || parse_u32(av[7], &period) ||
	    parse_u32(av[8], &buffer)) {
		say("error: record usage: record DEV SUBDEV FRAMES RATE CHANNELS FORMAT PERIOD_FRAMES BUFFER_FRAMES");
		return;
	}
	f = fmt_by_name(av[6]);
	if (!f) {
		say("error: record format '%s' unknown (u8 s16 s24_3 s32 f32)", av[6]);
		return;
	}
	if (!channels || !rate || channels > 64 ||
	    frames > (1u << 30) / (channels * f->bytes)) {
		say("error: record bad arguments");
		return;
	}
	len = frames * channels * f->bytes;
	data = big_alloc(len);
	if (!data) {
		say("error: record alloc %d", -ENOMEM);
		return;
	}
	p.fd = pcm_open("record", 1, dev, sub);
	if (p.fd < 0) {
		big_free(data, len);
		return;
	}
	if (pcm_setup("record", &p, 1, f, rate, channels, period, buffer) < 0)
		goto out;
	say("record-setup: period=%u buffer=%u rate=%u channels=%u format=%s",
	    p.period, p.buffer, p.rate, p.channels, f->name);

	/* an error is reported; what was captured until then is still written */
	pcm_transfer("record", &p, 1, data, frames, &run);
	if (!run.started)
		run.t0 = now_ms();
	xioctl(p.fd, SNDRV_PCM_IOCTL_DROP, 0);
	t1 = now_ms();

	/* canonical 44-byte header; only the frames really captured */
	len = run.done * p.frame_bytes;
	memcpy(hdr, "RIFF", 4);
	put32(hdr + 4, 36 + len);
	memcpy(hdr + 8, "WAVEfmt ", 8);
	put32(hdr + 16, 16);
	put16(hdr + 20, f->tag);
	put16(hdr + 22, p.channels);
	put32(hdr + 24, p.rate);
	put32(hdr + 28, p.rate * p.frame_bytes);
	put16(hdr + 32, p.frame_bytes);
	put16(hdr + 34, f->bits);
	memcpy(hdr + 36, "data", 4);
	put32(hdr + 40, len);
	r = disk_rw(1, WAV_OUT_OFF, hdr, sizeof(hdr));
	if (r == 0 && len)
		r = disk_rw(1, WAV_OUT_OFF + sizeof(hdr), data, len);
	if (r == 0)
		r = sys_fsync(disk_fd);
	if (r < 0)
		say("error: record write_wav %d", (int)r);
	say("record: frames=%u xruns=%u wall_ms=%u", run.done, run.xruns, t1 - run.t0);
	len = frames * channels * f->bytes;
out:
	sys_close(p.fd);
	big_free(data, len);
}

/* ------------------------------------------------------------------ */
/* job                                                                */

static char job[JOB_SIZE + 1];

static void run_line(char *line)
{
	char *av[16];
	int ac = 0;
	char *s = line;

	while (*s && ac < 16) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			*s++ = '\0';
		if (!*s)
			break;
		av[ac++] = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r')
			s++;
	}
	if (!ac || av[0][0] == '#')
		return;

	{
		char echo[300];
		unsigned int n = 0;
		int i;

		for (i = 0; i < ac; i++)
			n += fmt(echo + n, sizeof(echo) - n, "%s%s", i ? " " : "", av[i]);
		say("cmd: %s", echo);
		results_flush(); /* a host that has to kill us still sees it */
	}
	if (!strcmp(av[0], "play")) {
		cmd_play(av, ac);
	} else if (!strcmp(av[0], "record")) {
		cmd_record(av, ac);
	} else if (!strcmp(av[0], "sleep")) {
		unsigned int ms;

		if (ac != 2 || parse_u32(av[1], &ms))
			say("error: sleep usage: sleep MS");
		else
			sleep_ms(ms);
	} else if (!strcmp(av[0], "controls")) {
		list_controls(0);
	} else if (!strcmp(av[0], "jacks")) {
		list_controls(1);
	} else {
		say("error: unknown command '%s'", av[0]);
	}
	results_flush();
}

static void run_job(void)
{
	char *s, *e;
	long r;

	disk_fd = sys_open(DISK, O_RDWR, 0);
	if (disk_fd < 0) {
		say("error: job open %s %d", DISK, disk_fd);
		return;
	}
	r = disk_rw(0, JOB_OFF, job, JOB_SIZE);
	if (r < 0) {
		say("error: job read %d", (int)r);
		return;
	}
	job[JOB_SIZE] = '\0';
	for (s = job; *s; s = e) {
		e = strchr(s, '\n');
		if (e)
			*e++ = '\0';
		else
			e = s + strlen(s);
		run_line(s);
	}
}

/* ------------------------------------------------------------------ */

static void mount_fs(const char *src, const char *dir, const char *type)
{
	long r;

	sys_mkdir(dir, 0755);
	r = sys_mount(src, dir, type, 0, 0);
	if (r < 0 && r != -EBUSY)
		say("error: mount %s %d", dir, (int)r);
}

int main(void)
{
	unsigned int i;

	/* the kernel opened /dev/console from the initramfs as fd 0-2;
	 * if that failed, try again once devtmpfs is there */
	sys_mkdir("/dev", 0755);
	i = sys_mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
	if (sys_write(1, "", 0) < 0) {
		int fd = sys_open("/dev/console", O_RDWR, 0);

		if (fd >= 0) {
			sys_dup2(fd, 0);
			sys_dup2(fd, 1);
			sys_dup2(fd, 2);
			if (fd > 2)
				sys_close(fd);
		}
	}
	say("vsnd-guest: start uptime_ms=%u", now_ms());
	if ((int)i < 0)
		say("error: mount /dev %d", (int)i);
	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");

	/* virtio_snd probes during boot; give a late probe a moment */
	for (i = 0; i < 20; i++) {
		char path[32];
		int fd;

		fmt(path, sizeof(path), "/dev/snd/controlC%d", CARD);
		fd = sys_open(path, O_RDONLY, 0);
		if (fd >= 0) {
			sys_close(fd);
			break;
		}
		sleep_ms(100);
	}
	kmsg_sound();
	cat("/proc/asound/cards", "cards: ");
	cat("/proc/asound/pcm", "pcm: ");
	card_info();
	list_controls(0);
	run_job();
	results_force = 1;
	if (results_truncated)
		say("results: truncated (the console has every line)");
	say("vsnd-guest: done");
	results_flush();
	if (disk_fd >= 0) {
		sys_fsync(disk_fd);
		sys_close(disk_fd);
	}
	sys_reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
		   LINUX_REBOOT_CMD_POWER_OFF, 0);
	say("error: power off failed");
	for (;;)
		sleep_ms(1000000);
	return 0;
}
