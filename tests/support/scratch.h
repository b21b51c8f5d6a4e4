/* SPDX-License-Identifier: MIT */
/* Scratch directories for tests that write files (WAVs for the file backend,
 * sockets): made fresh, removed with what is in them. cmocka asserts. */
#ifndef VSND_TESTS_SCRATCH_H
#define VSND_TESTS_SCRATCH_H

/* A fresh directory under $TMPDIR (or /tmp), malloc'ed. */
char *scratch_dir(void);
/* Remove dir and the files in it (one level), and free it. */
void scratch_rm(char *dir);
/* dir + "/" + name, malloc'ed. */
char *scratch_path(const char *dir, const char *name);

#endif
