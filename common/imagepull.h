/* A registry image, pinned by digest, as a place to run something: its
 * manifest (an index resolved to this host's platform), config and layers
 * pulled with our registry client (every blob verified against its
 * digest) into a temporary OCI layout, then unpacked into the image cache
 * (imageroot.h: keyed by manifest digest, used only when the cache is
 * ours). A digest already in the cache is not pulled again. */
#ifndef COMMON_IMAGEPULL_H
#define COMMON_IMAGEPULL_H

#include "error.h"
#include "imageroot.h"
#include "registry.h"

/* Pull digest (sha256:...) from reg's repository into cache_dir. */
err_t *image_root_pull(struct registry *reg, const char *digest, const char *cache_dir, struct image_root *out);

#endif
