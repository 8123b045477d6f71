/* The built image as a place to run tests: an OCI layout ("oci:<dir>[:tag]")
 * or archive ("oci-archive:<file>[:tag]") unpacked into a temporary root
 * filesystem, with the image config's Env and WorkingDir. */
#ifndef UNIT_TESTS_IMAGEROOT_H
#define UNIT_TESTS_IMAGEROOT_H

#include <stddef.h>

#include "error.h"

struct image_root {
	char *root;    /* the unpacked tree (a temp directory) */
	char **env;    /* config.Env, NULL-terminated */
	char *workdir; /* config.WorkingDir, "/" when unset */
};

/* Unpack ref under parent_dir (NULL: $TMPDIR or /tmp). */
err_t *image_root_unpack(const char *ref, const char *parent_dir, struct image_root *out);
/* The config's Env (NAME=value entries only) and WorkingDir into out's
 * env and workdir; what names the config in messages. */
err_t *image_root_parse_config(const char *text, size_t len, const char *what, struct image_root *out);
/* Remove the tree and free. */
void image_root_remove(struct image_root *r);

#endif
