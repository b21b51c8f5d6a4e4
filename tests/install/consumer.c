/* SPDX-License-Identifier: MIT */
/*
 * A program of the kind an emulator embedding libvsnd is: built against the
 * installed headers and library through pkg-config only (see
 * test_install.sh). Prints the default layout and the backends, and runs the
 * null backend's create/destroy, so the link really resolves.
 */
#include <stdio.h>

#include <vsnd/backend.h>
#include <vsnd/pcm.h>
#include <vsnd/ring.h>
#include <vsnd/virtio_snd.h>
#include <vsnd/vsnd.h>

int main(void)
{
	struct vsnd_layout layout;
	struct vsnd_backend_env env = { 0 };
	struct vsnd_backend *be = NULL;
	int rc;

	vsnd_layout_default(&layout);
	printf("streams %u\n", layout.n_streams);
	for (const struct vsnd_backend_ops *const *b = vsnd_backend_list(); *b; b++)
		printf("backend %s\n", (*b)->name);
	rc = vsnd_backend_create("null", &env, &be);
	printf("null %d\n", rc);
	vsnd_backend_destroy(be);
	return rc == 0 ? 0 : 1;
}
