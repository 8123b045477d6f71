/* An image as a place to run something: an OCI layout ("oci:<dir>[:tag]")
 * or archive ("oci-archive:<file>[:tag]") unpacked into a root filesystem
 * (layer.h's safe apply), with the image config's Env, WorkingDir and
 * User. unit-tests runs tests in the image it built; pipeline-run runs a
 * step's image with crun, from a cache keyed by manifest digest. */
#ifndef COMMON_IMAGEROOT_H
#define COMMON_IMAGEROOT_H

#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "error.h"

struct image_root {
	char *root;    /* the unpacked tree (a temp directory, or in the cache) */
	char **env;    /* config.Env, NULL-terminated */
	char *workdir; /* config.WorkingDir, "/" when unset */
	char *user;    /* config.User, "" when unset */
	char **entrypoint, **cmd; /* config.Entrypoint and Cmd, NULL-terminated; NULL when unset */
	char digest[DIGEST_SIZE]; /* the image manifest's (after an index's platform pick) */
	bool cached;   /* root belongs to the cache: image_root_remove leaves it */
};

/* Unpack ref under parent_dir (NULL: $TMPDIR or /tmp). */
err_t *image_root_unpack(const char *ref, const char *parent_dir, struct image_root *out);
/* The same through a cache: <cache_dir>/<manifest hex>/rootfs, unpacked
 * once (into a temporary sibling renamed into place, so a reader never
 * sees half a tree) and reused. cache_dir is checked as local state
 * (statedir.h: ours, not writable by others, created 0700), and so is
 * each entry; an unsafe one is not used (warned): the image is unpacked
 * under $TMPDIR instead, for this run. */
err_t *image_root_cached(const char *ref, const char *cache_dir, struct image_root *out);
/* The cache entry of an image manifest digest, without its layout (a
 * digest-pinned step image that ran before): false when absent. */
bool image_root_from_cache(const char *cache_dir, const char *digest, struct image_root *out);
/* The config's Env (NAME=value entries only), WorkingDir, User,
 * Entrypoint and Cmd into out; what names the config in messages. */
err_t *image_root_parse_config(const char *text, size_t len, const char *what, struct image_root *out);
/* Remove the tree and free. */
void image_root_remove(struct image_root *r);

#endif
