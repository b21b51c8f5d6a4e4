/* SPDX-License-Identifier: MIT */
/*
 * A program of the kind an emulator embedding libvsnd is: built against the
 * installed headers and library through pkg-config only (see
 * test_install.sh). Prints the default layout and the backends, and runs the
 * null backend's create/destroy, so the link really resolves.
 */
#include <stdio.h>

#include <vsnd/backend.h>
#include <vsnd/mmio.h>
#include <vsnd/pcm.h>
#include <vsnd/ring.h>
#include <vsnd/vsnd.h>

int main(void)
{
	struct vsnd_layout *layout;
	struct vsnd_backend_env env = { .size = sizeof(struct vsnd_backend_env) };
	struct vsnd_backend *be = NULL;
	int rc;

	if (vsnd_layout_new(&layout, NULL, NULL, 0) < 0)
		return 1;
	printf("streams %u\n", vsnd_layout_stream_count(layout));
	vsnd_layout_free(layout);
	for (const struct vsnd_backend_ops *const *b = vsnd_backend_list(); *b; b++)
		printf("backend %s\n", (*b)->name);
	rc = vsnd_backend_create("null", &env, &be);
	printf("null %d\n", rc);
	vsnd_backend_destroy(be);
	return rc == 0 ? 0 : 1;
}
