/* The copy itself: manifest (or index) and every blob it references,
 * blobs first, the tagged manifest last, so a failed copy never leaves a
 * tag pointing at missing content. Manifests are copied byte for byte
 * (the digest at the destination is the digest at the source), except
 * Docker schema 2 manifests and lists going to an OCI layout, which are
 * rewritten with OCI media types (as skopeo does: OCI tools ignore Docker
 * types in index.json); blobs are never changed. */
#ifndef IMAGE_COPY_COPY_H
#define IMAGE_COPY_COPY_H

#include <stdbool.h>

#include "digest.h"
#include "endpoint.h"
#include "error.h"

struct copy_options {
	const char *platform; /* os/arch[/variant] for an index; NULL: this host */
	bool all;             /* copy the whole index with every platform */
	bool keep_format;     /* never convert Docker manifests, even into a layout */
};

err_t *copy_image(struct endpoint *src, struct endpoint *dst, const struct copy_options *o,
		  char digest_out[DIGEST_SIZE]);

#endif
