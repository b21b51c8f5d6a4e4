/* SPDX-License-Identifier: MIT */
/*
 * An emulator embedding libvsnd has names of its own: QEMU defines
 * iov_size() and iov_memset() with external linkage (util/iov.c), and
 * ring_init() and log_msg() are names any emulator may have. libvsnd must
 * not take them: linked statically, no "multiple definition" error; linked
 * shared, libvsnd's own calls must not land in the program's functions
 * (symbol interposition: each of ours counts its calls). The Linux virtio
 * UAPI headers come first, as in QEMU, and must not clash with libvsnd's.
 *
 * Built by test_install.sh against the installed libvsnd, shared and
 * static. Prints what it checks; the last line is "clash ok" when libvsnd
 * kept to its own names, and the exit status is 0 then.
 */
#include <linux/virtio_snd.h>
#include <linux/virtio_ring.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include <vsnd/backend.h>
#include <vsnd/mmio.h>
#include <vsnd/pcm.h>
#include <vsnd/ring.h>
#include <vsnd/version.h>
#include <vsnd/vsnd.h>

/* The program's own functions, declared as its headers would (QEMU's
 * signatures for the iov ones). */
size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt);
size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt, size_t offset,
		  int fillc, size_t bytes);
struct ring {
	unsigned int head, tail, size;
};
int ring_init(struct ring *r, unsigned int size);
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static unsigned int n_iov_size, n_iov_memset, n_ring_init, n_log_msg;

size_t iov_size(const struct iovec *iov, const unsigned int iov_cnt)
{
	size_t len = 0;

	n_iov_size++;
	for (unsigned int i = 0; i < iov_cnt; i++)
		len += iov[i].iov_len;
	return len;
}

size_t iov_memset(const struct iovec *iov, const unsigned int iov_cnt, size_t offset,
		  int fillc, size_t bytes)
{
	size_t done = 0;

	n_iov_memset++;
	for (unsigned int i = 0; i < iov_cnt && done < bytes; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t n = iov[i].iov_len - offset;
		if (n > bytes - done)
			n = bytes - done;
		memset((char *)iov[i].iov_base + offset, fillc, n);
		done += n;
		offset = 0;
	}
	return done;
}

int ring_init(struct ring *r, unsigned int size)
{
	n_ring_init++;
	r->head = r->tail = 0;
	r->size = size;
	return 0;
}

void log_msg(const char *fmt, ...)
{
	va_list ap;

	n_log_msg++;
	fputs("log: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static int fails;

static void expect(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "ok" : "FAIL", what);
	if (!ok)
		fails++;
}

static void own_calls(const char *name, unsigned int calls)
{
	char what[200];

	if (calls == 1)
		snprintf(what, sizeof(what), "%s called by this program only", name);
	else
		snprintf(what, sizeof(what), "%s called %u times, not once: libvsnd's own calls "
			 "went to the program's %s (symbol interposition)", name, calls, name);
	expect(calls == 1, what);
}

int main(void)
{
	char a[4] = "abc", b[8] = "defghij", out[12] = { 0 }, want[13];
	struct iovec iov[2] = { { a, 4 }, { b, 8 } };
	char version[32];
	struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct vsnd_backend *be = NULL;
	struct vsnd_ring vr;
	struct ring r;
	int rc;

	/* the version, from the library and from the header it was built with */
	snprintf(version, sizeof(version), "%d.%d.%d", VSND_VERSION_MAJOR, VSND_VERSION_MINOR,
		 VSND_VERSION_MICRO);
	printf("version %s (vsnd/version.h %s)\n", vsnd_version(), version);
	expect(strcmp(vsnd_version(), version) == 0, "vsnd_version() matches vsnd/version.h");

	/* the program's own functions */
	expect(iov_size(iov, 2) == 12, "the program's iov_size");
	ring_init(&r, 16);
	log_msg("ring of %u", r.size);
	memcpy(want, "abc\0defghij", 12);

	/* libvsnd: its ring copies from an iovec list (it sizes the list) */
	expect(vsnd_ring_init(&vr, 64) == 0, "vsnd_ring_init");
	expect(vsnd_ring_write_iov(&vr, iov, 2, 0, 12) == 12, "vsnd_ring_write_iov 12 bytes");
	expect(vsnd_ring_read(&vr, out, sizeof(out)) == 12 && memcmp(out, want, 12) == 0,
	       "vsnd_ring_read gives them back");
	vsnd_ring_fini(&vr);
	/* its names next to the UAPI's, and its silence (it fills memory) */
	expect((int)VSND_PCM_FMT_U8 == (int)VIRTIO_SND_PCM_FMT_U8 &&
	       (int)VSND_DIR_INPUT == (int)VIRTIO_SND_D_INPUT,
	       "VSND_PCM_FMT_U8, VSND_DIR_INPUT are the UAPI's values");
	vsnd_pcm_silence(VSND_PCM_FMT_U8, out, sizeof(out));
	expect(out[0] == (char)0x80 && out[11] == (char)0x80, "vsnd_pcm_silence U8");
	for (const struct vsnd_backend_ops *const *o = vsnd_backend_list(); *o; o++)
		printf("backend %s\n", (*o)->name);
	rc = vsnd_backend_create("null", &env, &be);
	printf("null %d\n", rc);
	expect(rc == 0 && be != NULL, "vsnd_backend_create(\"null\")");
	vsnd_backend_destroy(be);

	/* the program's functions were called by the program only */
	iov_memset(iov, 2, 2, 0, 3);
	expect(a[2] == 0 && a[3] == 0 && b[0] == 0 && b[1] == 'e', "the program's iov_memset");
	own_calls("iov_size", n_iov_size);
	own_calls("iov_memset", n_iov_memset);
	own_calls("ring_init", n_ring_init);
	own_calls("log_msg", n_log_msg);

	puts(fails ? "clash FAILED" : "clash ok");
	return fails ? 1 : 0;
}
