/* SPDX-License-Identifier: MIT */
#include "daemon/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <vsnd/vsnd.h>

#include "daemon/log.h"

/* Large enough that a 48 kHz stream at 10 ms periods writes about once a
 * minute: the write must not disturb the pacing it measures. */
#define TRACE_BUF_SIZE (1u << 16)

struct vd_trace {
	FILE *f;
	char *buf;
	const char *path;
	int err;            /* first write error, reported once at close */
};

int vd_trace_open(struct vd_trace **out, const char *path)
{
	struct vd_trace *t = calloc(1, sizeof(*t));
	int rc = -ENOMEM;

	*out = NULL;
	if (!t)
		return rc;
	t->path = path;
	t->buf = malloc(TRACE_BUF_SIZE);
	if (!t->buf)
		goto err;
	t->f = fopen(path, "w");
	if (!t->f) {
		rc = -errno;
		vd_log(VSND_LOG_ERROR, "--trace: cannot open %s: %s", path, strerror(-rc));
		goto err;
	}
	setvbuf(t->f, t->buf, _IOFBF, TRACE_BUF_SIZE);
	fputs("# stream time_ns bytes latency_bytes (#state stream time_ns state: a state change)\n",
	      t->f);
	*out = t;
	return 0;
err:
	free(t->buf);
	free(t);
	return rc;
}

void vd_trace_close(struct vd_trace *t)
{
	if (!t)
		return;
	if (fclose(t->f) != 0 && !t->err)
		t->err = errno;
	if (t->err)
		vd_log(VSND_LOG_ERROR, "--trace: writing %s failed: %s", t->path, strerror(t->err));
	free(t->buf);
	free(t);
}

/* The first write error is kept for vd_trace_close to report. */
static void note_write(struct vd_trace *t, int rc)
{
	if (rc < 0 && !t->err)
		t->err = errno ? errno : EIO;
}

void vd_trace_record(void *opaque, unsigned int stream_id, uint64_t now_ns,
		     uint32_t bytes, uint32_t latency_bytes)
{
	struct vd_trace *t = opaque;

	note_write(t, fprintf(t->f, "%u %" PRIu64 " %" PRIu32 " %" PRIu32 "\n", stream_id, now_ns,
			      bytes, latency_bytes));
}

void vd_trace_state(void *opaque, unsigned int stream_id, uint64_t now_ns,
		    enum vsnd_stream_state state)
{
	struct vd_trace *t = opaque;

	note_write(t, fprintf(t->f, "#state %u %" PRIu64 " %s\n", stream_id, now_ns,
			      vsnd_stream_state_name(state)));
}
